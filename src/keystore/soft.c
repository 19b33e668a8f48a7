/*
 * The software key store (see keystore_soft.h for the files it keeps).
 *
 * keys/<id>.key layout, all integers one byte:
 *   "SUBCAKEY" | version (1) | key type | nonce (12) | ciphertext | tag (16)
 * The ciphertext is AES-256-GCM of the key's PKCS#8 DER under the master
 * key; the additional data binds the first ten bytes, the key id and the
 * key type name, so a file renamed to another id or relabelled with another
 * type does not decrypt.
 *
 * keystore.conf is "name=value" lines:
 *   version=1, mode=passphrase|keyfile, and in passphrase mode kdf=scrypt,
 *   scrypt_n, scrypt_r, scrypt_p, salt (hex); check (hex of nonce,
 *   ciphertext and tag of a fixed text under the master key).
 */
#include "subca/keystore_soft.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subca/alloc.h"
#include "subca/buf.h"
#include "subca/limits.h"
#include "subca/ossl.h"

#define SUBCA__MASTER_LEN 32
#define SUBCA__NONCE_LEN 12
#define SUBCA__TAG_LEN 16
#define SUBCA__SALT_LEN 16
#define SUBCA__ID_BYTES 16
#define SUBCA__MAGIC "SUBCAKEY"
#define SUBCA__MAGIC_LEN 8
#define SUBCA__KEY_VERSION 1
#define SUBCA__HDR_LEN (SUBCA__MAGIC_LEN + 2 + SUBCA__NONCE_LEN)
#define SUBCA__CHECK_TEXT "subca key store check value, version 1"
#define SUBCA__CHECK_AAD "subca keystore.conf check"
#define SUBCA__CHECK_LEN \
	(SUBCA__NONCE_LEN + sizeof(SUBCA__CHECK_TEXT) - 1 + SUBCA__TAG_LEN)
#define SUBCA__DEFAULT_N 32768ul

static unsigned long subca__scrypt_n = SUBCA__DEFAULT_N;

void subca__keystore_soft_set_scrypt_n(unsigned long n)
{
	subca__scrypt_n = n ? n : SUBCA__DEFAULT_N;
}

struct subca__soft {
	struct subca_keystore base; /* first */
	char *dir;
	uint8_t *master; /* SUBCA__MASTER_LEN bytes, wiped on close */
};

struct subca__conf {
	bool passphrase;
	unsigned long n, r, p;
	uint8_t salt[SUBCA__SALT_LEN];
	uint8_t check[SUBCA__CHECK_LEN];
	unsigned seen; /* bit per setting, to find missing ones */
};

/* Secret bytes on the heap, wiped and freed at end of scope. */
struct subca__secret {
	uint8_t *p;
	size_t len;
};

static void subca__secret_cleanup(struct subca__secret *s)
{
	subca_free_secret(s->p, s->len);
	s->p = NULL;
	s->len = 0;
}
#define SUBCA__SECRET __attribute__((cleanup(subca__secret_cleanup)))

static void subca__cipher_ctx_free(EVP_CIPHER_CTX **c)
{
	EVP_CIPHER_CTX_free(*c);
	*c = NULL;
}
#define SUBCA__AUTO_CIPHER __attribute__((cleanup(subca__cipher_ctx_free)))

/* ---- small helpers ----------------------------------------------------- */

static subca_result subca__path(char *out, size_t size, const char *dir,
				const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	SUBCA_ENSURE(n > 0 && (size_t)n < size, SUBCA_E_INVALID_ARGUMENT,
		     "path too long: %s/%s", dir, name);
	return SUBCA_OK;
}

static void subca__hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int subca__nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Strict lower-case hex of exactly n bytes. */
static bool subca__unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = subca__nibble(s[2 * i]), lo = subca__nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A key id is 32 lower-case hex digits: never a path. */
static subca_result subca__check_id(const char *id)
{
	uint8_t raw[SUBCA__ID_BYTES];

	SUBCA_ENSURE(id != NULL && subca__unhex(id, raw, sizeof(raw)),
		     SUBCA_E_INVALID_ARGUMENT,
		     "invalid key id \"%.64s\" (expected 32 hex digits)",
		     id ? id : "");
	return SUBCA_OK;
}

