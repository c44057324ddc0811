/* pbhttp — Kubernetes protobuf on the hub's HTTP API.
 * Owns: which kinds take and give protobuf (the built-in kinds of the
 * schema table; custom and Karmada kinds are JSON-only, as in Kubernetes),
 * Accept negotiation, and sending objects, lists and watch events encoded
 * by pbcodec. Anything that cannot be encoded is answered in JSON (the
 * clients that ask for protobuf list JSON too). */
#ifndef ATOLL_PBHTTP_H
#define ATOLL_PBHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include <event2/http.h>

#include "kinds.h"
#include "pbcodec.h"

struct api_req; /* apiserver.h */

bool pbhttp_kind_has_protobuf(const struct kind_info *k);
/* The client prefers protobuf (Accept lists it first, no Table) and k has it. */
bool pbhttp_wants_protobuf(struct evhttp_request *req, const struct kind_info *k);
/* Sends one object (its JSON text) in protobuf; false (nothing sent) if it
 * cannot be encoded. */
bool pbhttp_send_object(const struct api_req *rq, int code, const char *json);
/* Each object's encoded message by (store key, modification revision), so
 * a repeated list does not parse and encode every item again. One per API
 * server (a store's revisions are its own); bounded in bytes (cleared when
 * full); cleared when the store rolls a batch back (its revisions may be
 * reused by other content). */
struct pbcache;
struct pbcache *pbhttp_cache_new(void);
void pbhttp_cache_clear(struct pbcache *c);
void pbhttp_cache_free(struct pbcache *c);

/* A protobuf List being built item by item while listing. */
struct pblist;
struct pblist *pbhttp_list_begin(struct pbcache *c, const struct kind_info *k);
/* Adds a stored item (its JSON text, and its parsed form when the caller
 * has it). After an item that cannot be encoded the list is abandoned. */
void pbhttp_list_add(struct pblist *l, const char *key, long long rev, const char *json, size_t len,
		     const cJSON *parsed);
/* Sends the List; false (nothing sent) if an item could not be encoded. */
bool pbhttp_list_send(struct pblist *l, const struct api_req *rq, const char *rv);
void pbhttp_list_free(struct pblist *l);

/* Sends one watch frame for obj, the object stored at key with revision
 * rev (the cache is shared with lists and across watchers); false (nothing
 * sent) if obj cannot be encoded. */
bool pbhttp_watch_send(struct pbcache *c, struct evhttp_request *req, const char *type, const char *key,
		       long long rev, const cJSON *obj);

/* Appends one watch frame for obj to b; false if obj cannot be encoded. */
bool pbhttp_watch_frame(struct evbuffer *b, const char *type, const cJSON *obj);

#endif
