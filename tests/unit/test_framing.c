/*
 * Request framing watched on the wire (src/server/framing.c): where heads
 * and bodies end (Content-Length, chunked, none), pipelined requests, the
 * head cap at the limit and one past, body caps per route (answered from
 * the length or chunk size, before the data), the refusals of framings
 * evhttp would read differently, byte-at-a-time feeding, and a sweep of
 * truncations and bit flips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "subca/alloc.h"
#include "../../src/server/framing.h"

#define TH_MAX_HEAD 256

static char th_seen_method[16], th_seen_path[256], th_seen_host[64];

/* 100 bytes for /small, 1000 for everything else. */
static size_t th_cap(void *arg, const char *method, const char *path,
		     const char *host)
{
	snprintf(th_seen_method, sizeof(th_seen_method), "%s", method);
	snprintf(th_seen_path, sizeof(th_seen_path), "%s", path);
	snprintf(th_seen_host, sizeof(th_seen_host), "%s", host ? host : "-");
	return strcmp(path, "/small") == 0 ? 100 : 1000;
}

static subca_result th_feed(struct subca_framing *f, const char *s)
{
	subca_error_clear();
	return subca_framing_feed(f, s, strlen(s));
}

static void th_init(struct subca_framing *f)
{
	subca_framing_init(f, th_cap, NULL, TH_MAX_HEAD);
}

static void test_framing_counts_pipelined_requests_of_each_kind(void **state)
{
	struct subca_framing f;

	th_init(&f);
	assert_int_equal(th_feed(&f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
				     "POST /x?q=1 HTTP/1.1\r\nHost: b\r\n"
				     "Content-Length: 5\r\n\r\nhello"
				     "PUT /y HTTP/1.1\r\nHost: c\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n"
				     "3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"
				     "GET / HTTP/1.1\r\nHo"),
			 SUBCA_OK);
	assert_int_equal(f.complete, 3);
	assert_true(subca_framing_started(&f));
	assert_string_equal(th_seen_method, "PUT");
	assert_string_equal(th_seen_path, "/y");
	assert_string_equal(th_seen_host, "c");
	subca_framing_cleanup(&f);
}

static void test_framing_accepts_bare_lf_and_byte_at_a_time(void **state)
{
	static const char req[] = "POST /a HTTP/1.1\nHost: h\nContent-Length: 2"
				  "\n\nokDELETE /b HTTP/1.1\r\nHost: h\r\n\r\n";
	struct subca_framing f;

	th_init(&f);
	for (size_t i = 0; i < sizeof(req) - 1; i++)
		assert_int_equal(subca_framing_feed(&f, req + i, 1), SUBCA_OK);
	assert_int_equal(f.complete, 2);
	assert_false(subca_framing_started(&f));
	subca_framing_cleanup(&f);
}

static void test_framing_strips_query_and_absolute_form(void **state)
{
	struct subca_framing f;

	th_init(&f);
	assert_int_equal(th_feed(&f, "GET https://h:8443/small?x HTTP/1.1\r\n"
				     "Host: h\r\n\r\n"),
			 SUBCA_OK);
	assert_string_equal(th_seen_path, "/small");
	assert_int_equal(th_feed(&f, "GET /p#frag HTTP/1.1\r\nHost: h\r\n\r\n"),
			 SUBCA_OK);
	assert_string_equal(th_seen_path, "/p");
	subca_framing_cleanup(&f);
}

