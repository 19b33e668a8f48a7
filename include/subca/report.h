/*
 * A verification report: the refusals and warnings found while checking a
 * root or a signed intermediate, each with the error code, a message that
 * names the problem, and (where known) a hint naming the tool setting that
 * fixes it. Reports collect everything found, not just the first problem.
 */
#ifndef SUBCA_REPORT_H
#define SUBCA_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "subca/error.h"

#define SUBCA_REPORT_MAX_ITEMS 64

struct subca_report_item {
	bool warning; /* false: a refusal */
	enum subca_code code;
	char message[SUBCA_ERROR_REASON_MAX];
	char hint[SUBCA_ERROR_HINT_MAX];
};

struct subca_report {
	struct subca_report_item items[SUBCA_REPORT_MAX_ITEMS];
	size_t n;
	size_t refusals;
	size_t warnings;
};

void subca_report_init(struct subca_report *r);

/* Add a refusal / warning; silently dropped past SUBCA_REPORT_MAX_ITEMS. */
void subca_report_refuse(struct subca_report *r, enum subca_code code,
			 const char *hint, const char *fmt, ...)
	SUBCA_PRINTF(4, 5);
void subca_report_warn(struct subca_report *r, enum subca_code code,
		       const char *hint, const char *fmt, ...)
	SUBCA_PRINTF(4, 5);

/* Add the current thread error (code, reason, hint) as a refusal. */
void subca_report_refuse_current(struct subca_report *r);

/*
 * If the report holds a refusal, set the thread error from the first one
 * (code, message, hint) and return its code; else SUBCA_OK.
 */
SUBCA_MUST_CHECK subca_result subca_report_result(const struct subca_report *r);

#endif
