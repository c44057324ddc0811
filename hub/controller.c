#include "controller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "aggregate.h"
#include "detector.h"
#include "events.h"
#include "failover.h"
#include "hubmetrics.h"
#include "jsonutil.h"
#include "kinds.h"
#include "log.h"
#include "rebalancer.h"
#include "nameidx.h"
#include "render.h"
#include "scheduler.h"
#include "timefmt.h"

#define BATCH 256   /* at most this many queue items per deferred callback */
#define SLICE_MS 20 /* and for at most this long */
/* Events wait in memory and are written when the queue is idle (or once
 * they are EVENT_MAX_AGE_MS old, a little per slice), so recording them never
 * delays placement — as Karmada's recorder, which is asynchronous too. Like
 * client-go's broadcaster, a full buffer drops new events (logged). */
#define EVENT_BUFFER_MAX 100000
#define EVENT_MAX_AGE_MS 1000
#define EVENT_AGED_SLICE_MS 2
#define AGGREGATE_COALESCE_MS 50

#define C_DETECTOR "resource-detector"
#define C_SCHEDULER "default-scheduler"
#define C_BINDING "binding-controller"
#define C_EXECUTION "execution-controller"
#define C_STATUS "resource-binding-status-controller"

/* ---- a small string hash map (keys and values owned) ---------------------- */

struct smap {
	char **keys, **vals;
	size_t cap, n, tomb;
};

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static long smap_find(const struct smap *m, const char *k)
{
	if (!m->cap)
		return -1;
	for (size_t i = hash_str(k) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (!m->keys[i])
			return -1;
		if (m->keys[i] != (char *)m && strcmp(m->keys[i], k) == 0)
			return (long)i;
	}
	return -1;
}

/* Tombstone: a deleted slot points at the map itself. */
static void smap_grow(struct smap *m);

static void smap_put(struct smap *m, const char *k, const char *v)
{
	long i = smap_find(m, k);
	if (i >= 0) {
		free(m->vals[i]);
		m->vals[i] = v ? strdup(v) : NULL;
		return;
	}
	if ((m->n + m->tomb + 1) * 2 > m->cap)
		smap_grow(m);
	size_t j = hash_str(k) & (m->cap - 1);
	while (m->keys[j] && m->keys[j] != (char *)m)
		j = (j + 1) & (m->cap - 1);
	if (m->keys[j] == (char *)m)
		m->tomb--;
	m->keys[j] = strdup(k);
	m->vals[j] = v ? strdup(v) : NULL;
	m->n++;
}

static void smap_grow(struct smap *m)
{
	struct smap old = *m;
	size_t cap = 64;
	while (cap < (old.n + 1) * 4)
		cap *= 2;
	m->cap = cap;
	m->keys = calloc(m->cap, sizeof *m->keys);
	m->vals = calloc(m->cap, sizeof *m->vals);
	m->n = 0;
	m->tomb = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.keys[i] && old.keys[i] != (char *)m) {
			size_t j = hash_str(old.keys[i]) & (m->cap - 1);
			while (m->keys[j])
				j = (j + 1) & (m->cap - 1);
			m->keys[j] = old.keys[i];
			m->vals[j] = old.vals[i];
			m->n++;
		}
	}
	free(old.keys);
	free(old.vals);
}

static const char *smap_get(const struct smap *m, const char *k, bool *found)
{
	long i = smap_find(m, k);
	if (found)
		*found = i >= 0;
	return i >= 0 ? m->vals[i] : NULL;
}

static void smap_del(struct smap *m, const char *k)
{
	long i = smap_find(m, k);
	if (i < 0)
		return;
	free(m->keys[i]);
	free(m->vals[i]);
	m->keys[i] = (char *)m;
	m->vals[i] = NULL;
	m->n--;
	m->tomb++;
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] && m->keys[i] != (char *)m) {
			free(m->keys[i]);
			free(m->vals[i]);
		}
	}
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- the controller ------------------------------------------------------- */

struct controller {
	struct event_base *base;
	struct store *st;
	struct obj_ctx *objs;
	struct event *ev;
	bool armed;
	/* FIFO of queued items plus a set for de-duplication */
	char **q;
	size_t qhead, qtail, qcap;
	struct smap queued;
	struct smap outcome;   /* template key -> last detector outcome */
	struct smap clusters;  /* cluster name -> scheduling fingerprint */
	struct smap namespaces; /* execution namespaces known to exist */
	/* The Cluster objects, listed again only after a Cluster changes (every
	 * Cluster write reaches on_store_event) or a rollback. */
	cJSON *clusters_cache;
	bool clusters_dirty;
	struct name_index clusters_idx; /* clusters_cache by name */
	const cJSON **unready;          /* clusters_cache's clusters not Ready (failover_unready_clusters) */
	int nunready;
	/* Keys being reconciled: the store events of the controller's own writes
	 * to them (and to the binding's Works) are not queued again. */
	const char *self_binding, *self_template;
	/* Events not yet written, oldest first: events[ev_head .. ev_head +
	 * ev_count). Grows on demand; freed once drained, so an idle hub keeps
	 * no buffer. */
	struct pending_event *events;
	size_t ev_head, ev_count, ev_cap;
	/* A batch with our writes was rolled back: rebuild before the next item. */
	bool rolled_back;
	/* The template being reconciled was queued by a policy change ('t'). */
	bool policy_pass;
	/* Karmada's PolicyPreemption feature gate (off by default). */
	bool policy_preemption;
	/* Bumped when a Cluster's scheduling fingerprint changes or a Cluster
	 * goes; sched_memo: binding key -> what its last scheduling saw. */
	unsigned long clusters_gen;
	struct smap sched_memo;
	/* Bindings whose Works reported status, aggregated when agg_ev fires. */
	struct smap agg_pending;
	struct event *agg_ev;
	long long ev_dropped;
	/* Karmada's PriorityBasedScheduling gate (off by default): 'S' items
	 * wait in sq, a heap ordered by the binding's
	 * spec.schedulePriority.priority (higher first, then first queued),
	 * and run ahead of the FIFO, as Karmada's scheduler runs ahead of its
	 * binding controller. sched_deferred: bindings whose first scheduling
	 * was handed to sq by the binding pass. */
	bool priority_scheduling;
	struct sq_item *sq;
	size_t sq_n, sq_cap;
	unsigned long long sq_seq;
	struct smap sched_deferred;
	struct smap prio_waiting; /* template key -> the PriorityClass it waits for */
	/* WorkloadRebalancers: woken again at rb_due (a TTL or a retry). */
	struct event *rb_ev;
	time_t rb_due;
};

struct pending_event {
	cJSON *about; /* apiVersion, kind and the metadata events.h reads */
	char *reason, *message;
	const char *component;
	bool warning;
	enum event_mode mode;
	time_t at;
	long long queued_ms;
};

static long long mono_ms(void);

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

static void arm(struct controller *c)
{
	if (c->armed || !c->ev)
		return;
	struct timeval tv = {0, 0};
	event_add(c->ev, &tv);
	c->armed = true;
}

static void enqueue(struct controller *c, char tag, const char *key)
{
	size_t kl = strlen(key);
	char *item = malloc(kl + 3);
	item[0] = tag;
	item[1] = '|';
	memcpy(item + 2, key, kl + 1);
	bool found;
	smap_get(&c->queued, item, &found);
	if (found) {
		free(item);
		return;
	}
	smap_put(&c->queued, item, NULL);
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
		arm(c);
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
	arm(c);
}

static char *dequeue(struct controller *c)
{
	char *item = sq_pop(c);
	if (item) {
		smap_del(&c->queued, item);
		return item;
	}
	if (c->qhead == c->qtail)
		return NULL;
	item = c->q[c->qhead++];
	smap_del(&c->queued, item);
	return item;
}

/* ---- store helpers ----------------------------------------------------------- */

struct key_parts {
	char group[256], plural[256], ns[256], name[256];
};

static int split_key(const char *key, struct key_parts *p)
{
	char *parts[4] = {p->group, p->plural, p->ns, p->name};
	const char *s = key;
	for (int i = 0; i < 4; i++) {
		const char *e = i < 3 ? strchr(s, '/') : s + strlen(s);
		if (!e || (size_t)(e - s) >= 256)
			return -1;
		memcpy(parts[i], s, (size_t)(e - s));
		parts[i][e - s] = '\0';
		s = e + (i < 3);
	}
	return 0;
}

static const struct kind_info *kind_for(const char *group, const char *plural)
{
	const char *g = strcmp(group, "core") == 0 ? "" : group;
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		if (strcmp(k->group, g) == 0 && strcmp(k->plural, plural) == 0)
			return k;
	}
	return NULL;
}

static cJSON *get_key(struct controller *c, const char *key)
{
	char *raw = NULL;
	if (store_get(c->st, key, &raw, NULL) != STORE_OK)
		return NULL;
	cJSON *o = cJSON_Parse(raw);
	free(raw);
	return o;
}

static cJSON *get_obj(struct controller *c, const struct kind_info *k, const char *ns, const char *name)
{
	return obj_get_stored(c->st, k, ns, name);
}

static cJSON *list_prefix(struct controller *c, const char *prefix)
{
	cJSON *arr = cJSON_CreateArray();
	store_list(c->st, prefix, obj_list_append, arr, NULL);
	return arr;
}

struct key_collect {
	struct controller *c;
	char tag;
};

static int enqueue_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct key_collect *kc = ud;
	enqueue(kc->c, kc->tag, key);
	return 0;
}

static void enqueue_prefix(struct controller *c, char tag, const char *prefix)
{
	struct key_collect kc = {c, tag};
	store_list(c->st, prefix, enqueue_item, &kc, NULL);
}

static const struct kind_info *K(const char *group, const char *version, const char *kind)
{
	return kinds_find_kind(group, version, kind);
}

static void new_uuid(char *buf, size_t len)
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = (unsigned char)rand();
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static const char *now_str(char *buf, size_t len) { return time_rfc3339(time(NULL), buf, len); }

static const char *mstr(const cJSON *o, const char *field)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata"), field));
}

static bool same_rv(const cJSON *a, const cJSON *b)
{
	const char *x = mstr(a, "resourceVersion"), *y = mstr(b, "resourceVersion");
	return x && y && strcmp(x, y) == 0;
}

/* Creates obj when old is NULL, else replaces the main resource of old (the
 * stored object the caller read). Returns 1 when the store changed, 0 for a
 * no-op, -1 on error. *stored (optional) receives the stored object. obj is
 * consumed. */
static int upsert(struct controller *c, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		  const cJSON *old, cJSON **stored)
{
	struct api_error e = {0};
	int rc;
	if (!old)
		rc = obj_create(c->objs, k, ns, obj, false, NULL, &e);
	else
		rc = obj_update_cur(c->objs, k, old, obj, SUBRES_NONE, NULL, &e);
	if (rc < 0) {
		log_warn("controller: cannot write %s %s/%s: %s", k->kind, ns ? ns : "", name, e.message);
		api_error_clear(&e);
		cJSON_Delete(obj);
		return -1;
	}
	/* obj is now the stored object. */
	int changed = !old || !same_rv(obj, old);
	if (stored)
		*stored = obj;
	else
		cJSON_Delete(obj);
	return changed;
}

