/* test_failover — the pure parts of failover.h: ClusterTaintPolicy condition
 * matching and taint updates, the taint manager's eviction time from
 * NoExecute taints and tolerations, eviction into gracefulEvictionTasks,
 * the graceful eviction controller's decisions, the Works kept for clusters
 * under eviction, statePreservation, default tolerations, the unknown
 * status of clusters that are not Ready, and the scheduler's taint and
 * eviction filters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover.h"
#include "jsonutil.h"
#include "testutil.h"
#include "kinds.h"
#include "scheduler.h"
#include "timefmt.h"

static char *pr(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	for (char *p = s; *p; p++)
		if (*p == '"')
			*p = '\'';
	return s;
}

static void assert_json(const cJSON *j, const char *want)
{
	char *got = pr(j);
	assert_string_equal(got, want);
	free(got);
}

#define T0 "2026-01-01T00:00:00Z"
static time_t t0(void)
{
	time_t t;
	assert_int_equal(time_parse_rfc3339(T0, &t), 0);
	return t;
}

static cJSON *cluster(const char *name, const char *ready, const char *taints)
{
	char buf[1024];
	snprintf(buf, sizeof buf,
		 "{'metadata':{'name':'%s','labels':{'env':'prod'}},'spec':{'syncMode':'Pull'%s%s},"
		 "'status':{'conditions':[%s%s%s]}}",
		 name, taints ? ",'taints':" : "", taints ? taints : "", ready ? "{'type':'Ready','status':'" : "",
		 ready ? ready : "", ready ? "'}" : "");
	return jq(buf);
}

static void test_conditions_match(void **state)
{
	cJSON *c = cluster("m1", "False", NULL);
	cJSON *m = jq("[{'conditionType':'Ready','operator':'NotIn','statusValues':['True']}]");
	assert_true(failover_conditions_match(c, m));
	cJSON_Delete(m);
	m = jq("[{'conditionType':'Ready','operator':'In','statusValues':['True','Unknown']}]");
	assert_false(failover_conditions_match(c, m));
	cJSON_Delete(m);
	/* Every condition must hold (AND). */
	m = jq("[{'conditionType':'Ready','operator':'In','statusValues':['False']},"
	       "{'conditionType':'Ready','operator':'NotIn','statusValues':['False']}]");
	assert_false(failover_conditions_match(c, m));
	cJSON_Delete(m);
	/* A missing condition: In fails, NotIn holds. */
	m = jq("[{'conditionType':'NetworkOK','operator':'In','statusValues':['False']}]");
	assert_false(failover_conditions_match(c, m));
	cJSON_Delete(m);
	m = jq("[{'conditionType':'NetworkOK','operator':'NotIn','statusValues':['True']}]");
	assert_true(failover_conditions_match(c, m));
	cJSON_Delete(m);
	/* No conditions never match; an unknown operator never matches. */
	m = jq("[]");
	assert_false(failover_conditions_match(c, m));
	cJSON_Delete(m);
	m = jq("[{'conditionType':'Ready','operator':'Exists','statusValues':['False']}]");
	assert_false(failover_conditions_match(c, m));
	cJSON_Delete(m);
	cJSON_Delete(c);
}

static const char *POLICIES =
    "[{'metadata':{'name':'p'},'spec':{'targetClusters':{'clusterNames':['m1','m2']},"
    "'addOnConditions':[{'conditionType':'Ready','operator':'NotIn','statusValues':['True']}],"
    "'removeOnConditions':[{'conditionType':'Ready','operator':'In','statusValues':['True']}],"
    "'taints':[{'key':'cluster.karmada.io/not-ready','effect':'NoExecute'}]}}]";

