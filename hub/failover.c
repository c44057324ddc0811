/* failover — see failover.h. */
#include "failover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregate.h"
#include "events.h"
#include "jsonutil.h"
#include "log.h"
#include "objclient.h"
#include "scheduler.h"
#include "strmap.h"
#include "timefmt.h"

#define CLUSTERS_PREFIX "cluster.karmada.io/clusters/" /* the store keys of every Cluster */

static struct failover_config g_cfg = {
	.purge_mode = "Gracefully",
	.eviction_timeout_s = 600,
	.not_ready_toleration_s = 300,
	.unreachable_toleration_s = 300,
	.period_ms = 1000,
};

void failover_configure(const struct failover_config *cfg)
{
	struct failover_config c = *cfg;
	if (!c.purge_mode || !*c.purge_mode)
		c.purge_mode = "Gracefully";
	if (c.eviction_timeout_s <= 0)
		c.eviction_timeout_s = 600;
	if (c.not_ready_toleration_s < 0)
		c.not_ready_toleration_s = 300;
	if (c.unreachable_toleration_s < 0)
		c.unreachable_toleration_s = 300;
	if (c.period_ms <= 0)
		c.period_ms = 1000;
	g_cfg = c;
}

const struct failover_config *failover_config(void) { return &g_cfg; }

static bool str_is(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* ---- default tolerations (webhook) ---- */

static void add_default_toleration(cJSON *placement, const char *key, long seconds)
{
	cJSON *tols = cJSON_GetObjectItemCaseSensitive(placement, "clusterTolerations");
	if (tols && !cJSON_IsArray(tols) && !cJSON_IsNull(tols))
		return; /* wrongly typed: validation reports it */
	const cJSON *t;
	cJSON_ArrayForEach(t, tols)
		if (sched_tolerates_taint(t, key, "", "NoExecute"))
			return;
	if (!cJSON_IsArray(tols)) {
		tols = cJSON_CreateArray();
		json_set(placement, "clusterTolerations", tols);
	}
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "key", key);
	cJSON_AddStringToObject(n, "operator", "Exists");
	cJSON_AddStringToObject(n, "effect", "NoExecute");
	cJSON_AddNumberToObject(n, "tolerationSeconds", (double)seconds);
	cJSON_AddItemToArray(tols, n);
}

void failover_default_tolerations(const struct kind_info *k, cJSON *obj)
{
	if (!k || strcmp(k->group, "policy.karmada.io") != 0 ||
	    (strcmp(k->kind, "PropagationPolicy") != 0 && strcmp(k->kind, "ClusterPropagationPolicy") != 0))
		return;
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	if (!cJSON_IsObject(spec))
		return;
	cJSON *placement = cJSON_GetObjectItemCaseSensitive(spec, "placement");
	if (placement && !cJSON_IsObject(placement))
		return;
	if (!placement) {
		placement = cJSON_CreateObject();
		json_set(spec, "placement", placement);
	}
	add_default_toleration(placement, TAINT_KEY_NOT_READY, g_cfg.not_ready_toleration_s);
	add_default_toleration(placement, TAINT_KEY_UNREACHABLE, g_cfg.unreachable_toleration_s);
}

/* ---- ClusterTaintPolicy ---- */

bool failover_conditions_match(const cJSON *cluster, const cJSON *match_conditions)
{
	if (cJSON_GetArraySize(match_conditions) == 0)
		return false;
	const cJSON *m;
	cJSON_ArrayForEach(m, match_conditions)
	{
		const char *type = json_get_str(m, "conditionType"), *op = json_get_str(m, "operator");
		if (!type || !op)
			return false;
		const cJSON *cond = json_condition(cluster, type);
		const char *st = cond ? json_get_str(cond, "status") : NULL;
		bool in = false;
		const cJSON *v;
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(m, "statusValues"))
			in |= cJSON_IsString(v) && st && strcmp(v->valuestring, st) == 0;
		if (strcmp(op, "In") == 0 ? !in : strcmp(op, "NotIn") == 0 ? in : true)
			return false;
	}
	return true;
}

static bool same_taint(const cJSON *a, const cJSON *b)
{
	const char *av = json_get_str(a, "value"), *bv = json_get_str(b, "value");
	return str_is(json_get_str(a, "key"), json_get_str(b, "key")) &&
	       str_is(json_get_str(a, "effect"), json_get_str(b, "effect")) && strcmp(av ? av : "", bv ? bv : "") == 0;
}

