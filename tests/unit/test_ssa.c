/* test_ssa — server-side apply: field sets in Kubernetes' FieldsV1 form
 * (list semantics from the schema table), set algebra, the apply merge,
 * conflicts, force, removal of dropped fields and Update ownership. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "kinds.h"
#include "ssa.h"

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (!j)
		fail_msg("test JSON does not parse: %s", text);
	return j;
}

static void assert_json(const cJSON *got, const char *want_text)
{
	assert_non_null(got);
	cJSON *want = parse(want_text);
	if (!json_equal(got, want)) {
		char *g = json_print(got);
		fail_msg("got %s\nwant %s", g, want_text);
	}
	cJSON_Delete(want);
}

static const struct kind_info *deployment(void)
{
	kinds_init();
	const struct kind_info *k = kinds_find_kind("apps", "v1", "Deployment");
	assert_non_null(k);
	return k;
}

static const char *DEPLOY =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"d\","
	"\"uid\":\"u\",\"resourceVersion\":\"5\",\"labels\":{\"app\":\"web\"},\"finalizers\":[\"a\",\"b\"]},"
	"\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
	"\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",\"args\":[\"-x\"],"
	"\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}],"
	"\"tolerations\":[{\"key\":\"k\"}]}}},\"status\":{\"replicas\":2}}";

static void test_fieldset_kubernetes_form(void **state)
{
	const struct kind_info *k = deployment();
	cJSON *obj = parse(DEPLOY);
	cJSON *set = ssa_fieldset(k, obj, true);
	cJSON *v1 = ssa_fieldset_to_v1(set);
	/* Server-kept metadata, type meta and status are nobody's; selector is
	 * an atomic map; args and tolerations atomic lists; containers, env
	 * and ports lists keyed by their list-map-keys (protocol defaulted);
	 * finalizers a set. */
	assert_json(v1,
		    "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}},\"f:finalizers\":{\"v:\\\"a\\\"\":{},\"v:\\\"b\\\"\":{}}},"
		    "\"f:spec\":{\"f:replicas\":{},\"f:selector\":{},\"f:template\":{\"f:spec\":{"
		    "\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{\".\":{},\"f:name\":{},\"f:image\":{},\"f:args\":{},"
		    "\"f:ports\":{\"k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}},"
		    "\"f:env\":{\"k:{\\\"name\\\":\\\"A\\\"}\":{\".\":{},\"f:name\":{},\"f:value\":{}}}}},"
		    "\"f:tolerations\":{}}}}}");
	/* fieldsV1 reads back to the same set. */
	cJSON *back = ssa_fieldset_from_v1(v1);
	assert_true(json_equal(back, set));
	/* Without status stripping, status is a field like any other. */
	cJSON *with = ssa_fieldset(k, obj, false);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(with, "f:status"));
	cJSON_Delete(with);
	cJSON_Delete(back);
	cJSON_Delete(v1);
	cJSON_Delete(set);
	cJSON_Delete(obj);
}

static void test_fieldset_without_schema_is_atomic(void **state)
{
	cJSON *obj = parse("{\"spec\":{\"items\":[{\"name\":\"a\"}],\"m\":{\"x\":1}}}");
	cJSON *set = ssa_fieldset(NULL, obj, false);
	cJSON *v1 = ssa_fieldset_to_v1(set);
	assert_json(v1, "{\"f:spec\":{\"f:items\":{},\"f:m\":{\"f:x\":{}}}}");
	cJSON_Delete(v1);
	cJSON_Delete(set);
	cJSON_Delete(obj);
}

