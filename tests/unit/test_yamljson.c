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
#include "yamljson.h"

static const char *data_dir(void)
{
	const char *d = getenv("ATOLL_TEST_DATA");
	return d && *d ? d : "tests/data";
}

static cJSON *parse_data_file(const char *rel, char *err, size_t errlen)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", data_dir(), rel);
	return yaml_parse_file(path, err, errlen);
}

static void assert_json(const cJSON *j, const char *want)
{
	char *s = cJSON_PrintUnformatted(j);
	assert_non_null(s);
	if (strcmp(s, want) != 0)
		print_error("got  %s\nwant %s\n", s, want);
	assert_string_equal(s, want);
	free(s);
}

/* Each case: input, and either the compact JSON of the document array or
 * the exact error. */
struct ycase {
	const char *name;
	const char *in;
	const char *json;
	const char *err;
};

static const struct ycase cases[] = {
	/* typing of plain scalars, go-yaml v2 style */
	{"bools", "a: true\nb: False\nc: TRUE\nd: yes\ne: No\nf: on\ng: OFF\nh: y\ni: N\nj: tRUE\n",
	 "[{\"a\":true,\"b\":false,\"c\":true,\"d\":true,\"e\":false,\"f\":true,\"g\":false,\"h\":true,\"i\":false,"
	 "\"j\":\"tRUE\"}]",
	 NULL},
	{"quoted stay strings", "a: \"true\"\nb: 'yes'\nc: \"1\"\nd: '~'\ne: \"null\"\nf: \"0x10\"\n",
	 "[{\"a\":\"true\",\"b\":\"yes\",\"c\":\"1\",\"d\":\"~\",\"e\":\"null\",\"f\":\"0x10\"}]", NULL},
	{"nulls", "a: null\nb: ~\nc:\nd: Null\ne: NULL\nf: nULL\n",
	 "[{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null,\"f\":\"nULL\"}]", NULL},
	{"integers", "a: 9898\nb: -3\nc: +7\nd: 0x1F\ne: 0o17\nf: 0755\ng: 0b101\nh: 1_000\ni: -0x10\nj: 0\nk: 09\n",
	 "[{\"a\":9898,\"b\":-3,\"c\":7,\"d\":31,\"e\":15,\"f\":493,\"g\":5,\"h\":1000,\"i\":-16,\"j\":0,\"k\":9}]", NULL},
	{"floats", "a: 1.5\nb: -0.25\nc: 1e3\nd: .5\ne: 1.\nf: 2.5E-1\n",
	 "[{\"a\":1.5,\"b\":-0.25,\"c\":1000,\"d\":0.5,\"e\":1,\"f\":0.25}]", NULL},
	{"not numbers", "a: .inf\nb: -.Inf\nc: .nan\nd: 1e400\ne: 1.5.3\nf: 0x\ng: _1\nh: 2001-12-14\ni: ::1\nj: 1:20\nk: 3650d\n",
	 "[{\"a\":\".inf\",\"b\":\"-.Inf\",\"c\":\".nan\",\"d\":\"1e400\",\"e\":\"1.5.3\",\"f\":\"0x\",\"g\":\"_1\","
	 "\"h\":\"2001-12-14\",\"i\":\"::1\",\"j\":\"1:20\",\"k\":\"3650d\"}]",
	 NULL},
	{"beyond 2^53 stays a number", "a: 12345678901234567890\n", "[{\"a\":1.2345678901234567e+19}]", NULL},
	{"block scalars", "lit: |\n  line1\n  line2\nfold: >\n  a\n  b\nstrip: |-\n  true\nkeep: |+\n  1\n\n",
	 "[{\"lit\":\"line1\\nline2\\n\",\"fold\":\"a b\\n\",\"strip\":\"true\",\"keep\":\"1\\n\\n\"}]", NULL},
	{"tags", "a: !!str 123\nb: !!int \"42\"\nc: !!float 3\nd: !!bool \"on\"\ne: !!null x\nf: !custom 12\ng: ! 12\n",
	 "[{\"a\":\"123\",\"b\":42,\"c\":3,\"d\":true,\"e\":null,\"f\":\"12\",\"g\":\"12\"}]", NULL},
	{"keys become strings", "yes: 1\n0x10: 2\n~: 3\n1.5: 4\n\"q\": 5\nfalse: 6\n",
	 "[{\"true\":1,\"16\":2,\"null\":3,\"1.5\":4,\"q\":5,\"false\":6}]", NULL},
	{"y and n keys are booleans too", "x: 1\ny: 2\nn: 3\n", "[{\"x\":1,\"true\":2,\"false\":3}]", NULL},
	{"repeated key keeps the last value", "a: 1\nb: 2\na: 3\n", "[{\"b\":2,\"a\":3}]", NULL},
	{"sequences", "- a\n- [1, 2]\n- {k: v}\n- - nested\n", "[[\"a\",[1,2],{\"k\":\"v\"},[\"nested\"]]]", NULL},
	{"unicode", "a: \"caf\\u00e9\"\nb: 日本\n", "[{\"a\":\"café\",\"b\":\"日本\"}]", NULL},

	/* streams */
	{"empty input", "", "[]", NULL},
	{"only comments", "# nothing\n# here\n", "[]", NULL},
	{"empty documents skipped", "---\n---\na: 1\n---\n# c\n...\n---\nb: 2\n---\n~\n---\n",
	 "[{\"a\":1},{\"b\":2}]", NULL},
	{"scalar document", "--- hello\n", "[\"hello\"]", NULL},
	{"JSON input",
	 "{\"kind\": \"List\", \"items\": [{\"a\": 1.5, \"b\": true}, null, \"x\\u00e9\"],\n\t\"n\": -2e2}",
	 "[{\"kind\":\"List\",\"items\":[{\"a\":1.5,\"b\":true},null,\"xé\"],\"n\":-200}]", NULL},
	{"JSON documents", "{\"a\": 1}\n---\n[1, \"2\"]\n", "[{\"a\":1},[1,\"2\"]]", NULL},

	/* anchors */
	{"alias copies", "base: &b {x: 1, z: [a, b]}\ncopy: *b\n",
	 "[{\"base\":{\"x\":1,\"z\":[\"a\",\"b\"]},\"copy\":{\"x\":1,\"z\":[\"a\",\"b\"]}}]", NULL},
	{"scalar alias as key and value", "s: &n hi\n*n : there\nv: *n\n", "[{\"s\":\"hi\",\"hi\":\"there\",\"v\":\"hi\"}]",
	 NULL},
	{"anchored key", "&k key: 1\nother: *k\n", "[{\"key\":1,\"other\":\"key\"}]", NULL},
	{"anchor redefined", "a: &x 1\nb: &x 2\nc: *x\n", "[{\"a\":1,\"b\":2,\"c\":2}]", NULL},
	{"anchor of a replaced value", "a: &x [1]\na: 2\nb: *x\n", "[{\"a\":2,\"b\":[1]}]", NULL},
	{"merge key is a plain key", "base: &b {x: 1}\nm:\n  <<: *b\n  w: 2\n",
	 "[{\"base\":{\"x\":1},\"m\":{\"<<\":{\"x\":1},\"w\":2}}]", NULL},

	/* errors */
	{"mapping values", "a: 1\nb: c: d\n", NULL, "yaml: line 2, column 5: mapping values are not allowed in this context"},
	{"tab indentation", "metadata:\n\tname: x\n", NULL,
	 "yaml: line 2, column 1: found character that cannot start any token "
	 "(while scanning for the next token at line 2)"},
	{"unclosed flow", "a: [1, 2\nb: 3\n", NULL,
	 "yaml: line 2, column 2: did not find expected ',' or ']' (while parsing a flow sequence at line 1)"},
	{"bad indentation", "a:\n  b: 1\n c: 2\n", NULL,
	 "yaml: line 3, column 2: did not find expected key (while parsing a block mapping at line 1)"},
	{"unterminated quote", "a: \"abc\n", NULL,
	 "yaml: line 2, column 1: found unexpected end of stream (while scanning a quoted scalar at line 1)"},
	{"unknown anchor", "a: *nope\n", NULL, "yaml: line 1, column 4: unknown anchor 'nope' referenced"},
	{"anchors stay in their document", "a: &x 1\n---\nb: *x\n", NULL,
	 "yaml: line 3, column 4: unknown anchor 'x' referenced"},
	{"self reference", "a: &x [1, *x]\n", NULL, "yaml: line 1, column 11: unknown anchor 'x' referenced"},
	{"collection key", "? [a]\n: b\n", NULL, "yaml: line 1, column 3: mapping keys must be scalars"},
	{"collection alias key", "a: &a {b: 1}\n*a : x\n", NULL, "yaml: line 2, column 1: mapping keys must be scalars"},
	{"bad !!int", "a: !!int x\n", NULL, "yaml: line 1, column 4: cannot decode `x` as a !!int"},
	{"bad !!bool", "a: !!bool 2\n", NULL, "yaml: line 1, column 4: cannot decode `2` as a !!bool"},
	{"invalid UTF-8 lead", "a: \xff\n", NULL, "yaml: line 1, column 4: invalid UTF-8 (invalid leading UTF-8 octet)"},
	{"invalid UTF-8 trail", "a: 1\nb: \xc3\x28\n", NULL,
	 "yaml: line 2, column 5: invalid UTF-8 (invalid trailing UTF-8 octet)"},
	{"overlong UTF-8", "a: \xc0\xaf\n", NULL,
	 "yaml: line 1, column 4: invalid UTF-8 (invalid length of a UTF-8 sequence)"},
	{"UTF-8 surrogate", "a: \xed\xa0\x80\n", NULL, "yaml: line 1, column 4: invalid UTF-8 (invalid Unicode character)"},
	{"UTF-16 BOM", "\xff\xfe" "a\0:\0", NULL, "yaml: line 1, column 1: invalid UTF-8 (invalid leading UTF-8 octet)"},
	{"control character", "a: b\x01\n", NULL, "yaml: line 1, column 5: control characters are not allowed"},
	{"NUL escape", "a: \"x\\0y\"\n", NULL, "yaml: line 1, column 4: NUL character in scalar"},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ycase *c = &cases[i];
		char err[256] = "";
		/* the UTF-16 case has NULs: its length is fixed */
		size_t len = strcmp(c->name, "UTF-16 BOM") == 0 ? 6 : strlen(c->in);
		cJSON *j = yaml_parse_documents(c->in, len, err, sizeof err);
		if (!j != !c->json || (!j && strcmp(err, c->err) != 0))
			print_error("case \"%s\": error \"%s\"\n", c->name, err);
		if (c->json) {
			assert_non_null(j);
			assert_json(j, c->json);
		} else {
			assert_null(j);
			assert_string_equal(err, c->err);
		}
		cJSON_Delete(j);
	}
}

