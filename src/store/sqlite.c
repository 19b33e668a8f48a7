/*
 * The embedded SQLite store: opening, schema migrations, transactions,
 * the integrity check, and the statement helpers the record operations in
 * sqlite_ops.c are written with.
 *
 * Every statement that carries data is prepared with bound parameters; the
 * only SQL text ever built at run time is `PRAGMA user_version = <int>`,
 * from this file's own migration counter.
 */
#include "sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subca/alloc.h"

/*
 * Forward-only migrations: entry i takes the schema from version i to
 * version i + 1. Never edit a shipped entry; append a new one.
 */
static const char *const subca__migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL"
	");"
	"CREATE TABLE authorities ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE"
	"    CHECK (length(name) BETWEEN 1 AND 63),"
	"  subdomain TEXT NOT NULL UNIQUE COLLATE NOCASE"
	"    CHECK (length(subdomain) BETWEEN 1 AND 63),"
	"  state TEXT NOT NULL CHECK (state IN"
	"    ('needs-root', 'needs-intermediate', 'pending', 'active')),"
	"  generated_root INTEGER NOT NULL DEFAULT 0"
	"    CHECK (generated_root IN (0, 1)),"
	"  root_key_id TEXT,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE roots ("
	"  authority_id INTEGER PRIMARY KEY REFERENCES authorities(id),"
	"  pem TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  imported INTEGER NOT NULL"
	");"
	"CREATE TABLE intermediates ("
	"  id INTEGER PRIMARY KEY,"
	"  authority_id INTEGER NOT NULL REFERENCES authorities(id),"
	"  state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired')),"
	"  key_id TEXT NOT NULL,"
	"  key_type TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  csr_pem TEXT NOT NULL,"
	"  cert_pem TEXT,"
	"  fingerprint TEXT,"
	"  crl_url TEXT,"
	"  ocsp_url TEXT,"
	"  days INTEGER NOT NULL CHECK (days > 0),"
	"  not_before INTEGER NOT NULL DEFAULT 0,"
	"  not_after INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	/* only a verified certificate can issue */
	"  CHECK (state = 'pending' OR cert_pem IS NOT NULL),"
	"  UNIQUE (id, authority_id)"
	");"
	"CREATE UNIQUE INDEX intermediates_one_active"
	"  ON intermediates(authority_id) WHERE state = 'active';"
	"CREATE INDEX intermediates_by_authority"
	"  ON intermediates(authority_id, id);"
	"CREATE TABLE certificates ("
	"  id INTEGER PRIMARY KEY,"
	"  authority_id INTEGER NOT NULL REFERENCES authorities(id),"
	"  intermediate_id INTEGER NOT NULL,"
	"  serial TEXT NOT NULL CHECK (length(serial) BETWEEN 1 AND 40"
	"    AND serial NOT GLOB '*[^0-9a-f]*'"
	"    AND (serial = '0' OR serial NOT GLOB '0*')),"
	"  subject TEXT NOT NULL,"
	"  sans TEXT,"
	"  pem TEXT NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  issued_by TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (authority_id, serial),"
	/* the issuing intermediate belongs to the same authority */
	"  FOREIGN KEY (intermediate_id, authority_id)"
	"    REFERENCES intermediates(id, authority_id)"
	");"
	"CREATE INDEX certificates_by_expiry"
	"  ON certificates(authority_id, not_after);"
	"CREATE INDEX certificates_by_intermediate"
	"  ON certificates(intermediate_id);"
	"CREATE TABLE audit_log ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ts INTEGER NOT NULL,"
	"  authority TEXT,"
	"  action TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  actor TEXT NOT NULL"
	");"
	"CREATE INDEX audit_log_by_authority ON audit_log(authority, id);"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",

	/* 2: admin tokens, provisioners, one-time token ids, revocation */
	"CREATE TABLE admin_tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64"
	"    AND hash NOT GLOB '*[^0-9a-f]*'),"
	"  description TEXT NOT NULL DEFAULT ''"
	"    CHECK (length(description) <= 256),"
	/* NULL: global; else authority names (DNS labels) joined by commas */
	"  scope TEXT CHECK (scope IS NULL OR (length(scope) BETWEEN 1 AND 4096"
	"    AND scope NOT GLOB '*[^a-z0-9,-]*' AND scope NOT GLOB ',*'"
	"    AND scope NOT GLOB '*,' AND scope NOT GLOB '*,,*')),"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER,"
	"  revoked INTEGER"
	");"
	"CREATE TABLE provisioners ("
	"  id INTEGER PRIMARY KEY,"
	"  authority_id INTEGER NOT NULL REFERENCES authorities(id),"
	"  name TEXT NOT NULL COLLATE NOCASE"
	"    CHECK (length(name) BETWEEN 1 AND 63),"
	"  type TEXT NOT NULL CHECK (type IN ('jwk', 'apikey', 'acme')),"
	"  jwk_json TEXT,"
	"  key_hash TEXT CHECK (key_hash IS NULL OR (length(key_hash) = 64"
	"    AND key_hash NOT GLOB '*[^0-9a-f]*')),"
	"  policy TEXT NOT NULL DEFAULT '{}',"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (authority_id, name),"
	/* each type carries its own credential and only that */
	"  CHECK ((type = 'jwk') = (jwk_json IS NOT NULL)),"
	"  CHECK ((type = 'apikey') = (key_hash IS NOT NULL))"
	");"
	"CREATE UNIQUE INDEX provisioners_by_key_hash"
	"  ON provisioners(key_hash) WHERE key_hash IS NOT NULL;"
	"CREATE TABLE token_jti ("
	"  provisioner_id INTEGER NOT NULL"
	"    REFERENCES provisioners(id) ON DELETE CASCADE,"
	"  jti TEXT NOT NULL CHECK (length(jti) BETWEEN 1 AND 256),"
	"  expires INTEGER NOT NULL,"
	"  PRIMARY KEY (provisioner_id, jti)"
	") WITHOUT ROWID;"
	"CREATE INDEX token_jti_by_expiry ON token_jti(expires);"
	"ALTER TABLE certificates ADD COLUMN status TEXT NOT NULL"
	"  DEFAULT 'valid' CHECK (status IN ('valid', 'revoked'));"
	"ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;"
	/* RFC 5280 5.3.1: CRLReason 0..10, 7 is not used */
	"ALTER TABLE certificates ADD COLUMN reason INTEGER"
	"  CHECK (reason IS NULL OR (reason BETWEEN 0 AND 10 AND reason <> 7));"
	"ALTER TABLE certificates ADD COLUMN provisioner TEXT;"
	"CREATE INDEX certificates_by_status ON certificates(authority_id, status);"
	"CREATE TRIGGER certificates_revocation_is_final"
	"  BEFORE UPDATE OF status, revoked_at, reason ON certificates"
	"  WHEN OLD.status = 'revoked'"
	"  BEGIN SELECT RAISE(ABORT, 'a revoked certificate stays revoked'); END;",

	/* 3: rotation. A verified intermediate waiting for its activation
	 * time stays 'pending' with its certificate set (the state CHECK of
	 * schema 1 cannot grow without rebuilding a table that certificates
	 * refer to); the store reads it back as "ready". */
	"ALTER TABLE intermediates ADD COLUMN activate_at INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE intermediates ADD COLUMN retired_at INTEGER NOT NULL"
	"  DEFAULT 0;"
	"CREATE TABLE rotation_settings ("
	"  authority_id INTEGER PRIMARY KEY REFERENCES authorities(id),"
	"  rotate_before INTEGER NOT NULL CHECK (rotate_before > 0),"
	"  signer_command TEXT NOT NULL"
	"    CHECK (length(signer_command) BETWEEN 1 AND 4096),"
	"  hook_timeout INTEGER NOT NULL CHECK (hook_timeout BETWEEN 1 AND 3600),"
	"  days INTEGER NOT NULL DEFAULT 0 CHECK (days >= 0),"
	"  updated INTEGER NOT NULL"
	");",

	/* 4: revocation publishing: CRL numbers, the latest CRL of each
	 * intermediate, and an index of revoked certificates by issuer */
	"CREATE INDEX certificates_revoked_by_intermediate"
	"  ON certificates(intermediate_id, not_after) WHERE status = 'revoked';"
	"CREATE TABLE crl_numbers ("
	"  intermediate_id INTEGER PRIMARY KEY REFERENCES intermediates(id),"
	"  last INTEGER NOT NULL CHECK (last >= 1)"
	");"
	"CREATE TABLE crls ("
	"  intermediate_id INTEGER PRIMARY KEY REFERENCES intermediates(id),"
	"  number INTEGER NOT NULL CHECK (number >= 1),"
	"  this_update INTEGER NOT NULL,"
	"  next_update INTEGER NOT NULL CHECK (next_update > this_update),"
	"  entries INTEGER NOT NULL CHECK (entries >= 0),"
	"  der BLOB NOT NULL"
	");",

	/* 5: ACME (RFC 8555) state of acme provisioners, their settings and
	 * External Account Binding keys (sealed) */
	"ALTER TABLE provisioners ADD COLUMN options TEXT;"
	"CREATE TABLE acme_accounts ("
	"  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),"
	"  provisioner_id INTEGER NOT NULL"
	"    REFERENCES provisioners(id) ON DELETE CASCADE,"
	"  parent TEXT,"
	"  status TEXT NOT NULL,"
	"  lookup TEXT,"
	"  doc TEXT NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL"
	");"
	"CREATE INDEX acme_accounts_by_parent ON acme_accounts(provisioner_id, parent);"
	"CREATE INDEX acme_accounts_by_status ON acme_accounts(status);"
	/* one account per key and provisioner (RFC 8555 7.3.1, 7.3.5) */
	"CREATE UNIQUE INDEX acme_accounts_by_key"
	"  ON acme_accounts(provisioner_id, lookup);"
	"CREATE TABLE acme_orders ("
	"  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),"
	"  provisioner_id INTEGER NOT NULL"
	"    REFERENCES provisioners(id) ON DELETE CASCADE,"
	"  parent TEXT,"
	"  status TEXT NOT NULL,"
	"  lookup TEXT,"
	"  doc TEXT NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL"
	");"
	"CREATE INDEX acme_orders_by_parent ON acme_orders(provisioner_id, parent);"
	"CREATE INDEX acme_orders_by_status ON acme_orders(status);"
	"CREATE INDEX acme_orders_by_cert ON acme_orders(provisioner_id, lookup);"
	"CREATE TABLE acme_authzs ("
	"  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),"
	"  provisioner_id INTEGER NOT NULL"
	"    REFERENCES provisioners(id) ON DELETE CASCADE,"
	"  parent TEXT,"
	"  status TEXT NOT NULL,"
	"  lookup TEXT,"
	"  doc TEXT NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL"
	");"
	"CREATE INDEX acme_authzs_by_parent ON acme_authzs(provisioner_id, parent);"
	"CREATE INDEX acme_authzs_by_status ON acme_authzs(status);"
	"CREATE TABLE acme_challenges ("
	"  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),"
	"  provisioner_id INTEGER NOT NULL"
	"    REFERENCES provisioners(id) ON DELETE CASCADE,"
	"  parent TEXT,"
	"  status TEXT NOT NULL,"
	"  lookup TEXT,"
	"  doc TEXT NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL"
	");"
	"CREATE INDEX acme_challenges_by_parent ON acme_challenges(provisioner_id, parent);"
	"CREATE INDEX acme_challenges_by_status ON acme_challenges(status);"
	"CREATE TABLE acme_eab_keys ("
	"  kid TEXT PRIMARY KEY NOT NULL CHECK (length(kid) BETWEEN 1 AND 64),"
	"  provisioner_id INTEGER NOT NULL"
	"    REFERENCES provisioners(id) ON DELETE CASCADE,"
	"  sealed TEXT NOT NULL,"
	"  account_id TEXT,"
	"  created INTEGER NOT NULL"
	");",

	/* 6: every certificate recorded for an intermediate's key: the ones
	 * a re-certification replaced as the chain certificate stay here to
	 * be served as alternate chains (RFC 8555 7.4.2) */
	"CREATE TABLE intermediate_certs ("
	"  id INTEGER PRIMARY KEY,"
	"  intermediate_id INTEGER NOT NULL REFERENCES intermediates(id),"
	"  pem TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  recorded INTEGER NOT NULL,"
	"  UNIQUE (intermediate_id, fingerprint)"
	");",

	/* 7: less written per certificate. Three indexes no query uses
	 * (the list scans by id, the count by authority reads the serial
	 * index) and audit_log's AUTOINCREMENT, whose counter page every
	 * commit rewrote: audit rows are never deleted (the trigger), so the
	 * next id is the largest plus one either way and ids stay the same.
	 * A one-certificate commit wrote eight WAL pages, now four. */
	"DROP INDEX certificates_by_status;"
	"DROP INDEX certificates_by_expiry;"
	"DROP INDEX certificates_by_intermediate;"
	"CREATE TABLE audit_log_new ("
	"  id INTEGER PRIMARY KEY,"
	"  ts INTEGER NOT NULL,"
	"  authority TEXT,"
	"  action TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  actor TEXT NOT NULL"
	");"
	"INSERT INTO audit_log_new (id, ts, authority, action, detail, actor)"
	"  SELECT id, ts, authority, action, detail, actor FROM audit_log;"
	/* an implicit DELETE that fires no trigger; it takes the table's
	 * index, triggers and sqlite_sequence row with it */
	"DROP TABLE audit_log;"
	"ALTER TABLE audit_log_new RENAME TO audit_log;"
	"CREATE INDEX audit_log_by_authority ON audit_log(authority, id);"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
};

