/* schemafilter — an object against a published OpenAPI document.
 * Owns: finding a kind's schema in an OpenAPI v2 ("definitions") or v3
 * ("components.schemas") document by x-kubernetes-group-version-kind, and
 * walking an object along it to find (and optionally remove) the fields
 * the schema does not declare — what a member's API server on an older
 * Kubernetes version would refuse under server-side apply ("field not
 * declared in schema"). $ref, single-element allOf, arrays, maps
 * (additionalProperties), free-form objects and
 * x-kubernetes-preserve-unknown-fields are followed as Kubernetes does.
 * Pure functions: the agent uses them on the documents it fetches from a
 * member, atoll-sim on its own document. */
#ifndef ATOLL_SCHEMAFILTER_H
#define ATOLL_SCHEMAFILTER_H

#include <stdbool.h>
#include <cjson/cJSON.h>

/* The schema of group/version/kind in doc (v2 or v3), or NULL. */
const cJSON *schemafilter_find_kind(const cJSON *doc, const char *group, const char *version, const char *kind);

/* Walks obj along schema (of doc). Every field the schema does not declare
 * is appended to dropped (if not NULL) as a path in Kubernetes' notation
 * (".spec.internalTrafficPolicy", ".spec.template.spec.containers[name=\"web\"].restartPolicy"),
 * and removed from obj when remove is true. Returns how many were found. */
int schemafilter_prune(const cJSON *doc, const cJSON *schema, cJSON *obj, cJSON *dropped, bool remove);

#endif
