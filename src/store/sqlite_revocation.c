/*
 * The SQLite store's revocation-publishing operations: streaming the
 * revoked certificates of one intermediate (partial index
 * certificates_revoked_by_intermediate), CRL numbers allocated in one
 * statement, and the latest CRL of each intermediate.
 */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/limits.h"

subca_result subca__sqlite_cert_revoked_each(struct subca_store *st,
					     int64_t intermediate_id,
					     int64_t expired_before,
					     subca_revoked_fn fn, void *arg)
{
	/* `status = 'revoked'` spelled as in the partial index, so SQLite
	 * uses it */
	static const char sql[] =
		"SELECT serial, revoked_at, reason FROM certificates"
		" WHERE intermediate_id = ? AND status = 'revoked'"
		" AND not_after >= ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	int64_t ints[] = {intermediate_id, expired_before};
	bool row;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 1, ints, 2));
	for (;;) {
		SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
		if (!row)
			return SUBCA_OK;
		SUBCA_TRY(fn(arg, (const char *)sqlite3_column_text(stmt, 0),
			     sqlite3_column_int64(stmt, 1),
			     sqlite3_column_int(stmt, 2)));
	}
}

subca_result subca__sqlite_crl_number_next(struct subca_store *st,
					   int64_t intermediate_id,
					   int64_t *out)
{
	/* one statement: atomic however many processes share the file */
	static const char sql[] =
		"INSERT INTO crl_numbers (intermediate_id, last) VALUES (?, 1)"
		" ON CONFLICT (intermediate_id) DO UPDATE SET last = last + 1"
		" RETURNING last";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	char missing[64];

	*out = 0;
	snprintf(missing, sizeof(missing), "no intermediate with id %lld",
		 (long long)intermediate_id);
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, intermediate_id));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, missing));
	*out = sqlite3_column_int64(stmt, 0);
	SUBCA_ENSURE(*out >= 1, SUBCA_E_STORE, "no CRL number came back");
	return SUBCA_OK;
}

subca_result subca__sqlite_crl_put(struct subca_store *st,
				   const struct subca_crl_rec *r)
{
	/* a slower builder never replaces a newer CRL */
	static const char sql[] =
		"INSERT INTO crls (intermediate_id, number, this_update,"
		" next_update, entries, der) VALUES (?, ?, ?, ?, ?, ?)"
		" ON CONFLICT (intermediate_id) DO UPDATE SET"
		" number = excluded.number, this_update = excluded.this_update,"
		" next_update = excluded.next_update,"
		" entries = excluded.entries, der = excluded.der"
		" WHERE excluded.number > crls.number";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	int64_t ints[] = {r->intermediate_id, r->number, r->this_update,
			  r->next_update, r->entries};
	char missing[64];

	SUBCA_ENSURE(r->der != NULL && r->der_len > 0 &&
			     r->der_len <= SUBCA_MAX_CRL,
		     SUBCA_E_INVALID_ARGUMENT, "no CRL, or one over %u bytes",
		     SUBCA_MAX_CRL);
	snprintf(missing, sizeof(missing), "no intermediate with id %lld",
		 (long long)r->intermediate_id);
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 1, ints, 5));
	if (sqlite3_bind_blob64(stmt, 6, r->der, r->der_len,
				SQLITE_STATIC) != SQLITE_OK)
		return subca__sqlite_fail(s, "binding the CRL");
	return subca__sqlite_done(s, stmt, NULL, missing);
}

static subca_result subca__crl_row(sqlite3_stmt *stmt,
				   struct subca_crl_rec *out)
{
	const void *der = sqlite3_column_blob(stmt, 5);
	int n = sqlite3_column_bytes(stmt, 5);

	out->intermediate_id = sqlite3_column_int64(stmt, 0);
	out->number = sqlite3_column_int64(stmt, 1);
	out->this_update = sqlite3_column_int64(stmt, 2);
	out->next_update = sqlite3_column_int64(stmt, 3);
	out->entries = sqlite3_column_int64(stmt, 4);
	SUBCA_ENSURE(der != NULL && n > 0, SUBCA_E_STORE,
		     "the stored CRL is empty");
	out->der = subca_malloc((size_t)n);
	SUBCA_ENSURE(out->der != NULL, SUBCA_E_NOMEM, "out of memory");
	memcpy(out->der, der, (size_t)n);
	out->der_len = (size_t)n;
	return SUBCA_OK;
}

/* The intermediate's stored CRL row through `sql` (its one parameter the
 * intermediate id), on *stmt; NOT_FOUND when none was stored. */
static subca_result subca__crl_select(struct subca_store *st, const char *sql,
				      int64_t intermediate_id,
				      sqlite3_stmt **stmt)
{
	struct subca__sqlite *s = subca__sqlite_of(st);
	bool row;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, *stmt, 1, intermediate_id));
	SUBCA_TRY(subca__sqlite_row(s, *stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND,
		     "no CRL has been published for intermediate %lld",
		     (long long)intermediate_id);
	return SUBCA_OK;
}

subca_result subca__sqlite_crl_next_update(struct subca_store *st,
					   int64_t intermediate_id,
					   int64_t *out)
{
	static const char sql[] =
		"SELECT next_update FROM crls WHERE intermediate_id = ?";
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;

	*out = 0;
	SUBCA_TRY(subca__crl_select(st, sql, intermediate_id, &stmt));
	*out = sqlite3_column_int64(stmt, 0);
	return SUBCA_OK;
}

subca_result subca__sqlite_crl_get(struct subca_store *st,
				   int64_t intermediate_id,
				   struct subca_crl_rec *out)
{
	static const char sql[] =
		"SELECT intermediate_id, number, this_update, next_update,"
		" entries, der FROM crls WHERE intermediate_id = ?";
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__crl_select(st, sql, intermediate_id, &stmt));
	return subca__crl_row(stmt, out);
}
