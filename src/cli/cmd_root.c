/* subca root import */
#include "cli.h"
#include "cli_remote.h"
#include "../server/views.h"
#include "subca/limits.h"

/* PUT the file to the authority's root; the report (or the refusal
 * problem, which carries the report's members) into *report. */
static subca_result cli_root_remote(struct cli *cli, const char *name,
				    struct subca_slice in, json_t **report)
{
	SUBCA_BUF_AUTO struct subca_buf resp = {0};
	char esc[3 * SUBCA_MAX_LABEL + 1], path[4 * SUBCA_MAX_LABEL + 32];

	SUBCA_TRY(subca_label_validate("authority name", name));
	SUBCA_TRY(cli_remote_escape(name, esc, sizeof(esc)));
	snprintf(path, sizeof(path), "/authorities/%s/root", esc);
	SUBCA_TRY(cli_remote_call(cli, "PUT", path, "application/pkix-cert",
				  in, &resp, report));
	*report = json_loadb((const char *)resp.p, resp.len, 0, NULL);
	return SUBCA_OK;
}

int cmd_root_import(struct cli *cli, int argc, char **argv)
{
	SUBCA_BUF_AUTO struct subca_buf in = {0};
	struct subca_report report;
	json_t *rep = NULL;
	subca_result rv;
	int status = 0;

	if (argc != 3)
		return cli_usage(cli_current, "expected NAME FILE");
	subca_report_init(&report);
	rv = subca_file_read(argv[2], SUBCA_MAX_CERT_INPUT, &in);
	if (rv == SUBCA_OK && cli->server != NULL)
		rv = cli_root_remote(cli, argv[1], subca_buf_slice(&in), &rep);
	else if (rv == SUBCA_OK)
		rv = subca_authority_import_root(&cli->ctx, argv[1],
						 subca_buf_slice(&in), &report);
	if (rep == NULL)
		rep = subca_view_report(&report);
	cli_print_warnings_json(rep);
	if (rv != SUBCA_OK)
		status = cli_fail_report_json(rv, rep);
	json_decref(rep);
	if (rv != SUBCA_OK)
		return status;
	fprintf(stderr,
		"subca: root imported into \"%s\".\n"
		"next: subca intermediate request %s --cn \"%s Intermediate CA\"\n",
		argv[1], argv[1], argv[1]);
	return 0;
}
