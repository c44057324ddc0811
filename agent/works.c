/* works.c — Works and their manifests in the member: apply (discovery,
 * namespace, take-over check, server-side apply), drift and deletion
 * handling, per-manifest status, and removal of what is no longer
 * assigned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubclient.h"
#include "jsonutil.h"
#include "memberapi.h"
#include "retry.h"
#include "watch.h"
#include "works.h"

static void slot_advance(struct slot *s);

/* ---- lookup ---- */

struct work *works_find(struct agent *ag, const char *name)
{
	for (struct work *w = ag->works; w; w = w->next)
		if (strcmp(w->name, name) == 0)
			return w;
	return NULL;
}

static void work_status_changed(struct work *w, struct agent *ag)
{
	w->status_seq++;
	hub_status_dirty(ag);
}

void works_slot_status_changed(struct slot *s)
{
	if (s->w)
		work_status_changed(s->w, s->ag);
}

/* ---- slots ---- */

static void slot_retry_fire(evutil_socket_t fd, short what, void *arg)
{
	works_slot_queue(arg);
}

static void slot_destroy(struct slot *s)
{
	if (s->retry_ev)
		event_free(s->retry_ev);
	cJSON_Delete(s->manifest);
	free(s->desired);
	free(s->err);
	cJSON_Delete(s->status);
	cJSON_Delete(s->dropped);
	cJSON_Delete(s->collected);
	free(s);
}

/* The Work no longer wants this slot: free it now or when its request ends. */
static void slot_orphan(struct slot *s)
{
	s->w = NULL;
	if (s->retry_ev)
		event_del(s->retry_ev);
	if (s->st == S_IDLE)
		slot_destroy(s);
	/* S_QUEUED: freed when dequeued; S_BUSY: freed when its call ends. */
}

void works_slot_queue(struct slot *s)
{
	if (!s->w || s->ag->stopping)
		return;
	if (s->st == S_BUSY) {
		s->again = true;
		return;
	}
	if (s->st == S_QUEUED)
		return;
	if (s->retry_ev)
		event_del(s->retry_ev);
	struct agent *ag = s->ag;
	s->st = S_QUEUED;
	s->qnext = NULL;
	if (ag->q_tail)
		ag->q_tail->qnext = s;
	else
		ag->q_head = s;
	ag->q_tail = s;
	works_dispatch(ag);
}

static void slot_finish(struct slot *s)
{
	struct agent *ag = s->ag;
	ag->busy--;
	s->st = S_IDLE;
	if (!s->w) {
		slot_destroy(s);
	} else if (s->again) {
		s->again = false;
		works_slot_queue(s);
	}
	works_dispatch(ag);
}

/* Reflects the object's state unless a later one is already reflected
 * (the answer to an apply and the watch are two connections, so their
 * order of arrival is not the order of the states). Returns false then. */
static bool slot_update_live(struct slot *s, const cJSON *live, enum member_source src)
{
	const char *rv = json_get_str(live, "metadata.resourceVersion");
	if (s->live_seen && !member_state_newer(s->live_rv, s->live_src, rv, src)) {
		log_kv(LOG_DEBUG, "ignoring an older state of a member object", "kind", s->id.kind, "namespace",
		       s->id.ns, "name", s->id.name, "resourceVersion", rv ? rv : "", "have", s->live_rv, NULL);
		return false;
	}
	snprintf(s->live_rv, sizeof s->live_rv, "%s", rv ? rv : "");
	s->live_src = src;
	cJSON *st = member_reflect_status(live);
	const char *h = member_health(live);
	bool same = s->live_seen && s->health == h &&
		    ((!st && !s->status) || (st && s->status && json_equal(st, s->status)));
	cJSON_Delete(s->status);
	s->status = st;
	s->health = h;
	s->live_seen = true;
	if (!same && s->w)
		work_status_changed(s->w, s->ag);
	return true;
}

/* A CustomResourceDefinition was applied: manifests that failed because the
 * member did not serve their kind yet are tried again now, not at the end
 * of their backoff (a CRD and its custom resources propagate together). */
static void retry_unserved(struct agent *ag)
{
	for (struct work *w = ag->works; w; w = w->next)
		for (int i = 0; i < w->nslots; i++) {
			struct slot *o = w->slots[i];
			if (o->done && !o->ok && !o->gvr && o->st == S_IDLE)
				works_slot_queue(o);
		}
}

static void slot_succeed(struct slot *s, const cJSON *live)
{
	s->done = true;
	s->ok = true;
	free(s->err);
	s->err = NULL;
	backoff_reset(&s->bo);
	if (live)
		slot_update_live(s, live, MEMBER_FROM_ANSWER);
	if (s->w)
		work_status_changed(s->w, s->ag);
	bool crd = strcmp(s->id.kind, "CustomResourceDefinition") == 0 && strcmp(s->id.group, "apiextensions.k8s.io") == 0;
	struct agent *ag = s->ag;
	slot_finish(s);
	if (crd)
		retry_unserved(ag);
}

