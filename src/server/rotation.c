/*
 * Unattended rotation: settings, the flow (request, hook, import), the
 * lifetime warning, and the background thread of `subca serve`.
 *
 * Security model: the signer command runs with the server's user and
 * reaches the customer's root tooling, so only a global admin may set it
 * (admin API) or someone with the data directory (CLI). It gets the CSR
 * and nothing else of subca's: a fixed environment without the
 * passphrase, tokens or subca's variables, no inherited descriptors, its
 * own process group killed at the timeout. Its output is untrusted input
 * (bounded, then verified against the root exactly like an upload).
 */
#include "rotation.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hook.h"
#include "policy_json.h"
#include "server_int.h"
#include "subca/alloc.h"
#include "subca/credential.h"
#include "subca/limits.h"
#include "subca/store_sqlite.h"

#define SUBCA__MIN_ROTATE_BEFORE 60
#define SUBCA__ACTOR "server:rotation"

/* ---- settings ------------------------------------------------------------ */

subca_result subca_rotation_validate(const struct subca_rotation_rec *r)
{
	size_t n = r->signer_command ? strlen(r->signer_command) : 0;

	SUBCA_ENSURE(r->rotate_before >= SUBCA__MIN_ROTATE_BEFORE &&
			     r->rotate_before <=
				     (int64_t)SUBCA_MAX_LEAF_DAYS * 86400,
		     SUBCA_E_INVALID_ARGUMENT,
		     "rotate-before must be between %d seconds and %d days",
		     SUBCA__MIN_ROTATE_BEFORE, SUBCA_MAX_LEAF_DAYS);
	SUBCA_ENSURE(n > 0 && n <= SUBCA_MAX_HOOK_COMMAND,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the signer command must have 1 to %u characters",
		     SUBCA_MAX_HOOK_COMMAND);
	for (size_t i = 0; i < n; i++)
		SUBCA_ENSURE((unsigned char)r->signer_command[i] >= 0x20 &&
				     (unsigned char)r->signer_command[i] != 0x7f,
			     SUBCA_E_INVALID_ARGUMENT,
			     "the signer command contains a control character "
			     "at position %zu",
			     i + 1);
	SUBCA_ENSURE(r->hook_timeout >= 1 &&
			     r->hook_timeout <= SUBCA_MAX_HOOK_TIMEOUT,
		     SUBCA_E_INVALID_ARGUMENT,
		     "the hook timeout must be between 1 and %d seconds",
		     SUBCA_MAX_HOOK_TIMEOUT);
	SUBCA_ENSURE(r->days >= 0 && r->days <= SUBCA_MAX_INTERMEDIATE_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "days must be between 1 and %d (0: as the current one)",
		     SUBCA_MAX_INTERMEDIATE_DAYS);
	return SUBCA_OK;
}

#define SUBCA__AUTO_AUTHORITY \
	__attribute__((cleanup(subca_authority_rec_cleanup)))
#define SUBCA__AUTO_INTS __attribute__((cleanup(subca_intermediate_list_cleanup)))
#define SUBCA__AUTO_ROTATION __attribute__((cleanup(subca_rotation_rec_cleanup)))

subca_result subca_rotation_configure(const struct subca_ctx *c,
				      const char *name,
				      const struct subca_rotation_rec *r)
{
	SUBCA__AUTO_AUTHORITY struct subca_authority_rec a = {0};
	struct subca_rotation_rec rec = *r;
	subca_result rv;

	SUBCA_TRY(subca_rotation_validate(r));
	SUBCA_TRY(subca_authority_get(c, name, &a));
	rec.authority_id = a.id;
	rec.updated = (int64_t)c->now;
	SUBCA_TRY(c->store->ops->begin(c->store));
	rv = c->store->ops->rotation_put(c->store, &rec);
	if (rv == SUBCA_OK)
		rv = subca_audit(c, name, "rotation.configure",
				 "unattended rotation: %lld s before expiry, "
				 "signer command \"%.200s\", timeout %d s, "
				 "%d days",
				 (long long)r->rotate_before, r->signer_command,
				 r->hook_timeout, r->days);
	if (rv == SUBCA_OK)
		return c->store->ops->commit(c->store);
	c->store->ops->rollback(c->store);
	return rv;
}

