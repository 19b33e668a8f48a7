/* Unit tests of the SQLite store: schema, every operation, constraints. */
#include "helpers.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subca/alloc.h"
#include "subca/limits.h"
#include "subca/store_sqlite.h"

struct fx {
	char *dir;
	char path[512];
	struct subca_store *st;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = th_tmpdir();
	assert_non_null(f->dir);
	snprintf(f->path, sizeof(f->path), "%s/subca.db", f->dir);
	assert_int_equal(subca_store_sqlite_open(f->path, true, &f->st),
			 SUBCA_OK);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	subca_alloc_fail_after(-1);
	if (f->st != NULL)
		f->st->ops->close(f->st);
	th_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void fx_reopen(struct fx *f)
{
	f->st->ops->close(f->st);
	f->st = NULL;
	assert_int_equal(subca_store_sqlite_open(f->path, false, &f->st),
			 SUBCA_OK);
}

/* Run SQL on the file through a second, raw connection; returns rc. */
static int raw_exec(const char *path, const char *sql, char *err, size_t n)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (err != NULL)
		snprintf(err, n, "%s", msg ? msg : "");
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc;
}

/* One integer (a count, a pragma) from `sql` on the file at `path`. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

static int64_t add_authority(struct subca_store *st, const char *name,
			     const char *sub)
{
	struct subca_authority_rec r = {
		.name = (char *)name,
		.subdomain = (char *)sub,
		.state = SUBCA_AUTH_NEEDS_ROOT,
		.created = TH_NOW,
	};

	assert_int_equal(st->ops->authority_create(st, &r), SUBCA_OK);
	assert_true(r.id > 0);
	return r.id;
}

static struct subca_intermediate_rec int_rec(int64_t authority_id,
					     enum subca_intermediate_state s)
{
	struct subca_intermediate_rec r = {
		.authority_id = authority_id,
		.state = s,
		.key_id = "00112233445566778899aabbccddeeff",
		.key_type = "ec-p256",
		.subject = "CN=Issuing CA",
		.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n",
		.cert_pem = s == SUBCA_INT_PENDING ? NULL : "CERT",
		.fingerprint = s == SUBCA_INT_PENDING ? NULL : "ab",
		.days = 365,
		.created = TH_NOW,
	};
	return r;
}

static int64_t add_intermediate(struct subca_store *st, int64_t aid,
				enum subca_intermediate_state s)
{
	struct subca_intermediate_rec r = int_rec(aid, s);

	assert_int_equal(st->ops->intermediate_add(st, &r), SUBCA_OK);
	assert_true(r.id > 0);
	return r.id;
}

static struct subca_cert_rec cert_rec(int64_t aid, int64_t iid,
				      const char *serial)
{
	struct subca_cert_rec r = {
		.authority_id = aid,
		.intermediate_id = iid,
		.serial = (char *)serial,
		.subject = "CN=www.example.com",
		.sans = "DNS:www.example.com",
		.pem = "PEM",
		.not_before = TH_NOW,
		.not_after = TH_NOW + 90 * TH_DAY,
		.issued_by = "cli:uid=0",
		.created = TH_NOW,
	};
	return r;
}

/* ---- open and schema ---------------------------------------------------- */

static void test_store_open_creates_private_wal_database_at_schema_version(void **state)
{
	struct fx *f = *state;
	char wal[600];
	struct stat sb;
	sqlite3 *db;
	sqlite3_stmt *stmt;

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1,
					    &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
	sqlite3_finalize(stmt);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1,
					    &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(stmt, 0),
			 subca_store_sqlite_schema_version());
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	assert_true(subca_store_sqlite_schema_version() >= 1);
	/* SQLite gives the write-ahead log the database file's mode */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_store_open_without_create_on_missing_file_is_not_initialised(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = NULL;
	char path[600];

	snprintf(path, sizeof(path), "%s/none.db", f->dir);
	th_assert_error(subca_store_sqlite_open(path, false, &st),
			SUBCA_E_NOT_INITIALISED, "no database at");
	assert_null(st);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void test_store_open_refuses_sqlite_file_without_subca_schema(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = NULL;
	char path[600];

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(raw_exec(path, "CREATE TABLE t(x)", NULL, 0),
			 SQLITE_OK);
	th_assert_error(subca_store_sqlite_open(path, false, &st),
			SUBCA_E_NOT_INITIALISED, "is not a subca database");
	assert_null(st);
}

static void test_store_open_refuses_a_file_that_is_not_a_database(void **state)
{
	struct fx *f = *state;
	struct subca_store *st = NULL;
	char path[600];
	static const char junk[] = "this is not a database, just some text..";

	snprintf(path, sizeof(path), "%s/junk.db", f->dir);
	assert_int_equal(subca_file_write(path, junk, sizeof(junk), 0600),
			 SUBCA_OK);
	th_assert_error(subca_store_sqlite_open(path, false, &st),
			SUBCA_E_STORE, "not a database");
	assert_null(st);
}

static void test_store_open_refuses_newer_schema_version(void **state)
{
	struct fx *f = *state;
	char want[128];

	f->st->ops->close(f->st);
	f->st = NULL;
	assert_int_equal(raw_exec(f->path, "PRAGMA user_version = 999", NULL, 0),
			 SQLITE_OK);
	snprintf(want, sizeof(want),
		 "database schema version 999 is newer than this subca (%d)",
		 subca_store_sqlite_schema_version());
	th_assert_error(subca_store_sqlite_open(f->path, true, &f->st),
			SUBCA_E_STORE, want);
	assert_null(f->st);
}

/* The statements kept prepared for /sign go back reset: a lookup that
 * stopped at its first row holds no read transaction that would keep a
 * checkpoint from emptying the write-ahead log. */
static void test_store_cached_lookups_leave_no_read_open(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec a;
	sqlite3 *db = NULL;
	int log = -1, done = -1;

	add_authority(f->st, "acme", "acme");
	add_authority(f->st, "beta", "beta");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f->st->ops->authority_get(f->st, "acme", &a),
				 SUBCA_OK);
		assert_string_equal(a.name, "acme");
		subca_authority_rec_cleanup(&a);
	}
	th_assert_error(f->st->ops->authority_get(f->st, "none", &a),
			SUBCA_E_NOT_FOUND, "none");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM authorities",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL,
						   SQLITE_CHECKPOINT_TRUNCATE,
						   &log, &done),
			 SQLITE_OK);
	assert_int_equal(log, 0);
	sqlite3_close(db);
}

static void test_store_reopen_keeps_data_and_schema(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec a;
	char *v = NULL;

	add_authority(f->st, "acme", "acme");
	assert_int_equal(f->st->ops->meta_set(f->st, "k", "v"), SUBCA_OK);
	fx_reopen(f);
	assert_int_equal(f->st->ops->authority_get(f->st, "acme", &a), SUBCA_OK);
	assert_string_equal(a.subdomain, "acme");
	subca_authority_rec_cleanup(&a);
	assert_int_equal(f->st->ops->meta_get(f->st, "k", &v), SUBCA_OK);
	assert_string_equal(v, "v");
	subca_free(v);
	/* opening with create on an existing database keeps it too */
	f->st->ops->close(f->st);
	assert_int_equal(subca_store_sqlite_open(f->path, true, &f->st),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->authority_get(f->st, "acme", &a), SUBCA_OK);
	subca_authority_rec_cleanup(&a);
}

/* ---- authorities -------------------------------------------------------- */

static void test_store_authority_create_get_list_and_update(void **state)
{
	struct fx *f = *state;
	struct subca_authority_list l;
	struct subca_authority_rec a;
	int64_t id = add_authority(f->st, "zeta", "z");

	add_authority(f->st, "alpha", "a");
	assert_string_equal(f->st->ops->name, "sqlite");
	assert_int_equal(f->st->ops->authority_get(f->st, "zeta", &a), SUBCA_OK);
	assert_int_equal(a.id, id);
	assert_string_equal(a.name, "zeta");
	assert_string_equal(a.subdomain, "z");
	assert_int_equal(a.state, SUBCA_AUTH_NEEDS_ROOT);
	assert_false(a.generated_root);
	assert_null(a.root_key_id);
	assert_int_equal(a.created, TH_NOW);

	a.state = SUBCA_AUTH_ACTIVE;
	a.generated_root = true;
	a.root_key_id = subca_strdup("0123456789abcdef0123456789abcdef");
	assert_int_equal(f->st->ops->authority_update(f->st, &a), SUBCA_OK);
	subca_authority_rec_cleanup(&a);

	assert_int_equal(f->st->ops->authority_list(f->st, &l), SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "alpha");
	assert_string_equal(l.v[1].name, "zeta");
	assert_int_equal(l.v[1].state, SUBCA_AUTH_ACTIVE);
	assert_true(l.v[1].generated_root);
	assert_string_equal(l.v[1].root_key_id,
			    "0123456789abcdef0123456789abcdef");
	subca_authority_list_cleanup(&l);
	assert_null(l.v);
}

static void test_store_authority_list_of_empty_store_is_empty(void **state)
{
	struct fx *f = *state;
	struct subca_authority_list l;

	assert_int_equal(f->st->ops->authority_list(f->st, &l), SUBCA_OK);
	assert_int_equal(l.n, 0);
	subca_authority_list_cleanup(&l);
}

static void test_store_authority_duplicate_name_is_exists_naming_it(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec r = {
		.name = "Acme", .subdomain = "other", .created = TH_NOW};

	add_authority(f->st, "acme", "acme");
	/* names and subdomains are DNS labels: case does not make them new */
	th_assert_error(f->st->ops->authority_create(f->st, &r),
			SUBCA_E_EXISTS, "authority \"Acme\" already exists");
}

static void test_store_authority_duplicate_subdomain_is_exists_naming_it(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec r = {
		.name = "beta", .subdomain = "acme", .created = TH_NOW};

	add_authority(f->st, "acme", "acme");
	th_assert_error(f->st->ops->authority_create(f->st, &r),
			SUBCA_E_EXISTS,
			"subdomain \"acme\" is already used by another authority");
}

static void test_store_authority_get_by_subdomain_ignores_case(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec out;
	int64_t id = add_authority(f->st, "acme", "pki-acme");

	assert_int_equal(f->st->ops->authority_get_by_subdomain(f->st, "PKI-Acme", &out),
			 SUBCA_OK);
	assert_int_equal(out.id, id);
	assert_string_equal(out.name, "acme");
	subca_authority_rec_cleanup(&out);
	th_assert_error(f->st->ops->authority_get_by_subdomain(f->st, "acme", &out),
			SUBCA_E_NOT_FOUND, "no authority with subdomain \"acme\"");
	assert_null(out.name);
}

static void test_store_authority_get_and_update_unknown_is_not_found(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec a = {.id = 42, .state = SUBCA_AUTH_ACTIVE};
	struct subca_authority_rec out;

	th_assert_error(f->st->ops->authority_get(f->st, "nope", &out),
			SUBCA_E_NOT_FOUND, "no authority \"nope\"");
	assert_null(out.name);
	th_assert_error(f->st->ops->authority_update(f->st, &a),
			SUBCA_E_NOT_FOUND, "no authority with id 42");
}

static void test_store_authority_with_bad_state_or_empty_name_is_refused(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec r = {
		.name = "", .subdomain = "x", .created = TH_NOW};

	th_assert_error(f->st->ops->authority_create(f->st, &r), SUBCA_E_STORE,
			"CHECK constraint failed");
	r.name = "x";
	r.state = (enum subca_authority_state)17;
	th_assert_error(f->st->ops->authority_create(f->st, &r), SUBCA_E_STORE,
			"CHECK constraint failed");
}