static subca_result subca__key_path(const struct subca__soft *ks,
				    const char *id, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/keys/%s.key", ks->dir, id);

	SUBCA_ENSURE(n > 0 && (size_t)n < size, SUBCA_E_INVALID_ARGUMENT,
		     "path too long: %s", ks->dir);
	return SUBCA_OK;
}

/* Make a rename or unlink in `dir` durable. */
static subca_result subca__sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	SUBCA_ENSURE(fd >= 0, SUBCA_E_IO, "cannot open %s: %s", dir,
		     strerror(errno));
	rc = fsync(fd);
	close(fd);
	SUBCA_ENSURE(rc == 0, SUBCA_E_IO, "cannot sync %s: %s", dir,
		     strerror(errno));
	return SUBCA_OK;
}

/* ---- AES-256-GCM ------------------------------------------------------- */

static subca_result subca__seal(const uint8_t *key, const uint8_t *nonce,
				struct subca_slice aad, struct subca_slice pt,
				uint8_t *ct, uint8_t *tag)
{
	SUBCA__AUTO_CIPHER EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;

	SUBCA_OSSL(c != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_ENSURE(pt.len <= INT_MAX && aad.len <= INT_MAX, SUBCA_E_TOO_LARGE,
		     "key too large to encrypt");
	SUBCA_OSSL(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) &&
			   EVP_EncryptUpdate(c, NULL, &n, aad.p, (int)aad.len) &&
			   EVP_EncryptUpdate(c, ct, &n, pt.p, (int)pt.len) &&
			   EVP_EncryptFinal_ex(c, ct + n, &fin) &&
			   EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
					       SUBCA__TAG_LEN, tag),
		   SUBCA_E_CRYPTO, "AES-256-GCM encryption failed");
	return SUBCA_OK;
}

/* Decrypt and authenticate; the caller words the failure. */
static bool subca__open_gcm(const uint8_t *key, const uint8_t *nonce,
			    struct subca_slice aad, struct subca_slice ct,
			    const uint8_t *tag, uint8_t *pt)
{
	SUBCA__AUTO_CIPHER EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok;

	ok = c != NULL && ct.len <= INT_MAX && aad.len <= INT_MAX &&
	     EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) &&
	     EVP_DecryptUpdate(c, NULL, &n, aad.p, (int)aad.len) &&
	     EVP_DecryptUpdate(c, pt, &n, ct.p, (int)ct.len) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SUBCA__TAG_LEN,
				 (void *)tag) &&
	     EVP_DecryptFinal_ex(c, pt + n, &fin) > 0;
	ERR_clear_error();
	return ok;
}

/* ---- keystore.conf ----------------------------------------------------- */

enum { SUBCA__C_VERSION, SUBCA__C_MODE, SUBCA__C_KDF, SUBCA__C_N, SUBCA__C_R,
       SUBCA__C_P, SUBCA__C_SALT, SUBCA__C_CHECK };

static subca_result subca__conf_number(const char *v, unsigned long lo,
				       unsigned long hi, unsigned long *out,
				       const char *name)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	SUBCA_ENSURE(errno == 0 && end != v && *end == '\0' && v[0] != '-' &&
			     *out >= lo && *out <= hi,
		     SUBCA_E_KEYSTORE,
		     "keystore.conf: %s must be a number from %lu to %lu",
		     name, lo, hi);
	return SUBCA_OK;
}

