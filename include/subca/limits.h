/*
 * Every size cap in subca lives here, so that each one is tested at the
 * limit and one past it, and so that nobody invents a second value.
 */
#ifndef SUBCA_LIMITS_H
#define SUBCA_LIMITS_H

/* A certificate file or upload (root, signed intermediate, bundle). */
#define SUBCA_MAX_CERT_INPUT (1024u * 1024u)
/* Certificates in one bundle. */
#define SUBCA_MAX_BUNDLE_CERTS 16
/* A CSR file or upload. */
#define SUBCA_MAX_CSR_INPUT (64u * 1024u)
/* A private key PEM file for the offline signer. */
#define SUBCA_MAX_KEY_INPUT (64u * 1024u)
/* An encrypted key blob in the key store. */
#define SUBCA_MAX_KEY_BLOB (64u * 1024u)
/* A passphrase file. */
#define SUBCA_MAX_PASSPHRASE 4096u
/* Authority name and subdomain: one DNS label. */
#define SUBCA_MAX_LABEL 63
/* A subject attribute value given on the command line. */
#define SUBCA_MAX_DN_VALUE 256
/* Name-constraint and SAN entries per request. */
#define SUBCA_MAX_NAMES 64
/* A URL (CRL distribution point, OCSP responder). */
#define SUBCA_MAX_URL 1024
/* Lifetime caps in days. */
#define SUBCA_MAX_INTERMEDIATE_DAYS (20 * 366)
#define SUBCA_MAX_LEAF_DAYS 3660
#define SUBCA_MAX_PATHLEN 16
/* The software key store's keystore.conf. */
#define SUBCA_MAX_KEYSTORE_CONF 4096u

/* PEM blocks in one certificate or CSR input (each may be a PKCS#7). */
#define SUBCA_MAX_PEM_BLOCKS 64

/* Issue 3 (store + credentials). */
/* Records in one page of a list (certificates). */
#define SUBCA_MAX_LIST_PAGE 1000
/* A one-time token id (JWT "jti"). */
#define SUBCA_MAX_JTI 256
/* An admin token's description. */
#define SUBCA_MAX_DESCRIPTION 256
/* A provisioner's public JWK file (JSON or PEM) and stored policy text. */
#define SUBCA_MAX_JWK_INPUT (16u * 1024u)
#define SUBCA_MAX_POLICY (64u * 1024u)

/* HTTPS server (src/server). A request body, unless its route allows more;
 * certificate uploads allow SUBCA_MAX_CERT_INPUT. */
#define SUBCA_MAX_REQUEST_BODY (64u * 1024u)
/* The request line plus headers. */
#define SUBCA_MAX_REQUEST_HEADERS (16u * 1024u)
/* A request path (without the query). */
#define SUBCA_MAX_REQUEST_PATH 2048u
/* A response body the server builds in memory. */
#define SUBCA_MAX_RESPONSE_BODY (8u * 1024u * 1024u)
/* Worker threads and concurrent connections. */
#define SUBCA_MAX_WORKERS 256
#define SUBCA_MAX_CONNECTIONS 100000
/* Intermediates whose loaded key and chain a server keeps (issuer_cache.h);
 * the least recently used goes first. */
#define SUBCA_MAX_CACHED_ISSUERS 64

/* JOSE (src/server/jose.c): a compact JWS, its decoded protected header,
 * and the largest RSA modulus a JWK may carry (JWK text: SUBCA_MAX_JWK_INPUT). */
#define SUBCA_MAX_JWS 8192u
#define SUBCA_MAX_JWS_HEADER 1024u
#define SUBCA_MAX_JWK_RSA_BITS 8192

/* Rotation: how far ahead an imported intermediate may be scheduled
 * (seconds), what the external signer hook may write on stdout (the signed
 * certificate) and how much of its stderr is kept for the audit log and
 * the log, its command line, and its timeout in seconds. */
#define SUBCA_MAX_ACTIVATE_DELAY (366 * 86400)
#define SUBCA_MAX_HOOK_OUTPUT (1024u * 1024u)
#define SUBCA_MAX_HOOK_STDERR 2048u
#define SUBCA_MAX_HOOK_COMMAND 4096u
#define SUBCA_MAX_HOOK_TIMEOUT 3600
/* Revocation publishing (CRL and OCSP). An OCSP request (RFC 5019 keeps
 * them far smaller; a nonce is at most 32 bytes, RFC 8954), and the
 * certificates one request may ask about (RFC 5019 2.1.1: one is enough). */
#define SUBCA_MAX_OCSP_REQUEST 4096u
#define SUBCA_MAX_OCSP_CERTS 4
#define SUBCA_MAX_OCSP_NONCE 32
/* A CRL the server keeps and serves (about 40 bytes per entry: room for
 * well over 1 000 000 revoked certificates). */
#define SUBCA_MAX_CRL (256u * 1024u * 1024u)
/* ACME challenge validation (src/server/acme/validate*.c): a challenge
 * token (base64url), a key authorization (token "." thumbprint), an
 * http-01 response body (RFC 8555 8.3 sets no cap; 8 KiB is ample for a
 * key authorization and its whitespace), redirects followed for http-01,
 * and a DNS response to the dns-01 TXT query. */
#define SUBCA_MAX_ACME_TOKEN 128u
#define SUBCA_MAX_ACME_KEY_AUTHZ 256u
#define SUBCA_MAX_ACME_HTTP01_BODY 8192u
#define SUBCA_MAX_ACME_REDIRECTS 10
#define SUBCA_MAX_ACME_DNS_ANSWER 16384u
/* Re-certified intermediates: the alternate chains one leaf is offered
 * with (RFC 8555 7.4.2 Link rel="alternate"); older ones are not offered. */
#define SUBCA_MAX_ALT_CHAINS 4

#endif
