/*
 * Root import: parse the customer's anchor (optionally with their own
 * signing CAs below it), sort the bundle into one chain anchor-first, and
 * check every certificate before subca will sign under it. Every problem
 * found goes to the report; the first refusal is the returned error.
 */
#include "subca/root.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/certin.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

#define SUBCA__NAME_MAX 256

struct subca__root_ctx {
	struct subca_report *report;
	time_t now;
	/* the deduplicated input, borrowed from the parsed stack */
	X509 *certs[SUBCA_MAX_BUNDLE_CERTS];
	size_t n;
	/* by[c][p]: certs[c] names certs[p] as issuer and p's key verifies it */
	bool by[SUBCA_MAX_BUNDLE_CERTS][SUBCA_MAX_BUNDLE_CERTS];
	/* the chain as indexes into certs, anchor first */
	size_t chain[SUBCA_MAX_BUNDLE_CERTS];
	size_t chain_len;
	bool used[SUBCA_MAX_BUNDLE_CERTS];
	/* first refusal, kept here so a full report cannot lose it */
	size_t refusals;
	enum subca_code first_code;
	char first_msg[SUBCA_ERROR_REASON_MAX];
	char first_hint[SUBCA_ERROR_HINT_MAX];
};

/* ---- report helpers ------------------------------------------------- */

static void subca__refuse(struct subca__root_ctx *c, enum subca_code code,
			  const char *hint, const char *fmt, ...)
	SUBCA_PRINTF(4, 5);
static void subca__refuse(struct subca__root_ctx *c, enum subca_code code,
			  const char *hint, const char *fmt, ...)
{
	char msg[SUBCA_ERROR_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	subca_report_refuse(c->report, code, hint, "%s", msg);
	if (c->refusals++ > 0)
		return;
	c->first_code = code;
	snprintf(c->first_msg, sizeof(c->first_msg), "%s", msg);
	snprintf(c->first_hint, sizeof(c->first_hint), "%s", hint ? hint : "");
}

/* Move the current thread error into the report as a refusal. */
static void subca__refuse_current(struct subca__root_ctx *c)
{
	const char *hint = subca_error_hint_text();

	subca__refuse(c, subca_error_code(), hint[0] ? hint : NULL, "%s",
		      subca_error_reason());
	subca_error_clear();
}

static subca_result subca__result(const struct subca__root_ctx *c)
{
	if (c->refusals == 0)
		return SUBCA_OK;
	subca_error_set(c->first_code, __FILE__, __LINE__, "%s", c->first_msg);
	if (c->first_hint[0])
		subca_error_hint("%s", c->first_hint);
	return c->first_code;
}

/* One-line RFC 2253 subject, for naming a certificate in a reason. */
static void subca__name(const X509 *x, char *buf, size_t len)
{
	subca_name_oneline(X509_get_subject_name(x), buf, len);
	if (buf[0] == '\0')
		snprintf(buf, len, "(empty subject)");
}

static void subca__date(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "(unreadable date)");
	ERR_clear_error();
}

/* ---- sorting into one chain ----------------------------------------- */

static bool subca__issued_by(X509 *child, X509 *parent)
{
	EVP_PKEY *pk;
	int ok;

	if (X509_NAME_cmp(X509_get_issuer_name(child),
			  X509_get_subject_name(parent)) != 0)
		return false;
	pk = X509_get0_pubkey(parent);
	ok = pk != NULL && X509_verify(child, pk) == 1;
	ERR_clear_error();
	return ok;
}

/* Drop identical duplicates, keep the first of each, borrow into c. */
static void subca__collect(struct subca__root_ctx *c, STACK_OF(X509) *in)
{
	for (int i = 0; i < sk_X509_num(in); i++) {
		X509 *x = sk_X509_value(in, i);
		bool dup = false;

		for (size_t j = 0; j < c->n && !dup; j++)
			dup = X509_cmp(c->certs[j], x) == 0;
		if (!dup && c->n < SUBCA_MAX_BUNDLE_CERTS)
			c->certs[c->n++] = x;
	}
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < c->n; j++)
			c->by[i][j] = subca__issued_by(c->certs[i], c->certs[j]);
}

