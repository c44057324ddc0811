/* hubmetrics — the hub's Prometheus metrics and its /metrics endpoint.
 * Owns: the hub's metric registry (one per process), the names and labels
 * of every hub metric (listed in docs/status.md), the per-request hook the
 * API server calls, and the scrape-time collector that counts clusters,
 * bindings and Works from the store. Controllers report what only they
 * know (scheduling latency) through the functions below; they are cheap,
 * thread-safe and do nothing before hubmetrics_init. */
#ifndef ATOLL_HUBMETRICS_H
#define ATOLL_HUBMETRICS_H

#include <stdbool.h>

#include "metrics.h"
#include "store.h"

struct apiserver;
struct statusfeed;

/* Creates the registry and subscribes to st (status-aggregation lag). */
void hubmetrics_init(struct store *st);
/* Registers GET /metrics on api and the API server's request hook; feed
 * (may be NULL) is counted as open status streams. */
void hubmetrics_register(struct apiserver *api, struct statusfeed *feed);
void hubmetrics_shutdown(void);
struct metrics_registry *hubmetrics_registry(void);

/* One finished API request. verb: Kubernetes verb (get, list, watch,
 * create, update, patch, delete, deletecollection) for resource requests,
 * else the lower-case HTTP method; resource: the plural (with "/status" or
 * "/scale" for subresources) or, for other paths, a fixed path class
 * ("/status", "/metrics", "/dashboard", "/healthz", "/version", "/openapi",
 * "/api" for discovery, "other"). */
void hubmetrics_request(const char *verb, const char *resource, int code, double seconds);

/* Open streams by kind: "watch" (Kubernetes watches), "longpoll" (agent
 * long-polls, reported by the agent API), "status" (SSE /status feeds). */
void hubmetrics_streams_add(const char *kind, int delta);

/* One agent status report held behind a fan-out (agentapi.c). */
void hubmetrics_report_held(void);

/* Scheduling latency of one binding: from the controller finding that it
 * needs scheduling (the schedule() call) to the schedule result being
 * stored in its spec. Called by the controllers. */
void hubmetrics_observe_scheduling(double seconds);

#endif
