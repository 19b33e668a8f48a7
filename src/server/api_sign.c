/*
 * The sign API of an authority: POST /sign (a CSR and a provisioner
 * credential -> a leaf and its chain), POST /renew (mTLS with the current
 * leaf -> a new leaf with the same names) and POST /revoke (a token that
 * covers the certificate's names, the API key that asked for it, or mTLS
 * with the certificate itself).
 *
 * Every leaf goes through subca_authority_issue_prepare, which applies the
 * intermediate's name constraints and signs, and is then recorded durably
 * (group commit) before anything is answered: the worker signs, queues the
 * record and serves other requests until the commit returned
 * (subca_request_record), then answers.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "revocation_int.h"
#include "sign_int.h"
#include "subca/alloc.h"
#include "subca/certin.h"
#include "subca/ossl.h"

/* RFC 8555 9.1 */
#define SUBCA__PEM_CHAIN_CT "application/pem-certificate-chain"
#define SUBCA__PEM_BEGIN "-----BEGIN CERTIFICATE-----"

/* ---- small helpers -------------------------------------------------------- */

static void subca__rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

/* Count one issuance attempt in subca_issuances_total. */
static void subca__count(const struct subca_request *req, const char *prov,
			 subca_result rv)
{
	char result[64] = "issued";

	if (rv != SUBCA_OK) {
		const char *n = subca_error_name((enum subca_code)rv);
		size_t i;

		for (i = 0; n[i] != '\0' && i + 1 < sizeof(result); i++)
			result[i] = (char)tolower((unsigned char)n[i]);
		result[i] = '\0';
	}
	subca_metrics_issuance(req->authority ? req->authority : "-",
			       prov ? prov : "-", result);
}

/* The CSR of a body, parsed and its self-signature checked; its key
 * decoded apart (*key, for subca_leaf_request.csr_key). */
static subca_result subca__body_csr(const struct subca__sign_body *b,
				    X509_REQ **out, EVP_PKEY **key)
{
	*out = NULL;
	*key = NULL;
	if (b->csr == NULL)
		return SUBCA_OK;
	return subca_certin_parse_csr_key(subca_slice_of(b->csr, b->csr_len),
					  out, key);
}

/*
 * The sign API issues leaves only: a CSR asking for a CA (basicConstraints
 * CA:TRUE, or keyUsage keyCertSign / cRLSign) is refused outright rather
 * than silently downgraded, so that the requester learns why.
 */
static subca_result subca__csr_not_ca(X509_REQ *csr)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	SUBCA_AUTO(BASIC_CONSTRAINTS) BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *ku = NULL;
	bool ca_ku = false;

	ERR_clear_error();
	if (exts == NULL)
		return SUBCA_OK;
	bc = X509V3_get_d2i(exts, NID_basic_constraints, NULL, NULL);
	ku = X509V3_get_d2i(exts, NID_key_usage, NULL, NULL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	if (ku != NULL)
		ca_ku = ASN1_BIT_STRING_get_bit(ku, 5) ||
			ASN1_BIT_STRING_get_bit(ku, 6);
	ASN1_BIT_STRING_free(ku);
	SUBCA_ENSURE(bc == NULL || !bc->ca, SUBCA_E_POLICY,
		     "the CSR asks for a CA certificate (basicConstraints "
		     "CA:TRUE): the sign API issues leaf certificates only "
		     "(rule: no CA request)");
	SUBCA_ENSURE(!ca_ku, SUBCA_E_POLICY,
		     "the CSR asks for keyUsage keyCertSign or cRLSign: the "
		     "sign API issues leaf certificates only (rule: no CA "
		     "request)");
	return SUBCA_OK;
}

/* ---- names: what a token covers ------------------------------------------ */

struct subca__name {
	int type; /* GEN_DNS, GEN_IPADD, GEN_EMAIL, GEN_URI */
	const char *v;
	size_t len;
	unsigned char ip[16];
};

static bool subca__ip_parse(const char *s, unsigned char ip[16], size_t *len)
{
	if (inet_pton(AF_INET, s, ip) == 1) {
		*len = 4;
		return true;
	}
	if (inet_pton(AF_INET6, s, ip) == 1) {
		*len = 16;
		return true;
	}
	return false;
}

