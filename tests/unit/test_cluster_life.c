/* test_cluster_life — the cluster life cycle in ctl_cluster.c, driven the
 * way the agent API drives it: a heartbeat renews the Lease (written
 * through the first time, then every half lease) and sets the Ready
 * condition and status it carries; a cluster reported unhealthy stays Ready
 * within the grace period and becomes Ready=False with Karmada's not-ready
 * taint after it; a healthy heartbeat takes the taint away again. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "ctl_cluster.h"
#include "jsonutil.h"
#include "timefmt.h"
#include "objtest.h"

static const struct kind_info *K(const char *g, const char *v, const char *k) { return kinds_find_kind(g, v, k); }

static int beat(struct cluster_life *cl, struct obj_ctx *objs, enum proto_health health, char *renew, size_t len)
{
	struct proto_heartbeat h;
	memset(&h, 0, sizeof h);
	snprintf(h.cluster, sizeof h.cluster, "eu");
	h.lease_duration_s = 40;
	h.health = health;
	snprintf(h.kubernetes_version, sizeof h.kubernetes_version, "v1.30.1");
	cJSON *c = obj_get_json(objs, K("cluster.karmada.io", "v1alpha1", "Cluster"), "", "eu");
	assert_non_null(c);
	struct api_error e = {0};
	int rc = ctl_cluster_heartbeat(cl, c, &h, renew, len, &e);
	api_error_clear(&e);
	cJSON_Delete(c);
	return rc;
}

static const char *ready(cJSON *c) { return json_get_str(json_condition(c, "Ready"), "status"); }

static bool has_taint(const cJSON *c, const char *key)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(c, "spec.taints"))
		if (json_get_str(t, "key") && strcmp(json_get_str(t, "key"), key) == 0)
			return true;
	return false;
}

static void test_heartbeats(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "cluster-life", &objs);
	obj_create_ok(&objs, K("", "v1", "Namespace"), "", "{'metadata':{'name':'default'}}");
	obj_create_ok(&objs, K("cluster.karmada.io", "v1alpha1", "Cluster"), "",
		      "{'metadata':{'name':'eu'},'spec':{'syncMode':'Pull'}}");
	struct cluster_life_config cfg = {.grace_ms = 500};
	struct cluster_life *cl = ctl_cluster_life_new(NULL, objs.store, &objs, &cfg);
	const struct kind_info *ck = K("cluster.karmada.io", "v1alpha1", "Cluster");
	const struct kind_info *lk = K("coordination.k8s.io", "v1", "Lease");

	/* The first heartbeat: the Lease is written, Ready=True, the version set. */
	char renew[64] = "";
	assert_int_equal(beat(cl, &objs, PH_HEALTHY, renew, sizeof renew), 0);
	assert_true(strlen(renew) > 20);
	cJSON *lease = obj_get_json(&objs, lk, PROTO_LEASE_NAMESPACE, "eu");
	assert_non_null(lease);
	assert_string_equal(json_get_str(lease, "spec.renewTime"), renew);
	assert_int_equal((int)json_get_num(lease, "spec.leaseDurationSeconds", 0), 40);
	cJSON_Delete(lease);
	cJSON *c = obj_get_json(&objs, ck, "", "eu");
	assert_string_equal(ready(c), "True");
	assert_string_equal(json_get_str(c, "status.kubernetesVersion"), "v1.30.1");
	assert_false(has_taint(c, "cluster.karmada.io/not-ready"));
	cJSON_Delete(c);

	/* The next one within half a lease: not written to the store. */
	long long rev = store_revision(objs.store);
	assert_int_equal(beat(cl, &objs, PH_HEALTHY, renew, sizeof renew), 0);
	assert_int_equal(store_revision(objs.store), rev);

	/* Unhealthy within the grace period: still Ready. */
	assert_int_equal(beat(cl, &objs, PH_UNHEALTHY, renew, sizeof renew), 0);
	c = obj_get_json(&objs, ck, "", "eu");
	assert_string_equal(ready(c), "True");
	cJSON_Delete(c);
	/* After it: Ready=False and the not-ready taint. */
	struct timespec ts = {0, 600 * 1000000L};
	nanosleep(&ts, NULL);
	assert_int_equal(beat(cl, &objs, PH_UNHEALTHY, renew, sizeof renew), 0);
	c = obj_get_json(&objs, ck, "", "eu");
	assert_string_equal(ready(c), "False");
	assert_true(has_taint(c, "cluster.karmada.io/not-ready"));
	cJSON_Delete(c);
	/* Healthy again: Ready, the taint gone. */
	assert_int_equal(beat(cl, &objs, PH_HEALTHY, renew, sizeof renew), 0);
	c = obj_get_json(&objs, ck, "", "eu");
	assert_string_equal(ready(c), "True");
	assert_false(has_taint(c, "cluster.karmada.io/not-ready"));
	cJSON_Delete(c);

	/* A registration makes the next heartbeat write the Lease through. */
	ctl_cluster_registered(cl, "eu");
	rev = store_revision(objs.store);
	assert_int_equal(beat(cl, &objs, PH_HEALTHY, renew, sizeof renew), 0);
	assert_true(store_revision(objs.store) > rev);
	lease = obj_get_json(&objs, lk, PROTO_LEASE_NAMESPACE, "eu");
	assert_string_equal(json_get_str(lease, "spec.renewTime"), renew);
	cJSON_Delete(lease);

	ctl_cluster_life_free(cl);
	obj_test_close(dir, &objs);
}

