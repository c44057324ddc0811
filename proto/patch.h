/* patch — applying PATCH request bodies to stored objects.
 * Owns: the Content-Type to patch type mapping, RFC 7386 merge patch,
 * RFC 6902 JSON patch, Kubernetes strategic merge patch (merge keys from
 * the schema table, proto/schema/k8s.schema, with a name-based fallback for
 * the kinds it lacks; the $-directives) and the manager-less apply used for
 * internal writes (requests with a fieldManager go through ssa.h).
 * Every function works on copies: inputs are never modified. Inputs are
 * untrusted: nesting deeper than JSON_MAX_DEPTH is refused with an error. */
#ifndef ATOLL_PATCH_H
#define ATOLL_PATCH_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "kinds.h"

enum patch_type { PATCH_MERGE, PATCH_JSON, PATCH_STRATEGIC, PATCH_APPLY };

/* Maps a Content-Type (parameters like ";charset=utf-8" ignored, case
 * insensitive) to a patch type; -1 if unsupported (answer 415). */
int patch_type_from_content_type(const char *ct);

/* Applies patch to a copy of target and returns the new document (caller
 * frees), or NULL with a human-readable message in err. The result is always
 * an object. kind may be NULL (custom kind). For PATCH_STRATEGIC kind selects
 * the merge keys; whether a custom kind may be strategically patched at all
 * (a real server answers 415) is the caller's decision. target may be NULL
 * only for PATCH_APPLY, which then returns the object to create. */
cJSON *patch_apply(enum patch_type t, const cJSON *target, const cJSON *patch,
		   const struct kind_info *kind, char *err, size_t errlen);

/* RFC 7386. target may be NULL. Returns NULL only when an input nests too
 * deeply (or on allocation failure). */
cJSON *patch_merge(const cJSON *target, const cJSON *patch);

/* RFC 6902: add, remove, replace, move, copy, test. JSON pointers use the
 * ~0 ~1 escapes and "-" appends to an array. */
cJSON *patch_json(const cJSON *target, const cJSON *ops, char *err, size_t errlen);

/* The value an RFC 6901 pointer names in doc ("" is doc itself), or NULL
 * when it names nothing or is malformed. Points into doc. */
cJSON *patch_pointer_get(const cJSON *doc, const char *pointer);

/* Kubernetes strategic merge patch. target may be NULL (treated as {}). */
cJSON *patch_strategic(const cJSON *target, const cJSON *patch, const struct kind_info *kind,
		       char *err, size_t errlen);

/* Server-side apply without field managers: live NULL returns the object to
 * create; otherwise applied merges into live (strategic for built-in kinds,
 * merge patch for custom ones). Absent fields survive; null deletes. */
cJSON *patch_server_side_apply(const cJSON *live, const cJSON *applied, const struct kind_info *kind,
			       char *err, size_t errlen);

#endif
