/*
 * Leaf issuance: the leaf profile, names, constraints and what a CSR may
 * (not) ask for.
 */
#include "helpers.h"

#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "subca/issue.h"
#include "subca/limits.h"

static const struct th_ext ca_nc_exts[] = {
	{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
	{"keyUsage", "critical,keyCertSign,cRLSign"},
	{"subjectKeyIdentifier", "hash"},
	{"nameConstraints",
	 "critical,permitted;DNS:.example.com,permitted;IP:10.0.0.0/"
	 "255.0.0.0,permitted;email:example.com"},
	{NULL, NULL},
};

struct fx {
	EVP_PKEY *ca_key;
	X509 *ca;
	EVP_PKEY *leaf_key;
};

static struct fx *fx_new(const char *ca_type, const struct th_ext *exts,
			 long ca_not_after)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct th_cert_opts o = {.subject = "/CN=Issuing CA/O=Example",
				 .exts = exts,
				 .not_after = ca_not_after};

	f->ca_key = th_key(ca_type);
	f->ca = th_cert(&o, f->ca_key, NULL, NULL);
	f->leaf_key = th_key("ec-p256");
	return f;
}

static void fx_free(struct fx *f)
{
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->leaf_key);
	X509_free(f->ca);
	free(f);
}

static subca_result issue(struct fx *f, const char *cn,
			  const char *const *sans, size_t n, X509 **out)
{
	struct subca_issuer iss = {.cert = f->ca, .key = f->ca_key};
	struct subca_leaf_request r = {
		.pubkey = f->leaf_key,
		.cn = cn,
		.sans = {sans, n},
		.days = 30,
		.now = TH_NOW,
	};

	return subca_leaf_issue(&iss, &r, out);
}

static bool has_san(X509 *x, int type, const char *text)
{
	GENERAL_NAMES *gns =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);
		const ASN1_STRING *s;

		if (gn->type != type)
			continue;
		s = type == GEN_IPADD ? gn->d.iPAddress : gn->d.ia5;
		if (type == GEN_IPADD) {
			ASN1_OCTET_STRING *ip = a2i_IPADDRESS(text);

			found |= ASN1_STRING_cmp(ip, s) == 0;
			ASN1_OCTET_STRING_free(ip);
		} else {
			found |= (size_t)ASN1_STRING_length(s) == strlen(text) &&
				 memcmp(ASN1_STRING_get0_data(s), text,
					strlen(text)) == 0;
		}
	}
	GENERAL_NAMES_free(gns);
	return found;
}

static long time_diff(const ASN1_TIME *t, time_t want)
{
	ASN1_TIME *w = ASN1_TIME_set(NULL, want);
	int day = 0, sec = 0;

	assert_true(ASN1_TIME_diff(&day, &sec, w, t));
	ASN1_TIME_free(w);
	return (long)day * 86400 + sec;
}

static void assert_profile(X509 *leaf, struct fx *f, bool rsa)
{
	int crit = -1;
	BASIC_CONSTRAINTS *bc;
	EXTENDED_KEY_USAGE *eku;
	uint32_t ku;
	const ASN1_INTEGER *serial = X509_get0_serialNumber(leaf);

	assert_int_equal(X509_get_version(leaf), X509_VERSION_3);
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(f->ca)), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(leaf),
				       X509_get_subject_name(f->ca)),
			 0);
	/* serial: positive, at least 64 bits (CA/B BR 7.1) */
	assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);
	assert_true(ASN1_STRING_length(serial) >= 8);
	bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_int_equal(bc->ca, 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_get_extension_flags(leaf) & EXFLAG_KUSAGE);
	ku = X509_get_key_usage(leaf);
	assert_true(ku & KU_DIGITAL_SIGNATURE);
	assert_int_equal(!!(ku & KU_KEY_ENCIPHERMENT), rsa);
	assert_false(ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
	assert_true(X509_get_ext_by_critical(leaf, 1, -1) >= 0);
	eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, &crit, NULL);
	assert_non_null(eku);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 2);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
			 NID_server_auth);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)),
			 NID_client_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	assert_non_null(X509_get0_subject_key_id(leaf));
	assert_int_equal(time_diff(X509_get0_notBefore(leaf), TH_NOW - 60), 0);
}

