/*
 * Provisioner policy: name allow-lists (DNS exact / one-label wildcard /
 * suffix, IP CIDRs, emails, URI prefixes), subject attributes, lifetime,
 * key types and sizes, EKUs, and validation of the policy itself.
 */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "subca/issue.h"
#include "subca/limits.h"
#include "subca/policy.h"

static EVP_PKEY *k_p256, *k_p384, *k_ed, *k_rsa2048, *k_rsa3072;

static int keys_setup(void **state)
{
	k_p256 = th_key("ec-p256");
	k_p384 = th_key("ec-p384");
	k_ed = th_key("ed25519");
	k_rsa2048 = th_key("rsa-2048");
	k_rsa3072 = th_key("rsa-3072");
	return k_p256 && k_p384 && k_ed && k_rsa2048 && k_rsa3072 ? 0 : -1;
}

static int keys_teardown(void **state)
{
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_ed);
	EVP_PKEY_free(k_rsa2048);
	EVP_PKEY_free(k_rsa3072);
	return 0;
}

#define NAMES(...)                                                         \
	((struct subca_names){(const char *const[]){__VA_ARGS__},           \
			      sizeof((const char *const[]){__VA_ARGS__}) /  \
				      sizeof(const char *)})

/* A CSR for `key` with subject "/CN=x/O=y" (may be "") and SANs "DNS:a,IP:b". */
static X509_REQ *make_csr(EVP_PKEY *key, const char *subject, const char *sans)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	char *copy = strdup(subject), *save = NULL;

	for (char *part = strtok_r(copy, "/", &save); part != NULL;
	     part = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(part, '=');

		*eq = '\0';
		assert_int_equal(X509_NAME_add_entry_by_txt(
					 n, part, MBSTRING_UTF8,
					 (unsigned char *)eq + 1, -1, -1, 0),
				 1);
	}
	free(copy);
	X509_REQ_set_subject_name(req, n);
	X509_NAME_free(n);
	X509_REQ_set_pubkey(req, key);
	if (sans != NULL) {
		STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(
			NULL, NULL, NID_subject_alt_name, sans);

		assert_non_null(ext);
		sk_X509_EXTENSION_push(sk, ext);
		X509_REQ_add_extensions(req, sk);
		sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_sign(req, key,
				  EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519
					  ? NULL
					  : EVP_sha256()) > 0);
	return req;
}

/* Check a key + SAN-text request (no CN, no CSR). */
static subca_result check_sans(const struct subca_policy *p,
			       struct subca_names sans)
{
	struct subca_leaf_request r = {
		.pubkey = k_p256, .sans = sans, .days = 30, .now = TH_NOW};

	return subca_policy_check(p, &r, NULL);
}

static subca_result check_csr(const struct subca_policy *p, EVP_PKEY *key,
			      const char *subject, const char *sans)
{
	X509_REQ *csr = make_csr(key, subject, sans);
	struct subca_leaf_request r = {.days = 30, .now = TH_NOW};
	subca_result rv = subca_policy_check(p, &r, csr);

	X509_REQ_free(csr);
	return rv;
}

static const struct subca_policy example_dns = {
	.dns = {(const char *const[]){"www.example.com", "*.svc.example.com",
				      ".int.example.com"},
		3},
};

/* ---- DNS ---------------------------------------------------------------- */

static void test_policy_check_allows_an_exact_dns_name(void **state)
{
	assert_int_equal(check_sans(&example_dns, NAMES("www.example.com")),
			 SUBCA_OK);
	assert_int_equal(check_sans(&example_dns, NAMES("WWW.Example.COM")),
			 SUBCA_OK);
	th_assert_error(check_sans(&example_dns, NAMES("w.www.example.com")),
			SUBCA_E_POLICY,
			"DNS:w.www.example.com is not allowed by the policy "
			"(rule: dns allows www.example.com, *.svc.example.com, "
			".int.example.com)");
}