static struct proto_heartbeat hb_of(const char *version, enum proto_health health)
{
	struct proto_heartbeat h;
	memset(&h, 0, sizeof h);
	snprintf(h.cluster, sizeof h.cluster, "eu");
	h.lease_duration_s = 4;
	h.health = health;
	snprintf(h.kubernetes_version, sizeof h.kubernetes_version, "%s", version);
	return h;
}

/* ctl_cluster_renew, the cheap form the agent's polls use: only a healthy
 * heartbeat the same as the last one taken in full, within a quarter lease
 * of it, renews in memory without the Cluster; anything else (a change, an
 * unhealthy report, a quarter lease passed, a Lease write due, a deleted
 * Cluster) goes the full way. */
static void test_cheap_renewal(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "cluster-renew", &objs);
	obj_create_ok(&objs, K("", "v1", "Namespace"), "", "{'metadata':{'name':'default'}}");
	const struct kind_info *ck = K("cluster.karmada.io", "v1alpha1", "Cluster");
	obj_create_ok(&objs, ck, "", "{'metadata':{'name':'eu'},'spec':{'syncMode':'Pull'}}");
	struct cluster_life *cl = ctl_cluster_life_new(NULL, objs.store, &objs, NULL);
	char renew[64] = "";
	struct proto_heartbeat h = hb_of("v1.30.1", PH_HEALTHY);
	/* Never taken in full: no. */
	assert_int_equal(ctl_cluster_renew(cl, &h, renew, sizeof renew), 0);
	cJSON *c = obj_get_json(&objs, ck, "", "eu");
	struct api_error e = {0};
	assert_int_equal(ctl_cluster_heartbeat(cl, c, &h, renew, sizeof renew, &e), 0);
	cJSON_Delete(c);
	/* The same again at once: renewed in memory, a new renewTime, no write. */
	char first[64];
	snprintf(first, sizeof first, "%s", renew);
	long long rev = store_revision(objs.store);
	struct timespec ms5 = {0, 5 * 1000000L};
	nanosleep(&ms5, NULL);
	assert_int_equal(ctl_cluster_renew(cl, &h, renew, sizeof renew), 1);
	assert_string_not_equal(renew, first);
	assert_int_equal(store_revision(objs.store), rev);
	/* Something changed (the version), or unhealthy: the full way. */
	struct proto_heartbeat h2 = hb_of("v1.31.0", PH_HEALTHY), h3 = hb_of("v1.30.1", PH_UNHEALTHY);
	assert_int_equal(ctl_cluster_renew(cl, &h2, renew, sizeof renew), 0);
	assert_int_equal(ctl_cluster_renew(cl, &h3, renew, sizeof renew), 0);
	/* A quarter lease (1 s) after the full one: the full way, which sets the status again. */
	struct timespec q = {1, 50 * 1000000L};
	nanosleep(&q, NULL);
	assert_int_equal(ctl_cluster_renew(cl, &h, renew, sizeof renew), 0);
	c = obj_get_json(&objs, ck, "", "eu");
	assert_int_equal(ctl_cluster_heartbeat(cl, c, &h, renew, sizeof renew, &e), 0);
	cJSON_Delete(c);
	assert_int_equal(ctl_cluster_renew(cl, &h, renew, sizeof renew), 1);
	/* The Cluster deleted: the full way (which answers 404 in the agent API). */
	char *out = NULL;
	assert_int_equal(obj_delete(&objs, ck, "", "eu", &out, &e), 0);
	free(out);
	assert_int_equal(ctl_cluster_renew(cl, &h, renew, sizeof renew), 0);
	api_error_clear(&e);
	ctl_cluster_life_free(cl);
	obj_test_close(dir, &objs);
}

