/*
 * JSON text of a jansson value, written straight into a bounded buffer
 * (json_text.c): the bytes json_dumps(v, JSON_COMPACT) writes, without its
 * per-character UTF-8 decoding, its cycle-check table and its copies.
 * Every JSON answer of the server is written this way.
 */
#ifndef SUBCA_SERVER_JSON_TEXT_H
#define SUBCA_SERVER_JSON_TEXT_H

#include <jansson.h>

#include "subca/buf.h"
#include "subca/error.h"

/* Nesting deeper than this is refused (no answer of ours comes close). */
#define SUBCA_JSON_TEXT_MAX_DEPTH 32

/*
 * Append the text of `v`, an object or an array, to `out`. Strings are
 * taken as jansson keeps them, valid UTF-8 (json_string checks it); '"',
 * '\\' and control characters are escaped as jansson escapes them.
 * SUBCA_E_INTERNAL for a value that is not an object or array,
 * SUBCA_E_TOO_LARGE past out's limit or SUBCA_JSON_TEXT_MAX_DEPTH,
 * SUBCA_E_NOMEM; `out` may then hold part of the text.
 */
SUBCA_MUST_CHECK subca_result subca_json_text(const json_t *v,
					      struct subca_buf *out);

#endif
