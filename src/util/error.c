#include "subca/error.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct subca_error_state {
	enum subca_code code;
	const char *file;
	int line;
	char reason[SUBCA_ERROR_REASON_MAX];
	char hint[SUBCA_ERROR_HINT_MAX];
};

static _Thread_local struct subca_error_state subca__err;

struct subca_error_info {
	const char *name;
	const char *title;
	enum subca_category category;
};

static const struct subca_error_info subca__errors[SUBCA_E__COUNT] = {
	[SUBCA_OK] = {"OK", "success", SUBCA_CAT_NONE},
#define SUBCA_ERR(n, cat, t) [SUBCA_E_##n] = {#n, t, SUBCA_CAT_##cat},
#include "subca/error_codes.def"
#undef SUBCA_ERR
};

static const struct subca_error_info *subca__info(enum subca_code code)
{
	if ((int)code < 0 || code >= SUBCA_E__COUNT)
		return &subca__errors[SUBCA_E_INTERNAL];
	return &subca__errors[code];
}

static void subca__vset(enum subca_code code, const char *file, int line,
			const char *fmt, va_list ap) SUBCA_PRINTF(4, 0);
static void subca__vset(enum subca_code code, const char *file, int line,
			const char *fmt, va_list ap)
{
	subca__err.code = code;
	subca__err.file = file;
	subca__err.line = line;
	subca__err.hint[0] = '\0';
	vsnprintf(subca__err.reason, sizeof(subca__err.reason), fmt, ap);
}

subca_result subca_error_set(enum subca_code code, const char *file, int line,
			     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	subca__vset(code, file, line, fmt, ap);
	va_end(ap);
	return code;
}

subca_result subca_error_set_ossl(enum subca_code code, const char *file,
				  int line, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	size_t used;

	va_start(ap, fmt);
	subca__vset(code, file, line, fmt, ap);
	va_end(ap);
	e = ERR_peek_error();
	used = strlen(subca__err.reason);
	if (e != 0 && used + 3 < sizeof(subca__err.reason)) {
		char ossl[256];

		ERR_error_string_n(e, ossl, sizeof(ossl));
		snprintf(subca__err.reason + used,
			 sizeof(subca__err.reason) - used, " (%s)", ossl);
	}
	ERR_clear_error();
	return code;
}

void subca_error_hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(subca__err.hint, sizeof(subca__err.hint), fmt, ap);
	va_end(ap);
}

void subca_error_clear(void)
{
	memset(&subca__err, 0, sizeof(subca__err));
	ERR_clear_error();
}

enum subca_code subca_error_code(void) { return subca__err.code; }
const char *subca_error_reason(void) { return subca__err.reason; }
const char *subca_error_hint_text(void) { return subca__err.hint; }
const char *subca_error_file(void) { return subca__err.file ? subca__err.file : ""; }
int subca_error_line(void) { return subca__err.line; }

const char *subca_error_name(enum subca_code code)
{
	return subca__info(code)->name;
}

const char *subca_error_title(enum subca_code code)
{
	return subca__info(code)->title;
}

enum subca_category subca_error_category(enum subca_code code)
{
	return subca__info(code)->category;
}

/* The one place where a category becomes an HTTP status. */
int subca_error_http_status(enum subca_code code)
{
	static const int status[] = {
		[SUBCA_CAT_NONE] = 200,	     [SUBCA_CAT_INPUT] = 400,
		[SUBCA_CAT_AUTH] = 401,	     [SUBCA_CAT_POLICY] = 403,
		[SUBCA_CAT_NOT_FOUND] = 404, [SUBCA_CAT_STATE] = 409,
		[SUBCA_CAT_LIMIT] = 413,     [SUBCA_CAT_STORE] = 503,
		[SUBCA_CAT_CRYPTO] = 500,    [SUBCA_CAT_INTERNAL] = 500,
	};
	return status[subca_error_category(code)];
}

/* ... and the one place where it becomes a CLI exit status. */
int subca_error_exit_code(enum subca_code code)
{
	static const int status[] = {
		[SUBCA_CAT_NONE] = 0,	   [SUBCA_CAT_INPUT] = 2,
		[SUBCA_CAT_AUTH] = 3,	   [SUBCA_CAT_POLICY] = 4,
		[SUBCA_CAT_NOT_FOUND] = 5, [SUBCA_CAT_STATE] = 6,
		[SUBCA_CAT_LIMIT] = 7,	   [SUBCA_CAT_STORE] = 8,
		[SUBCA_CAT_CRYPTO] = 9,	   [SUBCA_CAT_INTERNAL] = 10,
	};
	if (code == SUBCA_E_USAGE)
		return 64; /* EX_USAGE */
	return status[subca_error_category(code)];
}