static void test_store_values_with_sql_metacharacters_are_stored_verbatim(void **state)
{
	struct fx *f = *state;
	static const char evil[] = "x'); DROP TABLE authorities; --";
	struct subca_authority_rec a;

	add_authority(f->st, evil, "evil");
	assert_int_equal(f->st->ops->authority_get(f->st, evil, &a), SUBCA_OK);
	assert_string_equal(a.name, evil);
	subca_authority_rec_cleanup(&a);
	assert_int_equal(subca_store_sqlite_check(f->st), SUBCA_OK);
}

/* ---- roots -------------------------------------------------------------- */

static void test_store_root_put_get_and_replace(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	struct subca_root_rec r = {
		.authority_id = aid, .pem = "PEM1", .subject = "CN=Root",
		.fingerprint = "aa", .not_after = TH_NOW + 100,
		.imported = TH_NOW};
	struct subca_root_rec out;

	assert_int_equal(f->st->ops->root_put(f->st, &r), SUBCA_OK);
	r.pem = "PEM2";
	r.fingerprint = "bb";
	assert_int_equal(f->st->ops->root_put(f->st, &r), SUBCA_OK);
	assert_int_equal(f->st->ops->root_get(f->st, aid, &out), SUBCA_OK);
	assert_int_equal(out.authority_id, aid);
	assert_string_equal(out.pem, "PEM2");
	assert_string_equal(out.subject, "CN=Root");
	assert_string_equal(out.fingerprint, "bb");
	assert_int_equal(out.not_after, TH_NOW + 100);
	assert_int_equal(out.imported, TH_NOW);
	subca_root_rec_cleanup(&out);
}

static void test_store_root_of_unknown_authority_is_not_found(void **state)
{
	struct fx *f = *state;
	struct subca_root_rec r = {
		.authority_id = 99, .pem = "P", .subject = "S",
		.fingerprint = "F"};
	struct subca_root_rec out;
	int64_t aid = add_authority(f->st, "acme", "acme");

	th_assert_error(f->st->ops->root_put(f->st, &r), SUBCA_E_NOT_FOUND,
			"no authority with id 99");
	th_assert_error(f->st->ops->root_get(f->st, aid, &out),
			SUBCA_E_NOT_FOUND, "has no root");
}

/* ---- intermediates ------------------------------------------------------ */

static void test_store_intermediate_add_update_and_list_oldest_first(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t first = add_intermediate(f->st, aid, SUBCA_INT_PENDING);
	struct subca_intermediate_rec r = int_rec(aid, SUBCA_INT_PENDING);
	struct subca_intermediate_list l;

	r.crl_url = "http://crl.example/1.crl";
	assert_int_equal(f->st->ops->intermediate_add(f->st, &r), SUBCA_OK);
	assert_true(r.id > first);
	r.state = SUBCA_INT_ACTIVE;
	r.cert_pem = "CERT";
	r.fingerprint = "ff";
	r.not_before = TH_NOW;
	r.not_after = TH_NOW + 365 * TH_DAY;
	assert_int_equal(f->st->ops->intermediate_update(f->st, &r), SUBCA_OK);

	assert_int_equal(f->st->ops->intermediate_list(f->st, aid, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, first);
	assert_int_equal(l.v[0].state, SUBCA_INT_PENDING);
	assert_null(l.v[0].cert_pem);
	assert_null(l.v[0].crl_url);
	assert_int_equal(l.v[1].state, SUBCA_INT_ACTIVE);
	assert_string_equal(l.v[1].cert_pem, "CERT");
	assert_string_equal(l.v[1].fingerprint, "ff");
	assert_string_equal(l.v[1].crl_url, "http://crl.example/1.crl");
	assert_string_equal(l.v[1].key_type, "ec-p256");
	assert_int_equal(l.v[1].days, 365);
	assert_int_equal(l.v[1].not_after, TH_NOW + 365 * TH_DAY);
	subca_intermediate_list_cleanup(&l);

	assert_int_equal(f->st->ops->intermediate_list(f->st, aid + 1, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 0);
	subca_intermediate_list_cleanup(&l);
}

static void test_store_second_active_intermediate_is_refused(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t other = add_authority(f->st, "other", "other");
	struct subca_intermediate_rec r = int_rec(aid, SUBCA_INT_ACTIVE);
	int64_t first = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);

	th_assert_error(f->st->ops->intermediate_add(f->st, &r), SUBCA_E_EXISTS,
			"already has an active intermediate");
	/* promoting a pending one is refused the same way */
	r.state = SUBCA_INT_PENDING;
	assert_int_equal(f->st->ops->intermediate_add(f->st, &r), SUBCA_OK);
	r.state = SUBCA_INT_ACTIVE;
	th_assert_error(f->st->ops->intermediate_update(f->st, &r),
			SUBCA_E_EXISTS, "already has an active intermediate");
	/* another authority has its own */
	add_intermediate(f->st, other, SUBCA_INT_ACTIVE);
	/* rotation: retire the old one first, in one transaction */
	struct subca_intermediate_rec old = int_rec(aid, SUBCA_INT_RETIRED);

	old.id = first;
	assert_int_equal(f->st->ops->begin(f->st), SUBCA_OK);
	assert_int_equal(f->st->ops->intermediate_update(f->st, &old), SUBCA_OK);
	assert_int_equal(f->st->ops->intermediate_update(f->st, &r), SUBCA_OK);
	assert_int_equal(f->st->ops->commit(f->st), SUBCA_OK);
}

static void test_store_intermediate_active_without_certificate_is_refused(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	struct subca_intermediate_rec r = int_rec(aid, SUBCA_INT_PENDING);

	r.state = SUBCA_INT_ACTIVE;
	th_assert_error(f->st->ops->intermediate_add(f->st, &r), SUBCA_E_STORE,
			"CHECK constraint failed");
}

static void test_store_intermediate_unknown_is_not_found(void **state)
{
	struct fx *f = *state;
	struct subca_intermediate_rec r = int_rec(77, SUBCA_INT_PENDING);

	th_assert_error(f->st->ops->intermediate_add(f->st, &r),
			SUBCA_E_NOT_FOUND, "no authority with id 77");
	r.id = 5;
	th_assert_error(f->st->ops->intermediate_update(f->st, &r),
			SUBCA_E_NOT_FOUND, "no intermediate with id 5");
}

/* ---- certificates ------------------------------------------------------- */

static void test_store_cert_add_get_and_count(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "1f2e3d4c5b6a7988");
	struct subca_cert_rec out;
	int64_t n = -1;

	assert_int_equal(f->st->ops->cert_count(f->st, aid, &n), SUBCA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	assert_true(r.id > 0);
	r = cert_rec(aid, iid, "2");
	r.sans = NULL;
	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	assert_int_equal(f->st->ops->cert_count(f->st, aid, &n), SUBCA_OK);
	assert_int_equal(n, 2);

	assert_int_equal(f->st->ops->cert_get(f->st, aid, "1f2e3d4c5b6a7988",
					      &out),
			 SUBCA_OK);
	assert_int_equal(out.intermediate_id, iid);
	assert_string_equal(out.subject, "CN=www.example.com");
	assert_string_equal(out.sans, "DNS:www.example.com");
	assert_string_equal(out.pem, "PEM");
	assert_string_equal(out.issued_by, "cli:uid=0");
	assert_int_equal(out.not_after, TH_NOW + 90 * TH_DAY);
	subca_cert_rec_cleanup(&out);
	assert_int_equal(f->st->ops->cert_get(f->st, aid, "2", &out), SUBCA_OK);
	assert_null(out.sans);
	subca_cert_rec_cleanup(&out);
}

static void test_store_cert_duplicate_serial_is_exists_naming_it(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t other = add_authority(f->st, "other", "other");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	int64_t oiid = add_intermediate(f->st, other, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "abc");

	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	th_assert_error(f->st->ops->cert_add(f->st, &r), SUBCA_E_EXISTS,
			"a certificate with serial abc already exists");
	/* serials are unique per authority, not across authorities */
	r = cert_rec(other, oiid, "abc");
	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
}

static void test_store_cert_serial_must_be_canonical_hex(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	static const char *const bad[] = {"ABC", "0abc", "", "xyz",
		"12345678901234567890123456789012345678901"};
	struct subca_cert_rec r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = cert_rec(aid, iid, bad[i]);
		th_assert_error(f->st->ops->cert_add(f->st, &r), SUBCA_E_STORE,
				"CHECK constraint failed");
	}
	/* 40 hex digits (160 bits, RFC 5280 4.1.2.2's 20 octets) is the limit */
	r = cert_rec(aid, iid, "1234567890123456789012345678901234567890");
	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
}

static void test_store_cert_of_another_authoritys_intermediate_is_not_found(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t other = add_authority(f->st, "other", "other");
	int64_t oiid = add_intermediate(f->st, other, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, oiid, "1");
	struct subca_cert_rec out;

	th_assert_error(f->st->ops->cert_add(f->st, &r), SUBCA_E_NOT_FOUND,
			"no intermediate");
	th_assert_error(f->st->ops->cert_get(f->st, aid, "1", &out),
			SUBCA_E_NOT_FOUND, "no certificate with serial 1");
}

/* ---- audit log and meta ------------------------------------------------- */

static void append_audit(struct subca_store *st, int64_t ts,
			 const char *authority, const char *action)
{
	struct subca_audit_rec a = {.ts = ts, .authority = (char *)authority,
				    .action = (char *)action,
				    .detail = "d", .actor = "cli:uid=0"};

	assert_int_equal(st->ops->audit_append(st, &a), SUBCA_OK);
}

static void test_store_audit_list_is_newest_first_filtered_and_limited(void **state)
{
	struct fx *f = *state;
	struct subca_audit_list l;

	append_audit(f->st, TH_NOW, "acme", "authority.create");
	append_audit(f->st, TH_NOW + 1, NULL, "server.start");
	append_audit(f->st, TH_NOW + 2, "acme", "root.import");

	assert_int_equal(f->st->ops->audit_list(f->st, NULL, 0, &l), SUBCA_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].action, "root.import");
	assert_null(l.v[1].authority);
	assert_int_equal(l.v[2].ts, TH_NOW);
	assert_string_equal(l.v[2].actor, "cli:uid=0");
	assert_string_equal(l.v[2].detail, "d");
	subca_audit_list_cleanup(&l);

	assert_int_equal(f->st->ops->audit_list(f->st, "acme", 1, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].action, "root.import");
	subca_audit_list_cleanup(&l);

	assert_int_equal(f->st->ops->audit_list(f->st, "acme", 10, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 2);
	subca_audit_list_cleanup(&l);
}

