/* ctl_cluster — a member cluster's life cycle, in one place.
 * Owns: the cluster monitor (struct cluster_life: what this hub knows of
 * each cluster's Lease, in memory; the Lease in karmada-cluster, written
 * through at registration and then every half lease; the Ready condition
 * — Unknown when the Lease expired (ClusterStatusUnknown), False when the
 * agent reported unhealthy for the whole grace period — and Karmada's
 * not-ready/unreachable NoSchedule taints), and the controller's cluster
 * stage (a Cluster's execution namespace, re-scheduling every binding when
 * a Cluster's scheduling fingerprint changes or a Cluster goes).
 * The agent API translates the protocol and calls ctl_cluster_registered
 * and ctl_cluster_heartbeat; this module never calls the agent API. */
#ifndef ATOLL_CTL_CLUSTER_H
#define ATOLL_CTL_CLUSTER_H

#include "ctl_core.h"
#include "protocol.h"

struct cluster_life_config {
	int monitor_period_ms; /* how often Leases are checked (default 5000) */
	int startup_grace_s;   /* after the hub starts, a cluster gets this long to renew (default 60) */
	long long grace_ms;    /* Karmada's cluster-monitor-grace-period (0: the Lease's duration) */
};

struct cluster_life;

/* The cluster monitor, checking Leases every monitor_period_ms on base
 * (NULL: no timer). cfg may be NULL. */
struct cluster_life *ctl_cluster_life_new(struct event_base *base, struct store *st, struct obj_ctx *objs,
					  const struct cluster_life_config *cfg);
void ctl_cluster_life_free(struct cluster_life *cl);
/* Whether the monitor may write (mark clusters Unknown and taint them):
 * only in the leading hub. It keeps observing Lease renewals either way. */
void ctl_cluster_life_set_monitoring(struct cluster_life *cl, bool on);
/* A registration was stored: the next heartbeat's Lease is written through. */
void ctl_cluster_registered(struct cluster_life *cl, const char *cluster);
/* A heartbeat of the stored Cluster c (borrowed): renews the Lease (written
 * through when due), sets the Ready condition, the status the heartbeat
 * carries and the taints. renew gets the renewTime answered to the agent.
 * -1 with e when the Lease could not be written (the agent is told). */
int ctl_cluster_heartbeat(struct cluster_life *cl, const cJSON *c, const struct proto_heartbeat *h, char *renew,
			  size_t renewlen, struct api_error *e);

/* The cheap form of a heartbeat, for the polls that carry one (the agent's
 * one connection, docs/protocol.md): when h is healthy and the same as the
 * last heartbeat taken in full, less than a quarter lease ago, and the
 * Lease needs no write, the Lease is renewed in memory only (1; renew set);
 * else 0 and the caller takes it in full (ctl_cluster_heartbeat). So a
 * fan-out's polls do not each read the Cluster, and the status is still
 * set at least every quarter lease. */
int ctl_cluster_renew(struct cluster_life *cl, const struct proto_heartbeat *h, char *renew, size_t renewlen);

void ctl_reconcile_cluster(struct controller *c, const char *key);

#endif