static void test_leaf_issue_sets_the_leaf_profile_for_ec(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	const char *sans[] = {"DNS:www.example.com", "IP:192.0.2.1",
			      "email:ops@example.com", "URI:https://example.com/x"};
	X509 *leaf = NULL;

	assert_int_equal(issue(f, "www.example.com", sans, 4, &leaf), SUBCA_OK);
	assert_profile(leaf, f, false);
	assert_true(has_san(leaf, GEN_DNS, "www.example.com"));
	assert_true(has_san(leaf, GEN_IPADD, "192.0.2.1"));
	assert_true(has_san(leaf, GEN_EMAIL, "ops@example.com"));
	assert_true(has_san(leaf, GEN_URI, "https://example.com/x"));
	assert_int_equal(time_diff(X509_get0_notAfter(leaf),
				   TH_NOW + 30 * TH_DAY),
			 0);
	X509_free(leaf);
	fx_free(f);
}

static void test_leaf_issue_adds_key_encipherment_for_rsa_only(void **state)
{
	struct fx *f = fx_new("ed25519", NULL, 0);
	const char *sans[] = {"rsa.example.com"};
	X509 *leaf = NULL;

	EVP_PKEY_free(f->leaf_key);
	f->leaf_key = th_key("rsa-2048");
	assert_int_equal(issue(f, NULL, sans, 1, &leaf), SUBCA_OK);
	assert_profile(leaf, f, true);
	X509_free(leaf);
	fx_free(f);
}

static void test_leaf_issue_copies_the_issuer_ski_bytes_as_aki(void **state)
{
	/* 20 arbitrary bytes, as a tool computing SKIs its own way would */
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectKeyIdentifier",
		 "DE:AD:BE:EF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"},
		{NULL, NULL},
	};
	struct fx *f = fx_new("ec-p384", exts, 0);
	const char *sans[] = {"a.example.com"};
	X509 *leaf = NULL;
	AUTHORITY_KEYID *akid;

	assert_int_equal(issue(f, NULL, sans, 1, &leaf), SUBCA_OK);
	akid = X509_get_ext_d2i(leaf, NID_authority_key_identifier, NULL, NULL);
	assert_non_null(akid);
	assert_non_null(akid->keyid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid,
					       X509_get0_subject_key_id(f->ca)),
			 0);
	assert_int_equal(ASN1_STRING_get0_data(akid->keyid)[0], 0xDE);
	assert_null(akid->issuer);
	AUTHORITY_KEYID_free(akid);
	X509_free(leaf);
	fx_free(f);
}

static void test_leaf_issue_names_the_issuer_by_serial_without_ski(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{NULL, NULL},
	};
	struct fx *f = fx_new("ec-p256", exts, 0);
	const char *sans[] = {"a.example.com"};
	X509 *leaf = NULL;
	AUTHORITY_KEYID *akid;

	assert_int_equal(issue(f, NULL, sans, 1, &leaf), SUBCA_OK);
	akid = X509_get_ext_d2i(leaf, NID_authority_key_identifier, NULL, NULL);
	assert_non_null(akid);
	assert_null(akid->keyid);
	assert_non_null(akid->issuer);
	assert_int_equal(ASN1_INTEGER_cmp(akid->serial,
					  X509_get0_serialNumber(f->ca)),
			 0);
	AUTHORITY_KEYID_free(akid);
	X509_free(leaf);
	fx_free(f);
}

static void test_leaf_issue_caps_not_after_at_the_issuer(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 10 * TH_DAY);
	const char *sans[] = {"a.example.com"};
	X509 *leaf = NULL;

	assert_int_equal(issue(f, NULL, sans, 1, &leaf), SUBCA_OK);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(leaf),
					   X509_get0_notAfter(f->ca)),
			 0);
	X509_free(leaf);
	fx_free(f);
}

