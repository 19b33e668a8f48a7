/*
 * Untrusted certificate input: PEM (LF or CRLF, optional UTF-8 BOM, text
 * around blocks ignored), DER certificates, PKCS#7 SignedData bundles, and
 * CSRs. Private keys are refused before anything else is looked at: subca
 * never takes a private key, the customer's root key stays with them.
 *
 * PEM blocks are found by scanning BEGIN/END lines over the bounded input;
 * the base64 body is checked character by character, decoded with
 * EVP_DecodeUpdate, and the DER goes through subca_der_decode.
 */
#include "subca/certin.h"

#include <openssl/asn1.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/limits.h"
#include "subca/ossl.h"

#define SUBCA__PEM_BEGIN "-----BEGIN "
#define SUBCA__PEM_END "-----END "
#define SUBCA__PEM_DASHES "-----"
/* Longest PEM label we accept (RFC 7468 labels are short). */
#define SUBCA__PEM_LABEL_MAX 64
/* Top-level DER objects inspected for private keys in a DER input. */
#define SUBCA__DER_WALK_MAX 32

struct subca__pem_block {
	char label[SUBCA__PEM_LABEL_MAX + 1];
	struct subca_slice body; /* between the BEGIN and END lines */
	unsigned index;		 /* 1-based position in the input */
	char nth[16];		 /* "1st", "2nd", ... for reasons */
};

struct subca__pem_scan {
	struct subca_slice in;
	size_t pos;
	unsigned count;
};

/* What a PEM label means to us. */
enum subca__pem_kind {
	SUBCA__PEM_CERT,
	SUBCA__PEM_TRUSTED_CERT,
	SUBCA__PEM_PKCS7,
	SUBCA__PEM_CSR,
	SUBCA__PEM_OTHER,
};

static const struct {
	const char *label;
	enum subca__pem_kind kind;
} subca__pem_labels[] = {
	{"CERTIFICATE", SUBCA__PEM_CERT},
	{"X509 CERTIFICATE", SUBCA__PEM_CERT},
	{"TRUSTED CERTIFICATE", SUBCA__PEM_TRUSTED_CERT},
	{"PKCS7", SUBCA__PEM_PKCS7},
	{"CERTIFICATE REQUEST", SUBCA__PEM_CSR},
	{"NEW CERTIFICATE REQUEST", SUBCA__PEM_CSR},
};

/*
 * Markers that betray a private key wherever they appear in text: PEM
 * BEGIN/END lines of every key flavour (PKCS#8, encrypted PKCS#8, RSA, EC,
 * DSA, OpenSSH) end with "PRIVATE KEY-----"; PuTTY key files start with
 * their own header.
 */
static const char *const subca__key_markers[] = {
	"PRIVATE KEY-----",
	"PuTTY-User-Key-File-",
};


/* ---- small text helpers --------------------------------------------- */

static const uint8_t *subca__find(struct subca_slice in, size_t from,
				  const char *needle)
{
	if (from >= in.len)
		return NULL;
	return memmem(in.p + from, in.len - from, needle, strlen(needle));
}

static bool subca__is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static bool subca__is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

static void subca__ordinal(unsigned n, char *buf, size_t len)
{
	const char *suf = "th";

	if (n % 100 < 11 || n % 100 > 13) {
		if (n % 10 == 1)
			suf = "st";
		else if (n % 10 == 2)
			suf = "nd";
		else if (n % 10 == 3)
			suf = "rd";
	}
	snprintf(buf, len, "%u%s", n, suf);
}

/*
 * Offset of the end of the line holding `at` (the CR/LF or input end),
 * looking at most SUBCA__LINE_WINDOW bytes ahead: a BEGIN/END line holds a
 * short label, and an unbounded look would make one long line of repeated
 * BEGINs quadratic.
 */
#define SUBCA__LINE_WINDOW (SUBCA__PEM_LABEL_MAX + 8)
static size_t subca__line_end(struct subca_slice in, size_t at)
{
	size_t stop = in.len - at > SUBCA__LINE_WINDOW ? at + SUBCA__LINE_WINDOW
						      : in.len;

	while (at < stop && in.p[at] != '\n' && in.p[at] != '\r')
		at++;
	return at;
}

static struct subca_slice subca__skip_bom(struct subca_slice in)
{
	if (in.len >= 3 && in.p[0] == 0xef && in.p[1] == 0xbb &&
	    in.p[2] == 0xbf)
		return subca_slice_of(in.p + 3, in.len - 3);
	return in;
}

static bool subca__has_pem(struct subca_slice in)
{
	return subca__find(in, 0, SUBCA__PEM_BEGIN) != NULL;
}

/* ---- size, emptiness, private keys ---------------------------------- */

static subca_result subca__check_size(struct subca_slice in, size_t max,
				      const char *what)
{
	SUBCA_ENSURE(in.len <= max, SUBCA_E_TOO_LARGE,
		     "%s is %zu bytes, more than the limit of %zu bytes", what,
		     in.len, max);
	for (size_t i = 0; i < in.len; i++)
		if (!subca__is_space(in.p[i]))
			return SUBCA_OK;
	SUBCA_BAIL(SUBCA_E_EMPTY, "%s is empty%s", what,
		   in.len ? " (only whitespace)" : "");
}

static subca_result subca__key_found(const char *where)
{
	subca_error_set(SUBCA_E_PRIVATE_KEY, __FILE__, __LINE__,
			"the input contains a private key (%s); subca never "
			"takes private keys: the root key stays with you. "
			"Remove the key and give only the certificate or "
			"request",
			where);
	subca_error_hint("export only the certificate (`openssl x509 -in FILE "
			 "-out cert.pem`) or the request (`openssl req -in "
			 "FILE -out req.pem`)");
	return SUBCA_E_PRIVATE_KEY;
}

