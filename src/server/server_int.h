/*
 * Inside the server: the request handlers see, the route table, the central
 * checks, the authentication hook, metrics and logs. Nothing here names
 * libevent: handlers and their tests work on `struct subca_request` alone;
 * server.c turns libevent requests into it and back.
 *
 * Adding an endpoint: write a handler
 *     subca_result h(struct subca_request *req)
 * that reads req (path parameters, body, req->authority...) and fills the
 * response with subca_response_json / subca_response_bytes (or fails with
 * a subca error, which becomes an RFC 7807 problem), then add one line to
 * the table in routes.c. Method, body size and authentication are checked
 * before the handler runs.
 */
#ifndef SUBCA_SERVER_INT_H
#define SUBCA_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "subca/authority.h"
#include "subca/buf.h"
#include "subca/error.h"
#include "subca/limits.h"
#include "subca/server.h"
#include "subca/store.h"

/* ---- route table ------------------------------------------------------ */

enum subca_route_scope {
	SUBCA_SCOPE_SERVER,    /* /healthz, /metrics, the admin API */
	SUBCA_SCOPE_AUTHORITY, /* SUB.BASE/... and /a/NAME/... */
};

/* Which credential a route needs; checked by the auth hook. */
enum subca_auth_kind {
	SUBCA_CRED_NONE = 0,	 /* public */
	/* public by nature and fetched over plain http too (CRL, OCSP, CA
	 * certificates; RFC 5019, RFC 5280 4.2.1.13): the only routes the
	 * plain-HTTP listener (serve --http-listen) serves */
	SUBCA_CRED_PUBLIC_HTTP,
	SUBCA_CRED_ADMIN,	 /* an admin credential covering req->authority
				  * (any admin credential on server routes) */
	SUBCA_CRED_ADMIN_GLOBAL, /* an admin credential for every authority */
	SUBCA_CRED_PROVISIONER,	 /* a provisioner of req->authority */
};

struct subca_request;
typedef subca_result (*subca_handler_fn)(struct subca_request *req);
/* A handler's second half (see subca_request_record): `rv` is the
 * record's result, with its reason as the current error when it failed;
 * return as a handler does. */
typedef subca_result (*subca_resume_fn)(struct subca_request *req,
					subca_result rv, void *arg);

struct subca_route {
	const char *method;  /* "GET", "POST", ... (exact, upper case) */
	/* Relative to the API root ("/chain", "/admin/authorities/{name}"):
	 * segments match literally, "{x}" matches one non-empty segment,
	 * captured in order into req->match.params; a last "{x...}" matches
	 * the non-empty rest of the path, slashes included. For authority
	 * routes the root is SUB.BASE/ or /a/NAME/. */
	const char *pattern;
	enum subca_route_scope scope;
	enum subca_auth_kind auth;
	size_t max_body; /* 0 = SUBCA_MAX_REQUEST_BODY */
	subca_handler_fn handler;
};

/* The table (routes.c). */
extern const struct subca_route subca__routes[];
extern const size_t subca__nroutes;

/* ---- router ------------------------------------------------------------ */

#define SUBCA_ROUTE_MAX_PARAMS 4
#define SUBCA_ROUTE_ALLOW_MAX 64
#define SUBCA_HOST_MAX 255

enum subca_route_via {
	SUBCA_VIA_NONE = 0, /* server scope */
	SUBCA_VIA_HOST,	    /* SUB.BASE_DOMAIN: match.authority is SUB */
	SUBCA_VIA_PATH,	    /* /a/NAME/...: match.authority is NAME */
};

struct subca_router {
	const struct subca_route *routes;
	size_t n;
	const char *base_domain; /* lower case, or NULL: no host routing */
};

struct subca_route_match {
	const struct subca_route *route; /* NULL unless matched */
	enum subca_route_via via;
	char authority[SUBCA_MAX_LABEL + 1]; /* label from the host or path */
	char host[SUBCA_HOST_MAX + 1];	     /* lower case, without port */
	const char *rel;		     /* path below the API root */
	struct subca_slice params[SUBCA_ROUTE_MAX_PARAMS]; /* into the path */
	size_t nparams;
	char allow[SUBCA_ROUTE_ALLOW_MAX]; /* "GET, POST" when 405 */
};

