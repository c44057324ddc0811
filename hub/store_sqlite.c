/* SQLite backend of the store: one WAL-mode database file, synchronous=FULL
 * so a COMMIT is on disk (one fdatasync of the WAL) before it returns.
 * A batch (store.h) is one BEGIN IMMEDIATE ... COMMIT transaction; each
 * write inside it is a SAVEPOINT, so a failing write undoes only itself.
 *   objects(key PRIMARY KEY, rev, value)   current state
 *   log(rev PRIMARY KEY, type, key, value, prev)   change history for watch
 *   meta(name PRIMARY KEY, value)          revision and compaction point */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "jsonutil.h"
#include "log.h"
#include "store_check.h"
#include "timefmt.h"

/* A change waiting for its batch's commit before committed subscribers
 * hear of it. */
/* A write of an open batch, told to committed subscribers at the commit
 * (strings owned). */
struct store_pending {
	long long rev;
	enum store_event_type type;
	char *key, *value, *prev;
};

/* Frees n pending writes and the array. */
static void store_pending_free(struct store_pending *p, int n)
{
	for (int i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].value);
		free(p[i].prev);
	}
	free(p);
}

/* Takes the batch's writes (*pend, *n, *cap) off first (a subscriber must
 * not write, but if one did, its write would start the next batch), tells
 * each to the committed subscribers in order and frees them. */
static void store_pending_deliver(struct store *s, struct store_pending **pend, int *n, int *cap)
{
	struct store_pending *p = *pend;
	int np = *n;
	*pend = NULL;
	*n = *cap = 0;
	for (int i = 0; i < np; i++) {
		struct store_event_cache cache = {0};
		struct store_event ev = {p[i].rev, p[i].type, p[i].key, p[i].value, p[i].prev, &cache, NULL};
		store_notify_committed(s, &ev);
		store_event_cache_clear(&cache);
	}
	store_pending_free(p, np);
}

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	long long rev;       /* newest revision, including the open batch */
	long long compacted;
	long long committed_rev, committed_compacted; /* as of the last commit */
	bool in_tx;          /* a batch (transaction) is open */
	bool broken;         /* the open batch cannot commit (SQLite dropped it) */
	struct store_pending *pend;
	int npend, pcap;
	sqlite3_stmt *get, *ins_obj, *upd_obj, *del_obj, *ins_log, *set_meta, *begin, *commit, *rollback;
	sqlite3_stmt *savepoint, *release, *rollback_to;
	sqlite3_stmt *list, *changes; /* prepared once; a nested call prepares its own */
	bool list_busy, changes_busy;
	sqlite3_stmt *changes_k; /* the same by the key index (a narrow prefix, far back) */
	bool changes_k_busy;
	sqlite3_stmt *prev_log; /* see log_prev */
	bool prev_log_busy;
	char path[4096];
	int lock_fd; /* holds the data dir's lock (store_check.h) */
	struct ckpt *ck; /* the background checkpointer (NULL: SQLite's own, inside commits) */
	/* The rows the last READ_SLOTS gets read (read_key NULL: none): a
	 * write of such a key right after (read, change, write: every
	 * controller pass and status report; the scheduling stage reads the
	 * binding, then its template, then writes the binding) takes its old
	 * value from here instead of reading the row again. Any write of the
	 * key takes it; a rollback drops them all. */
#define READ_SLOTS 2
	struct read_slot {
		char *read_key, *read_value;
		long long read_rev;
	} reads[READ_SLOTS];
	int read_next; /* the slot the next get fills */
};

static struct sqlite_store *S(struct store *s) { return (struct sqlite_store *)s; }

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void drop_slot(struct read_slot *r)
{
	free(r->read_key);
	free(r->read_value);
	r->read_key = r->read_value = NULL;
}

static void drop_read(struct sqlite_store *q)
{
	for (int i = 0; i < READ_SLOTS; i++)
		drop_slot(&q->reads[i]);
}

/* The slot holding key's row, or NULL. */
static struct read_slot *read_slot_of(struct sqlite_store *q, const char *key)
{
	for (int i = 0; i < READ_SLOTS; i++)
		if (q->reads[i].read_key && strcmp(q->reads[i].read_key, key) == 0)
			return &q->reads[i];
	return NULL;
}

