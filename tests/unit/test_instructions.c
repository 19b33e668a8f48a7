/*
 * Unit tests of the signing instructions: the text of every tool's script,
 * and for the tools installed here (openssl, openssl ca, certtool, cfssl)
 * the script really run with sh, its certificate checked against the root.
 */
#include "helpers.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subca/csr.h"
#include "subca/instructions.h"
#include "subca/key.h"
#include "subca/limits.h"

#define TH_OUT_MAX (256u * 1024u)

struct th_fix {
	EVP_PKEY *root_key;
	X509 *root;
	EVP_PKEY *int_key;
	X509_REQ *csr;
	struct subca_buf out;
};

static const char *th_pdns[] = {"example.com", ".corp.example"};
static const char *th_xdns[] = {"secret.example.com"};
static const char *th_pip[] = {"10.0.0.0/8", "2001:db8::/32"};
static const char *th_xip[] = {"10.1.0.0/16"};
static const char *th_pmail[] = {".example.com"};

static void th_fix_init(struct th_fix *f, const char *root_type,
			const char *int_type, int path_len, bool nc)
{
	struct subca_intermediate_params p = {
		.cn = "Example Issuing CA",
		.org = "Example Inc",
		.country = "US",
		.path_len = path_len,
		.days = 365,
	};
	struct th_cert_opts o = {
		.subject = "/CN=Test Root/O=Example",
		.md = strcmp(root_type, "ed25519") == 0 ? NULL : "SHA256",
	};

	if (nc) {
		p.nc.permit_dns = (struct subca_names){th_pdns, 2};
		p.nc.exclude_dns = (struct subca_names){th_xdns, 1};
		p.nc.permit_ip = (struct subca_names){th_pip, 2};
		p.nc.exclude_ip = (struct subca_names){th_xip, 1};
		p.nc.permit_email = (struct subca_names){th_pmail, 1};
	}
	memset(f, 0, sizeof(*f));
	f->root_key = th_key(root_type);
	f->root = th_cert(&o, f->root_key, NULL, NULL);
	f->int_key = th_key(int_type);
	if (subca_csr_build(&p, f->int_key, &f->csr) != SUBCA_OK)
		fail_msg("csr_build: %s", subca_error_reason());
	subca_buf_init(&f->out, TH_OUT_MAX);
}

static void th_fix_cleanup(struct th_fix *f)
{
	subca_buf_cleanup(&f->out);
	X509_REQ_free(f->csr);
	EVP_PKEY_free(f->int_key);
	X509_free(f->root);
	EVP_PKEY_free(f->root_key);
}

static struct subca_instructions_ctx th_ctx(struct th_fix *f)
{
	struct subca_instructions_ctx c = {
		.authority = "myca",
		.csr = f->csr,
		.issuer = f->root,
		.csr_file = "myca.csr",
		.cert_file = "myca.crt",
		.root_cert_file = "root.crt",
		.root_key_file = "root.key",
		.days = 365,
	};
	return c;
}

/* Render `tool` for the fixture; returns the NUL-terminated script. */
static const char *th_render(struct th_fix *f, enum subca_tool tool)
{
	struct subca_instructions_ctx c = th_ctx(f);

	f->out.len = 0;
	if (subca_instructions_render(tool, &c, &f->out) != SUBCA_OK)
		fail_msg("render %s: %s", subca_tool_name(tool),
			 subca_error_reason());
	return (const char *)f->out.p;
}

#define th_has(text, needle)                                              \
	do {                                                              \
		if (strstr((text), (needle)) == NULL)                     \
			fail_msg("missing \"%s\" in:\n%s", (needle), (text)); \
	} while (0)
#define th_lacks(text, needle)                                            \
	do {                                                              \
		if (strstr((text), (needle)) != NULL)                     \
			fail_msg("unexpected \"%s\" in:\n%s", (needle), (text)); \
	} while (0)

static bool th_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- names and context --------------------------------------------------- */

