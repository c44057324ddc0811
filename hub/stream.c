#include "stream.h"

#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "apiserver.h"
#include "log.h"

struct stream {
	struct stream_config cfg;
	struct evhttp_request *req;
	struct apiserver *api;  /* req came through it (struct api_req) */
	struct evhttp_connection *conn;
	struct event *heartbeat;
	struct event *deadline;
};

static void stream_free(struct stream *s, enum stream_end why)
{
	if (s->heartbeat)
		event_free(s->heartbeat);
	if (s->deadline)
		event_free(s->deadline);
	s->cfg.on_end(s, why, s->cfg.ud);
	free(s);
}

static void on_conn_closed(struct evhttp_connection *conn, void *arg)
{
	struct stream *s = arg;
	struct evhttp_request *req = s->req;
	enum stream_mode mode = s->cfg.mode;
	stream_free(s, STREAM_END_CLIENT);
	/* libevent detaches (and no longer owns) a request whose client went
	 * away while its answer was open; finishing it frees it. */
	if (!evhttp_request_get_connection(req)) {
		if (mode == STREAM_CHUNKED)
			evhttp_send_reply_end(req);
		else
			evhttp_send_reply(req, 503, "Service Unavailable", NULL);
	}
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	if (stream_behind(s))
		return;
	stream_write(s, s->cfg.heartbeat, strlen(s->cfg.heartbeat));
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	if (s->cfg.on_deadline)
		s->cfg.on_deadline(s, s->cfg.ud);
	else if (s->cfg.mode == STREAM_CHUNKED) {
		evhttp_connection_set_closecb(s->conn, NULL, NULL);
		evhttp_send_reply_end(s->req);
		stream_free(s, STREAM_END_DEADLINE);
	} else {
		evhttp_connection_set_closecb(s->conn, NULL, NULL);
		api_send_status(&(struct api_req){s->api, s->req, NULL}, 504, "Timeout", "the answer did not come in time");
		stream_free(s, STREAM_END_DEADLINE);
	}
}

struct stream *stream_open(const struct api_req *rq, const struct stream_config *cfg)
{
	struct stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	struct evhttp_request *req = rq->req;
	s->cfg = *cfg;
	s->req = req;
	s->api = rq->api;
	s->conn = evhttp_request_get_connection(req);
	struct event_base *base = evhttp_connection_get_base(s->conn);
	if (cfg->mode == STREAM_CHUNKED)
		evhttp_send_reply_start(req, 200, "OK");
	evhttp_connection_set_closecb(s->conn, on_conn_closed, s);
	evhttp_connection_set_timeout(s->conn, cfg->conn_timeout_s);
	if (cfg->mode == STREAM_CHUNKED && cfg->heartbeat_s > 0 && cfg->heartbeat) {
		s->heartbeat = event_new(base, -1, EV_PERSIST, on_heartbeat, s);
		struct timeval hb = {cfg->heartbeat_s, 0};
		event_add(s->heartbeat, &hb);
	}
	if (cfg->deadline_s >= 0) {
		s->deadline = evtimer_new(base, on_deadline, s);
		struct timeval tv = {cfg->deadline_s, 0};
		evtimer_add(s->deadline, &tv);
	}
	return s;
}

struct evhttp_request *stream_request(const struct stream *s) { return s->req; }

void stream_write(struct stream *s, const void *data, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, data, len);
	evhttp_send_reply_chunk(s->req, b);
	evbuffer_free(b);
}

void stream_write_buffer(struct stream *s, struct evbuffer *b)
{
	evhttp_send_reply_chunk(s->req, b);
}

bool stream_behind(struct stream *s)
{
	if (!s->cfg.max_buffered)
		return false;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(s->conn);
	if (!bev || evbuffer_get_length(bufferevent_get_output(bev)) <= s->cfg.max_buffered)
		return false;
	log_warn("%s: cutting off a client more than %zu bytes behind", s->cfg.name ? s->cfg.name : "stream",
		 s->cfg.max_buffered);
	evhttp_connection_set_closecb(s->conn, NULL, NULL);
	if (s->cfg.mode == STREAM_CHUNKED)
		evhttp_send_reply_end(s->req);
	else
		evhttp_send_reply(s->req, 503, "Service Unavailable", NULL);
	stream_free(s, STREAM_END_BEHIND);
	return true;
}

void stream_end(struct stream *s)
{
	evhttp_connection_set_closecb(s->conn, NULL, NULL);
	if (s->cfg.mode == STREAM_CHUNKED)
		evhttp_send_reply_end(s->req);
	else
		api_send_status(&(struct api_req){s->api, s->req, NULL}, 503, "ServiceUnavailable", "the server is shutting down");
	stream_free(s, STREAM_END_SERVER);
}

struct api_req stream_release(struct stream *s)
{
	struct api_req rq = {s->api, s->req, NULL};
	evhttp_connection_set_closecb(s->conn, NULL, NULL);
	stream_free(s, STREAM_END_RELEASED);
	return rq;
}
