/* scheduler — Karmada-compatible placement as a pure function.
 * The pipeline mirrors pkg/scheduler/core/generic_scheduler.go: filter ->
 * score/sort -> select (spread constraints) -> assign replicas -> drop
 * zero-replica clusters. See /work/shared/notes/karmada.md section a. */
#include "scheduler.h"
#include "jsonutil.h"
#include "selector.h"

#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAINT_NOT_READY "cluster.karmada.io/not-ready"
#define TAINT_UNREACHABLE "cluster.karmada.io/unreachable"
#define REASON_AFFINITY "cluster(s) did not match the placement cluster affinity constraint"

/* ---------------------------------------------------------------- helpers */

unsigned int sched_fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

static const cJSON *obj_item(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char *obj_str(const cJSON *o, const char *key)
{
	const cJSON *j = obj_item(o, key);
	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static bool str_in_array(const cJSON *arr, const char *s)
{
	const cJSON *it;
	if (!s)
		return false;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

static long clamp_long(double d)
{
	if (!(d == d))
		return 0;
	if (d >= (double)LONG_MAX)
		return LONG_MAX;
	if (d <= (double)LONG_MIN)
		return LONG_MIN;
	return (long)d;
}

/* Kubernetes resource.Quantity into base units ("500m" -> 0.5, "1Gi" ->
 * 1073741824). Numbers are accepted as-is. */
static bool parse_quantity(const cJSON *j, long double *out)
{
	if (cJSON_IsNumber(j)) {
		*out = (long double)j->valuedouble;
		return true;
	}
	if (!cJSON_IsString(j))
		return false;
	const char *s = j->valuestring;
	char *end;
	long double v = strtold(s, &end);
	if (end == s)
		return false;
	static const struct { const char *suf; long double mul; } sufs[] = {
		{"Ki", 1024.0L}, {"Mi", 1048576.0L}, {"Gi", 1073741824.0L},
		{"Ti", 1099511627776.0L}, {"Pi", 1125899906842624.0L},
		{"Ei", 1152921504606846976.0L}, {"n", 1e-9L}, {"u", 1e-6L},
		{"m", 1e-3L}, {"k", 1e3L}, {"K", 1e3L}, {"M", 1e6L}, {"G", 1e9L},
		{"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}, {"", 1.0L},
	};
	for (size_t i = 0; i < sizeof sufs / sizeof sufs[0]; i++) {
		if (strcmp(end, sufs[i].suf) == 0) {
			*out = v * sufs[i].mul;
			return true;
		}
	}
	return false;
}

/* Quantity.Value() rounds up; MilliValue() for cpu. Round first so that
 * "100m" does not become 101 through binary fractions. */
static long double quantity_units(long double v, bool milli)
{
	long double x = milli ? v * 1000.0L : v;
	long double r = roundl(x);
	if (fabsl(x - r) <= 1e-9L * (fabsl(x) > 1 ? fabsl(x) : 1))
		return r;
	return ceill(x);
}

/* ------------------------------------------------------ selector matching */

/* Cluster zones: spec.zones, or the deprecated spec.zone. */
static int cluster_zones(const cJSON *cluster, const char *zones[], int max)
{
	const cJSON *spec = obj_item(cluster, "spec");
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, obj_item(spec, "zones"))
		if (cJSON_IsString(it) && it->valuestring[0] && n < max)
			zones[n++] = it->valuestring;
	if (n == 0) {
		const char *z = obj_str(spec, "zone");
		if (z && *z)
			zones[n++] = z;
	}
	return n;
}

/* util.matchZones: a "zone" requirement holds over all of the cluster's
 * zones (In: every zone listed; NotIn: none listed). Values are not
 * validated, as in Karmada; an unknown operator never matches. */
static bool zones_match(const cJSON *req, const cJSON *cluster)
{
	const char *op = obj_str(req, "operator");
	const cJSON *vals = obj_item(req, "values");
	const char *zones[64];
	int n = cluster_zones(cluster, zones, 64);
	if (!op)
		return false;
	if (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0) {
		bool in = op[0] == 'I';
		if (in && n == 0)
			return false;
		for (int i = 0; i < n; i++)
			if (str_in_array(vals, zones[i]) != in)
				return false;
		return true;
	}
	if (strcmp(op, "Exists") == 0)
		return n > 0;
	if (strcmp(op, "DoesNotExist") == 0)
		return n == 0;
	return false;
}

/* util.extractClusterFields: provider and region, when not empty. */
static const char *cluster_field(const char *key, void *ud)
{
	const cJSON *spec = *(const cJSON *const *)ud;
	if (strcmp(key, "provider") != 0 && strcmp(key, "region") != 0)
		return NULL;
	const char *v = obj_str(spec, key);
	return v && *v ? v : NULL;
}

/* clusterAffinity.fieldSelector: zone requirements by matchZones, the
 * others as node-selector requirements over the cluster fields (an invalid
 * one makes the cluster not match). Keys other than provider, region and
 * zone, which Karmada's webhook refuses, match no cluster. */
static bool field_selector_match(const cJSON *fs, const cJSON *cluster)
{
	if (!cJSON_IsObject(fs))
		return false;
	const cJSON *exprs = obj_item(fs, "matchExpressions");
	if (!exprs || cJSON_IsNull(exprs))
		return true;
	if (!cJSON_IsArray(exprs))
		return false;
	cJSON *fields = cJSON_CreateArray(); /* references to the non-zone requirements */
	bool ok = fields != NULL;
	const cJSON *req;
	cJSON_ArrayForEach(req, exprs) {
		const char *key = obj_str(req, "key");
		if (!ok)
			break;
		if (key && strcmp(key, "zone") == 0)
			ok = zones_match(req, cluster);
		else if (key && (strcmp(key, "provider") == 0 || strcmp(key, "region") == 0))
			ok = cJSON_AddItemReferenceToArray(fields, (cJSON *)req);
		else
			ok = false;
	}
	const cJSON *spec = obj_item(cluster, "spec");
	ok = ok && node_selector_requirements_match(fields, cluster_field, &spec);
	cJSON_Delete(fields);
	return ok;
}

/* util.ClusterMatches: exclude, labelSelector, fieldSelector, clusterNames.
 * A NULL affinity matches every cluster; an absent or null selector matches
 * every cluster, an invalid one none. */
bool cluster_affinity_matches(const cJSON *cluster, const cJSON *aff)
{
	const cJSON *meta = obj_item(cluster, "metadata");
	const char *name = obj_str(meta, "name");
	if (!cJSON_IsObject(aff))
		return true;
	if (str_in_array(obj_item(aff, "exclude"), name))
		return false;
	const cJSON *ls = obj_item(aff, "labelSelector");
	if (ls && !cJSON_IsNull(ls)) {
		/* from_json returns NULL on an error, and a NULL selector would
		 * match everything: check it. */
		struct label_selector *sel = label_selector_from_json(ls, NULL, 0);
		bool ok = sel && label_selector_matches(sel, obj_item(meta, "labels"));
		label_selector_free(sel);
		if (!ok)
			return false;
	}
	const cJSON *fs = obj_item(aff, "fieldSelector");
	if (fs && !cJSON_IsNull(fs) && !field_selector_match(fs, cluster))
		return false;
	const cJSON *names = obj_item(aff, "clusterNames");
	if (cJSON_GetArraySize(names) == 0)
		return true;
	return str_in_array(names, name);
}

/* corev1.Toleration.ToleratesTaint */
static bool tolerates(const cJSON *tol, const char *key, const char *value, const char *effect)
{
	const char *te = obj_str(tol, "effect");
	const char *tk = obj_str(tol, "key");
	const char *op = obj_str(tol, "operator");
	const char *tv = obj_str(tol, "value");
	if (te && *te && strcmp(te, effect) != 0)
		return false;
	if (tk && *tk && strcmp(tk, key) != 0)
		return false;
	if (op && strcmp(op, "Exists") == 0)
		return true;
	if (op && *op && strcmp(op, "Equal") != 0)
		return false;
	if (!tk || !*tk)
		return false; /* empty key needs operator Exists */
	return strcmp(tv ? tv : "", value) == 0;
}

static bool taint_tolerated(const cJSON *tolerations, const char *key, const char *value,
			    const char *effect)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tolerations)
		if (tolerates(t, key, value, effect))
			return true;
	return false;
}

/* ---------------------------------------------------------------- clusters */

struct ccl {
	const cJSON *obj;
	const char *name;
	long avail;   /* estimator: max available replicas */
	long prev;    /* replicas in the previous result */
	bool in_prev;
	int score;
};

struct req_list {
	int n;
	const char *name[32];
	long double units[32]; /* per-pod request: millicores for cpu, else Value() */
};

static void add_requests(struct req_list *rl, const cJSON *requests, bool max_only)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, requests) {
		long double q;
		if (!it->string || !parse_quantity(it, &q))
			continue;
		int i;
		for (i = 0; i < rl->n; i++)
			if (strcmp(rl->name[i], it->string) == 0)
				break;
		if (i == rl->n) {
			if (rl->n == 32)
				continue;
			rl->name[rl->n] = it->string;
			rl->units[rl->n++] = 0;
		}
		if (max_only) {
			if (q > rl->units[i])
				rl->units[i] = q;
		} else {
			rl->units[i] += q;
		}
	}
}

