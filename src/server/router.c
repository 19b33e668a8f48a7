/*
 * The router: which route of the table answers METHOD PATH on HOST, and
 * which authority the request names (by host SUB.BASE_DOMAIN or by path
 * /a/NAME/). Pure string work on untrusted bytes, fuzzed by fuzz_route.
 */
#include <stdio.h>
#include <string.h>

#include "server_int.h"

#define SUBCA__AUTHORITY_PREFIX "/a/"

static bool subca__is_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* RFC 1035 2.3.1 label, lower case (the form authority names take). */
static bool subca__is_label(const char *s, size_t n)
{
	if (n == 0 || n > SUBCA_MAX_LABEL || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!subca__is_label_char((unsigned char)s[i]))
			return false;
	return true;
}

/* A request path: "/" then visible ASCII (RFC 3986 3.3), bounded. */
static subca_result subca__path_check(const char *path)
{
	size_t n;

	SUBCA_ENSURE(path != NULL && path[0] == '/', SUBCA_E_INVALID_ARGUMENT,
		     "the request path must start with /");
	n = strnlen(path, SUBCA_MAX_REQUEST_PATH + 1);
	SUBCA_ENSURE(n <= SUBCA_MAX_REQUEST_PATH, SUBCA_E_URI_TOO_LONG,
		     "the request path is longer than %u bytes",
		     SUBCA_MAX_REQUEST_PATH);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];

		SUBCA_ENSURE(c > 0x20 && c < 0x7f, SUBCA_E_INVALID_ARGUMENT,
			     "the request path contains a control or non-ASCII byte");
	}
	return SUBCA_OK;
}

/*
 * The Host header without its port, lower case, without a trailing dot
 * (RFC 9110 7.2: host [":" port], host being a reg-name or an IP literal).
 */
static subca_result subca__host_parse(const char *h, char *out, size_t len)
{
	size_t n = 0, end;

	out[0] = '\0';
	if (h == NULL)
		return SUBCA_OK;
	if (h[0] == '[') {
		const char *close = strchr(h, ']');

		SUBCA_ENSURE(close != NULL, SUBCA_E_INVALID_ARGUMENT,
			     "malformed Host header (unclosed IPv6 literal)");
		end = (size_t)(close - h) + 1;
	} else {
		const char *colon = strchr(h, ':');

		end = colon ? (size_t)(colon - h) : strlen(h);
	}
	SUBCA_ENSURE(end < len, SUBCA_E_INVALID_ARGUMENT,
		     "the Host header is longer than %zu bytes", len - 1);
	for (size_t i = 0; i < end; i++) {
		unsigned char c = (unsigned char)h[i];

		SUBCA_ENSURE(c > 0x20 && c < 0x7f && c != '/' && c != '@',
			     SUBCA_E_INVALID_ARGUMENT, "malformed Host header");
		out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return SUBCA_OK;
}

/* SUB when host is SUB.base (one label); false when it is not below base. */
static subca_result subca__host_authority(const struct subca_router *r,
					  struct subca_route_match *m)
{
	size_t hn = strlen(m->host), bn;

	if (r->base_domain == NULL || r->base_domain[0] == '\0')
		return SUBCA_OK;
	bn = strlen(r->base_domain);
	if (hn <= bn + 1 || m->host[hn - bn - 1] != '.' ||
	    strcmp(m->host + hn - bn, r->base_domain) != 0)
		return SUBCA_OK;
	m->via = SUBCA_VIA_HOST;
	SUBCA_ENSURE(subca__is_label(m->host, hn - bn - 1), SUBCA_E_NOT_FOUND,
		     "no authority at %s", m->host);
	memcpy(m->authority, m->host, hn - bn - 1);
	m->authority[hn - bn - 1] = '\0';
	return SUBCA_OK;
}

/* /a/NAME[/rest]: NAME into m->authority, m->rel = "/rest" (or "/"). */
static subca_result subca__path_authority(const char *path,
					  struct subca_route_match *m)
{
	const char *name = path + strlen(SUBCA__AUTHORITY_PREFIX);
	size_t n = strcspn(name, "/");

	m->via = SUBCA_VIA_PATH;
	if (!subca__is_label(name, n)) {
		char shown[SUBCA_MAX_LABEL + 1];

		subca__printable(name, n, shown, sizeof(shown));
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority named \"%s\"",
			   shown);
	}
	memcpy(m->authority, name, n);
	m->authority[n] = '\0';
	m->rel = name[n] != '\0' ? name + n : "/";
	return SUBCA_OK;
}

