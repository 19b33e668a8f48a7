/*
 * Shared fixtures for the unit tests: keys and certificates made in memory
 * with OpenSSL, at a fixed "now", so that tests never expire.
 */
#ifndef SUBCA_TEST_HELPERS_H
#define SUBCA_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "subca/buf.h"
#include "subca/error.h"
#include "subca/ossl.h"

/* 2026-01-01T00:00:00Z: the "now" every unit test uses. */
#define TH_NOW ((time_t)1767225600)
#define TH_DAY ((long)86400)

/* A new key: "ec-p256", "ec-p384", "rsa-1024", "rsa-2048", "rsa-4096", "ed25519". */
EVP_PKEY *th_key(const char *type);

struct th_ext {
	const char *name;  /* OpenSSL config name: "basicConstraints" */
	const char *value; /* "critical,CA:TRUE,pathlen:0" */
};

struct th_cert_opts {
	const char *subject;   /* "/CN=Test Root/O=Example", required */
	long not_before;       /* seconds relative to TH_NOW; default 0 means -1 day */
	long not_after;        /* seconds relative to TH_NOW; default 0 means +3650 days */
	int v1;                /* 1: X.509 v1, no extensions */
	const char *md;        /* "SHA256" (default), "SHA1", "MD5", NULL for Ed25519 */
	const struct th_ext *exts; /* terminated by {NULL, NULL}; NULL = CA defaults */
	long serial;           /* default 1 */
};

/*
 * A certificate for `key` signed by `issuer_key` (self-signed when `issuer`
 * is NULL). With exts == NULL it gets root-CA defaults: critical
 * CA:TRUE, keyUsage keyCertSign+cRLSign, subject key identifier.
 */
X509 *th_cert(const struct th_cert_opts *o, EVP_PKEY *key, X509 *issuer,
	      EVP_PKEY *issuer_key);

/* PEM text of a certificate (caller frees with free()). */
char *th_pem(X509 *x);
/* DER bytes (caller frees with free()). */
unsigned char *th_der(X509 *x, size_t *len);

/* Assert a failed result carries `code` and a reason containing `needle`. */
#define th_assert_error(rv, code, needle)                                   \
	do {                                                                \
		subca_result th__rv = (rv);                                 \
		if (th__rv != (code) ||                                     \
		    strstr(subca_error_reason(), (needle)) == NULL)         \
			fail_msg("expected %s containing \"%s\", got %s: %s", \
				 subca_error_name(code), (needle),          \
				 subca_error_name(th__rv),                  \
				 subca_error_reason());                     \
	} while (0)

/* A fresh temporary directory (caller removes with th_rmrf). */
char *th_tmpdir(void);
void th_rmrf(const char *path);

#endif
