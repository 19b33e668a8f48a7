#include "subca/alloc.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local long subca__fail_after = -1;

static int subca__should_fail(void)
{
	if (subca__fail_after < 0)
		return 0;
	if (subca__fail_after == 0)
		return 1;
	subca__fail_after--;
	return 0;
}

void subca_alloc_fail_after(long n) { subca__fail_after = n; }

void *subca_malloc(size_t n)
{
	if (subca__should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *subca_calloc(size_t count, size_t n)
{
	if (subca__should_fail())
		return NULL;
	return calloc(count ? count : 1, n ? n : 1);
}

void *subca_realloc(void *p, size_t n)
{
	if (subca__should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

char *subca_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = subca_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

void subca_free(void *p) { free(p); }

void subca_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void subca_free_secret(void *p, size_t n)
{
	subca_wipe(p, n);
	free(p);
}

void subca__freep(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}
