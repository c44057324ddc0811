#include "apiserver.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include "fieldhttp.h"
#include "jsonutil.h"
#include "listenguard.h"
#include "log.h"
#include "openapi.h"
#include "params.h"
#include "patch.h"
#include "pbhttp.h"
#include "selector.h"
#include "ssa.h"
#include "stream.h"
#include "table.h"
#include "yamljson.h"

#define MAX_ROUTES 16
#define LOOPTURN_YIELDS 4 /* see loopturn_set_yield */
#define WATCH_MAX_BUFFERED (16u << 20) /* a watcher further behind than this is cut off */
#define WATCH_HEARTBEAT_S 10
#define WATCH_MAX_TIMEOUT_S (366 * 86400) /* timeoutSeconds beyond a year: a year */
#define RV_WAIT_MS 3000       /* kube-apiserver's blockTimeout for a resourceVersion ahead of it */
#define RV_WAIT_TICK_MS 50
/* libevent's limit on the request line plus headers: room for the longest
 * selector percent-encoded, so that our own limits (the selector's, the
 * headers' in request_headers_fit) answer with a Status object rather than
 * libevent with an HTML page. */
#define REQUEST_LINE_ROOM (3u * SELECTOR_MAX_LEN + 4096u)

struct watcher {
	struct apiserver *srv;
	struct stream *s;       /* its response (stream.h) */
	struct evhttp_request *req;
	const struct kind_info *k;
	char prefix[600];
	struct label_selector *ls;
	struct field_selector *fs;
	bool table;
	bool proto;             /* length-prefixed protobuf frames (pbhttp) */
	bool unencodable;       /* an event protobuf cannot carry: end the stream */
	bool columns_sent;
	struct watcher *next, *prev;
};

struct route {
	char prefix[64];
	api_route_fn fn;
	void *ud;
};

struct apiserver {
	struct event_base *base;
	struct evhttp *http;
	struct store *store;
	struct obj_ctx objects;
	struct apiserver_config cfg;
	struct watcher *watchers;
	int nwatchers;
	struct route routes[MAX_ROUTES];
	int nroutes;
	api_request_hook hook;
	void *hook_ud;
	api_authorize_fn authz;   /* before routing (auth.h) */
	void *authz_ud;
	struct evhttp *extra[4];  /* listeners with their own bufferevents (TLS) */
	int nextra;
	unsigned long writes_since_compact;
	/* Group commit (loopturn.h): answers given while the store has an
	 * open batch wait in the turn until its commit has made it durable. */
	struct loopturn *turn;
	bool own_turn;
	struct event *crd_resync_ev; /* after a rollback: kinds from the stored CRDs */
	struct pbcache *pbcache;     /* encoded protobuf items (pbhttp) */
	struct rv_wait *rv_waits;       /* requests for a revision not reached yet */
	struct redo *redo;              /* requests being run again after a lost batch (held_send) */
	struct apiserver *next_api;
};

/* A whole answer waiting for the commit of what it may have read. */
struct api_held {
	struct apiserver *a;
	struct evhttp_request *req;
	int code;
	struct evbuffer *body;
	bool report;                 /* for the request hook, at send time */
	const char *method;
	char *path;
	char verb[32], res[200];
	struct timespec t0;
	/* What it may reflect (store.h written/failed_commit): writes up to
	 * upto; its request's own writes are above lo (-1: not known, the
	 * answer came outside its dispatch). */
	long long lo, upto;
	bool redone; /* its request already ran again once */
};

/* What the dispatcher knows of a request while its handler runs
 * (api_req.dispatch; NULL for answers sent later). */
struct api_dispatch {
	struct api_held *held; /* its answer, if api_send_reply held it */
	long long lo;          /* the store's newest own write when it began (store.h written) */
};

/* A request run again from the top after its batch lost to another
 * writer (held_send). */
struct redo {
	struct apiserver *a;
	struct evhttp_request *req;
	struct redo *next;
	bool running; /* dispatched; its answer not given yet */
};

/* A stream to start (again, from the top) on committed data. */
struct deferred {
	struct apiserver *a;
	struct evhttp_request *req;
};

static void held_send(void *ud, bool committed);
static void deferred_run(void *ud, bool ok);

/* Every apiserver of the process (atoll-sim has one per cluster). Only for
 * what is process-wide: the registry of custom kinds is shared by all of
 * them, so a CRD resync after a rollback (on_crd_resync) looks at every
 * server's store and watches. A request's server comes with the request
 * (struct api_req), never from this list. */
static struct apiserver *all_apis;

/* ---- small helpers ---------------------------------------------------- */

static void set_header(struct evhttp_request *req, const char *k, const char *v)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_remove_header(h, k);
	evhttp_add_header(h, k, v);
}

static const char *reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

/* Forgets req as run again (its answer is being given); true if it was. */
static bool redo_take(struct apiserver *a, struct evhttp_request *req)
{
	for (struct redo **p = &a->redo; *p; p = &(*p)->next)
		if ((*p)->req == req && (*p)->running) {
			struct redo *r = *p;
			*p = r->next;
			free(r);
			return true;
		}
	return false;
}

/* Every whole answer goes through here: while the store has uncommitted
 * writes, whatever the answer says may depend on them, so it is held
 * until the loop turn's commit (loopturn.h; and becomes a 500 if the commit fails). */
void api_send_reply(const struct api_req *rq, int code, const char *reason, struct evbuffer *body)
{
	struct evhttp_request *req = rq->req;
	struct apiserver *a = rq->api;
	/* A request whose client went away (detached, no connection) is
	 * finished at once: sending frees it. */
	if (!a || !evhttp_request_get_connection(req) || !loopturn_uncommitted(a->turn)) {
		if (a)
			redo_take(a, req);
		evhttp_send_reply(req, code, reason, body);
		return;
	}
	struct api_held *h = calloc(1, sizeof *h);
	h->a = a;
	h->req = req;
	h->code = code;
	h->upto = a->store->written ? a->store->written(a->store) : 0;
	h->lo = rq->dispatch ? rq->dispatch->lo : -1;
	h->redone = redo_take(a, req);
	h->body = evbuffer_new();
	if (body)
		evbuffer_add_buffer(h->body, body);
	if (rq->dispatch)
		rq->dispatch->held = h;
	loopturn_hold(a->turn, held_send, h);
}

bool api_defer_until_committed(const struct api_req *rq)
{
	struct evhttp_request *req = rq->req;
	struct apiserver *a = rq->api;
	if (!a || !evhttp_request_get_connection(req) || !loopturn_uncommitted(a->turn))
		return false;
	struct deferred *d = calloc(1, sizeof *d);
	if (!d)
		return false;
	d->a = a;
	d->req = req;
	loopturn_defer(a->turn, deferred_run, d);
	return true;
}

static void send_raw(const struct api_req *rq, int code, const char *ctype, const void *data, size_t len)
{
	struct evhttp_request *req = rq->req;
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, data, len);
	set_header(req, "Content-Type", ctype);
	set_header(req, "Cache-Control", "no-cache, private");
	api_send_reply(rq, code, reason_phrase(code), b);
	evbuffer_free(b);
}

void api_send_json(const struct api_req *rq, int code, const cJSON *body)
{
	char *s = json_print(body);
	send_raw(rq, code, "application/json", s, strlen(s));
	free(s);
}

void api_send_error(const struct api_req *rq, const struct api_error *e, const struct kind_info *k)
{
	cJSON *st = api_error_status(e, k);
	api_send_json(rq, e->code, st);
	cJSON_Delete(st);
}

void api_send_status(const struct api_req *rq, int code, const char *reason, const char *fmt, ...)
{
	struct api_error e = {0};
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	api_error_set(&e, code, reason, "%s", msg);
	api_send_error(rq, &e, NULL);
	api_error_clear(&e);
}

static void send_status(const struct api_req *rq, int code, const char *reason, const char *msg)
{
	struct api_error e = {0};
	api_error_set(&e, code, reason, "%s", msg);
	api_send_error(rq, &e, NULL);
}

static const char *query(struct evkeyvalq *q, const char *k)
{
	return evhttp_find_header(q, k);
}

static bool query_bool(struct evkeyvalq *q, const char *k)
{
	return param_kube_bool(query(q, k)); /* watch=True (python) is a watch */
}

static bool wants_table(struct evhttp_request *req)
{
	const char *acc = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
	return acc && strstr(acc, "as=Table");
}

/* ---- paths -------------------------------------------------------------- */

