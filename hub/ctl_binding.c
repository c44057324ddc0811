#include "ctl_binding.h"

#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "ctl_status.h"
#include "detector.h"
#include "failover.h"
#include "hubmetrics.h"
#include "jsonutil.h"
#include "render.h"
#include "workfast.h"
#include "xalloc.h"

static void sched_memo(const struct controller *c, double generation, char *buf, size_t len);
static bool needs_schedule(struct controller *c, const char *key, const cJSON *b, const cJSON *tmpl,
			   const cJSON *clusters);
static bool needs_schedule_printed(struct controller *c, const char *key, const cJSON *b, const cJSON *tmpl,
				   const cJSON *clusters, char **printed);
static enum sched_need sched_need(const struct controller *c, const cJSON *b, const cJSON *tmpl, const cJSON *clusters,
				  char **printed);
static bool same_clusters(const cJSON *a, const cJSON *b);
static void schedule_binding(struct controller *c, const char *key, const cJSON *cur, cJSON *b, const cJSON *tmpl,
			     const cJSON *clusters);
static void schedule_binding_as(struct controller *c, const char *key, const cJSON *cur, cJSON *b, const cJSON *tmpl,
				const cJSON *clusters, bool need, const char *placement_text);
static int required_by_index(const cJSON *b, const char *pns, const char *pname);
static void sync_dependencies(struct controller *c, const char *pns, const char *pname, const cJSON *p);
static cJSON *sync_dispatching(struct controller *c, const struct kind_info *wk, cJSON *w, const char *now);
static void binding_pass(struct controller *c, const char *key, bool cluster, cJSON *b, cJSON *next, cJSON *tmpl,
			 const char *tkey, struct ctl_bind_cont *bc);

/* What the scheduler last saw of a binding that follows cluster changes:
 * the cluster generation and the binding's generation. */
static void sched_memo(const struct controller *c, double generation, char *buf, size_t len)
{
	snprintf(buf, len, "%lu:%.0f", c->clusters_gen, generation);
}

enum sched_need { SCHED_NO, SCHED_YES, SCHED_IF_CLUSTERS_CHANGED };

/* sched_need, except that a binding that follows cluster changes is not
 * scheduled again while neither the clusters nor the binding changed since
 * the controller last scheduled it (the Work pass after the scheduling
 * stage, a template's status, a Work's report). */
static bool needs_schedule(struct controller *c, const char *key, const cJSON *b, const cJSON *tmpl,
			   const cJSON *clusters)
{
	return needs_schedule_printed(c, key, b, tmpl, clusters, NULL);
}

/* needs_schedule; *printed (printed non-NULL) receives json_print of
 * spec.placement when sched_need printed it (NULL else; the caller frees
 * it), for schedule_binding_as's annotation (one print per binding). */
static bool needs_schedule_printed(struct controller *c, const char *key, const cJSON *b, const cJSON *tmpl,
				   const cJSON *clusters, char **printed)
{
	enum sched_need n = sched_need(c, b, tmpl, clusters, printed);
	if (n != SCHED_IF_CLUSTERS_CHANGED)
		return n == SCHED_YES;
	char memo[64];
	sched_memo(c, json_get_num(b, "metadata.generation", 1), memo, sizeof memo);
	bool found = strmap_has(&c->sched_memo, key);
	const char *seen = strmap_get_str(&c->sched_memo, key);
	return !found || !seen || strcmp(seen, memo) != 0;
}

/* Karmada's doScheduleBinding triggers: never scheduled, placement changed,
 * replicas changed, a reschedule requested, a scheduled cluster gone;
 * Duplicated (and non-workload) bindings follow every cluster change. */
static enum sched_need sched_need(const struct controller *c, const cJSON *b, const cJSON *tmpl, const cJSON *clusters,
				  char **printed)
{
	if (printed)
		*printed = NULL;
	const cJSON *placement = json_get(b, "spec.placement");
	const char *applied = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(json_get(b, "metadata.annotations"), APPLIED_PLACEMENT_ANNOTATION));
	if (!applied || !json_condition(b, "Scheduled"))
		return SCHED_YES;
	/* The annotation is json_print of the placement scheduled (see
	 * schedule_binding_as): the same text is the same placement; other
	 * text may still be an equal one (key order), so it is parsed then. */
	char *now_printed = json_print(placement);
	bool same = now_printed && strcmp(now_printed, applied) == 0;
	if (printed)
		*printed = now_printed;
	else
		free(now_printed);
	if (!same) {
		cJSON *ap = cJSON_Parse(applied);
		same = ap && json_equal(ap, placement);
		cJSON_Delete(ap);
	}
	if (!same)
		return SCHED_YES;
	const cJSON *cl;
	cJSON_ArrayForEach(cl, json_get(b, "spec.clusters"))
	{
		if (!ctl_find_cluster(c, clusters, json_get_str(cl, "name") ? json_get_str(cl, "name") : ""))
			return SCHED_YES;
	}
	const char *rta = json_get_str(b, "spec.rescheduleTriggeredAt");
	const char *lst = json_get_str(b, "status.lastScheduledTime");
	if (rta && (!lst || strcmp(rta, lst) > 0))
		return SCHED_YES;
	long replicas = (long)json_get_num(b, "spec.replicas", 0);
	if (ctl_follows_cluster_changes(b, tmpl))
		return SCHED_IF_CLUSTERS_CHANGED; /* Duplicated (see needs_schedule) */
	long sum = 0;
	cJSON_ArrayForEach(cl, json_get(b, "spec.clusters")) sum += (long)json_get_num(cl, "replicas", 0);
	return sum != replicas ? SCHED_YES : SCHED_NO;
}

