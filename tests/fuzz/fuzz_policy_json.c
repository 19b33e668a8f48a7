/*
 * Fuzz target: the stored provisioner policy JSON parser
 * (src/server/policy_json.c). Any input must give SUBCA_OK with a policy
 * that subca_policy_validate accepts, or a clean error.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/server/policy_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_policy_json p;
	subca_result rv = subca_policy_json_parse(subca_slice_of(data, size), &p);

	if (rv == SUBCA_OK && subca_policy_validate(&p.policy) != SUBCA_OK)
		abort();
	if (rv == SUBCA_OK && p.policy.dns.n > SUBCA_MAX_NAMES)
		abort();
	subca_policy_json_cleanup(&p);
	subca_error_clear();
	return 0;
}
