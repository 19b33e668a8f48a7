/*
 * Finalize and certificate download (RFC 8555 7.4, 7.4.2).
 *
 * Finalize is synchronous: the order goes ready -> processing (a
 * compare-and-set, so two finalize requests cannot both issue), the CSR is
 * checked (its names exactly the order's identifiers, the provisioner's
 * policy), the leaf is issued through subca_authority_issue (the
 * intermediate's name constraints; recorded durably before the answer),
 * and the answer already says "valid" with the certificate URL.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "acme_int.h"
#include "subca/alloc.h"
#include "subca/altchain.h"
#include "subca/certin.h"
#include "subca/issue.h"
#include "subca/policy.h"

#define SUBCA__PEM_CHAIN_CT "application/pem-certificate-chain"

/* ---- the CSR's names ------------------------------------------------------- */

/* "dns:name" / "ip:addr" of one name, lower case, for comparing sets. */
static subca_result subca__gn_key(const GENERAL_NAME *gn, char *out,
				  size_t len)
{
	int type;
	const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
	char ip[INET6_ADDRSTRLEN];
	int n = ASN1_STRING_length(s);

	if (type == GEN_DNS) {
		SUBCA_ENSURE(n > 0 && (size_t)n + 5 < len, SUBCA_E_BAD_CSR,
			     "a DNS name in the CSR is empty or too long");
		snprintf(out, len, "dns:%.*s", n,
			 (const char *)ASN1_STRING_get0_data(s));
		for (char *p = out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		return SUBCA_OK;
	}
	SUBCA_ENSURE(type == GEN_IPADD && (n == 4 || n == 16), SUBCA_E_BAD_CSR,
		     "the CSR names something other than DNS names and IP "
		     "addresses (RFC 8555 7.4: only the order's identifiers)");
	inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), ip,
		  sizeof(ip));
	snprintf(out, len, "ip:%s", ip);
	return SUBCA_OK;
}

static bool subca__ident_has(const json_t *ids, const char *key)
{
	const json_t *id;
	size_t i;
	char k[SUBCA_MAX_URL + 8];

	json_array_foreach(ids, i, id) {
		snprintf(k, sizeof(k), "%s:%s",
			 json_string_value(json_object_get(id, "type")),
			 json_string_value(json_object_get(id, "value")));
		if (strcmp(k, key) == 0)
			return true;
	}
	return false;
}

/*
 * RFC 8555 7.4: the CSR's names must be the order's identifiers, no more
 * and no fewer (what subca_leaf_names makes of the CSR: SANs plus a
 * DNS-looking CN).
 */
static subca_result subca__csr_names(X509_REQ *csr, const json_t *ids)
{
	struct subca_leaf_request lr = {.csr = csr};
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *sans = NULL;
	SUBCA_AUTO(X509_NAME) X509_NAME *subject = NULL;
	char key[SUBCA_MAX_URL + 8], shown[120];
	size_t n = 0;

	SUBCA_TRY(subca_leaf_names(&lr, &sans, &subject));
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		SUBCA_TRY(subca__gn_key(sk_GENERAL_NAME_value(sans, i), key,
					sizeof(key)));
		SUBCA_ENSURE(subca__ident_has(ids, key), SUBCA_E_BAD_CSR,
			     "the CSR names %s, which is not an identifier of "
			     "the order (RFC 8555 7.4)",
			     SUBCA_SHOWN(key, shown));
		n++;
	}
	/* a subject CN names something too: it must be an identifier */
	for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName,
							 i)) >= 0;) {
		const ASN1_STRING *cn =
			X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
		unsigned char ip[16];
		char v[SUBCA_MAX_URL + 1];
		int len = ASN1_STRING_length(cn);

		SUBCA_ENSURE(len > 0 && (size_t)len < sizeof(v), SUBCA_E_BAD_CSR,
			     "the CSR's commonName is empty or too long");
		memcpy(v, ASN1_STRING_get0_data(cn), (size_t)len);
		v[len] = '\0';
		snprintf(key, sizeof(key), "%s:%s",
			 inet_pton(AF_INET, v, ip) == 1 ||
					 inet_pton(AF_INET6, v, ip) == 1
				 ? "ip"
				 : "dns",
			 v);
		for (char *p = key; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		SUBCA_ENSURE(subca__ident_has(ids, key), SUBCA_E_BAD_CSR,
			     "the CSR's commonName %s is not an identifier of "
			     "the order (RFC 8555 7.4)",
			     SUBCA_SHOWN(v, shown));
	}
	SUBCA_ENSURE(n == json_array_size(ids), SUBCA_E_BAD_CSR,
		     "the CSR names %zu of the order's %zu identifiers; it "
		     "must name each (RFC 8555 7.4)",
		     n, json_array_size(ids));
	return SUBCA_OK;
}