static void slot_fail(struct slot *s, const char *msg)
{
	bool changed = !s->done || s->ok || !s->err || strcmp(s->err, msg) != 0;
	s->done = true;
	s->ok = false;
	if (changed) {
		free(s->err);
		s->err = strdup(msg);
	}
	if (changed)
		log_kv(LOG_WARN, "cannot apply a manifest", "work", s->w ? s->w->name : "-", "kind", s->id.kind,
		       "namespace", s->id.ns, "name", s->id.name, "error", msg, NULL);
	if (s->w) {
		if (changed)
			work_status_changed(s->w, s->ag);
		if (!s->retry_ev)
			s->retry_ev = evtimer_new(s->ag->base, slot_retry_fire, s);
		retry_later(s->retry_ev, &s->bo);
	}
	slot_finish(s);
}

static void slot_http_done(const struct http_response *r, void *ud);

/* The schema fetch in flight ended: the slots waiting for it go on (each
 * finds the document cached, or starts the next fetch). */
static void schema_fetch_done(struct agent *ag)
{
	ag->schema_fetching = false;
	struct slot *w = ag->schema_waiters, *next;
	ag->schema_waiters = NULL;
	for (; w; w = next) {
		next = w->wnext;
		w->wnext = NULL;
		if (!w->w)
			slot_finish(w);
		else
			slot_advance(w);
	}
}

/* A slot's call ended without an answer (client freed at exit). */
static void slot_cleanup(void *ud)
{
	struct slot *s = ud;
	s->call = NULL;
	if (!s->w)
		slot_destroy(s);
}

static void slot_request(struct slot *s, const char *method, const char *path, const char *ctype, const char *body)
{
	s->call = member_call(s->ag, method, path, ctype, body, 30000, slot_http_done, slot_cleanup, s);
	if (!s->call)
		slot_fail(s, "cannot start a request to the member");
}

static void slot_http_done(const struct http_response *r, void *ud)
{
	struct slot *s = ud;
	struct agent *ag = s->ag;
	s->call = NULL;
	if (s->step == ST_SCHEMA) {
		/* The member's schema is the agent's, whatever became of this
		 * slot's Work. */
		mschema_answer(ag, s->id.group, s->id.version, s->schema_path, r->status, r->body, r->len);
		schema_fetch_done(ag);
		if (!s->w)
			slot_finish(s);
		else
			slot_advance(s);
		return;
	}
	if (!s->w) {
		slot_finish(s);
		return;
	}
	char m[1024], msg[1200];
	switch (s->step) {
	case ST_SCHEMA:
		break; /* handled above */
	case ST_DISCOVER:
		if (r->status == 200) {
			cJSON *j = cJSON_ParseWithLength(r->body, r->len);
			if (j && cJSON_IsArray(json_get(j, "resources"))) {
				watch_gv_store(ag, s->id.group, s->id.version, j);
				cJSON_Delete(j);
				slot_advance(s);
				return;
			}
			cJSON_Delete(j);
			slot_fail(s, "the member's discovery document is not an APIResourceList");
			return;
		}
		if (r->status == 404)
			snprintf(msg, sizeof msg, "the member does not serve %s%s%s", s->id.group,
				 s->id.group[0] ? "/" : "", s->id.version);
		else
			snprintf(msg, sizeof msg, "discovery of %s/%s failed: %s", s->id.group, s->id.version,
				 member_response_message(r, m, sizeof m));
		slot_fail(s, msg);
		return;
	case ST_NS_GET:
		if (r->status == 200) {
			watch_ns_remember(ag, s->id.ns);
			s->step = ST_GET;
		} else if (r->status == 404) {
			s->step = ST_NS_CREATE;
		} else {
			snprintf(msg, sizeof msg, "cannot read namespace %s: %s", s->id.ns, member_response_message(r, m, sizeof m));
			slot_fail(s, msg);
			return;
		}
		slot_advance(s);
		return;
	case ST_NS_CREATE:
		if (r->status == 200 || r->status == 201 || r->status == 409) {
			if (r->status != 409)
				log_kv(LOG_INFO, "created namespace", "namespace", s->id.ns, NULL);
			watch_ns_remember(ag, s->id.ns);
			s->step = ST_GET;
			slot_advance(s);
			return;
		}
		snprintf(msg, sizeof msg, "cannot create namespace %s: %s", s->id.ns, member_response_message(r, m, sizeof m));
		slot_fail(s, msg);
		return;
	case ST_GET:
		if (r->status == 404) {
			s->force = false;
			s->step = ST_APPLY;
			slot_advance(s);
			return;
		}
		if (r->status == 200) {
			cJSON *live = cJSON_ParseWithLength(r->body, r->len);
			cJSON *desired = cJSON_Parse(s->desired);
			enum member_takeover t = member_may_take_over(live, desired);
			cJSON_Delete(desired);
			cJSON_Delete(live);
			if (t == TAKEOVER_REFUSE) {
				member_conflict_message(&s->id, ag->cfg.cluster, msg, sizeof msg);
				slot_fail(s, msg);
				return;
			}
			if (t == TAKEOVER_FORCE)
				log_kv(LOG_INFO, "taking over an existing object (conflict-resolution overwrite)", "kind",
				       s->id.kind, "namespace", s->id.ns, "name", s->id.name, NULL);
			s->force = t == TAKEOVER_FORCE;
			s->step = ST_APPLY;
			slot_advance(s);
			return;
		}
		snprintf(msg, sizeof msg, "cannot read %s %s/%s: %s", s->id.kind, s->id.ns, s->id.name,
			 member_response_message(r, m, sizeof m));
		slot_fail(s, msg);
		return;
	case ST_APPLY:
		if (r->status == 200 || r->status == 201) {
			cJSON *live = cJSON_ParseWithLength(r->body, r->len);
			log_kv(LOG_DEBUG, r->status == 201 ? "created" : "applied", "kind", s->id.kind, "namespace", s->id.ns,
			       "name", s->id.name, NULL);
			slot_succeed(s, live);
			cJSON_Delete(live);
			return;
		}
		if (r->status == 409 && !s->force) {
			/* A field conflict on an object we own: another manager
			 * changed what the Work sets. The Work is authoritative
			 * for the fields it sets (Karmada updates the whole
			 * object), so apply again with force. */
			log_kv(LOG_INFO, "reverting fields another manager changed", "kind", s->id.kind, "namespace",
			       s->id.ns, "name", s->id.name, "conflict", member_response_message(r, m, sizeof m), NULL);
			s->force = true;
			slot_advance(s);
			return;
		}
		if (r->status == 404 && s->gvr && s->gvr->namespaced && s->id.ns[0]) {
			/* The namespace went away under us. */
			for (int i = 0; i < ag->nknown_ns; i++)
				if (strcmp(ag->known_ns[i], s->id.ns) == 0)
					ag->known_ns[i][0] = '\0';
		}
		snprintf(msg, sizeof msg, "%s", member_response_message(r, m, sizeof m));
		slot_fail(s, msg);
		return;
	}
}

