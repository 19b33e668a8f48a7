/*
 * The SQLite store's certificates of an intermediate's key (schema 6):
 * what re-certifications of the same key recorded, for alternate chains.
 */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

subca_result subca__sqlite_intermediate_cert_add(
	struct subca_store *st, struct subca_intermediate_cert_rec *r)
{
	static const char sql[] =
		"INSERT INTO intermediate_certs (intermediate_id, pem,"
		" fingerprint, not_before, not_after, recorded)"
		" VALUES (?, ?, ?, ?, ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->pem, r->fingerprint};
	int64_t ints[] = {r->not_before, r->not_after, r->recorded};
	char exists[160], missing[64];

	snprintf(exists, sizeof(exists),
		 "certificate sha256 %.64s is already recorded for "
		 "intermediate #%lld",
		 r->fingerprint ? r->fingerprint : "-",
		 (long long)r->intermediate_id);
	snprintf(missing, sizeof(missing), "no intermediate with id %lld",
		 (long long)r->intermediate_id);
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->intermediate_id));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 2, texts, 2));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 4, ints, 3));
	SUBCA_TRY(subca__sqlite_done(s, stmt, exists, missing));
	r->id = sqlite3_last_insert_rowid(s->db);
	return SUBCA_OK;
}

static subca_result subca__intcert_row(sqlite3_stmt *stmt,
				       struct subca_intermediate_cert_rec *r)
{
	char **texts[] = {&r->pem, &r->fingerprint};

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(stmt, 0);
	r->intermediate_id = sqlite3_column_int64(stmt, 1);
	r->not_before = sqlite3_column_int64(stmt, 4);
	r->not_after = sqlite3_column_int64(stmt, 5);
	r->recorded = sqlite3_column_int64(stmt, 6);
	return subca__sqlite_texts(stmt, 2, texts, 2);
}

subca_result subca__sqlite_intermediate_cert_list(
	struct subca_store *st, int64_t authority_id,
	struct subca_intermediate_cert_list *out)
{
	static const char sql[] =
		"SELECT c.id, c.intermediate_id, c.pem, c.fingerprint,"
		" c.not_before, c.not_after, c.recorded"
		" FROM intermediate_certs c"
		" JOIN intermediates i ON i.id = c.intermediate_id"
		" WHERE i.authority_id = ? ORDER BY c.id";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	subca_result rv;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	rv = SUBCA__SQLITE_COLLECT(s, stmt, out, subca__intcert_row);
	if (rv != SUBCA_OK)
		subca_intermediate_cert_list_cleanup(out);
	return rv;
}
