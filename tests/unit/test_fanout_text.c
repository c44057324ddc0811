/* The fan-out's text paths (issue 15): jsonspan (a member's value found
 * in a stored object's text) and workevents (a WorkEvents answer written
 * around stored texts), each checked against what cJSON makes of it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <event2/buffer.h>

#include "jsonspan.h"
#include "jsonutil.h"
#include "protocol.h"
#include "workevents.h"

static char *span_of(const char *text, const char *name, int *rc)
{
	const char *v = NULL;
	size_t n = 0;
	*rc = jsonspan_member(text, strlen(text), name, &v, &n);
	if (*rc != 1)
		return NULL;
	char *s = malloc(n + 1);
	memcpy(s, v, n);
	s[n] = '\0';
	return s;
}

/* Every top-level member of a printed object is found, its span parses to
 * the member's value; nested look-alikes are not taken for it. */
static void test_span_members(void **state)
{
	const char *text = "{\"apiVersion\":\"v1\",\"metadata\":{\"spec\":\"not me\",\"labels\":{\"a\":\"}{\"}},"
			   "\"n\":-1.5e3,\"t\":true,\"z\":null,\"arr\":[1,{\"spec\":[]},\"]\\\"\"],"
			   "\"spec\":{\"x\":\"a\\\"b\",\"y\":[{},[]]},\"status\":{}}";
	cJSON *o = cJSON_Parse(text);
	assert_non_null(o);
	const cJSON *m;
	cJSON_ArrayForEach(m, o) {
		int rc;
		char *s = span_of(text, m->string, &rc);
		assert_int_equal(rc, 1);
		cJSON *v = cJSON_Parse(s);
		assert_non_null(v);
		assert_true(json_equal(v, m));
		cJSON_Delete(v);
		free(s);
	}
	int rc;
	char *s = span_of(text, "spec", &rc);
	assert_string_equal(s, "{\"x\":\"a\\\"b\",\"y\":[{},[]]}");
	free(s);
	assert_null(span_of(text, "labels", &rc)); /* only in metadata */
	assert_int_equal(rc, 0);
	assert_null(span_of("{}", "spec", &rc));
	assert_int_equal(rc, 0);
	/* spaces as a pretty printer leaves them */
	s = span_of(" { \"a\" : 1 , \"spec\" : { \"b\" : 2 } } ", "spec", &rc);
	assert_string_equal(s, "{ \"b\" : 2 }");
	free(s);
	cJSON_Delete(o);
}

/* What it cannot tell it says so (-1), never a wrong span. */
static void test_span_cannot_tell(void **state)
{
	int rc;
	static const char *const bad[] = {"", "[1,2]", "\"spec\"", "{\"spec\":", "{\"spec\":{\"a\":1}", "{\"a\":1 \"spec\":2}",
					  "{\"sp\\u0065c\":1}", "{\"a\":\"unterminated}", "{spec:1}", NULL};
	for (int i = 0; bad[i]; i++) {
		assert_null(span_of(bad[i], "spec", &rc));
		assert_int_equal(rc, -1);
	}
	assert_int_equal(jsonspan_member(NULL, 0, "spec", NULL, NULL), -1);
}

static void test_span_same(void **state)
{
	const char *a = "{\"metadata\":{\"resourceVersion\":\"5\"},\"spec\":{\"m\":[1]},\"status\":{\"c\":1}}";
	const char *b = "{\"metadata\":{\"resourceVersion\":\"6\"},\"spec\":{\"m\":[1]},\"status\":{\"c\":2}}";
	const char *c = "{\"metadata\":{\"resourceVersion\":\"7\"},\"spec\":{\"m\":[2]}}";
	assert_int_equal(jsonspan_same(a, b, "spec"), 1);
	assert_int_equal(jsonspan_same(a, b, "status"), 0);
	assert_int_equal(jsonspan_same(b, c, "spec"), 0);
	assert_int_equal(jsonspan_same(b, c, "status"), 0); /* present, then gone */
	assert_int_equal(jsonspan_same(NULL, c, "status"), 1); /* no object before, none now */
	assert_int_equal(jsonspan_same(NULL, a, "status"), 0);
	assert_int_equal(jsonspan_same(c, c, "other"), 1);
	assert_int_equal(jsonspan_same("[]", c, "spec"), -1);
}

