#include "hubmetrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "apiserver.h"
#include "jsonspan.h"
#include "jsonutil.h"
#include "listenguard.h"
#include "nameidx.h"
#include "statusfeed.h"
#include "strmap.h"
#include "tls.h"

#define LAG_MAX_PENDING 10000
#define LAG_EXPIRE_S 600.0

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					 0.25,   0.5,   1,      2.5,   5,    10,    30,    60};
static const double lag_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

struct lag_entry {
	char binding[600]; /* kind \x1f namespace \x1f name of the binding */
	char cluster[256];
	unsigned long long h; /* of the binding: compared before the string */
	double since;      /* monotonic seconds of the first unaggregated Work status change */
};

static struct {
	struct metrics_registry *reg;
	struct store *store;
	struct apiserver *api;
	struct statusfeed *feed;
	struct metric *requests, *latency, *streams, *revision, *size, *compacted, *scheduling, *bindings,
		*clusters, *works, *lag, *lag_pending, *lag_oldest, *start_time, *reports_held;
	struct metric *tls_hs, *tls_hs_active, *tls_hs_queued, *tls_parked;
	struct metric *conns, *conns_closed, *accept_paused, *accept_pauses, *accept_shed, *open_fds, *max_fds;
	struct lag_entry *pending;
	size_t npending;
	/* "binding \x1e cluster" -> index + 1 in pending: a Work's status
	 * change finds its entry without a scan of up to 10,000 (a fan-out's
	 * 10,000 reports made that per-cluster x per-cluster). */
	struct strmap lag_index;
} H;

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct metrics_registry *hubmetrics_registry(void) { return H.reg; }

void hubmetrics_request(const char *verb, const char *resource, int code, double seconds)
{
	if (!H.reg)
		return;
	char cs[16];
	snprintf(cs, sizeof cs, "%d", code);
	const char *l3[] = {verb, resource, cs};
	metric_inc(H.requests, l3);
	if (seconds >= 0) {
		const char *l2[] = {verb, resource};
		metric_observe(H.latency, l2, seconds);
	}
}

void hubmetrics_streams_add(const char *kind, int delta)
{
	const char *l[] = {kind};
	metric_add(H.streams, l, delta);
}

void hubmetrics_report_held(void)
{
	if (H.reg)
		metric_inc(H.reports_held, NULL);
}

void hubmetrics_observe_scheduling(double seconds)
{
	metric_observe(H.scheduling, NULL, seconds);
}

/* ---- status-aggregation lag ------------------------------------------------------------------
 * From a Work's status changing (what the agent reports) to the binding's
 * status.aggregatedStatus entry for that cluster changing (what the
 * aggregation controller writes). Measured here, from the store's change
 * stream, so no controller needs to report it. */

