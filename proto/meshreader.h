/* meshreader — the remote-secret reader shared by hub and agent (issue 13).
 * Owns: the names of the reader objects, the hub's copy and the protocol
 * operation, the kubeconfig's text and its hash. When a cluster is in a Mesh, the hub's Work atoll-mesh for it carries a
 * reader ServiceAccount istio-system/atoll-mesh-reader, the ClusterRole and
 * ClusterRoleBinding atoll-mesh-reader (Istio's istio-reader rights:
 * get/list/watch only) and the token Secret istio-system/atoll-mesh-reader-token
 * (kubernetes.io/service-account-token). The agent applies them, reads the
 * token the member's token controller puts in that Secret, and PUTs a
 * kubeconfig for its cluster (advertised server, CA, token) to
 * /apis/atoll.io/v1alpha1/clusters/<c>/meshreader. The hub keeps it in
 * Secret karmada-system/atoll-reader-<c>, labels the Work atoll-mesh with
 * the first 32 hex digits of its SHA-256 (so an agent knows whether the hub
 * holds its current kubeconfig), and delivers it to every other member as
 * istio-system/istio-remote-secret-<c>. The kubeconfig is a secret: never
 * logged, never in Events or status. */
#ifndef ATOLL_MESHREADER_H
#define ATOLL_MESHREADER_H

#include <stddef.h>

#define MESHREADER_NS "istio-system"
#define MESHREADER_SA "atoll-mesh-reader"
#define MESHREADER_TOKEN_SECRET "atoll-mesh-reader-token"
#define MESHREADER_ROLE "atoll-mesh-reader"
#define MESHREADER_HASH_LABEL "mesh.atoll.io/reader-kubeconfig"
#define MESHREADER_HUB_SECRET_PREFIX "atoll-reader-"
#define MESHREADER_OP "meshreader"
#define MESHREADER_KIND "MeshReader"
#define MESHREADER_MAX_BYTES (64 * 1024)

/* out gets the first 32 hex digits of SHA-256(kubeconfig) (33 bytes). */
void meshreader_hash(const char *kubeconfig, char out[33]);

/* The kubeconfig istioctl create-remote-secret writes: cluster, context
 * and user all named cluster; ca_pem may be NULL or "" (no CA). malloc'd. */
char *meshreader_kubeconfig(const char *cluster, const char *server, const char *ca_pem, size_t ca_len,
			    const char *token);

#endif
