/*
 * http-01 (RFC 8555 8.3; RFC 8738 for IP identifiers) with libcurl, which
 * the first http-01 check loads (libcurl.h): a server that never checks
 * one does not carry it.
 *
 * Redirects are followed here, one request at a time, rather than by curl,
 * so that each target is checked before it is fetched: http or https only,
 * on the port the check would use for that scheme (80/443, or the
 * configured ports), at most SUBCA_MAX_ACME_REDIRECTS of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../libcurl.h"
#include "subca/limits.h"
#include "validate_int.h"

struct subca__http {
	const struct subca_acme_validation_cfg *cfg;
	const struct subca_curl *c;
	CURL *h;
	struct curl_slist *connect_to;
	struct subca_buf body;
	bool too_big;
	struct timespec end;
	char errbuf[CURL_ERROR_SIZE];
	char url[SUBCA_MAX_URL + 1];
};

/* The URL as shown in a detail: it may come from a redirect (untrusted). */
static const char *subca__http_shown_url(const struct subca__http *x,
					 char *buf, size_t len)
{
	return subca_shown(x->url, strlen(x->url), buf, len);
}

/* Keep at most SUBCA_MAX_ACME_HTTP01_BODY bytes; returning less than
 * given makes curl abort the transfer with CURLE_WRITE_ERROR. */
static size_t subca__http_write(char *p, size_t size, size_t n, void *arg)
{
	struct subca__http *x = arg;
	size_t len = size * n;

	if (len > x->body.max - x->body.len) {
		x->too_big = true;
		return 0;
	}
	if (subca_buf_append(&x->body, p, len) != SUBCA_OK)
		return 0;
	return len;
}

static subca_result subca__http_url(struct subca__http *x,
				    const struct subca_acme_ident *id,
				    const char *token,
				    struct subca_acme_validation_error *err)
{
	bool v6 = id->is_ip && strchr(id->value, ':') != NULL;
	int port = subca__acmev_http_port(x->cfg);
	char portpart[16] = "";

	if (port != 80)
		snprintf(portpart, sizeof(portpart), ":%d", port);
	if (snprintf(x->url, sizeof(x->url),
		     "http://%s%s%s%s/.well-known/acme-challenge/%s",
		     v6 ? "[" : "", id->value, v6 ? "]" : "", portpart,
		     token) >= (int)sizeof(x->url))
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "http-01 URL longer than %u bytes",
				 SUBCA_MAX_URL);
	return SUBCA_OK;
}

/* Tests: every connection goes to connect_host, the identifier stays in
 * the URL and so in Host. */
static subca_result subca__http_connect_to(struct subca__http *x,
					   struct subca_acme_validation_error *err)
{
	const char *host = x->cfg->connect_host;
	bool v6;
	char rule[300];

	if (host == NULL)
		return SUBCA_OK;
	v6 = strchr(host, ':') != NULL;
	if (snprintf(rule, sizeof(rule), "::%s%s%s:", v6 ? "[" : "", host,
		     v6 ? "]" : "") >= (int)sizeof(rule))
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "connect_host too long");
	x->connect_to = x->c->slist_append(NULL, rule);
	if (x->connect_to == NULL)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL, "out of memory");
	return SUBCA_OK;
}

#define SUBCA__SETOPT(x, opt, val) \
	((x)->c->easy_setopt((x)->h, (opt), (val)) == CURLE_OK)

