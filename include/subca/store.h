/*
 * The storage interface. The core and the front ends record authorities,
 * roots, intermediates, issued certificates and the audit log through this
 * table of operations; backends (sqlite now, postgres later) fill it in.
 *
 * Every operation returns SUBCA_OK or an error with a reason:
 * SUBCA_E_NOT_FOUND, SUBCA_E_EXISTS (unique constraint), SUBCA_E_STORE.
 * Strings handed in are copied; records handed out are owned by the caller
 * and released with the matching _cleanup function.
 */
#ifndef SUBCA_STORE_H
#define SUBCA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "subca/error.h"

enum subca_authority_state {
	SUBCA_AUTH_NEEDS_ROOT = 0,
	SUBCA_AUTH_NEEDS_INTERMEDIATE,
	SUBCA_AUTH_PENDING,
	SUBCA_AUTH_ACTIVE,
};
const char *subca_authority_state_name(enum subca_authority_state s);

enum subca_intermediate_state {
	SUBCA_INT_PENDING = 0,
	SUBCA_INT_ACTIVE,
	SUBCA_INT_RETIRED,
	/* verified, waiting for its activation time (schema 3) */
	SUBCA_INT_READY,
};
const char *subca_intermediate_state_name(enum subca_intermediate_state s);

struct subca_authority_rec {
	int64_t id;
	char *name;
	char *subdomain;
	enum subca_authority_state state;
	bool generated_root; /* subca generated the root (key in the key store) */
	char *root_key_id;   /* key-store id of a generated root, else NULL */
	int64_t created;     /* unix seconds */
};
void subca_authority_rec_cleanup(struct subca_authority_rec *r);

struct subca_root_rec {
	int64_t authority_id;
	char *pem;	   /* the chain, anchor first */
	char *subject;	   /* anchor subject, one line */
	char *fingerprint; /* anchor SHA-256, hex */
	int64_t not_after; /* anchor notAfter */
	int64_t imported;
};
void subca_root_rec_cleanup(struct subca_root_rec *r);

struct subca_intermediate_rec {
	int64_t id;
	int64_t authority_id;
	enum subca_intermediate_state state;
	char *key_id;	   /* key-store id */
	char *key_type;	   /* "ec-p256" */
	char *subject;	   /* one line */
	char *csr_pem;
	char *cert_pem;	   /* NULL while pending */
	char *fingerprint; /* NULL while pending */
	char *crl_url;	   /* optional */
	char *ocsp_url;	   /* optional */
	int days;	   /* requested lifetime */
	int64_t not_before, not_after; /* 0 while pending */
	int64_t created;
	/* Rotation (schema 3): when a ready intermediate takes over (0: at
	 * import), and when an intermediate was retired (0: not retired). */
	int64_t activate_at;
	int64_t retired_at;
};
void subca_intermediate_rec_cleanup(struct subca_intermediate_rec *r);

/*
 * One certificate recorded for an intermediate's key (schema 6). The
 * intermediate's own record holds the chain certificate (the newest); a
 * re-certification of the same key (a renewed certificate from the root)
 * records the one it replaces and itself here, so that leaves can still be
 * served with the older chain (RFC 8555 7.4.2 alternates).
 */
struct subca_intermediate_cert_rec {
	int64_t id;
	int64_t intermediate_id;
	char *pem;
	char *fingerprint; /* SHA-256, 64 lower-case hex */
	int64_t not_before, not_after;
	int64_t recorded; /* when it was recorded */
};
void subca_intermediate_cert_rec_cleanup(struct subca_intermediate_cert_rec *r);
struct subca_intermediate_cert_list {
	struct subca_intermediate_cert_rec *v;
	size_t n;
};
void subca_intermediate_cert_list_cleanup(struct subca_intermediate_cert_list *l);

enum subca_cert_status {
	SUBCA_CERT_VALID = 0,
	SUBCA_CERT_REVOKED,
};
const char *subca_cert_status_name(enum subca_cert_status s); /* "valid" */

