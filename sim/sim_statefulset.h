/* statefulset — the StatefulSet controller as a pure function.
 * Owns: which pods "<name>-<ordinal>" a StatefulSet must create or delete
 * this pass (OrderedReady: one at a time, in order, each waiting for the
 * previous to be Running and Ready, scaling down from the highest ordinal;
 * Parallel: all at once), rolling updates (highest ordinal first, down to
 * the partition, one pod at a time; OnDelete leaves pods alone), the pod
 * of an ordinal (labels controller-revision-hash and
 * statefulset.kubernetes.io/pod-name, hostname, subdomain, the volumes of
 * its claims), the PersistentVolumeClaims of volumeClaimTemplates (created
 * Bound, kept when pods go, as the Retain policy does), and the
 * StatefulSet status (replicas, readyReplicas, availableReplicas,
 * currentReplicas, updatedReplicas, currentRevision, updateRevision,
 * observedGeneration, collisionCount). */
#ifndef ATOLL_SIM_STATEFULSET_H
#define ATOLL_SIM_STATEFULSET_H

#include <time.h>
#include <cjson/cJSON.h>

#define STS_REVISION_LABEL "controller-revision-hash"
#define STS_POD_NAME_LABEL "statefulset.kubernetes.io/pod-name"

struct sim_sts_plan {
	cJSON *creates; /* array of ordinals (numbers) to create */
	cJSON *deletes; /* array of names of pods to delete */
	cJSON *status;  /* the StatefulSet's status */
};

/* pods: the namespace's pods (those the StatefulSet controls count). */
void sim_sts_plan(const cJSON *sts, const cJSON *pods, time_t now, struct sim_sts_plan *out);
void sim_sts_plan_free(struct sim_sts_plan *p);

/* "<name>-<hash of the pod template>" into buf. */
const char *sim_sts_revision(const cJSON *sts, char *buf, size_t len);
/* The Pod for ordinal (no status), bound to node (may be NULL). */
cJSON *sim_sts_pod(const cJSON *sts, int ordinal, const char *node);
/* The PersistentVolumeClaims (Bound) pod ordinal uses; an array. */
cJSON *sim_sts_claims(const cJSON *sts, int ordinal);

#endif
