/* store_etcd — the store (store.h) kept in etcd, through its v3 JSON
 * gateway with libcurl. See store_etcd.c for the mapping and guarantees.
 * Owns: the etcd connection (libcurl handle), the prefix's ownership lease,
 * the in-memory copy of the prefix and the compaction schedule. */
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
	int lease_ttl;        /* seconds; default 10 */
};

/* Connects, reads the compaction point and takes ownership of the prefix:
 * the key <prefix>m/owner ("HOST PID") under an etcd lease of lease_ttl
 * seconds, so a second hub on the same prefix fails at once naming the
 * first (as the SQLite data-dir lock does). A stale owner on this host
 * whose process is gone (kill -9) is taken over at once; one elsewhere
 * ends with its lease. Every write carries a compare on the owner key
 * (fencing): once the lease has ended, writes fail. NULL with err when no
 * endpoint answers or the prefix is owned. Closing revokes the lease. */
struct store *store_open_etcd(const struct etcd_options *o, char *err, size_t errlen);

struct event_base;
/* Keeps the lease alive from a timer on base (every lease_ttl/3 s). When
 * etcd says it has ended, stops the loop: store_etcd_lost() is then true. */
int store_etcd_keepalive(struct store *s, struct event_base *base);
bool store_etcd_lost(struct store *s);

#endif
