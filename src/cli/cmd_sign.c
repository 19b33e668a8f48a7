/*
 * subca sign-intermediate: the offline signer for a root held as PEM files
 * on an air-gapped machine. Needs no data directory.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include "cli.h"
#include "subca/certin.h"
#include "subca/limits.h"
#include "subca/ossl.h"
#include "subca/signer.h"

struct cli_sign_opts {
	const char *root_cert, *root_key, *out, *csr;
	struct subca_sign_intermediate_opts so;
};

/* The root certificate: the certificate in the file whose key is the root
 * key (the file may be a bundle). */
static subca_result cli_load_root_cert(const char *path, EVP_PKEY *key,
				       X509 **out)
{
	SUBCA_BUF_AUTO struct subca_buf in = {0};
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *certs = NULL;

	SUBCA_TRY(subca_file_read(path, SUBCA_MAX_CERT_INPUT, &in));
	SUBCA_TRY(subca_certin_parse(subca_buf_slice(&in), &certs));
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (X509_check_private_key(x, key) == 1) {
			X509_up_ref(x);
			*out = x;
			return SUBCA_OK;
		}
	}
	ERR_clear_error();
	SUBCA_BAIL(SUBCA_E_ROOT_KEY_MISMATCH,
		   "the root key does not belong to any certificate in %s",
		   path);
}

static subca_result cli_sign(const struct cli_sign_opts *o)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	SUBCA_AUTO(X509) X509 *root = NULL;
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;
	SUBCA_AUTO(X509) X509 *cert = NULL;
	SUBCA_BUF_AUTO struct subca_buf csr_in = {0};
	SUBCA_BUF_AUTO struct subca_buf pem = {0};

	SUBCA_TRY(subca_file_read(o->csr, SUBCA_MAX_CSR_INPUT, &csr_in));
	SUBCA_TRY(subca_certin_parse_csr(subca_buf_slice(&csr_in), &csr));
	SUBCA_TRY(cli_load_private_key(o->root_key, &key));
	SUBCA_TRY(cli_load_root_cert(o->root_cert, key, &root));
	SUBCA_TRY(subca_signer_sign_intermediate(root, key, csr, &o->so,
						 &cert));
	EVP_PKEY_free(subca_steal(&key));
	SUBCA_TRY(subca_pem_x509(cert, &pem));
	return subca_file_write(o->out ? o->out : "-", pem.p, pem.len, 0644);
}

int cmd_sign_intermediate(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"root-cert", required_argument, NULL, 'c'},
		{"root-key", required_argument, NULL, 'k'},
		{"days", required_argument, NULL, 'd'},
		{"path-len", required_argument, NULL, 'p'},
		{"no-path-len", no_argument, NULL, 'P'},
		{"out", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	struct cli_sign_opts o = {.so = {.days = 1826, .path_len = -2}};
	subca_result rv = SUBCA_OK;
	int ch;

	while (rv == SUBCA_OK &&
	       (ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.root_cert = optarg; break;
		case 'k': o.root_key = optarg; break;
		case 'o': o.out = optarg; break;
		case 'P': o.so.path_len = -1; break;
		case 'd':
			rv = cli_parse_int("--days", optarg, 1,
					   SUBCA_MAX_INTERMEDIATE_DAYS,
					   &o.so.days);
			break;
		case 'p':
			rv = cli_parse_int("--path-len", optarg, 0,
					   SUBCA_MAX_PATHLEN, &o.so.path_len);
			break;
		default: return cli_usage(cli_current, "unknown option");
		}
	}
	if (rv != SUBCA_OK)
		return cli_usage(cli_current, "%s", subca_error_reason());
	if (o.root_cert == NULL || o.root_key == NULL || optind + 1 != argc)
		return cli_usage(cli_current,
				 "--root-cert, --root-key and one CSR file are "
				 "required");
	o.csr = argv[optind];
	o.so.now = cli->ctx.now;
	rv = cli_sign(&o);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	if (o.out != NULL)
		fprintf(stderr, "subca: signed certificate written to %s\n",
			o.out);
	return 0;
}
