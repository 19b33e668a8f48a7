#include "helpers/authority_fx.h"

#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "subca/keystore_soft.h"
#include "subca/store_sqlite.h"

void th_data_open(char **dir, struct subca_keystore **keys,
		  struct subca_store **store)
{
	char db[512];

	*dir = th_tmpdir();
	assert_non_null(*dir);
	snprintf(db, sizeof(db), "%s/subca.db", *dir);
	assert_int_equal(subca_keystore_soft_create(*dir, NULL, 0), SUBCA_OK);
	assert_int_equal(subca_keystore_soft_open(*dir, NULL, 0, keys),
			 SUBCA_OK);
	assert_int_equal(subca_store_sqlite_open(db, true, store), SUBCA_OK);
}

void th_data_close(char *dir, struct subca_keystore *keys,
		   struct subca_store *store)
{
	store->ops->close(store);
	keys->ops->close(keys);
	th_rmrf(dir);
	free(dir);
}

struct th_afx *th_afx_new(long root_not_before)
{
	struct th_afx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	th_data_open(&f->dir, &f->keys, &f->store);
	f->c.store = f->store;
	f->c.keys = f->keys;
	f->c.actor = "test";
	f->c.now = TH_NOW;
	f->root_key = th_key("ec-p384");
	f->root = th_cert(&(struct th_cert_opts){
				  .subject = "/O=Example/CN=Example Root",
				  .not_before = root_not_before},
			  f->root_key, NULL, NULL);
	f->root_pem = th_pem(f->root);
	return f;
}

void th_afx_free(struct th_afx *f)
{
	th_data_close(f->dir, f->keys, f->store);
	free(f->root_pem);
	X509_free(f->root);
	EVP_PKEY_free(f->root_key);
	free(f);
}