cJSON *failover_policy_taints(const cJSON *cluster, const cJSON *policies, const char *now, bool *changed)
{
	*changed = false;
	const cJSON *cur = json_get(cluster, "spec.taints");
	cJSON *out = cJSON_IsArray(cur) ? json_dup(cur) : cJSON_CreateArray();
	const cJSON *p;
	cJSON_ArrayForEach(p, policies)
	{
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(p, "spec");
		const cJSON *target = cJSON_GetObjectItemCaseSensitive(spec, "targetClusters");
		if (target && !cJSON_IsNull(target) && !sched_cluster_affinity_matches(cluster, target))
			continue;
		const cJSON *taints = cJSON_GetObjectItemCaseSensitive(spec, "taints");
		if (failover_conditions_match(cluster, cJSON_GetObjectItemCaseSensitive(spec, "addOnConditions"))) {
			const cJSON *t;
			cJSON_ArrayForEach(t, taints)
			{
				bool have = false;
				const cJSON *o;
				cJSON_ArrayForEach(o, out) have |= same_taint(o, t);
				if (have || !json_get_str(t, "key") || !json_get_str(t, "effect"))
					continue;
				cJSON *n = cJSON_CreateObject();
				cJSON_AddStringToObject(n, "key", json_get_str(t, "key"));
				if (json_get_str(t, "value") && *json_get_str(t, "value"))
					cJSON_AddStringToObject(n, "value", json_get_str(t, "value"));
				cJSON_AddStringToObject(n, "effect", json_get_str(t, "effect"));
				cJSON_AddStringToObject(n, "timeAdded", now);
				cJSON_AddItemToArray(out, n);
				*changed = true;
			}
		} else if (failover_conditions_match(cluster,
						     cJSON_GetObjectItemCaseSensitive(spec, "removeOnConditions"))) {
			const cJSON *t;
			cJSON_ArrayForEach(t, taints)
			{
				cJSON *o = out->child, *next;
				for (; o; o = next) {
					next = o->next;
					if (same_taint(o, t)) {
						cJSON_Delete(cJSON_DetachItemViaPointer(out, o));
						*changed = true;
					}
				}
			}
		}
	}
	/* NoExecute taints carry the time they were added (the toleration
	 * clock starts there), as Kubernetes writes them. */
	cJSON *o;
	cJSON_ArrayForEach(o, out)
	{
		if (str_is(json_get_str(o, "effect"), "NoExecute") && !json_get_str(o, "timeAdded")) {
			cJSON_AddStringToObject(o, "timeAdded", now);
			*changed = true;
		}
	}
	return out;
}

/* ---- the taint manager ---- */

time_t failover_eviction_time(const cJSON *cluster, const cJSON *tolerations, time_t now)
{
	time_t when = -1;
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(cluster, "spec.taints"))
	{
		const char *key = json_get_str(t, "key"), *eff = json_get_str(t, "effect");
		if (!key || !str_is(eff, "NoExecute"))
			continue;
		time_t added = now;
		const char *ta = json_get_str(t, "timeAdded");
		if (ta && time_parse_rfc3339(ta, &added) < 0)
			added = now;
		/* The smallest tolerationSeconds of the tolerations that match
		 * (getMinTolerationTime); one without seconds tolerates for ever. */
		bool tolerated = false, forever = false;
		double min_s = 0;
		const cJSON *tol;
		cJSON_ArrayForEach(tol, tolerations)
		{
			if (!sched_tolerates_taint(tol, key, json_get_str(t, "value"), "NoExecute"))
				continue;
			const cJSON *ts = cJSON_GetObjectItemCaseSensitive(tol, "tolerationSeconds");
			if (!cJSON_IsNumber(ts)) {
				forever = true;
				continue;
			}
			double s = ts->valuedouble < 0 ? 0 : ts->valuedouble;
			if (!tolerated || s < min_s)
				min_s = s;
			tolerated = true;
		}
		time_t due;
		if (!tolerated && !forever)
			due = now;
		else if (!tolerated)
			continue; /* tolerated for ever */
		else
			due = added + (time_t)min_s;
		if (due < now)
			due = now;
		if (when < 0 || due < when)
			when = due;
	}
	return when;
}

static const cJSON *target_of(const cJSON *binding, const char *cluster)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(binding, "spec.clusters"))
		if (str_is(json_get_str(t, "name"), cluster))
			return t;
	return NULL;
}

bool failover_evict(cJSON *binding, const char *cluster, const char *purge_mode, const char *reason,
		    const char *producer, const char *message, long grace_s, const cJSON *preserved,
		    const char *now)
{
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(binding, "spec");
	cJSON *clusters = cJSON_GetObjectItemCaseSensitive(spec, "clusters");
	cJSON *t = (cJSON *)target_of(binding, cluster);
	if (!t)
		return false;
	cJSON *before = cJSON_CreateArray();
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters)
		if (json_get_str(c, "name"))
			cJSON_AddItemToArray(before, cJSON_CreateString(json_get_str(c, "name")));
	double replicas = json_get_num(t, "replicas", 0);
	cJSON_Delete(cJSON_DetachItemViaPointer(clusters, t));
	cJSON *tasks = cJSON_GetObjectItemCaseSensitive(spec, "gracefulEvictionTasks");
	if (!cJSON_IsArray(tasks)) {
		tasks = cJSON_CreateArray();
		json_set(spec, "gracefulEvictionTasks", tasks);
	}
	/* One task per cluster (Karmada's GracefulEvictCluster keeps the first). */
	const cJSON *old;
	cJSON_ArrayForEach(old, tasks)
		if (str_is(json_get_str(old, "fromCluster"), cluster)) {
			cJSON_Delete(before);
			return true;
		}
	cJSON *task = cJSON_CreateObject();
	cJSON_AddStringToObject(task, "fromCluster", cluster);
	cJSON_AddStringToObject(task, "purgeMode", purge_mode);
	if (replicas > 0)
		cJSON_AddNumberToObject(task, "replicas", replicas);
	cJSON_AddStringToObject(task, "reason", reason);
	cJSON_AddStringToObject(task, "message", message);
	cJSON_AddStringToObject(task, "producer", producer);
	if (grace_s > 0 && strcmp(purge_mode, "Gracefully") == 0)
		cJSON_AddNumberToObject(task, "gracePeriodSeconds", (double)grace_s);
	if (strcmp(purge_mode, "Never") == 0)
		cJSON_AddTrueToObject(task, "suppressDeletion");
	if (preserved)
		cJSON_AddItemToObject(task, "preservedLabelState", json_dup(preserved));
	cJSON_AddItemToObject(task, "clustersBeforeFailover", before);
	cJSON_AddStringToObject(task, "creationTimestamp", now);
	cJSON_AddItemToArray(tasks, task);
	return true;
}

