/*
 * Account keys by their stored JWK. Every kid-signed ACME request names an
 * account whose JWK is stored as JSON; turning it into an EVP_PKEY (EC
 * point decoding, RSA modulus import through OpenSSL 3's providers) costs
 * more than verifying the request's signature. The key is a pure function
 * of the JWK's text, so the cache is keyed by the SHA-256 of that text
 * (compact, members sorted): a keyChange or another process writing the
 * account changes the text and misses, and nothing is checked less.
 *
 * Direct-mapped, fixed size, one mutex: a slot holds one reference; a hit
 * hands out another (EVP_PKEY is safe to share read-only across threads).
 */
#include "acme_int.h"

#include <pthread.h>
#include <string.h>

#include <openssl/sha.h>

#include "subca/alloc.h"

#define SUBCA__KEYCACHE_SLOTS 1024u

struct subca__keyslot {
	unsigned char id[SHA256_DIGEST_LENGTH];
	EVP_PKEY *key;
};

static pthread_mutex_t subca__keycache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct subca__keyslot subca__keycache[SUBCA__KEYCACHE_SLOTS];

static subca_result subca__jwk_id(const json_t *jwk,
				  unsigned char id[SHA256_DIGEST_LENGTH])
{
	char *text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);

	SUBCA_ENSURE(text != NULL, SUBCA_E_NOMEM, "out of memory");
	SHA256((const unsigned char *)text, strlen(text), id);
	free(text); /* jansson's allocation */
	return SUBCA_OK;
}

static struct subca__keyslot *subca__slot(const unsigned char *id)
{
	unsigned int h = ((unsigned int)id[0] << 8) | id[1];

	return &subca__keycache[h % SUBCA__KEYCACHE_SLOTS];
}

subca_result subca__acme_account_key(const json_t *jwk, EVP_PKEY **out)
{
	unsigned char id[SHA256_DIGEST_LENGTH];
	struct subca__keyslot *slot;
	EVP_PKEY *key = NULL, *old = NULL;

	*out = NULL;
	SUBCA_TRY(subca__jwk_id(jwk, id));
	slot = subca__slot(id);
	pthread_mutex_lock(&subca__keycache_mu);
	if (slot->key != NULL && memcmp(slot->id, id, sizeof(id)) == 0 &&
	    EVP_PKEY_up_ref(slot->key) == 1)
		key = slot->key;
	pthread_mutex_unlock(&subca__keycache_mu);
	if (key != NULL) {
		*out = key;
		return SUBCA_OK;
	}
	SUBCA_TRY(subca_jwk_from_json(jwk, &key));
	if (EVP_PKEY_up_ref(key) == 1) {
		pthread_mutex_lock(&subca__keycache_mu);
		old = slot->key;
		memcpy(slot->id, id, sizeof(id));
		slot->key = key;
		pthread_mutex_unlock(&subca__keycache_mu);
		EVP_PKEY_free(old);
	}
	*out = key;
	return SUBCA_OK;
}

void subca__acme_account_keys_flush(void)
{
	pthread_mutex_lock(&subca__keycache_mu);
	for (size_t i = 0; i < SUBCA__KEYCACHE_SLOTS; i++) {
		EVP_PKEY_free(subca__keycache[i].key);
		subca__keycache[i].key = NULL;
	}
	pthread_mutex_unlock(&subca__keycache_mu);
}