static subca_result subca__conf_setting(struct subca__conf *c,
					const char *k, const char *v)
{
	if (strcmp(k, "version") == 0) {
		SUBCA_ENSURE(strcmp(v, "1") == 0, SUBCA_E_KEYSTORE,
			     "keystore.conf version %.16s is not supported", v);
		c->seen |= 1u << SUBCA__C_VERSION;
	} else if (strcmp(k, "mode") == 0) {
		SUBCA_ENSURE(strcmp(v, "passphrase") == 0 ||
				     strcmp(v, "keyfile") == 0,
			     SUBCA_E_KEYSTORE,
			     "keystore.conf: unknown mode \"%.32s\"", v);
		c->passphrase = strcmp(v, "passphrase") == 0;
		c->seen |= 1u << SUBCA__C_MODE;
	} else if (strcmp(k, "kdf") == 0) {
		SUBCA_ENSURE(strcmp(v, "scrypt") == 0, SUBCA_E_KEYSTORE,
			     "keystore.conf: unknown kdf \"%.32s\"", v);
		c->seen |= 1u << SUBCA__C_KDF;
	} else if (strcmp(k, "scrypt_n") == 0) {
		SUBCA_TRY(subca__conf_number(v, 1024, 131072, &c->n, k));
		SUBCA_ENSURE((c->n & (c->n - 1)) == 0, SUBCA_E_KEYSTORE,
			     "keystore.conf: scrypt_n must be a power of two");
		c->seen |= 1u << SUBCA__C_N;
	} else if (strcmp(k, "scrypt_r") == 0) {
		SUBCA_TRY(subca__conf_number(v, 1, 16, &c->r, k));
		c->seen |= 1u << SUBCA__C_R;
	} else if (strcmp(k, "scrypt_p") == 0) {
		SUBCA_TRY(subca__conf_number(v, 1, 4, &c->p, k));
		c->seen |= 1u << SUBCA__C_P;
	} else if (strcmp(k, "salt") == 0) {
		SUBCA_ENSURE(subca__unhex(v, c->salt, sizeof(c->salt)),
			     SUBCA_E_KEYSTORE,
			     "keystore.conf: salt must be %d hex bytes",
			     SUBCA__SALT_LEN);
		c->seen |= 1u << SUBCA__C_SALT;
	} else if (strcmp(k, "check") == 0) {
		SUBCA_ENSURE(subca__unhex(v, c->check, sizeof(c->check)),
			     SUBCA_E_KEYSTORE,
			     "keystore.conf: malformed check value");
		c->seen |= 1u << SUBCA__C_CHECK;
	} else {
		SUBCA_BAIL(SUBCA_E_KEYSTORE,
			   "keystore.conf: unknown setting \"%.32s\"", k);
	}
	return SUBCA_OK;
}

static subca_result subca__conf_complete(const struct subca__conf *c)
{
	unsigned need = 1u << SUBCA__C_VERSION | 1u << SUBCA__C_MODE |
			1u << SUBCA__C_CHECK;

	if (c->passphrase)
		need |= 1u << SUBCA__C_KDF | 1u << SUBCA__C_N |
			1u << SUBCA__C_R | 1u << SUBCA__C_P |
			1u << SUBCA__C_SALT;
	SUBCA_ENSURE((c->seen & need) == need, SUBCA_E_KEYSTORE,
		     "keystore.conf is incomplete (a setting is missing)");
	return SUBCA_OK;
}

static subca_result subca__conf_parse(char *text, struct subca__conf *c)
{
	char *save = NULL;
	int line = 0;

	memset(c, 0, sizeof(*c));
	for (char *l = strtok_r(text, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(l, '=');
		subca_result rv;

		line++;
		if (l[0] == '#')
			continue;
		SUBCA_ENSURE(eq != NULL, SUBCA_E_KEYSTORE,
			     "keystore.conf line %d is not name=value", line);
		*eq = '\0';
		rv = subca__conf_setting(c, l, eq + 1);
		SUBCA_TRY(rv);
	}
	return subca__conf_complete(c);
}

static subca_result subca__conf_read(const char *dir, struct subca__conf *c)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};
	char path[PATH_MAX];
	struct stat sb;

	subca_buf_init(&b, 0);
	SUBCA_TRY(subca__path(path, sizeof(path), dir, "keystore.conf"));
	SUBCA_ENSURE(stat(path, &sb) == 0, SUBCA_E_NOT_INITIALISED,
		     "no key store in %s (keystore.conf is missing)", dir);
	SUBCA_TRY(subca_file_read(path, SUBCA_MAX_KEYSTORE_CONF, &b));
	SUBCA_TRY(subca_buf_terminate(&b));
	SUBCA_ENSURE(strlen((char *)b.p) == b.len, SUBCA_E_KEYSTORE,
		     "keystore.conf contains a NUL byte");
	return subca__conf_parse((char *)b.p, c);
}

