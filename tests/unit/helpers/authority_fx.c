#include "helpers/authority_fx.h"

#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "subca/keystore_soft.h"
#include "subca/store_sqlite.h"

struct th_afx *th_afx_new(long root_not_before)
{
	struct th_afx *f = calloc(1, sizeof(*f));
	char db[512];

	assert_non_null(f);
	f->dir = th_tmpdir();
	snprintf(db, sizeof(db), "%s/subca.db", f->dir);
	assert_int_equal(subca_keystore_soft_create(f->dir, NULL, 0), SUBCA_OK);
	assert_int_equal(subca_keystore_soft_open(f->dir, NULL, 0, &f->keys),
			 SUBCA_OK);
	assert_int_equal(subca_store_sqlite_open(db, true, &f->store), SUBCA_OK);
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
	f->store->ops->close(f->store);
	f->keys->ops->close(f->keys);
	th_rmrf(f->dir);
	free(f->dir);
	free(f->root_pem);
	X509_free(f->root);
	EVP_PKEY_free(f->root_key);
	free(f);
}