#define SUBCA__SCHEMA_VERSION \
	((int)(sizeof(subca__migrations) / sizeof(subca__migrations[0])))

int subca_store_sqlite_schema_version(void)
{
	return SUBCA__SCHEMA_VERSION;
}

const char *subca__sqlite_migration(int to)
{
	if (to < 1 || to > SUBCA__SCHEMA_VERSION)
		return NULL;
	return subca__migrations[to - 1];
}

/* ---- statement helpers ------------------------------------------------ */

subca_result subca__sqlite_fail(struct subca__sqlite *s, const char *what)
{
	int ext = sqlite3_extended_errcode(s->db);

	if ((ext & 0xff) == SQLITE_NOMEM)
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory (sqlite) while %s",
			   what);
	SUBCA_BAIL(SUBCA_E_STORE, "database error while %s: %s", what,
		   sqlite3_errmsg(s->db));
}

subca_result subca__sqlite_prepare(struct subca__sqlite *s, const char *sql,
				   sqlite3_stmt **out)
{
	*out = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, out, NULL) != SQLITE_OK)
		return subca__sqlite_fail(s, "preparing a statement");
	return SUBCA_OK;
}

subca_result subca__sqlite_cached(struct subca__sqlite *s, const char *sql,
				  sqlite3_stmt **out)
{
	struct subca__stmt_slot *slot = NULL;

	*out = NULL;
	for (int i = 0; i < SUBCA__SQLITE_CACHED; i++) {
		if (s->cached[i].sql == sql) {
			*out = s->cached[i].stmt;
			return SUBCA_OK;
		}
		if (slot == NULL && s->cached[i].sql == NULL)
			slot = &s->cached[i];
	}
	SUBCA_ENSURE(slot != NULL, SUBCA_E_INTERNAL,
		     "more than %d cached statements", SUBCA__SQLITE_CACHED);
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &slot->stmt, NULL) != SQLITE_OK)
		return subca__sqlite_fail(s, "preparing a statement");
	slot->sql = sql;
	*out = slot->stmt;
	return SUBCA_OK;
}

