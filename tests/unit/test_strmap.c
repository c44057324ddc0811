#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

static void test_put_get_del(void **state)
{
	struct strmap m;
	strmap_init(&m, free);
	assert_null(strmap_get(&m, "a"));
	assert_false(strmap_has(&m, "a"));
	strmap_put_str(&m, "a", "1");
	strmap_put_str(&m, "b", NULL);
	assert_string_equal(strmap_get_str(&m, "a"), "1");
	assert_true(strmap_has(&m, "b"));
	assert_null(strmap_get(&m, "b"));
	strmap_put_str(&m, "a", "2"); /* replaces (the old value freed: ASan checks) */
	assert_string_equal(strmap_get_str(&m, "a"), "2");
	assert_int_equal(strmap_count(&m), 2);
	assert_true(strmap_del(&m, "a"));
	assert_false(strmap_del(&m, "a"));
	assert_false(strmap_has(&m, "a"));
	assert_int_equal(strmap_count(&m), 1);
	strmap_clear(&m);
	assert_int_equal(strmap_count(&m), 0);
	strmap_put_str(&m, "c", "3"); /* usable after clear, free_val kept */
	assert_string_equal(strmap_get_str(&m, "c"), "3");
	strmap_clear(&m);
}

/* Many keys, deletions in between (tombstones), growth: every key stays
 * findable, deleted ones stay gone, and a walk sees each live key once. */
static void test_many_and_walk(void **state)
{
	struct strmap m = {0};
	static int vals[5000];
	char k[32];
	for (int i = 0; i < 5000; i++) {
		vals[i] = i;
		snprintf(k, sizeof k, "key-%d", i);
		strmap_put(&m, k, &vals[i]);
		if (i % 3 == 0) {
			snprintf(k, sizeof k, "key-%d", i / 2);
			strmap_del(&m, k);
		}
	}
	size_t live = 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "key-%d", i);
		int *v = strmap_get(&m, k);
		bool deleted = false;
		for (int j = 0; j < 5000 && !deleted; j += 3)
			deleted = j / 2 == i && j >= i; /* deleted after it was put */
		if (deleted) {
			assert_null(v);
		} else {
			assert_non_null(v);
			assert_int_equal(*v, i);
			live++;
		}
	}
	assert_int_equal(strmap_count(&m), live);
	size_t pos = 0, seen = 0;
	const char *key;
	void *val;
	while (strmap_next(&m, &pos, &key, &val)) {
		assert_int_equal(*(int *)val, atoi(key + 4));
		seen++;
	}
	assert_int_equal(seen, live);
	/* Deleting the entry just returned during a walk. */
	pos = 0;
	while (strmap_next(&m, &pos, &key, &val))
		strmap_del(&m, key);
	assert_int_equal(strmap_count(&m), 0);
	strmap_clear(&m);
}

static void test_take_and_reserve(void **state)
{
	struct strmap m;
	strmap_init(&m, free);
	strmap_reserve(&m, 1000);
	size_t cap = m.cap;
	char k[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof k, "%d", i);
		strmap_put_str(&m, k, k);
	}
	assert_int_equal(m.cap, cap); /* no rehash */
	char *v = strmap_take(&m, "7");
	assert_string_equal(v, "7");
	free(v);
	assert_null(strmap_take(&m, "7"));
	assert_int_equal(strmap_count(&m), 999);
	/* A moved map still works (tombstones are not tied to its address). */
	struct strmap moved = m;
	assert_false(strmap_has(&moved, "7"));
	assert_string_equal(strmap_get_str(&moved, "8"), "8");
	strmap_clear(&moved);
}

/* Borrowed keys: nothing copied, the first add wins, clear frees nothing
 * of the caller's (ASan would see a bad free). */
static void test_borrowed(void **state)
{
	static const char *const names[] = {"eu", "ap", "us", "eu"};
	int idx[4] = {0, 1, 2, 3};
	struct strmap m;
	strmap_init_borrowed(&m, 4);
	assert_true(strmap_add(&m, names[0], &idx[0]));
	assert_true(strmap_add(&m, names[1], &idx[1]));
	assert_true(strmap_add(&m, names[2], &idx[2]));
	assert_false(strmap_add(&m, names[3], &idx[3])); /* duplicate: the first stays */
	assert_int_equal(*(int *)strmap_get(&m, "eu"), 0);
	size_t pos = 0;
	const char *key;
	strmap_next(&m, &pos, &key, NULL);
	assert_true(key == names[0] || key == names[1] || key == names[2]); /* the caller's pointer itself */
	assert_true(strmap_del(&m, "ap"));
	assert_int_equal(strmap_count(&m), 2);
	strmap_clear(&m);
	assert_true(m.borrow_keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_many_and_walk),
		cmocka_unit_test(test_take_and_reserve),
		cmocka_unit_test(test_borrowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
