/* workevents — the agent protocol's WorkEvents answer (docs/protocol.md,
 * protocol.h proto_work_events_new/add) as text.
 * Owns: the answer's text it builds in the caller's evbuffer, nothing kept.
 * It is written around objects that are already JSON text: a Work's value
 * as the store holds it (compact
 * JSON, json_print) goes into the answer as it is, not parsed into a cJSON
 * tree and printed again per long-poll (issue 15: fan-out to 10,000
 * clusters). Pure: no I/O, no store. */
#ifndef ATOLL_WORKEVENTS_H
#define ATOLL_WORKEVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/buffer.h>

struct workevent_text {
	const char *type;   /* "ADDED", "MODIFIED", "DELETED" */
	const char *object; /* the object: one JSON value (a stored value) */
	size_t len;         /* its length */
};

/* Appends {"apiVersion","kind":"WorkEvents","revision","full","more",
 * "events":[{"type","object"}...]} to out: the same members, in the same
 * order, as proto_work_events_new + proto_work_events_add printed. */
void workevents_text(struct evbuffer *out, long long revision, bool full, bool more, const struct workevent_text *ev,
		     int n);

#endif
