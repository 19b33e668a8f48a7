/*
 * The libcurl loader (src/server/libcurl.c): a missing library and a
 * library that is not libcurl are refused with a reason that says what to
 * install; the real libcurl fills every slot of the table, once per
 * process.
 */
#include "helpers.h"

#include <string.h>

#include "../../src/server/libcurl.h"

/* every slot of the table is set (the struct holds function pointers
 * only, so it is checked as an array of them) */
static bool table_is_complete(const struct subca_curl *api)
{
	void *slots[sizeof(*api) / sizeof(void *)];

	memcpy(slots, api, sizeof(slots));
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (slots[i] == NULL)
			return false;
	return true;
}

static bool table_is_empty(const struct subca_curl *api)
{
	static const struct subca_curl zero;

	return memcmp(api, &zero, sizeof(zero)) == 0;
}

static void test_libcurl_load_names_a_missing_library_and_the_package(void **state)
{
	struct subca_curl api;

	(void)state;
	th_assert_error(subca_curl_load("libsubca-test-missing.so.0", &api),
			SUBCA_E_INTERNAL,
			"libcurl (libsubca-test-missing.so.0) cannot be loaded: ");
	assert_non_null(strstr(subca_error_reason(), "install libcurl4"));
	assert_true(table_is_empty(&api));
}

static void test_libcurl_load_refuses_a_library_without_curl_functions(void **state)
{
	struct subca_curl api;

	(void)state;
	th_assert_error(subca_curl_load("libc.so.6", &api), SUBCA_E_INTERNAL,
			"libcurl (libc.so.6) cannot be loaded: it lacks "
			"curl_global_init");
	assert_true(table_is_empty(&api));
}

static void test_libcurl_load_resolves_every_function_of_libcurl(void **state)
{
	struct subca_curl api;

	(void)state;
	assert_int_equal(subca_curl_load(SUBCA_CURL_SONAME, &api), SUBCA_OK);
	assert_true(table_is_complete(&api));
	assert_string_equal(api.easy_strerror(CURLE_UNSUPPORTED_PROTOCOL),
			    "Unsupported protocol");
}

static void test_libcurl_get_gives_one_initialised_table(void **state)
{
	const struct subca_curl *a = NULL, *b = NULL;
	CURLU *u;
	char *port = NULL;

	(void)state;
	assert_int_equal(subca_curl_get(&a), SUBCA_OK);
	assert_int_equal(subca_curl_get(&b), SUBCA_OK);
	assert_ptr_equal(a, b);
	assert_true(table_is_complete(a));
	/* usable as is: a URL parsed through the table */
	u = a->url();
	assert_non_null(u);
	assert_int_equal(a->url_set(u, CURLUPART_URL, "https://ca.test/x", 0),
			 CURLUE_OK);
	assert_int_equal(a->url_get(u, CURLUPART_PORT, &port,
				    CURLU_DEFAULT_PORT),
			 CURLUE_OK);
	assert_string_equal(port, "443");
	a->free(port);
	a->url_cleanup(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libcurl_load_names_a_missing_library_and_the_package),
		cmocka_unit_test(test_libcurl_load_refuses_a_library_without_curl_functions),
		cmocka_unit_test(test_libcurl_load_resolves_every_function_of_libcurl),
		cmocka_unit_test(test_libcurl_get_gives_one_initialised_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
