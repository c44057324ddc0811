#include "aggregate.h"

#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "nameidx.h"
#include "render.h"

void aggregate_set_condition(cJSON *status, const char *type, const char *cond_status, const char *reason,
			     const char *message, const char *now)
{
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
	if (!cJSON_IsArray(conds)) {
		conds = cJSON_CreateArray();
		json_set(status, "conditions", conds);
	}
	cJSON *c = NULL, *it;
	cJSON_ArrayForEach(it, conds)
	{
		const char *t = json_get_str(it, "type");
		if (t && strcmp(t, type) == 0) {
			c = it;
			break;
		}
	}
	const char *ltt = now;
	char keep[64] = "";
	if (c) {
		const char *os = json_get_str(c, "status"), *ot = json_get_str(c, "lastTransitionTime");
		if (os && strcmp(os, cond_status) == 0 && ot) {
			snprintf(keep, sizeof keep, "%s", ot);
			ltt = keep;
		}
	} else {
		c = cJSON_CreateObject();
		cJSON_AddItemToArray(conds, c);
	}
	/* Rebuild in a fixed key order so equal conditions compare equal. */
	while (c->child) {
		cJSON *x = c->child;
		cJSON_DetachItemViaPointer(c, x);
		cJSON_Delete(x);
	}
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", cond_status);
	cJSON_AddStringToObject(c, "lastTransitionTime", ltt ? ltt : "");
	cJSON_AddStringToObject(c, "reason", reason ? reason : "");
	cJSON_AddStringToObject(c, "message", message ? message : "");
}

static const char *work_cluster(const cJSON *w)
{
	const char *ns = json_get_str(w, "metadata.namespace");
	if (!ns || strncmp(ns, "karmada-es-", 11) != 0)
		return NULL;
	return ns + 11;
}

/* The manifest status matching the binding's resource (by identifier
 * kind/name/namespace when present), else the first one. */
static const cJSON *manifest_status(const cJSON *w, const cJSON *binding)
{
	const cJSON *ms = json_get(w, "status.manifestStatuses");
	const char *kind = json_get_str(binding, "spec.resource.kind");
	const char *name = json_get_str(binding, "spec.resource.name");
	const char *ns = json_get_str(binding, "spec.resource.namespace");
	const cJSON *m;
	cJSON_ArrayForEach(m, ms)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "identifier");
		const char *ik = json_get_str(id, "kind"), *in = json_get_str(id, "name");
		const char *ins = json_get_str(id, "namespace");
		if (!id || (!ik && !in))
			return m;
		if (ik && kind && strcmp(ik, kind) == 0 && in && name && strcmp(in, name) == 0 &&
		    strcmp(ins ? ins : "", ns ? ns : "") == 0)
			return m;
	}
	return NULL;
}

static cJSON *item_for(const cJSON *w, const cJSON *binding, const char *cluster)
{
	cJSON *it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "clusterName", cluster);
	const cJSON *applied = NULL, *c;
	cJSON_ArrayForEach(c, json_get(w, "status.conditions"))
	{
		const char *t = json_get_str(c, "type");
		if (t && strcmp(t, "Applied") == 0)
			applied = c;
	}
	const char *ast = applied ? json_get_str(applied, "status") : NULL;
	if (!ast || strcmp(ast, "True") != 0) {
		cJSON_AddFalseToObject(it, "applied");
		const char *msg = applied ? json_get_str(applied, "message") : NULL;
		if (msg && *msg)
			cJSON_AddStringToObject(it, "appliedMessage", msg);
		cJSON_AddStringToObject(it, "health", "Unknown");
		return it;
	}
	const cJSON *ms = manifest_status(w, binding);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(ms, "status");
	if (st && !cJSON_IsNull(st))
		cJSON_AddItemToObject(it, "status", json_dup(st));
	cJSON_AddTrueToObject(it, "applied");
	const char *health = json_get_str(ms, "health");
	cJSON_AddStringToObject(it, "health", health && *health ? health : "Unknown");
	return it;
}

static const char *item_cluster(const cJSON *it) { return json_get_str(it, "clusterName"); }

