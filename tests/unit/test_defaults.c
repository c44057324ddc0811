#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defaults.h"
#include "jsonutil.h"
#include "kinds.h"
#include "pbschema.h"

static const struct kind_info *kind(const char *group, const char *k)
{
	const struct kind_info *ki = kinds_find_kind(group, "v1", k);
	assert_non_null(ki);
	return ki;
}

/* Applies defaults to JSON text and returns the result. */
static cJSON *defaulted(const struct kind_info *k, const char *text, unsigned long seq)
{
	cJSON *o = cJSON_Parse(text);
	assert_non_null(o);
	defaults_apply(k, o, seq);
	return o;
}

static void assert_json_eq(const cJSON *got, const char *want_text)
{
	cJSON *want = cJSON_Parse(want_text);
	assert_non_null(want);
	if (!cJSON_Compare(got, want, true)) {
		char *g = cJSON_PrintUnformatted(got);
		fprintf(stderr, "got:  %s\nwant: %s\n", g, want_text);
		free(g);
		fail();
	}
	cJSON_Delete(want);
}

static void test_deployment(void **state)
{
	(void)state;
	cJSON *o = defaulted(kind("apps", "Deployment"),
			     "{\"metadata\":{\"name\":\"hello\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"hello\"}},"
			     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},\"spec\":{\"containers\":["
			     "{\"name\":\"hello\",\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":80}]}]}}}}",
			     0);
	assert_json_eq(o,
		       "{\"metadata\":{\"name\":\"hello\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"hello\"}},"
		       "\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},\"spec\":{\"containers\":["
		       "{\"name\":\"hello\",\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
		       "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\","
		       "\"resources\":{},\"imagePullPolicy\":\"IfNotPresent\"}],"
		       "\"restartPolicy\":\"Always\",\"dnsPolicy\":\"ClusterFirst\",\"schedulerName\":\"default-scheduler\","
		       "\"securityContext\":{},\"terminationGracePeriodSeconds\":30}},"
		       "\"replicas\":1,\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
		       "{\"maxUnavailable\":\"25%\",\"maxSurge\":\"25%\"}},"
		       "\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600}}");
	/* idempotent */
	cJSON *again = json_dup(o);
	defaults_apply(kind("apps", "Deployment"), again, 9);
	assert_true(cJSON_Compare(o, again, true));
	cJSON_Delete(again);
	cJSON_Delete(o);
}

static void test_user_fields_kept(void **state)
{
	(void)state;
	cJSON *o = defaulted(kind("apps", "Deployment"),
			     "{\"spec\":{\"replicas\":3,\"strategy\":{\"type\":\"Recreate\"},\"revisionHistoryLimit\":null,"
			     "\"template\":{\"spec\":{\"restartPolicy\":\"OnFailure\",\"dnsPolicy\":\"Default\","
			     "\"containers\":[{\"name\":\"a\",\"image\":\"a:1\",\"imagePullPolicy\":\"Never\","
			     "\"ports\":[{\"containerPort\":53,\"protocol\":\"UDP\"}]}]}}}}",
			     0);
	assert_int_equal((int)json_get_num(o, "spec.replicas", 0), 3);
	assert_json_eq(json_get(o, "spec.strategy"), "{\"type\":\"Recreate\"}");
	assert_int_equal((int)json_get_num(o, "spec.revisionHistoryLimit", 0), 10); /* null = unset */
	assert_string_equal(json_get_str(o, "spec.template.spec.restartPolicy"), "OnFailure");
	assert_string_equal(json_get_str(o, "spec.template.spec.dnsPolicy"), "Default");
	cJSON *c = cJSON_GetArrayItem(json_get(o, "spec.template.spec.containers"), 0);
	assert_string_equal(json_get_str(c, "imagePullPolicy"), "Never");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(c, "ports"), 0), "protocol"), "UDP");
	cJSON_Delete(o);

	/* partial rollingUpdate is completed, not replaced */
	o = defaulted(kind("apps", "Deployment"), "{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1}}}}", 0);
	assert_json_eq(json_get(o, "spec.strategy"),
		       "{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":\"25%\"},\"type\":\"RollingUpdate\"}");
	cJSON_Delete(o);
}

