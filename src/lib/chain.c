/*
 * Verification of the customer-signed intermediate ("bring your own root").
 *
 * Every check records what it finds in the report and carries on, so the
 * customer learns every problem of a signed certificate at once. Messages
 * name the certificate and the exact problem; hints name the signing
 * tool's setting that fixes it (REFERENCES.md: how the tools behave).
 * Looking like CFSSL output only chooses hints, it never refuses.
 */
#include "subca/chain.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "subca/certin.h"
#include "subca/csr.h"
#include "subca/issue.h"
#include "subca/key.h"
#include "subca/ossl.h"

#define SUBCA__NAME_MAX 200
#define SUBCA__KEY_MAX 64
#define SUBCA__LEAF_CN "subca-chain-check.invalid"

static const char subca__hint_extfile[] =
	"openssl x509 -req issues X.509 v1 without -extfile: add -extfile "
	"<auth>-ext.cnf -extensions v3_intermediate (see `subca intermediate "
	"instructions`)";
static const char subca__hint_ca_cfssl[] =
	"CFSSL issues CA:FALSE unless the signing profile has "
	"\"ca_constraint\": {\"is_ca\": true}; with openssl use "
	"basicConstraints=critical,CA:true";
static const char subca__hint_no_bc[] =
	"the signing tool added no basicConstraints: with openssl x509 -req "
	"add -extfile <auth>-ext.cnf -extensions v3_intermediate; CFSSL needs "
	"\"ca_constraint\": {\"is_ca\": true}; certtool needs \"ca\" in the "
	"template (see `subca intermediate instructions`)";
static const char subca__hint_leaf[] =
	"the signing profile issued an end-entity certificate: use a CA "
	"profile (openssl: -extfile <auth>-ext.cnf -extensions "
	"v3_intermediate; CFSSL: \"ca_constraint\": {\"is_ca\": true} with "
	"usages \"cert sign\", \"crl sign\"; step: --profile intermediate-ca)";
static const char subca__hint_ku_cfssl[] =
	"CFSSL: add \"cert sign\" and \"crl sign\" to the signing profile's "
	"\"usages\"";
static const char subca__hint_ku[] =
	"openssl: keyUsage=critical,keyCertSign,cRLSign,digitalSignature in "
	"the extension section; CFSSL: usages \"cert sign\", \"crl sign\"; "
	"certtool: cert_signing_key and crl_signing_key in the template";
static const char subca__hint_pathlen[] =
	"CFSSL omits a path length of 0 unless the profile has both "
	"\"max_path_len\": 0 and \"max_path_len_zero\": true; openssl: "
	"basicConstraints=critical,CA:true,pathlen:N; certtool: path_len = N; "
	"step --profile intermediate-ca defaults to pathlen 0; or accept it "
	"with --accept-weaker";
static const char subca__hint_nc_cfssl[] =
	"CFSSL cannot set name constraints: sign with openssl, certtool or "
	"subca sign-intermediate, or accept it with --accept-weaker";
static const char subca__hint_nc[] =
	"openssl ca: put the nameConstraints line in the extension section "
	"(copy_extensions does not replace an extension the section sets); "
	"certtool: honor_crq_extensions or nc_permit_dns/nc_exclude_dns; "
	"CFSSL cannot set name constraints; step drops them unless its template has them; "
	"or accept it with --accept-weaker";
static const char subca__hint_sha[] =
	"sign with SHA-256 or better: openssl x509/req -sha256, openssl ca "
	"-md sha256, certtool --hash SHA256";
static const char subca__hint_critical[] =
	"RFC 5280 4.2: clients reject a certificate with a critical extension "
	"they do not recognise: remove it from the signing profile or mark it "
	"non-critical";
static const char subca__hint_expired[] =
	"check the signing machine's clock and the validity (-days) given to "
	"the signing tool, then sign the CSR again";
static const char subca__hint_future[] =
	"subca does not yet accept a future-dated intermediate: sign it with a "
	"notBefore in the past (check the signing machine's clock) or upload "
	"it once it is valid";
static const char subca__hint_nc_root[] =
	"the imported chain's name constraints do not allow this name: request "
	"the intermediate (`subca intermediate request`) with a subject and "
	"name constraints inside them";
static const char subca__hint_pathlen_root[] =
	"a CA above allows no further CA level: sign subca's CSR with a CA "
	"whose path length leaves room, or re-issue that CA with a larger "
	"pathlen";

struct subca__vctx {
	const struct subca_intermediate_check *c;
	struct subca_report *rep;
	STACK_OF(X509) *chain; /* borrowed: the imported chain */
	X509 *issuer;	       /* borrowed: the issuing CA */
	X509 *x;	       /* borrowed: the intermediate */
	char subj[SUBCA__NAME_MAX];
	char issuer_subj[SUBCA__NAME_MAX];
	bool cfssl; /* looks like CFSSL output: for hints only */
	bool v1;
	struct subca_csr_request req;
};

/* ---- small helpers ------------------------------------------------------ */

static void subca__name(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int got = 0;

	buf[0] = '\0';
	if (b != NULL && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0)
		got = BIO_read(b, buf, (int)len - 1);
	buf[got > 0 ? got : 0] = '\0';
	BIO_free(b);
	if (buf[0] == '\0')
		snprintf(buf, len, "(empty subject)");
}

static void subca__cert_name(X509 *x, char *buf, size_t len)
{
	subca__name(X509_get_subject_name(x), buf, len);
}

/* "ec-p256 sha256:0123456789abcdef": type and start of the SPKI hash. */
static void subca__key_text(EVP_PKEY *k, char *buf, size_t len)
{
	unsigned char *der = NULL, md[32];
	char type[32];
	int n;

	if (k == NULL) {
		snprintf(buf, len, "an unreadable key");
		return;
	}
	subca_key_describe(k, type, sizeof(type));
	n = i2d_PUBKEY(k, &der);
	if (n <= 0 || !EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL)) {
		snprintf(buf, len, "%s", type);
	} else {
		snprintf(buf, len,
			 "%s sha256:%02x%02x%02x%02x%02x%02x%02x%02x", type,
			 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7]);
	}
	OPENSSL_free(der);
	ERR_clear_error();
}

static bool subca__in_chain(STACK_OF(X509) *chain, X509 *x)
{
	for (int i = 0; i < sk_X509_num(chain); i++)
		if (X509_cmp(sk_X509_value(chain, i), x) == 0)
			return true;
	return false;
}

