/*
 * The issuer cache (issuer_cache.h). A small array under one mutex: the
 * number of intermediates a server issues from is small, a lookup is a
 * short scan, and the lock is held for that scan only, never while
 * loading or signing.
 */
#include "subca/issuer_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/buf.h"
#include "subca/limits.h"
#include "subca/ossl.h"

struct subca_issuer_cache {
	pthread_mutex_t lock;
	size_t max;
	size_t n;
	uint64_t clock; /* bumped on every use, for least-recently-used */
	struct subca_issuer_cache_stats stats;
	struct subca_issuer_entry *v[];
};

/* ---- entries ------------------------------------------------------------ */

static void subca__entry_free(struct subca_issuer_entry *e)
{
	X509_free(e->cert);
	EVP_PKEY_free(e->key);
	subca_root_free(e->root);
	subca_free(e->ca_pem);
	subca_free(e);
}

void subca_issuer_entry_release(const struct subca_issuer_entry *ce)
{
	struct subca_issuer_entry *e = (struct subca_issuer_entry *)ce;

	if (e != NULL && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
		subca__entry_free(e);
}

static void subca__entry_ref(struct subca_issuer_entry *e)
{
	__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
}

static bool subca__fp_valid(const char *fp)
{
	size_t n = fp ? strlen(fp) : 0;

	if (n != SUBCA_ISSUER_FP_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((fp[i] >= '0' && fp[i] <= '9') ||
		      (fp[i] >= 'a' && fp[i] <= 'f')))
			return false;
	return true;
}

/* A key-store handle that is not the certificate's key would make
 * certificates nobody can verify: caught once here rather than by
 * verifying every leaf (subca_issuer.key_checked). */
static subca_result subca__key_check(struct subca_issuer_entry *e)
{
	SUBCA_OSSL(X509_check_private_key(e->cert, e->key) == 1, SUBCA_E_CRYPTO,
		   "the issuing key does not match the issuing certificate");
	e->key_checked = true;
	return SUBCA_OK;
}

/* The intermediate, then the customer's CAs below the anchor. */
static subca_result subca__ca_pem(struct subca_issuer_entry *e)
{
	SUBCA_BUF_AUTO struct subca_buf all = {0};
	STACK_OF(X509) *chain = e->root->chain;

	subca_buf_init(&all, SUBCA_MAX_CERT_INPUT);
	for (int i = sk_X509_num(chain); i >= 1; i--) {
		X509 *x = i == sk_X509_num(chain) ? e->cert
						  : sk_X509_value(chain, i);
		SUBCA_BUF_AUTO struct subca_buf pem = {0};

		SUBCA_TRY(subca_pem_x509(x, &pem));
		SUBCA_TRY(subca_buf_append(&all, pem.p, pem.len));
	}
	SUBCA_TRY(subca_buf_terminate(&all));
	e->ca_pem = (char *)subca_buf_steal(&all, &e->ca_pem_len);
	return SUBCA_OK;
}

subca_result subca_issuer_entry_new(int64_t id, const char *fingerprint,
				    X509 *cert, EVP_PKEY *key,
				    struct subca_root *root,
				    const struct subca_issuer_entry **out)
{
	struct subca_issuer_entry *e = subca_calloc(1, sizeof(*e));
	subca_result rv;

	*out = NULL;
	if (e == NULL) {
		X509_free(cert);
		EVP_PKEY_free(key);
		subca_root_free(root);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
	}
	e->cert = cert;
	e->key = key;
	e->root = root;
	e->refs = 1;
	e->id = id;
	if (cert == NULL || key == NULL || root == NULL || root->chain == NULL ||
	    !subca__fp_valid(fingerprint)) {
		subca__entry_free(e);
		SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
			   "an issuer entry needs a certificate, a key, a root "
			   "chain and a SHA-256 fingerprint in hex");
	}
	memcpy(e->fingerprint, fingerprint, SUBCA_ISSUER_FP_LEN + 1);
	rv = subca__key_check(e);
	if (rv == SUBCA_OK)
		rv = subca__ca_pem(e);
	if (rv != SUBCA_OK) {
		subca__entry_free(e);
		return rv;
	}
	*out = e;
	return SUBCA_OK;
}