static const cJSON *item_of(const cJSON *binding, const char *cluster)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, json_get(binding, "status.aggregatedStatus"))
		if (str_is(json_get_str(it, "clusterName"), cluster))
			return it;
	return NULL;
}

/* allScheduledResourceInHealthyState, once the scheduler has seen the
 * binding as it is. */
static bool placement_healthy(const cJSON *binding)
{
	double gen = json_get_num(binding, "metadata.generation", 0);
	if (json_get_num(binding, "status.schedulerObservedGeneration", -1) < gen)
		return false;
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(binding, "spec.clusters"))
	{
		const cJSON *it = item_of(binding, json_get_str(t, "name"));
		if (!it || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "applied")) ||
		    !str_is(json_get_str(it, "health"), "Healthy"))
			return false;
	}
	return true;
}

int failover_assess_tasks(cJSON *binding, time_t now, long long timeout_s)
{
	cJSON *tasks = (cJSON *)json_get(binding, "spec.gracefulEvictionTasks");
	if (!cJSON_IsArray(tasks))
		return 0;
	bool replaced = cJSON_GetArraySize(json_get(binding, "spec.clusters")) > 0;
	bool healthy = replaced && placement_healthy(binding);
	int removed = 0;
	cJSON *t = tasks->child, *next;
	for (; t; t = next) {
		next = t->next;
		const cJSON *sd = cJSON_GetObjectItemCaseSensitive(t, "suppressDeletion");
		bool done;
		if (cJSON_IsBool(sd)) {
			done = !cJSON_IsTrue(sd); /* false: the user confirmed the deletion */
		} else {
			long long grace = (long long)json_get_num(t, "gracePeriodSeconds", 0);
			if (grace <= 0)
				grace = timeout_s;
			time_t created = now;
			const char *ct = json_get_str(t, "creationTimestamp");
			if (ct && time_parse_rfc3339(ct, &created) < 0)
				created = now;
			done = healthy || (replaced && now >= created + grace);
		}
		if (done) {
			cJSON_Delete(cJSON_DetachItemViaPointer(tasks, t));
			removed++;
		}
	}
	if (cJSON_GetArraySize(tasks) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(json_get(binding, "spec") ? (cJSON *)json_get(binding, "spec") : binding,
						       "gracefulEvictionTasks");
	return removed;
}

cJSON *failover_works_kept(const cJSON *binding, const cJSON *targets)
{
	cJSON *out = cJSON_IsArray(targets) ? json_dup(targets) : cJSON_CreateArray();
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(binding, "spec.gracefulEvictionTasks"))
	{
		const char *from = json_get_str(t, "fromCluster");
		if (!from || str_is(json_get_str(t, "purgeMode"), "Directly"))
			continue;
		bool have = false;
		const cJSON *o;
		cJSON_ArrayForEach(o, out) have |= str_is(json_get_str(o, "name"), from);
		if (have)
			continue;
		cJSON *n = cJSON_CreateObject();
		cJSON_AddStringToObject(n, "name", from);
		cJSON_AddNumberToObject(n, "replicas", json_get_num(t, "replicas", 0));
		cJSON_AddItemToArray(out, n);
	}
	return out;
}

cJSON *failover_preserve_state(const cJSON *rules, const cJSON *status)
{
	cJSON *out = NULL;
	const cJSON *r;
	cJSON_ArrayForEach(r, rules)
	{
		const char *alias = json_get_str(r, "aliasLabelName"), *jp = json_get_str(r, "jsonPath");
		if (!alias || !jp)
			continue;
		/* "{.a.b}" -> "a.b" */
		char path[256];
		size_t n = strlen(jp);
		if (n < 3 || jp[0] != '{' || jp[1] != '.' || jp[n - 1] != '}' || n - 3 >= sizeof path)
			continue;
		memcpy(path, jp + 2, n - 3);
		path[n - 3] = '\0';
		const cJSON *v = json_get(status, path);
		char buf[64];
		const char *val = NULL;
		if (cJSON_IsString(v))
			val = v->valuestring;
		else if (cJSON_IsNumber(v)) {
			snprintf(buf, sizeof buf, "%g", v->valuedouble);
			val = buf;
		} else if (cJSON_IsBool(v))
			val = cJSON_IsTrue(v) ? "true" : "false";
		if (!val)
			continue;
		if (!out)
			out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, alias, val);
	}
	return out;
}