static void test_tool_names_round_trip_and_unknown_is_refused(void **state)
{
	enum subca_tool t;

	for (int i = 0; i < SUBCA_TOOL__COUNT; i++) {
		assert_int_equal(subca_tool_parse(subca_tool_name((enum subca_tool)i),
						  &t),
				 SUBCA_OK);
		assert_int_equal(t, i);
	}
	th_assert_error(subca_tool_parse("easyrsa", &t), SUBCA_E_INVALID_ARGUMENT,
			"unknown signing tool \"easyrsa\"; valid tools: openssl, "
			"openssl-ca, cfssl, certtool, step, vault, adcs, "
			"aws-pca, subca");
	th_assert_error(subca_tool_parse(NULL, &t), SUBCA_E_INVALID_ARGUMENT,
			"no signing tool given");
	assert_string_equal(subca_tool_name(SUBCA_TOOL__COUNT), "unknown");
}

static void test_render_refuses_unsafe_context_and_leaves_buffer_alone(void **state)
{
	struct th_fix f;
	struct subca_instructions_ctx c;

	th_fix_init(&f, "ec-p256", "ec-p256", 0, false);
	assert_int_equal(subca_buf_append_str(&f.out, "keep"), SUBCA_OK);
	c = th_ctx(&f);
	c.cert_file = "my ca.crt";
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT,
			"the certificate file name may hold only letters");
	c = th_ctx(&f);
	c.root_key_file = "$(rm -rf ~).key";
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "the root key file name");
	c = th_ctx(&f);
	c.csr_file = "-in.csr";
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "not start with '-'");
	c = th_ctx(&f);
	c.root_cert_file = NULL;
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "no the root certificate file");
	c = th_ctx(&f);
	c.authority = "My_CA";
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "one DNS label");
	c = th_ctx(&f);
	c.days = 0;
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "a lifetime of 0 days");
	c.days = SUBCA_MAX_INTERMEDIATE_DAYS + 1;
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "7321 days");
	c = th_ctx(&f);
	c.csr = NULL;
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "no pending CSR");
	c = th_ctx(&f);
	th_assert_error(subca_instructions_render(SUBCA_TOOL__COUNT, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "unknown signing tool");
	assert_int_equal(f.out.len, 4);
	assert_memory_equal(f.out.p, "keep", 4);
	th_fix_cleanup(&f);
}

static void test_render_accepts_names_at_their_caps_and_refuses_one_more(void **state)
{
	struct th_fix f;
	struct subca_instructions_ctx c;
	char label[SUBCA_MAX_LABEL + 2], file[260];

	th_fix_init(&f, "ec-p256", "ec-p256", 0, false);
	memset(label, 'a', sizeof(label));
	label[SUBCA_MAX_LABEL] = '\0';
	c = th_ctx(&f);
	c.authority = label;
	assert_int_equal(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c,
						   &f.out),
			 SUBCA_OK);
	label[SUBCA_MAX_LABEL] = 'a';
	label[SUBCA_MAX_LABEL + 1] = '\0';
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT, "one DNS label");
	memset(file, 'f', sizeof(file));
	file[255] = '\0';
	c = th_ctx(&f);
	c.cert_file = file;
	assert_int_equal(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c,
						   &f.out),
			 SUBCA_OK);
	file[255] = 'f';
	file[256] = '\0';
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &f.out),
			SUBCA_E_INVALID_ARGUMENT,
			"the certificate file name must be 1 to 255 characters");
	th_fix_cleanup(&f);
}

static void test_render_too_large_output_leaves_buffer_unchanged(void **state)
{
	struct th_fix f;
	struct subca_instructions_ctx c;
	struct subca_buf small;

	th_fix_init(&f, "ec-p256", "ec-p256", 0, true);
	c = th_ctx(&f);
	subca_buf_init(&small, 512);
	assert_int_equal(subca_buf_append_str(&small, "x"), SUBCA_OK);
	th_assert_error(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c, &small),
			SUBCA_E_TOO_LARGE, "limit");
	assert_int_equal(small.len, 1);
	subca_buf_cleanup(&small);
	th_fix_cleanup(&f);
}