static const char *pull_policy_for(const char *image)
{
	static char out[32];
	char text[256];
	snprintf(text, sizeof text, "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]}}", image);
	cJSON *o = defaulted(kind("", "Pod"), text, 0);
	const char *p = json_get_str(cJSON_GetArrayItem(json_get(o, "spec.containers"), 0), "imagePullPolicy");
	snprintf(out, sizeof out, "%s", p ? p : "(none)");
	cJSON_Delete(o);
	return out;
}

static void test_image_pull_policy(void **state)
{
	(void)state;
	assert_string_equal(pull_policy_for("nginx"), "Always");
	assert_string_equal(pull_policy_for("nginx:latest"), "Always");
	assert_string_equal(pull_policy_for("nginx:1.25"), "IfNotPresent");
	assert_string_equal(pull_policy_for("localhost:5000/nginx"), "Always");
	assert_string_equal(pull_policy_for("localhost:5000/nginx:v2"), "IfNotPresent");
	assert_string_equal(pull_policy_for("nginx@sha256:abcd"), "IfNotPresent");
	assert_string_equal(pull_policy_for("nginx:latest@sha256:abcd"), "Always");
	assert_string_equal(pull_policy_for("nginx:latestx"), "IfNotPresent");
	/* no image: nothing to decide from */
	cJSON *o = defaulted(kind("", "Pod"), "{\"spec\":{\"containers\":[{\"name\":\"c\"}],\"initContainers\":[{\"image\":\"i\"}]}}", 0);
	assert_null(json_get(cJSON_GetArrayItem(json_get(o, "spec.containers"), 0), "imagePullPolicy"));
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(o, "spec.initContainers"), 0), "imagePullPolicy"), "Always");
	assert_string_equal(json_get_str(o, "spec.restartPolicy"), "Always");
	cJSON_Delete(o);
}

static void test_workload_templates(void **state)
{
	(void)state;
	static const char tmpl[] = "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox:1\"}]}}";
	char text[512];

	snprintf(text, sizeof text, "{\"spec\":{\"template\":%s}}", tmpl);
	cJSON *o = defaulted(kind("batch", "Job"), text, 0);
	assert_null(json_get(o, "spec.template.spec.restartPolicy")); /* Jobs choose their own */
	assert_string_equal(json_get_str(o, "spec.template.spec.dnsPolicy"), "ClusterFirst");
	assert_int_equal((int)json_get_num(o, "spec.completions", 0), 1);
	assert_int_equal((int)json_get_num(o, "spec.parallelism", 0), 1);
	assert_int_equal((int)json_get_num(o, "spec.backoffLimit", 0), 6);
	cJSON_Delete(o);

	o = defaulted(kind("batch", "Job"), "{\"spec\":{\"parallelism\":4}}", 0);
	assert_null(json_get(o, "spec.completions"));
	assert_int_equal((int)json_get_num(o, "spec.parallelism", 0), 4);
	cJSON_Delete(o);

	snprintf(text, sizeof text, "{\"spec\":{\"schedule\":\"* * * * *\",\"jobTemplate\":{\"spec\":{\"template\":%s}}}}", tmpl);
	o = defaulted(kind("batch", "CronJob"), text, 0);
	cJSON *c = cJSON_GetArrayItem(json_get(o, "spec.jobTemplate.spec.template.spec.containers"), 0);
	assert_string_equal(json_get_str(c, "terminationMessagePolicy"), "File");
	assert_string_equal(json_get_str(o, "spec.concurrencyPolicy"), "Allow");
	assert_true(cJSON_IsFalse(json_get(o, "spec.suspend")));
	assert_int_equal((int)json_get_num(o, "spec.successfulJobsHistoryLimit", 0), 3);
	assert_int_equal((int)json_get_num(o, "spec.failedJobsHistoryLimit", 0), 1);
	cJSON_Delete(o);

	snprintf(text, sizeof text, "{\"spec\":{\"template\":%s}}", tmpl);
	o = defaulted(kind("apps", "StatefulSet"), text, 0);
	assert_string_equal(json_get_str(o, "spec.template.spec.restartPolicy"), "Always");
	assert_json_eq(json_get(o, "spec.updateStrategy"), "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":0}}");
	assert_string_equal(json_get_str(o, "spec.podManagementPolicy"), "OrderedReady");
	cJSON_Delete(o);

	o = defaulted(kind("apps", "DaemonSet"), text, 0);
	assert_json_eq(json_get(o, "spec.updateStrategy"),
		       "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":1,\"maxSurge\":0}}");
	assert_int_equal((int)json_get_num(o, "spec.template.spec.terminationGracePeriodSeconds", 0), 30);
	cJSON_Delete(o);

	o = defaulted(kind("apps", "ReplicaSet"), text, 0);
	assert_int_equal((int)json_get_num(o, "spec.replicas", 0), 1);
	assert_string_equal(json_get_str(o, "spec.template.spec.schedulerName"), "default-scheduler");
	cJSON_Delete(o);
}

