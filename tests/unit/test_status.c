#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonutil.h"
#include "statusfeed.h"
#include "timefmt.h"

#define NOW ((time_t)1700000000)

/* Parses JSON text (single quotes stand for double quotes) with
 * "@AGO:<seconds>@" replaced by the RFC 3339 time that long before NOW. */
static cJSON *j(const char *text)
{
	char out[16384];
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
			out[o++] = *p == '\'' ? '"' : *p;
			p++;
		}
	}
	out[o] = '\0';
	cJSON *r = cJSON_Parse(out);
	if (!r)
		fail_msg("fixture does not parse: %s", out);
	return r;
}

static cJSON *clusters_fixture(void)
{
	return j("["
		 /* Ready, Lease heartbeat 5 s ago (newer than the condition's). */
		 "{'metadata':{'name':'eu'},'spec':{'syncMode':'Pull','region':'europe','zones':['eu-1','eu-2'],'provider':'hetzner'},"
		 " 'status':{'kubernetesVersion':'v1.23.8','nodeSummary':{'totalNum':3,'readyNum':3},"
		 "  'resourceSummary':{'allocatable':{'cpu':'12','memory':'48Gi','pods':'330'},'allocated':{'cpu':'1500m','pods':'7'}},"
		 "  'conditions':[{'type':'Ready','status':'True','reason':'ClusterReady','message':'cluster is healthy and ready to accept workloads',"
		 "   'lastTransitionTime':'@AGO:3600@','lastHeartbeatTime':'@AGO:40@'}]}},"
		 /* Ready, no Lease: heartbeat from the condition. Deprecated spec.zone. */
		 "{'metadata':{'name':'ap'},'spec':{'syncMode':'Pull','region':'asia','zone':'ap-1'},"
		 " 'status':{'kubernetesVersion':'v1.23.8','nodeSummary':{'totalNum':2,'readyNum':2},"
		 "  'conditions':[{'type':'Ready','status':'True','reason':'ClusterReady','lastTransitionTime':'@AGO:7200@','lastHeartbeatTime':'@AGO:20@'}]}},"
		 /* NotReady for a minute, tainted. */
		 "{'metadata':{'name':'us'},'spec':{'syncMode':'Pull','region':'america','taints':[{'key':'cluster.karmada.io/not-ready','effect':'NoSchedule'}]},"
		 " 'status':{'kubernetesVersion':'v1.24.1','nodeSummary':{'totalNum':4,'readyNum':1},"
		 "  'conditions':[{'type':'Ready','status':'False','reason':'ClusterNotReachable','message':'cluster is not reachable',"
		 "   'lastTransitionTime':'@AGO:60@','lastHeartbeatTime':'@AGO:61@'}]}},"
		 /* Registered, never reported. */
		 "{'metadata':{'name':'new'},'spec':{'syncMode':'Push'}}"
		 "]");
}

static cJSON *leases_fixture(void)
{
	return j("["
		 "{'metadata':{'namespace':'karmada-cluster','name':'eu'},'spec':{'holderIdentity':'eu','renewTime':'@AGO:5@','leaseDurationSeconds':40}},"
		 /* Same name in another namespace: not a cluster heartbeat. */
		 "{'metadata':{'namespace':'kube-node-lease','name':'ap'},'spec':{'renewTime':'@AGO:1@'}}"
		 "]");
}