/* Leaves out of the desired object what the member's schema does not
 * declare (a member on an older Kubernetes version), and remembers which
 * fields those were for the Work's status. */
static void slot_prune(struct slot *s)
{
	cJSON *d = cJSON_Parse(s->desired), *dropped = cJSON_CreateArray();
	int n = d ? mschema_prune(s->ag, s->id.group, s->id.version, s->id.kind, d, dropped) : -1;
	if (n >= 0)
		s->pruned = true;
	if (n > 0) {
		char *text = json_print(d);
		if (text) {
			free(s->desired);
			s->desired = text;
		}
		char *list = cJSON_PrintUnformatted(dropped);
		log_kv(LOG_WARN, "the member does not know fields of a manifest: applying without them", "kind",
		       s->id.kind, "namespace", s->id.ns, "name", s->id.name, "fields", list ? list : "?", NULL);
		free(list);
	}
	if (n >= 0 && !((n == 0 && !s->dropped) || (n > 0 && s->dropped && json_equal(dropped, s->dropped)))) {
		cJSON_Delete(s->dropped);
		s->dropped = n > 0 ? dropped : NULL;
		if (n > 0)
			dropped = NULL;
		if (s->w)
			work_status_changed(s->w, s->ag);
	}
	cJSON_Delete(dropped);
	cJSON_Delete(d);
}