/* Any BEGIN line that mentions PRIVATE KEY, or any other key marker. */
static subca_result subca__refuse_key_text(struct subca_slice in)
{
	const uint8_t *b;
	size_t pos = 0;

	for (size_t i = 0; i < sizeof(subca__key_markers) / sizeof(char *); i++)
		if (subca__find(in, 0, subca__key_markers[i]) != NULL)
			return subca__key_found("a PEM private key block");
	while ((b = subca__find(in, pos, SUBCA__PEM_BEGIN)) != NULL) {
		size_t at = (size_t)(b - in.p);
		size_t end = subca__line_end(in, at);
		struct subca_slice line = subca_slice_of(b, end - at);

		if (subca__find(line, 0, "PRIVATE KEY") != NULL)
			return subca__key_found("a PEM private key block");
		pos = at + 1;
	}
	return SUBCA_OK;
}

/*
 * Every private key encoding (PKCS#8, traditional RSA, EC, DSA) is a
 * SEQUENCE starting with a one-byte version INTEGER (0 or 1); certificates,
 * CSRs, CRLs and PKCS#7 are not. Only such DER is handed to OpenSSL's key
 * decoder, whose failures cost milliseconds each.
 */
static bool subca__may_be_key(struct subca_slice der)
{
	const unsigned char *p = der.p;
	long len = 0;
	int tag = 0, xclass = 0, ret;

	ret = ASN1_get_object(&p, &len, &tag, &xclass, (long)der.len);
	if ((ret & 0x80) || tag != V_ASN1_SEQUENCE ||
	    xclass != V_ASN1_UNIVERSAL) {
		ERR_clear_error();
		return false;
	}
	ret = ASN1_get_object(&p, &len, &tag, &xclass,
			      (long)(der.len - (size_t)(p - der.p)));
	ERR_clear_error();
	return !(ret & 0x80) && tag == V_ASN1_INTEGER &&
	       xclass == V_ASN1_UNIVERSAL && len == 1 && p[0] <= 1;
}

/*
 * Whether `der` opens as an EncryptedPrivateKeyInfo does: a SEQUENCE whose
 * first element is a SEQUENCE (the AlgorithmIdentifier) that starts with
 * an OBJECT IDENTIFIER. A CSR or a certificate (whose first inner SEQUENCE
 * starts with an INTEGER or a [0] version) is told apart here without a
 * decoding attempt.
 */
static bool subca__may_be_encrypted_key(struct subca_slice der)
{
	const unsigned char *p = der.p, *end = der.p + der.len;
	long len = 0;
	int tag = 0, xclass = 0;
	bool ok = true;

	for (int i = 0; i < 3 && ok; i++) {
		int ret = ASN1_get_object(&p, &len, &tag, &xclass,
					  (long)(end - p));

		ok = !(ret & 0x80) && xclass == V_ASN1_UNIVERSAL &&
		     tag == (i < 2 ? V_ASN1_SEQUENCE : V_ASN1_OBJECT);
	}
	ERR_clear_error();
	return ok;
}

/*
 * An EncryptedPrivateKeyInfo (RFC 5958 3): a SEQUENCE of a password-based
 * encryption algorithm and an OCTET STRING. The algorithm must be one
 * OpenSSL knows as PBE, so that other two-element structures are not taken
 * for keys.
 */
static bool subca__is_der_encrypted_key(struct subca_slice der)
{
	void *sig = NULL;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid = NULL;
	bool pbe;

	if (!subca__may_be_encrypted_key(der))
		return false;
	if (subca_der_decode(SUBCA_DER_PKCS8_ENCRYPTED, der, &sig) != SUBCA_OK) {
		subca_error_clear();
		return false;
	}
	X509_SIG_get0(sig, &alg, NULL);
	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	pbe = EVP_PBE_find(EVP_PBE_TYPE_OUTER, OBJ_obj2nid(oid), NULL, NULL,
			   NULL) == 1;
	X509_SIG_free(sig);
	ERR_clear_error();
	return pbe;
}

/* A DER private key (PKCS#8, encrypted PKCS#8, or traditional RSA/EC/DSA). */
static bool subca__is_der_key(struct subca_slice der)
{
	void *key = NULL;

	if (!subca__may_be_key(der))
		return subca__is_der_encrypted_key(der);
	if (subca_der_decode(SUBCA_DER_PRIVKEY, der, &key) != SUBCA_OK) {
		subca_error_clear();
		return false;
	}
	EVP_PKEY_free(key);
	return true;
}

/* ---- DER framing ----------------------------------------------------- */

/*
 * Length of the first DER object in `in` (header included), using OpenSSL's
 * own header parser: TRUNCATED when the object is longer than the input,
 * GARBAGE for a broken header. Indefinite-length BER (some PKCS#7 writers)
 * has no outer length: the whole input is taken and d2i decides.
 */
static subca_result subca__der_first(struct subca_slice in,
				     struct subca_slice *first)
{
	const unsigned char *p = in.p;
	long len = 0;
	int tag = 0, xclass = 0, ret;
	size_t hdr;

