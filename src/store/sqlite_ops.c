/*
 * The SQLite store's record operations: one prepared statement each, every
 * value bound, every record handed out copied with the subca allocator.
 */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/limits.h"

#define SUBCA__REASON(buf, ...) snprintf((buf), sizeof(buf), __VA_ARGS__)

/* ---- small shared steps ------------------------------------------------ */

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
	SUBCA_TRY(subca__sqlite_texts(stmt, 1, texts, 2));
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
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 1, texts, 3));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 4, ints, 1));
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

/* The one authority whose `column` (name or subdomain) is `value`. */
static subca_result subca__authority_by(struct subca_store *st,
					const char *sql, const char *what,
					const char *value,
					struct subca_authority_rec *out)
{
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_cached(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 1, value));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no authority %s\"%s\"", what,
		     value);
	return subca__authority_row(stmt, out);
}

static subca_result subca__authority_get(struct subca_store *st,
					 const char *name,
					 struct subca_authority_rec *out)
{
	static const char sql[] = "SELECT " SUBCA__AUTHORITY_COLS
				  " FROM authorities WHERE name = ?";

	return subca__authority_by(st, sql, "", name, out);
}

static subca_result subca__authority_get_by_subdomain(
	struct subca_store *st, const char *sub, struct subca_authority_rec *out)
{
	static const char sql[] = "SELECT " SUBCA__AUTHORITY_COLS
				  " FROM authorities WHERE subdomain = ?";

	return subca__authority_by(st, sql, "with subdomain ", sub, out);
}

static subca_result subca__authority_list(struct subca_store *st,
					  struct subca_authority_list *out)
{
	static const char sql[] = "SELECT " SUBCA__AUTHORITY_COLS
				  " FROM authorities ORDER BY name";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	subca_result rv;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	rv = SUBCA__SQLITE_COLLECT(s, stmt, out, subca__authority_row);
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
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 2, texts, 3));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 5, ints, 2));
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
	return subca__sqlite_texts(stmt, 1, texts, 3);
}

/* ---- intermediates ----------------------------------------------------- */

#define SUBCA__INTERMEDIATE_COLS                                          \
	"id, authority_id, state, key_id, key_type, subject, csr_pem,"     \
	" cert_pem, fingerprint, crl_url, ocsp_url, days, not_before,"     \
	" not_after, created, activate_at, retired_at"

/* A ready intermediate is stored as 'pending' with its certificate (see
 * migration 3). */
static const char *subca__int_state_stored(enum subca_intermediate_state s)
{
	return subca_intermediate_state_name(s == SUBCA_INT_READY
						     ? SUBCA_INT_PENDING
						     : s);
}

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
	r->activate_at = sqlite3_column_int64(stmt, 15);
	r->retired_at = sqlite3_column_int64(stmt, 16);
	SUBCA_TRY(subca__sqlite_texts(stmt, 3, texts, 8));
	if (r->state == SUBCA_INT_PENDING && r->cert_pem != NULL)
		r->state = SUBCA_INT_READY;
	return SUBCA_OK;
}

static subca_result subca__intermediate_add(struct subca_store *st,
					    struct subca_intermediate_rec *r)
{
	static const char sql[] =
		"INSERT INTO intermediates (authority_id, state, key_id,"
		" key_type, subject, csr_pem, cert_pem, fingerprint, crl_url,"
		" ocsp_url, days, not_before, not_after, created, activate_at,"
		" retired_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {subca__int_state_stored(r->state),
			       r->key_id, r->key_type, r->subject, r->csr_pem,
			       r->cert_pem, r->fingerprint, r->crl_url,
			       r->ocsp_url};
	int64_t ints[] = {r->days,	  r->not_before,  r->not_after,
			  r->created,	  r->activate_at, r->retired_at};
	char missing[128];

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->authority_id));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 2, texts, 9));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 11, ints, 6));
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
		" fingerprint = ?, not_before = ?, not_after = ?,"
		" activate_at = ?, retired_at = ? WHERE id = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {subca__int_state_stored(r->state),
			       r->cert_pem, r->fingerprint};
	int64_t ints[] = {r->not_before, r->not_after, r->activate_at,
			  r->retired_at, r->id};

	SUBCA_ENSURE(r->state != SUBCA_INT_READY || r->cert_pem != NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a ready intermediate needs its certificate");
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 1, texts, 3));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 4, ints, 5));
	SUBCA_TRY(subca__sqlite_done(s, stmt, SUBCA__ONE_ACTIVE, NULL));
	return subca__changed(s, "intermediate", r->id);
}

