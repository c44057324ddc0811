/* etcd's KV.Txn as protobuf-c messages, and their gRPC framing
 * (etcd_grpc.h). */
#include "etcd_grpc.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <mbedtls/base64.h>

#include "numparse.h"

/* ---- building a TxnRequest ------------------------------------------------------------- */

static void *xcalloc1(size_t n)
{
	void *p = calloc(1, n);
	if (!p)
		abort();
	return p;
}

static ProtobufCBinaryData bytes_of(const char *s)
{
	size_t n = strlen(s);
	ProtobufCBinaryData b = {n, xcalloc1(n + 1)};
	memcpy(b.data, s, n);
	return b;
}

/* Appends item to a protobuf-c repeated field (*arr, *n) of capacity *cap. */
static void push(void ***arr, size_t *n, size_t *cap, void *item)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		void **na = realloc(*arr, *cap * sizeof **arr);
		if (!na)
			abort();
		*arr = na;
	}
	(*arr)[(*n)++] = item;
}

void etcd_txn_init(struct etcd_txn *t)
{
	*t = (struct etcd_txn){.req = ETCDSERVERPB__TXN_REQUEST__INIT};
}

static void free_msgs(void **arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(arr[i], NULL); /* each built with malloc, as unpack does */
	free(arr);
}

void etcd_txn_free(struct etcd_txn *t)
{
	free_msgs((void **)t->req.compare, t->req.n_compare);
	free_msgs((void **)t->req.success, t->req.n_success);
	free_msgs((void **)t->req.failure, t->req.n_failure);
	etcd_txn_init(t);
}

static void fix_init(struct etcd_txn *t)
{
	if (!t->req.base.descriptor) /* zero-initialised */
		t->req = (Etcdserverpb__TxnRequest)ETCDSERVERPB__TXN_REQUEST__INIT;
}

static Etcdserverpb__Compare *cmp_new(struct etcd_txn *t, const char *key)
{
	fix_init(t);
	Etcdserverpb__Compare *c = xcalloc1(sizeof *c);
	*c = (Etcdserverpb__Compare)ETCDSERVERPB__COMPARE__INIT;
	c->result = ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL;
	c->key = bytes_of(key);
	push((void ***)&t->req.compare, &t->req.n_compare, &t->ccap, c);
	return c;
}

void etcd_txn_cmp_mod(struct etcd_txn *t, const char *key, long long mod)
{
	Etcdserverpb__Compare *c = cmp_new(t, key);
	c->target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD;
	c->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_MOD_REVISION;
	c->mod_revision = mod;
}

void etcd_txn_cmp_absent(struct etcd_txn *t, const char *key)
{
	Etcdserverpb__Compare *c = cmp_new(t, key);
	c->target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE;
	c->target_union_case = ETCDSERVERPB__COMPARE__TARGET_UNION_CREATE_REVISION;
	c->create_revision = 0;
}

static Etcdserverpb__RequestOp *op_new(struct etcd_txn *t, bool failure)
{
	fix_init(t);
	Etcdserverpb__RequestOp *op = xcalloc1(sizeof *op);
	*op = (Etcdserverpb__RequestOp)ETCDSERVERPB__REQUEST_OP__INIT;
	if (failure)
		push((void ***)&t->req.failure, &t->req.n_failure, &t->fcap, op);
	else
		push((void ***)&t->req.success, &t->req.n_success, &t->scap, op);
	return op;
}

void etcd_txn_write(struct etcd_txn *t, bool failure, const char *key, const char *value, bool prev_kv)
{
	Etcdserverpb__RequestOp *op = op_new(t, failure);
	if (value) {
		Etcdserverpb__PutRequest *p = xcalloc1(sizeof *p);
		*p = (Etcdserverpb__PutRequest)ETCDSERVERPB__PUT_REQUEST__INIT;
		p->key = bytes_of(key);
		p->value = bytes_of(value);
		p->prev_kv = prev_kv;
		op->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
		op->request_put = p;
	} else {
		Etcdserverpb__DeleteRangeRequest *d = xcalloc1(sizeof *d);
		*d = (Etcdserverpb__DeleteRangeRequest)ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
		d->key = bytes_of(key);
		op->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE;
		op->request_delete_range = d;
	}
}