/* Input need not be NUL-terminated: parse a prefix of a longer buffer. */
static void test_length_bounded(void **state)
{
	(void)state;
	const char buf[] = "a: 1\nb: 2\nGARBAGE: [";
	char err[128] = "";
	cJSON *j = yaml_parse_documents(buf, 10, err, sizeof err);
	assert_non_null(j);
	assert_json(j, "[{\"a\":1,\"b\":2}]");
	cJSON_Delete(j);
	j = yaml_parse_documents(NULL, 0, err, sizeof err);
	assert_non_null(j);
	assert_json(j, "[]");
	cJSON_Delete(j);
}

static void test_seed_manifests(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		int ndocs;
		const char *kind0;
	} seeds[] = {
		{"seed/deployment.yaml", 2, "Deployment"},
		{"seed/expose.yaml", 1, "Gateway"},
		{"seed/policy-equal.yaml", 1, "PropagationPolicy"},
		{"seed/policy-weighted.yaml", 1, "PropagationPolicy"},
		{"seed/policy-with-sleep.yaml", 1, "PropagationPolicy"},
		{"seed/remote-secret.template.yaml", 1, "Secret"},
		{"seed/sleep.yaml", 1, "Deployment"},
	};
	for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		char err[256] = "";
		cJSON *d = parse_data_file(seeds[i].file, err, sizeof err);
		if (!d)
			print_error("%s: %s\n", seeds[i].file, err);
		assert_non_null(d);
		assert_int_equal(cJSON_GetArraySize(d), seeds[i].ndocs);
		assert_string_equal(json_get_str(cJSON_GetArrayItem(d, 0), "kind"), seeds[i].kind0);
		cJSON_Delete(d);
	}

	char err[256] = "";
	cJSON *d = parse_data_file("seed/deployment.yaml", err, sizeof err);
	assert_non_null(d);
	const cJSON *dep = cJSON_GetArrayItem(d, 0), *svc = cJSON_GetArrayItem(d, 1);
	assert_string_equal(json_get_str(dep, "apiVersion"), "apps/v1");
	assert_string_equal(json_get_str(dep, "metadata.name"), "hello");
	assert_true(cJSON_IsNumber(json_get(dep, "spec.replicas")));
	assert_int_equal((int)json_get_num(dep, "spec.replicas", -1), 3);
	assert_string_equal(json_get_str(dep, "spec.selector.matchLabels.app"), "hello");
	const cJSON *c0 = cJSON_GetArrayItem(json_get(dep, "spec.template.spec.containers"), 0);
	assert_string_equal(json_get_str(c0, "image"), "stefanprodan/podinfo");
	assert_string_equal(json_get_str(svc, "kind"), "Service");
	assert_string_equal(json_get_str(svc, "apiVersion"), "v1");
	const cJSON *p0 = cJSON_GetArrayItem(json_get(svc, "spec.ports"), 0);
	assert_true(cJSON_IsNumber(json_get(p0, "targetPort")));
	assert_int_equal((int)json_get_num(p0, "targetPort", -1), 9898);
	assert_int_equal((int)json_get_num(p0, "port", -1), 5000);
	cJSON_Delete(d);

	d = parse_data_file("seed/sleep.yaml", err, sizeof err);
	assert_non_null(d);
	dep = cJSON_GetArrayItem(d, 0);
	assert_int_equal((int)json_get_num(dep, "spec.template.spec.terminationGracePeriodSeconds", -1), 0);
	c0 = cJSON_GetArrayItem(json_get(dep, "spec.template.spec.containers"), 0);
	assert_json(json_get(c0, "command"), "[\"/bin/sleep\",\"3650d\"]");
	const cJSON *v0 = cJSON_GetArrayItem(json_get(dep, "spec.template.spec.volumes"), 0);
	assert_true(cJSON_IsTrue(json_get(v0, "secret.optional")));
	cJSON_Delete(d);

	d = parse_data_file("seed/remote-secret.template.yaml", err, sizeof err);
	assert_non_null(d);
	const cJSON *labels = json_get(cJSON_GetArrayItem(d, 0), "metadata.labels");
	const cJSON *mc = cJSON_GetObjectItemCaseSensitive(labels, "istio/multiCluster");
	assert_true(cJSON_IsString(mc)); /* quoted "true" */
	assert_string_equal(mc->valuestring, "true");
	assert_string_equal(json_get_str(cJSON_GetArrayItem(d, 0), "metadata.name"), "istio-remote-secret-<cluster name>");
	cJSON_Delete(d);

	d = parse_data_file("seed/expose.yaml", err, sizeof err);
	assert_non_null(d);
	const cJSON *s0 = cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(d, 0), "spec.servers"), 0);
	assert_int_equal((int)json_get_num(s0, "port.number", -1), 15443);
	assert_json(json_get(s0, "hosts"), "[\"*.local\"]");
	cJSON_Delete(d);

	d = parse_data_file("seed/policy-weighted.yaml", err, sizeof err);
	assert_non_null(d);
	const cJSON *wl = json_get(cJSON_GetArrayItem(d, 0), "spec.placement.replicaScheduling.weightPreference.staticWeightList");
	assert_int_equal(cJSON_GetArraySize(wl), 3);
	assert_json(cJSON_GetArrayItem(wl, 0), "{\"targetCluster\":{\"clusterNames\":[\"us\"]},\"weight\":2}");
	assert_json(cJSON_GetArrayItem(wl, 1), "{\"targetCluster\":{\"clusterNames\":[\"ap\"]},\"weight\":1}");
	cJSON_Delete(d);
}