static subca_result subca__intermediate_discard(struct subca_store *st,
						int64_t authority_id,
						int64_t id)
{
	static const char sql[] =
		"DELETE FROM intermediates WHERE id = ? AND authority_id = ?"
		" AND state = 'pending' AND cert_pem IS NULL";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	int64_t ints[] = {id, authority_id};

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 1, ints, 2));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, NULL));
	return subca__changed(s, "pending intermediate request", id);
}

static subca_result subca__intermediate_list(struct subca_store *st,
					     int64_t authority_id,
					     struct subca_intermediate_list *out)
{
	static const char sql[] = "SELECT " SUBCA__INTERMEDIATE_COLS
				  " FROM intermediates WHERE authority_id = ?"
				  " ORDER BY id";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	subca_result rv;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_cached(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	rv = SUBCA__SQLITE_COLLECT(s, stmt, out, subca__intermediate_row);
	if (rv != SUBCA_OK)
		subca_intermediate_list_cleanup(out);
	return rv;
}

/* ---- certificates ------------------------------------------------------ */

#define SUBCA__CERT_SELECT(pem) \
	"SELECT id, authority_id, intermediate_id, serial, subject, sans, " \
	pem ", issued_by, provisioner, not_before, not_after, created,"     \
	" status, revoked_at, reason FROM certificates"

static const char *subca__cert_status(int i)
{
	return subca_cert_status_name((enum subca_cert_status)i);
}

static subca_result subca__cert_row(sqlite3_stmt *stmt,
				    struct subca_cert_rec *r)
{
	char **texts[] = {&r->serial, &r->subject,   &r->sans,
			  &r->pem,    &r->issued_by, &r->provisioner};
	int status = 0;

	memset(r, 0, sizeof(*r));
	SUBCA_TRY(subca__state_parse((const char *)sqlite3_column_text(stmt, 12),
				     SUBCA_CERT_REVOKED + 1, subca__cert_status,
				     &status, "certificate"));
	r->id = sqlite3_column_int64(stmt, 0);
	r->authority_id = sqlite3_column_int64(stmt, 1);
	r->intermediate_id = sqlite3_column_int64(stmt, 2);
	r->not_before = sqlite3_column_int64(stmt, 9);
	r->not_after = sqlite3_column_int64(stmt, 10);
	r->created = sqlite3_column_int64(stmt, 11);
	r->status = (enum subca_cert_status)status;
	r->revoked_at = sqlite3_column_int64(stmt, 13);
	r->reason = sqlite3_column_type(stmt, 14) == SQLITE_NULL
			    ? -1
			    : sqlite3_column_int(stmt, 14);
	return subca__sqlite_texts(stmt, 3, texts, 6);
}

/* One INSERT on the connection `s`, whatever the transaction around it. */
static subca_result subca__cert_insert(struct subca__sqlite *s,
				       struct subca_cert_rec *r)
{
	static const char sql[] =
		"INSERT INTO certificates (authority_id, intermediate_id,"
		" serial, subject, sans, pem, not_before, not_after, issued_by,"
		" created, provisioner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->serial, r->subject, r->sans, r->pem};
	int64_t ints[] = {r->not_before, r->not_after};
	char exists[160], missing[128];

	SUBCA_TRY(subca__sqlite_cached(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->authority_id));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 2, r->intermediate_id));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 3, texts, 4));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 7, ints, 2));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 9, r->issued_by));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 10, r->created));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 11, r->provisioner));
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

static subca_result subca__audit_insert(struct subca__sqlite *s,
					const struct subca_audit_rec *r);

