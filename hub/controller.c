#include "controller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "ctl_binding.h"
#include "ctl_cluster.h"
#include "ctl_core.h"
#include "ctl_rebalancer.h"
#include "ctl_status.h"
#include "ctl_template.h"
#include "detector.h"
#include "log.h"
#include "loopturn.h"
#include "scheduler.h"
#include "xalloc.h"

static void resync(struct controller *c);
static void recover_from_rollback(struct controller *c);
static void process(struct controller *c, const char *item);
static void arm_retry(struct controller *c);
static int enqueue_retries(struct controller *c, bool force);
static void on_retry_timer(evutil_socket_t fd, short what, void *arg);
static void after_item(struct controller *c, const char *item);
static void run_item(struct controller *c, const char *item);
static void on_deferred(evutil_socket_t fd, short what, void *arg);
static void enqueue_binding_template(struct controller *c, const cJSON *b);
static void on_store_event(const struct store_event *ev, void *ud);
static void on_rollback(struct store *s, void *ud);

#define BATCH 256   /* at most this many queue items per deferred callback */
#define SLICE_MS 20 /* and for at most this long */

static void resync(struct controller *c)
{
	ctl_enqueue_prefix(c, 'X', REBALANCER_PREFIX);
	ctl_enqueue_prefix(c, 'C', "cluster.karmada.io/clusters/");
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		char av[256], prefix[600];
		kind_api_version(k, av, sizeof av);
		if (!detector_propagatable(av, k->kind, ""))
			continue;
		objc_prefix(prefix, sizeof prefix, k, NULL);
		ctl_enqueue_prefix(c, 'T', prefix);
	}
	ctl_enqueue_all_bindings(c, 'B', NULL);
}

/* ---- dispatch ----------------------------------------------------------------------- */

/* Safe point (nothing held): forget what the rolled-back batch taught us
 * and reconcile everything again from the store, as at start. */
static void recover_from_rollback(struct controller *c)
{
	c->rolled_back = false;
	ctl_bind_cont_free(c->bind_cont); /* its binding is queued again by the resync */
	c->bind_cont = NULL;
	strmap_clear(&c->outcome);
	strmap_clear(&c->clusters);
	objc_forget(&c->oc);
	strmap_clear(&c->sched_memo);
	c->clusters_dirty = true;
	strmap_clear(&c->clusters_changed);
	log_warn("controller: a batch of writes was rolled back; reconciling everything again");
}

static void process(struct controller *c, const char *item)
{
	if (c->rolled_back)
		recover_from_rollback(c);
	const char *key = item + 2;
	switch (item[0]) {
	case 'T': ctl_reconcile_template(c, key); break;
	case 't':
		c->policy_pass = true;
		ctl_reconcile_template(c, key);
		c->policy_pass = false;
		break;
	case 'S': ctl_schedule_key(c, key); break;
	case 'B': ctl_reconcile_binding(c, key); break;
	case 'A': ctl_aggregate_key(c, key); break;
	case 'W': ctl_reconcile_work(c, key); break;
	case 'C': ctl_reconcile_cluster(c, key); break;
	case 'P': ctl_reconcile_policy(c, key); break;
	case 'O': ctl_reconcile_override(c, key); break;
	case 'R': resync(c); break;
	case 'X': ctl_reconcile_rebalancer(c, key); break;
	default: break;
	}
}

/* ---- retries of failed writes ------------------------------------------------------ */

/* One item whose writes failed: due again at due_ms (0: queued already). */
struct retry {
	struct backoff b;
	uint64_t due_ms;
};

static void arm_retry(struct controller *c)
{
	if (!c->retry_ev)
		return;
	uint64_t first = 0;
	size_t pos = 0;
	void *v;
	while (strmap_next(&c->retries, &pos, NULL, &v)) {
		const struct retry *r = v;
		if (r->due_ms && (!first || r->due_ms < first))
			first = r->due_ms;
	}
	if (!first)
		return;
	uint64_t now = backoff_now_ms(), wait = first > now ? first - now : 0;
	struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
	evtimer_add(c->retry_ev, &tv);
}

/* Queues the items whose backoff ended (all with force). */
static int enqueue_retries(struct controller *c, bool force)
{
	uint64_t now = backoff_now_ms();
	int n = 0;
	size_t pos = 0;
	const char *item;
	void *v;
	while (strmap_next(&c->retries, &pos, &item, &v)) {
		struct retry *r = v;
		if (r->due_ms && (force || r->due_ms <= now)) {
			r->due_ms = 0;
			ctl_enqueue(c, item[0], item + 2);
			n++;
		}
	}
	return n;
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct controller *c = arg;
	enqueue_retries(c, false);
	arm_retry(c);
}

