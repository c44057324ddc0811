#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "protocol.h"

static cJSON *js(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	if (!j)
		print_error("bad test JSON: %s\n", s);
	assert_non_null(j);
	return j;
}

static void test_paths(void **state)
{
	char v[32], c[64], op[32];
	assert_int_equal(proto_parse_path("/apis/atoll.io/v1alpha1/clusters/eu/works", v, sizeof v, c, sizeof c, op, sizeof op), 0);
	assert_string_equal(v, "v1alpha1");
	assert_string_equal(c, "eu");
	assert_string_equal(op, "works");
	assert_int_equal(proto_parse_path("/apis/atoll.io/v2", v, sizeof v, c, sizeof c, op, sizeof op), 0);
	assert_string_equal(v, "v2");
	assert_string_equal(c, "");
	assert_int_equal(proto_parse_path("/apis/atoll.io/v1alpha1/clusters/eu", v, sizeof v, c, sizeof c, op, sizeof op), -1);
	assert_int_equal(proto_parse_path("/apis/atoll.io/v1alpha1/clusters/eu/works/x", v, sizeof v, c, sizeof c, op, sizeof op), -1);
	assert_int_equal(proto_parse_path("/apis/atoll.io/v1alpha1/nodes/eu/works", v, sizeof v, c, sizeof c, op, sizeof op), -1);
	assert_int_equal(proto_parse_path("/apis/apps/v1", v, sizeof v, c, sizeof c, op, sizeof op), -1);
	char buf[128];
	proto_exec_namespace("eu", buf, sizeof buf);
	assert_string_equal(buf, "karmada-es-eu");
	proto_works_prefix("eu", buf, sizeof buf);
	assert_string_equal(buf, "work.karmada.io/works/karmada-es-eu/");
	char err[256];
	assert_true(proto_valid_cluster_name("eu-west-1", err, sizeof err));
	assert_false(proto_valid_cluster_name("", err, sizeof err));
	assert_false(proto_valid_cluster_name("EU", err, sizeof err));
	assert_false(proto_valid_cluster_name("-eu", err, sizeof err));
	assert_false(proto_valid_cluster_name("eu-", err, sizeof err));
	assert_false(proto_valid_cluster_name("a234567890123456789012345678901234567890123456789", err, sizeof err));
	assert_non_null(strstr(err, "48"));
}

static void test_version_check(void **state)
{
	char err[256];
	cJSON *j = js("{\"apiVersion\":\"atoll.io/v2\",\"kind\":\"Heartbeat\"}");
	assert_int_equal(proto_check_type(j, "Heartbeat", err, sizeof err), -1);
	assert_string_equal(err, "unsupported protocol version \"atoll.io/v2\": this hub speaks atoll.io/v1alpha1");
	cJSON_Delete(j);
	j = js("{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Registration\"}");
	assert_int_equal(proto_check_type(j, "Heartbeat", err, sizeof err), -1);
	assert_non_null(strstr(err, "expected kind Heartbeat"));
	cJSON_Delete(j);
}

