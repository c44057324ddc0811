/* deployment — the Deployment controller as a pure function.
 * Owns: which ReplicaSet is a Deployment's new one (its template equal to
 * the Deployment's, ignoring the hash label), creating it (name
 * "<deployment>-<pod-template-hash>", revision annotations, selector and
 * template labels carrying the hash), scaling new and old ReplicaSets as
 * Kubernetes' RollingUpdate (maxSurge/maxUnavailable) and Recreate
 * strategies do, pausing (a paused Deployment only scales), removing old
 * ReplicaSets beyond revisionHistoryLimit, and the Deployment status (observedGeneration, replicas, updatedReplicas,
 * readyReplicas, availableReplicas, unavailableReplicas, the Available and
 * Progressing conditions with Kubernetes' reasons and messages,
 * including DeploymentPaused/DeploymentResumed).
 * The caller reads the objects, passes the clock, and performs the plan. */
#ifndef ATOLL_SIM_DEPLOYMENT_H
#define ATOLL_SIM_DEPLOYMENT_H

#include <stdbool.h>
#include <time.h>
#include <cjson/cJSON.h>

#define DEPLOY_REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define DEPLOY_DESIRED_ANNOTATION "deployment.kubernetes.io/desired-replicas"
#define DEPLOY_MAX_ANNOTATION "deployment.kubernetes.io/max-replicas"

struct sim_deploy_plan {
	cJSON *create_rs;    /* a ReplicaSet to create, or NULL */
	cJSON *rs_patches;   /* array of {"name":N,"patch":<merge patch>} for existing ReplicaSets */
	cJSON *rs_deletes;   /* array of names of old ReplicaSets to delete */
	cJSON *deploy_patch; /* merge patch of the Deployment's metadata, or NULL */
	cJSON *status;       /* the Deployment's status after this pass */
	char new_rs[300];    /* name of the new ReplicaSet ("" while Recreate waits) */
};

/* rss: the namespace's ReplicaSets (those controlled by d are used). */
void sim_deploy_plan(const cJSON *d, const cJSON *rss, time_t now, struct sim_deploy_plan *out);
void sim_deploy_plan_free(struct sim_deploy_plan *p);

/* Kubernetes' intstr.GetScaledValueFromIntOrPercent: an integer, or "N%"
 * of total rounded up or down. def when v is absent or malformed. */
int sim_scaled_value(const cJSON *v, int total, bool round_up, int def);
/* MaxSurge / MaxUnavailable of a Deployment (deploymentutil). */
int sim_deploy_max_surge(const cJSON *d);
int sim_deploy_max_unavailable(const cJSON *d);

/* True when the status says the rollout is complete (DeploymentComplete). */
bool sim_deploy_complete(const cJSON *d, const cJSON *status);

#endif
