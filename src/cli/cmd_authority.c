/*
 * subca authority create | list | show, and intermediate list. Each command
 * gets one JSON value (from the views locally, from the admin API
 * remotely) and prints text or --json from it, so both modes say the same.
 */
#include <string.h>

#include "cli.h"
#include "cli_remote.h"
#include "../server/rotation.h"
#include "../server/views.h"
#include "subca/credential.h"
#include "subca/alloc.h"
#include "subca/key.h"
#include "subca/limits.h"

static subca_result cli_create_remote(struct cli *cli, const char *name,
				      const char *subdomain, bool generate,
				      const struct subca_generated_root_opts *g)
{
	json_t *body = json_pack("{s:s}", "name", name), *gen, *res = NULL;
	subca_result rv;

	SUBCA_ENSURE(body != NULL, SUBCA_E_NOMEM, "out of memory");
	if (subdomain != NULL)
		json_object_set_new(body, "subdomain", json_string(subdomain));
	if (generate) {
		gen = json_pack("{s:s}", "key", subca_key_type_name(g->root_key));
		if (g->root_cn != NULL)
			json_object_set_new(gen, "root_cn",
					    json_string(g->root_cn));
		if (g->root_days != 0)
			json_object_set_new(gen, "days",
					    json_integer(g->root_days));
		json_object_set_new(body, "generate_root", gen);
	}
	rv = cli_remote_json(cli, "POST", "/authorities", body, &res, NULL);
	json_decref(res);
	return rv;
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
	if (cli->server != NULL)
		rv = cli_create_remote(cli, argv[optind], subdomain, generate,
				       &g);
	else if (generate)
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

/* The authorities as [{name, subdomain, state, generated_root}]. */
static subca_result cli_list_load(struct cli *cli, json_t **out)
{
	struct subca_authority_list l = {0};
	json_t *res = NULL;

	*out = NULL;
	if (cli->server != NULL) {
		SUBCA_TRY(cli_remote_json(cli, "GET", "/authorities", NULL,
					  &res, NULL));
		*out = json_incref(json_object_get(res, "authorities"));
		json_decref(res);
		SUBCA_ENSURE(json_is_array(*out), SUBCA_E_INVALID_ARGUMENT,
			     "the server's answer has no authorities");
		return SUBCA_OK;
	}
	SUBCA_TRY(cli->store->ops->authority_list(cli->store, &l));
	*out = json_array();
	for (size_t i = 0; *out != NULL && i < l.n; i++)
		json_array_append_new(*out, subca_view_authority_item(&l.v[i]));
	subca_authority_list_cleanup(&l);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

int cmd_authority_list(struct cli *cli, int argc, char **argv)
{
	int status;
	bool json = cli_json_flag(argc, argv, &status);
	const json_t *a;
	json_t *arr;
	size_t i;

	if (status != 0)
		return status;
	if (optind != argc)
		return cli_usage(cli_current, "unexpected argument");
	if (cli_list_load(cli, &arr) != SUBCA_OK) {
		json_decref(arr);
		return cli_fail(subca_error_code());
	}
	if (json)
		return cli_print_json(arr);
	printf("%-24s %-24s %-20s %s\n", "NAME", "SUBDOMAIN", "STATE", "ROOT");
	json_array_foreach(arr, i, a) {
		printf("%-24s %-24s %-20s %s\n", cli_json_str(a, "name", ""),
		       cli_json_str(a, "subdomain", ""),
		       cli_json_str(a, "state", ""),
		       json_is_true(json_object_get(a, "generated_root"))
			       ? "generated"
			       : "imported");
	}
	json_decref(arr);
	return 0;
}

/* The other certificates of an intermediate's key (re-certified). */
static void cli_additional_text(const json_t *certs)
{
	const json_t *c;
	size_t i;

	json_array_foreach(certs, i, c)
		printf("      also certified: sha256 %s, valid until %s\n",
		       cli_json_str(c, "sha256", "-"),
		       cli_json_str(c, "not_after", "-"));
}

/* Print intermediates (INTERMEDIATE views) as text (show and list). */
static void cli_intermediates_text(const json_t *ints)
{
	const json_t *r;
	size_t i;

	json_array_foreach(ints, i, r) {
		const char *sha = cli_json_str(r, "sha256", NULL);

		printf("  #%lld %-8s %-9s %s\n",
		       (long long)json_integer_value(json_object_get(r, "id")),
		       cli_json_str(r, "state", ""),
		       cli_json_str(r, "key_type", ""),
		       cli_json_str(r, "subject", ""));
		printf("      valid %s .. %s\n",
		       cli_json_str(r, "not_before", "-"),
		       cli_json_str(r, "not_after", "-"));
		if (sha != NULL)
			printf("      sha256 %s\n", sha);
		cli_additional_text(json_object_get(r, "additional_certificates"));
	}
}

/* The authority view of `name` (subca_authority_view_json's shape). */
static subca_result cli_view_load(struct cli *cli, const char *name,
				  json_t **out)
{
	struct subca_authority_view v = {0};
	struct subca_store *st = cli->store;
	char path[4 * SUBCA_MAX_LABEL + 32];
	subca_result rv;

	*out = NULL;
	SUBCA_TRY(subca_label_validate("authority name", name));
	if (cli->server != NULL) {
		SUBCA_TRY(cli_remote_authority_path(name, "", path,
						    sizeof(path)));
		return cli_remote_json(cli, "GET", path, NULL, out, NULL);
	}
	SUBCA_TRY(subca_authority_get(&cli->ctx, name, &v.a));
	rv = subca_authority_view_fill(st, &v);
	if (rv == SUBCA_OK)
		*out = subca_authority_view_json(&v);
	subca_authority_view_cleanup(&v);
	SUBCA_TRY(rv);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

static void cli_view_text(const json_t *v)
{
	const json_t *root = json_object_get(v, "root");
	const char *name = cli_json_str(v, "name", "");

	printf("authority:     %s\n", name);
	printf("subdomain:     %s\n", cli_json_str(v, "subdomain", ""));
	printf("state:         %s\n", cli_json_str(v, "state", ""));
	if (json_is_object(root)) {
		printf("root:          %s%s\n", cli_json_str(root, "subject", ""),
		       json_is_true(json_object_get(v, "generated_root"))
			       ? " (generated by subca)"
			       : "");
		printf("root sha256:   %s\n", cli_json_str(root, "sha256", ""));
		printf("root expires:  %s\n",
		       cli_json_str(root, "not_after", "-"));
	} else {
		printf("root:          none (next: subca root import %s ROOT.pem)\n",
		       name);
	}
	printf("issued:        %lld certificate(s)\n",
	       (long long)json_integer_value(
		       json_object_get(v, "issued_certificates")));
	printf("intermediates: %zu\n",
	       json_array_size(json_object_get(v, "intermediates")));
	cli_intermediates_text(json_object_get(v, "intermediates"));
}

/* The view's warnings on stderr, as every command prints warnings. */
static void cli_view_warnings(const json_t *v)
{
	const json_t *w;
	size_t i;

	json_array_foreach(json_object_get(v, "warnings"), i, w)
		fprintf(stderr, "subca: warning [%s]: %s\n",
			cli_json_str(w, "code", ""),
			cli_json_str(w, "message", ""));
}

/* Shared by `authority show` and `intermediate list`: NAME [--json], then
 * the authority's view loaded. Returns -1 when loaded, else the exit status. */
static int cli_view_cmd(struct cli *cli, int argc, char **argv, bool *json,
			json_t **v)
{
	int status;

	*v = NULL;
	*json = cli_json_flag(argc, argv, &status);
	if (status != 0)
		return status;
	if (optind + 1 != argc)
		return cli_usage(cli_current, "expected one NAME");
	if (cli_view_load(cli, argv[optind], v) != SUBCA_OK) {
		json_decref(*v);
		*v = NULL;
		return cli_fail(subca_error_code());
	}
	return -1;
}

int cmd_authority_show(struct cli *cli, int argc, char **argv)
{
	json_t *v;
	bool json;
	int status = cli_view_cmd(cli, argc, argv, &json, &v);

	if (status >= 0)
		return status;
	cli_view_warnings(v);
	if (json)
		return cli_print_json(v);
	cli_view_text(v);
	json_decref(v);
	return 0;
}

int cmd_intermediate_list(struct cli *cli, int argc, char **argv)
{
	json_t *v, *ints;
	bool json;
	int status = cli_view_cmd(cli, argc, argv, &json, &v);

	if (status >= 0)
		return status;
	cli_view_warnings(v);
	ints = json_incref(json_object_get(v, "intermediates"));
	json_decref(v);
	if (ints == NULL)
		ints = json_array();
	if (json)
		return cli_print_json(ints);
	cli_intermediates_text(ints);
	json_decref(ints);
	return 0;
}

/* ---- authority rotation ------------------------------------------------- */

struct cli_rotation_opts {
	struct subca_rotation_rec r;
	const char *before, *timeout; /* as given: the API parses them */
	bool off, json, set;
};

static subca_result cli_rotation_parse(struct cli_rotation_opts *o, int argc,
				       char **argv)
{
	static const struct option opts[] = {
		{"rotate-before", required_argument, NULL, 'b'},
		{"signer-command", required_argument, NULL, 'c'},
		{"hook-timeout", required_argument, NULL, 't'},
		{"days", required_argument, NULL, 'd'},
		{"off", no_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int64_t secs;
	int ch;

	o->r.hook_timeout = SUBCA_ROTATION_DEFAULT_TIMEOUT;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			o->before = optarg;
			SUBCA_TRY(subca_duration_parse(
				optarg, (int64_t)SUBCA_MAX_LEAF_DAYS * 86400,
				&o->r.rotate_before));
			o->set = true;
			break;
		case 'c': o->r.signer_command = optarg; o->set = true; break;
		case 't':
			o->timeout = optarg;
			SUBCA_TRY(subca_duration_parse(optarg,
						       SUBCA_MAX_HOOK_TIMEOUT,
						       &secs));
			o->r.hook_timeout = (int)secs;
			break;
		case 'd':
			SUBCA_TRY(cli_parse_int("--days", optarg, 1,
						SUBCA_MAX_INTERMEDIATE_DAYS,
						&o->r.days));
			break;
		case 'o': o->off = true; break;
		case 'j': o->json = true; break;
		default: SUBCA_BAIL(SUBCA_E_USAGE, "unknown option");
		}
	}
	SUBCA_ENSURE(optind + 1 == argc, SUBCA_E_USAGE, "expected one NAME");
	SUBCA_ENSURE(!(o->off && o->set), SUBCA_E_USAGE,
		     "--off takes no other setting");
	SUBCA_ENSURE(!o->set || (o->r.rotate_before > 0 &&
				 o->r.signer_command != NULL),
		     SUBCA_E_USAGE,
		     "--rotate-before and --signer-command go together");
	return SUBCA_OK;
}

/* The settings as subca_view_rotation gives them (local) or the API
 * answers them (remote): the same output either way. */
static subca_result cli_rotation_print(const json_t *v, bool json)
{
	json_int_t before = json_integer_value(
		json_object_get(v, "rotate_before_seconds"));
	json_int_t timeout = json_integer_value(
		json_object_get(v, "hook_timeout_seconds"));
	json_int_t days = json_integer_value(json_object_get(v, "days"));
	const char *cmd = json_string_value(json_object_get(v, "signer_command"));
	const char *updated = json_string_value(json_object_get(v, "updated"));

	SUBCA_ENSURE(cmd != NULL, SUBCA_E_INTERNAL,
		     "the rotation settings lack the signer command");
	if (json) {
		(void)cli_print_json(json_pack(
			"{s:I, s:s, s:I, s:I}", "rotate_before_seconds", before,
			"signer_command", cmd, "hook_timeout_seconds", timeout,
			"days", days));
		return SUBCA_OK;
	}
	printf("rotate before:  %lld s before expiry\n"
	       "signer command: %s\n"
	       "hook timeout:   %lld s\n"
	       "lifetime:       %s%lld\n"
	       "updated:        %s\n",
	       (long long)before, cmd, (long long)timeout,
	       days ? "" : "as the current one ", (long long)days,
	       updated != NULL ? updated : "-");
	return SUBCA_OK;
}

/* The same through the admin API (global token): DELETE, PUT, GET
 * .../rotation. */
static subca_result cli_rotation_remote(struct cli *cli, const char *name,
					const struct cli_rotation_opts *o)
{
	char path[4 * SUBCA_MAX_LABEL + 64];
	json_t *res = NULL, *body;
	subca_result rv;

	SUBCA_TRY(cli_remote_authority_path(name, "/rotation", path,
					    sizeof(path)));
	if (o->off) {
		SUBCA_TRY(cli_remote_json(cli, "DELETE", path, NULL, &res, NULL));
		json_decref(res);
		fprintf(stderr, "subca: unattended rotation of \"%s\" is off\n",
			name);
		return SUBCA_OK;
	}
	if (o->set) {
		body = json_pack("{s:s, s:s, s:s?, s:i}", "rotate_before",
				 o->before, "signer_command",
				 o->r.signer_command, "hook_timeout",
				 o->timeout, "days", o->r.days);
		SUBCA_ENSURE(body != NULL, SUBCA_E_NOMEM, "out of memory");
		SUBCA_TRY(cli_remote_json(cli, "PUT", path, body, &res, NULL));
		json_decref(res);
		res = NULL;
	}
	SUBCA_TRY(cli_remote_json(cli, "GET", path, NULL, &res, NULL));
	rv = cli_rotation_print(res, o->json);
	json_decref(res);
	return rv;
}

/* subca authority rotation NAME [--rotate-before D --signer-command CMD
 * [--hook-timeout D] [--days N] | --off] [--json] */
int cmd_authority_rotation(struct cli *cli, int argc, char **argv)
{
	struct cli_rotation_opts o = {0};
	struct subca_rotation_rec cur = {0};
	json_t *view;
	const char *name;
	subca_result rv;

	rv = cli_rotation_parse(&o, argc, argv);
	if (rv == SUBCA_E_USAGE || (rv != SUBCA_OK && optind < argc))
		return cli_usage(cli_current, "%s", subca_error_reason());
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	name = argv[optind];
	if (cli->server != NULL) {
		rv = cli_rotation_remote(cli, name, &o);
		return rv == SUBCA_OK ? 0 : cli_fail(rv);
	}
	if (o.off) {
		rv = subca_rotation_disable(&cli->ctx, name);
		if (rv == SUBCA_OK)
			fprintf(stderr, "subca: unattended rotation of \"%s\" "
					"is off\n", name);
		return rv == SUBCA_OK ? 0 : cli_fail(rv);
	}
	if (o.set) {
		rv = subca_rotation_configure(&cli->ctx, name, &o.r);
		if (rv != SUBCA_OK)
			return cli_fail(rv);
	}
	rv = subca_rotation_get(&cli->ctx, name, &cur);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	view = subca_view_rotation(&cur);
	subca_rotation_rec_cleanup(&cur);
	rv = view != NULL ? cli_rotation_print(view, o.json)
			  : subca_error_set(SUBCA_E_NOMEM, __FILE__, __LINE__,
					    "out of memory");
	json_decref(view);
	return rv == SUBCA_OK ? 0 : cli_fail(rv);
}
