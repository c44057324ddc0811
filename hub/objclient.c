#include "objclient.h"

#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "log.h"

void objc_init(struct objclient *oc, struct store *st, struct obj_ctx *objs)
{
	memset(oc, 0, sizeof *oc);
	oc->st = st;
	oc->objs = objs;
	strmap_init(&oc->namespaces, free);
}

void objc_free(struct objclient *oc) { strmap_clear(&oc->namespaces); }

void objc_forget(struct objclient *oc) { strmap_clear(&oc->namespaces); }

void objc_set_fault(struct objclient *oc, objc_fault_fn fault, void *ud)
{
	oc->fault = fault;
	oc->fault_ud = ud;
}

/* ---- keys ---------------------------------------------------------------- */

const char *objc_key(char *buf, size_t len, const struct kind_info *k, const char *ns, const char *name)
{
	return obj_key(buf, len, k, ns ? ns : "", name);
}

const char *objc_prefix(char *buf, size_t len, const struct kind_info *k, const char *ns)
{
	if (ns && *ns && k->namespaced)
		return store_key(buf, len, k->group, k->plural, ns, "");
	/* "<group>/<plural>//" less its empty namespace segment */
	store_key(buf, len, k->group, k->plural, "", "");
	size_t n = strlen(buf);
	if (n > 1 && buf[n - 1] == '/' && buf[n - 2] == '/')
		buf[n - 1] = '\0';
	return buf;
}

int objc_split_key(const char *key, struct objc_key_parts *p)
{
	char *parts[4] = {p->group, p->plural, p->ns, p->name};
	const char *s = key;
	for (int i = 0; i < 4; i++) {
		const char *e = i < 3 ? strchr(s, '/') : s + strlen(s);
		if (!e || (size_t)(e - s) >= 256)
			return -1;
		memcpy(parts[i], s, (size_t)(e - s));
		parts[i][e - s] = '\0';
		s = e + (i < 3);
	}
	return 0;
}

const struct kind_info *objc_kind_of(const struct objc_key_parts *p)
{
	const char *g = strcmp(p->group, "core") == 0 ? "" : p->group;
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		if (strcmp(k->group, g) == 0 && strcmp(k->plural, p->plural) == 0)
			return k;
	}
	return NULL;
}

const char *objc_key_name(const char *key)
{
	const char *slash = strrchr(key, '/');
	return slash ? slash + 1 : NULL;
}

/* ---- reads --------------------------------------------------------------- */

cJSON *objc_get(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name)
{
	return obj_get_stored(oc->st, k, ns ? ns : "", name);
}

cJSON *objc_get_key(struct objclient *oc, const char *key)
{
	char *raw = NULL;
	if (store_get(oc->st, key, &raw, NULL) != STORE_OK)
		return NULL;
	cJSON *o = cJSON_Parse(raw);
	free(raw);
	return o;
}

cJSON *objc_list(struct objclient *oc, const char *prefix)
{
	cJSON *arr = cJSON_CreateArray();
	store_list(oc->st, prefix, obj_list_append, arr, NULL);
	return arr;
}

/* ---- writes -------------------------------------------------------------- */

static const char *mstr(const cJSON *o, const char *field)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata"), field));
}

static bool same_rv(const cJSON *a, const cJSON *b)
{
	const char *x = mstr(a, "resourceVersion"), *y = mstr(b, "resourceVersion");
	return x && y && strcmp(x, y) == 0;
}

/* Before a write of k ns/name: the injected fault, as e (true: the write
 * fails and is not made); otherwise the store's events of the write will
 * carry this client's origin until end_write. */
static bool begin_write(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name,
			struct api_error *e)
{
	/* Saved even for a faulted write: end_write restores it either way
	 * (a write nested in another client's keeps that client's origin). */
	oc->outer_writing_for = oc->st->writing_for;
	int code = oc->fault ? oc->fault(k, ns ? ns : "", name ? name : "", oc->fault_ud) : 0;
	if (!code) {
		oc->st->writing_for = oc->origin;
		return false;
	}
	api_error_set(e, code, "InternalError", "injected fault writing %s %s/%s", k->kind, ns ? ns : "",
		      name ? name : "");
	return true;
}