/* Runs the slot's steps until one needs the member. */
static void slot_advance(struct slot *s)
{
	struct agent *ag = s->ag;
	char path[1200], msg[600];
	for (;;) {
		switch (s->step) {
		case ST_DISCOVER:
			if (!s->gvr) {
				struct gv *gv = watch_gv_find(ag, s->id.group, s->id.version);
				if (!gv) {
					if (s->id.group[0])
						snprintf(path, sizeof path, "/apis/%s/%s", s->id.group, s->id.version);
					else
						snprintf(path, sizeof path, "/api/%s", s->id.version);
					slot_request(s, "GET", path, NULL, NULL);
					return;
				}
				s->gvr = watch_gvr_for_kind(ag, gv, s->id.kind);
				if (!s->gvr) {
					snprintf(msg, sizeof msg, "the member serves no resource of kind %s in %s%s%s",
						 s->id.kind, s->id.group, s->id.group[0] ? "/" : "", s->id.version);
					/* Ask discovery again on the retry: a CRD may add it. */
					watch_gv_forget(ag, gv);
					slot_fail(s, msg);
					return;
				}
			}
			if (!s->desired) {
				cJSON *d = member_desired(s->manifest, s->w->obj, s->gvr->namespaced);
				const char *ns = json_get_str(d, "metadata.namespace");
				snprintf(s->id.ns, sizeof s->id.ns, "%s", ns ? ns : "");
				s->desired = json_print(d);
				cJSON_Delete(d);
				/* The stamped text is all that is needed from now on. */
				cJSON_Delete(s->manifest);
				s->manifest = NULL;
			}
			if (!s->pruned) {
				s->schema_reqs = 0;
				s->step = ST_SCHEMA;
				continue;
			}
			s->step = (s->gvr->namespaced && !watch_ns_known(ag, s->id.ns)) ? ST_NS_GET : ST_GET;
			continue;
		case ST_SCHEMA: {
			/* The member's schema for this group-version, fetched once
			 * (a few tries at most per attempt; without it the manifest
			 * goes unfiltered). */
			const char *p = s->schema_reqs < 4 ? mschema_next(ag, s->id.group, s->id.version, s->schema_path,
									  sizeof s->schema_path)
							   : NULL;
			if (p && ag->schema_fetching) {
				/* Fetched once: wait for the fetch in flight. */
				s->wnext = ag->schema_waiters;
				ag->schema_waiters = s;
				return;
			}
			if (p) {
				s->schema_reqs++;
				ag->schema_fetching = true;
				slot_request(s, "GET", p, NULL, NULL);
				if (!s->call)
					schema_fetch_done(ag);
				return;
			}
			slot_prune(s);
			s->step = (s->gvr->namespaced && !watch_ns_known(ag, s->id.ns)) ? ST_NS_GET : ST_GET;
			continue;
		}
		case ST_NS_GET:
			snprintf(path, sizeof path, "/api/v1/namespaces/%s", s->id.ns);
			slot_request(s, "GET", path, NULL, NULL);
			return;
		case ST_NS_CREATE: {
			char body[400];
			snprintf(body, sizeof body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
				 s->id.ns);
			slot_request(s, "POST", "/api/v1/namespaces", "application/json", body);
			return;
		}
		case ST_GET:
			if (watch_owned_find(s->gvr, s->id.ns, s->id.name)) {
				/* Ours per the watch: no need to look before applying. */
				s->force = false;
				s->step = ST_APPLY;
				continue;
			}
			watch_gvr_path(s->gvr, s->id.ns, s->id.name, path, sizeof path);
			slot_request(s, "GET", path, NULL, NULL);
			return;
		case ST_APPLY: {
			watch_gvr_path(s->gvr, s->id.ns, s->id.name, path, sizeof path);
			size_t n = strlen(path);
			snprintf(path + n, sizeof path - n, "?fieldManager=%s%s", FIELD_MANAGER, s->force ? "&force=true" : "");
			slot_request(s, "PATCH", path, "application/apply-patch+yaml", s->desired);
			return;
		}
		}
	}
}

static void slot_start(struct slot *s)
{
	s->step = ST_DISCOVER;
	s->force = false;
	slot_advance(s);
}

static void dispatch_run(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	while (ag->hub_ok && !ag->member_down && ag->q_head && ag->busy < ag->cfg.max_inflight && !ag->stopping) {
		struct slot *s = ag->q_head;
		ag->q_head = s->qnext;
		if (!ag->q_head)
			ag->q_tail = NULL;
		s->qnext = NULL;
		if (!s->w) {
			slot_destroy(s);
			continue;
		}
		s->st = S_BUSY;
		s->again = false;
		ag->busy++;
		slot_start(s);
	}
}

void works_dispatch(struct agent *ag)
{
	if (!ag->dispatch_ev)
		ag->dispatch_ev = event_new(ag->base, -1, 0, dispatch_run, ag);
	event_active(ag->dispatch_ev, EV_TIMEOUT, 0);
}

/* ---- works ---- */

static void work_drop_slots(struct work *w)
{
	for (int i = 0; i < w->nslots; i++)
		slot_orphan(w->slots[i]);
	free(w->slots);
	w->slots = NULL;
	w->nslots = 0;
}

static void work_free(struct work *w)
{
	work_drop_slots(w);
	cJSON_Delete(w->obj);
	free(w);
}

