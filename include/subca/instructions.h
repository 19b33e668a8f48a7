/*
 * Copy-pasteable instructions for signing subca's intermediate CSR with the
 * customer's own root tooling, one per tool, each producing a valid CA
 * certificate that keeps the CSR's key and subject.
 */
#ifndef SUBCA_INSTRUCTIONS_H
#define SUBCA_INSTRUCTIONS_H

#include <openssl/x509.h>

#include "subca/buf.h"
#include "subca/error.h"

enum subca_tool {
	SUBCA_TOOL_OPENSSL = 0, /* openssl x509 -req with an extfile */
	SUBCA_TOOL_OPENSSL_CA,	/* openssl ca with copy_extensions/-preserveDN */
	SUBCA_TOOL_CFSSL,
	SUBCA_TOOL_CERTTOOL,
	SUBCA_TOOL_STEP,
	SUBCA_TOOL_VAULT,
	SUBCA_TOOL_ADCS,
	SUBCA_TOOL_AWS_PCA,
	SUBCA_TOOL_SUBCA, /* subca sign-intermediate */
	SUBCA_TOOL__COUNT
};

/* "openssl-ca" -> SUBCA_TOOL_OPENSSL_CA; SUBCA_E_INVALID_ARGUMENT listing names. */
SUBCA_MUST_CHECK subca_result subca_tool_parse(const char *s,
					       enum subca_tool *out);
const char *subca_tool_name(enum subca_tool t);

struct subca_instructions_ctx {
	const char *authority;	/* authority name */
	const X509_REQ *csr;	/* the pending CSR: path length, name
				 * constraints and subject come from it */
	X509 *issuer;		/* the imported issuing CA (signature
				 * digest and algorithm names come from its
				 * key); may be NULL */
	const char *csr_file;	/* e.g. "myca.csr" */
	const char *cert_file;	/* where the signed certificate goes: "myca.crt" */
	const char *root_cert_file; /* placeholder, e.g. "root.crt" */
	const char *root_key_file;  /* placeholder, e.g. "root.key" */
	int days;		/* requested lifetime */
};

/*
 * Append the instructions for `tool` to `out` (an initialised buffer).
 * The text is a POSIX shell script: explanations are `#` comment lines,
 * every configuration file is written with a quoted here-document
 * (cat > FILE <<'EOF' ... EOF), then the signing commands, ending with the
 * `subca intermediate import` command. For the tools that run locally
 * (openssl, openssl-ca, cfssl, certtool, subca) the script runs verbatim
 * with `sh` in a directory holding the CSR and the root files.
 * Where the tool cannot do it at all (CFSSL, AD CS and AWS Private CA with
 * an Ed25519 root or CSR key) the script says why and ends in `exit 1`.
 * Errors (out unchanged): SUBCA_E_INVALID_ARGUMENT for a missing CSR, an
 * authority that is not one DNS label, a file name with anything but
 * letters, digits and . _ - + / (or starting with '-'), days outside
 * 1..SUBCA_MAX_INTERMEDIATE_DAYS, a requested name constraint that is not
 * DNS/IP/email; SUBCA_E_BAD_CSR from subca_csr_requested;
 * SUBCA_E_TOO_LARGE when `out` is too small (256 KiB is plenty).
 */
SUBCA_MUST_CHECK subca_result
subca_instructions_render(enum subca_tool tool,
			  const struct subca_instructions_ctx *ctx,
			  struct subca_buf *out);

#endif
