/* strmap — the one string-keyed hash map (open addressing, FNV-1a, linear
 * probing, tombstones), used wherever the code needs a table by name.
 * Owns: a copy of every key (unless made by strmap_init_borrowed), and
 * every value put in it when the map was initialized with a free_val
 * function (the map frees a value when it is replaced, deleted or the map
 * is freed); with free_val NULL the values are borrowed and the caller
 * keeps them alive. Not thread-safe.
 * A zeroed struct strmap is an empty map with no free_val. */
#ifndef ATOLL_STRMAP_H
#define ATOLL_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap {
	char **keys;
	void **vals;
	size_t cap, n, tomb;
	void (*free_val)(void *);
	bool borrow_keys; /* strmap_init_borrowed: keys and values are the caller's */
};

/* An empty map whose values are freed with free_val (NULL: borrowed). */
void strmap_init(struct strmap *m, void (*free_val)(void *));
/* An empty map for about n entries whose keys (and values) are borrowed:
 * they must outlive the map, which copies and frees nothing of theirs (a
 * per-call index over strings that live elsewhere, as the scheduler's). */
void strmap_init_borrowed(struct strmap *m, size_t n);
/* Grows the table so that n entries fit without another rehash. */
void strmap_reserve(struct strmap *m, size_t n);
/* Puts key -> val (takes val when the map has a free_val); a value already
 * under key is freed (free_val) or dropped. */
void strmap_put(struct strmap *m, const char *key, void *val);
/* Puts key -> val unless key is present (then nothing changes, and val
 * stays the caller's); whether it was added. */
bool strmap_add(struct strmap *m, const char *key, void *val);
/* The value under key (borrowed), or NULL when absent (or stored NULL). */
void *strmap_get(const struct strmap *m, const char *key);
bool strmap_has(const struct strmap *m, const char *key);
/* Removes key and frees its value (free_val); false when absent. */
bool strmap_del(struct strmap *m, const char *key);
/* Removes key and hands its value to the caller (never freed here). */
void *strmap_take(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);
/* Iteration in slot order: start with *pos = 0; each call gives the next
 * entry (key and value borrowed) and false after the last. The map must not
 * change during the walk, except strmap_del of the entry just returned. */
bool strmap_next(const struct strmap *m, size_t *pos, const char **key, void **val);
/* Removes every entry (values freed with free_val); keeps free_val. */
void strmap_clear(struct strmap *m);

/* Maps of strings (free_val = free): key -> a copy of val (NULL stored as NULL). */
void strmap_put_str(struct strmap *m, const char *key, const char *val);
const char *strmap_get_str(const struct strmap *m, const char *key);

#endif
