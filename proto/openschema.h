/* openschema — OpenAPI schemas of the kinds, made from the schema table.
 * Owns: turning messages of the schema table (pbschema.h plus
 * schemameta.h) into OpenAPI v2 definitions and v3 components.schemas:
 * built-in messages under Kubernetes' definition names
 * ("io.k8s.api.apps.v1.Deployment") referenced with $ref, Karmada's kinds
 * inline as a CRD's published schema is; field types, arrays, maps,
 * int-or-string, quantities and times, required, enums, descriptions and
 * x-kubernetes-group-version-kind. A maximum Kubernetes minor leaves out
 * the fields that appeared later (a member on an older version). */
#ifndef ATOLL_OPENSCHEMA_H
#define ATOLL_OPENSCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

/* The message of a kind ("apps/v1", "Deployment"), built-in or Karmada;
 * -1 if the table does not describe it. *crd is set for Karmada's kinds. */
int openschema_kind_msg(const char *api_version, const char *kind, bool *crd);

/* Adds the schema of kind (and, for $ref'd messages, every definition it
 * reaches) to defs: components.schemas (v3) or definitions (v2). max_minor
 * 0: every field. Returns false if the table does not describe the kind. */
bool openschema_add_kind(cJSON *defs, const char *group, const char *version, const char *kind, int max_minor,
			 bool v3);

/* Kubernetes' definition name of a message ("io.k8s.api.core.v1.Service"). */
void openschema_def_name(int msg, char *buf, size_t len);

#endif
