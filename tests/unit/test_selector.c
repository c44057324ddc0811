#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

static cJSON *js(const char *s)
{
	if (!s)
		return NULL;
	cJSON *j = cJSON_Parse(s);
	if (!j)
		print_error("bad test JSON: %s\n", s);
	assert_non_null(j);
	return j;
}

/* ---- label selectors, string form ---- */

static const struct {
	const char *sel;
	const char *labels; /* JSON object, or NULL for no labels */
	bool want;
} label_cases[] = {
	{"", "{\"a\":\"b\"}", true},
	{"", NULL, true},
	{"   ", "{}", true},
	{"a=b", "{\"a\":\"b\"}", true},
	{"a=b", "{\"a\":\"c\"}", false},
	{"a=b", "{}", false},
	{"a=b", NULL, false},
	{"a==b", "{\"a\":\"b\"}", true},
	{"a!=b", "{}", true},
	{"a!=b", "{\"a\":\"b\"}", false},
	{"a!=b", "{\"a\":\"c\"}", true},
	{"a in (x,y)", "{\"a\":\"y\"}", true},
	{"a in (x,y)", "{\"a\":\"z\"}", false},
	{"a in (x,y)", "{}", false},
	{"a notin (x,y)", "{}", true},
	{"a notin (x,y)", "{\"a\":\"x\"}", false},
	{"a notin (x,y)", "{\"a\":\"z\"}", true},
	{"a", "{\"a\":\"\"}", true},
	{"a", "{\"b\":\"a\"}", false},
	{"!a", "{\"b\":\"a\"}", true},
	{"!a", "{\"a\":\"x\"}", false},
	{"a=", "{\"a\":\"\"}", true},
	{"a=", "{}", false},
	{"a in (,x)", "{\"a\":\"\"}", true},
	{"a in (in, notin)", "{\"a\":\"notin\"}", true},
	{"a>5", "{\"a\":\"10\"}", true},
	{"a>5", "{\"a\":\"5\"}", false},
	{"a>5", "{\"a\":\"x\"}", false},
	{"a>5", "{}", false},
	{"a<5", "{\"a\":\"-3\"}", true},
	{"a<5", "{\"a\":\"7\"}", false},
	/* the full grammar at once */
	{"a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j",
	 "{\"a\":\"b\",\"c\":\"x\",\"e\":\"y\",\"f\":\"q\",\"g\":\"\",\"i\":\"j\"}", true},
	{"a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j",
	 "{\"a\":\"b\",\"c\":\"d\",\"e\":\"y\",\"f\":\"q\",\"g\":\"\",\"i\":\"j\"}", false},
	{"a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j",
	 "{\"a\":\"b\",\"e\":\"y\",\"f\":\"z\",\"g\":\"\",\"i\":\"j\"}", false},
	{"a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j", "{\"a\":\"b\",\"e\":\"x\",\"i\":\"j\"}", false},
	{"a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j",
	 "{\"a\":\"b\",\"e\":\"x\",\"g\":\"1\",\"h\":\"1\",\"i\":\"j\"}", false},
	{"a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j", "{\"a\":\"b\",\"e\":\"x\",\"g\":\"1\",\"i\":\"j\"}", true},
	{"  a = b ,  c in ( x , y ) , ! d ", "{\"a\":\"b\",\"c\":\"x\"}", true},
	{"app.kubernetes.io/name=hello", "{\"app.kubernetes.io/name\":\"hello\"}", true},
	{"kubernetes.io/service-name=hello", "{\"kubernetes.io/service-name\":\"hello\"}", true},
	{"kubernetes.io/service-name=hello", "{\"kubernetes.io/service-name\":\"other\"}", false},
	/* non-string label values compare by their string form */
	{"a=1", "{\"a\":1}", true},
	{"a=true", "{\"a\":true}", true},
	{"a", "{\"a\":null}", false},
	{"a", "{\"a\":{}}", false},
	{"a=b", "[\"a\"]", false},
};

