/*
 * The JSON request bodies of the sign API (/sign, /renew, /revoke), read
 * strictly and on their own, so that the handlers only see typed, bounded
 * values and a fuzz target can reach every path without a store or TLS.
 */
#include <ctype.h>
#include <string.h>

#include <jansson.h>

#include "sign_int.h"
#include "subca/alloc.h"

/* RFC 5280 5.3.1 CRLReason names; 7 is unused. removeFromCRL (8) only
 * means something in a delta CRL, so it is not a reason to revoke. */
static const char *const subca__reasons[] = {
	"unspecified",	       "keyCompromise", "cACompromise",
	"affiliationChanged",  "superseded",	"cessationOfOperation",
	"certificateHold",     NULL,		"removeFromCRL",
	"privilegeWithdrawn", "aACompromise",
};
#define SUBCA__NREASONS (int)(sizeof(subca__reasons) / sizeof(subca__reasons[0]))

const char *subca__revoke_reason_name(int reason)
{
	if (reason < 0 || reason >= SUBCA__NREASONS ||
	    subca__reasons[reason] == NULL)
		return "unspecified";
	return subca__reasons[reason];
}

/* The body as a JSON object; empty is {}. */
static subca_result subca__body_load(struct subca_slice body, json_t **out)
{
	json_error_t jerr;

	*out = NULL;
	SUBCA_ENSURE(body.len <= SUBCA_MAX_REQUEST_BODY, SUBCA_E_TOO_LARGE,
		     "the request body is %zu bytes, over the limit of %u",
		     body.len, SUBCA_MAX_REQUEST_BODY);
	if (body.len == 0) {
		*out = json_object();
		SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
		return SUBCA_OK;
	}
	/* jansson refuses invalid UTF-8, \u0000 (no JSON_ALLOW_NUL: every
	 * string is a C string) and nesting past its depth cap */
	*out = json_loadb((const char *)body.p, body.len,
			  JSON_REJECT_DUPLICATES, &jerr);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the request body is not JSON: %.80s (line %d, column %d)",
		     jerr.text, jerr.line, jerr.column);
	SUBCA_ENSURE(json_is_object(*out), SUBCA_E_INVALID_ARGUMENT,
		     "the request body must be a JSON object");
	return SUBCA_OK;
}

/* Only the members in `allowed` (NULL-terminated) may appear. */
static subca_result subca__members_only(json_t *body,
					const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v) {
		size_t i;
		char safe[48];

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		subca__printable(key, strlen(key), safe, sizeof(safe));
		SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
			   "unknown member \"%s\" in the request body", safe);
	}
	return SUBCA_OK;
}

/* Member `name` as a string of at most `max` bytes, copied;
 * *out stays NULL when absent. */
static subca_result subca__member_string(json_t *body, const char *name,
					 const char *what, size_t max,
					 char **out, size_t *len)
{
	json_t *v = json_object_get(body, name);
	size_t n;

	*out = NULL;
	if (v == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_string(v), SUBCA_E_INVALID_ARGUMENT,
		     "\"%s\" must be a string holding %s", name, what);
	n = json_string_length(v);
	SUBCA_ENSURE(n <= max, SUBCA_E_TOO_LARGE,
		     "\"%s\" is %zu bytes, over the limit of %zu", name, n, max);
	*out = subca_strdup(json_string_value(v));
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	if (len != NULL)
		*len = n;
	return SUBCA_OK;
}

