/* subca intermediate request | csr | discard | instructions | import | rotate */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_remote.h"
#include "../server/rotation.h"
#include "../server/views.h"
#include "subca/instructions.h"
#include "subca/limits.h"
#include "subca/ossl.h"

struct cli_request_opts {
	struct subca_intermediate_request r;
	struct cli_list permit_dns, exclude_dns, permit_ip, exclude_ip;
	struct cli_list permit_email, exclude_email;
	const char *out;
	const char *tool;
};

static subca_result cli_request_opt(struct cli_request_opts *o, int ch)
{
	struct subca_intermediate_params *p = &o->r.params;

	switch (ch) {
	case 'n': p->cn = optarg; break;
	case 'o': p->org = optarg; break;
	case 'u': p->ou = optarg; break;
	case 'c': p->country = optarg; break;
	case 's': p->state = optarg; break;
	case 'l': p->locality = optarg; break;
	case 'k': return subca_key_type_parse(optarg, &o->r.key);
	case 'd':
		return cli_parse_int("--days", optarg, 1,
				     SUBCA_MAX_INTERMEDIATE_DAYS, &p->days);
	case 'p':
		return cli_parse_int("--path-len", optarg, 0, SUBCA_MAX_PATHLEN,
				     &p->path_len);
	case 'P': p->path_len = -1; break;
	case '1': return cli_list_add(&o->permit_dns, "--permit-dns", optarg);
	case '2': return cli_list_add(&o->exclude_dns, "--exclude-dns", optarg);
	case '3': return cli_list_add(&o->permit_ip, "--permit-ip", optarg);
	case '4': return cli_list_add(&o->exclude_ip, "--exclude-ip", optarg);
	case '5':
		return cli_list_add(&o->permit_email, "--permit-email", optarg);
	case '6':
		return cli_list_add(&o->exclude_email, "--exclude-email", optarg);
	case 'C': o->r.crl_url = optarg; break;
	case 'O': o->r.ocsp_url = optarg; break;
	case 'f': o->out = optarg; break;
	case 't': o->tool = optarg; break;
	default:
		SUBCA_BAIL(SUBCA_E_USAGE, "unknown option");
	}
	return SUBCA_OK;
}