static void test_set_algebra(void **state)
{
	cJSON *av = parse("{\"f:a\":{},\"f:b\":{\"f:c\":{},\"f:d\":{}},\"f:l\":{\"k:{\\\"n\\\":1}\":{\".\":{},\"f:n\":{}}}}");
	cJSON *bv = parse("{\"f:b\":{\"f:c\":{}},\"f:l\":{\"k:{\\\"n\\\":1}\":{\"f:n\":{}}}}");
	cJSON *a = ssa_fieldset_from_v1(av), *b = ssa_fieldset_from_v1(bv);
	cJSON *d = ssa_set_difference(a, b);
	cJSON *dv = ssa_fieldset_to_v1(d);
	assert_json(dv, "{\"f:a\":{},\"f:b\":{\"f:d\":{}},\"f:l\":{\"k:{\\\"n\\\":1}\":{}}}");
	cJSON_Delete(av);
	cJSON_Delete(bv);
	cJSON_Delete(dv);
	cJSON *u = ssa_set_union(d, b);
	assert_true(json_equal(u, a));
	cJSON *e = ssa_set_difference(a, a);
	assert_true(ssa_set_empty(e));
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(d);
	cJSON_Delete(u);
	cJSON_Delete(e);
}

static cJSON *apply(const struct kind_info *k, const cJSON *live, const char *cfg, const char *mgr, bool force,
		    int *code, char *err, size_t errlen, cJSON **causes)
{
	cJSON *c = parse(cfg);
	struct ssa_writer w = {.manager = mgr, .apply = true, .force = force};
	cJSON *out = ssa_apply(k, live, c, &w, "apps/v1", "2026-01-01T00:00:00Z", true, code, err, errlen, causes);
	cJSON_Delete(c);
	return out;
}

static const cJSON *entry(const cJSON *obj, const char *manager, const char *op)
{
	const cJSON *mf = json_get(obj, "metadata.managedFields");
	for (const cJSON *e = mf ? mf->child : NULL; e; e = e->next)
		if (!strcmp(json_get_str(e, "manager"), manager) && !strcmp(json_get_str(e, "operation"), op))
			return e;
	return NULL;
}

#define ALICE                                                                                                     \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"," \
	"\"tier\":\"x\"}},\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","           \
	"\"image\":\"nginx\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}]}}}}"

static void test_apply_conflict_force_and_removal(void **state)
{
	const struct kind_info *k = deployment();
	int code;
	char err[1024];
	cJSON *causes = NULL;
	cJSON *o1 = apply(k, NULL, ALICE, "alice", false, &code, err, sizeof err, &causes);
	assert_non_null(o1);
	const cJSON *ea = entry(o1, "alice", "Apply");
	assert_non_null(ea);
	assert_string_equal(json_get_str(ea, "fieldsType"), "FieldsV1");
	assert_string_equal(json_get_str(ea, "apiVersion"), "apps/v1");
	assert_non_null(json_get(ea, "fieldsV1.f:spec.f:replicas"));
	/* The same configuration again, later: nothing changes, not even the
	 * entry's time, so the store sees a no-op. */
	cJSON *c1 = parse(ALICE);
	struct ssa_writer wa = {.manager = "alice", .apply = true};
	cJSON *same = ssa_apply(k, o1, c1, &wa, "apps/v1", "2027-01-01T00:00:00Z", true, &code, err, sizeof err, &causes);
	assert_non_null(same);
	assert_true(json_equal(same, o1));
	cJSON_Delete(same);
	/* A changed value is stamped with the new time. */
	json_set_num(json_ensure_obj(c1, "spec"), "replicas", 4);
	same = ssa_apply(k, o1, c1, &wa, "apps/v1", "2027-01-01T00:00:00Z", true, &code, err, sizeof err, &causes);
	assert_string_equal(json_get_str(entry(same, "alice", "Apply"), "time"), "2027-01-01T00:00:00Z");
	cJSON_Delete(same);
	cJSON_Delete(c1);

	/* bob: another replicas value is a conflict naming alice and the field. */
	const char *bob = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
			  "\"spec\":{\"replicas\":3}}";
	assert_null(apply(k, o1, bob, "bob", false, &code, err, sizeof err, &causes));
	assert_int_equal(code, 409);
	assert_string_equal(err, "Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas");
	assert_json(causes, "[{\"type\":\"FieldManagerConflict\",\"message\":\"conflict with \\\"alice\\\"\","
			    "\"field\":\".spec.replicas\"}]");
	cJSON_Delete(causes);
	causes = NULL;

	/* The same value is shared, not a conflict. */
	const char *bob_same = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
			       "\"labels\":{\"tier\":\"x\"}},\"spec\":{\"replicas\":2}}";
	cJSON *o2 = apply(k, o1, bob_same, "bob", false, &code, err, sizeof err, &causes);
	assert_non_null(o2);

	/* force takes the field: alice loses it. */
	cJSON *o3 = apply(k, o2, bob, "bob", true, &code, err, sizeof err, &causes);
	assert_non_null(o3);
	assert_int_equal(json_get(o3, "spec.replicas")->valueint, 3);
	assert_null(json_get(entry(o3, "alice", "Apply"), "fieldsV1.f:spec.f:replicas"));
	assert_non_null(json_get(entry(o3, "bob", "Apply"), "fieldsV1.f:spec.f:replicas"));
	/* bob's new configuration dropped the tier label, but alice still owns it. */
	assert_string_equal(json_get_str(o3, "metadata.labels.tier"), "x");

	/* alice drops tier and env B: tier is nobody's now and goes, B too,
	 * A and the rest stay. */
	const char *alice2 = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
			     "\"labels\":{\"app\":\"web\"}},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
			     "\"c\",\"image\":\"nginx\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]}}}}";
	cJSON *o4 = apply(k, o3, alice2, "alice", false, &code, err, sizeof err, &causes);
	assert_non_null(o4);
	assert_json(json_get(o4, "metadata.labels"), "{\"app\":\"web\"}");
	assert_json(json_get(o4, "spec.template.spec.containers"),
		    "[{\"name\":\"c\",\"image\":\"nginx\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]");
	assert_int_equal(json_get(o4, "spec.replicas")->valueint, 3);

	cJSON_Delete(o1);
	cJSON_Delete(o2);
	cJSON_Delete(o3);
	cJSON_Delete(o4);
}

