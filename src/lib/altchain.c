/*
 * Re-certified intermediates and the alternate chains of their leaves
 * (altchain.h). A re-certification is the same key signed again by the
 * customer's root: the intermediate's record takes the new certificate (so
 * issuance, GET /chain, CRL/OCSP and rotation see its validity), and every
 * certificate the key had is kept in the store's intermediate_certs.
 */
#include "subca/altchain.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "subca/alloc.h"
#include "subca/certin.h"
#include "subca/chain.h"
#include "subca/ossl.h"

#define SUBCA__AUTO_ICERTS \
	__attribute__((cleanup(subca_intermediate_cert_list_cleanup)))
#define SUBCA__AUTO_ROOTREC __attribute__((cleanup(subca_root_rec_cleanup)))

/* ---- re-certification --------------------------------------------------- */

/* Index in `l` of the newest intermediate holding a certificate whose key
 * is that of one of `certs` (*match: that one, borrowed); -1 when none. */
static long subca__certified_for(const struct subca_intermediate_list *l,
				 STACK_OF(X509) *certs, X509 **match)
{
	for (long i = (long)l->n - 1; i >= 0; i--) {
		SUBCA_AUTO(X509) X509 *cur = NULL;

		if (l->v[i].state == SUBCA_INT_PENDING ||
		    l->v[i].cert_pem == NULL)
			continue;
		if (subca_pem_load_x509(l->v[i].cert_pem, &cur) != SUBCA_OK) {
			subca_error_clear();
			continue;
		}
		for (int k = 0; k < sk_X509_num(certs); k++) {
			X509 *x = sk_X509_value(certs, k);

			if (EVP_PKEY_eq(X509_get0_pubkey(x),
					X509_get0_pubkey(cur)) == 1) {
				*match = x;
				return i;
			}
		}
	}
	ERR_clear_error(); /* EVP_PKEY_eq of two key types leaves errors */
	return -1;
}

/* Does a certificate in `certs` carry the key of a pending request? Then
 * the upload is that request's certificate (a bundle may also hold an
 * intermediate in use): the import path takes it. */
static bool subca__for_pending(const struct subca_intermediate_list *l,
			       STACK_OF(X509) *certs)
{
	bool found = false;

	for (size_t i = 0; !found && i < l->n; i++) {
		SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;

		if (l->v[i].state != SUBCA_INT_PENDING)
			continue;
		if (subca_pem_load_x509_req(l->v[i].csr_pem, &csr) != SUBCA_OK) {
			subca_error_clear();
			continue;
		}
		for (int k = 0; !found && k < sk_X509_num(certs); k++)
			found = EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, k)),
					    X509_REQ_get0_pubkey(csr)) == 1;
	}
	ERR_clear_error();
	return found;
}

/* The upload must be new: neither the intermediate's certificate nor one
 * recorded for its key before. */
static subca_result subca__recert_fresh(const struct subca_ctx *c,
					const struct subca_intermediate_rec *im,
					const char *fp)
{
	SUBCA__AUTO_ICERTS struct subca_intermediate_cert_list l = {0};
	bool seen = im->fingerprint != NULL && strcmp(im->fingerprint, fp) == 0;

	SUBCA_TRY(c->store->ops->intermediate_cert_list(c->store,
							im->authority_id, &l));
	for (size_t i = 0; !seen && i < l.n; i++)
		seen = l.v[i].intermediate_id == im->id &&
		       strcmp(l.v[i].fingerprint, fp) == 0;
	SUBCA_ENSURE(!seen, SUBCA_E_EXISTS,
		     "certificate sha256 %s is already recorded for "
		     "intermediate #%lld \"%s\": nothing to import",
		     fp, (long long)im->id, im->subject);
	return SUBCA_OK;
}

/*
 * Leaves carry the intermediate's subject as their issuer name, byte for
 * byte (RFC 5280 4.1.2.4); a certificate of the key with another subject
 * would not issue them (RFC 5280 6.1.3 (a)(4) name chaining).
 */
static subca_result
subca__recert_subject(const struct subca_intermediate_rec *im, X509 *cert,
		      struct subca_report *report)
{
	SUBCA_AUTO(X509) X509 *cur = NULL;
	char got[512];