/* The text answer is the answer proto_work_events_new/add would print,
 * and the agent's parser reads it back. */
/* Several members in one pass: the same spans as one jsonspan_member each. */
static void test_span_members_at_once(void **state)
{
	(void)state;
	const char *t = "{\"a\":1,\"spec\":{\"x\":[1,{\"y\":\"}\"}]},\"status\":{\"s\":true},\"spec\":2}";
	static const char *const names[] = {"status", "spec", "none"};
	const char *v[3];
	size_t n[3];
	assert_int_equal(jsonspan_members(t, strlen(t), names, 3, v, n), 0);
	for (int i = 0; i < 3; i++) {
		const char *w = NULL;
		size_t wn = 0;
		int rc = jsonspan_member(t, strlen(t), names[i], &w, &wn);
		assert_int_equal(rc, v[i] ? 1 : 0);
		assert_ptr_equal(v[i], rc == 1 ? w : NULL);
		assert_int_equal(n[i], rc == 1 ? wn : 0);
	}
	assert_int_equal(n[1], strlen("{\"x\":[1,{\"y\":\"}\"}]}"));
	assert_int_equal(jsonspan_members("{\"a\":1,", 7, names, 3, v, n), -1); /* cut short */
	assert_int_equal(jsonspan_members("[1]", 3, names, 3, v, n), -1);
}

static void test_workevents_text(void **state)
{
	/* as the store holds them: printed by cJSON */
	static const char *const raw[] = {"{\"kind\":\"Work\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"x\":\"\\u00e9\\n\\\"\"}}",
					  "{\"kind\":\"Work\",\"metadata\":{\"name\":\"b\"}}"};
	char *objs[2];
	for (int i = 0; i < 2; i++) {
		cJSON *o = cJSON_Parse(raw[i]);
		assert_non_null(o);
		objs[i] = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	const char *types[] = {"MODIFIED", "DELETED"};
	for (int n = 0; n <= 2; n++) {
		struct workevent_text ev[2];
		cJSON *want = proto_work_events_new(1234, false, n == 1);
		for (int i = 0; i < n; i++) {
			ev[i] = (struct workevent_text){types[i], objs[i], strlen(objs[i])};
			proto_work_events_add(want, types[i], cJSON_Parse(objs[i]));
		}
		struct evbuffer *b = evbuffer_new();
		workevents_text(b, 1234, false, n == 1, ev, n);
		size_t len = evbuffer_get_length(b);
		char *got = malloc(len + 1);
		evbuffer_remove(b, got, len);
		got[len] = '\0';
		char *printed = cJSON_PrintUnformatted(want);
		assert_string_equal(got, printed); /* byte for byte, member order too */
		cJSON *j = cJSON_Parse(got);
		long long rev;
		bool full, more;
		const cJSON *events;
		char err[256];
		assert_int_equal(proto_work_events_parse(j, &rev, &full, &more, &events, err, sizeof err), 0);
		assert_int_equal(rev, 1234);
		assert_int_equal(cJSON_GetArraySize(events), n);
		assert_true(more == (n == 1));
		cJSON_Delete(j);
		free(printed);
		free(got);
		evbuffer_free(b);
		cJSON_Delete(want);
	}
	free(objs[0]);
	free(objs[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_span_members),
		cmocka_unit_test(test_span_cannot_tell),
		cmocka_unit_test(test_span_same),
		cmocka_unit_test(test_span_members_at_once),
		cmocka_unit_test(test_workevents_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
