/* render — bindings and Works as pure functions of stored objects.
 * Owns: Karmada's names (ResourceBinding "<name>-<kind>", Work
 * GenerateWorkName, execution namespace "karmada-es-<cluster>"), the
 * ResourceBinding / ClusterResourceBinding object for a (template, policy)
 * pair, the schedule result written into spec.clusters, the cleaned
 * per-cluster manifest (server-owned fields dropped, replicas set to the
 * cluster's share), OverridePolicy / ClusterOverridePolicy application in
 * Karmada's order, Karmada's ownership labels/annotations on Work and
 * manifest, and the dependencies (ConfigMaps, Secrets, ServiceAccounts,
 * PVCs) a workload's pod template references for propagateDeps.
 * Overrides and the pod spec of a workload: render_overrides.c.
 * No I/O, no globals, no clock. */
#ifndef ATOLL_RENDER_H
#define ATOLL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "scheduler.h"

/* Karmada label/annotation keys (pkg/apis/work/v1alpha2, pkg/util/constants.go). */
#define RB_PERMANENT_ID_LABEL "resourcebinding.karmada.io/permanent-id"
#define CRB_PERMANENT_ID_LABEL "clusterresourcebinding.karmada.io/permanent-id"
#define WORK_PERMANENT_ID_LABEL "work.karmada.io/permanent-id"
#define MANAGED_BY_KARMADA_LABEL "karmada.io/managed"
#define RB_NAME_ANNOTATION "resourcebinding.karmada.io/name"
#define RB_NAMESPACE_ANNOTATION "resourcebinding.karmada.io/namespace"
#define CRB_NAME_ANNOTATION "clusterresourcebinding.karmada.io/name"
#define WORK_NAME_ANNOTATION "work.karmada.io/name"
#define WORK_NAMESPACE_ANNOTATION "work.karmada.io/namespace"
#define CONFLICT_RESOLUTION_ANNOTATION "work.karmada.io/conflict-resolution"
#define TEMPLATE_UID_ANNOTATION "resourcetemplate.karmada.io/uid"
#define TEMPLATE_GENERATION_ANNOTATION "resourcetemplate.karmada.io/generation"
#define MANAGED_ANNOTATIONS_ANNOTATION "resourcetemplate.karmada.io/managed-annotations"
#define MANAGED_LABELS_ANNOTATION "resourcetemplate.karmada.io/managed-labels"
#define APPLIED_OVERRIDES_ANNOTATION "policy.karmada.io/applied-overrides"
#define APPLIED_CLUSTER_OVERRIDES_ANNOTATION "policy.karmada.io/applied-cluster-overrides"
#define APPLIED_PLACEMENT_ANNOTATION "policy.karmada.io/applied-placement"
#define DEPENDENCIES_ANNOTATION "resourcebinding.karmada.io/dependencies"
#define LAST_APPLIED_ANNOTATION "kubectl.kubernetes.io/last-applied-configuration"

/* k8s.io/apimachinery rand.SafeEncodeString: each byte mapped into
 * "bcdfghjklmnpqrstvwxz2456789". out must hold strlen(s)+1 bytes. */
void render_safe_encode(const char *s, char *out);

/* "<lower(name)>-<lower(kind)>", ':' in name replaced by '.'. */
void render_binding_name(const char *kind, const char *name, char *buf, size_t len);
/* Karmada's GenerateWorkName(kind, name, namespace): lower(name) + "-" +
 * SafeEncodeString(decimal FNV-1a-32 of lower("<ns>-<name>-<kind>"), or of
 * lower("<name>-<kind>") when ns is empty). The hashed text is the plain
 * string: kr/pretty's "%# v" prints a top-level string unquoted (Karmada's
 * docs show default/nginx Deployment → "nginx-687f7fb96f"). */
void render_work_name(const char *kind, const char *name, const char *ns, char *buf, size_t len);
/* "karmada-es-<cluster>" */
void render_exec_namespace(const char *cluster, char *buf, size_t len);

/* Whether a template's kind carries replicas Karmada divides
 * (Deployment, StatefulSet, ReplicaSet: spec.replicas; Job:
 * spec.parallelism), and how many it asks for. */
bool render_has_replicas(const cJSON *tmpl);
long render_replicas(const cJSON *tmpl);

/* The ResourceBinding (namespaced template) or ClusterResourceBinding
 * (cluster-scoped template) for tmpl claimed by policy. existing (may be
 * NULL) contributes what other stages own: spec.clusters (scheduler),
 * spec.requiredBy (dependencies), annotations such as the applied placement,
 * and the permanent id; binding_id is used when existing has none. The
 * result carries no status. Caller frees. */