static void test_data_files(void **state)
{
	(void)state;
	char err[256] = "";
	cJSON *d = parse_data_file("yaml/multi-doc.yaml", err, sizeof err);
	assert_non_null(d);
	assert_json(d, "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"first\"},"
		       "\"data\":{\"enabled\":\"true\"}},{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
		       "\"metadata\":{\"name\":\"second\"},\"data\":{\"mode\":\"0644\"}}]");
	cJSON_Delete(d);

	d = parse_data_file("yaml/anchors.yaml", err, sizeof err);
	assert_non_null(d);
	const cJSON *doc = cJSON_GetArrayItem(d, 0);
	const char *spec = "{\"image\":\"nginx:1.25\",\"ports\":[80,443],\"env\":[{\"name\":\"MODE\",\"value\":\"prod\"}]}";
	assert_json(json_get(doc, "defaults"), spec);
	assert_json(json_get(doc, "first.spec"), spec);
	assert_json(json_get(doc, "second.spec"), spec);
	assert_json(json_get(doc, "second.env"), "[{\"name\":\"MODE\",\"value\":\"prod\"}]");
	assert_string_equal(json_get_str(doc, "app"), "hello");
	/* copies are independent trees */
	assert_ptr_not_equal(json_get(doc, "first.spec"), json_get(doc, "second.spec"));
	cJSON_Delete(d);

	d = parse_data_file("yaml/tabs.yaml", err, sizeof err);
	assert_null(d);
	assert_string_equal(err, "yaml: line 4, column 1: found character that cannot start any token "
				 "(while scanning for the next token at line 4)");

	d = parse_data_file("yaml/bad-utf8.yaml", err, sizeof err);
	assert_null(d);
	assert_string_equal(err, "yaml: line 5, column 13: invalid UTF-8 (invalid trailing UTF-8 octet)");

	char path[512];
	snprintf(path, sizeof path, "%s/yaml/no-such-file.yaml", data_dir());
	d = yaml_parse_file(path, err, sizeof err);
	assert_null(d);
	char want[600];
	snprintf(want, sizeof want, "yaml: open %s: No such file or directory", path);
	assert_string_equal(err, want);
}