static void test_framing_head_at_the_cap_passes_one_more_is_431(void **state)
{
	static const char a[] =
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
	int fill = (int)(TH_MAX_HEAD - strlen(start) - 4);
	char head[TH_MAX_HEAD + 2];
	struct subca_framing f;

	snprintf(head, sizeof(head), "%s%.*s\r\n\r\n", start, fill, a);
	assert_int_equal(strlen(head), TH_MAX_HEAD);
	th_init(&f);
	assert_int_equal(th_feed(&f, head), SUBCA_OK);
	assert_int_equal(f.complete, 1);
	snprintf(head, sizeof(head), "%s%.*s\r\n\r\n", start, fill + 1, a);
	assert_int_equal(strlen(head), TH_MAX_HEAD + 1);
	th_assert_error(th_feed(&f, head), SUBCA_E_HEADERS_TOO_LARGE,
			"over the limit of 256 bytes");
	assert_int_equal(f.state, SUBCA_FRAMING_REFUSED);
	/* refused: the rest is ignored */
	assert_int_equal(th_feed(&f, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
			 SUBCA_OK);
	assert_int_equal(f.complete, 1);
	subca_framing_cleanup(&f);
}

static void test_framing_length_over_the_route_cap_is_413_at_once(void **state)
{
	struct subca_framing f;

	th_init(&f);
	assert_int_equal(th_feed(&f, "POST /small HTTP/1.1\r\nHost: h\r\n"
				     "Content-Length: 100\r\n\r\n"),
			 SUBCA_OK);
	assert_int_equal(f.state, SUBCA_FRAMING_BODY);
	subca_framing_cleanup(&f);
	th_init(&f);
	th_assert_error(th_feed(&f, "POST /small HTTP/1.1\r\nHost: h\r\n"
				    "Content-Length: 101\r\n\r\n"),
			SUBCA_E_TOO_LARGE,
			"101 bytes (Content-Length) is over the limit of 100");
	subca_framing_cleanup(&f);
	th_init(&f);
	th_assert_error(th_feed(&f, "POST /big HTTP/1.1\r\nHost: h\r\n"
				    "Content-Length: 999999999999999999\r\n\r\n"),
			SUBCA_E_TOO_LARGE, "over the limit of 1000 bytes");
	subca_framing_cleanup(&f);
}

static void test_framing_chunked_over_the_cap_is_413_before_the_data(void **state)
{
	struct subca_framing f;

	th_init(&f);
	assert_int_equal(th_feed(&f, "POST /small HTTP/1.1\r\nHost: h\r\n"
				     "Transfer-Encoding: Chunked\r\n\r\n"
				     "32\r\n"),
			 SUBCA_OK);
	assert_int_equal(th_feed(&f, "01234567890123456789012345678901234567890123456789\r\n"),
			 SUBCA_OK);
	/* 50 + 50 = 100 passes; one more byte is refused at its size line */
	assert_int_equal(th_feed(&f, "32\r\n"), SUBCA_OK);
	assert_int_equal(th_feed(&f, "01234567890123456789012345678901234567890123456789\r\n"),
			 SUBCA_OK);
	th_assert_error(th_feed(&f, "1\r\n"), SUBCA_E_TOO_LARGE,
			"chunked request body is over the limit of 100");
	subca_framing_cleanup(&f);
	th_init(&f);
	th_assert_error(th_feed(&f, "POST /a HTTP/1.1\r\nHost: h\r\n"
				    "Transfer-Encoding: chunked\r\n\r\n"
				    "ffffffffffffffff\r\n"),
			SUBCA_E_TOO_LARGE, "over the limit of 1000");
	subca_framing_cleanup(&f);
}

static void test_framing_refuses_what_evhttp_would_frame_otherwise(void **state)
{
	static const struct {
		const char *req;
		subca_result code;
		const char *why;
	} cases[] = {
		{"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
		 SUBCA_E_BAD_HTTP, "both Content-Length and Transfer-Encoding"},
		{"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
		 "Content-Length: 1\r\n\r\n",
		 SUBCA_E_BAD_HTTP, "more than one Content-Length"},
		{"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n",
		 SUBCA_E_BAD_HTTP, "malformed Content-Length"},
		{"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked"
		 "\r\n\r\n",
		 SUBCA_E_NOT_IMPLEMENTED, "transfer coding \"gzip, chunked\""},
		{"HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
		 SUBCA_E_BAD_HTTP, "a HEAD request has no body"},
		{"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		 SUBCA_E_BAD_HTTP, "obs-fold"},
		{"GET / HTTP/1.1\r\nHost : h\r\n\r\n", SUBCA_E_BAD_HTTP,
		 "malformed header name"},
		{"GET / HTTP/1.1\r\n\r\n", SUBCA_E_BAD_HTTP, "exactly one Host"},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", SUBCA_E_BAD_HTTP,
		 "exactly one Host"},
		{"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", SUBCA_E_BAD_HTTP,
		 "empty line before the request line"},
		{"TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", SUBCA_E_NOT_IMPLEMENTED,
		 "the method TRACE"},
		{"get / HTTP/1.1\r\nHost: h\r\n\r\n", SUBCA_E_NOT_IMPLEMENTED,
		 "the method get"},
		{"GET /  HTTP/1.1\r\nHost: h\r\n\r\n", SUBCA_E_BAD_HTTP,
		 "malformed request"},
		{"GET / HTTP/2.0\r\nHost: h\r\n\r\n", SUBCA_E_BAD_HTTP,
		 "unsupported HTTP version"},
		{"GET / HTTP/1.1\r\nHost: h\r\nExpect: fast\r\n\r\n",
		 SUBCA_E_BAD_HTTP, "unsupported Expect"},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		 "\r\n5;ext=1\r\n",
		 SUBCA_E_BAD_HTTP, "chunk extensions"},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		 "\r\n2\r\nabc\r\n",
		 SUBCA_E_BAD_HTTP, "longer than its chunk size"},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		 "\r\nxyz\r\n",
		 SUBCA_E_BAD_HTTP, "malformed chunk size"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct subca_framing f;

		th_init(&f);
		th_assert_error(th_feed(&f, cases[i].req), cases[i].code,
				cases[i].why);
		assert_int_equal(f.complete, 0);
		subca_framing_cleanup(&f);
	}
}