static void test_render_every_tool_is_a_script_ending_with_import(void **state)
{
	const char *roots[] = {"ec-p256", "ec-p384", "rsa-2048", "ed25519"};

	for (size_t i = 0; i < 4; i++) {
		struct th_fix f;

		th_fix_init(&f, roots[i], "ec-p256", 1, true);
		for (int t = 0; t < SUBCA_TOOL__COUNT; t++) {
			const char *s = th_render(&f, (enum subca_tool)t);

			assert_true(strncmp(s, "#!/bin/sh\n", 10) == 0);
			th_has(s, "set -eu\n");
			th_has(s, "subject C = US, O = Example Inc, CN = Example "
				  "Issuing CA");
			if (th_ends_with(s, "exit 1\n"))
				continue;
			assert_true(th_ends_with(
				s, "\nsubca intermediate import myca myca.crt\n"));
		}
		th_fix_cleanup(&f);
	}
}

/* ---- the text of each tool ------------------------------------------------ */

static void test_openssl_text_follows_path_length_and_constraints(void **state)
{
	struct th_fix f0, f2, fn;
	const char *s;

	th_fix_init(&f0, "ec-p256", "ec-p256", 0, true);
	th_fix_init(&f2, "ec-p384", "ec-p256", 2, false);
	th_fix_init(&fn, "ed25519", "ec-p256", -1, false);
	s = th_render(&f0, SUBCA_TOOL_OPENSSL);
	th_has(s, "cat > myca-ext.cnf <<'EOF'\n[v3_intermediate]\n"
		  "basicConstraints = critical,CA:true,pathlen:0\n"
		  "keyUsage = critical,digitalSignature,keyCertSign,cRLSign\n"
		  "subjectKeyIdentifier = hash\n"
		  "authorityKeyIdentifier = keyid:always\n");
	th_has(s, "nameConstraints = critical,permitted;DNS:example.com,"
		  "permitted;DNS:.corp.example,permitted;IP:10.0.0.0/255.0.0.0,"
		  "permitted;IP:2001:db8::/ffff:ffff::,permitted;email:.example.com,"
		  "excluded;DNS:secret.example.com,"
		  "excluded;IP:10.1.0.0/255.255.0.0\nEOF\n");
	th_has(s, "Without -extfile, `openssl x509 -req` issues an X.509 v1");
	th_has(s, "openssl x509 -req -in myca.csr -CA root.crt -CAkey root.key");
	th_has(s, "-set_serial 0x$(openssl rand -hex 16) -days 365 -sha256 \\\n"
		  "\t-extfile myca-ext.cnf -extensions v3_intermediate -out "
		  "myca.crt\n");
	th_has(s, "#   path length 0\n");
	th_has(s, "#     permit IP: 10.0.0.0/8, 2001:db8::/32\n");
	s = th_render(&f2, SUBCA_TOOL_OPENSSL);
	th_has(s, "basicConstraints = critical,CA:true,pathlen:2\n");
	th_has(s, " -days 365 -sha384 ");
	th_lacks(s, "nameConstraints");
	s = th_render(&fn, SUBCA_TOOL_OPENSSL);
	th_has(s, "basicConstraints = critical,CA:true\n");
	th_has(s, "#   no path length constraint\n");
	th_has(s, "-days 365 \\\n");
	th_lacks(s, "-sha");
	th_fix_cleanup(&f0);
	th_fix_cleanup(&f2);
	th_fix_cleanup(&fn);
}

static void test_openssl_text_names_root_without_ski_by_issuer(void **state)
{
	const struct th_ext exts[] = {{"basicConstraints", "critical,CA:TRUE"},
				      {"keyUsage", "critical,keyCertSign"},
				      {NULL, NULL}};
	struct th_cert_opts o = {.subject = "/CN=Old Root", .exts = exts};
	struct th_fix f;
	struct subca_instructions_ctx c;

	th_fix_init(&f, "ec-p256", "ec-p256", 0, false);
	X509_free(f.root);
	f.root = th_cert(&o, f.root_key, NULL, NULL);
	th_has(th_render(&f, SUBCA_TOOL_OPENSSL),
	       "authorityKeyIdentifier = keyid,issuer\n");
	/* no issuer known yet: SHA-256 with a note */
	c = th_ctx(&f);
	c.issuer = NULL;
	f.out.len = 0;
	assert_int_equal(subca_instructions_render(SUBCA_TOOL_OPENSSL, &c,
						   &f.out),
			 SUBCA_OK);
	th_has((char *)f.out.p, "The root is not known yet");
	th_has((char *)f.out.p, " -sha256 ");
	th_fix_cleanup(&f);
}