/* A write refused for what it is (a 4xx other than a conflict or
 * throttling: invalid, forbidden, too large) fails again on every retry
 * until its input changes, so it is said where users look, as Karmada's
 * controllers do: SyncWorkFailed on the binding and its template for a
 * binding pass, ApplyPolicyFailed on the template for a template pass,
 * AggregateStatusFailed on the binding and its template for a status pass.
 * Events of one kind and text are counted, not repeated (EVENT_BUMP). */
static void report_refused_write(struct controller *c, const char *item)
{
	int code = c->write_failed_code;
	if (code < 400 || code >= 500 || code == 409 || code == 429)
		return;
	const char *reason, *component;
	switch (item[0]) {
	case 'T':
	case 't': reason = "ApplyPolicyFailed"; component = C_DETECTOR; break;
	case 'S':
	case 'B': reason = "SyncWorkFailed"; component = C_BINDING; break;
	case 'A':
	case 'W': reason = "AggregateStatusFailed"; component = C_STATUS; break;
	default: return;
	}
	cJSON *obj = ctl_get_key(c, item + 2);
	if (obj && item[0] == 'W') { /* a Work: its binding speaks for it */
		char bkey[1024];
		cJSON *w = obj;
		obj = ctl_work_binding_key(w, bkey, sizeof bkey) ? ctl_get_key(c, bkey) : NULL;
		cJSON_Delete(w);
	}
	if (!obj)
		return;
	ctl_event(c, obj, true, reason, c->write_failed_msg, component, EVENT_BUMP);
	if (item[0] != 'T' && item[0] != 't') {
		const struct kind_info *tk;
		char tkey[1024];
		cJSON *tmpl = ctl_binding_template(c, obj, &tk, tkey, sizeof tkey);
		if (tmpl)
			ctl_event(c, tmpl, true, reason, c->write_failed_msg, component, EVENT_BUMP);
		cJSON_Delete(tmpl);
	}
	cJSON_Delete(obj);
}

/* After an item: a failed write queues it again with the retry policy's
 * backoff (250 ms doubling up to 30 s, common/backoff.h); a clean pass
 * forgets its failures. */
static void after_item(struct controller *c, const char *item)
{
	if (!c->write_failed) {
		if (strmap_count(&c->retries))
			strmap_del(&c->retries, item);
		return;
	}
	c->write_failed = false;
	report_refused_write(c, item);
	struct retry *r = strmap_get(&c->retries, item);
	if (!r) {
		r = xcalloc(1, sizeof *r);
		backoff_init_policy(&r->b, 0);
		strmap_put(&c->retries, item, r);
	}
	uint64_t wait = backoff_next_ms(&r->b);
	r->due_ms = backoff_now_ms() + wait;
	log_debug("controller: %s had a failed write; queued again in %llu ms", item, (unsigned long long)wait);
	arm_retry(c);
}

static void run_item(struct controller *c, const char *item)
{
	c->write_failed = false;
	process(c, item);
	after_item(c, item);
	ctl_bind_cont_free(c->bind_cont_taken); /* a continuation its pass did not take */
	c->bind_cont_taken = NULL;
	struct loopturn *lt = loopturn_of(c->st);
	if (lt)
		loopturn_set_fanout(lt, c->bind_cont != NULL);
}

int controller_retry_now(struct controller *c) { return enqueue_retries(c, true); }

size_t controller_retries_waiting(const struct controller *c)
{
	size_t n = 0, pos = 0;
	void *v;
	while (strmap_next(&c->retries, &pos, NULL, &v))
		n += ((const struct retry *)v)->due_ms != 0;
	return n;
}

struct objclient *controller_objclient(struct controller *c) { return &c->oc; }

int controller_run_pending(struct controller *c)
{
	int n = 0;
	char *item;
	while ((item = ctl_dequeue(c))) {
		run_item(c, item);
		free(item);
		n++;
	}
	ctl_flush_events(c, 0, false);
	return n;
}

#define EVENT_HOLD_MAX_MS 10000

/* While the scheduling stage runs (a cluster changed: every binding is
 * placed again), its events, however old, wait for its end: placement
 * first. Not past EVENT_HOLD_MAX_MS for the oldest, nor with the buffer
 * half full, so a stage queued again and again cannot hold them forever. */
static bool events_held(const struct controller *c)
{
	if (!c->s_queued || c->ev_count == 0 || c->ev_count >= EVENT_BUFFER_MAX / 2)
		return false;
	return ctl_mono_ms() - c->events[c->ev_head].queued_ms < EVENT_HOLD_MAX_MS;
}

