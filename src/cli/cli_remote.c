/* The CLI's remote mode: one libcurl easy handle against the admin API.
 * libcurl is loaded here, on the first remote command (libcurl.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../server/libcurl.h"
#include "cli_remote.h"
#include "subca/alloc.h"
#include "subca/limits.h"

#define CLI_REMOTE_PREFIX "/admin/v1"

subca_result cli_remote_open(struct cli *cli)
{
	const struct subca_curl *c;
	CURL *h;

	SUBCA_ENSURE(strncasecmp(cli->server, "https://", 8) == 0 &&
			     cli->server[8] != '\0',
		     SUBCA_E_INVALID_ARGUMENT,
		     "--server must be an https:// URL (the subca API is "
		     "HTTPS only), not \"%.200s\"",
		     cli->server);
	SUBCA_ENSURE(strlen(cli->server) <= SUBCA_MAX_URL,
		     SUBCA_E_INVALID_ARGUMENT, "--server URL too long");
	if (cli->token != NULL) {
		/* the token goes into a header: no line breaks or controls */
		for (const char *p = cli->token; *p != '\0'; p++)
			SUBCA_ENSURE(*p > 0x20 && *p < 0x7f,
				     SUBCA_E_INVALID_ARGUMENT,
				     "the admin token (--token / SUBCA_TOKEN) "
				     "contains spaces or control characters");
	}
	SUBCA_TRY(subca_curl_get(&c));
	h = c->easy_init();
	SUBCA_ENSURE(h != NULL, SUBCA_E_NOMEM, "cannot make a libcurl handle");
	cli->curl = h;
	return SUBCA_OK;
}

/* libcurl itself stays loaded and initialised until the process exits */
void cli_remote_close(struct cli *cli)
{
	const struct subca_curl *c;

	if (cli->curl == NULL)
		return;
	/* a handle exists only once the library was loaded */
	if (subca_curl_get(&c) == SUBCA_OK)
		c->easy_cleanup(cli->curl);
	cli->curl = NULL;
}

subca_result cli_remote_authority_path(const char *name, const char *rest,
				       char *out, size_t len)
{
	char esc[3 * SUBCA_MAX_LABEL + 1];

	SUBCA_TRY(subca_label_validate("authority name", name));
	SUBCA_TRY(cli_remote_escape(name, esc, sizeof(esc)));
	SUBCA_ENSURE(snprintf(out, len, "/authorities/%s%s", esc, rest) <
			     (int)len,
		     SUBCA_E_TOO_LARGE, "URL path too long");
	return SUBCA_OK;
}

subca_result cli_remote_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			SUBCA_ENSURE(o + 1 < len, SUBCA_E_TOO_LARGE,
				     "URL component too long");
			out[o++] = (char)c;
			continue;
		}
		SUBCA_ENSURE(o + 3 < len, SUBCA_E_TOO_LARGE,
			     "URL component too long");
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	SUBCA_ENSURE(o < len, SUBCA_E_TOO_LARGE, "URL component too long");
	out[o] = '\0';
	return SUBCA_OK;
}

struct cli__sink {
	struct subca_buf *b;
	bool too_large;
};

static size_t cli__write(char *p, size_t size, size_t n, void *arg)
{
	struct cli__sink *s = arg;

	/* returning less than given aborts the transfer */
	if (subca_buf_append(s->b, p, size * n) != SUBCA_OK) {
		s->too_large = true;
		return 0;
	}
	return size * n;
}

