/*
 * Signing instructions: for each common root-signing tool, a POSIX shell
 * script that signs subca's pending CSR so that the certificate carries what
 * the CSR asked for (CA:TRUE, keyCertSign, the path length and the name
 * constraints), keeps the CSR's subject and key, and is handed back with
 * `subca intermediate import`. Every tool's trap (REFERENCES.md, "How the
 * common root-signing tools behave") is explained in a comment next to the
 * flag that avoids it.
 */
#include "subca/instructions.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "subca/alloc.h"
#include "subca/csr.h"
#include "subca/key.h"
#include "subca/limits.h"
#include "subca/ossl.h"

/* A file name the script may use unquoted. */
#define SUBCA__MAX_FILE_NAME 255

static const char *const subca__tool_names[SUBCA_TOOL__COUNT] = {
	[SUBCA_TOOL_OPENSSL] = "openssl", [SUBCA_TOOL_OPENSSL_CA] = "openssl-ca",
	[SUBCA_TOOL_CFSSL] = "cfssl",	  [SUBCA_TOOL_CERTTOOL] = "certtool",
	[SUBCA_TOOL_STEP] = "step",	  [SUBCA_TOOL_VAULT] = "vault",
	[SUBCA_TOOL_ADCS] = "adcs",	  [SUBCA_TOOL_AWS_PCA] = "aws-pca",
	[SUBCA_TOOL_SUBCA] = "subca",
};

#define SUBCA__TOOL_LIST \
	"openssl, openssl-ca, cfssl, certtool, step, vault, adcs, aws-pca, subca"

subca_result subca_tool_parse(const char *s, enum subca_tool *out)
{
	SUBCA_ENSURE(s != NULL && s[0] != '\0', SUBCA_E_INVALID_ARGUMENT,
		     "no signing tool given; valid tools: " SUBCA__TOOL_LIST);
	for (int t = 0; t < SUBCA_TOOL__COUNT; t++) {
		if (strcmp(s, subca__tool_names[t]) == 0) {
			*out = (enum subca_tool)t;
			return SUBCA_OK;
		}
	}
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "unknown signing tool \"%.64s\"; valid tools: " SUBCA__TOOL_LIST,
		   s);
}

const char *subca_tool_name(enum subca_tool t)
{
	if ((int)t < 0 || t >= SUBCA_TOOL__COUNT)
		return "unknown";
	return subca__tool_names[t];
}

/* ---- what the script needs to know ------------------------------------ */

struct subca__render {
	const struct subca_instructions_ctx *c;
	struct subca_buf *out;
	long path_len;		    /* -1: none requested */
	const NAME_CONSTRAINTS *nc; /* NULL: none requested */
	const char *md;		    /* "sha256"...; NULL for an EdDSA root */
	const char *aws_alg;	    /* AWS signing algorithm; NULL: none fits */
	bool issuer_known;
	bool issuer_ski;	    /* the issuer has a subject key identifier */
	bool eddsa_root, eddsa_csr;
	char subject[400];
};

#define SUBCA__PUT(r, ...) SUBCA_TRY(subca_buf_printf((r)->out, __VA_ARGS__))

/* One name constraint as text the script can hold unquoted. */
struct subca__nc_item {
	int type;	    /* GEN_DNS, GEN_EMAIL, GEN_IPADD */
	char text[330];	    /* "example.com", "a@example.com", "10.0.0.0/8" */
	char mask_form[96]; /* IP only: "10.0.0.0/255.0.0.0" (OpenSSL's form) */
};

static bool subca__safe_char(char c, bool email)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' ||
	       (email && (c == '@' || c == '_' || c == '+'));
}

static subca_result subca__nc_ia5(const ASN1_IA5STRING *s, bool email,
				  struct subca__nc_item *it)
{
	int n = ASN1_STRING_length(s);
	const unsigned char *p = ASN1_STRING_get0_data(s);

	SUBCA_ENSURE(n > 0 && (size_t)n < sizeof(it->text),
		     SUBCA_E_INVALID_ARGUMENT,
		     "the CSR requests a name constraint of %d characters", n);
	for (int i = 0; i < n; i++)
		SUBCA_ENSURE(subca__safe_char((char)p[i], email),
			     SUBCA_E_INVALID_ARGUMENT,
			     "the CSR requests a %s name constraint with "
			     "characters the instructions cannot carry",
			     email ? "email" : "DNS");
	memcpy(it->text, p, (size_t)n);
	it->text[n] = '\0';
	return SUBCA_OK;
}