/* The loop turn committed what was in its batch (or the hub is shutting
 * down): the next slice runs in this loop pass, after the long-polls that
 * the commit woke are answered (their event is already active). */
static void after_commit(void *ud, bool ok)
{
	struct controller *c = ud;
	c->after_commit = false;
	if (!ok)
		return;
	if (c->slice_answers) {
		/* The slice just committed answers long-polls: their records are
		 * encrypted in the loop's next pass and written to the sockets in
		 * the I/O pass after it, both before a 1 ms timeout runs the next
		 * slice; else the next slice, or the pass's last step, would hold
		 * them. Once: if the requests of those passes opened a batch, the
		 * slice runs right after its commit (no waiting for a quiet loop). */
		c->slice_answers = false;
		if (c->armed)
			event_del(c->ev);
		static const struct timeval ms1 = {0, 1000};
		event_add(c->ev, &ms1);
		c->armed = true;
		return;
	}
	if (c->armed)
		event_del(c->ev);
	c->armed = true;
	event_active(c->ev, EV_TIMEOUT, 0);
}

/* Drains a bounded slice of the queue, then lets the loop serve requests
 * before the next slice. A first slice shares the open batch with the
 * client's write that caused it: one commit (on etcd one Txn, not two in
 * a row) for a write and the Works it causes, and the client's answer
 * waits for at most that one bounded slice (40 ms of a fan-out, not all
 * of it). The later slices of a fan-out never write into a batch that is
 * not committed yet: each slice of Works is committed, and its
 * long-polls answered, before the next one is written. */
static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct controller *c = arg;
	c->armed = false;
	struct loopturn *lt = loopturn_of(c->st);
	if (lt && c->bind_cont && loopturn_uncommitted(lt)) {
		if (!c->after_commit) {
			c->after_commit = true;
			loopturn_defer(lt, after_commit, c);
		}
		return;
	}
	long long deadline = ctl_mono_ms() + SLICE_MS;
	char *item;
	c->slice_done = false;
	for (int n = 0; n < BATCH && (item = ctl_dequeue(c)); n++) {
		run_item(c, item);
		free(item);
		if (ctl_mono_ms() >= deadline || c->slice_done)
			break;
	}
	c->slice_answers = c->slice_done; /* a slice of Works: see after_commit */
	c->slice_done = false;
	if (c->qhead == c->qtail && !c->sq_n && !c->bind_cont)
		ctl_flush_events(c, ctl_mono_ms() + SLICE_MS, false); /* idle: events now */
	else if (!events_held(c))
		ctl_flush_events(c, ctl_mono_ms() + EVENT_AGED_SLICE_MS, true); /* busy: only old ones, briefly */
	if (c->qhead != c->qtail || c->sq_n || c->ev_count > 0 || c->bind_cont)
		ctl_arm(c);
}

/* A binding deleted while its template exists comes back (Karmada's
 * detector requeues the template of a deleted binding). */
static void enqueue_binding_template(struct controller *c, const cJSON *b)
{
	const char *name = ctl_res_str(b, "name"), *ns = ctl_res_str(b, "namespace");
	const struct kind_info *tk = b ? kinds_find_apiversion_kind(ctl_res_str(b, "apiVersion"), ctl_res_str(b, "kind")) : NULL;
	char tkey[1024];
	if (tk && name[0])
		ctl_enqueue(c, 'T', obj_key(tkey, sizeof tkey, tk, ns, name));
}

