#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "timefmt.h"
#include "tls.h"
#include "tokens.h"

/* ---- the authorizer (pure) ------------------------------------------------------ */

bool auth_in_group(const struct auth_identity *id, const char *group)
{
	for (int i = 0; i < id->ngroups; i++)
		if (strcmp(id->groups[i], group) == 0)
			return true;
	return false;
}

const char *auth_agent_cluster(const struct auth_identity *id)
{
	size_t n = strlen(AUTH_AGENT_PREFIX);
	if (id->via == AUTH_ANONYMOUS || strncmp(id->user, AUTH_AGENT_PREFIX, n) != 0 || !id->user[n] ||
	    !auth_in_group(id, AUTH_GROUP_AGENTS))
		return NULL;
	return id->user + n;
}

bool auth_agent_may_access_cluster(const struct auth_identity *id, const char *cluster)
{
	if (!id || !cluster || !*cluster)
		return false;
	if (id->via == AUTH_INSECURE || (id->via != AUTH_ANONYMOUS && auth_in_group(id, AUTH_GROUP_ADMIN)))
		return true;
	const char *mine = auth_agent_cluster(id);
	return mine && strcmp(mine, cluster) == 0;
}

static bool is(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool read_verb(const char *v)
{
	return is(v, "get") || is(v, "list") || is(v, "watch");
}

static bool status_verb(const char *v)
{
	return is(v, "get") || is(v, "update") || is(v, "patch");
}

static bool path_is_or_under(const char *path, const char *p)
{
	size_t n = strlen(p);
	return strncmp(path, p, n) == 0 && (path[n] == '\0' || path[n] == '/' || path[n] == '?');
}

static bool health_path(const char *path)
{
	return path_is_or_under(path, "/healthz") || path_is_or_under(path, "/livez") || path_is_or_under(path, "/readyz");
}

static bool discovery_path(const char *path)
{
	return path_is_or_under(path, "/api") || path_is_or_under(path, "/apis") || is(path, "/version") ||
	       path_is_or_under(path, "/openapi") || strncmp(path, "/swagger", 8) == 0;
}

static void forbid_resource(const struct auth_identity *id, const struct auth_attrs *a, char *reason, size_t len)
{
	char qual[300], res[200], scope[300];
	const char *g = a->group ? a->group : "";
	snprintf(qual, sizeof qual, "%s%s%s", a->resource_name, g[0] ? "." : "", g);
	snprintf(res, sizeof res, "%s%s%s", a->resource_name, a->sub && a->sub[0] ? "/" : "", a->sub ? a->sub : "");
	if (a->ns && a->ns[0])
		snprintf(scope, sizeof scope, "in the namespace \"%s\"", a->ns);
	else
		snprintf(scope, sizeof scope, "at the cluster scope");
	char named[300] = "";
	if (a->name && a->name[0])
		snprintf(named, sizeof named, " \"%s\"", a->name);
	snprintf(reason, len, "%s%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\" %s", qual,
		 named, id->user, a->verb, res, g, scope);
}

enum auth_decision auth_authorize(const struct auth_identity *id, const struct auth_attrs *a, char *reason,
				  size_t reason_len)
{
	const char *path = a->path ? a->path : "";
	if (!a->resource && health_path(path))
		return AUTH_ALLOW;
	bool cluster_scoped = !(a->ns && a->ns[0]);
	if (a->resource && is(a->group, "atoll.io") && is(a->resource_name, "join") && !(a->name && a->name[0]) &&
	    !(a->sub && a->sub[0]) && cluster_scoped)
		return AUTH_ALLOW; /* JoinInfo (the CA bundle) is public like kube's cluster-info; the
				    * join handler authenticates a JoinRequest itself, with clearer refusals */
	if (id->via == AUTH_ANONYMOUS) {
		snprintf(reason, reason_len, "Unauthorized");
		return AUTH_UNAUTHENTICATED;
	}
	if (id->via == AUTH_INSECURE || auth_in_group(id, AUTH_GROUP_ADMIN))
		return AUTH_ALLOW;
	bool bootstrap_only = id->via == AUTH_BOOTSTRAP_TOKEN;
	bool viewer = !bootstrap_only && auth_in_group(id, AUTH_GROUP_VIEWERS);
	if (a->resource && !bootstrap_only && is(a->group, "authorization.k8s.io") &&
	    is(a->resource_name, "selfsubjectaccessreviews") && is(a->verb, "create") && cluster_scoped &&
	    !(a->name && a->name[0]) && !(a->sub && a->sub[0]))
		return AUTH_ALLOW; /* as system:basic-user: anyone may ask what they may do (kubectl auth can-i) */
	if (!a->resource) {
		bool get = is(a->verb, "get") || is(a->verb, "head");
		if (get && !bootstrap_only && discovery_path(path))
			return AUTH_ALLOW;
		if (get && viewer &&
		    (path_is_or_under(path, "/status") || path_is_or_under(path, "/dashboard") || is(path, "/metrics")))
			return AUTH_ALLOW;
		snprintf(reason, reason_len, "forbidden: User \"%s\" cannot %s path \"%s\"", id->user, a->verb, path);
		return AUTH_FORBIDDEN;
	}
	const char *g = a->group ? a->group : "";
	const char *sub = a->sub ? a->sub : "";
	const char *r = a->resource_name ? a->resource_name : "";
	const char *c = bootstrap_only ? NULL : auth_agent_cluster(id);
	if (c) {
		char exec_ns[128];
		snprintf(exec_ns, sizeof exec_ns, "karmada-es-%s", c);
		if (is(g, "atoll.io") && is(r, "clusters") && is(a->name, c) && cluster_scoped)
			return AUTH_ALLOW; /* the agent protocol of its own cluster */
		if (is(g, "work.karmada.io") && is(r, "works") && is(a->ns, exec_ns) &&
		    ((!sub[0] && read_verb(a->verb)) || (is(sub, "status") && status_verb(a->verb))))
			return AUTH_ALLOW;
		if (is(g, "cluster.karmada.io") && is(r, "clusters") && is(a->name, c) && cluster_scoped &&
		    ((!sub[0] && is(a->verb, "get")) || (is(sub, "status") && status_verb(a->verb))))
			return AUTH_ALLOW;
		if (is(g, "coordination.k8s.io") && is(r, "leases") && is(a->ns, "karmada-cluster") && is(a->name, c) &&
		    !sub[0] && status_verb(a->verb))
			return AUTH_ALLOW;
	}
	if (viewer && read_verb(a->verb) && !(g[0] == '\0' && is(r, "secrets")) && !(is(g, "work.karmada.io") && is(r, "works")) &&
	    !is(g, "atoll.io"))
		return AUTH_ALLOW;
	forbid_resource(id, a, reason, reason_len);
	return AUTH_FORBIDDEN;
}

/* ---- identities --------------------------------------------------------------- */

struct auth {
	char dir[4096];
	struct evhttp_request *cached_req; /* set by the apiserver hook, first for every request */
	struct auth_identity cached;
	int cached_code;
	char cached_msg[512];
};

struct auth *auth_new(const char *data_dir)
{
	struct auth *au = calloc(1, sizeof *au);
	snprintf(au->dir, sizeof au->dir, "%s", data_dir ? data_dir : ".");
	return au;
}

void auth_free(struct auth *au)
{
	free(au);
}

static void add_group(struct auth_identity *id, const char *g)
{
	if (id->ngroups < AUTH_MAX_GROUPS && !auth_in_group(id, g))
		snprintf(id->groups[id->ngroups++], sizeof id->groups[0], "%s", g);
}

/* A bearer token (header, or the dashboard cookie) -> identity. */
static int identify_token(struct auth *au, const char *tok, struct auth_identity *id, char *msg, size_t msglen)
{
	struct token_rec r;
	char ts[32];
	switch (tokens_lookup(au->dir, tok, time(NULL), &r)) {
	case TOKEN_MALFORMED:
		snprintf(msg, msglen, "invalid bearer token (want the form abcdef.0123456789abcdef)");
		return 401;
	case TOKEN_UNKNOWN:
		snprintf(msg, msglen, "token \"%.6s\" is not known to this hub (deleted, or created on another hub?)", tok);
		return 401;
	case TOKEN_EXPIRED:
		snprintf(msg, msglen, "token \"%s\" expired at %s; create a new one with atoll-hub token create", r.id,
			 time_rfc3339(r.expires, ts, sizeof ts));
		return 401;
	case TOKEN_OK:
		break;
	}
	snprintf(id->token_id, sizeof id->token_id, "%s", r.id);
	if (r.usage == TOKEN_BOOTSTRAP) {
		id->via = AUTH_BOOTSTRAP_TOKEN;
		snprintf(id->user, sizeof id->user, "system:bootstrap:%s", r.id);
		snprintf(id->token_cluster, sizeof id->token_cluster, "%s", r.cluster);
		add_group(id, AUTH_GROUP_BOOTSTRAP);
	} else {
		id->via = AUTH_TOKEN;
		snprintf(id->user, sizeof id->user, "%s", r.user);
		for (int i = 0; i < r.ngroups; i++)
			add_group(id, r.groups[i]);
	}
	add_group(id, "system:authenticated");
	return 0;
}

/* ---- the dashboard cookie ------------------------------------------------------ */

/* A browser's EventSource cannot send an Authorization header: /dashboard
 * and /status also take the token from this cookie, set by visiting
 * /dashboard?token=<token> once. Nothing else reads it. */
#define DASHBOARD_COOKIE "atoll-token"

static bool cookie_path(const char *path)
{
	return path && (path_is_or_under(path, "/status") || path_is_or_under(path, "/dashboard"));
}

static const char *request_path(struct evhttp_request *req, char *buf, size_t len)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *p = uri ? evhttp_uri_get_path(uri) : NULL;
	snprintf(buf, len, "%s", p ? p : "");
	return buf;
}

