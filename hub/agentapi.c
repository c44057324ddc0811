#include "agentapi.h"
#include "params.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "ctl_cluster.h"
#include "events.h"
#include "jsonspan.h"
#include "jsonutil.h"
#include "hubmetrics.h"
#include "log.h"
#include "loopturn.h"
#include "objclient.h"
#include "objects.h"
#include "meshreaderapi.h"
#include "meshreader.h"
#include "protocol.h"
#include "stream.h"
#include "strmap.h"
#include "timefmt.h"
#include "workevents.h"

/* A committed change a waiting long-poll will be answered with: the
 * object as the store holds it (JSON text), copied into the answer as it
 * is (workevents.h), never parsed and printed again. */
struct change {
	long long rev;
	const char *type; /* "ADDED", "MODIFIED", "DELETED" */
	char *text;
	size_t len;
	struct change *next;
};

struct waiter {
	struct agentapi *aa;
	struct stream *s; /* the held poll (stream.h) */
	char cluster[64];
	char prefix[160];
	long long since;
	bool pending;
	/* The relevant changes committed since the poll began to wait (the
	 * change log had none after since then), in revision order: the answer
	 * is built from them without reading the log again. overflow: more
	 * than one answer holds; the answer then reads the log. */
	struct change *changes, **changes_tail;
	int nchanges;
	bool overflow;
	struct waiter *next, *prev;
	/* In the bucket of its prefix (found by a committed change without
	 * looking at every other waiter), and in the pending list while
	 * flush_waiters has something for it. */
	struct waiter *hnext, *hprev;
	struct waiter *pnext, *pprev;
	bool queued;
	bool overdue; /* its time ran out during a fan-out: answered when that ends */
};

#define WAITER_BUCKETS 16384

/* Whether a committed change of a Work matters to its agent, decided once
 * when the change is committed (on_store_event) and looked up by every
 * answer built from the change log; keyed by revision, checked against a
 * hash of key and value. */
#define RELEVANCE_SLOTS 4096
struct relevance {
	long long rev;
	uint64_t hash;
	bool relevant;
};

struct agentapi {
	struct event_base *base;
	struct apiserver *api;
	struct store *store;
	struct obj_ctx *objs;
	struct objclient oc; /* every read and write of objects */
	struct agentapi_config cfg;
	const struct kind_info *k_cluster, *k_lease, *k_work, *k_ns;
	struct waiter *waiters;
	int nwaiters;
	struct waiter *buckets[WAITER_BUCKETS]; /* by hash of prefix */
	struct waiter *pending;                  /* waiters flush_waiters must look at */
	struct event *flush_ev;
	struct cluster_life *life; /* the cluster monitor, Ready condition and taints (ctl_cluster.h) */
	double started;
	agentapi_authz_fn authz;
	void *authz_ud;
	struct relevance relevance[RELEVANCE_SLOTS];
	long long committed_rev; /* newest revision told to on_store_event */
	/* Per cluster prefix, the revision of the newest committed Work change
	 * its agent must see (long long *), kept from known_from on by
	 * on_store_event; a poll from a revision at or past it has nothing to
	 * read in the change log (see collect_changes). Only where this hub
	 * makes every revision (no store head: SQLite). */
	struct strmap last_relevant;
	long long known_from;
	bool track;
	/* Status reports waiting behind a fan-out, oldest first (park_report). */
	struct parked *park_head, *park_tail;
	int nparked;
	struct event *unpark_ev;
	struct loopturn *turn; /* the store's loop turn, if it has one */
	int noverdue;          /* waiters overdue (see waiter_timeout) */
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *now_rfc3339(char *buf, size_t len)
{
	return time_rfc3339(time(NULL), buf, len);
}

static cJSON *read_json_body(const struct api_req *rq)
{
	struct evhttp_request *req = rq->req;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len == 0) {
		api_send_status(rq, 400, "BadRequest", "the request body is empty");
		return NULL;
	}
	const char *data = (const char *)evbuffer_pullup(in, -1);
	char err[256];
	cJSON *j = json_parse_limited(data, len, JSON_MAX_DEPTH, err, sizeof err);
	if (!j)
		api_send_status(rq, 400, "BadRequest", "the request body could not be decoded: %s", err);
	return j;
}

/* ---- registration ------------------------------------------------------------ */

