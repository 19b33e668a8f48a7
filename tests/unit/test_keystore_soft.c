/* Unit tests of the software key store. */
#include "helpers.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subca/alloc.h"
#include "subca/key.h"
#include "subca/keystore_soft.h"
#include "subca/limits.h"

#define PASS "correct horse battery staple"

struct fx {
	char *dir;
	struct subca_keystore *ks;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = th_tmpdir();
	assert_non_null(f->dir);
	/* cheap scrypt for tests; the default is checked on its own below */
	subca__keystore_soft_set_scrypt_n(1024);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	subca_alloc_fail_after(-1);
	subca__keystore_soft_set_scrypt_n(0);
	if (f->ks != NULL)
		f->ks->ops->close(f->ks);
	th_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* A key store in development (key file) mode, opened. */
static void fx_dev(struct fx *f)
{
	assert_int_equal(subca_keystore_soft_create(f->dir, NULL, 0), SUBCA_OK);
	assert_int_equal(subca_keystore_soft_open(f->dir, NULL, 0, &f->ks),
			 SUBCA_OK);
}

static void path_of(char *out, size_t n, const struct fx *f, const char *name)
{
	snprintf(out, n, "%s/%s", f->dir, name);
}

static void key_path(char *out, size_t n, const struct fx *f, const char *id)
{
	snprintf(out, n, "%s/keys/%s.key", f->dir, id);
}

static mode_t mode_of(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 0777;
}

static void read_file(const char *path, struct subca_buf *b)
{
	assert_int_equal(subca_file_read(path, 1u << 20, b), SUBCA_OK);
}

static void write_file(const char *path, const void *p, size_t n)
{
	assert_int_equal(subca_file_write(path, p, n, 0600), SUBCA_OK);
}

static void generate(struct fx *f, enum subca_key_type t, char *id,
		     EVP_PKEY **pub)
{
	assert_int_equal(f->ks->ops->generate(f->ks, t, id, pub), SUBCA_OK);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
	assert_non_null(*pub);
}

/* Sign with `key` and verify with `pub`. */
static void assert_signs_for(EVP_PKEY *key, EVP_PKEY *pub)
{
	static const unsigned char msg[] = "to be signed";
	const EVP_MD *md = EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_non_null(c);
	assert_int_equal(EVP_DigestSignInit(c, NULL, md, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(c, sig, &siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);
	c = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(c, NULL, md, NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(c, sig, siglen, msg, sizeof(msg)), 1);
	sig[0] ^= 1;
	assert_int_not_equal(EVP_DigestVerify(c, sig, siglen, msg, sizeof(msg)),
			     1);
	EVP_MD_CTX_free(c);
	ERR_clear_error();
}

/* ---- create and open ---------------------------------------------------- */

static void test_keystore_create_with_passphrase_writes_private_files(void **state)
{
	struct fx *f = *state;
	SUBCA_BUF_AUTO struct subca_buf conf = {0};
	char p[600];

	subca__keystore_soft_set_scrypt_n(0); /* the real cost, once */
	assert_int_equal(subca_keystore_soft_create(f->dir, PASS,
						    strlen(PASS)),
			 SUBCA_OK);
	path_of(p, sizeof(p), f, "keystore.conf");
	assert_int_equal(mode_of(p), 0600);
	read_file(p, &conf);
	assert_int_equal(subca_buf_terminate(&conf), SUBCA_OK);
	assert_non_null(strstr((char *)conf.p, "mode=passphrase\n"));
	assert_non_null(strstr((char *)conf.p, "kdf=scrypt\n"));
	assert_non_null(strstr((char *)conf.p, "scrypt_n=32768\n"));
	assert_non_null(strstr((char *)conf.p, "scrypt_r=8\n"));
	assert_non_null(strstr((char *)conf.p, "scrypt_p=1\n"));
	assert_non_null(strstr((char *)conf.p, "salt="));
	assert_non_null(strstr((char *)conf.p, "check="));
	assert_null(strstr((char *)conf.p, PASS));
	path_of(p, sizeof(p), f, "keys");
	assert_int_equal(mode_of(p), 0700);
	path_of(p, sizeof(p), f, "master.key");
	assert_int_not_equal(access(p, F_OK), 0);
	assert_false(subca_keystore_soft_is_dev(f->dir));
	assert_int_equal(subca_keystore_soft_open(f->dir, PASS, strlen(PASS),
						  &f->ks),
			 SUBCA_OK);
	assert_string_equal(f->ks->ops->name, "soft");
}

static void test_keystore_create_without_passphrase_writes_private_master_key(void **state)
{
	struct fx *f = *state;
	SUBCA_BUF_AUTO struct subca_buf b = {0};
	char p[600];

	fx_dev(f);
	path_of(p, sizeof(p), f, "master.key");
	assert_int_equal(mode_of(p), 0600);
	read_file(p, &b);
	assert_int_equal(b.len, 32);
	path_of(p, sizeof(p), f, "keys");
	assert_int_equal(mode_of(p), 0700);
	path_of(p, sizeof(p), f, "keystore.conf");
	assert_int_equal(mode_of(p), 0600);
	assert_true(subca_keystore_soft_is_dev(f->dir));
}

static void test_keystore_open_on_empty_directory_is_not_initialised(void **state)
{
	struct fx *f = *state;

	th_assert_error(subca_keystore_soft_open(f->dir, PASS, strlen(PASS),
						 &f->ks),
			SUBCA_E_NOT_INITIALISED, "keystore.conf is missing");
	assert_null(f->ks);
	assert_false(subca_keystore_soft_is_dev(f->dir));
}

static void test_keystore_create_twice_is_exists(void **state)
{
	struct fx *f = *state;

	assert_int_equal(subca_keystore_soft_create(f->dir, PASS, strlen(PASS)),
			 SUBCA_OK);
	th_assert_error(subca_keystore_soft_create(f->dir, NULL, 0),
			SUBCA_E_EXISTS, "a key store already exists");
	th_assert_error(subca_keystore_soft_create(f->dir, PASS, strlen(PASS)),
			SUBCA_E_EXISTS, "a key store already exists");
}

static void test_keystore_create_in_missing_directory_is_refused(void **state)
{
	struct fx *f = *state;
	char p[600];

	path_of(p, sizeof(p), f, "nope");
	th_assert_error(subca_keystore_soft_create(p, NULL, 0), SUBCA_E_IO,
			"is not a directory");
}

static void test_keystore_wrong_passphrase_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(subca_keystore_soft_create(f->dir, PASS, strlen(PASS)),
			 SUBCA_OK);
	th_assert_error(subca_keystore_soft_open(f->dir, "wrong", 5, &f->ks),
			SUBCA_E_BAD_PASSPHRASE,
			"wrong passphrase (the key store check value does not decrypt)");
	assert_null(f->ks);
	/* a prefix of the right one is just as wrong */
	th_assert_error(subca_keystore_soft_open(f->dir, PASS,
						 strlen(PASS) - 1, &f->ks),
			SUBCA_E_BAD_PASSPHRASE, "wrong passphrase");
}

static void test_keystore_missing_passphrase_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(subca_keystore_soft_create(f->dir, PASS, strlen(PASS)),
			 SUBCA_OK);
	th_assert_error(subca_keystore_soft_open(f->dir, NULL, 0, &f->ks),
			SUBCA_E_BAD_PASSPHRASE,
			"the key store is passphrase-protected: set SUBCA_PASSPHRASE or use --passphrase-file");
	th_assert_error(subca_keystore_soft_open(f->dir, "", 0, &f->ks),
			SUBCA_E_BAD_PASSPHRASE, "passphrase-protected");
	assert_null(f->ks);
}

static void test_keystore_empty_passphrase_is_refused_at_create(void **state)
{
	struct fx *f = *state;
	char p[600];

	th_assert_error(subca_keystore_soft_create(f->dir, "", 0),
			SUBCA_E_BAD_PASSPHRASE, "the passphrase is empty");
	path_of(p, sizeof(p), f, "keystore.conf");
	assert_int_not_equal(access(p, F_OK), 0);
}

static void test_keystore_passphrase_at_limit_works_one_past_is_refused(void **state)
{
	struct fx *f = *state;
	char *big = malloc(SUBCA_MAX_PASSPHRASE + 1);

	assert_non_null(big);
	memset(big, 'p', SUBCA_MAX_PASSPHRASE + 1);
	th_assert_error(subca_keystore_soft_create(f->dir, big,
						   SUBCA_MAX_PASSPHRASE + 1),
			SUBCA_E_TOO_LARGE, "limit of 4096 bytes");
	assert_int_equal(subca_keystore_soft_create(f->dir, big,
						    SUBCA_MAX_PASSPHRASE),
			 SUBCA_OK);
	th_assert_error(subca_keystore_soft_open(f->dir, big,
						 SUBCA_MAX_PASSPHRASE + 1,
						 &f->ks),
			SUBCA_E_TOO_LARGE, "limit of 4096 bytes");
	assert_int_equal(subca_keystore_soft_open(f->dir, big,
						  SUBCA_MAX_PASSPHRASE, &f->ks),
			 SUBCA_OK);
	free(big);
}

static void test_keystore_master_key_of_another_store_is_refused(void **state)
{
	struct fx *f = *state;
	unsigned char other[33] = {1, 2, 3};
	char p[600];

	fx_dev(f);
	f->ks->ops->close(f->ks);
	f->ks = NULL;
	path_of(p, sizeof(p), f, "master.key");
	write_file(p, other, 32);
	th_assert_error(subca_keystore_soft_open(f->dir, NULL, 0, &f->ks),
			SUBCA_E_KEYSTORE, "master.key does not belong");
	/* a short one is refused before any decryption */
	write_file(p, other, 31);
	th_assert_error(subca_keystore_soft_open(f->dir, NULL, 0, &f->ks),
			SUBCA_E_KEYSTORE, "is not a 32-byte key");
	write_file(p, other, 33);
	th_assert_error(subca_keystore_soft_open(f->dir, NULL, 0, &f->ks),
			SUBCA_E_TOO_LARGE, "limit of 32 bytes");
}

static void test_keystore_master_key_readable_by_others_is_refused(void **state)
{
	struct fx *f = *state;
	char p[600];

	fx_dev(f);
	f->ks->ops->close(f->ks);
	f->ks = NULL;
	path_of(p, sizeof(p), f, "master.key");
	assert_int_equal(chmod(p, 0644), 0);
	th_assert_error(subca_keystore_soft_open(f->dir, NULL, 0, &f->ks),
			SUBCA_E_KEYSTORE, "accessible to other users (mode 0644)");
}

static void test_keystore_damaged_conf_is_refused(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *text, *reason;
	} cases[] = {
		{"version=1\nmode=keyfile\n", "incomplete"},
		{"version=2\nmode=keyfile\ncheck=00\n", "version 2 is not supported"},
		{"version=1\nmode=other\n", "unknown mode"},
		{"version=1\ncolour=blue\n", "unknown setting \"colour\""},
		{"version=1\nmode\n", "line 2 is not name=value"},
		{"version=1\nscrypt_n=3000\n", "power of two"},
		{"version=1\nscrypt_n=512\n", "from 1024 to 131072"},
		{"version=1\nscrypt_n=-1024\n", "from 1024 to 131072"},
		{"version=1\nscrypt_r=99999999999999999999999\n", "from 1 to 16"},
		{"version=1\nsalt=00zz\n", "salt must be 16 hex bytes"},
		{"version=1\ncheck=AB\n", "malformed check value"},
	};
	char p[600];