/* What of a Work's status the aggregation copies. */
static bool work_status_changed(const cJSON *before, const cJSON *now)
{
	if (!json_equal(json_get(before, "status.manifestStatuses"), json_get(now, "status.manifestStatuses")))
		return true;
	const char *a = json_get_str(json_condition(before, "Applied"), "status"), *b = json_get_str(json_condition(now, "Applied"), "status");
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static bool work_binding(const cJSON *w, char *buf, size_t len)
{
	const cJSON *ann = json_get(w, "metadata.annotations");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(ann, "resourcebinding.karmada.io/name");
	const cJSON *nsv = cJSON_GetObjectItemCaseSensitive(ann, "resourcebinding.karmada.io/namespace");
	if (cJSON_IsString(n)) {
		snprintf(buf, len, "ResourceBinding\x1f%s\x1f%s", cJSON_IsString(nsv) ? nsv->valuestring : "", n->valuestring);
		return true;
	}
	n = cJSON_GetObjectItemCaseSensitive(ann, "clusterresourcebinding.karmada.io/name");
	if (cJSON_IsString(n)) {
		snprintf(buf, len, "ClusterResourceBinding\x1f\x1f%s", n->valuestring);
		return true;
	}
	return false;
}

static const char *lag_key(const char *binding, const char *cluster, char *buf, size_t len)
{
	snprintf(buf, len, "%s\x1e%s", binding, cluster);
	return buf;
}

static void lag_remove(size_t i)
{
	char k[900];
	strmap_del(&H.lag_index, lag_key(H.pending[i].binding, H.pending[i].cluster, k, sizeof k));
	H.pending[i] = H.pending[--H.npending];
	if (i < H.npending)
		strmap_put(&H.lag_index, lag_key(H.pending[i].binding, H.pending[i].cluster, k, sizeof k),
			   (void *)(uintptr_t)(i + 1));
}

static unsigned long long lag_hash(const char *binding, const char *cluster)
{
	unsigned long long h = 14695981039346656037ull;
	for (const char *p = binding; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ 0x1f) * 1099511628211ull;
	for (const char *p = cluster; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static void lag_work_event(const struct store_event *ev)
{
	if (ev->type != STORE_MODIFIED && ev->type != STORE_ADDED)
		return;
	/* The same status text (or none before and after): no status change,
	 * known without parsing (a binding pass rewriting every Work's spec). */
	if (jsonspan_same(ev->prev_value, ev->value, "status") == 1)
		return;
	const cJSON *now = store_event_value(ev), *before = store_event_prev(ev); /* shared parses */
	char b[600];
	const char *ns = json_get_str(now, "metadata.namespace");
	if (now && ns && strncmp(ns, "karmada-es-", 11) == 0 && work_binding(now, b, sizeof b) &&
	    work_status_changed(before, now)) {
		const char *cluster = ns + 11;
		char k[900];
		bool found = strmap_has(&H.lag_index, lag_key(b, cluster, k, sizeof k));
		if (!found && H.npending < LAG_MAX_PENDING) {
			struct lag_entry *e = &H.pending[H.npending++];
			e->h = lag_hash(b, "");
			snprintf(e->binding, sizeof e->binding, "%s", b);
			snprintf(e->cluster, sizeof e->cluster, "%s", cluster);
			e->since = mono_now();
			strmap_put(&H.lag_index, lag_key(e->binding, e->cluster, k, sizeof k), (void *)(uintptr_t)H.npending);
		}
	}
}

static const char *agg_cluster(const cJSON *a) { return json_get_str(a, "clusterName"); }

static void lag_binding_event(const struct store_event *ev, const char *kind)
{
	if (!H.npending)
		return;
	const cJSON *now = store_event_value(ev), *before = store_event_prev(ev); /* shared parses */
	const char *ns = json_get_str(now, "metadata.namespace"), *name = json_get_str(now, "metadata.name");
	char b[600];
	snprintf(b, sizeof b, "%s\x1f%s\x1f%s", kind, ns ? ns : "", name ? name : "");
	double t = mono_now();
	/* aggregatedStatus by cluster, before and now: built at the first pending entry of this binding */
	struct name_index bix = {0}, nix = {0};
	bool indexed = false;
	unsigned long long bh = lag_hash(b, "");
	for (size_t i = 0; i < H.npending;) {
		struct lag_entry *e = &H.pending[i];
		if (e->h != bh || strcmp(e->binding, b) != 0) {
			i++;
			continue;
		}
		if (ev->type == STORE_DELETED) {
			lag_remove(i);
			continue;
		}
		if (!indexed) {
			nidx_build(&bix, json_get(before, "status.aggregatedStatus"), agg_cluster);
			nidx_build(&nix, json_get(now, "status.aggregatedStatus"), agg_cluster);
			indexed = true;
		}
		if (!json_equal(nidx_find(&bix, e->cluster), nidx_find(&nix, e->cluster))) {
			metric_observe(H.lag, NULL, t - e->since);
			lag_remove(i);
			continue;
		}
		i++;
	}
	nidx_free(&bix);
	nidx_free(&nix);
}

static void on_store_event(const struct store_event *ev, void *ud)
{
	if (!H.reg)
		return;
	if (strncmp(ev->key, "work.karmada.io/works/", 22) == 0)
		lag_work_event(ev);
	else if (strncmp(ev->key, "work.karmada.io/resourcebindings/", 33) == 0)
		lag_binding_event(ev, "ResourceBinding");
	else if (strncmp(ev->key, "work.karmada.io/clusterresourcebindings/", 40) == 0)
		lag_binding_event(ev, "ClusterResourceBinding");
}

/* ---- scrape-time collector -------------------------------------------------------------------- */

struct counts {
	double v[8];
};

static int count_bindings(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	static const char *const states[] = {"Pending", "Unschedulable", "Applying", "Failed", "Progressing", "Ready", NULL};
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o) {
		const char *s = status_binding_state(o);
		for (int i = 0; states[i]; i++)
			if (strcmp(s, states[i]) == 0)
				((struct counts *)ud)->v[i]++;
	}
	cJSON_Delete(o);
	return 0;
}

static int count_clusters(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o) {
		const char *r = status_cluster_ready(o);
		((struct counts *)ud)->v[strcmp(r, "True") == 0 ? 0 : strcmp(r, "False") == 0 ? 1 : 2]++;
	}
	cJSON_Delete(o);
	return 0;
}

static int count_works(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o) {
		const char *s = json_get_str(json_condition(o, "Applied"), "status");
		((struct counts *)ud)->v[!s ? 0 : strcmp(s, "True") == 0 ? 1 : strcmp(s, "False") == 0 ? 2 : 0]++;
	}
	cJSON_Delete(o);
	return 0;
}