subca_result subca_rotation_disable(const struct subca_ctx *c,
				    const char *name)
{
	SUBCA__AUTO_AUTHORITY struct subca_authority_rec a = {0};
	subca_result rv;

	SUBCA_TRY(subca_authority_get(c, name, &a));
	SUBCA_TRY(c->store->ops->begin(c->store));
	rv = c->store->ops->rotation_remove(c->store, a.id);
	if (rv == SUBCA_E_NOT_FOUND)
		rv = subca_error_set(SUBCA_E_NOT_FOUND, __FILE__, __LINE__,
				     "authority \"%s\" has no unattended "
				     "rotation",
				     name);
	if (rv == SUBCA_OK)
		rv = subca_audit(c, name, "rotation.disable",
				 "unattended rotation turned off");
	if (rv == SUBCA_OK)
		return c->store->ops->commit(c->store);
	c->store->ops->rollback(c->store);
	return rv;
}

subca_result subca_rotation_get(const struct subca_ctx *c, const char *name,
				struct subca_rotation_rec *out)
{
	SUBCA__AUTO_AUTHORITY struct subca_authority_rec a = {0};
	subca_result rv;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca_authority_get(c, name, &a));
	rv = c->store->ops->rotation_get(c->store, a.id, out);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND,
			   "authority \"%s\" has no unattended rotation", name);
	return rv;
}

/* ---- when ------------------------------------------------------------------ */

/* "+HH:MM" or "-HH:MM" after an RFC 3339 time, in seconds east of UTC. */
static bool subca__offset(const char *s, long *out)
{
	int hh, mm, n = 0;

	if ((s[0] != '+' && s[0] != '-') ||
	    sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5 ||
	    s[6] != '\0' || hh > 23 || mm > 59)
		return false;
	*out = (s[0] == '-' ? -1 : 1) * (long)(hh * 3600 + mm * 60);
	return true;
}

subca_result subca_when_parse(const char *what, const char *s, time_t now,
			      int64_t *out)
{
	struct tm tm = {0};
	const char *end;
	long off = 0;
	int64_t d;

	if (strcmp(s, "now") == 0) {
		*out = (int64_t)now;
		return SUBCA_OK;
	}
	if (s[0] == '+') {
		SUBCA_TRY(subca_duration_parse(s + 1, SUBCA_MAX_ACTIVATE_DELAY,
					       &d));
		*out = (int64_t)now + d;
		return SUBCA_OK;
	}
	if (s[0] >= '0' && s[0] <= '9' && strchr(s, '-') == NULL) {
		char *e = NULL;
		long long v = strtoll(s, &e, 10);

		SUBCA_ENSURE(*e == '\0' && v > 0, SUBCA_E_INVALID_ARGUMENT,
			     "%s \"%.40s\" is not a time", what, s);
		*out = (int64_t)v;
		return SUBCA_OK;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	SUBCA_ENSURE(end != NULL && (strcmp(end, "Z") == 0 ||
				     subca__offset(end, &off)),
		     SUBCA_E_INVALID_ARGUMENT,
		     "%s \"%.40s\" must be now, +DURATION (+30s, +2h, +7d), "
		     "unix seconds or RFC 3339 (2026-05-01T12:00:00Z)",
		     what, s);
	*out = (int64_t)timegm(&tm) - off;
	return SUBCA_OK;
}

bool subca_rotation_due(const struct subca_intermediate_list *l, time_t now,
			int64_t rotate_before, int64_t *left)
{
	long idx = subca_intermediate_issuing(l, now);
	int64_t dummy;

	if (left == NULL)
		left = &dummy;
	*left = INT64_MIN;
	if (idx < 0)
		return false;
	*left = l->v[idx].not_after - (int64_t)now;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].state == SUBCA_INT_READY &&
		    l->v[i].activate_at > (int64_t)now)
			return false; /* a successor is already scheduled */
	return *left < rotate_before;
}

