/* objects — the life cycle of API objects on top of the store.
 * Owns: what create/update/patch/delete/get mean for any kind — uid,
 * creationTimestamp, generateName, generation (spec changes only), the
 * status and scale subresources, defaulting, validation, size limits and
 * Kubernetes-style errors. The HTTP layer and the hub's controllers both
 * write through here, so every write obeys the same rules. */
#ifndef ATOLL_OBJECTS_H
#define ATOLL_OBJECTS_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "kinds.h"
#include "store.h"

#define OBJ_MAX_STORED_BYTES (1536 * 1024) /* 1.5 MiB, as etcd's default request limit */

struct api_error {
	int code;          /* HTTP status */
	char reason[32];   /* Kubernetes StatusReason */
	char message[1024];
	cJSON *causes;     /* optional details.causes array (owned) */
	char name[256];
};

void api_error_set(struct api_error *e, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_error_clear(struct api_error *e);
/* {"kind":"Status",...} for e, with details naming the resource. */
cJSON *api_error_status(const struct api_error *e, const struct kind_info *k);
/* Sets NotFound with kube's message: deployments.apps "x" not found. */
void api_error_not_found(struct api_error *e, const struct kind_info *k, const char *name);

/* SUBRES_MAIN_AND_STATUS is internal (obj_update_cur only; no URL maps to
 * it): one write replaces the main resource and the status together, so a
 * controller pass that changes both costs one revision, not two. */
enum subresource { SUBRES_NONE = 0, SUBRES_STATUS, SUBRES_SCALE, SUBRES_MAIN_AND_STATUS };

struct ssa_writer;

struct obj_ctx {
	struct store *store;
	unsigned long ip_seq; /* Service clusterIP allocation */
	/* The field manager of the next obj_create/obj_update/obj_patch (the
	 * API server sets it per request; the call takes and clears it). NULL:
	 * an internal write, recorded for no manager. */
	const struct ssa_writer *writer;
};

/* Each returns 0 and the stored JSON in *out (caller frees), or -1 with e
 * filled. obj is consumed (modified in place, not freed); after a successful
 * create or update (not dry-run) it is exactly the stored object, so callers
 * that hold it may pass out = NULL and skip printing and reparsing. */
int obj_get(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, char **out,
	    struct api_error *e);
int obj_create(struct obj_ctx *c, const struct kind_info *k, const char *ns, cJSON *obj, bool dry_run, char **out,
	       struct api_error *e);
/* Replaces the object (PUT). For kinds with a status subresource the main
 * resource keeps the stored status and the status subresource keeps the
 * stored spec/metadata. A stale metadata.resourceVersion gives 409. */
int obj_update(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
	       enum subresource sub, bool dry_run, char **out, struct api_error *e);
/* obj_update (SUBRES_NONE, SUBRES_STATUS or SUBRES_MAIN_AND_STATUS) for callers that hold the
 * current stored object cur (the hub's controllers): it is not read again.
 * cur's metadata.resourceVersion is the precondition, so a stale cur gives
 * 409 Conflict and changes nothing. */
int obj_update_cur(struct obj_ctx *c, const struct kind_info *k, const cJSON *cur, cJSON *obj, enum subresource sub,
		   char **out, struct api_error *e);
/* The write obj_update_cur(SUBRES_MAIN_AND_STATUS) makes when obj is the
 * stored object (revision old_rev, metadata.generation old_generation)
 * changed in place by its controller, with a changed spec and no other
 * change to its metadata than annotations: the same stored bytes and
 * events, without a copy of the stored object to compare with (the
 * generation goes up by one; a changed spec is never a no-op; no
 * immutable field changed). Not for an object being deleted (500). obj
 * becomes the stored object. */
int obj_update_own(struct obj_ctx *c, const struct kind_info *k, cJSON *obj, long long old_rev, double old_generation,
		   struct api_error *e);
/* True only when obj_update(SUBRES_NONE) of cur with obj would certainly
 * change nothing: obj's members (and its metadata's) equal cur's, and cur
 * has none that the update would drop (server-kept fields aside). A false
 * answer only means "take the full path" — defaulting may still make it a
 * no-op. Lets controllers skip re-rendered objects without validating them. */
bool obj_update_is_noop(const struct kind_info *k, const cJSON *cur, const cJSON *obj);
/* Stores obj (borrowed; its resourceVersion set) as k ns/name over the
 * revision expect_rev (-1: must not exist), as it is: no defaults,
 * validation or merge. For a writer that made obj what the rules above
 * would store (workfast.h checks it does). 0 or -1 with e set. */
int obj_put_prepared(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		     long long expect_rev, struct api_error *e);
/* The metadata.generation an update of old to next stores (for a kind with
 * a spec): one more when the spec differs. */
double obj_generation_after(const cJSON *old, const cJSON *next);
/* PATCH with a Content-Type. For apply patches a missing object is created
 * (*created set). */
int obj_patch(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, const char *content_type,
	      const cJSON *patch, enum subresource sub, bool dry_run, bool *created, char **out, struct api_error *e);
int obj_delete(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, char **out,
	       struct api_error *e);

/* autoscaling/v1 Scale of a stored object. */
cJSON *obj_scale_of(const struct kind_info *k, const cJSON *obj);

/* A new random (version 4) UUID, as metadata.uid: buf of 37 bytes or more. */
void obj_new_uid(char *buf, size_t len);

/* Key of an object in the store. */
const char *obj_key(char *buf, size_t len, const struct kind_info *k, const char *ns, const char *name);

/* The stored object k ns/name parsed (the caller deletes it); NULL when it is
 * missing, unreadable or not JSON. */
cJSON *obj_get_stored(struct store *st, const struct kind_info *k, const char *ns, const char *name);

/* A store_list callback: parses each value and appends it to the cJSON array
 * ud; values that are not JSON are skipped. */
int obj_list_append(const char *key, const char *value, size_t len, long long rev, void *ud);

#endif