	SUBCA_TRY(subca_pem_load_x509(im->cert_pem, &cur));
	if (subca_name_der_equal(X509_get_subject_name(cur),
				  X509_get_subject_name(cert)))
		return SUBCA_OK;
	subca_name_oneline(X509_get_subject_name(cert), got, sizeof(got));
	subca_report_refuse(report, SUBCA_E_SUBJECT_MISMATCH,
			    "sign the intermediate's CSR again: openssl x509 "
			    "-req keeps its subject, openssl ca needs "
			    "-preserveDN",
			    "the certificate for the key of intermediate #%lld "
			    "has subject \"%s\", not \"%s\" byte for byte: "
			    "leaves name the intermediate's subject as their "
			    "issuer",
			    (long long)im->id, got, im->subject);
	return subca_report_result(report);
}

/* "2026-11-23T07:00:00Z" for the audit entry. */
static void subca__time_text(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/* The intermediate's current certificate joins intermediate_certs (once:
 * a second re-certification finds it there). */
static subca_result subca__keep_current(const struct subca_ctx *c,
					const struct subca_intermediate_rec *im)
{
	struct subca_intermediate_cert_rec old = {
		.intermediate_id = im->id,
		.pem = im->cert_pem,
		.fingerprint = im->fingerprint,
		.not_before = im->not_before,
		.not_after = im->not_after,
		.recorded = im->activate_at ? im->activate_at : im->created,
	};
	subca_result rv = c->store->ops->intermediate_cert_add(c->store, &old);

	if (rv == SUBCA_E_EXISTS) {
		subca_error_clear();
		return SUBCA_OK;
	}
	return rv;
}

static subca_result subca__recert_record(const struct subca_ctx *c,
					 const struct subca_authority_rec *a,
					 const struct subca_intermediate_rec *im,
					 X509 *cert, char *pem, char *fp,
					 const struct subca_report *report)
{
	struct subca_intermediate_cert_rec nw = {
		.intermediate_id = im->id, .pem = pem, .fingerprint = fp,
		.recorded = (int64_t)c->now};
	struct subca_intermediate_rec upd = *im;
	char until[32];

	SUBCA_TRY(subca_asn1_time_unix(X509_get0_notBefore(cert),
				       &nw.not_before));
	SUBCA_TRY(subca_asn1_time_unix(X509_get0_notAfter(cert),
				       &nw.not_after));
	SUBCA_TRY(subca__keep_current(c, im));
	SUBCA_TRY(c->store->ops->intermediate_cert_add(c->store, &nw));
	upd.cert_pem = pem;
	upd.fingerprint = fp;
	upd.not_before = nw.not_before;
	upd.not_after = nw.not_after;
	SUBCA_TRY(c->store->ops->intermediate_update(c->store, &upd));
	subca__time_text(nw.not_after, until, sizeof(until));
	return subca_audit(c, a->name, "intermediate.recertify",
			   "intermediate #%lld \"%s\" (%s) re-certified: "
			   "certificate sha256 %s, valid until %s, verified "
			   "against the root, %zu warning(s); leaves chain to "
			   "it from now on, sha256 %s stays an alternate",
			   (long long)im->id, im->subject,
			   subca_intermediate_state_name(im->state), fp, until,
			   report->warnings,
			   im->fingerprint ? im->fingerprint : "-");
}

/* Verify `match` (in `upload`) as a signed intermediate of im's key. */
static subca_result subca__recert_verify(const struct subca_ctx *c,
					 const struct subca_intermediate_rec *im,
					 const struct subca_root *root,
					 struct subca_slice upload,
					 bool accept_weaker,
					 struct subca_report *report,
					 X509 **cert)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	struct subca_intermediate_check chk = {0};

	SUBCA_TRY(subca_pem_load_x509_req(im->csr_pem, &csr));
	SUBCA_TRY(c->keys->ops->load(c->keys, im->key_id, &key));
	chk.root = root;
	chk.csr = csr; /* what was requested: no wider than that */
	chk.key = key; /* signs the throw-away leaf of the chain check */
	chk.now = c->now;
	chk.accept_weaker = accept_weaker;
	SUBCA_TRY(subca_intermediate_verify(&chk, upload, report, cert));
	return subca__recert_subject(im, *cert, report);
}

static subca_result subca__recertify(const struct subca_ctx *c,
				     const struct subca_authority_rec *a,
				     const struct subca_intermediate_rec *im,
				     const struct subca_root *root,
				     struct subca_slice upload,
				     bool accept_weaker, X509 *match,
				     struct subca_report *report)
{
	SUBCA_AUTO(X509) X509 *cert = NULL;
	SUBCA_BUF_AUTO struct subca_buf pem = {0};
	char fp[65];
	subca_result rv;