/* A token SAN: "DNS:x", "IP:x", "email:x", "URI:x", or a bare value
 * guessed as subca_leaf_request.sans are. */
static void subca__name_parse(const char *s, struct subca__name *n)
{
	static const struct {
		const char *prefix;
		int type;
	} pre[] = {{"DNS:", GEN_DNS},
		   {"IP:", GEN_IPADD},
		   {"email:", GEN_EMAIL},
		   {"URI:", GEN_URI}};

	memset(n, 0, sizeof(*n));
	n->type = -1;
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t pl = strlen(pre[i].prefix);

		if (strncasecmp(s, pre[i].prefix, pl) == 0) {
			n->type = pre[i].type;
			s += pl;
			break;
		}
	}
	if (n->type == -1)
		n->type = subca__ip_parse(s, n->ip, &n->len) ? GEN_IPADD
			  : strchr(s, '@') != NULL	    ? GEN_EMAIL
			  : strstr(s, "://") != NULL	    ? GEN_URI
							    : GEN_DNS;
	n->v = s;
	if (n->type == GEN_IPADD) {
		if (!subca__ip_parse(s, n->ip, &n->len))
			n->type = -1;
	} else {
		n->len = strlen(s);
	}
}

static bool subca__name_eq(const struct subca__name *a, int type,
			   const unsigned char *v, size_t len)
{
	if (a->type != type || a->len != len)
		return false;
	if (type == GEN_IPADD)
		return memcmp(a->ip, v, len) == 0;
	if (type == GEN_URI)
		return memcmp(a->v, v, len) == 0;
	return strncasecmp(a->v, (const char *)v, len) == 0;
}

struct subca__allowed {
	struct subca__name v[SUBCA_MAX_NAMES + 1];
	size_t n;
};

static subca_result subca__covered(const struct subca__allowed *a, int type,
				   const unsigned char *v, size_t len)
{
	char shown[128];

	for (size_t i = 0; i < a->n; i++)
		if (subca__name_eq(&a->v[i], type, v, len))
			return SUBCA_OK;
	if (type == GEN_IPADD) {
		char ip[INET6_ADDRSTRLEN] = "?";

		inet_ntop(len == 4 ? AF_INET : AF_INET6, v, ip, sizeof(ip));
		snprintf(shown, sizeof(shown), "IP:%s", ip);
	} else {
		char val[100];

		subca__printable((const char *)v, len, val, sizeof(val));
		snprintf(shown, sizeof(shown), "%s:%s",
			 type == GEN_DNS ? "DNS" : type == GEN_EMAIL ? "email"
								      : "URI",
			 val);
	}
	SUBCA_BAIL(SUBCA_E_POLICY,
		   "%s is not among the names the token allows (rule: token "
		   "sans)",
		   shown);
}

static subca_result subca__covered_gn(const struct subca__allowed *a,
				      const GENERAL_NAME *gn)
{
	int type;
	const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);

	SUBCA_ENSURE(type == GEN_DNS || type == GEN_IPADD || type == GEN_EMAIL ||
			     type == GEN_URI,
		     SUBCA_E_POLICY,
		     "a subjectAltName of type %d cannot be covered by a token "
		     "(rule: token sans)",
		     type);
	return subca__covered(a, type, ASN1_STRING_get0_data(s),
			      (size_t)ASN1_STRING_length(s));
}

/* A commonName is read as policy.h says: an IP, an email, or a DNS name. */
static subca_result subca__covered_cn(const struct subca__allowed *a,
				      const ASN1_STRING *s, bool email)
{
	unsigned char ip[16];
	char buf[SUBCA_MAX_DN_VALUE + 1];
	int len = ASN1_STRING_length(s);
	size_t iplen = 0;

	SUBCA_ENSURE(len >= 0 && (size_t)len < sizeof(buf), SUBCA_E_POLICY,
		     "a subject name is too long to be covered (rule: token "
		     "sans)");
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
	buf[len] = '\0';
	if (!email && subca__ip_parse(buf, ip, &iplen))
		return subca__covered(a, GEN_IPADD, ip, iplen);
	return subca__covered(a, email || strchr(buf, '@') ? GEN_EMAIL : GEN_DNS,
			      (const unsigned char *)buf, (size_t)len);
}

