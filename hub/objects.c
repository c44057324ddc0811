#include "objects.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "defaults.h"
#include "failover.h"
#include "jsonutil.h"
#include "patch.h"
#include "ssa.h"
#include "timefmt.h"
#include "validate.h"

void api_error_clear(struct api_error *e)
{
	cJSON_Delete(e->causes);
	memset(e, 0, sizeof *e);
}

void api_error_set(struct api_error *e, int code, const char *reason, const char *fmt, ...)
{
	e->code = code;
	snprintf(e->reason, sizeof e->reason, "%s", reason);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
}

void api_error_not_found(struct api_error *e, const struct kind_info *k, const char *name)
{
	char qr[256];
	api_error_set(e, 404, "NotFound", "%s \"%s\" not found", kind_qualified_resource(k, qr, sizeof qr), name);
	snprintf(e->name, sizeof e->name, "%s", name);
}

cJSON *api_error_status(const struct api_error *e, const struct kind_info *k)
{
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "kind", "Status");
	cJSON_AddStringToObject(st, "apiVersion", "v1");
	cJSON_AddItemToObject(st, "metadata", cJSON_CreateObject());
	cJSON_AddStringToObject(st, "status", "Failure");
	cJSON_AddStringToObject(st, "message", e->message);
	if (e->reason[0])
		cJSON_AddStringToObject(st, "reason", e->reason);
	if (k || e->name[0] || e->causes) {
		cJSON *d = cJSON_AddObjectToObject(st, "details");
		if (e->name[0])
			cJSON_AddStringToObject(d, "name", e->name);
		if (k) {
			cJSON_AddStringToObject(d, "group", k->group);
			cJSON_AddStringToObject(d, "kind", e->code == 422 ? k->kind : k->plural);
		}
		if (e->causes)
			cJSON_AddItemToObject(d, "causes", json_dup(e->causes));
	}
	cJSON_AddNumberToObject(st, "code", e->code);
	return st;
}

const char *obj_key(char *buf, size_t len, const struct kind_info *k, const char *ns, const char *name)
{
	return store_key(buf, len, k->group, k->plural, k->namespaced ? ns : "", name);
}

/* Random bytes for UIDs, taken from getrandom 16 UIDs at a time (the hub
 * makes two per create; one system call each was a quarter of its
 * getrandom and epoll_ctl calls). Refilled in a forked child. */
static void uid_random(unsigned char *b, size_t n)
{
	static unsigned char pool[256];
	static size_t left;
	static pid_t owner;
	pid_t me = getpid();
	if (left < n || owner != me) {
		if (getrandom(pool, sizeof pool, 0) != (ssize_t)sizeof pool)
			for (size_t i = 0; i < sizeof pool; i++)
				pool[i] = (unsigned char)rand();
		left = sizeof pool;
		owner = me;
	}
	memcpy(b, pool + sizeof pool - left, n);
	memset(pool + sizeof pool - left, 0, n);
	left -= n;
}

void obj_new_uid(char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	uid_random(b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	/* 8-4-4-4-12 hex digits, as %02x would print them (snprintf was 6,000
	 * instructions a UID) */
	char u[37];
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			u[o++] = '-';
		u[o++] = hex[b[i] >> 4];
		u[o++] = hex[b[i] & 15];
	}
	u[o] = '\0';
	snprintf(buf, len, "%s", u);
}

/* Kubernetes' generateName suffix alphabet (no vowels, no confusables). */
static void random_suffix(char *out, int n)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		for (size_t i = 0; i < sizeof b; i++)
			b[i] = (unsigned char)rand();
	for (int i = 0; i < n; i++)
		out[i] = alphabet[b[i % 16] % (sizeof alphabet - 1)];
	out[n] = '\0';
}

static const char *meta_str(const cJSON *obj, const char *field)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), field));
}

static long long parse_rv(const char *s)
{
	if (!s || !*s)
		return 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	return (*end || v < 0) ? -1 : v;
}

/* STORE_OK, STORE_NOT_FOUND, or STORE_ERROR when the store cannot tell
 * (etcd unreachable): that is a 500, not a missing namespace. */
static int namespace_exists(struct obj_ctx *c, const char *ns)
{
	char key[512];
	store_key(key, sizeof key, "", "namespaces", "", ns);
	return store_get(c->store, key, NULL, NULL);
}

/* Validation plus the size limit; fills e and returns -1 on failure. old:
 * the stored object on update (immutable fields), NULL on create. */