static subca_result cli__options(const struct subca_curl *c, struct cli *cli,
				 CURL *h, const char *url,
				 struct curl_slist *headers,
				 struct cli__sink *sink, char *errbuf)
{
	CURLcode e = CURLE_OK;

#define CLI__SET(opt, val)                                                   \
	do {                                                                 \
		if (e == CURLE_OK)                                           \
			e = c->easy_setopt(h, opt, val);                     \
	} while (0)
	CLI__SET(CURLOPT_URL, url);
	CLI__SET(CURLOPT_ERRORBUFFER, errbuf);
	CLI__SET(CURLOPT_PROTOCOLS_STR, "https");
	CLI__SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	CLI__SET(CURLOPT_FOLLOWLOCATION, 0L);
	CLI__SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	CLI__SET(CURLOPT_SSL_VERIFYPEER, 1L);
	CLI__SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (cli->cacert != NULL)
		CLI__SET(CURLOPT_CAINFO, cli->cacert);
	CLI__SET(CURLOPT_CONNECTTIMEOUT, 10L);
	CLI__SET(CURLOPT_TIMEOUT, 60L);
	CLI__SET(CURLOPT_NOSIGNAL, 1L);
	CLI__SET(CURLOPT_MAXFILESIZE_LARGE,
		 (curl_off_t)SUBCA_MAX_RESPONSE_BODY);
	CLI__SET(CURLOPT_HTTPHEADER, headers);
	CLI__SET(CURLOPT_WRITEFUNCTION, cli__write);
	CLI__SET(CURLOPT_WRITEDATA, sink);
	CLI__SET(CURLOPT_USERAGENT, "subca-cli/0.1.0");
#undef CLI__SET
	SUBCA_ENSURE(e == CURLE_OK, SUBCA_E_INTERNAL, "libcurl: %s",
		     c->easy_strerror(e));
	return SUBCA_OK;
}

static subca_result cli__body(const struct subca_curl *c, CURL *h,
			      const char *method, const char *ctype,
			      struct subca_slice body)
{
	CURLcode e = CURLE_OK;

	if (strcmp(method, "GET") == 0)
		e = c->easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else
		e = c->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (e == CURLE_OK && ctype != NULL) {
		e = c->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				   (curl_off_t)body.len);
		if (e == CURLE_OK)
			e = c->easy_setopt(h, CURLOPT_POSTFIELDS,
					   body.len ? (const char *)body.p
						    : "");
	}
	SUBCA_ENSURE(e == CURLE_OK, SUBCA_E_INTERNAL, "libcurl: %s",
		     c->easy_strerror(e));
	return SUBCA_OK;
}

/* The headers: the bearer token (built in a secret buffer, wiped) and the
 * content type. */
static subca_result cli__headers(const struct subca_curl *c,
				 const struct cli *cli, const char *ctype,
				 struct curl_slist **out)
{
	SUBCA_BUF_AUTO struct subca_buf auth = {0};
	struct curl_slist *l = NULL, *n;
	char ct[128];

