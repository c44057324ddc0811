#include "ctl_template.h"

#include <stdlib.h>
#include <string.h>

#include "ctl_binding.h"
#include "detector.h"
#include "jsonutil.h"
#include "render.h"

static bool is_dependency_kind(const char *kind);
static void enqueue_dependents_parents(struct controller *c, const char *ns, const char *kind, const char *name);
static void set_outcome(struct controller *c, const char *key, const char *outcome, bool *changed, bool *first);
static void sync_namespace(struct controller *c, const cJSON *tmpl, const cJSON *binding,
			   const struct kind_info *bk, const char *bname, const char *bkey);
static bool dependent_overrides_ready(struct controller *c, const cJSON *policy, bool cluster_policy, const cJSON *tmpl,
				      const char *key);
static bool schedule_priority_of(struct controller *c, const cJSON *policy, bool cluster_policy, const cJSON *tmpl,
				 const char *tkey, double *prio, bool *has);

/* ---- detector stage ------------------------------------------------------------- */

static bool is_dependency_kind(const char *kind)
{
	return strcmp(kind, "ConfigMap") == 0 || strcmp(kind, "Secret") == 0 || strcmp(kind, "ServiceAccount") == 0 ||
	       strcmp(kind, "PersistentVolumeClaim") == 0;
}

/* Bindings in ns whose dependencies annotation names (kind, name). */
static void enqueue_dependents_parents(struct controller *c, const char *ns, const char *kind, const char *name)
{
	char prefix[600];
	obj_key(prefix, sizeof prefix, ctl_binding_kind(false), ns, "");
	cJSON *bs = ctl_list_prefix(c, prefix);
	const cJSON *b;
	cJSON_ArrayForEach(b, bs)
	{
		const char *deps = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(json_get(b, "metadata.annotations"), DEPENDENCIES_ANNOTATION));
		if (!deps)
			continue;
		cJSON *d = cJSON_Parse(deps), *it;
		cJSON_ArrayForEach(it, d)
		{
			if (strcmp(json_get_str(it, "kind") ? json_get_str(it, "kind") : "", kind) == 0 &&
			    strcmp(json_get_str(it, "name") ? json_get_str(it, "name") : "", name) == 0) {
				char key[1024];
				obj_key(key, sizeof key, ctl_binding_kind(false), ns, ctl_mstr(b, "name"));
				ctl_enqueue(c, 'B', key);
			}
		}
		cJSON_Delete(d);
	}
	cJSON_Delete(bs);
}

static void set_outcome(struct controller *c, const char *key, const char *outcome, bool *changed, bool *first)
{
	bool found = strmap_has(&c->outcome, key);
	const char *old = strmap_get_str(&c->outcome, key);
	*first = !found;
	*changed = !found || !old || strcmp(old, outcome) != 0;
	if (*changed)
		strmap_put_str(&c->outcome, key, outcome);
}

/* Karmada's namespace sync: a Namespace no policy claims goes to every
 * member (through a ClusterResourceBinding of the implicit policy, so
 * ClusterOverridePolicies apply), never claimed by a policy. */
static void sync_namespace(struct controller *c, const cJSON *tmpl, const cJSON *binding,
			   const struct kind_info *bk, const char *bname, const char *bkey)
{
	cJSON *pol = detector_namespace_sync_policy();
	char bid[64];
	ctl_new_uuid(bid, sizeof bid);
	cJSON *desired = render_binding(tmpl, pol, true, binding, bid);
	cJSON_Delete(pol);
	cJSON *unclaimed = detector_unclaimed_binding(desired);
	if (unclaimed) {
		cJSON_Delete(desired);
		desired = unclaimed;
	}
	json_set_str(json_ensure_obj(desired, "metadata.annotations"), NS_SYNC_ANNOTATION, "true");
	ctl_upsert(c, bk, "", bname, desired, binding, NULL);
	ctl_enqueue(c, 'B', bkey);
}

/* Karmada's dependentOverrides: the policy applies only once every named
 * OverridePolicy (ClusterOverridePolicy for a cluster policy) exists; until
 * then the template gets ApplyPolicyFailed "waiting for dependent overrides"
 * (once) and stays as it is. reconcile_override queues the policy again. */