/* ---- the flow ----------------------------------------------------------------- */

/* The CSR to sign: the newest pending one (an earlier failed attempt or a
 * request by hand), else a new one like the issuing intermediate's. */
static subca_result subca__csr_for(const struct subca_ctx *c, const char *name,
				   const struct subca_rotation_rec *r,
				   struct subca_buf *csr, int *days)
{
	struct subca_pending p;
	subca_result rv = subca_authority_pending(c, name, &p);

	if (rv == SUBCA_OK) {
		subca_buf_init(csr, SUBCA_MAX_CSR_INPUT);
		rv = subca_buf_append_str(csr, p.rec.csr_pem);
		*days = p.rec.days;
		if (rv == SUBCA_OK)
			rv = subca_audit(c, name, "rotation.request",
					 "rotation reuses pending intermediate "
					 "#%lld \"%s\"",
					 (long long)p.rec.id, p.rec.subject);
		subca_pending_cleanup(&p);
		return rv;
	}
	if (rv != SUBCA_E_NO_PENDING)
		return rv;
	subca_error_clear();
	SUBCA_TRY(subca_authority_request_next(c, name, r->days, csr, days));
	return subca_audit(c, name, "rotation.request",
			   "rotation requested the next intermediate (%d days)",
			   *days);
}

static subca_result subca__hook(const struct subca_ctx *c, const char *name,
				const struct subca_rotation_rec *r,
				const struct subca_buf *csr, int days,
				struct subca_buf *out)
{
	struct subca_hook_result res;
	char v_auth[16 + SUBCA_MAX_LABEL], v_days[48], v_home[512];
	const char *home = getenv("HOME");
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
		       v_auth, v_days, NULL, NULL};
	subca_result rv;

	snprintf(v_auth, sizeof(v_auth), "SUBCA_AUTHORITY=%s", name);
	snprintf(v_days, sizeof(v_days), "SUBCA_INTERMEDIATE_DAYS=%d", days);
	if (home != NULL && strlen(home) < sizeof(v_home) - 6) {
		snprintf(v_home, sizeof(v_home), "HOME=%s", home);
		env[4] = v_home;
	}
	rv = subca_hook_run(r->signer_command, env, subca_buf_slice(csr),
			    (long)r->hook_timeout * 1000, out, &res);
	if (rv != SUBCA_OK)
		return rv;
	return subca_audit(c, name, "rotation.hook",
			   "signer command exited 0 after %ld ms with %zu "
			   "bytes; stderr: %s",
			   res.duration_ms, res.out_len,
			   res.err[0] ? res.err : "(empty)");
}

static subca_result subca__flow(const struct subca_ctx *c, const char *name,
				const struct subca_rotation_rec *r,
				struct subca_report *report)
{
	SUBCA_BUF_AUTO struct subca_buf csr = {0};
	SUBCA_BUF_AUTO struct subca_buf cert = {0};
	struct subca_ctx later = *c;
	time_t t;
	int days = 0;

	SUBCA_TRY(subca__csr_for(c, name, r, &csr, &days));
	SUBCA_TRY(subca__hook(c, name, r, &csr, days, &cert));
	/* The signer stamped notBefore with its own clock while the hook ran
	 * (seconds after c->now when it is slow, or crosses a second): judge
	 * the signed intermediate at the time it came back, never earlier. */
	t = time(NULL);
	if (t > later.now)
		later.now = t;
	return subca_authority_import_intermediate(
		&later, name, subca_buf_slice(&cert), false, report);
}

subca_result subca_rotation_run(const struct subca_ctx *c, const char *name,
				const struct subca_rotation_rec *r,
				struct subca_report *report)
{
	subca_result rv = subca_rotation_validate(r);
	char reason[600];

