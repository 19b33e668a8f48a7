/*
 * Provisioners as the front ends write them. The policy is stored as the
 * canonical JSON of struct subca_policy (never the caller's text), so what
 * is stored is exactly what subca_policy_validate checked and what the
 * sign API reads back with subca_policy_json_parse.
 */
#include "provisioner.h"

#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "jose.h"
#include "subca/alloc.h"
#include "subca/key.h"
#include "subca/limits.h"

static const struct {
	const char *name;
	unsigned bit;
} subca__prov_ekus[] = {
	{"server", SUBCA_EKU_SERVER},
	{"client", SUBCA_EKU_CLIENT},
};

static json_t *subca__names_json(struct subca_names n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n.n; i++)
		json_array_append_new(a, json_string(n.v[i]));
	return a;
}

static json_t *subca__key_types_json(unsigned bits)
{
	json_t *a = json_array();

	for (int t = 0; a != NULL && t < SUBCA_KEY__COUNT; t++)
		if (bits & SUBCA_POLICY_KEY(t))
			json_array_append_new(
				a, json_string(subca_key_type_name(
					   (enum subca_key_type)t)));
	return a;
}

static json_t *subca__ekus_json(unsigned bits)
{
	json_t *a = json_array();
	size_t n = sizeof(subca__prov_ekus) / sizeof(subca__prov_ekus[0]);

	for (size_t i = 0; a != NULL && i < n; i++)
		if (bits & subca__prov_ekus[i].bit)
			json_array_append_new(
				a, json_string(subca__prov_ekus[i].name));
	return a;
}

json_t *subca_policy_to_json(const struct subca_policy *p)
{
	const struct {
		const char *key;
		struct subca_names names;
	} lists[] = {{"dns", p->dns},
		     {"ips", p->ips},
		     {"emails", p->emails},
		     {"uris", p->uris}};
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "version", json_integer(1));
	if (p->allow_all_names)
		json_object_set_new(o, "allow_all_names", json_true());
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (lists[i].names.n > 0)
			json_object_set_new(o, lists[i].key,
					    subca__names_json(lists[i].names));
	if (p->allow_subject_attributes)
		json_object_set_new(o, "allow_subject_attributes", json_true());
	if (p->default_days)
		json_object_set_new(o, "default_days",
				    json_integer(p->default_days));
	if (p->max_days)
		json_object_set_new(o, "max_days", json_integer(p->max_days));
	if (p->key_types)
		json_object_set_new(o, "key_types",
				    subca__key_types_json(p->key_types));
	if (p->min_rsa_bits)
		json_object_set_new(o, "min_rsa_bits",
				    json_integer(p->min_rsa_bits));
	if (p->ekus)
		json_object_set_new(o, "ekus", subca__ekus_json(p->ekus));
	return o;
}

/* The canonical policy text (free()). */
static subca_result subca__policy_text(const struct subca_policy *p,
				       char **out)
{
	json_t *o;

	SUBCA_TRY(subca_policy_validate(p));
	o = subca_policy_to_json(p);
	*out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_ENSURE(strlen(*out) <= SUBCA_MAX_POLICY, SUBCA_E_TOO_LARGE,
		     "the policy is longer than %u bytes", SUBCA_MAX_POLICY);
	return SUBCA_OK;
}

static subca_result subca__prov_store(const struct subca_ctx *c,
				      const struct subca_authority_rec *a,
				      struct subca_provisioner_rec *r)
{
	struct subca_store *st = c->store;
	subca_result rv;

	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->provisioner_add(st, r);
	if (rv == SUBCA_OK)
		rv = subca_audit(c, a->name, "provisioner.add",
				 "provisioner \"%s\" (%s) added, policy %.400s",
				 r->name, subca_provisioner_type_name(r->type),
				 r->policy);
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	return rv;
}

/* Everything create writes; the strings are owned here. */
struct subca__prov_new {
	char *options; /* acme: subca_free() */
	char *policy; /* json_dumps: free() */
	struct subca_buf jwk;
	char hash[SUBCA_CREDENTIAL_HASH_SIZE];
};

static subca_result subca__prov_create(const struct subca_ctx *c,
				       const struct subca_authority_rec *a,
				       const struct subca_provisioner_spec *s,
				       char *api_key,
				       struct subca__prov_new *n)
{
	struct subca_provisioner_rec r = {0};

	SUBCA_TRY(subca_label_validate("provisioner name", s->name));
	SUBCA_ENSURE(s->type == SUBCA_PROV_JWK || s->type == SUBCA_PROV_APIKEY ||
			     s->type == SUBCA_PROV_ACME,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a provisioner's type must be jwk, apikey or acme");
	SUBCA_ENSURE((s->type == SUBCA_PROV_JWK) == (s->jwk != NULL),
		     SUBCA_E_INVALID_ARGUMENT,
		     s->jwk ? "only a jwk provisioner has a public key"
			    : "a jwk provisioner needs its public key (a JWK)");
	SUBCA_TRY(subca__policy_text(s->policy, &n->policy));
	if (s->type == SUBCA_PROV_JWK) {
		SUBCA_TRY(subca_jwk_export(s->jwk, &n->jwk));
		r.jwk_json = (char *)n->jwk.p;
	} else if (s->type == SUBCA_PROV_ACME) {
		struct subca_acme_options def = {0};

		SUBCA_TRY(subca_acme_options_text(s->acme ? s->acme : &def,
						  &n->options));
		r.options = n->options;
	} else {
		SUBCA_TRY(subca_credential_generate(SUBCA_SECRET_APIKEY,
						    api_key));
		SUBCA_TRY(subca_credential_hash(api_key, strlen(api_key),
						n->hash));
		r.key_hash = n->hash;
	}
	r.authority_id = a->id;
	r.name = (char *)s->name;
	r.type = s->type;
	r.policy = n->policy;
	r.created = (int64_t)c->now;
	return subca__prov_store(c, a, &r);
}

subca_result subca_provisioner_create(const struct subca_ctx *c,
				      const struct subca_authority_rec *a,
				      const struct subca_provisioner_spec *s,
				      char api_key[SUBCA_CREDENTIAL_SIZE])
{
	struct subca__prov_new n = {0};
	subca_result rv;

	api_key[0] = '\0';
	rv = subca__prov_create(c, a, s, api_key, &n);
	free(n.policy);
	subca_free(n.options);
	subca_buf_cleanup(&n.jwk);
	if (rv != SUBCA_OK)
		subca_wipe(api_key, SUBCA_CREDENTIAL_SIZE);
	return rv;
}

subca_result subca_provisioner_delete(const struct subca_ctx *c,
				      const struct subca_authority_rec *a,
				      const char *name)
{
	struct subca_store *st = c->store;
	subca_result rv;

	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->provisioner_remove(st, a->id, name);
	if (rv == SUBCA_OK)
		rv = subca_audit(c, a->name, "provisioner.remove",
				 "provisioner \"%.64s\" removed", name);
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	return rv;
}
