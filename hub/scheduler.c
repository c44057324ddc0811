/* scheduler — Karmada-compatible placement as a pure function.
 * The pipeline mirrors pkg/scheduler/core/generic_scheduler.go: filter ->
 * score/sort -> select (spread constraints) -> assign replicas -> drop
 * zero-replica clusters. See /work/shared/notes/karmada.md section a. */
#include "scheduler.h"
#include "jsonutil.h"
#include "selector.h"
#include "strmap.h"

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

/* Name -> index map: open addressing over FNV-1a, keys borrowed from the
 * cluster objects. Cluster names are looked up once per cluster (duplicate
 * names, the previous result), which was a quadratic strcmp scan at 1,000
 * clusters. */
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
	/* Suffixes are matched exactly, so their order only matters for
	 * speed: the common ones first. */
	static const struct { const char *suf; long double mul; } sufs[] = {
		{"", 1.0L}, {"m", 1e-3L}, {"Gi", 1073741824.0L}, {"Mi", 1048576.0L},
		{"Ki", 1024.0L}, {"Ti", 1099511627776.0L}, {"Pi", 1125899906842624.0L},
		{"Ei", 1152921504606846976.0L}, {"n", 1e-9L}, {"u", 1e-6L},
		{"k", 1e3L}, {"K", 1e3L}, {"M", 1e6L}, {"G", 1e9L},
		{"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L},
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

/* A string array (clusterNames, exclude) for membership tests. Long
 * arrays get a hash set: a placement naming all of 1,000 clusters would
 * otherwise cost a quadratic strcmp scan. */
struct str_set {
	const cJSON *arr;
	bool hashed;
	struct strmap map; /* the array's strings (borrowed) */
};

static void str_set_init(struct str_set *ss, const cJSON *arr)
{
	memset(ss, 0, sizeof *ss);
	ss->arr = arr;
	int n = cJSON_GetArraySize(arr);
	if (n <= 16)
		return;
	strmap_init_borrowed(&ss->map, (size_t)n);
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			strmap_add(&ss->map, it->valuestring, (void *)it);
	ss->hashed = true;
}

static bool str_set_has(const struct str_set *ss, const char *s)
{
	if (!ss->hashed)
		return str_in_array(ss->arr, s);
	return s && strmap_has(&ss->map, s);
}

static void str_set_free(struct str_set *ss)
{
	if (ss->hashed)
		strmap_clear(&ss->map);
}

/* A ClusterAffinity read once for many clusters: the label selector is
 * parsed and the field selector split once per scheduling attempt rather
 * than once per cluster (most of the filter's cost at 1,000 clusters).
 * Matching is util.ClusterMatches, see affinity_plan_matches. */
struct affinity_plan {
	bool any;           /* not an object: matches every cluster */
	struct str_set exclude;
	bool has_ls;        /* labelSelector present and not null */
	struct label_selector *ls; /* NULL when has_ls: invalid, matches none */
	bool has_fs;        /* fieldSelector present and not null */
	bool fs_none;       /* the field selector matches no cluster */
	bool fs_all;        /* no matchExpressions: matches every cluster */
	cJSON *fs_fields;   /* references to the provider/region requirements */
	cJSON *fs_zones;    /* references to the zone requirements */
	bool has_names;     /* clusterNames not empty */
	struct str_set names;
};

/* clusterAffinity.fieldSelector: zone requirements by matchZones, the
 * others as node-selector requirements over the cluster fields (an invalid
 * one makes the cluster not match). Keys other than provider, region and
 * zone, which Karmada's webhook refuses, match no cluster. */
static void field_plan_init(struct affinity_plan *ap, const cJSON *fs)
{
	if (!cJSON_IsObject(fs)) {
		ap->fs_none = true;
		return;
	}
	const cJSON *exprs = obj_item(fs, "matchExpressions");
	if (!exprs || cJSON_IsNull(exprs)) {
		ap->fs_all = true;
		return;
	}
	if (!cJSON_IsArray(exprs)) {
		ap->fs_none = true;
		return;
	}
	ap->fs_fields = cJSON_CreateArray();
	ap->fs_zones = cJSON_CreateArray();
	bool ok = ap->fs_fields && ap->fs_zones;
	const cJSON *req;
	cJSON_ArrayForEach(req, exprs) {
		const char *key = obj_str(req, "key");
		if (!ok)
			break;
		if (key && strcmp(key, "zone") == 0)
			ok = cJSON_AddItemReferenceToArray(ap->fs_zones, (cJSON *)req);
		else if (key && (strcmp(key, "provider") == 0 || strcmp(key, "region") == 0))
			ok = cJSON_AddItemReferenceToArray(ap->fs_fields, (cJSON *)req);
		else
			ok = false;
	}
	ap->fs_none = !ok;
}

static bool field_plan_matches(const struct affinity_plan *ap, const cJSON *cluster)
{
	if (ap->fs_none)
		return false;
	if (ap->fs_all)
		return true;
	const cJSON *req;
	cJSON_ArrayForEach(req, ap->fs_zones)
		if (!zones_match(req, cluster))
			return false;
	const cJSON *spec = obj_item(cluster, "spec");
	return node_selector_requirements_match(ap->fs_fields, cluster_field, &spec);
}

static void affinity_plan_init(struct affinity_plan *ap, const cJSON *aff)
{
	memset(ap, 0, sizeof *ap);
	if (!cJSON_IsObject(aff)) {
		ap->any = true;
		return;
	}
	str_set_init(&ap->exclude, obj_item(aff, "exclude"));
	const cJSON *ls = obj_item(aff, "labelSelector");
	if (ls && !cJSON_IsNull(ls)) {
		/* from_json returns NULL on an error, and a NULL selector would
		 * match everything: has_ls keeps that apart. */
		ap->has_ls = true;
		ap->ls = label_selector_from_json(ls, NULL, 0);
	}
	const cJSON *fs = obj_item(aff, "fieldSelector");
	if (fs && !cJSON_IsNull(fs)) {
		ap->has_fs = true;
		field_plan_init(ap, fs);
	}
	const cJSON *names = obj_item(aff, "clusterNames");
	ap->has_names = cJSON_GetArraySize(names) != 0;
	str_set_init(&ap->names, names);
}

static void affinity_plan_free(struct affinity_plan *ap)
{
	str_set_free(&ap->exclude);
	str_set_free(&ap->names);
	label_selector_free(ap->ls);
	cJSON_Delete(ap->fs_fields);
	cJSON_Delete(ap->fs_zones);
}

/* util.ClusterMatches: exclude, labelSelector, fieldSelector, clusterNames.
 * A NULL affinity matches every cluster; an absent or null selector matches
 * every cluster, an invalid one none. */
static bool affinity_plan_matches(const struct affinity_plan *ap, const cJSON *cluster)
{
	if (ap->any)
		return true;
	const cJSON *meta = obj_item(cluster, "metadata");
	const char *name = obj_str(meta, "name");
	if (str_set_has(&ap->exclude, name))
		return false;
	if (ap->has_ls && !(ap->ls && label_selector_matches(ap->ls, obj_item(meta, "labels"))))
		return false;
	if (ap->has_fs && !field_plan_matches(ap, cluster))
		return false;
	if (!ap->has_names)
		return true;
	return str_set_has(&ap->names, name);
}

struct sched_fact;
static bool affinity_plan_matches_fact(const struct affinity_plan *ap, const struct sched_fact *f);

bool sched_cluster_affinity_matches(const cJSON *cluster, const cJSON *aff)
{
	struct affinity_plan ap;
	affinity_plan_init(&ap, aff);
	bool ok = affinity_plan_matches(&ap, cluster);
	affinity_plan_free(&ap);
	return ok;
}

/* corev1.Toleration.ToleratesTaint (see scheduler.h). */
bool sched_tolerates_taint(const cJSON *tol, const char *key, const char *value, const char *effect)
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
	return strcmp(tv ? tv : "", value ? value : "") == 0;
}

static bool taint_tolerated(const cJSON *tolerations, const char *key, const char *value,
			    const char *effect)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tolerations)
		if (sched_tolerates_taint(t, key, value, effect))
			return true;
	return false;
}

