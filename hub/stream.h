/* stream — one long-lived HTTP response and its life cycle.
 * Owns: what every answer that outlives its request shares — the watch
 * streams (apiserver.c), the agents' long-polls (agentapi.c) and the /status
 * SSE feed (statusfeed.c): the connection's close callback (including
 * libevent's detached request, whose client went away: finishing it frees
 * it), the connection timeout while the answer is open, the cutoff of a
 * client too far behind, the heartbeat and the deadline. Its owners only
 * format payloads and keep their own index of open streams.
 *
 * Two modes:
 *   STREAM_CHUNKED  the answer is started at open (200, chunked; the owner
 *                   sets headers first) and continues with chunks until the
 *                   stream ends (watch, SSE);
 *   STREAM_HELD     nothing is sent until the owner releases the request
 *                   and answers it as a whole (long-poll).
 *
 * Ownership: the stream owns its request until it ends. When it ends, for
 * whatever reason, on_end is called exactly once (the owner unlinks and
 * frees its own state there; it must not call stream functions from it),
 * then the stream is freed. */
#ifndef ATOLL_STREAM_H
#define ATOLL_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/http.h>

#include "apiserver.h"

struct stream;

enum stream_mode { STREAM_CHUNKED, STREAM_HELD };

enum stream_end {
	STREAM_END_CLIENT,   /* the client went away */
	STREAM_END_SERVER,   /* stream_end (server-side timeout, shutdown, the owner's choice) */
	STREAM_END_DEADLINE, /* the deadline passed and no on_deadline was given */
	STREAM_END_BEHIND,   /* cut off: more than max_buffered bytes waiting to be sent */
	STREAM_END_RELEASED, /* stream_release: the owner answers the request itself */
};

typedef void (*stream_end_fn)(struct stream *s, enum stream_end why, void *ud);
/* The deadline passed: the owner ends or releases the stream here. */
typedef void (*stream_deadline_fn)(struct stream *s, void *ud);

struct stream_config {
	enum stream_mode mode;
	const char *name;          /* for logs: "watch", "status feed" */
	size_t max_buffered;       /* cutoff (see stream_behind); 0: none */
	int heartbeat_s;           /* CHUNKED: heartbeat every heartbeat_s seconds; 0: none */
	const char *heartbeat;     /* its bytes (whitespace, an SSE comment) */
	long deadline_s;           /* <0: none; 0: at once (from the loop) */
	int conn_timeout_s;        /* the connection's read/write timeout while open; 0: none */
	stream_end_fn on_end;      /* required */
	stream_deadline_fn on_deadline; /* NULL: the stream ends (STREAM_END_DEADLINE) */
	void *ud;
};

/* Takes the request over (keeping its context, rq->api may be NULL outside
 * an apiserver). CHUNKED: starts the 200 answer (set the headers before).
 * Returns NULL only when out of memory (req is then still the caller's). */
struct stream *stream_open(const struct api_req *rq, const struct stream_config *cfg);
struct evhttp_request *stream_request(const struct stream *s);
/* CHUNKED: one chunk (copied / drained from b). */
void stream_write(struct stream *s, const void *data, size_t len);
void stream_write_buffer(struct stream *s, struct evbuffer *b);
/* True if the client is more than max_buffered bytes behind: the stream
 * has then been cut off (logged, ended with STREAM_END_BEHIND, freed) and
 * must not be used again. Owners call it before each payload they send. */
bool stream_behind(struct stream *s);
/* Ends a CHUNKED stream cleanly (the last chunk); ends a HELD one with a
 * 503 answer. */
void stream_end(struct stream *s);
/* HELD: gives the request (its context, struct api_req) back to the owner,
 * who answers it as a whole (api_send_json, api_send_status) right away. */
struct api_req stream_release(struct stream *s);

#endif