	path_of(p, sizeof(p), f, "keystore.conf");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(p, cases[i].text, strlen(cases[i].text));
		th_assert_error(subca_keystore_soft_open(f->dir, PASS,
							 strlen(PASS), &f->ks),
				SUBCA_E_KEYSTORE, cases[i].reason);
		assert_null(f->ks);
	}
}

static void test_keystore_conf_without_salt_is_refused(void **state)
{
	struct fx *f = *state;
	SUBCA_BUF_AUTO struct subca_buf conf = {0};
	char p[600], *salt, *end;

	assert_int_equal(subca_keystore_soft_create(f->dir, PASS, strlen(PASS)),
			 SUBCA_OK);
	path_of(p, sizeof(p), f, "keystore.conf");
	read_file(p, &conf);
	assert_int_equal(subca_buf_terminate(&conf), SUBCA_OK);
	salt = strstr((char *)conf.p, "salt=");
	assert_non_null(salt);
	end = strchr(salt, '\n');
	memmove(salt, end + 1, strlen(end + 1) + 1);
	write_file(p, conf.p, strlen((char *)conf.p));
	th_assert_error(subca_keystore_soft_open(f->dir, PASS, strlen(PASS),
						 &f->ks),
			SUBCA_E_KEYSTORE, "keystore.conf is incomplete");
}

