/* jsonutil: bounded parsing and structural equality. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
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

/* json_dup: an equal, independent copy whose lists cJSON can still extend
 * and edit (the first child's prev is the last), a container copied from
 * inside an object without its key, and the depth bound. */
static void test_dup(void **state)
{
	static const char *const docs[] = {
	    "{}", "[]", "{\"a\":1}", "[1]", "{\"a\":{\"b\":[1,\"x\",{\"c\":null,\"d\":true}]},\"e\":[],\"f\":{},\"g\":2.5}",
	    "[[],[[]],[{},{\"a\":[1,2,3]}]]",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		cJSON *j = parse(docs[i]);
		cJSON *d = json_dup(j);
		assert_true(json_equal(j, d));
		char *a = json_print(j), *b = json_print(d);
		assert_string_equal(a, b); /* same order */
		free(a);
		free(b);
		/* Appending, detaching the last and replacing the first work on the copy. */
		if (cJSON_IsObject(d)) {
			cJSON_AddNumberToObject(d, "zz", 7);
			assert_int_equal((int)cJSON_GetObjectItem(d, "zz")->valuedouble, 7);
			cJSON_DeleteItemFromObject(d, "zz");
		} else {
			cJSON_AddItemToArray(d, cJSON_CreateNumber(7));
			assert_int_equal((int)cJSON_GetArrayItem(d, cJSON_GetArraySize(d) - 1)->valuedouble, 7);
			cJSON_DeleteItemFromArray(d, cJSON_GetArraySize(d) - 1);
		}
		assert_true(json_equal(j, d));
		if (d->child) {
			assert_ptr_equal(d->child->prev, cJSON_GetArrayItem(d, cJSON_GetArraySize(d) - 1));
			cJSON_AddItemToArray(d, cJSON_CreateString("tail"));
			assert_string_equal(d->child->prev->valuestring, "tail");
		}
		cJSON_Delete(d);
		char *again = json_print(j); /* the original is untouched */
		cJSON *p = parse(again);
		assert_true(json_equal(j, p));
		cJSON_Delete(p);
		free(again);
		cJSON_Delete(j);
	}
	cJSON *j = parse("{\"spec\":{\"x\":[1,2]},\"s\":\"v\"}");
	cJSON *c = json_dup(cJSON_GetObjectItem(j, "spec"));
	assert_null(c->string);
	cJSON *arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, c);
	char *out = json_print(arr);
	assert_string_equal(out, "[{\"x\":[1,2]}]");
	free(out);
	cJSON_Delete(arr);
	cJSON *s = json_dup(cJSON_GetObjectItem(j, "s")); /* a leaf keeps its key, as cJSON_Duplicate does */
	assert_string_equal(s->valuestring, "v");
	cJSON_Delete(s);
	cJSON_Delete(j);
	/* Past the bound, a null under the same key. */
	cJSON *deep = cJSON_CreateObject(), *at = deep;
	for (int i = 0; i < JSON_MAX_DEPTH * 2 + 5; i++)
		at = cJSON_AddObjectToObject(at, "a");
	cJSON *dd = json_dup(deep);
	at = dd;
	int n = 0;
	while (cJSON_IsObject(at) && cJSON_GetObjectItem(at, "a")) {
		at = cJSON_GetObjectItem(at, "a");
		n++;
	}
	assert_true(cJSON_IsNull(at));
	assert_int_equal(n, JSON_MAX_DEPTH * 2 + 1);
	cJSON_Delete(dd);
	cJSON_Delete(deep);
	assert_null(json_dup(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_cases),
		cmocka_unit_test(test_equal_deep_is_linear),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_print_bound),
		cmocka_unit_test(test_dup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
