/*
 * The authority lifecycle. Every public function here follows one shape:
 * load what it needs from the store, let the core decide (parse, verify,
 * sign), then record the result and an audit entry in one transaction.
 */
#include "subca/authority.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/altchain.h"
#include "subca/certin.h"
#include "subca/chain.h"
#include "subca/limits.h"
#include "subca/ossl.h"
#include "subca/revocation.h"
#include "subca/signer.h"

#define SUBCA__DEFAULT_INTERMEDIATE_DAYS 1826
#define SUBCA__DEFAULT_ROOT_DAYS 3653
#define SUBCA__ISSUE_ATTEMPTS 3

/* ---- small pieces ---------------------------------------------------- */

subca_result subca_label_validate(const char *what, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	SUBCA_ENSURE(n > 0, SUBCA_E_BAD_NAME, "%s is empty", what);
	SUBCA_ENSURE(n <= SUBCA_MAX_LABEL, SUBCA_E_BAD_NAME,
		     "%s is %zu characters long; a DNS label has at most %d",
		     what, n, SUBCA_MAX_LABEL);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			 ch == '-';

		SUBCA_ENSURE(ok, SUBCA_E_BAD_NAME,
			     "%s \"%.63s\" has an invalid character at position "
			     "%zu: use lower-case letters, digits and '-'",
			     what, s, i + 1);
	}
	SUBCA_ENSURE(s[0] != '-' && s[n - 1] != '-', SUBCA_E_BAD_NAME,
		     "%s \"%s\" must not start or end with '-'", what, s);
	return SUBCA_OK;
}

static subca_result subca__vaudit(const struct subca_ctx *c,
				  const char *authority, const char *action,
				  const char *fmt, va_list ap)
	SUBCA_PRINTF(4, 0);
static subca_result subca__vaudit(const struct subca_ctx *c,
				  const char *authority, const char *action,
				  const char *fmt, va_list ap)
{
	char detail[1024];
	struct subca_audit_rec rec = {0};

	vsnprintf(detail, sizeof(detail), fmt, ap);
	rec.ts = (int64_t)c->now;
	rec.authority = (char *)authority;
	rec.action = (char *)action;
	rec.detail = detail;
	rec.actor = (char *)(c->actor ? c->actor : "unknown");
	return c->store->ops->audit_append(c->store, &rec);
}

subca_result subca_audit_action_check(const char *action)
{
	size_t n = strlen(action);

	SUBCA_ENSURE(n >= 1 && n <= SUBCA_AUDIT_ACTION_MAX,
		     SUBCA_E_INVALID_ARGUMENT,
		     "an audit action filter has 1 to %d characters",
		     SUBCA_AUDIT_ACTION_MAX);
	for (const char *c = action; *c != '\0'; c++)
		SUBCA_ENSURE((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
				     *c == '.' || *c == '_' || *c == '-',
			     SUBCA_E_INVALID_ARGUMENT,
			     "an audit action filter takes lower-case letters, "
			     "digits, '.', '_' and '-' (an action or its "
			     "beginning, like rotation.)");
	return SUBCA_OK;
}

subca_result subca_audit(const struct subca_ctx *c, const char *authority,
			 const char *action, const char *fmt, ...)
{
	va_list ap;
	subca_result rv;

	va_start(ap, fmt);
	rv = subca__vaudit(c, authority, action, fmt, ap);
	va_end(ap);
	return rv;
}

static subca_result subca__begin(const struct subca_ctx *c)
{
	return c->store->ops->begin(c->store);
}

/* Commit, or roll back when `rv` (the body's result) is a failure. */
static subca_result subca__finish(const struct subca_ctx *c, subca_result rv)
{
	if (rv == SUBCA_OK)
		rv = c->store->ops->commit(c->store);
	if (rv != SUBCA_OK)
		c->store->ops->rollback(c->store);
	return rv;
}

subca_result subca_authority_get(const struct subca_ctx *c, const char *name,
				 struct subca_authority_rec *out)
{
	subca_result rv;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca_label_validate("authority name", name));
	rv = c->store->ops->authority_get(c->store, name, out);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority named \"%s\"", name);
	return rv;
}

#define SUBCA_AUTO_AUTHORITY \
	__attribute__((cleanup(subca_authority_rec_cleanup)))
#define SUBCA_AUTO_INTERMEDIATES \
	__attribute__((cleanup(subca_intermediate_list_cleanup)))
#define SUBCA_AUTO_ROOTREC __attribute__((cleanup(subca_root_rec_cleanup)))

/* The stored root chain, parsed again (it was checked on import). */
static subca_result subca__root_load(const struct subca_ctx *c,
				     const struct subca_authority_rec *a,
				     struct subca_root **out)
{
	SUBCA_AUTO_ROOTREC struct subca_root_rec rec = {0};
	subca_result rv;

	rv = c->store->ops->root_get(c->store, a->id, &rec);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_STATE,
			   "authority \"%s\" has no root yet: run `subca root "
			   "import %s ROOT.pem` first",
			   a->name, a->name);
	SUBCA_TRY(rv);
	/* checked on import; an expired root must still load (CRL, OCSP) */
	return subca_root_load(subca_slice_of(rec.pem, strlen(rec.pem)), out);
}

static subca_result subca__pem_of(const X509 *x, char **out)
{
	SUBCA_BUF_AUTO struct subca_buf pem = {0};

	SUBCA_TRY(subca_pem_x509(x, &pem));
	*out = (char *)subca_buf_steal(&pem, NULL);
	return SUBCA_OK;
}

static subca_result subca__validity_of(const X509 *x, int64_t *nb,
				       int64_t *na)
{
	SUBCA_TRY(subca_asn1_time_unix(X509_get0_notBefore(x), nb));
	return subca_asn1_time_unix(X509_get0_notAfter(x), na);
}

