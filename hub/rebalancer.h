/* rebalancer — Karmada's WorkloadRebalancer (apps.karmada.io/v1alpha1) as
 * pure functions; the controller (controller.c) reads and writes.
 * Owns: status.observedWorkloads kept in step with spec.workloads (Karmada's
 * syncWorkloadsFromSpecToStatus: a workload still listed keeps its entry, a
 * dropped one stays only if it succeeded, new ones are added, all sorted by
 * "apiVersion kind namespace name"), when a referenced binding needs its
 * spec.rescheduleTriggeredAt set (it is unset or older than the rebalancer's
 * creationTimestamp), and the time left before ttlSecondsAfterFinished
 * deletes a finished rebalancer.
 * No I/O, no clock: the caller passes the time. */
#ifndef ATOLL_REBALANCER_H
#define ATOLL_REBALANCER_H

#include <stdbool.h>
#include <time.h>
#include <cjson/cJSON.h>

#define REBALANCE_SUCCESSFUL "Successful"
#define REBALANCE_FAILED "Failed"
#define REBALANCE_BINDING_NOT_FOUND "ReferencedBindingNotFound"

/* The observedWorkloads list (a new array) the rebalancer rb should carry
 * before any binding is touched: entries with a result keep it, new ones
 * have none yet. */
cJSON *rebalancer_observed(const cJSON *rb);

/* Whether a binding whose spec.rescheduleTriggeredAt is rta (NULL: unset)
 * must be triggered again by a rebalancer created at created. */
bool rebalancer_needs_trigger(const char *created, const char *rta);

/* Seconds left (<= 0: due now) before a finished rebalancer with
 * spec.ttlSecondsAfterFinished is deleted. false when it has no TTL or has
 * not finished. */
bool rebalancer_ttl_left(const cJSON *rb, time_t now, long long *left);

#endif