static int check_object(const struct kind_info *k, const cJSON *old, const cJSON *obj, const char *ns,
			struct api_error *e)
{
	struct validation v;
	v.n = 0; /* validate_* reset it too; not 12.8 KB of error slots a write */
	if ((old ? validate_update(k, old, obj, ns ? ns : "", &v) : validate_object(k, obj, ns ? ns : "", &v)) > 0) {
		char msg[1024];
		validation_message(k, meta_str(obj, "name") ? meta_str(obj, "name") : "", &v, msg, sizeof msg);
		api_error_set(e, 422, "Invalid", "%s", msg);
		snprintf(e->name, sizeof e->name, "%s", meta_str(obj, "name") ? meta_str(obj, "name") : "");
		e->causes = cJSON_CreateArray();
		for (int i = 0; i < v.n && i < (int)(sizeof v.errs / sizeof v.errs[0]); i++) {
			cJSON *cause = cJSON_CreateObject();
			cJSON_AddStringToObject(cause, "reason", v.errs[i].reason);
			cJSON_AddStringToObject(cause, "message", v.errs[i].message);
			cJSON_AddStringToObject(cause, "field", v.errs[i].field);
			cJSON_AddItemToArray(e->causes, cause);
		}
		return -1;
	}
	/* Print only when the cheap bound says it might be too large. */
	size_t len = json_print_bound(obj);
	if (len > OBJ_MAX_STORED_BYTES) {
		char *s = json_print(obj);
		len = s ? strlen(s) : 0;
		free(s);
	}
	if (len > OBJ_MAX_STORED_BYTES) {
		api_error_set(e, 413, "RequestEntityTooLarge", "object is too large: %zu bytes exceeds the limit of %d bytes",
			      len, OBJ_MAX_STORED_BYTES);
		return -1;
	}
	return 0;
}

static int store_rc_error(int rc, const struct kind_info *k, const char *name, struct api_error *e)
{
	char qr[256];
	kind_qualified_resource(k, qr, sizeof qr);
	snprintf(e->name, sizeof e->name, "%s", name);
	switch (rc) {
	case STORE_NOT_FOUND:
		api_error_not_found(e, k, name);
		break;
	case STORE_EXISTS:
		api_error_set(e, 409, "AlreadyExists", "%s \"%s\" already exists", qr, name);
		break;
	case STORE_CONFLICT:
		api_error_set(e, 409, "Conflict",
			      "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your "
			      "changes to the latest version and try again",
			      qr, name);
		break;
	default:
		api_error_set(e, 500, "InternalError", "Internal error occurred: storage failure writing %s \"%s\"", qr,
			      name);
		break;
	}
	return -1;
}

/* Fields a client may not set in a new object. */
static void strip_server_fields(cJSON *meta)
{
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "selfLink");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionTimestamp");
}

static void set_type_meta(const struct kind_info *k, cJSON *obj)
{
	char av[256];
	json_set_str(obj, "apiVersion", kind_api_version(k, av, sizeof av));
	json_set_str(obj, "kind", k->kind);
}

/* Checks namespace and type fields of a body against the request. */
static int check_identity(const struct kind_info *k, const char *ns, cJSON *obj, struct api_error *e)
{
	if (!cJSON_IsObject(obj)) {
		api_error_set(e, 400, "BadRequest", "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml");
		return -1;
	}
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (meta && !cJSON_IsObject(meta)) {
		api_error_set(e, 400, "BadRequest", "metadata: expected an object");
		return -1;
	}
	const char *av = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion"));
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind"));
	char want[256];
	kind_api_version(k, want, sizeof want);
	if ((av && strcmp(av, want) != 0 && !(k->dynamic && strncmp(av, k->group, strlen(k->group)) == 0)) ||
	    (kind && strcmp(kind, k->kind) != 0)) {
		api_error_set(e, 400, "BadRequest", "the API version in the data (%s) does not match the expected API version (%s)",
			      av ? av : "", want);
		if (kind && strcmp(kind, k->kind) != 0)
			api_error_set(e, 400, "BadRequest", "the kind in the data (%s) does not match the expected kind (%s)",
				      kind, k->kind);
		return -1;
	}
	const char *bns = meta_str(obj, "namespace");
	if (k->namespaced) {
		if (bns && *bns && strcmp(bns, ns) != 0) {
			api_error_set(e, 400, "BadRequest",
				      "the namespace of the provided object does not match the namespace sent on the request");
			return -1;
		}
		json_set_str(json_ensure_obj(obj, "metadata"), "namespace", ns);
	} else if (meta) {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
	}
	set_type_meta(k, obj);
	return 0;
}

int obj_get(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, char **out,
	    struct api_error *e)
{
	char key[1024];
	int rc = store_get(c->store, obj_key(key, sizeof key, k, ns, name), out, NULL);
	if (rc != STORE_OK)
		return store_rc_error(rc, k, name, e);
	return 0;
}

static void after_write(const struct kind_info *k, const cJSON *obj)
{
	if (strcmp(k->kind, "CustomResourceDefinition") == 0 && strcmp(k->group, "apiextensions.k8s.io") == 0) {
		char err[256];
		kinds_register_crd(obj, err, sizeof err);
	}
}

/* The writer of this call, taken so nested writes do not inherit it. */
static const struct ssa_writer *take_writer(struct obj_ctx *c)
{
	const struct ssa_writer *w = c->writer;
	c->writer = NULL;
	return w;
}

static bool strips_status(const struct kind_info *k)
{
	return (k->subresources & SUB_STATUS) != 0;
}