bool failover_inject_state(cJSON *work, const cJSON *binding, const char *cluster)
{
	bool changed = false;
	const cJSON *t;
	cJSON_ArrayForEach(t, json_get(binding, "spec.gracefulEvictionTasks"))
	{
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(t, "preservedLabelState");
		if (!cJSON_IsObject(state) || !state->child)
			continue;
		bool before = false;
		const cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(t, "clustersBeforeFailover"))
			before |= cJSON_IsString(c) && strcmp(c->valuestring, cluster) == 0;
		if (before)
			continue;
		cJSON *m;
		cJSON_ArrayForEach(m, (cJSON *)json_get(work, "spec.workload.manifests"))
		{
			if (!cJSON_IsObject(m))
				continue;
			cJSON *labels = json_ensure_obj(json_ensure_obj(m, "metadata"), "labels");
			const cJSON *kv;
			cJSON_ArrayForEach(kv, state)
				if (cJSON_IsString(kv) &&
				    !str_is(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, kv->string)),
					    kv->valuestring)) {
					json_set_str(labels, kv->string, kv->valuestring);
					changed = true;
				}
		}
	}
	return changed;
}

/* ---- unreachable clusters in a binding's status ---- */

static const cJSON *cluster_named(const cJSON *clusters, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters)
		if (str_is(json_get_str(c, "metadata.name"), name))
			return c;
	return NULL;
}

int failover_unready_clusters(const cJSON *clusters, const cJSON ***out)
{
	/* The clusters whose Ready is reported and not True: usually none. A
	 * cluster that never reported is not counted: its item carries no
	 * report to distrust. */
	const cJSON **bad = NULL;
	int nbad = 0, cap = 0;
	const cJSON *cl;
	cJSON_ArrayForEach(cl, clusters)
	{
		const char *rs = json_get_str(json_condition(cl, "Ready"), "status");
		if (!rs || str_is(rs, "True"))
			continue;
		if (nbad == cap) {
			cap = cap ? 2 * cap : 8;
			const cJSON **nb = realloc(bad, (size_t)cap * sizeof *bad);
			if (!nb)
				break;
			bad = nb;
		}
		bad[nbad++] = cl;
	}
	*out = bad;
	return nbad;
}

void failover_mask_unreachable(cJSON *status, const cJSON *clusters, const char *now)
{
	const cJSON **bad = NULL;
	int nbad = failover_unready_clusters(clusters, &bad);
	failover_mask_unready(status, bad, nbad, now);
	free(bad);
}

void failover_mask_unready(cJSON *status, const cJSON *const *bad, int nbad, const char *now)
{
	/* A binding's items are only looked at when some cluster is not Ready. */
	char names[900] = "";
	size_t n = 0;
	int count = 0;
	cJSON *items = nbad ? cJSON_GetObjectItemCaseSensitive(status, "aggregatedStatus") : NULL;
	cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		const char *cn = json_get_str(it, "clusterName");
		const char *rs = NULL;
		for (int i = 0; cn && i < nbad && !rs; i++)
			if (str_is(json_get_str(bad[i], "metadata.name"), cn))
				rs = json_get_str(json_condition(bad[i], "Ready"), "status");
		if (!rs)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(it, "status");
		json_set_str(it, "health", "Unknown");
		if (n < sizeof names)
			n += (size_t)snprintf(names + n, sizeof names - n, "%s%s (Ready=%s)", count ? ", " : "", cn, rs);
		count++;
	}
	const cJSON *had = NULL, *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
		if (str_is(json_get_str(c, "type"), "ClusterStatusUnknown"))
			had = c;
	if (count > 0) {
		char msg[1100];
		snprintf(msg, sizeof msg, "the status of cluster(s) %s is unknown: their last report is not counted", names);
		aggregate_set_condition(status, "ClusterStatusUnknown", "True", "ClusterNotReady", msg, now);
	} else if (had) {
		aggregate_set_condition(status, "ClusterStatusUnknown", "False", "AllClustersReady",
					"every cluster of the binding is Ready", now);
	}
}

/* ---- the loop ---- */

struct unhealthy {
	char *key; /* "<binding key>|<cluster>" */
	time_t since;
	bool seen;
	struct unhealthy *next;
};

struct failover {
	struct event_base *base;
	struct store *st;
	struct obj_ctx *objs;
	struct objclient oc; /* every read and write of objects */
	struct event *tick;
	struct unhealthy *unhealthy;
	const struct kind_info *k_cluster, *k_ctp, *k_rb, *k_crb;
	/* Bindings with eviction tasks or application failover (kept from
	 * the store's committed changes): looked at every tick. */
	char **watched;
	bool *dirty; /* changed since the last look */
	int nwatched, capwatched;
	/* The full scan of bindings (for NoExecute taints) runs when the
	 * clusters' NoExecute taints change, when a toleration runs out
	 * (next_due), and every FULL_SCAN_S as a safety net. */
	char *noexec_fp;
	time_t next_due, last_full;
	bool scanned;
	/* A watched binding changed (a Work reported, the scheduler placed
	 * it): its tasks are assessed within SOON_MS, not at the next tick. */
	struct event *soon;
	/* The Clusters, parsed: kept from the store's writes as they are made
	 * (in-transaction, so what a list would read), not listed and parsed
	 * every tick (at 10,000 clusters 15 % of the hub in a fan-out). Rebuilt
	 * from the store after a rollback, or when a write came during a pass
	 * that holds it. */
	cJSON *clusters;      /* array; NULL: to be listed */
	struct strmap by_key; /* store key -> its item in clusters (borrowed) */
	bool in_pass;         /* failover_run_once holds items of clusters */
	bool clusters_stale;  /* listed again at the next use */
};

