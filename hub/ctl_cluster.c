#include "ctl_cluster.h"

#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "log.h"
#include "render.h"
#include "timefmt.h"
#include "xalloc.h"

static char *cluster_fingerprint(const cJSON *cl);

/* What of a Cluster can change a placement. */
static char *cluster_fingerprint(const cJSON *cl)
{
	cJSON *f = cJSON_CreateObject();
	const cJSON *v = json_get(cl, "metadata.labels");
	if (v)
		cJSON_AddItemToObject(f, "labels", json_dup(v));
	if ((v = json_get(cl, "spec")))
		cJSON_AddItemToObject(f, "spec", json_dup(v));
	const cJSON *ready = json_condition(cl, "Ready");
	cJSON_AddStringToObject(f, "ready", ready && json_get_str(ready, "status") ? json_get_str(ready, "status") : "");
	if ((v = json_get(cl, "status.apiEnablements")))
		cJSON_AddItemToObject(f, "api", json_dup(v));
	char *s = json_print(f);
	cJSON_Delete(f);
	return s;
}

void ctl_reconcile_cluster(struct controller *c, const char *key)
{
	struct objc_key_parts kp;
	if (objc_split_key(key, &kp) < 0)
		return;
	char ens[300];
	render_exec_namespace(kp.name, ens, sizeof ens);
	cJSON *cl = ctl_get_key(c, key);
	if (!cl) {
		/* The execution namespace (and its Works) goes with the cluster. */
		strmap_del(&c->clusters, kp.name);
		objc_forget_namespace(&c->oc, ens);
		const struct kind_info *nk = ctl_kind("", "v1", "Namespace");
		cJSON *ns = ctl_get_obj(c, nk, "", ens);
		if (ns)
			ctl_delete_obj(c, nk, "", ens);
		cJSON_Delete(ns);
		c->clusters_gen++;
		ctl_enqueue_all_bindings(c, 'S', NULL); /* scheduling first, Works after */
		return;
	}
	ctl_ensure_namespace(c, ens);
	char *fp = cluster_fingerprint(cl);
	bool found = strmap_has(&c->clusters, kp.name);
	const char *old = strmap_get_str(&c->clusters, kp.name);
	if (!found || !old || strcmp(old, fp) != 0) {
		strmap_put_str(&c->clusters, kp.name, fp);
		c->clusters_gen++;
		ctl_enqueue_all_bindings(c, 'S', NULL); /* scheduling first, Works after */
	}
	free(fp);
	cJSON_Delete(cl);
}

/* ---- the cluster life cycle: Lease monitor, Ready condition, taints ----------- */

#define TAINT_NOT_READY "cluster.karmada.io/not-ready"
#define TAINT_UNREACHABLE "cluster.karmada.io/unreachable"

struct cluster_life {
	struct store *store;
	struct obj_ctx *objs;
	struct objclient oc; /* every read and write of objects */
	struct cluster_life_config cfg;
	bool monitor_off;
	const struct kind_info *k_cluster, *k_lease, *k_ns;
	struct event *monitor_ev;
	struct probe *probes;
	struct strmap probes_by_name; /* cluster -> its probe (borrowed from probes): a heartbeat or a monitor
				       * pass finds its cluster's without a scan of all (N² at 10,000 clusters) */
};

/* What the monitor knows of one cluster's Lease. */
struct probe {
	char cluster[64];
	char renew_time[64]; /* last renewTime seen in the Lease */
	double seen;         /* monotonic seconds when it last advanced */
	int lease_s;
	bool renewed;        /* renewed since this hub started */
	double last_ok;      /* monotonic seconds of the last healthy report */
	double stored;       /* monotonic seconds of this hub's last Lease write (0: none) */
	struct proto_heartbeat last; /* the last heartbeat taken in full (ctl_cluster_renew) */
	double full;         /* monotonic seconds when it was (0: never) */
	bool pull;           /* a Cluster in Pull mode is stored (from the store's changes) */
	bool leased;         /* its Lease is stored (idem): both, and the monitor judges it */
	struct probe *next;
};

static double mono_now(void) { return time_mono_seconds(); }

static const char *now_rfc3339(char *buf, size_t len) { return time_rfc3339(time(NULL), buf, len); }

