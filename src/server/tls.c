/*
 * The server's TLS context: TLS 1.2 and 1.3 only, forward-secret AEAD
 * suites, no compression, no renegotiation, ALPN http/1.1, and an optional
 * client certificate kept for per-route checks. Its certificate comes from
 * PEM files or is issued from a designated authority. One context serves
 * every worker; a reload builds a new one and swaps it in for new
 * connections (existing ones keep a reference to the old one).
 */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <string.h>

#include "server_int.h"
#include "subca/alloc.h"
#include "subca/key.h"
#include "subca/ossl.h"
#include "tls.h"

/* TLS 1.2: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only
 * (RFC 9325 4.2). TLS 1.3 suites are all AEAD; OpenSSL's default set. */
#define SUBCA__TLS12_CIPHERS                                        \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"   \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"   \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

SUBCA__DEFINE_AUTO(SSL_CTX, SSL_CTX_free)

static const unsigned char subca__alpn[] = "\x08http/1.1";

/*
 * RFC 7301 3.2: when the client offers protocols and none is ours, answer
 * with a fatal no_application_protocol alert.
 */
static int subca__alpn_select(SSL *ssl, const unsigned char **out,
			      unsigned char *outlen, const unsigned char *in,
			      unsigned int inlen, void *arg)
{
	unsigned char *sel = NULL;

	if (SSL_select_next_proto(&sel, outlen, subca__alpn,
				  sizeof(subca__alpn) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Client certificates are optional and accepted here: the route that
 * relies on one (renew, revoke, mTLS admin) verifies it against what it
 * trusts. */
static int subca__verify_accept(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

static subca_result subca__ctx_new(SSL_CTX **out)
{
	SUBCA_AUTO(SSL_CTX) SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	static const unsigned char sid[] = "subca";

	SUBCA_OSSL(c != NULL, SUBCA_E_NOMEM, "cannot create a TLS context");
	SUBCA_OSSL(SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) == 1 &&
			   SSL_CTX_set_cipher_list(c, SUBCA__TLS12_CIPHERS) == 1,
		   SUBCA_E_CRYPTO, "cannot configure TLS versions and ciphers");
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				       SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(c, subca__alpn_select, NULL);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, subca__verify_accept);
	/* needed for session resumption once a peer certificate is asked */
	SUBCA_OSSL(SSL_CTX_set_session_id_context(c, sid, sizeof(sid) - 1) == 1,
		   SUBCA_E_CRYPTO, "cannot set the TLS session id context");
	*out = subca_steal(&c);
	return SUBCA_OK;
}

static subca_result subca__ctx_files(SSL_CTX *c, const char *cert,
				     const char *key)
{
	SUBCA_OSSL(SSL_CTX_use_certificate_chain_file(c, cert) == 1,
		   SUBCA_E_IO, "cannot load the TLS certificate chain %s",
		   cert);
	SUBCA_OSSL(SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) == 1,
		   SUBCA_E_IO, "cannot load the TLS key %s", key);
	SUBCA_OSSL(SSL_CTX_check_private_key(c) == 1, SUBCA_E_KEY_MISMATCH,
		   "the TLS key %s does not match the certificate %s", key,
		   cert);
	return SUBCA_OK;
}

/* ---- a certificate from the TLS authority ------------------------------- */

struct subca__names {
	char v[8][SUBCA_HOST_MAX + 8];
	const char *p[8];
	size_t n;
};

static void subca__name_add(struct subca__names *ns, const char *kind,
			    const char *value)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i] + strlen(kind), value) == 0 &&
		    strncmp(ns->v[i], kind, strlen(kind)) == 0)
			return;
	if (ns->n == 8)
		return;
	snprintf(ns->v[ns->n], sizeof(ns->v[0]), "%s%s", kind, value);
	ns->p[ns->n] = ns->v[ns->n];
	ns->n++;
}

/* Names for the listen host (unless a wildcard address), localhost and the
 * loopback addresses, base_domain and *.base_domain. */
static void subca__tls_names(const struct subca__tls_params *p,
			     struct subca__names *ns)
{
	unsigned char addr[16];
	const char *h = p->listen_host;

	memset(ns, 0, sizeof(*ns));
	if (h != NULL && h[0] != '\0') {
		bool v4 = inet_pton(AF_INET, h, addr) == 1;
		bool v6 = !v4 && inet_pton(AF_INET6, h, addr) == 1;
		bool any = (v4 && strcmp(h, "0.0.0.0") == 0) ||
			   (v6 && memcmp(addr, in6addr_any.s6_addr, 16) == 0);

		if (!any)
			subca__name_add(ns, v4 || v6 ? "IP:" : "DNS:", h);
	}
	subca__name_add(ns, "DNS:", "localhost");
	subca__name_add(ns, "IP:", "127.0.0.1");
	subca__name_add(ns, "IP:", "::1");
	if (p->base_domain != NULL && p->base_domain[0] != '\0') {
		char wild[SUBCA_HOST_MAX + 3];

		snprintf(wild, sizeof(wild), "*.%s", p->base_domain);
		subca__name_add(ns, "DNS:", p->base_domain);
		subca__name_add(ns, "DNS:", wild);
	}
}

