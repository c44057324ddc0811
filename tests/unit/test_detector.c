/* test_detector — policy matching: what may be propagated, resourceSelector
 * matching and its implicit priority, the choice between policies (explicit
 * priority, implicit priority, name; PropagationPolicy before
 * ClusterPropagationPolicy; claims and preemption), and the claim patch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "jsonutil.h"
#include "testutil.h"

static const char *DEPLOY = "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'hello','namespace':'default',"
			    "'uid':'u1','labels':{'app':'hello','tier':'web'}}}";

/* Karmada's namespace sync controller: which Namespaces every member gets. */
static void test_namespace_auto_sync(void **state)
{
	(void)state;
	static const struct {
		const char *obj;
		bool sync;
	} cases[] = {
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'team-a'}}", true},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'default'}}", false},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'kube-system'}}", false},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'kube-public'}}", false},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'karmada-system'}}", false},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'karmada-apps'}}", false},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'karmada-es-eu'}}", false},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'kubeflow'}}", true},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'team-b','labels':"
	     "{'namespace.karmada.io/skip-auto-propagation':'true'}}}", false},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'team-c','labels':"
	     "{'namespace.karmada.io/skip-auto-propagation':'false'}}}", true},
	    {"{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'gone','deletionTimestamp':'2026-01-01T00:00:00Z'}}",
	     false},
	    {"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'team-a','namespace':'team-a'}}", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *o = jq(cases[i].obj);
		if (detector_namespace_auto_sync(o) != cases[i].sync)
			fail_msg("case %zu (%s): want %d", i, cases[i].obj, cases[i].sync);
		cJSON_Delete(o);
	}
}

/* Deleting a policy ends its claim on the binding and nothing else. */
static void test_unclaimed_binding(void **state)
{
	(void)state;
	cJSON *b = jq("{'apiVersion':'work.karmada.io/v1alpha2','kind':'ResourceBinding','metadata':{'name':'hello-deployment',"
		      "'namespace':'default','resourceVersion':'7','labels':{'propagationpolicy.karmada.io/permanent-id':'p1',"
		      "'resourcebinding.karmada.io/permanent-id':'b1'},'annotations':{'propagationpolicy.karmada.io/name':'pp',"
		      "'propagationpolicy.karmada.io/namespace':'default'}},'spec':{'clusters':[{'name':'eu','replicas':2}],"
		      "'placement':{'clusterAffinity':{'clusterNames':['eu']}}},'status':{'conditions':[]}}");
	cJSON *u = detector_unclaimed_binding(b);
	assert_non_null(u);
	const cJSON *labels = json_get(u, "metadata.labels");
	assert_null(cJSON_GetObjectItemCaseSensitive(labels, "propagationpolicy.karmada.io/permanent-id"));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, "resourcebinding.karmada.io/permanent-id")),
			    "b1");
	assert_null(json_get(u, "metadata.annotations"));
	assert_null(json_get(u, "metadata.resourceVersion"));
	assert_null(json_get(u, "status"));
	/* Placement and the scheduled clusters stay: nothing leaves a member. */
	assert_true(json_equal(json_get(u, "spec"), json_get(b, "spec")));
	/* Already unclaimed: nothing to write. */
	assert_null(detector_unclaimed_binding(u));
	cJSON_Delete(u);
	cJSON_Delete(b);
}

