/* params — strict parsing of request parameters as kube-apiserver does it.
 * Owns: Go-compatible integer parsing (strconv.ParseInt/ParseUint with
 * their error texts), the boolean conversion Kubernetes applies to query
 * parameters, resourceVersion parsing, the field-selector fields each kind
 * supports, and the NUL checks of raw URLs. apiserver.c answers with the
 * messages written here. */
#ifndef ATOLL_PARAMS_H
#define ATOLL_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "kinds.h"

/* Go's strconv.ParseInt(s, 10, 64): an optional sign, then decimal digits
 * only (no blanks, no exponent, no hex). 0 on success; -1 with Go's message
 * in err: strconv.ParseInt: parsing "abc": invalid syntax (or: value out of
 * range). */
int param_int64(const char *s, long long *out, char *err, size_t errlen);
/* Go's strconv.ParseUint(s, 10, 64): digits only, no sign. Message as
 * above with strconv.ParseUint. */
int param_uint64(const char *s, unsigned long long *out, char *err, size_t errlen);

/* A boolean query parameter as Kubernetes converts it
 * (apimachinery runtime.Convert_Slice_string_To_bool): absent is false;
 * "0" and "false" in any case are false; any other value, even an empty
 * one, is true. Nothing is refused. */
bool param_kube_bool(const char *s);

/* resourceVersion of a list or watch: "" and "0" mean none (*rv = 0).
 * Otherwise a decimal uint64 that also fits a long long; -1 with
 * kube-apiserver's message ("invalid resource version: resourceVersion:
 * Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid
 * syntax") otherwise. */
int param_resource_version(const char *s, long long *rv, char *err, size_t errlen);

/* Whether kind k supports field (a field selector key), as kube-apiserver's
 * field label conversions decide; if not, false with its message: "field
 * label not supported: spec.x" for kinds with their own conversion (Pod,
 * Node, Event, Secret, ...), "\"spec.x\" is not a known field selector:
 * only \"metadata.name\", \"metadata.namespace\"" for the others. */
bool param_field_supported(const struct kind_info *k, const char *field, char *err, size_t errlen);

/* Go's %q of s (printable ASCII as is, \" \\ and \xNN escapes) into buf. */
const char *param_quote(const char *s, char *buf, size_t len);

/* True when a raw (still percent-encoded) URL part encodes a NUL (%00). */
bool params_has_nul_escape(const char *raw);

#endif
