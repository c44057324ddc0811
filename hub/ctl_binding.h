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
/* The detector's binding and the binding stage in one write: the pass of
 * ctl_reconcile_binding over the stored binding cur (borrowed), starting
 * from desired (what the detector wants written over cur; taken when it
 * returns true) instead of cur, so that the binding's new spec, its
 * scheduling and its aggregated status are one write (one resourceVersion,
 * one store event) and not two in the same loop turn. False (desired not
 * taken) when the two steps must stay apart: no stored binding, or one
 * being deleted, or waiting for the priority queue, or no template. */
bool ctl_reconcile_binding_with(struct controller *c, const char *key, const cJSON *cur, cJSON *desired);

#endif
