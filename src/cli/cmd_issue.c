/*
 * subca issue: operator issuance from the active intermediate, locally or
 * through POST /admin/v1/authorities/NAME/certificates. Remotely the leaf
 * key (--cn) is still generated here: only its public key is sent.
 */
#include <openssl/pem.h>
#include <string.h>

#include "cli.h"
#include "cli_remote.h"
#include "subca/certin.h"
#include "subca/issue.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

#define CLI_DEFAULT_LEAF_DAYS 90

struct cli_issue_opts {
	const char *csr, *out, *out_key, *out_cert;
	struct subca_leaf_request r;
	struct cli_list sans;
	enum subca_key_type key;
	const char *eku;
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

/* ---- remotely ------------------------------------------------------------ */

/* A CSR or public key as PEM text, for the JSON request. */
static subca_result cli_pem_of(X509_REQ *csr, EVP_PKEY *pub, json_t **out)
{
	SUBCA_AUTO(BIO) BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;

	SUBCA_OSSL(bio != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_OSSL(csr ? PEM_write_bio_X509_REQ(bio, csr) == 1
		       : PEM_write_bio_PUBKEY(bio, pub) == 1,
		   SUBCA_E_CRYPTO, "cannot encode the request");
	n = BIO_get_mem_data(bio, &data);
	*out = json_stringn(data, (size_t)n);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

static json_t *cli_issue_body(const struct cli_issue_opts *o)
{
	json_t *b = json_pack("{s:I}", "days", (json_int_t)o->r.days);
	json_t *sans = json_array(), *eku = json_array();

	for (size_t i = 0; i < o->r.sans.n; i++)
		json_array_append_new(sans, json_string(o->r.sans.v[i]));
	if (o->r.eku & SUBCA_EKU_SERVER)
		json_array_append_new(eku, json_string("server"));
	if (o->r.eku & SUBCA_EKU_CLIENT)
		json_array_append_new(eku, json_string("client"));
	json_object_set_new(b, "sans", sans);
	json_object_set_new(b, "eku", eku);
	if (o->r.cn != NULL)
		json_object_set_new(b, "cn", json_string(o->r.cn));
	return b;
}

/* POST the request; the chain of the answer into *chain. */
static subca_result cli_issue_remote(struct cli *cli, const char *name,
				     const struct cli_issue_opts *o,
				     struct subca_buf *chain)
{
	char esc[3 * SUBCA_MAX_LABEL + 1], path[sizeof(esc) + 32];
	json_t *body = cli_issue_body(o), *pem = NULL, *res = NULL;
	const char *text;
	subca_result rv;

	SUBCA_ENSURE(body != NULL, SUBCA_E_NOMEM, "out of memory");
	rv = cli_pem_of((X509_REQ *)o->r.csr, o->r.pubkey, &pem);
	if (rv == SUBCA_OK)
		json_object_set_new(body, o->r.csr ? "csr" : "public_key", pem);
	if (rv == SUBCA_OK)
		rv = cli_remote_escape(name, esc, sizeof(esc));
	if (rv != SUBCA_OK) {
		json_decref(body);
		return rv;
	}
	snprintf(path, sizeof(path), "/authorities/%s/certificates", esc);
	SUBCA_TRY(cli_remote_json(cli, "POST", path, body, &res, NULL));
	text = cli_json_str(res, "chain", NULL);
	subca_buf_init(chain, SUBCA_MAX_RESPONSE_BODY);
	rv = text ? subca_buf_append_str(chain, text)
		  : subca_error_set(SUBCA_E_INTERNAL, __FILE__, __LINE__,
				    "the server's answer has no chain");
	json_decref(res);
	return rv;
}

/* ---- either way ----------------------------------------------------------- */

static subca_result cli_issue_run(struct cli *cli, const char *name,
				  const struct cli_issue_opts *o,
				  struct subca_buf *chain)
{
	if (cli->server != NULL)
		return cli_issue_remote(cli, name, o, chain);
	return subca_authority_issue(&cli->ctx, name, &o->r, chain, NULL);
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
	SUBCA_TRY(cli_issue_run(cli, name, o, &chain));
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
	SUBCA_TRY(cli_issue_run(cli, name, o, &chain));
	SUBCA_TRY(cli_write_key(o->out_key, key));
	return subca_file_write(o->out_cert, chain.p, chain.len, 0644);
}

/* --eku server,client */
static subca_result cli_issue_eku(const char *list, unsigned *eku)
{
	char buf[64];
	char *save = NULL, *it;

	SUBCA_ENSURE(strlen(list) < sizeof(buf), SUBCA_E_USAGE,
		     "--eku takes server, client or server,client");
	snprintf(buf, sizeof(buf), "%s", list);
	for (it = strtok_r(buf, ",", &save); it != NULL;
	     it = strtok_r(NULL, ",", &save)) {
		if (strcmp(it, "server") == 0)
			*eku |= SUBCA_EKU_SERVER;
		else if (strcmp(it, "client") == 0)
			*eku |= SUBCA_EKU_CLIENT;
		else
			SUBCA_BAIL(SUBCA_E_USAGE,
				   "--eku takes server, client or "
				   "server,client");
	}
	SUBCA_ENSURE(*eku != 0, SUBCA_E_USAGE,
		     "--eku takes server, client or server,client");
	return SUBCA_OK;
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
		{"eku", required_argument, NULL, 'e'},
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
		case 'e': SUBCA_TRY(cli_issue_eku(optarg, &o->r.eku)); break;
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