#define SOON_MS 50

#define FULL_SCAN_S 30

static const char RB_PREFIX[] = "work.karmada.io/resourcebindings/";
static const char CRB_PREFIX[] = "work.karmada.io/clusterresourcebindings/";

static int watched_find(const struct failover *f, const char *key)
{
	for (int i = 0; i < f->nwatched; i++)
		if (strcmp(f->watched[i], key) == 0)
			return i;
	return -1;
}

static void watched_set(struct failover *f, const char *key, bool on)
{
	int i = watched_find(f, key);
	if (on && i < 0) {
		if (f->nwatched == f->capwatched) {
			f->capwatched = f->capwatched ? 2 * f->capwatched : 16;
			f->watched = realloc(f->watched, (size_t)f->capwatched * sizeof *f->watched);
			f->dirty = realloc(f->dirty, (size_t)f->capwatched * sizeof *f->dirty);
		}
		f->dirty[f->nwatched] = true;
		f->watched[f->nwatched++] = strdup(key);
	} else if (on) {
		f->dirty[i] = true;
	} else if (i >= 0) {
		free(f->watched[i]);
		f->nwatched--;
		f->watched[i] = f->watched[f->nwatched];
		f->dirty[i] = f->dirty[f->nwatched];
	}
}

static bool binding_value_watched(const char *value)
{
	return value && (strstr(value, "\"gracefulEvictionTasks\"") || strstr(value, "\"application\""));
}

static void on_store_event(const struct store_event *ev, void *ud)
{
	struct failover *f = ud;
	if (strncmp(ev->key, RB_PREFIX, sizeof RB_PREFIX - 1) != 0 &&
	    strncmp(ev->key, CRB_PREFIX, sizeof CRB_PREFIX - 1) != 0)
		return;
	bool on = ev->type != STORE_DELETED && binding_value_watched(ev->value);
	watched_set(f, ev->key, on);
	if (on && f->soon && !evtimer_pending(f->soon, NULL)) {
		struct timeval tv = {0, SOON_MS * 1000};
		evtimer_add(f->soon, &tv);
	}
}

struct collect {
	cJSON *arr;
	bool interesting_only;
	const char *const *names; /* tainted cluster names (quoted search) */
	int nnames;
};

static bool worth_parsing(const struct collect *c, const char *value, size_t len)
{
	if (!c->interesting_only)
		return true;
	/* The cheap look first: most bindings have no task, no application
	 * failover and no tainted cluster. */
	(void)len;
	if (binding_value_watched(value))
		return true;
	for (int i = 0; i < c->nnames; i++) {
		char q[80];
		snprintf(q, sizeof q, "\"name\":\"%s\"", c->names[i]);
		if (strstr(value, q))
			return true;
	}
	return false;
}

static int collect_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct collect *c = ud;
	if (!worth_parsing(c, value, len))
		return 0;
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o)
		cJSON_AddItemToArray(c->arr, o);
	return 0;
}

static cJSON *list(struct failover *f, const char *prefix, const struct collect *proto)
{
	struct collect c = {0};
	if (proto)
		c = *proto;
	c.arr = cJSON_CreateArray();
	store_list(f->st, prefix, collect_item, &c, NULL);
	return c.arr;
}

static void clusters_drop(struct failover *f)
{
	cJSON_Delete(f->clusters);
	f->clusters = NULL;
	strmap_clear(&f->by_key); /* empty and ready for use again */
}

static int cache_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct failover *f = ud;
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o) {
		cJSON_AddItemToArray(f->clusters, o);
		strmap_put(&f->by_key, key, o);
	}
	return 0;
}

/* The stored Clusters (borrowed: valid until the next store write). */
static const cJSON *clusters_now(struct failover *f)
{
	if (f->clusters_stale)
		clusters_drop(f);
	f->clusters_stale = false;
	if (!f->clusters) {
		f->clusters = cJSON_CreateArray();
		store_list(f->st, CLUSTERS_PREFIX, cache_item, f, NULL);
	}
	return f->clusters;
}

static void on_cluster_write(const struct store_event *ev, void *ud)
{
	struct failover *f = ud;
	if (strncmp(ev->key, CLUSTERS_PREFIX, sizeof CLUSTERS_PREFIX - 1) != 0 || !f->clusters)
		return;
	if (f->in_pass || f->clusters_stale) {
		f->clusters_stale = true; /* a pass holds items: listed again at the next use */
		return;
	}
	cJSON *old = strmap_get(&f->by_key, ev->key);
	if (ev->type == STORE_DELETED) {
		if (old) {
			strmap_del(&f->by_key, ev->key);
			cJSON_Delete(cJSON_DetachItemViaPointer(f->clusters, old));
		}
		return;
	}
	const cJSON *v = store_event_value(ev);
	cJSON *now = v ? json_dup(v) : NULL;
	if (!now) {
		f->clusters_stale = true;
		return;
	}
	if (old)
		cJSON_ReplaceItemViaPointer(f->clusters, old, now);
	else
		cJSON_AddItemToArray(f->clusters, now);
	strmap_put(&f->by_key, ev->key, now);
}

