/* ctl_core — what the controller's stages share (hub/controller.h is the
 * public face; this header is for the ctl_*.c files and controller.c only).
 * Owns: struct controller (its queues, maps and caches), the de-duplicated
 * work queue and the priority scheduling queue (ctl_enqueue, ctl_dequeue,
 * ctl_arm), the event buffer (ctl_event, ctl_flush_events), the
 * controller's writes through its object client (ctl_upsert,
 * ctl_write_status, ctl_update_in_place, ctl_delete_obj,
 * ctl_ensure_namespace: a failure is logged once and marks the item for a
 * retry with backoff, see ctl_write_failed), and the helpers more than one
 * stage needs (binding identity, a binding's Works and template, the
 * Cluster cache).
 *
 * Layering (no include cycles): ctl_core includes no ctl_* header; each
 * stage (ctl_template, ctl_binding, ctl_status, ctl_cluster,
 * ctl_rebalancer) includes ctl_core and nothing else of the controller,
 * except ctl_binding -> ctl_status (a binding pass ends with its
 * aggregation); only controller.c, the dispatcher, calls the stages. A
 * helper a second stage needs moves here. */
#ifndef ATOLL_CTL_CORE_H
#define ATOLL_CTL_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <event2/event.h>

#include "controller.h"
#include "events.h"
#include "kinds.h"
#include "nameidx.h"
#include "objclient.h"
#include "strmap.h"
#include "workidx.h"

struct sched_facts;

/* Events wait in memory and are written when the queue is idle (or once
 * they are EVENT_MAX_AGE_MS old, a little per slice), so recording them never
 * delays placement — as Karmada's recorder, which is asynchronous too. Like
 * client-go's broadcaster, a full buffer drops new events (logged). */
#define EVENT_BUFFER_MAX 100000
#define EVENT_MAX_AGE_MS 1000
#define EVENT_AGED_SLICE_MS 2
#define AGGREGATE_COALESCE_MS 50
/* A binding whose aggregation took this long or more is paced (ctl_status.c). */
#define AGGREGATE_PACE_MIN_US 5000
#define AGGREGATE_PACE_FACTOR 3
#define AGGREGATE_PACE_MAX_MS 2000
#define C_DETECTOR "resource-detector"
#define C_SCHEDULER "default-scheduler"
#define C_BINDING "binding-controller"
#define C_EXECUTION "execution-controller"
#define C_STATUS "resource-binding-status-controller"
/* ---- the controller ------------------------------------------------------- */

