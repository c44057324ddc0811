/* jsonutil: bounded parsing and structural equality. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonutil.h"

static cJSON *parse(const char *s)
{
	char err[128];
	cJSON *j = json_parse_limited(s, strlen(s), JSON_MAX_DEPTH, err, sizeof err);
	assert_non_null(j);
	return j;
}

static void test_equal_cases(void **state)
{
	static const struct {
		const char *a, *b;
		bool eq;
	} cases[] = {
		{"{}", "{}", true},
		{"{\"a\":1,\"b\":[1,2,{\"c\":null}]}", "{\"b\":[1,2,{\"c\":null}],\"a\":1}", true},
		{"{\"a\":1}", "{\"a\":1.5}", false},
		{"{\"a\":1}", "{\"a\":1,\"b\":2}", false},
		{"{\"a\":1,\"b\":2}", "{\"a\":1}", false},
		{"[1,2]", "[2,1]", false},
		{"[1,2]", "[1,2,3]", false},
		{"{\"a\":\"x\"}", "{\"a\":\"y\"}", false},
		{"{\"a\":true}", "{\"a\":false}", false},
		{"{\"a\":null}", "{\"a\":false}", false},
		{"{\"a\":\"1\"}", "{\"a\":1}", false},
		{"{\"A\":1}", "{\"a\":1}", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *a = parse(cases[i].a), *b = parse(cases[i].b);
		assert_int_equal(json_equal(a, b), cases[i].eq);
		assert_int_equal(json_equal(b, a), cases[i].eq);
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	assert_true(json_equal(NULL, NULL));
	cJSON *a = parse("{}");
	assert_false(json_equal(a, NULL));
	cJSON_Delete(a);
}

/* cJSON_Compare doubles its work per nesting level; 90 levels would never
 * finish. json_equal must be immediate. */
static void test_equal_deep_is_linear(void **state)
{
	char buf[2048] = "";
	for (int i = 0; i < 90; i++)
		strcat(buf, "{\"a\":");
	strcat(buf, "1");
	for (int i = 0; i < 90; i++)
		strcat(buf, "}");
	cJSON *a = parse(buf), *b = parse(buf);
	clock_t t0 = clock();
	assert_true(json_equal(a, b));
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void test_parse_limits(void **state)
{
	char err[128];
	assert_null(json_parse_limited("[[[1]]]", 7, 2, err, sizeof err));
	assert_non_null(strstr(err, "nesting"));
	assert_null(json_parse_limited("{\"a\":\"\xff\"}", 9, 10, err, sizeof err));
	assert_string_equal(err, "invalid UTF-8");
	assert_null(json_parse_limited("{\"a\":1", 6, 10, err, sizeof err));
	assert_null(json_parse_limited(NULL, 0, 10, err, sizeof err)); /* an empty body */
	assert_string_equal(err, "empty body");
	assert_null(json_parse_limited("", 0, 10, err, sizeof err));
	cJSON *j = json_parse_limited("{\"a\":1}xyz", 7, 10, err, sizeof err); /* length-bounded */
	assert_non_null(j);
	cJSON_Delete(j);
	assert_false(json_utf8_valid("\xc0\x80", 2));       /* overlong */
	assert_false(json_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
	assert_true(json_utf8_valid("h\xc3\xa9llo", 6));
}

/* The bound is never below the printed length, for escapes, control
 * characters, long numbers, nesting, empty containers and raw members. */
static void test_print_bound(void **state)
{
	static const char *const docs[] = {
	    "{}", "[]", "null", "\"\"", "-1.2345678901234567e-300", "[true,false,null,0,1e308]",
	    "{\"a\":{\"b\":[[],[{}],{\"c\":\"\\u0001\\u001f\\\"\\\\\"}]}}",
	    "{\"k\\n\\t\":\"\\u00e9\\u2603 x\",\"n\":123456789012345678901234567890}",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		cJSON *j = cJSON_Parse(docs[i]);
		assert_non_null(j);
		char *s = json_print(j);
		assert_true(json_print_bound(j) >= strlen(s));
		free(s);
		cJSON_Delete(j);
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddRawToObject(o, "raw", "[1,2,3]");
	char ctl[64];
	for (int i = 0; i < 63; i++)
		ctl[i] = (char)(1 + i % 31); /* every byte escaped as \u00XX */
	ctl[63] = '\0';
	cJSON_AddStringToObject(o, ctl, ctl);
	char *s = json_print(o);
	assert_true(json_print_bound(o) >= strlen(s));
	free(s);
	cJSON_Delete(o);
	assert_int_equal(json_print_bound(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_cases),
		cmocka_unit_test(test_equal_deep_is_linear),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_print_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
