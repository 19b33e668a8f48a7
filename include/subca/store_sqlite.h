/*
 * The embedded SQLite store: one database file `subca.db` in the data
 * directory, WAL journal, foreign keys on, synchronous=FULL, schema
 * versioned (PRAGMA user_version) with forward-only migrations.
 */
#ifndef SUBCA_STORE_SQLITE_H
#define SUBCA_STORE_SQLITE_H

#include "subca/store.h"

/*
 * Open (creating and migrating when `create` is true) the database at
 * `path`. SUBCA_E_NOT_INITIALISED when it does not exist and `create` is
 * false; SUBCA_E_STORE with SQLite's message otherwise. *out is closed with
 * (*out)->ops->close(*out).
 */
SUBCA_MUST_CHECK subca_result subca_store_sqlite_open(const char *path,
						      bool create,
						      struct subca_store **out);

/* Run SQLite's integrity_check; SUBCA_E_STORE with its first complaint. */
SUBCA_MUST_CHECK subca_result subca_store_sqlite_check(struct subca_store *st);

/* The schema version this build writes. */
int subca_store_sqlite_schema_version(void);

#endif