void subca__sqlite_cached_free(struct subca__sqlite *s)
{
	for (int i = 0; i < SUBCA__SQLITE_CACHED; i++) {
		sqlite3_finalize(s->cached[i].stmt);
		s->cached[i].stmt = NULL;
		s->cached[i].sql = NULL;
	}
}

subca_result subca__sqlite_bind_text(struct subca__sqlite *s,
				     sqlite3_stmt *stmt, int idx,
				     const char *v)
{
	int rc = v == NULL ? sqlite3_bind_null(stmt, idx)
			   : sqlite3_bind_text(stmt, idx, v, -1,
					       SQLITE_TRANSIENT);

	if (rc != SQLITE_OK)
		return subca__sqlite_fail(s, "binding a value");
	return SUBCA_OK;
}

subca_result subca__sqlite_bind_int(struct subca__sqlite *s,
				    sqlite3_stmt *stmt, int idx, int64_t v)
{
	if (sqlite3_bind_int64(stmt, idx, v) != SQLITE_OK)
		return subca__sqlite_fail(s, "binding a value");
	return SUBCA_OK;
}

subca_result subca__sqlite_done(struct subca__sqlite *s, sqlite3_stmt *stmt,
				const char *exists, const char *missing)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return SUBCA_OK;
	switch (sqlite3_extended_errcode(s->db)) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		SUBCA_BAIL(SUBCA_E_EXISTS, "%s",
			   exists != NULL ? exists : "the record already exists");
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "%s",
			   missing != NULL ? missing
					   : "the record refers to a missing one");
	default:
		return subca__sqlite_fail(s, "writing");
	}
}

