/* test_sim_statefulset — the simulator's StatefulSet controller as a pure
 * function: ordered creation, Parallel, scale down from the top, rolling
 * update down to the partition, OnDelete, pods and claims of an ordinal,
 * status. The sim sources are compiled into this test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_kubelet.c"
#include "sim_podtemplate.c"
#include "sim_replicaset.c"
#include "sim_statefulset.c"

#define NOW 1800000000

static cJSON *sts(int replicas, const char *image, const char *extra)
{
	char buf[2048];
	snprintf(buf, sizeof buf,
		 "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"web\","
		 "\"namespace\":\"default\",\"uid\":\"s1\",\"generation\":2},\"spec\":{\"replicas\":%d,"
		 "\"serviceName\":\"web\",\"selector\":{\"matchLabels\":{\"app\":\"web\"}},%s"
		 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
		 "\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"%s\"}]}},"
		 "\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"www\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
		 "\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}}}]}}",
		 replicas, extra ? extra : "", image);
	cJSON *j = cJSON_Parse(buf);
	assert_non_null(j);
	return j;
}

/* Pod ordinal of s, running and ready or not, at s's current revision. */
static cJSON *pod_of(const cJSON *s, int ordinal, bool ready)
{
	cJSON *p = sim_sts_pod(s, ordinal, "n0");
	json_set_str(json_ensure_obj(p, "metadata"), "uid", "x");
	cJSON *st = ready ? sim_pod_status_running(p, "172.18.0.2", "10.244.0.2", NOW)
			  : sim_pod_status_pending(p, "172.18.0.2", NOW);
	cJSON_AddItemToObject(p, "status", st);
	return p;
}

static int ints(const cJSON *arr, int i) { return (int)cJSON_GetArrayItem(arr, i)->valuedouble; }

static void test_ordered_creation(void **state)
{
	cJSON *s = sts(3, "nginx:1", NULL);
	cJSON *pods = cJSON_CreateArray();
	struct sim_sts_plan p;
	sim_sts_plan(s, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.creates), 1);
	assert_int_equal(ints(p.creates, 0), 0);
	sim_sts_plan_free(&p);

	cJSON_AddItemToArray(pods, pod_of(s, 0, false));
	sim_sts_plan(s, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.creates), 0); /* waits for web-0 */
	sim_sts_plan_free(&p);

	cJSON_DeleteItemFromArray(pods, 0);
	cJSON_AddItemToArray(pods, pod_of(s, 0, true));
	sim_sts_plan(s, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.creates), 1);
	assert_int_equal(ints(p.creates, 0), 1);
	assert_int_equal((int)json_get_num(p.status, "replicas", -1), 1);
	assert_int_equal((int)json_get_num(p.status, "readyReplicas", -1), 1);
	assert_int_equal((int)json_get_num(p.status, "availableReplicas", -1), 1);
	assert_int_equal((int)json_get_num(p.status, "observedGeneration", -1), 2);
	char rev[64];
	sim_sts_revision(s, rev, sizeof rev);
	assert_true(strncmp(rev, "web-", 4) == 0);
	assert_string_equal(json_get_str(p.status, "updateRevision"), rev);
	sim_sts_plan_free(&p);

	/* Parallel: every missing ordinal at once. */
	cJSON *par = sts(3, "nginx:1", "\"podManagementPolicy\":\"Parallel\",");
	cJSON *none = cJSON_CreateArray();
	sim_sts_plan(par, none, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.creates), 3);
	sim_sts_plan_free(&p);
	cJSON_Delete(none);
	cJSON_Delete(par);
	cJSON_Delete(pods);
	cJSON_Delete(s);
}

static void test_pod_and_claims(void **state)
{
	cJSON *s = sts(3, "nginx:1", NULL);
	cJSON *p = sim_sts_pod(s, 2, "n1");
	assert_string_equal(json_get_str(p, "metadata.name"), "web-2");
	assert_string_equal(json_get_str(p, "spec.hostname"), "web-2");
	assert_string_equal(json_get_str(p, "spec.subdomain"), "web");
	assert_string_equal(json_get_str(p, "spec.nodeName"), "n1");
	const cJSON *labels = json_get(p, "metadata.labels");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(labels, STS_POD_NAME_LABEL)), "web-2");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "app")), "web");
	const cJSON *vol = cJSON_GetArrayItem(json_get(p, "spec.volumes"), 0);
	assert_string_equal(json_get_str(vol, "name"), "www");
	assert_string_equal(json_get_str(vol, "persistentVolumeClaim.claimName"), "www-web-2");
	assert_true(sim_is_controlled_by(p, s));
	cJSON_Delete(p);

	cJSON *claims = sim_sts_claims(s, 2);
	assert_int_equal(cJSON_GetArraySize(claims), 1);
	const cJSON *c = cJSON_GetArrayItem(claims, 0);
	assert_string_equal(json_get_str(c, "metadata.name"), "www-web-2");
	assert_string_equal(json_get_str(c, "metadata.labels.app"), "web");
	assert_string_equal(json_get_str(c, "status.phase"), "Bound");
	assert_string_equal(json_get_str(c, "status.capacity.storage"), "1Gi");
	cJSON_Delete(claims);
	cJSON_Delete(s);
}