static void test_openssl_ca_text_is_batch_preserve_dn_without_copy(void **state)
{
	struct th_fix f, fe;
	const char *s;

	th_fix_init(&f, "rsa-2048", "ec-p256", 0, false);
	th_fix_init(&fe, "ed25519", "ec-p256", -1, false);
	s = th_render(&f, SUBCA_TOOL_OPENSSL_CA);
	th_has(s, "mkdir -p myca-ca/newcerts\ntouch myca-ca/index.txt\n");
	th_has(s, "openssl rand -hex 16 > myca-ca/serial\n");
	th_has(s, "certificate = root.crt\nprivate_key = root.key\n"
		  "default_md = sha256\n");
	th_has(s, "unique_subject = no\ncopy_extensions = none\n");
	th_has(s, "commonName = optional\n");
	th_has(s, "basicConstraints = critical,CA:true,pathlen:0\n");
	th_has(s, "openssl ca -batch -config myca-ca.cnf -preserveDN -notext "
		  "-days 365 \\\n\t-in myca.csr -out myca.crt -extensions "
		  "v3_intermediate\n");
	s = th_render(&fe, SUBCA_TOOL_OPENSSL_CA);
	th_has(s, "default_md = default\n");
	th_has(s, "basicConstraints = critical,CA:true\n");
	th_fix_cleanup(&f);
	th_fix_cleanup(&fe);
}

static void test_cfssl_text_sets_ca_constraint_for_each_path_length(void **state)
{
	struct th_fix f0, f2, fn, fe;
	const char *s;

	th_fix_init(&f0, "ec-p256", "ec-p256", 0, false);
	th_fix_init(&f2, "rsa-2048", "ec-p256", 2, true);
	th_fix_init(&fn, "ec-p256", "rsa-2048", -1, false);
	th_fix_init(&fe, "ec-p256", "ed25519", 0, false);
	s = th_render(&f0, SUBCA_TOOL_CFSSL);
	th_has(s, "\"usages\": [\"cert sign\", \"crl sign\", \"digital "
		  "signature\"],\n        \"expiry\": \"8760h\",\n");
	th_has(s, "\"ca_constraint\": {\"is_ca\": true, \"max_path_len\": 0, "
		  "\"max_path_len_zero\": true}\n");
	th_has(s, "silently drops path length 0 unless max_path_len_zero");
	th_has(s, "cfssl sign -ca root.crt -ca-key root.key -config "
		  "myca-cfssl.json \\\n\t-profile intermediate myca.csr | "
		  "cfssljson -bare myca-signed\nmv myca-signed.pem myca.crt\n");
	th_lacks(s, "cannot add name constraints");
	s = th_render(&f2, SUBCA_TOOL_CFSSL);
	th_has(s, "{\"is_ca\": true, \"max_path_len\": 2}\n");
	th_has(s, "CFSSL cannot add name constraints");
	th_has(s, "--accept-weaker");
	s = th_render(&fn, SUBCA_TOOL_CFSSL);
	th_has(s, "\"ca_constraint\": {\"is_ca\": true}\n");
	s = th_render(&fe, SUBCA_TOOL_CFSSL);
	th_has(s, "CFSSL cannot sign with or for Ed25519 keys.");
	assert_true(th_ends_with(s, "exit 1\n"));
	th_lacks(s, "cfssl sign -ca");
	th_fix_cleanup(&f0);
	th_fix_cleanup(&f2);
	th_fix_cleanup(&fn);
	th_fix_cleanup(&fe);
}

static void test_certtool_text_sets_template_fields(void **state)
{
	struct th_fix f0, fn;
	const char *s;

	th_fix_init(&f0, "ec-p384", "ec-p256", 0, true);
	th_fix_init(&fn, "ed25519", "ec-p256", -1, false);
	s = th_render(&f0, SUBCA_TOOL_CERTTOOL);
	th_has(s, "cat > myca-certtool.tmpl <<'EOF'\nca\npath_len = 0\n"
		  "cert_signing_key\ncrl_signing_key\nsigning_key\n"
		  "expiration_days = 365\n"
		  "nc_permit_dns = example.com\nnc_permit_dns = .corp.example\n"
		  "nc_exclude_dns = secret.example.com\n"
		  "nc_permit_ip = 10.0.0.0/8\nnc_permit_ip = 2001:db8::/32\n"
		  "nc_exclude_ip = 10.1.0.0/16\n"
		  "nc_permit_email = .example.com\nEOF\n");
	th_has(s, "certtool --generate-certificate --load-request myca.csr \\\n"
		  "\t--load-ca-certificate root.crt --load-ca-privkey root.key "
		  "\\\n\t--template myca-certtool.tmpl --hash sha384 --outfile "
		  "myca.crt\n");
	s = th_render(&fn, SUBCA_TOOL_CERTTOOL);
	th_lacks(s, "path_len =");
	th_lacks(s, "--hash");
	th_lacks(s, "nc_");
	th_fix_cleanup(&f0);
	th_fix_cleanup(&fn);
}

