/*
 * dns-01 (RFC 8555 8.4) with glibc's libresolv: res_nquery asks the
 * configured resolver (or the system's) for TXT _acme-challenge.NAME, and
 * ns_initparse/ns_parserr read the answer. A recursive resolver follows
 * CNAMEs and puts the chain and the final TXT records in the answer
 * section, so every TXT record of class IN there counts.
 *
 * Since glibc 2.34 the res_n* functions live in libc; of libresolv only
 * ns_initparse and ns_parserr are needed, so it is loaded (dlopen) by the
 * first dns-01 check rather than mapped by every server at start.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../jose.h"
#include "subca/alloc.h"
#include "subca/limits.h"
#include "validate_int.h"

#define SUBCA__DNS_PREFIX "_acme-challenge."

/* The soname loaded on first use, fixed at build time. */
#define SUBCA__RESOLV_SONAME "libresolv.so.2"

static struct {
	__typeof__(ns_initparse) *initparse;
	__typeof__(ns_parserr) *parserr;
} subca__ns;
static pthread_once_t subca__ns_once = PTHREAD_ONCE_INIT;
static char subca__ns_why[160]; /* why loading failed, for every caller */

static void *subca__ns_sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);

	if (p == NULL)
		snprintf(subca__ns_why, sizeof(subca__ns_why), "it lacks %s",
			 name);
	return p;
}

static void subca__ns_load(void)
{
	void *lib = dlopen(SUBCA__RESOLV_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *init, *parse;

	if (lib == NULL) {
		const char *why = dlerror();

		snprintf(subca__ns_why, sizeof(subca__ns_why), "%s",
			 why != NULL ? why : "dlopen failed");
		return;
	}
	init = subca__ns_sym(lib, "ns_initparse");
	parse = init != NULL ? subca__ns_sym(lib, "ns_parserr") : NULL;
	if (parse == NULL) {
		dlclose(lib);
		return;
	}
	/* POSIX: a function's address comes from dlsym as void * */
	memcpy(&subca__ns.initparse, &init, sizeof(init));
	memcpy(&subca__ns.parserr, &parse, sizeof(parse));
}

static subca_result subca__ns_get(struct subca_acme_validation_error *err)
{
	pthread_once(&subca__ns_once, subca__ns_load);
	if (subca__ns.parserr == NULL)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "libresolv (%s) cannot be loaded: %s",
				 SUBCA__RESOLV_SONAME, subca__ns_why);
	return SUBCA_OK;
}

/* "IP" or "IP:PORT". glibc's res_state takes IPv6 servers only through
 * private fields, so a configured resolver is IPv4 (the system's resolver,
 * from resolv.conf, may be either). */
static subca_result subca__dns_server(const char *spec, struct sockaddr_in *sa,
				      struct subca_acme_validation_error *err)
{
	const char *colon = strchr(spec, ':');
	size_t hl = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	char host[INET_ADDRSTRLEN], shown[64], *end = NULL;
	long port = 53;

	if (colon != NULL) {
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
			port = -1;
	}
	if (hl >= sizeof(host) || port < 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "resolver \"%s\" is not IPv4[:PORT]",
				 SUBCA_SHOWN(spec, shown));
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "resolver \"%s\" is not IPv4[:PORT]",
				 SUBCA_SHOWN(spec, shown));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return SUBCA_OK;
}

static subca_result subca__dns_herr(int h, const char *qname,
				    struct subca_acme_validation_error *err)
{
	switch (h) {
	case HOST_NOT_FOUND:
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS,
				 "NXDOMAIN looking up TXT %s", qname);
	case NO_DATA:
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_UNAUTHORIZED,
				 "no TXT record at %s", qname);
	case TRY_AGAIN:
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS,
				 "no answer looking up TXT %s (timeout or "
				 "SERVFAIL)",
				 qname);
	default:
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS,
				 "the DNS server refused or failed the TXT "
				 "query for %s",
				 qname);
	}
}

static subca_result subca__dns_ask(struct __res_state *st,
				   const struct subca_acme_validation_cfg *cfg,
				   const char *qname, uint8_t *ans, int *n,
				   struct subca_acme_validation_error *err)
{
	int secs = subca__acmev_timeout(cfg) / 3000;

	if (cfg->resolver != NULL) {
		SUBCA_TRY(subca__dns_server(cfg->resolver, &st->nsaddr_list[0],
					    err));
		st->nscount = 1;
	}
	/* glibc waits retrans, then 2 * retrans: about the timeout in all */
	st->retrans = secs > 0 ? secs : 1;
	st->retry = 2;
	st->options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	*n = res_nquery(st, qname, ns_c_in, ns_t_txt, ans,
			SUBCA_MAX_ACME_DNS_ANSWER);
	if (*n < 0)
		return subca__dns_herr(st->res_h_errno, qname, err);
	if (*n > (int)SUBCA_MAX_ACME_DNS_ANSWER)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS,
				 "DNS response for TXT %s is larger than %u "
				 "bytes",
				 qname, SUBCA_MAX_ACME_DNS_ANSWER);
	return SUBCA_OK;
}