/* Every SAN and every subject commonName / emailAddress is allowed. */
static subca_result subca__names_covered(const struct subca__allowed *a,
					 const GENERAL_NAMES *sans,
					 const X509_NAME *subject)
{
	for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++)
		SUBCA_TRY(subca__covered_gn(a, sk_GENERAL_NAME_value(sans, i)));
	for (int i = 0; subject != NULL && i < X509_NAME_entry_count(subject);
	     i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(subject, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));

		if (nid == NID_commonName || nid == NID_pkcs9_emailAddress)
			SUBCA_TRY(subca__covered_cn(
				a, X509_NAME_ENTRY_get_data(e),
				nid == NID_pkcs9_emailAddress));
	}
	return SUBCA_OK;
}

/* The token's sans (and its sub, when `with_sub`). */
static void subca__token_allowed(const struct subca_token *t, bool with_sub,
				 struct subca__allowed *a)
{
	a->n = 0;
	for (size_t i = 0; i < t->sans.n && a->n < SUBCA_MAX_NAMES; i++)
		subca__name_parse(t->sans.v[i], &a->v[a->n++]);
	if (with_sub && t->sub != NULL)
		subca__name_parse(t->sub, &a->v[a->n++]);
}

/* ---- issuing -------------------------------------------------------------- */

struct subca__issue_in {
	const char *provisioner;
	const struct subca_policy *policy;
	const struct subca_token *token; /* NULL: no token limit */
	X509_REQ *csr;			 /* or pubkey + cn + sans */
	EVP_PKEY *csr_key;		 /* the CSR's key, decoded apart */
	EVP_PKEY *pubkey;
	const char *cn;
	struct subca_names sans;
	long days; /* asked, 0 = policy default */
	const GENERAL_NAMES *same_sans; /* renew: names must stay these */
	const X509_NAME *same_subject;
	bool *counted; /* set once subca__issued will count the attempt */
};

static subca_result subca__same_names(const struct subca__issue_in *in,
				      const struct subca_leaf_request *lr)
{
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *sans = NULL;
	SUBCA_AUTO(X509_NAME) X509_NAME *subject = NULL;
	int n = sk_GENERAL_NAME_num(in->same_sans);

	SUBCA_TRY(subca_leaf_names(lr, &sans, &subject));
	SUBCA_ENSURE(X509_NAME_cmp(subject, in->same_subject) == 0 &&
			     sk_GENERAL_NAME_num(sans) == (n < 0 ? 0 : n),
		     SUBCA_E_POLICY,
		     "a renewal keeps the certificate's names: the CSR's "
		     "subject or subjectAltNames differ (rule: same names)");
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		bool found = false;

		for (int j = 0; j < n && !found; j++)
			found = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(sans, i),
						 sk_GENERAL_NAME_value(
							 in->same_sans, j)) == 0;
		SUBCA_ENSURE(found, SUBCA_E_POLICY,
			     "a renewal keeps the certificate's names: the "
			     "CSR's subjectAltNames differ (rule: same names)");
	}
	return SUBCA_OK;
}

static subca_result subca__token_limits(const struct subca__issue_in *in,
					const struct subca_leaf_request *lr)
{
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *sans = NULL;
	SUBCA_AUTO(X509_NAME) X509_NAME *subject = NULL;
	struct subca__allowed *a = subca_calloc(1, sizeof(*a));
	subca_result rv;

	SUBCA_ENSURE(a != NULL, SUBCA_E_NOMEM, "out of memory");
	subca__token_allowed(in->token, false, a);
	rv = subca_leaf_names(lr, &sans, &subject);
	if (rv == SUBCA_OK)
		rv = subca__names_covered(a, sans, subject);
	subca_free(a);
	return rv;
}