static subca_result subca__conf_write(const char *dir,
				      const struct subca__conf *c)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};
	char salt[2 * SUBCA__SALT_LEN + 1], check[2 * SUBCA__CHECK_LEN + 1];
	char path[PATH_MAX];

	subca_buf_init(&b, SUBCA_MAX_KEYSTORE_CONF);
	subca__hex(c->salt, sizeof(c->salt), salt);
	subca__hex(c->check, sizeof(c->check), check);
	SUBCA_TRY(subca_buf_printf(&b,
				   "# subca software key store; do not edit\n"
				   "version=1\nmode=%s\n",
				   c->passphrase ? "passphrase" : "keyfile"));
	if (c->passphrase)
		SUBCA_TRY(subca_buf_printf(&b,
					   "kdf=scrypt\nscrypt_n=%lu\n"
					   "scrypt_r=%lu\nscrypt_p=%lu\n"
					   "salt=%s\n",
					   c->n, c->r, c->p, salt));
	SUBCA_TRY(subca_buf_printf(&b, "check=%s\n", check));
	SUBCA_TRY(subca__path(path, sizeof(path), dir, "keystore.conf"));
	return subca_file_write(path, b.p, b.len, 0600);
}

/* ---- master key -------------------------------------------------------- */

static subca_result subca__scrypt(const struct subca__conf *c,
				  const char *pass, size_t len, uint8_t *key)
{
	/* scrypt needs 128 * r * (N + p + 2) bytes; allow that plus slack */
	uint64_t maxmem = 128ull * c->r * (c->n + c->p + 2) + (1u << 20);

	SUBCA_OSSL(EVP_PBE_scrypt(pass, len, c->salt, sizeof(c->salt), c->n,
				  c->r, c->p, maxmem, key,
				  SUBCA__MASTER_LEN),
		   SUBCA_E_CRYPTO, "scrypt key derivation failed");
	return SUBCA_OK;
}

static subca_result subca__passphrase_ok(const char *pass, size_t len)
{
	SUBCA_ENSURE(pass != NULL && len > 0, SUBCA_E_BAD_PASSPHRASE,
		     "the key store is passphrase-protected: set SUBCA_PASSPHRASE or use --passphrase-file");
	SUBCA_ENSURE(len <= SUBCA_MAX_PASSPHRASE, SUBCA_E_TOO_LARGE,
		     "the passphrase is longer than the limit of %u bytes",
		     SUBCA_MAX_PASSPHRASE);
	return SUBCA_OK;
}

static subca_result subca__master_read(const char *dir, uint8_t *key)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};
	char path[PATH_MAX];
	struct stat sb;

	subca_buf_init_secret(&b, 0);
	SUBCA_TRY(subca__path(path, sizeof(path), dir, "master.key"));
	SUBCA_ENSURE(stat(path, &sb) == 0, SUBCA_E_KEYSTORE,
		     "cannot read %s: %s", path, strerror(errno));
	/* like ssh with its keys: a master key others can read is not secret */
	SUBCA_ENSURE((sb.st_mode & 077) == 0, SUBCA_E_KEYSTORE,
		     "%s is accessible to other users (mode %04o)", path,
		     (unsigned)(sb.st_mode & 07777));
	subca_buf_cleanup(&b);
	SUBCA_TRY(subca_file_read(path, SUBCA__MASTER_LEN, &b));
	b.secret = true;
	SUBCA_ENSURE(b.len == SUBCA__MASTER_LEN, SUBCA_E_KEYSTORE,
		     "%s is not a %d-byte key", path, SUBCA__MASTER_LEN);
	memcpy(key, b.p, SUBCA__MASTER_LEN);
	return SUBCA_OK;
}

static subca_result subca__check_make(const uint8_t *key,
				      struct subca__conf *c)
{
	static const char text[] = SUBCA__CHECK_TEXT;
	uint8_t *nonce = c->check, *ct = c->check + SUBCA__NONCE_LEN;

	SUBCA_OSSL(RAND_bytes(nonce, SUBCA__NONCE_LEN) == 1, SUBCA_E_CRYPTO,
		   "no randomness");
	return subca__seal(key, nonce,
			   subca_slice_of(SUBCA__CHECK_AAD,
					  sizeof(SUBCA__CHECK_AAD) - 1),
			   subca_slice_of(text, sizeof(text) - 1), ct,
			   ct + sizeof(text) - 1);
}

