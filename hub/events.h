/* events — Kubernetes v1 Events recorded by the hub's controllers.
 * Owns: the Event object (involvedObject with the object's current uid,
 * reason, message, type, source.component, first/last timestamps, count),
 * its deterministic name "<object name>.<16 hex digits>" derived from the
 * object's uid and the event's content, and the aggregation of repeats:
 * recording an identical event again bumps count and lastTimestamp on the
 * same Event. Every write goes through objects.h. */
#ifndef ATOLL_EVENTS_H
#define ATOLL_EVENTS_H

#include <stddef.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "objects.h"

enum event_mode {
	EVENT_BUMP = 0, /* create, or bump count of the identical event */
	EVENT_ONCE,     /* create only if no identical event exists yet */
};

/* "<name>.<hex>" for an event about obj. */
void events_name(const cJSON *obj, const char *type, const char *reason, const char *message,
		 const char *component, char *buf, size_t len);

/* The Event object for a first occurrence (count 1) at time now. Caller
 * frees. Namespaced objects get the event in their namespace, cluster-scoped
 * ones in "default", as Kubernetes does. */
cJSON *events_build(const cJSON *obj, const char *type, const char *reason, const char *message,
		    const char *component, time_t now);

/* Records an event about obj (a stored object: apiVersion, kind, metadata
 * name/namespace/uid). type is "Normal" or "Warning". Returns 0 on success
 * (including when EVENT_ONCE found it already), -1 on a write error. */
int events_record(struct obj_ctx *c, const cJSON *obj, const char *type, const char *reason, const char *message,
		  const char *component, enum event_mode mode, time_t now);

#endif