static cJSON *bindings_fixture(void)
{
	return j("["
		 "{'kind':'ResourceBinding','metadata':{'namespace':'default','name':'hello-deployment',"
		 "  'annotations':{'propagationpolicy.karmada.io/name':'example-policy','propagationpolicy.karmada.io/namespace':'default'}},"
		 " 'spec':{'resource':{'apiVersion':'apps/v1','kind':'Deployment','namespace':'default','name':'hello','uid':'u1'},"
		 "  'replicas':10,'clusters':[{'name':'ap','replicas':4},{'name':'eu','replicas':3},{'name':'us','replicas':3}]},"
		 " 'status':{'conditions':["
		 "   {'type':'Scheduled','status':'True','reason':'Success','message':'Binding has been scheduled successfully.','lastTransitionTime':'@AGO:100@'},"
		 "   {'type':'FullyApplied','status':'False','reason':'FullyAppliedFailed','message':'Failed to apply all works, see status.aggregatedStatus for details','lastTransitionTime':'@AGO:50@'}],"
		 "  'aggregatedStatus':["
		 "   {'clusterName':'ap','applied':true,'health':'Healthy','status':{'replicas':4,'readyReplicas':4}},"
		 "   {'clusterName':'eu','applied':true,'health':'Healthy','status':{'replicas':3,'readyReplicas':3}},"
		 "   {'clusterName':'us','applied':false,'appliedMessage':'cluster is not reachable','health':'Unknown'},"
		 "   {'clusterName':'old','applied':true,'health':'Healthy','status':{'readyReplicas':1}}]}},"
		 /* Not a workload: no replicas; policy named by a label only. */
		 "{'kind':'ResourceBinding','metadata':{'namespace':'default','name':'hello-service',"
		 "  'labels':{'propagationpolicy.karmada.io/name':'svc-policy'}},"
		 " 'spec':{'resource':{'apiVersion':'v1','kind':'Service','namespace':'default','name':'hello'},"
		 "  'clusters':[{'name':'eu'}]},"
		 " 'status':{'conditions':[{'type':'Scheduled','status':'True'},{'type':'FullyApplied','status':'True'}],"
		 "  'aggregatedStatus':[{'clusterName':'eu','applied':true,'health':'Healthy'}]}},"
		 /* Not scheduled yet, claimed by a cluster policy. */
		 "{'kind':'ResourceBinding','metadata':{'namespace':'apps','name':'web-deployment',"
		 "  'annotations':{'clusterpropagationpolicy.karmada.io/name':'everywhere'}},"
		 " 'spec':{'resource':{'apiVersion':'apps/v1','kind':'Deployment','namespace':'apps','name':'web'},'replicas':2}},"
		 /* Ready and all replicas up. */
		 "{'kind':'ResourceBinding','metadata':{'namespace':'apps','name':'api-deployment'},"
		 " 'spec':{'resource':{'apiVersion':'apps/v1','kind':'Deployment','namespace':'apps','name':'api'},'replicas':1,"
		 "  'clusters':[{'name':'eu','replicas':1}]},"
		 " 'status':{'conditions':[{'type':'Scheduled','status':'True'},{'type':'FullyApplied','status':'True'}],"
		 "  'aggregatedStatus':[{'clusterName':'eu','applied':true,'health':'Healthy','status':{'readyReplicas':1}}]}},"
		 /* Garbage without a resource: ignored. */
		 "{'kind':'ResourceBinding','metadata':{'namespace':'x','name':'broken'},'spec':{}}"
		 "]");
}

static cJSON *events_fixture(void)
{
	return j("["
		 "{'metadata':{'namespace':'default','name':'e1','resourceVersion':'11'},'involvedObject':{'kind':'Deployment','namespace':'default','name':'hello'},"
		 " 'type':'Normal','reason':'ApplyPolicySucceed','message':'Apply policy(default/example-policy) succeed','count':1,'lastTimestamp':'@AGO:300@','source':{'component':'resource-detector'}},"
		 "{'metadata':{'namespace':'default','name':'e2','resourceVersion':'12'},'involvedObject':{'kind':'Deployment','namespace':'default','name':'hello'},"
		 " 'type':'Normal','reason':'ScheduleBindingSucceed','message':'Binding has been scheduled successfully. Result: {ap:4, eu:3, us:3}','count':2,'lastTimestamp':'@AGO:100@'},"
		 "{'metadata':{'namespace':'default','name':'e3','resourceVersion':'13'},'involvedObject':{'kind':'Deployment','namespace':'default','name':'hello'},"
		 " 'type':'Normal','reason':'SyncWorkSucceed','message':'sync','lastTimestamp':'@AGO:90@'},"
		 "{'metadata':{'namespace':'default','name':'e4','resourceVersion':'14'},'involvedObject':{'kind':'Deployment','namespace':'default','name':'hello'},"
		 " 'type':'Warning','reason':'SyncFailed','message':'Failed to sync work','lastTimestamp':'@AGO:10@'},"
		 "{'metadata':{'namespace':'default','name':'e5','resourceVersion':'15'},'involvedObject':{'kind':'Deployment','namespace':'default','name':'hello'},"
		 " 'type':'Normal','reason':'AggregateStatusSucceed','message':'agg','eventTime':'@AGO:20@','reportingController':'atoll-hub'},"
		 "{'metadata':{'namespace':'default','name':'e6','resourceVersion':'16'},'involvedObject':{'kind':'Deployment','namespace':'default','name':'hello'},"
		 " 'type':'Normal','reason':'GetReplicasSucceed','message':'replicas','lastTimestamp':'@AGO:200@'},"
		 /* Another object with the same name. */
		 "{'metadata':{'namespace':'default','name':'e7','resourceVersion':'17'},'involvedObject':{'kind':'Service','namespace':'default','name':'hello'},"
		 " 'type':'Normal','reason':'SyncSucceed','message':'svc','lastTimestamp':'@AGO:1@'},"
		 "{'metadata':{'namespace':'other','name':'e8','resourceVersion':'18'},'involvedObject':{'kind':'Deployment','namespace':'other','name':'hello'},"
		 " 'type':'Normal','reason':'Nope','message':'other namespace','lastTimestamp':'@AGO:1@'}"
		 "]");
}

