#include "statusfeed.h"
#include "params.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "jsonutil.h"
#include "log.h"
#include "nameidx.h"
#include "numparse.h"
#include "stream.h"
#include "timefmt.h"

/* ---- small readers ---------------------------------------------------------- */

static const char *str_at(const cJSON *o, const char *path)
{
	return json_get_str(o, path);
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static long long num_at(const cJSON *o, const char *path)
{
	double d = json_get_num(o, path, 0);
	return d > 0 ? (long long)d : 0;
}

static cJSON *obj_or_empty(const cJSON *o)
{
	return cJSON_IsObject(o) ? json_dup(o) : cJSON_CreateObject();
}

const char *status_cluster_ready(const cJSON *cluster)
{
	const char *s = json_get_str(json_condition(cluster, "Ready"), "status");
	if (s && (strcmp(s, "True") == 0 || strcmp(s, "False") == 0))
		return strcmp(s, "True") == 0 ? "True" : "False";
	return "Unknown";
}

static bool cond_is(const cJSON *obj, const char *type, const char *status)
{
	const char *s = json_get_str(json_condition(obj, type), "status");
	return s && strcmp(s, status) == 0;
}

static long long ready_replicas(const cJSON *binding)
{
	long long n = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, json_get(binding, "status.aggregatedStatus"))
		n += num_at(a, "status.readyReplicas");
	return n;
}

const char *status_binding_state(const cJSON *binding)
{
	if (cond_is(binding, "Scheduled", "False"))
		return "Unschedulable";
	if (!cond_is(binding, "Scheduled", "True"))
		return "Pending";
	if (cond_is(binding, "FullyApplied", "False"))
		return "Failed";
	if (!cond_is(binding, "FullyApplied", "True"))
		return "Applying";
	if (ready_replicas(binding) < num_at(binding, "spec.replicas"))
		return "Progressing";
	return "Ready";
}

static const char *const binding_states[] = {"Pending", "Unschedulable", "Applying", "Failed", "Progressing", "Ready", NULL};

/* ---- clusters -------------------------------------------------------------------- */

/* A Lease's name when it is in the clusters' Lease namespace: the key of
 * the index status_build looks each cluster's Lease up in (a scan of every
 * Lease per cluster made /status N² over the fleet). */
static const char *lease_key(const cJSON *l)
{
	const char *ns = str_at(l, "metadata.namespace");
	return ns && strcmp(ns, STATUS_LEASE_NAMESPACE) == 0 ? str_at(l, "metadata.name") : NULL;
}

