/*
 * The challenge-validation pool: a few threads, each with its own store
 * connection, that run the blocking subca_acme_validate() (validate.h)
 * off the request threads. A challenge answered by a client is
 * "processing" in the store and queued here; a failed attempt is retried
 * (SUBCA_ACME_ATTEMPTS in all, one second apart, then two...) before the
 * challenge becomes invalid. The outcome moves the challenge, its
 * authorization and its order in one transaction.
 *
 * The store is the truth: a challenge still "processing" when a process
 * stops is picked up by the next pool that starts on the database.
 *
 * Threads start with the first work that finds none idle, up to the
 * configured number, and open their store connection then: a server
 * whose clients never answer a challenge carries neither.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acme_int.h"
#include "subca/alloc.h"
#include "subca/store_sqlite.h"

#define SUBCA__QUEUE_MAX 4096
#define SUBCA__MAX_THREADS 32

struct subca__job {
	int64_t prov;
	char id[SUBCA_ACME_ID_MAX];
	int attempt;
	time_t due;
	struct subca__job *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running, stopping;
	struct subca__job *head;
	size_t n;
	pthread_t threads[SUBCA__MAX_THREADS];
	int nthreads, max_threads, idle;
	char db[4096];
	char resolver[128];
	char connect_host[128];
	struct subca_acme_validation_cfg cfg;
} subca__pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* ---- one validation ---------------------------------------------------------- */

struct subca__vctx {
	struct subca_acme_rec c, z, o, acct;
	json_t *cdoc, *zdoc, *adoc;
	struct subca_buf kauthz;
};

static void subca__vctx_cleanup(struct subca__vctx *v)
{
	subca_acme_rec_cleanup(&v->c);
	subca_acme_rec_cleanup(&v->z);
	subca_acme_rec_cleanup(&v->o);
	subca_acme_rec_cleanup(&v->acct);
	json_decref(v->cdoc);
	json_decref(v->zdoc);
	json_decref(v->adoc);
	subca_buf_cleanup(&v->kauthz);
}

/* Everything the check needs: the chain challenge -> account. */
static subca_result subca__vload(struct subca_store *st, int64_t prov,
				 const char *id, struct subca__vctx *v)
{
	char *jwk;
	subca_result rv;

	SUBCA_TRY(st->ops->acme_get(st, SUBCA_ACME_CHALLENGE, prov, id, &v->c));
	SUBCA_TRY(st->ops->acme_get(st, SUBCA_ACME_AUTHZ, prov, v->c.parent,
				    &v->z));
	SUBCA_TRY(st->ops->acme_get(st, SUBCA_ACME_ORDER, prov, v->z.parent,
				    &v->o));
	SUBCA_TRY(st->ops->acme_get(st, SUBCA_ACME_ACCOUNT, prov, v->o.parent,
				    &v->acct));
	SUBCA_TRY(subca__acme_doc(&v->c, &v->cdoc));
	SUBCA_TRY(subca__acme_doc(&v->z, &v->zdoc));
	SUBCA_TRY(subca__acme_doc(&v->acct, &v->adoc));
	jwk = json_dumps(json_object_get(v->adoc, "jwk"), JSON_COMPACT);
	SUBCA_ENSURE(jwk != NULL, SUBCA_E_STORE, "the account has no key");
	rv = subca__acme_key_authz(json_string_value(json_object_get(v->cdoc,
								     "token")),
				   jwk, &v->kauthz);
	free(jwk);
	return rv;
}

static subca_result subca__vcheck(const struct subca_acme_validation_cfg *cfg,
				  const struct subca__vctx *v,
				  struct subca_acme_validation_error *err)
{
	const json_t *ident = json_object_get(v->zdoc, "identifier");
	struct subca_acme_ident id = {0};
	enum subca_acme_chall t;

	SUBCA_TRY(subca_acme_chall_parse(
		json_string_value(json_object_get(v->cdoc, "type")), &t));
	id.value = json_string_value(json_object_get(ident, "value"));
	id.is_ip = strcmp(json_string_value(json_object_get(ident, "type")),
			  "ip") == 0;
	return subca_acme_validate(
		cfg, t, &id, json_string_value(json_object_get(v->cdoc, "token")),
		(const char *)v->kauthz.p, err);
}

