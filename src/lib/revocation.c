/*
 * Revocation publishing: CRLs built from the store and signed by the
 * intermediate's key, OCSP answers looked up and signed per request.
 */
#include "subca/revocation.h"

#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/crl.h"
#include "subca/limits.h"
#include "subca/ossl.h"

static void subca__intermediates_free(struct subca_intermediate_list *l)
{
	subca_intermediate_list_cleanup(l);
}
#define SUBCA__AUTO_INTERMEDIATES \
	__attribute__((cleanup(subca__intermediates_free)))

static void subca__builder_free(struct subca_crl_builder **b)
{
	subca_crl_builder_free(*b);
}

subca_result subca_revocation_intermediate(const struct subca_ctx *c,
					   int64_t authority_id, int64_t id,
					   struct subca_intermediate_rec *out)
{
	SUBCA__AUTO_INTERMEDIATES struct subca_intermediate_list l = {0};

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(c->store->ops->intermediate_list(c->store, authority_id,
						   &l));
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].id != id || l.v[i].cert_pem == NULL)
			continue;
		*out = l.v[i];
		/* the record now belongs to `out` */
		memmove(&l.v[i], &l.v[l.n - 1], sizeof(l.v[0]));
		l.n--;
		return SUBCA_OK;
	}
	SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no intermediate %lld with a certificate",
		   (long long)id);
}

/* ---- CRL --------------------------------------------------------------- */

static subca_result subca__crl_add(void *arg, const char *serial,
				   int64_t revoked_at, int reason)
{
	return subca_crl_builder_add(arg, serial, revoked_at, reason);
}

static subca_result subca__signer(const struct subca_ctx *c,
				  const struct subca_intermediate_rec *im,
				  X509 **cert, EVP_PKEY **key)
{
	SUBCA_TRY(subca_pem_load_x509(im->cert_pem, cert));
	return c->keys->ops->load(c->keys, im->key_id, key);
}

static subca_result subca__crl_sign(const struct subca_ctx *c,
				    const struct subca_intermediate_rec *im,
				    struct subca_crl_builder *b,
				    int64_t validity, struct subca_crl_rec *out)
{
	SUBCA_AUTO(X509) X509 *cert = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	SUBCA_BUF_AUTO struct subca_buf der = {0};
	struct subca_crl_params p = {.this_update = c->now,
				     .next_update = c->now + validity};

	SUBCA_TRY(subca__signer(c, im, &cert, &key));
	p.issuer = cert;
	p.key = key;
	SUBCA_TRY(c->store->ops->crl_number_next(c->store, im->id, &p.number));
	SUBCA_TRY(subca_crl_builder_sign(b, &p, &der));
	out->intermediate_id = im->id;
	out->number = p.number;
	out->this_update = p.this_update;
	out->next_update = p.next_update;
	out->entries = (int64_t)subca_crl_builder_count(b);
	out->der = subca_buf_steal(&der, &out->der_len);
	return SUBCA_OK;
}

subca_result subca_crl_publish(const struct subca_ctx *c,
			       const struct subca_intermediate_rec *im,
			       int64_t validity, struct subca_crl_rec *out)
{
	__attribute__((cleanup(subca__builder_free)))
	struct subca_crl_builder *b = NULL;
	subca_result rv;

	memset(out, 0, sizeof(*out));
	SUBCA_ENSURE(validity > 0, SUBCA_E_INVALID_ARGUMENT,
		     "the CRL validity must be positive");
	SUBCA_ENSURE(im->cert_pem != NULL, SUBCA_E_STATE,
		     "intermediate %lld is pending: it has no certificate "
		     "to sign a CRL",
		     (long long)im->id);
	SUBCA_TRY(subca_crl_builder_new(&b));
	/* RFC 5280 5.1.2.6: entries of expired certificates may go */
	SUBCA_TRY(c->store->ops->cert_revoked_each(c->store, im->id, c->now,
						   subca__crl_add, b));
	rv = subca__crl_sign(c, im, b, validity, out);
	if (rv == SUBCA_OK)
		rv = c->store->ops->crl_put(c->store, out);
	if (rv != SUBCA_OK)
		subca_crl_rec_cleanup(out);
	return rv;
}

subca_result subca_crl_current(const struct subca_ctx *c,
			       const struct subca_intermediate_rec *im,
			       int64_t validity, struct subca_crl_rec *out)
{
	subca_result rv = c->store->ops->crl_get(c->store, im->id, out);

	if (rv == SUBCA_OK && out->next_update > (int64_t)c->now)
		return SUBCA_OK;
	subca_crl_rec_cleanup(out);
	if (rv != SUBCA_OK && rv != SUBCA_E_NOT_FOUND)
		return rv;
	return subca_crl_publish(c, im, validity, out);
}

/* ---- OCSP -------------------------------------------------------------- */

static void subca__x509s_free(X509 **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		X509_free(v[i]);
	subca_free(v);
}