static void work_remove(struct agent *ag, const char *name)
{
	struct work **pp = &ag->works;
	while (*pp && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	struct work *w = *pp;
	*pp = w->next;
	ag->nworks--;
	log_kv(LOG_INFO, w->preserve ? "work removed; its objects stay in the member" : "work removed", "work", name,
	       NULL);
	if (w->preserve) {
		ag->released = realloc(ag->released, (size_t)(ag->nreleased + 1) * sizeof *ag->released);
		ag->released[ag->nreleased++] = strdup(w->name);
	}
	work_free(w);
	works_gc_schedule(ag);
}

/* What the agent keeps of a Work: its metadata (name, namespace, uid,
 * generation, labels: the stamps) and the identity of each manifest (what
 * may stay in the member). The manifests themselves live in the slots. */
static cJSON *work_trim(const cJSON *obj)
{
	cJSON *t = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(t, "metadata");
	static const char *const keep[] = {"name", "namespace", "uid", "generation", "labels", NULL};
	for (int i = 0; keep[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata"), keep[i]);
		if (v)
			cJSON_AddItemToObject(md, keep[i], json_dup(v));
	}
	cJSON *ms = cJSON_AddArrayToObject(json_ensure_obj(t, "spec.workload"), "manifests");
	const cJSON *m;
	cJSON_ArrayForEach(m, json_get(obj, "spec.workload.manifests")) {
		cJSON *id = cJSON_CreateObject();
		static const char *const top[] = {"apiVersion", "kind", NULL};
		for (int i = 0; top[i]; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, top[i]);
			if (v)
				cJSON_AddItemToObject(id, top[i], json_dup(v));
		}
		cJSON *imd = cJSON_AddObjectToObject(id, "metadata");
		const char *n = json_get_str(m, "metadata.name"), *ns = json_get_str(m, "metadata.namespace");
		if (n)
			cJSON_AddStringToObject(imd, "name", n);
		if (ns)
			cJSON_AddStringToObject(imd, "namespace", ns);
		cJSON_AddItemToArray(ms, id);
	}
	return t;
}

static void work_upsert(struct agent *ag, const cJSON *obj)
{
	const char *name = json_get_str(obj, "metadata.name");
	const char *uid = json_get_str(obj, "metadata.uid");
	long long gen = (long long)json_get_num(obj, "metadata.generation", 0);
	struct work *w = works_find(ag, name);
	if (w && strcmp(w->uid, uid ? uid : "") == 0 && w->generation == gen) {
		cJSON_Delete(w->obj);
		w->obj = work_trim(obj);
		w->seen = true;
		w->preserve = cJSON_IsTrue(json_get(obj, "spec.preserveResourcesOnDeletion"));
		return;
	}
	if (cJSON_IsTrue(json_get(obj, "spec.suspendDispatching"))) {
		/* Karmada's suspendDispatching: nothing of this version reaches the
		 * member; what an earlier version applied stays as it is (and is
		 * still reported as that version's) until the Work is resumed. */
		if (!w) {
			w = calloc(1, sizeof *w);
			snprintf(w->name, sizeof w->name, "%s", name);
			snprintf(w->uid, sizeof w->uid, "%s", uid ? uid : "");
			w->obj = work_trim(obj);
			w->next = ag->works;
			ag->works = w;
			ag->nworks++;
		}
		if (!w->suspended)
			log_kv(LOG_INFO, "work dispatching suspended", "work", name, NULL);
		w->suspended = true;
		w->seen = true;
		w->preserve = cJSON_IsTrue(json_get(obj, "spec.preserveResourcesOnDeletion"));
		return;
	}
	if (w)
		w->suspended = false;
	if (!w) {
		w = calloc(1, sizeof *w);
		snprintf(w->name, sizeof w->name, "%s", name);
		w->next = ag->works;
		ag->works = w;
		ag->nworks++;
		w->status_seq = 1;
	} else {
		work_drop_slots(w);
		cJSON_Delete(w->obj);
		w->status_seq++;
	}
	snprintf(w->uid, sizeof w->uid, "%s", uid ? uid : "");
	w->generation = gen;
	w->obj = work_trim(obj);
	w->seen = true;
	w->preserve = cJSON_IsTrue(json_get(obj, "spec.preserveResourcesOnDeletion"));
	/* A Work of that name is back: its objects are managed again. */
	for (int i = 0; i < ag->nreleased; i++)
		if (strcmp(ag->released[i], name) == 0) {
			free(ag->released[i]);
			ag->released[i] = ag->released[--ag->nreleased];
			break;
		}
	const cJSON *ms = json_get(obj, "spec.workload.manifests");
	int n = cJSON_GetArraySize(ms);
	w->slots = calloc((size_t)(n ? n : 1), sizeof *w->slots);
	char nm[16];
	snprintf(nm, sizeof nm, "%d", n);
	log_kv(LOG_INFO, "work changed", "work", name, "manifests", nm, NULL);
	const cJSON *m;
	int i = 0;
	cJSON_ArrayForEach(m, ms) {
		struct slot *s = calloc(1, sizeof *s);
		s->ag = ag;
		s->w = w;
		s->ordinal = i;
		s->manifest = json_dup(m);
		backoff_init_policy(&s->bo, 0);
		w->slots[w->nslots++] = s;
		if (member_ident_of(m, &s->id) < 0) {
			s->done = true;
			char e[96];
			snprintf(e, sizeof e, "manifest %d has no apiVersion, kind or metadata.name", i);
			s->err = strdup(e);
		} else {
			works_slot_queue(s);
		}
		i++;
	}
	if (n == 0)
		work_status_changed(w, ag);
}

void works_apply_events(struct agent *ag, const cJSON *events, bool full)
{
	if (full)
		for (struct work *w = ag->works; w; w = w->next)
			w->seen = false;
	const cJSON *ev;
	cJSON_ArrayForEach(ev, events) {
		const char *type = json_get_str(ev, "type");
		const cJSON *obj = json_get(ev, "object");
		const char *name = json_get_str(obj, "metadata.name");
		if (!type || !name)
			continue;
		if (strcmp(type, "DELETED") == 0) {
			struct work *w = works_find(ag, name);
			if (w)
				w->preserve = cJSON_IsTrue(json_get(obj, "spec.preserveResourcesOnDeletion"));
			work_remove(ag, name);
		}
		else
			work_upsert(ag, obj);
	}
	if (full) {
		struct work *w = ag->works, *next;
		for (; w; w = next) {
			next = w->next;
			if (!w->seen)
				work_remove(ag, w->name);
		}
	}
}

bool works_status_of(struct work *w, struct proto_work_status *out)
{
	memset(out, 0, sizeof *out);
	const char **errs = calloc((size_t)w->nslots + 1, sizeof *errs);
	int nerr = 0, nok = 0;
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = w->slots[i];
		if (!s->done) {
			free(errs);
			return false;
		}
		if (s->ok)
			nok++;
		else
			errs[nerr++] = s->err ? s->err : "failed";
	}
	snprintf(out->name, sizeof out->name, "%s", w->name);
	out->generation = w->generation;
	member_applied_condition(w->nslots, nok, errs, &out->applied, out->reason, sizeof out->reason, out->message,
				 sizeof out->message);
	free(errs);
	out->manifest_statuses = cJSON_CreateArray();
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = w->slots[i];
		if (!s->live_seen)
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON *id = cJSON_AddObjectToObject(e, "identifier");
		cJSON_AddNumberToObject(id, "ordinal", s->ordinal);
		cJSON_AddStringToObject(id, "group", s->id.group);
		cJSON_AddStringToObject(id, "version", s->id.version);
		cJSON_AddStringToObject(id, "kind", s->id.kind);
		cJSON_AddStringToObject(id, "resource", s->gvr ? s->gvr->resource : "");
		cJSON_AddStringToObject(id, "namespace", s->id.ns);
		cJSON_AddStringToObject(id, "name", s->id.name);
		if (s->status)
			cJSON_AddItemToObject(e, "status", json_dup(s->status));
		cJSON_AddStringToObject(e, "health", s->health ? s->health : "Unknown");
		if (s->dropped)
			/* Fields the member's Kubernetes version does not know,
			 * left out when applying (docs/protocol.md). */
			cJSON_AddItemToObject(e, "droppedFields", json_dup(s->dropped));
		if (s->collected)
			/* ServiceExport: the member's EndpointSlices (epcollect.c) */
			cJSON_AddItemToObject(e, "collectedEndpoints", json_dup(s->collected));
		cJSON_AddItemToArray(out->manifest_statuses, e);
	}
	return true;
}