/* Records an Update by w in obj's managedFields (old NULL: a create). */
static void record_update(const struct kind_info *k, const cJSON *old, cJSON *obj, const struct ssa_writer *w,
			  enum subresource sub)
{
	char av[256], now[40];
	ssa_record_update(k, old, obj, w->manager, sub == SUBRES_STATUS ? "status" : "",
			  kind_api_version(k, av, sizeof av), time_rfc3339(time(NULL), now, sizeof now),
			  strips_status(k));
}

static int create_as(struct obj_ctx *c, const struct kind_info *k, const char *ns, cJSON *obj, bool dry_run,
		     char **out, struct api_error *e, const struct ssa_writer *w);

int obj_create(struct obj_ctx *c, const struct kind_info *k, const char *ns, cJSON *obj, bool dry_run, char **out,
	       struct api_error *e)
{
	return create_as(c, k, ns, obj, dry_run, out, e, take_writer(c));
}

static int create_as(struct obj_ctx *c, const struct kind_info *k, const char *ns, cJSON *obj, bool dry_run,
		     char **out, struct api_error *e, const struct ssa_writer *w)
{
	if (check_identity(k, ns, obj, e) < 0)
		return -1;
	cJSON *meta = json_ensure_obj(obj, "metadata");
	const char *name = meta_str(obj, "name");
	const char *gen_name = meta_str(obj, "generateName");
	char namebuf[300];
	if ((!name || !*name) && gen_name && *gen_name) {
		char sfx[8];
		random_suffix(sfx, 5);
		snprintf(namebuf, sizeof namebuf, "%.240s%s", gen_name, sfx);
		json_set_str(meta, "name", namebuf);
		name = meta_str(obj, "name");
	}
	if (!name || !*name) {
		api_error_set(e, 422, "Invalid", "%s \"\" is invalid: metadata.name: Required value: name or generateName is required",
			      k->kind);
		return -1;
	}
	int nsrc = k->namespaced ? namespace_exists(c, ns) : STORE_OK;
	if (nsrc == STORE_ERROR)
		return store_rc_error(nsrc, k, name, e);
	if (nsrc != STORE_OK) {
		api_error_set(e, 404, "NotFound", "namespaces \"%s\" not found", ns);
		snprintf(e->name, sizeof e->name, "%s", ns);
		return -1;
	}
	/* An apply has computed its managedFields; anything else's are the
	 * server's to write. */
	cJSON *applied_mf = w && w->apply ? cJSON_DetachItemFromObjectCaseSensitive(meta, "managedFields") : NULL;
	strip_server_fields(meta);
	if (applied_mf)
		cJSON_AddItemToObject(meta, "managedFields", applied_mf);
	char uid[64], ts[40];
	obj_new_uid(uid, sizeof uid);
	json_set_str(meta, "uid", uid);
	json_set_str(meta, "creationTimestamp", time_rfc3339(time(NULL), ts, sizeof ts));
	if (k->has_spec)
		json_set_num(meta, "generation", 1);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
	defaults_apply(k, obj, ++c->ip_seq);
	char pid[64];
	obj_new_uid(pid, sizeof pid);
	defaults_karmada_identity(k, NULL, obj, pid);
	failover_default_tolerations(k, obj);
	if (w && !w->apply)
		record_update(k, NULL, obj, w, SUBRES_NONE);
	if (check_object(k, NULL, obj, ns, e) < 0)
		return -1;
	if (dry_run) {
		if (out)
			*out = json_print(obj);
		return 0;
	}
	char key[1024];
	int rc = store_put(c->store, obj_key(key, sizeof key, k, ns, name), obj, -1, NULL, out);
	if (rc != STORE_OK)
		return store_rc_error(rc, k, name, e);
	after_write(k, obj);
	return 0;
}

double obj_generation_after(const cJSON *old, const cJSON *next)
{
	double g = json_get_num(old, "metadata.generation", 1);
	return json_equal(json_get(old, "spec"), json_get(next, "spec")) ? g : g + 1;
}

/* Builds the object to store from the old one and the client's new one. */
static int merge_for_update(const struct kind_info *k, const cJSON *old, cJSON *obj, enum subresource sub)
{
	cJSON *meta = json_ensure_obj(obj, "metadata");
	const cJSON *ometa = cJSON_GetObjectItemCaseSensitive(old, "metadata");
	/* Immutable identity and server-managed fields come from the old object. */
	static const char *const keep[] = {"uid", "creationTimestamp", "generation", "name", "namespace",
					   "deletionTimestamp", "deletionGracePeriodSeconds", NULL};
	for (int i = 0; keep[i]; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(ometa, keep[i]);
		if (v)
			json_set(meta, keep[i], json_dup(v));
		else
			cJSON_DeleteItemFromObjectCaseSensitive(meta, keep[i]);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
	if (sub == SUBRES_STATUS) {
		/* Only status may change through /status. */
		cJSON *status = cJSON_DetachItemFromObjectCaseSensitive(obj, "status");
		cJSON *copy = json_dup(old);
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "status");
		if (status)
			cJSON_AddItemToObject(copy, "status", status);
		/* swap contents of obj with copy */
		cJSON *child = obj->child;
		obj->child = copy->child;
		copy->child = child;
		cJSON_Delete(copy);
		return 0;
	}
	if ((k->subresources & SUB_STATUS) && sub != SUBRES_MAIN_AND_STATUS) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
		const cJSON *ostatus = cJSON_GetObjectItemCaseSensitive(old, "status");
		if (ostatus)
			cJSON_AddItemToObject(obj, "status", json_dup(ostatus));
	}
	if (strcmp(k->kind, "Service") == 0 && !k->group[0]) {
		/* A Service keeps its allocated IPs when an update omits them. */
		static const char *const ipf[] = {"clusterIP", "clusterIPs", NULL};
		cJSON *nspec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
		for (int i = 0; ipf[i] && cJSON_IsObject(nspec); i++) {
			const cJSON *ov = json_get(old, i ? "spec.clusterIPs" : "spec.clusterIP");
			if (ov && !cJSON_GetObjectItemCaseSensitive(nspec, ipf[i]))
				cJSON_AddItemToObject(nspec, ipf[i], json_dup(ov));
		}
	}
	if (k->has_spec) {
		double g = json_get_num(old, "metadata.generation", 1), next = obj_generation_after(old, obj);
		if (next != g)
			json_set_num(meta, "generation", next);
	}
	return 0;
}