static void subca__refuse_internal(struct subca__vctx *v)
{
	subca_report_refuse_current(v->rep);
}

/* ---- which certificate is the intermediate ----------------------------- */

static int subca__find(struct subca__vctx *v, STACK_OF(X509) *certs)
{
	EVP_PKEY *want = X509_REQ_get0_pubkey(v->c->csr);

	for (int i = 0; want != NULL && i < sk_X509_num(certs); i++) {
		EVP_PKEY *k = X509_get0_pubkey(sk_X509_value(certs, i));

		if (k != NULL && subca_key_public_equal(k, want) == 1)
			return i;
	}
	ERR_clear_error();
	return -1;
}

static void subca__no_match(struct subca__vctx *v, STACK_OF(X509) *certs)
{
	X509_NAME *want_name = X509_REQ_get_subject_name(v->c->csr);
	char want[SUBCA__KEY_MAX], got[SUBCA__KEY_MAX], name[SUBCA__NAME_MAX];
	X509 *other = NULL;

	subca__key_text(X509_REQ_get0_pubkey(v->c->csr), want, sizeof(want));
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (subca__in_chain(v->chain, x))
			continue;
		if (other == NULL ||
		    X509_NAME_cmp(X509_get_subject_name(x), want_name) == 0)
			other = x;
	}
	if (other == NULL) {
		subca_report_refuse(v->rep, SUBCA_E_KEY_MISMATCH,
				    "upload the certificate your root issued "
				    "for the CSR from `subca intermediate csr`",
				    "the file holds only the root chain, not "
				    "the signed intermediate (pending key %s)",
				    want);
		return;
	}
	subca__cert_name(other, name, sizeof(name));
	subca__key_text(X509_get0_pubkey(other), got, sizeof(got));
	subca_report_refuse(
		v->rep, SUBCA_E_KEY_MISMATCH,
		"sign the CSR from `subca intermediate csr` (download it again: "
		"an older CSR or one made elsewhere has another key)",
		"certificate \"%s\" carries key %s, but the pending CSR's key is "
		"%s: you signed a different CSR%s",
		name, got, want,
		X509_NAME_cmp(X509_get_subject_name(other), want_name) == 0
			? " (same subject, other key)"
			: "");
}

/* Every other certificate must be part of the imported chain. */
static void subca__others(struct subca__vctx *v, STACK_OF(X509) *certs)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *o = sk_X509_value(certs, i);
		char name[SUBCA__NAME_MAX];

		if (X509_cmp(o, v->x) == 0 || subca__in_chain(v->chain, o))
			continue;
		subca__cert_name(o, name, sizeof(name));
		subca_report_refuse(
			v->rep, SUBCA_E_UNRELATED_CERTS,
			"upload the signed intermediate alone, or with the "
			"imported root chain",
			"certificate \"%s\" in the upload is neither the "
			"intermediate \"%s\" nor part of the imported root chain",
			name, v->subj);
	}
}

/* ---- checks on the intermediate ----------------------------------------- */

/* CFSSL re-encodes the subject as PrintableString (REFERENCES.md). */
static int subca__printable_count(const X509_NAME *n)
{
	int count = 0;

	for (int i = 0; i < X509_NAME_entry_count(n); i++) {
		const ASN1_STRING *s =
			X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));

		count += ASN1_STRING_type(s) == V_ASN1_PRINTABLESTRING;
	}
	return count;
}

static void subca__detect_tool(struct subca__vctx *v)
{
	v->cfssl = subca__printable_count(X509_get_subject_name(v->x)) >
		   subca__printable_count(X509_REQ_get_subject_name(v->c->csr));
}

static void subca__check_version(struct subca__vctx *v)
{
	if (X509_get_version(v->x) == X509_VERSION_3)
		return;
	v->v1 = true;
	subca_report_refuse(v->rep, SUBCA_E_V1_CERT, subca__hint_extfile,
			    "intermediate \"%s\" is an X.509 v%ld certificate "
			    "without extensions, so it is not a CA",
			    v->subj, X509_get_version(v->x) + 1);
}

static void subca__check_signature(struct subca__vctx *v)
{
	char key[SUBCA__KEY_MAX], hint[SUBCA_ERROR_HINT_MAX];
	SUBCA_AUTO(AUTHORITY_KEYID) AUTHORITY_KEYID *akid = NULL;

	if (X509_verify(v->x, X509_get0_pubkey(v->issuer)) != 1) {
		ERR_clear_error();
		subca__key_text(X509_get0_pubkey(v->issuer), key, sizeof(key));
		snprintf(hint, sizeof(hint),
			 "sign with the private key of the imported root "
			 "\"%s\" (its key is %s); two roots with the same "
			 "name are different roots",
			 v->issuer_subj, key);
		subca_report_refuse(
			v->rep, SUBCA_E_WRONG_ISSUER, hint,
			"intermediate \"%s\": signature does not verify with "
			"the imported root's key: a look-alike root with the "
			"same name?",
			v->subj);
		return;
	}
	akid = X509_get_ext_d2i(v->x, NID_authority_key_identifier, NULL, NULL);
	X509_get_extension_flags(v->issuer); /* caches the issuer's SKI */
	ERR_clear_error();
	if (akid == NULL || X509_check_akid(v->issuer, akid) == X509_V_OK)
		return;
	subca_report_refuse(
		v->rep, SUBCA_E_WRONG_ISSUER,
		"the signing tool computed the authority key identifier instead "
		"of copying the root's subject key identifier (GnuTLS certtool "
		"computes it differently); with openssl use "
		"authorityKeyIdentifier=keyid:always",
		"intermediate \"%s\": its authority key identifier does not "
		"match the imported root \"%s\", so clients will not find the "
		"root as its issuer",
		v->subj, v->issuer_subj);
}

