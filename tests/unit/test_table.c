#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "kinds.h"
#include "schemacols.h"
#include "table.h"
#include "timefmt.h"

#define NOW ((time_t)1700000000)

static const struct kind_info *kind(const char *group, const char *version, const char *k)
{
	const struct kind_info *ki = kinds_find_kind(group, version, k);
	assert_non_null(ki);
	return ki;
}

/* Parses JSON text with "@AGO:<seconds>@" replaced by the RFC 3339 time
 * that many seconds before NOW. */
static cJSON *obj_from(const char *text)
{
	char out[8192];
	size_t o = 0;
	const char *p = text;
	while (*p && o < sizeof out - 40) {
		if (strncmp(p, "@AGO:", 5) == 0) {
			char *end;
			long s = strtol(p + 5, &end, 10);
			assert_true(*end == '@');
			char ts[40];
			time_rfc3339(NOW - s, ts, sizeof ts);
			o += (size_t)snprintf(out + o, sizeof out - o, "%s", ts);
			p = end + 1;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	cJSON *j = cJSON_Parse(out);
	assert_non_null(j);
	return j;
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

static cJSON *row_cells(const struct kind_info *k, const char *obj_text)
{
	cJSON *obj = obj_from(obj_text);
	cJSON *row = table_row(k, obj, NOW);
	cJSON_Delete(obj);
	cJSON *cells = cJSON_DetachItemFromObjectCaseSensitive(row, "cells");
	cJSON_Delete(row);
	assert_non_null(cells);
	return cells;
}

static void check_cells(const struct kind_info *k, const char *obj_text, const char *want)
{
	cJSON *cells = row_cells(k, obj_text);
	assert_json_eq(cells, want);
	cJSON_Delete(cells);
}

/* "Name,Ready,..." and "1,0,..." priorities for a kind's columns. */
static void check_columns(const struct kind_info *k, const char *names, const char *prio)
{
	cJSON *cols = table_columns(k);
	char got_names[512] = "", got_prio[128] = "";
	const cJSON *c;
	int name_cols = 0;
	cJSON_ArrayForEach(c, cols) {
		const char *n = json_get_str(c, "name");
		const char *fmt = json_get_str(c, "format");
		assert_non_null(n);
		assert_non_null(fmt);
		assert_non_null(json_get_str(c, "type"));
		assert_non_null(json_get_str(c, "description"));
		if (got_names[0])
			strcat(got_names, ",");
		strcat(got_names, n);
		char pbuf[8];
		snprintf(pbuf, sizeof pbuf, "%s%d", got_prio[0] ? "," : "", (int)json_get_num(c, "priority", -1));
		strcat(got_prio, pbuf);
		if (strcmp(n, "Name") == 0) {
			assert_string_equal(fmt, "name");
			name_cols++;
		} else {
			assert_string_equal(fmt, "");
		}
	}
	assert_string_equal(got_names, names);
	assert_string_equal(got_prio, prio);
	assert_int_equal(name_cols, 1);
	cJSON_Delete(cols);
}

static void test_columns(void **state)
{
	(void)state;
	check_columns(kind("", "v1", "PersistentVolumeClaim"), "Name,Age", "0,0");
	check_columns(kind("", "v1", "Namespace"), "Name,Status,Age", "0,0,0");
	check_columns(kind("apps", "v1", "Deployment"),
		      "Name,Ready,Up-to-date,Available,Age,Containers,Images,Selector", "0,0,0,0,0,1,1,1");
	check_columns(kind("apps", "v1", "StatefulSet"), "Name,Ready,Age,Containers,Images", "0,0,0,1,1");
	check_columns(kind("apps", "v1", "DaemonSet"),
		      "Name,Desired,Current,Ready,Up-to-date,Available,Node Selector,Age,Containers,Images,Selector",
		      "0,0,0,0,0,0,0,0,1,1,1");
	check_columns(kind("apps", "v1", "ReplicaSet"),
		      "Name,Desired,Current,Ready,Age,Containers,Images,Selector", "0,0,0,0,0,1,1,1");
	check_columns(kind("", "v1", "Service"), "Name,Type,Cluster-IP,External-IP,Port(s),Age,Selector",
		      "0,0,0,0,0,0,1");
	check_columns(kind("", "v1", "ConfigMap"), "Name,Data,Age", "0,0,0");
	check_columns(kind("", "v1", "Secret"), "Name,Type,Data,Age", "0,0,0,0");
	check_columns(kind("", "v1", "ServiceAccount"), "Name,Secrets,Age", "0,0,0");
	check_columns(kind("", "v1", "Event"),
		      "Last Seen,Type,Reason,Object,Subobject,Source,Message,First Seen,Count,Name",
		      "0,0,0,0,1,1,0,1,1,1");
	check_columns(kind("", "v1", "Pod"),
		      "Name,Ready,Status,Restarts,Age,IP,Node,Nominated Node,Readiness Gates", "0,0,0,0,0,1,1,1,1");
	check_columns(kind("", "v1", "Endpoints"), "Name,Endpoints,Age", "0,0,0");
	check_columns(kind("", "v1", "Node"),
		      "Name,Status,Roles,Age,Version,Internal-IP,External-IP,OS-Image,Kernel-Version,Container-Runtime",
		      "0,0,0,0,0,1,1,1,1,1");
	check_columns(kind("batch", "v1", "Job"),
		      "Name,Status,Completions,Duration,Age,Containers,Images,Selector", "0,0,0,0,0,1,1,1");
	check_columns(kind("batch", "v1", "CronJob"),
		      "Name,Schedule,Timezone,Suspend,Active,Last Schedule,Age,Containers,Images,Selector",
		      "0,0,0,0,0,0,0,1,1,1");
	check_columns(kind("networking.k8s.io", "v1", "Ingress"), "Name,Class,Hosts,Address,Ports,Age", "0,0,0,0,0,0");
	check_columns(kind("coordination.k8s.io", "v1", "Lease"), "Name,Holder,Age", "0,0,0");
	check_columns(kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition"), "Name,Created At", "0,0");
	/* kubectl get clusters -o wide: NAME VERSION MODE READY AGE ZONES REGION PROVIDER API-ENDPOINT PROXY-URL */
	check_columns(kind("cluster.karmada.io", "v1alpha1", "Cluster"),
		      "Name,Version,Mode,Ready,Age,Zones,Region,Provider,API-Endpoint,Proxy-URL",
		      "0,0,0,0,0,1,1,1,1,1");
	check_columns(kind("policy.karmada.io", "v1alpha1", "PropagationPolicy"),
		      "Name,Conflict-Resolution,Priority,Age", "0,0,0,0");
	check_columns(kind("policy.karmada.io", "v1alpha1", "ClusterPropagationPolicy"),
		      "Name,Conflict-Resolution,Priority,Age", "0,0,0,0");
	check_columns(kind("policy.karmada.io", "v1alpha1", "OverridePolicy"), "Name,Age", "0,0");
	check_columns(kind("work.karmada.io", "v1alpha1", "Work"), "Name,Workload-Kind,Applied,Age", "0,0,0,0");
	check_columns(kind("work.karmada.io", "v1alpha2", "ResourceBinding"),
		      "Name,Scheduled,FullyApplied,Age", "0,0,0,0");
	check_columns(NULL, "Name,Age", "0,0");
}

static void test_deployment_row(void **state)
{
	(void)state;
	const struct kind_info *k = kind("apps", "v1", "Deployment");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"hello\",\"creationTimestamp\":\"@AGO:300@\"},"
		    "\"spec\":{\"replicas\":10,\"selector\":{\"matchLabels\":{\"tier\":\"web\",\"app\":\"hello\"}},"
		    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"hello\",\"image\":\"nginx:1.25\"},"
		    "{\"name\":\"side\",\"image\":\"busybox\"}]}}},"
		    "\"status\":{\"readyReplicas\":3,\"updatedReplicas\":10,\"availableReplicas\":3}}",
		    "[\"hello\",\"3/10\",10,3,\"5m\",\"hello,side\",\"nginx:1.25,busybox\",\"app=hello,tier=web\"]");
	/* no status, no replicas: zeros; unknown age */
	check_cells(k, "{\"metadata\":{\"name\":\"x\"}}", "[\"x\",\"0/0\",0,0,\"<unknown>\",\"\",\"\",\"\"]");
	/* match expressions, sorted by key, values sorted */
	check_cells(k,
		    "{\"metadata\":{\"name\":\"x\",\"creationTimestamp\":\"@AGO:59@\"},\"spec\":{\"selector\":{"
		    "\"matchLabels\":{\"b\":\"1\"},\"matchExpressions\":["
		    "{\"key\":\"z\",\"operator\":\"NotIn\",\"values\":[\"q\",\"p\"]},"
		    "{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"y\",\"x\"]},"
		    "{\"key\":\"c\",\"operator\":\"Exists\"},{\"key\":\"d\",\"operator\":\"DoesNotExist\"}]}}}",
		    "[\"x\",\"0/0\",0,0,\"59s\",\"\",\"\",\"a in (x,y),b=1,c,!d,z notin (p,q)\"]");
}

static void test_other_workloads(void **state)
{
	(void)state;
	check_cells(kind("apps", "v1", "StatefulSet"),
		    "{\"metadata\":{\"name\":\"db\",\"creationTimestamp\":\"@AGO:7200@\"},\"spec\":{\"replicas\":3,"
		    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"pg\",\"image\":\"postgres:16\"}]}}},"
		    "\"status\":{\"readyReplicas\":2}}",
		    "[\"db\",\"2/3\",\"120m\",\"pg\",\"postgres:16\"]");
	check_cells(kind("apps", "v1", "DaemonSet"),
		    "{\"metadata\":{\"name\":\"ds\",\"creationTimestamp\":\"@AGO:90000@\"},\"spec\":{"
		    "\"selector\":{\"matchLabels\":{\"app\":\"ds\"}},"
		    "\"template\":{\"spec\":{\"nodeSelector\":{\"kubernetes.io/os\":\"linux\"},"
		    "\"containers\":[{\"name\":\"a\",\"image\":\"b\"}]}}},"
		    "\"status\":{\"desiredNumberScheduled\":3,\"currentNumberScheduled\":3,\"numberReady\":2,"
		    "\"updatedNumberScheduled\":3,\"numberAvailable\":2}}",
		    "[\"ds\",3,3,2,3,2,\"kubernetes.io/os=linux\",\"25h\",\"a\",\"b\",\"app=ds\"]");
	check_cells(kind("apps", "v1", "ReplicaSet"),
		    "{\"metadata\":{\"name\":\"rs\",\"creationTimestamp\":\"@AGO:10@\"},\"spec\":{\"replicas\":2},"
		    "\"status\":{\"replicas\":2,\"readyReplicas\":1}}",
		    "[\"rs\",2,2,1,\"10s\",\"\",\"\",\"\"]");
	check_cells(kind("batch", "v1", "Job"),
		    "{\"metadata\":{\"name\":\"j\",\"creationTimestamp\":\"@AGO:600@\"},\"spec\":{\"completions\":1},"
		    "\"status\":{\"succeeded\":1,\"startTime\":\"@AGO:600@\",\"completionTime\":\"@AGO:590@\","
		    "\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\"}]}}",
		    "[\"j\",\"Complete\",\"1/1\",\"10s\",\"10m\",\"\",\"\",\"\"]");
	check_cells(kind("batch", "v1", "Job"),
		    "{\"metadata\":{\"name\":\"j\",\"creationTimestamp\":\"@AGO:5@\"},\"spec\":{\"parallelism\":3},"
		    "\"status\":{\"startTime\":\"@AGO:5@\"}}",
		    "[\"j\",\"Running\",\"0/1 of 3\",\"5s\",\"5s\",\"\",\"\",\"\"]");
	check_cells(kind("batch", "v1", "CronJob"),
		    "{\"metadata\":{\"name\":\"c\",\"creationTimestamp\":\"@AGO:3600@\"},\"spec\":{\"schedule\":\"*/5 * * * *\","
		    "\"suspend\":false,\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"containers\":"
		    "[{\"name\":\"x\",\"image\":\"y\"}]}}}}},\"status\":{\"active\":[{}],\"lastScheduleTime\":\"@AGO:120@\"}}",
		    "[\"c\",\"*/5 * * * *\",\"<none>\",\"False\",1,\"2m\",\"60m\",\"x\",\"y\",\"\"]");
	check_cells(kind("batch", "v1", "CronJob"), "{\"metadata\":{\"name\":\"c\"}}",
		    "[\"c\",\"\",\"<none>\",\"<unset>\",0,\"<none>\",\"<unknown>\",\"\",\"\",\"\"]");
}

static void test_service_row(void **state)
{
	(void)state;
	const struct kind_info *k = kind("", "v1", "Service");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"hello\",\"creationTimestamp\":\"@AGO:120@\"},\"spec\":{"
		    "\"clusterIP\":\"10.96.0.7\",\"ports\":[{\"port\":5000,\"protocol\":\"TCP\"}],"
		    "\"selector\":{\"app\":\"hello\"}}}",
		    "[\"hello\",\"ClusterIP\",\"10.96.0.7\",\"<none>\",\"5000/TCP\",\"2m\",\"app=hello\"]");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"np\"},\"spec\":{\"type\":\"NodePort\",\"clusterIPs\":[\"10.96.0.8\"],"
		    "\"ports\":[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"},"
		    "{\"port\":443}],\"externalIPs\":[\"1.2.3.4\"]}}",
		    "[\"np\",\"NodePort\",\"10.96.0.8\",\"1.2.3.4\",\"80:30080/TCP,53/UDP,443/TCP\",\"<unknown>\",\"<none>\"]");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.9\"},"
		    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"5.6.7.8\"},{\"hostname\":\"a.example\"},{\"ip\":\"5.6.7.8\"}]}}}",
		    "[\"lb\",\"LoadBalancer\",\"10.96.0.9\",\"5.6.7.8,a.example\",\"<none>\",\"<unknown>\",\"<none>\"]");
	check_cells(k, "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\"}}",
		    "[\"lb\",\"LoadBalancer\",\"<none>\",\"<pending>\",\"<none>\",\"<unknown>\",\"<none>\"]");
	check_cells(k, "{\"metadata\":{\"name\":\"en\"},\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example\"}}",
		    "[\"en\",\"ExternalName\",\"<none>\",\"db.example\",\"<none>\",\"<unknown>\",\"<none>\"]");
}

