/*
 * The one allocator. All subca allocations go through it so that tests can
 * make the Nth allocation fail, and so that secrets are wiped on free.
 */
#ifndef SUBCA_ALLOC_H
#define SUBCA_ALLOC_H

#include <stddef.h>

/* malloc/calloc/realloc that return NULL on failure (or injected failure). */
void *subca_malloc(size_t n);
void *subca_calloc(size_t count, size_t n);
void *subca_realloc(void *p, size_t n);
char *subca_strdup(const char *s);
/* free; accepts NULL. */
void subca_free(void *p);
/* Wipe `n` bytes then free; accepts NULL. For anything that held a secret. */
void subca_free_secret(void *p, size_t n);
/* Wipe memory in a way the compiler cannot elide (OPENSSL_cleanse). */
void subca_wipe(void *p, size_t n);

/*
 * Test hook: after `n` more successful allocations, every allocation fails
 * until reset with a negative `n`.
 */
void subca_alloc_fail_after(long n);

/* Cleanup helpers for __attribute__((cleanup)). */
void subca__freep(void *pp);
#define SUBCA_AUTOFREE __attribute__((cleanup(subca__freep)))

#endif
