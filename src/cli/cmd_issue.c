/* subca issue: operator issuance from the active intermediate. */
#include <openssl/pem.h>
#include <string.h>

#include "cli.h"
#include "subca/certin.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

#define CLI_DEFAULT_LEAF_DAYS 90

struct cli_issue_opts {
	const char *csr, *out, *out_key, *out_cert;
	struct subca_leaf_request r;
	struct cli_list sans;
	enum subca_key_type key;
};

/* The new leaf key as PKCS#8 PEM, written 0600 and wiped from memory. */
static subca_result cli_write_key(const char *path, EVP_PKEY *key)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long n;

	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
					    NULL) == 1,
		   SUBCA_E_CRYPTO, "cannot encode the leaf key");
	n = BIO_get_mem_data(bio, &data);
	SUBCA_ENSURE(n > 0, SUBCA_E_CRYPTO, "cannot encode the leaf key");
	return subca_file_write(path, data, (size_t)n, 0600);
}

static subca_result cli_issue_csr(struct cli *cli, const char *name,
				  struct cli_issue_opts *o)
{
	SUBCA_BUF_AUTO struct subca_buf in = {0};
	SUBCA_BUF_AUTO struct subca_buf chain = {0};
	SUBCA_AUTO(X509_REQ) X509_REQ *csr = NULL;

	SUBCA_TRY(subca_file_read(o->csr, SUBCA_MAX_CSR_INPUT, &in));
	SUBCA_TRY(subca_certin_parse_csr(subca_buf_slice(&in), &csr));
	o->r.csr = csr;
	SUBCA_TRY(subca_authority_issue(&cli->ctx, name, &o->r, &chain, NULL));
	return subca_file_write(o->out ? o->out : "-", chain.p, chain.len,
				0644);
}

static subca_result cli_issue_key(struct cli *cli, const char *name,
				  struct cli_issue_opts *o)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	SUBCA_BUF_AUTO struct subca_buf chain = {0};

	SUBCA_TRY(subca_key_generate(o->key, &key));
	o->r.pubkey = key;
	SUBCA_TRY(subca_authority_issue(&cli->ctx, name, &o->r, &chain, NULL));
	SUBCA_TRY(cli_write_key(o->out_key, key));
	return subca_file_write(o->out_cert, chain.p, chain.len, 0644);
}

static subca_result cli_issue_parse(struct cli_issue_opts *o, int argc,
				    char **argv)
{
	static const struct option opts[] = {
		{"csr", required_argument, NULL, 'r'},
		{"out", required_argument, NULL, 'o'},
		{"cn", required_argument, NULL, 'n'},
		{"san", required_argument, NULL, 's'},
		{"key", required_argument, NULL, 'k'},
		{"days", required_argument, NULL, 'd'},
		{"out-key", required_argument, NULL, 'K'},
		{"out-cert", required_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	int ch, days = CLI_DEFAULT_LEAF_DAYS;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': o->csr = optarg; break;
		case 'o': o->out = optarg; break;
		case 'n': o->r.cn = optarg; break;
		case 's': SUBCA_TRY(cli_list_add(&o->sans, "--san", optarg)); break;
		case 'k': SUBCA_TRY(subca_key_type_parse(optarg, &o->key)); break;
		case 'd':
			SUBCA_TRY(cli_parse_int("--days", optarg, 1,
						SUBCA_MAX_LEAF_DAYS, &days));
			break;
		case 'K': o->out_key = optarg; break;
		case 'C': o->out_cert = optarg; break;
		default: SUBCA_BAIL(SUBCA_E_USAGE, "unknown option");
		}
	}
	SUBCA_ENSURE(optind + 1 == argc, SUBCA_E_USAGE, "expected one NAME");
	SUBCA_ENSURE((o->csr != NULL) != (o->r.cn != NULL || o->out_key != NULL),
		     SUBCA_E_USAGE,
		     "give either --csr FILE, or --cn with --out-key and "
		     "--out-cert");
	SUBCA_ENSURE(o->csr != NULL || (o->out_key && o->out_cert),
		     SUBCA_E_USAGE, "--cn needs --out-key FILE and --out-cert FILE");
	o->r.days = days;
	o->r.sans = cli_names(&o->sans);
	return SUBCA_OK;
}

int cmd_issue(struct cli *cli, int argc, char **argv)
{
	struct cli_issue_opts o = {.key = SUBCA_KEY_EC_P256};
	subca_result rv;

	rv = cli_issue_parse(&o, argc, argv);
	if (rv == SUBCA_E_USAGE)
		return cli_usage(cli_current, "%s", subca_error_reason());
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	o.r.now = cli->ctx.now;
	if (o.csr != NULL)
		rv = cli_issue_csr(cli, argv[optind], &o);
	else
		rv = cli_issue_key(cli, argv[optind], &o);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	if (o.out_cert != NULL)
		fprintf(stderr,
			"subca: issued; certificate chain in %s, key in %s "
			"(mode 0600)\n",
			o.out_cert, o.out_key);
	return 0;
}
