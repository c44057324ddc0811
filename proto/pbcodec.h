/* pbcodec — Kubernetes protobuf for the built-in kinds, both ways.
 * Owns: the "k8s\0" + runtime.Unknown envelope, conversion between an
 * object's protobuf message and its JSON form driven by the schema table
 * (pbschema.h), Lists and watch event frames.
 *
 * The wire format is protobuf-c's: message descriptors are built at start
 * from the schema table (fields sorted by number, one fixed-size slot per
 * field in a generic message struct), and protobuf_c_message_unpack/pack do
 * all the encoding. This module only walks the unpacked structs to produce
 * cJSON, and fills them from cJSON.
 *
 * String fields are described to protobuf-c as bytes (the same wire
 * format) so their length is known: a NUL byte inside a string, or invalid
 * UTF-8, is refused (400) rather than cut at. */
#ifndef ATOLL_PBCODEC_H
#define ATOLL_PBCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#define PBCODEC_CONTENT_TYPE "application/vnd.kubernetes.protobuf"
#define PBCODEC_STREAM_CONTENT_TYPE "application/vnd.kubernetes.protobuf;stream=watch"

/* Builds the descriptors (also done on first use). Thread-safe. */
void pbcodec_init(void);

/* Whether apiVersion/kind ("apps/v1", "Deployment") has a protobuf schema. */
bool pbcodec_has_kind(const char *api_version, const char *kind);

/* Decodes a request body: the 4 magic bytes k8s\0, then runtime.Unknown
 * whose raw is the object's message. Returns the object's JSON form with
 * apiVersion and kind set, as kubectl would have sent it in JSON, or NULL
 * with a reason in err (bad envelope, unknown kind, malformed message, a
 * non-empty field this server does not know). */
cJSON *pbcodec_decode(const void *data, size_t len, char *err, size_t errlen);
/* (A "<Kind>List" envelope decodes too: {kind, apiVersion, metadata, items}.) */

/* Encodes an object of a schema kind (apiVersion and kind taken from the
 * object) into the envelope. Returns malloc'd bytes, or NULL with err when
 * the object has a field the schema lacks or a value of the wrong type:
 * the caller then answers in JSON. */
unsigned char *pbcodec_encode(const cJSON *obj, size_t *len, char *err, size_t errlen);

/* Encodes a <Kind>List of items (objects of api_version/kind) with
 * metadata.resourceVersion = rv. Same contract as pbcodec_encode. */
unsigned char *pbcodec_encode_list(const char *api_version, const char *kind, const char *rv, const cJSON *items,
				   size_t *len, char *err, size_t errlen);

/* The object's own message, without the envelope (for a cache of items). */
unsigned char *pbcodec_encode_message(const cJSON *obj, size_t *len, char *err, size_t errlen);
/* A <Kind>List from items already encoded by pbcodec_encode_message. */
unsigned char *pbcodec_encode_list_raw(const char *api_version, const char *kind, const char *rv,
				       unsigned char *const *items, const size_t *lens, size_t n, size_t *len);

/* One frame of a protobuf watch stream: a 4-byte big-endian length, then a
 * meta/v1 WatchEvent {type, object.raw = the object's envelope}. */
unsigned char *pbcodec_encode_watch_event(const char *type, const cJSON *obj, size_t *len, char *err,
					  size_t errlen);

/* The same frame around an object's message already encoded by
 * pbcodec_encode_message (one encoding shared by every watcher). */
unsigned char *pbcodec_watch_frame_raw(const char *type, const char *api_version, const char *kind,
				      const unsigned char *msg, size_t msg_len, size_t *len);

/* Reads one frame written by pbcodec_encode_watch_event back into
 * {"type": ..., "object": ...} (tests and Go-like clients). */
cJSON *pbcodec_decode_watch_event(const void *data, size_t len, char *err, size_t errlen);

/* What a typed client does with a response, for client-side benchmarks
 * (tests/bench/bench_pblist.c): unpack an envelope (object or <Kind>List)
 * into protobuf-c's structs and free them; or fill the same structs from
 * an object's or a List's parsed JSON. 0, or -1 if it does not decode. */
int pbcodec_unpack_typed(const void *data, size_t len);
int pbcodec_fill_typed(const cJSON *obj);

/* How a client's Accept header ranks protobuf against JSON: true when the
 * first acceptable media type it lists is application/vnd.kubernetes.protobuf
 * (and it does not ask for a Table). */
bool pbcodec_accept_prefers(const char *accept);

#endif
