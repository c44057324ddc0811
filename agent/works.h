/* works — the Works assigned to the member and their manifests.
 * Owns: the Works and slots (apply with server-side apply, take-over
 * rules, deletion of what is no longer assigned, release on
 * preserveResourcesOnDeletion), the apply queue, and works_reports, the
 * interface by which hubclient.c and watch.c report to it (agent.h). It
 * sits above hubclient.c and watch.c and calls them directly. */
#ifndef ATOLL_AGENT_WORKS_H
#define ATOLL_AGENT_WORKS_H

#include "agent.h"

/* What main.c puts in ag->reports. */
extern const struct agent_reports works_reports;

void works_apply_events(struct agent *ag, const cJSON *events, bool full);
void works_dispatch(struct agent *ag);
void works_gc_schedule(struct agent *ag);
void works_free(struct agent *ag);
struct work *works_find(struct agent *ag, const char *name);
void works_slot_queue(struct slot *s);
/* The slot's reported status changed (its Work is reported again). */
void works_slot_status_changed(struct slot *s);
/* Builds the status report entry of a Work; false if not all manifests
 * have been attempted for its generation. */
bool works_status_of(struct work *w, struct proto_work_status *out);
/* A member object of an owned kind changed (obj NULL: deleted, then id given). */
void works_member_event(struct agent *ag, struct gvr *g, const char *type, const cJSON *obj);
void works_member_deleted(struct agent *ag, struct gvr *g, const char *ns, const char *name, const char *work_name);
/* The member answers again after refusing connections: what waited for it
 * (applies, deletions) is retried now, with its backoff reset. */
void works_member_back(struct agent *ag);

#endif