static void drop_pending(struct sqlite_store *q)
{
	store_pending_free(q->pend, q->npend);
	q->pend = NULL;
	q->npend = q->pcap = 0;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- WAL checkpoints off the event loop ------------------------------------------ */

/* SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL
 * past its threshold, i.e. on the hub's event loop: copying thousands of
 * pages back into the database and syncing it stalled the loop for seconds
 * with 5,000 agents connected (issue 15: TLS handshakes missed their
 * deadline meanwhile). Instead a thread with its own connection copies
 * the WAL back with PASSIVE checkpoints, which never block the writer or
 * readers, each time CKPT_PAGES frames were added since its last pass.
 * A WAL starts over (at the first write after) only once every frame has
 * been copied back, which a pass under steady writes never achieves (new
 * frames arrive while it copies). So:
 *  - idle: when a WAL past CKPT_PAGES has frames not copied back and no
 *    commit came for CKPT_IDLE_MS, one more PASSIVE pass copies them, and
 *    the next write starts the WAL over; no writer is held;
 *  - busy: only a WAL past CKPT_RESTART_PAGES gets a RESTART pass after the
 *    PASSIVE ones (repeated until one had at most CKPT_RESTART_TAIL frames
 *    to copy): it copies the few frames written meanwhile and resets the
 *    WAL, holding off the writer for just that long (the event loop's
 *    BEGIN waits on its busy timeout; restart_us_max in the stats), once
 *    every 32 MB of WAL instead of every 8 MB;
 *  - only a WAL far past that (the thread not keeping up) is checkpointed
 *    inline, on the loop, as SQLite would.
 * The thread's connection reads the database once at start: a connection
 * that never read it does not know it is in WAL mode, and its checkpoints
 * do nothing (they report -1 frames). */
#define CKPT_PAGES 2000         /* 8 MB of WAL with 4 KB pages */
#define CKPT_RESTART_PAGES 8000 /* 32 MB, SQLite's WAL size in this store before the thread */
#define CKPT_RESTART_TAIL 64     /* frames a RESTART may find to copy while it holds the writer */
#define CKPT_INLINE_PAGES 32000
#define CKPT_IDLE_MS 500

struct ckpt {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool due, stop, running, sleeping;
	sqlite3 *db;
	int frames;            /* in the WAL, as of the last commit */
	int copied;            /* of those, copied back (0 once the WAL started over) */
	unsigned long commits; /* seen by the WAL hook */
	struct store_ckpt_stats stats;
};

/* The event loop's connection, when the checkpointer's RESTART holds the
 * writer: retries every 100 us for the first 10 ms, then every 1 ms, 5 s in
 * all (sqlite3_busy_timeout's sleeps of 1, 2, 5, 10 ms... made a hold of
 * 3 ms a stall of 8 or 18 ms). */
static int busy_wait(void *ud, int tries)
{
	(void)ud;
	if (tries >= 100 + 4990)
		return 0;
	usleep(tries < 100 ? 100 : 1000);
	return 1;
}

/* The checkpointer's connection, waiting for the writer to let its RESTART
 * in: every 50 us, 20 ms at most, then the RESTART is given up (it copied
 * what it could, as PASSIVE) and tried again after the next CKPT_PAGES.
 * Waiting longer (the event loop holds the writer for most of a busy turn)
 * let thousands of frames pile up for the RESTART to copy while it holds
 * the writer. */
static int ckpt_busy(void *ud, int tries)
{
	(void)ud;
	if (tries >= 400)
		return 0;
	usleep(50);
	return 1;
}

/* One pass, the lock not held; *done_out: the frames now copied back. */
static void ckpt_pass(struct ckpt *k, bool may_restart, int *done_out)
{
	int log_pages = -1, done = -1;
	int rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &done);
	long long held_us = -1;
	/* Before a RESTART, PASSIVE passes until one had little to copy (the
	 * frames written during the one before): the RESTART, which holds the
	 * writer, then copies about as few. */
	for (int i = 0; rc == SQLITE_OK && may_restart && log_pages >= CKPT_RESTART_PAGES && i < 8; i++) {
		int before = done;
		rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &done);
		if (rc != SQLITE_OK || log_pages - before <= CKPT_RESTART_TAIL)
			break;
	}
	if (rc == SQLITE_OK && may_restart && log_pages >= CKPT_RESTART_PAGES) {
		long long t0 = time_mono_us();
		rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_RESTART, &log_pages, &done);
		if (rc == SQLITE_OK)
			held_us = time_mono_us() - t0;
	}
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warn("store: background WAL checkpoint: %s", sqlite3_errmsg(k->db));
	pthread_mutex_lock(&k->mu);
	k->stats.passes++;
	if (held_us >= 0) {
		k->stats.restarts++;
		if ((unsigned long)held_us > k->stats.restart_us_max)
			k->stats.restart_us_max = (unsigned long)held_us;
	}
	if (done > 0)
		k->stats.frames_copied += (unsigned long)done;
	pthread_mutex_unlock(&k->mu);
	*done_out = done;
}

static void *ckpt_main(void *arg)
{
	struct ckpt *k = arg;
	pthread_mutex_lock(&k->mu);
	for (;;) {
		/* Nothing to do: frames all copied back, or too few to bother
		 * (the WAL has not reached CKPT_PAGES since it started over). */
		while (!k->due && !k->stop && (k->frames <= k->copied || k->frames < CKPT_PAGES)) {
			k->sleeping = true;
			pthread_cond_wait(&k->cv, &k->mu);
		}
		k->sleeping = false;
		if (k->stop)
			break;
		if (!k->due) {
			/* Frames left behind in a large WAL: copy them once the
			 * writer has been idle for CKPT_IDLE_MS. */
			unsigned long seen = k->commits;
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += CKPT_IDLE_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			int w = 0;
			while (!k->due && !k->stop && w == 0)
				w = pthread_cond_timedwait(&k->cv, &k->mu, &until);
			if (k->stop)
				break;
			if (!k->due && k->commits != seen)
				continue; /* still writing */
		}
		bool due = k->due;
		k->due = false;
		k->running = true;
		pthread_mutex_unlock(&k->mu);
		int done;
		ckpt_pass(k, due, &done);
		pthread_mutex_lock(&k->mu);
		k->running = false;
		if (done >= 0)
			k->copied = done;
		if (done >= 0 && k->frames < done)
			k->frames = done; /* frames written before the pass, not yet seen by the hook */
		k->stats.frames_left = (unsigned long)(k->frames - k->copied);
		if (!due)
			k->stats.idle_passes++;
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

/* After every commit, on the loop's thread: wakes the thread when
 * CKPT_PAGES frames were added since its last pass, or when a large WAL
 * has frames to copy and the thread sleeps (it then watches for a quiet
 * spell itself). No system call otherwise. */
static int on_wal(void *ud, sqlite3 *db, const char *name, int pages)
{
	struct sqlite_store *q = ud;
	struct ckpt *k = q->ck;
	if (pages >= CKPT_INLINE_PAGES) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&k->mu);
		k->stats.inline_passes++;
		pthread_mutex_unlock(&k->mu);
		return SQLITE_OK;
	}
	pthread_mutex_lock(&k->mu);
	k->commits++;
	if (pages < k->frames)
		k->copied = 0; /* the WAL started over */
	k->frames = pages;
	if (!k->running && !k->due && pages - k->copied >= CKPT_PAGES) {
		k->due = true;
		pthread_cond_signal(&k->cv);
	} else if (k->sleeping && pages >= CKPT_PAGES && pages > k->copied) {
		k->sleeping = false;
		pthread_cond_signal(&k->cv);
	}
	pthread_mutex_unlock(&k->mu);
	return SQLITE_OK;
}

