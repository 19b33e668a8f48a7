/*
 * External Account Binding (RFC 8555 7.3.4).
 */
#include "acme_int.h"

subca_result subca__acme_eab_check(struct subca_acme *a, const json_t *eab,
				   char **kid_out)
{
	(void)a;
	(void)eab;
	*kid_out = NULL;
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "externalAccountBinding is not supported yet");
}
