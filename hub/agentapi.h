/* agentapi — the hub's side of the hub <-> agent protocol (proto/protocol.h,
 * docs/protocol.md): it translates the protocol and nothing more.
 * Owns: the protocol's routes — registration (stored as the Cluster
 * object, syncMode Pull), heartbeats (handed to ctl_cluster, which owns the
 * cluster life cycle: the Lease, the Ready condition, Karmada's taints and
 * the cluster monitor), the long-poll of a cluster's Works (waiters woken
 * by store changes, never blocking the event loop) and batched Work status
 * reports. Every write goes through objclient.h. */
#ifndef ATOLL_AGENTAPI_H
#define ATOLL_AGENTAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>
#include <event2/http.h>

#include "apiserver.h"
#include "store.h"

struct agentapi_config {
	int monitor_period_ms; /* how often Leases are checked (default 5000) */
	int startup_grace_s;   /* after the hub starts, a cluster gets this long to renew (default 60) */
	/* Karmada's cluster-monitor-grace-period: a cluster not heard from this
	 * long becomes Ready=Unknown, one not healthy this long Ready=False.
	 * 0: the Lease duration the agent asks for (40 s by default). */
	long long grace_ms;
};

struct agentapi;

/* Registers the protocol routes on api and subscribes to st. cfg may be NULL. */
struct agentapi *agentapi_new(struct event_base *base, struct apiserver *api, struct store *st,
			      const struct agentapi_config *cfg);
/* Answers pending long-polls and frees everything. Call before apiserver_free. */
void agentapi_free(struct agentapi *aa);

/* Authorization hook (join tokens / client certificates, issue 5): called
 * for every protocol request with the cluster named in the path. Return 0
 * to allow, or an HTTP code (401, 403) with a message. */
typedef int (*agentapi_authz_fn)(struct evhttp_request *req, const char *cluster, char *msg, size_t msglen, void *ud);
void agentapi_set_authorizer(struct agentapi *aa, agentapi_authz_fn fn, void *ud);

/* Whether the cluster monitor may write (mark clusters Unknown and taint
 * them): only in the leading hub when several share a store. It keeps
 * observing Lease renewals either way. Default on. */
void agentapi_set_monitoring(struct agentapi *aa, bool on);

/* Number of long-polls waiting (metrics, tests). */
int agentapi_waiting(struct agentapi *aa);

#endif
