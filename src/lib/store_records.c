/* Record lifecycles and state names shared by every store backend. */
#include <string.h>

#include "subca/alloc.h"
#include "subca/store.h"

const char *subca_authority_state_name(enum subca_authority_state s)
{
	static const char *const names[] = {
		[SUBCA_AUTH_NEEDS_ROOT] = "needs-root",
		[SUBCA_AUTH_NEEDS_INTERMEDIATE] = "needs-intermediate",
		[SUBCA_AUTH_PENDING] = "pending",
		[SUBCA_AUTH_ACTIVE] = "active",
	};
	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}

const char *subca_intermediate_state_name(enum subca_intermediate_state s)
{
	static const char *const names[] = {
		[SUBCA_INT_PENDING] = "pending",
		[SUBCA_INT_ACTIVE] = "active",
		[SUBCA_INT_RETIRED] = "retired",
		[SUBCA_INT_READY] = "ready",
	};
	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}

const char *subca_cert_status_name(enum subca_cert_status s)
{
	static const char *const names[] = {
		[SUBCA_CERT_VALID] = "valid",
		[SUBCA_CERT_REVOKED] = "revoked",
	};
	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}

static const char *const subca__prov_types[] = {
	[SUBCA_PROV_JWK] = "jwk",
	[SUBCA_PROV_APIKEY] = "apikey",
	[SUBCA_PROV_ACME] = "acme",
};

const char *subca_provisioner_type_name(enum subca_provisioner_type t)
{
	if ((unsigned)t >= sizeof(subca__prov_types) / sizeof(subca__prov_types[0]))
		return "unknown";
	return subca__prov_types[t];
}

subca_result subca_provisioner_type_parse(const char *s,
					  enum subca_provisioner_type *out)
{
	for (size_t i = 0;
	     s != NULL && i < sizeof(subca__prov_types) / sizeof(subca__prov_types[0]);
	     i++) {
		if (strcmp(s, subca__prov_types[i]) == 0) {
			*out = (enum subca_provisioner_type)i;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "unknown provisioner type \"%.32s\" (jwk, apikey or acme)",
		   s ? s : "");
}

void subca_authority_rec_cleanup(struct subca_authority_rec *r)
{
	subca_free(r->name);
	subca_free(r->subdomain);
	subca_free(r->root_key_id);
	r->name = r->subdomain = r->root_key_id = NULL;
}

void subca_root_rec_cleanup(struct subca_root_rec *r)
{
	subca_free(r->pem);
	subca_free(r->subject);
	subca_free(r->fingerprint);
	r->pem = r->subject = r->fingerprint = NULL;
}

void subca_intermediate_rec_cleanup(struct subca_intermediate_rec *r)
{
	subca_free(r->key_id);
	subca_free(r->key_type);
	subca_free(r->subject);
	subca_free(r->csr_pem);
	subca_free(r->cert_pem);
	subca_free(r->fingerprint);
	subca_free(r->crl_url);
	subca_free(r->ocsp_url);
	r->key_id = r->key_type = r->subject = r->csr_pem = NULL;
	r->cert_pem = r->fingerprint = r->crl_url = r->ocsp_url = NULL;
}

void subca_cert_rec_cleanup(struct subca_cert_rec *r)
{
	subca_free(r->serial);
	subca_free(r->subject);
	subca_free(r->sans);
	subca_free(r->pem);
	subca_free(r->issued_by);
	subca_free(r->provisioner);
	r->serial = r->subject = r->sans = r->pem = r->issued_by = NULL;
	r->provisioner = NULL;
}

void subca_crl_rec_cleanup(struct subca_crl_rec *r)
{
	subca_free(r->der);
	r->der = NULL;
	r->der_len = 0;
}

void subca_admin_token_rec_cleanup(struct subca_admin_token_rec *r)
{
	subca_free(r->hash);
	subca_free(r->description);
	subca_free(r->scope);
	r->hash = r->description = r->scope = NULL;
}

void subca_provisioner_rec_cleanup(struct subca_provisioner_rec *r)
{
	subca_free(r->name);
	subca_free(r->jwk_json);
	subca_free(r->key_hash);
	subca_free(r->policy);
	subca_free(r->options);
	r->name = r->jwk_json = r->key_hash = r->policy = r->options = NULL;
}

void subca_acme_rec_cleanup(struct subca_acme_rec *r)
{
	subca_free(r->id);
	subca_free(r->parent);
	subca_free(r->status);
	subca_free(r->lookup);
	subca_free(r->doc);
	r->id = r->parent = r->status = r->lookup = r->doc = NULL;
}

void subca_acme_eab_rec_cleanup(struct subca_acme_eab_rec *r)
{
	subca_free(r->kid);
	subca_free(r->sealed);
	subca_free(r->account_id);
	r->kid = r->sealed = r->account_id = NULL;
}

void subca_audit_rec_cleanup(struct subca_audit_rec *r)
{
	subca_free(r->authority);
	subca_free(r->action);
	subca_free(r->detail);
	subca_free(r->actor);
	r->authority = r->action = r->detail = r->actor = NULL;
}

#define SUBCA__LIST_CLEANUP(fn, T, item_cleanup) \
	void fn(T *l)                            \
	{                                        \
		for (size_t i = 0; i < l->n; i++) \
			item_cleanup(&l->v[i]);  \
		subca_free(l->v);                \
		l->v = NULL;                     \
		l->n = 0;                        \
	}

SUBCA__LIST_CLEANUP(subca_authority_list_cleanup, struct subca_authority_list,
		    subca_authority_rec_cleanup)
SUBCA__LIST_CLEANUP(subca_intermediate_list_cleanup,
		    struct subca_intermediate_list,
		    subca_intermediate_rec_cleanup)
void subca_intermediate_cert_rec_cleanup(struct subca_intermediate_cert_rec *r)
{
	subca_free(r->pem);
	subca_free(r->fingerprint);
	r->pem = r->fingerprint = NULL;
}

SUBCA__LIST_CLEANUP(subca_intermediate_cert_list_cleanup,
		    struct subca_intermediate_cert_list,
		    subca_intermediate_cert_rec_cleanup)
void subca_rotation_rec_cleanup(struct subca_rotation_rec *r)
{
	subca_free(r->signer_command);
	r->signer_command = NULL;
}

SUBCA__LIST_CLEANUP(subca_rotation_list_cleanup, struct subca_rotation_list,
		    subca_rotation_rec_cleanup)
SUBCA__LIST_CLEANUP(subca_audit_list_cleanup, struct subca_audit_list,
		    subca_audit_rec_cleanup)
SUBCA__LIST_CLEANUP(subca_admin_token_list_cleanup,
		    struct subca_admin_token_list,
		    subca_admin_token_rec_cleanup)
SUBCA__LIST_CLEANUP(subca_provisioner_list_cleanup,
		    struct subca_provisioner_list,
		    subca_provisioner_rec_cleanup)
SUBCA__LIST_CLEANUP(subca_acme_list_cleanup, struct subca_acme_list,
		    subca_acme_rec_cleanup)

void subca_cert_list_cleanup(struct subca_cert_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		subca_cert_rec_cleanup(&l->v[i]);
	subca_free(l->v);
	l->v = NULL;
	l->n = 0;
	l->next_after = 0;
}
