#include "views.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rotation.h"

json_t *subca_view_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

json_t *subca_view_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *subca_view_authority_item(const struct subca_authority_rec *a)
{
	return json_pack("{s:s, s:s, s:s, s:b}", "name", a->name, "subdomain",
			 a->subdomain, "state",
			 subca_authority_state_name(a->state), "generated_root",
			 a->generated_root);
}

json_t *subca_view_intermediate(const struct subca_intermediate_rec *r)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:i, "
			 "s:o, s:o}",
			 "id", (json_int_t)r->id, "state",
			 subca_intermediate_state_name(r->state), "key_type",
			 r->key_type, "subject", r->subject, "not_before",
			 subca_view_time(r->not_before), "not_after",
			 subca_view_time(r->not_after), "sha256",
			 subca_view_str(r->fingerprint), "crl_url",
			 subca_view_str(r->crl_url), "ocsp_url",
			 subca_view_str(r->ocsp_url), "requested_days",
			 r->days, "activate_at", subca_view_time(r->activate_at),
			 "retired_at", subca_view_time(r->retired_at));
}

/* The certificates recorded for r's key other than its own. */
static json_t *
subca__view_additional(const struct subca_intermediate_cert_list *l,
		       const struct subca_intermediate_rec *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < l->n; i++) {
		const struct subca_intermediate_cert_rec *c = &l->v[i];

		if (c->intermediate_id != r->id ||
		    (r->fingerprint != NULL &&
		     strcmp(c->fingerprint, r->fingerprint) == 0))
			continue;
		json_array_append_new(
			arr, json_pack("{s:I, s:s, s:o, s:o, s:o}", "id",
				       (json_int_t)c->id, "sha256",
				       c->fingerprint, "not_before",
				       subca_view_time(c->not_before),
				       "not_after",
				       subca_view_time(c->not_after),
				       "recorded",
				       subca_view_time(c->recorded)));
	}
	return arr;
}

json_t *subca_view_intermediate_of(const struct subca_authority_view *v,
				   size_t i)
{
	json_t *o = subca_view_intermediate(&v->ints.v[i]);

	if (o != NULL)
		json_object_set_new(o, "additional_certificates",
				    subca__view_additional(&v->certs,
							   &v->ints.v[i]));
	return o;
}

json_t *subca_view_report(const struct subca_report *r)
{
	json_t *refusals = json_array(), *warnings = json_array();

	for (size_t i = 0; i < r->n; i++) {
		const struct subca_report_item *it = &r->items[i];
		json_t *o = json_pack("{s:s, s:s}", "code",
				      subca_error_name(it->code), "message",
				      it->message);

		if (o != NULL && it->hint[0] != '\0')
			json_object_set_new(o, "hint", json_string(it->hint));
		json_array_append_new(it->warning ? warnings : refusals, o);
	}
	return json_pack("{s:s, s:o, s:o}", "result",
			 r->refusals ? "refused" : "accepted", "refusals",
			 refusals, "warnings", warnings);
}

json_t *subca_view_rotation(const struct subca_rotation_rec *r)
{
	return json_pack("{s:I, s:s, s:i, s:i, s:o}", "rotate_before_seconds",
			 (json_int_t)r->rotate_before, "signer_command",
			 r->signer_command, "hook_timeout_seconds",
			 r->hook_timeout, "days", r->days, "updated",
			 subca_view_time(r->updated));
}

json_t *subca_view_audit(const struct subca_audit_rec *r)
{
	return json_pack("{s:I, s:o, s:s?, s:s, s:s, s:s}", "id",
			 (json_int_t)r->id, "time", subca_view_time(r->ts),
			 "authority", r->authority, "action", r->action,
			 "actor", r->actor, "detail", r->detail);
}

/* RFC 5280 5.3.1 CRLReason; 7 is not used. */
static const char *const subca__crl_reasons[] = {
	"unspecified",	      "keyCompromise",	    "cACompromise",
	"affiliationChanged", "superseded",	    "cessationOfOperation",
	"certificateHold",    NULL,		    "removeFromCRL",
	"privilegeWithdrawn", "aACompromise",
};
#define SUBCA__NREASONS (sizeof(subca__crl_reasons) / sizeof(char *))

const char *subca_view_reason_name(int reason)
{
	if (reason < 0 || (size_t)reason >= SUBCA__NREASONS)
		return NULL;
	return subca__crl_reasons[reason];
}

int subca_view_reason_code(const char *name)
{
	for (size_t i = 0; i < SUBCA__NREASONS; i++)
		if (subca__crl_reasons[i] != NULL &&
		    strcmp(subca__crl_reasons[i], name) == 0)
			return (int)i;
	return -1;
}

/* "DNS:a,IP:b" as ["DNS:a", "IP:b"] */
static json_t *subca__list_json(const char *s)
{
	json_t *a = json_array();

	while (a != NULL && s != NULL && *s != '\0') {
		size_t n = strcspn(s, ",");

		json_array_append_new(a, json_stringn(s, n));
		s += n + (s[n] == ',');
	}
	return a;
}