	if (rv == SUBCA_OK)
		rv = subca__flow(c, name, r, report);
	if (rv == SUBCA_OK)
		return subca_audit(c, name, "rotation.done",
				   "unattended rotation activated the next "
				   "intermediate");
	/* the audit must not overwrite the error the caller reports */
	snprintf(reason, sizeof(reason), "%s", subca_error_reason());
	if (subca_audit(c, name, "rotation.fail",
			"unattended rotation failed [%s]: %s; the current "
			"intermediate stays active",
			subca_error_name(rv), reason) != SUBCA_OK)
		subca_error_clear(); /* the failure itself is what matters */
	return subca_error_set(rv, __FILE__, __LINE__, "%s", reason);
}

/* ---- the lifetime warning ----------------------------------------------------- */

/* The longest leaf lifetime the policy text allows (0: unreadable). */
static long subca__policy_max_days(const char *policy)
{
	struct subca_policy_json pj;
	long days = 0;

	if (subca_policy_json_parse(subca_slice_of(policy, strlen(policy)),
				    &pj) == SUBCA_OK)
		days = pj.policy.max_days > 0 ? pj.policy.max_days
					      : SUBCA_MAX_LEAF_DAYS;
	subca_policy_json_cleanup(&pj);
	subca_error_clear();
	return days;
}

subca_result subca_lifetime_check(struct subca_store *st,
				  const struct subca_authority_rec *a,
				  const struct subca_intermediate_list *l,
				  time_t now, struct subca_lifetime_warning *out)
{
	struct subca_provisioner_list pl = {0};
	long idx = subca_intermediate_issuing(l, now);

	memset(out, 0, sizeof(*out));
	if (idx < 0)
		return SUBCA_OK;
	out->left = l->v[idx].not_after - (int64_t)now;
	SUBCA_TRY(st->ops->provisioner_list(st, a->id, &pl));
	for (size_t i = 0; i < pl.n; i++) {
		long d = subca__policy_max_days(pl.v[i].policy);

		if (d > out->max_days) {
			out->max_days = d;
			snprintf(out->provisioner, sizeof(out->provisioner),
				 "%s", pl.v[i].name);
		}
	}
	subca_provisioner_list_cleanup(&pl);
	out->warn = out->max_days > 0 &&
		    out->left < (int64_t)out->max_days * 86400;
	if (out->warn)
		snprintf(out->message, sizeof(out->message),
			 "intermediate #%lld has %lld day(s) left, less than "
			 "the %ld-day leaf lifetime provisioner \"%s\" allows: "
			 "leaves get shorter lives; rotate it",
			 (long long)l->v[idx].id,
			 (long long)(out->left > 0 ? out->left / 86400 : 0),
			 out->max_days, out->provisioner);
	return SUBCA_OK;
}

/* ---- the background thread ------------------------------------------------------ */

struct subca__attempt {
	int64_t authority_id;
	int64_t next;	 /* unix seconds of the next try */
	int64_t backoff; /* seconds */
};

struct subca_rotator {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	int interval;
	struct subca_store *store;
	struct subca_keystore *keys;
	struct subca__attempt *att;
	size_t natt;
	/* authorities to run now (subca_rotator_run_now), under mu */
	int64_t queue[SUBCA_ROTATION_QUEUE_MAX];
	size_t nqueue;
};

static struct subca__attempt *subca__attempt_of(struct subca_rotator *r,
						int64_t id)
{
	struct subca__attempt *p;

	for (size_t i = 0; i < r->natt; i++)
		if (r->att[i].authority_id == id)
			return &r->att[i];
	p = subca_realloc(r->att, (r->natt + 1) * sizeof(*p));
	if (p == NULL)
		return NULL;
	r->att = p;
	p = &r->att[r->natt++];
	*p = (struct subca__attempt){.authority_id = id};
	return p;
}