static int copy_seg(char *dst, size_t n, const char *s, size_t len)
{
	if (len == 0 || len >= n)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int api_parse_path(const char *path, struct api_path *p)
{
	memset(p, 0, sizeof *p);
	const char *segs[10];
	size_t lens[10];
	int n = 0;
	const char *s = path;
	while (*s == '/')
		s++;
	while (*s && n < 10) {
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		segs[n] = s;
		lens[n] = len;
		n++;
		s += len;
		while (*s == '/')
			s++;
	}
	if (*s)
		return -1;
	int i;
	if (n >= 2 && lens[0] == 3 && strncmp(segs[0], "api", 3) == 0) {
		p->is_core = true;
		if (copy_seg(p->version, sizeof p->version, segs[1], lens[1]) < 0)
			return -1;
		i = 2;
	} else if (n >= 3 && lens[0] == 4 && strncmp(segs[0], "apis", 4) == 0) {
		if (copy_seg(p->group, sizeof p->group, segs[1], lens[1]) < 0 ||
		    copy_seg(p->version, sizeof p->version, segs[2], lens[2]) < 0)
			return -1;
		i = 3;
	} else {
		return -1;
	}
	int rest = n - i;
	if (rest <= 0)
		return -1;
	/* namespaces/{ns}/{resource}[/{name}[/{sub}]] */
	if (rest >= 3 && lens[i] == 10 && strncmp(segs[i], "namespaces", 10) == 0) {
		if (copy_seg(p->ns, sizeof p->ns, segs[i + 1], lens[i + 1]) < 0)
			return -1;
		char third[64] = "";
		copy_seg(third, sizeof third, segs[i + 2], lens[i + 2]);
		if (p->is_core && (strcmp(third, "status") == 0 || strcmp(third, "finalize") == 0) && rest == 3) {
			snprintf(p->resource, sizeof p->resource, "%s", "namespaces");
			snprintf(p->name, sizeof p->name, "%s", p->ns);
			p->ns[0] = '\0';
			snprintf(p->sub, sizeof p->sub, "%s", third);
			return 0;
		}
		i += 2;
		rest -= 2;
	}
	if (copy_seg(p->resource, sizeof p->resource, segs[i], lens[i]) < 0)
		return -1;
	if (rest >= 2 && copy_seg(p->name, sizeof p->name, segs[i + 1], lens[i + 1]) < 0)
		return -1;
	if (rest >= 3 && copy_seg(p->sub, sizeof p->sub, segs[i + 2], lens[i + 2]) < 0)
		return -1;
	if (rest > 3)
		return -1;
	return 0;
}

/* ---- discovery ------------------------------------------------------------ */

static cJSON *str_array(const char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; v[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static const char *const all_verbs[] = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL};
static const char *const sub_verbs[] = {"get", "patch", "update", NULL};

/* A member cluster's API server (atoll-sim) serves what a plain
 * Kubernetes API server would: not Karmada's groups, and a custom kind only
 * when its own store holds the CRD (simulators in one process share the
 * kind registry). */
/* Whether st holds the CustomResourceDefinition named crd_name (plural.group). */
static bool crd_in_store(struct store *st, const char *crd_name)
{
	char key[600];
	snprintf(key, sizeof key, "apiextensions.k8s.io/customresourcedefinitions//%.520s", crd_name);
	return store_get(st, key, NULL, NULL) == STORE_OK;
}

static bool api_serves(const struct apiserver *a, const struct kind_info *k)
{
	if (!a->cfg.member)
		return true;
	size_t gl = strlen(k->group);
	if (!k->dynamic)
		return !(gl >= 10 && strcmp(k->group + gl - 10, "karmada.io") == 0);
	char name[520];
	snprintf(name, sizeof name, "%.250s.%.250s", k->plural, k->group);
	return crd_in_store(a->store, name);
}

static bool serves(const struct kind_info *k, void *ud) { return api_serves(ud, k); }

static cJSON *resource_list(const struct apiserver *a, const char *group, const char *version)
{
	cJSON *rl = cJSON_CreateObject();
	char gv[256];
	if (group[0])
		snprintf(gv, sizeof gv, "%s/%s", group, version);
	else
		snprintf(gv, sizeof gv, "%s", version);
	cJSON_AddStringToObject(rl, "kind", "APIResourceList");
	cJSON_AddStringToObject(rl, "apiVersion", "v1");
	cJSON_AddStringToObject(rl, "groupVersion", gv);
	cJSON *res = cJSON_AddArrayToObject(rl, "resources");
	int found = 0;
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		if (strcmp(k->group, group) != 0 || strcmp(k->version, version) != 0 || !api_serves(a, k))
			continue;
		found++;
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "name", k->plural);
		cJSON_AddStringToObject(r, "singularName", k->singular);
		cJSON_AddBoolToObject(r, "namespaced", k->namespaced);
		cJSON_AddStringToObject(r, "kind", k->kind);
		cJSON_AddItemToObject(r, "verbs", str_array(all_verbs));
		if (k->short_names[0])
			cJSON_AddItemToObject(r, "shortNames", str_array(k->short_names));
		if (k->categories[0])
			cJSON_AddItemToObject(r, "categories", str_array(k->categories));
		cJSON_AddItemToArray(res, r);
		if (k->subresources & SUB_STATUS) {
			cJSON *s = cJSON_CreateObject();
			char n[200];
			snprintf(n, sizeof n, "%s/status", k->plural);
			cJSON_AddStringToObject(s, "name", n);
			cJSON_AddStringToObject(s, "singularName", "");
			cJSON_AddBoolToObject(s, "namespaced", k->namespaced);
			cJSON_AddStringToObject(s, "kind", k->kind);
			cJSON_AddItemToObject(s, "verbs", str_array(sub_verbs));
			cJSON_AddItemToArray(res, s);
		}
		if (k->subresources & SUB_SCALE) {
			cJSON *s = cJSON_CreateObject();
			char n[200];
			snprintf(n, sizeof n, "%s/scale", k->plural);
			cJSON_AddStringToObject(s, "name", n);
			cJSON_AddStringToObject(s, "singularName", "");
			cJSON_AddBoolToObject(s, "namespaced", k->namespaced);
			cJSON_AddStringToObject(s, "group", "autoscaling");
			cJSON_AddStringToObject(s, "version", "v1");
			cJSON_AddStringToObject(s, "kind", "Scale");
			cJSON_AddItemToObject(s, "verbs", str_array(sub_verbs));
			cJSON_AddItemToArray(res, s);
		}
	}
	if (!found) {
		cJSON_Delete(rl);
		return NULL;
	}
	return rl;
}

/* Versions of a group, preferred (first registered) first. */
static cJSON *group_entry(const struct apiserver *a, const char *group)
{
	cJSON *g = cJSON_CreateObject();
	cJSON_AddStringToObject(g, "name", group);
	cJSON *vs = cJSON_AddArrayToObject(g, "versions");
	char seen[8][64];
	int nseen = 0;
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		if (strcmp(k->group, group) != 0 || !api_serves(a, k))
			continue;
		bool dup = false;
		for (int j = 0; j < nseen; j++)
			dup |= strcmp(seen[j], k->version) == 0;
		if (dup || nseen == 8)
			continue;
		snprintf(seen[nseen++], 64, "%s", k->version);
	}
	/* Karmada's work group prefers v1alpha2 (bindings) over v1alpha1. */
	for (int x = 0; x < nseen; x++)
		for (int y = x + 1; y < nseen; y++)
			if (strcmp(seen[y], seen[x]) > 0) {
				char t[64];
				memcpy(t, seen[x], 64);
				memcpy(seen[x], seen[y], 64);
				memcpy(seen[y], t, 64);
			}
	for (int j = 0; j < nseen; j++) {
		cJSON *v = cJSON_CreateObject();
		char gv[600];
		snprintf(gv, sizeof gv, "%s/%s", group, seen[j]);
		cJSON_AddStringToObject(v, "groupVersion", gv);
		cJSON_AddStringToObject(v, "version", seen[j]);
		cJSON_AddItemToArray(vs, v);
	}
	if (nseen)
		cJSON_AddItemToObject(g, "preferredVersion", json_dup(cJSON_GetArrayItem(vs, 0)));
	return g;
}

static cJSON *group_list(const struct apiserver *a)
{
	cJSON *gl = cJSON_CreateObject();
	cJSON_AddStringToObject(gl, "kind", "APIGroupList");
	cJSON_AddStringToObject(gl, "apiVersion", "v1");
	cJSON *groups = cJSON_AddArrayToObject(gl, "groups");
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		if (!k->group[0] || !api_serves(a, k))
			continue;
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= strcmp(kinds_at(j)->group, k->group) == 0 && api_serves(a, kinds_at(j));
		if (!dup)
			cJSON_AddItemToArray(groups, group_entry(a, k->group));
	}
	return gl;
}

static bool handle_discovery(const struct api_req *rq, const char *path)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	cJSON *body = NULL;
	if (strcmp(path, "/api") == 0 || strcmp(path, "/api/") == 0) {
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "kind", "APIVersions");
		const char *const v[] = {"v1", NULL};
		cJSON_AddItemToObject(body, "versions", str_array(v));
		cJSON *addr = cJSON_AddArrayToObject(body, "serverAddressByClientCIDRs");
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "clientCIDR", "0.0.0.0/0");
		const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
		cJSON_AddStringToObject(e, "serverAddress", host ? host : "127.0.0.1");
		cJSON_AddItemToArray(addr, e);
	} else if (strcmp(path, "/apis") == 0 || strcmp(path, "/apis/") == 0) {
		body = group_list(a);
	} else if (strcmp(path, "/api/v1") == 0) {
		body = resource_list(a, "", "v1");
	} else if (strncmp(path, "/apis/", 6) == 0) {
		char group[128] = "", version[64] = "";
		const char *g = path + 6;
		const char *slash = strchr(g, '/');
		if (!slash) {
			snprintf(group, sizeof group, "%s", g);
			for (int i = 0; i < kinds_count(); i++)
				if (strcmp(kinds_at(i)->group, group) == 0 && api_serves(a, kinds_at(i))) {
					body = group_entry(a, group);
					cJSON_AddStringToObject(body, "kind", "APIGroup");
					cJSON_AddStringToObject(body, "apiVersion", "v1");
					break;
				}
		} else if (!strchr(slash + 1, '/')) {
			snprintf(group, sizeof group, "%.*s", (int)(slash - g), g);
			snprintf(version, sizeof version, "%s", slash + 1);
			body = resource_list(a, group, version);
		} else {
			return false;
		}
		if (!body) {
			send_status(rq, 404, "NotFound", "the server could not find the requested resource");
			return true;
		}
	} else {
		return false;
	}
	(void)a;
	if (!body) {
		send_status(rq, 404, "NotFound", "the server could not find the requested resource");
		return true;
	}
	api_send_json(rq, 200, body);
	cJSON_Delete(body);
	return true;
}

