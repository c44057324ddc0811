#include "sim_controllers.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "events.h"
#include "sim_deployment.h"
#include "sim_endpoints.h"
#include "jsonutil.h"
#include "sim_kubelet.h"
#include "log.h"
#include "objclient.h"
#include "sim_podtemplate.h"
#include "sim_replicaset.h"
#include "sim_statefulset.h"

#define ALL_NAMESPACES "*"

struct pod_timer {
	struct sim_controllers *c;
	struct event *ev;
	char ns[254], name[254], uid[64];
	struct pod_timer *next;
};

struct sim_controllers {
	struct event_base *base;
	struct store *store;
	struct obj_ctx *objs;
	struct objclient oc;  /* every read and write of objects */
	bool write_failed;     /* in the namespace being reconciled */
	struct backoff retry;  /* a pass with failed writes is run again after it */
	const struct sim_node_spec *nodes;
	long ready_delay_ms;
	bool events;
	struct event *kick;
	char **dirty;
	int ndirty, capdirty;
	struct pod_timer *timers;
	unsigned long pod_ip_seq;
	/* Pod IPs in use per node index (bit h = host h of the node's /24),
	 * loaded from the stored pods on first use and again when a node's
	 * range looks full, so IPs survive restarts and are not handed out twice. */
	unsigned char ip_used[256][32];
	int ip_cursor[256];
	bool ip_loaded;
	unsigned long passes;
	const struct kind_info *k_deploy, *k_rs, *k_sts, *k_pod, *k_pvc, *k_node, *k_ns;
	const struct kind_info *k_svc, *k_ep, *k_slice;
};

/* ---- dirty namespaces --------------------------------------------------- */

static void mark_dirty(struct sim_controllers *c, const char *ns)
{
	for (int i = 0; i < c->ndirty; i++)
		if (strcmp(c->dirty[i], ns) == 0 || strcmp(c->dirty[i], ALL_NAMESPACES) == 0)
			goto schedule;
	if (c->ndirty == c->capdirty) {
		int cap = c->capdirty ? c->capdirty * 2 : 8;
		char **d = realloc(c->dirty, (size_t)cap * sizeof *d);
		if (!d)
			return;
		c->dirty = d;
		c->capdirty = cap;
	}
	c->dirty[c->ndirty++] = strdup(ns);
schedule:;
	struct timeval zero = {0, 0};
	if (!event_pending(c->kick, EV_TIMEOUT, NULL))
		event_add(c->kick, &zero);
}

/* Keys are "<group|core>/<plural>/<ns>/<name>". */
static void on_store_event(const struct store_event *ev, void *ud)
{
	struct sim_controllers *c = ud;
	static const char *const watched[] = {"apps/deployments/", "apps/replicasets/", "apps/statefulsets/",
					     "core/pods/", "core/services/", NULL};
	for (int i = 0; watched[i]; i++) {
		size_t n = strlen(watched[i]);
		if (strncmp(ev->key, watched[i], n) != 0)
			continue;
		const char *ns = ev->key + n, *slash = strchr(ns, '/');
		char buf[254];
		if (!slash || (size_t)(slash - ns) >= sizeof buf)
			return;
		memcpy(buf, ns, (size_t)(slash - ns));
		buf[slash - ns] = '\0';
		mark_dirty(c, buf);
		return;
	}
	if (strncmp(ev->key, "core/nodes/", 11) == 0)
		mark_dirty(c, ALL_NAMESPACES); /* unbound pods may fit now */
}

/* ---- store reads -------------------------------------------------------- */

static int collect(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o)
		cJSON_AddItemToArray(ud, o);
	return 0;
}

static cJSON *list(struct sim_controllers *c, const struct kind_info *k, const char *ns)
{
	char prefix[600];
	objc_key(prefix, sizeof prefix, k, ns, "");
	cJSON *arr = cJSON_CreateArray();
	store_list(c->store, prefix, collect, arr, NULL);
	return arr;
}

static const cJSON *find_uid(const cJSON *arr, const char *kind, const char *uid)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		const char *k = json_get_str(o, "kind"), *u = json_get_str(o, "metadata.uid");
		if (k && u && uid && strcmp(k, kind) == 0 && strcmp(u, uid) == 0)
			return o;
	}
	return NULL;
}