	*out = NULL;
	subca_buf_init_secret(&auth, 4096);
	l = c->slist_append(NULL, "Accept: application/json");
	SUBCA_ENSURE(l != NULL, SUBCA_E_NOMEM, "out of memory");
	*out = l;
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		n = c->slist_append(l, ct);
		SUBCA_ENSURE(n != NULL, SUBCA_E_NOMEM, "out of memory");
	} else {
		/* no body: keep curl from adding an Expect or a form type */
		n = c->slist_append(l, "Expect:");
		SUBCA_ENSURE(n != NULL, SUBCA_E_NOMEM, "out of memory");
	}
	if (cli->token == NULL || cli->token[0] == '\0')
		return SUBCA_OK;
	SUBCA_TRY(subca_buf_printf(&auth, "Authorization: Bearer %s",
				   cli->token));
	SUBCA_TRY(subca_buf_terminate(&auth));
	/* curl copies the string; the copy is freed (not wiped) with the list */
	n = c->slist_append(l, (const char *)auth.p);
	SUBCA_ENSURE(n != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

/* Turn a problem+json answer into the current error. */
static subca_result cli__problem(long status, const struct subca_buf *resp,
				 json_t **problem)
{
	json_t *p = json_loadb((const char *)resp->p, resp->len, 0, NULL);
	const char *type = NULL, *detail = NULL, *hint = NULL;
	enum subca_code code = SUBCA_E_INTERNAL;

	if (json_is_object(p)) {
		type = json_string_value(json_object_get(p, "type"));
		detail = json_string_value(json_object_get(p, "detail"));
		hint = json_string_value(json_object_get(p, "hint"));
	}
	if (type != NULL && strncmp(type, "urn:subca:error:", 16) == 0)
		code = subca_error_from_name(type + 16);
	if (code == SUBCA_OK)
		code = SUBCA_E_INTERNAL;
	if (detail != NULL)
		subca_error_set(code, __FILE__, __LINE__, "%s", detail);
	else
		subca_error_set(code, __FILE__, __LINE__,
				"the server answered HTTP %ld without a "
				"problem description",
				status);
	if (hint != NULL)
		subca_error_hint("%s", hint);
	if (problem != NULL && json_is_object(p))
		*problem = p;
	else
		json_decref(p);
	return code;
}

subca_result cli_remote_call(struct cli *cli, const char *method,
			     const char *path, const char *ctype,
			     struct subca_slice body, struct subca_buf *resp,
			     json_t **problem)
{
	CURL *h = cli->curl;
	const struct subca_curl *c;
	SUBCA_BUF_AUTO struct subca_buf url = {0};
	struct curl_slist *headers = NULL;
	struct cli__sink sink = {resp, false};
	char errbuf[CURL_ERROR_SIZE] = "";
	size_t blen = strlen(cli->server);
	long status = 0;
	subca_result rv;
	CURLcode e;

	if (problem != NULL)
		*problem = NULL;
	subca_buf_init(resp, SUBCA_MAX_RESPONSE_BODY);
	SUBCA_ENSURE(h != NULL, SUBCA_E_INTERNAL, "no server connection");
	SUBCA_TRY(subca_curl_get(&c));
	while (blen > 0 && cli->server[blen - 1] == '/')
		blen--;
	subca_buf_init(&url, 2 * SUBCA_MAX_URL + 4096);
	SUBCA_TRY(subca_buf_printf(&url, "%.*s%s%s", (int)blen, cli->server,
				   CLI_REMOTE_PREFIX, path));
	SUBCA_TRY(subca_buf_terminate(&url));
	c->easy_reset(h);
	rv = cli__headers(c, cli, ctype, &headers);
	if (rv == SUBCA_OK)
		rv = cli__options(c, cli, h, (const char *)url.p, headers,
				  &sink, errbuf);
	if (rv == SUBCA_OK)
		rv = cli__body(c, h, method, ctype, body);
	if (rv == SUBCA_OK) {
		e = c->easy_perform(h);
		if (e != CURLE_OK && (sink.too_large ||
				      e == CURLE_FILESIZE_EXCEEDED))
			rv = subca_error_set(SUBCA_E_TOO_LARGE, __FILE__,
					     __LINE__,
					     "the answer of %s is larger than "
					     "%u bytes",
					     cli->server,
					     SUBCA_MAX_RESPONSE_BODY);
		else if (e != CURLE_OK)
			rv = subca_error_set(SUBCA_E_IO, __FILE__, __LINE__,
					     "cannot talk to %s: %s",
					     cli->server,
					     errbuf[0] ? errbuf
						       : c->easy_strerror(e));
		else
			c->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	}
	/* the header list holds the token: drop it from the handle first */
	c->easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	for (struct curl_slist *n = headers; n != NULL; n = n->next)
		subca_wipe(n->data, strlen(n->data));
	c->slist_free_all(headers);
	if (rv == SUBCA_OK)
		rv = subca_buf_terminate(resp);
	if (rv != SUBCA_OK) {
		subca_buf_cleanup(resp);
		return rv;
	}
	if (status >= 200 && status < 300)
		return SUBCA_OK;
	rv = cli__problem(status, resp, problem);
	subca_buf_cleanup(resp);
	return rv;
}

subca_result cli_remote_json(struct cli *cli, const char *method,
			     const char *path, json_t *body, json_t **out,
			     json_t **problem)
{
	SUBCA_BUF_AUTO struct subca_buf resp = {0};
	char *text = NULL;
	json_error_t jerr;
	subca_result rv;

	*out = NULL;
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(body);
		SUBCA_ENSURE(text != NULL, SUBCA_E_NOMEM, "out of memory");
	}
	rv = cli_remote_call(cli, method, path,
			     text ? "application/json" : NULL,
			     subca_slice_of(text, text ? strlen(text) : 0),
			     &resp, problem);
	free(text);
	SUBCA_TRY(rv);
	*out = json_loadb((const char *)resp.p, resp.len, 0, &jerr);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the server's answer is not JSON: %s", jerr.text);
	return SUBCA_OK;
}
