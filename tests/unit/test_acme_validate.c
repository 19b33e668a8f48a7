/*
 * ACME challenge validation against tiny servers run in this process on
 * 127.0.0.1 (free ports): an HTTP server for http-01, a UDP DNS responder
 * for dns-01 and a TLS server with ALPN acme-tls/1 for tls-alpn-01. Each
 * refusal asserts the ACME error type, SUBCA_E_ACME_VALIDATION and a part
 * of the detail. The expected hashes are computed here with OpenSSL and
 * EVP_EncodeBlock, not with the code under test.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "subca/limits.h"
#include "../../src/server/acme/validate.h"
#include "../../src/server/acme/validate_int.h"

#define THUMB "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define NAME "acme.test"

/* token "." thumbprint (RFC 8555 8.1) for a test token */
static const char *ka(const char *token)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s." THUMB, token);
	return buf[i];
}

static void sha256(const char *s, unsigned char out[32])
{
	assert_int_equal(EVP_Digest(s, strlen(s), out, NULL, EVP_sha256(), NULL), 1);
}

/* base64url(SHA-256(s)) without padding, as RFC 8555 8.4 puts in TXT */
static void txt_value(const char *s, char out[44])
{
	unsigned char d[32], b64[48];

	sha256(s, d);
	EVP_EncodeBlock(b64, d, 32);
	for (int i = 0; i < 43; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[43] = '\0';
}

static int listen_on(int type, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on (bound, then closed). */
static int closed_port(void)
{
	int port, fd = listen_on(SOCK_STREAM, &port);

	close(fd);
	return port;
}

/* Wait until fd is readable or `ms` pass; false on timeout. */
static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) > 0;
}

static void expect_fail(subca_result rv,
			const struct subca_acme_validation_error *err,
			const char *type, const char *needle)
{
	th_assert_error(rv, SUBCA_E_ACME_VALIDATION, needle);
	assert_string_equal(err->type, type);
	assert_non_null(strstr(err->detail, needle));
}

/* ---- a tiny HTTP server ----------------------------------------------- */

struct hs {
	int fd, port;
	pthread_t th;
	atomic_bool stop;
	char host[128]; /* Host header of the last request */
};

static void hs_send(int c, const char *status, const char *extra,
		    const char *body, size_t n, bool with_length)
{
	char head[512];
	int hl;

	if (with_length)
		hl = snprintf(head, sizeof(head),
			      "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n"
			      "Connection: close\r\n\r\n",
			      status, extra, n);
	else
		hl = snprintf(head, sizeof(head),
			      "HTTP/1.1 %s\r\n%sConnection: close\r\n\r\n",
			      status, extra);
	(void)!write(c, head, (size_t)hl);
	while (n > 0) {
		ssize_t w = write(c, body, n);

		if (w <= 0)
			break;
		body += w;
		n -= (size_t)w;
	}
}

static void hs_body_of(int c, const char *token, size_t size, bool len)
{
	char *b = malloc(size);
	const char *k = ka(token);

	memset(b, ' ', size);
	memcpy(b, k, strlen(k));
	hs_send(c, "200 OK", "", b, size, len);
	free(b);
}

static void hs_redirect(int c, const char *code, const char *to)
{
	char loc[300];

	snprintf(loc, sizeof(loc), "Location: %s\r\n", to);
	hs_send(c, code, loc, "", 0, true);
}