static subca_result cli_request_parse(struct cli_request_opts *o, int argc,
				      char **argv)
{
	static const struct option opts[] = {
		{"cn", required_argument, NULL, 'n'},
		{"org", required_argument, NULL, 'o'},
		{"ou", required_argument, NULL, 'u'},
		{"country", required_argument, NULL, 'c'},
		{"state", required_argument, NULL, 's'},
		{"locality", required_argument, NULL, 'l'},
		{"key", required_argument, NULL, 'k'},
		{"days", required_argument, NULL, 'd'},
		{"path-len", required_argument, NULL, 'p'},
		{"no-path-len", no_argument, NULL, 'P'},
		{"permit-dns", required_argument, NULL, '1'},
		{"exclude-dns", required_argument, NULL, '2'},
		{"permit-ip", required_argument, NULL, '3'},
		{"exclude-ip", required_argument, NULL, '4'},
		{"permit-email", required_argument, NULL, '5'},
		{"exclude-email", required_argument, NULL, '6'},
		{"crl-url", required_argument, NULL, 'C'},
		{"ocsp-url", required_argument, NULL, 'O'},
		{"out", required_argument, NULL, 'f'},
		{"tool", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		SUBCA_TRY(cli_request_opt(o, ch));
	SUBCA_ENSURE(optind + 1 == argc, SUBCA_E_USAGE, "expected one NAME");
	SUBCA_ENSURE(o->r.params.cn != NULL, SUBCA_E_USAGE,
		     "--cn is required (the intermediate's common name)");
	o->r.params.nc.permit_dns = cli_names(&o->permit_dns);
	o->r.params.nc.exclude_dns = cli_names(&o->exclude_dns);
	o->r.params.nc.permit_ip = cli_names(&o->permit_ip);
	o->r.params.nc.exclude_ip = cli_names(&o->exclude_ip);
	o->r.params.nc.permit_email = cli_names(&o->permit_email);
	o->r.params.nc.exclude_email = cli_names(&o->exclude_email);
	return SUBCA_OK;
}

static void cli_json_names(json_t *o, const char *key,
			   const struct cli_list *l)
{
	json_t *a;

	if (l->n == 0)
		return;
	a = json_array();
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	json_object_set_new(o, key, a);
}

static void cli_json_opt(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

/* The request as the admin API's body (docs/api.md). */
static json_t *cli_request_json(const struct cli_request_opts *o)
{
	const struct subca_intermediate_params *p = &o->r.params;
	json_t *b = json_pack("{s:s, s:s, s:i}", "cn", p->cn, "key",
			      subca_key_type_name(o->r.key), "path_len",
			      p->path_len);

	if (b == NULL)
		return NULL;
	cli_json_opt(b, "org", p->org);
	cli_json_opt(b, "ou", p->ou);
	cli_json_opt(b, "country", p->country);
	cli_json_opt(b, "state", p->state);
	cli_json_opt(b, "locality", p->locality);
	if (p->days != 0)
		json_object_set_new(b, "days", json_integer(p->days));
	cli_json_names(b, "permit_dns", &o->permit_dns);
	cli_json_names(b, "exclude_dns", &o->exclude_dns);
	cli_json_names(b, "permit_ip", &o->permit_ip);
	cli_json_names(b, "exclude_ip", &o->exclude_ip);
	cli_json_names(b, "permit_email", &o->permit_email);
	cli_json_names(b, "exclude_email", &o->exclude_email);
	cli_json_opt(b, "crl_url", o->r.crl_url);
	cli_json_opt(b, "ocsp_url", o->r.ocsp_url);
	return b;
}

/* POST the request; the CSR into `csr`, the days and the answer (with
 * every tool's instructions) into *res. */
static subca_result cli_request_remote(struct cli *cli, const char *name,
				       const struct cli_request_opts *o,
				       struct subca_buf *csr, int *days,
				       json_t **res)
{
	const char *pem;
	char path[4 * SUBCA_MAX_LABEL + 64];
	json_t *body;

	SUBCA_TRY(cli_remote_authority_path(name, "/intermediates", path, sizeof(path)));
	body = cli_request_json(o);
	SUBCA_ENSURE(body != NULL, SUBCA_E_NOMEM, "out of memory");
	SUBCA_TRY(cli_remote_json(cli, "POST", path, body, res, NULL));
	pem = cli_json_str(*res, "csr", NULL);
	SUBCA_ENSURE(pem != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the server's answer has no CSR");
	*days = (int)json_integer_value(json_object_get(*res, "days"));
	subca_buf_init(csr, SUBCA_MAX_RESPONSE_BODY);
	return subca_buf_append_str(csr, pem);
}

/* The instructions for `tool` out of the request's answer. */
static subca_result cli_instructions_from(const json_t *res, const char *tool,
					  FILE *out)
{
	enum subca_tool t;
	const char *text;

	SUBCA_TRY(subca_tool_parse(tool, &t));
	text = cli_json_str(json_object_get(res, "instructions"),
			    subca_tool_name(t), NULL);
	SUBCA_ENSURE(text != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the server sent no instructions for %s", tool);
	SUBCA_ENSURE(fputs(text, out) >= 0, SUBCA_E_IO,
		     "cannot write the instructions");
	return SUBCA_OK;
}

static int cli_fail_usage(subca_result rv)
{
	if (rv == SUBCA_E_USAGE)
		return cli_usage(cli_current, "%s", subca_error_reason());
	return cli_fail(rv);
}

/* Pending requests of `name` besides the newest: each still holds a key. */
static size_t cli_older_pending(struct cli *cli, const char *name)
{
	size_t n = 0;

	if (cli->server != NULL) {
		char path[4 * SUBCA_MAX_LABEL + 160];
		json_t *res = NULL, *v;
		size_t i;

		if (cli_remote_authority_path(name, "/intermediates", path, sizeof(path)) ==
			    SUBCA_OK &&
		    cli_remote_json(cli, "GET", path, NULL, &res, NULL) ==
			    SUBCA_OK)
			json_array_foreach(json_object_get(res, "intermediates"),
					   i, v)
				n += json_is_string(json_object_get(v, "state")) &&
				     strcmp(json_string_value(json_object_get(
						    v, "state")),
					    "pending") == 0;
		json_decref(res);
	} else {
		struct subca_authority_rec a = {0};
		struct subca_intermediate_list l = {0};

		if (subca_authority_get(&cli->ctx, name, &a) == SUBCA_OK &&
		    cli->ctx.store->ops->intermediate_list(cli->ctx.store, a.id,
							   &l) == SUBCA_OK)
			for (size_t i = 0; i < l.n; i++)
				n += l.v[i].state == SUBCA_INT_PENDING;
		subca_intermediate_list_cleanup(&l);
		subca_authority_rec_cleanup(&a);
	}
	subca_error_clear(); /* only a note: a failure here changes nothing */
	return n > 0 ? n - 1 : 0;
}

int cmd_intermediate_request(struct cli *cli, int argc, char **argv)
{
	struct cli_request_opts o = {.r.key = SUBCA_KEY_EC_P256};
	SUBCA_BUF_AUTO struct subca_buf csr = {0};
	const char *name;
	json_t *res = NULL;
	int days = 0, status;
	size_t older;
	subca_result rv;

	o.r.params.path_len = 0;
	rv = cli_request_parse(&o, argc, argv);
	if (rv != SUBCA_OK)
		return cli_fail_usage(rv);
	name = argv[optind];
	if (cli->server != NULL)
		rv = cli_request_remote(cli, name, &o, &csr, &days, &res);
	else
		rv = subca_authority_request_intermediate(&cli->ctx, name,
							  &o.r, &csr, &days);
	if (rv == SUBCA_OK)
		rv = subca_file_write(o.out ? o.out : "-", csr.p, csr.len,
				      0644);
	if (rv != SUBCA_OK) {
		json_decref(res);
		return cli_fail(rv);
	}
	fprintf(stderr,
		"subca: generated a %s key in the key store (it never leaves "
		"it) and a CSR for \"%s\"%s%s.\n"
		"subca: requested: path length %d, %d days%s%s.\n\n",
		subca_key_type_name(o.r.key), o.r.params.cn,
		o.out ? ", written to " : "", o.out ? o.out : "",
		o.r.params.path_len, days,
		o.permit_dns.n + o.exclude_dns.n + o.permit_ip.n +
				o.exclude_ip.n + o.permit_email.n +
				o.exclude_email.n
			? ", name constraints"
			: "",
		o.r.crl_url ? ", CRL URL" : "");
	fprintf(stderr, "Sign it with your root, for example:\n\n");
	if (res != NULL)
		rv = cli_instructions_from(res, o.tool ? o.tool : "openssl",
					   stderr);
	else
		rv = cli_instructions(cli, name, o.tool ? o.tool : "openssl",
				      stderr);
	status = rv == SUBCA_OK ? 0 : cli_fail(rv);
	json_decref(res);
	if (status != 0)
		return status;
	fprintf(stderr,
		"\nOther tools: subca intermediate instructions %s --tool "
		"openssl-ca|cfssl|certtool|step|vault|adcs|aws-pca|subca\n",
		name);
	older = cli_older_pending(cli, name);
	if (older > 0)
		fprintf(stderr,
			"\nNote: %zu earlier pending request%s of \"%s\" still "
			"hold%s a key until imported or discarded: subca "
			"intermediate discard %s --id ID (ids: subca "
			"intermediate list %s).\n",
			older, older == 1 ? "" : "s", name,
			older == 1 ? "s" : "", name, name);
	return 0;
}

/* GET a text answer (CSR, instructions) and write it to `out` ("-":
 * stdout). */
static subca_result cli_remote_text(struct cli *cli, const char *name,
				    const char *rest, const char *out)
{
	SUBCA_BUF_AUTO struct subca_buf resp = {0};
	char path[4 * SUBCA_MAX_LABEL + 160];

	SUBCA_TRY(cli_remote_authority_path(name, rest, path, sizeof(path)));
	SUBCA_TRY(cli_remote_call(cli, "GET", path, NULL, subca_slice_of("", 0),
				  &resp, NULL));
	return subca_file_write(out, resp.p, resp.len, 0644);
}

int cmd_intermediate_csr(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	struct subca_pending p;
	const char *out = "-";
	subca_result rv;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'f')
			return cli_usage(cli_current, "unknown option");
		out = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage(cli_current, "expected one NAME");
	if (cli->server != NULL) {
		rv = cli_remote_text(cli, argv[optind],
				     "/intermediates/pending/csr", out);
		return rv == SUBCA_OK ? 0 : cli_fail(rv);
	}
	rv = subca_authority_pending(&cli->ctx, argv[optind], &p);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	rv = subca_file_write(out, p.rec.csr_pem, strlen(p.rec.csr_pem), 0644);
	subca_pending_cleanup(&p);
	return rv == SUBCA_OK ? 0 : cli_fail(rv);
}

/* subca intermediate discard NAME [--id ID]: the newest pending request
 * (or request ID) and its key. */
int cmd_intermediate_discard(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"id", required_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	struct subca_intermediate_rec d = {0};
	int id = 0; /* 0: the newest pending request */
	int64_t gone;
	char rest[64];
	subca_result rv;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'i')
			return cli_usage(cli_current, "unknown option");
		if (cli_parse_int("--id", optarg, 1, INT_MAX, &id) != SUBCA_OK)
			return cli_usage(cli_current, "%s (an id of `subca "
					 "intermediate list`)",
					 subca_error_reason());
	}
	if (optind + 1 != argc)
		return cli_usage(cli_current, "expected one NAME");
	if (cli->server != NULL) {
		json_t *res = NULL;
		char path[4 * SUBCA_MAX_LABEL + 160];

		if (id > 0)
			snprintf(rest, sizeof(rest), "/intermediates/%d", id);
		else
			snprintf(rest, sizeof(rest), "/intermediates/pending");
		rv = cli_remote_authority_path(argv[optind], rest, path, sizeof(path));
		if (rv == SUBCA_OK)
			rv = cli_remote_json(cli, "DELETE", path, NULL, &res,
					     NULL);
		if (rv != SUBCA_OK)
			return cli_fail(rv);
		gone = (int64_t)json_integer_value(json_object_get(
			json_object_get(res, "discarded"), "id"));
		json_decref(res);
	} else {
		rv = subca_authority_discard_pending(&cli->ctx, argv[optind],
						     id, &d);
		if (rv != SUBCA_OK)
			return cli_fail(rv);
		gone = d.id;
		subca_intermediate_rec_cleanup(&d);
	}
	fprintf(stderr,
		"subca: pending intermediate %lld of \"%s\" discarded; its key "
		"is destroyed\n",
		(long long)gone, argv[optind]);
	return 0;
}

struct cli_instr_files {
	const char *csr_file, *cert_file, *root_cert, *root_key;
};

static subca_result cli_instructions_files(struct cli *cli, const char *name,
					   const char *tool,
					   const struct cli_instr_files *f,
					   FILE *out)
{
	SUBCA_BUF_AUTO struct subca_buf text = {0};
	struct subca_pending p;
	struct subca_instructions_ctx ctx = {0};
	enum subca_tool t;
	char csr_file[128], cert_file[128];
	subca_result rv;

	SUBCA_TRY(subca_tool_parse(tool, &t));
	SUBCA_TRY(subca_authority_pending(&cli->ctx, name, &p));
	snprintf(csr_file, sizeof(csr_file), "%s.csr", name);
	snprintf(cert_file, sizeof(cert_file), "%s.crt", name);
	ctx.authority = name;
	ctx.csr = p.csr;
	ctx.issuer = subca_root_issuer(p.root);
	ctx.csr_file = f->csr_file ? f->csr_file : csr_file;
	ctx.cert_file = f->cert_file ? f->cert_file : cert_file;
	ctx.root_cert_file = f->root_cert ? f->root_cert : "root.crt";
	ctx.root_key_file = f->root_key ? f->root_key : "root.key";
	ctx.days = p.rec.days;
	subca_buf_init(&text, 256 * 1024);
	rv = subca_instructions_render(t, &ctx, &text);
	if (rv == SUBCA_OK && fwrite(text.p, 1, text.len, out) != text.len)
		rv = subca_error_set(SUBCA_E_IO, __FILE__, __LINE__,
				     "cannot write the instructions");
	subca_pending_cleanup(&p);
	return rv;
}

subca_result cli_instructions(struct cli *cli, const char *name,
			      const char *tool, FILE *out)
{
	struct cli_instr_files f = {0};

	return cli_instructions_files(cli, name, tool, &f, out);
}

/* The server renders the instructions with the default file names. */
static int cli_instructions_remote(struct cli *cli, const char *name,
				   const char *tool,
				   const struct cli_instr_files *f)
{
	char q[128], esc[96];
	subca_result rv;

	if (f->csr_file || f->cert_file || f->root_cert || f->root_key)
		return cli_usage(cli_current,
				 "--csr-file, --cert-file, --root-cert and "
				 "--root-key run only locally");
	rv = cli_remote_escape(tool, esc, sizeof(esc));
	if (rv == SUBCA_OK) {
		snprintf(q, sizeof(q), "/intermediates/pending/instructions"
				       "?tool=%s",
			 esc);
		rv = cli_remote_text(cli, name, q, "-");
	}
	return rv == SUBCA_OK ? 0 : cli_fail(rv);
}

int cmd_intermediate_instructions(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"tool", required_argument, NULL, 't'},
		{"csr-file", required_argument, NULL, 'c'},
		{"cert-file", required_argument, NULL, 'o'},
		{"root-cert", required_argument, NULL, 'r'},
		{"root-key", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	struct cli_instr_files f = {0};
	const char *tool = "openssl";
	subca_result rv;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': tool = optarg; break;
		case 'c': f.csr_file = optarg; break;
		case 'o': f.cert_file = optarg; break;
		case 'r': f.root_cert = optarg; break;
		case 'k': f.root_key = optarg; break;
		default: return cli_usage(cli_current, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage(cli_current, "expected one NAME");
	if (cli->server != NULL)
		return cli_instructions_remote(cli, argv[optind], tool, &f);
	rv = cli_instructions_files(cli, argv[optind], tool, &f, stdout);
	return rv == SUBCA_OK ? 0 : cli_fail(rv);
}

/* PUT the signed intermediate; the report (or the refusal problem, which
 * carries the report's members) into *report. */
static subca_result cli_import_remote(struct cli *cli, const char *name,
				      struct subca_slice in, bool weaker,
				      int64_t activate_at, json_t **report)
{
	SUBCA_BUF_AUTO struct subca_buf resp = {0};
	char path[4 * SUBCA_MAX_LABEL + 160], rest[128];

	snprintf(rest, sizeof(rest), "/intermediates/pending/certificate%s%s",
		 weaker ? "?accept_weaker=true" : "",
		 activate_at ? (weaker ? "&activate_at=" : "?activate_at=") : "");
	if (activate_at != 0)
		snprintf(rest + strlen(rest), sizeof(rest) - strlen(rest),
			 "%lld", (long long)activate_at);
	SUBCA_TRY(cli_remote_authority_path(name, rest, path, sizeof(path)));
	SUBCA_TRY(cli_remote_call(cli, "PUT", path, "application/pkix-cert",
				  in, &resp, report));
	*report = json_loadb((const char *)resp.p, resp.len, 0, NULL);
	return SUBCA_OK;
}

/* {result, refusals, warnings} of a report or of a refusal problem. */
static json_t *cli_report_only(const json_t *rep)
{
	return json_pack("{s:O?, s:O?, s:O?}", "result",
			 json_object_get(rep, "result"), "refusals",
			 json_object_get(rep, "refusals"), "warnings",
			 json_object_get(rep, "warnings"));
}

int cmd_intermediate_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"accept-weaker", no_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},
		{"activate-at", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	SUBCA_BUF_AUTO struct subca_buf in = {0};
	struct subca_report report;
	bool weaker = false, json = false;
	const char *when = NULL;
	int64_t at = 0;
	json_t *rep = NULL;
	subca_result rv;
	int ch, status = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'w': weaker = true; break;
		case 'j': json = true; break;
		case 'a': when = optarg; break;
		default: return cli_usage(cli_current, "unknown option");
		}
	}
	if (optind + 2 != argc)
		return cli_usage(cli_current, "expected NAME FILE");
	if (when != NULL &&
	    subca_when_parse("--activate-at", when, time(NULL), &at) != SUBCA_OK)
		return cli_usage(cli_current, "%s", subca_error_reason());
	subca_report_init(&report);
	rv = subca_file_read(argv[optind + 1], SUBCA_MAX_CERT_INPUT, &in);
	if (rv == SUBCA_OK && cli->server != NULL)
		rv = cli_import_remote(cli, argv[optind], subca_buf_slice(&in),
				       weaker, at, &rep);
	else if (rv == SUBCA_OK)
		rv = subca_authority_import_intermediate_at(
			&cli->ctx, argv[optind], subca_buf_slice(&in), weaker,
			at, &report);
	else
		subca_report_refuse_current(&report);
	if (rep != NULL && !json_is_array(json_object_get(rep, "refusals")))
		json_decref(rep), rep = NULL; /* a problem without a report */
	/* a failure is a refusal in the report, as the admin API says it */
	if (rep == NULL && rv != SUBCA_OK && report.refusals == 0)
		subca_report_refuse_current(&report);
	if (rep == NULL)
		rep = subca_view_report(&report);
	if (json)
		cli_print_json(cli_report_only(rep));
	cli_print_warnings_json(rep);
	if (rv != SUBCA_OK)
		status = cli_fail_report_json(rv, rep);
	json_decref(rep);
	if (rv != SUBCA_OK)
		return status;
	if (at > (int64_t)time(NULL)) {
		json_t *t = subca_view_time(at);

		fprintf(stderr,
			"subca: intermediate verified against the root; it "
			"takes over at %s (the current one issues until "
			"then).\n",
			json_string_value(t));
		json_decref(t);
		return 0;
	}
	fprintf(stderr,
		"subca: intermediate verified against the root and activated "
		"(or recorded as the newest certificate of an intermediate "
		"whose key it carries); authority \"%s\" is active.\n"
		"next: subca issue %s --cn host.example --out-key host.key "
		"--out-cert host.crt\n",
		argv[optind], argv[optind]);
	return 0;
}