/* The value of cookie name in a Cookie header, copied into out. */
static bool find_cookie(const char *header, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	for (const char *c = header; c && *c;) {
		while (*c == ' ' || *c == ';')
			c++;
		const char *end = strchr(c, ';');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (len > n && strncmp(c, name, n) == 0 && c[n] == '=') {
			size_t vl = len - n - 1;
			if (vl == 0 || vl >= outlen)
				return false;
			memcpy(out, c + n + 1, vl);
			out[vl] = '\0';
			return true;
		}
		c = end;
	}
	return false;
}

/* The token of GET /dashboard?token=..., or false. */
static bool dashboard_query_token(struct evhttp_request *req, char *out, size_t outlen)
{
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
		return false;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	if (!q)
		return false;
	struct evkeyvalq kv;
	TAILQ_INIT(&kv);
	bool found = false;
	if (evhttp_parse_query_str(q, &kv) == 0) {
		const char *t = evhttp_find_header(&kv, "token");
		if (t && *t && strlen(t) < outlen) {
			snprintf(out, outlen, "%s", t);
			found = true;
		}
	}
	evhttp_clear_headers(&kv);
	return found;
}

static int identify(struct auth *au, struct evhttp_request *req, struct auth_identity *id, char *msg, size_t msglen)
{
	memset(id, 0, sizeof *id);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	const struct tls_peer *peer = tls_peer_of(bev);
	if (!peer) {
		/* The insecure listener: local use and tests, full access. */
		id->via = AUTH_INSECURE;
		snprintf(id->user, sizeof id->user, "system:admin");
		add_group(id, AUTH_GROUP_ADMIN);
		add_group(id, "system:authenticated");
		return 0;
	}
	if (peer->has_cert) {
		if (!peer->cn[0]) {
			snprintf(msg, msglen, "the client certificate has no common name (CN)");
			return 401;
		}
		id->via = AUTH_CERT;
		snprintf(id->user, sizeof id->user, "%s", peer->cn);
		for (int i = 0; i < peer->norgs; i++)
			add_group(id, peer->orgs[i]);
		add_group(id, "system:authenticated");
		return 0;
	}
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *h = evhttp_find_header(in, "Authorization");
	if (!h) {
		/* The dashboard's token: ?token= on /dashboard (then a cookie is
		 * set, see auth_apiserver_hook), or the cookie on /dashboard and
		 * /status. */
		char path[512], tok[256];
		const char *cookies = evhttp_find_header(in, "Cookie");
		if (!cookie_path(request_path(req, path, sizeof path)))
			return 0;
		if (!(path_is_or_under(path, "/dashboard") && dashboard_query_token(req, tok, sizeof tok)) &&
		    !(cookies && find_cookie(cookies, DASHBOARD_COOKIE, tok, sizeof tok)))
			return 0; /* anonymous */
		int code = identify_token(au, tok, id, msg, msglen);
		memset(tok, 0, sizeof tok);
		size_t ml = strlen(msg);
		if (code && ml + 80 < msglen)
			snprintf(msg + ml, msglen - ml, " (the dashboard's token: open /dashboard?token=<token> with a valid one)");
		return code;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		snprintf(msg, msglen, "unsupported Authorization scheme (want Bearer or a client certificate)");
		return 401;
	}
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	return identify_token(au, tok, id, msg, msglen);
}

