/* hubclient.c — the agent's side of the protocol: registration, heartbeats
 * (member health, version, node and resource summary), the long-poll of
 * Works and batched status reports. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubclient.h"
#include "jsonutil.h"
#include "memberapi.h"
#include "retry.h"

/* Status changes within this window go in one report; it also keeps the
 * reports of a write (one per member) off the path of the next change. */
#define STATUS_DEBOUNCE_MS 40
/* While a long-poll is held, a report ends it (the one connection is
 * closed and opened again, resuming its TLS session): the changes of this
 * longer window go in that one report. */
#define STATUS_HELD_BATCH_MS 100
/* After a poll answer with events, the next poll waits at most this long
 * for the status report of what it delivered, so that the report goes
 * first on the one connection instead of ending the next held poll. */
#define POLL_SETTLE_MS 300

/* ---- the one connection to the hub ----
 * Every request to the hub goes through ag->hub_http, which holds one
 * connection (http_client_one_connection): requests wait for each other.
 * The long-poll is what the connection does while nothing else is due; it
 * carries the heartbeat. A request that must go while a poll is held ends
 * the poll (its answer was not read, so the revision is unchanged and the
 * next poll asks for the same changes: nothing is lost or applied twice),
 * and the poll goes out again once the other requests are done. */

struct lane_call {
	struct agent *ag;
	http_done_fn done;
	http_cleanup_fn cleanup;
	void *ud;
};

static void poll_kick(struct agent *ag);

/* Nothing but (perhaps) the poll is in flight: poll again, unless waiting
 * for a report of what the last answer delivered, or for a retry. */
static void lane_idle(struct agent *ag)
{
	if (ag->lane_busy > 0 || ag->poll_call || ag->stopping)
		return;
	if (ag->poll_settle) {
		if (evtimer_pending(ag->status_ev, NULL))
			return; /* its report goes first */
		ag->poll_settle = false;
		evtimer_del(ag->poll_ev);
		poll_kick(ag);
	} else if (!evtimer_pending(ag->poll_ev, NULL)) {
		poll_kick(ag);
	}
}

static void lane_done(const struct http_response *r, void *ud)
{
	struct lane_call *l = ud;
	struct agent *ag = l->ag;
	ag->lane_busy--;
	l->done(r, l->ud);
	free(l);
	lane_idle(ag);
}

static void lane_cleanup(void *ud)
{
	struct lane_call *l = ud;
	l->ag->lane_busy--;
	if (l->cleanup)
		l->cleanup(l->ud);
	free(l);
}

/* Ends a held long-poll so that another request can use the connection. */
static void poll_interrupt(struct agent *ag)
{
	if (!ag->poll_call || ag->legacy_hb)
		return;
	http_cancel(ag->poll_call);
	ag->poll_call = NULL;
}

struct http_call *hub_call(struct agent *ag, const char *method, const char *path, const cJSON *body,
			   long timeout_ms, http_done_fn done, http_cleanup_fn cleanup, void *ud)
{
	char *s = body ? json_print(body) : NULL;
	struct http_call *c = hub_call_text(ag, method, path, s, timeout_ms, done, cleanup, ud);
	free(s);
	return c;
}

struct http_call *hub_call_text(struct agent *ag, const char *method, const char *path, const char *body,
				long timeout_ms, http_done_fn done, http_cleanup_fn cleanup, void *ud)
{
	struct lane_call *l = malloc(sizeof *l);
	if (!l)
		return NULL;
	*l = (struct lane_call){ag, done, cleanup, ud};
	struct http_request r = {
		.method = method,
		.path = path,
		.content_type = body ? "application/json" : NULL,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.timeout_ms = timeout_ms,
		.max_body = 1 << 20,
		.cleanup = lane_cleanup,
	};
	poll_interrupt(ag);
	struct http_call *c = http_start(ag->hub_http, &ag->hub, &r, lane_done, l);
	if (!c) {
		free(l);
		lane_idle(ag);
		return NULL;
	}
	ag->lane_busy++;
	return c;
}