/* The CSR of the payload: base64url DER (RFC 8555 7.4). */
static subca_result subca__csr(const struct subca_acme *a, X509_REQ **out)
{
	const json_t *c = json_object_get(a->payload, "csr");
	SUBCA_BUF_AUTO struct subca_buf der = {0};
	subca_result rv;

	SUBCA_ENSURE(json_is_string(c), SUBCA_E_BAD_CSR,
		     "finalize needs \"csr\": the base64url DER of a CSR");
	rv = subca_b64url_decode(subca_slice_of(json_string_value(c),
						json_string_length(c)),
				 SUBCA_MAX_CSR_INPUT, "the CSR", &der);
	if (rv != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_BAD_CSR, "%s", subca_error_reason());
	rv = subca_certin_parse_csr(subca_buf_slice(&der), out);
	if (rv != SUBCA_OK && rv != SUBCA_E_CSR_SIGNATURE)
		SUBCA_BAIL(SUBCA_E_BAD_CSR, "%s", subca_error_reason());
	return rv;
}

subca_result subca__acme_csr_check(const struct subca_acme *a,
				   const json_t *identifiers, X509_REQ **out)
{
	subca_result rv;

	*out = NULL;
	rv = subca__csr(a, out);
	if (rv == SUBCA_OK)
		rv = subca__csr_names(*out, identifiers);
	if (rv != SUBCA_OK) {
		X509_REQ_free(*out);
		*out = NULL;
	}
	return rv;
}

/* ---- issuing ------------------------------------------------------------------ */

static subca_result subca__issue(struct subca_acme *a, X509_REQ *csr,
				 long days, struct subca_buf *chain,
				 char serial[128])
{
	struct subca_leaf_request lr = {0};
	struct subca_ctx ctx = a->req->ctx;
	SUBCA_AUTO(X509) X509 *leaf = NULL;
	char actor[160];

	lr.csr = csr;
	lr.days = days;
	lr.now = a->req->ctx.now;
	/* an ACME certificate is a TLS server certificate unless the policy
	 * says otherwise */
	lr.eku = a->policy.policy.ekus ? a->policy.policy.ekus
				       : SUBCA_EKU_SERVER;
	SUBCA_TRY(subca_policy_check(&a->policy.policy, &lr, NULL));
	snprintf(actor, sizeof(actor), "acme:%s:%s", a->prov.name,
		 a->account.id);
	ctx.actor = actor;
	ctx.provisioner = a->prov.name;
	SUBCA_TRY(subca_authority_issue(&ctx, a->req->authority, &lr, chain,
					&leaf));
	return subca_serial_hex(X509_get0_serialNumber(leaf), serial, 128);
}

/* ready -> processing, or why not (RFC 8555 7.4: orderNotReady). */
static subca_result subca__claim(struct subca_acme *a, struct subca_acme_rec *o)
{
	struct subca_store *st = a->req->ctx.store;
	subca_result rv;

	SUBCA_ENSURE(strcmp(o->status, "ready") == 0 &&
			     o->expires > (int64_t)a->req->ctx.now,
		     SUBCA_E_ACME_ORDER_NOT_READY,
		     "the order is %s, not ready: %s",
		     o->expires > (int64_t)a->req->ctx.now ? o->status
							  : "expired",
		     strcmp(o->status, "pending") == 0
			     ? "complete its authorizations first"
			     : "it cannot be finalized now");
	subca_free(o->status);
	o->status = subca_strdup("processing");
	SUBCA_ENSURE(o->status != NULL, SUBCA_E_NOMEM, "out of memory");
	o->updated = (int64_t)a->req->ctx.now;
	rv = st->ops->acme_update(st, SUBCA_ACME_ORDER, o);
	/* another finalize of this order won the compare-and-set */
	if (rv == SUBCA_E_STATE)
		SUBCA_BAIL(SUBCA_E_ACME_ORDER_NOT_READY,
			   "the order is being finalized by another request");
	return rv;
}

