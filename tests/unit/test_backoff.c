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

/* The agent's one policy: 250-500 ms first, doubling, 15-30 s at the cap. */
static void test_policy_numbers(void **state)
{
	struct backoff b;
	backoff_init_policy(&b, 99);
	assert_int_equal(b.base_ms, RETRY_BASE_MS);
	assert_int_equal(b.cap_ms, RETRY_CAP_MS);
	assert_int_equal(RETRY_BASE_MS, 500);
	assert_int_equal(RETRY_CAP_MS, 30000);
	uint64_t prev_ceiling = 0;
	for (int i = 0; i < 12; i++) {
		uint64_t c = backoff_ceiling_ms(&b);
		assert_true(c == (prev_ceiling ? (prev_ceiling * 2 > 30000 ? 30000 : prev_ceiling * 2) : 500));
		uint64_t d = backoff_next_ms(&b);
		assert_true(d >= c / 2 && d <= c);
		prev_ceiling = c;
	}
	assert_int_equal(prev_ceiling, 30000);
	/* Retries over a minute of failures: a handful, not thousands. */
	backoff_reset(&b);
	uint64_t t = 0;
	int tries = 0;
	while (t < 60000) {
		t += backoff_next_ms(&b);
		tries++;
	}
	assert_true(tries >= 6 && tries <= 12);
}

/* Per object: each has its own count and due time; a success resets only
 * that object's. */
static void test_per_object_due_and_reset(void **state)
{
	struct backoff a, b;
	backoff_init_policy(&a, 1);
	backoff_init_policy(&b, 2);
	uint64_t now = 100000;
	assert_true(backoff_due(&a, now)); /* never failed: due at once */
	for (int i = 0; i < 6; i++)
		backoff_fail_at(&a, now);
	uint64_t due_b = backoff_fail_at(&b, now);
	assert_true(due_b >= now + 250 && due_b <= now + 500);
	assert_true(a.due_ms >= now + 8000 && a.due_ms <= now + 16000); /* 6th failure: ceiling 16 s */
	assert_false(backoff_due(&a, now + 7999));
	assert_true(backoff_due(&a, a.due_ms));
	assert_false(backoff_due(&b, now));
	assert_true(backoff_due(&b, due_b));
	/* b succeeds: b starts over, a keeps its backoff. */
	backoff_reset(&b);
	assert_true(backoff_due(&b, now));
	assert_int_equal(backoff_ceiling_ms(&b), 500);
	assert_int_equal(backoff_ceiling_ms(&a), 30000);
	assert_false(backoff_due(&a, now + 1));
	uint64_t d = backoff_fail_at(&b, now) - now;
	assert_true(d >= 250 && d <= 500);
}

/* Seeded from the clock, two objects made at once still spread. */
static void test_clock_seeds_differ(void **state)
{
	struct backoff bs[32];
	int distinct = 0;
	uint64_t seen[32];
	for (int i = 0; i < 32; i++) {
		backoff_init_policy(&bs[i], 0);
		for (int k = 0; k < 6; k++)
			backoff_next_ms(&bs[i]);
		uint64_t d = backoff_next_ms(&bs[i]);
		assert_true(d >= 15000 && d <= 30000);
		bool dup = false;
		for (int k = 0; k < distinct; k++)
			dup |= seen[k] == d;
		if (!dup)
			seen[distinct++] = d;
	}
	assert_true(distinct > 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_and_cap),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_jitter_spreads),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_policy_numbers),
		cmocka_unit_test(test_per_object_due_and_reset),
		cmocka_unit_test(test_clock_seeds_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
