/*
 * Internals shared by the SQLite store's files: the connection, the
 * statement helpers that map SQLite's result codes to subca errors, and the
 * operations table.
 */
#ifndef SUBCA_STORE_SQLITE_INT_H
#define SUBCA_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "subca/store_sqlite.h"

struct subca__sqlite {
	struct subca_store base; /* first: a subca_store * is a subca__sqlite * */
	sqlite3 *db;
	int depth; /* open transactions: 0 none, 1 BEGIN, >1 savepoints */
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

#endif