subca_result subca__sqlite_row(struct subca__sqlite *s, sqlite3_stmt *stmt,
			       bool *row)
{
	int rc = sqlite3_step(stmt);

	*row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return SUBCA_OK;
	return subca__sqlite_fail(s, "reading");
}

subca_result subca__sqlite_text(sqlite3_stmt *stmt, int col, char **out)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	*out = NULL;
	if (t == NULL) {
		/* NULL both for SQL NULL and for SQLite running out of memory */
		SUBCA_ENSURE(sqlite3_column_type(stmt, col) == SQLITE_NULL,
			     SUBCA_E_NOMEM, "out of memory (sqlite)");
		return SUBCA_OK;
	}
	*out = subca_strdup((const char *)t);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

subca_result subca__sqlite_bind_texts(struct subca__sqlite *s,
				      sqlite3_stmt *stmt, int first,
				      const char *const *v, int n)
{
	for (int i = 0; i < n; i++)
		SUBCA_TRY(subca__sqlite_bind_text(s, stmt, first + i, v[i]));
	return SUBCA_OK;
}

subca_result subca__sqlite_bind_ints(struct subca__sqlite *s,
				     sqlite3_stmt *stmt, int first,
				     const int64_t *v, int n)
{
	for (int i = 0; i < n; i++)
		SUBCA_TRY(subca__sqlite_bind_int(s, stmt, first + i, v[i]));
	return SUBCA_OK;
}