/* The outcome of the issuance into the order. A refusal of the CSR puts
 * the order back to ready, so the client can send a better CSR (RFC 8555
 * 7.4); an issuance that failed otherwise makes it invalid. */
static subca_result subca__settle(struct subca_acme *a, struct subca_acme_rec *o,
				  json_t *doc, subca_result issued,
				  const struct subca_buf *chain,
				  const char *serial)
{
	struct subca_store *st = a->req->ctx.store;
	enum subca_category cat = subca_error_category(issued);
	const char *status = issued == SUBCA_OK ? "valid"
			     : cat == SUBCA_CAT_INPUT || cat == SUBCA_CAT_POLICY
				     ? "ready"
				     : "invalid";

	if (issued == SUBCA_OK) {
		json_object_set_new(doc, "certificate", json_string(serial));
		json_object_set_new(doc, "chain",
				    json_stringn((const char *)chain->p,
						 chain->len));
		subca_free(o->lookup);
		o->lookup = subca_strdup(serial);
	} else if (strcmp(status, "invalid") == 0) {
		json_object_set_new(doc, "error",
				    subca__acme_error_doc(issued,
							  subca_error_reason()));
	}
	subca_free(o->status);
	o->status = subca_strdup(status);
	SUBCA_ENSURE(o->status != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(subca__acme_doc_set(o, doc));
	o->updated = (int64_t)a->req->ctx.now;
	return st->ops->acme_update(st, SUBCA_ACME_ORDER, o);
}

static subca_result subca__finalize_order(struct subca_acme *a,
					  struct subca_acme_rec *o, json_t *doc)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;
	SUBCA_BUF_AUTO struct subca_buf chain = {0};
	char serial[128] = "", reason[SUBCA_ERROR_REASON_MAX];
	subca_result rv;
	json_int_t days = json_integer_value(json_object_get(doc, "days"));

	SUBCA_TRY(subca__acme_csr_check(a, json_object_get(doc, "identifiers"),
					&csr));
	SUBCA_TRY(subca__claim(a, o));
	rv = subca__issue(a, csr, (long)days, &chain, serial);
	snprintf(reason, sizeof(reason), "%s", subca_error_reason());
	/* the certificate (if any) is recorded: now the order follows */
	if (subca__settle(a, o, doc, rv, &chain, serial) != SUBCA_OK)
		subca_log_event("acme", "order %s: cannot record the outcome "
				"of finalize: %s", o->id, subca_error_reason());
	if (rv != SUBCA_OK) {
		if (rv == SUBCA_E_POLICY || rv == SUBCA_E_NAME_CONSTRAINTS)
			rv = SUBCA_E_BAD_CSR; /* RFC 8555 7.4: badCSR */
		SUBCA_BAIL(rv, "%s", reason);
	}
	return SUBCA_OK;
}

static subca_result subca__finalize(struct subca_acme *a)
{
	struct subca_acme_rec o = {0};
	SUBCA_AUTO(json_t) json_t *doc = NULL;
	char id[SUBCA_ACME_ID_MAX], loc[SUBCA_ACME_URL_MAX + 80];
	subca_result rv;

	SUBCA_TRY(subca_request_param(a->req, 1, id, sizeof(id)));
	rv = subca__acme_order_load(a, id, &o, &doc);
	if (rv == SUBCA_OK)
		rv = subca__finalize_order(a, &o, doc);
	if (rv == SUBCA_OK) {
		subca__acme_url(a, "order", o.id, loc, sizeof(loc));
		rv = subca__acme_reply(a, 200, subca__acme_order_view(a, &o, doc),
				       loc);
	}
	subca_acme_rec_cleanup(&o);
	return rv;
}

/* POST /acme/{p}/order/{id}/finalize {"csr": base64url DER}. */
subca_result subca__acme_finalize(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_OBJECT,
			       subca__finalize);
}

/* ---- download ------------------------------------------------------------------- */

/* The serial of path parameter 1, when it is a certificate the account
 * ordered; *doc gets its order (with the chain recorded at finalize). */
static subca_result subca__cert_owned(struct subca_acme *a, char *serial,
				      size_t len, json_t **doc)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_acme_rec o = {0};
	subca_result rv;

	SUBCA_TRY(subca_request_param(a->req, 1, serial, len));
	rv = st->ops->acme_find(st, SUBCA_ACME_ORDER, a->prov.id, serial, &o);
	if (rv == SUBCA_OK && strcmp(o.parent, a->account.id) != 0)
		rv = SUBCA_E_NOT_FOUND;
	if (rv == SUBCA_OK)
		rv = subca__acme_doc(&o, doc);
	subca_acme_rec_cleanup(&o);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND,
			   "this account has no certificate %s", serial);
	return rv;
}