/* "2026-11-23T07:00:00Z" for audit details. */
static void subca__time_text(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

static subca_result subca__check_url(const char *what, const char *url)
{
	size_t n;

	if (url == NULL)
		return SUBCA_OK;
	n = strlen(url);
	SUBCA_ENSURE(n <= SUBCA_MAX_URL, SUBCA_E_INVALID_ARGUMENT,
		     "%s is longer than %d characters", what, SUBCA_MAX_URL);
	SUBCA_ENSURE(strncmp(url, "http://", 7) == 0 ||
			     strncmp(url, "https://", 8) == 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "%s \"%s\" must be an http:// or https:// URL", what, url);
	for (size_t i = 0; i < n; i++)
		SUBCA_ENSURE((unsigned char)url[i] > 0x20 &&
				     (unsigned char)url[i] < 0x7f,
			     SUBCA_E_INVALID_ARGUMENT,
			     "%s contains a space or a non-ASCII character",
			     what);
	return SUBCA_OK;
}

/* ---- create ------------------------------------------------------------ */

subca_result subca_authority_create(const struct subca_ctx *c,
				    const char *name, const char *subdomain)
{
	struct subca_authority_rec rec = {0};
	subca_result rv;

	if (subdomain == NULL)
		subdomain = name;
	SUBCA_TRY(subca_label_validate("authority name", name));
	SUBCA_TRY(subca_label_validate("subdomain", subdomain));
	rec.name = (char *)name;
	rec.subdomain = (char *)subdomain;
	rec.state = SUBCA_AUTH_NEEDS_ROOT;
	rec.created = (int64_t)c->now;
	SUBCA_TRY(subca__begin(c));
	rv = c->store->ops->authority_create(c->store, &rec);
	if (rv == SUBCA_OK)
		rv = subca_audit(c, name, "authority.create",
				 "authority \"%s\" created, subdomain \"%s\"",
				 name, subdomain);
	return subca__finish(c, rv);
}

/* ---- root import ------------------------------------------------------- */

static subca_result subca__root_record(const struct subca_ctx *c,
				       const struct subca_authority_rec *a,
				       const struct subca_root *root)
{
	X509 *anchor = subca_root_anchor(root);
	SUBCA_BUF_AUTO struct subca_buf pem = {0};
	char subject[512], fp[65];
	struct subca_root_rec rec = {0};
	struct subca_authority_rec upd = *a;
	int64_t nb;

	SUBCA_TRY(subca_root_to_pem(root, &pem));
	SUBCA_TRY(subca_x509_fingerprint(anchor, fp));
	SUBCA_TRY(subca__validity_of(anchor, &nb, &rec.not_after));
	subca_name_oneline(X509_get_subject_name(anchor), subject,
			   sizeof(subject));
	rec.authority_id = a->id;
	rec.pem = (char *)pem.p;
	rec.subject = subject;
	rec.fingerprint = fp;
	rec.imported = (int64_t)c->now;
	SUBCA_TRY(c->store->ops->root_put(c->store, &rec));
	upd.state = SUBCA_AUTH_NEEDS_INTERMEDIATE;
	SUBCA_TRY(c->store->ops->authority_update(c->store, &upd));
	return subca_audit(c, a->name, "root.import",
			   "root \"%s\" (sha256 %s, %d certificate(s)) imported",
			   subject, fp, sk_X509_num(root->chain));
}

subca_result subca_authority_import_root(const struct subca_ctx *c,
					 const char *name,
					 struct subca_slice in,
					 struct subca_report *report)
{
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	SUBCA_AUTO_ROOT struct subca_root *root = NULL;

	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_ENSURE(a.state == SUBCA_AUTH_NEEDS_ROOT, SUBCA_E_STATE,
		     "authority \"%s\" already has a root; create a new "
		     "authority for another root",
		     name);
	SUBCA_TRY(subca_root_parse(in, c->now, report, &root));
	SUBCA_TRY(subca__begin(c));
	return subca__finish(c, subca__root_record(c, &a, root));
}

/* ---- intermediate request ----------------------------------------------- */

/* Days left before the issuing CA expires (the cap of an intermediate). */
static int subca__days_left(const struct subca_root *root, time_t now)
{
	int64_t nb = 0, na = 0;

	if (subca__validity_of(subca_root_issuer(root), &nb, &na) != SUBCA_OK)
		return 0;
	if (na <= (int64_t)now)
		return 0;
	return (int)((na - (int64_t)now) / 86400);
}

static subca_result subca__csr_make(const struct subca_ctx *c,
				    const char *key_id,
				    const struct subca_intermediate_params *p,
				    X509_REQ **csr)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;

	SUBCA_TRY(c->keys->ops->load(c->keys, key_id, &key));
	return subca_csr_build(p, key, csr);
}

static subca_result subca__pending_record(const struct subca_ctx *c,
					  const struct subca_authority_rec *a,
					  const struct subca_intermediate_request *r,
					  const char *key_id, X509_REQ *csr,
					  const char *csr_pem, int days)
{
	struct subca_intermediate_rec rec = {0};
	struct subca_authority_rec upd = *a;
	char subject[512];

	subca_name_oneline(X509_REQ_get_subject_name(csr), subject,
			   sizeof(subject));
	rec.authority_id = a->id;
	rec.state = SUBCA_INT_PENDING;
	rec.key_id = (char *)key_id;
	rec.key_type = (char *)subca_key_type_name(r->key);
	rec.subject = subject;
	rec.csr_pem = (char *)csr_pem;
	rec.crl_url = (char *)r->crl_url;
	rec.ocsp_url = (char *)r->ocsp_url;
	rec.days = days;
	rec.created = (int64_t)c->now;
	SUBCA_TRY(c->store->ops->intermediate_add(c->store, &rec));
	if (a->state == SUBCA_AUTH_NEEDS_INTERMEDIATE) {
		upd.state = SUBCA_AUTH_PENDING;
		SUBCA_TRY(c->store->ops->authority_update(c->store, &upd));
	}
	return subca_audit(c, a->name, "intermediate.request",
			   "intermediate \"%s\" requested: %s key %s, %d days",
			   subject, subca_key_type_name(r->key), key_id, days);
}

/* Record the pending intermediate of a new key and hand out its CSR PEM;
 * on failure the key is destroyed and nothing is recorded. */
