#include "detector.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "selector.h"

static const char *str_or(const char *s, const char *def) { return s ? s : def; }

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

bool detector_propagatable(const char *api_version, const char *kind, const char *ns)
{
	if (!api_version || !kind)
		return false;
	if (detector_reserved_namespace(ns))
		return false;
	/* group of "group/version"; the core group has no slash */
	const char *slash = strchr(api_version, '/');
	if (slash) {
		size_t gl = (size_t)(slash - api_version);
		static const char *const groups[] = {"cluster.karmada.io", "policy.karmada.io", "work.karmada.io",
						     "apps.karmada.io", "events.k8s.io", NULL};
		for (int i = 0; groups[i]; i++)
			if (strlen(groups[i]) == gl && strncmp(api_version, groups[i], gl) == 0)
				return false;
	}
	/* Every other kind the hub serves propagates (Namespaces, CRDs and Pods
	 * too, as in Karmada); only what a cluster makes for itself does not. */
	static const char *const kinds[] = {"Event", "Lease", "Node", NULL};
	for (int i = 0; kinds[i]; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return false;
	return true;
}

bool detector_reserved_namespace(const char *name)
{
	name = str_or(name, "");
	return strcmp(name, "karmada-system") == 0 || strcmp(name, "karmada-cluster") == 0 ||
	       has_prefix(name, "karmada-es-") || has_prefix(name, "kube-");
}

bool detector_template_propagatable(const cJSON *tmpl)
{
	const char *kind = json_get_str(tmpl, "kind"), *av = json_get_str(tmpl, "apiVersion");
	/* A Namespace object in the reserved set is as reserved as its contents. */
	if (kind && av && strcmp(kind, "Namespace") == 0 && strcmp(av, "v1") == 0 &&
	    detector_reserved_namespace(json_get_str(tmpl, "metadata.name")))
		return false;
	return detector_propagatable(av, kind, json_get_str(tmpl, "metadata.namespace"));
}

bool detector_namespace_auto_sync(const cJSON *ns)
{
	const char *kind = json_get_str(ns, "kind"), *av = json_get_str(ns, "apiVersion");
	const char *name = json_get_str(ns, "metadata.name");
	if (!kind || !av || !name || strcmp(kind, "Namespace") != 0 || strcmp(av, "v1") != 0)
		return false;
	if (detector_reserved_namespace(name) || has_prefix(name, "karmada-") || strcmp(name, "default") == 0)
		return false;
	const char *skip = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(json_get(ns, "metadata.labels"), NS_SKIP_AUTO_PROPAGATION_LABEL));
	if (skip && strcmp(skip, "true") == 0)
		return false;
	return !json_get_str(ns, "metadata.deletionTimestamp");
}

enum match_priority detector_selector_match(const cJSON *sel, const cJSON *tmpl, const char *default_ns)
{
	const char *av = json_get_str(sel, "apiVersion"), *kind = json_get_str(sel, "kind");
	const char *tav = json_get_str(tmpl, "apiVersion"), *tkind = json_get_str(tmpl, "kind");
	if (!av || !kind || !tav || !tkind || strcmp(av, tav) != 0 || strcmp(kind, tkind) != 0)
		return MATCH_NONE;
	const char *ns = json_get_str(sel, "namespace");
	if ((!ns || !*ns) && default_ns)
		ns = default_ns;
	const char *tns = str_or(json_get_str(tmpl, "metadata.namespace"), "");
	if (ns && *ns && strcmp(ns, tns) != 0)
		return MATCH_NONE;
	/* Name first: a selector with a name ignores its labelSelector. */
	const char *name = json_get_str(sel, "name");
	if (name && *name)
		return strcmp(name, str_or(json_get_str(tmpl, "metadata.name"), "")) == 0 ? MATCH_NAME : MATCH_NONE;
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(sel, "labelSelector");
	if (!ls || cJSON_IsNull(ls))
		return MATCH_ALL;
	char err[256];
	struct label_selector *s = label_selector_from_json(ls, err, sizeof err);
	if (!s)
		return MATCH_NONE; /* an invalid selector matches nothing, as in Karmada */
	bool ok = label_selector_matches(s, json_get(tmpl, "metadata.labels"));
	label_selector_free(s);
	return ok ? MATCH_LABEL_SELECTOR : MATCH_NONE;
}

