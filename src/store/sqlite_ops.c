/*
 * The SQLite store's record operations: one prepared statement each, every
 * value bound, every record handed out copied with the subca allocator.
 */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"

#define SUBCA__REASON(buf, ...) snprintf((buf), sizeof(buf), __VA_ARGS__)

/* ---- small shared steps ------------------------------------------------ */

static subca_result subca__bind_texts(struct subca__sqlite *s,
				      sqlite3_stmt *stmt, int first,
				      const char *const *v, int n)
{
	for (int i = 0; i < n; i++)
		SUBCA_TRY(subca__sqlite_bind_text(s, stmt, first + i, v[i]));
	return SUBCA_OK;
}

static subca_result subca__bind_ints(struct subca__sqlite *s,
				     sqlite3_stmt *stmt, int first,
				     const int64_t *v, int n)
{
	for (int i = 0; i < n; i++)
		SUBCA_TRY(subca__sqlite_bind_int(s, stmt, first + i, v[i]));
	return SUBCA_OK;
}

/* Copy text columns first..first+n-1 into *out[i]; all or none. */
static subca_result subca__texts(sqlite3_stmt *stmt, int first, char **out[],
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

/* Make room for one more element in a list array of `size`-byte items. */
static subca_result subca__grow(void **v, size_t n, size_t *cap, size_t size)
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

/* An UPDATE that touched no row names what was missing. */
static subca_result subca__changed(struct subca__sqlite *s, const char *what,
				   int64_t id)
{
	SUBCA_ENSURE(sqlite3_changes(s->db) > 0, SUBCA_E_NOT_FOUND,
		     "no %s with id %lld", what, (long long)id);
	return SUBCA_OK;
}

static subca_result subca__state_parse(const char *t, int count,
				       const char *(*name)(int), int *out,
				       const char *what)
{
	for (int i = 0; t != NULL && i < count; i++) {
		if (strcmp(t, name(i)) == 0) {
			*out = i;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_STORE, "unknown %s state \"%s\" in the database",
		   what, t ? t : "(null)");
}

static const char *subca__auth_state(int i)
{
	return subca_authority_state_name((enum subca_authority_state)i);
}

static const char *subca__int_state(int i)
{
	return subca_intermediate_state_name((enum subca_intermediate_state)i);
}

/* ---- authorities ------------------------------------------------------- */

#define SUBCA__AUTHORITY_COLS \
	"id, name, subdomain, state, generated_root, root_key_id, created"

static subca_result subca__authority_row(sqlite3_stmt *stmt,
					 struct subca_authority_rec *r)
{
	char **texts[] = {&r->name, &r->subdomain};
	subca_result rv;
	int state = 0;

	memset(r, 0, sizeof(*r));
	SUBCA_TRY(subca__state_parse((const char *)sqlite3_column_text(stmt, 3),
				     SUBCA_AUTH_ACTIVE + 1, subca__auth_state,
				     &state, "authority"));
	r->id = sqlite3_column_int64(stmt, 0);
	r->state = (enum subca_authority_state)state;
	r->generated_root = sqlite3_column_int(stmt, 4) != 0;
	r->created = sqlite3_column_int64(stmt, 6);
	SUBCA_TRY(subca__texts(stmt, 1, texts, 2));
	rv = subca__sqlite_text(stmt, 5, &r->root_key_id);
	if (rv != SUBCA_OK)
		subca_authority_rec_cleanup(r);
	return rv;
}

static subca_result subca__authority_create(struct subca_store *st,
					    struct subca_authority_rec *r)
{
	static const char sql[] =
		"INSERT INTO authorities (name, subdomain, state,"
		" generated_root, root_key_id, created) VALUES (?, ?, ?, ?, ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->name, r->subdomain,
			       subca_authority_state_name(r->state)};
	int64_t ints[] = {r->generated_root ? 1 : 0};
	char exists[256];
	subca_result rv;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__bind_texts(s, stmt, 1, texts, 3));
	SUBCA_TRY(subca__bind_ints(s, stmt, 4, ints, 1));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 5, r->root_key_id));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 6, r->created));
	SUBCA__REASON(exists, "authority \"%s\" already exists", r->name);
	rv = subca__sqlite_done(s, stmt, exists, NULL);
	if (rv == SUBCA_E_EXISTS &&
	    strstr(sqlite3_errmsg(s->db), "authorities.subdomain") != NULL)
		SUBCA_BAIL(SUBCA_E_EXISTS,
			   "subdomain \"%s\" is already used by another authority",
			   r->subdomain);
	SUBCA_TRY(rv);
	r->id = sqlite3_last_insert_rowid(s->db);
	return SUBCA_OK;
}

