/*
 * Public revocation endpoints of each authority, also on the plain-HTTP
 * listener:
 *   GET  /crl/{id}.crl     the latest CRL of intermediate id (DER)
 *   GET  /ocsp/{request}   RFC 5019 A.1 GET: base64 (URL-encoded) DER
 *   POST /ocsp             application/ocsp-request body
 * OCSP answers are always 200 application/ocsp-response: a request that
 * cannot be answered gets an unsigned OCSPResponse whose status says why
 * (malformedRequest, unauthorized, internalError; RFC 6960 2.3), never a
 * problem document.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revocation_int.h"
#include "server_int.h"
#include "subca/alloc.h"
#include "subca/ocsp.h"
#include "subca/revocation.h"

#define SUBCA__CRL_CT "application/pkix-crl"
#define SUBCA__OCSP_CT "application/ocsp-response"

/* Cache-Control for a public answer valid until `until` (RFC 5019 6.2). */
static subca_result subca__cache_header(struct subca_request *req,
					int64_t until)
{
	int64_t age = until - (int64_t)req->ctx.now;
	char v[64];

	if (age <= 0)
		return subca_response_header(req, "Cache-Control", "no-cache");
	snprintf(v, sizeof(v), "max-age=%lld, public, no-transform",
		 (long long)age);
	return subca_response_header(req, "Cache-Control", v);
}

/* ---- CRL ------------------------------------------------------------------- */