enum match_priority detector_policy_match(const cJSON *policy, const cJSON *tmpl, bool cluster_policy)
{
	if (json_get_str(policy, "metadata.deletionTimestamp"))
		return MATCH_NONE;
	const char *pns = cluster_policy ? NULL : json_get_str(policy, "metadata.namespace");
	if (!cluster_policy) {
		/* A PropagationPolicy only sees templates in its own namespace. */
		const char *tns = json_get_str(tmpl, "metadata.namespace");
		if (!pns || !tns || strcmp(pns, tns) != 0)
			return MATCH_NONE;
	}
	enum match_priority best = MATCH_NONE;
	const cJSON *sel;
	cJSON_ArrayForEach(sel, json_get(policy, "spec.resourceSelectors"))
	{
		enum match_priority p = detector_selector_match(sel, tmpl, pns);
		if (p > best)
			best = p;
	}
	return best;
}

static long explicit_priority(const cJSON *policy)
{
	const cJSON *p = json_get(policy, "spec.priority");
	return cJSON_IsNumber(p) ? (long)p->valuedouble : 0;
}

static const char *pname(const cJSON *policy) { return str_or(json_get_str(policy, "metadata.name"), ""); }

/* Karmada's getHighestPriorityPropagationPolicy. */
static const cJSON *best_of(const cJSON *policies, const cJSON *tmpl, bool cluster_policy, enum match_priority *prio)
{
	const cJSON *best = NULL;
	long best_explicit = LONG_MIN;
	enum match_priority best_implicit = MATCH_NONE;
	const cJSON *p;
	cJSON_ArrayForEach(p, policies)
	{
		enum match_priority imp = detector_policy_match(p, tmpl, cluster_policy);
		if (imp == MATCH_NONE)
			continue;
		long ex = explicit_priority(p);
		if (!best || ex > best_explicit || (ex == best_explicit && imp > best_implicit) ||
		    (ex == best_explicit && imp == best_implicit && strcmp(pname(p), pname(best)) < 0)) {
			best = p;
			best_explicit = ex;
			best_implicit = imp;
		}
	}
	*prio = best_implicit;
	return best;
}

static const cJSON *find_named(const cJSON *policies, const char *ns, const char *name)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, policies)
	{
		if (strcmp(pname(p), name) == 0 &&
		    (!ns || strcmp(str_or(json_get_str(p, "metadata.namespace"), ""), ns) == 0))
			return p;
	}
	return NULL;
}

static bool preempts(const cJSON *p) { return p && str_or(json_get_str(p, "spec.preemption"), "")[0] == 'A'; }

bool detector_choose(const cJSON *tmpl, const cJSON *pps, const cJSON *cpps, struct detector_choice *out)
{
	return detector_choose_gated(tmpl, pps, cpps, true, out);
}

bool detector_choose_gated(const cJSON *tmpl, const cJSON *pps, const cJSON *cpps, bool preemption,
			   struct detector_choice *out)
{
	memset(out, 0, sizeof *out);
	if (!detector_template_propagatable(tmpl))
		return false;
	enum match_priority pp_prio = MATCH_NONE, cpp_prio = MATCH_NONE;
	const cJSON *pp = json_get_str(tmpl, "metadata.namespace") ? best_of(pps, tmpl, false, &pp_prio) : NULL;
	const cJSON *cpp = best_of(cpps, tmpl, true, &cpp_prio);