static void subca__rotate_one(struct subca_rotator *r,
			      const struct subca_ctx *c,
			      const struct subca_authority_rec *a,
			      const struct subca_rotation_rec *set,
			      int64_t left)
{
	struct subca__attempt *att = subca__attempt_of(r, a->id);
	struct subca_report report;

	if (att == NULL || att->next > (int64_t)c->now)
		return;
	subca_report_init(&report);
	if (subca_rotation_run(c, a->name, set, &report) == SUBCA_OK) {
		att->backoff = 0;
		att->next = 0;
		subca_log_event("rotation", "authority %s: the next intermediate "
					    "is active",
				a->name);
		return;
	}
	att->backoff = att->backoff ? att->backoff * 2 : r->interval;
	if (att->backoff > SUBCA_ROTATION_MAX_BACKOFF)
		att->backoff = SUBCA_ROTATION_MAX_BACKOFF;
	att->next = (int64_t)c->now + att->backoff;
	subca_metrics_rotation_failure(a->name);
	subca_log_event("rotation-failed",
			"authority %s: unattended rotation failed [%s]: %s; the "
			"current intermediate stays active and expires in %lld "
			"s; next attempt in %lld s",
			a->name, subca_error_name(subca_error_code()),
			subca_error_reason(), (long long)left,
			(long long)att->backoff);
	subca_error_clear();
}

/* One authority: record a due switch, publish its expiry, rotate if due. */
static void subca__tick_one(struct subca_rotator *r, const struct subca_ctx *c,
			    const struct subca_authority_rec *a)
{
	SUBCA__AUTO_INTS struct subca_intermediate_list l = {0};
	SUBCA__AUTO_ROTATION struct subca_rotation_rec set = {0};
	struct subca_lifetime_warning w;
	int64_t left = 0;
	long idx;

	if (subca_authority_activate_due(c, a->name, NULL) != SUBCA_OK ||
	    c->store->ops->intermediate_list(c->store, a->id, &l) != SUBCA_OK)
		goto fail;
	idx = subca_intermediate_issuing(&l, c->now);
	if (idx >= 0 && subca_lifetime_check(c->store, a, &l, c->now, &w) ==
				SUBCA_OK)
		subca_metrics_intermediate(a->name, w.left, w.warn);
	if (c->store->ops->rotation_get(c->store, a->id, &set) != SUBCA_OK) {
		subca_error_clear();
		return;
	}
	if (subca_rotation_due(&l, c->now, set.rotate_before, &left))
		subca__rotate_one(r, c, a, &set, left);
	return;
fail:
	subca_log_event("rotation-error", "authority %s: %s", a->name,
			subca_error_reason());
	subca_error_clear();
}

static void subca__tick(struct subca_rotator *r)
{
	struct subca_authority_list al = {0};
	struct subca_ctx c = {.store = r->store, .keys = r->keys,
			      .actor = SUBCA__ACTOR, .now = time(NULL)};

	if (r->store->ops->authority_list(r->store, &al) != SUBCA_OK) {
		subca_log_event("rotation-error", "%s", subca_error_reason());
		subca_error_clear();
		return;
	}
	for (size_t i = 0; i < al.n; i++) {
		c.now = time(NULL);
		subca__tick_one(r, &c, &al.v[i]);
	}
	subca_authority_list_cleanup(&al);
}