/* Follow children from `top`; returns the length; fills out (may be NULL). */
static size_t subca__walk(const struct subca__root_ctx *c, size_t top,
			  size_t *out)
{
	bool used[SUBCA_MAX_BUNDLE_CERTS] = {false};
	size_t len = 1, last = top;

	used[top] = true;
	if (out != NULL)
		out[0] = top;
	for (;;) {
		size_t next = c->n;

		for (size_t i = 0; i < c->n && next == c->n; i++)
			if (!used[i] && c->by[i][last])
				next = i;
		if (next == c->n)
			return len;
		used[next] = true;
		if (out != NULL)
			out[len] = next;
		len++;
		last = next;
	}
}

/* Not issued (verifiably) by any other certificate of the input. */
static bool subca__is_top(const struct subca__root_ctx *c, size_t i)
{
	for (size_t j = 0; j < c->n; j++)
		if (j != i && c->by[i][j])
			return false;
	return true;
}

/*
 * The anchor is a self-signed certificate; failing that, one not issued by
 * any other. Among several candidates the one heading the longest chain
 * wins (ties: input order); the rest end up as strays.
 */
static bool subca__sort(struct subca__root_ctx *c)
{
	size_t best = c->n, best_len = 0;

	for (int pass = 0; pass < 2 && best == c->n; pass++) {
		for (size_t i = 0; i < c->n; i++) {
			bool cand = pass == 0 ? c->by[i][i] : subca__is_top(c, i);
			size_t len;

			if (!cand)
				continue;
			len = subca__walk(c, i, NULL);
			if (len > best_len) {
				best = i;
				best_len = len;
			}
		}
	}
	if (best == c->n)
		return false;
	c->chain_len = subca__walk(c, best, c->chain);
	for (size_t i = 0; i < c->chain_len; i++)
		c->used[c->chain[i]] = true;
	return true;
}

/* ---- per-certificate checks ------------------------------------------ */

static void subca__check_ca(struct subca__root_ctx *c, X509 *x,
			    const char *name, uint32_t flags)
{
	if (X509_get_version(x) == X509_VERSION_1) {
		subca__refuse(c, SUBCA_E_NOT_CA,
			      "`openssl x509 -req` without -extfile makes v1 "
			      "certificates; sign with -extfile and "
			      "basicConstraints=critical,CA:TRUE",
			      "'%s' is an X.509 v1 certificate: v1 has no "
			      "basicConstraints extension, so it is not a CA "
			      "(RFC 5280 4.2.1.9)",
			      name);
		return;
	}
	if (!(flags & EXFLAG_BCONS)) {
		subca__refuse(c, SUBCA_E_NOT_CA,
			      "issue it with basicConstraints=critical,CA:TRUE",
			      "'%s' has no basicConstraints extension, so it is "
			      "not a CA (RFC 5280 4.2.1.9)",
			      name);
		return;
	}
	if (!(flags & EXFLAG_CA))
		subca__refuse(c, SUBCA_E_NOT_CA,
			      "issue it with basicConstraints=critical,CA:TRUE "
			      "(CFSSL: \"ca_constraint\": {\"is_ca\": true} "
			      "in the signing profile)",
			      "'%s' has basicConstraints CA:FALSE: it is %s, "
			      "not a CA (RFC 5280 4.2.1.9)",
			      name,
			      (flags & EXFLAG_SS) ? "a self-signed end-entity "
						    "certificate"
						  : "an end-entity certificate");
}

/* RFC 5280 4.2.1.3: a CA signs certificates only with keyCertSign. */
static void subca__check_ku(struct subca__root_ctx *c, X509 *x,
			    const char *name, uint32_t flags)
{
	if (!(flags & EXFLAG_KUSAGE)) {
		if (flags & EXFLAG_CA)
			subca_report_warn(c->report, SUBCA_E_NO_KEYCERTSIGN,
					  "add keyUsage=critical,keyCertSign,"
					  "cRLSign when it is next re-issued",
					  "'%s' has no keyUsage extension: most "
					  "clients accept it, but `openssl "
					  "verify -x509_strict` refuses such an "
					  "issuer",
					  name);
		return;
	}
	if (!(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))
		subca__refuse(c, SUBCA_E_NO_KEYCERTSIGN,
			      "issue it with keyUsage=critical,keyCertSign,"
			      "cRLSign",
			      "the keyUsage of '%s' lacks keyCertSign, so it "
			      "may not sign certificates (RFC 5280 4.2.1.3)",
			      name);
}