static bool handle_meta(const struct api_req *rq, const char *path)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0 || strcmp(path, "/readyz") == 0) {
		send_raw(rq, 200, "text/plain; charset=utf-8", "ok", 2);
		return true;
	}
	if (strcmp(path, "/version") == 0) {
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "major", "1");
		cJSON_AddStringToObject(v, "minor", a->cfg.minor);
		cJSON_AddStringToObject(v, "gitVersion", a->cfg.git_version);
		cJSON_AddStringToObject(v, "gitCommit", "atoll");
		cJSON_AddStringToObject(v, "gitTreeState", "clean");
		cJSON_AddStringToObject(v, "buildDate", "2026-11-25T00:00:00Z");
		cJSON_AddStringToObject(v, "goVersion", "none");
		cJSON_AddStringToObject(v, "compiler", "gcc");
		cJSON_AddStringToObject(v, "platform", "linux/amd64");
		char *s = cJSON_Print(v);
		send_raw(rq, 200, "application/json", s, strlen(s));
		free(s);
		cJSON_Delete(v);
		return true;
	}
	if (strcmp(path, "/openapi/v2") == 0 && openapi_v2_wants_json(evhttp_find_header(
							   evhttp_request_get_input_headers(req), "Accept"))) {
		/* As kube-apiserver: JSON (with the schemas) unless protobuf is asked for. */
		cJSON *doc = openapi_v2_json(serves, a, 0);
		api_send_json(rq, 200, doc);
		cJSON_Delete(doc);
		return true;
	}
	if (strcmp(path, "/openapi/v2") == 0 || strcmp(path, "/swagger-2.0.0.pb-v1") == 0) {
		size_t len;
		unsigned char *pb = openapi_v2_protobuf(serves, a, &len);
		/* Not the Accept value: kubectl's MIME parser rejects its '@'. */
		send_raw(rq, 200, "application/octet-stream", pb, len);
		free(pb);
		return true;
	}
	if (strcmp(path, "/openapi/v3") == 0) {
		cJSON *idx = openapi_v3_index(serves, a);
		api_send_json(rq, 200, idx);
		cJSON_Delete(idx);
		return true;
	}
	if (strncmp(path, "/openapi/v3/", 12) == 0) {
		cJSON *doc = openapi_v3_group_version(path + 12, serves, a);
		if (!doc) {
			send_status(rq, 404, "NotFound", "the server could not find the requested resource");
			return true;
		}
		api_send_json(rq, 200, doc);
		cJSON_Delete(doc);
		return true;
	}
	return false;
}

/* ---- list ------------------------------------------------------------------- */

struct list_ctx {
	const struct kind_info *k;
	struct label_selector *ls;
	struct field_selector *fs;
	bool table;
	struct pblist *pbl;   /* answering in protobuf (pbhttp); JSON kept as fallback */
	bool filtering;
	struct evbuffer *raw; /* JSON items, comma-separated */
	int count;
	cJSON *items;         /* parsed items (table or filtered) */
};

static bool object_matches(const cJSON *o, struct label_selector *ls, struct field_selector *fs)
{
	if (ls && !label_selector_matches(ls, json_get(o, "metadata.labels")))
		return false;
	if (fs && !field_selector_matches(fs, o))
		return false;
	return true;
}

static int list_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct list_ctx *lc = ud;
	if (!lc->filtering && !lc->table) {
		if (lc->count++)
			evbuffer_add(lc->raw, ",", 1);
		evbuffer_add(lc->raw, value, len);
		if (lc->pbl)
			pbhttp_list_add(lc->pbl, key, rev, value, len, NULL);
		return 0;
	}
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (!o)
		return 0;
	if (!object_matches(o, lc->ls, lc->fs)) {
		cJSON_Delete(o);
		return 0;
	}
	lc->count++;
	if (lc->table) {
		cJSON_AddItemToArray(lc->items, o);
	} else {
		if (lc->pbl)
			pbhttp_list_add(lc->pbl, key, rev, value, len, o);
		char *s = json_print(o);
		if (lc->count > 1)
			evbuffer_add(lc->raw, ",", 1);
		evbuffer_add(lc->raw, s, strlen(s));
		free(s);
		cJSON_Delete(o);
	}
	return 0;
}

static int parse_selectors(const struct api_req *rq, struct evkeyvalq *q, const struct kind_info *k,
			   struct label_selector **ls, struct field_selector **fs)
{
	char err[256];
	*ls = NULL;
	*fs = NULL;
	const char *l = query(q, "labelSelector");
	const char *f = query(q, "fieldSelector");
	if (l && *l && !(*ls = label_selector_parse(l, err, sizeof err))) {
		send_status(rq, 400, "BadRequest", err);
		return -1;
	}
	if (f && *f && !(*fs = field_selector_parse(f, err, sizeof err))) {
		label_selector_free(*ls);
		*ls = NULL;
		send_status(rq, 400, "BadRequest", err);
		return -1;
	}
	for (size_t i = 0; i < field_selector_len(*fs); i++) {
		if (!param_field_supported(k, field_selector_key(*fs, i), err, sizeof err)) {
			label_selector_free(*ls);
			field_selector_free(*fs);
			*ls = NULL;
			*fs = NULL;
			send_status(rq, 400, "BadRequest", err);
			return -1;
		}
	}
	return 0;
}

/* The numeric parameters of a list or watch, parsed as kube-apiserver's
 * parameter codec does (Go's strconv); a malformed one is a 400. */
struct list_params {
	long long rv;        /* resourceVersion; 0 when absent, "" or "0" */
	long long limit;     /* parsed and checked; lists are not paged */
	long long timeout_s; /* timeoutSeconds */
	bool has_timeout;
};

static int parse_list_params(const struct api_req *rq, struct evkeyvalq *q, struct list_params *lp)
{
	char err[512];
	memset(lp, 0, sizeof *lp);
	const char *v;
	if ((v = query(q, "limit")) && param_int64(v, &lp->limit, err, sizeof err) < 0)
		goto bad;
	if ((v = query(q, "timeoutSeconds"))) {
		if (param_int64(v, &lp->timeout_s, err, sizeof err) < 0)
			goto bad;
		lp->has_timeout = true;
	}
	if (param_resource_version(query(q, "resourceVersion"), &lp->rv, err, sizeof err) < 0)
		goto bad;
	return 0;
bad:
	send_status(rq, 400, "BadRequest", err);
	return -1;
}

/* ---- waiting for a resourceVersion ahead of the store ------------------------ */

/* kube-apiserver waits up to 3 s for its cache to reach a requested
 * resourceVersion, then answers 504 "Too large resource version". Here the
 * request waits (polled, not blocking the loop) for the store's revision;
 * once reached it is dispatched again from the top, else it gets the 504:
 * a list as the answer, a watch as the one ERROR event of its stream. */
struct rv_wait {
	struct apiserver *a;
	struct evhttp_request *req;
	long long rv;
	bool watch;
	struct timespec t0;
	struct event *tick;
	struct rv_wait *next;
};
static void on_request(struct evhttp_request *req, void *arg);

static void rv_wait_free(struct rv_wait *w)
{
	for (struct rv_wait **p = &w->a->rv_waits; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	event_free(w->tick);
	free(w);
}

static cJSON *too_large_status(long long rv, long long cur)
{
	struct api_error e = {0};
	api_error_set(&e, 504, "Timeout", "Timeout: Too large resource version: %lld, current: %lld", rv, cur);
	cJSON *st = api_error_status(&e, NULL);
	cJSON *d = cJSON_AddObjectToObject(st, "details");
	cJSON *causes = cJSON_AddArrayToObject(d, "causes");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "reason", "ResourceVersionTooLarge");
	cJSON_AddStringToObject(c, "message", "Too large resource version");
	cJSON_AddItemToArray(causes, c);
	cJSON_AddNumberToObject(d, "retryAfterSeconds", 1);
	return st;
}

static void rv_wait_answer(struct rv_wait *w, bool shutdown)
{
	struct evhttp_request *req = w->req;
	const struct api_req ctx = {w->a, req, NULL}, *rq = &ctx;
	long long cur = store_revision(w->a->store);
	if (!evhttp_request_get_connection(req)) {
		evhttp_send_reply(req, 503, "Service Unavailable", NULL); /* client gone: frees it */
		return;
	}
	if (shutdown) {
		send_status(rq, 503, "ServiceUnavailable", "the server is shutting down");
		return;
	}
	cJSON *st = too_large_status(w->rv, cur);
	if (!w->watch) {
		set_header(req, "Retry-After", "1");
		api_send_json(rq, 504, st);
		cJSON_Delete(st);
		return;
	}
	/* After the resourceVersion parsed, kube-apiserver reports watch
	 * errors as an ERROR event on a 200 stream. */
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "ERROR");
	cJSON_AddItemToObject(ev, "object", st);
	char *txt = json_print(ev);
	cJSON_Delete(ev);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, txt, strlen(txt));
	evbuffer_add(b, "\n", 1);
	free(txt);
	set_header(req, "Content-Type", "application/json");
	api_send_reply(rq, 200, "OK", b);
	evbuffer_free(b);
}

static void rv_wait_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rv_wait *w = arg;
	struct apiserver *a = w->a;
	struct evhttp_request *req = w->req;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(now.tv_sec - w->t0.tv_sec) * 1000 + (now.tv_nsec - w->t0.tv_nsec) / 1000000;
	if (evhttp_request_get_connection(req) && store_revision(a->store) >= w->rv) {
		rv_wait_free(w);
		on_request(req, a); /* from the top, now that the store has it */
		return;
	}
	if (ms < RV_WAIT_MS && evhttp_request_get_connection(req))
		return;
	rv_wait_answer(w, false);
	rv_wait_free(w);
}

static void rv_wait_start(struct apiserver *a, struct evhttp_request *req, long long rv, bool watch)
{
	struct rv_wait *w = calloc(1, sizeof *w);
	w->a = a;
	w->req = req;
	w->rv = rv;
	w->watch = watch;
	clock_gettime(CLOCK_MONOTONIC, &w->t0);
	w->tick = event_new(a->base, -1, EV_PERSIST, rv_wait_tick, w);
	struct timeval tv = {0, RV_WAIT_TICK_MS * 1000};
	event_add(w->tick, &tv);
	w->next = a->rv_waits;
	a->rv_waits = w;
}