struct subca_cert_rec {
	int64_t id;
	int64_t authority_id;
	int64_t intermediate_id;
	char *serial;  /* lower-case hex, no leading zeros */
	char *subject; /* one line */
	char *sans;    /* comma-separated, "DNS:a,IP:b" */
	char *pem;
	int64_t not_before, not_after;
	char *issued_by; /* credential or command that asked */
	int64_t created;
	/* Revocation (schema 2). cert_add ignores these three: a new
	 * certificate is valid; cert_revoke sets them. */
	enum subca_cert_status status;
	int64_t revoked_at; /* 0 while valid */
	int reason;	    /* RFC 5280 5.3.1 CRLReason; -1 while valid */
	char *provisioner;  /* provisioner name that asked, or NULL */
};
void subca_cert_rec_cleanup(struct subca_cert_rec *r);

/* Filters and paging of cert_list; zero-initialised means "everything". */
enum subca_cert_status_filter {
	SUBCA_CERTS_ANY = 0,
	SUBCA_CERTS_VALID,
	SUBCA_CERTS_REVOKED,
};
struct subca_cert_filter {
	int64_t authority_id; /* 0 = every authority */
	enum subca_cert_status_filter status;
	int64_t expires_before; /* not_after < this; 0 = no bound */
	int64_t expires_after;	/* not_after >= this; 0 = no bound */
	const char *name; /* substring of subject or sans, ASCII case ignored; NULL = any */
	int64_t after_id; /* paging cursor: only ids > this (0 = from the start) */
	size_t limit;	  /* page size, 1..SUBCA_MAX_LIST_PAGE; 0 = the maximum */
};

/* An admin API credential (schema 2). Only the secret's hash is stored. */
struct subca_admin_token_rec {
	int64_t id;
	char *hash;	   /* SHA-256 of the secret, 64 lower-case hex */
	char *description; /* free text, never NULL when read ("" for none) */
	char *scope;	   /* NULL = global, else "a,b": authority names */
	int64_t created;
	int64_t expires; /* 0 = never */
	int64_t revoked; /* 0 = not revoked, else when it was */
};
void subca_admin_token_rec_cleanup(struct subca_admin_token_rec *r);

enum subca_provisioner_type {
	SUBCA_PROV_JWK = 0, /* one-time JWS tokens signed by its key */
	SUBCA_PROV_APIKEY,  /* a static secret, stored hashed */
	SUBCA_PROV_ACME,    /* RFC 8555 (later) */
};
const char *subca_provisioner_type_name(enum subca_provisioner_type t); /* "jwk" */
/* "jwk" | "apikey" | "acme"; SUBCA_E_INVALID_ARGUMENT listing them. */
SUBCA_MUST_CHECK subca_result subca_provisioner_type_parse(
	const char *s, enum subca_provisioner_type *out);

/* Who may ask an authority for leaves, and under which policy (schema 2). */
struct subca_provisioner_rec {
	int64_t id;
	int64_t authority_id;
	char *name; /* unique per authority */
	enum subca_provisioner_type type;
	char *jwk_json; /* jwk: the public JWK (JSON text); else NULL */
	char *key_hash; /* apikey: SHA-256 hex of the key; else NULL */
	char *policy;	/* JSON text the front ends write and read; opaque
			 * here; never NULL when read ("{}" for none) */
	int64_t created;
	/* Type-specific settings as JSON text (acme: challenges, EAB), opaque
	 * here; NULL for none (schema 3). */
	char *options;
};
void subca_provisioner_rec_cleanup(struct subca_provisioner_rec *r);

/*
 * Sizes of the batches group commit wrote (see group_commit). Counters are
 * cumulative over the life of the shared writer.
 */
struct subca_group_stats {
	uint64_t batches; /* transactions committed */
	uint64_t records; /* records they carried (failed ones included) */
	size_t last_batch; /* records in the newest batch */
	size_t max_batch;  /* largest batch so far */
	size_t pending;	   /* records queued for the next batch right now */
	uint64_t checkpoints; /* WAL copies finished (the WAL then restarts) */
};
/* Called by the thread that committed a batch of `n` records with result
 * `rv` (SUBCA_OK or the commit's error), before the batch's callers wake:
 * keep it short (count it in metrics). */