static cJSON *build(void)
{
	cJSON *c = clusters_fixture(), *l = leases_fixture(), *b = bindings_fixture(), *e = events_fixture();
	cJSON *doc = status_build(c, l, b, e, 4242, NOW);
	cJSON_Delete(c);
	cJSON_Delete(l);
	cJSON_Delete(b);
	cJSON_Delete(e);
	assert_non_null(doc);
	return doc;
}

static const cJSON *by_name(const cJSON *arr, const char *name)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, arr)
	{
		const char *n = json_get_str(x, "name");
		if (n && strcmp(n, name) == 0)
			return x;
	}
	fail_msg("no entry named %s", name);
	return NULL;
}

static const cJSON *workload(const cJSON *doc, const char *kind, const char *ns, const char *name)
{
	const cJSON *w;
	cJSON_ArrayForEach(w, json_get(doc, "workloads"))
	{
		const char *k = json_get_str(w, "kind"), *n = json_get_str(w, "name"), *s = json_get_str(w, "namespace");
		if (strcmp(k, kind) == 0 && strcmp(n, name) == 0 && strcmp(s ? s : "", ns) == 0)
			return w;
	}
	fail_msg("no workload %s %s/%s", kind, ns, name);
	return NULL;
}

static double num(const cJSON *o, const char *path)
{
	const cJSON *v = json_get(o, path);
	if (!cJSON_IsNumber(v))
		fail_msg("%s is not a number", path);
	return v->valuedouble;
}

static void test_header(void **state)
{
	cJSON *doc = build();
	assert_string_equal(json_get_str(doc, "schemaVersion"), "atoll.status/v1");
	assert_true(num(doc, "revision") == 4242);
	assert_string_equal(json_get_str(doc, "generatedAt"), "2023-11-14T22:13:20Z");
	cJSON_Delete(doc);
}