/* Members of a and b equal, ignoring member `skip` (no copies: this runs on
 * every update). */
static bool equal_members_except(const cJSON *a, const cJSON *b, const char *skip)
{
	if (!cJSON_IsObject(a) || !cJSON_IsObject(b))
		return json_equal(a, b);
	int na = 0, nb = 0;
	for (const cJSON *x = a->child; x; x = x->next) {
		if (x->string && strcmp(x->string, skip) == 0)
			continue;
		na++;
		if (!json_equal(x, cJSON_GetObjectItemCaseSensitive(b, x->string)))
			return false;
	}
	for (const cJSON *y = b->child; y; y = y->next)
		nb += !(y->string && strcmp(y->string, skip) == 0);
	return na == nb;
}

/* Equal apart from resourceVersion: such an update is a no-op, as in
 * Kubernetes, and does not advance the revision. */
static bool same_object(const cJSON *old, const cJSON *obj)
{
	if (!cJSON_IsObject(old) || !cJSON_IsObject(obj))
		return json_equal(old, obj);
	int na = 0, nb = 0;
	for (const cJSON *x = old->child; x; x = x->next) {
		const cJSON *y = cJSON_GetObjectItemCaseSensitive(obj, x->string);
		na++;
		if (!y || !(x->string && strcmp(x->string, "metadata") == 0 ? equal_members_except(x, y, "resourceVersion")
									       : json_equal(x, y)))
			return false;
	}
	for (const cJSON *y = obj->child; y; y = y->next)
		nb++;
	return na == nb;
}

/* ---- finalizers and graceful deletion -------------------------------------
 * A DELETE of an object whose metadata.finalizers is not empty only sets
 * metadata.deletionTimestamp (once); the object goes when an update leaves
 * no finalizer. While it is being deleted no finalizer may be added (the
 * update keeps the old list's members only), as in Kubernetes. */

static bool has_finalizers(const cJSON *obj)
{
	return cJSON_GetArraySize(json_get(obj, "metadata.finalizers")) > 0;
}

static bool deleting_done(const cJSON *obj)
{
	return meta_str(obj, "deletionTimestamp") && !has_finalizers(obj);
}

static void keep_finalizers_while_deleting(const cJSON *old, cJSON *obj)
{
	if (!meta_str(old, "deletionTimestamp"))
		return;
	const cJSON *was = json_get(old, "metadata.finalizers");
	cJSON *now = json_get(obj, "metadata.finalizers");
	if (!cJSON_IsArray(now))
		return;
	cJSON *f = now->child, *next;
	for (; f; f = next) {
		next = f->next;
		bool known = false;
		const cJSON *g;
		cJSON_ArrayForEach(g, was) known |= json_equal(f, g);
		if (!known)
			cJSON_Delete(cJSON_DetachItemViaPointer(now, f));
	}
}

static void cascade(struct obj_ctx *c, const struct kind_info *k, const cJSON *obj);

/* An update's resourceVersion, when it gives one, must be the stored
 * object's: a malformed one is 400, another one 409 (Conflict). */
static int check_precondition(const struct kind_info *k, const char *name, const cJSON *obj, long long old_rev,
			      struct api_error *e)
{
	long long want_rv = parse_rv(meta_str(obj, "resourceVersion"));
	if (want_rv < 0) {
		api_error_set(e, 400, "BadRequest", "invalid resourceVersion");
		return -1;
	}
	if (want_rv > 0 && want_rv != old_rev)
		return store_rc_error(STORE_CONFLICT, k, name, e);
	return 0;
}

