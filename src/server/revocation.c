/*
 * Revocation publishing state of the server: the CRL maintenance thread
 * and the OCSP answer cache (see revocation_int.h).
 *
 * The thread owns its own store connection. It sleeps on a condition
 * variable until the earliest debounced rebuild is due, the periodic check
 * comes round, or the server stops; builds run without the lock held, so
 * revocations arriving meanwhile queue the next build.
 */
#include "revocation_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "server_int.h"
#include "subca/alloc.h"
#include "subca/revocation.h"
#include "subca/store_sqlite.h"

/* Authorities waiting for a rebuild; past this many, all are rebuilt. */
#define SUBCA__DIRTY_MAX 64

struct subca__slot {
	int64_t authority_id;
	uint8_t key[SUBCA__OCSP_CACHE_KEY_MAX];
	size_t key_len;
	uint8_t *der;
	size_t der_len;
	int64_t expires;
	uint64_t generation;
};

struct subca__dirty {
	int64_t authority_id;
	int64_t due;
};

struct subca__revocation {
	struct subca__revocation_config cfg;
	pthread_mutex_t lock; /* dirty list, stop */
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stop;
	struct subca__dirty dirty[SUBCA__DIRTY_MAX];
	size_t ndirty;
	int64_t all_due; /* rebuild every authority at this time (0: no) */
	atomic_uint_least64_t generation;
	pthread_mutex_t cache_lock;
	struct subca__slot *slots;
	struct subca_store *store; /* the thread's */
};

int64_t subca__revocation_crl_validity(const struct subca__revocation *r)
{
	return r ? r->cfg.crl_validity : SUBCA_CRL_DEFAULT_VALIDITY;
}

int64_t subca__revocation_ocsp_validity(const struct subca__revocation *r)
{
	return r ? r->cfg.ocsp_validity : SUBCA_OCSP_DEFAULT_VALIDITY;
}

/* ---- OCSP cache ------------------------------------------------------------ */

static size_t subca__slot_index(int64_t aid, struct subca_slice key)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)aid; /* FNV-1a */

	for (size_t i = 0; i < key.len; i++)
		h = (h ^ key.p[i]) * 1099511628211ull;
	return (size_t)(h % SUBCA__OCSP_CACHE_SLOTS);
}

uint64_t subca__ocsp_cache_generation(struct subca__revocation *r)
{
	return r ? atomic_load(&r->generation) : 0;
}

bool subca__ocsp_cache_get(struct subca__revocation *r, int64_t authority_id,
			   struct subca_slice key, int64_t now,
			   struct subca_buf *out)
{
	struct subca__slot *s;
	bool hit;

	subca_buf_init(out, SUBCA_MAX_RESPONSE_BODY);
	if (r == NULL || key.len > SUBCA__OCSP_CACHE_KEY_MAX)
		return false;
	s = &r->slots[subca__slot_index(authority_id, key)];
	pthread_mutex_lock(&r->cache_lock);
	hit = s->der != NULL && s->authority_id == authority_id &&
	      s->key_len == key.len && memcmp(s->key, key.p, key.len) == 0 &&
	      now < s->expires &&
	      s->generation == atomic_load(&r->generation) &&
	      subca_buf_append(out, s->der, s->der_len) == SUBCA_OK;
	pthread_mutex_unlock(&r->cache_lock);
	if (!hit)
		subca_error_clear();
	return hit;
}

void subca__ocsp_cache_put(struct subca__revocation *r, int64_t authority_id,
			   struct subca_slice key, struct subca_slice der,
			   int64_t expires, uint64_t generation)
{
	struct subca__slot *s;
	uint8_t *copy;

	if (r == NULL || key.len > SUBCA__OCSP_CACHE_KEY_MAX ||
	    generation != atomic_load(&r->generation))
		return;
	copy = subca_malloc(der.len);
	if (copy == NULL)
		return; /* not cached: answered anyway */
	memcpy(copy, der.p, der.len);
	s = &r->slots[subca__slot_index(authority_id, key)];
	pthread_mutex_lock(&r->cache_lock);
	subca_free(s->der);
	s->authority_id = authority_id;
	memcpy(s->key, key.p, key.len);
	s->key_len = key.len;
	s->der = copy;
	s->der_len = der.len;
	s->expires = expires;
	s->generation = generation;
	pthread_mutex_unlock(&r->cache_lock);
}

/* ---- revocations ----------------------------------------------------------- */

void subca__revocation_changed(struct subca__revocation *r,
			       int64_t authority_id)
{
	int64_t due;
	size_t i;

	if (r == NULL)
		return;
	atomic_fetch_add(&r->generation, 1);
	if (!r->cfg.maintenance)
		return;
	due = (int64_t)time(NULL) + r->cfg.rebuild_delay;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->ndirty; i++)
		if (r->dirty[i].authority_id == authority_id)
			break; /* already queued: keep the earlier time */
	if (i == r->ndirty && i < SUBCA__DIRTY_MAX) {
		r->dirty[r->ndirty].authority_id = authority_id;
		r->dirty[r->ndirty++].due = due;
	} else if (i == r->ndirty && r->all_due == 0) {
		r->all_due = due;
	}
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* ---- the maintenance thread ------------------------------------------------ */

static void subca__ctx(struct subca__revocation *r, struct subca_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->store = r->store;
	c->keys = r->cfg.keys;
	c->actor = "server:crl";
	c->now = time(NULL);
}

/* Publish a new CRL for each issuing-capable intermediate of `aid`; with
 * `only_due`, only those missing or past three quarters of their life. */