static void test_keystore_conf_at_size_limit_opens_one_past_is_refused(void **state)
{
	struct fx *f = *state;
	SUBCA_BUF_AUTO struct subca_buf conf = {0};
	char p[600];
	char *big = malloc(SUBCA_MAX_KEYSTORE_CONF + 1);

	assert_non_null(big);
	fx_dev(f);
	f->ks->ops->close(f->ks);
	f->ks = NULL;
	path_of(p, sizeof(p), f, "keystore.conf");
	read_file(p, &conf);
	/* pad with a comment line up to the limit */
	memset(big, '#', SUBCA_MAX_KEYSTORE_CONF + 1);
	memcpy(big, conf.p, conf.len);
	big[SUBCA_MAX_KEYSTORE_CONF - 1] = '\n';
	write_file(p, big, SUBCA_MAX_KEYSTORE_CONF);
	assert_int_equal(subca_keystore_soft_open(f->dir, NULL, 0, &f->ks),
			 SUBCA_OK);
	f->ks->ops->close(f->ks);
	f->ks = NULL;
	big[SUBCA_MAX_KEYSTORE_CONF] = '\n';
	write_file(p, big, SUBCA_MAX_KEYSTORE_CONF + 1);
	th_assert_error(subca_keystore_soft_open(f->dir, NULL, 0, &f->ks),
			SUBCA_E_TOO_LARGE, "limit of 4096 bytes");
	free(big);
}