/* Starts the checkpointer; on failure SQLite's automatic checkpoint stays. */
static void ckpt_start(struct sqlite_store *q)
{
	struct ckpt *k = calloc(1, sizeof *k);
	if (!k)
		return;
	if (sqlite3_open_v2(q->path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warn("store: no background checkpoints (%s); SQLite checkpoints inside commits", sqlite3_errmsg(k->db));
		sqlite3_close(k->db);
		free(k);
		return;
	}
	sqlite3_busy_handler(k->db, ckpt_busy, NULL);
	/* Reads the database once so the connection knows it is in WAL mode. */
	if (exec(k->db, "PRAGMA schema_version") < 0) {
		sqlite3_close(k->db);
		free(k);
		return;
	}
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	if (pthread_create(&k->thread, NULL, ckpt_main, k) != 0) {
		sqlite3_close(k->db);
		pthread_mutex_destroy(&k->mu);
		pthread_cond_destroy(&k->cv);
		free(k);
		return;
	}
	q->ck = k;
	sqlite3_wal_hook(q->db, on_wal, q); /* replaces the automatic checkpoint */
}

static void ckpt_stop(struct sqlite_store *q)
{
	struct ckpt *k = q->ck;
	if (!k)
		return;
	sqlite3_wal_hook(q->db, NULL, NULL);
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	sqlite3_close(k->db);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
	q->ck = NULL;
}

/* Closing with an open batch rolls it back: it was never acknowledged. */
static void sq_close(struct store *s)
{
	struct sqlite_store *q = S(s);
	ckpt_stop(q);
	if (q->in_tx && q->db && !sqlite3_get_autocommit(q->db) && q->rollback)
		step_done(q->rollback);
	drop_pending(q);
	drop_read(q);
	sqlite3_stmt *st[] = {q->get, q->ins_obj, q->upd_obj, q->del_obj, q->ins_log, q->set_meta, q->begin,
			      q->commit, q->rollback, q->savepoint, q->release, q->rollback_to, q->list, q->changes, q->changes_k,
			      q->prev_log};
	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
		sqlite3_finalize(st[i]);
	sqlite3_close(q->db);
	if (q->lock_fd >= 0)
		close(q->lock_fd);
	free(q);
}

static long long sq_revision(struct store *s) { return S(s)->rev; }
static long long sq_compacted(struct store *s) { return S(s)->compacted; }

static int get_row(struct sqlite_store *q, const char *key, char **value, long long *mod_rev)
{
	sqlite3_reset(q->get);
	sqlite3_bind_text(q->get, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q->get);
	if (rc == SQLITE_DONE)
		return STORE_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return STORE_ERROR;
	if (mod_rev)
		*mod_rev = sqlite3_column_int64(q->get, 0);
	if (value) {
		const char *v = (const char *)sqlite3_column_text(q->get, 1);
		*value = strdup(v ? v : "");
	}
	sqlite3_reset(q->get);
	return STORE_OK;
}

static int sq_get(struct store *s, const char *key, char **value, long long *mod_rev)
{
	struct sqlite_store *q = S(s);
	long long rev = 0;
	int rc = get_row(q, key, value, &rev);
	if (mod_rev)
		*mod_rev = rev;
	if (rc == STORE_OK && value && *value) {
		struct read_slot *r = read_slot_of(q, key);
		if (!r) {
			r = &q->reads[q->read_next];
			q->read_next = (q->read_next + 1) % READ_SLOTS;
		}
		drop_slot(r);
		r->read_key = strdup(key);
		r->read_value = strdup(*value);
		r->read_rev = rev;
		if (!r->read_key || !r->read_value)
			drop_slot(r);
	}
	return rc;
}

/* The current value of key before writing it: a recent get's copy when
 * one read this key (taken), else the row. */
static int read_for_write(struct sqlite_store *q, const char *key, char **value, long long *mod_rev)
{
	struct read_slot *r = read_slot_of(q, key);
	if (r) {
		*value = r->read_value;
		*mod_rev = r->read_rev;
		r->read_value = NULL;
		drop_slot(r);
		return STORE_OK;
	}
	return get_row(q, key, value, mod_rev);
}

/* A statement prepared once and kept (*cached); a nested call (a callback
 * that lists again) gets its own, finalized by stmt_release. */
static sqlite3_stmt *stmt_acquire(struct sqlite_store *q, sqlite3_stmt **cached, bool *busy, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (*busy)
		return sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) == SQLITE_OK ? st : NULL;
	if (!*cached && sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, cached, NULL) != SQLITE_OK)
		return NULL;
	*busy = true;
	return *cached;
}