static void subca__check_validity(struct subca__root_ctx *c, X509 *x,
				  const char *name)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x);
	const ASN1_TIME *na = X509_get0_notAfter(x);
	char date[64];

	if (ASN1_TIME_cmp_time_t(na, c->now) < 0) {
		subca__date(na, date, sizeof(date));
		subca__refuse(c, SUBCA_E_EXPIRED, NULL,
			      "'%s' expired on %s (notAfter)", name, date);
	}
	if (ASN1_TIME_cmp_time_t(nb, c->now) > 0) {
		subca__date(nb, date, sizeof(date));
		subca__refuse(c, SUBCA_E_NOT_YET_VALID, NULL,
			      "'%s' is not valid before %s (notBefore)", name,
			      date);
	}
	ERR_clear_error();
}

static bool subca__weak_md(int md)
{
	return md == NID_md2 || md == NID_md4 || md == NID_md5 ||
	       md == NID_md5_sha1 || md == NID_mdc2 || md == NID_sha1;
}

static void subca__check_sigalg(struct subca__root_ctx *c, X509 *x,
				const char *name)
{
	int sig = X509_get_signature_nid(x), md = NID_undef, pk = NID_undef;

	/* X509_get_signature_info also sees the hash inside RSA-PSS params */
	if (!X509_get_signature_info(x, &md, &pk, NULL, NULL) &&
	    !OBJ_find_sigid_algs(sig, &md, &pk))
		md = NID_undef;
	ERR_clear_error();
	if (subca__weak_md(md))
		subca__refuse(c, SUBCA_E_WEAK_SIGNATURE,
			      "re-issue it signed with SHA-256 or stronger "
			      "(e.g. openssl -sha256)",
			      "'%s' is signed with %s (%s), which is broken for "
			      "signatures",
			      name, OBJ_nid2ln(sig), OBJ_nid2sn(md));
}

static void subca__check_key(struct subca__root_ctx *c, X509 *x,
			     const char *name)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char what[SUBCA__NAME_MAX + 32];

	ERR_clear_error();
	if (pk == NULL) {
		subca__refuse(c, SUBCA_E_UNSUPPORTED_KEY, NULL,
			      "the public key of '%s' cannot be decoded", name);
		return;
	}
	snprintf(what, sizeof(what), "key of '%s'", name);
	if (subca_key_check_strength(pk, what) != SUBCA_OK)
		subca__refuse_current(c);
}

/* Issued by another certificate of the input (a self-issued rollover). */
static bool subca__issued_by_other(const struct subca__root_ctx *c, size_t i)
{
	return !subca__is_top(c, i);
}

static void subca__check_self_sig(struct subca__root_ctx *c, size_t i,
				  const char *name, uint32_t flags)
{
	if (!(flags & EXFLAG_SI) || c->by[i][i] ||
	    subca__issued_by_other(c, i))
		return;
	subca__refuse(c, SUBCA_E_BAD_SELF_SIGNATURE,
		      "export the root certificate again from its source",
		      "'%s' names itself as issuer but its signature does not "
		      "verify with its own public key: the certificate is "
		      "corrupted or altered",
		      name);
}

static void subca__check_cert(struct subca__root_ctx *c, size_t i)
{
	X509 *x = c->certs[i];
	uint32_t flags = X509_get_extension_flags(x);
	char name[SUBCA__NAME_MAX];

	subca__name(x, name, sizeof(name));
	if (flags & EXFLAG_INVALID)
		subca__refuse(c, SUBCA_E_GARBAGE, NULL,
			      "'%s' has malformed or duplicate extensions",
			      name);
	subca__check_ca(c, x, name, flags);
	subca__check_ku(c, x, name, flags);
	subca__check_validity(c, x, name);
	subca__check_sigalg(c, x, name);
	subca__check_key(c, x, name);
	subca__check_self_sig(c, i, name, flags);
}

/* ---- chain-level checks ---------------------------------------------- */