static void collect(struct metrics_registry *r, void *ud)
{
	if (!H.store)
		return;
	metric_set(H.revision, NULL, (double)store_revision(H.store));
	metric_set(H.compacted, NULL, (double)store_compacted(H.store));
	if (H.store->ops->size_bytes)
		metric_set(H.size, NULL, (double)H.store->ops->size_bytes(H.store));

	static const char *const bstates[] = {"Pending", "Unschedulable", "Applying", "Failed", "Progressing", "Ready"};
	struct counts c = {{0}};
	store_list(H.store, "work.karmada.io/resourcebindings/", count_bindings, &c, NULL);
	store_list(H.store, "work.karmada.io/clusterresourcebindings/", count_bindings, &c, NULL);
	for (int i = 0; i < 6; i++) {
		const char *l[] = {bstates[i]};
		metric_set(H.bindings, l, c.v[i]);
	}
	static const char *const rstates[] = {"True", "False", "Unknown"};
	memset(&c, 0, sizeof c);
	store_list(H.store, "cluster.karmada.io/clusters/", count_clusters, &c, NULL);
	for (int i = 0; i < 3; i++) {
		const char *l[] = {rstates[i]};
		metric_set(H.clusters, l, c.v[i]);
	}
	static const char *const wstates[] = {"pending", "applied", "failed"};
	memset(&c, 0, sizeof c);
	store_list(H.store, "work.karmada.io/works/", count_works, &c, NULL);
	for (int i = 0; i < 3; i++) {
		const char *l[] = {wstates[i]};
		metric_set(H.works, l, c.v[i]);
	}
	const char *lw[] = {"watch"}, *ls[] = {"status"};
	if (H.api)
		metric_set(H.streams, lw, apiserver_watch_count(H.api));
	if (H.feed)
		metric_set(H.streams, ls, statusfeed_clients(H.feed));
	double t = mono_now(), oldest = 0;
	for (size_t i = 0; i < H.npending;) {
		double age = t - H.pending[i].since;
		if (age > LAG_EXPIRE_S) {
			lag_remove(i);
			continue;
		}
		if (age > oldest)
			oldest = age;
		i++;
	}
	metric_set(H.lag_pending, NULL, (double)H.npending);
	metric_set(H.lag_oldest, NULL, oldest);
}

/* ---- connections (tls.h listeners, listenguard.h) ----------------------------------------------- */

/* A counter brought up to a cumulative value kept elsewhere. */
static void counter_to(struct metric *m, const char *const *l, double v)
{
	double d = v - metric_value(m, l);
	if (d > 0)
		metric_add(m, l, d);
}

static void collect_listener(const char *name, const struct tls_stats *st, void *ud)
{
	const char *lp[] = {name, "pending"}, *le[] = {name, "established"};
	metric_set(H.conns, lp, st->pending);
	metric_set(H.conns, le, st->established);
	static const char *const reasons[] = {"over_limit", "evicted", "silent", "handshake_timeout", "header_timeout",
					      "tls_failed", "plain_http_on_tls"};
	const unsigned long v[] = {st->over_limit,	   st->evicted,	 st->silent_timeouts, st->handshake_timeouts,
				   st->header_timeouts, st->failed, st->plain_http};
	for (int i = 0; i < 7; i++) {
		const char *l[] = {name, reasons[i]};
		counter_to(H.conns_closed, l, (double)v[i]);
	}
	const char *lf[] = {name, "full"}, *lres[] = {name, "resumed"}, *ln[] = {name};
	counter_to(H.tls_hs, lf, (double)(st->handshakes - st->resumed));
	counter_to(H.tls_hs, lres, (double)st->resumed);
	metric_set(H.tls_hs_active, ln, st->handshaking);
	counter_to(H.tls_hs_queued, ln, (double)st->queued);
	counter_to(H.tls_parked, ln, (double)st->parked);
}