	ret = ASN1_get_object(&p, &len, &tag, &xclass, (long)in.len);
	ERR_clear_error();
	hdr = (size_t)(p - in.p);
	if (ret == 0x80 && hdr == 0) {
		size_t need = 2;

		if (in.len > 1 && (in.p[1] & 0x80u))
			need += in.p[1] & 0x7fu;
		SUBCA_ENSURE(in.len >= need, SUBCA_E_TRUNCATED,
			     "DER input is cut short inside its header (%zu bytes)",
			     in.len);
		SUBCA_BAIL(SUBCA_E_GARBAGE,
			   "neither PEM nor DER: the DER header is invalid");
	}
	if (ret & 0x01) { /* indefinite length */
		*first = in;
		return SUBCA_OK;
	}
	SUBCA_ENSURE(len >= 0 && (size_t)len <= in.len - hdr, SUBCA_E_TRUNCATED,
		     "DER input is truncated: its outer length says %zu bytes, "
		     "only %zu are present",
		     hdr + (size_t)len, in.len);
	*first = subca_slice_of(in.p, hdr + (size_t)len);
	return SUBCA_OK;
}

/* Every complete top-level DER object is checked for a private key. */
static subca_result subca__refuse_key_der(struct subca_slice in)
{
	size_t pos = 0;

	for (int i = 0; i < SUBCA__DER_WALK_MAX && pos < in.len; i++) {
		struct subca_slice rest = subca_slice_of(in.p + pos,
							 in.len - pos);
		struct subca_slice obj;

		if (subca__der_first(rest, &obj) != SUBCA_OK) {
			subca_error_clear();
			break;
		}
		if (subca__is_der_key(obj))
			return subca__key_found("a DER private key");
		pos += obj.len;
	}
	return SUBCA_OK;
}

/*
 * DER when it starts like a SEQUENCE and its outer length does not leave
 * room for PEM text after it (text that happens to start with '0').
 */
static bool subca__looks_der(struct subca_slice in)
{
	struct subca_slice first;
	bool ok;

	if (in.p[0] != 0x30)
		return false;
	if (!subca__has_pem(in))
		return true;
	ok = subca__der_first(in, &first) == SUBCA_OK && first.len == in.len;
	subca_error_clear();
	return ok;
}

/* ---- PEM scanning ---------------------------------------------------- */

/* Read "LABEL-----" starting at `at`; `*after` is just past the dashes. */
static subca_result subca__pem_label(struct subca_slice in, size_t at,
				     const char *nth, char *label,
				     size_t *after)
{
	size_t end = subca__line_end(in, at), n;
	struct subca_slice line = subca_slice_of(in.p + at, end - at);
	const uint8_t *dashes = subca__find(line, 0, SUBCA__PEM_DASHES);

	if (dashes == NULL) {
		SUBCA_ENSURE(end < in.len, SUBCA_E_TRUNCATED,
			     "the %s PEM block is cut short in its BEGIN/END line",
			     nth);
		SUBCA_BAIL(SUBCA_E_GARBAGE,
			   "the %s PEM block has a malformed BEGIN/END line", nth);
	}
	n = (size_t)(dashes - line.p);
	SUBCA_ENSURE(n > 0 && n <= SUBCA__PEM_LABEL_MAX, SUBCA_E_GARBAGE,
		     "the %s PEM block has a malformed label", nth);
	for (size_t i = 0; i < n; i++)
		SUBCA_ENSURE(line.p[i] >= 0x20 && line.p[i] < 0x7f,
			     SUBCA_E_GARBAGE,
			     "the %s PEM block has a malformed label", nth);
	memcpy(label, line.p, n);
	label[n] = '\0';
	*after = at + n + strlen(SUBCA__PEM_DASHES);
	return SUBCA_OK;
}

/*
 * Next PEM block. *found is false once no BEGIN line is left. A BEGIN with
 * no END of the same label before the next BEGIN is TRUNCATED.
 */
static subca_result subca__pem_next(struct subca__pem_scan *s,
				    struct subca__pem_block *b, bool *found)
{
	const uint8_t *begin = subca__find(s->in, s->pos, SUBCA__PEM_BEGIN);
	const uint8_t *end, *next;
	char end_label[SUBCA__PEM_LABEL_MAX + 1];
	size_t body, end_at, after;

	*found = false;
	if (begin == NULL)
		return SUBCA_OK;
	SUBCA_ENSURE(s->count < SUBCA_MAX_PEM_BLOCKS, SUBCA_E_TOO_MANY_CERTS,
		     "the input holds more than %d PEM blocks (the limit)",
		     SUBCA_MAX_PEM_BLOCKS);
	b->index = ++s->count;
	subca__ordinal(b->index, b->nth, sizeof(b->nth));
	SUBCA_TRY(subca__pem_label(s->in,
				   (size_t)(begin - s->in.p) +
					   strlen(SUBCA__PEM_BEGIN),
				   b->nth, b->label, &body));
	end = subca__find(s->in, body, SUBCA__PEM_END);
	next = subca__find(s->in, body, SUBCA__PEM_BEGIN);
	SUBCA_ENSURE(end != NULL && (next == NULL || next > end),
		     SUBCA_E_TRUNCATED,
		     "the %s PEM block (%s) has no END line: the input is "
		     "truncated",
		     b->nth, b->label);
	end_at = (size_t)(end - s->in.p);
	SUBCA_TRY(subca__pem_label(s->in, end_at + strlen(SUBCA__PEM_END),
				   b->nth, end_label, &after));
	SUBCA_ENSURE(strcmp(end_label, b->label) == 0, SUBCA_E_TRUNCATED,
		     "the %s PEM block begins as %s but ends as %s: the input "
		     "is truncated or spliced",
		     b->nth, b->label, end_label);
	b->body = subca_slice_of(s->in.p + body, end_at - body);
	s->pos = after;
	*found = true;
	return SUBCA_OK;
}