/* At shutdown: every waiting request of a gets 503. */
static void rv_wait_close(struct apiserver *a)
{
	struct rv_wait *w = a->rv_waits, *next;
	for (; w; w = next) {
		next = w->next;
		if (w->a != a)
			continue;
		rv_wait_answer(w, true);
		rv_wait_free(w);
	}
}

/* The header lines (not the request line) within max_header_bytes, else a
 * 431 Status. libevent's own limit is larger (REQUEST_LINE_ROOM). */
static bool request_headers_fit(const struct api_req *rq)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	size_t n = 0;
	struct evkeyval *h;
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
		n += strlen(h->key) + strlen(h->value) + 4;
	if (n <= a->cfg.max_header_bytes)
		return true;
	send_status(rq, 431, "RequestHeaderFieldsTooLarge", "the request's header fields are too large");
	return false;
}

static void list_prefix(const struct kind_info *k, const char *ns, char *buf, size_t len)
{
	if (k->namespaced && ns && *ns)
		store_key(buf, len, k->group, k->plural, ns, "");
	else
		snprintf(buf, len, "%s/%s/", k->group[0] ? k->group : "core", k->plural);
}

static void handle_list(const struct api_req *rq, const struct kind_info *k, const char *ns,
			struct evkeyvalq *q)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	struct list_ctx lc = {.k = k, .table = wants_table(req)};
	struct list_params lp;
	if (parse_list_params(rq, q, &lp) < 0)
		return;
	if (parse_selectors(rq, q, k, &lc.ls, &lc.fs) < 0)
		return;
	if (lp.rv > store_revision(a->store)) {
		/* Not there yet: wait a little for it (kube-apiserver: 3 s, then 504). */
		label_selector_free(lc.ls);
		field_selector_free(lc.fs);
		rv_wait_start(a, req, lp.rv, false);
		return;
	}
	if (!lc.table && pbhttp_wants_protobuf(req, k))
		lc.pbl = pbhttp_list_begin(a->pbcache, k);
	/* A list at a resourceVersion older than the history is gone. */
	{
		long long rv = lp.rv;
		if (rv > 0 && rv < store_compacted(a->store)) {
			char m[128];
			snprintf(m, sizeof m, "too old resource version: %lld (%lld)", rv, store_compacted(a->store));
			send_status(rq, 410, "Expired", m);
			goto out;
		}
	}
	lc.filtering = lc.ls || lc.fs;
	lc.raw = evbuffer_new();
	lc.items = cJSON_CreateArray();
	char prefix[600];
	list_prefix(k, ns, prefix, sizeof prefix);
	long long rev = 0;
	if (store_list(a->store, prefix, list_item, &lc, &rev) != STORE_OK) {
		send_status(rq, 500, "InternalError", "storage failure while listing");
		goto out;
	}
	char rvs[32];
	snprintf(rvs, sizeof rvs, "%lld", rev);
	if (lc.table) {
		cJSON *t = table_build(k, lc.items, rvs, time(NULL));
		api_send_json(rq, 200, t);
		cJSON_Delete(t);
	} else if (lc.pbl && pbhttp_list_send(lc.pbl, rq, rvs)) {
		/* sent (an item protobuf cannot carry: the JSON below) */
	} else {
		char av[256];
		struct evbuffer *b = evbuffer_new();
		evbuffer_add_printf(b, "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%s\"},\"items\":[",
				    k->kind, kind_api_version(k, av, sizeof av), rvs);
		evbuffer_add_buffer(b, lc.raw);
		evbuffer_add(b, "]}", 2);
		set_header(req, "Content-Type", "application/json");
		api_send_reply(rq, 200, "OK", b);
		evbuffer_free(b);
	}
out:
	pbhttp_list_free(lc.pbl);
	if (lc.raw)
		evbuffer_free(lc.raw);
	cJSON_Delete(lc.items);
	label_selector_free(lc.ls);
	field_selector_free(lc.fs);
}

/* ---- watch -------------------------------------------------------------------- */

/* The stream ended (stream.h): unlink and free. */
static void watcher_gone(struct stream *s, enum stream_end why, void *ud)
{
	struct watcher *w = ud;
	struct apiserver *a = w->srv;
	if (w->prev)
		w->prev->next = w->next;
	else
		a->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	a->nwatchers--;
	label_selector_free(w->ls);
	field_selector_free(w->fs);
	free(w);
}

/* Ends the stream cleanly (server-side timeout or shutdown). */
static void watcher_end(struct watcher *w)
{
	stream_end(w->s);
}

static void watch_send(struct watcher *w, const char *type, cJSON *obj_owned)
{
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", type);
	if (w->table && strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0) {
		cJSON *items = cJSON_CreateArray();
		cJSON_AddItemToArray(items, obj_owned);
		cJSON *t = table_build(w->k, items, json_get_str(obj_owned, "metadata.resourceVersion"), time(NULL));
		cJSON_Delete(items);
		if (w->columns_sent)
			json_set(t, "columnDefinitions", cJSON_CreateArray());
		w->columns_sent = true;
		cJSON_AddItemToObject(ev, "object", t);
	} else if (w->proto) {
		/* Never skip an event: if one cannot be encoded the stream ends
		 * (the client lists again; lists fall back to JSON). */
		struct evbuffer *b = evbuffer_new();
		bool ok = !w->unencodable && pbhttp_watch_frame(b, type, obj_owned);
		cJSON_Delete(ev);
		cJSON_Delete(obj_owned);
		if (ok)
			stream_write_buffer(w->s, b);
		else
			w->unencodable = true;
		evbuffer_free(b);
		return;
	} else {
		cJSON_AddItemToObject(ev, "object", obj_owned);
	}
	char *s = json_print(ev);
	cJSON_Delete(ev);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	free(s);
	stream_write_buffer(w->s, b);
	evbuffer_free(b);
}

/* Decides what a change means to one watcher: an object that starts or stops
 * matching its selectors is ADDED or DELETED for it. */
static void watch_deliver(struct watcher *w, const struct store_event *ev)
{
	const cJSON *now = store_event_value(ev); /* parsed once for every watcher */
	if (!now)
		return;
	bool match_now = object_matches(now, w->ls, w->fs);
	bool match_before = false;
	if (ev->type == STORE_MODIFIED && (w->ls || w->fs)) {
		const cJSON *before = store_event_prev(ev);
		match_before = before && object_matches(before, w->ls, w->fs);
	} else {
		match_before = ev->type != STORE_ADDED;
	}
	const char *type = NULL;
	if (ev->type == STORE_ADDED)
		type = match_now ? "ADDED" : NULL;
	else if (ev->type == STORE_DELETED)
		type = match_now ? "DELETED" : NULL;
	else if (match_now && match_before)
		type = "MODIFIED";
	else if (match_now)
		type = "ADDED";
	else if (match_before)
		type = "DELETED";
	if (!type)
		return;
	if (w->proto) {
		/* One encoding per change, shared by every protobuf watcher. */
		if (!w->unencodable && !pbhttp_watch_send(w->srv->pbcache, w->req, type, ev->key, ev->rev, now))
			w->unencodable = true;
		return;
	}
	if (w->table) {
		watch_send(w, type, json_dup(now));
		return;
	}
	/* The stored text as is: no copy to print again. */
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "{\"type\":\"%s\",\"object\":", type);
	evbuffer_add(b, ev->value, strlen(ev->value));
	evbuffer_add(b, "}\n", 2);
	stream_write_buffer(w->s, b);
	evbuffer_free(b);
}

/* A committed subscriber: watchers see only durable changes. */
static void on_store_event(const struct store_event *ev, void *ud)
{
	struct apiserver *a = ud;
	bool crd = strncmp(ev->key, "apiextensions.k8s.io/customresourcedefinitions/", 48) == 0;
	struct watcher *w = a->watchers, *next;
	for (; w; w = next) {
		next = w->next;
		if (crd && w->k->dynamic) {
			/* The kind may have changed shape; clients re-list. */
			watcher_end(w);
			continue;
		}
		if (strncmp(ev->key, w->prefix, strlen(w->prefix)) != 0)
			continue;
		if (stream_behind(w->s))
			continue; /* cut off (and freed) */
		watch_deliver(w, ev);
		if (w->unencodable)
			watcher_end(w);
	}
	/* Periodic compaction (compact_before_commit) keeps the change log bounded. */
	a->writes_since_compact++;
}

static void replay_event(const struct store_event *ev, void *ud)
{
	watch_deliver(ud, ev);
}

struct initial_ctx {
	struct watcher *w;
};

static int initial_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct watcher *w = ud;
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (!o)
		return 0;
	if (!object_matches(o, w->ls, w->fs)) {
		cJSON_Delete(o);
		return 0;
	}
	if (w->proto) {
		if (!w->unencodable && !pbhttp_watch_send(w->srv->pbcache, w->req, "ADDED", key, rev, o))
			w->unencodable = true;
		cJSON_Delete(o);
		return 0;
	}
	watch_send(w, "ADDED", o);
	return 0;
}