static const char *now_micro(char *buf, size_t len) { return time_now_micro(buf, len); }

/* Karmada's cluster controller taint rules: Ready False -> not-ready,
 * Unknown -> unreachable, True -> neither. Returns true if spec changed. */
static bool apply_taints(cJSON *cluster, const char *ready_status)
{
	cJSON *spec = json_ensure_obj(cluster, "spec");
	cJSON *taints = cJSON_GetObjectItemCaseSensitive(spec, "taints");
	const char *want = strcmp(ready_status, "False") == 0 ? TAINT_NOT_READY
			   : strcmp(ready_status, "Unknown") == 0 ? TAINT_UNREACHABLE : NULL;
	bool changed = false, have = false;
	if (cJSON_IsArray(taints)) {
		cJSON *t = taints->child, *next;
		for (; t; t = next) {
			next = t->next;
			const char *key = json_get_str(t, "key");
			const char *eff = json_get_str(t, "effect");
			if (!key || !eff || strcmp(eff, "NoSchedule") != 0)
				continue;
			bool ours = strcmp(key, TAINT_NOT_READY) == 0 || strcmp(key, TAINT_UNREACHABLE) == 0;
			if (!ours)
				continue;
			if (want && strcmp(key, want) == 0) {
				have = true;
				continue;
			}
			cJSON_Delete(cJSON_DetachItemViaPointer(taints, t));
			changed = true;
		}
	}
	if (want && !have) {
		if (!cJSON_IsArray(taints)) {
			taints = cJSON_CreateArray();
			json_set(spec, "taints", taints);
		}
		cJSON *t = cJSON_CreateObject();
		char now[64];
		cJSON_AddStringToObject(t, "key", want);
		cJSON_AddStringToObject(t, "effect", "NoSchedule");
		cJSON_AddStringToObject(t, "timeAdded", now_rfc3339(now, sizeof now));
		cJSON_AddItemToArray(taints, t);
		changed = true;
	}
	if (cJSON_IsArray(taints) && cJSON_GetArraySize(taints) == 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "taints");
		changed = true;
	}
	return changed;
}

/* Karmada's TaintClusterSucceed event, naming the taints now on the cluster. */
static void taint_event(struct cluster_life *cl, const char *name)
{
	cJSON *c = objc_get(&cl->oc, cl->k_cluster, "", name);
	if (!c)
		return;
	char msg[1024];
	size_t n = (size_t)snprintf(msg, sizeof msg, "Taint cluster succeed: ");
	const cJSON *t;
	int k = 0;
	cJSON_ArrayForEach(t, json_get(c, "spec.taints"))
	{
		const char *key = json_get_str(t, "key"), *eff = json_get_str(t, "effect");
		if (n < sizeof msg)
			n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s:%s", k++ ? ", " : "", key ? key : "",
					      eff ? eff : "");
	}
	if (n < sizeof msg)
		snprintf(msg + n, sizeof msg - n, "%s.", k ? "" : "none");
	events_record(cl->objs, c, "Normal", "TaintClusterSucceed", msg, "cluster-controller", EVENT_BUMP, time(NULL));
	cJSON_Delete(c);
}

static const char *ready_status_of(const cJSON *cluster)
{
	return json_get_str(json_condition(cluster, "Ready"), "status");
}

/* Sets the Ready condition (and Karmada's taints) of a cluster; status
 * NULL keeps the condition as it is (extra_status is still written). */