static void on_rollback(struct store *st, void *ud)
{
	struct failover *f = ud;
	f->clusters_stale = true; /* the batch's writes are gone: listed again */
}

static void record(struct failover *f, const cJSON *obj, bool warning, const char *reason, const char *msg,
		   const char *component)
{
	if (obj)
		events_record(f->objs, obj, warning ? "Warning" : "Normal", reason, msg, component, EVENT_BUMP,
			      time(NULL));
}

static cJSON *template_of(struct failover *f, const cJSON *b)
{
	const char *av = json_get_str(b, "spec.resource.apiVersion"), *kind = json_get_str(b, "spec.resource.kind");
	const char *ns = json_get_str(b, "spec.resource.namespace"), *name = json_get_str(b, "spec.resource.name");
	const struct kind_info *k = av && kind ? kinds_find_apiversion_kind(av, kind) : NULL;
	if (!k || !name)
		return NULL;
	return objc_get(&f->oc, k, ns, name);
}

static void apply_taint_policies(struct failover *f, const cJSON *clusters, const cJSON *policies, const char *now)
{
	if (cJSON_GetArraySize(policies) == 0)
		return;
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters)
	{
		bool changed;
		cJSON *taints = failover_policy_taints(c, policies, now, &changed);
		if (!changed) {
			cJSON_Delete(taints);
			continue;
		}
		cJSON *next = json_dup(c);
		cJSON *spec = json_ensure_obj(next, "spec");
		if (cJSON_GetArraySize(taints) == 0) {
			cJSON_Delete(taints);
			cJSON_DeleteItemFromObjectCaseSensitive(spec, "taints");
		} else {
			json_set(spec, "taints", taints);
		}
		struct api_error e = {0};
		const char *name = json_get_str(c, "metadata.name");
		/* A failure is tried again at the next tick (the policies are
		 * evaluated from what is stored each time). */
		if (objc_apply_in_place(&f->oc, f->k_cluster, c, next, SUBRES_NONE, &e) < 0) {
			log_kv(LOG_WARN, "cannot write the taints of a cluster", "cluster", name ? name : "", "error",
			       e.message, NULL);
		} else {
			char msg[1024];
			size_t n = (size_t)snprintf(msg, sizeof msg, "Taint cluster succeed: ");
			int k = 0;
			const cJSON *t;
			cJSON_ArrayForEach(t, json_get(next, "spec.taints"))
				if (n < sizeof msg)
					n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s:%s", k++ ? ", " : "",
							      json_get_str(t, "key"), json_get_str(t, "effect"));
			if (n < sizeof msg)
				snprintf(msg + n, sizeof msg - n, "%s.", k ? "" : "none");
			record(f, next, false, "TaintClusterSucceed", msg, "cluster-taint-policy-controller");
			log_kv(LOG_INFO, "cluster taints set by ClusterTaintPolicy", "cluster", name ? name : "", NULL);
		}
		api_error_clear(&e);
		cJSON_Delete(next);
	}
}

static struct unhealthy *unhealthy_get(struct failover *f, const char *key, time_t now)
{
	for (struct unhealthy *u = f->unhealthy; u; u = u->next)
		if (strcmp(u->key, key) == 0)
			return u;
	struct unhealthy *u = calloc(1, sizeof *u);
	u->key = strdup(key);
	u->since = now;
	u->next = f->unhealthy;
	f->unhealthy = u;
	return u;
}

static void evicted_event(struct failover *f, const cJSON *b, const cJSON *tmpl, const char *cluster,
			  const char *why)
{
	char msg[600];
	snprintf(msg, sizeof msg, "Evict from cluster %s succeed.", cluster);
	record(f, b, false, "EvictWorkloadFromClusterSucceed", msg, why);
	record(f, tmpl, false, "EvictWorkloadFromClusterSucceed", msg, why);
}

/* One binding: taint manager, application failover, task assessment. */
/* A cluster of clusters by name: by the cache's index when clusters is the
 * cache (a binding placed on 10,000 clusters looked each up by a scan). */
static const cJSON *cluster_find(struct failover *f, const cJSON *clusters, const char *name)
{
	if (clusters != f->clusters)
		return cluster_named(clusters, name);
	char key[300];
	return strmap_get(&f->by_key, store_key(key, sizeof key, "cluster.karmada.io", "clusters", "", name));
}

