/* test_rollback — what a failed commit leaves behind in memory. The store
 * rolls the batch back (here: the WAL may not grow, RLIMIT_FSIZE); state
 * derived from its writes at write time must follow: a CustomResourceDefinition
 * created in the batch no longer serves its kind, one stored before still
 * does, and rollback subscribers are told once per rolled-back batch. */
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

#include <event2/event.h>

#include "testutil.h"
#include "apiserver.h"
#include "jsonutil.h"
#include "objects.h"

static const char *CRD =
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
    "\"metadata\":{\"name\":\"%ss.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
    "\"names\":{\"plural\":\"%ss\",\"singular\":\"%s\",\"kind\":\"%s\"},"
    "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true}]}}";

static void create_crd(struct obj_ctx *c, const char *singular, const char *kind)
{
	char buf[1024];
	snprintf(buf, sizeof buf, CRD, singular, singular, singular, kind);
	cJSON *o = cJSON_Parse(buf);
	struct api_error e = {0};
	assert_int_equal(obj_create(c, kinds_find_kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition"), "", o,
				    false, NULL, &e),
			 0);
	cJSON_Delete(o);
}

static void count(struct store *s, void *ud) { (*(int *)ud)++; }

static void test_rolled_back_crd_is_unregistered(void **state)
{
	(void)state;
	char dir[200];
	tu_mkdtemp(dir, sizeof dir, "rollback");
	char err[256];
	struct store *st = store_open_sqlite(dir, err, sizeof err);
	assert_non_null(st);
	struct event_base *base = event_base_new();
	struct apiserver_config cfg = {0};
	struct apiserver *api = apiserver_new(base, st, &cfg);
	assert_non_null(api);
	struct obj_ctx *objs = apiserver_objects(api);
	int rollbacks = 0;
	store_subscribe_rollback(st, count, &rollbacks);

	create_crd(objs, "kept", "Kept");
	assert_int_equal(store_commit(st), STORE_OK);

	/* In the batch: a new CRD (registered at write time) and enough data that
	 * the commit must grow the WAL past the limit. */
	create_crd(objs, "gone", "Gone");
	assert_non_null(kinds_find_kind("example.com", "v1", "Gone"));
	cJSON *cm = cJSON_CreateObject();
	json_set_str(json_ensure_obj(cm, "metadata"), "name", "filler");
	char *fill = malloc(200000);
	memset(fill, 'x', 199999);
	fill[199999] = '\0';
	json_set_str(json_ensure_obj(cm, "data"), "x", fill);
	free(fill);
	struct api_error e = {0};
	assert_int_equal(obj_create(objs, kinds_find_kind("", "v1", "ConfigMap"), "default", cm, false, NULL, &e), 0);
	cJSON_Delete(cm);

	struct tu_disk_full full;
	tu_disk_full_begin(&full, dir, 4096);
	int rc = store_commit(st);
	tu_disk_full_end(&full);
	assert_int_equal(rc, STORE_ERROR);
	assert_int_equal(rollbacks, 1);

	/* The registry follows on the next loop turn. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_null(kinds_find_kind("example.com", "v1", "Gone"));
	assert_non_null(kinds_find_kind("example.com", "v1", "Kept"));

	store_unsubscribe_rollback(st, count, &rollbacks);
	apiserver_free(api);
	store_close(st);
	event_base_free(base);
	kinds_shutdown();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rolled_back_crd_is_unregistered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
