#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "member.h"

static cJSON *js(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	if (!j)
		print_error("bad test JSON: %s\n", s);
	assert_non_null(j);
	return j;
}

#define OWNED_META "\"labels\":{\"karmada.io/managed\":\"true\"},\"annotations\":{\"work.karmada.io/namespace\":\"karmada-es-eu\",\"work.karmada.io/name\":\"hello-w\"}"

/* ---- "may I take over this object?" ---- */

static void test_take_over(void **state)
{
	cJSON *desired = js("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":\"n\"}}");
	cJSON *desired_ow = js("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":\"n\","
			       "\"annotations\":{\"work.karmada.io/conflict-resolution\":\"overwrite\"}}}");
	cJSON *desired_abort = js("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":\"n\","
				  "\"annotations\":{\"work.karmada.io/conflict-resolution\":\"abort\"}}}");
	cJSON *theirs = js("{\"metadata\":{\"name\":\"c\",\"labels\":{\"app\":\"x\"}}}");
	cJSON *ours = js("{\"metadata\":{\"name\":\"c\",\"labels\":{\"karmada.io/managed\":\"true\"}}}");
	cJSON *not_quite = js("{\"metadata\":{\"name\":\"c\",\"labels\":{\"karmada.io/managed\":\"false\"}}}");
	assert_int_equal(member_may_take_over(NULL, desired), TAKEOVER_CREATE);
	assert_int_equal(member_may_take_over(ours, desired), TAKEOVER_APPLY);
	assert_int_equal(member_may_take_over(theirs, desired), TAKEOVER_REFUSE);
	assert_int_equal(member_may_take_over(theirs, desired_abort), TAKEOVER_REFUSE);
	assert_int_equal(member_may_take_over(not_quite, desired), TAKEOVER_REFUSE);
	assert_int_equal(member_may_take_over(theirs, desired_ow), TAKEOVER_FORCE);
	assert_int_equal(member_may_take_over(ours, desired_ow), TAKEOVER_APPLY);
	struct member_ident id;
	assert_int_equal(member_ident_of(desired, &id), 0);
	char msg[512];
	member_conflict_message(&id, "eu", msg, sizeof msg);
	assert_string_equal(msg, "resource(kind=ConfigMap, n/c) already exists in the cluster eu and the "
				 "work.karmada.io/conflict-resolution strategy value is empty, Karmada will not manage this resource");
	cJSON *objs[] = {desired, desired_ow, desired_abort, theirs, ours, not_quite};
	for (size_t i = 0; i < 6; i++)
		cJSON_Delete(objs[i]);
}

static void test_desired_stamps(void **state)
{
	cJSON *work = js("{\"metadata\":{\"name\":\"hello-w\",\"namespace\":\"karmada-es-eu\",\"uid\":\"u1\","
			 "\"labels\":{\"work.karmada.io/permanent-id\":\"pid-1\"}}}");
	cJSON *m = js("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","
		      "\"resourceVersion\":\"9\",\"uid\":\"hub-uid\",\"creationTimestamp\":\"x\",\"generation\":4,"
		      "\"managedFields\":[],\"ownerReferences\":[{\"uid\":\"z\"}],\"labels\":{\"app\":\"hello\"},"
		      "\"annotations\":{\"resourcetemplate.karmada.io/generation\":\"4\"}},"
		      "\"spec\":{\"replicas\":2},\"status\":{\"replicas\":9}}");
	cJSON *d = member_desired(m, work, true);
	assert_string_equal(json_get_str(d, "metadata.namespace"), "default");
	assert_null(json_get(d, "status"));
	static const char *const gone[] = {"metadata.resourceVersion", "metadata.uid", "metadata.creationTimestamp",
					   "metadata.generation", "metadata.managedFields", "metadata.ownerReferences"};
	for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
		assert_null(json_get(d, gone[i]));
	cJSON *labels = json_get(d, "metadata.labels");
	assert_string_equal(cJSON_GetObjectItem(labels, "karmada.io/managed")->valuestring, "true");
	assert_string_equal(cJSON_GetObjectItem(labels, "work.karmada.io/permanent-id")->valuestring, "pid-1");
	assert_string_equal(cJSON_GetObjectItem(labels, "app")->valuestring, "hello");
	cJSON *ann = json_get(d, "metadata.annotations");
	assert_string_equal(cJSON_GetObjectItem(ann, "work.karmada.io/name")->valuestring, "hello-w");
	assert_string_equal(cJSON_GetObjectItem(ann, "work.karmada.io/namespace")->valuestring, "karmada-es-eu");
	assert_string_equal(cJSON_GetObjectItem(ann, "resourcetemplate.karmada.io/generation")->valuestring, "4");
	assert_true(member_owned(d));
	cJSON_Delete(d);
	/* Cluster-scoped kinds lose a namespace. */
	cJSON *ns = js("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"apps\",\"namespace\":\"x\"}}");
	d = member_desired(ns, work, false);
	assert_null(json_get(d, "metadata.namespace"));
	cJSON_Delete(d);
	cJSON_Delete(ns);
	cJSON_Delete(m);
	cJSON_Delete(work);
}

