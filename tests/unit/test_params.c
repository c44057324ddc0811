/* Strict request parameters (hub/params.c): Go's strconv.ParseInt and
 * ParseUint with their messages, Kubernetes' boolean conversion of query
 * parameters, resourceVersion, the field-selector fields per kind, the NUL
 * checks; and the JSON parser's refusal of \u0000. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "kinds.h"
#include "params.h"
#include "selector.h"

static void test_int64(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		long long want;
	} ok[] = {
		{"0", 0}, {"5", 5}, {"-5", -5}, {"+7", 7}, {"007", 7},
		{"9223372036854775807", LLONG_MAX}, {"-9223372036854775808", LLONG_MIN},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		long long v = 42;
		char err[256] = "";
		assert_int_equal(param_int64(ok[i].in, &v, err, sizeof err), 0);
		assert_true(v == ok[i].want);
	}
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{"abc", "strconv.ParseInt: parsing \"abc\": invalid syntax"},
		{"", "strconv.ParseInt: parsing \"\": invalid syntax"},
		{"1e20", "strconv.ParseInt: parsing \"1e20\": invalid syntax"},
		{" 5", "strconv.ParseInt: parsing \" 5\": invalid syntax"},
		{"5 ", "strconv.ParseInt: parsing \"5 \": invalid syntax"},
		{"0x10", "strconv.ParseInt: parsing \"0x10\": invalid syntax"},
		{"1.5", "strconv.ParseInt: parsing \"1.5\": invalid syntax"},
		{"-", "strconv.ParseInt: parsing \"-\": invalid syntax"},
		{"+-1", "strconv.ParseInt: parsing \"+-1\": invalid syntax"},
		{"1_000", "strconv.ParseInt: parsing \"1_000\": invalid syntax"},
		{"9223372036854775808", "strconv.ParseInt: parsing \"9223372036854775808\": value out of range"},
		{"-9223372036854775809", "strconv.ParseInt: parsing \"-9223372036854775809\": value out of range"},
		{"100000000000000000000", "strconv.ParseInt: parsing \"100000000000000000000\": value out of range"},
		{"a\"b\\c\x01", "strconv.ParseInt: parsing \"a\\\"b\\\\c\\x01\": invalid syntax"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long long v = 42;
		char err[256] = "";
		assert_int_equal(param_int64(bad[i].in, &v, err, sizeof err), -1);
		assert_string_equal(err, bad[i].msg);
		assert_true(v == 42); /* untouched */
	}
	long long v;
	char err[64];
	assert_int_equal(param_int64(NULL, &v, err, sizeof err), -1);
}

static void test_uint64(void **state)
{
	(void)state;
	unsigned long long v = 0;
	char err[256] = "";
	assert_int_equal(param_uint64("18446744073709551615", &v, err, sizeof err), 0);
	assert_true(v == ULLONG_MAX);
	assert_int_equal(param_uint64("12", &v, err, sizeof err), 0);
	assert_true(v == 12);
	assert_int_equal(param_uint64("18446744073709551616", &v, err, sizeof err), -1);
	assert_string_equal(err, "strconv.ParseUint: parsing \"18446744073709551616\": value out of range");
	assert_int_equal(param_uint64("-1", &v, err, sizeof err), -1);
	assert_string_equal(err, "strconv.ParseUint: parsing \"-1\": invalid syntax");
	assert_int_equal(param_uint64("+1", &v, err, sizeof err), -1);
	assert_string_equal(err, "strconv.ParseUint: parsing \"+1\": invalid syntax");
}

static void test_kube_bool(void **state)
{
	(void)state;
	/* apimachinery's Convert_Slice_string_To_bool: only absent, "0" and
	 * "false" (any case) are false. */
	const char *t[] = {"1", "t", "T", "true", "True", "TRUE", "yes", "", "f", "F", "abc"};
	const char *f[] = {"0", "false", "False", "FALSE", "fAlSe"};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (!param_kube_bool(t[i]))
			print_error("%s should be true\n", t[i]);
		assert_true(param_kube_bool(t[i]));
	}
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		assert_false(param_kube_bool(f[i]));
	assert_false(param_kube_bool(NULL));
}