/* Seconds a remote rotation may take beyond its hook's timeout. */
#define CLI_ROTATE_GRACE 120

/* In an audit answer (newest first): how the run after audit id `after`
 * ended. 1: rotation.done; -1: rotation.fail (its detail in *detail);
 * 0: not yet. */
static int cli_rotation_outcome(const json_t *res, json_int_t after,
				const char **detail)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(res, "entries"), i, e) {
		const char *action = json_string_value(json_object_get(e, "action"));

		if (json_integer_value(json_object_get(e, "id")) <= after ||
		    action == NULL)
			continue;
		if (strcmp(action, "rotation.done") == 0)
			return 1;
		if (strcmp(action, "rotation.fail") == 0) {
			*detail = json_string_value(json_object_get(e, "detail"));
			return -1;
		}
	}
	return 0;
}

/* A rotation.fail detail, "unattended rotation failed [CODE]: ...", as the
 * error it names. */
static subca_result cli_rotation_failed(const char *detail)
{
	char code[64] = "";
	const char *open = detail ? strchr(detail, '[') : NULL;
	const char *close = open ? strchr(open, ']') : NULL;
	subca_result rv = SUBCA_E_INTERNAL;

	if (close != NULL && (size_t)(close - open - 1) < sizeof(code)) {
		memcpy(code, open + 1, (size_t)(close - open - 1));
		code[close - open - 1] = '\0';
		rv = subca_error_from_name(code);
		if (rv == SUBCA_OK)
			rv = SUBCA_E_INTERNAL;
	}
	return subca_error_set(rv, __FILE__, __LINE__, "%s",
			       detail ? detail : "the rotation failed");
}