static void test_billion_laughs(void **state)
{
	(void)state;
	char err[256] = "";
	clock_t t0 = clock();
	cJSON *d = parse_data_file("yaml/billion-laughs.yaml", err, sizeof err);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_null(d);
	assert_string_equal(err, "yaml: document contains excessive aliasing");
	assert_true(secs < 10.0); /* generous: valgrind; natively it is milliseconds */
}

/* A growing string buffer for generated inputs. */
struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t k = strlen(s);
	if (b->n + k + 1 > b->cap) {
		b->cap = (b->n + k + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, s, k + 1);
	b->n += k;
}

static void sb_repeat(struct sbuf *b, const char *s, int times)
{
	for (int i = 0; i < times; i++)
		sb_add(b, s);
}

static void test_depth_limit(void **state)
{
	(void)state;
	static const struct {
		const char *name, *open, *close;
		int depth;
		bool ok;
	} dcases[] = {
		{"flow seq 100", "[", "]", 100, true},
		{"flow seq 101", "[", "]", 101, false},
		{"flow seq 10000", "[", "]", 10000, false},
		{"flow map 100", "{a: ", "}", 100, true},
		{"flow map 101", "{a: ", "}", 101, false},
		{"flow map 10000", "{a: ", "}", 10000, false},
		{"JSON 10000", "{\"a\":[", "]}", 5000, false},
	};
	for (size_t i = 0; i < sizeof dcases / sizeof dcases[0]; i++) {
		struct sbuf b = {0};
		sb_add(&b, "");
		sb_repeat(&b, dcases[i].open, dcases[i].depth);
		sb_repeat(&b, dcases[i].close, dcases[i].depth);
		char err[128] = "";
		cJSON *d = yaml_parse_documents(b.p, b.n, err, sizeof err);
		if (dcases[i].ok) {
			assert_non_null(d);
			assert_int_equal(json_depth(cJSON_GetArrayItem(d, 0)), dcases[i].depth);
		} else {
			assert_null(d);
			assert_string_equal(err, "yaml: exceeded max depth of 100");
		}
		cJSON_Delete(d);
		free(b.p);
	}

	/* block style, 2 spaces per level */
	struct sbuf b = {0};
	for (int lvl = 0; lvl < 150; lvl++) {
		char line[400];
		snprintf(line, sizeof line, "%*sk:\n", lvl * 2, "");
		sb_add(&b, line);
	}
	char err[128] = "";
	cJSON *d = yaml_parse_documents(b.p, b.n, err, sizeof err);
	assert_null(d);
	assert_string_equal(err, "yaml: exceeded max depth of 100");
	free(b.p);

	/* an alias may not push a copy past the limit */
	b = (struct sbuf){0};
	sb_add(&b, "a: &x ");
	sb_repeat(&b, "[", 60);
	sb_repeat(&b, "]", 60);
	sb_add(&b, "\nb: ");
	sb_repeat(&b, "[", 40);
	sb_add(&b, "*x");
	sb_repeat(&b, "]", 40);
	sb_add(&b, "\n");
	d = yaml_parse_documents(b.p, b.n, err, sizeof err);
	assert_null(d);
	assert_string_equal(err, "yaml: exceeded max depth of 100");
	free(b.p);
}