static void handle_binding(struct failover *f, const char *bkey, const cJSON *b, const cJSON *clusters, time_t now,
			   const char *nows)
{
	const struct failover_config *cfg = &g_cfg;
	cJSON *next = json_dup(b);
	bool changed = false;
	cJSON *tmpl = NULL;
	/* Taint manager. */
	if (!cfg->no_eviction) {
		const cJSON *tols = json_get(b, "spec.placement.clusterTolerations");
		const char *pm = json_get_str(b, "spec.failover.cluster.purgeMode");
		if (!pm || !*pm)
			pm = cfg->purge_mode;
		const cJSON *t;
		cJSON_ArrayForEach(t, json_get(b, "spec.clusters"))
		{
			const char *cn = json_get_str(t, "name");
			const cJSON *cl = cn ? cluster_find(f, clusters, cn) : NULL;
			if (!cl)
				continue;
			time_t when = failover_eviction_time(cl, tols, now);
			if (when > now && (f->next_due == 0 || when < f->next_due))
				f->next_due = when;
			if (when < 0 || when > now)
				continue;
			cJSON *preserved = failover_preserve_state(json_get(b, "spec.failover.cluster.statePreservation.rules"),
								   json_get(item_of(b, cn), "status"));
			char msg[300];
			snprintf(msg, sizeof msg, "Evicted from cluster %s: NoExecute taint not tolerated", cn);
			if (failover_evict(next, cn, pm, "TaintUntolerated", "TaintManager", msg, 0, preserved, nows)) {
				changed = true;
				if (!tmpl)
					tmpl = template_of(f, b);
				evicted_event(f, b, tmpl, cn, "taint-manager");
				log_kv(LOG_INFO, "evicting a binding from a cluster with an untolerated NoExecute taint",
				       "binding", bkey, "cluster", cn, "purgeMode", pm, NULL);
			}
			cJSON_Delete(preserved);
		}
	}
	/* Application failover. */
	const cJSON *app = json_get(b, "spec.failover.application");
	if (cJSON_IsObject(app)) {
		double tol = json_get_num(app, "decisionConditions.tolerationSeconds", 300);
		const char *pm = json_get_str(app, "purgeMode");
		if (!pm || !*pm)
			pm = "Gracefully";
		long grace = (long)json_get_num(app, "gracePeriodSeconds", 600);
		const cJSON *t;
		cJSON_ArrayForEach(t, json_get(b, "spec.clusters"))
		{
			const char *cn = json_get_str(t, "name");
			if (!cn || !target_of(next, cn))
				continue;
			const cJSON *it = item_of(b, cn);
			if (!it || !str_is(json_get_str(it, "health"), "Unhealthy"))
				continue;
			char key[1200];
			snprintf(key, sizeof key, "%s|%s", bkey, cn);
			struct unhealthy *u = unhealthy_get(f, key, now);
			u->seen = true;
			if (now - u->since < (time_t)tol)
				continue;
			cJSON *preserved = failover_preserve_state(json_get(app, "statePreservation.rules"),
								   json_get(it, "status"));
			char msg[300];
			snprintf(msg, sizeof msg, "Evicted from cluster %s: the application was unhealthy for %.0f s", cn, tol);
			if (failover_evict(next, cn, pm, "ApplicationFailure", "ResourceBindingController", msg,
					   strcmp(pm, "Gracefully") == 0 ? grace : 0, preserved, nows)) {
				changed = true;
				if (!tmpl)
					tmpl = template_of(f, b);
				evicted_event(f, b, tmpl, cn, "application-failover");
				log_kv(LOG_INFO, "evicting an unhealthy application from a cluster", "binding", bkey, "cluster",
				       cn, "purgeMode", pm, NULL);
			}
			cJSON_Delete(preserved);
		}
	}
	/* Graceful eviction tasks (not in the pass that created them). */
	if (!changed && failover_assess_tasks(next, now, cfg->eviction_timeout_s) > 0)
		changed = true;
	if (changed) {
		const struct kind_info *bk = json_get_str(b, "metadata.namespace") ? f->k_rb : f->k_crb;
		struct api_error e = {0};
		if (objc_apply_in_place(&f->oc, bk, b, next, SUBRES_NONE, &e) < 0) {
			log_kv(LOG_WARN, "cannot write a binding under eviction", "binding", bkey, "error",
			       e.message, NULL);
			watched_set(f, bkey, true); /* looked at again at the next tick */
		}
		api_error_clear(&e);
	}
	cJSON_Delete(tmpl);
	cJSON_Delete(next);
}

static void handle_value(struct failover *f, const char *key, const char *value, size_t len,
			 const cJSON *clusters, time_t now, const char *nows)
{
	cJSON *b = cJSON_ParseWithLength(value, len);
	if (b && json_get_str(b, "metadata.name"))
		handle_binding(f, key, b, clusters, now, nows);
	cJSON_Delete(b);
}

struct scan {
	struct failover *f;
	struct collect filter;
	const cJSON *clusters;
	time_t now;
	const char *nows;
};

static int scan_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct scan *sc = ud;
	watched_set(sc->f, key, binding_value_watched(value)); /* e.g. after a restart */
	if (worth_parsing(&sc->filter, value, len))
		handle_value(sc->f, key, value, len, sc->clusters, sc->now, sc->nows);
	return 0;
}

/* Only the bindings with tasks or application failover; a copy of the
 * keys, as the writes change the set. */
static void watched_pass(struct failover *f, const cJSON *clusters, time_t now, const char *nows, bool dirty_only)
{
	int n = 0;
	char **keys = calloc((size_t)f->nwatched + 1, sizeof *keys);
	for (int i = 0; i < f->nwatched; i++) {
		if (dirty_only && !f->dirty[i])
			continue;
		f->dirty[i] = false;
		keys[n++] = strdup(f->watched[i]);
	}
	for (int i = 0; i < n; i++) {
		char *value = NULL;
		if (store_get(f->st, keys[i], &value, NULL) == STORE_OK && value)
			handle_value(f, keys[i], value, strlen(value), clusters, now, nows);
		free(value);
		free(keys[i]);
	}
	free(keys);
}

