/* hubclient — the agent's side of the protocol towards the hub.
 * Owns: registration, heartbeats (member health, version, node and
 * resource summary), the long-poll of Works and batched status reports,
 * and the hub's address in use. It reports to works.c only through
 * ag->reports (agent.h) and calls memberapi.h and retry.h below it. */
#ifndef ATOLL_AGENT_HUBCLIENT_H
#define ATOLL_AGENT_HUBCLIENT_H

#include "agent.h"

void hub_start(struct agent *ag);
void hub_stop(struct agent *ag);
/* A Work's status changed: a report is sent soon (debounced). */
void hub_status_dirty(struct agent *ag);
/* A request to the hub (small JSON body); cleanup may be NULL. */
struct http_call *hub_call(struct agent *ag, const char *method, const char *path, const cJSON *body,
			   long timeout_ms, http_done_fn done, http_cleanup_fn cleanup, void *ud);
/* The same with the body as text (JSON). Every request to the hub goes
 * through one of these: they share the agent's one connection with the
 * long-poll, which they end when it is held (hubclient.c). */
struct http_call *hub_call_text(struct agent *ag, const char *method, const char *path, const char *body,
				long timeout_ms, http_done_fn done, http_cleanup_fn cleanup, void *ud);

#endif
