/* epcollect.c — the agent's side of multi-cluster services: for every
 * ServiceExport (multicluster.x-k8s.io) among the manifests of its Works,
 * lists the member's EndpointSlices labelled
 * kubernetes.io/service-name=<name> in its namespace, about once a second,
 * and puts their endpoints in that manifest's status in the Work
 * (manifestStatuses[].collectedEndpoints, docs/protocol.md), as Karmada's
 * endpointslice collect controller does. The hub (hub/mcs.c) builds the
 * derived Services and EndpointSlices of consumer clusters from them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "memberapi.h"
#include "works.h"

#define MCS_GROUP "multicluster.x-k8s.io"
#define ROUND_MS 1000

struct epcollect {
	struct agent *ag;
	struct event *tick;
	struct http_call *call;
	int idx; /* next ServiceExport in this round */
	/* the one being read */
	char work[254], ns[254], name[254];
	int ordinal;
};

static void arm(struct epcollect *ec, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(ec->tick, &tv);
}

static void call_cleanup(void *ud)
{
	struct epcollect *ec = ud;
	ec->call = NULL;
}

static bool is_export(const struct slot *s)
{
	return strcmp(s->id.group, MCS_GROUP) == 0 && strcmp(s->id.kind, "ServiceExport") == 0 && s->id.ns[0];
}

/* The n-th ServiceExport slot of the agent's Works, or NULL. */
static struct slot *nth_export(struct agent *ag, int n)
{
	for (struct work *w = ag->works; w; w = w->next) {
		if (w->suspended)
			continue;
		for (int i = 0; i < w->nslots; i++)
			if (is_export(w->slots[i]) && n-- == 0)
				return w->slots[i];
	}
	return NULL;
}

static struct slot *find_slot(struct agent *ag, const struct epcollect *ec)
{
	struct work *w = works_find(ag, ec->work);
	for (int i = 0; w && i < w->nslots; i++) {
		struct slot *s = w->slots[i];
		if (s->ordinal == ec->ordinal && is_export(s) && strcmp(s->id.ns, ec->ns) == 0 &&
		    strcmp(s->id.name, ec->name) == 0)
			return s;
	}
	return NULL;
}

static void copy_str(cJSON *to, const cJSON *from, const char *key)
{
	const char *v = json_get_str(from, key);
	if (v)
		cJSON_AddStringToObject(to, key, v);
}

/* What the hub needs of an EndpointSliceList: per slice its address
 * type, ports and endpoints (addresses, conditions, zone, nodeName). */
static cJSON *trim_slices(const cJSON *list)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
	{
		cJSON *sl = cJSON_CreateObject();
		copy_str(sl, it, "addressType");
		const char *n = json_get_str(it, "metadata.name");
		cJSON_AddStringToObject(sl, "name", n ? n : "");
		const cJSON *ports = cJSON_GetObjectItemCaseSensitive(it, "ports");
		cJSON_AddItemToObject(sl, "ports", cJSON_IsArray(ports) ? json_dup(ports) : cJSON_CreateArray());
		cJSON *eps = cJSON_AddArrayToObject(sl, "endpoints");
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(it, "endpoints"))
		{
			cJSON *o = cJSON_CreateObject();
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "addresses");
			cJSON_AddItemToObject(o, "addresses", cJSON_IsArray(a) ? json_dup(a) : cJSON_CreateArray());
			const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "conditions");
			if (cJSON_IsObject(c))
				cJSON_AddItemToObject(o, "conditions", json_dup(c));
			copy_str(o, e, "zone");
			copy_str(o, e, "nodeName");
			cJSON_AddItemToArray(eps, o);
		}
		cJSON_AddItemToArray(out, sl);
	}
	return out;
}

static void list_done(const struct http_response *r, void *ud)
{
	struct epcollect *ec = ud;
	struct agent *ag = ec->ag;
	ec->call = NULL;
	struct slot *s = find_slot(ag, ec);
	if (s && (r->status == 200 || r->status == 404)) {
		cJSON *list = r->status == 200 ? cJSON_ParseWithLength(r->body, r->len) : NULL;
		cJSON *got = (r->status == 404 || list) ? trim_slices(list) : NULL;
		cJSON_Delete(list);
		if (got && !(s->collected && json_equal(got, s->collected))) {
			cJSON_Delete(s->collected);
			s->collected = got;
			got = NULL;
			works_slot_status_changed(s);
		}
		cJSON_Delete(got);
	} else if (s) {
		log_kv(LOG_DEBUG, "cannot list the EndpointSlices of an exported Service", "namespace", ec->ns, "name",
		       ec->name, "error", r->error ? r->error : "", NULL);
	}
	ec->idx++;
	arm(ec, 0);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct epcollect *ec = arg;
	struct agent *ag = ec->ag;
	if (ec->call || ag->stopping)
		return;
	struct slot *s = nth_export(ag, ec->idx);
	if (!s || ag->member_down) {
		ec->idx = 0;
		arm(ec, ROUND_MS);
		return;
	}
	snprintf(ec->work, sizeof ec->work, "%s", s->w->name);
	snprintf(ec->ns, sizeof ec->ns, "%s", s->id.ns);
	snprintf(ec->name, sizeof ec->name, "%s", s->id.name);
	ec->ordinal = s->ordinal;
	char path[1024];
	snprintf(path, sizeof path,
		 "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector=kubernetes.io%%2Fservice-name%%3D%s",
		 ec->ns, ec->name);
	ec->call = member_call(ag, "GET", path, NULL, NULL, 10000, list_done, call_cleanup, ec);
	if (!ec->call) {
		ec->idx = 0;
		arm(ec, ROUND_MS);
	}
}

void epcollect_start(struct agent *ag)
{
	struct epcollect *ec = calloc(1, sizeof *ec);
	if (!ec)
		return;
	ec->ag = ag;
	ec->tick = evtimer_new(ag->base, on_tick, ec);
	ag->epcollect = ec;
	arm(ec, 200);
}

void epcollect_free(struct agent *ag)
{
	struct epcollect *ec = ag->epcollect;
	if (!ec)
		return;
	event_free(ec->tick);
	free(ec);
	ag->epcollect = NULL;
}