static void test_leaf_issue_adds_crl_and_ocsp_urls(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	struct subca_issuer iss = {.cert = f->ca,
				   .key = f->ca_key,
				   .crl_url = "http://ca.example.com/crl",
				   .ocsp_url = "http://ca.example.com/ocsp"};
	const char *sans[] = {"a.example.com"};
	struct subca_leaf_request r = {.pubkey = f->leaf_key,
				       .sans = {sans, 1},
				       .days = 1,
				       .now = TH_NOW};
	X509 *leaf = NULL;
	CRL_DIST_POINTS *dps;
	AUTHORITY_INFO_ACCESS *aia;
	ACCESS_DESCRIPTION *ad;

	assert_int_equal(subca_leaf_issue(&iss, &r, &leaf), SUBCA_OK);
	dps = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
	assert_non_null(dps);
	assert_int_equal(sk_DIST_POINT_num(dps), 1);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	aia = X509_get_ext_d2i(leaf, NID_info_access, NULL, NULL);
	assert_non_null(aia);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_OCSP);
	assert_int_equal(ad->location->type, GEN_URI);
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	X509_free(leaf);

	iss.ocsp_url = "not a url";
	th_assert_error(subca_leaf_issue(&iss, &r, &leaf),
			SUBCA_E_INVALID_ARGUMENT, "OCSP URL");
	assert_null(leaf);
	fx_free(f);
}

static void test_leaf_issue_refuses_names_outside_constraints(void **state)
{
	struct fx *f = fx_new("ec-p256", ca_nc_exts, 0);
	const char *ok[] = {"www.example.com", "10.1.2.3", "a@example.com"};
	const char *dns[] = {"www.example.com", "www.other.org"};
	const char *ip[] = {"192.168.1.1"};
	const char *email[] = {"x@other.org"};
	const char *good_dns[] = {"www.example.com"};
	X509 *leaf = NULL;

	assert_int_equal(issue(f, NULL, ok, 3, &leaf), SUBCA_OK);
	X509_free(leaf);
	leaf = NULL;
	th_assert_error(issue(f, NULL, dns, 2, &leaf),
			SUBCA_E_NAME_CONSTRAINTS, "DNS:www.other.org");
	th_assert_error(issue(f, NULL, ip, 1, &leaf), SUBCA_E_NAME_CONSTRAINTS,
			"IP:192.168.1.1");
	th_assert_error(issue(f, NULL, email, 1, &leaf),
			SUBCA_E_NAME_CONSTRAINTS, "email:x@other.org");
	/* a host name in the CN is checked too */
	th_assert_error(issue(f, "www.other.org", good_dns, 1, &leaf),
			SUBCA_E_NAME_CONSTRAINTS, "www.other.org");
	assert_non_null(strstr(subca_error_reason(), "Issuing CA"));
	assert_null(leaf);
	fx_free(f);
}

static X509_REQ *make_csr(EVP_PKEY *key, const char *cn,
			  const struct th_ext *exts)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	X509V3_CTX ctx;

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, n);
	X509_NAME_free(n);
	X509_REQ_set_pubkey(req, key);
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	for (const struct th_ext *e = exts; e != NULL && e->name != NULL; e++)
		sk_X509_EXTENSION_push(sk, X509V3_EXT_conf(NULL, &ctx, e->name,
							   e->value));
	if (sk_X509_EXTENSION_num(sk) > 0)
		X509_REQ_add_extensions(req, sk);
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	X509_REQ_sign(req, key, EVP_sha256());
	return req;
}

static void test_leaf_issue_ignores_ca_true_in_the_csr(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:TRUE"},
		{"keyUsage", "critical,keyCertSign,cRLSign"},
		{"subjectAltName", "DNS:csr.example.com"},
		{NULL, NULL},
	};
	struct fx *f = fx_new("ec-p256", NULL, 0);
	X509_REQ *csr = make_csr(f->leaf_key, "csr.example.com", exts);
	struct subca_issuer iss = {.cert = f->ca, .key = f->ca_key};
	const char *extra[] = {"extra.example.com"};
	struct subca_leaf_request r = {
		.csr = csr, .sans = {extra, 1}, .days = 5, .now = TH_NOW};
	X509 *leaf = NULL;

	assert_int_equal(subca_leaf_issue(&iss, &r, &leaf), SUBCA_OK);
	assert_profile(leaf, f, false);
	assert_int_equal(X509_check_ca(leaf), 0);
	assert_true(has_san(leaf, GEN_DNS, "csr.example.com"));
	assert_true(has_san(leaf, GEN_DNS, "extra.example.com"));
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(leaf),
				       X509_REQ_get_subject_name(csr)),
			 0);
	X509_free(leaf);
	X509_REQ_free(csr);
	fx_free(f);
}