/* For a new placement, a NoExecute taint counts as tolerated only by a
 * toleration without tolerationSeconds: one that runs out would have the
 * taint manager evict the binding again (a Duplicated binding would go
 * back and forth). Clusters already placed do not come here. */
static bool noexecute_tolerated(const cJSON *tolerations, const char *key, const char *value)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tolerations)
		if (sched_tolerates_taint(t, key, value, "NoExecute") && !cJSON_IsNumber(obj_item(t, "tolerationSeconds")))
			return true;
	return false;
}

/* ---------------------------------------------------------------- clusters */

/* One cluster as the filters see it (sched_facts_build). */
struct sched_fact {
	const cJSON *obj;
	const char *name;
	const cJSON *meta, *labels, *spec, *taints;
	char ready; /* ready_status */
	int idx;    /* position in sched_facts.f */
};

/* The filters' verdicts for one filter input (see fcache_key), per cluster
 * of the facts: what every binding with that input shares. */
struct fcache_entry {
	int n;
	char **taint;      /* [n]: the taint filter's reason (malloc'd), NULL: passes */
	const char **rest; /* [n]: affinity and spread filters' reason (static), NULL: passes */
	/* The same verdicts as lists, ascending: the clusters that pass both,
	 * and those only a taint keeps out (they pass when the previous
	 * result names them). A scheduling reads these instead of visiting
	 * every cluster (issue 15: 1,000 clusters, 10,000 bindings). */
	int *pass, npass;
	int *taint_only, ntaint_only;
};

/* Filter results shared by schedulings over the same facts (issue 15:
 * 10,000 bindings with 100 placements re-placed after a cluster joins run
 * the filters 100 times, not 10,000). Lives and dies with its facts, which
 * are rebuilt whenever a Cluster changes, so an entry never outlives the
 * clusters it was computed from. */
struct fcache {
	struct strmap entries; /* fcache_key -> struct fcache_entry */
	int n;                 /* clusters per entry (the facts' n) */
	long hits, misses;
};

/* Verdicts (two pointers each) kept per facts, all entries together: 2M,
 * 32 MiB (2,000 placements at 1,000 clusters, 200 at 10,000); past it, the
 * cache starts over. */
#define FCACHE_MAX_CELLS 2000000L