static void test_label_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof label_cases / sizeof label_cases[0]; i++) {
		char err[256] = "";
		struct label_selector *s = label_selector_parse(label_cases[i].sel, err, sizeof err);
		if (!s)
			print_error("selector \"%s\": %s\n", label_cases[i].sel, err);
		assert_non_null(s);
		cJSON *labels = js(label_cases[i].labels);
		bool got = label_selector_matches(s, labels);
		if (got != label_cases[i].want)
			print_error("selector \"%s\" on %s: got %d\n", label_cases[i].sel,
				    label_cases[i].labels ? label_cases[i].labels : "NULL", got);
		assert_int_equal(got, label_cases[i].want);
		cJSON_Delete(labels);
		label_selector_free(s);
	}
}

static void test_label_empty(void **state)
{
	(void)state;
	char err[128];
	struct label_selector *s = label_selector_parse("", err, sizeof err);
	assert_true(label_selector_empty(s));
	label_selector_free(s);
	s = label_selector_parse(" \t ", err, sizeof err);
	assert_true(label_selector_empty(s));
	label_selector_free(s);
	s = label_selector_parse(NULL, err, sizeof err);
	assert_true(label_selector_empty(s));
	label_selector_free(s);
	s = label_selector_parse("a", err, sizeof err);
	assert_false(label_selector_empty(s));
	label_selector_free(s);
	assert_true(label_selector_empty(NULL));
	assert_true(label_selector_matches(NULL, NULL));
	label_selector_free(NULL);
}

static const struct {
	const char *sel;
	const char *err;
} label_errors[] = {
	{"a=b,", "found 'end of string', expected: identifier after ','"},
	{",a", "found ',', expected: !, identifier, or 'end of string'"},
	{"a=b c", "found 'c', expected: ',' or 'end of string'"},
	{"!a=b", "found '=', expected: ',' or 'end of string'"},
	{"a==b==c", "found '==', expected: ',' or 'end of string'"},
	{"in=x", "found 'in', expected: !, identifier, or 'end of string'"},
	{"a in ()", "unable to parse requirement: values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"},
	{"a in (x", "unable to parse requirement: found 'end of string', expected: ',' or ')'"},
	{"a in x", "unable to parse requirement: found 'x' expected: '('"},
	{"a=(", "unable to parse requirement: found '(', expected: identifier"},
	{"a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"},
	{"a!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"},
	{"A/b=c", "unable to parse requirement: key: Invalid value: \"A/b\": prefix part a lowercase RFC 1123 subdomain "
		  "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
		  "alphanumeric character"},
	{"a..b/c", "unable to parse requirement: key: Invalid value: \"a..b/c\": prefix part a lowercase RFC 1123 "
		   "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
		   "with an alphanumeric character"},
	{"a/b/c", "unable to parse requirement: key: Invalid value: \"a/b/c\": a qualified name must consist of an "
		  "optional DNS subdomain prefix and a name, separated by '/'"},
	{"/a", "unable to parse requirement: key: Invalid value: \"/a\": prefix part must be non-empty"},
	{"a/", "unable to parse requirement: key: Invalid value: \"a/\": name part must be non-empty"},
	{"a_", "unable to parse requirement: key: Invalid value: \"a_\": name part must consist of alphanumeric "
	       "characters, '-', '_' or '.', and must start and end with an alphanumeric character"},
	{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 "unable to parse requirement: key: Invalid value: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": "
	 "name part must be no more than 63 characters"},
	{"a=-b", "unable to parse requirement: values: Invalid value: \"-b\": a valid label must be an empty string or "
		 "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"},
	{"x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 "unable to parse requirement: values: Invalid value: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": "
	 "must be no more than 63 characters"},
	{"a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"},
	{"a<", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer"},
	{"a>99999999999999999999", "unable to parse requirement: values[0]: Invalid value: \"99999999999999999999\": "
				   "for 'Gt', 'Lt' operators, the value must be an integer"},
};

static void test_label_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof label_errors / sizeof label_errors[0]; i++) {
		char err[512] = "";
		struct label_selector *s = label_selector_parse(label_errors[i].sel, err, sizeof err);
		if (s)
			print_error("selector \"%s\" parsed\n", label_errors[i].sel);
		assert_null(s);
		assert_string_equal(err, label_errors[i].err);
	}
	/* a tiny or absent error buffer is safe */
	char tiny[4];
	assert_null(label_selector_parse("a in ()", tiny, sizeof tiny));
	assert_string_equal(tiny, "una");
	assert_null(label_selector_parse("a in ()", NULL, 0));
}