/* With csr_key_as_bytes the leaf carries the CSR's SubjectPublicKeyInfo
 * byte for byte, its SKI is the SHA-1 of the key bits, and the encoded
 * leaf decodes to the CSR's key. */
static void assert_csr_key_copied(const char *key_type)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	EVP_PKEY *key = th_key(key_type);
	X509_REQ *csr = make_csr(key, "k.example.com", NULL);
	struct subca_issuer iss = {.cert = f->ca, .key = f->ca_key};
	struct subca_leaf_request r = {.csr = csr, .days = 5, .now = TH_NOW,
				       .csr_key_as_bytes = true};
	unsigned char *want = NULL, *got = NULL, md[EVP_MAX_MD_SIZE];
	const unsigned char *p;
	unsigned int mdlen = 0;
	const ASN1_OCTET_STRING *ski;
	X509 *leaf = NULL, *again;
	int nwant, ngot;

	assert_int_equal(subca_leaf_issue(&iss, &r, &leaf), SUBCA_OK);
	nwant = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(csr), &want);
	ngot = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &got);
	assert_true(nwant > 0);
	assert_int_equal(ngot, nwant);
	assert_memory_equal(got, want, (size_t)nwant);
	assert_int_equal(X509_pubkey_digest(leaf, EVP_sha1(), md, &mdlen), 1);
	ski = X509_get0_subject_key_id(leaf);
	assert_non_null(ski);
	assert_int_equal(ASN1_STRING_length(ski), (int)mdlen);
	assert_memory_equal(ASN1_STRING_get0_data(ski), md, mdlen);
	OPENSSL_free(got);
	got = NULL;
	ngot = i2d_X509(leaf, &got);
	assert_true(ngot > 0);
	p = got;
	again = d2i_X509(NULL, &p, ngot);
	assert_non_null(again);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(again), key), 1);
	assert_int_equal(X509_verify(again, X509_get0_pubkey(f->ca)), 1);
	X509_free(again);
	OPENSSL_free(want);
	OPENSSL_free(got);
	X509_free(leaf);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	fx_free(f);
}

static void test_leaf_issue_copies_the_csr_key_as_is(void **state)
{
	(void)state;
	assert_csr_key_copied("ec-p256");
	assert_csr_key_copied("rsa-2048");
}

static void test_leaf_issue_refuses_a_csr_with_a_bad_signature(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	X509_REQ *csr = make_csr(f->leaf_key, "a.example.com", NULL);
	X509_REQ *bad;
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_X509_REQ(csr, &der);
	struct subca_issuer iss = {.cert = f->ca, .key = f->ca_key};
	struct subca_leaf_request r = {.days = 5, .now = TH_NOW};
	X509 *leaf = NULL;

	/* flip a bit inside the subject CN ("a.example.com") */
	for (int i = 0; i + 13 < n; i++)
		if (memcmp(der + i, "a.example.com", 13) == 0) {
			der[i] ^= 0x01;
			break;
		}
	p = der;
	bad = d2i_X509_REQ(NULL, &p, n);
	assert_non_null(bad);
	r.csr = bad;
	th_assert_error(subca_leaf_issue(&iss, &r, &leaf),
			SUBCA_E_CSR_SIGNATURE, "self-signature");
	assert_null(leaf);
	X509_REQ_free(bad);
	X509_REQ_free(csr);
	OPENSSL_free(der);
	fx_free(f);
}

static void test_leaf_issue_refuses_invalid_sans(void **state)
{
	static const struct {
		const char *san;
		const char *needle;
	} cases[] = {
		{"DNS:-bad.example.com", "not a valid DNS name"},
		{"DNS:a..example.com", "not a valid DNS name"},
		{"DNS:*.*.example.com", "not a valid DNS name"},
		{"DNS:foo_bar.example.com", "not a valid DNS name"},
		{"DNS:example.com.", "not a valid DNS name"},
		{"DNS:*", "not a valid DNS name"},
		{"IP:300.1.1.1", "not an IPv4 or IPv6 address"},
		{"IP:2001:db8::zz", "not an IPv4 or IPv6 address"},
		{"email:noat", "not a valid email address"},
		{"email:a@b@example.com", "not a valid email address"},
		{"URI:no-scheme", "not a valid URI"},
		{"URI:https://a b", "not a valid URI"},
		{"DNS:a\x01" "b.example.com", "control character"},
		{"DNS:", "empty subject alternative name"},
	};
	struct fx *f = fx_new("ec-p256", NULL, 0);
	X509 *leaf = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *sans[] = {cases[i].san};

		th_assert_error(issue(f, NULL, sans, 1, &leaf),
				SUBCA_E_BAD_NAME, cases[i].needle);
		assert_null(leaf);
	}
	fx_free(f);
}