/*
 * Remotely: the server's rotation thread runs the flow (POST
 * .../rotation/run, a global token), and its audit log says how it ended.
 */
static subca_result cli_rotate_remote(struct cli *cli, const char *name)
{
	char path[4 * SUBCA_MAX_LABEL + 160], audit[4 * SUBCA_MAX_LABEL + 64];
	const char *detail = NULL;
	json_t *res = NULL;
	json_int_t after, timeout;
	time_t deadline;
	int outcome = 0;

	SUBCA_TRY(cli_remote_authority_path(name, "/rotation", path, sizeof(path)));
	SUBCA_TRY(cli_remote_json(cli, "GET", path, NULL, &res, NULL));
	timeout = json_integer_value(json_object_get(res, "hook_timeout_seconds"));
	json_decref(res);
	SUBCA_TRY(cli_remote_authority_path(name, "/rotation/run", path, sizeof(path)));
	SUBCA_TRY(cli_remote_json(cli, "POST", path, NULL, &res, NULL));
	after = json_integer_value(json_object_get(res, "audit_after"));
	json_decref(res);
	SUBCA_TRY(cli_remote_escape(name, path, sizeof(path)));
	/* only rotation entries after the ask: few, whatever else happens */
	snprintf(audit, sizeof(audit),
		 "/audit?authority=%s&after=%lld&action=rotation.&limit=100",
		 path, (long long)after);
	deadline = time(NULL) + (time_t)timeout + CLI_ROTATE_GRACE;
	while (outcome == 0) {
		struct timespec pause = {0, 250 * 1000 * 1000};

		SUBCA_ENSURE(time(NULL) <= deadline, SUBCA_E_IO,
			     "the rotation of \"%s\" has not ended within %lld "
			     "s; see `subca audit %s`",
			     name, (long long)(timeout + CLI_ROTATE_GRACE), name);
		nanosleep(&pause, NULL);
		SUBCA_TRY(cli_remote_json(cli, "GET", audit, NULL, &res, NULL));
		outcome = cli_rotation_outcome(res, after, &detail);
		if (outcome < 0) {
			subca_result rv = cli_rotation_failed(detail);

			json_decref(res);
			return rv;
		}
		json_decref(res);
	}
	return SUBCA_OK;
}

