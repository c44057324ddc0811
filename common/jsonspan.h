/* jsonspan — where a top-level member's value lies in a JSON object's text,
 * without parsing it into a tree.
 * Owns: nothing (pure functions over text it borrows).
 * For comparing one member of two stored values (a Work's spec or status
 * before and after a write) by their text
 * (issue 15: a fan-out to 10,000 clusters parsed every Work twice only to
 * find that its spec had changed). Equal spans mean equal values; different
 * spans usually, not always, mean different values (key order, number
 * spelling), so callers use a difference only where a false "changed" is
 * harmless or parse to be sure. */
#ifndef ATOLL_JSONSPAN_H
#define ATOLL_JSONSPAN_H

#include <stddef.h>

/* Looks for member name at the top level of the object in text[0..len).
 * Returns 1 with *val and *vlen the value's text (first occurrence), 0 when the
 * object has no such member, -1 when it cannot tell (not an object,
 * malformed, or a member name written with escapes). */
int jsonspan_member(const char *text, size_t len, const char *name, const char **val, size_t *vlen);

/* jsonspan_member for n names in one pass over the text: vals[i] and
 * vlens[i] the first occurrence of names[i] (NULL when absent). 0, or -1
 * when it cannot tell. */
int jsonspan_members(const char *text, size_t len, const char *const *names, int n, const char **vals, size_t *vlens);

/* Whether member name has the same text in a and b (both NUL-terminated,
 * either may be NULL = no object): 1 same (also: absent from both, or from
 * a NULL one and the other), 0 different, -1 cannot tell. */
int jsonspan_same(const char *a, const char *b, const char *name);

#endif
