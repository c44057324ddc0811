/* test_aggregate — binding aggregatedStatus and FullyApplied from Works,
 * condition bookkeeping, newly applied clusters, and the template status
 * (Deployment / StatefulSet sums; observedGeneration only once every member
 * caught up). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "jsonutil.h"
#include "testutil.h"

static const char *BINDING =
    "{'metadata':{'name':'hello-deployment','namespace':'default','generation':2},"
    "'spec':{'resource':{'apiVersion':'apps/v1','kind':'Deployment','namespace':'default','name':'hello'},"
    "'replicas':10,'clusters':[{'name':'ap','replicas':2},{'name':'eu','replicas':4},{'name':'us','replicas':4}]},"
    "'status':{'conditions':[{'type':'Scheduled','status':'True','reason':'Success',"
    "'message':'Binding has been scheduled successfully.','lastTransitionTime':'T0'}]}}";

static cJSON *work(const char *cluster, const char *applied, int n, int og, int gen, int rtg, const char *health)
{
	char buf[2048];
	if (!applied) {
		snprintf(buf, sizeof buf, "{'metadata':{'name':'hello-6b454f6657','namespace':'karmada-es-%s'}}", cluster);
		return jq(buf);
	}
	snprintf(buf, sizeof buf,
		 "{'metadata':{'name':'hello-6b454f6657','namespace':'karmada-es-%s'},'status':{'conditions':[{'type':'Applied',"
		 "'status':'%s','reason':'r','message':'%s'}],'manifestStatuses':[{'identifier':{'ordinal':0,'group':'apps',"
		 "'version':'v1','kind':'Deployment','resource':'deployments','namespace':'default','name':'hello'},"
		 "'status':{'replicas':%d,'readyReplicas':%d,'updatedReplicas':%d,'availableReplicas':%d,"
		 "'unavailableReplicas':0,'observedGeneration':%d,'generation':%d,'resourceTemplateGeneration':%d},"
		 "'health':'%s'}]}}",
		 cluster, applied, strcmp(applied, "True") == 0 ? "Manifest has been successfully applied" : "boom", n, n, n, n,
		 og, gen, rtg, health);
	return jq(buf);
}

static const cJSON *cond(const cJSON *st, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "conditions")) if (strcmp(json_get_str(c, "type"), type) == 0) return c;
	return NULL;
}

static void test_items_and_fully_applied(void **state)
{
	(void)state;
	cJSON *b = jq(BINDING);
	cJSON *works = cJSON_CreateArray();
	/* out of order, plus a Work of a cluster the binding no longer targets */
	cJSON_AddItemToArray(works, work("us", "True", 4, 2, 2, 1, "Healthy"));
	cJSON_AddItemToArray(works, work("eu", "False", 0, 0, 0, 0, "Unknown"));
	cJSON_AddItemToArray(works, work("gone", "True", 9, 1, 1, 1, "Healthy"));
	cJSON *st = aggregate_binding_status(b, works, "T1");
	cJSON *items = cJSON_GetObjectItem(st, "aggregatedStatus");
	assert_int_equal(cJSON_GetArraySize(items), 2);
	cJSON *eu = cJSON_GetArrayItem(items, 0), *us = cJSON_GetArrayItem(items, 1);
	assert_string_equal(json_get_str(eu, "clusterName"), "eu");
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(eu, "applied")));
	assert_string_equal(json_get_str(eu, "appliedMessage"), "boom");
	assert_string_equal(json_get_str(eu, "health"), "Unknown");
	assert_null(cJSON_GetObjectItem(eu, "status"));
	assert_string_equal(json_get_str(us, "clusterName"), "us");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(us, "applied")));
	assert_string_equal(json_get_str(us, "health"), "Healthy");
	assert_int_equal((int)json_get_num(us, "status.readyReplicas", 0), 4);
	assert_null(cJSON_GetObjectItem(us, "appliedMessage"));
	const cJSON *fa = cond(st, "FullyApplied");
	assert_string_equal(json_get_str(fa, "status"), "False");
	assert_string_equal(json_get_str(fa, "reason"), "FullyAppliedFailed");
	assert_string_equal(json_get_str(fa, "message"), FULLY_APPLIED_FAILED_MESSAGE);
	assert_string_equal(json_get_str(fa, "lastTransitionTime"), "T1");
	/* the Scheduled condition is kept as it was */
	assert_string_equal(json_get_str(cond(st, "Scheduled"), "lastTransitionTime"), "T0");

	/* every target applied -> FullyApplied True, new transition time */
	json_set(b, "status", st);
	cJSON *works2 = cJSON_CreateArray();
	cJSON_AddItemToArray(works2, work("ap", "True", 2, 2, 2, 1, "Healthy"));
	cJSON_AddItemToArray(works2, work("eu", "True", 4, 2, 2, 1, "Healthy"));
	cJSON_AddItemToArray(works2, work("us", "True", 4, 2, 2, 1, "Healthy"));
	cJSON *st2 = aggregate_binding_status(b, works2, "T2");
	fa = cond(st2, "FullyApplied");
	assert_string_equal(json_get_str(fa, "status"), "True");
	assert_string_equal(json_get_str(fa, "reason"), "FullyAppliedSuccess");
	assert_string_equal(json_get_str(fa, "message"), FULLY_APPLIED_SUCCESS_MESSAGE);
	assert_string_equal(json_get_str(fa, "lastTransitionTime"), "T2");
	/* newly applied: ap and eu (us was already) */
	cJSON *newly = aggregate_newly_applied(json_get(b, "status.aggregatedStatus"), cJSON_GetObjectItem(st2, "aggregatedStatus"));
	cJSON *want = jq("['ap','eu']");
	assert_true(cJSON_Compare(newly, want, 1));
	cJSON_Delete(want);
	cJSON_Delete(newly);
	/* same again: nothing moves, lastTransitionTime kept */
	json_set(b, "status", st2);
	cJSON *st3 = aggregate_binding_status(b, works2, "T3");
	assert_true(cJSON_Compare(st3, json_get(b, "status"), 1));
	cJSON_Delete(st3);
	/* a missing Work (not created yet) -> not fully applied */
	cJSON_DeleteItemFromArray(works2, 0);
	st3 = aggregate_binding_status(b, works2, "T4");
	assert_string_equal(json_get_str(cond(st3, "FullyApplied"), "status"), "False");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st3, "aggregatedStatus")), 2);
	cJSON_Delete(st3);
	/* no targets at all -> not fully applied */
	cJSON *empty = jq("{'spec':{'clusters':[]}}");
	st3 = aggregate_binding_status(empty, works2, "T5");
	assert_string_equal(json_get_str(cond(st3, "FullyApplied"), "status"), "False");
	assert_null(cJSON_GetObjectItem(st3, "aggregatedStatus"));
	cJSON_Delete(st3);
	cJSON_Delete(empty);
	/* a Work without status at all */
	cJSON *w0 = cJSON_CreateArray();
	cJSON_AddItemToArray(w0, work("ap", NULL, 0, 0, 0, 0, NULL));
	st3 = aggregate_binding_status(b, w0, "T6");
	cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItem(st3, "aggregatedStatus"), 0);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(it, "applied")));
	assert_string_equal(json_get_str(it, "health"), "Unknown");
	assert_null(cJSON_GetObjectItem(it, "appliedMessage"));
	cJSON_Delete(st3);
	cJSON_Delete(w0);
	cJSON_Delete(works2);
	cJSON_Delete(works);
	cJSON_Delete(b);
}

