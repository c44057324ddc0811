#include "sim_skew.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "kinds.h"
#include "openapi.h"
#include "openschema.h"
#include "schemafilter.h"
#include "yamljson.h"

struct sim_skew {
	int minor;
	cJSON *v2; /* the version's /openapi/v2 (JSON), made once */
};

/* A member serves no Karmada API. */
static bool member_kind(const struct kind_info *k, void *ud)
{
	size_t n = strlen(k->group);
	return !(n >= 10 && strcmp(k->group + n - 10, "karmada.io") == 0);
}

static cJSON *v2_doc(struct sim_skew *s)
{
	if (!s->v2)
		s->v2 = openapi_v2_json(member_kind, NULL, s->minor);
	return s->v2;
}

static bool route_openapi(const struct api_req *rq, const char *path, void *ud)
{
	struct evhttp_request *req = rq->req;
	struct sim_skew *s = ud;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
		return false;
	if (strcmp(path, "/openapi/v2") == 0) {
		const char *acc = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
		if (!openapi_v2_wants_json(acc))
			return false; /* kubectl's protobuf document, as the hub serves it */
		api_send_json(rq, 200, v2_doc(s));
		return true;
	}
	if (strncmp(path, "/openapi/v3", 11) == 0 && (path[11] == '\0' || path[11] == '/')) {
		if (s->minor < 24) {
			api_send_status(rq, 404, "NotFound", "the server could not find the requested resource");
			return true;
		}
		if (path[11] == '\0')
			return false;
		cJSON *doc = openapi_v3_group_version_at(path + 12, member_kind, NULL, s->minor);
		if (!doc)
			return false;
		api_send_json(rq, 200, doc);
		cJSON_Delete(doc);
		return true;
	}
	return false;
}

bool sim_skew_unknown_field(int minor, const cJSON *obj, char *path, size_t len)
{
	const char *av = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion"));
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
	if (!av || !kind)
		return false;
	char group[256] = "", version[64];
	const char *slash = strchr(av, '/');
	if (slash) {
		snprintf(group, sizeof group, "%.*s", (int)(slash - av), av);
		snprintf(version, sizeof version, "%s", slash + 1);
	} else {
		snprintf(version, sizeof version, "%s", av);
	}
	cJSON *defs = cJSON_CreateObject(), *doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "definitions", defs);
	bool found = false;
	if (openschema_add_kind(defs, group, version, kind, minor, false)) {
		const cJSON *sch = schemafilter_find_kind(doc, group, version, kind);
		cJSON *copy = cJSON_Duplicate(obj, 1), *dropped = cJSON_CreateArray();
		if (sch && schemafilter_prune(doc, sch, copy, dropped, false) > 0) {
			snprintf(path, len, "%s", cJSON_GetStringValue(cJSON_GetArrayItem(dropped, 0)));
			found = true;
		}
		cJSON_Delete(copy);
		cJSON_Delete(dropped);
	}
	cJSON_Delete(doc);
	return found;
}

static bool route_apply(const struct api_req *rq, const char *path, void *ud)
{
	struct evhttp_request *req = rq->req;
	struct sim_skew *s = ud;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_PATCH)
		return false;
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	if (!ct || strncmp(ct, "application/apply-patch+yaml", 28) != 0)
		return false;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	/* Read without draining: the API server handles the request as usual
	 * when every field is known. */
	const char *body = (const char *)evbuffer_pullup(in, -1);
	char err[256], field[1024];
	cJSON *obj = body ? yaml_parse_one(body, n, err, sizeof err) : NULL;
	bool refuse = obj && sim_skew_unknown_field(s->minor, obj, field, sizeof field);
	cJSON_Delete(obj);
	if (!refuse)
		return false;
	char msg[1200];
	snprintf(msg, sizeof msg, "failed to create typed patch object: %s: field not declared in schema", field);
	/* As kube-apiserver 1.20 answers it: a 500 without a reason. */
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "kind", "Status");
	cJSON_AddStringToObject(st, "apiVersion", "v1");
	cJSON_AddObjectToObject(st, "metadata");
	cJSON_AddStringToObject(st, "status", "Failure");
	cJSON_AddStringToObject(st, "message", msg);
	cJSON_AddNumberToObject(st, "code", 500);
	api_send_json(rq, 500, st);
	cJSON_Delete(st);
	return true;
}

struct sim_skew *sim_skew_attach(struct apiserver *api, int minor)
{
	struct sim_skew *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->minor = minor;
	apiserver_add_route(api, "/openapi/", route_openapi, s);
	apiserver_add_route(api, "/api", route_apply, s);
	return s;
}

void sim_skew_free(struct sim_skew *s)
{
	if (!s)
		return;
	cJSON_Delete(s->v2);
	free(s);
}
