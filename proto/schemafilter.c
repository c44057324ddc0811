#include "schemafilter.h"

#include <stdio.h>
#include <string.h>

static const cJSON *defs_of(const cJSON *doc)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "definitions");
	if (cJSON_IsObject(d))
		return d;
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "components");
	d = cJSON_GetObjectItemCaseSensitive(c, "schemas");
	return cJSON_IsObject(d) ? d : NULL;
}

const cJSON *schemafilter_find_kind(const cJSON *doc, const char *group, const char *version, const char *kind)
{
	const cJSON *defs = defs_of(doc), *s;
	cJSON_ArrayForEach(s, defs) {
		const cJSON *gvks = cJSON_GetObjectItemCaseSensitive(s, "x-kubernetes-group-version-kind"), *g;
		cJSON_ArrayForEach(g, gvks) {
			const char *gg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "group"));
			const char *gv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "version"));
			const char *gk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "kind"));
			if (gg && gv && gk && strcmp(gg, group) == 0 && strcmp(gv, version) == 0 && strcmp(gk, kind) == 0)
				return s;
		}
	}
	return NULL;
}

/* Follows $ref and a single-element allOf (bounded: cycles end). */
static const cJSON *resolve(const cJSON *doc, const cJSON *s)
{
	for (int hops = 0; s && hops < 16; hops++) {
		const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf");
		if (cJSON_IsArray(all) && cJSON_GetArraySize(all) == 1 &&
		    !cJSON_GetObjectItemCaseSensitive(s, "properties")) {
			s = cJSON_GetArrayItem(all, 0);
			continue;
		}
		const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "$ref"));
		if (!ref)
			return s;
		const char *name = strrchr(ref, '/');
		if (!name)
			return NULL;
		s = cJSON_GetObjectItemCaseSensitive(defs_of(doc), name + 1);
	}
	return NULL;
}

static void elem_path(const char *base, const cJSON *elem, int i, char *out, size_t len)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(elem, "name"));
	if (name)
		snprintf(out, len, "%s[name=\"%s\"]", base, name);
	else
		snprintf(out, len, "%s[%d]", base, i);
}

static int prune(const cJSON *doc, const cJSON *schema, cJSON *obj, const char *path, cJSON *dropped, bool remove,
		 int depth)
{
	schema = resolve(doc, schema);
	if (!schema || depth > 64)
		return 0;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(schema, "x-kubernetes-preserve-unknown-fields")))
		return 0;
	int n = 0;
	char sub[1024];
	if (cJSON_IsObject(obj)) {
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
		const cJSON *addl = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
		if (!cJSON_IsObject(props) && !cJSON_IsObject(addl))
			return 0; /* free-form object */
		cJSON *f = obj->child, *next;
		for (; f; f = next) {
			next = f->next;
			snprintf(sub, sizeof sub, "%s.%s", path, f->string ? f->string : "");
			const cJSON *fs = cJSON_IsObject(props) ? cJSON_GetObjectItemCaseSensitive(props, f->string) : NULL;
			if (!fs && cJSON_IsObject(addl))
				fs = addl;
			if (!fs) {
				n++;
				if (dropped)
					cJSON_AddItemToArray(dropped, cJSON_CreateString(sub));
				if (remove)
					cJSON_Delete(cJSON_DetachItemViaPointer(obj, f));
				continue;
			}
			n += prune(doc, fs, f, sub, dropped, remove, depth + 1);
		}
	} else if (cJSON_IsArray(obj)) {
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
		if (!items)
			return 0;
		int i = 0;
		cJSON *e;
		cJSON_ArrayForEach(e, obj) {
			elem_path(path, e, i++, sub, sizeof sub);
			n += prune(doc, items, e, sub, dropped, remove, depth + 1);
		}
	}
	return n;
}

int schemafilter_prune(const cJSON *doc, const cJSON *schema, cJSON *obj, cJSON *dropped, bool remove)
{
	return prune(doc, schema, obj, "", dropped, remove, 0);
}
