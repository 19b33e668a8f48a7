/* Fuzz target: subca_root_parse (parse, sort and check) at a fixed time. */
#include <stdint.h>
#include <stddef.h>

#include "subca/root.h"

/* 2026-01-01T00:00:00Z, the seeds' "now": inputs never expire. */
#define FUZZ_NOW ((time_t)1767225600)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subca_report report;
	struct subca_root *root = NULL;

	subca_report_init(&report);
	if (subca_root_parse(subca_slice_of(data, size), FUZZ_NOW, &report,
			     &root) == SUBCA_OK)
		subca_root_free(root);
	subca_error_clear();
	return 0;
}