/* ---- "is this Deployment healthy?" ---- */

static void test_deployment_health(void **state)
{
	static const struct {
		const char *obj;
		bool healthy;
	} cases[] = {
		{"{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"updatedReplicas\":3,\"availableReplicas\":3}}", true},
		/* the controller has not seen the new spec */
		{"{\"metadata\":{\"generation\":3},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"updatedReplicas\":3,\"availableReplicas\":3}}", false},
		/* rolling out */
		{"{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"updatedReplicas\":2,\"availableReplicas\":3}}", false},
		/* updated but not available */
		{"{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":2,\"updatedReplicas\":3,\"availableReplicas\":2}}", false},
		/* spec.replicas defaults to 1 */
		{"{\"metadata\":{\"generation\":1},\"spec\":{},\"status\":{\"observedGeneration\":1,\"updatedReplicas\":1,\"availableReplicas\":1}}", true},
		/* scaled to zero */
		{"{\"metadata\":{\"generation\":5},\"spec\":{\"replicas\":0},\"status\":{\"observedGeneration\":5}}", true},
		/* no status yet */
		{"{\"metadata\":{\"generation\":1},\"spec\":{\"replicas\":1}}", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *d = js(cases[i].obj);
		if (member_deployment_healthy(d) != cases[i].healthy)
			print_error("case %zu\n", i);
		assert_int_equal(member_deployment_healthy(d), cases[i].healthy);
		json_set_str(d, "apiVersion", "apps/v1");
		json_set_str(d, "kind", "Deployment");
		assert_string_equal(member_health(d), cases[i].healthy ? "Healthy" : "Unhealthy");
		cJSON_Delete(d);
	}
}

static void test_other_health(void **state)
{
	static const struct {
		const char *obj;
		const char *want;
	} cases[] = {
		{"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}", "Healthy"},
		{"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"ClusterIP\"}}", "Healthy"},
		{"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"LoadBalancer\"}}", "Unhealthy"},
		{"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"LoadBalancer\"},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"1.2.3.4\"}]}}}", "Healthy"},
		{"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}", "Healthy"},
		{"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}", "Unhealthy"},
		{"{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Pending\"}}", "Unhealthy"},
		{"{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"s\",\"generation\":1},\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":1,\"updatedReplicas\":2}}", "Healthy"},
		{"{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"d\",\"generation\":1},\"status\":{\"observedGeneration\":1,\"desiredNumberScheduled\":3,\"updatedNumberScheduled\":3,\"numberAvailable\":2}}", "Unhealthy"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *o = js(cases[i].obj);
		assert_string_equal(member_health(o), cases[i].want);
		cJSON_Delete(o);
	}
	assert_string_equal(member_health(NULL), "Unknown");
}

static void test_reflect_status(void **state)
{
	cJSON *d = js("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"h\",\"generation\":3,"
		      "\"annotations\":{\"resourcetemplate.karmada.io/generation\":\"7\"}},\"spec\":{\"replicas\":3},"
		      "\"status\":{\"observedGeneration\":3,\"replicas\":3,\"updatedReplicas\":3,\"readyReplicas\":2,"
		      "\"availableReplicas\":2,\"unavailableReplicas\":1,\"conditions\":[{\"type\":\"Available\"}]}}");
	cJSON *st = member_reflect_status(d);
	cJSON *want = js("{\"replicas\":3,\"updatedReplicas\":3,\"readyReplicas\":2,\"availableReplicas\":2,"
			 "\"unavailableReplicas\":1,\"observedGeneration\":3,\"generation\":3,\"resourceTemplateGeneration\":7}");
	assert_true(cJSON_Compare(st, want, true));
	cJSON_Delete(st);
	cJSON_Delete(want);
	cJSON_Delete(d);
	cJSON *cm = js("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":{}}");
	assert_null(member_reflect_status(cm));
	cJSON_Delete(cm);
	cJSON *svc = js("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}");
	assert_null(member_reflect_status(svc));
	cJSON_Delete(svc);
	cJSON *job = js("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\"},\"status\":{\"succeeded\":1}}");
	st = member_reflect_status(job);
	assert_int_equal((int)json_get_num(st, "succeeded", 0), 1);
	cJSON_Delete(st);
	cJSON_Delete(job);
}

/* The apply's answer and the watch are two connections: an answer read
 * after the watch delivered later states must not bring an older one back
 * (the seed walkthrough's re-weight: ap's status stuck at the answer's
 * replicas 4, observedGeneration 2 < generation 3). */
static void test_state_order(void **state)
{
	enum member_source W = MEMBER_FROM_WATCH, A = MEMBER_FROM_ANSWER;
	/* The answer (57) after the watch's 57, 61, 68. */
	assert_false(member_state_newer("68", W, "57", A));
	assert_true(member_state_newer("57", A, "61", W));
	assert_true(member_state_newer("57", W, "57", A));
	assert_true(member_state_newer("57", A, "57", W));
	/* A watch event the answer already overtook is older too. */
	assert_false(member_state_newer("61", A, "57", W));
	/* Numbers, not strings; leading zeros do not count. */
	assert_true(member_state_newer("99", W, "100", A));
	assert_false(member_state_newer("100", W, "99", A));
	assert_true(member_state_newer("0100", W, "100", A));
	assert_false(member_state_newer("100", W, "0099", A));
	assert_true(member_state_newer("18446744073709551615", W, "18446744073709551616", A));
	assert_false(member_state_newer("18446744073709551616", W, "18446744073709551615", A));
	/* Not decimal (opaque): the ordered watch wins, an answer never
	 * replaces what the watch delivered. */
	assert_false(member_state_newer("abc", W, "abd", A));
	assert_false(member_state_newer("12", W, "x", A));
	assert_false(member_state_newer("", W, "57", A));
	assert_false(member_state_newer(NULL, W, "57", A));
	assert_true(member_state_newer("abc", W, "abb", W));
	assert_true(member_state_newer("abc", A, "abb", A));
	assert_true(member_state_newer("abc", A, "abb", W));
	assert_true(member_state_newer("-5", A, "7x", W));
}

static void test_drift(void **state)
{
	cJSON *desired = js("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"h\",\"namespace\":\"a\","
			    OWNED_META "},\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"name\":\"h\",\"image\":\"nginx\"}]}}}}");
	/* Defaults and other managers' fields are not drift. */
	cJSON *live = js("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"h\",\"namespace\":\"a\","
			 "\"uid\":\"u\",\"resourceVersion\":\"5\",\"labels\":{\"karmada.io/managed\":\"true\",\"extra\":\"x\"},"
			 "\"annotations\":{\"work.karmada.io/namespace\":\"karmada-es-eu\",\"work.karmada.io/name\":\"hello-w\","
			 "\"deployment.kubernetes.io/revision\":\"1\"}},\"spec\":{\"replicas\":2,\"strategy\":{\"type\":\"RollingUpdate\"},"
			 "\"template\":{\"spec\":{\"containers\":[{\"name\":\"h\",\"image\":\"nginx\",\"imagePullPolicy\":\"Always\"}],"
			 "\"restartPolicy\":\"Always\"}}},\"status\":{\"replicas\":7}}");
	assert_false(member_drifted(desired, live));
	json_set_num(json_get(live, "spec"), "replicas", 5);
	assert_true(member_drifted(desired, live));
	json_set_num(json_get(live, "spec"), "replicas", 2);
	json_set_str(cJSON_GetArrayItem(json_get(live, "spec.template.spec.containers"), 0), "image", "evil");
	assert_true(member_drifted(desired, live));
	json_set_str(cJSON_GetArrayItem(json_get(live, "spec.template.spec.containers"), 0), "image", "nginx");
	cJSON_AddItemToArray(json_get(live, "spec.template.spec.containers"), js("{\"name\":\"sidecar\"}"));
	assert_true(member_drifted(desired, live)); /* a list the Work sets is the Work's */
	cJSON_DeleteItemFromArray(json_get(live, "spec.template.spec.containers"), 1);
	assert_false(member_drifted(desired, live));
	cJSON_DeleteItemFromObject(json_get(live, "metadata.labels"), "karmada.io/managed");
	assert_true(member_drifted(desired, live));
	assert_true(member_drifted(desired, NULL));
	cJSON_Delete(desired);
	cJSON_Delete(live);
}

static void test_applied_condition(void **state)
{
	bool ok;
	char reason[64], msg[1024];
	member_applied_condition(2, 2, NULL, &ok, reason, sizeof reason, msg, sizeof msg);
	assert_true(ok);
	assert_string_equal(reason, "AppliedSuccessful");
	assert_string_equal(msg, "Manifest has been successfully applied");
	const char *one[] = {"boom", NULL};
	member_applied_condition(3, 2, one, &ok, reason, sizeof reason, msg, sizeof msg);
	assert_false(ok);
	assert_string_equal(reason, "AppliedFailed");
	assert_string_equal(msg, "Failed to apply all manifests (2/3): boom");
	const char *two[] = {"a", "b", NULL};
	member_applied_condition(2, 0, two, &ok, reason, sizeof reason, msg, sizeof msg);
	assert_string_equal(msg, "Failed to apply all manifests (0/2): [a, b]");
}

/* ---- "what to delete given the hub's list and the owned objects?" ---- */

static void test_plan_deletions(void **state)
{
	cJSON *works = js("[{\"metadata\":{\"name\":\"hello-w\",\"namespace\":\"karmada-es-eu\"},\"spec\":{\"workload\":{\"manifests\":["
			  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\",\"namespace\":\"apps\"}},"
			  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"nons\"}}]}}}]");
	cJSON *owned = js("["
		/* 0: still listed -> keep */
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\",\"namespace\":\"apps\"," OWNED_META "}},"
		/* 1: same Work, no longer listed -> delete */
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"old\",\"namespace\":\"apps\"," OWNED_META "}},"
		/* 2: Work gone -> delete */
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"svc\",\"namespace\":\"apps\",\"labels\":{\"karmada.io/managed\":\"true\"},"
		"\"annotations\":{\"work.karmada.io/namespace\":\"karmada-es-eu\",\"work.karmada.io/name\":\"gone-w\"}}},"
		/* 3: not ours (no label) -> never */
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"theirs\",\"namespace\":\"apps\","
		"\"annotations\":{\"work.karmada.io/namespace\":\"karmada-es-eu\",\"work.karmada.io/name\":\"gone-w\"}}},"
		/* 4: another cluster's execution namespace -> never */
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"other\",\"namespace\":\"apps\",\"labels\":{\"karmada.io/managed\":\"true\"},"
		"\"annotations\":{\"work.karmada.io/namespace\":\"karmada-es-us\",\"work.karmada.io/name\":\"gone-w\"}}},"
		/* 5: managed but no Work annotations (another tool) -> never */
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"bare\",\"namespace\":\"apps\",\"labels\":{\"karmada.io/managed\":\"true\"}}},"
		/* 6: same name, other group -> delete */
		"{\"apiVersion\":\"extensions/v1beta1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\",\"namespace\":\"apps\"," OWNED_META "}},"
		/* 7: listed without namespace, applied into default -> keep */
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"nons\",\"namespace\":\"default\"," OWNED_META "}},"
		/* 8: label says false -> never */
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"f\",\"namespace\":\"apps\",\"labels\":{\"karmada.io/managed\":\"false\"},"
		"\"annotations\":{\"work.karmada.io/namespace\":\"karmada-es-eu\",\"work.karmada.io/name\":\"gone-w\"}}}"
		"]");
	cJSON *del = member_plan_deletions(works, owned, "karmada-es-eu");
	const char *want[] = {"old", "svc", "hello"};
	assert_int_equal(cJSON_GetArraySize(del), 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(json_get_str(cJSON_GetArrayItem(del, i), "metadata.name"), want[i]);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(del, 2), "apiVersion"), "extensions/v1beta1");
	cJSON_Delete(del);
	/* An empty hub list deletes every owned object of this cluster, nothing else. */
	cJSON *none = cJSON_CreateArray();
	del = member_plan_deletions(none, owned, "karmada-es-eu");
	assert_int_equal(cJSON_GetArraySize(del), 5);
	cJSON_Delete(del);
	cJSON_Delete(none);
	cJSON_Delete(owned);
	cJSON_Delete(works);
}

static void test_cluster_summary(void **state)
{
	cJSON *nodes = js("[{\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"16Gi\",\"pods\":\"110\"},"
			  "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
			  "{\"status\":{\"allocatable\":{\"cpu\":\"3500m\",\"memory\":\"8Gi\",\"pods\":\"110\"},"
			  "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}]");
	cJSON *pods = js("["
		"{\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}},"
		"{\"resources\":{\"requests\":{\"cpu\":\"150m\"}}}],\"initContainers\":[{\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]},"
		"\"status\":{\"phase\":\"Running\"}},"
		"{\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]},\"status\":{\"phase\":\"Succeeded\"}},"
		"{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"300m\",\"memory\":\"1Gi\"}}}]},\"status\":{\"phase\":\"Pending\"}}"
		"]");
	struct proto_heartbeat hb = {0};
	member_cluster_summary(nodes, pods, &hb);
	assert_true(hb.have_summary);
	assert_int_equal(hb.nodes_total, 2);
	assert_int_equal(hb.nodes_ready, 1);
	assert_int_equal(hb.allocatable.cpu_milli, 7500);
	assert_int_equal(hb.allocatable.memory, 24LL << 30);
	assert_int_equal(hb.allocatable.pods, 220);
	/* init container (1 cpu) beats the sum of containers (250m) */
	assert_int_equal(hb.allocated.cpu_milli, 1000);
	assert_int_equal(hb.allocated.memory, 64LL << 20);
	assert_int_equal(hb.allocated.pods, 1);
	assert_int_equal(hb.allocating.cpu_milli, 300);
	assert_int_equal(hb.allocating.memory, 1LL << 30);
	assert_int_equal(hb.allocating.pods, 1);
	cJSON_Delete(nodes);
	cJSON_Delete(pods);
}

static void test_release_patch(void **state)
{
	cJSON *p = member_release_patch();
	cJSON *l = json_get(p, "metadata.labels"), *a = json_get(p, "metadata.annotations");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(l, "karmada.io/managed")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(l, "work.karmada.io/permanent-id")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(a, "work.karmada.io/name")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(a, "work.karmada.io/namespace")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(a, "resourcetemplate.karmada.io/generation")));
	/* Only Karmada's keys: nothing else is touched. */
	const cJSON *it;
	cJSON_ArrayForEach(it, l) assert_non_null(strstr(it->string, "karmada.io/"));
	cJSON_ArrayForEach(it, a) assert_non_null(strstr(it->string, "karmada.io/"));
	assert_null(json_get(p, "spec"));
	cJSON_Delete(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_over),
		cmocka_unit_test(test_desired_stamps),
		cmocka_unit_test(test_deployment_health),
		cmocka_unit_test(test_other_health),
		cmocka_unit_test(test_reflect_status),
		cmocka_unit_test(test_state_order),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_applied_condition),
		cmocka_unit_test(test_plan_deletions),
		cmocka_unit_test(test_cluster_summary),
		cmocka_unit_test(test_release_patch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