static void test_core_rows(void **state)
{
	(void)state;
	check_cells(kind("", "v1", "Namespace"), "{\"metadata\":{\"name\":\"default\",\"creationTimestamp\":\"@AGO:86400@\"}}",
		    "[\"default\",\"Active\",\"24h\"]");
	check_cells(kind("", "v1", "Namespace"), "{\"metadata\":{\"name\":\"x\"},\"status\":{\"phase\":\"Terminating\"}}",
		    "[\"x\",\"Terminating\",\"<unknown>\"]");
	check_cells(kind("", "v1", "ConfigMap"),
		    "{\"metadata\":{\"name\":\"cm\"},\"data\":{\"a\":\"1\",\"b\":\"2\"},\"binaryData\":{\"c\":\"AA==\"}}",
		    "[\"cm\",3,\"<unknown>\"]");
	check_cells(kind("", "v1", "Secret"), "{\"metadata\":{\"name\":\"s\"},\"type\":\"kubernetes.io/tls\",\"data\":{\"a\":\"\"}}",
		    "[\"s\",\"kubernetes.io/tls\",1,\"<unknown>\"]");
	check_cells(kind("", "v1", "ServiceAccount"), "{\"metadata\":{\"name\":\"default\"},\"secrets\":[{\"name\":\"t\"}]}",
		    "[\"default\",1,\"<unknown>\"]");
	check_cells(kind("", "v1", "Endpoints"),
		    "{\"metadata\":{\"name\":\"e\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"},{\"ip\":\"10.0.0.2\"},"
		    "{\"ip\":\"fd00::1\"},{\"ip\":\"10.0.0.4\"}],\"ports\":[{\"port\":80}]}]}",
		    "[\"e\",\"10.0.0.1:80,10.0.0.2:80,[fd00::1]:80 + 1 more...\",\"<unknown>\"]");
	check_cells(kind("", "v1", "Endpoints"), "{\"metadata\":{\"name\":\"e\"}}", "[\"e\",\"<none>\",\"<unknown>\"]");
	check_cells(kind("coordination.k8s.io", "v1", "Lease"),
		    "{\"metadata\":{\"name\":\"l\"},\"spec\":{\"holderIdentity\":\"agent-1\"}}", "[\"l\",\"agent-1\",\"<unknown>\"]");
	check_cells(kind("networking.k8s.io", "v1", "Ingress"),
		    "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"ingressClassName\":\"nginx\",\"rules\":[{\"host\":\"a\"},"
		    "{\"host\":\"b\"},{},{\"host\":\"c\"},{\"host\":\"d\"}],\"tls\":[{}]},"
		    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"1.1.1.1\"}]}}}",
		    "[\"i\",\"nginx\",\"a,b,c + 2 more...\",\"1.1.1.1\",\"80, 443\",\"<unknown>\"]");
	check_cells(kind("networking.k8s.io", "v1", "Ingress"), "{\"metadata\":{\"name\":\"i\"}}",
		    "[\"i\",\"<none>\",\"*\",\"\",\"80\",\"<unknown>\"]");
	check_cells(kind("", "v1", "Node"),
		    "{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":\"@AGO:3@\",\"labels\":{"
		    "\"node-role.kubernetes.io/control-plane\":\"\",\"kubernetes.io/role\":\"master\"}},"
		    "\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}],"
		    "\"nodeInfo\":{\"kubeletVersion\":\"v1.31.0\",\"osImage\":\"Debian\"},"
		    "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.1.2\"}]}}",
		    "[\"n1\",\"NotReady,SchedulingDisabled\",\"control-plane,master\",\"3s\",\"v1.31.0\","
		    "\"192.168.1.2\",\"<none>\",\"Debian\",\"<unknown>\",\"<unknown>\"]");
	check_cells(kind("", "v1", "Node"), "{\"metadata\":{\"name\":\"n\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		    "[\"n\",\"Ready\",\"<none>\",\"<unknown>\",\"\",\"<none>\",\"<none>\",\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
	check_cells(kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
		    "{\"metadata\":{\"name\":\"foos.example.com\",\"creationTimestamp\":\"2024-05-01T10:00:00.123Z\"}}",
		    "[\"foos.example.com\",\"2024-05-01T10:00:00Z\"]");
}

static void test_event_row(void **state)
{
	(void)state;
	const struct kind_info *k = kind("", "v1", "Event");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"hello.17a8c\",\"creationTimestamp\":\"@AGO:600@\"},"
		    "\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"hello\"},\"reason\":\"ScalingReplicaSet\","
		    "\"message\":\" Scaled up replica set hello-1 to 2\\n\",\"type\":\"Normal\","
		    "\"source\":{\"component\":\"deployment-controller\"},\"firstTimestamp\":\"@AGO:600@\","
		    "\"lastTimestamp\":\"@AGO:121@\",\"count\":3}",
		    "[\"2m1s\",\"Normal\",\"ScalingReplicaSet\",\"deployment/hello\",\"\",\"deployment-controller\","
		    "\"Scaled up replica set hello-1 to 2\",\"10m\",3,\"hello.17a8c\"]");
	/* eventTime only, no count; then nothing but creation */
	check_cells(k,
		    "{\"metadata\":{\"name\":\"e\"},\"involvedObject\":{\"kind\":\"Cluster\"},"
		    "\"eventTime\":\"@AGO:30@\",\"reportingComponent\":\"karmada\",\"reportingInstance\":\"hub-0\"}",
		    "[\"30s\",\"\",\"\",\"cluster\",\"\",\"karmada, hub-0\",\"\",\"30s\",1,\"e\"]");
	check_cells(k, "{\"metadata\":{\"name\":\"e\",\"creationTimestamp\":\"@AGO:45@\"}}",
		    "[\"45s\",\"\",\"\",\"\",\"\",\"\",\"\",\"45s\",1,\"e\"]");
	check_cells(k, "{}", "[\"<unknown>\",\"\",\"\",\"\",\"\",\"\",\"\",\"<unknown>\",1,\"\"]");
}

static void test_pod_row(void **state)
{
	(void)state;
	const struct kind_info *k = kind("", "v1", "Pod");
	/* no status: spec container count, 0 ready, Pending */
	check_cells(k,
		    "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"@AGO:5@\"},\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
		    "[\"p\",\"0/2\",\"Pending\",\"0\",\"5s\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
		    "\"readinessGates\":[{\"conditionType\":\"x\"}]},"
		    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.0.5\",\"conditions\":[{\"type\":\"x\",\"status\":\"True\"}],"
		    "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":2,\"state\":{\"running\":{}},"
		    "\"lastState\":{\"terminated\":{\"finishedAt\":\"@AGO:300@\"}}},"
		    "{\"name\":\"b\",\"ready\":false,\"restartCount\":1,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}",
		    "[\"p\",\"1/2\",\"CrashLoopBackOff\",\"3 (5m ago)\",\"<unknown>\",\"10.1.0.5\",\"n1\",\"<none>\",\"1/1\"]");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"initContainers\":[{\"name\":\"i\"}],\"containers\":[{\"name\":\"a\"}]},"
		    "\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"i\",\"state\":{\"running\":{}}}]}}",
		    "[\"p\",\"0/1\",\"Init:0/1\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"p\",\"deletionTimestamp\":\"@AGO:1@\"},\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
		    "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"state\":{\"running\":{}}}]}}",
		    "[\"p\",\"1/1\",\"Terminating\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

static void test_cluster_row(void **state)
{
	(void)state;
	const struct kind_info *k = kind("cluster.karmada.io", "v1alpha1", "Cluster");
	check_cells(k,
		    "{\"metadata\":{\"name\":\"member1\",\"creationTimestamp\":\"@AGO:300@\"},"
		    "\"spec\":{\"syncMode\":\"Pull\",\"zones\":[\"z1\",\"z2\"],\"region\":\"eu\",\"provider\":\"kind\","
		    "\"apiEndpoint\":\"https://1.2.3.4:6443\"},"
		    "\"status\":{\"kubernetesVersion\":\"v1.31.0\",\"conditions\":["
		    "{\"type\":\"CompleteAPIEnablements\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		    "[\"member1\",\"v1.31.0\",\"Pull\",\"True\",\"5m\",\"z1,z2\",\"eu\",\"kind\",\"https://1.2.3.4:6443\",\"<none>\"]");
	check_cells(k, "{\"metadata\":{\"name\":\"m2\"},\"spec\":{\"syncMode\":\"Push\",\"zone\":\"old\",\"proxyURL\":\"http://p:3128\"}}",
		    "[\"m2\",\"\",\"Push\",\"Unknown\",\"<unknown>\",\"old\",\"\",\"\",\"\",\"http://p:3128\"]");
	check_cells(k, "{\"metadata\":{\"name\":\"m3\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}",
		    "[\"m3\",\"\",\"\",\"False\",\"<unknown>\",\"<none>\",\"\",\"\",\"\",\"<none>\"]");
}

static void test_karmada_rows(void **state)
{
	(void)state;
	check_cells(kind("policy.karmada.io", "v1alpha1", "PropagationPolicy"),
		    "{\"metadata\":{\"name\":\"pp\"},\"spec\":{}}", "[\"pp\",\"Abort\",0,\"<unknown>\"]");
	check_cells(kind("policy.karmada.io", "v1alpha1", "ClusterPropagationPolicy"),
		    "{\"metadata\":{\"name\":\"cpp\"},\"spec\":{\"conflictResolution\":\"Overwrite\",\"priority\":5}}",
		    "[\"cpp\",\"Overwrite\",5,\"<unknown>\"]");
	check_cells(kind("policy.karmada.io", "v1alpha1", "ClusterOverridePolicy"),
		    "{\"metadata\":{\"name\":\"op\",\"creationTimestamp\":\"@AGO:1@\"}}", "[\"op\",\"1s\"]");
	check_cells(kind("work.karmada.io", "v1alpha1", "Work"),
		    "{\"metadata\":{\"name\":\"w\"},\"spec\":{\"workload\":{\"manifests\":[{\"kind\":\"Deployment\"},{\"kind\":\"Service\"}]}},"
		    "\"status\":{\"conditions\":[{\"type\":\"Applied\",\"status\":\"True\"}]}}",
		    "[\"w\",\"Deployment\",\"True\",\"<unknown>\"]");
	check_cells(kind("work.karmada.io", "v1alpha1", "Work"), "{\"metadata\":{\"name\":\"w\"}}",
		    "[\"w\",\"\",\"\",\"<unknown>\"]");
	check_cells(kind("work.karmada.io", "v1alpha2", "ResourceBinding"),
		    "{\"metadata\":{\"name\":\"hello-deployment\"},\"status\":{\"conditions\":["
		    "{\"type\":\"Scheduled\",\"status\":\"True\"},{\"type\":\"FullyApplied\",\"status\":\"False\"}]}}",
		    "[\"hello-deployment\",\"True\",\"False\",\"<unknown>\"]");
}

static void test_partial_metadata(void **state)
{
	(void)state;
	cJSON *obj = obj_from(
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\",\"namespace\":\"default\","
		"\"uid\":\"u-1\",\"resourceVersion\":\"120\",\"generation\":2,\"creationTimestamp\":\"2024-05-01T10:00:00Z\","
		"\"labels\":{\"app\":\"hello\"},\"managedFields\":[{}],\"annotations\":{"
		"\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\",\"note\":\"x\"}},\"spec\":{}}");
	cJSON *row = table_row(kind("apps", "v1", "Deployment"), obj, NOW);
	assert_json_eq(cJSON_GetObjectItemCaseSensitive(row, "object"),
		       "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{"
		       "\"name\":\"hello\",\"namespace\":\"default\",\"uid\":\"u-1\",\"resourceVersion\":\"120\","
		       "\"generation\":2,\"creationTimestamp\":\"2024-05-01T10:00:00Z\",\"labels\":{\"app\":\"hello\"},"
		       "\"annotations\":{\"note\":\"x\"}}}");
	cJSON_Delete(row);
	cJSON_Delete(obj);

	/* only the last-applied annotation: no annotations key at all */
	obj = obj_from("{\"metadata\":{\"name\":\"a\",\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}}}");
	row = table_row(kind("", "v1", "ConfigMap"), obj, NOW);
	assert_json_eq(cJSON_GetObjectItemCaseSensitive(row, "object"),
		       "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{\"name\":\"a\"}}");
	cJSON_Delete(row);
	cJSON_Delete(obj);
}

static void test_build(void **state)
{
	(void)state;
	const struct kind_info *k = kind("", "v1", "ConfigMap");
	cJSON *items = obj_from("[{\"metadata\":{\"name\":\"a\",\"creationTimestamp\":\"@AGO:5@\"}},"
				"{\"metadata\":{\"name\":\"b\",\"creationTimestamp\":\"@AGO:6@\"},\"data\":{\"k\":\"v\"}}]");
	cJSON *t = table_build(k, items, "123", NOW);
	assert_string_equal(json_get_str(t, "kind"), "Table");
	assert_string_equal(json_get_str(t, "apiVersion"), "meta.k8s.io/v1");
	assert_string_equal(json_get_str(t, "metadata.resourceVersion"), "123");
	assert_int_equal(cJSON_GetArraySize(json_get(t, "columnDefinitions")), 3);
	cJSON *rows = json_get(t, "rows");
	assert_int_equal(cJSON_GetArraySize(rows), 2);
	assert_json_eq(json_get(cJSON_GetArrayItem(rows, 1), "cells"), "[\"b\",1,\"6s\"]");
	cJSON_Delete(t);
	cJSON_Delete(items);

	/* not an array, no RV: an empty table */
	t = table_build(k, NULL, NULL, NOW);
	assert_int_equal(cJSON_GetArraySize(json_get(t, "rows")), 0);
	assert_true(cJSON_IsArray(json_get(t, "rows")));
	assert_null(json_get(t, "metadata.resourceVersion"));
	cJSON_Delete(t);
	items = obj_from("{\"a\":{\"metadata\":{\"name\":\"x\"}}}");
	t = table_build(k, items, "1", NOW);
	assert_int_equal(cJSON_GetArraySize(json_get(t, "rows")), 0);
	cJSON_Delete(t);
	cJSON_Delete(items);
}

/* Every layout, with absent, wrongly typed and absurd input: a row with
 * exactly one cell per column and no crash (ASan/UBSan builds check). */
static void test_hostile_objects(void **state)
{
	(void)state;
	static const char *const objs[] = {
		"null", "\"str\"", "[1,2]", "{}", "{\"metadata\":\"x\",\"spec\":[],\"status\":7}",
		"{\"metadata\":{\"name\":5,\"creationTimestamp\":\"not-a-time\",\"labels\":\"x\","
		"\"annotations\":[1],\"deletionTimestamp\":null},"
		"\"spec\":{\"replicas\":1e300,\"type\":7,\"ports\":{\"a\":1},\"containers\":\"x\",\"zones\":{\"a\":\"b\"},"
		"\"template\":{\"spec\":{\"containers\":[1,\"x\",{\"name\":3,\"image\":[]}],\"nodeSelector\":[\"a\"]}},"
		"\"selector\":{\"matchLabels\":[1],\"matchExpressions\":[{\"key\":1},{\"key\":\"a\",\"operator\":\"In\",\"values\":\"x\"},"
		"{\"key\":\"b\",\"operator\":\"NotIn\",\"values\":[1,\"z\"]},7]},"
		"\"rules\":{\"host\":\"a\"},\"tls\":\"x\",\"readinessGates\":[7,{\"conditionType\":9}],\"completions\":-1e300,"
		"\"workload\":{\"manifests\":{\"kind\":\"x\"}},\"suspend\":\"yes\",\"initContainers\":[5]},"
		"\"status\":{\"conditions\":{\"type\":\"Ready\"},\"readyReplicas\":-1e300,"
		"\"containerStatuses\":[{\"state\":\"x\",\"restartCount\":1e300,\"lastState\":[]},5,"
		"{\"state\":{\"terminated\":{\"exitCode\":\"x\",\"signal\":1e300}}}],"
		"\"initContainerStatuses\":[{\"state\":{\"terminated\":{\"exitCode\":1}}}],"
		"\"loadBalancer\":{\"ingress\":[1,{\"ip\":3}]},\"addresses\":\"x\",\"active\":\"x\",\"startTime\":5},"
		"\"subsets\":[{\"addresses\":{\"ip\":\"1\"},\"ports\":[{\"port\":\"x\"}]},{\"addresses\":[{\"ip\":7}]}],"
		"\"involvedObject\":[],\"series\":{\"count\":\"x\"},\"source\":7,\"message\":3,\"data\":\"x\",\"secrets\":{}}",
		("{\"metadata\":{\"name\":\"n\",\"creationTimestamp\":\"2999-01-01T00:00:00Z\"},"
		 "\"status\":{\"conditions\":[null,{\"type\":null},{\"type\":\"Ready\",\"status\":5}]}}"),
	};
	for (int t = TL_DEFAULT; t <= TL_REPLICASET + 1; t++) {
		struct kind_info ki = {0};
		ki.group = "";
		ki.version = "v1";
		ki.kind = "X";
		ki.plural = "xs";
		ki.table = (enum table_layout)t;
		cJSON *cols = table_columns(&ki);
		int ncols = cJSON_GetArraySize(cols);
		assert_true(ncols >= 2);
		for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
			cJSON *obj = cJSON_Parse(objs[i]);
			assert_non_null(obj);
			cJSON *row = table_row(&ki, obj, NOW);
			cJSON *cells = json_get(row, "cells");
			assert_int_equal(cJSON_GetArraySize(cells), ncols);
			const cJSON *c;
			cJSON_ArrayForEach(c, cells) assert_true(cJSON_IsString(c) || cJSON_IsNumber(c) || cJSON_IsBool(c));
			assert_string_equal(json_get_str(row, "object.kind"), "PartialObjectMetadata");
			cJSON_Delete(row);
			cJSON_Delete(obj);
		}
		cJSON *row = table_row(&ki, NULL, NOW);
		assert_int_equal(cJSON_GetArraySize(json_get(row, "cells")), ncols);
		cJSON_Delete(row);
		cJSON_Delete(cols);
	}
}

/* Columns are data (columns.schema): every layout's sources resolve and a
 * row has one cell per column, for every served kind; the generic JSONPath
 * renderer: list filters (an empty status found stays empty), "[*]" joins,
 * defaults for absent, empty or wrongly typed strings, integers and
 * booleans by the column's type. */
static void test_columns_as_data(void **state)
{
	(void)state;
	kinds_init();
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		cJSON *cols = table_columns(k);
		cJSON *cells = row_cells(k, "{}");
		assert_true(cJSON_GetArraySize(cols) >= 2);
		assert_int_equal(cJSON_GetArraySize(cols), cJSON_GetArraySize(cells));
		cJSON_Delete(cols);
		cJSON_Delete(cells);
	}
	for (int t = 0; t < sch_table_layouts_count; t++)
		assert_non_null(sch_table_layouts[t]);
	const struct kind_info *cl = kind("cluster.karmada.io", "v1alpha1", "Cluster");
	cJSON *c = row_cells(cl, "{\"metadata\":{\"name\":\"m\"},\"spec\":{\"syncMode\":\"Pull\",\"region\":7},\"status\":"
				 "{\"conditions\":[{\"type\":\"Other\",\"status\":\"x\"},{\"type\":\"Ready\",\"status\":\"False\"},"
				 "{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	assert_string_equal(cJSON_GetArrayItem(c, 2)->valuestring, "Pull");
	assert_string_equal(cJSON_GetArrayItem(c, 3)->valuestring, "False");
	cJSON_Delete(c);
	c = row_cells(cl, "{\"status\":{\"conditions\":[{\"type\":\"Other\"}]}}");
	assert_string_equal(cJSON_GetArrayItem(c, 3)->valuestring, "Unknown");
	cJSON_Delete(c);
	c = row_cells(cl, "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"\"}]}}");
	assert_string_equal(cJSON_GetArrayItem(c, 3)->valuestring, "");
	cJSON_Delete(c);
	const struct kind_info *si = kind("multicluster.x-k8s.io", "v1alpha1", "ServiceImport");
	c = row_cells(si, "{\"spec\":{\"type\":\"ClusterSetIP\",\"ips\":[\"10.0.0.1\",7,\"10.0.0.2\"]}}");
	assert_string_equal(cJSON_GetArrayItem(c, 1)->valuestring, "ClusterSetIP");
	assert_string_equal(cJSON_GetArrayItem(c, 2)->valuestring, "10.0.0.1,10.0.0.2");
	cJSON_Delete(c);
	const struct kind_info *ns = kind("", "v1", "Namespace");
	c = row_cells(ns, "{\"status\":{\"phase\":\"\"}}");
	assert_string_equal(cJSON_GetArrayItem(c, 1)->valuestring, "Active");
	cJSON_Delete(c);
	c = row_cells(ns, "{\"status\":{\"phase\":[\"Terminating\"]}}");
	assert_string_equal(cJSON_GetArrayItem(c, 1)->valuestring, "Active");
	cJSON_Delete(c);
	const struct kind_info *pc = kind("scheduling.k8s.io", "v1", "PriorityClass");
	c = row_cells(pc, "{\"value\":\"9\",\"globalDefault\":true}");
	assert_int_equal(cJSON_GetArrayItem(c, 1)->valueint, 0);
	assert_true(cJSON_IsTrue(cJSON_GetArrayItem(c, 2)));
	cJSON_Delete(c);
}

/* A CRD's additionalPrinterColumns: NAME then its columns in order (no
 * AGE unless listed), each cell from its jsonPath; an absent value is a
 * null cell, a string column of an object its JSON; a CRD without columns
 * keeps NAME AGE; unregistering frees them. */
static void test_crd_printer_columns(void **state)
{
	(void)state;
	kinds_init();
	char err[256];
	cJSON *crd = cJSON_Parse(
		"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
		"\"metadata\":{\"name\":\"guestbooks.webapp.my.domain\"},\"spec\":{\"group\":\"webapp.my.domain\","
		"\"scope\":\"Namespaced\",\"names\":{\"plural\":\"guestbooks\",\"kind\":\"Guestbook\"},"
		"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"additionalPrinterColumns\":["
		"{\"name\":\"Size\",\"type\":\"integer\",\"jsonPath\":\".spec.size\"},"
		"{\"name\":\"Phase\",\"type\":\"string\",\"jsonPath\":\".status.phase\",\"priority\":1,\"description\":\"the phase\"},"
		"{\"name\":\"Owner\",\"type\":\"string\",\"jsonPath\":\".spec.owner\"},"
		"{\"name\":\"Age\",\"type\":\"date\",\"jsonPath\":\".metadata.creationTimestamp\"}]},"
		"{\"name\":\"v2\",\"served\":true,\"storage\":false}]}}");
	assert_int_equal(kinds_register_crd(crd, err, sizeof err), 0);
	cJSON_Delete(crd);

	const struct kind_info *k = kind("webapp.my.domain", "v1", "Guestbook");
	cJSON *cols = table_columns(k);
	assert_int_equal(cJSON_GetArraySize(cols), 5);
	const char *names[] = {"Name", "Size", "Phase", "Owner", "Age"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(json_get_str(cJSON_GetArrayItem(cols, i), "name"), names[i]);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cols, 2), "priority")->valueint, 1);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cols, 2), "description"), "the phase");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cols, 0), "format"), "name");
	cJSON_Delete(cols);

	cJSON *o = obj_from("{\"metadata\":{\"name\":\"gb\",\"creationTimestamp\":\"@AGO:7200@\"},"
			    "\"spec\":{\"size\":3,\"owner\":{\"team\":\"a\"}}}");
	cJSON *row = table_row(k, o, NOW);
	cJSON *cells = cJSON_GetObjectItemCaseSensitive(row, "cells");
	assert_int_equal(cJSON_GetArraySize(cells), 5);
	assert_string_equal(cJSON_GetArrayItem(cells, 0)->valuestring, "gb");
	assert_int_equal(cJSON_GetArrayItem(cells, 1)->valueint, 3);
	assert_true(cJSON_IsNull(cJSON_GetArrayItem(cells, 2)));
	assert_string_equal(cJSON_GetArrayItem(cells, 3)->valuestring, "{\"team\":\"a\"}");
	assert_string_equal(cJSON_GetArrayItem(cells, 4)->valuestring, "120m");
	cJSON_Delete(row);

	/* v2 lists no columns: the default layout. */
	cols = table_columns(kind("webapp.my.domain", "v2", "Guestbook"));
	assert_int_equal(cJSON_GetArraySize(cols), 2);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cols, 1), "name"), "Age");
	cJSON_Delete(cols);
	cJSON_Delete(o);
	kinds_unregister_crd("guestbooks.webapp.my.domain");
	assert_null(kinds_find_kind("webapp.my.domain", "v1", "Guestbook"));
	kinds_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_deployment_row),
		cmocka_unit_test(test_other_workloads),
		cmocka_unit_test(test_service_row),
		cmocka_unit_test(test_core_rows),
		cmocka_unit_test(test_event_row),
		cmocka_unit_test(test_pod_row),
		cmocka_unit_test(test_cluster_row),
		cmocka_unit_test(test_karmada_rows),
		cmocka_unit_test(test_partial_metadata),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_hostile_objects),
		cmocka_unit_test(test_columns_as_data),
		cmocka_unit_test(test_crd_printer_columns),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	kinds_shutdown();
	return rc;
}
