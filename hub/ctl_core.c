#include "ctl_core.h"

#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "failover.h"
#include "jsonutil.h"
#include "log.h"
#include "render.h"
#include "scheduler.h"
#include "timefmt.h"
#include "xalloc.h"

static bool sq_before(const struct sq_item *x, const struct sq_item *y);
static void sq_push(struct controller *c, char *item, double prio);
static char *sq_pop(struct controller *c);
static int enqueue_item(const char *key, const char *value, size_t len, long long rev, void *ud);
static cJSON *event_subject(const cJSON *obj);
static bool work_of_binding(const cJSON *w, const char *bns, const char *bname);
static const char *target_name_of(const cJSON *t);
static bool placement_divided(const cJSON *placement);
static const char *cluster_name_of(const cJSON *cl);

struct sq_item {
	double prio;
	unsigned long long seq;
	char *item;
};

/* Whether x is scheduled before y. */
static bool sq_before(const struct sq_item *x, const struct sq_item *y)
{
	return x->prio != y->prio ? x->prio > y->prio : x->seq < y->seq;
}

static void sq_push(struct controller *c, char *item, double prio)
{
	if (c->sq_n == c->sq_cap) {
		size_t cap = c->sq_cap ? c->sq_cap * 2 : 64;
		struct sq_item *n = realloc(c->sq, cap * sizeof *n);
		if (!n) {
			free(item);
			return;
		}
		c->sq = n;
		c->sq_cap = cap;
	}
	size_t i = c->sq_n++;
	c->sq[i] = (struct sq_item){prio, c->sq_seq++, item};
	while (i > 0 && sq_before(&c->sq[i], &c->sq[(i - 1) / 2])) {
		struct sq_item t = c->sq[i];
		c->sq[i] = c->sq[(i - 1) / 2];
		c->sq[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static char *sq_pop(struct controller *c)
{
	if (!c->sq_n)
		return NULL;
	char *item = c->sq[0].item;
	c->sq[0] = c->sq[--c->sq_n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < c->sq_n && sq_before(&c->sq[l], &c->sq[m]))
			m = l;
		if (r < c->sq_n && sq_before(&c->sq[r], &c->sq[m]))
			m = r;
		if (m == i)
			break;
		struct sq_item t = c->sq[i];
		c->sq[i] = c->sq[m];
		c->sq[m] = t;
		i = m;
	}
	return item;
}

void ctl_arm(struct controller *c)
{
	if (c->armed || !c->ev)
		return;
	struct timeval tv = {0, 0};
	event_add(c->ev, &tv);
	c->armed = true;
}

const void *ctl_origin_begin(struct controller *c, const struct ctl_origin *o)
{
	const void *prev = c->oc.origin;
	c->oc.origin = o;
	return prev;
}

void ctl_origin_end(struct controller *c, const void *prev)
{
	c->oc.origin = prev;
}

const struct ctl_origin *ctl_origin_of(const struct controller *c, const struct store_event *ev)
{
	/* Only the controller's own client sets this pointer: equal means ours. */
	return ev->origin && ev->origin == c->oc.origin ? c->oc.origin : NULL;
}

/* A queue item: "T|key" (its tag, a bar, the key). */
static char *item_new(char tag, const char *key)
{
	size_t kl = strlen(key);
	char *item = xmalloc(kl + 3);
	item[0] = tag;
	item[1] = '|';
	memcpy(item + 2, key, kl + 1);
	return item;
}

void ctl_enqueue(struct controller *c, char tag, const char *key)
{
	char *item = item_new(tag, key);
	if (strmap_has(&c->queued, item)) {
		free(item);
		return;
	}
	strmap_put_str(&c->queued, item, NULL);
	if (tag == 'S')
		c->s_queued++;
	if (tag == 'S' && c->priority_scheduling) {
		/* The scheduling queue: ordered by the binding's priority. */
		char *raw = NULL;
		double prio = 0;
		if (store_get(c->st, key, &raw, NULL) == STORE_OK) {
			cJSON *b = cJSON_Parse(raw);
			prio = json_get_num(b, "spec.schedulePriority.priority", 0);
			cJSON_Delete(b);
		}
		free(raw);
		sq_push(c, item, prio);
		ctl_arm(c);
		return;
	}
	if (c->qtail == c->qcap) {
		if (c->qhead > 0) {
			memmove(c->q, c->q + c->qhead, (c->qtail - c->qhead) * sizeof *c->q);
			c->qtail -= c->qhead;
			c->qhead = 0;
		}
		if (c->qtail == c->qcap) {
			c->qcap = c->qcap ? c->qcap * 2 : 256;
			c->q = realloc(c->q, c->qcap * sizeof *c->q);
		}
	}
	c->q[c->qtail++] = item;
	ctl_arm(c);
}

void ctl_bind_cont_free(struct ctl_bind_cont *bc)
{
	if (!bc)
		return;
	free(bc->key);
	cJSON *trees[] = {bc->works, bc->b, bc->tmpl, bc->next_b, bc->targets, bc->cops, bc->ops, bc->proto};
	for (size_t i = 0; i < sizeof trees / sizeof *trees; i++)
		cJSON_Delete(trees[i]);
	free(bc->sync_error);
	free(bc);
}

char *ctl_dequeue(struct controller *c)
{
	if (c->bind_cont) { /* a binding pass in slices goes on first */
		char *cont = item_new('B', c->bind_cont->key);
		/* its pass takes it (ctl_binding.c); the controller frees what no
		 * pass took after the item */
		ctl_bind_cont_free(c->bind_cont_taken);
		c->bind_cont_taken = c->bind_cont;
		c->bind_cont = NULL;
		return cont;
	}
	char *item = sq_pop(c);
	if (!item) {
		if (c->qhead == c->qtail)
			return NULL;
		item = c->q[c->qhead++];
	}
	strmap_del(&c->queued, item);
	if (item[0] == 'S' && c->s_queued)
		c->s_queued--;
	return item;
}

/* ---- store helpers ----------------------------------------------------------- */

cJSON *ctl_get_key(struct controller *c, const char *key) { return objc_get_key(&c->oc, key); }

cJSON *ctl_get_obj(struct controller *c, const struct kind_info *k, const char *ns, const char *name)
{
	return objc_get(&c->oc, k, ns, name);
}

cJSON *ctl_list_prefix(struct controller *c, const char *prefix) { return objc_list(&c->oc, prefix); }

struct key_collect {
	struct controller *c;
	char tag;
};

static int enqueue_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct key_collect *kc = ud;
	ctl_enqueue(kc->c, kc->tag, key);
	return 0;
}

void ctl_enqueue_prefix(struct controller *c, char tag, const char *prefix)
{
	struct key_collect kc = {c, tag};
	store_list(c->st, prefix, enqueue_item, &kc, NULL);
}

const struct kind_info *ctl_kind(const char *group, const char *version, const char *kind)
{
	return kinds_find_kind(group, version, kind);
}

void ctl_new_uuid(char *buf, size_t len) { obj_new_uid(buf, len); }

const char *ctl_now_str(char *buf, size_t len) { return time_rfc3339(time(NULL), buf, len); }

const char *ctl_mstr(const cJSON *o, const char *field)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata"), field));
}