/* Graceful eviction tasks assessed soon after their binding changed.
 * Application failover's unhealthy clock is not touched here (u->seen
 * stays as the last tick left it). */
static void on_soon(evutil_socket_t fd, short what, void *arg)
{
	struct failover *f = arg;
	time_t now = time(NULL);
	char nows[40];
	time_rfc3339(now, nows, sizeof nows);
	f->in_pass = true;
	watched_pass(f, clusters_now(f), now, nows, true);
	f->in_pass = false;
}

void failover_run_once(struct failover *f)
{
	time_t now = time(NULL);
	char nows[40];
	time_rfc3339(now, nows, sizeof nows);
	f->in_pass = true;
	const cJSON *clusters = clusters_now(f);
	cJSON *policies = list(f, "policy.karmada.io/clustertaintpolicies/", NULL);
	apply_taint_policies(f, clusters, policies, nows);
	if (f->clusters_stale)
		clusters = clusters_now(f); /* the policies wrote taints; nothing holds the old items now */
	cJSON_Delete(policies);
	/* Clusters with a NoExecute taint, and what those taints are. */
	const char *names[256];
	int nn = 0;
	cJSON *fp = cJSON_CreateArray();
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters)
	{
		const cJSON *t;
		bool ne = false;
		cJSON_ArrayForEach(t, json_get(c, "spec.taints"))
		{
			if (!str_is(json_get_str(t, "effect"), "NoExecute"))
				continue;
			ne = true;
			cJSON *x = json_dup(t);
			json_set_str(x, "cluster", json_get_str(c, "metadata.name") ? json_get_str(c, "metadata.name") : "");
			cJSON_AddItemToArray(fp, x);
		}
		if (ne && nn < 256 && json_get_str(c, "metadata.name"))
			names[nn++] = json_get_str(c, "metadata.name");
	}
	char *fps = json_print(fp);
	cJSON_Delete(fp);
	bool full = !f->scanned || !f->noexec_fp || strcmp(f->noexec_fp, fps) != 0 ||
		    (f->next_due && now >= f->next_due) || now - f->last_full >= FULL_SCAN_S;
	free(f->noexec_fp);
	f->noexec_fp = fps;
	for (struct unhealthy *u = f->unhealthy; u; u = u->next)
		u->seen = false;
	struct scan sc = {.f = f, .filter = {.interesting_only = true, .names = names, .nnames = nn},
			  .clusters = clusters, .now = now, .nows = nows};
	if (full) {
		f->scanned = true;
		f->last_full = now;
		f->next_due = 0;
		store_list(f->st, RB_PREFIX, scan_item, &sc, NULL);
		store_list(f->st, CRB_PREFIX, scan_item, &sc, NULL);
	} else {
		watched_pass(f, clusters, now, nows, false);
	}
	/* Forget workloads that are no longer unhealthy (only known after a
	 * look at every binding with application failover: each tick). */
	struct unhealthy **pp = &f->unhealthy;
	while (*pp) {
		if (!(*pp)->seen) {
			struct unhealthy *d = *pp;
			*pp = d->next;
			free(d->key);
			free(d);
		} else {
			pp = &(*pp)->next;
		}
	}
	f->in_pass = false;
}

static void on_tick(evutil_socket_t fd, short what, void *arg) { failover_run_once(arg); }

struct failover *failover_start(struct event_base *base, struct store *st, struct obj_ctx *objs)
{
	struct failover *f = calloc(1, sizeof *f);
	f->base = base;
	f->st = st;
	f->objs = objs;
	objc_init(&f->oc, st, objs);
	f->k_cluster = kinds_find_kind("cluster.karmada.io", "v1alpha1", "Cluster");
	f->k_ctp = kinds_find_kind("policy.karmada.io", "v1alpha1", "ClusterTaintPolicy");
	f->k_rb = kinds_find_kind("work.karmada.io", "v1alpha2", "ResourceBinding");
	f->k_crb = kinds_find_kind("work.karmada.io", "v1alpha2", "ClusterResourceBinding");
	store_subscribe_committed(st, on_store_event, f);
	strmap_init(&f->by_key, NULL);
	store_subscribe(st, on_cluster_write, f);
	store_subscribe_rollback(st, on_rollback, f);
	if (base) {
		f->soon = evtimer_new(base, on_soon, f);
		f->tick = event_new(base, -1, EV_PERSIST, on_tick, f);
		struct timeval tv = {g_cfg.period_ms / 1000, (g_cfg.period_ms % 1000) * 1000};
		event_add(f->tick, &tv);
	}
	return f;
}

void failover_stop(struct failover *f)
{
	if (!f)
		return;
	if (f->tick)
		event_free(f->tick);
	if (f->soon)
		event_free(f->soon);
	store_unsubscribe(f->st, on_store_event, f);
	store_unsubscribe(f->st, on_cluster_write, f);
	store_unsubscribe_rollback(f->st, on_rollback, f);
	clusters_drop(f);
	for (int i = 0; i < f->nwatched; i++)
		free(f->watched[i]);
	free(f->watched);
	free(f->dirty);
	free(f->noexec_fp);
	objc_free(&f->oc);
	while (f->unhealthy) {
		struct unhealthy *u = f->unhealthy;
		f->unhealthy = u->next;
		free(u->key);
		free(u);
	}
	free(f);
}