static bool same_clusters(const cJSON *a, const cJSON *b)
{
	if (cJSON_GetArraySize(a) == 0 || cJSON_GetArraySize(b) == 0)
		return cJSON_GetArraySize(a) == cJSON_GetArraySize(b);
	return json_equal(a, b);
}

/* Schedules b when Karmada would, in memory: b (the binding as it will be
 * written over the stored cur once the pass is done) gets the new
 * spec.clusters, the applied placement and the Scheduled condition.
 * Reports the scheduling latency (the schedule() call and the result's
 * bookkeeping). */
static void schedule_binding(struct controller *c, const char *key, const cJSON *cur, cJSON *b, const cJSON *tmpl,
			     const cJSON *clusters)
{
	if (!json_get(b, "spec.placement") || !detector_for_default_scheduler(b))
		return;
	schedule_binding_as(c, key, cur, b, tmpl, clusters, needs_schedule(c, key, b, tmpl, clusters), NULL);
}

/* A scheduling's result, computed from the binding before it changes. */
struct sched_run {
	int rc;
	struct sched_result res;
	bool fresh, was_scheduled;
	cJSON *new_clusters; /* the spec.clusters to write; NULL: kept */
	bool clusters_same;  /* new_clusters equals the binding's (same_clusters) */
	double t0;
};

/* Runs the scheduler for binding b (read only). */
static void sched_run_compute(struct controller *c, const cJSON *b, const cJSON *tmpl, const cJSON *clusters,
			      struct sched_run *r)
{
	memset(r, 0, sizeof *r);
	const cJSON *placement = json_get(b, "spec.placement");
	/* The scheduler sees the template's replicas as the binding carries them. */
	r->t0 = ctl_mono_seconds();
	/* A reschedule triggered after the last scheduling (WorkloadRebalancer):
	 * Karmada's Fresh mode, which ignores the previous result. */
	const char *rta = json_get_str(b, "spec.rescheduleTriggeredAt");
	const char *lst = json_get_str(b, "status.lastScheduledTime");
	r->fresh = rta && (!lst || strcmp(rta, lst) > 0);
	r->rc = c->sched_facts && clusters == c->clusters_cache
			? schedule_full_facts(c->sched_facts, placement, tmpl, render_has_replicas(tmpl),
					      json_get(b, "spec.clusters"), json_get(b, "spec.gracefulEvictionTasks"),
					      r->fresh, &r->res)
			: schedule_full(clusters, placement, tmpl, render_has_replicas(tmpl), json_get(b, "spec.clusters"),
					json_get(b, "spec.gracefulEvictionTasks"), r->fresh, &r->res);
	r->was_scheduled = ctl_cond_is(json_condition(b, "Scheduled"), "True");
	/* Of the spec, only clusters changes (render_binding_set_clusters, or
	 * [] when no cluster fits): compared here, before anything changes
	 * (no copy of the old list: this runs for every binding a join
	 * re-places). */
	if (r->rc == 0) {
		cJSON *holder = cJSON_CreateObject(); /* render_binding_set_clusters' list, then taken */
		render_binding_set_clusters(holder, &r->res);
		r->new_clusters = cJSON_DetachItemViaPointer(json_get(holder, "spec"), json_get(holder, "spec.clusters"));
		cJSON_Delete(holder);
	} else if (strcmp(r->res.reason, "NoClusterFit") == 0) {
		/* Karmada empties the result when no cluster fits. */
		r->new_clusters = cJSON_CreateArray();
	}
	r->clusters_same = !r->new_clusters || same_clusters(json_get(b, "spec.clusters"), r->new_clusters);
}

static void sched_run_free(struct sched_run *r)
{
	cJSON_Delete(r->new_clusters);
	sched_result_free(&r->res);
}

static void sched_run_record(struct controller *c, const char *key, const cJSON *cur, cJSON *b, const cJSON *tmpl,
			     struct sched_run *r, const char *placement_text);

/* schedule_binding once needs_schedule's answer (need) is known.
 * placement_text: json_print of b's spec.placement when the caller has it
 * (NULL: printed here when needed). */
static void schedule_binding_as(struct controller *c, const char *key, const cJSON *cur, cJSON *b, const cJSON *tmpl,
				const cJSON *clusters, bool need, const char *placement_text)
{
	const cJSON *placement = json_get(b, "spec.placement");
	if (!placement)
		return;
	if (!detector_for_default_scheduler(b))
		return; /* another scheduler's binding: left to it, as in Karmada */
	if (!need) {
		/* Karmada's scheduler: nothing to schedule, the generation is
		 * observed all the same (graceful eviction waits for it). */
		double g = obj_generation_after(cur, b);
		cJSON *bst = cJSON_GetObjectItemCaseSensitive(b, "status");
		if (cJSON_IsObject(bst) && ctl_cond_is(json_condition(b, "Scheduled"), "True") &&
		    json_get_num(bst, "schedulerObservedGeneration", -1) != g)
			json_set_num(bst, "schedulerObservedGeneration", g);
		return;
	}
	struct sched_run r;
	sched_run_compute(c, b, tmpl, clusters, &r);
	sched_run_record(c, key, cur, b, tmpl, &r, placement_text);
	sched_run_free(&r);
}

/* Writes r into b (the binding as it will be written over the stored cur
 * once the pass is done): the new spec.clusters, the applied placement, the
 * Scheduled condition and the scheduler's bookkeeping, and queues its
 * events. cur NULL: b is the stored object itself, changed in place, whose
 * spec changes only through r's clusters. Reports the scheduling latency
 * (the scheduler and the result's bookkeeping). */
