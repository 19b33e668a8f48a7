/*
 * HTTP/1.1 request framing watched on the wire: see framing.h. It is
 * stricter than evhttp wherever the two could disagree on where a request
 * ends (RFC 9112 6.3 lists the cases): it refuses what evhttp would frame
 * differently instead of guessing, and evhttp then never sees the request.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "framing.h"
#include "subca/limits.h"

#define SUBCA__METHOD_MAX 16

/* What the head says about the body and the connection. */
struct subca__head {
	char *method, *target, *version;
	const char *host, *length, *te, *connection, *expect;
	int nhost, nlength, nte;
	bool http10;
};

void subca_framing_init(struct subca_framing *f, subca_framing_cap_fn cap_fn,
			void *cap_arg, size_t max_head)
{
	memset(f, 0, sizeof(*f));
	f->cap_fn = cap_fn;
	f->cap_arg = cap_arg;
	f->max_head = max_head;
	subca_buf_init(&f->head, max_head + 1);
}

void subca_framing_cleanup(struct subca_framing *f)
{
	subca_buf_cleanup(&f->head);
}

bool subca_framing_started(const struct subca_framing *f)
{
	return f->state >= SUBCA_FRAMING_HEAD && f->state <= SUBCA_FRAMING_TRAILER;
}

/* A request was received whole. RFC 9112 9.6: after one that closes the
 * connection, nothing more is read. */
static void subca__complete(struct subca_framing *f)
{
	f->complete++;
	f->state = f->close ? SUBCA_FRAMING_DONE : SUBCA_FRAMING_IDLE;
	subca_buf_cleanup(&f->head);
	subca_buf_init(&f->head, f->max_head + 1);
}

/* ---- the head ------------------------------------------------------------ */

static bool subca__tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Bytes a head line may hold: visible ASCII, SP, HTAB and obs-text. */
static bool subca__line_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Cut the line at *p (ending in LF, maybe CR LF) and advance *p past it. */
static char *subca__next_line(char **p)
{
	char *line = *p, *nl = strchr(line, '\n');

	if (nl == NULL)
		return NULL;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	*p = nl + 1;
	return line;
}

static subca_result subca__method(const char *m)
{
	static const char *const known[] = {"GET",     "POST",	"HEAD",
					    "PUT",     "DELETE", "OPTIONS",
					    "PATCH"};

	SUBCA_ENSURE(m[0] != '\0' && strlen(m) < SUBCA__METHOD_MAX,
		     SUBCA_E_BAD_HTTP, "malformed request line");
	for (const char *c = m; *c; c++)
		SUBCA_ENSURE(subca__tchar((unsigned char)*c), SUBCA_E_BAD_HTTP,
			     "malformed request method");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return SUBCA_OK;
	/* RFC 9110 9.1: an unrecognised method is 501 */
	SUBCA_BAIL(SUBCA_E_NOT_IMPLEMENTED, "the method %s is not implemented",
		   m);
}

/* "METHOD SP request-target SP HTTP/1.x" (RFC 9112 3). */
static subca_result subca__request_line(char *line, struct subca__head *h)
{
	char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

	SUBCA_ENSURE(sp1 != NULL && sp2 != NULL && strchr(sp2 + 1, ' ') == NULL &&
			     subca__line_ok(line),
		     SUBCA_E_BAD_HTTP, "malformed request line");
	*sp1 = *sp2 = '\0';
	h->method = line;
	h->target = sp1 + 1;
	h->version = sp2 + 1;
	SUBCA_TRY(subca__method(h->method));
	SUBCA_ENSURE(h->target[0] != '\0' && strchr(h->target, '\t') == NULL,
		     SUBCA_E_BAD_HTTP, "malformed request target");
	SUBCA_ENSURE(strcmp(h->version, "HTTP/1.1") == 0 ||
			     strcmp(h->version, "HTTP/1.0") == 0,
		     SUBCA_E_BAD_HTTP, "unsupported HTTP version (HTTP/1.1 or "
		     "HTTP/1.0 only)");
	h->http10 = strcmp(h->version, "HTTP/1.0") == 0;
	return SUBCA_OK;
}