static void test_policy_taints(void **state)
{
	cJSON *pols = jq(POLICIES);
	bool changed;
	/* Added, with timeAdded, next to the system's NoSchedule taint. */
	cJSON *c = cluster("m1", "Unknown", "[{'key':'cluster.karmada.io/unreachable','effect':'NoSchedule'}]");
	cJSON *t = failover_policy_taints(c, pols, T0, &changed);
	assert_true(changed);
	assert_json(t, "[{'key':'cluster.karmada.io/unreachable','effect':'NoSchedule'},"
		       "{'key':'cluster.karmada.io/not-ready','effect':'NoExecute','timeAdded':'" T0 "'}]");
	/* Present already: no change. */
	json_set(json_ensure_obj(c, "spec"), "taints", t);
	t = failover_policy_taints(c, pols, "2026-01-01T00:05:00Z", &changed);
	assert_false(changed);
	cJSON_Delete(t);
	cJSON_Delete(c);
	/* Ready again: removed; the other taint stays. */
	c = cluster("m1", "True",
		    "[{'key':'x','effect':'NoSchedule'},{'key':'cluster.karmada.io/not-ready','effect':'NoExecute',"
		    "'timeAdded':'" T0 "'}]");
	t = failover_policy_taints(c, pols, T0, &changed);
	assert_true(changed);
	assert_json(t, "[{'key':'x','effect':'NoSchedule'}]");
	cJSON_Delete(t);
	cJSON_Delete(c);
	/* Not a target cluster: untouched. */
	c = cluster("m3", "False", NULL);
	t = failover_policy_taints(c, pols, T0, &changed);
	assert_false(changed);
	assert_json(t, "[]");
	cJSON_Delete(t);
	cJSON_Delete(c);
	/* A NoExecute taint without timeAdded gets one (the clock starts). */
	c = cluster("m9", "True", "[{'key':'k','effect':'NoExecute'}]");
	t = failover_policy_taints(c, pols, T0, &changed);
	assert_true(changed);
	assert_json(t, "[{'key':'k','effect':'NoExecute','timeAdded':'" T0 "'}]");
	cJSON_Delete(t);
	cJSON_Delete(c);
	cJSON_Delete(pols);
}

static void test_eviction_time(void **state)
{
	time_t now = t0() + 100;
	cJSON *c = cluster("m1", "False",
			   "[{'key':'cluster.karmada.io/not-ready','effect':'NoExecute','timeAdded':'" T0 "'},"
			   "{'key':'cluster.karmada.io/unreachable','effect':'NoSchedule'}]");
	/* Not tolerated: now. */
	cJSON *tols = jq("[]");
	assert_int_equal(failover_eviction_time(c, tols, now), now);
	cJSON_Delete(tols);
	/* Tolerated 300 s from timeAdded. */
	tols = jq("[{'key':'cluster.karmada.io/not-ready','operator':'Exists','effect':'NoExecute','tolerationSeconds':300}]");
	assert_int_equal(failover_eviction_time(c, tols, now), t0() + 300);
	cJSON_Delete(tols);
	/* The smallest of the matching tolerations; past due is now. */
	tols = jq("[{'key':'cluster.karmada.io/not-ready','operator':'Exists','effect':'NoExecute','tolerationSeconds':300},"
		  "{'operator':'Exists','effect':'NoExecute','tolerationSeconds':30}]");
	assert_int_equal(failover_eviction_time(c, tols, now), now);
	cJSON_Delete(tols);
	/* Tolerated for ever (no seconds). */
	tols = jq("[{'key':'cluster.karmada.io/not-ready','operator':'Exists','effect':'NoExecute'}]");
	assert_int_equal(failover_eviction_time(c, tols, now), -1);
	cJSON_Delete(tols);
	/* A toleration of another effect does not tolerate NoExecute. */
	tols = jq("[{'key':'cluster.karmada.io/not-ready','operator':'Exists','effect':'NoSchedule'}]");
	assert_int_equal(failover_eviction_time(c, tols, now), now);
	cJSON_Delete(tols);
	cJSON_Delete(c);
	/* NoSchedule taints alone never evict. */
	c = cluster("m1", "Unknown", "[{'key':'cluster.karmada.io/unreachable','effect':'NoSchedule'}]");
	tols = jq("[]");
	assert_int_equal(failover_eviction_time(c, tols, now), -1);
	cJSON_Delete(tols);
	cJSON_Delete(c);
}

static const char *BINDING =
    "{'metadata':{'name':'web-deployment','namespace':'default','generation':3},"
    "'spec':{'replicas':4,'clusters':[{'name':'m1','replicas':3},{'name':'m2','replicas':1}]},"
    "'status':{'schedulerObservedGeneration':3,'aggregatedStatus':["
    "{'clusterName':'m1','applied':true,'health':'Healthy','status':{'readyReplicas':3,'zone':'a'}},"
    "{'clusterName':'m2','applied':true,'health':'Healthy'}]}}";