/* ---- writes (all through objects.h) -------------------------------------- */

/* A failed write: logged, and its namespace's pass is run again after
 * the retry policy's backoff (see on_kick). */
static void report(struct sim_controllers *c, const char *what, const struct kind_info *k, const char *ns,
		   const char *name, struct api_error *e)
{
	c->write_failed = true;
	log_warn("sim: %s %s %s/%s: %s", what, k->plural, ns, name ? name : "", e->message);
	api_error_clear(e);
}

/* A v1 Event about obj, as the named Kubernetes component records it. */
static void emit(struct sim_controllers *c, const cJSON *obj, const char *reason, const char *component,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void emit(struct sim_controllers *c, const cJSON *obj, const char *reason, const char *component,
		 const char *fmt, ...)
{
	if (!c->events || !obj)
		return;
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	events_record(c->objs, obj, "Normal", reason, msg, component, EVENT_BUMP, time(NULL));
}

static const cJSON *find_name(const cJSON *arr, const char *name)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		const char *n = json_get_str(o, "metadata.name");
		if (n && name && strcmp(n, name) == 0)
			return o;
	}
	return NULL;
}

static cJSON *do_create(struct sim_controllers *c, const struct kind_info *k, const char *ns, cJSON *obj)
{
	struct api_error e = {0};
	cJSON *stored = NULL;
	if (objc_apply(&c->oc, k, ns, json_dup(obj), NULL, &stored, &e) < 0)
		report(c, "cannot create", k, ns, json_get_str(obj, "metadata.name"), &e);
	return stored;
}

static void do_patch(struct sim_controllers *c, const struct kind_info *k, const char *ns, const char *name,
		     const cJSON *patch, enum subresource sub)
{
	struct api_error e = {0};
	if (objc_merge_patch(&c->oc, k, ns, name, patch, sub, NULL, &e) < 0)
		report(c, "cannot patch", k, ns, name, &e);
}

static void do_delete(struct sim_controllers *c, const struct kind_info *k, const char *ns, const char *name)
{
	struct api_error e = {0};
	if (objc_delete(&c->oc, k, ns, name, NULL, &e) < 0)
		report(c, "cannot delete", k, ns, name, &e);
}

/* Replaces status through the status subresource when it differs. */
static void set_status(struct sim_controllers *c, const struct kind_info *k, const cJSON *obj, const cJSON *status)
{
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(obj, "status");
	if (cur && json_equal(cur, status))
		return;
	const char *ns = json_get_str(obj, "metadata.namespace"), *name = json_get_str(obj, "metadata.name");
	cJSON *body = cJSON_CreateObject();
	cJSON *meta = cJSON_AddObjectToObject(body, "metadata");
	cJSON_AddStringToObject(meta, "name", name ? name : "");
	cJSON_AddItemToObject(body, "status", json_dup(status));
	struct api_error e = {0};
	if (objc_replace(&c->oc, k, ns, name ? name : "", body, SUBRES_STATUS, NULL, &e) < 0) {
		if (e.code != 404)
			report(c, "cannot update status of", k, ns ? ns : "", name, &e);
		api_error_clear(&e);
	}
}

/* ---- nodes ----------------------------------------------------------------- */

struct node_view {
	cJSON *nodes; /* Node objects */
	cJSON *names; /* array of the names of Ready, schedulable nodes */
};

static void load_nodes(struct sim_controllers *c, struct node_view *nv)
{
	nv->nodes = list(c, c->k_node, "");
	nv->names = cJSON_CreateArray();
	const cJSON *n;
	cJSON_ArrayForEach(n, nv->nodes)
	{
		const char *ready = json_get_str(json_condition(n, "Ready"), "status");
		if (ready && strcmp(ready, "True") == 0 && !cJSON_IsTrue(json_get(n, "spec.unschedulable")))
			cJSON_AddItemToArray(nv->names, cJSON_CreateString(json_get_str(n, "metadata.name")));
	}
}

static void free_nodes(struct node_view *nv)
{
	cJSON_Delete(nv->nodes);
	cJSON_Delete(nv->names);
}

