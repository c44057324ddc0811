/* ctl_rebalancer — Karmada's WorkloadRebalancer controller: re-schedules
 * the named workloads once, reports per workload, and deletes itself after
 * its TTL.
 * Owns: nothing but the functions below (state is in struct controller). */
#ifndef ATOLL_CTL_REBALANCER_H
#define ATOLL_CTL_REBALANCER_H

#include "ctl_core.h"

#define REBALANCER_PREFIX "apps.karmada.io/workloadrebalancers/"

/* ctl_reconcile_rebalancer runs one queue item (X); ctl_on_rebalancer_timer
 * is the TTL/retry timer's callback. */
void ctl_on_rebalancer_timer(evutil_socket_t fd, short what, void *arg);
void ctl_reconcile_rebalancer(struct controller *c, const char *key);

#endif
