#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "nameidx.h"

static const char *name_of(const cJSON *it) { return json_get_str(it, "name"); }

/* Finds what a linear scan finds: the first item of a name in array order,
 * NULL for absent names and items without one. */
static void test_find_like_a_scan(void **state)
{
	cJSON *arr = cJSON_Parse("[{\"name\":\"eu\",\"v\":1},{\"name\":\"ap\",\"v\":2},{\"v\":3},"
				 "{\"name\":\"us\",\"v\":4},{\"name\":\"eu\",\"v\":5},{\"name\":\"ap-2\",\"v\":6}]");
	struct name_index ix;
	nidx_build(&ix, arr, name_of);
	assert_int_equal(ix.n, 5);
	assert_int_equal(json_get_num(nidx_find(&ix, "eu"), "v", 0), 1);
	assert_int_equal(json_get_num(nidx_find(&ix, "ap"), "v", 0), 2);
	assert_int_equal(json_get_num(nidx_find(&ix, "ap-2"), "v", 0), 6);
	assert_int_equal(json_get_num(nidx_find(&ix, "us"), "v", 0), 4);
	assert_null(nidx_find(&ix, "a"));
	assert_null(nidx_find(&ix, "zz"));
	assert_null(nidx_find(&ix, NULL));
	/* every entry of a name, in array order */
	size_t i = nidx_lower(&ix, "eu");
	assert_string_equal(ix.ents[i].name, "eu");
	assert_int_equal(json_get_num(ix.ents[i].item, "v", 0), 1);
	assert_string_equal(ix.ents[i + 1].name, "eu");
	assert_int_equal(json_get_num(ix.ents[i + 1].item, "v", 0), 5);
	assert_int_equal(nidx_lower(&ix, "zz"), ix.n);
	nidx_free(&ix);
	cJSON_Delete(arr);
}

static void test_empty_and_not_arrays(void **state)
{
	struct name_index ix;
	nidx_build(&ix, NULL, name_of);
	assert_int_equal(ix.n, 0);
	assert_null(nidx_find(&ix, "eu"));
	nidx_free(&ix);
	cJSON *o = cJSON_Parse("{\"name\":\"eu\"}");
	nidx_build(&ix, o, name_of);
	assert_null(nidx_find(&ix, "eu"));
	nidx_free(&ix);
	cJSON_Delete(o);
}

/* 10,000 names: every one found, in time that would not allow a scan each. */
static void test_many(void **state)
{
	cJSON *arr = cJSON_CreateArray();
	char n[32];
	for (int i = 0; i < 10000; i++) {
		cJSON *it = cJSON_CreateObject();
		snprintf(n, sizeof n, "fleet-%05d", (i * 7919) % 10000);
		cJSON_AddStringToObject(it, "name", n);
		cJSON_AddNumberToObject(it, "v", i);
		cJSON_AddItemToArray(arr, it);
	}
	struct name_index ix;
	nidx_build(&ix, arr, name_of);
	for (int i = 0; i < 10000; i++) {
		snprintf(n, sizeof n, "fleet-%05d", (i * 7919) % 10000);
		const cJSON *it = nidx_find(&ix, n);
		assert_non_null(it);
		assert_int_equal(json_get_num(it, "v", -1), i);
	}
	nidx_free(&ix);
	cJSON_Delete(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find_like_a_scan),
	    cmocka_unit_test(test_empty_and_not_arrays),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