typedef void (*subca_group_observer)(void *arg, size_t n, subca_result rv);

/*
 * Called once for each cert_record_async: `rv` is the record's own result
 * (SUBCA_OK once it is durable) and `reason` the reason of its failure
 * ("" when rv is SUBCA_OK). Runs on the group's committer thread, or on
 * the caller's before cert_record_async returns when the write was not
 * queued: keep it short and hand the result over. The record's id is set
 * (0 on failure) before it runs.
 */
typedef void (*subca_record_done)(void *arg, subca_result rv,
				  const char *reason);

/* The latest CRL published for one intermediate (schema 3). */
struct subca_crl_rec {
	int64_t intermediate_id;
	int64_t number; /* cRLNumber */
	int64_t this_update, next_update;
	int64_t entries; /* revoked certificates listed */
	uint8_t *der;
	size_t der_len;
};
void subca_crl_rec_cleanup(struct subca_crl_rec *r);

/* Called once per revoked certificate by cert_revoked_each; anything but
 * SUBCA_OK stops the walk and is returned. */
typedef subca_result (*subca_revoked_fn)(void *arg, const char *serial,
					 int64_t revoked_at, int reason);

struct subca_audit_rec {
	int64_t id;
	int64_t ts;
	char *authority; /* name, or NULL for server-wide events */
	char *action;	 /* "authority.create", "root.import", ... */
	char *detail;	 /* human-readable, never secrets */
	char *actor;	 /* "cli:uid=0", "token:abc", ... */
};
void subca_audit_rec_cleanup(struct subca_audit_rec *r);

/*
 * Unattended rotation of one authority (schema 3): when the active
 * intermediate has less than rotate_before seconds left, the server requests
 * the next one and has signer_command sign it (docs: the hook contract).
 */
struct subca_rotation_rec {
	int64_t authority_id;
	int64_t rotate_before;	/* seconds */
	char *signer_command;	/* run through /bin/sh -c */
	int hook_timeout;	/* seconds, 1..3600 */
	int days;		/* lifetime asked for; 0: as the current one */
	int64_t updated;
};
void subca_rotation_rec_cleanup(struct subca_rotation_rec *r);
struct subca_rotation_list { struct subca_rotation_rec *v; size_t n; };
void subca_rotation_list_cleanup(struct subca_rotation_list *l);

/* Growable arrays handed out by list operations; free with _cleanup. */
struct subca_authority_list { struct subca_authority_rec *v; size_t n; };
struct subca_intermediate_list { struct subca_intermediate_rec *v; size_t n; };
struct subca_audit_list { struct subca_audit_rec *v; size_t n; };
void subca_authority_list_cleanup(struct subca_authority_list *l);
void subca_intermediate_list_cleanup(struct subca_intermediate_list *l);
struct subca_cert_list {
	struct subca_cert_rec *v;
	size_t n;
	int64_t next_after; /* cursor for the next page; 0 when this is the last */
};
struct subca_admin_token_list { struct subca_admin_token_rec *v; size_t n; };
struct subca_provisioner_list { struct subca_provisioner_rec *v; size_t n; };
void subca_audit_list_cleanup(struct subca_audit_list *l);
void subca_cert_list_cleanup(struct subca_cert_list *l);
void subca_admin_token_list_cleanup(struct subca_admin_token_list *l);
void subca_provisioner_list_cleanup(struct subca_provisioner_list *l);

/*
 * ACME state (RFC 8555, schema 3): accounts, orders, authorizations and
 * challenges of an acme provisioner, each one row of the same shape in its
 * own table. The protocol's JSON object lives in `doc` (opaque here); the
 * columns beside it are what the store looks rows up by.
 */
enum subca_acme_kind {
	SUBCA_ACME_ACCOUNT = 0,
	SUBCA_ACME_ORDER,
	SUBCA_ACME_AUTHZ,
	SUBCA_ACME_CHALLENGE,
	SUBCA_ACME__KINDS
};

