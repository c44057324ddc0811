/* test_failover_run — the failover controller over a store: the Clusters it
 * judges by are kept from the store's writes (not listed every tick), so a
 * taint written after its first pass and a Cluster deleted are seen by
 * the next pass, with the decisions of a fresh list. */
#include "objtest.h"

#include <time.h>

#include "failover.h"
#include "jsonutil.h"

static void put(struct store *s, const char *key, const char *json)
{
	cJSON *o = jq(json);
	assert_int_equal(store_put(s, key, o, 0, NULL, NULL), 0);
	cJSON_Delete(o);
}

static const char *KEY_B = "work.karmada.io/resourcebindings/default/web";

static cJSON *binding(struct store *s)
{
	char *v = NULL;
	assert_int_equal(store_get(s, KEY_B, &v, NULL), STORE_OK);
	cJSON *b = cJSON_Parse(v);
	free(v);
	return b;
}

static int tasks_from(struct store *s, const char *cluster)
{
	cJSON *b = binding(s);
	int n = 0;
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(b, "spec.gracefulEvictionTasks"))
		{
		const char *fc = json_get_str(t, "fromCluster");
		n += fc && strcmp(fc, cluster) == 0;
	}
	cJSON_Delete(b);
	return n;
}

static void cluster(struct store *s, const char *name, const char *taints)
{
	char key[200], json[1024];
	snprintf(key, sizeof key, "cluster.karmada.io/clusters//%s", name);
	snprintf(json, sizeof json,
		 "{'apiVersion':'cluster.karmada.io/v1alpha1','kind':'Cluster','metadata':{'name':'%s'},"
		 "'spec':{'syncMode':'Pull'%s%s},'status':{'conditions':[{'type':'Ready','status':'True'}]}}",
		 name, taints ? ",'taints':" : "", taints ? taints : "");
	put(s, key, json);
}

static void test_clusters_followed_from_writes(void **state)
{
	char dir[256];
	struct obj_ctx objs = {0};
	obj_test_open(dir, sizeof dir, "failover-run", &objs);
	struct store *s = objs.store;
	for (int i = 1; i <= 3; i++) {
		char n[8];
		snprintf(n, sizeof n, "m%d", i);
		cluster(s, n, NULL);
	}
	put(s, KEY_B,
	    "{'apiVersion':'work.karmada.io/v1alpha2','kind':'ResourceBinding','metadata':{'name':'web','namespace':'default',"
	    "'generation':1},'spec':{'replicas':3,'resource':{'apiVersion':'apps/v1','kind':'Deployment','namespace':'default',"
	    "'name':'web'},'clusters':[{'name':'m1','replicas':1},{'name':'m2','replicas':1},{'name':'m3','replicas':1}]},"
	    "'status':{'schedulerObservedGeneration':1}}");
	struct failover *f = failover_start(NULL, s, &objs);
	failover_run_once(f);
	assert_int_equal(tasks_from(s, "m1") + tasks_from(s, "m2") + tasks_from(s, "m3"), 0);

	/* A NoExecute taint written after the first pass: evicted at the next. */
	cluster(s, "m2", "[{'key':'k','effect':'NoExecute'}]");
	failover_run_once(f);
	assert_int_equal(tasks_from(s, "m2"), 1);
	assert_int_equal(tasks_from(s, "m1"), 0);

	/* A Cluster deleted is forgotten: its taint no longer evicts. */
	assert_int_equal(store_delete(s, "cluster.karmada.io/clusters//m3", 0, NULL, NULL), 0);
	cluster(s, "m1", "[{'key':'k','effect':'NoSchedule'}]");
	failover_run_once(f);
	assert_int_equal(tasks_from(s, "m1"), 0);
	assert_int_equal(tasks_from(s, "m3"), 0);

	failover_stop(f);
	obj_test_close(dir, &objs);
}

static void batch_open(struct store *s, void *ud) {}

/* ATOLL_BENCH_CLUSTERS=N: a pass's CPU with N Clusters, the first (which
 * lists and parses them, as every pass did before) and the next ones. */
static void test_pass_cost(void **state)
{
	const char *env = getenv("ATOLL_BENCH_CLUSTERS");
	int n = env && atoi(env) > 0 ? atoi(env) : 200;
	char dir[256];
	struct obj_ctx objs = {0};
	obj_test_open(dir, sizeof dir, "failover-cost", &objs);
	struct store *s = objs.store;
	store_set_batching(s, batch_open, NULL);
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "c%05d", i);
		cluster(s, name, NULL);
	}
	assert_int_equal(store_commit(s), 0);
	struct failover *f = failover_start(NULL, s, &objs);
	double t0 = tu_cpu_now();
	failover_run_once(f);
	double first = tu_cpu_now() - t0;
	t0 = tu_cpu_now();
	for (int i = 0; i < 10; i++)
		failover_run_once(f);
	double next = (tu_cpu_now() - t0) / 10;
	print_message("failover pass with %d clusters: first (list) %.2f ms CPU, next %.3f ms CPU\n", n, first * 1000,
		      next * 1000);
	failover_stop(f);
	obj_test_close(dir, &objs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clusters_followed_from_writes),
		cmocka_unit_test(test_pass_cost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