/* Replaces the status of a stored object. Same return values as upsert. */
static int write_status(struct controller *c, const struct kind_info *k, const cJSON *cur, cJSON *status,
			cJSON **stored)
{
	const cJSON *old = json_get(cur, "status");
	if (old && status && json_equal(old, status)) {
		cJSON_Delete(status);
		if (stored)
			*stored = json_dup(cur);
		return 0;
	}
	/* Through /status only status is taken from obj; the rest is cur's. */
	cJSON *obj = cJSON_CreateObject();
	if (status)
		cJSON_AddItemToObject(obj, "status", status);
	struct api_error e = {0};
	if (obj_update_cur(c->objs, k, cur, obj, SUBRES_STATUS, NULL, &e) < 0) {
		const char *ns = mstr(cur, "namespace"), *name = mstr(cur, "name");
		log_warn("controller: cannot write status of %s %s/%s: %s", k->kind, ns ? ns : "", name ? name : "",
			 e.message);
		api_error_clear(&e);
		cJSON_Delete(obj);
		return -1;
	}
	int changed = !same_rv(obj, cur);
	if (stored)
		*stored = obj;
	else
		cJSON_Delete(obj);
	return changed;
}

/* Removes the finalizers this controller owns (Karmada's propagation
 * policy, binding and execution controllers') from an object being deleted,
 * which completes its deletion unless another finalizer remains. The
 * caller has done what the finalizer stood for. */
static void finish_deletion(struct controller *c, const struct kind_info *k, const cJSON *cur)
{
	if (!cur || !mstr(cur, "deletionTimestamp"))
		return;
	cJSON *next = detector_without_finalizers(cur);
	if (!next)
		return;
	struct api_error e = {0};
	if (obj_update_cur(c->objs, k, cur, next, SUBRES_NONE, NULL, &e) < 0 && e.code != 404)
		log_warn("controller: cannot finish deleting %s %s/%s: %s", k->kind, mstr(cur, "namespace") ? mstr(cur, "namespace") : "",
			 mstr(cur, "name") ? mstr(cur, "name") : "", e.message);
	api_error_clear(&e);
	cJSON_Delete(next);
}

static void delete_obj(struct controller *c, const struct kind_info *k, const char *ns, const char *name)
{
	struct api_error e = {0};
	char *out = NULL;
	if (obj_delete(c->objs, k, ns, name, &out, &e) < 0 && e.code != 404)
		log_warn("controller: cannot delete %s %s/%s: %s", k->kind, ns ? ns : "", name, e.message);
	else if (out) {
		/* Our own deletions complete at once: the caller cleaned up. */
		cJSON *o = cJSON_Parse(out);
		finish_deletion(c, k, o);
		cJSON_Delete(o);
	}
	api_error_clear(&e);
	free(out);
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
		if (mstr(obj, meta[i]))
			cJSON_AddStringToObject(m, meta[i], mstr(obj, meta[i]));
	return o;
}

static void arm(struct controller *c);

/* Queues an event (see EVENT_BUFFER_MAX); written by flush_events. */
static void event(struct controller *c, const cJSON *obj, bool warning, const char *reason, const char *msg,
		  const char *component, enum event_mode mode)
{
	if (!obj)
		return;
	if (c->ev_count == EVENT_BUFFER_MAX) {
		if (c->ev_dropped++ % 10000 == 0)
			log_warn("controller: event buffer full (%d); dropping events (%lld so far), e.g. %s on %s", EVENT_BUFFER_MAX,
				 c->ev_dropped, reason, mstr(obj, "name") ? mstr(obj, "name") : "");
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
	pe->queued_ms = mono_ms();
	arm(c);
}

static void free_event(struct pending_event *pe)
{
	cJSON_Delete(pe->about);
	free(pe->reason);
	free(pe->message);
	memset(pe, 0, sizeof *pe);
}

/* Writes queued events, oldest first, until deadline_ms (0: all); with
 * aged_only, only those older than EVENT_MAX_AGE_MS. */
static void flush_events(struct controller *c, long long deadline_ms, bool aged_only)
{
	while (c->ev_count > 0) {
		struct pending_event *pe = &c->events[c->ev_head];
		long long now = mono_ms();
		if (aged_only && now - pe->queued_ms < EVENT_MAX_AGE_MS)
			break;
		if (deadline_ms && now >= deadline_ms)
			break;
		events_record(c->objs, pe->about, pe->warning ? "Warning" : "Normal", pe->reason, pe->message, pe->component,
			      pe->mode, pe->at);
		free_event(pe);
		c->ev_head++;
		c->ev_count--;
	}
	if (c->ev_count == 0) {
		free(c->events);
		c->events = NULL;
		c->ev_head = c->ev_cap = 0;
	}
}

static int ensure_namespace(struct controller *c, const char *ns)
{
	bool found;
	smap_get(&c->namespaces, ns, &found);
	if (found)
		return 0;
	const struct kind_info *k = K("", "v1", "Namespace");
	cJSON *cur = get_obj(c, k, "", ns);
	if (!cur) {
		cJSON *o = cJSON_CreateObject();
		json_set_str(json_ensure_obj(o, "metadata"), "name", ns);
		if (upsert(c, k, "", ns, o, NULL, NULL) < 0)
			return -1;
	}
	cJSON_Delete(cur);
	smap_put(&c->namespaces, ns, "");
	return 0;
}

/* ---- bindings and their identity ------------------------------------------------- */

static bool is_cluster_binding(const cJSON *b) { return !mstr(b, "namespace") || !*mstr(b, "namespace"); }

static const struct kind_info *binding_kind(bool cluster)
{
	return K("work.karmada.io", "v1alpha2", cluster ? "ClusterResourceBinding" : "ResourceBinding");
}

static void binding_key_for(const char *ns, const char *kind, const char *name, char *buf, size_t len)
{
	char bname[600];
	render_binding_name(kind, name, bname, sizeof bname);
	obj_key(buf, len, binding_kind(!ns || !*ns), ns ? ns : "", bname);
}

/* The binding a Work belongs to (from its annotations), as a store key. */
static bool work_binding_key(const cJSON *w, char *buf, size_t len)
{
	const cJSON *a = json_get(w, "metadata.annotations");
	const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, RB_NAME_ANNOTATION));
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, RB_NAMESPACE_ANNOTATION));
	if (n && ns) {
		obj_key(buf, len, binding_kind(false), ns, n);
		return true;
	}
	n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, CRB_NAME_ANNOTATION));
	if (n) {
		obj_key(buf, len, binding_kind(true), "", n);
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

/* Execution namespaces that exist (karmada-es-*). */
static int collect_exec_ns(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	const char *name = strrchr(key, '/');
	if (name && strncmp(name + 1, "karmada-es-", 11) == 0)
		cJSON_AddItemToArray((cJSON *)ud, cJSON_CreateString(name + 1));
	return 0;
}

/* Names of the execution namespaces, from the store's keys (no parsing). */
static cJSON *exec_namespaces(struct controller *c)
{
	cJSON *out = cJSON_CreateArray();
	store_list(c->st, "core/namespaces//karmada-es-", collect_exec_ns, out, NULL);
	return out;
}

static const char *target_name_of(const cJSON *t) { return json_get_str(t, "name"); }
static const char *work_ns_of(const cJSON *w) { return mstr(w, "namespace"); }

/* Deletes the Works of binding (bns/bname) for the resource (kind, name,
 * tns) in every execution namespace except those of keep (target list, may
 * be NULL). Returns how many were deleted. */
static int delete_works(struct controller *c, const char *bns, const char *bname, const char *kind, const char *name,
			const char *tns, const cJSON *keep)
{
	const struct kind_info *wk = K("work.karmada.io", "v1alpha1", "Work");
	char wname[600];
	render_work_name(kind, name, tns, wname, sizeof wname);
	cJSON *nss = exec_namespaces(c);
	int n = 0;
	const cJSON *ns;
	struct name_index kix; /* keep by name: a lookup per namespace, not a scan */
	nidx_build(&kix, keep, target_name_of);
	cJSON_ArrayForEach(ns, nss)
	{
		const char *cluster = ns->valuestring + 11;
		if (nidx_find(&kix, cluster))
			continue;
		cJSON *w = get_obj(c, wk, ns->valuestring, wname);
		if (w && work_of_binding(w, bns, bname)) {
			delete_obj(c, wk, ns->valuestring, wname);
			n++;
		}
		cJSON_Delete(w);
	}
	nidx_free(&kix);
	cJSON_Delete(nss);
	return n;
}

/* Deletes every Work annotated with binding (bns/bname): used when the
 * binding is gone and its resource is unknown. */
static void delete_orphan_works(struct controller *c, const char *bns, const char *bname)
{
	const struct kind_info *wk = K("work.karmada.io", "v1alpha1", "Work");
	cJSON *all = list_prefix(c, "work.karmada.io/works/");
	const cJSON *w;
	cJSON_ArrayForEach(w, all)
	{
		if (work_of_binding(w, bns, bname))
			delete_obj(c, wk, mstr(w, "namespace"), mstr(w, "name"));
	}
	cJSON_Delete(all);
}

/* ---- detector stage ------------------------------------------------------------- */

static bool is_dependency_kind(const char *kind)
{
	return strcmp(kind, "ConfigMap") == 0 || strcmp(kind, "Secret") == 0 || strcmp(kind, "ServiceAccount") == 0 ||
	       strcmp(kind, "PersistentVolumeClaim") == 0;
}

/* Bindings in ns whose dependencies annotation names (kind, name). */
static void enqueue_dependents_parents(struct controller *c, const char *ns, const char *kind, const char *name)
{
	char prefix[600];
	obj_key(prefix, sizeof prefix, binding_kind(false), ns, "");
	cJSON *bs = list_prefix(c, prefix);
	const cJSON *b;
	cJSON_ArrayForEach(b, bs)
	{
		const char *deps = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(json_get(b, "metadata.annotations"), DEPENDENCIES_ANNOTATION));
		if (!deps)
			continue;
		cJSON *d = cJSON_Parse(deps), *it;
		cJSON_ArrayForEach(it, d)
		{
			if (strcmp(json_get_str(it, "kind") ? json_get_str(it, "kind") : "", kind) == 0 &&
			    strcmp(json_get_str(it, "name") ? json_get_str(it, "name") : "", name) == 0) {
				char key[1024];
				obj_key(key, sizeof key, binding_kind(false), ns, mstr(b, "name"));
				enqueue(c, 'B', key);
			}
		}
		cJSON_Delete(d);
	}
	cJSON_Delete(bs);
}

