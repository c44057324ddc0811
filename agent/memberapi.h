/* memberapi — the agent's calls to the member's Kubernetes API.
 * Owns: starting a request on the member (ag->member, with small JSON
 * bodies) and the message of an answer (a Status's message, the transport
 * error, or "HTTP <code>"), for the hub's answers too. Below hubclient.c,
 * works.c and watch.c; it calls none of them. */
#ifndef ATOLL_AGENT_MEMBERAPI_H
#define ATOLL_AGENT_MEMBERAPI_H

#include "agent.h"

/* A request to the member; cleanup may be NULL. */
struct http_call *member_call(struct agent *ag, const char *method, const char *path, const char *ctype,
			      const char *body, long timeout_ms, http_done_fn done, http_cleanup_fn cleanup, void *ud);
/* The message of a Status body, or a short description of the response. */
const char *member_response_message(const struct http_response *r, char *buf, size_t len);

#endif