static void stmt_release(sqlite3_stmt *st, sqlite3_stmt *cached, bool *busy)
{
	if (st != cached) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	*busy = false;
}

/* Keys use only [a-z0-9.-/] so "prefix" .. "prefix\xff" spans the prefix. */
static int sq_list(struct store *s, const char *prefix, store_item_fn fn, void *ud, long long *rev)
{
	struct sqlite_store *q = S(s);
	sqlite3_stmt *st = stmt_acquire(q, &q->list, &q->list_busy,
					"SELECT key, rev, value FROM objects WHERE key >= ?1 AND key < ?2 ORDER BY key");
	if (!st)
		return STORE_ERROR;
	char hi[1024];
	snprintf(hi, sizeof hi, "%s\xff", prefix);
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	if (rev)
		*rev = q->rev;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		long long r = sqlite3_column_int64(st, 1);
		const char *v = (const char *)sqlite3_column_text(st, 2);
		int len = sqlite3_column_bytes(st, 2);
		if (fn(k, v ? v : "{}", (size_t)len, r, ud))
			break;
	}
	stmt_release(st, q->list, &q->list_busy);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? STORE_OK : STORE_ERROR;
}

static int set_meta(struct sqlite_store *q, const char *name, long long v)
{
	sqlite3_reset(q->set_meta);
	sqlite3_bind_text(q->set_meta, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q->set_meta, 2, v);
	return sqlite3_step(q->set_meta) == SQLITE_DONE ? 0 : -1;
}

static int log_change(struct sqlite_store *q, long long rev, enum store_event_type t, const char *key,
		      const char *value, const char *prev)
{
	sqlite3_reset(q->ins_log);
	sqlite3_bind_int64(q->ins_log, 1, rev);
	sqlite3_bind_int(q->ins_log, 2, (int)t);
	sqlite3_bind_text(q->ins_log, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q->ins_log, 4, value, -1, SQLITE_STATIC);
	if (prev)
		sqlite3_bind_text(q->ins_log, 5, prev, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q->ins_log, 5);
	return sqlite3_step(q->ins_log) == SQLITE_DONE ? 0 : -1;
}

static void set_rv(cJSON *obj, long long rev)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", rev);
	cJSON *meta = json_ensure_obj(obj, "metadata");
	json_set_str(meta, "resourceVersion", buf);
}

static bool autocommit(struct sqlite_store *q) { return q->base.on_open == NULL; }

/* Opens the batch if none is open, then a savepoint for one write. */
/* In batching mode meta.rev is written once, at commit. */
static bool batching(const struct sqlite_store *q) { return q->base.on_open != NULL; }

static int write_begin(struct sqlite_store *q)
{
	if (q->broken)
		return -1;
	if (!q->in_tx) {
		if (step_done(q->begin) < 0)
			return -1;
		q->in_tx = true;
		if (q->base.on_open)
			q->base.on_open(&q->base, q->base.on_open_ud);
	}
	if (step_done(q->savepoint) < 0) {
		q->broken = true;
		return -1;
	}
	return 0;
}

/* Keeps (ok) or undoes one write. Returns 0 if the write stays. */
static int write_end(struct sqlite_store *q, bool ok)
{
	if (ok && step_done(q->release) == 0)
		return 0;
	if (step_done(q->rollback_to) < 0 || step_done(q->release) < 0 || sqlite3_get_autocommit(q->db))
		q->broken = true; /* SQLite rolled back the whole transaction */
	return -1;
}

static void add_pending(struct sqlite_store *q, const struct store_event *ev)
{
	if (q->npend == q->pcap) {
		q->pcap = q->pcap ? q->pcap * 2 : 16;
		q->pend = realloc(q->pend, (size_t)q->pcap * sizeof *q->pend);
	}
	q->pend[q->npend++] = (struct store_pending){ev->rev, ev->type, strdup(ev->key), strdup(ev->value ? ev->value : ""),
					      ev->prev_value ? strdup(ev->prev_value) : NULL};
}

static void rollback_batch(struct sqlite_store *q)
{
	if (!sqlite3_get_autocommit(q->db))
		step_done(q->rollback);
	q->rev = q->committed_rev;
	q->compacted = q->committed_compacted;
	q->in_tx = false;
	q->broken = false;
	drop_pending(q);
	drop_read(q); /* it may have read the batch's writes */
	if (batching(q))
		store_notify_rollback(&q->base);
}

static int sq_commit(struct store *s)
{
	struct sqlite_store *q = S(s);
	if (!q->in_tx)
		return STORE_OK;
	if (q->broken || set_meta(q, "rev", q->rev) < 0 || step_done(q->commit) < 0) {
		log_error("store: commit of revisions %lld..%lld failed, rolled back: %s", q->committed_rev + 1, q->rev,
			  sqlite3_errmsg(q->db));
		rollback_batch(q);
		return STORE_ERROR;
	}
	q->in_tx = false;
	q->committed_rev = q->rev;
	q->committed_compacted = q->compacted;
	store_pending_deliver(s, &q->pend, &q->npend, &q->pcap);
	return STORE_OK;
}

