#include "rebalancer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "timefmt.h"

static const char *s_or(const char *s) { return s ? s : ""; }

/* Karmada's ObjectReference equality: all four fields. */
static bool same_ref(const cJSON *a, const cJSON *b)
{
	static const char *const f[] = {"apiVersion", "kind", "namespace", "name"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s_or(json_get_str(a, f[i])), s_or(json_get_str(b, f[i]))) != 0)
			return false;
	return true;
}

/* Only the four reference fields, as Karmada's typed ObjectReference keeps. */
static cJSON *ref_copy(const cJSON *w)
{
	cJSON *r = cJSON_CreateObject();
	static const char *const f[] = {"apiVersion", "kind", "name", "namespace"};
	for (int i = 0; i < 4; i++) {
		const char *v = json_get_str(w, f[i]);
		if (v && (*v || i < 3))
			cJSON_AddStringToObject(r, f[i], v);
	}
	return r;
}

static char *sort_key(const cJSON *item)
{
	const cJSON *w = json_get(item, "workload");
	size_t n = 4;
	static const char *const f[] = {"apiVersion", "kind", "namespace", "name"};
	for (int i = 0; i < 4; i++)
		n += strlen(s_or(json_get_str(w, f[i]))) + 1;
	char *k = malloc(n);
	if (k)
		snprintf(k, n, "%s %s %s %s", s_or(json_get_str(w, f[0])), s_or(json_get_str(w, f[1])),
			 s_or(json_get_str(w, f[2])), s_or(json_get_str(w, f[3])));
	return k;
}

struct keyed {
	char *key;
	cJSON *item;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	return strcmp(s_or(x->key), s_or(y->key));
}

cJSON *rebalancer_observed(const cJSON *rb)
{
	const cJSON *spec = json_get(rb, "spec.workloads");
	const cJSON *prev = json_get(rb, "status.observedWorkloads");
	int ns = cJSON_GetArraySize(spec), np = cJSON_GetArraySize(prev);
	struct keyed *v = calloc((size_t)(ns + np) + 1, sizeof *v);
	bool *taken = calloc((size_t)ns + 1, sizeof *taken);
	int n = 0;
	if (!v || !taken) {
		free(v);
		free(taken);
		return cJSON_CreateArray();
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, prev) {
		const cJSON *w = json_get(it, "workload");
		if (!cJSON_IsObject(w))
			continue;
		int j = 0;
		const cJSON *s;
		bool listed = false;
		cJSON_ArrayForEach(s, spec) {
			if (!taken[j] && same_ref(s, w)) {
				taken[j] = true;
				listed = true;
				break;
			}
			j++;
		}
		const char *res = json_get_str(it, "result");
		if (listed || (res && strcmp(res, REBALANCE_SUCCESSFUL) == 0))
			v[n++].item = json_dup(it);
	}
	int j = 0;
	cJSON_ArrayForEach(it, spec) {
		bool dup = false;
		/* A workload listed twice in spec is one entry (Karmada uses a set). */
		for (int k = 0; k < n && !dup; k++)
			dup = same_ref(json_get(v[k].item, "workload"), it);
		if (!taken[j] && !dup && cJSON_IsObject(it)) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddItemToObject(o, "workload", ref_copy(it));
			v[n++].item = o;
		}
		j++;
	}
	for (int k = 0; k < n; k++)
		v[k].key = sort_key(v[k].item);
	qsort(v, (size_t)n, sizeof *v, cmp_keyed);
	cJSON *out = cJSON_CreateArray();
	for (int k = 0; k < n; k++) {
		cJSON_AddItemToArray(out, v[k].item);
		free(v[k].key);
	}
	free(v);
	free(taken);
	return out;
}

bool rebalancer_needs_trigger(const char *created, const char *rta)
{
	time_t c, r;
	if (!rta || time_parse_rfc3339(rta, &r) < 0)
		return true;
	if (!created || time_parse_rfc3339(created, &c) < 0)
		return false;
	return c > r;
}

bool rebalancer_ttl_left(const cJSON *rb, time_t now, long long *left)
{
	const cJSON *ttl = json_get(rb, "spec.ttlSecondsAfterFinished");
	const char *fin = json_get_str(rb, "status.finishTime");
	time_t f;
	if (!cJSON_IsNumber(ttl) || !fin || time_parse_rfc3339(fin, &f) < 0)
		return false;
	*left = (long long)f + (long long)ttl->valuedouble - (long long)now;
	return true;
}