static subca_result subca__set_status(struct subca_acme_rec *r,
				      const char *status, int64_t now)
{
	subca_free(r->status);
	r->status = subca_strdup(status);
	SUBCA_ENSURE(r->status != NULL, SUBCA_E_NOMEM, "out of memory");
	r->updated = now;
	return SUBCA_OK;
}

/* The outcome, in one transaction (the rows re-read under the lock). */
static subca_result subca__vrecord(struct subca_store *st, int64_t prov,
				   const char *id, bool ok,
				   const struct subca_acme_validation_error *err)
{
	struct subca__vctx v = {0};
	int64_t now = (int64_t)time(NULL);
	char t[32], type[96];
	subca_result rv;

	SUBCA_TRY(st->ops->begin(st));
	rv = st->ops->acme_get(st, SUBCA_ACME_CHALLENGE, prov, id, &v.c);
	if (rv == SUBCA_OK && strcmp(v.c.status, "processing") != 0)
		goto out; /* another process recorded it */
	if (rv == SUBCA_OK)
		rv = st->ops->acme_get(st, SUBCA_ACME_AUTHZ, prov, v.c.parent,
				       &v.z);
	if (rv == SUBCA_OK)
		rv = subca__acme_doc(&v.c, &v.cdoc);
	if (rv != SUBCA_OK)
		goto out;
	if (ok) {
		subca__acme_time(now, t);
		json_object_set_new(v.cdoc, "validated", json_string(t));
	} else {
		snprintf(type, sizeof(type), SUBCA_ACME_ERR_NS "%s", err->type);
		json_object_set_new(v.cdoc, "error",
				    json_pack("{s:s, s:s, s:i}", "type", type,
					      "detail", err->detail, "status",
					      403));
	}
	rv = subca__acme_doc_set(&v.c, v.cdoc);
	if (rv == SUBCA_OK)
		rv = subca__set_status(&v.c, ok ? "valid" : "invalid", now);
	if (rv == SUBCA_OK)
		rv = st->ops->acme_update(st, SUBCA_ACME_CHALLENGE, &v.c);
	/* RFC 8555 7.1.6: the authorization follows its first outcome */
	if (rv == SUBCA_OK && strcmp(v.z.status, "pending") == 0) {
		rv = subca__set_status(&v.z, ok ? "valid" : "invalid", now);
		if (rv == SUBCA_OK)
			rv = st->ops->acme_update(st, SUBCA_ACME_AUTHZ, &v.z);
		if (rv == SUBCA_OK)
			rv = subca__acme_order_refresh(st, prov, v.z.parent,
						       now);
	}
out:
	if (rv == SUBCA_OK)
		rv = st->ops->commit(st);
	if (rv != SUBCA_OK)
		st->ops->rollback(st);
	subca__vctx_cleanup(&v);
	return rv;
}

subca_result subca__acme_validate_one(struct subca_store *st,
				      const struct subca_acme_validation_cfg *cfg,
				      int64_t prov, const char *id, bool final,
				      bool *retry)
{
	struct subca__vctx v = {0};
	struct subca_acme_validation_error err = {{0}, {0}};
	subca_result rv, checked;

	*retry = false;
	rv = subca__vload(st, prov, id, &v);
	if (rv == SUBCA_OK && strcmp(v.c.status, "processing") != 0) {
		subca__vctx_cleanup(&v);
		return SUBCA_OK;
	}
	if (rv != SUBCA_OK) {
		subca__vctx_cleanup(&v);
		return rv;
	}
	checked = subca__vcheck(cfg, &v, &err);
	subca__vctx_cleanup(&v);
	if (checked != SUBCA_OK && err.type[0] == '\0') {
		snprintf(err.type, sizeof(err.type), "%s",
			 subca_error_acme_type(checked));
		snprintf(err.detail, sizeof(err.detail), "%s",
			 subca_error_reason());
	}
	if (checked != SUBCA_OK && !final) {
		*retry = true;
		return SUBCA_OK;
	}
	return subca__vrecord(st, prov, id, checked == SUBCA_OK, &err);
}