static void handle_registration(struct agentapi *aa, const struct api_req *rq, const char *cluster)
{
	cJSON *body = read_json_body(rq);
	if (!body)
		return;
	struct proto_registration r;
	char err[512];
	if (proto_registration_from_json(body, &r, err, sizeof err) < 0) {
		api_send_status(rq, 400, "BadRequest", "invalid Registration: %s", err);
		cJSON_Delete(body);
		return;
	}
	cJSON_Delete(body);
	if (strcmp(r.cluster, cluster) != 0) {
		api_send_status(rq, 400, "BadRequest", "invalid Registration: cluster \"%s\" does not match the path (\"%s\")",
			    r.cluster, cluster);
		proto_registration_free(&r);
		return;
	}
	struct api_error e = {0};
	cJSON *c = objc_get(&aa->oc, aa->k_cluster, "", cluster);
	bool create = !c;
	if (create) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "apiVersion", "cluster.karmada.io/v1alpha1");
		cJSON_AddStringToObject(c, "kind", "Cluster");
		json_set_str(json_ensure_obj(c, "metadata"), "name", cluster);
	}
	cJSON *spec = json_ensure_obj(c, "spec");
	json_set_str(spec, "syncMode", "Pull");
	if (r.provider[0])
		json_set_str(spec, "provider", r.provider);
	if (r.region[0])
		json_set_str(spec, "region", r.region);
	if (r.nzones > 0) {
		cJSON *z = cJSON_CreateArray();
		for (int i = 0; i < r.nzones; i++)
			cJSON_AddItemToArray(z, cJSON_CreateString(r.zones[i]));
		json_set(spec, "zones", z);
	}
	if (r.api_endpoint[0])
		json_set_str(spec, "apiEndpoint", r.api_endpoint);
	if (r.id[0])
		json_set_str(spec, "id", r.id);
	if (r.labels && cJSON_GetArraySize(r.labels) > 0) {
		cJSON *labels = json_ensure_obj(json_ensure_obj(c, "metadata"), "labels");
		const cJSON *it;
		cJSON_ArrayForEach(it, r.labels)
			json_set_str(labels, it->string, it->valuestring);
	}
	if (objc_write(&aa->oc, aa->k_cluster, "", cluster, c, SUBRES_NONE, create, &e) < 0) {
		api_send_error(rq, &e, aa->k_cluster);
		api_error_clear(&e);
		proto_registration_free(&r);
		return;
	}
	if (r.kubernetes_version[0]) {
		cJSON *extra = cJSON_CreateObject();
		cJSON_AddStringToObject(extra, "kubernetesVersion", r.kubernetes_version);
		cJSON *cur = objc_get(&aa->oc, aa->k_cluster, "", cluster);
		const char *v = json_get_str(cur, "status.kubernetesVersion");
		if (cur && (!v || strcmp(v, r.kubernetes_version) != 0)) {
			json_set_str(json_ensure_obj(cur, "status"), "kubernetesVersion", r.kubernetes_version);
			if (objc_write(&aa->oc, aa->k_cluster, "", cluster, cur, SUBRES_STATUS, false, &e) < 0)
				log_warn("agentapi: cannot set the version of cluster %s: %s", cluster, e.message);
			cur = NULL; /* taken */
			api_error_clear(&e);
		}
		cJSON_Delete(cur);
		cJSON_Delete(extra);
	}
	char ns[128];
	objc_ensure_namespace_logged(&aa->oc, PROTO_LEASE_NAMESPACE, "agentapi");
	proto_exec_namespace(cluster, ns, sizeof ns);
	objc_ensure_namespace_logged(&aa->oc, ns, "agentapi");
	log_kv(LOG_INFO, create ? "cluster registered" : "cluster re-registered", "cluster", cluster, "agent",
	       r.agent_version[0] ? r.agent_version : "-", NULL);
	ctl_cluster_registered(aa->life, cluster);
	cJSON *cur = objc_get(&aa->oc, aa->k_cluster, "", cluster);
	cJSON *ans = cJSON_CreateObject();
	cJSON_AddStringToObject(ans, "apiVersion", PROTO_API_VERSION);
	cJSON_AddStringToObject(ans, "kind", "RegistrationResult");
	cJSON_AddStringToObject(ans, "cluster", cluster);
	const char *uid = json_get_str(cur, "metadata.uid");
	cJSON_AddStringToObject(ans, "uid", uid ? uid : "");
	cJSON_AddStringToObject(ans, "executionNamespace", ns);
	cJSON_AddStringToObject(ans, "leaseNamespace", PROTO_LEASE_NAMESPACE);
	api_send_json(rq, create ? 201 : 200, ans);
	cJSON_Delete(ans);
	cJSON_Delete(cur);
	proto_registration_free(&r);
}

/* ---- heartbeat --------------------------------------------------------------- */

/* The Heartbeat in the request's body: decoded, checked against the path.
 * -1 when refused (answered). */
static int read_heartbeat(const struct api_req *rq, const char *cluster, struct proto_heartbeat *h)
{
	cJSON *body = read_json_body(rq);
	if (!body)
		return -1;
	char err[512];
	int rc = proto_heartbeat_from_json(body, h, err, sizeof err);
	cJSON_Delete(body);
	if (rc < 0) {
		api_send_status(rq, 400, "BadRequest", "invalid Heartbeat: %s", err);
		return -1;
	}
	if (strcmp(h->cluster, cluster) != 0) {
		api_send_status(rq, 400, "BadRequest", "invalid Heartbeat: cluster \"%s\" does not match the path (\"%s\")",
			    h->cluster, cluster);
		return -1;
	}
	return 0;
}

/* Renews the Lease and sets the status the heartbeat carries (ctl_cluster.h).
 * -1 when refused (answered: 404 for a cluster never registered). */
static int apply_heartbeat(struct agentapi *aa, const struct api_req *rq, const char *cluster,
			   const struct proto_heartbeat *h, char *renew, size_t renewlen)
{
	if (ctl_cluster_renew(aa->life, h, renew, renewlen))
		return 0;
	cJSON *c = objc_get(&aa->oc, aa->k_cluster, "", cluster);
	if (!c) {
		api_send_status(rq, 404, "NotFound", "clusters.cluster.karmada.io \"%s\" not found: register the cluster first",
			    cluster);
		return -1;
	}
	struct api_error e = {0};
	if (ctl_cluster_heartbeat(aa->life, c, h, renew, renewlen, &e) < 0) {
		api_send_error(rq, &e, aa->k_lease);
		api_error_clear(&e);
		cJSON_Delete(c);
		return -1;
	}
	cJSON_Delete(c);
	return 0;
}

static void handle_heartbeat(struct agentapi *aa, const struct api_req *rq, const char *cluster)
{
	struct proto_heartbeat h;
	char renew[64];
	if (read_heartbeat(rq, cluster, &h) < 0 || apply_heartbeat(aa, rq, cluster, &h, renew, sizeof renew) < 0)
		return;
	cJSON *ans = cJSON_CreateObject();
	cJSON_AddStringToObject(ans, "apiVersion", PROTO_API_VERSION);
	cJSON_AddStringToObject(ans, "kind", "HeartbeatResult");
	cJSON_AddStringToObject(ans, "renewTime", renew);
	api_send_json(rq, 200, ans);
	cJSON_Delete(ans);
}

