/*
 * Group commit for the SQLite store: concurrent certificate writes share one
 * transaction, and so one fsync, instead of paying one each.
 *
 * Every store of the same database file in this process that turns group
 * commit on joins one group (found by the file's device and inode), which
 * owns a writer connection of its own. A caller queues its record and
 * waits. When no batch is being written, the first waiting caller becomes
 * the leader: it takes everything queued so far, writes it on the writer
 * connection in one BEGIN IMMEDIATE ... COMMIT (synchronous=FULL, so the
 * commit is durable when it returns), with a savepoint per record so that
 * a refused record (duplicate serial) fails only its own caller, then
 * wakes every caller of the batch with its own result. Callers that queue
 * while a batch is being written form the next one: the busier the
 * server, the larger the batches, with no timer and no extra thread.
 */
#include "sqlite_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "subca/alloc.h"

/* One queued write; lives on its caller's stack until `done`. */
struct subca__group_req {
	struct subca_cert_rec *rec;
	const struct subca_audit_rec *audit;
	subca_result rv;
	char reason[SUBCA_ERROR_REASON_MAX];
	bool done;
	struct subca__group_req *next;
};

struct subca__group {
	struct subca__group *next; /* in the process-wide registry */
	dev_t dev;
	ino_t ino;
	int refs; /* stores joined (under subca__groups_mu) */
	struct subca_store *writer;

	pthread_mutex_t mu; /* everything below */
	pthread_cond_t cv;
	struct subca__group_req *head, **tail;
	size_t pending;
	bool busy; /* a leader is writing a batch */
	struct subca_group_stats stats;
	subca_group_observer fn;
	void *arg;
};

static pthread_mutex_t subca__groups_mu = PTHREAD_MUTEX_INITIALIZER;
static struct subca__group *subca__groups;

/* ---- joining and leaving ---------------------------------------------- */

static void subca__group_free(struct subca__group *g)
{
	if (g->writer != NULL)
		g->writer->ops->close(g->writer);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	subca_free(g);
}

static subca_result subca__group_new(const char *path, const struct stat *sb,
				     struct subca__group **out)
{
	struct subca__group *g = subca_calloc(1, sizeof(*g));
	subca_result rv;

	*out = NULL;
	SUBCA_ENSURE(g != NULL, SUBCA_E_NOMEM, "out of memory");
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->dev = sb->st_dev;
	g->ino = sb->st_ino;
	g->tail = &g->head;
	rv = subca_store_sqlite_open(path, false, &g->writer);
	if (rv != SUBCA_OK) {
		subca__group_free(g);
		return rv;
	}
	*out = g;
	return SUBCA_OK;
}

static struct subca__group *subca__group_find(const struct stat *sb)
{
	for (struct subca__group *g = subca__groups; g != NULL; g = g->next)
		if (g->dev == sb->st_dev && g->ino == sb->st_ino)
			return g;
	return NULL;
}

static subca_result subca__group_join(struct subca__sqlite *s)
{
	struct subca__group *g;
	struct stat sb;
	subca_result rv = SUBCA_OK;

	SUBCA_ENSURE(stat(s->path, &sb) == 0, SUBCA_E_STORE,
		     "cannot find the database file %s for group commit",
		     s->path);
	pthread_mutex_lock(&subca__groups_mu);
	g = subca__group_find(&sb);
	if (g == NULL) {
		rv = subca__group_new(s->path, &sb, &g);
		if (rv == SUBCA_OK) {
			g->next = subca__groups;
			subca__groups = g;
		}
	}
	if (rv == SUBCA_OK) {
		g->refs++;
		s->group = g;
	}
	pthread_mutex_unlock(&subca__groups_mu);
	return rv;
}

