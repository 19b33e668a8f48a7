/*
 * Provisioner policy: allow-lists of names, lifetime caps, key types and
 * extended key usages, checked against the names a leaf would carry
 * (subca_leaf_names) before anything is signed. See policy.h for the
 * matching rules.
 */
#include "subca/policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "subca/limits.h"
#include "subca/ossl.h"

/* RSA sizes of the subca_key_type RSA entries. */
static const struct {
	enum subca_key_type type;
	int bits;
} subca__rsa_types[] = {
	{SUBCA_KEY_RSA_2048, 2048},
	{SUBCA_KEY_RSA_3072, 3072},
	{SUBCA_KEY_RSA_4096, 4096},
};

#define SUBCA__NRSA (sizeof(subca__rsa_types) / sizeof(subca__rsa_types[0]))
/* key.c refuses RSA keys above this size */
#define SUBCA__MAX_RSA_BITS 16384

/* One name of the leaf, as text (and as bytes for an IP address). */
struct subca__name {
	int type; /* GEN_DNS, GEN_IPADD, GEN_EMAIL, GEN_URI */
	const char *what; /* "DNS", "IP", "email", "URI", "subject CN" ... */
	char text[SUBCA_MAX_URL + 1];
	unsigned char ip[16];
	int iplen;
};

/* An allow-list entry for IP addresses. */
struct subca__cidr {
	unsigned char addr[16];
	int len; /* 4 or 16 */
	int prefix;
};

/* ---- text helpers ------------------------------------------------------- */


/* "a, b, c" of a list for a reason, capped at `len`. */
static const char *subca__list(struct subca_names l, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l.n && used + 1 < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 l.v[i]);

		if (n < 0 || (size_t)n >= len - used) {
			if (len > 4)
				memcpy(buf + len - 4, "...", 4);
			break;
		}
		used += (size_t)n;
	}
	return buf;
}

static bool subca__ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* ---- patterns ------------------------------------------------------------ */

/* Parse "10.0.0.0/8", "2001:db8::/32" or a single address. */
static subca_result subca__cidr_parse(const char *s, struct subca__cidr *out)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char addr[64], shown[80];
	ASN1_OCTET_STRING *ip;
	int prefix = -1;

	SUBCA_SHOWN(s, shown);
	SUBCA_ENSURE(alen > 0 && alen < sizeof(addr), SUBCA_E_INVALID_ARGUMENT,
		     "policy IP range \"%s\" is not an address or CIDR", shown);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	ip = a2i_IPADDRESS(addr);
	ERR_clear_error();
	SUBCA_ENSURE(ip != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "policy IP range \"%s\" is not an address or CIDR", shown);
	out->len = ASN1_STRING_length(ip);
	memcpy(out->addr, ASN1_STRING_get0_data(ip), (size_t)out->len);
	ASN1_OCTET_STRING_free(ip);
	if (slash != NULL) {
		const char *d = slash + 1;

		prefix = 0;
		for (; *d >= '0' && *d <= '9' && prefix <= 128; d++)
			prefix = prefix * 10 + (*d - '0');
		SUBCA_ENSURE(d != slash + 1 && *d == '\0' &&
				     prefix <= out->len * 8 &&
				     !(slash[1] == '0' && slash[2] != '\0'),
			     SUBCA_E_INVALID_ARGUMENT,
			     "policy IP range \"%s\" has a bad prefix length "
			     "(0 to %d)", shown, out->len * 8);
	}
	out->prefix = prefix < 0 ? out->len * 8 : prefix;
	for (int bit = out->prefix; bit < out->len * 8; bit++)
		SUBCA_ENSURE(!(out->addr[bit / 8] & (0x80 >> (bit % 8))),
			     SUBCA_E_INVALID_ARGUMENT,
			     "policy IP range \"%s\" has host bits set after "
			     "the /%d prefix", shown, out->prefix);
	return SUBCA_OK;
}

