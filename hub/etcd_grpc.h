/* etcd_grpc — the etcd store's Txns (store_etcd.c) as etcd's own protobuf
 * messages. Owns: nothing beyond the messages it builds (struct etcd_txn,
 * a TxnResponse it returns: the caller frees them). The messages
 * (hub/etcd/etcd_rpc.proto, compiled by protoc-c into
 * build/gen/etcd_rpc.pb-c.h) are sent to etcd's gRPC server
 * (/etcdserverpb.KV/Txn over HTTP/2) or, with --etcd-api json or where an
 * endpoint does not speak gRPC, converted to and from the v3 JSON
 * gateway's form (/v3/kv/txn, keys and values base64).
 *
 * A Txn is built here as a TxnRequest (keys and values copied as bytes),
 * and every answer, from either path, is read as a TxnResponse: the store
 * has one code for both. The transport (libcurl) stays in store_etcd.c;
 * this file owns the gRPC framing: the 5-byte message prefix, the
 * grpc-status / grpc-message trailers and what each outcome means. */
#ifndef ATOLL_ETCD_GRPC_H
#define ATOLL_ETCD_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "etcd_rpc.pb-c.h"

/* An answer larger than this fails its transfer: a Txn's answer holds at
 * most its batch's previous values (a batch is about 1 MiB of values;
 * each object at most 1.5 MiB), far less. */
#define ETCD_GRPC_MAX_ANSWER ((size_t)256 << 20)

typedef Etcdserverpb__TxnResponse etcd_txn_resp;
typedef Etcdserverpb__KeyValue etcd_kv;

/* A TxnRequest being built. Zero-initialise (or etcd_txn_init), add, send,
 * etcd_txn_free. Every key and value is copied. */
struct etcd_txn {
	Etcdserverpb__TxnRequest req;
	size_t ccap, scap, fcap;
};

void etcd_txn_init(struct etcd_txn *t);
void etcd_txn_free(struct etcd_txn *t);
/* Compares (result EQUAL): the key's mod_revision is mod; the key is
 * absent (create_revision 0). */
void etcd_txn_cmp_mod(struct etcd_txn *t, const char *key, long long mod);
void etcd_txn_cmp_absent(struct etcd_txn *t, const char *key);
/* To the success list (failure false) or the failure list: a put of value
 * (NUL-terminated) or, value NULL, a delete of the key; prev_kv asks for
 * the key's previous state in the answer (puts only). */
void etcd_txn_write(struct etcd_txn *t, bool failure, const char *key, const char *value, bool prev_kv);
/* A range of one key. */
void etcd_txn_range(struct etcd_txn *t, bool failure, const char *key);

/* The request as one gRPC message (not compressed: 0, length: 4 bytes big
 * endian, the packed TxnRequest), malloc'd; *len its size. */
unsigned char *etcd_txn_grpc(const struct etcd_txn *t, size_t *len);
/* The request in the gateway's JSON form (base64 keys and values, int64 as
 * strings), for POST /v3/kv/txn. */
cJSON *etcd_txn_json(const struct etcd_txn *t);

/* The gateway's answer as a TxnResponse (NULL if it does not read as one).
 * Free with etcd_txn_resp_free. */
etcd_txn_resp *etcd_txn_resp_from_json(const cJSON *j);
void etcd_txn_resp_free(etcd_txn_resp *r);
/* The answer's revision (header), 0 if none. */
long long etcd_txn_resp_revision(const etcd_txn_resp *r);
/* The first kv of the i-th answer if it is a range; NULL otherwise. */
const etcd_kv *etcd_txn_resp_range_kv(const etcd_txn_resp *r, size_t i);
/* The prev_kv of the i-th answer if it is a put that has one; NULL otherwise. */
const etcd_kv *etcd_txn_resp_prev_kv(const etcd_txn_resp *r, size_t i);
/* A kv's value as a NUL-terminated malloc'd string; *len its length (may be NULL). */
char *etcd_kv_value(const etcd_kv *kv, size_t *len);

/* ---- gRPC answers ---------------------------------------------------------------------
 * What libcurl collects of one call: the body (DATA frames), the HTTP
 * version and status, and grpc-status / grpc-message, from the trailers
 * (or the headers of a "trailers-only" answer). */
struct etcd_grpc_answer {
	unsigned char *body;
	size_t len, cap;
	int status;        /* grpc-status; -1: none seen */
	char msg[256];     /* grpc-message, percent-decoded */
	bool grpc_ctype;   /* content-type: application/grpc... */
};

/* libcurl's CURLOPT_HEADERFUNCTION and CURLOPT_WRITEFUNCTION for an
 * answer (userdata: struct etcd_grpc_answer *). */
size_t etcd_grpc_on_header(char *p, size_t size, size_t n, void *ud);
size_t etcd_grpc_on_body(char *p, size_t size, size_t n, void *ud);
void etcd_grpc_answer_free(struct etcd_grpc_answer *a);

enum etcd_grpc_result {
	ETCD_GRPC_OK,          /* *out is the TxnResponse (succeeded or not) */
	ETCD_GRPC_REFUSED,     /* etcd refused the Txn (grpc-status, e.g. 3 INVALID_ARGUMENT:
				* too large, too many operations, a duplicate key): not applied */
	ETCD_GRPC_UNAVAILABLE, /* the member cannot serve now (14 UNAVAILABLE: no leader,
				* stopping; HTTP 502/503): worth the next endpoint */
	ETCD_GRPC_NOT_GRPC,    /* the answer is not gRPC (HTTP/1.x, no grpc-status): this
				* endpoint (or a proxy before it) does not serve etcd's gRPC API */
	ETCD_GRPC_MALFORMED,   /* gRPC status 0 but not exactly one readable TxnResponse message */
};

/* Reads an answer that ended without a transport error: h2 whether it
 * came over HTTP/2, http_status its :status. err says what went wrong. */
enum etcd_grpc_result etcd_grpc_read(const struct etcd_grpc_answer *a, bool h2, long http_status,
				     etcd_txn_resp **out, char *err, size_t errlen);

/* The gateway's JSON: an int64 member, printed as a string (a number is
 * taken too; 0 when absent or not one); adding one so; a base64 member
 * holding data[0..len). */
long long etcd_json_num(const cJSON *o, const char *name);
void etcd_json_add_num(cJSON *o, const char *name, long long v);
void etcd_json_add_b64(cJSON *o, const char *name, const void *data, size_t len);

#endif