cJSON *render_binding(const cJSON *tmpl, const cJSON *policy, bool cluster_policy, const cJSON *existing,
		      const char *binding_id);

/* Writes a schedule result into binding spec.clusters (sorted by name;
 * replicas omitted for non-workloads, as Karmada's omitempty does). */
void render_binding_set_clusters(cJSON *binding, const struct sched_result *r);

/* Target clusters of a binding: spec.clusters merged with every
 * spec.requiredBy[].clusters (Karmada's MergeTargetClusters). Returns a JSON
 * array of {name, replicas} sorted by name. Caller frees. */
cJSON *render_target_clusters(const cJSON *binding);

/* The manifest Karmada would ship: a copy of tmpl without
 * uid/resourceVersion/creationTimestamp/deletionTimestamp/generation/
 * managedFields/selfLink/status, without the last-applied annotation,
 * without a Service's allocated clusterIP(s). Caller frees. */
cJSON *render_clean_manifest(const cJSON *tmpl);

/* Sets the replicas field of a manifest (see render_has_replicas). */
void render_set_replicas(cJSON *manifest, long replicas);

/* The pod spec of a workload template (Pod, Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, Job, CronJob), or NULL for other kinds; points
 * into tmpl. (render_overrides.c) */
const cJSON *render_pod_spec(const cJSON *tmpl);

/* Applies ClusterOverridePolicies (cops) then OverridePolicies (ops) that
 * select manifest (resourceSelectors; empty = all) and whose rules target
 * cluster, each list sorted by implicit priority then name, each rule's
 * overriders in Karmada's order (image, command, args, labels, annotations,
 * field — JSON patch inside a string field holding YAML or JSON —,
 * plaintext). A rule's targetCluster is matched by the scheduler's
 * sched_cluster_affinity_matches, as Karmada uses one ClusterMatches for both.
 * cops/ops are JSON arrays and may be NULL; only OverridePolicies
 * in the manifest's namespace apply. applied_cops/applied_ops (may be NULL)
 * receive Karmada's AppliedOverrides lists [{policyName, overriders}] (caller
 * frees). Returns 0, or -1 with a message when an override is invalid (the
 * manifest is then unspecified). */
int render_apply_overrides(cJSON *manifest, const cJSON *cluster, const cJSON *cops, const cJSON *ops,
			   cJSON **applied_cops, cJSON **applied_ops, char *err, size_t errlen);

struct render_work_in {
	const cJSON *binding;   /* the ResourceBinding / ClusterResourceBinding */
	const cJSON *tmpl;      /* its resource template */
	const char *cluster;    /* target cluster name */
	long replicas;          /* the cluster's share */
	const cJSON *cluster_obj; /* Cluster object (for override targets), may be NULL */
	const cJSON *cops, *ops;  /* override policies, may be NULL */
	const char *work_id;    /* work.karmada.io/permanent-id to use */
};

/* The Work for one (binding, cluster): namespace karmada-es-<cluster>, name
 * render_work_name(), spec.workload.manifests[0] = the cleaned template with
 * replicas set to the share (Divided workloads only), overrides applied,
 * ownership labels/annotations stamped. applied (may be NULL) receives the
 * names ("ns/name" or "name") of the override policies that applied, as a
 * JSON array. Returns NULL with err set when an override fails. */
cJSON *render_work(const struct render_work_in *in, cJSON **applied, char *err, size_t errlen);

/* Whether a binding's Works differ only in what render_work_stamp sets
 * (issue 15: a Duplicated binding over 10,000 clusters rendered the same
 * manifest 10,000 times): no override policy given (cops and ops NULL or
 * empty) and no replicas divided among the clusters. */
bool render_work_stampable(const cJSON *binding, const cJSON *tmpl, const cJSON *cops, const cJSON *ops);
/* The Work render_work(in) makes, from proto, the Work render_work made
 * for another cluster of the same binding and template when
 * render_work_stampable: a copy with in's execution namespace (Work and
 * manifest annotation), permanent id (Work and manifest label; proto made
 * with a work_id too) and suspendDispatching. Caller frees. */
cJSON *render_work_stamp(const cJSON *proto, const struct render_work_in *in);
/* The same stamp on w itself (the prototype, for the next cluster). */
void render_work_stamp_into(cJSON *w, const struct render_work_in *in);

/* Dependencies a workload's pod template references (Karmada's default
 * interpreter): ConfigMaps and Secrets from volumes (also projected), env
 * and envFrom, image pull Secrets, the ServiceAccount (not "default"),
 * PersistentVolumeClaims. Returns a JSON array of {apiVersion, kind,
 * namespace, name} without duplicates, in that order. Caller frees. */
cJSON *render_dependencies(const cJSON *tmpl);

#endif
