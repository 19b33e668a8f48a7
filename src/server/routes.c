/*
 * The route table and the server core's own endpoints: /healthz, /metrics,
 * and per authority /roots and /chain. Other front ends (admin API, sign
 * API) add their lines to the table below.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include "acme/acme.h" /* ACME handlers */
#include "admin_int.h" /* admin API handlers */
#include "revocation_int.h" /* CRL and OCSP handlers */
#include "server_int.h"
#include "subca/authority.h"
#include "sign_int.h" /* sign API handlers */
#include "subca/alloc.h"
#include "subca/ossl.h"

/* RFC 8555 9.1: a chain of PEM certificates. */
#define SUBCA__PEM_CHAIN_CT "application/pem-certificate-chain"

/* GET /healthz: the store answers. */
static subca_result subca__healthz(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	char *v = NULL;
	subca_result rv = st->ops->meta_get(st, "healthz", &v);

	subca_free(v);
	if (rv == SUBCA_E_NOT_FOUND)
		rv = SUBCA_OK;
	SUBCA_TRY(rv);
	return subca_response_json(req, 200, json_pack("{s:s}", "status",
						       "ok"));
}

/* GET /metrics: Prometheus text format. */
static subca_result subca__metrics(struct subca_request *req)
{
	const struct subca_server_env *env = req->env;
	struct subca_buf text = {0};
	long conns = env->connections ? env->connections(env) : 0;
	subca_result rv;

	rv = subca_metrics_render(conns, &text);
	if (rv == SUBCA_OK)
		rv = subca_response_bytes(req, 200,
					  "text/plain; version=0.0.4; charset=utf-8",
					  text.p, text.len);
	subca_buf_cleanup(&text);
	return rv;
}

/* GET /roots: the imported root chain, trust anchor first. */
static subca_result subca__roots(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_root_rec rec = {0};
	subca_result rv;

	rv = st->ops->root_get(st, req->authority_rec.id, &rec);
	if (rv == SUBCA_E_NOT_FOUND)
		rv = subca_error_set(SUBCA_E_NOT_FOUND, __FILE__, __LINE__,
				     "authority \"%s\" has no root yet",
				     req->authority);
	if (rv == SUBCA_OK)
		rv = subca_response_bytes(req, 200, SUBCA__PEM_CHAIN_CT,
					  rec.pem, strlen(rec.pem));
	subca_root_rec_cleanup(&rec);
	return rv;
}

/* The stored root chain (written by subca, anchor first) as certificates. */
static subca_result subca__root_certs(const char *pem,
				      STACK_OF(X509) **out)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new_mem_buf(pem, -1);
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	SUBCA_OSSL(bio != NULL && sk != NULL, SUBCA_E_NOMEM, "out of memory");
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
		}
	}
	ERR_clear_error();
	SUBCA_ENSURE(sk_X509_num(sk) > 0, SUBCA_E_STORE,
		     "the stored root does not parse");
	*out = subca_steal(&sk);
	return SUBCA_OK;
}

/* The customer's CAs below the anchor, closest to the intermediate first
 * (what issued leaves carry after the intermediate). */
static subca_result subca__append_cas(const char *root_pem,
				      struct subca_buf *out)
{
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *sk = NULL;

	SUBCA_TRY(subca__root_certs(root_pem, &sk));
	for (int i = sk_X509_num(sk) - 1; i >= 1; i--) {
		SUBCA_BUF_AUTO struct subca_buf pem = {0};

		SUBCA_TRY(subca_pem_x509(sk_X509_value(sk, i), &pem));
		SUBCA_TRY(subca_buf_append(out, pem.p, pem.len));
	}
	return SUBCA_OK;
}

static subca_result subca__chain_build(struct subca_request *req,
				       const struct subca_intermediate_list *l,
				       struct subca_buf *out)
{
	struct subca_store *st = req->ctx.store;
	struct subca_root_rec rec = {0};
	const struct subca_intermediate_rec *active = NULL;
	/* the one issuing now, also a scheduled one whose time has come and
	 * whose switch no issuance has recorded yet */
	long idx = subca_intermediate_issuing(l, req->ctx.now);
	subca_result rv;