/* ---- long-poll of Works ------------------------------------------------------- */

struct collect {
	struct agentapi *aa;
	cJSON *answer;
	int n;
	bool more;
	long long last_rev;
};

static int full_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct collect *c = ud;
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o) {
		proto_work_events_add(c->answer, "ADDED", o);
		c->n++;
	}
	return 0;
}

static bool same_item(const cJSON *a, const cJSON *b, const char *path)
{
	const cJSON *x = json_get(a, path), *y = json_get(b, path);
	if (!x && !y)
		return true;
	return x && y && json_equal(x, y);
}

/* A change the agent must see: anything but status and bookkeeping. When
 * parsed is given and the change is relevant, *parsed is the new value
 * (parsed here anyway; the caller owns it), or NULL if it was not parsed. */
static bool relevant_change(const struct store_event *ev)
{
	if (ev->type != STORE_MODIFIED || !ev->prev_value)
		return true;
	/* A spec whose text changed: relevant, known without parsing either
	 * value (jsonspan.h; the same spec printed in another key order counts
	 * as a change: the agent applies the same manifests again). */
	if (jsonspan_same(ev->prev_value, ev->value, "spec") == 0)
		return true;
	const cJSON *a = store_event_prev(ev), *b = store_event_value(ev); /* shared parses */
	bool same = a && b && same_item(a, b, "spec") && same_item(a, b, "metadata.labels") &&
		    same_item(a, b, "metadata.annotations") && same_item(a, b, "metadata.deletionTimestamp") &&
		    same_item(a, b, "metadata.uid");
	return !same;
}

