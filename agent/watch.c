/* watch.c — the member side: discovery (kind -> resource), the index of
 * owned objects kept by list + watch (labelSelector karmada.io/managed=true)
 * per resource, the namespaces known to exist, and the state directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "memberapi.h"
#include "retry.h"
#include "watch.h"

#define WATCH_TIMEOUT_S 300
/* A watch that ran this long was healthy: what follows it starts afresh. */
#define WATCH_HEALTHY_MS 5000
#define MAX_LINE (16u << 20)

static const char SELECTOR_Q[] = "labelSelector=karmada.io%2Fmanaged%3Dtrue";

static void watch_list(struct gvr *g);
static void watch_start(struct gvr *g);
static void gvr_retry_later(struct gvr *g);

/* ---- discovery ---- */

struct gv *watch_gv_find(struct agent *ag, const char *group, const char *version)
{
	for (struct gv *v = ag->gvs; v; v = v->next)
		if (strcmp(v->group, group) == 0 && strcmp(v->version, version) == 0)
			return v;
	return NULL;
}

struct gv *watch_gv_store(struct agent *ag, const char *group, const char *version, const cJSON *list)
{
	struct gv *v = watch_gv_find(ag, group, version);
	if (!v) {
		v = calloc(1, sizeof *v);
		snprintf(v->group, sizeof v->group, "%s", group);
		snprintf(v->version, sizeof v->version, "%s", version);
		v->next = ag->gvs;
		ag->gvs = v;
	}
	cJSON_Delete(v->resources);
	/* Keep only what kind -> resource needs. */
	v->resources = cJSON_CreateArray();
	const cJSON *r;
	cJSON_ArrayForEach(r, json_get(list, "resources")) {
		const char *name = json_get_str(r, "name"), *kind = json_get_str(r, "kind");
		if (!name || !kind || strchr(name, '/'))
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", name);
		cJSON_AddStringToObject(e, "kind", kind);
		cJSON_AddBoolToObject(e, "namespaced", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "namespaced")));
		cJSON_AddItemToArray(v->resources, e);
	}
	return v;
}

void watch_gv_forget(struct agent *ag, struct gv *gv)
{
	for (struct gv **pp = &ag->gvs; *pp; pp = &(*pp)->next)
		if (*pp == gv) {
			*pp = gv->next;
			cJSON_Delete(gv->resources);
			free(gv);
			return;
		}
}

struct gvr *watch_gvr_for_kind(struct agent *ag, struct gv *gv, const char *kind)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, gv->resources) {
		const char *k = json_get_str(r, "kind");
		if (k && strcmp(k, kind) == 0)
			return watch_gvr_add(ag, gv->group, gv->version, kind, json_get_str(r, "name"),
				       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "namespaced")));
	}
	return NULL;
}

void watch_gvr_path(const struct gvr *g, const char *ns, const char *name, char *buf, size_t len)
{
	size_t o;
	if (g->group[0])
		o = (size_t)snprintf(buf, len, "/apis/%s/%s", g->group, g->version);
	else
		o = (size_t)snprintf(buf, len, "/api/%s", g->version);
	if (ns && *ns && g->namespaced && o < len)
		o += (size_t)snprintf(buf + o, len - o, "/namespaces/%s", ns);
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, "/%s", g->resource);
	if (name && *name && o < len)
		snprintf(buf + o, len - o, "/%s", name);
}

/* ---- owned index ---- */