static void test_policy_check_wildcard_pattern_matches_exactly_one_label(void **state)
{
	assert_int_equal(check_sans(&example_dns, NAMES("a.svc.example.com")),
			 SUBCA_OK);
	assert_int_equal(check_sans(&example_dns, NAMES("*.svc.example.com")),
			 SUBCA_OK);
	th_assert_error(check_sans(&example_dns, NAMES("a.b.svc.example.com")),
			SUBCA_E_POLICY, "DNS:a.b.svc.example.com is not allowed");
	th_assert_error(check_sans(&example_dns, NAMES("svc.example.com")),
			SUBCA_E_POLICY, "DNS:svc.example.com is not allowed");
	th_assert_error(check_sans(&example_dns, NAMES("asvc.example.com")),
			SUBCA_E_POLICY, "DNS:asvc.example.com is not allowed");
}

static void test_policy_check_suffix_pattern_matches_any_depth_below(void **state)
{
	assert_int_equal(check_sans(&example_dns, NAMES("a.int.example.com")),
			 SUBCA_OK);
	assert_int_equal(check_sans(&example_dns,
				    NAMES("x.y.z.int.example.com")),
			 SUBCA_OK);
	assert_int_equal(check_sans(&example_dns, NAMES("*.int.example.com")),
			 SUBCA_OK);
	th_assert_error(check_sans(&example_dns, NAMES("int.example.com")),
			SUBCA_E_POLICY, "DNS:int.example.com is not allowed");
	th_assert_error(check_sans(&example_dns, NAMES("evilint.example.com")),
			SUBCA_E_POLICY, "DNS:evilint.example.com");
}

static void test_policy_check_refuses_every_name_when_the_list_is_empty(void **state)
{
	struct subca_policy p = {0};

	th_assert_error(check_sans(&p, NAMES("a.example.com")), SUBCA_E_POLICY,
			"DNS:a.example.com is not allowed by the policy (rule: "
			"dns is empty, so no DNS names are allowed)");
	th_assert_error(check_sans(&p, NAMES("IP:10.0.0.1")), SUBCA_E_POLICY,
			"IP:10.0.0.1 is not allowed by the policy (rule: ips "
			"is empty");
	th_assert_error(check_sans(&p, NAMES("email:a@example.com")),
			SUBCA_E_POLICY, "rule: emails is empty");
	th_assert_error(check_sans(&p, NAMES("URI:https://example.com/")),
			SUBCA_E_POLICY, "rule: uris is empty");
}

static void test_policy_check_allow_all_names_allows_every_name(void **state)
{
	struct subca_policy p = {.allow_all_names = true};

	assert_int_equal(check_sans(&p, NAMES("a.example.com", "IP:10.0.0.1",
					      "email:a@b.example",
					      "URI:spiffe://x/y")),
			 SUBCA_OK);
	assert_int_equal(check_csr(&p, k_p256, "/CN=anything at all", NULL),
			 SUBCA_OK);
}

/* ---- IP ------------------------------------------------------------------ */

static void test_policy_check_matches_ip_ranges_and_single_addresses(void **state)
{
	struct subca_policy p = {
		.ips = NAMES("10.0.0.0/8", "192.0.2.7", "2001:db8::/32",
			     "172.16.0.0/12"),
	};

	assert_int_equal(check_sans(&p, NAMES("10.255.1.2", "192.0.2.7",
					      "2001:db8:1::5", "172.31.255.1")),
			 SUBCA_OK);
	th_assert_error(check_sans(&p, NAMES("11.0.0.1")), SUBCA_E_POLICY,
			"IP:11.0.0.1 is not allowed by the policy (rule: ips "
			"allows 10.0.0.0/8");
	th_assert_error(check_sans(&p, NAMES("192.0.2.8")), SUBCA_E_POLICY,
			"IP:192.0.2.8");
	th_assert_error(check_sans(&p, NAMES("172.32.0.1")), SUBCA_E_POLICY,
			"IP:172.32.0.1");
	th_assert_error(check_sans(&p, NAMES("2001:db9::1")), SUBCA_E_POLICY,
			"IP:2001:db9::1");
}

static void test_policy_check_never_matches_ipv4_against_ipv6(void **state)
{
	struct subca_policy v6 = {.ips = NAMES("::/0")};
	struct subca_policy v4 = {.ips = NAMES("0.0.0.0/0")};

	th_assert_error(check_sans(&v6, NAMES("10.0.0.1")), SUBCA_E_POLICY,
			"IP:10.0.0.1");
	th_assert_error(check_sans(&v4, NAMES("::ffff:10.0.0.1")),
			SUBCA_E_POLICY, "IP:::ffff:10.0.0.1");
	assert_int_equal(check_sans(&v4, NAMES("10.0.0.1")), SUBCA_OK);
}