static char *subca__trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static void subca__header_note(struct subca__head *h, const char *name,
			       const char *value)
{
	if (strcasecmp(name, "host") == 0 && h->nhost++ == 0)
		h->host = value;
	else if (strcasecmp(name, "content-length") == 0 && h->nlength++ == 0)
		h->length = value;
	else if (strcasecmp(name, "transfer-encoding") == 0 && h->nte++ == 0)
		h->te = value;
	else if (strcasecmp(name, "connection") == 0 && h->connection == NULL)
		h->connection = value;
	else if (strcasecmp(name, "expect") == 0 && h->expect == NULL)
		h->expect = value;
}

/* "name: value" (RFC 9112 5): no space before the colon, no folding. */
static subca_result subca__header_line(char *line, struct subca__head *h)
{
	char *colon = strchr(line, ':');

	SUBCA_ENSURE(line[0] != ' ' && line[0] != '\t', SUBCA_E_BAD_HTTP,
		     "folded header lines (obs-fold) are not accepted");
	SUBCA_ENSURE(colon != NULL && colon > line && subca__line_ok(line),
		     SUBCA_E_BAD_HTTP, "malformed header line");
	*colon = '\0';
	for (const char *c = line; *c; c++)
		SUBCA_ENSURE(subca__tchar((unsigned char)*c), SUBCA_E_BAD_HTTP,
			     "malformed header name");
	subca__header_note(h, line, subca__trim(colon + 1));
	return SUBCA_OK;
}

/* Content-Length: digits only (RFC 9110 8.6), as evhttp reads it. */
static subca_result subca__length(const char *v, uint64_t *out)
{
	size_t n = strlen(v);

	SUBCA_ENSURE(n > 0 && n <= 18 && strspn(v, "0123456789") == n,
		     SUBCA_E_BAD_HTTP, "malformed Content-Length");
	*out = 0;
	for (size_t i = 0; i < n; i++)
		*out = *out * 10 + (uint64_t)(v[i] - '0');
	return SUBCA_OK;
}

/* The path the route table sees: the target without query or fragment,
 * and without scheme and authority in absolute form. */
static void subca__path(const char *target, char *out, size_t len)
{
	const char *p = target, *end;

	if (strncasecmp(p, "https://", 8) == 0 ||
	    strncasecmp(p, "http://", 7) == 0) {
		p = strchr(strstr(p, "//") + 2, '/');
		if (p == NULL)
			p = "/";
	}
	end = p + strcspn(p, "?#");
	/* a path the router would refuse anyway gets the default cap */
	if ((size_t)(end - p) >= len)
		end = p;
	snprintf(out, len, "%.*s", (int)(end - p), p);
}

/* RFC 9112 6.1 and 6.3: one framing only, and one that evhttp reads the
 * same way. */
static subca_result subca__framing_of(const struct subca__head *h,
				      uint64_t *length, bool *chunked)
{
	*length = 0;
	*chunked = false;
	SUBCA_ENSURE(h->nlength <= 1 && h->nte <= 1, SUBCA_E_BAD_HTTP,
		     "more than one Content-Length or Transfer-Encoding");
	SUBCA_ENSURE(h->length == NULL || h->te == NULL, SUBCA_E_BAD_HTTP,
		     "both Content-Length and Transfer-Encoding");
	if (h->te != NULL) {
		SUBCA_ENSURE(strcasecmp(h->te, "chunked") == 0,
			     SUBCA_E_NOT_IMPLEMENTED,
			     "the transfer coding \"%.64s\" is not implemented "
			     "(chunked only)",
			     h->te);
		*chunked = true;
	} else if (h->length != NULL) {
		SUBCA_TRY(subca__length(h->length, length));
	}
	/* evhttp reads no body after HEAD: one would become a request */
	SUBCA_ENSURE(strcmp(h->method, "HEAD") != 0 || (*length == 0 &&
							 !*chunked),
		     SUBCA_E_BAD_HTTP, "a HEAD request has no body");
	return SUBCA_OK;
}