static void set_hub_ok(struct agent *ag, bool ok, const char *why)
{
	if (ok == ag->hub_ok)
		return;
	ag->hub_ok = ok;
	if (ok) {
		log_kv(LOG_INFO, "hub reachable", "hub", ag->hub.base_url, NULL);
		ag->reports->hub_answered(ag);
	} else {
		log_kv(LOG_WARN, "hub unreachable; changing nothing in the member until it answers", "hub",
		       ag->hub.base_url, "error", why, NULL);
	}
}

/* After a failure that may be this replica's: the next call goes to the
 * next hub address. Revisions are the shared store's, so a long-poll
 * resumes on any replica. */
static void next_hub(struct agent *ag, const struct http_response *r)
{
	if (ag->cfg.nhubs < 2 || (r->status != 0 && r->status < 500))
		return;
	ag->hub_index = (ag->hub_index + 1) % ag->cfg.nhubs;
	ag->hub.base_url = ag->cfg.hub_urls[ag->hub_index];
	log_kv(LOG_INFO, "trying another hub address", "hub", ag->hub.base_url, NULL);
}

/* ---- registration ---- */

static void reg_done(const struct http_response *r, void *ud);

static void reg_send(struct agent *ag)
{
	struct proto_registration reg;
	memset(&reg, 0, sizeof reg);
	snprintf(reg.cluster, sizeof reg.cluster, "%s", ag->cfg.cluster);
	snprintf(reg.agent_version, sizeof reg.agent_version, "%s", AGENT_VERSION);
	snprintf(reg.kubernetes_version, sizeof reg.kubernetes_version, "%s", ag->kube_version);
	snprintf(reg.provider, sizeof reg.provider, "%s", ag->cfg.provider ? ag->cfg.provider : "");
	snprintf(reg.region, sizeof reg.region, "%s", ag->cfg.region ? ag->cfg.region : "");
	for (int i = 0; i < ag->cfg.nzones; i++)
		snprintf(reg.zones[reg.nzones++], sizeof reg.zones[0], "%s", ag->cfg.zones[i]);
	snprintf(reg.api_endpoint, sizeof reg.api_endpoint, "%s",
		 ag->cfg.api_endpoint ? ag->cfg.api_endpoint : ag->kc.server);
	reg.labels = ag->cfg.labels;
	cJSON *body = proto_registration_to_json(&reg);
	char path[256];
	snprintf(path, sizeof path, PROTO_PREFIX "/clusters/%s/registration", ag->cfg.cluster);
	ag->reg_call = hub_call(ag, "PUT", path, body, 15000, reg_done, NULL, ag);
	cJSON_Delete(body);
	if (!ag->reg_call)
		retry_later(ag->reg_ev, &ag->hub_bo);
}

/* The member's gitVersion from its /version answer (kept as it was if absent). */
static void note_kube_version(struct agent *ag, const struct http_response *r)
{
	cJSON *j = cJSON_ParseWithLength(r->body, r->len);
	const char *gv = json_get_str(j, "gitVersion");
	if (gv)
		snprintf(ag->kube_version, sizeof ag->kube_version, "%s", gv);
	cJSON_Delete(j);
}

static void version_done(const struct http_response *r, void *ud)
{
	struct agent *ag = ud;
	ag->reg_call = NULL;
	if (r->status == 200) {
		note_kube_version(ag, r);
	} else {
		char m[256];
		log_kv(LOG_WARN, "member API not reachable yet", "server", ag->kc.server, "error",
		       member_response_message(r, m, sizeof m), NULL);
	}
	reg_send(ag);
}

static void reg_start(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	if (ag->reg_call)
		return;
	if (!ag->kube_version[0])
		ag->reg_call = member_call(ag, "GET", "/version", NULL, NULL, 5000, version_done, NULL, ag);
	if (!ag->reg_call)
		reg_send(ag);
}

static void reg_done(const struct http_response *r, void *ud)
{
	struct agent *ag = ud;
	ag->reg_call = NULL;
	if (r->status == 200 || r->status == 201) {
		bool first = !ag->registered;
		ag->registered = true;
		backoff_reset(&ag->hub_bo);
		log_kv(LOG_INFO, "registered with the hub", "cluster", ag->cfg.cluster, "version",
		       ag->kube_version[0] ? ag->kube_version : "unknown", NULL);
		if (first) {
			if (!ag->poll_call)
				event_active(ag->poll_ev, EV_TIMEOUT, 0);
			if (!ag->hb_busy)
				event_active(ag->hb_ev, EV_TIMEOUT, 0);
		}
		return;
	}
	char m[512];
	member_response_message(r, m, sizeof m);
	log_kv(LOG_WARN, "registration failed; retrying", "error", m, NULL);
	set_hub_ok(ag, false, m);
	next_hub(ag, r);
	retry_later(ag->reg_ev, &ag->hub_bo);
}

