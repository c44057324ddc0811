/* controllers — the simulated cluster's control loop.
 * Owns: the wiring of the pure controllers (sim_deployment.h,
 * sim_replicaset.h, sim_statefulset.h, sim_kubelet.h, sim_podtemplate.h)
 * to one cluster's store: a store subscriber that only marks namespaces
 * dirty, a deferred libevent callback that reconciles each dirty namespace
 * (garbage collection of ReplicaSets and pods whose owner is gone,
 * Deployments, ReplicaSets, StatefulSets and their claims, scheduling of
 * unbound pods, starting pods), and the per-pod timers that make a pod
 * Running and Ready after the ready delay, and the Events those
 * components would record. Every write goes through
 * objects.h, so resourceVersions, generation and watches behave exactly
 * as for a client's write. */
#ifndef ATOLL_SIM_CONTROLLERS_H
#define ATOLL_SIM_CONTROLLERS_H

#include <stdbool.h>
#include <event2/event.h>

#include "sim_nodes.h"
#include "objects.h"
#include "store.h"

struct sim_controllers;

/* Fault injection (see docs/simulator.md): a Deployment in the member
 * annotated with this key set to "true" reports no ready or available
 * replicas (Available=False) until the annotation goes. */
#define SIM_UNHEALTHY_ANNOTATION "sim.atoll.io/unhealthy"

/* Subscribes to st and schedules a first full reconcile. nodes is
 * borrowed for the life of the controllers. events: record v1 Events as
 * the Kubernetes components do (ScalingReplicaSet, SuccessfulCreate,
 * SuccessfulDelete, Scheduled, Pulled, Created, Started). */
struct sim_controllers *sim_controllers_new(struct event_base *base, struct store *st, struct obj_ctx *objs,
					    const struct sim_node_spec *nodes, long ready_delay_ms, bool events);
/* Number of reconcile passes run so far (tests, logs). */
unsigned long sim_controllers_passes(const struct sim_controllers *c);
void sim_controllers_free(struct sim_controllers *c);

#endif
