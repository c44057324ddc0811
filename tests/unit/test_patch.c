/* test_patch — merge patch (RFC 7386), JSON patch (RFC 6902), strategic
 * merge patch, server-side apply and the Content-Type mapping. */
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
#include "patch.h"

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	if (!j)
		fail_msg("test JSON does not parse: %s", text);
	return j;
}

/* Exact comparison, member order included: compact prints must match. */
static void assert_json_exact(const cJSON *got, const char *want_text)
{
	assert_non_null(got);
	cJSON *want = parse(want_text);
	char *g = json_print(got), *w = json_print(want);
	assert_string_equal(g, w);
	free(g);
	free(w);
	cJSON_Delete(want);
}

/* Tree comparison where RFC examples leave member order open. */
static void assert_json_same(const cJSON *got, const char *want_text)
{
	assert_non_null(got);
	cJSON *want = parse(want_text);
	if (!cJSON_Compare(got, want, 1)) {
		char *g = json_print(got);
		fprintf(stderr, "got  %s\nwant %s\n", g, want_text);
		free(g);
		fail();
	}
	cJSON_Delete(want);
}

static const struct kind_info *kind_named(const char *name)
{
	for (int i = 0; i < builtin_kinds_count; i++)
		if (strcmp(builtin_kinds[i].kind, name) == 0)
			return &builtin_kinds[i];
	fail_msg("no built-in kind %s", name);
	return NULL;
}

/* ---- Content-Type ------------------------------------------------------ */

