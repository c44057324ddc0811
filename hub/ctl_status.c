#include "ctl_status.h"

#include <string.h>

#include "aggregate.h"
#include "failover.h"
#include "jsonutil.h"
#include "log.h"
#include "render.h"
#include "timefmt.h"
#include "xalloc.h"

/* When a slow binding's last aggregation ended and what it cost. */
struct ctl_agg_pace {
	long long end_us, cost_us;
};

static void queue_aggregation(struct controller *c, const char *bkey);

/* Folds the Works' status into b (the binding as this pass wants it) and
 * writes it over stored_b (the binding as read) in one write, spec and
 * status together; then the template's status. works: the binding's Works as
 * stored now. b is modified (it becomes the stored binding). */
void ctl_aggregate_binding(struct controller *c, const cJSON *stored_b, cJSON *b, const cJSON *tmpl,
			      const cJSON *works)
{
	bool cluster = ctl_is_cluster_binding(b);
	const struct kind_info *bk = ctl_binding_kind(cluster);
	char now[40];
	ctl_now_str(now, sizeof now);
	cJSON *st = aggregate_binding_status(b, works, now);
	ctl_current_clusters(c); /* the not-Ready ones found once per change of the Clusters, not per binding */
	failover_mask_unready(st, c->unready, c->nunready, now);
	const cJSON *old_items = json_get(stored_b, "status.aggregatedStatus");
	const cJSON *new_items = cJSON_GetObjectItemCaseSensitive(st, "aggregatedStatus");
	bool items_changed = !(old_items && new_items ? json_equal(old_items, new_items) : !old_items && !new_items);
	cJSON *newly = items_changed ? aggregate_newly_applied(old_items, new_items) : NULL;
	json_set(b, "status", st);
	int changed = 0;
	if (!obj_update_is_noop(bk, stored_b, b) || !json_equal(json_get(stored_b, "status"), st)) {
		changed = ctl_update_in_place(c, bk, stored_b, b, SUBRES_MAIN_AND_STATUS);
		if (changed < 0) {
			cJSON_Delete(newly);
			return;
		}
	}
	const char *tns = ctl_mstr(tmpl, "namespace"), *tname = ctl_mstr(tmpl, "name");
	if (changed > 0 && tmpl) {
		const cJSON *n;
		struct name_index wix; /* the Works by execution namespace: a lookup per cluster, not a scan */
		nidx_build(&wix, works, ctl_work_ns_of);
		cJSON_ArrayForEach(n, newly)
		{
			char msg[1024];
			if (tns && *tns)
				snprintf(msg, sizeof msg, "Successfully applied resource(%s/%s) to cluster %s", tns, tname,
					 n->valuestring);
			else
				snprintf(msg, sizeof msg, "Successfully applied resource(%s) to cluster %s", tname, n->valuestring);
			ctl_event(c, tmpl, false, "SyncSucceed", msg, C_EXECUTION, EVENT_BUMP);
			/* and on the Work itself */
			char ens[300];
			render_exec_namespace(n->valuestring, ens, sizeof ens);
			/* every Work in that namespace, in array order */
			for (size_t i = nidx_lower(&wix, ens); i < wix.n && strcmp(wix.ents[i].name, ens) == 0; i++) {
				const cJSON *w = wix.ents[i].item;
				snprintf(msg, sizeof msg, "Sync work(%s/%s) to cluster(%s) successful.", ens, ctl_mstr(w, "name"),
					 n->valuestring);
				ctl_event(c, w, false, "SyncSucceed", msg, C_EXECUTION, EVENT_BUMP);
			}
		}
		nidx_free(&wix);
	}
	cJSON_Delete(newly);
	if (changed > 0 && items_changed) {
		char msg[1024];
		if (cluster)
			snprintf(msg, sizeof msg, "Update ClusterResourceBinding(%s) with AggregatedStatus successfully.",
				 ctl_mstr(b, "name"));
		else
			snprintf(msg, sizeof msg, "Update ResourceBinding(%s/%s) with AggregatedStatus successfully.",
				 ctl_mstr(b, "namespace"), ctl_mstr(b, "name"));
		ctl_event(c, b, false, "AggregateStatusSucceed", msg, C_STATUS, EVENT_BUMP);
		ctl_event(c, tmpl, false, "AggregateStatusSucceed", "Update Resource with AggregatedStatus successfully.", C_STATUS,
		      EVENT_BUMP);
	}
	/* The template's own status. */
	if (tmpl) {
		cJSON *ts = aggregate_template_status(tmpl, json_get(b, "status.aggregatedStatus"));
		if (ts) {
			const char *av = json_get_str(tmpl, "apiVersion"), *kind = json_get_str(tmpl, "kind");
			const struct kind_info *tk = kinds_find_apiversion_kind(av, kind);
			if (tk && (tk->subresources & SUB_STATUS))
				ctl_write_status(c, tk, tmpl, ts, NULL);
			else
				cJSON_Delete(ts);
		}
	}
}

static long long pace_wait(const struct controller *c, long long cost_us)
{
	long long w = cost_us * c->agg_pace_factor;
	return c->agg_pace_max_us && w > c->agg_pace_max_us ? c->agg_pace_max_us : w;
}