/* A write of the item being processed failed: logged here, and the item
 * is queued again with backoff when it is done (see retry_later). A
 * deletion of something already gone is no failure. */
void ctl_write_failed(struct controller *c, const char *what, const struct kind_info *k, const char *ns,
			 const char *name, struct api_error *e)
{
	log_warn("controller: cannot %s %s %s/%s: %s", what, k->kind, ns ? ns : "", name ? name : "", e->message);
	if (!c->write_failed) {
		c->write_failed_code = e->code;
		int n = snprintf(c->write_failed_msg, sizeof c->write_failed_msg, "cannot %s %s %s%s%s: %s", what,
				 k->kind, ns && *ns ? ns : "", ns && *ns ? "/" : "", name ? name : "", e->message);
		if (n >= (int)sizeof c->write_failed_msg) /* cut short: an event's message needs no more */
			c->write_failed_msg[sizeof c->write_failed_msg - 1] = '\0';
	}
	api_error_clear(e);
	c->write_failed = true;
}

/* Creates obj when old is NULL, else replaces the main resource of old (the
 * stored object the caller read). Returns 1 when the store changed, 0 for a
 * no-op, -1 on error. *stored (optional) receives the stored object. obj is
 * consumed. */
int ctl_upsert(struct controller *c, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		  const cJSON *old, cJSON **stored)
{
	struct api_error e = {0};
	int rc = objc_apply(&c->oc, k, ns, obj, old, stored, &e);
	if (rc < 0)
		ctl_write_failed(c, "write", k, ns, name, &e);
	return rc;
}