static enum subca__pem_kind subca__pem_kind_of(const char *label)
{
	for (size_t i = 0; i < sizeof(subca__pem_labels) /
				       sizeof(subca__pem_labels[0]);
	     i++)
		if (strcmp(label, subca__pem_labels[i].label) == 0)
			return subca__pem_labels[i].kind;
	return SUBCA__PEM_OTHER;
}

/*
 * Strict base64 of a PEM body into a new buffer (caller frees *der with
 * subca_free). Only the base64 alphabet and whitespace are allowed: OpenSSL's
 * decoder would silently stop at a '-'.
 */
static subca_result subca__b64(const struct subca__pem_block *b, uint8_t **der,
			       size_t *len)
{
	EVP_ENCODE_CTX *ctx = NULL;
	uint8_t *out = NULL;
	int n = 0, fin = 0, ok;

	*der = NULL;
	for (size_t i = 0; i < b->body.len; i++)
		SUBCA_ENSURE(subca__is_b64(b->body.p[i]) ||
				     subca__is_space(b->body.p[i]),
			     SUBCA_E_GARBAGE,
			     "the %s PEM block (%s) is not valid base64 (bad "
			     "character at offset %zu of its body)",
			     b->nth, b->label, i);
	out = subca_malloc(b->body.len + 4);
	ctx = EVP_ENCODE_CTX_new();
	if (out == NULL || ctx == NULL) {
		subca_free(out);
		EVP_ENCODE_CTX_free(ctx);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory decoding base64");
	}
	EVP_DecodeInit(ctx);
	ok = EVP_DecodeUpdate(ctx, out, &n, b->body.p, (int)b->body.len) >= 0 &&
	     EVP_DecodeFinal(ctx, out + n, &fin) == 1;
	EVP_ENCODE_CTX_free(ctx);
	ERR_clear_error();
	if (!ok || n + fin <= 0) {
		subca_free(out);
		SUBCA_BAIL(SUBCA_E_GARBAGE,
			   "the %s PEM block (%s) is not valid base64%s", b->nth,
			   b->label, ok ? " (empty body)" : "");
	}
	*der = out;
	*len = (size_t)(n + fin);
	return SUBCA_OK;
}

/* Private keys hidden under another label (a key pasted as CERTIFICATE). */
static subca_result subca__refuse_key_pem(struct subca_slice in)
{
	struct subca__pem_scan s = {in, 0, 0};
	struct subca__pem_block b;
	bool found = true;

	while (found) {
		SUBCA_AUTOFREE uint8_t *der = NULL;
		size_t len = 0;

		subca_result rv = subca__pem_next(&s, &b, &found);

		/* too many blocks is refused up front, before any decoding;
		 * other structural errors are reported by the real pass */
		if (rv == SUBCA_E_TOO_MANY_CERTS)
			return rv;
		if (rv != SUBCA_OK)
			break;
		if (!found)
			break;
		if (subca__b64(&b, &der, &len) != SUBCA_OK) {
			subca_error_clear();
			continue;
		}
		if (subca__is_der_key(subca_slice_of(der, len)))
			return subca__key_found("a DER private key inside a "
						"PEM block");
	}
	subca_error_clear();
	return SUBCA_OK;
}

static subca_result subca__refuse_keys(struct subca_slice in)
{
	SUBCA_TRY(subca__refuse_key_text(in));
	if (in.p[0] == 0x30)
		SUBCA_TRY(subca__refuse_key_der(in));
	if (subca__has_pem(in))
		SUBCA_TRY(subca__refuse_key_pem(in));
	return SUBCA_OK;
}

/* ---- collecting certificates ---------------------------------------- */

/* Push `x` (ownership taken, freed on failure). */
static subca_result subca__push(STACK_OF(X509) *certs, X509 *x)
{
	if (sk_X509_num(certs) >= SUBCA_MAX_BUNDLE_CERTS) {
		X509_free(x);
		SUBCA_BAIL(SUBCA_E_TOO_MANY_CERTS,
			   "the input holds more than %d certificates (the "
			   "limit per bundle)",
			   SUBCA_MAX_BUNDLE_CERTS);
	}
	if (sk_X509_push(certs, x) <= 0) {
		X509_free(x);
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory");
	}
	return SUBCA_OK;
}

/* Name the PEM block in front of the current error's reason. */
static subca_result subca__prefix_error(subca_result rv,
					const struct subca__pem_block *b)
{
	char reason[SUBCA_ERROR_REASON_MAX];

	snprintf(reason, sizeof(reason), "%s", subca_error_reason());
	SUBCA_BAIL(rv, "the %s PEM block (%s): %s", b->nth, b->label, reason);
}

