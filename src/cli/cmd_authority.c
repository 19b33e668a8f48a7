/* subca authority create | list | show */
#include <string.h>
#include <time.h>

#include "cli.h"
#include "../server/views.h"
#include "subca/alloc.h"
#include "subca/key.h"

static void cli_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cmd_authority_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"subdomain", required_argument, NULL, 's'},
		{"generate-root", no_argument, NULL, 'g'},
		{"key", required_argument, NULL, 'k'},
		{"root-cn", required_argument, NULL, 'c'},
		{"days", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	struct subca_generated_root_opts g = {
		.root_key = SUBCA_KEY_EC_P384,
		.intermediate_key = SUBCA_KEY_EC_P256,
	};
	const char *subdomain = NULL;
	bool generate = false;
	subca_result rv = SUBCA_OK;
	int ch;

	while (rv == SUBCA_OK &&
	       (ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': subdomain = optarg; break;
		case 'g': generate = true; break;
		case 'k': rv = subca_key_type_parse(optarg, &g.root_key); break;
		case 'c': g.root_cn = optarg; break;
		case 'd':
			rv = cli_parse_int("--days", optarg, 1, 36600,
					   &g.root_days);
			break;
		default: return cli_usage(cli_current, "unknown option");
		}
	}
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	if (optind + 1 != argc)
		return cli_usage(cli_current, "expected one NAME");
	if (!generate && (g.root_cn || g.root_days))
		return cli_usage(cli_current,
				 "--root-cn and --days need --generate-root");
	if (generate)
		rv = subca_authority_create_generated(&cli->ctx, argv[optind],
						      subdomain, &g);
	else
		rv = subca_authority_create(&cli->ctx, argv[optind], subdomain);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	if (generate) {
		fprintf(stderr,
			"subca: authority \"%s\" created with a root generated "
			"by subca (%s); it is active.\n"
			"next: subca issue %s --cn host.example --out-key "
			"host.key --out-cert host.crt\n",
			argv[optind], subca_key_type_name(g.root_key),
			argv[optind]);
	} else {
		fprintf(stderr,
			"subca: authority \"%s\" created.\n"
			"next: subca root import %s ROOT.pem\n",
			argv[optind], argv[optind]);
	}
	return 0;
}

static bool cli_json_flag(int argc, char **argv, int *status)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	bool json = false;
	int ch;

	*status = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j') {
			*status = cli_usage(cli_current, "unknown option");
			return false;
		}
		json = true;
	}
	return json;
}

int cmd_authority_list(struct cli *cli, int argc, char **argv)
{
	struct subca_authority_list l = {0};
	int status;
	bool json = cli_json_flag(argc, argv, &status);
	json_t *arr;

	if (status != 0)
		return status;
	if (optind != argc)
		return cli_usage(cli_current, "unexpected argument");
	if (cli->store->ops->authority_list(cli->store, &l) != SUBCA_OK)
		return cli_fail(subca_error_code());
	arr = json_array();
	if (!json)
		printf("%-24s %-24s %-20s %s\n", "NAME", "SUBDOMAIN", "STATE",
		       "ROOT");
	for (size_t i = 0; i < l.n; i++) {
		const struct subca_authority_rec *a = &l.v[i];

		if (json) {
			json_array_append_new(arr, subca_view_authority_item(a));
		} else {
			printf("%-24s %-24s %-20s %s\n", a->name, a->subdomain,
			       subca_authority_state_name(a->state),
			       a->generated_root ? "generated" : "imported");
		}
	}
	subca_authority_list_cleanup(&l);
	if (json)
		return cli_print_json(arr);
	json_decref(arr);
	return 0;
}

/* Print the intermediates of authority `a` (used by show and list). */
static void cli_intermediates_text(const struct subca_intermediate_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct subca_intermediate_rec *r = &l->v[i];
		char nb[32], na[32];

		cli_time(r->not_before, nb, sizeof(nb));
		cli_time(r->not_after, na, sizeof(na));
		printf("  #%lld %-8s %-9s %s\n", (long long)r->id,
		       subca_intermediate_state_name(r->state), r->key_type,
		       r->subject);
		printf("      valid %s .. %s\n", nb, na);
		if (r->fingerprint)
			printf("      sha256 %s\n", r->fingerprint);
	}
}

static subca_result cli_view_load(struct cli *cli, const char *name,
				  struct subca_authority_view *v)
{
	struct subca_store *st = cli->store;
	subca_result rv;

	SUBCA_TRY(subca_label_validate("authority name", name));
	rv = st->ops->authority_get(st, name, &v->a);
	if (rv == SUBCA_E_NOT_FOUND)
		SUBCA_BAIL(SUBCA_E_NOT_FOUND, "no authority named \"%s\"", name);
	SUBCA_TRY(rv);
	return subca_authority_view_fill(st, v);
}

static void cli_view_text(const struct subca_authority_view *v)
{
	char na[32];

	printf("authority:     %s\n", v->a.name);
	printf("subdomain:     %s\n", v->a.subdomain);
	printf("state:         %s\n", subca_authority_state_name(v->a.state));
	if (v->has_root) {
		cli_time(v->root.not_after, na, sizeof(na));
		printf("root:          %s%s\n", v->root.subject,
		       v->a.generated_root ? " (generated by subca)" : "");
		printf("root sha256:   %s\n", v->root.fingerprint);
		printf("root expires:  %s\n", na);
	} else {
		printf("root:          none (next: subca root import %s ROOT.pem)\n",
		       v->a.name);
	}
	printf("issued:        %lld certificate(s)\n", (long long)v->issued);
	printf("intermediates: %zu\n", v->ints.n);
	cli_intermediates_text(&v->ints);
}

/* Shared by `authority show` and `intermediate list`: NAME [--json], then
 * the authority's view loaded. Returns -1 when loaded, else the exit status. */
static int cli_view_cmd(struct cli *cli, int argc, char **argv, bool *json,
			struct subca_authority_view *v)
{
	int status;

	*json = cli_json_flag(argc, argv, &status);
	if (status != 0)
		return status;
	if (optind + 1 != argc)
		return cli_usage(cli_current, "expected one NAME");
	if (cli_view_load(cli, argv[optind], v) != SUBCA_OK) {
		status = cli_fail(subca_error_code());
		subca_authority_view_cleanup(v);
		return status;
	}
	return -1;
}

int cmd_authority_show(struct cli *cli, int argc, char **argv)
{
	struct subca_authority_view v = {0};
	bool json;
	int status = cli_view_cmd(cli, argc, argv, &json, &v);

	if (status >= 0)
		return status;
	if (json)
		cli_print_json(subca_authority_view_json(&v));
	else
		cli_view_text(&v);
	subca_authority_view_cleanup(&v);
	return 0;
}

int cmd_intermediate_list(struct cli *cli, int argc, char **argv)
{
	struct subca_authority_view v = {0};
	bool json;
	int status = cli_view_cmd(cli, argc, argv, &json, &v);

	if (status >= 0)
		return status;
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < v.ints.n; i++)
			json_array_append_new(arr,
					      subca_view_intermediate(&v.ints.v[i]));
		cli_print_json(arr);
	} else {
		cli_intermediates_text(&v.ints);
	}
	subca_authority_view_cleanup(&v);
	return 0;
}
