/*
 * The issuer cache: what issuing from one intermediate needs, loaded once
 * and shared by every server worker. Without it each issuance would read
 * the root chain and the certificate from the store, parse and re-check
 * them, and read and decrypt the intermediate key from its file.
 *
 * An entry is keyed by the intermediate's row id AND its certificate's
 * SHA-256 fingerprint, so a row whose certificate changed is a miss, never
 * a stale hit. Entries are immutable once made and reference-counted: a
 * caller holds its reference while it signs, and an entry evicted or
 * replaced meanwhile is freed when the last holder releases it. The cache
 * keeps at most a fixed number of entries (least recently used goes).
 *
 * The private key stays an OpenSSL EVP_PKEY (a key-store handle); the
 * cache makes no other copy of it and frees it with the entry.
 */
#ifndef SUBCA_ISSUER_CACHE_H
#define SUBCA_ISSUER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "subca/error.h"
#include "subca/root.h"

#define SUBCA_ISSUER_FP_LEN 64 /* lower-case hex SHA-256 */

struct subca_issuer_entry {
	int64_t id;				   /* intermediate row id */
	char fingerprint[SUBCA_ISSUER_FP_LEN + 1]; /* of `cert` */
	X509 *cert;	   /* the intermediate */
	EVP_PKEY *key;	   /* its signing handle */
	struct subca_root *root; /* the customer's chain, anchor first */
	/* The PEM an issued chain carries after the leaf: the intermediate,
	 * then the customer's CAs below the trust anchor, closest first (the
	 * anchor itself is never sent, RFC 8446 4.4.2). NUL-terminated. */
	char *ca_pem;
	size_t ca_pem_len;
	bool key_checked; /* always true: `key` is `cert`'s key */
	/* private to issuer_cache.c */
	long refs;
	uint64_t used;
};

struct subca_issuer_cache;

/*
 * A new entry holding one reference, in no cache. Takes over cert, key and
 * root (set0), also on failure. `fingerprint` is the 64 hex characters
 * recorded for cert. SUBCA_E_INVALID_ARGUMENT for a missing part or a
 * malformed fingerprint, SUBCA_E_CRYPTO when `key` is not the
 * certificate's key (checked once here, so that each leaf's signature need
 * not be verified), SUBCA_E_NOMEM, SUBCA_E_CRYPTO (also PEM encoding).
 */
SUBCA_MUST_CHECK subca_result subca_issuer_entry_new(
	int64_t id, const char *fingerprint, X509 *cert, EVP_PKEY *key,
	struct subca_root *root, const struct subca_issuer_entry **out);

/* Drop one reference; the last one frees the entry. Accepts NULL. */
void subca_issuer_entry_release(const struct subca_issuer_entry *e);

/*
 * A cache of at most `max_entries` entries (1..SUBCA_MAX_CACHED_ISSUERS;
 * SUBCA_E_INVALID_ARGUMENT otherwise). Safe for concurrent use by threads.
 */
SUBCA_MUST_CHECK subca_result
subca_issuer_cache_new(size_t max_entries, struct subca_issuer_cache **out);

/* Release every entry the cache holds and free it. Accepts NULL. */
void subca_issuer_cache_free(struct subca_issuer_cache *c);

/*
 * The entry for intermediate `id` whose certificate has `fingerprint`,
 * with a reference for the caller (release it), or NULL on a miss (none,
 * or the cached one has another fingerprint).
 */
const struct subca_issuer_entry *
subca_issuer_cache_get(struct subca_issuer_cache *c, int64_t id,
		       const char *fingerprint);

/*
 * Let the cache hold a reference to `e` too (the caller keeps its own). An
 * entry with the same id is replaced; when the cache is full, the least
 * recently used entry goes.
 */
void subca_issuer_cache_put(struct subca_issuer_cache *c,
			    const struct subca_issuer_entry *e);

/*
 * Forget the entry of intermediate `id` (its certificate changed: a
 * re-certification). Holders keep their reference. Accepts a NULL cache
 * and an id not cached.
 */
void subca_issuer_cache_drop(struct subca_issuer_cache *c, int64_t id);

struct subca_issuer_cache_stats {
	uint64_t hits, misses, evictions;
	size_t entries;
};
void subca_issuer_cache_stats(struct subca_issuer_cache *c,
			      struct subca_issuer_cache_stats *out);

#endif