/* Remembers what an aggregation of bkey cost when it is worth pacing. */
static void note_agg_cost(struct controller *c, const char *bkey, long long start_us)
{
	long long end = time_mono_us(), cost = end - start_us;
	if (!c->agg_pace_factor || cost < c->agg_pace_min_us) {
		strmap_del(&c->agg_pace, bkey);
		return;
	}
	struct ctl_agg_pace *p = strmap_get(&c->agg_pace, bkey);
	if (!p) {
		p = xmalloc(sizeof *p);
		strmap_put(&c->agg_pace, bkey, p);
	}
	p->end_us = end;
	p->cost_us = cost;
	log_debug("controller: aggregating %s took %lld ms; the next waits %lld ms", bkey, cost / 1000,
		  pace_wait(c, cost) / 1000);
}

void ctl_aggregate_key(struct controller *c, const char *bkey)
{
	long long start = time_mono_us();
	cJSON *b = ctl_get_key(c, bkey);
	if (!b) {
		strmap_del(&c->agg_pace, bkey);
		return;
	}
	const struct kind_info *tk;
	char tkey[1024];
	cJSON *tmpl = ctl_binding_template(c, b, &tk, tkey, sizeof tkey);
	if (tmpl) {
		struct ctl_origin origin = {bkey, tkey};
		const void *prev_origin = ctl_origin_begin(c, &origin);
		cJSON *works = ctl_binding_works(c, b), *next = json_dup(b);
		ctl_aggregate_binding(c, b, next, tmpl, works);
		cJSON_Delete(next);
		cJSON_Delete(works);
		ctl_origin_end(c, prev_origin);
	} else
		ctl_enqueue(c, 'B', bkey);
	cJSON_Delete(tmpl);
	cJSON_Delete(b);
	note_agg_cost(c, bkey, start);
}

/* ---- other triggers ---------------------------------------------------------------- */

/* Work status changes (the agents' reports) are folded into their binding
 * at most once per AGGREGATE_COALESCE_MS: the N Works of a binding report
 * within a few milliseconds of each other, and each aggregation reads all
 * N, so one per report would cost O(N^2). A binding whose aggregation is
 * slow (thousands of Works: hundreds of milliseconds) also waits a multiple
 * of its last cost after it, so that folding a fleet's reports keeps most
 * of the loop for everything else (controller_set_agg_pacing). A report is
 * never dropped: its binding stays pending until its turn. Without a loop
 * (tests), at once. */
static void arm_aggregate_timer(struct controller *c, long long wait_us)
{
	struct timeval tv = {(time_t)(wait_us / 1000000), (suseconds_t)(wait_us % 1000000)};
	c->agg_due_us = time_mono_us() + wait_us;
	evtimer_add(c->agg_ev, &tv);
}

void ctl_on_aggregate_timer(evutil_socket_t fd, short what, void *arg)
{
	struct controller *c = arg;
	struct strmap *m = &c->agg_pending;
	long long now = time_mono_us(), next_due = 0;
	size_t pos = 0;
	const char *bkey;
	while (strmap_next(m, &pos, &bkey, NULL)) {
		const struct ctl_agg_pace *p = strmap_get(&c->agg_pace, bkey);
		long long due = p ? p->end_us + pace_wait(c, p->cost_us) : 0;
		if (due > now) {
			if (!next_due || due < next_due)
				next_due = due;
			continue;
		}
		ctl_enqueue(c, 'A', bkey);
		strmap_del(m, bkey);
	}
	if (next_due)
		arm_aggregate_timer(c, next_due - now);
}

static void queue_aggregation(struct controller *c, const char *bkey)
{
	if (!c->agg_ev) {
		ctl_enqueue(c, 'A', bkey);
		return;
	}
	strmap_put_str(&c->agg_pending, bkey, NULL);
	/* Sooner than a paced binding's turn, when that is what the timer waits for. */
	long long soon = time_mono_us() + AGGREGATE_COALESCE_MS * 1000;
	if (!evtimer_pending(c->agg_ev, NULL) || c->agg_due_us > soon)
		arm_aggregate_timer(c, AGGREGATE_COALESCE_MS * 1000);
}

void ctl_reconcile_work(struct controller *c, const char *key)
{
	cJSON *w = ctl_get_key(c, key);
	if (!w)
		return;
	if (ctl_mstr(w, "deletionTimestamp")) {
		/* karmada.io/execution-controller: the agent removes the member's
		 * objects once the Work is gone (docs/protocol.md). */
		ctl_finish_deletion(c, ctl_kind("work.karmada.io", "v1alpha1", "Work"), w);
		cJSON_Delete(w);
		return;
	}
	char bkey[1024];
	if (ctl_work_binding_key(w, bkey, sizeof bkey)) {
		if (store_get(c->st, bkey, NULL, NULL) == STORE_OK) /* exists: no need to parse it here */
			queue_aggregation(c, bkey);
		else if (json_get(w, "metadata.annotations")) {
			/* An orphan: its binding is gone. */
			ctl_delete_obj(c, ctl_kind("work.karmada.io", "v1alpha1", "Work"), ctl_mstr(w, "namespace"), ctl_mstr(w, "name"));
		}
	}
	cJSON_Delete(w);
}