static void test_propagatable(void **state)
{
	(void)state;
	assert_true(detector_propagatable("apps/v1", "Deployment", "default"));
	assert_true(detector_propagatable("v1", "Service", "default"));
	assert_true(detector_propagatable("v1", "ConfigMap", "team-a"));
	assert_true(detector_propagatable("rbac.authorization.k8s.io/v1", "ClusterRole", ""));
	/* reserved namespaces */
	assert_false(detector_propagatable("apps/v1", "Deployment", "karmada-system"));
	assert_false(detector_propagatable("apps/v1", "Deployment", "karmada-cluster"));
	assert_false(detector_propagatable("apps/v1", "Deployment", "karmada-es-eu"));
	assert_false(detector_propagatable("v1", "ConfigMap", "kube-system"));
	assert_false(detector_propagatable("v1", "ConfigMap", "kube-public"));
	assert_true(detector_propagatable("v1", "ConfigMap", "karmada-other"));
	assert_true(detector_propagatable("v1", "ConfigMap", "kubeflow"));
	/* Karmada's own groups */
	assert_false(detector_propagatable("cluster.karmada.io/v1alpha1", "Cluster", ""));
	assert_false(detector_propagatable("policy.karmada.io/v1alpha1", "PropagationPolicy", "default"));
	assert_false(detector_propagatable("work.karmada.io/v1alpha1", "Work", "karmada-es-eu"));
	assert_false(detector_propagatable("work.karmada.io/v1alpha2", "ResourceBinding", "default"));
	/* cluster-internal kinds */
	assert_false(detector_propagatable("v1", "Event", "default"));
	assert_false(detector_propagatable("events.k8s.io/v1", "Event", "default"));
	assert_false(detector_propagatable("coordination.k8s.io/v1", "Lease", "default"));
	assert_false(detector_propagatable("v1", "Node", ""));
	/* Every kind the hub serves propagates, as in Karmada (issue 16). */
	assert_true(detector_propagatable("v1", "Namespace", ""));
	assert_true(detector_propagatable("v1", "Pod", "default"));
	assert_true(detector_propagatable("apiextensions.k8s.io/v1", "CustomResourceDefinition", ""));
	assert_true(detector_propagatable("webapp.my.domain/v1", "Guestbook", "default"));
	/* ... but a reserved Namespace object does not. */
	cJSON *ns = jq("{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'kube-system'}}");
	assert_false(detector_template_propagatable(ns));
	cJSON_Delete(ns);
	ns = jq("{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'karmada-es-eu'}}");
	assert_false(detector_template_propagatable(ns));
	cJSON_Delete(ns);
	ns = jq("{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'team-a'}}");
	assert_true(detector_template_propagatable(ns));
	cJSON_Delete(ns);
	assert_false(detector_propagatable(NULL, "Deployment", "default"));
}

