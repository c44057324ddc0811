/* test_render — Karmada's names (checked against Karmada's published Work
 * name and an independent implementation of GenerateWorkName), the binding
 * object, Works per cluster (replicas per share, cleaned manifest, ownership
 * metadata), overrides in Karmada's order, and dependencies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "testutil.h"
#include "render.h"

/* Independent reimplementation of names.GenerateWorkName (FNV-1a-32 of the
 * plain lower-cased "<ns>-<name>-<kind>", decimal, SafeEncodeString). */
static void ref_work_name(const char *kind, const char *name, const char *ns, char *out, size_t len)
{
	char lname[256], text[768];
	size_t i;
	for (i = 0; name[i] && i < sizeof lname - 1; i++)
		lname[i] = name[i] == ':' ? '.' : (char)tolower((unsigned char)name[i]);
	lname[i] = '\0';
	if (ns && *ns)
		snprintf(text, sizeof text, "%s-%s-%s", ns, lname, kind);
	else
		snprintf(text, sizeof text, "%s-%s", lname, kind);
	uint32_t h = 2166136261u;
	for (char *p = text; *p; p++) {
		h ^= (uint32_t)(unsigned char)tolower((unsigned char)*p);
		h *= 16777619u;
	}
	char dec[16];
	snprintf(dec, sizeof dec, "%u", h);
	static const char a[] = "bcdfghjklmnpqrstvwxz2456789";
	for (i = 0; dec[i]; i++)
		dec[i] = a[(unsigned char)dec[i] % 27];
	snprintf(out, len, "%s-%s", lname, dec);
}

static void test_names(void **state)
{
	(void)state;
	char buf[512], ref[512];
	/* Karmada's own docs: default/nginx Deployment -> "nginx-687f7fb96f"
	 * in karmada-es-member1 (the hash input is the plain string). */
	render_work_name("Deployment", "nginx", "default", buf, sizeof buf);
	assert_string_equal(buf, "nginx-687f7fb96f");
	static const struct {
		const char *kind, *name, *ns;
	} cases[] = {
		{"Deployment", "hello", "default"}, {"Service", "hello", "default"},
		{"ConfigMap", "Hello-Config", "team-a"}, {"ClusterRole", "system:controller:tom", ""},
		{"Namespace", "prod", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		render_work_name(cases[i].kind, cases[i].name, cases[i].ns, buf, sizeof buf);
		ref_work_name(cases[i].kind, cases[i].name, cases[i].ns, ref, sizeof ref);
		assert_string_equal(buf, ref);
	}
	render_work_name("Deployment", "hello", "default", buf, sizeof buf);
	assert_string_equal(buf, "hello-6b454f6657");
	render_work_name("Service", "hello", "default", buf, sizeof buf);
	assert_string_equal(buf, "hello-7dd5cc479c");
	/* SafeEncodeString */
	render_safe_encode("0123456789", buf);
	assert_string_equal(buf, "456789bcdf");
	/* Binding names (Karmada's names_test.go vectors) */
	render_binding_name("Pods", "pod", buf, sizeof buf);
	assert_string_equal(buf, "pod-pods");
	render_binding_name("pods", "Pod", buf, sizeof buf);
	assert_string_equal(buf, "pod-pods");
	render_binding_name("Role", "system:controller:tom", buf, sizeof buf);
	assert_string_equal(buf, "system.controller.tom-role");
	render_binding_name("ClusterRole", "system::tom", buf, sizeof buf);
	assert_string_equal(buf, "system..tom-clusterrole");
	render_binding_name("Deployment", "hello", buf, sizeof buf);
	assert_string_equal(buf, "hello-deployment");
	render_exec_namespace("eu", buf, sizeof buf);
	assert_string_equal(buf, "karmada-es-eu");
}

static const char *TMPL =
    "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'hello','namespace':'default','uid':'u-1',"
    "'resourceVersion':'42','generation':3,'creationTimestamp':'2026-01-01T00:00:00Z','managedFields':[{}],"
    "'labels':{'app':'hello'},'annotations':{'kubectl.kubernetes.io/last-applied-configuration':'{}','keep':'me'}},"
    "'spec':{'replicas':10,'selector':{'matchLabels':{'app':'hello'}},'template':{'metadata':{'labels':{'app':'hello'}},"
    "'spec':{'containers':[{'name':'hello','image':'stefanprodan/podinfo:6.0.0','command':['run'],'args':['-v']},"
    "{'name':'side','image':'docker.io/library/busybox@sha256:abc'}],"
    "'initContainers':[{'name':'init','image':'localhost:5000/init'}]}}},"
    "'status':{'replicas':10}}";

static const char *POLICY =
    "{'apiVersion':'policy.karmada.io/v1alpha1','kind':'PropagationPolicy','metadata':{'name':'hello-propagation',"
    "'namespace':'default','uid':'pp-uid'},'spec':{'conflictResolution':'Overwrite','propagateDeps':true,"
    "'resourceSelectors':[{'apiVersion':'apps/v1','kind':'Deployment','name':'hello'}],"
    "'placement':{'clusterAffinity':{'clusterNames':['eu','ap','us']},'replicaScheduling':{"
    "'replicaSchedulingType':'Divided','replicaDivisionPreference':'Weighted'}}}}";

static void test_binding(void **state)
{
	(void)state;
	cJSON *t = jq(TMPL), *p = jq(POLICY);
	cJSON *b = render_binding(t, p, false, NULL, "rb-id");
	assert_string_equal(json_get_str(b, "kind"), "ResourceBinding");
	assert_string_equal(json_get_str(b, "apiVersion"), "work.karmada.io/v1alpha2");
	assert_string_equal(json_get_str(b, "metadata.name"), "hello-deployment");
	assert_string_equal(json_get_str(b, "metadata.namespace"), "default");
	cJSON *want_res = jq("{'apiVersion':'apps/v1','kind':'Deployment','namespace':'default','name':'hello','uid':'u-1',"
			     "'resourceVersion':'42'}");
	assert_true(cJSON_Compare(json_get(b, "spec.resource"), want_res, 1));
	cJSON_Delete(want_res);
	assert_int_equal((int)json_get_num(b, "spec.replicas", 0), 10);
	assert_true(cJSON_Compare(json_get(b, "spec.placement"), json_get(p, "spec.placement"), 1));
	assert_string_equal(json_get_str(b, "spec.conflictResolution"), "Overwrite");
	assert_true(cJSON_IsTrue(json_get(b, "spec.propagateDeps")));
	assert_string_equal(json_get_str(b, "spec.schedulerName"), "default-scheduler");
	assert_null(json_get(b, "spec.clusters"));
	cJSON *labels = json_get(b, "metadata.labels"), *ann = json_get(b, "metadata.annotations");
	assert_string_equal(cJSON_GetObjectItem(labels, RB_PERMANENT_ID_LABEL)->valuestring, "rb-id");
	assert_string_equal(cJSON_GetObjectItem(labels, "propagationpolicy.karmada.io/permanent-id")->valuestring, "pp-uid");
	assert_string_equal(cJSON_GetObjectItem(ann, "propagationpolicy.karmada.io/name")->valuestring, "hello-propagation");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(b, "metadata.ownerReferences"), 0), "uid"), "u-1");

	/* The schedule result and what other stages own survive re-rendering. */
	struct sched_target tg[] = {{"ap", 4}, {"eu", 3}, {"us", 3}};
	struct sched_result r = {.n = 3, .targets = tg, .has_replicas = true};
	render_binding_set_clusters(b, &r);
	json_set_str(json_ensure_obj(b, "metadata.annotations"), APPLIED_PLACEMENT_ANNOTATION, "{}");
	cJSON *b2 = render_binding(t, p, false, b, "other-id");
	cJSON *want = jq("[{'name':'ap','replicas':4},{'name':'eu','replicas':3},{'name':'us','replicas':3}]");
	assert_true(cJSON_Compare(json_get(b2, "spec.clusters"), want, 1));
	assert_string_equal(cJSON_GetObjectItem(json_get(b2, "metadata.labels"), RB_PERMANENT_ID_LABEL)->valuestring, "rb-id");
	assert_non_null(cJSON_GetObjectItem(json_get(b2, "metadata.annotations"), APPLIED_PLACEMENT_ANNOTATION));
	cJSON_Delete(want);
	/* Non-workloads: no replicas in spec.clusters (omitempty). */
	struct sched_result rs = {.n = 3, .targets = tg, .has_replicas = false};
	render_binding_set_clusters(b2, &rs);
	want = jq("[{'name':'ap'},{'name':'eu'},{'name':'us'}]");
	assert_true(cJSON_Compare(json_get(b2, "spec.clusters"), want, 1));
	cJSON_Delete(want);

	/* A cluster-scoped template gets a ClusterResourceBinding. */
	cJSON *cr = jq("{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole','metadata':{'name':'system:r','uid':'x'}}");
	cJSON *crb = render_binding(cr, p, true, NULL, "id");
	assert_string_equal(json_get_str(crb, "kind"), "ClusterResourceBinding");
	assert_string_equal(json_get_str(crb, "metadata.name"), "system.r-clusterrole");
	assert_null(json_get(crb, "metadata.namespace"));
	assert_null(json_get(crb, "spec.resource.namespace"));
	assert_null(json_get(crb, "spec.replicas"));
	assert_non_null(cJSON_GetObjectItem(json_get(crb, "metadata.labels"), CRB_PERMANENT_ID_LABEL));
	cJSON_Delete(crb);
	cJSON_Delete(cr);
	cJSON_Delete(b2);
	cJSON_Delete(b);
	cJSON_Delete(p);
	cJSON_Delete(t);
}