static void test_store_audit_query_narrows_by_id_and_action_prefix(void **state)
{
	struct fx *f = *state;
	struct subca_audit_list l;

	append_audit(f->st, TH_NOW, "acme", "rotation.run");	    /* 1 */
	append_audit(f->st, TH_NOW, "acme", "certificate.issue");  /* 2 */
	append_audit(f->st, TH_NOW, "acme", "rotation.request");   /* 3 */
	append_audit(f->st, TH_NOW, "other", "rotation.done");	    /* 4 */
	append_audit(f->st, TH_NOW, "acme", "rotation.done");	    /* 5 */
	append_audit(f->st, TH_NOW, "acme", "rotationx");	    /* 6 */
	assert_int_equal(f->st->ops->audit_query(f->st, "acme", 1, "rotation.", 0, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].action, "rotation.done");
	assert_int_equal(l.v[0].id, 5);
	assert_string_equal(l.v[1].action, "rotation.request");
	subca_audit_list_cleanup(&l);
	/* no authority: every authority's; limit keeps the newest */
	assert_int_equal(f->st->ops->audit_query(f->st, NULL, 0, "rotation.done", 1, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, 5);
	subca_audit_list_cleanup(&l);
	/* a prefix is compared as bytes: "rotation" matches "rotationx" too */
	assert_int_equal(f->st->ops->audit_query(f->st, "acme", 5, "rotation", 0, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].action, "rotationx");
	subca_audit_list_cleanup(&l);
	/* nothing after the newest */
	assert_int_equal(f->st->ops->audit_query(f->st, "acme", 6, NULL, 0, &l), SUBCA_OK);
	assert_int_equal(l.n, 0);
	subca_audit_list_cleanup(&l);
}

static void test_store_audit_log_refuses_update_and_delete(void **state)
{
	struct fx *f = *state;
	struct subca_audit_list l;
	char err[256];

	append_audit(f->st, TH_NOW, "acme", "authority.create");
	assert_int_equal(raw_exec(f->path, "UPDATE audit_log SET action = 'x'",
				  err, sizeof(err)),
			 SQLITE_CONSTRAINT);
	assert_non_null(strstr(err, "append-only"));
	assert_int_equal(raw_exec(f->path, "DELETE FROM audit_log", err,
				  sizeof(err)),
			 SQLITE_CONSTRAINT);
	assert_non_null(strstr(err, "append-only"));
	assert_int_equal(f->st->ops->audit_list(f->st, NULL, 0, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].action, "authority.create");
	subca_audit_list_cleanup(&l);
}

static void test_store_meta_set_overwrites_and_unset_is_not_found(void **state)
{
	struct fx *f = *state;
	char *v = NULL;

	th_assert_error(f->st->ops->meta_get(f->st, "server.url", &v),
			SUBCA_E_NOT_FOUND, "no setting \"server.url\"");
	assert_null(v);
	assert_int_equal(f->st->ops->meta_set(f->st, "server.url", "a"),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->meta_set(f->st, "server.url", "b"),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->meta_get(f->st, "server.url", &v),
			 SUBCA_OK);
	assert_string_equal(v, "b");
	subca_free(v);
}

/* ---- transactions and integrity ---------------------------------------- */

static void test_store_rollback_of_outer_transaction_leaves_no_row(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec a;
	struct subca_store *st = f->st;

	assert_int_equal(st->ops->begin(st), SUBCA_OK);
	add_authority(st, "one", "one");
	assert_int_equal(st->ops->begin(st), SUBCA_OK);
	add_authority(st, "two", "two");
	assert_int_equal(st->ops->commit(st), SUBCA_OK); /* inner: not durable */
	st->ops->rollback(st);
	th_assert_error(st->ops->authority_get(st, "one", &a),
			SUBCA_E_NOT_FOUND, "no authority");
	th_assert_error(st->ops->authority_get(st, "two", &a),
			SUBCA_E_NOT_FOUND, "no authority");
	/* nothing reached the file either */
	fx_reopen(f);
	th_assert_error(f->st->ops->authority_get(f->st, "two", &a),
			SUBCA_E_NOT_FOUND, "no authority");
}

static void test_store_inner_rollback_undoes_only_inner_work(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec a;
	struct subca_store *st = f->st;

	assert_int_equal(st->ops->begin(st), SUBCA_OK);
	add_authority(st, "one", "one");
	assert_int_equal(st->ops->begin(st), SUBCA_OK);
	add_authority(st, "two", "two");
	st->ops->rollback(st);
	assert_int_equal(st->ops->commit(st), SUBCA_OK);
	fx_reopen(f);
	assert_int_equal(f->st->ops->authority_get(f->st, "one", &a), SUBCA_OK);
	subca_authority_rec_cleanup(&a);
	th_assert_error(f->st->ops->authority_get(f->st, "two", &a),
			SUBCA_E_NOT_FOUND, "no authority");
}

static void test_store_commit_without_begin_is_refused(void **state)
{
	struct fx *f = *state;

	th_assert_error(f->st->ops->commit(f->st), SUBCA_E_INTERNAL,
			"commit without a transaction");
	f->st->ops->rollback(f->st); /* harmless */
}

static void test_store_close_rolls_back_an_open_transaction(void **state)
{
	struct fx *f = *state;
	struct subca_authority_rec a;

	assert_int_equal(f->st->ops->begin(f->st), SUBCA_OK);
	add_authority(f->st, "one", "one");
	fx_reopen(f);
	th_assert_error(f->st->ops->authority_get(f->st, "one", &a),
			SUBCA_E_NOT_FOUND, "no authority");
}

static void test_store_integrity_check_passes_on_a_used_store(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "1");

	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	append_audit(f->st, TH_NOW, "acme", "x");
	assert_int_equal(subca_store_sqlite_check(f->st), SUBCA_OK);
}

static void test_store_integrity_check_reports_foreign_key_violation(void **state)
{
	struct fx *f = *state;

	/* a raw connection without foreign_keys=ON can break them */
	assert_int_equal(raw_exec(f->path,
				  "INSERT INTO roots VALUES (9, 'p', 's', 'f', 0, 0)",
				  NULL, 0),
			 SQLITE_OK);
	th_assert_error(subca_store_sqlite_check(f->st), SUBCA_E_STORE,
			"foreign key check failed: roots row 9 refers to a missing authorities row");
}

/* ---- allocation failures ------------------------------------------------ */

static void test_store_allocation_failures_return_nomem_without_leaks(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec c = cert_rec(aid, iid, "1");
	int failures = 0;

	add_authority(f->st, "beta", "beta");
	add_intermediate(f->st, aid, SUBCA_INT_PENDING);
	append_audit(f->st, TH_NOW, "acme", "x");
	assert_int_equal(f->st->ops->cert_add(f->st, &c), SUBCA_OK);
	for (long n = 0; n < 64; n++) {
		struct subca_authority_rec a;
		struct subca_authority_list al;
		struct subca_intermediate_list il;
		struct subca_audit_list aul;
		struct subca_cert_rec cr;
		struct subca_store *st2 = NULL;
		subca_result rv[6];
		bool all_ok = true;

		subca_alloc_fail_after(n);
		rv[0] = f->st->ops->authority_get(f->st, "acme", &a);
		subca_alloc_fail_after(n);
		rv[1] = f->st->ops->authority_list(f->st, &al);
		subca_alloc_fail_after(n);
		rv[2] = f->st->ops->intermediate_list(f->st, aid, &il);
		subca_alloc_fail_after(n);
		rv[3] = f->st->ops->audit_list(f->st, NULL, 0, &aul);
		subca_alloc_fail_after(n);
		rv[4] = f->st->ops->cert_get(f->st, aid, "1", &cr);
		subca_alloc_fail_after(n);
		rv[5] = subca_store_sqlite_open(f->path, false, &st2);
		subca_alloc_fail_after(-1);
		for (int i = 0; i < 6; i++) {
			if (rv[i] != SUBCA_OK) {
				assert_int_equal(rv[i], SUBCA_E_NOMEM);
				all_ok = false;
				failures++;
			}
		}
		if (rv[0] == SUBCA_OK)
			subca_authority_rec_cleanup(&a);
		else
			assert_null(a.name);
		if (rv[1] == SUBCA_OK)
			subca_authority_list_cleanup(&al);
		else
			assert_null(al.v);
		if (rv[2] == SUBCA_OK)
			subca_intermediate_list_cleanup(&il);
		if (rv[3] == SUBCA_OK)
			subca_audit_list_cleanup(&aul);
		if (rv[4] == SUBCA_OK)
			subca_cert_rec_cleanup(&cr);
		else
			assert_null(cr.pem);
		if (rv[5] == SUBCA_OK)
			st2->ops->close(st2);
		else
			assert_null(st2);
		if (all_ok)
			break;
	}
	assert_true(failures > 5);
}

/* ---- schema 2: migration ------------------------------------------------ */

/* The store's own migration text (sqlite.c), to build older databases. */
const char *subca__sqlite_migration(int to);

static void test_store_migration_from_version_1_keeps_its_data(void **state)
{
	struct fx *f = *state;
	char path[600], sql[2048];
	struct subca_store *st = NULL;
	struct subca_cert_rec c;
	struct subca_audit_list l;
	struct subca_authority_rec a;

	snprintf(path, sizeof(path), "%s/v1.db", f->dir);
	assert_int_equal(raw_exec(path, "PRAGMA journal_mode = WAL", NULL, 0),
			 SQLITE_OK);
	assert_non_null(subca__sqlite_migration(1));
	assert_null(subca__sqlite_migration(0));
	assert_null(subca__sqlite_migration(subca_store_sqlite_schema_version() + 1));
	assert_int_equal(raw_exec(path, subca__sqlite_migration(1), NULL, 0),
			 SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO authorities VALUES (1, 'acme', 'acme', 'active', 0, NULL, %lld);"
		 "INSERT INTO intermediates (id, authority_id, state, key_id, key_type,"
		 " subject, csr_pem, cert_pem, days, created) VALUES (1, 1, 'active',"
		 " 'k', 'ec-p256', 'CN=I', 'CSR', 'CERT', 365, %lld);"
		 "INSERT INTO certificates (authority_id, intermediate_id, serial,"
		 " subject, sans, pem, not_before, not_after, issued_by, created)"
		 " VALUES (1, 1, 'abc', 'CN=old', 'DNS:old.example', 'PEM', 1, 2,"
		 " 'cli', 3);"
		 "INSERT INTO audit_log (ts, authority, action, detail, actor)"
		 " VALUES (5, 'acme', 'authority.create', 'd', 'cli');"
		 "PRAGMA user_version = 1;",
		 (long long)TH_NOW, (long long)TH_NOW);
	assert_int_equal(raw_exec(path, sql, NULL, 0), SQLITE_OK);

	assert_int_equal(subca_store_sqlite_open(path, false, &st), SUBCA_OK);
	assert_int_equal(st->ops->authority_get(st, "acme", &a), SUBCA_OK);
	assert_int_equal(a.state, SUBCA_AUTH_ACTIVE);
	subca_authority_rec_cleanup(&a);
	assert_int_equal(st->ops->cert_get(st, 1, "abc", &c), SUBCA_OK);
	assert_string_equal(c.subject, "CN=old");
	assert_string_equal(c.pem, "PEM");
	assert_int_equal(c.status, SUBCA_CERT_VALID);
	assert_int_equal(c.reason, -1);
	assert_int_equal(c.revoked_at, 0);
	assert_null(c.provisioner);
	subca_cert_rec_cleanup(&c);
	assert_int_equal(st->ops->audit_list(st, NULL, 0, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	subca_audit_list_cleanup(&l);
	/* the old certificate can be revoked under the new schema */
	assert_int_equal(st->ops->cert_revoke(st, 1, "abc", 1, TH_NOW), SUBCA_OK);
	assert_int_equal(subca_store_sqlite_check(st), SUBCA_OK);
	st->ops->close(st);
	/* the file is at the current version now */
	st = NULL;
	assert_int_equal(raw_exec(path, "SELECT 1 FROM admin_tokens", NULL, 0),
			 SQLITE_OK);
}

/* Schema 7 drops three unused certificate indexes and audit_log's
 * AUTOINCREMENT: the rows, their ids and the append-only triggers stay. */
static void test_store_migration_7_keeps_the_audit_log_and_its_ids(void **state)
{
	struct fx *f = *state;
	char path[600], err[256];
	struct subca_store *st = NULL;
	struct subca_audit_list l;
	struct subca_audit_rec r = {.ts = 9, .authority = "acme",
				    .action = "authority.update",
				    .detail = "d4", .actor = "cli"};

	snprintf(path, sizeof(path), "%s/v6.db", f->dir);
	assert_int_equal(raw_exec(path, "PRAGMA journal_mode = WAL", NULL, 0),
			 SQLITE_OK);
	for (int v = 1; v <= 6; v++)
		assert_int_equal(raw_exec(path, subca__sqlite_migration(v), NULL,
					  0),
				 SQLITE_OK);
	/* ids 1 and 3: the gap a rolled-back insert would leave */
	assert_int_equal(
		raw_exec(path,
			 "INSERT INTO audit_log (id, ts, authority, action, detail, actor)"
			 " VALUES (1, 5, 'acme', 'authority.create', 'd1', 'cli'),"
			 " (3, 6, 'beta', 'authority.create', 'd3', 'cli');"
			 "PRAGMA user_version = 6;",
			 NULL, 0),
		SQLITE_OK);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_sequence"
				       " WHERE name = 'audit_log'"),
			 1);

	assert_int_equal(subca_store_sqlite_open(path, false, &st), SUBCA_OK);
	assert_int_equal(subca_store_sqlite_check(st), SUBCA_OK);
	assert_int_equal(st->ops->audit_append(st, &r), SUBCA_OK);
	assert_int_equal(st->ops->audit_list(st, NULL, 0, &l), SUBCA_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].detail, "d4");
	assert_string_equal(l.v[1].detail, "d3");
	assert_string_equal(l.v[2].detail, "d1");
	subca_audit_list_cleanup(&l);
	assert_int_equal(st->ops->audit_list(st, "beta", 0, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	subca_audit_list_cleanup(&l);
	st->ops->close(st);

	assert_int_equal(raw_int(path, "PRAGMA user_version"),
			 subca_store_sqlite_schema_version());
	/* the next id is still the largest plus one */
	assert_int_equal(raw_int(path, "SELECT id FROM audit_log"
				       " WHERE detail = 'd4'"),
			 4);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_sequence"
				       " WHERE name LIKE 'audit_log%'"),
			 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_schema"
				       " WHERE name IN ('certificates_by_status',"
				       " 'certificates_by_expiry',"
				       " 'certificates_by_intermediate', 'audit_log_new')"),
			 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_schema"
				       " WHERE type = 'index'"
				       " AND name = 'audit_log_by_authority'"),
			 1);
	assert_int_equal(raw_exec(path, "DELETE FROM audit_log WHERE id = 1",
				  err, sizeof(err)),
			 SQLITE_CONSTRAINT);
	assert_string_equal(err, "the audit log is append-only");
	assert_int_equal(raw_exec(path, "UPDATE audit_log SET detail = 'x'",
				  err, sizeof(err)),
			 SQLITE_CONSTRAINT);
	assert_string_equal(err, "the audit log is append-only");
}