static int do_update(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, const cJSON *old,
		     long long old_rev, cJSON *obj, enum subresource sub, bool dry_run, char **out, struct api_error *e,
		     const struct ssa_writer *w)
{
	const char *bname = meta_str(obj, "name");
	if (bname && strcmp(bname, name) != 0) {
		api_error_set(e, 400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)",
			      bname, name);
		return -1;
	}
	if (check_precondition(k, name, obj, old_rev, e) < 0)
		return -1;
	cJSON *applied_mf = w && w->apply ?
		cJSON_DetachItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "managedFields") :
		NULL;
	merge_for_update(k, old, obj, sub);
	keep_finalizers_while_deleting(old, obj);
	defaults_apply(k, obj, ++c->ip_seq);
	char pid[64];
	obj_new_uid(pid, sizeof pid);
	defaults_karmada_identity(k, old, obj, pid);
	failover_default_tolerations(k, obj);
	cJSON *ometa = cJSON_GetObjectItemCaseSensitive(old, "metadata");
	cJSON *old_mf = cJSON_GetObjectItemCaseSensitive(ometa, "managedFields");
	if (applied_mf)
		json_set(json_ensure_obj(obj, "metadata"), "managedFields", applied_mf);
	else if (w)
		record_update(k, old, obj, w, sub);
	else if (old_mf)
		json_set(json_ensure_obj(obj, "metadata"), "managedFields", json_dup(old_mf));
	if (check_object(k, old, obj, ns, e) < 0)
		return -1;
	if (dry_run || same_object(old, obj)) {
		if (!dry_run)
			json_set_str(json_ensure_obj(obj, "metadata"), "resourceVersion", meta_str(old, "resourceVersion"));
		if (out)
			*out = json_print(obj);
		return 0;
	}
	char key[1024];
	obj_key(key, sizeof key, k, ns, name);
	if (deleting_done(obj)) {
		/* The last finalizer went: the deletion completes now. */
		char *last = NULL;
		int rc = store_delete(c->store, key, old_rev, NULL, &last);
		if (rc != STORE_OK)
			return store_rc_error(rc, k, name, e);
		cascade(c, k, obj);
		if (out)
			*out = json_print(obj);
		free(last);
		return 0;
	}
	int rc = store_put(c->store, key, obj, old_rev, NULL, out);
	if (rc != STORE_OK)
		return store_rc_error(rc, k, name, e);
	after_write(k, obj);
	return 0;
}

static cJSON *load(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, long long *rev,
		   int *rc)
{
	char key[1024], *raw = NULL;
	*rc = store_get(c->store, obj_key(key, sizeof key, k, ns, name), &raw, rev);
	if (*rc != STORE_OK)
		return NULL;
	cJSON *o = cJSON_Parse(raw);
	free(raw);
	if (!o)
		*rc = STORE_ERROR;
	return o;
}

cJSON *obj_scale_of(const struct kind_info *k, const cJSON *obj)
{
	cJSON *sc = cJSON_CreateObject();
	cJSON_AddStringToObject(sc, "kind", "Scale");
	cJSON_AddStringToObject(sc, "apiVersion", "autoscaling/v1");
	cJSON *meta = cJSON_AddObjectToObject(sc, "metadata");
	static const char *const fields[] = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp", NULL};
	for (int i = 0; fields[i]; i++) {
		const char *v = meta_str(obj, fields[i]);
		if (v)
			cJSON_AddStringToObject(meta, fields[i], v);
	}
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(sc, "spec"), "replicas", json_get_num(obj, "spec.replicas", 1));
	cJSON *st = cJSON_AddObjectToObject(sc, "status");
	cJSON_AddNumberToObject(st, "replicas", json_get_num(obj, "status.replicas", 0));
	const cJSON *ml = json_get(obj, "spec.selector.matchLabels");
	char sel[1024] = "";
	size_t n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, ml)
	{
		if (cJSON_IsString(it) && n < sizeof sel)
			n += (size_t)snprintf(sel + n, sizeof sel - n, "%s%s=%s", n ? "," : "", it->string, it->valuestring);
	}
	if (n)
		cJSON_AddStringToObject(st, "selector", sel);
	(void)k;
	return sc;
}

/* Applies a changed Scale back onto its object. */
static int scale_into(cJSON *obj, const cJSON *scale, struct api_error *e)
{
	const cJSON *r = json_get(scale, "spec.replicas");
	if (!cJSON_IsNumber(r) || r->valuedouble < 0 || r->valuedouble != (double)(long long)r->valuedouble) {
		api_error_set(e, 422, "Invalid", "Scale.autoscaling \"%s\" is invalid: spec.replicas: Invalid value: %s: must be greater than or equal to 0",
			      meta_str(obj, "name") ? meta_str(obj, "name") : "", cJSON_IsNumber(r) ? "negative" : "null");
		return -1;
	}
	json_set_num(json_ensure_obj(obj, "spec"), "replicas", r->valuedouble);
	return 0;
}