/* ---- the Lease monitor, from memory --------------------------------------- */

static void put_lease(struct store *st, const char *name, const char *renew)
{
	char key[200], json[600];
	snprintf(key, sizeof key, "coordination.k8s.io/leases/karmada-cluster/%s", name);
	snprintf(json, sizeof json,
		 "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"karmada-cluster\"},\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":40,"
		 "\"renewTime\":\"%s\"}}",
		 name, name, renew);
	cJSON *o = cJSON_Parse(json);
	assert_int_equal(store_put(st, key, o, 0, NULL, NULL), 0);
	cJSON_Delete(o);
}

static void put_cluster(struct store *st, const char *name, const char *mode)
{
	char key[200], json[600];
	snprintf(key, sizeof key, "cluster.karmada.io/clusters//%s", name);
	snprintf(json, sizeof json,
		 "{\"apiVersion\":\"cluster.karmada.io/v1alpha1\",\"kind\":\"Cluster\",\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{\"syncMode\":\"%s\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		 name, mode);
	cJSON *o = cJSON_Parse(json);
	assert_int_equal(store_put(st, key, o, 0, NULL, NULL), 0);
	cJSON_Delete(o);
}

struct renewer {
	struct store *st;
	struct event *ev;
};

/* Another hub replica renewing "d" every 150 ms: the monitor sees it from
 * the store's changes. */
static void renew_d(evutil_socket_t fd, short what, void *arg)
{
	struct renewer *r = arg;
	char now[64];
	put_lease(r->st, "d", time_now_micro(now, sizeof now));
}

static const char *ready_of(struct obj_ctx *objs, const char *name, char *buf, size_t len)
{
	cJSON *c = obj_get_json(objs, K("cluster.karmada.io", "v1alpha1", "Cluster"), "", name);
	snprintf(buf, len, "%s", c && ready(c) ? ready(c) : "-");
	cJSON_Delete(c);
	return buf;
}

static void test_monitor_judges_from_memory(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256], b1[16];
	obj_test_open(dir, sizeof dir, "cluster-monitor", &objs);
	struct store *st = objs.store;
	/* Known before the monitor starts (read once), and after (events). */
	put_cluster(st, "a", "Pull");
	put_lease(st, "a", "2026-01-01T00:00:00.000000Z");
	put_cluster(st, "d", "Pull");
	put_lease(st, "d", "2026-01-01T00:00:00.000000Z");
	struct event_base *base = event_base_new();
	struct cluster_life_config cfg = {.monitor_period_ms = 50, .startup_grace_s = 1, .grace_ms = 400};
	struct cluster_life *cl = ctl_cluster_life_new(base, st, &objs, &cfg);
	put_cluster(st, "b", "Pull");
	put_lease(st, "b", "2026-01-01T00:00:00.000000Z");
	put_cluster(st, "c", "Push"); /* not pulled: not judged */
	put_lease(st, "c", "2026-01-01T00:00:00.000000Z");
	put_cluster(st, "e", "Pull"); /* no Lease: never heartbeated, not judged */
	put_cluster(st, "f", "Pull"); /* its Lease deleted: not judged */
	put_lease(st, "f", "2026-01-01T00:00:00.000000Z");
	assert_int_equal(store_delete(st, "coordination.k8s.io/leases/karmada-cluster/f", 0, NULL, NULL), 0);
	struct renewer r = {.st = st};
	r.ev = event_new(base, -1, EV_PERSIST, renew_d, &r);
	struct timeval every = {0, 150000}, run = {1, 700000};
	event_add(r.ev, &every);
	event_base_loopexit(base, &run);
	event_base_dispatch(base);
	/* Past the startup grace (1 s) without a renewal: Unknown. */
	assert_string_equal(ready_of(&objs, "a", b1, sizeof b1), "Unknown");
	assert_string_equal(ready_of(&objs, "b", b1, sizeof b1), "Unknown");
	/* Renewed by "another replica" through the store: still Ready. */
	assert_string_equal(ready_of(&objs, "d", b1, sizeof b1), "True");
	assert_string_equal(ready_of(&objs, "c", b1, sizeof b1), "True");
	assert_string_equal(ready_of(&objs, "e", b1, sizeof b1), "True");
	assert_string_equal(ready_of(&objs, "f", b1, sizeof b1), "True");
	/* The renewals stop: Unknown after the grace (400 ms). */
	event_del(r.ev);
	struct timeval more = {0, 800000};
	event_base_loopexit(base, &more);
	event_base_dispatch(base);
	assert_string_equal(ready_of(&objs, "d", b1, sizeof b1), "Unknown");
	event_free(r.ev);
	ctl_cluster_life_free(cl);
	event_base_free(base);
	obj_test_close(dir, &objs);
}