static void subca__check_issuer(struct subca__vctx *v)
{
	X509_NAME *iname = X509_get_issuer_name(v->x);
	char issued_by[SUBCA__NAME_MAX], hint[SUBCA_ERROR_HINT_MAX];

	if (X509_NAME_cmp(iname, X509_get_subject_name(v->issuer)) == 0) {
		subca__check_signature(v);
		return;
	}
	subca__name(iname, issued_by, sizeof(issued_by));
	snprintf(hint, sizeof(hint),
		 "sign the CSR with the imported root \"%s\", or import the "
		 "root that issued it first (`subca root import`)",
		 v->issuer_subj);
	for (int i = 0; i + 1 < sk_X509_num(v->chain); i++)
		if (X509_NAME_cmp(iname, X509_get_subject_name(
						 sk_X509_value(v->chain, i))) ==
		    0)
			snprintf(hint, sizeof(hint),
				 "\"%s\" is in the imported chain but is not "
				 "its issuing CA: sign the CSR with \"%s\"",
				 issued_by, v->issuer_subj);
	subca_report_refuse(v->rep, SUBCA_E_WRONG_ISSUER, hint,
			    "intermediate \"%s\" was issued by \"%s\", not by "
			    "the imported root \"%s\"",
			    v->subj, issued_by, v->issuer_subj);
}

/* A CA:FALSE (or no basicConstraints) certificate made for a server or
 * client: serverAuth/clientAuth or subject alternative names. */
static bool subca__looks_leaf(X509 *x)
{
	uint32_t xku = X509_get_extended_key_usage(x);
	bool has_eku = (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0;

	if (has_eku && (xku & (XKU_SSL_SERVER | XKU_SSL_CLIENT)))
		return true;
	return X509_get_ext_by_NID(x, NID_subject_alt_name, -1) >= 0;
}

static void subca__check_bc(struct subca__vctx *v)
{
	int crit = -1;
	SUBCA_AUTO(BASIC_CONSTRAINTS) BASIC_CONSTRAINTS *bc =
		X509_get_ext_d2i(v->x, NID_basic_constraints, &crit, NULL);

	ERR_clear_error();
	if (bc != NULL && bc->ca) {
		/* RFC 5280 4.2.1.9: MUST be critical; clients accept it */
		if (!crit)
			subca_report_warn(v->rep, SUBCA_E_NOT_STRICT_RFC5280,
					  "openssl: basicConstraints=critical,"
					  "CA:true",
					  "intermediate \"%s\": basicConstraints "
					  "is not marked critical (RFC 5280 "
					  "4.2.1.9); most clients accept it",
					  v->subj);
		return;
	}
	if (subca__looks_leaf(v->x)) {
		subca_report_refuse(v->rep, SUBCA_E_LEAF_CERT, subca__hint_leaf,
				    "intermediate \"%s\" is an end-entity "
				    "certificate (%s, with TLS server/client "
				    "usage or alternative names), not a CA",
				    v->subj,
				    bc ? "CA:FALSE" : "no basicConstraints");
		return;
	}
	if (bc != NULL)
		subca_report_refuse(v->rep, SUBCA_E_NOT_CA,
				    subca__hint_ca_cfssl,
				    "intermediate \"%s\" has basicConstraints "
				    "CA:FALSE: it cannot issue certificates",
				    v->subj);
	else
		subca_report_refuse(v->rep, SUBCA_E_NOT_CA,
				    v->cfssl ? subca__hint_ca_cfssl
					     : subca__hint_no_bc,
				    "intermediate \"%s\" has %s: it is not a CA",
				    v->subj,
				    crit == -1 ? "no basicConstraints extension"
					       : "an unreadable basicConstraints "
						 "extension");
}

static void subca__check_ku(struct subca__vctx *v)
{
	const char *hint = v->cfssl ? subca__hint_ku_cfssl : subca__hint_ku;
	uint32_t ku = X509_get_key_usage(v->x);

	if (!(X509_get_extension_flags(v->x) & EXFLAG_KUSAGE)) {
		/* RFC 5280 4.2.1.3: conforming CAs MUST include keyUsage */
		subca_report_refuse(v->rep, SUBCA_E_NO_KEYCERTSIGN, hint,
				    "intermediate \"%s\" has no keyUsage "
				    "extension; RFC 5280 4.2.1.3 requires a CA "
				    "to have one with keyCertSign (openssl "
				    "verify -x509_strict refuses it)",
				    v->subj);
		return;
	}
	if (!(ku & KU_KEY_CERT_SIGN))
		subca_report_refuse(v->rep, SUBCA_E_NO_KEYCERTSIGN, hint,
				    "intermediate \"%s\": keyUsage lacks "
				    "keyCertSign, so it cannot sign "
				    "certificates",
				    v->subj);
	if (!(ku & KU_CRL_SIGN))
		subca_report_warn(v->rep, SUBCA_E_NO_KEYCERTSIGN, hint,
				  "intermediate \"%s\": keyUsage lacks cRLSign: "
				  "clients will reject the CRLs subca signs "
				  "with it",
				  v->subj);
}

static void subca__check_validity(struct subca__vctx *v)
{
	time_t now = v->c->now;
	const ASN1_TIME *nb = X509_get0_notBefore(v->x);
	const ASN1_TIME *na = X509_get0_notAfter(v->x);

	if (X509_cmp_time(na, &now) <= 0)
		subca_report_refuse(v->rep, SUBCA_E_EXPIRED, subca__hint_expired,
				    "intermediate \"%s\" has expired (or has an "
				    "unreadable notAfter)",
				    v->subj);
	if (X509_cmp_time(nb, &now) >= 0)
		subca_report_refuse(v->rep, SUBCA_E_NOT_YET_VALID,
				    subca__hint_future,
				    "intermediate \"%s\" is not yet valid: its "
				    "notBefore is in the future (or unreadable)",
				    v->subj);
	ERR_clear_error();
}

/* Leaf lifetimes are capped by the earliest notAfter above them. */
static void subca__check_nesting(struct subca__vctx *v)
{
	const ASN1_TIME *na = X509_get0_notAfter(v->x);
	X509 *first = NULL;
	char name[SUBCA__NAME_MAX];

	for (int i = 0; i < sk_X509_num(v->chain); i++) {
		X509 *ca = sk_X509_value(v->chain, i);

		if (ASN1_TIME_compare(na, X509_get0_notAfter(ca)) > 0 &&
		    (first == NULL ||
		     ASN1_TIME_compare(X509_get0_notAfter(ca),
				       X509_get0_notAfter(first)) < 0))
			first = ca;
	}
	ERR_clear_error();
	if (first == NULL)
		return;
	subca__cert_name(first, name, sizeof(name));
	subca_report_warn(v->rep, SUBCA_E_OUTLIVES_ISSUER, NULL,
			  "intermediate \"%s\" is valid past the notAfter of "
			  "\"%s\": leaf lifetimes will be capped by it",
			  v->subj, name);
}

static void subca__check_sigalg(struct subca__vctx *v)
{
	int mdnid = NID_undef, sig = X509_get_signature_nid(v->x);

	if (!X509_get_signature_info(v->x, &mdnid, NULL, NULL, NULL))
		mdnid = NID_undef;
	ERR_clear_error();
	if (mdnid != NID_md5 && mdnid != NID_sha1 && mdnid != NID_md4 &&
	    mdnid != NID_md2 && mdnid != NID_md5_sha1)
		return;
	subca_report_refuse(v->rep, SUBCA_E_WEAK_SIGNATURE, subca__hint_sha,
			    "intermediate \"%s\" is signed with %s: collisions "
			    "make it forgeable and TLS clients refuse it",
			    v->subj, OBJ_nid2ln(sig));
}

static void subca__check_key(struct subca__vctx *v)
{
	if (subca_key_check_strength(X509_get0_pubkey(v->x),
				     "intermediate key") != SUBCA_OK)
		subca__refuse_internal(v);
}

static bool subca__self_issued(X509 *x)
{
	return X509_NAME_cmp(X509_get_subject_name(x),
			     X509_get_issuer_name(x)) == 0;
}

/* RFC 5280 4.2.1.9 / 6.1.4 (l)-(m): count non-self-issued CAs below each. */
static void subca__check_pathlen(struct subca__vctx *v)
{
	int n = sk_X509_num(v->chain);

	for (int i = 0; i < n; i++) {
		X509 *ca = sk_X509_value(v->chain, i);
		long plen = X509_get_pathlen(ca);
		long below = 1; /* the intermediate itself */
		char name[SUBCA__NAME_MAX];

		for (int j = i + 1; j < n; j++)
			below += !subca__self_issued(sk_X509_value(v->chain, j));
		if (plen < 0 || below <= plen)
			continue;
		subca__cert_name(ca, name, sizeof(name));
		subca_report_refuse(v->rep, SUBCA_E_PATHLEN_FORBIDDEN,
				    subca__hint_pathlen_root,
				    "intermediate \"%s\" would be CA number %ld "
				    "below \"%s\", whose pathlen:%ld allows %ld",
				    v->subj, below, name, plen, plen);
	}
}

/* The intermediate's names against every chain CA's name constraints. */
static void subca__check_root_nc(struct subca__vctx *v)
{
	if (subca_cert_check_names(v->x, v->chain, false) == SUBCA_OK)
		return;
	subca_report_refuse(v->rep, subca_error_code(), subca__hint_nc_root,
			    "intermediate \"%s\": %s", v->subj,
			    subca_error_reason());
}

/* A certificate holding only a subject or one alternative name. */
static X509 *subca__probe(const X509_NAME *subject, GENERAL_NAME *gn)
{
	X509 *x = X509_new();
	GENERAL_NAMES *gns = NULL;
	bool ok = x != NULL;

	if (ok && subject != NULL)
		ok = X509_set_subject_name(x, subject);
	if (ok && gn != NULL) {
		gns = sk_GENERAL_NAME_new_null();
		ok = gns != NULL && sk_GENERAL_NAME_push(gns, gn) &&
		     X509_add1_ext_i2d(x, NID_subject_alt_name, gns, 0,
				       X509V3_ADD_DEFAULT) == 1;
		if (gns != NULL && sk_GENERAL_NAME_num(gns) == 1)
			(void)sk_GENERAL_NAME_pop(gns); /* gn stays the caller's */
		sk_GENERAL_NAME_free(gns);
	}
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	X509_get_extension_flags(x); /* cache the SAN now it is complete */
	return x;
}

static bool subca__probe_ok(X509 *probe, NAME_CONSTRAINTS *nc)
{
	int rv = probe != NULL ? NAME_CONSTRAINTS_check(probe, nc) : -1;

	ERR_clear_error();
	return rv == X509_V_OK;
}

static bool subca__ia5_probe_ok(int type, const char *text,
				NAME_CONSTRAINTS *nc)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	bool ok = false;

	if (gn != NULL && s != NULL && ASN1_STRING_set(s, text, -1)) {
		GENERAL_NAME_set0_value(gn, type, s);
		s = NULL;
		X509 *p = subca__probe(NULL, gn);

		ok = subca__probe_ok(p, nc);
		X509_free(p);
	}
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gn);
	return ok;
}