	if (idx >= 0 && l->v[idx].cert_pem != NULL)
		active = &l->v[idx];
	SUBCA_ENSURE(active != NULL, SUBCA_E_NOT_FOUND,
		     "authority \"%s\" has no active intermediate (state %s)",
		     req->authority,
		     subca_authority_state_name(req->authority_rec.state));
	SUBCA_TRY(subca_buf_append_str(out, active->cert_pem));
	rv = st->ops->root_get(st, req->authority_rec.id, &rec);
	if (rv == SUBCA_OK)
		rv = subca__append_cas(rec.pem, out);
	subca_root_rec_cleanup(&rec);
	return rv;
}

/* GET /chain: the active intermediate, then the customer's CAs below the
 * anchor: what every issued leaf chains to. */
static subca_result subca__chain(struct subca_request *req)
{
	struct subca_store *st = req->ctx.store;
	struct subca_intermediate_list l = {0};
	struct subca_buf chain;
	subca_result rv;

	subca_buf_init(&chain, SUBCA_MAX_RESPONSE_BODY);
	rv = st->ops->intermediate_list(st, req->authority_rec.id, &l);
	if (rv == SUBCA_OK)
		rv = subca__chain_build(req, &l, &chain);
	if (rv == SUBCA_OK)
		rv = subca_response_bytes(req, 200, SUBCA__PEM_CHAIN_CT,
					  chain.p, chain.len);
	subca_intermediate_list_cleanup(&l);
	subca_buf_cleanup(&chain);
	return rv;
}