static cJSON *cluster_entry(const cJSON *c, const struct name_index *leases, time_t now)
{
	cJSON *e = cJSON_CreateObject();
	const char *name = str_at(c, "metadata.name");
	cJSON_AddStringToObject(e, "name", name ? name : "");
	add_str_or_null(e, "region", str_at(c, "spec.region"));
	cJSON *zones = cJSON_AddArrayToObject(e, "zones");
	const cJSON *z;
	cJSON_ArrayForEach(z, json_get(c, "spec.zones"))
		if (cJSON_IsString(z))
			cJSON_AddItemToArray(zones, cJSON_CreateString(z->valuestring));
	if (cJSON_GetArraySize(zones) == 0 && str_at(c, "spec.zone"))
		cJSON_AddItemToArray(zones, cJSON_CreateString(str_at(c, "spec.zone")));
	add_str_or_null(e, "provider", str_at(c, "spec.provider"));
	add_str_or_null(e, "mode", str_at(c, "spec.syncMode"));

	const cJSON *rc = json_condition(c, "Ready");
	cJSON_AddStringToObject(e, "ready", status_cluster_ready(c));
	add_str_or_null(e, "readyReason", json_get_str(rc, "reason"));
	add_str_or_null(e, "readyMessage", json_get_str(rc, "message"));
	add_str_or_null(e, "readySince", json_get_str(rc, "lastTransitionTime"));
	add_str_or_null(e, "kubernetesVersion", str_at(c, "status.kubernetesVersion"));

	const char *hb = NULL, *src = NULL;
	const cJSON *lease = name ? nidx_find(leases, name) : NULL;
	if (lease && (hb = str_at(lease, "spec.renewTime")))
		src = "lease";
	else if ((hb = json_get_str(rc, "lastHeartbeatTime")))
		src = "condition";
	time_t t;
	cJSON *h = cJSON_AddObjectToObject(e, "heartbeat");
	if (hb && time_parse_rfc3339(hb, &t) == 0) {
		cJSON_AddStringToObject(h, "time", hb);
		cJSON_AddNumberToObject(h, "ageSeconds", (double)(now > t ? now - t : 0));
		cJSON_AddStringToObject(h, "source", src);
	} else {
		cJSON_AddNullToObject(h, "time");
		cJSON_AddNullToObject(h, "ageSeconds");
		cJSON_AddNullToObject(h, "source");
	}
	cJSON *nodes = cJSON_AddObjectToObject(e, "nodes");
	cJSON_AddNumberToObject(nodes, "ready", (double)num_at(c, "status.nodeSummary.readyNum"));
	cJSON_AddNumberToObject(nodes, "total", (double)num_at(c, "status.nodeSummary.totalNum"));
	cJSON *res = cJSON_AddObjectToObject(e, "resources");
	cJSON_AddItemToObject(res, "allocatable", obj_or_empty(json_get(c, "status.resourceSummary.allocatable")));
	cJSON_AddItemToObject(res, "allocating", obj_or_empty(json_get(c, "status.resourceSummary.allocating")));
	cJSON_AddItemToObject(res, "allocated", obj_or_empty(json_get(c, "status.resourceSummary.allocated")));
	cJSON *taints = cJSON_AddArrayToObject(e, "taints");
	const cJSON *tn;
	cJSON_ArrayForEach(tn, json_get(c, "spec.taints"))
	{
		cJSON *x = cJSON_CreateObject();
		add_str_or_null(x, "key", json_get_str(tn, "key"));
		add_str_or_null(x, "effect", json_get_str(tn, "effect"));
		cJSON_AddItemToArray(taints, x);
	}
	return e;
}

/* ---- events ------------------------------------------------------------------------ */

struct ev_ref {
	char key[800];  /* kind \x1f namespace \x1f name */
	const char *ts; /* newest timestamp we know of ("" if none) */
	long long rv;
	const cJSON *ev;
};

static void obj_key3(char *buf, size_t len, const char *kind, const char *ns, const char *name)
{
	snprintf(buf, len, "%s\x1f%s\x1f%s", kind ? kind : "", ns ? ns : "", name ? name : "");
}

static const char *event_time(const cJSON *ev)
{
	const char *t = str_at(ev, "lastTimestamp");
	if (!t || !*t)
		t = str_at(ev, "eventTime");
	if (!t || !*t)
		t = str_at(ev, "series.lastObservedTime");
	if (!t || !*t)
		t = str_at(ev, "firstTimestamp");
	if (!t || !*t)
		t = str_at(ev, "metadata.creationTimestamp");
	return t ? t : "";
}

/* By key, then newest first (RFC 3339 UTC strings order as times, but
 * fractions differ in length, so compare the parsed seconds first). */
static int cmp_ev(const void *a, const void *b)
{
	const struct ev_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	time_t tx = 0, ty = 0;
	time_parse_rfc3339(x->ts, &tx);
	time_parse_rfc3339(y->ts, &ty);
	if (tx != ty)
		return tx > ty ? -1 : 1;
	if (x->rv != y->rv)
		return x->rv > y->rv ? -1 : 1;
	return 0;
}