/* ---- the queue and the threads --------------------------------------------- */

static void *subca__pool_main(void *arg);

/* One more thread when the queue holds more than the idle ones can take
 * (lock held). Failing to start one is not fatal while one runs. */
static void subca__grow(void)
{
	if (subca__pool.n <= (size_t)subca__pool.idle ||
	    subca__pool.nthreads >= subca__pool.max_threads)
		return;
	if (pthread_create(&subca__pool.threads[subca__pool.nthreads], NULL,
			   subca__pool_main, NULL) == 0)
		subca__pool.nthreads++;
	else
		subca_log_event("acme", "cannot start a validation thread "
				"(%d running)", subca__pool.nthreads);
}

bool subca__acme_pool_submit(int64_t prov, const char *id)
{
	struct subca__job *j;
	bool ok = false;

	pthread_mutex_lock(&subca__pool.lock);
	if (subca__pool.running && !subca__pool.stopping &&
	    subca__pool.n < SUBCA__QUEUE_MAX &&
	    strlen(id) < sizeof(j->id) &&
	    (j = subca_calloc(1, sizeof(*j))) != NULL) {
		j->prov = prov;
		memcpy(j->id, id, strlen(id) + 1);
		j->due = time(NULL);
		j->next = subca__pool.head;
		subca__pool.head = j;
		subca__pool.n++;
		ok = true;
		subca__grow();
		pthread_cond_signal(&subca__pool.cond);
	}
	pthread_mutex_unlock(&subca__pool.lock);
	return ok;
}

static void subca__requeue(struct subca__job *j)
{
	pthread_mutex_lock(&subca__pool.lock);
	j->attempt++;
	j->due = time(NULL) + j->attempt; /* 1 s, then 2 s, ... */
	j->next = subca__pool.head;
	subca__pool.head = j;
	subca__pool.n++;
	pthread_cond_signal(&subca__pool.cond);
	pthread_mutex_unlock(&subca__pool.lock);
}

/* The first job that is due, or NULL when stopping. Lock held. */
static struct subca__job *subca__take(void)
{
	for (;;) {
		time_t now = time(NULL), next = 0;
		struct subca__job **pp = &subca__pool.head;

		if (subca__pool.stopping)
			return NULL;
		for (; *pp != NULL; pp = &(*pp)->next) {
			if ((*pp)->due <= now) {
				struct subca__job *j = *pp;

				*pp = j->next;
				subca__pool.n--;
				return j;
			}
			if (next == 0 || (*pp)->due < next)
				next = (*pp)->due;
		}
		subca__pool.idle++;
		if (next == 0) {
			pthread_cond_wait(&subca__pool.cond, &subca__pool.lock);
		} else {
			struct timespec ts = {.tv_sec = next};

			pthread_cond_timedwait(&subca__pool.cond,
					       &subca__pool.lock, &ts);
		}
		subca__pool.idle--;
	}
}

static void subca__work(struct subca_store *st, struct subca__job *j)
{
	bool retry = false;
	subca_result rv;

	rv = subca__acme_validate_one(st, &subca__pool.cfg, j->prov, j->id,
				      j->attempt + 1 >= SUBCA_ACME_ATTEMPTS,
				      &retry);
	if (rv != SUBCA_OK)
		subca_log_event("acme", "challenge %s: %s", j->id,
				subca_error_reason());
	if (retry) {
		subca__requeue(j);
		return;
	}
	subca_free(j);
}

static void *subca__pool_main(void *arg)
{
	struct subca_store *st = NULL;

	(void)arg;
	(void)pthread_setname_np(pthread_self(), "subca-acme");
	if (subca_store_sqlite_open(subca__pool.db, false, &st) != SUBCA_OK) {
		subca_log_event("acme", "a validation thread cannot open the "
				"store: %s", subca_error_reason());
		return NULL;
	}
	for (;;) {
		struct subca__job *j;

		pthread_mutex_lock(&subca__pool.lock);
		j = subca__take();
		pthread_mutex_unlock(&subca__pool.lock);
		if (j == NULL)
			break;
		subca_error_clear();
		subca__work(st, j);
	}
	st->ops->close(st);
	return NULL;
}

