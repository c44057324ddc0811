/* sim_skew — a simulated member on an older Kubernetes version.
 * Owns: with --kubernetes-version, what that version's API server publishes
 * and refuses: /openapi/v2 as JSON (when JSON is asked for) and
 * /openapi/v3 (404 before 1.24, where it is not served) holding only the
 * fields the schema table says existed in that version; and server-side
 * apply of an object with a field the version does not know, refused as
 * kube-apiserver refuses it: 500 "failed to create typed patch object:
 * .spec.x: field not declared in schema". */
#ifndef ATOLL_SIM_SKEW_H
#define ATOLL_SIM_SKEW_H

#include "apiserver.h"

struct sim_skew;

/* Registers the routes on api for Kubernetes 1.<minor>. */
struct sim_skew *sim_skew_attach(struct apiserver *api, int minor);
void sim_skew_free(struct sim_skew *s);

/* The first field of obj (an apply body) that Kubernetes 1.<minor> does
 * not know, written to path (e.g. ".spec.internalTrafficPolicy"); false if
 * there is none or the kind is not in the schema table. */
bool sim_skew_unknown_field(int minor, const cJSON *obj, char *path, size_t len);

#endif
