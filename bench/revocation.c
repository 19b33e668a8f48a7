/*
 * Revocation publishing benchmark. Prints figures, never pass/fail:
 *   - CRL build time (store stream + sort + sign + store) for 100 000 and
 *     1 000 000 revoked, unexpired certificates of one intermediate;
 *   - OCSP answers per second through the core: uncached (parse, issuer
 *     match, store lookup, key load, sign) and cached (parse, the server's
 *     answer cache).
 * Usage: revocation [LARGE_N]   (default 1000000; the small run is
 * LARGE_N / 10). Runs in a temporary data directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ocsp.h>
#include <sqlite3.h>

#include "revocation_int.h"
#include "subca/authority.h"
#include "subca/crl.h"
#include "subca/keystore_soft.h"
#include "subca/ossl.h"
#include "subca/revocation.h"
#include "subca/store_sqlite.h"

#define OCSP_ROUNDS 2000
#define OCSP_CACHED_ROUNDS 200000

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "revocation: %s: %s\n", what,
		subca_error_reason());
	exit(1);
}

/* `n` more revoked certificates of intermediate `im`, straight in SQL
 * (random 120-bit serials, valid for a year). */
static void add_revoked(const char *db, int64_t aid, int64_t im, long n,
			time_t now)
{
	static const char sql[] =
		"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
		" WHERE i < ?1)"
		" INSERT INTO certificates (authority_id, intermediate_id,"
		" serial, subject, sans, pem, not_before, not_after, issued_by,"
		" created, status, revoked_at, reason)"
		" SELECT ?2, ?3, '1' || lower(hex(randomblob(15))), 'CN=x', NULL,"
		" '-', ?4, ?4 + 31536000, 'bench', ?4, 'revoked', ?4,"
		" (i % 3) * 2 FROM c";
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	if (sqlite3_open(db, &h) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(h));
		exit(1);
	}
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_int64(st, 2, aid);
	sqlite3_bind_int64(st, 3, im);
	sqlite3_bind_int64(st, 4, (int64_t)now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(h));
		exit(1);
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static subca_result count_one(void *arg, const char *serial,
			      int64_t revoked_at, int reason)
{
	++*(long *)arg;
	return SUBCA_OK;
}

static subca_result add_one(void *arg, const char *serial,
			    int64_t revoked_at, int reason)
{
	return subca_crl_builder_add(arg, serial, revoked_at, reason);
}

/* Where the time goes: reading the rows alone, then adding them. */
static void crl_parts(struct subca_ctx *c, const struct subca_intermediate_rec *im)
{
	struct subca_crl_builder *b = NULL;
	double t0 = now_s(), t1, t2;
	long n = 0;

	if (c->store->ops->cert_revoked_each(c->store, im->id, c->now,
					     count_one, &n) != SUBCA_OK)
		die("stream");
	t1 = now_s();
	if (subca_crl_builder_new(&b) != SUBCA_OK ||
	    c->store->ops->cert_revoked_each(c->store, im->id, c->now, add_one,
					     b) != SUBCA_OK)
		die("add");
	t2 = now_s();
	printf("crl_parts entries=%ld stream_seconds=%.3f "
	       "stream_and_add_seconds=%.3f\n",
	       n, t1 - t0, t2 - t1);
	subca_crl_builder_free(b);
}

static void crl_bench(struct subca_ctx *c, const struct subca_intermediate_rec *im,
		      long total)
{
	struct subca_crl_rec crl;
	double t0, t;

	crl_parts(c, im);
	t0 = now_s();

	if (subca_crl_publish(c, im, SUBCA_CRL_DEFAULT_VALIDITY, &crl) != SUBCA_OK)
		die("CRL build");
	t = now_s() - t0;
	printf("crl_build entries=%lld seconds=%.3f bytes=%zu "
	       "entries_per_second=%.0f\n",
	       (long long)crl.entries, t, crl.der_len, (double)total / t);
	subca_crl_rec_cleanup(&crl);
}

static void leaf_request(X509 *leaf, X509 *issuer, struct subca_buf *der)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *p = NULL;
	int n;

	OCSP_request_add0_id(req, OCSP_cert_to_id(NULL, leaf, issuer));
	n = i2d_OCSP_REQUEST(req, &p);
	subca_buf_init(der, 4096);
	if (n <= 0 || subca_buf_append(der, p, (size_t)n) != SUBCA_OK)
		die("OCSP request");
	OPENSSL_free(p);
	OCSP_REQUEST_free(req);
}

static void ocsp_uncached(struct subca_ctx *c, int64_t aid,
			  struct subca_slice der)
{
	double t0 = now_s(), t;

	for (int i = 0; i < OCSP_ROUNDS; i++) {
		struct subca_ocsp_request r;
		struct subca_ocsp_result res;
		struct subca_buf out;

		if (subca_ocsp_request_parse(der, &r) != SUBCA_OK ||
		    subca_ocsp_answer_request(c, aid, &r, 3600, &out, &res) !=
			    SUBCA_OK)
			die("OCSP answer");
		subca_buf_cleanup(&out);
		subca_ocsp_request_cleanup(&r);
	}
	t = now_s() - t0;
	printf("ocsp_uncached responses=%d seconds=%.3f responses_per_second=%.0f\n",
	       OCSP_ROUNDS, t, OCSP_ROUNDS / t);
}

