/*
 * External Account Binding (RFC 8555 7.3.4).
 *
 * An EAB key is an HMAC secret the CA's administrator hands to a customer
 * out of band (`subca acme eab create`, shown once). HS256 needs the
 * secret itself to verify, so it cannot be stored as a hash; it is sealed
 * through the key store instead: the key store generates a P-256 key for
 * it (the private half never leaves the key store), and the secret is
 * encrypted with AES-256-GCM under HKDF-SHA-256(ECDH(ephemeral, that
 * key)). The row keeps "v1.KEYID.EPHEMERAL.NONCE.CIPHERTEXT" (base64url),
 * so the database alone never reveals a secret. Verifying loads the key
 * store's key, derives, decrypts, checks the MAC and wipes the secret.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "acme_int.h"
#include "subca/alloc.h"

#define SUBCA__EAB_SECRET 32
#define SUBCA__EAB_NONCE 12
#define SUBCA__EAB_TAG 16
#define SUBCA__EAB_INFO "subca acme eab v1"

SUBCA__DEFINE_AUTO(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free)

/* AES key = HKDF-SHA-256(ECDH(priv, peer)). */
static subca_result subca__eab_kek(EVP_PKEY *priv, EVP_PKEY *peer,
				   uint8_t kek[32])
{
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *dh = EVP_PKEY_CTX_new(priv, NULL);
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *kdf = NULL;
	uint8_t z[66];
	size_t zlen = sizeof(z), klen = 32;
	subca_result rv = SUBCA_OK;

	SUBCA_OSSL(dh != NULL && EVP_PKEY_derive_init(dh) == 1 &&
			   EVP_PKEY_derive_set_peer(dh, peer) == 1 &&
			   EVP_PKEY_derive(dh, z, &zlen) == 1,
		   SUBCA_E_CRYPTO, "cannot derive the EAB sealing key");
	kdf = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (kdf == NULL || EVP_PKEY_derive_init(kdf) != 1 ||
	    EVP_PKEY_CTX_set_hkdf_md(kdf, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_key(kdf, z, (int)zlen) != 1 ||
	    EVP_PKEY_CTX_add1_hkdf_info(kdf, (const unsigned char *)SUBCA__EAB_INFO,
					(int)strlen(SUBCA__EAB_INFO)) != 1 ||
	    EVP_PKEY_derive(kdf, kek, &klen) != 1 || klen != 32)
		rv = subca_error_set_ossl(SUBCA_E_CRYPTO, __FILE__, __LINE__,
					  "cannot derive the EAB sealing key");
	OPENSSL_cleanse(z, sizeof(z));
	return rv;
}

static subca_result subca__gcm(bool enc, const uint8_t kek[32],
			       const uint8_t *nonce, const uint8_t *in,
			       size_t n, uint8_t *out, uint8_t *tag)
{
	SUBCA_AUTO(EVP_CIPHER_CTX) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0;

	SUBCA_OSSL(c != NULL &&
			   EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, kek,
					     nonce, enc ? 1 : 0) == 1 &&
			   EVP_CipherUpdate(c, out, &len, in, (int)n) == 1,
		   SUBCA_E_CRYPTO, "cannot %s the EAB key",
		   enc ? "seal" : "unseal");
	if (!enc)
		SUBCA_OSSL(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
					       SUBCA__EAB_TAG, tag) == 1,
			   SUBCA_E_CRYPTO, "cannot unseal the EAB key");
	SUBCA_OSSL(EVP_CipherFinal_ex(c, out + len, &fin) == 1, SUBCA_E_CRYPTO,
		   "the sealed EAB key does not decrypt (tampered?)");
	if (enc)
		SUBCA_OSSL(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
					       SUBCA__EAB_TAG, tag) == 1,
			   SUBCA_E_CRYPTO, "cannot seal the EAB key");
	return SUBCA_OK;
}

static subca_result subca__b64_part(struct subca_buf *out, const void *p,
				    size_t n)
{
	SUBCA_BUF_AUTO struct subca_buf b = {0};

	SUBCA_TRY(subca_b64url_encode(subca_slice_of(p, n), 256, &b));
	SUBCA_TRY(subca_buf_append(out, ".", 1));
	return subca_buf_append(out, b.p, b.len);
}

static subca_result subca__eab_seal(struct subca_keystore *ks,
				    const uint8_t secret[SUBCA__EAB_SECRET],
				    struct subca_buf *out)
{
	char id[SUBCA_KEY_ID_MAX];
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *pub = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *eph = NULL;
	uint8_t kek[32], nonce[SUBCA__EAB_NONCE], ct[SUBCA__EAB_SECRET + 16];
	uint8_t tag[SUBCA__EAB_TAG], point[65];
	size_t plen = 0;
	subca_result rv;