/* ---- schema 2: admin tokens -------------------------------------------- */

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static int64_t add_token(struct subca_store *st, const char *hash,
			 const char *scope, int64_t expires)
{
	struct subca_admin_token_rec t = {
		.hash = (char *)hash, .description = "ci", .scope = (char *)scope,
		.created = TH_NOW, .expires = expires};

	assert_int_equal(st->ops->admin_token_add(st, &t), SUBCA_OK);
	assert_true(t.id > 0);
	return t.id;
}

static void test_store_admin_token_add_get_list_and_revoke(void **state)
{
	struct fx *f = *state;
	int64_t a = add_token(f->st, HASH_A, NULL, 0);
	int64_t b = add_token(f->st, HASH_B, "acme,beta", TH_NOW + 90 * TH_DAY);
	struct subca_admin_token_rec t;
	struct subca_admin_token_list l;

	assert_int_equal(f->st->ops->admin_token_get_by_hash(f->st, HASH_B, &t),
			 SUBCA_OK);
	assert_int_equal(t.id, b);
	assert_string_equal(t.description, "ci");
	assert_string_equal(t.scope, "acme,beta");
	assert_int_equal(t.created, TH_NOW);
	assert_int_equal(t.expires, TH_NOW + 90 * TH_DAY);
	assert_int_equal(t.revoked, 0);
	subca_admin_token_rec_cleanup(&t);

	assert_int_equal(f->st->ops->admin_token_revoke(f->st, a, TH_NOW + 5),
			 SUBCA_OK);
	/* idempotent: the first revocation time stays */
	assert_int_equal(f->st->ops->admin_token_revoke(f->st, a, TH_NOW + 9),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->admin_token_list(f->st, &l), SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, a);
	assert_null(l.v[0].scope);
	assert_int_equal(l.v[0].expires, 0);
	assert_int_equal(l.v[0].revoked, TH_NOW + 5);
	assert_int_equal(l.v[1].revoked, 0);
	subca_admin_token_list_cleanup(&l);
	assert_null(l.v);
}

static void test_store_admin_token_duplicate_hash_is_exists(void **state)
{
	struct fx *f = *state;
	struct subca_admin_token_rec t = {.hash = HASH_A, .created = TH_NOW};

	add_token(f->st, HASH_A, NULL, 0);
	th_assert_error(f->st->ops->admin_token_add(f->st, &t), SUBCA_E_EXISTS,
			"an admin token with this hash already exists");
}

static void test_store_admin_token_unknown_is_not_found(void **state)
{
	struct fx *f = *state;
	struct subca_admin_token_rec t;

	th_assert_error(f->st->ops->admin_token_get_by_hash(f->st, HASH_C, &t),
			SUBCA_E_NOT_FOUND, "no admin token with this hash");
	assert_null(t.hash);
	th_assert_error(f->st->ops->admin_token_revoke(f->st, 42, TH_NOW),
			SUBCA_E_NOT_FOUND, "no admin token with id 42");
}

static void test_store_admin_token_with_bad_hash_or_scope_is_refused(void **state)
{
	struct fx *f = *state;
	static const char *const scopes[] = {"", "Acme", "a,,b", ",a", "a,",
					     "a b"};
	struct subca_admin_token_rec t = {.hash = "abc", .created = TH_NOW};

	th_assert_error(f->st->ops->admin_token_add(f->st, &t), SUBCA_E_STORE,
			"CHECK constraint failed");
	t.hash = HASH_A;
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		t.scope = (char *)scopes[i];
		th_assert_error(f->st->ops->admin_token_add(f->st, &t),
				SUBCA_E_STORE, "CHECK constraint failed");
	}
}

/* ---- schema 2: provisioners -------------------------------------------- */

static int64_t add_prov(struct subca_store *st, int64_t aid, const char *name,
			enum subca_provisioner_type type, const char *hash)
{
	struct subca_provisioner_rec p = {
		.authority_id = aid, .name = (char *)name, .type = type,
		.jwk_json = type == SUBCA_PROV_JWK ? "{\"kty\":\"EC\"}" : NULL,
		.key_hash = (char *)hash, .policy = "{\"max_days\":30}",
		.created = TH_NOW};

	assert_int_equal(st->ops->provisioner_add(st, &p), SUBCA_OK);
	assert_true(p.id > 0);
	return p.id;
}