/* Why certs[i] did not join the chain, for the UNRELATED_CERTS reason. */
static void subca__stray_why(const struct subca__root_ctx *c, size_t i,
			     const char *top, char *buf, size_t len)
{
	X509 *x = c->certs[i], *anchor = c->certs[c->chain[0]];
	char issuer[SUBCA__NAME_MAX];

	if (c->by[i][i] && X509_NAME_cmp(X509_get_subject_name(x),
					 X509_get_subject_name(anchor)) == 0) {
		snprintf(buf, len,
			 "has the same subject as the anchor but another key: "
			 "a second, look-alike root");
		return;
	}
	if (c->by[i][i]) {
		snprintf(buf, len, "is a second self-signed root, unrelated to "
				   "the chain below '%s'",
			 top);
		return;
	}
	subca_name_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
	for (size_t k = 0; k < c->chain_len; k++)
		if (X509_NAME_cmp(X509_get_issuer_name(x),
				  X509_get_subject_name(
					  c->certs[c->chain[k]])) == 0) {
			snprintf(buf, len,
				 "names '%s' as its issuer, but the key of that "
				 "certificate in the input did not sign it (a "
				 "look-alike issuer with the same name?)",
				 issuer);
			return;
		}
	snprintf(buf, len, "is issued by '%s', which is not in the chain below "
			   "'%s' (or it is a second branch of it)",
		 issuer, top);
}

static void subca__check_strays(struct subca__root_ctx *c)
{
	char name[SUBCA__NAME_MAX], fp[65], top[SUBCA__NAME_MAX];
	char why[SUBCA_ERROR_REASON_MAX / 2];

	subca__name(c->certs[c->chain[0]], top, sizeof(top));
	for (size_t i = 0; i < c->n; i++) {
		if (c->used[i])
			continue;
		subca__name(c->certs[i], name, sizeof(name));
		if (subca_x509_fingerprint(c->certs[i], fp) != SUBCA_OK) {
			subca_error_clear();
			snprintf(fp, sizeof(fp), "?");
		}
		subca__stray_why(c, i, top, why, sizeof(why));
		subca__refuse(c, SUBCA_E_UNRELATED_CERTS,
			      "give the anchor and the CAs on the path down to "
			      "the issuing CA, nothing else",
			      "'%s' (SHA-256 %.16s...) is not part of the "
			      "chain: it %s",
			      name, fp, why);
	}
}

/* CA certificates after position `i` that count for path length. */
static long subca__cas_below(const struct subca__root_ctx *c, size_t i)
{
	long n = 1; /* the intermediate subca will ask to have signed */

	for (size_t j = i + 1; j < c->chain_len; j++)
		if (!(X509_get_extension_flags(c->certs[c->chain[j]]) &
		      EXFLAG_SI))
			n++;
	return n;
}

/*
 * RFC 5280 4.2.1.9: pathLenConstraint bounds the non-self-issued CA
 * certificates that may follow. subca's own intermediate goes below the
 * issuing CA, so every CA in the chain must leave room for it (OpenSSL
 * applies the anchor's constraint too).
 */
static void subca__check_pathlen(struct subca__root_ctx *c)
{
	char name[SUBCA__NAME_MAX];

	for (size_t i = 0; i < c->chain_len; i++) {
		X509 *x = c->certs[c->chain[i]];
		long plen = X509_get_pathlen(x), need = subca__cas_below(c, i);

		if (plen < 0 || plen >= need)
			continue;
		subca__name(x, name, sizeof(name));
		subca__refuse(c, SUBCA_E_PATHLEN_FORBIDDEN,
			      "re-issue it with a larger pathlen, or import "
			      "a CA higher up as the issuing CA",
			      "'%s' has pathLenConstraint %ld, but %ld CA "
			      "certificate(s) would follow it (%ld in the "
			      "bundle below it plus the intermediate subca "
			      "needs)",
			      name, plen, need, need - 1);
	}
}

static void subca__warn_anchor(struct subca__root_ctx *c)
{
	X509 *a = c->certs[c->chain[0]];
	char name[SUBCA__NAME_MAX];

	subca__name(a, name, sizeof(name));
	if (!c->by[c->chain[0]][c->chain[0]] &&
	    !(X509_get_extension_flags(a) & EXFLAG_SI))
		subca_report_warn(c->report, SUBCA_E_NO_ANCHOR,
				  "include the self-signed root if clients "
				  "trust that instead",
				  "'%s' is not self-signed: it is accepted as "
				  "the trust anchor, so clients must trust it "
				  "as an anchor",
				  name);
	if (X509_get0_subject_key_id(a) == NULL)
		subca_report_warn(c->report, SUBCA_E_NOT_STRICT_RFC5280, NULL,
				  "'%s' has no subjectKeyIdentifier: `openssl "
				  "verify -x509_strict` refuses a chain through "
				  "a root without subjectKeyIdentifier; most "
				  "TLS clients accept it",
				  name);
	ERR_clear_error();
}

