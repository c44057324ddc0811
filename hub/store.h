/* store — revisioned, durable key/value storage for API objects.
 * Owns: the global revision (used as resourceVersion), durability of every
 * acknowledged write, the change log watchers resume from, and compaction.
 * Backends implement struct store_ops; callers see only this header, so an
 * etcd backend (v3 JSON gateway) can replace SQLite without touching them.
 *
 * Keys are "<group|core>/<plural>/<namespace>/<name>" (namespace empty for
 * cluster-scoped kinds). Values are compact JSON objects; on write the store
 * sets metadata.resourceVersion to the revision of that write, so a value
 * read back is exactly what clients see.
 *
 * Group commit. By default every put/delete is its own durable transaction.
 * After store_set_batching() writes instead join one open batch (the first
 * write opens it and calls the on_open hook; the API server then schedules
 * one store_commit() at the end of the event-loop turn), so N writes cost one
 * sync. Inside a batch:
 *   - reads through this store see the batch's writes (read-your-writes, so
 *     objects.c and the controllers work unchanged), and revisions advance
 *     per write as usual;
 *   - nothing is durable until store_commit() returns STORE_OK; a crash
 *     loses the whole open batch, so nothing read from it may leave the
 *     process before then (the API server holds such answers, see
 *     apiserver.h);
 *   - a write that fails leaves the rest of the batch intact;
 *   - if the commit fails, the batch is rolled back: the revision and the
 *     compaction point return to the last committed ones, the batch's
 *     committed events are never delivered, and rollback subscribers are
 *     told (see store_subscribe_rollback).
 * Two kinds of subscribers:
 *   - store_subscribe(): "in-transaction" subscribers are told of each
 *     write as soon as it is made, possibly before it is durable and even if
 *     it is later rolled back. Only for internal state whose own effects are
 *     store writes (the controllers): those writes join the same batch.
 *   - store_subscribe_committed(): told of every change only after its
 *     batch is durable, in revision order, from inside store_commit() (in
 *     autocommit mode: right after the write). Everything that shows changes
 *     to clients (watches, agent long-polls, /status, metrics) uses these.
 *     They must not write to the store from the callback.
 *
 * etcd (store_etcd.c): a batch is one etcd Txn (or several in order when
 * it exceeds etcd's --max-txn-ops), kept until then as writes into the
 * backend's in-memory copy, which get/list read; the Txn compares the
 * mod_revision of every key the batch read before writing and etcd makes
 * it durable with one raft/WAL sync; a failed compare is a commit failure.
 * etcd gives a Txn one revision, so that backend numbers revisions
 * (B << 20 | index), B an etcd revision seen before the Txn, which keeps
 * them ordered and unique across hubs, and answers written during the batch
 * carry them. So a batch that loses to another hub's Txn cannot be sent
 * again: it is rolled back, and the API server runs the requests whose
 * writes it held again (failed_commit below), each write then its own Txn
 * at put/del time. */
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

/* value and prev_value parsed at most once per delivery, shared by every
 * subscriber (see store_event_value). Backends own it. */
struct store_event_cache {
	cJSON *value, *prev;
	bool value_done, prev_done;
};

struct store_event {
	long long rev;
	enum store_event_type type;
	const char *key;
	const char *value;      /* new value; for DELETED the last value */
	const char *prev_value; /* previous value, NULL for ADDED */
	struct store_event_cache *cache;
	/* For the in-transaction delivery of a write made in this process
	 * through an object client: what that client said it writes on behalf
	 * of (objclient.origin), so a subscriber can tell its own writes from
	 * the others' without keeping state about them. NULL for every other
	 * write, for other hubs' writes and in committed deliveries. */
	const void *origin;
};

/* The event's value (or previous value) as JSON, parsed on first use and
 * shared with the other subscribers of this delivery: read-only, valid
 * during the callback only (json_dup to keep it). NULL when absent or not
 * JSON. */
const cJSON *store_event_value(const struct store_event *ev);
const cJSON *store_event_prev(const struct store_event *ev);
/* The parsed value handed over to the caller (who frees it); later
 * subscribers parse it again. For the last subscriber that keeps it. */
cJSON *store_event_take_value(const struct store_event *ev);
/* For backends: frees what a delivery parsed. */
void store_event_cache_clear(struct store_event_cache *c);

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
	 * metadata.resourceVersion in obj, writes it (durably, or into the open
	 * batch), returns the new revision in *rev and the stored JSON in
	 * *stored (caller frees). */
	int (*put)(struct store *s, const char *key, cJSON *obj, long long expect_rev, long long *rev, char **stored);
	int (*del)(struct store *s, const char *key, long long expect_rev, long long *rev, char **last);
	/* Replays changes with revision > since under prefix. */
	int (*changes)(struct store *s, long long since, const char *prefix, store_event_fn fn, void *ud);
	int (*compact)(struct store *s, long long keep_last);
	long long (*size_bytes)(struct store *s);
	/* Makes the open batch durable (one sync), then delivers its committed
	 * events. STORE_OK when no batch is open. On failure rolls it back. */
	int (*commit)(struct store *s);
	bool (*in_batch)(struct store *s);
};

