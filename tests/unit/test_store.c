/* Store: revisions, optimistic concurrency, prefixes, change replay,
 * compaction, durability across reopen, and group commit (batches). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "testutil.h"
#include "jsonutil.h"
#include "store.h"

static char dir[256];

static int setup(void **state)
{
	tu_mkdtemp(dir, sizeof dir, "store");
	struct store *s = store_open_sqlite(dir, (char[256]){0}, 256);
	assert_non_null(s);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	store_close(*state);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static cJSON *obj(const char *name, int v)
{
	cJSON *o = cJSON_CreateObject();
	json_set_str(json_ensure_obj(o, "metadata"), "name", name);
	json_set_num(o, "v", v);
	return o;
}

static int put(struct store *s, const char *key, int v, long long expect, long long *rev)
{
	cJSON *o = obj(key, v);
	int rc = store_put(s, key, o, expect, rev, NULL);
	cJSON_Delete(o);
	return rc;
}

static void test_revisions_and_conflicts(void **state)
{
	struct store *s = *state;
	long long r1, r2, r3;
	assert_int_equal(put(s, "core/configmaps/default/a", 1, -1, &r1), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/b", 1, -1, &r2), STORE_OK);
	assert_true(r2 > r1);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, -1, NULL), STORE_EXISTS);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, r2, NULL), STORE_CONFLICT);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, r1, &r3), STORE_OK);
	assert_int_equal(store_revision(s), r3);

	char *v = NULL;
	long long mod = 0;
	assert_int_equal(store_get(s, "core/configmaps/default/a", &v, &mod), STORE_OK);
	assert_int_equal(mod, r3);
	cJSON *o = cJSON_Parse(v);
	char want[32];
	snprintf(want, sizeof want, "%lld", r3);
	assert_string_equal(json_get_str(o, "metadata.resourceVersion"), want);
	assert_int_equal((int)json_get_num(o, "v", 0), 2);
	cJSON_Delete(o);
	free(v);

	assert_int_equal(store_delete(s, "core/configmaps/default/a", r1, NULL, NULL), STORE_CONFLICT);
	assert_int_equal(store_delete(s, "core/configmaps/default/a", 0, NULL, NULL), STORE_OK);
	assert_int_equal(store_get(s, "core/configmaps/default/a", NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_delete(s, "core/configmaps/default/a", 0, NULL, NULL), STORE_NOT_FOUND);
}

static int count_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	(*(int *)ud)++;
	return 0;
}

struct nested {
	struct store *s;
	int outer, inner;
};

static int nested_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct nested *n = ud;
	n->outer++;
	int c = 0;
	assert_int_equal(store_list(n->s, "core/", count_item, &c, NULL), STORE_OK);
	n->inner += c;
	return 0;
}

static void test_prefix_list(void **state)
{
	struct store *s = *state;
	assert_int_equal(put(s, "core/configmaps/default/a", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default-x/a", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/other/a", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmapsx/default/a", 1, -1, NULL), STORE_OK);
	int n = 0;
	assert_int_equal(store_list(s, "core/configmaps/default/", count_item, &n, NULL), STORE_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_list(s, "core/configmaps/", count_item, &n, NULL), STORE_OK);
	assert_int_equal(n, 3);
	/* A list from inside a list's callback (the kept statement is busy:
	 * the inner one gets its own) sees everything, and so does the outer. */
	struct nested nest = {s, 0, 0};
	assert_int_equal(store_list(s, "core/configmaps/", nested_item, &nest, NULL), STORE_OK);
	assert_int_equal(nest.outer, 3);
	assert_int_equal(nest.inner, 3 * 4);
	n = 0;
	assert_int_equal(store_list(s, "core/", count_item, &n, NULL), STORE_OK);
	assert_int_equal(n, 4);
}

struct seen {
	int n;
	long long revs[64];
	int types[64];
};

static void record(const struct store_event *ev, void *ud)
{
	struct seen *s = ud;
	if (s->n < 64) {
		s->revs[s->n] = ev->rev;
		s->types[s->n] = ev->type;
	}
	s->n++;
}