/* Re-word a name error as a policy rule error. */
static subca_result subca__rule_error(const char *rule)
{
	char reason[SUBCA_ERROR_REASON_MAX];

	snprintf(reason, sizeof(reason), "%s", subca_error_reason());
	SUBCA_BAIL(SUBCA_E_INVALID_ARGUMENT, "policy rule %s: %s", rule,
		   reason);
}

static subca_result subca__dns_pattern_check(const char *pat)
{
	const char *host = pat[0] == '.' ? pat + 1 : pat;
	char shown[80];

	SUBCA_ENSURE(pat[0] != '.' || pat[1] != '*', SUBCA_E_INVALID_ARGUMENT,
		     "policy rule dns: \"%s\" mixes a suffix and a wildcard",
		     SUBCA_SHOWN(pat, shown));
	/* subca_name_check allows one leading "*." as in "*.example.com" */
	if (subca_name_check(GEN_DNS, host) != SUBCA_OK)
		return subca__rule_error("dns");
	return SUBCA_OK;
}

static subca_result subca__email_pattern_check(const char *pat)
{
	char shown[80];

	if (pat[0] != '@') {
		if (subca_name_check(GEN_EMAIL, pat) != SUBCA_OK)
			return subca__rule_error("emails");
		return SUBCA_OK;
	}
	SUBCA_ENSURE(strchr(pat + 1, '*') == NULL && strchr(pat + 1, '@') == NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "policy rule emails: \"%s\" must be \"@\" and a domain",
		     SUBCA_SHOWN(pat, shown));
	if (subca_name_check(GEN_DNS, pat + 1) != SUBCA_OK)
		return subca__rule_error("emails");
	return SUBCA_OK;
}

static subca_result subca__list_check(struct subca_names l, const char *rule,
				      subca_result (*check)(const char *))
{
	SUBCA_ENSURE(l.n <= SUBCA_MAX_NAMES, SUBCA_E_TOO_LARGE,
		     "policy rule %s has %zu entries, at most %d", rule, l.n,
		     SUBCA_MAX_NAMES);
	SUBCA_ENSURE(l.n == 0 || l.v != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "policy rule %s has no entries array", rule);
	for (size_t i = 0; i < l.n; i++) {
		SUBCA_ENSURE(l.v[i] != NULL && l.v[i][0] != '\0',
			     SUBCA_E_INVALID_ARGUMENT,
			     "policy rule %s: entry %zu is empty", rule, i);
		SUBCA_TRY(check(l.v[i]));
	}
	return SUBCA_OK;
}

static subca_result subca__ip_pattern_check(const char *pat)
{
	struct subca__cidr c;

	return subca__cidr_parse(pat, &c);
}

static subca_result subca__uri_pattern_check(const char *pat)
{
	if (subca_name_check(GEN_URI, pat) != SUBCA_OK)
		return subca__rule_error("uris");
	return SUBCA_OK;
}

static subca_result subca__days_check(const struct subca_policy *p)
{
	SUBCA_ENSURE(p->default_days >= 0 &&
			     p->default_days <= SUBCA_MAX_LEAF_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "policy rule default-days: %ld is not 1 to %d",
		     p->default_days, SUBCA_MAX_LEAF_DAYS);
	SUBCA_ENSURE(p->max_days >= 0 && p->max_days <= SUBCA_MAX_LEAF_DAYS,
		     SUBCA_E_INVALID_ARGUMENT,
		     "policy rule max-days: %ld is not 1 to %d", p->max_days,
		     SUBCA_MAX_LEAF_DAYS);
	SUBCA_ENSURE(p->max_days == 0 || p->default_days <= p->max_days,
		     SUBCA_E_INVALID_ARGUMENT,
		     "policy rule default-days: %ld is over max-days %ld",
		     p->default_days, p->max_days);
	return SUBCA_OK;
}

