/*
 * The SQLite store's credential records: admin tokens, provisioners and the
 * one-time token ids (jti) already used. Secrets never reach this file:
 * only their SHA-256 hashes.
 */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/limits.h"

#define SUBCA__REASON(buf, ...) snprintf((buf), sizeof(buf), __VA_ARGS__)

/* ---- admin tokens ------------------------------------------------------ */

#define SUBCA__TOKEN_SELECT                                            \
	"SELECT id, hash, description, scope, created,"                \
	" coalesce(expires, 0), coalesce(revoked, 0) FROM admin_tokens"

static subca_result subca__token_row(sqlite3_stmt *stmt,
				     struct subca_admin_token_rec *r)
{
	char **texts[] = {&r->hash, &r->description, &r->scope};

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(stmt, 0);
	r->created = sqlite3_column_int64(stmt, 4);
	r->expires = sqlite3_column_int64(stmt, 5);
	r->revoked = sqlite3_column_int64(stmt, 6);
	return subca__sqlite_texts(stmt, 1, texts, 3);
}

subca_result subca__sqlite_admin_token_add(struct subca_store *st,
					   struct subca_admin_token_rec *r)
{
	/* 0 means "never" / "not revoked" in the record, NULL in the table */
	static const char sql[] =
		"INSERT INTO admin_tokens (hash, description, scope, created,"
		" expires, revoked) VALUES (?, coalesce(?, ''), ?, ?,"
		" nullif(?, 0), nullif(?, 0))";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->hash, r->description, r->scope};
	int64_t ints[] = {r->created, r->expires, r->revoked};

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 1, texts, 3));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 4, ints, 3));
	SUBCA_TRY(subca__sqlite_done(s, stmt,
				     "an admin token with this hash already exists",
				     NULL));
	r->id = sqlite3_last_insert_rowid(s->db);
	return SUBCA_OK;
}

subca_result subca__sqlite_admin_token_get_by_hash(
	struct subca_store *st, const char *hash,
	struct subca_admin_token_rec *out)
{
	static const char sql[] = SUBCA__TOKEN_SELECT " WHERE hash = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 1, hash));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	/* the hash is not echoed: it identifies a credential */
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no admin token with this hash");
	return subca__token_row(stmt, out);
}

subca_result subca__sqlite_admin_token_list(struct subca_store *st,
					    struct subca_admin_token_list *out)
{
	static const char sql[] = SUBCA__TOKEN_SELECT " ORDER BY id";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	subca_result rv;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	rv = SUBCA__SQLITE_COLLECT(s, stmt, out, subca__token_row);
	if (rv != SUBCA_OK)
		subca_admin_token_list_cleanup(out);
	return rv;
}

subca_result subca__sqlite_admin_token_revoke(struct subca_store *st,
					      int64_t id, int64_t when)
{
	/* a revoked token keeps the time of its first revocation */
	static const char sql[] =
		"UPDATE admin_tokens SET revoked = coalesce(revoked, ?)"
		" WHERE id = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	int64_t ints[] = {when, id};

	SUBCA_ENSURE(when > 0, SUBCA_E_INVALID_ARGUMENT,
		     "revocation time must be positive");
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 1, ints, 2));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, NULL));
	SUBCA_ENSURE(sqlite3_changes(s->db) > 0, SUBCA_E_NOT_FOUND,
		     "no admin token with id %lld", (long long)id);
	return SUBCA_OK;
}

/* ---- provisioners ------------------------------------------------------ */

#define SUBCA__PROV_SELECT                                              \
	"SELECT id, authority_id, name, type, jwk_json, key_hash, policy," \
	" created, options FROM provisioners"

static subca_result subca__prov_row(sqlite3_stmt *stmt,
				    struct subca_provisioner_rec *r)
{
	char **texts[] = {&r->jwk_json, &r->key_hash, &r->policy};
	char **opts[] = {&r->options};
	const char *type = (const char *)sqlite3_column_text(stmt, 3);
	enum subca_provisioner_type t = SUBCA_PROV_JWK;
	subca_result rv;

	memset(r, 0, sizeof(*r));
	if (subca_provisioner_type_parse(type, &t) != SUBCA_OK)
		SUBCA_BAIL(SUBCA_E_STORE,
			   "unknown provisioner type \"%s\" in the database",
			   type ? type : "(null)");
	r->id = sqlite3_column_int64(stmt, 0);
	r->authority_id = sqlite3_column_int64(stmt, 1);
	r->type = t;
	r->created = sqlite3_column_int64(stmt, 7);
	SUBCA_TRY(subca__sqlite_text(stmt, 2, &r->name));
	rv = subca__sqlite_texts(stmt, 4, texts, 3);
	if (rv == SUBCA_OK)
		rv = subca__sqlite_texts(stmt, 8, opts, 1);
	if (rv != SUBCA_OK)
		subca_provisioner_rec_cleanup(r);
	return rv;
}