static void set_cluster_ready(struct cluster_life *cl, const char *name, const char *status, const char *reason,
			      const char *message, const cJSON *extra_status)
{
	cJSON *c = objc_get(&cl->oc, cl->k_cluster, "", name);
	if (!c)
		return;
	struct api_error e = {0};
	cJSON *st = cJSON_GetObjectItemCaseSensitive(c, "status");
	cJSON *before = st ? json_dup(st) : cJSON_CreateObject();
	st = json_ensure_obj(c, "status");
	if (extra_status) {
		const cJSON *it;
		cJSON_ArrayForEach(it, extra_status)
			json_set(st, it->string, json_dup(it));
	}
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
	if (!cJSON_IsArray(conds)) {
		conds = cJSON_CreateArray();
		json_set(st, "conditions", conds);
	}
	char now[64];
	if (status)
		proto_set_condition(conds, "Ready", status, reason, message, 0, now_rfc3339(now, sizeof now));
	char keep[16];
	if (!status) {
		snprintf(keep, sizeof keep, "%s", ready_status_of(c) ? ready_status_of(c) : "Unknown");
		status = keep;
	}
	if (!json_equal(before, st)) {
		if (objc_write(&cl->oc, cl->k_cluster, "", name, c, SUBRES_STATUS, false, &e) < 0)
			log_warn("agentapi: cannot update the status of cluster %s: %s", name, e.message);
		api_error_clear(&e);
		c = objc_get(&cl->oc, cl->k_cluster, "", name);
		if (!c) {
			cJSON_Delete(before);
			return;
		}
	}
	if (apply_taints(c, status)) {
		int rc = objc_write(&cl->oc, cl->k_cluster, "", name, c, SUBRES_NONE, false, &e);
		c = NULL; /* taken */
		if (rc < 0) {
			log_warn("agentapi: cannot update the taints of cluster %s: %s", name, e.message);
		} else {
			log_kv(LOG_INFO, "cluster taints updated", "cluster", name, "ready", status, NULL);
			taint_event(cl, name);
		}
		api_error_clear(&e);
	}
	cJSON_Delete(before);
	cJSON_Delete(c);
}

/* ---- probes (cluster monitor) ------------------------------------------------ */

static void probe_unindex(struct cluster_life *cl, struct probe *d)
{
	if (strmap_get(&cl->probes_by_name, d->cluster) == d)
		strmap_del(&cl->probes_by_name, d->cluster);
}

static struct probe *probe_get(struct cluster_life *cl, const char *cluster, bool create)
{
	struct probe *p = strmap_get(&cl->probes_by_name, cluster);
	if (p || !create)
		return p;
	p = calloc(1, sizeof *p);
	snprintf(p->cluster, sizeof p->cluster, "%s", cluster);
	strmap_put(&cl->probes_by_name, cluster, p);
	/* A hub that just started gives every cluster the startup grace. */
	p->seen = mono_now();
	p->last_ok = p->seen;
	p->lease_s = PROTO_DEFAULT_LEASE_S;
	p->next = cl->probes;
	cl->probes = p;
	return p;
}

/* What the monitor judges by is kept from the store's changes (and this
 * hub's own renewals), not read back every pass: a Cluster's sync mode, and
 * its Lease's renewTime and duration. One full read when the monitor starts;
 * after that every pass is a walk of the probes in memory (at 10,000
 * clusters the pass parsed 20,000 objects every 5 s). */
static void mon_cluster(struct cluster_life *cl, const cJSON *o, bool gone)
{
	const char *name = json_get_str(o, "metadata.name");
	if (!name || strlen(name) >= sizeof ((struct probe *)0)->cluster)
		return;
	const char *mode = json_get_str(o, "spec.syncMode");
	bool pull = !gone && mode && strcmp(mode, "Pull") == 0;
	struct probe *p = probe_get(cl, name, pull);
	if (p)
		p->pull = pull;
}

static void mon_lease(struct cluster_life *cl, const cJSON *o, bool gone)
{
	const char *name = json_get_str(o, "metadata.name");
	if (!name || strlen(name) >= sizeof ((struct probe *)0)->cluster)
		return;
	struct probe *p = probe_get(cl, name, !gone);
	if (!p)
		return;
	if (gone) {
		p->leased = false;
		return;
	}
	double now = mono_now();
	if (!p->leased && !p->renewed)
		p->seen = now; /* first sight of the Lease: the grace counts from here */
	p->leased = true;
	const char *rt = json_get_str(o, "spec.renewTime");
	int ld = (int)json_get_num(o, "spec.leaseDurationSeconds", PROTO_DEFAULT_LEASE_S);
	p->lease_s = ld > 0 ? ld : PROTO_DEFAULT_LEASE_S;
	if (rt && strcmp(rt, p->renew_time) != 0) {
		/* Renewed by another hub replica, or first look after a start. */
		if (p->renew_time[0]) {
			p->seen = now;
			p->renewed = true;
		}
		snprintf(p->renew_time, sizeof p->renew_time, "%s", rt);
	}
}