/* A run asked for by subca_rotator_run_now: the flow, due or not. */
static void subca__run_now(struct subca_rotator *r, int64_t authority_id)
{
	struct subca_authority_list al = {0};
	struct subca_ctx c = {.store = r->store, .keys = r->keys,
			      .actor = SUBCA__ACTOR, .now = time(NULL)};
	SUBCA__AUTO_ROTATION struct subca_rotation_rec set = {0};
	struct subca_report report;
	struct subca__attempt *att;
	const struct subca_authority_rec *a = NULL;

	if (r->store->ops->authority_list(r->store, &al) == SUBCA_OK)
		for (size_t i = 0; i < al.n && a == NULL; i++)
			if (al.v[i].id == authority_id)
				a = &al.v[i];
	subca_report_init(&report);
	if (a == NULL ||
	    r->store->ops->rotation_get(r->store, a->id, &set) != SUBCA_OK) {
		subca_error_clear(); /* gone or turned off meanwhile */
	} else if (subca_rotation_run(&c, a->name, &set, &report) == SUBCA_OK) {
		att = subca__attempt_of(r, a->id);
		if (att != NULL)
			*att = (struct subca__attempt){.authority_id = a->id};
		subca_log_event("rotation", "authority %s: the next "
					    "intermediate is active (asked)",
				a->name);
	} else {
		subca_metrics_rotation_failure(a->name);
		subca_log_event("rotation-failed",
				"authority %s: rotation asked for failed [%s]: "
				"%s; the current intermediate stays active",
				a->name, subca_error_name(subca_error_code()),
				subca_error_reason());
		subca_error_clear();
	}
	subca_authority_list_cleanup(&al);
}

static void *subca__rotator_main(void *arg)
{
	struct subca_rotator *r = arg;
	struct timespec next;

	(void)pthread_setname_np(pthread_self(), "subca-rotate");
	clock_gettime(CLOCK_REALTIME, &next);
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec now;

		if (r->nqueue > 0) {
			int64_t id = r->queue[0];

			memmove(r->queue, r->queue + 1,
				--r->nqueue * sizeof(r->queue[0]));
			pthread_mutex_unlock(&r->mu);
			subca__run_now(r, id);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec >= next.tv_sec) {
			pthread_mutex_unlock(&r->mu);
			subca__tick(r);
			pthread_mutex_lock(&r->mu);
			clock_gettime(CLOCK_REALTIME, &next);
			next.tv_sec += r->interval;
			continue;
		}
		/* until the next pass, a run asked for, or stop */
		(void)pthread_cond_timedwait(&r->cv, &r->mu, &next);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

subca_result subca_rotator_run_now(struct subca_rotator *r,
				   int64_t authority_id)
{
	subca_result rv = SUBCA_OK;
	bool queued = false;

	SUBCA_ENSURE(r != NULL, SUBCA_E_OVERLOADED,
		     "the rotation thread is not running");
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nqueue; i++)
		queued = queued || r->queue[i] == authority_id;
	if (!queued && r->nqueue == SUBCA_ROTATION_QUEUE_MAX)
		rv = subca_error_set(SUBCA_E_OVERLOADED, __FILE__, __LINE__,
				     "%d rotations are waiting already; try "
				     "again later",
				     SUBCA_ROTATION_QUEUE_MAX);
	else if (!queued)
		r->queue[r->nqueue++] = authority_id;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return rv;
}

subca_result subca_rotator_start(const char *db, struct subca_keystore *keys,
				 int interval, struct subca_rotator **out)
{
	struct subca_rotator *r = subca_calloc(1, sizeof(*r));
	subca_result rv;
	int rc;

	*out = NULL;
	SUBCA_ENSURE(r != NULL, SUBCA_E_NOMEM, "out of memory");
	r->interval = interval > 0 ? interval : SUBCA_ROTATION_DEFAULT_INTERVAL;
	r->keys = keys;
	rv = subca_store_sqlite_open(db, false, &r->store);
	if (rv != SUBCA_OK) {
		subca_free(r);
		return rv;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	rc = pthread_create(&r->thread, NULL, subca__rotator_main, r);
	if (rc != 0) {
		r->store->ops->close(r->store);
		subca_free(r);
		SUBCA_BAIL(SUBCA_E_INTERNAL, "cannot start the rotation thread: %s",
			   strerror(rc));
	}
	*out = r;
	return SUBCA_OK;
}

void subca_rotator_stop(struct subca_rotator *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	r->store->ops->close(r->store);
	subca_free(r->att);
	subca_free(r);
}