static bool subca__ip_probe_ok(const unsigned char *addr, int len,
			       NAME_CONSTRAINTS *nc)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
	bool ok = false;

	if (gn != NULL && s != NULL && ASN1_OCTET_STRING_set(s, addr, len)) {
		GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
		s = NULL;
		X509 *p = subca__probe(NULL, gn);

		ok = subca__probe_ok(p, nc);
		X509_free(p);
	}
	ASN1_OCTET_STRING_free(s);
	GENERAL_NAME_free(gn);
	return ok;
}

/* Is the subtree `base` inside what `nc` allows (approximately, by
 * probing representative names)? */
static bool subca__subtree_inside(const GENERAL_NAME *base,
				  NAME_CONSTRAINTS *nc)
{
	char text[300];
	const ASN1_STRING *s;
	int len;

	switch (base->type) {
	case GEN_DIRNAME: {
		X509 *p = subca__probe(base->d.directoryName, NULL);
		bool ok = subca__probe_ok(p, nc);

		X509_free(p);
		return ok;
	}
	case GEN_IPADD: {
		unsigned char lo[16], hi[16];

		s = base->d.iPAddress;
		len = ASN1_STRING_length(s) / 2;
		if (len != 4 && len != 16)
			return true;
		for (int i = 0; i < len; i++) {
			unsigned char a = ASN1_STRING_get0_data(s)[i];
			unsigned char m = ASN1_STRING_get0_data(s)[len + i];

			lo[i] = a & m;
			hi[i] = (unsigned char)(a | ~m);
		}
		return subca__ip_probe_ok(lo, len, nc) &&
		       subca__ip_probe_ok(hi, len, nc);
	}
	case GEN_DNS:
	case GEN_EMAIL:
		s = base->d.ia5;
		len = ASN1_STRING_length(s);
		if (len <= 0 || len > 250)
			return true;
		if (base->type == GEN_DNS) /* ".x": only names below x */
			snprintf(text, sizeof(text), "%s%.*s",
				 ASN1_STRING_get0_data(s)[0] == '.' ? "check"
								    : "",
				 len, ASN1_STRING_get0_data(s));
		else if (memchr(ASN1_STRING_get0_data(s), '@', (size_t)len))
			snprintf(text, sizeof(text), "%.*s", len,
				 ASN1_STRING_get0_data(s));
		else
			snprintf(text, sizeof(text), "check@%s%.*s",
				 ASN1_STRING_get0_data(s)[0] == '.' ? "x" : "",
				 len, ASN1_STRING_get0_data(s));
		return subca__ia5_probe_ok(base->type, text, nc);
	}
	return true;
}

