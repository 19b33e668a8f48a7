/*
 * Orders (RFC 8555 7.4): newOrder with dns and ip identifiers (RFC 8738)
 * and notBefore/notAfter, reading an order, and moving it to "ready" once
 * its authorizations are valid. The provisioner's policy is checked per
 * identifier when the order is made, so that each refused name gets its
 * own subproblem (RFC 8555 6.7.1), and so are the name constraints of the
 * intermediate that issues now and of the customer's chain (RFC 5280
 * 4.2.1.10, the check issuance makes): an order that could never be
 * finalized is not made. Both apply again to the certificate at finalize.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "acme_int.h"
#include "subca/alloc.h"
#include "subca/authority.h"
#include "subca/issue.h"
#include "subca/policy.h"

/* ---- showing an order ----------------------------------------------------- */

static const char *subca__order_status(const struct subca_acme_rec *r,
				       int64_t now)
{
	/* RFC 8555 7.1.6: a pending or ready order that expired is invalid */
	if ((strcmp(r->status, "pending") == 0 ||
	     strcmp(r->status, "ready") == 0) &&
	    r->expires != 0 && r->expires <= now)
		return "invalid";
	return r->status;
}

json_t *subca__acme_order_view(const struct subca_acme *a,
			       const struct subca_acme_rec *r,
			       const json_t *doc)
{
	char url[SUBCA_ACME_URL_MAX + 80], t[32];
	json_t *v = json_object(), *authz = json_array();
	const json_t *ids = json_object_get(doc, "authorizations"), *it;
	const char *keys[] = {"notBefore", "notAfter", "error"};
	const json_t *cert = json_object_get(doc, "certificate");
	size_t i;

	if (v == NULL || authz == NULL) {
		json_decref(v);
		json_decref(authz);
		return NULL;
	}
	json_object_set_new(v, "status", json_string(subca__order_status(
						r, (int64_t)a->req->ctx.now)));
	subca__acme_time(r->expires, t);
	json_object_set_new(v, "expires", json_string(t));
	json_object_set(v, "identifiers", json_object_get(doc, "identifiers"));
	json_array_foreach(ids, i, it) {
		subca__acme_url(a, "authz", json_string_value(it), url,
				sizeof(url));
		json_array_append_new(authz, json_string(url));
	}
	json_object_set_new(v, "authorizations", authz);
	subca__acme_url(a, "order", r->id, url, sizeof(url));
	strncat(url, "/finalize", sizeof(url) - strlen(url) - 1);
	json_object_set_new(v, "finalize", json_string(url));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(doc, keys[i]) != NULL)
			json_object_set(v, keys[i], json_object_get(doc, keys[i]));
	if (json_is_string(cert) && strcmp(r->status, "valid") == 0) {
		subca__acme_url(a, "cert", json_string_value(cert), url,
				sizeof(url));
		json_object_set_new(v, "certificate", json_string(url));
	}
	return v;
}

subca_result subca__acme_order_load(struct subca_acme *a, const char *id,
				    struct subca_acme_rec *r, json_t **doc)
{
	struct subca_store *st = a->req->ctx.store;
	subca_result rv;

	rv = st->ops->acme_get(st, SUBCA_ACME_ORDER, a->prov.id, id, r);
	if (rv == SUBCA_OK && (r->parent == NULL ||
			       strcmp(r->parent, a->account.id) != 0)) {
		subca_acme_rec_cleanup(r);
		rv = SUBCA_E_NOT_FOUND;
	}
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "this account has no such order");
	SUBCA_TRY(rv);
	return subca__acme_doc(r, doc);
}