static void test_subca_step_and_vault_text(void **state)
{
	struct th_fix f2, fn;
	const char *s;

	th_fix_init(&f2, "ec-p256", "ec-p256", 2, true);
	th_fix_init(&fn, "ec-p256", "ec-p256", -1, false);
	s = th_render(&f2, SUBCA_TOOL_SUBCA);
	th_has(s, "subca sign-intermediate --root-cert root.crt --root-key "
		  "root.key \\\n\t--days 365 --path-len 2 myca.csr --out "
		  "myca.crt\n");
	s = th_render(&fn, SUBCA_TOOL_SUBCA);
	th_has(s, "--days 365 --no-path-len myca.csr --out myca.crt\n");

	s = th_render(&f2, SUBCA_TOOL_STEP);
	th_has(s, "\t\"subject\": {{ toJson .Subject }},\n");
	th_has(s, "\"basicConstraints\": {\"isCA\": true, \"maxPathLen\": 2},\n"
		  "\t\"nameConstraints\": {\n\t\t\"critical\": true,\n"
		  "\t\t\"permittedDNSDomains\": [\"example.com\", "
		  "\".corp.example\"],\n"
		  "\t\t\"excludedDNSDomains\": [\"secret.example.com\"],\n"
		  "\t\t\"permittedIPRanges\": [\"10.0.0.0/8\", \"2001:db8::/32\"],\n"
		  "\t\t\"excludedIPRanges\": [\"10.1.0.0/16\"],\n"
		  "\t\t\"permittedEmailAddresses\": [\".example.com\"]\n\t}\n}\n"
		  "EOF\n");
	th_has(s, "step certificate sign --template myca-step.tpl --not-after "
		  "8760h \\\n\tmyca.csr root.crt root.key > myca.crt\n");
	s = th_render(&fn, SUBCA_TOOL_STEP);
	th_has(s, "\"maxPathLen\": -1}\n}\nEOF\n");
	th_lacks(s, "nameConstraints\"");

	s = th_render(&f2, SUBCA_TOOL_VAULT);
	th_has(s, "vault write -format=json "
		  "\"${VAULT_PKI_MOUNT:-pki}/root/sign-intermediate\" \\\n"
		  "\tcsr=@myca.csr format=pem use_csr_values=true ttl=8760h \\\n"
		  "\tmax_path_length=2 permitted_dns_domains=example.com,"
		  ".corp.example > myca-vault.json\n"
		  "jq -r .data.certificate myca-vault.json > myca.crt\n");
	s = th_render(&fn, SUBCA_TOOL_VAULT);
	th_has(s, "max_path_length=-1 > myca-vault.json\n");
	th_fix_cleanup(&f2);
	th_fix_cleanup(&fn);
}