/* ---- member events ---- */

static struct slot *slot_for(struct agent *ag, struct gvr *g, const char *work_name, const char *ns, const char *name)
{
	struct work *w = work_name ? works_find(ag, work_name) : NULL;
	for (int i = 0; w && i < w->nslots; i++) {
		struct slot *s = w->slots[i];
		if (s->gvr == g && strcmp(s->id.ns, ns) == 0 && strcmp(s->id.name, name) == 0)
			return s;
	}
	return NULL;
}

void works_member_deleted(struct agent *ag, struct gvr *g, const char *ns, const char *name, const char *work_name)
{
	struct slot *s = slot_for(ag, g, work_name, ns, name);
	if (!s)
		return;
	if (s->live_seen) {
		s->live_seen = false;
		cJSON_Delete(s->status);
		s->status = NULL;
		work_status_changed(s->w, ag);
	}
	if (s->done && s->ok && s->st == S_IDLE) {
		log_kv(LOG_INFO, "recreating an object deleted in the member", "kind", s->id.kind, "namespace", ns, "name",
		       name, NULL);
		works_slot_queue(s);
	}
}

void works_member_event(struct agent *ag, struct gvr *g, const char *type, const cJSON *obj)
{
	const char *ns = json_get_str(obj, "metadata.namespace");
	const char *name = json_get_str(obj, "metadata.name");
	const char *wname = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.annotations"), WORK_NAME_ANN));
	if (!name)
		return;
	if (strcmp(type, "DELETED") == 0) {
		works_member_deleted(ag, g, ns ? ns : "", name, wname);
		return;
	}
	struct slot *s = slot_for(ag, g, wname, ns ? ns : "", name);
	if (!s) {
		works_gc_schedule(ag);
		return;
	}
	/* An older state than the one reflected is no drift: a later one is known. */
	if (slot_update_live(s, obj, MEMBER_FROM_WATCH) && s->done && s->ok && s->st == S_IDLE && s->desired) {
		cJSON *desired = cJSON_Parse(s->desired);
		if (desired && member_drifted(desired, obj)) {
			log_kv(LOG_INFO, "reverting drift in the member", "kind", s->id.kind, "namespace", s->id.ns,
			       "name", s->id.name, NULL);
			works_slot_queue(s);
		}
		cJSON_Delete(desired);
	}
}