/* ---- long-poll (and heartbeat) ---- */

static void poll_done(const struct http_response *r, void *ud);

/* Starts the long-poll if it may go now: registered, not already polling,
 * and (one connection) no other hub request in flight and the first
 * heartbeat probed. It renews the Lease: POST with the last probe's
 * Heartbeat as its body, held by the hub at most a heartbeat interval, so
 * a renewal reaches the hub at least once per interval. An older hub
 * (405 to POST): GET on a connection of its own, heartbeats PUT apart. */
static void poll_kick(struct agent *ag)
{
	if (ag->poll_call || ag->stopping || !ag->registered)
		return;
	if (!ag->legacy_hb && (ag->lane_busy > 0 || !ag->hb_have))
		return; /* lane_idle / the probe starts it */
	int timeout = ag->cfg.poll_timeout_s;
	if (!ag->legacy_hb) {
		if (timeout > ag->cfg.renew_s)
			timeout = ag->cfg.renew_s;
		/* Up to a quarter less, drawn each time: polls answered together
		 * (a fan-out) do not stay in step as a herd of heartbeats. */
		if (timeout >= 4)
			timeout -= (int)(random() % (timeout / 4 + 1));
	}
	char path[300];
	if (ag->revision > 0)
		snprintf(path, sizeof path, PROTO_PREFIX "/clusters/%s/works?revision=%lld&timeoutSeconds=%d",
			 ag->cfg.cluster, ag->revision, timeout);
	else
		snprintf(path, sizeof path, PROTO_PREFIX "/clusters/%s/works", ag->cfg.cluster);
	char *body = NULL;
	if (!ag->legacy_hb) {
		cJSON *hb = proto_heartbeat_to_json(&ag->hb_last);
		body = json_print(hb);
		cJSON_Delete(hb);
	}
	struct http_request r = {
		.method = body ? "POST" : "GET",
		.path = path,
		.content_type = body ? "application/json" : NULL,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.timeout_ms = (timeout + 15) * 1000L,
	};
	ag->poll_call = http_start(ag->legacy_hb ? ag->http : ag->hub_http, &ag->hub, &r, poll_done, ag);
	free(body);
	if (!ag->poll_call)
		retry_later(ag->poll_ev, &ag->hub_bo);
}

static void poll_start(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	ag->poll_settle = false;
	poll_kick(ag);
}