static const cJSON *container0(const cJSON *o)
{
	return cJSON_GetArrayItem(json_get(o, "spec.template.spec.containers"), 0);
}

static void test_apply_merges_keyed_lists(void **state)
{
	const struct kind_info *k = deployment();
	int code;
	char err[512];
	cJSON *causes = NULL;
	cJSON *live = parse(DEPLOY);
	/* Another manager adds env B and port 443 to the same container:
	 * items merge by key, nothing of the live lists is lost. */
	cJSON *o = apply(k, live,
			 "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"B\","
			 "\"value\":\"2\"}],\"ports\":[{\"containerPort\":443}]}]}}}}",
			 "m", false, &code, err, sizeof err, &causes);
	assert_non_null(o);
	assert_json(json_get(o, "spec.template.spec.containers"),
		    "[{\"name\":\"c\",\"image\":\"nginx\",\"args\":[\"-x\"],\"ports\":[{\"containerPort\":80},"
		    "{\"containerPort\":443}],\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}]");
	/* Atomic lists are replaced whole; sets are unions. */
	cJSON *o2 = apply(k, o,
			  "{\"metadata\":{\"finalizers\":[\"c\"]},\"spec\":{\"template\":{\"spec\":{\"tolerations\":"
			  "[{\"key\":\"z\"}],\"containers\":[{\"name\":\"c\",\"args\":[\"-y\"]}]}}}}",
			  "m", true, &code, err, sizeof err, &causes);
	assert_non_null(o2);
	assert_json(json_get(o2, "metadata.finalizers"), "[\"a\",\"b\",\"c\"]");
	assert_json(json_get(o2, "spec.template.spec.tolerations"), "[{\"key\":\"z\"}]");
	assert_json(json_get(container0(o2), "args"), "[\"-y\"]");
	/* m dropped env B and port 443 from its configuration: they go. */
	assert_json(json_get(container0(o2), "env"), "[{\"name\":\"A\",\"value\":\"1\"}]");
	assert_json(json_get(container0(o2), "ports"), "[{\"containerPort\":80}]");
	/* A bad configuration is refused: not an object; two items with the
	 * same keys. */
	assert_null(apply(k, live, "[1]", "m", false, &code, err, sizeof err, &causes));
	assert_int_equal(code, 400);
	code = 0;
	assert_null(apply(k, live,
			  "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"D\"},"
			  "{\"name\":\"D\",\"value\":\"x\"}]}]}}}}",
			  "m", false, &code, err, sizeof err, &causes));
	assert_int_equal(code, 400);
	assert_non_null(strstr(err, "duplicate"));
	cJSON_Delete(o);
	cJSON_Delete(o2);
	cJSON_Delete(live);
}