/*
 * Find the route for `method` `path` on `host` (the Host header, may carry
 * a port, may be NULL). Authority routes are reached by host when host is
 * SUB.base_domain and by path under /a/NAME/; everything else is server
 * scope. On success m->route is the route; m->via and m->authority say how
 * an authority was named (also on failure, so the caller can answer "no
 * such authority" first). Errors: SUBCA_E_INVALID_ARGUMENT for a malformed
 * path or Host; SUBCA_E_NOT_FOUND when nothing matches (or the host or
 * /a/ segment is not an authority label); SUBCA_E_METHOD_NOT_ALLOWED when
 * the path matches with other methods (m->allow lists them).
 */
SUBCA_MUST_CHECK subca_result subca__router_match(const struct subca_router *r,
						  const char *method,
						  const char *host,
						  const char *path,
						  struct subca_route_match *m);

/* A route's label in metrics and logs: "/healthz", "/a/{authority}/chain". */
void subca__route_label(const struct subca_route *rt, char *buf, size_t len);

/* ---- authentication hook ----------------------------------------------- */

/*
 * Filled in by the credential code (admin tokens, mTLS, provisioners).
 * check() runs for every route whose auth kind is not SUBCA_CRED_NONE
 * or SUBCA_CRED_PUBLIC_HTTP,
 * after routing and the body cap and before the handler, with
 * req->authority resolved (NULL on server routes). On success it may set
 * req->principal (released by release()) and req->ctx.actor (a string that
 * lives as long as the request: use req->actor_buf). Fail with
 * SUBCA_E_AUTH (401: no or bad credential) or SUBCA_E_POLICY (403: the
 * credential does not cover this authority or route).
 */
struct subca_auth_ops {
	subca_result (*check)(struct subca_request *req,
			      enum subca_auth_kind kind);
	void (*release)(struct subca_request *req);
};

/* The hook in use (auth.c); NULL until credentials exist, so that every
 * authenticated route answers 401 "authentication is not configured". */
extern const struct subca_auth_ops *const subca__auth_ops;

/*
 * Provisioner credentials (auth_prov.c), called by the hook for
 * SUBCA_CRED_PROVISIONER routes: SUBCA_OK with req->principal and
 * req->ctx.actor set, or SUBCA_E_AUTH / SUBCA_E_POLICY. A principal it sets
 * is released by subca__auth_provisioner_release (the hook's release()
 * calls it on provisioner routes).
 */
SUBCA_MUST_CHECK subca_result subca__auth_provisioner(struct subca_request *req);
void subca__auth_provisioner_release(struct subca_request *req);

/* ---- the request a handler sees ---------------------------------------- */

struct subca_server_env;

#define SUBCA_MAX_RESPONSE_HEADERS 8

struct subca_header {
	char *name;
	char *value;
};

struct subca_request {
	/* What arrived; borrowed, valid while the handler runs. */
	const char *method;
	const char *path;	 /* without the query, not decoded */
	const char *query;	 /* raw query string or NULL; never logged */
	const char *host_header; /* as sent, or NULL */
	struct subca_slice body;
	X509 *peer_cert;   /* TLS client certificate (accepted, NOT verified:
			    * check it against what the route trusts), or NULL */
	const char *peer;  /* "127.0.0.1:51234" */
	char id[17];	   /* request id, also sent as X-Request-Id */
	/* Header lookup (case-insensitive); NULL when absent. */
	const char *(*header_fn)(const struct subca_request *r,
				 const char *name);
	void *transport; /* server.c's request, for header_fn */

	/* Routing, filled before the handler runs. */
	struct subca_route_match match;
	const struct subca_route *route;
	const char *authority; /* resolved authority name, NULL in server scope */
	struct subca_authority_rec authority_rec; /* its record (zero if none) */

	/* The worker's resources: ctx.store is this worker's store
	 * connection, ctx.keys the shared key store, ctx.now the request's
	 * time, ctx.actor "anonymous" until the auth hook sets it. */
	struct subca_ctx ctx;
	const struct subca_server_env *env;
	void *principal; /* set by the auth hook */
	char actor_buf[128];

