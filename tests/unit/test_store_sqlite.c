/* Unit tests of the SQLite store: schema, every operation, constraints. */
#include "helpers.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subca/alloc.h"
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
		T(test_store_authority_create_get_list_and_update),
		T(test_store_authority_list_of_empty_store_is_empty),
		T(test_store_authority_duplicate_name_is_exists_naming_it),
		T(test_store_authority_duplicate_subdomain_is_exists_naming_it),
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
		T(test_store_meta_set_overwrites_and_unset_is_not_found),
		T(test_store_rollback_of_outer_transaction_leaves_no_row),
		T(test_store_inner_rollback_undoes_only_inner_work),
		T(test_store_commit_without_begin_is_refused),
		T(test_store_close_rolls_back_an_open_transaction),
		T(test_store_integrity_check_passes_on_a_used_store),
		T(test_store_integrity_check_reports_foreign_key_violation),
		T(test_store_allocation_failures_return_nomem_without_leaks),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