static void test_requiredby_targets(void **state)
{
	(void)state;
	cJSON *b = jq("{'metadata':{'name':'cfg-configmap','namespace':'default'},'spec':{'resource':{'apiVersion':'v1',"
		      "'kind':'ConfigMap','namespace':'default','name':'cfg'},'requiredBy':[{'namespace':'default','name':'x',"
		      "'clusters':[{'name':'eu','replicas':1}]}]}}");
	cJSON *works = cJSON_CreateArray();
	cJSON_AddItemToArray(works, jq("{'metadata':{'namespace':'karmada-es-eu'},'status':{'conditions':[{'type':'Applied',"
				       "'status':'True'}],'manifestStatuses':[{'identifier':{'kind':'ConfigMap','name':'cfg',"
				       "'namespace':'default'},'status':{},'health':'Healthy'}]}}"));
	cJSON *st = aggregate_binding_status(b, works, "T");
	assert_string_equal(json_get_str(cond(st, "FullyApplied"), "status"), "True");
	cJSON_Delete(st);
	cJSON_Delete(works);
	cJSON_Delete(b);
}

static void test_set_condition(void **state)
{
	(void)state;
	cJSON *st = cJSON_CreateObject();
	aggregate_set_condition(st, "Scheduled", "True", "Success", "m", "T1");
	aggregate_set_condition(st, "Scheduled", "True", "Success", "m2", "T2");
	const cJSON *c = cond(st, "Scheduled");
	assert_string_equal(json_get_str(c, "lastTransitionTime"), "T1");
	assert_string_equal(json_get_str(c, "message"), "m2");
	aggregate_set_condition(st, "Scheduled", "False", "NoClusterFit", "none", "T3");
	assert_string_equal(json_get_str(c, "lastTransitionTime"), "T3");
	assert_string_equal(json_get_str(c, "status"), "False");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "conditions")), 1);
	cJSON *obj = cJSON_CreateObject();
	cJSON_AddItemToObject(obj, "status", st);
	assert_ptr_equal(json_condition(obj, "Scheduled"), c);
	assert_null(json_condition(obj, "FullyApplied"));
	cJSON_Delete(obj);
}