static void batch_open(struct store *s, void *ud) {}

/* ATOLL_BENCH_CLUSTERS=N: the monitor's CPU per pass with N Pull clusters
 * and their Leases, all within their lease (nothing written). */
static void test_monitor_pass_cost(void **state)
{
	const char *env = getenv("ATOLL_BENCH_CLUSTERS");
	if (!env || atoi(env) <= 0)
		skip();
	int n = atoi(env);
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "cluster-monitor-cost", &objs);
	struct store *st = objs.store;
	store_set_batching(st, batch_open, NULL);
	char now[64];
	time_now_micro(now, sizeof now);
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "c%05d", i);
		put_cluster(st, name, "Pull");
		put_lease(st, name, now);
	}
	assert_int_equal(store_commit(st), 0);
	struct event_base *base = event_base_new();
	struct cluster_life_config cfg = {.monitor_period_ms = 100};
	double t0 = tu_cpu_now();
	struct cluster_life *cl = ctl_cluster_life_new(base, st, &objs, &cfg);
	double start = tu_cpu_now() - t0;
	struct timeval run = {2, 50000};
	event_base_loopexit(base, &run);
	t0 = tu_cpu_now();
	event_base_dispatch(base);
	print_message("monitor with %d clusters: start %.1f ms CPU, 20 passes %.1f ms CPU\n", n, start * 1000,
		      (tu_cpu_now() - t0) * 1000);
	ctl_cluster_life_free(cl);
	event_base_free(base);
	obj_test_close(dir, &objs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbeats),
		cmocka_unit_test(test_cheap_renewal),
		cmocka_unit_test(test_monitor_judges_from_memory),
		cmocka_unit_test(test_monitor_pass_cost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