static void test_adcs_and_aws_text(void **state)
{
	struct th_fix f0, f5, fr, fe;
	const char *s;
	struct subca_csr_request req;
	unsigned char *der = NULL;
	char b64[2048];
	int n;

	th_fix_init(&f0, "ec-p384", "ec-p256", 0, true);
	th_fix_init(&f5, "ec-p256", "ec-p256", 5, false);
	th_fix_init(&fr, "rsa-2048", "rsa-2048", -1, false);
	th_fix_init(&fe, "ed25519", "ec-p256", 0, false);
	s = th_render(&f0, SUBCA_TOOL_ADCS);
	th_has(s, "certreq -submit -attrib \"CertificateTemplate:SubCA\" "
		  "myca.csr myca.crt\n");
	th_has(s, "CRLF");
	s = th_render(&fe, SUBCA_TOOL_ADCS);
	assert_true(th_ends_with(s, "exit 1\n"));

	s = th_render(&f0, SUBCA_TOOL_AWS_PCA);
	th_has(s, ": \"${ROOT_CA_ARN:?set ROOT_CA_ARN");
	th_has(s, "--csr fileb://myca.csr --signing-algorithm SHA384WITHECDSA");
	th_has(s, "template/SubordinateCACertificate_PathLen0_APIPassthrough/V1");
	th_has(s, "--api-passthrough file://myca-aws-passthrough.json");
	th_has(s, "--validity Value=365,Type=DAYS --query CertificateArn");
	th_has(s, "--query Certificate --output text > myca.crt\n");
	/* the passthrough carries the CSR's NameConstraints DER, base64 */
	assert_int_equal(subca_csr_requested(f0.csr, &req), SUBCA_OK);
	n = ASN1_item_i2d((ASN1_VALUE *)req.nc, &der,
			  ASN1_ITEM_rptr(NAME_CONSTRAINTS));
	assert_true(n > 0 && n < 1500);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	OPENSSL_free(der);
	subca_csr_request_cleanup(&req);
	th_has(s, "\"ObjectIdentifier\": \"2.5.29.30\", \"Critical\": true, "
		  "\"Value\": \"");
	th_has(s, b64);
	s = th_render(&f5, SUBCA_TOOL_AWS_PCA);
	th_has(s, "SubordinateCACertificate_PathLen3/V1");
	th_has(s, "The requested path length is not among them");
	th_has(s, "SHA256WITHECDSA");
	s = th_render(&fr, SUBCA_TOOL_AWS_PCA);
	th_has(s, "SubordinateCACertificate_PathLen3/V1");
	th_has(s, "unlimited path length");
	th_has(s, "--signing-algorithm SHA256WITHRSA");
	s = th_render(&fe, SUBCA_TOOL_AWS_PCA);
	assert_true(th_ends_with(s, "exit 1\n"));
	th_lacks(s, "issue-certificate");
	th_fix_cleanup(&f0);
	th_fix_cleanup(&f5);
	th_fix_cleanup(&fr);
	th_fix_cleanup(&fe);
}

/* ---- running the scripts ------------------------------------------------- */

static bool th_have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static void th_write(const char *dir, const char *name, const void *p,
		     size_t n)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void th_write_inputs(const char *dir, struct th_fix *f)
{
	SUBCA_BUF_AUTO struct subca_buf csr = {0};
	char *pem = th_pem(f->root);
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	static const char fake[] =
		"#!/bin/sh\necho \"$@\" > import.args\n";
	char bin[512];

	assert_int_equal(subca_pem_x509_req(f->csr, &csr), SUBCA_OK);
	th_write(dir, "myca.csr", csr.p, csr.len);
	th_write(dir, "root.crt", pem, strlen(pem));
	free(pem);
	assert_int_equal(PEM_write_bio_PrivateKey(b, f->root_key, NULL, NULL,
						  0, NULL, NULL),
			 1);
	n = BIO_get_mem_data(b, &data);
	th_write(dir, "root.key", data, (size_t)n);
	BIO_free(b);
	/* a fake `subca` records the import command */
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	assert_int_equal(mkdir(bin, 0700), 0);
	th_write(dir, "bin/subca", fake, sizeof(fake) - 1);
	snprintf(bin, sizeof(bin), "%s/bin/subca", dir);
	assert_int_equal(chmod(bin, 0700), 0);
}

static int th_run_script(const char *dir, const char *script)
{
	char cmd[1024];

	th_write(dir, "sign.sh", script, strlen(script));
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && PATH=\"$PWD/bin:$PATH\" sh sign.sh > sign.log "
		 "2>&1 </dev/null",
		 dir);
	return system(cmd);
}

static X509 *th_read_cert(const char *dir, const char *name)
{
	char path[512];
	FILE *fp;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	if (fp == NULL)
		return NULL;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return x;
}