void etcd_txn_range(struct etcd_txn *t, bool failure, const char *key)
{
	Etcdserverpb__RequestOp *op = op_new(t, failure);
	Etcdserverpb__RangeRequest *r = xcalloc1(sizeof *r);
	*r = (Etcdserverpb__RangeRequest)ETCDSERVERPB__RANGE_REQUEST__INIT;
	r->key = bytes_of(key);
	op->request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE;
	op->request_range = r;
}

unsigned char *etcd_txn_grpc(const struct etcd_txn *t, size_t *len)
{
	Etcdserverpb__TxnRequest empty = ETCDSERVERPB__TXN_REQUEST__INIT;
	const Etcdserverpb__TxnRequest *req = t->req.base.descriptor ? &t->req : &empty;
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	if (n > UINT32_MAX)
		return NULL;
	unsigned char *out = malloc(n + 5);
	if (!out)
		return NULL;
	out[0] = 0; /* not compressed */
	out[1] = (unsigned char)(n >> 24);
	out[2] = (unsigned char)(n >> 16);
	out[3] = (unsigned char)(n >> 8);
	out[4] = (unsigned char)n;
	protobuf_c_message_pack(&req->base, out + 5);
	*len = n + 5;
	return out;
}

/* ---- the gateway's JSON form ----------------------------------------------------------- */

void etcd_json_add_b64(cJSON *o, const char *name, const void *data, size_t len)
{
	size_t olen = 0;
	mbedtls_base64_encode(NULL, 0, &olen, data, len);
	char *t = malloc(olen + 1);
	if (t && mbedtls_base64_encode((unsigned char *)t, olen + 1, &olen, data, len) == 0)
		t[olen] = '\0';
	else if (t)
		t[0] = '\0';
	cJSON_AddStringToObject(o, name, t ? t : "");
	free(t);
}

static void add_b64(cJSON *o, const char *name, const ProtobufCBinaryData *b)
{
	etcd_json_add_b64(o, name, b->data, b->len);
}

void etcd_json_add_num(cJSON *o, const char *name, long long v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", v);
	cJSON_AddStringToObject(o, name, buf);
}

static void ops_json(cJSON *arr, Etcdserverpb__RequestOp *const *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cJSON *op = cJSON_CreateObject();
		const Etcdserverpb__RequestOp *o = ops[i];
		if (o->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT) {
			cJSON *w = cJSON_AddObjectToObject(op, "request_put");
			add_b64(w, "key", &o->request_put->key);
			add_b64(w, "value", &o->request_put->value);
			if (o->request_put->prev_kv)
				cJSON_AddTrueToObject(w, "prev_kv");
		} else if (o->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE) {
			add_b64(cJSON_AddObjectToObject(op, "request_delete_range"), "key", &o->request_delete_range->key);
		} else if (o->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE) {
			add_b64(cJSON_AddObjectToObject(op, "request_range"), "key", &o->request_range->key);
		}
		cJSON_AddItemToArray(arr, op);
	}
}

cJSON *etcd_txn_json(const struct etcd_txn *t)
{
	cJSON *req = cJSON_CreateObject();
	cJSON *cmp = cJSON_AddArrayToObject(req, "compare");
	for (size_t i = 0; i < t->req.n_compare; i++) {
		const Etcdserverpb__Compare *c = t->req.compare[i];
		cJSON *o = cJSON_CreateObject();
		add_b64(o, "key", &c->key);
		bool mod = c->target == ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD;
		cJSON_AddStringToObject(o, "target", mod ? "MOD" : "CREATE");
		cJSON_AddStringToObject(o, "result", "EQUAL");
		etcd_json_add_num(o, mod ? "mod_revision" : "create_revision", mod ? c->mod_revision : c->create_revision);
		cJSON_AddItemToArray(cmp, o);
	}
	ops_json(cJSON_AddArrayToObject(req, "success"), t->req.success, t->req.n_success);
	ops_json(cJSON_AddArrayToObject(req, "failure"), t->req.failure, t->req.n_failure);
	return req;
}