/* "days": a positive integer, or absent (0). */
static subca_result subca__member_days(json_t *body, long *out)
{
	json_t *d = json_object_get(body, "days");

	*out = 0;
	if (d == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(json_is_integer(d) && json_integer_value(d) > 0 &&
			     json_integer_value(d) <= SUBCA_SIGN_DAYS_MAX,
		     SUBCA_E_INVALID_ARGUMENT,
		     "\"days\" must be a positive integer of at most %d",
		     SUBCA_SIGN_DAYS_MAX);
	*out = (long)json_integer_value(d);
	return SUBCA_OK;
}

static subca_result subca__sign_members(json_t *j, bool csr_required,
					const char *const *allowed,
					struct subca__sign_body *out)
{
	SUBCA_TRY(subca__members_only(j, allowed));
	SUBCA_TRY(subca__member_string(j, "csr", "a PEM CSR",
				       SUBCA_MAX_CSR_INPUT, &out->csr,
				       &out->csr_len));
	SUBCA_ENSURE(out->csr != NULL || !csr_required,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the request body needs \"csr\": a PEM certificate "
		     "signing request");
	SUBCA_TRY(subca__member_string(j, "token", "a sign token",
				       SUBCA_MAX_JWS, &out->token, NULL));
	return subca__member_days(j, &out->days);
}

static subca_result subca__sign_like_parse(struct subca_slice body,
					   bool csr_required,
					   const char *const *allowed,
					   struct subca__sign_body *out)
{
	json_t *j = NULL;
	subca_result rv;

	memset(out, 0, sizeof(*out));
	rv = subca__body_load(body, &j);
	if (rv == SUBCA_OK)
		rv = subca__sign_members(j, csr_required, allowed, out);
	json_decref(j);
	if (rv != SUBCA_OK)
		subca__sign_body_cleanup(out);
	return rv;
}

static const char *const subca__sign_members_allowed[] = {"csr", "token",
							    "days", NULL};

subca_result subca__sign_body_parse(struct subca_slice body,
				    struct subca__sign_body *out)
{
	return subca__sign_like_parse(body, true, subca__sign_members_allowed,
				      out);
}

subca_result subca__sign_body_json(json_t *body, struct subca__sign_body *out)
{
	subca_result rv;

	memset(out, 0, sizeof(*out));
	SUBCA_ENSURE(json_is_object(body), SUBCA_E_INVALID_ARGUMENT,
		     "the request body must be a JSON object");
	rv = subca__sign_members(body, true, subca__sign_members_allowed, out);
	if (rv != SUBCA_OK)
		subca__sign_body_cleanup(out);
	return rv;
}

subca_result subca__renew_body_parse(struct subca_slice body,
				     struct subca__sign_body *out)
{
	static const char *const members[] = {"csr", "days", NULL};

	return subca__sign_like_parse(body, false, members, out);
}

void subca__sign_body_cleanup(struct subca__sign_body *b)
{
	subca_free(b->csr);
	if (b->token != NULL)
		subca_free_secret(b->token, strlen(b->token));
	memset(b, 0, sizeof(*b));
}

/* ---- /revoke ------------------------------------------------------------- */

static subca_result subca__reason_parse(json_t *v, int *out)
{
	const char *s;

	*out = 0;
	if (v == NULL)
		return SUBCA_OK;
	s = json_string_value(v);
	for (int i = 0; s != NULL && i < SUBCA__NREASONS; i++) {
		if (subca__reasons[i] == NULL || i == 8 ||
		    strcmp(subca__reasons[i], s) != 0)
			continue;
		*out = i;
		return SUBCA_OK;
	}
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "\"reason\" must be an RFC 5280 5.3.1 reason name: "
		   "unspecified, keyCompromise, cACompromise, "
		   "affiliationChanged, superseded, cessationOfOperation, "
		   "certificateHold, privilegeWithdrawn or aACompromise");
}

/* Serials as the store keeps them: lower-case hex without leading zeros. */
static subca_result subca__serial_parse(json_t *v,
					char out[SUBCA_SIGN_SERIAL_MAX + 1])
{
	const char *s = json_string_value(v);
	size_t n = 0;

	SUBCA_ENSURE(s != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the request body needs \"serial\": the certificate's "
		     "serial number in hex");
	while (*s == '0' && s[1] != '\0')
		s++;
	for (; *s != '\0'; s++) {
		SUBCA_ENSURE(isxdigit((unsigned char)*s) &&
				     n < SUBCA_SIGN_SERIAL_MAX,
			     SUBCA_E_INVALID_ARGUMENT,
			     "\"serial\" must be at most %d hex digits",
			     SUBCA_SIGN_SERIAL_MAX);
		out[n++] = (char)tolower((unsigned char)*s);
	}
	out[n] = '\0';
	SUBCA_ENSURE(n > 0, SUBCA_E_INVALID_ARGUMENT, "\"serial\" is empty");
	return SUBCA_OK;
}

static subca_result subca__revoke_members(json_t *j,
					  struct subca__revoke_body *out)
{
	static const char *const members[] = {"serial", "reason", "token",
					       NULL};

	SUBCA_TRY(subca__members_only(j, members));
	SUBCA_TRY(subca__serial_parse(json_object_get(j, "serial"),
				      out->serial));
	SUBCA_TRY(subca__reason_parse(json_object_get(j, "reason"),
				      &out->reason));
	return subca__member_string(j, "token", "a sign token", SUBCA_MAX_JWS,
				    &out->token, NULL);
}

subca_result subca__revoke_body_parse(struct subca_slice body,
				      struct subca__revoke_body *out)
{
	json_t *j = NULL;
	subca_result rv;

	memset(out, 0, sizeof(*out));
	rv = subca__body_load(body, &j);
	if (rv == SUBCA_OK)
		rv = subca__revoke_members(j, out);
	json_decref(j);
	if (rv != SUBCA_OK)
		subca__revoke_body_cleanup(out);
	return rv;
}

void subca__revoke_body_cleanup(struct subca__revoke_body *b)
{
	if (b->token != NULL)
		subca_free_secret(b->token, strlen(b->token));
	memset(b, 0, sizeof(*b));
}