static void poll_done(const struct http_response *r, void *ud)
{
	struct agent *ag = ud;
	ag->poll_call = NULL;
	char m[512];
	if (r->status == 410 && ag->revision > 0) {
		log_kv(LOG_INFO, "revision too old; listing the Works again", "revision", "expired", NULL);
		ag->revision = 0;
		event_active(ag->poll_ev, EV_TIMEOUT, 0);
		return;
	}
	if (r->status == 405 && !ag->legacy_hb) {
		log_kv(LOG_WARN, "the hub does not take heartbeats on the long-poll (an older hub); heartbeats go apart",
		       NULL);
		ag->legacy_hb = true;
		event_active(ag->poll_ev, EV_TIMEOUT, 0);
		if (!ag->hb_busy)
			event_active(ag->hb_ev, EV_TIMEOUT, 0);
		return;
	}
	if (r->status == 404 && !ag->legacy_hb) {
		log_kv(LOG_WARN, "the hub does not know this cluster; registering again", NULL);
		ag->registered = false;
		event_active(ag->reg_ev, EV_TIMEOUT, 0);
		return;
	}
	/* (410 to a list is a broken hub: retried like any failure.) */
	if (r->status == 200) {
		cJSON *j = cJSON_ParseWithLength(r->body, r->len);
		long long rev;
		bool full, more;
		const cJSON *events;
		char err[256];
		if (j && proto_work_events_parse(j, &rev, &full, &more, &events, err, sizeof err) == 0) {
			backoff_reset(&ag->hub_bo);
			set_hub_ok(ag, true, NULL);
			ag->reports->work_events(ag, events, full);
			ag->revision = rev;
			if (full && !ag->hub_synced) {
				ag->hub_synced = true;
				char nw[16];
				snprintf(nw, sizeof nw, "%d", cJSON_GetArraySize(events));
				log_kv(LOG_INFO, "have the hub's list of Works", "works", nw, NULL);
			}
			bool delivered = cJSON_GetArraySize(events) > 0;
			cJSON_Delete(j);
			ag->reports->hub_answered(ag);
			if (delivered && !more && !ag->legacy_hb && !ag->poll_call) {
				/* Their report first (lane_idle), or the poll after the window. */
				ag->poll_settle = true;
				retry_after_ms(ag->poll_ev, POLL_SETTLE_MS);
			} else {
				event_active(ag->poll_ev, EV_TIMEOUT, 0);
			}
			return;
		}
		snprintf(m, sizeof m, "bad WorkEvents answer: %s", j ? err : "not JSON");
		cJSON_Delete(j);
	} else {
		member_response_message(r, m, sizeof m);
	}
	set_hub_ok(ag, false, m);
	next_hub(ag, r);
	long d = retry_later(ag->poll_ev, &ag->hub_bo);
	char ds[24];
	snprintf(ds, sizeof ds, "%ldms", d);
	log_kv(LOG_DEBUG, "poll failed; retrying", "error", m, "after", ds, NULL);
}

/* ---- heartbeat ---- */

enum { HB_READYZ, HB_HEALTHZ, HB_VERSION, HB_NODES, HB_PODS, HB_SEND };

/* The health probe of each heartbeat tells whether the member's API takes
 * connections at all. While it does not, applies and deletions wait
 * (their per-object backoff still counts); when it does again, they are
 * retried at once instead of at the end of a backoff of up to
 * RETRY_CAP_MS. */
static void set_member_reachable(struct agent *ag, bool up, const char *why)
{
	if (up == !ag->member_down)
		return;
	ag->member_down = !up;
	if (up) {
		log_kv(LOG_INFO, "member API reachable again; retrying what waited for it", "server", ag->kc.server, NULL);
		ag->reports->member_back(ag);
	} else {
		log_kv(LOG_WARN, "member API unreachable; applies and deletions wait for it", "server", ag->kc.server,
		       "error", why ? why : "", NULL);
	}
}

static void hb_next(struct agent *ag, int step);

static void hb_sent(const struct http_response *r, void *ud)
{
	struct agent *ag = ud;
	ag->hb_call = NULL;
	ag->hb_busy = false;
	if (r->status == 404) {
		log_kv(LOG_WARN, "the hub does not know this cluster; registering again", NULL);
		ag->registered = false;
		event_active(ag->reg_ev, EV_TIMEOUT, 0);
	} else if (r->status != 200) {
		char m[256];
		log_kv(LOG_WARN, "heartbeat failed", "error", member_response_message(r, m, sizeof m), NULL);
	}
	retry_after_ms(ag->hb_ev, ag->cfg.renew_s * 1000L);
}

static void hb_member_done(const struct http_response *r, void *ud)
{
	struct agent *ag = ud;
	ag->hb_call = NULL;
	switch (ag->hb_step) {
	case HB_READYZ:
	case HB_HEALTHZ:
		set_member_reachable(ag, r->status != 0, r->error);
		if (r->status == 0) {
			ag->hb.health = PH_UNREACHABLE;
			hb_next(ag, HB_SEND);
		} else if (r->status == 404 && ag->hb_step == HB_READYZ) {
			hb_next(ag, HB_HEALTHZ);
		} else if (r->status == 200 && strncmp(r->body, "ok", 2) == 0) {
			ag->hb.health = PH_HEALTHY;
			hb_next(ag, HB_VERSION);
		} else {
			ag->hb.health = PH_UNHEALTHY;
			hb_next(ag, HB_SEND);
		}
		return;
	case HB_VERSION:
		if (r->status == 200)
			note_kube_version(ag, r);
		hb_next(ag, HB_NODES);
		return;
	case HB_NODES:
		cJSON_Delete(ag->hb_nodes);
		ag->hb_nodes = r->status == 200 ? cJSON_ParseWithLength(r->body, r->len) : NULL;
		hb_next(ag, ag->hb_nodes ? HB_PODS : HB_SEND);
		return;
	case HB_PODS:
		if (r->status == 200) {
			cJSON *pods = cJSON_ParseWithLength(r->body, r->len);
			member_cluster_summary(json_get(ag->hb_nodes, "items"), json_get(pods, "items"), &ag->hb);
			cJSON_Delete(pods);
		}
		cJSON_Delete(ag->hb_nodes);
		ag->hb_nodes = NULL;
		hb_next(ag, HB_SEND);
		return;
	}
}