static bool sq_in_batch(struct store *s) { return S(s)->in_tx; }

/* After a write: in-transaction subscribers now; committed ones at the
 * commit (right away in autocommit mode). Returns the write's result. */
static int written(struct sqlite_store *q, const struct store_event *ev)
{
	add_pending(q, ev);
	if (autocommit(q) && sq_commit(&q->base) != STORE_OK)
		return STORE_ERROR;
	struct store_event_cache cache = {0};
	struct store_event e = *ev;
	e.cache = &cache;
	e.origin = q->base.writing_for;
	store_notify(&q->base, &e);
	store_event_cache_clear(&cache);
	return STORE_OK;
}

/* The previous value a change's log row keeps: none (NULL) when the log
 * holds the write that made it, as replays read it from there
 * (sq_changes) and compaction copies it into the first row it keeps
 * (sq_compact); else prev. The log holds it when the object's revision is
 * past the compaction point: every write logs its revision, and the check
 * at open (store_check.c, check_history) raises the compaction point past
 * any object whose revision has no logged change of its key. Halves what a
 * change of a stored object writes to the log (issue 15: a fan-out to
 * 10,000 clusters logged every Work twice); a lookup of that row here cost
 * a fifth of every write (perf, 4,000 clusters: its page is rarely cached). */
static const char *log_prev(struct sqlite_store *q, long long cur_rev, const char *prev)
{
	return prev && cur_rev > q->compacted ? NULL : prev;
}

static int sq_put(struct store *s, const char *key, cJSON *obj, long long expect_rev, long long *rev_out, char **stored)
{
	struct sqlite_store *q = S(s);
	char *prev = NULL;
	long long cur_rev = 0;
	int found = read_for_write(q, key, &prev, &cur_rev);
	if (found == STORE_ERROR)
		return STORE_ERROR;
	if (expect_rev == -1 && found == STORE_OK) {
		free(prev);
		return STORE_EXISTS;
	}
	if (expect_rev > 0 && (found != STORE_OK || cur_rev != expect_rev)) {
		free(prev);
		return found == STORE_OK ? STORE_CONFLICT : STORE_NOT_FOUND;
	}
	long long rev = q->rev + 1;
	set_rv(obj, rev);
	char *value = json_print(obj);
	int rc = STORE_ERROR;
	if (write_begin(q) < 0) {
		log_error("store: write of %s failed: %s", key, sqlite3_errmsg(q->db));
		if (autocommit(q))
			rollback_batch(q);
		goto out;
	}
	sqlite3_stmt *w = found == STORE_OK ? q->upd_obj : q->ins_obj;
	sqlite3_reset(w);
	sqlite3_bind_text(w, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(w, 2, rev);
	sqlite3_bind_text(w, 3, value, -1, SQLITE_STATIC);
	bool ok = step_done(w) == 0 &&
		  log_change(q, rev, found == STORE_OK ? STORE_MODIFIED : STORE_ADDED, key, value,
			     log_prev(q, cur_rev, prev)) == 0 &&
		  (batching(q) || set_meta(q, "rev", rev) == 0);
	/* Taken before ROLLBACK TO, which resets it to "not an error". */
	char why[256];
	snprintf(why, sizeof why, "%s", ok ? "" : sqlite3_errmsg(q->db));
	if (write_end(q, ok) < 0) {
		log_error("store: write of %s at revision %lld failed: %s", key, rev, ok ? sqlite3_errmsg(q->db) : why);
		if (autocommit(q))
			rollback_batch(q);
		goto out;
	}
	q->rev = rev;
	struct store_event ev = {rev, found == STORE_OK ? STORE_MODIFIED : STORE_ADDED, key, value, prev, NULL, NULL};
	rc = written(q, &ev);
	if (rc == STORE_OK && rev_out)
		*rev_out = rev;
out:
	if (rc == STORE_OK && stored) {
		*stored = value;
		value = NULL;
	}
	free(value);
	free(prev);
	return rc;
}

static int sq_del(struct store *s, const char *key, long long expect_rev, long long *rev_out, char **last)
{
	struct sqlite_store *q = S(s);
	char *prev = NULL;
	long long cur_rev = 0;
	int found = read_for_write(q, key, &prev, &cur_rev);
	if (found != STORE_OK)
		return found;
	if (expect_rev > 0 && cur_rev != expect_rev) {
		free(prev);
		return STORE_CONFLICT;
	}
	long long rev = q->rev + 1;
	/* The DELETED event carries the last state stamped with the delete's
	 * revision, as kube-apiserver does. */
	char *value = NULL;
	cJSON *o = cJSON_Parse(prev);
	if (o) {
		set_rv(o, rev);
		value = json_print(o);
		cJSON_Delete(o);
	}
	if (!value)
		value = strdup(prev);
	int rc = STORE_ERROR;
	if (write_begin(q) < 0) {
		log_error("store: delete of %s failed: %s", key, sqlite3_errmsg(q->db));
		if (autocommit(q))
			rollback_batch(q);
		goto out;
	}
	sqlite3_reset(q->del_obj);
	sqlite3_bind_text(q->del_obj, 1, key, -1, SQLITE_STATIC);
	bool ok = step_done(q->del_obj) == 0 &&
		  log_change(q, rev, STORE_DELETED, key, value, log_prev(q, cur_rev, prev)) == 0 &&
		  (batching(q) || set_meta(q, "rev", rev) == 0);
	char why[256];
	snprintf(why, sizeof why, "%s", ok ? "" : sqlite3_errmsg(q->db));
	if (write_end(q, ok) < 0) {
		log_error("store: delete of %s at revision %lld failed: %s", key, rev, ok ? sqlite3_errmsg(q->db) : why);
		if (autocommit(q))
			rollback_batch(q);
		goto out;
	}
	q->rev = rev;
	struct store_event ev = {rev, STORE_DELETED, key, value, prev, NULL, NULL};
	rc = written(q, &ev);
	if (rc != STORE_OK)
		goto out;
	if (rev_out)
		*rev_out = rev;
	if (last) {
		*last = value;
		value = NULL;
	}
out:
	free(value);
	free(prev);
	return rc;
}

#define CHANGES_BY_KEY 2000

/* The value of key's log row before revision rev (a copy), NULL if none. */
static char *prev_from_log(struct sqlite_store *q, const char *key, long long rev)
{
	sqlite3_stmt *st = stmt_acquire(q, &q->prev_log, &q->prev_log_busy,
					"SELECT value FROM log INDEXED BY log_key WHERE key = ?1 AND rev < ?2 "
					"ORDER BY rev DESC LIMIT 1");
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rev);
	char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		v = t ? strdup(t) : NULL;
	}
	stmt_release(st, q->prev_log, &q->prev_log_busy);
	return v;
}

