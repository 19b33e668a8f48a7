/*
 * The crypto limit: how many issuances per second OpenSSL alone could do on
 * this machine, counting only the cryptography of one issuance (verify the
 * CSR's self-signature, sign the certificate), with nothing else around it:
 * no parsing, no policy, no storage, no network. subca's /sign throughput
 * is compared against it.
 *
 *     cryptolimit [SECONDS] [THREADS]
 *
 * For an ECDSA P-256 and an RSA-2048 intermediate, prints one line per
 * thread count (1, and THREADS, default the number of online CPUs):
 *
 *     cryptolimit key=ec-p256 threads=1 seconds=5.00 ops=12345 per_sec=2469.0
 *
 * The CSRs are ECDSA P-256, as bench/run's load generator sends.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct bench_issuer {
	const char *name;
	EVP_PKEY *key;
	X509 *cert;
};

struct bench_job {
	const struct bench_issuer *iss;
	double seconds;
	atomic_bool *stop;
	unsigned long ops;
	int failed;
};

static void die(const char *what)
{
	fprintf(stderr, "cryptolimit: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static EVP_PKEY *key_new(const char *type)
{
	EVP_PKEY *k = strcmp(type, "rsa2048") == 0
			      ? EVP_RSA_gen(2048)
			      : EVP_EC_gen("P-256");

	if (k == NULL)
		die("cannot generate a key");
	return k;
}

static void name_set(X509_NAME *n, const char *cn)
{
	if (X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				       (const unsigned char *)cn, -1, -1,
				       0) != 1)
		die("cannot build a name");
}

static void ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL || X509_add_ext(x, e, -1) != 1)
		die("cannot add an extension");
	X509_EXTENSION_free(e);
}

/* A certificate with a leaf's shape (or a CA's), not yet signed. */
static X509 *cert_new(EVP_PKEY *pub, const char *cn, X509 *issuer, bool ca)
{
	X509 *x = X509_new();

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30) == NULL ||
	    X509_set_pubkey(x, pub) != 1)
		die("cannot build a certificate");
	name_set(X509_get_subject_name(x), cn);
	if (X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
					   : X509_get_subject_name(x)) != 1)
		die("cannot set the issuer");
	if (ca) {
		ext_add(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		ext_add(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
		ext_add(x, issuer, NID_subject_key_identifier, "hash");
		return x;
	}
	ext_add(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
	ext_add(x, issuer, NID_key_usage, "critical,digitalSignature");
	ext_add(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
	ext_add(x, issuer, NID_subject_alt_name, "DNS:app.bench.test");
	ext_add(x, issuer, NID_authority_key_identifier, "keyid:always");
	return x;
}

static X509_REQ *csr_new(EVP_PKEY *key)
{
	X509_REQ *r = X509_REQ_new();

	if (r == NULL || X509_REQ_set_pubkey(r, key) != 1)
		die("cannot build a CSR");
	name_set(X509_REQ_get_subject_name(r), "app.bench.test");
	if (X509_REQ_sign(r, key, EVP_sha256()) <= 0)
		die("cannot sign a CSR");
	return r;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One thread: its own CSR and leaf (as a server worker has its own
 * request), the shared issuer key (as subca's issuer cache shares it). */
static void *job_main(void *arg)
{
	struct bench_job *j = arg;
	EVP_PKEY *leaf_key = key_new("ec-p256");
	X509_REQ *csr = csr_new(leaf_key);
	X509 *leaf = cert_new(leaf_key, "app.bench.test", j->iss->cert, false);

	/* The same CSR object each time: OpenSSL keeps its decoded public
	 * key, so the loop is pure verify + sign (a strict ceiling). */
	while (!atomic_load_explicit(j->stop, memory_order_relaxed)) {
		if (X509_REQ_verify(csr, X509_REQ_get0_pubkey(csr)) != 1 ||
		    X509_sign(leaf, j->iss->key, EVP_sha256()) <= 0) {
			j->failed = 1;
			break;
		}
		j->ops++;
	}
	X509_free(leaf);
	X509_REQ_free(csr);
	EVP_PKEY_free(leaf_key);
	return NULL;
}

static void run(const struct bench_issuer *iss, int threads, double seconds)
{
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	struct bench_job *j = calloc((size_t)threads, sizeof(*j));
	atomic_bool stop = false;
	struct timespec d = {(time_t)seconds,
			     (long)((seconds - (double)(time_t)seconds) * 1e9)};
	unsigned long ops = 0;
	double t0, t1;

	if (t == NULL || j == NULL)
		die("out of memory");
	t0 = now_s();
	for (int i = 0; i < threads; i++) {
		j[i] = (struct bench_job){.iss = iss, .seconds = seconds,
					  .stop = &stop};
		if (pthread_create(&t[i], NULL, job_main, &j[i]) != 0)
			die("cannot start a thread");
	}
	nanosleep(&d, NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		if (j[i].failed)
			die("an issuance failed");
		ops += j[i].ops;
	}
	t1 = now_s();
	printf("cryptolimit key=%s threads=%d seconds=%.2f ops=%lu per_sec=%.1f\n",
	       iss->name, threads, t1 - t0, ops, (double)ops / (t1 - t0));
	fflush(stdout);
	free(t);
	free(j);
}

/*
 * cryptolimit [SECONDS] [THREADS] [TYPE]: for each key type, one thread and
 * then THREADS (default: the CPUs); with TYPE (ec-p256 or rsa2048), that
 * type only and THREADS only (bench/run measures the limit again right
 * after the rows it compares with it).
 */
int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5.0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = argc > 2 ? atoi(argv[2]) : (int)(cpus < 1 ? 1 : cpus);
	const char *only = argc > 3 ? argv[3] : NULL;
	const char *types[] = {"ec-p256", "rsa2048"};

	if (seconds <= 0 || seconds > 3600 || threads < 1 || threads > 1024 ||
	    (only != NULL && strcmp(only, types[0]) != 0 &&
	     strcmp(only, types[1]) != 0)) {
		fprintf(stderr,
			"usage: cryptolimit [SECONDS] [THREADS] [ec-p256|rsa2048]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *root_key;
		X509 *root;
		struct bench_issuer iss = {.name = types[i]};

		if (only != NULL && strcmp(only, types[i]) != 0)
			continue;
		root_key = key_new("ec-p256");
		root = cert_new(root_key, "Bench Root", NULL, true);

		if (X509_sign(root, root_key, EVP_sha256()) <= 0)
			die("cannot sign the root");
		iss.key = key_new(types[i]);
		iss.cert = cert_new(iss.key, "Bench Intermediate", root, true);
		if (X509_sign(iss.cert, root_key, EVP_sha256()) <= 0)
			die("cannot sign the intermediate");
		if (only == NULL) {
			run(&iss, 1, seconds);
			if (threads > 1)
				run(&iss, threads, seconds);
		} else {
			run(&iss, threads, seconds);
		}
		X509_free(iss.cert);
		EVP_PKEY_free(iss.key);
		X509_free(root);
		EVP_PKEY_free(root_key);
	}
	return 0;
}
