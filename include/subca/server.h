/*
 * `subca serve`: the HTTPS server. Worker threads each run their own libevent
 * loop with their own listening socket (SO_REUSEPORT), their own store
 * connection and a share of one key store; one TLS context serves them all
 * and is swapped on SIGHUP. Routing, limits and authentication are checked
 * centrally from one route table before any handler runs (src/server).
 */
#ifndef SUBCA_SERVER_H
#define SUBCA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "subca/error.h"
#include "subca/keystore.h"

#define SUBCA_SERVER_DEFAULT_LISTEN "127.0.0.1:8443"
#define SUBCA_SERVER_DEFAULT_MAX_CONNECTIONS 1024
#define SUBCA_SERVER_DEFAULT_HEADER_TIMEOUT 10
#define SUBCA_SERVER_DEFAULT_IDLE_TIMEOUT 60
/* Seconds after a revocation before CRLs are rebuilt: a burst of
 * revocations costs one build. */
#define SUBCA_SERVER_DEFAULT_CRL_DELAY 2
/* Lifetime of the certificate the server issues itself from its TLS
 * authority; it is renewed once two thirds of it have passed. */
#define SUBCA_SERVER_TLS_DAYS 30

struct subca_server_config {
	/* The data directory (subca.db, the key store). */
	const char *data_dir;
	/* The key store, opened by the caller (borrowed, used read-only by
	 * every worker), or NULL: the server opens the one in data_dir with
	 * these passphrase bytes (NULL in development key-file mode). */
	struct subca_keystore *keys;
	const char *passphrase;
	size_t passphrase_len;

	/* "127.0.0.1:8443", "[::1]:8443" (numeric; port 0 picks a free one).
	 * NULL means SUBCA_SERVER_DEFAULT_LISTEN. */
	const char *listen;
	/* With it, SUB.base_domain reaches the authority whose subdomain is
	 * SUB (besides /a/NAME/ on any host). Optional. */
	const char *base_domain;
	/* Worker threads; 0 = the number of online CPUs. */
	int workers;

	/* The server's own certificate: PEM files (chain after the leaf) ... */
	const char *tls_cert;
	const char *tls_key;
	/* ... or an active authority that issues it (for the listen host,
	 * localhost, 127.0.0.1, ::1, base_domain and *.base_domain;
	 * SUBCA_SERVER_TLS_DAYS days, renewed at two thirds). That authority
	 * is then reserved for this: its per-authority endpoints answer 404. */
	const char *tls_authority;
	/* With tls_authority: write its root certificate (PEM) here for
	 * clients to trust. Optional. */
	const char *tls_root_out;
	/* Optional PEM file of CAs whose client certificates (TLS client
	 * authentication) are global admin credentials, like a global admin
	 * token. NULL: admin access by token only. */
	const char *admin_client_ca;

	/* Optional plain-HTTP listener ("127.0.0.1:8080", a port required)
	 * that serves only what is public by nature and fetched over http:
	 * per authority /crl/ID.crl, /ocsp, /roots and /chain. */
	const char *http_listen;
	/* Optional base URL clients reach this server at
	 * ("http://ca.example"): leaves of intermediates without their own
	 * CRL/OCSP URL point at BASE/a/NAME/crl/ID.crl and BASE/a/NAME/ocsp. */
	const char *public_url;
	/* Seconds a CRL is valid (its nextUpdate; 0: 24 h; it is rebuilt
	 * when three quarters have passed) and seconds after a revocation
	 * before the authority's CRLs are rebuilt (0: the default). */
	int64_t crl_validity;
	int crl_rebuild_delay;
	/* ACME challenge validation: where the checks connect (0 = the RFC
	 * ports 80 and 443; tests pick others) and the DNS server dns-01
	 * asks ("IP" or "IP:PORT"; NULL = the system's resolver). */
	int acme_http_port;
	int acme_tls_alpn_port;
	const char *acme_resolver;
	/* Tests: connect there instead of resolving the identifier (which
	 * still goes in Host, SNI and the DNS question). NULL = resolve. */
	const char *acme_connect_host;

	/* Limits; 0 takes the default above. */
	int max_connections;
	int header_timeout; /* seconds to send a complete request */
	int idle_timeout;   /* seconds a kept-alive connection may idle */

	/* Seconds between the rotation thread's checks (scheduled
	 * activations, unattended rotation); 0: 60. */
	int rotation_interval;
};

/*
 * Run the server until SIGTERM or SIGINT: bind the listening sockets, print
 * "subca: listening on https://ADDR/" on stderr once they accept, serve,
 * then stop accepting, let in-flight requests finish (at most 10 seconds)
 * and return SUBCA_OK. SIGHUP reloads the TLS certificate (files re-read,
 * or re-issued from the TLS authority). Fails before serving with
 * SUBCA_E_USAGE (bad configuration), SUBCA_E_IO (address in use, files),
 * SUBCA_E_NOT_ACTIVE (TLS authority not active), store and key-store
 * errors.
 */
SUBCA_MUST_CHECK subca_result
subca_server_run(const struct subca_server_config *cfg);

#endif