static subca_result subca__dns_query(const struct subca_acme_validation_cfg *cfg,
				     const char *qname, uint8_t *ans, int *n,
				     struct subca_acme_validation_error *err)
{
	struct __res_state st;
	subca_result rv;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0) {
		res_nclose(&st);
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "cannot initialise the DNS resolver");
	}
	rv = subca__dns_ask(&st, cfg, qname, ans, n, err);
	res_nclose(&st);
	return rv;
}

/* A TXT record's character-strings (RFC 1035 3.3.14) joined: the first
 * `cap` bytes into `out`, the whole length into *total. False when a
 * length runs past the record. */
static bool subca__txt_join(const uint8_t *rd, size_t len, char *out,
			    size_t cap, size_t *total)
{
	struct subca_reader r;
	struct subca_slice s;

	*total = 0;
	subca_reader_init(&r, subca_slice_of(rd, len));
	while (subca_reader_left(&r) > 0) {
		size_t k, room;

		if (subca_reader_bytes(&r, 1, &s) != SUBCA_OK)
			return false;
		k = s.p[0];
		if (subca_reader_bytes(&r, k, &s) != SUBCA_OK)
			return false;
		room = *total < cap ? cap - *total : 0;
		if (room > 0)
			memcpy(out + *total, s.p, k < room ? k : room);
		*total += k;
	}
	return true;
}

static subca_result subca__dns_match(const uint8_t *ans, int n,
				     const char *qname, const char *want,
				     struct subca_acme_validation_error *err)
{
	ns_msg msg;
	ns_rr rr;
	int found = 0;
	char first[64] = "";

	SUBCA_TRY(subca__ns_get(err));
	if (subca__ns.initparse(ans, n, &msg) < 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS,
				 "malformed DNS response for TXT %s", qname);
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		char txt[128];
		size_t total;

		if (subca__ns.parserr(&msg, ns_s_an, i, &rr) < 0)
			SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS,
					 "malformed answer record for TXT %s",
					 qname);
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue;
		if (!subca__txt_join(ns_rr_rdata(rr), ns_rr_rdlen(rr), txt,
				     sizeof(txt), &total))
			SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_DNS,
					 "malformed TXT record at %s", qname);
		if (total == strlen(want) && memcmp(txt, want, total) == 0)
			return SUBCA_OK;
		if (found++ == 0)
			subca_shown(txt, total < sizeof(txt) ? total : sizeof(txt),
				    first, sizeof(first));
	}
	if (found == 0)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_UNAUTHORIZED,
				 "no TXT record at %s", qname);
	SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INCORRECT,
			 "TXT record \"%s\" at %s (%d found, none matches) is "
			 "not base64url(SHA-256(key authorization))",
			 first, qname, found);
}

/* RFC 8555 8.4: the record holds base64url(SHA-256(key authorization)). */
static subca_result subca__dns_expected(const char *key_authz,
					struct subca_buf *out,
					struct subca_acme_validation_error *err)
{
	uint8_t d[SUBCA_ACMEV_SHA256_LEN];

	SUBCA_TRY(subca__acmev_digest(key_authz, d, err));
	if (subca_b64url_encode(subca_slice_of(d, sizeof(d)), 64, out) !=
	    SUBCA_OK)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL,
				 "cannot encode the expected TXT value");
	return SUBCA_OK;
}

subca_result subca__acme_dns01(const struct subca_acme_validation_cfg *cfg,
			       const struct subca_acme_ident *id,
			       const char *token, const char *key_authz,
			       struct subca_acme_validation_error *err)
{
	SUBCA_BUF_AUTO struct subca_buf want = {0};
	SUBCA_AUTOFREE uint8_t *ans = NULL;
	char qname[sizeof(SUBCA__DNS_PREFIX) + 253];
	int n = 0;

	/* RFC 1035 2.3.4: 253 characters in a name's text form */
	if (strlen(SUBCA__DNS_PREFIX) + strlen(id->value) > 253)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_MALFORMED,
				 "%s%s is longer than a DNS name may be",
				 SUBCA__DNS_PREFIX, id->value);
	snprintf(qname, sizeof(qname), "%s%s", SUBCA__DNS_PREFIX, id->value);
	SUBCA_TRY(subca__dns_expected(key_authz, &want, err));
	ans = subca_malloc(SUBCA_MAX_ACME_DNS_ANSWER);
	if (ans == NULL)
		SUBCA_ACMEV_FAIL(err, SUBCA_ACMEV_INTERNAL, "out of memory");
	SUBCA_TRY(subca__dns_query(cfg, qname, ans, &n, err));
	return subca__dns_match(ans, n, qname, (const char *)want.p, err);
}