long long etcd_json_num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	long long n = 0;
	if (cJSON_IsString(v))
		return num_parse_ll(v->valuestring, LLONG_MIN, LLONG_MAX, &n) == 0 ? n : 0;
	if (cJSON_IsNumber(v))
		return (long long)v->valuedouble;
	return 0;
}

/* A base64 field into b (absent: empty); false if it is not base64. */
static bool jbytes(const cJSON *o, const char *name, ProtobufCBinaryData *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v)
		return true;
	if (!cJSON_IsString(v))
		return false;
	size_t tl = strlen(v->valuestring), olen = 0;
	unsigned char *out = xcalloc1(tl * 3 / 4 + 4);
	if (tl && mbedtls_base64_decode(out, tl * 3 / 4 + 3, &olen, (const unsigned char *)v->valuestring, tl) != 0) {
		free(out);
		return false;
	}
	b->data = out;
	b->len = olen;
	return true;
}

static Etcdserverpb__ResponseHeader *jheader(const cJSON *o)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "header");
	if (!cJSON_IsObject(h))
		return NULL;
	Etcdserverpb__ResponseHeader *r = xcalloc1(sizeof *r);
	*r = (Etcdserverpb__ResponseHeader)ETCDSERVERPB__RESPONSE_HEADER__INIT;
	r->revision = etcd_json_num(h, "revision");
	return r;
}

static Etcdserverpb__KeyValue *jkv(const cJSON *o, bool *bad)
{
	Etcdserverpb__KeyValue *kv = xcalloc1(sizeof *kv);
	*kv = (Etcdserverpb__KeyValue)ETCDSERVERPB__KEY_VALUE__INIT;
	if (!jbytes(o, "key", &kv->key) || !jbytes(o, "value", &kv->value))
		*bad = true;
	kv->create_revision = etcd_json_num(o, "create_revision");
	kv->mod_revision = etcd_json_num(o, "mod_revision");
	kv->version = etcd_json_num(o, "version");
	return kv;
}

static Etcdserverpb__ResponseOp *jop(const cJSON *o, bool *bad)
{
	Etcdserverpb__ResponseOp *op = xcalloc1(sizeof *op);
	*op = (Etcdserverpb__ResponseOp)ETCDSERVERPB__RESPONSE_OP__INIT;
	const cJSON *x;
	if (cJSON_IsObject(x = cJSON_GetObjectItemCaseSensitive(o, "response_range"))) {
		Etcdserverpb__RangeResponse *r = xcalloc1(sizeof *r);
		*r = (Etcdserverpb__RangeResponse)ETCDSERVERPB__RANGE_RESPONSE__INIT;
		op->response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE;
		op->response_range = r;
		r->header = jheader(x);
		r->count = etcd_json_num(x, "count");
		const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(x, "kvs"), *kv;
		int n = cJSON_GetArraySize(kvs);
		if (n > 0) {
			r->kvs = xcalloc1((size_t)n * sizeof *r->kvs);
			cJSON_ArrayForEach(kv, kvs) r->kvs[r->n_kvs++] = jkv(kv, bad);
		}
	} else if (cJSON_IsObject(x = cJSON_GetObjectItemCaseSensitive(o, "response_put"))) {
		Etcdserverpb__PutResponse *p = xcalloc1(sizeof *p);
		*p = (Etcdserverpb__PutResponse)ETCDSERVERPB__PUT_RESPONSE__INIT;
		op->response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_PUT;
		op->response_put = p;
		p->header = jheader(x);
		const cJSON *pkv = cJSON_GetObjectItemCaseSensitive(x, "prev_kv");
		if (cJSON_IsObject(pkv))
			p->prev_kv = jkv(pkv, bad);
	} else if (cJSON_IsObject(x = cJSON_GetObjectItemCaseSensitive(o, "response_delete_range"))) {
		Etcdserverpb__DeleteRangeResponse *d = xcalloc1(sizeof *d);
		*d = (Etcdserverpb__DeleteRangeResponse)ETCDSERVERPB__DELETE_RANGE_RESPONSE__INIT;
		op->response_case = ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_DELETE_RANGE;
		op->response_delete_range = d;
		d->header = jheader(x);
		d->deleted = etcd_json_num(x, "deleted");
	}
	return op;
}