static void test_service(void **state)
{
	(void)state;
	const struct kind_info *k = kind("", "Service");
	char ip[32];
	assert_string_equal(defaults_cluster_ip(0, ip, sizeof ip), "10.96.0.1");
	assert_string_equal(defaults_cluster_ip(5, ip, sizeof ip), "10.96.0.6");
	assert_string_equal(defaults_cluster_ip(300, ip, sizeof ip), "10.96.1.45");
	assert_string_equal(defaults_cluster_ip(65534, ip, sizeof ip), "10.96.0.1");
	assert_string_equal(defaults_cluster_ip(65533, ip, sizeof ip), "10.96.255.254");

	cJSON *o = defaulted(k, "{\"metadata\":{\"name\":\"hello\"},\"spec\":{\"selector\":{\"app\":\"hello\"},"
				"\"ports\":[{\"port\":80},{\"port\":53,\"protocol\":\"UDP\",\"targetPort\":\"dns\"}]}}", 5);
	assert_json_eq(json_get(o, "spec"),
		       "{\"selector\":{\"app\":\"hello\"},\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80},"
		       "{\"port\":53,\"protocol\":\"UDP\",\"targetPort\":\"dns\"}],\"type\":\"ClusterIP\","
		       "\"sessionAffinity\":\"None\",\"clusterIP\":\"10.96.0.6\",\"clusterIPs\":[\"10.96.0.6\"],"
		       "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\"}");
	cJSON_Delete(o);

	/* user IP kept; "" means allocate; headless stays headless */
	o = defaulted(k, "{\"spec\":{\"clusterIP\":\"10.96.9.9\"}}", 5);
	assert_string_equal(json_get_str(o, "spec.clusterIP"), "10.96.9.9");
	assert_json_eq(json_get(o, "spec.clusterIPs"), "[\"10.96.9.9\"]");
	cJSON_Delete(o);
	o = defaulted(k, "{\"spec\":{\"clusterIP\":\"\",\"clusterIPs\":null}}", 1);
	assert_string_equal(json_get_str(o, "spec.clusterIP"), "10.96.0.2");
	assert_json_eq(json_get(o, "spec.clusterIPs"), "[\"10.96.0.2\"]");
	cJSON_Delete(o);
	o = defaulted(k, "{\"spec\":{\"clusterIP\":\"None\"}}", 1);
	assert_json_eq(json_get(o, "spec.clusterIPs"), "[\"None\"]");
	cJSON_Delete(o);

	/* NodePort: node ports allocated, external traffic policy */
	o = defaulted(k, "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80},{\"port\":81,\"nodePort\":31000}]}}", 2);
	assert_int_equal((int)json_get_num(cJSON_GetArrayItem(json_get(o, "spec.ports"), 0), "nodePort", 0), 30032);
	assert_int_equal((int)json_get_num(cJSON_GetArrayItem(json_get(o, "spec.ports"), 1), "nodePort", 0), 31000);
	assert_string_equal(json_get_str(o, "spec.externalTrafficPolicy"), "Cluster");
	cJSON_Delete(o);
	o = defaulted(k, "{\"spec\":{\"type\":\"LoadBalancer\"}}", 2);
	assert_true(cJSON_IsTrue(json_get(o, "spec.allocateLoadBalancerNodePorts")));
	cJSON_Delete(o);

	/* ExternalName: no IPs at all */
	o = defaulted(k, "{\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example\"}}", 2);
	assert_json_eq(json_get(o, "spec"),
		       "{\"type\":\"ExternalName\",\"externalName\":\"db.example\",\"sessionAffinity\":\"None\"}");
	cJSON_Delete(o);

	/* no spec at all: one is made */
	o = defaulted(k, "{\"metadata\":{\"name\":\"x\"}}", 0);
	assert_string_equal(json_get_str(o, "spec.clusterIP"), "10.96.0.1");
	cJSON_Delete(o);
}