struct subca_acme_rec {
	char *id;		/* random URL id, unique per kind */
	int64_t provisioner_id;
	char *parent;	/* order: account id; authz: order id; challenge:
			 * authz id; account: NULL */
	char *status;	/* "pending", "valid", ... */
	char *lookup;	/* account: its key's RFC 7638 thumbprint (unique
			 * per provisioner); order: the issued certificate's
			 * serial; else NULL */
	char *doc;	/* the JSON document */
	int64_t expires; /* 0 = none */
	int64_t version; /* set by the store; acme_update checks it */
	int64_t created, updated;
};
void subca_acme_rec_cleanup(struct subca_acme_rec *r);
struct subca_acme_list { struct subca_acme_rec *v; size_t n; };
void subca_acme_list_cleanup(struct subca_acme_list *l);

/* Which rows acme_list returns: zero/NULL members match anything. */
struct subca_acme_filter {
	int64_t provisioner_id;
	const char *parent;
	const char *status;
	size_t limit; /* 0 = SUBCA_MAX_LIST_PAGE */
	/* A page after the row with this id (in list order): the id of the
	 * previous page's last row. NULL: from the first row; an unknown id
	 * gives no rows. */
	const char *after;
};

/* An External Account Binding key (RFC 8555 7.3.4, schema 3): the HMAC
 * key sealed by the front end (never the key itself). */
struct subca_acme_eab_rec {
	char *kid;
	int64_t provisioner_id;
	char *sealed;	  /* the sealed key, text */
	char *account_id; /* the account it bound, NULL while unused */
	int64_t created;
};
void subca_acme_eab_rec_cleanup(struct subca_acme_eab_rec *r);

struct subca_store;

struct subca_store_ops {
	const char *name;
	void (*close)(struct subca_store *st);
	/* Transactions nest by counting; only the outermost commits. Inner
	 * levels are savepoints: an inner rollback undoes only its own work
	 * and the outer transaction goes on. The outermost takes the write
	 * lock at once. close() rolls back whatever is still open. */
	subca_result (*begin)(struct subca_store *st);
	subca_result (*commit)(struct subca_store *st);
	void (*rollback)(struct subca_store *st);

	subca_result (*authority_create)(struct subca_store *st,
					 struct subca_authority_rec *r); /* sets id; name and subdomain are unique ignoring case (EXISTS names which) */
	subca_result (*authority_get)(struct subca_store *st, const char *name,
				      struct subca_authority_rec *out);
	/* The authority whose subdomain is `sub` (ignoring case): host
	 * routing. NOT_FOUND when none. */
	subca_result (*authority_get_by_subdomain)(
		struct subca_store *st, const char *sub,
		struct subca_authority_rec *out);
	subca_result (*authority_list)(struct subca_store *st,
				       struct subca_authority_list *out);
	subca_result (*authority_update)(struct subca_store *st,
					 const struct subca_authority_rec *r); /* state, root_key_id, generated_root */

	subca_result (*root_put)(struct subca_store *st,
				 const struct subca_root_rec *r); /* replaces */
	subca_result (*root_get)(struct subca_store *st, int64_t authority_id,
				 struct subca_root_rec *out);

	subca_result (*intermediate_add)(struct subca_store *st,
					 struct subca_intermediate_rec *r); /* sets id; EXISTS for a second active one */
	subca_result (*intermediate_update)(struct subca_store *st,
					    const struct subca_intermediate_rec *r); /* state, cert, fingerprint, validity, activate_at, retired_at; at most one active per authority: retire the old one first, in the same transaction; a ready one needs its cert */
	/* Delete a pending request that has no certificate (a discarded
	 * one): NOT_FOUND unless intermediate `id` of the authority is
	 * exactly that. */
	subca_result (*intermediate_discard)(struct subca_store *st,
					     int64_t authority_id, int64_t id);
	subca_result (*intermediate_list)(struct subca_store *st,
					  int64_t authority_id,
					  struct subca_intermediate_list *out); /* oldest first */