/* Replaces the status of a stored object. Same return values as upsert. */
int ctl_write_status(struct controller *c, const struct kind_info *k, const cJSON *cur, cJSON *status,
			cJSON **stored)
{
	struct api_error e = {0};
	int rc = objc_apply_status(&c->oc, k, cur, status, stored, &e);
	if (rc < 0)
		ctl_write_failed(c, "write status of", k, ctl_mstr(cur, "namespace"), ctl_mstr(cur, "name"), &e);
	return rc;
}

/* obj_update_cur of cur with obj (borrowed; the stored object after a
 * success). Same return values as upsert. */
int ctl_update_in_place(struct controller *c, const struct kind_info *k, const cJSON *cur, cJSON *obj,
			   enum subresource sub)
{
	struct api_error e = {0};
	int rc = objc_apply_in_place(&c->oc, k, cur, obj, sub, &e);
	if (rc < 0)
		ctl_write_failed(c, "write", k, ctl_mstr(cur, "namespace"), ctl_mstr(cur, "name"), &e);
	return rc;
}

/* objc_apply_own: obj, the stored object changed in place by this
 * controller with a changed spec, becomes the stored object. Same return
 * values as upsert. */
int ctl_update_own(struct controller *c, const struct kind_info *k, cJSON *obj, long long old_rev, double old_generation)
{
	struct api_error e = {0};
	int rc = objc_apply_own(&c->oc, k, obj, old_rev, old_generation, &e);
	if (rc < 0)
		ctl_write_failed(c, "write", k, ctl_mstr(obj, "namespace"), ctl_mstr(obj, "name"), &e);
	return rc;
}

/* Removes the finalizers this controller owns (Karmada's propagation
 * policy, binding and execution controllers') from an object being deleted,
 * which completes its deletion unless another finalizer remains. The
 * caller has done what the finalizer stood for. */
void ctl_finish_deletion(struct controller *c, const struct kind_info *k, const cJSON *cur)
{
	if (!cur || !ctl_mstr(cur, "deletionTimestamp"))
		return;
	cJSON *next = detector_without_finalizers(cur);
	if (!next)
		return;
	struct api_error e = {0};
	if (objc_apply(&c->oc, k, ctl_mstr(cur, "namespace"), next, cur, NULL, &e) < 0) {
		if (e.code == 404)
			api_error_clear(&e);
		else
			ctl_write_failed(c, "finish deleting", k, ctl_mstr(cur, "namespace"), ctl_mstr(cur, "name"), &e);
	}
}

void ctl_delete_obj(struct controller *c, const struct kind_info *k, const char *ns, const char *name)
{
	struct api_error e = {0};
	cJSON *o = NULL;
	if (objc_delete(&c->oc, k, ns, name, &o, &e) < 0)
		ctl_write_failed(c, "delete", k, ns, name, &e);
	else if (o)
		ctl_finish_deletion(c, k, o); /* Our own deletions complete at once: the caller cleaned up. */
	cJSON_Delete(o);
}

