/* watch — the member's discovery and the watches of owned objects.
 * Owns: discovery documents (struct gv), served kinds (struct gvr) and
 * their watches, the index of owned objects, the namespaces known to
 * exist, and the saved state (watch_state_save/watch_state_load). It reports to
 * works.c only through ag->reports (agent.h) and calls memberapi.h and
 * retry.h below it. */
#ifndef ATOLL_AGENT_WATCH_H
#define ATOLL_AGENT_WATCH_H

#include "agent.h"

struct gv *watch_gv_find(struct agent *ag, const char *group, const char *version);
struct gv *watch_gv_store(struct agent *ag, const char *group, const char *version, const cJSON *list);
/* Drops a discovery document (a kind may have been added since: CRDs). */
void watch_gv_forget(struct agent *ag, struct gv *gv);
/* The resource of a kind in a loaded discovery document (NULL: none). */
struct gvr *watch_gvr_for_kind(struct agent *ag, struct gv *gv, const char *kind);
struct gvr *watch_gvr_add(struct agent *ag, const char *group, const char *version, const char *kind, const char *resource,
		    bool namespaced);
bool watch_gvrs_synced(struct agent *ag);
struct owned *watch_owned_find(struct gvr *g, const char *ns, const char *name);
void watch_free_all(struct agent *ag);
/* The member answers again: the watches of owned objects restart now. */
void watch_member_back(struct agent *ag);
void watch_state_save(struct agent *ag);
void watch_state_load(struct agent *ag);
/* "/apis/g/v" or "/api/v1" (+ "/namespaces/ns" + "/resource" + "/name"). */
void watch_gvr_path(const struct gvr *g, const char *ns, const char *name, char *buf, size_t len);
bool watch_ns_known(struct agent *ag, const char *ns);
void watch_ns_remember(struct agent *ag, const char *ns);

#endif
