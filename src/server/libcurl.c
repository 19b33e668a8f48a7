/*
 * libcurl loaded on first use (libcurl.h says why). The table is filled
 * by name from one list, so a function added to struct subca_curl and
 * forgotten here is caught by the check that every slot is set.
 */
#include "libcurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
	       "dlsym results must fit a function pointer (POSIX)");

struct subca__curl_sym {
	const char *name;
	size_t off;
};

#define SUBCA__SYM(f) {"curl_" #f, offsetof(struct subca_curl, f)}
static const struct subca__curl_sym subca__curl_syms[] = {
	SUBCA__SYM(global_init),  SUBCA__SYM(easy_init),
	SUBCA__SYM(easy_setopt),  SUBCA__SYM(easy_perform),
	SUBCA__SYM(easy_getinfo), SUBCA__SYM(easy_reset),
	SUBCA__SYM(easy_cleanup), SUBCA__SYM(easy_strerror),
	SUBCA__SYM(slist_append), SUBCA__SYM(slist_free_all),
	SUBCA__SYM(url),	  SUBCA__SYM(url_set),
	SUBCA__SYM(url_get),	  SUBCA__SYM(url_cleanup),
	SUBCA__SYM(free),
};
#undef SUBCA__SYM

_Static_assert(sizeof(subca__curl_syms) / sizeof(subca__curl_syms[0]) *
			       sizeof(void *) ==
		       sizeof(struct subca_curl),
	       "every member of struct subca_curl is resolved by name");

#define SUBCA__CURL_FAIL(soname, why)                                      \
	SUBCA_BAIL(SUBCA_E_INTERNAL,                                       \
		   "libcurl (%s) cannot be loaded: %s; install libcurl4", \
		   (soname), (why))

/* dlsym's NULL is an error only when dlerror says so; a libcurl function
 * is never legitimately at address 0, so both are refused. */
static subca_result subca__curl_resolve(void *lib, const char *soname,
					struct subca_curl *api)
{
	for (size_t i = 0; i < sizeof(subca__curl_syms) /
				       sizeof(subca__curl_syms[0]);
	     i++) {
		const struct subca__curl_sym *s = &subca__curl_syms[i];
		const char *why;
		void *p;

		(void)dlerror();
		p = dlsym(lib, s->name);
		why = dlerror();
		if (p == NULL) {
			char msg[160];

			snprintf(msg, sizeof(msg), "it lacks %s (%s)", s->name,
				 why != NULL ? why : "a NULL symbol");
			SUBCA__CURL_FAIL(soname, msg);
		}
		/* POSIX: a function's address comes from dlsym as void * */
		memcpy((char *)api + s->off, &p, sizeof(p));
	}
	return SUBCA_OK;
}

subca_result subca_curl_load(const char *soname, struct subca_curl *api)
{
	void *lib;
	const char *why;
	subca_result rv;

	memset(api, 0, sizeof(*api));
	lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		why = dlerror();
		SUBCA__CURL_FAIL(soname, why != NULL ? why : "dlopen failed");
	}
	rv = subca__curl_resolve(lib, soname, api);
	if (rv != SUBCA_OK) {
		memset(api, 0, sizeof(*api));
		dlclose(lib);
	}
	return rv;
}

static struct subca_curl subca__curl;
static pthread_once_t subca__curl_once = PTHREAD_ONCE_INIT;
static subca_result subca__curl_rv = SUBCA_E_INTERNAL;
/* the reason of a failed first load, replayed to every later caller (the
 * error state itself is per thread) */
static char subca__curl_why[SUBCA_ERROR_REASON_MAX];

static void subca__curl_init(void)
{
	CURLcode e;

	subca__curl_rv = subca_curl_load(SUBCA_CURL_SONAME, &subca__curl);
	if (subca__curl_rv == SUBCA_OK) {
		e = subca__curl.global_init(CURL_GLOBAL_DEFAULT);
		if (e != CURLE_OK)
			subca__curl_rv = subca_error_set(
				SUBCA_E_INTERNAL, __FILE__, __LINE__,
				"libcurl (%s) cannot be initialised: %s",
				SUBCA_CURL_SONAME,
				subca__curl.easy_strerror(e));
	}
	if (subca__curl_rv != SUBCA_OK)
		snprintf(subca__curl_why, sizeof(subca__curl_why), "%s",
			 subca_error_reason());
}

subca_result subca_curl_get(const struct subca_curl **out)
{
	*out = NULL;
	pthread_once(&subca__curl_once, subca__curl_init);
	SUBCA_ENSURE(subca__curl_rv == SUBCA_OK, subca__curl_rv, "%s",
		     subca__curl_why);
	*out = &subca__curl;
	return SUBCA_OK;
}