static void sched_run_record(struct controller *c, const char *key, const cJSON *cur, cJSON *b, const cJSON *tmpl,
			     struct sched_run *r, const char *placement_text)
{
	const cJSON *placement = json_get(b, "spec.placement");
	bool cluster = ctl_is_cluster_binding(b);
	struct sched_result *res = &r->res;
	int rc = r->rc;
	char now[40];
	ctl_now_str(now, sizeof now);
	if (r->new_clusters) {
		json_set(json_ensure_obj(b, "spec"), "clusters", r->new_clusters);
		r->new_clusters = NULL;
		char *ps = placement_text ? NULL : json_print(placement);
		const char *text = placement_text ? placement_text : ps;
		cJSON *ann = json_ensure_obj(b, "metadata.annotations");
		/* The same text already there: nothing to replace. */
		const cJSON *was = cJSON_GetObjectItemCaseSensitive(ann, APPLIED_PLACEMENT_ANNOTATION);
		if (!text || !cJSON_IsString(was) || strcmp(was->valuestring, text) != 0)
			json_set_str(ann, APPLIED_PLACEMENT_ANNOTATION, text);
		free(ps);
	}
	/* The generation the write will give b: what the scheduler has observed. */
	double gen = cur ? obj_generation_after(cur, b)
			 : json_get_num(b, "metadata.generation", 1) + (r->clusters_same ? 0 : 1);
	if (ctl_follows_cluster_changes(b, tmpl)) {
		char memo[64];
		sched_memo(c, gen, memo, sizeof memo);
		strmap_put_str(&c->sched_memo, key, memo);
	}
	hubmetrics_observe_scheduling(ctl_mono_seconds() - r->t0);
	/* Scheduled condition and scheduler bookkeeping. */
	cJSON *st = json_get(b, "status");
	if (!cJSON_IsObject(st)) {
		st = cJSON_CreateObject();
		json_set(b, "status", st);
	}
	char msg[1400];
	if (rc == 0) {
		aggregate_set_condition(st, "Scheduled", "True", "Success", "Binding has been scheduled successfully.", now);
		bool changed_result = !r->was_scheduled || r->fresh || !r->clusters_same;
		if (changed_result)
			json_set_str(st, "lastScheduledTime", now);
		json_set_num(st, "schedulerObservedGeneration", gen);
		if (res->affinity_name[0])
			json_set_str(st, "schedulerObservingAffinityName", res->affinity_name);
		if (changed_result) {
			char result[1024];
			sched_result_format(res, result, sizeof result);
			snprintf(msg, sizeof msg, "Binding has been scheduled successfully. Result%s %s", cluster ? "" : ":",
				 result);
			ctl_event(c, b, false, "ScheduleBindingSucceed", msg, C_SCHEDULER, EVENT_BUMP);
			ctl_event(c, tmpl, false, "ScheduleBindingSucceed", msg, C_SCHEDULER, EVENT_BUMP);
		}
	} else {
		const cJSON *oc = json_condition(b, "Scheduled");
		bool same_failure = ctl_cond_is(oc, "False") && json_get_str(oc, "message") &&
				    strcmp(json_get_str(oc, "message"), res->message) == 0;
		aggregate_set_condition(st, "Scheduled", "False", res->reason[0] ? res->reason : "SchedulerError",
					res->message, now);
		json_set_num(st, "schedulerObservedGeneration", gen);
		if (!same_failure) {
			ctl_event(c, b, true, "ScheduleBindingFailed", res->message, C_SCHEDULER, EVENT_BUMP);
			ctl_event(c, tmpl, true, "ScheduleBindingFailed", res->message, C_SCHEDULER, EVENT_BUMP);
		}
	}
}

/* ---- dependencies: attached bindings -------------------------------------------------- */

/* requiredBy entry of parent in binding b, or -1. */
static int required_by_index(const cJSON *b, const char *pns, const char *pname)
{
	int i = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, json_get(b, "spec.requiredBy"))
	{
		const char *n = json_get_str(r, "name"), *ns = json_get_str(r, "namespace");
		if (n && strcmp(n, pname) == 0 && strcmp(ns ? ns : "", pns) == 0)
			return i;
		i++;
	}
	return -1;
}

/* Keeps the attached bindings of parent p (a namespaced binding) in line
 * with its dependencies; p NULL (deleted) removes it everywhere. */
