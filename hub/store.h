/* store — revisioned, durable key/value storage for API objects.
 * Owns: the global revision (used as resourceVersion), durability of every
 * acknowledged write, the change log watchers resume from, and compaction.
 * Backends implement struct store_ops; callers see only this header, so an
 * etcd backend (v3 JSON gateway) can replace SQLite without touching them.
 *
 * Keys are "<group|core>/<plural>/<namespace>/<name>" (namespace empty for
 * cluster-scoped kinds). Values are compact JSON objects; on write the store
 * sets metadata.resourceVersion to the revision of that write, so a value
 * read back is exactly what clients see. */
#ifndef ATOLL_STORE_H
#define ATOLL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

enum store_rc {
	STORE_OK = 0,
	STORE_NOT_FOUND = 1,
	STORE_EXISTS = 2,
	STORE_CONFLICT = 3,  /* expected revision does not match */
	STORE_COMPACTED = 4, /* revision older than the retained history */
	STORE_ERROR = -1,
};

enum store_event_type { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

struct store_event {
	long long rev;
	enum store_event_type type;
	const char *key;
	const char *value;      /* new value; for DELETED the last value */
	const char *prev_value; /* previous value, NULL for ADDED */
};

typedef void (*store_event_fn)(const struct store_event *ev, void *ud);
/* Called per listed item; return non-zero to stop. */
typedef int (*store_item_fn)(const char *key, const char *value, size_t len, long long mod_rev, void *ud);

struct store;

struct store_ops {
	void (*close)(struct store *s);
	long long (*revision)(struct store *s);
	long long (*compacted)(struct store *s);
	int (*get)(struct store *s, const char *key, char **value, long long *mod_rev);
	int (*list)(struct store *s, const char *prefix, store_item_fn fn, void *ud, long long *rev);
	/* expect_rev: 0 = any; -1 = must not exist (create). Sets
	 * metadata.resourceVersion in obj, writes it durably, returns the new
	 * revision in *rev and the stored JSON in *stored (caller frees). */
	int (*put)(struct store *s, const char *key, cJSON *obj, long long expect_rev, long long *rev, char **stored);
	int (*del)(struct store *s, const char *key, long long expect_rev, long long *rev, char **last);
	/* Replays changes with revision > since under prefix. */
	int (*changes)(struct store *s, long long since, const char *prefix, store_event_fn fn, void *ud);
	int (*compact)(struct store *s, long long keep_last);
	long long (*size_bytes)(struct store *s);
};

struct store_subscriber {
	store_event_fn fn;
	void *ud;
};

struct store {
	const struct store_ops *ops;
	struct store_subscriber subs[8];
	int nsubs;
};

/* SQLite backend: one file DIR/atoll.db (created if missing). */
struct store *store_open_sqlite(const char *dir, char *err, size_t errlen);

/* Subscribers are told of every committed change, in revision order, after
 * it is durable. */
void store_subscribe(struct store *s, store_event_fn fn, void *ud);
void store_notify(struct store *s, const struct store_event *ev);

static inline void store_close(struct store *s) { s->ops->close(s); }
static inline long long store_revision(struct store *s) { return s->ops->revision(s); }
static inline long long store_compacted(struct store *s) { return s->ops->compacted(s); }
static inline int store_get(struct store *s, const char *key, char **value, long long *mod_rev)
{ return s->ops->get(s, key, value, mod_rev); }
static inline int store_list(struct store *s, const char *prefix, store_item_fn fn, void *ud, long long *rev)
{ return s->ops->list(s, prefix, fn, ud, rev); }
static inline int store_put(struct store *s, const char *key, cJSON *obj, long long expect_rev, long long *rev, char **stored)
{ return s->ops->put(s, key, obj, expect_rev, rev, stored); }
static inline int store_delete(struct store *s, const char *key, long long expect_rev, long long *rev, char **last)
{ return s->ops->del(s, key, expect_rev, rev, last); }
static inline int store_changes(struct store *s, long long since, const char *prefix, store_event_fn fn, void *ud)
{ return s->ops->changes(s, since, prefix, fn, ud); }
static inline int store_compact(struct store *s, long long keep_last) { return s->ops->compact(s, keep_last); }

/* Builds "<group|core>/<plural>/<ns>/<name>" into buf. name may be "" for a prefix. */
const char *store_key(char *buf, size_t len, const char *group, const char *plural, const char *ns, const char *name);

#endif
