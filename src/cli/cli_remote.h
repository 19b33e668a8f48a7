/*
 * The CLI's remote mode: the lifecycle commands against a subca server's
 * admin API (docs/api.md) instead of the data directory. One libcurl easy
 * handle per invocation, HTTPS only, the peer and host verified.
 */
#ifndef SUBCA_CLI_REMOTE_H
#define SUBCA_CLI_REMOTE_H

#include <jansson.h>

#include "cli.h"

/* Check --server (https:// only) and --token, and make the handle. */
SUBCA_MUST_CHECK subca_result cli_remote_open(struct cli *cli);
void cli_remote_close(struct cli *cli);

/* Percent-encode `s` as one path segment or query value (RFC 3986 2.1:
 * everything but the unreserved characters). */
SUBCA_MUST_CHECK subca_result cli_remote_escape(const char *s, char *out,
						size_t len);

/* "/authorities/NAME" + rest into `out`, NAME checked and escaped. */
SUBCA_MUST_CHECK subca_result cli_remote_authority_path(const char *name,
							const char *rest,
							char *out, size_t len);

/*
 * `method` /admin/v1`path` with `body` (of content type `ctype`, or no body
 * when ctype is NULL). A 2xx answer leaves its body in *resp (a C string,
 * at most SUBCA_MAX_RESPONSE_BODY). Any other status fails with the code
 * named by the RFC 7807 problem (detail as the reason, hint as the hint);
 * when `problem` is not NULL the parsed problem is left there (or NULL).
 * Network and TLS failures are SUBCA_E_IO with curl's message.
 */
SUBCA_MUST_CHECK subca_result cli_remote_call(struct cli *cli,
					      const char *method,
					      const char *path,
					      const char *ctype,
					      struct subca_slice body,
					      struct subca_buf *resp,
					      json_t **problem);

/* The same with a JSON body (NULL: none; the reference is consumed) and a
 * JSON answer in *out. */
SUBCA_MUST_CHECK subca_result cli_remote_json(struct cli *cli,
					      const char *method,
					      const char *path, json_t *body,
					      json_t **out, json_t **problem);

#endif