static void sync_dependencies(struct controller *c, const char *pns, const char *pname, const cJSON *p)
{
	const struct kind_info *bk = ctl_binding_kind(false);
	cJSON *deps = NULL;
	if (p && cJSON_IsTrue(json_get(p, "spec.propagateDeps"))) {
		const char *ds = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(json_get(p, "metadata.annotations"), DEPENDENCIES_ANNOTATION));
		deps = ds ? cJSON_Parse(ds) : NULL;
	}
	/* Add or refresh the entry on each existing dependency. */
	const cJSON *d;
	cJSON_ArrayForEach(d, deps)
	{
		const char *kind = json_get_str(d, "kind"), *name = json_get_str(d, "name");
		const char *av = json_get_str(d, "apiVersion");
		if (!kind || !name)
			continue;
		const struct kind_info *dk = kinds_find_apiversion_kind(av ? av : "v1", kind);
		cJSON *dt = dk ? ctl_get_obj(c, dk, pns, name) : NULL;
		if (!dt)
			continue;
		char dbname[600];
		render_binding_name(kind, name, dbname, sizeof dbname);
		cJSON *db = ctl_get_obj(c, bk, pns, dbname);
		cJSON *entry = cJSON_CreateObject();
		cJSON_AddStringToObject(entry, "namespace", pns);
		cJSON_AddStringToObject(entry, "name", pname);
		cJSON *cls = json_dup(json_get(p, "spec.clusters"));
		cJSON_AddItemToObject(entry, "clusters", cls ? cls : cJSON_CreateArray());
		cJSON *desired;
		if (db) {
			desired = json_dup(db);
			cJSON_DeleteItemFromObjectCaseSensitive(json_get(desired, "metadata"), "resourceVersion");
			cJSON_DeleteItemFromObjectCaseSensitive(desired, "status");
		} else {
			char bid[64];
			ctl_new_uuid(bid, sizeof bid);
			desired = render_binding(dt, NULL, false, NULL, bid);
			const char *cr = json_get_str(p, "spec.conflictResolution");
			json_set_str(json_ensure_obj(desired, "spec"), "conflictResolution", cr ? cr : "Abort");
		}
		cJSON *spec = json_ensure_obj(desired, "spec");
		cJSON *rb = cJSON_GetObjectItemCaseSensitive(spec, "requiredBy");
		if (!cJSON_IsArray(rb)) {
			rb = cJSON_CreateArray();
			json_set(spec, "requiredBy", rb);
		}
		int idx = required_by_index(desired, pns, pname);
		if (idx >= 0)
			cJSON_ReplaceItemInArray(rb, idx, entry);
		else
			cJSON_AddItemToArray(rb, entry);
		ctl_upsert(c, bk, pns, dbname, desired, db, NULL);
		cJSON_Delete(db);
		cJSON_Delete(dt);
	}
	/* Drop the entry from bindings that are no longer dependencies. */
	char prefix[600];
	obj_key(prefix, sizeof prefix, bk, pns, "");
	cJSON *bs = ctl_list_prefix(c, prefix);
	const cJSON *b;
	cJSON_ArrayForEach(b, bs)
	{
		int idx = required_by_index(b, pns, pname);
		if (idx < 0)
			continue;
		bool still = false;
		cJSON_ArrayForEach(d, deps)
		{
			char dbname[600];
			render_binding_name(json_get_str(d, "kind") ? json_get_str(d, "kind") : "",
					    json_get_str(d, "name") ? json_get_str(d, "name") : "", dbname, sizeof dbname);
			still |= strcmp(dbname, ctl_mstr(b, "name")) == 0;
		}
		if (still)
			continue;
		cJSON *desired = json_dup(b);
		cJSON_DeleteItemFromObjectCaseSensitive(json_get(desired, "metadata"), "resourceVersion");
		cJSON_DeleteItemFromObjectCaseSensitive(desired, "status");
		cJSON_DeleteItemFromArray(json_get(desired, "spec.requiredBy"), idx);
		bool orphan = cJSON_GetArraySize(json_get(desired, "spec.requiredBy")) == 0 &&
			      !json_get(desired, "spec.placement");
		if (orphan) {
			cJSON_Delete(desired);
			ctl_delete_works(c, pns, ctl_mstr(b, "name"), json_get_str(b, "spec.resource.kind"),
				     json_get_str(b, "spec.resource.name"), pns, NULL);
			ctl_delete_obj(c, bk, pns, ctl_mstr(b, "name"));
		} else {
			if (cJSON_GetArraySize(json_get(desired, "spec.requiredBy")) == 0)
				cJSON_DeleteItemFromObjectCaseSensitive(json_get(desired, "spec"), "requiredBy");
			ctl_upsert(c, bk, pns, ctl_mstr(b, "name"), desired, b, NULL);
		}
	}
	cJSON_Delete(bs);
	cJSON_Delete(deps);
}

/* Karmada's Dispatching condition on a Work: False (SuspendDispatching)
 * while spec.suspendDispatching, True again once resumed; Works never
 * suspended get none (no write per Work). Returns the Work as stored
 * (w, or its successor; w is consumed). */
static cJSON *sync_dispatching(struct controller *c, const struct kind_info *wk, cJSON *w, const char *now)
{
	bool suspended = cJSON_IsTrue(json_get(w, "spec.suspendDispatching"));
	const cJSON *cond = json_condition(w, "Dispatching");
	if (!suspended && !cond)
		return w;
	if (suspended && ctl_cond_is(cond, "False"))
		return w;
	if (!suspended && ctl_cond_is(cond, "True"))
		return w;
	cJSON *st = json_dup(json_get(w, "status"));
	if (!cJSON_IsObject(st)) {
		cJSON_Delete(st);
		st = cJSON_CreateObject();
	}
	if (suspended)
		aggregate_set_condition(st, "Dispatching", "False", "SuspendDispatching",
					"Work dispatching is in a suspended state.", now);
	else
		aggregate_set_condition(st, "Dispatching", "True", "DispatchingSucceed",
					"Work is being dispatched to member clusters.", now);
	cJSON *stored = NULL;
	if (ctl_write_status(c, wk, w, st, &stored) < 0 || !stored)
		return w;
	cJSON_Delete(w);
	return stored;
}

/* ---- a binding pass in slices ---------------------------------------------------
 * A pass over many target clusters (a Duplicated binding over the fleet:
 * one Work per cluster) writes its Works in slices of about
 * c->bind_slice_ms, doubling (controller_set_bind_slice): the controller's
 * slice ends after each (slice_done),
 * the loop turn commits it, and the long-polls of its clusters are
 * answered before the next slice is written (controller.c waits for the
 * commit). While slices remain, the loop turn's fan-out flag is up, so
 * status reports wait behind them (agentapi.c). The pass goes on from
 * where it stopped only if the binding, its template and the targets are
 * what it began with; otherwise it starts over. The Works of the earlier
 * slices are kept as stored for the aggregation at the end. */
#define BIND_SLICE_MAX_MS 320 /* slices grow from c->bind_slice_ms up to this */
#define BIND_RESTARTS_MAX 2

/* PriorityBasedScheduling: a binding (spec as in spec_of, Scheduled
 * condition as in status_of) never scheduled goes through the scheduling
 * queue before its pass. */
static bool waits_for_sched_queue(const struct controller *c, const cJSON *spec_of, const cJSON *status_of)
{
	return c->priority_scheduling && json_get(spec_of, "spec.placement") && !json_condition(status_of, "Scheduled") &&
	       detector_for_default_scheduler(spec_of);
}

