/*
 * The `subca` command: shared state of one invocation and the helpers every
 * command group uses. One file per command group (cmd_*.c); the command table
 * in main.c checks arity and opens the data directory centrally before any
 * handler runs.
 */
#ifndef SUBCA_CLI_H
#define SUBCA_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "subca/authority.h"
#include "subca/buf.h"
#include "subca/error.h"
#include "subca/report.h"

struct cli {
	const char *data_dir;	     /* --data, $SUBCA_DATA, ./subca-data */
	const char *passphrase_file; /* --passphrase-file */
	struct subca_store *store;   /* open when the command needs data */
	struct subca_keystore *keys;
	struct subca_ctx ctx;
	char actor[64];
	const char *server; /* --server, $SUBCA_SERVER: run remotely */
	const char *token;  /* --token, $SUBCA_TOKEN (never printed) */
	const char *cacert; /* --cacert, $SUBCA_CACERT */
	void *curl;	    /* the remote mode's handle (cli_remote.c) */
};

/* Commands that need the data directory open (store and key store). */
#define CLI_NEEDS_DATA 1u
/* Commands that run against the admin API when a server is given. */
#define CLI_REMOTE 2u

struct cli_command {
	const char *group; /* "authority" */
	const char *name;  /* "create", or NULL for a single-word command */
	unsigned flags;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;   /* arguments, for the usage line */
	const char *summary; /* one line */
};

/* Print the current error (code, reason, hint) and return its exit status. */
int cli_fail(subca_result rv);
/* Print "usage: subca GROUP NAME ARGS" and the summary to `out`. */
void cli_print_usage(const struct cli_command *cmd, FILE *out);
/* Print a usage error for `cmd` and return 64. */
int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
	SUBCA_PRINTF(2, 3);
/* The command being run (for usage messages). */
extern const struct cli_command *cli_current;

/* Print every refusal of `r` (or the current error when it has none) and
 * return the exit status of `rv`. */
int cli_fail_report(subca_result rv, const struct subca_report *r);
/* Print the report's warnings to stderr ("subca: warning [CODE]: ..."). */
void cli_print_warnings(const struct subca_report *r);
/* Print a JSON value on stdout (indented) and free it; returns 0. */
int cli_print_json(json_t *v);

/* The same for a report as JSON ({result, refusals, warnings}, the shape
 * of subca_view_report and of the admin API), so that local and remote
 * runs print alike. */
void cli_print_warnings_json(const json_t *report);
int cli_fail_report_json(subca_result rv, const json_t *report);
/* The string member `key` of `o`, or `dflt` when absent or not a string. */
const char *cli_json_str(const json_t *o, const char *key, const char *dflt);

/* Parse a positive integer option value into *out (1..max). */
SUBCA_MUST_CHECK subca_result cli_parse_int(const char *opt, const char *s,
					    long min, long max, int *out);

/* Read a passphrase from --passphrase-file or $SUBCA_PASSPHRASE into a
 * secret buffer (empty when neither is set). */
SUBCA_MUST_CHECK subca_result cli_passphrase(const struct cli *cli,
					     struct subca_buf *out);

/*
 * A private key from a PEM file the operator names (offline signer, token
 * minting), read into wiped memory. An encrypted key makes OpenSSL ask for
 * its passphrase on the terminal. *out owned by the caller.
 */
SUBCA_MUST_CHECK subca_result cli_load_private_key(const char *path,
						   EVP_PKEY **out);

/* A growable list of option values (--san, --permit-dns...). */
struct cli_list {
	const char *v[64];
	size_t n;
};
SUBCA_MUST_CHECK subca_result cli_list_add(struct cli_list *l, const char *opt,
					   const char *value);
static inline struct subca_names cli_names(const struct cli_list *l)
{
	struct subca_names n = {l->v, l->n};
	return n;
}

/* Command groups. */
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_authority_create(struct cli *cli, int argc, char **argv);
int cmd_authority_list(struct cli *cli, int argc, char **argv);
int cmd_authority_show(struct cli *cli, int argc, char **argv);
int cmd_authority_rotation(struct cli *cli, int argc, char **argv);
int cmd_root_import(struct cli *cli, int argc, char **argv);
int cmd_intermediate_request(struct cli *cli, int argc, char **argv);
int cmd_intermediate_csr(struct cli *cli, int argc, char **argv);
int cmd_intermediate_discard(struct cli *cli, int argc, char **argv);
int cmd_intermediate_instructions(struct cli *cli, int argc, char **argv);
int cmd_intermediate_import(struct cli *cli, int argc, char **argv);
int cmd_intermediate_list(struct cli *cli, int argc, char **argv);
int cmd_intermediate_rotate(struct cli *cli, int argc, char **argv);
int cmd_sign_intermediate(struct cli *cli, int argc, char **argv);
int cmd_token(struct cli *cli, int argc, char **argv);
int cmd_issue(struct cli *cli, int argc, char **argv);
int cmd_crl(struct cli *cli, int argc, char **argv);
int cmd_revoke(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_admin_token(struct cli *cli, int argc, char **argv);
int cmd_provisioner_add(struct cli *cli, int argc, char **argv);
int cmd_provisioner_list(struct cli *cli, int argc, char **argv);
int cmd_provisioner_remove(struct cli *cli, int argc, char **argv);
int cmd_acme_eab(struct cli *cli, int argc, char **argv);

/* Data directory (cli_data.c). */
SUBCA_MUST_CHECK subca_result cli_data_open(struct cli *cli);
void cli_data_close(struct cli *cli);

/* Instructions for the pending intermediate on `out` (cmd_intermediate.c),
 * also shown after `intermediate request`. */
SUBCA_MUST_CHECK subca_result cli_instructions(struct cli *cli,
					       const char *name,
					       const char *tool, FILE *out);

#endif
