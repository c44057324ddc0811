/* validate — create/update validation of objects, with Kubernetes-style
 * field errors.
 * Owns: the per-kind rules (required fields, enums, integer ranges, JSON
 * types, name formats), the DNS-1123 / label / config-key checks, and the
 * exact text kube-apiserver puts in Status.message for a 422 Invalid.
 * Objects are untrusted: wrong types, missing fields and huge values give
 * field errors, never crashes. Rules live in tables in validate.c. */
#ifndef ATOLL_VALIDATE_H
#define ATOLL_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "kinds.h"

#define VALIDATION_MAX_ERRS 16

/* One field error, as Kubernetes' field.Error.
 * reason: "FieldValueInvalid", "FieldValueRequired", "FieldValueNotSupported",
 *         "FieldValueDuplicate", "FieldValueTooLong" (StatusCause.reason).
 * field:  JSON path, "spec.template.spec.containers[0].image", "data[key]".
 * message: Kubernetes' text without the field, e.g.
 *         "Invalid value: -1: must be greater than or equal to 0". */
struct field_error {
	char reason[32];
	char field[256];
	char message[512];
};

/* The first VALIDATION_MAX_ERRS errors are kept; n counts all of them. */
struct validation {
	int n;
	struct field_error errs[VALIDATION_MAX_ERRS];
};

/* Validates obj (decoded JSON) of kind k on create/update. ns is the
 * namespace from the request path ("" for cluster-scoped or unknown).
 * Resets *out and returns out->n. Kinds without specific rules (and kinds
 * from CRDs) get the generic apiVersion/kind/metadata checks. */
int validate_object(const struct kind_info *k, const cJSON *obj, const char *ns,
		    struct validation *out);

/* validate_object, and on update what the schema table marks immutable
 * (a Deployment's spec.selector): a change from old (the stored object) is
 * "Invalid value: ...: field is immutable". */
int validate_update(const struct kind_info *k, const cJSON *old, const cJSON *obj, const char *ns,
		    struct validation *out);

/* Kubernetes' whole 422 message:
 *   Deployment.apps "hello" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0
 * With several distinct errors, as apimachinery's aggregate:
 *   Service "x" is invalid: [spec.ports[0].port: ..., spec.type: ...]
 * Always NUL-terminates buf (truncating when it is too small). */
void validation_message(const struct kind_info *k, const char *name,
			const struct validation *v, char *buf, size_t len);

/* ≤253 chars, dot-separated RFC 1123 labels (lowercase alnum and '-',
 * each starting and ending alphanumeric). */
bool is_dns1123_subdomain(const char *s);
/* ≤63 chars, lowercase alnum and '-', starts and ends alphanumeric. */
bool is_dns1123_label(const char *s);
/* ≤63 chars, a DNS-1123 label that starts with a letter (Service names). */
bool is_dns1035_label(const char *s);
/* [prefix/]name as label and annotation keys. */
bool is_qualified_name(const char *s);
/* "" or ≤63 chars of [-A-Za-z0-9_.] starting and ending alphanumeric. */
bool is_label_value(const char *s);
/* ConfigMap/Secret keys: [-._a-zA-Z0-9]+, ≤253, not "." / ".." / "..x". */
bool is_config_key(const char *s);

#endif