static void test_namespace_secret(void **state)
{
	(void)state;
	cJSON *o = defaulted(kind("", "Namespace"), "{\"metadata\":{\"name\":\"dev\"}}", 0);
	assert_json_eq(o, "{\"metadata\":{\"name\":\"dev\"},\"spec\":{\"finalizers\":[\"kubernetes\"]},"
			  "\"status\":{\"phase\":\"Active\"}}");
	cJSON_Delete(o);
	o = defaulted(kind("", "Namespace"), "{\"status\":{\"phase\":\"Terminating\"}}", 0);
	assert_string_equal(json_get_str(o, "status.phase"), "Terminating");
	cJSON_Delete(o);

	o = defaulted(kind("", "Secret"), "{\"data\":{}}", 0);
	assert_string_equal(json_get_str(o, "type"), "Opaque");
	cJSON_Delete(o);
	o = defaulted(kind("", "Secret"), "{\"type\":\"kubernetes.io/tls\"}", 0);
	assert_string_equal(json_get_str(o, "type"), "kubernetes.io/tls");
	cJSON_Delete(o);

	/* kinds without defaults: untouched */
	o = defaulted(kind("", "ConfigMap"), "{\"data\":{\"a\":\"b\"}}", 0);
	assert_json_eq(o, "{\"data\":{\"a\":\"b\"}}");
	cJSON_Delete(o);
}

/* Karmada's webhook defaults (issue 16). */
static void test_karmada(void **state)
{
	(void)state;
	const struct kind_info *pp = kinds_find_kind("policy.karmada.io", "v1alpha1", "PropagationPolicy");
	const struct kind_info *cpp = kinds_find_kind("policy.karmada.io", "v1alpha1", "ClusterPropagationPolicy");
	cJSON *o = defaulted(pp, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"team\"},\"spec\":{\"resourceSelectors\":["
				 "{\"apiVersion\":\"v1\",\"kind\":\"Service\"},{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"namespace\":\"\"},"
				 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"namespace\":\"other\"}]}}", 0);
	assert_json_eq(json_get(o, "spec"),
		       "{\"resourceSelectors\":[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"namespace\":\"team\"},"
		       "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"namespace\":\"team\"},"
		       "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"namespace\":\"other\"}],"
		       "\"priority\":0,\"preemption\":\"Never\",\"conflictResolution\":\"Abort\",\"schedulerName\":\"default-scheduler\"}");
	cJSON_Delete(o);
	/* What the user set stays; a cluster policy's selectors keep no namespace. */
	o = defaulted(cpp, "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"priority\":5,\"preemption\":\"Always\","
			   "\"conflictResolution\":\"Overwrite\",\"schedulerName\":\"mine\",\"resourceSelectors\":"
			   "[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"name\":\"a\"}]}}", 0);
	assert_json_eq(json_get(o, "spec"), "{\"priority\":5,\"preemption\":\"Always\",\"conflictResolution\":\"Overwrite\","
					   "\"schedulerName\":\"mine\",\"resourceSelectors\":[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"name\":\"a\"}]}");
	cJSON_Delete(o);

	/* The permanent id: new on create, kept when an update drops it. */
	cJSON *n = cJSON_Parse("{\"metadata\":{\"name\":\"p\"}}");
	defaults_karmada_identity(pp, NULL, n, "id-1");
	assert_json_eq(json_get(n, "metadata.labels"), "{\"propagationpolicy.karmada.io/permanent-id\":\"id-1\"}");
	cJSON *u = cJSON_Parse("{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"b\"}}}");
	defaults_karmada_identity(pp, n, u, "id-2");
	assert_json_eq(json_get(u, "metadata.labels"), "{\"a\":\"b\",\"propagationpolicy.karmada.io/permanent-id\":\"id-1\"}");
	cJSON_Delete(u);
	cJSON_Delete(n);
	n = cJSON_Parse("{\"metadata\":{\"name\":\"c\"}}");
	defaults_karmada_identity(cpp, NULL, n, "id-3");
	assert_json_eq(json_get(n, "metadata.labels"), "{\"clusterpropagationpolicy.karmada.io/permanent-id\":\"id-3\"}");
	cJSON_Delete(n);

	/* A Cluster that never reported carries the not-ready taint; Ready=True
	 * removes it (and unreachable), other taints stay. */
	const struct kind_info *cl = kinds_find_kind("cluster.karmada.io", "v1alpha1", "Cluster");
	o = defaulted(cl, "{\"spec\":{}}", 0);
	assert_json_eq(o, "{\"spec\":{\"taints\":[{\"key\":\"cluster.karmada.io/not-ready\",\"effect\":\"NoSchedule\"}]}}");
	cJSON_Delete(o);
	o = defaulted(cl, "{\"spec\":{\"taints\":[{\"key\":\"cluster.karmada.io/not-ready\",\"effect\":\"NoSchedule\"},"
			  "{\"key\":\"cluster.karmada.io/not-ready\",\"effect\":\"NoExecute\"},{\"key\":\"gpu\",\"effect\":\"NoSchedule\"}]},"
			  "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}", 0);
	assert_json_eq(json_get(o, "spec"), "{\"taints\":[{\"key\":\"cluster.karmada.io/not-ready\",\"effect\":\"NoExecute\"},"
					   "{\"key\":\"gpu\",\"effect\":\"NoSchedule\"}]}");
	cJSON_Delete(o);
	o = defaulted(cl, "{\"spec\":{},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}", 0);
	assert_json_eq(json_get(o, "spec"), "{}"); /* False/Unknown: the cluster life cycle's */
	cJSON_Delete(o);
}