/* What events_record reads of the object the event is about. */
static cJSON *event_subject(const cJSON *obj)
{
	cJSON *o = cJSON_CreateObject();
	static const char *const top[] = {"apiVersion", "kind"};
	static const char *const meta[] = {"name", "namespace", "uid", "resourceVersion"};
	for (size_t i = 0; i < 2; i++)
		if (json_get_str(obj, top[i]))
			cJSON_AddStringToObject(o, top[i], json_get_str(obj, top[i]));
	cJSON *m = cJSON_AddObjectToObject(o, "metadata");
	for (size_t i = 0; i < 4; i++)
		if (ctl_mstr(obj, meta[i]))
			cJSON_AddStringToObject(m, meta[i], ctl_mstr(obj, meta[i]));
	return o;
}

/* Queues an ctl_event (see EVENT_BUFFER_MAX); written by flush_events. */
void ctl_event(struct controller *c, const cJSON *obj, bool warning, const char *reason, const char *msg,
		  const char *component, enum event_mode mode)
{
	if (!obj)
		return;
	if (c->ev_count == EVENT_BUFFER_MAX) {
		if (c->ev_dropped++ % 10000 == 0)
			log_warn("controller: event buffer full (%d); dropping events (%lld so far), e.g. %s on %s", EVENT_BUFFER_MAX,
				 c->ev_dropped, reason, ctl_mstr(obj, "name") ? ctl_mstr(obj, "name") : "");
		return;
	}
	if (c->ev_head + c->ev_count == c->ev_cap) {
		if (c->ev_head > 0) {
			memmove(c->events, c->events + c->ev_head, c->ev_count * sizeof *c->events);
			c->ev_head = 0;
		} else {
			size_t cap = c->ev_cap ? c->ev_cap * 2 : 256;
			if (cap > EVENT_BUFFER_MAX)
				cap = EVENT_BUFFER_MAX;
			c->events = realloc(c->events, cap * sizeof *c->events);
			c->ev_cap = cap;
		}
	}
	struct pending_event *pe = &c->events[c->ev_head + c->ev_count++];
	pe->about = event_subject(obj);
	pe->reason = strdup(reason);
	pe->message = strdup(msg);
	pe->component = component;
	pe->warning = warning;
	pe->mode = mode;
	pe->at = time(NULL);
	pe->queued_ms = ctl_mono_ms();
	ctl_arm(c);
}

void ctl_free_event(struct pending_event *pe)
{
	cJSON_Delete(pe->about);
	free(pe->reason);
	free(pe->message);
	memset(pe, 0, sizeof *pe);
}

/* Writes queued events, oldest first, until deadline_ms (0: all); with
 * aged_only, only those older than EVENT_MAX_AGE_MS. */
void ctl_flush_events(struct controller *c, long long deadline_ms, bool aged_only)
{
	while (c->ev_count > 0) {
		struct pending_event *pe = &c->events[c->ev_head];
		long long now = ctl_mono_ms();
		if (aged_only && now - pe->queued_ms < EVENT_MAX_AGE_MS)
			break;
		if (deadline_ms && now >= deadline_ms)
			break;
		events_record(c->objs, pe->about, pe->warning ? "Warning" : "Normal", pe->reason, pe->message, pe->component,
			      pe->mode, pe->at);
		ctl_free_event(pe);
		c->ev_head++;
		c->ev_count--;
	}
	if (c->ev_count == 0) {
		free(c->events);
		c->events = NULL;
		c->ev_head = c->ev_cap = 0;
	}
}

int ctl_ensure_namespace(struct controller *c, const char *ns)
{
	struct api_error e = {0};
	int rc = objc_ensure_namespace(&c->oc, ns, &e);
	if (rc < 0)
		ctl_write_failed(c, "write", ctl_kind("", "v1", "Namespace"), "", ns, &e);
	return rc;
}

/* ---- bindings and their identity ------------------------------------------------- */

bool ctl_is_cluster_binding(const cJSON *b) { return !ctl_mstr(b, "namespace") || !*ctl_mstr(b, "namespace"); }

const struct kind_info *ctl_binding_kind(bool cluster)
{
	return ctl_kind("work.karmada.io", "v1alpha2", cluster ? "ClusterResourceBinding" : "ResourceBinding");
}

