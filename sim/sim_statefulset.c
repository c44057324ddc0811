#include "sim_statefulset.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_kubelet.h"
#include "sim_podtemplate.h"
#include "sim_replicaset.h"

const char *sim_sts_revision(const cJSON *sts, char *buf, size_t len)
{
	char hash[16];
	sim_pod_template_hash(json_get(sts, "spec.template"), (long)json_get_num(sts, "status.collisionCount", 0), hash,
			      sizeof hash);
	const char *name = json_get_str(sts, "metadata.name");
	snprintf(buf, len, "%s-%s", name ? name : "", hash);
	return buf;
}

/* Ordinal of a pod named "<sts>-<n>", or -1. */
static int ordinal_of(const char *sts, const char *pod)
{
	size_t n = strlen(sts);
	if (!pod || strncmp(pod, sts, n) != 0 || pod[n] != '-' || !pod[n + 1])
		return -1;
	char *end;
	long v = strtol(pod + n + 1, &end, 10);
	if (*end || v < 0 || v > 1000000 || (pod[n + 1] == '0' && pod[n + 2]))
		return -1;
	return (int)v;
}

static const char *pod_revision(const cJSON *p)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json_get(p, "metadata.labels"), STS_REVISION_LABEL));
}

static bool running_ready(const cJSON *p)
{
	const char *phase = json_get_str(p, "status.phase");
	return phase && strcmp(phase, "Running") == 0 && sim_pod_ready(p);
}

static const char *claim_name(const cJSON *tmpl, const char *sts, int ordinal, char *buf, size_t len)
{
	const char *cn = json_get_str(tmpl, "metadata.name");
	snprintf(buf, len, "%s-%s-%d", cn ? cn : "data", sts, ordinal);
	return buf;
}

cJSON *sim_sts_pod(const cJSON *sts, int ordinal, const char *node)
{
	const char *name = json_get_str(sts, "metadata.name");
	char pname[300], rev[300];
	snprintf(pname, sizeof pname, "%s-%d", name ? name : "", ordinal);
	sim_sts_revision(sts, rev, sizeof rev);
	cJSON *pod = sim_pod_from_template(sts, json_get(sts, "spec.template"), pname, node);
	cJSON *labels = json_ensure_obj(pod, "metadata.labels");
	json_set_str(labels, STS_REVISION_LABEL, rev);
	json_set_str(labels, STS_POD_NAME_LABEL, pname);
	cJSON *spec = json_ensure_obj(pod, "spec");
	json_set_str(spec, "hostname", pname);
	const char *svc = json_get_str(sts, "spec.serviceName");
	if (svc && *svc)
		json_set_str(spec, "subdomain", svc);
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(sts, "spec.volumeClaimTemplates"))
	{
		const char *vname = json_get_str(t, "metadata.name");
		if (!vname)
			continue;
		cJSON *vols = cJSON_GetObjectItemCaseSensitive(spec, "volumes");
		if (!cJSON_IsArray(vols)) {
			cJSON_DeleteItemFromObjectCaseSensitive(spec, "volumes");
			vols = cJSON_AddArrayToObject(spec, "volumes");
		}
		const cJSON *v;
		bool present = false;
		cJSON_ArrayForEach(v, vols)
		{
			const char *n = json_get_str(v, "name");
			present = present || (n && strcmp(n, vname) == 0);
		}
		if (present)
			continue;
		char cn[400];
		cJSON *vol = cJSON_CreateObject();
		cJSON_AddStringToObject(vol, "name", vname);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(vol, "persistentVolumeClaim"), "claimName",
					claim_name(t, name ? name : "", ordinal, cn, sizeof cn));
		cJSON_AddItemToArray(vols, vol);
	}
	return pod;
}

cJSON *sim_sts_claims(const cJSON *sts, int ordinal)
{
	cJSON *out = cJSON_CreateArray();
	const char *name = json_get_str(sts, "metadata.name");
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(sts, "spec.volumeClaimTemplates"))
	{
		char cn[400];
		cJSON *pvc = cJSON_CreateObject();
		cJSON_AddStringToObject(pvc, "apiVersion", "v1");
		cJSON_AddStringToObject(pvc, "kind", "PersistentVolumeClaim");
		cJSON *meta = cJSON_AddObjectToObject(pvc, "metadata");
		cJSON_AddStringToObject(meta, "name", claim_name(t, name ? name : "", ordinal, cn, sizeof cn));
		const char *ns = json_get_str(sts, "metadata.namespace");
		if (ns)
			cJSON_AddStringToObject(meta, "namespace", ns);
		cJSON *labels = json_dup(json_get(t, "metadata.labels"));
		if (!cJSON_IsObject(labels)) {
			cJSON_Delete(labels);
			labels = cJSON_CreateObject();
		}
		const cJSON *l;
		cJSON_ArrayForEach(l, json_get(sts, "spec.selector.matchLabels"))
		{
			if (cJSON_IsString(l))
				json_set_str(labels, l->string, l->valuestring);
		}
		cJSON_AddItemToObject(meta, "labels", labels);
		cJSON *spec = json_dup(json_get(t, "spec"));
		if (!cJSON_IsObject(spec)) {
			cJSON_Delete(spec);
			spec = cJSON_CreateObject();
		}
		if (!cJSON_GetObjectItemCaseSensitive(spec, "storageClassName"))
			cJSON_AddStringToObject(spec, "storageClassName", "standard");
		if (!cJSON_GetObjectItemCaseSensitive(spec, "volumeMode"))
			cJSON_AddStringToObject(spec, "volumeMode", "Filesystem");
		char vol[420];
		snprintf(vol, sizeof vol, "pvc-%s", cn);
		if (!cJSON_GetObjectItemCaseSensitive(spec, "volumeName"))
			cJSON_AddStringToObject(spec, "volumeName", vol);
		cJSON_AddItemToObject(pvc, "spec", spec);
		cJSON *st = cJSON_AddObjectToObject(pvc, "status");
		cJSON_AddStringToObject(st, "phase", "Bound");
		const cJSON *am = json_get(spec, "accessModes");
		if (am)
			cJSON_AddItemToObject(st, "accessModes", json_dup(am));
		const cJSON *req = json_get(spec, "resources.requests.storage");
		if (req)
			cJSON_AddItemToObject(cJSON_AddObjectToObject(st, "capacity"), "storage", json_dup(req));
		cJSON_AddItemToArray(out, pvc);
	}
	return out;
}