struct controller {
	struct event_base *base;
	struct store *st;
	struct obj_ctx *objs;
	struct event *ev;
	bool armed;
	/* FIFO of queued items plus a set for de-duplication */
	char **q;
	size_t qhead, qtail, qcap;
	struct strmap queued;
	struct strmap outcome;   /* template key -> last detector outcome */
	struct strmap clusters;  /* cluster name -> scheduling fingerprint */
	/* Every read and write (and the namespaces known to exist). */
	struct objclient oc;
	/* A write of the item being processed failed (write_failed): the item
	 * goes to retries, queued again when its backoff ends (retry_ev). */
	bool write_failed;
	/* The item's first failed write: its status code and what it was. */
	int write_failed_code;
	char write_failed_msg[600];
	struct strmap retries; /* queue item -> struct retry */
	struct event *retry_ev;
	/* The Cluster objects, listed again only after a Cluster changes (every
	 * Cluster write reaches on_store_event) or a rollback. */
	cJSON *clusters_cache;
	bool clusters_dirty;
	struct name_index clusters_idx; /* clusters_cache by name */
	/* Clusters written or deleted since clusters_cache was built: store
	 * key -> the value written (NULL: deleted), folded into the cache at
	 * its next use instead of listing every Cluster again (ctl_cluster_event). */
	struct strmap clusters_changed;
	/* The binding pass writes stamped Works the fast way (workfast.h);
	 * on unless ATOLL_WORK_FAST=0 (controller_set_work_fast). */
	bool work_fast;
	long work_fast_writes, work_fast_off; /* Works so written; passes it was turned off in (tests) */
	/* Where the Works of each name are (a binding's Works share one name):
	 * kept by on_store_event, dropped on rollback (workidx.h). */
	struct workidx works_idx;
	struct sched_facts *sched_facts; /* clusters_cache as the scheduler's filters read it */
	const cJSON **unready;          /* clusters_cache's clusters not Ready (failover_unready_clusters) */
	int nunready;
	/* Events not yet written, oldest first: events[ev_head .. ev_head +
	 * ev_count). Grows on demand; freed once drained, so an idle hub keeps
	 * no buffer. */
	struct pending_event *events;
	size_t ev_head, ev_count, ev_cap;
	/* A batch with our writes was rolled back: rebuild before the next item. */
	bool rolled_back;
	/* The template being reconciled was queued by a policy change ('t'). */
	bool policy_pass;
	/* Karmada's PolicyPreemption feature gate (off by default). */
	bool policy_preemption;
	/* Bumped when a Cluster's scheduling fingerprint changes or a Cluster
	 * goes; sched_memo: binding key -> what its last scheduling saw. */
	unsigned long clusters_gen;
	struct strmap sched_memo;
	/* Tests: the scheduling stage writes every binding through a copy
	 * (ctl_update_in_place), never in place (ctl_update_own). */
	bool sched_copy_always;
	/* Bindings whose Works reported status, aggregated when agg_ev fires. */
	struct strmap agg_pending;
	struct event *agg_ev;
	/* Bindings whose last aggregation took agg_pace_min_us or more: key ->
	 * struct ctl_agg_pace; the next waits agg_pace_factor times as long,
	 * at most agg_pace_max_us (controller_set_agg_pacing, ctl_status.c). */
	struct strmap agg_pace;
	long long agg_due_us; /* when agg_ev fires (time_mono_us), if pending */
	long long agg_pace_min_us, agg_pace_max_us;
	int agg_pace_factor;
	long long ev_dropped;
	/* Karmada's PriorityBasedScheduling gate (off by default): 'S' items
	 * wait in sq, a heap ordered by the binding's
	 * spec.schedulePriority.priority (higher first, then first queued),
	 * and run ahead of the FIFO, as Karmada's scheduler runs ahead of its
	 * binding controller. sched_deferred: bindings whose first scheduling
	 * was handed to sq by the binding pass. */
	bool priority_scheduling;
	struct sq_item *sq;
	size_t sq_n, sq_cap;
	/* 'S' items queued (FIFO or sq): while any wait, the scheduling stage
	 * runs and even old events wait for it (on_deferred). */
	size_t s_queued;
	unsigned long long sq_seq;
	struct strmap sched_deferred;
	struct strmap prio_waiting; /* template key -> the PriorityClass it waits for */
	/* WorkloadRebalancers: woken again at rb_due (a TTL or a retry). */
	struct event *rb_ev;
	time_t rb_due;
	/* A binding pass that stopped after a slice of its targets
	 * (ctl_binding.c): its 'B' item is dequeued before everything else,
	 * which moves it to bind_cont_taken for that item's pass to take; the
	 * controller frees what is left there after the item. */
	struct ctl_bind_cont *bind_cont, *bind_cont_taken;
	/* The item just run asks the controller's slice to end here, so the
	 * loop turn commits what it wrote (and answers its long-polls). */
	bool slice_done;
	/* on_deferred waits for the loop turn's commit (controller.c). */
	bool after_commit;
	bool slice_answers; /* the last slice wrote Works that answer long-polls */
	char *bind_restart_key; /* the binding whose pass in slices restarted */
	int bind_restarts;      /* how often (ctl_binding.c, BIND_RESTARTS_MAX) */
	int bind_slice_ms, bind_slice_min; /* controller_set_bind_slice */
};
/* Where a binding pass in slices stopped (ctl_binding.c). */
struct ctl_bind_cont {
	char *key;
	char tkey[1024];          /* its template's key */
	/* what the first slice read and computed, kept parsed: the binding as
	 * read and as the pass wants it, the template, the targets, the
	 * override policies, the rendered Work the others are stamped from */
	cJSON *b, *tmpl, *next_b, *targets, *cops, *ops, *proto;
	bool stampable;
	bool stale; /* the binding, its template or an override policy changed: start over */
	int next;                 /* the first target not done */
	int slice_ms;             /* the next slice's length (-1: first_ms was 0) */
	bool tail;                /* every Work written: the pass's last step is left */
	cJSON *works;             /* the Works of the done targets, as stored */
	int synced;
	char *sync_error;
};
void ctl_bind_cont_free(struct ctl_bind_cont *bc);
struct pending_event {
	cJSON *about; /* apiVersion, kind and the metadata events.h reads */
	char *reason, *message;
	const char *component;
	bool warning;
	enum event_mode mode;
	time_t at;
	long long queued_ms;
};

struct sq_item;