/* The certificates of a SignedData (signed or degenerate certs-only). */
static subca_result subca__p7_certs(PKCS7 *p7, const char *what,
				    STACK_OF(X509) *certs)
{
	STACK_OF(X509) *in = NULL;

	if (PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		in = p7->d.sign->cert;
	SUBCA_ENSURE(in != NULL && sk_X509_num(in) > 0,
		     SUBCA_E_NOT_CERTIFICATE,
		     "%s carries no certificates", what);
	for (int i = 0; i < sk_X509_num(in); i++) {
		X509 *x = sk_X509_value(in, i);

		SUBCA_OSSL(X509_up_ref(x) == 1, SUBCA_E_INTERNAL,
			   "cannot reference certificate");
		SUBCA_TRY(subca__push(certs, x));
	}
	return SUBCA_OK;
}

static subca_result subca__pkcs7_der(struct subca_slice der, const char *what,
				     STACK_OF(X509) *certs)
{
	SUBCA_AUTO(PKCS7) PKCS7 *p7 = NULL;

	SUBCA_TRY(subca_der_decode(SUBCA_DER_PKCS7, der, (void **)&p7));
	return subca__p7_certs(p7, what, certs);
}

/*
 * OpenSSL's TRUSTED CERTIFICATE is a certificate followed by its trust
 * settings; only the certificate is kept (subca does not honour local trust
 * settings of an input file).
 */
static subca_result subca__trusted_der(struct subca_slice der, X509 **x)
{
	struct subca_slice cert, aux;

	SUBCA_TRY(subca__der_first(der, &cert));
	if (cert.len < der.len) {
		aux = subca_slice_of(der.p + cert.len, der.len - cert.len);
		SUBCA_TRY(subca__der_first(aux, &aux));
		SUBCA_ENSURE(cert.len + aux.len == der.len,
			     SUBCA_E_TRAILING_DATA,
			     "trailing data after the trust settings");
	}
	return subca_der_decode(SUBCA_DER_X509, cert, (void **)x);
}

static subca_result subca__block_cert(const struct subca__pem_block *b,
				      struct subca_slice der, bool trusted,
				      STACK_OF(X509) *certs)
{
	X509 *x = NULL;
	subca_result rv;

	rv = trusted ? subca__trusted_der(der, &x)
		     : subca_der_decode(SUBCA_DER_X509, der, (void **)&x);
	if (rv == SUBCA_E_TRAILING_DATA)
		return subca__prefix_error(rv, b);
	SUBCA_ENSURE(rv == SUBCA_OK, SUBCA_E_GARBAGE,
		     "the %s PEM block (%s) does not hold a valid DER "
		     "certificate",
		     b->nth, b->label);
	return subca__push(certs, x);
}

static subca_result subca__csr_given(const char *where)
{
	subca_error_set(SUBCA_E_CSR_NOT_CERT, __FILE__, __LINE__,
			"%s is a certificate signing request (CSR), not a "
			"certificate: it must be signed first",
			where);
	subca_error_hint("sign the CSR with your root and give the signed "
			 "certificate (BEGIN CERTIFICATE)");
	return SUBCA_E_CSR_NOT_CERT;
}

static subca_result subca__cert_block(const struct subca__pem_block *b,
				      STACK_OF(X509) *certs)
{
	enum subca__pem_kind kind = subca__pem_kind_of(b->label);
	SUBCA_AUTOFREE uint8_t *der = NULL;
	char what[128];
	size_t len = 0;

	snprintf(what, sizeof(what), "the %s PEM block (%s)", b->nth, b->label);
	if (kind == SUBCA__PEM_CSR)
		return subca__csr_given(what);
	SUBCA_ENSURE(kind != SUBCA__PEM_OTHER, SUBCA_E_NOT_CERTIFICATE,
		     "%s is not a certificate; expected CERTIFICATE or PKCS7 "
		     "blocks",
		     what);
	SUBCA_TRY(subca__b64(b, &der, &len));
	if (kind == SUBCA__PEM_PKCS7) {
		subca_result rv = subca__pkcs7_der(subca_slice_of(der, len),
						   what, certs);

		SUBCA_ENSURE(rv != SUBCA_E_GARBAGE, SUBCA_E_GARBAGE,
			     "%s is not a valid DER PKCS#7 structure", what);
		if (rv == SUBCA_E_TRAILING_DATA)
			return subca__prefix_error(rv, b);
		return rv;
	}
	return subca__block_cert(b, subca_slice_of(der, len),
				 kind == SUBCA__PEM_TRUSTED_CERT, certs);
}

static subca_result subca__certs_pem(struct subca_slice in,
				     STACK_OF(X509) *certs)
{
	struct subca__pem_scan s = {in, 0, 0};
	struct subca__pem_block b;
	bool found;

	for (;;) {
		SUBCA_TRY(subca__pem_next(&s, &b, &found));
		if (!found)
			return SUBCA_OK;
		SUBCA_TRY(subca__cert_block(&b, certs));
	}
}

/* Try `kind` on `der`: OK, or false when it is not that kind at all. */
static subca_result subca__try_der(enum subca_der_kind kind,
				   struct subca_slice der, void **obj,
				   bool *is)
{
	subca_result rv = subca_der_decode(kind, der, obj);

	*is = rv == SUBCA_OK;
	if (rv == SUBCA_E_GARBAGE) {
		subca_error_clear();
		return SUBCA_OK;
	}
	return rv;
}

/* Refuse bytes after a DER object that decoded. */
static subca_result subca__der_trailing(struct subca_slice in,
					struct subca_slice first,
					const char *what)
{
	SUBCA_ENSURE(first.len == in.len, SUBCA_E_TRAILING_DATA,
		     "%zu bytes of trailing data after the DER %s",
		     in.len - first.len, what);
	return SUBCA_OK;
}

static subca_result subca__certs_der(struct subca_slice in,
				     STACK_OF(X509) *certs)
{
	struct subca_slice first;
	void *obj = NULL;
	bool is;

	SUBCA_TRY(subca__der_first(in, &first));
	SUBCA_TRY(subca__try_der(SUBCA_DER_X509, first, &obj, &is));
	if (is) {
		subca_result rv = subca__der_trailing(in, first, "certificate");

		if (rv != SUBCA_OK) {
			X509_free(obj);
			subca_error_hint("give several certificates as PEM or "
					 "as a PKCS#7 bundle");
			return rv;
		}
		return subca__push(certs, obj);
	}
	SUBCA_TRY(subca__try_der(SUBCA_DER_PKCS7, first, &obj, &is));
	if (is) {
		SUBCA_AUTO(PKCS7) PKCS7 *p7 = obj;

		SUBCA_TRY(subca__der_trailing(in, first, "PKCS#7 structure"));
		return subca__p7_certs(p7, "the DER PKCS#7 structure", certs);
	}
	SUBCA_TRY(subca__try_der(SUBCA_DER_X509_REQ, first, &obj, &is));
	if (is) {
		X509_REQ_free(obj);
		return subca__csr_given("the DER input");
	}
	SUBCA_BAIL(SUBCA_E_GARBAGE,
		   "DER input is not a certificate, a PKCS#7 bundle or a "
		   "certificate request");
}

/* Size, emptiness, private keys: the checks every parser starts with. */
static subca_result subca__precheck(struct subca_slice *in, size_t max,
				    const char *what)
{
	SUBCA_TRY(subca__check_size(*in, max, what));
	*in = subca__skip_bom(*in);
	SUBCA_TRY(subca__check_size(*in, max, what));
	return subca__refuse_keys(*in);
}

subca_result subca_certin_parse(struct subca_slice in, STACK_OF(X509) **out)
{
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *certs = NULL;

	*out = NULL;
	SUBCA_TRY(subca__precheck(&in, SUBCA_MAX_CERT_INPUT,
				  "certificate input"));
	certs = sk_X509_new_null();
	SUBCA_ENSURE(certs != NULL, SUBCA_E_NOMEM, "out of memory");
	if (subca__looks_der(in))
		SUBCA_TRY(subca__certs_der(in, certs));
	else if (subca__has_pem(in))
		SUBCA_TRY(subca__certs_pem(in, certs));
	else
		SUBCA_BAIL(SUBCA_E_GARBAGE,
			   "neither PEM nor DER: no BEGIN CERTIFICATE line and "
			   "not a DER certificate");
	SUBCA_ENSURE(sk_X509_num(certs) > 0, SUBCA_E_NOT_CERTIFICATE,
		     "the input holds no certificate");
	*out = subca_steal(&certs);
	return SUBCA_OK;
}

/* ---- CSRs ------------------------------------------------------------ */

static subca_result subca__not_csr(const char *where, const char *what)
{
	subca_error_set(SUBCA_E_BAD_CSR, __FILE__, __LINE__,
			"%s is %s, not a certificate signing request", where,
			what);
	subca_error_hint("give the CSR (BEGIN CERTIFICATE REQUEST)");
	return SUBCA_E_BAD_CSR;
}

static subca_result subca__csr_block(const struct subca__pem_block *b,
				     enum subca_der_kind dk, X509_REQ **req)
{
	enum subca__pem_kind kind = subca__pem_kind_of(b->label);
	SUBCA_AUTOFREE uint8_t *der = NULL;
	char what[128];
	size_t len = 0;
	subca_result rv;

	snprintf(what, sizeof(what), "the %s PEM block (%s)", b->nth, b->label);
	if (kind != SUBCA__PEM_CSR)
		return subca__not_csr(what, kind == SUBCA__PEM_OTHER
						    ? "another kind of object"
						    : "a certificate");
	SUBCA_ENSURE(*req == NULL, SUBCA_E_BAD_CSR,
		     "%s is a second certificate request; give exactly one",
		     what);
	SUBCA_TRY(subca__b64(b, &der, &len));
	rv = subca_der_decode(dk, subca_slice_of(der, len), (void **)req);
	if (rv == SUBCA_E_TRAILING_DATA)
		return subca__prefix_error(rv, b);
	SUBCA_ENSURE(rv == SUBCA_OK, SUBCA_E_GARBAGE,
		     "%s does not hold a valid DER certificate request", what);
	return SUBCA_OK;
}

static subca_result subca__csr_pem(struct subca_slice in,
				   enum subca_der_kind dk, X509_REQ **out)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
	struct subca__pem_scan s = {in, 0, 0};
	struct subca__pem_block b;
	bool found;

	for (;;) {
		SUBCA_TRY(subca__pem_next(&s, &b, &found));
		if (!found)
			break;
		SUBCA_TRY(subca__csr_block(&b, dk, &req));
	}
	SUBCA_ENSURE(req != NULL, SUBCA_E_BAD_CSR,
		     "no certificate request in the input");
	*out = subca_steal(&req);
	return SUBCA_OK;
}