static int sq_changes(struct store *s, long long since, const char *prefix, store_event_fn fn, void *ud)
{
	struct sqlite_store *q = S(s);
	if (since < q->compacted)
		return STORE_COMPACTED;
	/* Two plans. SQLite picks the revision range (the primary key) for this
	 * query, which reads every change since `since`, all prefixes, values
	 * included: an agent whose long-poll times out after 30 s asks for its
	 * own prefix since its revision, and with 5,000 agents and 100,000
	 * revisions of history those scans took the whole event loop (issue
	 * 15, perf: 100% in waiter_timeout → sq_changes → pread). Far back
	 * (more than CHANGES_BY_KEY revisions), the key index (key, rev) reads
	 * only the prefix's own changes, then sorts them by revision. */
	bool by_key = q->rev - since > CHANGES_BY_KEY;
	sqlite3_stmt *st =
	    by_key ? stmt_acquire(q, &q->changes_k, &q->changes_k_busy,
				  "SELECT rev, type, key, value, prev FROM log INDEXED BY log_key WHERE key >= ?2 AND key < ?3 "
				  "AND rev > ?1 ORDER BY rev")
		   : stmt_acquire(
			     q, &q->changes, &q->changes_busy,
			     "SELECT rev, type, key, value, prev FROM log WHERE rev > ?1 AND key >= ?2 AND key < ?3 ORDER BY rev");
	if (!st)
		return STORE_ERROR;
	char hi[1024];
	snprintf(hi, sizeof hi, "%s\xff", prefix);
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event_cache cache = {0};
		struct store_event ev = {
			sqlite3_column_int64(st, 0),
			(enum store_event_type)sqlite3_column_int(st, 1),
			(const char *)sqlite3_column_text(st, 2),
			(const char *)sqlite3_column_text(st, 3),
			(const char *)sqlite3_column_text(st, 4),
			&cache,
			NULL,
		};
		/* A row without its previous value (log_prev): the key's row before it. */
		char *prev = NULL;
		if (ev.type != STORE_ADDED && !ev.prev_value)
			ev.prev_value = prev = prev_from_log(q, ev.key, ev.rev);
		fn(&ev, ud);
		free(prev);
		store_event_cache_clear(&cache);
	}
	if (by_key)
		stmt_release(st, q->changes_k, &q->changes_k_busy);
	else
		stmt_release(st, q->changes, &q->changes_busy);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* Keeps the newest keep_last revisions of history. In batching mode this
 * joins the open batch (and is undone with it). */
static int sq_compact(struct store *s, long long keep_last)
{
	struct sqlite_store *q = S(s);
	long long upto = q->rev - keep_last;
	if (upto <= q->compacted)
		return STORE_OK;
	/* The first row kept of each key whose earlier rows go takes its
	 * previous value from them (log_prev left it out). */
	char keep[640], sql[128];
	snprintf(keep, sizeof keep,
		 "UPDATE log SET prev = (SELECT p.value FROM log AS p INDEXED BY log_key WHERE p.key = log.key AND "
		 "p.rev < log.rev ORDER BY p.rev DESC LIMIT 1) WHERE prev IS NULL AND type <> %d AND rev IN "
		 "(SELECT (SELECT MIN(n.rev) FROM log AS n INDEXED BY log_key WHERE n.key = d.key AND n.rev > %lld) "
		 "FROM log AS d WHERE d.rev <= %lld)",
		 (int)STORE_ADDED, upto, upto);
	snprintf(sql, sizeof sql, "DELETE FROM log WHERE rev <= %lld", upto);
	if (write_begin(q) < 0) {
		if (autocommit(q))
			rollback_batch(q);
		return STORE_ERROR;
	}
	if (write_end(q, exec(q->db, keep) == 0 && exec(q->db, sql) == 0 && set_meta(q, "compacted", upto) == 0) < 0) {
		if (autocommit(q))
			rollback_batch(q);
		return STORE_ERROR;
	}
	q->compacted = upto;
	if (autocommit(q))
		return sq_commit(s);
	return STORE_OK;
}