static subca_result subca__check_verify(const uint8_t *key,
					const struct subca__conf *c)
{
	static const char text[] = SUBCA__CHECK_TEXT;
	const uint8_t *ct = c->check + SUBCA__NONCE_LEN;
	uint8_t pt[sizeof(text) - 1];
	bool ok;

	ok = subca__open_gcm(key, c->check,
			     subca_slice_of(SUBCA__CHECK_AAD,
					    sizeof(SUBCA__CHECK_AAD) - 1),
			     subca_slice_of(ct, sizeof(pt)), ct + sizeof(pt),
			     pt) &&
	     memcmp(pt, text, sizeof(pt)) == 0;
	SUBCA_ENSURE(ok || !c->passphrase, SUBCA_E_BAD_PASSPHRASE,
		     "wrong passphrase (the key store check value does not decrypt)");
	SUBCA_ENSURE(ok, SUBCA_E_KEYSTORE,
		     "master.key does not belong to this key store (the check value does not decrypt)");
	return SUBCA_OK;
}

/* Derive or read the master key named by the configuration, and check it. */
static subca_result subca__master(const char *dir, const struct subca__conf *c,
				  const char *pass, size_t len, uint8_t *key)
{
	if (c->passphrase) {
		SUBCA_TRY(subca__passphrase_ok(pass, len));
		SUBCA_TRY(subca__scrypt(c, pass, len, key));
	} else {
		SUBCA_TRY(subca__master_read(dir, key));
	}
	return subca__check_verify(key, c);
}

/* ---- create ------------------------------------------------------------ */

static subca_result subca__refuse_existing(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;

	SUBCA_ENSURE(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode), SUBCA_E_IO,
		     "%s is not a directory", dir);
	SUBCA_TRY(subca__path(path, sizeof(path), dir, "keystore.conf"));
	SUBCA_ENSURE(stat(path, &sb) != 0, SUBCA_E_EXISTS,
		     "a key store already exists in %s", dir);
	SUBCA_TRY(subca__path(path, sizeof(path), dir, "master.key"));
	SUBCA_ENSURE(stat(path, &sb) != 0, SUBCA_E_EXISTS,
		     "%s already exists (left by an earlier key store?)", path);
	return SUBCA_OK;
}

static subca_result subca__make_keys_dir(const char *dir)
{
	char path[PATH_MAX];

	SUBCA_TRY(subca__path(path, sizeof(path), dir, "keys"));
	SUBCA_ENSURE(mkdir(path, 0700) == 0 || errno == EEXIST, SUBCA_E_IO,
		     "cannot create %s: %s", path, strerror(errno));
	SUBCA_ENSURE(chmod(path, 0700) == 0, SUBCA_E_IO, "cannot chmod %s: %s",
		     path, strerror(errno));
	return SUBCA_OK;
}

static subca_result subca__master_new(const char *dir, struct subca__conf *c,
				      const char *pass, size_t len,
				      uint8_t *key)
{
	char path[PATH_MAX];

	if (pass != NULL) {
		c->passphrase = true;
		c->n = subca__scrypt_n;
		c->r = 8;
		c->p = 1;
		SUBCA_OSSL(RAND_bytes(c->salt, sizeof(c->salt)) == 1,
			   SUBCA_E_CRYPTO, "no randomness");
		return subca__scrypt(c, pass, len, key);
	}
	SUBCA_OSSL(RAND_priv_bytes(key, SUBCA__MASTER_LEN) == 1,
		   SUBCA_E_CRYPTO, "no randomness");
	SUBCA_TRY(subca__path(path, sizeof(path), dir, "master.key"));
	return subca_file_write(path, key, SUBCA__MASTER_LEN, 0600);
}

subca_result subca_keystore_soft_create(const char *dir,
					const char *passphrase,
					size_t passphrase_len)
{
	uint8_t key[SUBCA__MASTER_LEN];
	struct subca__conf c;
	subca_result rv;

	memset(&c, 0, sizeof(c));
	if (passphrase != NULL) {
		SUBCA_ENSURE(passphrase_len > 0, SUBCA_E_BAD_PASSPHRASE,
			     "the passphrase is empty");
		SUBCA_TRY(subca__passphrase_ok(passphrase, passphrase_len));
	}
	SUBCA_TRY(subca__refuse_existing(dir));
	SUBCA_TRY(subca__make_keys_dir(dir));
	rv = subca__master_new(dir, &c, passphrase, passphrase_len, key);
	if (rv == SUBCA_OK)
		rv = subca__check_make(key, &c);
	subca_wipe(key, sizeof(key));
	/* keystore.conf last: its presence marks a complete key store */
	if (rv == SUBCA_OK)
		rv = subca__conf_write(dir, &c);
	if (rv == SUBCA_OK)
		rv = subca__sync_dir(dir);
	return rv;
}