static bool dependent_overrides_ready(struct controller *c, const cJSON *policy, bool cluster_policy, const cJSON *tmpl,
				      const char *key)
{
	const cJSON *n;
	const struct kind_info *ok = ctl_kind("policy.karmada.io", "v1alpha1", cluster_policy ? "ClusterOverridePolicy" : "OverridePolicy");
	const char *pns = cluster_policy ? "" : ctl_mstr(policy, "namespace");
	cJSON_ArrayForEach(n, json_get(policy, "spec.dependentOverrides"))
	{
		if (!cJSON_IsString(n))
			continue;
		char okey[1024];
		if (store_get(c->st, obj_key(okey, sizeof okey, ok, pns ? pns : "", n->valuestring), NULL, NULL) == STORE_OK)
			continue;
		char outcome[700], msg[900];
		const char *pn = ctl_mstr(policy, "name") ? ctl_mstr(policy, "name") : "";
		snprintf(outcome, sizeof outcome, "wait:%s/%s", pns ? pns : "", pn);
		bool changed, first;
		set_outcome(c, key, outcome, &changed, &first);
		if (changed) {
			if (cluster_policy)
				snprintf(msg, sizeof msg, "Apply cluster policy(%s) failed: waiting for dependent overrides", pn);
			else
				snprintf(msg, sizeof msg, "Apply policy(%s/%s) failed: waiting for dependent overrides", pns, pn);
			ctl_event(c, tmpl, true, "ApplyPolicyFailed", msg, C_DETECTOR, first ? EVENT_ONCE : EVENT_BUMP);
		}
		return false;
	}
	return true;
}

/* The binding priority a policy's spec.schedulePriority names (Karmada's
 * detector with PriorityBasedScheduling): the value of the PriorityClass
 * (priorityClassSource KubePriorityClass, the only source). false, with an
 * ApplyPolicyFailed event on the template, when the class does not exist. */
static bool schedule_priority_of(struct controller *c, const cJSON *policy, bool cluster_policy, const cJSON *tmpl,
				 const char *tkey, double *prio, bool *has)
{
	const cJSON *sp = json_get(policy, "spec.schedulePriority");
	const char *pcn = json_get_str(sp, "priorityClassName");
	*has = false;
	if (!cJSON_IsObject(sp) || !pcn || !*pcn)
		return true;
	cJSON *pc = ctl_get_obj(c, ctl_kind("scheduling.k8s.io", "v1", "PriorityClass"), "", pcn);
	if (!pc) {
		char msg[1200];
		const char *pn = ctl_mstr(policy, "name") ? ctl_mstr(policy, "name") : "";
		if (cluster_policy)
			snprintf(msg, sizeof msg, "Apply cluster policy(%s) failed: priorityclasses.scheduling.k8s.io \"%s\" not found",
				 pn, pcn);
		else
			snprintf(msg, sizeof msg, "Apply policy(%s/%s) failed: priorityclasses.scheduling.k8s.io \"%s\" not found",
				 ctl_mstr(policy, "namespace") ? ctl_mstr(policy, "namespace") : "", pn, pcn);
		ctl_event(c, tmpl, true, "ApplyPolicyFailed", msg, C_DETECTOR, EVENT_BUMP);
		strmap_put_str(&c->prio_waiting, tkey, pcn); /* tried again when it is created */
		return false;
	}
	strmap_del(&c->prio_waiting, tkey);
	*prio = json_get_num(pc, "value", 0);
	*has = true;
	cJSON_Delete(pc);
	return true;
}