static bool is_lease_key(const char *key)
{
	static const char pre[] = "coordination.k8s.io/leases/" PROTO_LEASE_NAMESPACE "/";
	return strncmp(key, pre, sizeof pre - 1) == 0;
}

static void mon_event(const struct store_event *ev, void *ud)
{
	struct cluster_life *cl = ud;
	bool cluster = strncmp(ev->key, "cluster.karmada.io/clusters/", 28) == 0;
	if (!cluster && !is_lease_key(ev->key))
		return;
	const cJSON *o = store_event_value(ev);
	if (!o)
		return;
	if (cluster)
		mon_cluster(cl, o, ev->type == STORE_DELETED);
	else
		mon_lease(cl, o, ev->type == STORE_DELETED);
}

static int mon_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (strncmp(key, "cluster.karmada.io/clusters/", 28) == 0)
		mon_cluster(ud, o, false);
	else if (is_lease_key(key))
		mon_lease(ud, o, false);
	cJSON_Delete(o);
	return 0;
}

/* Karmada's cluster-monitor-grace-period: --cluster-monitor-grace-period
 * when given, else the Lease's own duration (40 s by default). */
static double monitor_grace(const struct cluster_life *cl, const struct probe *p)
{
	return cl->cfg.grace_ms > 0 ? cl->cfg.grace_ms / 1000.0 : p->lease_s;
}

static void monitor_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cluster_life *cl = arg;
	double now = mono_now();
	struct probe **pp = &cl->probes;
	while (*pp) {
		struct probe *p = *pp;
		if (!p->pull && !p->leased) {
			/* Forget clusters that are gone. */
			*pp = p->next;
			probe_unindex(cl, p);
			free(p);
			continue;
		}
		pp = &p->next;
		/* No Lease: never heartbeated through the protocol, not ours to judge. */
		if (!p->pull || !p->leased)
			continue;
		/* A cluster not heard from since the hub started gets the
		 * startup grace (Karmada's cluster-startup-grace-period). */
		double grace = monitor_grace(cl, p);
		if (!p->renewed && grace < cl->cfg.startup_grace_s)
			grace = cl->cfg.startup_grace_s;
		if (now - p->seen <= grace)
			continue;
		cJSON *c = objc_get(&cl->oc, cl->k_cluster, "", p->cluster);
		const char *rs = c ? ready_status_of(c) : NULL;
		bool already = rs && strcmp(rs, "Unknown") == 0;
		cJSON_Delete(c);
		if (!already && !cl->monitor_off) {
			log_kv(LOG_WARN, "cluster lease expired; marking it Ready=Unknown", "cluster", p->cluster, NULL);
			set_cluster_ready(cl, p->cluster, "Unknown", REASON_CLUSTER_UNKNOWN, MSG_CLUSTER_UNKNOWN, NULL);
		}
	}
}

static int renew_lease(struct cluster_life *cl, const char *cluster, const char *cluster_uid, int lease_s,
		       char *renew, size_t renewlen, struct api_error *e)
{
	now_micro(renew, renewlen);
	cJSON *l = objc_get(&cl->oc, cl->k_lease, PROTO_LEASE_NAMESPACE, cluster);
	bool create = !l;
	if (create) {
		l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "apiVersion", "coordination.k8s.io/v1");
		cJSON_AddStringToObject(l, "kind", "Lease");
		cJSON *md = json_ensure_obj(l, "metadata");
		json_set_str(md, "name", cluster);
		json_set_str(md, "namespace", PROTO_LEASE_NAMESPACE);
		if (cluster_uid) {
			cJSON *refs = cJSON_AddArrayToObject(md, "ownerReferences");
			cJSON *ref = cJSON_CreateObject();
			cJSON_AddStringToObject(ref, "apiVersion", "cluster.karmada.io/v1alpha1");
			cJSON_AddStringToObject(ref, "kind", "Cluster");
			cJSON_AddStringToObject(ref, "name", cluster);
			cJSON_AddStringToObject(ref, "uid", cluster_uid);
			cJSON_AddItemToArray(refs, ref);
		}
		json_set_str(json_ensure_obj(l, "spec"), "acquireTime", renew);
	}
	cJSON *spec = json_ensure_obj(l, "spec");
	json_set_str(spec, "holderIdentity", cluster);
	json_set_num(spec, "leaseDurationSeconds", lease_s);
	json_set_str(spec, "renewTime", renew);
	return objc_write(&cl->oc, cl->k_lease, PROTO_LEASE_NAMESPACE, cluster, l, SUBRES_NONE, create, e);
}

