/* Schema filtering: OpenAPI schemas made from the schema table
 * (openschema.h), per Kubernetes version, and pruning objects against a
 * published document (schemafilter.h), as the agent does for a member on
 * an older Kubernetes version and atoll-sim does to refuse unknown fields. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "openapi.h"
#include "openschema.h"
#include "schemafilter.h"

/* A v2 ({"definitions"}) or v3 ({"components":{"schemas"}}) document with
 * one kind, its fields up to 1.<minor>. */
static cJSON *doc_for(const char *group, const char *version, const char *kind, int minor, bool v3)
{
	cJSON *doc = cJSON_CreateObject(), *defs;
	if (v3)
		defs = cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "components"), "schemas");
	else
		defs = cJSON_AddObjectToObject(doc, "definitions");
	assert_true(openschema_add_kind(defs, group, version, kind, minor, v3));
	return doc;
}

static cJSON *defs(cJSON *doc)
{
	cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "definitions");
	return d ? d : cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "components"), "schemas");
}

static bool has_prop(cJSON *doc, const char *def, const char *prop)
{
	cJSON *d = cJSON_GetObjectItemCaseSensitive(defs(doc), def);
	assert_non_null(d);
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "properties"), prop) != NULL;
}

static void test_fields_by_version(void **state)
{
	(void)state;
	cJSON *d20 = doc_for("", "v1", "Service", 20, false), *all = doc_for("", "v1", "Service", 0, false);
	assert_true(has_prop(d20, "io.k8s.api.core.v1.ServiceSpec", "ipFamilies"));
	assert_true(has_prop(d20, "io.k8s.api.core.v1.ServiceSpec", "ports"));
	assert_false(has_prop(d20, "io.k8s.api.core.v1.ServiceSpec", "internalTrafficPolicy"));
	assert_false(has_prop(d20, "io.k8s.api.core.v1.ServiceSpec", "trafficDistribution"));
	assert_true(has_prop(all, "io.k8s.api.core.v1.ServiceSpec", "internalTrafficPolicy"));
	assert_true(has_prop(all, "io.k8s.api.core.v1.ServiceSpec", "trafficDistribution"));
	cJSON *d29 = doc_for("", "v1", "Service", 29, false);
	assert_true(has_prop(d29, "io.k8s.api.core.v1.ServiceSpec", "internalTrafficPolicy"));
	assert_false(has_prop(d29, "io.k8s.api.core.v1.ServiceSpec", "trafficDistribution"));
	/* The kind's root carries its group-version-kind; types are right. */
	const cJSON *svc = schemafilter_find_kind(d20, "", "v1", "Service");
	assert_non_null(svc);
	assert_null(schemafilter_find_kind(d20, "apps", "v1", "Service"));
	cJSON *ports = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(defs(d20), "io.k8s.api.core.v1.ServiceSpec"),
						 "properties"),
		"ports");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ports, "type")), "array");
	cJSON *is = cJSON_GetObjectItemCaseSensitive(defs(d20), "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(is, "format")), "int-or-string");
	cJSON_Delete(d20);
	cJSON_Delete(d29);
	cJSON_Delete(all);
}

static void test_prune_service_for_1_20(void **state)
{
	(void)state;
	cJSON *doc = doc_for("", "v1", "Service", 20, false);
	cJSON *obj = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"hello\","
				 "\"labels\":{\"a\":\"b\"},\"annotations\":{\"x\":\"y\"}},\"spec\":{\"ports\":[{\"port\":5000,"
				 "\"targetPort\":9898,\"protocol\":\"TCP\"}],\"selector\":{\"app\":\"hello\"},\"type\":\"ClusterIP\","
				 "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\"}}");
	cJSON *want = cJSON_Duplicate(obj, 1);
	cJSON_DeleteItemFromObject(cJSON_GetObjectItemCaseSensitive(want, "spec"), "internalTrafficPolicy");
	cJSON *dropped = cJSON_CreateArray();
	const cJSON *s = schemafilter_find_kind(doc, "", "v1", "Service");
	/* Without remove: found, object untouched. */
	cJSON *copy = cJSON_Duplicate(obj, 1);
	assert_int_equal(schemafilter_prune(doc, s, copy, NULL, false), 1);
	assert_true(cJSON_Compare(copy, obj, 1));
	assert_int_equal(schemafilter_prune(doc, s, obj, dropped, true), 1);
	assert_int_equal(cJSON_GetArraySize(dropped), 1);
	assert_string_equal(cJSON_GetArrayItem(dropped, 0)->valuestring, ".spec.internalTrafficPolicy");
	assert_true(cJSON_Compare(obj, want, 1));
	/* Nothing left to drop. */
	assert_int_equal(schemafilter_prune(doc, s, obj, NULL, true), 0);
	cJSON_Delete(copy);
	cJSON_Delete(want);
	cJSON_Delete(obj);
	cJSON_Delete(dropped);
	cJSON_Delete(doc);
}

