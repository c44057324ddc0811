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

bool pbhttp_kind_has_protobuf(const struct kind_info *k);
/* The client prefers protobuf (Accept lists it first, no Table) and k has it. */
bool pbhttp_wants_protobuf(struct evhttp_request *req, const struct kind_info *k);
/* Sends one object (its JSON text) in protobuf; false (nothing sent) if it
 * cannot be encoded. */
bool pbhttp_send_object(struct evhttp_request *req, int code, const char *json);
/* Sends <Kind>List of items in protobuf; false (nothing sent) if an item
 * cannot be encoded. */
bool pbhttp_send_list(struct evhttp_request *req, const struct kind_info *k, const char *rv, const cJSON *items);
/* Appends one watch frame for obj to b; false if obj cannot be encoded. */
bool pbhttp_watch_frame(struct evbuffer *b, const char *type, const cJSON *obj);

#endif
