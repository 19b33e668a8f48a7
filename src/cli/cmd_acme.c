/*
 * subca acme eab create AUTHORITY PROVISIONER: an External Account Binding
 * key (RFC 8555 7.3.4) for an acme provisioner. The kid and the HMAC key
 * are printed once; subca keeps the key sealed through the key store
 * (src/server/acme/eab.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../server/acme/acme.h"
#include "subca/alloc.h"

static subca_result cli_eab_create(struct cli *cli, const char *authority,
				   const char *prov, char *kid, char *hmac)
{
	struct subca_authority_rec a = {0};
	subca_result rv;

	SUBCA_TRY(subca_label_validate("authority name", authority));
	rv = cli->store->ops->authority_get(cli->store, authority, &a);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority named \"%s\"",
			   authority);
	SUBCA_TRY(rv);
	rv = subca_acme_eab_create(&cli->ctx, &a, prov, kid, hmac);
	subca_authority_rec_cleanup(&a);
	return rv;
}

int cmd_acme_eab(struct cli *cli, int argc, char **argv)
{
	char kid[SUBCA_ACME_EAB_KID_SIZE], hmac[SUBCA_ACME_EAB_HMAC_SIZE];

	if (argc != 4 || strcmp(argv[1], "create") != 0 || argv[2][0] == '-' ||
	    argv[3][0] == '-')
		return cli_usage(cli_current, "expected create AUTHORITY "
					      "PROVISIONER");
	if (cli_eab_create(cli, argv[2], argv[3], kid, hmac) != SUBCA_OK)
		return cli_fail(subca_error_code());
	printf("kid: %s\nhmac: %s\n", kid, hmac);
	fflush(stdout);
	subca_wipe(hmac, sizeof(hmac));
	fprintf(stderr,
		"subca: EAB key \"%s\" created for provisioner \"%s\". Its HMAC "
		"key is shown only this once: hand it to the account holder "
		"(lego --eab --kid KID --hmac KEY; certbot --eab-kid "
		"--eab-hmac-key).\n",
		kid, argv[3]);
	return 0;
}
