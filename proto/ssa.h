/* ssa — server-side apply's field management, as Kubernetes does it.
 * Owns: field sets (the paths an object sets, in Kubernetes' FieldsV1
 * form: "f:spec", "k:{\"name\":\"x\"}" for an item of a list that is a map,
 * "v:\"x\"" for an item of a set, "." for a node that is itself a member),
 * metadata.managedFields (one entry per manager, operation and
 * subresource), the apply merge, conflicts between managers and the removal
 * of fields an applier dropped from its configuration.
 * List semantics (atomic, set, map with keys) come from the schema table
 * (pbschema.h, proto/schema/k8s.schema) and, for custom kinds, from their
 * CRD's openAPIV3Schema (x-kubernetes-list-type, x-kubernetes-list-map-keys,
 * x-kubernetes-map-type; lists without a type are atomic). Karmada's kinds
 * read the table's JSON-only messages (karmada.schema): their own lists
 * are atomic, as Karmada's CRDs declare no list-type on them, while their
 * metadata (finalizers a set, ownerReferences keyed by uid) and
 * Kubernetes types they embed keep Kubernetes' semantics; labelSelector is
 * an atomic map, as the CRDs say. Inputs are never modified. */
#ifndef ATOLL_SSA_H
#define ATOLL_SSA_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "kinds.h"

#define SSA_MAX_MANAGER_LEN 128

/* Who writes: the fieldManager of a request. */
struct ssa_writer {
	const char *manager;     /* never NULL when a writer is given */
	bool apply;              /* operation Apply (else Update) */
	bool force;              /* apply: take the fields of other managers */
};

/* The field set of obj (FieldsV1 form, members marked "."): what obj sets,
 * without apiVersion, kind, the server-kept metadata fields and, when
 * strip_status, status. Caller frees. */
cJSON *ssa_fieldset(const struct kind_info *k, const cJSON *obj, bool strip_status);

/* A set as Kubernetes serializes fieldsV1 ("." only beside other members),
 * and back. Caller frees. */
cJSON *ssa_fieldset_to_v1(const cJSON *set);
cJSON *ssa_fieldset_from_v1(const cJSON *v1);

/* Set algebra on field sets (new trees; caller frees). */
cJSON *ssa_set_union(const cJSON *a, const cJSON *b);
cJSON *ssa_set_difference(const cJSON *a, const cJSON *b);
bool ssa_set_empty(const cJSON *s);

/* The members of set whose value differs between a and b (either may be
 * NULL). Caller frees. */
cJSON *ssa_changed(const cJSON *set, const cJSON *a, const cJSON *b);

/* Server-side apply of config by w->manager onto live (NULL: create).
 * Returns the new object, with metadata.managedFields updated, or NULL with
 * *code (400 bad configuration, 409 conflict) and a message in err; for 409,
 * *causes (caller frees) holds Kubernetes' FieldManagerConflict causes.
 * api_version and now fill the entry. strip_status: the kind has a status
 * subresource, whose fields the main resource neither sets nor owns. */
cJSON *ssa_apply(const struct kind_info *k, const cJSON *live, const cJSON *config, const struct ssa_writer *w,
		 const char *api_version, const char *now, bool strip_status, int *code, char *err, size_t errlen,
		 cJSON **causes);

/* Records an Update by manager (subresource "" or "status") from old (NULL:
 * create) to obj: sets obj's metadata.managedFields from old's, with the
 * manager owning what it added or changed and the others losing it. */
void ssa_record_update(const struct kind_info *k, const cJSON *old, cJSON *obj, const char *manager,
		       const char *subresource, const char *api_version, const char *now, bool strip_status);

/* The manager Kubernetes derives from a User-Agent when a request names
 * none: the part before the first '/', at most 128 bytes. */
void ssa_manager_from_user_agent(const char *ua, char *buf, size_t len);

#endif