static void test_evict_and_assess(void **state)
{
	cJSON *b = jq(BINDING);
	cJSON *keep = jq("{'zone':'a'}");
	assert_false(failover_evict(b, "m9", "Gracefully", "TaintUntolerated", "TaintManager", "msg", 0, NULL, T0));
	assert_true(failover_evict(b, "m1", "Gracefully", "TaintUntolerated", "TaintManager", "msg", 0, keep, T0));
	assert_json(json_get(b, "spec.clusters"), "[{'name':'m2','replicas':1}]");
	assert_json(json_get(b, "spec.gracefulEvictionTasks"),
		    "[{'fromCluster':'m1','purgeMode':'Gracefully','replicas':3,'reason':'TaintUntolerated','message':'msg',"
		    "'producer':'TaintManager','preservedLabelState':{'zone':'a'},'clustersBeforeFailover':['m1','m2'],"
		    "'creationTimestamp':'" T0 "'}]");
	cJSON_Delete(keep);
	/* The evicted cluster's Work stays (Gracefully). */
	cJSON *targets = jq("[{'name':'m2','replicas':4}]");
	cJSON *kept = failover_works_kept(b, targets);
	assert_json(kept, "[{'name':'m2','replicas':4},{'name':'m1','replicas':3}]");
	cJSON_Delete(kept);
	/* Not scheduled yet (generation moved): the task stays. */
	json_set_num(json_ensure_obj(b, "metadata"), "generation", 4);
	assert_int_equal(failover_assess_tasks(b, t0() + 10, 600), 0);
	/* Scheduled, and every target applied and Healthy: done. */
	json_set_num(json_ensure_obj(b, "status"), "schedulerObservedGeneration", 4);
	cJSON *b2 = json_dup(b);
	assert_int_equal(failover_assess_tasks(b2, t0() + 10, 600), 1);
	assert_null(json_get(b2, "spec.gracefulEvictionTasks"));
	cJSON_Delete(b2);
	/* A target not Healthy: stays until the timeout, then goes. */
	cJSON *it = cJSON_GetArrayItem(json_get(b, "status.aggregatedStatus"), 1);
	json_set_str(it, "health", "Unhealthy");
	assert_int_equal(failover_assess_tasks(b, t0() + 599, 600), 0);
	assert_int_equal(failover_assess_tasks(b, t0() + 600, 600), 1);
	cJSON_Delete(b);

	/* An empty placement keeps the task whatever the time: the evicted
	 * copy may be the only one. */
	b = jq(BINDING);
	assert_true(failover_evict(b, "m1", "Gracefully", "r", "p", "m", 30, NULL, T0));
	assert_true(failover_evict(b, "m2", "Gracefully", "r", "p", "m", 30, NULL, T0));
	assert_int_equal(cJSON_GetArraySize(json_get(b, "spec.gracefulEvictionTasks")), 2);
	assert_int_equal((int)json_get_num(cJSON_GetArrayItem(json_get(b, "spec.gracefulEvictionTasks"), 0),
					   "gracePeriodSeconds", 0), 30);
	assert_int_equal(failover_assess_tasks(b, t0() + 100000, 600), 0);
	cJSON_Delete(b);

	/* Never: suppressDeletion, kept for ever; Directly: no Work kept. */
	b = jq(BINDING);
	assert_true(failover_evict(b, "m1", "Never", "ApplicationFailure", "p", "m", 0, NULL, T0));
	assert_true(failover_evict(b, "m2", "Directly", "TaintUntolerated", "p", "m", 0, NULL, T0));
	assert_true(cJSON_IsTrue(json_get(cJSON_GetArrayItem(json_get(b, "spec.gracefulEvictionTasks"), 0),
					  "suppressDeletion")));
	cJSON *none = jq("[]");
	kept = failover_works_kept(b, none);
	assert_json(kept, "[{'name':'m1','replicas':3}]");
	cJSON_Delete(kept);
	cJSON_Delete(none);
	json_set(json_ensure_obj(b, "spec"), "clusters", jq("[{'name':'m3','replicas':4}]"));
	json_set(json_ensure_obj(b, "status"), "aggregatedStatus",
		 jq("[{'clusterName':'m3','applied':true,'health':'Healthy'}]"));
	assert_int_equal(failover_assess_tasks(b, t0() + 100000, 600), 1); /* Directly goes, Never stays */
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(b, "spec.gracefulEvictionTasks"), 0), "fromCluster"),
			    "m1");
	/* suppressDeletion false: the user confirmed the deletion. */
	json_set(cJSON_GetArrayItem(json_get(b, "spec.gracefulEvictionTasks"), 0), "suppressDeletion",
		 cJSON_CreateFalse());
	assert_int_equal(failover_assess_tasks(b, t0(), 600), 1);
	cJSON_Delete(b);
	cJSON_Delete(targets);
}