static subca_result subca__pending_save(const struct subca_ctx *c,
					const struct subca_authority_rec *a,
					const struct subca_intermediate_request *r,
					const char *key_id, X509_REQ *csr,
					int days, struct subca_buf *csr_pem)
{
	subca_result rv = subca_pem_x509_req(csr, csr_pem);

	if (rv == SUBCA_OK && (rv = subca__begin(c)) == SUBCA_OK)
		rv = subca__finish(c, subca__pending_record(c, a, r, key_id,
							    csr,
							    (char *)csr_pem->p,
							    days));
	if (rv != SUBCA_OK) {
		subca_result keep = rv;

		(void)c->keys->ops->destroy(c->keys, key_id);
		subca_buf_cleanup(csr_pem);
		return keep;
	}
	return SUBCA_OK;
}

subca_result subca_authority_request_intermediate(
	const struct subca_ctx *c, const char *name,
	const struct subca_intermediate_request *r, struct subca_buf *csr_pem,
	int *days_out)
{
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	SUBCA_AUTO_ROOT struct subca_root *root = NULL;
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *pub = NULL;
	struct subca_intermediate_params p = r->params;
	char key_id[SUBCA_KEY_ID_MAX];
	int left;
	subca_result rv;

	subca_buf_init(csr_pem, SUBCA_MAX_CSR_INPUT);
	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_TRY(subca__check_url("--crl-url", r->crl_url));
	SUBCA_TRY(subca__check_url("--ocsp-url", r->ocsp_url));
	SUBCA_TRY(subca__root_load(c, &a, &root));
	if (p.days == 0)
		p.days = SUBCA__DEFAULT_INTERMEDIATE_DAYS;
	SUBCA_ENSURE(p.days > 0 && p.days <= SUBCA_MAX_INTERMEDIATE_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "lifetime of %d days is outside 1..%d", p.days,
		     SUBCA_MAX_INTERMEDIATE_DAYS);
	left = subca__days_left(root, c->now);
	SUBCA_ENSURE(left > 0, SUBCA_E_EXPIRED,
		     "the root expires in less than a day");
	if (p.days > left)
		p.days = left;
	SUBCA_TRY(c->keys->ops->generate(c->keys, r->key, key_id, &pub));
	rv = subca__csr_make(c, key_id, &p, &csr);
	if (rv == SUBCA_OK)
		rv = subca__pending_save(c, &a, r, key_id, csr, p.days,
					 csr_pem);
	if (rv != SUBCA_OK)
		return rv;
	if (days_out != NULL)
		*days_out = p.days;
	return SUBCA_OK;
}

/* A CSR for `key` asking for what `old` asked: same subject, same
 * extensionRequest (CA, path length, key usage, name constraints). */
static subca_result subca__csr_like(X509_REQ *old, EVP_PKEY *key,
				    X509_REQ **out)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int ok;

	SUBCA_ENSURE(req != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1 &&
			   X509_REQ_set_subject_name(
				   req, X509_REQ_get_subject_name(old)) == 1 &&
			   X509_REQ_set_pubkey(req, key) == 1,
		   SUBCA_E_CRYPTO, "cannot build the next CSR");
	exts = X509_REQ_get_extensions(old);
	ok = exts == NULL || sk_X509_EXTENSION_num(exts) == 0 ||
	     X509_REQ_add_extensions(req, exts) == 1;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	SUBCA_OSSL(ok, SUBCA_E_CRYPTO, "cannot copy the requested extensions");
	SUBCA_OSSL(X509_REQ_sign(req, key, subca_key_sign_md(key)) > 0,
		   SUBCA_E_CRYPTO, "cannot sign the next CSR");
	*out = subca_steal(&req);
	return SUBCA_OK;
}

/* The next CSR of the intermediate `cur`, for the new key `key_id`. */
static subca_result subca__next_csr(const struct subca_ctx *c,
				    const struct subca_intermediate_rec *cur,
				    const char *key_id, X509_REQ **out)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *old = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;

	SUBCA_TRY(subca_pem_load_x509_req(cur->csr_pem, &old));
	SUBCA_TRY(c->keys->ops->load(c->keys, key_id, &key));
	return subca__csr_like(old, key, out);
}

subca_result subca_authority_request_next(const struct subca_ctx *c,
					  const char *name, int days,
					  struct subca_buf *csr_pem,
					  int *days_out)
{
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	SUBCA_AUTO_INTERMEDIATES struct subca_intermediate_list l = {0};
	SUBCA_AUTO_ROOT struct subca_root *root = NULL;
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *pub = NULL;
	struct subca_intermediate_request r = {0};
	const struct subca_intermediate_rec *cur;
	char key_id[SUBCA_KEY_ID_MAX];
	int left;
	long idx;

	subca_buf_init(csr_pem, SUBCA_MAX_CSR_INPUT);
	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_TRY(c->store->ops->intermediate_list(c->store, a.id, &l));
	idx = subca_intermediate_issuing(&l, c->now);
	SUBCA_ENSURE(idx >= 0, SUBCA_E_NOT_ACTIVE,
		     "authority \"%s\" has no active intermediate to rotate "
		     "(state %s): request the first one by hand",
		     name, subca_authority_state_name(a.state));
	cur = &l.v[idx];
	SUBCA_TRY(subca__root_load(c, &a, &root));
	if (days == 0)
		days = cur->days;
	SUBCA_ENSURE(days > 0 && days <= SUBCA_MAX_INTERMEDIATE_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "lifetime of %d days is outside 1..%d", days,
		     SUBCA_MAX_INTERMEDIATE_DAYS);
	left = subca__days_left(root, c->now);
	SUBCA_ENSURE(left > 0, SUBCA_E_EXPIRED,
		     "the root expires in less than a day");
	if (days > left)
		days = left;
	SUBCA_TRY(subca_key_type_parse(cur->key_type, &r.key));
	r.crl_url = cur->crl_url;
	r.ocsp_url = cur->ocsp_url;
	SUBCA_TRY(c->keys->ops->generate(c->keys, r.key, key_id, &pub));
	if (subca__next_csr(c, cur, key_id, &csr) != SUBCA_OK) {
		subca_result keep = subca_error_code();

		(void)c->keys->ops->destroy(c->keys, key_id);
		return keep;
	}
	SUBCA_TRY(subca__pending_save(c, &a, &r, key_id, csr, days, csr_pem));
	if (days_out != NULL)
		*days_out = days;
	return SUBCA_OK;
}

