/* meshreader.c — the agent's side of remote secrets (proto/meshreader.h):
 * while the Work atoll-mesh is assigned to this cluster, read the reader
 * token the member put in istio-system/atoll-mesh-reader-token and report
 * a kubeconfig for this cluster (--advertise-api-server, the member's CA,
 * that token) to the hub whenever the hub's copy (the Work's
 * mesh.atoll.io/reader-kubeconfig label) differs. The reader objects come
 * with the Work and leave with it: the member revokes the token when they
 * are deleted. The token is never logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "hubclient.h"
#include "jsonutil.h"
#include "memberapi.h"
#include "works.h"
#include "meshreader.h"

#define MESH_WORK "atoll-mesh"
#define FAST_MS 500
#define SLOW_MS 5000

struct meshreader {
	struct agent *ag;
	struct event *tick;
	struct http_call *call;
	char sent[33]; /* hash of what this agent reported last (in flight or done) */
};

static void wipe(char *s, size_t n)
{
	if (s) {
		mbedtls_platform_zeroize(s, n);
		free(s);
	}
}

static void arm(struct meshreader *mr, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(mr->tick, &tv);
}

static void call_cleanup(void *ud)
{
	struct meshreader *mr = ud;
	mr->call = NULL;
}

static const char *hub_hash(struct agent *ag)
{
	struct work *w = works_find(ag, MESH_WORK);
	if (!w || w->suspended)
		return NULL;
	const char *h = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(json_get(w->obj, "metadata.labels"), MESHREADER_HASH_LABEL));
	return h ? h : "";
}

static void put_done(const struct http_response *r, void *ud)
{
	struct meshreader *mr = ud;
	mr->call = NULL;
	if (r->status != 200) {
		char m[256];
		log_kv(LOG_WARN, "cannot report the mesh reader", "error", member_response_message(r, m, sizeof m), NULL);
		mr->sent[0] = '\0';
		arm(mr, SLOW_MS);
		return;
	}
	log_kv(LOG_INFO, "mesh reader reported", "cluster", mr->ag->cfg.cluster, NULL);
	arm(mr, FAST_MS);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, 4096, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void secret_done(const struct http_response *r, void *ud)
{
	struct meshreader *mr = ud;
	struct agent *ag = mr->ag;
	mr->call = NULL;
	const char *want = hub_hash(ag);
	if (!want) { /* the Work left meanwhile */
		arm(mr, SLOW_MS);
		return;
	}
	if (r->status != 200) { /* not applied yet */
		arm(mr, FAST_MS);
		return;
	}
	cJSON *sec = cJSON_ParseWithLength(r->body, r->len);
	const char *b64 = json_get_str(sec, "data.token");
	size_t in = b64 ? strlen(b64) : 0, out = 0;
	char *token = in ? malloc(in + 1) : NULL;
	if (!token || mbedtls_base64_decode((unsigned char *)token, in, &out, (const unsigned char *)b64, in) != 0 ||
	    out == 0) {
		/* the member's token controller has not filled it in yet */
		wipe(token, in + 1);
		cJSON_Delete(sec);
		arm(mr, FAST_MS);
		return;
	}
	token[out] = '\0';
	cJSON_Delete(sec);
	const char *server = ag->cfg.advertise_api_server ? ag->cfg.advertise_api_server : ag->kc.server;
	size_t ca_len = 0;
	char *ca_file = NULL;
	const char *ca = (const char *)ag->kc.ca_data;
	ca_len = ag->kc.ca_data ? ag->kc.ca_len : 0;
	if (!ca && ag->kc.ca_file) {
		ca_file = read_file(ag->kc.ca_file, &ca_len);
		ca = ca_file;
	}
	char *kc = meshreader_kubeconfig(ag->cfg.cluster, server, ca, ca_len, token);
	wipe(token, in + 1);
	free(ca_file);
	if (!kc) {
		arm(mr, SLOW_MS);
		return;
	}
	char h[33];
	meshreader_hash(kc, h);
	if (strcmp(h, want) == 0 || strcmp(h, mr->sent) == 0) {
		/* the hub holds it (or our report of it is being folded in) */
		wipe(kc, strlen(kc));
		arm(mr, strcmp(h, want) == 0 ? SLOW_MS : FAST_MS);
		return;
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "apiVersion", PROTO_API_VERSION);
	cJSON_AddStringToObject(body, "kind", MESHREADER_KIND);
	cJSON_AddStringToObject(body, "kubeconfig", kc);
	wipe(kc, strlen(kc));
	char path[512];
	snprintf(path, sizeof path, PROTO_PREFIX "/clusters/%s/" MESHREADER_OP, ag->cfg.cluster);
	snprintf(mr->sent, sizeof mr->sent, "%s", h);
	mr->call = hub_call(ag, "PUT", path, body, 10000, put_done, call_cleanup, mr);
	cJSON *k = cJSON_GetObjectItemCaseSensitive(body, "kubeconfig");
	if (k && k->valuestring)
		mbedtls_platform_zeroize(k->valuestring, strlen(k->valuestring));
	cJSON_Delete(body);
	if (!mr->call)
		arm(mr, SLOW_MS);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct meshreader *mr = arg;
	struct agent *ag = mr->ag;
	if (mr->call || ag->stopping)
		return;
	const char *want = hub_hash(ag);
	if (!want) {
		mr->sent[0] = '\0';
		arm(mr, FAST_MS);
		return;
	}
	mr->call = member_call(ag, "GET", "/api/v1/namespaces/" MESHREADER_NS "/secrets/" MESHREADER_TOKEN_SECRET, NULL,
			       NULL, 10000, secret_done, call_cleanup, mr);
	if (!mr->call)
		arm(mr, SLOW_MS);
}

void meshreader_start(struct agent *ag)
{
	struct meshreader *mr = calloc(1, sizeof *mr);
	if (!mr)
		return;
	mr->ag = ag;
	mr->tick = evtimer_new(ag->base, on_tick, mr);
	ag->meshreader = mr;
	arm(mr, FAST_MS);
}

void meshreader_free(struct agent *ag)
{
	struct meshreader *mr = ag->meshreader;
	if (!mr)
		return;
	event_free(mr->tick);
	free(mr);
	ag->meshreader = NULL;
}