/* A custom kind: list semantics from its CRD's openAPIV3Schema. */
static const char CRD_SSA[] =
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
	"\"metadata\":{\"name\":\"routes.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
	"\"names\":{\"plural\":\"routes\",\"singular\":\"route\",\"kind\":\"Route\"},"
	"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":"
	"{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
	"\"backends\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\",\"x-kubernetes-list-map-keys\":[\"host\",\"port\"],"
	"\"items\":{\"type\":\"object\",\"properties\":{\"host\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\"},"
	"\"weight\":{\"type\":\"integer\"}}}},"
	"\"hosts\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"set\",\"items\":{\"type\":\"string\"}},"
	"\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"selector\":{\"type\":\"object\",\"x-kubernetes-map-type\":\"atomic\",\"properties\":{"
	"\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"string\"}}}}}}}}}]}}";

static void test_custom_kind_list_types(void **state)
{
	(void)state;
	kinds_init();
	char err[512];
	cJSON *crd = parse(CRD_SSA);
	assert_int_equal(kinds_register_crd(crd, err, sizeof err), 0);
	cJSON_Delete(crd);
	const struct kind_info *k = kinds_find_kind("example.com", "v1", "Route");
	assert_non_null(k);
	cJSON *live = parse("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Route\",\"metadata\":{\"name\":\"r\","
			    "\"finalizers\":[\"f\"]},"
			    "\"spec\":{\"backends\":[{\"host\":\"a\",\"port\":80,\"weight\":1}],\"hosts\":[\"x\"],"
			    "\"rules\":[\"r1\"],\"selector\":{\"a\":\"1\"}}}");
	cJSON *set = ssa_fieldset(k, live, false);
	cJSON *v1 = ssa_fieldset_to_v1(set);
	assert_json(v1, "{\"f:metadata\":{\"f:finalizers\":{\"v:\\\"f\\\"\":{}}},\"f:spec\":{"
			"\"f:backends\":{\"k:{\\\"host\\\":\\\"a\\\",\\\"port\\\":80}\":{\".\":{},\"f:host\":{},"
			"\"f:port\":{},\"f:weight\":{}}},"
			"\"f:hosts\":{\"v:\\\"x\\\"\":{}},\"f:rules\":{},\"f:selector\":{}}}");
	cJSON_Delete(v1);
	cJSON_Delete(set);
	/* a second manager's backend and host merge in; rules (atomic) and
	 * the atomic selector are replaced whole (force: they are taken). */
	int code;
	cJSON *causes = NULL;
	cJSON *o = apply(k, live,
			 "{\"spec\":{\"backends\":[{\"host\":\"b\",\"port\":80}],\"hosts\":[\"y\"],\"rules\":[\"r2\"],"
			 "\"selector\":{\"b\":\"2\"}}}",
			 "m", true, &code, err, sizeof err, &causes);
	assert_non_null(o);
	assert_json(json_get(o, "spec.backends"), "[{\"host\":\"a\",\"port\":80,\"weight\":1},{\"host\":\"b\",\"port\":80}]");
	assert_json(json_get(o, "spec.hosts"), "[\"x\",\"y\"]");
	assert_json(json_get(o, "spec.rules"), "[\"r2\"]");
	assert_json(json_get(o, "spec.selector"), "{\"b\":\"2\"}");
	cJSON_Delete(o);
	cJSON_Delete(live);
	kinds_unregister_crd("routes.example.com");
}

/* A Karmada kind: the table's JSON-only messages (karmada.schema). Its
 * metadata has Kubernetes' semantics, so two managers own different
 * finalizers (a set) and owner references (keyed by uid) of one policy;
 * Karmada's own lists are atomic (its CRDs declare no list-type on them)
 * and labelSelector is an atomic map (x-kubernetes-map-type: atomic). */