static uint64_t event_hash(const struct store_event *ev)
{
	uint64_t h = 14695981039346656037ull;
	for (const char *p = ev->key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ (uint64_t)ev->type) * 1099511628211ull;
	for (const char *p = ev->value ? ev->value : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static void relevance_put(struct agentapi *aa, const struct store_event *ev, bool relevant)
{
	struct relevance *r = &aa->relevance[(unsigned long long)ev->rev % RELEVANCE_SLOTS];
	*r = (struct relevance){ev->rev, event_hash(ev), relevant};
}

/* 1 or 0 when decided at commit, -1 when unknown. */
static int relevance_get(struct agentapi *aa, const struct store_event *ev)
{
	const struct relevance *r = &aa->relevance[(unsigned long long)ev->rev % RELEVANCE_SLOTS];
	if (r->rev != ev->rev || r->rev <= 0 || r->hash != event_hash(ev))
		return -1;
	return r->relevant;
}

static void change_item(const struct store_event *ev, void *ud)
{
	struct collect *c = ud;
	if (c->more)
		return;
	int known = relevance_get(c->aa, ev);
	if (known == 0 || (known < 0 && !relevant_change(ev)))
		return;
	if (c->n >= PROTO_MAX_EVENTS) {
		c->more = true;
		return;
	}
	cJSON *o = store_event_take_value(ev);
	if (!o)
		return;
	proto_work_events_add(c->answer,
			      ev->type == STORE_ADDED ? "ADDED" : ev->type == STORE_DELETED ? "DELETED" : "MODIFIED", o);
	c->n++;
	c->last_rev = ev->rev;
}

/* Builds the answer for since; returns NULL when there is nothing new.
 * *expired is set when since is outside the retained history. */
static cJSON *collect_changes(struct agentapi *aa, const char *prefix, long long since, bool *expired)
{
	*expired = false;
	long long cur = store_revision(aa->store);
	if (since < store_compacted(aa->store)) {
		*expired = true;
		return NULL;
	}
	/* Several hubs share one revision space: an agent that moved here
	 * from a hub further ahead waits until this one has caught up. A
	 * revision never made (the data was replaced) is refused. */
	if (since > cur && since > (aa->store->head ? aa->store->head(aa->store) : cur)) {
		*expired = true;
		return NULL;
	}
	if (since >= cur)
		return NULL;
	/* Nothing the agent must see under prefix after since: no read of the
	 * log (it scanned every revision since, all prefixes: after a fan-out
	 * to N clusters each agent's next poll read up to N rows, N^2 per
	 * change; issue 15). Changes still in the open batch reach the poll at
	 * their commit (on_store_event), as agents see only durable Works. */
	if (aa->track && since >= aa->known_from) {
		const long long *last = strmap_get(&aa->last_relevant, prefix);
		if (!last || *last <= since)
			return NULL;
	}
	struct collect c = {.aa = aa, .answer = proto_work_events_new(0, false, false)};
	if (store_changes(aa->store, since, prefix, change_item, &c) == STORE_COMPACTED) {
		cJSON_Delete(c.answer);
		*expired = true;
		return NULL;
	}
	if (c.n == 0) {
		cJSON_Delete(c.answer);
		return NULL;
	}
	char rv[32];
	/* Without "more", every change up to cur under the prefix was seen. */
	snprintf(rv, sizeof rv, "%lld", c.more ? c.last_rev : cur);
	json_set_str(c.answer, "revision", rv);
	json_set(c.answer, "more", cJSON_CreateBool(c.more));
	return c.answer;
}

/* The revision of an answer without events. With the shortcut of
 * collect_changes, "nothing new" is known up to the newest committed
 * revision only (a change in the open batch is the poll's at its commit),
 * so the agent goes on from there, not from the batch's revision. */
static long long nothing_new_rev(struct agentapi *aa)
{
	long long cur = store_revision(aa->store);
	return aa->track && aa->committed_rev < cur ? aa->committed_rev : cur;
}

/* FNV-1a of the prefix up to and including its first '/' after the
 * execution namespace, i.e. "work.karmada.io/works/karmada-es-<cluster>/". */
static unsigned prefix_bucket(const char *key, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h % WAITER_BUCKETS;
}

static void waiter_link(struct agentapi *aa, struct waiter *w)
{
	unsigned b = prefix_bucket(w->prefix, strlen(w->prefix));
	w->hprev = NULL;
	w->hnext = aa->buckets[b];
	if (w->hnext)
		w->hnext->hprev = w;
	aa->buckets[b] = w;
}

static void waiter_mark_pending(struct agentapi *aa, struct waiter *w)
{
	w->pending = true;
	if (w->queued)
		return;
	w->queued = true;
	w->pprev = NULL;
	w->pnext = aa->pending;
	if (w->pnext)
		w->pnext->pprev = w;
	aa->pending = w;
}

static void waiter_unqueue(struct agentapi *aa, struct waiter *w)
{
	if (!w->queued)
		return;
	if (w->pprev)
		w->pprev->pnext = w->pnext;
	else
		aa->pending = w->pnext;
	if (w->pnext)
		w->pnext->pprev = w->pprev;
	w->queued = false;
	w->pnext = w->pprev = NULL;
}

/* The poll ended (stream.h): unlink and free. */
static void waiter_gone(struct stream *s, enum stream_end why, void *ud)
{
	struct waiter *w = ud;
	struct agentapi *aa = w->aa;
	waiter_unqueue(aa, w);
	if (w->overdue)
		aa->noverdue--;
	if (w->hprev)
		w->hprev->hnext = w->hnext;
	else
		aa->buckets[prefix_bucket(w->prefix, strlen(w->prefix))] = w->hnext;
	if (w->hnext)
		w->hnext->hprev = w->hprev;
	if (w->prev)
		w->prev->next = w->next;
	else
		aa->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	aa->nwaiters--;
	for (struct change *c = w->changes, *n; c; c = n) {
		n = c->next;
		free(c->text);
		free(c);
	}
	free(w);
}

static void waiter_answer(struct waiter *w, cJSON *answer)
{
	struct api_req rq = stream_release(w->s); /* frees w */
	api_send_json(&rq, 200, answer);
}

/* The answer as text (the headers api_send_json sets). */
static void waiter_answer_text(struct waiter *w, struct evbuffer *body)
{
	struct api_req rq = stream_release(w->s); /* frees w */
	struct evkeyvalq *h = evhttp_request_get_output_headers(rq.req);
	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_remove_header(h, "Cache-Control");
	evhttp_add_header(h, "Cache-Control", "no-cache, private");
	api_send_reply(&rq, 200, "OK", body);
}

static void waiter_timeout(struct stream *s, void *arg)
{
	struct waiter *w = arg;
	if (w->aa->turn && loopturn_fanout(w->aa->turn)) {
		/* A fan-out is being written in slices: its Work may be in a
		 * slice still to come. An empty answer now would make the agent
		 * poll again and be answered only after that round trip (behind
		 * whatever the loop does then); the poll waits for its Work or
		 * for the end of the fan-out instead (on_fanout_done). */
		if (!w->overdue) {
			w->overdue = true;
			w->aa->noverdue++;
		}
		return;
	}
	if (w->overdue) {
		w->overdue = false;
		w->aa->noverdue--;
	}
	bool expired;
	cJSON *ans = collect_changes(w->aa, w->prefix, w->since, &expired);
	if (expired) {
		long long since = w->since, compacted = store_compacted(w->aa->store);
		struct api_req rq = stream_release(s); /* frees w */
		api_send_status(&rq, 410, "Expired", "too old resource version: %lld (%lld)", since,
				compacted);
		return;
	}
	if (!ans)
		ans = proto_work_events_new(nothing_new_rev(w->aa), false, false);
	waiter_answer(w, ans);
	cJSON_Delete(ans);
}

static void flush_waiters(evutil_socket_t fd, short what, void *arg)
{
	struct agentapi *aa = arg;
	/* Only the waiters a change concerned, not every open poll. Taken off
	 * the list first: answering frees a waiter (which unqueues it). */
	struct waiter *w = aa->pending, *next;
	aa->pending = NULL;
	for (struct waiter *x = w; x; x = x->pnext)
		x->queued = false;
	for (; w; w = next) {
		next = w->pnext;
		w->pnext = w->pprev = NULL;
		if (!w->pending)
			continue;
		w->pending = false;
		if (w->changes && !w->overflow && w->since >= store_compacted(aa->store)) {
			/* Every change after since is in the list (see struct waiter). */
			struct workevent_text ev[PROTO_MAX_EVENTS];
			int n = 0;
			for (struct change *c = w->changes; c && n < PROTO_MAX_EVENTS; c = c->next)
				ev[n++] = (struct workevent_text){c->type, c->text, c->len};
			struct evbuffer *body = evbuffer_new();
			workevents_text(body, aa->committed_rev > w->since ? aa->committed_rev : w->since, false, false, ev,
					n);
			waiter_answer_text(w, body); /* frees w and its list */
			evbuffer_free(body);
			continue;
		}
		bool expired;
		cJSON *ans = collect_changes(aa, w->prefix, w->since, &expired);
		if (expired) {
			waiter_timeout(w->s, w);
			continue;
		}
		if (ans) {
			waiter_answer(w, ans);
			cJSON_Delete(ans);
		}
	}
}

static void on_store_event(const struct store_event *ev, void *ud)
{
	struct agentapi *aa = ud;
	static const char wp[] = "work.karmada.io/works/" PROTO_EXEC_NS_PREFIX;
	if (ev->rev > aa->committed_rev)
		aa->committed_rev = ev->rev;
	if (strncmp(ev->key, wp, sizeof wp - 1) != 0)
		return;
	/* Decided once here, not by each answer that reads the change back. A
	 * change no agent must see (status, bookkeeping) wakes no waiter, but
	 * one whose revision has left the history (it gets its 410 now). */
	int relevant = -1; /* decided at the first waiter it concerns */
	long long compacted = 0;
	bool any = false;
	/* Only the waiters of this Work's cluster: the bucket of the key's
	 * prefix up to the '/' after the namespace. */
	const char *slash = strchr(ev->key + sizeof wp - 1, '/');
	if (!slash)
		return;
	if (aa->track) {
		/* Every change of a Work, also with no poll waiting. */
		relevant = relevant_change(ev);
		relevance_put(aa, ev, relevant);
		compacted = store_compacted(aa->store);
		char pfx[256];
		size_t plen = (size_t)(slash - ev->key) + 1;
		if (relevant && plen < sizeof pfx) {
			memcpy(pfx, ev->key, plen);
			pfx[plen] = '\0';
			long long *last = strmap_get(&aa->last_relevant, pfx);
			if (!last) {
				last = calloc(1, sizeof *last);
				strmap_put(&aa->last_relevant, pfx, last);
			}
			if (ev->rev > *last)
				*last = ev->rev;
		} else if (relevant) {
			aa->track = false; /* a prefix too long to keep: the log decides */
		}
	}
	for (struct waiter *w = aa->buckets[prefix_bucket(ev->key, (size_t)(slash - ev->key) + 1)]; w; w = w->hnext) {
		if (strncmp(ev->key, w->prefix, strlen(w->prefix)) != 0)
			continue;
		if (relevant < 0) {
			relevant = relevant_change(ev);
			relevance_put(aa, ev, relevant);
			compacted = store_compacted(aa->store);
		}
		if (!relevant && w->since >= compacted)
			continue;
		waiter_mark_pending(aa, w);
		any = true;
		if (!relevant || ev->rev <= w->since || w->overflow)
			continue;
		if (w->nchanges >= PROTO_MAX_EVENTS) {
			w->overflow = true;
			continue;
		}
		struct change *c = calloc(1, sizeof *c);
		char *text = ev->value ? strdup(ev->value) : NULL;
		if (!c || !text) {
			free(c);
			free(text);
			w->overflow = true; /* the log has it */
			continue;
		}
		c->text = text;
		c->len = strlen(text);
		c->rev = ev->rev;
		c->type = ev->type == STORE_ADDED ? "ADDED" : ev->type == STORE_DELETED ? "DELETED" : "MODIFIED";
		if (!w->changes_tail)
			w->changes_tail = &w->changes;
		*w->changes_tail = c;
		w->changes_tail = &c->next;
		w->nchanges++;
	}
	/* Answered from the loop, never inside the store's write path; several
	 * writes in one turn become one answer. */
	if (any)
		event_active(aa->flush_ev, EV_TIMEOUT, 0);
}

/* revision and timeoutSeconds of a poll; -1 when refused (answered). */
static int works_query(const struct api_req *rq, long long *since_out, long *timeout_out)
{
	struct evhttp_request *req = rq->req;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
	if (qs && evhttp_parse_query_str(qs, &q) < 0) {
		api_send_status(rq, 400, "BadRequest", "malformed query string");
		return -1;
	}
	const char *rvs = evhttp_find_header(&q, "revision");
	const char *ts = evhttp_find_header(&q, "timeoutSeconds");
	long long since = 0;
	long timeout = PROTO_DEFAULT_POLL_S;
	char perr[256];
	long long n;
	if (rvs && *rvs) {
		/* Strict (no blanks, signs or overflow), as every query number. */
		if (param_int64(rvs, &since, perr, sizeof perr) < 0 || since < 0 || rvs[0] == '+') {
			api_send_status(rq, 400, "BadRequest", "revision: expected a non-negative integer, got \"%.64s\"", rvs);
			evhttp_clear_headers(&q);
			return -1;
		}
	}
	if (ts && *ts) {
		int rc = param_int64(ts, &n, perr, sizeof perr);
		timeout = rc == 0 && n >= 0 && n <= PROTO_MAX_POLL_S ? (long)n : -1;
		if (rc < 0 || timeout < 0 || ts[0] == '+') {
			api_send_status(rq, 400, "BadRequest", "timeoutSeconds: expected an integer from 0 to %d, got \"%.64s\"",
				    PROTO_MAX_POLL_S, ts);
			evhttp_clear_headers(&q);
			return -1;
		}
	}
	evhttp_clear_headers(&q);
	*since_out = since;
	*timeout_out = timeout;
	return 0;
}

static void serve_works(struct agentapi *aa, const struct api_req *rq, const char *cluster, long long since,
			long timeout);

static void handle_works(struct agentapi *aa, const struct api_req *rq, const char *cluster)
{
	long long since;
	long timeout;
	if (works_query(rq, &since, &timeout) == 0)
		serve_works(aa, rq, cluster, since, timeout);
}

/* POST works: the long-poll that is also the heartbeat (its body is the
 * Heartbeat), so an agent needs one connection to the hub. The Lease is
 * renewed as by PUT heartbeat, then the poll is answered or held as by GET,
 * held at most a quarter of leaseDurationSeconds (Karmada's renew
 * interval): a poll, and so a renewal, arrives at least that often. Bad
 * input (query or body) is refused before anything is renewed. */
static void handle_works_beat(struct agentapi *aa, const struct api_req *rq, const char *cluster)
{
	long long since;
	long timeout;
	struct proto_heartbeat h;
	char renew[64];
	if (works_query(rq, &since, &timeout) < 0 || read_heartbeat(rq, cluster, &h) < 0 ||
	    apply_heartbeat(aa, rq, cluster, &h, renew, sizeof renew) < 0)
		return;
	long cap = h.lease_duration_s / 4 > 1 ? h.lease_duration_s / 4 : 1;
	serve_works(aa, rq, cluster, since, timeout < cap ? timeout : cap);
}

static void serve_works(struct agentapi *aa, const struct api_req *rq, const char *cluster, long long since,
			long timeout)
{
	char prefix[160];
	proto_works_prefix(cluster, prefix, sizeof prefix);
	if (since == 0) {
		long long rev = 0;
		struct collect c = {.answer = proto_work_events_new(0, true, false)};
		if (store_list(aa->store, prefix, full_item, &c, &rev) != STORE_OK) {
			cJSON_Delete(c.answer);
			api_send_status(rq, 500, "InternalError", "Internal error occurred: cannot list the Works");
			return;
		}
		char rv[32];
		snprintf(rv, sizeof rv, "%lld", rev);
		json_set_str(c.answer, "revision", rv);
		api_send_json(rq, 200, c.answer);
		cJSON_Delete(c.answer);
		return;
	}
	bool expired;
	cJSON *ans = collect_changes(aa, prefix, since, &expired);
	if (expired) {
		api_send_status(rq, 410, "Expired", "too old resource version: %lld (%lld)", since, store_compacted(aa->store));
		return;
	}
	if (ans || timeout == 0) {
		if (!ans)
			ans = proto_work_events_new(nothing_new_rev(aa), false, false);
		api_send_json(rq, 200, ans);
		cJSON_Delete(ans);
		return;
	}
	struct waiter *w = calloc(1, sizeof *w);
	w->aa = aa;
	snprintf(w->cluster, sizeof w->cluster, "%s", cluster);
	snprintf(w->prefix, sizeof w->prefix, "%s", prefix);
	w->since = since;
	w->next = aa->waiters;
	if (aa->waiters)
		aa->waiters->prev = w;
	aa->waiters = w;
	aa->nwaiters++;
	waiter_link(aa, w);
	/* The poll outlives the request timeout, not by much. */
	struct stream_config sc = {.mode = STREAM_HELD, .name = "agent poll", .deadline_s = timeout,
				   .conn_timeout_s = (int)timeout + 30, .on_end = waiter_gone,
				   .on_deadline = waiter_timeout, .ud = w};
	w->s = stream_open(rq, &sc);
}

/* ---- status reports ------------------------------------------------------------ */


/* An Event on the Work for each manifest that the agent applied without
 * fields the member's Kubernetes version does not know (droppedFields in
 * its manifest status), once per distinct message. */
static void dropped_fields_events(struct agentapi *aa, const char *cluster, const cJSON *work, const cJSON *ms)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, ms) {
		const cJSON *dropped = json_get(e, "droppedFields"), *f;
		if (!cJSON_IsArray(dropped) || cJSON_GetArraySize(dropped) == 0)
			continue;
		char list[1024] = "";
		cJSON_ArrayForEach(f, dropped) {
			size_t n = strlen(list);
			if (cJSON_IsString(f) && n + 2 < sizeof list)
				snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", f->valuestring);
		}
		const char *kind = json_get_str(e, "identifier.kind"), *ns = json_get_str(e, "identifier.namespace");
		const char *name = json_get_str(e, "identifier.name");
		char msg[1400];
		snprintf(msg, sizeof msg, "%s %s%s%s applied to cluster %s without field(s) its Kubernetes version does not know: %s",
			 kind ? kind : "?", ns && ns[0] ? ns : "", ns && ns[0] ? "/" : "", name ? name : "?", cluster, list);
		events_record(aa->objs, work, "Warning", "FieldsDropped", msg, "atoll-agent", EVENT_ONCE, time(NULL));
	}
}