struct owned *watch_owned_find(struct gvr *g, const char *ns, const char *name)
{
	for (struct owned *o = g->owned; o; o = o->next)
		if (strcmp(o->ns, ns ? ns : "") == 0 && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static bool ours(struct agent *ag, const cJSON *obj)
{
	if (!member_owned(obj))
		return false;
	const char *wns = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.annotations"), WORK_NAMESPACE_ANN));
	return wns && strcmp(wns, ag->exec_ns) == 0;
}

static struct owned *owned_new(const char *ns, const char *name, const char *uid, const char *work)
{
	size_t l1 = strlen(ns) + 1, l2 = strlen(name) + 1, l3 = strlen(uid) + 1, l4 = strlen(work) + 1;
	struct owned *o = calloc(1, sizeof *o + l1 + l2 + l3 + l4);
	char *p = (char *)(o + 1);
	o->ns = memcpy(p, ns, l1);
	o->name = memcpy(p + l1, name, l2);
	o->uid = memcpy(p + l1 + l2, uid, l3);
	o->work_name = memcpy(p + l1 + l2 + l3, work, l4);
	backoff_init_policy(&o->bo, 0);
	return o;
}

static void owned_set(struct gvr *g, const cJSON *obj)
{
	const char *ns = json_get_str(obj, "metadata.namespace");
	const char *name = json_get_str(obj, "metadata.name");
	const char *uid = json_get_str(obj, "metadata.uid");
	const char *wn = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.annotations"), WORK_NAME_ANN));
	ns = ns ? ns : "";
	uid = uid ? uid : "";
	wn = wn ? wn : "";
	struct owned **pp = &g->owned;
	while (*pp && !(strcmp((*pp)->ns, ns) == 0 && strcmp((*pp)->name, name) == 0))
		pp = &(*pp)->next;
	if (*pp && strcmp((*pp)->uid, uid) == 0 && strcmp((*pp)->work_name, wn) == 0)
		return;
	struct owned *o = owned_new(ns, name, uid, wn);
	if (*pp) {
		/* Same uid: a delete may be under way; a new uid: a new object. */
		if (strcmp((*pp)->uid, uid) == 0) {
			o->deleting = (*pp)->deleting;
			o->bo = (*pp)->bo; /* its deletion's retries go on */
		}
		o->next = (*pp)->next;
		free(*pp);
		*pp = o;
	} else {
		o->next = g->owned;
		g->owned = o;
	}
}

/* Removes and returns whether it was there; work name copied out. */
static bool owned_del(struct gvr *g, const char *ns, const char *name, char *work, size_t wlen)
{
	struct owned **pp = &g->owned;
	for (; *pp; pp = &(*pp)->next) {
		struct owned *o = *pp;
		if (strcmp(o->ns, ns ? ns : "") == 0 && strcmp(o->name, name) == 0) {
			snprintf(work, wlen, "%s", o->work_name);
			*pp = o->next;
			free(o);
			return true;
		}
	}
	return false;
}

static void owned_clear(struct owned *o)
{
	while (o) {
		struct owned *n = o->next;
		free(o);
		o = n;
	}
}

bool watch_gvrs_synced(struct agent *ag)
{
	for (struct gvr *g = ag->gvrs; g; g = g->next)
		if (!g->synced)
			return false;
	return true;
}

/* ---- list + watch ---- */

static void on_object(struct gvr *g, const char *type, const cJSON *obj)
{
	struct agent *ag = g->ag;
	const char *ns = json_get_str(obj, "metadata.namespace");
	const char *name = json_get_str(obj, "metadata.name");
	if (!name)
		return;
	char work[254] = "";
	if (strcmp(type, "DELETED") == 0 || !ours(ag, obj)) {
		if (owned_del(g, ns, name, work, sizeof work))
			ag->reports->member_deleted(ag, g, ns ? ns : "", name, work);
		return;
	}
	owned_set(g, obj);
	ag->reports->member_event(ag, g, type, obj);
	log_kv(LOG_DEBUG, "owned object event handled", "resource", g->resource, "event", type, "namespace",
	       ns ? ns : "", "name", name, "resourceVersion", json_get_str(obj, "metadata.resourceVersion"), NULL);
}

static void retry_fire(evutil_socket_t fd, short what, void *arg)
{
	struct gvr *g = arg;
	if (g->rev[0] && g->synced)
		watch_start(g);
	else
		watch_list(g);
}

/* The list or watch failed: again after the resource's backoff. It is
 * reset only by a watch that ran a while (WATCH_HEALTHY_MS), not by a
 * list that succeeds, so a list -> watch refused at once -> list cycle
 * backs off too. */
static void gvr_retry_later(struct gvr *g)
{
	retry_later(g->retry_ev, &g->bo);
}

void watch_member_back(struct agent *ag)
{
	for (struct gvr *g = ag->gvrs; g; g = g->next) {
		backoff_reset(&g->bo);
		if (!g->call && evtimer_pending(g->retry_ev, NULL)) {
			event_del(g->retry_ev);
			event_active(g->retry_ev, EV_TIMEOUT, 0);
		}
	}
}

static void list_done(const struct http_response *r, void *ud)
{
	struct gvr *g = ud;
	struct agent *ag = g->ag;
	g->call = NULL;
	cJSON *j = r->status == 200 ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const char *rv = json_get_str(j, "metadata.resourceVersion");
	if (!j || !rv || !cJSON_IsArray(json_get(j, "items"))) {
		char m[256];
		log_kv(LOG_WARN, "cannot list owned objects", "resource", g->resource, "error",
		       j ? "malformed list" : member_response_message(r, m, sizeof m), NULL);
		cJSON_Delete(j);
		gvr_retry_later(g);
		return;
	}
	snprintf(g->rev, sizeof g->rev, "%s", rv);
	/* What vanished while nobody watched is a deletion. */
	struct owned *old = g->owned;
	g->owned = NULL;
	const cJSON *it;
	cJSON_ArrayForEach(it, json_get(j, "items")) {
		/* Lists leave out apiVersion/kind of items. */
		if (ours(ag, it))
			owned_set(g, it);
	}
	for (struct owned *o = old; o; o = o->next) {
		struct owned *n = watch_owned_find(g, o->ns, o->name);
		if (!n)
			ag->reports->member_deleted(ag, g, o->ns, o->name, o->work_name);
		else if (o->bo.attempt && strcmp(n->uid, o->uid) == 0)
			n->bo = o->bo; /* the same object: its deletion keeps backing off */
	}
	owned_clear(old);
	cJSON_ArrayForEach(it, json_get(j, "items")) {
		if (!ours(ag, it))
			continue;
		cJSON *full = json_dup(it);
		char av[200];
		snprintf(av, sizeof av, "%s%s%s", g->group, g->group[0] ? "/" : "", g->version);
		json_set_str(full, "apiVersion", av);
		json_set_str(full, "kind", g->kind);
		ag->reports->member_event(ag, g, "MODIFIED", full);
		cJSON_Delete(full);
	}
	cJSON_Delete(j);
	if (!g->synced)
		log_kv(LOG_DEBUG, "owned objects listed", "resource", g->resource, NULL);
	g->synced = true;
	ag->reports->owned_listed(ag);
	watch_start(g);
}

static void watch_list(struct gvr *g)
{
	if (g->call || g->ag->stopping)
		return;
	char path[600];
	watch_gvr_path(g, NULL, NULL, path, sizeof path);
	size_t n = strlen(path);
	snprintf(path + n, sizeof path - n, "?%s", SELECTOR_Q);
	g->call = member_call(g->ag, "GET", path, NULL, NULL, 60000, list_done, NULL, g);
	g->watching = false;
	if (!g->call)
		gvr_retry_later(g);
}

static bool handle_line(struct gvr *g, char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return true;
	cJSON *ev = cJSON_ParseWithLength(line, len);
	const char *type = json_get_str(ev, "type");
	const cJSON *obj = json_get(ev, "object");
	if (!type || !cJSON_IsObject(obj)) {
		cJSON_Delete(ev);
		return true;
	}
	if (strcmp(type, "ERROR") == 0) {
		/* 410 Gone and anything else: start over with a list. */
		log_kv(LOG_DEBUG, "watch error; listing again", "resource", g->resource, "message",
		       json_get_str(obj, "message"), NULL);
		g->rev[0] = '\0';
		cJSON_Delete(ev);
		return false;
	}
	const char *rv = json_get_str(obj, "metadata.resourceVersion");
	if (rv)
		snprintf(g->rev, sizeof g->rev, "%s", rv);
	if (strcmp(type, "BOOKMARK") != 0)
		on_object(g, type, obj);
	cJSON_Delete(ev);
	return true;
}

static bool watch_data(const char *data, size_t len, void *ud)
{
	struct gvr *g = ud;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (g->line_len + 1 >= g->line_cap) {
				if (g->line_cap >= MAX_LINE)
					return false;
				g->line_cap = g->line_cap ? g->line_cap * 2 : 4096;
				g->line = realloc(g->line, g->line_cap);
			}
			g->line[g->line_len++] = data[i];
			continue;
		}
		bool ok = handle_line(g, g->line, g->line_len);
		g->line_len = 0;
		if (!ok)
			return false;
	}
	return true;
}

