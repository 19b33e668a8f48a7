/* Unit tests of the intermediate CSR: validation, subject, extensions. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subca/csr.h"
#include "subca/key.h"
#include "subca/limits.h"

static struct subca_intermediate_params th_params(void)
{
	struct subca_intermediate_params p = {
		.cn = "Example Issuing CA",
		.path_len = 0,
		.days = 365,
	};
	return p;
}

static X509_REQ *th_csr_ok(const struct subca_intermediate_params *p,
			   EVP_PKEY *key)
{
	X509_REQ *req = NULL;

	if (subca_csr_build(p, key, &req) != SUBCA_OK)
		fail_msg("csr_build: %s", subca_error_reason());
	assert_non_null(req);
	return req;
}

static subca_result th_build(const struct subca_intermediate_params *p)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
	subca_result rv = subca_csr_build(p, key, &req);

	assert_true((rv == SUBCA_OK) == (req != NULL));
	return rv;
}

static X509_EXTENSION *th_req_ext(STACK_OF(X509_EXTENSION) *exts, int nid)
{
	int i = X509v3_get_ext_by_NID(exts, nid, -1);

	return i < 0 ? NULL : sk_X509_EXTENSION_value(exts, i);
}

/* ---- subject ----------------------------------------------------------- */

static void test_csr_build_orders_subject_and_encodes_strings(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = th_key("ec-p256");
	struct subca_intermediate_params p = th_params();
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
	X509_NAME *n;
	const int want[] = {NID_countryName,	     NID_stateOrProvinceName,
			    NID_localityName,	     NID_organizationName,
			    NID_organizationalUnitName, NID_commonName};

	p.country = "DE";
	p.state = "Bayern";
	p.locality = "München";
	p.org = "Example GmbH";
	p.ou = "PKI";
	req = th_csr_ok(&p, key);
	n = X509_REQ_get_subject_name(req);
	assert_int_equal(X509_NAME_entry_count(n), 6);
	for (int i = 0; i < 6; i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);

		assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)),
				 want[i]);
		assert_int_equal(ASN1_STRING_type(v),
				 i == 0 ? V_ASN1_PRINTABLESTRING
					: V_ASN1_UTF8STRING);
	}
	assert_memory_equal(
		ASN1_STRING_get0_data(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 2))),
		"München", strlen("München"));
	assert_int_equal(X509_REQ_get_version(req), X509_REQ_VERSION_1);
}

static void test_csr_build_requires_common_name(void **state)
{
	struct subca_intermediate_params p = th_params();

	p.cn = NULL;
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"common name is required");
	p.cn = "";
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"common name is empty");
}

static void test_csr_build_limits_common_name_to_64_characters(void **state)
{
	struct subca_intermediate_params p = th_params();
	char cn[66];

	memset(cn, 'a', 64);
	cn[64] = '\0';
	p.cn = cn;
	assert_int_equal(th_build(&p), SUBCA_OK);
	cn[64] = 'a';
	cn[65] = '\0';
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"common name has 65 characters; at most 64 allowed");
}

static void test_csr_build_limits_values_to_max_bytes(void **state)
{
	struct subca_intermediate_params p = th_params();
	char loc[SUBCA_MAX_DN_VALUE + 2];

	/* 64 four-byte characters: 256 bytes, well under 128 characters */
	for (int i = 0; i < 64; i++)
		memcpy(loc + 4 * i, "\xf0\x9f\x94\x92", 4);
	loc[SUBCA_MAX_DN_VALUE] = '\0';
	p.locality = loc;
	assert_int_equal(th_build(&p), SUBCA_OK);
	loc[SUBCA_MAX_DN_VALUE] = 'x';
	loc[SUBCA_MAX_DN_VALUE + 1] = '\0';
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"locality is longer than 256 bytes");
}