static void test_clusters(void **state)
{
	cJSON *doc = build();
	const cJSON *cl = json_get(doc, "clusters");
	assert_int_equal(cJSON_GetArraySize(cl), 4);
	/* Sorted by name. */
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cl, 0), "name"), "ap");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(cl, 3), "name"), "us");

	const cJSON *eu = by_name(cl, "eu");
	assert_string_equal(json_get_str(eu, "region"), "europe");
	assert_string_equal(json_get_str(eu, "provider"), "hetzner");
	assert_string_equal(json_get_str(eu, "mode"), "Pull");
	assert_int_equal(cJSON_GetArraySize(json_get(eu, "zones")), 2);
	assert_string_equal(cJSON_GetArrayItem(json_get(eu, "zones"), 1)->valuestring, "eu-2");
	assert_string_equal(json_get_str(eu, "ready"), "True");
	assert_string_equal(json_get_str(eu, "readyReason"), "ClusterReady");
	char ts[40];
	assert_string_equal(json_get_str(eu, "readySince"), time_rfc3339(NOW - 3600, ts, sizeof ts));
	assert_string_equal(json_get_str(eu, "kubernetesVersion"), "v1.23.8");
	/* The Lease wins over the condition's heartbeat. */
	assert_string_equal(json_get_str(eu, "heartbeat.source"), "lease");
	assert_true(num(eu, "heartbeat.ageSeconds") == 5);
	assert_true(num(eu, "nodes.ready") == 3 && num(eu, "nodes.total") == 3);
	assert_string_equal(json_get_str(eu, "resources.allocatable.memory"), "48Gi");
	assert_string_equal(json_get_str(eu, "resources.allocated.cpu"), "1500m");
	assert_true(cJSON_IsObject(json_get(eu, "resources.allocating")));

	const cJSON *ap = by_name(cl, "ap");
	assert_string_equal(json_get_str(ap, "heartbeat.source"), "condition");
	assert_true(num(ap, "heartbeat.ageSeconds") == 20);
	assert_string_equal(cJSON_GetArrayItem(json_get(ap, "zones"), 0)->valuestring, "ap-1");
	assert_true(cJSON_IsNull(json_get(ap, "provider")));

	const cJSON *us = by_name(cl, "us");
	assert_string_equal(json_get_str(us, "ready"), "False");
	assert_string_equal(json_get_str(us, "readyReason"), "ClusterNotReachable");
	assert_string_equal(json_get_str(us, "readyMessage"), "cluster is not reachable");
	assert_string_equal(json_get_str(us, "readySince"), time_rfc3339(NOW - 60, ts, sizeof ts));
	assert_true(num(us, "heartbeat.ageSeconds") == 61);
	assert_true(num(us, "nodes.ready") == 1 && num(us, "nodes.total") == 4);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(us, "taints"), 0), "key"), "cluster.karmada.io/not-ready");

	const cJSON *nw = by_name(cl, "new");
	assert_string_equal(json_get_str(nw, "ready"), "Unknown");
	assert_true(cJSON_IsNull(json_get(nw, "readySince")));
	assert_true(cJSON_IsNull(json_get(nw, "kubernetesVersion")));
	assert_true(cJSON_IsNull(json_get(nw, "heartbeat.time")));
	assert_true(cJSON_IsNull(json_get(nw, "heartbeat.ageSeconds")));
	assert_true(cJSON_IsNull(json_get(nw, "region")));
	assert_int_equal(cJSON_GetArraySize(json_get(nw, "zones")), 0);
	cJSON_Delete(doc);
}

static void test_workloads(void **state)
{
	cJSON *doc = build();
	assert_int_equal(cJSON_GetArraySize(json_get(doc, "workloads")), 4);
	/* Sorted by namespace, name, kind. */
	const cJSON *first = cJSON_GetArrayItem(json_get(doc, "workloads"), 0);
	assert_string_equal(json_get_str(first, "namespace"), "apps");
	assert_string_equal(json_get_str(first, "name"), "api");

	const cJSON *h = workload(doc, "Deployment", "default", "hello");
	assert_string_equal(json_get_str(h, "apiVersion"), "apps/v1");
	assert_true(num(h, "desiredReplicas") == 10);
	assert_true(num(h, "assignedReplicas") == 10);
	assert_true(num(h, "readyReplicas") == 8); /* 4 + 3 + 0 + 1 on a cluster no longer assigned */
	assert_string_equal(json_get_str(h, "state"), "Failed");
	assert_string_equal(json_get_str(h, "policy.kind"), "PropagationPolicy");
	assert_string_equal(json_get_str(h, "policy.namespace"), "default");
	assert_string_equal(json_get_str(h, "policy.name"), "example-policy");
	assert_string_equal(json_get_str(h, "binding.name"), "hello-deployment");
	const cJSON *pc = json_get(h, "clusters");
	assert_int_equal(cJSON_GetArraySize(pc), 4);
	const cJSON *ap = by_name(pc, "ap");
	assert_true(num(ap, "assignedReplicas") == 4 && num(ap, "readyReplicas") == 4);
	assert_true(cJSON_IsTrue(json_get(ap, "applied")) && cJSON_IsTrue(json_get(ap, "assigned")));
	assert_string_equal(json_get_str(ap, "health"), "Healthy");
	const cJSON *us = by_name(pc, "us");
	assert_true(num(us, "assignedReplicas") == 3 && num(us, "readyReplicas") == 0);
	assert_true(cJSON_IsFalse(json_get(us, "applied")));
	assert_string_equal(json_get_str(us, "appliedMessage"), "cluster is not reachable");
	const cJSON *old = by_name(pc, "old");
	assert_true(cJSON_IsFalse(json_get(old, "assigned")));
	assert_true(num(old, "assignedReplicas") == 0 && num(old, "readyReplicas") == 1);
	const cJSON *conds = json_get(h, "conditions");
	assert_int_equal(cJSON_GetArraySize(conds), 2);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(conds, 1), "reason"), "FullyAppliedFailed");

	const cJSON *svc = workload(doc, "Service", "default", "hello");
	assert_true(num(svc, "desiredReplicas") == 0);
	assert_string_equal(json_get_str(svc, "state"), "Ready");
	assert_string_equal(json_get_str(svc, "policy.name"), "svc-policy");
	const cJSON *svc_eu = by_name(json_get(svc, "clusters"), "eu");
	assert_true(cJSON_IsTrue(json_get(svc_eu, "applied")));
	assert_true(num(svc_eu, "assignedReplicas") == 0);

	const cJSON *web = workload(doc, "Deployment", "apps", "web");
	assert_string_equal(json_get_str(web, "state"), "Pending");
	assert_string_equal(json_get_str(web, "policy.kind"), "ClusterPropagationPolicy");
	assert_true(cJSON_IsNull(json_get(web, "policy.namespace")));
	assert_int_equal(cJSON_GetArraySize(json_get(web, "clusters")), 0);

	const cJSON *api = workload(doc, "Deployment", "apps", "api");
	assert_string_equal(json_get_str(api, "state"), "Ready");
	assert_true(cJSON_IsNull(json_get(api, "policy")));
	cJSON_Delete(doc);
}