/* Every certificate after the first in a PEM chain, as extra chain certs. */
static subca_result subca__ctx_chain(SSL_CTX *c, const struct subca_buf *pem)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new_mem_buf(pem->p, (int)pem->len);
	X509 *x;
	int n = 0;

	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		/* add0 takes the certificate over on success */
		if (n++ > 0 && SSL_CTX_add0_chain_cert(c, x) == 1)
			continue;
		X509_free(x);
		SUBCA_OSSL(n == 1, SUBCA_E_CRYPTO,
			   "cannot add a chain certificate");
	}
	ERR_clear_error();
	return SUBCA_OK;
}

static subca_result subca__root_write(const struct subca_ctx *ctx,
				      const char *authority, const char *path)
{
	struct subca_authority_rec a = {0};
	struct subca_root_rec root = {0};
	subca_result rv;

	rv = ctx->store->ops->authority_get(ctx->store, authority, &a);
	if (rv == SUBCA_OK)
		rv = ctx->store->ops->root_get(ctx->store, a.id, &root);
	if (rv == SUBCA_OK)
		rv = subca_file_write(path, root.pem, strlen(root.pem), 0644);
	subca_root_rec_cleanup(&root);
	subca_authority_rec_cleanup(&a);
	return rv;
}

static subca_result subca__ctx_issue(SSL_CTX *c,
				     const struct subca__tls_params *p)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	SUBCA_AUTO(X509) X509 *leaf = NULL;
	SUBCA_BUF_AUTO struct subca_buf chain = {0};
	struct subca_leaf_request r = {0};
	struct subca__names ns;

	subca__tls_names(p, &ns);
	/* the key lives in memory only; each renewal makes a new one */
	SUBCA_TRY(subca_key_generate(SUBCA_KEY_EC_P256, &key));
	r.pubkey = key;
	r.cn = p->base_domain && p->base_domain[0] ? p->base_domain
						     : "localhost";
	r.sans.v = ns.p;
	r.sans.n = ns.n;
	r.days = SUBCA_SERVER_TLS_DAYS;
	r.now = p->ctx->now;
	SUBCA_TRY(subca_authority_issue(p->ctx, p->authority, &r, &chain,
					&leaf));
	SUBCA_OSSL(SSL_CTX_use_certificate(c, leaf) == 1 &&
			   SSL_CTX_use_PrivateKey(c, key) == 1,
		   SUBCA_E_CRYPTO, "cannot use the issued TLS certificate");
	SUBCA_TRY(subca__ctx_chain(c, &chain));
	if (p->root_out != NULL)
		SUBCA_TRY(subca__root_write(p->ctx, p->authority, p->root_out));
	return SUBCA_OK;
}

/* ---- the shared context -------------------------------------------------- */

subca_result subca__tls_init(struct subca__tls *t)
{
	memset(t, 0, sizeof(*t));
	SUBCA_ENSURE(pthread_mutex_init(&t->mu, NULL) == 0, SUBCA_E_INTERNAL,
		     "cannot create a mutex");
	return SUBCA_OK;
}

void subca__tls_cleanup(struct subca__tls *t)
{
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
	pthread_mutex_destroy(&t->mu);
}

static subca_result subca__cert_info(SSL_CTX *c, struct subca__tls_info *i)
{
	X509 *x = SSL_CTX_get0_certificate(c);

	SUBCA_ENSURE(x != NULL, SUBCA_E_CRYPTO, "no TLS certificate loaded");
	SUBCA_TRY(subca_asn1_time_unix(X509_get0_notBefore(x),
				       &i->not_before));
	SUBCA_TRY(subca_asn1_time_unix(X509_get0_notAfter(x), &i->not_after));
	return subca_serial_hex(X509_get0_serialNumber(x), i->serial,
				sizeof(i->serial));
}

subca_result subca__tls_load(struct subca__tls *t,
			     const struct subca__tls_params *p)
{
	SUBCA_AUTO(SSL_CTX) SSL_CTX *c = NULL;
	struct subca__tls_info info = {0};

	SUBCA_TRY(subca__ctx_new(&c));
	if (p->authority != NULL)
		SUBCA_TRY(subca__ctx_issue(c, p));
	else
		SUBCA_TRY(subca__ctx_files(c, p->cert, p->key));
	SUBCA_TRY(subca__cert_info(c, &info));
	pthread_mutex_lock(&t->mu);
	SSL_CTX_free(t->ctx);
	t->ctx = subca_steal(&c);
	t->info = info;
	pthread_mutex_unlock(&t->mu);
	return SUBCA_OK;
}

SSL *subca__tls_ssl_new(struct subca__tls *t)
{
	SSL *ssl;

	pthread_mutex_lock(&t->mu);
	ssl = t->ctx != NULL ? SSL_new(t->ctx) : NULL;
	pthread_mutex_unlock(&t->mu);
	return ssl;
}

struct subca__tls_info subca__tls_info(struct subca__tls *t)
{
	struct subca__tls_info i;

	pthread_mutex_lock(&t->mu);
	i = t->info;
	pthread_mutex_unlock(&t->mu);
	return i;
}
