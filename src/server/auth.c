/*
 * The authentication hook the pipeline calls for routes that need a
 * credential (see struct subca_auth_ops in server_int.h). None is wired yet:
 * every such route answers 401 "authentication is not configured". The
 * admin-token, mTLS and provisioner checks plug in here.
 */
#include "server_int.h"

const struct subca_auth_ops *const subca__auth_ops = NULL;