/* GET /dashboard?token=T by a user who may see the dashboard: the token
 * goes into an HttpOnly, SameSite=Strict, Secure cookie for /dashboard
 * and /status, and the browser is sent to /dashboard without it in the
 * address (nor in history or logs). */
static bool dashboard_login(const struct api_req *rq, const char *path)
{
	struct evhttp_request *req = rq->req;
	char tok[256];
	if (!path_is_or_under(path, "/dashboard") ||
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization") ||
	    !dashboard_query_token(req, tok, sizeof tok))
		return false;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char c[512];
	static const char *const paths[] = {"/dashboard", "/status"};
	for (int i = 0; i < 2; i++) {
		snprintf(c, sizeof c, DASHBOARD_COOKIE "=%s; Path=%s; HttpOnly; SameSite=Strict; Secure", tok, paths[i]);
		evhttp_add_header(out, "Set-Cookie", c);
	}
	memset(tok, 0, sizeof tok);
	memset(c, 0, sizeof c);
	evhttp_add_header(out, "Location", "/dashboard");
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	api_send_reply(rq, 303, "See Other", NULL); /* in order with held answers */
	return true;
}

int auth_identify(struct auth *au, struct evhttp_request *req, struct auth_identity *id, char *msg, size_t msglen)
{
	if (au->cached_req == req) {
		*id = au->cached;
		snprintf(msg, msglen, "%s", au->cached_msg);
		return au->cached_code;
	}
	return identify(au, req, id, msg, msglen);
}

