/* ctl_template — the detector stage (Karmada's resource detector and
 * policy controllers): a template matched to its PropagationPolicy or
 * ClusterPropagationPolicy is claimed and gets its binding; policy and
 * override changes queue the templates they select.
 * Owns: nothing but the functions below (state is in struct controller). */
#ifndef ATOLL_CTL_TEMPLATE_H
#define ATOLL_CTL_TEMPLATE_H

#include "ctl_core.h"

/* Each runs one queue item; key (borrowed) is the store key of the
 * template, PropagationPolicy or OverridePolicy. */
void ctl_reconcile_template(struct controller *c, const char *key);
void ctl_reconcile_policy(struct controller *c, const char *key);
void ctl_reconcile_override(struct controller *c, const char *key);

#endif