static void test_karmada_kind_list_types(void **state)
{
	(void)state;
	kinds_init();
	const struct kind_info *k = kinds_find_kind("policy.karmada.io", "v1alpha1", "PropagationPolicy");
	assert_non_null(k);
	int code;
	char err[512];
	cJSON *causes = NULL;
	cJSON *o1 = apply(k, NULL,
			  "{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":\"PropagationPolicy\","
			  "\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"finalizers\":[\"alice.io/f\"],"
			  "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"a\",\"uid\":\"ua\"}]},"
			  "\"spec\":{\"resourceSelectors\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}],"
			  "\"placement\":{\"clusterAffinity\":{\"clusterNames\":[\"m1\"],"
			  "\"labelSelector\":{\"matchLabels\":{\"env\":\"prod\"}}}}}}",
			  "alice", false, &code, err, sizeof err, &causes);
	assert_non_null(o1);
	const cJSON *fa = json_get(entry(o1, "alice", "Apply"), "fieldsV1");
	assert_non_null(fa);
	assert_json(fa, "{\"f:metadata\":{\"f:finalizers\":{\"v:\\\"alice.io/f\\\"\":{}},"
			"\"f:ownerReferences\":{\"k:{\\\"uid\\\":\\\"ua\\\"}\":{\".\":{},\"f:apiVersion\":{},"
			"\"f:kind\":{},\"f:name\":{},\"f:uid\":{}}}},"
			"\"f:spec\":{\"f:resourceSelectors\":{},\"f:placement\":{\"f:clusterAffinity\":{"
			"\"f:clusterNames\":{},\"f:labelSelector\":{}}}}}");
	/* bob adds his own finalizer and owner: no conflict, both kept, each
	 * owned by its manager. */
	cJSON *o2 = apply(k, o1,
			  "{\"metadata\":{\"name\":\"p\",\"finalizers\":[\"bob.io/f\"],"
			  "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"b\",\"uid\":\"ub\"}]}}",
			  "bob", false, &code, err, sizeof err, &causes);
	assert_non_null(o2);
	assert_json(json_get(o2, "metadata.finalizers"), "[\"alice.io/f\",\"bob.io/f\"]");
	assert_int_equal(cJSON_GetArraySize(json_get(o2, "metadata.ownerReferences")), 2);
	const cJSON *fb = json_get(entry(o2, "bob", "Apply"), "fieldsV1");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(json_get(fb, "f:metadata.f:finalizers"), "v:\"bob.io/f\""));
	assert_null(cJSON_GetObjectItemCaseSensitive(json_get(fb, "f:metadata.f:finalizers"), "v:\"alice.io/f\""));
	assert_non_null(json_get(entry(o2, "alice", "Apply"), "fieldsV1.f:metadata.f:finalizers"));
	/* alice drops her finalizer: hers goes, bob's stays. */
	cJSON *o3 = apply(k, o2,
			  "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"resourceSelectors\":[{\"apiVersion\":\"apps/v1\","
			  "\"kind\":\"Deployment\"}],\"placement\":{\"clusterAffinity\":{\"clusterNames\":[\"m1\"],"
			  "\"labelSelector\":{\"matchLabels\":{\"env\":\"prod\"}}}}}}",
			  "alice", false, &code, err, sizeof err, &causes);
	assert_non_null(o3);
	assert_json(json_get(o3, "metadata.finalizers"), "[\"bob.io/f\"]");
	assert_json(json_get(o3, "metadata.ownerReferences"),
		    "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"b\",\"uid\":\"ub\"}]");
	/* clusterNames is atomic: another list is a conflict on the whole list. */
	assert_null(apply(k, o3, "{\"spec\":{\"placement\":{\"clusterAffinity\":{\"clusterNames\":[\"m2\"]}}}}",
			  "bob", false, &code, err, sizeof err, &causes));
	assert_int_equal(code, 409);
	assert_string_equal(err, "Apply failed with 1 conflict: conflict with \"alice\": .spec.placement.clusterAffinity.clusterNames");
	cJSON_Delete(causes);
	causes = NULL;
	/* labelSelector is an atomic map: another key conflicts on the selector. */
	assert_null(apply(k, o3,
			  "{\"spec\":{\"placement\":{\"clusterAffinity\":{\"labelSelector\":{\"matchLabels\":{\"x\":\"y\"}}}}}}",
			  "bob", false, &code, err, sizeof err, &causes));
	assert_int_equal(code, 409);
	assert_string_equal(err, "Apply failed with 1 conflict: conflict with \"alice\": .spec.placement.clusterAffinity.labelSelector");
	cJSON_Delete(causes);
	cJSON_Delete(o1);
	cJSON_Delete(o2);
	cJSON_Delete(o3);
}