/* Index and InternalIP of a node; -1 when unknown. */
static int node_index(const cJSON *nodes, const char *name, const char **ip)
{
	int i = 0;
	const cJSON *n;
	*ip = NULL;
	cJSON_ArrayForEach(n, nodes)
	{
		const char *nn = json_get_str(n, "metadata.name");
		if (nn && name && strcmp(nn, name) == 0) {
			const cJSON *a;
			cJSON_ArrayForEach(a, json_get(n, "status.addresses"))
			{
				const char *t = json_get_str(a, "type");
				if (t && strcmp(t, "InternalIP") == 0)
					*ip = json_get_str(a, "address");
			}
			return i;
		}
		i++;
	}
	return -1;
}

/* ---- pod IPs -------------------------------------------------------------- */

static void ip_load(struct sim_controllers *c)
{
	memset(c->ip_used, 0, sizeof c->ip_used);
	c->ip_loaded = true;
	cJSON *nodes = list(c, c->k_node, "");
	cJSON *nss = list(c, c->k_ns, "");
	const cJSON *ns, *p;
	cJSON_ArrayForEach(ns, nss)
	{
		cJSON *pods = list(c, c->k_pod, json_get_str(ns, "metadata.name"));
		cJSON_ArrayForEach(p, pods)
		{
			const char *hip = NULL;
			int idx = node_index(nodes, json_get_str(p, "spec.nodeName"), &hip);
			int h = sim_pod_ip_host(c->nodes->cluster, idx, json_get_str(p, "status.podIP"));
			if (h > 0)
				c->ip_used[(idx < 0 ? 0 : idx) % 256][h / 8] |= (unsigned char)(1u << (h % 8));
		}
		cJSON_Delete(pods);
	}
	cJSON_Delete(nss);
	cJSON_Delete(nodes);
}

static int ip_pick(struct sim_controllers *c, int node)
{
	unsigned char *used = c->ip_used[node];
	for (int k = 0; k < 253; k++) {
		int h = 2 + (c->ip_cursor[node] + k) % 253;
		if (!(used[h / 8] & (1u << (h % 8)))) {
			used[h / 8] |= (unsigned char)(1u << (h % 8));
			c->ip_cursor[node] = (h - 2 + 1) % 253;
			return h;
		}
	}
	return -1;
}

/* A free pod IP on node idx, in the cluster's pod CIDR. */
static void ip_alloc(struct sim_controllers *c, int idx, char *buf, size_t len)
{
	int node = (idx < 0 ? 0 : idx) % 256;
	if (!c->ip_loaded)
		ip_load(c);
	int h = ip_pick(c, node);
	if (h < 0) { /* freed ones are only learnt from the store */
		ip_load(c);
		h = ip_pick(c, node);
	}
	if (h < 0) {
		log_warn("sim: pod range of node %d is exhausted; reusing an address", node);
		h = 2 + (int)(c->pod_ip_seq++ % 253);
	}
	sim_pod_ip_at(c->nodes->cluster, node, h, buf, len);
}

/* ---- pod timers --------------------------------------------------------- */

static struct pod_timer *find_timer(struct sim_controllers *c, const char *uid)
{
	for (struct pod_timer *t = c->timers; t; t = t->next)
		if (strcmp(t->uid, uid) == 0)
			return t;
	return NULL;
}

