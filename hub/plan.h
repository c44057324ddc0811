/* plan — the `atoll-hub plan` dry-run command.
 * Owns: reading Karmada manifests (Clusters with status, one
 * PropagationPolicy or ClusterPropagationPolicy, one workload, optionally a
 * ResourceBinding carrying the previous result), running the scheduler on
 * them and printing the placement as JSON. No hub, no store, no network. */
#ifndef ATOLL_PLAN_H
#define ATOLL_PLAN_H

/* argv[0] is "plan". Prints {"clusters":[{"name":..,"replicas":..}]} sorted
 * by name on stdout. Exit status: 0 scheduled, 1 unschedulable (message on
 * stderr), 2 bad usage or bad files. */
int plan_main(int argc, char **argv);

#endif
