/*
 * include/subca/credential.h for server code. Its enum subca_credential_kind
 * names an enumerator SUBCA_CRED_ADMIN, as does server_int.h's enum
 * subca_auth_kind (a route's credential kind): one translation unit cannot
 * declare both. Here the secret kinds are spelled SUBCA_SECRET_ADMIN and
 * SUBCA_SECRET_APIKEY instead (same values); include this instead of
 * subca/credential.h anywhere server_int.h is included.
 */
#ifndef SUBCA_SERVER_CRED_H
#define SUBCA_SERVER_CRED_H

#ifdef SUBCA_CREDENTIAL_H
#error "include server_cred.h instead of subca/credential.h in src/server"
#endif

#define SUBCA_CRED_ADMIN SUBCA_SECRET_ADMIN
#define SUBCA_CRED_APIKEY SUBCA_SECRET_APIKEY
#include "subca/credential.h"
#undef SUBCA_CRED_ADMIN
#undef SUBCA_CRED_APIKEY

#endif
