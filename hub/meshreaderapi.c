#include "meshreaderapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <mbedtls/platform_util.h>

#include "apiserver.h"
#include "jsonutil.h"
#include "kinds.h"
#include "kubeconfig.h"
#include "log.h"
#include "mesh.h"
#include "objclient.h"
#include "meshreader.h"
#include "protocol.h"
#include "tlsconf.h"

#define HUB_NS "karmada-system"

static void wipe(char *s)
{
	if (s) {
		mbedtls_platform_zeroize(s, strlen(s));
		free(s);
	}
}

void meshreader_handle(struct obj_ctx *objs, const struct api_req *rq, const char *cluster)
{
	struct evhttp_request *req = rq->req;
	const struct kind_info *k = kinds_find_kind("", "v1", "Secret");
	char name[300];
	snprintf(name, sizeof name, MESHREADER_HUB_SECRET_PREFIX "%s", cluster);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct api_error e = {0};
	struct objclient oc; /* per request: nothing is cached */
	objc_init(&oc, objs->store, objs);
	if (cmd == EVHTTP_REQ_DELETE) {
		if (objc_delete(&oc, k, HUB_NS, name, NULL, &e) < 0) {
			api_send_status(rq, e.code ? e.code : 500, "InternalError", "%s", e.message);
			api_error_clear(&e);
			return;
		}
		api_send_status(rq, 200, "Success", "mesh reader of cluster %s removed", cluster);
		return;
	}
	if (cmd != EVHTTP_REQ_PUT) {
		api_send_status(rq, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
		return;
	}
	const struct kind_info *kcl = kinds_find_kind("cluster.karmada.io", "v1alpha1", "Cluster");
	cJSON *cl = kcl ? objc_get(&oc, kcl, "", cluster) : NULL;
	if (kcl && !cl) {
		api_send_status(rq, 404, "NotFound",
				"clusters.cluster.karmada.io \"%s\" not found: register the cluster first", cluster);
		return;
	}
	cJSON_Delete(cl);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len == 0 || len > MESHREADER_MAX_BYTES) {
		api_send_status(rq, len ? 413 : 400, len ? "RequestEntityTooLarge" : "BadRequest",
				len ? "a MeshReader is at most %d bytes" : "the request body is empty", MESHREADER_MAX_BYTES);
		return;
	}
	char err[256];
	cJSON *body = json_parse_limited((const char *)evbuffer_pullup(in, -1), len, 16, err, sizeof err);
	if (!body) {
		api_send_status(rq, 400, "BadRequest", "the request body could not be decoded: %s", err);
		return;
	}
	const char *kind = json_get_str(body, "kind"), *api = json_get_str(body, "apiVersion");
	const char *kcs = json_get_str(body, "kubeconfig");
	if (!kind || strcmp(kind, MESHREADER_KIND) != 0 || !api || strcmp(api, PROTO_API_VERSION) != 0 || !kcs || !*kcs) {
		api_send_status(rq, 400, "BadRequest",
				"invalid MeshReader: want apiVersion %s, kind %s and a non-empty kubeconfig", PROTO_API_VERSION,
				MESHREADER_KIND);
		cJSON_Delete(body);
		return;
	}
	struct kubeconfig kc = {0};
	char kerr[256];
	if (kubeconfig_parse(kcs, strlen(kcs), NULL, NULL, &kc, kerr, sizeof kerr) < 0 || !kc.server || !kc.token) {
		/* kerr names a field, never the token */
		api_send_status(rq, 422, "Invalid", "invalid MeshReader: the kubeconfig %s",
				kc.server || kerr[0] == '\0' ? "needs a server and a token" : kerr);
		kubeconfig_free(&kc);
		cJSON_Delete(body);
		return;
	}
	kubeconfig_free(&kc);
	if (objc_ensure_namespace(&oc, HUB_NS, &e) < 0)
		api_error_clear(&e); /* the Secret's write below says what is wrong */
	char *b = tls_base64(kcs, strlen(kcs));
	cJSON *sec = cJSON_CreateObject();
	cJSON_AddStringToObject(sec, "apiVersion", "v1");
	cJSON_AddStringToObject(sec, "kind", "Secret");
	cJSON *md = cJSON_AddObjectToObject(sec, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", HUB_NS);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"), MESH_CLUSTER_LABEL, cluster);
	cJSON_AddStringToObject(sec, "type", "Opaque");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(sec, "data"), "kubeconfig", b ? b : "");
	wipe(b);
	cJSON_Delete(body);
	int rc;
	cJSON *cur = objc_get(&oc, k, HUB_NS, name);
	if (cur)
		rc = objc_replace(&oc, k, HUB_NS, name, sec, SUBRES_NONE, NULL, &e);
	else
		rc = objc_apply(&oc, k, HUB_NS, sec, NULL, NULL, &e);
	cJSON_Delete(cur);
	objc_free(&oc);
	if (rc < 0) {
		api_send_status(rq, e.code ? e.code : 500, "InternalError", "cannot store the mesh reader: %s", e.message);
		api_error_clear(&e);
		return;
	}
	log_kv(LOG_INFO, "mesh reader stored", "cluster", cluster, NULL);
	api_send_status(rq, 200, "Success", "mesh reader of cluster %s stored", cluster);
}