static void handle_watch(const struct api_req *rq, const struct kind_info *k, const char *ns,
			 struct evkeyvalq *q)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	/* The initial state and replay must come from committed data only,
	 * and the stream then continues with committed events. */
	if (api_defer_until_committed(rq))
		return;
	struct label_selector *ls;
	struct field_selector *fs;
	struct list_params lp;
	if (parse_list_params(rq, q, &lp) < 0)
		return;
	if (parse_selectors(rq, q, k, &ls, &fs) < 0)
		return;
	long long since = lp.rv;
	if (since > store_revision(a->store)) {
		label_selector_free(ls);
		field_selector_free(fs);
		rv_wait_start(a, req, since, true);
		return;
	}
	if (since > 0 && since < store_compacted(a->store)) {
		char m[128];
		snprintf(m, sizeof m, "too old resource version: %lld (%lld)", since, store_compacted(a->store));
		send_status(rq, 410, "Expired", m);
		label_selector_free(ls);
		field_selector_free(fs);
		return;
	}
	if (a->nwatchers >= a->cfg.max_watches) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
		send_status(rq, 429, "TooManyRequests", "too many open watches, please try again later");
		label_selector_free(ls);
		field_selector_free(fs);
		return;
	}
	struct watcher *w = calloc(1, sizeof *w);
	w->srv = a;
	w->req = req;
	w->k = k;
	w->ls = ls;
	w->fs = fs;
	w->table = wants_table(req);
	w->proto = !w->table && pbhttp_wants_protobuf(req, k);
	list_prefix(k, ns, w->prefix, sizeof w->prefix);
	w->next = a->watchers;
	if (a->watchers)
		a->watchers->prev = w;
	a->watchers = w;
	a->nwatchers++;
	set_header(req, "Content-Type", w->table ? "application/json;as=Table;v=v1;g=meta.k8s.io" :
					w->proto ? PBCODEC_STREAM_CONTENT_TYPE : "application/json");
	/* A watch outlives the request timeout. Whitespace between events is
	 * legal for JSON stream decoders and makes a vanished client show up as
	 * a write error; a protobuf stream has no room for it. A negative
	 * timeoutSeconds has passed already: the stream ends at once, as
	 * kube-apiserver's timer does. */
	struct stream_config sc = {
		.mode = STREAM_CHUNKED, .name = "watch", .max_buffered = WATCH_MAX_BUFFERED,
		.heartbeat_s = w->proto ? 0 : WATCH_HEARTBEAT_S, .heartbeat = "\n",
		.deadline_s = !lp.has_timeout || lp.timeout_s == 0 ? -1 : lp.timeout_s < 0 ? 0 :
			      lp.timeout_s > WATCH_MAX_TIMEOUT_S ? WATCH_MAX_TIMEOUT_S : lp.timeout_s,
		.on_end = watcher_gone, .ud = w};
	w->s = stream_open(rq, &sc);
	if (since > 0) {
		if (store_changes(a->store, since, w->prefix, replay_event, w) == STORE_COMPACTED) {
			struct api_error e = {0};
			api_error_set(&e, 410, "Expired", "too old resource version: %lld", since);
			watch_send(w, "ERROR", api_error_status(&e, NULL));
			watcher_end(w);
			return;
		}
	} else {
		store_list(a->store, w->prefix, initial_item, w, NULL);
	}
	if (w->unencodable)
		watcher_end(w);
}

void apiserver_close_watches(struct apiserver *a)
{
	while (a->watchers)
		watcher_end(a->watchers);
}

/* ---- bodies --------------------------------------------------------------------- */

static bool ctype_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Decodes the request body as JSON or YAML. Sends the error itself and
 * returns NULL on failure. */
static cJSON *read_body(const struct api_req *rq, const struct kind_info *k, bool patch,
			const char **ct_out)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	*ct_out = ct;
	if (len > a->cfg.max_body_bytes) {
		send_status(rq, 413, "RequestEntityTooLarge", "the request body is too large");
		return NULL;
	}
	if (!ct && !patch)
		ct = "application/json"; /* as kube-apiserver: its first media type (kubectl 1.20's create configmap sends none) */
	if (!ct) {
		send_status(rq, 415, "UnsupportedMediaType", "the body of the request has no Content-Type");
		return NULL;
	}
	/* Kubernetes protobuf: built-in kinds only, never for patches. */
	bool pb = !patch && ctype_is(ct, PBCODEC_CONTENT_TYPE) && pbhttp_kind_has_protobuf(k);
	bool yaml = ctype_is(ct, "application/yaml") || ctype_is(ct, "application/apply-patch+yaml");
	bool json = ctype_is(ct, "application/json") || (patch && (ctype_is(ct, "application/merge-patch+json") ||
								    ctype_is(ct, "application/json-patch+json") ||
								    ctype_is(ct, "application/strategic-merge-patch+json")));
	if (!yaml && !json && !pb) {
		char m[512];
		snprintf(m, sizeof m, "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml%s%s",
			 !patch && pbhttp_kind_has_protobuf(k) ? ", " PBCODEC_CONTENT_TYPE : "",
			 patch ? ", application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json" : "");
		send_status(rq, 415, "UnsupportedMediaType", m);
		return NULL;
	}
	const char *data = (const char *)evbuffer_pullup(in, -1);
	char err[256];
	cJSON *body = NULL;
	if (len == 0) {
		snprintf(err, sizeof err, "the request body is empty");
	} else if (pb) {
		body = pbcodec_decode(data, len, err, sizeof err);
	} else if (yaml) {
		if (!json_utf8_valid(data, len))
			snprintf(err, sizeof err, "invalid UTF-8 in request body");
		else
			body = yaml_parse_one(data, len, err, sizeof err);
	} else {
		body = json_parse_limited(data, len, JSON_MAX_DEPTH, err, sizeof err);
	}
	if (!body) {
		char m[512];
		snprintf(m, sizeof m, "the request body could not be decoded: %s", err);
		send_status(rq, 400, "BadRequest", m);
	}
	return body;
}

/* ---- resources ------------------------------------------------------------------ */

static void send_stored(const struct api_req *rq, int code, char *json)
{
	send_raw(rq, code, "application/json", json, strlen(json));
	free(json);
}

static void send_object_maybe_table(const struct api_req *rq, const struct kind_info *k, char *json)
{
	struct evhttp_request *req = rq->req;
	if (!wants_table(req) && pbhttp_wants_protobuf(req, k) && pbhttp_send_object(rq, 200, json)) {
		free(json);
		return;
	}
	if (!wants_table(req)) {
		send_stored(rq, 200, json);
		return;
	}
	cJSON *o = cJSON_Parse(json);
	free(json);
	cJSON *items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, o);
	cJSON *t = table_build(k, items, json_get_str(o, "metadata.resourceVersion"), time(NULL));
	api_send_json(rq, 200, t);
	cJSON_Delete(t);
	cJSON_Delete(items);
}

struct dc_ctx {
	struct apiserver *a;
	const struct kind_info *k;
	struct label_selector *ls;
	struct field_selector *fs;
	char **names;
	char **nss;
	int n, cap;
};

static int dc_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct dc_ctx *d = ud;
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o && object_matches(o, d->ls, d->fs)) {
		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 32;
			d->names = realloc(d->names, (size_t)d->cap * sizeof *d->names);
			d->nss = realloc(d->nss, (size_t)d->cap * sizeof *d->nss);
		}
		const char *nm = json_get_str(o, "metadata.name"), *ns = json_get_str(o, "metadata.namespace");
		d->names[d->n] = strdup(nm ? nm : "");
		d->nss[d->n] = strdup(ns ? ns : "");
		d->n++;
	}
	cJSON_Delete(o);
	return 0;
}

static void handle_delete_collection(const struct api_req *rq, const struct kind_info *k,
				     const char *ns, struct evkeyvalq *q)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	struct dc_ctx d = {.a = a, .k = k};
	if (parse_selectors(rq, q, k, &d.ls, &d.fs) < 0)
		return;
	char prefix[600];
	list_prefix(k, ns, prefix, sizeof prefix);
	store_list(a->store, prefix, dc_item, &d, NULL);
	char av[256];
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{},\"items\":[", k->kind,
			    kind_api_version(k, av, sizeof av));
	int sent = 0;
	for (int i = 0; i < d.n; i++) {
		struct api_error e = {0};
		char *out = NULL;
		if (obj_delete(&a->objects, k, d.nss[i], d.names[i], &out, &e) == 0) {
			evbuffer_add_printf(b, "%s%s", sent++ ? "," : "", out);
			free(out);
		}
		api_error_clear(&e);
		free(d.names[i]);
		free(d.nss[i]);
	}
	evbuffer_add(b, "]}", 2);
	set_header(req, "Content-Type", "application/json");
	api_send_reply(rq, 200, "OK", b);
	evbuffer_free(b);
	free(d.names);
	free(d.nss);
	label_selector_free(d.ls);
	field_selector_free(d.fs);
}

static bool dry_run_of(struct evkeyvalq *q)
{
	const char *d = query(q, "dryRun");
	return d && strcmp(d, "All") == 0;
}

/* kube-apiserver's 422 for bad write options: "<Kind>.meta.k8s.io "" is
 * invalid: <field>: <detail>", with one cause. */
static void send_invalid_options(const struct api_req *rq, const char *kind, const char *field,
				 const char *cause_reason, const char *detail)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s.meta.k8s.io \"\" is invalid: %s: %s", kind, field, detail);
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "kind", "Status");
	cJSON_AddStringToObject(st, "apiVersion", "v1");
	cJSON_AddItemToObject(st, "metadata", cJSON_CreateObject());
	cJSON_AddStringToObject(st, "status", "Failure");
	cJSON_AddStringToObject(st, "message", msg);
	cJSON_AddStringToObject(st, "reason", "Invalid");
	cJSON *d = cJSON_AddObjectToObject(st, "details");
	cJSON_AddStringToObject(d, "group", "meta.k8s.io");
	cJSON_AddStringToObject(d, "kind", kind);
	cJSON *cause = cJSON_CreateObject();
	cJSON_AddStringToObject(cause, "reason", cause_reason);
	cJSON_AddStringToObject(cause, "message", detail);
	cJSON_AddStringToObject(cause, "field", field);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "causes"), cause);
	cJSON_AddNumberToObject(st, "code", 422);
	api_send_json(rq, 422, st);
	cJSON_Delete(st);
}

/* The field manager of a write (fieldManager, else the User-Agent's
 * prefix, as Kubernetes does) and force, validated as kube-apiserver does.
 * Returns false after answering. w->manager points into mbuf. */
