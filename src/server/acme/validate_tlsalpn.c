/*
 * tls-alpn-01 (RFC 8737; RFC 8738 6 for IP identifiers) with OpenSSL: a
 * TLS 1.2+ handshake offering only ALPN "acme-tls/1", with SNI the
 * identifier (or its reverse-DNS name), then a look at the certificate the
 * server chose. The certificate is not verified against any trust anchor:
 * the proof is the hash of the key authorization it carries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "subca/ossl.h"
#include "validate_int.h"

#define SUBCA__ALPN "acme-tls/1"
/* id-pe-acmeIdentifier, RFC 8737 6.1 */
#define SUBCA__ACME_ID_OID "1.3.6.1.5.5.7.1.31"

struct subca__tls {
	const struct subca_acme_validation_cfg *cfg;
	const struct subca_acme_ident *id;
	struct timespec end;
	char where[300]; /* "host:port" for details */
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

/* ---- the certificate (fuzzed through subca__acme_tlsalpn_check_der) ---- */

static bool subca__san_is(const GENERAL_NAME *g,
			  const struct subca_acme_ident *id)
{
	unsigned char a[16];
	int alen = 0;
	size_t n = strlen(id->value);

	if (!id->is_ip)
		return g->type == GEN_DNS &&
		       (size_t)ASN1_STRING_length(g->d.dNSName) == n &&
		       strncasecmp((const char *)ASN1_STRING_get0_data(
					   g->d.dNSName),
				   id->value, n) == 0;
	if (inet_pton(AF_INET, id->value, a) == 1)
		alen = 4;
	else if (inet_pton(AF_INET6, id->value, a) == 1)
		alen = 16;
	return alen > 0 && g->type == GEN_IPADD &&
	       ASN1_STRING_length(g->d.iPAddress) == alen &&
	       memcmp(ASN1_STRING_get0_data(g->d.iPAddress), a,
		      (size_t)alen) == 0;
}

static const char *subca__san_desc(const GENERAL_NAME *g, char *buf,
				   size_t len)
{
	char shown[80];

	if (g->type == GEN_DNS)
		snprintf(buf, len, "dNSName \"%s\"",
			 subca_shown((const char *)ASN1_STRING_get0_data(
					     g->d.dNSName),
				     (size_t)ASN1_STRING_length(g->d.dNSName),
				     shown, sizeof(shown)));
	else if (g->type == GEN_IPADD)
		snprintf(buf, len, "another iPAddress");
	else
		snprintf(buf, len, "a name of type %d", g->type);
	return buf;
}

/* RFC 8737 3: a subjectAltName with the identifier and nothing else. */
static subca_result subca__check_san(X509 *x, const struct subca_acme_ident *id,
				     struct subca_acme_validation_error *err)
{
	int crit = 0;
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *gens =
		X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	const GENERAL_NAME *g;
	char desc[120];

	if (gens == NULL)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "the certificate %s",
				 crit == -1   ? "has no subjectAltName"
				 : crit == -2 ? "has more than one "
						"subjectAltName extension"
					      : "has an undecodable "
						"subjectAltName");
	if (sk_GENERAL_NAME_num(gens) != 1)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "the certificate's subjectAltName has %d "
				 "entries; RFC 8737 3 allows only %s",
				 sk_GENERAL_NAME_num(gens), id->value);
	g = sk_GENERAL_NAME_value(gens, 0);
	if (!subca__san_is(g, id))
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "the certificate's subjectAltName is %s, not "
				 "the identifier %s",
				 subca__san_desc(g, desc, sizeof(desc)),
				 id->value);
	return SUBCA_OK;
}

static subca_result subca__find_acme_ext(X509 *x, X509_EXTENSION **out,
					 struct subca_acme_validation_error *err)
{
	int found = 0;

	for (int i = 0; i < X509_get_ext_count(x); i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		char oid[80];

		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e),
				1) <= 0 ||
		    strcmp(oid, SUBCA__ACME_ID_OID) != 0)
			continue;
		*out = e;
		found++;
	}
	if (found != 1)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "the certificate has %d acmeIdentifier "
				 "extensions (" SUBCA__ACME_ID_OID "), not one",
				 found);
	return SUBCA_OK;
}

/* RFC 8737 3: critical id-pe-acmeIdentifier, its extnValue the DER of
 * Authorization ::= OCTET STRING (SIZE (32)) holding SHA-256(key authz). */
static subca_result subca__check_acme_ext(X509 *x, const char *key_authz,
					  struct subca_acme_validation_error *err)
{
	X509_EXTENSION *e = NULL;
	const ASN1_OCTET_STRING *v;
	SUBCA_AUTO(ASN1_OCTET_STRING) ASN1_OCTET_STRING *h = NULL;
	uint8_t d[SUBCA_ACMEV_SHA256_LEN];