static void ocsp_cached(struct subca_ctx *c, int64_t aid,
			struct subca_slice der)
{
	struct subca__revocation_config cfg = {.crl_validity = 86400,
					       .ocsp_validity = 3600};
	struct subca__revocation *rev = NULL;
	struct subca_ocsp_request r;
	struct subca_ocsp_result res;
	struct subca_buf out, key;
	unsigned char *kp = NULL;
	int kn;
	double t0, t;

	if (subca__revocation_start(&cfg, &rev) != SUBCA_OK ||
	    subca_ocsp_request_parse(der, &r) != SUBCA_OK ||
	    subca_ocsp_answer_request(c, aid, &r, 3600, &out, &res) != SUBCA_OK)
		die("OCSP cache");
	kn = i2d_OCSP_CERTID(r.id, &kp);
	subca__ocsp_cache_put(rev, aid, subca_slice_of(kp, (size_t)kn),
			      subca_buf_slice(&out), (int64_t)c->now + 60,
			      subca__ocsp_cache_generation(rev));
	subca_buf_cleanup(&out);
	subca_ocsp_request_cleanup(&r);
	OPENSSL_free(kp);
	t0 = now_s();
	for (int i = 0; i < OCSP_CACHED_ROUNDS; i++) {
		if (subca_ocsp_request_parse(der, &r) != SUBCA_OK)
			die("OCSP parse");
		kp = NULL;
		kn = i2d_OCSP_CERTID(r.id, &kp);
		if (!subca__ocsp_cache_get(rev, aid, subca_slice_of(kp, (size_t)kn),
					   (int64_t)c->now, &key))
			die("OCSP cache miss");
		subca_buf_cleanup(&key);
		OPENSSL_free(kp);
		subca_ocsp_request_cleanup(&r);
	}
	t = now_s() - t0;
	printf("ocsp_cached responses=%d seconds=%.3f responses_per_second=%.0f\n",
	       OCSP_CACHED_ROUNDS, t, OCSP_CACHED_ROUNDS / t);
	subca__revocation_stop(rev);
}

struct fixture {
	char dir[64], db[128];
	struct subca_store *st;
	struct subca_keystore *ks;
	struct subca_ctx c;
	int64_t aid;
	struct subca_intermediate_rec im;
	X509 *leaf, *issuer;
};

static void setup(struct fixture *f)
{
	struct subca_generated_root_opts o = {.root_key = SUBCA_KEY_EC_P256,
					      .intermediate_key = SUBCA_KEY_EC_P256};
	struct subca_leaf_request lr = {.cn = "bench.example", .days = 30};
	struct subca_authority_rec a = {0};
	struct subca_intermediate_list l = {0};
	struct subca_buf chain;
	EVP_PKEY *k = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/subca-bench.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		die("mkdtemp");
	snprintf(f->db, sizeof(f->db), "%s/subca.db", f->dir);
	if (subca_keystore_soft_create(f->dir, NULL, 0) != SUBCA_OK ||
	    subca_keystore_soft_open(f->dir, NULL, 0, &f->ks) != SUBCA_OK ||
	    subca_store_sqlite_open(f->db, true, &f->st) != SUBCA_OK)
		die("data directory");
	f->c = (struct subca_ctx){.store = f->st, .keys = f->ks,
				  .actor = "bench", .now = time(NULL)};
	if (subca_authority_create_generated(&f->c, "bench", NULL, &o) != SUBCA_OK ||
	    f->st->ops->authority_get(f->st, "bench", &a) != SUBCA_OK ||
	    f->st->ops->intermediate_list(f->st, a.id, &l) != SUBCA_OK ||
	    subca_revocation_intermediate(&f->c, a.id, l.v[0].id, &f->im) != SUBCA_OK ||
	    subca_pem_load_x509(f->im.cert_pem, &f->issuer) != SUBCA_OK)
		die("authority");
	f->aid = a.id;
	k = EVP_EC_gen("P-256");
	lr.pubkey = k;
	lr.now = f->c.now;
	if (subca_authority_issue(&f->c, "bench", &lr, &chain, &f->leaf) != SUBCA_OK)
		die("issue");
	subca_buf_cleanup(&chain);
	EVP_PKEY_free(k);
	subca_intermediate_list_cleanup(&l);
	subca_authority_rec_cleanup(&a);
}

int main(int argc, char **argv)
{
	long large = argc > 1 ? atol(argv[1]) : 1000000;
	struct fixture f;
	struct subca_buf req;
	char cmd[160];

	if (large < 10)
		large = 10;
	setup(&f);
	add_revoked(f.db, f.aid, f.im.id, large / 10, f.c.now - 60);
	crl_bench(&f.c, &f.im, large / 10);
	add_revoked(f.db, f.aid, f.im.id, large - large / 10, f.c.now - 60);
	crl_bench(&f.c, &f.im, large);
	leaf_request(f.leaf, f.issuer, &req);
	ocsp_uncached(&f.c, f.aid, subca_buf_slice(&req));
	ocsp_cached(&f.c, f.aid, subca_buf_slice(&req));
	subca_buf_cleanup(&req);
	X509_free(f.leaf);
	X509_free(f.issuer);
	subca_intermediate_rec_cleanup(&f.im);
	f.st->ops->close(f.st);
	f.ks->ops->close(f.ks);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f.dir);
	return system(cmd) == 0 ? 0 : 1;
}
