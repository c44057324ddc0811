/* numparse: strict decimal integers instead of atoi. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>

#include "numparse.h"

static void test_accepts_whole_numbers_in_range(void **state)
{
	(void)state;
	long long v = 7;
	assert_int_equal(num_parse_ll("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(num_parse_ll("65535", 0, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(num_parse_ll("-3", -5, 5, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(num_parse_ll("+4", 0, 5, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(num_parse_ll("9223372036854775807", 0, LLONG_MAX, &v), 0);
	assert_true(v == LLONG_MAX);
	int i = 0;
	assert_int_equal(num_parse_int("2147483647", 0, INT_MAX, &i), 0);
	assert_int_equal(i, INT_MAX);
}

static void test_refuses_everything_else(void **state)
{
	(void)state;
	static const char *const bad[] = {"", " 1", "1 ", "12abc", "abc", "0x10", "1.5", "--1", "+", "-",
					  "9223372036854775808", "99999999999999999999"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		long long v = 42;
		if (num_parse_ll(bad[k], LLONG_MIN, LLONG_MAX, &v) != -1)
			fail_msg("accepted \"%s\"", bad[k]);
		assert_int_equal(v, 42); /* untouched */
	}
	long long v = 42;
	assert_int_equal(num_parse_ll(NULL, 0, 1, &v), -1);
	assert_int_equal(num_parse_ll("11", 0, 10, &v), -1);
	assert_int_equal(num_parse_ll("-1", 0, 10, &v), -1);
	int i = 5;
	assert_int_equal(num_parse_int("2147483648", 0, INT_MAX, &i), -1);
	assert_int_equal(i, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_whole_numbers_in_range),
		cmocka_unit_test(test_refuses_everything_else),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