static void test_target_clusters(void **state)
{
	(void)state;
	cJSON *b = jq("{'spec':{'clusters':[{'name':'us','replicas':2},{'name':'ap','replicas':1}],"
		      "'requiredBy':[{'name':'x','clusters':[{'name':'eu'},{'name':'us','replicas':5}]},"
		      "{'name':'y','clusters':[{'name':'ap'}]}]}}");
	cJSON *t = render_target_clusters(b);
	cJSON *want = jq("[{'name':'ap','replicas':1},{'name':'eu','replicas':0},{'name':'us','replicas':5}]");
	assert_true(cJSON_Compare(t, want, 1));
	cJSON_Delete(want);
	cJSON_Delete(t);
	cJSON_Delete(b);
}

static cJSON *work_for(const cJSON *b, const cJSON *t, const char *cluster, long replicas, const cJSON *cl,
		       const cJSON *cops, const cJSON *ops, cJSON **applied)
{
	struct render_work_in in = {.binding = b, .tmpl = t, .cluster = cluster, .replicas = replicas,
				    .cluster_obj = cl, .cops = cops, .ops = ops, .work_id = "w-id"};
	char err[256];
	cJSON *w = render_work(&in, applied, err, sizeof err);
	if (!w)
		print_error("render_work: %s\n", err);
	assert_non_null(w);
	return w;
}

static cJSON *manifest(cJSON *w) { return cJSON_GetArrayItem(json_get(w, "spec.workload.manifests"), 0); }

static const char *ann(cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(json_get(o, "metadata.annotations"), k));
}

static const char *lab(cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(json_get(o, "metadata.labels"), k));
}

/* A Duplicated binding's Work for one cluster stamped from another's is
 * the Work render_work makes for it, byte for byte once printed (issue 15:
 * rendered once per binding pass); and what stamping cannot stand for
 * (divided replicas, override policies) is refused. */