/* ... and the one place where it becomes an ACME error (RFC 8555 6.7). */
static const struct {
	enum subca_code code;
	const char *type;
	int status;
} subca__acme_codes[] = {
	{SUBCA_E_ACME_BAD_NONCE, "badNonce", 400},
	{SUBCA_E_ACME_NO_ACCOUNT, "accountDoesNotExist", 400},
	{SUBCA_E_ACME_EAB_REQUIRED, "externalAccountRequired", 400},
	{SUBCA_E_ACME_ORDER_NOT_READY, "orderNotReady", 403},
	{SUBCA_E_ACME_ALREADY_REVOKED, "alreadyRevoked", 400},
	{SUBCA_E_ACME_BAD_REVOCATION_REASON, "badRevocationReason", 400},
	{SUBCA_E_ACME_UNSUPPORTED_IDENTIFIER, "unsupportedIdentifier", 400},
	{SUBCA_E_ACME_UNSUPPORTED_CONTACT, "unsupportedContact", 400},
	{SUBCA_E_ACME_VALIDATION, "incorrectResponse", 403},
	{SUBCA_E_UNSUPPORTED_ALG, "badSignatureAlgorithm", 400},
	{SUBCA_E_BAD_JWK, "badPublicKey", 400},
	{SUBCA_E_UNSUPPORTED_KEY, "badPublicKey", 400},
	{SUBCA_E_WEAK_KEY, "badPublicKey", 400},
	{SUBCA_E_PRIVATE_KEY, "badPublicKey", 400},
	{SUBCA_E_BAD_CSR, "badCSR", 400},
	{SUBCA_E_CSR_SIGNATURE, "badCSR", 400},
	{SUBCA_E_BAD_NAME, "rejectedIdentifier", 400},
	{SUBCA_E_NAME_CONSTRAINTS, "rejectedIdentifier", 400},
	{SUBCA_E_POLICY, "rejectedIdentifier", 400},
	{SUBCA_E_JWS_SIGNATURE, "unauthorized", 403},
	{SUBCA_E_OVERLOADED, "rateLimited", 503},
	{SUBCA_E_NOT_ACTIVE, "serverInternal", 500},
	{SUBCA_E_METHOD_NOT_ALLOWED, "malformed", 405},
	{SUBCA_E_EXISTS, "malformed", 409}, /* keyChange to a key in use */
};

static const struct {
	const char *type;
	int status;
} subca__acme_cats[] = {
	[SUBCA_CAT_NONE] = {"serverInternal", 500},
	[SUBCA_CAT_INPUT] = {"malformed", 400},
	[SUBCA_CAT_AUTH] = {"unauthorized", 403},
	[SUBCA_CAT_POLICY] = {"unauthorized", 403},
	[SUBCA_CAT_NOT_FOUND] = {"malformed", 404},
	[SUBCA_CAT_STATE] = {"malformed", 403},
	[SUBCA_CAT_LIMIT] = {"malformed", 413},
	[SUBCA_CAT_STORE] = {"serverInternal", 503},
	[SUBCA_CAT_CRYPTO] = {"serverInternal", 500},
	[SUBCA_CAT_INTERNAL] = {"serverInternal", 500},
};

const char *subca_error_acme_type(enum subca_code code)
{
	for (size_t i = 0; i < sizeof(subca__acme_codes) /
				       sizeof(subca__acme_codes[0]);
	     i++)
		if (subca__acme_codes[i].code == code)
			return subca__acme_codes[i].type;
	return subca__acme_cats[subca_error_category(code)].type;
}

int subca_error_acme_status(enum subca_code code)
{
	for (size_t i = 0; i < sizeof(subca__acme_codes) /
				       sizeof(subca__acme_codes[0]);
	     i++)
		if (subca__acme_codes[i].code == code)
			return subca__acme_codes[i].status;
	return subca__acme_cats[subca_error_category(code)].status;
}

enum subca_code subca_error_from_name(const char *name)
{
	for (int c = SUBCA_OK + 1; name != NULL && c < SUBCA_E__COUNT; c++)
		if (subca__errors[c].name != NULL &&
		    strcasecmp(subca__errors[c].name, name) == 0)
			return (enum subca_code)c;
	return SUBCA_E_INTERNAL;
}

const char *subca_shown(const char *s, size_t n, char *buf, size_t len)
{
	size_t i = 0;

	if (len == 0)
		return buf;
	for (; i < n && i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	buf[i] = '\0';
	if (i < n && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}