static void test_alias_limits(void **state)
{
	(void)state;
	char err[128] = "";
	/* exactly YAML_MAX_ALIASES aliases pass, one more fails */
	for (int n = YAML_MAX_ALIASES; n <= YAML_MAX_ALIASES + 1; n++) {
		struct sbuf b = {0};
		sb_add(&b, "a: &a x\nl:\n");
		sb_repeat(&b, "- *a\n", n);
		cJSON *d = yaml_parse_documents(b.p, b.n, err, sizeof err);
		if (n == YAML_MAX_ALIASES) {
			assert_non_null(d);
			assert_int_equal(cJSON_GetArraySize(json_get(cJSON_GetArrayItem(d, 0), "l")), n);
		} else {
			assert_null(d);
			assert_string_equal(err, "yaml: document contains excessive aliasing");
		}
		cJSON_Delete(d);
		free(b.p);
	}
	/* the count is per stream, not per document */
	struct sbuf b = {0};
	for (int i = 0; i < 11; i++)
		sb_add(&b, "---\na: &a x\nl: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n");
	cJSON *d = yaml_parse_documents(b.p, b.n, err, sizeof err);
	assert_null(d);
	assert_string_equal(err, "yaml: document contains excessive aliasing");
	free(b.p);

	/* few aliases of a large anchor: bounded by expanded nodes */
	b = (struct sbuf){0};
	sb_add(&b, "big: &big [");
	sb_repeat(&b, "1,", 2000);
	sb_add(&b, "1]\ncopies:\n");
	sb_repeat(&b, "- *big\n", 60);
	d = yaml_parse_documents(b.p, b.n, err, sizeof err);
	assert_null(d);
	assert_string_equal(err, "yaml: document contains excessive aliasing");
	free(b.p);

	/* few aliases of a large string: bounded by copied bytes (a 1 MiB
	 * string 3 times fits in YAML_MAX_ALIAS_BYTES, 4 times does not) */
	for (int n = 3; n <= 4; n++) {
		b = (struct sbuf){0};
		sb_add(&b, "s: &s ");
		char *big = malloc((1u << 20) + 1);
		assert_non_null(big);
		memset(big, 'x', 1u << 20);
		big[1u << 20] = '\0';
		sb_add(&b, big);
		free(big);
		sb_add(&b, "\nl:\n");
		sb_repeat(&b, "- *s\n", n);
		d = yaml_parse_documents(b.p, b.n, err, sizeof err);
		if (n == 3) {
			assert_non_null(d);
			assert_int_equal(cJSON_GetArraySize(json_get(cJSON_GetArrayItem(d, 0), "l")), 3);
		} else {
			assert_null(d);
			assert_string_equal(err, "yaml: document contains excessive aliasing");
		}
		cJSON_Delete(d);
		free(b.p);
	}
}