void subca__sqlite_group_leave(struct subca__sqlite *s)
{
	struct subca__group *g = s->group, **pp;

	if (g == NULL)
		return;
	s->group = NULL;
	pthread_mutex_lock(&subca__groups_mu);
	if (--g->refs > 0) {
		pthread_mutex_unlock(&subca__groups_mu);
		return;
	}
	for (pp = &subca__groups; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	pthread_mutex_unlock(&subca__groups_mu);
	/* no store refers to it, so no caller can be queued on it */
	subca__group_free(g);
}

subca_result subca__sqlite_group_commit(struct subca_store *st, bool on)
{
	struct subca__sqlite *s = subca__sqlite_of(st);

	if (!on) {
		subca__sqlite_group_leave(s);
		return SUBCA_OK;
	}
	if (s->group != NULL)
		return SUBCA_OK;
	return subca__group_join(s);
}

subca_result subca__sqlite_group_stats(struct subca_store *st,
				       struct subca_group_stats *out)
{
	struct subca__group *g = subca__sqlite_of(st)->group;

	memset(out, 0, sizeof(*out));
	if (g == NULL)
		return SUBCA_OK;
	pthread_mutex_lock(&g->mu);
	*out = g->stats;
	out->pending = g->pending;
	pthread_mutex_unlock(&g->mu);
	return SUBCA_OK;
}

subca_result subca__sqlite_group_observe(struct subca_store *st,
					 subca_group_observer fn, void *arg)
{
	struct subca__group *g = subca__sqlite_of(st)->group;

	SUBCA_ENSURE(g != NULL, SUBCA_E_STATE,
		     "group commit is off: turn it on before observing it");
	pthread_mutex_lock(&g->mu);
	g->fn = fn;
	g->arg = arg;
	pthread_mutex_unlock(&g->mu);
	return SUBCA_OK;
}

/* ---- writing a batch --------------------------------------------------- */

static void subca__req_fail(struct subca__group_req *r, subca_result rv)
{
	r->rv = rv;
	snprintf(r->reason, sizeof(r->reason), "%s", subca_error_reason());
	r->rec->id = 0;
}

/* Write every record of the batch on the writer; each keeps its result. */
static subca_result subca__batch_write(struct subca__sqlite *w,
				       struct subca__group_req *batch)
{
	subca_result rv = subca__sqlite_begin(&w->base);

	if (rv != SUBCA_OK)
		return rv;
	for (struct subca__group_req *r = batch; r != NULL; r = r->next) {
		/* depth 1: subca__sqlite_cert_write takes a savepoint */
		subca_result one = subca__sqlite_cert_write(w, r->rec, r->audit);

		if (one != SUBCA_OK)
			subca__req_fail(r, one);
	}
	return subca__sqlite_commit(&w->base);
}

/* The leader's part: write `batch` (n records) and report it. */
static void subca__batch_run(struct subca__group *g,
			     struct subca__group_req *batch, size_t n)
{
	struct subca__sqlite *w = subca__sqlite_of(g->writer);
	subca_group_observer fn;
	subca_result rv;
	void *arg;

	rv = subca__batch_write(w, batch);
	if (rv != SUBCA_OK) {
		/* nothing of the batch is durable: every caller fails */
		for (struct subca__group_req *r = batch; r != NULL; r = r->next)
			if (r->rv == SUBCA_OK)
				subca__req_fail(r, rv);
	}
	pthread_mutex_lock(&g->mu);
	g->stats.batches++;
	g->stats.records += n;
	g->stats.last_batch = n;
	if (n > g->stats.max_batch)
		g->stats.max_batch = n;
	fn = g->fn;
	arg = g->arg;
	pthread_mutex_unlock(&g->mu);
	if (fn != NULL)
		fn(arg, n, rv);
}

/* Take the whole queue as the next batch (under g->mu). */
static struct subca__group_req *subca__batch_take(struct subca__group *g,
						  size_t *n)
{
	struct subca__group_req *batch = g->head;

	*n = g->pending;
	g->head = NULL;
	g->tail = &g->head;
	g->pending = 0;
	g->busy = true;
	return batch;
}

static void subca__batch_done(struct subca__group *g,
			      struct subca__group_req *batch)
{
	pthread_mutex_lock(&g->mu);
	for (struct subca__group_req *r = batch; r != NULL; r = r->next)
		r->done = true;
	g->busy = false;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

subca_result subca__sqlite_group_submit(struct subca__sqlite *s,
					struct subca_cert_rec *rec,
					const struct subca_audit_rec *audit)
{
	struct subca__group *g = s->group;
	struct subca__group_req req = {.rec = rec, .audit = audit};

	pthread_mutex_lock(&g->mu);
	*g->tail = &req;
	g->tail = &req.next;
	g->pending++;
	while (!req.done) {
		struct subca__group_req *batch;
		size_t n;

		if (g->busy) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		batch = subca__batch_take(g, &n);
		pthread_mutex_unlock(&g->mu);
		subca__batch_run(g, batch, n);
		subca__batch_done(g, batch);
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	/* errors are per thread: raise this caller's own in its thread */
	if (req.rv != SUBCA_OK)
		return subca_error_set(req.rv, __FILE__, __LINE__, "%s",
				       req.reason);
	return SUBCA_OK;
}