/* Does `rel` match `pattern` segment by segment? Captures "{x}" segments. */
static bool subca__pattern_match(const char *pattern, const char *rel,
				 struct subca_route_match *m)
{
	const char *p = pattern, *s = rel;
	size_t np = 0;

	while (*p != '\0' && *s != '\0') {
		size_t pl = strcspn(p + 1, "/") + 1, sl = strcspn(s + 1, "/") + 1;

		if (p[0] != '/' || s[0] != '/')
			return false;
		if (pl > 5 && p[1] == '{' && p[pl] == '\0' &&
		    memcmp(p + pl - 4, "...}", 4) == 0) {
			/* "{x...}": the rest of the path */
			if (sl < 2 || np >= SUBCA_ROUTE_MAX_PARAMS)
				return false;
			m->params[np++] = subca_slice_of(s + 1, strlen(s + 1));
			m->nparams = np;
			return true;
		}
		if (pl > 2 && p[1] == '{' && p[pl - 1] == '}') {
			if (sl < 2 || np >= SUBCA_ROUTE_MAX_PARAMS)
				return false;
			m->params[np++] = subca_slice_of(s + 1, sl - 1);
		} else if (pl != sl || memcmp(p, s, pl) != 0) {
			return false;
		}
		p += pl;
		s += sl;
	}
	if (*p != '\0' || *s != '\0')
		return false;
	m->nparams = np;
	return true;
}

static void subca__allow_add(struct subca_route_match *m, const char *method)
{
	size_t used = strlen(m->allow);

	if (strstr(m->allow, method) != NULL)
		return;
	snprintf(m->allow + used, sizeof(m->allow) - used, "%s%s",
		 used ? ", " : "", method);
}

static subca_result subca__table_match(const struct subca_router *r,
				       const char *method,
				       struct subca_route_match *m)
{
	enum subca_route_scope scope = m->via == SUBCA_VIA_NONE
					       ? SUBCA_SCOPE_SERVER
					       : SUBCA_SCOPE_AUTHORITY;
	char shown[128], meth[24];

	for (size_t i = 0; i < r->n; i++) {
		const struct subca_route *rt = &r->routes[i];

		if (rt->scope != scope || !subca__pattern_match(rt->pattern,
								m->rel, m))
			continue;
		if (strcmp(rt->method, method) == 0) {
			m->route = rt;
			return SUBCA_OK;
		}
		subca__allow_add(m, rt->method);
	}
	m->nparams = 0;
	subca__printable(m->rel, strlen(m->rel), shown, sizeof(shown));
	subca__printable(method, strlen(method), meth, sizeof(meth));
	SUBCA_ENSURE(m->allow[0] == '\0', SUBCA_E_METHOD_NOT_ALLOWED,
		     "%s is not allowed on %s (allowed: %s)",
		     meth, shown, m->allow);
	if (m->via == SUBCA_VIA_NONE)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no endpoint %s", shown);
	SUBCA_BAIL(SUBCA_E_NOT_FOUND, "authority \"%s\" has no endpoint %s",
		   m->authority, shown);
}

subca_result subca__router_match(const struct subca_router *r,
				 const char *method, const char *host,
				 const char *path,
				 struct subca_route_match *m)
{
	memset(m, 0, sizeof(*m));
	m->rel = "/";
	SUBCA_TRY(subca__path_check(path));
	SUBCA_ENSURE(method != NULL && method[0] != '\0',
		     SUBCA_E_INVALID_ARGUMENT, "missing request method");
	m->rel = path;
	SUBCA_TRY(subca__host_parse(host, m->host, sizeof(m->host)));
	SUBCA_TRY(subca__host_authority(r, m));
	if (m->via == SUBCA_VIA_NONE &&
	    strncmp(path, SUBCA__AUTHORITY_PREFIX,
		    strlen(SUBCA__AUTHORITY_PREFIX)) == 0)
		SUBCA_TRY(subca__path_authority(path, m));
	return subca__table_match(r, method, m);
}

void subca__route_label(const struct subca_route *rt, char *buf, size_t len)
{
	if (rt == NULL)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s%s",
			 rt->scope == SUBCA_SCOPE_AUTHORITY ? "/a/{authority}"
							    : "",
			 rt->pattern);
}
