/* controller — the hub's control loop: wiring the pure stages together.
 * Owns: the store subscription, classifying each change by key prefix
 * (templates, propagation policies, override policies, clusters, bindings,
 * Works), the de-duplicated work queue drained from a deferred libevent
 * callback (never inside the store callback, never on the HTTP write path),
 * the execution namespaces karmada-es-<cluster>, and the order of the stages:
 * detector → scheduler → work renderer → status aggregation, with the events
 * each stage reports (queued in memory, written when the queue is idle).
 * All reads and writes go through objclient.h; writes of unchanged objects are no-ops,
 * so the loop settles. When clusters change, bindings are re-scheduled
 * first (one write each) and their Works rendered after.
 *
 * controller.c is the dispatcher (subscription, classification, queue
 * draining, retries); the stages are ctl_template.c, ctl_binding.c,
 * ctl_status.c, ctl_cluster.c and ctl_rebalancer.c on ctl_core.c (see
 * ctl_core.h and docs/architecture.md).
 *
 * Dependencies (propagateDeps) follow Karmada's own design: each referenced
 * ConfigMap/Secret/ServiceAccount/PVC that exists gets an attached binding
 * (spec.requiredBy names the workload's binding and its clusters) whose Works
 * go to the union of its own clusters and every requiredBy's clusters. */
#ifndef ATOLL_CONTROLLER_H
#define ATOLL_CONTROLLER_H

#include <event2/event.h>

#include "objects.h"
#include "store.h"

struct controller;
struct objclient;

/* Subscribes to st and starts with a full resync of what is stored. */
struct controller *controller_start(struct event_base *base, struct store *st, struct obj_ctx *objs);
void controller_stop(struct controller *c);

/* Drains the queue synchronously (tests and shutdown); returns the number of
 * items processed. */
int controller_run_pending(struct controller *c);

/* A stage whose write fails (the store refused it, a conflict, validation)
 * is logged, and its queue item is queued again once its backoff ends (the
 * agent's retry policy: 250-500 ms, doubling up to 30 s; reset by a clean
 * pass of the item). Without a loop (tests), controller_retry_now queues
 * every waiting item at once and returns how many;
 * controller_retries_waiting counts them. */
int controller_retry_now(struct controller *c);
size_t controller_retries_waiting(const struct controller *c);
/* The controller's object client (borrowed; tests inject faults with it). */
struct objclient *controller_objclient(struct controller *c);

/* Karmada's PolicyPreemption feature gate (default off): whether a policy
 * with `preemption: Always` takes templates from policies that claim them. */
void controller_set_policy_preemption(struct controller *c, bool on);

/* Karmada's PriorityBasedScheduling feature gate (default off): bindings
 * get spec.schedulePriority.priority from their policy's PriorityClass and
 * the scheduling queue takes higher priorities first. */
void controller_set_priority_scheduling(struct controller *c, bool on);

/* The binding pass's fast Work writes (workfast.h; on by default). */
void controller_set_work_fast(struct controller *c, bool on);

/* A binding pass over many clusters writes its Works in slices, each
 * committed (and its long-polls answered) before the next: the first
 * slice lasts first_ms, each next one twice as long (up to 320 ms), and
 * each writes at least min_targets Works (defaults 40 ms, 64; the
 * environment variable ATOLL_BIND_SLICE="FIRST_MS,MIN" sets them at start,
 * for tests). first_ms 0: slices of exactly min_targets. */
void controller_set_bind_slice(struct controller *c, int first_ms, int min_targets);

/* A binding whose status aggregation (every Work read and folded) took at
 * least min_us waits factor times that long (at most max_ms) after it
 * before the next one (defaults AGGREGATE_PACE_MIN_US, _FACTOR, _MAX_MS,
 * ctl_core.h): a binding over
 * thousands of clusters costs hundreds of milliseconds per aggregation, and
 * its clusters' reports would otherwise run one every
 * AGGREGATE_COALESCE_MS for as long as they arrive. factor 0: no pacing. */
void controller_set_agg_pacing(struct controller *c, long long min_us, int factor, int max_ms);

#endif