/* The pending request `id` (0: the newest) in `l`, or an error. */
static subca_result subca__discardable(const struct subca_intermediate_list *l,
				       const char *name, int64_t id,
				       size_t *idx)
{
	bool found = false;

	for (size_t i = 0; i < l->n; i++) {
		if (id != 0 ? l->v[i].id == id
			    : l->v[i].state == SUBCA_INT_PENDING) {
			*idx = i;
			found = true;
		}
	}
	if (!found && id == 0)
		SUBCA_BAIL(SUBCA_E_NO_PENDING,
			   "authority \"%s\" has no pending intermediate "
			   "request",
			   name);
	SUBCA_ENSURE(found, SUBCA_E_NOT_FOUND,
		     "authority \"%s\" has no intermediate %lld", name,
		     (long long)id);
	SUBCA_ENSURE(l->v[*idx].state == SUBCA_INT_PENDING, SUBCA_E_STATE,
		     "intermediate %lld of \"%s\" is %s: only a pending "
		     "request, never certified, can be discarded",
		     (long long)id, name,
		     subca_intermediate_state_name(l->v[*idx].state));
	return SUBCA_OK;
}

/* The record of `l` and the authority's state after discarding `idx`. */
static subca_result subca__discard_record(const struct subca_ctx *c,
					  const struct subca_authority_rec *a,
					  const struct subca_intermediate_list *l,
					  size_t idx)
{
	const struct subca_intermediate_rec *d = &l->v[idx];
	bool others = false;

	SUBCA_TRY(c->store->ops->intermediate_discard(c->store, a->id, d->id));
	for (size_t i = 0; i < l->n; i++)
		others = others || (i != idx && l->v[i].state != SUBCA_INT_RETIRED);
	if (a->state == SUBCA_AUTH_PENDING && !others) {
		struct subca_authority_rec upd = *a;

		upd.state = SUBCA_AUTH_NEEDS_INTERMEDIATE;
		SUBCA_TRY(c->store->ops->authority_update(c->store, &upd));
	}
	return subca_audit(c, a->name, "intermediate.discard",
			   "pending intermediate %lld \"%s\" discarded, key %s "
			   "destroyed",
			   (long long)d->id, d->subject, d->key_id);
}

subca_result subca_authority_discard_pending(const struct subca_ctx *c,
					     const char *name, int64_t id,
					     struct subca_intermediate_rec *out)
{
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	SUBCA_AUTO_INTERMEDIATES struct subca_intermediate_list l = {0};
	size_t idx = 0;
	subca_result rv;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_TRY(subca__begin(c));
	rv = c->store->ops->intermediate_list(c->store, a.id, &l);
	if (rv == SUBCA_OK)
		rv = subca__discardable(&l, name, id, &idx);
	if (rv == SUBCA_OK)
		rv = subca__discard_record(c, &a, &l, idx);
	SUBCA_TRY(subca__finish(c, rv));
	/* the record is gone: nothing can use the key any more */
	rv = c->keys->ops->destroy(c->keys, l.v[idx].key_id);
	if (rv != SUBCA_OK) {
		char why[SUBCA_ERROR_REASON_MAX];

		snprintf(why, sizeof(why), "%s", subca_error_reason());
		SUBCA_BAIL(rv,
			   "pending intermediate %lld was discarded, but its "
			   "key %s could not be destroyed: %s",
			   (long long)l.v[idx].id, l.v[idx].key_id, why);
	}
	if (out != NULL) {
		*out = l.v[idx];
		/* the record now belongs to `out` */
		memmove(&l.v[idx], &l.v[l.n - 1], sizeof(l.v[0]));
		l.n--;
	}
	return SUBCA_OK;
}

/* ---- intermediate import ------------------------------------------------ */

/* Index of the newest pending intermediate whose key is in `upload`
 * (the newest pending one when none matches); -1 when none is pending. */
static long subca__pending_for(const struct subca_intermediate_list *l,
			       struct subca_slice upload)
{
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *certs = NULL;
	long newest = -1;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].state == SUBCA_INT_PENDING)
			newest = (long)i;
	if (newest < 0 || subca_certin_parse(upload, &certs) != SUBCA_OK) {
		subca_error_clear();
		return newest;
	}
	for (long i = (long)l->n - 1; i >= 0; i--) {
		SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;

		if (l->v[i].state != SUBCA_INT_PENDING ||
		    subca_pem_load_x509_req(l->v[i].csr_pem, &csr) != SUBCA_OK)
			continue;
		for (int k = 0; k < sk_X509_num(certs); k++)
			if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, k)),
					X509_REQ_get0_pubkey(csr)) == 1)
				return i;
	}
	subca_error_clear();
	return newest;
}

/*
 * Make l->v[idx] (its certificate already in the record) the one issuing
 * intermediate: every other active one, and every ready one scheduled no
 * later than it (superseded before it ever issued), becomes retired with an
 * audit entry, then l->v[idx] becomes active. Inside the caller's
 * transaction, so that at no instant two intermediates issue.
 */
static subca_result subca__switch(const struct subca_ctx *c,
				  const struct subca_authority_rec *a,
				  const struct subca_intermediate_list *l,
				  struct subca_intermediate_rec *upd)
{
	struct subca_authority_rec aupd = *a;

	for (size_t i = 0; i < l->n; i++) {
		struct subca_intermediate_rec old = l->v[i];

		if (old.id == upd->id ||
		    !(old.state == SUBCA_INT_ACTIVE ||
		      (old.state == SUBCA_INT_READY &&
		       old.activate_at <= upd->activate_at)))
			continue;
		old.state = SUBCA_INT_RETIRED;
		old.retired_at = (int64_t)c->now;
		SUBCA_TRY(c->store->ops->intermediate_update(c->store, &old));
		SUBCA_TRY(subca_audit(c, a->name, "intermediate.retire",
				      "intermediate #%lld \"%s\" (sha256 %s) "
				      "retired: it issues nothing more; its "
				      "key stays for CRL and OCSP",
				      (long long)old.id, old.subject,
				      old.fingerprint ? old.fingerprint : "-"));
	}
	upd->state = SUBCA_INT_ACTIVE;
	SUBCA_TRY(c->store->ops->intermediate_update(c->store, upd));
	aupd.state = SUBCA_AUTH_ACTIVE;
	return c->store->ops->authority_update(c->store, &aupd);
}