static void test_resource_version(void **state)
{
	(void)state;
	long long rv = 5;
	char err[512] = "";
	assert_int_equal(param_resource_version(NULL, &rv, err, sizeof err), 0);
	assert_true(rv == 0);
	assert_int_equal(param_resource_version("", &rv, err, sizeof err), 0);
	assert_int_equal(param_resource_version("0", &rv, err, sizeof err), 0);
	assert_true(rv == 0);
	assert_int_equal(param_resource_version("123", &rv, err, sizeof err), 0);
	assert_true(rv == 123);
	assert_int_equal(param_resource_version("abc", &rv, err, sizeof err), -1);
	assert_string_equal(err, "invalid resource version: resourceVersion: Invalid value: \"abc\": "
				 "strconv.ParseUint: parsing \"abc\": invalid syntax");
	assert_int_equal(param_resource_version("-1", &rv, err, sizeof err), -1);
	assert_string_equal(err, "invalid resource version: resourceVersion: Invalid value: \"-1\": "
				 "strconv.ParseUint: parsing \"-1\": invalid syntax");
	/* Fits a uint64 but not the store's revision type. */
	assert_int_equal(param_resource_version("9223372036854775808", &rv, err, sizeof err), -1);
	assert_non_null(strstr(err, "value out of range"));
}

static void test_field_supported(void **state)
{
	(void)state;
	kinds_init();
	const struct kind_info *cm = kinds_find_kind("", "v1", "ConfigMap");
	const struct kind_info *pod = kinds_find_kind("", "v1", "Pod");
	const struct kind_info *ev = kinds_find_kind("", "v1", "Event");
	const struct kind_info *dep = kinds_find_kind("apps", "v1", "Deployment");
	assert_non_null(cm);
	assert_non_null(pod);
	assert_non_null(ev);
	assert_non_null(dep);
	char err[512];
	assert_true(param_field_supported(cm, "metadata.name", err, sizeof err));
	assert_true(param_field_supported(cm, "metadata.namespace", err, sizeof err));
	assert_false(param_field_supported(cm, "spec.nodeName", err, sizeof err));
	assert_string_equal(err, "\"spec.nodeName\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"");
	assert_false(param_field_supported(dep, "spec.replicas", err, sizeof err));
	assert_true(param_field_supported(pod, "spec.nodeName", err, sizeof err));
	assert_true(param_field_supported(pod, "status.phase", err, sizeof err));
	assert_false(param_field_supported(pod, "spec.foo", err, sizeof err));
	assert_string_equal(err, "field label not supported: spec.foo");
	assert_true(param_field_supported(ev, "involvedObject.name", err, sizeof err));
	assert_false(param_field_supported(ev, "spec.nodeName", err, sizeof err));
	assert_string_equal(err, "field label not supported: spec.nodeName");
	/* The keys of a parsed selector, as the API server checks them. */
	struct field_selector *fs = field_selector_parse("metadata.name=a,spec.nodeName!=b", err, sizeof err);
	assert_non_null(fs);
	assert_int_equal(field_selector_len(fs), 2);
	assert_string_equal(field_selector_key(fs, 0), "metadata.name");
	assert_string_equal(field_selector_key(fs, 1), "spec.nodeName");
	assert_null(field_selector_key(fs, 2));
	field_selector_free(fs);
	assert_int_equal(field_selector_len(NULL), 0);
	kinds_shutdown();
}

static void test_nul(void **state)
{
	(void)state;
	assert_true(params_has_nul_escape("a%00b"));
	assert_true(params_has_nul_escape("labelSelector=x%00"));
	assert_false(params_has_nul_escape("a%2500b")); /* "%00" as text, not a NUL */
	assert_false(params_has_nul_escape("a%0a"));
	assert_false(params_has_nul_escape(NULL));
	/* \u0000 anywhere in a JSON string (key or value) is refused; an
	 * escaped backslash followed by u0000 is just text. */
	static const char *bad[] = {
		"{\"k\":\"a\\u0000b\"}", "{\"k\\u0000z\":\"v\"}", "[\"\\u0000\"]", "{\"a\":{\"b\":[\"x\\u0000\"]}}",
	};
	char err[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *j = json_parse_limited(bad[i], strlen(bad[i]), JSON_MAX_DEPTH, err, sizeof err);
		assert_null(j);
		assert_non_null(strstr(err, "\\u0000 (NUL)"));
	}
	const char *ok = "{\"k\":\"a\\\\u0000b\",\"u\":\"\\u0001\\u00e9\"}";
	cJSON *j = json_parse_limited(ok, strlen(ok), JSON_MAX_DEPTH, err, sizeof err);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "k")->valuestring, "a\\u0000b");
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_uint64),
		cmocka_unit_test(test_kube_bool),
		cmocka_unit_test(test_resource_version),
		cmocka_unit_test(test_field_supported),
		cmocka_unit_test(test_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
