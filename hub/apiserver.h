/* apiserver — the Kubernetes-compatible HTTP API over libevent.
 * Owns: routing of Kubernetes paths, discovery, /version, OpenAPI, list
 * (with selectors and server-side Tables), watch streams, request limits,
 * health endpoints and the mapping of errors to Status objects. Object
 * semantics live in objects.h; storage in store.h. The hub and the
 * member-cluster simulator both serve their API through this module. */
#ifndef ATOLL_APISERVER_H
#define ATOLL_APISERVER_H

#include <stdbool.h>
#include <event2/event.h>
#include <event2/http.h>

#include "loopturn.h"
#include "objects.h"
#include "store.h"

struct apiserver_config {
	const char *minor;       /* Kubernetes minor version reported by /version */
	const char *git_version; /* e.g. "v1.31.0" */
	const char *component;   /* "atoll-hub" or "atoll-sim", for logs */
	unsigned long max_body_bytes;
	unsigned long max_header_bytes;
	int request_timeout_s;   /* read/write timeout for a non-watch request */
	long long history;       /* revisions of change history kept for watches */
	int max_watches;         /* concurrent watch streams; more get 429 */
	bool member;             /* a member cluster (atoll-sim): no Karmada APIs; custom
				  * kinds only from CRDs in this server's own store */
	struct loopturn *turn;   /* the store's loop turn (loopturn.h), started by
				  * apiserver_new; NULL: the server makes its own */
};

struct apiserver;
struct api_dispatch; /* the dispatcher's view of a request (apiserver.c) */

/* One request and the server it came through: made by the dispatcher once
 * per request and passed to every handler and reply helper, so an answer
 * finds its server (and its loop turn) without a process-wide lookup. A
 * plain value: whoever answers after the handler returned (agent
 * long-polls, streams) keeps a copy; a server outlives its requests. */
struct api_req {
	struct apiserver *api;
	struct evhttp_request *req;
	/* Set by the dispatcher for the handler's call only (NULL in copies
	 * answered later): where api_send_reply leaves the answer it holds
	 * until the commit (for the access log and the request hook) and what
	 * the store had written when the request began (for a batch lost to
	 * another hub, store.h failed_commit). */
	struct api_dispatch *dispatch;
};

/* Extra routes: return true when the request was handled. */
typedef bool (*api_route_fn)(const struct api_req *rq, const char *path, void *ud);

struct apiserver *apiserver_new(struct event_base *base, struct store *st, const struct apiserver_config *cfg);
/* Binds "HOST:PORT" for plain HTTP. Returns the bound port or -1. */
int apiserver_listen_insecure(struct apiserver *a, const char *hostport, char *err, size_t errlen);
void apiserver_add_route(struct apiserver *a, const char *prefix, api_route_fn fn, void *ud);
struct obj_ctx *apiserver_objects(struct apiserver *a);
struct evhttp *apiserver_http(struct apiserver *a);
/* Ends every watch stream (shutdown). */
void apiserver_close_watches(struct apiserver *a);
void apiserver_free(struct apiserver *a);

/* What the dispatcher knows about a request it answered: given to the
 * request hook (metrics) after the handler returns, when the handler has
 * chosen a status code. Requests answered later (agent long-polls) are not
 * reported here; their handlers account for them. */
struct api_request_info {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* decoded path, no query */
	const char *verb;     /* Kubernetes verb (get, list, watch, create, update, patch, delete,
			       * deletecollection) or, off the resource paths, the lower-case method */
	const char *resource; /* plural ("/status", "/scale" appended for subresources), "unknown" for
			       * an unserved resource, else the route prefix or a path class:
			       * "/api" (discovery), "/openapi", "/version", "/healthz", "other" */
	int code;
	double seconds;       /* from dispatch to the handler's return */
};
typedef void (*api_request_hook)(const struct api_request_info *ri, void *ud);
void apiserver_set_request_hook(struct apiserver *a, api_request_hook fn, void *ud);
/* Open watch streams. */
int apiserver_watch_count(const struct apiserver *a);

/* Authorization, called for every request before routing (auth.h
 * implements it). attrs describe the request as Kubernetes' authorizers
 * see it. Return true to go on; false after answering (401/403). */
struct api_request_attrs {
	const char *method;         /* "GET", "POST", ... */
	const char *path;           /* decoded, no query */
	const struct api_path *res; /* parsed resource path; NULL for non-resource paths */
	const char *verb;           /* get, list, watch, create, update, patch, delete, deletecollection;
				     * the lower-case method for non-resource paths */
	const char *ns;             /* namespace ("" if none) */
};
typedef bool (*api_authorize_fn)(const struct api_req *rq, const struct api_request_attrs *attrs, void *ud);
void apiserver_set_authorizer(struct apiserver *a, api_authorize_fn fn, void *ud);
/* Another listener on "HOST:PORT" whose connections use bufferevents from
 * bevcb (HTTPS: tls_server_bevcb). Same handlers and limits as the
 * insecure one. Returns the bound port or -1. */
struct bufferevent;
int apiserver_listen_bev(struct apiserver *a, const char *hostport,
			 struct bufferevent *(*bevcb)(struct event_base *, void *), void *ud, char *err, size_t errlen);

/* Response helpers other modules' routes use. Every whole answer goes
 * through api_send_reply (the others call it). Group commit (store.h,
 * loopturn.h): writes of one event-loop turn share one commit. While a
 * batch is open, an answer may reflect writes that are not durable yet, so
 * api_send_reply holds it in the loop turn, which sends it after the commit
 * (as a 500 if the commit fails; on etcd it is sent as it is when all it
 * reflects was committed, or its request is run again once when the batch
 * lost to another hub: store.h failed_commit); watch events and other committed-subscriber
 * output are produced after the commit too. No module may call
 * evhttp_send_reply for a whole answer directly. */
void api_send_reply(const struct api_req *rq, int code, const char *reason, struct evbuffer *body);
void api_send_json(const struct api_req *rq, int code, const cJSON *body);
void api_send_error(const struct api_req *rq, const struct api_error *e, const struct kind_info *k);
/* A Status answer with a formatted message, for routes without a kind. */
void api_send_status(const struct api_req *rq, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Streams (watch, SSE) send store contents as chunks, which are not held:
 * their handlers call this first. If the store has uncommitted writes it
 * keeps the request and returns true; after the commit the request is
 * dispatched again from the top, on committed data. */
bool api_defer_until_committed(const struct api_req *rq);

/* Parsed resource path. */
struct api_path {
	char group[128], version[64], ns[254], resource[128], name[254], sub[32];
	bool is_core;
};
/* Parses /api/v1/... and /apis/g/v/... Returns 0, or -1 if not a resource path. */
int api_parse_path(const char *path, struct api_path *p);

#endif
