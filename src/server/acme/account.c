/*
 * Accounts (RFC 8555 7.3): newAccount (onlyReturnExisting, contact,
 * termsOfServiceAgreed, externalAccountBinding), reading, updating and
 * deactivating an account, and its orders list (7.1.2.1).
 *
 * An account is keyed by its JWK's RFC 7638 thumbprint, unique per
 * provisioner in the store, so two newAccount requests racing with one key
 * make one account.
 */
#include <string.h>

#include "acme_int.h"
#include "subca/alloc.h"

json_t *subca__acme_account_view(const struct subca_acme *a,
				 const struct subca_acme_rec *r,
				 const json_t *doc)
{
	char orders[SUBCA_ACME_URL_MAX + 80];
	json_t *v = json_object();
	const json_t *c = json_object_get(doc, "contact");
	const json_t *tos = json_object_get(doc, "termsOfServiceAgreed");

	if (v == NULL)
		return NULL;
	subca__acme_url(a, "account", r->id, orders, sizeof(orders));
	strncat(orders, "/orders", sizeof(orders) - strlen(orders) - 1);
	json_object_set_new(v, "status", json_string(r->status));
	json_object_set_new(v, "contact", c ? json_deep_copy(c) : json_array());
	if (tos != NULL)
		json_object_set_new(v, "termsOfServiceAgreed", json_copy((json_t *)tos));
	json_object_set_new(v, "orders", json_string(orders));
	return v;
}

/* RFC 8555 7.3: contact URLs; subca takes mailto: only. */
subca_result subca__acme_contacts(const json_t *c)
{
	const json_t *v;
	size_t i;
	char shown[64];

	if (c == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_array(c), SUBCA_E_INVALID_ARGUMENT,
		     "\"contact\" must be an array of URLs");
	SUBCA_ENSURE(json_array_size(c) <= SUBCA_ACME_MAX_CONTACTS,
		     SUBCA_E_TOO_LARGE, "at most %d contacts",
		     SUBCA_ACME_MAX_CONTACTS);
	json_array_foreach(c, i, v) {
		const char *s = json_string_value(v);

		SUBCA_ENSURE(s != NULL && json_string_length(v) <=
						  SUBCA_ACME_MAX_CONTACT,
			     SUBCA_E_INVALID_ARGUMENT,
			     "each contact is a URL of at most %d bytes",
			     SUBCA_ACME_MAX_CONTACT);
		SUBCA_ENSURE(strncmp(s, "mailto:", 7) == 0,
			     SUBCA_E_ACME_UNSUPPORTED_CONTACT,
			     "contact \"%s\" is not a mailto: URL",
			     SUBCA_SHOWN(s, shown));
		/* RFC 8555 7.3: no hfields, one address */
		SUBCA_ENSURE(strpbrk(s, "?,") == NULL && strchr(s, '@') != NULL,
			     SUBCA_E_INVALID_ARGUMENT,
			     "contact \"%s\" must be mailto: one address, "
			     "without headers", SUBCA_SHOWN(s, shown));
	}
	return SUBCA_OK;
}

static subca_result subca__bool_member(const json_t *p, const char *k,
				       bool *out)
{
	const json_t *v = json_object_get(p, k);

	*out = false;
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_boolean(v), SUBCA_E_INVALID_ARGUMENT,
		     "\"%s\" must be true or false", k);
	*out = json_is_true(v);
	return SUBCA_OK;
}

static subca_result subca__account_answer(struct subca_acme *a, int status,
					  const struct subca_acme_rec *r,
					  const json_t *doc)
{
	char loc[SUBCA_ACME_URL_MAX + 80];

	subca__acme_url(a, "account", r->id, loc, sizeof(loc));
	return subca__acme_reply(a, status, subca__acme_account_view(a, r, doc),
				 loc);
}

/* An account with this key already: answer it (RFC 8555 7.3.1). */
static subca_result subca__existing(struct subca_acme *a, const char *thumb,
				    bool *found)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_acme_rec r = {0};
	SUBCA_AUTO(json_t) json_t *doc = NULL;
	subca_result rv;

	*found = false;
	rv = st->ops->acme_find(st, SUBCA_ACME_ACCOUNT, a->prov.id, thumb, &r);
	if (rv == SUBCA_E_NOT_FOUND) {
		subca_error_clear();
		return SUBCA_OK;
	}
	if (rv == SUBCA_OK)
		rv = subca__acme_doc(&r, &doc);
	if (rv == SUBCA_OK) {
		*found = true;
		rv = subca__account_answer(a, 200, &r, doc);
	}
	subca_acme_rec_cleanup(&r);
	return rv;
}

