/* backoff — capped exponential backoff with jitter.
 * Owns: the retry delays of every client (agent -> hub, agent -> member):
 * the n-th consecutive failure waits a random time in
 * [d/2, d] where d = min(cap, base * 2^n) ("equal jitter"), so retries
 * spread out but never collapse to zero. Pure: the random source is a
 * seeded xorshift, so tests are deterministic.
 *
 * The agent has ONE retry policy (RETRY_BASE_MS, RETRY_CAP_MS; documented
 * in docs/operations.md, "Retries"): every path that retries a request —
 * apply, namespace read/creation, discovery, deletion, watches of owned
 * objects, registration, long-poll, status reports, join, certificate
 * renewal — keeps one struct backoff per object it retries (a manifest, a
 * member object, a resource's watch, a kind of hub request), initialized
 * with backoff_init_policy, and resets it only when that object succeeds. */
#ifndef ATOLL_BACKOFF_H
#define ATOLL_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#define RETRY_BASE_MS 500   /* the first retry waits 250-500 ms */
#define RETRY_CAP_MS 30000  /* no retry waits more than 30 s (15-30 s at the cap) */

struct backoff {
	uint64_t base_ms;
	uint64_t cap_ms;
	unsigned attempt; /* consecutive failures so far */
	uint64_t rng;
	uint64_t due_ms; /* backoff_fail_at: not to be retried before (0: now) */
};

/* seed 0 picks a seed from the clock, the process id and b's address. */
void backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms, uint64_t seed);
/* backoff_init with the retry policy (RETRY_BASE_MS, RETRY_CAP_MS). */
void backoff_init_policy(struct backoff *b, uint64_t seed);
/* The delay before the next retry; counts one more failure. */
uint64_t backoff_next_ms(struct backoff *b);
/* The upper bound backoff_next_ms would use now (no side effects). */
uint64_t backoff_ceiling_ms(const struct backoff *b);
/* After a success: the next failure waits base again; due at once. */
void backoff_reset(struct backoff *b);

/* For objects retried by a sweep rather than a timer of their own (the
 * agent's deletions): a failure at now_ms makes the object due at
 * now_ms + backoff_next_ms(); returns that time. */
uint64_t backoff_fail_at(struct backoff *b, uint64_t now_ms);
bool backoff_due(const struct backoff *b, uint64_t now_ms);

/* A random number from b's generator (to spread periodic work). */
uint64_t backoff_rand(struct backoff *b);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t backoff_now_ms(void);

#endif