static void test_leaf_issue_accepts_wildcards_and_guesses_types(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	const char *sans[] = {"*.example.com", "10.0.0.1", "2001:db8::1",
			      "me@example.com", "spiffe://example.com/a"};
	X509 *leaf = NULL;

	assert_int_equal(issue(f, NULL, sans, 5, &leaf), SUBCA_OK);
	assert_true(has_san(leaf, GEN_DNS, "*.example.com"));
	assert_true(has_san(leaf, GEN_IPADD, "10.0.0.1"));
	assert_true(has_san(leaf, GEN_IPADD, "2001:db8::1"));
	assert_true(has_san(leaf, GEN_EMAIL, "me@example.com"));
	assert_true(has_san(leaf, GEN_URI, "spiffe://example.com/a"));
	X509_free(leaf);
	fx_free(f);
}

static void test_leaf_issue_drops_a_cn_that_copies_an_ip_san(void **state)
{
	struct fx *f = fx_new("ec-p256", ca_nc_exts, 0);
	const char *ip[] = {"10.1.2.3"};
	const char *other[] = {"10.9.9.9"};
	X509 *leaf = NULL;
	int crit = 0;
	GENERAL_NAMES *gns;

	/* under DNS subtrees an address CN would be checked as a host name */
	assert_int_equal(issue(f, "10.1.2.3", ip, 1, &leaf), SUBCA_OK);
	assert_true(has_san(leaf, GEN_IPADD, "10.1.2.3"));
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
	/* RFC 5280 4.2.1.6: an empty subject makes the SAN critical */
	gns = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	assert_non_null(gns);
	assert_int_equal(crit, 1);
	GENERAL_NAMES_free(gns);
	X509_free(leaf);
	leaf = NULL;
	/* the CN alone: it becomes the iPAddress SAN and leaves the subject */
	assert_int_equal(issue(f, "10.1.2.3", NULL, 0, &leaf), SUBCA_OK);
	assert_true(has_san(leaf, GEN_IPADD, "10.1.2.3"));
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
	X509_free(leaf);
	leaf = NULL;
	/* an address CN that no SAN carries stays, and is checked */
	th_assert_error(issue(f, "10.1.2.3", other, 1, &leaf),
			SUBCA_E_NAME_CONSTRAINTS, "10.1.2.3");
	assert_null(leaf);
	fx_free(f);
}

static void test_leaf_issue_makes_a_dns_cn_a_san(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	X509 *leaf = NULL;

	assert_int_equal(issue(f, "host.example.com", NULL, 0, &leaf), SUBCA_OK);
	assert_true(has_san(leaf, GEN_DNS, "host.example.com"));
	X509_free(leaf);
	leaf = NULL;
	/* a CN that is not a host name stays only in the subject */
	assert_int_equal(issue(f, "My Service", NULL, 0, &leaf), SUBCA_OK);
	assert_int_equal(X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1),
			 -1);
	X509_free(leaf);
	fx_free(f);
}

static void test_leaf_issue_caps_sans_at_the_limit(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	char names[SUBCA_MAX_NAMES + 1][32];
	const char *sans[SUBCA_MAX_NAMES + 1];
	X509 *leaf = NULL;

	for (int i = 0; i <= SUBCA_MAX_NAMES; i++) {
		snprintf(names[i], sizeof(names[i]), "h%d.example.com", i);
		sans[i] = names[i];
	}
	assert_int_equal(issue(f, NULL, sans, SUBCA_MAX_NAMES, &leaf),
			 SUBCA_OK);
	X509_free(leaf);
	leaf = NULL;
	th_assert_error(issue(f, NULL, sans, SUBCA_MAX_NAMES + 1, &leaf),
			SUBCA_E_TOO_LARGE, "at most 64");
	fx_free(f);
}

