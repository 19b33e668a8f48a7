/* subca audit: the append-only audit log, newest first. */
#include <time.h>

#include "cli.h"
#include "../server/views.h"

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"limit", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	struct subca_audit_list l = {0};
	const char *name = NULL;
	bool json = false;
	int ch, limit = 100;
	json_t *arr;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'l':
			if (cli_parse_int("--limit", optarg, 1, 100000, &limit) !=
			    SUBCA_OK)
				return cli_usage(cli_current, "%s",
						 subca_error_reason());
			break;
		default: return cli_usage(cli_current, "unknown option");
		}
	}
	if (optind + 1 == argc)
		name = argv[optind];
	else if (optind != argc)
		return cli_usage(cli_current, "expected at most one NAME");
	if (cli->store->ops->audit_list(cli->store, name, (size_t)limit, &l) !=
	    SUBCA_OK)
		return cli_fail(subca_error_code());
	arr = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct subca_audit_rec *r = &l.v[i];
		time_t t = (time_t)r->ts;
		struct tm tm;
		char ts[32] = "-";

		if (gmtime_r(&t, &tm) != NULL)
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (json)
			json_array_append_new(arr, subca_view_audit(r));
		else
			printf("%s %-12s %-24s %-16s %s\n", ts,
			       r->authority ? r->authority : "-", r->action,
			       r->actor, r->detail);
	}
	subca_audit_list_cleanup(&l);
	if (json)
		return cli_print_json(arr);
	json_decref(arr);
	return 0;
}
