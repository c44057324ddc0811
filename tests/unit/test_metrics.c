#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(struct metrics_registry *r)
{
	size_t len = 0;
	char *s = metrics_render(r, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	return s;
}

static void expect_text(struct metrics_registry *r, const char *want)
{
	char *got = render(r);
	if (strcmp(got, want) != 0)
		fail_msg("exposition differs.\n--- want\n%s--- got\n%s", want, got);
	free(got);
}

static void test_exposition_exact(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	static const char *const vrc[] = {"verb", "code", NULL};
	struct metric *req = metrics_counter(r, "http_requests_total", "Requests served.", vrc);
	struct metric *up = metrics_gauge(r, "up", "Whether the thing is up.", NULL);
	static const double b[] = {0.1, 1, 2.5};
	struct metric *lat = metrics_histogram(r, "latency_seconds", "Latency.", NULL, b, 3);
	assert_non_null(req);
	assert_non_null(up);
	assert_non_null(lat);
	const char *l1[] = {"list", "200"}, *l2[] = {"get", "404"}, *l3[] = {"get", "200"};
	metric_inc(req, l1);
	metric_inc(req, l1);
	metric_add(req, l2, 3);
	metric_inc(req, l3);
	metric_set(up, NULL, 1);
	metric_observe(lat, NULL, 0.05);
	metric_observe(lat, NULL, 0.1); /* le is inclusive */
	metric_observe(lat, NULL, 2);
	metric_observe(lat, NULL, 7.25);
	expect_text(r, "# HELP http_requests_total Requests served.\n"
		       "# TYPE http_requests_total counter\n"
		       "http_requests_total{verb=\"get\",code=\"200\"} 1\n"
		       "http_requests_total{verb=\"get\",code=\"404\"} 3\n"
		       "http_requests_total{verb=\"list\",code=\"200\"} 2\n"
		       "# HELP up Whether the thing is up.\n"
		       "# TYPE up gauge\n"
		       "up 1\n"
		       "# HELP latency_seconds Latency.\n"
		       "# TYPE latency_seconds histogram\n"
		       "latency_seconds_bucket{le=\"0.1\"} 2\n"
		       "latency_seconds_bucket{le=\"1\"} 2\n"
		       "latency_seconds_bucket{le=\"2.5\"} 3\n"
		       "latency_seconds_bucket{le=\"+Inf\"} 4\n"
		       "latency_seconds_sum 9.4\n"
		       "latency_seconds_count 4\n");
	assert_true(metric_value(req, l1) == 2);
	assert_true(metric_value(lat, NULL) == 4);
	assert_true(fabs(metric_hist_sum(lat, NULL) - 9.4) < 1e-9);
	metrics_registry_free(r);
}

static void test_empty_families(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	static const char *const l[] = {"kind", NULL};
	metrics_counter(r, "a_total", "A.", NULL);
	metrics_gauge(r, "b", "B.", l);
	static const double b[] = {1};
	metrics_histogram(r, "c_seconds", "C.", NULL, b, 1);
	/* Label-less families show a zero series; labelled ones only their header. */
	expect_text(r, "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n"
		       "# HELP b B.\n# TYPE b gauge\n"
		       "# HELP c_seconds C.\n# TYPE c_seconds histogram\n"
		       "c_seconds_bucket{le=\"1\"} 0\nc_seconds_bucket{le=\"+Inf\"} 0\n"
		       "c_seconds_sum 0\nc_seconds_count 0\n");
	metrics_registry_free(r);
}

static void test_label_escaping(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	static const char *const l[] = {"path", NULL};
	struct metric *m = metrics_counter(r, "odd_total", "Help with \\ backslash\nand newline \"quoted\".", l);
	const char *v[] = {"a\"b\\c\nd"};
	metric_inc(m, v);
	const char *empty[] = {NULL};
	metric_inc(m, empty);
	expect_text(r, "# HELP odd_total Help with \\\\ backslash\\nand newline \"quoted\".\n"
		       "# TYPE odd_total counter\n"
		       "odd_total{path=\"\"} 1\n"
		       "odd_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
	metrics_registry_free(r);
}

static void test_histogram_buckets_with_labels(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	static const char *const l[] = {"op", NULL};
	struct metric *h = metrics_histogram(r, "op_seconds", "Ops.", l, NULL, 0); /* default buckets */
	const char *a[] = {"apply"};
	metric_observe(h, a, 0.005); /* exactly on the first bound */
	metric_observe(h, a, 0.3);
	metric_observe(h, a, 11);
	metric_observe(h, a, NAN); /* ignored */
	char *s = render(r);
	assert_non_null(strstr(s, "op_seconds_bucket{op=\"apply\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(s, "op_seconds_bucket{op=\"apply\",le=\"0.25\"} 1\n"));
	assert_non_null(strstr(s, "op_seconds_bucket{op=\"apply\",le=\"0.5\"} 2\n"));
	assert_non_null(strstr(s, "op_seconds_bucket{op=\"apply\",le=\"10\"} 2\n"));
	assert_non_null(strstr(s, "op_seconds_bucket{op=\"apply\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(s, "op_seconds_sum{op=\"apply\"} 11.305\n"));
	assert_non_null(strstr(s, "op_seconds_count{op=\"apply\"} 3\n"));
	/* Buckets are cumulative and in increasing order: 11 bounds + Inf. */
	int n = 0;
	for (const char *p = s; (p = strstr(p, "op_seconds_bucket{")); p++)
		n++;
	assert_int_equal(n, 12);
	free(s);
	metrics_registry_free(r);
}

static void test_invalid_names(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	static const char *const dunder[] = {"__x", NULL}, *const le[] = {"le", NULL}, *const dash[] = {"a-b", NULL},
				 *const dup[] = {"a", "a", NULL};
	assert_null(metrics_counter(r, "1abc", "", NULL));
	assert_null(metrics_counter(r, "a-b", "", NULL));
	assert_null(metrics_counter(r, "", "", NULL));
	assert_null(metrics_counter(r, "ok_total", "", dunder));
	assert_null(metrics_counter(r, "ok_total", "", dash));
	assert_null(metrics_counter(r, "ok_total", "", dup));
	assert_null(metrics_histogram(r, "h", "", le, NULL, 0));
	static const double bad[] = {1, 1};
	assert_null(metrics_histogram(r, "h", "", NULL, bad, 2));
	static const double inf[] = {1, INFINITY};
	assert_null(metrics_histogram(r, "h", "", NULL, inf, 2));
	assert_non_null(metrics_counter(r, "ns:sub_total", "", NULL));
	/* Same shape: the same family; another type or labels: refused. */
	struct metric *g = metrics_gauge(r, "g", "", NULL);
	assert_ptr_equal(metrics_gauge(r, "g", "other help", NULL), g);
	assert_null(metrics_counter(r, "g", "", NULL));
	static const char *const x[] = {"x", NULL};
	assert_null(metrics_gauge(r, "g", "", x));
	/* NULL metrics are ignored. */
	metric_inc(NULL, NULL);
	metric_set(NULL, NULL, 1);
	metric_observe(NULL, NULL, 1);
	metrics_registry_free(r);
}

static void test_counter_rules_and_clear(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	struct metric *c = metrics_counter(r, "c_total", "", NULL);
	metric_add(c, NULL, -1); /* counters never go down */
	metric_set(c, NULL, 5);  /* nor are set */
	metric_add(c, NULL, 2.5);
	assert_true(metric_value(c, NULL) == 2.5);
	static const char *const l[] = {"state", NULL};
	struct metric *g = metrics_gauge(r, "g", "", l);
	const char *a[] = {"a"}, *b[] = {"b"};
	metric_set(g, a, 1);
	metric_set(g, b, -2);
	metric_add(g, b, -1);
	assert_true(metric_value(g, b) == -3);
	metric_clear(g);
	assert_true(metric_value(g, a) == 0);
	metric_set(g, b, 4);
	expect_text(r, "# HELP c_total \n# TYPE c_total counter\nc_total 2.5\n# HELP g \n# TYPE g gauge\ng{state=\"b\"} 4\n");
	metrics_registry_free(r);
}

static void test_format_value(void **state)
{
	char b[64];
	assert_string_equal(metrics_format_value(0, b, sizeof b), "0");
	assert_string_equal(metrics_format_value(-0.0, b, sizeof b), "0");
	assert_string_equal(metrics_format_value(42, b, sizeof b), "42");
	assert_string_equal(metrics_format_value(-7, b, sizeof b), "-7");
	assert_string_equal(metrics_format_value(0.1, b, sizeof b), "0.1");
	assert_string_equal(metrics_format_value(0.0005, b, sizeof b), "0.0005");
	assert_string_equal(metrics_format_value(1.0 / 3, b, sizeof b), "0.3333333333333333");
	assert_string_equal(metrics_format_value(1e20, b, sizeof b), "1e+20");
	assert_string_equal(metrics_format_value(INFINITY, b, sizeof b), "+Inf");
	assert_string_equal(metrics_format_value(-INFINITY, b, sizeof b), "-Inf");
	assert_string_equal(metrics_format_value(NAN, b, sizeof b), "NaN");
}

static void test_cardinality_cap(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	static const char *const l[] = {"id", NULL};
	struct metric *c = metrics_counter(r, "many_total", "", l);
	char id[32];
	for (int i = 0; i < METRICS_MAX_SERIES + 5; i++) {
		snprintf(id, sizeof id, "%d", i);
		const char *v[] = {id};
		metric_inc(c, v);
	}
	assert_int_equal(metrics_dropped(r), 5);
	const char *first[] = {"0"}, *late[] = {"4100"};
	metric_inc(c, first); /* existing series still update */
	assert_true(metric_value(c, first) == 2);
	assert_true(metric_value(c, late) == 0);
	metrics_registry_free(r);
}

static struct metric *shared_counter;

static void *bump(void *arg)
{
	static const char *const v[] = {"x"};
	for (int i = 0; i < 20000; i++)
		metric_inc(shared_counter, v);
	return NULL;
}

static void test_threads(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	static const char *const l[] = {"k", NULL};
	shared_counter = metrics_counter(r, "t_total", "", l);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, bump, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	static const char *const v[] = {"x"};
	assert_true(metric_value(shared_counter, v) == 80000);
	metrics_registry_free(r);
}

static int collected;

static void collector(struct metrics_registry *r, void *ud)
{
	collected++;
	metric_set(ud, NULL, collected);
}

static void test_collector(void **state)
{
	struct metrics_registry *r = metrics_registry_new();
	struct metric *g = metrics_gauge(r, "scrapes", "", NULL);
	metrics_add_collector(r, collector, g);
	collected = 0;
	char *s = render(r);
	assert_non_null(strstr(s, "scrapes 1\n"));
	free(s);
	s = render(r);
	assert_non_null(strstr(s, "scrapes 2\n"));
	free(s);
	metrics_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exposition_exact),
		cmocka_unit_test(test_empty_families),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_histogram_buckets_with_labels),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_counter_rules_and_clear),
		cmocka_unit_test(test_format_value),
		cmocka_unit_test(test_cardinality_cap),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_collector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
