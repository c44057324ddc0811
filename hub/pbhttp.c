#include "pbhttp.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "apiserver.h"
#include "log.h"

bool pbhttp_kind_has_protobuf(const struct kind_info *k)
{
	char av[256];
	return k && k->builtin && !k->dynamic && pbcodec_has_kind(kind_api_version(k, av, sizeof av), k->kind);
}

bool pbhttp_wants_protobuf(struct evhttp_request *req, const struct kind_info *k)
{
	const char *acc = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
	return pbcodec_accept_prefers(acc) && pbhttp_kind_has_protobuf(k);
}

static void free_data(const void *data, size_t len, void *arg)
{
	free((void *)data);
}

static void send_bytes(struct evhttp_request *req, int code, unsigned char *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", PBCODEC_CONTENT_TYPE);
	evhttp_remove_header(h, "Cache-Control");
	evhttp_add_header(h, "Cache-Control", "no-cache, private");
	struct evbuffer *b = evbuffer_new();
	/* The reply may be held until a commit: the buffer owns the bytes. */
	evbuffer_add_reference(b, data, len, free_data, NULL);
	api_send_reply(req, code, code == 200 ? "OK" : code == 201 ? "Created" : "Status", b);
	evbuffer_free(b);
}

bool pbhttp_send_object(struct evhttp_request *req, int code, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	if (!o)
		return false;
	char err[256];
	size_t len;
	unsigned char *data = pbcodec_encode(o, &len, err, sizeof err);
	cJSON_Delete(o);
	if (!data) {
		log_debug("protobuf: answering in JSON: %s", err);
		return false;
	}
	send_bytes(req, code, data, len);
	return true;
}

bool pbhttp_send_list(struct evhttp_request *req, const struct kind_info *k, const char *rv, const cJSON *items)
{
	char av[256], err[256];
	size_t len;
	unsigned char *data =
		pbcodec_encode_list(kind_api_version(k, av, sizeof av), k->kind, rv, items, &len, err, sizeof err);
	if (!data) {
		log_debug("protobuf: answering the list in JSON: %s", err);
		return false;
	}
	send_bytes(req, 200, data, len);
	return true;
}

bool pbhttp_watch_frame(struct evbuffer *b, const char *type, const cJSON *obj)
{
	char err[256];
	size_t len;
	unsigned char *data = pbcodec_encode_watch_event(type, obj, &len, err, sizeof err);
	if (!data) {
		log_warn("protobuf watch: cannot encode a %s event: %s", type, err);
		return false;
	}
	evbuffer_add(b, data, len);
	free(data);
	return true;
}