/* "12.crl" -> 12 */
static subca_result subca__crl_id(struct subca_request *req, int64_t *id)
{
	char p[32], *end = NULL;
	size_t n;
	long long v;

	if (subca_request_param(req, 0, p, sizeof(p)) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no such CRL");
	n = strlen(p);
	SUBCA_ENSURE(n > 4 && strcmp(p + n - 4, ".crl") == 0 && p[0] >= '1' &&
			     p[0] <= '9',
		     SUBCA_E_NOT_FOUND,
		     "no such CRL (the path is /crl/INTERMEDIATE-ID.crl)");
	p[n - 4] = '\0';
	v = strtoll(p, &end, 10);
	SUBCA_ENSURE(end != NULL && *end == '\0' && v > 0, SUBCA_E_NOT_FOUND,
		     "no such CRL (the path is /crl/INTERMEDIATE-ID.crl)");
	*id = v;
	return SUBCA_OK;
}

/* A CRL may be far larger than other answers (SUBCA_MAX_CRL). */
static subca_result subca__crl_reply(struct subca_request *req,
				     const struct subca_crl_rec *crl)
{
	subca_buf_cleanup(&req->out);
	subca_buf_init(&req->out, SUBCA_MAX_CRL);
	SUBCA_TRY(subca_buf_append(&req->out, crl->der, crl->der_len));
	req->status = 200;
	req->content_type = SUBCA__CRL_CT;
	return subca__cache_header(req, crl->next_update);
}

/* GET /crl/{id}.crl */
subca_result subca__api_revocation_crl(struct subca_request *req)
{
	struct subca_intermediate_rec im = {0};
	struct subca_crl_rec crl = {0};
	int64_t id = 0;
	subca_result rv;

	SUBCA_TRY(subca__crl_id(req, &id));
	rv = subca_revocation_intermediate(&req->ctx, req->authority_rec.id, id,
					   &im);
	if (rv == SUBCA_E_NOT_FOUND)
		rv = subca_error_set(rv, __FILE__, __LINE__,
				     "authority \"%s\" has no intermediate %lld "
				     "that publishes a CRL",
				     req->authority, (long long)id);
	if (rv == SUBCA_OK)
		rv = subca_crl_current(&req->ctx, &im,
				       subca__revocation_crl_validity(
					       req->env->revocation),
				       &crl);
	if (rv == SUBCA_OK)
		rv = subca__crl_reply(req, &crl);
	subca_crl_rec_cleanup(&crl);
	subca_intermediate_rec_cleanup(&im);
	return rv;
}

/* ---- OCSP ------------------------------------------------------------------ */

static int subca__hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode `in` (RFC 3986 2.1) into out (len bytes, NUL added). */
static subca_result subca__pct_decode(struct subca_slice in, char *out,
				      size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < in.len; i++) {
		int c = in.p[i];

		if (c == '%') {
			int hi = i + 2 < in.len ? subca__hex((char)in.p[i + 1]) : -1;
			int lo = i + 2 < in.len ? subca__hex((char)in.p[i + 2]) : -1;

			SUBCA_ENSURE(hi >= 0 && lo >= 0, SUBCA_E_OCSP_MALFORMED,
				     "bad percent-encoding in the request path");
			c = hi * 16 + lo;
			i += 2;
		}
		SUBCA_ENSURE(o + 1 < len, SUBCA_E_TOO_LARGE,
			     "the OCSP request in the path is too long");
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return SUBCA_OK;
}

/* RFC 5019 A.1: base64 of the DER request (padding required). */
static subca_result subca__b64_decode(const char *b64, struct subca_buf *der)
{
	size_t n = strlen(b64), pad = 0;
	unsigned char *raw;
	int got;
	subca_result rv;

	subca_buf_init(der, SUBCA_MAX_OCSP_REQUEST);
	SUBCA_ENSURE(n > 0 && n % 4 == 0 &&
			     strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
					 "nopqrstuvwxyz0123456789+/=") == n,
		     SUBCA_E_OCSP_MALFORMED,
		     "the OCSP request in the path is not base64");
	while (pad < 2 && b64[n - 1 - pad] == '=')
		pad++;
	SUBCA_ENSURE(strchr(b64, '=') == b64 + n - pad || pad == 0,
		     SUBCA_E_OCSP_MALFORMED,
		     "the OCSP request in the path is not base64");
	raw = subca_malloc(n / 4 * 3);
	SUBCA_ENSURE(raw != NULL, SUBCA_E_NOMEM, "out of memory");
	got = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	if (got < (int)pad) {
		subca_free(raw);
		SUBCA_BAIL(SUBCA_E_OCSP_MALFORMED,
			   "the OCSP request in the path is not base64");
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	rv = subca_buf_append(der, raw, (size_t)got - pad);

	subca_free(raw);
	return rv;
}

/* The request's CertID, DER: the cache key (the answer repeats it). */
static subca_result subca__cache_key(const struct subca_ocsp_request *r,
				     struct subca_buf *key)
{
	unsigned char *p = NULL;
	int n = i2d_OCSP_CERTID(r->id, &p);
	subca_result rv;

	subca_buf_init(key, SUBCA__OCSP_CACHE_KEY_MAX);
	SUBCA_ENSURE(n > 0, SUBCA_E_NOMEM, "cannot encode the CertID");
	rv = subca_buf_append(key, p, (size_t)n);
	OPENSSL_free(p);
	return rv;
}

static subca_result subca__ocsp_reply(struct subca_request *req,
				      struct subca_buf *der, int64_t until)
{
	SUBCA_TRY(subca_response_bytes(req, 200, SUBCA__OCSP_CT, der->p,
				       der->len));
	/* RFC 5019 6: GET answers are cacheable; POST ones are not */
	if (strcmp(req->method, "GET") == 0 && until > 0)
		return subca__cache_header(req, until);
	return SUBCA_OK;
}

/* A nonce-less request may be answered from (and goes into) the cache. */
static subca_result subca__ocsp_answer(struct subca_request *req,
				       const struct subca_ocsp_request *r)
{
	struct subca__revocation *rev = req->env->revocation;
	SUBCA_BUF_AUTO struct subca_buf key = {0};
	SUBCA_BUF_AUTO struct subca_buf der = {0};
	struct subca_ocsp_result res;
	uint64_t gen = subca__ocsp_cache_generation(rev);
	bool cacheable = !r->nonce && subca__cache_key(r, &key) == SUBCA_OK;
	int64_t aid = req->authority_rec.id, now = (int64_t)req->ctx.now;

	subca_error_clear();
	if (cacheable &&
	    subca__ocsp_cache_get(rev, aid, subca_buf_slice(&key), now, &der))
		return subca__ocsp_reply(req, &der, 0);
	subca_buf_cleanup(&der);
	SUBCA_TRY(subca_ocsp_answer_request(&req->ctx, aid, r,
					    subca__revocation_ocsp_validity(rev),
					    &der, &res));
	if (cacheable)
		subca__ocsp_cache_put(rev, aid, subca_buf_slice(&key),
				      subca_buf_slice(&der),
				      now + SUBCA__OCSP_CACHE_SECONDS, gen);
	return subca__ocsp_reply(req, &der, res.next_update);
}

static subca_result subca__ocsp_der(struct subca_request *req,
				    struct subca_slice der)
{
	struct subca_ocsp_request r;
	subca_result rv;

	SUBCA_TRY(subca_ocsp_request_parse(der, &r));
	rv = subca__ocsp_answer(req, &r);
	subca_ocsp_request_cleanup(&r);
	return rv;
}

/* Any failure becomes an OCSPResponse with the status for it. */
static subca_result subca__ocsp_finish(struct subca_request *req,
				       subca_result rv)
{
	SUBCA_BUF_AUTO struct subca_buf der = {0};

	if (rv == SUBCA_OK)
		return SUBCA_OK;
	if (subca_ocsp_error_status(rv) ==
		    OCSP_RESPONSE_STATUS_INTERNALERROR ||
	    subca_error_category(rv) == SUBCA_CAT_INTERNAL)
		subca_log_event("ocsp.error", "request %s: %s", req->id,
				subca_error_reason());
	SUBCA_TRY(subca_ocsp_error_response(rv, &der));
	return subca_response_bytes(req, 200, SUBCA__OCSP_CT, der.p, der.len);
}

/* GET /ocsp/{request...} */
subca_result subca__api_revocation_ocsp_get(struct subca_request *req)
{
	char b64[SUBCA_MAX_REQUEST_PATH + 1];
	SUBCA_BUF_AUTO struct subca_buf der = {0};
	subca_result rv;

	rv = req->match.nparams == 1
		     ? subca__pct_decode(req->match.params[0], b64, sizeof(b64))
		     : subca_error_set(SUBCA_E_OCSP_MALFORMED, __FILE__,
				       __LINE__, "no OCSP request in the path");
	if (rv == SUBCA_OK)
		rv = subca__b64_decode(b64, &der);
	if (rv == SUBCA_OK)
		rv = subca__ocsp_der(req, subca_buf_slice(&der));
	return subca__ocsp_finish(req, rv);
}

/* POST /ocsp */
subca_result subca__api_revocation_ocsp_post(struct subca_request *req)
{
	return subca__ocsp_finish(req, subca__ocsp_der(req, req->body));
}