subca_result subca__acme_order_refresh(struct subca_store *st, int64_t prov,
				       const char *order_id, int64_t now)
{
	struct subca_acme_rec o = {0};
	struct subca_acme_filter f = {.provisioner_id = prov,
				      .parent = order_id};
	struct subca_acme_list l = {0};
	size_t valid = 0, invalid = 0;
	subca_result rv;

	SUBCA_TRY(st->ops->acme_get(st, SUBCA_ACME_ORDER, prov, order_id, &o));
	rv = strcmp(o.status, "pending") == 0
		     ? st->ops->acme_list(st, SUBCA_ACME_AUTHZ, &f, &l)
		     : SUBCA_OK;
	for (size_t i = 0; i < l.n; i++) {
		valid += strcmp(l.v[i].status, "valid") == 0;
		invalid += strcmp(l.v[i].status, "valid") != 0 &&
			   strcmp(l.v[i].status, "pending") != 0;
	}
	if (rv == SUBCA_OK && l.n > 0 && (invalid > 0 || valid == l.n)) {
		subca_free(o.status);
		o.status = subca_strdup(invalid ? "invalid" : "ready");
		o.updated = now;
		rv = o.status ? st->ops->acme_update(st, SUBCA_ACME_ORDER, &o)
			      : SUBCA_E_NOMEM;
	}
	subca_acme_list_cleanup(&l);
	subca_acme_rec_cleanup(&o);
	return rv;
}

/* ---- newOrder -------------------------------------------------------------- */

struct subca__order_in {
	json_t *identifiers; /* canonical {type, value}, owned */
	int64_t not_before, not_after; /* 0 = not asked */
	long days;
};

/* A DNS identifier, lower case (RFC 8555 7.1.4); "*." only for dns-01.
 * A name that is no host name is a malformed request, one this directory
 * cannot validate a rejected identifier (RFC 8555 6.7.1's example). */