/* ---- keys --------------------------------------------------------------- */

static void test_keystore_generates_every_key_type_and_loaded_key_signs_for_public(void **state)
{
	struct fx *f = *state;

	fx_dev(f);
	for (int t = 0; t < SUBCA_KEY__COUNT; t++) {
		char id[SUBCA_KEY_ID_MAX], p[600];
		EVP_PKEY *pub = NULL, *key = NULL;
		enum subca_key_type got;

		generate(f, (enum subca_key_type)t, id, &pub);
		key_path(p, sizeof(p), f, id);
		assert_int_equal(mode_of(p), 0600);
		/* the public half carries no private key */
		assert_null(EVP_PKEY2PKCS8(pub));
		ERR_clear_error();
		assert_int_equal(f->ks->ops->load(f->ks, id, &key), SUBCA_OK);
		assert_int_equal(subca_key_type_of(key, &got), SUBCA_OK);
		assert_int_equal(got, t);
		assert_int_equal(subca_key_public_equal(key, pub), 1);
		assert_signs_for(key, pub);
		EVP_PKEY_free(key);
		EVP_PKEY_free(pub);
	}
}

static void test_keystore_passphrase_store_keeps_keys_across_reopen(void **state)
{
	struct fx *f = *state;
	char id[SUBCA_KEY_ID_MAX];
	EVP_PKEY *pub = NULL, *key = NULL;

	assert_int_equal(subca_keystore_soft_create(f->dir, PASS, strlen(PASS)),
			 SUBCA_OK);
	assert_int_equal(subca_keystore_soft_open(f->dir, PASS, strlen(PASS),
						  &f->ks),
			 SUBCA_OK);
	generate(f, SUBCA_KEY_EC_P384, id, &pub);
	f->ks->ops->close(f->ks);
	f->ks = NULL;
	assert_int_equal(subca_keystore_soft_open(f->dir, PASS, strlen(PASS),
						  &f->ks),
			 SUBCA_OK);
	assert_int_equal(f->ks->ops->load(f->ks, id, &key), SUBCA_OK);
	assert_signs_for(key, pub);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
}

static void test_keystore_key_file_does_not_hold_the_private_key_in_clear(void **state)
{
	struct fx *f = *state;
	static const enum subca_key_type types[] = {SUBCA_KEY_EC_P256,
						    SUBCA_KEY_ED25519};

	fx_dev(f);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		SUBCA_BUF_AUTO struct subca_buf file = {0};
		char id[SUBCA_KEY_ID_MAX], p[600];
		EVP_PKEY *pub = NULL, *key = NULL;
		unsigned char *der = NULL, raw[64];
		size_t rawlen = sizeof(raw);
		BIGNUM *bn = NULL;
		int n;

		generate(f, types[i], id, &pub);
		assert_int_equal(f->ks->ops->load(f->ks, id, &key), SUBCA_OK);
		key_path(p, sizeof(p), f, id);
		read_file(p, &file);
		n = i2d_PrivateKey(key, &der);
		assert_true(n > 0);
		assert_null(memmem(file.p, file.len, der, (size_t)n));
		if (types[i] == SUBCA_KEY_ED25519) {
			assert_int_equal(EVP_PKEY_get_raw_private_key(key, raw,
								      &rawlen),
					 1);
		} else {
			assert_int_equal(EVP_PKEY_get_bn_param(key, "priv", &bn),
					 1);
			rawlen = (size_t)BN_bn2bin(bn, raw);
			BN_clear_free(bn);
		}
		assert_true(rawlen >= 30);
		assert_null(memmem(file.p, file.len, raw, rawlen));
		/* nor its first half */
		assert_null(memmem(file.p, file.len, raw, rawlen / 2));
		OPENSSL_clear_free(der, (size_t)n);
		EVP_PKEY_free(key);
		EVP_PKEY_free(pub);
	}
}