static void test_store_provisioner_add_get_list_and_remove(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t other = add_authority(f->st, "other", "other");
	int64_t j = add_prov(f->st, aid, "laptop", SUBCA_PROV_JWK, NULL);
	int64_t k = add_prov(f->st, aid, "ci", SUBCA_PROV_APIKEY, HASH_A);
	struct subca_provisioner_rec p;
	struct subca_provisioner_list l;

	assert_int_equal(f->st->ops->provisioner_get(f->st, aid, "laptop", &p),
			 SUBCA_OK);
	assert_int_equal(p.id, j);
	assert_int_equal(p.authority_id, aid);
	assert_int_equal(p.type, SUBCA_PROV_JWK);
	assert_string_equal(p.jwk_json, "{\"kty\":\"EC\"}");
	assert_null(p.key_hash);
	assert_string_equal(p.policy, "{\"max_days\":30}");
	assert_int_equal(p.created, TH_NOW);
	subca_provisioner_rec_cleanup(&p);

	assert_int_equal(f->st->ops->provisioner_get_by_key_hash(f->st, aid,
								 HASH_A, &p),
			 SUBCA_OK);
	assert_int_equal(p.id, k);
	assert_string_equal(p.name, "ci");
	assert_int_equal(p.type, SUBCA_PROV_APIKEY);
	subca_provisioner_rec_cleanup(&p);
	/* the key of one authority opens nothing in another */
	th_assert_error(f->st->ops->provisioner_get_by_key_hash(f->st, other,
								HASH_A, &p),
			SUBCA_E_NOT_FOUND, "no API-key provisioner");

	assert_int_equal(f->st->ops->provisioner_list(f->st, aid, &l), SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "ci");
	assert_string_equal(l.v[1].name, "laptop");
	subca_provisioner_list_cleanup(&l);
	assert_int_equal(f->st->ops->provisioner_list(f->st, other, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 0);
	subca_provisioner_list_cleanup(&l);

	assert_int_equal(f->st->ops->provisioner_remove(f->st, aid, "ci"),
			 SUBCA_OK);
	th_assert_error(f->st->ops->provisioner_get(f->st, aid, "ci", &p),
			SUBCA_E_NOT_FOUND, "no provisioner \"ci\"");
	th_assert_error(f->st->ops->provisioner_remove(f->st, aid, "ci"),
			SUBCA_E_NOT_FOUND, "no provisioner \"ci\"");
}

static void test_store_provisioner_policy_defaults_to_empty_object(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	struct subca_provisioner_rec p = {
		.authority_id = aid, .name = "acme-client", .type = SUBCA_PROV_ACME,
		.created = TH_NOW};

	assert_int_equal(f->st->ops->provisioner_add(f->st, &p), SUBCA_OK);
	assert_int_equal(f->st->ops->provisioner_get(f->st, aid, "acme-client",
						     &p),
			 SUBCA_OK);
	assert_string_equal(p.policy, "{}");
	assert_int_equal(p.type, SUBCA_PROV_ACME);
	subca_provisioner_rec_cleanup(&p);
}

static void test_store_provisioner_duplicates_are_exists_naming_them(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t other = add_authority(f->st, "other", "other");
	struct subca_provisioner_rec p = {
		.authority_id = aid, .name = "CI", .type = SUBCA_PROV_APIKEY,
		.key_hash = HASH_B, .created = TH_NOW};

	add_prov(f->st, aid, "ci", SUBCA_PROV_APIKEY, HASH_A);
	th_assert_error(f->st->ops->provisioner_add(f->st, &p), SUBCA_E_EXISTS,
			"provisioner \"CI\" already exists in this authority");
	/* the same name in another authority is another provisioner */
	add_prov(f->st, other, "ci", SUBCA_PROV_APIKEY, HASH_B);
	p.name = "ci2";
	p.key_hash = HASH_A;
	th_assert_error(f->st->ops->provisioner_add(f->st, &p), SUBCA_E_EXISTS,
			"a provisioner with this API key hash already exists");
}

static void test_store_provisioner_of_unknown_authority_is_not_found(void **state)
{
	struct fx *f = *state;
	struct subca_provisioner_rec p = {
		.authority_id = 9, .name = "ci", .type = SUBCA_PROV_APIKEY,
		.key_hash = HASH_A, .created = TH_NOW};

	th_assert_error(f->st->ops->provisioner_add(f->st, &p),
			SUBCA_E_NOT_FOUND, "no authority with id 9");
}

static void test_store_provisioner_credential_must_match_its_type(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	struct subca_provisioner_rec p = {
		.authority_id = aid, .name = "x", .type = SUBCA_PROV_APIKEY,
		.created = TH_NOW};

	/* an API-key provisioner without a key, a JWK one without a JWK, one
	 * carrying both, a bad hash */
	th_assert_error(f->st->ops->provisioner_add(f->st, &p), SUBCA_E_STORE,
			"CHECK constraint failed");
	p.type = SUBCA_PROV_JWK;
	th_assert_error(f->st->ops->provisioner_add(f->st, &p), SUBCA_E_STORE,
			"CHECK constraint failed");
	p.jwk_json = "{}";
	p.key_hash = HASH_A;
	th_assert_error(f->st->ops->provisioner_add(f->st, &p), SUBCA_E_STORE,
			"CHECK constraint failed");
	p.type = SUBCA_PROV_APIKEY;
	p.jwk_json = NULL;
	p.key_hash = "ABC";
	th_assert_error(f->st->ops->provisioner_add(f->st, &p), SUBCA_E_STORE,
			"CHECK constraint failed");
}

static void test_store_provisioner_type_names_round_trip(void **state)
{
	enum subca_provisioner_type t;

	for (int i = SUBCA_PROV_JWK; i <= SUBCA_PROV_ACME; i++) {
		const char *n = subca_provisioner_type_name(
			(enum subca_provisioner_type)i);

		assert_int_equal(subca_provisioner_type_parse(n, &t), SUBCA_OK);
		assert_int_equal(t, i);
	}
	assert_string_equal(subca_provisioner_type_name(
				    (enum subca_provisioner_type)9),
			    "unknown");
	th_assert_error(subca_provisioner_type_parse("oidc", &t),
			SUBCA_E_INVALID_ARGUMENT,
			"unknown provisioner type \"oidc\" (jwk, apikey or acme)");
	th_assert_error(subca_provisioner_type_parse(NULL, &t),
			SUBCA_E_INVALID_ARGUMENT, "unknown provisioner type");
}

/* ---- schema 2: one-time token ids -------------------------------------- */

static void test_store_jti_replay_is_refused_also_after_reopen(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t p = add_prov(f->st, aid, "laptop", SUBCA_PROV_JWK, NULL);
	int64_t q = add_prov(f->st, aid, "desk", SUBCA_PROV_JWK, NULL);

	assert_int_equal(f->st->ops->jti_use(f->st, p, "t-1", TH_NOW + 300),
			 SUBCA_OK);
	th_assert_error(f->st->ops->jti_use(f->st, p, "t-1", TH_NOW + 300),
			SUBCA_E_EXISTS, "token already used");
	/* another provisioner's namespace */
	assert_int_equal(f->st->ops->jti_use(f->st, q, "t-1", TH_NOW + 300),
			 SUBCA_OK);
	fx_reopen(f);
	th_assert_error(f->st->ops->jti_use(f->st, p, "t-1", TH_NOW + 300),
			SUBCA_E_EXISTS, "cannot be replayed");
	th_assert_error(f->st->ops->jti_use(f->st, 999, "t-2", TH_NOW),
			SUBCA_E_NOT_FOUND, "no provisioner with id 999");
}

static void test_store_jti_length_cap_at_the_limit_and_one_past(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t p = add_prov(f->st, aid, "laptop", SUBCA_PROV_JWK, NULL);
	char jti[SUBCA_MAX_JTI + 2];

	memset(jti, 'j', SUBCA_MAX_JTI);
	jti[SUBCA_MAX_JTI] = '\0';
	assert_int_equal(f->st->ops->jti_use(f->st, p, jti, TH_NOW), SUBCA_OK);
	jti[SUBCA_MAX_JTI] = 'j';
	jti[SUBCA_MAX_JTI + 1] = '\0';
	th_assert_error(f->st->ops->jti_use(f->st, p, jti, TH_NOW),
			SUBCA_E_INVALID_ARGUMENT, "must have 1 to 256 characters");
	th_assert_error(f->st->ops->jti_use(f->st, p, "", TH_NOW),
			SUBCA_E_INVALID_ARGUMENT, "must have 1 to 256 characters");
	th_assert_error(f->st->ops->jti_use(f->st, p, NULL, TH_NOW),
			SUBCA_E_INVALID_ARGUMENT, "token id (jti)");
}

static void test_store_jti_prune_forgets_only_expired_ids(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t p = add_prov(f->st, aid, "laptop", SUBCA_PROV_JWK, NULL);
	int64_t removed = -1;

	assert_int_equal(f->st->ops->jti_use(f->st, p, "old", TH_NOW - 1),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->jti_use(f->st, p, "now", TH_NOW), SUBCA_OK);
	assert_int_equal(f->st->ops->jti_use(f->st, p, "new", TH_NOW + 60),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->jti_prune(f->st, TH_NOW, &removed),
			 SUBCA_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(f->st->ops->jti_use(f->st, p, "old", TH_NOW + 60),
			 SUBCA_OK);
	th_assert_error(f->st->ops->jti_use(f->st, p, "now", TH_NOW + 60),
			SUBCA_E_EXISTS, "token already used");
	assert_int_equal(f->st->ops->jti_prune(f->st, TH_NOW, NULL), SUBCA_OK);
}

static void test_store_provisioner_remove_forgets_its_token_ids(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t p = add_prov(f->st, aid, "laptop", SUBCA_PROV_JWK, NULL);

	assert_int_equal(f->st->ops->jti_use(f->st, p, "t", TH_NOW), SUBCA_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM token_jti"),
			 1);
	assert_int_equal(f->st->ops->provisioner_remove(f->st, aid, "laptop"),
			 SUBCA_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM token_jti"),
			 0);
	assert_int_equal(subca_store_sqlite_check(f->st), SUBCA_OK);
}

/* ---- schema 2: revocation ---------------------------------------------- */

static void test_store_cert_revoke_records_reason_and_time_once(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "abc");
	struct subca_cert_rec out;

	r.provisioner = "ci";
	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	assert_int_equal(f->st->ops->cert_get(f->st, aid, "abc", &out),
			 SUBCA_OK);
	assert_int_equal(out.status, SUBCA_CERT_VALID);
	assert_int_equal(out.reason, -1);
	assert_string_equal(out.provisioner, "ci");
	subca_cert_rec_cleanup(&out);

	assert_int_equal(f->st->ops->cert_revoke(f->st, aid, "abc", 1,
						 TH_NOW + 10),
			 SUBCA_OK);
	/* revoking again keeps the first reason and time */
	assert_int_equal(f->st->ops->cert_revoke(f->st, aid, "abc", 4,
						 TH_NOW + 20),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->cert_get(f->st, aid, "abc", &out),
			 SUBCA_OK);
	assert_int_equal(out.status, SUBCA_CERT_REVOKED);
	assert_int_equal(out.reason, 1);
	assert_int_equal(out.revoked_at, TH_NOW + 10);
	assert_string_equal(subca_cert_status_name(out.status), "revoked");
	subca_cert_rec_cleanup(&out);
}

static void test_store_cert_revoke_unknown_serial_is_not_found(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t other = add_authority(f->st, "other", "other");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "abc");

	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	th_assert_error(f->st->ops->cert_revoke(f->st, aid, "abd", 0, TH_NOW),
			SUBCA_E_NOT_FOUND, "no certificate with serial abd");
	/* another authority's serial is not this one's */
	th_assert_error(f->st->ops->cert_revoke(f->st, other, "abc", 0, TH_NOW),
			SUBCA_E_NOT_FOUND, "no certificate with serial abc");
}

static void test_store_cert_revoke_reason_must_be_a_crl_reason(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "a");
	static const int bad[] = {-1, 7, 11};

	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	r = cert_rec(aid, iid, "b");
	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		th_assert_error(f->st->ops->cert_revoke(f->st, aid, "a", bad[i],
							TH_NOW),
				SUBCA_E_INVALID_ARGUMENT,
				"is not an RFC 5280 CRLReason");
	/* both ends of the range */
	assert_int_equal(f->st->ops->cert_revoke(f->st, aid, "a", 0, TH_NOW),
			 SUBCA_OK);
	assert_int_equal(f->st->ops->cert_revoke(f->st, aid, "b", 10, TH_NOW),
			 SUBCA_OK);
}

static void test_store_revoked_certificate_cannot_be_made_valid_again(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "a");
	char err[256];

	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	assert_int_equal(f->st->ops->cert_revoke(f->st, aid, "a", 1, TH_NOW),
			 SUBCA_OK);
	assert_int_equal(raw_exec(f->path,
				  "UPDATE certificates SET status = 'valid'",
				  err, sizeof(err)),
			 SQLITE_CONSTRAINT);
	assert_non_null(strstr(err, "a revoked certificate stays revoked"));
}

/* ---- schema 2: listing ------------------------------------------------- */

/* acme: serials 1..n with not_after TH_NOW + i days, names host<i>; every
 * third is revoked; other: one certificate. */
static int64_t fill_certs(struct subca_store *st, int n, int64_t *other_id)
{
	int64_t aid = add_authority(st, "acme", "acme");
	int64_t oid = add_authority(st, "other", "other");
	int64_t iid = add_intermediate(st, aid, SUBCA_INT_ACTIVE);
	int64_t oiid = add_intermediate(st, oid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r;

	for (int i = 1; i <= n; i++) {
		char serial[16], subject[64], sans[64];

		snprintf(serial, sizeof(serial), "%x", i);
		snprintf(subject, sizeof(subject), "CN=Host%d", i);
		snprintf(sans, sizeof(sans), "DNS:host%d.example", i);
		r = cert_rec(aid, iid, serial);
		r.subject = subject;
		r.sans = i == 2 ? NULL : sans;
		r.not_after = TH_NOW + i * TH_DAY;
		assert_int_equal(st->ops->cert_add(st, &r), SUBCA_OK);
		if (i % 3 == 0)
			assert_int_equal(st->ops->cert_revoke(st, aid, serial, 1,
							      TH_NOW),
					 SUBCA_OK);
	}
	r = cert_rec(oid, oiid, "1");
	r.subject = "CN=Elsewhere";
	assert_int_equal(st->ops->cert_add(st, &r), SUBCA_OK);
	*other_id = oid;
	return aid;
}

static size_t list_n(struct subca_store *st, const struct subca_cert_filter *f)
{
	struct subca_cert_list l;
	size_t n;

	assert_int_equal(st->ops->cert_list(st, f, &l), SUBCA_OK);
	n = l.n;
	for (size_t i = 0; i < l.n; i++)
		assert_null(l.v[i].pem);
	subca_cert_list_cleanup(&l);
	return n;
}

static void test_store_cert_list_filters_by_authority_status_expiry_and_name(void **state)
{
	struct fx *f = *state;
	int64_t oid;
	int64_t aid = fill_certs(f->st, 12, &oid);
	struct subca_cert_filter flt = {0};
	struct subca_cert_list l;

	assert_int_equal(list_n(f->st, &flt), 13);
	flt.authority_id = aid;
	assert_int_equal(list_n(f->st, &flt), 12);
	flt.authority_id = oid;
	assert_int_equal(list_n(f->st, &flt), 1);
	flt.authority_id = aid;
	flt.status = SUBCA_CERTS_REVOKED;
	assert_int_equal(list_n(f->st, &flt), 4);
	flt.status = SUBCA_CERTS_VALID;
	assert_int_equal(list_n(f->st, &flt), 8);
	flt.status = SUBCA_CERTS_ANY;
	/* expiring before day 5: days 1..4; from day 10 on: 10..12 */
	flt.expires_before = TH_NOW + 5 * TH_DAY;
	assert_int_equal(list_n(f->st, &flt), 4);
	flt.expires_before = 0;
	flt.expires_after = TH_NOW + 10 * TH_DAY;
	assert_int_equal(list_n(f->st, &flt), 3);
	flt.expires_after = 0;
	/* a name in the subject or the SANs, whatever its case */
	flt.name = "HOST1";
	assert_int_equal(list_n(f->st, &flt), 4); /* 1, 10, 11, 12 */
	flt.name = "host2.example";
	assert_int_equal(list_n(f->st, &flt), 0); /* 2 has no SANs */
	flt.name = "host2";
	assert_int_equal(list_n(f->st, &flt), 1);
	flt.name = "%";
	assert_int_equal(list_n(f->st, &flt), 0);

	flt.name = "host11";
	assert_int_equal(f->st->ops->cert_list(f->st, &flt, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].serial, "b");
	assert_string_equal(l.v[0].subject, "CN=Host11");
	assert_string_equal(l.v[0].sans, "DNS:host11.example");
	assert_int_equal(l.v[0].not_after, TH_NOW + 11 * TH_DAY);
	assert_int_equal(l.v[0].status, SUBCA_CERT_VALID);
	assert_int_equal(l.next_after, 0);
	subca_cert_list_cleanup(&l);
}

static void test_store_cert_list_pages_with_a_cursor(void **state)
{
	struct fx *f = *state;
	int64_t oid;
	int64_t aid = fill_certs(f->st, 10, &oid);
	struct subca_cert_filter flt = {.authority_id = aid, .limit = 4};
	struct subca_cert_list l;
	int64_t last = 0;
	size_t seen = 0, pages = 0;

	do {
		assert_int_equal(f->st->ops->cert_list(f->st, &flt, &l),
				 SUBCA_OK);
		for (size_t i = 0; i < l.n; i++) {
			assert_true(l.v[i].id > last); /* oldest first */
			last = l.v[i].id;
		}
		seen += l.n;
		pages++;
		flt.after_id = l.next_after;
		if (l.next_after != 0)
			assert_int_equal(l.next_after, last);
		subca_cert_list_cleanup(&l);
	} while (flt.after_id != 0);
	assert_int_equal(seen, 10);
	assert_int_equal(pages, 3);
	/* an exact multiple of the page size ends without an empty page */
	flt.after_id = 0;
	flt.limit = 5;
	assert_int_equal(f->st->ops->cert_list(f->st, &flt, &l), SUBCA_OK);
	assert_int_equal(l.n, 5);
	flt.after_id = l.next_after;
	subca_cert_list_cleanup(&l);
	assert_int_equal(f->st->ops->cert_list(f->st, &flt, &l), SUBCA_OK);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.next_after, 0);
	subca_cert_list_cleanup(&l);
}