static subca_result subca__authority_get(struct subca_store *st,
					 const char *name,
					 struct subca_authority_rec *out)
{
	static const char sql[] = "SELECT " SUBCA__AUTHORITY_COLS
				  " FROM authorities WHERE name = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 1, name));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no authority \"%s\"", name);
	return subca__authority_row(stmt, out);
}

static subca_result subca__authority_list(struct subca_store *st,
					  struct subca_authority_list *out)
{
	static const char sql[] = "SELECT " SUBCA__AUTHORITY_COLS
				  " FROM authorities ORDER BY name";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	size_t cap = 0;
	subca_result rv;
	bool row;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	for (;;) {
		rv = subca__sqlite_row(s, stmt, &row);
		if (rv != SUBCA_OK || !row)
			break;
		rv = subca__grow((void **)&out->v, out->n, &cap,
				 sizeof(*out->v));
		if (rv == SUBCA_OK)
			rv = subca__authority_row(stmt, &out->v[out->n]);
		if (rv != SUBCA_OK)
			break;
		out->n++;
	}
	if (rv != SUBCA_OK)
		subca_authority_list_cleanup(out);
	return rv;
}

static subca_result subca__authority_update(struct subca_store *st,
					    const struct subca_authority_rec *r)
{
	static const char sql[] =
		"UPDATE authorities SET state = ?, generated_root = ?,"
		" root_key_id = ? WHERE id = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 1,
					  subca_authority_state_name(r->state)));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 2, r->generated_root ? 1 : 0));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 3, r->root_key_id));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 4, r->id));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, NULL));
	return subca__changed(s, "authority", r->id);
}

/* ---- roots ------------------------------------------------------------- */

static subca_result subca__root_put(struct subca_store *st,
				    const struct subca_root_rec *r)
{
	static const char sql[] =
		"INSERT INTO roots (authority_id, pem, subject, fingerprint,"
		" not_after, imported) VALUES (?, ?, ?, ?, ?, ?)"
		" ON CONFLICT (authority_id) DO UPDATE SET pem = excluded.pem,"
		" subject = excluded.subject, fingerprint = excluded.fingerprint,"
		" not_after = excluded.not_after, imported = excluded.imported";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->pem, r->subject, r->fingerprint};
	int64_t ints[] = {r->not_after, r->imported};
	char missing[128];

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->authority_id));
	SUBCA_TRY(subca__bind_texts(s, stmt, 2, texts, 3));
	SUBCA_TRY(subca__bind_ints(s, stmt, 5, ints, 2));
	SUBCA__REASON(missing, "no authority with id %lld",
		      (long long)r->authority_id);
	return subca__sqlite_done(s, stmt, NULL, missing);
}

static subca_result subca__root_get(struct subca_store *st,
				    int64_t authority_id,
				    struct subca_root_rec *out)
{
	static const char sql[] =
		"SELECT authority_id, pem, subject, fingerprint, not_after,"
		" imported FROM roots WHERE authority_id = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	char **texts[] = {&out->pem, &out->subject, &out->fingerprint};
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "authority %lld has no root",
		     (long long)authority_id);
	out->authority_id = sqlite3_column_int64(stmt, 0);
	out->not_after = sqlite3_column_int64(stmt, 4);
	out->imported = sqlite3_column_int64(stmt, 5);
	return subca__texts(stmt, 1, texts, 3);
}

/* ---- intermediates ----------------------------------------------------- */

#define SUBCA__INTERMEDIATE_COLS                                          \
	"id, authority_id, state, key_id, key_type, subject, csr_pem,"     \
	" cert_pem, fingerprint, crl_url, ocsp_url, days, not_before,"     \
	" not_after, created"

#define SUBCA__ONE_ACTIVE \
	"the authority already has an active intermediate (retire it first)"

static subca_result subca__intermediate_row(sqlite3_stmt *stmt,
					    struct subca_intermediate_rec *r)
{
	char **texts[] = {&r->key_id,  &r->key_type,	&r->subject,
			  &r->csr_pem, &r->cert_pem,	&r->fingerprint,
			  &r->crl_url, &r->ocsp_url};
	int state = 0;

	memset(r, 0, sizeof(*r));
	SUBCA_TRY(subca__state_parse((const char *)sqlite3_column_text(stmt, 2),
				     SUBCA_INT_RETIRED + 1, subca__int_state,
				     &state, "intermediate"));
	r->id = sqlite3_column_int64(stmt, 0);
	r->authority_id = sqlite3_column_int64(stmt, 1);
	r->state = (enum subca_intermediate_state)state;
	r->days = sqlite3_column_int(stmt, 11);
	r->not_before = sqlite3_column_int64(stmt, 12);
	r->not_after = sqlite3_column_int64(stmt, 13);
	r->created = sqlite3_column_int64(stmt, 14);
	return subca__texts(stmt, 3, texts, 8);
}