	subca_result (*cert_add)(struct subca_store *st,
				 struct subca_cert_rec *r); /* sets id; EXISTS on duplicate serial; NOT_FOUND unless the intermediate belongs to the authority */
	subca_result (*cert_get)(struct subca_store *st, int64_t authority_id,
				 const char *serial, struct subca_cert_rec *out);
	subca_result (*cert_count)(struct subca_store *st, int64_t authority_id,
				   int64_t *out);

	subca_result (*audit_append)(struct subca_store *st,
				     const struct subca_audit_rec *r); /* sets nothing; ts given */
	subca_result (*audit_list)(struct subca_store *st, const char *authority,
				   size_t limit, struct subca_audit_list *out); /* newest first; authority NULL = all; limit 0 = no limit */
	/* The same, narrowed to entries with an id above `after` (0: any)
	 * whose action begins with `action` (NULL: any). */
	subca_result (*audit_query)(struct subca_store *st,
				    const char *authority, int64_t after,
				    const char *action, size_t limit,
				    struct subca_audit_list *out);

	subca_result (*meta_get)(struct subca_store *st, const char *key,
				 char **value); /* NOT_FOUND when unset */
	subca_result (*meta_set)(struct subca_store *st, const char *key,
				 const char *value);

	/* ---- schema 2: revocation, listing, credentials, group commit ---- */

	/*
	 * Mark a certificate revoked at `when` with `reason` (RFC 5280 5.3.1:
	 * 0..10 except 7; INVALID_ARGUMENT otherwise). Idempotent: revoking a
	 * revoked certificate keeps its first reason and time and returns OK.
	 * NOT_FOUND when the authority has no such serial.
	 */
	subca_result (*cert_revoke)(struct subca_store *st, int64_t authority_id,
				    const char *serial, int reason,
				    int64_t when);
	/*
	 * Certificates matching `f`, oldest (lowest id) first, at most one
	 * page; out->next_after is the cursor for the next page (0 at the
	 * end). Records carry every field but `pem` (NULL: use cert_get).
	 * INVALID_ARGUMENT for a limit over SUBCA_MAX_LIST_PAGE.
	 */
	subca_result (*cert_list)(struct subca_store *st,
				  const struct subca_cert_filter *f,
				  struct subca_cert_list *out);
	/*
	 * cert_add and audit_append (when `audit` is not NULL) as one atomic
	 * step: both are written or neither. With group commit on and no
	 * transaction open on `st`, the step joins a shared batch (see
	 * group_commit); otherwise it runs on `st` (inside its transaction
	 * when one is open). Errors as cert_add.
	 */
	subca_result (*cert_record)(struct subca_store *st,
				    struct subca_cert_rec *r,
				    const struct subca_audit_rec *audit);
	/*
	 * cert_record without waiting for the commit. With group commit on
	 * and no transaction open on `st`, the record joins the next batch
	 * and `done` runs on the committer thread after that batch's COMMIT
	 * returned (or failed); `r` and `audit` are borrowed until then: keep
	 * them valid and unchanged. Otherwise the write happens now and
	 * `done` runs before this returns. Either way `done` runs exactly
	 * once, and this returns SUBCA_OK (a failed write is reported to
	 * `done`, not here).
	 */
	subca_result (*cert_record_async)(struct subca_store *st,
					  struct subca_cert_rec *r,
					  const struct subca_audit_rec *audit,
					  subca_record_done done, void *arg);

	subca_result (*admin_token_add)(struct subca_store *st,
					struct subca_admin_token_rec *r); /* sets id; EXISTS for a hash already stored */
	subca_result (*admin_token_get_by_hash)(struct subca_store *st,
						const char *hash,
						struct subca_admin_token_rec *out); /* NOT_FOUND; revoked and expired ones too: the caller checks */
	subca_result (*admin_token_list)(struct subca_store *st,
					 struct subca_admin_token_list *out); /* oldest first */
	subca_result (*admin_token_revoke)(struct subca_store *st, int64_t id,
					   int64_t when); /* NOT_FOUND; idempotent, the first time stays */