static bool field_writer(const struct api_req *rq, struct evkeyvalq *q, enum evhttp_cmd_type cmd,
			 struct ssa_writer *w, char *mbuf, size_t mlen)
{
	struct evhttp_request *req = rq->req;
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	bool apply = cmd == EVHTTP_REQ_PATCH && ct && patch_type_from_content_type(ct) == PATCH_APPLY;
	const char *opts = cmd == EVHTTP_REQ_PATCH ? "PatchOptions" : cmd == EVHTTP_REQ_PUT ? "UpdateOptions" : "CreateOptions";
	/* force exists in PatchOptions only: create and update ignore it, as
	 * kube-apiserver ignores query parameters an operation does not have. */
	const char *fm = query(q, "fieldManager"), *force = cmd == EVHTTP_REQ_PATCH ? query(q, "force") : NULL;
	memset(w, 0, sizeof *w);
	if (fm && strlen(fm) > SSA_MAX_MANAGER_LEN) {
		send_invalid_options(rq, opts, "fieldManager", "FieldValueTooLong", "Too long: may not be more than 128 bytes");
		return false;
	}
	if (apply && (!fm || !*fm)) {
		send_invalid_options(rq, opts, "fieldManager", "FieldValueRequired", "Required value: is required for apply patch");
		return false;
	}
	if (force && !apply) {
		send_invalid_options(rq, opts, "force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch");
		return false;
	}
	if (force && strcasecmp(force, "true") != 0 && strcasecmp(force, "false") != 0) {
		api_send_status(rq, 400, "BadRequest", "invalid value for force: \"%.64s\": must be true or false", force);
		return false;
	}
	if (fm && *fm)
		snprintf(mbuf, mlen, "%s", fm);
	else
		ssa_manager_from_user_agent(evhttp_find_header(evhttp_request_get_input_headers(req), "User-Agent"), mbuf, mlen);
	w->manager = mbuf;
	w->apply = apply;
	w->force = force && strcasecmp(force, "true") == 0;
	return true;
}