static subca_result subca__head_check(struct subca_framing *f,
				      const struct subca__head *h)
{
	/* RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one before */
	SUBCA_ENSURE(h->nhost == 1 || (h->http10 && h->nhost == 0),
		     SUBCA_E_BAD_HTTP, "a request needs exactly one Host header");
	SUBCA_ENSURE(h->expect == NULL ||
			     strcasecmp(h->expect, "100-continue") == 0,
		     SUBCA_E_BAD_HTTP, "unsupported Expect (100-continue only)");
	/* as evhttp decides it, so that both stop at the same request */
	if (h->http10)
		f->close = h->connection == NULL ||
			   strncasecmp(h->connection, "keep-alive", 10) != 0;
	else
		f->close = h->connection != NULL &&
			   strcasecmp(h->connection, "close") == 0;
	return SUBCA_OK;
}

static subca_result subca__head_parse(struct subca_framing *f)
{
	struct subca__head h = {0};
	char *p, *line, path[SUBCA_MAX_REQUEST_PATH + 2];
	uint64_t length;
	bool chunked;

	SUBCA_TRY(subca_buf_append(&f->head, "", 1));
	p = (char *)f->head.p;
	SUBCA_ENSURE(memchr(p, '\0', f->head.len - 1) == NULL, SUBCA_E_BAD_HTTP,
		     "NUL byte in the request head");
	line = subca__next_line(&p);
	SUBCA_ENSURE(line != NULL, SUBCA_E_BAD_HTTP, "malformed request line");
	SUBCA_TRY(subca__request_line(line, &h));
	while ((line = subca__next_line(&p)) != NULL && line[0] != '\0')
		SUBCA_TRY(subca__header_line(line, &h));
	SUBCA_TRY(subca__head_check(f, &h));
	SUBCA_TRY(subca__framing_of(&h, &length, &chunked));
	subca__path(h.target, path, sizeof(path));
	f->cap = f->cap_fn(f->cap_arg, h.method, path, h.host);
	SUBCA_ENSURE(length <= f->cap, SUBCA_E_TOO_LARGE,
		     "the request body of %llu bytes (Content-Length) is over "
		     "the limit of %zu bytes for this endpoint",
		     (unsigned long long)length, f->cap);
	f->body = 0;
	f->left = length;
	if (chunked) {
		f->size_len = 0;
		f->state = SUBCA_FRAMING_CHUNK_SIZE;
	} else if (length > 0) {
		f->state = SUBCA_FRAMING_BODY;
	} else {
		subca__complete(f);
	}
	return SUBCA_OK;
}

/* Line ends (LF, or CR LF) in p[0..n); *done at the empty line. */
static size_t subca__lines(struct subca_framing *f, const unsigned char *p,
			   size_t n, bool *done)
{
	size_t i;

	*done = false;
	for (i = 0; i < n && !*done; i++) {
		if (p[i] == '\n') {
			*done = f->line == 0 || (f->line == 1 && f->prev == '\r');
			f->line = 0;
		} else {
			f->line++;
		}
		f->prev = p[i];
	}
	return i;
}

static subca_result subca__head_feed(struct subca_framing *f,
				     const unsigned char *p, size_t n,
				     size_t *used)
{
	bool done;
	size_t i = subca__lines(f, p, n, &done);

	/* RFC 6585 5 */
	SUBCA_ENSURE(f->head.len + i <= f->max_head, SUBCA_E_HEADERS_TOO_LARGE,
		     "the request line and headers are over the limit of %zu "
		     "bytes",
		     f->max_head);
	SUBCA_TRY(subca_buf_append(&f->head, p, i));
	*used = i;
	return done ? subca__head_parse(f) : SUBCA_OK;
}

/* ---- chunked bodies (RFC 9112 7.1) ---------------------------------------- */

static subca_result subca__chunk_size(struct subca_framing *f)
{
	uint64_t size = 0;
	size_t n = f->size_len;

	if (n > 0 && f->size_line[n - 1] == '\r')
		n--;
	SUBCA_ENSURE(memchr(f->size_line, ';', n) == NULL, SUBCA_E_BAD_HTTP,
		     "chunk extensions are not accepted");
	SUBCA_ENSURE(n > 0 && n <= 16, SUBCA_E_BAD_HTTP, "malformed chunk size");
	for (size_t i = 0; i < n; i++) {
		char c = f->size_line[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		SUBCA_ENSURE(d >= 0, SUBCA_E_BAD_HTTP, "malformed chunk size");
		size = size * 16 + (uint64_t)d;
	}
	SUBCA_ENSURE(size <= f->cap && f->body + size <= f->cap,
		     SUBCA_E_TOO_LARGE,
		     "the chunked request body is over the limit of %zu bytes "
		     "for this endpoint",
		     f->cap);
	f->body += size;
	f->left = size;
	f->line = 0;
	f->prev = 0;
	f->trailer = 0;
	f->state = size > 0 ? SUBCA_FRAMING_CHUNK_DATA : SUBCA_FRAMING_TRAILER;
	return SUBCA_OK;
}

static subca_result subca__size_feed(struct subca_framing *f,
				     const unsigned char *p, size_t n,
				     size_t *used)
{
	const unsigned char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) : n;

	SUBCA_ENSURE(f->size_len + take < sizeof(f->size_line),
		     SUBCA_E_BAD_HTTP, "malformed chunk size line");
	memcpy(f->size_line + f->size_len, p, take);
	f->size_len += take;
	*used = nl ? take + 1 : take;
	return nl ? subca__chunk_size(f) : SUBCA_OK;
}