static subca_result subca__activate(const struct subca_ctx *c,
				    const struct subca_authority_rec *a,
				    struct subca_intermediate_list *l,
				    size_t idx, X509 *cert, int64_t activate_at,
				    const struct subca_report *report)
{
	struct subca_intermediate_rec upd = l->v[idx];
	SUBCA_AUTOFREE char *pem = NULL;
	char fp[65];

	SUBCA_TRY(subca__pem_of(cert, &pem));
	SUBCA_TRY(subca_x509_fingerprint(cert, fp));
	SUBCA_TRY(subca__validity_of(cert, &upd.not_before, &upd.not_after));
	upd.cert_pem = pem;
	upd.fingerprint = fp;
	if (activate_at > (int64_t)c->now) {
		char when[32];

		upd.state = SUBCA_INT_READY;
		upd.activate_at = activate_at;
		SUBCA_TRY(c->store->ops->intermediate_update(c->store, &upd));
		subca__time_text(activate_at, when, sizeof(when));
		return subca_audit(c, a->name, "intermediate.schedule",
				   "intermediate #%lld \"%s\" (sha256 %s) "
				   "verified against the root, %zu warning(s); "
				   "it takes over at %s",
				   (long long)upd.id, upd.subject, fp,
				   report->warnings, when);
	}
	upd.activate_at = (int64_t)c->now;
	SUBCA_TRY(subca__switch(c, a, l, &upd));
	return subca_audit(c, a->name, "intermediate.activate",
			   "intermediate #%lld \"%s\" (sha256 %s) verified "
			   "against the root and activated, %zu warning(s)",
			   (long long)upd.id, upd.subject, fp,
			   report->warnings);
}

subca_result subca_authority_import_intermediate_at(
	const struct subca_ctx *c, const char *name, struct subca_slice upload,
	bool accept_weaker, int64_t activate_at, struct subca_report *report)
{
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	SUBCA_AUTO_INTERMEDIATES struct subca_intermediate_list l = {0};
	SUBCA_AUTO_ROOT struct subca_root *root = NULL;
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	SUBCA_AUTO(X509) X509 *cert = NULL;
	struct subca_intermediate_check chk = {0};
	bool recertified = false;
	long idx;

	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_ENSURE(activate_at <= (int64_t)c->now + SUBCA_MAX_ACTIVATE_DELAY,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the activation time is more than %d days ahead",
		     SUBCA_MAX_ACTIVATE_DELAY / 86400);
	SUBCA_TRY(subca__root_load(c, &a, &root));
	SUBCA_TRY(c->store->ops->intermediate_list(c->store, a.id, &l));
	/* the key of an intermediate in use, signed again (altchain.c) */
	SUBCA_TRY(subca__authority_recertify(c, &a, &l, root, upload,
					     accept_weaker, activate_at, report,
					     &recertified));
	if (recertified)
		return SUBCA_OK;
	idx = subca__pending_for(&l, upload);
	SUBCA_ENSURE(idx >= 0, SUBCA_E_NO_PENDING,
		     "authority \"%s\" has no pending intermediate, and no "
		     "certificate in the upload has the key of one of its "
		     "intermediates: run `subca intermediate request %s --cn "
		     "NAME` first",
		     name, name);
	SUBCA_TRY(subca_pem_load_x509_req(l.v[idx].csr_pem, &csr));
	SUBCA_TRY(c->keys->ops->load(c->keys, l.v[idx].key_id, &key));
	chk.root = root;
	chk.csr = csr;
	chk.key = key;
	/* A later activation is checked at that time: the certificate (and
	 * the root) must be valid when it takes over (EJBCA accepts a
	 * future-dated certificate for a rollover the same way). */
	chk.now = activate_at > (int64_t)c->now ? (time_t)activate_at : c->now;
	chk.accept_weaker = accept_weaker;
	SUBCA_TRY(subca_intermediate_verify(&chk, upload, report, &cert));
	EVP_PKEY_free(subca_steal(&key)); /* the signing handle is done */
	SUBCA_TRY(subca__begin(c));
	return subca__finish(c, subca__activate(c, &a, &l, (size_t)idx, cert,
						activate_at, report));
}

subca_result subca_authority_import_intermediate(const struct subca_ctx *c,
						 const char *name,
						 struct subca_slice upload,
						 bool accept_weaker,
						 struct subca_report *report)
{
	return subca_authority_import_intermediate_at(c, name, upload,
						      accept_weaker, 0, report);
}

/* ---- rotation: which intermediate issues --------------------------------- */

long subca_intermediate_issuing(const struct subca_intermediate_list *l,
				time_t now)
{
	long active = -1, ready = -1;

	for (size_t i = 0; i < l->n; i++) {
		const struct subca_intermediate_rec *r = &l->v[i];

		if (r->state == SUBCA_INT_ACTIVE)
			active = (long)i;
		else if (r->state == SUBCA_INT_READY &&
			 r->activate_at <= (int64_t)now &&
			 (ready < 0 || r->activate_at >= l->v[ready].activate_at))
			ready = (long)i;
	}
	return ready >= 0 ? ready : active;
}

/* The switch to a ready intermediate whose time has come, in one
 * transaction that reads the list again: of several processes sharing the
 * store, the first records it and the others find it done. */
static subca_result subca__activate_due(const struct subca_ctx *c,
					const struct subca_authority_rec *a,
					bool *switched)
{
	SUBCA_AUTO_INTERMEDIATES struct subca_intermediate_list l = {0};
	struct subca_intermediate_rec upd;
	char when[32];
	long idx;

	SUBCA_TRY(c->store->ops->intermediate_list(c->store, a->id, &l));
	idx = subca_intermediate_issuing(&l, c->now);
	if (idx < 0 || l.v[idx].state != SUBCA_INT_READY)
		return SUBCA_OK;
	upd = l.v[idx];
	SUBCA_TRY(subca__switch(c, a, &l, &upd));
	subca__time_text(upd.activate_at, when, sizeof(when));
	*switched = true;
	return subca_audit(c, a->name, "intermediate.activate",
			   "intermediate #%lld \"%s\" (sha256 %s) activated "
			   "as scheduled for %s",
			   (long long)upd.id, upd.subject, upd.fingerprint,
			   when);
}