subca_result subca__sqlite_texts(sqlite3_stmt *stmt, int first, char **out[],
				 int n)
{
	for (int i = 0; i < n; i++) {
		subca_result rv = subca__sqlite_text(stmt, first + i, out[i]);

		if (rv != SUBCA_OK) {
			for (int j = 0; j < i; j++) {
				subca_free(*out[j]);
				*out[j] = NULL;
			}
			return rv;
		}
	}
	return SUBCA_OK;
}

subca_result subca__sqlite_grow(void **v, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return SUBCA_OK;
	ncap = *cap ? *cap * 2 : 8;
	p = subca_realloc(*v, ncap * size);
	SUBCA_ENSURE(p != NULL, SUBCA_E_NOMEM, "out of memory");
	*v = p;
	*cap = ncap;
	return SUBCA_OK;
}

/* Run constant SQL with no parameters (pragmas, transaction control). */
static subca_result subca__exec(struct subca__sqlite *s, const char *sql,
				const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return subca__sqlite_fail(s, what);
	return SUBCA_OK;
}

/* A pragma (or other query) whose first column of its first row is an int. */
static subca_result subca__query_int(struct subca__sqlite *s, const char *sql,
				     int64_t *out)
{
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_STORE, "no result from %s", sql);
	*out = sqlite3_column_int64(stmt, 0);
	return SUBCA_OK;
}

