#include "helpers.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *th_key(const char *type)
{
	if (strcmp(type, "ec-p256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(type, "ec-p384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (strcmp(type, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (strncmp(type, "rsa-", 4) == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
					 (size_t)atoi(type + 4));
	return NULL;
}

static const struct th_ext th__ca_defaults[] = {
	{"basicConstraints", "critical,CA:TRUE"},
	{"keyUsage", "critical,keyCertSign,cRLSign"},
	{"subjectKeyIdentifier", "hash"},
	{NULL, NULL},
};

static X509_NAME *th__name(const char *s)
{
	X509_NAME *n = X509_NAME_new();
	char *copy = strdup(s), *save = NULL;

	for (char *part = strtok_r(copy, "/", &save); part != NULL;
	     part = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(part, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		X509_NAME_add_entry_by_txt(n, part, MBSTRING_UTF8,
					   (unsigned char *)eq + 1, -1, -1, 0);
	}
	free(copy);
	return n;
}

X509 *th_cert(const struct th_cert_opts *o, EVP_PKEY *key, X509 *issuer,
	      EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *name = th__name(o->subject);
	const struct th_ext *exts = o->exts ? o->exts : th__ca_defaults;
	X509V3_CTX ctx;
	const EVP_MD *md = NULL;
	int id = EVP_PKEY_get_base_id(issuer_key ? issuer_key : key);

	X509_set_version(x, o->v1 ? X509_VERSION_1 : X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), o->serial ? o->serial : 1);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_time_adj_ex(X509_getm_notBefore(x), 0,
			 o->not_before ? o->not_before : -TH_DAY,
			 &(time_t){TH_NOW});
	X509_time_adj_ex(X509_getm_notAfter(x), 0,
			 o->not_after ? o->not_after : 3650 * TH_DAY,
			 &(time_t){TH_NOW});
	X509_set_pubkey(x, key);
	if (!o->v1) {
		X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
		for (const struct th_ext *e = exts; e->name != NULL; e++) {
			X509_EXTENSION *ext =
				X509V3_EXT_conf(NULL, &ctx, e->name, e->value);
			if (ext == NULL) {
				fprintf(stderr, "th_cert: bad extension %s=%s\n",
					e->name, e->value);
				abort();
			}
			X509_add_ext(x, ext, -1);
			X509_EXTENSION_free(ext);
		}
	}
	if (id != EVP_PKEY_ED25519)
		md = EVP_get_digestbyname(o->md ? o->md : "SHA256");
	if (X509_sign(x, issuer_key ? issuer_key : key, md) <= 0) {
		fprintf(stderr, "th_cert: signing failed\n");
		abort();
	}
	X509_NAME_free(name);
	return x;
}

char *th_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

unsigned char *th_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL, *out;
	int n = i2d_X509(x, &der);

	out = malloc((size_t)n);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

char *th_tmpdir(void)
{
	char tmpl[] = "/tmp/subca-unit-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

void th_rmrf(const char *path)
{
	char cmd[4200];

	if (path == NULL || strncmp(path, "/tmp/subca-unit-", 16) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "th_rmrf: could not remove %s\n", path);
}
