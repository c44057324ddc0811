/* ctl_binding — the binding stage (Karmada's scheduler and binding
 * controller): schedules a binding onto clusters, renders its Works (with
 * overrides and dependencies' attached bindings) and deletes those no
 * longer wanted, then aggregates its status (ctl_status).
 * Owns: nothing but the functions below (state is in struct controller). */
#ifndef ATOLL_CTL_BINDING_H
#define ATOLL_CTL_BINDING_H

#include "ctl_core.h"

/* Each runs one queue item; key (borrowed) is the binding's store key. */
void ctl_reconcile_binding(struct controller *c, const char *key);
void ctl_schedule_key(struct controller *c, const char *key);

#endif
