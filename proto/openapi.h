/* openapi — the OpenAPI documents kubectl's validation asks for.
 * Owns: the hand-encoded gnostic openapi.v2.Document protobuf served at
 * /openapi/v2 and the small JSON documents served at /openapi/v3.
 * kubectl only needs to learn, per group/version/kind, that PATCH accepts
 * the fieldValidation query parameter; then it leaves validation to the
 * server. So each kind gets one path with one patch operation and nothing
 * else. Both documents follow the live kind registry, so CRD
 * kinds appear as soon as they are registered. */
#ifndef ATOLL_OPENAPI_H
#define ATOLL_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "kinds.h"

/* The version reported in info.version of both documents. */
#define OPENAPI_INFO_VERSION "v1.31.0"

/* Which kinds of the registry a server serves (NULL: all of them). */
typedef bool (*openapi_kind_filter)(const struct kind_info *k, void *ud);

/* GET /openapi/v2 (serve as application/octet-stream): one PATCH operation
 * for every kind in the registry that keep accepts, and the definitions
 * (schemas) the schema table has for them (kubectl explain with
 * --output=plaintext-openapiv2, kubectl 1.20). Returns a malloc'd
 * buffer and its length in *len, or NULL (and *len = 0) on allocation
 * failure. */
unsigned char *openapi_v2_protobuf(openapi_kind_filter keep, void *ud, size_t *len);

/* The same document for an explicit list of kinds; with_info adds
 * swagger "2.0" and info {title "Kubernetes", version OPENAPI_INFO_VERSION}.
 * Exposed for the unit test against the reference vector. */
unsigned char *openapi_v2_protobuf_for(const struct kind_info *const *kinds, int n,
				       bool with_info, size_t *len);

/* GET /openapi/v3: {"paths":{"api/v1":{"serverRelativeURL":
 * "/openapi/v3/api/v1?hash=H"},"apis/apps/v1":{...},...}} for every
 * group-version in the registry (of the kinds keep accepts). H changes when that group-version's kinds
 * change. Caller frees. */
cJSON *openapi_v3_index(openapi_kind_filter keep, void *ud);

/* GET /openapi/v3/<gv_path> where gv_path is "api/v1" or "apis/<g>/<v>"
 * (a leading '/' and a "?query" are ignored): an OpenAPI 3.0 document with a
 * patch operation per kind of that group-version, or NULL if no kind has
 * that group-version. Caller frees. */
cJSON *openapi_v3_group_version(const char *gv_path, openapi_kind_filter keep, void *ud);

/* The same with components.schemas holding the schema of each kind the
 * schema table describes (openschema.h), leaving out the fields that
 * appeared after Kubernetes 1.<max_minor> (0: none left out). */
cJSON *openapi_v3_group_version_at(const char *gv_path, openapi_kind_filter keep, void *ud, int max_minor);

/* GET /openapi/v2 as JSON (what a kube-apiserver answers to
 * Accept: application/json): swagger 2.0 with a patch path per kind and
 * "definitions" from the schema table, fields up to 1.<max_minor>. */
cJSON *openapi_v2_json(openapi_kind_filter keep, void *ud, int max_minor);

/* Whether a GET /openapi/v2 with this Accept header gets the JSON document:
 * it names application/json and no protobuf type. Without an Accept (or
 * with only * / *) the protobuf document is served, as kubectl expects. */
bool openapi_v2_wants_json(const char *accept);

#endif