static void set_outcome(struct controller *c, const char *key, const char *outcome, bool *changed, bool *first)
{
	bool found;
	const char *old = smap_get(&c->outcome, key, &found);
	*first = !found;
	*changed = !found || !old || strcmp(old, outcome) != 0;
	if (*changed)
		smap_put(&c->outcome, key, outcome);
}

/* Karmada's namespace sync: a Namespace no policy claims goes to every
 * member (through a ClusterResourceBinding of the implicit policy, so
 * ClusterOverridePolicies apply), never claimed by a policy. */
static void sync_namespace(struct controller *c, const cJSON *tmpl, const cJSON *binding,
			   const struct kind_info *bk, const char *bname, const char *bkey)
{
	cJSON *pol = detector_namespace_sync_policy();
	char bid[64];
	new_uuid(bid, sizeof bid);
	cJSON *desired = render_binding(tmpl, pol, true, binding, bid);
	cJSON_Delete(pol);
	cJSON *unclaimed = detector_unclaimed_binding(desired);
	if (unclaimed) {
		cJSON_Delete(desired);
		desired = unclaimed;
	}
	json_set_str(json_ensure_obj(desired, "metadata.annotations"), NS_SYNC_ANNOTATION, "true");
	upsert(c, bk, "", bname, desired, binding, NULL);
	enqueue(c, 'B', bkey);
}

/* Karmada's dependentOverrides: the policy applies only once every named
 * OverridePolicy (ClusterOverridePolicy for a cluster policy) exists; until
 * then the template gets ApplyPolicyFailed "waiting for dependent overrides"
 * (once) and stays as it is. reconcile_override queues the policy again. */
static bool dependent_overrides_ready(struct controller *c, const cJSON *policy, bool cluster_policy, const cJSON *tmpl,
				      const char *key)
{
	const cJSON *n;
	const struct kind_info *ok = K("policy.karmada.io", "v1alpha1", cluster_policy ? "ClusterOverridePolicy" : "OverridePolicy");
	const char *pns = cluster_policy ? "" : mstr(policy, "namespace");
	cJSON_ArrayForEach(n, json_get(policy, "spec.dependentOverrides"))
	{
		if (!cJSON_IsString(n))
			continue;
		char okey[1024];
		if (store_get(c->st, obj_key(okey, sizeof okey, ok, pns ? pns : "", n->valuestring), NULL, NULL) == STORE_OK)
			continue;
		char outcome[700], msg[900];
		const char *pn = mstr(policy, "name") ? mstr(policy, "name") : "";
		snprintf(outcome, sizeof outcome, "wait:%s/%s", pns ? pns : "", pn);
		bool changed, first;
		set_outcome(c, key, outcome, &changed, &first);
		if (changed) {
			if (cluster_policy)
				snprintf(msg, sizeof msg, "Apply cluster policy(%s) failed: waiting for dependent overrides", pn);
			else
				snprintf(msg, sizeof msg, "Apply policy(%s/%s) failed: waiting for dependent overrides", pns, pn);
			event(c, tmpl, true, "ApplyPolicyFailed", msg, C_DETECTOR, first ? EVENT_ONCE : EVENT_BUMP);
		}
		return false;
	}
	return true;
}

/* The binding priority a policy's spec.schedulePriority names (Karmada's
 * detector with PriorityBasedScheduling): the value of the PriorityClass
 * (priorityClassSource KubePriorityClass, the only source). false, with an
 * ApplyPolicyFailed event on the template, when the class does not exist. */
static bool schedule_priority_of(struct controller *c, const cJSON *policy, bool cluster_policy, const cJSON *tmpl,
				 const char *tkey, double *prio, bool *has)
{
	const cJSON *sp = json_get(policy, "spec.schedulePriority");
	const char *pcn = json_get_str(sp, "priorityClassName");
	*has = false;
	if (!cJSON_IsObject(sp) || !pcn || !*pcn)
		return true;
	cJSON *pc = get_obj(c, K("scheduling.k8s.io", "v1", "PriorityClass"), "", pcn);
	if (!pc) {
		char msg[1200];
		const char *pn = mstr(policy, "name") ? mstr(policy, "name") : "";
		if (cluster_policy)
			snprintf(msg, sizeof msg, "Apply cluster policy(%s) failed: priorityclasses.scheduling.k8s.io \"%s\" not found",
				 pn, pcn);
		else
			snprintf(msg, sizeof msg, "Apply policy(%s/%s) failed: priorityclasses.scheduling.k8s.io \"%s\" not found",
				 mstr(policy, "namespace") ? mstr(policy, "namespace") : "", pn, pcn);
		event(c, tmpl, true, "ApplyPolicyFailed", msg, C_DETECTOR, EVENT_BUMP);
		smap_put(&c->prio_waiting, tkey, pcn); /* tried again when it is created */
		return false;
	}
	smap_del(&c->prio_waiting, tkey);
	*prio = json_get_num(pc, "value", 0);
	*has = true;
	cJSON_Delete(pc);
	return true;
}

