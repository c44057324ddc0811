#include "sim_replicaset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_kubelet.h"
#include "sim_podtemplate.h"
#include "timefmt.h"

static bool labels_cover(const cJSON *have, const cJSON *want)
{
	const cJSON *l;
	cJSON_ArrayForEach(l, want)
	{
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, l->string);
		if (!cJSON_IsString(h) || !cJSON_IsString(l) || strcmp(h->valuestring, l->valuestring) != 0)
			return false;
	}
	return true;
}

void sim_count_pods(const cJSON *owner, const cJSON *pods, long min_ready_seconds, time_t now,
		    struct sim_pod_counts *out)
{
	memset(out, 0, sizeof *out);
	const cJSON *tl = json_get(owner, "spec.template.metadata.labels");
	const cJSON *p;
	cJSON_ArrayForEach(p, pods)
	{
		if (!sim_is_controlled_by(p, owner) || !sim_pod_active(p))
			continue;
		out->replicas++;
		out->labeled += labels_cover(json_get(p, "metadata.labels"), tl);
		out->ready += sim_pod_ready(p);
		out->available += sim_pod_available(p, min_ready_seconds, now);
	}
}

/* Kubernetes' ActivePodsWithRanks order: the first pods are deleted first. */
static int rank(const cJSON *p)
{
	const char *node = json_get_str(p, "spec.nodeName");
	const char *phase = json_get_str(p, "status.phase");
	if (!node || !*node)
		return 0;
	if (!phase || strcmp(phase, "Pending") == 0)
		return 1;
	if (strcmp(phase, "Running") != 0)
		return 2;
	return sim_pod_ready(p) ? 4 : 3;
}

static int cmp_delete_order(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int rx = rank(x), ry = rank(y);
	if (rx != ry)
		return rx - ry;
	/* newer first */
	const char *tx = json_get_str(x, "metadata.creationTimestamp");
	const char *ty = json_get_str(y, "metadata.creationTimestamp");
	int c = strcmp(ty ? ty : "", tx ? tx : "");
	if (c)
		return c;
	const char *nx = json_get_str(x, "metadata.name"), *ny = json_get_str(y, "metadata.name");
	return strcmp(ny ? ny : "", nx ? nx : "");
}

void sim_rs_plan(const cJSON *rs, const cJSON *pods, time_t now, struct sim_rs_plan *out)
{
	memset(out, 0, sizeof *out);
	out->deletes = cJSON_CreateArray();
	int want = (int)json_get_num(rs, "spec.replicas", 1);
	long mrs = (long)json_get_num(rs, "spec.minReadySeconds", 0);
	int n = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, pods) n += sim_is_controlled_by(p, rs) && sim_pod_active(p);
	const cJSON **mine = calloc((size_t)n + 1, sizeof *mine);
	int i = 0;
	cJSON_ArrayForEach(p, pods) if (sim_is_controlled_by(p, rs) && sim_pod_active(p) && i < n) mine[i++] = p;
	if (n < want)
		out->create = want - n;
	if (n > want) {
		qsort(mine, (size_t)n, sizeof *mine, cmp_delete_order);
		for (i = 0; i < n - want; i++)
			cJSON_AddItemToArray(out->deletes, cJSON_CreateString(json_get_str(mine[i], "metadata.name")));
	}
	/* Status as it is now: created pods show up on the next pass, as they
	 * do for the real controller. */
	struct sim_pod_counts c;
	sim_count_pods(rs, pods, mrs, now, &c);
	free(mine);
	out->status = cJSON_CreateObject();
	cJSON_AddNumberToObject(out->status, "replicas", c.replicas);
	if (c.labeled)
		cJSON_AddNumberToObject(out->status, "fullyLabeledReplicas", c.labeled);
	if (c.ready)
		cJSON_AddNumberToObject(out->status, "readyReplicas", c.ready);
	if (c.available)
		cJSON_AddNumberToObject(out->status, "availableReplicas", c.available);
	double gen = json_get_num(rs, "metadata.generation", 0);
	if (gen > 0)
		cJSON_AddNumberToObject(out->status, "observedGeneration", gen);
}

void sim_rs_plan_free(struct sim_rs_plan *p)
{
	cJSON_Delete(p->deletes);
	cJSON_Delete(p->status);
	memset(p, 0, sizeof *p);
}