int obj_update(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
	       enum subresource sub, bool dry_run, char **out, struct api_error *e)
{
	const struct ssa_writer *w = take_writer(c);
	long long rev;
	int rc;
	cJSON *old = load(c, k, ns, name, &rev, &rc);
	if (!old)
		return store_rc_error(rc, k, name, e);
	int ret;
	if (sub == SUBRES_SCALE) {
		long long want = parse_rv(json_get_str(obj, "metadata.resourceVersion"));
		if (want > 0 && want != rev) {
			cJSON_Delete(old);
			return store_rc_error(STORE_CONFLICT, k, name, e);
		}
		cJSON *next = json_dup(old);
		cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(next, "metadata"), "resourceVersion");
		ret = scale_into(next, obj, e);
		char *stored = NULL;
		if (ret == 0)
			ret = do_update(c, k, ns, name, old, rev, next, SUBRES_NONE, dry_run, &stored, e, w);
		if (ret == 0) {
			cJSON *so = cJSON_Parse(stored);
			cJSON *sc = obj_scale_of(k, so);
			*out = json_print(sc);
			cJSON_Delete(sc);
			cJSON_Delete(so);
		}
		free(stored);
		cJSON_Delete(next);
	} else if (check_identity(k, ns, obj, e) < 0) {
		ret = -1;
	} else {
		ret = do_update(c, k, ns, name, old, rev, obj, sub, dry_run, out, e, w);
	}
	cJSON_Delete(old);
	return ret;
}

/* Members a replace update keeps from the stored object whatever obj says. */
static bool server_kept(const char *key, bool meta, const struct kind_info *k)
{
	if (meta)
		return strcmp(key, "uid") == 0 || strcmp(key, "creationTimestamp") == 0 ||
		       strcmp(key, "generation") == 0 || strcmp(key, "resourceVersion") == 0 ||
		       strcmp(key, "managedFields") == 0;
	return (k->subresources & SUB_STATUS) && strcmp(key, "status") == 0;
}

/* Every member of obj (at the top and in metadata) equals cur's, and cur
 * has no member there that obj would remove. */
static bool covers(const struct kind_info *k, const cJSON *cur, const cJSON *obj, bool meta)
{
	if (!cJSON_IsObject(cur) || !cJSON_IsObject(obj))
		return false;
	for (const cJSON *x = obj->child; x; x = x->next) {
		if (!x->string)
			return false;
		if (meta && strcmp(x->string, "resourceVersion") == 0) {
			if (!json_equal(x, cJSON_GetObjectItemCaseSensitive(cur, x->string)))
				return false; /* a precondition that fails is no no-op */
			continue;
		}
		if (server_kept(x->string, meta, k))
			continue;
		const cJSON *y = cJSON_GetObjectItemCaseSensitive(cur, x->string);
		if (!y)
			return false;
		if (!meta && strcmp(x->string, "metadata") == 0 ? !covers(k, y, x, true) : !json_equal(x, y))
			return false;
	}
	for (const cJSON *y = cur->child; y; y = y->next)
		if (!y->string || (!server_kept(y->string, meta, k) && !cJSON_GetObjectItemCaseSensitive(obj, y->string)))
			return false;
	return true;
}

int obj_put_prepared(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		     long long expect_rev, struct api_error *e)
{
	char key[1024];
	int rc = store_put(c->store, obj_key(key, sizeof key, k, ns, name), obj, expect_rev, NULL, NULL);
	return rc == STORE_OK ? 0 : store_rc_error(rc, k, name, e);
}

bool obj_update_is_noop(const struct kind_info *k, const cJSON *cur, const cJSON *obj)
{
	if (strcmp(k->kind, "Service") == 0 && !k->group[0])
		return false; /* IP allocation rules: take the full path */
	return covers(k, cur, obj, false);
}

int obj_update_cur(struct obj_ctx *c, const struct kind_info *k, const cJSON *cur, cJSON *obj, enum subresource sub,
		   char **out, struct api_error *e)
{
	const char *ns = meta_str(cur, "namespace"), *name = meta_str(cur, "name");
	long long rev = parse_rv(meta_str(cur, "resourceVersion"));
	if (!name || rev <= 0 || sub == SUBRES_SCALE) {
		api_error_set(e, 500, "InternalError", "obj_update_cur needs a stored object");
		return -1;
	}
	if (!ns)
		ns = "";
	if (check_identity(k, ns, obj, e) < 0)
		return -1;
	return do_update(c, k, ns, name, cur, rev, obj, sub, false, out, e, NULL);
}

int obj_update_own(struct obj_ctx *c, const struct kind_info *k, cJSON *obj, long long old_rev, double old_generation,
		   struct api_error *e)
{
	/* Copies: the steps below may replace obj's members. */
	char ns[256], name[256];
	const char *mns = meta_str(obj, "namespace"), *mname = meta_str(obj, "name");
	if (!mname || old_rev <= 0 || meta_str(obj, "deletionTimestamp") || strlen(mname) >= sizeof name ||
	    (mns && strlen(mns) >= sizeof ns)) {
		api_error_set(e, 500, "InternalError", "obj_update_own needs a stored object not being deleted");
		return -1;
	}
	snprintf(ns, sizeof ns, "%s", mns ? mns : "");
	snprintf(name, sizeof name, "%s", mname);
	if (check_identity(k, ns, obj, e) < 0)
		return -1;
	if (check_precondition(k, name, obj, old_rev, e) < 0)
		return -1;
	/* do_update's steps for this write, in its order. merge_for_update:
	 * the identity fields are the stored ones already; managedFields is
	 * removed, to be added back last; the generation follows the spec. */
	cJSON *meta = json_ensure_obj(obj, "metadata");
	cJSON *mf = cJSON_DetachItemFromObjectCaseSensitive(meta, "managedFields");
	if (k->has_spec)
		json_set_num(meta, "generation", old_generation + 1);
	defaults_apply(k, obj, ++c->ip_seq);
	char pid[64] = "";
	if (strcmp(k->group, "policy.karmada.io") == 0)
		obj_new_uid(pid, sizeof pid);
	defaults_karmada_identity(k, obj, obj, pid); /* the old labels are obj's: unchanged */
	failover_default_tolerations(k, obj);
	if (mf)
		json_set(json_ensure_obj(obj, "metadata"), "managedFields", mf);
	/* Validation and the size bound, as on every write (the applied
	 * placement alone may pass the annotations' limit); the immutable
	 * fields are the stored ones. */
	if (check_object(k, NULL, obj, ns, e) < 0)
		return -1;
	char key[1024];
	obj_key(key, sizeof key, k, ns, name);
	int rc = store_put(c->store, key, obj, old_rev, NULL, NULL);
	if (rc != STORE_OK)
		return store_rc_error(rc, k, name, e);
	after_write(k, obj);
	return 0;
}

