/* hubmetrics at fleet scale: the /metrics text of a store holding N
 * clusters, N Works and a binding placed on all of them, exact; and the
 * scrape's time (ATOLL_BENCH_CLUSTERS=10000 prints it for 10,000). */
#include "testutil.h"

#include <time.h>
#include <unistd.h>

#include "hubmetrics.h"
#include "store.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put(struct store *s, const char *key, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	assert_int_equal(store_put(s, key, o, 0, NULL, NULL), 0);
	cJSON_Delete(o);
}

static void batch_open(struct store *s, void *ud) {}

static struct store *fleet(char *dir, size_t dlen, int n)
{
	tu_mkdtemp(dir, dlen, "hubmetrics");
	struct store *s = store_open_sqlite(dir, (char[256]){0}, 256);
	assert_non_null(s);
	hubmetrics_init(s);
	store_set_batching(s, batch_open, NULL); /* one transaction: no fsync per object */
	char key[512], json[4096];
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof key, "cluster.karmada.io/clusters//c%05d", i);
		snprintf(json, sizeof json,
			 "{\"apiVersion\":\"cluster.karmada.io/v1alpha1\",\"kind\":\"Cluster\",\"metadata\":{\"name\":\"c%05d\"},"
			 "\"spec\":{\"syncMode\":\"Pull\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
			 i, i % 10 == 0 ? "False" : i % 10 == 1 ? "Unknown" : "True");
		put(s, key, json);
		snprintf(key, sizeof key, "coordination.k8s.io/leases/karmada-cluster/c%05d", i);
		snprintf(json, sizeof json,
			 "{\"metadata\":{\"name\":\"c%05d\",\"namespace\":\"karmada-cluster\"},"
			 "\"spec\":{\"holderIdentity\":\"c%05d\",\"leaseDurationSeconds\":40,\"renewTime\":\"2026-01-01T00:00:00.000000Z\"}}",
			 i, i);
		put(s, key, json);
		snprintf(key, sizeof key, "work.karmada.io/works/karmada-es-c%05d/web-1", i);
		snprintf(json, sizeof json,
			 "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"karmada-es-c%05d\",\"annotations\":{"
			 "\"resourcebinding.karmada.io/name\":\"web-deployment\",\"resourcebinding.karmada.io/namespace\":\"default\"}},"
			 "\"spec\":{\"workload\":{\"manifests\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}}]}}"
			 "%s}",
			 i, i % 3 == 0 ? "" : i % 3 == 1 ? ",\"status\":{\"conditions\":[{\"type\":\"Applied\",\"status\":\"True\"}]}"
							 : ",\"status\":{\"conditions\":[{\"type\":\"Applied\",\"status\":\"False\"}]}");
		put(s, key, json);
	}
	put(s, "work.karmada.io/resourcebindings/default/web-deployment",
	    "{\"metadata\":{\"name\":\"web-deployment\",\"namespace\":\"default\"},\"spec\":{\"replicas\":1},"
	    "\"status\":{\"conditions\":[{\"type\":\"Scheduled\",\"status\":\"True\"}]}}");
	assert_int_equal(store_commit(s), 0);
	return s;
}

static char *scrape(double *cpu)
{
	double t0 = cpu_now();
	size_t len = 0;
	char *text = metrics_render(hubmetrics_registry(), &len);
	*cpu = cpu_now() - t0;
	assert_non_null(text);
	return text;
}

/* The lines of text that start with prefix, in order, joined. */
static char *lines_of(const char *text, const char *prefix)
{
	size_t cap = strlen(text) + 1, n = 0, pl = strlen(prefix);
	char *out = calloc(1, cap);
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
		if (strncmp(p, prefix, pl) == 0) {
			memcpy(out + n, p, l);
			n += l;
		}
		p += l;
	}
	return out;
}

static void expect_lines(const char *text, const char *prefix, const char *want)
{
	char *got = lines_of(text, prefix);
	if (strcmp(got, want) != 0)
		fail_msg("series %s differ.\n--- want\n%s--- got\n%s", prefix, want, got);
	free(got);
}

