/*
 * Rotation of intermediates without a person: per-authority settings, the
 * flow "request the next intermediate, have the external signer hook sign
 * it, verify and activate it" (also `subca intermediate rotate`), the
 * warning for an intermediate that expires before the leaves a provisioner
 * allows, and the server's background thread that records due scheduled
 * activations and rotates what is due.
 */
#ifndef SUBCA_SERVER_ROTATION_H
#define SUBCA_SERVER_ROTATION_H

#include <stdbool.h>
#include <stdint.h>

#include "subca/authority.h"
#include "subca/keystore.h"
#include "subca/report.h"
#include "subca/store.h"

#define SUBCA_ROTATION_DEFAULT_TIMEOUT 60    /* hook timeout, seconds */
#define SUBCA_ROTATION_DEFAULT_INTERVAL 60   /* background check, seconds */
#define SUBCA_ROTATION_MAX_BACKOFF 3600	     /* between failed attempts */

/*
 * Check settings: rotate_before 60 s .. 3660 days, a command of 1 to
 * SUBCA_MAX_HOOK_COMMAND printable characters, hook_timeout 1 ..
 * SUBCA_MAX_HOOK_TIMEOUT, days 0 .. SUBCA_MAX_INTERMEDIATE_DAYS.
 * SUBCA_E_INVALID_ARGUMENT naming the setting.
 */
SUBCA_MUST_CHECK subca_result
subca_rotation_validate(const struct subca_rotation_rec *r);

/* Store the settings of authority `name` (r->authority_id and r->updated
 * are set here), audited ("rotation.configure"). Errors of validate,
 * SUBCA_E_NOT_FOUND. */
SUBCA_MUST_CHECK subca_result subca_rotation_configure(
	const struct subca_ctx *c, const char *name,
	const struct subca_rotation_rec *r);
/* Remove them, audited ("rotation.disable"). SUBCA_E_NOT_FOUND. */
SUBCA_MUST_CHECK subca_result subca_rotation_disable(const struct subca_ctx *c,
						     const char *name);
/* The settings of `name` into *out (cleanup: subca_rotation_rec_cleanup).
 * SUBCA_E_NOT_FOUND for no authority or no settings. */
SUBCA_MUST_CHECK subca_result subca_rotation_get(const struct subca_ctx *c,
						 const char *name,
						 struct subca_rotation_rec *out);

/*
 * Is authority rotation due at `now`: the issuing intermediate has less
 * than `rotate_before` seconds left and no verified successor is waiting
 * for its activation time. *left (may be NULL) gets the seconds left, or
 * INT64_MIN when nothing issues.
 */
bool subca_rotation_due(const struct subca_intermediate_list *l, time_t now,
			int64_t rotate_before, int64_t *left);

/*
 * Run the flow once for authority `name` with settings `r`: reuse the
 * newest pending intermediate or request the next one
 * (subca_authority_request_next), give its CSR to the signer command
 * (subca_hook_run; environment: PATH, LANG, HOME, SUBCA_AUTHORITY,
 * SUBCA_INTERMEDIATE_DAYS), import its output with the same verification
 * as by hand and activate it at once. Every step is audited ("rotation.*");
 * on failure the current intermediate stays active and the error is the
 * failed step's (hook errors, import refusals in `report`).
 */
SUBCA_MUST_CHECK subca_result subca_rotation_run(
	const struct subca_ctx *c, const char *name,
	const struct subca_rotation_rec *r, struct subca_report *report);

/* The intermediate-lifetime warning of one authority. */
struct subca_lifetime_warning {
	bool warn;
	int64_t left;	       /* seconds the issuing intermediate has left */
	long max_days;	       /* longest leaf lifetime a provisioner allows */
	char provisioner[64];  /* which one */
	char message[256];     /* the warning, when warn */
};
/*
 * Compare the issuing intermediate's remaining life at `now` with the
 * longest leaf lifetime any provisioner of authority `a` allows (policy
 * max_days, unset: SUBCA_MAX_LEAF_DAYS). No warning without an issuing
 * intermediate or provisioners. Store errors.
 */
SUBCA_MUST_CHECK subca_result subca_lifetime_check(
	struct subca_store *st, const struct subca_authority_rec *a,
	const struct subca_intermediate_list *l, time_t now,
	struct subca_lifetime_warning *out);

/*
 * A point in time for --activate-at / activate_at: "now", "+DURATION"
 * (subca_duration_parse: "+30s", "+2h", "+7d") after `now`, unix seconds,
 * or RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" / "...+HH:MM" / "...-HH:MM".
 * SUBCA_E_INVALID_ARGUMENT naming `what`.
 */
SUBCA_MUST_CHECK subca_result subca_when_parse(const char *what, const char *s,
					       time_t now, int64_t *out);

/* The background thread of `subca serve`. */
struct subca_rotator;
/*
 * Start it: every `interval` seconds (0: the default) on its own store
 * connection to `db`, for each authority record due activations, update
 * the expiry and warning metrics, and run the flow where due; a failure is
 * logged ("rotation-failed"), counted (subca_rotation_failures_total) and
 * retried after a backoff that doubles from `interval` up to
 * SUBCA_ROTATION_MAX_BACKOFF.
 */
SUBCA_MUST_CHECK subca_result subca_rotator_start(const char *db,
						  struct subca_keystore *keys,
						  int interval,
						  struct subca_rotator **out);
/* Stop and join it (waits for a running hook); NULL is fine. */
void subca_rotator_stop(struct subca_rotator *r);

/*
 * Ask it to run the flow of authority `authority_id` now, due or not, as
 * `subca intermediate rotate` does (audited rotation.done or
 * rotation.fail); it runs before the next scheduled pass. An authority
 * already waiting is not queued twice. SUBCA_E_OVERLOADED when
 * SUBCA_ROTATION_QUEUE_MAX others wait.
 */
#define SUBCA_ROTATION_QUEUE_MAX 64
SUBCA_MUST_CHECK subca_result subca_rotator_run_now(struct subca_rotator *r,
						    int64_t authority_id);

#endif