subca_result subca_authority_activate_due(const struct subca_ctx *c,
					  const char *name, bool *switched)
{
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	bool dummy = false;

	if (switched == NULL)
		switched = &dummy;
	*switched = false;
	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_TRY(subca__begin(c));
	return subca__finish(c, subca__activate_due(c, &a, switched));
}

/* ---- issuance ------------------------------------------------------------ */

/*
 * The intermediate that issues now, into *idx (-1: none). When a ready one's
 * activation time has passed, the switch is recorded first (once, whoever
 * comes first) and the list read again, so that a leaf is never signed by
 * an intermediate the store does not show as active.
 */
static subca_result subca__issuer_pick(const struct subca_ctx *c,
				       const struct subca_authority_rec *a,
				       struct subca_intermediate_list *l,
				       long *idx)
{
	*idx = subca_intermediate_issuing(l, c->now);
	if (*idx < 0 || l->v[*idx].state != SUBCA_INT_READY)
		return SUBCA_OK;
	SUBCA_TRY(subca_authority_activate_due(c, a->name, NULL));
	subca_intermediate_list_cleanup(l);
	SUBCA_TRY(c->store->ops->intermediate_list(c->store, a->id, l));
	*idx = -1;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].state == SUBCA_INT_ACTIVE)
			*idx = (long)i;
	return SUBCA_OK;
}

/* "DNS:a,IP:1.2.3.4" from the leaf's subjectAltName, into buf. */
static void subca__sans_text(X509 *leaf, char *buf, size_t len)
{
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *gens =
		X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		SUBCA_AUTO(BIO) BIO *bio = BIO_new(BIO_s_mem());
		char *data = NULL;
		long n;

		if (bio == NULL || GENERAL_NAME_print(bio, g) <= 0)
			continue;
		n = BIO_get_mem_data(bio, &data);
		if (n <= 0 || used + (size_t)n + 2 >= len)
			break;
		if (used > 0)
			buf[used++] = ',';
		memcpy(buf + used, data, (size_t)n);
		used += (size_t)n;
		buf[used] = '\0';
	}
}

