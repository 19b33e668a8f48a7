/*
 * subca token: mint a one-time sign token with a jwk provisioner's private
 * key, for POST /sign. Needs no data directory: the key holder runs it
 * wherever the key lives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include "cli.h"
#include "subca/limits.h"
#include "subca/ossl.h"

#include "../server/jose.h"

#define CLI_TOKEN_DEFAULT_AUD "https://localhost:8443/a/%s/sign"

struct cli_token_opts {
	const char *authority, *key_file, *sub, *aud;
	struct cli_list sans;
	struct subca_token_params p;
	char aud_buf[SUBCA_MAX_URL + 1];
};

/* "300", "300s", "5m", "2m30s": 1 to SUBCA_TOKEN_MAX_LIFETIME seconds. */
static subca_result cli_token_ttl(const char *s, long *out)
{
	const char *p = s;
	long total = 0;

	while (*p != '\0') {
		char *end = NULL;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno != 0 || end == p || v < 0 || v > 3600 || *p == '-' ||
		    *p == '+' || *p == ' ')
			break;
		if (*end == 'm')
			v *= 60;
		else if (*end != 's' && *end != '\0')
			break;
		total += v;
		p = *end == '\0' ? end : end + 1;
	}
	SUBCA_ENSURE(*p == '\0' && p != s && total >= 1 &&
			     total <= SUBCA_TOKEN_MAX_LIFETIME,
		     SUBCA_E_USAGE,
		     "--ttl must be 1s to %ds (e.g. 90s, 5m), not \"%.40s\"",
		     SUBCA_TOKEN_MAX_LIFETIME, s);
	*out = total;
	return SUBCA_OK;
}

/* The subject defaults to the first name, without a "DNS:"-like prefix. */
static const char *cli_token_sub(const char *san)
{
	static const char *const prefixes[] = {"DNS:", "IP:", "email:", "URI:"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncasecmp(san, prefixes[i], strlen(prefixes[i])) == 0)
			return san + strlen(prefixes[i]);
	return san;
}

static subca_result cli_token_parse(struct cli_token_opts *o, int argc,
				    char **argv)
{
	static const struct option opts[] = {
		{"provisioner", required_argument, NULL, 'p'},
		{"key", required_argument, NULL, 'k'},
		{"san", required_argument, NULL, 's'},
		{"sub", required_argument, NULL, 'u'},
		{"aud", required_argument, NULL, 'a'},
		{"ttl", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': o->p.iss = optarg; break;
		case 'k': o->key_file = optarg; break;
		case 's': SUBCA_TRY(cli_list_add(&o->sans, "--san", optarg)); break;
		case 'u': o->p.sub = optarg; break;
		case 'a': o->p.aud = optarg; break;
		case 't': SUBCA_TRY(cli_token_ttl(optarg, &o->p.ttl)); break;
		default: SUBCA_BAIL(SUBCA_E_USAGE, "unknown option");
		}
	}
	SUBCA_ENSURE(optind + 1 == argc, SUBCA_E_USAGE, "expected one AUTHORITY");
	SUBCA_ENSURE(o->p.iss != NULL && o->key_file != NULL && o->sans.n > 0,
		     SUBCA_E_USAGE,
		     "--provisioner NAME, --key FILE and at least one --san "
		     "are required");
	o->authority = argv[optind];
	SUBCA_ENSURE(o->authority[0] != '\0' &&
			     strlen(o->authority) <= SUBCA_MAX_LABEL &&
			     strcspn(o->authority, "/?#%@: ") ==
				     strlen(o->authority),
		     SUBCA_E_USAGE, "\"%.70s\" is not an authority name",
		     o->authority);
	if (o->p.aud == NULL) {
		snprintf(o->aud_buf, sizeof(o->aud_buf), CLI_TOKEN_DEFAULT_AUD,
			 o->authority);
		o->p.aud = o->aud_buf;
	}
	o->p.sans = cli_names(&o->sans);
	if (o->p.sub == NULL)
		o->p.sub = cli_token_sub(o->sans.v[0]);
	return SUBCA_OK;
}

int cmd_token(struct cli *cli, int argc, char **argv)
{
	struct cli_token_opts o = {0};
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	SUBCA_BUF_AUTO struct subca_buf tok = {0};
	subca_result rv;

	rv = cli_token_parse(&o, argc, argv);
	if (rv == SUBCA_E_USAGE)
		return cli_usage(cli_current, "%s", subca_error_reason());
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	o.p.now = cli->ctx.now;
	rv = cli_load_private_key(o.key_file, &key);
	if (rv == SUBCA_OK)
		rv = subca_token_mint(key, &o.p, &tok);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	printf("%s\n", (char *)tok.p);
	return 0;
}