static void test_hostile(void **state)
{
	(void)state;
	static const char *const objs[] = {
		"null", "7", "\"x\"", "[]", "{}", "{\"spec\":\"x\"}", "{\"spec\":[1]}",
		"{\"spec\":{\"strategy\":\"x\",\"template\":\"x\",\"type\":7,\"ports\":{\"port\":1}}}",
		"{\"spec\":{\"strategy\":{\"rollingUpdate\":7},\"template\":{\"spec\":{\"containers\":{\"a\":1},"
		"\"initContainers\":[1,\"x\",null,{\"image\":7,\"ports\":{\"a\":{}}},{\"image\":\"\",\"ports\":[1,null]}]}},"
		"\"ports\":[1,null,{\"port\":\"x\"},{\"port\":1e300}],\"clusterIP\":5,\"clusterIPs\":7,"
		"\"jobTemplate\":[],\"containers\":[{\"image\":\"a@\"},{\"image\":\":\"},{\"image\":\"/:\"}]},"
		"\"status\":\"x\",\"type\":[]}",
	};
	for (int i = 0; i < builtin_kinds_count; i++) {
		for (size_t j = 0; j < sizeof objs / sizeof objs[0]; j++) {
			cJSON *o = cJSON_Parse(objs[j]);
			assert_non_null(o);
			defaults_apply(&builtin_kinds[i], o, 0xffffffffUL);
			cJSON_Delete(o);
		}
		defaults_apply(&builtin_kinds[i], NULL, 0);
	}
	defaults_apply(NULL, NULL, 0);
	cJSON *o = cJSON_Parse("{\"spec\":\"x\"}");
	defaults_apply(kind("apps", "Deployment"), o, 0);
	assert_json_eq(o, "{\"spec\":\"x\"}"); /* wrongly typed: left alone */
	cJSON_Delete(o);
	o = cJSON_Parse("{\"spec\":{\"type\":7}}");
	defaults_apply(kind("", "Service"), o, 0);
	assert_json_eq(o, "{\"spec\":{\"type\":7,\"sessionAffinity\":\"None\"}}");
	cJSON_Delete(o);
}