/* ---- status reports behind a fan-out --------------------------------------------
 * While the controller writes a fan-out in slices (loopturn_fanout: every
 * cluster's Work, each slice committed and its long-polls answered before
 * the next), the reports of the agents answered first would take the loop
 * from the slices still to come: each is a Work status write and, through
 * the controller, the binding's aggregation. They wait, held (nothing is
 * read or answered), until the fan-out ends, then run oldest first in
 * bounded slices; none waits longer than REPORT_PARK_MAX_S. None is lost
 * and each is still answered only once its writes are durable. */
#define REPORT_PARK_MAX_S 5 /* the agent waits 30 s for the answer */
#define UNPARK_SLICE 256

struct parked {
	struct agentapi *aa;
	struct stream *s;
	char cluster[128];
	struct parked *next, *prev;
};

static void report_now(struct agentapi *aa, const struct api_req *rq, const char *cluster);

static void parked_gone(struct stream *s, enum stream_end why, void *ud)
{
	struct parked *p = ud;
	struct agentapi *aa = p->aa;
	if (p->prev)
		p->prev->next = p->next;
	else
		aa->park_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		aa->park_tail = p->prev;
	aa->nparked--;
	free(p);
}

static void parked_run(struct parked *p)
{
	struct agentapi *aa = p->aa;
	char cluster[128];
	snprintf(cluster, sizeof cluster, "%s", p->cluster);
	struct api_req rq = stream_release(p->s); /* frees p (parked_gone) */
	report_now(aa, &rq, cluster);
}