/* The store callback: classify by key, queue, return. */
static void on_store_event(const struct store_event *ev, void *ud)
{
	struct controller *c = ud;
	struct objc_key_parts kp;
	if (objc_split_key(ev->key, &kp) < 0)
		return;
	const char *g = kp.group, *p = kp.plural;
	const struct ctl_origin *own = ctl_origin_of(c, ev); /* a write of the pass now running */
	struct ctl_bind_cont *bc = c->bind_cont;
	if (bc && !(own && own->binding && strcmp(own->binding, bc->key) == 0) &&
	    (strcmp(ev->key, bc->key) == 0 || strcmp(ev->key, bc->tkey) == 0 ||
	     (strcmp(g, "policy.karmada.io") == 0 && strstr(p, "overridepolicies"))))
		bc->stale = true; /* the pass in slices starts over (ctl_binding.c) */
	if (strcmp(g, "cluster.karmada.io") == 0) {
		if (strcmp(p, "clusters") == 0) {
			ctl_cluster_event(c, ev); /* the Cluster cache follows (ctl_core.c) */
			ctl_enqueue(c, 'C', ev->key);
		}
		return;
	}
	if (strcmp(g, "policy.karmada.io") == 0) {
		if (strcmp(p, "propagationpolicies") == 0 || strcmp(p, "clusterpropagationpolicies") == 0)
			ctl_enqueue(c, 'P', ev->key);
		else if (strcmp(p, "overridepolicies") == 0 || strcmp(p, "clusteroverridepolicies") == 0)
			ctl_enqueue(c, 'O', ev->key);
		return;
	}
	if (strcmp(g, "scheduling.k8s.io") == 0 && strcmp(p, "priorityclasses") == 0 && ev->type != STORE_DELETED &&
	    c->prio_waiting.n > 0) {
		/* Templates whose policy named this PriorityClass before it existed. */
		for (size_t i = 0; i < c->prio_waiting.cap; i++) {
			const char *tk = c->prio_waiting.keys[i];
			if (tk && tk != (char *)&c->prio_waiting && c->prio_waiting.vals[i] &&
			    strcmp(c->prio_waiting.vals[i], kp.name) == 0)
				ctl_enqueue(c, 'T', tk);
		}
	}
	if (strcmp(g, "apps.karmada.io") == 0 && strcmp(p, "workloadrebalancers") == 0) {
		if (ev->type != STORE_DELETED)
			ctl_enqueue(c, 'X', ev->key);
		return;
	}
	if (strcmp(g, "work.karmada.io") == 0) {
		if (strcmp(p, "works") == 0)
			workidx_event(&c->works_idx, ev); /* every Work write, the controller's own too */
		if (strcmp(p, "resourcebindings") == 0 || strcmp(p, "clusterresourcebindings") == 0) {
			if (!own || !own->binding || strcmp(ev->key, own->binding) != 0)
				ctl_enqueue(c, 'B', ev->key);
			if (ev->type == STORE_DELETED)
				enqueue_binding_template(c, store_event_value(ev));
		} else if (strcmp(p, "works") == 0 && !(own && own->binding)) {
			if (ev->type == STORE_DELETED) {
				/* The Work is gone: its binding may want it back. */
				const cJSON *w = store_event_value(ev);
				char bkey[1024];
				if (w && ctl_work_binding_key(w, bkey, sizeof bkey))
					ctl_enqueue(c, 'B', bkey);
			} else {
				ctl_enqueue(c, 'W', ev->key);
			}
		}
		return;
	}
	if (strcmp(g, "core") == 0 && (strcmp(p, "events") == 0 || strcmp(p, "nodes") == 0))
		return;
	if (strcmp(g, "core") == 0 && strcmp(p, "namespaces") == 0 &&
	    (strncmp(kp.name, "karmada-es-", 11) == 0 || strncmp(kp.name, "kube-", 5) == 0))
		return;
	if (strcmp(g, "coordination.k8s.io") == 0 || strcmp(g, "events.k8s.io") == 0)
		return;
	if (strcmp(kp.ns, "karmada-system") == 0 || strcmp(kp.ns, "karmada-cluster") == 0 ||
	    strncmp(kp.ns, "karmada-es-", 11) == 0 || strncmp(kp.ns, "kube-", 5) == 0)
		return;
	if (own && own->template && strcmp(ev->key, own->template) == 0)
		return;
	ctl_enqueue(c, 'T', ev->key);
}

static void on_rollback(struct store *s, void *ud)
{
	struct controller *c = ud;
	c->rolled_back = true; /* acted on at the next item: see recover_from_rollback */
	workidx_reset(&c->works_idx); /* listed again on next use */
	ctl_enqueue(c, 'R', "");
}