static struct ev_ref *index_events(const cJSON *events, size_t *n)
{
	size_t cap = (size_t)cJSON_GetArraySize(events);
	struct ev_ref *refs = calloc(cap ? cap : 1, sizeof *refs);
	size_t k = 0;
	const cJSON *ev;
	cJSON_ArrayForEach(ev, events)
	{
		const char *kind = str_at(ev, "involvedObject.kind"), *name = str_at(ev, "involvedObject.name");
		if (!kind || !name || k == cap)
			continue;
		const char *ns = str_at(ev, "involvedObject.namespace");
		obj_key3(refs[k].key, sizeof refs[k].key, kind, ns, name);
		refs[k].ts = event_time(ev);
		const char *rv = str_at(ev, "metadata.resourceVersion");
		if (!rv || num_parse_ll(rv, 0, LLONG_MAX, &refs[k].rv) < 0)
			refs[k].rv = 0;
		refs[k].ev = ev;
		k++;
	}
	qsort(refs, k, sizeof *refs, cmp_ev);
	*n = k;
	return refs;
}

static cJSON *events_for(const struct ev_ref *refs, size_t n, const char *key)
{
	cJSON *out = cJSON_CreateArray();
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(refs[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && i < lo + STATUS_MAX_EVENTS && strcmp(refs[i].key, key) == 0; i++) {
		const cJSON *ev = refs[i].ev;
		cJSON *e = cJSON_CreateObject();
		add_str_or_null(e, "type", str_at(ev, "type"));
		add_str_or_null(e, "reason", str_at(ev, "reason"));
		add_str_or_null(e, "message", str_at(ev, "message"));
		cJSON_AddNumberToObject(e, "count", (double)(num_at(ev, "count") ? num_at(ev, "count") : 1));
		add_str_or_null(e, "time", refs[i].ts[0] ? refs[i].ts : NULL);
		const char *src = str_at(ev, "source.component");
		if (!src || !*src)
			src = str_at(ev, "reportingComponent");
		if (!src || !*src)
			src = str_at(ev, "reportingController");
		add_str_or_null(e, "source", src && *src ? src : NULL);
		cJSON_AddItemToArray(out, e);
	}
	return out;
}

/* ---- workloads ------------------------------------------------------------------------ */

static const char *meta_kv(const cJSON *b, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(b, "metadata.annotations"), key);
	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItemCaseSensitive(json_get(b, "metadata.labels"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *policy_of(const cJSON *b)
{
	const char *n = meta_kv(b, "propagationpolicy.karmada.io/name");
	cJSON *p = NULL;
	if (n) {
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "kind", "PropagationPolicy");
		const char *ns = meta_kv(b, "propagationpolicy.karmada.io/namespace");
		if (!ns)
			ns = str_at(b, "metadata.namespace");
		add_str_or_null(p, "namespace", ns);
		cJSON_AddStringToObject(p, "name", n);
	} else if ((n = meta_kv(b, "clusterpropagationpolicy.karmada.io/name"))) {
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "kind", "ClusterPropagationPolicy");
		cJSON_AddNullToObject(p, "namespace");
		cJSON_AddStringToObject(p, "name", n);
	}
	return p ? p : cJSON_CreateNull();
}

static int cmp_name(const void *a, const void *b)
{
	const char *x = json_get_str(*(cJSON *const *)a, "name"), *y = json_get_str(*(cJSON *const *)b, "name");
	return strcmp(x ? x : "", y ? y : "");
}

/* Adds the items to arr sorted by cmp. Takes ownership. */
static void add_sorted(cJSON *arr, cJSON **items, size_t n, int (*cmp)(const void *, const void *))
{
	qsort(items, n, sizeof *items, cmp);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, items[i]);
}

static cJSON *placement_entry(const char *name)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddBoolToObject(e, "assigned", false);
	cJSON_AddNumberToObject(e, "assignedReplicas", 0);
	cJSON_AddNumberToObject(e, "readyReplicas", 0);
	cJSON_AddNullToObject(e, "applied");
	cJSON_AddNullToObject(e, "appliedMessage");
	cJSON_AddStringToObject(e, "health", "Unknown");
	return e;
}