static void test_crd_kind_untouched(void **state)
{
	(void)state;
	struct kind_info fake = builtin_kinds[0];
	fake.dynamic = true; /* a CRD kind, even one named like a built-in */
	cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"x\"}}");
	defaults_apply(&fake, o, 0);
	assert_json_eq(o, "{\"metadata\":{\"name\":\"x\"}}");
	cJSON_Delete(o);
}

static int message(const char *name)
{
	for (int i = 0; i < pbs_all_messages_count; i++)
		if (strcmp(pbs_messages[i].name, name) == 0)
			return i;
	fail_msg("no message %s", name);
	return -1;
}

/* The generic walker over the table alone: default= values wherever their
 * message appears (list items, inline members), kdefault= only in the
 * kind's own spec, nothing through wrongly typed values, null is unset. */
static void test_schema_walker(void **state)
{
	(void)state;
	cJSON *o = cJSON_Parse("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":"
			       "[{\"containerPort\":80},7]}],\"ephemeralContainers\":[{\"name\":\"e\"}],"
			       "\"securityContext\":null,\"dnsPolicy\":\"None\"}}}}");
	defaults_from_schema(message("batch.Job"), o);
	assert_json_eq(o, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":"
			  "[{\"containerPort\":80,\"protocol\":\"TCP\"},7],\"resources\":{},"
			  "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}],"
			  "\"ephemeralContainers\":[{\"name\":\"e\",\"resources\":{},"
			  "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}],"
			  "\"securityContext\":{},\"dnsPolicy\":\"None\",\"terminationGracePeriodSeconds\":30,"
			  "\"schedulerName\":\"default-scheduler\"}},"
			  "\"parallelism\":1,\"backoffLimit\":6,\"completionMode\":\"NonIndexed\",\"suspend\":false}}");
	cJSON_Delete(o);
	/* A CronJob's jobTemplate.spec is a JobSpec too, but SetDefaults_Job
	 * is the Job's: its kdefault= values stay out. */
	o = cJSON_Parse("{\"spec\":{\"jobTemplate\":{\"spec\":{}}}}");
	defaults_from_schema(message("batch.CronJob"), o);
	assert_json_eq(o, "{\"spec\":{\"jobTemplate\":{\"spec\":{}},\"concurrencyPolicy\":\"Allow\",\"suspend\":false,"
			  "\"successfulJobsHistoryLimit\":3,\"failedJobsHistoryLimit\":1}}");
	cJSON_Delete(o);
	/* A default={} parent is created and filled; a wrongly typed one is left. */
	o = cJSON_Parse("{}");
	defaults_from_schema(message("apps.StatefulSet"), o);
	assert_json_eq(o, "{\"spec\":{\"replicas\":1,\"podManagementPolicy\":\"OrderedReady\",\"updateStrategy\":"
			  "{\"type\":\"RollingUpdate\"},\"revisionHistoryLimit\":10,\"persistentVolumeClaimRetentionPolicy\":"
			  "{\"whenDeleted\":\"Retain\",\"whenScaled\":\"Retain\"}}}");
	cJSON_Delete(o);
	o = cJSON_Parse("{\"spec\":[1]}");
	defaults_from_schema(message("apps.StatefulSet"), o);
	assert_json_eq(o, "{\"spec\":[1]}");
	cJSON_Delete(o);
	/* Karmada's (JSON-only messages): the same walker. */
	o = cJSON_Parse("{\"spec\":{\"schedulePriority\":{\"priorityClassName\":\"p\"}}}");
	defaults_from_schema(message("k.PropagationPolicy"), o);
	assert_json_eq(o, "{\"spec\":{\"schedulePriority\":{\"priorityClassName\":\"p\",\"priorityClassSource\":"
			  "\"KubePriorityClass\"},\"priority\":0,\"preemption\":\"Never\",\"schedulerName\":"
			  "\"default-scheduler\",\"conflictResolution\":\"Abort\"}}");
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deployment),
		cmocka_unit_test(test_user_fields_kept),
		cmocka_unit_test(test_image_pull_policy),
		cmocka_unit_test(test_workload_templates),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_namespace_secret),
		cmocka_unit_test(test_karmada),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_crd_kind_untouched),
		cmocka_unit_test(test_schema_walker),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	kinds_shutdown();
	return rc;
}
