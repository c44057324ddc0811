/* etcd_grpc.c: the etcd store's Txns as etcd's protobuf messages and their
 * gRPC framing, without a server.
 *   - the request's bytes against fixed expected bytes (so the field numbers
 *     of hub/etcd/etcd_rpc.proto are etcd's, not only self-consistent) and
 *     its gateway JSON form;
 *   - answers read by etcd_grpc_read from what libcurl's callbacks collect
 *     (headers, trailers, body): a good TxnResponse, and every malformed or
 *     refused one (compressed flag, length, truncation, garbage, no
 *     grpc-status, HTTP/1, statuses 3/8/14, a non-numeric status);
 *   - the gateway's JSON answer read as the same TxnResponse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_grpc.h"
#include "jsonutil.h"

static void hexdump(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && o + 4 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%02x", i ? " " : "", p[i]);
}

/* The bytes a TxnRequest must have, written out by hand from etcd's
 * rpc.proto field numbers: Compare (result 1, target 2, key 3,
 * create_revision 5, mod_revision 6), RequestOp (request_range 1,
 * request_put 2, request_delete_range 3), PutRequest (key 1, value 2,
 * prev_kv 4), RangeRequest / DeleteRangeRequest (key 1), TxnRequest
 * (compare 1, success 2, failure 3). */