static void test_registration_round_trip(void **state)
{
	struct proto_registration r = {0}, back;
	strcpy(r.cluster, "eu");
	strcpy(r.agent_version, "0.1.0");
	strcpy(r.kubernetes_version, "v1.23.8");
	strcpy(r.provider, "aws");
	strcpy(r.region, "eu-west");
	strcpy(r.zones[0], "eu-west-1a");
	strcpy(r.zones[1], "eu-west-1b");
	r.nzones = 2;
	strcpy(r.api_endpoint, "https://10.0.0.1:6443");
	r.labels = js("{\"tier\":\"gold\"}");
	cJSON *j = proto_registration_to_json(&r);
	assert_string_equal(json_get_str(j, "apiVersion"), "atoll.io/v1alpha1");
	assert_string_equal(json_get_str(j, "kind"), "Registration");
	char err[256];
	assert_int_equal(proto_registration_from_json(j, &back, err, sizeof err), 0);
	assert_string_equal(back.cluster, "eu");
	assert_string_equal(back.kubernetes_version, "v1.23.8");
	assert_string_equal(back.provider, "aws");
	assert_string_equal(back.region, "eu-west");
	assert_int_equal(back.nzones, 2);
	assert_string_equal(back.zones[1], "eu-west-1b");
	assert_string_equal(back.api_endpoint, "https://10.0.0.1:6443");
	assert_string_equal(json_get_str(back.labels, "tier"), "gold");
	/* Unknown fields are ignored (compatibility rule). */
	cJSON_AddStringToObject(j, "futureField", "x");
	proto_registration_free(&back);
	assert_int_equal(proto_registration_from_json(j, &back, err, sizeof err), 0);
	proto_registration_free(&back);
	cJSON_Delete(j);
	proto_registration_free(&r);

	static const char *const bad[][2] = {
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Registration\"}", "cluster name must not be empty"},
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Registration\",\"cluster\":7}", "cluster: expected a string"},
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Registration\",\"cluster\":\"eu\",\"zones\":\"a\"}", "zones:"},
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Registration\",\"cluster\":\"eu\",\"zones\":[\"\"]}", "zones[0]"},
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Registration\",\"cluster\":\"eu\",\"labels\":{\"a\":1}}", "labels.a"},
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Registration\",\"cluster\":\"eu\",\"labels\":[]}", "labels:"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *b = js(bad[i][0]);
		assert_int_equal(proto_registration_from_json(b, &back, err, sizeof err), -1);
		if (!strstr(err, bad[i][1]))
			print_error("%s: got \"%s\"\n", bad[i][0], err);
		assert_non_null(strstr(err, bad[i][1]));
		cJSON_Delete(b);
	}
}

static void test_heartbeat_round_trip(void **state)
{
	struct proto_heartbeat h = {0}, back;
	strcpy(h.cluster, "ap");
	h.lease_duration_s = 40;
	h.health = PH_UNHEALTHY;
	h.have_summary = true;
	h.nodes_total = 3;
	h.nodes_ready = 2;
	h.allocatable.cpu_milli = 12000;
	h.allocatable.memory = 48LL << 30;
	h.allocatable.pods = 330;
	h.allocated.cpu_milli = 1500;
	h.allocated.memory = 256LL << 20;
	h.allocated.pods = 4;
	cJSON *j = proto_heartbeat_to_json(&h);
	assert_string_equal(json_get_str(j, "health"), "Unhealthy");
	assert_string_equal(json_get_str(j, "resourceSummary.allocatable.cpu"), "12");
	assert_string_equal(json_get_str(j, "resourceSummary.allocatable.memory"), "48Gi");
	assert_string_equal(json_get_str(j, "resourceSummary.allocated.cpu"), "1500m");
	assert_string_equal(json_get_str(j, "resourceSummary.allocated.memory"), "256Mi");
	assert_string_equal(json_get_str(j, "resourceSummary.allocated.pods"), "4");
	char err[256];
	assert_int_equal(proto_heartbeat_from_json(j, &back, err, sizeof err), 0);
	assert_int_equal(back.health, PH_UNHEALTHY);
	assert_int_equal(back.lease_duration_s, 40);
	assert_true(back.have_summary);
	assert_int_equal(back.nodes_ready, 2);
	assert_int_equal(back.allocatable.memory, 48LL << 30);
	assert_int_equal(back.allocated.cpu_milli, 1500);
	cJSON_Delete(j);

	cJSON *b = js("{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Heartbeat\",\"cluster\":\"ap\",\"health\":\"Fine\"}");
	assert_int_equal(proto_heartbeat_from_json(b, &back, err, sizeof err), -1);
	assert_non_null(strstr(err, "health"));
	cJSON_Delete(b);
	b = js("{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Heartbeat\",\"cluster\":\"ap\",\"health\":\"Healthy\",\"leaseDurationSeconds\":0}");
	assert_int_equal(proto_heartbeat_from_json(b, &back, err, sizeof err), -1);
	assert_non_null(strstr(err, "leaseDurationSeconds"));
	cJSON_Delete(b);
	b = js("{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Heartbeat\",\"cluster\":\"ap\",\"health\":\"Healthy\"}");
	assert_int_equal(proto_heartbeat_from_json(b, &back, err, sizeof err), 0);
	assert_int_equal(back.lease_duration_s, PROTO_DEFAULT_LEASE_S);
	assert_false(back.have_summary);
	cJSON_Delete(b);
}

