/* member — the rules for objects the agent manages in a member cluster,
 * as Karmada's pull agent applies them (execution controller, object
 * watcher, work status controller, default resource interpreter).
 * Owns: manifest identity, ownership stamps (karmada.io/managed and the
 * work annotations), "may I take over this object?", Karmada's conflict
 * message, drift detection, status reflection and health interpretation,
 * the Applied condition, what to delete given the hub's Works and the
 * owned objects, and the cluster's node/resource summary. Pure functions
 * of JSON objects: the agent does the I/O. */
#ifndef ATOLL_MEMBER_H
#define ATOLL_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "protocol.h"

#define MANAGED_LABEL "karmada.io/managed"
#define WORK_NAME_ANN "work.karmada.io/name"
#define WORK_NAMESPACE_ANN "work.karmada.io/namespace"
#define WORK_PERMANENT_ID "work.karmada.io/permanent-id"
#define CONFLICT_ANN "work.karmada.io/conflict-resolution"
#define TEMPLATE_GENERATION_ANN "resourcetemplate.karmada.io/generation"
#define FIELD_MANAGER "atoll-agent"

struct member_ident {
	char group[128];
	char version[64];
	char kind[128];
	char ns[254];
	char name[254];
};

/* From apiVersion, kind, metadata.namespace/name. Returns -1 when any of
 * apiVersion, kind, name is missing. */
int member_ident_of(const cJSON *obj, struct member_ident *id);
bool member_ident_eq(const struct member_ident *a, const struct member_ident *b);

/* True when the object carries karmada.io/managed=true. */
bool member_owned(const cJSON *obj);

enum member_takeover {
	TAKEOVER_CREATE = 0, /* absent: create it */
	TAKEOVER_APPLY,      /* ours: apply */
	TAKEOVER_FORCE,      /* not ours, but the manifest says overwrite: apply with force */
	TAKEOVER_REFUSE,     /* not ours: leave it alone */
};
/* live may be NULL (absent). */
enum member_takeover member_may_take_over(const cJSON *live, const cJSON *desired);
/* Karmada's message for TAKEOVER_REFUSE. */
void member_conflict_message(const struct member_ident *id, const char *cluster, char *buf, size_t len);

/* The object to apply: a copy of the manifest without server-owned fields
 * and status, with the ownership stamps of work (name, namespace,
 * permanent-id). default_ns fills an empty namespace when namespaced. */
cJSON *member_desired(const cJSON *manifest, const cJSON *work, bool namespaced);

/* True when live no longer has what desired sets (labels, annotations and
 * every field outside metadata/status; lists element by element; fields
 * the server or other managers added are ignored). */
bool member_drifted(const cJSON *desired, const cJSON *live);

/* Where the agent read a state of a member object: its list + watch (one
 * ordered stream) or the answer to its own write (a separate connection,
 * so it may arrive after the watch has already delivered later states). */
enum member_source { MEMBER_FROM_WATCH, MEMBER_FROM_ANSWER };
/* Whether a state read at resourceVersion rv from src may replace the one
 * reflected so far (read at have_rv from have_src): false when it is
 * older. Resource versions are compared as numbers when both are decimal
 * (etcd revisions on every Kubernetes API server; store revisions on
 * atoll-sim); otherwise a write's answer never replaces what the watch
 * delivered, and the watch, being ordered, always wins. */
bool member_state_newer(const char *have_rv, enum member_source have_src, const char *rv, enum member_source src);

/* Karmada's reflected status of a member object (NULL: nothing to report). */
cJSON *member_reflect_status(const cJSON *live);
/* "Healthy", "Unhealthy" or "Unknown" (Karmada's default interpreter). */
const char *member_health(const cJSON *live);
/* Deployment health: observedGeneration == generation && updatedReplicas
 * >= spec.replicas && availableReplicas >= updatedReplicas. */
bool member_deployment_healthy(const cJSON *deploy);

/* The Applied condition for nok of n manifests applied with errors (a
 * NULL-terminated list of messages): reason/message per Karmada. */
void member_applied_condition(int n, int nok, const char *const *errors, bool *ok, char *reason, size_t rlen,
			      char *msg, size_t mlen);

/* Which owned objects must go. works: array of the hub's current Works for
 * this cluster; owned: array of member objects. An object is deleted only
 * when it carries karmada.io/managed=true, its work.karmada.io/namespace
 * is exec_ns, and its Work is gone or no longer lists it. Returns a new
 * array of references into owned (cJSON_CreateArrayReference-free: items
 * are duplicates). */
cJSON *member_plan_deletions(const cJSON *works, const cJSON *owned, const char *exec_ns);
/* Same test for one object: the Work named by its annotation (NULL when
 * the hub has none). */
bool member_should_delete(const cJSON *obj, const cJSON *work_or_null, const char *exec_ns);

/* The JSON merge patch that takes an object out of Karmada's management
 * (its Work was deleted with preserveResourcesOnDeletion): nulls for
 * Karmada's managed labels and annotations (ManagedResourceLabels /
 * ManagedResourceAnnotations); absent keys are unaffected. */
cJSON *member_release_patch(void);

/* Karmada's nodeSummary / resourceSummary from member Nodes and Pods:
 * allocatable = sum of node allocatable; allocating = requests of pods
 * without nodeName; allocated = requests of bound pods not Succeeded or
 * Failed; each adds one pod per pod. Pod requests = max(sum(containers),
 * max(initContainers)) + overhead. */
void member_cluster_summary(const cJSON *nodes, const cJSON *pods, struct proto_heartbeat *hb);

#endif