static void test_work_stamp(void **state)
{
	(void)state;
	cJSON *t = jq(TMPL), *p = jq(POLICY);
	json_set_str(json_get(p, "spec.placement.replicaScheduling"), "replicaSchedulingType", "Duplicated");
	cJSON *b = render_binding(t, p, false, NULL, "rb-id");
	json_set(json_ensure_obj(b, "spec"), "suspension", jq("{'dispatchingOnClusters':{'clusterNames':['eu']}}"));
	cJSON_AddTrueToObject(json_get(b, "spec"), "preserveResourcesOnDeletion");
	assert_true(render_work_stampable(b, t, NULL, NULL));
	cJSON *empty = cJSON_CreateArray();
	assert_true(render_work_stampable(b, t, empty, empty));
	static const char *const clusters[] = {"ap", "eu", "us", "a-much-longer-cluster-name"};
	static const char *const ids[] = {"id-ap", "id-eu", "id-us", "id-long"};
	for (int from = 0; from < 2; from++) { /* from a cluster dispatched to, and from a suspended one */
		cJSON *proto = work_for(b, t, clusters[from], 0, NULL, NULL, NULL, NULL);
		for (int i = 0; i < 4; i++) {
			struct render_work_in in = {.binding = b, .tmpl = t, .cluster = clusters[i], .work_id = ids[i]};
			char err[256];
			cJSON *want = render_work(&in, NULL, err, sizeof err);
			cJSON *got = render_work_stamp(proto, &in);
			char *ws = cJSON_PrintUnformatted(want), *gs = cJSON_PrintUnformatted(got);
			assert_string_equal(gs, ws);
			assert_true(strstr(gs, ids[i]) != NULL);
			assert_true((strstr(gs, "suspendDispatching") != NULL) == (i == 1));
			free(ws);
			free(gs);
			cJSON_Delete(want);
			cJSON_Delete(got);
		}
		cJSON_Delete(proto);
	}
	/* Divided replicas differ per cluster; an override may target one */
	json_set_str(json_get(b, "spec.placement.replicaScheduling"), "replicaSchedulingType", "Divided");
	assert_false(render_work_stampable(b, t, NULL, NULL));
	json_set_str(json_get(b, "spec.placement.replicaScheduling"), "replicaSchedulingType", "Duplicated");
	cJSON *ops = jq("[{'metadata':{'name':'o'},'spec':{}}]");
	assert_false(render_work_stampable(b, t, NULL, ops));
	assert_false(render_work_stampable(b, t, ops, NULL));
	cJSON_Delete(ops);
	cJSON_Delete(empty);
	cJSON_Delete(b);
	cJSON_Delete(p);
	cJSON_Delete(t);
}

static void test_work_per_cluster(void **state)
{
	(void)state;
	cJSON *t = jq(TMPL), *p = jq(POLICY);
	cJSON *b = render_binding(t, p, false, NULL, "rb-id");
	struct sched_target tg[] = {{"ap", 4}, {"eu", 3}, {"us", 3}};
	struct sched_result r = {.n = 3, .targets = tg, .has_replicas = true};
	render_binding_set_clusters(b, &r);
	for (int i = 0; i < 3; i++) {
		cJSON *w = work_for(b, t, tg[i].name, tg[i].replicas, NULL, NULL, NULL, NULL);
		char ns[300];
		snprintf(ns, sizeof ns, "karmada-es-%s", tg[i].name);
		assert_string_equal(json_get_str(w, "metadata.namespace"), ns);
		assert_string_equal(json_get_str(w, "metadata.name"), "hello-6b454f6657");
		assert_string_equal(json_get_str(w, "kind"), "Work");
		cJSON *m = manifest(w);
		assert_int_equal((long)json_get_num(m, "spec.replicas", -1), tg[i].replicas);
		/* the template itself is untouched */
		assert_int_equal((int)json_get_num(t, "spec.replicas", -1), 10);
		cJSON_Delete(w);
	}
	cJSON *w = work_for(b, t, "eu", 3, NULL, NULL, NULL, NULL);
	cJSON *m = manifest(w);
	/* cleaned */
	static const char *const gone[] = {"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", NULL};
	for (int i = 0; gone[i]; i++)
		assert_null(cJSON_GetObjectItem(json_get(m, "metadata"), gone[i]));
	assert_null(json_get(m, "status"));
	assert_null(ann(m, LAST_APPLIED_ANNOTATION));
	assert_string_equal(ann(m, "keep"), "me");
	assert_string_equal(json_get_str(m, "metadata.namespace"), "default");
	/* ownership metadata on the manifest */
	assert_string_equal(lab(m, MANAGED_BY_KARMADA_LABEL), "true");
	assert_string_equal(lab(m, RB_PERMANENT_ID_LABEL), "rb-id");
	assert_string_equal(lab(m, WORK_PERMANENT_ID_LABEL), "w-id");
	assert_string_equal(lab(m, "app"), "hello");
	assert_string_equal(ann(m, RB_NAME_ANNOTATION), "hello-deployment");
	assert_string_equal(ann(m, RB_NAMESPACE_ANNOTATION), "default");
	assert_string_equal(ann(m, TEMPLATE_UID_ANNOTATION), "u-1");
	assert_string_equal(ann(m, TEMPLATE_GENERATION_ANNOTATION), "3");
	assert_string_equal(ann(m, WORK_NAME_ANNOTATION), "hello-6b454f6657");
	assert_string_equal(ann(m, WORK_NAMESPACE_ANNOTATION), "karmada-es-eu");
	assert_string_equal(ann(m, CONFLICT_RESOLUTION_ANNOTATION), "overwrite");
	assert_string_equal(ann(m, MANAGED_LABELS_ANNOTATION),
			    "app,karmada.io/managed,resourcebinding.karmada.io/permanent-id,work.karmada.io/permanent-id");
	assert_string_equal(ann(m, MANAGED_ANNOTATIONS_ANNOTATION),
			    "keep,resourcebinding.karmada.io/name,resourcebinding.karmada.io/namespace,"
			    "resourcetemplate.karmada.io/generation,resourcetemplate.karmada.io/managed-annotations,"
			    "resourcetemplate.karmada.io/managed-labels,resourcetemplate.karmada.io/uid,"
			    "work.karmada.io/conflict-resolution,work.karmada.io/name,work.karmada.io/namespace");
	/* ownership metadata on the Work */
	assert_string_equal(lab(w, RB_PERMANENT_ID_LABEL), "rb-id");
	assert_string_equal(lab(w, WORK_PERMANENT_ID_LABEL), "w-id");
	assert_string_equal(ann(w, RB_NAME_ANNOTATION), "hello-deployment");
	assert_string_equal(ann(w, RB_NAMESPACE_ANNOTATION), "default");
	assert_string_equal(ann(w, CONFLICT_RESOLUTION_ANNOTATION), "overwrite");
	cJSON_Delete(w);

	/* Duplicated keeps the template's replicas. */
	cJSON_DeleteItemFromObject(json_get(b, "spec.placement"), "replicaScheduling");
	w = work_for(b, t, "eu", 10, NULL, NULL, NULL, NULL);
	assert_int_equal((int)json_get_num(manifest(w), "spec.replicas", -1), 10);
	cJSON_Delete(w);
	/* Abort is the default conflict resolution. */
	cJSON_DeleteItemFromObject(json_get(b, "spec"), "conflictResolution");
	w = work_for(b, t, "eu", 10, NULL, NULL, NULL, NULL);
	assert_string_equal(ann(manifest(w), CONFLICT_RESOLUTION_ANNOTATION), "abort");
	cJSON_Delete(w);
	cJSON_Delete(b);
	cJSON_Delete(p);
	cJSON_Delete(t);
}