void ctl_reconcile_binding(struct controller *c, const char *key)
{
	struct objc_key_parts kp;
	if (objc_split_key(key, &kp) < 0)
		return;
	bool cluster = strcmp(kp.plural, "clusterresourcebindings") == 0;
	const struct kind_info *bk = ctl_binding_kind(cluster);
	/* The pass this item goes on with (ctl_dequeue): what its first slice
	 * read and computed, unless the binding, its template or an override
	 * policy changed since (stale: the pass starts over). */
	struct ctl_bind_cont *bc = c->bind_cont_taken;
	if (bc && strcmp(bc->key, key) == 0 && bc->stale) {
		/* Changed while written in slices: this pass starts over. A pass
		 * changed under it again and again would never reach its last
		 * clusters, so after BIND_RESTARTS_MAX restarts the binding's
		 * next pass is written in one piece, as before slices. */
		if (!c->bind_restart_key || strcmp(c->bind_restart_key, key) != 0) {
			free(c->bind_restart_key);
			c->bind_restart_key = xstrdup(key);
			c->bind_restarts = 0;
		}
		c->bind_restarts++;
	}
	if (bc && (strcmp(bc->key, key) != 0 || bc->stale))
		bc = NULL; /* freed after the item (controller.c) */
	else
		c->bind_cont_taken = NULL;
	cJSON *b = bc ? bc->b : ctl_get_key(c, key);
	if (bc)
		bc->b = NULL;
	if (!b) {
		strmap_del(&c->sched_memo, key);
		strmap_del(&c->sched_deferred, key);
		ctl_delete_orphan_works(c, kp.ns, kp.name);
		if (!cluster)
			sync_dependencies(c, kp.ns, kp.name, NULL);
		return;
	}
	if (ctl_mstr(b, "deletionTimestamp")) {
		/* karmada.io/binding-controller: its Works go before it does. */
		strmap_del(&c->sched_memo, key);
		ctl_delete_orphan_works(c, kp.ns, kp.name);
		if (!cluster)
			sync_dependencies(c, kp.ns, kp.name, NULL);
		ctl_finish_deletion(c, bk, b);
		cJSON_Delete(b);
		return;
	}
	const struct kind_info *tk;
	char tkey[1024];
	cJSON *tmpl;
	if (bc) {
		tmpl = bc->tmpl;
		bc->tmpl = NULL;
		snprintf(tkey, sizeof tkey, "%s", bc->tkey);
	} else {
		tmpl = ctl_binding_template(c, b, &tk, tkey, sizeof tkey);
	}
	if (!tmpl) {
		/* The template is gone (or its kind): so is the binding. */
		ctl_delete_orphan_works(c, kp.ns, kp.name);
		ctl_delete_obj(c, bk, kp.ns, kp.name);
		cJSON_Delete(b);
		return;
	}
	/* PriorityBasedScheduling: a binding never scheduled joins the
	 * scheduling queue first (once; the pass after it goes on). */
	if (!bc && waits_for_sched_queue(c, b, b)) {
		if (!strmap_has(&c->sched_deferred, key)) {
			strmap_put_str(&c->sched_deferred, key, NULL);
			ctl_enqueue(c, 'S', key);
			cJSON_Delete(tmpl);
			cJSON_Delete(b);
			return;
		}
	}
	strmap_del(&c->sched_deferred, key);
	binding_pass(c, key, cluster, b, bc ? NULL : json_dup(b), tmpl, tkey, bc);
}

bool ctl_reconcile_binding_with(struct controller *c, const char *key, const cJSON *cur, cJSON *desired)
{
	struct objc_key_parts kp;
	if (!cur || !desired || objc_split_key(key, &kp) < 0 || ctl_mstr(cur, "deletionTimestamp"))
		return false;
	/* A binding the priority queue has to schedule first takes the two steps. */
	if (waits_for_sched_queue(c, desired, cur))
		return false;
	const struct kind_info *tk;
	char tkey[1024];
	cJSON *tmpl = ctl_binding_template(c, desired, &tk, tkey, sizeof tkey);
	if (!tmpl)
		return false;
	/* What the write of desired alone would have stored (objects.c keeps
	 * these, and the status, from the stored object), with the generation
	 * it would have had: the pass reads it as if desired had been written. */
	static const char *const keep[] = {"uid", "creationTimestamp", "resourceVersion", NULL};
	cJSON *meta = json_ensure_obj(desired, "metadata");
	for (int i = 0; keep[i]; i++) {
		const cJSON *v = json_get(cJSON_GetObjectItemCaseSensitive(cur, "metadata"), keep[i]);
		if (v)
			json_set(meta, keep[i], json_dup(v));
	}
	json_set_num(meta, "generation", obj_generation_after(cur, desired));
	cJSON_DeleteItemFromObjectCaseSensitive(desired, "status");
	if (json_get(cur, "status"))
		json_set(desired, "status", json_dup(json_get(cur, "status")));
	strmap_del(&c->sched_deferred, key);
	binding_pass(c, key, strcmp(kp.plural, "clusterresourcebindings") == 0, json_dup(cur), desired, tmpl, tkey,
		     NULL);
	return true;
}

/* A new Work whose fast write failed: as the generic path does, once more
 * after making sure of its namespace (it may have vanished under us; a
 * success forgets the failure). */
static void retry_create(struct controller *c, const struct kind_info *wk, const char *wns, const char *wname,
			 const struct render_work_in *in, const cJSON *next, bool failed, int *synced, cJSON *works)
{
	objc_forget_namespace(&c->oc, wns);
	if (ctl_ensure_namespace(c, wns) < 0)
		return;
	char err[512];
	cJSON *w = render_work(in, NULL, err, sizeof err), *stored = NULL;
	if (!w)
		return;
	failover_inject_state(w, next, in->cluster);
	int rc = ctl_upsert(c, wk, wns, wname, w, NULL, &stored);
	if (rc >= 0)
		c->write_failed = failed;
	if (rc > 0)
		(*synced)++;
	char now[40];
	if (stored)
		cJSON_AddItemToArray(works, sync_dispatching(c, wk, stored, ctl_now_str(now, sizeof now)));
}