static void test_changes_and_compaction(void **state)
{
	struct store *s = *state;
	struct seen live = {0};
	store_subscribe(s, record, &live);
	long long r0 = store_revision(s);
	for (int i = 0; i < 10; i++)
		assert_int_equal(put(s, "core/configmaps/default/x", i, 0, NULL), STORE_OK);
	assert_int_equal(store_delete(s, "core/configmaps/default/x", 0, NULL, NULL), STORE_OK);
	assert_int_equal(live.n, 11);
	assert_int_equal(live.types[0], STORE_ADDED);
	assert_int_equal(live.types[1], STORE_MODIFIED);
	assert_int_equal(live.types[10], STORE_DELETED);

	struct seen replay = {0};
	assert_int_equal(store_changes(s, r0 + 5, "core/configmaps/", record, &replay), STORE_OK);
	assert_int_equal(replay.n, 6);
	assert_int_equal(replay.revs[0], r0 + 6);

	assert_int_equal(store_compact(s, 3), STORE_OK);
	struct seen old = {0};
	assert_int_equal(store_changes(s, r0 + 1, "core/", record, &old), STORE_COMPACTED);
	struct seen recent = {0};
	assert_int_equal(store_changes(s, store_revision(s) - 3, "core/", record, &recent), STORE_OK);
	assert_int_equal(recent.n, 3);
}

static void test_durable_across_reopen(void **state)
{
	struct store *s = *state;
	long long rev;
	assert_int_equal(put(s, "apps/deployments/default/d", 7, -1, &rev), STORE_OK);
	store_close(s);
	s = store_open_sqlite(dir, (char[256]){0}, 256);
	assert_non_null(s);
	*state = s;
	assert_int_equal(store_revision(s), rev);
	char *v = NULL;
	assert_int_equal(store_get(s, "apps/deployments/default/d", &v, NULL), STORE_OK);
	free(v);
	long long next;
	assert_int_equal(put(s, "apps/deployments/default/e", 1, -1, &next), STORE_OK);
	assert_int_equal(next, rev + 1);
}

static void count_open(struct store *s, void *ud) { (*(int *)ud)++; }

static struct store *reopen(struct store *s)
{
	store_close(s);
	s = store_open_sqlite(dir, (char[256]){0}, 256);
	assert_non_null(s);
	return s;
}

/* Several writes, one commit: in-transaction subscribers see each write at
 * once, committed ones only after store_commit, all in revision order; all
 * of it survives a reopen. A batch never committed is gone after one. */