static void parked_deadline(struct stream *s, void *ud) { parked_run(ud); }

static void unpark(evutil_socket_t fd, short what, void *arg)
{
	struct agentapi *aa = arg;
	for (int n = 0; n < UNPARK_SLICE && aa->park_head && !(aa->turn && loopturn_fanout(aa->turn)); n++)
		parked_run(aa->park_head);
	if (aa->park_head && !(aa->turn && loopturn_fanout(aa->turn))) {
		static const struct timeval zero = {0, 0};
		event_add(aa->unpark_ev, &zero); /* the rest after this slice's commit */
	}
}

static void on_fanout_done(void *ud)
{
	struct agentapi *aa = ud;
	for (struct waiter *w = aa->waiters, *next; w && aa->noverdue > 0; w = next) {
		next = w->next;
		if (w->overdue)
			waiter_timeout(w->s, w); /* answers it: frees w */
	}
	if (aa->park_head)
		event_active(aa->unpark_ev, EV_TIMEOUT, 0);
}

/* Holds the report while a fan-out runs (or others wait before it). */
static bool park_report(struct agentapi *aa, const struct api_req *rq, const char *cluster)
{
	if (!aa->turn || !(loopturn_fanout(aa->turn) || aa->park_head))
		return false;
	struct parked *p = calloc(1, sizeof *p);
	if (!p)
		return false;
	p->aa = aa;
	snprintf(p->cluster, sizeof p->cluster, "%s", cluster);
	struct stream_config sc = {.mode = STREAM_HELD, .name = "status report", .deadline_s = REPORT_PARK_MAX_S,
				   .on_end = parked_gone, .on_deadline = parked_deadline, .ud = p};
	p->prev = aa->park_tail;
	if (aa->park_tail)
		aa->park_tail->next = p;
	else
		aa->park_head = p;
	aa->park_tail = p;
	aa->nparked++;
	p->s = stream_open(rq, &sc);
	if (!p->s) {
		parked_gone(NULL, STREAM_END_SERVER, p);
		return false;
	}
	if (!loopturn_fanout(aa->turn) && !evtimer_pending(aa->unpark_ev, NULL))
		event_active(aa->unpark_ev, EV_TIMEOUT, 0);
	hubmetrics_report_held();
	return true;
}