json_t *subca_view_cert(const struct subca_cert_rec *r)
{
	const char *reason = r->status == SUBCA_CERT_REVOKED
				     ? subca_view_reason_name(r->reason)
				     : NULL;

	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:o, s:o, s:o, "
			 "s:o}",
			 "serial", r->serial, "subject", r->subject, "sans",
			 subca__list_json(r->sans), "status",
			 subca_cert_status_name(r->status), "not_before",
			 subca_view_time(r->not_before), "not_after",
			 subca_view_time(r->not_after), "issued_by",
			 r->issued_by ? r->issued_by : "", "provisioner",
			 subca_view_str(r->provisioner), "created",
			 subca_view_time(r->created), "revoked_at",
			 subca_view_time(r->revoked_at), "reason",
			 subca_view_str(reason));
}

json_t *subca_view_provisioner(const struct subca_provisioner_rec *r)
{
	json_t *policy = json_loads(r->policy, 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "name", r->name, "type",
			      subca_provisioner_type_name(r->type), "policy",
			      policy ? policy : json_string(r->policy),
			      "created", subca_view_time(r->created));

	/* a public key is not a secret */
	if (o != NULL && r->jwk_json != NULL) {
		json_t *jwk = json_loads(r->jwk_json, 0, NULL);

		json_object_set_new(o, "jwk", jwk ? jwk : json_null());
	}
	/* an acme provisioner's settings: {require_eab, challenges} */
	if (o != NULL && r->options != NULL) {
		json_t *opt = json_loads(r->options, 0, NULL);

		json_object_set_new(o, "acme", opt ? opt : json_null());
	}
	return o;
}

subca_result subca_authority_view_fill(struct subca_store *st,
				       struct subca_authority_view *v)
{
	subca_result rv = st->ops->root_get(st, v->a.id, &v->root);

	v->has_root = rv == SUBCA_OK;
	if (rv != SUBCA_OK && rv != SUBCA_E_NOT_FOUND)
		return rv;
	struct subca_lifetime_warning w;

	SUBCA_TRY(st->ops->intermediate_list(st, v->a.id, &v->ints));
	SUBCA_TRY(st->ops->intermediate_cert_list(st, v->a.id, &v->certs));
	SUBCA_TRY(st->ops->cert_count(st, v->a.id, &v->issued));
	if (v->now == 0)
		v->now = time(NULL);
	SUBCA_TRY(subca_lifetime_check(st, &v->a, &v->ints, v->now, &w));
	snprintf(v->warning, sizeof(v->warning), "%s", w.warn ? w.message : "");
	return SUBCA_OK;
}

void subca_authority_view_cleanup(struct subca_authority_view *v)
{
	subca_authority_rec_cleanup(&v->a);
	subca_root_rec_cleanup(&v->root);
	subca_intermediate_list_cleanup(&v->ints);
	subca_intermediate_cert_list_cleanup(&v->certs);
}

json_t *subca_authority_view_json(const struct subca_authority_view *v)
{
	json_t *ints = json_array();
	json_t *root = json_null();

	for (size_t i = 0; i < v->ints.n; i++)
		json_array_append_new(ints, subca_view_intermediate_of(v, i));
	if (v->has_root)
		root = json_pack("{s:s, s:s, s:o}", "subject",
				 v->root.subject, "sha256", v->root.fingerprint,
				 "not_after", subca_view_time(v->root.not_after));
	json_t *warnings = json_array();

	if (v->warning[0] != '\0')
		json_array_append_new(warnings,
				      json_pack("{s:s, s:s}", "code",
						"INTERMEDIATE_EXPIRING",
						"message", v->warning));
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:I, s:o}", "name",
			 v->a.name, "subdomain", v->a.subdomain, "state",
			 subca_authority_state_name(v->a.state),
			 "generated_root", v->a.generated_root, "root", root,
			 "intermediates", ints, "issued_certificates",
			 (json_int_t)v->issued, "warnings", warnings);
}

static const char *subca__token_status(const struct subca_admin_token_rec *t,
				       int64_t now)
{
	if (t->revoked != 0)
		return "revoked";
	if (t->expires != 0 && t->expires <= now)
		return "expired";
	return "active";
}

/* "a,b" as ["a", "b"]; a global token (NULL) as null. */
static json_t *subca__scope_json(const char *scope)
{
	json_t *a;

	if (scope == NULL)
		return json_null();
	a = json_array();
	while (a != NULL && *scope != '\0') {
		size_t n = strcspn(scope, ",");

		json_array_append_new(a, json_stringn(scope, n));
		scope += n + (scope[n] == ',');
	}
	return a;
}

json_t *subca_view_admin_token(const struct subca_admin_token_rec *t,
			       int64_t now)
{
	return json_pack("{s:I, s:s, s:o, s:s, s:o, s:o, s:o}", "id",
			 (json_int_t)t->id, "status", subca__token_status(t, now),
			 "authorities", subca__scope_json(t->scope),
			 "description", t->description ? t->description : "",
			 "created", subca_view_time(t->created), "expires",
			 subca_view_time(t->expires), "revoked",
			 subca_view_time(t->revoked));
}

bool subca_view_serial_norm(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (strncmp(in, "0x", 2) == 0 || strncmp(in, "0X", 2) == 0)
		in += 2;
	for (; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || o + 1 >= len)
			return false;
		if (o == 0 && *in == '0')
			continue;
		out[o++] = (char)tolower((unsigned char)*in);
	}
	if (o == 0)
		return false;
	out[o] = '\0';
	return true;
}