static void hs_answer(struct hs *s, int c, const char *path)
{
	const char *pre = "/.well-known/acme-challenge/";
	const char *t = strncmp(path, pre, strlen(pre)) == 0 ? path + strlen(pre) : "";
	char to[300];
	int n;

	if (strcmp(t, "good") == 0) {
		hs_send(c, "200 OK", "", ka("good"), strlen(ka("good")), true);
	} else if (strcmp(t, "spaced") == 0) {
		snprintf(to, sizeof(to), "%s \t\r\n\n", ka("spaced"));
		hs_send(c, "200 OK", "", to, strlen(to), true);
	} else if (strcmp(t, "lead") == 0) {
		snprintf(to, sizeof(to), " %s", ka("lead"));
		hs_send(c, "200 OK", "", to, strlen(to), true);
	} else if (strcmp(t, "wrong") == 0) {
		hs_send(c, "200 OK", "", "nope\x01", 5, true);
	} else if (strcmp(t, "limit") == 0) {
		hs_body_of(c, "limit", SUBCA_MAX_ACME_HTTP01_BODY, true);
	} else if (strcmp(t, "big") == 0) {
		hs_body_of(c, "big", SUBCA_MAX_ACME_HTTP01_BODY + 1, true);
	} else if (strcmp(t, "endless") == 0) {
		hs_body_of(c, "endless", 1024 * 1024, false);
	} else if (strcmp(t, "missing") == 0) {
		hs_send(c, "404 Not Found", "", "no", 2, true);
	} else if (strcmp(t, "loop") == 0) {
		hs_redirect(c, "302 Found", path);
	} else if (strcmp(t, "rel") == 0) {
		hs_redirect(c, "301 Moved Permanently", "/elsewhere/rel");
	} else if (strcmp(path, "/elsewhere/rel") == 0) {
		hs_send(c, "200 OK", "", ka("rel"), strlen(ka("rel")), true);
	} else if (strcmp(t, "ten") == 0 || strcmp(t, "eleven") == 0) {
		snprintf(to, sizeof(to), "/hop/%d/%s", t[0] == 't' ? 9 : 10, t);
		hs_redirect(c, "307 Temporary Redirect", to);
	} else if (sscanf(path, "/hop/%d/", &n) == 1) {
		const char *tok = strrchr(path, '/') + 1;

		snprintf(to, sizeof(to), "/hop/%d/%s", n - 1, tok);
		if (n > 0)
			hs_redirect(c, "308 Permanent Redirect", to);
		else
			hs_send(c, "200 OK", "", ka(tok), strlen(ka(tok)), true);
	} else if (strcmp(t, "ftp") == 0) {
		hs_redirect(c, "302 Found", "ftp://" NAME "/x");
	} else if (strcmp(t, "port") == 0) {
		snprintf(to, sizeof(to), "http://" NAME ":%d/x", s->port + 1);
		hs_redirect(c, "302 Found", to);
	} else if (strcmp(t, "slow") == 0) {
		/* say nothing until the client gives up */
		(void)readable(c, 10000);
	} else {
		hs_send(c, "404 Not Found", "", "", 0, true);
	}
}

static void hs_handle(struct hs *s, int c)
{
	char req[4096] = "", path[1024];
	size_t n = 0;
	const char *h;

	while (n < sizeof(req) - 1 && strstr(req, "\r\n\r\n") == NULL) {
		ssize_t r;

		if (!readable(c, 5000))
			return;
		r = read(c, req + n, sizeof(req) - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
	}
	if (sscanf(req, "GET %1023s HTTP/1.1", path) != 1)
		return;
	h = strstr(req, "\r\nHost: ");
	if (h != NULL)
		sscanf(h + 8, "%127[^\r]", s->host);
	hs_answer(s, c, path);
}

static void *hs_main(void *arg)
{
	struct hs *s = arg;

	while (!atomic_load(&s->stop)) {
		int c;

		if (!readable(s->fd, 50))
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		hs_handle(s, c);
		shutdown(c, SHUT_WR);
		close(c);
	}
	return NULL;
}

static struct hs *hs_start(void)
{
	struct hs *s = calloc(1, sizeof(*s));

	s->fd = listen_on(SOCK_STREAM, &s->port);
	assert_int_equal(pthread_create(&s->th, NULL, hs_main, s), 0);
	return s;
}

static void hs_stop(struct hs *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->fd);
	free(s);
}

/* http-01 for `token` at NAME, connecting to the test server. */
static subca_result http01(struct hs *s, const char *token, int timeout_ms,
			   struct subca_acme_validation_error *err)
{
	struct subca_acme_validation_cfg cfg = {
		.http_port = s->port,
		.tls_alpn_port = 443,
		.connect_host = "127.0.0.1",
		.timeout_ms = timeout_ms,
	};
	struct subca_acme_ident id = {.value = NAME};

	return subca_acme_validate(&cfg, SUBCA_ACME_HTTP01, &id, token,
				   ka(token), err);
}

static void test_http01_accepts_the_key_authorization_and_keeps_the_name_in_host(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;
	char host[160];

	assert_int_equal(http01(s, "good", 5000, &err), SUBCA_OK);
	snprintf(host, sizeof(host), NAME ":%d", s->port);
	assert_string_equal(s->host, host);
	assert_string_equal(err.type, "");
	hs_stop(s);
}

static void test_http01_ignores_trailing_whitespace_only(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;

	assert_int_equal(http01(s, "spaced", 5000, &err), SUBCA_OK);
	expect_fail(http01(s, "lead", 5000, &err), &err, "incorrectResponse",
		    "answered \" lead." THUMB);
	hs_stop(s);
}

static void test_http01_rejects_a_wrong_body_showing_it_printable(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;

	expect_fail(http01(s, "wrong", 5000, &err), &err, "incorrectResponse",
		    "/.well-known/acme-challenge/wrong answered \"nope?\", not the key authorization");
	hs_stop(s);
}

