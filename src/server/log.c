/*
 * Structured logs: one JSON object per line on stderr. Request lines carry
 * what an operator needs to follow a request and nothing a client could use
 * against another: never the Authorization header, query strings or
 * bodies. Untrusted strings (path, host) are cut to printable ASCII.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "server_int.h"

#define SUBCA__LOG_FIELD 512

/* RFC 3339 UTC with milliseconds. */
static void subca__log_time(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char base[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(tv.tv_usec / 1000));
}

static json_t *subca__log_str(const char *s)
{
	char safe[SUBCA__LOG_FIELD];

	if (s == NULL)
		return json_null();
	subca__printable(s, strlen(s), safe, sizeof(safe));
	return json_string(safe);
}

static void subca__log_emit(json_t *o)
{
	char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6))
			 : NULL;

	/* one fprintf per line: stdio's lock keeps lines whole */
	if (line != NULL)
		fprintf(stderr, "%s\n", line);
	free(line);
	json_decref(o);
}

void subca_log_request(const struct subca_log_request *l)
{
	char t[40];

	subca__log_time(t, sizeof(t));
	subca__log_emit(json_pack(
		"{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:I, s:f}",
		"time", t, "request_id", subca__log_str(l->id), "peer",
		subca__log_str(l->peer), "method", subca__log_str(l->method),
		"path", subca__log_str(l->path), "host",
		subca__log_str(l->host), "authority",
		subca__log_str(l->authority), "route", subca__log_str(l->route),
		"status", l->status, "bytes", (json_int_t)l->bytes,
		"duration_ms", l->duration_ms));
}

void subca_log_event(const char *event, const char *fmt, ...)
{
	char t[40], msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	subca__log_time(t, sizeof(t));
	subca__log_emit(json_pack("{s:s, s:o, s:o}", "time", t, "event",
				  subca__log_str(event), "msg",
				  subca__log_str(msg)));
}
