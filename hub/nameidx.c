#include "nameidx.h"

#include <stdlib.h>
#include <string.h>

static int ent_cmp(const void *a, const void *b)
{
	const struct nidx_ent *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void nidx_build(struct name_index *ix, const cJSON *arr, const char *(*key)(const cJSON *item))
{
	ix->ents = NULL;
	ix->n = 0;
	int size = cJSON_GetArraySize(arr);
	if (size <= 0)
		return;
	ix->ents = malloc((size_t)size * sizeof *ix->ents);
	if (!ix->ents)
		return;
	size_t pos = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		const char *k = key(it);
		if (k && ix->n < (size_t)size)
			ix->ents[ix->n++] = (struct nidx_ent){k, it, pos};
		pos++;
	}
	qsort(ix->ents, ix->n, sizeof *ix->ents, ent_cmp);
}

size_t nidx_lower(const struct name_index *ix, const char *name)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ix->ents[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const cJSON *nidx_find(const struct name_index *ix, const char *name)
{
	if (!name)
		return NULL;
	size_t lo = nidx_lower(ix, name);
	return lo < ix->n && strcmp(ix->ents[lo].name, name) == 0 ? ix->ents[lo].item : NULL;
}

void nidx_free(struct name_index *ix)
{
	free(ix->ents);
	ix->ents = NULL;
	ix->n = 0;
}