static void test_scale_down_and_rolling_update(void **state)
{
	cJSON *old = sts(3, "nginx:1", NULL);
	cJSON *pods = cJSON_CreateArray();
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(pods, pod_of(old, i, true));
	struct sim_sts_plan p;

	/* Scale to 1: web-2 first, one at a time. */
	cJSON *s = sts(1, "nginx:1", NULL);
	sim_sts_plan(s, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.deletes), 1);
	assert_string_equal(cJSON_GetArrayItem(p.deletes, 0)->valuestring, "web-2");
	sim_sts_plan_free(&p);
	cJSON_Delete(s);

	/* A new image: web-2 goes first, then (once recreated and ready) web-1. */
	s = sts(3, "nginx:2", NULL);
	char oldrev[64], newrev[64];
	sim_sts_revision(old, oldrev, sizeof oldrev);
	sim_sts_revision(s, newrev, sizeof newrev);
	assert_string_not_equal(oldrev, newrev);
	json_set(s, "status", cJSON_CreateObject());
	json_set_str(json_get(s, "status"), "currentRevision", oldrev);
	sim_sts_plan(s, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.deletes), 1);
	assert_string_equal(cJSON_GetArrayItem(p.deletes, 0)->valuestring, "web-2");
	assert_int_equal((int)json_get_num(p.status, "currentReplicas", -1), 3);
	assert_null(json_get(p.status, "updatedReplicas"));
	sim_sts_plan_free(&p);

	cJSON_DeleteItemFromArray(pods, 2);
	cJSON_AddItemToArray(pods, pod_of(s, 2, true));
	sim_sts_plan(s, pods, NOW, &p);
	assert_string_equal(cJSON_GetArrayItem(p.deletes, 0)->valuestring, "web-1");
	assert_int_equal((int)json_get_num(p.status, "updatedReplicas", -1), 1);
	assert_int_equal((int)json_get_num(p.status, "currentReplicas", -1), 2);
	assert_string_equal(json_get_str(p.status, "currentRevision"), oldrev);
	sim_sts_plan_free(&p);

	/* partition 2: web-1 and web-0 stay on the old revision. */
	cJSON *part = sts(3, "nginx:2", "\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":2}},");
	sim_sts_plan(part, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.deletes), 0);
	sim_sts_plan_free(&p);
	cJSON_Delete(part);

	/* OnDelete: nothing moves by itself. */
	cJSON *od = sts(3, "nginx:2", "\"updateStrategy\":{\"type\":\"OnDelete\"},");
	sim_sts_plan(od, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.deletes), 0);
	sim_sts_plan_free(&p);
	cJSON_Delete(od);

	/* All updated: currentRevision follows. */
	cJSON_Delete(pods);
	pods = cJSON_CreateArray();
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(pods, pod_of(s, i, true));
	sim_sts_plan(s, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.deletes), 0);
	assert_string_equal(json_get_str(p.status, "currentRevision"), newrev);
	assert_int_equal((int)json_get_num(p.status, "currentReplicas", -1), 3);
	assert_int_equal((int)json_get_num(p.status, "updatedReplicas", -1), 3);
	sim_sts_plan_free(&p);
	cJSON_Delete(pods);
	cJSON_Delete(s);
	cJSON_Delete(old);
}

static void test_ordinals(void **state)
{
	assert_int_equal(ordinal_of("web", "web-0"), 0);
	assert_int_equal(ordinal_of("web", "web-12"), 12);
	assert_int_equal(ordinal_of("web", "web-01"), -1);
	assert_int_equal(ordinal_of("web", "web-"), -1);
	assert_int_equal(ordinal_of("web", "web-x"), -1);
	assert_int_equal(ordinal_of("web", "webb-1"), -1);
	assert_int_equal(ordinal_of("web", "web-1-2"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ordered_creation),
		cmocka_unit_test(test_pod_and_claims),
		cmocka_unit_test(test_scale_down_and_rolling_update),
		cmocka_unit_test(test_ordinals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
