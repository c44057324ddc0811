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

/* json_print writes what cJSON_PrintUnformatted writes, byte for byte (the
 * store keeps that text and compares it): random trees with integers near
 * every boundary, fractions, huge and tiny numbers, -0, NaN and infinities,
 * strings with every control character, quotes, backslashes and UTF-8,
 * raw members, empty containers and NULL keys and values; and both refuse
 * the same trees (a raw member without text, an invalid type). */
static unsigned long long rnd_state = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned)(rnd_state >> 16);
}

static double rnd_number(void)
{
	static const double edge[] = {0, 1, -1, 9, 10, 99, 100, 1e14, 1e14 - 1, 1e15, 1e15 - 1, -1e15 + 1, -1e15, 1e16,
				      9007199254740992.0, -9007199254740993.0, 1e300, -1e-300, 0.1, 0.5, 2.5, -0.25,
				      1.0 / 3, 123456789.125, 4294967296.0, -2147483648.0, 2147483648.0, 1e21, 5e-324};
	switch (rnd() % 6) {
	case 0: return edge[rnd() % (sizeof edge / sizeof edge[0])];
	case 1: return (double)(long long)(rnd() % 2000000) - 1000000;
	case 2: return ((double)rnd() * (double)rnd()) * ((rnd() & 1) ? 1 : -1);
	case 3: return (double)rnd() / (double)(rnd() | 1);
	case 4: return -0.0;
	default: return ((double)rnd() / 65536.0) * ((rnd() & 1) ? 1e-5 : 1e12);
	}
}

static char *rnd_text(char *buf, size_t cap)
{
	static const char *const bits[] = {"a", "Z", "0", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01",
					   "\x1f", "\x7f", "\xc3\xa9", "\xe2\x98\x83", "\xf0\x9f\x98\x80", "{", "]", ":", ","};
	size_t n = 0, len = rnd() % 12;
	buf[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		const char *p = bits[rnd() % (sizeof bits / sizeof bits[0])];
		if (n + strlen(p) + 1 >= cap)
			break;
		strcpy(buf + n, p);
		n += strlen(p);
	}
	return buf;
}

static cJSON *rnd_tree(int depth)
{
	char t[128];
	unsigned k = rnd() % (depth > 5 ? 6 : 9);
	switch (k) {
	case 0: return cJSON_CreateNull();
	case 1: return cJSON_CreateBool(rnd() & 1);
	case 2:
	case 3: return cJSON_CreateNumber(rnd_number());
	case 4: return cJSON_CreateString(rnd_text(t, sizeof t));
	case 5: {
		cJSON *s = cJSON_CreateString("x");
		if (rnd() % 4 == 0) { /* a string without text prints as "" */
			free(s->valuestring);
			s->valuestring = NULL;
		}
		return s;
	}
	case 6: return cJSON_CreateRaw("[1,{\"r\":true}]");
	default: {
		cJSON *c = k == 7 ? cJSON_CreateArray() : cJSON_CreateObject();
		int n = (int)(rnd() % 5);
		for (int i = 0; i < n; i++) {
			cJSON *v = rnd_tree(depth + 1);
			if (k == 7)
				cJSON_AddItemToArray(c, v);
			else
				cJSON_AddItemToObject(c, rnd_text(t, sizeof t), v);
		}
		return c;
	}
	}
}

static void assert_prints_as_cjson(const cJSON *j)
{
	char *a = cJSON_PrintUnformatted(j), *b = json_print(j);
	if (!a || !b) {
		assert_null(a);
		assert_null(b);
		return;
	}
	assert_string_equal(b, a);
	free(a);
	free(b);
}

static void test_print_matches_cjson(void **state)
{
	for (int i = 0; i < 20000; i++) {
		cJSON *j = rnd_tree(0);
		assert_prints_as_cjson(j);
		cJSON_Delete(j);
	}
	double special[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 1e15, 999999999999999.0, -999999999999999.0};
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
		cJSON *n = cJSON_CreateNumber(special[i]);
		assert_prints_as_cjson(n);
		cJSON_Delete(n);
	}
	char *s = json_print(cJSON_GetArrayItem(NULL, 0));
	assert_null(s);
	cJSON *o = cJSON_CreateObject();
	cJSON *r = cJSON_AddRawToObject(o, "r", "1");
	free(r->valuestring);
	r->valuestring = NULL; /* refused by both */
	assert_prints_as_cjson(o);
	r->valuestring = strdup("2");
	cJSON *bad = cJSON_CreateNull();
	cJSON_AddItemToObject(o, "bad", bad);
	bad->type = cJSON_Invalid; /* refused by both */
	assert_prints_as_cjson(o);
	bad->type = cJSON_NULL;
	free(bad->string);
	bad->string = NULL; /* a member without a key prints as "" */
	assert_prints_as_cjson(o);
	char *out = json_print(o);
	assert_string_equal(out, "{\"r\":2,\"\":null}");
	free(out);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_cases),
		cmocka_unit_test(test_equal_deep_is_linear),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_print_bound),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_print_matches_cjson),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