subca_result subca__sqlite_cert_write(struct subca__sqlite *s,
				      struct subca_cert_rec *r,
				      const struct subca_audit_rec *audit)
{
	subca_result rv;

	if (audit == NULL && s->depth == 0)
		return subca__cert_insert(s, r); /* one statement: atomic */
	SUBCA_TRY(subca__sqlite_begin(&s->base));
	rv = subca__cert_insert(s, r);
	if (rv == SUBCA_OK && audit != NULL)
		rv = subca__audit_insert(s, audit);
	if (rv == SUBCA_OK)
		return subca__sqlite_commit(&s->base);
	subca__sqlite_rollback(&s->base);
	r->id = 0;
	return rv;
}

static subca_result subca__cert_record(struct subca_store *st,
				       struct subca_cert_rec *r,
				       const struct subca_audit_rec *audit)
{
	struct subca__sqlite *s = subca__sqlite_of(st);

	/* inside the caller's transaction the write must be part of it */
	if (s->group != NULL && s->depth == 0)
		return subca__sqlite_group_submit(s, r, audit);
	return subca__sqlite_cert_write(s, r, audit);
}

static subca_result subca__cert_record_async(struct subca_store *st,
					     struct subca_cert_rec *r,
					     const struct subca_audit_rec *audit,
					     subca_record_done done, void *arg)
{
	struct subca__sqlite *s = subca__sqlite_of(st);
	subca_result rv;

	if (s->group != NULL && s->depth == 0 &&
	    subca__sqlite_group_submit_async(s, r, audit, done, arg) ==
		    SUBCA_OK)
		return SUBCA_OK;
	/* not queued (no group, inside a transaction, out of memory):
	 * write now and report at once */
	rv = subca__sqlite_cert_write(s, r, audit);
	done(arg, rv, rv == SUBCA_OK ? "" : subca_error_reason());
	return SUBCA_OK;
}

static subca_result subca__cert_add(struct subca_store *st,
				    struct subca_cert_rec *r)
{
	return subca__cert_record(st, r, NULL);
}

static subca_result subca__cert_get(struct subca_store *st,
				    int64_t authority_id, const char *serial,
				    struct subca_cert_rec *out)
{
	static const char sql[] = SUBCA__CERT_SELECT("pem")
		" WHERE authority_id = ? AND serial = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, serial));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no certificate with serial %.64s",
		     serial);
	return subca__cert_row(stmt, out);
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

/* RFC 5280 5.3.1: CRLReason values 0..10; 7 is not assigned. */
static bool subca__crl_reason_valid(int reason)
{
	return reason >= 0 && reason <= 10 && reason != 7;
}

static subca_result subca__cert_exists(struct subca__sqlite *s,
				       int64_t authority_id,
				       const char *serial)
{
	static const char sql[] = "SELECT 1 FROM certificates"
				  " WHERE authority_id = ? AND serial = ?";
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 2, serial));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND, "no certificate with serial %.64s",
		     serial);
	return SUBCA_OK;
}

static subca_result subca__cert_revoke(struct subca_store *st,
				       int64_t authority_id,
				       const char *serial, int reason,
				       int64_t when)
{
	/* only a valid one changes: a second revocation keeps the first
	 * reason and time */
	static const char sql[] =
		"UPDATE certificates SET status = 'revoked', revoked_at = ?,"
		" reason = ? WHERE authority_id = ? AND serial = ?"
		" AND status = 'valid'";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	int64_t ints[] = {when, reason, authority_id};

	SUBCA_ENSURE(subca__crl_reason_valid(reason), SUBCA_E_INVALID_ARGUMENT,
		     "revocation reason %d is not an RFC 5280 CRLReason "
		     "(0..10, not 7)",
		     reason);
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 1, ints, 3));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 4, serial));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, NULL));
	if (sqlite3_changes(s->db) > 0)
		return SUBCA_OK;
	return subca__cert_exists(s, authority_id, serial);
}