static void test_clean_service_and_job(void **state)
{
	(void)state;
	cJSON *s = jq("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'d'},'spec':{'clusterIP':'10.96.0.5',"
		      "'clusterIPs':['10.96.0.5'],'ports':[{'port':80}]}}");
	cJSON *m = render_clean_manifest(s);
	assert_null(json_get(m, "spec.clusterIP"));
	assert_null(json_get(m, "spec.clusterIPs"));
	assert_non_null(json_get(m, "spec.ports"));
	cJSON_Delete(m);
	json_set_str(json_get(s, "spec"), "clusterIP", "None");
	m = render_clean_manifest(s);
	assert_string_equal(json_get_str(m, "spec.clusterIP"), "None");
	cJSON_Delete(m);
	cJSON_Delete(s);
	cJSON *j = jq("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j','namespace':'d'},'spec':{'parallelism':4,"
		      "'selector':{'matchLabels':{'controller-uid':'x'}},'template':{'metadata':{'labels':{'controller-uid':'x',"
		      "'job-name':'j','app':'a'}}}}}");
	assert_true(render_has_replicas(j));
	assert_int_equal(render_replicas(j), 4);
	m = render_clean_manifest(j);
	assert_null(json_get(m, "spec.selector"));
	assert_null(json_get(m, "spec.template.metadata.labels.controller-uid"));
	assert_string_equal(json_get_str(m, "spec.template.metadata.labels.app"), "a");
	render_set_replicas(m, 2);
	assert_int_equal((int)json_get_num(m, "spec.parallelism", 0), 2);
	cJSON_Delete(m);
	cJSON_Delete(j);
	cJSON *cm = jq("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'}}");
	assert_false(render_has_replicas(cm));
	cJSON_Delete(cm);
	cJSON *d = jq("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'c'},'spec':{}}");
	assert_int_equal(render_replicas(d), 1);
	cJSON_Delete(d);
}

static const char *CLUSTER_EU =
    "{'apiVersion':'cluster.karmada.io/v1alpha1','kind':'Cluster','metadata':{'name':'eu','labels':{'env':'prod'}},"
    "'spec':{'region':'eu-west','provider':'aws','zones':['eu-west-1a']}}";
static const char *CLUSTER_AP =
    "{'apiVersion':'cluster.karmada.io/v1alpha1','kind':'Cluster','metadata':{'name':'ap','labels':{'env':'dev'}},"
    "'spec':{'region':'ap-south'}}";