static subca_result subca__csr_der(struct subca_slice in,
				   enum subca_der_kind dk, X509_REQ **out)
{
	struct subca_slice first;
	void *obj = NULL;
	bool is;

	SUBCA_TRY(subca__der_first(in, &first));
	SUBCA_TRY(subca__try_der(dk, first, &obj, &is));
	if (is) {
		subca_result rv = subca__der_trailing(in, first,
						      "certificate request");

		if (rv != SUBCA_OK) {
			X509_REQ_free(obj);
			return rv;
		}
		*out = obj;
		return SUBCA_OK;
	}
	SUBCA_TRY(subca__try_der(SUBCA_DER_X509, first, &obj, &is));
	if (is) {
		X509_free(obj);
		return subca__not_csr("the DER input", "a certificate");
	}
	SUBCA_TRY(subca__try_der(SUBCA_DER_PKCS7, first, &obj, &is));
	if (is) {
		PKCS7_free(obj);
		return subca__not_csr("the DER input", "a PKCS#7 structure");
	}
	SUBCA_BAIL(SUBCA_E_GARBAGE, "DER input is not a certificate request");
}

/* RFC 2986 4.2: the request is signed with the key it carries. */
static subca_result subca__csr_verify(X509_REQ *req)
{
	EVP_PKEY *pk = X509_REQ_get0_pubkey(req);

	ERR_clear_error();
	SUBCA_ENSURE(pk != NULL, SUBCA_E_BAD_CSR,
		     "the public key of the certificate request cannot be "
		     "decoded");
	if (X509_REQ_verify(req, pk) == 1)
		return SUBCA_OK;
	ERR_clear_error();
	SUBCA_BAIL(SUBCA_E_CSR_SIGNATURE,
		   "the certificate request's self-signature does not verify "
		   "with its own public key: it was altered or corrupted");
}