/* Server-side apply of config by w onto old (NULL: create): the object to
 * write, managedFields computed, or NULL with e set (409 on conflicts). */
static cJSON *apply_as(const struct kind_info *k, const cJSON *old, const cJSON *config, const struct ssa_writer *w,
		       enum subresource sub, struct api_error *e)
{
	char av[256], now[40], err[1024] = "";
	int code = 0;
	cJSON *causes = NULL;
	cJSON *out = ssa_apply(k, old, config, w, kind_api_version(k, av, sizeof av),
			       time_rfc3339(time(NULL), now, sizeof now), strips_status(k) && sub == SUBRES_NONE, &code,
			       err, sizeof err, &causes);
	if (!out) {
		api_error_set(e, code ? code : 400, code == 409 ? "Conflict" : "BadRequest", "%s",
			      err[0] ? err : "invalid apply patch");
		e->causes = causes;
		return NULL;
	}
	/* A resourceVersion in the configuration is a precondition; otherwise
	 * the apply lands on whatever is current. */
	if (old && !json_get_str(config, "metadata.resourceVersion"))
		cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(out, "metadata"), "resourceVersion");
	return out;
}

int obj_patch(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, const char *content_type,
	      const cJSON *patch, enum subresource sub, bool dry_run, bool *created, char **out, struct api_error *e)
{
	const struct ssa_writer *w = take_writer(c);
	int pt = patch_type_from_content_type(content_type);
	*created = false;
	if (pt < 0) {
		api_error_set(e, 415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml%s",
			      k->builtin ? ", application/strategic-merge-patch+json" : "");
		return -1;
	}
	if (pt == PATCH_STRATEGIC && !k->builtin) {
		api_error_set(e, 415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
		return -1;
	}
	long long rev = 0;
	int rc;
	cJSON *old = load(c, k, ns, name, &rev, &rc);
	bool ssa = pt == PATCH_APPLY && w && w->apply && sub != SUBRES_SCALE;
	if (!old && rc == STORE_NOT_FOUND && pt == PATCH_APPLY && sub == SUBRES_NONE) {
		char err[1024];
		cJSON *obj = ssa ? apply_as(k, NULL, patch, w, SUBRES_NONE, e)
				 : patch_apply(PATCH_APPLY, NULL, patch, k, err, sizeof err);
		if (!obj) {
			if (!ssa)
				api_error_set(e, 400, "BadRequest", "%s", err);
			return -1;
		}
		const char *bname = meta_str(obj, "name");
		if (bname && strcmp(bname, name) != 0) {
			/* bname lives in obj: the message first, then the free. */
			api_error_set(e, 400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)",
				      bname, name);
			cJSON_Delete(obj);
			return -1;
		}
		json_set_str(json_ensure_obj(obj, "metadata"), "name", name);
		int r = create_as(c, k, ns, obj, dry_run, out, e, ssa ? w : NULL);
		cJSON_Delete(obj);
		*created = r == 0;
		return r;
	}
	if (!old)
		return store_rc_error(rc, k, name, e);
	char err[512] = "";
	int ret = -1;
	if (sub == SUBRES_SCALE) {
		cJSON *scale = obj_scale_of(k, old);
		cJSON *nscale = patch_apply((enum patch_type)pt, scale, patch, k, err, sizeof err);
		cJSON_Delete(scale);
		if (!nscale) {
			api_error_set(e, 400, "BadRequest", "%s", err[0] ? err : "invalid patch");
		} else {
			ret = obj_update(c, k, ns, name, nscale, SUBRES_SCALE, dry_run, out, e);
			cJSON_Delete(nscale);
		}
		cJSON_Delete(old);
		return ret;
	}
	if (ssa) {
		cJSON *applied = apply_as(k, old, patch, w, sub, e);
		if (applied && check_identity(k, ns, applied, e) == 0)
			ret = do_update(c, k, ns, name, old, rev, applied, sub, dry_run, out, e, w);
		cJSON_Delete(applied);
		cJSON_Delete(old);
		return ret;
	}
	cJSON *next = patch_apply((enum patch_type)pt, old, patch, k, err, sizeof err);
	if (!next) {
		bool conflict = pt == PATCH_JSON && strstr(err, "test");
		api_error_set(e, conflict ? 422 : 400, conflict ? "Invalid" : "BadRequest", "%s",
			      err[0] ? err : "the server rejected our request due to an error in our request");
		cJSON_Delete(old);
		return -1;
	}
	/* A resourceVersion in the patch is an optimistic lock; otherwise the
	 * patch applies to whatever is current. */
	const char *prv = cJSON_IsObject(patch) ? json_get_str(patch, "metadata.resourceVersion") : NULL;
	if (!prv)
		cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(next, "metadata"), "resourceVersion");
	if (check_identity(k, ns, next, e) == 0)
		ret = do_update(c, k, ns, name, old, rev, next, sub, dry_run, out, e, w);
	cJSON_Delete(next);
	cJSON_Delete(old);
	return ret;
}

