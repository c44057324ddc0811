/* kubelet — what a node's kubelet would report about a pod.
 * Owns: the status of a pod bound to a node while its containers start
 * (phase Pending, ContainerCreating) and once they run (phase Running,
 * Ready and ContainersReady True, containerStatuses ready with a running
 * state), the pod's QoS class, and the predicates controllers use: is a
 * pod active, ready, available (ready for minReadySeconds), running.
 * Pure functions: the caller passes the clock and the addresses. */
#ifndef ATOLL_SIM_KUBELET_H
#define ATOLL_SIM_KUBELET_H

#include <stdbool.h>
#include <time.h>
#include <cjson/cJSON.h>

/* Kubernetes' QoS class of a pod spec: Guaranteed, Burstable or BestEffort. */
const char *sim_pod_qos_class(const cJSON *pod);

/* status of a pod just bound to host_ip's node, containers being created. */
cJSON *sim_pod_status_pending(const cJSON *pod, const char *host_ip, time_t now);

/* status of the same pod with every container running and ready since now.
 * Keeps startTime and the PodScheduled condition of the current status. */
cJSON *sim_pod_status_running(const cJSON *pod, const char *host_ip, const char *pod_ip, time_t now);

/* Not terminal (Succeeded/Failed) and not being deleted. */
bool sim_pod_active(const cJSON *pod);
/* Condition Ready is True. */
bool sim_pod_ready(const cJSON *pod);
/* Ready, and has been for min_ready_seconds at now. */
bool sim_pod_available(const cJSON *pod, long min_ready_seconds, time_t now);
/* Phase Pending (or no phase) and bound to a node: waiting for the
 * simulated containers to start. */
bool sim_pod_starting(const cJSON *pod);

#endif