static subca_result subca__account_doc(struct subca_acme *a, json_t **out)
{
	const json_t *p = a->payload;
	json_t *doc, *jwk = NULL;
	bool tos;

	SUBCA_TRY(subca__acme_contacts(json_object_get(p, "contact")));
	SUBCA_TRY(subca__bool_member(p, "termsOfServiceAgreed", &tos));
	SUBCA_TRY(subca_jwk_to_json(a->key, &jwk));
	doc = json_pack("{s:o, s:b, s:o}", "contact",
			json_object_get(p, "contact")
				? json_deep_copy(json_object_get(p, "contact"))
				: json_array(),
			"termsOfServiceAgreed", tos, "jwk", jwk);
	SUBCA_ENSURE(doc != NULL, SUBCA_E_NOMEM, "out of memory");
	*out = doc;
	return SUBCA_OK;
}

/* Store the account, and bind the EAB key to it, in one transaction. */
static subca_result subca__account_store(struct subca_acme *a,
					 struct subca_acme_rec *r,
					 const char *eab_kid)
{
	struct subca_store *st = a->req->ctx.store;
	subca_result rv;

	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->acme_add(st, SUBCA_ACME_ACCOUNT, r);
	if (rv == SUBCA_OK && eab_kid != NULL)
		rv = st->ops->acme_eab_bind(st, a->prov.id, eab_kid, r->id);
	if (rv == SUBCA_OK)
		rv = subca_audit(&a->req->ctx, a->req->authority,
				 "acme.account.create",
				 "ACME account %s created on provisioner "
				 "\"%s\"%s%s",
				 r->id, a->prov.name,
				 eab_kid ? " bound to EAB key " : "",
				 eab_kid ? eab_kid : "");
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	return rv;
}

static subca_result subca__new_account(struct subca_acme *a)
{
	char thumb[SUBCA_JWK_THUMBPRINT_LEN + 1], id[SUBCA_ACME_ID_MAX];
	struct subca_acme_rec r = {0};
	SUBCA_AUTO(json_t) json_t *doc = NULL;
	const json_t *eab = json_object_get(a->payload, "externalAccountBinding");
	char *eab_kid = NULL;
	bool only, found;
	subca_result rv;

	SUBCA_TRY(subca__bool_member(a->payload, "onlyReturnExisting", &only));
	SUBCA_TRY(subca_jwk_thumbprint(a->key, thumb));
	SUBCA_TRY(subca__existing(a, thumb, &found));
	if (found)
		return SUBCA_OK;
	SUBCA_ENSURE(!only, SUBCA_E_ACME_NO_ACCOUNT,
		     "no account exists with this key (onlyReturnExisting)");
	SUBCA_ENSURE(eab != NULL || !a->opts.require_eab,
		     SUBCA_E_ACME_EAB_REQUIRED,
		     "this directory needs an externalAccountBinding: ask "
		     "the CA's administrator for an EAB key (RFC 8555 7.3.4)");
	SUBCA_TRY(subca__account_doc(a, &doc));
	if (eab != NULL)
		SUBCA_TRY(subca__acme_eab_check(a, eab, &eab_kid));
	if (eab_kid != NULL)
		json_object_set_new(doc, "eab_kid", json_string(eab_kid));
	rv = subca__acme_new_id(id);
	r.id = id;
	r.provisioner_id = a->prov.id;
	r.status = "valid";
	r.lookup = thumb;
	r.created = r.updated = (int64_t)a->req->ctx.now;
	if (rv == SUBCA_OK)
		rv = subca__acme_doc_set(&r, doc);
	if (rv == SUBCA_OK)
		rv = subca__account_store(a, &r, eab_kid);
	if (rv == SUBCA_OK)
		rv = subca__account_answer(a, 201, &r, doc);
	subca_free(r.doc);
	subca_free(eab_kid);
	if (rv == SUBCA_E_EXISTS) /* the same key, created meanwhile */
		return subca__existing(a, thumb, &found);
	return rv;
}

subca_result subca__acme_new_account(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_JWK, SUBCA_ACME_OBJECT,
			       subca__new_account);
}

/* ---- the account itself ------------------------------------------------------ */

/* The account in the URL must be the one that signed (RFC 8555 7.3.2). */
static subca_result subca__own_account(struct subca_acme *a)
{
	char id[SUBCA_ACME_ID_MAX];

	SUBCA_TRY(subca_request_param(a->req, 1, id, sizeof(id)));
	SUBCA_ENSURE(strcmp(id, a->account.id) == 0, SUBCA_E_AUTH,
		     "an account can read and change only itself");
	return SUBCA_OK;
}

