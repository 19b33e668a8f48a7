/*
 * libcurl, loaded on first use. libcurl (libcurl4-openssl) pulls in about
 * 25 shared libraries (GnuTLS via librtmp, Kerberos, LDAP, libssh2,
 * nghttp2, ...) that cost a process about 6 MiB of RSS whether or not it
 * ever makes a request; subca needs an HTTP client only to validate ACME
 * http-01 challenges and for the CLI's remote mode. So subca does not link
 * libcurl: the first caller of subca_curl_get() loads it with dlopen and
 * resolves the functions subca calls into the table below; everyone calls
 * through that table, and nothing else in the tree may name a curl_*
 * function (the types and constants still come from <curl/curl.h>).
 *
 * The soname is fixed at build time: no environment variable or option
 * chooses the library a server loads.
 */
#ifndef SUBCA_SERVER_LIBCURL_H
#define SUBCA_SERVER_LIBCURL_H

#include <curl/curl.h>

#include "subca/error.h"

/* The soname subca_curl_get() loads (ABI 4, every libcurl since 7.16). */
#define SUBCA_CURL_SONAME "libcurl.so.4"

/* The libcurl functions subca calls, typed by <curl/curl.h> itself. The
 * variadic setopt and getinfo lose the compile-time checks of curl's gcc
 * macros: pass long, curl_off_t, pointers and callbacks exactly as its
 * documentation says. */
struct subca_curl {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_reset) *easy_reset;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_url) *url;
	__typeof__(curl_url_set) *url_set;
	__typeof__(curl_url_get) *url_get;
	__typeof__(curl_url_cleanup) *url_cleanup;
	__typeof__(curl_free) *free;
};

/*
 * The process-wide table: on the first call (once, thread-safe) load
 * SUBCA_CURL_SONAME, resolve every function and run curl_global_init. The
 * library then stays loaded for the life of the process. *out borrows the
 * table. A failure is remembered and every call fails the same way:
 * SUBCA_E_INTERNAL, "libcurl (libcurl.so.4) cannot be loaded: <why>;
 * install libcurl4" (or "... cannot be initialised").
 */
SUBCA_MUST_CHECK subca_result subca_curl_get(const struct subca_curl **out);

/*
 * Load `soname` (RTLD_NOW | RTLD_LOCAL) and resolve the table into *api,
 * without curl_global_init; the handle is kept (never closed) on success
 * and closed on failure. For subca_curl_get() and for the tests of its
 * error paths, which name a library that is missing or is not libcurl.
 * Errors: SUBCA_E_INTERNAL naming the soname, dlerror's text and the
 * missing symbol if any.
 */
SUBCA_MUST_CHECK subca_result subca_curl_load(const char *soname,
					      struct subca_curl *api);

#endif