static void subca__rebuild(struct subca__revocation *r, int64_t aid,
			   bool only_due)
{
	struct subca_intermediate_list l = {0};
	struct subca_ctx c;

	subca__ctx(r, &c);
	if (r->store->ops->intermediate_list(r->store, aid, &l) != SUBCA_OK) {
		subca_log_event("crl.error", "authority %lld: %s",
				(long long)aid, subca_error_reason());
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct subca_intermediate_rec *im = &l.v[i];
		struct subca_crl_rec crl = {0};
		int64_t next = 0;
		subca_result rv;

		/* its certificates all expired with it: nothing to publish */
		if (im->cert_pem == NULL || im->not_after <= (int64_t)c.now)
			continue;
		if (only_due &&
		    r->store->ops->crl_next_update(r->store, im->id, &next) ==
			    SUBCA_OK &&
		    next - (int64_t)c.now > r->cfg.crl_validity / 4)
			continue;
		rv = subca_crl_publish(&c, im, r->cfg.crl_validity, &crl);
		if (rv == SUBCA_OK)
			subca_log_event("crl.publish",
					"intermediate %lld: CRL %lld with %lld "
					"entries, %zu bytes",
					(long long)im->id, (long long)crl.number,
					(long long)crl.entries, crl.der_len);
		else
			subca_log_event("crl.error", "intermediate %lld: %s",
					(long long)im->id, subca_error_reason());
		subca_crl_rec_cleanup(&crl);
	}
	subca_intermediate_list_cleanup(&l);
	subca_error_clear();
}

static void subca__rebuild_all(struct subca__revocation *r, bool only_due)
{
	struct subca_authority_list l = {0};

	if (r->store->ops->authority_list(r->store, &l) != SUBCA_OK) {
		subca_log_event("crl.error", "listing authorities: %s",
				subca_error_reason());
		subca_error_clear();
		return;
	}
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].state == SUBCA_AUTH_ACTIVE)
			subca__rebuild(r, l.v[i].id, only_due);
	subca_authority_list_cleanup(&l);
}

/* Under the lock: take the authorities due at `now` into ids[]. */
static size_t subca__take_due(struct subca__revocation *r, int64_t now,
			      int64_t *ids, bool *all)
{
	size_t n = 0, keep = 0;

	*all = r->all_due != 0 && r->all_due <= now;
	if (*all)
		r->all_due = 0;
	for (size_t i = 0; i < r->ndirty; i++) {
		if (r->dirty[i].due <= now)
			ids[n++] = r->dirty[i].authority_id;
		else
			r->dirty[keep++] = r->dirty[i];
	}
	r->ndirty = keep;
	return n;
}

static int64_t subca__next_wake(struct subca__revocation *r, int64_t check)
{
	int64_t wake = check;

	for (size_t i = 0; i < r->ndirty; i++)
		if (r->dirty[i].due < wake)
			wake = r->dirty[i].due;
	if (r->all_due != 0 && r->all_due < wake)
		wake = r->all_due;
	return wake;
}

static void *subca__main(void *arg)
{
	struct subca__revocation *r = arg;
	int64_t check = 0; /* at once: build what is missing or due */
	int64_t ids[SUBCA__DIRTY_MAX];

	(void)pthread_setname_np(pthread_self(), "subca-crl");
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		int64_t now = (int64_t)time(NULL);
		bool all, periodic = now >= check;
		size_t n = subca__take_due(r, now, ids, &all);

		if (n == 0 && !all && !periodic) {
			struct timespec ts = {(time_t)subca__next_wake(r, check), 0};

			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		for (size_t i = 0; i < n && !all; i++)
			subca__rebuild(r, ids[i], false);
		if (all || periodic)
			subca__rebuild_all(r, !all);
		if (periodic)
			check = (int64_t)time(NULL) + SUBCA__CRL_CHECK_SECONDS;
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---- lifetime -------------------------------------------------------------- */

static void subca__free(struct subca__revocation *r)
{
	for (size_t i = 0; r->slots != NULL && i < SUBCA__OCSP_CACHE_SLOTS; i++)
		subca_free(r->slots[i].der);
	subca_free(r->slots);
	if (r->store != NULL)
		r->store->ops->close(r->store);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->cache_lock);
	pthread_cond_destroy(&r->cond);
	subca_free(r);
}

static subca_result subca__start_thread(struct subca__revocation *r)
{
	int rc;

	SUBCA_TRY(subca_store_sqlite_open(r->cfg.db, false, &r->store));
	rc = pthread_create(&r->thread, NULL, subca__main, r);
	SUBCA_ENSURE(rc == 0, SUBCA_E_INTERNAL,
		     "cannot start the CRL maintenance thread: %s",
		     strerror(rc));
	r->started = true;
	return SUBCA_OK;
}

subca_result subca__revocation_start(const struct subca__revocation_config *cfg,
				     struct subca__revocation **out)
{
	struct subca__revocation *r = subca_calloc(1, sizeof(*r));
	subca_result rv = SUBCA_OK;

	*out = NULL;
	SUBCA_ENSURE(r != NULL, SUBCA_E_NOMEM, "out of memory");
	r->cfg = *cfg;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->cache_lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	atomic_init(&r->generation, 1);
	r->slots = subca_calloc(SUBCA__OCSP_CACHE_SLOTS, sizeof(*r->slots));
	if (r->slots == NULL)
		rv = subca_error_set(SUBCA_E_NOMEM, __FILE__, __LINE__,
				     "out of memory");
	if (rv == SUBCA_OK && cfg->maintenance)
		rv = subca__start_thread(r);
	if (rv != SUBCA_OK) {
		subca__free(r);
		return rv;
	}
	*out = r;
	return SUBCA_OK;
}

void subca__revocation_stop(struct subca__revocation *r)
{
	if (r == NULL)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_cond_signal(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	subca__free(r);
}
