/*
 * Bounded buffers. Three types:
 *  - struct subca_slice: borrowed bytes (pointer + length), never freed;
 *  - struct subca_buf: owned bytes, born with a maximum size it never grows
 *    past, optionally secret (wiped when it grows or is cleaned up);
 *  - struct subca_reader: a cursor over a slice that refuses to read past
 *    the end and leaves the cursor untouched on failure.
 */
#ifndef SUBCA_BUF_H
#define SUBCA_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "subca/error.h"

struct subca_slice {
	const uint8_t *p;
	size_t len;
};

struct subca_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;
	bool secret;
};

struct subca_reader {
	struct subca_slice s;
	size_t pos;
};

static inline struct subca_slice subca_slice_of(const void *p, size_t len)
{
	struct subca_slice s = {(const uint8_t *)p, len};
	return s;
}

static inline struct subca_slice subca_buf_slice(const struct subca_buf *b)
{
	return subca_slice_of(b->p, b->len);
}

/* Start an empty buffer that may hold at most `max` bytes. No allocation. */
void subca_buf_init(struct subca_buf *b, size_t max);
/* Same, for secret contents: wiped on growth and on cleanup. */
void subca_buf_init_secret(struct subca_buf *b, size_t max);
/* Release the memory (wiping it if secret); the buffer may be reused. */
void subca_buf_cleanup(struct subca_buf *b);
/* Append; SUBCA_E_TOO_LARGE past max, SUBCA_E_NOMEM. Unchanged on failure. */
SUBCA_MUST_CHECK subca_result subca_buf_append(struct subca_buf *b,
					       const void *p, size_t n);
SUBCA_MUST_CHECK subca_result subca_buf_append_str(struct subca_buf *b,
						   const char *s);
SUBCA_MUST_CHECK subca_result subca_buf_printf(struct subca_buf *b,
					       const char *fmt, ...)
	SUBCA_PRINTF(2, 3);
/* Make sure p[len] == '\0' (not counted in len) so the bytes are a C string. */
SUBCA_MUST_CHECK subca_result subca_buf_terminate(struct subca_buf *b);
/* Hand the bytes to the caller (who frees with subca_free); buffer emptied. */
uint8_t *subca_buf_steal(struct subca_buf *b, size_t *len);

#define SUBCA_BUF_AUTO __attribute__((cleanup(subca_buf_cleanup)))

/* Reader: each read either succeeds whole or fails leaving pos unchanged. */
void subca_reader_init(struct subca_reader *r, struct subca_slice s);
size_t subca_reader_left(const struct subca_reader *r);
SUBCA_MUST_CHECK subca_result subca_reader_bytes(struct subca_reader *r,
						 size_t n,
						 struct subca_slice *out);

/*
 * Read a whole file into `out` (initialised here), at most `max` bytes;
 * a bigger file fails with SUBCA_E_TOO_LARGE naming the cap, an unreadable
 * one with SUBCA_E_IO naming the path. "-" reads standard input.
 */
SUBCA_MUST_CHECK subca_result subca_file_read(const char *path, size_t max,
					      struct subca_buf *out);
/*
 * Write a file atomically (temporary file, fsync, rename) with `mode`.
 * "-" writes to standard output.
 */
SUBCA_MUST_CHECK subca_result subca_file_write(const char *path,
					       const void *p, size_t n,
					       unsigned mode);

#endif