static void drop_timer(struct sim_controllers *c, struct pod_timer *t)
{
	for (struct pod_timer **p = &c->timers; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	event_free(t->ev);
	free(t);
}

static void on_pod_ready(evutil_socket_t fd, short what, void *arg)
{
	struct pod_timer *t = arg;
	struct sim_controllers *c = t->c;
	cJSON *pod = objc_get(&c->oc, c->k_pod, t->ns, t->name);
	if (pod) {
		const char *uid = json_get_str(pod, "metadata.uid");
		if (uid && strcmp(uid, t->uid) == 0 && sim_pod_starting(pod)) {
			cJSON *nodes = list(c, c->k_node, "");
			const char *host_ip = NULL;
			int idx = node_index(nodes, json_get_str(pod, "spec.nodeName"), &host_ip);
			char pod_ip[32];
			ip_alloc(c, idx, pod_ip, sizeof pod_ip);
			cJSON *st = sim_pod_status_running(pod, host_ip, pod_ip, time(NULL));
			set_status(c, c->k_pod, pod, st);
			cJSON_Delete(st);
			const cJSON *ct;
			cJSON_ArrayForEach(ct, json_get(pod, "spec.containers"))
			{
				const char *cn = json_get_str(ct, "name"), *img = json_get_str(ct, "image");
				emit(c, pod, "Pulled", "kubelet", "Container image \"%s\" already present on machine",
				     img ? img : "");
				emit(c, pod, "Created", "kubelet", "Created container %s", cn ? cn : "");
				emit(c, pod, "Started", "kubelet", "Started container %s", cn ? cn : "");
			}
			cJSON_Delete(nodes);
		}
		cJSON_Delete(pod);
	}
	drop_timer(c, t);
}

static void arm_timer(struct sim_controllers *c, const cJSON *pod)
{
	const char *uid = json_get_str(pod, "metadata.uid");
	const char *ns = json_get_str(pod, "metadata.namespace"), *name = json_get_str(pod, "metadata.name");
	if (!uid || !ns || !name || find_timer(c, uid))
		return;
	struct pod_timer *t = calloc(1, sizeof *t);
	if (!t)
		return;
	t->c = c;
	snprintf(t->ns, sizeof t->ns, "%s", ns);
	snprintf(t->name, sizeof t->name, "%s", name);
	snprintf(t->uid, sizeof t->uid, "%s", uid);
	t->ev = evtimer_new(c->base, on_pod_ready, t);
	struct timeval tv = {c->ready_delay_ms / 1000, (c->ready_delay_ms % 1000) * 1000};
	evtimer_add(t->ev, &tv);
	t->next = c->timers;
	c->timers = t;
}

/* ---- reconcile ------------------------------------------------------------ */

/* Fault injection: a Deployment annotated SIM_UNHEALTHY_ANNOTATION=true
 * reports none of its replicas ready or available (Available=False), so
 * the agent interprets it Unhealthy (application failover tests). */
static void sim_fault_unhealthy(const cJSON *d, cJSON *status)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(json_get(d, "metadata.annotations"), SIM_UNHEALTHY_ANNOTATION);
	if (!status || !cJSON_IsString(a) || strcmp(a->valuestring, "true") != 0)
		return;
	double replicas = json_get_num(status, "replicas", 0);
	json_set_num(status, "readyReplicas", 0);
	json_set_num(status, "availableReplicas", 0);
	json_set_num(status, "unavailableReplicas", replicas);
	cJSON *cond;
	cJSON_ArrayForEach(cond, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
	{
		const char *t = json_get_str(cond, "type");
		if (t && strcmp(t, "Available") == 0) {
			json_set_str(cond, "status", "False");
			json_set_str(cond, "reason", "MinimumReplicasUnavailable");
			json_set_str(cond, "message", "Deployment does not have minimum availability.");
		}
	}
}

static void deployments_pass(struct sim_controllers *c, const char *ns, const cJSON *deploys, const cJSON *rss,
			     time_t now)
{
	const cJSON *d;
	cJSON_ArrayForEach(d, deploys)
	{
		const char *name = json_get_str(d, "metadata.name");
		if (!name)
			continue;
		struct sim_deploy_plan plan;
		sim_deploy_plan(d, rss, now, &plan);
		if (plan.create_rs) {
			cJSON *rs = do_create(c, c->k_rs, ns, plan.create_rs);
			int n = (int)json_get_num(rs, "spec.replicas", 0);
			if (rs && n > 0)
				emit(c, d, "ScalingReplicaSet", "deployment-controller", "Scaled up replica set %s to %d",
				     json_get_str(rs, "metadata.name"), n);
			cJSON_Delete(rs);
		}
		const cJSON *p;
		cJSON_ArrayForEach(p, plan.rs_patches)
		{
			const char *rsname = json_get_str(p, "name");
			do_patch(c, c->k_rs, ns, rsname, json_get(p, "patch"), SUBRES_NONE);
			const cJSON *want = json_get(json_get(p, "patch"), "spec.replicas");
			const cJSON *old = find_name(rss, rsname);
			int before = (int)json_get_num(old, "spec.replicas", 0);
			if (cJSON_IsNumber(want) && old && (int)want->valuedouble != before)
				emit(c, d, "ScalingReplicaSet", "deployment-controller", "Scaled %s replica set %s to %d",
				     (int)want->valuedouble > before ? "up" : "down", rsname, (int)want->valuedouble);
		}
		cJSON_ArrayForEach(p, plan.rs_deletes) do_delete(c, c->k_rs, ns, p->valuestring);
		if (plan.deploy_patch)
			do_patch(c, c->k_deploy, ns, name, plan.deploy_patch, SUBRES_NONE);
		sim_fault_unhealthy(d, plan.status);
		set_status(c, c->k_deploy, d, plan.status);
		sim_deploy_plan_free(&plan);
	}
}

/* Creates pod (consumed) with the status of a pod just bound to node (or
 * unschedulable when node is NULL); the stored pod joins pods and is
 * returned (NULL on failure). */
static const cJSON *create_pod(struct sim_controllers *c, const char *ns, cJSON *pod, const char *node,
		      const struct node_view *nv, cJSON *pods, time_t now)
{
	if (node) {
		const char *ip = NULL;
		node_index(nv->nodes, node, &ip);
		cJSON_AddItemToObject(pod, "status", sim_pod_status_pending(pod, ip, now));
	} else {
		cJSON *st = cJSON_AddObjectToObject(pod, "status");
		cJSON_AddStringToObject(st, "phase", "Pending");
		cJSON_AddStringToObject(st, "qosClass", sim_pod_qos_class(pod));
	}
	cJSON *stored = do_create(c, c->k_pod, ns, pod);
	cJSON_Delete(pod);
	if (!stored)
		return NULL;
	cJSON_AddItemToArray(pods, stored); /* counts for the next node choice */
	if (node)
		emit(c, stored, "Scheduled", "default-scheduler", "Successfully assigned %s/%s to %s", ns,
		     json_get_str(stored, "metadata.name"), node);
	return stored;
}

static void statefulsets_pass(struct sim_controllers *c, const char *ns, const cJSON *stss, cJSON *pods,
			      const struct node_view *nv, time_t now)
{
	const cJSON *sts;
	cJSON_ArrayForEach(sts, stss)
	{
		struct sim_sts_plan plan;
		sim_sts_plan(sts, pods, now, &plan);
		const cJSON *n;
		cJSON_ArrayForEach(n, plan.creates)
		{
			int ordinal = (int)n->valuedouble;
			cJSON *claims = sim_sts_claims(sts, ordinal);
			const cJSON *pvc;
			cJSON_ArrayForEach(pvc, claims)
			{
				const char *cn = json_get_str(pvc, "metadata.name");
				cJSON *have = objc_get(&c->oc, c->k_pvc, ns, cn ? cn : "");
				if (!have) {
					cJSON *made = do_create(c, c->k_pvc, ns, (cJSON *)pvc);
					if (made)
						emit(c, sts, "SuccessfulCreate", "statefulset-controller",
						     "create Claim %s Pod %s-%d in StatefulSet %s success", cn,
						     json_get_str(sts, "metadata.name"), ordinal, json_get_str(sts, "metadata.name"));
					cJSON_Delete(made);
				}
				cJSON_Delete(have);
			}
			cJSON_Delete(claims);
			const char *node = sim_pick_node(nv->names, pods);
			const cJSON *stored = create_pod(c, ns, sim_sts_pod(sts, ordinal, node), node, nv, pods, now);
			if (!stored)
				break;
			emit(c, sts, "SuccessfulCreate", "statefulset-controller", "create Pod %s in StatefulSet %s successful",
			     json_get_str(stored, "metadata.name"), json_get_str(sts, "metadata.name"));
		}
		cJSON_ArrayForEach(n, plan.deletes)
		{
			do_delete(c, c->k_pod, ns, n->valuestring);
			emit(c, sts, "SuccessfulDelete", "statefulset-controller", "delete Pod %s in StatefulSet %s successful",
			     n->valuestring, json_get_str(sts, "metadata.name"));
		}
		set_status(c, c->k_sts, sts, plan.status);
		sim_sts_plan_free(&plan);
	}
}

static void replicasets_pass(struct sim_controllers *c, const char *ns, const cJSON *rss, cJSON *pods,
			     const struct node_view *nv, time_t now)
{
	const cJSON *rs;
	cJSON_ArrayForEach(rs, rss)
	{
		const char *name = json_get_str(rs, "metadata.name");
		if (!name)
			continue;
		struct sim_rs_plan plan;
		sim_rs_plan(rs, pods, now, &plan);
		for (int i = 0; i < plan.create; i++) {
			const char *node = sim_pick_node(nv->names, pods);
			cJSON *pod = sim_pod_from_template(rs, json_get(rs, "spec.template"), NULL, node);
			const cJSON *stored = create_pod(c, ns, pod, node, nv, pods, now);
			if (!stored)
				break;
			emit(c, rs, "SuccessfulCreate", "replicaset-controller", "Created pod: %s",
			     json_get_str(stored, "metadata.name"));
		}
		const cJSON *n;
		cJSON_ArrayForEach(n, plan.deletes)
		{
			do_delete(c, c->k_pod, ns, n->valuestring);
			emit(c, rs, "SuccessfulDelete", "replicaset-controller", "Deleted pod: %s", n->valuestring);
		}
		set_status(c, c->k_rs, rs, plan.status);
		sim_rs_plan_free(&plan);
	}
}

/* Kubernetes' garbage collector, background propagation: dependents whose
 * controller owner no longer exists (by uid) go. */
static bool orphaned(const cJSON *obj, const char *owner_kind, const cJSON *owners)
{
	const cJSON *ref = sim_controller_ref(obj);
	const char *kind = json_get_str(ref, "kind");
	if (!kind || strcmp(kind, owner_kind) != 0)
		return false;
	return !find_uid(owners, owner_kind, json_get_str(ref, "uid"));
}

static void kubelet_pass(struct sim_controllers *c, const char *ns, const cJSON *pods, const struct node_view *nv,
			 time_t now)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, pods)
	{
		const char *name = json_get_str(p, "metadata.name");
		const char *node = json_get_str(p, "spec.nodeName");
		if (!name || !sim_pod_active(p))
			continue;
		if (!node || !*node) {
			/* The scheduler binds it. */
			const char *pick = sim_pick_node(nv->names, pods);
			if (!pick)
				continue;
			cJSON *patch = cJSON_CreateObject();
			json_set_str(json_ensure_obj(patch, "spec"), "nodeName", pick);
			do_patch(c, c->k_pod, ns, name, patch, SUBRES_NONE);
			cJSON_Delete(patch);
			emit(c, p, "Scheduled", "default-scheduler", "Successfully assigned %s/%s to %s", ns, name, pick);
			continue; /* the next pass sees it bound */
		}
		if (!sim_pod_starting(p))
			continue;
		if (!json_get(p, "status.containerStatuses")) {
			const char *ip = NULL;
			node_index(nv->nodes, node, &ip);
			cJSON *st = sim_pod_status_pending(p, ip, now);
			set_status(c, c->k_pod, p, st);
			cJSON_Delete(st);
		}
		arm_timer(c, p);
	}
}