static void test_preserve_state(void **state)
{
	cJSON *rules = jq("[{'aliasLabelName':'app.failover/ready','jsonPath':'{.readyReplicas}'},"
			  "{'aliasLabelName':'app.failover/zone','jsonPath':'{.info.zone}'},"
			  "{'aliasLabelName':'missing','jsonPath':'{.nope}'},{'aliasLabelName':'bad','jsonPath':'zone'}]");
	cJSON *st = jq("{'readyReplicas':3,'info':{'zone':'z1'}}");
	cJSON *out = failover_preserve_state(rules, st);
	assert_json(out, "{'app.failover/ready':'3','app.failover/zone':'z1'}");
	cJSON_Delete(out);
	assert_null(failover_preserve_state(rules, NULL));
	cJSON_Delete(st);
	cJSON_Delete(rules);
}

static void test_inject_state(void **state)
{
	cJSON *b = jq("{'spec':{'gracefulEvictionTasks':[{'fromCluster':'m1','clustersBeforeFailover':['m1','m2'],"
		      "'preservedLabelState':{'app.failover/ready':'3'}}]}}");
	cJSON *w = jq("{'spec':{'workload':{'manifests':[{'kind':'Deployment','metadata':{'name':'web'}}]}}}");
	/* A cluster that had the workload before the failover: untouched. */
	assert_false(failover_inject_state(w, b, "m2"));
	assert_json(w, "{'spec':{'workload':{'manifests':[{'kind':'Deployment','metadata':{'name':'web'}}]}}}");
	assert_true(failover_inject_state(w, b, "m3"));
	assert_json(w, "{'spec':{'workload':{'manifests':[{'kind':'Deployment','metadata':{'name':'web',"
		       "'labels':{'app.failover/ready':'3'}}}]}}}");
	assert_false(failover_inject_state(w, b, "m3"));
	cJSON_Delete(w);
	cJSON_Delete(b);
}

/* corev1.Toleration.ToleratesTaint, shared by the scheduler's filter and
 * the taint manager. */
