/* defaults — server-side defaulting of stored objects.
 * Owns: the fields a real kube-apiserver fills in on create/update
 * (SetDefaults_* in k8s.io/kubernetes/pkg/apis/.../v1/defaults.go), so that
 * kubectl describe, get -o yaml and Tables look like a real cluster:
 * workload strategies and history limits, pod spec and container defaults
 * in pod templates, Service type/ports/cluster IP allocation, Namespace
 * phase and finalizers, Secret type.
 * Never overwrites a field the user set (JSON null counts as unset) and
 * leaves wrongly typed fields alone instead of replacing them.
 * Constant defaults are data: default=VALUE (and kdefault=VALUE) flags in
 * the schema table (proto/schema/k8s.schema, karmada.schema), applied by one walker over the
 * kind's messages. What stays code depends on other fields, on the kind or
 * on the server: a Job's completions (only without parallelism), a
 * strategy's rollingUpdate (only for type RollingUpdate), restartPolicy
 * (Always except for Jobs), imagePullPolicy (from the image's tag), Service
 * ports, cluster IPs and IP families, a policy's selector namespaces and a
 * Cluster's readiness taints. */
#ifndef ATOLL_DEFAULTS_H
#define ATOLL_DEFAULTS_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "kinds.h"

/* Fills defaults in place on create/update of a stored object of kind k.
 * ip_seq picks the Service cluster IP when one must be allocated:
 * 10.96.0.0/16 host number 1 + ip_seq % 65534 (so 0 gives 10.96.0.1,
 * 1 gives 10.96.0.2, ...); it also seeds NodePort allocation
 * (30000-32767, 30000 + (ip_seq * 16 + port index) % 2768; the caller
 * owns uniqueness). Kinds without defaults are left untouched. */
void defaults_apply(const struct kind_info *k, cJSON *obj, unsigned long ip_seq);

/* The schema table's defaults alone: default=/kdefault= values of message
 * msg (pbs_messages index; obj is that message's root object) and of the
 * messages below it. */
void defaults_from_schema(int msg, cJSON *obj);

/* Karmada's keys (pkg/apis/policy/v1alpha1, pkg/apis/cluster/v1alpha1). */
#define DEFAULTS_PP_PERMANENT_ID "propagationpolicy.karmada.io/permanent-id"
#define DEFAULTS_CPP_PERMANENT_ID "clusterpropagationpolicy.karmada.io/permanent-id"
#define DEFAULTS_PP_FINALIZER "karmada.io/propagation-policy-controller"
#define DEFAULTS_CPP_FINALIZER "karmada.io/cluster-propagation-policy-controller"
#define DEFAULTS_TAINT_NOT_READY "cluster.karmada.io/not-ready"
#define DEFAULTS_TAINT_UNREACHABLE "cluster.karmada.io/unreachable"

/* Karmada's webhook defaults that need more than the object: a
 * (Cluster)PropagationPolicy's permanent-id label, kept from old (the stored
 * object; NULL on create) when the new body lacks it, else new_id; and its
 * finalizer, unless the policy is being deleted. */
void defaults_karmada_identity(const struct kind_info *k, const cJSON *old, cJSON *obj, const char *new_id);

/* The cluster IP defaults_apply allocates for ip_seq, into buf. */
const char *defaults_cluster_ip(unsigned long ip_seq, char *buf, size_t len);

#endif