static void watch_done(const struct http_response *r, void *ud)
{
	struct gvr *g = ud;
	g->call = NULL;
	g->watching = false;
	if (g->line_len > 0) {
		handle_line(g, g->line, g->line_len);
		g->line_len = 0;
	}
	if (r->status == 410)
		g->rev[0] = '\0';
	/* One that ended at once (refused, an error or a 410 right away) is a
	 * failure like any other: retried after the backoff, never in a loop. */
	bool healthy = backoff_now_ms() - g->watch_started_ms >= WATCH_HEALTHY_MS;
	if (healthy)
		backoff_reset(&g->bo);
	if (healthy && (r->status == 200 || !g->rev[0])) {
		/* The server ended the watch (timeoutSeconds): resume; or the
		 * revision is gone: list again. */
		if (g->rev[0])
			watch_start(g);
		else
			watch_list(g);
		return;
	}
	char m[256];
	log_kv(LOG_DEBUG, "watch of owned objects ended; retrying", "resource", g->resource, "error",
	       member_response_message(r, m, sizeof m), NULL);
	gvr_retry_later(g);
}

static void watch_start(struct gvr *g)
{
	if (g->call || g->ag->stopping)
		return;
	if (!g->rev[0]) {
		watch_list(g);
		return;
	}
	char path[700];
	watch_gvr_path(g, NULL, NULL, path, sizeof path);
	size_t n = strlen(path);
	/* Spread re-watches of many resources over time. */
	int timeout = WATCH_TIMEOUT_S + (int)(backoff_rand(&g->bo) % 60);
	snprintf(path + n, sizeof path - n, "?watch=true&%s&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%d",
		 SELECTOR_Q, g->rev, timeout);
	struct http_request req = {
		.method = "GET",
		.path = path,
		.timeout_ms = (timeout + 30) * 1000L,
		.on_data = watch_data,
	};
	g->line_len = 0;
	g->watch_started_ms = backoff_now_ms();
	g->call = http_start(g->ag->http, &g->ag->member, &req, watch_done, g);
	g->watching = g->call != NULL;
	if (!g->call)
		gvr_retry_later(g);
}

