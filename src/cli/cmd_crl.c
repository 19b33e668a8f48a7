/* subca crl: build, sign, store and print an intermediate's CRL. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "subca/credential.h"
#include "subca/limits.h"
#include "subca/ossl.h"
#include "subca/revocation.h"

struct cli_crl_opts {
	const char *out;
	int64_t intermediate; /* 0: the active one */
	int64_t validity;
	bool der;
};

static subca_result cli_crl_parse(struct cli_crl_opts *o, int argc,
				  char **argv)
{
	static const struct option opts[] = {
		{"intermediate", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"der", no_argument, NULL, 'd'},
		{"next-update", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	int ch, id;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			SUBCA_TRY(cli_parse_int("--intermediate", optarg, 1,
						0x7fffffff, &id));
			o->intermediate = id;
			break;
		case 'o': o->out = optarg; break;
		case 'd': o->der = true; break;
		case 'n':
			if (subca_duration_parse(optarg, 366 * 86400,
						 &o->validity) != SUBCA_OK)
				SUBCA_BAIL(SUBCA_E_USAGE, "--next-update: %s",
					   subca_error_reason());
			break;
		default: SUBCA_BAIL(SUBCA_E_USAGE, "unknown option");
		}
	}
	SUBCA_ENSURE(optind + 1 == argc, SUBCA_E_USAGE,
		     "expected one AUTHORITY");
	return SUBCA_OK;
}

/* The intermediate asked for, or the active one. */
static subca_result cli_crl_intermediate(struct cli *cli, const char *name,
					 int64_t id,
					 struct subca_intermediate_rec *out)
{
	struct subca_store *st = cli->ctx.store;
	struct subca_authority_rec a = {0};
	struct subca_intermediate_list l = {0};
	subca_result rv;

	rv = st->ops->authority_get(st, name, &a);
	if (rv == SUBCA_OK && id == 0)
		rv = st->ops->intermediate_list(st, a.id, &l);
	for (size_t i = 0; rv == SUBCA_OK && id == 0 && i < l.n; i++)
		if (l.v[i].state == SUBCA_INT_ACTIVE)
			id = l.v[i].id;
	if (rv == SUBCA_OK && id == 0)
		rv = subca_error_set(SUBCA_E_NOT_ACTIVE, __FILE__, __LINE__,
				     "authority \"%s\" has no active "
				     "intermediate: name one with "
				     "--intermediate ID",
				     name);
	if (rv == SUBCA_OK)
		rv = subca_revocation_intermediate(&cli->ctx, a.id, id, out);
	subca_intermediate_list_cleanup(&l);
	subca_authority_rec_cleanup(&a);
	return rv;
}

static subca_result cli_crl_write(const struct cli_crl_opts *o,
				  const struct subca_crl_rec *crl)
{
	SUBCA_AUTO(BIO) BIO *bio = NULL;
	char *pem = NULL;
	long n;

	if (o->der)
		return subca_file_write(o->out ? o->out : "-", crl->der,
					crl->der_len, 0644);
	bio = BIO_new(BIO_s_mem());
	SUBCA_OSSL(bio != NULL &&
			   PEM_write_bio(bio, "X509 CRL", "", crl->der,
					 (long)crl->der_len) > 0,
		   SUBCA_E_NOMEM, "cannot encode the CRL as PEM");
	n = BIO_get_mem_data(bio, &pem);
	return subca_file_write(o->out ? o->out : "-", pem, (size_t)n, 0644);
}

int cmd_crl(struct cli *cli, int argc, char **argv)
{
	struct cli_crl_opts o = {.validity = SUBCA_CRL_DEFAULT_VALIDITY};
	struct subca_intermediate_rec im = {0};
	struct subca_crl_rec crl = {0};
	subca_result rv;

	rv = cli_crl_parse(&o, argc, argv);
	if (rv == SUBCA_E_USAGE)
		return cli_usage(cli_current, "%s", subca_error_reason());
	if (rv == SUBCA_OK)
		rv = cli_crl_intermediate(cli, argv[optind], o.intermediate, &im);
	if (rv == SUBCA_OK)
		rv = subca_crl_publish(&cli->ctx, &im, o.validity, &crl);
	if (rv == SUBCA_OK)
		rv = cli_crl_write(&o, &crl);
	if (rv == SUBCA_OK)
		fprintf(stderr,
			"subca: CRL %lld of intermediate %lld: %lld revoked "
			"certificates, next update in %lld s\n",
			(long long)crl.number, (long long)im.id,
			(long long)crl.entries, (long long)o.validity);
	subca_crl_rec_cleanup(&crl);
	subca_intermediate_rec_cleanup(&im);
	return rv == SUBCA_OK ? 0 : cli_fail(rv);
}