void ctl_binding_key_for(const char *ns, const char *kind, const char *name, char *buf, size_t len)
{
	char bname[600];
	render_binding_name(kind, name, bname, sizeof bname);
	obj_key(buf, len, ctl_binding_kind(!ns || !*ns), ns ? ns : "", bname);
}

/* The binding a Work belongs to (from its annotations), as a store key. */
bool ctl_work_binding_key(const cJSON *w, char *buf, size_t len)
{
	const cJSON *a = json_get(w, "metadata.annotations");
	const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, RB_NAME_ANNOTATION));
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, RB_NAMESPACE_ANNOTATION));
	if (n && ns) {
		obj_key(buf, len, ctl_binding_kind(false), ns, n);
		return true;
	}
	n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, CRB_NAME_ANNOTATION));
	if (n) {
		obj_key(buf, len, ctl_binding_kind(true), "", n);
		return true;
	}
	return false;
}

static bool work_of_binding(const cJSON *w, const char *bns, const char *bname)
{
	const cJSON *a = json_get(w, "metadata.annotations");
	if (bns && *bns) {
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, RB_NAME_ANNOTATION));
		const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, RB_NAMESPACE_ANNOTATION));
		return n && ns && strcmp(n, bname) == 0 && strcmp(ns, bns) == 0;
	}
	const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, CRB_NAME_ANNOTATION));
	return n && strcmp(n, bname) == 0;
}

static const char *target_name_of(const cJSON *t) { return json_get_str(t, "name"); }
const char *ctl_work_ns_of(const cJSON *w) { return ctl_mstr(w, "namespace"); }

/* Deletes the Works of binding (bns/bname) for the resource (kind, name,
 * tns) in every execution namespace except those of keep (target list, may
 * be NULL). Returns how many were deleted. Only the namespaces that hold a
 * Work of that name are read (the Works index), not one per cluster. */
int ctl_delete_works(struct controller *c, const char *bns, const char *bname, const char *kind, const char *name,
			const char *tns, const cJSON *keep)
{
	const struct kind_info *wk = ctl_kind("work.karmada.io", "v1alpha1", "Work");
	char wname[600];
	render_work_name(kind, name, tns, wname, sizeof wname);
	char **nss = workidx_namespaces(&c->works_idx, c->st, wname); /* a copy: deletes change the index */
	int n = 0;
	struct name_index kix; /* keep by name: a lookup per namespace, not a scan */
	nidx_build(&kix, keep, target_name_of);
	for (char **ns = nss; *ns; ns++) {
		if (strncmp(*ns, "karmada-es-", 11) != 0 || nidx_find(&kix, *ns + 11))
			continue;
		cJSON *w = ctl_get_obj(c, wk, *ns, wname);
		if (w && work_of_binding(w, bns, bname)) {
			ctl_delete_obj(c, wk, *ns, wname);
			n++;
		}
		cJSON_Delete(w);
	}
	nidx_free(&kix);
	workidx_free_list(nss);
	return n;
}

/* Deletes every Work annotated with binding (bns/bname): used when the
 * binding is gone and its resource is unknown. */
void ctl_delete_orphan_works(struct controller *c, const char *bns, const char *bname)
{
	const struct kind_info *wk = ctl_kind("work.karmada.io", "v1alpha1", "Work");
	cJSON *all = ctl_list_prefix(c, "work.karmada.io/works/");
	const cJSON *w;
	cJSON_ArrayForEach(w, all)
	{
		if (work_of_binding(w, bns, bname))
			ctl_delete_obj(c, wk, ctl_mstr(w, "namespace"), ctl_mstr(w, "name"));
	}
	cJSON_Delete(all);
}

/* ---- scheduling stage ------------------------------------------------------------ */

static bool placement_divided(const cJSON *placement)
{
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(placement, "replicaScheduling");
	if (!rs || cJSON_IsNull(rs))
		return false;
	const char *t = json_get_str(rs, "replicaSchedulingType");
	return !t || !*t || strcmp(t, "Divided") == 0;
}