static void th_dump_log(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "cat '%s/sign.log' >&2", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

static int th_verify_chain(X509 *root, X509 *x)
{
	SUBCA_AUTO(X509_STORE) X509_STORE *st = X509_STORE_new();
	SUBCA_AUTO(X509_STORE_CTX) X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	X509_STORE_add_cert(st, root);
	X509_STORE_CTX_init(ctx, st, x, NULL);
	/* the tools take notBefore from the wall clock: skip time checks */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT |
					      X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) == 1)
		return X509_V_OK;
	return X509_STORE_CTX_get_error(ctx);
}

static void th_check_name_constraints(X509 *x, X509_REQ *csr, bool want)
{
	struct subca_csr_request req;
	int crit = -1;
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *nc =
		X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);

	assert_int_equal(subca_csr_requested(csr, &req), SUBCA_OK);
	if (!want) {
		assert_null(nc);
	} else {
		assert_non_null(nc);
		assert_int_equal(crit, 1);
		assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees),
				 sk_GENERAL_SUBTREE_num(req.nc->permittedSubtrees));
		assert_int_equal(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees),
				 sk_GENERAL_SUBTREE_num(req.nc->excludedSubtrees));
		for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees);
		     i++) {
			GENERAL_SUBTREE *a =
				sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
			bool found = false;

			for (int j = 0;
			     j < sk_GENERAL_SUBTREE_num(req.nc->permittedSubtrees);
			     j++)
				found = found ||
					GENERAL_NAME_cmp(a->base,
							 sk_GENERAL_SUBTREE_value(
								 req.nc->permittedSubtrees,
								 j)->base) == 0;
			assert_true(found);
		}
	}
	subca_csr_request_cleanup(&req);
}

struct th_run {
	enum subca_tool tool;
	const char *root_type;
	const char *int_type;
	int path_len;
	bool nc;	   /* requested */
	bool nc_in_cert;   /* the tool can carry them */
	bool exact_subject;
};

static void th_run_tool(const struct th_run *run)
{
	struct th_fix f;
	char *dir = th_tmpdir();
	SUBCA_AUTO(X509) X509 *x = NULL;
	int crit = 0, rc;
	BASIC_CONSTRAINTS *bc;
	char args[256] = "";
	FILE *fp;
	char path[512];

	assert_non_null(dir);
	th_fix_init(&f, run->root_type, run->int_type, run->path_len, run->nc);
	th_write_inputs(dir, &f);
	rc = th_run_script(dir, th_render(&f, run->tool));
	if (rc != 0)
		th_dump_log(dir);
	assert_int_equal(rc, 0);
	x = th_read_cert(dir, "myca.crt");
	assert_non_null(x);
	assert_int_equal(X509_verify(x, f.root_key), 1);
	assert_int_equal(th_verify_chain(f.root, x), X509_V_OK);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(subca_key_public_equal(X509_get0_pubkey(x), f.int_key),
			 1);
	if (run->exact_subject) {
		unsigned char *a = NULL, *b = NULL;
		int la = i2d_X509_NAME(X509_get_subject_name(x), &a);
		int lb = i2d_X509_NAME(X509_REQ_get_subject_name(f.csr), &b);

		assert_int_equal(la, lb);
		assert_memory_equal(a, b, (size_t)la);
		OPENSSL_free(a);
		OPENSSL_free(b);
	} else {
		assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x),
					       X509_REQ_get_subject_name(f.csr)),
				 0);
	}
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_true(bc->ca);
	if (run->path_len < 0)
		assert_null(bc->pathlen);
	else
		assert_int_equal(ASN1_INTEGER_get(bc->pathlen), run->path_len);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(x) & KU_CRL_SIGN);
	th_check_name_constraints(x, f.csr, run->nc && run->nc_in_cert);
	/* the import line ran last, with the authority and the file */
	snprintf(path, sizeof(path), "%s/import.args", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(args, sizeof(args), fp));
	fclose(fp);
	assert_string_equal(args, "intermediate import myca myca.crt\n");
	th_fix_cleanup(&f);
	th_rmrf(dir);
	free(dir);
}