static void reconcile_template(struct controller *c, const char *key)
{
	struct key_parts kp;
	if (split_key(key, &kp) < 0)
		return;
	const struct kind_info *k = kind_for(kp.group, kp.plural);
	if (!k)
		return;
	char bkey[1024];
	binding_key_for(kp.ns, k->kind, kp.name, bkey, sizeof bkey);
	const struct kind_info *bk = binding_kind(!kp.ns[0]);
	cJSON *tmpl = get_key(c, key);
	cJSON *binding = get_key(c, bkey);
	char bname[600];
	render_binding_name(k->kind, kp.name, bname, sizeof bname);

	if (!tmpl) {
		/* Deleted: its binding and Works go with it. */
		smap_del(&c->outcome, key);
		if (binding && strcmp(json_get_str(binding, "spec.resource.kind") ? json_get_str(binding, "spec.resource.kind") : "",
				      k->kind) == 0) {
			delete_works(c, kp.ns, bname, k->kind, kp.name, kp.ns, NULL);
			delete_obj(c, bk, kp.ns, bname);
		}
		if (kp.ns[0] && is_dependency_kind(k->kind))
			enqueue_dependents_parents(c, kp.ns, k->kind, kp.name);
		cJSON_Delete(binding);
		return;
	}
	if (!detector_template_propagatable(tmpl) || mstr(tmpl, "deletionTimestamp")) {
		cJSON_Delete(tmpl);
		cJSON_Delete(binding);
		return;
	}
	char prefix[600];
	cJSON *pps = NULL;
	if (kp.ns[0]) {
		obj_key(prefix, sizeof prefix, K("policy.karmada.io", "v1alpha1", "PropagationPolicy"), kp.ns, "");
		pps = list_prefix(c, prefix);
	}
	cJSON *cpps = list_prefix(c, "policy.karmada.io/clusterpropagationpolicies/");
	struct detector_choice ch;
	bool matched = detector_choose_gated(tmpl, pps, cpps, c->policy_preemption, &ch);
	bool attached = binding && cJSON_GetArraySize(json_get(binding, "spec.requiredBy")) > 0;
	bool changed, first;

	if (!matched) {
		cJSON *patch = detector_claim_patch(tmpl, NULL, false);
		if (patch) {
			struct api_error e = {0};
			char *out = NULL;
			bool created;
			if (obj_patch(c->objs, k, kp.ns, kp.name, "application/merge-patch+json", patch, SUBRES_NONE, false,
				      &created, &out, &e) < 0)
				log_warn("controller: cannot unclaim %s: %s", key, e.message);
			api_error_clear(&e);
			free(out);
			cJSON_Delete(patch);
		}
		if (detector_namespace_auto_sync(tmpl)) {
			sync_namespace(c, tmpl, binding, bk, bname, bkey);
			goto out;
		}
		if (binding) {
			/* The policy's claim ends; the binding, its Works and the
			 * members' copies stay while the template exists (Karmada). */
			cJSON *desired = detector_unclaimed_binding(binding);
			if (desired)
				upsert(c, bk, kp.ns, bname, desired, binding, NULL);
			enqueue(c, 'B', bkey);
		}
		if (!attached && !binding) {
			set_outcome(c, key, "none", &changed, &first);
			if (changed)
				event(c, tmpl, true, "ApplyPolicyFailed", "No policy match for resource", C_DETECTOR,
				      first ? EVENT_ONCE : EVENT_BUMP);
		}
		if (kp.ns[0] && is_dependency_kind(k->kind))
			enqueue_dependents_parents(c, kp.ns, k->kind, kp.name);
		goto out;
	}

	/* activationPreference Lazy: a policy change waits for the template's
	 * next change. dependentOverrides: wait until they exist. */
	if (c->policy_pass && detector_policy_lazy(ch.policy)) {
		if (binding)
			enqueue(c, 'B', bkey);
		goto out;
	}
	if (!dependent_overrides_ready(c, ch.policy, ch.cluster_policy, tmpl, key))
		goto out;
	/* PriorityBasedScheduling: the policy's PriorityClass gives the
	 * binding its priority; without the class the binding is not built. */
	double sched_prio = 0;
	bool has_prio = false;
	if (c->priority_scheduling && !schedule_priority_of(c, ch.policy, ch.cluster_policy, tmpl, key, &sched_prio, &has_prio))
		goto out;
	/* Claim the template (its own store event is not queued again). */
	cJSON *patch = detector_claim_patch(tmpl, ch.policy, ch.cluster_policy);
	c->self_template = key;
	if (patch) {
		struct api_error e = {0};
		char *out = NULL;
		bool created;
		if (obj_patch(c->objs, k, kp.ns, kp.name, "application/merge-patch+json", patch, SUBRES_NONE, false, &created,
			      &out, &e) == 0) {
			cJSON *so = cJSON_Parse(out);
			if (so) {
				cJSON_Delete(tmpl);
				tmpl = so;
			}
		} else {
			log_warn("controller: cannot claim %s: %s", key, e.message);
		}
		api_error_clear(&e);
		free(out);
		cJSON_Delete(patch);
	}
	c->self_template = NULL;
	char outcome[600], msg[700];
	const char *pn = mstr(ch.policy, "name") ? mstr(ch.policy, "name") : "";
	if (ch.cluster_policy) {
		snprintf(outcome, sizeof outcome, "cpp:%s", pn);
		snprintf(msg, sizeof msg, "Apply cluster policy(%s) succeed", pn);
	} else {
		snprintf(outcome, sizeof outcome, "pp:%s/%s", mstr(ch.policy, "namespace"), pn);
		snprintf(msg, sizeof msg, "Apply policy(%s/%s) succeed", mstr(ch.policy, "namespace"), pn);
	}
	set_outcome(c, key, outcome, &changed, &first);
	if (changed)
		event(c, tmpl, false, "ApplyPolicySucceed", msg, C_DETECTOR, first ? EVENT_ONCE : EVENT_BUMP);

	char bid[64];
	new_uuid(bid, sizeof bid);
	cJSON *desired = render_binding(tmpl, ch.policy, ch.cluster_policy, binding, bid);
	if (has_prio) {
		cJSON *sp = cJSON_CreateObject();
		cJSON_AddNumberToObject(sp, "priority", sched_prio);
		json_set(json_ensure_obj(desired, "spec"), "schedulePriority", sp);
	}
	cJSON *dann = json_ensure_obj(desired, "metadata.annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(dann, NS_SYNC_ANNOTATION); /* a policy claims it now */
	if (cJSON_IsTrue(json_get(desired, "spec.propagateDeps"))) {
		cJSON *deps = render_dependencies(tmpl);
		char *s = json_print(deps);
		json_set_str(dann, DEPENDENCIES_ANNOTATION, s);
		free(s);
		cJSON_Delete(deps);
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(dann, DEPENDENCIES_ANNOTATION);
	}
	if (cJSON_GetArraySize(dann) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(json_get(desired, "metadata"), "annotations");
	upsert(c, bk, kp.ns, bname, desired, binding, NULL);
	/* Template content reaches the Works through the binding stage. */
	enqueue(c, 'B', bkey);
out:
	cJSON_Delete(pps);
	cJSON_Delete(cpps);
	cJSON_Delete(tmpl);
	cJSON_Delete(binding);
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

static const cJSON *find_cluster(const struct controller *c, const cJSON *clusters, const char *name)
{
	if (c && clusters && clusters == c->clusters_cache)
		return nidx_find(&c->clusters_idx, name); /* not a scan per target */
	const cJSON *cl;
	cJSON_ArrayForEach(cl, clusters)
	{
		const char *n = mstr(cl, "name");
		if (n && strcmp(n, name) == 0)
			return cl;
	}
	return NULL;
}

/* Duplicated (and non-workload) bindings follow every cluster change. */
static bool follows_cluster_changes(const cJSON *b, const cJSON *tmpl)
{
	long replicas = (long)json_get_num(b, "spec.replicas", 0);
	return !render_has_replicas(tmpl) || replicas == 0 || !placement_divided(json_get(b, "spec.placement"));
}

/* What the scheduler last saw of a binding that follows cluster changes:
 * the cluster generation and the binding's generation. */
static void sched_memo(const struct controller *c, double generation, char *buf, size_t len)
{
	snprintf(buf, len, "%lu:%.0f", c->clusters_gen, generation);
}

enum sched_need { SCHED_NO, SCHED_YES, SCHED_IF_CLUSTERS_CHANGED };
static enum sched_need sched_need(const struct controller *c, const cJSON *b, const cJSON *tmpl, const cJSON *clusters);

/* sched_need, except that a binding that follows cluster changes is not
 * scheduled again while neither the clusters nor the binding changed since
 * the controller last scheduled it (the Work pass after the scheduling
 * stage, a template's status, a Work's report). */
static bool needs_schedule(struct controller *c, const char *key, const cJSON *b, const cJSON *tmpl,
			   const cJSON *clusters)
{
	enum sched_need n = sched_need(c, b, tmpl, clusters);
	if (n != SCHED_IF_CLUSTERS_CHANGED)
		return n == SCHED_YES;
	char memo[64];
	sched_memo(c, json_get_num(b, "metadata.generation", 1), memo, sizeof memo);
	bool found;
	const char *seen = smap_get(&c->sched_memo, key, &found);
	return !found || !seen || strcmp(seen, memo) != 0;
}

/* Karmada's doScheduleBinding triggers: never scheduled, placement changed,
 * replicas changed, a reschedule requested, a scheduled cluster gone;
 * Duplicated (and non-workload) bindings follow every cluster change. */
static enum sched_need sched_need(const struct controller *c, const cJSON *b, const cJSON *tmpl, const cJSON *clusters)
{
	const cJSON *placement = json_get(b, "spec.placement");
	const char *applied = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(json_get(b, "metadata.annotations"), APPLIED_PLACEMENT_ANNOTATION));
	if (!applied || !json_condition(b, "Scheduled"))
		return SCHED_YES;
	cJSON *ap = cJSON_Parse(applied);
	bool same = ap && json_equal(ap, placement);
	cJSON_Delete(ap);
	if (!same)
		return SCHED_YES;
	const cJSON *cl;
	cJSON_ArrayForEach(cl, json_get(b, "spec.clusters"))
	{
		if (!find_cluster(c, clusters, json_get_str(cl, "name") ? json_get_str(cl, "name") : ""))
			return SCHED_YES;
	}
	const char *rta = json_get_str(b, "spec.rescheduleTriggeredAt");
	const char *lst = json_get_str(b, "status.lastScheduledTime");
	if (rta && (!lst || strcmp(rta, lst) > 0))
		return SCHED_YES;
	long replicas = (long)json_get_num(b, "spec.replicas", 0);
	if (follows_cluster_changes(b, tmpl))
		return SCHED_IF_CLUSTERS_CHANGED; /* Duplicated (see needs_schedule) */
	long sum = 0;
	cJSON_ArrayForEach(cl, json_get(b, "spec.clusters")) sum += (long)json_get_num(cl, "replicas", 0);
	return sum != replicas ? SCHED_YES : SCHED_NO;
}

static bool same_clusters(const cJSON *a, const cJSON *b)
{
	if (cJSON_GetArraySize(a) == 0 || cJSON_GetArraySize(b) == 0)
		return cJSON_GetArraySize(a) == cJSON_GetArraySize(b);
	return json_equal(a, b);
}

static bool cond_is(const cJSON *cond, const char *status)
{
	const char *s = cond ? json_get_str(cond, "status") : NULL;
	return s && strcmp(s, status) == 0;
}

static double mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Schedules b when Karmada would, in memory: b (the binding as it will be
 * written once the pass is done) gets the new spec.clusters, the applied
 * placement and the Scheduled condition. Reports the scheduling latency
 * (the schedule() call and the result's bookkeeping). */
static void schedule_binding(struct controller *c, const char *key, cJSON *b, const cJSON *tmpl,
			     const cJSON *clusters)
{
	const cJSON *placement = json_get(b, "spec.placement");
	if (!placement)
		return;
	if (!detector_for_default_scheduler(b))
		return; /* another scheduler's binding: left to it, as in Karmada */
	if (!needs_schedule(c, key, b, tmpl, clusters)) {
		/* Karmada's scheduler: nothing to schedule, the generation is
		 * observed all the same (graceful eviction waits for it). */
		double g = json_get_num(b, "metadata.generation", 1);
		cJSON *bst = cJSON_GetObjectItemCaseSensitive(b, "status");
		if (cJSON_IsObject(bst) && cond_is(json_condition(b, "Scheduled"), "True") &&
		    json_get_num(bst, "schedulerObservedGeneration", -1) != g)
			json_set_num(bst, "schedulerObservedGeneration", g);
		return;
	}
	bool cluster = is_cluster_binding(b);
	struct sched_result res;
	/* The scheduler sees the template's replicas as the binding carries them. */
	double t0 = mono_seconds();
	/* A reschedule triggered after the last scheduling (WorkloadRebalancer):
	 * Karmada's Fresh mode, which ignores the previous result. */
	const char *rta = json_get_str(b, "spec.rescheduleTriggeredAt");
	const char *lst = json_get_str(b, "status.lastScheduledTime");
	bool fresh = rta && (!lst || strcmp(rta, lst) > 0);
	int rc = schedule_full(clusters, placement, tmpl, render_has_replicas(tmpl), json_get(b, "spec.clusters"),
			       json_get(b, "spec.gracefulEvictionTasks"), fresh, &res);
	bool was_scheduled = cond_is(json_condition(b, "Scheduled"), "True");
	cJSON *prev_spec = json_dup(json_get(b, "spec"));
	char now[40];
	now_str(now, sizeof now);
	bool write_spec = false;
	if (rc == 0) {
		render_binding_set_clusters(b, &res);
		write_spec = true;
	} else if (strcmp(res.reason, "NoClusterFit") == 0) {
		/* Karmada empties the result when no cluster fits. */
		json_set(json_ensure_obj(b, "spec"), "clusters", cJSON_CreateArray());
		write_spec = true;
	}
	if (write_spec) {
		char *ps = json_print(placement);
		json_set_str(json_ensure_obj(b, "metadata.annotations"), APPLIED_PLACEMENT_ANNOTATION, ps);
		free(ps);
	}
	/* The generation the write will give b (objects.c bumps it when the
	 * spec changes): what the scheduler has observed. */
	double gen = json_get_num(b, "metadata.generation", 1);
	if (!json_equal(prev_spec, json_get(b, "spec")))
		gen += 1;
	if (follows_cluster_changes(b, tmpl)) {
		char memo[64];
		sched_memo(c, gen, memo, sizeof memo);
		smap_put(&c->sched_memo, key, memo);
	}
	metrics_observe_scheduling(mono_seconds() - t0);
	/* Scheduled condition and scheduler bookkeeping. */
	cJSON *st = json_get(b, "status");
	if (!cJSON_IsObject(st)) {
		st = cJSON_CreateObject();
		json_set(b, "status", st);
	}
	char msg[1400];
	if (rc == 0) {
		aggregate_set_condition(st, "Scheduled", "True", "Success", "Binding has been scheduled successfully.", now);
		bool changed_result = !was_scheduled || fresh ||
				      !same_clusters(json_get(prev_spec, "clusters"), json_get(b, "spec.clusters"));
		if (changed_result)
			json_set_str(st, "lastScheduledTime", now);
		json_set_num(st, "schedulerObservedGeneration", gen);
		if (res.affinity_name[0])
			json_set_str(st, "schedulerObservingAffinityName", res.affinity_name);
		if (changed_result) {
			char result[1024];
			sched_result_format(&res, result, sizeof result);
			snprintf(msg, sizeof msg, "Binding has been scheduled successfully. Result%s %s", cluster ? "" : ":",
				 result);
			event(c, b, false, "ScheduleBindingSucceed", msg, C_SCHEDULER, EVENT_BUMP);
			event(c, tmpl, false, "ScheduleBindingSucceed", msg, C_SCHEDULER, EVENT_BUMP);
		}
	} else {
		const cJSON *oc = json_condition(b, "Scheduled");
		bool same_failure = cond_is(oc, "False") && json_get_str(oc, "message") &&
				    strcmp(json_get_str(oc, "message"), res.message) == 0;
		aggregate_set_condition(st, "Scheduled", "False", res.reason[0] ? res.reason : "SchedulerError", res.message,
					now);
		json_set_num(st, "schedulerObservedGeneration", gen);
		if (!same_failure) {
			event(c, b, true, "ScheduleBindingFailed", res.message, C_SCHEDULER, EVENT_BUMP);
			event(c, tmpl, true, "ScheduleBindingFailed", res.message, C_SCHEDULER, EVENT_BUMP);
		}
	}
	cJSON_Delete(prev_spec);
	sched_result_free(&res);
}

/* ---- aggregation stage ----------------------------------------------------------- */

static cJSON *binding_works(struct controller *c, const cJSON *b)
{
	const struct kind_info *wk = K("work.karmada.io", "v1alpha1", "Work");
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
		cJSON *w = get_obj(c, wk, wns, wname);
		if (w)
			cJSON_AddItemToArray(works, w);
	}
	cJSON_Delete(targets);
	return works;
}

static const cJSON *current_clusters(struct controller *c);

/* Folds the Works' status into b (the binding as this pass wants it) and
 * writes it over stored_b (the binding as read) in one write, spec and
 * status together; then the template's status. works: the binding's Works as
 * stored now. b is modified (it becomes the stored binding). */
static void aggregate_binding(struct controller *c, const cJSON *stored_b, cJSON *b, const cJSON *tmpl,
			      const cJSON *works)
{
	bool cluster = is_cluster_binding(b);
	const struct kind_info *bk = binding_kind(cluster);
	char now[40];
	now_str(now, sizeof now);
	cJSON *st = aggregate_binding_status(b, works, now);
	current_clusters(c); /* the not-Ready ones found once per change of the Clusters, not per binding */
	failover_mask_unready(st, c->unready, c->nunready, now);
	const cJSON *old_items = json_get(stored_b, "status.aggregatedStatus");
	const cJSON *new_items = cJSON_GetObjectItemCaseSensitive(st, "aggregatedStatus");
	bool items_changed = !(old_items && new_items ? json_equal(old_items, new_items) : !old_items && !new_items);
	cJSON *newly = items_changed ? aggregate_newly_applied(old_items, new_items) : NULL;
	json_set(b, "status", st);
	int changed = 0;
	if (!obj_update_is_noop(bk, stored_b, b) || !json_equal(json_get(stored_b, "status"), st)) {
		struct api_error e = {0};
		if (obj_update_cur(c->objs, bk, stored_b, b, SUBRES_MAIN_AND_STATUS, NULL, &e) < 0) {
			log_warn("controller: cannot write %s %s/%s: %s", bk->kind, mstr(stored_b, "namespace") ? mstr(stored_b, "namespace") : "",
				 mstr(stored_b, "name") ? mstr(stored_b, "name") : "", e.message);
			api_error_clear(&e);
			cJSON_Delete(newly);
			return;
		}
		changed = !same_rv(b, stored_b);
	}
	const char *tns = mstr(tmpl, "namespace"), *tname = mstr(tmpl, "name");
	if (changed > 0 && tmpl) {
		const cJSON *n;
		struct name_index wix; /* the Works by execution namespace: a lookup per cluster, not a scan */
		nidx_build(&wix, works, work_ns_of);
		cJSON_ArrayForEach(n, newly)
		{
			char msg[1024];
			if (tns && *tns)
				snprintf(msg, sizeof msg, "Successfully applied resource(%s/%s) to cluster %s", tns, tname,
					 n->valuestring);
			else
				snprintf(msg, sizeof msg, "Successfully applied resource(%s) to cluster %s", tname, n->valuestring);
			event(c, tmpl, false, "SyncSucceed", msg, C_EXECUTION, EVENT_BUMP);
			/* and on the Work itself */
			char ens[300];
			render_exec_namespace(n->valuestring, ens, sizeof ens);
			/* every Work in that namespace, in array order */
			for (size_t i = nidx_lower(&wix, ens); i < wix.n && strcmp(wix.ents[i].name, ens) == 0; i++) {
				const cJSON *w = wix.ents[i].item;
				snprintf(msg, sizeof msg, "Sync work(%s/%s) to cluster(%s) successful.", ens, mstr(w, "name"),
					 n->valuestring);
				event(c, w, false, "SyncSucceed", msg, C_EXECUTION, EVENT_BUMP);
			}
		}
		nidx_free(&wix);
	}
	cJSON_Delete(newly);
	if (changed > 0 && items_changed) {
		char msg[1024];
		if (cluster)
			snprintf(msg, sizeof msg, "Update ClusterResourceBinding(%s) with AggregatedStatus successfully.",
				 mstr(b, "name"));
		else
			snprintf(msg, sizeof msg, "Update ResourceBinding(%s/%s) with AggregatedStatus successfully.",
				 mstr(b, "namespace"), mstr(b, "name"));
		event(c, b, false, "AggregateStatusSucceed", msg, C_STATUS, EVENT_BUMP);
		event(c, tmpl, false, "AggregateStatusSucceed", "Update Resource with AggregatedStatus successfully.", C_STATUS,
		      EVENT_BUMP);
	}
	/* The template's own status. */
	if (tmpl) {
		cJSON *ts = aggregate_template_status(tmpl, json_get(b, "status.aggregatedStatus"));
		if (ts) {
			const char *av = json_get_str(tmpl, "apiVersion"), *kind = json_get_str(tmpl, "kind");
			const struct kind_info *tk = kinds_find_apiversion_kind(av, kind);
			if (tk && (tk->subresources & SUB_STATUS))
				write_status(c, tk, tmpl, ts, NULL);
			else
				cJSON_Delete(ts);
		}
	}
}

/* ---- dependencies: attached bindings -------------------------------------------------- */

/* requiredBy entry of parent in binding b, or -1. */
static int required_by_index(const cJSON *b, const char *pns, const char *pname)
{
	int i = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, json_get(b, "spec.requiredBy"))
	{
		const char *n = json_get_str(r, "name"), *ns = json_get_str(r, "namespace");
		if (n && strcmp(n, pname) == 0 && strcmp(ns ? ns : "", pns) == 0)
			return i;
		i++;
	}
	return -1;
}

/* Keeps the attached bindings of parent p (a namespaced binding) in line
 * with its dependencies; p NULL (deleted) removes it everywhere. */
static void sync_dependencies(struct controller *c, const char *pns, const char *pname, const cJSON *p)
{
	const struct kind_info *bk = binding_kind(false);
	cJSON *deps = NULL;
	if (p && cJSON_IsTrue(json_get(p, "spec.propagateDeps"))) {
		const char *ds = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(json_get(p, "metadata.annotations"), DEPENDENCIES_ANNOTATION));
		deps = ds ? cJSON_Parse(ds) : NULL;
	}
	/* Add or refresh the entry on each existing dependency. */
	const cJSON *d;
	cJSON_ArrayForEach(d, deps)
	{
		const char *kind = json_get_str(d, "kind"), *name = json_get_str(d, "name");
		const char *av = json_get_str(d, "apiVersion");
		if (!kind || !name)
			continue;
		const struct kind_info *dk = kinds_find_apiversion_kind(av ? av : "v1", kind);
		cJSON *dt = dk ? get_obj(c, dk, pns, name) : NULL;
		if (!dt)
			continue;
		char dbname[600];
		render_binding_name(kind, name, dbname, sizeof dbname);
		cJSON *db = get_obj(c, bk, pns, dbname);
		cJSON *entry = cJSON_CreateObject();
		cJSON_AddStringToObject(entry, "namespace", pns);
		cJSON_AddStringToObject(entry, "name", pname);
		cJSON *cls = json_dup(json_get(p, "spec.clusters"));
		cJSON_AddItemToObject(entry, "clusters", cls ? cls : cJSON_CreateArray());
		cJSON *desired;
		if (db) {
			desired = json_dup(db);
			cJSON_DeleteItemFromObjectCaseSensitive(json_get(desired, "metadata"), "resourceVersion");
			cJSON_DeleteItemFromObjectCaseSensitive(desired, "status");
		} else {
			char bid[64];
			new_uuid(bid, sizeof bid);
			desired = render_binding(dt, NULL, false, NULL, bid);
			const char *cr = json_get_str(p, "spec.conflictResolution");
			json_set_str(json_ensure_obj(desired, "spec"), "conflictResolution", cr ? cr : "Abort");
		}
		cJSON *spec = json_ensure_obj(desired, "spec");
		cJSON *rb = cJSON_GetObjectItemCaseSensitive(spec, "requiredBy");
		if (!cJSON_IsArray(rb)) {
			rb = cJSON_CreateArray();
			json_set(spec, "requiredBy", rb);
		}
		int idx = required_by_index(desired, pns, pname);
		if (idx >= 0)
			cJSON_ReplaceItemInArray(rb, idx, entry);
		else
			cJSON_AddItemToArray(rb, entry);
		upsert(c, bk, pns, dbname, desired, db, NULL);
		cJSON_Delete(db);
		cJSON_Delete(dt);
	}
	/* Drop the entry from bindings that are no longer dependencies. */
	char prefix[600];
	obj_key(prefix, sizeof prefix, bk, pns, "");
	cJSON *bs = list_prefix(c, prefix);
	const cJSON *b;
	cJSON_ArrayForEach(b, bs)
	{
		int idx = required_by_index(b, pns, pname);
		if (idx < 0)
			continue;
		bool still = false;
		cJSON_ArrayForEach(d, deps)
		{
			char dbname[600];
			render_binding_name(json_get_str(d, "kind") ? json_get_str(d, "kind") : "",
					    json_get_str(d, "name") ? json_get_str(d, "name") : "", dbname, sizeof dbname);
			still |= strcmp(dbname, mstr(b, "name")) == 0;
		}
		if (still)
			continue;
		cJSON *desired = json_dup(b);
		cJSON_DeleteItemFromObjectCaseSensitive(json_get(desired, "metadata"), "resourceVersion");
		cJSON_DeleteItemFromObjectCaseSensitive(desired, "status");
		cJSON_DeleteItemFromArray(json_get(desired, "spec.requiredBy"), idx);
		bool orphan = cJSON_GetArraySize(json_get(desired, "spec.requiredBy")) == 0 &&
			      !json_get(desired, "spec.placement");
		if (orphan) {
			cJSON_Delete(desired);
			delete_works(c, pns, mstr(b, "name"), json_get_str(b, "spec.resource.kind"),
				     json_get_str(b, "spec.resource.name"), pns, NULL);
			delete_obj(c, bk, pns, mstr(b, "name"));
		} else {
			if (cJSON_GetArraySize(json_get(desired, "spec.requiredBy")) == 0)
				cJSON_DeleteItemFromObjectCaseSensitive(json_get(desired, "spec"), "requiredBy");
			upsert(c, bk, pns, mstr(b, "name"), desired, b, NULL);
		}
	}
	cJSON_Delete(bs);
	cJSON_Delete(deps);
}