static void test_csr_build_refuses_control_characters_and_bad_utf8(void **state)
{
	struct subca_intermediate_params p = th_params();

	p.org = "Example\nInc";
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"organization contains the control character U+000A");
	p.org = "Example\x7f";
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"organization contains the control character U+007F");
	p.org = "Example\xc2\x85";
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"organization contains the control character U+0085");
	p.org = "Example\xff";
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"organization is not valid UTF-8 (at byte 7)");
	p.org = NULL;
	p.ou = "";
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"organizational unit is empty");
	p.ou = NULL;
	p.state = "\t";
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"state contains the control character U+0009");
}

static void test_csr_build_requires_two_letter_country(void **state)
{
	struct subca_intermediate_params p = th_params();
	const char *bad[] = {"us", "USA", "U", "U1", "", ("\xc3\x9c" "S")};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.country = bad[i];
		th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
				"must be two upper-case letters A-Z");
	}
	p.country = "us";
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"country \"us\" must be");
	p.country = "US";
	assert_int_equal(th_build(&p), SUBCA_OK);
}

/* ---- path length and days --------------------------------------------- */

static void test_csr_build_validates_path_length_range(void **state)
{
	struct subca_intermediate_params p = th_params();

	p.path_len = SUBCA_MAX_PATHLEN;
	assert_int_equal(th_build(&p), SUBCA_OK);
	p.path_len = SUBCA_MAX_PATHLEN + 1;
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"path length 17 is out of range; use 0 to 16, or -1");
	p.path_len = -2;
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"path length -2 is out of range");
}

static void test_csr_build_validates_days_range(void **state)
{
	struct subca_intermediate_params p = th_params();

	p.days = SUBCA_MAX_INTERMEDIATE_DAYS;
	assert_int_equal(th_build(&p), SUBCA_OK);
	p.days = SUBCA_MAX_INTERMEDIATE_DAYS + 1;
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"lifetime of 7321 days is out of range; use 1 to 7320");
	p.days = -1;
	th_assert_error(th_build(&p), SUBCA_E_INVALID_ARGUMENT,
			"lifetime of -1 days");
}

static void test_csr_build_refuses_weak_key_and_missing_args(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *weak = th_key("rsa-1024");
	struct subca_intermediate_params p = th_params();
	X509_REQ *req = (X509_REQ *)1;

	th_assert_error(subca_csr_build(&p, weak, &req), SUBCA_E_WEAK_KEY,
			"intermediate key is RSA-1024");
	assert_null(req);
	th_assert_error(subca_csr_build(NULL, weak, &req),
			SUBCA_E_INVALID_ARGUMENT, "missing parameters or key");
	th_assert_error(subca_csr_build(&p, NULL, &req),
			SUBCA_E_INVALID_ARGUMENT, "missing parameters or key");
}

/* ---- extensions -------------------------------------------------------- */

static void th_check_ca_exts(X509_REQ *req, long want_pathlen)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	X509_EXTENSION *bce = th_req_ext(exts, NID_basic_constraints);
	X509_EXTENSION *kue = th_req_ext(exts, NID_key_usage);
	BASIC_CONSTRAINTS *bc = X509V3_get_d2i(exts, NID_basic_constraints,
					       NULL, NULL);
	ASN1_BIT_STRING *ku = X509V3_get_d2i(exts, NID_key_usage, NULL, NULL);

	assert_non_null(bce);
	assert_non_null(kue);
	assert_true(X509_EXTENSION_get_critical(bce));
	assert_true(X509_EXTENSION_get_critical(kue));
	assert_int_equal(bc->ca, 0xFF);
	if (want_pathlen < 0)
		assert_null(bc->pathlen);
	else
		assert_int_equal(ASN1_INTEGER_get(bc->pathlen), want_pathlen);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 0));
	assert_false(ASN1_BIT_STRING_get_bit(ku, 1));
	assert_true(ASN1_BIT_STRING_get_bit(ku, 5));
	assert_true(ASN1_BIT_STRING_get_bit(ku, 6));
	assert_false(ASN1_BIT_STRING_get_bit(ku, 2));
	assert_null(th_req_ext(exts, NID_subject_key_identifier));
	assert_null(th_req_ext(exts, NID_name_constraints));
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static void test_csr_build_requests_critical_ca_extensions_for_each_pathlen(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = th_key("ec-p256");
	const int lens[] = {-1, 0, 3};

	for (size_t i = 0; i < 3; i++) {
		struct subca_intermediate_params p = th_params();
		SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
		struct subca_csr_request r;

		p.path_len = lens[i];
		req = th_csr_ok(&p, key);
		th_check_ca_exts(req, lens[i]);
		assert_int_equal(subca_csr_requested(req, &r), SUBCA_OK);
		assert_true(r.has_basic_constraints);
		assert_true(r.ca);
		assert_int_equal(r.path_len, lens[i]);
		assert_null(r.nc);
		subca_csr_request_cleanup(&r);
	}
}