struct gvr *watch_gvr_add(struct agent *ag, const char *group, const char *version, const char *kind, const char *resource,
		    bool namespaced)
{
	for (struct gvr *g = ag->gvrs; g; g = g->next)
		if (strcmp(g->group, group) == 0 && strcmp(g->resource, resource) == 0)
			return g;
	struct gvr *g = calloc(1, sizeof *g);
	g->ag = ag;
	snprintf(g->group, sizeof g->group, "%s", group);
	snprintf(g->version, sizeof g->version, "%s", version);
	snprintf(g->kind, sizeof g->kind, "%s", kind);
	snprintf(g->resource, sizeof g->resource, "%s", resource);
	g->namespaced = namespaced;
	backoff_init_policy(&g->bo, 0);
	g->retry_ev = evtimer_new(ag->base, retry_fire, g);
	g->next = ag->gvrs;
	ag->gvrs = g;
	log_kv(LOG_INFO, "watching owned objects", "resource", resource, "group", group[0] ? group : "core", NULL);
	watch_list(g);
	watch_state_save(ag);
	return g;
}

void watch_free_all(struct agent *ag)
{
	while (ag->gvrs) {
		struct gvr *g = ag->gvrs;
		ag->gvrs = g->next;
		event_free(g->retry_ev);
		owned_clear(g->owned);
		free(g->line);
		free(g);
	}
	while (ag->gvs) {
		struct gv *v = ag->gvs;
		ag->gvs = v->next;
		cJSON_Delete(v->resources);
		free(v);
	}
	for (int i = 0; i < ag->nknown_ns; i++)
		free(ag->known_ns[i]);
	free(ag->known_ns);
	ag->known_ns = NULL;
	ag->nknown_ns = ag->cap_known_ns = 0;
}

