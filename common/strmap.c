#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* A deleted slot's key points here (a static, so a map may be moved). */
static char tomb_key;
#define TOMB(m) ((void)(m), &tomb_key)

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

static bool live(const struct strmap *m, size_t i) { return m->keys[i] && m->keys[i] != TOMB(m); }

void strmap_init(struct strmap *m, void (*free_val)(void *))
{
	memset(m, 0, sizeof *m);
	m->free_val = free_val;
}

void strmap_init_borrowed(struct strmap *m, size_t n)
{
	memset(m, 0, sizeof *m);
	m->borrow_keys = true;
	strmap_reserve(m, n);
}

static long find(const struct strmap *m, const char *k)
{
	if (!m->cap)
		return -1;
	for (size_t i = hash_str(k) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (!m->keys[i])
			return -1;
		if (m->keys[i] != TOMB(m) && strcmp(m->keys[i], k) == 0)
			return (long)i;
	}
	return -1;
}

static void rehash(struct strmap *m, size_t want)
{
	size_t cap = 64;
	while (cap < want * 2)
		cap *= 2;
	char **okeys = m->keys;
	void **ovals = m->vals;
	size_t ocap = m->cap;
	m->keys = xcalloc(cap, sizeof *m->keys);
	m->vals = xcalloc(cap, sizeof *m->vals);
	m->cap = cap;
	m->n = m->tomb = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (!okeys[i] || okeys[i] == TOMB(m))
			continue;
		size_t j = hash_str(okeys[i]) & (cap - 1);
		while (m->keys[j])
			j = (j + 1) & (cap - 1);
		m->keys[j] = okeys[i];
		m->vals[j] = ovals[i];
		m->n++;
	}
	free(okeys);
	free(ovals);
}

void strmap_reserve(struct strmap *m, size_t n)
{
	if ((n + m->tomb) * 2 > m->cap)
		rehash(m, n > m->n ? n : m->n);
}

static void insert(struct strmap *m, const char *key, void *val);

void strmap_put(struct strmap *m, const char *key, void *val)
{
	long i = find(m, key);
	if (i >= 0) {
		if (m->free_val && m->vals[i] != val)
			m->free_val(m->vals[i]);
		m->vals[i] = val;
		return;
	}
	insert(m, key, val);
}

bool strmap_add(struct strmap *m, const char *key, void *val)
{
	if (find(m, key) >= 0)
		return false;
	insert(m, key, val);
	return true;
}

/* key is absent. */
static void insert(struct strmap *m, const char *key, void *val)
{
	if ((m->n + m->tomb + 1) * 2 > m->cap)
		rehash(m, (m->n + 1) * 2);
	size_t j = hash_str(key) & (m->cap - 1);
	while (live(m, j))
		j = (j + 1) & (m->cap - 1);
	if (m->keys[j] == TOMB(m))
		m->tomb--;
	m->keys[j] = m->borrow_keys ? (char *)key : xstrdup(key);
	m->vals[j] = val;
	m->n++;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	long i = find(m, key);
	return i >= 0 ? m->vals[i] : NULL;
}

bool strmap_has(const struct strmap *m, const char *key) { return find(m, key) >= 0; }

void *strmap_take(struct strmap *m, const char *key)
{
	long i = find(m, key);
	if (i < 0)
		return NULL;
	void *v = m->vals[i];
	if (!m->borrow_keys)
		free(m->keys[i]);
	m->keys[i] = TOMB(m);
	m->vals[i] = NULL;
	m->n--;
	m->tomb++;
	if (m->n == 0) {
		/* Empty: forget the tombstones (cheap, keeps probes short). */
		memset(m->keys, 0, m->cap * sizeof *m->keys);
		m->tomb = 0;
	}
	return v;
}

bool strmap_del(struct strmap *m, const char *key)
{
	long i = find(m, key);
	if (i < 0)
		return false;
	void *v = strmap_take(m, key);
	if (m->free_val && v)
		m->free_val(v);
	return true;
}

size_t strmap_count(const struct strmap *m) { return m->n; }

bool strmap_next(const struct strmap *m, size_t *pos, const char **key, void **val)
{
	for (; *pos < m->cap; (*pos)++) {
		if (live(m, *pos)) {
			if (key)
				*key = m->keys[*pos];
			if (val)
				*val = m->vals[*pos];
			(*pos)++;
			return true;
		}
	}
	return false;
}

void strmap_clear(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (live(m, i)) {
			if (!m->borrow_keys)
				free(m->keys[i]);
			if (m->free_val && m->vals[i])
				m->free_val(m->vals[i]);
		}
	}
	free(m->keys);
	free(m->vals);
	void (*fv)(void *) = m->free_val;
	bool borrow = m->borrow_keys;
	memset(m, 0, sizeof *m);
	m->free_val = fv;
	m->borrow_keys = borrow;
}

void strmap_put_str(struct strmap *m, const char *key, const char *val)
{
	strmap_put(m, key, val ? xstrdup(val) : NULL);
}

const char *strmap_get_str(const struct strmap *m, const char *key) { return strmap_get(m, key); }