bool subca_keystore_soft_is_dev(const char *dir)
{
	struct subca__conf c;

	if (subca__conf_read(dir, &c) != SUBCA_OK) {
		subca_error_clear();
		return false;
	}
	return !c.passphrase;
}

/* ---- key files --------------------------------------------------------- */

/* AAD: magic, version and type bytes, then "<id>:<type name>". */
static subca_result subca__aad(const uint8_t *hdr, const char *id,
			       enum subca_key_type type, struct subca_buf *out)
{
	subca_buf_init(out, 256);
	SUBCA_TRY(subca_buf_append(out, hdr, SUBCA__MAGIC_LEN + 2));
	return subca_buf_printf(out, "%s:%s", id, subca_key_type_name(type));
}

/* PKCS#8 DER of `key` in memory that is wiped when freed. */
static subca_result subca__pkcs8(EVP_PKEY *key, struct subca__secret *out)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	unsigned char *w;
	int n;

	SUBCA_OSSL(p8 != NULL, SUBCA_E_CRYPTO, "cannot encode the private key");
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
	if (n > 0 && (size_t)n <= SUBCA_MAX_KEY_BLOB) {
		out->p = subca_malloc((size_t)n);
		out->len = out->p ? (size_t)n : 0;
	}
	w = out->p;
	if (w != NULL)
		n = i2d_PKCS8_PRIV_KEY_INFO(p8, &w);
	PKCS8_PRIV_KEY_INFO_free(p8); /* its ASN.1 callback cleanses the key */
	SUBCA_ENSURE(out->p != NULL || n <= 0 || (size_t)n > SUBCA_MAX_KEY_BLOB,
		     SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(out->p != NULL && n > 0 && (size_t)n == out->len,
		   SUBCA_E_CRYPTO, "cannot encode the private key");
	return SUBCA_OK;
}