static void test_http01_takes_a_body_of_8_kib_and_not_one_byte_more(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;

	assert_int_equal(http01(s, "limit", 5000, &err), SUBCA_OK);
	expect_fail(http01(s, "big", 5000, &err), &err, "incorrectResponse",
		    "response body larger than 8192 bytes");
	/* no Content-Length: the transfer is cut at the cap */
	expect_fail(http01(s, "endless", 5000, &err), &err, "incorrectResponse",
		    "response body larger than 8192 bytes");
	hs_stop(s);
}

static void test_http01_reports_a_404_as_unauthorized(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;

	expect_fail(http01(s, "missing", 5000, &err), &err, "unauthorized",
		    "answered HTTP 404, not 200");
	hs_stop(s);
}

static void test_http01_follows_ten_redirects_but_not_eleven(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;

	assert_int_equal(http01(s, "rel", 5000, &err), SUBCA_OK);
	assert_int_equal(http01(s, "ten", 5000, &err), SUBCA_OK);
	expect_fail(http01(s, "eleven", 5000, &err), &err, "connection",
		    "more than 10 redirects");
	expect_fail(http01(s, "loop", 5000, &err), &err, "connection",
		    "acme-challenge/loop: more than 10 redirects");
	hs_stop(s);
}

static void test_http01_follows_redirects_only_to_http_on_its_port(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;
	char needle[64];

	expect_fail(http01(s, "ftp", 5000, &err), &err, "connection",
		    "only http and https are followed");
	snprintf(needle, sizeof(needle), "http is followed only to port %d", s->port);
	expect_fail(http01(s, "port", 5000, &err), &err, "connection", needle);
	hs_stop(s);
}

static void test_http01_gives_up_on_a_silent_server(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;

	expect_fail(http01(s, "slow", 200, &err), &err, "connection",
		    "acme-challenge/slow: timed out");
	hs_stop(s);
}

static void test_http01_reports_a_refused_connection(void **state)
{
	struct subca_acme_validation_cfg cfg = {
		.http_port = closed_port(), .connect_host = "127.0.0.1",
		.timeout_ms = 5000};
	struct subca_acme_ident id = {.value = NAME};
	struct subca_acme_validation_error err;

	expect_fail(subca_acme_validate(&cfg, SUBCA_ACME_HTTP01, &id, "good",
					ka("good"), &err),
		    &err, "connection", "acme-challenge/good: ");
}