int ctl_cluster_heartbeat(struct cluster_life *cl, const cJSON *c, const struct proto_heartbeat *hb, char *renew,
			  size_t renewlen, struct api_error *e)
{
	const struct proto_heartbeat h = *hb;
	const char *cluster = h.cluster;
	/* Lease renewals off the durable write path: the stored Lease is
	 * written when this hub has not written it for half its duration (or
	 * the duration changed); renewals in between live in memory (the
	 * probe), which is what this hub's monitor judges by. So the stored
	 * renewTime is never more than half a lease old while the agent
	 * heartbeats — another replica, or a reader of the Lease, never sees it
	 * expire — and a fleet's heartbeats cost a store write (a revision, a
	 * history entry, a sync) every other beat instead of every beat. */
	struct probe *p = probe_get(cl, cluster, true);
	double now = mono_now();
	bool write = !p->renewed || p->stored <= 0 || p->lease_s != h.lease_duration_s ||
		     now - p->stored >= h.lease_duration_s / 2.0;
	if (write) {
		objc_ensure_namespace_logged(&cl->oc, PROTO_LEASE_NAMESPACE, "cluster");
		if (renew_lease(cl, cluster, json_get_str(c, "metadata.uid"), h.lease_duration_s, renew, renewlen, e) < 0)
			return -1;
		p->stored = now;
		snprintf(p->renew_time, sizeof p->renew_time, "%s", renew);
	} else {
		now_micro(renew, renewlen);
	}
	p->seen = now;
	p->renewed = true;
	p->lease_s = h.lease_duration_s;
	if (h.health == PH_HEALTHY)
		p->last_ok = p->seen;

	cJSON *extra = cJSON_CreateObject();
	if (h.kubernetes_version[0])
		cJSON_AddStringToObject(extra, "kubernetesVersion", h.kubernetes_version);
	if (h.have_summary) {
		cJSON *ns = cJSON_AddObjectToObject(extra, "nodeSummary");
		cJSON_AddNumberToObject(ns, "totalNum", h.nodes_total);
		cJSON_AddNumberToObject(ns, "readyNum", h.nodes_ready);
		cJSON *rs = cJSON_AddObjectToObject(extra, "resourceSummary");
		cJSON_AddItemToObject(rs, "allocatable", proto_resources_to_json(&h.allocatable));
		cJSON_AddItemToObject(rs, "allocating", proto_resources_to_json(&h.allocating));
		cJSON_AddItemToObject(rs, "allocated", proto_resources_to_json(&h.allocated));
	}
	const char *st, *reason, *msg;
	proto_ready_condition(h.health, &st, &reason, &msg);
	if (h.health != PH_HEALTHY && p->seen - p->last_ok <= monitor_grace(cl, p)) {
		/* One failed probe is no verdict: a Ready cluster stays Ready
		 * until it has not been healthy for the grace period (Karmada's
		 * cluster-failure-threshold / cluster-monitor-grace-period). */
		cJSON *cur = objc_get(&cl->oc, cl->k_cluster, "", cluster);
		const char *rs = cur ? ready_status_of(cur) : NULL;
		if (rs && strcmp(rs, "True") == 0)
			st = NULL;
		cJSON_Delete(cur);
	}
	set_cluster_ready(cl, cluster, st, reason, msg, extra);
	cJSON_Delete(extra);
	p->last = h;
	p->full = now;
	return 0;
}

static bool same_resources(const struct proto_resources *a, const struct proto_resources *b)
{
	return a->cpu_milli == b->cpu_milli && a->memory == b->memory && a->ephemeral_storage == b->ephemeral_storage &&
	       a->pods == b->pods;
}