static void test_label_bounds(void **state)
{
	(void)state;
	char err[256];
	/* SELECTOR_MAX_TERMS terms pass, one more fails */
	size_t cap = 16 * (SELECTOR_MAX_TERMS + 2);
	char *s = malloc(cap);
	assert_non_null(s);
	for (int n = SELECTOR_MAX_TERMS; n <= SELECTOR_MAX_TERMS + 1; n++) {
		size_t o = 0;
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(s + o, cap - o, "%sk%d=v", i ? "," : "", i);
		struct label_selector *sel = label_selector_parse(s, err, sizeof err);
		if (n == SELECTOR_MAX_TERMS) {
			assert_non_null(sel);
			label_selector_free(sel);
		} else {
			assert_null(sel);
			assert_string_equal(err, "too many requirements (limit 256)");
		}
	}
	/* values per set */
	size_t o = (size_t)snprintf(s, cap, "a in (");
	for (int i = 0; i <= SELECTOR_MAX_VALUES; i++)
		o += (size_t)snprintf(s + o, cap - o, "%sv%d", i ? "," : "", i);
	snprintf(s + o, cap - o, ")");
	assert_null(label_selector_parse(s, err, sizeof err));
	assert_string_equal(err, "unable to parse requirement: too many values (limit 256)");
	free(s);
	/* total length */
	s = malloc(SELECTOR_MAX_LEN + 2);
	assert_non_null(s);
	memset(s, 'a', SELECTOR_MAX_LEN + 1);
	s[SELECTOR_MAX_LEN + 1] = '\0';
	assert_null(label_selector_parse(s, err, sizeof err));
	assert_string_equal(err, "selector longer than 65536 bytes");
	assert_null(field_selector_parse(s, err, sizeof err));
	assert_string_equal(err, "selector longer than 65536 bytes");
	free(s);
}

/* ---- label selectors, structured form ---- */

static const struct {
	const char *sel;    /* JSON or NULL */
	const char *labels; /* JSON object or NULL */
	bool want;
} json_cases[] = {
	{NULL, "{\"a\":\"b\"}", true},
	{"null", NULL, true},
	{"{}", "{\"a\":\"b\"}", true},
	{"{\"matchLabels\":{\"app\":\"hello\"}}", "{\"app\":\"hello\",\"x\":\"y\"}", true},
	{"{\"matchLabels\":{\"app\":\"hello\"}}", "{\"app\":\"other\"}", false},
	{"{\"matchLabels\":{\"app\":\"hello\"}}", NULL, false},
	{"{\"matchLabels\":{\"app\":\"hello\",\"tier\":\"web\"}}", "{\"app\":\"hello\"}", false},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\",\"stage\"]}]}",
	 "{\"env\":\"stage\"}", true},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\"]}]}", "{\"env\":\"dev\"}", false},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"prod\"]}]}", "{}", true},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"prod\"]}]}", "{\"env\":\"prod\"}",
	 false},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"Exists\"}]}", "{\"env\":\"\"}", true},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"Exists\",\"values\":[]}]}", "{}", false},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"DoesNotExist\"}]}", "{}", true},
	{"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"DoesNotExist\"}]}", "{\"env\":\"x\"}", false},
	{"{\"matchLabels\":{\"app\":\"hello\"},\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"Exists\"}]}",
	 "{\"app\":\"hello\",\"env\":\"x\"}", true},
	{"{\"matchLabels\":{\"app\":\"hello\"},\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"Exists\"}]}",
	 "{\"app\":\"hello\"}", false},
	{"{\"matchLabels\":null,\"matchExpressions\":null}", "{}", true},
};

