/* test_sim_podtemplate — the simulator's pure pod helpers: FNV-1a,
 * safe encoding, pod-template-hash, pods from templates, node choice, the
 * simulated kubelet's pod statuses, nodes and kubeconfig text.
 * The sim sources are compiled into this test (they are not in the
 * libraries the Makefile links). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "jsonutil.h"
#include "sim_kubeconfig.c"
#include "sim_kubelet.c"
#include "sim_nodes.c"
#include "sim_podtemplate.c"

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	assert_non_null(j);
	return j;
}

static void test_fnv_and_safe_encode(void **state)
{
	assert_int_equal(sim_fnv32a("", 0, SIM_FNV32_OFFSET), 0x811c9dc5u);
	assert_int_equal(sim_fnv32a("a", 1, SIM_FNV32_OFFSET), 0xe40c292cu);
	assert_int_equal(sim_fnv32a("foobar", 6, SIM_FNV32_OFFSET), 0xbf9cf968u);
	char out[16];
	/* Kubernetes maps the decimal digits onto "456789bcdf". */
	sim_safe_encode("0123456789", out, sizeof out);
	assert_string_equal(out, "456789bcdf");
	sim_safe_encode("0123456789", out, 4);
	assert_string_equal(out, "456");
}

static const char TMPL[] =
    "{\"metadata\":{\"labels\":{\"app\":\"hello\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"hello\",\"image\":\"stefanprodan/podinfo\"}]}}";
static const char TMPL_REORDERED[] =
    "{\"spec\":{\"containers\":[{\"image\":\"stefanprodan/podinfo\",\"name\":\"hello\"}]},"
    "\"metadata\":{\"labels\":{\"app\":\"hello\"}}}";

static void test_pod_template_hash(void **state)
{
	cJSON *a = parse(TMPL), *b = parse(TMPL_REORDERED);
	char ha[16], hb[16], hc[16];
	sim_pod_template_hash(a, 0, ha, sizeof ha);
	sim_pod_template_hash(b, 0, hb, sizeof hb);
	assert_string_equal(ha, hb); /* key order never changes the hash */
	assert_true(strlen(ha) >= 1 && strlen(ha) <= 10);
	assert_int_equal(strspn(ha, "456789bcdf"), strlen(ha));
	sim_pod_template_hash(a, 1, hc, sizeof hc);
	assert_string_not_equal(ha, hc); /* collisionCount moves it */

	json_set_str(cJSON_GetArrayItem(json_get(b, "spec.containers"), 0), "image", "stefanprodan/podinfo:6.5.0");
	sim_pod_template_hash(b, 0, hb, sizeof hb);
	assert_string_not_equal(ha, hb);
	assert_false(sim_template_equal_ignore_hash(a, b));

	/* The hash label itself is ignored when comparing templates. */
	cJSON *c = parse(TMPL);
	json_set_str(json_ensure_obj(c, "metadata.labels"), POD_TEMPLATE_HASH_LABEL, ha);
	assert_true(sim_template_equal_ignore_hash(a, c));
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
}

static void test_canonical_sorts_nested_keys(void **state)
{
	cJSON *j = parse("{\"b\":1,\"a\":{\"z\":[{\"y\":1,\"x\":2}],\"c\":3}}");
	cJSON *c = sim_canonical(j);
	char *s = json_print(c);
	assert_string_equal(s, "{\"a\":{\"c\":3,\"z\":[{\"x\":2,\"y\":1}]},\"b\":1}");
	free(s);
	/* the list links are consistent: appending still works */
	cJSON_AddNumberToObject(c, "d", 4);
	s = json_print(c);
	assert_string_equal(s, "{\"a\":{\"c\":3,\"z\":[{\"x\":2,\"y\":1}]},\"b\":1,\"d\":4}");
	free(s);
	cJSON_Delete(c);
	cJSON_Delete(j);
}