static cJSON *items(int gen_caught_up)
{
	char buf[2048];
	snprintf(buf, sizeof buf,
		 "[{'clusterName':'ap','applied':true,'status':{'replicas':2,'readyReplicas':2,'updatedReplicas':2,"
		 "'availableReplicas':2,'observedGeneration':3,'generation':3,'resourceTemplateGeneration':%d}},"
		 "{'clusterName':'eu','applied':true,'status':{'replicas':4,'readyReplicas':3,'updatedReplicas':4,"
		 "'availableReplicas':3,'unavailableReplicas':1,'observedGeneration':5,'generation':5,"
		 "'resourceTemplateGeneration':4}},"
		 "{'clusterName':'us','applied':true,'status':{'replicas':4,'readyReplicas':4,'updatedReplicas':4,"
		 "'availableReplicas':4,'observedGeneration':2,'generation':2,'resourceTemplateGeneration':4}}]",
		 gen_caught_up);
	return jq(buf);
}

static void test_template_status(void **state)
{
	(void)state;
	cJSON *d = jq("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'hello','generation':4},"
		      "'status':{'observedGeneration':3,'conditions':[]}}");
	cJSON *it = items(4);
	cJSON *st = aggregate_template_status(d, it);
	cJSON *want = jq("{'observedGeneration':4,'replicas':10,'updatedReplicas':10,'readyReplicas':9,"
			 "'availableReplicas':9,'unavailableReplicas':1}");
	assert_true(cJSON_Compare(st, want, 1));
	cJSON_Delete(st);
	cJSON_Delete(want);
	cJSON_Delete(it);
	/* one member has not seen generation 4 yet: observedGeneration stays */
	it = items(3);
	st = aggregate_template_status(d, it);
	assert_int_equal((int)json_get_num(st, "observedGeneration", 0), 3);
	assert_int_equal((int)json_get_num(st, "replicas", 0), 10);
	cJSON_Delete(st);
	/* a member that has not observed its own generation holds it back too */
	json_set_num(json_get(cJSON_GetArrayItem(it, 0), "status"), "resourceTemplateGeneration", 4);
	json_set_num(json_get(cJSON_GetArrayItem(it, 0), "status"), "observedGeneration", 2);
	st = aggregate_template_status(d, it);
	assert_int_equal((int)json_get_num(st, "observedGeneration", 0), 3);
	cJSON_Delete(st);
	/* an item without status (not applied yet) also holds it back */
	cJSON_Delete(it);
	it = items(4);
	cJSON_AddItemToArray(it, jq("{'clusterName':'zz','applied':false}"));
	st = aggregate_template_status(d, it);
	assert_int_equal((int)json_get_num(st, "observedGeneration", 0), 3);
	assert_int_equal((int)json_get_num(st, "replicas", 0), 10);
	cJSON_Delete(st);
	cJSON_Delete(it);

	/* StatefulSet sums currentReplicas too; zeros are omitted */
	cJSON *s = jq("{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','generation':1}}");
	it = jq("[{'clusterName':'a','status':{'replicas':1,'currentReplicas':1,'readyReplicas':0,"
		"'observedGeneration':1,'generation':1,'resourceTemplateGeneration':1}},"
		"{'clusterName':'b','status':{'replicas':2,'currentReplicas':2,'readyReplicas':0,"
		"'observedGeneration':1,'generation':1,'resourceTemplateGeneration':1}}]");
	st = aggregate_template_status(s, it);
	want = jq("{'observedGeneration':1,'replicas':3,'currentReplicas':3}");
	assert_true(cJSON_Compare(st, want, 1));
	cJSON_Delete(want);
	cJSON_Delete(st);
	cJSON_Delete(it);
	cJSON_Delete(s);
	/* kinds without aggregation */
	cJSON *svc = jq("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'}}");
	assert_null(aggregate_template_status(svc, NULL));
	cJSON_Delete(svc);
	cJSON_Delete(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items_and_fully_applied),
		cmocka_unit_test(test_requiredby_targets),
		cmocka_unit_test(test_set_condition),
		cmocka_unit_test(test_template_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