static void test_size_limits(void **state)
{
	(void)state;
	char err[128] = "";
	/* more than YAML_MAX_NODES nodes */
	struct sbuf b = {0};
	sb_add(&b, "[");
	sb_repeat(&b, "1,", YAML_MAX_NODES);
	sb_add(&b, "1]");
	cJSON *d = yaml_parse_documents(b.p, b.n, err, sizeof err);
	assert_null(d);
	assert_string_equal(err, "yaml: document too large (more than 1000000 nodes)");
	free(b.p);

	/* input over 16 MiB is refused before parsing */
	char *big = calloc(1, (size_t)YAML_MAX_INPUT + 1);
	assert_non_null(big);
	d = yaml_parse_documents(big, (size_t)YAML_MAX_INPUT + 1, err, sizeof err);
	assert_null(d);
	assert_string_equal(err, "yaml: input larger than 16777216 bytes");
	free(big);

	/* many repeated keys in one mapping stay linear (hash set) */
	b = (struct sbuf){0};
	sb_add(&b, "{");
	for (int i = 0; i < 50000; i++) {
		char kv[48];
		snprintf(kv, sizeof kv, "k%d: %d,", i % 500, i);
		sb_add(&b, kv);
	}
	sb_add(&b, "k0: last}");
	d = yaml_parse_documents(b.p, b.n, err, sizeof err);
	assert_non_null(d);
	const cJSON *m = cJSON_GetArrayItem(d, 0);
	assert_int_equal(cJSON_GetArraySize(m), 500);
	assert_string_equal(json_get_str(m, "k0"), "last");
	assert_int_equal((int)json_get_num(m, "k499", -1), 49999);
	assert_int_equal((int)json_get_num(m, "k1", -1), 49501);
	cJSON_Delete(d);
	free(b.p);
}