static void collect_connections(struct metrics_registry *r, void *ud)
{
	tls_servers_foreach(collect_listener, NULL);
	struct listenguard_stats g;
	listenguard_stats(&g);
	metric_set(H.accept_paused, NULL, g.paused);
	counter_to(H.accept_pauses, NULL, (double)g.pauses);
	counter_to(H.accept_shed, NULL, (double)g.shed);
	metric_set(H.open_fds, NULL, listenguard_open_fds());
	metric_set(H.max_fds, NULL, (double)g.fd_limit);
}

static void register_connection_metrics(struct metrics_registry *r)
{
	static const char *const ls[] = {"listener", "state", NULL};
	static const char *const lr[] = {"listener", "reason", NULL};
	H.conns = metrics_gauge(r, "atoll_hub_connections",
				"Open client connections by listener (https, http) and state: pending (TLS handshake not "
				"finished; http: nothing received yet) or established.",
				ls);
	H.conns_closed = metrics_counter(r, "atoll_hub_connections_closed_total",
					 "Connections the hub closed or refused to protect itself, by listener and reason.", lr);
	static const char *const lk[] = {"listener", "kind", NULL}, *const l1[] = {"listener", NULL};
	H.tls_hs = metrics_counter(r, "atoll_hub_tls_handshakes_total",
				   "Completed TLS handshakes by listener and kind: full, or resumed (session ticket or cache).",
				   lk);
	H.tls_hs_active = metrics_gauge(r, "atoll_hub_tls_handshakes_in_progress",
					"TLS handshakes running now (at most 128; the rest wait for a turn).", l1);
	H.tls_hs_queued = metrics_counter(r, "atoll_hub_tls_handshakes_queued_total",
					  "TLS handshakes that waited for a turn (more than 128 at once).", l1);
	H.tls_parked = metrics_counter(r, "atoll_hub_tls_idle_buffer_releases_total",
				       "Times an idle TLS connection released its record buffers.", l1);
	H.accept_paused = metrics_gauge(r, "atoll_hub_accept_paused",
					"1 while the listeners pause accepting (out of file descriptors).", NULL);
	H.accept_pauses = metrics_counter(r, "atoll_hub_accept_pauses_total",
					  "Pauses in accepting connections because accept() failed (out of file descriptors).",
					  NULL);
	H.accept_shed = metrics_counter(r, "atoll_hub_accept_shed_total",
					"Pending connections accepted with the reserve descriptor and closed while out of "
					"file descriptors.",
					NULL);
	H.open_fds = metrics_gauge(r, "process_open_fds", "Number of open file descriptors.", NULL);
	H.max_fds = metrics_gauge(r, "process_max_fds", "Maximum number of open file descriptors (the soft limit).", NULL);
	metrics_add_collector(r, collect_connections, NULL);
}

/* ---- life cycle and /metrics --------------------------------------------------------------------- */