static void test_update_ownership(void **state)
{
	const struct kind_info *k = deployment();
	cJSON *old = parse(DEPLOY);
	cJSON *obj = parse(DEPLOY);
	ssa_record_update(k, NULL, obj, "creator", "", "apps/v1", "t0", true);
	const cJSON *c = entry(obj, "creator", "Update");
	assert_non_null(c);
	assert_non_null(json_get(c, "fieldsV1.f:spec.f:replicas"));
	assert_string_equal(json_get_str(c, "time"), "t0");
	json_set(old, "metadata", json_dup(json_get(obj, "metadata")));

	/* kubectl-edit changes replicas and adds a label: it owns those, the
	 * creator keeps the rest. */
	cJSON *next = json_dup(old);
	json_set_num(json_ensure_obj(next, "spec"), "replicas", 5);
	json_set_str(json_ensure_obj(json_ensure_obj(next, "metadata"), "labels"), "team", "blue");
	ssa_record_update(k, old, next, "kubectl-edit", "", "apps/v1", "t1", true);
	assert_json(json_get(entry(next, "kubectl-edit", "Update"), "fieldsV1"),
		    "{\"f:metadata\":{\"f:labels\":{\"f:team\":{}}},\"f:spec\":{\"f:replicas\":{}}}");
	assert_null(json_get(entry(next, "creator", "Update"), "fieldsV1.f:spec.f:replicas"));
	assert_non_null(json_get(entry(next, "creator", "Update"), "fieldsV1.f:spec.f:selector"));
	/* A conflict message names an Update manager with its version and time. */
	int code;
	char err[1024];
	cJSON *causes = NULL;
	cJSON *r = apply(k, next, "{\"spec\":{\"replicas\":1}}", "alice", false, &code, err, sizeof err, &causes);
	assert_null(r);
	assert_string_equal(err, "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1 at t1: .spec.replicas");
	cJSON_Delete(causes);
	/* No change, no new entry. */
	cJSON *same = json_dup(next);
	ssa_record_update(k, next, same, "noop", "", "apps/v1", "t2", true);
	assert_null(entry(same, "noop", "Update"));
	cJSON_Delete(same);
	cJSON_Delete(next);
	cJSON_Delete(old);
	cJSON_Delete(obj);
}

static void test_manager_from_user_agent(void **state)
{
	char buf[SSA_MAX_MANAGER_LEN + 1];
	ssa_manager_from_user_agent("kubectl/v1.33.0 (linux/amd64) kubernetes/abc", buf, sizeof buf);
	assert_string_equal(buf, "kubectl");
	ssa_manager_from_user_agent(NULL, buf, sizeof buf);
	assert_string_equal(buf, "");
	char long_ua[300];
	memset(long_ua, 'u', sizeof long_ua - 1);
	long_ua[sizeof long_ua - 1] = '\0';
	ssa_manager_from_user_agent(long_ua, buf, sizeof buf);
	assert_int_equal(strlen(buf), SSA_MAX_MANAGER_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fieldset_kubernetes_form),
		cmocka_unit_test(test_fieldset_without_schema_is_atomic),
		cmocka_unit_test(test_set_algebra),
		cmocka_unit_test(test_apply_conflict_force_and_removal),
		cmocka_unit_test(test_apply_merges_keyed_lists),
		cmocka_unit_test(test_update_ownership),
		cmocka_unit_test(test_manager_from_user_agent),
		cmocka_unit_test(test_custom_kind_list_types),
		cmocka_unit_test(test_karmada_kind_list_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