static cJSON *find_by_name(cJSON **items, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_get_str(items[i], "name"), name) == 0)
			return items[i];
	return NULL;
}

static cJSON *workload_entry(const cJSON *b, const struct ev_ref *refs, size_t nrefs, long long *assigned_total,
			     long long *ready_total)
{
	cJSON *w = cJSON_CreateObject();
	const char *kind = str_at(b, "spec.resource.kind"), *ns = str_at(b, "spec.resource.namespace"),
		   *name = str_at(b, "spec.resource.name");
	add_str_or_null(w, "kind", kind);
	add_str_or_null(w, "apiVersion", str_at(b, "spec.resource.apiVersion"));
	add_str_or_null(w, "namespace", ns && *ns ? ns : NULL);
	add_str_or_null(w, "name", name);
	cJSON *bref = cJSON_AddObjectToObject(w, "binding");
	const char *bns = str_at(b, "metadata.namespace");
	add_str_or_null(bref, "kind", str_at(b, "kind"));
	add_str_or_null(bref, "namespace", bns && *bns ? bns : NULL);
	add_str_or_null(bref, "name", str_at(b, "metadata.name"));
	long long desired = num_at(b, "spec.replicas");
	cJSON_AddNumberToObject(w, "desiredReplicas", (double)desired);
	cJSON_AddItemToObject(w, "policy", policy_of(b));
	cJSON_AddStringToObject(w, "state", status_binding_state(b));

	/* Per cluster: the union of spec.clusters and status.aggregatedStatus. */
	size_t cap = (size_t)(cJSON_GetArraySize(json_get(b, "spec.clusters")) +
			      cJSON_GetArraySize(json_get(b, "status.aggregatedStatus"))) + 1;
	cJSON **items = calloc(cap, sizeof *items);
	size_t n = 0;
	long long assigned = 0, ready = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(b, "spec.clusters"))
	{
		const char *cn = json_get_str(c, "name");
		if (!cn || n == cap)
			continue;
		cJSON *e = find_by_name(items, n, cn);
		if (!e)
			e = items[n++] = placement_entry(cn);
		long long r = num_at(c, "replicas");
		json_set(e, "assigned", cJSON_CreateTrue());
		json_set_num(e, "assignedReplicas", json_get_num(e, "assignedReplicas", 0) + (double)r);
		assigned += r;
	}
	cJSON_ArrayForEach(c, json_get(b, "status.aggregatedStatus"))
	{
		const char *cn = json_get_str(c, "clusterName");
		if (!cn || n == cap)
			continue;
		cJSON *e = find_by_name(items, n, cn);
		if (!e)
			e = items[n++] = placement_entry(cn);
		long long r = num_at(c, "status.readyReplicas");
		json_set_num(e, "readyReplicas", (double)r);
		ready += r;
		const cJSON *ap = cJSON_GetObjectItemCaseSensitive(c, "applied");
		if (cJSON_IsBool(ap))
			json_set(e, "applied", cJSON_CreateBool(cJSON_IsTrue(ap)));
		const char *am = json_get_str(c, "appliedMessage");
		if (am && *am)
			json_set_str(e, "appliedMessage", am);
		const char *h = json_get_str(c, "health");
		if (h && *h)
			json_set_str(e, "health", h);
	}
	cJSON_AddNumberToObject(w, "assignedReplicas", (double)assigned);
	cJSON_AddNumberToObject(w, "readyReplicas", (double)ready);
	add_sorted(cJSON_AddArrayToObject(w, "clusters"), items, n, cmp_name);
	free(items);

	cJSON *conds = cJSON_AddArrayToObject(w, "conditions");
	cJSON_ArrayForEach(c, json_get(b, "status.conditions"))
	{
		cJSON *x = cJSON_CreateObject();
		static const char *const keys[] = {"type", "status", "reason", "message", "lastTransitionTime", NULL};
		for (int i = 0; keys[i]; i++)
			add_str_or_null(x, keys[i], json_get_str(c, keys[i]));
		cJSON_AddItemToArray(conds, x);
	}
	char key[800];
	obj_key3(key, sizeof key, kind, ns, name);
	cJSON_AddItemToObject(w, "events", events_for(refs, nrefs, key));
	*assigned_total += assigned;
	*ready_total += ready;
	return w;
}

