/* nameidx — find the items of a JSON array by a name in O(log n).
 * Owns nothing but a sorted array of (name, item) pointers into the array,
 * which must outlive the index and not change while it is used. Built once
 * per pass where a loop over N targets would otherwise scan N items each
 * (binding aggregation, Work sync, cluster lookups): N log N instead of N².
 * Duplicated names: nidx_find returns the first in array order, as a linear
 * scan would. */
#ifndef ATOLL_NAMEIDX_H
#define ATOLL_NAMEIDX_H

#include <stddef.h>
#include <cjson/cJSON.h>

struct nidx_ent {
	const char *name;
	const cJSON *item;
	size_t pos;
};

struct name_index {
	struct nidx_ent *ents;
	size_t n;
};

/* key(item) gives an item's name, or NULL to leave it out. */
void nidx_build(struct name_index *ix, const cJSON *arr, const char *(*key)(const cJSON *item));
/* Index of the first entry whose name is >= name (entries with equal names
 * follow in array order); ix->n when none. */
size_t nidx_lower(const struct name_index *ix, const char *name);
const cJSON *nidx_find(const struct name_index *ix, const char *name);
void nidx_free(struct name_index *ix);

#endif
