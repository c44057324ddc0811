/* replicaset — the ReplicaSet controller as a pure function.
 * Owns: how many pods a ReplicaSet must create or which it must delete to
 * have exactly spec.replicas active pods (deleting first the pods that are
 * unscheduled, then not running, then not ready, then the newest, as
 * Kubernetes ranks them), and the ReplicaSet status (replicas,
 * fullyLabeledReplicas, readyReplicas, availableReplicas,
 * observedGeneration; zero fields left out as the API does). */
#ifndef ATOLL_SIM_REPLICASET_H
#define ATOLL_SIM_REPLICASET_H

#include <time.h>
#include <cjson/cJSON.h>

struct sim_rs_plan {
	int create;     /* pods to create from spec.template */
	cJSON *deletes; /* array of names of pods to delete */
	cJSON *status;  /* the status the ReplicaSet should have after them */
};

/* pods: the namespace's pods; those controlled by rs (and active) count. */
void sim_rs_plan(const cJSON *rs, const cJSON *pods, time_t now, struct sim_rs_plan *out);
void sim_rs_plan_free(struct sim_rs_plan *p);

/* The status of a workload's active pods: replicas, ready, available.
 * Shared by the ReplicaSet and StatefulSet controllers. */
struct sim_pod_counts {
	int replicas, labeled, ready, available;
};
void sim_count_pods(const cJSON *owner, const cJSON *pods, long min_ready_seconds, time_t now,
		    struct sim_pod_counts *out);

#endif
