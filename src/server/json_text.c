/*
 * JSON text of jansson values (json_text.h). jansson's dump decodes every
 * character of every string as UTF-8 and hands the text out in pieces of
 * a few bytes; an issued certificate's answer is some 3 KiB of PEM. Here
 * a string is copied in runs up to the next byte that needs an escape.
 * Bytes of 0x80 and above are copied as they are, which is what jansson
 * writes for the valid UTF-8 it keeps.
 */
#include "json_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static subca_result subca__value(const json_t *v, int depth,
				 struct subca_buf *out);

/* RFC 8259 7, as jansson writes it: the two-character escapes it uses,
 * \u00XX (upper-case hex) for the other control characters. */
static subca_result subca__string(const char *s, size_t n,
				  struct subca_buf *out)
{
	size_t run = 0;

	SUBCA_TRY(subca_buf_append(out, "\"", 1));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		size_t len = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		SUBCA_TRY(subca_buf_append(out, s + run, i - run));
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c);
			len = 6;
		}
		SUBCA_TRY(subca_buf_append(out, esc, len));
	}
	SUBCA_TRY(subca_buf_append(out, s + run, n - run));
	return subca_buf_append(out, "\"", 1);
}

/* A real as jansson writes it (its shortest round-trip form): rare in
 * answers, so jansson's own formatting. */
static subca_result subca__real(const json_t *v, struct subca_buf *out)
{
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	subca_result rv;

	SUBCA_ENSURE(text != NULL, SUBCA_E_NOMEM, "out of memory");
	rv = subca_buf_append_str(out, text);
	free(text);
	return rv;
}

static subca_result subca__object(const json_t *v, int depth,
				  struct subca_buf *out)
{
	const char *key;
	json_t *value;
	bool first = true;

	SUBCA_TRY(subca_buf_append(out, "{", 1));
	json_object_foreach((json_t *)v, key, value) {
		if (!first)
			SUBCA_TRY(subca_buf_append(out, ",", 1));
		first = false;
		SUBCA_TRY(subca__string(key, strlen(key), out));
		SUBCA_TRY(subca_buf_append(out, ":", 1));
		SUBCA_TRY(subca__value(value, depth + 1, out));
	}
	return subca_buf_append(out, "}", 1);
}

static subca_result subca__array(const json_t *v, int depth,
				 struct subca_buf *out)
{
	size_t i;
	json_t *value;

	SUBCA_TRY(subca_buf_append(out, "[", 1));
	json_array_foreach(v, i, value) {
		if (i > 0)
			SUBCA_TRY(subca_buf_append(out, ",", 1));
		SUBCA_TRY(subca__value(value, depth + 1, out));
	}
	return subca_buf_append(out, "]", 1);
}

static subca_result subca__value(const json_t *v, int depth,
				 struct subca_buf *out)
{
	SUBCA_ENSURE(depth < SUBCA_JSON_TEXT_MAX_DEPTH, SUBCA_E_TOO_LARGE,
		     "JSON nested deeper than %d levels",
		     SUBCA_JSON_TEXT_MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT: return subca__object(v, depth, out);
	case JSON_ARRAY: return subca__array(v, depth, out);
	case JSON_STRING:
		return subca__string(json_string_value(v), json_string_length(v),
				     out);
	case JSON_INTEGER:
		return subca_buf_printf(out, "%" JSON_INTEGER_FORMAT,
					json_integer_value(v));
	case JSON_REAL: return subca__real(v, out);
	case JSON_TRUE: return subca_buf_append(out, "true", 4);
	case JSON_FALSE: return subca_buf_append(out, "false", 5);
	case JSON_NULL: return subca_buf_append(out, "null", 4);
	}
	SUBCA_BAIL(SUBCA_E_INTERNAL, "a JSON value of no known type");
}

subca_result subca_json_text(const json_t *v, struct subca_buf *out)
{
	SUBCA_ENSURE(json_is_object(v) || json_is_array(v), SUBCA_E_INTERNAL,
		     "JSON text is written for an object or an array");
	return subca__value(v, 0, out);
}