static void test_parse_one(void **state)
{
	(void)state;
	static const struct {
		const char *in, *json, *err;
	} ocases[] = {
		{"a: 1\n", "{\"a\":1}", NULL},
		{"---\n---\nb: [x]\n---\n", "{\"b\":[\"x\"]}", NULL},
		{"", NULL, "yaml: expected exactly one document, found 0"},
		{"# only a comment\n", NULL, "yaml: expected exactly one document, found 0"},
		{"a: 1\n---\nb: 2\n", NULL, "yaml: expected exactly one document, found 2"},
		{"a: b: c\n", NULL, "yaml: line 1, column 5: mapping values are not allowed in this context"},
	};
	for (size_t i = 0; i < sizeof ocases / sizeof ocases[0]; i++) {
		char err[128] = "";
		cJSON *j = yaml_parse_one(ocases[i].in, strlen(ocases[i].in), err, sizeof err);
		if (ocases[i].json) {
			assert_non_null(j);
			assert_json(j, ocases[i].json);
		} else {
			assert_null(j);
			assert_string_equal(err, ocases[i].err);
		}
		cJSON_Delete(j);
	}
}

/* Truncated and mutated inputs never crash and always give a result or a
 * message (run under ASan/valgrind to make this meaningful). */
static void test_prefixes_and_mutations(void **state)
{
	(void)state;
	char err[256];
	char path[512];
	snprintf(path, sizeof path, "%s/seed/sleep.yaml", data_dir());
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	assert_true(n > 0 && n < sizeof buf);
	static const char junk[] = {'\0', '\t', '\xff', ':', '[', '{', '&', '*', '!', '"', '\'', '|', '-', '\n', '#'};
	for (size_t len = 0; len <= n; len++) {
		err[0] = '\0';
		cJSON *d = yaml_parse_documents(buf, len, err, sizeof err);
		assert_true(d != NULL || err[0] != '\0');
		cJSON_Delete(d);
	}
	for (size_t pos = 0; pos < n; pos += 7) {
		for (size_t k = 0; k < sizeof junk; k++) {
			char m[4096];
			memcpy(m, buf, n);
			m[pos] = junk[k];
			err[0] = '\0';
			cJSON *d = yaml_parse_documents(m, n, err, sizeof err);
			assert_true(d != NULL || err[0] != '\0');
			cJSON_Delete(d);
		}
	}
}