static void test_keystore_tampered_key_file_is_refused_naming_the_key(void **state)
{
	struct fx *f = *state;
	SUBCA_BUF_AUTO struct subca_buf orig = {0};
	char id[SUBCA_KEY_ID_MAX], p[600];
	EVP_PKEY *pub = NULL, *key = NULL;
	uint8_t *copy;

	fx_dev(f);
	generate(f, SUBCA_KEY_EC_P256, id, &pub);
	key_path(p, sizeof(p), f, id);
	read_file(p, &orig);
	copy = malloc(orig.len);
	assert_non_null(copy);
	/* a bit flip in every byte (the bit rotates with the position) */
	for (size_t i = 0; i < orig.len; i++) {
		memcpy(copy, orig.p, orig.len);
		copy[i] ^= (uint8_t)(1u << (i % 8));
		write_file(p, copy, orig.len);
		th_assert_error(f->ks->ops->load(f->ks, id, &key),
				SUBCA_E_KEYSTORE, id);
		assert_null(key);
	}
	/* every truncation */
	for (size_t n = 0; n < orig.len; n++) {
		write_file(p, orig.p, n);
		th_assert_error(f->ks->ops->load(f->ks, id, &key),
				SUBCA_E_KEYSTORE, id);
	}
	/* the untouched file still loads */
	write_file(p, orig.p, orig.len);
	assert_int_equal(f->ks->ops->load(f->ks, id, &key), SUBCA_OK);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	free(copy);
}

static void test_keystore_key_file_moved_to_another_id_does_not_decrypt(void **state)
{
	struct fx *f = *state;
	char a[SUBCA_KEY_ID_MAX], b[SUBCA_KEY_ID_MAX], pa[600], pb[600];
	EVP_PKEY *pub = NULL, *pub2 = NULL, *key = NULL;

	fx_dev(f);
	generate(f, SUBCA_KEY_EC_P256, a, &pub);
	generate(f, SUBCA_KEY_EC_P256, b, &pub2);
	key_path(pa, sizeof(pa), f, a);
	key_path(pb, sizeof(pb), f, b);
	assert_int_equal(rename(pa, pb), 0);
	th_assert_error(f->ks->ops->load(f->ks, b, &key), SUBCA_E_KEYSTORE,
			"does not decrypt");
	assert_null(key);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pub2);
}

static void test_keystore_key_file_at_size_limit_and_one_past(void **state)
{
	struct fx *f = *state;
	char id[SUBCA_KEY_ID_MAX], p[600];
	EVP_PKEY *pub = NULL, *key = NULL;
	uint8_t *big = calloc(1, SUBCA_MAX_KEY_BLOB + 1);

	assert_non_null(big);
	fx_dev(f);
	generate(f, SUBCA_KEY_EC_P256, id, &pub);
	key_path(p, sizeof(p), f, id);
	memcpy(big, "SUBCAKEY\001\000", 10);
	write_file(p, big, SUBCA_MAX_KEY_BLOB);
	th_assert_error(f->ks->ops->load(f->ks, id, &key), SUBCA_E_KEYSTORE,
			"does not decrypt");
	write_file(p, big, SUBCA_MAX_KEY_BLOB + 1);
	th_assert_error(f->ks->ops->load(f->ks, id, &key), SUBCA_E_TOO_LARGE,
			"limit of 65536 bytes");
	EVP_PKEY_free(pub);
	free(big);
}

static void test_keystore_destroy_removes_the_key(void **state)
{
	struct fx *f = *state;
	char id[SUBCA_KEY_ID_MAX], p[600];
	EVP_PKEY *pub = NULL, *key = NULL;

	fx_dev(f);
	generate(f, SUBCA_KEY_ED25519, id, &pub);
	assert_int_equal(f->ks->ops->destroy(f->ks, id), SUBCA_OK);
	key_path(p, sizeof(p), f, id);
	assert_int_not_equal(access(p, F_OK), 0);
	th_assert_error(f->ks->ops->load(f->ks, id, &key), SUBCA_E_NOT_FOUND,
			"no key");
	th_assert_error(f->ks->ops->destroy(f->ks, id), SUBCA_E_NOT_FOUND,
			"no key");
	EVP_PKEY_free(pub);
}

