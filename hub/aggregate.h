/* aggregate — folding member status back into bindings and templates.
 * Owns: a binding's status.aggregatedStatus (one item per Work: clusterName,
 * status, applied, appliedMessage, health) and its FullyApplied condition
 * with Karmada's reasons and messages, the condition bookkeeping shared with
 * the scheduling stage (lastTransitionTime moves only when status does), and
 * the template status Karmada's default interpreter aggregates (Deployment,
 * StatefulSet: replica counts summed; observedGeneration only once every
 * member caught up). Pure functions: time is passed in. */
#ifndef ATOLL_AGGREGATE_H
#define ATOLL_AGGREGATE_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#define FULLY_APPLIED_SUCCESS_MESSAGE "All works have been successfully applied"
#define FULLY_APPLIED_FAILED_MESSAGE "Failed to apply all works, see status.aggregatedStatus for details"

/* Sets condition type in status.conditions (status is the binding's status
 * object, created by the caller). lastTransitionTime = now when the
 * condition is new or its status changes, else kept. */
void aggregate_set_condition(cJSON *status, const char *type, const char *cond_status, const char *reason,
			     const char *message, const char *now);

/* The aggregatedStatus array for a binding from its Works: one item per
 * Work whose namespace is karmada-es-<cluster> for a target cluster of the
 * binding (spec.clusters and spec.requiredBy), sorted by clusterName.
 * works: JSON array of Work objects (others are ignored). Caller frees. */
cJSON *aggregate_items(const cJSON *binding, const cJSON *works);

/* The binding's new status: its current status with aggregatedStatus and
 * the FullyApplied condition replaced. Caller frees. */
cJSON *aggregate_binding_status(const cJSON *binding, const cJSON *works, const char *now);

/* Clusters whose item is applied in new_items but was not in old_items
 * (JSON array of names). Caller frees. */
cJSON *aggregate_newly_applied(const cJSON *old_items, const cJSON *new_items);

/* The template's status from aggregatedStatus items, for kinds Karmada
 * aggregates (Deployment, StatefulSet); NULL for other kinds. Caller frees. */
cJSON *aggregate_template_status(const cJSON *tmpl, const cJSON *items);

#endif