/* ---- email and URI --------------------------------------------------------- */

static void test_policy_check_matches_mailboxes_and_mail_domains(void **state)
{
	struct subca_policy p = {
		.emails = NAMES("Alice@example.com", "@corp.example"),
	};

	assert_int_equal(check_sans(&p, NAMES("Alice@EXAMPLE.com",
					      "bob@corp.example",
					      "x@CORP.example")),
			 SUBCA_OK);
	th_assert_error(check_sans(&p, NAMES("alice@example.com")),
			SUBCA_E_POLICY, "email:alice@example.com is not allowed");
	th_assert_error(check_sans(&p, NAMES("bob@sub.corp.example")),
			SUBCA_E_POLICY, "email:bob@sub.corp.example");
}

static void test_policy_check_uri_prefix_needs_a_trailing_slash(void **state)
{
	struct subca_policy p = {
		.uris = NAMES("spiffe://example.org/ns/prod/",
			      "https://example.com"),
	};

	assert_int_equal(check_sans(&p, NAMES("URI:spiffe://example.org/ns/"
					      "prod/sa/web",
					      "URI:https://example.com")),
			 SUBCA_OK);
	th_assert_error(check_sans(&p, NAMES("URI:spiffe://example.org/ns/"
					     "prodx")),
			SUBCA_E_POLICY, "URI:spiffe://example.org/ns/prodx");
	th_assert_error(check_sans(&p, NAMES("URI:https://example.com.evil/")),
			SUBCA_E_POLICY, "URI:https://example.com.evil/ is not "
					"allowed by the policy (rule: uris");
}

/* ---- subject ---------------------------------------------------------------- */

static void test_policy_check_reads_the_subject_cn_as_a_name(void **state)
{
	th_assert_error(check_csr(&example_dns, k_p256, "/CN=evil.example",
				  "DNS:www.example.com"),
			SUBCA_E_POLICY,
			"subject CN:evil.example is not allowed by the policy "
			"(rule: dns allows");
	th_assert_error(check_csr(&example_dns, k_p256, "/CN=My Service",
				  "DNS:www.example.com"),
			SUBCA_E_POLICY, "subject CN:My Service is not allowed");
	assert_int_equal(check_csr(&example_dns, k_p256, "/CN=www.example.com",
				   "DNS:a.svc.example.com"),
			 SUBCA_OK);
	/* a lone DNS-looking CN becomes a SAN and is checked as one */
	assert_int_equal(check_csr(&example_dns, k_p256, "/CN=a.int.example.com",
				   NULL),
			 SUBCA_OK);
}

static void test_policy_check_reads_ip_and_email_cns_by_their_type(void **state)
{
	struct subca_policy p = {
		.ips = NAMES("10.0.0.0/8"),
		.emails = NAMES("@example.com"),
	};

	assert_int_equal(check_csr(&p, k_p256, "/CN=10.1.1.1", NULL), SUBCA_OK);
	if (check_csr(&p, k_p256, "/CN=a@example.com/emailAddress=b@example.com",
		      NULL) != SUBCA_OK)
		fail_msg("%s", subca_error_reason());
	th_assert_error(check_csr(&p, k_p256,
				  "/CN=a@example.com/emailAddress=b@other.example",
				  NULL),
			SUBCA_E_POLICY,
			"subject emailAddress:b@other.example is not allowed");
	/* a lone address CN becomes an IP SAN, checked as one */
	th_assert_error(check_csr(&p, k_p256, "/CN=11.1.1.1", NULL),
			SUBCA_E_POLICY, "IP:11.1.1.1 is not allowed");
	th_assert_error(check_csr(&p, k_p256, "/CN=11.1.1.1", "IP:10.0.0.1"),
			SUBCA_E_POLICY, "subject CN:11.1.1.1 is not allowed");
}