subca_result subca_policy_validate(const struct subca_policy *p)
{
	SUBCA_ENSURE(p != NULL, SUBCA_E_INVALID_ARGUMENT, "missing policy");
	SUBCA_TRY(subca__list_check(p->dns, "dns", subca__dns_pattern_check));
	SUBCA_TRY(subca__list_check(p->ips, "ips", subca__ip_pattern_check));
	SUBCA_TRY(subca__list_check(p->emails, "emails",
				    subca__email_pattern_check));
	SUBCA_TRY(subca__list_check(p->uris, "uris", subca__uri_pattern_check));
	SUBCA_TRY(subca__days_check(p));
	SUBCA_ENSURE((p->key_types & ~(SUBCA_POLICY_KEY(SUBCA_KEY__COUNT) - 1)) ==
			     0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "policy rule key-types: unknown key type bits 0x%x",
		     p->key_types);
	SUBCA_ENSURE(p->min_rsa_bits == 0 ||
			     (p->min_rsa_bits >= 2048 &&
			      p->min_rsa_bits <= SUBCA__MAX_RSA_BITS),
		     SUBCA_E_INVALID_ARGUMENT,
		     "policy rule min-rsa-bits: %d is not 2048 to %d",
		     p->min_rsa_bits, SUBCA__MAX_RSA_BITS);
	SUBCA_ENSURE((p->ekus & ~SUBCA_EKU_ALL) == 0, SUBCA_E_INVALID_ARGUMENT,
		     "policy rule ekus: unknown extended key usage bits 0x%x",
		     p->ekus);
	return SUBCA_OK;
}

/* ---- matching ------------------------------------------------------------ */

static bool subca__dns_match(const char *pat, const char *name)
{
	if (strncmp(pat, "*.", 2) == 0) {
		/* exactly one label (or the wildcard itself) before pat+1 */
		const char *dot = strchr(name, '.');

		return dot != NULL && dot != name &&
		       strcasecmp(dot, pat + 1) == 0;
	}
	if (pat[0] == '.')
		return strlen(name) > strlen(pat) &&
		       subca__ends_with_ci(name, pat);
	return strcasecmp(pat, name) == 0;
}

