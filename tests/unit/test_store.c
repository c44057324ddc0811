/* Store: revisions, optimistic concurrency, prefixes, change replay,
 * compaction and durability across reopen. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonutil.h"
#include "store.h"

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/atoll-test-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revisions_and_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_and_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_across_reopen, setup, teardown),
		cmocka_unit_test(test_open_failure_is_reported),
		cmocka_unit_test(test_store_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