static void test_content_types(void **state)
{
	(void)state;
	static const struct {
		const char *ct;
		int want;
	} cases[] = {
		{"application/merge-patch+json", PATCH_MERGE},
		{"application/json-patch+json", PATCH_JSON},
		{"application/strategic-merge-patch+json", PATCH_STRATEGIC},
		{"application/apply-patch+yaml", PATCH_APPLY},
		{"application/merge-patch+json; charset=utf-8", PATCH_MERGE},
		{"application/json-patch+json;charset=utf-8", PATCH_JSON},
		{"application/strategic-merge-patch+json; charset=UTF-8", PATCH_STRATEGIC},
		{"application/apply-patch+yaml; charset=utf-8", PATCH_APPLY},
		{"Application/Merge-Patch+JSON", PATCH_MERGE},
		{"application/json", -1},
		{"application/yaml", -1},
		{"application/merge-patch+jsonx", -1},
		{"application/merge-patch", -1},
		{"text/plain; charset=utf-8", -1},
		{"", -1},
		{NULL, -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (patch_type_from_content_type(cases[i].ct) != cases[i].want)
			fail_msg("content type \"%s\"", cases[i].ct ? cases[i].ct : "(null)");
	}
}

/* ---- RFC 7386 ---------------------------------------------------------- */

static void test_merge_rfc7386_appendix_a(void **state)
{
	(void)state;
	static const struct {
		const char *target, *patch, *want;
	} cases[] = {
		{"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
		{"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
		{"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
		{"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
		{"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
		{"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
		{"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
		{"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
		{"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
		{"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
		{"{\"a\":\"foo\"}", "null", "null"},
		{"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
		{"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
		{"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
		{"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *target = parse(cases[i].target), *patch = parse(cases[i].patch);
		cJSON *got = patch_merge(target, patch);
		assert_json_exact(got, cases[i].want);
		/* inputs are never modified */
		assert_json_exact(target, cases[i].target);
		cJSON_Delete(got);
		cJSON_Delete(target);
		cJSON_Delete(patch);
	}
	cJSON *patch = parse("{\"a\":1,\"b\":null}");
	cJSON *got = patch_merge(NULL, patch);
	assert_json_exact(got, "{\"a\":1}");
	cJSON_Delete(got);
	cJSON_Delete(patch);
}

static void test_merge_via_patch_apply(void **state)
{
	(void)state;
	cJSON *target = parse("{\"metadata\":{\"name\":\"pp\",\"labels\":{\"a\":\"1\",\"b\":\"2\"}},"
			      "\"spec\":{\"clusters\":[\"m1\",\"m2\"]}}");
	cJSON *patch = parse("{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"}},\"spec\":{\"clusters\":[\"m3\"]}}");
	char err[256];
	cJSON *got = patch_apply(PATCH_MERGE, target, patch, NULL, err, sizeof err);
	assert_json_exact(got, "{\"metadata\":{\"name\":\"pp\",\"labels\":{\"b\":\"2\",\"c\":\"3\"}},"
			       "\"spec\":{\"clusters\":[\"m3\"]}}");
	cJSON_Delete(got);
	cJSON_Delete(patch);

	/* a resource must stay an object */
	patch = parse("[1]");
	assert_null(patch_apply(PATCH_MERGE, target, patch, NULL, err, sizeof err));
	assert_non_null(strstr(err, "the server rejected our request due to an error in our request"));
	cJSON_Delete(patch);

	/* no target: only apply may create */
	patch = parse("{\"a\":1}");
	assert_null(patch_apply(PATCH_MERGE, NULL, patch, NULL, err, sizeof err));
	assert_null(patch_apply(PATCH_APPLY, target, NULL, NULL, err, sizeof err));
	cJSON_Delete(patch);
	cJSON_Delete(target);
}

/* ---- RFC 6902 ---------------------------------------------------------- */

static void test_json_patch_rfc6902_appendix_a(void **state)
{
	(void)state;
	static const struct {
		const char *name, *doc, *ops, *want;
	} cases[] = {
		{"A.1", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
		 "{\"baz\":\"qux\",\"foo\":\"bar\"}"},
		{"A.2", "{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
		 "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"},
		{"A.3", "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
		 "{\"foo\":\"bar\"}"},
		{"A.4", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
		 "{\"foo\":[\"bar\",\"baz\"]}"},
		{"A.5", "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
		 "{\"baz\":\"boo\",\"foo\":\"bar\"}"},
		{"A.6", "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
		 "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
		 "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"},
		{"A.7", "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
		 "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
		 "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"},
		{"A.8", "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
		 "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
		 "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"},
		{"A.10", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
		 "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"},
		{"A.11", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
		 "{\"foo\":\"bar\",\"baz\":\"qux\"}"},
		{"A.14", "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
		 "{\"/\":9,\"~1\":10}"},
		{"A.16", "{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
		 "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"},
		/* beyond the appendix */
		{"copy", "{\"a\":{\"b\":[1,2]}}", "[{\"op\":\"copy\",\"from\":\"/a/b\",\"path\":\"/c\"}]",
		 "{\"a\":{\"b\":[1,2]},\"c\":[1,2]}"},
		{"escape ~1", "{\"metadata\":{\"annotations\":{}}}",
		 "[{\"op\":\"add\",\"path\":\"/metadata/annotations/example.com~1owner\",\"value\":\"me\"}]",
		 "{\"metadata\":{\"annotations\":{\"example.com/owner\":\"me\"}}}"},
		{"add replaces member", "{\"a\":1,\"b\":2}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":3}]",
		 "{\"a\":3,\"b\":2}"},
		{"add at end index", "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2}]", "{\"a\":[1,2]}"},
		{"replace array item", "{\"a\":[1,2,3]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":9}]",
		 "{\"a\":[1,9,3]}"},
		{"replace root", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}"},
		{"move onto itself", "{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", "{\"a\":1}"},
		{"test object order", "{\"a\":{\"x\":1,\"y\":[true,null]}}",
		 "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"y\":[true,null],\"x\":1.0}}]",
		 "{\"a\":{\"x\":1,\"y\":[true,null]}}"},
		{"empty patch", "{\"a\":1}", "[]", "{\"a\":1}"},
		{"replace scale", "{\"spec\":{\"replicas\":1}}",
		 "[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":1},"
		 "{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":5}]",
		 "{\"spec\":{\"replicas\":5}}"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *doc = parse(cases[i].doc), *ops = parse(cases[i].ops);
		char err[256] = "";
		cJSON *got = patch_json(doc, ops, err, sizeof err);
		if (!got)
			fail_msg("%s: %s", cases[i].name, err);
		assert_json_same(got, cases[i].want);
		assert_json_exact(doc, cases[i].doc);
		cJSON_Delete(got);
		cJSON_Delete(doc);
		cJSON_Delete(ops);
	}
}

static void test_json_patch_keeps_member_order(void **state)
{
	(void)state;
	cJSON *doc = parse("{\"a\":1,\"b\":2,\"c\":3}");
	cJSON *ops = parse("[{\"op\":\"replace\",\"path\":\"/b\",\"value\":{\"x\":1}}]");
	char err[256];
	cJSON *got = patch_json(doc, ops, err, sizeof err);
	assert_json_exact(got, "{\"a\":1,\"b\":{\"x\":1},\"c\":3}");
	cJSON_Delete(got);
	cJSON_Delete(ops);
	cJSON_Delete(doc);
}

static void test_json_patch_errors(void **state)
{
	(void)state;
	static const struct {
		const char *name, *doc, *ops, *err_has;
	} cases[] = {
		{"A.9 test fails", "{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
		 "jsonpatch test operation does not apply: "},
		{"A.12 add to missing parent", "{\"foo\":\"bar\"}",
		 "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", "doc is missing path: /baz/bat"},
		{"A.15 string is not number", "{\"/\":9,\"~1\":10}",
		 "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", "jsonpatch test operation does not apply"},
		{"test missing path", "{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]",
		 "jsonpatch test operation does not apply: doc is missing path: /a"},
		{"remove missing", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]",
		 "jsonpatch remove operation does not apply: doc is missing path: /b"},
		{"replace missing", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]",
		 "jsonpatch replace operation does not apply: doc is missing path: /b"},
		{"add index past end", "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/3\",\"value\":0}]",
		 "index out of bounds"},
		{"add leading zero index", "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":0}]",
		 "index out of bounds"},
		{"add negative index", "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/-1\",\"value\":0}]",
		 "index out of bounds"},
		{"remove bad index", "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/2\"}]", "doc is missing path"},
		{"remove dash", "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", "doc is missing path"},
		{"remove root", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", "remove operation does not apply"},
		{"invalid op", "{}", "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", "unexpected jsonpatch operation"},
		{"op not a string", "{}", "[{\"op\":1,\"path\":\"/a\"}]", "has no \"op\""},
		{"missing path", "{}", "[{\"op\":\"add\",\"value\":1}]", "has no \"path\""},
		{"missing value", "{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", "has no \"value\""},
		{"missing from", "{}", "[{\"op\":\"copy\",\"path\":\"/a\"}]", "has no \"from\""},
		{"copy from missing", "{}", "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/a\"}]",
		 "doc is missing from path: /x"},
		{"move from missing", "{}", "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/a\"}]",
		 "doc is missing path: /x"},
		{"move into child", "{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
		 "cannot move a value into itself"},
		{"pointer without slash", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"a\"}]", "invalid JSON pointer"},
		{"bad escape", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/~2\"}]", "invalid JSON pointer"},
		{"trailing tilde", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a~\"}]", "invalid JSON pointer"},
		{"into a scalar", "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", "doc is missing path"},
		{"ops not an array", "{}", "{\"op\":\"add\",\"path\":\"/a\",\"value\":1}", "array of operations"},
		{"op not an object", "{}", "[1]", "must be an object"},
		/* a later failure discards the earlier operations */
		{"atomic", "{\"a\":1}",
		 "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]",
		 "jsonpatch test operation does not apply"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *doc = parse(cases[i].doc), *ops = parse(cases[i].ops);
		char err[256] = "";
		cJSON *got = patch_json(doc, ops, err, sizeof err);
		if (got)
			fail_msg("%s: expected an error", cases[i].name);
		if (!strstr(err, cases[i].err_has))
			fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].name, err, cases[i].err_has);
		assert_json_exact(doc, cases[i].doc);
		cJSON_Delete(doc);
		cJSON_Delete(ops);
	}
}

static void test_json_patch_via_patch_apply(void **state)
{
	(void)state;
	cJSON *doc = parse("{\"metadata\":{\"name\":\"x\"}}");
	cJSON *ops = parse("[{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{\"a\":\"b\"}}]");
	char err[256];
	cJSON *got = patch_apply(PATCH_JSON, doc, ops, NULL, err, sizeof err);
	assert_json_exact(got, "{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"b\"}}}");
	cJSON_Delete(got);
	cJSON_Delete(ops);

	/* replacing the object by a scalar is not a resource any more */
	ops = parse("[{\"op\":\"replace\",\"path\":\"\",\"value\":3}]");
	assert_null(patch_apply(PATCH_JSON, doc, ops, NULL, err, sizeof err));
	assert_non_null(strstr(err, "not an object"));
	cJSON_Delete(ops);
	cJSON_Delete(doc);
}

/* Copying the document into itself doubles it each time: must be refused. */
static void test_json_patch_growth_bounded(void **state)
{
	(void)state;
	cJSON *doc = parse("{\"a\":[1,2,3,4,5,6,7,8]}");
	cJSON *ops = cJSON_CreateArray();
	for (int i = 0; i < 200; i++) {
		cJSON *op = parse("{\"op\":\"copy\",\"from\":\"\",\"path\":\"/a\"}");
		cJSON_AddItemToArray(ops, op);
	}
	char err[256] = "";
	assert_null(patch_json(doc, ops, err, sizeof err));
	assert_non_null(strstr(err, "jsonpatch copy operation does not apply"));
	cJSON_Delete(ops);

	/* nesting only: each op adds a level below the last */
	ops = cJSON_CreateArray();
	char path[512] = "";
	for (int i = 0; i < 120; i++) {
		strcat(path, "/a");
		cJSON *op = cJSON_CreateObject();
		cJSON_AddStringToObject(op, "op", "add");
		cJSON_AddStringToObject(op, "path", path);
		cJSON_AddItemToObject(op, "value", cJSON_CreateObject());
		cJSON_AddItemToArray(ops, op);
	}
	cJSON_Delete(doc);
	doc = parse("{}");
	assert_null(patch_json(doc, ops, err, sizeof err));
	assert_non_null(strstr(err, "nests too deeply"));
	cJSON_Delete(ops);
	cJSON_Delete(doc);
}

/* ---- Strategic merge patch --------------------------------------------- */

#define LIVE_DEPLOYMENT                                                                                        \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","                 \
	"\"namespace\":\"default\",\"resourceVersion\":\"7\",\"annotations\":{"                                 \
	"\"deployment.kubernetes.io/revision\":\"1\","                                                       \
	"\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"old\\\":true}\\n\"}},"                     \
	"\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"hello\"}},"                         \
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},\"spec\":{\"containers\":[{"              \
	"\"name\":\"hello\",\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":9898,\"protocol\":\"TCP\"}]," \
	"\"resources\":{}}]}}},"                                                                              \
	"\"status\":{\"replicas\":1,\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"}]}}"