void sim_sts_plan(const cJSON *sts, const cJSON *pods, time_t now, struct sim_sts_plan *out)
{
	memset(out, 0, sizeof *out);
	out->creates = cJSON_CreateArray();
	out->deletes = cJSON_CreateArray();
	const char *name = json_get_str(sts, "metadata.name");
	if (!name)
		name = "";
	int want = (int)json_get_num(sts, "spec.replicas", 1);
	if (want < 0)
		want = 0;
	long mrs = (long)json_get_num(sts, "spec.minReadySeconds", 0);
	const char *policy = json_get_str(sts, "spec.podManagementPolicy");
	bool parallel = policy && strcmp(policy, "Parallel") == 0;
	const char *strategy = json_get_str(sts, "spec.updateStrategy.type");
	bool on_delete = strategy && strcmp(strategy, "OnDelete") == 0;
	int partition = (int)json_get_num(sts, "spec.updateStrategy.rollingUpdate.partition", 0);
	char update_rev[300];
	sim_sts_revision(sts, update_rev, sizeof update_rev);

	/* Pods by ordinal; the highest condemned ordinal bounds the table. */
	int max_ord = want;
	const cJSON *p;
	cJSON_ArrayForEach(p, pods)
	{
		int o = ordinal_of(name, json_get_str(p, "metadata.name"));
		if (o >= max_ord && sim_is_controlled_by(p, sts) && sim_pod_active(p))
			max_ord = o + 1;
	}
	const cJSON **by = calloc((size_t)max_ord + 1, sizeof *by);
	cJSON_ArrayForEach(p, pods)
	{
		int o = ordinal_of(name, json_get_str(p, "metadata.name"));
		if (o >= 0 && o < max_ord && sim_is_controlled_by(p, sts) && sim_pod_active(p))
			by[o] = p;
	}

	bool blocked = false;
	for (int i = 0; i < want; i++) {
		if (!by[i]) {
			if (!blocked || parallel)
				cJSON_AddItemToArray(out->creates, cJSON_CreateNumber(i));
			blocked = true;
		} else if (!running_ready(by[i])) {
			blocked = true;
		}
	}
	/* Scale down: highest ordinal first; OrderedReady one at a time and
	 * only while the rest are healthy. */
	for (int i = max_ord - 1; i >= want; i--) {
		if (!by[i])
			continue;
		if (parallel || !blocked) {
			cJSON_AddItemToArray(out->deletes, cJSON_CreateString(json_get_str(by[i], "metadata.name")));
			if (!parallel)
				blocked = true;
		}
	}
	/* Rolling update: one pod at a time, highest ordinal first. */
	if (!on_delete && !blocked && cJSON_GetArraySize(out->deletes) == 0) {
		for (int i = want - 1; i >= partition && i >= 0; i--) {
			const char *rev = pod_revision(by[i]);
			if (!rev || strcmp(rev, update_rev) != 0) {
				cJSON_AddItemToArray(out->deletes, cJSON_CreateString(json_get_str(by[i], "metadata.name")));
				break;
			}
		}
	}

	/* Status. */
	struct sim_pod_counts c;
	sim_count_pods(sts, pods, mrs, now, &c);
	const char *cur_rev = json_get_str(sts, "status.currentRevision");
	char cur[300];
	snprintf(cur, sizeof cur, "%s", cur_rev && *cur_rev ? cur_rev : update_rev);
	int current = 0, updated = 0;
	for (int i = 0; i < max_ord; i++) {
		const char *rev = pod_revision(by[i]);
		if (!by[i] || !rev)
			continue;
		current += strcmp(rev, cur) == 0;
		updated += strcmp(rev, update_rev) == 0;
	}
	if (updated == want && c.replicas == want) {
		snprintf(cur, sizeof cur, "%s", update_rev);
		current = updated;
	}
	free(by);
	cJSON *st = cJSON_CreateObject();
	double gen = json_get_num(sts, "metadata.generation", 0);
	if (gen > 0)
		cJSON_AddNumberToObject(st, "observedGeneration", gen);
	cJSON_AddNumberToObject(st, "replicas", c.replicas);
	if (c.ready)
		cJSON_AddNumberToObject(st, "readyReplicas", c.ready);
	if (current)
		cJSON_AddNumberToObject(st, "currentReplicas", current);
	if (updated)
		cJSON_AddNumberToObject(st, "updatedReplicas", updated);
	cJSON_AddStringToObject(st, "currentRevision", cur);
	cJSON_AddStringToObject(st, "updateRevision", update_rev);
	cJSON_AddNumberToObject(st, "collisionCount", json_get_num(sts, "status.collisionCount", 0));
	cJSON_AddNumberToObject(st, "availableReplicas", c.available);
	out->status = st;
}

void sim_sts_plan_free(struct sim_sts_plan *p)
{
	cJSON_Delete(p->creates);
	cJSON_Delete(p->deletes);
	cJSON_Delete(p->status);
	memset(p, 0, sizeof *p);
}