static bool same_heartbeat(const struct proto_heartbeat *a, const struct proto_heartbeat *b)
{
	return strcmp(a->cluster, b->cluster) == 0 && a->lease_duration_s == b->lease_duration_s &&
	       a->health == b->health && strcmp(a->kubernetes_version, b->kubernetes_version) == 0 &&
	       a->have_summary == b->have_summary && a->nodes_total == b->nodes_total &&
	       a->nodes_ready == b->nodes_ready && same_resources(&a->allocatable, &b->allocatable) &&
	       same_resources(&a->allocated, &b->allocated) && same_resources(&a->allocating, &b->allocating);
}

int ctl_cluster_renew(struct cluster_life *cl, const struct proto_heartbeat *h, char *renew, size_t renewlen)
{
	struct probe *p = probe_get(cl, h->cluster, false);
	if (!p || !p->renewed || p->full <= 0 || p->stored <= 0 || h->health != PH_HEALTHY ||
	    !same_heartbeat(&p->last, h))
		return 0;
	double now = mono_now();
	if (p->lease_s != h->lease_duration_s || now - p->stored >= h->lease_duration_s / 2.0 ||
	    now - p->full >= h->lease_duration_s / 4.0)
		return 0;
	/* The Cluster still exists (deleted: the full path answers 404). */
	char key[300], *raw = NULL;
	if (store_get(cl->store, obj_key(key, sizeof key, cl->k_cluster, "", h->cluster), &raw, NULL) != STORE_OK)
		return 0;
	free(raw);
	now_micro(renew, renewlen);
	p->seen = now;
	p->last_ok = now;
	return 1;
}

void ctl_cluster_registered(struct cluster_life *cl, const char *cluster)
{
	/* A new agent session's first heartbeat is written through, so readers
	 * of the Lease see at once that the agent is back (later renewals are
	 * written every half lease). */
	struct probe *session = probe_get(cl, cluster, false);
	if (session)
		session->stored = 0;
}

struct cluster_life *ctl_cluster_life_new(struct event_base *base, struct store *st, struct obj_ctx *objs,
					  const struct cluster_life_config *cfg)
{
	struct cluster_life *cl = xcalloc(1, sizeof *cl);
	cl->store = st;
	cl->objs = objs;
	objc_init(&cl->oc, st, objs);
	strmap_init(&cl->probes_by_name, NULL);
	if (cfg)
		cl->cfg = *cfg;
	if (cl->cfg.monitor_period_ms <= 0)
		cl->cfg.monitor_period_ms = 5000;
	if (cl->cfg.startup_grace_s <= 0)
		cl->cfg.startup_grace_s = 60;
	cl->k_cluster = kinds_find_kind("cluster.karmada.io", "v1alpha1", "Cluster");
	cl->k_lease = kinds_find_kind("coordination.k8s.io", "v1", "Lease");
	cl->k_ns = kinds_find_kind("", "v1", "Namespace");
	if (st) {
		store_subscribe_committed(st, mon_event, cl);
		store_list(st, "cluster.karmada.io/clusters/", mon_item, cl, NULL);
		store_list(st, "coordination.k8s.io/leases/" PROTO_LEASE_NAMESPACE "/", mon_item, cl, NULL);
	}
	if (base) {
		cl->monitor_ev = event_new(base, -1, EV_PERSIST, monitor_tick, cl);
		struct timeval tv = {cl->cfg.monitor_period_ms / 1000, (cl->cfg.monitor_period_ms % 1000) * 1000};
		event_add(cl->monitor_ev, &tv);
	}
	return cl;
}

void ctl_cluster_life_set_monitoring(struct cluster_life *cl, bool on) { cl->monitor_off = !on; }

void ctl_cluster_life_free(struct cluster_life *cl)
{
	if (!cl)
		return;
	if (cl->store)
		store_unsubscribe(cl->store, mon_event, cl);
	while (cl->probes) {
		struct probe *p = cl->probes;
		cl->probes = p->next;
		free(p);
	}
	strmap_clear(&cl->probes_by_name);
	if (cl->monitor_ev)
		event_free(cl->monitor_ev);
	objc_free(&cl->oc);
	free(cl);
}