static bool subca__ip_match(const char *pat, const struct subca__name *n)
{
	struct subca__cidr c;
	int full, rest;

	/* patterns were validated: a failure here cannot happen */
	if (subca__cidr_parse(pat, &c) != SUBCA_OK || c.len != n->iplen)
		return false;
	full = c.prefix / 8;
	rest = c.prefix % 8;
	if (memcmp(c.addr, n->ip, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c.addr[full] ^ n->ip[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static bool subca__email_match(const char *pat, const char *name)
{
	const char *at = strrchr(name, '@');
	const char *pat_at = strrchr(pat, '@');
	size_t local;

	if (at == NULL || pat_at == NULL)
		return false;
	if (pat[0] == '@')
		return strcasecmp(at + 1, pat + 1) == 0;
	/* RFC 5321 2.4: the local part may be case-sensitive */
	local = (size_t)(at - name);
	return local == (size_t)(pat_at - pat) &&
	       memcmp(name, pat, local) == 0 &&
	       strcasecmp(at + 1, pat_at + 1) == 0;
}

static bool subca__uri_match(const char *pat, const char *name)
{
	size_t n = strlen(pat);

	if (n > 0 && pat[n - 1] == '/')
		return strncmp(name, pat, n) == 0;
	return strcmp(name, pat) == 0;
}

static bool subca__name_allowed(const struct subca_policy *p,
				const struct subca__name *n,
				struct subca_names *list, const char **rule)
{
	static const struct subca_names none = {NULL, 0};

	*list = none;
	switch (n->type) {
	case GEN_DNS: *rule = "dns"; *list = p->dns; break;
	case GEN_IPADD: *rule = "ips"; *list = p->ips; break;
	case GEN_EMAIL: *rule = "emails"; *list = p->emails; break;
	case GEN_URI: *rule = "uris"; *list = p->uris; break;
	default: *rule = "names"; return p->allow_all_names;
	}
	if (p->allow_all_names)
		return true;
	for (size_t i = 0; i < list->n; i++) {
		const char *pat = list->v[i];

		if ((n->type == GEN_DNS && subca__dns_match(pat, n->text)) ||
		    (n->type == GEN_IPADD && subca__ip_match(pat, n)) ||
		    (n->type == GEN_EMAIL && subca__email_match(pat, n->text)) ||
		    (n->type == GEN_URI && subca__uri_match(pat, n->text)))
			return true;
	}
	return false;
}

static subca_result subca__name_check(const struct subca_policy *p,
				      const struct subca__name *n)
{
	struct subca_names list;
	const char *rule;
	char shown[128], allowed[200];

	if (subca__name_allowed(p, n, &list, &rule))
		return SUBCA_OK;
	SUBCA_SHOWN(n->text, shown);
	SUBCA_ENSURE(list.n > 0, SUBCA_E_POLICY,
		     "%s:%s is not allowed by the policy (rule: %s is empty, "
		     "so no %s names are allowed)",
		     n->what, shown, rule, n->what);
	SUBCA_BAIL(SUBCA_E_POLICY,
		   "%s:%s is not allowed by the policy (rule: %s allows %s)",
		   n->what, shown, rule,
		   subca__list(list, allowed, sizeof(allowed)));
}

/* ---- the leaf's names ---------------------------------------------------- */

static subca_result subca__ia5_text(const ASN1_STRING *s, char *buf,
				    size_t len)
{
	int n = ASN1_STRING_length(s);

	SUBCA_ENSURE(n > 0 && (size_t)n < len, SUBCA_E_BAD_NAME,
		     "a name is empty or longer than %zu bytes", len - 1);
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)n);
	buf[n] = '\0';
	SUBCA_ENSURE(strlen(buf) == (size_t)n, SUBCA_E_BAD_NAME,
		     "a name holds a NUL byte");
	return SUBCA_OK;
}

static subca_result subca__san_name(const GENERAL_NAME *gn,
				    struct subca__name *n)
{
	n->type = gn->type;
	switch (gn->type) {
	case GEN_IPADD:
		n->what = "IP";
		n->iplen = ASN1_STRING_length(gn->d.iPAddress);
		SUBCA_ENSURE(n->iplen == 4 || n->iplen == 16, SUBCA_E_BAD_NAME,
			     "an IP address of %d bytes", n->iplen);
		memcpy(n->ip, ASN1_STRING_get0_data(gn->d.iPAddress),
		       (size_t)n->iplen);
		if (inet_ntop(n->iplen == 4 ? AF_INET : AF_INET6, n->ip,
			      n->text, sizeof(n->text)) == NULL)
			snprintf(n->text, sizeof(n->text), "?");
		return SUBCA_OK;
	case GEN_DNS: n->what = "DNS"; break;
	case GEN_EMAIL: n->what = "email"; break;
	case GEN_URI: n->what = "URI"; break;
	default:
		SUBCA_BAIL(SUBCA_E_POLICY,
			   "a subject alternative name of type %d is not "
			   "allowed by the policy (rule: names)", gn->type);
	}
	return subca__ia5_text(gn->d.ia5, n->text, sizeof(n->text));
}

/* A subject CN: an IP address, an email or a DNS name, guessed as for SANs. */
static void subca__cn_type(struct subca__name *n)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(n->text);

	ERR_clear_error();
	if (ip != NULL) {
		n->type = GEN_IPADD;
		n->iplen = ASN1_STRING_length(ip);
		memcpy(n->ip, ASN1_STRING_get0_data(ip), (size_t)n->iplen);
		ASN1_OCTET_STRING_free(ip);
		return;
	}
	n->type = strchr(n->text, '@') != NULL ? GEN_EMAIL : GEN_DNS;
}

static subca_result subca__subject_entry(const struct subca_policy *p,
					 const X509_NAME_ENTRY *e)
{
	int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
	unsigned char *utf8 = NULL;
	struct subca__name n = {0};
	bool ok;
	int len;

	if (nid != NID_commonName && nid != NID_pkcs9_emailAddress) {
		SUBCA_ENSURE(p->allow_subject_attributes, SUBCA_E_POLICY,
			     "the subject attribute %s is not allowed by the "
			     "policy (rule: subject holds only CN and "
			     "emailAddress)",
			     nid == NID_undef ? "of an unknown type"
					      : OBJ_nid2sn(nid));
		return SUBCA_OK;
	}
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	ERR_clear_error();
	ok = len > 0 && (size_t)len < sizeof(n.text) &&
	     strlen((char *)utf8) == (size_t)len;
	if (ok)
		memcpy(n.text, utf8, (size_t)len + 1);
	OPENSSL_free(utf8);
	SUBCA_ENSURE(ok, SUBCA_E_BAD_NAME,
		     "the subject %s is empty, too long or not text",
		     OBJ_nid2sn(nid));
	if (nid == NID_commonName) {
		n.what = "subject CN";
		subca__cn_type(&n);
	} else {
		n.what = "subject emailAddress";
		n.type = GEN_EMAIL;
	}
	return subca__name_check(p, &n);
}

static subca_result subca__names_check(const struct subca_policy *p,
				       const struct subca_leaf_request *req)
{
	SUBCA_AUTO(GENERAL_NAMES) GENERAL_NAMES *sans = NULL;
	SUBCA_AUTO(X509_NAME) X509_NAME *subject = NULL;

	SUBCA_TRY(subca_leaf_names(req, &sans, &subject));
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		struct subca__name n = {0};

		SUBCA_TRY(subca__san_name(sk_GENERAL_NAME_value(sans, i), &n));
		SUBCA_TRY(subca__name_check(p, &n));
	}
	for (int i = 0; i < X509_NAME_entry_count(subject); i++)
		SUBCA_TRY(subca__subject_entry(p,
					       X509_NAME_get_entry(subject, i)));
	return SUBCA_OK;
}

