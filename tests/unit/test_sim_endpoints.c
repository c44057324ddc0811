/* test_sim_endpoints — the simulator's pod CIDR and the Endpoints and
 * EndpointSlices its endpoint controllers derive from a Service's pods.
 * The sim sources are compiled into this test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_endpoints.c"
#include "sim_kubelet.c"
#include "sim_podtemplate.c"

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	assert_non_null(j);
	return j;
}

static void test_pod_cidr(void **state)
{
	(void)state;
	/* Members of one fleet get distinct ranges; the same name the same one. */
	int ap = sim_pod_cidr_octet("ap"), us = sim_pod_cidr_octet("us"), eu = sim_pod_cidr_octet("eu");
	assert_true(ap != us && us != eu && ap != eu);
	assert_int_equal(ap, sim_pod_cidr_octet("ap"));
	assert_true(ap >= 100 && ap < 228);
	char buf[32], want[32];
	snprintf(want, sizeof want, "10.%d.3.7", ap);
	assert_string_equal(sim_pod_ip_at("ap", 3, 7, buf, sizeof buf), want);
	assert_int_equal(sim_pod_ip_host("ap", 3, want), 7);
	assert_int_equal(sim_pod_ip_host("ap", 4, want), -1);  /* another node */
	assert_int_equal(sim_pod_ip_host("us", 3, want), -1);  /* another cluster */
	assert_int_equal(sim_pod_ip_host("ap", 3, "10.1.2"), -1);
	assert_int_equal(sim_pod_ip_host("ap", 3, NULL), -1);
}

static void test_selector(void **state)
{
	(void)state;
	cJSON *sel = parse("{\"app\":\"hello\"}"), *empty = parse("{}");
	cJSON *l1 = parse("{\"app\":\"hello\",\"x\":\"y\"}"), *l2 = parse("{\"app\":\"other\"}");
	assert_true(sim_selector_matches(sel, l1));
	assert_false(sim_selector_matches(sel, l2));
	assert_false(sim_selector_matches(sel, NULL));
	assert_false(sim_selector_matches(empty, l1));
	assert_false(sim_selector_matches(NULL, l1));
	cJSON_Delete(sel);
	cJSON_Delete(empty);
	cJSON_Delete(l1);
	cJSON_Delete(l2);
}

#define POD(name, app, ip, node, ready)                                                                      \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"default\",\"uid\":\"u-" name "\","          \
	"\"labels\":{\"app\":\"" app "\"}},\"spec\":{\"nodeName\":\"" node "\",\"containers\":[{\"name\":\"c\"," \
	"\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"" ip \
	"\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"" ready "\"}]}}"

static void test_endpoints_and_slice(void **state)
{
	(void)state;
	cJSON *svc = parse("{\"metadata\":{\"name\":\"hello\",\"namespace\":\"default\",\"uid\":\"s1\"},"
			   "\"spec\":{\"selector\":{\"app\":\"hello\"},\"ports\":[{\"name\":\"web\",\"port\":80,"
			   "\"targetPort\":\"http\"},{\"name\":\"raw\",\"port\":90,\"protocol\":\"UDP\"}]}}");
	cJSON *pods = parse("[" POD("b", "hello", "10.1.0.3", "n1", "True") "," POD("a", "hello", "10.1.0.2", "n0",
										  "True") "," POD("c", "hello", "10.1.0.4", "n1", "False") "," POD("d", "other", "10.1.0.5", "n0", "True") ","
			    "{\"metadata\":{\"name\":\"e\",\"labels\":{\"app\":\"hello\"}},\"status\":{\"phase\":\"Pending\"}}]");
	cJSON *nodes = parse("[{\"metadata\":{\"name\":\"n0\",\"labels\":{\"topology.kubernetes.io/zone\":\"z-a\"}}},"
			     "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"topology.kubernetes.io/zone\":\"z-b\"}}}]");

	cJSON *ep = sim_endpoints_for(svc, pods);
	assert_non_null(ep);
	assert_string_equal(json_get_str(ep, "metadata.name"), "hello");
	const cJSON *ss = cJSON_GetArrayItem(json_get(ep, "subsets"), 0);
	const cJSON *addrs = cJSON_GetObjectItem(ss, "addresses");
	assert_int_equal(cJSON_GetArraySize(addrs), 2); /* a, b ready; c not ready; d other; e no IP */
	assert_string_equal(json_get_str(cJSON_GetArrayItem(addrs, 0), "ip"), "10.1.0.2");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(addrs, 0), "targetRef.name"), "a");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ss, "notReadyAddresses")), 1);
	const cJSON *ports = cJSON_GetObjectItem(ss, "ports");
	assert_int_equal(cJSON_GetArraySize(ports), 2);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ports, 0), "port")->valueint, 8080);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ports, 1), "port")->valueint, 90);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(ports, 1), "protocol"), "UDP");
	cJSON_Delete(ep);

	cJSON *es = sim_endpointslice_for(svc, pods, nodes);
	assert_non_null(es);
	assert_string_equal(json_get_str(es, "metadata.name"), "hello-sim");
	assert_string_equal(json_get_str(es, "apiVersion"), "discovery.k8s.io/v1");
	assert_string_equal(json_get_str(es, "addressType"), "IPv4");
	const cJSON *labels = json_get(es, "metadata.labels");
	assert_string_equal(cJSON_GetObjectItem(labels, "kubernetes.io/service-name")->valuestring, "hello");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(es, "metadata.ownerReferences"), 0), "uid"), "s1");
	const cJSON *eps = json_get(es, "endpoints");
	assert_int_equal(cJSON_GetArraySize(eps), 3);
	const cJSON *e0 = cJSON_GetArrayItem(eps, 0), *e2 = cJSON_GetArrayItem(eps, 2);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(e0, "addresses"), 0)->valuestring, "10.1.0.2");
	assert_true(cJSON_IsTrue(json_get(e0, "conditions.ready")));
	assert_string_equal(json_get_str(e0, "zone"), "z-a");
	assert_string_equal(json_get_str(e0, "nodeName"), "n0");
	assert_string_equal(json_get_str(e0, "targetRef.kind"), "Pod");
	assert_true(cJSON_IsFalse(json_get(e2, "conditions.ready")));
	assert_string_equal(json_get_str(e2, "zone"), "z-b");
	assert_int_equal(cJSON_GetArraySize(json_get(es, "ports")), 2);
	cJSON_Delete(es);

	/* Scaled to nothing: empty subsets and endpoints, still present. */
	cJSON *none = parse("[]");
	ep = sim_endpoints_for(svc, none);
	assert_int_equal(cJSON_GetArraySize(json_get(ep, "subsets")), 0);
	es = sim_endpointslice_for(svc, none, nodes);
	assert_int_equal(cJSON_GetArraySize(json_get(es, "endpoints")), 0);
	cJSON_Delete(ep);
	cJSON_Delete(es);

	/* No selector: not managed. */
	cJSON *bare = parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"ports\":[{\"port\":80}]}}");
	assert_null(sim_endpoints_for(bare, pods));
	assert_null(sim_endpointslice_for(bare, pods, nodes));
	cJSON_Delete(bare);
	cJSON_Delete(none);
	cJSON_Delete(svc);
	cJSON_Delete(pods);
	cJSON_Delete(nodes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_cidr),
		cmocka_unit_test(test_selector),
		cmocka_unit_test(test_endpoints_and_slice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