static bool subca__has_type(STACK_OF(GENERAL_SUBTREE) *st, int type)
{
	for (int i = 0; i < sk_GENERAL_SUBTREE_num(st); i++)
		if (sk_GENERAL_SUBTREE_value(st, i)->base->type == type)
			return true;
	return false;
}

/* Text of a subtree base: "DNS:.example.com", "IP:10.0.0.0/8". */
static void subca__base_text(const GENERAL_NAME *gn, char *buf, size_t len)
{
	const ASN1_STRING *s;
	const unsigned char *p;
	int n, bits = 0;

	switch (gn->type) {
	case GEN_DNS:
	case GEN_EMAIL:
	case GEN_URI:
		s = gn->d.ia5;
		snprintf(buf, len, "%s:%.*s",
			 gn->type == GEN_DNS	   ? "DNS"
			 : gn->type == GEN_EMAIL ? "email"
						 : "URI",
			 ASN1_STRING_length(s) > 100 ? 100 : ASN1_STRING_length(s),
			 ASN1_STRING_get0_data(s));
		return;
	case GEN_IPADD:
		s = gn->d.iPAddress;
		n = ASN1_STRING_length(s);
		p = ASN1_STRING_get0_data(s);
		for (int i = n / 2; i < n; i++)
			for (int b = 0; b < 8; b++)
				bits += (p[i] >> b) & 1;
		if (n == 8)
			snprintf(buf, len, "IP:%u.%u.%u.%u/%d", p[0], p[1],
				 p[2], p[3], bits);
		else
			snprintf(buf, len, "IP:(IPv6)/%d", bits);
		return;
	case GEN_DIRNAME: {
		char name[120];

		subca__name(gn->d.directoryName, name, sizeof(name));
		snprintf(buf, len, "dirName:%s", name);
		return;
	}
	}
	snprintf(buf, len, "a name of type %d", gn->type);
}

/* RFC 5280 4.2.1.10: the effective constraints are the intersection, so a
 * wider permitted subtree in the intermediate is harmless but misleading. */
static void subca__check_nc_wider(struct subca__vctx *v)
{
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *own =
		X509_get_ext_d2i(v->x, NID_name_constraints, NULL, NULL);

	ERR_clear_error();
	for (int i = 0; own != NULL && i < sk_X509_num(v->chain); i++) {
		X509 *ca = sk_X509_value(v->chain, i);
		SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *nc =
			X509_get_ext_d2i(ca, NID_name_constraints, NULL, NULL);

		ERR_clear_error();
		if (nc == NULL || nc->permittedSubtrees == NULL)
			continue;
		for (int j = 0; j < sk_GENERAL_SUBTREE_num(own->permittedSubtrees);
		     j++) {
			GENERAL_NAME *b =
				sk_GENERAL_SUBTREE_value(own->permittedSubtrees,
							 j)->base;
			char name[SUBCA__NAME_MAX], text[160];

			if (!subca__has_type(nc->permittedSubtrees, b->type) ||
			    subca__subtree_inside(b, nc))
				continue;
			subca__cert_name(ca, name, sizeof(name));
			subca__base_text(b, text, sizeof(text));
			subca_report_warn(v->rep, SUBCA_E_NAME_CONSTRAINTS, NULL,
					  "intermediate \"%s\" permits %s, "
					  "wider than the name constraints of "
					  "\"%s\": only names both allow can be "
					  "issued (RFC 5280 4.2.1.10)",
					  v->subj, text, name);
		}
	}
}

static bool subca__known_critical(int nid)
{
	static const int known[] = {
		NID_basic_constraints,	  NID_key_usage,
		NID_ext_key_usage,	  NID_name_constraints,
		NID_policy_constraints,	  NID_inhibit_any_policy,
		NID_certificate_policies, NID_subject_alt_name,
		NID_policy_mappings,
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i] == nid)
			return true;
	return false;
}

static void subca__check_critical(struct subca__vctx *v)
{
	for (int i = 0; i < X509_get_ext_count(v->x); i++) {
		X509_EXTENSION *e = X509_get_ext(v->x, i);
		ASN1_OBJECT *obj = X509_EXTENSION_get_object(e);
		char oid[80];
		int nid = OBJ_obj2nid(obj);

		if (!X509_EXTENSION_get_critical(e) || subca__known_critical(nid))
			continue;
		OBJ_obj2txt(oid, sizeof(oid), obj, 1);
		subca_report_refuse(v->rep, SUBCA_E_UNKNOWN_CRITICAL,
				    subca__hint_critical,
				    "intermediate \"%s\" has a critical extension "
				    "%s%s%s%s that subca does not process",
				    v->subj, oid, nid != NID_undef ? " (" : "",
				    nid != NID_undef ? OBJ_nid2ln(nid) : "",
				    nid != NID_undef ? ")" : "");
	}
}

/* Refuse, or only warn when the operator accepts a weaker certificate. */
static void subca__weaker(struct subca__vctx *v, const char *hint,
			  const char *what)
{
	if (v->c->accept_weaker)
		subca_report_warn(v->rep, SUBCA_E_WEAKER_THAN_REQUESTED, hint,
				  "intermediate \"%s\": %s (accepted)", v->subj,
				  what);
	else
		subca_report_refuse(v->rep, SUBCA_E_WEAKER_THAN_REQUESTED,
				    hint, "intermediate \"%s\": %s", v->subj,
				    what);
}

