/* scheduler — Karmada-compatible placement as a pure function.
 * Owns: cluster filtering (affinity, clusterAffinities fallback, taints and
 * tolerations, spread-constraint properties), candidate ordering, spread
 * constraints by cluster and region, replica assignment (Duplicated, static
 * weight, dynamic weight, Aggregated) with the Webster method Karmada uses
 * since v1.16, and Karmada's failure messages.
 * No I/O, no globals, no clock: the same inputs always give the same result. */
#ifndef ATOLL_SCHEDULER_H
#define ATOLL_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

struct sched_target {
	char name[64];
	long replicas;
};

struct sched_result {
	int n;
	struct sched_target *targets; /* sorted by cluster name ascending; malloc'd */
	/* false for non-workloads (Service, ConfigMap): targets carry replicas 0
	 * and mean "the whole object". */
	bool has_replicas;
	char reason[32];    /* on failure: "Unschedulable" | "NoClusterFit" | "SchedulerError" */
	char message[1024]; /* on failure: Karmada's message */
	/* with placement.clusterAffinities: the term that scheduled ("" else);
	 * Karmada's status.schedulerObservingAffinityName */
	char affinity_name[128];
};

/* clusters: JSON array of cluster.karmada.io/v1alpha1 Cluster objects.
 * placement: a PropagationPolicy's spec.placement (NULL = all clusters,
 * Duplicated). workload: the resource template (metadata.uid breaks ties,
 * spec.replicas, pod template requests for dynamic weight).
 * workload_has_replicas: whether the kind carries replicas at all.
 * previous: the previous spec.clusters [{name,replicas}] or NULL.
 * Returns 0, or -1 with out->reason/out->message set. out is always
 * initialised and must be released with sched_result_free. */
int schedule(const cJSON *clusters, const cJSON *placement, const cJSON *workload,
	     bool workload_has_replicas, const cJSON *previous, struct sched_result *out);
/* schedule() with two more inputs.
 * eviction_tasks (spec.gracefulEvictionTasks, or NULL): the clusters they
 * name (fromCluster) are filtered out, as Karmada's ClusterEviction plugin
 * does. A cluster in previous is kept whatever its taints (Karmada's
 * TaintToleration skips it: NoSchedule only keeps new placements away;
 * NoExecute is the taint manager's).
 * fresh: Karmada's Fresh assignment mode (the binding's
 * spec.rescheduleTriggeredAt is newer than its status.lastScheduledTime):
 * dynamic weight and Aggregated place every replica again, counting the
 * replicas a cluster runs now as available, instead of keeping the previous
 * result and dividing only the difference. Duplicated and static weight
 * never depend on the previous result. */
int schedule_full(const cJSON *clusters, const cJSON *placement, const cJSON *workload,
		  bool workload_has_replicas, const cJSON *previous, const cJSON *eviction_tasks, bool fresh,
		  struct sched_result *out);
void sched_result_free(struct sched_result *r);

/* What the filters read of each cluster (its name, labels, spec, taints,
 * Ready status), looked up once for a list of clusters that many
 * schedulings share (the controller's Cluster cache), instead of once per
 * binding and cluster. Borrows clusters: it must outlive the facts and not
 * change (a changed cluster needs new facts). NULL when clusters is not a
 * list or memory is short.
 * The facts also keep the filters' verdicts per cluster for each filter
 * input seen (the affinity term, clusterTolerations and spreadConstraints,
 * compared as printed JSON), so schedulings with the same placement run
 * the filters over the clusters once; the previous result and the eviction
 * tasks, which differ per binding, are applied on top. Not thread-safe. */
struct sched_facts;
struct sched_facts *sched_facts_build(const cJSON *clusters);
void sched_facts_free(struct sched_facts *f);
/* How often the facts' filter cache answered (hits) and was filled
 * (misses, one per distinct filter input). */
void sched_facts_cache_stats(const struct sched_facts *f, long *hits, long *misses);
/* schedule_full over facts built from clusters (the same result). */
int schedule_full_facts(const struct sched_facts *facts, const cJSON *placement, const cJSON *workload,
			bool workload_has_replicas, const cJSON *previous, const cJSON *eviction_tasks, bool fresh,
			struct sched_result *out);

/* "{ap:4, eu:3, us:3}" — the Result part of Karmada's ScheduleBindingSucceed
 * event message (non-workloads print "{ap:0, ...}" as Karmada does). */
void sched_result_format(const struct sched_result *r, char *buf, size_t len);

/* Webster / Sainte-Laguë seat allocation exactly as Karmada's
 * AllocateWebsterSeats with tieBreakerByUID: equal priorities go to the party
 * with fewer seats, then by name — ascending when uid is NULL/empty or
 * FNV-1a-32(uid) is even, descending when odd. initial may be NULL.
 * out[i] = initial[i] + new seats. Returns 0, or -1 on invalid arguments. */
int sched_webster_allocate(long seats, int n, const char *const names[], const long votes[],
		     const long initial[], const char *uid, long out[]);

/* Karmada's util.ClusterMatches: whether one Cluster object satisfies a
 * ClusterAffinity (exclude, labelSelector, fieldSelector on provider/region
 * and zone by matchZones, clusterNames). Used for placement and for
 * OverridePolicy targetCluster alike, as Karmada does. A NULL or non-object
 * affinity matches every cluster; an invalid selector matches none. */
bool sched_cluster_affinity_matches(const cJSON *cluster, const cJSON *affinity);

/* corev1.Toleration.ToleratesTaint: does toleration tol tolerate the taint
 * key=value:effect? An empty effect matches every effect; an empty key with
 * operator Exists tolerates every taint (of the effect); an empty or "Equal"
 * operator needs the key and value (NULL taint value = "") to match. Shared
 * by the scheduler's taint filter and the failover taint manager. */
bool sched_tolerates_taint(const cJSON *tol, const char *key, const char *value, const char *effect);

/* FNV-1a 32-bit hash of a string (Karmada's tie-break and work names). */
unsigned int sched_fnv1a32(const char *s);

#endif