static subca_result subca__nc_ip(const ASN1_OCTET_STRING *s,
				 struct subca__nc_item *it)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int n = ASN1_STRING_length(s), half = n / 2, prefix = 0;
	char addr[INET6_ADDRSTRLEN], mask[INET6_ADDRSTRLEN];
	bool ended = false;

	SUBCA_ENSURE(n == 8 || n == 32, SUBCA_E_INVALID_ARGUMENT,
		     "the CSR requests an IP name constraint of %d octets "
		     "(8 or 32 expected)",
		     n);
	for (int i = half; i < n; i++) {
		for (int b = 7; b >= 0; b--) {
			bool one = (p[i] >> b) & 1;

			SUBCA_ENSURE(!(one && ended), SUBCA_E_INVALID_ARGUMENT,
				     "the CSR requests an IP name constraint "
				     "with a non-contiguous mask");
			ended = ended || !one;
			prefix += one;
		}
	}
	inet_ntop(n == 8 ? AF_INET : AF_INET6, p, addr, sizeof(addr));
	inet_ntop(n == 8 ? AF_INET : AF_INET6, p + half, mask, sizeof(mask));
	snprintf(it->text, sizeof(it->text), "%s/%d", addr, prefix);
	snprintf(it->mask_form, sizeof(it->mask_form), "%s/%s", addr, mask);
	return SUBCA_OK;
}

static subca_result subca__nc_item_of(const GENERAL_NAME *gn,
				      struct subca__nc_item *it)
{
	it->type = gn->type;
	it->mask_form[0] = '\0';
	switch (gn->type) {
	case GEN_DNS: return subca__nc_ia5(gn->d.dNSName, false, it);
	case GEN_EMAIL: return subca__nc_ia5(gn->d.rfc822Name, true, it);
	case GEN_IPADD: return subca__nc_ip(gn->d.iPAddress, it);
	default: break;
	}
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT,
		   "the CSR requests a name constraint of a kind the signing "
		   "instructions cannot express (only DNS, IP and email)");
}

static const STACK_OF(GENERAL_SUBTREE) *
subca__subtrees(const struct subca__render *r, bool permit)
{
	if (r->nc == NULL)
		return NULL;
	return permit ? r->nc->permittedSubtrees : r->nc->excludedSubtrees;
}

static int subca__nc_count(const struct subca__render *r, bool permit, int type)
{
	const STACK_OF(GENERAL_SUBTREE) *sk = subca__subtrees(r, permit);
	int n = 0;

	for (int i = 0; i < sk_GENERAL_SUBTREE_num(sk); i++)
		n += sk_GENERAL_SUBTREE_value(sk, i)->base->type == type;
	return n;
}

/*
 * Append every (permit, type) constraint as pre VALUE post, separated by
 * sep; IP ranges in OpenSSL's address/mask form when `mask_form`.
 */
static subca_result subca__nc_join(struct subca__render *r, bool permit,
				   int type, const char *pre, const char *post,
				   const char *sep, bool mask_form)
{
	const STACK_OF(GENERAL_SUBTREE) *sk = subca__subtrees(r, permit);
	int done = 0;

	for (int i = 0; i < sk_GENERAL_SUBTREE_num(sk); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_SUBTREE_value(sk, i)->base;
		struct subca__nc_item it;

		if (gn->type != type)
			continue;
		SUBCA_TRY(subca__nc_item_of(gn, &it));
		SUBCA__PUT(r, "%s%s%s%s", done++ ? sep : "", pre,
			   mask_form && type == GEN_IPADD ? it.mask_form
							  : it.text,
			   post);
	}
	return SUBCA_OK;
}

/* Every constraint is expressible: fail early rather than mid-script. */
static subca_result subca__nc_check(const struct subca__render *r)
{
	for (int p = 0; p < 2; p++) {
		const STACK_OF(GENERAL_SUBTREE) *sk = subca__subtrees(r, p);

		for (int i = 0; i < sk_GENERAL_SUBTREE_num(sk); i++) {
			struct subca__nc_item it;

			SUBCA_TRY(subca__nc_item_of(
				sk_GENERAL_SUBTREE_value(sk, i)->base, &it));
		}
	}
	return SUBCA_OK;
}

/* ---- context ------------------------------------------------------------ */

