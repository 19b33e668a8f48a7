/* subca root import */
#include "cli.h"
#include "subca/limits.h"

int cmd_root_import(struct cli *cli, int argc, char **argv)
{
	SUBCA_BUF_AUTO struct subca_buf in = {0};
	struct subca_report report;
	subca_result rv;

	if (argc != 3)
		return cli_usage(cli_current, "expected NAME FILE");
	subca_report_init(&report);
	rv = subca_file_read(argv[2], SUBCA_MAX_CERT_INPUT, &in);
	if (rv == SUBCA_OK)
		rv = subca_authority_import_root(&cli->ctx, argv[1],
						 subca_buf_slice(&in), &report);
	cli_print_warnings(&report);
	if (rv != SUBCA_OK)
		return cli_fail_report(rv, &report);
	fprintf(stderr,
		"subca: root imported into \"%s\".\n"
		"next: subca intermediate request %s --cn \"%s Intermediate CA\"\n",
		argv[1], argv[1], argv[1]);
	return 0;
}
