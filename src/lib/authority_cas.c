/*
 * The CAs above a leaf an authority would issue now: the issuing
 * intermediate and the customer's chain. Front ends that decide about a
 * name before any certificate exists (ACME newOrder) check it against
 * their name constraints with subca_names_check_constraints, the check
 * issuance itself makes.
 */
#include "subca/authority.h"

#include <string.h>

#include "subca/ossl.h"

static void subca__cas_freep(STACK_OF(X509) **s)
{
	sk_X509_pop_free(*s, X509_free);
	*s = NULL;
}

/* Push a new reference to `x` onto `s`. */
static subca_result subca__cas_push(STACK_OF(X509) *s, X509 *x)
{
	SUBCA_ENSURE(X509_up_ref(x) == 1, SUBCA_E_NOMEM, "out of memory");
	if (sk_X509_push(s, x) > 0)
		return SUBCA_OK;
	X509_free(x);
	SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
}

static subca_result subca__cas_fill(STACK_OF(X509) *s, X509 *cert,
				    const struct subca_root *root)
{
	SUBCA_TRY(subca__cas_push(s, cert));
	for (int i = 0; i < sk_X509_num(root->chain); i++)
		SUBCA_TRY(subca__cas_push(s, sk_X509_value(root->chain, i)));
	return SUBCA_OK;
}

/* From the issuer cache when it holds this certificate (no key load),
 * else parsed from the store. */
static subca_result subca__cas_of(const struct subca_ctx *c,
				  const struct subca_authority_rec *a,
				  const struct subca_intermediate_rec *im,
				  STACK_OF(X509) *s)
{
	const struct subca_issuer_entry *e = NULL;
	struct subca_root_rec rec = {0};
	struct subca_root *root = NULL;
	SUBCA_AUTO(X509) X509 *cert = NULL;
	subca_result rv;

	if (c->issuers != NULL && im->fingerprint != NULL)
		e = subca_issuer_cache_get(c->issuers, im->id, im->fingerprint);
	if (e != NULL) {
		rv = subca__cas_fill(s, e->cert, e->root);
		subca_issuer_entry_release(e);
		return rv;
	}
	SUBCA_TRY(subca_pem_load_x509(im->cert_pem, &cert));
	rv = c->store->ops->root_get(c->store, a->id, &rec);
	if (rv == SUBCA_OK)
		rv = subca_root_load(subca_slice_of(rec.pem, strlen(rec.pem)),
				     &root);
	if (rv == SUBCA_OK)
		rv = subca__cas_fill(s, cert, root);
	subca_root_free(root);
	subca_root_rec_cleanup(&rec);
	return rv;
}

subca_result subca_authority_issuing_cas(const struct subca_ctx *c,
					 const char *name,
					 STACK_OF(X509) **out)
{
	struct subca_authority_rec a;
	struct subca_intermediate_list l = {0};
	STACK_OF(X509) *s __attribute__((cleanup(subca__cas_freep))) = NULL;
	subca_result rv;
	long idx;

	*out = NULL;
	SUBCA_TRY(subca_authority_get(c, name, &a));
	rv = c->store->ops->intermediate_list(c->store, a.id, &l);
	idx = rv == SUBCA_OK ? subca_intermediate_issuing(&l, c->now) : -1;
	if (idx >= 0) {
		s = sk_X509_new_null();
		rv = s != NULL ? subca__cas_of(c, &a, &l.v[idx], s)
			       : subca_error_set(SUBCA_E_NOMEM, __FILE__,
						 __LINE__, "out of memory");
	}
	subca_intermediate_list_cleanup(&l);
	subca_authority_rec_cleanup(&a);
	SUBCA_TRY(rv);
	*out = subca_steal(&s);
	return SUBCA_OK;
}