static void test_smp_kubectl_reapply(void **state)
{
	(void)state;
	cJSON *live = parse(LIVE_DEPLOYMENT);
	cJSON *patch = parse(
		"{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
		"\"{\\\"apiVersion\\\":\\\"apps/v1\\\",\\\"kind\\\":\\\"Deployment\\\"}\\n\"}},"
		"\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"hello\"}],"
		"\"containers\":[{\"image\":\"nginx:1.27\",\"name\":\"hello\"}]}}}}");
	char err[256] = "";
	cJSON *got = patch_apply(PATCH_STRATEGIC, live, patch, kind_named("Deployment"), err, sizeof err);
	assert_json_exact(got,
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","
		"\"namespace\":\"default\",\"resourceVersion\":\"7\",\"annotations\":{"
		"\"deployment.kubernetes.io/revision\":\"1\","
		"\"kubectl.kubernetes.io/last-applied-configuration\":"
		"\"{\\\"apiVersion\\\":\\\"apps/v1\\\",\\\"kind\\\":\\\"Deployment\\\"}\\n\"}},"
		"\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"hello\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},\"spec\":{\"containers\":[{"
		"\"name\":\"hello\",\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":9898,\"protocol\":\"TCP\"}],"
		"\"resources\":{}}]}}},"
		"\"status\":{\"replicas\":1,\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"}]}}");
	/* the annotation is stored byte for byte, trailing newline included */
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(json_get(got, "metadata.annotations"),
							       "kubectl.kubernetes.io/last-applied-configuration");
	assert_true(cJSON_IsString(last));
	assert_string_equal(last->valuestring, "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}\n");
	cJSON_Delete(got);
	cJSON_Delete(patch);
	cJSON_Delete(live);
}