static void test_prune_deployment_v3_nested(void **state)
{
	(void)state;
	/* v3 ($ref inside allOf), a list element named by its key, an
	 * inline (embedded) message's fields, maps of messages. */
	cJSON *doc = doc_for("apps", "v1", "Deployment", 20, true);
	cJSON *obj = cJSON_Parse(
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":3,"
		"\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":\"25%\"}},"
		"\"selector\":{\"matchLabels\":{\"app\":\"d\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},"
		"\"spec\":{\"os\":{\"name\":\"linux\"},\"containers\":[{\"name\":\"web\",\"image\":\"nginx\","
		"\"restartPolicy\":\"Always\",\"resources\":{\"limits\":{\"cpu\":\"1\"}},"
		"\"livenessProbe\":{\"exec\":{\"command\":[\"true\"]},\"periodSeconds\":5,\"grpc\":{\"port\":1}}}],"
		"\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}},\"bogus\":1}}");
	cJSON *dropped = cJSON_CreateArray();
	const cJSON *s = schemafilter_find_kind(doc, "apps", "v1", "Deployment");
	assert_non_null(s);
	assert_int_equal(schemafilter_prune(doc, s, obj, dropped, true), 4);
	char *got = cJSON_PrintUnformatted(dropped);
	assert_string_equal(got, "[\".spec.template.spec.os\",\".spec.template.spec.containers[name=\\\"web\\\"]."
				 "restartPolicy\",\".spec.template.spec.containers[name=\\\"web\\\"].livenessProbe.grpc\","
				 "\".spec.bogus\"]");
	free(got);
	/* What 1.20 knows stays: the probe's inline exec, limits, emptyDir. */
	cJSON *c = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"), "template"),
				"spec"),
			"containers"),
		0);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "livenessProbe"), "exec"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "resources"), "limits"));
	assert_null(cJSON_GetObjectItemCaseSensitive(c, "restartPolicy"));
	cJSON_Delete(dropped);
	cJSON_Delete(obj);
	cJSON_Delete(doc);
}

static void test_free_form_and_preserve_unknown(void **state)
{
	(void)state;
	cJSON *doc = cJSON_Parse(
		"{\"definitions\":{\"x.Thing\":{\"type\":\"object\",\"x-kubernetes-group-version-kind\":[{\"group\":\"ex.io\","
		"\"version\":\"v1\",\"kind\":\"Thing\"}],\"properties\":{\"spec\":{\"type\":\"object\",\"properties\":{"
		"\"free\":{\"type\":\"object\"},\"keep\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true,"
		"\"properties\":{\"a\":{\"type\":\"string\"}}},\"m\":{\"type\":\"object\",\"additionalProperties\":{"
		"\"$ref\":\"#/definitions/x.Item\"}}}}}},\"x.Item\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":"
		"\"integer\"}}}}}");
	cJSON *obj = cJSON_Parse("{\"spec\":{\"free\":{\"any\":{\"thing\":1}},\"keep\":{\"a\":\"1\",\"b\":2},"
				 "\"m\":{\"k1\":{\"n\":1,\"z\":2}},\"nope\":true}}");
	const cJSON *s = schemafilter_find_kind(doc, "ex.io", "v1", "Thing");
	assert_non_null(s);
	cJSON *dropped = cJSON_CreateArray();
	assert_int_equal(schemafilter_prune(doc, s, obj, dropped, true), 2);
	char *got = cJSON_PrintUnformatted(dropped);
	assert_string_equal(got, "[\".spec.m.k1.z\",\".spec.nope\"]");
	free(got);
	got = cJSON_PrintUnformatted(obj);
	assert_string_equal(got, "{\"spec\":{\"free\":{\"any\":{\"thing\":1}},\"keep\":{\"a\":\"1\",\"b\":2},\"m\":{\"k1\":{\"n\":1}}}}");
	free(got);
	/* A $ref cycle ends. */
	cJSON *loop = cJSON_Parse("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"$ref\":\"#/definitions/a\"}}}");
	cJSON *o2 = cJSON_Parse("{\"x\":1}");
	assert_int_equal(schemafilter_prune(loop, cJSON_GetObjectItemCaseSensitive(defs(loop), "a"), o2, NULL, true), 0);
	cJSON_Delete(loop);
	cJSON_Delete(o2);
	cJSON_Delete(dropped);
	cJSON_Delete(obj);
	cJSON_Delete(doc);
}

