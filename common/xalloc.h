/* xalloc — allocation that does not return failure (CODE_STYLE.md, "Out of
 * memory"). Owns: the allocator's tuning for the programs' JSON-heavy
 * work (xalloc_tune). On failure each logs "out of memory" with the
 * size and calls abort(): the programs do not try to recover from a failed
 * small allocation; their supervisor restarts them and what was committed
 * is in the store. Sizes that come from input are bounded before anything
 * is allocated for them, and that check is an error the caller answers. */
#ifndef ATOLL_XALLOC_H
#define ATOLL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Called first in main() by every program (and benchmark) that holds many
 * cJSON trees: glibc without fastbins (see xalloc.c). */
void xalloc_tune(void);

#endif