static void test_leaf_names_makes_a_lone_address_cn_an_ip_san(void **state)
{
	struct subca_leaf_request r = {.pubkey = k_p256, .cn = "192.0.2.1",
				       .days = 1, .now = TH_NOW};
	GENERAL_NAMES *sans = NULL;
	X509_NAME *subject = NULL;
	GENERAL_NAME *gn;

	assert_int_equal(subca_leaf_names(&r, &sans, &subject), SUBCA_OK);
	assert_int_equal(sk_GENERAL_NAME_num(sans), 1);
	gn = sk_GENERAL_NAME_value(sans, 0);
	assert_int_equal(gn->type, GEN_IPADD);
	assert_memory_equal(ASN1_STRING_get0_data(gn->d.iPAddress),
			    "\xc0\x00\x02\x01", 4);
	GENERAL_NAMES_free(sans);
	X509_NAME_free(subject);
}

static void test_policy_check_refuses_other_subject_attributes_by_default(void **state)
{
	struct subca_policy p = example_dns;

	th_assert_error(check_csr(&p, k_p256,
				  "/O=system:masters/CN=www.example.com", NULL),
			SUBCA_E_POLICY,
			"the subject attribute O is not allowed by the policy "
			"(rule: subject holds only CN and emailAddress)");
	p.allow_subject_attributes = true;
	assert_int_equal(check_csr(&p, k_p256,
				   "/O=system:masters/CN=www.example.com", NULL),
			 SUBCA_OK);
}

static void test_policy_check_refuses_a_csr_with_a_bad_signature(void **state)
{
	X509_REQ *csr = make_csr(k_p256, "/CN=www.example.com", NULL);
	struct subca_leaf_request r = {.days = 30, .now = TH_NOW};

	/* a different key than the one that signed it */
	X509_REQ_set_pubkey(csr, k_p384);
	th_assert_error(subca_policy_check(&example_dns, &r, csr),
			SUBCA_E_CSR_SIGNATURE, "self-signature does not verify");
	/* the same CSR through req->csr */
	r.csr = csr;
	th_assert_error(subca_policy_check(&example_dns, &r, NULL),
			SUBCA_E_CSR_SIGNATURE, "self-signature");
	X509_REQ_free(csr);
}

static void test_policy_check_refuses_a_bad_name_as_a_bad_name(void **state)
{
	th_assert_error(check_sans(&example_dns, NAMES("bad_name.example.com")),
			SUBCA_E_BAD_NAME, "not a valid DNS name");
}

/* ---- keys ------------------------------------------------------------------ */

static void test_policy_check_allows_every_strong_key_by_default(void **state)
{
	EVP_PKEY *keys[] = {k_p256, k_p384, k_ed, k_rsa2048, k_rsa3072};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(check_csr(&example_dns, keys[i],
					   "/CN=www.example.com", NULL),
				 SUBCA_OK);
}

static void test_policy_check_refuses_key_types_not_listed(void **state)
{
	struct subca_policy p = example_dns;

	p.key_types = SUBCA_POLICY_KEY(SUBCA_KEY_EC_P256) |
		      SUBCA_POLICY_KEY(SUBCA_KEY_ED25519);
	assert_int_equal(check_csr(&p, k_p256, "/CN=www.example.com", NULL),
			 SUBCA_OK);
	assert_int_equal(check_csr(&p, k_ed, "/CN=www.example.com", NULL),
			 SUBCA_OK);
	th_assert_error(check_csr(&p, k_p384, "/CN=www.example.com", NULL),
			SUBCA_E_POLICY,
			"the ec-p384 key is not allowed by the policy (rule: "
			"key-types allows ec-p256, ed25519)");
	th_assert_error(check_csr(&p, k_rsa2048, "/CN=www.example.com", NULL),
			SUBCA_E_POLICY,
			"the rsa-2048 key is not allowed by the policy (rule: "
			"key-types allows ec-p256, ed25519)");
}

static void test_policy_check_smallest_rsa_type_listed_is_a_floor(void **state)
{
	struct subca_policy p = example_dns;

	p.key_types = SUBCA_POLICY_KEY(SUBCA_KEY_RSA_3072) |
		      SUBCA_POLICY_KEY(SUBCA_KEY_RSA_4096);
	assert_int_equal(check_csr(&p, k_rsa3072, "/CN=www.example.com", NULL),
			 SUBCA_OK);
	th_assert_error(check_csr(&p, k_rsa2048, "/CN=www.example.com", NULL),
			SUBCA_E_POLICY,
			"the rsa-2048 key is smaller than the policy allows "
			"(rule: RSA keys of at least 3072 bits)");
}