static void hb_next(struct agent *ag, int step)
{
	ag->hb_step = step;
	static const char *const paths[] = {"/readyz", "/healthz", "/version", "/api/v1/nodes", "/api/v1/pods"};
	if (step < HB_SEND) {
		ag->hb_call = member_call(ag, "GET", paths[step], NULL, NULL, step >= HB_NODES ? 30000 : 5000,
					  hb_member_done, NULL, ag);
		if (ag->hb_call)
			return;
		ag->hb_step = HB_SEND; /* cannot even start a request: report what is known */
	}
	snprintf(ag->hb.cluster, sizeof ag->hb.cluster, "%s", ag->cfg.cluster);
	snprintf(ag->hb.kubernetes_version, sizeof ag->hb.kubernetes_version, "%s", ag->kube_version);
	ag->hb.lease_duration_s = ag->cfg.lease_s;
	if (!ag->legacy_hb) {
		/* The next long-poll carries it; a change of health is told at
		 * once (the held poll ends and goes again with it). */
		bool news = !ag->hb_have || ag->hb_last.health != ag->hb.health;
		ag->hb_last = ag->hb;
		ag->hb_have = true;
		ag->hb_busy = false;
		retry_after_ms(ag->hb_ev, ag->cfg.renew_s * 1000L);
		if (news)
			poll_interrupt(ag);
		if (!ag->poll_settle)
			lane_idle(ag);
		malloc_trim(0);
		return;
	}
	cJSON *body = proto_heartbeat_to_json(&ag->hb);
	char path[256];
	snprintf(path, sizeof path, PROTO_PREFIX "/clusters/%s/heartbeat", ag->cfg.cluster);
	ag->hb_call = hub_call(ag, "PUT", path, body, 15000, hb_sent, NULL, ag);
	cJSON_Delete(body);
	if (!ag->hb_call) {
		/* Heartbeats are periodic, not retried: the next one is due anyway. */
		ag->hb_busy = false;
		retry_after_ms(ag->hb_ev, ag->cfg.renew_s * 1000L);
	}
	/* The node and pod lists were the biggest transient allocations. */
	malloc_trim(0);
}

static void hb_start(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	if (ag->hb_busy || !ag->registered || ag->stopping)
		return;
	ag->hb_busy = true;
	memset(&ag->hb, 0, sizeof ag->hb);
	hb_next(ag, HB_READYZ);
}

/* ---- status reports ---- */

struct status_batch {
	struct agent *ag;
	int n;
	struct {
		char name[254];
		unsigned long seq;
	} *sent;
};

/* A Work whose status changed since it was last reported. */
static bool status_unreported(const struct agent *ag)
{
	for (const struct work *w = ag->works; w; w = w->next)
		if (w->status_seq != w->reported_seq)
			return true;
	return false;
}

