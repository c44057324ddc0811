/* The SQLite store's data-dir lock and its start-up consistency check
 * (store_check.h), including the sequence of issue 12: a second hub on the
 * same file writes, the first hub's writes then fail, and the stored
 * revision counter ends up behind the change log. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "testutil.h"
#include "jsonutil.h"
#include "store.h"
#include "store_check.h"

static char dir[256];
static char dbpath[300];

static int setup(void **state)
{
	tu_mkdtemp(dir, sizeof dir, "store-check");
	snprintf(dbpath, sizeof dbpath, "%s/atoll.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct store *open_store(void)
{
	char err[512] = "";
	struct store *s = store_open_sqlite(dir, err, sizeof err);
	if (!s)
		fail_msg("open: %s", err);
	return s;
}

static int put(struct store *s, const char *key, int v, long long *rev)
{
	cJSON *o = cJSON_CreateObject();
	json_set_str(json_ensure_obj(o, "metadata"), "name", key);
	json_set_num(o, "v", v);
	int rc = store_put(s, key, o, 0, rev, NULL);
	cJSON_Delete(o);
	return rc;
}

/* Direct SQL on the file, bypassing the store (and its lock). */
static void sql(const char *q)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", q, msg);
	sqlite3_close(db);
}

static long long sql_int(const char *q)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

struct findings {
	int n, repaired;
	char text[2048];
};

static void collect(const char *f, bool repaired, void *ud)
{
	struct findings *x = ud;
	x->n++;
	x->repaired += repaired;
	strncat(x->text, f, sizeof x->text - strlen(x->text) - 2);
	strcat(x->text, "\n");
}

static int check(enum store_check_mode mode, struct findings *f)
{
	sqlite3 *db;
	char err[256];
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	memset(f, 0, sizeof *f);
	int left = store_sqlite_check(db, mode, collect, f, err, sizeof err);
	sqlite3_close(db);
	return left;
}

/* A second opener of the data dir fails at once, naming the holder's pid;
 * after the first closes, it opens. */
static void test_second_open_is_refused(void **state)
{
	struct store *a = open_store();
	char err[512] = "", want[64];
	assert_null(store_open_sqlite(dir, err, sizeof err));
	snprintf(want, sizeof want, "pid %ld", (long)getpid());
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "in use"));
	/* store repair takes the same lock */
	assert_int_equal(store_lock_dir(dir, err, sizeof err), -1);
	assert_non_null(strstr(err, want));
	store_close(a);
	struct store *b = open_store();
	store_close(b);
}

/* The sequence: hub B writes the next revision behind hub A's back
 * (simulated in SQL, since the lock now stops a real second hub), A's
 * next write fails, and a stale counter is left behind. On reopen the
 * check raises the counter and writes work again, numbered after B's. */
static void test_counter_behind_log_is_repaired(void **state)
{
	struct store *a = open_store();
	long long r1, r2;
	assert_int_equal(put(a, "core/configmaps/default/a", 1, &r1), STORE_OK);
	/* hub B: same revision counter in memory, writes r1 + 1 */
	char q[1024];
	snprintf(q, sizeof q,
		 "BEGIN; INSERT INTO objects VALUES('core/configmaps/default/b', %lld, "
		 "'{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"%lld\"}}');"
		 "INSERT INTO log VALUES(%lld, 0, 'core/configmaps/default/b', "
		 "'{\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"%lld\"}}', NULL);"
		 "UPDATE meta SET value = %lld WHERE name = 'rev'; COMMIT;",
		 r1 + 1, r1 + 1, r1 + 1, r1 + 1, r1 + 1);
	sql(q);
	/* hub A's next write collides with B's log entry */
	assert_int_equal(put(a, "core/configmaps/default/a", 2, &r2), STORE_ERROR);
	store_close(a);
	/* the counter left behind the change log */
	snprintf(q, sizeof q, "UPDATE meta SET value = %lld WHERE name = 'rev'", r1);
	sql(q);
	struct findings f;
	assert_int_equal(check(STORE_CHECK_ONLY, &f), 1);
	assert_non_null(strstr(f.text, "revision counter"));
	a = open_store(); /* repairs */
	assert_int_equal(store_revision(a), r1 + 1);
	assert_int_equal(put(a, "core/configmaps/default/a", 3, &r2), STORE_OK);
	assert_int_equal(r2, r1 + 2);
	char *v = NULL;
	assert_int_equal(store_get(a, "core/configmaps/default/b", &v, NULL), STORE_OK);
	free(v);
	store_close(a);
	assert_int_equal(check(STORE_CHECK_ONLY, &f), 0);
	assert_int_equal(f.n, 0);
}