/* The pass's last step, after its last slice of Works: the Works of the
 * clusters it left, the events, the binding's aggregated status. */
static void finish_pass(struct controller *c, const char *key, bool cluster, const struct objc_key_parts *kp,
			struct ctl_bind_cont *bc, const cJSON *b, cJSON *next, const cJSON *tmpl, const cJSON *targets,
			cJSON *works, int synced, const char *sync_error)
{
	ctl_bind_cont_free(bc);
	if (c->bind_restart_key && strcmp(c->bind_restart_key, key) == 0) { /* done: slices again next time */
		free(c->bind_restart_key);
		c->bind_restart_key = NULL;
		c->bind_restarts = 0;
	}
	const char *rkind = ctl_res_str(b, "kind"), *rname = ctl_res_str(b, "name"), *rns = ctl_res_str(b, "namespace");
	/* A cluster that lost its share loses its Work. */
	cJSON *kept = failover_works_kept(next, targets); /* and those under graceful eviction */
	synced += ctl_delete_works(c, kp->ns, kp->name, rkind, rname, rns, kept);
	cJSON_Delete(kept);
	char msg[900];
	if (sync_error) {
		ctl_event(c, b, true, "SyncWorkFailed", sync_error, C_BINDING, EVENT_BUMP);
		ctl_event(c, tmpl, true, "SyncWorkFailed", sync_error, C_BINDING, EVENT_BUMP);
	} else if (synced > 0) {
		if (cluster)
			snprintf(msg, sizeof msg, "Sync work of ClusterResourceBinding(%s) successful.", kp->name);
		else
			snprintf(msg, sizeof msg, "Sync work of ResourceBinding(%s/%s) successful.", kp->ns, kp->name);
		ctl_event(c, b, false, "SyncWorkSucceed", msg, C_BINDING, EVENT_BUMP);
		ctl_event(c, tmpl, false, "SyncWorkSucceed", msg, C_BINDING, EVENT_BUMP);
	}
	ctl_aggregate_binding(c, b, next, tmpl, works);
}

/* The pass of the stored binding b (key, its kind's store key) towards
 * next (taken: b as read, or what the detector wants of it): scheduled,
 * its Works rendered, its status aggregated, next written once at the end
 * over b. Takes b and tmpl as well. bc: the pass going on from its last
 * slice (next is NULL then: bc has it, scheduled). */