/* Split the issued chain PEM into the leaf and the CA certificates. */
static subca_result subca__chain_json(const struct subca_buf *chain,
				      json_t *resp)
{
	const char *s = (const char *)chain->p;
	const char *end = s + chain->len;
	json_t *cas = json_array();
	bool first = true;

	SUBCA_ENSURE(cas != NULL, SUBCA_E_NOMEM, "out of memory");
	json_object_set_new(resp, "chain", cas);
	while (s < end) {
		const char *b = memmem(s, (size_t)(end - s), SUBCA__PEM_BEGIN,
				       strlen(SUBCA__PEM_BEGIN));
		const char *next;

		if (b == NULL)
			break;
		next = memmem(b + 1, (size_t)(end - b - 1), SUBCA__PEM_BEGIN,
			      strlen(SUBCA__PEM_BEGIN));
		if (next == NULL)
			next = end;
		if (first)
			json_object_set_new(resp, "certificate",
					    json_stringn(b, (size_t)(next - b)));
		else
			json_array_append_new(cas,
					      json_stringn(b, (size_t)(next - b)));
		first = false;
		s = next;
	}
	SUBCA_ENSURE(!first, SUBCA_E_INTERNAL, "the issued chain is empty");
	return SUBCA_OK;
}

static bool subca__wants_pem(const struct subca_request *req)
{
	const char *a = subca_request_header(req, "Accept");

	return a != NULL && strcasestr(a, SUBCA__PEM_CHAIN_CT) != NULL;
}

static subca_result subca__respond_issued(struct subca_request *req,
					  const struct subca_buf *chain,
					  X509 *leaf, bool pem)
{
	char serial[128], when[32];
	int64_t na = 0;
	json_t *resp;

	if (pem)
		return subca_response_bytes(req, 201, SUBCA__PEM_CHAIN_CT,
					    chain->p, chain->len);
	SUBCA_TRY(subca_serial_hex(X509_get0_serialNumber(leaf), serial,
				   sizeof(serial)));
	SUBCA_TRY(subca_asn1_time_unix(X509_get0_notAfter(leaf), &na));
	subca__rfc3339(na, when);
	resp = json_pack("{s:s, s:s}", "serial", serial, "not_after", when);
	SUBCA_ENSURE(resp != NULL, SUBCA_E_NOMEM, "out of memory");
	if (subca__chain_json(chain, resp) != SUBCA_OK) {
		json_decref(resp);
		return SUBCA_E_INTERNAL;
	}
	return subca_response_json(req, 201, resp);
}

/* A signed leaf waiting for its record: what the answer needs. */
struct subca__job {
	struct subca_issuance is;
	bool pem;	   /* the client asked for a PEM chain */
	char *provisioner; /* for the issuance count */
};

static void subca__job_free(struct subca__job *j)
{
	subca_issuance_cleanup(&j->is);
	subca_free(j->provisioner);
	subca_free(j);
}

/* The second half of an issuance: the record is durable (or failed). */
static subca_result subca__issued(struct subca_request *req, subca_result rv,
				  void *arg)
{
	struct subca__job *j = arg;

	if (rv == SUBCA_OK)
		rv = subca__respond_issued(req, &j->is.chain_pem, j->is.leaf,
					   j->pem);
	subca__count(req, j->provisioner, rv);
	subca__job_free(j);
	return rv;
}

static subca_result subca__issue_checks(const struct subca__issue_in *in,
					struct subca_leaf_request *lr)
{
	if (in->csr != NULL)
		SUBCA_TRY(subca__csr_not_ca(in->csr));
	SUBCA_TRY(subca_policy_lifetime(in->policy, in->days, &lr->days));
	SUBCA_TRY(subca_policy_check(in->policy, lr, NULL));
	if (in->token != NULL)
		SUBCA_TRY(subca__token_limits(in, lr));
	if (in->same_subject != NULL)
		SUBCA_TRY(subca__same_names(in, lr));
	return SUBCA_OK;
}

/*
 * Decide and sign here, then record: the answer (and the issuance count)
 * comes from subca__issued once the record is durable, usually later, on
 * this worker, while it serves other requests meanwhile.
 */