static subca_result subca__seal_key(const struct subca__soft *ks,
				    EVP_PKEY *key, enum subca_key_type type,
				    const char *id, struct subca_buf *blob)
{
	SUBCA__SECRET struct subca__secret pt = {NULL, 0};
	SUBCA_BUF_AUTO struct subca_buf aad = {0};
	SUBCA_AUTOFREE uint8_t *ct = NULL;
	uint8_t hdr[SUBCA__HDR_LEN];

	memcpy(hdr, SUBCA__MAGIC, SUBCA__MAGIC_LEN);
	hdr[SUBCA__MAGIC_LEN] = SUBCA__KEY_VERSION;
	hdr[SUBCA__MAGIC_LEN + 1] = (uint8_t)type;
	SUBCA_OSSL(RAND_bytes(hdr + SUBCA__MAGIC_LEN + 2, SUBCA__NONCE_LEN) == 1,
		   SUBCA_E_CRYPTO, "no randomness");
	SUBCA_TRY(subca__aad(hdr, id, type, &aad));
	SUBCA_TRY(subca__pkcs8(key, &pt));
	ct = subca_malloc(pt.len + SUBCA__TAG_LEN);
	SUBCA_ENSURE(ct != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(subca__seal(ks->master, hdr + SUBCA__MAGIC_LEN + 2,
			      subca_buf_slice(&aad),
			      subca_slice_of(pt.p, pt.len), ct, ct + pt.len));
	subca_buf_init(blob, SUBCA_MAX_KEY_BLOB);
	SUBCA_TRY(subca_buf_append(blob, hdr, sizeof(hdr)));
	return subca_buf_append(blob, ct, pt.len + SUBCA__TAG_LEN);
}

/* A copy of `key` holding only its public half. */
static subca_result subca__public_copy(EVP_PKEY *key, EVP_PKEY **out)
{
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = NULL;
	int ok;

	*out = NULL;
	SUBCA_OSSL(EVP_PKEY_todata(key, EVP_PKEY_PUBLIC_KEY, &params) == 1,
		   SUBCA_E_CRYPTO, "cannot export the public key");
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	     EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
	OSSL_PARAM_free(params);
	SUBCA_OSSL(ok, SUBCA_E_CRYPTO, "cannot copy the public key");
	return SUBCA_OK;
}

static subca_result subca__random_id(char id[SUBCA_KEY_ID_MAX])
{
	uint8_t raw[SUBCA__ID_BYTES];

	SUBCA_OSSL(RAND_bytes(raw, sizeof(raw)) == 1, SUBCA_E_CRYPTO,
		   "no randomness");
	subca__hex(raw, sizeof(raw), id);
	return SUBCA_OK;
}

static subca_result subca__generate(struct subca_keystore *base,
				    enum subca_key_type type,
				    char id[SUBCA_KEY_ID_MAX], EVP_PKEY **pub)
{
	struct subca__soft *ks = (struct subca__soft *)base;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *p = NULL;
	SUBCA_BUF_AUTO struct subca_buf blob = {0};
	char path[PATH_MAX], keys[PATH_MAX];

	subca_buf_init(&blob, 0);
	*pub = NULL;
	id[0] = '\0';
	SUBCA_TRY(subca_key_generate(type, &key));
	SUBCA_TRY(subca__public_copy(key, &p));
	SUBCA_TRY(subca__random_id(id));
	SUBCA_TRY(subca__seal_key(ks, key, type, id, &blob));
	SUBCA_TRY(subca__key_path(ks, id, path, sizeof(path)));
	SUBCA_TRY(subca__path(keys, sizeof(keys), ks->dir, "keys"));
	SUBCA_TRY(subca_file_write(path, blob.p, blob.len, 0600));
	SUBCA_TRY(subca__sync_dir(keys));
	*pub = subca_steal(&p);
	return SUBCA_OK;
}

static subca_result subca__read_key_file(const struct subca__soft *ks,
					 const char *id, struct subca_buf *b)
{
	char path[PATH_MAX];
	struct stat sb;

	subca_buf_init(b, 0);
	SUBCA_TRY(subca__check_id(id));
	SUBCA_TRY(subca__key_path(ks, id, path, sizeof(path)));
	SUBCA_ENSURE(stat(path, &sb) == 0, SUBCA_E_NOT_FOUND,
		     "no key %s in the key store", id);
	return subca_file_read(path, SUBCA_MAX_KEY_BLOB, b);
}

static subca_result subca__unseal_key(const struct subca__soft *ks,
				      const char *id, struct subca_slice file,
				      EVP_PKEY **key)
{
	SUBCA__SECRET struct subca__secret pt = {NULL, 0};
	SUBCA_BUF_AUTO struct subca_buf aad = {0};
	enum subca_key_type type;
	size_t ct_len;

	subca_buf_init(&aad, 0);
	SUBCA_ENSURE(file.len > SUBCA__HDR_LEN + SUBCA__TAG_LEN &&
			     memcmp(file.p, SUBCA__MAGIC, SUBCA__MAGIC_LEN) == 0 &&
			     file.p[SUBCA__MAGIC_LEN] == SUBCA__KEY_VERSION &&
			     file.p[SUBCA__MAGIC_LEN + 1] < SUBCA_KEY__COUNT,
		     SUBCA_E_KEYSTORE, "key %s: not a subca key file", id);
	type = (enum subca_key_type)file.p[SUBCA__MAGIC_LEN + 1];
	ct_len = file.len - SUBCA__HDR_LEN - SUBCA__TAG_LEN;
	SUBCA_TRY(subca__aad(file.p, id, type, &aad));
	pt.p = subca_malloc(ct_len);
	SUBCA_ENSURE(pt.p != NULL, SUBCA_E_NOMEM, "out of memory");
	pt.len = ct_len;
	SUBCA_ENSURE(subca__open_gcm(ks->master, file.p + SUBCA__MAGIC_LEN + 2,
				     subca_buf_slice(&aad),
				     subca_slice_of(file.p + SUBCA__HDR_LEN,
						    ct_len),
				     file.p + file.len - SUBCA__TAG_LEN, pt.p),
		     SUBCA_E_KEYSTORE,
		     "key %s does not decrypt (the file is damaged or was altered)",
		     id);
	SUBCA_ENSURE(subca_der_decode(SUBCA_DER_PRIVKEY,
				      subca_slice_of(pt.p, pt.len),
				      (void **)key) == SUBCA_OK,
		     SUBCA_E_KEYSTORE, "key %s does not hold a valid key", id);
	return SUBCA_OK;
}

static subca_result subca__load(struct subca_keystore *base, const char *id,
				EVP_PKEY **key)
{
	struct subca__soft *ks = (struct subca__soft *)base;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = NULL;
	SUBCA_BUF_AUTO struct subca_buf file = {0};
	enum subca_key_type want, got;

	*key = NULL;
	SUBCA_TRY(subca__read_key_file(ks, id, &file));
	SUBCA_TRY(subca__unseal_key(ks, id, subca_buf_slice(&file), &k));
	want = (enum subca_key_type)file.p[SUBCA__MAGIC_LEN + 1];
	SUBCA_ENSURE(subca_key_type_of(k, &got) == SUBCA_OK && got == want,
		     SUBCA_E_KEYSTORE, "key %s is not of type %s", id,
		     subca_key_type_name(want));
	*key = subca_steal(&k);
	return SUBCA_OK;
}

/* Overwrite the file's bytes before unlinking it. */
static subca_result subca__overwrite(const char *path, const char *id)
{
	uint8_t zero[4096] = {0};
	struct stat sb;
	subca_result rv = SUBCA_OK;
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	SUBCA_ENSURE(fd >= 0 || errno != ENOENT, SUBCA_E_NOT_FOUND,
		     "no key %s in the key store", id);
	SUBCA_ENSURE(fd >= 0, SUBCA_E_IO, "cannot open %s: %s", path,
		     strerror(errno));
	if (fstat(fd, &sb) != 0)
		sb.st_size = 0;
	for (off_t done = 0; done < sb.st_size && rv == SUBCA_OK;) {
		size_t n = (size_t)(sb.st_size - done) < sizeof(zero)
				   ? (size_t)(sb.st_size - done)
				   : sizeof(zero);
		ssize_t w = write(fd, zero, n);

		if (w <= 0)
			rv = subca_error_set(SUBCA_E_IO, __FILE__, __LINE__,
					     "cannot overwrite %s: %s", path,
					     strerror(errno));
		else
			done += w;
	}
	if (rv == SUBCA_OK && fsync(fd) != 0)
		rv = subca_error_set(SUBCA_E_IO, __FILE__, __LINE__,
				     "cannot sync %s: %s", path,
				     strerror(errno));
	close(fd);
	return rv;
}

static subca_result subca__destroy(struct subca_keystore *base, const char *id)
{
	struct subca__soft *ks = (struct subca__soft *)base;
	char path[PATH_MAX], keys[PATH_MAX];

	SUBCA_TRY(subca__check_id(id));
	SUBCA_TRY(subca__key_path(ks, id, path, sizeof(path)));
	SUBCA_TRY(subca__path(keys, sizeof(keys), ks->dir, "keys"));
	SUBCA_TRY(subca__overwrite(path, id));
	SUBCA_ENSURE(unlink(path) == 0, SUBCA_E_IO, "cannot remove %s: %s",
		     path, strerror(errno));
	return subca__sync_dir(keys);
}

/* ---- open and close ---------------------------------------------------- */

static void subca__close(struct subca_keystore *base)
{
	struct subca__soft *ks = (struct subca__soft *)base;

	if (ks == NULL)
		return;
	subca_free_secret(ks->master, SUBCA__MASTER_LEN);
	subca_free(ks->dir);
	subca_free(ks);
}

static const struct subca_keystore_ops subca__soft_ops = {
	.name = "soft",
	.close = subca__close,
	.generate = subca__generate,
	.load = subca__load,
	.destroy = subca__destroy,
};

subca_result subca_keystore_soft_open(const char *dir, const char *passphrase,
				      size_t passphrase_len,
				      struct subca_keystore **out)
{
	struct subca__soft *ks;
	struct subca__conf c;
	subca_result rv;

	*out = NULL;
	SUBCA_TRY(subca__conf_read(dir, &c));
	ks = subca_calloc(1, sizeof(*ks));
	SUBCA_ENSURE(ks != NULL, SUBCA_E_NOMEM, "out of memory");
	ks->base.ops = &subca__soft_ops;
	ks->dir = subca_strdup(dir);
	ks->master = subca_malloc(SUBCA__MASTER_LEN);
	rv = ks->dir && ks->master ? SUBCA_OK
				   : subca_error_set(SUBCA_E_NOMEM, __FILE__,
						     __LINE__, "out of memory");
	if (rv == SUBCA_OK)
		rv = subca__master(dir, &c, passphrase, passphrase_len,
				   ks->master);
	if (rv != SUBCA_OK) {
		subca__close(&ks->base);
		return rv;
	}
	*out = &ks->base;
	return SUBCA_OK;
}