static subca_result subca__ident_dns(const struct subca_acme *a, char *v)
{
	for (char *p = v; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (subca_name_check(GEN_DNS, v) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT, "%s", subca_error_reason());
	if (strncmp(v, "*.", 2) == 0)
		SUBCA_ENSURE(a->opts.challenges &
				     SUBCA_ACME_CHALL_BIT(SUBCA_ACME_DNS01),
			     SUBCA_E_BAD_NAME,
			     "wildcard %s needs dns-01, which this directory "
			     "does not offer", v);
	return SUBCA_OK;
}

/* An IP identifier in its canonical text (RFC 8738 3: RFC 1123 2.1 for
 * IPv4, RFC 5952 4 for IPv6), validated by http-01 or tls-alpn-01 only
 * (RFC 8738 7: never dns-01). */
static subca_result subca__ident_ip(const struct subca_acme *a, char *v,
				    size_t len)
{
	const unsigned ip_challs = SUBCA_ACME_CHALL_BIT(SUBCA_ACME_HTTP01) |
				   SUBCA_ACME_CHALL_BIT(SUBCA_ACME_TLSALPN01);
	unsigned char ip[16];
	int af = strchr(v, ':') ? AF_INET6 : AF_INET;
	char shown[64];

	SUBCA_ENSURE(inet_pton(af, v, ip) == 1, SUBCA_E_INVALID_ARGUMENT,
		     "\"%s\" is not an IP%s address (RFC 8738 3)",
		     SUBCA_SHOWN(v, shown), af == AF_INET6 ? "v6" : "v4");
	SUBCA_ENSURE(inet_ntop(af, ip, v, (socklen_t)len) != NULL,
		     SUBCA_E_INVALID_ARGUMENT, "cannot print an IP address");
	SUBCA_ENSURE(a->opts.challenges & ip_challs, SUBCA_E_BAD_NAME,
		     "IP address %s needs http-01 or tls-alpn-01, which this "
		     "directory does not offer (RFC 8738 7)", v);
	return SUBCA_OK;
}

/* What issuance would make of one identifier: a request for a leaf with
 * that one name (key and lifetime are checked at finalize). */
static void subca__ident_request(const struct subca_acme *a, const char *type,
				 const char *v, char *san, size_t len,
				 const char **sans, struct subca_leaf_request *lr)
{
	snprintf(san, len, "%s:%s", strcmp(type, "ip") ? "DNS" : "IP", v);
	sans[0] = san;
	lr->pubkey = a->key;
	lr->sans.v = sans;
	lr->sans.n = 1;
	lr->days = 1;
	lr->now = a->req->ctx.now;
}

/* The provisioner's name rules for one identifier. */
static subca_result subca__ident_policy(const struct subca_acme *a,
					const struct subca_leaf_request *lr)
{
	struct subca_policy p = a->policy.policy;

	p.key_types = 0;
	p.min_rsa_bits = 0;
	return subca_policy_check(&p, lr, NULL);
}

/* The name constraints of the issuing intermediate and the customer's
 * chain (RFC 5280 4.2.1.10), checked as issuance checks them, so that an
 * order that could never be finalized is not made. */
static subca_result subca__ident_constraints(STACK_OF(X509) *cas,
					     const struct subca_leaf_request *lr)
{
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *sans = NULL;
	SUBCA_AUTO(X509_NAME) X509_NAME *subject = NULL;

	if (cas == NULL)
		return SUBCA_OK; /* nothing issues now: finalize says so */
	SUBCA_TRY(subca_leaf_names(lr, &sans, &subject));
	return subca_names_check_constraints(NULL, sans, cas);
}

/* Policy, then name constraints: both refuse with a subproblem naming
 * the identifier (rejectedIdentifier, RFC 8555 6.7.1). */
static subca_result subca__ident_allowed(const struct subca_acme *a,
					 STACK_OF(X509) *cas, const char *type,
					 const char *v)
{
	struct subca_leaf_request lr = {0};
	char san[SUBCA_MAX_URL + 8];
	const char *sans[1];

	subca__ident_request(a, type, v, san, sizeof(san), sans, &lr);
	SUBCA_TRY(subca__ident_policy(a, &lr));
	return subca__ident_constraints(cas, &lr);
}

static subca_result subca__ident(const struct subca_acme *a,
				 STACK_OF(X509) *cas, const json_t *id,
				 json_t *out)
{
	const char *type = json_string_value(json_object_get(id, "type"));
	const char *val = json_string_value(json_object_get(id, "value"));
	char v[SUBCA_MAX_URL + 1], shown[40];

	SUBCA_ENSURE(json_is_object(id) && type != NULL && val != NULL &&
			     json_object_size(id) == 2,
		     SUBCA_E_INVALID_ARGUMENT,
		     "each identifier is {\"type\", \"value\"} (RFC 8555 "
		     "7.1.4)");
	SUBCA_ENSURE(strcmp(type, "dns") == 0 || strcmp(type, "ip") == 0,
		     SUBCA_E_ACME_UNSUPPORTED_IDENTIFIER,
		     "identifier type \"%s\" is not supported (dns, ip)",
		     SUBCA_SHOWN(type, shown));
	SUBCA_ENSURE(strlen(val) > 0 && strlen(val) < sizeof(v),
		     SUBCA_E_BAD_NAME, "an identifier value has 1 to %zu "
		     "bytes", sizeof(v) - 1);
	memcpy(v, val, strlen(val) + 1);
	SUBCA_TRY(strcmp(type, "dns") == 0 ? subca__ident_dns(a, v)
					   : subca__ident_ip(a, v, sizeof(v)));
	SUBCA_TRY(subca__ident_allowed(a, cas, type, v));
	for (size_t i = 0; i < json_array_size(out); i++) {
		const json_t *o = json_array_get(out, i);

		SUBCA_ENSURE(strcmp(json_string_value(json_object_get(o, "value")),
				    v) != 0 ||
				     strcmp(json_string_value(json_object_get(o, "type")),
					    type) != 0,
			     SUBCA_E_INVALID_ARGUMENT,
			     "identifier %s is listed twice", v);
	}
	SUBCA_ENSURE(json_array_append_new(out, json_pack("{s:s, s:s}", "type",
							  type, "value", v)) == 0,
		     SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

/* A subproblem for identifier `id` with the current error (6.7.1). */
static void subca__subproblem(struct subca_acme *a, subca_result rv,
			      const json_t *id)
{
	json_t *p = subca__acme_error_doc(rv, subca_error_reason());

	if (p == NULL)
		return;
	if (a->subproblems == NULL)
		a->subproblems = json_array();
	json_object_set_new(p, "identifier", json_deep_copy(id));
	json_array_append_new(a->subproblems, p);
}

static void subca__cas_freep(STACK_OF(X509) **s)
{
	sk_X509_pop_free(*s, X509_free);
}

static subca_result subca__identifiers(struct subca_acme *a,
				       struct subca__order_in *in)
{
	const json_t *ids = json_object_get(a->payload, "identifiers");
	STACK_OF(X509) *cas __attribute__((cleanup(subca__cas_freep))) = NULL;
	subca_result first = SUBCA_OK;
	char reason[SUBCA_ERROR_REASON_MAX] = "";
	const json_t *id;
	size_t i;

	SUBCA_ENSURE(json_is_array(ids) && json_array_size(ids) > 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "an order needs a non-empty \"identifiers\" array");
	SUBCA_ENSURE(json_array_size(ids) <= SUBCA_ACME_MAX_IDENTIFIERS,
		     SUBCA_E_TOO_LARGE, "an order has at most %d identifiers",
		     SUBCA_ACME_MAX_IDENTIFIERS);
	in->identifiers = json_array();
	SUBCA_ENSURE(in->identifiers != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(subca_authority_issuing_cas(&a->req->ctx, a->req->authority,
					      &cas));
	json_array_foreach(ids, i, id) {
		subca_result rv = subca__ident(a, cas, id, in->identifiers);

		if (rv == SUBCA_OK)
			continue;
		subca__subproblem(a, rv, id);
		if (first == SUBCA_OK) {
			first = rv;
			snprintf(reason, sizeof(reason), "%s",
				 subca_error_reason());
		}
	}
	if (first != SUBCA_OK)
		SUBCA_BAIL(first, "%s%s", reason,
			   json_array_size(a->subproblems) > 1
				   ? " (and more: see subproblems)"
				   : "");
	return SUBCA_OK;
}

static subca_result subca__order_time(const json_t *p, const char *k,
				      int64_t *out)
{
	const json_t *v = json_object_get(p, k);

	*out = 0;
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_string(v), SUBCA_E_INVALID_ARGUMENT,
		     "\"%s\" must be an RFC 3339 time", k);
	return subca__acme_time_parse(json_string_value(v), out);
}

/* notBefore/notAfter (RFC 8555 7.4) into a lifetime in days. Leaves
 * start when issued, so a notBefore later than now is refused. */
static subca_result subca__validity(struct subca_acme *a,
				    struct subca__order_in *in)
{
	int64_t now = (int64_t)a->req->ctx.now;
	long asked = 0;

	SUBCA_TRY(subca__order_time(a->payload, "notBefore", &in->not_before));
	SUBCA_TRY(subca__order_time(a->payload, "notAfter", &in->not_after));
	SUBCA_ENSURE(in->not_before <= now + 300, SUBCA_E_INVALID_ARGUMENT,
		     "notBefore in the future is not supported: certificates "
		     "are valid from their issuance");
	if (in->not_after != 0) {
		SUBCA_ENSURE(in->not_after > now &&
				     in->not_after > in->not_before,
			     SUBCA_E_INVALID_ARGUMENT,
			     "notAfter must be after now and after notBefore");
		asked = (long)((in->not_after - now + 86399) / 86400);
	}
	return subca_policy_lifetime(&a->policy.policy, asked, &in->days);
}

static subca_result subca__order_doc(const struct subca__order_in *in,
				     json_t *authz_ids, json_t **out)
{
	char t[32];
	json_t *doc = json_pack("{s:O, s:O, s:I}", "identifiers",
				in->identifiers, "authorizations", authz_ids,
				"days", (json_int_t)in->days);

	SUBCA_ENSURE(doc != NULL, SUBCA_E_NOMEM, "out of memory");
	if (in->not_before) {
		subca__acme_time(in->not_before, t);
		json_object_set_new(doc, "notBefore", json_string(t));
	}
	if (in->not_after) {
		subca__acme_time(in->not_after, t);
		json_object_set_new(doc, "notAfter", json_string(t));
	}
	*out = doc;
	return SUBCA_OK;
}

/* The order, its authorizations and their challenges: all or nothing. */
static subca_result subca__order_write(struct subca_acme *a,
				       const struct subca__order_in *in,
				       struct subca_acme_rec *o, json_t **doc)
{
	SUBCA_AUTO(json_t) json_t *ids = json_array();
	int64_t now = (int64_t)a->req->ctx.now;
	const json_t *ident;
	size_t i;

	SUBCA_ENSURE(ids != NULL, SUBCA_E_NOMEM, "out of memory");
	json_array_foreach(in->identifiers, i, ident) {
		char id[SUBCA_ACME_ID_MAX];

		SUBCA_TRY(subca__acme_authz_create(a, o->id, ident,
						   o->expires, id));
		json_array_append_new(ids, json_string(id));
	}
	SUBCA_TRY(subca__order_doc(in, ids, doc));
	SUBCA_TRY(subca__acme_doc_set(o, *doc));
	o->created = o->updated = now;
	return a->req->ctx.store->ops->acme_add(a->req->ctx.store,
						SUBCA_ACME_ORDER, o);
}

static subca_result subca__order_create(struct subca_acme *a,
					const struct subca__order_in *in)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_acme_rec o = {0};
	SUBCA_AUTO(json_t) json_t *doc = NULL;
	char id[SUBCA_ACME_ID_MAX], loc[SUBCA_ACME_URL_MAX + 80];
	subca_result rv;

	SUBCA_TRY(subca__acme_new_id(id));
	o.id = id;
	o.provisioner_id = a->prov.id;
	o.parent = a->account.id;
	o.status = "pending";
	o.expires = (int64_t)a->req->ctx.now + SUBCA_ACME_ORDER_TTL;
	rv = st->ops->begin(st);
	if (rv == SUBCA_OK) {
		rv = subca__order_write(a, in, &o, &doc);
		if (rv == SUBCA_OK)
			rv = st->ops->commit(st);
		if (rv != SUBCA_OK)
			st->ops->rollback(st);
	}
	if (rv == SUBCA_OK) {
		subca__acme_url(a, "order", id, loc, sizeof(loc));
		rv = subca__acme_reply(a, 201, subca__acme_order_view(a, &o, doc),
				       loc);
	}
	subca_free(o.doc);
	return rv;
}

subca_result subca__acme_order_check(struct subca_acme *a,
				     json_t **identifiers, long *days)
{
	struct subca__order_in in = {0};
	subca_result rv;

	*identifiers = NULL;
	rv = subca__identifiers(a, &in);
	if (rv == SUBCA_OK)
		rv = subca__validity(a, &in);
	*days = in.days;
	if (rv == SUBCA_OK)
		*identifiers = in.identifiers;
	else
		json_decref(in.identifiers);
	return rv;
}

static subca_result subca__new_order(struct subca_acme *a)
{
	struct subca__order_in in = {0};
	subca_result rv;

	rv = subca__identifiers(a, &in);
	if (rv == SUBCA_OK)
		rv = subca__validity(a, &in);
	if (rv == SUBCA_OK)
		rv = subca__order_create(a, &in);
	json_decref(in.identifiers);
	return rv;
}

subca_result subca__acme_new_order(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_OBJECT,
			       subca__new_order);
}

/* POST-as-GET /acme/{p}/order/{id} (RFC 8555 7.1.3). */
static subca_result subca__order(struct subca_acme *a)
{
	struct subca_acme_rec o = {0};
	SUBCA_AUTO(json_t) json_t *doc = NULL;
	char id[SUBCA_ACME_ID_MAX];
	subca_result rv;

	SUBCA_TRY(subca_request_param(a->req, 1, id, sizeof(id)));
	rv = subca__acme_order_load(a, id, &o, &doc);
	if (rv == SUBCA_OK && strcmp(o.status, "processing") == 0)
		subca__acme_header(a->req, "Retry-After",
				   SUBCA_ACME_RETRY_AFTER);
	if (rv == SUBCA_OK)
		rv = subca__acme_reply(a, 200, subca__acme_order_view(a, &o, doc),
				       NULL);
	subca_acme_rec_cleanup(&o);
	return rv;
}

subca_result subca__acme_order(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_EMPTY,
			       subca__order);
}