static subca_result subca__issue(struct subca_request *req,
				 const struct subca__issue_in *in)
{
	struct subca_leaf_request lr = {0};
	struct subca_ctx ctx = req->ctx;
	struct subca__job *j;
	subca_result rv;

	lr.csr = in->csr;
	/* every CSR here came through subca_certin_parse_csr, which verified
	 * its self-signature: once is enough */
	lr.csr_verified = in->csr != NULL;
	/* the leaf is only encoded and read here, never used as a key */
	lr.csr_key_as_bytes = true;
	lr.csr_key = in->csr_key;
	lr.pubkey = in->pubkey;
	lr.cn = in->cn;
	lr.sans = in->sans;
	lr.now = req->ctx.now;
	lr.eku = in->policy->ekus;
	SUBCA_TRY(subca__issue_checks(in, &lr));
	ctx.provisioner = in->provisioner;
	j = subca_calloc(1, sizeof(*j));
	SUBCA_ENSURE(j != NULL, SUBCA_E_NOMEM, "out of memory");
	j->pem = subca__wants_pem(req);
	j->provisioner = in->provisioner ? subca_strdup(in->provisioner) : NULL;
	rv = subca_authority_issue_prepare(&ctx, req->authority, &lr, &j->is);
	if (rv == SUBCA_OK && in->provisioner != NULL && j->provisioner == NULL)
		rv = subca_error_set(SUBCA_E_NOMEM, __FILE__, __LINE__,
				     "out of memory");
	if (rv != SUBCA_OK) {
		subca__job_free(j);
		return rv;
	}
	*in->counted = true;
	return subca_request_record(req, &j->is.rec, &j->is.audit,
				    subca__issued, j);
}

/* ---- POST /sign ----------------------------------------------------------- */

static subca_result subca__sign(struct subca_request *req,
				struct subca_prov_principal *p,
				struct subca__sign_body *b, bool *counted)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	struct subca__issue_in in = {.counted = counted};

	/* the provisioner check parsed the body already (unless empty) */
	if (p->body != NULL)
		SUBCA_TRY(subca__sign_body_json(p->body, b));
	else
		SUBCA_TRY(subca__sign_body_parse(req->body, b));
	SUBCA_TRY(subca__body_csr(b, &csr, &key));
	in.csr_key = key;
	in.days = b->days;
	in.provisioner = p->prov.name;
	in.policy = &p->policy.policy;
	in.token = p->have_token ? &p->token : NULL;
	in.csr = csr;
	return subca__issue(req, &in);
}

subca_result subca__api_sign(struct subca_request *req)
{
	struct subca_prov_principal *p = subca__prov_principal(req);
	struct subca__sign_body b;
	bool counted = false;
	subca_result rv;

	SUBCA_ENSURE(p != NULL, SUBCA_E_AUTH, "no provisioner credential");
	rv = subca__sign(req, p, &b, &counted);
	/* once signed, subca__issued counts it (with the record's result) */
	if (!counted)
		subca__count(req, p->prov.name, rv);
	subca__sign_body_cleanup(&b);
	return rv;
}

/* ---- the presented client certificate ------------------------------------- */

/*
 * A TLS client certificate is accepted by the server without
 * verification: here it must be a certificate this authority issued, byte
 * for byte the one in the store, with a signature that verifies with the
 * intermediate that issued it.
 */
static subca_result subca__peer_known(struct subca_request *req, X509 *peer,
				      struct subca_cert_rec *rec)
{
	struct subca_store *st = req->ctx.store;
	struct subca_intermediate_list l = {0};
	SUBCA_AUTO(X509) X509 *stored = NULL;
	SUBCA_AUTO(X509) X509 *im = NULL;
	char serial[128];
	subca_result rv;

