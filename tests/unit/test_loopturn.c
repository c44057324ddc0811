/* hub/loopturn.c on a SQLite store, without an HTTP server: one turn
 * runs its stages, then one commit (committed subscribers inside it), then
 * the held answers, then the deferred work, in that order; a stage's writes
 * join the commit of the writes they follow; a stage with work left gets
 * the next turn; at shutdown deferred work is told so. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "testutil.h"
#include "loopturn.h"
#include "store.h"

static struct store *st;
static struct event_base *base;
static struct loopturn *turn;
static char dir[256];
static char trace[512];
static int stage_writes_left;

static void note(const char *what)
{
	size_t n = strlen(trace);
	snprintf(trace + n, sizeof trace - n, "%s%s", n ? " " : "", what);
}

static void put(const char *key)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "k", key);
	long long rev;
	assert_int_equal(store_put(st, key, o, -1, &rev, NULL), STORE_OK);
	cJSON_Delete(o);
}

static void on_committed(const struct store_event *ev, void *ud)
{
	char b[80];
	snprintf(b, sizeof b, "event:%s", ev->key);
	note(b);
}

static void stage(void *ud)
{
	if (stage_writes_left <= 0)
		return;
	note("stage");
	put(stage_writes_left == 2 ? "core/x/ns/stage1" : "core/x/ns/stage2");
	if (--stage_writes_left > 0)
		loopturn_request(turn); /* more next turn */
}

static void precommit(void *ud) { note("precommit"); }

static void held(void *ud, bool ok)
{
	char b[40];
	snprintf(b, sizeof b, "held:%s:%s", (const char *)ud, ok ? "ok" : "failed");
	note(b);
}

static void deferred(void *ud, bool ok)
{
	char b[40];
	snprintf(b, sizeof b, "deferred:%s", ok ? "run" : "shutdown");
	note(b);
}

static int setup(void **state)
{
	tu_mkdtemp(dir, sizeof dir, "loopturn");
	char err[256];
	st = store_open_sqlite(dir, err, sizeof err);
	assert_non_null(st);
	base = event_base_new();
	turn = loopturn_new(base, st);
	assert_null(loopturn_of(st));
	loopturn_start(turn);
	assert_ptr_equal(loopturn_of(st), turn);
	loopturn_add_stage(turn, stage, NULL);
	loopturn_add_precommit(turn, precommit, NULL);
	store_subscribe_committed(st, on_committed, NULL);
	trace[0] = '\0';
	stage_writes_left = 0;
	return 0;
}

static int teardown(void **state)
{
	loopturn_free(turn);
	assert_null(loopturn_of(st));
	store_close(st);
	event_base_free(base);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_one_turn_in_order(void **state)
{
	/* A request's write and answer, and a stream waiting for committed data. */
	put("core/x/ns/req");
	assert_true(loopturn_uncommitted(turn));
	loopturn_hold(turn, held, "a");
	loopturn_defer(turn, deferred, NULL);
	loopturn_hold(turn, held, "b");
	stage_writes_left = 1;
	assert_string_equal(trace, ""); /* nothing before the turn */
	event_base_loop(base, EVLOOP_ONCE);
	assert_string_equal(trace, "stage precommit event:core/x/ns/req event:core/x/ns/stage2 held:a:ok held:b:ok "
				   "deferred:run");
	assert_false(loopturn_uncommitted(turn));
}

static void test_stage_with_work_left_gets_the_next_turn(void **state)
{
	stage_writes_left = 2;
	loopturn_request(turn);
	event_base_loop(base, EVLOOP_ONCE); /* one loop iteration: one turn */
	assert_string_equal(trace, "stage precommit event:core/x/ns/stage1");
	trace[0] = '\0';
	event_base_loop(base, EVLOOP_ONCE);
	assert_string_equal(trace, "stage precommit event:core/x/ns/stage2");
	trace[0] = '\0';
	event_base_loop(base, EVLOOP_NONBLOCK); /* nothing left: no turn */
	assert_string_equal(trace, "");
}

static void test_turn_without_writes_commits_nothing(void **state)
{
	loopturn_hold(turn, held, "a");
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_string_equal(trace, "held:a:ok"); /* no pre-commit without a batch */
}

/* The turn was already due in this loop pass (a stage, a held answer or a
 * deferred stream asked for it) when a request opened a batch: the commit
 * waits for the next pass, so the requests its poll reads join it, as for a
 * batch that arms the turn itself (the hub's creates went 1 then 7 per
 * commit from 8 connections without this). */
static void test_batch_opened_while_the_turn_is_due_commits_next_pass(void **state)
{
	loopturn_request(turn);
	put("core/x/ns/first");
	loopturn_hold(turn, held, "a");
	event_base_loop(base, EVLOOP_ONCE); /* one loop iteration */
	assert_string_equal(trace, "");
	assert_true(loopturn_uncommitted(turn));
	put("core/x/ns/next"); /* read by the next pass's poll */
	loopturn_hold(turn, held, "b");
	event_base_loop(base, EVLOOP_ONCE);
	assert_string_equal(trace, "precommit event:core/x/ns/first event:core/x/ns/next held:a:ok held:b:ok");
	trace[0] = '\0';
	event_base_loop(base, EVLOOP_NONBLOCK); /* nothing left */
	assert_string_equal(trace, "");
}

static void self_remover(void *ud)
{
	note("remover");
	loopturn_remove(turn, self_remover, NULL);
}

static void tail_stage(void *ud) { note("tail"); }

static void test_stage_removed_during_the_turn(void **state)
{
	loopturn_add_stage(turn, self_remover, NULL);
	loopturn_add_stage(turn, tail_stage, NULL);
	loopturn_request(turn);
	event_base_loop(base, EVLOOP_ONCE);
	assert_string_equal(trace, "remover tail"); /* the stage after it still runs */
	trace[0] = '\0';
	loopturn_request(turn);
	event_base_loop(base, EVLOOP_ONCE);
	assert_string_equal(trace, "tail");
}

/* The commit fails (the WAL may not grow: RLIMIT_FSIZE): the held answers
 * are told, the committed subscribers never hear of the batch, and the
 * deferred work still runs (on what is committed). */
static void test_failed_commit_is_told_to_held(void **state)
{
	char *fill = malloc(200001);
	memset(fill, 'x', 200000);
	fill[200000] = '\0';
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "x", fill);
	free(fill);
	long long rev;
	assert_int_equal(store_put(st, "core/x/ns/big", o, -1, &rev, NULL), STORE_OK);
	cJSON_Delete(o);
	loopturn_hold(turn, held, "a");
	loopturn_defer(turn, deferred, NULL);
	struct tu_disk_full full;
	tu_disk_full_begin(&full, dir, 4096);
	event_base_loop(base, EVLOOP_ONCE);
	tu_disk_full_end(&full);
	assert_string_equal(trace, "precommit held:a:failed deferred:run");
	assert_false(loopturn_uncommitted(turn));
}

static void test_shutdown_tells_deferred(void **state)
{
	put("core/x/ns/last");
	loopturn_hold(turn, held, "a");
	loopturn_defer(turn, deferred, NULL);
	loopturn_finish(turn);
	assert_string_equal(trace, "precommit event:core/x/ns/last held:a:ok deferred:shutdown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_turn_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_with_work_left_gets_the_next_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_turn_without_writes_commits_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_opened_while_the_turn_is_due_commits_next_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_removed_during_the_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_is_told_to_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_tells_deferred, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