/* ---- transactions ------------------------------------------------------ */

/*
 * Transaction control runs on every issuance (the group writer's BEGIN,
 * a savepoint per record, COMMIT): prepared once per connection rather
 * than parsed by sqlite3_exec each time.
 */
static const char subca__sql_begin[] = "BEGIN IMMEDIATE";
static const char subca__sql_savepoint[] = "SAVEPOINT subca";
static const char subca__sql_commit[] = "COMMIT";
static const char subca__sql_release[] = "RELEASE subca";

/* Run one cached statement that returns no row. */
static subca_result subca__control(struct subca__sqlite *s, const char *sql,
				   const char *what)
{
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;

	SUBCA_TRY(subca__sqlite_cached(s, sql, &stmt));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		return subca__sqlite_fail(s, what);
	return SUBCA_OK;
}

/*
 * The outermost transaction takes the write lock at once (BEGIN IMMEDIATE)
 * so that a read-then-write never fails half-way with SQLITE_BUSY; inner
 * ones are savepoints, so an inner rollback undoes only its own work.
 */
subca_result subca__sqlite_begin(struct subca_store *st)
{
	struct subca__sqlite *s = subca__sqlite_of(st);

	SUBCA_TRY(subca__control(s,
				 s->depth == 0 ? subca__sql_begin
					       : subca__sql_savepoint,
				 "starting a transaction"));
	s->depth++;
	return SUBCA_OK;
}

void subca__sqlite_rollback(struct subca_store *st)
{
	struct subca__sqlite *s = subca__sqlite_of(st);

	if (s->depth == 0)
		return;
	s->depth--;
	/* only after a failure: sqlite3_exec keeps the failure's reason
	 * (errors ignored: SQLite may already have rolled back on its own) */
	sqlite3_exec(s->db,
		     s->depth == 0 ? "ROLLBACK"
				   : "ROLLBACK TO subca; RELEASE subca",
		     NULL, NULL, NULL);
}

subca_result subca__sqlite_commit(struct subca_store *st)
{
	struct subca__sqlite *s = subca__sqlite_of(st);
	subca_result rv;

	SUBCA_ENSURE(s->depth > 0, SUBCA_E_INTERNAL,
		     "commit without a transaction");
	rv = subca__control(s,
			    s->depth == 1 ? subca__sql_commit
					  : subca__sql_release,
			    "committing");
	if (rv != SUBCA_OK) {
		subca__sqlite_rollback(st);
		return rv;
	}
	s->depth--;
	return SUBCA_OK;
}

/* ---- open, migrate, close --------------------------------------------- */

