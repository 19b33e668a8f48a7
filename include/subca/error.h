/*
 * subca errors: one table of codes, one thread-local "last error" that keeps
 * a short formatted reason and an optional hint, and the guard macros that are
 * the only way a function fails.
 *
 * Every fallible function returns `subca_result` (SUBCA_OK == 0 on success)
 * and is declared SUBCA_MUST_CHECK. On failure it has called
 * subca_error_set() (through a guard macro), so the caller can read the code,
 * reason and hint. Reasons never contain secrets; file and line are kept for
 * logs only and never sent to a client.
 */
#ifndef SUBCA_ERROR_H
#define SUBCA_ERROR_H

#include <stddef.h>
#include <string.h>

#define SUBCA_MUST_CHECK __attribute__((warn_unused_result))
#define SUBCA_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum subca_category {
	SUBCA_CAT_NONE = 0,
	SUBCA_CAT_INPUT,
	SUBCA_CAT_AUTH,
	SUBCA_CAT_POLICY,
	SUBCA_CAT_NOT_FOUND,
	SUBCA_CAT_STATE,
	SUBCA_CAT_LIMIT,
	SUBCA_CAT_STORE,
	SUBCA_CAT_CRYPTO,
	SUBCA_CAT_INTERNAL,
};

enum subca_code {
	SUBCA_OK = 0,
#define SUBCA_ERR(name, cat, title) SUBCA_E_##name,
#include "subca/error_codes.def"
#undef SUBCA_ERR
	SUBCA_E__COUNT
};

typedef enum subca_code subca_result;

/* Length caps of the stored reason and hint (longer text is truncated). */
#define SUBCA_ERROR_REASON_MAX 512
#define SUBCA_ERROR_HINT_MAX 512

/*
 * Record an error for this thread and return `code`, so that
 * `return subca_error_set(...)` fails a function in one line. Clears any
 * earlier hint. `fmt` must not format secrets.
 */
subca_result subca_error_set(enum subca_code code, const char *file, int line,
			     const char *fmt, ...) SUBCA_PRINTF(4, 5);

/*
 * Like subca_error_set(), and appends OpenSSL's first queued error text
 * (if any) to the reason, then clears OpenSSL's error queue.
 */
subca_result subca_error_set_ossl(enum subca_code code, const char *file,
				  int line, const char *fmt, ...)
	SUBCA_PRINTF(4, 5);

/* Attach a hint (how to fix it) to the current error. */
void subca_error_hint(const char *fmt, ...) SUBCA_PRINTF(1, 2);

/* Clear this thread's error (and OpenSSL's error queue). */
void subca_error_clear(void);

/* Current error of this thread; reason/hint are "" when unset. */
enum subca_code subca_error_code(void);
const char *subca_error_reason(void);
const char *subca_error_hint_text(void);
const char *subca_error_file(void);
int subca_error_line(void);

/*
 * A printable copy of the `n` bytes at `s` for an error reason: bytes
 * outside printable ASCII become '?', and text longer than `len` - 1 ends in
 * "...". Returns `buf`. For untrusted values named in reasons.
 */
const char *subca_shown(const char *s, size_t n, char *buf, size_t len);
#define SUBCA_SHOWN(s, buf) subca_shown((s), strlen(s), (buf), sizeof(buf))

/* Static facts about a code. */
const char *subca_error_name(enum subca_code code);  /* "NOT_CA" */
const char *subca_error_title(enum subca_code code); /* "certificate is not a CA" */
enum subca_category subca_error_category(enum subca_code code);
int subca_error_http_status(enum subca_code code);
int subca_error_exit_code(enum subca_code code);
/*
 * The ACME error type of a code (RFC 8555 6.7, without the
 * "urn:ietf:params:acme:error:" prefix: "malformed", "badCSR", ...) and
 * the HTTP status it is answered with: by category, with the codes that
 * have their own ACME type mapped one by one.
 */
const char *subca_error_acme_type(enum subca_code code);
int subca_error_acme_status(enum subca_code code);
/* The code named `name` ("NOT_CA", case ignored, as in a problem's
 * "urn:subca:error:not_ca"); SUBCA_E_INTERNAL for NULL or an unknown name. */
enum subca_code subca_error_from_name(const char *name);

/* ---- guard macros ---------------------------------------------------- */

/* Fail with `code` and a formatted reason. */
#define SUBCA_BAIL(code, ...) \
	return subca_error_set((code), __FILE__, __LINE__, __VA_ARGS__)

/* Fail with `code` unless `cond` holds. */
#define SUBCA_ENSURE(cond, code, ...)                                    \
	do {                                                             \
		if (!(cond))                                             \
			return subca_error_set((code), __FILE__, __LINE__, \
					       __VA_ARGS__);             \
	} while (0)

/* Propagate a failed subca_result unchanged. */
#define SUBCA_TRY(expr)                                    \
	do {                                               \
		subca_result subca__r = (expr);            \
		if (subca__r != SUBCA_OK)                  \
			return subca__r;                   \
	} while (0)

/* OpenSSL call that returns 1 on success (or a non-NULL pointer). */
#define SUBCA_OSSL(cond, code, ...)                                           \
	do {                                                                  \
		if (!(cond))                                                  \
			return subca_error_set_ossl((code), __FILE__, __LINE__, \
						    __VA_ARGS__);             \
	} while (0)

/* Same, for code that must run cleanup in sequence: set error, goto label. */
#define SUBCA_GOTO(label, rv, code, ...)                                   \
	do {                                                               \
		(rv) = subca_error_set((code), __FILE__, __LINE__, __VA_ARGS__); \
		goto label;                                                \
	} while (0)

#endif