static void test_store_cert_list_page_size_at_the_limit_and_one_past(void **state)
{
	struct fx *f = *state;
	struct subca_cert_filter flt = {.limit = SUBCA_MAX_LIST_PAGE};
	struct subca_cert_list l;

	assert_int_equal(f->st->ops->cert_list(f->st, &flt, &l), SUBCA_OK);
	assert_int_equal(l.n, 0);
	subca_cert_list_cleanup(&l);
	flt.limit = SUBCA_MAX_LIST_PAGE + 1;
	th_assert_error(f->st->ops->cert_list(f->st, &flt, &l),
			SUBCA_E_INVALID_ARGUMENT,
			"a page holds at most 1000 certificates, not 1001");
	assert_null(l.v);
	flt.limit = 1;
	flt.status = (enum subca_cert_status_filter)7;
	th_assert_error(f->st->ops->cert_list(f->st, &flt, &l),
			SUBCA_E_INVALID_ARGUMENT, "unknown status filter 7");
}

/* ---- schema 2: certificate and audit entry in one step ------------------ */

static void test_store_cert_record_writes_certificate_and_audit_together(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "a");
	struct subca_audit_rec au = {.ts = TH_NOW, .authority = "acme",
				     .action = "certificate.issue",
				     .detail = "a", .actor = "apikey:ci"};
	struct subca_audit_list l;
	int64_t n;

	assert_int_equal(f->st->ops->cert_record(f->st, &r, &au), SUBCA_OK);
	assert_true(r.id > 0);
	/* a refused certificate leaves no audit entry either */
	r.id = 0;
	th_assert_error(f->st->ops->cert_record(f->st, &r, &au), SUBCA_E_EXISTS,
			"serial a already exists");
	assert_int_equal(r.id, 0);
	assert_int_equal(f->st->ops->audit_list(f->st, NULL, 0, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	subca_audit_list_cleanup(&l);
	/* inside a transaction it is part of it */
	r = cert_rec(aid, iid, "b");
	assert_int_equal(f->st->ops->begin(f->st), SUBCA_OK);
	assert_int_equal(f->st->ops->cert_record(f->st, &r, &au), SUBCA_OK);
	f->st->ops->rollback(f->st);
	assert_int_equal(f->st->ops->cert_count(f->st, aid, &n), SUBCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(f->st->ops->audit_list(f->st, NULL, 0, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	subca_audit_list_cleanup(&l);
}

/* ---- schema 2: group commit -------------------------------------------- */

#define GC_THREADS 32

struct gc_shared {
	const char *path;
	int64_t aid, iid;
	struct subca_store *watch; /* reads the counters from the observer */
	pthread_barrier_t start;
	int calls;
	size_t first;
	bool stalled_ok;
};

struct gc_arg {
	struct gc_shared *sh;
	int idx;
	subca_result rv;
	char reason[256];
	int64_t id;
};

/*
 * The first batch holds its callers until every other thread has queued
 * behind it, so the next batch is certain to carry more than one record
 * whatever the speed of the disk: no timing is assumed.
 */
static void gc_observe(void *arg, size_t n, subca_result rv)
{
	struct gc_shared *sh = arg;
	struct subca_group_stats s;

	if (sh->calls++ > 0)
		return;
	sh->first = n;
	for (int i = 0; i < 200000; i++) {
		if (sh->watch->ops->group_commit_stats(sh->watch, &s) != SUBCA_OK)
			return;
		if (s.pending + n == GC_THREADS) {
			sh->stalled_ok = true;
			return;
		}
		usleep(100);
	}
}

static void *gc_thread(void *p)
{
	struct gc_arg *a = p;
	struct subca_store *st = NULL;
	char serial[16];
	struct subca_cert_rec r;

	snprintf(serial, sizeof(serial), "%x", a->idx == 7 ? 0xdead : 0x100 + a->idx);
	r = cert_rec(a->sh->aid, a->sh->iid, serial);
	a->rv = subca_store_sqlite_open(a->sh->path, false, &st);
	if (a->rv == SUBCA_OK)
		a->rv = st->ops->group_commit(st, true);
	pthread_barrier_wait(&a->sh->start);
	if (a->rv == SUBCA_OK)
		a->rv = st->ops->cert_add(st, &r);
	snprintf(a->reason, sizeof(a->reason), "%s", subca_error_reason());
	a->id = r.id;
	if (st != NULL)
		st->ops->close(st);
	return NULL;
}

static void test_store_group_commit_batches_32_threads_and_fails_only_the_duplicate(void **state)
{
	struct fx *f = *state;
	struct gc_shared sh = {.path = f->path};
	struct gc_arg args[GC_THREADS];
	pthread_t th[GC_THREADS];
	struct subca_group_stats s;
	struct subca_cert_rec r, out;
	int64_t n;

	sh.aid = add_authority(f->st, "acme", "acme");
	sh.iid = add_intermediate(f->st, sh.aid, SUBCA_INT_ACTIVE);
	r = cert_rec(sh.aid, sh.iid, "dead");
	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	sh.watch = f->st;
	assert_int_equal(f->st->ops->group_commit_observe(f->st, gc_observe, &sh),
			 SUBCA_OK);
	pthread_barrier_init(&sh.start, NULL, GC_THREADS);
	for (int i = 0; i < GC_THREADS; i++) {
		args[i] = (struct gc_arg){.sh = &sh, .idx = i};
		assert_int_equal(pthread_create(&th[i], NULL, gc_thread,
						&args[i]),
				 0);
	}
	for (int i = 0; i < GC_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&sh.start);

	for (int i = 0; i < GC_THREADS; i++) {
		char serial[16];

		if (i == 7) {
			assert_int_equal(args[i].rv, SUBCA_E_EXISTS);
			assert_non_null(strstr(args[i].reason,
					       "serial dead already exists"));
			assert_int_equal(args[i].id, 0);
			continue;
		}
		assert_int_equal(args[i].rv, SUBCA_OK);
		snprintf(serial, sizeof(serial), "%x", 0x100 + i);
		assert_int_equal(f->st->ops->cert_get(f->st, sh.aid, serial,
						      &out),
				 SUBCA_OK);
		assert_int_equal(out.id, args[i].id);
		subca_cert_rec_cleanup(&out);
	}
	assert_int_equal(f->st->ops->cert_count(f->st, sh.aid, &n), SUBCA_OK);
	assert_int_equal(n, GC_THREADS); /* 31 new and the first "dead" */
	assert_true(sh.stalled_ok);
	assert_int_equal(f->st->ops->group_commit_stats(f->st, &s), SUBCA_OK);
	assert_int_equal(s.records, GC_THREADS);
	assert_int_equal(s.pending, 0);
	assert_true(s.max_batch > 1);
	assert_true(s.batches < GC_THREADS);
	assert_int_equal(s.batches, (uint64_t)sh.calls);
	assert_int_equal(subca_store_sqlite_check(f->st), SUBCA_OK);
}

/*
 * A WAL past the checkpoint threshold is copied back (by the checkpointer,
 * then the rest by the committer) and starts again from the top: without
 * that it would hold every page written.
 */
static void test_store_group_commit_checkpoints_keep_the_wal_small(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_group_stats s = {0};
	char wal[512], serial[16];
	struct stat sb;
	int64_t n;
	int i;

	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	for (i = 0; i < 20000 && s.checkpoints < 3; i++) {
		struct subca_cert_rec r;

		snprintf(serial, sizeof(serial), "%x", 0x1000 + i);
		r = cert_rec(aid, iid, serial);
		assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
		assert_int_equal(f->st->ops->group_commit_stats(f->st, &s),
				 SUBCA_OK);
	}
	assert_true(s.checkpoints >= 3);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	/* the threshold is 4000 pages of 4 KiB; a restarted WAL stays near it
	 * (the pages committed while the checkpointer copies come on top),
	 * one never restarted would be over three times that */
	assert_true(sb.st_size < 32 * 1024 * 1024);
	assert_int_equal(f->st->ops->cert_count(f->st, aid, &n), SUBCA_OK);
	assert_int_equal(n, i);
	assert_int_equal(f->st->ops->group_commit(f->st, false), SUBCA_OK);
	fx_reopen(f);
	assert_int_equal(f->st->ops->cert_count(f->st, aid, &n), SUBCA_OK);
	assert_int_equal(n, i);
	assert_int_equal(subca_store_sqlite_check(f->st), SUBCA_OK);
}

/*
 * A store of the group that commits by itself (here a 24 MiB CRL) leaves
 * the checkpoint to the group, not to SQLite's automatic checkpoint on its
 * own thread: the group copies it although no certificate was recorded.
 */
static void test_store_group_commit_checkpoints_for_members_writes(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	size_t big = 24u * 1024 * 1024;
	uint8_t *der = calloc(1, big);
	struct subca_crl_rec r = {.intermediate_id = iid,
				  .number = 1,
				  .this_update = 1,
				  .next_update = 2,
				  .der = der,
				  .der_len = big};
	struct subca_group_stats s = {0};

	assert_non_null(der);
	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	assert_int_equal(f->st->ops->crl_put(f->st, &r), SUBCA_OK);
	/* the committer and checkpointer work on their own threads: wait for
	 * them (up to a minute; no duration is asserted) */
	for (int i = 0; i < 6000 && s.checkpoints == 0; i++) {
		assert_int_equal(f->st->ops->group_commit_stats(f->st, &s),
				 SUBCA_OK);
		if (s.checkpoints == 0)
			usleep(10000);
	}
	assert_true(s.checkpoints >= 1);
	assert_int_equal(s.records, 0);
	free(der);
	assert_int_equal(f->st->ops->group_commit(f->st, false), SUBCA_OK);
	assert_int_equal(subca_store_sqlite_check(f->st), SUBCA_OK);
}

static void test_store_group_commit_off_inside_transaction_and_after_reopen(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "a");
	struct subca_audit_rec au = {.ts = TH_NOW, .action = "certificate.issue",
				     .detail = "a", .actor = "t"};
	struct subca_group_stats s;
	int64_t n;

	th_assert_error(f->st->ops->group_commit_observe(f->st, NULL, NULL),
			SUBCA_E_STATE, "group commit is off");
	assert_int_equal(f->st->ops->group_commit_stats(f->st, &s), SUBCA_OK);
	assert_int_equal(s.batches, 0);
	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	/* a caller's open transaction keeps its write: no batch */
	assert_int_equal(f->st->ops->begin(f->st), SUBCA_OK);
	assert_int_equal(f->st->ops->cert_add(f->st, &r), SUBCA_OK);
	assert_int_equal(f->st->ops->commit(f->st), SUBCA_OK);
	assert_int_equal(f->st->ops->group_commit_stats(f->st, &s), SUBCA_OK);
	assert_int_equal(s.batches, 0);
	/* outside one, a batch of one, durable before the call returns */
	r = cert_rec(aid, iid, "b");
	assert_int_equal(f->st->ops->cert_record(f->st, &r, &au), SUBCA_OK);
	assert_true(r.id > 0);
	r = cert_rec(aid, iid, "b");
	th_assert_error(f->st->ops->cert_add(f->st, &r), SUBCA_E_EXISTS,
			"serial b already exists");
	assert_int_equal(f->st->ops->group_commit_stats(f->st, &s), SUBCA_OK);
	assert_int_equal(s.batches, 2);
	assert_int_equal(s.last_batch, 1);
	assert_int_equal(f->st->ops->group_commit(f->st, false), SUBCA_OK);
	assert_int_equal(f->st->ops->group_commit_stats(f->st, &s), SUBCA_OK);
	assert_int_equal(s.batches, 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit_log"),
			 1);
	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	fx_reopen(f); /* close leaves the group */
	assert_int_equal(f->st->ops->cert_count(f->st, aid, &n), SUBCA_OK);
	assert_int_equal(n, 2);
}

/* ---- asynchronous submit (cert_record_async) ---------------------------- */

#define AS_RECORDS 8

struct as_done {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
	struct {
		int calls;
		subca_result rv;
		char reason[256];
	} one[AS_RECORDS + 1];
};

struct as_arg {
	struct as_done *d;
	int idx;
};

static void as_done_init(struct as_done *d)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
}

static void as_done_cleanup(struct as_done *d)
{
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
}

static void as_cb(void *arg, subca_result rv, const char *reason)
{
	struct as_arg *a = arg;
	struct as_done *d = a->d;

	pthread_mutex_lock(&d->mu);
	d->one[a->idx].calls++;
	d->one[a->idx].rv = rv;
	snprintf(d->one[a->idx].reason, sizeof(d->one[a->idx].reason), "%s",
		 reason);
	d->calls++;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void as_wait(struct as_done *d, int n)
{
	pthread_mutex_lock(&d->mu);
	while (d->calls < n)
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);
}

/* Holds the first batch until `want` records wait behind it. */
struct as_stall {
	struct subca_store *watch;
	size_t want;
	int calls;
	bool ok;
};

static void as_observe(void *arg, size_t n, subca_result rv)
{
	struct as_stall *st = arg;
	struct subca_group_stats s;

	if (st->calls++ > 0)
		return;
	for (int i = 0; i < 200000; i++) {
		if (st->watch->ops->group_commit_stats(st->watch, &s) !=
		    SUBCA_OK)
			return;
		if (s.pending == st->want) {
			st->ok = true;
			return;
		}
		usleep(100);
	}
}

/* Wait until the committer took everything queued (pending 0). */
static void as_wait_taken(struct subca_store *st)
{
	struct subca_group_stats s = {.pending = 1};

	for (int i = 0; i < 200000 && s.pending != 0; i++) {
		assert_int_equal(st->ops->group_commit_stats(st, &s), SUBCA_OK);
		if (s.pending != 0)
			usleep(100);
	}
	assert_int_equal(s.pending, 0);
}

static void test_store_async_submit_reports_each_record_its_own_result(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec recs[AS_RECORDS + 1], dead = cert_rec(aid, iid, "dead");
	struct subca_audit_rec au = {.ts = TH_NOW, .action = "certificate.issue",
				     .detail = "d", .actor = "t"};
	char serials[AS_RECORDS + 1][16];
	struct as_arg args[AS_RECORDS + 1];
	struct as_stall stall = {.watch = f->st, .want = AS_RECORDS};
	struct subca_group_stats s;
	struct subca_cert_rec out;
	struct as_done d;
	int64_t n;

	as_done_init(&d);
	assert_int_equal(f->st->ops->cert_add(f->st, &dead), SUBCA_OK);
	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	assert_int_equal(f->st->ops->group_commit_observe(f->st, as_observe,
							  &stall),
			 SUBCA_OK);
	for (int i = 0; i <= AS_RECORDS; i++) {
		/* record 5 reuses a serial the store has: it alone fails */
		snprintf(serials[i], sizeof(serials[i]), "%x",
			 i == 5 ? 0xdead : 0x100 + i);
		recs[i] = cert_rec(aid, iid, serials[i]);
		args[i] = (struct as_arg){.d = &d, .idx = i};
	}
	/* the first goes alone; the committer holds it (observer) until
	 * the other eight are queued: they make one batch */
	assert_int_equal(f->st->ops->cert_record_async(f->st, &recs[0], &au,
						       as_cb, &args[0]),
			 SUBCA_OK);
	as_wait_taken(f->st);
	for (int i = 1; i <= AS_RECORDS; i++)
		assert_int_equal(f->st->ops->cert_record_async(
					 f->st, &recs[i], &au, as_cb, &args[i]),
				 SUBCA_OK);
	as_wait(&d, AS_RECORDS + 1);

	assert_true(stall.ok);
	for (int i = 0; i <= AS_RECORDS; i++) {
		assert_int_equal(d.one[i].calls, 1);
		if (i == 5) {
			assert_int_equal(d.one[i].rv, SUBCA_E_EXISTS);
			assert_non_null(strstr(d.one[i].reason,
					       "serial dead already exists"));
			assert_int_equal(recs[i].id, 0);
			continue;
		}
		assert_int_equal(d.one[i].rv, SUBCA_OK);
		assert_string_equal(d.one[i].reason, "");
		assert_int_equal(f->st->ops->cert_get(f->st, aid, serials[i],
						      &out),
				 SUBCA_OK);
		assert_int_equal(out.id, recs[i].id);
		subca_cert_rec_cleanup(&out);
	}
	assert_int_equal(f->st->ops->group_commit_stats(f->st, &s), SUBCA_OK);
	assert_int_equal(s.batches, 2);
	assert_int_equal(s.records, AS_RECORDS + 1);
	assert_int_equal(s.last_batch, AS_RECORDS);
	assert_int_equal(s.max_batch, AS_RECORDS);
	assert_int_equal(s.pending, 0);
	assert_int_equal(stall.calls, 2);
	assert_int_equal(f->st->ops->cert_count(f->st, aid, &n), SUBCA_OK);
	assert_int_equal(n, AS_RECORDS + 1); /* 8 new and the first "dead" */
	/* one audit entry per certificate written, none for the refused */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit_log"),
			 AS_RECORDS);
	assert_int_equal(f->st->ops->group_commit(f->st, false), SUBCA_OK);
	as_done_cleanup(&d);
}

static void test_store_async_submit_without_group_commit_reports_before_returning(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec r = cert_rec(aid, iid, "a");
	struct as_arg args[2];
	struct as_done d;

	as_done_init(&d);
	args[0] = (struct as_arg){.d = &d, .idx = 0};
	args[1] = (struct as_arg){.d = &d, .idx = 1};
	assert_int_equal(f->st->ops->cert_record_async(f->st, &r, NULL, as_cb,
						       &args[0]),
			 SUBCA_OK);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.one[0].rv, SUBCA_OK);
	assert_true(r.id > 0);
	r = cert_rec(aid, iid, "a");
	assert_int_equal(f->st->ops->cert_record_async(f->st, &r, NULL, as_cb,
						       &args[1]),
			 SUBCA_OK);
	assert_int_equal(d.calls, 2);
	assert_int_equal(d.one[1].rv, SUBCA_E_EXISTS);
	assert_non_null(strstr(d.one[1].reason, "serial a already exists"));
	as_done_cleanup(&d);
}

