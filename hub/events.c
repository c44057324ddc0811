#include "events.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "kinds.h"
#include "log.h"
#include "objclient.h"
#include "timefmt.h"

static uint64_t fnv64(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	h ^= 0xff; /* field separator */
	h *= 1099511628211ull;
	return h;
}

static const char *s_or(const char *s) { return s ? s : ""; }

void events_name(const cJSON *obj, const char *type, const char *reason, const char *message,
		 const char *component, char *buf, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	h = fnv64(h, json_get_str(obj, "metadata.uid"));
	h = fnv64(h, json_get_str(obj, "kind"));
	h = fnv64(h, type);
	h = fnv64(h, reason);
	h = fnv64(h, message);
	h = fnv64(h, component);
	snprintf(buf, len, "%.200s.%016llx", s_or(json_get_str(obj, "metadata.name")), (unsigned long long)h);
}

static const char *event_ns(const cJSON *obj)
{
	const char *ns = json_get_str(obj, "metadata.namespace");
	return ns && *ns ? ns : "default";
}

cJSON *events_build(const cJSON *obj, const char *type, const char *reason, const char *message,
		    const char *component, time_t now)
{
	char name[300], ts[40];
	events_name(obj, type, reason, message, component, name, sizeof name);
	time_rfc3339(now, ts, sizeof ts);
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "apiVersion", "v1");
	cJSON_AddStringToObject(ev, "kind", "Event");
	cJSON *m = cJSON_AddObjectToObject(ev, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", event_ns(obj));
	cJSON *io = cJSON_AddObjectToObject(ev, "involvedObject");
	cJSON_AddStringToObject(io, "apiVersion", s_or(json_get_str(obj, "apiVersion")));
	cJSON_AddStringToObject(io, "kind", s_or(json_get_str(obj, "kind")));
	const char *ns = json_get_str(obj, "metadata.namespace");
	if (ns && *ns)
		cJSON_AddStringToObject(io, "namespace", ns);
	cJSON_AddStringToObject(io, "name", s_or(json_get_str(obj, "metadata.name")));
	cJSON_AddStringToObject(io, "uid", s_or(json_get_str(obj, "metadata.uid")));
	if (json_get_str(obj, "metadata.resourceVersion"))
		cJSON_AddStringToObject(io, "resourceVersion", json_get_str(obj, "metadata.resourceVersion"));
	cJSON_AddStringToObject(ev, "reason", s_or(reason));
	cJSON_AddStringToObject(ev, "message", s_or(message));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "source"), "component", s_or(component));
	cJSON_AddStringToObject(ev, "firstTimestamp", ts);
	cJSON_AddStringToObject(ev, "lastTimestamp", ts);
	cJSON_AddNumberToObject(ev, "count", 1);
	cJSON_AddStringToObject(ev, "type", s_or(type));
	cJSON_AddNullToObject(ev, "eventTime");
	cJSON_AddStringToObject(ev, "reportingComponent", s_or(component));
	cJSON_AddStringToObject(ev, "reportingInstance", "");
	return ev;
}

int events_record(struct obj_ctx *c, const cJSON *obj, const char *type, const char *reason, const char *message,
		  const char *component, enum event_mode mode, time_t now)
{
	const struct kind_info *k = kinds_find_kind("", "v1", "Event");
	if (!k || !obj)
		return -1;
	cJSON *ev = events_build(obj, type, reason, message, component, now);
	/* Copies: obj_create rewrites the metadata these point into. */
	char name[300], ns[256];
	snprintf(name, sizeof name, "%s", s_or(json_get_str(ev, "metadata.name")));
	snprintf(ns, sizeof ns, "%s", s_or(json_get_str(ev, "metadata.namespace")));
	struct objclient oc; /* nothing cached: a local client per call */
	objc_init(&oc, c->store, c);
	struct api_error e = {0};
	int rc = 0;
	cJSON *cur = objc_get(&oc, k, ns, name);
	if (cur) {
		if (mode == EVENT_BUMP) {
			char ts[40];
			/* Updated from the copy just read (no second read). */
			cJSON *next = json_dup(cur);
			json_set_num(next, "count", json_get_num(cur, "count", 1) + 1);
			json_set_str(next, "lastTimestamp", time_rfc3339(now, ts, sizeof ts));
			const char *rv = json_get_str(obj, "metadata.resourceVersion");
			if (rv)
				json_set_str(json_ensure_obj(next, "involvedObject"), "resourceVersion", rv);
			if (objc_apply(&oc, k, ns, next, cur, NULL, &e) < 0)
				rc = -1;
		}
		cJSON_Delete(cur);
		cJSON_Delete(ev);
	} else if (objc_apply(&oc, k, ns, ev, NULL, NULL, &e) < 0) {
		rc = -1;
	}
	/* Events are best effort (as client-go's recorder): a failure is
	 * logged, not retried. */
	if (rc < 0)
		log_warn("cannot record event %s on %s/%s: %s", s_or(reason), ns, s_or(json_get_str(obj, "metadata.name")),
			 e.message);
	api_error_clear(&e);
	objc_free(&oc);
	return rc;
}