static const char RS[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"hello-5d78f7c4b9\","
    "\"namespace\":\"default\",\"uid\":\"u-rs\"},\"spec\":{\"replicas\":3,\"template\":{\"metadata\":{\"labels\":"
    "{\"app\":\"hello\",\"pod-template-hash\":\"5d78f7c4b9\"},\"annotations\":{\"a\":\"b\"}},\"spec\":"
    "{\"containers\":[{\"name\":\"hello\",\"image\":\"nginx\"}]}}}}";

static void test_pod_from_template(void **state)
{
	cJSON *rs = parse(RS);
	cJSON *pod = sim_pod_from_template(rs, json_get(rs, "spec.template"), NULL, "eu-node-1");
	assert_string_equal(json_get_str(pod, "kind"), "Pod");
	assert_string_equal(json_get_str(pod, "metadata.generateName"), "hello-5d78f7c4b9-");
	assert_null(json_get(pod, "metadata.name"));
	assert_string_equal(json_get_str(pod, "metadata.namespace"), "default");
	assert_string_equal(json_get_str(pod, "metadata.labels.pod-template-hash"), "5d78f7c4b9");
	assert_string_equal(json_get_str(pod, "metadata.annotations.a"), "b");
	assert_string_equal(json_get_str(pod, "spec.nodeName"), "eu-node-1");
	const cJSON *ref = cJSON_GetArrayItem(json_get(pod, "metadata.ownerReferences"), 0);
	assert_string_equal(json_get_str(ref, "kind"), "ReplicaSet");
	assert_string_equal(json_get_str(ref, "uid"), "u-rs");
	assert_true(cJSON_IsTrue(json_get(ref, "controller")));
	assert_true(sim_is_controlled_by(pod, rs));
	json_set_str(json_ensure_obj(rs, "metadata"), "uid", "other");
	assert_false(sim_is_controlled_by(pod, rs));
	cJSON_Delete(pod);

	pod = sim_pod_from_template(rs, json_get(rs, "spec.template"), "web-0", NULL);
	assert_string_equal(json_get_str(pod, "metadata.name"), "web-0");
	assert_null(json_get(pod, "spec.nodeName"));
	cJSON_Delete(pod);
	cJSON_Delete(rs);
}

static void test_pick_node(void **state)
{
	cJSON *nodes = parse("[\"n0\",\"n1\",\"n2\"]");
	cJSON *pods = cJSON_CreateArray();
	const char *want[] = {"n0", "n1", "n2", "n0", "n1", "n2", "n0"};
	for (int i = 0; i < 7; i++) {
		const char *n = sim_pick_node(nodes, pods);
		assert_string_equal(n, want[i]);
		cJSON *p = cJSON_CreateObject();
		json_set_str(json_ensure_obj(p, "spec"), "nodeName", n);
		cJSON_AddItemToArray(pods, p);
	}
	cJSON *empty = cJSON_CreateArray();
	assert_null(sim_pick_node(empty, pods));
	cJSON_Delete(empty);
	cJSON_Delete(pods);
	cJSON_Delete(nodes);
}

static void test_kubelet_statuses(void **state)
{
	cJSON *pod = parse("{\"metadata\":{\"name\":\"p\",\"uid\":\"u1\"},\"spec\":{\"nodeName\":\"n0\",\"containers\":"
			   "[{\"name\":\"a\",\"image\":\"nginx\"},{\"name\":\"b\",\"image\":\"stefanprodan/podinfo\"},"
			   "{\"name\":\"c\",\"image\":\"ghcr.io/x/y:1.0\"}]}}");
	assert_string_equal(sim_pod_qos_class(pod), "BestEffort");
	assert_true(sim_pod_starting(pod));
	cJSON *st = sim_pod_status_pending(pod, "172.18.0.2", 1000);
	cJSON_AddItemToObject(pod, "status", st);
	assert_string_equal(json_get_str(pod, "status.phase"), "Pending");
	assert_string_equal(json_get_str(pod, "status.hostIP"), "172.18.0.2");
	const cJSON *cs = json_get(pod, "status.containerStatuses");
	assert_int_equal(cJSON_GetArraySize(cs), 3);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cs, 0), "state.waiting.reason"), "ContainerCreating");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cs, 0), "image"), "docker.io/library/nginx:latest");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cs, 1), "image"), "docker.io/stefanprodan/podinfo:latest");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cs, 2), "image"), "ghcr.io/x/y:1.0");
	assert_string_equal(json_get_str(json_condition(pod, "Ready"), "message"), "containers with unready status: [a b c]");
	assert_false(sim_pod_ready(pod));
	assert_true(sim_pod_starting(pod));

	st = sim_pod_status_running(pod, "172.18.0.2", "10.244.0.5", 1010);
	char *start = strdup(json_get_str(pod, "status.startTime"));
	json_set(pod, "status", st);
	assert_string_equal(json_get_str(pod, "status.phase"), "Running");
	assert_string_equal(json_get_str(pod, "status.podIP"), "10.244.0.5");
	assert_string_equal(json_get_str(pod, "status.startTime"), start); /* kept */
	free(start);
	cs = json_get(pod, "status.containerStatuses");
	for (int i = 0; i < 3; i++) {
		const cJSON *c = cJSON_GetArrayItem(cs, i);
		assert_true(cJSON_IsTrue(json_get(c, "ready")));
		assert_non_null(json_get_str(c, "state.running.startedAt"));
		assert_int_equal(strlen(json_get_str(c, "containerID")), strlen("containerd://") + 64);
	}
	assert_true(strncmp(json_get_str(cJSON_GetArrayItem(cs, 0), "imageID"), "docker.io/library/nginx@sha256:", 31) == 0);
	assert_true(sim_pod_ready(pod));
	assert_false(sim_pod_starting(pod));
	assert_true(sim_pod_available(pod, 0, 1010));
	assert_false(sim_pod_available(pod, 30, 1020));
	assert_true(sim_pod_available(pod, 30, 1040));
	assert_true(sim_pod_active(pod));
	json_set_str(json_get(pod, "status"), "phase", "Succeeded");
	assert_false(sim_pod_active(pod));
	cJSON_Delete(pod);

	pod = parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]}}");
	assert_string_equal(sim_pod_qos_class(pod), "Guaranteed");
	cJSON_Delete(pod);
	pod = parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}}");
	assert_string_equal(sim_pod_qos_class(pod), "Burstable");
	cJSON_Delete(pod);
	pod = parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"
		    "\"limits\":{\"cpu\":\"2\",\"memory\":\"1Gi\"}}}]}}");
	assert_string_equal(sim_pod_qos_class(pod), "Burstable");
	cJSON_Delete(pod);
	/* not bound yet: not starting */
	pod = parse("{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}");
	assert_false(sim_pod_starting(pod));
	cJSON_Delete(pod);
}