/* Writes obj (kind k) when absent, or merge-patches the listed fields when
 * they differ from cur. */
static void sync_obj(struct sim_controllers *c, const struct kind_info *k, const char *ns, const cJSON *cur,
		     cJSON *want, const char *const *fields)
{
	const char *name = json_get_str(want, "metadata.name");
	if (!cur) {
		cJSON_Delete(do_create(c, k, ns, want));
		return;
	}
	cJSON *patch = NULL;
	for (int i = 0; fields[i]; i++) {
		const cJSON *a = json_get(cur, fields[i]), *b = json_get(want, fields[i]);
		if (a && b && json_equal(a, b))
			continue;
		if (!a && !b)
			continue;
		if (!patch)
			patch = cJSON_CreateObject();
		const char *dot = strrchr(fields[i], '.');
		cJSON *parent = patch;
		if (dot) {
			char head[64];
			snprintf(head, sizeof head, "%.*s", (int)(dot - fields[i]), fields[i]);
			parent = json_ensure_obj(patch, head);
		}
		cJSON_AddItemToObject(parent, dot ? dot + 1 : fields[i], b ? json_dup(b) : cJSON_CreateNull());
	}
	if (patch)
		do_patch(c, k, ns, name, patch, SUBRES_NONE);
	cJSON_Delete(patch);
}