	subca_result (*provisioner_add)(struct subca_store *st,
					struct subca_provisioner_rec *r); /* sets id; EXISTS for a name taken in the authority or an API key hash already stored; NOT_FOUND for an unknown authority */
	subca_result (*provisioner_get)(struct subca_store *st,
					int64_t authority_id, const char *name,
					struct subca_provisioner_rec *out); /* NOT_FOUND */
	subca_result (*provisioner_get_by_key_hash)(struct subca_store *st,
						    int64_t authority_id,
						    const char *key_hash,
						    struct subca_provisioner_rec *out); /* apikey lookup; NOT_FOUND */
	subca_result (*provisioner_list)(struct subca_store *st,
					 int64_t authority_id,
					 struct subca_provisioner_list *out); /* by name */
	subca_result (*provisioner_remove)(struct subca_store *st,
					   int64_t authority_id,
					   const char *name); /* NOT_FOUND; its used token ids go with it */

	/*
	 * Remember the one-time token id `jti` of a provisioner until
	 * `expires`. EXISTS ("token already used") when it was seen before,
	 * also by an earlier process: the replay is refused. NOT_FOUND for an
	 * unknown provisioner.
	 */
	subca_result (*jti_use)(struct subca_store *st, int64_t provisioner_id,
				const char *jti, int64_t expires);
	/* Forget token ids whose expiry is before `now`; *removed (may be
	 * NULL) counts them. */
	subca_result (*jti_prune)(struct subca_store *st, int64_t now,
				  int64_t *removed);

	/*
	 * Group commit. On: cert_add, cert_record and cert_record_async calls
	 * made outside a transaction are queued; a committer thread writes
	 * everything queued so far in one transaction (a savepoint per
	 * record, so a duplicate serial fails only its own record) on a
	 * writer connection shared by every store of the same database file
	 * in this process, commits with synchronous=FULL, and reports each
	 * record's own result once the batch is durable (cert_add and
	 * cert_record wait for it). Records queued during a commit form the
	 * next batch. The thread starts with the first store that turns group
	 * commit on and is joined, once the queue is written, when the last
	 * one leaves. Off (the default): each call commits alone. Use one
	 * store per thread; stores of one file share the writer.
	 */
	subca_result (*group_commit)(struct subca_store *st, bool on);
	/* Batch counters of the writer `st` shares; all zero when off. */
	subca_result (*group_commit_stats)(struct subca_store *st,
					   struct subca_group_stats *out);
	/* Observe every batch of the writer `st` shares (NULL to stop);
	 * SUBCA_E_STATE when group commit is off. */
	subca_result (*group_commit_observe)(struct subca_store *st,
					     subca_group_observer fn,
					     void *arg);

	/* ---- schema 3: rotation ---- */

	/* Set (insert or replace) an authority's rotation settings.
	 * NOT_FOUND for an unknown authority. */
	subca_result (*rotation_put)(struct subca_store *st,
				     const struct subca_rotation_rec *r);
	/* NOT_FOUND when the authority has none. */
	subca_result (*rotation_get)(struct subca_store *st,
				     int64_t authority_id,
				     struct subca_rotation_rec *out);
	/* NOT_FOUND when the authority has none. */
	subca_result (*rotation_remove)(struct subca_store *st,
					int64_t authority_id);
	/* Every authority's settings, by authority id. */
	subca_result (*rotation_list)(struct subca_store *st,
				      struct subca_rotation_list *out);
	/* ---- schema 4: revocation publishing (CRL, OCSP) ---- */