/* Challenges another process left "processing". */
static void subca__rescan(struct subca_store *st)
{
	struct subca_acme_filter f = {.status = "processing"};
	struct subca_acme_list l = {0};

	if (st->ops->acme_list(st, SUBCA_ACME_CHALLENGE, &f, &l) != SUBCA_OK) {
		subca_log_event("acme", "cannot list pending challenges: %s",
				subca_error_reason());
		return;
	}
	for (size_t i = 0; i < l.n; i++)
		(void)subca__acme_pool_submit(l.v[i].provisioner_id, l.v[i].id);
	subca_acme_list_cleanup(&l);
}

static subca_result subca__pool_cfg(const struct subca_acme_pool_cfg *cfg)
{
	const struct subca_acme_validation_cfg *v = &cfg->validation;

	SUBCA_ENSURE(cfg->db != NULL && strlen(cfg->db) < sizeof(subca__pool.db),
		     SUBCA_E_INVALID_ARGUMENT, "the database path is too long");
	SUBCA_ENSURE(v->resolver == NULL ||
			     strlen(v->resolver) < sizeof(subca__pool.resolver),
		     SUBCA_E_INVALID_ARGUMENT, "the resolver is too long");
	SUBCA_ENSURE(v->connect_host == NULL ||
			     strlen(v->connect_host) <
				     sizeof(subca__pool.connect_host),
		     SUBCA_E_INVALID_ARGUMENT, "the connect host is too long");
	snprintf(subca__pool.db, sizeof(subca__pool.db), "%s", cfg->db);
	subca__pool.cfg = *v;
	if (v->resolver != NULL) {
		snprintf(subca__pool.resolver, sizeof(subca__pool.resolver),
			 "%s", v->resolver);
		subca__pool.cfg.resolver = subca__pool.resolver;
	}
	if (v->connect_host != NULL) {
		snprintf(subca__pool.connect_host,
			 sizeof(subca__pool.connect_host), "%s",
			 v->connect_host);
		subca__pool.cfg.connect_host = subca__pool.connect_host;
	}
	return SUBCA_OK;
}

subca_result subca_acme_pool_start(const struct subca_acme_pool_cfg *cfg)
{
	int n = cfg->threads > 0 ? cfg->threads : SUBCA_ACME_POOL_THREADS;
	struct subca_store *scan = NULL;

	SUBCA_ENSURE(!subca__pool.running, SUBCA_E_STATE,
		     "the ACME validation pool already runs");
	SUBCA_ENSURE(n <= SUBCA__MAX_THREADS, SUBCA_E_INVALID_ARGUMENT,
		     "at most %d validation threads", SUBCA__MAX_THREADS);
	SUBCA_TRY(subca__pool_cfg(cfg));
	pthread_mutex_lock(&subca__pool.lock);
	subca__pool.stopping = false;
	subca__pool.max_threads = n;
	subca__pool.nthreads = 0;
	subca__pool.idle = 0;
	subca__pool.running = true;
	pthread_mutex_unlock(&subca__pool.lock);
	if (subca_store_sqlite_open(subca__pool.db, false, &scan) == SUBCA_OK) {
		subca__rescan(scan);
		scan->ops->close(scan);
	}
	return SUBCA_OK;
}

void subca_acme_pool_stop(void)
{
	struct subca__job *j;

	pthread_mutex_lock(&subca__pool.lock);
	if (!subca__pool.running) {
		pthread_mutex_unlock(&subca__pool.lock);
		return;
	}
	subca__pool.stopping = true;
	pthread_cond_broadcast(&subca__pool.cond);
	pthread_mutex_unlock(&subca__pool.lock);
	for (int i = 0; i < subca__pool.nthreads; i++)
		pthread_join(subca__pool.threads[i], NULL);
	while ((j = subca__pool.head) != NULL) {
		subca__pool.head = j->next;
		subca_free(j);
	}
	subca__pool.n = 0;
	subca__pool.nthreads = 0;
	subca__pool.running = false;
}