	SUBCA_TRY(subca_x509_fingerprint(match, fp));
	SUBCA_TRY(subca__recert_fresh(c, im, fp));
	SUBCA_TRY(subca__recert_verify(c, im, root, upload, accept_weaker,
				       report, &cert));
	SUBCA_TRY(subca_pem_x509(cert, &pem));
	SUBCA_TRY(c->store->ops->begin(c->store));
	rv = subca__recert_record(c, a, im, cert, (char *)pem.p, fp, report);
	if (rv == SUBCA_OK)
		rv = c->store->ops->commit(c->store);
	if (rv != SUBCA_OK) {
		c->store->ops->rollback(c->store);
		return rv;
	}
	/* keyed by fingerprint it could not hit stale; this frees it now */
	subca_issuer_cache_drop(c->issuers, im->id);
	return SUBCA_OK;
}

subca_result subca__authority_recertify(
	const struct subca_ctx *c, const struct subca_authority_rec *a,
	const struct subca_intermediate_list *l, const struct subca_root *root,
	struct subca_slice upload, bool accept_weaker, int64_t activate_at,
	struct subca_report *report, bool *handled)
{
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *certs = NULL;
	struct subca_report local;
	X509 *match = NULL;
	long idx;

	*handled = false;
	if (subca_certin_parse(upload, &certs) != SUBCA_OK) {
		subca_error_clear(); /* the import path reports it */
		return SUBCA_OK;
	}
	if (subca__for_pending(l, certs))
		return SUBCA_OK;
	idx = subca__certified_for(l, certs, &match);
	if (idx < 0)
		return SUBCA_OK;
	*handled = true;
	if (report == NULL) {
		subca_report_init(&local);
		report = &local;
	}
	SUBCA_ENSURE(activate_at <= (int64_t)c->now, SUBCA_E_INVALID_ARGUMENT,
		     "the certificate re-certifies the key of intermediate "
		     "#%lld, which takes effect at once: leave out the "
		     "activation time",
		     (long long)l->v[idx].id);
	return subca__recertify(c, a, &l->v[idx], root, upload, accept_weaker,
				match, report);
}

/* ---- the chains of a leaf ----------------------------------------------- */

/* Does the certificate `pem`, valid nb..na, issue `leaf` at c->now? */
static bool subca__serves(const struct subca_ctx *c, const char *pem,
			  int64_t nb, int64_t na, X509 *leaf)
{
	SUBCA_AUTO(X509) X509 *x = NULL;
	bool ok;

	if ((int64_t)c->now < nb || (int64_t)c->now >= na)
		return false;
	if (subca_pem_load_x509(pem, &x) != SUBCA_OK) {
		subca_error_clear();
		return false;
	}
	/* name chaining and key identifiers (RFC 5280 4.2.1.1) */
	ok = X509_check_issued(x, leaf) == X509_V_OK;
	ERR_clear_error();
	return ok;
}

struct subca__leaf_ctx {
	const struct subca_ctx *c;
	struct subca_authority_rec a;
	struct subca_cert_rec leaf_rec;
	struct subca_intermediate_list ints;
	struct subca_intermediate_cert_list certs;
	const struct subca_intermediate_rec *im;
	X509 *leaf;
	const char *def_pem, *def_fp;
};

static void subca__leaf_ctx_cleanup(struct subca__leaf_ctx *l)
{
	subca_authority_rec_cleanup(&l->a);
	subca_cert_rec_cleanup(&l->leaf_rec);
	subca_intermediate_list_cleanup(&l->ints);
	subca_intermediate_cert_list_cleanup(&l->certs);
	X509_free(l->leaf);
	l->leaf = NULL;
}

static subca_result subca__leaf_load(struct subca__leaf_ctx *l,
				     const char *name, const char *serial)
{
	struct subca_store *st = l->c->store;
	subca_result rv;

	SUBCA_TRY(subca_authority_get(l->c, name, &l->a));
	rv = st->ops->cert_get(st, l->a.id, serial, &l->leaf_rec);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND,
			   "authority \"%s\" issued no certificate with serial "
			   "%.64s",
			   name, serial);
	SUBCA_TRY(rv);
	SUBCA_TRY(subca_pem_load_x509(l->leaf_rec.pem, &l->leaf));
	SUBCA_TRY(st->ops->intermediate_list(st, l->a.id, &l->ints));
	for (size_t i = 0; i < l->ints.n; i++)
		if (l->ints.v[i].id == l->leaf_rec.intermediate_id)
			l->im = &l->ints.v[i];
	SUBCA_ENSURE(l->im != NULL && l->im->cert_pem != NULL, SUBCA_E_STORE,
		     "the intermediate that issued certificate %s is gone",
		     serial);
	return st->ops->intermediate_cert_list(st, l->a.id, &l->certs);
}

