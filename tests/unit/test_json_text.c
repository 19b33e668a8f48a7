/* Unit tests of json_text: the bytes json_dumps(v, JSON_COMPACT) writes. */
#include "helpers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/server/json_text.h"

/* subca_json_text(v) must equal json_dumps(v, JSON_COMPACT); v is freed. */
static void assert_same_as_jansson(json_t *v)
{
	SUBCA_BUF_AUTO struct subca_buf out = {0};
	char *want = json_dumps(v, JSON_COMPACT);

	assert_non_null(want);
	subca_buf_init(&out, 1u << 20);
	assert_int_equal(subca_json_text(v, &out), SUBCA_OK);
	if (out.len != strlen(want) || memcmp(out.p, want, out.len) != 0)
		fail_msg("got %.*s\nwant %s", (int)out.len, (const char *)out.p,
			 want);
	free(want);
	json_decref(v);
}

static void test_json_text_writes_every_type_as_jansson(void **state)
{
	json_t *o = json_object();

	json_object_set_new(o, "s", json_string("plain"));
	json_object_set_new(o, "i", json_integer(-42));
	json_object_set_new(o, "max", json_integer(INT64_MAX));
	json_object_set_new(o, "min", json_integer(INT64_MIN));
	json_object_set_new(o, "r", json_real(0.1));
	json_object_set_new(o, "r2", json_real(3.0));
	json_object_set_new(o, "r3", json_real(1e300));
	json_object_set_new(o, "t", json_true());
	json_object_set_new(o, "f", json_false());
	json_object_set_new(o, "n", json_null());
	json_object_set_new(o, "empty_o", json_object());
	json_object_set_new(o, "empty_a", json_array());
	json_object_set_new(o, "a", json_pack("[i,s,[[],{}],{s:[n]}]", 1, "x",
					      "k"));
	json_object_set_new(o, "key \"quoted\"\n", json_string("v"));
	assert_same_as_jansson(o);
	assert_same_as_jansson(json_pack("[s,s,s]", "", "/", "\\"));
}

static void test_json_text_escapes_strings_as_jansson(void **state)
{
	char all[128];
	json_t *a = json_array();

	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	json_array_append_new(a, json_stringn(all, 127));
	json_array_append_new(a, json_stringn("nul\0inside", 10));
	json_array_append_new(a, json_string("caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8"));
	json_array_append_new(a, json_string("-----BEGIN CERTIFICATE-----\nMIIB\n"
					     "-----END CERTIFICATE-----\n"));
	assert_same_as_jansson(a);

	/* random ASCII and UTF-8 pieces */
	srand(7);
	for (int round = 0; round < 500; round++) {
		static const char *pieces[] = {"a", "\"", "\\", "\n", "\x01",
					       "\x1f", "\x7f", "\xc3\xa9",
					       "\xf0\x9f\x98\x80", "/", "\t"};
		char s[256] = "";
		int n = rand() % 40;

		for (int i = 0; i < n; i++)
			strcat(s, pieces[rand() % 11]);
		assert_same_as_jansson(json_pack("{s:s}", s, s));
	}
}

static void test_json_text_refuses_scalars_depth_and_size(void **state)
{
	SUBCA_BUF_AUTO struct subca_buf out = {0};
	json_t *s = json_string("alone");
	json_t *deep = json_array(), *in = deep;

	subca_buf_init(&out, 1024);
	th_assert_error(subca_json_text(s, &out), SUBCA_E_INTERNAL,
			"for an object or an array");
	json_decref(s);

	for (int i = 0; i < SUBCA_JSON_TEXT_MAX_DEPTH; i++) {
		json_t *next = json_array();

		json_array_append_new(in, next);
		in = next;
	}
	subca_buf_cleanup(&out);
	subca_buf_init(&out, 1024);
	th_assert_error(subca_json_text(deep, &out), SUBCA_E_TOO_LARGE,
			"nested deeper than 32 levels");
	json_decref(deep);

	subca_buf_cleanup(&out);
	subca_buf_init(&out, 8);
	s = json_pack("{s:s}", "key", "longer than eight");
	th_assert_error(subca_json_text(s, &out), SUBCA_E_TOO_LARGE,
			"more than the limit of 8 bytes");
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_text_writes_every_type_as_jansson),
		cmocka_unit_test(test_json_text_escapes_strings_as_jansson),
		cmocka_unit_test(test_json_text_refuses_scalars_depth_and_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