/* ---- deletion of what is no longer assigned ---- */

struct del_ctx {
	struct agent *ag;
	struct gvr *g;
	bool release;
	char ns[254], name[254];
};

static bool released(struct agent *ag, const char *work)
{
	for (int i = 0; i < ag->nreleased; i++)
		if (strcmp(ag->released[i], work) == 0)
			return true;
	return false;
}

/* A deletion (or release) that failed is retried by a later gc_run once
 * the object's backoff says it is due: its own timer would be one per
 * object; one timer for the earliest due one does. */
static void delete_failed(struct agent *ag, struct owned *o)
{
	if (o) {
		o->deleting = false;
		backoff_fail_at(&o->bo, backoff_now_ms());
	}
	works_gc_schedule(ag);
}

static void delete_done(const struct http_response *r, void *ud)
{
	struct del_ctx *d = ud;
	d->ag->deletes_inflight--;
	struct owned *o = watch_owned_find(d->g, d->ns, d->name);
	if (r->status == 200 || r->status == 202 || r->status == 404) {
		log_kv(LOG_INFO, d->release ? "released an object whose Work is gone (preserveResourcesOnDeletion)"
					    : "deleted an object whose Work is gone",
		       "resource", d->g->resource, "namespace", d->ns, "name", d->name, NULL);
		if (o)
			backoff_reset(&o->bo);
	} else {
		char m[256];
		log_kv(LOG_WARN, d->release ? "cannot release an object whose Work is gone; retrying"
					    : "cannot delete an object whose Work is gone; retrying",
		       "resource", d->g->resource, "namespace", d->ns, "name", d->name, "error",
		       member_response_message(r, m, sizeof m), NULL);
		delete_failed(d->ag, o);
	}
	free(d);
}

static void gc_timer_fire(evutil_socket_t fd, short what, void *arg)
{
	works_gc_schedule(arg);
}

static void gc_run(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	/* Nothing is deleted before the hub's current list and complete lists
	 * of the owned objects are in hand, nor while the hub is away. */
	if (!ag->hub_ok || !ag->hub_synced || !watch_gvrs_synced(ag) || ag->stopping || ag->member_down)
		return;
	uint64_t now = backoff_now_ms(), next_due = 0;
	for (struct gvr *g = ag->gvrs; g; g = g->next) {
		for (struct owned *o = g->owned; o; o = o->next) {
			if (o->deleting)
				continue;
			if (!backoff_due(&o->bo, now)) {
				/* Failed before: retried when due (checked below). */
				if (!next_due || o->bo.due_ms < next_due)
					next_due = o->bo.due_ms;
				continue;
			}
			cJSON *mini = cJSON_CreateObject();
			char av[200];
			snprintf(av, sizeof av, "%s%s%s", g->group, g->group[0] ? "/" : "", g->version);
			cJSON_AddStringToObject(mini, "apiVersion", av);
			cJSON_AddStringToObject(mini, "kind", g->kind);
			cJSON *md = cJSON_AddObjectToObject(mini, "metadata");
			cJSON_AddStringToObject(md, "name", o->name);
			if (o->ns[0])
				cJSON_AddStringToObject(md, "namespace", o->ns);
			cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"), MANAGED_LABEL, "true");
			cJSON *an = cJSON_AddObjectToObject(md, "annotations");
			cJSON_AddStringToObject(an, WORK_NAMESPACE_ANN, ag->exec_ns);
			cJSON_AddStringToObject(an, WORK_NAME_ANN, o->work_name);
			struct work *w = works_find(ag, o->work_name);
			bool del = member_should_delete(mini, w ? w->obj : NULL, ag->exec_ns);
			cJSON_Delete(mini);
			if (!del)
				continue;
			struct del_ctx *d = calloc(1, sizeof *d);
			d->ag = ag;
			d->g = g;
			snprintf(d->ns, sizeof d->ns, "%s", o->ns);
			snprintf(d->name, sizeof d->name, "%s", o->name);
			char path[1200], body[300];
			watch_gvr_path(g, o->ns, o->name, path, sizeof path);
			d->release = !w && released(ag, o->work_name);
			struct http_call *call;
			o->deleting = true;
			ag->deletes_inflight++;
			if (d->release) {
				cJSON *patch = member_release_patch();
				char *pbody = json_print(patch);
				cJSON_Delete(patch);
				call = member_call(ag, "PATCH", path, "application/merge-patch+json", pbody, 30000, delete_done,
						   free, d);
				free(pbody);
			} else {
				snprintf(body, sizeof body,
					 "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\",\"propagationPolicy\":\"Background\",\"preconditions\":{\"uid\":\"%s\"}}",
					 o->uid);
				call = member_call(ag, "DELETE", path, "application/json", body, 30000, delete_done, free, d);
			}
			if (!call) {
				ag->deletes_inflight--;
				free(d);
				o->deleting = false;
				uint64_t due = backoff_fail_at(&o->bo, now);
				if (!next_due || due < next_due)
					next_due = due;
			}
		}
	}
	if (next_due) {
		/* An object not due yet may still be deleted by then (another
		 * answer, a Work back): the sweep then finds nothing to do. */
		if (!ag->gc_timer_ev)
			ag->gc_timer_ev = evtimer_new(ag->base, gc_timer_fire, ag);
		uint64_t ms = next_due > now ? next_due - now : 0;
		struct timeval tv = {(long)(ms / 1000), (long)(ms % 1000) * 1000};
		event_add(ag->gc_timer_ev, &tv);
	}
}