static void test_events(void **state)
{
	cJSON *doc = build();
	const cJSON *ev = json_get(workload(doc, "Deployment", "default", "hello"), "events");
	/* The newest five of six, newest first; eventTime counts when lastTimestamp is absent. */
	assert_int_equal(cJSON_GetArraySize(ev), STATUS_MAX_EVENTS);
	static const char *const want[] = {"SyncFailed", "AggregateStatusSucceed", "SyncWorkSucceed", "ScheduleBindingSucceed",
					   "GetReplicasSucceed"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(json_get_str(cJSON_GetArrayItem(ev, i), "reason"), want[i]);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(ev, 0), "type"), "Warning");
	assert_true(num(cJSON_GetArrayItem(ev, 3), "count") == 2);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(ev, 1), "source"), "atoll-hub");
	const cJSON *sev = json_get(workload(doc, "Service", "default", "hello"), "events");
	assert_int_equal(cJSON_GetArraySize(sev), 1);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(sev, 0), "message"), "svc");
	assert_int_equal(cJSON_GetArraySize(json_get(workload(doc, "Deployment", "apps", "web"), "events")), 0);
	cJSON_Delete(doc);
}

static void test_totals(void **state)
{
	cJSON *doc = build();
	const cJSON *t = json_get(doc, "totals");
	assert_true(num(t, "clusters") == 4);
	assert_true(num(t, "clustersReady") == 2);
	assert_true(num(t, "clustersNotReady") == 1);
	assert_true(num(t, "clustersUnknown") == 1);
	assert_true(num(t, "nodesReady") == 6 && num(t, "nodesTotal") == 9);
	assert_true(num(t, "workloads") == 4);
	assert_true(num(t, "desiredReplicas") == 13);
	assert_true(num(t, "assignedReplicas") == 11);
	assert_true(num(t, "readyReplicas") == 9);
	assert_true(num(t, "workloadsByState.Failed") == 1);
	assert_true(num(t, "workloadsByState.Ready") == 2);
	assert_true(num(t, "workloadsByState.Pending") == 1);
	assert_true(num(t, "workloadsByState.Progressing") == 0);
	cJSON_Delete(doc);
}

static void test_empty_and_null_inputs(void **state)
{
	cJSON *doc = status_build(NULL, NULL, NULL, NULL, 0, NOW);
	assert_int_equal(cJSON_GetArraySize(json_get(doc, "clusters")), 0);
	assert_int_equal(cJSON_GetArraySize(json_get(doc, "workloads")), 0);
	assert_true(num(doc, "totals.clusters") == 0);
	cJSON_Delete(doc);
	/* Wrong shapes never crash. */
	cJSON *odd = j("[1,'x',null,{'metadata':5,'status':{'conditions':'no'}}]");
	doc = status_build(odd, odd, odd, odd, 1, NOW);
	assert_int_equal(cJSON_GetArraySize(json_get(doc, "clusters")), 4);
	assert_int_equal(cJSON_GetArraySize(json_get(doc, "workloads")), 0);
	cJSON_Delete(doc);
	cJSON_Delete(odd);
}