static void status_done(const struct http_response *r, void *ud)
{
	struct status_batch *b = ud;
	struct agent *ag = b->ag;
	ag->status_call = NULL;
	bool ok = r->status == 200, refused = false;
	if (ok) {
		cJSON *j = cJSON_ParseWithLength(r->body, r->len);
		const cJSON *res;
		cJSON_ArrayForEach(res, json_get(j, "results")) {
			const char *name = json_get_str(res, "name");
			int code = (int)json_get_num(res, "code", 500);
			if (!name)
				continue;
			if (code != 200 && code != 404) {
				log_kv(LOG_WARN, "the hub refused a work status", "work", name, "error",
				       json_get_str(res, "message"), NULL);
				refused = true;
				continue;
			}
			struct work *w = ag->reports->work_find(ag, name);
			for (int i = 0; w && i < b->n; i++)
				if (strcmp(b->sent[i].name, name) == 0 && w->reported_seq < b->sent[i].seq)
					w->reported_seq = b->sent[i].seq;
		}
		cJSON_Delete(j);
		if (refused) {
			retry_later(ag->status_ev, &ag->status_bo);
		} else {
			backoff_reset(&ag->status_bo);
			/* Only for what changed meanwhile: an empty report's timer
			 * would hold back the poll a settle waits for (lane_idle). */
			if (status_unreported(ag))
				hub_status_dirty(ag);
		}
	} else {
		char m[256];
		log_kv(LOG_DEBUG, "status report failed; retrying", "error", member_response_message(r, m, sizeof m), NULL);
		retry_later(ag->status_ev, &ag->status_bo);
	}
	free(b->sent);
	free(b);
}

static void status_cleanup(void *ud)
{
	struct status_batch *b = ud;
	free(b->sent);
	free(b);
}

static void status_send(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	if (ag->status_call || ag->stopping)
		return;
	int cap = 0;
	for (struct work *w = ag->works; w; w = w->next)
		if (w->status_seq != w->reported_seq)
			cap++;
	if (cap == 0) {
		lane_idle(ag); /* nothing to report: a poll that waited for it goes */
		return;
	}
	if (cap > PROTO_MAX_STATUS_ITEMS)
		cap = PROTO_MAX_STATUS_ITEMS;
	struct proto_work_status *items = calloc((size_t)cap, sizeof *items);
	struct status_batch *b = calloc(1, sizeof *b);
	b->ag = ag;
	b->sent = calloc((size_t)cap, sizeof *b->sent);
	int n = 0;
	for (struct work *w = ag->works; w && n < cap; w = w->next) {
		if (w->status_seq == w->reported_seq)
			continue;
		if (!ag->reports->work_status(w, &items[n]))
			continue;
		snprintf(b->sent[n].name, sizeof b->sent[n].name, "%s", w->name);
		b->sent[n].seq = w->status_seq;
		n++;
	}
	b->n = n;
	if (n == 0) {
		free(items);
		free(b->sent);
		free(b);
		lane_idle(ag);
		return;
	}
	cJSON *body = proto_status_report_to_json(items, n);
	for (int i = 0; i < n; i++)
		cJSON_Delete(items[i].manifest_statuses);
	free(items);
	char path[256];
	snprintf(path, sizeof path, PROTO_PREFIX "/clusters/%s/workstatuses", ag->cfg.cluster);
	ag->status_call = hub_call(ag, "POST", path, body, 30000, status_done, status_cleanup, b);
	cJSON_Delete(body);
	if (!ag->status_call) {
		status_cleanup(b);
		retry_later(ag->status_ev, &ag->status_bo);
	}
}

void hub_status_dirty(struct agent *ag)
{
	if (ag->status_call || evtimer_pending(ag->status_ev, NULL) || ag->stopping)
		return;
	retry_after_ms(ag->status_ev, ag->poll_call && !ag->legacy_hb ? STATUS_HELD_BATCH_MS : STATUS_DEBOUNCE_MS);
}

void hub_start(struct agent *ag)
{
	backoff_init_policy(&ag->hub_bo, 0);
	backoff_init_policy(&ag->status_bo, 0);
	ag->reg_ev = evtimer_new(ag->base, reg_start, ag);
	ag->poll_ev = evtimer_new(ag->base, poll_start, ag);
	ag->hb_ev = evtimer_new(ag->base, hb_start, ag);
	ag->status_ev = evtimer_new(ag->base, status_send, ag);
	event_active(ag->reg_ev, EV_TIMEOUT, 0);
}

void hub_stop(struct agent *ag)
{
	if (ag->reg_ev)
		event_free(ag->reg_ev);
	if (ag->poll_ev)
		event_free(ag->poll_ev);
	if (ag->hb_ev)
		event_free(ag->hb_ev);
	if (ag->status_ev)
		event_free(ag->status_ev);
	ag->reg_ev = ag->poll_ev = ag->hb_ev = ag->status_ev = NULL;
	cJSON_Delete(ag->hb_nodes);
	ag->hb_nodes = NULL;
}