struct smp_case {
	const char *name, *kind, *live, *patch, *want;
};

static void run_smp_cases(const struct smp_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cJSON *live = parse(cases[i].live), *patch = parse(cases[i].patch);
		char err[256] = "";
		const struct kind_info *kind = cases[i].kind ? kind_named(cases[i].kind) : NULL;
		cJSON *got = patch_strategic(live, patch, kind, err, sizeof err);
		if (!got)
			fail_msg("%s: %s", cases[i].name, err);
		char *g = json_print(got);
		cJSON *want = parse(cases[i].want);
		char *w = json_print(want);
		if (strcmp(g, w) != 0)
			fail_msg("%s:\n got  %s\n want %s", cases[i].name, g, w);
		free(g);
		free(w);
		cJSON_Delete(want);
		cJSON_Delete(got);
		assert_json_exact(live, cases[i].live);
		cJSON_Delete(live);
		cJSON_Delete(patch);
	}
}

static void test_smp_cases(void **state)
{
	(void)state;
	static const struct smp_case cases[] = {
		/* Merge keys only the schema table (proto/schema/k8s.schema)
		 * declares: podIPs by ip, resourceClaims by name. */
		{"schema merge key (status.podIPs)", "Pod",
		 "{\"status\":{\"podIPs\":[{\"ip\":\"10.0.0.1\"}]}}",
		 "{\"status\":{\"podIPs\":[{\"ip\":\"fd00::1\"}]}}",
		 "{\"status\":{\"podIPs\":[{\"ip\":\"10.0.0.1\"},{\"ip\":\"fd00::1\"}]}}"},
		{"schema merge key in a template (resourceClaims)", "Deployment",
		 "{\"spec\":{\"template\":{\"spec\":{\"resourceClaims\":[{\"name\":\"a\",\"resourceClaimName\":\"x\"}]}}}}",
		 "{\"spec\":{\"template\":{\"spec\":{\"resourceClaims\":[{\"name\":\"b\",\"resourceClaimName\":\"y\"}]}}}}",
		 "{\"spec\":{\"template\":{\"spec\":{\"resourceClaims\":[{\"name\":\"a\",\"resourceClaimName\":\"x\"},"
		 "{\"name\":\"b\",\"resourceClaimName\":\"y\"}]}}}}"},
		{"null deletes", "ConfigMap", "{\"data\":{\"a\":\"1\",\"b\":\"2\"},\"metadata\":{\"name\":\"c\"}}",
		 "{\"data\":{\"a\":null,\"c\":\"3\"}}", "{\"data\":{\"b\":\"2\",\"c\":\"3\"},\"metadata\":{\"name\":\"c\"}}"},
		{"null deletes a map", "Deployment", "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"},\"replicas\":1}}",
		 "{\"spec\":{\"strategy\":null}}", "{\"spec\":{\"replicas\":1}}"},
		{"scalar lists replace", "Pod",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"x\",\"y\"],\"command\":[\"sh\"]}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"z\"]}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"z\"],\"command\":[\"sh\"]}]}}"},
		{"new keyed item is appended", "Pod",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\",\"image\":\"y\"}]}}"},
		{"$patch delete in a list", "Pod",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"b\",\"$patch\":\"delete\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"c\"}]}}"},
		{"$patch delete of env var", "Deployment",
		 "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":["
		 "{\"name\":\"X\",\"value\":\"1\"},{\"name\":\"Y\",\"value\":\"2\"}]}]}}}}",
		 "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":["
		 "{\"name\":\"X\",\"$patch\":\"delete\"},{\"name\":\"Y\",\"value\":\"3\"},{\"name\":\"Z\",\"value\":\"4\"}]}]}}}}",
		 "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":["
		 "{\"name\":\"Y\",\"value\":\"3\"},{\"name\":\"Z\",\"value\":\"4\"}]}]}}}}"},
		{"$patch delete on a map", "Deployment",
		 "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\"},\"replicas\":2}}",
		 "{\"spec\":{\"strategy\":{\"$patch\":\"delete\"}}}", "{\"spec\":{\"replicas\":2}}"},
		{"$patch replace on a map", "Deployment",
		 "{\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"1\",\"b\":\"2\"}}}}",
		 "{\"spec\":{\"selector\":{\"matchLabels\":{\"$patch\":\"replace\",\"c\":\"3\"}}}}",
		 "{\"spec\":{\"selector\":{\"matchLabels\":{\"c\":\"3\"}}}}"},
		{"$patch replace on a list", "Pod",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"$patch\":\"replace\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}"},
		{"$retainKeys", "Deployment",
		 "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1}},\"replicas\":1}}",
		 "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
		 "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"},\"replicas\":1}}"},
		{"$deleteFromPrimitiveList", "ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
		 "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\",\"zz\"]}}",
		 "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}"},
		{"finalizers merge as a set", "ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
		 "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}", "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}"},
		{"$setElementOrder reorders", "Pod",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}}",
		 "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c\"},{\"name\":\"a\"}],"
		 "\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"name\":\"a\",\"image\":\"i\"},{\"name\":\"b\"}]}}"},
		{"$setElementOrder of scalars", "ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
		 "{\"metadata\":{\"$setElementOrder/finalizers\":[\"b\",\"a\"]}}",
		 "{\"metadata\":{\"finalizers\":[\"b\",\"a\"]}}"},
		{"unknown directives are stripped", "Deployment", "{\"spec\":{\"replicas\":1}}",
		 "{\"$foo\":1,\"spec\":{\"$bar\":{\"x\":1},\"paused\":true,\"template\":{\"$patch\":\"merge\",\"x\":1}}}",
		 "{\"spec\":{\"replicas\":1,\"paused\":true,\"template\":{\"x\":1}}}"},
		{"directives stripped from new items", "Pod", "{\"spec\":{}}",
		 "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"}],\"containers\":[{\"name\":\"a\","
		 "\"$retainKeys\":[\"name\"],\"env\":[{\"name\":\"X\",\"$patch\":\"delete\"}],\"resources\":{\"limits\":null}}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[],\"resources\":{}}]}}"},
		{"container ports merge by containerPort", "Pod",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"name\":\"http\"},"
		 "{\"containerPort\":443}]}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"name\":\"http\","
		 "\"protocol\":\"TCP\"},{\"containerPort\":443}]}]}}"},
		{"Service ports merge by port", "Service",
		 "{\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080},"
		 "{\"name\":\"https\",\"port\":443}]}}",
		 "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090},{\"port\":53,\"protocol\":\"UDP\"}]}}",
		 "{\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":9090},"
		 "{\"name\":\"https\",\"port\":443},{\"port\":53,\"protocol\":\"UDP\"}]}}"},
		{"Service ports delete by port", "Service",
		 "{\"spec\":{\"ports\":[{\"port\":80},{\"port\":443}]}}",
		 "{\"spec\":{\"ports\":[{\"port\":80,\"$patch\":\"delete\"}]}}", "{\"spec\":{\"ports\":[{\"port\":443}]}}"},
		{"ports outside a Service spec or container replace", "Deployment",
		 "{\"spec\":{\"ports\":[{\"port\":80},{\"port\":443}]}}", "{\"spec\":{\"ports\":[{\"port\":80,\"x\":1}]}}",
		 "{\"spec\":{\"ports\":[{\"port\":80,\"x\":1}]}}"},
		{"item without merge key replaces the list", "Pod",
		 "{\"spec\":{\"volumes\":[{\"name\":\"a\",\"emptyDir\":{}}]}}",
		 "{\"spec\":{\"volumes\":[{\"emptyDir\":{}}]}}", "{\"spec\":{\"volumes\":[{\"emptyDir\":{}}]}}"},
		{"tolerations replace", "Pod",
		 "{\"spec\":{\"tolerations\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}}",
		 "{\"spec\":{\"tolerations\":[{\"key\":\"b\",\"operator\":\"Exists\"}]}}",
		 "{\"spec\":{\"tolerations\":[{\"key\":\"b\",\"operator\":\"Exists\"}]}}"},
		{"conditions merge by type", "Deployment",
		 "{\"status\":{\"conditions\":[{\"type\":\"Available\",\"status\":\"False\"},{\"type\":\"Progressing\","
		 "\"status\":\"True\"}]}}",
		 "{\"status\":{\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"}]}}",
		 "{\"status\":{\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"},{\"type\":\"Progressing\","
		 "\"status\":\"True\"}]}}"},
		{"volumeMounts by mountPath", "Pod",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/x\"}]}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"volumeMounts\":[{\"mountPath\":\"/x\",\"readOnly\":true},"
		 "{\"name\":\"w\",\"mountPath\":\"/y\"}]}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/x\","
		 "\"readOnly\":true},{\"name\":\"w\",\"mountPath\":\"/y\"}]}]}}"},
		{"ownerReferences by uid", "ConfigMap",
		 "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"}]}}",
		 "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\",\"name\":\"b\"}]}}",
		 "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"},{\"uid\":\"2\",\"name\":\"b\"}]}}"},
		{"a scalar replaces a map", "ConfigMap", "{\"data\":{\"a\":\"1\"}}", "{\"data\":\"x\"}", "{\"data\":\"x\"}"},
		{"custom kind falls back to field names", NULL,
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"y\"}]}}",
		 "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"y\"}]}}"},
	};
	run_smp_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_smp_errors(void **state)
{
	(void)state;
	static const struct {
		const char *live, *patch, *err_has;
	} cases[] = {
		{"{\"spec\":{}}", "{\"spec\":{\"$patch\":\"explode\"}}", "invalid $patch directive"},
		{"{\"spec\":{}}", "{\"spec\":{\"$patch\":1}}", "$patch must be a string"},
		{"{\"spec\":{}}", "{\"spec\":{\"$retainKeys\":\"type\"}}", "$retainKeys"},
		{"{\"spec\":{}}", "{\"spec\":{\"$retainKeys\":[1]}}", "$retainKeys"},
		{"{\"spec\":{}}", "{\"spec\":{\"$setElementOrder/containers\":{}}}", "$setElementOrder"},
		{"{\"spec\":{}}", "{\"spec\":{\"$deleteFromPrimitiveList/args\":\"a\"}}", "$deleteFromPrimitiveList"},
		{"{}", "[1]", "must be an object"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *live = parse(cases[i].live), *patch = parse(cases[i].patch);
		char err[256] = "";
		assert_null(patch_strategic(live, patch, kind_named("Deployment"), err, sizeof err));
		if (!strstr(err, cases[i].err_has) ||
		    !strstr(err, "the server rejected our request due to an error in our request"))
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, cases[i].err_has);
		cJSON_Delete(live);
		cJSON_Delete(patch);
	}
}