/* The request, PEM or DER, decoded as `dk`; its signature not checked. */
static subca_result subca__csr_read(struct subca_slice in,
				    enum subca_der_kind dk, X509_REQ **out)
{
	SUBCA_TRY(subca__precheck(&in, SUBCA_MAX_CSR_INPUT,
				  "certificate request input"));
	if (subca__looks_der(in))
		return subca__csr_der(in, dk, out);
	if (subca__has_pem(in))
		return subca__csr_pem(in, dk, out);
	SUBCA_BAIL(SUBCA_E_GARBAGE,
		   "neither PEM nor DER: no BEGIN CERTIFICATE REQUEST "
		   "line and not a DER certificate request");
}

subca_result subca_certin_parse_csr(struct subca_slice in, X509_REQ **out)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;

	*out = NULL;
	SUBCA_TRY(subca__csr_read(in, SUBCA_DER_X509_REQ, &req));
	SUBCA_TRY(subca__csr_verify(req));
	*out = subca_steal(&req);
	return SUBCA_OK;
}

/* ---- the CSR's key through a decoder kept per thread ------------------- */

/*
 * OpenSSL 3.0 builds a decoder context for every key it decodes (listing
 * every key manager and decoder under locks); a context made once per
 * thread and key type decodes each next key for a fraction of that. The
 * decoded key is still verified against the CSR's signature every time.
 */
static const struct {
	int nid;
	const char *type;
} subca__key_types[] = {
	{NID_X9_62_id_ecPublicKey, "EC"},
	{NID_rsaEncryption, "RSA"},
	{NID_rsassaPss, "RSA-PSS"},
	{NID_ED25519, "ED25519"},
	{NID_ED448, "ED448"},
};
#define SUBCA__KEY_TYPES \
	(sizeof(subca__key_types) / sizeof(subca__key_types[0]))

/*
 * EC keys on these curves skip the decoder too: a public key of the curve
 * kept per thread (the first one decoded) is duplicated, which copies the
 * curve with its precomputed values rather than building it from its
 * parameters, and given the request's point, which OpenSSL checks is on
 * the curve.
 */
static const int subca__ec_curves[] = {
	NID_X9_62_prime256v1,
	NID_secp384r1,
	NID_secp521r1,
};
#define SUBCA__EC_CURVES (sizeof(subca__ec_curves) / sizeof(subca__ec_curves[0]))

struct subca__key_decoders {
	OSSL_DECODER_CTX *ctx[SUBCA__KEY_TYPES];
	EVP_PKEY *out[SUBCA__KEY_TYPES]; /* where ctx[i] puts its key */
	EVP_PKEY *ec[SUBCA__EC_CURVES];	 /* public keys of each curve */
};

static pthread_key_t subca__decoders_key;
static pthread_once_t subca__decoders_once = PTHREAD_ONCE_INIT;
static bool subca__decoders_ok;

static void subca__decoders_free(void *p)
{
	struct subca__key_decoders *d = p;

	for (size_t i = 0; i < SUBCA__KEY_TYPES; i++) {
		OSSL_DECODER_CTX_free(d->ctx[i]);
		EVP_PKEY_free(d->out[i]);
	}
	for (size_t i = 0; i < SUBCA__EC_CURVES; i++)
		EVP_PKEY_free(d->ec[i]);
	subca_free(d);
}

static void subca__decoders_init(void)
{
	subca__decoders_ok = pthread_key_create(&subca__decoders_key,
						subca__decoders_free) == 0;
}

/* This thread's decoders and keys, made on first use; NULL if none. */
static struct subca__key_decoders *subca__decoders(void)
{
	struct subca__key_decoders *d;

	pthread_once(&subca__decoders_once, subca__decoders_init);
	if (!subca__decoders_ok)
		return NULL;
	d = pthread_getspecific(subca__decoders_key);
	if (d == NULL) {
		d = subca_calloc(1, sizeof(*d));
		if (d == NULL || pthread_setspecific(subca__decoders_key, d)) {
			subca_free(d);
			return NULL;
		}
	}
	return d;
}

/* This thread's decoder for key type i, made on first use; NULL if none. */
static OSSL_DECODER_CTX *subca__decoder(size_t i, EVP_PKEY ***slot)
{
	struct subca__key_decoders *d = subca__decoders();

	if (d == NULL)
		return NULL;
	if (d->ctx[i] == NULL)
		d->ctx[i] = OSSL_DECODER_CTX_new_for_pkey(
			&d->out[i], "DER", "SubjectPublicKeyInfo",
			subca__key_types[i].type, EVP_PKEY_PUBLIC_KEY, NULL,
			NULL);
	*slot = &d->out[i];
	return d->ctx[i];
}

