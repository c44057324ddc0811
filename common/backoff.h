/* backoff — capped exponential backoff with jitter.
 * Owns: the retry delays of every client (agent -> hub, agent -> member):
 * the n-th consecutive failure waits a random time in
 * [d/2, d] where d = min(cap, base * 2^n) ("equal jitter"), so retries
 * spread out but never collapse to zero. Pure: the random source is a
 * seeded xorshift, so tests are deterministic. */
#ifndef ATOLL_BACKOFF_H
#define ATOLL_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint64_t base_ms;
	uint64_t cap_ms;
	unsigned attempt; /* consecutive failures so far */
	uint64_t rng;
};

/* seed 0 picks a seed from the clock and process id. */
void backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms, uint64_t seed);
/* The delay before the next retry; counts one more failure. */
uint64_t backoff_next_ms(struct backoff *b);
/* The upper bound backoff_next_ms would use now (no side effects). */
uint64_t backoff_ceiling_ms(const struct backoff *b);
/* After a success. */
void backoff_reset(struct backoff *b);

#endif