static void test_tolerates_taint(void **state)
{
	(void)state;
	static const struct {
		const char *tol;
		const char *key, *value, *effect;
		bool want;
	} cases[] = {
	    {"{'key':'k','operator':'Equal','value':'v','effect':'NoExecute'}", "k", "v", "NoExecute", true},
	    {"{'key':'k','value':'v'}", "k", "v", "NoSchedule", true}, /* empty operator = Equal, empty effect = all */
	    {"{'key':'k','operator':'Equal','value':'v'}", "k", "w", "NoExecute", false},
	    {"{'key':'k','operator':'Equal'}", "k", NULL, "NoExecute", true}, /* no value on either side */
	    {"{'key':'k','operator':'Exists','effect':'NoSchedule'}", "k", "v", "NoExecute", false},
	    {"{'key':'k','operator':'Exists'}", "k", "v", "NoExecute", true},
	    {"{'key':'j','operator':'Exists'}", "k", "v", "NoExecute", false},
	    {"{'operator':'Exists','effect':'NoExecute'}", "any", "v", "NoExecute", true}, /* empty key + Exists */
	    {"{'operator':'Exists'}", "any", "", "NoSchedule", true},
	    {"{'operator':'Equal','value':'v'}", "k", "v", "NoExecute", false}, /* empty key needs Exists */
	    {"{'key':'k','operator':'Gt','value':'v'}", "k", "v", "NoExecute", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *tol = jq(cases[i].tol);
		if (sched_tolerates_taint(tol, cases[i].key, cases[i].value, cases[i].effect) != cases[i].want)
			fail_msg("case %zu: %s", i, cases[i].tol);
		cJSON_Delete(tol);
	}
}

static void test_default_tolerations(void **state)
{
	struct failover_config cfg = {.not_ready_toleration_s = 20, .unreachable_toleration_s = 300};
	failover_configure(&cfg);
	const struct kind_info *pp = kinds_find_kind("policy.karmada.io", "v1alpha1", "PropagationPolicy");
	assert_non_null(pp);
	cJSON *p = jq("{'spec':{'resourceSelectors':[],'placement':{'clusterTolerations':["
		      "{'key':'cluster.karmada.io/unreachable','operator':'Exists','effect':'NoExecute','tolerationSeconds':5}]}}}");
	failover_default_tolerations(pp, p);
	assert_json(json_get(p, "spec.placement.clusterTolerations"),
		    "[{'key':'cluster.karmada.io/unreachable','operator':'Exists','effect':'NoExecute','tolerationSeconds':5},"
		    "{'key':'cluster.karmada.io/not-ready','operator':'Exists','effect':'NoExecute','tolerationSeconds':20}]");
	/* Idempotent (on update). */
	failover_default_tolerations(pp, p);
	assert_int_equal(cJSON_GetArraySize(json_get(p, "spec.placement.clusterTolerations")), 2);
	cJSON_Delete(p);
	/* Wrongly typed placement: left for validation. */
	p = jq("{'spec':{'placement':'x'}}");
	failover_default_tolerations(pp, p);
	assert_json(p, "{'spec':{'placement':'x'}}");
	cJSON_Delete(p);
	/* Other kinds untouched. */
	p = jq("{'spec':{'placement':{}}}");
	failover_default_tolerations(kinds_find_kind("policy.karmada.io", "v1alpha1", "OverridePolicy"), p);
	assert_json(p, "{'spec':{'placement':{}}}");
	cJSON_Delete(p);
	struct failover_config def = {.not_ready_toleration_s = -1, .unreachable_toleration_s = -1};
	failover_configure(&def);
}

static void test_mask_unreachable(void **state)
{
	cJSON *clusters = cJSON_CreateArray();
	cJSON_AddItemToArray(clusters, cluster("m1", "True", NULL));
	cJSON_AddItemToArray(clusters, cluster("m2", "Unknown", NULL));
	cJSON_AddItemToArray(clusters, cluster("m3", NULL, NULL));
	cJSON *st = jq("{'aggregatedStatus':[{'clusterName':'m1','applied':true,'health':'Healthy','status':{'r':1}},"
		       "{'clusterName':'m2','applied':true,'health':'Healthy','status':{'r':2}},"
		       "{'clusterName':'m3','applied':true,'health':'Healthy','status':{'r':3}}]}");
	failover_mask_unreachable(st, clusters, T0);
	assert_json(json_get(st, "aggregatedStatus"),
		    "[{'clusterName':'m1','applied':true,'health':'Healthy','status':{'r':1}},"
		    "{'clusterName':'m2','applied':true,'health':'Unknown'},"
		    "{'clusterName':'m3','applied':true,'health':'Healthy','status':{'r':3}}]");
	assert_json(json_get(st, "conditions"),
		    "[{'type':'ClusterStatusUnknown','status':'True','lastTransitionTime':'" T0 "','reason':'ClusterNotReady',"
		    "'message':'the status of cluster(s) m2 (Ready=Unknown) is unknown: their last report is not counted'}]");
	/* m2 back: the condition turns False; never there: absent. */
	json_set_str(cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(clusters, 1), "status.conditions"), 0), "status",
		     "True");
	cJSON *st2 = jq("{'aggregatedStatus':[{'clusterName':'m2','applied':true,'health':'Healthy'}]}");
	json_set(st2, "conditions", json_dup(json_get(st, "conditions")));
	failover_mask_unreachable(st2, clusters, "2026-01-01T00:01:00Z");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(st2, "conditions"), 0), "status"), "False");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(st2, "conditions"), 0), "reason"), "AllClustersReady");
	cJSON_Delete(st2);
	st2 = jq("{'aggregatedStatus':[{'clusterName':'m1','applied':true,'health':'Healthy'}]}");
	failover_mask_unreachable(st2, clusters, T0);
	assert_null(json_get(st2, "conditions"));
	cJSON_Delete(st2);
	cJSON_Delete(st);
	cJSON_Delete(clusters);
}

/* The scheduler: a tainted cluster already in the placement stays (Karmada's
 * TaintToleration skips it); a new placement avoids it; a cluster under
 * eviction is filtered (ClusterEviction). */