static subca_result subca__http_setup(struct subca__http *x,
				      struct subca_acme_validation_error *err)
{
	/* no signals in worker threads; "" disables every proxy, including
	 * http_proxy and friends from the environment; the key
	 * authorization is the proof, so an https redirect target's
	 * certificate is not verified (it could not add anything) */
	bool ok = SUBCA__SETOPT(x, CURLOPT_NOSIGNAL, 1L) &&
		  SUBCA__SETOPT(x, CURLOPT_PROXY, "") &&
		  SUBCA__SETOPT(x, CURLOPT_PROTOCOLS_STR, "http,https") &&
		  SUBCA__SETOPT(x, CURLOPT_FOLLOWLOCATION, 0L) &&
		  SUBCA__SETOPT(x, CURLOPT_HTTP_VERSION,
				(long)CURL_HTTP_VERSION_1_1) &&
		  SUBCA__SETOPT(x, CURLOPT_MAXFILESIZE_LARGE,
				(curl_off_t)SUBCA_MAX_ACME_HTTP01_BODY) &&
		  SUBCA__SETOPT(x, CURLOPT_WRITEFUNCTION, subca__http_write) &&
		  SUBCA__SETOPT(x, CURLOPT_WRITEDATA, x) &&
		  SUBCA__SETOPT(x, CURLOPT_ERRORBUFFER, x->errbuf) &&
		  SUBCA__SETOPT(x, CURLOPT_USERAGENT, "subca-acme-validation") &&
		  SUBCA__SETOPT(x, CURLOPT_SSL_VERIFYPEER, 0L) &&
		  SUBCA__SETOPT(x, CURLOPT_SSL_VERIFYHOST, 0L) &&
		  SUBCA__SETOPT(x, CURLOPT_CONNECT_TO, x->connect_to);

	if (!ok)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "cannot set up the HTTP client");
	return SUBCA_OK;
}

static subca_result subca__http_curl_fail(const struct subca__http *x,
					  CURLcode e,
					  struct subca_acme_validation_error *err)
{
	const char *why =
		x->errbuf[0] != '\0' ? x->errbuf : x->c->easy_strerror(e);
	char u[96], w[96];

	subca__http_shown_url(x, u, sizeof(u));
	subca_shown(why, strlen(why), w, sizeof(w));
	if (x->too_big || e == CURLE_FILESIZE_EXCEEDED)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
				 "%s: response body larger than %u bytes", u,
				 SUBCA_MAX_ACME_HTTP01_BODY);
	switch (e) {
	case CURLE_COULDNT_RESOLVE_HOST:
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS,
				 "%s: cannot resolve the host (%s)", u, w);
	case CURLE_OPERATION_TIMEDOUT:
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
				 "%s: timed out (%s)", u, w);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_TLS, "%s: %s", u, w);
	default:
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION, "%s: %s", u, w);
	}
}

/* One request to x->url; the body lands in x->body. */
static subca_result subca__http_get(struct subca__http *x, long *status,
				    struct subca_acme_validation_error *err)
{
	long left = subca__acmev_ms_left(&x->end);
	CURLcode e;
	char u[96];

	subca_buf_cleanup(&x->body);
	subca_buf_init(&x->body, SUBCA_MAX_ACME_HTTP01_BODY);
	x->too_big = false;
	x->errbuf[0] = '\0';
	if (left == 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
				 "%s: timed out after %d ms",
				 subca__http_shown_url(x, u, sizeof(u)),
				 subca__acmev_timeout(x->cfg));
	if (!SUBCA__SETOPT(x, CURLOPT_URL, x->url) ||
	    !SUBCA__SETOPT(x, CURLOPT_TIMEOUT_MS, left) ||
	    !SUBCA__SETOPT(x, CURLOPT_CONNECTTIMEOUT_MS, left))
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "cannot set up the HTTP request");
	e = x->c->easy_perform(x->h);
	if (e != CURLE_OK)
		return subca__http_curl_fail(x, e, err);
	*status = 0;
	x->c->easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, status);
	return SUBCA_OK;
}

static bool subca__http_is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	       status == 307 || status == 308;
}

/* Scheme and port (the scheme's default when absent) of an absolute URL. */
static bool subca__url_scheme_port(const struct subca_curl *c,
				   const char *url, char *scheme, size_t len,
				   long *port)
{
	CURLU *u = c->url();
	char *s = NULL, *p = NULL;
	bool ok = false;

	if (u != NULL && c->url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    c->url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
	    c->url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) ==
		    CURLUE_OK) {
		snprintf(scheme, len, "%s", s);
		*port = strtol(p, NULL, 10);
		ok = true;
	}
	c->free(s);
	c->free(p);
	c->url_cleanup(u);
	return ok;
}