/* The default: the intermediate's current certificate when it serves the
 * leaf, else the newest recorded one of its key that does, else the
 * current one all the same (an expired chain beats none). */
static void subca__leaf_default(struct subca__leaf_ctx *l)
{
	const struct subca_intermediate_rec *im = l->im;

	l->def_pem = im->cert_pem;
	l->def_fp = im->fingerprint ? im->fingerprint : "";
	if (subca__serves(l->c, im->cert_pem, im->not_before, im->not_after,
			  l->leaf))
		return;
	for (size_t i = l->certs.n; i-- > 0;) {
		const struct subca_intermediate_cert_rec *r = &l->certs.v[i];

		if (r->intermediate_id == im->id &&
		    subca__serves(l->c, r->pem, r->not_before, r->not_after,
				  l->leaf)) {
			l->def_pem = r->pem;
			l->def_fp = r->fingerprint;
			return;
		}
	}
}

/* Every other certificate of the key that serves the leaf, newest first;
 * *pem (may be NULL) gets the one whose id is `alt`. */
static void subca__leaf_alts(const struct subca__leaf_ctx *l, int64_t alt,
			     struct subca_chain_alts *alts, const char **pem)
{
	alts->n = 0;
	for (size_t i = l->certs.n; i-- > 0 && alts->n < SUBCA_MAX_ALT_CHAINS;) {
		const struct subca_intermediate_cert_rec *r = &l->certs.v[i];

		if (r->intermediate_id != l->im->id ||
		    strcmp(r->fingerprint, l->def_fp) == 0 ||
		    !subca__serves(l->c, r->pem, r->not_before, r->not_after,
				   l->leaf))
			continue;
		alts->id[alts->n++] = r->id;
		if (pem != NULL && r->id == alt)
			*pem = r->pem;
	}
}

/* leaf, intermediate, then the customer's CAs below the anchor, closest
 * first (the anchor itself is not sent, RFC 8446 4.4.2). */
static subca_result subca__chain_pem(struct subca__leaf_ctx *l,
				     const char *im_pem, struct subca_buf *out)
{
	SUBCA__AUTO_ROOTREC struct subca_root_rec rr = {0};
	SUBCA_AUTO_ROOT struct subca_root *root = NULL;
	STACK_OF(X509) *chain;

	SUBCA_TRY(l->c->store->ops->root_get(l->c->store, l->a.id, &rr));
	SUBCA_TRY(subca_root_load(subca_slice_of(rr.pem, strlen(rr.pem)),
				  &root));
	SUBCA_TRY(subca_buf_append_str(out, l->leaf_rec.pem));
	SUBCA_TRY(subca_buf_append_str(out, im_pem));
	chain = root->chain;
	for (int i = sk_X509_num(chain) - 1; i >= 1; i--) {
		SUBCA_BUF_AUTO struct subca_buf pem = {0};

		SUBCA_TRY(subca_pem_x509(sk_X509_value(chain, i), &pem));
		SUBCA_TRY(subca_buf_append(out, pem.p, pem.len));
	}
	return SUBCA_OK;
}

static subca_result subca__leaf_chain(struct subca__leaf_ctx *l,
				      const char *name, const char *serial,
				      int64_t alt, struct subca_buf *chain_pem,
				      struct subca_chain_alts *alts)
{
	const char *pem = NULL;

	SUBCA_TRY(subca__leaf_load(l, name, serial));
	subca__leaf_default(l);
	subca__leaf_alts(l, alt, alts, &pem);
	if (alt == 0)
		pem = l->def_pem;
	SUBCA_ENSURE(pem != NULL, SUBCA_E_NOT_FOUND,
		     "certificate %.64s has no alternate chain %lld (a "
		     "certificate of its intermediate's key that is valid now)",
		     serial, (long long)alt);
	return subca__chain_pem(l, pem, chain_pem);
}

subca_result subca_leaf_chain(const struct subca_ctx *c, const char *name,
			      const char *serial, int64_t alt,
			      struct subca_buf *chain_pem,
			      struct subca_chain_alts *alts)
{
	struct subca__leaf_ctx l = {.c = c};
	struct subca_chain_alts local;
	subca_result rv;

	subca_buf_init(chain_pem, SUBCA_MAX_CERT_INPUT);
	rv = subca__leaf_chain(&l, name, serial, alt, chain_pem,
			       alts ? alts : &local);
	subca__leaf_ctx_cleanup(&l);
	if (rv != SUBCA_OK)
		subca_buf_cleanup(chain_pem);
	return rv;
}