static subca_result subca__cert_list_bind(struct subca__sqlite *s,
					  sqlite3_stmt *stmt,
					  const struct subca_cert_filter *f,
					  size_t limit)
{
	static const char *const status[] = {
		[SUBCA_CERTS_ANY] = NULL,
		[SUBCA_CERTS_VALID] = "valid",
		[SUBCA_CERTS_REVOKED] = "revoked",
	};
	int64_t ints[] = {f->authority_id, f->expires_before, f->expires_after,
			  f->after_id, (int64_t)limit + 1};

	SUBCA_ENSURE((unsigned)f->status < sizeof(status) / sizeof(status[0]),
		     SUBCA_E_INVALID_ARGUMENT, "unknown status filter %d",
		     (int)f->status);
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 1, ints, 5));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 6, status[f->status]));
	return subca__sqlite_bind_text(s, stmt, 7, f->name);
}

static subca_result subca__cert_list_rows(struct subca__sqlite *s,
					  sqlite3_stmt *stmt, size_t limit,
					  struct subca_cert_list *out)
{
	size_t cap = 0;
	bool row;

	for (;;) {
		SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
		if (!row)
			return SUBCA_OK;
		if (out->n == limit) {
			/* one more than asked: there is a next page */
			out->next_after = out->v[out->n - 1].id;
			return SUBCA_OK;
		}
		SUBCA_TRY(subca__sqlite_grow((void **)&out->v, out->n, &cap,
					     sizeof(*out->v)));
		SUBCA_TRY(subca__cert_row(stmt, &out->v[out->n]));
		out->n++;
	}
}

static subca_result subca__cert_list(struct subca_store *st,
				     const struct subca_cert_filter *f,
				     struct subca_cert_list *out)
{
	/* every filter is a bound value that can switch itself off, so the
	 * SQL text stays constant */
	static const char sql[] = SUBCA__CERT_SELECT("NULL")
		" WHERE (?1 = 0 OR authority_id = ?1)"
		" AND (?2 = 0 OR not_after < ?2)"
		" AND (?3 = 0 OR not_after >= ?3)"
		" AND id > ?4"
		" AND (?6 IS NULL OR status = ?6)"
		" AND (?7 IS NULL OR instr(lower(subject), lower(?7)) > 0"
		"      OR instr(lower(coalesce(sans, '')), lower(?7)) > 0)"
		" ORDER BY id LIMIT ?5";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	size_t limit = f->limit == 0 ? SUBCA_MAX_LIST_PAGE : f->limit;
	subca_result rv;

	memset(out, 0, sizeof(*out));
	SUBCA_ENSURE(limit <= SUBCA_MAX_LIST_PAGE, SUBCA_E_INVALID_ARGUMENT,
		     "a page holds at most %d certificates, not %zu",
		     SUBCA_MAX_LIST_PAGE, limit);
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__cert_list_bind(s, stmt, f, limit));
	rv = subca__cert_list_rows(s, stmt, limit, out);
	if (rv != SUBCA_OK)
		subca_cert_list_cleanup(out);
	return rv;
}

/* ---- audit log --------------------------------------------------------- */

static subca_result subca__audit_insert(struct subca__sqlite *s,
					const struct subca_audit_rec *r)
{
	static const char sql[] =
		"INSERT INTO audit_log (ts, authority, action, detail, actor)"
		" VALUES (?, ?, ?, coalesce(?, ''), ?)";
	SUBCA_AUTO_CACHED_STMT sqlite3_stmt *stmt = NULL;
	const char *texts[] = {r->authority, r->action, r->detail, r->actor};

	SUBCA_TRY(subca__sqlite_cached(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->ts));
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 2, texts, 4));
	return subca__sqlite_done(s, stmt, NULL, NULL);
}

static subca_result subca__audit_append(struct subca_store *st,
					const struct subca_audit_rec *r)
{
	return subca__audit_insert(subca__sqlite_of(st), r);
}

static subca_result subca__audit_row(sqlite3_stmt *stmt,
				     struct subca_audit_rec *r)
{
	char **texts[] = {&r->authority, &r->action, &r->detail, &r->actor};

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(stmt, 0);
	r->ts = sqlite3_column_int64(stmt, 1);
	return subca__sqlite_texts(stmt, 2, texts, 4);
}