/* The endpoints and endpointslice controllers: Endpoints "<svc>" and
 * EndpointSlice "<svc>-sim" of every Service with a selector, from its pods. */
static void endpoints_pass(struct sim_controllers *c, const char *ns, const cJSON *pods, const struct node_view *nv)
{
	if (!c->k_svc || !c->k_ep || !c->k_slice)
		return;
	cJSON *svcs = list(c, c->k_svc, ns);
	cJSON *eps = list(c, c->k_ep, ns);
	cJSON *slices = list(c, c->k_slice, ns);
	static const char *const ep_fields[] = {"metadata.labels", "subsets", NULL};
	static const char *const es_fields[] = {"metadata.labels", "addressType", "endpoints", "ports", NULL};
	const cJSON *s;
	cJSON_ArrayForEach(s, svcs)
	{
		cJSON *ep = sim_endpoints_for(s, pods);
		if (ep) {
			cJSON *l = json_ensure_obj(ep, "metadata.labels");
			cJSON_AddStringToObject(l, "endpointslice.kubernetes.io/skip-mirror", "true");
			sync_obj(c, c->k_ep, ns, find_name(eps, json_get_str(ep, "metadata.name")), ep, ep_fields);
			cJSON_Delete(ep);
		}
		cJSON *es = sim_endpointslice_for(s, pods, nv->nodes);
		if (es) {
			sync_obj(c, c->k_slice, ns, find_name(slices, json_get_str(es, "metadata.name")), es, es_fields);
			cJSON_Delete(es);
		}
	}
	/* What a Service that is gone (or lost its selector) leaves behind. */
	const cJSON *o;
	cJSON_ArrayForEach(o, eps)
	{
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata.labels"),
								  "endpointslice.kubernetes.io/skip-mirror");
		const cJSON *svc = find_name(svcs, json_get_str(o, "metadata.name"));
		const cJSON *sel = json_get(svc, "spec.selector");
		if (cJSON_IsString(l) && (!svc || !cJSON_IsObject(sel) || !sel->child))
			do_delete(c, c->k_ep, ns, json_get_str(o, "metadata.name"));
	}
	cJSON_ArrayForEach(o, slices)
	{
		const cJSON *labels = json_get(o, "metadata.labels");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(labels, "endpointslice.kubernetes.io/managed-by");
		const cJSON *sn = cJSON_GetObjectItemCaseSensitive(labels, "kubernetes.io/service-name");
		if (!cJSON_IsString(m) || strcmp(m->valuestring, SIM_SLICE_MANAGER) != 0)
			continue;
		const cJSON *svc = cJSON_IsString(sn) ? find_name(svcs, sn->valuestring) : NULL;
		const cJSON *sel = json_get(svc, "spec.selector");
		if (!svc || !cJSON_IsObject(sel) || !sel->child)
			do_delete(c, c->k_slice, ns, json_get_str(o, "metadata.name"));
	}
	cJSON_Delete(slices);
	cJSON_Delete(eps);
	cJSON_Delete(svcs);
}