	/*
	 * Call fn for every revoked certificate issued by intermediate
	 * `intermediate_id` whose notAfter is at or after `expired_before`
	 * (older ones are pruned from CRLs, RFC 5280 5.1.2.6), in no
	 * particular order, streaming (an index keeps this cheap for a
	 * million rows). Returns what fn returned when it stopped the walk.
	 */
	subca_result (*cert_revoked_each)(struct subca_store *st,
					  int64_t intermediate_id,
					  int64_t expired_before,
					  subca_revoked_fn fn, void *arg);
	/*
	 * Allocate the next CRL number of an intermediate (1, 2, ...), once
	 * and for all: two builders never get the same number, also in two
	 * processes. NOT_FOUND for an unknown intermediate.
	 */
	subca_result (*crl_number_next)(struct subca_store *st,
					int64_t intermediate_id, int64_t *out);
	/* Store a CRL as its intermediate's latest, unless a CRL with a
	 * higher number is stored already (then it is kept and this is OK). */
	subca_result (*crl_put)(struct subca_store *st,
				const struct subca_crl_rec *r);
	/* The intermediate's latest CRL; NOT_FOUND when none was stored. */
	subca_result (*crl_get)(struct subca_store *st, int64_t intermediate_id,
				struct subca_crl_rec *out);
	/* Only its nextUpdate (Unix seconds), without reading the CRL itself
	 * (tens of MiB for a large one); NOT_FOUND when none was stored. */
	subca_result (*crl_next_update)(struct subca_store *st,
					int64_t intermediate_id, int64_t *out);
	/* ---- schema 5: ACME ---- */

	/* Insert (sets version 1). EXISTS for a taken id or an account key
	 * already registered with the provisioner; NOT_FOUND for an unknown
	 * provisioner. */
	subca_result (*acme_add)(struct subca_store *st,
				 enum subca_acme_kind kind,
				 struct subca_acme_rec *r);
	/* By id within the provisioner; NOT_FOUND. */
	subca_result (*acme_get)(struct subca_store *st,
				 enum subca_acme_kind kind,
				 int64_t provisioner_id, const char *id,
				 struct subca_acme_rec *out);
	/* By lookup value within the provisioner (the newest); NOT_FOUND. */
	subca_result (*acme_find)(struct subca_store *st,
				  enum subca_acme_kind kind,
				  int64_t provisioner_id, const char *lookup,
				  struct subca_acme_rec *out);
	/* Rows matching `f`, oldest first. */
	subca_result (*acme_list)(struct subca_store *st,
				  enum subca_acme_kind kind,
				  const struct subca_acme_filter *f,
				  struct subca_acme_list *out);
	/*
	 * Write status, lookup, doc, expires and updated of row r->id if its
	 * version is still r->version, and bump r->version: so that two
	 * writers that read the same row cannot both win. SUBCA_E_STATE
	 * ("changed concurrently") when it moved on, NOT_FOUND when gone,
	 * EXISTS as acme_add for a lookup taken.
	 */
	subca_result (*acme_update)(struct subca_store *st,
				    enum subca_acme_kind kind,
				    struct subca_acme_rec *r);

	/* EAB keys: add (EXISTS for a kid taken), get (NOT_FOUND), and bind
	 * to an account once (STATE when already bound to another). */
	subca_result (*acme_eab_add)(struct subca_store *st,
				     const struct subca_acme_eab_rec *r);
	subca_result (*acme_eab_get)(struct subca_store *st,
				     int64_t provisioner_id, const char *kid,
				     struct subca_acme_eab_rec *out);
	subca_result (*acme_eab_bind)(struct subca_store *st,
				      int64_t provisioner_id, const char *kid,
				      const char *account_id);

	/* ---- schema 6: certificates of an intermediate's key ---- */

	/* Record one (sets id). EXISTS ("already recorded") for a
	 * fingerprint the intermediate has already; NOT_FOUND for an unknown
	 * intermediate. */
	subca_result (*intermediate_cert_add)(
		struct subca_store *st, struct subca_intermediate_cert_rec *r);
	/* Every certificate recorded for the intermediates of an authority,
	 * oldest first. */
	subca_result (*intermediate_cert_list)(
		struct subca_store *st, int64_t authority_id,
		struct subca_intermediate_cert_list *out);
};

struct subca_store {
	const struct subca_store_ops *ops;
};

#endif