static int cmp_workload(const void *a, const void *b)
{
	const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
	static const char *const keys[] = {"namespace", "name", "kind"};
	for (int i = 0; i < 3; i++) {
		const char *s = json_get_str(x, keys[i]), *t = json_get_str(y, keys[i]);
		int c = strcmp(s ? s : "", t ? t : "");
		if (c)
			return c;
	}
	return 0;
}

cJSON *status_build(const cJSON *clusters, const cJSON *leases, const cJSON *bindings, const cJSON *events,
		    long long revision, time_t now)
{
	cJSON *doc = cJSON_CreateObject();
	char ts[40];
	cJSON_AddStringToObject(doc, "schemaVersion", STATUS_SCHEMA_VERSION);
	cJSON_AddNumberToObject(doc, "revision", (double)revision);
	cJSON_AddStringToObject(doc, "generatedAt", time_rfc3339(now, ts, sizeof ts));

	long long nready = 0, nnot = 0, nunknown = 0, nodes_ready = 0, nodes_total = 0;
	size_t nc = (size_t)cJSON_GetArraySize(clusters), k = 0;
	cJSON **items = calloc(nc ? nc : 1, sizeof *items);
	struct name_index lix;
	nidx_build(&lix, leases, lease_key);
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters)
	{
		if (k == nc)
			break;
		cJSON *e = items[k++] = cluster_entry(c, &lix, now);
		const char *r = json_get_str(e, "ready");
		if (strcmp(r, "True") == 0)
			nready++;
		else if (strcmp(r, "False") == 0)
			nnot++;
		else
			nunknown++;
		nodes_ready += num_at(e, "nodes.ready");
		nodes_total += num_at(e, "nodes.total");
	}
	nidx_free(&lix);
	add_sorted(cJSON_AddArrayToObject(doc, "clusters"), items, k, cmp_name);
	free(items);

	size_t nrefs = 0;
	struct ev_ref *refs = index_events(events, &nrefs);
	size_t nb = (size_t)cJSON_GetArraySize(bindings);
	items = calloc(nb ? nb : 1, sizeof *items);
	k = 0;
	long long desired = 0, assigned = 0, ready = 0;
	long long by_state[6] = {0};
	const cJSON *b;
	cJSON_ArrayForEach(b, bindings)
	{
		if (k == nb)
			break;
		if (!str_at(b, "spec.resource.kind") || !str_at(b, "spec.resource.name"))
			continue;
		items[k++] = workload_entry(b, refs, nrefs, &assigned, &ready);
		desired += num_at(b, "spec.replicas");
		const char *st = status_binding_state(b);
		for (int i = 0; binding_states[i]; i++)
			if (strcmp(st, binding_states[i]) == 0)
				by_state[i]++;
	}
	add_sorted(cJSON_AddArrayToObject(doc, "workloads"), items, k, cmp_workload);
	free(items);
	free(refs);

	cJSON *t = cJSON_AddObjectToObject(doc, "totals");
	cJSON_AddNumberToObject(t, "clusters", (double)(nready + nnot + nunknown));
	cJSON_AddNumberToObject(t, "clustersReady", (double)nready);
	cJSON_AddNumberToObject(t, "clustersNotReady", (double)nnot);
	cJSON_AddNumberToObject(t, "clustersUnknown", (double)nunknown);
	cJSON_AddNumberToObject(t, "nodesReady", (double)nodes_ready);
	cJSON_AddNumberToObject(t, "nodesTotal", (double)nodes_total);
	cJSON_AddNumberToObject(t, "workloads", (double)k);
	cJSON *bs = cJSON_AddObjectToObject(t, "workloadsByState");
	for (int i = 0; binding_states[i]; i++)
		cJSON_AddNumberToObject(bs, binding_states[i], (double)by_state[i]);
	cJSON_AddNumberToObject(t, "desiredReplicas", (double)desired);
	cJSON_AddNumberToObject(t, "assignedReplicas", (double)assigned);
	cJSON_AddNumberToObject(t, "readyReplicas", (double)ready);
	return doc;
}

