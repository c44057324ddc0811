#include "joinapi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "jsonutil.h"
#include "log.h"
#include "pki.h"
#include "timefmt.h"
#include "tlsconf.h"

struct joinapi {
	struct auth *au;
	struct pki_ca ca;
	char *ca_pem;
};

static void handle_join(struct joinapi *j, const struct api_req *rq)
{
	struct evhttp_request *req = rq->req;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd == EVHTTP_REQ_GET) {
		/* Anonymous: the agent pins this CA by its hash before it sends a token. */
		cJSON *info = cJSON_CreateObject();
		cJSON_AddStringToObject(info, "apiVersion", "atoll.io/v1alpha1");
		cJSON_AddStringToObject(info, "kind", "JoinInfo");
		cJSON_AddStringToObject(info, "caBundle", j->ca_pem);
		api_send_json(rq, 200, info);
		cJSON_Delete(info);
		return;
	}
	if (cmd != EVHTTP_REQ_POST) {
		api_send_status(rq, 405, "MethodNotAllowed", "the join endpoint takes GET (JoinInfo) or POST (JoinRequest)");
		return;
	}
	struct auth_identity id;
	char msg[512] = "";
	int code = auth_identify(j->au, req, &id, msg, sizeof msg);
	if (code) {
		api_send_status(rq, code, "Unauthorized", "join refused: %s", msg);
		return;
	}
	if (id.via == AUTH_ANONYMOUS) {
		api_send_status(rq, 401, "Unauthorized",
			    "join refused: present a bootstrap token (Authorization: Bearer <id>.<secret>, from atoll-hub token create) or an agent certificate");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char err[512];
	cJSON *body = json_parse_limited((const char *)evbuffer_pullup(in, -1), len, 10, err, sizeof err);
	const char *csr_pem = json_get_str(body, "csr");
	if (!body || !csr_pem) {
		api_send_status(rq, 400, "BadRequest", "the body must be a JoinRequest: {\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"JoinRequest\",\"csr\":\"<PEM>\"}%s%s",
			    body ? "" : ": ", body ? "" : err);
		cJSON_Delete(body);
		return;
	}
	mbedtls_x509_csr csr;
	char cn[256];
	if (pki_csr_check((const unsigned char *)csr_pem, strlen(csr_pem), &csr, cn, sizeof cn, err, sizeof err) < 0) {
		api_send_status(rq, 400, "BadRequest", "join refused: %s", err);
		cJSON_Delete(body);
		return;
	}
	size_t pl = strlen(AUTH_AGENT_PREFIX);
	const char *cluster = strncmp(cn, AUTH_AGENT_PREFIX, pl) == 0 ? cn + pl : NULL;
	if (!cluster || !pki_valid_cluster_name(cluster)) {
		api_send_status(rq, 400, "BadRequest",
			    "join refused: the CSR's common name must be \"%s<cluster>\" with a valid cluster name, not \"%s\"",
			    AUTH_AGENT_PREFIX, cn);
		goto out;
	}
	const char *want = json_get_str(body, "cluster");
	if (want && strcmp(want, cluster) != 0) {
		api_send_status(rq, 400, "BadRequest", "join refused: the request names cluster \"%s\" but the CSR is for \"%s\"",
			    want, cluster);
		goto out;
	}
	if (id.via == AUTH_BOOTSTRAP_TOKEN) {
		if (id.token_cluster[0] && strcmp(id.token_cluster, cluster) != 0) {
			api_send_status(rq, 403, "Forbidden",
				    "join refused: bootstrap token \"%s\" may only join cluster \"%s\", not \"%s\"", id.token_id,
				    id.token_cluster, cluster);
			goto out;
		}
	} else if (!auth_agent_may_access_cluster(&id, cluster)) {
		api_send_status(rq, 403, "Forbidden", "join refused: User \"%s\" may not get a certificate for cluster \"%s\"",
			    id.user, cluster);
		goto out;
	}
	char *crt = pki_sign_agent_csr(&j->ca, &csr, cluster, PKI_AGENT_VALIDITY_S, err, sizeof err);
	if (!crt) {
		api_send_status(rq, 500, "InternalError", "cannot sign the CSR: %s", err);
		goto out;
	}
	char ts[32];
	cJSON *ans = cJSON_CreateObject();
	cJSON_AddStringToObject(ans, "apiVersion", "atoll.io/v1alpha1");
	cJSON_AddStringToObject(ans, "kind", "JoinResponse");
	cJSON_AddStringToObject(ans, "cluster", cluster);
	cJSON_AddStringToObject(ans, "user", cn);
	cJSON *g = cJSON_AddArrayToObject(ans, "groups");
	cJSON_AddItemToArray(g, cJSON_CreateString(PKI_AGENT_GROUP));
	cJSON_AddStringToObject(ans, "certificate", crt);
	cJSON_AddStringToObject(ans, "caBundle", j->ca_pem);
	cJSON_AddStringToObject(ans, "notAfter", time_rfc3339(time(NULL) + PKI_AGENT_VALIDITY_S, ts, sizeof ts));
	log_info("join: signed a certificate for cluster %s (requested by %s)", cluster, id.user);
	api_send_json(rq, 201, ans);
	cJSON_Delete(ans);
	free(crt);
out:
	mbedtls_x509_csr_free(&csr);
	cJSON_Delete(body);
}

static bool on_route(const struct api_req *rq, const char *path, void *ud)
{
	if (strcmp(path, AUTH_JOIN_PATH) != 0)
		return false;
	handle_join(ud, rq);
	return true;
}

struct joinapi *joinapi_new(struct apiserver *api, struct auth *au, const char *data_dir, char *err, size_t errlen)
{
	struct joinapi *j = calloc(1, sizeof *j);
	j->au = au;
	if (pki_ca_load(&j->ca, data_dir, err, errlen) < 0) {
		free(j);
		return NULL;
	}
	j->ca_pem = tls_crt_pem(&j->ca.crt);
	apiserver_add_route(api, AUTH_JOIN_PATH, on_route, j);
	return j;
}

void joinapi_free(struct joinapi *j)
{
	if (!j)
		return;
	pki_ca_free(&j->ca);
	free(j->ca_pem);
	free(j);
}
