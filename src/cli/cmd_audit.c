/* subca audit: the append-only audit log, newest first. */
#include "cli.h"
#include "cli_remote.h"
#include "../server/views.h"
#include "subca/authority.h"
#include "subca/limits.h"

/* The entries as [{id, time, authority, action, actor, detail}]. */
static subca_result cli_audit_load(struct cli *cli, const char *name,
				   const char *action, int limit, json_t **out)
{
	struct subca_audit_list l = {0};
	char esc[3 * SUBCA_MAX_LABEL + 1], aesc[3 * 64 + 1];
	char path[4 * SUBCA_MAX_LABEL + 3 * 64 + 64];
	json_t *res = NULL;

	*out = NULL;
	if (cli->server != NULL) {
		aesc[0] = '\0';
		if (action != NULL)
			SUBCA_TRY(cli_remote_escape(action, aesc, sizeof(aesc)));
		if (name != NULL) {
			SUBCA_TRY(cli_remote_escape(name, esc, sizeof(esc)));
			snprintf(path, sizeof(path),
				 "/audit?authority=%s&limit=%d%s%s", esc, limit,
				 action ? "&action=" : "", aesc);
		} else {
			snprintf(path, sizeof(path), "/audit?limit=%d%s%s",
				 limit, action ? "&action=" : "", aesc);
		}
		SUBCA_TRY(cli_remote_json(cli, "GET", path, NULL, &res, NULL));
		*out = json_incref(json_object_get(res, "entries"));
		json_decref(res);
		SUBCA_ENSURE(json_is_array(*out), SUBCA_E_INVALID_ARGUMENT,
			     "the server's answer has no entries");
		return SUBCA_OK;
	}
	SUBCA_TRY(cli->store->ops->audit_query(cli->store, name, 0, action,
					       (size_t)limit, &l));
	*out = json_array();
	for (size_t i = 0; *out != NULL && i < l.n; i++)
		json_array_append_new(*out, subca_view_audit(&l.v[i]));
	subca_audit_list_cleanup(&l);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"limit", required_argument, NULL, 'l'},
		{"action", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL, *action = NULL;
	bool json = false;
	int ch, limit = 100;
	const json_t *r;
	json_t *arr;
	size_t i;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'a':
			action = optarg;
			if (subca_audit_action_check(action) != SUBCA_OK)
				return cli_usage(cli_current, "%s",
						 subca_error_reason());
			break;
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
	if (cli_audit_load(cli, name, action, limit, &arr) != SUBCA_OK) {
		json_decref(arr);
		return cli_fail(subca_error_code());
	}
	if (json)
		return cli_print_json(arr);
	json_array_foreach(arr, i, r) {
		printf("%s %-12s %-24s %-16s %s\n",
		       cli_json_str(r, "time", "-"),
		       cli_json_str(r, "authority", "-"),
		       cli_json_str(r, "action", ""),
		       cli_json_str(r, "actor", ""),
		       cli_json_str(r, "detail", ""));
	}
	json_decref(arr);
	return 0;
}