	/* The response. */
	int status;		  /* 200 unless set */
	const char *content_type; /* static string */
	struct subca_buf out;	  /* body, at most SUBCA_MAX_RESPONSE_BODY */
	struct subca_header headers[SUBCA_MAX_RESPONSE_HEADERS];
	size_t nheaders;
	bool close; /* ask for Connection: close */
	bool plain; /* arrived on the plain-HTTP listener */
	subca_result error; /* the error answered, SUBCA_OK if none */

	/* Answering later (subca_request_record): the transport's state of a
	 * request that can wait (NULL: this one cannot), and the handler's
	 * second half while the record is being committed. */
	void *owner;
	bool deferred;
	subca_resume_fn resume;
	void *resume_arg;
};

/* Start a request (zeroes it, sets status 200, actor "anonymous"). */
void subca_request_init(struct subca_request *r,
			const struct subca_server_env *env,
			struct subca_store *store,
			struct subca_keystore *keys, time_t now);
/* Free what the pipeline and handlers attached. */
void subca_request_cleanup(struct subca_request *r);

/* Header lookup through the transport; NULL when absent. */
const char *subca_request_header(const struct subca_request *r,
				 const char *name);
/* Path parameter i as a C string in buf (SUBCA_E_TOO_LARGE past len-1,
 * SUBCA_E_NOT_FOUND when there is no such parameter). */
SUBCA_MUST_CHECK subca_result subca_request_param(const struct subca_request *r,
						  size_t i, char *buf,
						  size_t len);

/*
 * Record a certificate durably, then run `resume` to answer: the way a
 * handler issues without holding its worker while the disk syncs. When
 * the transport can answer later (env->defer and req->owner set), the
 * record joins the store's next group commit, req->deferred is set and
 * SUBCA_OK returned: the handler returns that at once, and `resume` runs
 * on the same worker thread once the commit returned, before the answer
 * is sent (nothing is answered before the record is durable). Otherwise
 * the record is written now and `resume` runs before this returns, with
 * its result returned. `rec` and `audit` must stay valid until `resume`
 * ran; `resume` runs exactly once and frees what `arg` holds.
 */
SUBCA_MUST_CHECK subca_result subca_request_record(
	struct subca_request *req, struct subca_cert_rec *rec,
	const struct subca_audit_rec *audit, subca_resume_fn resume,
	void *arg);
/*
 * The transport, on the request's own thread, once the deferred record's
 * commit returned with `rv` and `reason`: run the handler's second half;
 * its failure becomes a problem response as in subca__pipeline_run.
 */
void subca__pipeline_resume(struct subca_request *req, subca_result rv,
			    const char *reason);

/* Responses: each replaces any body written before. */
SUBCA_MUST_CHECK subca_result subca_response_bytes(struct subca_request *r,
						   int status,
						   const char *content_type,
						   const void *p, size_t n);
/* JSON (takes over `v`, even on failure), "application/json". */
SUBCA_MUST_CHECK subca_result subca_response_json(struct subca_request *r,
						  int status, json_t *v);
/* An extra response header (copied); SUBCA_E_TOO_LARGE past
 * SUBCA_MAX_RESPONSE_HEADERS. */
SUBCA_MUST_CHECK subca_result subca_response_header(struct subca_request *r,
						    const char *name,
						    const char *value);
/*
 * Answer with an RFC 7807 problem for `code` and the current error reason:
 * {"type": "urn:subca:error:<name lower case>", "title", "status",
 * "detail", and "hint" when one is set}, "application/problem+json",
 * status subca__problem_status(code). Never fails (falls back to a fixed
 * body when out of memory).
 */
void subca_response_problem(struct subca_request *r, subca_result code);

/* The HTTP status of a code: subca_error_http_status() except 405 for
 * METHOD_NOT_ALLOWED, 503 for OVERLOADED, 408 for REQUEST_TIMEOUT, 431 for
 * HEADERS_TOO_LARGE and 501 for NOT_IMPLEMENTED. */
int subca__problem_status(subca_result code);

/* Render a problem body into `out` (initialised here). */
SUBCA_MUST_CHECK subca_result subca__problem_render(subca_result code,
						    const char *detail,
						    const char *hint,
						    struct subca_buf *out);

