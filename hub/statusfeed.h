/* statusfeed — the hub's /status document, its live feed and /dashboard.
 * Owns: the status document (schema "atoll.status/v1", described in
 * docs/status.md) as a pure function of stored objects; GET /status;
 * GET /status?watch=true as Server-Sent Events (whole document per event,
 * coalesced, resumable with Last-Event-ID, slow readers cut off); and the
 * embedded dashboard page served at /dashboard. Authorization of these
 * paths is not decided here (see the auth module): they live under their
 * own paths so a read-only dashboard role can be given exactly them. */
#ifndef ATOLL_STATUSFEED_H
#define ATOLL_STATUSFEED_H

#include <stdbool.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "apiserver.h"
#include "store.h"

#define STATUS_SCHEMA_VERSION "atoll.status/v1"
#define STATUS_MAX_EVENTS 5            /* events kept per workload */
#define STATUS_LEASE_NAMESPACE "karmada-cluster"

/* The status document. Each argument is a JSON array of stored objects and
 * may be NULL (treated as empty): clusters = Cluster objects; leases =
 * Leases (only those in namespace karmada-cluster named after a cluster are
 * used); bindings = ResourceBindings and ClusterResourceBindings; events =
 * core/v1 Events (matched to workloads by involvedObject). revision is the
 * store revision the objects reflect; now is the clock for ages. No I/O, no
 * globals. Caller frees. */
cJSON *status_build(const cJSON *clusters, const cJSON *leases, const cJSON *bindings, const cJSON *events,
		    long long revision, time_t now);

/* A binding's state, one of "Pending" (not scheduled yet), "Unschedulable"
 * (Scheduled=False), "Applying" (scheduled, Works not all applied yet),
 * "Failed" (FullyApplied=False), "Progressing" (applied, fewer ready
 * replicas than desired) or "Ready". Also the "state" label of
 * atoll_hub_bindings. */
const char *status_binding_state(const cJSON *binding);
/* "True", "False" or "Unknown" (no Ready condition) for a Cluster. */
const char *status_cluster_ready(const cJSON *cluster);

/* Reads the four object lists from the store and builds the document. */
cJSON *status_build_from_store(struct store *st, time_t now);

struct statusfeed_config {
	int coalesce_ms;       /* at most one SSE update per window (default 100) */
	int keepalive_s;       /* comment line interval (default 15) */
	size_t max_buffered;   /* a reader further behind than this is cut off (default 8 MiB) */
	int max_clients;       /* concurrent SSE streams; more get 429 (default 1000) */
};

struct statusfeed;

/* Subscribes to the store and registers /status and /dashboard on api.
 * cfg may be NULL for the defaults. */
struct statusfeed *statusfeed_new(struct event_base *base, struct apiserver *api, struct store *st,
				  const struct statusfeed_config *cfg);
/* Ends every SSE stream (shutdown). */
void statusfeed_close(struct statusfeed *f);
void statusfeed_free(struct statusfeed *f);
/* Open SSE streams (for metrics). */
int statusfeed_clients(const struct statusfeed *f);

/* The embedded page (generated from hub/dashboard/index.html at build time). */
extern const unsigned char dashboard_html[];
extern const unsigned int dashboard_html_len;

#endif