static void test_selector_match(void **state)
{
	(void)state;
	cJSON *d = jq(DEPLOY);
	static const struct {
		const char *sel;
		const char *default_ns;
		enum match_priority want;
	} cases[] = {
		{"{'apiVersion':'apps/v1','kind':'Deployment','name':'hello'}", "default", MATCH_NAME},
		{"{'apiVersion':'apps/v1','kind':'Deployment','name':'other'}", "default", MATCH_NONE},
		/* a name wins over (and ignores) a labelSelector */
		{"{'apiVersion':'apps/v1','kind':'Deployment','name':'hello','labelSelector':{'matchLabels':{'app':'x'}}}",
		 "default", MATCH_NAME},
		{"{'apiVersion':'apps/v1','kind':'Deployment','labelSelector':{'matchLabels':{'app':'hello'}}}", "default",
		 MATCH_LABEL_SELECTOR},
		{"{'apiVersion':'apps/v1','kind':'Deployment','labelSelector':{'matchExpressions':[{'key':'tier','operator':'In','values':['web','db']}]}}",
		 NULL, MATCH_LABEL_SELECTOR},
		{"{'apiVersion':'apps/v1','kind':'Deployment','labelSelector':{'matchLabels':{'app':'other'}}}", "default",
		 MATCH_NONE},
		{"{'apiVersion':'apps/v1','kind':'Deployment'}", "default", MATCH_ALL},
		{"{'apiVersion':'apps/v1','kind':'Deployment','namespace':'default'}", NULL, MATCH_ALL},
		{"{'apiVersion':'apps/v1','kind':'Deployment','namespace':'other'}", NULL, MATCH_NONE},
		/* a PropagationPolicy's empty selector namespace means its own */
		{"{'apiVersion':'apps/v1','kind':'Deployment'}", "other", MATCH_NONE},
		{"{'apiVersion':'apps/v1beta1','kind':'Deployment'}", NULL, MATCH_NONE},
		{"{'apiVersion':'apps/v1','kind':'StatefulSet'}", NULL, MATCH_NONE},
		{"{'kind':'Deployment'}", NULL, MATCH_NONE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *s = jq(cases[i].sel);
		enum match_priority got = detector_selector_match(s, d, cases[i].default_ns);
		if (got != cases[i].want)
			print_error("case %zu %s: got %d want %d\n", i, cases[i].sel, got, cases[i].want);
		assert_int_equal(got, cases[i].want);
		cJSON_Delete(s);
	}
	cJSON_Delete(d);
}

static cJSON *pp(const char *name, const char *ns, int priority, const char *selector, const char *preemption)
{
	char buf[2048];
	snprintf(buf, sizeof buf,
		 "{'apiVersion':'policy.karmada.io/v1alpha1','kind':'%s','metadata':{'name':'%s'%s%s%s,'uid':'uid-%s'},"
		 "'spec':{'priority':%d,%s%s%s'resourceSelectors':[%s]}}",
		 ns ? "PropagationPolicy" : "ClusterPropagationPolicy", name, ns ? ",'namespace':'" : "", ns ? ns : "",
		 ns ? "'" : "", name, priority, preemption ? "'preemption':'" : "", preemption ? preemption : "",
		 preemption ? "'," : "", selector);
	return jq(buf);
}

#define SEL_NAME "{'apiVersion':'apps/v1','kind':'Deployment','name':'hello'}"
#define SEL_LABEL "{'apiVersion':'apps/v1','kind':'Deployment','labelSelector':{'matchLabels':{'app':'hello'}}}"
#define SEL_ALL "{'apiVersion':'apps/v1','kind':'Deployment'}"
#define SEL_NONE "{'apiVersion':'v1','kind':'Service'}"

static const char *chosen(const cJSON *tmpl, cJSON *pps, cJSON *cpps, bool *cluster)
{
	struct detector_choice ch;
	if (!detector_choose(tmpl, pps, cpps, &ch))
		return NULL;
	*cluster = ch.cluster_policy;
	return json_get_str(ch.policy, "metadata.name");
}

static void test_choose_order(void **state)
{
	(void)state;
	cJSON *d = jq(DEPLOY);
	bool cl;
	/* implicit priority: name > labelSelector > all */
	cJSON *pps = cJSON_CreateArray();
	cJSON_AddItemToArray(pps, pp("a-all", "default", 0, SEL_ALL, NULL));
	cJSON_AddItemToArray(pps, pp("b-label", "default", 0, SEL_LABEL, NULL));
	assert_string_equal(chosen(d, pps, NULL, &cl), "b-label");
	cJSON_AddItemToArray(pps, pp("c-name", "default", 0, SEL_NAME, NULL));
	assert_string_equal(chosen(d, pps, NULL, &cl), "c-name");
	assert_false(cl);
	/* explicit priority beats implicit */
	cJSON_AddItemToArray(pps, pp("d-all-high", "default", 5, SEL_ALL, NULL));
	assert_string_equal(chosen(d, pps, NULL, &cl), "d-all-high");
	/* equal explicit and implicit: the smaller name */
	cJSON_AddItemToArray(pps, pp("0-all-high", "default", 5, SEL_ALL, NULL));
	assert_string_equal(chosen(d, pps, NULL, &cl), "0-all-high");
	/* the best of several selectors counts */
	char two[512];
	snprintf(two, sizeof two, "%s,%s", SEL_NONE, SEL_NAME);
	cJSON_AddItemToArray(pps, pp("e-name-high", "default", 5, two, NULL));
	assert_string_equal(chosen(d, pps, NULL, &cl), "e-name-high");
	/* other namespaces and non-matching policies never count */
	cJSON_AddItemToArray(pps, pp("f-other-ns", "other", 100, SEL_ALL, NULL));
	cJSON_AddItemToArray(pps, pp("g-service", "default", 100, SEL_NONE, NULL));
	assert_string_equal(chosen(d, pps, NULL, &cl), "e-name-high");
	/* negative priorities */
	cJSON *neg = cJSON_CreateArray();
	cJSON_AddItemToArray(neg, pp("x", "default", -3, SEL_NAME, NULL));
	cJSON_AddItemToArray(neg, pp("y", "default", -1, SEL_ALL, NULL));
	assert_string_equal(chosen(d, neg, NULL, &cl), "y");
	cJSON_Delete(neg);
	cJSON_Delete(pps);
	cJSON_Delete(d);
}

static void test_choose_pp_before_cpp(void **state)
{
	(void)state;
	cJSON *d = jq(DEPLOY);
	bool cl;
	cJSON *cpps = cJSON_CreateArray();
	cJSON_AddItemToArray(cpps, pp("c-high", NULL, 100, SEL_NAME, NULL));
	cJSON_AddItemToArray(cpps, pp("b-all", NULL, 0, SEL_ALL, NULL));
	assert_string_equal(chosen(d, NULL, cpps, &cl), "c-high");
	assert_true(cl);
	/* any matching PropagationPolicy comes first, as Karmada's detector
	 * looks for one before cluster policies */
	cJSON *pps = cJSON_CreateArray();
	cJSON_AddItemToArray(pps, pp("p", "default", 0, SEL_ALL, NULL));
	assert_string_equal(chosen(d, pps, cpps, &cl), "p");
	assert_false(cl);
	/* nothing matches */
	cJSON *none = cJSON_CreateArray();
	cJSON_AddItemToArray(none, pp("s", "default", 0, SEL_NONE, NULL));
	struct detector_choice ch;
	assert_false(detector_choose(d, none, none, &ch));
	assert_null(ch.policy);
	/* reserved namespace: never */
	cJSON *sys = jq("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'hello','namespace':'kube-system'}}");
	cJSON *cpp_all = cJSON_CreateArray();
	cJSON_AddItemToArray(cpp_all, pp("all", NULL, 0, SEL_ALL, NULL));
	assert_false(detector_choose(sys, NULL, cpp_all, &ch));
	/* a cluster-scoped template sees only cluster policies */
	cJSON *cr = jq("{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole','metadata':{'name':'r'}}");
	cJSON *crp = cJSON_CreateArray();
	cJSON_AddItemToArray(crp, pp("roles", NULL, 0, "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole'}", NULL));
	assert_string_equal(chosen(cr, NULL, crp, &cl), "roles");
	cJSON_Delete(crp);
	cJSON_Delete(cr);
	cJSON_Delete(cpp_all);
	cJSON_Delete(sys);
	cJSON_Delete(none);
	cJSON_Delete(pps);
	cJSON_Delete(cpps);
	cJSON_Delete(d);
}

static void test_claims_and_preemption(void **state)
{
	(void)state;
	bool cl;
	/* claimed by a cluster policy */
	cJSON *d = jq("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'hello','namespace':'default',"
		      "'annotations':{'clusterpropagationpolicy.karmada.io/name':'c'}}}");
	cJSON *cpps = cJSON_CreateArray();
	cJSON_AddItemToArray(cpps, pp("c", NULL, 0, SEL_ALL, NULL));
	cJSON_AddItemToArray(cpps, pp("b-better", NULL, 9, SEL_NAME, NULL));
	/* the claim sticks against a better cluster policy without preemption */
	assert_string_equal(chosen(d, NULL, cpps, &cl), "c");
	cJSON *pps = cJSON_CreateArray();
	cJSON_AddItemToArray(pps, pp("p", "default", 0, SEL_NAME, NULL));
	assert_string_equal(chosen(d, pps, cpps, &cl), "c");
	/* a PropagationPolicy with preemption Always takes it */
	cJSON *ppa = cJSON_CreateArray();
	cJSON_AddItemToArray(ppa, pp("p", "default", 0, SEL_NAME, "Always"));
	assert_string_equal(chosen(d, ppa, cpps, &cl), "p");
	assert_false(cl);
	/* a cluster policy with preemption and higher priority takes it */
	cJSON_AddItemToArray(cpps, pp("a-preempt", NULL, 10, SEL_ALL, "Always"));
	assert_string_equal(chosen(d, NULL, cpps, &cl), "a-preempt");
	/* a claim whose policy is gone or no longer matches is dropped */
	cJSON *only_other = cJSON_CreateArray();
	cJSON_AddItemToArray(only_other, pp("z", NULL, 0, SEL_ALL, NULL));
	assert_string_equal(chosen(d, NULL, only_other, &cl), "z");
	cJSON *nomatch = cJSON_CreateArray();
	cJSON_AddItemToArray(nomatch, pp("c", NULL, 0, SEL_NONE, NULL));
	cJSON_AddItemToArray(nomatch, pp("y", NULL, 0, SEL_ALL, NULL));
	assert_string_equal(chosen(d, NULL, nomatch, &cl), "y");

	/* claimed by a PropagationPolicy: a lower- or equal-priority one with
	 * preemption cannot take it, a higher one can */
	cJSON *d2 = jq("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'hello','namespace':'default',"
		       "'annotations':{'propagationpolicy.karmada.io/name':'q','propagationpolicy.karmada.io/namespace':'default'}}}");
	cJSON *pq = cJSON_CreateArray();
	cJSON_AddItemToArray(pq, pp("q", "default", 1, SEL_ALL, NULL));
	cJSON_AddItemToArray(pq, pp("a", "default", 1, SEL_NAME, "Always"));
	assert_string_equal(chosen(d2, pq, NULL, &cl), "q");
	cJSON_AddItemToArray(pq, pp("0", "default", 2, SEL_ALL, "Always"));
	assert_string_equal(chosen(d2, pq, NULL, &cl), "0");
	cJSON_Delete(pq);
	cJSON_Delete(d2);
	cJSON_Delete(nomatch);
	cJSON_Delete(only_other);
	cJSON_Delete(ppa);
	cJSON_Delete(pps);
	cJSON_Delete(cpps);
	cJSON_Delete(d);
}

static void test_claim_patch(void **state)
{
	(void)state;
	cJSON *d = jq(DEPLOY);
	cJSON *p = pp("hello-propagation", "default", 0, SEL_NAME, NULL);
	assert_false(detector_is_claimed(d));
	cJSON *patch = detector_claim_patch(d, p, false);
	assert_non_null(patch);
	cJSON *ann = json_get(patch, "metadata.annotations"), *lab = json_get(patch, "metadata.labels");
	assert_string_equal(cJSON_GetObjectItem(ann, PP_NAME_ANNOTATION)->valuestring, "hello-propagation");
	assert_string_equal(cJSON_GetObjectItem(ann, PP_NAMESPACE_ANNOTATION)->valuestring, "default");
	assert_string_equal(cJSON_GetObjectItem(lab, PP_PERMANENT_ID_LABEL)->valuestring, "uid-hello-propagation");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(ann, CPP_NAME_ANNOTATION)));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(lab, CPP_PERMANENT_ID_LABEL)));
	/* applied: no further patch */
	json_set(json_ensure_obj(d, "metadata"), "annotations", json_dup(ann));
	cJSON_DeleteItemFromObject(json_get(d, "metadata.annotations"), CPP_NAME_ANNOTATION);
	json_set_str(json_get(d, "metadata.labels"), PP_PERMANENT_ID_LABEL, "uid-hello-propagation");
	assert_true(detector_is_claimed(d));
	assert_null(detector_claim_patch(d, p, false));
	/* the label on the policy is its permanent id */
	json_set_str(json_ensure_obj(p, "metadata.labels"), PP_PERMANENT_ID_LABEL, "perm-1");
	assert_string_equal(detector_policy_permanent_id(p, false), "perm-1");
	cJSON_Delete(patch);
	/* unclaim removes every key */
	patch = detector_claim_patch(d, NULL, false);
	assert_non_null(patch);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(json_get(patch, "metadata.annotations"), PP_NAME_ANNOTATION)));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(json_get(patch, "metadata.labels"), PP_PERMANENT_ID_LABEL)));
	cJSON_Delete(patch);
	cJSON *plain = jq(DEPLOY);
	assert_null(detector_claim_patch(plain, NULL, false));
	cJSON_Delete(plain);
	cJSON_Delete(p);
	cJSON_Delete(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_propagatable),
		cmocka_unit_test(test_namespace_auto_sync),
		cmocka_unit_test(test_unclaimed_binding),
		cmocka_unit_test(test_selector_match),
		cmocka_unit_test(test_choose_order),
		cmocka_unit_test(test_choose_pp_before_cpp),
		cmocka_unit_test(test_claims_and_preemption),
		cmocka_unit_test(test_claim_patch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