static subca_result subca__migrate_one(struct subca__sqlite *s, int to)
{
	char sql[64];
	int64_t now;
	subca_result rv;

	SUBCA_TRY(subca__sqlite_begin(&s->base));
	/* re-read under the write lock: another process may have migrated */
	rv = subca__query_int(s, "PRAGMA user_version", &now);
	if (rv == SUBCA_OK && now < to) {
		rv = subca__exec(s, subca__migrations[to - 1],
				 "migrating the schema");
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", to);
		if (rv == SUBCA_OK)
			rv = subca__exec(s, sql, "migrating the schema");
	}
	if (rv == SUBCA_OK)
		return subca__sqlite_commit(&s->base);
	subca__sqlite_rollback(&s->base);
	return rv;
}

/* Refuse what this build cannot use before changing anything in the file. */
static subca_result subca__check_version(struct subca__sqlite *s,
					 const char *path, bool create,
					 int64_t *v)
{
	SUBCA_TRY(subca__query_int(s, "PRAGMA user_version", v));
	SUBCA_ENSURE(*v <= SUBCA__SCHEMA_VERSION, SUBCA_E_STORE,
		     "database schema version %lld is newer than this subca (%d)",
		     (long long)*v, SUBCA__SCHEMA_VERSION);
	SUBCA_ENSURE(*v > 0 || create, SUBCA_E_NOT_INITIALISED,
		     "%s is not a subca database (no schema)", path);
	return SUBCA_OK;
}

static subca_result subca__migrate(struct subca__sqlite *s, int64_t from)
{
	for (int to = (int)from + 1; to <= SUBCA__SCHEMA_VERSION; to++)
		SUBCA_TRY(subca__migrate_one(s, to));
	return SUBCA_OK;
}

static subca_result subca__configure(struct subca__sqlite *s)
{
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	/* refuse schema tricks (writable_schema, corrupting shadow tables) */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	SUBCA_TRY(subca__exec(s,
			      "PRAGMA foreign_keys = ON;"
			      "PRAGMA synchronous = FULL;"
			      "PRAGMA secure_delete = ON;"
			      "PRAGMA trusted_schema = OFF;",
			      "configuring the database"));
	return SUBCA_OK;
}

static subca_result subca__wal(struct subca__sqlite *s)
{
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	SUBCA_TRY(subca__sqlite_prepare(s, "PRAGMA journal_mode = WAL", &stmt));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row && sqlite3_column_text(stmt, 0) != NULL &&
			     strcmp((const char *)sqlite3_column_text(stmt, 0),
				    "wal") == 0,
		     SUBCA_E_STORE,
		     "the database cannot use write-ahead logging (WAL) on this file system");
	return SUBCA_OK;
}

/* Create the file ourselves so that it is born 0600 whatever the umask. */
static subca_result subca__create_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0600);

	if (fd < 0 && errno == EEXIST)
		return SUBCA_OK;
	SUBCA_ENSURE(fd >= 0, SUBCA_E_IO, "cannot create %s: %s", path,
		     strerror(errno));
	close(fd);
	return SUBCA_OK;
}

void subca__sqlite_close(struct subca_store *st)
{
	struct subca__sqlite *s = subca__sqlite_of(st);

	if (s == NULL)
		return;
	subca__sqlite_group_leave(s);
	while (s->depth > 0)
		subca__sqlite_rollback(st);
	subca__sqlite_cached_free(s);
	sqlite3_close_v2(s->db);
	subca_free(s->path);
	subca_free(s);
}

/*
 * SQLite's page cache starts every connection with a bulk allocation of
 * SQLITE_DEFAULT_PCACHE_INITSZ pages (20, about 87 KiB, all touched),
 * and a server holds a connection per worker and per background thread:
 * with 32 workers that was 3 MiB of RSS before a single request. Without
 * it pages are allocated one by one as they are read, still bounded by
 * cache_size. Only possible before SQLite initialises, so it is done
 * before the process's first open; if something else initialised SQLite
 * first the call fails harmlessly (SQLITE_MISUSE) and the default stays.
 *
 * SQLite's memory statistics (sqlite3_memory_used, which subca never asks
 * for) take one process-wide mutex on every allocation and free of every
 * connection: the workers and the committer contended on it (futex calls
 * under strace) on each request. Turned off the same way.
 */
