/*
 * The software key store: each private key is a file keys/<id>.key (0600)
 * holding the key's PKCS#8 DER encrypted with AES-256-GCM under a 256-bit
 * master key; the key id and type are bound as additional authenticated
 * data. The master key is derived with scrypt from a passphrase
 * ($SUBCA_PASSPHRASE or --passphrase-file), or, in development mode, is a
 * random key file master.key (0600) in the data directory.
 * keystore.conf records the mode, the scrypt salt and parameters, and a
 * check value that detects a wrong passphrase before any key is touched.
 */
#ifndef SUBCA_KEYSTORE_SOFT_H
#define SUBCA_KEYSTORE_SOFT_H

#include <stdbool.h>

#include "subca/keystore.h"

/*
 * Create the key store in `dir` (which must exist). With a passphrase,
 * derive the master key with scrypt (N=2^15, r=8, p=1, random 16-byte salt);
 * with passphrase == NULL write a random master.key (development mode).
 * SUBCA_E_EXISTS if a key store (or a stray master.key) is already there;
 * SUBCA_E_BAD_PASSPHRASE for an empty passphrase, SUBCA_E_TOO_LARGE past
 * SUBCA_MAX_PASSPHRASE. The passphrase bytes are used as given (strip a
 * passphrase file's trailing newline before). The passphrase is not kept.
 */
SUBCA_MUST_CHECK subca_result subca_keystore_soft_create(const char *dir,
							 const char *passphrase,
							 size_t passphrase_len);

/*
 * Open the key store in `dir`. In passphrase mode `passphrase` is required
 * (SUBCA_E_BAD_PASSPHRASE when missing, empty or wrong; SUBCA_E_TOO_LARGE
 * past SUBCA_MAX_PASSPHRASE); in key-file mode it is ignored, and
 * master.key must not be accessible to group or others (SUBCA_E_KEYSTORE).
 * SUBCA_E_NOT_INITIALISED when there is no keystore.conf; SUBCA_E_KEYSTORE
 * for a damaged one. Close with (*out)->ops->close(*out), which wipes the
 * master key.
 *
 * Key operations: ids are 32 lower-case hex digits (anything else is
 * SUBCA_E_INVALID_ARGUMENT); load/destroy of an unknown id is
 * SUBCA_E_NOT_FOUND; a key file that does not decrypt or decode is
 * SUBCA_E_KEYSTORE naming the id.
 */
SUBCA_MUST_CHECK subca_result subca_keystore_soft_open(const char *dir,
						       const char *passphrase,
						       size_t passphrase_len,
						       struct subca_keystore **out);

/* true when the key store in `dir` is in development (key file) mode. */
bool subca_keystore_soft_is_dev(const char *dir);

/*
 * Tests only: the scrypt cost N that subca_keystore_soft_create records
 * (a power of two, 1024 to 131072; 0 restores the default 32768). Opening
 * always uses the N recorded in keystore.conf.
 */
void subca__keystore_soft_set_scrypt_n(unsigned long n);

#endif