static void test_label_from_json(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
		char err[256] = "";
		cJSON *sj = js(json_cases[i].sel);
		struct label_selector *s = label_selector_from_json(sj, err, sizeof err);
		if (!s)
			print_error("selector %s: %s\n", json_cases[i].sel ? json_cases[i].sel : "NULL", err);
		assert_non_null(s);
		cJSON *labels = js(json_cases[i].labels);
		bool got = label_selector_matches(s, labels);
		if (got != json_cases[i].want)
			print_error("selector %s on %s: got %d\n", json_cases[i].sel ? json_cases[i].sel : "NULL",
				    json_cases[i].labels ? json_cases[i].labels : "NULL", got);
		assert_int_equal(got, json_cases[i].want);
		/* only the cases without any key or label are empty */
		const char *sj_s = json_cases[i].sel;
		bool empty = !sj_s || (!strstr(sj_s, "\"key\"") && !strstr(sj_s, "\"app\""));
		assert_int_equal(label_selector_empty(s), empty);
		cJSON_Delete(labels);
		cJSON_Delete(sj);
		label_selector_free(s);
	}
}

static const struct {
	const char *sel;
	const char *err;
} json_errors[] = {
	{"[]", "label selector must be an object"},
	{"{\"matchLabels\":[]}", "matchLabels: must be an object"},
	{"{\"matchLabels\":{\"a\":1}}", "matchLabels: value of \"a\" must be a string"},
	{"{\"matchLabels\":{\"a b\":\"c\"}}",
	 "matchLabels: key: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', "
	 "and must start and end with an alphanumeric character"},
	{"{\"matchLabels\":{\"a\":\"b c\"}}",
	 "matchLabels: values: Invalid value: \"b c\": a valid label must be an empty string or consist of alphanumeric "
	 "characters, '-', '_' or '.', and must start and end with an alphanumeric character"},
	{"{\"matchExpressions\":{}}", "matchExpressions: must be a list"},
	{"{\"matchExpressions\":[1]}", "matchExpressions[0]: key and operator must be strings"},
	{"{\"matchExpressions\":[{\"key\":\"a\"}]}", "matchExpressions[0]: key and operator must be strings"},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}",
	 "matchExpressions[1].operator: \"Gt\" is not a valid label selector operator"},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"in\",\"values\":[\"1\"]}]}",
	 "matchExpressions[0].operator: \"in\" is not a valid label selector operator"},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
	 "matchExpressions[0]: values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"x\"}]}",
	 "matchExpressions[0].values: must be a list of strings"},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]}",
	 "matchExpressions[0].values: must be a list of strings"},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
	 "matchExpressions[0]: values: Invalid value: values set must be empty for exists and does not exist"},
};

static void test_label_from_json_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof json_errors / sizeof json_errors[0]; i++) {
		char err[512] = "";
		cJSON *sj = js(json_errors[i].sel);
		struct label_selector *s = label_selector_from_json(sj, err, sizeof err);
		if (s)
			print_error("selector %s parsed\n", json_errors[i].sel);
		assert_null(s);
		assert_string_equal(err, json_errors[i].err);
		cJSON_Delete(sj);
	}
}

/* ---- field selectors ---- */

static const char event_json[] =
	"{\"metadata\":{\"name\":\"ev1\",\"namespace\":\"default\"},"
	"\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"hello\",\"namespace\":\"default\",\"uid\":\"u-1\"},"
	"\"type\":\"Normal\",\"reason\":\"a,b=c\",\"count\":3,\"note\":null,"
	"\"spec\":{\"unschedulable\":false,\"ratio\":2.5,\"big\":1e20}}";

static const struct {
	const char *sel;
	bool want;
} field_cases[] = {
	{"", true},
	{"metadata.name=ev1", true},
	{"metadata.name==ev1", true},
	{"metadata.name=x", false},
	{"metadata.name!=x", true},
	{"metadata.name!=ev1", false},
	{" metadata.name = ev1 ", true},
	/* kubectl describe, terms in any order */
	{"involvedObject.uid=u-1,involvedObject.name=hello,involvedObject.kind=Deployment,involvedObject.namespace=default",
	 true},
	{"involvedObject.name=hello,involvedObject.namespace=default,involvedObject.kind=Deployment,involvedObject.uid=u-2",
	 false},
	{"metadata.name=ev1,,metadata.namespace=default,", true},
	{"spec.nodeName=", true},
	{"spec.nodeName!=", false},
	{"spec.nodeName=node1", false},
	{"spec.nodeName!=node1", true},
	{"note=", true},
	{"count=3", true},
	{"spec.unschedulable=false", true},
	{"spec.ratio=2.5", true},
	{"spec.big=100000000000000000000", false},
	{"spec.big=1e+20", true},
	{"type=Normal,type!=Warning", true},
	{"metadata=x", false},
	{"metadata!=x", true},
	{"metadata=", false},
	{"reason=a\\,b\\=c", true},
	{"reason!=a\\,b\\=c", false},
	{"a\\=b=", true}, /* the key is "a\=b": absent */
};