static void test_framing_stops_after_a_request_that_closes(void **state)
{
	struct subca_framing f;

	th_init(&f);
	/* HTTP/1.0 closes unless keep-alive; nothing after it is read */
	assert_int_equal(th_feed(&f, "GET / HTTP/1.0\r\nConnection: keep-alive"
				     "\r\n\r\nGET / HTTP/1.0\r\n\r\n"
				     "garbage that is never a request"),
			 SUBCA_OK);
	assert_int_equal(f.complete, 2);
	assert_int_equal(f.state, SUBCA_FRAMING_DONE);
	subca_framing_cleanup(&f);
	th_init(&f);
	assert_int_equal(th_feed(&f, "GET / HTTP/1.1\r\nHost: h\r\n"
				     "Connection: close\r\n\r\n\r\n"),
			 SUBCA_OK);
	assert_int_equal(f.state, SUBCA_FRAMING_DONE);
	subca_framing_cleanup(&f);
}

/* Every truncation and every single-bit flip of a valid pipeline either
 * frames or is refused with a framing code; never anything else. */
static void test_framing_survives_truncations_and_bit_flips(void **state)
{
	static const char req[] =
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
		"PUT /y HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		"\r\n3\r\nabc\r\n0\r\n\r\n";
	char buf[sizeof(req)];

	for (size_t n = 0; n < sizeof(req) - 1; n++) {
		for (int bit = -1; bit < 8; bit++) {
			struct subca_framing f;
			subca_result rv;

			memcpy(buf, req, sizeof(req));
			if (bit >= 0)
				buf[n] = (char)(buf[n] ^ (1 << bit));
			th_init(&f);
			rv = subca_framing_feed(&f, buf,
						bit >= 0 ? sizeof(req) - 1 : n);
			assert_true(rv == SUBCA_OK || rv == SUBCA_E_BAD_HTTP ||
				    rv == SUBCA_E_NOT_IMPLEMENTED ||
				    rv == SUBCA_E_TOO_LARGE ||
				    rv == SUBCA_E_HEADERS_TOO_LARGE);
			assert_true(f.complete <= 2);
			subca_framing_cleanup(&f);
			subca_error_clear();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing_counts_pipelined_requests_of_each_kind),
		cmocka_unit_test(test_framing_accepts_bare_lf_and_byte_at_a_time),
		cmocka_unit_test(test_framing_strips_query_and_absolute_form),
		cmocka_unit_test(test_framing_head_at_the_cap_passes_one_more_is_431),
		cmocka_unit_test(test_framing_length_over_the_route_cap_is_413_at_once),
		cmocka_unit_test(test_framing_chunked_over_the_cap_is_413_before_the_data),
		cmocka_unit_test(test_framing_refuses_what_evhttp_would_frame_otherwise),
		cmocka_unit_test(test_framing_stops_after_a_request_that_closes),
		cmocka_unit_test(test_framing_survives_truncations_and_bit_flips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