static bool subca__label_ok(const char *s)
{
	size_t n = strnlen(s, SUBCA_MAX_LABEL + 1);

	if (n == 0 || n > SUBCA_MAX_LABEL || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* A file name the shell, OpenSSL configs and here-documents leave alone. */
static subca_result subca__file_ok(const char *what, const char *s)
{
	size_t n;

	SUBCA_ENSURE(s != NULL, SUBCA_E_INVALID_ARGUMENT, "no %s given", what);
	n = strnlen(s, SUBCA__MAX_FILE_NAME + 1);
	SUBCA_ENSURE(n > 0 && n <= SUBCA__MAX_FILE_NAME && s[0] != '-',
		     SUBCA_E_INVALID_ARGUMENT,
		     "%s must be 1 to %d characters and not start with '-'",
		     what, SUBCA__MAX_FILE_NAME);
	for (size_t i = 0; i < n; i++)
		SUBCA_ENSURE(subca__safe_char(s[i], false) || s[i] == '_' ||
				     s[i] == '/' || s[i] == '+',
			     SUBCA_E_INVALID_ARGUMENT,
			     "%s may hold only letters, digits and . _ - + / "
			     "so that the script needs no quoting",
			     what);
	return SUBCA_OK;
}

static subca_result subca__ctx_check(const struct subca_instructions_ctx *c)
{
	SUBCA_ENSURE(c != NULL && c->csr != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "no pending CSR to write instructions for");
	SUBCA_ENSURE(c->authority != NULL && subca__label_ok(c->authority),
		     SUBCA_E_INVALID_ARGUMENT,
		     "the authority name must be one DNS label (a-z, 0-9, -)");
	SUBCA_TRY(subca__file_ok("the CSR file name", c->csr_file));
	SUBCA_TRY(subca__file_ok("the certificate file name", c->cert_file));
	SUBCA_TRY(subca__file_ok("the root certificate file name",
				 c->root_cert_file));
	SUBCA_TRY(subca__file_ok("the root key file name", c->root_key_file));
	SUBCA_ENSURE(c->days >= 1 && c->days <= SUBCA_MAX_INTERMEDIATE_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "a lifetime of %d days is out of range (1 to %d)", c->days,
		     SUBCA_MAX_INTERMEDIATE_DAYS);
	return SUBCA_OK;
}

static bool subca__is_eddsa(const EVP_PKEY *k)
{
	int id = k ? EVP_PKEY_get_base_id(k) : EVP_PKEY_NONE;

	return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448;
}

/* Digest and AWS algorithm names from the issuing CA's key. */
static void subca__issuer_facts(struct subca__render *r, X509 *issuer)
{
	const EVP_PKEY *k = issuer ? X509_get0_pubkey(issuer) : NULL;
	const EVP_MD *md = subca_key_sign_md(k);
	bool rsa = k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA;
	int nid = md ? EVP_MD_get_type(md) : NID_undef;

	r->issuer_known = k != NULL;
	r->issuer_ski = issuer == NULL ||
			X509_get_ext_by_NID(issuer, NID_subject_key_identifier,
					    -1) >= 0;
	r->eddsa_root = subca__is_eddsa(k);
	r->md = r->eddsa_root	    ? NULL
		: nid == NID_sha384 ? "sha384"
		: nid == NID_sha512 ? "sha512"
				    : "sha256";
	r->aws_alg = r->eddsa_root	   ? NULL
		     : rsa		   ? "SHA256WITHRSA"
		     : nid == NID_sha384 ? "SHA384WITHECDSA"
		     : nid == NID_sha512 ? "SHA512WITHECDSA"
					 : "SHA256WITHECDSA";
}

static void subca__subject_text(struct subca__render *r)
{
	SUBCA_AUTO(BIO) BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	r->subject[0] = '\0';
	/* control characters escaped, UTF-8 shown as is */
	if (b == NULL ||
	    X509_NAME_print_ex(b, X509_REQ_get_subject_name(r->c->csr), 0,
			       XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0)
		return;
	n = BIO_read(b, r->subject, (int)sizeof(r->subject) - 1);
	r->subject[n > 0 ? n : 0] = '\0';
	for (char *p = r->subject; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
}

static subca_result subca__render_init(struct subca__render *r,
				       const struct subca_instructions_ctx *c,
				       struct subca_buf *out,
				       struct subca_csr_request *req)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->out = out;
	SUBCA_TRY(subca_csr_requested(c->csr, req));
	r->path_len = req->path_len;
	r->nc = req->nc;
	r->eddsa_csr = subca__is_eddsa(X509_REQ_get0_pubkey((X509_REQ *)c->csr));
	subca__issuer_facts(r, c->issuer);
	subca__subject_text(r);
	ERR_clear_error();
	return subca__nc_check(r);
}

/* ---- shared pieces ------------------------------------------------------ */

static subca_result subca__describe_nc(struct subca__render *r)
{
	static const struct {
		bool permit;
		int type;
		const char *label;
	} kinds[] = {
		{true, GEN_DNS, "permit DNS"},	  {false, GEN_DNS, "exclude DNS"},
		{true, GEN_IPADD, "permit IP"},	  {false, GEN_IPADD, "exclude IP"},
		{true, GEN_EMAIL, "permit email"}, {false, GEN_EMAIL, "exclude email"},
	};

	if (r->nc == NULL)
		return SUBCA_OK;
	SUBCA__PUT(r, "#   name constraints (critical):\n");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (subca__nc_count(r, kinds[i].permit, kinds[i].type) == 0)
			continue;
		SUBCA__PUT(r, "#     %s: ", kinds[i].label);
		SUBCA_TRY(subca__nc_join(r, kinds[i].permit, kinds[i].type, "",
					 "", ", ", false));
		SUBCA__PUT(r, "\n");
	}
	return SUBCA_OK;
}

static subca_result subca__preamble(struct subca__render *r, const char *title,
				    bool local)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA__PUT(r, "#!/bin/sh\n");
	SUBCA__PUT(r, "# Sign the intermediate CSR of subca authority \"%s\" "
		      "with %s.\n",
		   c->authority, title);
	if (local)
		SUBCA__PUT(r, "# Run it with sh in a directory holding %s, %s "
			      "and %s (the root key unencrypted).\n",
			   c->csr_file, c->root_cert_file, c->root_key_file);
	SUBCA__PUT(r, "# The CSR asks for:\n#   subject %s\n", r->subject);
	SUBCA__PUT(r, "#   CA:TRUE, keyUsage digitalSignature, keyCertSign, "
		      "cRLSign\n");
	if (r->path_len >= 0)
		SUBCA__PUT(r, "#   path length %ld\n", r->path_len);
	else
		SUBCA__PUT(r, "#   no path length constraint\n");
	SUBCA_TRY(subca__describe_nc(r));
	SUBCA__PUT(r, "#   a lifetime of %d days\n", c->days);
	if (!r->issuer_known)
		SUBCA__PUT(r, "# The root is not known yet: the digest below "
			      "assumes an RSA or P-256 root (use SHA-384 for "
			      "P-384, no digest for Ed25519).\n");
	SUBCA__PUT(r, "set -eu\n\n");
	return SUBCA_OK;
}

static subca_result subca__import(struct subca__render *r)
{
	SUBCA__PUT(r, "\n# Hand the certificate back to subca, which verifies "
		      "it against the root before\n# using it (copy %s to the "
		      "subca server first if you signed elsewhere).\n",
		   r->c->cert_file);
	SUBCA__PUT(r, "subca intermediate import %s %s\n", r->c->authority,
		   r->c->cert_file);
	return SUBCA_OK;
}

/* A script that explains why the tool cannot do it, and stops. */
static subca_result subca__cannot(struct subca__render *r, const char *why)
{
	SUBCA__PUT(r, "# %s\n# Use `subca intermediate instructions %s --tool "
		      "openssl` (or certtool) instead.\n",
		   why, r->c->authority);
	SUBCA__PUT(r, "echo '%s' >&2\nexit 1\n", why);
	return SUBCA_OK;
}

/* The [v3_intermediate] section: exactly the requested CA extensions. */
static subca_result subca__openssl_section(struct subca__render *r)
{
	static const struct {
		bool permit;
		int type;
		const char *pre;
	} nc[] = {
		{true, GEN_DNS, ",permitted;DNS:"},
		{true, GEN_IPADD, ",permitted;IP:"},
		{true, GEN_EMAIL, ",permitted;email:"},
		{false, GEN_DNS, ",excluded;DNS:"},
		{false, GEN_IPADD, ",excluded;IP:"},
		{false, GEN_EMAIL, ",excluded;email:"},
	};

	SUBCA__PUT(r, "[v3_intermediate]\nbasicConstraints = critical,CA:true");
	if (r->path_len >= 0)
		SUBCA__PUT(r, ",pathlen:%ld", r->path_len);
	SUBCA__PUT(r, "\nkeyUsage = critical,digitalSignature,keyCertSign,"
		      "cRLSign\nsubjectKeyIdentifier = hash\n");
	/* RFC 5280 4.2.1.1: copy the root's own key identifier; a root
	 * without one is named by issuer and serial instead. */
	SUBCA__PUT(r, "authorityKeyIdentifier = %s\n",
		   r->issuer_ski ? "keyid:always" : "keyid,issuer");
	if (r->nc == NULL)
		return SUBCA_OK;
	SUBCA__PUT(r, "nameConstraints = critical");
	for (size_t i = 0; i < sizeof(nc) / sizeof(nc[0]); i++)
		SUBCA_TRY(subca__nc_join(r, nc[i].permit, nc[i].type, nc[i].pre,
					 "", "", true));
	SUBCA__PUT(r, "\n");
	return SUBCA_OK;
}

/* ---- one renderer per tool ---------------------------------------------- */

static subca_result subca__render_openssl(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA_TRY(subca__preamble(r, "OpenSSL (openssl x509 -req)", true));
	SUBCA__PUT(r, "# Without -extfile, `openssl x509 -req` issues an X.509 "
		      "v1 certificate with no extensions\n"
		      "# at all: not a CA. The extension file below makes it a "
		      "v3 CA certificate with exactly\n"
		      "# the requested extensions (OpenSSL copies none from the "
		      "CSR).\n");
	SUBCA__PUT(r, "cat > %s-ext.cnf <<'EOF'\n", c->authority);
	SUBCA_TRY(subca__openssl_section(r));
	SUBCA__PUT(r, "EOF\n\n");
	SUBCA__PUT(r, "# -set_serial: a random 128-bit serial (RFC 5280 "
		      "4.1.2.2).%s\n",
		   r->eddsa_root ? " No digest flag: Ed25519 signs without "
				   "a separate digest."
				 : "");
	SUBCA__PUT(r, "openssl x509 -req -in %s -CA %s -CAkey %s \\\n"
		      "\t-set_serial 0x$(openssl rand -hex 16) -days %d%s%s \\\n"
		      "\t-extfile %s-ext.cnf -extensions v3_intermediate "
		      "-out %s\n",
		   c->csr_file, c->root_cert_file, c->root_key_file, c->days,
		   r->md ? " -" : "", r->md ? r->md : "", c->authority,
		   c->cert_file);
	return subca__import(r);
}

static subca_result subca__openssl_ca_config(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA__PUT(r, "cat > %s-ca.cnf <<'EOF'\n", c->authority);
	SUBCA__PUT(r, "[ca]\ndefault_ca = subca_sign\n\n[subca_sign]\n"
		      "dir = %s-ca\ndatabase = $dir/index.txt\n"
		      "new_certs_dir = $dir/newcerts\nserial = $dir/serial\n",
		   c->authority);
	SUBCA__PUT(r, "certificate = %s\nprivate_key = %s\n", c->root_cert_file,
		   c->root_key_file);
	SUBCA__PUT(r, "default_md = %s\n", r->md ? r->md : "default");
	SUBCA__PUT(r, "policy = subca_policy\nunique_subject = no\n"
		      "copy_extensions = none\nemail_in_dn = no\n"
		      "preserve = yes\n\n");
	SUBCA__PUT(r, "[subca_policy]\ncountryName = optional\n"
		      "stateOrProvinceName = optional\nlocalityName = optional\n"
		      "organizationName = optional\n"
		      "organizationalUnitName = optional\n"
		      "commonName = optional\nemailAddress = optional\n\n");
	SUBCA_TRY(subca__openssl_section(r));
	SUBCA__PUT(r, "EOF\n\n");
	return SUBCA_OK;
}

static subca_result subca__render_openssl_ca(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA_TRY(subca__preamble(r, "OpenSSL (openssl ca)", true));
	SUBCA__PUT(r, "# `openssl ca` needs a small database: this one lives in "
		      "%s-ca/ and serves only this CSR.\n"
		      "# Every subject attribute is optional in the policy and "
		      "-preserveDN keeps the CSR's\n"
		      "# subject as it is (otherwise `openssl ca` reorders it and "
		      "drops attributes).\n"
		      "# copy_extensions = none plus the explicit "
		      "[v3_intermediate] section: the certificate\n"
		      "# carries exactly the requested extensions, whatever the "
		      "CSR holds.\n",
		   c->authority);
	SUBCA__PUT(r, "mkdir -p %s-ca/newcerts\ntouch %s-ca/index.txt\n"
		      "# a random 128-bit serial (RFC 5280 4.1.2.2)\n"
		      "openssl rand -hex 16 > %s-ca/serial\n",
		   c->authority, c->authority, c->authority);
	SUBCA_TRY(subca__openssl_ca_config(r));
	SUBCA__PUT(r, "# -batch: no questions (the root key must be "
		      "unencrypted); -notext: OpenSSL 3.0 `ca` otherwise\n"
		      "# writes a text dump before the PEM.\n");
	SUBCA__PUT(r, "openssl ca -batch -config %s-ca.cnf -preserveDN -notext "
		      "-days %d \\\n\t-in %s -out %s -extensions "
		      "v3_intermediate\n",
		   c->authority, c->days, c->csr_file, c->cert_file);
	return subca__import(r);
}

static subca_result subca__render_cfssl(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA_TRY(subca__preamble(r, "CFSSL (cfssl sign)", true));
	if (r->eddsa_root || r->eddsa_csr)
		return subca__cannot(r, "CFSSL cannot sign with or for Ed25519 "
					"keys.");
	SUBCA__PUT(r, "# CFSSL issues CA:FALSE unless the profile has a "
		      "ca_constraint with is_ca true, and\n"
		      "# silently drops path length 0 unless max_path_len_zero "
		      "is true as well.\n"
		      "# It re-encodes the subject (same names, its own string "
		      "types and order).\n");
	if (r->nc != NULL)
		SUBCA__PUT(r, "# CFSSL cannot add name constraints: the "
			      "certificate will lack the requested ones, and\n"
			      "# `subca intermediate import` refuses it unless "
			      "given --accept-weaker (the intermediate\n"
			      "# is then NOT name-constrained). Prefer the "
			      "openssl or certtool instructions.\n");
	SUBCA__PUT(r, "cat > %s-cfssl.json <<'EOF'\n{\n  \"signing\": {\n"
		      "    \"profiles\": {\n      \"intermediate\": {\n"
		      "        \"usages\": [\"cert sign\", \"crl sign\", "
		      "\"digital signature\"],\n"
		      "        \"expiry\": \"%ldh\",\n"
		      "        \"ca_constraint\": {\"is_ca\": true",
		   c->authority, (long)c->days * 24);
	if (r->path_len >= 0)
		SUBCA__PUT(r, ", \"max_path_len\": %ld%s", r->path_len,
			   r->path_len == 0 ? ", \"max_path_len_zero\": true"
					    : "");
	SUBCA__PUT(r, "}\n      }\n    }\n  }\n}\nEOF\n\n");
	SUBCA__PUT(r, "cfssl sign -ca %s -ca-key %s -config %s-cfssl.json \\\n"
		      "\t-profile intermediate %s | cfssljson -bare %s-signed\n"
		      "mv %s-signed.pem %s\n",
		   c->root_cert_file, c->root_key_file, c->authority,
		   c->csr_file, c->authority, c->authority, c->cert_file);
	return subca__import(r);
}

static subca_result subca__certtool_nc(struct subca__render *r)
{
	static const struct {
		bool permit;
		int type;
		const char *pre;
	} nc[] = {
		{true, GEN_DNS, "nc_permit_dns = "},
		{false, GEN_DNS, "nc_exclude_dns = "},
		{true, GEN_IPADD, "nc_permit_ip = "},
		{false, GEN_IPADD, "nc_exclude_ip = "},
		{true, GEN_EMAIL, "nc_permit_email = "},
		{false, GEN_EMAIL, "nc_exclude_email = "},
	};

	for (size_t i = 0; i < sizeof(nc) / sizeof(nc[0]); i++)
		SUBCA_TRY(subca__nc_join(r, nc[i].permit, nc[i].type, nc[i].pre,
					 "\n", "", false));
	return SUBCA_OK;
}

static subca_result subca__render_certtool(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA_TRY(subca__preamble(r, "GnuTLS certtool", true));
	SUBCA__PUT(r, "# certtool takes every extension from the template and "
		      "none from the CSR (no\n"
		      "# honor_crq_extensions); it keeps the CSR's subject and "
		      "key and picks a random serial.\n"
		      "# No path_len line means no path length constraint.\n");
	SUBCA__PUT(r, "cat > %s-certtool.tmpl <<'EOF'\nca\n", c->authority);
	if (r->path_len >= 0)
		SUBCA__PUT(r, "path_len = %ld\n", r->path_len);
	SUBCA__PUT(r, "cert_signing_key\ncrl_signing_key\nsigning_key\n"
		      "expiration_days = %d\n",
		   c->days);
	SUBCA_TRY(subca__certtool_nc(r));
	SUBCA__PUT(r, "EOF\n\n");
	SUBCA__PUT(r, "certtool --generate-certificate --load-request %s \\\n"
		      "\t--load-ca-certificate %s --load-ca-privkey %s \\\n"
		      "\t--template %s-certtool.tmpl",
		   c->csr_file, c->root_cert_file, c->root_key_file,
		   c->authority);
	if (r->md != NULL)
		SUBCA__PUT(r, " --hash %s", r->md);
	SUBCA__PUT(r, " --outfile %s\n", c->cert_file);
	return subca__import(r);
}

static subca_result subca__render_subca(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA_TRY(subca__preamble(r, "subca's own offline signer", true));
	SUBCA__PUT(r, "# For a root kept as PEM files on an air-gapped machine "
		      "(no subca data directory\n"
		      "# needed there). It checks the CSR's signature and the "
		      "root key, copies the requested\n"
		      "# name constraints and caps the lifetime at the root's "
		      "expiry.\n");
	SUBCA__PUT(r, "subca sign-intermediate --root-cert %s --root-key %s "
		      "\\\n\t--days %d ",
		   c->root_cert_file, c->root_key_file, c->days);
	if (r->path_len >= 0)
		SUBCA__PUT(r, "--path-len %ld", r->path_len);
	else
		SUBCA__PUT(r, "--no-path-len");
	SUBCA__PUT(r, " %s --out %s\n", c->csr_file, c->cert_file);
	return subca__import(r);
}

static subca_result subca__step_nc(struct subca__render *r)
{
	static const struct {
		bool permit;
		int type;
		const char *key;
	} nc[] = {
		{true, GEN_DNS, "permittedDNSDomains"},
		{false, GEN_DNS, "excludedDNSDomains"},
		{true, GEN_IPADD, "permittedIPRanges"},
		{false, GEN_IPADD, "excludedIPRanges"},
		{true, GEN_EMAIL, "permittedEmailAddresses"},
		{false, GEN_EMAIL, "excludedEmailAddresses"},
	};

	if (r->nc == NULL)
		return SUBCA_OK;
	SUBCA__PUT(r, ",\n\t\"nameConstraints\": {\n\t\t\"critical\": true");
	for (size_t i = 0; i < sizeof(nc) / sizeof(nc[0]); i++) {
		if (subca__nc_count(r, nc[i].permit, nc[i].type) == 0)
			continue;
		SUBCA__PUT(r, ",\n\t\t\"%s\": [", nc[i].key);
		SUBCA_TRY(subca__nc_join(r, nc[i].permit, nc[i].type, "\"",
					 "\"", ", ", false));
		SUBCA__PUT(r, "]");
	}
	SUBCA__PUT(r, "\n\t}");
	return SUBCA_OK;
}

static subca_result subca__render_step(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA_TRY(subca__preamble(r, "smallstep step", true));
	SUBCA__PUT(r, "# `step certificate sign --profile intermediate-ca` "
		      "defaults to path length 0 and\n"
		      "# 10 years, leaves out digitalSignature and drops the "
		      "CSR's name constraints: this\n"
		      "# template (which replaces the profile) sets them all. "
		      "maxPathLen -1 means no path\n"
		      "# length constraint. step rebuilds the subject from the "
		      "CSR's attributes.\n");
	SUBCA__PUT(r, "cat > %s-step.tpl <<'EOF'\n{\n"
		      "\t\"subject\": {{ toJson .Subject }},\n"
		      "\t\"keyUsage\": [\"certSign\", \"crlSign\", "
		      "\"digitalSignature\"],\n"
		      "\t\"basicConstraints\": {\"isCA\": true, \"maxPathLen\": "
		      "%ld}",
		   c->authority, r->path_len);
	SUBCA_TRY(subca__step_nc(r));
	SUBCA__PUT(r, "\n}\nEOF\n\n");
	SUBCA__PUT(r, "step certificate sign --template %s-step.tpl "
		      "--not-after %ldh \\\n\t%s %s %s > %s\n",
		   c->authority, (long)c->days * 24, c->csr_file,
		   c->root_cert_file, c->root_key_file, c->cert_file);
	return subca__import(r);
}

static subca_result subca__render_vault(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA_TRY(subca__preamble(r, "HashiCorp Vault (pki/root/sign-intermediate)",
				  false));
	SUBCA__PUT(r, "# Needs VAULT_ADDR and VAULT_TOKEN; set VAULT_PKI_MOUNT "
		      "when the root is not mounted at pki.\n"
		      "# use_csr_values=true keeps the CSR's subject and copies "
		      "its requested extensions\n"
		      "# (name constraints among them); without it Vault "
		      "replaces the subject.\n"
		      "# Vault caps ttl at the mount's max-lease-ttl: raise it "
		      "first if needed, e.g.\n"
		      "#   vault secrets tune -max-lease-ttl=%ldh pki\n"
		      "# max_path_length=-1 means no path length constraint.\n",
		   (long)c->days * 24);
	SUBCA__PUT(r, "vault write -format=json "
		      "\"${VAULT_PKI_MOUNT:-pki}/root/sign-intermediate\" \\\n"
		      "\tcsr=@%s format=pem use_csr_values=true ttl=%ldh \\\n"
		      "\tmax_path_length=%ld",
		   c->csr_file, (long)c->days * 24, r->path_len);
	if (subca__nc_count(r, true, GEN_DNS) > 0) {
		SUBCA__PUT(r, " permitted_dns_domains=");
		SUBCA_TRY(subca__nc_join(r, true, GEN_DNS, "", "", ",", false));
	}
	SUBCA__PUT(r, " > %s-vault.json\njq -r .data.certificate "
		      "%s-vault.json > %s\n",
		   c->authority, c->authority, c->cert_file);
	return subca__import(r);
}

static subca_result subca__render_adcs(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;

	SUBCA_TRY(subca__preamble(r, "Active Directory Certificate Services "
				     "(certreq)",
				  false));
	if (r->eddsa_root || r->eddsa_csr)
		return subca__cannot(r, "AD CS cannot sign with or for Ed25519 "
					"keys.");
	SUBCA__PUT(r, "# Run on a Windows machine that reaches your CA (cmd, "
		      "PowerShell or Git Bash), as a\n"
		      "# user allowed to enroll for the SubCA template. Add "
		      "-config \"CAHOST\\CA Name\" to skip\n"
		      "# the CA selection dialog. A standalone CA leaves the "
		      "request pending: approve it,\n"
		      "# then fetch it with: certreq -retrieve <RequestId> %s\n"
		      "# AD CS takes the lifetime, path length and name "
		      "constraints from its template and\n"
		      "# policy, not from the CSR: `subca intermediate import` "
		      "names anything missing.\n"
		      "# certreq writes PEM with CRLF line endings (or a .p7b); "
		      "subca accepts both.\n",
		   c->cert_file);
	SUBCA__PUT(r, "certreq -submit -attrib \"CertificateTemplate:SubCA\" "
		      "%s %s\n",
		   c->csr_file, c->cert_file);
	return subca__import(r);
}

/* The DER of the requested NameConstraints, base64, for API passthrough. */
static subca_result subca__nc_base64(const NAME_CONSTRAINTS *nc,
				     char **out)
{
	unsigned char *der = NULL;
	int n = ASN1_item_i2d((const ASN1_VALUE *)nc, &der,
			      ASN1_ITEM_rptr(NAME_CONSTRAINTS));

	*out = NULL;
	SUBCA_OSSL(n > 0, SUBCA_E_CRYPTO, "cannot encode the name constraints");
	*out = subca_malloc((size_t)(n + 2) / 3 * 4 + 1);
	if (*out != NULL)
		EVP_EncodeBlock((unsigned char *)*out, der, n);
	OPENSSL_free(der);
	SUBCA_ENSURE(*out != NULL, SUBCA_E_NOMEM, "out of memory");
	return SUBCA_OK;
}

static subca_result subca__aws_passthrough(struct subca__render *r)
{
	SUBCA_AUTOFREE char *b64 = NULL;

	SUBCA_TRY(subca__nc_base64(r->nc, &b64));
	SUBCA__PUT(r, "# Name constraints go in through API passthrough: a "
		      "custom extension holding the\n"
		      "# DER of the requested NameConstraints.\n");
	SUBCA__PUT(r, "cat > %s-aws-passthrough.json <<'EOF'\n"
		      "{\"Extensions\": {\"CustomExtensions\": [{"
		      "\"ObjectIdentifier\": \"2.5.29.30\", \"Critical\": true, "
		      "\"Value\": \"%s\"}]}}\nEOF\n",
		   r->c->authority, b64);
	return SUBCA_OK;
}

static subca_result subca__render_aws(struct subca__render *r)
{
	const struct subca_instructions_ctx *c = r->c;
	long pl = r->path_len >= 0 && r->path_len <= 3 ? r->path_len : 3;

	SUBCA_TRY(subca__preamble(r, "AWS Private CA (aws acm-pca)", false));
	if (r->eddsa_root || r->eddsa_csr)
		return subca__cannot(r, "AWS Private CA cannot sign with or for "
					"Ed25519 keys.");
	SUBCA__PUT(r, "# Set ROOT_CA_ARN to your root CA's ARN. The template "
		      "fixes the path length:\n"
		      "# SubordinateCACertificate_PathLen0 to PathLen3 are all "
		      "AWS offers.\n");
	if (pl != r->path_len)
		SUBCA__PUT(r, "# The requested %s is not among them: this uses "
			      "PathLen3, the closest (more restrictive).\n",
			   r->path_len < 0 ? "unlimited path length"
					   : "path length");
	if (!r->issuer_known)
		SUBCA__PUT(r, "# Use --signing-algorithm SHA256WITHRSA for an "
			      "RSA root.\n");
	SUBCA__PUT(r, ": \"${ROOT_CA_ARN:?set ROOT_CA_ARN to the ARN of your "
		      "root CA}\"\n");
	if (r->nc != NULL)
		SUBCA_TRY(subca__aws_passthrough(r));
	SUBCA__PUT(r, "CERT_ARN=$(aws acm-pca issue-certificate "
		      "--certificate-authority-arn \"$ROOT_CA_ARN\" \\\n"
		      "\t--csr fileb://%s --signing-algorithm %s \\\n"
		      "\t--template-arn arn:aws:acm-pca:::template/"
		      "SubordinateCACertificate_PathLen%ld%s/V1 \\\n",
		   c->csr_file, r->aws_alg, pl,
		   r->nc != NULL ? "_APIPassthrough" : "");
	if (r->nc != NULL)
		SUBCA__PUT(r, "\t--api-passthrough file://%s-aws-passthrough.json "
			      "\\\n",
			   c->authority);
	SUBCA__PUT(r, "\t--validity Value=%d,Type=DAYS --query CertificateArn "
		      "--output text)\n",
		   c->days);
	SUBCA__PUT(r, "aws acm-pca wait certificate-issued "
		      "--certificate-authority-arn \"$ROOT_CA_ARN\" \\\n"
		      "\t--certificate-arn \"$CERT_ARN\"\n"
		      "aws acm-pca get-certificate --certificate-authority-arn "
		      "\"$ROOT_CA_ARN\" \\\n"
		      "\t--certificate-arn \"$CERT_ARN\" --query Certificate "
		      "--output text > %s\n",
		   c->cert_file);
	return subca__import(r);
}

static subca_result subca__render(enum subca_tool tool, struct subca__render *r)
{
	switch (tool) {
	case SUBCA_TOOL_OPENSSL: return subca__render_openssl(r);
	case SUBCA_TOOL_OPENSSL_CA: return subca__render_openssl_ca(r);
	case SUBCA_TOOL_CFSSL: return subca__render_cfssl(r);
	case SUBCA_TOOL_CERTTOOL: return subca__render_certtool(r);
	case SUBCA_TOOL_STEP: return subca__render_step(r);
	case SUBCA_TOOL_VAULT: return subca__render_vault(r);
	case SUBCA_TOOL_ADCS: return subca__render_adcs(r);
	case SUBCA_TOOL_AWS_PCA: return subca__render_aws(r);
	case SUBCA_TOOL_SUBCA: return subca__render_subca(r);
	case SUBCA_TOOL__COUNT: break;
	}
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT, "unknown signing tool %d",
		   (int)tool);
}

subca_result subca_instructions_render(enum subca_tool tool,
				       const struct subca_instructions_ctx *ctx,
				       struct subca_buf *out)
{
	struct subca_csr_request req = {0};
	struct subca__render r;
	size_t len0 = out->len;
	subca_result rv;

	SUBCA_ENSURE((int)tool >= 0 && tool < SUBCA_TOOL__COUNT,
		     SUBCA_E_INVALID_ARGUMENT, "unknown signing tool %d",
		     (int)tool);
	SUBCA_TRY(subca__ctx_check(ctx));
	rv = subca__render_init(&r, ctx, out, &req);
	if (rv == SUBCA_OK)
		rv = subca__render(tool, &r);
	subca_csr_request_cleanup(&req);
	/* all or nothing: no half-written script on failure */
	if (rv != SUBCA_OK)
		out->len = len0;
	if (rv == SUBCA_OK)
		rv = subca_buf_terminate(out);
	return rv;
}