struct store_subscriber {
	store_event_fn fn;
	void *ud;
};

typedef void (*store_batch_fn)(struct store *s, void *ud);
/* After an open batch was rolled back. */
typedef void (*store_rollback_fn)(struct store *s, void *ud);
struct store_rollback_subscriber {
	store_rollback_fn fn;
	void *ud;
};

struct store {
	const struct store_ops *ops;
	struct store_subscriber subs[8];      /* in-transaction */
	int nsubs;
	struct store_subscriber csubs[12];    /* committed */
	int ncsubs;
	store_batch_fn on_open;               /* NULL: autocommit */
	void *on_open_ud;
	struct store_rollback_subscriber rsubs[8]; /* apiserver, controller, mcs, mesh, failover, ... */
	int nrsubs;
	/* Optional (NULL: store_revision): the newest revision the backend's
	 * cluster has made, which may be ahead of store_revision() when other
	 * hubs write (etcd). A revision above it was never made. */
	long long (*head)(struct store *s);
	/* Optional (etcd; NULL: SQLite): the revision of the newest write this
	 * process made, committed or still in the open batch. */
	long long (*written)(struct store *s);
	/* Optional (etcd): after store_commit() failed, what stands. *kept is
	 * the revision of the batch's last committed write (its writes up to
	 * it are durable and stay: a long batch goes as several etcd Txns and
	 * a later one may fail), 0 when none is. Returns true when the rest
	 * failed only because another writer came first: the requests that
	 * made those writes may be run again (the store then makes each write
	 * its own transaction), and only those whose own write conflicts fail. */
	bool (*failed_commit)(struct store *s, long long *kept);
	/* Set by objclient for the duration of one write (begin_write ..
	 * end_write): the backends copy it into the write's event (origin). */
	const void *writing_for;
};

/* SQLite backend: one file DIR/atoll.db (created if missing), locked
 * against a second opener and checked at open (store_check.h). The etcd
 * backend is in store_etcd.h. */
struct store *store_open_sqlite(const char *dir, char *err, size_t errlen);

/* What the SQLite backend's background WAL checkpointer did (store_sqlite.c
 * says when it runs): passes (PASSIVE), idle_passes (of those, the ones
 * run because writes paused, which copied every frame), restarts (RESTART
 * passes that reset a WAL past 32 MB; restart_us_max: the longest, which
 * the writer may wait for), inline_passes (on the loop: the
 * thread fell far behind), frames_copied, frames_left (by the last pass;
 * 0: the WAL starts over at the next write). False (all zero) when s is
 * not SQLite or runs without the thread. */
struct store_ckpt_stats {
	unsigned long passes, idle_passes, restarts, restart_us_max, inline_passes, frames_copied, frames_left;
};
bool store_sqlite_ckpt_stats(struct store *s, struct store_ckpt_stats *out);

/* In-transaction subscribers (see above): every write, as it is made. */
void store_subscribe(struct store *s, store_event_fn fn, void *ud);
/* Committed subscribers: every change once durable, in revision order. */
void store_subscribe_committed(struct store *s, store_event_fn fn, void *ud);
/* Removes fn/ud from both lists. */
void store_unsubscribe(struct store *s, store_event_fn fn, void *ud);
/* Told when a batch is rolled back: its writes, which in-transaction
 * subscribers have already seen, are gone, so state derived from them must
 * be rebuilt from the store. Called from inside a store call (a failed
 * write or commit): only schedule work here, never write or free what a
 * caller up the stack may hold. */
void store_subscribe_rollback(struct store *s, store_rollback_fn fn, void *ud);
void store_unsubscribe_rollback(struct store *s, store_rollback_fn fn, void *ud);
void store_notify_rollback(struct store *s);
/* For backends: tell in-transaction / committed subscribers. */
void store_notify(struct store *s, const struct store_event *ev);
void store_notify_committed(struct store *s, const struct store_event *ev);
/* Turns on group commit: writes join one batch until store_commit();
 * on_open(s, ud) is called when a write opens a new batch. */
void store_set_batching(struct store *s, store_batch_fn on_open, void *ud);

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
static inline int store_commit(struct store *s) { return s->ops->commit(s); }
/* True while writes are waiting for store_commit(). */
static inline bool store_in_batch(struct store *s) { return s->ops->in_batch(s); }

/* Builds "<group|core>/<plural>/<ns>/<name>" into buf. name may be "" for a prefix. */
const char *store_key(char *buf, size_t len, const char *group, const char *plural, const char *ns, const char *name);

#endif