	SUBCA_TRY(subca_serial_hex(X509_get0_serialNumber(peer), serial,
				   sizeof(serial)));
	rv = st->ops->cert_get(st, req->authority_rec.id, serial, rec);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_AUTH,
			   "the client certificate was not issued by authority "
			   "\"%s\"",
			   req->authority);
	SUBCA_TRY(rv);
	SUBCA_TRY(subca_pem_load_x509(rec->pem, &stored));
	SUBCA_ENSURE(X509_cmp(stored, peer) == 0, SUBCA_E_AUTH,
		     "the client certificate is not the one authority \"%s\" "
		     "issued with its serial",
		     req->authority);
	SUBCA_TRY(st->ops->intermediate_list(st, req->authority_rec.id, &l));
	for (size_t i = 0; rv == SUBCA_OK && i < l.n; i++)
		if (l.v[i].id == rec->intermediate_id && l.v[i].cert_pem)
			rv = subca_pem_load_x509(l.v[i].cert_pem, &im);
	subca_intermediate_list_cleanup(&l);
	SUBCA_TRY(rv);
	SUBCA_ENSURE(im != NULL, SUBCA_E_AUTH,
		     "the client certificate's issuer is not an intermediate "
		     "of authority \"%s\"",
		     req->authority);
	SUBCA_OSSL(X509_verify(peer, X509_get0_pubkey(im)) == 1, SUBCA_E_AUTH,
		   "the client certificate's signature does not verify with "
		   "its intermediate");
	return SUBCA_OK;
}

/* The peer certificate must be known and usable now (renewal). */
static subca_result subca__peer_current(struct subca_request *req,
					struct subca_cert_rec *rec)
{
	SUBCA_ENSURE(req->peer_cert != NULL, SUBCA_E_AUTH,
		     "renewal needs the current certificate as the TLS client "
		     "certificate");
	SUBCA_TRY(subca__peer_known(req, req->peer_cert, rec));
	SUBCA_ENSURE(rec->status == SUBCA_CERT_VALID, SUBCA_E_AUTH,
		     "the client certificate (serial %s) is revoked",
		     rec->serial);
	SUBCA_ENSURE((int64_t)req->ctx.now < rec->not_after &&
			     (int64_t)req->ctx.now >= rec->not_before,
		     SUBCA_E_AUTH,
		     "the client certificate (serial %s) is not valid now: "
		     "renew before it expires",
		     rec->serial);
	return SUBCA_OK;
}

/* ---- POST /renew ---------------------------------------------------------- */

struct subca__renew {
	struct subca_cert_rec rec;
	struct subca_provisioner_rec prov;
	struct subca_policy_json policy;
	struct subca__sign_body body;
	X509_REQ *csr;
	EVP_PKEY *csr_key;
	GENERAL_NAMES *sans;
	const char *sans_v[SUBCA_MAX_NAMES];
	char sans_buf[SUBCA_MAX_NAMES][SUBCA_MAX_URL + 8];
	char cn[SUBCA_MAX_DN_VALUE + 1];
};

static void subca__renew_cleanup(struct subca__renew *r)
{
	subca_cert_rec_cleanup(&r->rec);
	subca_provisioner_rec_cleanup(&r->prov);
	subca_policy_json_cleanup(&r->policy);
	subca__sign_body_cleanup(&r->body);
	X509_REQ_free(r->csr);
	EVP_PKEY_free(r->csr_key);
	GENERAL_NAMES_free(r->sans);
}

/* The provisioner that asked for the certificate, and its policy now. */
static subca_result subca__renew_policy(struct subca_request *req,
					struct subca__renew *r)
{
	struct subca_store *st = req->ctx.store;
	const char *text;
	subca_result rv;

	SUBCA_ENSURE(r->rec.provisioner != NULL, SUBCA_E_POLICY,
		     "certificate %s was not issued through a provisioner, so "
		     "no policy covers its renewal (rule: renew via "
		     "provisioner)",
		     r->rec.serial);
	rv = st->ops->provisioner_get(st, req->authority_rec.id,
				      r->rec.provisioner, &r->prov);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_POLICY,
			   "provisioner \"%s\" that asked for certificate %s "
			   "no longer exists (rule: renew via provisioner)",
			   r->rec.provisioner, r->rec.serial);
	SUBCA_TRY(rv);
	text = r->prov.policy ? r->prov.policy : "{}";
	rv = subca_policy_json_parse(subca_slice_of(text, strlen(text)),
				     &r->policy);
	if (rv != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_STORE,
			   "the stored policy of provisioner \"%s\" is "
			   "unusable: %s",
			   r->prov.name, subca_error_reason());
	return SUBCA_OK;
}

