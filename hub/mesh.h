/* mesh — the hub's Mesh controller (mesh.atoll.io/v1alpha1 Mesh): wires the
 * member clusters into an Istio multi-primary, multi-network mesh.
 * Owns: which clusters each Mesh takes (names, a label selector, or all;
 * the oldest Mesh keeps a cluster two claim), each cluster's network, the
 * mesh PKI (meshpki.h) kept in Secrets karmada-system/atoll-mesh-<mesh>-ca
 * (the root) and atoll-mesh-<mesh>-ca-<cluster> (each intermediate),
 * renewing intermediates at 2/3 of their lifetime, and per cluster the
 * Works atoll-mesh (Namespace istio-system labelled with the
 * network, Secret cacerts, ConfigMap atoll-mesh-values, the east-west
 * gateway, the remote-secret reader and istio-remote-secret-<other> for
 * every other member whose agent reported its reader: meshreader.h) and atoll-mesh-gateway (the cross-network Gateway) in
 * karmada-es-<cluster>, plus the Mesh's status. A Mesh with unknown
 * clusters, a conflict or a bad network gets Ready=False and nothing new
 * is applied. Private keys are only ever in those Secrets/Works: never
 * logged, never in Events or status. */
#ifndef ATOLL_MESH_H
#define ATOLL_MESH_H

#include <event2/event.h>

#include "objects.h"
#include "store.h"

struct mesh_ctl;

struct mesh_ctl *mesh_start(struct event_base *base, struct store *st, struct obj_ctx *objs);
void mesh_stop(struct mesh_ctl *m);
/* One reconciliation pass now (tests). */
void mesh_reconcile(struct mesh_ctl *m);

/* atoll-hub mesh ... (values). */
int mesh_main(int argc, char **argv);

#define MESH_LABEL "mesh.atoll.io/mesh"
#define MESH_CLUSTER_LABEL "mesh.atoll.io/cluster"
#define MESH_VALUES_CONFIGMAP "atoll-mesh-values"
#define MESH_DEFAULT_ISTIO "1.14.1"

#endif
