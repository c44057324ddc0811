/* ctl_status — the status stage (Karmada's binding status controller):
 * Work statuses folded into their binding and its template, coalesced per
 * binding (AGGREGATE_COALESCE_MS).
 * Owns: nothing but the functions below (state is in struct controller). */
#ifndef ATOLL_CTL_STATUS_H
#define ATOLL_CTL_STATUS_H

#include "ctl_core.h"

/* ctl_aggregate_binding borrows all, and b becomes the stored binding;
 * ctl_aggregate_key and ctl_reconcile_work run one queue item (A, W);
 * ctl_on_aggregate_timer is the coalescing timer's callback. */
void ctl_aggregate_binding(struct controller *c, const cJSON *stored_b, cJSON *b, const cJSON *tmpl,
			      const cJSON *works);
void ctl_aggregate_key(struct controller *c, const char *bkey);
void ctl_on_aggregate_timer(evutil_socket_t fd, short what, void *arg);
void ctl_reconcile_work(struct controller *c, const char *key);

#endif
