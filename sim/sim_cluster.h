/* cluster — one simulated member cluster.
 * Owns: the life of a cluster inside atoll-sim: its own store (SQLite in
 * its data directory), its API server (the hub's apiserver module, so the
 * paths, verbs, content types, patch semantics and errors are the hub's),
 * its nodes, its controllers and its kubeconfig file. Several clusters
 * share one event loop and nothing else but the process-wide kinds table. */
#ifndef ATOLL_SIM_CLUSTER_H
#define ATOLL_SIM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>

#include "sim_nodes.h"

struct sim_cluster_config {
	const char *name;           /* cluster name: node prefix and kubeconfig context */
	const char *listen;         /* "HOST:PORT" (port 0 = any free port) */
	const char *kubeconfig_out; /* where to write the kubeconfig, or NULL */
	const char *data_dir;       /* the cluster's own directory (created if missing) */
	struct sim_node_spec nodes; /* nodes.cluster is set from name */
	long ready_delay_ms;        /* Pending -> Running and Ready */
	bool events;                /* record v1 Events like the Kubernetes components */
	const char *minor;          /* /version minor */
	const char *git_version;    /* /version gitVersion and kubeletVersion */
	int request_timeout_s;
	long long history;
	int max_watches;
	int schema_minor;           /* --kubernetes-version 1.N: serve that version's schema and refuse
				     * later fields under server-side apply (sim_skew.h); 0: off */
};

struct sim_cluster;

/* Opens the store, starts the API server, creates missing nodes, starts the
 * controllers and writes the kubeconfig. NULL with err filled on failure. */
struct sim_cluster *sim_cluster_start(struct event_base *base, const struct sim_cluster_config *cfg, char *err,
				      size_t errlen);
int sim_cluster_port(const struct sim_cluster *c);
const char *sim_cluster_name(const struct sim_cluster *c);
const char *sim_cluster_server(const struct sim_cluster *c);
/* Ends watch streams (first step of shutdown). */
void sim_cluster_close_watches(struct sim_cluster *c);
void sim_cluster_free(struct sim_cluster *c);

#endif
