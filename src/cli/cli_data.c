/* The data directory: `subca init` creates it; every other command opens it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "subca/keystore_soft.h"
#include "subca/store_sqlite.h"

static subca_result cli_db_path(const struct cli *cli, char *buf, size_t len)
{
	SUBCA_ENSURE(snprintf(buf, len, "%s/subca.db", cli->data_dir) <
			     (int)len,
		     SUBCA_E_INVALID_ARGUMENT, "data directory path too long");
	return SUBCA_OK;
}

static subca_result cli_keystore_open(struct cli *cli)
{
	SUBCA_BUF_AUTO struct subca_buf pass = {0};

	SUBCA_TRY(cli_passphrase(cli, &pass));
	return subca_keystore_soft_open(cli->data_dir,
					pass.len ? (char *)pass.p : NULL,
					pass.len, &cli->keys);
}

subca_result cli_data_open(struct cli *cli)
{
	char db[4096];
	struct stat st;

	if (stat(cli->data_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		SUBCA_BAIL(SUBCA_E_NOT_INITIALISED,
			   "no data directory at %s: run `subca init` first "
			   "(or point --data / SUBCA_DATA at it)",
			   cli->data_dir);
	if ((st.st_mode & 077) != 0)
		fprintf(stderr,
			"subca: warning [INSECURE_PERMISSIONS]: data directory "
			"%s is accessible by "
			"other users (mode %03o); it should be 0700\n",
			cli->data_dir, (unsigned)(st.st_mode & 0777));
	SUBCA_TRY(cli_db_path(cli, db, sizeof(db)));
	SUBCA_TRY(subca_store_sqlite_open(db, false, &cli->store));
	SUBCA_TRY(cli_keystore_open(cli));
	cli->ctx.store = cli->store;
	cli->ctx.keys = cli->keys;
	return SUBCA_OK;
}

void cli_data_close(struct cli *cli)
{
	if (cli->keys != NULL)
		cli->keys->ops->close(cli->keys);
	if (cli->store != NULL)
		cli->store->ops->close(cli->store);
	cli->keys = NULL;
	cli->store = NULL;
}

static subca_result cli_mkdir_private(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return SUBCA_OK;
	SUBCA_ENSURE(errno == EEXIST, SUBCA_E_IO, "cannot create %s: %s", dir,
		     strerror(errno));
	SUBCA_ENSURE(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), SUBCA_E_IO,
		     "%s exists and is not a directory", dir);
	SUBCA_ENSURE(chmod(dir, 0700) == 0, SUBCA_E_IO, "cannot chmod %s: %s",
		     dir, strerror(errno));
	return SUBCA_OK;
}

static subca_result cli_init(struct cli *cli, bool *dev)
{
	SUBCA_BUF_AUTO struct subca_buf pass = {0};
	char db[4096];
	struct stat st;

	SUBCA_TRY(cli_db_path(cli, db, sizeof(db)));
	SUBCA_ENSURE(stat(db, &st) != 0, SUBCA_E_EXISTS,
		     "%s is already initialised", cli->data_dir);
	SUBCA_TRY(cli_mkdir_private(cli->data_dir));
	SUBCA_TRY(cli_passphrase(cli, &pass));
	*dev = pass.len == 0;
	SUBCA_TRY(subca_keystore_soft_create(cli->data_dir,
					     pass.len ? (char *)pass.p : NULL,
					     pass.len));
	SUBCA_TRY(subca_store_sqlite_open(db, true, &cli->store));
	cli->ctx.store = cli->store;
	return subca_audit(&cli->ctx, NULL, "init",
			   "data directory initialised (%s key store)",
			   *dev ? "development key-file" : "passphrase");
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	bool dev = false;

	if (argc > 1)
		return cli_usage(cli_current, "unexpected argument %s", argv[1]);
	if (cli_init(cli, &dev) != SUBCA_OK)
		return cli_fail(subca_error_code());
	fprintf(stderr, "subca: initialised %s\n", cli->data_dir);
	if (dev)
		fprintf(stderr,
			"subca: warning [DEV_KEYSTORE]: no passphrase given, so "
			"private keys "
			"are encrypted under %s/master.key, which sits next to "
			"them. This mode is for development only: for real use "
			"run `subca init` with SUBCA_PASSPHRASE or "
			"--passphrase-file.\n",
			cli->data_dir);
	return 0;
}