static void test_csr_build_signs_with_every_key_type(void **state)
{
	for (int t = 0; t < SUBCA_KEY__COUNT; t++) {
		SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
		SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
		struct subca_intermediate_params p = th_params();

		assert_int_equal(subca_key_generate((enum subca_key_type)t, &key),
				 SUBCA_OK);
		req = th_csr_ok(&p, key);
		assert_int_equal(X509_REQ_verify(req, key), 1);
		assert_int_equal(
			subca_key_public_equal(X509_REQ_get0_pubkey(req), key), 1);
	}
}

static NAME_CONSTRAINTS *th_nc_from_req(X509_REQ *req, int *crit)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	X509_EXTENSION *e = th_req_ext(exts, NID_name_constraints);
	NAME_CONSTRAINTS *nc = X509V3_get_d2i(exts, NID_name_constraints, NULL,
					      NULL);

	*crit = e ? X509_EXTENSION_get_critical(e) : -1;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return nc;
}

static void test_csr_build_encodes_name_constraints_critical(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = th_key("ec-p256");
	struct subca_intermediate_params p = th_params();
	const char *pdns[] = {"example.com", ".corp.example"};
	const char *xdns[] = {"secret.example.com"};
	const char *pip[] = {"10.0.0.0/8", "2001:db8::/32"};
	const char *xip[] = {"10.1.0.0/16"};
	const char *pmail[] = {"example.com", ".example.com", "pki@example.com"};
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *nc = NULL;
	struct subca_csr_request r;
	GENERAL_SUBTREE *st;
	int crit = 0;
	unsigned char *a = NULL, *b = NULL;
	int alen, blen;

	p.nc.permit_dns = (struct subca_names){pdns, 2};
	p.nc.exclude_dns = (struct subca_names){xdns, 1};
	p.nc.permit_ip = (struct subca_names){pip, 2};
	p.nc.exclude_ip = (struct subca_names){xip, 1};
	p.nc.permit_email = (struct subca_names){pmail, 3};
	req = th_csr_ok(&p, key);
	nc = th_nc_from_req(req, &crit);
	assert_non_null(nc);
	assert_int_equal(crit, 1);
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 7);
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees), 2);
	st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 1);
	assert_int_equal(st->base->type, GEN_DNS);
	assert_string_equal(ASN1_STRING_get0_data(st->base->d.dNSName),
			    ".corp.example");
	assert_null(st->minimum);
	assert_null(st->maximum);
	st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 6);
	assert_int_equal(st->base->type, GEN_EMAIL);
	assert_string_equal(ASN1_STRING_get0_data(st->base->d.rfc822Name),
			    "pki@example.com");
	/* read back through subca_csr_requested: same encoding */
	assert_int_equal(subca_csr_requested(req, &r), SUBCA_OK);
	assert_non_null(r.nc);
	alen = ASN1_item_i2d((ASN1_VALUE *)nc, &a, ASN1_ITEM_rptr(NAME_CONSTRAINTS));
	blen = ASN1_item_i2d((ASN1_VALUE *)r.nc, &b,
			     ASN1_ITEM_rptr(NAME_CONSTRAINTS));
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, (size_t)alen);
	OPENSSL_free(a);
	OPENSSL_free(b);
	subca_csr_request_cleanup(&r);
	assert_null(r.nc);
}

