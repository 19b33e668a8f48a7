/*
 * Group commit for the SQLite store: concurrent certificate writes share one
 * transaction, and so one fsync, instead of paying one each.
 *
 * Every store of the same database file in this process that turns group
 * commit on joins one group (found by the file's device and inode), which
 * owns a writer connection and a committer thread. Callers queue records
 * with a completion callback and go on (cert_record_async) or wait for it
 * (cert_record, cert_add: submit, then wait; one write path). The
 * committer takes everything queued so far, writes it on the writer in
 * one BEGIN IMMEDIATE ... COMMIT (synchronous=FULL, so the commit is
 * durable when it returns), with a savepoint per record so that a refused
 * record (duplicate serial) fails only itself, and then calls each
 * record's callback with its own result. Records queued while a batch is
 * being written form the next one: the busier the server, the larger the
 * batches, with no timer. Nobody waits for the disk but the committer.
 *
 * Checkpoints (copying the WAL back into the database file) stay out of
 * the committer's way: a checkpointer thread with its own connection,
 * started when the WAL first grows past the threshold, copies the bulk
 * while batches go on being committed; the committer then copies only
 * what was committed meanwhile, between two batches, so that the WAL is
 * fully copied and the next transaction starts it again from the top
 * (a WAL that is never wholly copied would grow for as long as the load
 * lasts).
 */
#include "sqlite_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "subca/alloc.h"

/* One queued write; the caller's memory until its callback ran. */
struct subca__group_req {
	struct subca_cert_rec *rec;
	const struct subca_audit_rec *audit;
	subca_record_done done;
	void *arg;
	subca_result rv;
	bool owned; /* allocated by the async submit: the committer frees it */
	char reason[SUBCA_ERROR_REASON_MAX];
	struct subca__group_req *next;
};

struct subca__group {
	struct subca__group *next; /* in the process-wide registry */
	dev_t dev;
	ino_t ino;
	int refs; /* stores joined (under subca__groups_mu) */
	struct subca_store *writer; /* the committer's alone */
	pthread_t committer;
	bool started;
	int wal_frames; /* the WAL's size after the last commit (committer) */

	/* the checkpointer: its thread and connection, made on first use */
	pthread_t checkpointer;
	bool ckpt_started;
	struct subca_store *ckpt_db; /* the checkpointer's alone */

	pthread_mutex_t mu; /* everything below */
	pthread_cond_t work; /* the committer: something queued, or stop */
	pthread_cond_t done; /* synchronous callers: a batch was reported */
	struct subca__group_req *head, **tail;
	size_t pending;
	bool stop; /* the last store left: write what is queued, then exit */
	pthread_cond_t ckpt_work; /* the checkpointer: a copy asked, or stop */
	enum { SUBCA__CKPT_IDLE, SUBCA__CKPT_ASKED, SUBCA__CKPT_COPIED }
		ckpt;
	bool ckpt_stop;
	/* a member's commit left the WAL past the threshold (its wal hook) */
	bool ckpt_wanted;
	int member_frames;
	struct subca_group_stats stats;
	subca_group_observer fn;
	void *arg;
};

static pthread_mutex_t subca__groups_mu = PTHREAD_MUTEX_INITIALIZER;
static struct subca__group *subca__groups;

static void *subca__committer_main(void *arg);
static void subca__checkpointer_stop(struct subca__group *g);

/* ---- joining and leaving ---------------------------------------------- */