struct sched_facts {
	int n;
	struct sched_fact *f;
	struct strmap by_name; /* name -> its struct sched_fact (keys borrowed) */
	struct fcache *cache;  /* NULL: filters run per scheduling (schedule_full) */
};

struct ccl {
	const cJSON *obj;
	const char *name;
	const struct sched_fact *fact;
	int idx;      /* position in sched_ctx.cl */
	bool avail_done;
	long avail;   /* estimator: max available replicas (once avail_done) */
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
	const struct req_list *rl;
	/* Whether anything reads ccl.avail (see needs_estimates). */
	bool need_avail;
	/* gracefulEvictionTasks of the binding (ClusterEviction plugin). */
	const cJSON *evictions;
	/* Karmada's Fresh assignment mode (a rescheduling was triggered, e.g.
	 * by a WorkloadRebalancer): the previous result is not kept. */
	bool fresh;
	/* The facts' filter cache (NULL: none); cl[i].fact is facts->f[i]. */
	struct fcache *cache;
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

/* The taint toleration filter (TaintToleration plugin): NULL when the
 * cluster passes, else the reason string (written to buf). Karmada's
 * TaintToleration skips a cluster already in the result (c->in_prev: a
 * NoSchedule taint only keeps new placements away, and a NoExecute one is
 * the taint manager's to act on after the toleration time); the caller
 * checks that. */
static const char *filter_taints(const struct sched_ctx *cx, const struct sched_fact *fact, char *buf, size_t len)
{
	const cJSON *tols = obj_item(cx->placement, "clusterTolerations");
	const cJSON *t;
	bool has_ready_taint = false;
	cJSON_ArrayForEach(t, fact->taints) {
		const char *key = obj_str(t, "key");
		const char *val = obj_str(t, "value");
		const char *eff = obj_str(t, "effect");
		if (!key)
			continue;
		if (strcmp(key, TAINT_NOT_READY) == 0 || strcmp(key, TAINT_UNREACHABLE) == 0)
			has_ready_taint = true;
		if (!eff || (strcmp(eff, "NoSchedule") != 0 && strcmp(eff, "NoExecute") != 0))
			continue;
		if (strcmp(eff, "NoExecute") == 0 ? !noexecute_tolerated(tols, key, val ? val : "")
						   : !taint_tolerated(tols, key, val ? val : "", eff)) {
			/* corev1 Taint.ToString(): key[=value]:Effect */
			snprintf(buf, len, "cluster(s) had untolerated taint {%s%s%s:%s}", key, val && *val ? "=" : "",
				 val ? val : "", eff);
			return buf;
		}
	}
	/* The cluster controller taints a not-ready cluster; model that taint
	 * when the object does not carry it yet. */
	char rs = fact->ready;
	if (!has_ready_taint && (rs == 'F' || rs == 'U')) {
		const char *key = rs == 'F' ? TAINT_NOT_READY : TAINT_UNREACHABLE;
		if (!taint_tolerated(tols, key, "", "NoSchedule")) {
			snprintf(buf, len, "cluster(s) had untolerated taint {%s:NoSchedule}", key);
			return buf;
		}
	}
	return NULL;
}

/* The cluster affinity and spread-constraint property filters: NULL when
 * the cluster passes, else a static reason string. */
static const char *filter_rest(const struct sched_ctx *cx, const struct sched_fact *fact,
			       const struct affinity_plan *affinity)
{
	if (!affinity_plan_matches_fact(affinity, fact))
		return REASON_AFFINITY;
	const cJSON *sc;
	const cJSON *spec = fact->spec;
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
		if (strcmp(f, "zone") == 0 && cluster_zones(fact->obj, zones, 1) == 0)
			return "cluster(s) did not have zones property";
	}
	return NULL;
}

/* ClusterEviction: a cluster the binding is being evicted from. */
static const char *filter_eviction(const struct sched_ctx *cx, const struct ccl *c)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, cx->evictions) {
		const char *from = obj_str(t, "fromCluster");
		if (from && strcmp(from, c->name) == 0)
			return "cluster(s) is in the process of eviction";
	}
	return NULL;
}

/* Returns NULL when the cluster passes every filter, else the reason string
 * (written to buf when it is built). Plugin order: taint toleration,
 * cluster affinity, spread-constraint properties, cluster eviction; the
 * first failure wins. */
static const char *filter_cluster(const struct sched_ctx *cx, const struct ccl *c,
				  const struct affinity_plan *affinity, char *buf, size_t len)
{
	const char *why = c->in_prev ? NULL : filter_taints(cx, c->fact, buf, len);
	if (!why)
		why = filter_rest(cx, c->fact, affinity);
	return why ? why : filter_eviction(cx, c);
}

/* filter_cluster from a cache entry: the same verdict. */
static const char *filter_cached(const struct sched_ctx *cx, const struct ccl *c, const struct fcache_entry *e)
{
	const char *why = c->in_prev ? NULL : e->taint[c->idx];
	if (!why)
		why = e->rest[c->idx];
	return why ? why : filter_eviction(cx, c);
}