static void test_smp_root_delete(void **state)
{
	(void)state;
	cJSON *live = parse("{\"a\":1}"), *patch = parse("{\"$patch\":\"delete\"}");
	char err[256];
	cJSON *got = patch_strategic(live, patch, NULL, err, sizeof err);
	assert_json_exact(got, "{}");
	cJSON_Delete(got);
	cJSON_Delete(patch);
	cJSON_Delete(live);
}

/* ---- Server-side apply ------------------------------------------------- */

#define MANIFEST_DEPLOYMENT                                                                               \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","            \
	"\"namespace\":\"default\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"hello\"}}," \
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},\"spec\":{\"containers\":[{"         \
	"\"name\":\"hello\",\"image\":\"nginx:1.27\"}]}}}}"

static void test_ssa_create(void **state)
{
	(void)state;
	cJSON *applied = parse(MANIFEST_DEPLOYMENT);
	char err[256] = "";
	cJSON *got = patch_apply(PATCH_APPLY, NULL, applied, kind_named("Deployment"), err, sizeof err);
	assert_json_exact(got, MANIFEST_DEPLOYMENT);
	cJSON_Delete(got);
	got = patch_server_side_apply(NULL, applied, NULL, err, sizeof err);
	assert_json_exact(got, MANIFEST_DEPLOYMENT);
	cJSON_Delete(got);
	cJSON_Delete(applied);
}