static subca_result subca__check(struct subca__root_ctx *c)
{
	if (!subca__sort(c)) {
		subca__refuse(c, SUBCA_E_NO_ANCHOR,
			      "include the self-signed root certificate",
			      "no trust anchor: no certificate is self-signed "
			      "and every one is issued by another");
		return subca__result(c);
	}
	for (size_t i = 0; i < c->chain_len; i++)
		subca__check_cert(c, c->chain[i]);
	subca__check_strays(c);
	subca__check_pathlen(c);
	subca__warn_anchor(c);
	return subca__result(c);
}

static subca_result subca__chain_stack(const struct subca__root_ctx *c,
				       STACK_OF(X509) **out)
{
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *chain = sk_X509_new_null();

	SUBCA_ENSURE(chain != NULL, SUBCA_E_NOMEM, "out of memory");
	for (size_t i = 0; i < c->chain_len; i++) {
		X509 *x = c->certs[c->chain[i]];

		SUBCA_OSSL(X509_up_ref(x) == 1, SUBCA_E_INTERNAL,
			   "cannot reference certificate");
		if (sk_X509_push(chain, x) <= 0) {
			X509_free(x);
			SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
		}
	}
	*out = subca_steal(&chain);
	return SUBCA_OK;
}

subca_result subca_root_parse(struct subca_slice in, time_t now,
			      struct subca_report *report,
			      struct subca_root **out)
{
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *certs = NULL;
	SUBCA_AUTOFREE struct subca__root_ctx *c = NULL;
	SUBCA_AUTOFREE struct subca_report *own = NULL;
	struct subca_root *r;

	*out = NULL;
	c = subca_calloc(1, sizeof(*c));
	if (report == NULL)
		report = own = subca_calloc(1, sizeof(*own));
	SUBCA_ENSURE(c != NULL && report != NULL, SUBCA_E_NOMEM,
		     "out of memory");
	c->report = report;
	c->now = now;
	if (subca_certin_parse(in, &certs) != SUBCA_OK) {
		subca__refuse_current(c);
		return subca__result(c);
	}
	subca__collect(c, certs);
	SUBCA_TRY(subca__check(c));
	r = subca_calloc(1, sizeof(*r));
	SUBCA_ENSURE(r != NULL, SUBCA_E_NOMEM, "out of memory");
	if (subca__chain_stack(c, &r->chain) != SUBCA_OK) {
		subca_free(r);
		return subca_error_code();
	}
	*out = r;
	return SUBCA_OK;
}

subca_result subca_root_load(struct subca_slice in, struct subca_root **out)
{
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *certs = NULL;
	struct subca_root *r;

	*out = NULL;
	SUBCA_TRY(subca_certin_parse(in, &certs));
	SUBCA_ENSURE(sk_X509_num(certs) > 0, SUBCA_E_EMPTY,
		     "the stored root chain is empty");
	r = subca_calloc(1, sizeof(*r));
	SUBCA_ENSURE(r != NULL, SUBCA_E_NOMEM, "out of memory");
	r->chain = subca_steal(&certs);
	*out = r;
	return SUBCA_OK;
}

X509 *subca_root_anchor(const struct subca_root *r)
{
	return sk_X509_value(r->chain, 0);
}

X509 *subca_root_issuer(const struct subca_root *r)
{
	return sk_X509_value(r->chain, sk_X509_num(r->chain) - 1);
}

subca_result subca_root_to_pem(const struct subca_root *r,
			       struct subca_buf *out)
{
	subca_buf_init(out, SUBCA_MAX_CERT_INPUT);
	for (int i = 0; i < sk_X509_num(r->chain); i++) {
		SUBCA_BUF_AUTO struct subca_buf pem = {0};
		subca_result rv;

		subca_buf_init(&pem, 0);
		rv = subca_pem_x509(sk_X509_value(r->chain, i), &pem);
		if (rv == SUBCA_OK)
			rv = subca_buf_append(out, pem.p, pem.len);
		if (rv != SUBCA_OK) {
			subca_buf_cleanup(out);
			return rv;
		}
	}
	return SUBCA_OK;
}

void subca_root_free(struct subca_root *r)
{
	if (r == NULL)
		return;
	sk_X509_pop_free(r->chain, X509_free);
	subca_free(r);
}