static void test_cluster_matches(void **state)
{
	(void)state;
	cJSON *eu = jq(CLUSTER_EU), *ap = jq(CLUSTER_AP);
	static const struct {
		const char *aff;
		bool eu, ap;
	} cases[] = {
		{"{}", true, true},
		{"{'clusterNames':['eu']}", true, false},
		{"{'exclude':['eu']}", false, true},
		{"{'clusterNames':['eu','ap'],'exclude':['eu']}", false, true},
		{"{'labelSelector':{'matchLabels':{'env':'prod'}}}", true, false},
		{"{'fieldSelector':{'matchExpressions':[{'key':'region','operator':'In','values':['ap-south']}]}}", false, true},
		{"{'fieldSelector':{'matchExpressions':[{'key':'provider','operator':'Exists'}]}}", true, false},
		{"{'fieldSelector':{'matchExpressions':[{'key':'zone','operator':'In','values':['eu-west-1a']}]}}", true, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *a = jq(cases[i].aff);
		assert_int_equal(sched_cluster_affinity_matches(eu, a), cases[i].eu);
		assert_int_equal(sched_cluster_affinity_matches(ap, a), cases[i].ap);
		cJSON_Delete(a);
	}
	assert_true(sched_cluster_affinity_matches(eu, NULL));
	cJSON_Delete(eu);
	cJSON_Delete(ap);
}

/* OverridePolicy targetCluster uses Karmada's ClusterMatches, the scheduler's
 * matcher: a zone requirement holds over all of a cluster's spec.zones
 * (matchZones), not its first one, and keys other than provider, region and
 * zone match nothing. */
static void test_override_target_zones(void **state)
{
	(void)state;
	cJSON *multi = jq("{'apiVersion':'cluster.karmada.io/v1alpha1','kind':'Cluster','metadata':{'name':'multi'},"
			  "'spec':{'region':'eu-west','zones':['z1','z2']}}");
	static const struct {
		const char *exprs;
		bool applies;
	} cases[] = {
		{"[{'key':'zone','operator':'In','values':['z1','z2']}]", true},
		{"[{'key':'zone','operator':'In','values':['z2','z3','z1']}]", true},
		{"[{'key':'zone','operator':'In','values':['z1']}]", false},  /* z2 is not listed */
		{"[{'key':'zone','operator':'In','values':['z2']}]", false},
		{"[{'key':'zone','operator':'NotIn','values':['z2']}]", false}, /* z2 is */
		{"[{'key':'zone','operator':'NotIn','values':['z3']}]", true},
		{"[{'key':'zone','operator':'Exists'}]", true},
		{"[{'key':'zone','operator':'DoesNotExist'}]", false},
		{"[{'key':'region','operator':'In','values':['eu-west']},{'key':'zone','operator':'In','values':['z1','z2']}]",
		 true},
		{"[{'key':'name','operator':'DoesNotExist'}]", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[1024];
		snprintf(buf, sizeof buf,
			 "[{'metadata':{'name':'op','namespace':'default'},'spec':{'overrideRules':[{'targetCluster':"
			 "{'fieldSelector':{'matchExpressions':%s}},'overriders':{'labelsOverrider':[{'operator':'add',"
			 "'value':{'zoned':'yes'}}]}}]}}]",
			 cases[i].exprs);
		cJSON *ops = jq(buf), *src = jq(TMPL), *m = render_clean_manifest(src), *aops = NULL;
		char err[256];
		assert_int_equal(render_apply_overrides(m, multi, NULL, ops, NULL, &aops, err, sizeof err), 0);
		const char *got = json_get_str(m, "metadata.labels.zoned");
		if ((got != NULL) != cases[i].applies)
			print_error("case %zu: %s\n", i, cases[i].exprs);
		assert_int_equal(got != NULL, cases[i].applies);
		assert_int_equal(cJSON_GetArraySize(aops), cases[i].applies ? 1 : 0);
		cJSON_Delete(aops);
		cJSON_Delete(ops);
		cJSON_Delete(src);
		cJSON_Delete(m);
	}
	cJSON_Delete(multi);
}

static cJSON *container(cJSON *m, int i) { return cJSON_GetArrayItem(json_get(m, "spec.template.spec.containers"), i); }

static void test_overriders(void **state)
{
	(void)state;
	cJSON *eu = jq(CLUSTER_EU);
	static const struct {
		const char *overriders;
		const char *image0, *image1; /* expected images of containers 0 and 1 */
	} img[] = {
		{"{'imageOverrider':[{'component':'Registry','operator':'replace','value':'registry.eu'}]}",
		 "registry.eu/stefanprodan/podinfo:6.0.0", "registry.eu/library/busybox@sha256:abc"},
		{"{'imageOverrider':[{'component':'Registry','operator':'add','value':'-mirror'}]}",
		 "-mirror/stefanprodan/podinfo:6.0.0", "docker.io-mirror/library/busybox@sha256:abc"},
		{"{'imageOverrider':[{'component':'Registry','operator':'remove'}]}",
		 "stefanprodan/podinfo:6.0.0", "library/busybox@sha256:abc"},
		{"{'imageOverrider':[{'component':'Repository','operator':'replace','value':'team/app'}]}",
		 "team/app:6.0.0", "docker.io/team/app@sha256:abc"},
		{"{'imageOverrider':[{'component':'Repository','operator':'add','value':'-eu'}]}",
		 "stefanprodan/podinfo-eu:6.0.0", "docker.io/library/busybox-eu@sha256:abc"},
		{"{'imageOverrider':[{'component':'Tag','operator':'replace','value':'7.1'}]}",
		 "stefanprodan/podinfo:7.1", "docker.io/library/busybox:7.1"},
		{"{'imageOverrider':[{'component':'Tag','operator':'remove'}]}",
		 "stefanprodan/podinfo", "docker.io/library/busybox"},
		{"{'imageOverrider':[{'component':'Tag','operator':'add','value':'sha256:def'}]}",
		 "stefanprodan/podinfo@sha256:def", "docker.io/library/busybox@sha256:def"},
		{"{'imageOverrider':[{'predicate':{'path':'/spec/template/spec/containers/1/image'},'component':'Tag',"
		 "'operator':'replace','value':'1.36'}]}",
		 "stefanprodan/podinfo:6.0.0", "docker.io/library/busybox:1.36"},
		/* several image overriders apply in order */
		{"{'imageOverrider':[{'component':'Registry','operator':'replace','value':'r.eu'},"
		 "{'component':'Tag','operator':'replace','value':'x'}]}",
		 "r.eu/stefanprodan/podinfo:x", "r.eu/library/busybox:x"},
	};
	for (size_t i = 0; i < sizeof img / sizeof img[0]; i++) {
		char buf[1024];
		snprintf(buf, sizeof buf,
			 "[{'metadata':{'name':'op','namespace':'default'},'spec':{'overrideRules':[{'overriders':%s}]}}]",
			 img[i].overriders);
		cJSON *ops = jq(buf), *src = jq(TMPL), *m = render_clean_manifest(src);
		char err[256];
		assert_int_equal(render_apply_overrides(m, eu, NULL, ops, NULL, NULL, err, sizeof err), 0);
		if (strcmp(json_get_str(container(m, 0), "image"), img[i].image0) != 0 ||
		    strcmp(json_get_str(container(m, 1), "image"), img[i].image1) != 0)
			print_error("case %zu: %s / %s\n", i, json_get_str(container(m, 0), "image"),
				    json_get_str(container(m, 1), "image"));
		assert_string_equal(json_get_str(container(m, 0), "image"), img[i].image0);
		assert_string_equal(json_get_str(container(m, 1), "image"), img[i].image1);
		if (!strstr(img[i].overriders, "predicate"))
			assert_non_null(json_get(cJSON_GetArrayItem(json_get(m, "spec.template.spec.initContainers"), 0), "image"));
		cJSON_Delete(ops);
		cJSON_Delete(src);
		cJSON_Delete(m);
	}
	cJSON_Delete(eu);
}

static void test_override_kinds_and_order(void **state)
{
	(void)state;
	cJSON *eu = jq(CLUSTER_EU), *ap = jq(CLUSTER_AP);
	cJSON *t = jq(TMPL);
	/* One policy using every overrider kind: command, args, labels,
	 * annotations, plaintext — and plaintext runs last, so it sees what the
	 * earlier overriders did. */
	cJSON *ops = jq(
	    "[{'metadata':{'name':'all','namespace':'default'},'spec':{'resourceSelectors':[{'apiVersion':'apps/v1',"
	    "'kind':'Deployment','name':'hello'}],'overrideRules':[{'targetCluster':{'clusterNames':['eu']},'overriders':{"
	    "'plaintext':[{'path':'/metadata/labels/seen','operator':'add','value':'yes'},"
	    "{'path':'/spec/template/spec/containers/0/command/1','operator':'replace','value':'patched'}],"
	    "'commandOverrider':[{'containerName':'hello','operator':'add','value':['--x','--y']},"
	    "{'containerName':'hello','operator':'remove','value':['run']}],"
	    "'argsOverrider':[{'containerName':'side','operator':'add','value':['-a']}],"
	    "'labelsOverrider':[{'operator':'add','value':{'region':'eu','app':'renamed'}},"
	    "{'operator':'replace','value':{'absent':'x'}},{'operator':'remove','value':{'app':''}}],"
	    "'annotationsOverrider':[{'operator':'replace','value':{'keep':'changed'}},"
	    "{'operator':'add','value':{'note':'n'}}]}}]}}]");
	cJSON *m = render_clean_manifest(t);
	char err[256];
	cJSON *acops = NULL, *aops = NULL;
	assert_int_equal(render_apply_overrides(m, eu, NULL, ops, &acops, &aops, err, sizeof err), 0);
	cJSON *want = jq("['--x','patched']");
	assert_true(cJSON_Compare(json_get(container(m, 0), "command"), want, 1));
	cJSON_Delete(want);
	want = jq("['-a']");
	assert_true(cJSON_Compare(json_get(container(m, 1), "args"), want, 1));
	cJSON_Delete(want);
	assert_string_equal(lab(m, "region"), "eu");
	assert_null(lab(m, "app"));
	assert_null(lab(m, "absent"));
	assert_string_equal(lab(m, "seen"), "yes");
	assert_string_equal(ann(m, "keep"), "changed");
	assert_string_equal(ann(m, "note"), "n");
	assert_null(acops);
	assert_int_equal(cJSON_GetArraySize(aops), 1);
	assert_string_equal(json_get_str(cJSON_GetArrayItem(aops, 0), "policyName"), "all");
	cJSON_Delete(aops);
	cJSON_Delete(m);
	/* not for ap */
	m = render_clean_manifest(t);
	assert_int_equal(render_apply_overrides(m, ap, NULL, ops, &acops, &aops, err, sizeof err), 0);
	assert_null(aops);
	assert_string_equal(lab(m, "app"), "hello");
	cJSON_Delete(m);
	cJSON_Delete(ops);

	/* Policy order: ClusterOverridePolicies first, then namespaced ones;
	 * within each, implicit priority (all < labelSelector < name) then
	 * name. The last writer of a label wins. */
	cJSON *cops = jq(
	    "[{'metadata':{'name':'c-b-name'},'spec':{'resourceSelectors':[{'apiVersion':'apps/v1','kind':'Deployment',"
	    "'name':'hello'}],'overrideRules':[{'overriders':{'labelsOverrider':[{'operator':'add','value':{'order':'c-b-name',"
	    "'c':'1'}}]}}]}},"
	    "{'metadata':{'name':'c-a-all'},'spec':{'overrideRules':[{'overriders':{'labelsOverrider':[{'operator':'add',"
	    "'value':{'order':'c-a-all','first':'c-a-all'}}]}}]}},"
	    "{'metadata':{'name':'c-z-label'},'spec':{'resourceSelectors':[{'apiVersion':'apps/v1','kind':'Deployment',"
	    "'labelSelector':{'matchLabels':{'app':'hello'}}}],'overrideRules':[{'overriders':{'labelsOverrider':[{"
	    "'operator':'add','value':{'order':'c-z-label'}}]}}]}},"
	    "{'metadata':{'name':'c-other'},'spec':{'resourceSelectors':[{'apiVersion':'v1','kind':'Service'}],"
	    "'overrideRules':[{'overriders':{'labelsOverrider':[{'operator':'add','value':{'order':'wrong'}}]}}]}}]");
	ops = jq(
	    "[{'metadata':{'name':'o-b','namespace':'default'},'spec':{'overrideRules':[{'overriders':{'labelsOverrider':[{"
	    "'operator':'add','value':{'order':'o-b'}}]}}]}},"
	    "{'metadata':{'name':'o-a','namespace':'default'},'spec':{'overrideRules':[{'overriders':{'labelsOverrider':[{"
	    "'operator':'add','value':{'order':'o-a','first':'o-a'}}]}}]}},"
	    "{'metadata':{'name':'o-elsewhere','namespace':'other'},'spec':{'overrideRules':[{'overriders':{"
	    "'labelsOverrider':[{'operator':'add','value':{'order':'wrong'}}]}}]}},"
	    /* deprecated form: spec.targetCluster + spec.overriders */
	    "{'metadata':{'name':'o-c-legacy','namespace':'default'},'spec':{'targetCluster':{'clusterNames':['eu']},"
	    "'overriders':{'annotationsOverrider':[{'operator':'add','value':{'legacy':'yes'}}]}}},"
	    "{'metadata':{'name':'o-d-legacy-ap','namespace':'default'},'spec':{'targetCluster':{'clusterNames':['ap']},"
	    "'overriders':{'annotationsOverrider':[{'operator':'add','value':{'legacy-ap':'yes'}}]}}}]");
	m = render_clean_manifest(t);
	assert_int_equal(render_apply_overrides(m, eu, cops, ops, &acops, &aops, err, sizeof err), 0);
	assert_string_equal(lab(m, "order"), "o-b");
	assert_string_equal(lab(m, "first"), "o-a");
	assert_string_equal(lab(m, "c"), "1");
	assert_string_equal(ann(m, "legacy"), "yes");
	assert_null(ann(m, "legacy-ap"));
	const char *want_c[] = {"c-a-all", "c-z-label", "c-b-name"};
	assert_int_equal(cJSON_GetArraySize(acops), 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(json_get_str(cJSON_GetArrayItem(acops, i), "policyName"), want_c[i]);
	const char *want_o[] = {"o-a", "o-b", "o-c-legacy"};
	assert_int_equal(cJSON_GetArraySize(aops), 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(json_get_str(cJSON_GetArrayItem(aops, i), "policyName"), want_o[i]);
	cJSON_Delete(acops);
	cJSON_Delete(aops);
	cJSON_Delete(m);

	/* render_work records and reports the applied policies. */
	cJSON *p = jq(POLICY);
	cJSON *b = render_binding(t, p, false, NULL, "rb");
	cJSON *applied = NULL;
	cJSON *w = work_for(b, t, "eu", 3, eu, cops, ops, &applied);
	assert_string_equal(lab(manifest(w), "order"), "o-b");
	assert_int_equal((int)json_get_num(manifest(w), "spec.replicas", 0), 3);
	cJSON *ac = cJSON_Parse(ann(w, APPLIED_CLUSTER_OVERRIDES_ANNOTATION));
	cJSON *ao = cJSON_Parse(ann(w, APPLIED_OVERRIDES_ANNOTATION));
	assert_int_equal(cJSON_GetArraySize(ac), 3);
	assert_int_equal(cJSON_GetArraySize(ao), 3);
	cJSON_Delete(ac);
	cJSON_Delete(ao);
	want = jq("['c-a-all','c-z-label','c-b-name','default/o-a','default/o-b','default/o-c-legacy']");
	assert_true(cJSON_Compare(applied, want, 1));
	cJSON_Delete(want);
	cJSON_Delete(applied);
	cJSON_Delete(w);
	/* Karmada's metadata is stamped after overrides: a labelsOverrider
	 * cannot remove karmada.io/managed. */
	cJSON *rm = jq("[{'metadata':{'name':'rm'},'spec':{'overrideRules':[{'overriders':{'labelsOverrider':[{"
		       "'operator':'remove','value':{'karmada.io/managed':''}}]}}]}}]");
	w = work_for(b, t, "eu", 3, eu, rm, NULL, NULL);
	assert_string_equal(lab(manifest(w), MANAGED_BY_KARMADA_LABEL), "true");
	cJSON_Delete(w);
	cJSON_Delete(rm);
	/* A failing plaintext op fails the Work. */
	cJSON *bad = jq("[{'metadata':{'name':'bad'},'spec':{'overrideRules':[{'overriders':{'plaintext':[{"
			"'path':'/spec/nothing/here','operator':'replace','value':1}]}}]}}]");
	struct render_work_in in = {.binding = b, .tmpl = t, .cluster = "eu", .replicas = 3, .cluster_obj = eu,
				    .cops = bad, .work_id = "w"};
	err[0] = '\0';
	assert_null(render_work(&in, &applied, err, sizeof err));
	assert_true(err[0] != '\0');
	assert_null(applied);
	cJSON_Delete(bad);
	cJSON_Delete(b);
	cJSON_Delete(p);
	cJSON_Delete(cops);
	cJSON_Delete(ops);
	cJSON_Delete(t);
	cJSON_Delete(eu);
	cJSON_Delete(ap);
}

/* fieldOverrider: JSON patch inside a string field holding YAML or JSON
 * (Karmada's applyFieldOverriders), before plaintext; a field that is not a
 * string fails the Work with Karmada's message. */
static void test_field_overrider(void **state)
{
	(void)state;
	cJSON *eu = jq(CLUSTER_EU);
	cJSON *cm = jq("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'cfg','namespace':'default'},"
		       "'data':{'db.yaml':'database:\\n  host: db.local\\n  port: 5432\\n  replicas: [a, b]\\n',"
		       "'app.json':'{\\\"z\\\":1,\\\"log\\\":{\\\"level\\\":\\\"info\\\"}}'}}");
	cJSON *ops = jq(
	    "[{'metadata':{'name':'fo','namespace':'default'},'spec':{'overrideRules':[{'overriders':{"
	    "'fieldOverrider':[{'fieldPath':'/data/db.yaml','yaml':[{'subPath':'/database/host','operator':'replace',"
	    "'value':'db.eu'},{'subPath':'/database/port','operator':'replace','value':'3306'},"
	    "{'subPath':'/database/replicas/-','operator':'add','value':'c'},{'subPath':'/database/tls','operator':'add',"
	    "'value':true}]},"
	    "{'fieldPath':'/data/app.json','json':[{'subPath':'/log/level','operator':'replace','value':'debug'},"
	    "{'subPath':'/z','operator':'remove'}]}],"
	    "'plaintext':[{'path':'/data/seen','operator':'add','value':'after'}]}}]}}]");
	cJSON *m = render_clean_manifest(cm);
	char err[256] = "";
	assert_int_equal(render_apply_overrides(m, eu, NULL, ops, NULL, NULL, err, sizeof err), 0);
	/* YAML back as sigs.k8s.io/yaml writes it: keys sorted, "3306" quoted
	 * (a string that would read back as a number). */
	assert_string_equal(json_get_str(m, "data.seen"), "after");
	const char *y = cJSON_GetStringValue(cJSON_GetObjectItem(json_get(m, "data"), "db.yaml"));
	assert_string_equal(y, "database:\n  host: db.eu\n  port: \"3306\"\n  replicas:\n  - a\n  - b\n  - c\n  tls: true\n");
	const char *j = cJSON_GetStringValue(cJSON_GetObjectItem(json_get(m, "data"), "app.json"));
	assert_string_equal(j, "{\"log\":{\"level\":\"debug\"}}");
	cJSON_Delete(m);
	cJSON_Delete(ops);

	/* Not a string, not YAML, a patch that does not apply: errors. */
	static const char *const bad[][2] = {
	    {"{'fieldPath':'/metadata','json':[{'subPath':'/a','operator':'add','value':1}]}",
	     "Get object's value by overrider's path(/metadata) is not string"},
	    {"{'fieldPath':'/data/app.json','yaml':[{'subPath':'/nope/x','operator':'replace','value':1}]}",
	     "fieldOverrider at /data/app.json: jsonpatch"},
	    {"{'fieldPath':'/data/db.yaml','json':[{'subPath':'/x','operator':'add','value':1}]}",
	     "fieldOverrider at /data/db.yaml: the field is not JSON"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char pol[1024];
		snprintf(pol, sizeof pol,
			 "[{'metadata':{'name':'fo','namespace':'default'},'spec':{'overrideRules':[{'overriders':{"
			 "'fieldOverrider':[%s]}}]}}]",
			 bad[i][0]);
		ops = jq(pol);
		m = render_clean_manifest(cm);
		err[0] = '\0';
		assert_int_equal(render_apply_overrides(m, eu, NULL, ops, NULL, NULL, err, sizeof err), -1);
		if (strncmp(err, bad[i][1], strlen(bad[i][1])) != 0)
			print_error("case %zu: %s\n", i, err);
		assert_true(strncmp(err, bad[i][1], strlen(bad[i][1])) == 0);
		cJSON_Delete(m);
		cJSON_Delete(ops);
	}
	cJSON_Delete(cm);
	cJSON_Delete(eu);
}

static void test_dependencies(void **state)
{
	(void)state;
	cJSON *t = jq(
	    "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'d','namespace':'ns'},'spec':{'template':{'spec':{"
	    "'serviceAccountName':'robot','imagePullSecrets':[{'name':'pull'}],"
	    "'volumes':[{'name':'a','configMap':{'name':'cm-vol'}},{'name':'b','secret':{'secretName':'sec-vol'}},"
	    "{'name':'c','persistentVolumeClaim':{'claimName':'data'}},"
	    "{'name':'p','projected':{'sources':[{'configMap':{'name':'cm-proj'}},{'secret':{'name':'sec-proj'}}]}}],"
	    "'initContainers':[{'name':'i','envFrom':[{'configMapRef':{'name':'cm-init'}}]}],"
	    "'containers':[{'name':'c','env':[{'name':'X','valueFrom':{'configMapKeyRef':{'name':'cm-env','key':'k'}}},"
	    "{'name':'Y','valueFrom':{'secretKeyRef':{'name':'sec-env','key':'k'}}}],"
	    "'envFrom':[{'secretRef':{'name':'sec-from'}},{'configMapRef':{'name':'cm-vol'}}]}]}}}}");
	cJSON *d = render_dependencies(t);
	const char *want[][2] = {
	    {"ConfigMap", "cm-vol"}, {"ConfigMap", "cm-proj"}, {"ConfigMap", "cm-init"}, {"ConfigMap", "cm-env"},
	    {"Secret", "pull"}, {"Secret", "sec-vol"}, {"Secret", "sec-proj"}, {"Secret", "sec-env"},
	    {"Secret", "sec-from"}, {"ServiceAccount", "robot"}, {"PersistentVolumeClaim", "data"},
	};
	int n = (int)(sizeof want / sizeof want[0]);
	if (cJSON_GetArraySize(d) != n) {
		char *s = cJSON_PrintUnformatted(d);
		print_error("deps: %s\n", s);
		free(s);
	}
	assert_int_equal(cJSON_GetArraySize(d), n);
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_GetArrayItem(d, i);
		assert_string_equal(json_get_str(e, "kind"), want[i][0]);
		assert_string_equal(json_get_str(e, "name"), want[i][1]);
		assert_string_equal(json_get_str(e, "namespace"), "ns");
		assert_string_equal(json_get_str(e, "apiVersion"), "v1");
	}
	cJSON_Delete(d);
	cJSON_Delete(t);
	/* the default ServiceAccount is not a dependency; non-workloads have none */
	t = jq("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'ns'},'spec':{'serviceAccountName':'default'}}");
	d = render_dependencies(t);
	assert_int_equal(cJSON_GetArraySize(d), 0);
	cJSON_Delete(d);
	cJSON_Delete(t);
	t = jq("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'}}");
	d = render_dependencies(t);
	assert_int_equal(cJSON_GetArraySize(d), 0);
	cJSON_Delete(d);
	cJSON_Delete(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_target_clusters),
		cmocka_unit_test(test_work_per_cluster),
		cmocka_unit_test(test_work_stamp),
		cmocka_unit_test(test_clean_service_and_job),
		cmocka_unit_test(test_cluster_matches),
		cmocka_unit_test(test_override_target_zones),
		cmocka_unit_test(test_overriders),
		cmocka_unit_test(test_override_kinds_and_order),
		cmocka_unit_test(test_field_overrider),
		cmocka_unit_test(test_dependencies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