/* Path parameter 2 of /cert/{id}/{n}: an alternate's number, 1.. */
static subca_result subca__cert_alt_param(struct subca_acme *a, int64_t *alt)
{
	char n[24], *end = NULL;
	long long v;

	SUBCA_TRY(subca_request_param(a->req, 2, n, sizeof(n)));
	v = strtoll(n, &end, 10);
	SUBCA_ENSURE(n[0] >= '1' && n[0] <= '9' && end != NULL &&
			     *end == '\0' && v > 0,
		     SUBCA_E_NOT_FOUND, "no alternate chain \"%.20s\"", n);
	*alt = (int64_t)v;
	return SUBCA_OK;
}

/* RFC 8555 7.4.2: a Link rel="alternate" to each chain but the one
 * served, the default (alt 0) included when an alternate is served. */
static void subca__cert_links(struct subca_acme *a, const char *serial,
			      int64_t served,
			      const struct subca_chain_alts *alts)
{
	char url[SUBCA_ACME_URL_MAX + 96], link[SUBCA_ACME_URL_MAX + 128];

	for (size_t i = 0; i <= alts->n; i++) {
		int64_t id = i == 0 ? 0 : alts->id[i - 1];

		if (id == served)
			continue;
		subca__acme_url(a, "cert", serial, url, sizeof(url));
		if (id != 0)
			snprintf(url + strlen(url), sizeof(url) - strlen(url),
				 "/%lld", (long long)id);
		snprintf(link, sizeof(link), "<%s>;rel=\"alternate\"", url);
		subca__acme_header(a->req, "Link", link);
	}
}

/*
 * The chain of the certificate: alt 0 through the newest certificate of
 * its intermediate's key that is valid (subca_leaf_chain), else the
 * alternate `alt`. A leaf the store cannot chain (none of its key's
 * certificates left) still gets the chain recorded at finalize.
 */
static subca_result subca__cert_answer(struct subca_acme *a, int64_t alt)
{
	SUBCA_AUTO(json_t) json_t *doc = NULL;
	SUBCA_BUF_AUTO struct subca_buf chain = {0};
	struct subca_chain_alts alts = {0};
	char serial[SUBCA_ACME_ID_MAX + 64];
	const json_t *stored;
	subca_result rv;

	SUBCA_TRY(subca__cert_owned(a, serial, sizeof(serial), &doc));
	rv = subca_leaf_chain(&a->req->ctx, a->req->authority, serial, alt,
			      &chain, &alts);
	if (rv == SUBCA_OK) {
		SUBCA_TRY(subca_response_bytes(a->req, 200, SUBCA__PEM_CHAIN_CT,
					       chain.p, chain.len));
		subca__acme_headers(a);
		subca__cert_links(a, serial, alt, &alts);
		return SUBCA_OK;
	}
	if (alt != 0 || rv == SUBCA_E_NOMEM)
		return rv; /* its reason is set */
	stored = json_object_get(doc, "chain");
	SUBCA_ENSURE(json_is_string(stored), SUBCA_E_STORE,
		     "the order of certificate %s has no chain", serial);
	subca_error_clear();
	SUBCA_TRY(subca_response_bytes(a->req, 200, SUBCA__PEM_CHAIN_CT,
				       json_string_value(stored),
				       json_string_length(stored)));
	subca__acme_headers(a);
	return SUBCA_OK;
}

static subca_result subca__cert(struct subca_acme *a)
{
	return subca__cert_answer(a, 0);
}

static subca_result subca__cert_alt(struct subca_acme *a)
{
	int64_t alt = 0;

	SUBCA_TRY(subca__cert_alt_param(a, &alt));
	return subca__cert_answer(a, alt);
}

/* POST-as-GET /acme/{p}/cert/{serial}: the PEM chain (RFC 8555 7.4.2). */
subca_result subca__acme_cert(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_EMPTY,
			       subca__cert);
}

/* POST-as-GET /acme/{p}/cert/{serial}/{n}: alternate chain n (RFC 8555
 * 7.4.2), through another certificate of the issuing intermediate's key. */
subca_result subca__acme_cert_alt(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_EMPTY,
			       subca__cert_alt);
}