/* Without a CSR: the same key, subject CN and SANs as text. */
static subca_result subca__renew_same_key(X509 *peer, struct subca__renew *r,
					  struct subca__issue_in *in)
{
	const X509_NAME *subj = X509_get_subject_name(peer);
	size_t n = 0;

	in->pubkey = X509_get0_pubkey(peer);
	if (X509_NAME_get_text_by_NID((X509_NAME *)subj, NID_commonName, r->cn,
				      sizeof(r->cn)) > 0)
		in->cn = r->cn;
	for (int i = 0; r->sans && i < sk_GENERAL_NAME_num(r->sans) &&
			n < SUBCA_MAX_NAMES;
	     i++) {
		int type;
		const ASN1_STRING *s = GENERAL_NAME_get0_value(
			sk_GENERAL_NAME_value(r->sans, i), &type);
		char ip[INET6_ADDRSTRLEN] = "";
		const char *pre = type == GEN_DNS     ? "DNS"
				  : type == GEN_EMAIL ? "email"
				  : type == GEN_URI   ? "URI"
				  : type == GEN_IPADD ? "IP"
						      : NULL;

		SUBCA_ENSURE(pre != NULL, SUBCA_E_POLICY,
			     "the certificate has a subjectAltName of type %d "
			     "that renewal cannot carry over",
			     type);
		if (type == GEN_IPADD)
			inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6,
				  ASN1_STRING_get0_data(s), ip, sizeof(ip));
		snprintf(r->sans_buf[n], sizeof(r->sans_buf[n]), "%s:%.*s", pre,
			 type == GEN_IPADD ? (int)strlen(ip)
					   : ASN1_STRING_length(s),
			 type == GEN_IPADD ? ip
					   : (const char *)ASN1_STRING_get0_data(s));
		r->sans_v[n] = r->sans_buf[n];
		n++;
	}
	in->sans.v = r->sans_v;
	in->sans.n = n;
	return SUBCA_OK;
}

static subca_result subca__renew(struct subca_request *req,
				 struct subca__renew *r, bool *counted)
{
	struct subca__issue_in in = {.counted = counted};
	X509 *peer = req->peer_cert;

	SUBCA_TRY(subca__peer_current(req, &r->rec));
	SUBCA_TRY(subca__renew_body_parse(req->body, &r->body));
	SUBCA_TRY(subca__body_csr(&r->body, &r->csr, &r->csr_key));
	in.days = r->body.days;
	SUBCA_TRY(subca__renew_policy(req, r));
	r->sans = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
	ERR_clear_error();
	in.provisioner = r->prov.name;
	in.policy = &r->policy.policy;
	in.same_subject = X509_get_subject_name(peer);
	in.same_sans = r->sans;
	if (r->csr != NULL) {
		in.csr = r->csr;
		in.csr_key = r->csr_key;
	} else {
		SUBCA_TRY(subca__renew_same_key(peer, r, &in));
	}
	return subca__issue(req, &in);
}

subca_result subca__api_renew(struct subca_request *req)
{
	struct subca__renew *r = subca_calloc(1, sizeof(*r));
	bool counted = false;
	subca_result rv;

	SUBCA_ENSURE(r != NULL, SUBCA_E_NOMEM, "out of memory");
	snprintf(req->actor_buf, sizeof(req->actor_buf), "mtls:renew");
	req->ctx.actor = req->actor_buf;
	rv = subca__renew(req, r, &counted);
	if (!counted)
		subca__count(req,
			     r->prov.name ? r->prov.name : r->rec.provisioner,
			     rv);
	subca__renew_cleanup(r);
	subca_free(r);
	return rv;
}

/* ---- POST /revoke --------------------------------------------------------- */