const struct subca_route subca__routes[] = {
	/* method, pattern, scope, auth, max body, handler */
	{"GET", "/healthz", SUBCA_SCOPE_SERVER, SUBCA_CRED_NONE, 0,
	 subca__healthz},
	{"GET", "/metrics", SUBCA_SCOPE_SERVER, SUBCA_CRED_NONE, 0,
	 subca__metrics},
	{"GET", "/roots", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_PUBLIC_HTTP, 0,
	 subca__roots},
	{"GET", "/chain", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_PUBLIC_HTTP, 0,
	 subca__chain},
	/* revocation publishing (api_revocation.c), also over plain http */
	{"GET", "/crl/{id}", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_PUBLIC_HTTP, 0,
	 subca__api_revocation_crl},
	{"GET", "/ocsp/{request...}", SUBCA_SCOPE_AUTHORITY,
	 SUBCA_CRED_PUBLIC_HTTP, 0, subca__api_revocation_ocsp_get},
	{"POST", "/ocsp", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_PUBLIC_HTTP,
	 SUBCA_MAX_REQUEST_BODY, subca__api_revocation_ocsp_post},
	/* admin API (api_admin.c) */
	{"GET", "/admin/v1/authorities", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_authorities_list},
	{"POST", "/admin/v1/authorities", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN_GLOBAL, 0,
	 subca__admin_authority_create},
	{"GET", "/admin/v1/authorities/{name}", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_authority_show},
	{"PUT", "/admin/v1/authorities/{name}/root", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, SUBCA_MAX_CERT_INPUT,
	 subca__admin_root_put},
	{"POST", "/admin/v1/authorities/{name}/intermediates", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_intermediate_request},
	{"GET", "/admin/v1/authorities/{name}/intermediates", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_intermediate_list},
	{"GET", "/admin/v1/authorities/{name}/intermediates/pending/csr", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_pending_csr},
	{"GET", "/admin/v1/authorities/{name}/intermediates/pending/instructions", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_pending_instructions},
	{"PUT", "/admin/v1/authorities/{name}/intermediates/pending/certificate", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, SUBCA_MAX_CERT_INPUT,
	 subca__admin_pending_certificate},
	{"DELETE", "/admin/v1/authorities/{name}/intermediates/{id}", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_intermediate_discard},
	{"GET", "/admin/v1/authorities/{name}/certificates", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_certificates},
	{"POST", "/admin/v1/authorities/{name}/certificates/{serial}/revoke", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_certificate_revoke},
	{"GET", "/admin/v1/audit", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_audit},
	{"POST", "/admin/v1/tokens", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN_GLOBAL, 0,
	 subca__admin_token_create},
	{"GET", "/admin/v1/tokens", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN_GLOBAL, 0,
	 subca__admin_tokens_list},
	{"POST", "/admin/v1/tokens/{id}/revoke", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN_GLOBAL, 0,
	 subca__admin_token_revoke},
	{"POST", "/admin/v1/authorities/{name}/certificates", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_certificate_issue},
	{"GET", "/admin/v1/authorities/{name}/provisioners", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_provisioners_list},
	{"POST", "/admin/v1/authorities/{name}/provisioners", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_provisioner_add},
	{"DELETE", "/admin/v1/authorities/{name}/provisioners/{provisioner}", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN, 0,
	 subca__admin_provisioner_remove},
	/* unattended rotation runs a command on this host: global admin only */
	{"GET", "/admin/v1/authorities/{name}/rotation", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN_GLOBAL, 0,
	 subca__admin_rotation_get},
	{"PUT", "/admin/v1/authorities/{name}/rotation", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN_GLOBAL, 0,
	 subca__admin_rotation_put},
	{"DELETE", "/admin/v1/authorities/{name}/rotation", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN_GLOBAL, 0,
	 subca__admin_rotation_delete},
	{"POST", "/admin/v1/authorities/{name}/rotation/run", SUBCA_SCOPE_SERVER, SUBCA_CRED_ADMIN_GLOBAL, 0,
	 subca__admin_rotation_run},
	/* sign API (api_sign.c) */
	{"POST", "/sign", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_PROVISIONER,
	 SUBCA_MAX_REQUEST_BODY, subca__api_sign},
	/* mTLS with the current leaf, checked by the handler */
	{"POST", "/renew", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_NONE,
	 SUBCA_MAX_REQUEST_BODY, subca__api_renew},
	/* a provisioner credential or mTLS with the certificate itself,
	 * checked by the handler */
	{"POST", "/revoke", SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_NONE,
	 SUBCA_MAX_REQUEST_BODY, subca__api_revoke},
	/* ACME (src/server/acme): public by nature; POSTs carry a JWS that
	 * the handlers verify (RFC 8555 6.2) */
#define SUBCA__ACME(m, path, h) \
	{m, "/acme/{provisioner}" path, SUBCA_SCOPE_AUTHORITY, SUBCA_CRED_NONE, 0, h}
	SUBCA__ACME("GET", "/directory", subca__acme_directory),
	SUBCA__ACME("HEAD", "/new-nonce", subca__acme_new_nonce),
	SUBCA__ACME("GET", "/new-nonce", subca__acme_new_nonce),
	SUBCA__ACME("POST", "/new-account", subca__acme_new_account),
	SUBCA__ACME("POST", "/account/{id}", subca__acme_account),
	SUBCA__ACME("POST", "/account/{id}/orders", subca__acme_account_orders),
	SUBCA__ACME("POST", "/new-order", subca__acme_new_order),
	SUBCA__ACME("POST", "/order/{id}", subca__acme_order),
	SUBCA__ACME("POST", "/order/{id}/finalize", subca__acme_finalize),
	SUBCA__ACME("POST", "/authz/{id}", subca__acme_authz),
	SUBCA__ACME("POST", "/chall/{id}", subca__acme_challenge),
	SUBCA__ACME("POST", "/cert/{id}", subca__acme_cert),
	SUBCA__ACME("POST", "/cert/{id}/{n}", subca__acme_cert_alt),
	SUBCA__ACME("POST", "/revoke-cert", subca__acme_revoke),
	SUBCA__ACME("POST", "/key-change", subca__acme_key_change),
	SUBCA__ACME("GET", "/renewal-info/{id}", subca__acme_renewal_info),
#undef SUBCA__ACME
	/* admin API and sign API: add their routes here */
};

const size_t subca__nroutes = sizeof(subca__routes) / sizeof(subca__routes[0]);