static void end_write(struct objclient *oc)
{
	oc->st->writing_for = oc->outer_writing_for;
	oc->outer_writing_for = NULL;
}

/* A failed write: mine goes to e (it hands over causes) or is cleared; -1. */
static int failed(struct api_error *mine, struct api_error *e)
{
	if (e)
		*e = *mine;
	else
		api_error_clear(mine);
	return -1;
}

/* The end of every write: obj is the stored object after a success. */
static int finish(int rc, const cJSON *cur, cJSON *obj, cJSON **stored, struct api_error *mine, struct api_error *e)
{
	if (rc < 0) {
		cJSON_Delete(obj);
		if (stored)
			*stored = NULL;
		return failed(mine, e);
	}
	api_error_clear(mine);
	int changed = !cur || !same_rv(obj, cur);
	if (stored)
		*stored = obj;
	else
		cJSON_Delete(obj);
	return changed;
}

int objc_apply(struct objclient *oc, const struct kind_info *k, const char *ns, cJSON *obj, const cJSON *cur,
	       cJSON **stored, struct api_error *e)
{
	if (cur)
		return objc_apply_sub(oc, k, cur, obj, SUBRES_NONE, stored, e);
	struct api_error mine = {0};
	int rc = begin_write(oc, k, ns, mstr(obj, "name"), &mine) ? -1 : obj_create(oc->objs, k, ns ? ns : "", obj, false, NULL, &mine);
	end_write(oc);
	return finish(rc, NULL, obj, stored, &mine, e);
}

int objc_apply_sub(struct objclient *oc, const struct kind_info *k, const cJSON *cur, cJSON *obj, enum subresource sub,
		   cJSON **stored, struct api_error *e)
{
	struct api_error mine = {0};
	int rc = begin_write(oc, k, mstr(cur, "namespace"), mstr(cur, "name"), &mine)
			 ? -1
			 : obj_update_cur(oc->objs, k, cur, obj, sub, NULL, &mine);
	end_write(oc);
	return finish(rc, cur, obj, stored, &mine, e);
}

int objc_apply_in_place(struct objclient *oc, const struct kind_info *k, const cJSON *cur, cJSON *obj,
			enum subresource sub, struct api_error *e)
{
	struct api_error mine = {0};
	int rc = begin_write(oc, k, mstr(cur, "namespace"), mstr(cur, "name"), &mine)
			 ? -1
			 : obj_update_cur(oc->objs, k, cur, obj, sub, NULL, &mine);
	end_write(oc);
	if (rc < 0)
		return failed(&mine, e);
	api_error_clear(&mine);
	return !same_rv(obj, cur);
}

int objc_put_prepared(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		      long long expect_rev, struct api_error *e)
{
	struct api_error mine = {0};
	int rc = begin_write(oc, k, ns, name, &mine) ? -1
						 : obj_put_prepared(oc->objs, k, ns ? ns : "", name, obj, expect_rev, &mine);
	end_write(oc);
	if (rc < 0)
		return failed(&mine, e);
	api_error_clear(&mine);
	return 1;
}

int objc_apply_own(struct objclient *oc, const struct kind_info *k, cJSON *obj, long long old_rev,
		   double old_generation, struct api_error *e)
{
	struct api_error mine = {0};
	int rc = begin_write(oc, k, mstr(obj, "namespace"), mstr(obj, "name"), &mine)
			 ? -1
			 : obj_update_own(oc->objs, k, obj, old_rev, old_generation, &mine);
	end_write(oc);
	if (rc < 0)
		return failed(&mine, e);
	api_error_clear(&mine);
	return 1;
}

int objc_apply_status(struct objclient *oc, const struct kind_info *k, const cJSON *cur, cJSON *status,
		      cJSON **stored, struct api_error *e)
{
	const cJSON *old = json_get(cur, "status");
	if (old && status && json_equal(old, status)) {
		cJSON_Delete(status);
		if (stored)
			*stored = json_dup(cur);
		return 0;
	}
	/* Through /status only status is taken from obj; the rest is cur's. */
	cJSON *obj = cJSON_CreateObject();
	if (status)
		cJSON_AddItemToObject(obj, "status", status);
	return objc_apply_sub(oc, k, cur, obj, SUBRES_STATUS, stored, e);
}