/* May the provisioner credential `p` revoke `cert`? */
static subca_result subca__revoke_allowed(const struct subca_prov_principal *p,
					  const struct subca_cert_rec *rec)
{
	SUBCA_AUTO(X509) X509 *x = NULL;
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *sans = NULL;
	struct subca__allowed *a;
	subca_result rv;

	if (!p->have_token) {
		SUBCA_ENSURE(rec->provisioner != NULL &&
				     strcmp(rec->provisioner, p->prov.name) == 0,
			     SUBCA_E_POLICY,
			     "an API key revokes only the certificates its own "
			     "provisioner asked for (rule: revoke by API key)");
		return SUBCA_OK;
	}
	SUBCA_TRY(subca_pem_load_x509(rec->pem, &x));
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	ERR_clear_error();
	a = subca_calloc(1, sizeof(*a));
	SUBCA_ENSURE(a != NULL, SUBCA_E_NOMEM, "out of memory");
	subca__token_allowed(&p->token, true, a);
	rv = subca__names_covered(a, sans, X509_get_subject_name(x));
	subca_free(a);
	if (rv == SUBCA_E_POLICY)
		SUBCA_BAIL(SUBCA_E_POLICY,
			   "the token does not cover certificate %s: %s",
			   rec->serial, subca_error_reason());
	return rv;
}

struct subca__revoke {
	struct subca__revoke_body body;
	struct subca_cert_rec rec;
	struct subca_prov_principal *p;
	const char *serial; /* body.serial */
};

/* mTLS with the certificate itself, else a provisioner credential. */
static subca_result subca__revoke_auth(struct subca_request *req,
				       struct subca__revoke *r)
{
	struct subca_store *st = req->ctx.store;
	char peer_serial[128] = "";
	subca_result rv;

	if (req->peer_cert != NULL &&
	    subca_serial_hex(X509_get0_serialNumber(req->peer_cert),
			     peer_serial, sizeof(peer_serial)) == SUBCA_OK &&
	    strcmp(peer_serial, r->serial) == 0) {
		SUBCA_TRY(subca__peer_known(req, req->peer_cert, &r->rec));
		snprintf(req->actor_buf, sizeof(req->actor_buf),
			 "mtls:serial=%.64s", r->serial);
		req->ctx.actor = req->actor_buf;
		return SUBCA_OK;
	}
	subca_error_clear();
	SUBCA_TRY(subca__prov_authenticate(req, &r->p));
	snprintf(req->actor_buf, sizeof(req->actor_buf), "provisioner:%s",
		 r->p->prov.name);
	req->ctx.actor = req->actor_buf;
	rv = st->ops->cert_get(st, req->authority_rec.id, r->serial, &r->rec);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND,
			   "authority \"%s\" has no certificate with serial %s",
			   req->authority, r->serial);
	SUBCA_TRY(rv);
	return subca__revoke_allowed(r->p, &r->rec);
}

static subca_result subca__revoke(struct subca_request *req,
				  struct subca__revoke *r)
{
	struct subca_store *st = req->ctx.store;
	char when[32];
	json_t *resp;

	SUBCA_TRY(subca__revoke_body_parse(req->body, &r->body));
	r->serial = r->body.serial;
	SUBCA_TRY(subca__revoke_auth(req, r));
	SUBCA_TRY(st->ops->cert_revoke(st, req->authority_rec.id, r->serial,
				       r->body.reason, (int64_t)req->ctx.now));
	subca__revocation_changed(req->env->revocation, req->authority_rec.id);
	subca_cert_rec_cleanup(&r->rec);
	SUBCA_TRY(st->ops->cert_get(st, req->authority_rec.id, r->serial,
				    &r->rec));
	SUBCA_TRY(subca_audit(&req->ctx, req->authority, "certificate.revoke",
			      "certificate serial %s revoked (%s)", r->serial,
			      subca__revoke_reason_name(r->rec.reason)));
	subca__rfc3339(r->rec.revoked_at, when);
	resp = json_pack("{s:s, s:s, s:s}", "serial", r->serial, "revoked_at",
			 when, "reason", subca__revoke_reason_name(r->rec.reason));
	SUBCA_ENSURE(resp != NULL, SUBCA_E_NOMEM, "out of memory");
	return subca_response_json(req, 200, resp);
}

subca_result subca__api_revoke(struct subca_request *req)
{
	struct subca__revoke r = {0};
	subca_result rv = subca__revoke(req, &r);

	subca__revoke_body_cleanup(&r.body);
	subca_cert_rec_cleanup(&r.rec);
	subca__prov_principal_free(r.p);
	return rv;
}