static void test_work_events(void **state)
{
	cJSON *ev = proto_work_events_new(42, false, true);
	proto_work_events_add(ev, "ADDED", js("{\"metadata\":{\"name\":\"a\"}}"));
	proto_work_events_add(ev, "DELETED", js("{\"metadata\":{\"name\":\"b\"}}"));
	long long rev;
	bool full, more;
	const cJSON *events;
	char err[256];
	assert_int_equal(proto_work_events_parse(ev, &rev, &full, &more, &events, err, sizeof err), 0);
	assert_int_equal(rev, 42);
	assert_false(full);
	assert_true(more);
	assert_int_equal(cJSON_GetArraySize(events), 2);
	/* A full list holds only ADDED. */
	json_set(ev, "full", cJSON_CreateTrue());
	assert_int_equal(proto_work_events_parse(ev, &rev, &full, &more, &events, err, sizeof err), -1);
	assert_non_null(strstr(err, "full list"));
	cJSON_Delete(ev);
	static const char *const bad[][2] = {
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"WorkEvents\",\"revision\":\"x\",\"events\":[]}", "revision"},
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"WorkEvents\",\"revision\":\"1\"}", "events"},
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"WorkEvents\",\"revision\":\"1\",\"events\":[{\"type\":\"BOOKMARK\",\"object\":{}}]}", "events[0].type"},
		{"{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"WorkEvents\",\"revision\":\"1\",\"events\":[{\"type\":\"ADDED\",\"object\":{}}]}", "events[0].object"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *b = js(bad[i][0]);
		assert_int_equal(proto_work_events_parse(b, &rev, &full, &more, &events, err, sizeof err), -1);
		assert_non_null(strstr(err, bad[i][1]));
		cJSON_Delete(b);
	}
}

static void test_status_report(void **state)
{
	struct proto_work_status in[2] = {0};
	strcpy(in[0].name, "hello-1");
	in[0].generation = 3;
	in[0].applied = true;
	strcpy(in[0].reason, REASON_APPLIED_OK);
	strcpy(in[0].message, MSG_APPLIED_OK);
	in[0].manifest_statuses = js("[{\"identifier\":{\"ordinal\":0},\"health\":\"Healthy\"}]");
	strcpy(in[1].name, "cm-2");
	in[1].applied = false;
	strcpy(in[1].reason, REASON_APPLIED_FAILED);
	strcpy(in[1].message, "Failed to apply all manifests (0/1): boom");
	cJSON *j = proto_status_report_to_json(in, 2);
	struct proto_work_status *out;
	int n;
	char err[256];
	assert_int_equal(proto_status_report_from_json(j, &out, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].name, "hello-1");
	assert_int_equal(out[0].generation, 3);
	assert_true(out[0].applied);
	assert_int_equal(cJSON_GetArraySize(out[0].manifest_statuses), 1);
	assert_false(out[1].applied);
	assert_string_equal(out[1].message, "Failed to apply all manifests (0/1): boom");
	assert_int_equal(cJSON_GetArraySize(out[1].manifest_statuses), 0);
	proto_work_status_free(out, n);
	cJSON_Delete(j);
	cJSON_Delete(in[0].manifest_statuses);
	cJSON *b = js("{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"WorkStatusReport\",\"items\":[{\"name\":\"a\",\"applied\":{\"status\":\"Maybe\"}}]}");
	assert_int_equal(proto_status_report_from_json(b, &out, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "items[0].applied.status"));
	cJSON_Delete(b);
	b = js("{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"WorkStatusReport\",\"items\":[{\"applied\":{\"status\":\"True\",\"reason\":\"x\"}}]}");
	assert_int_equal(proto_status_report_from_json(b, &out, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "items[0].name"));
	cJSON_Delete(b);
}