const cJSON *ctl_find_cluster(const struct controller *c, const cJSON *clusters, const char *name)
{
	if (c && clusters && clusters == c->clusters_cache)
		return nidx_find(&c->clusters_idx, name); /* not a scan per target */
	const cJSON *cl;
	cJSON_ArrayForEach(cl, clusters)
	{
		const char *n = ctl_mstr(cl, "name");
		if (n && strcmp(n, name) == 0)
			return cl;
	}
	return NULL;
}

/* Duplicated (and non-workload) bindings follow every cluster change. */
bool ctl_follows_cluster_changes(const cJSON *b, const cJSON *tmpl)
{
	long replicas = (long)json_get_num(b, "spec.replicas", 0);
	return !render_has_replicas(tmpl) || replicas == 0 || !placement_divided(json_get(b, "spec.placement"));
}

bool ctl_cond_is(const cJSON *cond, const char *status)
{
	const char *s = cond ? json_get_str(cond, "status") : NULL;
	return s && strcmp(s, status) == 0;
}

double ctl_mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- aggregation stage ----------------------------------------------------------- */

cJSON *ctl_binding_works(struct controller *c, const cJSON *b)
{
	const struct kind_info *wk = ctl_kind("work.karmada.io", "v1alpha1", "Work");
	const char *kind = json_get_str(b, "spec.resource.kind"), *name = json_get_str(b, "spec.resource.name");
	const char *ns = json_get_str(b, "spec.resource.namespace");
	char wname[600], wns[300];
	render_work_name(kind ? kind : "", name ? name : "", ns, wname, sizeof wname);
	cJSON *targets = render_target_clusters(b);
	cJSON *works = cJSON_CreateArray();
	const cJSON *t;
	cJSON_ArrayForEach(t, targets)
	{
		render_exec_namespace(json_get_str(t, "name"), wns, sizeof wns);
		cJSON *w = ctl_get_obj(c, wk, wns, wname);
		if (w)
			cJSON_AddItemToArray(works, w);
	}
	cJSON_Delete(targets);
	return works;
}

/* ---- binding stage: schedule, render Works, aggregate ------------------------------ */

const char *ctl_res_str(const cJSON *b, const char *field)
{
	const char *v = json_get_str(json_get(b, "spec.resource"), field);
	return v ? v : "";
}

/* The template a binding stands for (spec.resource), or NULL when it or its
 * kind is gone; *tk and tkey (its store key) are set when found. */
cJSON *ctl_binding_template(struct controller *c, const cJSON *b, const struct kind_info **tk, char *tkey,
			       size_t len)
{
	const char *name = ctl_res_str(b, "name"), *ns = ctl_res_str(b, "namespace");
	*tk = b ? kinds_find_apiversion_kind(ctl_res_str(b, "apiVersion"), ctl_res_str(b, "kind")) : NULL;
	cJSON *t = *tk && name[0] ? ctl_get_obj(c, *tk, ns, name) : NULL;
	if (t)
		obj_key(tkey, len, *tk, ns, name);
	return t;
}

/* The Cluster objects, listed again only after a Cluster changed. */
static const char *cluster_name_of(const cJSON *cl) { return ctl_mstr(cl, "name"); }

/* More Cluster changes than this (and than a quarter of the Clusters)
 * since the cache was built: listed again. A fleet's heartbeats change
 * thousands of Clusters between two passes: each change is one parse
 * either way, but a list reads every row. */
#define CLUSTERS_PATCH_MIN 256

void ctl_cluster_event(struct controller *c, const struct store_event *ev)
{
	size_t n = strmap_count(&c->clusters_changed);
	if (!c->clusters_cache || c->clusters_dirty ||
	    (n >= CLUSTERS_PATCH_MIN && n >= c->clusters_idx.n / 4 + 1 &&
	     !strmap_has(&c->clusters_changed, ev->key))) {
		strmap_clear(&c->clusters_changed);
		c->clusters_dirty = true;
		return;
	}
	strmap_put_str(&c->clusters_changed, ev->key, ev->type == STORE_DELETED ? NULL : ev->value);
}