static void test_scheduler_taints_and_evictions(void **state)
{
	cJSON *clusters = cJSON_CreateArray();
	cJSON_AddItemToArray(clusters, cluster("m1", "True", NULL));
	cJSON_AddItemToArray(clusters,
			     cluster("m2", "Unknown", "[{'key':'cluster.karmada.io/unreachable','effect':'NoSchedule'}]"));
	cJSON_AddItemToArray(clusters, cluster("m3", "True", NULL));
	cJSON *placement = jq("{'replicaScheduling':{'replicaSchedulingType':'Divided','replicaDivisionPreference':'Weighted'}}");
	cJSON *wl = jq("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'w','uid':''},'spec':{'replicas':6}}");
	struct sched_result r;
	cJSON *prev = jq("[{'name':'m1','replicas':2},{'name':'m2','replicas':2},{'name':'m3','replicas':2}]");
	assert_int_equal(schedule_full(clusters, placement, wl, true, prev, NULL, false, &r), 0);
	char buf[256];
	sched_result_format(&r, buf, sizeof buf);
	assert_string_equal(buf, "{m1:2, m2:2, m3:2}");
	sched_result_free(&r);
	/* A fresh placement avoids the tainted cluster. */
	assert_int_equal(schedule_full(clusters, placement, wl, true, NULL, NULL, false, &r), 0);
	sched_result_format(&r, buf, sizeof buf);
	assert_string_equal(buf, "{m1:3, m3:3}");
	sched_result_free(&r);
	/* Under eviction from m1 (not in the previous result any more). */
	cJSON *tasks = jq("[{'fromCluster':'m1','purgeMode':'Gracefully'}]");
	cJSON *prev2 = jq("[{'name':'m3','replicas':2}]");
	assert_int_equal(schedule_full(clusters, placement, wl, true, prev2, tasks, false, &r), 0);
	sched_result_format(&r, buf, sizeof buf);
	assert_string_equal(buf, "{m3:6}");
	sched_result_free(&r);
	/* A NoExecute taint tolerated for a time keeps new placements away
	 * (the taint manager would evict them); tolerated for ever, it does not. */
	cJSON *ne = cJSON_GetArrayItem(clusters, 0);
	json_set(json_ensure_obj(ne, "spec"), "taints", jq("[{'key':'cluster.karmada.io/not-ready','effect':'NoExecute'}]"));
	cJSON *tp = jq("{'clusterAffinity':{'clusterNames':['m1','m3']},'clusterTolerations':[{'key':'cluster.karmada.io/not-ready',"
		       "'operator':'Exists','effect':'NoExecute','tolerationSeconds':300}]}");
	assert_int_equal(schedule_full(clusters, tp, wl, true, NULL, NULL, false, &r), 0);
	sched_result_format(&r, buf, sizeof buf);
	assert_string_equal(buf, "{m3:6}");
	sched_result_free(&r);
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetArrayItem(json_get(tp, "clusterTolerations"), 0), "tolerationSeconds");
	assert_int_equal(schedule_full(clusters, tp, wl, true, NULL, NULL, false, &r), 0);
	sched_result_format(&r, buf, sizeof buf);
	assert_string_equal(buf, "{m1:6, m3:6}"); /* Duplicated */
	sched_result_free(&r);
	cJSON_Delete(tp);
	json_set(json_ensure_obj(ne, "spec"), "taints", cJSON_CreateArray());
	cJSON *only = jq("{'clusterAffinity':{'clusterNames':['m1']}}");
	assert_int_equal(schedule_full(clusters, only, wl, true, NULL, tasks, false, &r), -1);
	assert_non_null(strstr(r.message, "cluster(s) is in the process of eviction"));
	sched_result_free(&r);
	cJSON_Delete(only);
	cJSON_Delete(prev2);
	cJSON_Delete(tasks);
	cJSON_Delete(prev);
	cJSON_Delete(wl);
	cJSON_Delete(placement);
	cJSON_Delete(clusters);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditions_match),
		cmocka_unit_test(test_policy_taints),
		cmocka_unit_test(test_eviction_time),
		cmocka_unit_test(test_evict_and_assess),
		cmocka_unit_test(test_preserve_state),
		cmocka_unit_test(test_inject_state),
		cmocka_unit_test(test_tolerates_taint),
		cmocka_unit_test(test_default_tolerations),
		cmocka_unit_test(test_mask_unreachable),
		cmocka_unit_test(test_scheduler_taints_and_evictions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
