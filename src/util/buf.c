#include "subca/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subca/alloc.h"

void subca_buf_init(struct subca_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void subca_buf_init_secret(struct subca_buf *b, size_t max)
{
	subca_buf_init(b, max);
	b->secret = true;
}

void subca_buf_cleanup(struct subca_buf *b)
{
	if (b->secret)
		subca_free_secret(b->p, b->cap);
	else
		subca_free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Grow so that `need` bytes plus a terminating NUL fit. */
static subca_result subca__buf_reserve(struct subca_buf *b, size_t need)
{
	size_t cap;
	uint8_t *p;

	if (need + 1 <= b->cap)
		return SUBCA_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = subca_malloc(cap);
	SUBCA_ENSURE(p != NULL, SUBCA_E_NOMEM, "out of memory (%zu bytes)", cap);
	if (b->len > 0)
		memcpy(p, b->p, b->len);
	if (b->secret)
		subca_free_secret(b->p, b->cap);
	else
		subca_free(b->p);
	b->p = p;
	b->cap = cap;
	return SUBCA_OK;
}

subca_result subca_buf_append(struct subca_buf *b, const void *p, size_t n)
{
	SUBCA_ENSURE(n <= b->max && b->len <= b->max - n, SUBCA_E_TOO_LARGE,
		     "more than the limit of %zu bytes", b->max);
	SUBCA_TRY(subca__buf_reserve(b, b->len + n));
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return SUBCA_OK;
}

subca_result subca_buf_append_str(struct subca_buf *b, const char *s)
{
	return subca_buf_append(b, s, strlen(s));
}

subca_result subca_buf_printf(struct subca_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	SUBCA_ENSURE(n >= 0, SUBCA_E_INTERNAL, "format error");
	SUBCA_ENSURE((size_t)n <= b->max && b->len <= b->max - (size_t)n,
		     SUBCA_E_TOO_LARGE, "more than the limit of %zu bytes",
		     b->max);
	SUBCA_TRY(subca__buf_reserve(b, b->len + (size_t)n));
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return SUBCA_OK;
}

subca_result subca_buf_terminate(struct subca_buf *b)
{
	SUBCA_TRY(subca__buf_reserve(b, b->len));
	b->p[b->len] = '\0';
	return SUBCA_OK;
}

uint8_t *subca_buf_steal(struct subca_buf *b, size_t *len)
{
	uint8_t *p = b->p;

	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void subca_reader_init(struct subca_reader *r, struct subca_slice s)
{
	r->s = s;
	r->pos = 0;
}

size_t subca_reader_left(const struct subca_reader *r)
{
	return r->s.len - r->pos;
}

subca_result subca_reader_bytes(struct subca_reader *r, size_t n,
				struct subca_slice *out)
{
	SUBCA_ENSURE(n <= subca_reader_left(r), SUBCA_E_TRUNCATED,
		     "wanted %zu bytes, %zu left", n, subca_reader_left(r));
	*out = subca_slice_of(r->s.p + r->pos, n);
	r->pos += n;
	return SUBCA_OK;
}

static subca_result subca__read_fd(int fd, const char *path, size_t max,
				   struct subca_buf *out)
{
	uint8_t chunk[16384];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		SUBCA_ENSURE(n >= 0, SUBCA_E_IO, "cannot read %s: %s", path,
			     strerror(errno));
		if (n == 0)
			return SUBCA_OK;
		subca_result rv = subca_buf_append(out, chunk, (size_t)n);

		subca_wipe(chunk, sizeof(chunk));
		if (rv == SUBCA_E_TOO_LARGE)
			SUBCA_BAIL(SUBCA_E_TOO_LARGE,
				   "%s is larger than the limit of %zu bytes",
				   path, max);
		SUBCA_TRY(rv);
	}
}

subca_result subca_file_read(const char *path, size_t max,
			     struct subca_buf *out)
{
	subca_result rv;
	int fd;

	subca_buf_init(out, max);
	if (strcmp(path, "-") == 0)
		return subca__read_fd(STDIN_FILENO, "standard input", max, out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	SUBCA_ENSURE(fd >= 0, SUBCA_E_IO, "cannot open %s: %s", path,
		     strerror(errno));
	rv = subca__read_fd(fd, path, max, out);
	close(fd);
	if (rv != SUBCA_OK)
		subca_buf_cleanup(out);
	return rv;
}

static subca_result subca__write_all(int fd, const char *path, const void *p,
				     size_t n)
{
	const uint8_t *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		SUBCA_ENSURE(w > 0, SUBCA_E_IO, "cannot write %s: %s", path,
			     strerror(errno));
		c += w;
		n -= (size_t)w;
	}
	return SUBCA_OK;
}

subca_result subca_file_write(const char *path, const void *p, size_t n,
			      unsigned mode)
{
	char tmp[4096];
	subca_result rv;
	int fd;

	if (strcmp(path, "-") == 0)
		return subca__write_all(STDOUT_FILENO, "standard output", p, n);
	SUBCA_ENSURE(snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) <
			     (int)sizeof(tmp),
		     SUBCA_E_INVALID_ARGUMENT, "path too long: %s", path);
	fd = mkstemp(tmp);
	SUBCA_ENSURE(fd >= 0, SUBCA_E_IO, "cannot create %s: %s", path,
		     strerror(errno));
	rv = subca__write_all(fd, path, p, n);
	if (rv == SUBCA_OK && fchmod(fd, mode) != 0)
		rv = subca_error_set(SUBCA_E_IO, __FILE__, __LINE__,
				     "cannot chmod %s: %s", path,
				     strerror(errno));
	if (rv == SUBCA_OK && fsync(fd) != 0)
		rv = subca_error_set(SUBCA_E_IO, __FILE__, __LINE__,
				     "cannot sync %s: %s", path,
				     strerror(errno));
	close(fd);
	if (rv == SUBCA_OK && rename(tmp, path) != 0)
		rv = subca_error_set(SUBCA_E_IO, __FILE__, __LINE__,
				     "cannot write %s: %s", path,
				     strerror(errno));
	if (rv != SUBCA_OK)
		unlink(tmp);
	return rv;
}