static void test_http01_ignores_proxies_from_the_environment(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_error err;
	char proxy[64];

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", closed_port());
	setenv("http_proxy", proxy, 1);
	setenv("HTTP_PROXY", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	assert_int_equal(http01(s, "good", 5000, &err), SUBCA_OK);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("ALL_PROXY");
	hs_stop(s);
}

static void test_http01_validates_an_ip_identifier_at_the_address(void **state)
{
	struct hs *s = hs_start();
	struct subca_acme_validation_cfg cfg = {.http_port = s->port,
						.timeout_ms = 5000};
	struct subca_acme_ident id = {.value = "127.0.0.1", .is_ip = true};
	struct subca_acme_validation_error err;
	char host[64];

	assert_int_equal(subca_acme_validate(&cfg, SUBCA_ACME_HTTP01, &id,
					     "good", ka("good"), &err),
			 SUBCA_OK);
	snprintf(host, sizeof(host), "127.0.0.1:%d", s->port);
	assert_string_equal(s->host, host);
	hs_stop(s);
}

/* ---- arguments ----------------------------------------------------------- */

static void check_malformed(enum subca_acme_chall t, const char *value,
			    bool is_ip, const char *token, const char *k,
			    const char *needle)
{
	struct subca_acme_validation_cfg cfg = {.connect_host = "127.0.0.1",
						.http_port = closed_port()};
	struct subca_acme_ident id = {.value = value, .is_ip = is_ip};
	struct subca_acme_validation_error err;

	expect_fail(subca_acme_validate(&cfg, t, &id, token, k, &err), &err,
		    "malformed", needle);
}

static void test_validate_refuses_malformed_tokens_identifiers_and_key_authorizations(void **state)
{
	char long_token[SUBCA_MAX_ACME_TOKEN + 2];

	check_malformed(SUBCA_ACME_HTTP01, NAME, false, "../x", "../x." THUMB,
			"outside base64url at offset 0");
	check_malformed(SUBCA_ACME_HTTP01, NAME, false, "a/b", "a/b." THUMB,
			"outside base64url at offset 1");
	check_malformed(SUBCA_ACME_HTTP01, NAME, false, "", ".x",
			"challenge token must be 1 to 128");
	memset(long_token, 'a', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	check_malformed(SUBCA_ACME_HTTP01, NAME, false, long_token, "x",
			"challenge token must be 1 to 128");
	check_malformed(SUBCA_ACME_HTTP01, NAME, false, "good", "other." THUMB,
			"not the token, \".\" and a thumbprint");
	check_malformed(SUBCA_ACME_HTTP01, NAME, false, "good", "good.a/b",
			"thumbprint has a character outside base64url");
	check_malformed(SUBCA_ACME_HTTP01, "*." NAME, false, "good", ka("good"),
			"identifier \"*.acme.test\" is not a DNS name");
	check_malformed(SUBCA_ACME_HTTP01, "a.test/x?", false, "good", ka("good"),
			"is not a DNS name");
	check_malformed(SUBCA_ACME_HTTP01, "-a.test", false, "good", ka("good"),
			"is not a DNS name");
	check_malformed(SUBCA_ACME_HTTP01, "a.test.", false, "good", ka("good"),
			"is not a DNS name");
	check_malformed(SUBCA_ACME_TLSALPN01, "300.1.1.1", true, "good", ka("good"),
			"identifier \"300.1.1.1\" is not an IP address");
	check_malformed(SUBCA_ACME_DNS01, "192.0.2.1", true, "good", ka("good"),
			"dns-01 cannot validate an IP address (RFC 8738 7)");
	check_malformed((enum subca_acme_chall)7, NAME, false, "good", ka("good"),
			"unknown challenge type 7");
}

static void test_challenge_names_parse_and_print(void **state)
{
	enum subca_acme_chall t;

	assert_int_equal(subca_acme_chall_parse("dns-01", &t), SUBCA_OK);
	assert_int_equal(t, SUBCA_ACME_DNS01);
	assert_int_equal(subca_acme_chall_parse("tls-alpn-01", &t), SUBCA_OK);
	assert_string_equal(subca_acme_chall_name(t), "tls-alpn-01");
	assert_string_equal(subca_acme_chall_name(SUBCA_ACME_HTTP01), "http-01");
	th_assert_error(subca_acme_chall_parse("http-02\n", &t),
			SUBCA_E_INVALID_ARGUMENT,
			"unknown challenge type \"http-02?\" (accepted: http-01, dns-01, tls-alpn-01)");
}

/* ---- a tiny DNS responder (UDP) ----------------------------------------- */

struct ds {
	int fd, port;
	pthread_t th;
	atomic_bool stop;
	int queries;
};

struct dmsg {
	unsigned char b[1024];
	size_t n;
};

static void put(struct dmsg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(struct dmsg *m, unsigned v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	put(m, b, 2);
}

/* An answer record: owner (a compression pointer), type, class IN, TTL 0. */
static void put_rr(struct dmsg *m, unsigned owner, unsigned type,
		   const void *rdata, size_t n)
{
	put16(m, 0xc000 | owner);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, (unsigned)n);
	put(m, rdata, n);
}

/* TXT rdata of the character-strings in `parts` (NULL-terminated). */
static size_t txt_rdata(unsigned char *out, const char *const *parts)
{
	size_t n = 0;

	for (; *parts != NULL; parts++) {
		size_t l = strlen(*parts);

		out[n++] = (unsigned char)l;
		memcpy(out + n, *parts, l);
		n += l;
	}
	return n;
}

static void put_txt(struct dmsg *m, unsigned owner, const char *const *parts)
{
	unsigned char rd[512];

	put_rr(m, owner, 16, rd, txt_rdata(rd, parts));
}

/* Answer the question of `q` (name at offset 12) by its name. */
static void ds_answer(const unsigned char *q, size_t qn, struct dmsg *m)
{
	char name[256] = "", good[44], half[22];
	size_t o = 12, qend;
	unsigned rcode = 0, an = 0;
	struct dmsg a = {.n = 0};

	txt_value(ka("tok"), good);
	while (o < qn && q[o] != 0 && q[o] < 64 && o + 1 + q[o] < qn) {
		strncat(name, (const char *)q + o + 1, q[o]);
		strcat(name, ".");
		o += 1 + q[o];
	}
	qend = o + 5; /* root label, type, class */
	assert_true(qend <= qn);
	if (strcmp(name, "_acme-challenge.right.test.") == 0) {
		put_txt(&a, 12, (const char *const[]){good, NULL});
		an = 1;
	} else if (strcmp(name, "_acme-challenge.multi.test.") == 0) {
		memcpy(half, good, 21);
		half[21] = '\0';
		put_txt(&a, 12, (const char *const[]){half, good + 21, NULL});
		an = 1;
	} else if (strcmp(name, "_acme-challenge.several.test.") == 0) {
		put_txt(&a, 12, (const char *const[]){"old-value", NULL});
		put_txt(&a, 12, (const char *const[]){good, NULL});
		an = 2;
	} else if (strcmp(name, "_acme-challenge.wrong.test.") == 0) {
		put_txt(&a, 12, (const char *const[]){"not-it\x7f", NULL});
		put_txt(&a, 12, (const char *const[]){"nor-this", NULL});
		an = 2;
	} else if (strcmp(name, "_acme-challenge.cname.test.") == 0) {
		/* CNAME to _acme-challenge.right.test, then TXT at the target */
		static const unsigned char target[] =
			"\x0f_acme-challenge\x05right\x04test";
		unsigned at = (unsigned)(qend + 12);

		put_rr(&a, 12, 5, target, sizeof(target));
		put_txt(&a, at, (const char *const[]){good, NULL});
		an = 2;
	} else if (strcmp(name, "_acme-challenge.nx.test.") == 0) {
		rcode = 3;
	} else if (strcmp(name, "_acme-challenge.servfail.test.") == 0) {
		rcode = 2;
	} /* none.test and the rest: NOERROR, no answer */
	m->n = 0;
	put(m, q, 2);				/* id */
	put16(m, 0x8000 | 0x0400 | (q[2] & 1) << 8 | 0x80 | rcode);
	put16(m, 1);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
	put(m, q + 12, qend - 12);
	put(m, a.b, a.n);
}

static void *ds_main(void *arg)
{
	struct ds *s = arg;

	while (!atomic_load(&s->stop)) {
		unsigned char q[512];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct dmsg m;
		ssize_t n;

		if (!readable(s->fd, 50))
			continue;
		n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 17)
			continue;
		s->queries++;
		ds_answer(q, (size_t)n, &m);
		(void)!sendto(s->fd, m.b, m.n, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static struct ds *ds_start(void)
{
	struct ds *s = calloc(1, sizeof(*s));

	s->fd = listen_on(SOCK_DGRAM, &s->port);
	assert_int_equal(pthread_create(&s->th, NULL, ds_main, s), 0);
	return s;
}

static void ds_stop(struct ds *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->fd);
	free(s);
}

static subca_result dns01(int port, const char *name,
			  struct subca_acme_validation_error *err)
{
	char resolver[64];
	struct subca_acme_validation_cfg cfg = {.resolver = resolver,
						.timeout_ms = 3000};
	struct subca_acme_ident id = {.value = name};

	snprintf(resolver, sizeof(resolver), "127.0.0.1:%d", port);
	return subca_acme_validate(&cfg, SUBCA_ACME_DNS01, &id, "tok",
				   ka("tok"), err);
}

static void test_dns01_accepts_the_record_whole_split_among_others_or_behind_a_cname(void **state)
{
	struct ds *s = ds_start();
	struct subca_acme_validation_error err;

	assert_int_equal(dns01(s->port, "right.test", &err), SUBCA_OK);
	assert_int_equal(dns01(s->port, "multi.test", &err), SUBCA_OK);
	assert_int_equal(dns01(s->port, "several.test", &err), SUBCA_OK);
	assert_int_equal(dns01(s->port, "cname.test", &err), SUBCA_OK);
	assert_int_equal(s->queries, 4);
	ds_stop(s);
}

static void test_dns01_rejects_wrong_missing_and_failed_records(void **state)
{
	struct ds *s = ds_start();
	struct subca_acme_validation_error err;

	expect_fail(dns01(s->port, "wrong.test", &err), &err, "incorrectResponse",
		    "TXT record \"not-it?\" at _acme-challenge.wrong.test (2 found, none matches)");
	expect_fail(dns01(s->port, "nx.test", &err), &err, "dns",
		    "NXDOMAIN looking up TXT _acme-challenge.nx.test");
	expect_fail(dns01(s->port, "none.test", &err), &err, "unauthorized",
		    "no TXT record at _acme-challenge.none.test");
	expect_fail(dns01(s->port, "servfail.test", &err), &err, "dns",
		    "no answer looking up TXT _acme-challenge.servfail.test");
	ds_stop(s);
}

static void test_dns01_reports_a_resolver_that_does_not_answer(void **state)
{
	struct subca_acme_validation_error err;
	int port, fd = listen_on(SOCK_DGRAM, &port); /* bound, never read */

	expect_fail(dns01(port, "right.test", &err), &err, "dns",
		    "no answer looking up TXT _acme-challenge.right.test");
	close(fd);
}

static void test_dns01_refuses_a_resolver_that_is_not_ipv4_port(void **state)
{
	struct subca_acme_validation_cfg cfg = {.resolver = "[::1]:53"};
	struct subca_acme_ident id = {.value = "right.test"};
	struct subca_acme_validation_error err;

	expect_fail(subca_acme_validate(&cfg, SUBCA_ACME_DNS01, &id, "tok",
					ka("tok"), &err),
		    &err, "malformed", "resolver \"[::1]:53\" is not IPv4[:PORT]");
	cfg.resolver = "127.0.0.1:99999";
	expect_fail(subca_acme_validate(&cfg, SUBCA_ACME_DNS01, &id, "tok",
					ka("tok"), &err),
		    &err, "malformed", "is not IPv4[:PORT]");
}

/* ---- a TLS server with ALPN acme-tls/1 ------------------------------------ */

struct ts {
	int fd, port;
	pthread_t th;
	atomic_bool stop;
	SSL_CTX *ctx;
	bool alpn;
	char sni[128]; /* server name the last client sent */
};

static int ts_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x0a" "acme-tls/1";
	struct ts *s = arg;
	unsigned char *sel = NULL;

	if (!s->alpn ||
	    SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static void *ts_main(void *arg)
{
	struct ts *s = arg;

	while (!atomic_load(&s->stop)) {
		struct timeval tv = {.tv_sec = 5};
		const char *sni;
		SSL *ssl;
		int c;

		if (!readable(s->fd, 50))
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssl = SSL_new(s->ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1) {
			sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
			snprintf(s->sni, sizeof(s->sni), "%s", sni ? sni : "");
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(c);
	}
	return NULL;
}

/* A server presenting `cert` (self-signed with `key`), choosing ALPN
 * acme-tls/1 when `alpn`. Takes over neither. */
static struct ts *ts_start(X509 *cert, EVP_PKEY *key, bool alpn)
{
	struct ts *s = calloc(1, sizeof(*s));

	s->alpn = alpn;
	s->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(s->ctx);
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, key), 1);
	SSL_CTX_set_alpn_select_cb(s->ctx, ts_alpn, s);
	s->fd = listen_on(SOCK_STREAM, &s->port);
	assert_int_equal(pthread_create(&s->th, NULL, ts_main, s), 0);
	return s;
}

/* Stop the thread (after it is done with its last client); s->sni stays
 * readable until ts_free. */
static void ts_halt(struct ts *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
}

static void ts_free(struct ts *s)
{
	close(s->fd);
	SSL_CTX_free(s->ctx);
	free(s);
}

/* "critical,DER:04:20:..." for SHA-256(k) (RFC 8737 3) */
static void acme_ext_value(const char *prefix, const char *k, char *out,
			   size_t len)
{
	unsigned char d[32];
	size_t o;

	sha256(k, d);
	o = (size_t)snprintf(out, len, "%sDER:04:20", prefix);
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(out + o, len - o, ":%02X", d[i]);
}

static EVP_PKEY *tls_key;

static X509 *alpn_cert(const char *san, const char *ext_value)
{
	struct th_ext exts[] = {
		{"subjectAltName", san},
		{"1.3.6.1.5.5.7.1.31", ext_value},
		{NULL, NULL},
	};

	if (ext_value == NULL)
		exts[1].name = NULL;
	return th_cert(&(struct th_cert_opts){.subject = "/CN=acme",
					      .exts = exts},
		       tls_key, NULL, NULL);
}

static subca_result tlsalpn01(struct ts *s, const char *value, bool is_ip,
			      struct subca_acme_validation_error *err)
{
	struct subca_acme_validation_cfg cfg = {
		.tls_alpn_port = s->port,
		.connect_host = is_ip ? NULL : "127.0.0.1",
		.timeout_ms = 5000,
	};
	struct subca_acme_ident id = {.value = value, .is_ip = is_ip};

	return subca_acme_validate(&cfg, SUBCA_ACME_TLSALPN01, &id, "tok",
				   ka("tok"), err);
}

/* Serve `cert` and validate NAME against it. */
static subca_result tls_try(X509 *cert, bool alpn,
			    struct subca_acme_validation_error *err)
{
	struct ts *s = ts_start(cert, tls_key, alpn);
	subca_result rv = tlsalpn01(s, NAME, false, err);

	ts_halt(s);
	ts_free(s);
	X509_free(cert);
	return rv;
}

static int tls_setup(void **state)
{
	tls_key = th_key("ec-p256");
	return tls_key != NULL ? 0 : -1;
}

static int tls_teardown(void **state)
{
	EVP_PKEY_free(tls_key);
	return 0;
}

static void test_tlsalpn01_accepts_the_acme_certificate_and_sends_the_name(void **state)
{
	char v[160];
	X509 *cert;
	struct ts *s;
	struct subca_acme_validation_error err;

	acme_ext_value("critical,", ka("tok"), v, sizeof(v));
	cert = alpn_cert("DNS:" NAME, v);
	s = ts_start(cert, tls_key, true);
	assert_int_equal(tlsalpn01(s, NAME, false, &err), SUBCA_OK);
	ts_halt(s);
	assert_string_equal(s->sni, NAME);
	ts_free(s);
	X509_free(cert);
}

static void test_tlsalpn01_sends_the_reverse_name_for_an_ip(void **state)
{
	char v[160];
	X509 *cert;
	struct ts *s;
	struct subca_acme_validation_error err;

	acme_ext_value("critical,", ka("tok"), v, sizeof(v));
	cert = alpn_cert("IP:127.0.0.1", v);
	s = ts_start(cert, tls_key, true);
	/* the certificate does not answer for a DNS name */
	expect_fail(tlsalpn01(s, NAME, false, &err), &err, "incorrectResponse",
		    "subjectAltName is another iPAddress, not the identifier acme.test");
	assert_int_equal(tlsalpn01(s, "127.0.0.1", true, &err), SUBCA_OK);
	ts_halt(s);
	assert_string_equal(s->sni, "1.0.0.127.in-addr.arpa");
	ts_free(s);
	X509_free(cert);
}

static void test_tlsalpn01_rejects_a_wrong_hash(void **state)
{
	char v[160];
	struct subca_acme_validation_error err;

	acme_ext_value("critical,", ka("other"), v, sizeof(v));
	expect_fail(tls_try(alpn_cert("DNS:" NAME, v), true, &err), &err,
		    "incorrectResponse",
		    "acmeIdentifier extension does not hold SHA-256 of the key authorization");
}

static void test_tlsalpn01_rejects_a_non_critical_extension(void **state)
{
	char v[160];
	struct subca_acme_validation_error err;

	acme_ext_value("", ka("tok"), v, sizeof(v));
	expect_fail(tls_try(alpn_cert("DNS:" NAME, v), true, &err), &err,
		    "incorrectResponse",
		    "the acmeIdentifier extension is not critical (RFC 8737 3)");
}

static void test_tlsalpn01_rejects_an_extra_name(void **state)
{
	char v[160];
	struct subca_acme_validation_error err;

	acme_ext_value("critical,", ka("tok"), v, sizeof(v));
	expect_fail(tls_try(alpn_cert("DNS:" NAME ",DNS:other.test", v), true, &err),
		    &err, "incorrectResponse",
		    "subjectAltName has 2 entries; RFC 8737 3 allows only acme.test");
	expect_fail(tls_try(alpn_cert("DNS:other.test", v), true, &err), &err,
		    "incorrectResponse",
		    "subjectAltName is dNSName \"other.test\", not the identifier acme.test");
}

static void test_tlsalpn01_requires_alpn_acme_tls_1(void **state)
{
	char v[160];
	struct subca_acme_validation_error err;

	acme_ext_value("critical,", ka("tok"), v, sizeof(v));
	expect_fail(tls_try(alpn_cert("DNS:" NAME, v), false, &err), &err, "tls",
		    "did not negotiate ALPN \"acme-tls/1\" (RFC 8737 3)");
}

static void test_tlsalpn01_reports_a_refused_connection(void **state)
{
	struct subca_acme_validation_cfg cfg = {.tls_alpn_port = closed_port(),
						.timeout_ms = 5000};
	struct subca_acme_ident id = {.value = "127.0.0.1", .is_ip = true};
	struct subca_acme_validation_error err;

	expect_fail(subca_acme_validate(&cfg, SUBCA_ACME_TLSALPN01, &id, "tok",
					ka("tok"), &err),
		    &err, "connection", "cannot connect to 127.0.0.1:");
}

/* The certificate check alone, on DER (as the fuzz target drives it). */
static subca_result check_cert(X509 *x, const char *value, bool is_ip,
			       struct subca_acme_validation_error *err)
{
	struct subca_acme_ident id = {.value = value, .is_ip = is_ip};
	size_t len;
	unsigned char *der = th_der(x, &len);
	subca_result rv = subca__acme_tlsalpn_check_der(subca_slice_of(der, len),
							&id, ka("tok"), err);

	free(der);
	X509_free(x);
	return rv;
}

static void test_tlsalpn_certificate_check_names_each_defect(void **state)
{
	char v[160];
	struct subca_acme_validation_error err;
	struct subca_acme_ident id = {.value = NAME};

	acme_ext_value("critical,", ka("tok"), v, sizeof(v));
	assert_int_equal(check_cert(alpn_cert("DNS:ACME.test", v), NAME, false, &err),
			 SUBCA_OK);
	assert_int_equal(check_cert(alpn_cert("IP:2001:db8::1", v), "2001:db8::1",
				    true, &err),
			 SUBCA_OK);
	expect_fail(check_cert(alpn_cert("DNS:" NAME, NULL), NAME, false, &err),
		    &err, "incorrectResponse",
		    "the certificate has 0 acmeIdentifier extensions (1.3.6.1.5.5.7.1.31), not one");
	expect_fail(check_cert(alpn_cert("DNS:" NAME, "critical,DER:04:02:AB:CD"),
			       NAME, false, &err),
		    &err, "incorrectResponse",
		    "the acmeIdentifier extension holds 2 bytes, not a 32-byte SHA-256");
	expect_fail(check_cert(alpn_cert("DNS:" NAME, "critical,DER:05:00"), NAME,
			       false, &err),
		    &err, "incorrectResponse",
		    "the acmeIdentifier extension's value: not a DER-encoded OCTET STRING");
	expect_fail(check_cert(alpn_cert("DNS:" NAME, "critical,DER:04:01:AB:00"),
			       NAME, false, &err),
		    &err, "incorrectResponse", "1 bytes of trailing data after the OCTET STRING");
	expect_fail(check_cert(alpn_cert("email:a@" NAME, v), NAME, false, &err),
		    &err, "incorrectResponse", "subjectAltName is a name of type 1");
	expect_fail(check_cert(th_cert(&(struct th_cert_opts){.subject = "/CN=acme.test"},
				       tls_key, NULL, NULL),
			       NAME, false, &err),
		    &err, "incorrectResponse", "the certificate has no subjectAltName");
	expect_fail(subca__acme_tlsalpn_check_der(subca_slice_of("\x30\x00", 2), &id,
						  ka("tok"), &err),
		    &err, "tls", "the server's certificate: not a DER-encoded certificate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_names_parse_and_print),
		cmocka_unit_test(test_validate_refuses_malformed_tokens_identifiers_and_key_authorizations),
		cmocka_unit_test(test_http01_accepts_the_key_authorization_and_keeps_the_name_in_host),
		cmocka_unit_test(test_http01_ignores_trailing_whitespace_only),
		cmocka_unit_test(test_http01_rejects_a_wrong_body_showing_it_printable),
		cmocka_unit_test(test_http01_takes_a_body_of_8_kib_and_not_one_byte_more),
		cmocka_unit_test(test_http01_reports_a_404_as_unauthorized),
		cmocka_unit_test(test_http01_follows_ten_redirects_but_not_eleven),
		cmocka_unit_test(test_http01_follows_redirects_only_to_http_on_its_port),
		cmocka_unit_test(test_http01_gives_up_on_a_silent_server),
		cmocka_unit_test(test_http01_reports_a_refused_connection),
		cmocka_unit_test(test_http01_ignores_proxies_from_the_environment),
		cmocka_unit_test(test_http01_validates_an_ip_identifier_at_the_address),
		cmocka_unit_test(test_dns01_accepts_the_record_whole_split_among_others_or_behind_a_cname),
		cmocka_unit_test(test_dns01_rejects_wrong_missing_and_failed_records),
		cmocka_unit_test(test_dns01_reports_a_resolver_that_does_not_answer),
		cmocka_unit_test(test_dns01_refuses_a_resolver_that_is_not_ipv4_port),
		cmocka_unit_test(test_tlsalpn01_accepts_the_acme_certificate_and_sends_the_name),
		cmocka_unit_test(test_tlsalpn01_sends_the_reverse_name_for_an_ip),
		cmocka_unit_test(test_tlsalpn01_rejects_a_wrong_hash),
		cmocka_unit_test(test_tlsalpn01_rejects_a_non_critical_extension),
		cmocka_unit_test(test_tlsalpn01_rejects_an_extra_name),
		cmocka_unit_test(test_tlsalpn01_requires_alpn_acme_tls_1),
		cmocka_unit_test(test_tlsalpn01_reports_a_refused_connection),
		cmocka_unit_test(test_tlsalpn_certificate_check_names_each_defect),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tls_setup, tls_teardown);
}