static void reconcile_ns(struct sim_controllers *c, const char *ns, const struct node_view *nv)
{
	time_t now = time(NULL);
	cJSON *deploys = list(c, c->k_deploy, ns);
	cJSON *rss = list(c, c->k_rs, ns);
	const cJSON *o;
	bool gone = false;
	cJSON_ArrayForEach(o, rss)
	{
		if (orphaned(o, "Deployment", deploys)) {
			do_delete(c, c->k_rs, ns, json_get_str(o, "metadata.name"));
			gone = true;
		}
	}
	if (gone) {
		cJSON_Delete(rss);
		rss = list(c, c->k_rs, ns);
	}
	deployments_pass(c, ns, deploys, rss, now);
	cJSON_Delete(rss);
	rss = list(c, c->k_rs, ns);
	cJSON *pods = list(c, c->k_pod, ns);
	replicasets_pass(c, ns, rss, pods, nv, now);
	cJSON *stss = list(c, c->k_sts, ns);
	statefulsets_pass(c, ns, stss, pods, nv, now);
	cJSON_ArrayForEach(o, pods)
	{
		if (orphaned(o, "ReplicaSet", rss) || orphaned(o, "StatefulSet", stss))
			do_delete(c, c->k_pod, ns, json_get_str(o, "metadata.name"));
	}
	cJSON_Delete(stss);
	cJSON_Delete(pods);
	pods = list(c, c->k_pod, ns);
	kubelet_pass(c, ns, pods, nv, now);
	endpoints_pass(c, ns, pods, nv);
	cJSON_Delete(pods);
	cJSON_Delete(rss);
	cJSON_Delete(deploys);
}

