/*
 * The directory (RFC 8555 7.1.1) and nonces (RFC 8555 7.2).
 *
 * A nonce is base64url(counter || issued || HMAC-SHA-256(key, counter ||
 * issued)[0..16]): counter a 64-bit number this process hands out in
 * order, issued the time in seconds, key 32 random bytes drawn when the
 * process starts. So:
 *  - only this process can make a nonce it accepts, and no nonce outlives
 *    a restart (the key is gone), without a database write per request;
 *  - a nonce is spent by setting its counter's bit in a window of the
 *    last SUBCA_ACME_NONCE_WINDOW counters: a second use, and any counter
 *    older than the window, is refused, so memory stays fixed;
 *  - it expires SUBCA_ACME_NONCE_TTL seconds after `issued`.
 * With several processes behind one name, a nonce taken from one and
 * spent at another is refused with badNonce and a fresh nonce, which
 * clients retry with (RFC 8555 6.5).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "acme_int.h"

#define SUBCA__NONCE_RAW 28 /* 8 counter + 4 issued + 16 MAC */
#define SUBCA__NONCE_MAC 16

static struct {
	pthread_mutex_t lock;
	pthread_once_t once;
	bool ready;
	uint8_t key[32];
	uint64_t next;			/* the counter of the next nonce */
	uint8_t used[SUBCA_ACME_NONCE_WINDOW / 8];
} subca__nonces = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.once = PTHREAD_ONCE_INIT,
};

static void subca__nonce_init(void)
{
	subca__nonces.ready = RAND_bytes(subca__nonces.key,
					 sizeof(subca__nonces.key)) == 1;
	subca__nonces.next = 1;
}