/* Decode SubjectPublicKeyInfo `der` with this thread's decoder for key
 * type i into *key; NULL when it does not decode. */
static EVP_PKEY *subca__spki_decode(size_t i, const unsigned char *der,
				    size_t len)
{
	EVP_PKEY **slot = NULL;
	OSSL_DECODER_CTX *dctx = subca__decoder(i, &slot);

	if (dctx == NULL)
		return NULL;
	EVP_PKEY_free(*slot);
	*slot = NULL;
	if (OSSL_DECODER_from_data(dctx, &der, &len) != 1 || len != 0) {
		EVP_PKEY_free(*slot);
		*slot = NULL;
	}
	ERR_clear_error();
	return subca_steal(slot);
}

/* This thread's slot for keys of the named curve in `alg` (an EC
 * SubjectPublicKeyInfo's algorithm), or NULL. */
static EVP_PKEY **subca__ec_slot(const X509_ALGOR *alg)
{
	struct subca__key_decoders *d;
	const void *pval;
	int ptype, nid;

	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_OBJECT) /* explicit parameters: the usual way */
		return NULL;
	nid = OBJ_obj2nid(pval);
	for (size_t i = 0; i < SUBCA__EC_CURVES; i++) {
		if (subca__ec_curves[i] != nid)
			continue;
		d = subca__decoders();
		return d ? &d->ec[i] : NULL;
	}
	return NULL;
}

/* `xpk` decoded with this thread's decoder for key type i, or NULL. */
static EVP_PKEY *subca__pubkey_decode(size_t i, X509_PUBKEY *xpk)
{
	unsigned char *der = NULL;
	EVP_PKEY *key = NULL;
	int n = i2d_X509_PUBKEY(xpk, &der);

	if (n > 0)
		key = subca__spki_decode(i, der, (size_t)n);
	OPENSSL_free(der);
	ERR_clear_error();
	return key;
}

/* An EC key: this thread's key of its curve with the request's point,
 * else decoded (and kept as that key); NULL when neither works. */
static EVP_PKEY *subca__ec_key(size_t i, X509_PUBKEY *xpk)
{
	const unsigned char *pt = NULL;
	X509_ALGOR *alg = NULL;
	EVP_PKEY **slot = NULL, *key = NULL;
	int ptlen = 0;

	if (X509_PUBKEY_get0_param(NULL, &pt, &ptlen, &alg, xpk) == 1)
		slot = subca__ec_slot(alg);
	if (slot != NULL && *slot != NULL && ptlen > 0) {
		key = EVP_PKEY_dup(*slot);
		if (key != NULL && EVP_PKEY_set1_encoded_public_key(
					   key, pt, (size_t)ptlen) == 1)
			return key;
		EVP_PKEY_free(key);
		ERR_clear_error();
		return NULL; /* the usual way names what is wrong */
	}
	key = subca__pubkey_decode(i, xpk);
	if (key != NULL && slot != NULL)
		*slot = EVP_PKEY_dup(key);
	ERR_clear_error();
	return key;
}

/*
 * The key of a request decoded as SUBCA_DER_X509_REQ_KEYLESS, or NULL
 * when it has no decoder kept here or does not decode that way: then the
 * caller parses the usual way, which also names what is wrong.
 */
static EVP_PKEY *subca__csr_key(X509_REQ *req)
{
	X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(req);
	ASN1_OBJECT *alg = NULL;
	size_t i;
	int nid;

	if (xpk == NULL ||
	    X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xpk) != 1)
		return NULL;
	nid = OBJ_obj2nid(alg);
	for (i = 0; i < SUBCA__KEY_TYPES && subca__key_types[i].nid != nid; i++)
		;
	if (i == SUBCA__KEY_TYPES)
		return NULL;
	if (nid == NID_X9_62_id_ecPublicKey)
		return subca__ec_key(i, xpk);
	return subca__pubkey_decode(i, xpk);
}

/* Verify with the key decoded here (the request holds none). */
static subca_result subca__csr_verify_with(X509_REQ *req, EVP_PKEY *key)
{
	ERR_clear_error();
	if (X509_REQ_verify_ex(req, key, NULL, NULL) == 1)
		return SUBCA_OK;
	ERR_clear_error();
	SUBCA_BAIL(SUBCA_E_CSR_SIGNATURE,
		   "the certificate request's self-signature does not verify "
		   "with its own public key: it was altered or corrupted");
}

subca_result subca_certin_parse_csr_key(struct subca_slice in, X509_REQ **out,
					EVP_PKEY **key)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *k = NULL;

	*out = NULL;
	*key = NULL;
	SUBCA_TRY(subca__csr_read(in, SUBCA_DER_X509_REQ_KEYLESS, &req));
	k = subca__csr_key(req);
	if (k == NULL) {
		/* a key type without a kept decoder, or a key that does not
		 * decode that way: the usual way, which names the problem */
		X509_REQ_free(subca_steal(&req));
		SUBCA_TRY(subca_certin_parse_csr(in, &req));
		/* parse_csr verified it with this very key */
		*key = X509_REQ_get_pubkey(req); /* a new reference */
		SUBCA_ENSURE(*key != NULL, SUBCA_E_BAD_CSR,
			     "the public key of the certificate request cannot "
			     "be decoded");
		*out = subca_steal(&req);
		return SUBCA_OK;
	}
	SUBCA_TRY(subca__csr_verify_with(req, k));
	*out = subca_steal(&req);
	*key = subca_steal(&k);
	return SUBCA_OK;
}
