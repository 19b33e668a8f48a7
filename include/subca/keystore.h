/*
 * The key-store interface. Private keys are generated inside the key store
 * and never leave it: there is no export operation. `load` hands out a
 * signing handle (an EVP_PKEY); for the software backend that is the
 * decrypted key in memory, freed (and so wiped by OpenSSL) by the caller
 * right after use; for PKCS#11 it will be a token-backed handle.
 */
#ifndef SUBCA_KEYSTORE_H
#define SUBCA_KEYSTORE_H

#include <openssl/evp.h>

#include "subca/error.h"
#include "subca/key.h"

#define SUBCA_KEY_ID_MAX 64

struct subca_keystore;

struct subca_keystore_ops {
	const char *name;
	void (*close)(struct subca_keystore *ks);
	/* Generate a key of `type`; writes its id (NUL-terminated) and
	 * returns its public half in *pub (owned by the caller). */
	subca_result (*generate)(struct subca_keystore *ks,
				 enum subca_key_type type,
				 char id[SUBCA_KEY_ID_MAX], EVP_PKEY **pub);
	/* A signing handle for key `id` (owned by the caller; free it with
	 * EVP_PKEY_free as soon as the signature is made). */
	subca_result (*load)(struct subca_keystore *ks, const char *id,
			     EVP_PKEY **key);
	/* Destroy key `id` (pending intermediates that are abandoned). */
	subca_result (*destroy)(struct subca_keystore *ks, const char *id);
};

struct subca_keystore {
	const struct subca_keystore_ops *ops;
};

#endif