static void subca__put64(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t subca__get64(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static subca_result subca__nonce_mac(const uint8_t *msg, uint8_t *mac)
{
	uint8_t full[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	SUBCA_OSSL(HMAC(EVP_sha256(), subca__nonces.key,
			sizeof(subca__nonces.key), msg, 12, full, &len) != NULL,
		   SUBCA_E_CRYPTO, "cannot compute a nonce");
	memcpy(mac, full, SUBCA__NONCE_MAC);
	return SUBCA_OK;
}

subca_result subca__acme_nonce_new(time_t now,
				   char out[SUBCA_ACME_NONCE_LEN + 1])
{
	uint8_t raw[SUBCA__NONCE_RAW];
	SUBCA_BUF_AUTO struct subca_buf b = {0};
	uint64_t c;

	pthread_once(&subca__nonces.once, subca__nonce_init);
	SUBCA_ENSURE(subca__nonces.ready, SUBCA_E_CRYPTO,
		     "no random key for nonces");
	pthread_mutex_lock(&subca__nonces.lock);
	c = subca__nonces.next++;
	/* the slot is reused: the counter it last held is out of the window */
	subca__nonces.used[(c % SUBCA_ACME_NONCE_WINDOW) / 8] &=
		(uint8_t)~(1u << (c % 8));
	pthread_mutex_unlock(&subca__nonces.lock);
	subca__put64(raw, c, 8);
	subca__put64(raw + 8, (uint64_t)now & 0xffffffffu, 4);
	SUBCA_TRY(subca__nonce_mac(raw, raw + 12));
	SUBCA_TRY(subca_b64url_encode(subca_slice_of(raw, sizeof(raw)),
				      SUBCA_ACME_NONCE_LEN, &b));
	memcpy(out, b.p, b.len);
	out[b.len] = '\0';
	return SUBCA_OK;
}

static subca_result subca__nonce_spend(uint64_t c)
{
	uint8_t *byte;
	bool fresh;

	pthread_mutex_lock(&subca__nonces.lock);
	fresh = c < subca__nonces.next &&
		subca__nonces.next - c <= SUBCA_ACME_NONCE_WINDOW;
	byte = &subca__nonces.used[(c % SUBCA_ACME_NONCE_WINDOW) / 8];
	if (fresh && (*byte & (1u << (c % 8))) != 0)
		fresh = false;
	else if (fresh)
		*byte |= (uint8_t)(1u << (c % 8));
	pthread_mutex_unlock(&subca__nonces.lock);
	SUBCA_ENSURE(fresh, SUBCA_E_ACME_BAD_NONCE,
		     "the nonce was already used or is too old; use the "
		     "Replay-Nonce of this answer (RFC 8555 6.5)");
	return SUBCA_OK;
}

subca_result subca__acme_nonce_use(const char *nonce, time_t now)
{
	SUBCA_BUF_AUTO struct subca_buf raw = {0};
	uint8_t mac[SUBCA__NONCE_MAC];
	int64_t issued;

	pthread_once(&subca__nonces.once, subca__nonce_init);
	if (strlen(nonce) != SUBCA_ACME_NONCE_LEN ||
	    subca_b64url_decode(subca_slice_of(nonce, strlen(nonce)),
				SUBCA__NONCE_RAW, "the nonce",
				&raw) != SUBCA_OK ||
	    raw.len != SUBCA__NONCE_RAW)
		SUBCA_BAIL(SUBCA_E_ACME_BAD_NONCE,
			   "the nonce was not issued by this server "
			   "(RFC 8555 6.5)");
	SUBCA_TRY(subca__nonce_mac(raw.p, mac));
	SUBCA_ENSURE(CRYPTO_memcmp(mac, raw.p + 12, sizeof(mac)) == 0,
		     SUBCA_E_ACME_BAD_NONCE,
		     "the nonce was not issued by this server process (it "
		     "may have restarted; RFC 8555 6.5)");
	issued = (int64_t)subca__get64(raw.p + 8, 4);
	SUBCA_ENSURE(((int64_t)now & 0xffffffff) - issued <=
				     SUBCA_ACME_NONCE_TTL &&
			     ((int64_t)now & 0xffffffff) >= issued,
		     SUBCA_E_ACME_BAD_NONCE,
		     "the nonce has expired (RFC 8555 6.5)");
	return subca__nonce_spend(subca__get64(raw.p, 8));
}

/* ---- handlers -------------------------------------------------------------- */

static json_t *subca__directory_doc(const struct subca_acme *a)
{
	static const char *const res[][2] = {
		{"newNonce", "new-nonce"},     {"newAccount", "new-account"},
		{"newOrder", "new-order"},     {"revokeCert", "revoke-cert"},
		{"keyChange", "key-change"},   {"renewalInfo", "renewal-info"},
	};
	char url[SUBCA_ACME_URL_MAX + 32];
	json_t *d = json_object(), *meta = json_object();

	if (d == NULL || meta == NULL) {
		json_decref(d);
		json_decref(meta);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		snprintf(url, sizeof(url), "%s/%s", a->base, res[i][1]);
		json_object_set_new(d, res[i][0], json_string(url));
	}
	json_object_set_new(meta, "externalAccountRequired",
			    json_boolean(a->opts.require_eab));
	json_object_set_new(d, "meta", meta);
	return d;
}

/* GET /acme/{p}/directory (RFC 8555 7.1.1): public, no nonce needed. */
subca_result subca__acme_directory(struct subca_request *req)
{
	struct subca_acme a;
	subca_result rv = subca__acme_begin(req, &a);

	if (rv == SUBCA_OK)
		rv = subca_response_json(req, 200, subca__directory_doc(&a));
	subca__acme_end(&a);
	return rv;
}

/* HEAD or GET /acme/{p}/new-nonce (RFC 8555 7.2): 200 for HEAD, 204 for
 * GET, each with a Replay-Nonce and no caching. */
subca_result subca__acme_new_nonce(struct subca_request *req)
{
	struct subca_acme a;
	subca_result rv = subca__acme_begin(req, &a);

	if (rv == SUBCA_OK)
		rv = subca_response_bytes(req,
					  strcmp(req->method, "HEAD") == 0 ? 200
									   : 204,
					  "text/plain", "", 0);
	if (rv == SUBCA_OK)
		subca__acme_headers(&a);
	subca__acme_end(&a);
	return rv;
}
