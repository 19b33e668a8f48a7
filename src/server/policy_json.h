/*
 * The provisioner policy as stored (JSON text, schema in the README,
 * "Provisioners and credentials"), read back into struct subca_policy: the
 * inverse of what `subca provisioner add` writes.
 */
#ifndef SUBCA_SERVER_POLICY_JSON_H
#define SUBCA_SERVER_POLICY_JSON_H

#include <jansson.h>

#include "subca/buf.h"
#include "subca/error.h"
#include "subca/limits.h"
#include "subca/policy.h"

/* Longest single pattern in a policy list. */
#define SUBCA_POLICY_JSON_MAX_PATTERN SUBCA_MAX_URL

struct subca_policy_json {
	struct subca_policy policy; /* strings borrowed from `root` */
	json_t *root;
	const char *names[4][SUBCA_MAX_NAMES]; /* dns, ips, emails, uris */
};

/*
 * Parse `text` (at most SUBCA_MAX_POLICY bytes) strictly: one JSON object,
 * no duplicate members, "version": 1 required, only the members of the
 * schema (allow_all_names, dns, ips, emails, uris, allow_subject_attributes,
 * default_days, max_days, key_types, min_rsa_bits, ekus), each of its type,
 * lists of at most SUBCA_MAX_NAMES strings without duplicates, then
 * subca_policy_validate. SUBCA_E_INVALID_ARGUMENT naming the member and
 * the problem; SUBCA_E_TOO_LARGE. Clean up with subca_policy_json_cleanup
 * (also after a failure).
 */
SUBCA_MUST_CHECK subca_result subca_policy_json_parse(struct subca_slice text,
						      struct subca_policy_json *out);
void subca_policy_json_cleanup(struct subca_policy_json *pj);

#endif