/* ---- key, lifetime, EKU --------------------------------------------------- */

static void subca__key_types_text(unsigned types, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int t = 0; t < SUBCA_KEY__COUNT; t++) {
		int n;

		if (!(types & SUBCA_POLICY_KEY(t)))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
			     subca_key_type_name((enum subca_key_type)t));
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

/* The smallest RSA size listed in key_types, or 0 when none is. */
static int subca__rsa_floor(unsigned types)
{
	for (size_t i = 0; i < SUBCA__NRSA; i++)
		if (types & SUBCA_POLICY_KEY(subca__rsa_types[i].type))
			return subca__rsa_types[i].bits;
	return 0;
}

static subca_result subca__rsa_check(const struct subca_policy *p,
				     const EVP_PKEY *pub, const char *desc)
{
	int bits = EVP_PKEY_get_bits(pub);
	int floor = p->key_types ? subca__rsa_floor(p->key_types) : 2048;
	char allowed[200];

	subca__key_types_text(p->key_types, allowed, sizeof(allowed));
	SUBCA_ENSURE(floor > 0, SUBCA_E_POLICY,
		     "the %s key is not allowed by the policy (rule: "
		     "key-types allows %s)", desc, allowed);
	if (p->min_rsa_bits > floor)
		floor = p->min_rsa_bits;
	SUBCA_ENSURE(bits >= floor, SUBCA_E_POLICY,
		     "the %s key is smaller than the policy allows (rule: RSA "
		     "keys of at least %d bits)", desc, floor);
	return SUBCA_OK;
}