void ctl_reconcile_template(struct controller *c, const char *key)
{
	struct objc_key_parts kp;
	if (objc_split_key(key, &kp) < 0)
		return;
	const struct kind_info *k = objc_kind_of(&kp);
	if (!k)
		return;
	char bkey[1024];
	ctl_binding_key_for(kp.ns, k->kind, kp.name, bkey, sizeof bkey);
	const struct kind_info *bk = ctl_binding_kind(!kp.ns[0]);
	cJSON *tmpl = ctl_get_key(c, key);
	cJSON *binding = ctl_get_key(c, bkey);
	char bname[600];
	render_binding_name(k->kind, kp.name, bname, sizeof bname);

	if (!tmpl) {
		/* Deleted: its binding and Works go with it. */
		strmap_del(&c->outcome, key);
		if (binding && strcmp(json_get_str(binding, "spec.resource.kind") ? json_get_str(binding, "spec.resource.kind") : "",
				      k->kind) == 0) {
			ctl_delete_works(c, kp.ns, bname, k->kind, kp.name, kp.ns, NULL);
			ctl_delete_obj(c, bk, kp.ns, bname);
		}
		if (kp.ns[0] && is_dependency_kind(k->kind))
			enqueue_dependents_parents(c, kp.ns, k->kind, kp.name);
		cJSON_Delete(binding);
		return;
	}
	if (!detector_template_propagatable(tmpl) || ctl_mstr(tmpl, "deletionTimestamp")) {
		cJSON_Delete(tmpl);
		cJSON_Delete(binding);
		return;
	}
	char prefix[600];
	cJSON *pps = NULL;
	if (kp.ns[0]) {
		obj_key(prefix, sizeof prefix, ctl_kind("policy.karmada.io", "v1alpha1", "PropagationPolicy"), kp.ns, "");
		pps = ctl_list_prefix(c, prefix);
	}
	cJSON *cpps = ctl_list_prefix(c, "policy.karmada.io/clusterpropagationpolicies/");
	struct detector_choice ch;
	bool matched = detector_choose_gated(tmpl, pps, cpps, c->policy_preemption, &ch);
	bool attached = binding && cJSON_GetArraySize(json_get(binding, "spec.requiredBy")) > 0;
	bool changed, first;

	if (!matched) {
		cJSON *patch = detector_claim_patch(tmpl, NULL, false);
		if (patch) {
			struct api_error e = {0};
			if (objc_merge_patch(&c->oc, k, kp.ns, kp.name, patch, SUBRES_NONE, NULL, &e) < 0)
				ctl_write_failed(c, "unclaim", k, kp.ns, kp.name, &e);
			cJSON_Delete(patch);
		}
		if (detector_namespace_auto_sync(tmpl)) {
			sync_namespace(c, tmpl, binding, bk, bname, bkey);
			goto out;
		}
		if (binding) {
			/* The policy's claim ends; the binding, its Works and the
			 * members' copies stay while the template exists (Karmada). */
			cJSON *desired = detector_unclaimed_binding(binding);
			if (desired)
				ctl_upsert(c, bk, kp.ns, bname, desired, binding, NULL);
			ctl_enqueue(c, 'B', bkey);
		}
		if (!attached && !binding) {
			set_outcome(c, key, "none", &changed, &first);
			if (changed)
				ctl_event(c, tmpl, true, "ApplyPolicyFailed", "No policy match for resource", C_DETECTOR,
				      first ? EVENT_ONCE : EVENT_BUMP);
		}
		if (kp.ns[0] && is_dependency_kind(k->kind))
			enqueue_dependents_parents(c, kp.ns, k->kind, kp.name);
		goto out;
	}

	/* activationPreference Lazy: a policy change waits for the template's
	 * next change. dependentOverrides: wait until they exist. */
	if (c->policy_pass && detector_policy_lazy(ch.policy)) {
		if (binding)
			ctl_enqueue(c, 'B', bkey);
		goto out;
	}
	if (!dependent_overrides_ready(c, ch.policy, ch.cluster_policy, tmpl, key))
		goto out;
	/* PriorityBasedScheduling: the policy's PriorityClass gives the
	 * binding its priority; without the class the binding is not built. */
	double sched_prio = 0;
	bool has_prio = false;
	if (c->priority_scheduling && !schedule_priority_of(c, ch.policy, ch.cluster_policy, tmpl, key, &sched_prio, &has_prio))
		goto out;
	/* Claim the template (its own store event is not queued again). */
	cJSON *patch = detector_claim_patch(tmpl, ch.policy, ch.cluster_policy);
	struct ctl_origin origin = {NULL, key};
	const void *prev_origin = ctl_origin_begin(c, &origin);
	if (patch) {
		struct api_error e = {0};
		cJSON *so = NULL;
		if (objc_merge_patch(&c->oc, k, kp.ns, kp.name, patch, SUBRES_NONE, &so, &e) < 0)
			ctl_write_failed(c, "claim", k, kp.ns, kp.name, &e);
		if (so) {
			cJSON_Delete(tmpl);
			tmpl = so;
		}
		cJSON_Delete(patch);
	}
	ctl_origin_end(c, prev_origin);
	char outcome[600], msg[700];
	const char *pn = ctl_mstr(ch.policy, "name") ? ctl_mstr(ch.policy, "name") : "";
	if (ch.cluster_policy) {
		snprintf(outcome, sizeof outcome, "cpp:%s", pn);
		snprintf(msg, sizeof msg, "Apply cluster policy(%s) succeed", pn);
	} else {
		snprintf(outcome, sizeof outcome, "pp:%s/%s", ctl_mstr(ch.policy, "namespace"), pn);
		snprintf(msg, sizeof msg, "Apply policy(%s/%s) succeed", ctl_mstr(ch.policy, "namespace"), pn);
	}
	set_outcome(c, key, outcome, &changed, &first);
	if (changed)
		ctl_event(c, tmpl, false, "ApplyPolicySucceed", msg, C_DETECTOR, first ? EVENT_ONCE : EVENT_BUMP);

	char bid[64];
	ctl_new_uuid(bid, sizeof bid);
	cJSON *desired = render_binding(tmpl, ch.policy, ch.cluster_policy, binding, bid);
	if (has_prio) {
		cJSON *sp = cJSON_CreateObject();
		cJSON_AddNumberToObject(sp, "priority", sched_prio);
		json_set(json_ensure_obj(desired, "spec"), "schedulePriority", sp);
	}
	cJSON *dann = json_ensure_obj(desired, "metadata.annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(dann, NS_SYNC_ANNOTATION); /* a policy claims it now */
	if (cJSON_IsTrue(json_get(desired, "spec.propagateDeps"))) {
		cJSON *deps = render_dependencies(tmpl);
		char *s = json_print(deps);
		json_set_str(dann, DEPENDENCIES_ANNOTATION, s);
		free(s);
		cJSON_Delete(deps);
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(dann, DEPENDENCIES_ANNOTATION);
	}
	if (cJSON_GetArraySize(dann) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(json_get(desired, "metadata"), "annotations");
	/* Template content reaches the Works through the binding stage: at
	 * once, with the binding written once (spec and status), when it
	 * exists; else written here and the stage queued. */
	if (!ctl_reconcile_binding_with(c, bkey, binding, desired)) {
		ctl_upsert(c, bk, kp.ns, bname, desired, binding, NULL);
		ctl_enqueue(c, 'B', bkey);
	}
out:
	cJSON_Delete(pps);
	cJSON_Delete(cpps);
	cJSON_Delete(tmpl);
	cJSON_Delete(binding);
}

/* Templates a policy may select: every propagatable kind in its namespace
 * (PropagationPolicy) or everywhere (ClusterPropagationPolicy). */
void ctl_reconcile_policy(struct controller *c, const char *key)
{
	struct objc_key_parts kp;
	if (objc_split_key(key, &kp) < 0)
		return;
	bool cluster = strcmp(kp.plural, "clusterpropagationpolicies") == 0;
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		bool dup = false;
		for (int j = 0; j < i; j++) {
			const struct kind_info *o = kinds_at(j);
			dup |= strcmp(o->group, k->group) == 0 && strcmp(o->plural, k->plural) == 0;
		}
		char av[256];
		kind_api_version(k, av, sizeof av);
		if (dup || !detector_propagatable(av, k->kind, cluster ? "" : kp.ns))
			continue;
		if (!cluster && !k->namespaced)
			continue;
		char prefix[600];
		store_key(prefix, sizeof prefix, k->group, k->plural, cluster ? NULL : kp.ns, "");
		if (cluster) {
			/* "<group>/<plural>/" covers every namespace */
			char *p = strstr(prefix, "//");
			if (p)
				p[1] = '\0';
		}
		ctl_enqueue_prefix(c, 't', prefix); /* 't': a policy changed (activationPreference) */
	}
	/* karmada.io/propagation-policy-controller: a policy being deleted
	 * matches nothing (detector_policy_match), so the templates queued
	 * above lose its claim; it may go now. */
	cJSON *pol = ctl_get_key(c, key);
	if (pol && ctl_mstr(pol, "deletionTimestamp"))
		ctl_finish_deletion(c, ctl_kind("policy.karmada.io", "v1alpha1", cluster ? "ClusterPropagationPolicy" : "PropagationPolicy"),
				pol);
	cJSON_Delete(pol);
}

void ctl_reconcile_override(struct controller *c, const char *key)
{
	struct objc_key_parts kp;
	if (objc_split_key(key, &kp) < 0)
		return;
	bool cluster = strcmp(kp.plural, "clusteroverridepolicies") == 0;
	ctl_enqueue_all_bindings(c, 'B', cluster ? NULL : kp.ns);
	/* Policies waiting for it (dependentOverrides) apply now. */
	char prefix[600];
	const struct kind_info *pk = ctl_kind("policy.karmada.io", "v1alpha1", cluster ? "ClusterPropagationPolicy" : "PropagationPolicy");
	obj_key(prefix, sizeof prefix, pk, cluster ? "" : kp.ns, "");
	cJSON *pols = ctl_list_prefix(c, prefix);
	const cJSON *p, *n;
	cJSON_ArrayForEach(p, pols)
	{
		cJSON_ArrayForEach(n, json_get(p, "spec.dependentOverrides"))
		{
			if (cJSON_IsString(n) && strcmp(n->valuestring, kp.name) == 0) {
				char pkey[1024];
				ctl_enqueue(c, 'P', obj_key(pkey, sizeof pkey, pk, cluster ? "" : kp.ns, ctl_mstr(p, "name")));
				break;
			}
		}
	}
	cJSON_Delete(pols);
}