static void test_field_match(void **state)
{
	(void)state;
	cJSON *obj = js(event_json);
	for (size_t i = 0; i < sizeof field_cases / sizeof field_cases[0]; i++) {
		char err[256] = "";
		struct field_selector *s = field_selector_parse(field_cases[i].sel, err, sizeof err);
		if (!s)
			print_error("selector \"%s\": %s\n", field_cases[i].sel, err);
		assert_non_null(s);
		bool got = field_selector_matches(s, obj);
		if (got != field_cases[i].want)
			print_error("selector \"%s\": got %d\n", field_cases[i].sel, got);
		assert_int_equal(got, field_cases[i].want);
		field_selector_free(s);
	}
	cJSON_Delete(obj);

	/* NULL object: every field is missing */
	char err[64];
	struct field_selector *s = field_selector_parse("metadata.name=", err, sizeof err);
	assert_true(field_selector_matches(s, NULL));
	field_selector_free(s);
	s = field_selector_parse("metadata.name=x", err, sizeof err);
	assert_false(field_selector_matches(s, NULL));
	field_selector_free(s);
	assert_true(field_selector_matches(NULL, NULL));
	field_selector_free(NULL);
}

static const struct {
	const char *sel;
	const char *err;
} field_errors[] = {
	{"metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"},
	{"a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"},
	{"=x", "invalid selector: '=x'; field name is empty"},
	{"a=b=c", "invalid field selector: unescaped character: ="},
	{"a==b==c", "invalid field selector: unescaped character: ="},
	{"a=\\x", "invalid field selector: invalid escape sequence: \\x"},
	{"a=b\\", "invalid field selector: invalid escape sequence: \\"},
};

static void test_field_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof field_errors / sizeof field_errors[0]; i++) {
		char err[256] = "";
		struct field_selector *s = field_selector_parse(field_errors[i].sel, err, sizeof err);
		if (s)
			print_error("selector \"%s\" parsed\n", field_errors[i].sel);
		assert_null(s);
		assert_string_equal(err, field_errors[i].err);
	}
	/* SELECTOR_MAX_TERMS terms pass, one more fails */
	size_t cap = 24 * (SELECTOR_MAX_TERMS + 2);
	char *s = malloc(cap);
	assert_non_null(s);
	for (int n = SELECTOR_MAX_TERMS; n <= SELECTOR_MAX_TERMS + 1; n++) {
		size_t o = 0;
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(s + o, cap - o, "%sf%d=v", i ? "," : "", i);
		char err[128] = "";
		struct field_selector *fs = field_selector_parse(s, err, sizeof err);
		if (n == SELECTOR_MAX_TERMS) {
			assert_non_null(fs);
			field_selector_free(fs);
		} else {
			assert_null(fs);
			assert_string_equal(err, "too many field selector terms (limit 256)");
		}
	}
	free(s);
}

static const struct {
	const char *sel;
	const char *name; /* NULL: not a pure name lookup */
} name_cases[] = {
	{"metadata.name=hello", "hello"},
	{"metadata.name==hello", "hello"},
	{"metadata.name=hello,metadata.name=hello", "hello"},
	{"metadata.name=a\\,b", "a,b"},
	{"metadata.name=hello,metadata.namespace=default", NULL},
	{"metadata.name=a,metadata.name=b", NULL},
	{"metadata.name!=hello", NULL},
	{"metadata.namespace=hello", NULL},
	{"", NULL},
};

static void test_field_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
		char err[128] = "";
		struct field_selector *s = field_selector_parse(name_cases[i].sel, err, sizeof err);
		assert_non_null(s);
		const char *got = field_selector_name(s);
		if (name_cases[i].name) {
			assert_non_null(got);
			assert_string_equal(got, name_cases[i].name);
		} else {
			assert_null(got);
		}
		field_selector_free(s);
	}
	assert_null(field_selector_name(NULL));
}