/* ---- binding stage: schedule, render Works, aggregate ------------------------------ */

static const char *res_str(const cJSON *b, const char *field)
{
	const char *v = json_get_str(json_get(b, "spec.resource"), field);
	return v ? v : "";
}

/* The template a binding stands for (spec.resource), or NULL when it or its
 * kind is gone; *tk and tkey (its store key) are set when found. */
static cJSON *binding_template(struct controller *c, const cJSON *b, const struct kind_info **tk, char *tkey,
			       size_t len)
{
	const char *name = res_str(b, "name"), *ns = res_str(b, "namespace");
	*tk = b ? kinds_find_apiversion_kind(res_str(b, "apiVersion"), res_str(b, "kind")) : NULL;
	cJSON *t = *tk && name[0] ? get_obj(c, *tk, ns, name) : NULL;
	if (t)
		obj_key(tkey, len, *tk, ns, name);
	return t;
}

/* The Cluster objects, listed again only after a Cluster changed. */
static const char *cluster_name_of(const cJSON *cl) { return mstr(cl, "name"); }

static const cJSON *current_clusters(struct controller *c)
{
	if (!c->clusters_cache || c->clusters_dirty) {
		nidx_free(&c->clusters_idx);
		cJSON_Delete(c->clusters_cache);
		c->clusters_cache = list_prefix(c, "cluster.karmada.io/clusters/");
		c->clusters_dirty = false;
		nidx_build(&c->clusters_idx, c->clusters_cache, cluster_name_of);
		free(c->unready);
		c->nunready = failover_unready_clusters(c->clusters_cache, &c->unready);
	}
	return c->clusters_cache;
}

