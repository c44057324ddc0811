/* meshreaderapi — the hub's side of the agent protocol's meshreader
 * operation (proto/meshreader.h, docs/protocol.md "Mesh reader").
 * Owns: validating a reported kubeconfig and keeping it on the hub. PUT stores the kubeconfig an agent reports for its cluster's remote
 * secret in Secret karmada-system/atoll-reader-<cluster>; DELETE removes
 * it. The kubeconfig is validated (a server and a token) and never logged
 * or echoed. */
#ifndef ATOLL_MESHREADERAPI_H
#define ATOLL_MESHREADERAPI_H

#include <event2/http.h>

#include "objects.h"

struct api_req; /* apiserver.h */

void meshreader_handle(struct obj_ctx *objs, const struct api_req *rq, const char *cluster);

#endif