etcd_txn_resp *etcd_txn_resp_from_json(const cJSON *j)
{
	if (!cJSON_IsObject(j))
		return NULL;
	etcd_txn_resp *r = xcalloc1(sizeof *r);
	*r = (etcd_txn_resp)ETCDSERVERPB__TXN_RESPONSE__INIT;
	r->header = jheader(j);
	r->succeeded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "succeeded"));
	const cJSON *ops = cJSON_GetObjectItemCaseSensitive(j, "responses"), *op;
	bool bad = ops && !cJSON_IsArray(ops);
	int n = cJSON_GetArraySize(ops);
	if (n > 0 && !bad) {
		r->responses = xcalloc1((size_t)n * sizeof *r->responses);
		cJSON_ArrayForEach(op, ops) r->responses[r->n_responses++] = jop(op, &bad);
	}
	if (bad) {
		etcd_txn_resp_free(r);
		return NULL;
	}
	return r;
}

void etcd_txn_resp_free(etcd_txn_resp *r)
{
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
}

long long etcd_txn_resp_revision(const etcd_txn_resp *r) { return r && r->header ? r->header->revision : 0; }

const etcd_kv *etcd_txn_resp_range_kv(const etcd_txn_resp *r, size_t i)
{
	if (!r || i >= r->n_responses || r->responses[i]->response_case != ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_RANGE)
		return NULL;
	const Etcdserverpb__RangeResponse *rr = r->responses[i]->response_range;
	return rr && rr->n_kvs ? rr->kvs[0] : NULL;
}

const etcd_kv *etcd_txn_resp_prev_kv(const etcd_txn_resp *r, size_t i)
{
	if (!r || i >= r->n_responses || r->responses[i]->response_case != ETCDSERVERPB__RESPONSE_OP__RESPONSE_RESPONSE_PUT)
		return NULL;
	return r->responses[i]->response_put ? r->responses[i]->response_put->prev_kv : NULL;
}

char *etcd_kv_value(const etcd_kv *kv, size_t *len)
{
	size_t n = kv ? kv->value.len : 0;
	char *s = xcalloc1(n + 1);
	if (n)
		memcpy(s, kv->value.data, n);
	if (len)
		*len = n;
	return s;
}

/* ---- gRPC answers ---------------------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The header's value: after the colon, without surrounding blanks. */
static void header_value(const char *p, size_t len, size_t name_len, const char **v, size_t *vn)
{
	size_t a = name_len, b = len;
	while (a < b && (p[a] == ' ' || p[a] == '\t'))
		a++;
	while (b > a && (p[b - 1] == '\r' || p[b - 1] == '\n' || p[b - 1] == ' ' || p[b - 1] == '\t'))
		b--;
	*v = p + a;
	*vn = b - a;
}

size_t etcd_grpc_on_header(char *p, size_t size, size_t n, void *ud)
{
	struct etcd_grpc_answer *a = ud;
	size_t len = size * n;
	const char *v;
	size_t vn;
	if (len >= 12 && strncasecmp(p, "grpc-status:", 12) == 0) {
		header_value(p, len, 12, &v, &vn);
		int st = 0;
		size_t i = 0;
		for (; i < vn && i < 4 && v[i] >= '0' && v[i] <= '9'; i++)
			st = st * 10 + (v[i] - '0');
		/* a status that is not a number is an unknown one (2 UNKNOWN) */
		a->status = vn && i == vn ? st : 2;
	} else if (len >= 13 && strncasecmp(p, "grpc-message:", 13) == 0) {
		header_value(p, len, 13, &v, &vn);
		size_t o = 0;
		for (size_t i = 0; i < vn && o + 1 < sizeof a->msg; i++) {
			int h1, h2;
			if (v[i] == '%' && i + 2 < vn && (h1 = hexval(v[i + 1])) >= 0 && (h2 = hexval(v[i + 2])) >= 0) {
				char c = (char)(h1 * 16 + h2);
				a->msg[o++] = c >= 0x20 && c != 0x7f ? c : '?';
				i += 2;
			} else {
				a->msg[o++] = v[i];
			}
		}
		a->msg[o] = '\0';
	} else if (len >= 13 && strncasecmp(p, "content-type:", 13) == 0) {
		header_value(p, len, 13, &v, &vn);
		a->grpc_ctype = vn >= 16 && strncasecmp(v, "application/grpc", 16) == 0;
	} else if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new answer (after a 1xx, or a retried request): forget the last one's */
		a->status = -1;
		a->msg[0] = '\0';
		a->grpc_ctype = false;
		a->len = 0;
	}
	return len;
}