/* The pod template's per-replica requests (sum of containers, at least any
 * init container), like util.Resource.AddPodTemplateRequest. */
static void workload_requests(const cJSON *workload, struct req_list *rl)
{
	rl->n = 0;
	const cJSON *spec = obj_item(workload, "spec");
	const cJSON *pod = obj_item(obj_item(spec, "template"), "spec");
	if (!pod)
		pod = obj_item(obj_item(obj_item(obj_item(spec, "jobTemplate"), "spec"), "template"), "spec");
	if (!pod) {
		const char *kind = obj_str(workload, "kind");
		if (kind && strcmp(kind, "Pod") == 0)
			pod = spec;
	}
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_item(pod, "containers"))
		add_requests(rl, obj_item(obj_item(c, "resources"), "requests"), false);
	cJSON_ArrayForEach(c, obj_item(pod, "initContainers"))
		add_requests(rl, obj_item(obj_item(c, "resources"), "requests"), true);
	add_requests(rl, obj_item(pod, "overhead"), false);
	for (int i = 0; i < rl->n; i++)
		rl->units[i] = quantity_units(rl->units[i], strcmp(rl->name[i], "cpu") == 0);
}

static long double summary_value(const cJSON *rs, const char *part, const char *res, bool milli)
{
	long double q;
	if (!parse_quantity(obj_item(obj_item(rs, part), res), &q))
		return 0;
	return quantity_units(q, milli);
}