static void fcache_entry_free(void *v)
{
	struct fcache_entry *e = v;
	if (!e)
		return;
	for (int i = 0; e->taint && i < e->n; i++)
		free(e->taint[i]);
	free(e->taint);
	free(e->rest);
	free(e->pass);
	free(e->taint_only);
	free(e);
}

/* Everything the cached filters read of a scheduling besides the facts:
 * the affinity term, the tolerations and the spread constraints, printed
 * (equal JSON, equal verdicts). NULL when memory is short. */
static char *fcache_key(const struct sched_ctx *cx, const cJSON *affinity)
{
	const cJSON *parts[3] = {affinity, obj_item(cx->placement, "clusterTolerations"),
				 obj_item(cx->placement, "spreadConstraints")};
	char *printed[3] = {NULL, NULL, NULL};
	size_t len = 4;
	bool ok = true;
	for (int i = 0; i < 3; i++) {
		if (parts[i] && !(printed[i] = cJSON_PrintUnformatted(parts[i])))
			ok = false;
		len += printed[i] ? strlen(printed[i]) + 1 : 1;
	}
	char *key = ok ? malloc(len) : NULL;
	if (key) {
		/* \x01 cannot occur in printed JSON (control characters are escaped). */
		snprintf(key, len, "%s\x01%s\x01%s", printed[0] ? printed[0] : "", printed[1] ? printed[1] : "",
			 printed[2] ? printed[2] : "");
	}
	for (int i = 0; i < 3; i++)
		free(printed[i]);
	return key;
}

/* The cache entry for this scheduling's filter input, computed on a miss;
 * NULL without a cache or when memory is short (the caller then filters
 * each cluster itself). */
static const struct fcache_entry *fcache_get(const struct sched_ctx *cx, const cJSON *affinity)
{
	struct fcache *fc = cx->cache;
	if (!fc)
		return NULL;
	char *key = fcache_key(cx, affinity);
	if (!key)
		return NULL;
	struct fcache_entry *e = strmap_get(&fc->entries, key);
	if (e) {
		fc->hits++;
		free(key);
		return e;
	}
	fc->misses++;
	if ((long)(strmap_count(&fc->entries) + 1) * (fc->n + 1) > FCACHE_MAX_CELLS)
		strmap_clear(&fc->entries);
	e = calloc(1, sizeof *e);
	bool ok = e && (e->taint = calloc((size_t)fc->n + 1, sizeof *e->taint)) &&
		  (e->rest = calloc((size_t)fc->n + 1, sizeof *e->rest)) &&
		  (e->pass = malloc(((size_t)fc->n + 1) * sizeof *e->pass)) &&
		  (e->taint_only = malloc(((size_t)fc->n + 1) * sizeof *e->taint_only));
	struct affinity_plan plan;
	affinity_plan_init(&plan, affinity);
	for (int i = 0; ok && i < fc->n; i++) {
		char buf[160];
		const char *why = filter_taints(cx, cx->cl[i].fact, buf, sizeof buf);
		if (why && !(e->taint[i] = strdup(why)))
			ok = false;
		e->rest[i] = filter_rest(cx, cx->cl[i].fact, &plan);
		e->n = i + 1;
		if (!e->rest[i] && !e->taint[i])
			e->pass[e->npass++] = i;
		else if (!e->rest[i])
			e->taint_only[e->ntaint_only++] = i;
	}
	affinity_plan_free(&plan);
	if (!ok) {
		fcache_entry_free(e);
		free(key);
		return NULL;
	}
	strmap_put(&fc->entries, key, e);
	free(key);
	return e;
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
	double prio; /* votes/(2*seats+1), kept current while seats are handed out */
};

static double party_priority(const struct party *a)
{
	return (double)a->votes / (double)(2 * a->seats + 1);
}

/* Whether party i gets the next seat before party j: higher
 * votes/(2*seats+1) (compared as float64, as Go does), then fewer seats,
 * then name in the UID-chosen direction. Equal names (only possible through
 * sched_webster_allocate's own callers) fall back to the lower index, which is
 * the party a first-to-last scan for the best one would keep. */
static bool party_first(const struct party *p, int i, int j, bool descending)
{
	const struct party *a = &p[i], *b = &p[j];
	if (a->prio != b->prio)
		return a->prio > b->prio;
	if (a->seats != b->seats)
		return a->seats < b->seats;
	int c = strcmp(a->name, b->name);
	if (c != 0)
		return descending ? c > 0 : c < 0;
	return i < j;
}

static void party_sift_down(int *heap, int n, int at, const struct party *p, bool descending)
{
	int x = heap[at];
	for (;;) {
		int child = 2 * at + 1;
		if (child >= n)
			break;
		if (child + 1 < n && party_first(p, heap[child + 1], heap[child], descending))
			child++;
		if (!party_first(p, heap[child], x, descending))
			break;
		heap[at] = heap[child];
		at = child;
	}
	heap[at] = x;
}