/* JSON to YAML as sigs.k8s.io/yaml writes it, and back to the same tree. */
static void test_emit(void **state)
{
	(void)state;
	char err[256];
	cJSON *doc = cJSON_Parse("{\"zeta\":1,\"alpha\":{\"b\":[1,2.5,\"x\"],\"a\":true},\"empty\":{},\"none\":[],"
				 "\"n\":null,\"s1\":\"true\",\"s2\":\"42\",\"s3\":\"\",\"s4\":\"a: b\",\"multi\":\"l1\\nl2\\n\","
				 "\"yes\":\"no\",\"big\":12345678901234,\"f\":0.1}");
	assert_non_null(doc);
	char *y = yaml_emit(doc, err, sizeof err);
	assert_non_null(y);
	/* keys sorted, indentless sequences, quoting only where needed */
	assert_string_equal(y, "alpha:\n  a: true\n  b:\n  - 1\n  - 2.5\n  - x\nbig: 12345678901234\nempty: {}\nf: 0.1\n"
			       "multi: |\n  l1\n  l2\n\"n\": null\nnone: []\ns1: \"true\"\ns2: \"42\"\ns3: \"\"\ns4: 'a: b'\n"
			       "\"yes\": \"no\"\nzeta: 1\n");
	cJSON *back = yaml_parse_one(y, strlen(y), err, sizeof err);
	assert_non_null(back);
	assert_true(json_equal(back, doc));
	cJSON_Delete(back);
	free(y);
	cJSON_Delete(doc);
	/* too deep */
	cJSON *deep = cJSON_CreateArray(), *cur = deep;
	for (int i = 0; i < JSON_MAX_DEPTH + 5; i++) {
		cJSON *n = cJSON_CreateArray();
		cJSON_AddItemToArray(cur, n);
		cur = n;
	}
	assert_null(yaml_emit(deep, err, sizeof err));
	cJSON_Delete(deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_length_bounded),
		cmocka_unit_test(test_seed_manifests),
		cmocka_unit_test(test_data_files),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_alias_limits),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_parse_one),
		cmocka_unit_test(test_emit),
		cmocka_unit_test(test_prefixes_and_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