static void test_request_bytes(void **state)
{
	struct etcd_txn t;
	etcd_txn_init(&t);
	etcd_txn_cmp_mod(&t, "k", 7);
	etcd_txn_cmp_absent(&t, "n");
	etcd_txn_write(&t, false, "a", "v", true);
	etcd_txn_write(&t, false, "d", NULL, false);
	etcd_txn_range(&t, true, "r");
	size_t len = 0;
	unsigned char *m = etcd_txn_grpc(&t, &len);
	static const unsigned char want[] = {
	    0x0a, 0x07, 0x10, 0x02, 0x1a, 0x01, 'k', 0x30, 0x07,                         /* MOD k == 7 */
	    0x0a, 0x07, 0x10, 0x01, 0x1a, 0x01, 'n', 0x28, 0x00,                         /* CREATE n == 0 */
	    0x12, 0x0a, 0x12, 0x08, 0x0a, 0x01, 'a', 0x12, 0x01, 'v', 0x20, 0x01,        /* put a=v prev_kv */
	    0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 'd',                                     /* delete d */
	    0x1a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 'r',                                     /* failure: range r */
	};
	assert_non_null(m);
	assert_int_equal(len, 5 + sizeof want);
	assert_int_equal(m[0], 0);
	assert_int_equal(((size_t)m[1] << 24) | ((size_t)m[2] << 16) | ((size_t)m[3] << 8) | m[4], sizeof want);
	char got[512], exp[512];
	hexdump(m + 5, len - 5, got, sizeof got);
	hexdump(want, sizeof want, exp, sizeof exp);
	assert_string_equal(got, exp);
	/* and protobuf-c reads back what was built (values with any bytes) */
	Etcdserverpb__TxnRequest *r = etcdserverpb__txn_request__unpack(NULL, len - 5, m + 5);
	assert_non_null(r);
	assert_int_equal(r->n_compare, 2);
	assert_int_equal(r->n_success, 2);
	assert_int_equal(r->n_failure, 1);
	assert_int_equal(r->compare[0]->mod_revision, 7);
	assert_int_equal(r->success[0]->request_case, ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT);
	assert_true(r->success[0]->request_put->prev_kv);
	etcdserverpb__txn_request__free_unpacked(r, NULL);
	free(m);
	etcd_txn_free(&t);

	/* an empty Txn is a message of 0 bytes */
	etcd_txn_init(&t);
	m = etcd_txn_grpc(&t, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(m, "\0\0\0\0\0", 5);
	free(m);
	etcd_txn_free(&t);
}

/* The gateway's form of the same Txn: base64 keys and values, int64 as strings. */
static void test_request_json(void **state)
{
	struct etcd_txn t = {0}; /* zero-initialised works as well */
	etcd_txn_cmp_mod(&t, "/p/r/a", 12);
	etcd_txn_cmp_absent(&t, "/p/r/b");
	etcd_txn_write(&t, false, "/p/r/a", "{\"x\":1}", false);
	etcd_txn_write(&t, false, "/p/m/last", "", true);
	etcd_txn_write(&t, false, "/p/r/c", NULL, false);
	etcd_txn_range(&t, true, "/p/r/a");
	cJSON *j = etcd_txn_json(&t);
	char *s = json_print(j);
	assert_string_equal(
	    s, "{\"compare\":[{\"key\":\"L3Avci9h\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"12\"},"
	       "{\"key\":\"L3Avci9i\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],"
	       "\"success\":[{\"request_put\":{\"key\":\"L3Avci9h\",\"value\":\"eyJ4IjoxfQ==\"}},"
	       "{\"request_put\":{\"key\":\"L3AvbS9sYXN0\",\"value\":\"\",\"prev_kv\":true}},"
	       "{\"request_delete_range\":{\"key\":\"L3Avci9j\"}}],"
	       "\"failure\":[{\"request_range\":{\"key\":\"L3Avci9h\"}}]}");
	free(s);
	cJSON_Delete(j);
	etcd_txn_free(&t);
}

/* What libcurl's callbacks collect, line by line and body. */
static void feed(struct etcd_grpc_answer *a, const char *const *headers, const unsigned char *body, size_t n)
{
	*a = (struct etcd_grpc_answer){.status = -1};
	for (int i = 0; headers[i]; i++) {
		size_t l = strlen(headers[i]);
		assert_int_equal(etcd_grpc_on_header((char *)headers[i], 1, l, a), l);
	}
	if (n)
		assert_int_equal(etcd_grpc_on_body((char *)body, 1, n, a), n);
}

static const char *const OK_HDRS[] = {"HTTP/2 200\r\n", "content-type: application/grpc\r\n", "\r\n",
				      "grpc-status: 0\r\n", "grpc-message: \r\n", NULL};

/* A packed TxnResponse in a gRPC frame: revision 42, not succeeded, a
 * range answer with one kv and a put answer with prev_kv. */
static unsigned char *sample_answer(size_t *len)
{
	Etcdserverpb__ResponseHeader h = ETCDSERVERPB__RESPONSE_HEADER__INIT;
	h.revision = 42;
	Etcdserverpb__KeyValue kv = ETCDSERVERPB__KEY_VALUE__INIT, pkv = ETCDSERVERPB__KEY_VALUE__INIT;
	kv.key = (ProtobufCBinaryData){3, (uint8_t *)"k\0k"};
	kv.value = (ProtobufCBinaryData){5, (uint8_t *)"hello"};
	kv.mod_revision = 9;
	pkv.value = (ProtobufCBinaryData){2, (uint8_t *)"77"};
	pkv.mod_revision = 8;
	Etcdserverpb__KeyValue *kvs[] = {&kv};
	Etcdserverpb__RangeResponse rr = ETCDSERVERPB__RANGE_RESPONSE__INIT;
	rr.n_kvs = 1;
	rr.kvs = kvs;
	Etcdserverpb__PutResponse pr = ETCDSERVERPB__PUT_RESPONSE__INIT;
	pr.prev_kv = &pkv;
	Etcdserverpb__ResponseOp o1 = ETCDSERVERPB__RESPONSE_OP__INIT, o2 = ETCDSERVERPB__RESPONSE_OP__INIT;
	o1.response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE;
	o1.response_range = &rr;
	o2.response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_PUT;
	o2.response_put = &pr;
	Etcdserverpb__ResponseOp *ops[] = {&o1, &o2};
	Etcdserverpb__TxnResponse r = ETCDSERVERPB__TXN_RESPONSE__INIT;
	r.header = &h;
	r.n_responses = 2;
	r.responses = ops;
	size_t n = etcdserverpb__txn_response__get_packed_size(&r);
	unsigned char *out = malloc(n + 5);
	out[0] = 0;
	out[1] = (unsigned char)(n >> 24);
	out[2] = (unsigned char)(n >> 16);
	out[3] = (unsigned char)(n >> 8);
	out[4] = (unsigned char)n;
	etcdserverpb__txn_response__pack(&r, out + 5);
	*len = n + 5;
	return out;
}

static void test_answer_read(void **state)
{
	size_t n;
	unsigned char *b = sample_answer(&n);
	struct etcd_grpc_answer a;
	feed(&a, OK_HDRS, b, n);
	etcd_txn_resp *r = NULL;
	char err[256];
	assert_int_equal(etcd_grpc_read(&a, true, 200, &r, err, sizeof err), ETCD_GRPC_OK);
	assert_non_null(r);
	assert_false(r->succeeded);
	assert_int_equal(etcd_txn_resp_revision(r), 42);
	const etcd_kv *kv = etcd_txn_resp_range_kv(r, 0);
	assert_non_null(kv);
	assert_int_equal(kv->mod_revision, 9);
	size_t vl;
	char *v = etcd_kv_value(kv, &vl);
	assert_int_equal(vl, 5);
	assert_string_equal(v, "hello");
	free(v);
	assert_null(etcd_txn_resp_range_kv(r, 1)); /* a put, not a range */
	assert_null(etcd_txn_resp_range_kv(r, 2)); /* past the end */
	assert_null(etcd_txn_resp_prev_kv(r, 0));
	assert_int_equal(etcd_txn_resp_prev_kv(r, 1)->mod_revision, 8);
	etcd_txn_resp_free(r);
	etcd_grpc_answer_free(&a);

	/* fixed bytes: header {revision 5}, succeeded */
	static const unsigned char fixed[] = {0, 0, 0, 0, 6, 0x0a, 0x02, 0x18, 0x05, 0x10, 0x01};
	feed(&a, OK_HDRS, fixed, sizeof fixed);
	assert_int_equal(etcd_grpc_read(&a, true, 200, &r, err, sizeof err), ETCD_GRPC_OK);
	assert_true(r->succeeded);
	assert_int_equal(etcd_txn_resp_revision(r), 5);
	etcd_txn_resp_free(r);
	etcd_grpc_answer_free(&a);

	/* the body in pieces, as libcurl may hand it over */
	a = (struct etcd_grpc_answer){.status = -1};
	for (int i = 0; OK_HDRS[i]; i++)
		etcd_grpc_on_header((char *)OK_HDRS[i], 1, strlen(OK_HDRS[i]), &a);
	for (size_t i = 0; i < n; i += 3)
		etcd_grpc_on_body((char *)b + i, 1, n - i < 3 ? n - i : 3, &a);
	assert_int_equal(etcd_grpc_read(&a, true, 200, &r, err, sizeof err), ETCD_GRPC_OK);
	assert_int_equal(etcd_txn_resp_revision(r), 42);
	etcd_txn_resp_free(r);
	etcd_grpc_answer_free(&a);
	free(b);
}

static enum etcd_grpc_result read_one(const char *const *hdrs, const unsigned char *body, size_t n, bool h2,
				      long status, char *err, size_t errlen)
{
	struct etcd_grpc_answer a;
	feed(&a, hdrs, body, n);
	etcd_txn_resp *r = (etcd_txn_resp *)&a; /* must come back NULL on failure */
	enum etcd_grpc_result res = etcd_grpc_read(&a, h2, status, &r, err, errlen);
	if (res != ETCD_GRPC_OK)
		assert_null(r);
	etcd_txn_resp_free(res == ETCD_GRPC_OK ? r : NULL);
	etcd_grpc_answer_free(&a);
	return res;
}

/* Frames that are not one readable uncompressed message are refused. */
static void test_malformed_frames(void **state)
{
	size_t n;
	unsigned char *b = sample_answer(&n);
	char err[256];
	/* compressed flag (none was asked for) */
	b[0] = 1;
	assert_int_equal(read_one(OK_HDRS, b, n, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	assert_non_null(strstr(err, "compressed"));
	b[0] = 0;
	/* truncated: the length says more than there is */
	assert_int_equal(read_one(OK_HDRS, b, n - 1, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	assert_non_null(strstr(err, "exactly one message"));
	/* two messages */
	unsigned char *two = malloc(2 * n);
	memcpy(two, b, n);
	memcpy(two + n, b, n);
	assert_int_equal(read_one(OK_HDRS, two, 2 * n, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	free(two);
	/* shorter than a frame header; no body at all */
	assert_int_equal(read_one(OK_HDRS, b, 3, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	assert_int_equal(read_one(OK_HDRS, b, 0, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	/* garbage inside a well-framed message: a field whose length runs past the end */
	static const unsigned char bad[] = {0, 0, 0, 0, 3, 0x0a, 0x7f, 0x18};
	assert_int_equal(read_one(OK_HDRS, bad, sizeof bad, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	assert_non_null(strstr(err, "unreadable TxnResponse"));
	/* a wrong wire type for a known field (header as a varint) */
	static const unsigned char wt[] = {0, 0, 0, 0, 2, 0x08, 0x01};
	assert_int_equal(read_one(OK_HDRS, wt, sizeof wt, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	/* an unknown field is skipped, as protobuf says */
	static const unsigned char unk[] = {0, 0, 0, 0, 4, 0x78, 0x05, 0x10, 0x01};
	assert_int_equal(read_one(OK_HDRS, unk, sizeof unk, true, 200, err, sizeof err), ETCD_GRPC_OK);
	static const unsigned char wt2[] = {0, 0, 0, 0, 2, 0x0b, 0x01}; /* start group: unsupported */
	assert_int_equal(read_one(OK_HDRS, wt2, sizeof wt2, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	free(b);
}

/* Status and trailers: what each outcome means to the store. */
static void test_status_and_trailers(void **state)
{
	char err[256];
	size_t n;
	unsigned char *b = sample_answer(&n);
	/* etcd refused the Txn: a trailers-only answer, message percent-encoded */
	static const char *const too_large[] = {"HTTP/2 200\r\n", "content-type: application/grpc\r\n",
						"grpc-status: 3\r\n", "grpc-message: etcdserver:%20request%20is%20too%20large\r\n",
						NULL};
	assert_int_equal(read_one(too_large, NULL, 0, true, 200, err, sizeof err), ETCD_GRPC_REFUSED);
	assert_string_equal(err, "gRPC status 3: etcdserver: request is too large");
	static const char *const exhausted[] = {"HTTP/2 200\r\n", "content-type: application/grpc\r\n",
						"grpc-status: 8\r\n", NULL};
	assert_int_equal(read_one(exhausted, NULL, 0, true, 200, err, sizeof err), ETCD_GRPC_REFUSED);
	assert_string_equal(err, "gRPC status 8: (no message)");
	/* a non-OK status wins over a body */
	assert_int_equal(read_one(too_large, b, n, true, 200, err, sizeof err), ETCD_GRPC_REFUSED);
	/* no leader, stopping: the next endpoint */
	static const char *const unavail[] = {"HTTP/2 200\r\n", "content-type: application/grpc\r\n",
					      "grpc-status: 14\r\n", "grpc-message: etcdserver: no leader\r\n", NULL};
	assert_int_equal(read_one(unavail, NULL, 0, true, 200, err, sizeof err), ETCD_GRPC_UNAVAILABLE);
	assert_non_null(strstr(err, "no leader"));
	/* a proxy with nothing behind it */
	static const char *const bad_gw[] = {"HTTP/2 503\r\n", "content-type: text/plain\r\n", NULL};
	assert_int_equal(read_one(bad_gw, (const unsigned char *)"down", 4, true, 503, err, sizeof err),
			 ETCD_GRPC_UNAVAILABLE);
	/* HTTP/1: not gRPC (a proxy that does not pass HTTP/2, or the gateway) */
	static const char *const h1[] = {"HTTP/1.1 404 Not Found\r\n", "content-type: text/plain\r\n", NULL};
	assert_int_equal(read_one(h1, (const unsigned char *)"404 page not found", 18, false, 404, err, sizeof err),
			 ETCD_GRPC_NOT_GRPC);
	/* HTTP/2 but no grpc-status: not gRPC without its content type, malformed with it */
	static const char *const h2plain[] = {"HTTP/2 404\r\n", "content-type: text/html\r\n", NULL};
	assert_int_equal(read_one(h2plain, NULL, 0, true, 404, err, sizeof err), ETCD_GRPC_NOT_GRPC);
	static const char *const nostatus[] = {"HTTP/2 200\r\n", "content-type: application/grpc+proto\r\n", NULL};
	assert_int_equal(read_one(nostatus, b, n, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	assert_non_null(strstr(err, "without grpc-status"));
	/* a status that is not a number is UNKNOWN (2): refused, never OK */
	static const char *const weird[] = {"HTTP/2 200\r\n", "content-type: application/grpc\r\n",
					    "grpc-status: 0x\r\n", NULL};
	assert_int_equal(read_one(weird, b, n, true, 200, err, sizeof err), ETCD_GRPC_REFUSED);
	static const char *const empty[] = {"HTTP/2 200\r\n", "content-type: application/grpc\r\n",
					    "grpc-status:\r\n", NULL};
	assert_int_equal(read_one(empty, b, n, true, 200, err, sizeof err), ETCD_GRPC_REFUSED);
	/* a second answer on the handle (after a 1xx) forgets the first one's status and body */
	static const char *const again[] = {"HTTP/2 200\r\n", "grpc-status: 0\r\n", "HTTP/2 200\r\n",
					    "content-type: application/grpc\r\n", NULL};
	assert_int_equal(read_one(again, NULL, 0, true, 200, err, sizeof err), ETCD_GRPC_MALFORMED);
	/* a long, control-character-laden message is cut and cleaned */
	char longmsg[700];
	snprintf(longmsg, sizeof longmsg, "grpc-message: %%0a%%01%s\r\n",
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	struct etcd_grpc_answer a = {.status = -1};
	etcd_grpc_on_header(longmsg, 1, strlen(longmsg), &a);
	assert_int_equal(strlen(a.msg), sizeof a.msg - 1);
	assert_memory_equal(a.msg, "??xxx", 5);
	free(b);
}

/* The gateway's answer read as the same TxnResponse. */
static void test_json_answer(void **state)
{
	cJSON *j = cJSON_Parse("{\"header\":{\"revision\":\"42\"},\"responses\":["
			       "{\"response_range\":{\"header\":{\"revision\":\"42\"},\"kvs\":[{\"key\":\"aw==\","
			       "\"mod_revision\":\"9\",\"value\":\"aGVsbG8=\"}],\"count\":\"1\"}},"
			       "{\"response_put\":{\"header\":{},\"prev_kv\":{\"key\":\"bA==\",\"mod_revision\":\"8\"}}},"
			       "{\"response_delete_range\":{\"deleted\":\"1\"}}]}");
	etcd_txn_resp *r = etcd_txn_resp_from_json(j);
	assert_non_null(r);
	assert_false(r->succeeded);
	assert_int_equal(etcd_txn_resp_revision(r), 42);
	char *v = etcd_kv_value(etcd_txn_resp_range_kv(r, 0), NULL);
	assert_string_equal(v, "hello");
	free(v);
	const etcd_kv *p = etcd_txn_resp_prev_kv(r, 1);
	assert_int_equal(p->mod_revision, 8);
	v = etcd_kv_value(p, NULL); /* no value: "" */
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(r->responses[2]->response_delete_range->deleted, 1);
	etcd_txn_resp_free(r);
	cJSON_Delete(j);

	j = cJSON_Parse("{\"header\":{\"revision\":\"3\"},\"succeeded\":true}");
	r = etcd_txn_resp_from_json(j);
	assert_true(r->succeeded);
	assert_int_equal(r->n_responses, 0);
	assert_null(etcd_txn_resp_range_kv(r, 0));
	etcd_txn_resp_free(r);
	cJSON_Delete(j);

	/* not base64, not an object, responses not a list: refused */
	static const char *const bad[] = {
	    "{\"responses\":[{\"response_range\":{\"kvs\":[{\"value\":\"@@@\"}]}}]}",
	    "{\"responses\":[{\"response_put\":{\"prev_kv\":{\"key\":17}}}]}",
	    "{\"responses\":{}}",
	    "[]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		j = cJSON_Parse(bad[i]);
		assert_null(etcd_txn_resp_from_json(j));
		cJSON_Delete(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_bytes),
		cmocka_unit_test(test_request_json),
		cmocka_unit_test(test_answer_read),
		cmocka_unit_test(test_malformed_frames),
		cmocka_unit_test(test_status_and_trailers),
		cmocka_unit_test(test_json_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
