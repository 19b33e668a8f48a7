/*
 * subca: entry point. Global options, then a command looked up in one table
 * that also says whether the data directory must be open, so that every
 * handler starts with what it needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "cli_remote.h"

static const struct cli_command cli_commands[] = {
	{"init", NULL, 0, cmd_init, "",
	 "create the data directory, database and key store"},
	{"authority", "create", CLI_NEEDS_DATA | CLI_REMOTE, cmd_authority_create,
	 "NAME [--subdomain SUB] [--generate-root [--key TYPE] [--root-cn CN] [--days N]]",
	 "create an authority"},
	{"authority", "list", CLI_NEEDS_DATA | CLI_REMOTE, cmd_authority_list, "[--json]",
	 "list authorities and their state"},
	{"authority", "show", CLI_NEEDS_DATA | CLI_REMOTE, cmd_authority_show, "NAME [--json]",
	 "show one authority, its root and intermediates"},
	{"authority", "rotation", CLI_NEEDS_DATA | CLI_REMOTE, cmd_authority_rotation,
	 "NAME [--rotate-before 30d --signer-command CMD [--hook-timeout 60s] "
	 "[--days N] | --off] [--json]",
	 "show or set unattended rotation (a signer command on the server's host)"},
	{"root", "import", CLI_NEEDS_DATA | CLI_REMOTE, cmd_root_import, "NAME FILE",
	 "import the authority's root certificate (PEM, DER or PKCS#7)"},
	{"intermediate", "request", CLI_NEEDS_DATA | CLI_REMOTE, cmd_intermediate_request,
	 "NAME --cn CN [--org O] [--ou OU] [--country C] [--state S] "
	 "[--locality L] [--key TYPE] [--days N] [--path-len N] "
	 "[--permit-dns D]... [--exclude-dns D]... [--permit-ip CIDR]... "
	 "[--exclude-ip CIDR]... [--permit-email E]... [--exclude-email E]... "
	 "[--crl-url URL] [--ocsp-url URL] [--out FILE] [--tool T]",
	 "generate the intermediate key and its CSR"},
	{"intermediate", "csr", CLI_NEEDS_DATA | CLI_REMOTE, cmd_intermediate_csr,
	 "NAME [--out FILE]", "print the pending intermediate's CSR again"},
	{"intermediate", "instructions", CLI_NEEDS_DATA | CLI_REMOTE,
	 cmd_intermediate_instructions,
	 "NAME [--tool openssl|openssl-ca|cfssl|certtool|step|vault|adcs|aws-pca|subca] "
	 "[--csr-file F] [--cert-file F] [--root-cert F] [--root-key F]",
	 "print the commands that sign the CSR with your root's tooling"},
	{"intermediate", "import", CLI_NEEDS_DATA | CLI_REMOTE, cmd_intermediate_import,
	 "NAME FILE [--accept-weaker] [--activate-at TIME] [--json]",
	 "verify the signed intermediate against the root and activate it "
	 "(now or at TIME: +2h, RFC 3339)"},
	{"intermediate", "list", CLI_NEEDS_DATA | CLI_REMOTE, cmd_intermediate_list,
	 "NAME [--json]", "list the authority's intermediates"},
	{"intermediate", "discard", CLI_NEEDS_DATA | CLI_REMOTE,
	 cmd_intermediate_discard, "NAME [--id ID]",
	 "discard a pending request never certified, destroying its key"},
	{"intermediate", "rotate", CLI_NEEDS_DATA | CLI_REMOTE, cmd_intermediate_rotate,
	 "NAME", "request, sign with the signer command, verify and activate "
	 "the next intermediate once"},
	{"serve", NULL, CLI_NEEDS_DATA, cmd_serve,
	 "[--listen ADDR:PORT] [--base-domain D] [--workers N] "
	 "(--tls-cert F --tls-key F | --tls-authority NAME [--tls-root-out F]) "
	 "[--admin-client-ca F] "
	 "[--max-connections N] [--header-timeout S] [--idle-timeout S] "
	 "[--rotation-interval S] "
	 "[--http-listen ADDR:PORT] [--public-url URL] "
	 "[--crl-next-update DURATION] [--crl-rebuild-delay S] "
	 "[--acme-http-port N] [--acme-tls-alpn-port N] "
	 "[--acme-resolver IP[:PORT]] [--acme-connect-host IP]",
	 "run the HTTPS server until SIGTERM (SIGHUP reloads its certificate)"},
	{"crl", NULL, CLI_NEEDS_DATA, cmd_crl,
	 "AUTHORITY [--intermediate ID] [--next-update DURATION] [--der] "
	 "[--out F]",
	 "build, sign and store a new CRL; print it (PEM, or DER)"},
	{"sign-intermediate", NULL, 0, cmd_sign_intermediate,
	 "--root-cert F --root-key F [--days N] [--path-len N] CSR [--out F]",
	 "offline signer: sign a CSR with a root held as PEM files"},
	{"token", NULL, 0, cmd_token,
	 "AUTHORITY --provisioner NAME --key FILE --san NAME... [--sub S] "
	 "[--aud URL] [--ttl 5m]",
	 "mint a one-time sign token with a jwk provisioner's private key"},
	{"issue", NULL, CLI_NEEDS_DATA | CLI_REMOTE, cmd_issue,
	 "NAME (--csr FILE [--out F] | --cn CN [--san V]... [--key TYPE] "
	 "--out-key F --out-cert F) [--san V]... [--days N] [--eku server,client]",
	 "issue a leaf certificate from the active intermediate"},
	{"revoke", NULL, CLI_NEEDS_DATA | CLI_REMOTE, cmd_revoke,
	 "AUTHORITY SERIAL [--reason R] [--json]",
	 "revoke an issued certificate (again: kept as first revoked)"},
	{"audit", NULL, CLI_NEEDS_DATA | CLI_REMOTE, cmd_audit,
	 "[NAME] [--json] [--limit N] [--action PREFIX]",
	 "show the audit log, newest first"},
	{"admin", "token", CLI_NEEDS_DATA | CLI_REMOTE, cmd_admin_token,
	 "create [--authorities A,B] [--expires 90d] [--description TEXT] | "
	 "list [--json] | revoke ID",
	 "create (shown once), list or revoke admin API tokens"},
	{"provisioner", "add", CLI_NEEDS_DATA | CLI_REMOTE, cmd_provisioner_add,
	 "AUTHORITY NAME --type apikey|jwk|acme [--jwk FILE] "
	 "[--require-eab] [--challenges http-01,dns-01,tls-alpn-01] "
	 "[--allow-dns PATTERN]... "
	 "[--allow-ip CIDR]... [--allow-email E]... [--allow-uri PREFIX]... "
	 "[--allow-any-name] [--allow-subject-attributes] [--default-days N] "
	 "[--max-days N] [--key-types ec-p256,...] [--eku server,client]",
	 "let a key holder or service ask the authority for leaves"},
	{"provisioner", "list", CLI_NEEDS_DATA | CLI_REMOTE, cmd_provisioner_list,
	 "AUTHORITY [--json]", "list the authority's provisioners"},
	{"provisioner", "remove", CLI_NEEDS_DATA | CLI_REMOTE, cmd_provisioner_remove,
	 "AUTHORITY NAME", "remove a provisioner"},
	{"acme", "eab", CLI_NEEDS_DATA, cmd_acme_eab,
	 "create AUTHORITY PROVISIONER",
	 "an External Account Binding key for an acme provisioner (shown once)"},
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

static void cli_help(FILE *out)
{
	fprintf(out,
		"usage: subca [--data DIR] [--passphrase-file FILE] "
		"[--server URL [--token T] [--cacert FILE]] COMMAND ...\n\n"
		"An online intermediate CA for your own root.\n\n"
		"commands:\n");
	for (size_t i = 0; i < CLI_NCOMMANDS; i++) {
		const struct cli_command *c = &cli_commands[i];
		char name[64];

		snprintf(name, sizeof(name), "%s%s%s", c->group,
			 c->name ? " " : "", c->name ? c->name : "");
		fprintf(out, "  %-26s %s%s\n", name,
			(c->flags & CLI_REMOTE) ? "* " : "", c->summary);
	}
	fprintf(out,
		"\nenvironment: SUBCA_DATA (data directory, default "
		"./subca-data), SUBCA_PASSPHRASE (key store passphrase),\n"
		"SUBCA_SERVER, SUBCA_TOKEN, SUBCA_CACERT (run the commands "
		"marked * against that server's admin API)\n"
		"`subca COMMAND --help` shows a command's options.\n");
}

static const struct cli_command *cli_lookup(int argc, char **argv, int *used)
{
	for (size_t i = 0; i < CLI_NCOMMANDS; i++) {
		const struct cli_command *c = &cli_commands[i];

		if (strcmp(argv[0], c->group) != 0)
			continue;
		if (c->name == NULL) {
			*used = 1;
			return c;
		}
		if (argc > 1 && strcmp(argv[1], c->name) == 0) {
			*used = 2;
			return c;
		}
	}
	return NULL;
}

/* `--opt VALUE` or `--opt=VALUE` at argv[*i]: true and *out set (and *i
 * moved past the value) when it is that option. */