/* The certificates of l's intermediates (NULL for pending ones), in order. */
static subca_result subca__issuers(const struct subca_intermediate_list *l,
				   X509 ***out)
{
	X509 **v = subca_calloc(l->n ? l->n : 1, sizeof(*v));
	subca_result rv = SUBCA_OK;

	SUBCA_ENSURE(v != NULL, SUBCA_E_NOMEM, "out of memory");
	for (size_t i = 0; i < l->n && rv == SUBCA_OK; i++)
		if (l->v[i].cert_pem != NULL)
			rv = subca_pem_load_x509(l->v[i].cert_pem, &v[i]);
	if (rv != SUBCA_OK) {
		subca__x509s_free(v, l->n);
		return rv;
	}
	*out = v;
	return SUBCA_OK;
}

static subca_result subca__status(const struct subca_ctx *c,
				  int64_t authority_id, int64_t intermediate_id,
				  const char *serial,
				  struct subca_ocsp_answer *a)
{
	struct subca_cert_rec rec = {0};
	subca_result rv = c->store->ops->cert_get(c->store, authority_id,
						  serial, &rec);

	if (rv == SUBCA_E_NOT_FOUND) {
		subca_error_clear();
		a->status = SUBCA_OCSP_UNKNOWN;
		return SUBCA_OK;
	}
	SUBCA_TRY(rv);
	if (rec.intermediate_id != intermediate_id) {
		a->status = SUBCA_OCSP_UNKNOWN; /* another issuer's serial */
	} else if (rec.status == SUBCA_CERT_REVOKED) {
		a->status = SUBCA_OCSP_REVOKED;
		a->revoked_at = rec.revoked_at;
		a->reason = rec.reason < 0 ? 0 : rec.reason;
	} else {
		a->status = SUBCA_OCSP_GOOD;
	}
	subca_cert_rec_cleanup(&rec);
	return SUBCA_OK;
}

static subca_result subca__ocsp_sign(const struct subca_ctx *c,
				     const struct subca_intermediate_rec *im,
				     X509 *issuer,
				     const struct subca_ocsp_request *req,
				     const struct subca_ocsp_answer *a,
				     struct subca_buf *der)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;

	SUBCA_TRY(c->keys->ops->load(c->keys, im->key_id, &key));
	return subca_ocsp_respond(req, issuer, key, a, der);
}

static subca_result subca__ocsp_answer(const struct subca_ctx *c,
				       int64_t authority_id,
				       const struct subca_intermediate_list *l,
				       X509 *const *issuers,
				       const struct subca_ocsp_request *req,
				       int64_t validity,
				       struct subca_buf *der,
				       struct subca_ocsp_result *res)
{
	struct subca_ocsp_answer a = {.this_update = c->now,
				      .next_update = c->now + validity};
	size_t i;

	SUBCA_TRY(subca_ocsp_request_match(req, issuers, l->n, &i));
	SUBCA_TRY(subca__status(c, authority_id, l->v[i].id, req->serial, &a));
	res->intermediate_id = l->v[i].id;
	res->status = a.status;
	res->next_update = a.next_update;
	return subca__ocsp_sign(c, &l->v[i], issuers[i], req, &a, der);
}

subca_result subca_ocsp_answer_request(const struct subca_ctx *c,
				       int64_t authority_id,
				       const struct subca_ocsp_request *req,
				       int64_t validity, struct subca_buf *der,
				       struct subca_ocsp_result *res)
{
	SUBCA__AUTO_INTERMEDIATES struct subca_intermediate_list l = {0};
	X509 **issuers = NULL;
	subca_result rv;

	subca_buf_init(der, SUBCA_MAX_RESPONSE_BODY);
	memset(res, 0, sizeof(*res));
	SUBCA_ENSURE(validity > 0, SUBCA_E_INVALID_ARGUMENT,
		     "the OCSP validity must be positive");
	SUBCA_TRY(c->store->ops->intermediate_list(c->store, authority_id,
						   &l));
	SUBCA_TRY(subca__issuers(&l, &issuers));
	rv = subca__ocsp_answer(c, authority_id, &l, issuers, req, validity,
				der, res);
	subca__x509s_free(issuers, l.n);
	return rv;
}

/* ---- URLs ---------------------------------------------------------------- */

subca_result subca_revocation_urls(const char *base, const char *name,
				   int64_t id, char *crl, char *ocsp)
{
	size_t n = strlen(base);
	int a, b;

	while (n > 0 && base[n - 1] == '/')
		n--; /* "http://ca.example/" and "http://ca.example" alike */
	a = snprintf(crl, SUBCA_MAX_URL + 1, "%.*s/a/%s/crl/%lld.crl", (int)n,
		     base, name, (long long)id);
	b = snprintf(ocsp, SUBCA_MAX_URL + 1, "%.*s/a/%s/ocsp", (int)n, base,
		     name);
	SUBCA_ENSURE(a > 0 && a <= SUBCA_MAX_URL && b > 0 && b <= SUBCA_MAX_URL,
		     SUBCA_E_TOO_LARGE, "the public URL is too long");
	return SUBCA_OK;
}