static void test_ssa_merges_into_live(void **state)
{
	(void)state;
	cJSON *live = parse(LIVE_DEPLOYMENT);
	cJSON *applied = parse(MANIFEST_DEPLOYMENT);
	char err[256] = "";
	cJSON *got = patch_apply(PATCH_APPLY, live, applied, kind_named("Deployment"), err, sizeof err);
	/* status, others' annotations and container ports survive */
	assert_json_exact(got,
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","
		"\"namespace\":\"default\",\"resourceVersion\":\"7\",\"annotations\":{"
		"\"deployment.kubernetes.io/revision\":\"1\","
		"\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"old\\\":true}\\n\"}},"
		"\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"hello\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},\"spec\":{\"containers\":[{"
		"\"name\":\"hello\",\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":9898,\"protocol\":\"TCP\"}],"
		"\"resources\":{}}]}}},"
		"\"status\":{\"replicas\":1,\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"}]}}");
	cJSON_Delete(got);
	cJSON_Delete(applied);

	/* null in an apply body deletes */
	applied = parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","
			"\"annotations\":{\"deployment.kubernetes.io/revision\":null}},\"status\":null}");
	got = patch_server_side_apply(live, applied, kind_named("Deployment"), err, sizeof err);
	assert_non_null(got);
	assert_null(json_get(got, "status"));
	const cJSON *annotations = json_get(got, "metadata.annotations");
	assert_null(cJSON_GetObjectItemCaseSensitive(annotations, "deployment.kubernetes.io/revision"));
	assert_int_equal(cJSON_GetArraySize(annotations), 1);
	assert_non_null(json_get(got, "spec.template.spec.containers"));
	cJSON_Delete(got);
	cJSON_Delete(applied);
	cJSON_Delete(live);
}

