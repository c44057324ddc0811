/* nodes — the Node objects of a simulated cluster.
 * Owns: what each simulated node looks like: name "<cluster>-node-<i>",
 * the well-known labels (kubernetes.io/hostname, arch, os, and
 * topology.kubernetes.io/region/zone when given; zones are dealt out round
 * robin), capacity and allocatable, the kubelet's conditions (Ready True,
 * no pressure), addresses and nodeInfo (kubeletVersion = the cluster's
 * gitVersion), and the addresses pods on a node get. Pure functions. */
#ifndef ATOLL_SIM_NODES_H
#define ATOLL_SIM_NODES_H

#include <stddef.h>
#include <time.h>
#include <cjson/cJSON.h>

struct sim_node_spec {
	const char *cluster;     /* cluster name, the node name prefix */
	int count;               /* number of nodes */
	const char *region;      /* topology.kubernetes.io/region, or NULL */
	const char *zones;       /* comma-separated zones, or NULL */
	const char *cpu;         /* capacity = allocatable, e.g. "4" */
	const char *memory;      /* e.g. "16Gi" */
	const char *pods;        /* e.g. "110" */
	const char *git_version; /* kubeletVersion, e.g. "v1.23.8" */
};

/* "<cluster>-node-<i>" into buf. */
const char *sim_node_name(const struct sim_node_spec *s, int i, char *buf, size_t len);
/* The Node object of node i, created at now. */
cJSON *sim_node_object(const struct sim_node_spec *s, int i, time_t now);
/* InternalIP of node i: 172.18.<i / 250>.<i % 250 + 2>. */
const char *sim_node_ip(int i, char *buf, size_t len);
/* Pod IP number seq on node i: 10.244.<i>.<seq % 253 + 2>. */
const char *sim_pod_ip(int i, unsigned long seq, char *buf, size_t len);

#endif