size_t etcd_grpc_on_body(char *p, size_t size, size_t n, void *ud)
{
	struct etcd_grpc_answer *a = ud;
	size_t len = size * n;
	if (a->len + len > ETCD_GRPC_MAX_ANSWER)
		return 0; /* no Txn answer of ours is this large: a misbehaving endpoint; libcurl fails the transfer */
	if (a->len + len > a->cap) {
		size_t c = a->cap ? a->cap : 4096;
		while (c < a->len + len)
			c *= 2;
		unsigned char *nb = realloc(a->body, c);
		if (!nb)
			return 0; /* libcurl fails the transfer */
		a->body = nb;
		a->cap = c;
	}
	memcpy(a->body + a->len, p, len);
	a->len += len;
	return len;
}

void etcd_grpc_answer_free(struct etcd_grpc_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = a->cap = 0;
}

enum etcd_grpc_result etcd_grpc_read(const struct etcd_grpc_answer *a, bool h2, long http_status,
				     etcd_txn_resp **out, char *err, size_t errlen)
{
	*out = NULL;
	if (a->status < 0 && (http_status == 502 || http_status == 503 || http_status == 504)) {
		snprintf(err, errlen, "HTTP %ld, no gRPC status (a proxy with no etcd behind it?)", http_status);
		return ETCD_GRPC_UNAVAILABLE;
	}
	if (!h2) {
		snprintf(err, errlen, "an HTTP/1 answer (HTTP %ld): no gRPC there", http_status);
		return ETCD_GRPC_NOT_GRPC;
	}
	if (a->status < 0) {
		snprintf(err, errlen, "HTTP/2 %ld without grpc-status%s", http_status,
			 a->grpc_ctype ? "" : " (not a gRPC server)");
		return a->grpc_ctype ? ETCD_GRPC_MALFORMED : ETCD_GRPC_NOT_GRPC;
	}
	if (a->status == 14) { /* UNAVAILABLE: no leader, stopping, timed out */
		snprintf(err, errlen, "gRPC status 14 (unavailable): %s", a->msg);
		return ETCD_GRPC_UNAVAILABLE;
	}
	if (a->status != 0) {
		snprintf(err, errlen, "gRPC status %d: %s", a->status, a->msg[0] ? a->msg : "(no message)");
		return ETCD_GRPC_REFUSED;
	}
	if (a->len < 5) {
		snprintf(err, errlen, "gRPC answer of %zu bytes: no message", a->len);
		return ETCD_GRPC_MALFORMED;
	}
	size_t n = ((size_t)a->body[1] << 24) | ((size_t)a->body[2] << 16) | ((size_t)a->body[3] << 8) | a->body[4];
	if (a->body[0] != 0) {
		snprintf(err, errlen, "a compressed gRPC message (flag %d), none was asked for", a->body[0]);
		return ETCD_GRPC_MALFORMED;
	}
	if (n != a->len - 5) {
		snprintf(err, errlen, "gRPC message of %zu bytes in an answer of %zu (want exactly one message)", n,
			 a->len - 5);
		return ETCD_GRPC_MALFORMED;
	}
	*out = etcdserverpb__txn_response__unpack(NULL, n, a->body + 5);
	if (!*out) {
		snprintf(err, errlen, "unreadable TxnResponse (%zu bytes)", n);
		return ETCD_GRPC_MALFORMED;
	}
	return ETCD_GRPC_OK;
}