static void test_ssa_last_applied_second_patch(void **state)
{
	(void)state;
	cJSON *live = parse(LIVE_DEPLOYMENT);
	cJSON *applied = parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"annotations\":{"
			       "\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"new\\\":1}\\n\"},"
			       "\"name\":\"hello\",\"namespace\":\"default\"}}");
	char err[256] = "";
	cJSON *got = patch_apply(PATCH_APPLY, live, applied, kind_named("Deployment"), err, sizeof err);
	assert_json_exact(got,
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","
		"\"namespace\":\"default\",\"resourceVersion\":\"7\",\"annotations\":{"
		"\"deployment.kubernetes.io/revision\":\"1\","
		"\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"new\\\":1}\\n\"}},"
		"\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"hello\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},\"spec\":{\"containers\":[{"
		"\"name\":\"hello\",\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":9898,\"protocol\":\"TCP\"}],"
		"\"resources\":{}}]}}},"
		"\"status\":{\"replicas\":1,\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"}]}}");
	cJSON_Delete(got);
	cJSON_Delete(applied);
	cJSON_Delete(live);
}

static void test_ssa_custom_kind(void **state)
{
	(void)state;
	cJSON *live = parse("{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":\"PropagationPolicy\","
			    "\"metadata\":{\"name\":\"pp\",\"labels\":{\"team\":\"a\"}},"
			    "\"spec\":{\"resourceSelectors\":[{\"kind\":\"Deployment\",\"name\":\"hello\"}],"
			    "\"placement\":{\"clusterAffinity\":{\"clusterNames\":[\"m1\",\"m2\"]}}},"
			    "\"status\":{\"x\":1}}");
	cJSON *applied = parse("{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":\"PropagationPolicy\","
			       "\"metadata\":{\"name\":\"pp\"},"
			       "\"spec\":{\"resourceSelectors\":[{\"kind\":\"Deployment\",\"name\":\"hello\"}],"
			       "\"placement\":{\"clusterAffinity\":{\"clusterNames\":[\"m3\"]}}}}");
	char err[256] = "";
	const struct kind_info *kinds[] = {kind_named("PropagationPolicy"), NULL};
	for (size_t i = 0; i < 2; i++) {
		cJSON *got = patch_apply(PATCH_APPLY, live, applied, kinds[i], err, sizeof err);
		assert_json_exact(got, "{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":\"PropagationPolicy\","
				       "\"metadata\":{\"name\":\"pp\",\"labels\":{\"team\":\"a\"}},"
				       "\"spec\":{\"resourceSelectors\":[{\"kind\":\"Deployment\",\"name\":\"hello\"}],"
				       "\"placement\":{\"clusterAffinity\":{\"clusterNames\":[\"m3\"]}}},"
				       "\"status\":{\"x\":1}}");
		cJSON_Delete(got);
	}
	cJSON_Delete(applied);

	applied = parse("[]");
	assert_null(patch_server_side_apply(live, applied, NULL, err, sizeof err));
	assert_non_null(strstr(err, "must be an object"));
	cJSON_Delete(applied);
	cJSON_Delete(live);
}

/* ---- Untrusted nesting ------------------------------------------------- */

