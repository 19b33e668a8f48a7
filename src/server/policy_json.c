/*
 * The stored provisioner policy JSON read back into struct subca_policy.
 * Strict on purpose: a member subca does not know, or a value of the wrong
 * type, is refused rather than ignored, since silently dropping a rule
 * would widen what a provisioner may ask for.
 */
#include "policy_json.h"

#include <string.h>
#include <strings.h>

#include "subca/key.h"

#define SUBCA__POLICY_VERSION 1

static const char *const subca__lists[4] = {"dns", "ips", "emails", "uris"};

static const struct {
	const char *name;
	unsigned bit;
} subca__ekus[] = {
	{"server", SUBCA_EKU_SERVER},
	{"client", SUBCA_EKU_CLIENT},
};

void subca_policy_json_cleanup(struct subca_policy_json *pj)
{
	json_decref(pj->root);
	memset(pj, 0, sizeof(*pj));
}

static subca_result subca__pj_bool(const char *key, json_t *v, bool *out)
{
	SUBCA_ENSURE(json_is_boolean(v), SUBCA_E_INVALID_ARGUMENT,
		     "policy member \"%s\" must be true or false", key);
	*out = json_is_true(v);
	return SUBCA_OK;
}

static subca_result subca__pj_int(const char *key, json_t *v, long lo,
				  long hi, long *out)
{
	json_int_t i;

	SUBCA_ENSURE(json_is_integer(v), SUBCA_E_INVALID_ARGUMENT,
		     "policy member \"%s\" must be an integer", key);
	i = json_integer_value(v);
	SUBCA_ENSURE(i >= lo && i <= hi, SUBCA_E_INVALID_ARGUMENT,
		     "policy member \"%s\" is %lld, outside %ld..%ld", key,
		     (long long)i, lo, hi);
	*out = (long)i;
	return SUBCA_OK;
}

/* A list of distinct non-empty strings, at most SUBCA_MAX_NAMES. */
static subca_result subca__pj_strings(const char *key, json_t *v,
				      const char **out, size_t *n)
{
	size_t i, j;
	json_t *e;

	SUBCA_ENSURE(json_is_array(v), SUBCA_E_INVALID_ARGUMENT,
		     "policy member \"%s\" must be a list of strings", key);
	SUBCA_ENSURE(json_array_size(v) <= SUBCA_MAX_NAMES, SUBCA_E_TOO_LARGE,
		     "policy member \"%s\" has %zu entries, over the limit of "
		     "%d",
		     key, json_array_size(v), SUBCA_MAX_NAMES);
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		size_t len = json_string_length(e);

		SUBCA_ENSURE(s != NULL && len > 0, SUBCA_E_INVALID_ARGUMENT,
			     "policy member \"%s\" entry %zu must be a non-empty "
			     "string",
			     key, i);
		SUBCA_ENSURE(len <= SUBCA_POLICY_JSON_MAX_PATTERN,
			     SUBCA_E_TOO_LARGE,
			     "policy member \"%s\" entry %zu is longer than %d "
			     "bytes",
			     key, i, SUBCA_POLICY_JSON_MAX_PATTERN);
		for (j = 0; j < i; j++)
			SUBCA_ENSURE(strcmp(out[j], s) != 0,
				     SUBCA_E_INVALID_ARGUMENT,
				     "policy member \"%s\" lists \"%.64s\" twice",
				     key, s);
		out[i] = s;
	}
	*n = json_array_size(v);
	return SUBCA_OK;
}

static subca_result subca__pj_key_types(json_t *v, unsigned *out)
{
	const char *names[SUBCA_MAX_NAMES];
	size_t n = 0;

	SUBCA_TRY(subca__pj_strings("key_types", v, names, &n));
	SUBCA_ENSURE(n > 0, SUBCA_E_INVALID_ARGUMENT,
		     "policy member \"key_types\" is empty: leave it out to "
		     "allow every key type");
	for (size_t i = 0; i < n; i++) {
		enum subca_key_type t;

		if (subca_key_type_parse(names[i], &t) != SUBCA_OK)
			SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
				   "policy member \"key_types\": unknown key type "
				   "\"%.32s\"",
				   names[i]);
		*out |= SUBCA_POLICY_KEY(t);
	}
	return SUBCA_OK;
}