static void test_karmada_kind_inline(void **state)
{
	(void)state;
	cJSON *doc = doc_for("policy.karmada.io", "v1alpha1", "PropagationPolicy", 0, true);
	const cJSON *pp = cJSON_GetObjectItemCaseSensitive(defs(doc), "io.karmada.policy.v1alpha1.PropagationPolicy");
	assert_non_null(pp);
	assert_ptr_equal(pp, schemafilter_find_kind(doc, "policy.karmada.io", "v1alpha1", "PropagationPolicy"));
	/* Inline (as a CRD publishes): no $ref below spec; required and enums. */
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pp, "properties"), "spec");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "type")), "object");
	char *req = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(spec, "required"));
	assert_string_equal(req, "[\"resourceSelectors\"]");
	free(req);
	const cJSON *pl = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "properties"), "placement");
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pl, "properties"), "clusterAffinity");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ca, "properties"), "clusterNames"));
	/* The mis-indented policy of issue 11: clusterAffinity one level too high. */
	cJSON *obj = cJSON_Parse("{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":\"PropagationPolicy\",\"spec\":{"
				 "\"resourceSelectors\":[{\"apiVersion\":\"v1\",\"kind\":\"Service\"}],\"clusterAffinity\":{}}}");
	cJSON *dropped = cJSON_CreateArray();
	assert_int_equal(schemafilter_prune(doc, pp, obj, dropped, false), 1);
	assert_string_equal(cJSON_GetArrayItem(dropped, 0)->valuestring, ".spec.clusterAffinity");
	cJSON_Delete(dropped);
	cJSON_Delete(obj);
	cJSON_Delete(doc);
	/* OverridePolicy: a plaintext overrider's value is any JSON. */
	doc = doc_for("policy.karmada.io", "v1alpha1", "OverridePolicy", 0, true);
	const cJSON *op = schemafilter_find_kind(doc, "policy.karmada.io", "v1alpha1", "OverridePolicy");
	assert_non_null(op);
	obj = cJSON_Parse("{\"spec\":{\"overrideRules\":[{\"overriders\":{\"plaintext\":[{\"path\":\"/spec/x\","
			  "\"operator\":\"add\",\"value\":{\"any\":[1,{\"b\":2}]}}],\"labelsOverrider\":[{\"operator\":"
			  "\"add\",\"value\":{\"a\":\"b\"}}]},\"targetCluster\":{\"clusterNames\":[\"eu\"]}}],\"x\":1}}");
	dropped = cJSON_CreateArray();
	assert_int_equal(schemafilter_prune(doc, op, obj, dropped, false), 1);
	assert_string_equal(cJSON_GetArrayItem(dropped, 0)->valuestring, ".spec.x");
	cJSON_Delete(dropped);
	cJSON_Delete(obj);
	cJSON_Delete(doc);
	bool crd;
	assert_int_equal(openschema_kind_msg("v1", "NoSuchKind", &crd), -1);
	assert_true(openschema_kind_msg("policy.karmada.io/v1alpha1", "PropagationPolicy", &crd) >= 0 && crd);
}

static bool has_bytes(const unsigned char *b, size_t n, const char *s)
{
	return memmem(b, n, s, strlen(s)) != NULL;
}

static void test_v2_protobuf_definitions(void **state)
{
	(void)state;
	kinds_init();
	size_t n = 0;
	unsigned char *pb = openapi_v2_protobuf(NULL, NULL, &n);
	assert_non_null(pb);
	/* The paths as before, and definitions with $refs, types, enums
	 * (gnostic Any.yaml) and the kind's group-version-kind extension. */
	assert_true(has_bytes(pb, n, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"));
	assert_true(has_bytes(pb, n, "io.k8s.api.apps.v1.DeploymentStrategy"));
	assert_true(has_bytes(pb, n, "#/definitions/io.k8s.api.apps.v1.RollingUpdateDeployment"));
	assert_true(has_bytes(pb, n, "RollingUpdate\n"));
	assert_true(has_bytes(pb, n, "- group: apps\n  kind: Deployment\n  version: v1\n"));
	assert_true(has_bytes(pb, n, "io.karmada.policy.v1alpha1.PropagationPolicy"));
	free(pb);
	kinds_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_by_version),
		cmocka_unit_test(test_prune_service_for_1_20),
		cmocka_unit_test(test_prune_deployment_v3_nested),
		cmocka_unit_test(test_free_form_and_preserve_unknown),
		cmocka_unit_test(test_karmada_kind_inline),
		cmocka_unit_test(test_v2_protobuf_definitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