	SUBCA_TRY(ks->ops->generate(ks, SUBCA_KEY_EC_P256, id, &pub));
	eph = EVP_EC_gen("P-256");
	SUBCA_OSSL(eph != NULL && RAND_bytes(nonce, sizeof(nonce)) == 1 &&
			   EVP_PKEY_get_octet_string_param(
				   eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
				   point, sizeof(point), &plen) == 1,
		   SUBCA_E_CRYPTO, "cannot seal the EAB key");
	rv = subca__eab_kek(eph, pub, kek);
	if (rv == SUBCA_OK)
		rv = subca__gcm(true, kek, nonce, secret, SUBCA__EAB_SECRET, ct,
				tag);
	OPENSSL_cleanse(kek, sizeof(kek));
	SUBCA_TRY(rv);
	memcpy(ct + SUBCA__EAB_SECRET, tag, sizeof(tag));
	subca_buf_init(out, 1024);
	SUBCA_TRY(subca_buf_append_str(out, "v1."));
	SUBCA_TRY(subca_buf_append_str(out, id));
	SUBCA_TRY(subca__b64_part(out, point, plen));
	SUBCA_TRY(subca__b64_part(out, nonce, sizeof(nonce)));
	SUBCA_TRY(subca__b64_part(out, ct, SUBCA__EAB_SECRET + SUBCA__EAB_TAG));
	return subca_buf_append(out, "", 1);
}

/* Split "v1.ID.EPH.NONCE.CT" and decode. */
static subca_result subca__eab_fields(const char *sealed, char *id,
				      struct subca_buf parts[3])
{
	const char *f[5];
	size_t n = 0;

	f[n++] = sealed;
	for (const char *p = sealed; *p != '\0' && n < 5; p++)
		if (*p == '.')
			f[n++] = p + 1;
	SUBCA_ENSURE(n == 5 && strncmp(sealed, "v1.", 3) == 0 &&
			     (size_t)(f[2] - f[1] - 1) < SUBCA_KEY_ID_MAX,
		     SUBCA_E_STORE, "a sealed EAB key is malformed");
	memcpy(id, f[1], (size_t)(f[2] - f[1] - 1));
	id[f[2] - f[1] - 1] = '\0';
	for (int i = 0; i < 3; i++) {
		const char *end = i < 2 ? f[i + 3] - 1 : f[4] + strlen(f[4]);

		SUBCA_TRY(subca_b64url_decode(
			subca_slice_of(f[i + 2], (size_t)(end - f[i + 2])), 256,
			"a sealed EAB key", &parts[i]));
	}
	SUBCA_ENSURE(parts[1].len == SUBCA__EAB_NONCE &&
			     parts[2].len == SUBCA__EAB_SECRET + SUBCA__EAB_TAG,
		     SUBCA_E_STORE, "a sealed EAB key is malformed");
	return SUBCA_OK;
}

static subca_result subca__eab_peer(const struct subca_buf *point,
				    EVP_PKEY **out)
{
	SUBCA_AUTO(EVP_PKEY_CTX) EVP_PKEY_CTX *c =
		EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"P-256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
		OSSL_PKEY_PARAM_PUB_KEY, (void *)point->p, point->len);
	params[2] = OSSL_PARAM_construct_end();
	SUBCA_OSSL(c != NULL && EVP_PKEY_fromdata_init(c) == 1 &&
			   EVP_PKEY_fromdata(c, out, EVP_PKEY_PUBLIC_KEY,
					     params) == 1,
		   SUBCA_E_STORE, "a sealed EAB key has a bad point");
	return SUBCA_OK;
}

static subca_result subca__eab_unseal(struct subca_keystore *ks,
				      const char *sealed,
				      uint8_t secret[SUBCA__EAB_SECRET])
{
	struct subca_buf parts[3] = {{0}, {0}, {0}};
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *priv = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *peer = NULL;
	char id[SUBCA_KEY_ID_MAX];
	uint8_t kek[32];
	subca_result rv;

	rv = subca__eab_fields(sealed, id, parts);
	if (rv == SUBCA_OK)
		rv = subca__eab_peer(&parts[0], &peer);
	if (rv == SUBCA_OK)
		rv = ks->ops->load(ks, id, &priv);
	if (rv == SUBCA_OK)
		rv = subca__eab_kek(priv, peer, kek);
	if (rv == SUBCA_OK)
		rv = subca__gcm(false, kek, parts[1].p, parts[2].p,
				SUBCA__EAB_SECRET, secret,
				(uint8_t *)parts[2].p + SUBCA__EAB_SECRET);
	OPENSSL_cleanse(kek, sizeof(kek));
	for (int i = 0; i < 3; i++)
		subca_buf_cleanup(&parts[i]);
	return rv;
}