/* Karmada's Dispatching condition on a Work: False (SuspendDispatching)
 * while spec.suspendDispatching, True again once resumed; Works never
 * suspended get none (no write per Work). Returns the Work as stored
 * (w, or its successor; w is consumed). */
static cJSON *sync_dispatching(struct controller *c, const struct kind_info *wk, cJSON *w, const char *now)
{
	bool suspended = cJSON_IsTrue(json_get(w, "spec.suspendDispatching"));
	const cJSON *cond = json_condition(w, "Dispatching");
	if (!suspended && !cond)
		return w;
	if (suspended && cond_is(cond, "False"))
		return w;
	if (!suspended && cond_is(cond, "True"))
		return w;
	cJSON *st = json_dup(json_get(w, "status"));
	if (!cJSON_IsObject(st)) {
		cJSON_Delete(st);
		st = cJSON_CreateObject();
	}
	if (suspended)
		aggregate_set_condition(st, "Dispatching", "False", "SuspendDispatching",
					"Work dispatching is in a suspended state.", now);
	else
		aggregate_set_condition(st, "Dispatching", "True", "DispatchingSucceed",
					"Work is being dispatched to member clusters.", now);
	cJSON *stored = NULL;
	if (write_status(c, wk, w, st, &stored) < 0 || !stored)
		return w;
	cJSON_Delete(w);
	return stored;
}

static void reconcile_binding(struct controller *c, const char *key)
{
	struct key_parts kp;
	if (split_key(key, &kp) < 0)
		return;
	bool cluster = strcmp(kp.plural, "clusterresourcebindings") == 0;
	const struct kind_info *bk = binding_kind(cluster);
	cJSON *b = get_key(c, key);
	if (!b) {
		smap_del(&c->sched_memo, key);
		smap_del(&c->sched_deferred, key);
		delete_orphan_works(c, kp.ns, kp.name);
		if (!cluster)
			sync_dependencies(c, kp.ns, kp.name, NULL);
		return;
	}
	if (mstr(b, "deletionTimestamp")) {
		/* karmada.io/binding-controller: its Works go before it does. */
		smap_del(&c->sched_memo, key);
		delete_orphan_works(c, kp.ns, kp.name);
		if (!cluster)
			sync_dependencies(c, kp.ns, kp.name, NULL);
		finish_deletion(c, bk, b);
		cJSON_Delete(b);
		return;
	}
	/* b (as read) lives until the end of the pass: these point into it. */
	const char *rkind = res_str(b, "kind"), *rname = res_str(b, "name"), *rns = res_str(b, "namespace");
	const struct kind_info *tk;
	char tkey[1024];
	cJSON *tmpl = binding_template(c, b, &tk, tkey, sizeof tkey);
	if (!tmpl) {
		/* The template is gone (or its kind): so is the binding. */
		delete_orphan_works(c, kp.ns, kp.name);
		delete_obj(c, bk, kp.ns, kp.name);
		cJSON_Delete(b);
		return;
	}
	/* PriorityBasedScheduling: a binding never scheduled joins the
	 * scheduling queue first (once; the pass after it goes on). */
	if (c->priority_scheduling && json_get(b, "spec.placement") && !json_condition(b, "Scheduled") &&
	    detector_for_default_scheduler(b)) {
		bool deferred;
		smap_get(&c->sched_deferred, key, &deferred);
		if (!deferred) {
			smap_put(&c->sched_deferred, key, NULL);
			enqueue(c, 'S', key);
			cJSON_Delete(tmpl);
			cJSON_Delete(b);
			return;
		}
	}
	smap_del(&c->sched_deferred, key);
	const cJSON *clusters = current_clusters(c);
	c->self_binding = key;
	c->self_template = tkey;
	/* b: as read; next: as this pass wants it, written once at the end. */
	cJSON *next = json_dup(b);
	schedule_binding(c, key, next, tmpl, clusters);
	if (!cluster && (cJSON_IsTrue(json_get(next, "spec.propagateDeps")) ||
			 cJSON_GetObjectItemCaseSensitive(json_get(next, "metadata.annotations"), DEPENDENCIES_ANNOTATION)))
		sync_dependencies(c, kp.ns, kp.name, next);

	/* Works for every target cluster; works collects them as stored. */
	const struct kind_info *wk = K("work.karmada.io", "v1alpha1", "Work");
	cJSON *targets = render_target_clusters(next);
	cJSON *works = cJSON_CreateArray();
	cJSON *cops = list_prefix(c, "policy.karmada.io/clusteroverridepolicies/");
	cJSON *ops = NULL;
	if (rns[0]) {
		char prefix[600];
		obj_key(prefix, sizeof prefix, K("policy.karmada.io", "v1alpha1", "OverridePolicy"), rns, "");
		ops = list_prefix(c, prefix);
	}
	char wname[600], wns[300], err[512], nowb[40];
	render_work_name(rkind, rname, rns, wname, sizeof wname);
	int synced = 0;
	const char *sync_error = NULL;
	char sync_err[700];
	const cJSON *t;
	cJSON_ArrayForEach(t, targets)
	{
		const char *cn = json_get_str(t, "name");
		render_exec_namespace(cn, wns, sizeof wns);
		if (ensure_namespace(c, wns) < 0)
			continue;
		cJSON *old = get_obj(c, wk, wns, wname);
		const char *wid = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(json_get(old, "metadata.labels"), WORK_PERMANENT_ID_LABEL));
		char idbuf[64];
		if (!wid) {
			new_uuid(idbuf, sizeof idbuf);
			wid = idbuf;
		}
		struct render_work_in in = {
		    .binding = next,
		    .tmpl = tmpl,
		    .cluster = cn,
		    .replicas = (long)json_get_num(t, "replicas", 0),
		    .cluster_obj = find_cluster(c, clusters, cn),
		    .cops = cops,
		    .ops = ops,
		    .work_id = wid,
		};
		cJSON *applied = NULL;
		err[0] = '\0';
		cJSON *w = render_work(&in, &applied, err, sizeof err);
		if (w)
			failover_inject_state(w, next, cn); /* statePreservation */
		if (!w) {
			snprintf(sync_err, sizeof sync_err, "Failed to apply override policies for cluster(%s): %s", cn, err);
			sync_error = sync_err;
			if (old)
				cJSON_AddItemToArray(works, old);
			continue;
		}
		int rc;
		cJSON *stored = NULL;
		if (old && obj_update_is_noop(wk, old, w)) {
			cJSON_Delete(w); /* re-rendered unchanged: skip the write path */
			rc = 0;
		} else {
			rc = upsert(c, wk, wns, wname, w, old, &stored);
		}
		if (rc < 0 && !old) {
			/* The namespace may have vanished under us: retry once. */
			smap_del(&c->namespaces, wns);
			if (ensure_namespace(c, wns) == 0) {
				cJSON *w2 = render_work(&in, NULL, err, sizeof err);
				if (w2)
					failover_inject_state(w2, next, cn);
				if (w2)
					rc = upsert(c, wk, wns, wname, w2, NULL, &stored);
			}
		}
		if (rc > 0) {
			synced++;
			const cJSON *a;
			cJSON_ArrayForEach(a, applied)
			{
				char msg[900];
				snprintf(msg, sizeof msg, "Apply override policy(%s) for cluster(%s) succeed.", a->valuestring, cn);
				event(c, tmpl, false, "ApplyOverridePolicySucceed", msg, C_BINDING, EVENT_BUMP);
			}
		}
		cJSON_Delete(applied);
		if (stored) {
			cJSON_Delete(old);
			old = NULL;
		}
		if (stored || old)
			cJSON_AddItemToArray(works, sync_dispatching(c, wk, stored ? stored : old, now_str(nowb, sizeof nowb)));
	}
	/* A cluster that lost its share loses its Work. */
	cJSON *kept = failover_works_kept(next, targets); /* and those under graceful eviction */
	synced += delete_works(c, kp.ns, kp.name, rkind, rname, rns, kept);
	cJSON_Delete(kept);
	char msg[900];
	if (sync_error) {
		event(c, b, true, "SyncWorkFailed", sync_error, C_BINDING, EVENT_BUMP);
		event(c, tmpl, true, "SyncWorkFailed", sync_error, C_BINDING, EVENT_BUMP);
	} else if (synced > 0) {
		if (cluster)
			snprintf(msg, sizeof msg, "Sync work of ClusterResourceBinding(%s) successful.", kp.name);
		else
			snprintf(msg, sizeof msg, "Sync work of ResourceBinding(%s/%s) successful.", kp.ns, kp.name);
		event(c, b, false, "SyncWorkSucceed", msg, C_BINDING, EVENT_BUMP);
		event(c, tmpl, false, "SyncWorkSucceed", msg, C_BINDING, EVENT_BUMP);
	}
	aggregate_binding(c, b, next, tmpl, works);
	cJSON_Delete(next);
	cJSON_Delete(works);
	cJSON_Delete(targets);
	cJSON_Delete(cops);
	cJSON_Delete(ops);
	c->self_binding = c->self_template = NULL;
	cJSON_Delete(tmpl);
	cJSON_Delete(b);
}

/* The scheduling stage alone ('S', queued for every binding when clusters
 * change): a binding whose placement must be recomputed gets its new
 * spec.clusters and Scheduled condition in one write, whose store event
 * queues the full pass ('B') that renders its Works; the rest go straight
 * to 'B'. Queued in front of the 'B' items they cause, so every binding
 * shows its new placement before the Works are rewritten, as Karmada's
 * scheduler runs ahead of its binding controller. */