static void subca__check_req_pathlen(struct subca__vctx *v)
{
	long want = v->req.path_len, got = X509_get_pathlen(v->x);
	char what[160];

	if (want < 0 || v->v1 || !(X509_get_extension_flags(v->x) & EXFLAG_CA))
		return;
	if (got < 0) {
		snprintf(what, sizeof(what),
			 "path length %ld was requested but the signed "
			 "certificate has no path length constraint",
			 want);
		subca__weaker(v, subca__hint_pathlen, what);
	} else if (got > want) {
		subca_report_warn(v->rep, SUBCA_E_WEAKER_THAN_REQUESTED,
				  subca__hint_pathlen,
				  "intermediate \"%s\" has a path length "
				  "larger than requested (pathlen:%ld, "
				  "requested %ld)",
				  v->subj, got, want);
	} else if (got < want) {
		subca_report_warn(v->rep, SUBCA_E_WEAKER_THAN_REQUESTED, NULL,
				  "intermediate \"%s\" has a path length "
				  "smaller than requested (pathlen:%ld, "
				  "requested %ld)",
				  v->subj, got, want);
	}
}

static bool subca__subtree_in(STACK_OF(GENERAL_SUBTREE) *st,
			      const GENERAL_NAME *gn)
{
	for (int i = 0; i < sk_GENERAL_SUBTREE_num(st); i++)
		if (GENERAL_NAME_cmp(sk_GENERAL_SUBTREE_value(st, i)->base,
				     (GENERAL_NAME *)gn) == 0)
			return true;
	return false;
}

/* Append "<label> <name>" for every subtree of `a` missing from `b`. */
static void subca__list_missing(STACK_OF(GENERAL_SUBTREE) *a,
				STACK_OF(GENERAL_SUBTREE) *b,
				const char *label, char *buf, size_t len)
{
	for (int i = 0; i < sk_GENERAL_SUBTREE_num(a); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_SUBTREE_value(a, i)->base;
		char text[160];
		size_t used = strlen(buf);

		if (subca__subtree_in(b, gn) || used + 1 >= len)
			continue;
		subca__base_text(gn, text, sizeof(text));
		snprintf(buf + used, len - used, "%s%s %s",
			 used > 0 ? ", " : "", label, text);
	}
}

static void subca__check_req_nc(struct subca__vctx *v)
{
	int crit = -1;
	SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *got =
		X509_get_ext_d2i(v->x, NID_name_constraints, &crit, NULL);
	NAME_CONSTRAINTS *want = v->req.nc;
	const char *hint = v->cfssl ? subca__hint_nc_cfssl : subca__hint_nc;
	char missing[200] = "", extra[200] = "", what[SUBCA_ERROR_REASON_MAX];

	ERR_clear_error();
	if (want == NULL || v->v1)
		return;
	if (got == NULL) {
		subca__list_missing(want->permittedSubtrees, NULL, "permitted",
				    missing, sizeof(missing));
		subca__list_missing(want->excludedSubtrees, NULL, "excluded",
				    missing, sizeof(missing));
		snprintf(what, sizeof(what),
			 "the requested name constraints are missing (%s)",
			 missing);
		subca__weaker(v, hint, what);
		return;
	}
	subca__list_missing(want->permittedSubtrees, got->permittedSubtrees,
			    "permitted", missing, sizeof(missing));
	subca__list_missing(want->excludedSubtrees, got->excludedSubtrees,
			    "excluded", missing, sizeof(missing));
	subca__list_missing(got->permittedSubtrees, want->permittedSubtrees,
			    "permitted", extra, sizeof(extra));
	if (missing[0] != '\0' || extra[0] != '\0') {
		snprintf(what, sizeof(what),
			 "the name constraints differ from the requested ones "
			 "(missing: %s; not requested: %s)",
			 missing[0] ? missing : "none",
			 extra[0] ? extra : "none");
		subca__weaker(v, hint, what);
	}
	/* RFC 5280 4.2.1.10: conforming CAs MUST mark it critical */
	if (!crit)
		subca_report_warn(v->rep, SUBCA_E_NOT_STRICT_RFC5280, NULL,
				  "intermediate \"%s\": nameConstraints is not "
				  "marked critical (RFC 5280 4.2.1.10)",
				  v->subj);
}

/* Same attributes (type and UTF-8 value), in any order and encoding. */
static bool subca__same_attrs(const X509_NAME *a, const X509_NAME *b)
{
	int n = X509_NAME_entry_count(a);
	bool used[64] = {false};

	if (n != X509_NAME_entry_count(b) || n > 64)
		return false;
	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *ea = X509_NAME_get_entry(a, i);
		unsigned char *va = NULL;
		int la = ASN1_STRING_to_UTF8(&va, X509_NAME_ENTRY_get_data(ea));
		bool found = false;

		for (int j = 0; la >= 0 && !found && j < n; j++) {
			const X509_NAME_ENTRY *eb = X509_NAME_get_entry(b, j);
			unsigned char *vb = NULL;
			int lb;

			if (used[j] ||
			    OBJ_cmp(X509_NAME_ENTRY_get_object(ea),
				    X509_NAME_ENTRY_get_object(eb)) != 0)
				continue;
			lb = ASN1_STRING_to_UTF8(&vb,
						 X509_NAME_ENTRY_get_data(eb));
			found = lb == la && memcmp(va, vb, (size_t)la) == 0;
			used[j] = found;
			OPENSSL_free(vb);
		}
		OPENSSL_free(va);
		if (!found) {
			ERR_clear_error();
			return false;
		}
	}
	return true;
}

bool subca_name_der_equal(const X509_NAME *a, const X509_NAME *b)
{
	const unsigned char *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;

	if (!X509_NAME_get0_der(a, &da, &la) || !X509_NAME_get0_der(b, &db, &lb))
		return false;
	return la == lb && memcmp(da, db, la) == 0;
}

static void subca__check_subject(struct subca__vctx *v)
{
	X509_NAME *want = X509_REQ_get_subject_name(v->c->csr);
	X509_NAME *got = X509_get_subject_name(v->x);
	char req[SUBCA__NAME_MAX];
	const char *how;

	if (subca_name_der_equal(want, got))
		return;
	subca__name(want, req, sizeof(req));
	if (X509_NAME_cmp(want, got) == 0)
		how = "re-encoded (other string types";
	else if (subca__same_attrs(want, got))
		how = "reordered or re-encoded (same attributes";
	else
		how = "DIFFERENT from the requested subject (other attribute "
		      "values: clients will see the signed one";
	ERR_clear_error();
	subca_report_warn(v->rep, SUBCA_E_SUBJECT_CHANGED,
			  v->cfssl ? "CFSSL re-encodes the subject as "
				     "PrintableString in its own attribute "
				     "order and drops DC/emailAddress/UID"
				   : "openssl ca drops attributes not in its "
				     "policy unless given -preserveDN; Vault "
				     "needs use_csr_values=true",
			  "intermediate \"%s\": subject is %s; requested "
			  "\"%s\"); the key, which matches, is what identifies "
			  "the intermediate",
			  v->subj, how, req);
}

