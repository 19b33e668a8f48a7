/* subca serve: run the HTTPS server on the data directory. */
#include <string.h>

#include "cli.h"
#include "subca/credential.h"
#include "subca/limits.h"
#include "subca/server.h"

static subca_result cli_serve_parse(struct subca_server_config *c, int argc,
				    char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"base-domain", required_argument, NULL, 'b'},
		{"workers", required_argument, NULL, 'w'},
		{"tls-cert", required_argument, NULL, 'c'},
		{"tls-key", required_argument, NULL, 'k'},
		{"tls-authority", required_argument, NULL, 'a'},
		{"tls-root-out", required_argument, NULL, 'r'},
		{"admin-client-ca", required_argument, NULL, 'A'},
		{"max-connections", required_argument, NULL, 'm'},
		{"header-timeout", required_argument, NULL, 'H'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{"rotation-interval", required_argument, NULL, 'R'},
		{"http-listen", required_argument, NULL, 'P'},
		{"public-url", required_argument, NULL, 'U'},
		{"crl-next-update", required_argument, NULL, 'N'},
		{"crl-rebuild-delay", required_argument, NULL, 'D'},
		{"acme-http-port", required_argument, NULL, '0'},
		{"acme-tls-alpn-port", required_argument, NULL, '1'},
		{"acme-resolver", required_argument, NULL, '2'},
		{"acme-connect-host", required_argument, NULL, '3'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': c->listen = optarg; break;
		case 'b': c->base_domain = optarg; break;
		case 'w':
			SUBCA_TRY(cli_parse_int("--workers", optarg, 1,
						SUBCA_MAX_WORKERS, &c->workers));
			break;
		case 'c': c->tls_cert = optarg; break;
		case 'k': c->tls_key = optarg; break;
		case 'a': c->tls_authority = optarg; break;
		case 'r': c->tls_root_out = optarg; break;
		case 'A': c->admin_client_ca = optarg; break;
		case 'm':
			SUBCA_TRY(cli_parse_int("--max-connections", optarg, 1,
						SUBCA_MAX_CONNECTIONS,
						&c->max_connections));
			break;
		case 'H':
			SUBCA_TRY(cli_parse_int("--header-timeout", optarg, 1,
						3600, &c->header_timeout));
			break;
		case 'I':
			SUBCA_TRY(cli_parse_int("--idle-timeout", optarg, 1,
						3600, &c->idle_timeout));
			break;
		case 'R':
			SUBCA_TRY(cli_parse_int("--rotation-interval", optarg,
						1, 3600,
						&c->rotation_interval));
			break;
		case 'P': c->http_listen = optarg; break;
		case 'U': c->public_url = optarg; break;
		case 'N':
			if (subca_duration_parse(optarg, 366 * 86400,
						 &c->crl_validity) != SUBCA_OK)
				SUBCA_BAIL(SUBCA_E_USAGE, "--crl-next-update: %s",
					   subca_error_reason());
			break;
		case 'D':
			SUBCA_TRY(cli_parse_int("--crl-rebuild-delay", optarg, 1,
						3600, &c->crl_rebuild_delay));
			break;
		case '0':
			SUBCA_TRY(cli_parse_int("--acme-http-port", optarg, 1,
						65535, &c->acme_http_port));
			break;
		case '1':
			SUBCA_TRY(cli_parse_int("--acme-tls-alpn-port", optarg,
						1, 65535,
						&c->acme_tls_alpn_port));
			break;
		case '2': c->acme_resolver = optarg; break;
		case '3': c->acme_connect_host = optarg; break;
		default: SUBCA_BAIL(SUBCA_E_USAGE, "unknown option");
		}
	}
	SUBCA_ENSURE(optind == argc, SUBCA_E_USAGE, "unexpected argument %s",
		     optind < argc ? argv[optind] : "");
	SUBCA_ENSURE((c->tls_cert != NULL || c->tls_key != NULL) !=
			     (c->tls_authority != NULL),
		     SUBCA_E_USAGE,
		     "give either --tls-cert F --tls-key F, or --tls-authority "
		     "NAME");
	SUBCA_ENSURE(c->tls_authority != NULL ||
			     (c->tls_cert != NULL && c->tls_key != NULL),
		     SUBCA_E_USAGE, "--tls-cert and --tls-key go together");
	SUBCA_ENSURE(c->tls_root_out == NULL || c->tls_authority != NULL,
		     SUBCA_E_USAGE, "--tls-root-out needs --tls-authority");
	/* Only an explicit --listen may leave the loopback interface: the
	 * default is SUBCA_SERVER_DEFAULT_LISTEN (127.0.0.1). */
	return SUBCA_OK;
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	struct subca_server_config c = {0};
	subca_result rv;

	rv = cli_serve_parse(&c, argc, argv);
	if (rv == SUBCA_E_USAGE)
		return cli_usage(cli_current, "%s", subca_error_reason());
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	c.data_dir = cli->data_dir;
	c.keys = cli->keys; /* opened once (scrypt once), shared by workers */
	/* the server opens one store connection per thread itself */
	cli->store->ops->close(cli->store);
	cli->store = NULL;
	cli->ctx.store = NULL;
	rv = subca_server_run(&c);
	if (rv != SUBCA_OK)
		return cli_fail(rv);
	return 0;
}