static void test_keystore_invalid_key_id_is_refused(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"../keystore", "", "00112233445566778899AABBCCDDEEFF",
		"00112233445566778899aabbccddeef", /* 31 digits */
		"00112233445566778899aabbccddeeff0", "0011223344556677/899aabbccddeef",
	};
	EVP_PKEY *key = NULL;

	fx_dev(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		th_assert_error(f->ks->ops->load(f->ks, bad[i], &key),
				SUBCA_E_INVALID_ARGUMENT, "invalid key id");
		th_assert_error(f->ks->ops->destroy(f->ks, bad[i]),
				SUBCA_E_INVALID_ARGUMENT, "invalid key id");
	}
	th_assert_error(f->ks->ops->load(f->ks, "00112233445566778899aabbccddeeff",
					 &key),
			SUBCA_E_NOT_FOUND,
			"no key 00112233445566778899aabbccddeeff in the key store");
}

static void test_keystore_allocation_failures_return_nomem_without_leaks(void **state)
{
	struct fx *f = *state;
	char id[SUBCA_KEY_ID_MAX];
	EVP_PKEY *pub = NULL;
	int failures = 0;

	fx_dev(f);
	generate(f, SUBCA_KEY_EC_P256, id, &pub);
	for (long n = 0; n < 32; n++) {
		struct subca_keystore *ks = NULL;
		EVP_PKEY *key = NULL;
		subca_result rv1, rv2;

		subca_alloc_fail_after(n);
		rv1 = subca_keystore_soft_open(f->dir, NULL, 0, &ks);
		subca_alloc_fail_after(n);
		rv2 = f->ks->ops->load(f->ks, id, &key);
		subca_alloc_fail_after(-1);
		if (rv1 == SUBCA_OK)
			ks->ops->close(ks);
		else
			assert_null(ks);
		EVP_PKEY_free(key);
		if (rv1 != SUBCA_OK)
			failures++;
		if (rv2 != SUBCA_OK)
			failures++;
		/* subca_file_read reports its failed buffer growth as
		 * TOO_LARGE (util layer); everything else is NOMEM */
		assert_true(rv1 == SUBCA_OK || rv1 == SUBCA_E_NOMEM ||
			    rv1 == SUBCA_E_TOO_LARGE);
		assert_true(rv2 == SUBCA_OK || rv2 == SUBCA_E_NOMEM ||
			    rv2 == SUBCA_E_TOO_LARGE);
		assert_true(rv2 != SUBCA_OK || key != NULL);
		if (rv1 == SUBCA_OK && rv2 == SUBCA_OK)
			break;
	}
	assert_true(failures >= 3);
	EVP_PKEY_free(pub);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_keystore_create_with_passphrase_writes_private_files),
		T(test_keystore_create_without_passphrase_writes_private_master_key),
		T(test_keystore_open_on_empty_directory_is_not_initialised),
		T(test_keystore_create_twice_is_exists),
		T(test_keystore_create_in_missing_directory_is_refused),
		T(test_keystore_wrong_passphrase_is_refused),
		T(test_keystore_missing_passphrase_is_refused),
		T(test_keystore_empty_passphrase_is_refused_at_create),
		T(test_keystore_passphrase_at_limit_works_one_past_is_refused),
		T(test_keystore_master_key_of_another_store_is_refused),
		T(test_keystore_master_key_readable_by_others_is_refused),
		T(test_keystore_damaged_conf_is_refused),
		T(test_keystore_conf_without_salt_is_refused),
		T(test_keystore_conf_at_size_limit_opens_one_past_is_refused),
		T(test_keystore_generates_every_key_type_and_loaded_key_signs_for_public),
		T(test_keystore_passphrase_store_keeps_keys_across_reopen),
		T(test_keystore_key_file_does_not_hold_the_private_key_in_clear),
		T(test_keystore_tampered_key_file_is_refused_naming_the_key),
		T(test_keystore_key_file_moved_to_another_id_does_not_decrypt),
		T(test_keystore_key_file_at_size_limit_and_one_past),
		T(test_keystore_destroy_removes_the_key),
		T(test_keystore_invalid_key_id_is_refused),
		T(test_keystore_allocation_failures_return_nomem_without_leaks),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
