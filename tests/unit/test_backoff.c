#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include "backoff.h"

/* Each delay lies in [d/2, d] with d = min(cap, base * 2^n). */
static void test_bounds_and_cap(void **state)
{
	struct backoff b;
	backoff_init(&b, 500, 30000, 42);
	uint64_t want[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
	for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_int_equal(backoff_ceiling_ms(&b), want[i]);
		uint64_t d = backoff_next_ms(&b);
		assert_true(d >= want[i] - want[i] / 2);
		assert_true(d <= want[i]);
	}
	/* Many failures never overflow and stay capped. */
	for (int i = 0; i < 1000; i++) {
		uint64_t d = backoff_next_ms(&b);
		assert_true(d >= 15000 && d <= 30000);
	}
}

static void test_reset(void **state)
{
	struct backoff b;
	backoff_init(&b, 100, 10000, 7);
	for (int i = 0; i < 10; i++)
		backoff_next_ms(&b);
	assert_int_equal(backoff_ceiling_ms(&b), 10000);
	backoff_reset(&b);
	assert_int_equal(backoff_ceiling_ms(&b), 100);
	uint64_t d = backoff_next_ms(&b);
	assert_true(d >= 50 && d <= 100);
}

/* Jitter: agents that fail together do not retry together. */
static void test_jitter_spreads(void **state)
{
	uint64_t seen[64];
	int distinct = 0;
	for (uint64_t seed = 1; seed <= 64; seed++) {
		struct backoff b;
		backoff_init(&b, 1000, 60000, seed * 7919);
		for (int i = 0; i < 5; i++)
			backoff_next_ms(&b);
		uint64_t d = backoff_next_ms(&b); /* ceiling 32000 */
		assert_true(d >= 16000 && d <= 32000);
		bool dup = false;
		for (int k = 0; k < distinct; k++)
			dup |= seen[k] == d;
		if (!dup)
			seen[distinct++] = d;
	}
	assert_true(distinct > 48);
}

static void test_degenerate(void **state)
{
	struct backoff b;
	backoff_init(&b, 0, 0, 0); /* base 0 -> 1 ms; cap below base -> base; seed from the clock */
	assert_int_equal(backoff_ceiling_ms(&b), 1);
	uint64_t d = backoff_next_ms(&b);
	assert_true(d == 1);
	backoff_init(&b, 1000, 10, 1);
	assert_int_equal(backoff_next_ms(&b) <= 1000, 1);
	assert_int_equal(backoff_ceiling_ms(&b), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_and_cap),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_jitter_spreads),
		cmocka_unit_test(test_degenerate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