static void test_quantities(void **state)
{
	static const struct {
		const char *s;
		int64_t milli;
	} ok[] = {
		{"1", 1000}, {"100m", 100}, {"0.5", 500}, {"1.5", 1500}, {"2k", 2000000}, {"1Ki", 1024000},
		{"128974848", 128974848000LL}, {"129e6", 129000000000LL}, {"123Mi", 123LL * 1048576 * 1000},
		{"1Gi", 1073741824000LL}, {"0.1m", 1}, /* rounded up */ {"5n", 1}, {"-1", -1000}, {"+2", 2000},
		{"16Gi", 16LL * 1073741824 * 1000},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t v = 0;
		assert_int_equal(proto_quantity_milli(ok[i].s, &v), 0);
		if (v != ok[i].milli)
			print_error("%s: got %lld\n", ok[i].s, (long long)v);
		assert_true(v == ok[i].milli);
	}
	static const char *const bad[] = {"", "m", "1x", "1.2.3", "abc", "1Gii", "99999999999999999999", "8Ei"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t v;
		assert_int_equal(proto_quantity_milli(bad[i], &v), -1);
	}
	struct proto_resources r = {0};
	cJSON *l = js("{\"cpu\":\"250m\",\"memory\":\"64Mi\",\"pods\":\"110\",\"nvidia.com/gpu\":\"1\"}");
	proto_resources_add_list(&r, l);
	proto_resources_add_list(&r, l);
	assert_int_equal(r.cpu_milli, 500);
	assert_int_equal(r.memory, 128LL << 20);
	assert_int_equal(r.pods, 220);
	cJSON_Delete(l);
	cJSON *o = proto_resources_to_json(&r);
	assert_string_equal(json_get_str(o, "cpu"), "500m");
	assert_string_equal(json_get_str(o, "memory"), "128Mi");
	assert_string_equal(json_get_str(o, "pods"), "220");
	cJSON_Delete(o);
}

static void test_conditions(void **state)
{
	const char *st, *reason, *msg;
	proto_ready_condition(PH_HEALTHY, &st, &reason, &msg);
	assert_string_equal(st, "True");
	assert_string_equal(reason, "ClusterReady");
	assert_string_equal(msg, "cluster is healthy and ready to accept workloads");
	proto_ready_condition(PH_UNHEALTHY, &st, &reason, &msg);
	assert_string_equal(reason, "ClusterNotReady");
	assert_string_equal(msg, "cluster is reachable but health endpoint responded without ok");
	proto_ready_condition(PH_UNREACHABLE, &st, &reason, &msg);
	assert_string_equal(st, "False");
	assert_string_equal(reason, "ClusterNotReachable");
	assert_string_equal(msg, "cluster is not reachable");

	cJSON *conds = cJSON_CreateArray();
	assert_true(proto_set_condition(conds, "Ready", "True", "ClusterReady", "m", 0, "2026-01-01T00:00:00Z"));
	assert_false(proto_set_condition(conds, "Ready", "True", "ClusterReady", "m", 0, "2026-01-01T00:00:09Z"));
	/* Same status, new message: lastTransitionTime kept. */
	assert_true(proto_set_condition(conds, "Ready", "True", "ClusterReady", "m2", 0, "2026-01-01T00:00:10Z"));
	assert_string_equal(json_get_str(cJSON_GetArrayItem(conds, 0), "lastTransitionTime"), "2026-01-01T00:00:00Z");
	/* New status: new transition time. */
	assert_true(proto_set_condition(conds, "Ready", "Unknown", REASON_CLUSTER_UNKNOWN, MSG_CLUSTER_UNKNOWN, 0,
					"2026-01-01T00:01:00Z"));
	assert_string_equal(json_get_str(cJSON_GetArrayItem(conds, 0), "lastTransitionTime"), "2026-01-01T00:01:00Z");
	assert_int_equal(cJSON_GetArraySize(conds), 1);
	/* Another type is added, observedGeneration changes count. */
	assert_true(proto_set_condition(conds, "Applied", "True", "AppliedSuccessful", "x", 2, "t"));
	assert_false(proto_set_condition(conds, "Applied", "True", "AppliedSuccessful", "x", 2, "t2"));
	assert_true(proto_set_condition(conds, "Applied", "True", "AppliedSuccessful", "x", 3, "t3"));
	assert_int_equal(cJSON_GetArraySize(conds), 2);
	cJSON_Delete(conds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_version_check),
		cmocka_unit_test(test_registration_round_trip),
		cmocka_unit_test(test_heartbeat_round_trip),
		cmocka_unit_test(test_work_events),
		cmocka_unit_test(test_status_report),
		cmocka_unit_test(test_quantities),
		cmocka_unit_test(test_conditions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