static subca_result subca__pj_eku(const char *s, unsigned *out)
{
	for (size_t i = 0; i < sizeof(subca__ekus) / sizeof(subca__ekus[0]); i++) {
		if (strcmp(s, subca__ekus[i].name) == 0) {
			*out |= subca__ekus[i].bit;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "policy member \"ekus\": unknown extended key usage "
		   "\"%.32s\" (server or client)",
		   s);
}

static subca_result subca__pj_ekus(json_t *v, unsigned *out)
{
	const char *names[SUBCA_MAX_NAMES];
	size_t n = 0;

	SUBCA_TRY(subca__pj_strings("ekus", v, names, &n));
	SUBCA_ENSURE(n > 0, SUBCA_E_INVALID_ARGUMENT,
		     "policy member \"ekus\" is empty: leave it out to allow "
		     "both");
	for (size_t i = 0; i < n; i++)
		SUBCA_TRY(subca__pj_eku(names[i], out));
	return SUBCA_OK;
}

static subca_result subca__pj_list(struct subca_policy_json *pj, int which,
				   json_t *v)
{
	struct subca_names *dst[4] = {&pj->policy.dns, &pj->policy.ips,
				      &pj->policy.emails, &pj->policy.uris};
	size_t n = 0;

	SUBCA_TRY(subca__pj_strings(subca__lists[which], v, pj->names[which],
				    &n));
	dst[which]->v = pj->names[which];
	dst[which]->n = n;
	return SUBCA_OK;
}

static subca_result subca__pj_member(struct subca_policy_json *pj,
				     const char *key, json_t *v)
{
	struct subca_policy *p = &pj->policy;
	long l = 0;

	for (int i = 0; i < 4; i++)
		if (strcmp(key, subca__lists[i]) == 0)
			return subca__pj_list(pj, i, v);
	if (strcmp(key, "version") == 0) {
		SUBCA_TRY(subca__pj_int(key, v, SUBCA__POLICY_VERSION,
					SUBCA__POLICY_VERSION, &l));
		return SUBCA_OK;
	}
	if (strcmp(key, "allow_all_names") == 0)
		return subca__pj_bool(key, v, &p->allow_all_names);
	if (strcmp(key, "allow_subject_attributes") == 0)
		return subca__pj_bool(key, v, &p->allow_subject_attributes);
	if (strcmp(key, "default_days") == 0)
		return subca__pj_int(key, v, 0, SUBCA_MAX_LEAF_DAYS,
				     &p->default_days);
	if (strcmp(key, "max_days") == 0)
		return subca__pj_int(key, v, 0, SUBCA_MAX_LEAF_DAYS,
				     &p->max_days);
	if (strcmp(key, "min_rsa_bits") == 0) {
		SUBCA_TRY(subca__pj_int(key, v, 0, 16384, &l));
		p->min_rsa_bits = (int)l;
		return SUBCA_OK;
	}
	if (strcmp(key, "key_types") == 0)
		return subca__pj_key_types(v, &p->key_types);
	if (strcmp(key, "ekus") == 0)
		return subca__pj_ekus(v, &p->ekus);
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "unknown policy member \"%.64s\"", key);
}

subca_result subca_policy_json_parse(struct subca_slice text,
				     struct subca_policy_json *out)
{
	json_error_t jerr;
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	SUBCA_ENSURE(text.len <= SUBCA_MAX_POLICY, SUBCA_E_TOO_LARGE,
		     "the policy is %zu bytes, over the limit of %u", text.len,
		     SUBCA_MAX_POLICY);
	out->root = json_loadb((const char *)text.p, text.len,
			       JSON_REJECT_DUPLICATES, &jerr);
	SUBCA_ENSURE(out->root != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the policy is not JSON: %.80s (line %d, column %d)",
		     jerr.text, jerr.line, jerr.column);
	SUBCA_ENSURE(json_is_object(out->root), SUBCA_E_INVALID_ARGUMENT,
		     "the policy must be a JSON object");
	SUBCA_ENSURE(json_object_get(out->root, "version") != NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the policy lacks \"version\": 1");
	json_object_foreach(out->root, key, v)
		SUBCA_TRY(subca__pj_member(out, key, v));
	return subca_policy_validate(&out->policy);
}