/* ---- the cache ---------------------------------------------------------- */

subca_result subca_issuer_cache_new(size_t max_entries,
				    struct subca_issuer_cache **out)
{
	struct subca_issuer_cache *c;

	*out = NULL;
	SUBCA_ENSURE(max_entries >= 1 && max_entries <= SUBCA_MAX_CACHED_ISSUERS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "an issuer cache holds 1 to %d entries, not %zu",
		     SUBCA_MAX_CACHED_ISSUERS, max_entries);
	c = subca_calloc(1, sizeof(*c) + max_entries * sizeof(c->v[0]));
	SUBCA_ENSURE(c != NULL, SUBCA_E_NOMEM, "out of memory");
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		subca_free(c);
		SUBCA_BAIL(SUBCA_E_INTERNAL, "cannot create a mutex");
	}
	c->max = max_entries;
	*out = c;
	return SUBCA_OK;
}

void subca_issuer_cache_free(struct subca_issuer_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		subca_issuer_entry_release(c->v[i]);
	pthread_mutex_destroy(&c->lock);
	subca_free(c);
}

/* Index of the entry for `id`, or -1. Called with the lock held. */
static long subca__find(const struct subca_issuer_cache *c, int64_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i]->id == id)
			return (long)i;
	return -1;
}

const struct subca_issuer_entry *
subca_issuer_cache_get(struct subca_issuer_cache *c, int64_t id,
		       const char *fingerprint)
{
	struct subca_issuer_entry *e = NULL;
	long i;

	if (fingerprint == NULL)
		return NULL;
	pthread_mutex_lock(&c->lock);
	i = subca__find(c, id);
	if (i >= 0 && strcmp(c->v[i]->fingerprint, fingerprint) == 0) {
		e = c->v[i];
		e->used = ++c->clock;
		subca__entry_ref(e);
		c->stats.hits++;
	} else {
		c->stats.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

/* The slot a new entry takes: its id's, a free one, or the least recently
 * used (whose entry the caller releases). Called with the lock held. */
static size_t subca__slot(struct subca_issuer_cache *c, int64_t id,
			  struct subca_issuer_entry **old)
{
	long i = subca__find(c, id);
	size_t lru = 0;

	*old = NULL;
	if (i >= 0) {
		*old = c->v[i];
		return (size_t)i;
	}
	if (c->n < c->max)
		return c->n++;
	for (size_t k = 1; k < c->n; k++)
		if (c->v[k]->used < c->v[lru]->used)
			lru = k;
	*old = c->v[lru];
	c->stats.evictions++;
	return lru;
}

void subca_issuer_cache_put(struct subca_issuer_cache *c,
			    const struct subca_issuer_entry *ce)
{
	struct subca_issuer_entry *e = (struct subca_issuer_entry *)ce;
	struct subca_issuer_entry *old;
	size_t slot;

	subca__entry_ref(e);
	pthread_mutex_lock(&c->lock);
	slot = subca__slot(c, e->id, &old);
	c->v[slot] = e;
	e->used = ++c->clock;
	pthread_mutex_unlock(&c->lock);
	/* outside the lock: freeing a key and certificates takes a while */
	subca_issuer_entry_release(old);
}

void subca_issuer_cache_drop(struct subca_issuer_cache *c, int64_t id)
{
	struct subca_issuer_entry *old = NULL;
	long i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	i = subca__find(c, id);
	if (i >= 0) {
		old = c->v[i];
		c->v[i] = c->v[--c->n];
	}
	pthread_mutex_unlock(&c->lock);
	subca_issuer_entry_release(old); /* holders keep theirs */
}

void subca_issuer_cache_stats(struct subca_issuer_cache *c,
			      struct subca_issuer_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->entries = c->n;
	pthread_mutex_unlock(&c->lock);
}
