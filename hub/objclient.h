/* objclient — the one object client of every in-hub writer.
 * Owns: splitting store keys (objc_split_key, objc_key_name: the only
 * parsers of "<group>/<plural>/<ns>/<name>"; keys are built by store_key,
 * through objc_key, objc_prefix or obj_key), and a cache of
 * the namespaces known to exist (objc_ensure_namespace).
 * The controller's stages, the agent API and the cluster life cycle, the
 * failover, mesh and MCS controllers, the mesh reader API, events and the
 * simulator's controllers read and write API objects
 * through it, never through obj_create/obj_update/obj_delete directly, so
 * every in-process write obeys objects.c's rules and reports its result the
 * same way.
 *
 * Ownership of cJSON trees, for every function below: the function
 * takes an object passed in to be written (frees it, also when the write
 * fails), except objc_apply_in_place and objc_merge_patch, which borrow
 * theirs; `cur` arguments are borrowed; every tree handed back (a return
 * value, *stored, *gone) is the caller's to cJSON_Delete.
 *
 * Errors: a write returns 1 when the store changed, 0 for a no-op, -1 when
 * it failed; then e (optional) says why with the API's status code. The
 * client never logs (but objc_ensure_namespace_logged) and never retries:
 * the caller decides (the controller requeues the item with backoff, see
 * controller.h). */
#ifndef ATOLL_OBJCLIENT_H
#define ATOLL_OBJCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "kinds.h"
#include "objects.h"
#include "store.h"
#include "strmap.h"

/* Fault injection (tests, fault targets): called before each write; a
 * non-zero return fails the write with that HTTP code. */
typedef int (*objc_fault_fn)(const struct kind_info *k, const char *ns, const char *name, void *ud);

struct objclient {
	struct store *st;
	struct obj_ctx *objs;
	struct strmap namespaces; /* names of namespaces known to exist */
	objc_fault_fn fault;
	void *fault_ud;
	/* What this client's writes are made on behalf of (NULL: nothing in
	 * particular): the store events of its writes carry it as
	 * store_event.origin. The controller sets it for one pass
	 * (struct ctl_origin) so that its classifier can leave the pass's own
	 * writes out of the queues. */
	const void *origin;
	const void *outer_writing_for; /* the store's writing_for during a write, put back after it */
};

void objc_init(struct objclient *oc, struct store *st, struct obj_ctx *objs);
void objc_free(struct objclient *oc);
/* Forgets what the client learned from writes (after a rolled-back batch). */
void objc_forget(struct objclient *oc);
void objc_set_fault(struct objclient *oc, objc_fault_fn fault, void *ud);

/* ---- keys ---- */

struct objc_key_parts {
	char group[256], plural[256], ns[256], name[256]; /* group "core" for the core group */
};

/* The key of k ns/name (ns ignored for cluster-scoped kinds). */
const char *objc_key(char *buf, size_t len, const struct kind_info *k, const char *ns, const char *name);
/* The prefix of k's objects in ns ("": every namespace, "<group>/<plural>/"). */
const char *objc_prefix(char *buf, size_t len, const struct kind_info *k, const char *ns);
/* Splits a key into its four parts; -1 when it is not a key. */
int objc_split_key(const char *key, struct objc_key_parts *p);
/* The kind stored under a key's group and plural, or NULL. */
const struct kind_info *objc_kind_of(const struct objc_key_parts *p);
/* The last segment of a key (the object's name), or NULL. */
const char *objc_key_name(const char *key);

/* ---- reads ---- */

/* The stored object (the caller's), or NULL when missing or unreadable. */
cJSON *objc_get(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name);
cJSON *objc_get_key(struct objclient *oc, const char *key);
/* Every object under prefix, as a new array (the caller's). */
cJSON *objc_list(struct objclient *oc, const char *prefix);

/* ---- writes ---- */

/* Creates obj when cur is NULL, else replaces cur's main resource (cur is
 * the stored object the caller read: its resourceVersion is the
 * precondition). Takes obj; *stored (optional) gets the stored object. */
int objc_apply(struct objclient *oc, const struct kind_info *k, const char *ns, cJSON *obj, const cJSON *cur,
	       cJSON **stored, struct api_error *e);
/* As objc_apply with sub (SUBRES_NONE, SUBRES_STATUS, SUBRES_MAIN_AND_STATUS):
 * obj's parts named by sub replace cur's. */
int objc_apply_sub(struct objclient *oc, const struct kind_info *k, const cJSON *cur, cJSON *obj, enum subresource sub,
		   cJSON **stored, struct api_error *e);
/* obj_put_prepared through this client (its fault and origin): obj
 * borrowed, its resourceVersion set on success; 1 or -1. */
int objc_put_prepared(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		      long long expect_rev, struct api_error *e);
/* As objc_apply_sub, but obj is BORROWED: on success it is changed in place
 * into the stored object (the caller keeps using it, as obj_update_cur's
 * callers do); on failure its content is unspecified. */
int objc_apply_in_place(struct objclient *oc, const struct kind_info *k, const cJSON *cur, cJSON *obj,
			enum subresource sub, struct api_error *e);
/* obj_update_own through this client: obj (BORROWED, the stored object
 * changed in place; see objects.h) becomes the stored object. 1, or -1. */
int objc_apply_own(struct objclient *oc, const struct kind_info *k, cJSON *obj, long long old_rev,
		   double old_generation, struct api_error *e);
/* Replaces cur's status with status (takes it; NULL: none) through the
 * status subresource; 0 without a write when they are equal. */
int objc_apply_status(struct objclient *oc, const struct kind_info *k, const cJSON *cur, cJSON *status,
		      cJSON **stored, struct api_error *e);
/* Replaces ns/name by name, without a current object (obj_update; obj's
 * metadata.resourceVersion, if any, is the precondition). Takes obj. */
int objc_replace(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		 enum subresource sub, cJSON **stored, struct api_error *e);
/* Creates obj (create: objc_apply without a current object; ns/name and sub
 * unused) or replaces ns/name with it (objc_replace with sub). Takes obj. */
int objc_write(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
	       enum subresource sub, bool create, struct api_error *e);
/* A merge patch (borrowed) of ns/name. */
int objc_merge_patch(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name,
		     const cJSON *patch, enum subresource sub, cJSON **stored, struct api_error *e);
/* Deletes ns/name: 1 deleted (or marked for deletion; *gone, optional, gets
 * the object as the delete left it), 0 already gone, -1 failed. */
int objc_delete(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name, cJSON **gone,
		struct api_error *e);
/* Creates the namespace unless it exists (remembered once seen): 0 or -1. */
int objc_ensure_namespace(struct objclient *oc, const char *ns, struct api_error *e);
/* The namespace is gone (or may be): asked again next time. */
void objc_forget_namespace(struct objclient *oc, const char *ns);
/* Looks ns up afresh (it may have been deleted) and creates it unless it
 * exists; a failure is logged as a warning prefixed "<who>: ". */
void objc_ensure_namespace_logged(struct objclient *oc, const char *ns, const char *who);

#endif
