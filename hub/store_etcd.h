/* store_etcd — the store (store.h) kept in etcd, through its v3 JSON
 * gateway and, for write Txns, its gRPC server (etcd_grpc.h), with
 * libcurl. See store_etcd.c for the mapping and guarantees.
 * Owns: the etcd connections (a blocking libcurl handle for reads, one for
 * Txns over HTTP/2, the live watch on the loop), the in-memory copy of the prefix,
 * the ring of recent history changes() answers from, the open batch (one
 * Txn at store_commit()), the fence and the compaction schedule. */
#ifndef ATOLL_STORE_ETCD_H
#define ATOLL_STORE_ETCD_H

#include <stdbool.h>
#include <stddef.h>

struct store;

struct etcd_options {
	const char *servers;  /* "http(s)://host:port[,...]" client URLs */
	const char *cafile;   /* CA of etcd's serving certificates */
	const char *certfile; /* client certificate and key for etcd */
	const char *keyfile;
	const char *prefix;   /* key prefix; default "/atoll/" */
	int max_txn_ops;      /* etcd's --max-txn-ops (0: its default, 128) */
	int quiet_ms;         /* 0: a batch is one Txn, except for a while after
			       * one lost to another writer; -1: always; > 0:
			       * only once no other writer was seen for this long */
	bool json_txn;        /* Txns through etcd's v3 JSON gateway (/v3/kv/txn,
			       * --etcd-api json); else through its gRPC server
			       * (/etcdserverpb.KV/Txn, HTTP/2), or the gateway
			       * where an endpoint does not answer gRPC */
};

/* Connects, reads the compaction point and loads every object under the
 * prefix into memory. Any number of hubs may share a prefix: each one's
 * copy follows the others' writes through the live watch. NULL with err
 * when no endpoint answers. */
struct store *store_open_etcd(const struct etcd_options *o, char *err, size_t errlen);

struct event_base;
/* Starts the live watch on base (libcurl multi, common/httpclient.h): a
 * /v3/watch stream over the whole prefix, resumed on the next endpoint
 * when one fails, from the last revision it showed. From then on:
 *   - every change under the prefix, made by any hub, reaches the copy,
 *     the in-transaction subscribers (other hubs' changes only: this
 *     hub's own writes reach them as they are made) and the committed
 *     subscribers, in revision order — this hub's own writes included, so
 *     a watcher sees one history whatever hub wrote;
 *   - store_revision() is the newest revision delivered, and changes()
 *     replays up to it from memory (a ring, filled here with the history
 *     before the watch: a blocking read of etcd's history at start).
 * Without it (tools, unit tests) the store behaves as a single writer:
 * committed subscribers hear of its own writes at store_commit(). */
int store_etcd_start_watch(struct store *s, struct event_base *base);
/* True once the live watch could not resume (etcd compacted past it):
 * the hub has stopped its loop and should exit to reload. */
bool store_etcd_lost(struct store *s);
/* Fencing: from now on every write also compares the mod_revision of the
 * object at store key `key` with mod_rev (NULL: no fence). A write that
 * fails only on that compare fails with STORE_ERROR and calls lost(ud)
 * (from inside the write: only schedule work). A successful write of that
 * key by this hub moves the fence to its revision (a leader renewing its
 * Lease keeps writing). */
void store_etcd_set_fence(struct store *s, const char *key, long long mod_rev, void (*lost)(void *ud), void *ud);

/* The blocking calls to etcd so far (reads, Txns, history; not the live
 * watch): how many, how many new connections they opened (one per
 * endpoint switch or dropped connection: every other call reuses the
 * kept-alive one), bytes sent, time. */
struct etcd_stats {
	unsigned long calls, txns, connects;
	unsigned long grpc_txns, grpc_connects; /* Txns over gRPC, and the connections they opened
						 * (counted apart from connects) */
	unsigned long long bytes_sent;
	unsigned long long us_total, us_max, txn_us_total;
};
void store_etcd_stats(struct store *s, struct etcd_stats *out);

#endif