static subca_result subca__intermediate_add(struct subca_store *st,
					    struct subca_intermediate_rec *r)
{
	static const char sql[] =
		"INSERT INTO intermediates (authority_id, state, key_id,"
		" key_type, subject, csr_pem, cert_pem, fingerprint, crl_url,"
		" ocsp_url, days, not_before, not_after, created)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {subca_intermediate_state_name(r->state),
			       r->key_id, r->key_type, r->subject, r->csr_pem,
			       r->cert_pem, r->fingerprint, r->crl_url,
			       r->ocsp_url};
	int64_t ints[] = {r->days, r->not_before, r->not_after, r->created};
	char missing[128];

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->authority_id));
	SUBCA_TRY(subca__bind_texts(s, stmt, 2, texts, 9));
	SUBCA_TRY(subca__bind_ints(s, stmt, 11, ints, 4));
	SUBCA__REASON(missing, "no authority with id %lld",
		      (long long)r->authority_id);
	SUBCA_TRY(subca__sqlite_done(s, stmt, SUBCA__ONE_ACTIVE, missing));
	r->id = sqlite3_last_insert_rowid(s->db);
	return SUBCA_OK;
}

static subca_result subca__intermediate_update(struct subca_store *st,
					       const struct subca_intermediate_rec *r)
{
	static const char sql[] =
		"UPDATE intermediates SET state = ?, cert_pem = ?,"
		" fingerprint = ?, not_before = ?, not_after = ? WHERE id = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {subca_intermediate_state_name(r->state),
			       r->cert_pem, r->fingerprint};
	int64_t ints[] = {r->not_before, r->not_after, r->id};

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__bind_texts(s, stmt, 1, texts, 3));
	SUBCA_TRY(subca__bind_ints(s, stmt, 4, ints, 3));
	SUBCA_TRY(subca__sqlite_done(s, stmt, SUBCA__ONE_ACTIVE, NULL));
	return subca__changed(s, "intermediate", r->id);
}

static subca_result subca__intermediate_list(struct subca_store *st,
					     int64_t authority_id,
					     struct subca_intermediate_list *out)
{
	static const char sql[] = "SELECT " SUBCA__INTERMEDIATE_COLS
				  " FROM intermediates WHERE authority_id = ?"
				  " ORDER BY id";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	size_t cap = 0;
	subca_result rv;
	bool row;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	for (;;) {
		rv = subca__sqlite_row(s, stmt, &row);
		if (rv != SUBCA_OK || !row)
			break;
		rv = subca__grow((void **)&out->v, out->n, &cap,
				 sizeof(*out->v));
		if (rv == SUBCA_OK)
			rv = subca__intermediate_row(stmt, &out->v[out->n]);
		if (rv != SUBCA_OK)
			break;
		out->n++;
	}
	if (rv != SUBCA_OK)
		subca_intermediate_list_cleanup(out);
	return rv;
}

/* ---- certificates ------------------------------------------------------ */

static subca_result subca__cert_add(struct subca_store *st,
				    struct subca_cert_rec *r)
{
	static const char sql[] =
		"INSERT INTO certificates (authority_id, intermediate_id,"
		" serial, subject, sans, pem, not_before, not_after, issued_by,"
		" created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->serial, r->subject, r->sans, r->pem};
	int64_t ints[] = {r->not_before, r->not_after};
	char exists[160], missing[128];

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->authority_id));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 2, r->intermediate_id));
	SUBCA_TRY(subca__bind_texts(s, stmt, 3, texts, 4));
	SUBCA_TRY(subca__bind_ints(s, stmt, 7, ints, 2));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 9, r->issued_by));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 10, r->created));
	SUBCA__REASON(exists,
		      "a certificate with serial %.64s already exists in this authority",
		      r->serial ? r->serial : "");
	SUBCA__REASON(missing, "no intermediate %lld in authority %lld",
		      (long long)r->intermediate_id,
		      (long long)r->authority_id);
	SUBCA_TRY(subca__sqlite_done(s, stmt, exists, missing));
	r->id = sqlite3_last_insert_rowid(s->db);
	return SUBCA_OK;
}