static pthread_once_t subca__sqlite_once = PTHREAD_ONCE_INIT;

static void subca__sqlite_global(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static subca_result subca__open_db(struct subca__sqlite *s, const char *path)
{
	int rc;

	pthread_once(&subca__sqlite_once, subca__sqlite_global);
	rc = sqlite3_open_v2(path, &s->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
					 SQLITE_OPEN_EXRESCODE,
				 NULL);

	if (rc == SQLITE_OK)
		return SUBCA_OK;
	if (s->db == NULL)
		SUBCA_BAIL(SUBCA_E_NOMEM, "out of memory opening %s", path);
	SUBCA_BAIL(SUBCA_E_STORE, "cannot open database %s: %s", path,
		   sqlite3_errmsg(s->db));
}

subca_result subca_store_sqlite_open(const char *path, bool create,
				     struct subca_store **out)
{
	struct subca__sqlite *s;
	struct stat sb;
	subca_result rv;
	int64_t v = 0;

	*out = NULL;
	if (create)
		SUBCA_TRY(subca__create_file(path));
	else
		SUBCA_ENSURE(stat(path, &sb) == 0, SUBCA_E_NOT_INITIALISED,
			     "no database at %s", path);
	s = subca_calloc(1, sizeof(*s));
	SUBCA_ENSURE(s != NULL, SUBCA_E_NOMEM, "out of memory");
	s->base.ops = &subca__sqlite_ops;
	s->path = subca_strdup(path);
	rv = s->path != NULL ? subca__open_db(s, path)
			     : subca_error_set(SUBCA_E_NOMEM, __FILE__, __LINE__,
					       "out of memory");
	if (rv == SUBCA_OK)
		rv = subca__configure(s);
	if (rv == SUBCA_OK)
		rv = subca__check_version(s, path, create, &v);
	if (rv == SUBCA_OK)
		rv = subca__wal(s);
	if (rv == SUBCA_OK)
		rv = subca__migrate(s, v);
	if (rv != SUBCA_OK) {
		subca__sqlite_close(&s->base);
		return rv;
	}
	*out = &s->base;
	return SUBCA_OK;
}

/* ---- integrity ------------------------------------------------------- */

static subca_result subca__integrity(struct subca__sqlite *s)
{
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const unsigned char *msg;
	bool row;

	SUBCA_TRY(subca__sqlite_prepare(s, "PRAGMA integrity_check", &stmt));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	msg = row ? sqlite3_column_text(stmt, 0) : NULL;
	SUBCA_ENSURE(msg != NULL, SUBCA_E_STORE,
		     "integrity check returned nothing");
	SUBCA_ENSURE(strcmp((const char *)msg, "ok") == 0, SUBCA_E_STORE,
		     "integrity check failed: %s", msg);
	return SUBCA_OK;
}

static subca_result subca__foreign_keys(struct subca__sqlite *s)
{
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	SUBCA_TRY(subca__sqlite_prepare(s, "PRAGMA foreign_key_check", &stmt));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	/* columns: table, rowid, parent table, foreign key index */
	SUBCA_ENSURE(!row, SUBCA_E_STORE,
		     "foreign key check failed: %s row %lld refers to a missing %s row",
		     sqlite3_column_text(stmt, 0),
		     (long long)sqlite3_column_int64(stmt, 1),
		     sqlite3_column_text(stmt, 2));
	return SUBCA_OK;
}

subca_result subca_store_sqlite_check(struct subca_store *st)
{
	struct subca__sqlite *s = subca__sqlite_of(st);

	SUBCA_ENSURE(st->ops == &subca__sqlite_ops, SUBCA_E_INVALID_ARGUMENT,
		     "not a SQLite store");
	SUBCA_TRY(subca__integrity(s));
	return subca__foreign_keys(s);
}