/* Raise `*flag` under the group's lock, wake `cv`'s thread t, join it. */
static void subca__thread_stop(struct subca__group *g, bool *flag,
			       pthread_cond_t *cv, pthread_t t)
{
	pthread_mutex_lock(&g->mu);
	*flag = true;
	pthread_cond_signal(cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(t, NULL);
}

/* Stop the committer once the queue is written, then free. */
static void subca__group_free(struct subca__group *g)
{
	if (g->started)
		subca__thread_stop(g, &g->stop, &g->work, g->committer);
	subca__checkpointer_stop(g);
	if (g->writer != NULL)
		g->writer->ops->close(g->writer);
	pthread_cond_destroy(&g->ckpt_work);
	pthread_cond_destroy(&g->done);
	pthread_cond_destroy(&g->work);
	pthread_mutex_destroy(&g->mu);
	subca_free(g);
}

/* SQLite's wal hook on the writer: note the WAL's size, checkpoint later. */
static int subca__wal_hook(void *arg, sqlite3 *db, const char *name,
			   int frames)
{
	struct subca__group *g = arg;

	g->wal_frames = frames;
	return SQLITE_OK;
}

/*
 * The writer does not checkpoint inside COMMIT (SQLite's automatic
 * checkpoint runs there, writing and syncing the database file while
 * every record of the batch waits for its answer): once the WAL has grown
 * past 4000 pages (16 MiB; SQLite's own threshold is 1000 pages), the
 * checkpointer copies it in the background (see the top of this file).
 * The larger WAL means fewer of the committer's short copies, each of
 * which holds one batch back, and pages written again and again (index
 * pages) copied once per WAL rather than four times.
 */
#define SUBCA__WAL_CHECKPOINT_FRAMES 4000
/* SQLite's own automatic checkpoint threshold, in pages
 * (SQLITE_DEFAULT_WAL_AUTOCHECKPOINT, not in its public header) */
#define SUBCA__SQLITE_AUTOCHECKPOINT 1000

static void subca__wal_setup(struct subca__group *g)
{
	sqlite3 *db = subca__sqlite_of(g->writer)->db;

	sqlite3_wal_autocheckpoint(db, 0);
	sqlite3_wal_hook(db, subca__wal_hook, g);
}

/* PASSIVE: never waits for readers or the writer; what it cannot copy
 * now is copied by the next one. Errors only delay the copy. Returns the
 * number of frames copied so far (0 on error). */
static int subca__checkpoint_on(struct subca_store *st)
{
	int log = 0, copied = 0;

	if (sqlite3_wal_checkpoint_v2(subca__sqlite_of(st)->db, NULL,
				      SQLITE_CHECKPOINT_PASSIVE, &log,
				      &copied) != SQLITE_OK)
		return 0;
	return copied;
}

/*
 * The checkpointer copies again while its last pass found many new frames
 * (committed during the pass before it), so that what the committer copies
 * itself between two batches is little.
 */
#define SUBCA__CKPT_REMAINDER 64
#define SUBCA__CKPT_PASSES 8

static void subca__checkpoint_bulk(struct subca_store *st)
{
	sqlite3_file *db = NULL;
	int before = 0, after;

	for (int i = 0; i < SUBCA__CKPT_PASSES; i++) {
		after = subca__checkpoint_on(st);
		if (after - before <= SUBCA__CKPT_REMAINDER)
			break;
		before = after;
	}
	/*
	 * SQLite syncs the database file only after a copy that reaches the
	 * end of the WAL, which under load is the committer's: it would then
	 * wait for every page copied here (16 MiB, tens of milliseconds).
	 * Sync them here instead; the committer's sync then has only its
	 * own few pages to write.
	 */
	if (sqlite3_file_control(subca__sqlite_of(st)->db, "main",
				 SQLITE_FCNTL_FILE_POINTER, &db) == SQLITE_OK &&
	    db != NULL && db->pMethods != NULL)
		(void)db->pMethods->xSync(db, SQLITE_SYNC_NORMAL);
}

static void *subca__checkpointer_main(void *arg)
{
	struct subca__group *g = arg;

	(void)pthread_setname_np(pthread_self(), "subca-ckpt");

	pthread_mutex_lock(&g->mu);
	for (;;) {
		while (g->ckpt != SUBCA__CKPT_ASKED && !g->ckpt_stop)
			pthread_cond_wait(&g->ckpt_work, &g->mu);
		if (g->ckpt_stop)
			break;
		pthread_mutex_unlock(&g->mu);
		subca__checkpoint_bulk(g->ckpt_db);
		pthread_mutex_lock(&g->mu);
		g->ckpt = SUBCA__CKPT_COPIED;
		pthread_cond_signal(&g->work); /* for the remainder */
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Start the checkpointer (committer thread, g->mu not held); false when it
 * cannot be: then the committer copies everything itself, as SQLite would. */
static bool subca__checkpointer_start(struct subca__group *g)
{
	struct subca_store *db = NULL;

	if (g->ckpt_started)
		return true;
	if (g->ckpt_db == NULL) {
		if (subca_store_sqlite_open(subca__sqlite_of(g->writer)->path,
					    false, &db) != SUBCA_OK) {
			subca_error_clear();
			return false;
		}
		g->ckpt_db = db;
	}
	g->ckpt_started = pthread_create(&g->checkpointer, NULL,
					 subca__checkpointer_main, g) == 0;
	return g->ckpt_started;
}

static void subca__checkpointer_stop(struct subca__group *g)
{
	if (g->ckpt_started) {
		subca__thread_stop(g, &g->ckpt_stop, &g->ckpt_work,
				   g->checkpointer);
		g->ckpt_started = false;
	}
	if (g->ckpt_db != NULL)
		g->ckpt_db->ops->close(g->ckpt_db);
	g->ckpt_db = NULL;
}

/*
 * After a batch (committer thread, g->mu not held): ask the checkpointer
 * for a copy once the WAL is past the threshold; once it has copied, copy
 * here what was committed since, which lets the next transaction start
 * the WAL again.
 */
/* Copy here what is left of the WAL, on the writer, and count it. */
static void subca__checkpoint_here(struct subca__group *g)
{
	(void)subca__checkpoint_on(g->writer);
	g->wal_frames = 0;
	pthread_mutex_lock(&g->mu);
	g->ckpt = SUBCA__CKPT_IDLE;
	g->stats.checkpoints++;
	pthread_mutex_unlock(&g->mu);
}

static void subca__wal_checkpoint(struct subca__group *g)
{
	bool copied;

	pthread_mutex_lock(&g->mu);
	copied = g->ckpt == SUBCA__CKPT_COPIED;
	pthread_mutex_unlock(&g->mu);
	if (copied) {
		subca__checkpoint_here(g);
		return;
	}
	if (g->wal_frames < SUBCA__WAL_CHECKPOINT_FRAMES)
		return;
	if (!subca__checkpointer_start(g)) {
		subca__checkpoint_here(g); /* as SQLite would */
		return;
	}
	pthread_mutex_lock(&g->mu);
	if (g->ckpt == SUBCA__CKPT_IDLE) {
		g->ckpt = SUBCA__CKPT_ASKED;
		pthread_cond_signal(&g->ckpt_work);
	}
	pthread_mutex_unlock(&g->mu);
}

static subca_result subca__group_new(const char *path, const struct stat *sb,
				     struct subca__group **out)
{
	struct subca__group *g = subca_calloc(1, sizeof(*g));
	subca_result rv;

	*out = NULL;
	SUBCA_ENSURE(g != NULL, SUBCA_E_NOMEM, "out of memory");
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->work, NULL);
	pthread_cond_init(&g->done, NULL);
	pthread_cond_init(&g->ckpt_work, NULL);
	g->dev = sb->st_dev;
	g->ino = sb->st_ino;
	g->tail = &g->head;
	rv = subca_store_sqlite_open(path, false, &g->writer);
	if (rv == SUBCA_OK)
		subca__wal_setup(g);
	if (rv == SUBCA_OK) {
		int err = pthread_create(&g->committer, NULL,
					 subca__committer_main, g);

		g->started = err == 0;
		if (err != 0)
			rv = subca_error_set(
				SUBCA_E_STORE, __FILE__, __LINE__,
				"cannot start the group committer: %s",
				strerror(err));
	}
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

/*
 * The wal hook of every store in the group (their own commits: ACME
 * objects, token ids, revocations): past the threshold, hand the
 * checkpoint to the committer and the checkpointer instead of SQLite's
 * automatic checkpoint, which would copy the whole WAL on that store's
 * thread (a worker's event loop) and sync the database file there.
 */
static int subca__member_wal_hook(void *arg, sqlite3 *db, const char *name,
				  int frames)
{
	struct subca__group *g = arg;

	(void)db;
	(void)name;
	if (frames < SUBCA__WAL_CHECKPOINT_FRAMES)
		return SQLITE_OK;
	pthread_mutex_lock(&g->mu);
	if (frames > g->member_frames)
		g->member_frames = frames;
	g->ckpt_wanted = true;
	pthread_cond_signal(&g->work);
	pthread_mutex_unlock(&g->mu);
	return SQLITE_OK;
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
		sqlite3_wal_hook(s->db, subca__member_wal_hook, g);
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
	/* SQLite's own automatic checkpoint again */
	sqlite3_wal_autocheckpoint(s->db, SUBCA__SQLITE_AUTOCHECKPOINT);
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
	/* no store refers to it, so nothing more can be queued; what is
	 * queued (asynchronous records) is written before the committer
	 * exits */
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

/* Count the batch and tell the observer (before any callback). */
static void subca__batch_report(struct subca__group *g, size_t n,
				subca_result rv)
{
	subca_group_observer fn;
	void *arg;

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

/* Write `batch` (n records), then call each record's callback. */
static void subca__batch_run(struct subca__group *g,
			     struct subca__group_req *batch, size_t n)
{
	struct subca__sqlite *w = subca__sqlite_of(g->writer);
	struct subca__group_req *r, *next;
	subca_result rv;

	subca_error_clear();
	rv = subca__batch_write(w, batch);
	if (rv != SUBCA_OK) {
		/* nothing of the batch is durable: every record fails */
		for (r = batch; r != NULL; r = r->next)
			if (r->rv == SUBCA_OK)
				subca__req_fail(r, rv);
	}
	subca__batch_report(g, n, rv);
	for (r = batch; r != NULL; r = next) {
		/* a waiting caller's r is gone once its callback ran */
		bool owned = r->owned;

		next = r->next;
		r->done(r->arg, r->rv, r->rv == SUBCA_OK ? "" : r->reason);
		if (owned)
			subca_free(r);
	}
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
	return batch;
}

/* What members reported of the WAL's size (under g->mu). */
static void subca__take_member_frames(struct subca__group *g)
{
	if (g->member_frames > g->wal_frames)
		g->wal_frames = g->member_frames;
	g->member_frames = 0;
	g->ckpt_wanted = false;
}

static void *subca__committer_main(void *arg)
{
	struct subca__group *g = arg;

	(void)pthread_setname_np(pthread_self(), "subca-commit");

	pthread_mutex_lock(&g->mu);
	for (;;) {
		struct subca__group_req *batch;
		size_t n;

		while (g->head == NULL && !g->stop && !g->ckpt_wanted &&
		       g->ckpt != SUBCA__CKPT_COPIED)
			pthread_cond_wait(&g->work, &g->mu);
		if (g->head == NULL && g->stop)
			break; /* stopping, and everything is written */
		if (g->head == NULL) {
			/* no batch: a checkpoint to ask for or to finish */
			subca__take_member_frames(g);
			pthread_mutex_unlock(&g->mu);
			subca__wal_checkpoint(g);
			pthread_mutex_lock(&g->mu);
			continue;
		}
		subca__take_member_frames(g);
		batch = subca__batch_take(g, &n);
		pthread_mutex_unlock(&g->mu);
		subca__batch_run(g, batch, n);
		subca__wal_checkpoint(g);
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Queue a record whose memory stays valid until its callback ran. */
static void subca__enqueue(struct subca__group *g, struct subca__group_req *r)
{
	pthread_mutex_lock(&g->mu);
	*g->tail = r;
	g->tail = &r->next;
	g->pending++;
	pthread_cond_signal(&g->work);
	pthread_mutex_unlock(&g->mu);
}

/* ---- asynchronous submit ---------------------------------------------- */

subca_result subca__sqlite_group_submit_async(struct subca__sqlite *s,
					      struct subca_cert_rec *rec,
					      const struct subca_audit_rec *audit,
					      subca_record_done done, void *arg)
{
	struct subca__group_req *r = subca_calloc(1, sizeof(*r));

	SUBCA_ENSURE(r != NULL, SUBCA_E_NOMEM, "out of memory");
	r->rec = rec;
	r->audit = audit;
	r->done = done;
	r->arg = arg;
	r->owned = true; /* freed by the committer after its callback */
	subca__enqueue(s->group, r);
	return SUBCA_OK;
}

/* ---- synchronous submit: queue, then wait ------------------------------ */

struct subca__waiter {
	struct subca__group *g;
	bool done;
	subca_result rv;
	char reason[SUBCA_ERROR_REASON_MAX];
};

static void subca__wake(void *arg, subca_result rv, const char *reason)
{
	struct subca__waiter *wt = arg;

	pthread_mutex_lock(&wt->g->mu);
	wt->rv = rv;
	snprintf(wt->reason, sizeof(wt->reason), "%s", reason);
	wt->done = true;
	pthread_cond_broadcast(&wt->g->done);
	pthread_mutex_unlock(&wt->g->mu);
}

subca_result subca__sqlite_group_submit(struct subca__sqlite *s,
					struct subca_cert_rec *rec,
					const struct subca_audit_rec *audit)
{
	struct subca__group *g = s->group;
	struct subca__waiter wt = {.g = g};
	struct subca__group_req req = {
		.rec = rec, .audit = audit, .done = subca__wake, .arg = &wt};

	subca__enqueue(g, &req);
	pthread_mutex_lock(&g->mu);
	while (!wt.done)
		pthread_cond_wait(&g->done, &g->mu);
	pthread_mutex_unlock(&g->mu);
	/* errors are per thread: raise this caller's own in its thread */
	if (wt.rv != SUBCA_OK)
		return subca_error_set(wt.rv, __FILE__, __LINE__, "%s",
				       wt.reason);
	return SUBCA_OK;
}