static void test_policy_check_min_rsa_bits_is_a_floor(void **state)
{
	struct subca_policy p = example_dns;

	p.min_rsa_bits = 3072;
	assert_int_equal(check_csr(&p, k_rsa3072, "/CN=www.example.com", NULL),
			 SUBCA_OK);
	assert_int_equal(check_csr(&p, k_p256, "/CN=www.example.com", NULL),
			 SUBCA_OK);
	th_assert_error(check_csr(&p, k_rsa2048, "/CN=www.example.com", NULL),
			SUBCA_E_POLICY, "at least 3072 bits");
}

/* ---- lifetime and EKU -------------------------------------------------------- */

static void test_policy_check_refuses_a_lifetime_over_the_maximum(void **state)
{
	struct subca_policy p = example_dns;
	struct subca_leaf_request r = {.pubkey = k_p256,
				       .sans = NAMES("www.example.com"),
				       .days = 31,
				       .now = TH_NOW};

	p.max_days = 30;
	th_assert_error(subca_policy_check(&p, &r, NULL), SUBCA_E_POLICY,
			"a lifetime of 31 days is over the policy maximum "
			"(rule: max-days 30)");
	r.days = 30;
	assert_int_equal(subca_policy_check(&p, &r, NULL), SUBCA_OK);
	r.days = 0;
	th_assert_error(subca_policy_check(&p, &r, NULL),
			SUBCA_E_INVALID_ARGUMENT, "lifetime is not set");
}

static void test_policy_lifetime_gives_the_default_within_the_maximum(void **state)
{
	struct subca_policy p = {0};
	long days = -1;

	assert_int_equal(subca_policy_lifetime(&p, 0, &days), SUBCA_OK);
	assert_int_equal(days, SUBCA_POLICY_DEFAULT_DAYS);
	p.max_days = 7;
	assert_int_equal(subca_policy_lifetime(&p, 0, &days), SUBCA_OK);
	assert_int_equal(days, 7);
	p.default_days = 2;
	assert_int_equal(subca_policy_lifetime(&p, 0, &days), SUBCA_OK);
	assert_int_equal(days, 2);
	assert_int_equal(subca_policy_lifetime(&p, 7, &days), SUBCA_OK);
	assert_int_equal(days, 7);
	th_assert_error(subca_policy_lifetime(&p, 8, &days), SUBCA_E_POLICY,
			"a lifetime of 8 days is over the policy maximum "
			"(rule: max-days 7)");
	assert_int_equal(days, 0);
	th_assert_error(subca_policy_lifetime(&p, -1, &days),
			SUBCA_E_INVALID_ARGUMENT, "negative");
	p.max_days = 0;
	assert_int_equal(subca_policy_lifetime(&p, SUBCA_MAX_LEAF_DAYS, &days),
			 SUBCA_OK);
	th_assert_error(subca_policy_lifetime(&p, SUBCA_MAX_LEAF_DAYS + 1,
					      &days),
			SUBCA_E_POLICY, "max-days 3660");
}

static void test_policy_check_refuses_an_eku_not_allowed(void **state)
{
	struct subca_policy p = example_dns;
	struct subca_leaf_request r = {.pubkey = k_p256,
				       .sans = NAMES("www.example.com"),
				       .days = 30,
				       .now = TH_NOW};

	p.ekus = SUBCA_EKU_SERVER;
	th_assert_error(subca_policy_check(&p, &r, NULL), SUBCA_E_POLICY,
			"extended key usage clientAuth is not allowed by the "
			"policy (rule: ekus allows serverAuth only)");
	r.eku = SUBCA_EKU_SERVER;
	assert_int_equal(subca_policy_check(&p, &r, NULL), SUBCA_OK);
	p.ekus = SUBCA_EKU_CLIENT;
	th_assert_error(subca_policy_check(&p, &r, NULL), SUBCA_E_POLICY,
			"extended key usage serverAuth is not allowed by the "
			"policy (rule: ekus allows clientAuth only)");
	r.eku = 4;
	th_assert_error(subca_policy_check(&p, &r, NULL),
			SUBCA_E_INVALID_ARGUMENT, "unknown extended key usage");
}