static void handle_workstatuses(struct agentapi *aa, const struct api_req *rq, const char *cluster)
{
	if (!park_report(aa, rq, cluster))
		report_now(aa, rq, cluster);
}

static void report_now(struct agentapi *aa, const struct api_req *rq, const char *cluster)
{
	cJSON *body = read_json_body(rq);
	if (!body)
		return;
	struct proto_work_status *items;
	int n;
	char err[512];
	int rc = proto_status_report_from_json(body, &items, &n, err, sizeof err);
	cJSON_Delete(body);
	if (rc < 0) {
		api_send_status(rq, 400, "BadRequest", "invalid WorkStatusReport: %s", err);
		return;
	}
	char ns[128], now[64];
	proto_exec_namespace(cluster, ns, sizeof ns);
	now_rfc3339(now, sizeof now);
	cJSON *ans = cJSON_CreateObject();
	cJSON_AddStringToObject(ans, "apiVersion", PROTO_API_VERSION);
	cJSON_AddStringToObject(ans, "kind", "WorkStatusResult");
	cJSON *res = cJSON_AddArrayToObject(ans, "results");
	int written = 0;
	for (int i = 0; i < n; i++) {
		struct proto_work_status *s = &items[i];
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "name", s->name);
		cJSON *w = objc_get(&aa->oc, aa->k_work, ns, s->name);
		if (!w) {
			cJSON_AddNumberToObject(r, "code", 404);
			cJSON_AddStringToObject(r, "message", "work not found");
			cJSON_AddItemToArray(res, r);
			continue;
		}
		/* The new status beside the Work as read, written through
		 * obj_update_cur (no second read and parse of the Work). */
		const cJSON *before = cJSON_GetObjectItemCaseSensitive(w, "status");
		cJSON *st = cJSON_IsObject(before) ? json_dup(before) : cJSON_CreateObject();
		cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
		if (!cJSON_IsArray(conds)) {
			conds = cJSON_CreateArray();
			json_set(st, "conditions", conds);
		}
		proto_set_condition(conds, "Applied", s->applied ? "True" : "False", s->reason, s->message, s->generation,
				    now);
		json_set(st, "manifestStatuses", s->manifest_statuses);
		s->manifest_statuses = NULL;
		int code = 200;
		const char *msg = "";
		struct api_error e = {0};
		if (!json_equal(before, st)) {
			cJSON *upd = cJSON_CreateObject();
			cJSON_AddItemToObject(upd, "status", st);
			st = NULL;
			if (objc_apply_in_place(&aa->oc, aa->k_work, w, upd, SUBRES_STATUS, &e) < 0) {
				code = e.code;
				msg = e.message;
			} else {
				written++;
				dropped_fields_events(aa, cluster, w, json_get(upd, "status.manifestStatuses"));
			}
			cJSON_Delete(upd);
		}
		cJSON_AddNumberToObject(r, "code", code);
		cJSON_AddStringToObject(r, "message", msg);
		cJSON_AddItemToArray(res, r);
		api_error_clear(&e);
		cJSON_Delete(st);
		cJSON_Delete(w);
	}
	log_debug("agentapi: %s reported %d work statuses (%d written)", cluster, n, written);
	proto_work_status_free(items, n);
	api_send_json(rq, 200, ans);
	cJSON_Delete(ans);
}

/* ---- dispatch ------------------------------------------------------------------ */

static void handle_meshreader(struct agentapi *aa, const struct api_req *rq, const char *cluster)
{
	meshreader_handle(aa->objs, rq, cluster);
}