static subca_result subca__account_update(struct subca_acme *a)
{
	struct subca_store *st = a->req->ctx.store;
	const json_t *p = a->payload;
	const json_t *status = json_object_get(p, "status");
	const json_t *contact = json_object_get(p, "contact");

	if (status != NULL) {
		/* RFC 8555 7.3.6: the client may only deactivate */
		SUBCA_ENSURE(json_is_string(status) &&
				     strcmp(json_string_value(status),
					    "deactivated") == 0,
			     SUBCA_E_INVALID_ARGUMENT,
			     "an account's status can only be set to "
			     "\"deactivated\" (RFC 8555 7.3.6)");
		subca_free(a->account.status);
		a->account.status = subca_strdup("deactivated");
		SUBCA_ENSURE(a->account.status != NULL, SUBCA_E_NOMEM,
			     "out of memory");
	}
	if (contact != NULL) {
		SUBCA_TRY(subca__acme_contacts(contact));
		json_object_set_new(a->account_doc, "contact",
				    json_deep_copy(contact));
	}
	SUBCA_TRY(subca__acme_doc_set(&a->account, a->account_doc));
	a->account.updated = (int64_t)a->req->ctx.now;
	SUBCA_TRY(st->ops->acme_update(st, SUBCA_ACME_ACCOUNT, &a->account));
	if (status != NULL)
		SUBCA_TRY(subca_audit(&a->req->ctx, a->req->authority,
				      "acme.account.deactivate",
				      "ACME account %s deactivated",
				      a->account.id));
	return SUBCA_OK;
}

static subca_result subca__account(struct subca_acme *a)
{
	SUBCA_TRY(subca__own_account(a));
	if (a->payload != NULL)
		SUBCA_TRY(subca__account_update(a));
	return subca__account_answer(a, 200, &a->account, a->account_doc);
}

/* POST /acme/{p}/account/{id}: read (POST-as-GET), update, deactivate. */
subca_result subca__acme_account(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_EITHER,
			       subca__account);
}

/* The page of ?cursor=ID (the previous page's last order id), or the first
 * page (empty out). */
static subca_result subca__orders_cursor(const struct subca_request *req,
					 char out[SUBCA_ACME_ID_MAX])
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *q = req->query;
	size_t n;

	out[0] = '\0';
	if (q == NULL || q[0] == '\0')
		return SUBCA_OK;
	SUBCA_ENSURE(strncmp(q, "cursor=", 7) == 0, SUBCA_E_INVALID_ARGUMENT,
		     "the orders list takes no query but ?cursor= from its "
		     "Link rel=\"next\"");
	q += 7;
	n = strlen(q);
	SUBCA_ENSURE(n > 0 && n < SUBCA_ACME_ID_MAX && strspn(q, b64url) == n,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the orders cursor is not an order id");
	memcpy(out, q, n + 1);
	return SUBCA_OK;
}

/* Link: <orders?cursor=LAST>;rel="next" (RFC 8555 7.1.2.1) after a full
 * page. */
static void subca__orders_next(struct subca_acme *a, const char *last)
{
	char acct[SUBCA_ACME_URL_MAX + 80];
	char link[sizeof(acct) + SUBCA_ACME_ID_MAX + 40];

	subca__acme_url(a, "account", a->account.id, acct, sizeof(acct));
	snprintf(link, sizeof(link), "<%s/orders?cursor=%s>;rel=\"next\"",
		 acct, last);
	subca__acme_header(a->req, "Link", link);
}

/* POST-as-GET /acme/{p}/account/{id}/orders (RFC 8555 7.1.2.1), oldest
 * first, SUBCA_ACME_ORDERS_PAGE a page. */
static subca_result subca__orders(struct subca_acme *a)
{
	struct subca_store *st = a->req->ctx.store;
	char cursor[SUBCA_ACME_ID_MAX] = "";
	struct subca_acme_filter f = {.provisioner_id = a->prov.id,
				      .parent = a->account.id,
				      .limit = SUBCA_ACME_ORDERS_PAGE + 1};
	struct subca_acme_list l = {0};
	json_t *urls = json_array();
	char url[SUBCA_ACME_URL_MAX + 80];
	subca_result rv;

	SUBCA_ENSURE(urls != NULL, SUBCA_E_NOMEM, "out of memory");
	rv = subca__own_account(a);
	if (rv == SUBCA_OK)
		rv = subca__orders_cursor(a->req, cursor);
	f.after = cursor[0] ? cursor : NULL;
	if (rv == SUBCA_OK)
		rv = st->ops->acme_list(st, SUBCA_ACME_ORDER, &f, &l);
	for (size_t i = 0; rv == SUBCA_OK && i < l.n &&
			   i < SUBCA_ACME_ORDERS_PAGE; i++) {
		subca__acme_url(a, "order", l.v[i].id, url, sizeof(url));
		json_array_append_new(urls, json_string(url));
	}
	if (rv == SUBCA_OK)
		rv = subca__acme_reply(a, 200,
				       json_pack("{s:o}", "orders", urls), NULL);
	else
		json_decref(urls);
	if (rv == SUBCA_OK && l.n > SUBCA_ACME_ORDERS_PAGE)
		subca__orders_next(a, l.v[SUBCA_ACME_ORDERS_PAGE - 1].id);
	subca_acme_list_cleanup(&l);
	return rv;
}

subca_result subca__acme_account_orders(struct subca_request *req)
{
	return subca__acme_run(req, SUBCA_ACME_BY_KID, SUBCA_ACME_EMPTY,
			       subca__orders);
}