void auth_send_unauthorized(const struct api_req *rq, const char *msg)
{
	struct api_error e = {0};
	api_error_set(&e, 401, "Unauthorized", "%s", msg && *msg ? msg : "Unauthorized");
	api_send_error(rq, &e, NULL);
	api_error_clear(&e);
}

static void send_forbidden(const struct api_req *rq, const char *msg)
{
	struct api_error e = {0};
	api_error_set(&e, 403, "Forbidden", "%s", msg);
	api_send_error(rq, &e, NULL);
	api_error_clear(&e);
}

bool auth_apiserver_hook(const struct api_req *rq, const struct api_request_attrs *at, void *ud)
{
	struct evhttp_request *req = rq->req;
	struct auth *au = ud;
	/* First for every request: refresh the per-request cache. */
	au->cached_msg[0] = '\0';
	au->cached_code = identify(au, req, &au->cached, au->cached_msg, sizeof au->cached_msg);
	au->cached_req = req;
	const struct auth_identity *id = &au->cached;
	if (id->via == AUTH_INSECURE)
		return true;
	struct auth_attrs a = {.verb = at->verb, .resource = at->res != NULL, .path = at->path};
	if (at->res) {
		a.group = at->res->group;
		a.resource_name = at->res->resource;
		a.ns = at->res->ns;
		a.name = at->res->name;
		a.sub = at->res->sub;
	}
	if (au->cached_code == 401) {
		if (!a.resource && health_path(at->path))
			return true;
		auth_send_unauthorized(rq, au->cached_msg);
		return false;
	}
	char reason[1024];
	switch (auth_authorize(id, &a, reason, sizeof reason)) {
	case AUTH_ALLOW:
		if (id->via == AUTH_TOKEN && dashboard_login(rq, at->path))
			return false; /* answered: 303 with the cookie */
		return true;
	case AUTH_UNAUTHENTICATED:
		auth_send_unauthorized(rq, NULL);
		return false;
	case AUTH_FORBIDDEN:
		log_debug("auth: %s", reason);
		send_forbidden(rq, reason);
		return false;
	}
	return false;
}

int auth_agentapi_hook(struct evhttp_request *req, const char *cluster, char *msg, size_t msglen, void *ud)
{
	struct auth *au = ud;
	struct auth_identity id;
	int code = auth_identify(au, req, &id, msg, msglen);
	if (code)
		return code;
	if (id.via == AUTH_ANONYMOUS) {
		snprintf(msg, msglen, "Unauthorized");
		return 401;
	}
	if (auth_agent_may_access_cluster(&id, cluster))
		return 0;
	snprintf(msg, msglen, "forbidden: User \"%s\" cannot use the agent protocol of cluster \"%s\"", id.user, cluster);
	return 403;
}