int sched_webster_allocate(long seats, int n, const char *const names[], const long votes[],
		     const long initial[], const char *uid, long out[])
{
	if (seats < 0 || n < 0 || (n > 0 && (!names || !votes || !out)))
		return -1;
	if (n == 0)
		return 0;
	bool desc = uid && *uid && (sched_fnv1a32(uid) & 1u);
	struct party *p = calloc((size_t)n, sizeof *p);
	int *heap = calloc((size_t)n, sizeof *heap);
	if (!p || !heap) {
		free(p);
		free(heap);
		return -1;
	}
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
	/* Seat by seat: each seat goes to the first party in party_first's
	 * (strict, total) order. Only the winner's key changes, and it only
	 * moves later, so a binary heap yields the same winners as scanning
	 * every party for each seat: O(log n) a seat instead of O(n). */
	if (remaining > 0) {
		for (int i = 0; i < n; i++) {
			p[i].prio = party_priority(&p[i]);
			heap[i] = i;
		}
		for (int i = n / 2 - 1; i >= 0; i--)
			party_sift_down(heap, n, i, p, desc);
		for (; remaining > 0; remaining--) {
			struct party *best = &p[heap[0]];
			best->seats++;
			best->prio = party_priority(best);
			party_sift_down(heap, n, 0, p, desc);
		}
	}
	for (int i = 0; i < n; i++)
		out[i] = p[i].seats;
	free(p);
	free(heap);
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
	int idx; /* the cluster's ccl.idx */
	long replicas;
};

/* The assignment result, at most one entry per cluster. slot[ccl.idx] is
 * the cluster's entry or -1: merging is O(1) instead of a search by name
 * (quadratic at 1,000 clusters). */
struct tc_list {
	struct tc *v;
	int n;
	int *slot;
};

static void merge_tc(struct tc_list *res, const char *name, int idx, long replicas)
{
	int k = res->slot[idx];
	if (k >= 0) {
		res->v[k].replicas += replicas;
		return;
	}
	res->slot[idx] = res->n;
	res->v[res->n].name = name;
	res->v[res->n].idx = idx;
	res->v[res->n].replicas = replicas;
	res->n++;
}

/* Webster over (names, weights), results merged into res. */
static int divide_into(long target, struct tc *w, int nw, const char *uid, struct tc_list *res)
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
		rc = sched_webster_allocate(target, nw, (const char *const *)names, votes, NULL, uid, seats);
		if (rc == 0)
			for (int i = 0; i < nw; i++)
				merge_tc(res, w[i].name, w[i].idx, seats[i]);
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

static int assign_static(const struct sched_ctx *cx, struct ccl **sel, int ns, struct tc_list *res)
{
	const cJSON *wp = obj_item(replica_scheduling(cx->placement), "weightPreference");
	struct tc *w = calloc((size_t)ns + 1, sizeof *w);
	if (!w)
		return -1;
	int nw = 0;
	if (cJSON_IsObject(wp)) {
		/* Each rule's weight and targetCluster, read once for all the
		 * selected clusters. */
		const cJSON *list = obj_item(wp, "staticWeightList"), *rule;
		int nrules = 0;
		cJSON_ArrayForEach(rule, list)
			nrules++;
		long *rw = calloc((size_t)nrules + 1, sizeof *rw);
		struct affinity_plan *plans = calloc((size_t)nrules + 1, sizeof *plans);
		if (!rw || !plans) {
			free(rw);
			free(plans);
			free(w);
			return -1;
		}
		int r = 0;
		cJSON_ArrayForEach(rule, list) {
			rw[r] = clamp_long(json_get_num(rule, "weight", 0));
			affinity_plan_init(&plans[r++], obj_item(rule, "targetCluster"));
		}
		for (int i = 0; i < ns; i++) {
			long weight = 0;
			for (r = 0; r < nrules; r++)
				if (rw[r] > weight && affinity_plan_matches(&plans[r], sel[i]->obj))
					weight = rw[r];
			if (weight > 0) {
				w[nw].name = sel[i]->name;
				w[nw].idx = sel[i]->idx;
				w[nw++].replicas = weight;
			}
		}
		for (r = 0; r < nrules; r++)
			affinity_plan_free(&plans[r]);
		free(rw);
		free(plans);
	}
	if (nw == 0) {
		for (int i = 0; i < ns; i++) {
			w[i].name = sel[i]->name;
			w[i].idx = sel[i]->idx;
			w[i].replicas = 1;
		}
		nw = ns;
	}
	int rc = divide_into(cx->replicas, w, nw, cx->uid, res);
	free(w);
	return rc;
}

/* Whether the candidates w[0..nw) have room for target replicas between
 * them; if not, the result says so as Karmada does. */
static bool enough_available(const struct tc *w, int nw, long target, struct sched_result *out)
{
	long available = 0;
	for (int i = 0; i < nw; i++)
		available += w[i].replicas;
	if (available >= target)
		return true;
	set_error(out, "Unschedulable", "failed to assign replicas: Clusters available replicas %ld are not enough to schedule.", available);
	return false;
}

/* Aggregated: how many of the candidates, in order, it takes to hold target
 * replicas (all of them when even all together do not). */
static int aggregated_prefix(const struct tc *w, int nw, long target)
{
	long sum = 0;
	for (int i = 0; i < nw; i++) {
		sum += w[i].replicas;
		if (sum >= target)
			return i + 1;
	}
	return nw;
}

/* Dynamic weight and Aggregated, steady mode (assignment.go
 * assignByDynamicStrategy, division_algorithm.go). */
