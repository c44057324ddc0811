/* detector — which propagation policy claims a resource template.
 * Owns: what may be propagated at all (reserved namespaces, Karmada's own
 * API groups, cluster-internal kinds), Karmada's resourceSelector matching
 * (apiVersion, kind, namespace, name, labelSelector), the implicit priority
 * of a match (name > labelSelector > match-all), the choice between
 * competing PropagationPolicies and ClusterPropagationPolicies (explicit
 * spec.priority, then implicit priority, then policy name; a namespaced
 * policy is looked for first, as Karmada's detector does; a template keeps
 * the policy that already claims it unless a policy with preemption Always
 * outranks it — with Karmada's PolicyPreemption gate on), and the claim
 * labels/annotations a matched template carries; what ending a claim leaves
 * on a binding; Karmada's namespace sync (which Namespaces every member
 * gets); the finalizers Karmada puts on policies, bindings and Works; the
 * policy fields that hold a propagation back (schedulerName, suspension,
 * activationPreference Lazy).
 * Pure functions of the objects passed in: no I/O, no globals, no clock. */
#ifndef ATOLL_DETECTOR_H
#define ATOLL_DETECTOR_H

#include <stdbool.h>
#include <cjson/cJSON.h>

/* Karmada's label and annotation keys for a claimed template. */
#define PP_NAME_ANNOTATION "propagationpolicy.karmada.io/name"
#define PP_NAMESPACE_ANNOTATION "propagationpolicy.karmada.io/namespace"
#define PP_PERMANENT_ID_LABEL "propagationpolicy.karmada.io/permanent-id"
#define CPP_NAME_ANNOTATION "clusterpropagationpolicy.karmada.io/name"
#define CPP_PERMANENT_ID_LABEL "clusterpropagationpolicy.karmada.io/permanent-id"

/* Karmada's implicit priorities (pkg/util/selector.go). */
enum match_priority {
	MATCH_NONE = 0,
	MATCH_ALL = 1,
	MATCH_LABEL_SELECTOR = 2,
	MATCH_NAME = 3,
};

/* Karmada's namespace sync opt-out label (value "true"). */
#define NS_SKIP_AUTO_PROPAGATION_LABEL "namespace.karmada.io/skip-auto-propagation"

/* False for templates Atoll never propagates: namespaces karmada-system,
 * karmada-cluster, karmada-es-*, kube-*; API groups cluster.karmada.io,
 * policy.karmada.io, work.karmada.io; kinds Event, Lease, Node (and
 * events.k8s.io). Every other kind propagates, as in Karmada: Namespaces,
 * CustomResourceDefinitions and Pods included. */
bool detector_propagatable(const char *api_version, const char *kind, const char *ns);
/* Same, for a template object; a Namespace named like a reserved namespace
 * is not propagatable either. */
bool detector_template_propagatable(const cJSON *tmpl);
/* karmada-system, karmada-cluster, karmada-es-*, kube-*. */
bool detector_reserved_namespace(const char *name);
/* Whether Karmada's namespace sync controller copies this Namespace to every
 * member without a policy: not kube-*, karmada-*, default, not labelled
 * namespace.karmada.io/skip-auto-propagation=true, not being deleted. */
bool detector_namespace_auto_sync(const cJSON *ns);

/* How one resourceSelector matches a template (MATCH_NONE if it does not).
 * default_ns: for a PropagationPolicy its namespace (Karmada's webhook
 * defaults an empty selector namespace to it); NULL for cluster policies. */
enum match_priority detector_selector_match(const cJSON *selector, const cJSON *tmpl, const char *default_ns);
/* Highest priority over a policy's spec.resourceSelectors. */
enum match_priority detector_policy_match(const cJSON *policy, const cJSON *tmpl, bool cluster_policy);

struct detector_choice {
	const cJSON *policy;  /* points into pps or cpps; NULL when none matches */
	bool cluster_policy;  /* a ClusterPropagationPolicy */
	enum match_priority priority;
};

