/* xalloc — allocation that aborts on failure (see xalloc.h). */
#include "xalloc.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void out_of_memory(size_t n)
{
	log_error("out of memory (allocating %zu bytes)", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		out_of_memory(count * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

void xalloc_tune(void)
{
	/* No glibc fastbins: with them every allocation of 1 KiB or more (a
	 * stored object's text, SQLite's row buffers) first consolidated the
	 * fastbins the many small cJSON nodes had filled, 8-27 % of the hub's
	 * time in a fan-out to 2,000 clusters (docs/benchmarks.md, Fleet). The
	 * per-thread cache still serves small sizes. */
	mallopt(M_MXFAST, 0);
}