static void test_store_async_submit_last_store_leaving_writes_the_queue_first(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	struct subca_cert_rec recs[AS_RECORDS];
	char serials[AS_RECORDS][16];
	struct as_arg args[AS_RECORDS];
	struct subca_store *other = NULL;
	struct as_done d;
	int64_t n;

	as_done_init(&d);
	/* two stores share the group: the first to leave while idle keeps
	 * it (and its committer) for the other */
	assert_int_equal(subca_store_sqlite_open(f->path, false, &other),
			 SUBCA_OK);
	assert_int_equal(other->ops->group_commit(other, true), SUBCA_OK);
	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	other->ops->close(other);
	for (int i = 0; i < AS_RECORDS; i++) {
		snprintf(serials[i], sizeof(serials[i]), "%x", 0x200 + i);
		recs[i] = cert_rec(aid, iid, serials[i]);
		args[i] = (struct as_arg){.d = &d, .idx = i};
		assert_int_equal(f->st->ops->cert_record_async(
					 f->st, &recs[i], NULL, as_cb, &args[i]),
				 SUBCA_OK);
	}
	/* the last one leaves: close returns once everything queued is
	 * written and reported, and the committer is gone */
	fx_reopen(f);
	assert_int_equal(d.calls, AS_RECORDS);
	for (int i = 0; i < AS_RECORDS; i++)
		assert_int_equal(d.one[i].rv, SUBCA_OK);
	assert_int_equal(f->st->ops->cert_count(f->st, aid, &n), SUBCA_OK);
	assert_int_equal(n, AS_RECORDS);
	/* and a group made again starts a committer again */
	assert_int_equal(f->st->ops->group_commit(f->st, true), SUBCA_OK);
	recs[0] = cert_rec(aid, iid, "fff");
	assert_int_equal(f->st->ops->cert_add(f->st, &recs[0]), SUBCA_OK);
	assert_int_equal(f->st->ops->group_commit(f->st, false), SUBCA_OK);
	as_done_cleanup(&d);
}

/* ---- schema 2: allocation failures ------------------------------------- */

static void test_store_schema_2_lists_return_nomem_without_leaks(void **state)
{
	struct fx *f = *state;
	int64_t oid;
	int64_t aid = fill_certs(f->st, 3, &oid);
	int failures = 0;

	add_token(f->st, HASH_A, "acme", 0);
	add_token(f->st, HASH_B, NULL, 0);
	add_prov(f->st, aid, "ci", SUBCA_PROV_APIKEY, HASH_C);
	add_prov(f->st, aid, "laptop", SUBCA_PROV_JWK, NULL);
	for (long n = 0; n < 64; n++) {
		struct subca_admin_token_list tl;
		struct subca_admin_token_rec t;
		struct subca_provisioner_list pl;
		struct subca_provisioner_rec p;
		struct subca_cert_list cl;
		struct subca_cert_filter flt = {0};
		subca_result rv[5];
		bool all_ok = true;

		subca_alloc_fail_after(n);
		rv[0] = f->st->ops->admin_token_list(f->st, &tl);
		subca_alloc_fail_after(n);
		rv[1] = f->st->ops->admin_token_get_by_hash(f->st, HASH_A, &t);
		subca_alloc_fail_after(n);
		rv[2] = f->st->ops->provisioner_list(f->st, aid, &pl);
		subca_alloc_fail_after(n);
		rv[3] = f->st->ops->provisioner_get(f->st, aid, "laptop", &p);
		subca_alloc_fail_after(n);
		rv[4] = f->st->ops->cert_list(f->st, &flt, &cl);
		subca_alloc_fail_after(-1);
		for (int i = 0; i < 5; i++) {
			if (rv[i] != SUBCA_OK) {
				assert_int_equal(rv[i], SUBCA_E_NOMEM);
				all_ok = false;
				failures++;
			}
		}
		if (rv[0] == SUBCA_OK)
			subca_admin_token_list_cleanup(&tl);
		else
			assert_null(tl.v);
		if (rv[1] == SUBCA_OK)
			subca_admin_token_rec_cleanup(&t);
		else
			assert_null(t.hash);
		if (rv[2] == SUBCA_OK)
			subca_provisioner_list_cleanup(&pl);
		else
			assert_null(pl.v);
		if (rv[3] == SUBCA_OK)
			subca_provisioner_rec_cleanup(&p);
		else
			assert_null(p.name);
		if (rv[4] == SUBCA_OK)
			subca_cert_list_cleanup(&cl);
		else
			assert_null(cl.v);
		if (all_ok)
			break;
	}
	assert_true(failures > 5);
}