static subca_result subca__key_check(const struct subca_policy *p,
				     const EVP_PKEY *pub)
{
	enum subca_key_type t;
	char desc[64], allowed[200];

	SUBCA_ENSURE(pub != NULL, SUBCA_E_INVALID_ARGUMENT,
		     "the request has no public key");
	SUBCA_TRY(subca_key_check_strength(pub, "leaf key"));
	subca_key_describe(pub, desc, sizeof(desc));
	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
		return subca__rsa_check(p, pub, desc);
	if (p->key_types == 0)
		return SUBCA_OK;
	subca__key_types_text(p->key_types, allowed, sizeof(allowed));
	if (subca_key_type_of(pub, &t) != SUBCA_OK ||
	    !(p->key_types & SUBCA_POLICY_KEY(t)))
		SUBCA_BAIL(SUBCA_E_POLICY,
			   "the %s key is not allowed by the policy (rule: "
			   "key-types allows %s)", desc, allowed);
	return SUBCA_OK;
}

static const char *subca__eku_name(unsigned bit)
{
	return bit == SUBCA_EKU_SERVER ? "serverAuth" : "clientAuth";
}

static subca_result subca__eku_check(const struct subca_policy *p,
				     unsigned requested)
{
	unsigned allowed = p->ekus ? p->ekus : SUBCA_EKU_ALL;
	unsigned want = requested ? requested : SUBCA_EKU_ALL;
	unsigned extra = want & ~allowed;

	SUBCA_ENSURE((requested & ~SUBCA_EKU_ALL) == 0,
		     SUBCA_E_INVALID_ARGUMENT,
		     "unknown extended key usage bits 0x%x", requested);
	SUBCA_ENSURE(extra == 0, SUBCA_E_POLICY,
		     "extended key usage %s is not allowed by the policy "
		     "(rule: ekus allows %s)",
		     subca__eku_name(extra & SUBCA_EKU_SERVER ? SUBCA_EKU_SERVER
							      : SUBCA_EKU_CLIENT),
		     allowed == SUBCA_EKU_SERVER ? "serverAuth only"
						 : "clientAuth only");
	return SUBCA_OK;
}

static long subca__max_days(const struct subca_policy *p)
{
	return p->max_days ? p->max_days : SUBCA_MAX_LEAF_DAYS;
}

subca_result subca_policy_lifetime(const struct subca_policy *p,
				   long requested_days, long *out)
{
	long max, def;

	*out = 0;
	SUBCA_TRY(subca_policy_validate(p));
	SUBCA_ENSURE(requested_days >= 0, SUBCA_E_INVALID_ARGUMENT,
		     "lifetime %ld days is negative", requested_days);
	max = subca__max_days(p);
	if (requested_days == 0) {
		def = p->default_days ? p->default_days
				      : SUBCA_POLICY_DEFAULT_DAYS;
		*out = def < max ? def : max;
		return SUBCA_OK;
	}
	SUBCA_ENSURE(requested_days <= max, SUBCA_E_POLICY,
		     "a lifetime of %ld days is over the policy maximum "
		     "(rule: max-days %ld)", requested_days, max);
	*out = requested_days;
	return SUBCA_OK;
}

subca_result subca_policy_check(const struct subca_policy *p,
				const struct subca_leaf_request *req,
				X509_REQ *csr)
{
	struct subca_leaf_request r;
	EVP_PKEY *key;
	long days;

	SUBCA_TRY(subca_policy_validate(p));
	SUBCA_ENSURE(req != NULL, SUBCA_E_INVALID_ARGUMENT, "missing request");
	r = *req;
	if (csr != NULL && csr != r.csr) {
		r.csr = csr;
		r.csr_key = NULL; /* req's key goes with req's CSR */
	}
	SUBCA_ENSURE(r.days > 0, SUBCA_E_INVALID_ARGUMENT,
		     "the request's lifetime is not set (see "
		     "subca_policy_lifetime)");
	SUBCA_TRY(subca_policy_lifetime(p, r.days, &days));
	SUBCA_TRY(subca__names_check(p, &r));
	key = r.csr == NULL	  ? r.pubkey
	      : r.csr_key != NULL ? r.csr_key
				  : X509_REQ_get0_pubkey(r.csr);
	SUBCA_TRY(subca__key_check(p, key));
	return subca__eku_check(p, r.eku);
}
