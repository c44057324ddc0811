/* endpoints — what a real cluster's endpoints and endpointslice
 * controllers make of a Service and its pods, and the pod IPs they list.
 * Owns: the per-member pod CIDR (10.<c>.0.0/16, c from the cluster name;
 * 10.<c>.<node>.<host> for a pod), the selector match, and the v1
 * Endpoints and discovery.k8s.io/v1 EndpointSlice of a Service built from
 * the pods matching its selector (ready and not-ready addresses, ports
 * with named targetPorts resolved, nodeName, zone from the node's
 * topology.kubernetes.io/zone label, targetRef). Pure functions; the
 * wiring to the store is in sim_controllers.c. */
#ifndef ATOLL_SIM_ENDPOINTS_H
#define ATOLL_SIM_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

/* Label value of endpointslice.kubernetes.io/managed-by on the slices the
 * simulator keeps (as the real endpointslice controller writes it). */
#define SIM_SLICE_MANAGER "endpointslice-controller.k8s.io"

/* Second octet of the cluster's pod CIDR 10.<n>.0.0/16: 100..227, from
 * the cluster name (so members of one fleet get distinct ranges). */
int sim_pod_cidr_octet(const char *cluster);
/* "10.<cidr>.<node % 256>.<host>" into buf; host is 2..254. */
const char *sim_pod_ip_at(const char *cluster, int node, int host, char *buf, size_t len);
/* Host part (2..254) of ip when ip lies in node's /24 of cluster's CIDR, else -1. */
int sim_pod_ip_host(const char *cluster, int node, const char *ip);

/* Whether labels match a Service's equality selector (a map). An empty or
 * absent selector matches nothing (such a Service has no managed endpoints). */
bool sim_selector_matches(const cJSON *selector, const cJSON *labels);

/* The v1 Endpoints (metadata.name = the Service's) and the EndpointSlice
 * "<svc>-sim" of svc from pods (any order; those not matching, without a
 * pod IP, or terminating are skipped) and nodes (Node objects, for the zone).
 * NULL when svc has no selector. */
cJSON *sim_endpoints_for(const cJSON *svc, const cJSON *pods);
cJSON *sim_endpointslice_for(const cJSON *svc, const cJSON *pods, const cJSON *nodes);

#endif