struct seen {
	int n;
};

static void count_ev(const struct store_event *ev, void *ud) { ((struct seen *)ud)->n++; }

/* History that does not explain the objects (a lost log entry, an object
 * whose newest change is missing) is compacted away at start: a watcher
 * resuming from before gets 410 instead of a silent gap. */
static void test_history_gap_is_compacted(void **state)
{
	struct store *a = open_store();
	long long r1, r2, r3;
	assert_int_equal(put(a, "core/configmaps/default/a", 1, &r1), STORE_OK);
	assert_int_equal(put(a, "core/configmaps/default/b", 1, &r2), STORE_OK);
	assert_int_equal(put(a, "core/configmaps/default/c", 1, &r3), STORE_OK);
	store_close(a);
	char q[256];
	snprintf(q, sizeof q, "DELETE FROM log WHERE rev = %lld", r2);
	sql(q);
	struct findings f;
	assert_int_equal(check(STORE_CHECK_ONLY, &f), 1);
	assert_non_null(strstr(f.text, "change log disagrees"));
	a = open_store();
	assert_int_equal(store_compacted(a), r2);
	struct seen s = {0};
	assert_int_equal(store_changes(a, r1, "core/", count_ev, &s), STORE_COMPACTED);
	assert_int_equal(store_changes(a, r2, "core/", count_ev, &s), STORE_OK);
	assert_int_equal(s.n, 1); /* c */
	store_close(a);
	assert_int_equal(check(STORE_CHECK_ONLY, &f), 0);
}

/* A stale resourceVersion stamp is rewritten; the compaction point beyond
 * the counter is clamped. */
static void test_stamp_and_compaction_point(void **state)
{
	struct store *a = open_store();
	long long r1;
	assert_int_equal(put(a, "core/configmaps/default/a", 1, &r1), STORE_OK);
	store_close(a);
	sql("UPDATE objects SET value = json_set(value, '$.metadata.resourceVersion', '999')");
	sql("INSERT OR REPLACE INTO meta VALUES('compacted', 5000)");
	struct findings f;
	/* stamp, compaction point, and the log entries now below it */
	assert_int_equal(check(STORE_CHECK_ONLY, &f), 3);
	assert_non_null(strstr(f.text, "resourceVersion"));
	assert_non_null(strstr(f.text, "compaction point 5000"));
	assert_int_equal(check(STORE_CHECK_REPAIR_SAFE, &f), 0);
	assert_int_equal(f.repaired, 3);
	a = open_store();
	char *v = NULL;
	long long mr;
	assert_int_equal(store_get(a, "core/configmaps/default/a", &v, &mr), STORE_OK);
	cJSON *o = cJSON_Parse(v);
	char want[32];
	snprintf(want, sizeof want, "%lld", mr);
	assert_string_equal(json_get_str(o, "metadata.resourceVersion"), want);
	cJSON_Delete(o);
	free(v);
	assert_true(store_compacted(a) <= store_revision(a));
	store_close(a);
}

/* An undecodable object makes the hub refuse to start, naming the repair
 * command; the repair quarantines it and the store opens. */
static void test_bad_value_refuses_then_repairs(void **state)
{
	struct store *a = open_store();
	long long r1;
	assert_int_equal(put(a, "core/configmaps/default/a", 1, &r1), STORE_OK);
	assert_int_equal(put(a, "core/configmaps/default/b", 1, &r1), STORE_OK);
	store_close(a);
	sql("UPDATE objects SET value = 'not json' WHERE key = 'core/configmaps/default/a'");
	char err[1024] = "";
	assert_null(store_open_sqlite(dir, err, sizeof err));
	assert_non_null(strstr(err, "atoll-hub store repair --data-dir"));
	assert_non_null(strstr(err, dir));
	struct findings f;
	assert_int_equal(check(STORE_CHECK_REPAIR_SAFE, &f), 1);
	assert_int_equal(check(STORE_CHECK_REPAIR_ALL, &f), 0);
	assert_true(f.repaired >= 1);
	assert_int_equal(sql_int("SELECT count(*) FROM quarantine"), 1);
	a = open_store();
	assert_int_equal(store_get(a, "core/configmaps/default/a", NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_get(a, "core/configmaps/default/b", NULL, NULL), STORE_OK);
	/* a's history no longer matches: compacted past it */
	assert_int_equal(store_changes(a, 0, "core/", count_ev, &(struct seen){0}), STORE_COMPACTED);
	store_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_second_open_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_behind_log_is_repaired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_gap_is_compacted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stamp_and_compaction_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_value_refuses_then_repairs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