static void th_assert_ip(const char *cidr, const unsigned char *want,
			 int wantlen)
{
	const char *v[] = {cidr};
	struct subca_name_constraints nc = {.permit_ip = {v, 1}};
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *out = NULL;
	GENERAL_SUBTREE *st;

	if (subca_name_constraints_build(&nc, &out) != SUBCA_OK)
		fail_msg("%s: %s", cidr, subca_error_reason());
	st = sk_GENERAL_SUBTREE_value(out->permittedSubtrees, 0);
	assert_int_equal(st->base->type, GEN_IPADD);
	assert_int_equal(ASN1_STRING_length(st->base->d.iPAddress), wantlen);
	assert_memory_equal(ASN1_STRING_get0_data(st->base->d.iPAddress), want,
			    (size_t)wantlen);
}

static void test_name_constraints_encode_ip_ranges_as_address_and_mask(void **state)
{
	const unsigned char v4[8] = {10, 0, 0, 0, 255, 0, 0, 0};
	const unsigned char v4b[8] = {192, 168, 32, 0, 255, 255, 224, 0};
	const unsigned char v4host[8] = {192, 0, 2, 1, 255, 255, 255, 255};
	const unsigned char v4all[8] = {0};
	unsigned char v6[32] = {0x20, 0x01, 0x0d, 0xb8};
	unsigned char v6b[32] = {0xfd, 0x00, 0, 0, 0, 0, 0, 0x80};

	memset(v6 + 16, 0xff, 4);
	memset(v6b + 16, 0xff, 7);
	v6b[23] = 0x80;
	th_assert_ip("10.0.0.0/8", v4, 8);
	th_assert_ip("192.168.32.0/19", v4b, 8);
	th_assert_ip("192.0.2.1/32", v4host, 8);
	th_assert_ip("0.0.0.0/0", v4all, 8);
	th_assert_ip("2001:db8::/32", v6, 32);
	th_assert_ip("fd00:0:0:80::/57", v6b, 32);
}

static subca_result th_nc_one(int which, const char *value)
{
	const char *v[] = {value};
	struct subca_name_constraints nc = {0};
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *out = NULL;
	struct subca_names *lists[] = {&nc.permit_dns, &nc.exclude_dns,
				       &nc.permit_ip,  &nc.exclude_ip,
				       &nc.permit_email, &nc.exclude_email};

	*lists[which] = (struct subca_names){v, 1};
	return subca_name_constraints_build(&nc, &out);
}

static void test_name_constraints_refuse_host_bits_and_bad_cidr(void **state)
{
	th_assert_error(th_nc_one(2, "10.0.0.1/8"), SUBCA_E_BAD_NAME,
			"permitted IP constraint \"10.0.0.1/8\" has host bits "
			"set after the /8 prefix");
	th_assert_error(th_nc_one(3, "2001:db8::1/64"), SUBCA_E_BAD_NAME,
			"excluded IP constraint \"2001:db8::1/64\" has host bits");
	th_assert_error(th_nc_one(2, "10.0.0.0"), SUBCA_E_BAD_NAME,
			"\"10.0.0.0\" needs a prefix length, e.g. 10.0.0.0/8");
	th_assert_error(th_nc_one(2, "10.0.0.0/33"), SUBCA_E_BAD_NAME,
			"the prefix length must be 0 to 32");
	th_assert_error(th_nc_one(2, "2001:db8::/129"), SUBCA_E_BAD_NAME,
			"the prefix length must be 0 to 128");
	th_assert_error(th_nc_one(2, "10.0.0.0/"), SUBCA_E_BAD_NAME,
			"prefix length must be");
	th_assert_error(th_nc_one(2, "10.0.0.0/-8"), SUBCA_E_BAD_NAME,
			"prefix length must be");
	th_assert_error(th_nc_one(2, "10.0.0.0/1000"), SUBCA_E_BAD_NAME,
			"prefix length must be");
	th_assert_error(th_nc_one(2, "10.0.0/8"), SUBCA_E_BAD_NAME,
			"is not an IPv4 address range");
	th_assert_error(th_nc_one(2, "/8"), SUBCA_E_BAD_NAME,
			"is not an IP address range");
	th_assert_error(th_nc_one(2, "example.com/8"), SUBCA_E_BAD_NAME,
			"is not an IPv4 address range");
	th_assert_error(th_nc_one(2, "2001:db8::g/32"), SUBCA_E_BAD_NAME,
			"is not an IPv6 address range");
}