/* The general estimator (pkg/estimator/client/general.go): allowed pods,
 * then the minimum over requested resources of available / request. */
static long estimate_replicas(const cJSON *cluster, const struct req_list *rl)
{
	const cJSON *rs = obj_item(obj_item(cluster, "status"), "resourceSummary");
	if (!cJSON_IsObject(rs))
		return 0;
	long double pods = summary_value(rs, "allocatable", "pods", false) -
			   summary_value(rs, "allocated", "pods", false) -
			   summary_value(rs, "allocating", "pods", false);
	if (pods <= 0)
		return 0;
	long double best = pods;
	for (int i = 0; i < rl->n; i++) {
		if (rl->units[i] <= 0 || strcmp(rl->name[i], "pods") == 0)
			continue;
		bool milli = strcmp(rl->name[i], "cpu") == 0;
		long double avail = summary_value(rs, "allocatable", rl->name[i], milli) -
				    summary_value(rs, "allocated", rl->name[i], milli) -
				    summary_value(rs, "allocating", rl->name[i], milli);
		long double r = avail <= 0 ? 0 : floorl(avail / rl->units[i]);
		if (r < best)
			best = r;
	}
	if (best > (long double)INT32_MAX)
		best = (long double)INT32_MAX;
	return (long)best;
}

