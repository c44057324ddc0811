/* workidx — see workidx.h. */
#include "workidx.h"

#include <stdlib.h>
#include <string.h>

#include "objclient.h"

static void set_free(void *v)
{
	struct workidx_set *s = v;
	strmap_clear(&s->ns);
	free(s);
}

/* O(1) per write: a binding pass writes one Work of the same name per
 * cluster, so a scan of the set per write was N^2 per pass (issue 15). */
static void add(struct workidx *ix, const char *ns, const char *name)
{
	struct workidx_set *s = strmap_get(&ix->by_name, name);
	if (!s) {
		s = calloc(1, sizeof *s);
		strmap_put(&ix->by_name, name, s);
	}
	strmap_add(&s->ns, ns, NULL);
}

static void del(struct workidx *ix, const char *ns, const char *name)
{
	struct workidx_set *s = strmap_get(&ix->by_name, name);
	if (!s)
		return;
	strmap_del(&s->ns, ns);
	if (strmap_count(&s->ns) == 0)
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
	size_t n = s ? strmap_count(&s->ns) : 0, i = 0, pos = 0;
	char **out = calloc(n + 1, sizeof *out);
	const char *k;
	void *v;
	while (s && i < n && strmap_next(&s->ns, &pos, &k, &v))
		out[i++] = strdup(k);
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
		n += strmap_count(&((const struct workidx_set *)v)->ns);
	return n;
}