subca_result subca_acme_eab_create(const struct subca_ctx *c,
				   const struct subca_authority_rec *a,
				   const char *prov_name,
				   char kid[SUBCA_ACME_EAB_KID_SIZE],
				   char hmac[SUBCA_ACME_EAB_HMAC_SIZE])
{
	struct subca_store *st = c->store;
	struct subca_provisioner_rec p = {0};
	struct subca_acme_eab_rec r = {0};
	uint8_t secret[SUBCA__EAB_SECRET], raw[18];
	SUBCA_BUF_AUTO struct subca_buf sealed = {0};
	SUBCA_BUF_AUTO struct subca_buf b = {0};
	SUBCA_BUF_AUTO struct subca_buf h = {0};
	subca_result rv;

	kid[0] = hmac[0] = '\0';
	rv = st->ops->provisioner_get(st, a->id, prov_name, &p);
	if (rv == SUBCA_OK && p.type != SUBCA_PROV_ACME)
		rv = subca_error_set(SUBCA_E_INVALID_ARGUMENT, __FILE__, __LINE__,
				     "provisioner \"%s\" is not an acme "
				     "provisioner", prov_name);
	r.provisioner_id = p.id;
	subca_provisioner_rec_cleanup(&p);
	SUBCA_TRY(rv);
	SUBCA_OSSL(RAND_bytes(secret, sizeof(secret)) == 1 &&
			   RAND_bytes(raw, sizeof(raw)) == 1,
		   SUBCA_E_CRYPTO, "no random bytes for an EAB key");
	/* hex: a kid never starts with '-' on a command line */
	subca_buf_init(&b, 2 * sizeof(raw) + 1);
	rv = SUBCA_OK;
	for (size_t i = 0; rv == SUBCA_OK && i < sizeof(raw); i++) {
		char hx[3];

		snprintf(hx, sizeof(hx), "%02x", raw[i]);
		rv = subca_buf_append(&b, hx, 2);
	}
	if (rv == SUBCA_OK)
		rv = subca_b64url_encode(subca_slice_of(secret, sizeof(secret)),
					 SUBCA_ACME_EAB_HMAC_SIZE - 1, &h);
	if (rv == SUBCA_OK)
		rv = subca__eab_seal(c->keys, secret, &sealed);
	OPENSSL_cleanse(secret, sizeof(secret));
	SUBCA_TRY(rv);
	memcpy(kid, b.p, b.len);
	kid[b.len] = '\0';
	r.kid = kid;
	r.sealed = (char *)sealed.p;
	r.created = (int64_t)c->now;
	rv = st->ops->begin(st);
	if (rv == SUBCA_OK) {
		rv = st->ops->acme_eab_add(st, &r);
		if (rv == SUBCA_OK)
			rv = subca_audit(c, a->name, "acme.eab.create",
					 "EAB key %s created for provisioner "
					 "\"%s\"", kid, prov_name);
		if (rv == SUBCA_OK)
			rv = st->ops->commit(st);
		if (rv != SUBCA_OK)
			st->ops->rollback(st);
	}
	if (rv == SUBCA_OK) {
		memcpy(hmac, h.p, h.len);
		hmac[h.len] = '\0';
	}
	OPENSSL_cleanse(h.p, h.len);
	return rv;
}

/* ---- checking a binding -------------------------------------------------------- */

static struct subca_slice subca__part(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return subca_slice_of(json_string_value(v), json_string_length(v));
}

/* The protected header: HS256, kid, url = this request's (7.3.4). */
static subca_result subca__eab_header(const struct subca_acme *a,
				      struct subca_slice b64, char *kid)
{
	SUBCA_BUF_AUTO struct subca_buf text = {0};
	SUBCA_AUTO(json_t) json_t *h = NULL;
	const char *alg, *k, *url;
	json_error_t e;

	SUBCA_TRY(subca_b64url_decode(b64, SUBCA_MAX_JWS_HEADER,
				      "the EAB protected header", &text));
	h = json_loadb((const char *)text.p, text.len, JSON_REJECT_DUPLICATES,
		       &e);
	SUBCA_ENSURE(json_is_object(h), SUBCA_E_BAD_JWS,
		     "the EAB protected header is not a JSON object");
	alg = json_string_value(json_object_get(h, "alg"));
	k = json_string_value(json_object_get(h, "kid"));
	url = json_string_value(json_object_get(h, "url"));
	SUBCA_ENSURE(alg != NULL && strcmp(alg, "HS256") == 0,
		     SUBCA_E_UNSUPPORTED_ALG,
		     "the EAB must be signed with HS256");
	SUBCA_ENSURE(k != NULL && strlen(k) < SUBCA_ACME_EAB_KID_SIZE,
		     SUBCA_E_BAD_JWS, "the EAB header needs its \"kid\"");
	SUBCA_ENSURE(json_object_get(h, "nonce") == NULL, SUBCA_E_BAD_JWS,
		     "the EAB header has no nonce (RFC 8555 7.3.4)");
	SUBCA_ENSURE(url != NULL && strcmp(url, a->url) == 0, SUBCA_E_AUTH,
		     "the EAB header's url is not the newAccount URL");
	memcpy(kid, k, strlen(k) + 1);
	return SUBCA_OK;
}