static void handle_resource(const struct api_req *rq, const char *path, struct evkeyvalq *q)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	struct api_path p;
	if (api_parse_path(path, &p) < 0) {
		send_status(rq, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	const struct kind_info *k = kinds_find_resource(p.group, p.version, p.resource);
	if (!k || !api_serves(a, k)) {
		send_status(rq, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	if (!k->namespaced && p.ns[0]) {
		send_status(rq, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	enum subresource sub = SUBRES_NONE;
	if (p.sub[0]) {
		if (strcmp(p.sub, "status") == 0 && (k->subresources & SUB_STATUS))
			sub = SUBRES_STATUS;
		else if (strcmp(p.sub, "scale") == 0 && (k->subresources & SUB_SCALE))
			sub = SUBRES_SCALE;
		else {
			send_status(rq, 404, "NotFound", "the server could not find the requested resource");
			return;
		}
	}
	const char *ns = p.ns;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct api_error e = {0};
	char *out = NULL;
	const char *ct = NULL;
	bool dry = dry_run_of(q);
	struct ssa_writer writer = {0};
	char manager[SSA_MAX_MANAGER_LEN + 1];
	if ((cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_PATCH) &&
	    !field_writer(rq, q, cmd, &writer, manager, sizeof manager))
		return;
	const struct ssa_writer *wp = writer.manager && writer.manager[0] ? &writer : NULL;

	if (!p.name[0]) {
		/* Collection. */
		if (cmd == EVHTTP_REQ_GET) {
			if (query_bool(q, "watch"))
				handle_watch(rq, k, ns, q);
			else
				handle_list(rq, k, ns, q);
			return;
		}
		if (cmd == EVHTTP_REQ_POST) {
			if (k->namespaced && !ns[0]) {
				send_status(rq, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
				return;
			}
			cJSON *body = read_body(rq, k, false, &ct);
			if (!body)
				return;
			if (!fieldhttp_check(rq, query(q, "fieldValidation"), k, false, body, false)) {
				cJSON_Delete(body);
				return;
			}
			a->objects.writer = wp;
			int crc = obj_create(&a->objects, k, ns, body, dry, &out, &e);
			a->objects.writer = NULL;
			if (crc == 0)
				send_stored(rq, 201, out);
			else
				api_send_error(rq, &e, k);
			cJSON_Delete(body);
			api_error_clear(&e);
			return;
		}
		if (cmd == EVHTTP_REQ_DELETE) {
			handle_delete_collection(rq, k, ns, q);
			return;
		}
		send_status(rq, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		return;
	}
	if (k->namespaced && !ns[0]) {
		send_status(rq, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	switch (cmd) {
	case EVHTTP_REQ_GET:
		if (obj_get(&a->objects, k, ns, p.name, &out, &e) != 0) {
			api_send_error(rq, &e, k);
		} else if (sub == SUBRES_SCALE) {
			cJSON *o = cJSON_Parse(out);
			cJSON *sc = obj_scale_of(k, o);
			api_send_json(rq, 200, sc);
			cJSON_Delete(sc);
			cJSON_Delete(o);
			free(out);
		} else {
			send_object_maybe_table(rq, k, out);
		}
		break;
	case EVHTTP_REQ_PUT: {
		cJSON *body = read_body(rq, k, false, &ct);
		if (!body)
			return;
		if (!fieldhttp_check(rq, query(q, "fieldValidation"), k, sub == SUBRES_SCALE, body, false)) {
			cJSON_Delete(body);
			return;
		}
		a->objects.writer = wp;
		int urc = obj_update(&a->objects, k, ns, p.name, body, sub, dry, &out, &e);
		a->objects.writer = NULL;
		if (urc == 0)
			send_stored(rq, 200, out);
		else
			api_send_error(rq, &e, k);
		cJSON_Delete(body);
		break;
	}
	case EVHTTP_REQ_PATCH: {
		cJSON *body = read_body(rq, k, true, &ct);
		if (!body)
			return;
		if (!fieldhttp_check(rq, query(q, "fieldValidation"), k, sub == SUBRES_SCALE, body, true)) {
			cJSON_Delete(body);
			return;
		}
		bool created = false;
		a->objects.writer = wp;
		int prc = obj_patch(&a->objects, k, ns, p.name, ct, body, sub, dry, &created, &out, &e);
		a->objects.writer = NULL;
		if (prc == 0)
			send_stored(rq, created ? 201 : 200, out);
		else
			api_send_error(rq, &e, k);
		cJSON_Delete(body);
		break;
	}
	case EVHTTP_REQ_DELETE:
		if (sub != SUBRES_NONE) {
			send_status(rq, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
			break;
		}
		if (obj_delete(&a->objects, k, ns, p.name, &out, &e) == 0)
			send_stored(rq, 200, out);
		else
			api_send_error(rq, &e, k);
		break;
	default:
		send_status(rq, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
	}
	api_error_clear(&e);
}

/* ---- dispatch -------------------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "OTHER";
	}
}

/* Verb and resource labels of a request: bounded sets only (never a
 * client-chosen name), since they become metric labels. */
static void classify(const char *path, struct evkeyvalq *q, enum evhttp_cmd_type cmd, const char *route,
		     char *verb, size_t vlen, char *res, size_t rlen)
{
	const char *m = method_name(cmd);
	snprintf(verb, vlen, "%s", m);
	for (char *v = verb; *v; v++)
		*v = (char)tolower((unsigned char)*v);
	struct api_path p;
	const struct kind_info *k;
	if (route) {
		snprintf(res, rlen, "%s", route);
	} else if (api_parse_path(path, &p) == 0 && (k = kinds_find_resource(p.group, p.version, p.resource))) {
		snprintf(res, rlen, "%s%s%s", k->plural, p.sub[0] ? "/" : "", p.sub);
		const char *v = verb;
		switch (cmd) {
		case EVHTTP_REQ_GET: v = p.name[0] ? "get" : query_bool(q, "watch") ? "watch" : "list"; break;
		case EVHTTP_REQ_POST: v = "create"; break;
		case EVHTTP_REQ_PUT: v = "update"; break;
		case EVHTTP_REQ_PATCH: v = "patch"; break;
		case EVHTTP_REQ_DELETE: v = p.name[0] ? "delete" : "deletecollection"; break;
		default: break;
		}
		snprintf(verb, vlen, "%s", v);
	} else if (strncmp(path, "/api/", 5) == 0 || strncmp(path, "/apis/", 6) == 0) {
		/* Discovery documents have at most /apis/GROUP/VERSION. */
		int slashes = 0;
		for (const char *s = path; *s; s++)
			slashes += *s == '/';
		snprintf(res, rlen, "%s", slashes <= 3 ? "/api" : "unknown");
	} else if (strcmp(path, "/api") == 0 || strcmp(path, "/apis") == 0) {
		snprintf(res, rlen, "/api");
	} else if (strncmp(path, "/openapi/", 9) == 0 || strncmp(path, "/swagger", 8) == 0) {
		snprintf(res, rlen, "/openapi");
	} else if (strcmp(path, "/version") == 0) {
		snprintf(res, rlen, "/version");
	} else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0 || strcmp(path, "/readyz") == 0) {
		snprintf(res, rlen, "/healthz");
	} else {
		snprintf(res, rlen, "other");
	}
}

/* Access log (debug) and the request hook. Never logs the query, headers
 * or body: they may carry tokens or key material. */
static void request_done(struct apiserver *a, struct evhttp_request *req, struct api_held *h, const char *path,
			 struct evkeyvalq *q, int route, const struct timespec *t0)
{
	int code = h ? h->code : evhttp_request_get_response_code(req);
	bool log = log_get_level() <= LOG_DEBUG;
	if (!log && (!a->hook || code == 0))
		return;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char verb[32], res[200];
	classify(path, q, cmd, route >= 0 ? a->routes[route].prefix : NULL, verb, sizeof verb, res, sizeof res);
	if (log) {
		char cs[16], ms[32], peer[64] = "";
		char *addr = NULL;
		ev_uint16_t port = 0;
		struct evhttp_connection *conn = evhttp_request_get_connection(req);
		if (conn) {
			evhttp_connection_get_peer(conn, &addr, &port);
			snprintf(peer, sizeof peer, "%s:%u", addr ? addr : "", (unsigned)port);
		}
		snprintf(cs, sizeof cs, "%d", code);
		snprintf(ms, sizeof ms, "%.3f", secs * 1000);
		log_kv(LOG_DEBUG, "request", "method", method_name(cmd), "path", path, "verb", verb, "resource", res,
		       "code", code ? cs : "deferred", "ms", ms, "remote", peer, NULL);
	}
	if (a->hook && code != 0 && h) {
		/* Reported when the answer is sent (after the commit). */
		h->report = true;
		h->method = method_name(cmd);
		h->path = strdup(path);
		snprintf(h->verb, sizeof h->verb, "%s", verb);
		snprintf(h->res, sizeof h->res, "%s", res);
		h->t0 = *t0;
	} else if (a->hook && code != 0) {
		struct api_request_info ri = {.method = method_name(cmd), .path = path, .verb = verb, .resource = res,
					      .code = code, .seconds = secs};
		a->hook(&ri, a->hook_ud);
	}
}

/* Kubernetes request attributes for the authorizer. */
static bool authorize(const struct api_req *rq, const char *path, struct evkeyvalq *q)
{
	struct apiserver *a = rq->api;
	struct evhttp_request *req = rq->req;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct api_path p;
	bool is_res = api_parse_path(path, &p) == 0;
	char mverb[16];
	snprintf(mverb, sizeof mverb, "%s", method_name(cmd));
	for (char *v = mverb; *v; v++)
		*v = (char)tolower((unsigned char)*v);
	const char *verb = mverb;
	if (is_res) {
		switch (cmd) {
		case EVHTTP_REQ_GET:
		case EVHTTP_REQ_HEAD: verb = p.name[0] ? "get" : query_bool(q, "watch") ? "watch" : "list"; break;
		case EVHTTP_REQ_POST: verb = "create"; break;
		case EVHTTP_REQ_PUT: verb = "update"; break;
		case EVHTTP_REQ_PATCH: verb = "patch"; break;
		case EVHTTP_REQ_DELETE: verb = p.name[0] ? "delete" : "deletecollection"; break;
		default: break;
		}
	}
	struct api_request_attrs at = {.method = method_name(cmd), .path = path, .res = is_res ? &p : NULL, .verb = verb,
				       .ns = is_res ? p.ns : ""};
	return a->authz(rq, &at, a->authz_ud);
}

/* Without TCP_NODELAY the tail of a large response waits for the client's
 * delayed ACK (~40 ms on loopback keep-alive connections). */
static void set_nodelay(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct apiserver *a = arg;
	struct api_dispatch dispatch = {NULL, 0};
	const struct api_req ctx = {a, req, &dispatch}, *rq = &ctx; /* the request context handlers get */
	set_nodelay(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!raw_path) {
		send_status(rq, 400, "BadRequest", "malformed request URI");
		return;
	}
	size_t path_len = 0;
	char *path = evhttp_uridecode(raw_path, 0, &path_len);
	if (!path) {
		send_status(rq, 400, "BadRequest", "malformed request path");
		return;
	}
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	const char *qs = evhttp_uri_get_query(uri);
	if (strlen(path) != path_len || (qs && params_has_nul_escape(qs))) {
		/* A decoded NUL would cut the name short: DELETE .../victim%00x
		 * must not delete "victim". */
		send_status(rq, 400, "BadRequest",
			    strlen(path) != path_len ? "the request path contains a NUL character (%00)"
						     : "the query string contains a NUL character (%00)");
		free(path);
		return;
	}
	if (!request_headers_fit(rq)) {
		free(path);
		return;
	}
	if (qs && evhttp_parse_query_str(qs, &q) < 0) {
		send_status(rq, 400, "BadRequest", "malformed query string");
		free(path);
		return;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dispatch.lo = a->store->written ? a->store->written(a->store) : 0;
	bool handled = false;
	int route = -1;
	if (a->authz && !authorize(rq, path, &q))
		handled = true; /* answered 401/403 */
	for (int i = 0; i < a->nroutes && !handled; i++)
		if (strncmp(path, a->routes[i].prefix, strlen(a->routes[i].prefix)) == 0)
			if ((handled = a->routes[i].fn(rq, path, a->routes[i].ud)))
				route = i;
	if (!handled && !handle_meta(rq, path)) {
		enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
		bool is_discovery = cmd == EVHTTP_REQ_GET && (strcmp(path, "/api") == 0 || strcmp(path, "/apis") == 0 ||
							      strcmp(path, "/api/") == 0 || strcmp(path, "/apis/") == 0 ||
							      strcmp(path, "/api/v1") == 0);
		if (!is_discovery && cmd == EVHTTP_REQ_GET && strncmp(path, "/apis/", 6) == 0) {
			/* /apis/g and /apis/g/v are discovery; longer paths are resources. */
			int slashes = 0;
			for (const char *s = path + 6; *s; s++)
				slashes += *s == '/';
			is_discovery = slashes <= 1;
		}
		if (!(is_discovery && handle_discovery(rq, path)))
			handle_resource(rq, path, &q);
	}
	request_done(a, req, dispatch.held, path, &q, route, &t0);
	evhttp_clear_headers(&q);
	free(path);
}

/* ---- group commit (loopturn.h) ---------------------------------------------------- */

static void redo_run(void *ud, bool ok)
{
	struct redo *r = ud;
	struct apiserver *a = r->a;
	struct evhttp_request *req = r->req;
	r->running = true;
	if (!evhttp_request_get_connection(req) || !ok) {
		redo_take(a, req);
		if (!evhttp_request_get_connection(req))
			evhttp_send_reply(req, 503, "Service Unavailable", NULL); /* client gone: frees it */
		else
			send_status(&(const struct api_req){a, req, NULL}, 503, "ServiceUnavailable", "the server is shutting down");
		return;
	}
	/* From the top, as if it came now: the rolled-back answer's headers go. */
	evhttp_clear_headers(evhttp_request_get_output_headers(req));
	on_request(req, a);
}

/* After a failed commit, what a held answer becomes (store.h
 * failed_commit): sent as it is when everything it may reflect is
 * committed anyway (1); its request run again from the top, once, when
 * the batch lost to another writer and none of its own writes is
 * committed (2): only a write that really conflicts then fails (409),
 * the others are made, each its own transaction; else a 500 (0). */
static int held_after_failure(const struct api_held *h)
{
	struct store *st = h->a->store;
	long long kept = 0;
	if (!st->failed_commit)
		return 0;
	bool retry = st->failed_commit(st, &kept);
	if (kept && h->upto <= kept)
		return 1;
	if (retry && !h->redone && h->lo >= 0 && h->lo >= kept && evhttp_request_get_connection(h->req))
		return 2;
	return 0;
}

/* A held answer, after the commit; if the commit failed it becomes a 500
 * (what it said may never have been durable), unless held_after_failure
 * says otherwise. */
static void held_send(void *ud, bool committed)
{
	struct api_held *h = ud;
	struct apiserver *a = h->a;
	int after = committed ? 1 : held_after_failure(h);
	if (after == 2) {
		struct redo *r = calloc(1, sizeof *r);
		if (r) {
			r->a = a;
			r->req = h->req;
			r->next = a->redo;
			a->redo = r;
			log_debug("request %s runs again: its batch lost to another writer", h->path ? h->path : "");
			loopturn_defer(a->turn, redo_run, r);
			evbuffer_free(h->body);
			free(h->path);
			free(h);
			return;
		}
	}
	if (after == 0) {
		struct api_error e = {0};
		api_error_set(&e, 500, "InternalError",
			      "Internal error occurred: the storage could not make the change durable; it was not made");
		cJSON *st = api_error_status(&e, NULL);
		char *s = json_print(st);
		cJSON_Delete(st);
		evbuffer_drain(h->body, evbuffer_get_length(h->body));
		evbuffer_add(h->body, s, strlen(s));
		free(s);
		set_header(h->req, "Content-Type", "application/json");
		h->code = 500;
	}
	evhttp_send_reply(h->req, h->code, reason_phrase(h->code), h->body);
	if (h->report && a->hook) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		struct api_request_info ri = {.method = h->method, .path = h->path, .verb = h->verb,
					      .resource = h->res, .code = h->code,
					      .seconds = (double)(t1.tv_sec - h->t0.tv_sec) +
							 (double)(t1.tv_nsec - h->t0.tv_nsec) / 1e9};
		a->hook(&ri, a->hook_ud);
	}
	evbuffer_free(h->body);
	free(h->path);
	free(h);
}

/* A stream deferred by api_defer_until_committed starts now, on committed
 * data (its handler runs again from the top); at shutdown it gets 503. */
static void deferred_run(void *ud, bool ok)
{
	struct deferred *d = ud;
	struct evhttp_request *req = d->req;
	struct apiserver *a = d->a;
	const struct api_req ctx = {a, req, NULL}, *rq = &ctx;
	free(d);
	if (!evhttp_request_get_connection(req))
		evhttp_send_reply(req, 503, "Service Unavailable", NULL); /* client gone: frees it */
	else if (!ok)
		send_status(rq, 503, "ServiceUnavailable", "the server is shutting down");
	else
		on_request(req, a);
}

/* Right before a turn's commit: periodic compaction keeps the change log
 * bounded. */
static void compact_before_commit(void *ud)
{
	struct apiserver *a = ud;
	if (a->writes_since_compact >= 1000) {
		a->writes_since_compact = 0;
		store_compact(a->store, a->cfg.history);
	}
}

/* ---- life cycle --------------------------------------------------------------------- */

static int load_crd(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	cJSON *o = cJSON_ParseWithLength(value, len);
	char err[256];
	if (o && kinds_register_crd(o, err, sizeof err) < 0)
		log_warn("ignoring stored CRD %s: %s", key, err);
	cJSON_Delete(o);
	return 0;
}

static bool crd_stored(const char *crd_name)
{
	for (struct apiserver *a = all_apis; a; a = a->next_api)
		if (crd_in_store(a->store, crd_name))
			return true;
	return false;
}

/* A rolled-back batch may have registered, changed or removed CRD kinds
 * (objects.c does it at write time): make the registry match what is
 * stored again. Watches on custom kinds end (clients re-list), as on any
 * committed CRD change. Runs from its own event, never inside a request. */
static void on_crd_resync(evutil_socket_t fd, short what, void *arg)
{
	int n = 0, cap = kinds_count();
	char **names = calloc((size_t)cap + 1, sizeof *names);
	for (int i = 0; i < cap; i++) {
		const struct kind_info *k = kinds_at(i);
		if (!k->dynamic)
			continue;
		size_t len = strlen(k->plural) + strlen(k->group) + 2;
		char *name = malloc(len);
		snprintf(name, len, "%s.%s", k->plural, k->group);
		bool dup = false;
		for (int j = 0; j < n; j++)
			dup |= strcmp(names[j], name) == 0;
		if (dup)
			free(name);
		else
			names[n++] = name;
	}
	for (struct apiserver *a = all_apis; a; a = a->next_api)
		for (struct watcher *w = a->watchers, *next; w; w = next) {
			next = w->next;
			if (w->k->dynamic)
				watcher_end(w);
		}
	for (int i = 0; i < n; i++) {
		if (!crd_stored(names[i]))
			kinds_unregister_crd(names[i]);
		free(names[i]);
	}
	free(names);
	for (struct apiserver *a = all_apis; a; a = a->next_api)
		store_list(a->store, "apiextensions.k8s.io/customresourcedefinitions/", load_crd, NULL, NULL);
}

static void on_rollback(struct store *s, void *ud)
{
	struct apiserver *a = ud;
	pbhttp_cache_clear(a->pbcache); /* rolled-back revisions may be reused */
	event_active(a->crd_resync_ev, EV_TIMEOUT, 0);
}

static void ensure_namespace(struct apiserver *a, const char *name)
{
	const struct kind_info *k = kinds_find_kind("", "v1", "Namespace");
	char *out = NULL;
	struct api_error e = {0};
	if (obj_get(&a->objects, k, "", name, &out, &e) == 0) {
		free(out);
		return;
	}
	api_error_clear(&e);
	cJSON *ns = cJSON_CreateObject();
	json_set_str(json_ensure_obj(ns, "metadata"), "name", name);
	if (obj_create(&a->objects, k, "", ns, false, &out, &e) == 0)
		free(out);
	else
		log_error("cannot create namespace %s: %s", name, e.message);
	api_error_clear(&e);
	cJSON_Delete(ns);
}

static struct evhttp *new_http(struct apiserver *a);

struct apiserver *apiserver_new(struct event_base *base, struct store *st, const struct apiserver_config *cfg)
{
	struct apiserver *a = calloc(1, sizeof *a);
	a->base = base;
	a->store = st;
	a->cfg = *cfg;
	if (!a->cfg.max_body_bytes)
		a->cfg.max_body_bytes = 3u << 20;
	if (!a->cfg.max_header_bytes)
		a->cfg.max_header_bytes = 64u << 10;
	if (!a->cfg.request_timeout_s)
		a->cfg.request_timeout_s = 60;
	if (!a->cfg.history)
		a->cfg.history = 20000;
	if (!a->cfg.max_watches)
		a->cfg.max_watches = 10000;
	a->objects.store = st;
	/* Service IPs continue after a restart instead of repeating. */
	a->objects.ip_seq = (unsigned long)store_revision(st);
	kinds_init();
	store_list(st, "apiextensions.k8s.io/customresourcedefinitions/", load_crd, NULL, NULL);
	store_subscribe_committed(st, on_store_event, a);
	static const char *const initial_ns[] = {"default", "kube-system", "kube-public", "kube-node-lease", NULL};
	for (int i = 0; initial_ns[i]; i++)
		ensure_namespace(a, initial_ns[i]);
	/* From here on, writes of one loop turn share one commit. */
	a->turn = cfg->turn;
	if (!a->turn) {
		a->turn = loopturn_new(base, st);
		a->own_turn = true;
	}
	loopturn_start(a->turn);
	/* A member (atoll-sim) does not yield: several simulated clusters share
	 * one loop, where something is always active — its own controllers'
	 * writes simply go in the next batch, as on a real API server. */
	loopturn_set_yield(a->turn, a->cfg.member ? 0 : LOOPTURN_YIELDS);
	loopturn_add_precommit(a->turn, compact_before_commit, a);
	a->crd_resync_ev = event_new(base, -1, 0, on_crd_resync, a);
	a->pbcache = pbhttp_cache_new();
	store_subscribe_rollback(st, on_rollback, a);
	a->next_api = all_apis;
	all_apis = a;
	a->http = new_http(a);
	return a;
}

/* One evhttp per listener kind; all share the handlers and the limits. */
static struct evhttp *new_http(struct apiserver *a)
{
	struct evhttp *http = evhttp_new(a->base);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
						    EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	/* libevent answers 413 itself past this size; read_body checks again. */
	evhttp_set_max_body_size(http, (ev_ssize_t)a->cfg.max_body_bytes);
	evhttp_set_max_headers_size(http, (ev_ssize_t)(a->cfg.max_header_bytes + REQUEST_LINE_ROOM));
	evhttp_set_timeout(http, a->cfg.request_timeout_s);
	evhttp_set_gencb(http, on_request, a);
	return http;
}

static int bind_http(struct evhttp *http, const char *hostport, char *err, size_t errlen);

int apiserver_listen_insecure(struct apiserver *a, const char *hostport, char *err, size_t errlen)
{
	return bind_http(a->http, hostport, err, errlen);
}

int apiserver_listen_bev(struct apiserver *a, const char *hostport,
			 struct bufferevent *(*bevcb)(struct event_base *, void *), void *ud, char *err, size_t errlen)
{
	if (a->nextra == (int)(sizeof a->extra / sizeof a->extra[0])) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	struct evhttp *http = new_http(a);
	evhttp_set_bevcb(http, bevcb, ud);
	int port = bind_http(http, hostport, err, errlen);
	if (port < 0) {
		evhttp_free(http);
		return -1;
	}
	a->extra[a->nextra++] = http;
	return port;
}

void apiserver_set_authorizer(struct apiserver *a, api_authorize_fn fn, void *ud)
{
	a->authz = fn;
	a->authz_ud = ud;
}

/* Why a listener could not be opened, and what to do about it. */
static void listen_error(const char *hostport, int e, char *err, size_t errlen)
{
	const char *hint = "";
	if (e == EADDRINUSE)
		hint = " (another process listens there: `ss -ltnp` shows which; stop it or pick another port, "
		       "or port 0 for any free one)";
	else if (e == EACCES)
		hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE; pick a port above 1023)";
	else if (e == EADDRNOTAVAIL)
		hint = " (no interface of this machine has that address; 127.0.0.1 is the loopback)";
	if (e)
		snprintf(err, errlen, "cannot listen on %s: %s%s", hostport, strerror(e), hint);
	else
		snprintf(err, errlen, "cannot listen on %s: cannot resolve the host", hostport);
}

static int bind_http(struct evhttp *http, const char *hostport, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof host) {
		snprintf(err, errlen, "invalid listen address %s (want HOST:PORT)", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || errno || port < 0 || port > 65535) {
		snprintf(err, errlen, "invalid port in %s (want 0-65535; 0 picks a free one)", hostport);
		return -1;
	}
	errno = 0;
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
	if (!bs) {
		listen_error(hostport, errno, err, errlen);
		return -1;
	}
	evutil_socket_t fd = evhttp_bound_socket_get_fd(bs);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	char name[300];
	snprintf(name, sizeof name, "%s:%ld", host, port);
	listenguard_attach(evhttp_bound_socket_get_listener(bs), http, name); /* calm when out of descriptors */
	return port;
}

void apiserver_add_route(struct apiserver *a, const char *prefix, api_route_fn fn, void *ud)
{
	if (a->nroutes < MAX_ROUTES) {
		snprintf(a->routes[a->nroutes].prefix, sizeof a->routes[a->nroutes].prefix, "%s", prefix);
		a->routes[a->nroutes].fn = fn;
		a->routes[a->nroutes].ud = ud;
		a->nroutes++;
	}
}

void apiserver_set_request_hook(struct apiserver *a, api_request_hook fn, void *ud)
{
	a->hook = fn;
	a->hook_ud = ud;
}

int apiserver_watch_count(const struct apiserver *a) { return a->nwatchers; }

struct obj_ctx *apiserver_objects(struct apiserver *a) { return &a->objects; }
struct evhttp *apiserver_http(struct apiserver *a) { return a->http; }

void apiserver_free(struct apiserver *a)
{
	if (!a)
		return;
	/* What is pending becomes durable (or fails) and is answered. */
	loopturn_finish(a->turn);
	loopturn_remove(a->turn, compact_before_commit, a);
	rv_wait_close(a);
	if (a->own_turn)
		loopturn_free(a->turn); /* batching off */
	store_unsubscribe(a->store, on_store_event, a);
	store_unsubscribe_rollback(a->store, on_rollback, a);
	for (struct apiserver **p = &all_apis; *p; p = &(*p)->next_api)
		if (*p == a) {
			*p = a->next_api;
			break;
		}
	event_free(a->crd_resync_ev);
	while (a->redo) { /* requests run again that never answered (gone) */
		struct redo *r = a->redo;
		a->redo = r->next;
		free(r);
	}
	apiserver_close_watches(a);
	listenguard_forget(a->http);
	pbhttp_cache_free(a->pbcache);
	evhttp_free(a->http);
	for (int i = 0; i < a->nextra; i++) {
		listenguard_forget(a->extra[i]);
		evhttp_free(a->extra[i]);
	}
	free(a);
}