static void test_name_constraints_validate_dns_names(void **state)
{
	char label[80], longname[300];

	assert_int_equal(th_nc_one(0, "example.com"), SUBCA_OK);
	assert_int_equal(th_nc_one(1, ".example.com"), SUBCA_OK);
	assert_int_equal(th_nc_one(0, "corp"), SUBCA_OK);
	assert_int_equal(th_nc_one(0, "xn--bcher-kva.example"), SUBCA_OK);
	th_assert_error(th_nc_one(0, "*.example.com"), SUBCA_E_BAD_NAME,
			"permitted DNS constraint \"*.example.com\": wildcards "
			"are not allowed");
	th_assert_error(th_nc_one(1, "exa mple.com"), SUBCA_E_BAD_NAME,
			"excluded DNS constraint \"exa mple.com\" is not a valid "
			"domain name");
	th_assert_error(th_nc_one(0, "-a.example.com"), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	th_assert_error(th_nc_one(0, "a-.example.com"), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	th_assert_error(th_nc_one(0, "example.com."), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	th_assert_error(th_nc_one(0, "example..com"), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	th_assert_error(th_nc_one(0, "..example.com"), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	th_assert_error(th_nc_one(0, "."), SUBCA_E_BAD_NAME,
			"must be a domain name of 1 to 253 characters");
	th_assert_error(th_nc_one(0, ""), SUBCA_E_BAD_NAME,
			"must be a domain name");
	th_assert_error(th_nc_one(0, "ex\nample.com"), SUBCA_E_BAD_NAME,
			"\"ex?ample.com\" is not a valid");
	th_assert_error(th_nc_one(0, "under_score.com"), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	/* a label of 63 characters is the limit */
	memset(label, 'a', 63);
	strcpy(label + 63, ".com");
	assert_int_equal(th_nc_one(0, label), SUBCA_OK);
	memset(label, 'a', 64);
	strcpy(label + 64, ".com");
	th_assert_error(th_nc_one(0, label), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	/* 253 characters in all is the limit: 4 labels of 61 + 3 dots + "b" */
	memset(longname, 'a', sizeof(longname));
	for (int i = 61; i < 250; i += 62)
		longname[i] = '.';
	longname[253] = '\0';
	assert_int_equal(th_nc_one(0, longname), SUBCA_OK);
	longname[253] = 'a';
	longname[254] = '\0';
	th_assert_error(th_nc_one(0, longname), SUBCA_E_BAD_NAME,
			"must be a domain name of 1 to 253 characters");
}

static void test_name_constraints_validate_email_forms(void **state)
{
	assert_int_equal(th_nc_one(4, "example.com"), SUBCA_OK);
	assert_int_equal(th_nc_one(4, ".example.com"), SUBCA_OK);
	assert_int_equal(th_nc_one(5, "first.last+tag@example.com"), SUBCA_OK);
	th_assert_error(th_nc_one(4, "@example.com"), SUBCA_E_BAD_NAME,
			"permitted email constraint \"@example.com\": the part "
			"before @ must be 1 to 64");
	th_assert_error(th_nc_one(5, "us er@example.com"), SUBCA_E_BAD_NAME,
			"excluded email constraint \"us er@example.com\": the "
			"part before @ may hold only");
	th_assert_error(th_nc_one(4, "user@.example.com"), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	th_assert_error(th_nc_one(4, "a@b@example.com"), SUBCA_E_BAD_NAME,
			"is not a valid domain name");
	th_assert_error(th_nc_one(4, "*@example.com"), SUBCA_E_BAD_NAME,
			"the part before @ may hold only");
	th_assert_error(th_nc_one(4, "user@*.example.com"), SUBCA_E_BAD_NAME,
			"wildcards are not allowed");
}

static void test_name_constraints_allow_max_names_and_refuse_one_more(void **state)
{
	const char *v[SUBCA_MAX_NAMES + 1];
	char names[SUBCA_MAX_NAMES + 1][32];
	struct subca_name_constraints nc = {0};
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *out = NULL;
	NAME_CONSTRAINTS *none = (NAME_CONSTRAINTS *)1;

	for (int i = 0; i <= SUBCA_MAX_NAMES; i++) {
		snprintf(names[i], sizeof(names[i]), "n%d.example.com", i);
		v[i] = names[i];
	}
	nc.exclude_dns = (struct subca_names){v, SUBCA_MAX_NAMES};
	assert_int_equal(subca_name_constraints_build(&nc, &out), SUBCA_OK);
	assert_int_equal(sk_GENERAL_SUBTREE_num(out->excludedSubtrees),
			 SUBCA_MAX_NAMES);
	nc.exclude_dns.n = SUBCA_MAX_NAMES + 1;
	th_assert_error(subca_name_constraints_build(&nc, &none),
			SUBCA_E_TOO_LARGE,
			"65 excluded DNS constraint entries; at most 64 allowed");
	assert_null(none);
}

static void test_name_constraints_empty_builds_nothing(void **state)
{
	struct subca_name_constraints nc = {0};
	NAME_CONSTRAINTS *out = (NAME_CONSTRAINTS *)1;
	const char *nul[] = {NULL};

	assert_int_equal(subca_name_constraints_build(&nc, &out), SUBCA_OK);
	assert_null(out);
	nc.permit_dns = (struct subca_names){nul, 1};
	th_assert_error(subca_name_constraints_build(&nc, &out),
			SUBCA_E_INVALID_ARGUMENT,
			"permitted DNS constraint: missing value");
	nc.permit_dns = (struct subca_names){NULL, 2};
	th_assert_error(subca_name_constraints_build(&nc, &out),
			SUBCA_E_INVALID_ARGUMENT, "list missing");
}

/* ---- reading requests back -------------------------------------------- */

static X509_REQ *th_req_with_exts(const struct th_ext *exts, EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	X509_NAME *n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)"x", -1, -1, 0);
	X509_REQ_set_subject_name(req, n);
	X509_NAME_free(n);
	X509_REQ_set_pubkey(req, key);
	for (const struct th_ext *e = exts; e && e->name; e++)
		sk_X509_EXTENSION_push(sk, X509V3_EXT_conf(NULL, NULL, e->name,
							  e->value));
	if (sk_X509_EXTENSION_num(sk) > 0)
		X509_REQ_add_extensions(req, sk);
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	X509_REQ_sign(req, key, EVP_sha256());
	return req;
}

static void test_csr_requested_reports_nothing_for_plain_csr(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = th_key("ec-p256");
	SUBCA_AUTO(X509_REQ) X509_REQ *req = th_req_with_exts(NULL, key);
	struct subca_csr_request r;

	assert_int_equal(subca_csr_requested(req, &r), SUBCA_OK);
	assert_false(r.has_basic_constraints);
	assert_false(r.ca);
	assert_int_equal(r.path_len, -1);
	assert_null(r.nc);
	subca_csr_request_cleanup(&r);
	th_assert_error(subca_csr_requested(NULL, &r), SUBCA_E_INVALID_ARGUMENT,
			"no CSR given");
}

static void test_csr_requested_reads_foreign_ca_false(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = th_key("ec-p256");
	const struct th_ext exts[] = {{"basicConstraints", "CA:FALSE"},
				      {NULL, NULL}};
	SUBCA_AUTO(X509_REQ) X509_REQ *req = th_req_with_exts(exts, key);
	struct subca_csr_request r;

	assert_int_equal(subca_csr_requested(req, &r), SUBCA_OK);
	assert_true(r.has_basic_constraints);
	assert_false(r.ca);
	assert_int_equal(r.path_len, -1);
	subca_csr_request_cleanup(&r);
}

static void test_csr_requested_refuses_duplicate_extensions(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = th_key("ec-p256");
	const struct th_ext bc2[] = {{"basicConstraints", "critical,CA:TRUE"},
				     {"basicConstraints", "CA:TRUE,pathlen:1"},
				     {NULL, NULL}};
	const struct th_ext nc2[] = {
		{"nameConstraints", "critical,permitted;DNS:a.example"},
		{"nameConstraints", "critical,permitted;DNS:b.example"},
		{NULL, NULL}};
	SUBCA_AUTO(X509_REQ) X509_REQ *a = th_req_with_exts(bc2, key);
	SUBCA_AUTO(X509_REQ) X509_REQ *b = th_req_with_exts(nc2, key);
	struct subca_csr_request r;

	th_assert_error(subca_csr_requested(a, &r), SUBCA_E_BAD_CSR,
			"requests basicConstraints more than once");
	assert_null(r.nc);
	th_assert_error(subca_csr_requested(b, &r), SUBCA_E_BAD_CSR,
			"requests nameConstraints more than once");
	assert_null(r.nc);
}

/* Truncations and bit flips of a CSR never crash the reader. */
static void test_csr_requested_survives_truncations_and_bit_flips(void **state)
{
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = th_key("ec-p256");
	struct subca_intermediate_params p = th_params();
	const char *dns[] = {"example.com"};
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
	unsigned char *der = NULL;
	int len;
	size_t ok = 0;

	p.path_len = 2;
	p.nc.permit_dns = (struct subca_names){dns, 1};
	req = th_csr_ok(&p, key);
	len = i2d_X509_REQ(req, &der);
	assert_true(len > 0);
	for (int i = 0; i < len * 8 + len; i++) {
		unsigned char *m = malloc((size_t)len);
		size_t mlen = (size_t)len;
		void *obj = NULL;

		memcpy(m, der, (size_t)len);
		if (i < len * 8)
			m[i / 8] ^= (unsigned char)(1u << (i % 8));
		else
			mlen = (size_t)(i - len * 8);
		if (subca_der_decode(SUBCA_DER_X509_REQ, subca_slice_of(m, mlen),
				     &obj) == SUBCA_OK) {
			struct subca_csr_request r;

			if (subca_csr_requested(obj, &r) == SUBCA_OK) {
				ok++;
				subca_csr_request_cleanup(&r);
			}
			X509_REQ_free(obj);
		}
		free(m);
	}
	/* many flips land in the signature or key and still read fine */
	assert_true(ok > 0);
	OPENSSL_free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_build_orders_subject_and_encodes_strings),
		cmocka_unit_test(test_csr_build_requires_common_name),
		cmocka_unit_test(test_csr_build_limits_common_name_to_64_characters),
		cmocka_unit_test(test_csr_build_limits_values_to_max_bytes),
		cmocka_unit_test(test_csr_build_refuses_control_characters_and_bad_utf8),
		cmocka_unit_test(test_csr_build_requires_two_letter_country),
		cmocka_unit_test(test_csr_build_validates_path_length_range),
		cmocka_unit_test(test_csr_build_validates_days_range),
		cmocka_unit_test(test_csr_build_refuses_weak_key_and_missing_args),
		cmocka_unit_test(test_csr_build_requests_critical_ca_extensions_for_each_pathlen),
		cmocka_unit_test(test_csr_build_signs_with_every_key_type),
		cmocka_unit_test(test_csr_build_encodes_name_constraints_critical),
		cmocka_unit_test(test_name_constraints_encode_ip_ranges_as_address_and_mask),
		cmocka_unit_test(test_name_constraints_refuse_host_bits_and_bad_cidr),
		cmocka_unit_test(test_name_constraints_validate_dns_names),
		cmocka_unit_test(test_name_constraints_validate_email_forms),
		cmocka_unit_test(test_name_constraints_allow_max_names_and_refuse_one_more),
		cmocka_unit_test(test_name_constraints_empty_builds_nothing),
		cmocka_unit_test(test_csr_requested_reports_nothing_for_plain_csr),
		cmocka_unit_test(test_csr_requested_reads_foreign_ca_false),
		cmocka_unit_test(test_csr_requested_refuses_duplicate_extensions),
		cmocka_unit_test(test_csr_requested_survives_truncations_and_bit_flips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