/* ---- namespaces ---- */

bool watch_ns_known(struct agent *ag, const char *ns)
{
	for (int i = 0; i < ag->nknown_ns; i++)
		if (strcmp(ag->known_ns[i], ns) == 0)
			return true;
	return false;
}

void watch_ns_remember(struct agent *ag, const char *ns)
{
	if (watch_ns_known(ag, ns))
		return;
	if (ag->nknown_ns == ag->cap_known_ns) {
		ag->cap_known_ns = ag->cap_known_ns ? ag->cap_known_ns * 2 : 16;
		ag->known_ns = realloc(ag->known_ns, (size_t)ag->cap_known_ns * sizeof *ag->known_ns);
	}
	ag->known_ns[ag->nknown_ns++] = strdup(ns);
}

/* ---- state directory: the resources the agent has managed, so that after
 * a restart it still watches (and can clean up) kinds no current Work
 * mentions. ---- */

static bool loading_state;

void watch_state_save(struct agent *ag)
{
	if (!ag->cfg.state_dir || loading_state)
		return;
	cJSON *arr = cJSON_CreateArray();
	for (struct gvr *g = ag->gvrs; g; g = g->next) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "group", g->group);
		cJSON_AddStringToObject(e, "version", g->version);
		cJSON_AddStringToObject(e, "kind", g->kind);
		cJSON_AddStringToObject(e, "resource", g->resource);
		cJSON_AddBoolToObject(e, "namespaced", g->namespaced);
		cJSON_AddItemToArray(arr, e);
	}
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "cluster", ag->cfg.cluster);
	cJSON_AddItemToObject(doc, "resources", arr);
	char *s = json_print(doc);
	cJSON_Delete(doc);
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/resources.json", ag->cfg.state_dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fputs(s, f) < 0 || fflush(f) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		log_kv(LOG_WARN, "cannot write the state file", "path", path, "error", strerror(errno), NULL);
		if (f)
			fclose(f);
	}
	free(s);
}

void watch_state_load(struct agent *ag)
{
	if (!ag->cfg.state_dir)
		return;
	char path[4096];
	snprintf(path, sizeof path, "%s/resources.json", ag->cfg.state_dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *buf = malloc(1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	char err[128];
	cJSON *doc = json_parse_limited(buf, n, 10, err, sizeof err);
	free(buf);
	const char *cl = json_get_str(doc, "cluster");
	if (!doc || (cl && strcmp(cl, ag->cfg.cluster) != 0)) {
		log_kv(LOG_WARN, "ignoring the state file", "path", path, "reason", doc ? "another cluster's" : err, NULL);
		cJSON_Delete(doc);
		return;
	}
	loading_state = true;
	const cJSON *e;
	cJSON_ArrayForEach(e, json_get(doc, "resources")) {
		const char *g = json_get_str(e, "group"), *v = json_get_str(e, "version"), *k = json_get_str(e, "kind"),
			   *r = json_get_str(e, "resource");
		if (g && v && k && r && *v && *k && *r)
			watch_gvr_add(ag, g, v, k, r, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "namespaced")));
	}
	loading_state = false;
	cJSON_Delete(doc);
}
