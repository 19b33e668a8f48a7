/*
 * The authentication hook the pipeline calls for routes that need a
 * credential (see struct subca_auth_ops in server_int.h).
 *
 * Admin routes: "Authorization: Bearer subca_adm_..." looked up by the
 * SHA-256 of the secret (only hashes are stored), refused when unknown,
 * revoked or expired; or a TLS client certificate that chains to the CA
 * given by `subca serve --admin-client-ca`, which is a global admin.
 * A token scoped to some authorities is answered 404 "no authority named X"
 * for any other authority (it must not learn which exist) and 403 on routes
 * that need a global credential. Provisioner routes go to
 * subca__auth_provisioner (auth_prov.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "admin_int.h"
#include "subca/credential.h"
#include "subca/alloc.h"
#include "subca/ossl.h"

/* The admin client CA (mTLS), loaded before the workers start; read-only
 * afterwards, so workers share it without a lock. */
static X509_STORE *subca__admin_ca;

#define SUBCA__BEARER "Bearer "
#define SUBCA__ADMIN_PREFIX "/admin/v1/authorities/{name}"

/* ---- the admin client CA ----------------------------------------------- */

subca_result subca__auth_admin_ca_load(const char *file)
{
	SUBCA_AUTO(X509_STORE) X509_STORE *st = NULL;
	SUBCA_AUTO(BIO) BIO *bio = NULL;
	X509 *x;
	int n = 0;

	subca__auth_admin_ca_free();
	if (file == NULL)
		return SUBCA_OK;
	bio = BIO_new_file(file, "r");
	SUBCA_OSSL(bio != NULL, SUBCA_E_IO, "cannot read the admin client CA %s",
		   file);
	st = X509_STORE_new();
	SUBCA_OSSL(st != NULL, SUBCA_E_NOMEM, "out of memory");
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		int ok = X509_STORE_add_cert(st, x);

		X509_free(x);
		SUBCA_OSSL(ok == 1, SUBCA_E_INVALID_ARGUMENT,
			   "cannot use a certificate of %s", file);
		n++;
	}
	ERR_clear_error();
	SUBCA_ENSURE(n > 0, SUBCA_E_INVALID_ARGUMENT,
		     "the admin client CA %s holds no PEM certificate", file);
	/* RFC 5280 4.2.1.12: the client certificate must be meant for TLS
	 * client authentication */
	SUBCA_OSSL(X509_STORE_set_purpose(st, X509_PURPOSE_SSL_CLIENT) == 1,
		   SUBCA_E_CRYPTO, "cannot set the verification purpose");
	subca__admin_ca = subca_steal(&st);
	return SUBCA_OK;
}

void subca__auth_admin_ca_free(void)
{
	X509_STORE_free(subca__admin_ca);
	subca__admin_ca = NULL;
}

/* ---- principals -------------------------------------------------------- */

const struct subca_admin_principal *
subca__admin_principal(const struct subca_request *req)
{
	return req->principal;
}

bool subca__admin_allows(const struct subca_request *req,
			 const char *authority)
{
	const struct subca_admin_principal *p = req->principal;

	return p != NULL && authority != NULL &&
	       subca_scope_allows(p->scope, authority);
}

static subca_result subca__principal_new(struct subca_request *req,
					 int64_t token_id, const char *scope)
{
	struct subca_admin_principal *p = subca_calloc(1, sizeof(*p));

	SUBCA_ENSURE(p != NULL, SUBCA_E_NOMEM, "out of memory");
	p->token_id = token_id;
	if (scope != NULL && (p->scope = subca_strdup(scope)) == NULL) {
		subca_free(p);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
	}
	req->principal = p;
	return SUBCA_OK;
}

static void subca__auth_release(struct subca_request *req)
{
	struct subca_admin_principal *p = req->principal;

	if (req->route != NULL && req->route->auth == SUBCA_CRED_PROVISIONER) {
		subca__auth_provisioner_release(req);
		return;
	}
	if (p != NULL)
		subca_free(p->scope);
	subca_free(p);
	req->principal = NULL;
}