static void test_scrape_exact_at_scale(void **state)
{
	const char *env = getenv("ATOLL_BENCH_CLUSTERS");
	int n = env && atoi(env) > 0 ? atoi(env) : 3000;
	char dir[512];
	struct store *s = fleet(dir, sizeof dir, n);
	double cpu;
	char *text = scrape(&cpu);
	char want[2048];
	snprintf(want, sizeof want,
		 "atoll_hub_clusters{ready=\"False\"} %d\n"
		 "atoll_hub_clusters{ready=\"True\"} %d\n"
		 "atoll_hub_clusters{ready=\"Unknown\"} %d\n",
		 (n + 9) / 10, n - (n + 9) / 10 - (n + 8) / 10, (n + 8) / 10);
	expect_lines(text, "atoll_hub_clusters{", want);
	snprintf(want, sizeof want,
		 "atoll_hub_works{state=\"applied\"} %d\n"
		 "atoll_hub_works{state=\"failed\"} %d\n"
		 "atoll_hub_works{state=\"pending\"} %d\n",
		 (n + 1) / 3, n / 3, (n + 2) / 3);
	expect_lines(text, "atoll_hub_works{", want);
	expect_lines(text, "atoll_hub_bindings{",
		     "atoll_hub_bindings{state=\"Applying\"} 1\n"
		     "atoll_hub_bindings{state=\"Failed\"} 0\n"
		     "atoll_hub_bindings{state=\"Pending\"} 0\n"
		     "atoll_hub_bindings{state=\"Progressing\"} 0\n"
		     "atoll_hub_bindings{state=\"Ready\"} 0\n"
		     "atoll_hub_bindings{state=\"Unschedulable\"} 0\n");
	/* Status changes of 2/3 of the Works wait for the binding; one write
	 * of its aggregatedStatus reflects them all. */
	int waiting = n - (n + 2) / 3;
	snprintf(want, sizeof want, "atoll_hub_status_aggregation_pending %d\n", waiting);
	expect_lines(text, "atoll_hub_status_aggregation_pending ", want);
	free(text);
	/* A Work already waiting changes again: still one entry. */
	put(s, "work.karmada.io/works/karmada-es-c00001/web-1",
	    "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"karmada-es-c00001\",\"annotations\":{"
	    "\"resourcebinding.karmada.io/name\":\"web-deployment\",\"resourcebinding.karmada.io/namespace\":\"default\"}},"
	    "\"status\":{\"conditions\":[{\"type\":\"Applied\",\"status\":\"False\"}]}}");
	assert_int_equal(store_commit(s), 0);
	text = scrape(&cpu);
	expect_lines(text, "atoll_hub_status_aggregation_pending ", want);
	free(text);
	size_t cap = (size_t)n * 64 + 1024, len = 0;
	char *b = malloc(cap);
	len += (size_t)snprintf(b + len, cap - len,
				"{\"metadata\":{\"name\":\"web-deployment\",\"namespace\":\"default\"},\"spec\":{\"replicas\":1},"
				"\"status\":{\"conditions\":[{\"type\":\"Scheduled\",\"status\":\"True\"}],\"aggregatedStatus\":[");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(b + len, cap - len, "%s{\"clusterName\":\"c%05d\",\"applied\":true}", i ? "," : "", i);
	snprintf(b + len, cap - len, "]}}");
	put(s, "work.karmada.io/resourcebindings/default/web-deployment", b);
	free(b);
	assert_int_equal(store_commit(s), 0);
	text = scrape(&cpu);
	expect_lines(text, "atoll_hub_status_aggregation_pending ", "atoll_hub_status_aggregation_pending 0\n");
	snprintf(want, sizeof want, "atoll_hub_status_aggregation_lag_seconds_count %d\n", waiting);
	expect_lines(text, "atoll_hub_status_aggregation_lag_seconds_count ", want);
	free(text);
	/* a later scrape, measured */
	text = scrape(&cpu);
	print_message("scrape of %d clusters: %.1f ms CPU\n", n, cpu * 1000);
	free(text);
	hubmetrics_shutdown();
	store_close(s);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The registry's series index at the family's limit: every series found
 * by its labels, none created twice, the text sorted by label values. */
static void test_series_lookup_at_scale(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	static const char *const lc[] = {"cluster", "state", NULL};
	struct metric *m = metrics_gauge(r, "fleet_gauge", "Per cluster.", lc);
	char name[32];
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < METRICS_MAX_SERIES; i++) {
			snprintf(name, sizeof name, "c%05d", i);
			const char *l[] = {name, i % 2 ? "a" : "b"};
			metric_set(m, l, i + round);
		}
	for (int i = 0; i < METRICS_MAX_SERIES; i++) {
		snprintf(name, sizeof name, "c%05d", i);
		const char *l[] = {name, i % 2 ? "a" : "b"}, *other[] = {name, i % 2 ? "b" : "a"};
		assert_true(metric_value(m, l) == i + 1);
		assert_true(metric_value(m, other) == 0);
	}
	assert_int_equal(metrics_dropped(r), 0);
	const char *extra[] = {"one-too-many", "a"};
	metric_set(m, extra, 1);
	assert_int_equal(metrics_dropped(r), 1);
	size_t len = 0;
	char *text = metrics_render(r, &len);
	int lines = 0;
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, METRICS_MAX_SERIES + 2);
	assert_non_null(strstr(text, "# TYPE fleet_gauge gauge\nfleet_gauge{cluster=\"c00000\",state=\"b\"} 1\n"
				     "fleet_gauge{cluster=\"c00001\",state=\"a\"} 2\n"));
	free(text);
	metrics_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_lookup_at_scale),
		cmocka_unit_test(test_scrape_exact_at_scale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