struct controller *controller_start(struct event_base *base, struct store *st, struct obj_ctx *objs)
{
	struct controller *c = calloc(1, sizeof *c);
	struct strmap *maps[] = {&c->queued, &c->outcome, &c->clusters, &c->sched_memo, &c->agg_pending,
				 &c->agg_pace, &c->sched_deferred, &c->prio_waiting, &c->retries, &c->clusters_changed};
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
		strmap_init(maps[i], free);
	c->base = base;
	c->st = st;
	c->objs = objs;
	const char *wf = getenv("ATOLL_WORK_FAST");
	c->work_fast = !wf || strcmp(wf, "0") != 0;
	int first_ms = 40, min_targets = 64;
	const char *bs = getenv("ATOLL_BIND_SLICE");
	if (bs && sscanf(bs, "%d,%d", &first_ms, &min_targets) != 2)
		log_warn("controller: ATOLL_BIND_SLICE=%s is not FIRST_MS,MIN: ignored", bs);
	controller_set_bind_slice(c, first_ms, min_targets);
	controller_set_agg_pacing(c, AGGREGATE_PACE_MIN_US, AGGREGATE_PACE_FACTOR, AGGREGATE_PACE_MAX_MS);
	objc_init(&c->oc, st, objs);
	if (base) {
		c->ev = event_new(base, -1, 0, on_deferred, c);
		/* Its slices run on their own event, not as a stage of the loop
		 * turn: what a slice writes opens a batch and the turn commits it
		 * as any other (loopturn.h). As the turn's first stage it ran a
		 * slice in every turn, before the commit, for the few items that
		 * turn's requests had queued: about 0.027 ms more hub CPU per
		 * durable create (docs/benchmarks.md, "Creates across the
		 * structure work"). */
		c->retry_ev = evtimer_new(base, on_retry_timer, c);
		c->agg_ev = evtimer_new(base, ctl_on_aggregate_timer, c);
		c->rb_ev = evtimer_new(base, ctl_on_rebalancer_timer, c);
	}
	/* In-transaction: the controllers may act on writes not yet durable;
	 * their own writes join the same batch, and nothing they do is seen
	 * outside before its commit. */
	store_subscribe(st, on_store_event, c);
	store_subscribe_rollback(st, on_rollback, c);
	ctl_enqueue(c, 'R', "");
	return c;
}

void controller_set_policy_preemption(struct controller *c, bool on)
{
	if (c)
		c->policy_preemption = on;
}

void controller_set_work_fast(struct controller *c, bool on) { c->work_fast = on; }

void controller_set_bind_slice(struct controller *c, int first_ms, int min_targets)
{
	if (!c)
		return;
	c->bind_slice_ms = first_ms >= 0 ? first_ms : 40;
	c->bind_slice_min = min_targets > 0 ? min_targets : 64;
}

void controller_set_agg_pacing(struct controller *c, long long min_us, int factor, int max_ms)
{
	if (!c)
		return;
	c->agg_pace_min_us = min_us > 0 ? min_us : 0;
	c->agg_pace_factor = factor > 0 ? factor : 0;
	c->agg_pace_max_us = max_ms > 0 ? max_ms * 1000LL : 0;
}

void controller_set_priority_scheduling(struct controller *c, bool on)
{
	if (c)
		c->priority_scheduling = on;
}

void controller_stop(struct controller *c)
{
	if (!c)
		return;
	/* Unsubscribe: the store outlives us. */
	/* Queued events still go to the store (bounded: 2 s), in the batch the
	 * API server commits as it shuts down. */
	ctl_flush_events(c, ctl_mono_ms() + 2000, false);
	if (c->ev_count)
		log_warn("controller: %zu events not recorded at shutdown", c->ev_count);
	while (c->ev_count > 0) {
		ctl_free_event(&c->events[c->ev_head]);
		c->ev_head++;
		c->ev_count--;
	}
	free(c->events);
	store_unsubscribe(c->st, on_store_event, c);
	store_unsubscribe_rollback(c->st, on_rollback, c);
	struct loopturn *lt = loopturn_of(c->st);
	if (lt && c->after_commit)
		loopturn_cancel(lt, after_commit, c);
	if (lt && c->bind_cont)
		loopturn_set_fanout(lt, false);
	ctl_bind_cont_free(c->bind_cont);
	ctl_bind_cont_free(c->bind_cont_taken);
	free(c->bind_restart_key);
	if (c->ev)
		event_free(c->ev);
	if (c->agg_ev)
		event_free(c->agg_ev);
	if (c->rb_ev)
		event_free(c->rb_ev);
	strmap_clear(&c->agg_pending);
	strmap_clear(&c->agg_pace);
	char *item;
	while ((item = ctl_dequeue(c)))
		free(item);
	free(c->q);
	free(c->sq);
	strmap_clear(&c->sched_deferred);
	strmap_clear(&c->prio_waiting);
	strmap_clear(&c->queued);
	strmap_clear(&c->outcome);
	strmap_clear(&c->clusters);
	strmap_clear(&c->sched_memo);
	strmap_clear(&c->clusters_changed);
	strmap_clear(&c->retries);
	if (c->retry_ev)
		event_free(c->retry_ev);
	objc_free(&c->oc);
	nidx_free(&c->clusters_idx);
	workidx_free(&c->works_idx);
	sched_facts_free(c->sched_facts);
	free(c->unready);
	cJSON_Delete(c->clusters_cache);
	free(c);
}