	/* The current claim, while its policy still exists and matches. */
	const cJSON *cur = NULL;
	bool cur_cluster = false;
	const cJSON *ann = json_get(tmpl, "metadata.annotations");
	const char *cn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, PP_NAME_ANNOTATION));
	const char *cns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, PP_NAMESPACE_ANNOTATION));
	const char *ccn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, CPP_NAME_ANNOTATION));
	if (cn && cns) {
		cur = find_named(pps, cns, cn);
		if (cur && detector_policy_match(cur, tmpl, false) == MATCH_NONE)
			cur = NULL;
	}
	if (!cur && ccn) {
		cur = find_named(cpps, NULL, ccn);
		cur_cluster = cur != NULL;
		if (cur && detector_policy_match(cur, tmpl, true) == MATCH_NONE) {
			cur = NULL;
			cur_cluster = false;
		}
	}
	if (cur) {
		/* Karmada's preemption: a namespaced policy with preemption Always
		 * takes a template from a cluster policy, or from a namespaced one
		 * of lower priority; a cluster policy only from a cluster policy of
		 * lower priority. */
		if (preemption && pp && pp != cur && preempts(pp) &&
		    (cur_cluster || explicit_priority(pp) > explicit_priority(cur))) {
			*out = (struct detector_choice){pp, false, pp_prio};
		} else if (preemption && cur_cluster && cpp && cpp != cur && preempts(cpp) &&
			   explicit_priority(cpp) > explicit_priority(cur)) {
			*out = (struct detector_choice){cpp, true, cpp_prio};
		} else {
			*out = (struct detector_choice){cur, cur_cluster,
							detector_policy_match(cur, tmpl, cur_cluster)};
		}
		return true;
	}
	if (pp) {
		*out = (struct detector_choice){pp, false, pp_prio};
		return true;
	}
	if (cpp) {
		*out = (struct detector_choice){cpp, true, cpp_prio};
		return true;
	}
	return false;
}

const char *detector_policy_permanent_id(const cJSON *policy, bool cluster_policy)
{
	const cJSON *labels = json_get(policy, "metadata.labels");
	const char *id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(labels, cluster_policy ? CPP_PERMANENT_ID_LABEL : PP_PERMANENT_ID_LABEL));
	if (id && *id)
		return id;
	return str_or(json_get_str(policy, "metadata.uid"), "");
}

/* Sets key in obj to a string, or to JSON null when val is NULL; returns
 * whether the template's current value differs. */
static bool want(cJSON *patch_obj, const cJSON *cur_obj, const char *key, const char *val)
{
	const char *cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cur_obj, key));
	bool present = cJSON_GetObjectItemCaseSensitive(cur_obj, key) != NULL;
	if (val) {
		cJSON_AddStringToObject(patch_obj, key, val);
		return !cur || strcmp(cur, val) != 0;
	}
	cJSON_AddNullToObject(patch_obj, key);
	return present;
}

cJSON *detector_claim_patch(const cJSON *tmpl, const cJSON *policy, bool cluster_policy)
{
	const cJSON *labels = json_get(tmpl, "metadata.labels");
	const cJSON *ann = json_get(tmpl, "metadata.annotations");
	cJSON *patch = cJSON_CreateObject();
	cJSON *meta = cJSON_AddObjectToObject(patch, "metadata");
	cJSON *pl = cJSON_AddObjectToObject(meta, "labels");
	cJSON *pa = cJSON_AddObjectToObject(meta, "annotations");
	const char *id = policy ? detector_policy_permanent_id(policy, cluster_policy) : NULL;
	const char *name = policy ? pname(policy) : NULL;
	bool pp = policy && !cluster_policy, cpp = policy && cluster_policy;
	bool changed = false;
	changed |= want(pl, labels, PP_PERMANENT_ID_LABEL, pp ? id : NULL);
	changed |= want(pa, ann, PP_NAME_ANNOTATION, pp ? name : NULL);
	changed |= want(pa, ann, PP_NAMESPACE_ANNOTATION, pp ? json_get_str(policy, "metadata.namespace") : NULL);
	changed |= want(pl, labels, CPP_PERMANENT_ID_LABEL, cpp ? id : NULL);
	changed |= want(pa, ann, CPP_NAME_ANNOTATION, cpp ? name : NULL);
	if (!changed) {
		cJSON_Delete(patch);
		return NULL;
	}
	return patch;
}

bool detector_is_claimed(const cJSON *tmpl)
{
	const cJSON *labels = json_get(tmpl, "metadata.labels");
	const cJSON *ann = json_get(tmpl, "metadata.annotations");
	return cJSON_GetObjectItemCaseSensitive(labels, PP_PERMANENT_ID_LABEL) ||
	       cJSON_GetObjectItemCaseSensitive(labels, CPP_PERMANENT_ID_LABEL) ||
	       cJSON_GetObjectItemCaseSensitive(ann, PP_NAME_ANNOTATION) ||
	       cJSON_GetObjectItemCaseSensitive(ann, CPP_NAME_ANNOTATION);
}