/* ---- schema 3: rotation ------------------------------------------------ */

static void test_store_ready_intermediate_keeps_its_activation_time(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	struct subca_intermediate_rec r = int_rec(aid, SUBCA_INT_READY);
	struct subca_intermediate_list l = {0};

	r.activate_at = TH_NOW + 60;
	assert_int_equal(f->st->ops->intermediate_add(f->st, &r), SUBCA_OK);
	/* a verified one waiting is not active: the active one is allowed */
	add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	assert_int_equal(f->st->ops->intermediate_list(f->st, aid, &l), SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].state, SUBCA_INT_READY);
	assert_int_equal(l.v[0].activate_at, TH_NOW + 60);
	assert_string_equal(subca_intermediate_state_name(l.v[0].state), "ready");
	l.v[0].state = SUBCA_INT_RETIRED;
	l.v[0].retired_at = TH_NOW + 61;
	assert_int_equal(f->st->ops->intermediate_update(f->st, &l.v[0]), SUBCA_OK);
	/* a ready one without its certificate cannot be written */
	subca_free(l.v[1].cert_pem);
	l.v[1].cert_pem = NULL;
	l.v[1].state = SUBCA_INT_READY;
	th_assert_error(f->st->ops->intermediate_update(f->st, &l.v[1]),
			SUBCA_E_INVALID_ARGUMENT, "needs its certificate");
	subca_intermediate_list_cleanup(&l);
	assert_int_equal(f->st->ops->intermediate_list(f->st, aid, &l), SUBCA_OK);
	assert_int_equal(l.v[0].state, SUBCA_INT_RETIRED);
	assert_int_equal(l.v[0].retired_at, TH_NOW + 61);
	subca_intermediate_list_cleanup(&l);
}

static void test_store_rotation_settings_put_get_list_remove(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	struct subca_rotation_rec r = {.authority_id = aid, .rotate_before = 86400,
				       .signer_command = "/bin/sign", .hook_timeout = 60,
				       .days = 30, .updated = TH_NOW};
	struct subca_rotation_rec out = {0};
	struct subca_rotation_list l = {0};

	th_assert_error(f->st->ops->rotation_get(f->st, aid, &out), SUBCA_E_NOT_FOUND,
			"has no rotation settings");
	assert_int_equal(f->st->ops->rotation_put(f->st, &r), SUBCA_OK);
	r.signer_command = "/bin/sign2";
	assert_int_equal(f->st->ops->rotation_put(f->st, &r), SUBCA_OK);
	assert_int_equal(f->st->ops->rotation_get(f->st, aid, &out), SUBCA_OK);
	assert_string_equal(out.signer_command, "/bin/sign2");
	assert_int_equal(out.rotate_before, 86400);
	assert_int_equal(out.hook_timeout, 60);
	assert_int_equal(out.days, 30);
	subca_rotation_rec_cleanup(&out);
	assert_int_equal(f->st->ops->rotation_list(f->st, &l), SUBCA_OK);
	assert_int_equal(l.n, 1);
	subca_rotation_list_cleanup(&l);
	r.authority_id = aid + 100;
	th_assert_error(f->st->ops->rotation_put(f->st, &r), SUBCA_E_NOT_FOUND,
			"no authority with id");
	assert_int_equal(f->st->ops->rotation_remove(f->st, aid), SUBCA_OK);
	th_assert_error(f->st->ops->rotation_remove(f->st, aid), SUBCA_E_NOT_FOUND,
			"has no rotation settings");
}

/* ---- schema 6: certificates of an intermediate's key ------------------- */

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_store_intermediate_certs_are_listed_per_authority_oldest_first(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t other = add_authority(f->st, "other", "other");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_ACTIVE);
	int64_t oid = add_intermediate(f->st, other, SUBCA_INT_ACTIVE);
	struct subca_intermediate_cert_rec r = {
		.intermediate_id = iid, .pem = "PEM A", .fingerprint = FP_A,
		.not_before = TH_NOW, .not_after = TH_NOW + 10, .recorded = TH_NOW};
	struct subca_intermediate_cert_list l = {0};

	assert_int_equal(f->st->ops->intermediate_cert_add(f->st, &r), SUBCA_OK);
	assert_true(r.id > 0);
	r.pem = "PEM B";
	r.fingerprint = FP_B;
	r.not_after = TH_NOW + 20;
	assert_int_equal(f->st->ops->intermediate_cert_add(f->st, &r), SUBCA_OK);
	/* the same certificate of another authority's intermediate is its own */
	r.intermediate_id = oid;
	assert_int_equal(f->st->ops->intermediate_cert_add(f->st, &r), SUBCA_OK);
	fx_reopen(f);
	assert_int_equal(f->st->ops->intermediate_cert_list(f->st, aid, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].intermediate_id, iid);
	assert_string_equal(l.v[0].pem, "PEM A");
	assert_string_equal(l.v[0].fingerprint, FP_A);
	assert_int_equal(l.v[0].not_after, TH_NOW + 10);
	assert_string_equal(l.v[1].fingerprint, FP_B);
	assert_int_equal(l.v[1].not_after, TH_NOW + 20);
	assert_int_equal(l.v[1].recorded, TH_NOW);
	subca_intermediate_cert_list_cleanup(&l);
	assert_int_equal(f->st->ops->intermediate_cert_list(f->st, aid + 100, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 0);
}

static void test_store_intermediate_cert_twice_is_exists_and_unknown_is_not_found(void **state)
{
	struct fx *f = *state;
	int64_t aid = add_authority(f->st, "acme", "acme");
	int64_t iid = add_intermediate(f->st, aid, SUBCA_INT_RETIRED);
	struct subca_intermediate_cert_rec r = {
		.intermediate_id = iid, .pem = "PEM A", .fingerprint = FP_A,
		.not_before = TH_NOW, .not_after = TH_NOW + 10, .recorded = TH_NOW};
	struct subca_intermediate_cert_list l = {0};

	assert_int_equal(f->st->ops->intermediate_cert_add(f->st, &r), SUBCA_OK);
	th_assert_error(f->st->ops->intermediate_cert_add(f->st, &r),
			SUBCA_E_EXISTS, "is already recorded for intermediate");
	r.intermediate_id = iid + 100;
	th_assert_error(f->st->ops->intermediate_cert_add(f->st, &r),
			SUBCA_E_NOT_FOUND, "no intermediate with id");
	r.intermediate_id = iid;
	r.fingerprint = "ab";
	th_assert_error(f->st->ops->intermediate_cert_add(f->st, &r),
			SUBCA_E_STORE, "");
	assert_int_equal(f->st->ops->intermediate_cert_list(f->st, aid, &l),
			 SUBCA_OK);
	assert_int_equal(l.n, 1);
	subca_intermediate_cert_list_cleanup(&l);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_store_open_creates_private_wal_database_at_schema_version),
		T(test_store_open_without_create_on_missing_file_is_not_initialised),
		T(test_store_open_refuses_sqlite_file_without_subca_schema),
		T(test_store_open_refuses_a_file_that_is_not_a_database),
		T(test_store_open_refuses_newer_schema_version),
		T(test_store_reopen_keeps_data_and_schema),
		T(test_store_cached_lookups_leave_no_read_open),
		T(test_store_authority_create_get_list_and_update),
		T(test_store_authority_list_of_empty_store_is_empty),
		T(test_store_authority_duplicate_name_is_exists_naming_it),
		T(test_store_authority_duplicate_subdomain_is_exists_naming_it),
		T(test_store_authority_get_by_subdomain_ignores_case),
		T(test_store_authority_get_and_update_unknown_is_not_found),
		T(test_store_authority_with_bad_state_or_empty_name_is_refused),
		T(test_store_values_with_sql_metacharacters_are_stored_verbatim),
		T(test_store_root_put_get_and_replace),
		T(test_store_root_of_unknown_authority_is_not_found),
		T(test_store_intermediate_add_update_and_list_oldest_first),
		T(test_store_second_active_intermediate_is_refused),
		T(test_store_intermediate_active_without_certificate_is_refused),
		T(test_store_intermediate_unknown_is_not_found),
		T(test_store_cert_add_get_and_count),
		T(test_store_cert_duplicate_serial_is_exists_naming_it),
		T(test_store_cert_serial_must_be_canonical_hex),
		T(test_store_cert_of_another_authoritys_intermediate_is_not_found),
		T(test_store_audit_list_is_newest_first_filtered_and_limited),
		T(test_store_audit_log_refuses_update_and_delete),
		T(test_store_audit_query_narrows_by_id_and_action_prefix),

		T(test_store_meta_set_overwrites_and_unset_is_not_found),
		T(test_store_rollback_of_outer_transaction_leaves_no_row),
		T(test_store_inner_rollback_undoes_only_inner_work),
		T(test_store_commit_without_begin_is_refused),
		T(test_store_close_rolls_back_an_open_transaction),
		T(test_store_integrity_check_passes_on_a_used_store),
		T(test_store_integrity_check_reports_foreign_key_violation),
		T(test_store_allocation_failures_return_nomem_without_leaks),
		T(test_store_migration_from_version_1_keeps_its_data),
		T(test_store_migration_7_keeps_the_audit_log_and_its_ids),
		T(test_store_admin_token_add_get_list_and_revoke),
		T(test_store_admin_token_duplicate_hash_is_exists),
		T(test_store_admin_token_unknown_is_not_found),
		T(test_store_admin_token_with_bad_hash_or_scope_is_refused),
		T(test_store_provisioner_add_get_list_and_remove),
		T(test_store_provisioner_policy_defaults_to_empty_object),
		T(test_store_provisioner_duplicates_are_exists_naming_them),
		T(test_store_provisioner_of_unknown_authority_is_not_found),
		T(test_store_provisioner_credential_must_match_its_type),
		T(test_store_provisioner_type_names_round_trip),
		T(test_store_jti_replay_is_refused_also_after_reopen),
		T(test_store_jti_length_cap_at_the_limit_and_one_past),
		T(test_store_jti_prune_forgets_only_expired_ids),
		T(test_store_provisioner_remove_forgets_its_token_ids),
		T(test_store_cert_revoke_records_reason_and_time_once),
		T(test_store_cert_revoke_unknown_serial_is_not_found),
		T(test_store_cert_revoke_reason_must_be_a_crl_reason),
		T(test_store_revoked_certificate_cannot_be_made_valid_again),
		T(test_store_cert_list_filters_by_authority_status_expiry_and_name),
		T(test_store_cert_list_pages_with_a_cursor),
		T(test_store_cert_list_page_size_at_the_limit_and_one_past),
		T(test_store_cert_record_writes_certificate_and_audit_together),
		T(test_store_group_commit_batches_32_threads_and_fails_only_the_duplicate),
		T(test_store_group_commit_checkpoints_keep_the_wal_small),
		T(test_store_group_commit_checkpoints_for_members_writes),
		T(test_store_group_commit_off_inside_transaction_and_after_reopen),
		T(test_store_async_submit_reports_each_record_its_own_result),
		T(test_store_async_submit_without_group_commit_reports_before_returning),
		T(test_store_async_submit_last_store_leaving_writes_the_queue_first),
		T(test_store_schema_2_lists_return_nomem_without_leaks),
		T(test_store_ready_intermediate_keeps_its_activation_time),
		T(test_store_rotation_settings_put_get_list_remove),
		T(test_store_intermediate_certs_are_listed_per_authority_oldest_first),
		T(test_store_intermediate_cert_twice_is_exists_and_unknown_is_not_found),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