/* ---- from the store ------------------------------------------------------------------- */

static int collect(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o)
		cJSON_AddItemToArray(ud, o);
	return 0;
}

cJSON *status_build_from_store(struct store *st, time_t now)
{
	cJSON *clusters = cJSON_CreateArray(), *leases = cJSON_CreateArray(), *bindings = cJSON_CreateArray(),
	      *events = cJSON_CreateArray();
	store_list(st, "cluster.karmada.io/clusters/", collect, clusters, NULL);
	store_list(st, "coordination.k8s.io/leases/" STATUS_LEASE_NAMESPACE "/", collect, leases, NULL);
	store_list(st, "work.karmada.io/resourcebindings/", collect, bindings, NULL);
	store_list(st, "work.karmada.io/clusterresourcebindings/", collect, bindings, NULL);
	store_list(st, "core/events/", collect, events, NULL);
	cJSON *doc = status_build(clusters, leases, bindings, events, store_revision(st), now);
	cJSON_Delete(clusters);
	cJSON_Delete(leases);
	cJSON_Delete(bindings);
	cJSON_Delete(events);
	return doc;
}

/* True for store keys whose objects the document reads. */
static bool relevant_key(const char *key)
{
	static const char *const prefixes[] = {
		"cluster.karmada.io/clusters/", "coordination.k8s.io/leases/" STATUS_LEASE_NAMESPACE "/",
		"work.karmada.io/resourcebindings/", "work.karmada.io/clusterresourcebindings/", "core/events/", NULL};
	for (int i = 0; prefixes[i]; i++)
		if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* ---- HTTP: /status, SSE, /dashboard ------------------------------------------------------ */

struct sse_client {
	struct statusfeed *f;
	struct stream *s;  /* its response (stream.h) */
	long long last_id; /* revision of the last document this client has */
	struct sse_client *next, *prev;
};

struct statusfeed {
	struct event_base *base;
	struct apiserver *api;
	struct store *store;
	struct statusfeed_config cfg;
	struct sse_client *clients;
	int nclients;
	long long last_relevant_rev; /* newest change the document depends on */
	bool dirty;
	bool flush_after_commit; /* a flush waits for the open batch's commit */
	struct event *flush_ev;
	struct timeval last_flush;
};

int statusfeed_clients(const struct statusfeed *f) { return f ? f->nclients : 0; }

static void set_header(struct evhttp_request *req, const char *k, const char *v)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_remove_header(h, k);
	evhttp_add_header(h, k, v);
}

static void send_text(const struct api_req *rq, int code, const char *reason, const char *ctype, const void *data,
		      size_t len)
{
	struct evhttp_request *req = rq->req;
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, data, len);
	set_header(req, "Content-Type", ctype);
	set_header(req, "Cache-Control", "no-cache, private");
	set_header(req, "X-Content-Type-Options", "nosniff");
	api_send_reply(rq, code, reason, b);
	evbuffer_free(b);
}

static void send_error(const struct api_req *rq, int code, const char *reason, const char *msg)
{
	struct api_error e = {0};
	api_error_set(&e, code, reason, "%s", msg);
	api_send_error(rq, &e, NULL);
	api_error_clear(&e);
}

/* The stream ended (stream.h): unlink and free. */
static void client_gone(struct stream *s, enum stream_end why, void *ud)
{
	struct sse_client *c = ud;
	struct statusfeed *f = c->f;
	if (c->prev)
		c->prev->next = c->next;
	else
		f->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	f->nclients--;
	free(c);
}