cJSON *aggregate_items(const cJSON *binding, const cJSON *works)
{
	cJSON *targets = render_target_clusters(binding);
	/* Collect (cluster, item) in name order: targets are sorted already.
	 * The Works by cluster: one lookup per target, not a scan. */
	struct name_index ix;
	nidx_build(&ix, works, work_cluster);
	cJSON *out = cJSON_CreateArray();
	const cJSON *t;
	cJSON_ArrayForEach(t, targets)
	{
		const char *cn = json_get_str(t, "name");
		const cJSON *w = cn ? nidx_find(&ix, cn) : NULL;
		if (w)
			cJSON_AddItemToArray(out, item_for(w, binding, cn));
	}
	nidx_free(&ix);
	cJSON_Delete(targets);
	return out;
}

cJSON *aggregate_binding_status(const cJSON *binding, const cJSON *works, const char *now)
{
	const cJSON *old = json_get(binding, "status");
	cJSON *st = cJSON_IsObject(old) ? json_dup(old) : cJSON_CreateObject();
	cJSON *items = aggregate_items(binding, works);
	cJSON *targets = render_target_clusters(binding);
	int nt = cJSON_GetArraySize(targets);
	bool full = nt > 0 && cJSON_GetArraySize(items) == nt;
	const cJSON *it;
	cJSON_ArrayForEach(it, items) full = full && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "applied"));
	cJSON_Delete(targets);
	if (cJSON_GetArraySize(items) > 0)
		json_set(st, "aggregatedStatus", items);
	else {
		cJSON_DeleteItemFromObjectCaseSensitive(st, "aggregatedStatus");
		cJSON_Delete(items);
	}
	if (full)
		aggregate_set_condition(st, "FullyApplied", "True", "FullyAppliedSuccess", FULLY_APPLIED_SUCCESS_MESSAGE, now);
	else
		aggregate_set_condition(st, "FullyApplied", "False", "FullyAppliedFailed", FULLY_APPLIED_FAILED_MESSAGE, now);
	return st;
}

cJSON *aggregate_newly_applied(const cJSON *old_items, const cJSON *new_items)
{
	struct name_index ix;
	nidx_build(&ix, old_items, item_cluster);
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;
	cJSON_ArrayForEach(it, new_items)
	{
		const char *n = json_get_str(it, "clusterName");
		const cJSON *old = n ? nidx_find(&ix, n) : NULL;
		if (n && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "applied")) &&
		    !(old && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(old, "applied"))))
			cJSON_AddItemToArray(out, cJSON_CreateString(n));
	}
	nidx_free(&ix);
	return out;
}

static void add_nonzero(cJSON *st, const char *key, long long v)
{
	if (v)
		cJSON_AddNumberToObject(st, key, (double)v);
}

cJSON *aggregate_template_status(const cJSON *tmpl, const cJSON *items)
{
	const char *kind = json_get_str(tmpl, "kind"), *av = json_get_str(tmpl, "apiVersion");
	if (!kind || !av || strncmp(av, "apps/", 5) != 0)
		return NULL;
	static const char *const deploy_fields[] = {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
						    "unavailableReplicas", NULL};
	static const char *const sts_fields[] = {"replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
						 "availableReplicas", NULL};
	const char *const *fields;
	if (strcmp(kind, "Deployment") == 0)
		fields = deploy_fields;
	else if (strcmp(kind, "StatefulSet") == 0)
		fields = sts_fields;
	else
		return NULL;
	long long sums[8] = {0};
	long long gen = (long long)json_get_num(tmpl, "metadata.generation", 0);
	int caught_up = 0, n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		n++;
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, "status");
		if (!cJSON_IsObject(s))
			continue;
		for (int i = 0; fields[i]; i++)
			sums[i] += (long long)json_get_num(s, fields[i], 0);
		const cJSON *og = cJSON_GetObjectItemCaseSensitive(s, "observedGeneration");
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(s, "generation");
		const cJSON *rtg = cJSON_GetObjectItemCaseSensitive(s, "resourceTemplateGeneration");
		if (cJSON_IsNumber(og) && cJSON_IsNumber(g) && cJSON_IsNumber(rtg) && og->valuedouble >= g->valuedouble &&
		    rtg->valuedouble >= (double)gen)
			caught_up++;
	}
	cJSON *st = cJSON_CreateObject();
	long long og = caught_up == n ? gen : (long long)json_get_num(tmpl, "status.observedGeneration", 0);
	add_nonzero(st, "observedGeneration", og);
	for (int i = 0; fields[i]; i++)
		add_nonzero(st, fields[i], sums[i]);
	return st;
}