/* The payload: the account's JWK, the key that signed the outer JWS. */
static subca_result subca__eab_payload(const struct subca_acme *a,
				       struct subca_slice b64)
{
	SUBCA_BUF_AUTO struct subca_buf text = {0};
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = NULL;

	SUBCA_TRY(subca_b64url_decode(b64, SUBCA_MAX_JWK_INPUT,
				      "the EAB payload", &text));
	SUBCA_TRY(subca_jwk_parse(subca_buf_slice(&text), &k));
	SUBCA_ENSURE(EVP_PKEY_eq(k, a->key) == 1, SUBCA_E_AUTH,
		     "the EAB binds another key than the account's");
	return SUBCA_OK;
}

static subca_result subca__eab_mac(const struct subca_acme *a,
				   const char *sealed, const json_t *eab)
{
	struct subca_slice p = subca__part(eab, "protected");
	struct subca_slice y = subca__part(eab, "payload");
	SUBCA_BUF_AUTO struct subca_buf sig = {0};
	SUBCA_BUF_AUTO struct subca_buf in = {0};
	uint8_t secret[SUBCA__EAB_SECRET], mac[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	subca_result rv;

	SUBCA_TRY(subca_b64url_decode(subca__part(eab, "signature"), 64,
				      "the EAB signature", &sig));
	subca_buf_init(&in, p.len + y.len + 1);
	SUBCA_TRY(subca_buf_append(&in, p.p, p.len));
	SUBCA_TRY(subca_buf_append(&in, ".", 1));
	SUBCA_TRY(subca_buf_append(&in, y.p, y.len));
	rv = subca__eab_unseal(a->req->ctx.keys, sealed, secret);
	if (rv == SUBCA_OK &&
	    HMAC(EVP_sha256(), secret, sizeof(secret), in.p, in.len, mac,
		 &len) == NULL)
		rv = subca_error_set_ossl(SUBCA_E_CRYPTO, __FILE__, __LINE__,
					  "cannot compute the EAB MAC");
	OPENSSL_cleanse(secret, sizeof(secret));
	SUBCA_TRY(rv);
	SUBCA_ENSURE(sig.len == len && CRYPTO_memcmp(sig.p, mac, len) == 0,
		     SUBCA_E_AUTH,
		     "the externalAccountBinding MAC does not verify");
	return SUBCA_OK;
}

subca_result subca__acme_eab_check(struct subca_acme *a, const json_t *eab,
				   char **kid_out)
{
	struct subca_store *st = a->req->ctx.store;
	struct subca_acme_eab_rec r = {0};
	char kid[SUBCA_ACME_EAB_KID_SIZE];
	subca_result rv;

	*kid_out = NULL;
	SUBCA_ENSURE(json_is_object(eab) && json_object_size(eab) == 3 &&
			     json_is_string(json_object_get(eab, "protected")) &&
			     json_is_string(json_object_get(eab, "payload")) &&
			     json_is_string(json_object_get(eab, "signature")),
		     SUBCA_E_BAD_JWS,
		     "externalAccountBinding is a JWS: protected, payload, "
		     "signature (RFC 8555 7.3.4)");
	SUBCA_TRY(subca__eab_header(a, subca__part(eab, "protected"), kid));
	SUBCA_TRY(subca__eab_payload(a, subca__part(eab, "payload")));
	rv = st->ops->acme_eab_get(st, a->prov.id, kid, &r);
	if (rv == SUBCA_E_NOT_FOUND)
		rv = subca_error_set(SUBCA_E_AUTH, __FILE__, __LINE__,
				     "the EAB kid is unknown to this directory");
	if (rv == SUBCA_OK && r.account_id != NULL)
		rv = subca_error_set(SUBCA_E_AUTH, __FILE__, __LINE__,
				     "the EAB key is already bound to an "
				     "account");
	if (rv == SUBCA_OK)
		rv = subca__eab_mac(a, r.sealed, eab);
	subca_acme_eab_rec_cleanup(&r);
	SUBCA_TRY(rv);
	*kid_out = subca_strdup(kid);
	SUBCA_ENSURE(*kid_out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}