static void test_batched_commit(void **state)
{
	struct store *s = *state;
	int opens = 0;
	struct seen live = {0}, done = {0};
	store_subscribe(s, record, &live);
	store_subscribe_committed(s, record, &done);
	store_set_batching(s, count_open, &opens);
	long long r0 = store_revision(s), r[4];
	assert_false(store_in_batch(s));
	assert_int_equal(put(s, "core/configmaps/default/a", 1, -1, &r[0]), STORE_OK);
	assert_int_equal(opens, 1);
	assert_true(store_in_batch(s));
	assert_int_equal(put(s, "core/configmaps/default/b", 1, -1, &r[1]), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, r[0], &r[2]), STORE_OK);
	assert_int_equal(store_delete(s, "core/configmaps/default/b", 0, &r[3], NULL), STORE_OK);
	/* Refused writes leave the batch as it was. */
	assert_int_equal(put(s, "core/configmaps/default/a", 3, -1, NULL), STORE_EXISTS);
	assert_int_equal(put(s, "core/configmaps/default/a", 3, r[0], NULL), STORE_CONFLICT);
	assert_int_equal(opens, 1); /* one batch */
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i], r0 + 1 + i);
	assert_int_equal(store_revision(s), r0 + 4);
	/* Read-your-writes inside the batch. */
	char *v = NULL;
	long long mr = 0;
	assert_int_equal(store_get(s, "core/configmaps/default/a", &v, &mr), STORE_OK);
	assert_non_null(strstr(v, "\"v\":2"));
	assert_int_equal(mr, r[2]);
	free(v);
	assert_int_equal(store_get(s, "core/configmaps/default/b", NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(live.n, 4);
	assert_int_equal(done.n, 0);

	assert_int_equal(store_commit(s), STORE_OK);
	assert_false(store_in_batch(s));
	assert_int_equal(done.n, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(done.revs[i], r[i]);
	assert_int_equal(done.types[0], STORE_ADDED);
	assert_int_equal(done.types[2], STORE_MODIFIED);
	assert_int_equal(done.types[3], STORE_DELETED);
	assert_int_equal(store_commit(s), STORE_OK); /* nothing open: no-op */
	assert_int_equal(done.n, 4);

	/* A second batch, never committed. */
	assert_int_equal(put(s, "core/configmaps/default/c", 1, -1, NULL), STORE_OK);
	assert_int_equal(opens, 2);
	assert_int_equal(live.n, 5);
	assert_int_equal(done.n, 4);

	s = reopen(s);
	*state = s;
	assert_int_equal(store_revision(s), r0 + 4);
	assert_int_equal(store_get(s, "core/configmaps/default/a", &v, &mr), STORE_OK);
	assert_non_null(strstr(v, "\"v\":2"));
	assert_int_equal(mr, r[2]);
	free(v);
	assert_int_equal(store_get(s, "core/configmaps/default/b", NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_get(s, "core/configmaps/default/c", NULL, NULL), STORE_NOT_FOUND);
	struct seen replay = {0};
	assert_int_equal(store_changes(s, r0, "core/configmaps/", record, &replay), STORE_OK);
	assert_int_equal(replay.n, 4);
	assert_int_equal(replay.revs[3], r[3]);
	/* A reopened store is in autocommit mode: each write durable alone. */
	long long r5;
	assert_int_equal(put(s, "core/configmaps/default/d", 1, -1, &r5), STORE_OK);
	assert_int_equal(r5, r0 + 5);
	assert_false(store_in_batch(s));
	s = reopen(s);
	*state = s;
	assert_int_equal(store_get(s, "core/configmaps/default/d", NULL, NULL), STORE_OK);
}

/* A commit that fails (here: the WAL may not grow, RLIMIT_FSIZE) rolls the
 * batch back: revision and contents as last committed, no committed
 * events, and the next batch works. */
static void test_failed_commit_rolls_back(void **state)
{
	struct store *s = *state;
	int opens = 0;
	struct seen done = {0};
	long long r1;
	assert_int_equal(put(s, "core/configmaps/default/keep", 1, -1, &r1), STORE_OK);
	store_subscribe_committed(s, record, &done);
	store_set_batching(s, count_open, &opens);
	cJSON *big = obj("core/configmaps/default/big", 1);
	char *filler = malloc(400000);
	memset(filler, 'x', 399999);
	filler[399999] = '\0';
	cJSON_AddStringToObject(big, "data", filler);
	free(filler);
	long long rb;
	assert_int_equal(store_put(s, "core/configmaps/default/big", big, -1, &rb, NULL), STORE_OK);
	cJSON_Delete(big);
	assert_int_equal(rb, r1 + 1);

	struct tu_disk_full full;
	tu_disk_full_begin(&full, dir, 4096);
	int rc = store_commit(s);
	tu_disk_full_end(&full);
	assert_int_equal(rc, STORE_ERROR);
	assert_false(store_in_batch(s));
	assert_int_equal(done.n, 0);
	assert_int_equal(store_revision(s), r1);
	assert_int_equal(store_get(s, "core/configmaps/default/big", NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_get(s, "core/configmaps/default/keep", NULL, NULL), STORE_OK);

	long long r2;
	assert_int_equal(put(s, "core/configmaps/default/next", 1, -1, &r2), STORE_OK);
	assert_int_equal(r2, r1 + 1);
	assert_int_equal(opens, 2);
	assert_int_equal(store_commit(s), STORE_OK);
	assert_int_equal(done.n, 1);
	assert_int_equal(done.revs[0], r2);
	s = reopen(s);
	*state = s;
	assert_int_equal(store_revision(s), r2);
	assert_int_equal(store_get(s, "core/configmaps/default/next", NULL, NULL), STORE_OK);
	assert_int_equal(store_get(s, "core/configmaps/default/big", NULL, NULL), STORE_NOT_FOUND);
}

static void last_prev(const struct store_event *ev, void *ud)
{
	char *buf = ud;
	snprintf(buf, 256, "%s", ev->prev_value ? ev->prev_value : "(none)");
}

/* A write right after a get of the same key takes its old value from that
 * get (issue 15: no second read of the row): the revision checks and the
 * previous value stay those of the row as it is, after other writes,
 * deletes and a rolled-back batch too. */
static void test_write_after_read(void **state)
{
	struct store *s = *state;
	const char *a = "core/configmaps/default/a", *b = "core/configmaps/default/b";
	char prev[256] = "";
	store_subscribe_committed(s, last_prev, prev);
	long long r1, r2, r3;
	assert_int_equal(put(s, a, 1, -1, &r1), STORE_OK);
	char *v = NULL;
	assert_int_equal(store_get(s, a, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(put(s, b, 1, -1, NULL), STORE_OK); /* another key: a's copy stays right */
	assert_int_equal(put(s, a, 2, r1, &r2), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":1"));
	assert_int_equal(put(s, a, 3, r1, NULL), STORE_CONFLICT); /* r1 is gone */
	assert_int_equal(put(s, a, 3, r2, &r3), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":2"));
	/* read, delete, create again */
	assert_int_equal(store_get(s, a, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(store_delete(s, a, r3, NULL, NULL), STORE_OK);
	assert_int_equal(put(s, a, 4, -1, NULL), STORE_OK);
	assert_string_equal(prev, "(none)");

	/* read inside a batch that is rolled back: the row is the committed one again */
	long long rk;
	assert_int_equal(put(s, "core/configmaps/default/keep", 1, -1, &rk), STORE_OK);
	int opens = 0;
	store_set_batching(s, count_open, &opens);
	cJSON *big = obj("core/configmaps/default/big", 1);
	char *filler = malloc(400000);
	memset(filler, 'x', 399999);
	filler[399999] = '\0';
	cJSON_AddStringToObject(big, "data", filler);
	free(filler);
	assert_int_equal(store_put(s, "core/configmaps/default/big", big, -1, NULL, NULL), STORE_OK);
	cJSON_Delete(big);
	long long rk2;
	assert_int_equal(put(s, "core/configmaps/default/keep", 2, rk, &rk2), STORE_OK);
	assert_int_equal(store_get(s, "core/configmaps/default/keep", &v, NULL), STORE_OK);
	free(v);
	struct tu_disk_full full;
	tu_disk_full_begin(&full, dir, 4096);
	int rc = store_commit(s);
	tu_disk_full_end(&full);
	assert_int_equal(rc, STORE_ERROR);
	assert_int_equal(put(s, "core/configmaps/default/keep", 3, rk2, NULL), STORE_CONFLICT);
	assert_int_equal(put(s, "core/configmaps/default/keep", 3, rk, NULL), STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":1"));
}

/* The copies of the last two gets (the scheduling stage reads a binding,
 * then its template, then writes the binding): a write of either key takes
 * its copy; a key read twice holds one copy, never a stale second one. */
static void test_write_after_two_reads(void **state)
{
	struct store *s = *state;
	const char *a = "core/configmaps/default/a", *b = "core/configmaps/default/b", *c = "core/configmaps/default/c";
	char prev[256] = "";
	store_subscribe_committed(s, last_prev, prev);
	long long ra, rb, rc, r;
	assert_int_equal(put(s, a, 1, -1, &ra), STORE_OK);
	assert_int_equal(put(s, b, 1, -1, &rb), STORE_OK);
	assert_int_equal(put(s, c, 1, -1, &rc), STORE_OK);
	char *v = NULL;
	assert_int_equal(store_get(s, a, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(store_get(s, b, &v, NULL), STORE_OK);
	free(v);
	/* a (the older read) first, then b */
	assert_int_equal(put(s, a, 2, ra, &r), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":1"));
	assert_int_equal(put(s, a, 3, ra, NULL), STORE_CONFLICT);
	ra = r;
	assert_int_equal(put(s, b, 2, rb, &rb), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":1"));
	/* three reads: the first one's copy is gone, its write reads the row */
	assert_int_equal(store_get(s, a, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(store_get(s, b, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(store_get(s, c, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(put(s, a, 3, ra, &ra), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":2"));
	assert_int_equal(put(s, c, 2, rc, &rc), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":1"));
	/* one key read twice, then written twice: the second write sees the first */
	assert_int_equal(store_get(s, b, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(store_get(s, b, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(put(s, b, 3, rb, &r), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":2"));
	assert_int_equal(put(s, b, 4, rb, NULL), STORE_CONFLICT);
	assert_int_equal(put(s, b, 4, r, NULL), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":3"));
	/* read two, delete one and create it again: the other's copy stays right */
	assert_int_equal(store_get(s, a, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(store_get(s, c, &v, NULL), STORE_OK);
	free(v);
	assert_int_equal(store_delete(s, a, ra, NULL, NULL), STORE_OK);
	assert_int_equal(put(s, a, 9, -1, NULL), STORE_OK);
	assert_string_equal(prev, "(none)");
	assert_int_equal(put(s, c, 3, rc, NULL), STORE_OK);
	assert_non_null(strstr(prev, "\"v\":2"));
}

struct prevs {
	int n;
	long long revs[16];
	int types[16];
	char prev[16][256];
};

static void record_prev(const struct store_event *ev, void *ud)
{
	struct prevs *p = ud;
	if (p->n < 16) {
		p->revs[p->n] = ev->rev;
		p->types[p->n] = ev->type;
		snprintf(p->prev[p->n], sizeof p->prev[p->n], "%s", ev->prev_value ? ev->prev_value : "(none)");
	}
	p->n++;
}

static long long count_rows(const char *sql)
{
	char path[512];
	snprintf(path, sizeof path, "%s/atoll.db", dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* The change log keeps no previous value its own rows hold (issue 15:
 * every change was logged with its value and its previous value); replays
 * still give every MODIFIED and DELETED its previous value, also after
 * compaction took the row that held it. */
static void test_log_prev_from_rows(void **state)
{
	struct store *s = *state;
	const char *a = "core/configmaps/default/a";
	long long r0 = store_revision(s), r;
	assert_int_equal(put(s, a, 1, -1, NULL), STORE_OK);
	assert_int_equal(put(s, a, 2, 0, NULL), STORE_OK);
	assert_int_equal(put(s, a, 3, 0, NULL), STORE_OK);
	assert_int_equal(store_delete(s, a, 0, NULL, NULL), STORE_OK);
	assert_int_equal(put(s, a, 4, -1, NULL), STORE_OK);
	assert_int_equal(put(s, a, 5, 0, &r), STORE_OK);
	assert_int_equal(count_rows("SELECT count(*) FROM log WHERE prev IS NOT NULL"), 0);
	struct prevs p = {0};
	assert_int_equal(store_changes(s, r0, "core/configmaps/", record_prev, &p), STORE_OK);
	assert_int_equal(p.n, 6);
	static const int types[] = {STORE_ADDED, STORE_MODIFIED, STORE_MODIFIED, STORE_DELETED, STORE_ADDED, STORE_MODIFIED};
	static const char *const before[] = {NULL, "\"v\":1", "\"v\":2", "\"v\":3", NULL, "\"v\":4"};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(p.types[i], types[i]);
		if (before[i])
			assert_non_null(strstr(p.prev[i], before[i]));
		else
			assert_string_equal(p.prev[i], "(none)");
	}
	/* compaction takes every row but the last: it keeps v4 as v5's previous value */
	assert_int_equal(store_compact(s, 1), STORE_OK);
	assert_int_equal(store_compacted(s), r - 1);
	assert_int_equal(count_rows("SELECT count(*) FROM log"), 1);
	assert_int_equal(count_rows("SELECT count(*) FROM log WHERE prev IS NOT NULL"), 1);
	memset(&p, 0, sizeof p);
	assert_int_equal(store_changes(s, r - 1, "core/configmaps/", record_prev, &p), STORE_OK);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.revs[0], r);
	assert_int_equal(p.types[0], STORE_MODIFIED);
	assert_non_null(strstr(p.prev[0], "\"v\":4"));
	/* and the next change of it again keeps none */
	assert_int_equal(put(s, a, 6, 0, NULL), STORE_OK);
	assert_int_equal(count_rows("SELECT count(*) FROM log WHERE prev IS NOT NULL"), 1);
}

static void test_open_failure_is_reported(void **state)
{
	char err[256] = "";
	assert_null(store_open_sqlite("/proc/atoll-no-such-dir/x", err, sizeof err));
	assert_true(strlen(err) > 0);
}

static void test_store_key(void **state)
{
	char b[256];
	assert_string_equal(store_key(b, sizeof b, "", "services", "default", "hello"), "core/services/default/hello");
	assert_string_equal(store_key(b, sizeof b, "cluster.karmada.io", "clusters", "", "eu"), "cluster.karmada.io/clusters//eu");
	assert_string_equal(store_key(b, sizeof b, "apps", "deployments", NULL, NULL), "apps/deployments//");
	/* cut as snprintf would */
	assert_string_equal(store_key(b, 12, "apps", "deployments", "ns", "x"), "apps/deploy");
	assert_string_equal(store_key(b, 6, "apps", "deployments", "ns", "x"), "apps/");
	assert_string_equal(store_key(b, 1, "apps", "deployments", "ns", "x"), "");
}

/* Changes since far back (more than 2,000 revisions: an idle agent's
 * long-poll timing out) are read by the key index; the answer is the same:
 * the prefix's changes after since, in revision order, nothing else. */
static void test_changes_far_back(void **state)
{
	struct store *s = *state;
	long long r0 = store_revision(s), want[12];
	int nw = 0, opens = 0;
	store_set_batching(s, count_open, &opens); /* one commit, not 3,000 */
	for (int i = 0; i < 3000; i++) {
		char key[64];
		bool mine = i % 300 == 7;
		snprintf(key, sizeof key, mine ? "work.karmada.io/works/karmada-es-a/w%d" : "work.karmada.io/works/karmada-es-b/w%d",
			 i % 50);
		long long rev;
		assert_int_equal(put(s, key, i, 0, &rev), STORE_OK);
		if (mine && rev > r0 + 5)
			want[nw++] = rev;
	}
	assert_int_equal(store_commit(s), STORE_OK);
	struct seen got = {0};
	assert_int_equal(store_changes(s, r0 + 5, "work.karmada.io/works/karmada-es-a/", record, &got), STORE_OK);
	assert_int_equal(got.n, nw);
	for (int i = 0; i < nw; i++)
		assert_int_equal(got.revs[i], want[i]);
	/* and recently (by revision): the last one */
	struct seen recent = {0};
	assert_int_equal(store_changes(s, want[nw - 1] - 1, "work.karmada.io/works/karmada-es-a/", record, &recent), STORE_OK);
	assert_int_equal(recent.n, 1);
	assert_int_equal(recent.revs[0], want[nw - 1]);
}

/* The background checkpointer copies the WAL back into the database (its
 * own connection must know the database is in WAL mode: before, its
 * checkpoints did nothing and the WAL only grew), and once the writes
 * pause it copies what the last pass left, so the WAL starts over at the
 * next write. */
static void test_wal_checkpointed_in_background(void **state)
{
	struct store *s = *state;
	struct store_ckpt_stats cs;
	assert_true(store_sqlite_ckpt_stats(s, &cs));
	assert_int_equal(cs.passes, 0);
	/* ~2,400 WAL frames: 40 values of 120 KB, each in objects and the log */
	size_t big = 120000;
	char *fill = malloc(big + 1);
	assert_non_null(fill);
	memset(fill, 'x', big);
	fill[big] = '\0';
	for (int i = 0; i < 40; i++) {
		char key[64];
		snprintf(key, sizeof key, "core/configmaps/ns/big%d", i);
		cJSON *o = obj(key, i);
		json_set_str(o, "data", fill);
		assert_int_equal(store_put(s, key, o, -1, NULL, NULL), STORE_OK);
		cJSON_Delete(o);
	}
	free(fill);
	/* Wait (10 s at most) for a pass that left nothing behind. */
	for (int i = 0; i < 1000; i++) {
		store_sqlite_ckpt_stats(s, &cs);
		if (cs.passes >= 1 && cs.frames_left == 0 && cs.frames_copied >= 2400)
			break;
		usleep(10000);
	}
	assert_true(cs.passes >= 1);
	assert_true(cs.frames_copied >= 2400);
	assert_int_equal(cs.frames_left, 0);
	assert_int_equal(cs.inline_passes, 0);
	char path[512];
	struct stat sb;
	snprintf(path, sizeof path, "%s/atoll.db", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 4 * 1000 * 1000); /* the values are in the database file */
	/* The next write starts the WAL over: a reader sees a short WAL. */
	assert_int_equal(put(s, "core/configmaps/ns/small", 1, -1, NULL), STORE_OK);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL), SQLITE_OK);
	int log_frames = -1, copied = -1;
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied), SQLITE_OK);
	sqlite3_close(db);
	assert_true(log_frames >= 1);
	assert_true(log_frames < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revisions_and_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_and_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_far_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batched_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_checkpointed_in_background, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_after_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_after_two_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_prev_from_rows, setup, teardown),
		cmocka_unit_test(test_open_failure_is_reported),
		cmocka_unit_test(test_store_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