static void test_openssl_script_runs_and_makes_a_valid_ca(void **state)
{
	const struct th_run runs[] = {
		{SUBCA_TOOL_OPENSSL, "ec-p256", "ec-p256", 0, true, true, true},
		{SUBCA_TOOL_OPENSSL, "rsa-2048", "rsa-2048", 2, false, false, true},
		{SUBCA_TOOL_OPENSSL, "ed25519", "ed25519", -1, true, true, true},
		{SUBCA_TOOL_OPENSSL, "ec-p384", "ec-p256", 1, false, false, true},
	};

	if (!th_have("openssl"))
		skip();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		th_run_tool(&runs[i]);
}

static void test_openssl_ca_script_runs_and_makes_a_valid_ca(void **state)
{
	const struct th_run runs[] = {
		{SUBCA_TOOL_OPENSSL_CA, "ec-p256", "ec-p256", 0, true, true, true},
		{SUBCA_TOOL_OPENSSL_CA, "rsa-2048", "ec-p384", -1, false, false,
		 true},
		{SUBCA_TOOL_OPENSSL_CA, "ed25519", "rsa-2048", 3, true, true, true},
	};

	if (!th_have("openssl"))
		skip();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		th_run_tool(&runs[i]);
}

static void test_certtool_script_runs_and_makes_a_valid_ca(void **state)
{
	const struct th_run runs[] = {
		{SUBCA_TOOL_CERTTOOL, "ec-p256", "ec-p256", 0, true, true, true},
		{SUBCA_TOOL_CERTTOOL, "rsa-2048", "rsa-2048", 2, true, true, true},
		{SUBCA_TOOL_CERTTOOL, "ed25519", "ed25519", -1, false, false, true},
		{SUBCA_TOOL_CERTTOOL, "ec-p384", "ec-p256", 1, false, false, true},
	};

	if (!th_have("certtool"))
		skip();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		th_run_tool(&runs[i]);
}

static void test_cfssl_script_runs_and_makes_a_valid_ca(void **state)
{
	/* CFSSL re-encodes the subject and cannot add name constraints */
	const struct th_run runs[] = {
		{SUBCA_TOOL_CFSSL, "ec-p256", "ec-p256", 0, false, false, false},
		{SUBCA_TOOL_CFSSL, "rsa-2048", "rsa-2048", 2, false, false, false},
		{SUBCA_TOOL_CFSSL, "ec-p256", "ec-p256", -1, true, false, false},
	};

	if (!th_have("cfssl") || !th_have("cfssljson"))
		skip();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		th_run_tool(&runs[i]);
}

static void test_cfssl_script_for_ed25519_stops_with_a_reason(void **state)
{
	struct th_fix f;
	char *dir = th_tmpdir();
	char path[512];

	th_fix_init(&f, "ed25519", "ec-p256", 0, false);
	th_write_inputs(dir, &f);
	assert_true(th_run_script(dir, th_render(&f, SUBCA_TOOL_CFSSL)) != 0);
	snprintf(path, sizeof(path), "%s/myca.crt", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/import.args", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	th_fix_cleanup(&f);
	th_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tool_names_round_trip_and_unknown_is_refused),
		cmocka_unit_test(test_render_refuses_unsafe_context_and_leaves_buffer_alone),
		cmocka_unit_test(test_render_accepts_names_at_their_caps_and_refuses_one_more),
		cmocka_unit_test(test_render_too_large_output_leaves_buffer_unchanged),
		cmocka_unit_test(test_render_every_tool_is_a_script_ending_with_import),
		cmocka_unit_test(test_openssl_text_follows_path_length_and_constraints),
		cmocka_unit_test(test_openssl_text_names_root_without_ski_by_issuer),
		cmocka_unit_test(test_openssl_ca_text_is_batch_preserve_dn_without_copy),
		cmocka_unit_test(test_cfssl_text_sets_ca_constraint_for_each_path_length),
		cmocka_unit_test(test_certtool_text_sets_template_fields),
		cmocka_unit_test(test_subca_step_and_vault_text),
		cmocka_unit_test(test_adcs_and_aws_text),
		cmocka_unit_test(test_openssl_script_runs_and_makes_a_valid_ca),
		cmocka_unit_test(test_openssl_ca_script_runs_and_makes_a_valid_ca),
		cmocka_unit_test(test_certtool_script_runs_and_makes_a_valid_ca),
		cmocka_unit_test(test_cfssl_script_runs_and_makes_a_valid_ca),
		cmocka_unit_test(test_cfssl_script_for_ed25519_stops_with_a_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
