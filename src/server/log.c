/*
 * Structured logs: one JSON object per line on stderr. Request lines carry
 * what an operator needs to follow a request and nothing a client could use
 * against another: never the Authorization header, query strings or
 * bodies. Untrusted strings (path, host) are cut to printable ASCII.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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

/* Append `s` to out[*n..len) as a JSON value: null, or a string of its
 * printable ASCII with '"' and '\\' escaped (subca__printable leaves no
 * control character). Room for the longest is the caller's. */
static void subca__log_json_str(char *out, size_t *n, size_t len,
				const char *s)
{
	char safe[SUBCA__LOG_FIELD];
	size_t o = *n;

	if (s == NULL) {
		memcpy(out + o, "null", 4);
		*n = o + 4;
		return;
	}
	subca__printable(s, strlen(s), safe, sizeof(safe));
	out[o++] = '"';
	for (const char *p = safe; *p != '\0' && o + 2 < len; p++) {
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o++] = '"';
	*n = o;
}

/* The whole line with write(2): one call, as with the unbuffered stderr
 * before, but without stdio's stream lock, which the workers contended
 * for on every request (a futex call each under strace). */
static void subca__log_write(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* as fwrite to stderr: a lost line, no error */
		p += w;
		n -= (size_t)w;
	}
}

/*
 * One line per request, on every request: formatted straight into a
 * buffer (a JSON object built and dumped by jansson cost more than the
 * rest of the logging) and written with one call, so lines stay whole.
 * The buffer holds every field at its longest, escaped.
 */
void subca_log_request(const struct subca_log_request *l)
{
	static const char *const names[] = {"request_id", "peer", "method",
					    "path", "host", "authority",
					    "route"};
	const char *values[] = {l->id, l->peer, l->method, l->path,
				l->host, l->authority, l->route};
	enum { NF = sizeof(names) / sizeof(names[0]) };
	char line[NF * (2 * SUBCA__LOG_FIELD + 32) + 256], t[40];
	size_t n;

	subca__log_time(t, sizeof(t));
	n = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\"", t);
	for (size_t i = 0; i < NF; i++) {
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"%s\":",
				      names[i]);
		subca__log_json_str(line, &n, sizeof(line), values[i]);
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n,
			      ",\"status\":%d,\"bytes\":%zu,"
			      "\"duration_ms\":%.3f}\n",
			      l->status, l->bytes, l->duration_ms);
	if (n < sizeof(line))
		subca__log_write(line, n);
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
