/*
 * Between the admin authentication (auth.c) and the admin API handlers
 * (api_admin.c): who the admin credential of a request is and what it
 * covers.
 */
#ifndef SUBCA_ADMIN_INT_H
#define SUBCA_ADMIN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "server_int.h"

/* req->principal of a request the admin check let through. */
struct subca_admin_principal {
	int64_t token_id; /* 0 for an mTLS client certificate */
	char *scope;	  /* NULL = every authority, else "a,b" */
};

/* The request's admin principal, or NULL when none was authenticated. */
const struct subca_admin_principal *
subca__admin_principal(const struct subca_request *req);

/* May the request's admin credential see `authority`? False without one. */
bool subca__admin_allows(const struct subca_request *req,
			 const char *authority);

/*
 * Load the CA (PEM file, one or more certificates) whose client
 * certificates are global admin credentials; NULL file turns mTLS admin
 * off. Called once before the workers start (not thread-safe).
 * SUBCA_E_IO / SUBCA_E_INVALID_ARGUMENT naming the file.
 */
SUBCA_MUST_CHECK subca_result subca__auth_admin_ca_load(const char *file);
void subca__auth_admin_ca_free(void);

/* The admin API handlers (api_admin.c), named in routes.c. */
subca_result subca__admin_authorities_list(struct subca_request *req);
subca_result subca__admin_authority_create(struct subca_request *req);
subca_result subca__admin_authority_show(struct subca_request *req);
subca_result subca__admin_root_put(struct subca_request *req);
subca_result subca__admin_intermediate_request(struct subca_request *req);
subca_result subca__admin_intermediate_list(struct subca_request *req);
subca_result subca__admin_pending_csr(struct subca_request *req);
subca_result subca__admin_intermediate_discard(struct subca_request *req);
subca_result subca__admin_rotation_run(struct subca_request *req);
subca_result subca__admin_pending_instructions(struct subca_request *req);
subca_result subca__admin_pending_certificate(struct subca_request *req);
subca_result subca__admin_certificates(struct subca_request *req);
subca_result subca__admin_certificate_revoke(struct subca_request *req);
subca_result subca__admin_audit(struct subca_request *req);
subca_result subca__admin_token_create(struct subca_request *req);
subca_result subca__admin_tokens_list(struct subca_request *req);
subca_result subca__admin_token_revoke(struct subca_request *req);
subca_result subca__admin_certificate_issue(struct subca_request *req);
subca_result subca__admin_provisioners_list(struct subca_request *req);
subca_result subca__admin_provisioner_add(struct subca_request *req);
subca_result subca__admin_provisioner_remove(struct subca_request *req);
subca_result subca__admin_rotation_get(struct subca_request *req);
subca_result subca__admin_rotation_put(struct subca_request *req);
subca_result subca__admin_rotation_delete(struct subca_request *req);

#endif
