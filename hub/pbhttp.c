#include "pbhttp.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "apiserver.h"
#include "jsonutil.h"
#include "log.h"
#include "strmap.h"
#include "xalloc.h"

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

static void send_bytes(const struct api_req *rq, int code, unsigned char *data, size_t len)
{
	struct evhttp_request *req = rq->req;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", PBCODEC_CONTENT_TYPE);
	evhttp_remove_header(h, "Cache-Control");
	evhttp_add_header(h, "Cache-Control", "no-cache, private");
	struct evbuffer *b = evbuffer_new();
	/* The reply may be held until a commit: the buffer owns the bytes. */
	evbuffer_add_reference(b, data, len, free_data, NULL);
	api_send_reply(rq, code, code == 200 ? "OK" : code == 201 ? "Created" : "Status", b);
	evbuffer_free(b);
}

bool pbhttp_send_object(const struct api_req *rq, int code, const char *json)
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
	send_bytes(rq, code, data, len);
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

/* ---- item cache ------------------------------------------------------------------ */

#define PBCACHE_MAX_BYTES (32u << 20)

struct pbentry {
	long long rev;
	size_t len;
	unsigned char *data;
};

struct pbcache {
	struct strmap by_key; /* store key -> struct pbentry (owned) */
	size_t bytes;
};

static void free_entry(void *p)
{
	struct pbentry *e = p;
	free(e->data);
	free(e);
}

struct pbcache *pbhttp_cache_new(void)
{
	struct pbcache *c = xcalloc(1, sizeof *c);
	strmap_init(&c->by_key, free_entry);
	return c;
}

void pbhttp_cache_clear(struct pbcache *c)
{
	if (!c)
		return;
	strmap_clear(&c->by_key);
	c->bytes = 0;
}

void pbhttp_cache_free(struct pbcache *c)
{
	pbhttp_cache_clear(c);
	free(c);
}

struct pblist {
	struct pbcache *cache;
	char api_version[256], kind[200];
	unsigned char **items;
	size_t *lens;
	bool *owned; /* items not kept in the cache are the list's */
	size_t n, cap;
	bool failed;
};

struct pblist *pbhttp_list_begin(struct pbcache *c, const struct kind_info *k)
{
	struct pblist *l = calloc(1, sizeof *l);
	if (!l)
		abort();
	l->cache = c;
	kind_api_version(k, l->api_version, sizeof l->api_version);
	snprintf(l->kind, sizeof l->kind, "%s", k->kind);
	return l;
}

static void push(struct pblist *l, unsigned char *data, size_t len, bool owned)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->items = realloc(l->items, l->cap * sizeof *l->items);
		l->lens = realloc(l->lens, l->cap * sizeof *l->lens);
		l->owned = realloc(l->owned, l->cap * sizeof *l->owned);
		if (!l->items || !l->lens || !l->owned)
			abort();
	}
	l->items[l->n] = data;
	l->lens[l->n] = len;
	l->owned[l->n] = owned;
	l->n++;
}

/* Before the cache is emptied, a list being built takes copies of the
 * cached items it points at. */
static void own_items(struct pblist *l)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (!l->owned[i]) {
			unsigned char *copy = malloc(l->lens[i] ? l->lens[i] : 1);
			if (!copy)
				abort();
			memcpy(copy, l->items[i], l->lens[i]);
			l->items[i] = copy;
			l->owned[i] = true;
		}
}

/* The encoded message of the object stored at key with revision rev: from
 * the cache, or encoded (from parsed, else from its JSON text) and cached.
 * *owned: the bytes are the caller's to free (too big to cache). Cached
 * bytes stay valid until the next call. NULL if it cannot be encoded. */
static unsigned char *message_of(struct pbcache *c, const char *key, long long rev, const char *json, size_t len,
				 const cJSON *parsed, size_t *olen, bool *owned, struct pblist *building)
{
	*owned = false;
	struct pbentry *pe = strmap_get(&c->by_key, key);
	if (pe && pe->rev == rev) {
		*olen = pe->len;
		return pe->data;
	}
	cJSON *mine = parsed ? NULL : cJSON_ParseWithLength(json, len);
	const cJSON *o = parsed ? parsed : mine;
	char err[256] = "not JSON";
	unsigned char *data = o ? pbcodec_encode_message(o, olen, err, sizeof err) : NULL;
	cJSON_Delete(mine);
	if (!data) {
		log_debug("protobuf: answering in JSON: %s", err);
		return NULL;
	}
	if (*olen > PBCACHE_MAX_BYTES / 16) {
		*owned = true;
		return data;
	}
	if (c->bytes + *olen > PBCACHE_MAX_BYTES) {
		/* Full: start over rather than track ages. */
		own_items(building);
		pbhttp_cache_clear(c);
		pe = NULL;
	}
	if (pe) /* an older revision of the same object: replaced below */
		c->bytes -= pe->len;
	struct pbentry *e = xmalloc(sizeof *e);
	e->rev = rev;
	e->len = *olen;
	e->data = data;
	strmap_put(&c->by_key, key, e);
	c->bytes += *olen;
	return data;
}

void pbhttp_list_add(struct pblist *l, const char *key, long long rev, const char *json, size_t len,
		     const cJSON *parsed)
{
	if (l->failed)
		return;
	size_t olen;
	bool owned;
	unsigned char *data = message_of(l->cache, key, rev, json, len, parsed, &olen, &owned, l);
	if (!data)
		l->failed = true;
	else
		push(l, data, olen, owned);
}

bool pbhttp_watch_send(struct pbcache *c, struct evhttp_request *req, const char *type, const char *key,
		       long long rev, const cJSON *obj)
{
	size_t olen, flen;
	bool owned;
	unsigned char *msg = message_of(c, key, rev, NULL, 0, obj, &olen, &owned, NULL);
	if (!msg)
		return false;
	unsigned char *frame = pbcodec_watch_frame_raw(type, json_get_str(obj, "apiVersion"),
						       json_get_str(obj, "kind"), msg, olen, &flen);
	if (owned)
		free(msg);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_reference(b, frame, flen, free_data, NULL);
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
	return true;
}

bool pbhttp_list_send(struct pblist *l, const struct api_req *rq, const char *rv)
{
	if (l->failed)
		return false;
	size_t len;
	unsigned char *data = pbcodec_encode_list_raw(l->api_version, l->kind, rv, l->items, l->lens, l->n, &len);
	send_bytes(rq, 200, data, len);
	return true;
}

void pbhttp_list_free(struct pblist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (l->owned[i])
			free(l->items[i]);
	free(l->items);
	free(l->lens);
	free(l->owned);
	free(l);
}