static bool on_route(const struct api_req *rq, const char *path, void *ud)
{
	struct evhttp_request *req = rq->req;
	struct agentapi *aa = ud;
	char ver[32], cluster[128], op[32];
	if (proto_parse_path(path, ver, sizeof ver, cluster, sizeof cluster, op, sizeof op) < 0) {
		api_send_status(rq, 404, "NotFound", "the server could not find the requested resource");
		return true;
	}
	if (strcmp(ver, PROTO_VERSION) != 0) {
		api_send_status(rq, 404, "NotFound",
			    "unsupported protocol version %s/%s: this hub speaks %s (see docs/protocol.md)", PROTO_GROUP,
			    ver, PROTO_API_VERSION);
		return true;
	}
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (!cluster[0]) {
		cJSON *info = cJSON_CreateObject();
		cJSON_AddStringToObject(info, "apiVersion", PROTO_API_VERSION);
		cJSON_AddStringToObject(info, "kind", "ProtocolInfo");
		cJSON *v = cJSON_AddArrayToObject(info, "versions");
		cJSON_AddItemToArray(v, cJSON_CreateString(PROTO_API_VERSION));
		api_send_json(rq, 200, info);
		cJSON_Delete(info);
		return true;
	}
	char err[256];
	if (!proto_valid_cluster_name(cluster, err, sizeof err)) {
		api_send_status(rq, 400, "BadRequest", "%s", err);
		return true;
	}
	if (aa->authz) {
		char msg[512] = "";
		int code = aa->authz(req, cluster, msg, sizeof msg, aa->authz_ud);
		if (code) {
			api_send_status(rq, code, code == 401 ? "Unauthorized" : "Forbidden", "%s",
				    msg[0] ? msg : "forbidden");
			return true;
		}
	}
	struct {
		const char *op;
		enum evhttp_cmd_type cmd;
		void (*fn)(struct agentapi *, const struct api_req *, const char *);
	} ops[] = {
		{"registration", EVHTTP_REQ_PUT, handle_registration},
		{"heartbeat", EVHTTP_REQ_PUT, handle_heartbeat},
		{"works", EVHTTP_REQ_GET, handle_works},
		{"works", EVHTTP_REQ_POST, handle_works_beat},
		{"workstatuses", EVHTTP_REQ_POST, handle_workstatuses},
		{MESHREADER_OP, EVHTTP_REQ_PUT, handle_meshreader},
		{MESHREADER_OP, EVHTTP_REQ_DELETE, handle_meshreader},
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(op, ops[i].op) != 0)
			continue;
		if (cmd != ops[i].cmd && i + 1 < sizeof ops / sizeof ops[0] && strcmp(op, ops[i + 1].op) == 0)
			continue; /* another method of the same operation */
		if (cmd != ops[i].cmd) {
			api_send_status(rq, 405, "MethodNotAllowed",
				    "the server does not allow this method on the requested resource");
			return true;
		}
		ops[i].fn(aa, rq, cluster);
		return true;
	}
	api_send_status(rq, 404, "NotFound", "the server could not find the requested resource");
	return true;
}

struct agentapi *agentapi_new(struct event_base *base, struct apiserver *api, struct store *st,
			      const struct agentapi_config *cfg)
{
	struct agentapi *aa = calloc(1, sizeof *aa);
	aa->base = base;
	aa->api = api;
	aa->store = st;
	aa->objs = apiserver_objects(api);
	objc_init(&aa->oc, st, aa->objs);
	if (cfg)
		aa->cfg = *cfg;
	aa->k_cluster = kinds_find_kind("cluster.karmada.io", "v1alpha1", "Cluster");
	aa->k_lease = kinds_find_kind("coordination.k8s.io", "v1", "Lease");
	aa->k_work = kinds_find_kind("work.karmada.io", "v1alpha1", "Work");
	aa->k_ns = kinds_find_kind("", "v1", "Namespace");
	aa->started = mono_now();
	aa->committed_rev = store_revision(st);
	strmap_init(&aa->last_relevant, free);
	aa->known_from = aa->committed_rev;
	aa->track = st->head == NULL;
	aa->flush_ev = event_new(base, -1, 0, flush_waiters, aa);
	aa->unpark_ev = event_new(base, -1, 0, unpark, aa);
	aa->turn = loopturn_of(st);
	if (aa->turn)
		loopturn_add_fanout_listener(aa->turn, on_fanout_done, aa);
	/* ctl_cluster_life_new applies the defaults of monitor_period_ms and startup_grace_s. */
	struct cluster_life_config lc = {aa->cfg.monitor_period_ms, aa->cfg.startup_grace_s, aa->cfg.grace_ms};
	aa->life = ctl_cluster_life_new(base, st, aa->objs, &lc);
	/* Agents see only durable Works. */
	store_subscribe_committed(st, on_store_event, aa);
	apiserver_add_route(api, "/apis/" PROTO_GROUP, on_route, aa);
	return aa;
}

void agentapi_set_authorizer(struct agentapi *aa, agentapi_authz_fn fn, void *ud)
{
	aa->authz = fn;
	aa->authz_ud = ud;
}

int agentapi_waiting(struct agentapi *aa) { return aa->nwaiters; }

void agentapi_set_monitoring(struct agentapi *aa, bool on) { ctl_cluster_life_set_monitoring(aa->life, on); }

void agentapi_free(struct agentapi *aa)
{
	if (!aa)
		return;
	while (aa->waiters) {
		struct waiter *w = aa->waiters;
		cJSON *ans = proto_work_events_new(w->since, false, false);
		waiter_answer(w, ans);
		cJSON_Delete(ans);
	}
	while (aa->park_head) /* answered now: the hub is going away */
		parked_run(aa->park_head);
	if (aa->turn)
		loopturn_remove(aa->turn, on_fanout_done, aa);
	event_free(aa->unpark_ev);
	store_unsubscribe(aa->store, on_store_event, aa);
	ctl_cluster_life_free(aa->life);
	objc_free(&aa->oc);
	event_free(aa->flush_ev);
	strmap_clear(&aa->last_relevant);
	free(aa);
}