	SUBCA_TRY(subca__find_acme_ext(x, &e, err));
	if (X509_EXTENSION_get_critical(e) <= 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "the acmeIdentifier extension is not critical "
				 "(RFC 8737 3)");
	v = X509_EXTENSION_get_data(e);
	if (subca_der_decode(SUBCA_DER_OCTET_STRING,
			     subca_slice_of(ASN1_STRING_get0_data(v),
					    (size_t)ASN1_STRING_length(v)),
			     (void **)&h) != SUBCA_OK)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "the acmeIdentifier extension's value: %s",
				 subca_error_reason());
	if (ASN1_STRING_length(h) != SUBCA_ACMEV_SHA256_LEN)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "the acmeIdentifier extension holds %d bytes, "
				 "not a 32-byte SHA-256",
				 ASN1_STRING_length(h));
	SUBCA_TRY(subca__acmev_digest(key_authz, d, err));
	if (CRYPTO_memcmp(ASN1_STRING_get0_data(h), d, sizeof(d)) != 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "the acmeIdentifier extension does not hold "
				 "SHA-256 of the key authorization");
	return SUBCA_OK;
}

subca_result subca__acme_tlsalpn_check_der(
	struct subca_slice der, const struct subca_acme_ident *id,
	const char *key_authz, struct subca_acme_validation_error *err)
{
	SUBCA_AUTO(X509) X509 *x = NULL;

	if (subca_der_decode(SUBCA_DER_X509, der, (void **)&x) != SUBCA_OK)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_TLS,
				 "the server's certificate: %s",
				 subca_error_reason());
	SUBCA_TRY(subca__check_san(x, id, err));
	return subca__check_acme_ext(x, key_authz, err);
}

/* ---- the connection ------------------------------------------------------ */

/* RFC 8738 6: an IP identifier's SNI is its reverse-DNS name (RFC 1035
 * 3.5, RFC 3596 2.5). */
static void subca__reverse_name(const char *ip, char *out, size_t len)
{
	unsigned char a[16];
	size_t o = 0;

	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1],
			 a[0]);
		return;
	}
	memset(a, 0, sizeof(a));
	if (inet_pton(AF_INET6, ip, a) != 1)
		return;
	for (int i = 15; i >= 0 && o < len; i--)
		o += (size_t)snprintf(out + o, len - o, "%x.%x.", a[i] & 0xf,
				      a[i] >> 4);
	if (o < len)
		snprintf(out + o, len - o, "ip6.arpa");
}

/* >0 ready, 0 deadline passed, <0 poll failed. */
static int subca__wait(int fd, short ev, const struct timespec *end)
{
	struct pollfd p = {.fd = fd, .events = ev};
	long left = subca__acmev_ms_left(end);
	int r;

	if (left == 0)
		return 0;
	do
		r = poll(&p, 1, (int)left);
	while (r < 0 && errno == EINTR);
	return r;
}

/* A connected socket to one address, or -1 with *e the errno. */
static int subca__connect_addr(const struct addrinfo *ai,
			       const struct timespec *end, int *e)
{
	int fd = socket(ai->ai_family,
			ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	socklen_t sl = sizeof(*e);
	int r;

	if (fd < 0) {
		*e = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	*e = errno;
	if (*e == EINPROGRESS) {
		r = subca__wait(fd, POLLOUT, end);
		*e = r == 0 ? ETIMEDOUT : r < 0 ? errno : 0;
		if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, e, &sl) == 0 &&
		    *e == 0)
			return fd;
	}
	close(fd);
	return -1;
}

static subca_result subca__tls_connect(struct subca__tls *x,
				       struct subca_acme_validation_error *err)
{
	const char *host = x->cfg->connect_host != NULL ? x->cfg->connect_host
							 : x->id->value;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[12], eb[80];
	int e = 0, g;

	snprintf(port, sizeof(port), "%d", subca__acmev_tls_port(x->cfg));
	if (x->id->is_ip && x->cfg->connect_host == NULL)
		hints.ai_flags |= AI_NUMERICHOST;
	g = getaddrinfo(host, port, &hints, &res);
	if (g != 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS, "cannot resolve %s: %s",
				 host, gai_strerror(g));
	for (struct addrinfo *ai = res; ai != NULL && x->fd < 0; ai = ai->ai_next)
		x->fd = subca__connect_addr(ai, &x->end, &e);
	freeaddrinfo(res);
	if (x->fd < 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
				 "cannot connect to %s: %s", x->where,
				 strerror_r(e, eb, sizeof(eb)));
	return SUBCA_OK;
}