static cJSON *nest_objects(int depth)
{
	cJSON *root = cJSON_CreateObject(), *cur = root;
	for (int i = 1; i < depth; i++) {
		cJSON *child = cJSON_CreateObject();
		cJSON_AddItemToObject(cur, "a", child);
		cur = child;
	}
	return root;
}

static cJSON *nest_arrays(int depth)
{
	cJSON *root = cJSON_CreateArray(), *cur = root;
	for (int i = 1; i < depth; i++) {
		cJSON *child = cJSON_CreateArray();
		cJSON_AddItemToArray(cur, child);
		cur = child;
	}
	return root;
}

static void test_deep_nesting_is_refused(void **state)
{
	(void)state;
	cJSON *deep = nest_objects(10000);
	cJSON *shallow = parse("{\"a\":{\"b\":1}}");
	cJSON *deep_ops = cJSON_CreateArray();
	cJSON *op = parse("{\"op\":\"add\",\"path\":\"/x\"}");
	cJSON_AddItemToObject(op, "value", nest_arrays(10000));
	cJSON_AddItemToArray(deep_ops, op);
	cJSON *deep_containers = parse("{\"spec\":{}}");
	cJSON_AddItemToObject(json_get(deep_containers, "spec"), "containers", nest_arrays(10000));
	char err[256];

	const enum patch_type types[] = {PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		err[0] = '\0';
		assert_null(patch_apply(types[i], shallow, deep, kind_named("Deployment"), err, sizeof err));
		assert_non_null(strstr(err, "nesting deeper than"));
		err[0] = '\0';
		assert_null(patch_apply(types[i], deep, shallow, NULL, err, sizeof err));
		assert_non_null(strstr(err, "nesting deeper than"));
		err[0] = '\0';
		assert_null(patch_apply(types[i], shallow, deep_containers, kind_named("Pod"), err, sizeof err));
		assert_non_null(strstr(err, "nesting deeper than"));
	}
	err[0] = '\0';
	assert_null(patch_apply(PATCH_JSON, shallow, deep_ops, NULL, err, sizeof err));
	assert_non_null(strstr(err, "nesting deeper than"));
	err[0] = '\0';
	cJSON *ops = parse("[]");
	assert_null(patch_apply(PATCH_JSON, deep, ops, NULL, err, sizeof err));
	assert_non_null(strstr(err, "nesting deeper than"));
	cJSON_Delete(ops);

	assert_null(patch_merge(shallow, deep));
	assert_null(patch_merge(deep, shallow));
	assert_null(patch_strategic(deep, shallow, NULL, err, sizeof err));
	assert_null(patch_server_side_apply(NULL, deep, NULL, err, sizeof err));

	/* exactly at the limit is fine */
	cJSON *limit = nest_objects(JSON_MAX_DEPTH);
	cJSON *got = patch_merge(shallow, limit);
	assert_non_null(got);
	cJSON_Delete(got);
	got = patch_strategic(limit, shallow, NULL, err, sizeof err);
	assert_non_null(got);
	cJSON_Delete(got);
	cJSON_Delete(limit);

	cJSON_Delete(deep_containers);
	cJSON_Delete(deep_ops);
	cJSON_Delete(shallow);
	cJSON_Delete(deep);
}

static void test_too_many_json_patch_ops(void **state)
{
	(void)state;
	cJSON *doc = parse("{}");
	cJSON *ops = cJSON_CreateArray();
	for (int i = 0; i < 10001; i++)
		cJSON_AddItemToArray(ops, parse("{\"op\":\"test\",\"path\":\"\",\"value\":{}}"));
	char err[256] = "";
	assert_null(patch_json(doc, ops, err, sizeof err));
	assert_non_null(strstr(err, "more than 10000"));
	cJSON_Delete(ops);
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_types),
		cmocka_unit_test(test_merge_rfc7386_appendix_a),
		cmocka_unit_test(test_merge_via_patch_apply),
		cmocka_unit_test(test_json_patch_rfc6902_appendix_a),
		cmocka_unit_test(test_json_patch_keeps_member_order),
		cmocka_unit_test(test_json_patch_errors),
		cmocka_unit_test(test_json_patch_via_patch_apply),
		cmocka_unit_test(test_json_patch_growth_bounded),
		cmocka_unit_test(test_smp_kubectl_reapply),
		cmocka_unit_test(test_smp_cases),
		cmocka_unit_test(test_smp_errors),
		cmocka_unit_test(test_smp_root_delete),
		cmocka_unit_test(test_ssa_create),
		cmocka_unit_test(test_ssa_merges_into_live),
		cmocka_unit_test(test_ssa_last_applied_second_patch),
		cmocka_unit_test(test_ssa_custom_kind),
		cmocka_unit_test(test_deep_nesting_is_refused),
		cmocka_unit_test(test_too_many_json_patch_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