static void client_send(struct sse_client *c, const char *data, size_t len)
{
	stream_write(c->s, data, len);
}

/* "id: R\nevent: status\ndata: {...}\n\n" for the current document. */
static char *sse_frame(struct statusfeed *f, long long *rev, size_t *len)
{
	cJSON *doc = status_build_from_store(f->store, time(NULL));
	*rev = (long long)json_get_num(doc, "revision", 0);
	char *json = json_print(doc);
	cJSON_Delete(doc);
	size_t jl = strlen(json);
	char *frame = malloc(jl + 64);
	int n = snprintf(frame, jl + 64, "id: %lld\nevent: status\ndata: %s\n\n", *rev, json);
	free(json);
	*len = (size_t)n;
	return frame;
}

static void flush_now(struct statusfeed *f)
{
	/* The frame is built from the store: not while it holds writes that
	 * are not durable yet; the commit's events bring us back. */
	if (store_in_batch(f->store)) {
		f->flush_after_commit = true;
		return;
	}
	f->flush_after_commit = false;
	f->dirty = false;
	evutil_gettimeofday(&f->last_flush, NULL);
	if (!f->clients)
		return;
	long long rev;
	size_t len;
	char *frame = sse_frame(f, &rev, &len);
	struct sse_client *c = f->clients, *next;
	for (; c; c = next) {
		next = c->next;
		if (c->last_id >= rev)
			continue;
		if (stream_behind(c->s))
			continue; /* cut off (and freed) */
		client_send(c, frame, len);
		c->last_id = rev;
	}
	free(frame);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	flush_now(arg);
}

static void schedule_flush(struct statusfeed *f)
{
	if (!f->clients || evtimer_pending(f->flush_ev, NULL))
		return;
	struct timeval now, next, wait = {0, 0};
	evutil_gettimeofday(&now, NULL);
	struct timeval win = {f->cfg.coalesce_ms / 1000, (f->cfg.coalesce_ms % 1000) * 1000};
	evutil_timeradd(&f->last_flush, &win, &next);
	if (evutil_timercmp(&next, &now, >))
		evutil_timersub(&next, &now, &wait);
	evtimer_add(f->flush_ev, &wait);
}

/* A committed subscriber. */
static void on_store_event(const struct store_event *ev, void *ud)
{
	struct statusfeed *f = ud;
	if (f->flush_after_commit)
		flush_now(f);
	if (!relevant_key(ev->key))
		return;
	f->last_relevant_rev = ev->rev;
	f->dirty = true;
	schedule_flush(f);
}

static long long parse_last_id(const char *s)
{
	if (!s || !*s)
		return -1;
	long long v;
	char err[256];
	return param_int64(s, &v, err, sizeof err) < 0 || v < 0 ? -1 : v; /* a malformed id is ignored (SSE) */
}