static void subca__check_ids(struct subca__vctx *v)
{
	if (X509_get0_subject_key_id(v->issuer) == NULL)
		subca_report_warn(v->rep, SUBCA_E_NOT_STRICT_RFC5280, NULL,
				  "the issuing CA \"%s\" has no subject key "
				  "identifier: openssl verify -x509_strict "
				  "refuses the chain; most clients accept it",
				  v->issuer_subj);
	if (v->v1)
		return;
	if (X509_get0_subject_key_id(v->x) == NULL)
		subca_report_warn(v->rep, SUBCA_E_NOT_STRICT_RFC5280,
				  "openssl: subjectKeyIdentifier=hash",
				  "intermediate \"%s\" has no subject key "
				  "identifier (RFC 5280 4.2.1.2); leaves will "
				  "name it by issuer and serial",
				  v->subj);
	if (X509_get_ext_by_NID(v->x, NID_authority_key_identifier, -1) < 0)
		subca_report_warn(v->rep, SUBCA_E_NOT_STRICT_RFC5280,
				  "openssl: authorityKeyIdentifier=keyid:always",
				  "intermediate \"%s\" has no authority key "
				  "identifier (RFC 5280 4.2.1.1)",
				  v->subj);
	ERR_clear_error();
}

static void subca__check_flags(struct subca__vctx *v)
{
	if (!(X509_get_extension_flags(v->x) & EXFLAG_INVALID))
		return;
	subca_report_refuse(v->rep, SUBCA_E_CHAIN_VERIFY, NULL,
			    "intermediate \"%s\" has a malformed or duplicated "
			    "extension that certificate verifiers refuse",
			    v->subj);
}

/* ---- the throw-away leaf ------------------------------------------------ */

struct subca__names_list {
	char v[8][SUBCA__NAME_MAX];
	int n;
};

/* Candidate leaf names: a reserved name, then one inside each permitted
 * DNS subtree of the chain and the intermediate. */
static void subca__leaf_names(struct subca__vctx *v,
			      struct subca__names_list *out)
{
	int n = sk_X509_num(v->chain);

	snprintf(out->v[0], sizeof(out->v[0]), "%s", SUBCA__LEAF_CN);
	out->n = 1;
	for (int i = 0; i <= n && out->n < 8; i++) {
		X509 *ca = i < n ? sk_X509_value(v->chain, i) : v->x;
		SUBCA_AUTO(NAME_CONSTRAINTS) NAME_CONSTRAINTS *nc =
			X509_get_ext_d2i(ca, NID_name_constraints, NULL, NULL);

		ERR_clear_error();
		for (int j = 0; nc != NULL && out->n < 8 &&
				j < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees);
		     j++) {
			const GENERAL_NAME *b =
				sk_GENERAL_SUBTREE_value(nc->permittedSubtrees,
							 j)->base;
			const ASN1_STRING *s = b->d.ia5;
			int len;

			if (b->type != GEN_DNS)
				continue;
			len = ASN1_STRING_length(s);
			if (len <= 0 || len > 150)
				continue;
			snprintf(out->v[out->n], sizeof(out->v[0]), "check%s%.*s",
				 ASN1_STRING_get0_data(s)[0] == '.' ? "" : ".",
				 len, ASN1_STRING_get0_data(s));
			out->n++;
		}
	}
}

/* A CSR for the leaf: the intermediate's subject (for directoryName
 * constraints) with CN replaced by `cn`. */
static subca_result subca__leaf_csr(struct subca__vctx *v, EVP_PKEY *key,
				    const char *cn, X509_REQ **out)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *req = X509_REQ_new();
	SUBCA_AUTO(X509_NAME) X509_NAME *n =
		X509_NAME_dup(X509_get_subject_name(v->x));
	int i;

	SUBCA_ENSURE(req != NULL && n != NULL, SUBCA_E_NOMEM, "out of memory");
	while ((i = X509_NAME_get_index_by_NID(n, NID_commonName, -1)) >= 0)
		X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, i));
	SUBCA_OSSL(X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
					      (const unsigned char *)cn, -1,
					      -1, 0) &&
			   X509_REQ_set_subject_name(req, n) &&
			   X509_REQ_set_pubkey(req, key) &&
			   X509_REQ_sign(req, key, subca_key_sign_md(key)) > 0,
		   SUBCA_E_CRYPTO, "cannot build the test leaf request");
	*out = subca_steal(&req);
	return SUBCA_OK;
}

/* The CAs above the leaf: the chain and the intermediate. */
static STACK_OF(X509) *subca__cas(struct subca__vctx *v)
{
	STACK_OF(X509) *cas = sk_X509_dup(v->chain);

	if (cas != NULL && !sk_X509_push(cas, v->x)) {
		sk_X509_free(cas);
		return NULL;
	}
	return cas;
}

static subca_result subca__issue_one(struct subca__vctx *v, EVP_PKEY *key,
				     const char *name, X509 **out)
{
	SUBCA_AUTO(X509_REQ) X509_REQ *req = NULL;
	const char *sans[1] = {name};
	struct subca_issuer iss = {.cert = v->x, .key = v->c->key};
	struct subca_leaf_request r = {
		.sans = {sans, 1},
		.days = 1,
		.now = v->c->now,
	};

	SUBCA_TRY(subca__leaf_csr(v, key, name, &req));
	r.csr = req;
	return subca_leaf_issue(&iss, &r, out);
}