static void binding_pass(struct controller *c, const char *key, bool cluster, cJSON *b, cJSON *next, cJSON *tmpl,
			 const char *tkey, struct ctl_bind_cont *bc)
{
	struct objc_key_parts kp;
	objc_split_key(key, &kp);
	const char *rkind = ctl_res_str(b, "kind"), *rname = ctl_res_str(b, "name"), *rns = ctl_res_str(b, "namespace");
	/* A pass going on from its last slice keeps the Clusters it began with
	 * (not listed again because a heartbeat changed one meanwhile: a
	 * change that matters queues the binding again). */
	const cJSON *clusters = bc && c->clusters_cache ? c->clusters_cache : ctl_current_clusters(c);
	struct ctl_origin origin = {key, tkey};
	const void *prev_origin = ctl_origin_begin(c, &origin);
	cJSON *targets, *works, *cops, *ops;
	const struct kind_info *wk = ctl_kind("work.karmada.io", "v1alpha1", "Work");
	if (bc) { /* the pass goes on where its last slice ended */
		cJSON_Delete(next);
		next = bc->next_b;
		targets = bc->targets;
		works = bc->works;
		cops = bc->cops;
		ops = bc->ops;
		bc->next_b = bc->targets = bc->works = bc->cops = bc->ops = NULL;
	} else {
		schedule_binding(c, key, b, next, tmpl, clusters);
		if (!cluster &&
		    (cJSON_IsTrue(json_get(next, "spec.propagateDeps")) ||
		     cJSON_GetObjectItemCaseSensitive(json_get(next, "metadata.annotations"), DEPENDENCIES_ANNOTATION)))
			sync_dependencies(c, kp.ns, kp.name, next);
		/* Works for every target cluster; works collects them as stored. */
		targets = render_target_clusters(next);
		works = cJSON_CreateArray();
		cops = ctl_list_prefix(c, "policy.karmada.io/clusteroverridepolicies/");
		ops = NULL;
		if (rns[0]) {
			char prefix[600];
			obj_key(prefix, sizeof prefix, ctl_kind("policy.karmada.io", "v1alpha1", "OverridePolicy"), rns,
				"");
			ops = ctl_list_prefix(c, prefix);
		}
	}
	char wname[600], wns[300], err[512], nowb[40];
	render_work_name(rkind, rname, rns, wname, sizeof wname);
	int synced = 0;
	const char *sync_error = NULL;
	char sync_err[700];
	/* Works alike but for the per-cluster parts: rendered once, stamped
	 * for the other clusters (render_work_stamp). */
	bool stampable = bc ? bc->stampable : render_work_stampable(next, tmpl, cops, ops);
	cJSON *proto = NULL;
	int ti = 0, ntargets = cJSON_GetArraySize(targets);
	if (bc) {
		ti = bc->next;
		synced = bc->synced;
		proto = bc->proto;
		bc->proto = NULL;
		if (bc->sync_error) {
			snprintf(sync_err, sizeof sync_err, "%s", bc->sync_error);
			sync_error = sync_err;
		}
	}
	/* Slices grow (doubling up to BIND_SLICE_MAX_MS): the first clusters
	 * are answered soon, and a large fleet is written in a few commits. */
	int slice_ms = bc && bc->slice_ms ? bc->slice_ms : c->bind_slice_ms, smin = c->bind_slice_min;
	long long slice_end = ctl_mono_ms() + (slice_ms > 0 ? slice_ms : 0);
	int slice_first = ti;
	bool sliced = false;
	bool resumed = bc != NULL, tail = bc && bc->tail;
	bool restarted = c->bind_restarts >= BIND_RESTARTS_MAX && c->bind_restart_key &&
			 strcmp(c->bind_restart_key, key) == 0;
	/* Works stamped from the prototype take the fast path (workfast.h)
	 * unless statePreservation may change them per cluster. */
	struct workfast wf = {0};
	bool fast_pass = stampable && c->work_fast && cJSON_GetArraySize(json_get(next, "spec.gracefulEvictionTasks")) == 0;
	for (const cJSON *t = cJSON_GetArrayItem(targets, ti);; t = t->next, ti++) {
		bool cut = t && !restarted && ti - slice_first >= smin && ntargets - ti >= smin &&
			   (slice_ms <= 0 || ctl_mono_ms() >= slice_end);
		/* A pass in several slices ends its last one with its last Works:
		 * what follows them (the Works of clusters it left deleted, the
		 * events, the binding's aggregated status) is one more step, after
		 * that slice is committed and its long-polls answered. */
		bool cut_tail = !t && resumed && !tail;
		if (cut || cut_tail) {
			/* The rest in the next slice, after this one is committed. */
			if (!bc) {
				bc = xcalloc(1, sizeof *bc);
				bc->key = xstrdup(key);
				snprintf(bc->tkey, sizeof bc->tkey, "%s", tkey);
				bc->stampable = stampable;
			}
			/* the pass's state, kept parsed for the next slice */
			bc->b = b;
			bc->tmpl = tmpl;
			bc->next_b = next;
			bc->targets = targets;
			bc->cops = cops;
			bc->ops = ops;
			bc->proto = proto;
			b = tmpl = next = targets = cops = ops = proto = NULL;
			bc->next = ti;
			bc->tail = cut_tail;
			bc->slice_ms = slice_ms <= 0 ? -1 : slice_ms * 2 < BIND_SLICE_MAX_MS ? slice_ms * 2 : BIND_SLICE_MAX_MS;
			bc->works = works;
			works = NULL;
			bc->synced = synced;
			free(bc->sync_error);
			bc->sync_error = sync_error ? xstrdup(sync_error) : NULL;
			if (c->bind_cont) { /* another binding's pass (not expected: it goes first): it starts over */
				ctl_enqueue(c, 'B', c->bind_cont->key);
				ctl_bind_cont_free(c->bind_cont);
			}
			c->bind_cont = bc;
			bc = NULL;
			c->slice_done = true;
			sliced = true;
			break;
		}
		if (!t)
			break;
		const char *cn = json_get_str(t, "name");
		render_exec_namespace(cn, wns, sizeof wns);
		if (ctl_ensure_namespace(c, wns) < 0)
			continue;
		/* With a prototype, the stored Work is read as text first: the
		 * fast path (workfast.h) parses only what it needs of it. */
		struct workfast_old fo;
		int found = fast_pass && proto && wf.state >= 0 ? workfast_read(c, wk, wns, wname, &fo) : -1;
		cJSON *old = found == 2 ? cJSON_Parse(fo.text) : found < 0 ? ctl_get_obj(c, wk, wns, wname) : NULL;
		if (found == 2 && !old)
			old = ctl_get_obj(c, wk, wns, wname);
		const char *wid = found == 1 ? (fo.id[0] ? fo.id : NULL)
					     : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
						   json_get(old, "metadata.labels"), WORK_PERMANENT_ID_LABEL));
		char idbuf[128]; /* a copy: fo goes before the generic path */
		if (wid)
			snprintf(idbuf, sizeof idbuf, "%s", wid);
		else
			ctl_new_uuid(idbuf, sizeof idbuf);
		wid = idbuf;
		struct render_work_in in = {
		    .binding = next,
		    .tmpl = tmpl,
		    .cluster = cn,
		    .replicas = (long)json_get_num(t, "replicas", 0),
		    .cluster_obj = ctl_find_cluster(c, clusters, cn),
		    .cops = cops,
		    .ops = ops,
		    .work_id = wid,
		};
		int rc;
		cJSON *stored = NULL;
		bool failed_before = c->write_failed; /* a retry that succeeds forgets the first try's failure */
		if (found == 0 || found == 1) {
			cJSON *entry = NULL;
			rc = workfast_write(&wf, c, wk, wns, wname, proto, &in, found == 1 ? &fo : NULL, &entry);
			if (rc != WORKFAST_NO) {
				workfast_old_free(&fo);
				if (rc > 0)
					synced++;
				if (entry)
					cJSON_AddItemToArray(works, entry);
				else if (rc < 0)
					retry_create(c, wk, wns, wname, &in, next, failed_before, &synced, works);
				continue;
			}
			if (found == 1) { /* the generic path, over the Work as read */
				old = cJSON_Parse(fo.text);
				if (!old)
					old = ctl_get_obj(c, wk, wns, wname);
			}
		}
		if (found >= 0)
			workfast_old_free(&fo);
		cJSON *applied = NULL;
		err[0] = '\0';
		cJSON *w = proto ? render_work_stamp(proto, &in) : render_work(&in, &applied, err, sizeof err);
		if (w && stampable && !proto)
			proto = json_dup(w);
		if (w)
			failover_inject_state(w, next, cn); /* statePreservation */
		if (!w) {
			snprintf(sync_err, sizeof sync_err, "Failed to apply override policies for cluster(%s): %s", cn, err);
			sync_error = sync_err;
			if (old)
				cJSON_AddItemToArray(works, old);
			workfast_check(&wf, -1, NULL);
			continue;
		}
		if (old && obj_update_is_noop(wk, old, w)) {
			cJSON_Delete(w); /* re-rendered unchanged: skip the write path */
			rc = 0;
		} else {
			rc = ctl_upsert(c, wk, wns, wname, w, old, &stored);
		}
		workfast_check(&wf, rc, stored); /* when the fast path waits for this answer */
		if (rc < 0 && !old) {
			/* The namespace may have vanished under us: retry once
			 * (a success forgets the failure). */
			objc_forget_namespace(&c->oc, wns);
			if (ctl_ensure_namespace(c, wns) == 0) {
				cJSON *w2 = render_work(&in, NULL, err, sizeof err);
				if (w2)
					failover_inject_state(w2, next, cn);
				if (w2)
					rc = ctl_upsert(c, wk, wns, wname, w2, NULL, &stored);
				if (rc >= 0)
					c->write_failed = failed_before;
			}
		}
		if (rc > 0) {
			synced++;
			const cJSON *a;
			cJSON_ArrayForEach(a, applied)
			{
				char msg[900];
				snprintf(msg, sizeof msg, "Apply override policy(%s) for cluster(%s) succeed.", a->valuestring, cn);
				ctl_event(c, tmpl, false, "ApplyOverridePolicySucceed", msg, C_BINDING, EVENT_BUMP);
			}
		}
		cJSON_Delete(applied);
		if (stored) {
			cJSON_Delete(old);
			old = NULL;
		}
		if (stored || old)
			cJSON_AddItemToArray(works, sync_dispatching(c, wk, stored ? stored : old, ctl_now_str(nowb, sizeof nowb)));
	}
	cJSON_Delete(proto);
	c->work_fast_writes += wf.fast_writes;
	c->work_fast_off += wf.state < 0;
	workfast_end(&wf);
	if (!sliced)
		finish_pass(c, key, cluster, &kp, bc, b, next, tmpl, targets, works, synced, sync_error);
	/* A slice moved its trees into the continuation (they are NULL here). */
	cJSON_Delete(next);
	cJSON_Delete(works);
	cJSON_Delete(targets);
	cJSON_Delete(cops);
	cJSON_Delete(ops);
	ctl_origin_end(c, prev_origin);
	cJSON_Delete(tmpl);
	cJSON_Delete(b);
}