static long long sq_size(struct store *s)
{
	struct stat st;
	if (stat(S(s)->path, &st) < 0)
		return 0;
	return (long long)st.st_size;
}

static const struct store_ops sqlite_ops;

bool store_sqlite_ckpt_stats(struct store *s, struct store_ckpt_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!s || s->ops != &sqlite_ops || !S(s)->ck)
		return false;
	struct ckpt *k = S(s)->ck;
	pthread_mutex_lock(&k->mu);
	*out = k->stats;
	pthread_mutex_unlock(&k->mu);
	return true;
}

static const struct store_ops sqlite_ops = {
	sq_close, sq_revision, sq_compacted, sq_get, sq_list, sq_put, sq_del, sq_changes, sq_compact, sq_size,
	sq_commit, sq_in_batch,
};

static long long read_meta(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	long long v = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

struct startup_findings {
	char first[512]; /* the first finding left unrepaired */
};

static void startup_finding(const char *finding, bool repaired, void *ud)
{
	struct startup_findings *f = ud;
	if (repaired)
		log_warn("store: repaired at start-up: %s", finding);
	else if (!f->first[0])
		snprintf(f->first, sizeof f->first, "%s", finding);
	if (!repaired)
		log_error("store: inconsistent: %s", finding);
}

/* Repairs what is safe (store_check.h); refuses to serve from a store with
 * anything else wrong. */
static int startup_check(struct sqlite_store *q, const char *dir, char *err, size_t errlen)
{
	struct startup_findings f = {{0}};
	char cerr[512];
	int left = store_sqlite_check(q->db, STORE_CHECK_REPAIR_SAFE, startup_finding, &f, cerr, sizeof cerr);
	if (left < 0) {
		snprintf(err, errlen, "consistency check of %s failed: %s", q->path, cerr);
		return -1;
	}
	if (left > 0) {
		snprintf(err, errlen,
			 "%s is inconsistent (%s%s); stop every hub using it, back up %s, then run "
			 "'atoll-hub store repair --data-dir %s'",
			 q->path, f.first, left > 1 ? ", and more: see the log" : "", dir, dir);
		return -1;
	}
	return 0;
}

struct store *store_open_sqlite(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
		return NULL;
	}
	int lock_fd = store_lock_dir(dir, err, errlen);
	if (lock_fd < 0)
		return NULL;
	struct sqlite_store *q = calloc(1, sizeof *q);
	q->base.ops = &sqlite_ops;
	q->lock_fd = lock_fd;
	snprintf(q->path, sizeof q->path, "%s/atoll.db", dir);
	/* Used by the event loop's thread only (the checkpointer has its own
	 * connection): no per-call connection mutex. */
	if (sqlite3_open_v2(q->path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", q->path, sqlite3_errmsg(q->db));
		sqlite3_close(q->db);
		close(lock_fd);
		free(q);
		return NULL;
	}
	sqlite3_busy_handler(q->db, busy_wait, NULL);
	if (exec(q->db, "PRAGMA journal_mode=WAL") < 0 || exec(q->db, "PRAGMA synchronous=FULL") < 0 || exec(q->db, "PRAGMA wal_autocheckpoint=8000") < 0 ||
	    /* 16 MiB of pages in memory (SQLite's default is 2 MiB): with thousands
	     * of clusters the objects read on every heartbeat and monitor pass are
	     * otherwise read again with pread each time (issue 15, perf). */
	    exec(q->db, "PRAGMA cache_size=-16384") < 0 ||
	    exec(q->db, "CREATE TABLE IF NOT EXISTS objects(key TEXT PRIMARY KEY, rev INTEGER NOT NULL, value TEXT NOT NULL)") < 0 ||
	    exec(q->db, "CREATE TABLE IF NOT EXISTS log(rev INTEGER PRIMARY KEY, type INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, prev TEXT)") < 0 ||
	    exec(q->db, "CREATE INDEX IF NOT EXISTS log_key ON log(key, rev)") < 0 ||
	    exec(q->db, "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER)") < 0) {
		snprintf(err, errlen, "cannot initialise %s: %s", q->path, sqlite3_errmsg(q->db));
		sq_close(&q->base);
		return NULL;
	}
	if (startup_check(q, dir, err, errlen) < 0) {
		sq_close(&q->base);
		return NULL;
	}
	struct {
		sqlite3_stmt **st;
		const char *sql;
	} stmts[] = {
		{&q->get, "SELECT rev, value FROM objects WHERE key = ?1"},
		{&q->ins_obj, "INSERT INTO objects(key, rev, value) VALUES(?1, ?2, ?3)"},
		{&q->upd_obj, "UPDATE objects SET rev = ?2, value = ?3 WHERE key = ?1"},
		{&q->del_obj, "DELETE FROM objects WHERE key = ?1"},
		{&q->ins_log, "INSERT INTO log(rev, type, key, value, prev) VALUES(?1, ?2, ?3, ?4, ?5)"},
		{&q->set_meta, "INSERT OR REPLACE INTO meta(name, value) VALUES(?1, ?2)"},
		{&q->begin, "BEGIN IMMEDIATE"},
		{&q->commit, "COMMIT"},
		{&q->rollback, "ROLLBACK"},
		{&q->savepoint, "SAVEPOINT w"},
		{&q->release, "RELEASE w"},
		{&q->rollback_to, "ROLLBACK TO w"},
	};
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
		if (sqlite3_prepare_v2(q->db, stmts[i].sql, -1, stmts[i].st, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot prepare statements: %s", sqlite3_errmsg(q->db));
			sq_close(&q->base);
			return NULL;
		}
	}
	q->rev = read_meta(q->db, "rev");
	q->compacted = read_meta(q->db, "compacted");
	q->committed_rev = q->rev;
	q->committed_compacted = q->compacted;
	ckpt_start(q);
	return &q->base;
}

/* The subscriber tables are sized for the hub's modules (store.h); one more
 * is a programming error that would silently lose every event it should
 * get, so it stops the process at start instead. */
static void too_many_subscribers(const char *kind, int n)
{
	log_error("store: more than %d %s subscribers: raise the limit in store.h", n, kind);
	abort();
}

void store_subscribe(struct store *s, store_event_fn fn, void *ud)
{
	if (s->nsubs >= (int)(sizeof s->subs / sizeof s->subs[0]))
		too_many_subscribers("in-transaction", s->nsubs);
	s->subs[s->nsubs++] = (struct store_subscriber){fn, ud};
}

void store_subscribe_committed(struct store *s, store_event_fn fn, void *ud)
{
	if (s->ncsubs >= (int)(sizeof s->csubs / sizeof s->csubs[0]))
		too_many_subscribers("committed", s->ncsubs);
	s->csubs[s->ncsubs++] = (struct store_subscriber){fn, ud};
}

static void remove_sub(struct store_subscriber *subs, int *n, store_event_fn fn, void *ud)
{
	for (int i = 0; i < *n; i++)
		if (subs[i].fn == fn && subs[i].ud == ud) {
			memmove(&subs[i], &subs[i + 1], (size_t)(*n - i - 1) * sizeof subs[0]);
			(*n)--;
			i--;
		}
}

void store_unsubscribe(struct store *s, store_event_fn fn, void *ud)
{
	remove_sub(s->subs, &s->nsubs, fn, ud);
	remove_sub(s->csubs, &s->ncsubs, fn, ud);
}

void store_notify(struct store *s, const struct store_event *ev)
{
	for (int i = 0; i < s->nsubs; i++)
		s->subs[i].fn(ev, s->subs[i].ud);
}

void store_notify_committed(struct store *s, const struct store_event *ev)
{
	for (int i = 0; i < s->ncsubs; i++)
		s->csubs[i].fn(ev, s->csubs[i].ud);
}

void store_subscribe_rollback(struct store *s, store_rollback_fn fn, void *ud)
{
	if (s->nrsubs >= (int)(sizeof s->rsubs / sizeof s->rsubs[0]))
		too_many_subscribers("rollback", s->nrsubs);
	s->rsubs[s->nrsubs++] = (struct store_rollback_subscriber){fn, ud};
}

void store_unsubscribe_rollback(struct store *s, store_rollback_fn fn, void *ud)
{
	for (int i = 0; i < s->nrsubs; i++)
		if (s->rsubs[i].fn == fn && s->rsubs[i].ud == ud) {
			memmove(&s->rsubs[i], &s->rsubs[i + 1], (size_t)(s->nrsubs - i - 1) * sizeof s->rsubs[0]);
			s->nrsubs--;
			i--;
		}
}

void store_notify_rollback(struct store *s)
{
	for (int i = 0; i < s->nrsubs; i++)
		s->rsubs[i].fn(s, s->rsubs[i].ud);
}

void store_set_batching(struct store *s, store_batch_fn on_open, void *ud)
{
	s->on_open = on_open;
	s->on_open_ud = ud;
}

const char *store_key(char *buf, size_t len, const char *group, const char *plural, const char *ns, const char *name)
{
	/* The four parts joined by hand: snprintf was 1,400 instructions a key,
	 * four keys a create. Cut at len - 1 as snprintf would. */
	const char *part[4] = {group[0] ? group : "core", plural, ns ? ns : "", name ? name : ""};
	if (!len)
		return buf;
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		if (i && o + 1 < len)
			buf[o++] = '/';
		size_t n = strlen(part[i]);
		if (n > len - 1 - o)
			n = len - 1 - o;
		memcpy(buf + o, part[i], n);
		o += n;
	}
	buf[o] = '\0';
	return buf;
}

static const cJSON *cached_parse(const char *text, cJSON **slot, bool *done)
{
	if (!*done) {
		*done = true;
		*slot = text ? cJSON_Parse(text) : NULL;
	}
	return *slot;
}

const cJSON *store_event_value(const struct store_event *ev)
{
	struct store_event_cache *c = ev->cache;
	if (!c)
		return NULL;
	return cached_parse(ev->value, &c->value, &c->value_done);
}

const cJSON *store_event_prev(const struct store_event *ev)
{
	struct store_event_cache *c = ev->cache;
	if (!c)
		return NULL;
	return cached_parse(ev->prev_value, &c->prev, &c->prev_done);
}

cJSON *store_event_take_value(const struct store_event *ev)
{
	struct store_event_cache *c = ev->cache;
	if (!c)
		return ev->value ? cJSON_Parse(ev->value) : NULL;
	cached_parse(ev->value, &c->value, &c->value_done);
	cJSON *v = c->value;
	c->value = NULL;
	c->value_done = false;
	return v;
}

void store_event_cache_clear(struct store_event_cache *c)
{
	cJSON_Delete(c->value);
	cJSON_Delete(c->prev);
	memset(c, 0, sizeof *c);
}
