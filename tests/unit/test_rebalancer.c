/* test_rebalancer — the pure parts of the WorkloadRebalancer controller:
 * status.observedWorkloads kept in step with spec.workloads (Karmada's
 * syncWorkloadsFromSpecToStatus), when a binding is triggered again, and the
 * TTL after finishing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "rebalancer.h"
#include "timefmt.h"

static cJSON *jq(const char *s)
{
	char *t = strdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *j = cJSON_Parse(t);
	if (!j)
		print_error("bad test JSON: %s\n", t);
	free(t);
	assert_non_null(j);
	return j;
}

static void expect_json(const cJSON *got, const char *want)
{
	cJSON *w = jq(want);
	if (!json_equal(got, w)) {
		char *g = cJSON_PrintUnformatted(got);
		print_error("got  %s\nwant %s\n", g, want);
		free(g);
		cJSON_Delete(w);
		fail();
	}
	cJSON_Delete(w);
}

static void test_observed_first_time(void **state)
{
	(void)state;
	/* New workloads get an entry without a result, sorted by
	 * "apiVersion kind namespace name"; a duplicate is listed once. */
	cJSON *rb = jq("{'spec':{'workloads':["
		       "{'apiVersion':'apps/v1','kind':'Deployment','name':'b','namespace':'default'},"
		       "{'apiVersion':'apps/v1','kind':'Deployment','name':'a','namespace':'default'},"
		       "{'apiVersion':'apps/v1','kind':'Deployment','name':'b','namespace':'default'},"
		       "{'apiVersion':'v1','kind':'Namespace','name':'ns1'}]}}");
	cJSON *o = rebalancer_observed(rb);
	expect_json(o, "[{'workload':{'apiVersion':'apps/v1','kind':'Deployment','name':'a','namespace':'default'}},"
		       "{'workload':{'apiVersion':'apps/v1','kind':'Deployment','name':'b','namespace':'default'}},"
		       "{'workload':{'apiVersion':'v1','kind':'Namespace','name':'ns1'}}]");
	cJSON_Delete(o);
	cJSON_Delete(rb);
}

static void test_observed_after_spec_change(void **state)
{
	(void)state;
	/* Still listed: kept with its result. Dropped: kept only if it
	 * succeeded. Added: a new entry. */
	cJSON *rb = jq("{'spec':{'workloads':["
		       "{'apiVersion':'apps/v1','kind':'Deployment','name':'kept','namespace':'d'},"
		       "{'apiVersion':'apps/v1','kind':'Deployment','name':'new','namespace':'d'}]},"
		       "'status':{'observedWorkloads':["
		       "{'workload':{'apiVersion':'apps/v1','kind':'Deployment','name':'kept','namespace':'d'},'result':'Failed','reason':'ReferencedBindingNotFound'},"
		       "{'workload':{'apiVersion':'apps/v1','kind':'Deployment','name':'done','namespace':'d'},'result':'Successful'},"
		       "{'workload':{'apiVersion':'apps/v1','kind':'Deployment','name':'failed','namespace':'d'},'result':'Failed'}]}}");
	cJSON *o = rebalancer_observed(rb);
	expect_json(o, "[{'workload':{'apiVersion':'apps/v1','kind':'Deployment','name':'done','namespace':'d'},'result':'Successful'},"
		       "{'workload':{'apiVersion':'apps/v1','kind':'Deployment','name':'kept','namespace':'d'},'result':'Failed','reason':'ReferencedBindingNotFound'},"
		       "{'workload':{'apiVersion':'apps/v1','kind':'Deployment','name':'new','namespace':'d'}}]");
	cJSON_Delete(o);
	cJSON_Delete(rb);
	/* Nothing at all: an empty list, never a crash. */
	cJSON *empty = jq("{'spec':{'workloads':'x'},'status':{'observedWorkloads':[1,{'workload':7}]}}");
	o = rebalancer_observed(empty);
	assert_int_equal(cJSON_GetArraySize(o), 0);
	cJSON_Delete(o);
	cJSON_Delete(empty);
}

static void test_needs_trigger(void **state)
{
	(void)state;
	assert_true(rebalancer_needs_trigger("2026-12-07T10:00:00Z", NULL));
	assert_true(rebalancer_needs_trigger("2026-12-07T10:00:01Z", "2026-12-07T10:00:00Z"));
	/* the same rebalancer again, or an older one: no new trigger */
	assert_false(rebalancer_needs_trigger("2026-12-07T10:00:00Z", "2026-12-07T10:00:00Z"));
	assert_false(rebalancer_needs_trigger("2026-12-07T09:59:59Z", "2026-12-07T10:00:00Z"));
	assert_true(rebalancer_needs_trigger("2026-12-07T10:00:00Z", "garbage"));
}

static void test_ttl(void **state)
{
	(void)state;
	time_t fin;
	assert_int_equal(time_parse_rfc3339("2026-12-07T10:00:00Z", &fin), 0);
	cJSON *rb = jq("{'spec':{'ttlSecondsAfterFinished':300},'status':{'finishTime':'2026-12-07T10:00:00Z'}}");
	long long left = 0;
	assert_true(rebalancer_ttl_left(rb, fin + 100, &left));
	assert_int_equal(left, 200);
	assert_true(rebalancer_ttl_left(rb, fin + 301, &left));
	assert_true(left <= 0);
	cJSON_Delete(rb);
	rb = jq("{'spec':{},'status':{'finishTime':'2026-12-07T10:00:00Z'}}");
	assert_false(rebalancer_ttl_left(rb, fin, &left)); /* no TTL: kept */
	cJSON_Delete(rb);
	rb = jq("{'spec':{'ttlSecondsAfterFinished':0}}");
	assert_false(rebalancer_ttl_left(rb, fin, &left)); /* not finished */
	cJSON_Delete(rb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observed_first_time),
		cmocka_unit_test(test_observed_after_spec_change),
		cmocka_unit_test(test_needs_trigger),
		cmocka_unit_test(test_ttl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