static void handle_watch(struct statusfeed *f, const struct api_req *rq, struct evkeyvalq *q)
{
	struct evhttp_request *req = rq->req;
	/* The first frame must come from committed data. */
	if (api_defer_until_committed(rq))
		return;
	if (f->nclients >= f->cfg.max_clients) {
		set_header(req, "Retry-After", "1");
		send_error(rq, 429, "TooManyRequests", "too many open status feeds, please try again later");
		return;
	}
	long long since = parse_last_id(evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID"));
	if (since < 0)
		since = parse_last_id(evhttp_find_header(q, "lastEventId"));
	struct sse_client *c = calloc(1, sizeof *c);
	c->f = f;
	c->last_id = -1;
	c->next = f->clients;
	if (f->clients)
		f->clients->prev = c;
	f->clients = c;
	f->nclients++;
	set_header(req, "Content-Type", "text/event-stream; charset=utf-8");
	set_header(req, "Cache-Control", "no-cache, private");
	set_header(req, "X-Accel-Buffering", "no");
	struct stream_config sc = {.mode = STREAM_CHUNKED, .name = "status feed", .max_buffered = f->cfg.max_buffered,
				   .heartbeat_s = f->cfg.keepalive_s, .heartbeat = ": keepalive\n\n", .deadline_s = -1,
				   .on_end = client_gone, .ud = c};
	c->s = stream_open(rq, &sc);
	client_send(c, "retry: 2000\n\n", 13);
	long long cur = store_revision(f->store);
	if (since >= 0 && since >= f->last_relevant_rev && since <= cur) {
		/* The client's copy is current: nothing to resend. */
		c->last_id = since;
		char m[64];
		int n = snprintf(m, sizeof m, ": resumed at %lld\n\n", since);
		client_send(c, m, (size_t)n);
		return;
	}
	long long rev;
	size_t len;
	char *frame = sse_frame(f, &rev, &len);
	client_send(c, frame, len);
	c->last_id = rev;
	free(frame);
}

static bool route_status(const struct api_req *rq, const char *path, void *ud)
{
	struct evhttp_request *req = rq->req;
	struct statusfeed *f = ud;
	if (strcmp(path, "/status") != 0 && strcmp(path, "/status/") != 0)
		return false;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		set_header(req, "Allow", "GET, HEAD");
		send_error(rq, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		return true;
	}
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
	if (qs && evhttp_parse_query_str(qs, &q) < 0) {
		send_error(rq, 400, "BadRequest", "malformed query string");
		return true;
	}
	const char *w = evhttp_find_header(&q, "watch");
	if (cmd == EVHTTP_REQ_GET && param_kube_bool(w)) {
		handle_watch(f, rq, &q);
	} else {
		cJSON *doc = status_build_from_store(f->store, time(NULL));
		api_send_json(rq, 200, doc);
		cJSON_Delete(doc);
	}
	evhttp_clear_headers(&q);
	return true;
}

static bool route_dashboard(const struct api_req *rq, const char *path, void *ud)
{
	struct evhttp_request *req = rq->req;
	if (strcmp(path, "/dashboard") != 0 && strcmp(path, "/dashboard/") != 0)
		return false;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		set_header(req, "Allow", "GET, HEAD");
		send_error(rq, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		return true;
	}
	/* Everything is inline; the page may talk only to this origin. */
	set_header(req, "Content-Security-Policy",
		   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
		   "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	set_header(req, "Referrer-Policy", "no-referrer");
	send_text(rq, 200, "OK", "text/html; charset=utf-8", dashboard_html, dashboard_html_len);
	return true;
}

struct statusfeed *statusfeed_new(struct event_base *base, struct apiserver *api, struct store *st,
				  const struct statusfeed_config *cfg)
{
	struct statusfeed *f = calloc(1, sizeof *f);
	f->base = base;
	f->api = api;
	f->store = st;
	if (cfg)
		f->cfg = *cfg;
	if (f->cfg.coalesce_ms <= 0)
		f->cfg.coalesce_ms = 100;
	if (f->cfg.keepalive_s <= 0)
		f->cfg.keepalive_s = 15;
	if (!f->cfg.max_buffered)
		f->cfg.max_buffered = 8u << 20;
	if (f->cfg.max_clients <= 0)
		f->cfg.max_clients = 1000;
	/* Unknown history before this start: a resuming client gets the
	 * whole document once. */
	f->last_relevant_rev = store_revision(st);
	f->flush_ev = evtimer_new(base, on_flush, f);
	store_subscribe_committed(st, on_store_event, f);
	apiserver_add_route(api, "/status", route_status, f);
	apiserver_add_route(api, "/dashboard", route_dashboard, f);
	return f;
}

void statusfeed_close(struct statusfeed *f)
{
	if (!f)
		return;
	while (f->clients)
		stream_end(f->clients->s);
}

void statusfeed_free(struct statusfeed *f)
{
	if (!f)
		return;
	statusfeed_close(f);
	store_unsubscribe(f->store, on_store_event, f);
	event_free(f->flush_ev);
	free(f);
}