static int assign_dynamic(const struct sched_ctx *cx, bool aggregated, struct ccl **sel, int ns,
			  struct tc_list *res, struct sched_result *out)
{
	struct tc *sched = calloc((size_t)ns + 1, sizeof *sched);
	struct tc *w = calloc((size_t)ns + 1, sizeof *w);
	int nsched = 0, nw = 0, rc = -1;
	long assigned = 0, target;
	if (!sched || !w) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	if (cx->fresh) {
		/* Fresh (dynamicFreshScale): every replica is placed again as on a
		 * first schedule; what a cluster runs now counts as available. */
		target = cx->replicas;
		for (int i = 0; i < ns; i++) {
			w[nw].name = sel[i]->name;
			w[nw].idx = sel[i]->idx;
			w[nw++].replicas = sel[i]->avail + (sel[i]->in_prev ? sel[i]->prev : 0);
		}
		sort_desc_stable(w, nw);
		if (!enough_available(w, nw, target, out))
			goto done;
		if (aggregated)
			nw = aggregated_prefix(w, nw, target);
		if (divide_into(target, w, nw, cx->uid, res) != 0) {
			set_error(out, "SchedulerError", "out of memory");
			goto done;
		}
		rc = 0;
		goto done;
	}
	for (int i = 0; i < ns; i++) {
		if (sel[i]->in_prev) {
			sched[nsched].name = sel[i]->name;
			sched[nsched].idx = sel[i]->idx;
			sched[nsched++].replicas = sel[i]->prev;
			assigned += sel[i]->prev;
		}
	}
	if (assigned == cx->replicas) {
		for (int i = 0; i < nsched; i++)
			merge_tc(res, sched[i].name, sched[i].idx, sched[i].replicas);
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
			w[nw].idx = sel[i]->idx;
			w[nw++].replicas = sel[i]->avail;
		}
		sort_desc_stable(w, nw);
	}
	if (!enough_available(w, nw, target, out))
		goto done;
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
					/* Whether w[i] is in sched with replicas > 0:
					 * sched holds exactly the selected clusters
					 * that are in the previous result. */
					const struct ccl *c = &cx->cl[w[i].idx];
					bool prior = c->in_prev && c->prev > 0;
					if (prior == (pass == 0))
						tmp[nt++] = w[i];
				}
			}
			memcpy(w, tmp, (size_t)nw * sizeof *w);
			free(tmp);
		}
		nw = aggregated_prefix(w, nw, target);
	}
	if (!scale_down)
		for (int i = 0; i < nsched; i++)
			merge_tc(res, sched[i].name, sched[i].idx, sched[i].replicas);
	if (divide_into(target, w, nw, cx->uid, res) != 0) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	rc = 0;
done:
	free(sched);
	free(w);
	return rc;
}

/* Whether select_by_cluster / select_by_region run (spread constraints
 * that the strategy does not ignore). */
static bool spread_selects(const cJSON *placement)
{
	return has_spread_constraints(placement) && !ignore_spread(placement);
}

/* Whether replicas are assigned by DynamicWeight or Aggregated (the branch
 * order of schedule_once's assignment step). */
static bool assigns_dynamically(const struct sched_ctx *cx)
{
	if (!cx->has_replicas || cx->replicas <= 0 || is_duplicated(cx->placement))
		return false;
	const cJSON *rs = replica_scheduling(cx->placement);
	const char *pref = obj_str(rs, "replicaDivisionPreference");
	const char *dyn = obj_str(obj_item(rs, "weightPreference"), "dynamicWeight");
	return (pref && strcmp(pref, "Aggregated") == 0) || (dyn && *dyn);
}

/* The estimate (ccl.avail) and the candidate order it takes part in are
 * read only by spread-constraint selection and by dynamic weight /
 * Aggregated assignment. Duplicated, static weight and non-workloads give
 * every selected cluster a count that depends on its name and weight
 * alone (Webster's order is total over names), and the result is sorted
 * by name: for them the quantity parsing and the candidate sort are
 * skipped. */
