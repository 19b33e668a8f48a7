/*
 * The SQLite store's ACME rows: accounts, orders, authorizations and
 * challenges share one row shape, each kind in its own table, so one set
 * of statements (one constant string per table, chosen by kind) serves
 * them all. Updates are compare-and-set on a version column: two server
 * processes that read the same order cannot both move it on.
 */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/limits.h"

#define SUBCA__COLS                                                     \
	"id, provisioner_id, parent, status, lookup, doc, expires, version," \
	" created, updated"

#define SUBCA__STMTS(t)                                                       \
	{                                                                     \
		"INSERT INTO " t " (" SUBCA__COLS ")"                         \
		" VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",                     \
		"SELECT " SUBCA__COLS " FROM " t                              \
		" WHERE provisioner_id = ? AND id = ?",                       \
		"SELECT " SUBCA__COLS " FROM " t                              \
		" WHERE provisioner_id = ? AND lookup = ?"                    \
		" ORDER BY created DESC, rowid DESC LIMIT 1",                 \
		"SELECT " SUBCA__COLS " FROM " t                              \
		" WHERE (?1 = 0 OR provisioner_id = ?1)"                      \
		" AND (?2 IS NULL OR parent = ?2)"                            \
		" AND (?3 IS NULL OR status = ?3)"                            \
		" AND (?5 IS NULL OR (created, rowid) > (SELECT created, rowid" \
		" FROM " t " WHERE provisioner_id = ?1 AND id = ?5))"         \
		" ORDER BY created, rowid LIMIT ?4",                          \
		"UPDATE " t " SET status = ?, lookup = ?, doc = ?,"           \
		" expires = ?, updated = ?, version = version + 1"            \
		" WHERE provisioner_id = ? AND id = ? AND version = ?",       \
		"SELECT version FROM " t " WHERE provisioner_id = ? AND id = ?", \
	}

enum { SUBCA__INS, SUBCA__GET, SUBCA__FIND, SUBCA__LIST, SUBCA__UPD,
       SUBCA__VER, SUBCA__NSTMT };

static const char *const subca__acme_sql[SUBCA_ACME__KINDS][SUBCA__NSTMT] = {
	[SUBCA_ACME_ACCOUNT] = SUBCA__STMTS("acme_accounts"),
	[SUBCA_ACME_ORDER] = SUBCA__STMTS("acme_orders"),
	[SUBCA_ACME_AUTHZ] = SUBCA__STMTS("acme_authzs"),
	[SUBCA_ACME_CHALLENGE] = SUBCA__STMTS("acme_challenges"),
};

static const char *const subca__acme_names[SUBCA_ACME__KINDS] = {
	"account", "order", "authorization", "challenge"};

static subca_result subca__kind(enum subca_acme_kind k)
{
	SUBCA_ENSURE((unsigned)k < SUBCA_ACME__KINDS, SUBCA_E_INVALID_ARGUMENT,
		     "unknown ACME record kind %d", (int)k);
	return SUBCA_OK;
}

static subca_result subca__acme_row(sqlite3_stmt *stmt,
				    struct subca_acme_rec *r)
{
	char **texts[] = {&r->parent, &r->status, &r->lookup, &r->doc};
	subca_result rv;

	memset(r, 0, sizeof(*r));
	r->provisioner_id = sqlite3_column_int64(stmt, 1);
	r->expires = sqlite3_column_int64(stmt, 6);
	r->version = sqlite3_column_int64(stmt, 7);
	r->created = sqlite3_column_int64(stmt, 8);
	r->updated = sqlite3_column_int64(stmt, 9);
	SUBCA_TRY(subca__sqlite_text(stmt, 0, &r->id));
	rv = subca__sqlite_texts(stmt, 2, texts, 4);
	if (rv != SUBCA_OK)
		subca_acme_rec_cleanup(r);
	return rv;
}

subca_result subca__sqlite_acme_add(struct subca_store *st,
				    enum subca_acme_kind kind,
				    struct subca_acme_rec *r)
{
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->parent, r->status, r->lookup, r->doc};
	int64_t ints[] = {r->expires, r->created, r->updated};
	char exists[128];

	SUBCA_TRY(subca__kind(kind));
	SUBCA_TRY(subca__sqlite_cached(s, subca__acme_sql[kind][SUBCA__INS],
				       &stmt));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 1, r->id));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 2, r->provisioner_id));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 3, texts, 4));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 7, ints, 3));
	snprintf(exists, sizeof(exists),
		 kind == SUBCA_ACME_ACCOUNT
			 ? "an ACME account with this id or key already exists"
			 : "an ACME %s with this id already exists",
		 subca__acme_names[kind]);
	SUBCA_TRY(subca__sqlite_done(s, stmt, exists,
				     "no such ACME provisioner"));
	r->version = 1;
	return SUBCA_OK;
}

static subca_result subca__acme_one(struct subca_store *st,
				    enum subca_acme_kind kind, int which,
				    int64_t prov, const char *key,
				    struct subca_acme_rec *out)
{
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__kind(kind));
	SUBCA_TRY(subca__sqlite_cached(s, subca__acme_sql[kind][which],
				       &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, prov));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, key));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no such ACME %s",
		     subca__acme_names[kind]);
	return subca__acme_row(stmt, out);
}