/* A copy of `v` (NULL stays NULL) into *out. */
static subca_result subca__dup(const char *v, char **out)
{
	*out = NULL;
	if (v == NULL)
		return SUBCA_OK;
	*out = subca_strdup(v);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

/* Fill the certificate and audit records of `is` from its leaf; they
 * point into `is` only, so that it can outlive the request. */
static subca_result subca__records_fill(const struct subca_ctx *c,
					const struct subca_authority_rec *a,
					const struct subca_intermediate_rec *im,
					struct subca_issuance *is)
{
	struct subca_cert_rec *rec = &is->rec;
	struct subca_audit_rec *audit = &is->audit;

	SUBCA_TRY(subca_serial_hex(X509_get0_serialNumber(is->leaf),
				   is->serial, sizeof(is->serial)));
	SUBCA_TRY(subca__validity_of(is->leaf, &rec->not_before,
				     &rec->not_after));
	subca_name_oneline(X509_get_subject_name(is->leaf), is->subject,
			   sizeof(is->subject));
	subca__sans_text(is->leaf, is->sans, sizeof(is->sans));
	SUBCA_TRY(subca__dup(a->name, &is->authority));
	SUBCA_TRY(subca__dup(c->actor ? c->actor : "unknown", &is->actor));
	SUBCA_TRY(subca__dup(c->provisioner, &is->provisioner));
	rec->authority_id = a->id;
	rec->intermediate_id = im->id;
	rec->serial = is->serial;
	rec->subject = is->subject;
	rec->sans = is->sans;
	rec->pem = (char *)is->leaf_pem.p;
	rec->issued_by = is->actor;
	rec->provisioner = is->provisioner;
	rec->created = (int64_t)c->now;
	snprintf(is->detail, sizeof(is->detail),
		 "certificate serial %s for \"%s\" [%s] issued", is->serial,
		 is->subject, is->sans);
	audit->ts = (int64_t)c->now;
	audit->authority = is->authority;
	audit->action = "certificate.issue";
	audit->detail = is->detail;
	audit->actor = is->actor;
	return SUBCA_OK;
}

/* Sign the leaf, check it, and fill `is` (chain and records). */
static subca_result subca__sign_one(const struct subca_ctx *c,
				    const struct subca_authority_rec *a,
				    const struct subca_intermediate_rec *im,
				    const struct subca_issuer_entry *e,
				    const struct subca_issuer *iss,
				    const struct subca_leaf_request *r,
				    struct subca_issuance *is)
{
	SUBCA_TRY(subca_leaf_issue(iss, r, &is->leaf));
	SUBCA_TRY(subca_leaf_check_names(is->leaf, e->root->chain));
	SUBCA_TRY(subca_pem_x509(is->leaf, &is->leaf_pem));
	SUBCA_TRY(subca_buf_append(&is->chain_pem, is->leaf_pem.p,
				   is->leaf_pem.len));
	SUBCA_TRY(subca_buf_append(&is->chain_pem, e->ca_pem, e->ca_pem_len));
	return subca__records_fill(c, a, im, is);
}

void subca_issuance_cleanup(struct subca_issuance *is)
{
	X509_free(is->leaf);
	is->leaf = NULL;
	subca_buf_cleanup(&is->leaf_pem);
	subca_buf_cleanup(&is->chain_pem);
	subca_free(is->authority);
	subca_free(is->actor);
	subca_free(is->provisioner);
	is->authority = is->actor = is->provisioner = NULL;
	memset(&is->rec, 0, sizeof(is->rec));
	memset(&is->audit, 0, sizeof(is->audit));
}

/*
 * What issuing from intermediate `im` needs: its certificate, its signing
 * key and the customer's chain. From c->issuers when it holds them for
 * this certificate (same row id and fingerprint); otherwise read from the
 * store and the key store, and left in c->issuers for the next issuance.
 * The caller releases *out.
 */
static subca_result subca__issuer_load(const struct subca_ctx *c,
				       const struct subca_authority_rec *a,
				       const struct subca_intermediate_rec *im,
				       const struct subca_issuer_entry **out)
{
	SUBCA_AUTO_ROOT struct subca_root *root = NULL;
	SUBCA_AUTO(X509) X509 *cert = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;

	*out = NULL;
	if (c->issuers != NULL) {
		*out = subca_issuer_cache_get(c->issuers, im->id,
					      im->fingerprint);
		if (*out != NULL)
			return SUBCA_OK;
	}
	SUBCA_TRY(subca__root_load(c, a, &root));
	SUBCA_TRY(subca_pem_load_x509(im->cert_pem, &cert));
	SUBCA_TRY(c->keys->ops->load(c->keys, im->key_id, &key));
	SUBCA_TRY(subca_issuer_entry_new(im->id, im->fingerprint,
					 subca_steal(&cert), subca_steal(&key),
					 subca_steal(&root), out));
	if (c->issuers != NULL)
		subca_issuer_cache_put(c->issuers, *out);
	return SUBCA_OK;
}

/* The intermediate's own URLs, else the server's derived ones. */
static subca_result subca__issuer_urls(const struct subca_ctx *c,
				       const struct subca_authority_rec *a,
				       const struct subca_intermediate_rec *im,
				       struct subca_issuer *iss, char *crl,
				       char *ocsp)
{
	iss->crl_url = im->crl_url;
	iss->ocsp_url = im->ocsp_url;
	if (c->public_url == NULL || c->public_url[0] == '\0')
		return SUBCA_OK;
	SUBCA_TRY(subca_revocation_urls(c->public_url, a->name, im->id, crl,
					ocsp));
	if (iss->crl_url == NULL)
		iss->crl_url = crl;
	if (iss->ocsp_url == NULL)
		iss->ocsp_url = ocsp;
	return SUBCA_OK;
}

static void subca__issuance_init(struct subca_issuance *is)
{
	memset(is, 0, sizeof(*is));
	subca_buf_init(&is->leaf_pem, SUBCA_MAX_CERT_INPUT);
	subca_buf_init(&is->chain_pem, SUBCA_MAX_CERT_INPUT);
}

subca_result subca_authority_issue_prepare(const struct subca_ctx *c,
					   const char *name,
					   const struct subca_leaf_request *r,
					   struct subca_issuance *out)
{
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	SUBCA_AUTO_INTERMEDIATES struct subca_intermediate_list l = {0};
	const struct subca_issuer_entry *e = NULL;
	struct subca_issuer iss = {0};
	char crl[SUBCA_MAX_URL + 1], ocsp[SUBCA_MAX_URL + 1];
	subca_result rv;
	long idx;

	subca__issuance_init(out);
	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_TRY(c->store->ops->intermediate_list(c->store, a.id, &l));
	SUBCA_TRY(subca__issuer_pick(c, &a, &l, &idx));
	SUBCA_ENSURE(idx >= 0, SUBCA_E_NOT_ACTIVE,
		     "authority \"%s\" has no active intermediate (state %s)",
		     name, subca_authority_state_name(a.state));
	SUBCA_TRY(subca__issuer_urls(c, &a, &l.v[idx], &iss, crl, ocsp));
	SUBCA_TRY(subca__issuer_load(c, &a, &l.v[idx], &e));
	iss.cert = e->cert;
	iss.key = e->key;
	iss.key_checked = e->key_checked;
	rv = subca__sign_one(c, &a, &l.v[idx], e, &iss, r, out);
	subca_issuer_entry_release(e);
	if (rv != SUBCA_OK)
		subca_issuance_cleanup(out);
	return rv;
}

subca_result subca_authority_issue_record(const struct subca_ctx *c,
					  struct subca_issuance *is)
{
	/* One atomic write of certificate and audit entry, outside any
	 * transaction so that concurrent issuances share a commit. */
	return c->store->ops->cert_record(c->store, &is->rec, &is->audit);
}

subca_result subca_authority_issue(const struct subca_ctx *c,
				   const char *name,
				   const struct subca_leaf_request *r,
				   struct subca_buf *chain_pem, X509 **leaf_out)
{
	struct subca_issuance *is = subca_malloc(sizeof(*is));
	subca_result rv = SUBCA_E_INTERNAL;

	subca_buf_init(chain_pem, SUBCA_MAX_CERT_INPUT);
	SUBCA_ENSURE(is != NULL, SUBCA_E_NOMEM, "out of memory");
	/* A serial collision is astronomically unlikely with 159 random bits,
	 * but the store's unique constraint is the rule: draw again. */
	for (int i = 0; i < SUBCA__ISSUE_ATTEMPTS; i++) {
		rv = subca_authority_issue_prepare(c, name, r, is);
		if (rv != SUBCA_OK)
			break;
		rv = subca_authority_issue_record(c, is);
		if (rv == SUBCA_OK) {
			*chain_pem = is->chain_pem; /* handed over */
			subca_buf_init(&is->chain_pem, SUBCA_MAX_CERT_INPUT);
			if (leaf_out != NULL)
				*leaf_out = subca_steal(&is->leaf);
		}
		subca_issuance_cleanup(is);
		if (rv != SUBCA_E_EXISTS)
			break;
	}
	subca_free(is);
	return rv;
}

/* ---- pending ------------------------------------------------------------- */

void subca_pending_cleanup(struct subca_pending *p)
{
	subca_intermediate_rec_cleanup(&p->rec);
	X509_REQ_free(p->csr);
	subca_root_free(p->root);
	memset(p, 0, sizeof(*p));
}

subca_result subca_authority_pending(const struct subca_ctx *c,
				     const char *name,
				     struct subca_pending *out)
{
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	SUBCA_AUTO_INTERMEDIATES struct subca_intermediate_list l = {0};
	long idx = -1;
	subca_result rv;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_TRY(c->store->ops->intermediate_list(c->store, a.id, &l));
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].state == SUBCA_INT_PENDING)
			idx = (long)i;
	SUBCA_ENSURE(idx >= 0, SUBCA_E_NO_PENDING,
		     "authority \"%s\" has no pending intermediate: run "
		     "`subca intermediate request %s --cn NAME` first",
		     name, name);
	out->rec = l.v[idx];
	/* the record now belongs to `out`; keep the list from freeing it */
	memmove(&l.v[idx], &l.v[l.n - 1], sizeof(l.v[0]));
	l.n--;
	rv = subca_pem_load_x509_req(out->rec.csr_pem, &out->csr);
	if (rv == SUBCA_OK)
		rv = subca__root_load(c, &a, &out->root);
	if (rv != SUBCA_OK)
		subca_pending_cleanup(out);
	return rv;
}

