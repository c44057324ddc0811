/* workidx — see workidx.h. */
#include "workidx.h"

#include <stdlib.h>
#include <string.h>

#include "objclient.h"

static void set_free(void *v)
{
	struct workidx_set *s = v;
	for (size_t i = 0; i < s->n; i++)
		free(s->ns[i]);
	free(s->ns);
	free(s);
}

static void add(struct workidx *ix, const char *ns, const char *name)
{
	struct workidx_set *s = strmap_get(&ix->by_name, name);
	if (!s) {
		s = calloc(1, sizeof *s);
		strmap_put(&ix->by_name, name, s);
	}
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->ns[i], ns) == 0)
			return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->ns = realloc(s->ns, s->cap * sizeof *s->ns);
	}
	s->ns[s->n++] = strdup(ns);
}

static void del(struct workidx *ix, const char *ns, const char *name)
{
	struct workidx_set *s = strmap_get(&ix->by_name, name);
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->ns[i], ns) == 0) {
			free(s->ns[i]);
			s->ns[i] = s->ns[--s->n]; /* order does not matter */
			break;
		}
	}
	if (s->n == 0)
		strmap_del(&ix->by_name, name);
}

/* The namespace and name of a Work key, or false for any other key. */
static bool split_work_key(const char *key, struct objc_key_parts *kp)
{
	return strncmp(key, WORKIDX_PREFIX, sizeof WORKIDX_PREFIX - 1) == 0 && objc_split_key(key, kp) == 0 &&
	       kp->ns[0] && kp->name[0];
}

void workidx_event(struct workidx *ix, const struct store_event *ev)
{
	struct objc_key_parts kp;
	if (!ix->ready || !split_work_key(ev->key, &kp))
		return;
	if (ev->type == STORE_DELETED)
		del(ix, kp.ns, kp.name);
	else
		add(ix, kp.ns, kp.name);
}

static int collect(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct objc_key_parts kp;
	if (split_work_key(key, &kp))
		add(ud, kp.ns, kp.name);
	return 0;
}

static void build(struct workidx *ix, struct store *st)
{
	strmap_clear(&ix->by_name);
	ix->by_name.free_val = set_free;
	store_list(st, WORKIDX_PREFIX, collect, ix, NULL);
	ix->ready = true;
}

void workidx_reset(struct workidx *ix)
{
	strmap_clear(&ix->by_name);
	ix->ready = false;
}

void workidx_free(struct workidx *ix) { workidx_reset(ix); }

char **workidx_namespaces(struct workidx *ix, struct store *st, const char *name)
{
	if (!ix->ready)
		build(ix, st);
	const struct workidx_set *s = strmap_get(&ix->by_name, name);
	size_t n = s ? s->n : 0;
	char **out = calloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = strdup(s->ns[i]);
	return out;
}

void workidx_free_list(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

size_t workidx_count(const struct workidx *ix)
{
	size_t n = 0, pos = 0;
	const char *k;
	void *v;
	while (strmap_next(&ix->by_name, &pos, &k, &v))
		n += ((const struct workidx_set *)v)->n;
	return n;
}