cJSON *detector_unclaimed_binding(const cJSON *binding)
{
	static const char *const labels[] = {PP_PERMANENT_ID_LABEL, CPP_PERMANENT_ID_LABEL, NULL};
	static const char *const anns[] = {PP_NAME_ANNOTATION, PP_NAMESPACE_ANNOTATION, CPP_NAME_ANNOTATION, NULL};
	const cJSON *l = json_get(binding, "metadata.labels"), *a = json_get(binding, "metadata.annotations");
	bool claimed = false;
	for (int i = 0; labels[i]; i++)
		claimed |= cJSON_GetObjectItemCaseSensitive(l, labels[i]) != NULL;
	for (int i = 0; anns[i]; i++)
		claimed |= cJSON_GetObjectItemCaseSensitive(a, anns[i]) != NULL;
	if (!claimed)
		return NULL;
	cJSON *b = json_dup(binding);
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(b, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(b, "status");
	cJSON *bl = cJSON_GetObjectItemCaseSensitive(meta, "labels"), *ba = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	for (int i = 0; labels[i]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(bl, labels[i]);
	for (int i = 0; anns[i]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(ba, anns[i]);
	if (ba && cJSON_GetArraySize(ba) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
	return b;
}

cJSON *detector_namespace_sync_policy(void)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "apiVersion", "policy.karmada.io/v1alpha1");
	cJSON_AddStringToObject(p, "kind", "ClusterPropagationPolicy");
	cJSON *m = cJSON_AddObjectToObject(p, "metadata");
	cJSON_AddStringToObject(m, "name", "");
	cJSON *spec = cJSON_AddObjectToObject(p, "spec");
	cJSON_AddObjectToObject(spec, "placement");
	/* Karmada's namespace sync controller overwrites a member's namespace. */
	cJSON_AddStringToObject(spec, "conflictResolution", "Overwrite");
	return p;
}

static bool ours(const char *f)
{
	return strcmp(f, POLICY_FINALIZER) == 0 || strcmp(f, CLUSTER_POLICY_FINALIZER) == 0 || strcmp(f, BINDING_FINALIZER) == 0 ||
	       strcmp(f, EXECUTION_FINALIZER) == 0 || strcmp(f, CLUSTER_RESOURCE_BINDING_FINALIZER) == 0;
}

cJSON *detector_without_finalizers(const cJSON *obj)
{
	const cJSON *fs = json_get(obj, "metadata.finalizers"), *f;
	bool any = false;
	cJSON_ArrayForEach(f, fs) any |= cJSON_IsString(f) && ours(f->valuestring);
	if (!any)
		return NULL;
	cJSON *o = json_dup(obj);
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	cJSON *list = cJSON_GetObjectItemCaseSensitive(meta, "finalizers"), *g = list->child, *next;
	for (; g; g = next) {
		next = g->next;
		if (cJSON_IsString(g) && ours(g->valuestring))
			cJSON_Delete(cJSON_DetachItemViaPointer(list, g));
	}
	if (cJSON_GetArraySize(list) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "finalizers");
	return o;
}

void detector_add_finalizer(cJSON *obj, const char *finalizer)
{
	cJSON *meta = json_ensure_obj(obj, "metadata");
	cJSON *list = cJSON_GetObjectItemCaseSensitive(meta, "finalizers");
	if (!cJSON_IsArray(list)) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "finalizers");
		list = cJSON_AddArrayToObject(meta, "finalizers");
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, list) if (cJSON_IsString(f) && strcmp(f->valuestring, finalizer) == 0) return;
	cJSON_AddItemToArray(list, cJSON_CreateString(finalizer));
}

bool detector_for_default_scheduler(const cJSON *binding)
{
	const char *sn = json_get_str(binding, "spec.schedulerName");
	return !sn || !*sn || strcmp(sn, DEFAULT_SCHEDULER_NAME) == 0;
}

bool detector_dispatch_suspended(const cJSON *binding, const char *cluster)
{
	const cJSON *susp = json_get(binding, "spec.suspension");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(susp, "dispatching")))
		return true;
	const cJSON *n;
	cJSON_ArrayForEach(n, json_get(susp, "dispatchingOnClusters.clusterNames"))
	{
		if (cJSON_IsString(n) && cluster && strcmp(n->valuestring, cluster) == 0)
			return true;
	}
	return false;
}

bool detector_policy_lazy(const cJSON *policy)
{
	const char *a = json_get_str(policy, "spec.activationPreference");
	return a && strcmp(a, "Lazy") == 0;
}
