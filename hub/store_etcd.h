/* store_etcd — the store (store.h) kept in etcd, through its v3 JSON
 * gateway with libcurl. See store_etcd.c for the mapping and guarantees. */
#ifndef ATOLL_STORE_ETCD_H
#define ATOLL_STORE_ETCD_H

#include <stddef.h>

struct store;

struct etcd_options {
	const char *servers;  /* "http(s)://host:port[,...]" client URLs */
	const char *cafile;   /* CA of etcd's serving certificates */
	const char *certfile; /* client certificate and key for etcd */
	const char *keyfile;
	const char *prefix;   /* key prefix; default "/atoll/" */
};

/* Connects (reads the compaction point); NULL with err when no endpoint
 * answers. */
struct store *store_open_etcd(const struct etcd_options *o, char *err, size_t errlen);

#endif
