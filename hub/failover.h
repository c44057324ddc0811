/* failover — cluster and application failover as current Karmada defines it.
 * Owns:
 *  - ClusterTaintPolicy (policy.karmada.io/v1alpha1): the taints its rules
 *    add to or remove from Clusters by their conditions (addOnConditions /
 *    removeOnConditions, targetClusters);
 *  - the taint manager: a binding on a cluster with a NoExecute taint it does
 *    not tolerate (or tolerates for tolerationSeconds that ran out) is
 *    evicted from that cluster (--enable-no-execute-taint-eviction, on by
 *    default in Atoll);
 *  - application failover (spec.failover.application): a workload Unhealthy
 *    in a cluster for decisionConditions.tolerationSeconds is evicted;
 *  - graceful eviction: spec.gracefulEvictionTasks on the binding; the
 *    evicted cluster's Work stays until the new placement is healthy or the
 *    grace period ends (purgeMode Gracefully), goes at once (Directly) or
 *    stays (Never); the cluster is kept out of the placement meanwhile
 *    (scheduler.h schedule_full);
 *  - the default NoExecute tolerations Karmada's webhook adds to policies
 *    (not-ready and unreachable, 300 s);
 *  - how a cluster whose Ready is not True shows in a binding's status: its
 *    aggregatedStatus item becomes unknown (no status, health Unknown, not
 *    counted in the template's status) with a ClusterStatusUnknown=True
 *    condition naming it, instead of its last report.
 * The failover_* decision functions are pure (time is passed in); the timer
 * started by failover_start applies them through objects.h. */
#ifndef ATOLL_FAILOVER_H
#define ATOLL_FAILOVER_H

#include <stdbool.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <event2/event.h>

#include "kinds.h"
#include "objects.h"
#include "store.h"

#define TAINT_KEY_NOT_READY "cluster.karmada.io/not-ready"
#define TAINT_KEY_UNREACHABLE "cluster.karmada.io/unreachable"

struct failover_config {
	bool no_eviction;              /* --enable-no-execute-taint-eviction=false */
	const char *purge_mode;        /* --no-execute-taint-eviction-purge-mode (default Gracefully) */
	long long eviction_timeout_s;  /* --graceful-eviction-timeout (default 600) */
	long not_ready_toleration_s;   /* --default-not-ready-toleration-seconds (default 300) */
	long unreachable_toleration_s; /* --default-unreachable-toleration-seconds (default 300) */
	int period_ms;                 /* how often the taint manager looks (default 1000) */
};

/* Sets the process-wide settings (defaults for zero fields). */
void failover_configure(const struct failover_config *cfg);
const struct failover_config *failover_config(void);

/* Karmada's webhook: a (Cluster)PropagationPolicy whose clusterTolerations
 * tolerate no NoExecute not-ready (unreachable) taint gets {key, operator
 * Exists, effect NoExecute, tolerationSeconds N}. Other kinds untouched. */
void failover_default_tolerations(const struct kind_info *k, cJSON *obj);

/* ---- pure decisions ---- */

/* Whether every matchCondition {conditionType, operator In|NotIn,
 * statusValues} holds for the cluster's status.conditions (a missing
 * condition has no status: In fails, NotIn holds). Empty list: false. */
bool failover_conditions_match(const cJSON *cluster, const cJSON *match_conditions);

/* The cluster's spec.taints after every ClusterTaintPolicy in policies
 * (JSON array) that targets it: taints added when its addOnConditions
 * hold, removed when its removeOnConditions hold. NoExecute taints get
 * timeAdded = now. Returns a new array (caller frees) and sets *changed. */
cJSON *failover_policy_taints(const cJSON *cluster, const cJSON *policies, const char *now, bool *changed);

/* The taint manager for one cluster of a binding: -1 when the binding
 * tolerates every NoExecute taint of the cluster for ever (or it has none),
 * else the time at which it must be evicted (<= now: now). */
time_t failover_eviction_time(const cJSON *cluster, const cJSON *tolerations, time_t now);

/* Evicts binding from cluster: removes it from spec.clusters and appends a
 * gracefulEvictionTask {fromCluster, purgeMode, replicas, reason, message,
 * producer, creationTimestamp, clustersBeforeFailover, gracePeriodSeconds
 * (> 0 only), suppressDeletion (Never)}. preserved: preservedLabelState or
 * NULL (copied). Returns false when the cluster was not a target. */
bool failover_evict(cJSON *binding, const char *cluster, const char *purge_mode, const char *reason,
		    const char *producer, const char *message, long grace_s, const cJSON *preserved,
		    const char *now);

/* Karmada's graceful eviction controller: drops the tasks that are done —
 * the new placement is scheduled and every target cluster's item is applied
 * and Healthy, or the task's grace period (else timeout_s) has passed and a
 * replacement exists. A task with suppressDeletion (Never) stays; an empty
 * placement keeps every task (the evicted copy may be the only one).
 * Returns the number of tasks removed. */
int failover_assess_tasks(cJSON *binding, time_t now, long long timeout_s);

/* The clusters whose Work a binding keeps: its targets plus the fromCluster
 * of every task not purged Directly. Caller frees ([{name, replicas}]). */
cJSON *failover_works_kept(const cJSON *binding, const cJSON *targets);

/* statePreservation: {alias: value} for each rule {aliasLabelName,
 * jsonPath} of rules, read from status (a manifest's status; jsonPath
 * "{.a.b}" with dotted fields only). NULL when nothing is preserved. */
cJSON *failover_preserve_state(const cJSON *rules, const cJSON *status);

/* Karmada's injectReservedLabelState: a Work rendered for a cluster that
 * is not in a task's clustersBeforeFailover gets the task's
 * preservedLabelState as labels on each manifest. Returns true if changed. */
bool failover_inject_state(cJSON *work, const cJSON *binding, const char *cluster);

/* Replaces, in a binding's new status, the aggregatedStatus item of every
 * cluster whose Ready condition is not True by an unknown one (status
 * dropped, health Unknown) and sets condition ClusterStatusUnknown=True
 * (reason ClusterNotReady) naming them; once none is left it turns False
 * (reason AllClustersReady); absent while none ever was. clusters: the
 * Cluster objects. */
void failover_mask_unreachable(cJSON *status, const cJSON *clusters, const char *now);
/* The same in two steps, so that a caller with many bindings finds the
 * clusters that are not Ready once per change of the Clusters instead of
 * once per binding: *out (malloc'd, free it) points into clusters. */
int failover_unready_clusters(const cJSON *clusters, const cJSON ***out);
void failover_mask_unready(cJSON *status, const cJSON *const *bad, int nbad, const char *now);

/* ---- the loop ---- */

struct failover;
struct failover *failover_start(struct event_base *base, struct store *st, struct obj_ctx *objs);
/* One pass now (tests). */
void failover_run_once(struct failover *f);
void failover_stop(struct failover *f);

#endif