subca_result subca__sqlite_provisioner_add(struct subca_store *st,
					   struct subca_provisioner_rec *r)
{
	static const char sql[] =
		"INSERT INTO provisioners (authority_id, name, type, jwk_json,"
		" key_hash, policy, created, options)"
		" VALUES (?, ?, ?, ?, ?, coalesce(?, '{}'), ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->name, subca_provisioner_type_name(r->type),
			       r->jwk_json, r->key_hash, r->policy};
	char exists[160], missing[128];
	subca_result rv;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->authority_id));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 2, texts, 5));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 7, r->created));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 8, r->options));
	SUBCA__REASON(exists,
		      "provisioner \"%.64s\" already exists in this authority",
		      r->name ? r->name : "");
	SUBCA__REASON(missing, "no authority with id %lld",
		      (long long)r->authority_id);
	rv = subca__sqlite_done(s, stmt, exists, missing);
	if (rv == SUBCA_E_EXISTS &&
	    strstr(sqlite3_errmsg(s->db), "provisioners.key_hash") != NULL)
		SUBCA_BAIL(SUBCA_E_EXISTS,
			   "a provisioner with this API key hash already exists");
	SUBCA_TRY(rv);
	r->id = sqlite3_last_insert_rowid(s->db);
	return SUBCA_OK;
}

subca_result subca__sqlite_provisioner_get(struct subca_store *st,
					   int64_t authority_id,
					   const char *name,
					   struct subca_provisioner_rec *out)
{
	static const char sql[] = SUBCA__PROV_SELECT
		" WHERE authority_id = ? AND name = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_cached(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, name));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no provisioner \"%.64s\"",
		     name ? name : "");
	return subca__prov_row(stmt, out);
}

subca_result subca__sqlite_provisioner_get_by_key_hash(
	struct subca_store *st, int64_t authority_id, const char *key_hash,
	struct subca_provisioner_rec *out)
{
	static const char sql[] = SUBCA__PROV_SELECT
		" WHERE authority_id = ? AND key_hash = ? AND type = 'apikey'";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_cached(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, key_hash));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND,
		     "no API-key provisioner with this key in the authority");
	return subca__prov_row(stmt, out);
}

subca_result subca__sqlite_provisioner_list(struct subca_store *st,
					    int64_t authority_id,
					    struct subca_provisioner_list *out)
{
	static const char sql[] = SUBCA__PROV_SELECT
		" WHERE authority_id = ? ORDER BY name";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	subca_result rv;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	rv = SUBCA__SQLITE_COLLECT(s, stmt, out, subca__prov_row);
	if (rv != SUBCA_OK)
		subca_provisioner_list_cleanup(out);
	return rv;
}

subca_result subca__sqlite_provisioner_remove(struct subca_store *st,
					      int64_t authority_id,
					      const char *name)
{
	/* its token ids go too (ON DELETE CASCADE) */
	static const char sql[] =
		"DELETE FROM provisioners WHERE authority_id = ? AND name = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, name));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, NULL));
	SUBCA_ENSURE(sqlite3_changes(s->db) > 0, SUBCA_E_NOT_FOUND,
		     "no provisioner \"%.64s\"", name ? name : "");
	return SUBCA_OK;
}

/* ---- one-time token ids ------------------------------------------------ */

subca_result subca__sqlite_jti_use(struct subca_store *st,
				   int64_t provisioner_id, const char *jti,
				   int64_t expires)
{
	static const char sql[] =
		"INSERT INTO token_jti (provisioner_id, jti, expires)"
		" VALUES (?, ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	char missing[96];

	SUBCA_ENSURE(jti != NULL && jti[0] != '\0' &&
			     strnlen(jti, SUBCA_MAX_JTI + 1) <=
				     SUBCA_MAX_JTI,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a token id (jti) must have 1 to %d characters",
		     SUBCA_MAX_JTI);
	SUBCA_TRY(subca__sqlite_cached(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, provisioner_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, jti));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 3, expires));
	SUBCA__REASON(missing, "no provisioner with id %lld",
		      (long long)provisioner_id);
	return subca__sqlite_done(
		s, stmt, "token already used: a one-time token cannot be replayed",
		missing);
}

subca_result subca__sqlite_jti_prune(struct subca_store *st, int64_t now,
				     int64_t *removed)
{
	static const char sql[] = "DELETE FROM token_jti WHERE expires < ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;

	if (removed != NULL)
		*removed = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, now));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, NULL));
	if (removed != NULL)
		*removed = sqlite3_changes(s->db);
	return SUBCA_OK;
}
