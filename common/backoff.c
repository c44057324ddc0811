#include "backoff.h"

#include <time.h>
#include <unistd.h>

uint64_t backoff_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms, uint64_t seed)
{
	b->base_ms = base_ms ? base_ms : 1;
	b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
	b->attempt = 0;
	b->due_ms = 0;
	if (!seed) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		/* The address too: objects set up in the same nanosecond differ. */
		seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
		       ((uint64_t)(uintptr_t)b * 0x9e3779b97f4a7c15ULL);
	}
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

void backoff_init_policy(struct backoff *b, uint64_t seed)
{
	backoff_init(b, RETRY_BASE_MS, RETRY_CAP_MS, seed);
}

static uint64_t next_rand(struct backoff *b)
{
	uint64_t x = b->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return x;
}

uint64_t backoff_rand(struct backoff *b) { return next_rand(b); }

uint64_t backoff_ceiling_ms(const struct backoff *b)
{
	uint64_t d = b->base_ms;
	for (unsigned i = 0; i < b->attempt && d < b->cap_ms; i++)
		d *= 2;
	return d > b->cap_ms ? b->cap_ms : d;
}

uint64_t backoff_next_ms(struct backoff *b)
{
	uint64_t d = backoff_ceiling_ms(b);
	if (b->attempt < 64)
		b->attempt++;
	uint64_t half = d / 2;
	return d - half + (half ? next_rand(b) % (half + 1) : 0);
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
	b->due_ms = 0;
}

uint64_t backoff_fail_at(struct backoff *b, uint64_t now_ms)
{
	b->due_ms = now_ms + backoff_next_ms(b);
	return b->due_ms;
}

bool backoff_due(const struct backoff *b, uint64_t now_ms) { return now_ms >= b->due_ms; }