/* Move x->url to the Location of the redirect just received, if allowed. */
static subca_result subca__http_follow(struct subca__http *x,
				       struct subca_acme_validation_error *err)
{
	char *loc = NULL, scheme[16], u[96], l[96];
	long port = 0, want;

	subca__http_shown_url(x, u, sizeof(u));
	if (x->c->easy_getinfo(x->h, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK ||
	    loc == NULL)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
				 "%s: redirect without a usable Location", u);
	subca_shown(loc, strlen(loc), l, sizeof(l));
	if (strlen(loc) > SUBCA_MAX_URL ||
	    !subca__url_scheme_port(x->c, loc, scheme, sizeof(scheme), &port))
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
				 "%s: redirect to an unusable URL \"%s\"", u, l);
	if (strcmp(scheme, "http") == 0)
		want = subca__acmev_http_port(x->cfg);
	else if (strcmp(scheme, "https") == 0)
		want = subca__acmev_tls_port(x->cfg);
	else
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
				 "%s: redirect to \"%s\": only http and https "
				 "are followed",
				 u, l);
	if (port != want)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
				 "%s: redirect to \"%s\": %s is followed only "
				 "to port %ld",
				 u, l, scheme, want);
	snprintf(x->url, sizeof(x->url), "%s", loc);
	return SUBCA_OK;
}

/* RFC 8555 8.3: the body is the key authorization; trailing whitespace
 * is ignored, nothing else is. */
static subca_result subca__http_compare(const struct subca__http *x,
					const char *key_authz,
					struct subca_acme_validation_error *err)
{
	const char *p = (const char *)x->body.p;
	size_t n = x->body.len;
	char u[96], b[64];

	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
			 p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n == strlen(key_authz) && memcmp(p, key_authz, n) == 0)
		return SUBCA_OK;
	SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
			 "%s answered \"%s\", not the key authorization",
			 subca__http_shown_url(x, u, sizeof(u)),
			 subca_shown(p != NULL ? p : "", n, b, sizeof(b)));
}

static subca_result subca__http_run(struct subca__http *x,
				    const struct subca_acme_ident *id,
				    const char *token, const char *key_authz,
				    struct subca_acme_validation_error *err)
{
	long status = 0;
	char u[96];

	subca__acmev_deadline(subca__acmev_timeout(x->cfg), &x->end);
	SUBCA_TRY(subca__http_url(x, id, token, err));
	SUBCA_TRY(subca__http_connect_to(x, err));
	SUBCA_TRY(subca__http_setup(x, err));
	for (int hops = 0;; hops++) {
		SUBCA_TRY(subca__http_get(x, &status, err));
		if (!subca__http_is_redirect(status))
			break;
		if (hops == SUBCA_MAX_ACME_REDIRECTS)
			SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_CONNECTION,
					 "%s: more than %d redirects",
					 subca__http_shown_url(x, u, sizeof(u)),
					 SUBCA_MAX_ACME_REDIRECTS);
		SUBCA_TRY(subca__http_follow(x, err));
	}
	if (status != 200)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_UNAUTHORIZED,
				 "%s answered HTTP %ld, not 200",
				 subca__http_shown_url(x, u, sizeof(u)), status);
	return subca__http_compare(x, key_authz, err);
}

subca_result subca__acme_http01(const struct subca_acme_validation_cfg *cfg,
				const struct subca_acme_ident *id,
				const char *token, const char *key_authz,
				struct subca_acme_validation_error *err)
{
	struct subca__http x = {.cfg = cfg};
	subca_result rv;

	if (subca_curl_get(&x.c) != SUBCA_OK)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL, "%s",
				 subca_error_reason());
	x.h = x.c->easy_init();
	if (x.h == NULL)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "cannot initialise the HTTP client");
	subca_buf_init(&x.body, SUBCA_MAX_ACME_HTTP01_BODY);
	rv = subca__http_run(&x, id, token, key_authz, err);
	x.c->easy_cleanup(x.h);
	x.c->slist_free_all(x.connect_to);
	subca_buf_cleanup(&x.body);
	return rv;
}