/* ---- node-selector requirements ---- */

static const char *lookup_obj(const char *key, void *ud)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)ud, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const struct {
	const char *exprs; /* JSON or NULL */
	bool want;
} node_cases[] = {
	{NULL, true},
	{"[]", true},
	{"[{\"key\":\"provider\",\"operator\":\"In\",\"values\":[\"aws\",\"gcp\"]}]", true},
	{"[{\"key\":\"provider\",\"operator\":\"In\",\"values\":[\"gcp\"]}]", false},
	{"[{\"key\":\"provider\",\"operator\":\"NotIn\",\"values\":[\"gcp\"]}]", true},
	{"[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"z\"]}]", true},
	{"[{\"key\":\"region\",\"operator\":\"Exists\"}]", true},
	{"[{\"key\":\"zone\",\"operator\":\"Exists\"}]", false},
	{"[{\"key\":\"zone\",\"operator\":\"DoesNotExist\"}]", true},
	{"[{\"key\":\"cpus\",\"operator\":\"Gt\",\"values\":[\"4\"]}]", true},
	{"[{\"key\":\"cpus\",\"operator\":\"Gt\",\"values\":[\"8\"]}]", false},
	{"[{\"key\":\"cpus\",\"operator\":\"Lt\",\"values\":[\"9\"]}]", true},
	{"[{\"key\":\"zone\",\"operator\":\"Gt\",\"values\":[\"1\"]}]", false},
	{"[{\"key\":\"region\",\"operator\":\"Lt\",\"values\":[\"1\"]}]", false},
	{"[{\"key\":\"provider\",\"operator\":\"In\",\"values\":[\"aws\"]},"
	 "{\"key\":\"region\",\"operator\":\"In\",\"values\":[\"eu-west-1\"]}]", true},
	{"[{\"key\":\"provider\",\"operator\":\"In\",\"values\":[\"aws\"]},"
	 "{\"key\":\"region\",\"operator\":\"NotIn\",\"values\":[\"eu-west-1\"]}]", false},
	/* invalid requirements make the whole set false */
	{"[{\"key\":\"region\",\"operator\":\"Exists\"},{\"key\":\"provider\",\"operator\":\"Like\",\"values\":[\"aws\"]}]",
	 false},
	{"[{\"key\":\"provider\",\"operator\":\"In\"}]", false},
	{"[{\"key\":\"provider\",\"operator\":\"NotIn\",\"values\":[]}]", false},
	{"[{\"key\":\"cpus\",\"operator\":\"Gt\",\"values\":[\"1\",\"2\"]}]", false},
	{"[{\"key\":\"cpus\",\"operator\":\"Gt\",\"values\":[\"x\"]}]", false},
	{"[{\"key\":\"region\",\"operator\":\"Exists\",\"values\":[\"x\"]}]", false},
	{"[{\"key\":\"bad key\",\"operator\":\"DoesNotExist\"}]", false},
	{"[1]", false},
	{"{}", false},
};

static void test_node_requirements(void **state)
{
	(void)state;
	cJSON *fields = js("{\"provider\":\"aws\",\"region\":\"eu-west-1\",\"cpus\":\"8\"}");
	for (size_t i = 0; i < sizeof node_cases / sizeof node_cases[0]; i++) {
		cJSON *e = js(node_cases[i].exprs);
		bool got = node_selector_requirements_match(e, lookup_obj, fields);
		if (got != node_cases[i].want)
			print_error("exprs %s: got %d\n", node_cases[i].exprs ? node_cases[i].exprs : "NULL", got);
		assert_int_equal(got, node_cases[i].want);
		cJSON_Delete(e);
	}
	cJSON_Delete(fields);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_match),
		cmocka_unit_test(test_label_empty),
		cmocka_unit_test(test_label_errors),
		cmocka_unit_test(test_label_bounds),
		cmocka_unit_test(test_label_from_json),
		cmocka_unit_test(test_label_from_json_errors),
		cmocka_unit_test(test_field_match),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_field_name),
		cmocka_unit_test(test_node_requirements),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
