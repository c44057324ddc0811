/* accessreview — SelfSubjectAccessReview (see accessreview.h). */
#include "accessreview.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "auth.h"
#include "jsonutil.h"
#include "pbcodec.h"

#define SSAR_PATH "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
#define SSAR_MAX_BODY (64 * 1024)

static const char *str_at(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s ? s : "";
}

static cJSON *read_review(struct evhttp_request *req, char *err, size_t errlen)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	if (len == 0 || len > SSAR_MAX_BODY) {
		snprintf(err, errlen, "the request body is empty or too large");
		return NULL;
	}
	const char *data = (const char *)evbuffer_pullup(in, -1);
	if (ct && strncasecmp(ct, PBCODEC_CONTENT_TYPE, strlen(PBCODEC_CONTENT_TYPE)) == 0)
		return pbcodec_decode(data, len, err, errlen);
	return json_parse_limited(data, len, JSON_MAX_DEPTH, err, errlen);
}

static bool on_route(const struct api_req *rq, const char *path, void *ud)
{
	struct evhttp_request *req = rq->req;
	struct auth *au = ud;
	if (strcmp(path, SSAR_PATH) != 0)
		return false;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		api_send_status(rq, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		return true;
	}
	char err[256];
	cJSON *r = read_review(req, err, sizeof err);
	if (!cJSON_IsObject(r)) {
		cJSON_Delete(r);
		api_send_status(rq, 400, "BadRequest", "the request body could not be decoded: %s", err);
		return true;
	}
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(r, "spec");
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(spec, "resourceAttributes");
	const cJSON *na = cJSON_GetObjectItemCaseSensitive(spec, "nonResourceAttributes");
	if (!cJSON_IsObject(ra) && !cJSON_IsObject(na)) {
		cJSON_Delete(r);
		api_send_status(rq, 422, "Invalid",
				"SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: "
				"Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified");
		return true;
	}
	bool allowed = true;
	char reason[1024] = "";
	struct auth_identity id;
	char msg[256];
	if (au && auth_identify(au, req, &id, msg, sizeof msg) == 0 && id.via != AUTH_INSECURE) {
		struct auth_attrs a = {0};
		if (cJSON_IsObject(ra)) {
			a = (struct auth_attrs){.verb = str_at(ra, "verb"), .resource = true, .group = str_at(ra, "group"),
						.resource_name = str_at(ra, "resource"), .ns = str_at(ra, "namespace"),
						.name = str_at(ra, "name"), .sub = str_at(ra, "subresource"), .path = ""};
		} else {
			a = (struct auth_attrs){.verb = str_at(na, "verb"), .resource = false, .path = str_at(na, "path")};
		}
		allowed = auth_authorize(&id, &a, reason, sizeof reason) == AUTH_ALLOW;
	} else if (au && id.via != AUTH_INSECURE) {
		allowed = false; /* a bad token was already refused by the authorizer */
	}
	cJSON *out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "kind", "SelfSubjectAccessReview");
	cJSON_AddStringToObject(out, "apiVersion", "authorization.k8s.io/v1");
	cJSON_AddItemToObject(out, "metadata", cJSON_CreateObject());
	cJSON_AddItemToObject(out, "spec", cJSON_DetachItemFromObjectCaseSensitive(r, "spec"));
	cJSON *st = cJSON_AddObjectToObject(out, "status");
	cJSON_AddBoolToObject(st, "allowed", allowed);
	if (!allowed && reason[0])
		cJSON_AddStringToObject(st, "reason", reason);
	api_send_json(rq, 201, out);
	cJSON_Delete(out);
	cJSON_Delete(r);
	return true;
}

void accessreview_register(struct apiserver *api, struct auth *au)
{
	apiserver_add_route(api, SSAR_PATH, on_route, au);
}