static bool leaf_has_eku(X509 *x, int nid)
{
	EXTENDED_KEY_USAGE *eku =
		X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	bool found = false;

	for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
		found |= OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid;
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

static void test_leaf_issue_puts_only_the_requested_ekus(void **state)
{
	struct th_cert_opts o = {.subject = "/CN=Issuing CA"};
	X509 *ca = th_cert(&o, k_p384, NULL, NULL);
	struct subca_issuer iss = {.cert = ca, .key = k_p384};
	struct subca_leaf_request r = {.pubkey = k_p256,
				       .sans = NAMES("www.example.com"),
				       .days = 30,
				       .now = TH_NOW,
				       .eku = SUBCA_EKU_SERVER};
	X509 *leaf = NULL;

	assert_int_equal(subca_leaf_issue(&iss, &r, &leaf), SUBCA_OK);
	assert_true(leaf_has_eku(leaf, NID_server_auth));
	assert_false(leaf_has_eku(leaf, NID_client_auth));
	X509_free(leaf);
	r.eku = 0;
	assert_int_equal(subca_leaf_issue(&iss, &r, &leaf), SUBCA_OK);
	assert_true(leaf_has_eku(leaf, NID_server_auth));
	assert_true(leaf_has_eku(leaf, NID_client_auth));
	X509_free(leaf);
	r.eku = 8;
	th_assert_error(subca_leaf_issue(&iss, &r, &leaf),
			SUBCA_E_INVALID_ARGUMENT, "unknown extended key usage");
	X509_free(ca);
}

/* ---- validation of the policy ------------------------------------------------ */

static void test_policy_validate_refuses_malformed_patterns(void **state)
{
	const struct {
		struct subca_policy p;
		enum subca_code code;
		const char *reason;
	} cases[] = {
		{{.dns = {(const char *const[]){"bad_label.example"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "policy rule dns: \"bad_label.example\""},
		{{.dns = {(const char *const[]){".*.example.com"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "mixes a suffix and a wildcard"},
		{{.dns = {(const char *const[]){"a.*.example.com"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "policy rule dns"},
		{{.dns = {(const char *const[]){""}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "policy rule dns: entry 0 is empty"},
		{{.ips = {(const char *const[]){"10.0.0.1/8"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "has host bits set after the /8 prefix"},
		{{.ips = {(const char *const[]){"10.0.0.0/33"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "bad prefix length (0 to 32)"},
		{{.ips = {(const char *const[]){"10.0.0.0/08"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "bad prefix length"},
		{{.ips = {(const char *const[]){"10.0.0.0/"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "bad prefix length"},
		{{.ips = {(const char *const[]){"2001:db8::/129"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "bad prefix length (0 to 128)"},
		{{.ips = {(const char *const[]){"example.com/8"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "is not an address or CIDR"},
		{{.emails = {(const char *const[]){"@*.example.com"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "must be \"@\" and a domain"},
		{{.emails = {(const char *const[]){"no-at-sign"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "policy rule emails"},
		{{.uris = {(const char *const[]){"no scheme"}, 1}},
		 SUBCA_E_INVALID_ARGUMENT, "policy rule uris"},
		{{.max_days = SUBCA_MAX_LEAF_DAYS + 1},
		 SUBCA_E_INVALID_ARGUMENT, "policy rule max-days: 3661"},
		{{.default_days = -1},
		 SUBCA_E_INVALID_ARGUMENT, "policy rule default-days: -1"},
		{{.default_days = 10, .max_days = 5},
		 SUBCA_E_INVALID_ARGUMENT, "default-days: 10 is over max-days 5"},
		{{.key_types = SUBCA_POLICY_KEY(SUBCA_KEY__COUNT)},
		 SUBCA_E_INVALID_ARGUMENT, "unknown key type bits"},
		{{.min_rsa_bits = 1024},
		 SUBCA_E_INVALID_ARGUMENT, "min-rsa-bits: 1024"},
		{{.ekus = 4}, SUBCA_E_INVALID_ARGUMENT, "policy rule ekus"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		th_assert_error(subca_policy_validate(&cases[i].p),
				cases[i].code, cases[i].reason);
}

static void test_policy_validate_accepts_every_documented_form(void **state)
{
	struct subca_policy p = {
		.dns = NAMES("www.example.com", "*.example.com", ".example.com"),
		.ips = NAMES("10.0.0.0/8", "192.0.2.1", "::/0", "2001:db8::1"),
		.emails = NAMES("a@example.com", "@example.com"),
		.uris = NAMES("spiffe://example.org/", "https://x.example"),
		.default_days = 1,
		.max_days = SUBCA_MAX_LEAF_DAYS,
		.key_types = SUBCA_POLICY_KEY(SUBCA_KEY__COUNT) - 1,
		.min_rsa_bits = 16384,
		.ekus = SUBCA_EKU_ALL,
	};

	assert_int_equal(subca_policy_validate(&p), SUBCA_OK);
	/* a check validates the policy first */
	p.ips = NAMES("10.0.0.1/8");
	th_assert_error(check_sans(&p, NAMES("www.example.com")),
			SUBCA_E_INVALID_ARGUMENT, "host bits");
}

static void test_policy_validate_caps_each_list_at_max_names(void **state)
{
	const char *v[SUBCA_MAX_NAMES + 1];
	struct subca_policy p = {0};

	for (size_t i = 0; i <= SUBCA_MAX_NAMES; i++)
		v[i] = "a.example.com";
	p.dns = (struct subca_names){v, SUBCA_MAX_NAMES};
	assert_int_equal(subca_policy_validate(&p), SUBCA_OK);
	p.dns.n = SUBCA_MAX_NAMES + 1;
	th_assert_error(subca_policy_validate(&p), SUBCA_E_TOO_LARGE,
			"policy rule dns has 65 entries, at most 64");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_check_allows_an_exact_dns_name),
		cmocka_unit_test(test_policy_check_wildcard_pattern_matches_exactly_one_label),
		cmocka_unit_test(test_policy_check_suffix_pattern_matches_any_depth_below),
		cmocka_unit_test(test_policy_check_refuses_every_name_when_the_list_is_empty),
		cmocka_unit_test(test_policy_check_allow_all_names_allows_every_name),
		cmocka_unit_test(test_policy_check_matches_ip_ranges_and_single_addresses),
		cmocka_unit_test(test_policy_check_never_matches_ipv4_against_ipv6),
		cmocka_unit_test(test_policy_check_matches_mailboxes_and_mail_domains),
		cmocka_unit_test(test_policy_check_uri_prefix_needs_a_trailing_slash),
		cmocka_unit_test(test_policy_check_reads_the_subject_cn_as_a_name),
		cmocka_unit_test(test_policy_check_reads_ip_and_email_cns_by_their_type),
		cmocka_unit_test(test_leaf_names_makes_a_lone_address_cn_an_ip_san),
		cmocka_unit_test(test_policy_check_refuses_other_subject_attributes_by_default),
		cmocka_unit_test(test_policy_check_refuses_a_csr_with_a_bad_signature),
		cmocka_unit_test(test_policy_check_refuses_a_bad_name_as_a_bad_name),
		cmocka_unit_test(test_policy_check_allows_every_strong_key_by_default),
		cmocka_unit_test(test_policy_check_refuses_key_types_not_listed),
		cmocka_unit_test(test_policy_check_smallest_rsa_type_listed_is_a_floor),
		cmocka_unit_test(test_policy_check_min_rsa_bits_is_a_floor),
		cmocka_unit_test(test_policy_check_refuses_a_lifetime_over_the_maximum),
		cmocka_unit_test(test_policy_lifetime_gives_the_default_within_the_maximum),
		cmocka_unit_test(test_policy_check_refuses_an_eku_not_allowed),
		cmocka_unit_test(test_leaf_issue_puts_only_the_requested_ekus),
		cmocka_unit_test(test_policy_validate_refuses_malformed_patterns),
		cmocka_unit_test(test_policy_validate_accepts_every_documented_form),
		cmocka_unit_test(test_policy_validate_caps_each_list_at_max_names),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