/* Copy `in` into `out` (size len) keeping printable ASCII and replacing
 * anything else by '?', so that untrusted bytes can go into JSON and logs. */
void subca__printable(const char *in, size_t n, char *out, size_t len);

/* ---- the environment shared by every worker (read-only) ---------------- */

struct subca_server_env {
	struct subca_router router;
	const struct subca_auth_ops *auth; /* NULL: authentication not set up */
	const char *tls_authority;	   /* hidden from tenant routes */
	/* Look up the authority the route match names (by name or by
	 * subdomain) into req->authority_rec; SUBCA_E_NOT_FOUND naming it.
	 * Default subca__authority_resolve; tests may replace it. */
	subca_result (*resolve)(struct subca_request *req);
	/* Revocation publishing (CRL rebuilds, OCSP cache; api_revocation.c),
	 * or NULL: CRLs are built on request and OCSP answers not cached. */
	struct subca__revocation *revocation;
	/* Base URL for leaves' derived CRL/OCSP URLs (serve --public-url),
	 * or NULL; copied into each request's ctx. */
	const char *public_url;
	/* Queue a deferred record of `req` (owner set) with the store's
	 * cert_record_async and arrange for subca__pipeline_resume on the
	 * request's thread once it is durable or failed; NULL: records are
	 * written synchronously. */
	subca_result (*defer)(struct subca_request *req,
			      struct subca_cert_rec *rec,
			      const struct subca_audit_rec *audit);
	/* Connections open right now (for /metrics), or NULL. */
	long (*connections)(const struct subca_server_env *env);
	/* Ask the rotation thread to run authority `authority_id`'s
	 * unattended rotation now (subca_rotator_run_now), or NULL: no
	 * rotation thread here. */
	subca_result (*rotate_now)(const struct subca_server_env *env,
				   int64_t authority_id);
	void *server; /* server.c's state */
};

/* Resolve through req->ctx.store (see env.resolve). */
SUBCA_MUST_CHECK subca_result subca__authority_resolve(struct subca_request *req);

/*
 * The central pipeline: route, resolve the authority, check method, body
 * size and credentials from the route table, then run the handler. Any
 * failure becomes a problem response; the request's response fields are
 * set either way.
 */
void subca__pipeline_run(struct subca_request *req);

/* ---- metrics (metrics.c) ---------------------------------------------- */

/* Set up counters for the route table (idempotent); cleanup frees them. */
SUBCA_MUST_CHECK subca_result subca_metrics_init(const struct subca_route *routes,
						 size_t n);
void subca_metrics_cleanup(void);
/* One answered request: route NULL when none matched. */
void subca_metrics_request(const struct subca_route *route, const char *method,
			   int status, double seconds);
/* One issuance attempt: result "issued", or an error name lower case. */
void subca_metrics_issuance(const char *authority, const char *provisioner,
			    const char *result);
/* One group-commit batch of `n` records (a subca_group_observer fits). */
void subca_metrics_commit_batch(size_t n);
/* A connection closed at accept: past twice --max-connections. */
void subca_metrics_connection_shed(void);
/* Rotation (rotation.c): a failed unattended rotation of `authority`, and
 * the seconds its issuing intermediate has left with the lifetime warning
 * (subca_lifetime_check). Bounded like the issuance series. */
void subca_metrics_rotation_failure(const char *authority);
void subca_metrics_intermediate(const char *authority, int64_t seconds_left,
				bool warning);
/* Prometheus text exposition format 0.0.4 into `out` (initialised here). */
SUBCA_MUST_CHECK subca_result subca_metrics_render(long connections_active,
						   struct subca_buf *out);

/* ---- logs (log.c): one JSON line each on stderr ------------------------ */

struct subca_log_request {
	const char *id, *peer, *method, *path, *host, *authority, *route;
	int status;
	size_t bytes;
	double duration_ms;
};
void subca_log_request(const struct subca_log_request *l);
/* A server event: {"time", "event", "msg"}. */
void subca_log_event(const char *event, const char *fmt, ...)
	SUBCA_PRINTF(2, 3);

#endif