static bool needs_estimates(const struct sched_ctx *cx)
{
	return spread_selects(cx->placement) || assigns_dynamically(cx);
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
	struct tc_list res = {
		.v = calloc((size_t)cx->n + 1, sizeof *res.v),
		.slot = malloc(((size_t)cx->n + 1) * sizeof *res.slot),
	};
	/* Failure reasons and their counts (FitError's histogram); distinct
	 * reasons are few, so the arrays grow on demand. */
	char (*reasons)[160] = NULL;
	int *counts = NULL;
	int nc = 0, ns = 0, nreasons = 0, reasons_cap = 0, rc = -1, last_k = -1;
	const char *last_why = NULL;
	struct affinity_plan plan;
	bool have_plan = false;
	if (!cand || !sel || !res.v || !res.slot) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	for (int i = 0; i < cx->n; i++)
		res.slot[i] = -1;
	if (cx->n == 0) {
		set_error(out, "SchedulerError", "no clusters available to schedule");
		goto done;
	}
	const struct fcache_entry *fe = fcache_get(cx, affinity);
	if (!fe) {
		affinity_plan_init(&plan, affinity);
		have_plan = true;
	}
	bool listed = false; /* cand filled from the entry's lists */
	if (fe && cJSON_GetArraySize(cx->evictions) == 0) {
		/* filter_cached's verdicts from the entry's lists, in cluster
		 * order: the clusters that pass, and those only a taint keeps
		 * out when the previous result names them (no eviction filter
		 * without eviction tasks). None: the loop below, for the
		 * reasons' histogram. */
		int a = 0, b = 0;
		while (a < fe->npass || b < fe->ntaint_only) {
			int ia = a < fe->npass ? fe->pass[a] : cx->n, ib = b < fe->ntaint_only ? fe->taint_only[b] : cx->n;
			if (ia < ib) {
				cand[nc++] = &cx->cl[ia];
				a++;
			} else {
				if (cx->cl[ib].in_prev)
					cand[nc++] = &cx->cl[ib];
				b++;
			}
		}
		listed = nc > 0;
	}
	for (int i = 0; !listed && i < cx->n; i++) {
		char buf[160];
		const char *why = fe ? filter_cached(cx, &cx->cl[i], fe) : filter_cluster(cx, &cx->cl[i], &plan, buf, sizeof buf);
		if (!why) {
			cand[nc++] = &cx->cl[i];
			continue;
		}
		if (why != buf && why == last_why) { /* the same (static or cached) reason as the cluster before */
			counts[last_k]++;
			continue;
		}
		int k;
		for (k = 0; k < nreasons; k++)
			if (strcmp(reasons[k], why) == 0)
				break;
		if (k == nreasons) {
			if (nreasons == reasons_cap) {
				int cap = reasons_cap ? 2 * reasons_cap : 8;
				char (*r2)[160] = realloc(reasons, (size_t)cap * sizeof *reasons);
				if (r2)
					reasons = r2;
				int *c2 = realloc(counts, (size_t)cap * sizeof *counts);
				if (c2)
					counts = c2;
				if (!r2 || !c2) {
					set_error(out, "SchedulerError", "out of memory");
					goto done;
				}
				reasons_cap = cap;
			}
			snprintf(reasons[nreasons], sizeof reasons[0], "%s", why);
			counts[nreasons++] = 0;
		}
		counts[k]++;
		last_why = why;
		last_k = k;
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
	if (cx->need_avail) {
		/* Estimated once per cluster, and only for candidates: the
		 * clusterAffinities terms share cx. */
		for (int i = 0; i < nc; i++) {
			if (!cand[i]->avail_done) {
				cand[i]->avail = estimate_replicas(cand[i]->obj, cx->rl);
				cand[i]->avail_done = true;
			}
		}
		qsort(cand, (size_t)nc, sizeof *cand, cmp_candidates);
	}

	/* Select. */
	if (!spread_selects(cx->placement)) {
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
			merge_tc(&res, sel[i]->name, sel[i]->idx, 0);
	} else {
		const cJSON *rs = replica_scheduling(cx->placement);
		const char *pref = obj_str(rs, "replicaDivisionPreference");
		int arc;
		if (is_duplicated(cx->placement)) {
			for (int i = 0; i < ns; i++)
				merge_tc(&res, sel[i]->name, sel[i]->idx, cx->replicas);
			arc = 0;
		} else if (assigns_dynamically(cx)) {
			bool aggregated = pref && strcmp(pref, "Aggregated") == 0;
			arc = assign_dynamic(cx, aggregated, sel, ns, &res, out);
		} else {
			arc = assign_static(cx, sel, ns, &res);
			if (arc != 0)
				set_error(out, "SchedulerError", "out of memory");
		}
		if (arc != 0)
			goto done;
		/* removeZeroReplicasCluster */
		int k = 0;
		for (int i = 0; i < res.n; i++)
			if (res.v[i].replicas > 0)
				res.v[k++] = res.v[i];
		res.n = k;
	}
	out->targets = calloc((size_t)res.n + 1, sizeof *out->targets);
	if (!out->targets) {
		set_error(out, "SchedulerError", "out of memory");
		goto done;
	}
	for (int i = 0; i < res.n; i++) {
		snprintf(out->targets[i].name, sizeof out->targets[i].name, "%s", res.v[i].name);
		out->targets[i].replicas = res.v[i].replicas;
	}
	out->n = res.n;
	qsort(out->targets, (size_t)res.n, sizeof *out->targets, cmp_target_name);
	out->has_replicas = cx->has_replicas;
	out->reason[0] = '\0';
	out->message[0] = '\0';
	rc = 0;
done:
	free(cand);
	free(sel);
	free(res.v);
	free(res.slot);
	if (have_plan)
		affinity_plan_free(&plan);
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
	return schedule_full(clusters, placement, workload, workload_has_replicas, previous, NULL, false, out);
}

static struct sched_facts *facts_build(const cJSON *clusters, bool cached);

struct sched_facts *sched_facts_build(const cJSON *clusters) { return facts_build(clusters, true); }

void sched_facts_cache_stats(const struct sched_facts *fs, long *hits, long *misses)
{
	*hits = fs && fs->cache ? fs->cache->hits : 0;
	*misses = fs && fs->cache ? fs->cache->misses : 0;
}

static struct sched_facts *facts_build(const cJSON *clusters, bool cached)
{
	if (clusters && !cJSON_IsArray(clusters))
		return NULL;
	struct sched_facts *fs = calloc(1, sizeof *fs);
	int total = cJSON_GetArraySize(clusters);
	if (!fs || !(fs->f = calloc((size_t)total + 1, sizeof *fs->f))) {
		free(fs);
		return NULL;
	}
	strmap_init_borrowed(&fs->by_name, (size_t)total);
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters) {
		const cJSON *meta = obj_item(c, "metadata");
		const char *name = obj_str(meta, "name");
		/* Karmada limits cluster names to 48 characters. */
		if (!name || !*name || strlen(name) >= sizeof ((struct sched_result *)0)->targets->name)
			continue;
		struct sched_fact *f = &fs->f[fs->n];
		if (!strmap_add(&fs->by_name, name, f))
			continue; /* a duplicate name: the first object wins */
		f->obj = c;
		f->name = name;
		f->meta = meta;
		f->labels = obj_item(meta, "labels");
		f->spec = obj_item(c, "spec");
		f->taints = obj_item(f->spec, "taints");
		f->ready = ready_status(c);
		f->idx = fs->n++;
	}
	if (cached && (fs->cache = calloc(1, sizeof *fs->cache)) != NULL) {
		strmap_init(&fs->cache->entries, fcache_entry_free);
		fs->cache->n = fs->n;
	}
	return fs;
}

