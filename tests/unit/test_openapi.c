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
#include "openapi.h"

/* kubectl-compat.md §4a: Deployment only, with swagger and info; the PATCH
 * operation lists fieldValidation and dryRun (kubectl 1.20's dry-run verifier
 * looks for the latter). */
static const char vector_hex[] =
	"0a03322e3012150a0a4b756265726e65746573120776312e33312e3042d90112d6010a372f617069732f617070732f76312f6e616d6573"
	"70616365732f7b6e616d6573706163657d2f6465706c6f796d656e74732f7b6e616d657d129a0142970142260a2412221a201205717565"
	"7279220f6669656c6456616c69646174696f6e3206737472696e67421d0a1b12191a1712057175657279220664727952756e3206737472"
	"696e676a4e0a1f782d6b756265726e657465732d67726f75702d76657273696f6e2d6b696e64122b122967726f75703a20617070730a6b"
	"696e643a204465706c6f796d656e740a76657273696f6e3a2076310a";

static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = 0;
	for (; hex[0] && hex[1] && n < cap; hex += 2) {
		unsigned v;
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (unsigned char)v;
	}
	return n;
}

static bool contains(const unsigned char *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

static void test_v2_vector(void **state)
{
	(void)state;
	unsigned char want[256];
	size_t want_len = unhex(vector_hex, want, sizeof want);
	assert_int_equal(want_len, 248);
	const struct kind_info *k = kinds_find_kind("apps", "v1", "Deployment");
	assert_non_null(k);
	size_t len = 0;
	unsigned char *got = openapi_v2_protobuf_for(&k, 1, true, &len);
	assert_non_null(got);
	assert_int_equal(len, 248);
	assert_memory_equal(got, want, 248);
	free(got);

	/* without info: only the paths field (tag 0x42) */
	got = openapi_v2_protobuf_for(&k, 1, false, &len);
	assert_non_null(got);
	assert_int_equal(len, 248 - 28);
	assert_memory_equal(got, want + 28, len);
	free(got);

	/* no kinds at all: an empty paths message */
	got = openapi_v2_protobuf_for(NULL, 0, false, &len);
	assert_int_equal(len, 2);
	assert_int_equal(got[0], 0x42);
	assert_int_equal(got[1], 0x00);
	free(got);
}

static void test_v2_all_kinds(void **state)
{
	(void)state;
	size_t len = 0;
	unsigned char *blob = openapi_v2_protobuf(NULL, NULL, &len);
	assert_non_null(blob);
	assert_true(len > 150u * (size_t)builtin_kinds_count);
	for (int i = 0; i < builtin_kinds_count; i++) {
		const struct kind_info *k = &builtin_kinds[i];
		char yaml[256], path[256];
		snprintf(yaml, sizeof yaml, "group: %s\nkind: %s\nversion: %s\n",
			 k->group[0] ? k->group : "\"\"", k->kind, k->version);
		assert_true(contains(blob, len, yaml));
		if (k->group[0])
			snprintf(path, sizeof path, "/apis/%s/%s/%s%s/{name}", k->group, k->version,
				 k->namespaced ? "namespaces/{namespace}/" : "", k->plural);
		else
			snprintf(path, sizeof path, "/api/v1/%s%s/{name}",
				 k->namespaced ? "namespaces/{namespace}/" : "", k->plural);
		assert_true(contains(blob, len, path));
	}
	assert_true(contains(blob, len, "group: \"\"\nkind: Service\nversion: v1\n"));
	assert_true(contains(blob, len, "/api/v1/namespaces/{name}"));
	assert_true(contains(blob, len, "/apis/cluster.karmada.io/v1alpha1/clusters/{name}"));
	assert_true(contains(blob, len, "group: cluster.karmada.io\nkind: Cluster\nversion: v1alpha1\n"));
	assert_false(contains(blob, len, "kind: Foo\n"));
	free(blob);
}

static const char crd_json[] =
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
	"\"metadata\":{\"name\":\"foos.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
	"\"names\":{\"plural\":\"foos\",\"singular\":\"foo\",\"kind\":\"Foo\"},"
	"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":"
	"{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\",\"description\":\"FooSpec says what a foo is.\","
	"\"properties\":{\"size\":{\"type\":\"integer\",\"description\":\"How big the foo is.\"}}}}}}}]}}";

static void test_crd_kinds(void **state)
{
	(void)state;
	char err[256];
	cJSON *crd = cJSON_Parse(crd_json);
	assert_int_equal(kinds_register_crd(crd, err, sizeof err), 0);
	cJSON_Delete(crd);

	size_t len = 0, len2 = 0;
	unsigned char *blob = openapi_v2_protobuf(NULL, NULL, &len), *blob2 = NULL;
	blob2 = openapi_v2_protobuf(NULL, NULL, &len2);
	assert_true(contains(blob, len, "group: example.com\nkind: Foo\nversion: v1\n"));
	assert_true(contains(blob, len, "/apis/example.com/v1/namespaces/{namespace}/foos/{name}"));
	free(blob);

	cJSON *idx = openapi_v3_index(NULL, NULL);
	const char *url = json_get_str(cJSON_GetObjectItemCaseSensitive(json_get(idx, "paths"), "apis/example.com/v1"),
				       "serverRelativeURL");
	assert_non_null(url);
	assert_true(strncmp(url, "/openapi/v3/apis/example.com/v1?hash=", 37) == 0);
	cJSON_Delete(idx);

	/* its openAPIV3Schema is published, with ObjectMeta and the GVK */
	assert_true(contains(blob2, len2, "How big the foo is."));
	free(blob2);
	cJSON *doc = openapi_v3_group_version("apis/example.com/v1", NULL, NULL);
	assert_non_null(doc);
	const cJSON *foo = cJSON_GetObjectItemCaseSensitive(json_get(doc, "components.schemas"), "com.example.v1.Foo");
	assert_non_null(foo);
	assert_string_equal(json_get_str(foo, "properties.spec.properties.size.description"), "How big the foo is.");
	assert_string_equal(json_get_str(foo, "properties.spec.description"), "FooSpec says what a foo is.");
	assert_non_null(json_get(foo, "properties.metadata.allOf"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(json_get(doc, "components.schemas"),
							 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(foo, "x-kubernetes-group-version-kind"), 0), "kind"),
			    "Foo");
	cJSON_Delete(doc);
	cJSON *v2 = openapi_v2_json(NULL, NULL, 0);
	foo = cJSON_GetObjectItemCaseSensitive(json_get(v2, "definitions"), "com.example.v1.Foo");
	assert_non_null(foo);
	assert_string_equal(json_get_str(foo, "properties.metadata.$ref"),
			    "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
	cJSON_Delete(v2);

	kinds_unregister_crd("foos.example.com");
	blob = openapi_v2_protobuf(NULL, NULL, &len);
	assert_false(contains(blob, len, "kind: Foo\n"));
	free(blob);
	assert_null(openapi_v3_group_version("apis/example.com/v1", NULL, NULL));
}

static const char *index_url(const cJSON *idx, const char *key)
{
	return json_get_str(cJSON_GetObjectItemCaseSensitive(json_get(idx, "paths"), key), "serverRelativeURL");
}

static void test_v3_index(void **state)
{
	(void)state;
	cJSON *idx = openapi_v3_index(NULL, NULL);
	const char *keys[] = {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/cluster.karmada.io/v1alpha1",
			      "apis/policy.karmada.io/v1alpha1", "apis/work.karmada.io/v1alpha1",
			      "apis/work.karmada.io/v1alpha2", "apis/apiextensions.k8s.io/v1",
			      "apis/rbac.authorization.k8s.io/v1", "apis/mesh.atoll.io/v1alpha1"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *url = index_url(idx, keys[i]);
		char prefix[128];
		assert_non_null(url);
		snprintf(prefix, sizeof prefix, "/openapi/v3/%s?hash=", keys[i]);
		assert_true(strncmp(url, prefix, strlen(prefix)) == 0);
		assert_int_equal(strlen(url), strlen(prefix) + 16);
	}
	/* one entry per group-version */
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, json_get(idx, "paths")) n++;
	assert_int_equal(n, 17); /* + scheduling.k8s.io/v1, apps.karmada.io/v1alpha1, mesh.atoll.io/v1alpha1, discovery.k8s.io/v1, multicluster.x-k8s.io/v1alpha1, policy/v1 */
	/* the hash follows content: different group-versions differ */
	assert_string_not_equal(strchr(index_url(idx, "api/v1"), '='), strchr(index_url(idx, "apis/apps/v1"), '='));
	cJSON_Delete(idx);
}

static void test_v3_group_version(void **state)
{
	(void)state;
	cJSON *doc = openapi_v3_group_version("apis/apps/v1", NULL, NULL);
	assert_non_null(doc);
	assert_string_equal(json_get_str(doc, "openapi"), "3.0.0");
	assert_string_equal(json_get_str(doc, "info.title"), "Kubernetes");
	const cJSON *paths = json_get(doc, "paths");
	const cJSON *op = json_get(cJSON_GetObjectItemCaseSensitive(paths, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
				   "patch");
	assert_non_null(op);
	char *text = json_print(op);
	assert_string_equal(text,
			    "{\"x-kubernetes-group-version-kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
			    "\"parameters\":[{\"name\":\"fieldValidation\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
			    "{\"name\":\"dryRun\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}}],"
			    "\"responses\":{\"200\":{\"description\":\"OK\"}}}");
	free(text);
	assert_int_equal(cJSON_GetArraySize(paths), 4); /* Deployment, StatefulSet, DaemonSet, ReplicaSet */
	cJSON_Delete(doc);

	doc = openapi_v3_group_version("/api/v1?hash=ABC", NULL, NULL);
	assert_non_null(doc);
	paths = json_get(doc, "paths");
	assert_non_null(json_get(cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/namespaces/{name}"), "patch"));
	assert_non_null(json_get(cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/namespaces/{namespace}/services/{name}"), "patch"));
	assert_string_equal(json_get_str(json_get(cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/nodes/{name}"), "patch"),
					 "x-kubernetes-group-version-kind.group"), "");
	cJSON_Delete(doc);

	doc = openapi_v3_group_version("apis/cluster.karmada.io/v1alpha1", NULL, NULL);
	assert_non_null(json_get(cJSON_GetObjectItemCaseSensitive(json_get(doc, "paths"),
								  "/apis/cluster.karmada.io/v1alpha1/clusters/{name}"), "patch"));
	cJSON_Delete(doc);

	assert_null(openapi_v3_group_version("apis/apps", NULL, NULL));
	assert_null(openapi_v3_group_version("apis/apps/v2", NULL, NULL));
	assert_null(openapi_v3_group_version("api/v1/extra", NULL, NULL));
	assert_null(openapi_v3_group_version("", NULL, NULL));
	assert_null(openapi_v3_group_version(NULL, NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_vector),
		cmocka_unit_test(test_v2_all_kinds),
		cmocka_unit_test(test_crd_kinds),
		cmocka_unit_test(test_v3_index),
		cmocka_unit_test(test_v3_group_version),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	kinds_shutdown();
	return rc;
}