/* A stored object printed by objects.c, parsed (NULL when none). */
static cJSON *parsed(char *out)
{
	cJSON *o = out ? cJSON_Parse(out) : NULL;
	free(out);
	return o;
}

/* The end of a write by name: out (printed by objects.c, taken) is the stored
 * object after a success; 1 or -1. */
static int finish_out(int rc, char *out, cJSON **stored, struct api_error *mine, struct api_error *e)
{
	if (stored)
		*stored = rc < 0 ? NULL : parsed(out);
	else
		free(out);
	if (rc < 0)
		return failed(mine, e);
	api_error_clear(mine);
	return 1;
}

int objc_write(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
	       enum subresource sub, bool create, struct api_error *e)
{
	if (create)
		return objc_apply(oc, k, ns, obj, NULL, NULL, e);
	return objc_replace(oc, k, ns, name, obj, sub, NULL, e);
}

int objc_replace(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name, cJSON *obj,
		 enum subresource sub, cJSON **stored, struct api_error *e)
{
	struct api_error mine = {0};
	char *out = NULL;
	int rc = begin_write(oc, k, ns, name, &mine)
			 ? -1
			 : obj_update(oc->objs, k, ns ? ns : "", name, obj, sub, false, stored ? &out : NULL, &mine);
	end_write(oc);
	cJSON_Delete(obj);
	return finish_out(rc, out, stored, &mine, e);
}

int objc_merge_patch(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name,
		     const cJSON *patch, enum subresource sub, cJSON **stored, struct api_error *e)
{
	struct api_error mine = {0};
	char *out = NULL;
	bool created = false;
	int rc = begin_write(oc, k, ns, name, &mine) ? -1
						 : obj_patch(oc->objs, k, ns ? ns : "", name, "application/merge-patch+json",
							     patch, sub, false, &created, &out, &mine);
	end_write(oc);
	return finish_out(rc, out, stored, &mine, e);
}

int objc_delete(struct objclient *oc, const struct kind_info *k, const char *ns, const char *name, cJSON **gone,
		struct api_error *e)
{
	struct api_error mine = {0};
	char *out = NULL;
	if (gone)
		*gone = NULL;
	int rc = begin_write(oc, k, ns, name, &mine) ? -1 : obj_delete(oc->objs, k, ns ? ns : "", name, &out, &mine);
	end_write(oc);
	if (rc < 0) {
		free(out);
		if (mine.code == 404) {
			api_error_clear(&mine);
			return 0;
		}
		return failed(&mine, e);
	}
	api_error_clear(&mine);
	if (gone)
		*gone = parsed(out);
	else
		free(out);
	return 1;
}

int objc_ensure_namespace(struct objclient *oc, const char *ns, struct api_error *e)
{
	if (strmap_has(&oc->namespaces, ns))
		return 0;
	const struct kind_info *k = kinds_find_kind("", "v1", "Namespace");
	cJSON *cur = objc_get(oc, k, "", ns);
	if (!cur) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "apiVersion", "v1");
		cJSON_AddStringToObject(o, "kind", "Namespace");
		json_set_str(json_ensure_obj(o, "metadata"), "name", ns);
		struct api_error mine = {0};
		if (objc_apply(oc, k, "", o, NULL, NULL, &mine) < 0 && mine.code != 409) {
			return failed(&mine, e);
		}
		api_error_clear(&mine);
	}
	cJSON_Delete(cur);
	strmap_put_str(&oc->namespaces, ns, "");
	return 0;
}

void objc_forget_namespace(struct objclient *oc, const char *ns) { strmap_del(&oc->namespaces, ns); }

void objc_ensure_namespace_logged(struct objclient *oc, const char *ns, const char *who)
{
	struct api_error e = {0};
	objc_forget_namespace(oc, ns); /* looked up every time: the namespace may have been deleted */
	if (objc_ensure_namespace(oc, ns, &e) < 0)
		log_warn("%s: cannot create namespace %s: %s", who, ns, e.message);
	api_error_clear(&e);
}