/* Ready condition status: 'T', 'F', 'U', or 0 when absent. */
static char ready_status(const cJSON *cluster)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj_item(obj_item(cluster, "status"), "conditions")) {
		const char *type = obj_str(c, "type");
		if (type && strcmp(type, "Ready") == 0) {
			const char *st = obj_str(c, "status");
			if (!st)
				return 'U';
			return st[0] == 'T' ? 'T' : st[0] == 'F' ? 'F' : 'U';
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ state */

struct sched_ctx {
	const cJSON *placement;
	const char *uid;
	long replicas;
	bool has_replicas;
	int n;
	struct ccl *cl;
};

static void set_error(struct sched_result *out, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct sched_result *out, const char *reason, const char *fmt, ...)
{
	va_list ap;
	snprintf(out->reason, sizeof out->reason, "%s", reason);
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof out->message, fmt, ap);
	va_end(ap);
}

/* Returns NULL when the cluster passes every filter, else the reason string
 * (written to buf when it is built). Plugin order: taint toleration,
 * cluster affinity, spread-constraint properties; the first failure wins. */
static const char *filter_cluster(const struct sched_ctx *cx, const struct ccl *c,
				  const cJSON *affinity, char *buf, size_t len)
{
	const cJSON *tols = obj_item(cx->placement, "clusterTolerations");
	const cJSON *t;
	bool has_ready_taint = false;
	cJSON_ArrayForEach(t, obj_item(obj_item(c->obj, "spec"), "taints")) {
		const char *key = obj_str(t, "key");
		const char *val = obj_str(t, "value");
		const char *eff = obj_str(t, "effect");
		if (!key)
			continue;
		if (strcmp(key, TAINT_NOT_READY) == 0 || strcmp(key, TAINT_UNREACHABLE) == 0)
			has_ready_taint = true;
		if (!eff || (strcmp(eff, "NoSchedule") != 0 && strcmp(eff, "NoExecute") != 0))
			continue;
		if (!taint_tolerated(tols, key, val ? val : "", eff)) {
			snprintf(buf, len, "cluster(s) had untolerated taint {%s: %s}", key, val ? val : "");
			return buf;
		}
	}
	/* The cluster controller taints a not-ready cluster; model that taint
	 * when the object does not carry it yet. */
	char rs = ready_status(c->obj);
	if (!has_ready_taint && (rs == 'F' || rs == 'U')) {
		const char *key = rs == 'F' ? TAINT_NOT_READY : TAINT_UNREACHABLE;
		if (!taint_tolerated(tols, key, "", "NoSchedule")) {
			snprintf(buf, len, "cluster(s) had untolerated taint {%s: }", key);
			return buf;
		}
	}
	if (!cluster_affinity_matches(c->obj, affinity))
		return REASON_AFFINITY;
	const cJSON *sc;
	const cJSON *spec = obj_item(c->obj, "spec");
	cJSON_ArrayForEach(sc, obj_item(cx->placement, "spreadConstraints")) {
		const char *f = obj_str(sc, "spreadByField");
		if (!f)
			continue;
		const char *prov = obj_str(spec, "provider"), *reg = obj_str(spec, "region");
		const char *zones[1];
		if (strcmp(f, "provider") == 0 && (!prov || !*prov))
			return "cluster(s) did not have provider property";
		if (strcmp(f, "region") == 0 && (!reg || !*reg))
			return "cluster(s) did not have region property";
		if (strcmp(f, "zone") == 0 && cluster_zones(c->obj, zones, 1) == 0)
			return "cluster(s) did not have zones property";
	}
	return NULL;
}

/* spreadconstraint/util.go sortClusters: score desc, available replicas
 * (estimate + already assigned) desc, name asc. */
static int cmp_candidates(const void *a, const void *b)
{
	const struct ccl *x = *(const struct ccl *const *)a, *y = *(const struct ccl *const *)b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	long ax = x->avail + x->prev, ay = y->avail + y->prev;
	if (ax != ay)
		return ax > ay ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* --------------------------------------------------------------- webster */

struct party {
	const char *name;
	long votes;
	long seats;
};

/* True when party a gets the next seat before party b: higher
 * votes/(2*seats+1) (compared as float64, as Go does), then fewer seats,
 * then name in the UID-chosen direction. */
static bool party_before(const struct party *a, const struct party *b, bool descending)
{
	double pa = (double)a->votes / (double)(2 * a->seats + 1);
	double pb = (double)b->votes / (double)(2 * b->seats + 1);
	if (pa != pb)
		return pa > pb;
	if (a->seats != b->seats)
		return a->seats < b->seats;
	int c = strcmp(a->name, b->name);
	return descending ? c > 0 : c < 0;
}

int webster_allocate(long seats, int n, const char *const names[], const long votes[],
		     const long initial[], const char *uid, long out[])
{
	if (seats < 0 || n < 0 || (n > 0 && (!names || !votes || !out)))
		return -1;
	if (n == 0)
		return 0;
	bool desc = uid && *uid && (sched_fnv1a32(uid) & 1u);
	struct party *p = calloc((size_t)n, sizeof *p);
	if (!p)
		return -1;
	bool any_initial = false;
	long double total = 0;
	int positive = 0;
	for (int i = 0; i < n; i++) {
		p[i].name = names[i] ? names[i] : "";
		p[i].votes = votes[i] < 0 ? 0 : votes[i];
		p[i].seats = initial ? (initial[i] < 0 ? 0 : initial[i]) : 0;
		if (p[i].seats)
			any_initial = true;
		if (p[i].votes > 0) {
			total += p[i].votes;
			positive++;
		}
	}
	/* Every seat goes, in a fixed total order, to the best remaining
	 * (priority, seats, name) element, and each party's priorities only
	 * fall as it gains seats. So a party is certain to hold at least about
	 * votes*(seats-n)/total seats: hand those out at once, then run the
	 * seat-by-seat loop for the rest. Same result, bounded work. */
	long remaining = seats;
	if (!any_initial && positive > 0 && seats > 4L * n + 64) {
		long double base = (long double)seats - (long double)positive - 1;
		for (int i = 0; i < n && base > 0; i++) {
			if (p[i].votes <= 0)
				continue;
			long double lb = floorl((long double)p[i].votes * base / total) - 2;
			if (lb > 0 && lb < (long double)remaining) {
				p[i].seats = (long)lb;
				remaining -= (long)lb;
			}
		}
	}
	for (; remaining > 0; remaining--) {
		int best = 0;
		for (int i = 1; i < n; i++)
			if (party_before(&p[i], &p[best], desc))
				best = i;
		p[best].seats++;
	}
	for (int i = 0; i < n; i++)
		out[i] = p[i].seats;
	free(p);
	return 0;
}

/* ------------------------------------------------------------- selection */

#define INVALID_REPLICAS (-1L)

struct spread {
	bool present;
	long min, max;
};

static void read_spread(const cJSON *placement, const char *field, struct spread *s)
{
	const cJSON *sc;
	s->present = false;
	s->min = 0;
	s->max = 0;
	cJSON_ArrayForEach(sc, obj_item(placement, "spreadConstraints")) {
		const char *f = obj_str(sc, "spreadByField");
		const char *l = obj_str(sc, "spreadByLabel");
		if (!f || !*f)
			f = (l && *l) ? "" : "cluster"; /* webhook default */
		if (strcmp(f, field) != 0)
			continue;
		s->present = true;
		s->min = clamp_long(json_get_num(sc, "minGroups", 1));
		s->max = clamp_long(json_get_num(sc, "maxGroups", 0));
		if (s->min < 1)
			s->min = 1; /* webhook default */
	}
}

static bool has_spread_constraints(const cJSON *placement)
{
	return cJSON_GetArraySize(obj_item(placement, "spreadConstraints")) > 0;
}

static const cJSON *replica_scheduling(const cJSON *placement)
{
	const cJSON *rs = obj_item(placement, "replicaScheduling");
	return cJSON_IsObject(rs) ? rs : NULL;
}

static bool is_duplicated(const cJSON *placement)
{
	const cJSON *rs = replica_scheduling(placement);
	if (!rs)
		return true;
	const char *t = obj_str(rs, "replicaSchedulingType");
	return t && strcmp(t, "Duplicated") == 0;
}

/* select_clusters.go shouldIgnoreSpreadConstraint: static weight ignores
 * spread constraints. */
static bool ignore_spread(const cJSON *placement)
{
	const cJSON *rs = replica_scheduling(placement);
	if (!rs)
		return false;
	const char *t = obj_str(rs, "replicaSchedulingType");
	const char *pref = obj_str(rs, "replicaDivisionPreference");
	if (t && *t && strcmp(t, "Divided") != 0)
		return false;
	if (pref && *pref && strcmp(pref, "Weighted") != 0)
		return false;
	const cJSON *wp = obj_item(rs, "weightPreference");
	if (!cJSON_IsObject(wp))
		return true;
	const char *dyn = obj_str(wp, "dynamicWeight");
	return cJSON_GetArraySize(obj_item(wp, "staticWeightList")) != 0 && (!dyn || !*dyn);
}

static long sum_avail(struct ccl **v, int n)
{
	long s = 0;
	for (int i = 0; i < n; i++)
		s += v[i]->avail + v[i]->prev;
	return s;
}

/* select_clusters_by_cluster.go: top maxGroups by order; when their
 * available replicas fall short, swap the weakest picks for the richest
 * remaining clusters. */
static int select_by_cluster(const struct spread *s, struct ccl **cand, int n, long need,
			     struct ccl **sel, int *nsel, struct sched_result *out)
{
	if (n < s->min) {
		set_error(out, "SchedulerError", "failed to select clusters: the number of feasible clusters is less than spreadConstraint.MinGroups");
		return -1;
	}
	int cnt = (s->max > 0 && s->max < n) ? (int)s->max : n;
	memcpy(sel, cand, (size_t)cnt * sizeof *sel);
	struct ccl **rest = cand + cnt;
	int nrest = n - cnt;
	if (need != INVALID_REPLICAS) {
		for (int upd = cnt - 1; sum_avail(sel, cnt) < need && upd >= 0; upd--) {
			long best = sel[upd]->avail + sel[upd]->prev;
			int id = -1;
			for (int i = 0; i < nrest; i++) {
				long a = rest[i]->avail + rest[i]->prev;
				if (a > best) {
					best = a;
					id = i;
				}
			}
			if (id < 0)
				continue;
			struct ccl *tmp = rest[id];
			rest[id] = sel[upd];
			sel[upd] = tmp;
		}
		if (sum_avail(sel, cnt) < need) {
			set_error(out, "SchedulerError", "failed to select clusters: no enough resource when selecting %d clusters", cnt);
			return -1;
		}
	}
	*nsel = cnt;
	return 0;
}

struct region {
	const char *name;
	int first, count; /* indexes into a region-grouped cluster array */
	int score;
	long avail;
};

static int cmp_regions(const void *a, const void *b)
{
	const struct region *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->avail != y->avail)
		return x->avail > y->avail ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const char *cluster_region(const struct ccl *c)
{
	const char *r = obj_str(obj_item(c->obj, "spec"), "region");
	return r ? r : "";
}

/* select_clusters_by_region.go: the fewest best regions (from minGroups
 * up to maxGroups) holding at least the cluster constraint's minGroups
 * clusters; the best cluster of each region, then the richest others up to
 * the cluster constraint's maxGroups. Regions are ranked by their best
 * cluster's score, then total available replicas, then name. */
static int select_by_region(const struct spread *rg, const struct spread *cs, struct ccl **cand,
			    int n, struct ccl **sel, int *nsel, struct sched_result *out)
{
	struct region *regs = calloc((size_t)n + 1, sizeof *regs);
	struct ccl **grouped = calloc((size_t)n + 1, sizeof *grouped);
	int nr = 0, ng = 0, rc = -1;
	if (!regs || !grouped) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	for (int i = 0; i < n; i++) {
		const char *r = cluster_region(cand[i]);
		int k;
		for (k = 0; k < nr; k++)
			if (strcmp(regs[k].name, r) == 0)
				break;
		if (k < nr)
			continue;
		regs[nr].name = r;
		regs[nr].first = ng;
		regs[nr].score = cand[i]->score;
		for (int j = i; j < n; j++) {
			if (strcmp(cluster_region(cand[j]), r) != 0)
				continue;
			grouped[ng++] = cand[j]; /* keeps candidate order */
			regs[nr].avail += cand[j]->avail + cand[j]->prev;
		}
		regs[nr].count = ng - regs[nr].first;
		nr++;
	}
	if (nr < rg->min) {
		set_error(out, "SchedulerError", "failed to select clusters: the number of feasible region is less than spreadConstraint.MinGroups");
		goto done;
	}
	qsort(regs, (size_t)nr, sizeof *regs, cmp_regions);
	int hi = (rg->max > 0 && rg->max < nr) ? (int)rg->max : nr;
	int k = -1;
	for (int want = (int)rg->min; want <= hi; want++) {
		int clusters = 0;
		for (int i = 0; i < want; i++)
			clusters += regs[i].count;
		if (!cs->present || clusters >= cs->min) {
			k = want;
			break;
		}
	}
	if (k < 0) {
		set_error(out, "SchedulerError", "failed to select clusters: the number of clusters is less than the cluster spreadConstraint.MinGroups");
		goto done;
	}
	int ns = 0, nrest = 0;
	struct ccl **tmp = calloc((size_t)n + 1, sizeof *tmp);
	if (!tmp) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	for (int i = 0; i < k; i++) {
		sel[ns++] = grouped[regs[i].first];
		for (int j = 1; j < regs[i].count; j++)
			tmp[nrest++] = grouped[regs[i].first + j];
	}
	int need = ns + nrest;
	if (cs->present && need > cs->max)
		need = (int)cs->max;
	if (!cs->present)
		need = ns;
	int extra = need - ns;
	if (extra > 0) {
		qsort(tmp, (size_t)nrest, sizeof *tmp, cmp_candidates);
		for (int i = 0; i < extra && i < nrest; i++)
			sel[ns++] = tmp[i];
	}
	free(tmp);
	*nsel = ns;
	rc = 0;
done:
	free(regs);
	free(grouped);
	return rc;
}

/* ------------------------------------------------------------ assignment */

struct tc {
	const char *name;
	long replicas;
};

static void merge_tc(struct tc *res, int *nres, const char *name, long replicas)
{
	for (int i = 0; i < *nres; i++) {
		if (strcmp(res[i].name, name) == 0) {
			res[i].replicas += replicas;
			return;
		}
	}
	res[*nres].name = name;
	res[*nres].replicas = replicas;
	(*nres)++;
}

/* Webster over (names, weights), results merged into res. */
static int divide_into(long target, struct tc *w, int nw, const char *uid, struct tc *res, int *nres)
{
	if (nw == 0)
		return 0;
	const char **names = calloc((size_t)nw, sizeof *names);
	long *votes = calloc((size_t)nw, sizeof *votes);
	long *seats = calloc((size_t)nw, sizeof *seats);
	int rc = -1;
	if (names && votes && seats) {
		for (int i = 0; i < nw; i++) {
			names[i] = w[i].name;
			votes[i] = w[i].replicas;
		}
		rc = webster_allocate(target, nw, (const char *const *)names, votes, NULL, uid, seats);
		if (rc == 0)
			for (int i = 0; i < nw; i++)
				merge_tc(res, nres, names[i], seats[i]);
	}
	free(names);
	free(votes);
	free(seats);
	return rc;
}

/* Stable sort by replicas descending (Go's sort.Sort on <= 12 items is an
 * insertion sort; insertion sort keeps that behaviour for any size). */
static void sort_desc_stable(struct tc *w, int n)
{
	for (int i = 1; i < n; i++) {
		struct tc x = w[i];
		int j = i - 1;
		while (j >= 0 && w[j].replicas < x.replicas) {
			w[j + 1] = w[j];
			j--;
		}
		w[j + 1] = x;
	}
}

static int assign_static(const struct sched_ctx *cx, struct ccl **sel, int ns, struct tc *res, int *nres)
{
	const cJSON *wp = obj_item(replica_scheduling(cx->placement), "weightPreference");
	struct tc *w = calloc((size_t)ns + 1, sizeof *w);
	if (!w)
		return -1;
	int nw = 0;
	if (cJSON_IsObject(wp)) {
		for (int i = 0; i < ns; i++) {
			long weight = 0;
			const cJSON *rule;
			cJSON_ArrayForEach(rule, obj_item(wp, "staticWeightList")) {
				long rw = clamp_long(json_get_num(rule, "weight", 0));
				if (rw > weight && cluster_affinity_matches(sel[i]->obj, obj_item(rule, "targetCluster")))
					weight = rw;
			}
			if (weight > 0) {
				w[nw].name = sel[i]->name;
				w[nw++].replicas = weight;
			}
		}
	}
	if (nw == 0) {
		for (int i = 0; i < ns; i++) {
			w[i].name = sel[i]->name;
			w[i].replicas = 1;
		}
		nw = ns;
	}
	int rc = divide_into(cx->replicas, w, nw, cx->uid, res, nres);
	free(w);
	return rc;
}

/* Dynamic weight and Aggregated, steady mode (assignment.go
 * assignByDynamicStrategy, division_algorithm.go). */
static int assign_dynamic(const struct sched_ctx *cx, bool aggregated, struct ccl **sel, int ns,
			  struct tc *res, int *nres, struct sched_result *out)
{
	struct tc *sched = calloc((size_t)ns + 1, sizeof *sched);
	struct tc *w = calloc((size_t)ns + 1, sizeof *w);
	int nsched = 0, nw = 0, rc = -1;
	long assigned = 0, target;
	if (!sched || !w) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	for (int i = 0; i < ns; i++) {
		if (sel[i]->in_prev) {
			sched[nsched].name = sel[i]->name;
			sched[nsched++].replicas = sel[i]->prev;
			assigned += sel[i]->prev;
		}
	}
	if (assigned == cx->replicas) {
		for (int i = 0; i < nsched; i++)
			merge_tc(res, nres, sched[i].name, sched[i].replicas);
		rc = 0;
		goto done;
	}
	bool scale_down = assigned > cx->replicas;
	if (scale_down) {
		/* The previous result is the weight: shrink proportionally. */
		target = cx->replicas;
		memcpy(w, sched, (size_t)nsched * sizeof *w);
		nw = nsched;
		sort_desc_stable(w, nw);
	} else {
		target = cx->replicas - assigned;
		for (int i = 0; i < ns; i++) {
			w[nw].name = sel[i]->name;
			w[nw++].replicas = sel[i]->avail;
		}
		sort_desc_stable(w, nw);
	}
	long available = 0;
	for (int i = 0; i < nw; i++)
		available += w[i].replicas;
	if (available < target) {
		set_error(out, "Unschedulable", "failed to assign replicas: Clusters available replicas %ld are not enough to schedule.", available);
		goto done;
	}
	if (aggregated) {
		if (!scale_down) {
			/* Clusters that already run replicas come first. */
			struct tc *tmp = calloc((size_t)nw + 1, sizeof *tmp);
			if (!tmp) {
				set_error(out, "SchedulerError", "out of memory");
				goto done;
			}
			int nt = 0;
			for (int pass = 0; pass < 2; pass++) {
				for (int i = 0; i < nw; i++) {
					bool prior = false;
					for (int j = 0; j < nsched; j++)
						if (sched[j].replicas > 0 && strcmp(sched[j].name, w[i].name) == 0)
							prior = true;
					if (prior == (pass == 0))
						tmp[nt++] = w[i];
				}
			}
			memcpy(w, tmp, (size_t)nw * sizeof *w);
			free(tmp);
		}
		long sum = 0;
		for (int i = 0; i < nw; i++) {
			sum += w[i].replicas;
			if (sum >= target) {
				nw = i + 1;
				break;
			}
		}
	}
	if (!scale_down)
		for (int i = 0; i < nsched; i++)
			merge_tc(res, nres, sched[i].name, sched[i].replicas);
	if (divide_into(target, w, nw, cx->uid, res, nres) != 0) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	rc = 0;
done:
	free(sched);
	free(w);
	return rc;
}

static int cmp_target_name(const void *a, const void *b)
{
	return strcmp(((const struct sched_target *)a)->name, ((const struct sched_target *)b)->name);
}

/* One scheduling attempt with one cluster affinity term. */
static int schedule_once(const struct sched_ctx *cx, const cJSON *affinity, struct sched_result *out)
{
	struct ccl **cand = calloc((size_t)cx->n + 1, sizeof *cand);
	struct ccl **sel = calloc((size_t)cx->n + 1, sizeof *sel);
	struct tc *res = calloc((size_t)cx->n + 1, sizeof *res);
	/* Failure reasons and their counts (FitError's histogram). */
	char (*reasons)[160] = calloc((size_t)cx->n + 1, sizeof *reasons);
	int *counts = calloc((size_t)cx->n + 1, sizeof *counts);
	int nc = 0, ns = 0, nres = 0, nreasons = 0, rc = -1;
	if (!cand || !sel || !res || !reasons || !counts) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	if (cx->n == 0) {
		set_error(out, "SchedulerError", "no clusters available to schedule");
		goto done;
	}
	for (int i = 0; i < cx->n; i++) {
		char buf[160];
		const char *why = filter_cluster(cx, &cx->cl[i], affinity, buf, sizeof buf);
		if (!why) {
			cand[nc++] = &cx->cl[i];
			continue;
		}
		int k;
		for (k = 0; k < nreasons; k++)
			if (strcmp(reasons[k], why) == 0)
				break;
		if (k == nreasons)
			snprintf(reasons[nreasons++], sizeof reasons[0], "%s", why);
		counts[k]++;
	}
	if (nc == 0) {
		/* FitError: "0/N clusters are available: <sorted histogram>." */
		char (*lines)[176] = calloc((size_t)nreasons + 1, sizeof *lines);
		if (!lines) {
			set_error(out, "SchedulerError", "out of memory");
			goto done;
		}
		for (int k = 0; k < nreasons; k++)
			snprintf(lines[k], sizeof lines[0], "%d %s", counts[k], reasons[k]);
		qsort(lines, (size_t)nreasons, sizeof lines[0], cmp_lines);
		size_t off = 0;
		snprintf(out->reason, sizeof out->reason, "NoClusterFit");
		off += (size_t)snprintf(out->message, sizeof out->message, "0/%d clusters are available: ", cx->n);
		for (int k = 0; k < nreasons && off < sizeof out->message; k++)
			off += (size_t)snprintf(out->message + off, sizeof out->message - off, "%s%s",
						k ? ", " : "", lines[k]);
		if (off < sizeof out->message)
			snprintf(out->message + off, sizeof out->message - off, ".");
		free(lines);
		goto done;
	}
	qsort(cand, (size_t)nc, sizeof *cand, cmp_candidates);

	/* Select. */
	if (!has_spread_constraints(cx->placement) || ignore_spread(cx->placement)) {
		memcpy(sel, cand, (size_t)nc * sizeof *sel);
		ns = nc;
	} else {
		struct spread by_region, by_cluster;
		read_spread(cx->placement, "region", &by_region);
		read_spread(cx->placement, "cluster", &by_cluster);
		long need = is_duplicated(cx->placement) ? INVALID_REPLICAS
			  : (cx->has_replicas ? cx->replicas : 0);
		if (by_region.present) {
			if (select_by_region(&by_region, &by_cluster, cand, nc, sel, &ns, out) != 0)
				goto done;
		} else if (by_cluster.present) {
			if (select_by_cluster(&by_cluster, cand, nc, need, sel, &ns, out) != 0)
				goto done;
		} else {
			set_error(out, "SchedulerError", "failed to select clusters: just support cluster and region spread constraint");
			goto done;
		}
	}
	if (ns == 0) {
		set_error(out, "SchedulerError", "failed to assign replicas: no clusters available to schedule");
		goto done;
	}

	/* Assign. */
	if (!cx->has_replicas || cx->replicas <= 0) {
		for (int i = 0; i < ns; i++)
			merge_tc(res, &nres, sel[i]->name, 0);
	} else {
		const cJSON *rs = replica_scheduling(cx->placement);
		const char *pref = obj_str(rs, "replicaDivisionPreference");
		const char *dyn = obj_str(obj_item(rs, "weightPreference"), "dynamicWeight");
		int arc;
		if (is_duplicated(cx->placement)) {
			for (int i = 0; i < ns; i++)
				merge_tc(res, &nres, sel[i]->name, cx->replicas);
			arc = 0;
		} else if (pref && strcmp(pref, "Aggregated") == 0) {
			arc = assign_dynamic(cx, true, sel, ns, res, &nres, out);
		} else if (dyn && *dyn) {
			arc = assign_dynamic(cx, false, sel, ns, res, &nres, out);
		} else {
			arc = assign_static(cx, sel, ns, res, &nres);
			if (arc != 0)
				set_error(out, "SchedulerError", "out of memory");
		}
		if (arc != 0)
			goto done;
		/* removeZeroReplicasCluster */
		int k = 0;
		for (int i = 0; i < nres; i++)
			if (res[i].replicas > 0)
				res[k++] = res[i];
		nres = k;
	}
	out->targets = calloc((size_t)nres + 1, sizeof *out->targets);
	if (!out->targets) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	for (int i = 0; i < nres; i++) {
		snprintf(out->targets[i].name, sizeof out->targets[i].name, "%s", res[i].name);
		out->targets[i].replicas = res[i].replicas;
	}
	out->n = nres;
	qsort(out->targets, (size_t)nres, sizeof *out->targets, cmp_target_name);
	out->has_replicas = cx->has_replicas;
	out->reason[0] = '\0';
	out->message[0] = '\0';
	rc = 0;
done:
	free(cand);
	free(sel);
	free(res);
	free(reasons);
	free(counts);
	return rc;
}

static long workload_replicas(const cJSON *workload)
{
	const cJSON *spec = obj_item(workload, "spec");
	const cJSON *r = obj_item(spec, "replicas");
	if (!r)
		r = obj_item(spec, "parallelism"); /* Job */
	if (!r)
		return 1; /* the API server's default */
	if (!cJSON_IsNumber(r) || r->valuedouble < 0)
		return 0;
	double d = r->valuedouble;
	return d > INT32_MAX ? INT32_MAX : (long)d;
}

int schedule(const cJSON *clusters, const cJSON *placement, const cJSON *workload,
	     bool workload_has_replicas, const cJSON *previous, struct sched_result *out)
{
	memset(out, 0, sizeof *out);
	if (clusters && !cJSON_IsArray(clusters)) {
		set_error(out, "SchedulerError", "clusters must be a list");
		return -1;
	}
	struct sched_ctx cx = {0};
	cx.placement = cJSON_IsObject(placement) ? placement : NULL;
	cx.uid = obj_str(obj_item(workload, "metadata"), "uid");
	cx.has_replicas = workload_has_replicas;
	cx.replicas = workload_has_replicas ? workload_replicas(workload) : 0;
	int total = cJSON_GetArraySize(clusters);
	cx.cl = calloc((size_t)total + 1, sizeof *cx.cl);
	if (!cx.cl) {
		set_error(out, "SchedulerError", "out of memory");
		return -1;
	}
	struct req_list rl;
	workload_requests(workload, &rl);
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters) {
		const char *name = obj_str(obj_item(c, "metadata"), "name");
		/* Karmada limits cluster names to 48 characters. */
		if (!name || !*name || strlen(name) >= sizeof out->targets->name)
			continue;
		bool dup = false;
		for (int i = 0; i < cx.n; i++)
			if (strcmp(cx.cl[i].name, name) == 0)
				dup = true;
		if (dup)
			continue;
		struct ccl *cl = &cx.cl[cx.n++];
		cl->obj = c;
		cl->name = name;
		cl->avail = estimate_replicas(c, &rl);
		const cJSON *p;
		cJSON_ArrayForEach(p, previous) {
			const char *pn = obj_str(p, "name");
			if (pn && strcmp(pn, name) == 0) {
				cl->in_prev = true;
				cl->prev = clamp_long(json_get_num(p, "replicas", 0));
				if (cl->prev < 0)
					cl->prev = 0;
				break;
			}
		}
		cl->score = cl->in_prev ? 100 : 0; /* ClusterLocality */
	}

	int rc;
	const cJSON *terms = obj_item(cx.placement, "clusterAffinities");
	if (cJSON_GetArraySize(terms) > 0) {
		/* Ordered fallback: the first term that schedules wins; when none
		 * does, the first term's error is reported. */
		struct sched_result first = {0};
		bool have_first = false;
		rc = -1;
		const cJSON *t;
		cJSON_ArrayForEach(t, terms) {
			rc = schedule_once(&cx, t, out);
			if (rc == 0)
				break;
			if (!have_first) {
				first = *out;
				have_first = true;
			}
		}
		if (rc != 0 && have_first)
			*out = first;
	} else {
		rc = schedule_once(&cx, obj_item(cx.placement, "clusterAffinity"), out);
	}
	free(cx.cl);
	return rc;
}

void sched_result_free(struct sched_result *r)
{
	if (!r)
		return;
	free(r->targets);
	r->targets = NULL;
	r->n = 0;
}

void sched_result_format(const struct sched_result *r, char *buf, size_t len)
{
	size_t off = 0;
	if (!buf || len == 0)
		return;
	off += (size_t)snprintf(buf, len, "{");
	for (int i = 0; r && i < r->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s:%ld", i ? ", " : "",
					r->targets[i].name, r->targets[i].replicas);
	if (off < len)
		snprintf(buf + off, len - off, "}");
}