static void test_binding_states(void **state)
{
	struct {
		const char *json, *want;
	} cases[] = {
		{"{}", "Pending"},
		{"{'status':{'conditions':[{'type':'Scheduled','status':'Unknown'}]}}", "Pending"},
		{"{'status':{'conditions':[{'type':'Scheduled','status':'False','reason':'NoClusterFit'}]}}", "Unschedulable"},
		{"{'status':{'conditions':[{'type':'Scheduled','status':'True'}]}}", "Applying"},
		{"{'status':{'conditions':[{'type':'Scheduled','status':'True'},{'type':'FullyApplied','status':'False'}]}}", "Failed"},
		{"{'spec':{'replicas':3},'status':{'conditions':[{'type':'Scheduled','status':'True'},{'type':'FullyApplied','status':'True'}],"
		 "'aggregatedStatus':[{'clusterName':'a','status':{'readyReplicas':2}}]}}", "Progressing"},
		{"{'spec':{'replicas':3},'status':{'conditions':[{'type':'Scheduled','status':'True'},{'type':'FullyApplied','status':'True'}],"
		 "'aggregatedStatus':[{'clusterName':'a','status':{'readyReplicas':2}},{'clusterName':'b','status':{'readyReplicas':1}}]}}", "Ready"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		cJSON *b = j(cases[i].json);
		assert_string_equal(status_binding_state(b), cases[i].want);
		cJSON_Delete(b);
	}
	cJSON *c = j("{'status':{'conditions':[{'type':'Ready','status':'weird'}]}}");
	assert_string_equal(status_cluster_ready(c), "Unknown");
	cJSON_Delete(c);
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Each cluster's Lease is found through an index, not a scan of every
 * Lease: 10,000 clusters take well under a second of CPU (a scan per
 * cluster took ~10 s), and every cluster still gets its own Lease (the
 * one in the clusters' Lease namespace, not a same-named one elsewhere). */
static void test_leases_found_by_index(void **state)
{
	enum { N = 10000 };
	cJSON *clusters = cJSON_CreateArray(), *leases = cJSON_CreateArray();
	char ts[40], name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "c%05d", i);
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "metadata"), "name", name);
		cJSON_AddItemToArray(clusters, c);
		/* a decoy of the same name in another namespace first */
		cJSON *d = cJSON_CreateObject(), *dm = cJSON_AddObjectToObject(d, "metadata");
		cJSON_AddStringToObject(dm, "namespace", "kube-node-lease");
		cJSON_AddStringToObject(dm, "name", name);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(d, "spec"), "renewTime", time_rfc3339(NOW - 999, ts, sizeof ts));
		cJSON_AddItemToArray(leases, d);
	}
	for (int i = N - 1; i >= 0; i--) { /* not in the clusters' order */
		snprintf(name, sizeof name, "c%05d", i);
		cJSON *l = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(l, "metadata");
		cJSON_AddStringToObject(m, "namespace", STATUS_LEASE_NAMESPACE);
		cJSON_AddStringToObject(m, "name", name);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(l, "spec"), "renewTime",
					time_rfc3339(NOW - i % 7, ts, sizeof ts));
		cJSON_AddItemToArray(leases, l);
	}
	cJSON *none = cJSON_CreateArray();
	double t0 = cpu_s();
	cJSON *doc = status_build(clusters, leases, none, none, 1, NOW);
	double spent = cpu_s() - t0;
	print_message("status_build over %d clusters and %d leases: %.3f s CPU\n", N, 2 * N, spent);
	assert_true(spent < 1.5);
	const cJSON *arr = cJSON_GetObjectItem(doc, "clusters");
	assert_int_equal(cJSON_GetArraySize(arr), N);
	const cJSON *e;
	int i = 0;
	cJSON_ArrayForEach(e, arr)
	{
		snprintf(name, sizeof name, "c%05d", i);
		assert_string_equal(json_get_str(e, "name"), name);
		assert_string_equal(json_get_str(e, "heartbeat.source"), "lease");
		assert_int_equal((int)json_get_num(e, "heartbeat.ageSeconds", -1), i % 7);
		i++;
	}
	cJSON_Delete(doc);
	cJSON_Delete(none);
	cJSON_Delete(clusters);
	cJSON_Delete(leases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_clusters),
		cmocka_unit_test(test_workloads),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_empty_and_null_inputs),
		cmocka_unit_test(test_binding_states),
		cmocka_unit_test(test_leases_found_by_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