static subca_result subca__audit_query(struct subca_store *st,
				       const char *authority, int64_t after,
				       const char *action, size_t limit,
				       struct subca_audit_list *out)
{
	/* every condition is a placeholder: no caller text in the SQL */
	char sql[320];
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	int64_t lim = limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit;
	int i = 1;
	subca_result rv;

	out->v = NULL;
	out->n = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT id, ts, authority, action, detail, actor FROM audit_log"
		 " WHERE id > ?%s%s ORDER BY id DESC LIMIT ?",
		 authority != NULL ? " AND authority = ?" : "",
		 action != NULL ? " AND substr(action, 1, ?) = ?" : "");
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, i++, after));
	if (authority != NULL)
		SUBCA_TRY(subca__sqlite_bind_text(s, stmt, i++, authority));
	if (action != NULL) {
		SUBCA_TRY(subca__sqlite_bind_int(s, stmt, i++,
						 (int64_t)strlen(action)));
		SUBCA_TRY(subca__sqlite_bind_text(s, stmt, i++, action));
	}
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, i, lim));
	rv = SUBCA__SQLITE_COLLECT(s, stmt, out, subca__audit_row);
	if (rv != SUBCA_OK)
		subca_audit_list_cleanup(out);
	return rv;
}

static subca_result subca__audit_list(struct subca_store *st,
				      const char *authority, size_t limit,
				      struct subca_audit_list *out)
{
	return subca__audit_query(st, authority, 0, NULL, limit, out);
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
	SUBCA_TRY(subca__sqlite_bind_texts(s, stmt, 1, texts, 2));
	return subca__sqlite_done(s, stmt, NULL, NULL);
}

/* ---- rotation settings ---------------------------------------------------- */

static subca_result subca__rotation_put(struct subca_store *st,
					const struct subca_rotation_rec *r)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO rotation_settings (authority_id,"
		" rotate_before, signer_command, hook_timeout, days, updated)"
		" VALUES (?, ?, ?, ?, ?, ?)";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	int64_t ints[] = {r->hook_timeout, r->days, r->updated};
	char missing[128];

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, r->authority_id));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 2, r->rotate_before));
	SUBCA_TRY(subca__sqlite_bind_text(s, stmt, 3, r->signer_command));
	SUBCA_TRY(subca__sqlite_bind_ints(s, stmt, 4, ints, 3));
	SUBCA__REASON(missing, "no authority with id %lld",
		      (long long)r->authority_id);
	return subca__sqlite_done(s, stmt, NULL, missing);
}

#define SUBCA__ROTATION_SELECT                                              \
	"SELECT authority_id, rotate_before, signer_command, hook_timeout," \
	" days, updated FROM rotation_settings"

static subca_result subca__rotation_row(sqlite3_stmt *stmt,
					struct subca_rotation_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->authority_id = sqlite3_column_int64(stmt, 0);
	r->rotate_before = sqlite3_column_int64(stmt, 1);
	r->hook_timeout = sqlite3_column_int(stmt, 3);
	r->days = sqlite3_column_int(stmt, 4);
	r->updated = sqlite3_column_int64(stmt, 5);
	return subca__sqlite_text(stmt, 2, &r->signer_command);
}

static subca_result subca__rotation_get(struct subca_store *st,
					int64_t authority_id,
					struct subca_rotation_rec *out)
{
	static const char sql[] = SUBCA__ROTATION_SELECT
		" WHERE authority_id = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	bool row;

	memset(out, 0, sizeof(*out));
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_row(s, stmt, &row));
	SUBCA_ENSURE(row, SUBCA_E_NOT_FOUND,
		     "authority %lld has no rotation settings",
		     (long long)authority_id);
	return subca__rotation_row(stmt, out);
}

static subca_result subca__rotation_remove(struct subca_store *st,
					   int64_t authority_id)
{
	static const char sql[] =
		"DELETE FROM rotation_settings WHERE authority_id = ?";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;

	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	SUBCA_TRY(subca__sqlite_bind_int(s, stmt, 1, authority_id));
	SUBCA_TRY(subca__sqlite_done(s, stmt, NULL, NULL));
	SUBCA_ENSURE(sqlite3_changes(s->db) > 0, SUBCA_E_NOT_FOUND,
		     "authority %lld has no rotation settings",
		     (long long)authority_id);
	return SUBCA_OK;
}