static subca_result subca__cert_get(struct subca_store *st,
				    int64_t authority_id, const char *serial,
				    struct subca_cert_rec *out)
{
	static const char sql[] =
		"SELECT id, authority_id, intermediate_id, serial, subject, sans,"
		" pem, issued_by, not_before, not_after, created"
		" FROM certificates WHERE authority_id = ? AND serial = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	char **texts[] = {&out->serial, &out->subject, &out->sans, &out->pem,
			  &out->issued_by};
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, serial));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no certificate with serial %.64s",
		     serial);
	out->id = sqlite3_column_int64(stmt, 0);
	out->authority_id = sqlite3_column_int64(stmt, 1);
	out->intermediate_id = sqlite3_column_int64(stmt, 2);
	out->not_before = sqlite3_column_int64(stmt, 8);
	out->not_after = sqlite3_column_int64(stmt, 9);
	out->created = sqlite3_column_int64(stmt, 10);
	return subca__texts(stmt, 3, texts, 5);
}

static subca_result subca__cert_count(struct subca_store *st,
				      int64_t authority_id, int64_t *out)
{
	static const char sql[] =
		"SELECT count(*) FROM certificates WHERE authority_id = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	*out = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	*out = row ? sqlite3_column_int64(stmt, 0) : 0;
	return SUBCA_OK;
}

/* ---- audit log --------------------------------------------------------- */

static subca_result subca__audit_append(struct subca_store *st,
					const struct subca_audit_rec *r)
{
	static const char sql[] =
		"INSERT INTO audit_log (ts, authority, action, detail, actor)"
		" VALUES (?, ?, ?, coalesce(?, ''), ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->authority, r->action, r->detail, r->actor};

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->ts));
	SUBCA_TRY(subca__bind_texts(s, stmt, 2, texts, 4));
	return subca__sqlite_done(s, stmt, NULL, NULL);
}

static subca_result subca__audit_row(sqlite3_stmt *stmt,
				     struct subca_audit_rec *r)
{
	char **texts[] = {&r->authority, &r->action, &r->detail, &r->actor};

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(stmt, 0);
	r->ts = sqlite3_column_int64(stmt, 1);
	return subca__texts(stmt, 2, texts, 4);
}

static subca_result subca__audit_list(struct subca_store *st,
				      const char *authority, size_t limit,
				      struct subca_audit_list *out)
{
	static const char all[] =
		"SELECT id, ts, authority, action, detail, actor FROM audit_log"
		" ORDER BY id DESC LIMIT ?";
	static const char one[] =
		"SELECT id, ts, authority, action, detail, actor FROM audit_log"
		" WHERE authority = ? ORDER BY id DESC LIMIT ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	int64_t lim = limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit;
	size_t cap = 0;
	subca_result rv;
	bool row;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, authority ? one : all, &stmt));
	if (authority != NULL)
		SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 1, authority));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, authority ? 2 : 1, lim));
	for (;;) {
		rv = subca__sqlite_row(s, stmt, &row);
		if (rv != SUBCA_OK || !row)
			break;
		rv = subca__grow((void **)&out->v, out->n, &cap,
				 sizeof(*out->v));
		if (rv == SUBCA_OK)
			rv = subca__audit_row(stmt, &out->v[out->n]);
		if (rv != SUBCA_OK)
			break;
		out->n++;
	}
	if (rv != SUBCA_OK)
		subca_audit_list_cleanup(out);
	return rv;
}

/* ---- meta -------------------------------------------------------------- */

static subca_result subca__meta_get(struct subca_store *st, const char *key,
				    char **value)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	*value = NULL;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 1, key));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no setting \"%s\"", key);
	return subca__sqlite_text(stmt, 0, value);
}

static subca_result subca__meta_set(struct subca_store *st, const char *key,
				    const char *value)
{
	static const char sql[] =
		"INSERT INTO meta (key, value) VALUES (?, ?)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {key, value};

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__bind_texts(s, stmt, 1, texts, 2));
	return subca__sqlite_done(s, stmt, NULL, NULL);
}

const struct subca_store_ops subca__sqlite_ops = {
	.name = "sqlite",
	.close = subca__sqlite_close,
	.begin = subca__sqlite_begin,
	.commit = subca__sqlite_commit,
	.rollback = subca__sqlite_rollback,
	.authority_create = subca__authority_create,
	.authority_get = subca__authority_get,
	.authority_list = subca__authority_list,
	.authority_update = subca__authority_update,
	.root_put = subca__root_put,
	.root_get = subca__root_get,
	.intermediate_add = subca__intermediate_add,
	.intermediate_update = subca__intermediate_update,
	.intermediate_list = subca__intermediate_list,
	.cert_add = subca__cert_add,
	.cert_get = subca__cert_get,
	.cert_count = subca__cert_count,
	.audit_append = subca__audit_append,
	.audit_list = subca__audit_list,
	.meta_get = subca__meta_get,
	.meta_set = subca__meta_set,
};