/* The functions below are documented at their definitions in ctl_core.c.
 * Ownership, in one place: ctl_get_key, ctl_get_obj, ctl_list_prefix,
 * ctl_binding_works and ctl_binding_template return a new tree (caller
 * frees); ctl_dequeue a new string (caller frees); ctl_upsert takes obj and
 * ctl_write_status takes status (also on failure), *stored is the caller's;
 * ctl_update_in_place borrows obj and turns it into the stored object;
 * ctl_current_clusters and ctl_find_cluster return borrowed pointers into
 * the Cluster cache, valid until the next Cluster change; ctl_mstr and
 * ctl_res_str point into their object. Every write that fails calls
 * ctl_write_failed: logged once, and the item being processed is queued
 * again after backoff. */
/* What one pass writes on behalf of. The store events of the pass's writes
 * carry it (objclient.origin, store_event.origin); on_store_event leaves
 * the pass's own writes to its binding, to that binding's Works and to its
 * template out of the queues, so a pass does not queue itself again. */
struct ctl_origin {
	const char *binding;  /* a binding key, or NULL */
	const char *template; /* a template key, or NULL */
};
/* Starts a pass on behalf of o (kept by the caller until the end); returns
 * the origin it replaces, which ctl_origin_end restores (passes nest: a
 * binding pass may aggregate status). */
const void *ctl_origin_begin(struct controller *c, const struct ctl_origin *o);
void ctl_origin_end(struct controller *c, const void *prev);
/* The pass's origin when ev is one of this controller's writes, else NULL. */
const struct ctl_origin *ctl_origin_of(const struct controller *c, const struct store_event *ev);

void ctl_arm(struct controller *c);
void ctl_enqueue(struct controller *c, char tag, const char *key);
char *ctl_dequeue(struct controller *c);
cJSON *ctl_get_key(struct controller *c, const char *key);
cJSON *ctl_get_obj(struct controller *c, const struct kind_info *k, const char *ns, const char *name);
cJSON *ctl_list_prefix(struct controller *c, const char *prefix);
void ctl_enqueue_prefix(struct controller *c, char tag, const char *prefix);
const struct kind_info *ctl_kind(const char *group, const char *version, const char *kind);
void ctl_new_uuid(char *buf, size_t len);
const char *ctl_now_str(char *buf, size_t len);
const char *ctl_mstr(const cJSON *o, const char *field);
void ctl_write_failed(struct controller *c, const char *what, const struct kind_info *k, const char *ns,
			 const char *name, struct api_error *e);
int ctl_upsert(struct controller *c, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		  const cJSON *old, cJSON **stored);
int ctl_write_status(struct controller *c, const struct kind_info *k, const cJSON *cur, cJSON *status,
			cJSON **stored);
int ctl_update_in_place(struct controller *c, const struct kind_info *k, const cJSON *cur, cJSON *obj,
			   enum subresource sub);
int ctl_update_own(struct controller *c, const struct kind_info *k, cJSON *obj, long long old_rev, double old_generation);
void ctl_finish_deletion(struct controller *c, const struct kind_info *k, const cJSON *cur);
void ctl_delete_obj(struct controller *c, const struct kind_info *k, const char *ns, const char *name);
void ctl_event(struct controller *c, const cJSON *obj, bool warning, const char *reason, const char *msg,
		  const char *component, enum event_mode mode);
void ctl_free_event(struct pending_event *pe);
void ctl_flush_events(struct controller *c, long long deadline_ms, bool aged_only);
int ctl_ensure_namespace(struct controller *c, const char *ns);
bool ctl_is_cluster_binding(const cJSON *b);
const struct kind_info *ctl_binding_kind(bool cluster);
void ctl_binding_key_for(const char *ns, const char *kind, const char *name, char *buf, size_t len);
bool ctl_work_binding_key(const cJSON *w, char *buf, size_t len);
const char *ctl_work_ns_of(const cJSON *w);
int ctl_delete_works(struct controller *c, const char *bns, const char *bname, const char *kind, const char *name,
			const char *tns, const cJSON *keep);
void ctl_delete_orphan_works(struct controller *c, const char *bns, const char *bname);
const cJSON *ctl_find_cluster(const struct controller *c, const cJSON *clusters, const char *name);
bool ctl_follows_cluster_changes(const cJSON *b, const cJSON *tmpl);
bool ctl_cond_is(const cJSON *cond, const char *status);
double ctl_mono_seconds(void);
cJSON *ctl_binding_works(struct controller *c, const cJSON *b);
const char *ctl_res_str(const cJSON *b, const char *field);
cJSON *ctl_binding_template(struct controller *c, const cJSON *b, const struct kind_info **tk, char *tkey,
			       size_t len);
const cJSON *ctl_current_clusters(struct controller *c);
void ctl_cluster_event(struct controller *c, const struct store_event *ev);
void ctl_enqueue_all_bindings(struct controller *c, char tag, const char *ns);
long long ctl_mono_ms(void);

#endif