static void test_nodes(void **state)
{
	struct sim_node_spec s = {.cluster = "eu", .count = 3, .region = "eu-west", .zones = "eu-west-1a,eu-west-1b",
				  .cpu = "8", .memory = "32Gi", .pods = "250", .git_version = "v1.23.8"};
	char buf[64];
	assert_string_equal(sim_node_name(&s, 2, buf, sizeof buf), "eu-node-2");
	const char *zones[] = {"eu-west-1a", "eu-west-1b", "eu-west-1a"};
	for (int i = 0; i < 3; i++) {
		cJSON *n = sim_node_object(&s, i, 1000);
		sim_node_name(&s, i, buf, sizeof buf);
		assert_string_equal(json_get_str(n, "metadata.name"), buf);
		const cJSON *labels = json_get(n, "metadata.labels");
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "kubernetes.io/hostname")), buf);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "topology.kubernetes.io/region")), "eu-west");
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "topology.kubernetes.io/zone")), zones[i]);
		assert_string_equal(json_get_str(n, "status.capacity.cpu"), "8");
		assert_string_equal(json_get_str(n, "status.allocatable.memory"), "32Gi");
		assert_string_equal(json_get_str(n, "status.allocatable.pods"), "250");
		assert_string_equal(json_get_str(n, "status.nodeInfo.kubeletVersion"), "v1.23.8");
		assert_string_equal(json_get_str(json_condition(n, "Ready"), "status"), "True");
		assert_string_equal(json_get_str(json_condition(n, "MemoryPressure"), "status"), "False");
		cJSON_Delete(n);
	}
	s.region = NULL;
	s.zones = NULL;
	cJSON *n = sim_node_object(&s, 0, 1000);
	assert_null(cJSON_GetObjectItem(json_get(n, "metadata.labels"), "topology.kubernetes.io/zone"));
	assert_null(cJSON_GetObjectItem(json_get(n, "metadata.labels"), "topology.kubernetes.io/region"));
	cJSON_Delete(n);
	assert_string_equal(sim_node_ip(0, buf, sizeof buf), "172.18.0.2");
	assert_string_equal(sim_pod_ip(1, 0, buf, sizeof buf), "10.244.1.2");
}

static void test_kubeconfig(void **state)
{
	char *k = sim_kubeconfig_render("eu", "http://127.0.0.1:7001");
	assert_non_null(strstr(k, "    server: \"http://127.0.0.1:7001\"\n"));
	assert_non_null(strstr(k, "current-context: \"eu\"\n"));
	assert_non_null(strstr(k, "kind: Config\n"));
	free(k);
	char dir[200], path[256], err[256];
	tu_mkdtemp(dir, sizeof dir, "simkc");
	snprintf(path, sizeof path, "%s/eu.kubeconfig", dir);
	assert_int_equal(sim_kubeconfig_write(path, "eu", "http://127.0.0.1:7001", err, sizeof err), 0);
	assert_int_equal(access(path, R_OK), 0);
	snprintf(path, sizeof path, "%s/missing/eu.kubeconfig", dir);
	assert_int_equal(sim_kubeconfig_write(path, "eu", "http://127.0.0.1:7001", err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot write"));
	snprintf(path, sizeof path, "%s/eu.kubeconfig", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv_and_safe_encode),
		cmocka_unit_test(test_pod_template_hash),
		cmocka_unit_test(test_canonical_sorts_nested_keys),
		cmocka_unit_test(test_pod_from_template),
		cmocka_unit_test(test_pick_node),
		cmocka_unit_test(test_kubelet_statuses),
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_kubeconfig),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