static void schedule_key(struct controller *c, const char *key)
{
	struct key_parts kp;
	if (split_key(key, &kp) < 0)
		return;
	cJSON *b = get_key(c, key);
	const struct kind_info *tk;
	char tkey[1024];
	cJSON *tmpl = binding_template(c, b, &tk, tkey, sizeof tkey);
	if (!tmpl || !json_get(b, "spec.placement")) {
		enqueue(c, 'B', key); /* gone, orphaned or attached: the full pass decides */
		cJSON_Delete(tmpl);
		cJSON_Delete(b);
		return;
	}
	const cJSON *clusters = current_clusters(c);
	if (!needs_schedule(c, key, b, tmpl, clusters)) {
		enqueue(c, 'B', key);
	} else {
		const struct kind_info *bk = binding_kind(strcmp(kp.plural, "clusterresourcebindings") == 0);
		cJSON *next = json_dup(b);
		schedule_binding(c, key, next, tmpl, clusters);
		struct api_error e = {0};
		if (obj_update_cur(c->objs, bk, b, next, SUBRES_MAIN_AND_STATUS, NULL, &e) < 0) {
			log_warn("controller: cannot write %s %s/%s: %s", bk->kind, kp.ns, kp.name, e.message);
			api_error_clear(&e);
		}
		enqueue(c, 'B', key); /* also when the write was a no-op */
		cJSON_Delete(next);
	}
	cJSON_Delete(tmpl);
	cJSON_Delete(b);
}

static void aggregate_key(struct controller *c, const char *bkey)
{
	cJSON *b = get_key(c, bkey);
	if (!b)
		return;
	const struct kind_info *tk;
	char tkey[1024];
	cJSON *tmpl = binding_template(c, b, &tk, tkey, sizeof tkey);
	if (tmpl) {
		c->self_binding = bkey;
		c->self_template = tkey;
		cJSON *works = binding_works(c, b), *next = json_dup(b);
		aggregate_binding(c, b, next, tmpl, works);
		cJSON_Delete(next);
		cJSON_Delete(works);
		c->self_binding = c->self_template = NULL;
	} else
		enqueue(c, 'B', bkey);
	cJSON_Delete(tmpl);
	cJSON_Delete(b);
}

/* ---- other triggers ---------------------------------------------------------------- */

/* Work status changes (the agents' reports) are folded into their binding
 * at most once per AGGREGATE_COALESCE_MS: the N Works of a binding report
 * within a few milliseconds of each other, and each aggregation reads all
 * N, so one per report would cost O(N^2). Without a loop (tests), at once. */
static void on_aggregate_timer(evutil_socket_t fd, short what, void *arg)
{
	struct controller *c = arg;
	struct smap *m = &c->agg_pending;
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != (char *)m)
			enqueue(c, 'A', m->keys[i]);
	smap_free(m);
}

static void queue_aggregation(struct controller *c, const char *bkey)
{
	if (!c->agg_ev) {
		enqueue(c, 'A', bkey);
		return;
	}
	smap_put(&c->agg_pending, bkey, NULL);
	if (!evtimer_pending(c->agg_ev, NULL)) {
		struct timeval tv = {0, AGGREGATE_COALESCE_MS * 1000};
		evtimer_add(c->agg_ev, &tv);
	}
}

static void reconcile_work(struct controller *c, const char *key)
{
	cJSON *w = get_key(c, key);
	if (!w)
		return;
	if (mstr(w, "deletionTimestamp")) {
		/* karmada.io/execution-controller: the agent removes the member's
		 * objects once the Work is gone (docs/protocol.md). */
		finish_deletion(c, K("work.karmada.io", "v1alpha1", "Work"), w);
		cJSON_Delete(w);
		return;
	}
	char bkey[1024];
	if (work_binding_key(w, bkey, sizeof bkey)) {
		if (store_get(c->st, bkey, NULL, NULL) == STORE_OK) /* exists: no need to parse it here */
			queue_aggregation(c, bkey);
		else if (json_get(w, "metadata.annotations")) {
			/* An orphan: its binding is gone. */
			delete_obj(c, K("work.karmada.io", "v1alpha1", "Work"), mstr(w, "namespace"), mstr(w, "name"));
		}
	}
	cJSON_Delete(w);
}

static void enqueue_all_bindings(struct controller *c, char tag, const char *ns)
{
	char prefix[600];
	if (ns) {
		obj_key(prefix, sizeof prefix, binding_kind(false), ns, "");
		enqueue_prefix(c, tag, prefix);
		return;
	}
	enqueue_prefix(c, tag, "work.karmada.io/resourcebindings/");
	enqueue_prefix(c, tag, "work.karmada.io/clusterresourcebindings/");
}

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

static void reconcile_cluster(struct controller *c, const char *key)
{
	struct key_parts kp;
	if (split_key(key, &kp) < 0)
		return;
	char ens[300];
	render_exec_namespace(kp.name, ens, sizeof ens);
	cJSON *cl = get_key(c, key);
	if (!cl) {
		/* The execution namespace (and its Works) goes with the cluster. */
		smap_del(&c->clusters, kp.name);
		smap_del(&c->namespaces, ens);
		const struct kind_info *nk = K("", "v1", "Namespace");
		cJSON *ns = get_obj(c, nk, "", ens);
		if (ns)
			delete_obj(c, nk, "", ens);
		cJSON_Delete(ns);
		c->clusters_gen++;
		enqueue_all_bindings(c, 'S', NULL); /* scheduling first, Works after */
		return;
	}
	ensure_namespace(c, ens);
	char *fp = cluster_fingerprint(cl);
	bool found;
	const char *old = smap_get(&c->clusters, kp.name, &found);
	if (!found || !old || strcmp(old, fp) != 0) {
		smap_put(&c->clusters, kp.name, fp);
		c->clusters_gen++;
		enqueue_all_bindings(c, 'S', NULL); /* scheduling first, Works after */
	}
	free(fp);
	cJSON_Delete(cl);
}

/* Templates a policy may select: every propagatable kind in its namespace
 * (PropagationPolicy) or everywhere (ClusterPropagationPolicy). */
static void reconcile_policy(struct controller *c, const char *key)
{
	struct key_parts kp;
	if (split_key(key, &kp) < 0)
		return;
	bool cluster = strcmp(kp.plural, "clusterpropagationpolicies") == 0;
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		bool dup = false;
		for (int j = 0; j < i; j++) {
			const struct kind_info *o = kinds_at(j);
			dup |= strcmp(o->group, k->group) == 0 && strcmp(o->plural, k->plural) == 0;
		}
		char av[256];
		kind_api_version(k, av, sizeof av);
		if (dup || !detector_propagatable(av, k->kind, cluster ? "" : kp.ns))
			continue;
		if (!cluster && !k->namespaced)
			continue;
		char prefix[600];
		store_key(prefix, sizeof prefix, k->group, k->plural, cluster ? NULL : kp.ns, "");
		if (cluster) {
			/* "<group>/<plural>/" covers every namespace */
			char *p = strstr(prefix, "//");
			if (p)
				p[1] = '\0';
		}
		enqueue_prefix(c, 't', prefix); /* 't': a policy changed (activationPreference) */
	}
	/* karmada.io/propagation-policy-controller: a policy being deleted
	 * matches nothing (detector_policy_match), so the templates queued
	 * above lose its claim; it may go now. */
	cJSON *pol = get_key(c, key);
	if (pol && mstr(pol, "deletionTimestamp"))
		finish_deletion(c, K("policy.karmada.io", "v1alpha1", cluster ? "ClusterPropagationPolicy" : "PropagationPolicy"),
				pol);
	cJSON_Delete(pol);
}

static void reconcile_override(struct controller *c, const char *key)
{
	struct key_parts kp;
	if (split_key(key, &kp) < 0)
		return;
	bool cluster = strcmp(kp.plural, "clusteroverridepolicies") == 0;
	enqueue_all_bindings(c, 'B', cluster ? NULL : kp.ns);
	/* Policies waiting for it (dependentOverrides) apply now. */
	char prefix[600];
	const struct kind_info *pk = K("policy.karmada.io", "v1alpha1", cluster ? "ClusterPropagationPolicy" : "PropagationPolicy");
	obj_key(prefix, sizeof prefix, pk, cluster ? "" : kp.ns, "");
	cJSON *pols = list_prefix(c, prefix);
	const cJSON *p, *n;
	cJSON_ArrayForEach(p, pols)
	{
		cJSON_ArrayForEach(n, json_get(p, "spec.dependentOverrides"))
		{
			if (cJSON_IsString(n) && strcmp(n->valuestring, kp.name) == 0) {
				char pkey[1024];
				enqueue(c, 'P', obj_key(pkey, sizeof pkey, pk, cluster ? "" : kp.ns, mstr(p, "name")));
				break;
			}
		}
	}
	cJSON_Delete(pols);
}

/* ---- WorkloadRebalancer (Karmada's workload-rebalancer controller) ---------------- */

#define REBALANCER_PREFIX "apps.karmada.io/workloadrebalancers/"

static void on_rebalancer_timer(evutil_socket_t fd, short what, void *arg)
{
	struct controller *c = arg;
	c->rb_due = 0;
	enqueue_prefix(c, 'X', REBALANCER_PREFIX);
}

/* Look at every rebalancer again in secs seconds (the earliest asked wins). */
static void rebalancer_wake_in(struct controller *c, long long secs)
{
	if (!c->rb_ev)
		return;
	if (secs < 1)
		secs = 1;
	time_t due = time(NULL) + (time_t)secs;
	if (c->rb_due && c->rb_due <= due)
		return;
	c->rb_due = due;
	struct timeval tv = {(time_t)secs, 0};
	evtimer_add(c->rb_ev, &tv);
}

/* Sets spec.rescheduleTriggeredAt of each listed workload's binding to the
 * rebalancer's creationTimestamp (the scheduler then places it afresh),
 * records each result in status.observedWorkloads, stamps finishTime when
 * the status changes with nothing left to retry, and deletes the rebalancer
 * ttlSecondsAfterFinished after it finished. */
static void reconcile_rebalancer(struct controller *c, const char *key)
{
	const struct kind_info *rk = K("apps.karmada.io", "v1alpha1", "WorkloadRebalancer");
	cJSON *rb = rk ? get_key(c, key) : NULL;
	if (!rb || mstr(rb, "deletionTimestamp")) {
		cJSON_Delete(rb);
		return;
	}
	const char *created = mstr(rb, "creationTimestamp");
	cJSON *obs = rebalancer_observed(rb);
	int retry = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, obs) {
		if (json_get_str(it, "result"))
			continue; /* Successful or Failed already: done */
		const cJSON *w = json_get(it, "workload");
		const char *ns = json_get_str(w, "namespace");
		bool cluster = !ns || !*ns;
		char bname[600];
		render_binding_name(json_get_str(w, "kind"), json_get_str(w, "name"), bname, sizeof bname);
		const struct kind_info *bk = binding_kind(cluster);
		cJSON *b = get_obj(c, bk, cluster ? "" : ns, bname);
		if (!b) {
			json_set_str(it, "result", REBALANCE_FAILED);
			json_set_str(it, "reason", REBALANCE_BINDING_NOT_FOUND);
			continue;
		}
		if (rebalancer_needs_trigger(created, json_get_str(b, "spec.rescheduleTriggeredAt"))) {
			cJSON *next = json_dup(b);
			json_set_str(json_ensure_obj(next, "spec"), "rescheduleTriggeredAt", created ? created : "");
			if (upsert(c, bk, cluster ? "" : ns, bname, next, b, NULL) < 0) {
				retry++;
				cJSON_Delete(b);
				continue;
			}
		}
		json_set_str(it, "result", REBALANCE_SUCCESSFUL);
		cJSON_Delete(b);
	}
	cJSON *st = cJSON_CreateObject();
	cJSON_AddItemToObject(st, "observedWorkloads", obs);
	cJSON_AddNumberToObject(st, "observedGeneration", json_get_num(rb, "metadata.generation", 1));
	const char *fin = json_get_str(rb, "status.finishTime");
	if (fin)
		cJSON_AddStringToObject(st, "finishTime", fin);
	if (!json_equal(st, json_get(rb, "status")) && retry == 0) {
		char now[40];
		json_set_str(st, "finishTime", now_str(now, sizeof now));
	}
	cJSON *stored = NULL;
	if (write_status(c, rk, rb, st, &stored) < 0 || retry > 0) {
		rebalancer_wake_in(c, 1);
	} else if (stored) {
		long long left;
		if (rebalancer_ttl_left(stored, time(NULL), &left)) {
			if (left <= 0)
				delete_obj(c, rk, "", mstr(stored, "name") ? mstr(stored, "name") : "");
			else
				rebalancer_wake_in(c, left);
		}
	}
	cJSON_Delete(stored);
	cJSON_Delete(rb);
}