/* Links item into array arr before its member at. */
static void insert_before(cJSON *arr, cJSON *at, cJSON *item)
{
	item->next = at;
	item->prev = at->prev; /* the first member's prev is the last one */
	if (at == arr->child)
		arr->child = item;
	else
		at->prev->next = item;
	at->prev = item;
}

/* Folds clusters_changed into clusters_cache, keeping the store's key (name)
 * order, so the cache is what a new list would give (issue 15: a
 * heartbeat that changed one Cluster made the next pass parse all 10,000
 * again, 90 ms). False when a value does not parse: listed again then. */
static bool patch_clusters(struct controller *c)
{
	size_t n = strmap_count(&c->clusters_changed), i = 0, pos = 0;
	struct change {
		const char *name;
		cJSON *was, *now;
	} *ch = xcalloc(n ? n : 1, sizeof *ch);
	const char *key;
	void *val;
	bool ok = true;
	/* Every lookup before any change: the index points into the cache. */
	while (strmap_next(&c->clusters_changed, &pos, &key, &val)) {
		ch[i].name = objc_key_name(key);
		ch[i].was = (cJSON *)nidx_find(&c->clusters_idx, ch[i].name ? ch[i].name : "");
		ch[i].now = val ? cJSON_Parse(val) : NULL;
		ok &= ch[i].name && (!val || ch[i].now);
		i++;
	}
	for (i = 0; i < n; i++) {
		if (!ok) {
			cJSON_Delete(ch[i].now);
			continue;
		}
		if (ch[i].was && ch[i].now) {
			cJSON_ReplaceItemViaPointer(c->clusters_cache, ch[i].was, ch[i].now);
		} else if (ch[i].was) {
			cJSON_Delete(cJSON_DetachItemViaPointer(c->clusters_cache, ch[i].was));
		} else if (ch[i].now) {
			/* A new Cluster: before the first whose name sorts after it. */
			const cJSON *cl;
			cJSON_ArrayForEach(cl, c->clusters_cache)
			{
				const char *cn = cluster_name_of(cl);
				if (cn && strcmp(cn, ch[i].name) > 0)
					break;
			}
			if (cl) /* linked by hand: Debian's cJSON 1.7.15 refuses cJSON_InsertItemInArray past 0 */
				insert_before(c->clusters_cache, (cJSON *)cl, ch[i].now);
			else
				cJSON_AddItemToArray(c->clusters_cache, ch[i].now);
		}
	}
	free(ch);
	strmap_clear(&c->clusters_changed);
	return ok;
}

const cJSON *ctl_current_clusters(struct controller *c)
{
	bool patched = false;
	if (c->clusters_cache && !c->clusters_dirty && strmap_count(&c->clusters_changed) > 0) {
		patched = patch_clusters(c);
		c->clusters_dirty = !patched;
	}
	if (!c->clusters_cache || c->clusters_dirty || patched) {
		nidx_free(&c->clusters_idx);
		if (!patched) {
			cJSON_Delete(c->clusters_cache);
			c->clusters_cache = ctl_list_prefix(c, "cluster.karmada.io/clusters/");
			strmap_clear(&c->clusters_changed);
		}
		c->clusters_dirty = false;
		nidx_build(&c->clusters_idx, c->clusters_cache, cluster_name_of);
		sched_facts_free(c->sched_facts);
		c->sched_facts = sched_facts_build(c->clusters_cache);
		free(c->unready);
		c->nunready = failover_unready_clusters(c->clusters_cache, &c->unready);
	}
	return c->clusters_cache;
}

void ctl_enqueue_all_bindings(struct controller *c, char tag, const char *ns)
{
	char prefix[600];
	if (ns) {
		obj_key(prefix, sizeof prefix, ctl_binding_kind(false), ns, "");
		ctl_enqueue_prefix(c, tag, prefix);
		return;
	}
	ctl_enqueue_prefix(c, tag, "work.karmada.io/resourcebindings/");
	ctl_enqueue_prefix(c, tag, "work.karmada.io/clusterresourcebindings/");
}

long long ctl_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