/* The CR LF (or LF) after a chunk's data. */
static subca_result subca__crlf_feed(struct subca_framing *f, unsigned char c)
{
	if (c == '\r' && f->prev != '\r') {
		f->prev = c;
		return SUBCA_OK;
	}
	SUBCA_ENSURE(c == '\n', SUBCA_E_BAD_HTTP,
		     "chunk data longer than its chunk size");
	f->size_len = 0;
	f->state = SUBCA_FRAMING_CHUNK_SIZE;
	return SUBCA_OK;
}

static subca_result subca__trailer_feed(struct subca_framing *f,
					const unsigned char *p, size_t n,
					size_t *used)
{
	bool done;
	size_t i = subca__lines(f, p, n, &done);

	f->trailer += i;
	SUBCA_ENSURE(f->trailer <= f->max_head, SUBCA_E_HEADERS_TOO_LARGE,
		     "the trailer is over the limit of %zu bytes", f->max_head);
	*used = i;
	if (done)
		subca__complete(f);
	return SUBCA_OK;
}

/* ---- the state machine ---------------------------------------------------- */

static size_t subca__body_feed(struct subca_framing *f, size_t n,
			       enum subca_framing_state next)
{
	size_t take = f->left < n ? (size_t)f->left : n;

	f->left -= take;
	if (f->left == 0) {
		f->prev = 0;
		if (next == SUBCA_FRAMING_IDLE)
			subca__complete(f);
		else
			f->state = next;
	}
	return take;
}

static subca_result subca__step(struct subca_framing *f,
				const unsigned char *p, size_t n,
				size_t *used)
{
	*used = 1;
	switch (f->state) {
	case SUBCA_FRAMING_IDLE:
		/* evhttp refuses an empty line before the request line */
		SUBCA_ENSURE(p[0] != '\r' && p[0] != '\n', SUBCA_E_BAD_HTTP,
			     "empty line before the request line");
		f->state = SUBCA_FRAMING_HEAD;
		f->line = 0;
		f->prev = 0;
		*used = 0;
		return SUBCA_OK;
	case SUBCA_FRAMING_HEAD: return subca__head_feed(f, p, n, used);
	case SUBCA_FRAMING_BODY:
		*used = subca__body_feed(f, n, SUBCA_FRAMING_IDLE);
		return SUBCA_OK;
	case SUBCA_FRAMING_CHUNK_SIZE: return subca__size_feed(f, p, n, used);
	case SUBCA_FRAMING_CHUNK_DATA:
		*used = subca__body_feed(f, n, SUBCA_FRAMING_CHUNK_CRLF);
		return SUBCA_OK;
	case SUBCA_FRAMING_CHUNK_CRLF: return subca__crlf_feed(f, p[0]);
	case SUBCA_FRAMING_TRAILER: return subca__trailer_feed(f, p, n, used);
	default: *used = n; return SUBCA_OK;
	}
}

subca_result subca_framing_feed(struct subca_framing *f, const void *p,
				size_t n)
{
	const unsigned char *b = p;

	while (n > 0) {
		size_t used = 0;
		subca_result rv = subca__step(f, b, n, &used);

		if (rv != SUBCA_OK) {
			f->state = SUBCA_FRAMING_REFUSED;
			subca_buf_cleanup(&f->head);
			return rv;
		}
		b += used;
		n -= used;
	}
	return SUBCA_OK;
}