void sched_facts_free(struct sched_facts *fs)
{
	if (!fs)
		return;
	strmap_clear(&fs->by_name);
	if (fs->cache) {
		strmap_clear(&fs->cache->entries);
		free(fs->cache);
	}
	free(fs->f);
	free(fs);
}

static bool affinity_plan_matches_fact(const struct affinity_plan *ap, const struct sched_fact *f)
{
	/* affinity_plan_matches with the lookups done once */
	if (ap->any)
		return true;
	if (str_set_has(&ap->exclude, f->name))
		return false;
	if (ap->has_ls && !(ap->ls && label_selector_matches(ap->ls, f->labels)))
		return false;
	if (ap->has_fs && !field_plan_matches(ap, f->obj))
		return false;
	if (!ap->has_names)
		return true;
	return str_set_has(&ap->names, f->name);
}

int schedule_full(const cJSON *clusters, const cJSON *placement, const cJSON *workload,
		  bool workload_has_replicas, const cJSON *previous, const cJSON *eviction_tasks, bool fresh,
		  struct sched_result *out)
{
	memset(out, 0, sizeof *out);
	if (clusters && !cJSON_IsArray(clusters)) {
		set_error(out, "SchedulerError", "clusters must be a list");
		return -1;
	}
	struct sched_facts *fs = facts_build(clusters, false); /* one scheduling: nothing to share */
	if (!fs) {
		set_error(out, "SchedulerError", "out of memory");
		return -1;
	}
	int rc = schedule_full_facts(fs, placement, workload, workload_has_replicas, previous, eviction_tasks, fresh,
				     out);
	sched_facts_free(fs);
	return rc;
}

int schedule_full_facts(const struct sched_facts *fs, const cJSON *placement, const cJSON *workload,
			bool workload_has_replicas, const cJSON *previous, const cJSON *eviction_tasks, bool fresh,
			struct sched_result *out)
{
	memset(out, 0, sizeof *out);
	struct sched_ctx cx = {0};
	cx.placement = cJSON_IsObject(placement) ? placement : NULL;
	cx.evictions = cJSON_IsArray(eviction_tasks) ? eviction_tasks : NULL;
	cx.uid = obj_str(obj_item(workload, "metadata"), "uid");
	cx.has_replicas = workload_has_replicas;
	cx.fresh = fresh;
	cx.cache = fs->cache;
	cx.replicas = workload_has_replicas ? workload_replicas(workload) : 0;
	cx.cl = calloc((size_t)fs->n + 1, sizeof *cx.cl);
	if (!cx.cl) {
		set_error(out, "SchedulerError", "out of memory");
		return -1;
	}
	for (int i = 0; i < fs->n; i++) {
		struct ccl *cl = &cx.cl[i];
		cl->obj = fs->f[i].obj;
		cl->name = fs->f[i].name;
		cl->fact = &fs->f[i];
		cl->idx = i;
	}
	cx.n = fs->n;
	struct req_list rl;
	workload_requests(workload, &rl);
	cx.rl = &rl;
	/* Each cluster takes the first previous entry with its name. */
	const cJSON *p;
	cJSON_ArrayForEach(p, previous) {
		const char *pn = obj_str(p, "name");
		const struct sched_fact *found = pn ? strmap_get(&fs->by_name, pn) : NULL;
		int i = found ? found->idx : -1;
		if (i < 0 || cx.cl[i].in_prev)
			continue;
		cx.cl[i].in_prev = true;
		cx.cl[i].prev = clamp_long(json_get_num(p, "replicas", 0));
		if (cx.cl[i].prev < 0)
			cx.cl[i].prev = 0;
	}
	for (int i = 0; i < cx.n; i++)
		cx.cl[i].score = cx.cl[i].in_prev ? 100 : 0; /* ClusterLocality */
	cx.need_avail = needs_estimates(&cx);

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
			if (rc == 0) {
				const char *an = obj_str(t, "affinityName");
				snprintf(out->affinity_name, sizeof out->affinity_name, "%s", an ? an : "");
				break;
			}
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