static bool cli_global_opt(int argc, char **argv, int *i, const char *opt,
			   const char **out)
{
	size_t n = strlen(opt);

	if (strcmp(argv[*i], opt) == 0 && *i + 1 < argc) {
		*out = argv[++*i];
		return true;
	}
	if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return true;
	}
	return false;
}

/* An environment variable, NULL when unset or empty. */
static const char *cli_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Global options come before the command. Returns the index of the
 * command word, or -1 after printing a usage error. */
static int cli_globals(struct cli *cli, int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			cli->data_dir = argv[++i];
		} else if (strncmp(argv[i], "--data=", 7) == 0) {
			cli->data_dir = argv[i] + 7;
		} else if (strcmp(argv[i], "--passphrase-file") == 0 &&
			   i + 1 < argc) {
			cli->passphrase_file = argv[++i];
		} else if (strncmp(argv[i], "--passphrase-file=", 18) == 0) {
			cli->passphrase_file = argv[i] + 18;
		} else if (cli_global_opt(argc, argv, &i, "--server",
					  &cli->server) ||
			   cli_global_opt(argc, argv, &i, "--token",
					  &cli->token) ||
			   cli_global_opt(argc, argv, &i, "--cacert",
					  &cli->cacert)) {
			continue;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			cli_help(stdout);
			exit(0);
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("subca 0.1.0 (%s)\n",
			       OpenSSL_version(OPENSSL_VERSION));
			exit(0);
		} else {
			fprintf(stderr, "subca: unknown global option %s\n\n",
				argv[i]);
			cli_help(stderr);
			return -1;
		}
	}
	if (i >= argc) {
		cli_help(stderr);
		return -1;
	}
	return i;
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	const struct cli_command *cmd;
	int first, used = 0, status;

	cli.data_dir = getenv("SUBCA_DATA");
	if (cli.data_dir == NULL || cli.data_dir[0] == '\0')
		cli.data_dir = "./subca-data";
	cli.server = cli_env("SUBCA_SERVER");
	cli.token = cli_env("SUBCA_TOKEN");
	cli.cacert = cli_env("SUBCA_CACERT");
	first = cli_globals(&cli, argc, argv);
	if (first < 0)
		return 64;
	cmd = cli_lookup(argc - first, argv + first, &used);
	if (cmd == NULL) {
		fprintf(stderr, "subca: unknown command \"%s%s%s\"\n\n",
			argv[first], first + 1 < argc ? " " : "",
			first + 1 < argc ? argv[first + 1] : "");
		cli_help(stderr);
		return 64;
	}
	cli_current = cmd;
	snprintf(cli.actor, sizeof(cli.actor), "cli:%s%s%s uid=%u", cmd->group,
		 cmd->name ? " " : "", cmd->name ? cmd->name : "",
		 (unsigned)getuid());
	cli.ctx.actor = cli.actor;
	cli.ctx.now = time(NULL);
	for (int i = first + used; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			cli_print_usage(cmd, stdout);
			return 0;
		}
	}
	if (cli.server != NULL && cli.server[0] == '\0')
		cli.server = NULL;
	if (cli.server != NULL && !(cmd->flags & CLI_REMOTE))
		return cli_usage(cmd,
				 "subca %s%s%s runs only locally (drop --server "
				 "or unset SUBCA_SERVER)",
				 cmd->group, cmd->name ? " " : "",
				 cmd->name ? cmd->name : "");
	if (cli.server != NULL) {
		if (cli_remote_open(&cli) != SUBCA_OK) {
			status = cli_fail(subca_error_code());
			cli_remote_close(&cli);
			return status;
		}
	} else if (cmd->flags & CLI_NEEDS_DATA) {
		if (cli_data_open(&cli) != SUBCA_OK) {
			status = cli_fail(subca_error_code());
			cli_data_close(&cli); /* the store may be open */
			return status;
		}
	}
	/* handlers see argv[0] = the command word, getopt-style */
	status = cmd->run(&cli, argc - first - used + 1,
			  argv + first + used - 1);
	cli_data_close(&cli);
	cli_remote_close(&cli);
	return status;
}