void hubmetrics_init(struct store *st)
{
	if (H.reg)
		return;
	struct metrics_registry *r = metrics_registry_new();
	H.store = st;
	static const char *const vrc[] = {"verb", "resource", "code", NULL};
	static const char *const vr[] = {"verb", "resource", NULL};
	static const char *const kind[] = {"kind", NULL};
	static const char *const state[] = {"state", NULL};
	static const char *const ready[] = {"ready", NULL};
	H.requests = metrics_counter(r, "atoll_hub_requests_total",
				     "API requests answered, by Kubernetes verb, resource and HTTP status code.", vrc);
	H.latency = metrics_histogram(r, "atoll_hub_request_duration_seconds",
				      "Time to answer an API request (to the first byte for watches and streams).", vr,
				      latency_buckets, (int)(sizeof latency_buckets / sizeof *latency_buckets));
	H.streams = metrics_gauge(r, "atoll_hub_open_streams",
				  "Open long-lived requests: Kubernetes watches, agent long-polls, /status feeds.", kind);
	H.revision = metrics_gauge(r, "atoll_hub_store_revision", "The store's current revision.", NULL);
	H.compacted = metrics_gauge(r, "atoll_hub_store_compacted_revision",
				    "Oldest revision still in the change history.", NULL);
	H.size = metrics_gauge(r, "atoll_hub_store_size_bytes", "Size of the store on disk.", NULL);
	H.scheduling = metrics_histogram(r, "atoll_hub_scheduling_duration_seconds",
					 "From a binding needing scheduling to its schedule result being stored.", NULL,
					 latency_buckets, (int)(sizeof latency_buckets / sizeof *latency_buckets));
	H.bindings = metrics_gauge(r, "atoll_hub_bindings",
				   "ResourceBindings and ClusterResourceBindings by state (see docs/status.md).", state);
	H.clusters = metrics_gauge(r, "atoll_hub_clusters", "Member clusters by their Ready condition.", ready);
	H.works = metrics_gauge(r, "atoll_hub_works", "Works by their Applied condition: pending (none yet), applied, failed.",
				state);
	H.lag = metrics_histogram(r, "atoll_hub_status_aggregation_lag_seconds",
				  "From a Work's status changing to its binding's aggregated status reflecting it.", NULL,
				  lag_buckets, (int)(sizeof lag_buckets / sizeof *lag_buckets));
	H.lag_pending = metrics_gauge(r, "atoll_hub_status_aggregation_pending",
				      "Work status changes not yet reflected in their binding.", NULL);
	H.lag_oldest = metrics_gauge(r, "atoll_hub_status_aggregation_oldest_pending_seconds",
				     "Age of the oldest Work status change not yet reflected in its binding.", NULL);
	H.start_time = metrics_gauge(r, "atoll_hub_start_time_seconds", "Unix time the hub started.", NULL);
	H.reports_held = metrics_counter(r, "atoll_hub_status_reports_held_total",
					 "Agent status reports that waited behind a fan-out of Works before being handled.",
					 NULL);
	metric_add(H.reports_held, NULL, 0);
	metric_set(H.start_time, NULL, (double)time(NULL));
	static const char *const kinds[] = {"watch", "longpoll", "status"};
	for (int i = 0; i < 3; i++) {
		const char *l[] = {kinds[i]};
		metric_add(H.streams, l, 0);
	}
	H.pending = calloc(LAG_MAX_PENDING, sizeof *H.pending);
	strmap_init(&H.lag_index, NULL);
	metrics_add_collector(r, collect, NULL);
	register_connection_metrics(r);
	H.reg = r;
	if (st)
		store_subscribe_committed(st, on_store_event, NULL); /* lag of durable changes */
}

static bool route_metrics(const struct api_req *rq, const char *path, void *ud)
{
	struct evhttp_request *req = rq->req;
	if (strcmp(path, "/metrics") != 0)
		return false;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Allow", "GET, HEAD");
		struct api_error e = {0};
		api_error_set(&e, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		api_send_error(rq, &e, NULL);
		api_error_clear(&e);
		return true;
	}
	size_t len = 0;
	char *text = metrics_render(H.reg, &len);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, text, len);
	free(text);
	evhttp_add_header(h, "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_add_header(h, "Cache-Control", "no-cache, private");
	api_send_reply(rq, 200, "OK", b);
	evbuffer_free(b);
	return true;
}

static void api_hook(const struct api_request_info *ri, void *ud)
{
	hubmetrics_request(ri->verb, ri->resource, ri->code, ri->seconds);
}

void hubmetrics_register(struct apiserver *api, struct statusfeed *feed)
{
	H.api = api;
	H.feed = feed;
	apiserver_set_request_hook(api, api_hook, NULL);
	apiserver_add_route(api, "/metrics", route_metrics, NULL);
}

void hubmetrics_shutdown(void)
{
	metrics_registry_free(H.reg);
	free(H.pending);
	strmap_clear(&H.lag_index);
	memset(&H, 0, sizeof H);
}