/* The policy for tmpl. pps: JSON array of PropagationPolicies (only those in
 * tmpl's namespace are considered); cpps: JSON array of
 * ClusterPropagationPolicies. Either may be NULL. Returns true when a policy
 * was chosen. Honours an existing claim (the template's claim annotations)
 * while the claiming policy still matches. */
bool detector_choose(const cJSON *tmpl, const cJSON *pps, const cJSON *cpps, struct detector_choice *out);
/* Same, with Karmada's PolicyPreemption feature gate: when preemption is
 * false (Karmada's default), `preemption: Always` takes nothing over and a
 * template keeps the policy that claims it. detector_choose = gate on. */
bool detector_choose_gated(const cJSON *tmpl, const cJSON *pps, const cJSON *cpps, bool preemption,
			   struct detector_choice *out);

/* A policy's permanent id: its propagationpolicy.karmada.io/permanent-id
 * (or clusterpropagationpolicy...) label, else its uid. */
const char *detector_policy_permanent_id(const cJSON *policy, bool cluster_policy);

/* The claim metadata a template should carry for policy, as a JSON merge
 * patch {"metadata":{"labels":{...},"annotations":{...}}} that also removes
 * the other kind's claim keys (null values). policy NULL = remove every
 * claim. Returns NULL when tmpl already carries exactly that claim. */
cJSON *detector_claim_patch(const cJSON *tmpl, const cJSON *policy, bool cluster_policy);

/* The binding without the policy claim (permanent-id labels, name and
 * namespace annotations; resourceVersion and status dropped), for an
 * update; NULL when it carries no claim. Deleting or narrowing a policy
 * ends its claim only: the binding and the members' copies stay, as in
 * Karmada, where a binding lives as long as its template. */
cJSON *detector_unclaimed_binding(const cJSON *binding);

/* Annotation on a ClusterResourceBinding made by the namespace sync (a
 * Namespace no policy claims, copied to every member). */
#define NS_SYNC_ANNOTATION "namespace.karmada.io/auto-propagated"
/* The implicit policy of the namespace sync: every cluster, Duplicated,
 * conflictResolution Overwrite. Caller frees. */
cJSON *detector_namespace_sync_policy(void);

/* Karmada's finalizers (pkg/util/constants.go): on policies, bindings and
 * Works, so a policy, binding or Work goes only after the hub has done
 * what its deletion means (claims ended, Works deleted). */
#define POLICY_FINALIZER "karmada.io/propagation-policy-controller"
#define CLUSTER_POLICY_FINALIZER "karmada.io/cluster-propagation-policy-controller"
#define BINDING_FINALIZER "karmada.io/binding-controller"
#define CLUSTER_RESOURCE_BINDING_FINALIZER "karmada.io/cluster-resource-binding-controller"
#define EXECUTION_FINALIZER "karmada.io/execution-controller"

/* obj without the finalizers above (for an update that completes its
 * deletion); NULL when it carries none of them. Caller frees. */
cJSON *detector_without_finalizers(const cJSON *obj);
/* Adds finalizer to obj's metadata.finalizers unless there. */
void detector_add_finalizer(cJSON *obj, const char *finalizer);

/* Whether Atoll's scheduler places a binding: spec.schedulerName empty or
 * "default-scheduler". A binding for another scheduler is left to it. */
#define DEFAULT_SCHEDULER_NAME "default-scheduler"
bool detector_for_default_scheduler(const cJSON *binding);

/* Karmada's suspension: whether the binding's Work for cluster is
 * suspended (spec.suspension.dispatching, or the cluster listed in
 * dispatchingOnClusters.clusterNames): its Work gets suspendDispatching and
 * the agent applies nothing of it until it is resumed. */
bool detector_dispatch_suspended(const cJSON *binding, const char *cluster);

/* spec.activationPreference Lazy: a change of the policy reaches a template
 * only with the template's next change. */
bool detector_policy_lazy(const cJSON *policy);

/* True when tmpl carries any claim label or annotation. */
bool detector_is_claimed(const cJSON *tmpl);

#endif
