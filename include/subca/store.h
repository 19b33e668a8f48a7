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
};
void subca_intermediate_rec_cleanup(struct subca_intermediate_rec *r);

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
};
void subca_cert_rec_cleanup(struct subca_cert_rec *r);

struct subca_audit_rec {
	int64_t id;
	int64_t ts;
	char *authority; /* name, or NULL for server-wide events */
	char *action;	 /* "authority.create", "root.import", ... */
	char *detail;	 /* human-readable, never secrets */
	char *actor;	 /* "cli:uid=0", "token:abc", ... */
};
void subca_audit_rec_cleanup(struct subca_audit_rec *r);

/* Growable arrays handed out by list operations; free with _cleanup. */
struct subca_authority_list { struct subca_authority_rec *v; size_t n; };
struct subca_intermediate_list { struct subca_intermediate_rec *v; size_t n; };
struct subca_audit_list { struct subca_audit_rec *v; size_t n; };
void subca_authority_list_cleanup(struct subca_authority_list *l);
void subca_intermediate_list_cleanup(struct subca_intermediate_list *l);
void subca_audit_list_cleanup(struct subca_audit_list *l);

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
					    const struct subca_intermediate_rec *r); /* state, cert, fingerprint, validity; at most one active per authority: retire the old one first, in the same transaction */
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

	subca_result (*meta_get)(struct subca_store *st, const char *key,
				 char **value); /* NOT_FOUND when unset */
	subca_result (*meta_set)(struct subca_store *st, const char *key,
				 const char *value);
};

struct subca_store {
	const struct subca_store_ops *ops;
};

#endif
