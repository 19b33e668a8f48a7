/* Record lifecycles and state names shared by every store backend. */
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
	};
	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
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
	r->serial = r->subject = r->sans = r->pem = r->issued_by = NULL;
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
SUBCA__LIST_CLEANUP(subca_audit_list_cleanup, struct subca_audit_list,
		    subca_audit_rec_cleanup)