struct collect {
	char **keys;
	int n, cap;
};

static int collect_key(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct collect *cl = ud;
	if (cl->n == cl->cap) {
		cl->cap = cl->cap ? cl->cap * 2 : 64;
		cl->keys = realloc(cl->keys, (size_t)cl->cap * sizeof *cl->keys);
	}
	cl->keys[cl->n++] = strdup(key);
	return 0;
}

/* Deleting a namespace removes what it holds; deleting a CRD removes its
 * kinds and their objects. */
static void cascade(struct obj_ctx *c, const struct kind_info *k, const cJSON *obj)
{
	const char *name = meta_str(obj, "name");
	struct collect cl = {0};
	if (strcmp(k->kind, "Namespace") == 0 && !k->group[0]) {
		for (int i = 0; i < kinds_count(); i++) {
			const struct kind_info *ki = kinds_at(i);
			char prefix[512];
			if (!ki->namespaced)
				continue;
			bool seen = false; /* one resource served at several versions */
			for (int j = 0; j < i && !seen; j++)
				seen = strcmp(kinds_at(j)->group, ki->group) == 0 && strcmp(kinds_at(j)->plural, ki->plural) == 0;
			if (seen)
				continue;
			store_key(prefix, sizeof prefix, ki->group, ki->plural, name, "");
			store_list(c->store, prefix, collect_key, &cl, NULL);
		}
	} else if (strcmp(k->kind, "CustomResourceDefinition") == 0) {
		const char *group = json_get_str(obj, "spec.group");
		const char *plural = json_get_str(obj, "spec.names.plural");
		if (group && plural) {
			char prefix[512];
			snprintf(prefix, sizeof prefix, "%s/%s/", group, plural);
			store_list(c->store, prefix, collect_key, &cl, NULL);
		}
		kinds_unregister_crd(name);
	}
	for (int i = 0; i < cl.n; i++) {
		store_delete(c->store, cl.keys[i], 0, NULL, NULL);
		free(cl.keys[i]);
	}
	free(cl.keys);
}

int obj_delete(struct obj_ctx *c, const struct kind_info *k, const char *ns, const char *name, char **out,
	       struct api_error *e)
{
	char key[1024];
	char *last = NULL;
	long long rev = 0;
	int lrc;
	cJSON *cur = load(c, k, ns, name, &rev, &lrc);
	if (cur && has_finalizers(cur)) {
		/* Graceful: mark it; whoever owns the finalizers finishes it. */
		int rc = STORE_OK;
		if (!meta_str(cur, "deletionTimestamp")) {
			char ts[40];
			cJSON *meta = json_ensure_obj(cur, "metadata");
			json_set_str(meta, "deletionTimestamp", time_rfc3339(time(NULL), ts, sizeof ts));
			json_set_num(meta, "deletionGracePeriodSeconds", 0);
			char *stored = NULL;
			rc = store_put(c->store, obj_key(key, sizeof key, k, ns, name), cur, rev, NULL, &stored);
			if (rc == STORE_OK) {
				*out = stored;
				cJSON_Delete(cur);
				return 0;
			}
		} else {
			*out = json_print(cur);
		}
		cJSON_Delete(cur);
		return rc == STORE_OK ? 0 : store_rc_error(rc, k, name, e);
	}
	cJSON_Delete(cur);
	int rc = store_delete(c->store, obj_key(key, sizeof key, k, ns, name), 0, NULL, &last);
	if (rc != STORE_OK)
		return store_rc_error(rc, k, name, e);
	cJSON *o = cJSON_Parse(last);
	if (o)
		cascade(c, k, o);
	cJSON_Delete(o);
	*out = last;
	return 0;
}

cJSON *obj_get_stored(struct store *st, const struct kind_info *k, const char *ns, const char *name)
{
	char key[1024], *raw = NULL;
	if (store_get(st, obj_key(key, sizeof key, k, ns, name), &raw, NULL) != STORE_OK)
		return NULL;
	cJSON *o = cJSON_Parse(raw);
	free(raw);
	return o;
}

int obj_list_append(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	(void)key;
	(void)rev;
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o)
		cJSON_AddItemToArray((cJSON *)ud, o);
	return 0;
}