subca_result subca__sqlite_acme_get(struct subca_store *st,
				    enum subca_acme_kind kind, int64_t prov,
				    const char *id, struct subca_acme_rec *out)
{
	return subca__acme_one(st, kind, SUBCA__GET, prov, id, out);
}

subca_result subca__sqlite_acme_find(struct subca_store *st,
				     enum subca_acme_kind kind, int64_t prov,
				     const char *lookup,
				     struct subca_acme_rec *out)
{
	return subca__acme_one(st, kind, SUBCA__FIND, prov, lookup, out);
}

subca_result subca__sqlite_acme_list(struct subca_store *st,
				     enum subca_acme_kind kind,
				     const struct subca_acme_filter *f,
				     struct subca_acme_list *out)
{
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	size_t limit = f->limit ? f->limit : SUBCA_MAX_LIST_PAGE;
	subca_result rv;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__kind(kind));
	SUBCA_ENSURE(limit <= SUBCA_MAX_LIST_PAGE, SUBCA_E_INVALID_ARGUMENT,
		     "a page holds at most %d records", SUBCA_MAX_LIST_PAGE);
	SUBCA_TRY(subca__sqlite_cached(s, subca__acme_sql[kind][SUBCA__LIST],
				       &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, f->provisioner_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, f->parent));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 3, f->status));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 4, (int64_t)limit));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 5, f->after));
	rv = SUBCA__SQLITE_COLLECT(s, stmt, out, subca__acme_row);
	if (rv != SUBCA_OK)
		subca_acme_list_cleanup(out);
	return rv;
}

/* After a compare-and-set that changed nothing: gone, or moved on? */
static subca_result subca__acme_lost(struct subca__sqlite *s,
				     enum subca_acme_kind kind,
				     const struct subca_acme_rec *r)
{
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	SUBCA_TRY(subca__sqlite_cached(s, subca__acme_sql[kind][SUBCA__VER],
				       &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->provisioner_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, r->id));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no such ACME %s",
		     subca__acme_names[kind]);
	SUBCA_BAIL(SUBCA_E_STATE,
		   "the ACME %s changed concurrently (version %lld, now %lld)",
		   subca__acme_names[kind], (long long)r->version,
		   (long long)sqlite3_column_int64(stmt, 0));
}

subca_result subca__sqlite_acme_update(struct subca_store *st,
				       enum subca_acme_kind kind,
				       struct subca_acme_rec *r)
{
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->status, r->lookup, r->doc};
	int64_t ints[] = {r->expires, r->updated, r->provisioner_id};

	SUBCA_TRY(subca__kind(kind));
	SUBCA_TRY(subca__sqlite_cached(s, subca__acme_sql[kind][SUBCA__UPD],
				       &stmt));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 1, texts, 3));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 4, ints, 3));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 7, r->id));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 8, r->version));
	SUBCA_TRY(subca__sqlite_done(s, stmt,
				     "an ACME account with this key already "
				     "exists",
				     NULL));
	if (sqlite3_changes(s->db) == 0)
		return subca__acme_lost(s, kind, r);
	r->version++;
	return SUBCA_OK;
}

/* ---- EAB keys ---------------------------------------------------------- */

subca_result subca__sqlite_eab_add(struct subca_store *st,
				   const struct subca_acme_eab_rec *r)
{
	static const char sql[] =
		"INSERT INTO acme_eab_keys (kid, provisioner_id, sealed,"
		" account_id, created) VALUES (?, ?, ?, ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 1, r->kid));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 2, r->provisioner_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 3, r->sealed));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 4, r->account_id));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 5, r->created));
	return subca__sqlite_done(s, stmt, "an EAB key with this kid exists",
				  "no such ACME provisioner");
}

subca_result subca__sqlite_eab_get(struct subca_store *st, int64_t prov,
				   const char *kid,
				   struct subca_acme_eab_rec *out)
{
	static const char sql[] =
		"SELECT kid, sealed, account_id, provisioner_id, created"
		" FROM acme_eab_keys WHERE provisioner_id = ? AND kid = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	char **texts[] = {&out->kid, &out->sealed, &out->account_id};
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, prov));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, kid));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no EAB key with this kid");
	out->provisioner_id = sqlite3_column_int64(stmt, 3);
	out->created = sqlite3_column_int64(stmt, 4);
	return subca__sqlite_texts(stmt, 0, texts, 3);
}

subca_result subca__sqlite_eab_bind(struct subca_store *st, int64_t prov,
				    const char *kid, const char *account)
{
	/* a key binds one account, once (RFC 8555 7.3.4: "already used") */
	static const char sql[] =
		"UPDATE acme_eab_keys SET account_id = ?3"
		" WHERE provisioner_id = ?1 AND kid = ?2"
		" AND (account_id IS NULL OR account_id = ?3)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, prov));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, kid));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 3, account));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, NULL));
	SUBCA_ENSURE(sqlite3_changes(s->db) > 0, SUBCA_E_STATE,
		     "the EAB key is unknown or already bound to another "
		     "account");
	return SUBCA_OK;
}
