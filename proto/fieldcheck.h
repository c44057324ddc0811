/* fieldcheck — Kubernetes' field validation (the fieldValidation query
 * parameter) driven by the schema table (proto/schema/k8s.schema and karmada.schema) and, for
 * kinds from CustomResourceDefinitions, by their structural openAPIV3Schema.
 * Owns: finding unknown and duplicated JSON fields in a request body, the
 * Strict/Warn/Ignore modes, dropping unknown fields (as kube-apiserver's
 * decoding does for built-in kinds and its pruning by the structural schema
 * for custom kinds, unless x-kubernetes-preserve-unknown-fields), and the
 * registry of CRD schemas.
 * Kinds with neither a table entry nor a CRD schema are not checked. */
#ifndef ATOLL_FIELDCHECK_H
#define ATOLL_FIELDCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

enum fc_mode { FC_WARN = 0, FC_IGNORE, FC_STRICT };

/* The fieldValidation parameter: NULL or "" is Warn (the server's default).
 * Returns -1 for any other value than Ignore, Warn or Strict. */
int fieldcheck_mode(const char *param, enum fc_mode *out);

#define FC_MAX_ISSUES 64

/* What a check found: texts like `unknown field "spec.replcias"` and
 * `duplicate field "spec.replicas"`, in document order; n counts all
 * (only the first FC_MAX_ISSUES are kept). */
struct fc_result {
	int n;
	char *issue[FC_MAX_ISSUES];
};
void fc_result_free(struct fc_result *r);

/* Body kinds: a whole object (create, update) or a patch: merge, strategic
 * merge or apply patch ("$"-prefixed directive keys are skipped), or a JSON
 * patch (an array: each add/replace operation's path and value are
 * checked; one whose path names an unknown field is removed). */
enum fc_body { FC_OBJECT, FC_PATCH };

/* Checks body, an object of group/version/kind (api_version "apps/v1" or
 * "v1"). Duplicate keys are reported and all but the last are removed
 * (the last one wins, as in Kubernetes). Unknown fields are reported and
 * removed from body, as Kubernetes drops what its Go types (built-in
 * kinds) or structural schemas (custom kinds) do not have. Returns r->n. */
int fieldcheck_body(const char *api_version, const char *kind, cJSON *body, enum fc_body how,
		    struct fc_result *r);

/* Whether a kind has a schema here (table or registered CRD). */
bool fieldcheck_knows(const char *api_version, const char *kind);

/* The message for a Strict refusal (400 BadRequest):
 *   Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.x", ...
 * Always NUL-terminates buf. */
void fieldcheck_strict_message(const char *kind, const char *version, const struct fc_result *r, char *buf,
			       size_t len);

/* CRD schemas: every served version's openAPIV3Schema (copied). */
void fieldcheck_register_crd(const cJSON *crd);
void fieldcheck_unregister_crd(const char *crd_name);
/* A copy of the openAPIV3Schema of a registered custom kind ("example.com/v1",
 * "Foo"), or NULL; the caller deletes it. */
cJSON *fieldcheck_crd_schema(const char *api_version, const char *kind);
void fieldcheck_shutdown(void);

#endif