/* ---- generated root ------------------------------------------------------ */

static subca_result subca__generated_root(const struct subca_ctx *c,
					  const char *name,
					  const struct subca_generated_root_opts *o,
					  char root_key_id[SUBCA_KEY_ID_MAX],
					  X509 **root_out)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *pub = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	SUBCA_AUTO_AUTHORITY struct subca_authority_rec a;
	SUBCA_BUF_AUTO struct subca_buf pem = {0};
	char cn[128];

	snprintf(cn, sizeof(cn), "%s Root CA", name);
	SUBCA_TRY(c->keys->ops->generate(c->keys, o->root_key, root_key_id,
					 &pub));
	SUBCA_TRY(c->keys->ops->load(c->keys, root_key_id, &key));
	SUBCA_TRY(subca_signer_self_signed_root(
		key, o->root_cn ? o->root_cn : cn, NULL,
		o->root_days ? o->root_days : SUBCA__DEFAULT_ROOT_DAYS, c->now,
		root_out));
	SUBCA_TRY(subca_pem_x509(*root_out, &pem));
	SUBCA_TRY(subca_authority_import_root(c, name, subca_buf_slice(&pem),
					      NULL));
	SUBCA_TRY(subca_authority_get(c, name, &a));
	a.generated_root = true;
	a.root_key_id = subca_strdup(root_key_id);
	SUBCA_ENSURE(a.root_key_id != NULL, SUBCA_E_NOMEM, "out of memory");
	return c->store->ops->authority_update(c->store, &a);
}

static subca_result subca__generated_intermediate(
	const struct subca_ctx *c, const char *name,
	const struct subca_generated_root_opts *o, X509 *root,
	const char *root_key_id, char int_key_id[SUBCA_KEY_ID_MAX])
{
	struct subca_pending p;
	struct subca_intermediate_request r = {0};
	SUBCA_BUF_AUTO struct subca_buf csr_pem = {0};
	SUBCA_BUF_AUTO struct subca_buf cert_pem = {0};
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *root_key = NULL;
	SUBCA_AUTO(X509) X509 *cert = NULL;
	struct subca_sign_intermediate_opts so = {0};
	struct subca_report report;
	char cn[128];

	snprintf(cn, sizeof(cn), "%s Intermediate CA", name);
	r.params.cn = cn;
	r.params.path_len = 0;
	r.params.days = o->intermediate_days;
	r.key = o->intermediate_key;
	SUBCA_TRY(subca_authority_request_intermediate(c, name, &r, &csr_pem,
						       &so.days));
	/* remember the new key, so that a later failure can destroy it */
	SUBCA_TRY(subca_authority_pending(c, name, &p));
	snprintf(int_key_id, SUBCA_KEY_ID_MAX, "%s", p.rec.key_id);
	subca_pending_cleanup(&p);
	SUBCA_TRY(subca_pem_load_x509_req((char *)csr_pem.p, &csr));
	SUBCA_TRY(c->keys->ops->load(c->keys, root_key_id, &root_key));
	so.path_len = -2;
	so.now = c->now;
	SUBCA_TRY(subca_signer_sign_intermediate(root, root_key, csr, &so,
						 &cert));
	EVP_PKEY_free(subca_steal(&root_key));
	SUBCA_TRY(subca_pem_x509(cert, &cert_pem));
	subca_report_init(&report);
	return subca_authority_import_intermediate(
		c, name, subca_buf_slice(&cert_pem), false, &report);
}

subca_result subca_authority_create_generated(
	const struct subca_ctx *c, const char *name, const char *subdomain,
	const struct subca_generated_root_opts *o)
{
	char root_key_id[SUBCA_KEY_ID_MAX] = "";
	char int_key_id[SUBCA_KEY_ID_MAX] = "";
	SUBCA_AUTO(X509) X509 *root = NULL;
	subca_result rv;

	SUBCA_TRY(subca__begin(c));
	rv = subca_authority_create(c, name, subdomain);
	if (rv == SUBCA_OK)
		rv = subca__generated_root(c, name, o, root_key_id, &root);
	if (rv == SUBCA_OK)
		rv = subca__generated_intermediate(c, name, o, root,
						   root_key_id, int_key_id);
	if (rv == SUBCA_OK)
		rv = subca_audit(c, name, "root.generate",
				 "root generated by subca (%s key %s)",
				 subca_key_type_name(o->root_key), root_key_id);
	rv = subca__finish(c, rv);
	if (rv != SUBCA_OK) {
		/* the store rolled back: no record names these keys any more */
		subca_result keep = rv;

		if (int_key_id[0] != '\0')
			(void)c->keys->ops->destroy(c->keys, int_key_id);
		if (root_key_id[0] != '\0')
			(void)c->keys->ops->destroy(c->keys, root_key_id);
		return keep;
	}
	return rv;
}

subca_result subca_admin_token_revoke(const struct subca_ctx *c, int64_t id)
{
	subca_result rv;

	SUBCA_TRY(subca__begin(c));
	rv = c->store->ops->admin_token_revoke(c->store, id, (int64_t)c->now);
	if (rv == SUBCA_OK)
		rv = subca_audit(c, NULL, "admin_token.revoke",
				 "admin token #%lld revoked", (long long)id);
	return subca__finish(c, rv);
}