static subca_result subca__issue_leaf(struct subca__vctx *v, X509 **out)
{
	struct subca__names_list names;
	SUBCA_AUTO(EVP_PKEY) EVP_PKEY *key = NULL;
	STACK_OF(X509) *cas = subca__cas(v);
	subca_result rv = SUBCA_OK;

	SUBCA_ENSURE(cas != NULL, SUBCA_E_NOMEM, "out of memory");
	subca__leaf_names(v, &names);
	rv = subca_key_generate(SUBCA_KEY_EC_P256, &key);
	for (int i = 0; rv == SUBCA_OK && i < names.n; i++) {
		X509 *leaf = NULL;

		rv = subca__issue_one(v, key, names.v[i], &leaf);
		if (rv == SUBCA_E_NAME_CONSTRAINTS && i + 1 < names.n) {
			rv = SUBCA_OK;
			continue;
		}
		if (rv != SUBCA_OK)
			break;
		rv = subca_leaf_check_names(leaf, cas);
		if (rv == SUBCA_OK || i + 1 == names.n) {
			*out = leaf;
			rv = SUBCA_OK;
			break;
		}
		X509_free(leaf);
		rv = SUBCA_OK;
	}
	sk_X509_free(cas);
	return rv;
}

static X509_STORE_CTX *subca__verify_ctx(struct subca__vctx *v, X509 *leaf,
					 STACK_OF(X509) *untrusted,
					 X509_STORE *store)
{
	X509 *anchor = sk_X509_value(v->chain, 0);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;

	if (ctx == NULL || !X509_STORE_add_cert(store, anchor) ||
	    !X509_STORE_CTX_init(ctx, store, leaf, untrusted) ||
	    !X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER)) {
		X509_STORE_CTX_free(ctx);
		return NULL;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, v->c->now);
	/* An anchor that is not self-signed is trusted as it is */
	if (X509_self_signed(anchor, 1) != 1)
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	ERR_clear_error();
	return ctx;
}

static void subca__verify_chain(struct subca__vctx *v, X509 *leaf)
{
	SUBCA_AUTO(X509_STORE) X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = subca__cas(v);
	SUBCA_AUTO(X509_STORE_CTX) X509_STORE_CTX *ctx = NULL;
	char name[SUBCA__NAME_MAX];
	X509 *at;
	int err;

	if (store == NULL || untrusted == NULL ||
	    (ctx = subca__verify_ctx(v, leaf, untrusted, store)) == NULL) {
		sk_X509_free(untrusted);
		subca_report_refuse(v->rep, SUBCA_E_NOMEM, NULL,
				    "out of memory verifying the chain");
		return;
	}
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		at = X509_STORE_CTX_get_current_cert(ctx);
		if (at != NULL)
			subca__cert_name(at, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "?");
		subca_report_refuse(v->rep, SUBCA_E_CHAIN_VERIFY, NULL,
				    "OpenSSL's verifier refuses the chain root "
				    "-> intermediate \"%s\" -> test leaf at "
				    "\"%s\" (depth %d): %s",
				    v->subj, name,
				    X509_STORE_CTX_get_error_depth(ctx),
				    X509_verify_cert_error_string(err));
	}
	ERR_clear_error();
	sk_X509_free(untrusted);
}

static void subca__check_leaf(struct subca__vctx *v)
{
	SUBCA_AUTO(X509) X509 *leaf = NULL;

	if (subca__issue_leaf(v, &leaf) != SUBCA_OK) {
		enum subca_code code = subca_error_code();

		subca_report_refuse(v->rep,
				    code == SUBCA_E_NAME_CONSTRAINTS
					    ? code
					    : SUBCA_E_CHAIN_VERIFY,
				    NULL,
				    "intermediate \"%s\" cannot issue a test "
				    "leaf: %s",
				    v->subj, subca_error_reason());
		return;
	}
	subca__verify_chain(v, leaf);
}

/* ---- the whole verification --------------------------------------------- */

static void subca__check_cert(struct subca__vctx *v)
{
	subca__detect_tool(v);
	subca__check_version(v);
	subca__check_issuer(v);
	if (!v->v1) {
		subca__check_flags(v);
		subca__check_bc(v);
		subca__check_ku(v);
		subca__check_critical(v);
	}
	subca__check_validity(v);
	subca__check_nesting(v);
	subca__check_sigalg(v);
	subca__check_key(v);
	subca__check_pathlen(v);
	subca__check_root_nc(v);
	subca__check_nc_wider(v);
	subca__check_req_pathlen(v);
	subca__check_req_nc(v);
	subca__check_subject(v);
	subca__check_ids(v);
}

static subca_result subca__verify(struct subca__vctx *v,
				  struct subca_slice upload, X509 **cert_out)
{
	SUBCA_AUTO_X509_STACK STACK_OF(X509) *certs = NULL;
	size_t refusals = v->rep->refusals;
	int idx;

	if (subca_certin_parse(upload, &certs) != SUBCA_OK ||
	    subca_csr_requested(v->c->csr, &v->req) != SUBCA_OK) {
		subca_report_refuse_current(v->rep);
		return subca_error_code();
	}
	idx = subca__find(v, certs);
	if (idx < 0) {
		subca__no_match(v, certs);
		return subca_report_result(v->rep);
	}
	v->x = sk_X509_value(certs, idx);
	subca__cert_name(v->x, v->subj, sizeof(v->subj));
	subca__others(v, certs);
	subca__check_cert(v);
	if (v->rep->refusals == refusals)
		subca__check_leaf(v);
	SUBCA_TRY(subca_report_result(v->rep));
	SUBCA_OSSL(X509_up_ref(v->x), SUBCA_E_INTERNAL, "X509_up_ref failed");
	*cert_out = v->x;
	return SUBCA_OK;
}

subca_result subca_intermediate_verify(const struct subca_intermediate_check *c,
				       struct subca_slice upload,
				       struct subca_report *report,
				       X509 **cert_out)
{
	struct subca_report local;
	struct subca__vctx v = {.c = c, .rep = report ? report : &local};
	subca_result rv;

	*cert_out = NULL;
	if (report == NULL)
		subca_report_init(&local);
	SUBCA_ENSURE(c != NULL && c->root != NULL && c->root->chain != NULL &&
			     sk_X509_num(c->root->chain) > 0 && c->csr != NULL &&
			     c->key != NULL,
		     SUBCA_E_INVALID_ARGUMENT,
		     "intermediate check needs the root, the CSR and the key");
	v.chain = c->root->chain;
	v.issuer = subca_root_issuer(c->root);
	subca__cert_name(v.issuer, v.issuer_subj, sizeof(v.issuer_subj));
	v.req.path_len = -1;
	rv = subca__verify(&v, upload, cert_out);
	subca_csr_request_cleanup(&v.req);
	return rv;
}