static subca_result subca__rotation_list(struct subca_store *st,
					 struct subca_rotation_list *out)
{
	static const char sql[] = SUBCA__ROTATION_SELECT
		" ORDER BY authority_id";
	struct subca__sqlite *s = subca__sqlite_of(st);
	SUBCA_AUTO_STMT sqlite3_stmt *stmt = NULL;
	subca_result rv;

	out->v = NULL;
	out->n = 0;
	SUBCA_TRY(subca__sqlite_prepare(s, sql, &stmt));
	rv = SUBCA__SQLITE_COLLECT(s, stmt, out, subca__rotation_row);
	if (rv != SUBCA_OK)
		subca_rotation_list_cleanup(out);
	return rv;
}

const struct subca_store_ops subca__sqlite_ops = {
	.name = "sqlite",
	.close = subca__sqlite_close,
	.begin = subca__sqlite_begin,
	.commit = subca__sqlite_commit,
	.rollback = subca__sqlite_rollback,
	.authority_create = subca__authority_create,
	.authority_get = subca__authority_get,
	.authority_get_by_subdomain = subca__authority_get_by_subdomain,
	.authority_list = subca__authority_list,
	.authority_update = subca__authority_update,
	.root_put = subca__root_put,
	.root_get = subca__root_get,
	.intermediate_add = subca__intermediate_add,
	.intermediate_update = subca__intermediate_update,
	.intermediate_discard = subca__intermediate_discard,
	.intermediate_list = subca__intermediate_list,
	.cert_add = subca__cert_add,
	.cert_get = subca__cert_get,
	.cert_count = subca__cert_count,
	.audit_append = subca__audit_append,
	.audit_list = subca__audit_list,
	.audit_query = subca__audit_query,
	.meta_get = subca__meta_get,
	.meta_set = subca__meta_set,
	.cert_revoke = subca__cert_revoke,
	.cert_list = subca__cert_list,
	.cert_record = subca__cert_record,
	.cert_record_async = subca__cert_record_async,
	.admin_token_add = subca__sqlite_admin_token_add,
	.admin_token_get_by_hash = subca__sqlite_admin_token_get_by_hash,
	.admin_token_list = subca__sqlite_admin_token_list,
	.admin_token_revoke = subca__sqlite_admin_token_revoke,
	.provisioner_add = subca__sqlite_provisioner_add,
	.provisioner_get = subca__sqlite_provisioner_get,
	.provisioner_get_by_key_hash = subca__sqlite_provisioner_get_by_key_hash,
	.provisioner_list = subca__sqlite_provisioner_list,
	.provisioner_remove = subca__sqlite_provisioner_remove,
	.jti_use = subca__sqlite_jti_use,
	.jti_prune = subca__sqlite_jti_prune,
	.group_commit = subca__sqlite_group_commit,
	.group_commit_stats = subca__sqlite_group_stats,
	.group_commit_observe = subca__sqlite_group_observe,
	.rotation_put = subca__rotation_put,
	.rotation_get = subca__rotation_get,
	.rotation_remove = subca__rotation_remove,
	.rotation_list = subca__rotation_list,
	.cert_revoked_each = subca__sqlite_cert_revoked_each,
	.crl_number_next = subca__sqlite_crl_number_next,
	.crl_put = subca__sqlite_crl_put,
	.crl_get = subca__sqlite_crl_get,
	.crl_next_update = subca__sqlite_crl_next_update,
	.acme_add = subca__sqlite_acme_add,
	.acme_get = subca__sqlite_acme_get,
	.acme_find = subca__sqlite_acme_find,
	.acme_list = subca__sqlite_acme_list,
	.acme_update = subca__sqlite_acme_update,
	.acme_eab_add = subca__sqlite_eab_add,
	.acme_eab_get = subca__sqlite_eab_get,
	.acme_eab_bind = subca__sqlite_eab_bind,
	.intermediate_cert_add = subca__sqlite_intermediate_cert_add,
	.intermediate_cert_list = subca__sqlite_intermediate_cert_list,
};
