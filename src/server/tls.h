/*
 * The server's shared TLS context (tls.c), used by server.c.
 */
#ifndef SUBCA_SERVER_TLS_H
#define SUBCA_SERVER_TLS_H

#include <pthread.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "subca/authority.h"
#include "subca/error.h"

/* What to load: files, or a certificate issued from `authority`. */
struct subca__tls_params {
	const char *cert, *key;
	const char *authority;
	const struct subca_ctx *ctx; /* store and keys, for authority */
	const char *listen_host;     /* names of the issued certificate */
	const char *base_domain;
	const char *root_out; /* write the authority's root here, or NULL */
};

/* The current certificate, for logs and renewal. */
struct subca__tls_info {
	int64_t not_before, not_after;
	char serial[80];
};

struct subca__tls {
	pthread_mutex_t mu;
	SSL_CTX *ctx; /* one reference held here; each SSL holds its own */
	struct subca__tls_info info;
};

SUBCA_MUST_CHECK subca_result subca__tls_init(struct subca__tls *t);
void subca__tls_cleanup(struct subca__tls *t);

/*
 * Build a new context (TLS 1.2+, AEAD suites, no compression or
 * renegotiation, ALPN http/1.1, optional client certificate) with its
 * certificate, and swap it in. On failure the current context stays.
 * SUBCA_E_IO for unreadable files, SUBCA_E_KEY_MISMATCH, the errors of
 * subca_authority_issue, SUBCA_E_CRYPTO.
 */
SUBCA_MUST_CHECK subca_result subca__tls_load(struct subca__tls *t,
					      const struct subca__tls_params *p);

/* A new server-side SSL on the current context, or NULL. */
SSL *subca__tls_ssl_new(struct subca__tls *t);
struct subca__tls_info subca__tls_info(struct subca__tls *t);

#endif
