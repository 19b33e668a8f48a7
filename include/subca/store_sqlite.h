/*
 * The embedded SQLite store: one database file `subca.db` in the data
 * directory, WAL journal, foreign keys on, synchronous=FULL, schema
 * versioned (PRAGMA user_version) with forward-only migrations.
 */
#ifndef SUBCA_STORE_SQLITE_H
#define SUBCA_STORE_SQLITE_H

#include "subca/store.h"

/*
 * Open the database at `path`; with `create`, create it (mode 0600) when it
 * does not exist. An older schema is migrated forward on every open, one
 * transaction per step. SUBCA_E_NOT_INITIALISED when the file does not
 * exist, or has no subca schema, and `create` is false; SUBCA_E_STORE for a
 * schema newer than this build ("database schema version N is newer than
 * this subca (M)"), a file that is not a database, or a file system where
 * WAL cannot work; SUBCA_E_NOMEM. *out is closed with (*out)->ops->close(*out).
 */
SUBCA_MUST_CHECK subca_result subca_store_sqlite_open(const char *path,
						      bool create,
						      struct subca_store **out);

/*
 * Run SQLite's integrity_check and foreign_key_check; SUBCA_E_STORE with the
 * first complaint.
 */
SUBCA_MUST_CHECK subca_result subca_store_sqlite_check(struct subca_store *st);

/* The schema version this build writes. */
int subca_store_sqlite_schema_version(void);

#endif