/* The scheduling stage alone ('S', queued for every binding when clusters
 * change): a binding whose placement must be recomputed gets its new
 * spec.clusters and Scheduled condition in one write, whose store event
 * queues the full pass ('B') that renders its Works; the rest go straight
 * to 'B'. Queued in front of the 'B' items they cause, so every binding
 * shows its new placement before the Works are rewritten, as Karmada's
 * scheduler runs ahead of its binding controller. */
void ctl_schedule_key(struct controller *c, const char *key)
{
	struct objc_key_parts kp;
	if (objc_split_key(key, &kp) < 0)
		return;
	cJSON *b = ctl_get_key(c, key);
	const struct kind_info *tk;
	char tkey[1024];
	cJSON *tmpl = ctl_binding_template(c, b, &tk, tkey, sizeof tkey);
	if (!tmpl || !json_get(b, "spec.placement")) {
		ctl_enqueue(c, 'B', key); /* gone, orphaned or attached: the full pass decides */
		cJSON_Delete(tmpl);
		cJSON_Delete(b);
		return;
	}
	const cJSON *clusters = ctl_current_clusters(c);
	char *printed = NULL;
	if (!needs_schedule_printed(c, key, b, tmpl, clusters, &printed)) {
		ctl_enqueue(c, 'B', key);
	} else if (!detector_for_default_scheduler(b) || ctl_mstr(b, "deletionTimestamp") || c->sched_copy_always) {
		const struct kind_info *bk = ctl_binding_kind(strcmp(kp.plural, "clusterresourcebindings") == 0);
		cJSON *next = json_dup(b);
		/* needs_schedule said so just now; next's placement is b's, printed */
		schedule_binding_as(c, key, b, next, tmpl, clusters, true, printed);
		ctl_update_in_place(c, bk, b, next, SUBRES_MAIN_AND_STATUS); /* a failure: retried (write_failed) */
		ctl_enqueue(c, 'B', key); /* also when the write was a no-op */
		cJSON_Delete(next);
	} else {
		const struct kind_info *bk = ctl_binding_kind(strcmp(kp.plural, "clusterresourcebindings") == 0);
		struct sched_run r;
		sched_run_compute(c, b, tmpl, clusters, &r);
		if (r.clusters_same) {
			/* The spec stays: the write may be a no-op, which only a
			 * comparison with the stored copy tells. */
			cJSON *next = json_dup(b);
			sched_run_record(c, key, b, next, tmpl, &r, printed);
			ctl_update_in_place(c, bk, b, next, SUBRES_MAIN_AND_STATUS);
			cJSON_Delete(next);
		} else {
			/* spec.clusters changes (every binding a join extends): b is
			 * changed in place and written as the controller's own
			 * update, without a copy to compare with (obj_update_own). */
			long long rev = strtoll(ctl_mstr(b, "resourceVersion") ? ctl_mstr(b, "resourceVersion") : "0", NULL, 10);
			double gen = json_get_num(b, "metadata.generation", 1);
			sched_run_record(c, key, NULL, b, tmpl, &r, printed);
			ctl_update_own(c, bk, b, rev, gen);
		}
		sched_run_free(&r);
		ctl_enqueue(c, 'B', key); /* also when the write was a no-op */
	}
	free(printed);
	cJSON_Delete(tmpl);
	cJSON_Delete(b);
}