void works_member_back(struct agent *ag)
{
	for (struct work *w = ag->works; w; w = w->next)
		for (int i = 0; i < w->nslots; i++) {
			struct slot *s = w->slots[i];
			if (s->retry_ev && evtimer_pending(s->retry_ev, NULL)) {
				backoff_reset(&s->bo);
				works_slot_queue(s);
			}
		}
	for (struct gvr *g = ag->gvrs; g; g = g->next)
		for (struct owned *o = g->owned; o; o = o->next)
			backoff_reset(&o->bo);
	works_dispatch(ag);
	works_gc_schedule(ag);
}

void works_gc_schedule(struct agent *ag)
{
	if (ag->stopping)
		return;
	if (!ag->gc_ev)
		ag->gc_ev = event_new(ag->base, -1, 0, gc_run, ag);
	event_active(ag->gc_ev, EV_TIMEOUT, 0);
}

void works_free(struct agent *ag)
{
	/* Calls were cancelled with the HTTP client: slots are idle or queued. */
	while (ag->q_head) {
		struct slot *s = ag->q_head;
		ag->q_head = s->qnext;
		s->st = S_IDLE;
		if (!s->w)
			slot_destroy(s);
	}
	ag->q_tail = NULL;
	/* Slots waiting for a schema fetch: orphans are reachable only here. */
	for (struct slot *w = ag->schema_waiters, *next; w; w = next) {
		next = w->wnext;
		if (!w->w)
			slot_destroy(w);
	}
	ag->schema_waiters = NULL;
	while (ag->works) {
		struct work *w = ag->works;
		ag->works = w->next;
		for (int i = 0; i < w->nslots; i++) {
			w->slots[i]->st = S_IDLE;
			slot_destroy(w->slots[i]);
		}
		w->nslots = 0;
		work_free(w);
	}
	/* Busy orphans whose calls were cancelled are unreachable now; the
	 * process is exiting. */
	if (ag->dispatch_ev)
		event_free(ag->dispatch_ev);
	if (ag->gc_ev)
		event_free(ag->gc_ev);
	if (ag->gc_timer_ev)
		event_free(ag->gc_timer_ev);
	ag->dispatch_ev = ag->gc_ev = ag->gc_timer_ev = NULL;
	for (int i = 0; i < ag->nreleased; i++)
		free(ag->released[i]);
	free(ag->released);
	ag->released = NULL;
	ag->nreleased = 0;
}

/* ---- reports from hubclient.c and watch.c (agent.h) ---- */

static void on_hub_answered(struct agent *ag)
{
	works_dispatch(ag);
	works_gc_schedule(ag);
}

static void on_member_back(struct agent *ag)
{
	watch_member_back(ag);
	works_member_back(ag);
}

const struct agent_reports works_reports = {
	.work_events = works_apply_events,
	.hub_answered = on_hub_answered,
	.member_back = on_member_back,
	.work_find = works_find,
	.work_status = works_status_of,
	.member_event = works_member_event,
	.member_deleted = works_member_deleted,
	.owned_listed = works_gc_schedule,
};