static void test_leaf_issue_refuses_bad_arguments(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	struct subca_issuer iss = {.cert = f->ca, .key = f->ca_key};
	const char *sans[] = {"a.example.com"};
	struct subca_leaf_request r = {.pubkey = f->leaf_key,
				       .sans = {sans, 1},
				       .days = 0,
				       .now = TH_NOW};
	char cn[66];
	X509 *leaf = NULL;

	th_assert_error(subca_leaf_issue(&iss, &r, &leaf),
			SUBCA_E_INVALID_ARGUMENT, "1 to 3660 days");
	r.days = SUBCA_MAX_LEAF_DAYS + 1;
	th_assert_error(subca_leaf_issue(&iss, &r, &leaf),
			SUBCA_E_INVALID_ARGUMENT, "got 3661");
	r.days = SUBCA_MAX_LEAF_DAYS;
	assert_int_equal(subca_leaf_issue(&iss, &r, &leaf), SUBCA_OK);
	X509_free(leaf);
	leaf = NULL;
	r.sans.n = 0;
	th_assert_error(subca_leaf_issue(&iss, &r, &leaf),
			SUBCA_E_INVALID_ARGUMENT, "no name");
	memset(cn, 'a', 64);
	cn[64] = '\0';
	r.cn = cn;
	assert_int_equal(subca_leaf_issue(&iss, &r, &leaf), SUBCA_OK);
	X509_free(leaf);
	leaf = NULL;
	cn[64] = 'a';
	cn[65] = '\0';
	th_assert_error(subca_leaf_issue(&iss, &r, &leaf), SUBCA_E_BAD_NAME,
			"1 to 64 characters");
	r.pubkey = NULL;
	th_assert_error(subca_leaf_issue(&iss, &r, &leaf),
			SUBCA_E_INVALID_ARGUMENT, "CSR or a public key");
	assert_null(leaf);
	fx_free(f);
}

static void test_leaf_issue_refuses_a_weak_key(void **state)
{
	struct fx *f = fx_new("ec-p256", NULL, 0);
	const char *sans[] = {"a.example.com"};
	X509 *leaf = NULL;

	EVP_PKEY_free(f->leaf_key);
	f->leaf_key = th_key("rsa-1024");
	th_assert_error(issue(f, NULL, sans, 1, &leaf), SUBCA_E_WEAK_KEY,
			"1024");
	assert_null(leaf);
	fx_free(f);
}

static void test_leaf_issue_refuses_an_issuer_that_is_not_a_ca(void **state)
{
	static const struct th_ext exts[] = {
		{"basicConstraints", "critical,CA:FALSE"},
		{NULL, NULL},
	};
	struct fx *f = fx_new("ec-p256", exts, 0);
	const char *sans[] = {"a.example.com"};
	X509 *leaf = NULL;

	th_assert_error(issue(f, NULL, sans, 1, &leaf), SUBCA_E_NOT_CA,
			"not a CA");
	fx_free(f);
}

static void test_leaf_check_names_checks_every_ca(void **state)
{
	struct fx *root = fx_new("ec-p256", ca_nc_exts, 0);
	struct fx *f = fx_new("ec-p256", NULL, 0);
	const char *sans[] = {"www.other.org"};
	STACK_OF(X509) *cas = sk_X509_new_null();
	X509 *leaf = NULL;

	assert_int_equal(issue(f, NULL, sans, 1, &leaf), SUBCA_OK);
	sk_X509_push(cas, f->ca);
	assert_int_equal(subca_leaf_check_names(leaf, cas), SUBCA_OK);
	sk_X509_push(cas, root->ca);
	th_assert_error(subca_leaf_check_names(leaf, cas),
			SUBCA_E_NAME_CONSTRAINTS, "DNS:www.other.org");
	sk_X509_free(cas);
	X509_free(leaf);
	fx_free(f);
	fx_free(root);
}

/* One name as a GENERAL_NAMES, the way a front end has it before any
 * certificate exists. */