/* No rotation settings: say what sets them. */
static subca_result cli_no_signer(subca_result rv, const char *name)
{
	if (rv == SUBCA_E_NOT_FOUND &&
	    strstr(subca_error_reason(), "no unattended rotation"))
		return subca_error_set(SUBCA_E_NOT_FOUND, __FILE__, __LINE__,
				       "authority \"%s\" has no signer "
				       "command: run `subca authority rotation "
				       "%s --rotate-before 30d --signer-command "
				       "CMD` first",
				       name, name);
	return rv;
}

static int cli_rotated(void)
{
	fprintf(stderr, "subca: the signer command signed the next "
			"intermediate; verified against the root and "
			"activated. The previous one is retired.\n");
	return 0;
}

/* subca intermediate rotate NAME: the unattended flow once (here, or by
 * the server's rotation thread). */
int cmd_intermediate_rotate(struct cli *cli, int argc, char **argv)
{
	struct subca_rotation_rec set = {0};
	struct subca_report report;
	json_t *rep;
	subca_result rv;
	int status = 0;

	while (getopt_long(argc, argv, "", (struct option[]){{NULL, 0, NULL, 0}},
			   NULL) != -1)
		return cli_usage(cli_current, "unknown option");
	if (optind + 1 != argc)
		return cli_usage(cli_current, "expected one NAME");
	if (cli->server != NULL) {
		rv = cli_no_signer(cli_rotate_remote(cli, argv[optind]),
				   argv[optind]);
		return rv == SUBCA_OK ? cli_rotated() : cli_fail(rv);
	}
	rv = cli_no_signer(subca_rotation_get(&cli->ctx, argv[optind], &set),
			   argv[optind]);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	subca_report_init(&report);
	rv = subca_rotation_run(&cli->ctx, argv[optind], &set, &report);
	subca_rotation_rec_cleanup(&set);
	rep = subca_view_report(&report);
	cli_print_warnings_json(rep);
	if (rv != SUBCA_OK) {
		status = report.n ? cli_fail_report_json(rv, rep) : cli_fail(rv);
		json_decref(rep);
		return status;
	}
	json_decref(rep);
	return cli_rotated();
}
