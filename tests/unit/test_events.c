/* test_events — events_record through the object client: the first event
 * is created, an identical one bumps its count and lastTimestamp
 * (EVENT_BUMP) or changes nothing (EVENT_ONCE). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "events.h"
#include "jsonutil.h"
#include "objtest.h"

static void test_record_and_bump(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "events", &objs);
	const struct kind_info *nsk = kinds_find_kind("", "v1", "Namespace");
	const struct kind_info *ek = kinds_find_kind("", "v1", "Event");
	obj_create_ok(&objs, nsk, "", "{'metadata':{'name':'default'}}");
	cJSON *about = jq("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'default',"
			  "'uid':'u-1','resourceVersion':'7'}}");
	assert_int_equal(events_record(&objs, about, "Normal", "Synced", "ok", "tester", EVENT_BUMP, 1000), 0);
	char name[300];
	events_name(about, "Normal", "Synced", "ok", "tester", name, sizeof name);
	cJSON *ev = obj_get_json(&objs, ek, "default", name);
	assert_non_null(ev);
	assert_int_equal((int)json_get_num(ev, "count", 0), 1);
	cJSON_Delete(ev);
	/* identical, EVENT_BUMP: count 2, lastTimestamp moves */
	assert_int_equal(events_record(&objs, about, "Normal", "Synced", "ok", "tester", EVENT_BUMP, 2000), 0);
	ev = obj_get_json(&objs, ek, "default", name);
	assert_int_equal((int)json_get_num(ev, "count", 0), 2);
	assert_string_equal(json_get_str(ev, "lastTimestamp"), "1970-01-01T00:33:20Z");
	cJSON_Delete(ev);
	/* EVENT_ONCE: nothing changes */
	long long rev = store_revision(objs.store);
	assert_int_equal(events_record(&objs, about, "Normal", "Synced", "ok", "tester", EVENT_ONCE, 3000), 0);
	assert_int_equal(store_revision(objs.store), rev);
	/* about an object in a namespace that does not exist: refused, -1 */
	cJSON *lost = jq("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'x','namespace':'nowhere'}}");
	assert_int_equal(events_record(&objs, lost, "Warning", "Lost", "no", "tester", EVENT_BUMP, 1000), -1);
	cJSON_Delete(lost);
	cJSON_Delete(about);
	obj_test_close(dir, &objs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_and_bump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