/* ---- admin tokens ------------------------------------------------------ */

/* RFC 6750 3: a 401 tells the client which scheme to use. */
static subca_result subca__unauthorized(struct subca_request *req,
					subca_result rv)
{
	if (rv == SUBCA_E_AUTH &&
	    subca_response_header(req, "WWW-Authenticate",
				  "Bearer realm=\"subca-admin\"") != SUBCA_OK)
		req->close = true; /* no room for it; the problem still says 401 */
	return rv;
}

static subca_result subca__token_usable(const struct subca_admin_token_rec *t,
					time_t now)
{
	char when[32] = "-";
	time_t e = (time_t)t->expires;
	struct tm tm;

	SUBCA_ENSURE(t->revoked == 0, SUBCA_E_AUTH,
		     "admin token #%lld has been revoked", (long long)t->id);
	if (t->expires == 0 || t->expires > (int64_t)now)
		return SUBCA_OK;
	if (gmtime_r(&e, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	subca_error_set(SUBCA_E_AUTH, __FILE__, __LINE__,
			"admin token #%lld expired at %s", (long long)t->id,
			when);
	subca_error_hint("create a new one: subca admin token create");
	return SUBCA_E_AUTH;
}

static subca_result subca__admin_token(struct subca_request *req,
				       const char *authz)
{
	struct subca_store *st = req->ctx.store;
	struct subca_admin_token_rec t = {0};
	char hash[SUBCA_CREDENTIAL_HASH_SIZE];
	const char *secret;
	subca_result rv;

	/* RFC 6750 2.1 (RFC 9110 11.1: the scheme ignores case) */
	SUBCA_ENSURE(strncasecmp(authz, SUBCA__BEARER,
				 strlen(SUBCA__BEARER)) == 0,
		     SUBCA_E_AUTH,
		     "the Authorization header is not \"Bearer TOKEN\"");
	secret = authz + strlen(SUBCA__BEARER);
	SUBCA_TRY(subca_credential_validate(SUBCA_SECRET_ADMIN, secret));
	SUBCA_TRY(subca_credential_hash(secret, strlen(secret), hash));
	rv = st->ops->admin_token_get_by_hash(st, hash, &t);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_AUTH, "unknown admin token");
	SUBCA_TRY(rv);
	rv = subca__token_usable(&t, req->ctx.now);
	if (rv == SUBCA_OK)
		rv = subca__principal_new(req, t.id, t.scope);
	if (rv == SUBCA_OK) {
		snprintf(req->actor_buf, sizeof(req->actor_buf), "token:%lld",
			 (long long)t.id);
		req->ctx.actor = req->actor_buf;
	}
	subca_admin_token_rec_cleanup(&t);
	return rv;
}

/* ---- admin client certificates ------------------------------------------ */

static subca_result subca__admin_mtls(struct subca_request *req)
{
	SUBCA_AUTO(X509_STORE_CTX) X509_STORE_CTX *vc = X509_STORE_CTX_new();
	char subject[256];
	int ok;

	SUBCA_OSSL(vc != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(X509_STORE_CTX_init(vc, subca__admin_ca, req->peer_cert,
				       NULL) == 1,
		   SUBCA_E_NOMEM, "out of memory");
	X509_STORE_CTX_set_time(vc, 0, req->ctx.now);
	ok = X509_verify_cert(vc);
	ERR_clear_error();
	SUBCA_ENSURE(ok == 1, SUBCA_E_AUTH,
		     "the client certificate is not an admin certificate: %s",
		     X509_verify_cert_error_string(
			     X509_STORE_CTX_get_error(vc)));
	if (X509_NAME_oneline(X509_get_subject_name(req->peer_cert), subject,
			      sizeof(subject)) == NULL)
		snprintf(subject, sizeof(subject), "?");
	SUBCA_TRY(subca__principal_new(req, 0, NULL));
	snprintf(req->actor_buf, sizeof(req->actor_buf), "mtls:");
	subca__printable(subject, strlen(subject), req->actor_buf + 5,
			 sizeof(req->actor_buf) - 5);
	req->ctx.actor = req->actor_buf;
	return SUBCA_OK;
}

static subca_result subca__admin_authenticate(struct subca_request *req)
{
	const char *authz = subca_request_header(req, "Authorization");

	if (authz != NULL)
		return subca__admin_token(req, authz);
	if (req->peer_cert != NULL && subca__admin_ca != NULL)
		return subca__admin_mtls(req);
	subca_error_set(SUBCA_E_AUTH, __FILE__, __LINE__,
			"no admin credential");
	subca_error_hint("send \"Authorization: Bearer subca_adm_...\" "
			 "(subca admin token create)");
	return SUBCA_E_AUTH;
}

/* The authority a request names: the resolved one on authority routes,
 * else the {name} of /admin/v1/authorities/{name}/... */
static subca_result subca__named_authority(const struct subca_request *req,
					   char *buf, size_t len)
{
	buf[0] = '\0';
	if (req->authority != NULL) {
		snprintf(buf, len, "%s", req->authority);
		return SUBCA_OK;
	}
	if (req->route == NULL ||
	    strncmp(req->route->pattern, SUBCA__ADMIN_PREFIX,
		    strlen(SUBCA__ADMIN_PREFIX)) != 0)
		return SUBCA_OK;
	return subca_request_param(req, 0, buf, len);
}

static subca_result subca__admin_check(struct subca_request *req,
				       enum subca_auth_kind kind)
{
	const struct subca_admin_principal *p;
	char name[SUBCA_MAX_LABEL + 1], safe[SUBCA_MAX_LABEL + 1];
	subca_result rv;

	rv = subca__admin_authenticate(req);
	if (rv != SUBCA_OK)
		return subca__unauthorized(req, rv);
	p = req->principal;
	if (kind == SUBCA_CRED_ADMIN_GLOBAL)
		SUBCA_ENSURE(p->scope == NULL, SUBCA_E_POLICY,
			     "this admin token is limited to the authorities "
			     "%s; only a global admin credential may do this",
			     p->scope);
	rv = subca__named_authority(req, name, sizeof(name));
	if (rv == SUBCA_E_TOO_LARGE)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority with such a name");
	SUBCA_TRY(rv);
	/* Outside its scope an authority does not exist for this token:
	 * 404 like an unknown name, so that it cannot probe for others. */
	if (name[0] != '\0' && !subca_scope_allows(p->scope, name)) {
		subca__printable(name, strlen(name), safe, sizeof(safe));
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority named \"%s\"",
			   safe);
	}
	return SUBCA_OK;
}

/* ---- the hook ----------------------------------------------------------- */

/* Until auth_prov.c provides it, provisioner routes refuse everyone. */
__attribute__((weak)) subca_result
subca__auth_provisioner(struct subca_request *req)
{
	(void)req;
	SUBCA_BAIL(SUBCA_E_AUTH, "no provisioner credential");
}

__attribute__((weak)) void
subca__auth_provisioner_release(struct subca_request *req)
{
	req->principal = NULL;
}

static subca_result subca__auth_check(struct subca_request *req,
				      enum subca_auth_kind kind)
{
	switch (kind) {
	case SUBCA_CRED_ADMIN:
	case SUBCA_CRED_ADMIN_GLOBAL: return subca__admin_check(req, kind);
	case SUBCA_CRED_PROVISIONER: return subca__auth_provisioner(req);
	case SUBCA_CRED_NONE:
	case SUBCA_CRED_PUBLIC_HTTP: return SUBCA_OK;
	}
	SUBCA_BAIL(SUBCA_E_INTERNAL, "unknown credential kind %d", (int)kind);
}

static const struct subca_auth_ops subca__auth = {
	.check = subca__auth_check,
	.release = subca__auth_release,
};

const struct subca_auth_ops *const subca__auth_ops = &subca__auth;
