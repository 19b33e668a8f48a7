/*
 * Internals shared by the SQLite store's files: the connection, the
 * statement helpers that map SQLite's result codes to subca errors, and the
 * operations table.
 */
#ifndef SUBCA_STORE_SQLITE_INT_H
#define SUBCA_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "subca/store_sqlite.h"

struct subca__group;

/*
 * Statements prepared once per connection and kept (SQLITE_PREPARE_
 * PERSISTENT) for the issuance path, where preparing each time cost more
 * than running them. Keyed by the address of their constant SQL text.
 */
#define SUBCA__SQLITE_CACHED 64
struct subca__stmt_slot {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct subca__sqlite {
	struct subca_store base; /* first: a subca_store * is a subca__sqlite * */
	sqlite3 *db;
	int depth; /* open transactions: 0 none, 1 BEGIN, >1 savepoints */
	char *path;		    /* the database file, for the group writer */
	struct subca__group *group; /* shared writer when group commit is on */
	struct subca__stmt_slot cached[SUBCA__SQLITE_CACHED];
};

static inline struct subca__sqlite *subca__sqlite_of(struct subca_store *st)
{
	return (struct subca__sqlite *)st;
}

static inline void subca__stmt_finalize(sqlite3_stmt **p)
{
	sqlite3_finalize(*p); /* accepts NULL */
	*p = NULL;
}
#define SUBCA_AUTO_STMT __attribute__((cleanup(subca__stmt_finalize)))

/* A cached statement goes back reset, its bindings cleared: it keeps no
 * read transaction open and no bound value (a hash, a jti) in memory. */
static inline void subca__stmt_release(sqlite3_stmt **p)
{
	if (*p != NULL) {
		sqlite3_reset(*p);
		sqlite3_clear_bindings(*p);
	}
	*p = NULL;
}
#define SUBCA_AUTO_CACHED_STMT __attribute__((cleanup(subca__stmt_release)))

extern const struct subca_store_ops subca__sqlite_ops;

/* Connection and transaction operations (sqlite.c). */
void subca__sqlite_close(struct subca_store *st);
SUBCA_MUST_CHECK subca_result subca__sqlite_begin(struct subca_store *st);
SUBCA_MUST_CHECK subca_result subca__sqlite_commit(struct subca_store *st);
void subca__sqlite_rollback(struct subca_store *st);

/* SUBCA_E_STORE (or NOMEM) with SQLite's message and what we were doing. */
subca_result subca__sqlite_fail(struct subca__sqlite *s, const char *what);

/* Prepare one statement of `sql` (a constant, never built from input). */
SUBCA_MUST_CHECK subca_result subca__sqlite_prepare(struct subca__sqlite *s,
						    const char *sql,
						    sqlite3_stmt **out);

/*
 * The connection's prepared statement for `sql`, a static constant whose
 * address identifies it, prepared on first use; release it with
 * SUBCA_AUTO_CACHED_STMT, never finalize it. Not for statements that a
 * caller may run nested in itself. Beyond SUBCA__SQLITE_CACHED distinct
 * statements it fails with SUBCA_E_INTERNAL (a programming error).
 */
SUBCA_MUST_CHECK subca_result subca__sqlite_cached(struct subca__sqlite *s,
						   const char *sql,
						   sqlite3_stmt **out);
/* Finalize the cached statements (before closing the connection). */
void subca__sqlite_cached_free(struct subca__sqlite *s);
/* Bind helpers: NULL text binds SQL NULL; text is copied by SQLite. */
SUBCA_MUST_CHECK subca_result subca__sqlite_bind_text(struct subca__sqlite *s,
						      sqlite3_stmt *stmt,
						      int idx, const char *v);
SUBCA_MUST_CHECK subca_result subca__sqlite_bind_int(struct subca__sqlite *s,
						     sqlite3_stmt *stmt,
						     int idx, int64_t v);

/*
 * Step a statement that returns no row. A unique or primary-key conflict
 * fails with SUBCA_E_EXISTS and `exists` as the reason, a missing parent
 * row (foreign key) with SUBCA_E_NOT_FOUND and `missing`, anything else
 * with SUBCA_E_STORE and SQLite's message.
 */
SUBCA_MUST_CHECK subca_result subca__sqlite_done(struct subca__sqlite *s,
						 sqlite3_stmt *stmt,
						 const char *exists,
						 const char *missing);

/* Step a query: *row is true with a row, false at the end. */
SUBCA_MUST_CHECK subca_result subca__sqlite_row(struct subca__sqlite *s,
						sqlite3_stmt *stmt, bool *row);

/* Copy a text column into *out (NULL for SQL NULL); SUBCA_E_NOMEM. */
SUBCA_MUST_CHECK subca_result subca__sqlite_text(sqlite3_stmt *stmt, int col,
						 char **out);

/* Bind v[0..n-1] to parameters first..first+n-1. */
SUBCA_MUST_CHECK subca_result subca__sqlite_bind_texts(struct subca__sqlite *s,
						       sqlite3_stmt *stmt,
						       int first,
						       const char *const *v,
						       int n);
SUBCA_MUST_CHECK subca_result subca__sqlite_bind_ints(struct subca__sqlite *s,
						      sqlite3_stmt *stmt,
						      int first,
						      const int64_t *v, int n);
/* Copy text columns first..first+n-1 into *out[i]; all or none. */
SUBCA_MUST_CHECK subca_result subca__sqlite_texts(sqlite3_stmt *stmt,
						  int first, char **out[],
						  int n);
/* Make room for one more element in a list array of `size`-byte items. */
SUBCA_MUST_CHECK subca_result subca__sqlite_grow(void **v, size_t n,
						 size_t *cap, size_t size);

/*
 * Read every remaining row of `stmt` into the list `out` (members v, n)
 * with `row_fn(stmt, &out->v[i])`, growing it as needed. Evaluates to the
 * result; on failure the rows read so far stay in `out` for the caller's
 * list cleanup. A macro so that each list keeps its own item type.
 */
#define SUBCA__SQLITE_COLLECT(s, stmt, out, row_fn)                           \
	({                                                                    \
		size_t subca__cap = 0;                                        \
		subca_result subca__rv;                                       \
		bool subca__row;                                              \
		for (;;) {                                                    \
			subca__rv = subca__sqlite_row((s), (stmt), &subca__row); \
			if (subca__rv != SUBCA_OK || !subca__row)             \
				break;                                        \
			subca__rv = subca__sqlite_grow((void **)&(out)->v,    \
						       (out)->n, &subca__cap, \
						       sizeof(*(out)->v));    \
			if (subca__rv == SUBCA_OK)                            \
				subca__rv = row_fn((stmt),                    \
						   &(out)->v[(out)->n]);      \
			if (subca__rv != SUBCA_OK)                            \
				break;                                        \
			(out)->n++;                                           \
		}                                                             \
		subca__rv;                                                    \
	})

/* The SQL of migration `to` (1-based), for tests of older schemas. */
const char *subca__sqlite_migration(int to);

/* Credentials and one-time token ids (sqlite_creds.c). */
SUBCA_MUST_CHECK subca_result subca__sqlite_admin_token_add(
	struct subca_store *st, struct subca_admin_token_rec *r);
SUBCA_MUST_CHECK subca_result subca__sqlite_admin_token_get_by_hash(
	struct subca_store *st, const char *hash,
	struct subca_admin_token_rec *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_admin_token_list(
	struct subca_store *st, struct subca_admin_token_list *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_admin_token_revoke(
	struct subca_store *st, int64_t id, int64_t when);
SUBCA_MUST_CHECK subca_result subca__sqlite_provisioner_add(
	struct subca_store *st, struct subca_provisioner_rec *r);
SUBCA_MUST_CHECK subca_result subca__sqlite_provisioner_get(
	struct subca_store *st, int64_t authority_id, const char *name,
	struct subca_provisioner_rec *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_provisioner_get_by_key_hash(
	struct subca_store *st, int64_t authority_id, const char *key_hash,
	struct subca_provisioner_rec *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_provisioner_list(
	struct subca_store *st, int64_t authority_id,
	struct subca_provisioner_list *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_provisioner_remove(
	struct subca_store *st, int64_t authority_id, const char *name);
SUBCA_MUST_CHECK subca_result subca__sqlite_jti_use(struct subca_store *st,
						    int64_t provisioner_id,
						    const char *jti,
						    int64_t expires);
SUBCA_MUST_CHECK subca_result subca__sqlite_jti_prune(struct subca_store *st,
						      int64_t now,
						      int64_t *removed);

/* Revocation publishing (sqlite_revocation.c). */
SUBCA_MUST_CHECK subca_result subca__sqlite_cert_revoked_each(
	struct subca_store *st, int64_t intermediate_id,
	int64_t expired_before, subca_revoked_fn fn, void *arg);
SUBCA_MUST_CHECK subca_result subca__sqlite_crl_number_next(
	struct subca_store *st, int64_t intermediate_id, int64_t *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_crl_put(
	struct subca_store *st, const struct subca_crl_rec *r);
SUBCA_MUST_CHECK subca_result subca__sqlite_crl_next_update(
	struct subca_store *st, int64_t intermediate_id, int64_t *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_crl_get(
	struct subca_store *st, int64_t intermediate_id,
	struct subca_crl_rec *out);

/* Certificates of an intermediate's key (sqlite_intcerts.c). */
SUBCA_MUST_CHECK subca_result subca__sqlite_intermediate_cert_add(
	struct subca_store *st, struct subca_intermediate_cert_rec *r);
SUBCA_MUST_CHECK subca_result subca__sqlite_intermediate_cert_list(
	struct subca_store *st, int64_t authority_id,
	struct subca_intermediate_cert_list *out);

/*
 * Certificate writes on one connection (sqlite_ops.c): cert_add, then the
 * audit entry when `audit` is not NULL, in one transaction (a savepoint
 * inside an open one). The group writer runs these for each queued record.
 */
SUBCA_MUST_CHECK subca_result subca__sqlite_cert_write(
	struct subca__sqlite *s, struct subca_cert_rec *r,
	const struct subca_audit_rec *audit);

/* ACME rows and EAB keys (sqlite_acme.c): the acme_* operations. */
SUBCA_MUST_CHECK subca_result subca__sqlite_acme_add(
	struct subca_store *st, enum subca_acme_kind kind,
	struct subca_acme_rec *r);
SUBCA_MUST_CHECK subca_result subca__sqlite_acme_get(
	struct subca_store *st, enum subca_acme_kind kind, int64_t prov,
	const char *id, struct subca_acme_rec *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_acme_find(
	struct subca_store *st, enum subca_acme_kind kind, int64_t prov,
	const char *lookup, struct subca_acme_rec *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_acme_list(
	struct subca_store *st, enum subca_acme_kind kind,
	const struct subca_acme_filter *f, struct subca_acme_list *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_acme_update(
	struct subca_store *st, enum subca_acme_kind kind,
	struct subca_acme_rec *r);
SUBCA_MUST_CHECK subca_result subca__sqlite_eab_add(
	struct subca_store *st, const struct subca_acme_eab_rec *r);
SUBCA_MUST_CHECK subca_result subca__sqlite_eab_get(
	struct subca_store *st, int64_t prov, const char *kid,
	struct subca_acme_eab_rec *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_eab_bind(
	struct subca_store *st, int64_t prov, const char *kid,
	const char *account);

/* Group commit (sqlite_group.c). */
SUBCA_MUST_CHECK subca_result subca__sqlite_group_commit(struct subca_store *st,
							 bool on);
SUBCA_MUST_CHECK subca_result subca__sqlite_group_stats(
	struct subca_store *st, struct subca_group_stats *out);
SUBCA_MUST_CHECK subca_result subca__sqlite_group_observe(
	struct subca_store *st, subca_group_observer fn, void *arg);
/* Queue a write on the shared writer and wait until its batch is durable. */
SUBCA_MUST_CHECK subca_result subca__sqlite_group_submit(
	struct subca__sqlite *s, struct subca_cert_rec *r,
	const struct subca_audit_rec *audit);
/* Queue a write and return; `done` runs on the committer thread once its
 * batch is durable or failed (rec and audit borrowed until then). */
SUBCA_MUST_CHECK subca_result subca__sqlite_group_submit_async(
	struct subca__sqlite *s, struct subca_cert_rec *r,
	const struct subca_audit_rec *audit, subca_record_done done,
	void *arg);
/* Leave the group (close, or group commit turned off). */
void subca__sqlite_group_leave(struct subca__sqlite *s);

#endif