/* One namespace's pass; a failed write names it in failed. */
static void reconcile_ns_once(struct sim_controllers *c, const char *ns, struct node_view *nv, cJSON *failed)
{
	c->write_failed = false;
	reconcile_ns(c, ns, nv);
	if (c->write_failed)
		cJSON_AddItemToArray(failed, cJSON_CreateString(ns));
	c->write_failed = false;
}

/* The namespaces whose writes failed are reconciled again after the retry
 * policy's backoff (reset by a pass without failures). */
static void retry_later(struct sim_controllers *c, const cJSON *failed)
{
	if (cJSON_GetArraySize(failed) == 0) {
		backoff_reset(&c->retry);
		return;
	}
	bool pending = event_pending(c->kick, EV_TIMEOUT, NULL);
	const cJSON *ns;
	cJSON_ArrayForEach(ns, failed)
		mark_dirty(c, ns->valuestring); /* schedules a kick at once unless one is pending */
	if (pending)
		return;
	uint64_t ms = backoff_next_ms(&c->retry);
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	event_del(c->kick);
	event_add(c->kick, &tv);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct sim_controllers *c = arg;
	char **dirty = c->dirty;
	int n = c->ndirty;
	c->dirty = NULL;
	c->ndirty = c->capdirty = 0;
	c->passes++;
	struct node_view nv;
	load_nodes(c, &nv);
	bool all = false;
	for (int i = 0; i < n; i++)
		all = all || strcmp(dirty[i], ALL_NAMESPACES) == 0;
	cJSON *failed = cJSON_CreateArray();
	if (all) {
		cJSON *nss = list(c, c->k_ns, "");
		const cJSON *ns;
		cJSON_ArrayForEach(ns, nss)
		{
			const char *name = json_get_str(ns, "metadata.name");
			if (name)
				reconcile_ns_once(c, name, &nv, failed);
		}
		cJSON_Delete(nss);
	} else {
		for (int i = 0; i < n; i++)
			reconcile_ns_once(c, dirty[i], &nv, failed);
	}
	for (int i = 0; i < n; i++)
		free(dirty[i]);
	free(dirty);
	free_nodes(&nv);
	retry_later(c, failed);
	cJSON_Delete(failed);
}

struct sim_controllers *sim_controllers_new(struct event_base *base, struct store *st, struct obj_ctx *objs,
					    const struct sim_node_spec *nodes, long ready_delay_ms, bool events)
{
	struct sim_controllers *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->base = base;
	c->store = st;
	c->objs = objs;
	objc_init(&c->oc, st, objs);
	backoff_init_policy(&c->retry, 0);
	c->nodes = nodes;
	c->ready_delay_ms = ready_delay_ms < 0 ? 0 : ready_delay_ms;
	c->events = events;
	c->k_deploy = kinds_find_kind("apps", "v1", "Deployment");
	c->k_rs = kinds_find_kind("apps", "v1", "ReplicaSet");
	c->k_sts = kinds_find_kind("apps", "v1", "StatefulSet");
	c->k_pvc = kinds_find_kind("", "v1", "PersistentVolumeClaim");
	c->k_pod = kinds_find_kind("", "v1", "Pod");
	c->k_node = kinds_find_kind("", "v1", "Node");
	c->k_ns = kinds_find_kind("", "v1", "Namespace");
	c->k_svc = kinds_find_kind("", "v1", "Service");
	c->k_ep = kinds_find_kind("", "v1", "Endpoints");
	c->k_slice = kinds_find_kind("discovery.k8s.io", "v1", "EndpointSlice");
	c->kick = evtimer_new(base, on_kick, c);
	/* In-transaction, like the hub's controllers: its writes join the batch. */
	store_subscribe(st, on_store_event, c);
	mark_dirty(c, ALL_NAMESPACES);
	return c;
}

unsigned long sim_controllers_passes(const struct sim_controllers *c) { return c->passes; }

void sim_controllers_free(struct sim_controllers *c)
{
	if (!c)
		return;
	while (c->timers)
		drop_timer(c, c->timers);
	for (int i = 0; i < c->ndirty; i++)
		free(c->dirty[i]);
	free(c->dirty);
	event_free(c->kick);
	objc_free(&c->oc);
	free(c);
}
