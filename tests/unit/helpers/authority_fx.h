/*
 * A fixture for tests of the authority lifecycle: a temporary data
 * directory with a software key store and a SQLite store, a context on
 * them (actor "test", TH_NOW), and a customer root (EC P-384, "/O=Example/
 * CN=Example Root") with its key and PEM.
 */
#ifndef SUBCA_TEST_AUTHORITY_FX_H
#define SUBCA_TEST_AUTHORITY_FX_H

#include "subca/authority.h"
#include "subca/keystore.h"
#include "subca/store.h"

struct th_afx {
	char *dir;
	struct subca_store *store;
	struct subca_keystore *keys;
	struct subca_ctx c;
	EVP_PKEY *root_key;
	X509 *root;
	char *root_pem;
};

/* A temporary data directory with a software key store (development
 * master key) and a SQLite store, for fixtures of their own; undone by
 * th_data_close. */
void th_data_open(char **dir, struct subca_keystore **keys,
		  struct subca_store **store);
void th_data_close(char *dir, struct subca_keystore *keys,
		   struct subca_store *store);

/* root_not_before: as th_cert_opts.not_before (0: one day before TH_NOW). */
struct th_afx *th_afx_new(long root_not_before);
void th_afx_free(struct th_afx *f);

#endif