static subca_result subca__tls_fail(struct subca__tls *x,
				    struct subca_acme_validation_error *err)
{
	unsigned long e = ERR_get_error();
	char why[160] = "the connection closed";

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_TLS, "TLS handshake with %s failed: %s",
			 x->where, why);
}

static subca_result subca__tls_setup(struct subca__tls *x, const char *sni,
				     struct subca_acme_validation_error *err)
{
	static const unsigned char alpn[] = "\x0a" SUBCA__ALPN;

	x->ctx = SSL_CTX_new(TLS_client_method());
	/* RFC 8737 4: TLS 1.2 or higher */
	if (x->ctx == NULL ||
	    SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION) != 1)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "cannot set up a TLS client");
	SSL_CTX_set_verify(x->ctx, SSL_VERIFY_NONE, NULL);
	x->ssl = SSL_new(x->ctx);
	/* SSL_set_alpn_protos returns 0 on success */
	if (x->ssl == NULL || SSL_set_fd(x->ssl, x->fd) != 1 ||
	    SSL_set_tlsext_host_name(x->ssl, sni) != 1 ||
	    SSL_set_alpn_protos(x->ssl, alpn, sizeof(alpn) - 1) != 0) {
		ERR_clear_error();
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "cannot set up a TLS client");
	}
	return SUBCA_OK;
}

static subca_result subca__tls_handshake(struct subca__tls *x,
					 struct subca_acme_validation_error *err)
{
	for (;;) {
		int r = SSL_connect(x->ssl), w;

		if (r == 1)
			return SUBCA_OK;
		switch (SSL_get_error(x->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			w = subca__wait(x->fd, POLLIN, &x->end);
			break;
		case SSL_ERROR_WANT_WRITE:
			w = subca__wait(x->fd, POLLOUT, &x->end);
			break;
		default:
			return subca__tls_fail(x, err);
		}
		if (w <= 0)
			SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
					 "TLS handshake with %s timed out "
					 "after %d ms",
					 x->where, subca__acmev_timeout(x->cfg));
	}
}

static subca_result subca__tls_check_peer(struct subca__tls *x,
					  const char *key_authz,
					  struct subca_acme_validation_error *err)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;
	SUBCA_AUTO(X509) X509 *cert = NULL;
	unsigned char *der = NULL;
	int len;
	subca_result rv;

	SSL_get0_alpn_selected(x->ssl, &p, &n);
	if (n != strlen(SUBCA__ALPN) || memcmp(p, SUBCA__ALPN, n) != 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_TLS,
				 "%s did not negotiate ALPN \"" SUBCA__ALPN
				 "\" (RFC 8737 3)",
				 x->where);
	cert = SSL_get1_peer_certificate(x->ssl);
	if (cert == NULL)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_TLS, "%s sent no certificate",
				 x->where);
	len = i2d_X509(cert, &der);
	if (len <= 0) {
		ERR_clear_error();
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_TLS,
				 "%s sent a certificate that does not encode",
				 x->where);
	}
	rv = subca__acme_tlsalpn_check_der(subca_slice_of(der, (size_t)len),
					   x->id, key_authz, err);
	OPENSSL_free(der);
	return rv;
}

static subca_result subca__tls_run(struct subca__tls *x, const char *key_authz,
				   struct subca_acme_validation_error *err)
{
	char rev[80] = "";

	if (x->id->is_ip)
		subca__reverse_name(x->id->value, rev, sizeof(rev));
	SUBCA_TRY(subca__tls_connect(x, err));
	SUBCA_TRY(subca__tls_setup(x, x->id->is_ip ? rev : x->id->value, err));
	SUBCA_TRY(subca__tls_handshake(x, err));
	return subca__tls_check_peer(x, key_authz, err);
}

subca_result subca__acme_tlsalpn01(const struct subca_acme_validation_cfg *cfg,
				   const struct subca_acme_ident *id,
				   const char *token, const char *key_authz,
				   struct subca_acme_validation_error *err)
{
	struct subca__tls x = {.cfg = cfg, .id = id, .fd = -1};
	bool v6 = id->is_ip && strchr(id->value, ':') != NULL;
	subca_result rv;

	snprintf(x.where, sizeof(x.where), "%s%s%s:%d", v6 ? "[" : "",
		 id->value, v6 ? "]" : "", subca__acmev_tls_port(cfg));
	subca__acmev_deadline(subca__acmev_timeout(cfg), &x.end);
	rv = subca__tls_run(&x, key_authz, err);
	SSL_free(x.ssl);
	SSL_CTX_free(x.ctx);
	if (x.fd >= 0)
		close(x.fd);
	return rv;
}