static GENERAL_NAMES *one_name(int type, const char *v)
{
	GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = a2i_GENERAL_NAME(NULL, NULL, NULL, type, v, 0);

	assert_non_null(gns);
	assert_non_null(gn);
	assert_true(sk_GENERAL_NAME_push(gns, gn) > 0);
	return gns;
}

static void test_names_check_constraints_refuses_before_any_leaf(void **state)
{
	struct fx *root = fx_new("ec-p256", ca_nc_exts, 0);
	struct fx *f = fx_new("ec-p256", NULL, 0);
	STACK_OF(X509) *cas = sk_X509_new_null();
	GENERAL_NAMES *ok = one_name(GEN_DNS, "www.example.com");
	GENERAL_NAMES *ip_ok = one_name(GEN_IPADD, "10.9.8.7");
	GENERAL_NAMES *dns = one_name(GEN_DNS, "www.other.org");
	GENERAL_NAMES *ip = one_name(GEN_IPADD, "192.168.1.1");
	GENERAL_NAMES *ip6 = one_name(GEN_IPADD, "::1");

	(void)state;
	sk_X509_push(cas, f->ca);
	sk_X509_push(cas, root->ca);
	assert_int_equal(subca_names_check_constraints(NULL, ok, cas), SUBCA_OK);
	assert_int_equal(subca_names_check_constraints(NULL, ip_ok, cas),
			 SUBCA_OK);
	assert_int_equal(subca_names_check_constraints(NULL, NULL, cas),
			 SUBCA_OK);
	th_assert_error(subca_names_check_constraints(NULL, dns, cas),
			SUBCA_E_NAME_CONSTRAINTS, "DNS:www.other.org");
	th_assert_error(subca_names_check_constraints(NULL, ip, cas),
			SUBCA_E_NAME_CONSTRAINTS, "IP:192.168.1.1");
	/* an IPv6 address is outside IPv4-only permitted subtrees */
	th_assert_error(subca_names_check_constraints(NULL, ip6, cas),
			SUBCA_E_NAME_CONSTRAINTS, "outside the name constraints");
	sk_X509_pop(cas);
	assert_int_equal(subca_names_check_constraints(NULL, dns, cas),
			 SUBCA_OK);
	GENERAL_NAMES_free(ok);
	GENERAL_NAMES_free(ip_ok);
	GENERAL_NAMES_free(dns);
	GENERAL_NAMES_free(ip);
	GENERAL_NAMES_free(ip6);
	sk_X509_free(cas);
	fx_free(f);
	fx_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_issue_sets_the_leaf_profile_for_ec),
		cmocka_unit_test(test_leaf_issue_adds_key_encipherment_for_rsa_only),
		cmocka_unit_test(test_leaf_issue_copies_the_issuer_ski_bytes_as_aki),
		cmocka_unit_test(test_leaf_issue_names_the_issuer_by_serial_without_ski),
		cmocka_unit_test(test_leaf_issue_caps_not_after_at_the_issuer),
		cmocka_unit_test(test_leaf_issue_adds_crl_and_ocsp_urls),
		cmocka_unit_test(test_leaf_issue_refuses_names_outside_constraints),
		cmocka_unit_test(test_leaf_issue_ignores_ca_true_in_the_csr),
		cmocka_unit_test(test_leaf_issue_copies_the_csr_key_as_is),
		cmocka_unit_test(test_leaf_issue_refuses_a_csr_with_a_bad_signature),
		cmocka_unit_test(test_leaf_issue_refuses_invalid_sans),
		cmocka_unit_test(test_leaf_issue_accepts_wildcards_and_guesses_types),
		cmocka_unit_test(test_leaf_issue_makes_a_dns_cn_a_san),
		cmocka_unit_test(test_leaf_issue_drops_a_cn_that_copies_an_ip_san),
		cmocka_unit_test(test_leaf_issue_caps_sans_at_the_limit),
		cmocka_unit_test(test_leaf_issue_refuses_bad_arguments),
		cmocka_unit_test(test_leaf_issue_refuses_a_weak_key),
		cmocka_unit_test(test_leaf_issue_refuses_an_issuer_that_is_not_a_ca),
		cmocka_unit_test(test_leaf_check_names_checks_every_ca),
		cmocka_unit_test(test_names_check_constraints_refuses_before_any_leaf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