static void resync(struct controller *c)
{
	enqueue_prefix(c, 'X', REBALANCER_PREFIX);
	enqueue_prefix(c, 'C', "cluster.karmada.io/clusters/");
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		char av[256], prefix[600];
		kind_api_version(k, av, sizeof av);
		if (!detector_propagatable(av, k->kind, ""))
			continue;
		snprintf(prefix, sizeof prefix, "%s/%s/", k->group[0] ? k->group : "core", k->plural);
		enqueue_prefix(c, 'T', prefix);
	}
	enqueue_all_bindings(c, 'B', NULL);
}

/* ---- dispatch ----------------------------------------------------------------------- */

/* Safe point (nothing held): forget what the rolled-back batch taught us
 * and reconcile everything again from the store, as at start. */
static void recover_from_rollback(struct controller *c)
{
	c->rolled_back = false;
	smap_free(&c->outcome);
	smap_free(&c->clusters);
	smap_free(&c->namespaces);
	smap_free(&c->sched_memo);
	c->clusters_dirty = true;
	log_warn("controller: a batch of writes was rolled back; reconciling everything again");
}

static void process(struct controller *c, const char *item)
{
	if (c->rolled_back)
		recover_from_rollback(c);
	const char *key = item + 2;
	switch (item[0]) {
	case 'T': reconcile_template(c, key); break;
	case 't':
		c->policy_pass = true;
		reconcile_template(c, key);
		c->policy_pass = false;
		break;
	case 'S': schedule_key(c, key); break;
	case 'B': reconcile_binding(c, key); break;
	case 'A': aggregate_key(c, key); break;
	case 'W': reconcile_work(c, key); break;
	case 'C': reconcile_cluster(c, key); break;
	case 'P': reconcile_policy(c, key); break;
	case 'O': reconcile_override(c, key); break;
	case 'R': resync(c); break;
	case 'X': reconcile_rebalancer(c, key); break;
	default: break;
	}
}

int controller_run_pending(struct controller *c)
{
	int n = 0;
	char *item;
	while ((item = dequeue(c))) {
		process(c, item);
		free(item);
		n++;
	}
	flush_events(c, 0, false);
	return n;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drains a bounded slice of the queue, then lets the loop serve requests
 * before the next slice. */
static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct controller *c = arg;
	c->armed = false;
	long long deadline = mono_ms() + SLICE_MS;
	char *item;
	for (int n = 0; n < BATCH && (item = dequeue(c)); n++) {
		process(c, item);
		free(item);
		if (mono_ms() >= deadline)
			break;
	}
	if (c->qhead == c->qtail && !c->sq_n)
		flush_events(c, mono_ms() + SLICE_MS, false); /* idle: events now */
	else
		flush_events(c, mono_ms() + EVENT_AGED_SLICE_MS, true); /* busy: only old ones, briefly */
	if (c->qhead != c->qtail || c->sq_n || c->ev_count > 0)
		arm(c);
}

/* A binding deleted while its template exists comes back (Karmada's
 * detector requeues the template of a deleted binding). */
static void enqueue_binding_template(struct controller *c, const cJSON *b)
{
	const char *name = res_str(b, "name"), *ns = res_str(b, "namespace");
	const struct kind_info *tk = b ? kinds_find_apiversion_kind(res_str(b, "apiVersion"), res_str(b, "kind")) : NULL;
	char tkey[1024];
	if (tk && name[0])
		enqueue(c, 'T', obj_key(tkey, sizeof tkey, tk, ns, name));
}

/* The store callback: classify by key, queue, return. */
static void on_store_event(const struct store_event *ev, void *ud)
{
	struct controller *c = ud;
	struct key_parts kp;
	if (split_key(ev->key, &kp) < 0)
		return;
	const char *g = kp.group, *p = kp.plural;
	if (strcmp(g, "cluster.karmada.io") == 0) {
		if (strcmp(p, "clusters") == 0) {
			c->clusters_dirty = true;
			enqueue(c, 'C', ev->key);
		}
		return;
	}
	if (strcmp(g, "policy.karmada.io") == 0) {
		if (strcmp(p, "propagationpolicies") == 0 || strcmp(p, "clusterpropagationpolicies") == 0)
			enqueue(c, 'P', ev->key);
		else if (strcmp(p, "overridepolicies") == 0 || strcmp(p, "clusteroverridepolicies") == 0)
			enqueue(c, 'O', ev->key);
		return;
	}
	if (strcmp(g, "scheduling.k8s.io") == 0 && strcmp(p, "priorityclasses") == 0 && ev->type != STORE_DELETED &&
	    c->prio_waiting.n > 0) {
		/* Templates whose policy named this PriorityClass before it existed. */
		for (size_t i = 0; i < c->prio_waiting.cap; i++) {
			const char *tk = c->prio_waiting.keys[i];
			if (tk && tk != (char *)&c->prio_waiting && c->prio_waiting.vals[i] &&
			    strcmp(c->prio_waiting.vals[i], kp.name) == 0)
				enqueue(c, 'T', tk);
		}
	}
	if (strcmp(g, "apps.karmada.io") == 0 && strcmp(p, "workloadrebalancers") == 0) {
		if (ev->type != STORE_DELETED)
			enqueue(c, 'X', ev->key);
		return;
	}
	if (strcmp(g, "work.karmada.io") == 0) {
		if (strcmp(p, "resourcebindings") == 0 || strcmp(p, "clusterresourcebindings") == 0) {
			if (!c->self_binding || strcmp(ev->key, c->self_binding) != 0)
				enqueue(c, 'B', ev->key);
			if (ev->type == STORE_DELETED)
				enqueue_binding_template(c, store_event_value(ev));
		} else if (strcmp(p, "works") == 0 && !c->self_binding) {
			if (ev->type == STORE_DELETED) {
				/* The Work is gone: its binding may want it back. */
				const cJSON *w = store_event_value(ev);
				char bkey[1024];
				if (w && work_binding_key(w, bkey, sizeof bkey))
					enqueue(c, 'B', bkey);
			} else {
				enqueue(c, 'W', ev->key);
			}
		}
		return;
	}
	if (strcmp(g, "core") == 0 && (strcmp(p, "events") == 0 || strcmp(p, "nodes") == 0))
		return;
	if (strcmp(g, "core") == 0 && strcmp(p, "namespaces") == 0 &&
	    (strncmp(kp.name, "karmada-es-", 11) == 0 || strncmp(kp.name, "kube-", 5) == 0))
		return;
	if (strcmp(g, "coordination.k8s.io") == 0 || strcmp(g, "events.k8s.io") == 0)
		return;
	if (strcmp(kp.ns, "karmada-system") == 0 || strcmp(kp.ns, "karmada-cluster") == 0 ||
	    strncmp(kp.ns, "karmada-es-", 11) == 0 || strncmp(kp.ns, "kube-", 5) == 0)
		return;
	if (c->self_template && strcmp(ev->key, c->self_template) == 0)
		return;
	enqueue(c, 'T', ev->key);
}

static void on_rollback(struct store *s, void *ud)
{
	struct controller *c = ud;
	c->rolled_back = true; /* acted on at the next item: see recover_from_rollback */
	enqueue(c, 'R', "");
}

struct controller *controller_start(struct event_base *base, struct store *st, struct obj_ctx *objs)
{
	struct controller *c = calloc(1, sizeof *c);
	c->base = base;
	c->st = st;
	c->objs = objs;
	if (base) {
		c->ev = event_new(base, -1, 0, on_deferred, c);
		c->agg_ev = evtimer_new(base, on_aggregate_timer, c);
		c->rb_ev = evtimer_new(base, on_rebalancer_timer, c);
	}
	/* In-transaction: the controllers may act on writes not yet durable;
	 * their own writes join the same batch, and nothing they do is seen
	 * outside before its commit. */
	store_subscribe(st, on_store_event, c);
	store_subscribe_rollback(st, on_rollback, c);
	enqueue(c, 'R', "");
	return c;
}

void controller_set_policy_preemption(struct controller *c, bool on)
{
	if (c)
		c->policy_preemption = on;
}

void controller_set_priority_scheduling(struct controller *c, bool on)
{
	if (c)
		c->priority_scheduling = on;
}

void controller_stop(struct controller *c)
{
	if (!c)
		return;
	/* Unsubscribe: the store outlives us. */
	/* Queued events still go to the store (bounded: 2 s), in the batch the
	 * API server commits as it shuts down. */
	flush_events(c, mono_ms() + 2000, false);
	if (c->ev_count)
		log_warn("controller: %zu events not recorded at shutdown", c->ev_count);
	while (c->ev_count > 0) {
		free_event(&c->events[c->ev_head]);
		c->ev_head++;
		c->ev_count--;
	}
	free(c->events);
	store_unsubscribe(c->st, on_store_event, c);
	store_unsubscribe_rollback(c->st, on_rollback, c);
	if (c->ev)
		event_free(c->ev);
	if (c->agg_ev)
		event_free(c->agg_ev);
	if (c->rb_ev)
		event_free(c->rb_ev);
	smap_free(&c->agg_pending);
	char *item;
	while ((item = dequeue(c)))
		free(item);
	free(c->q);
	free(c->sq);
	smap_free(&c->sched_deferred);
	smap_free(&c->prio_waiting);
	smap_free(&c->queued);
	smap_free(&c->outcome);
	smap_free(&c->clusters);
	smap_free(&c->namespaces);
	smap_free(&c->sched_memo);
	nidx_free(&c->clusters_idx);
	free(c->unready);
	cJSON_Delete(c->clusters_cache);
	free(c);
}
