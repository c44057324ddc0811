#include "ssa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldcheck.h"
#include "jsonutil.h"
#include "pbschema.h"

#define MEMBER "."

/* ---- the schema ---------------------------------------------------------- */

/* Custom kinds: their CRD's openAPIV3Schema turned into messages of the
 * same form as the table's (list-type, list-map-keys, map-type), numbered
 * from DYN_BASE. One table per thread, rebuilt when the kind or its schema
 * changes; only the entry points (kind_msg) rebuild it, never a walk. */
#define DYN_BASE 1000000
struct dyn_table {
	char *key; /* "<apiVersion> <Kind>\n<schema text>" */
	struct pbs_message *msgs;
	int n, cap;
};
static _Thread_local struct dyn_table dyn;

static void dyn_clear(void)
{
	for (int i = 0; i < dyn.n; i++) {
		for (int j = 0; j < dyn.msgs[i].nfields; j++) {
			free((char *)dyn.msgs[i].fields[j].json);
			free((char *)dyn.msgs[i].fields[j].keys);
		}
		free((struct pbs_field *)dyn.msgs[i].fields);
	}
	free(dyn.msgs);
	free(dyn.key);
	memset(&dyn, 0, sizeof dyn);
}

static int objectmeta_msg(void)
{
	static int om = -2;
	if (om == -2) {
		om = -1;
		for (int i = 0; i < pbs_messages_count; i++)
			if (strcmp(pbs_messages[i].name, "meta.ObjectMeta") == 0)
				om = i;
	}
	return om;
}

static int dyn_message(const cJSON *s, int depth);

/* The field for a property named name with schema p. */
static void dyn_field(struct pbs_field *f, const char *name, const cJSON *p, int depth)
{
	memset(f, 0, sizeof *f);
	f->json = strdup(name);
	f->type = PBS_STRING;
	f->msg = -1;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "type"));
	const cJSON *item = p;
	if (type && strcmp(type, "array") == 0) {
		f->card = PBS_REPEATED;
		const char *lt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-list-type"));
		const cJSON *keys = cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-list-map-keys");
		if (lt && strcmp(lt, "set") == 0) {
			f->flags |= PBS_LIST_SET;
		} else if (lt && strcmp(lt, "map") == 0 && cJSON_IsArray(keys) && keys->child) {
			char buf[256] = "";
			size_t o = 0;
			const cJSON *k;
			cJSON_ArrayForEach(k, keys)
				if (cJSON_IsString(k) && o < sizeof buf)
					o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", o ? "," : "", k->valuestring);
			f->keys = strdup(buf);
		} else {
			f->flags |= PBS_LIST_ATOMIC;
		}
		item = cJSON_GetObjectItemCaseSensitive(p, "items");
	} else if (type && strcmp(type, "object") == 0 &&
		   cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, "additionalProperties")) &&
		   !cJSON_GetObjectItemCaseSensitive(p, "properties")) {
		f->card = PBS_MAP;
		item = cJSON_GetObjectItemCaseSensitive(p, "additionalProperties");
	}
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(item, "properties"))) {
		f->type = PBS_MESSAGE;
		f->msg = dyn_message(item, depth + 1);
	}
}

/* A message for an object schema with properties; its number. */
static int dyn_message(const cJSON *s, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return -1;
	if (dyn.n == dyn.cap) {
		int cap = dyn.cap ? dyn.cap * 2 : 16;
		struct pbs_message *nm = realloc(dyn.msgs, (size_t)cap * sizeof *nm);
		if (!nm)
			return -1;
		dyn.msgs = nm;
		dyn.cap = cap;
	}
	int idx = dyn.n++;
	memset(&dyn.msgs[idx], 0, sizeof dyn.msgs[idx]);
	dyn.msgs[idx].name = "custom";
	const char *mt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "x-kubernetes-map-type"));
	dyn.msgs[idx].atomic = mt && strcmp(mt, "atomic") == 0;
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties"), *p;
	int n = cJSON_GetArraySize(props);
	struct pbs_field *fields = n > 0 ? calloc((size_t)n, sizeof *fields) : NULL;
	int k = 0;
	cJSON_ArrayForEach(p, props) {
		if (!fields || !p->string)
			break;
		if (depth == 0 && strcmp(p->string, "metadata") == 0)
			continue; /* ObjectMeta, as for every kind (below) */
		dyn_field(&fields[k++], p->string, p, depth);
	}
	/* dyn.msgs may have moved while the fields were built */
	dyn.msgs[idx].fields = fields;
	dyn.msgs[idx].nfields = k;
	return DYN_BASE + idx;
}

static int kind_msg(const struct kind_info *k)
{
	int m = pbs_kind_schema_message(k);
	if (m >= 0 || !k || !k->dynamic)
		return m;
	char av[300];
	snprintf(av, sizeof av, "%s%s%s", k->group, k->group[0] ? "/" : "", k->version);
	cJSON *schema = fieldcheck_crd_schema(av, k->kind);
	if (!schema)
		return -1;
	char *txt = cJSON_PrintUnformatted(schema), *key = NULL;
	if (!txt || asprintf(&key, "%s %s\n%s", av, k->kind, txt) < 0)
		key = NULL;
	free(txt);
	if (key && dyn.key && strcmp(key, dyn.key) == 0) {
		free(key);
		cJSON_Delete(schema);
		return dyn.n > 0 ? DYN_BASE : -1;
	}
	dyn_clear();
	dyn.key = key;
	int root = dyn_message(schema, 0);
	cJSON_Delete(schema);
	return root;
}

static const struct pbs_message *message_at(int msg)
{
	if (msg >= DYN_BASE && msg - DYN_BASE < dyn.n)
		return &dyn.msgs[msg - DYN_BASE];
	if (msg >= 0 && msg < pbs_all_messages_count)
		return &pbs_messages[msg];
	return NULL;
}

/* A raw embedded value (rt.RawExtension: Karmada's status, a Work's
 * manifests, x-kubernetes-preserve-unknown-fields): no schema below it, so
 * its maps are walked as fields and its lists are atomic, as Kubernetes
 * does for untyped values. */
static bool raw_message(int msg)
{
	return msg >= 0 && msg < pbs_all_messages_count && pbs_messages[msg].special == PBS_SPECIAL_RAW;
}

static const struct pbs_field *find_field(int msg, const char *name)
{
	if (raw_message(msg))
		return NULL;
	if (msg < DYN_BASE)
		return pbs_find_field(msg, name);
	const struct pbs_message *m = message_at(msg);
	if (m && name && msg == DYN_BASE && strcmp(name, "metadata") == 0) {
		static _Thread_local struct pbs_field meta;
		meta = (struct pbs_field){.json = "metadata", .type = PBS_MESSAGE, .msg = objectmeta_msg()};
		return meta.msg >= 0 ? &meta : NULL;
	}
	for (int i = 0; m && name && i < m->nfields; i++)
		if (strcmp(m->fields[i].json, name) == 0)
			return &m->fields[i];
	return NULL;
}

/* A struct-valued field whose value is owned and replaced whole. */
static bool atomic_object(const struct pbs_field *f)
{
	if (!f || f->type != PBS_MESSAGE || f->msg < 0)
		return false;
	const struct pbs_message *m = message_at(f->msg);
	return m && ((m->special != PBS_SPECIAL_NONE && m->special != PBS_SPECIAL_RAW) || m->atomic);
}

/* The element type of a map field, as a single field. */
static struct pbs_field map_elem(const struct pbs_field *f)
{
	struct pbs_field e = *f;
	e.card = PBS_ONE;
	e.keys = NULL;
	e.flags = 0;
	return e;
}

/* ---- path elements ------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "k:{...}" for an item of a list keyed by keys (comma-separated), sorted
 * by key name as Kubernetes writes them; NULL when the item has none of
 * them. A missing "protocol" is its default, TCP. */
static char *key_element(const cJSON *item, const char *keys)
{
	if (!cJSON_IsObject(item))
		return NULL;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", keys);
	char *names[8];
	int n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < 8; t = strtok_r(NULL, ",", &save))
		names[n++] = t;
	qsort(names, (size_t)n, sizeof names[0], cmp_str);
	cJSON *k = cJSON_CreateObject();
	int found = 0;
	for (int i = 0; i < n; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, names[i]);
		if (v && (cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v))) {
			cJSON_AddItemToObject(k, names[i], json_dup(v));
			found++;
		} else if (strcmp(names[i], "protocol") == 0) {
			cJSON_AddStringToObject(k, names[i], "TCP");
		}
	}
	char *out = NULL;
	if (found) {
		char *j = cJSON_PrintUnformatted(k);
		if (j && asprintf(&out, "k:%s", j) < 0)
			out = NULL;
		free(j);
	}
	cJSON_Delete(k);
	return out;
}

static char *value_element(const cJSON *v)
{
	char *j = cJSON_PrintUnformatted(v), *out = NULL;
	if (j && asprintf(&out, "v:%s", j) < 0)
		out = NULL;
	free(j);
	return out;
}

/* Whether every item of list has a key (a keyed list Kubernetes accepts);
 * otherwise the list is treated as atomic. */
static bool keyed_ok(const cJSON *list, const struct pbs_field *f)
{
	if (!f || !f->keys || !cJSON_IsArray(list))
		return false;
	for (const cJSON *it = list->child; it; it = it->next) {
		char *pe = key_element(it, f->keys);
		if (!pe)
			return false;
		free(pe);
	}
	return true;
}

static bool set_ok(const cJSON *list, const struct pbs_field *f)
{
	if (!f || !(f->flags & PBS_LIST_SET) || !cJSON_IsArray(list))
		return false;
	for (const cJSON *it = list->child; it; it = it->next)
		if (cJSON_IsObject(it) || cJSON_IsArray(it))
			return false;
	return true;
}

/* ---- value indexes --------------------------------------------------------
 * Sorted views of an object's members or a list's items by path element,
 * so walks over big maps and lists cost O(n log n), not O(n^2). */
struct ventry {
	char *name; /* "f:x", "k:{...}" or "v:..." */
	cJSON *item;
};

struct vindex {
	struct ventry *e;
	int n;
};

static int cmp_ventry(const void *a, const void *b)
{
	return strcmp(((const struct ventry *)a)->name, ((const struct ventry *)b)->name);
}

/* kind 'f': v's members; 'k': v's items by their keys (comma-separated);
 * 'v': v's scalar items by value. */
static void vindex_build(struct vindex *ix, const cJSON *v, char kind, const char *keys)
{
	int n = 0;
	for (const cJSON *c = v ? v->child : NULL; c; c = c->next)
		n++;
	ix->n = 0;
	ix->e = calloc((size_t)n + 1, sizeof *ix->e);
	for (cJSON *c = v && ix->e ? v->child : NULL; c; c = c->next) {
		char *name = NULL;
		if (kind == 'f') {
			if (c->string && asprintf(&name, "f:%s", c->string) < 0)
				name = NULL;
		} else if (kind == 'k') {
			name = key_element(c, keys);
		} else if (!cJSON_IsObject(c) && !cJSON_IsArray(c)) {
			name = value_element(c);
		}
		if (name) {
			ix->e[ix->n].name = name;
			ix->e[ix->n].item = c;
			ix->n++;
		}
	}
	if (ix->n > 1)
		qsort(ix->e, (size_t)ix->n, sizeof *ix->e, cmp_ventry);
}

static void vindex_free(struct vindex *ix)
{
	for (int i = 0; i < ix->n; i++)
		free(ix->e[i].name);
	free(ix->e);
	ix->e = NULL;
	ix->n = 0;
}

static struct ventry *vindex_entry(const struct vindex *ix, const char *pe)
{
	if (!ix->n || !pe)
		return NULL;
	struct ventry key = {.name = (char *)pe};
	return bsearch(&key, ix->e, (size_t)ix->n, sizeof *ix->e, cmp_ventry);
}

static cJSON *vindex_find(const struct vindex *ix, const char *pe)
{
	struct ventry *e = vindex_entry(ix, pe);
	return e ? e->item : NULL;
}

/* The key names of a "k:{...}" element, comma-separated. */
static bool key_names(const char *pe, char *buf, size_t len)
{
	cJSON *k = cJSON_Parse(pe + 2);
	size_t o = 0;
	buf[0] = '\0';
	for (const cJSON *kv = cJSON_IsObject(k) ? k->child : NULL; kv && o < len; kv = kv->next)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", kv->string);
	cJSON_Delete(k);
	return o > 0 && o < len;
}

/* An index of v fit for looking up the children of set node n. */
static void vindex_for(struct vindex *ix, const cJSON *v, const cJSON *n)
{
	ix->e = NULL;
	ix->n = 0;
	const cJSON *c = n->child;
	if (c && strcmp(c->string, MEMBER) == 0)
		c = c->next;
	if (!c || !v)
		return;
	char names[256];
	if (c->string[0] == 'f' && cJSON_IsObject(v))
		vindex_build(ix, v, 'f', NULL);
	else if (c->string[0] == 'k' && cJSON_IsArray(v) && key_names(c->string, names, sizeof names))
		vindex_build(ix, v, 'k', names);
	else if (c->string[0] == 'v' && cJSON_IsArray(v))
		vindex_build(ix, v, 'v', NULL);
}

/* ---- sets ------------------------------------------------------------------
 * A set is a tree of path elements whose children are sorted by name, with
 * "." (sorting first) marking a node that is itself a member. */

static bool is_member(const cJSON *n)
{
	return n && n->child && strcmp(n->child->string, MEMBER) == 0;
}

/* While building (before normalize): order does not matter yet. */
static void add_member(cJSON *n)
{
	cJSON_AddItemToObject(n, MEMBER, cJSON_CreateObject());
}

static cJSON *add_child(cJSON *n, const char *pe)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddItemToObject(n, pe, c);
	return c;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sorts the children of n by name and merges equal ones, all the way
 * down; *dup (if given) counts list items ("k:", "v:") seen twice. */
static void normalize(cJSON *n, int *dup, int depth)
{
	int cnt = 0;
	for (const cJSON *c = n->child; c; c = c->next)
		cnt++;
	if (cnt == 0)
		return;
	cJSON **v = malloc((size_t)cnt * sizeof *v);
	if (!v)
		return;
	int i = 0;
	for (cJSON *c = n->child; c; c = c->next)
		v[i++] = c;
	n->child = NULL;
	qsort(v, (size_t)cnt, sizeof *v, cmp_node);
	cJSON *last = NULL;
	for (i = 0; i < cnt; i++) {
		cJSON *c = v[i];
		c->next = c->prev = NULL;
		if (last && strcmp(last->string, c->string) == 0) {
			if (dup && (c->string[0] == 'k' || c->string[0] == 'v'))
				(*dup)++;
			while (c->child)
				cJSON_AddItemToArray(last, cJSON_DetachItemViaPointer(c, c->child));
			cJSON_Delete(c);
			continue;
		}
		cJSON_AddItemToArray(n, c);
		last = c;
	}
	free(v);
	if (depth < JSON_MAX_DEPTH)
		for (cJSON *c = n->child; c; c = c->next)
			normalize(c, dup, depth + 1);
}

bool ssa_set_empty(const cJSON *s)
{
	return !s || !s->child;
}

static cJSON *set_union(const cJSON *a, const cJSON *b, int depth)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *x = a ? a->child : NULL, *y = b ? b->child : NULL;
	while (x || y) {
		int c = !x ? 1 : !y ? -1 : strcmp(x->string, y->string);
		if (c < 0) {
			cJSON_AddItemToObject(out, x->string, json_dup(x));
			x = x->next;
		} else if (c > 0) {
			cJSON_AddItemToObject(out, y->string, json_dup(y));
			y = y->next;
		} else {
			cJSON_AddItemToObject(out, x->string, depth < JSON_MAX_DEPTH ? set_union(x, y, depth + 1) : json_dup(x));
			x = x->next;
			y = y->next;
		}
	}
	return out;
}

/* Equal sets (children sorted: one parallel walk). */
static bool set_equal(const cJSON *a, const cJSON *b, int depth)
{
	const cJSON *x = a ? a->child : NULL, *y = b ? b->child : NULL;
	for (; x && y; x = x->next, y = y->next)
		if (strcmp(x->string, y->string) != 0 || (depth < JSON_MAX_DEPTH && !set_equal(x, y, depth + 1)))
			return false;
	return !x && !y;
}

cJSON *ssa_set_union(const cJSON *a, const cJSON *b)
{
	return set_union(a, b, 0);
}

static cJSON *difference(const cJSON *a, const cJSON *b, int depth)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *y = b ? b->child : NULL;
	for (const cJSON *x = a ? a->child : NULL; x; x = x->next) {
		while (y && strcmp(y->string, x->string) < 0)
			y = y->next;
		if (y && strcmp(y->string, x->string) == 0) {
			if (x->child && depth < JSON_MAX_DEPTH) {
				cJSON *sub = difference(x, y, depth + 1);
				if (ssa_set_empty(sub))
					cJSON_Delete(sub);
				else
					cJSON_AddItemToObject(out, x->string, sub);
			}
			continue; /* "." in both: gone */
		}
		cJSON_AddItemToObject(out, x->string, json_dup(x));
	}
	return out;
}

cJSON *ssa_set_difference(const cJSON *a, const cJSON *b)
{
	return difference(a, b, 0);
}

static bool values_equal(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return a == b;
	return json_equal(a, b);
}

static cJSON *changed(const cJSON *node, const cJSON *a, const cJSON *b, int depth)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *first = node->child;
	bool member = is_member(node);
	const cJSON *kids = member ? first->next : first;
	/* A member with members below (a list item) changes by coming or going;
	 * a leaf by its value. */
	if (member && (kids ? (a == NULL) != (b == NULL) : !values_equal(a, b)))
		add_member(out);
	if (!kids || depth > JSON_MAX_DEPTH)
		return out;
	struct vindex ia, ib;
	vindex_for(&ia, a, node);
	vindex_for(&ib, b, node);
	for (const cJSON *c = kids; c; c = c->next) {
		cJSON *sub = changed(c, vindex_find(&ia, c->string), vindex_find(&ib, c->string), depth + 1);
		if (ssa_set_empty(sub))
			cJSON_Delete(sub);
		else
			cJSON_AddItemToObject(out, c->string, sub);
	}
	vindex_free(&ia);
	vindex_free(&ib);
	return out;
}

cJSON *ssa_changed(const cJSON *set, const cJSON *a, const cJSON *b)
{
	return changed(set, a, b, 0);
}

/* ---- field sets of objects ------------------------------------------------ */

static void fs_object(cJSON *node, const cJSON *obj, int msg, int depth);

static void fs_value(cJSON *node, const cJSON *v, const struct pbs_field *f, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		add_member(node);
		return;
	}
	if (cJSON_IsArray(v)) {
		if (v->child && f && f->card == PBS_REPEATED && keyed_ok(v, f)) {
			for (const cJSON *it = v->child; it; it = it->next) {
				char *pe = key_element(it, f->keys);
				cJSON *c = add_child(node, pe);
				free(pe);
				add_member(c);
				fs_object(c, it, f->msg, depth + 1);
			}
		} else if (v->child && f && f->card == PBS_REPEATED && set_ok(v, f)) {
			for (const cJSON *it = v->child; it; it = it->next) {
				char *pe = value_element(it);
				add_member(add_child(node, pe));
				free(pe);
			}
		} else {
			add_member(node);
		}
		return;
	}
	if (!cJSON_IsObject(v) || !v->child || atomic_object(f) || (f && f->card == PBS_REPEATED)) {
		add_member(node);
		return;
	}
	if (f && f->card == PBS_MAP) {
		struct pbs_field e = map_elem(f);
		for (const cJSON *m = v->child; m; m = m->next) {
			char pe[1100];
			snprintf(pe, sizeof pe, "f:%s", m->string);
			fs_value(add_child(node, pe), m, &e, depth + 1);
		}
		return;
	}
	fs_object(node, v, f ? f->msg : -1, depth);
}

static void fs_object(cJSON *node, const cJSON *obj, int msg, int depth)
{
	for (const cJSON *m = cJSON_IsObject(obj) ? obj->child : NULL; m; m = m->next) {
		if (!m->string)
			continue;
		char *pe = NULL;
		if (asprintf(&pe, "f:%s", m->string) < 0)
			continue;
		fs_value(add_child(node, pe), m, find_field(msg, m->string), depth + 1);
		free(pe);
	}
}

/* A copy of obj without what no manager owns. */
static cJSON *strippable(const cJSON *obj, bool strip_status)
{
	cJSON *c = json_dup(obj);
	if (!cJSON_IsObject(c)) {
		cJSON_Delete(c);
		return cJSON_CreateObject();
	}
	cJSON_DeleteItemFromObjectCaseSensitive(c, "apiVersion");
	cJSON_DeleteItemFromObjectCaseSensitive(c, "kind");
	if (strip_status)
		cJSON_DeleteItemFromObjectCaseSensitive(c, "status");
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(c, "metadata");
	static const char *const kept[] = {"name", "namespace", "uid", "resourceVersion", "generation",
					   "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp",
					   "deletionGracePeriodSeconds", "generateName", NULL};
	if (cJSON_IsObject(meta)) {
		for (int i = 0; kept[i]; i++)
			cJSON_DeleteItemFromObjectCaseSensitive(meta, kept[i]);
		if (!meta->child)
			cJSON_DeleteItemFromObjectCaseSensitive(c, "metadata");
	}
	return c;
}

cJSON *ssa_fieldset(const struct kind_info *k, const cJSON *obj, bool strip_status)
{
	cJSON *set = cJSON_CreateObject();
	cJSON *c = strippable(obj, strip_status);
	fs_object(set, c, k ? kind_msg(k) : -1, 0);
	cJSON_Delete(c);
	normalize(set, NULL, 0);
	return set;
}

/* ---- fieldsV1 ---------------------------------------------------------------- */

static cJSON *to_v1(const cJSON *n, int depth)
{
	cJSON *out = cJSON_CreateObject();
	bool inner = false;
	for (const cJSON *c = n->child; c; c = c->next)
		inner |= strcmp(c->string, MEMBER) != 0;
	for (const cJSON *c = n->child; c && depth < JSON_MAX_DEPTH; c = c->next) {
		if (strcmp(c->string, MEMBER) == 0) {
			if (inner)
				cJSON_AddItemToObject(out, MEMBER, cJSON_CreateObject());
			continue;
		}
		cJSON_AddItemToObject(out, c->string, to_v1(c, depth + 1));
	}
	return out;
}

cJSON *ssa_fieldset_to_v1(const cJSON *set)
{
	return to_v1(set, 0);
}

static cJSON *from_v1(const cJSON *n, bool root, int depth)
{
	cJSON *out = cJSON_CreateObject();
	if (!root && !n->child)
		add_member(out);
	for (const cJSON *c = n->child; c && depth < JSON_MAX_DEPTH; c = c->next) {
		if (!c->string || !cJSON_IsObject(c))
			continue;
		if (strcmp(c->string, MEMBER) == 0)
			add_member(out);
		else
			cJSON_AddItemToObject(out, c->string, from_v1(c, false, depth + 1));
	}
	return out;
}

cJSON *ssa_fieldset_from_v1(const cJSON *v1)
{
	if (!cJSON_IsObject(v1))
		return cJSON_CreateObject();
	cJSON *set = from_v1(v1, true, 0);
	normalize(set, NULL, 0);
	return set;
}

/* ---- managedFields ------------------------------------------------------------ */

struct entry {
	char *manager, *operation, *subresource, *api_version, *time;
	cJSON *set;
};

struct entries {
	struct entry *e;
	int n;
};

static char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return strdup(cJSON_IsString(v) ? v->valuestring : "");
}

static void entries_load(struct entries *es, const cJSON *obj)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *mf = cJSON_GetObjectItemCaseSensitive(meta, "managedFields");
	es->n = 0;
	es->e = calloc((size_t)(cJSON_IsArray(mf) ? cJSON_GetArraySize(mf) : 0) + 1, sizeof *es->e);
	for (const cJSON *it = cJSON_IsArray(mf) ? mf->child : NULL; it; it = it->next) {
		if (!cJSON_IsObject(it))
			continue;
		struct entry *e = &es->e[es->n++];
		e->manager = str_of(it, "manager");
		e->operation = str_of(it, "operation");
		e->subresource = str_of(it, "subresource");
		e->api_version = str_of(it, "apiVersion");
		e->time = str_of(it, "time");
		e->set = ssa_fieldset_from_v1(cJSON_GetObjectItemCaseSensitive(it, "fieldsV1"));
	}
}

static void entries_free(struct entries *es)
{
	for (int i = 0; i < es->n; i++) {
		free(es->e[i].manager);
		free(es->e[i].operation);
		free(es->e[i].subresource);
		free(es->e[i].api_version);
		free(es->e[i].time);
		cJSON_Delete(es->e[i].set);
	}
	free(es->e);
	es->e = NULL;
	es->n = 0;
}

/* The entry of (manager, operation, subresource), added empty if new. */
static struct entry *entry_for(struct entries *es, const char *manager, const char *op, const char *sub)
{
	for (int i = 0; i < es->n; i++)
		if (!strcmp(es->e[i].manager, manager) && !strcmp(es->e[i].operation, op) &&
		    !strcmp(es->e[i].subresource, sub))
			return &es->e[i];
	es->e = realloc(es->e, (size_t)(es->n + 1) * sizeof *es->e);
	struct entry *e = &es->e[es->n++];
	memset(e, 0, sizeof *e);
	e->manager = strdup(manager);
	e->operation = strdup(op);
	e->subresource = strdup(sub);
	e->api_version = strdup("");
	e->time = strdup("");
	e->set = cJSON_CreateObject();
	return e;
}

static void entry_replace_set(struct entry *e, cJSON *set)
{
	cJSON_Delete(e->set);
	e->set = set;
}

static void entry_stamp(struct entry *e, const char *api_version, const char *now)
{
	free(e->api_version);
	free(e->time);
	e->api_version = strdup(api_version ? api_version : "");
	e->time = strdup(now ? now : "");
}

/* Writes the entries that own something into obj's metadata.managedFields. */
static void entries_store(const struct entries *es, cJSON *obj)
{
	cJSON *meta = json_ensure_obj(obj, "metadata");
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < es->n; i++) {
		const struct entry *e = &es->e[i];
		if (ssa_set_empty(e->set))
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "manager", e->manager);
		cJSON_AddStringToObject(o, "operation", e->operation);
		cJSON_AddStringToObject(o, "apiVersion", e->api_version);
		if (e->time[0])
			cJSON_AddStringToObject(o, "time", e->time);
		cJSON_AddStringToObject(o, "fieldsType", "FieldsV1");
		cJSON_AddItemToObject(o, "fieldsV1", ssa_fieldset_to_v1(e->set));
		if (e->subresource[0])
			cJSON_AddStringToObject(o, "subresource", e->subresource);
		cJSON_AddItemToArray(arr, o);
	}
	if (cJSON_GetArraySize(arr) > 0)
		json_set(meta, "managedFields", arr);
	else {
		cJSON_Delete(arr);
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
	}
}

/* ---- update ----------------------------------------------------------------- */

void ssa_record_update(const struct kind_info *k, const cJSON *old, cJSON *obj, const char *manager,
		       const char *subresource, const char *api_version, const char *now, bool strip_status)
{
	struct entries es;
	entries_load(&es, old);
	/* Through /status only status changes; through the main resource
	 * everything but status. */
	bool status_only = subresource && strcmp(subresource, "status") == 0;
	cJSON *nset = ssa_fieldset(k, obj, strip_status && !status_only);
	cJSON *oset = old ? ssa_fieldset(k, old, strip_status && !status_only) : cJSON_CreateObject();
	cJSON *all = ssa_set_union(nset, oset);
	cJSON *ch = ssa_changed(all, old, obj);
	cJSON *removed = ssa_set_difference(ch, nset);
	if (!ssa_set_empty(ch)) {
		for (int i = 0; i < es.n; i++)
			entry_replace_set(&es.e[i], ssa_set_difference(es.e[i].set, ch));
		struct entry *me = entry_for(&es, manager, "Update", subresource ? subresource : "");
		cJSON *grown = ssa_set_union(me->set, ch);
		entry_replace_set(me, ssa_set_difference(grown, removed));
		cJSON_Delete(grown);
		entry_stamp(me, api_version, now);
	}
	entries_store(&es, obj);
	entries_free(&es);
	cJSON_Delete(nset);
	cJSON_Delete(oset);
	cJSON_Delete(all);
	cJSON_Delete(ch);
	cJSON_Delete(removed);
}

/* ---- apply ------------------------------------------------------------------ */

static cJSON *merge_object(const cJSON *live, const cJSON *cfg, int msg, int depth);
static cJSON *merge_members(const cJSON *live, const cJSON *cfg, int msg, const struct pbs_field *elem, int depth);

static cJSON *merge_value(const cJSON *live, const cJSON *cfg, const struct pbs_field *f, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return json_dup(cfg);
	if (cJSON_IsArray(cfg)) {
		if (f && f->card == PBS_REPEATED && keyed_ok(cfg, f) && (!live || keyed_ok(live, f))) {
			cJSON *out = cJSON_IsArray(live) ? json_dup(live) : cJSON_CreateArray();
			struct vindex ix;
			vindex_build(&ix, out, 'k', f->keys);
			for (const cJSON *it = cfg->child; it; it = it->next) {
				char *pe = key_element(it, f->keys);
				struct ventry *e = vindex_entry(&ix, pe);
				free(pe);
				if (e && e->item) {
					cJSON *nv = merge_object(e->item, it, f->msg, depth + 1);
					cJSON_ReplaceItemViaPointer(out, e->item, nv);
					e->item = nv;
				} else {
					cJSON_AddItemToArray(out, merge_object(NULL, it, f->msg, depth + 1));
				}
			}
			vindex_free(&ix);
			return out;
		}
		if (f && f->card == PBS_REPEATED && set_ok(cfg, f) && (!live || set_ok(live, f))) {
			cJSON *out = cJSON_IsArray(live) ? json_dup(live) : cJSON_CreateArray();
			struct vindex ix;
			vindex_build(&ix, out, 'v', NULL);
			for (const cJSON *it = cfg->child; it; it = it->next) {
				char *pe = value_element(it);
				if (!vindex_find(&ix, pe))
					cJSON_AddItemToArray(out, json_dup(it));
				free(pe);
			}
			vindex_free(&ix);
			return out;
		}
		return json_dup(cfg);
	}
	if (!cJSON_IsObject(cfg) || atomic_object(f) || (f && f->card == PBS_REPEATED))
		return json_dup(cfg);
	if (f && f->card == PBS_MAP) {
		struct pbs_field e = map_elem(f);
		return merge_members(live, cfg, -1, &e, depth);
	}
	return merge_object(live, cfg, f ? f->msg : -1, depth);
}

static cJSON *merge_object(const cJSON *live, const cJSON *cfg, int msg, int depth)
{
	return merge_members(live, cfg, msg, NULL, depth);
}

/* The members of cfg merged into (a copy of) live: a struct of message msg,
 * or, with elem, a map whose values are all elem. */
static cJSON *merge_members(const cJSON *live, const cJSON *cfg, int msg, const struct pbs_field *elem, int depth)
{
	cJSON *out = cJSON_IsObject(live) ? json_dup(live) : cJSON_CreateObject();
	struct vindex ix;
	vindex_build(&ix, out, 'f', NULL);
	for (const cJSON *m = cfg->child; m; m = m->next) {
		if (!m->string)
			continue;
		char *pe = NULL;
		if (asprintf(&pe, "f:%s", m->string) < 0)
			continue;
		struct ventry *e = vindex_entry(&ix, pe);
		free(pe);
		cJSON *cur = e ? e->item : NULL;
		if (cJSON_IsNull(m)) {
			if (cur) {
				cJSON_Delete(cJSON_DetachItemViaPointer(out, cur));
				e->item = NULL;
			}
			continue;
		}
		cJSON *nv = merge_value(cur, m, elem ? elem : find_field(msg, m->string), depth + 1);
		if (cur) {
			free(nv->string); /* json_dup copied the config's name */
			nv->string = strdup(cur->string);
			cJSON_ReplaceItemViaPointer(out, cur, nv);
			e->item = nv;
		} else {
			cJSON_AddItemToObject(out, m->string, nv);
		}
	}
	vindex_free(&ix);
	return out;
}

/* Removes from v what set's members name; containers emptied by it go too. */
static void remove_members(const cJSON *set, cJSON *v, int depth)
{
	if (depth >= JSON_MAX_DEPTH)
		return;
	struct vindex ix;
	vindex_for(&ix, v, set);
	for (const cJSON *c = set->child; c; c = c->next) {
		if (strcmp(c->string, MEMBER) == 0)
			continue;
		struct ventry *e = vindex_entry(&ix, c->string);
		cJSON *cv = e ? e->item : NULL;
		if (!cv)
			continue;
		if (is_member(c)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(v, cv));
			e->item = NULL;
			continue;
		}
		bool had = (cJSON_IsObject(cv) || cJSON_IsArray(cv)) && cv->child;
		remove_members(c, cv, depth + 1);
		if (had && !cv->child) {
			cJSON_Delete(cJSON_DetachItemViaPointer(v, cv));
			e->item = NULL;
		}
	}
	vindex_free(&ix);
}

/* Kubernetes' path form: .spec.containers[name="x"].image */
static void path_string(const char *const *pes, int n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && o < len; i++) {
		const char *pe = pes[i];
		if (pe[0] == 'f') {
			o += (size_t)snprintf(buf + o, len - o, ".%s", pe + 2);
		} else if (pe[0] == 'k') {
			cJSON *k = cJSON_Parse(pe + 2);
			o += (size_t)snprintf(buf + o, len - o, "[");
			for (const cJSON *kv = k ? k->child : NULL; kv && o < len; kv = kv->next) {
				char *j = cJSON_PrintUnformatted(kv);
				o += (size_t)snprintf(buf + o, len - o, "%s%s=%s", kv == k->child ? "" : ",", kv->string,
						      j ? j : "");
				free(j);
			}
			if (o < len)
				o += (size_t)snprintf(buf + o, len - o, "]");
			cJSON_Delete(k);
		} else if (pe[0] == 'v') {
			o += (size_t)snprintf(buf + o, len - o, "[=%s]", pe + 2);
		} else {
			o += (size_t)snprintf(buf + o, len - o, "[%s]", pe + 2);
		}
	}
}

struct conflicts {
	cJSON *causes;
	char msg[1024];
	int n;
	const char *last_manager;
};

static void manager_label(const struct entry *e, char *buf, size_t len)
{
	int o = snprintf(buf, len, "\"%s\"", e->manager);
	if (o > 0 && (size_t)o < len && e->subresource[0])
		o += snprintf(buf + o, len - (size_t)o, " with subresource \"%s\"", e->subresource);
	if (o > 0 && (size_t)o < len && strcmp(e->operation, "Update") == 0)
		snprintf(buf + o, len - (size_t)o, e->time[0] ? " using %s at %s" : " using %s", e->api_version, e->time);
}

static void collect_conflicts(struct conflicts *cf, const struct entry *e, const cJSON *node, const char **pes,
			      int n, cJSON *paths)
{
	if (n >= JSON_MAX_DEPTH + 28)
		return;
	if (is_member(node)) {
		char path[1024], label[512];
		path_string(pes, n, path, sizeof path);
		manager_label(e, label, sizeof label);
		cJSON *cause = cJSON_CreateObject();
		cJSON_AddStringToObject(cause, "type", "FieldManagerConflict");
		char m[600];
		snprintf(m, sizeof m, "conflict with %s", label);
		cJSON_AddStringToObject(cause, "message", m);
		cJSON_AddStringToObject(cause, "field", path);
		cJSON_AddItemToArray(cf->causes, cause);
		cJSON_AddItemToArray(paths, cJSON_CreateString(path));
		cf->n++;
	}
	for (const cJSON *c = node->child; c; c = c->next) {
		if (strcmp(c->string, MEMBER) == 0)
			continue;
		pes[n] = c->string;
		collect_conflicts(cf, e, c, pes, n + 1, paths);
	}
}

static void conflict_message(struct conflicts *cf, const struct entries *es, cJSON *const *per)
{
	size_t o = 0, len = sizeof cf->msg;
	if (cf->n == 1) {
		for (int i = 0; i < es->n; i++)
			if (per[i] && cJSON_GetArraySize(per[i]) == 1) {
				char label[512];
				manager_label(&es->e[i], label, sizeof label);
				snprintf(cf->msg, len, "Apply failed with 1 conflict: conflict with %s: %s", label,
					 cJSON_GetArrayItem(per[i], 0)->valuestring);
			}
		return;
	}
	o += (size_t)snprintf(cf->msg, len, "Apply failed with %d conflicts: ", cf->n);
	bool first = true;
	for (int i = 0; i < es->n && o < len; i++) {
		if (!per[i] || !cJSON_GetArraySize(per[i]))
			continue;
		char label[512];
		manager_label(&es->e[i], label, sizeof label);
		o += (size_t)snprintf(cf->msg + o, len - o, "%sconflicts with %s:", first ? "" : "\n", label);
		first = false;
		for (const cJSON *p = per[i]->child; p && o < len; p = p->next)
			o += (size_t)snprintf(cf->msg + o, len - o, "\n- %s", p->valuestring);
	}
}

cJSON *ssa_apply(const struct kind_info *k, const cJSON *live, const cJSON *config, const struct ssa_writer *w,
		 const char *api_version, const char *now, bool strip_status, int *code, char *err, size_t errlen,
		 cJSON **causes)
{
	*code = 0;
	if (causes)
		*causes = NULL;
	if (!cJSON_IsObject(config)) {
		*code = 400;
		snprintf(err, errlen, "the server rejected our request due to an error in our request: an apply patch must be an object");
		return NULL;
	}
	int msg = k ? kind_msg(k) : -1;
	cJSON *cfg = strippable(config, strip_status);
	cJSON *cset = cJSON_CreateObject();
	fs_object(cset, cfg, msg, 0);
	int dups = 0;
	normalize(cset, &dups, 0);
	if (dups) {
		*code = 400;
		snprintf(err, errlen, "the server rejected our request due to an error in our request: "
				      "the apply configuration has %d duplicate list entries (same keys or value)", dups);
		cJSON_Delete(cfg);
		cJSON_Delete(cset);
		return NULL;
	}
	cJSON *merged = merge_object(live, cfg, msg, 0);
	/* The server-kept fields and type meta the config carries still land. */
	if (!live) {
		cJSON_Delete(merged);
		merged = merge_object(NULL, config, msg, 0);
	}
	cJSON_Delete(cfg);

	struct entries es;
	entries_load(&es, live);
	struct entry *me = entry_for(&es, w->manager, "Apply", "");
	/* Conflicts: fields another manager owns whose value the apply changes. */
	struct conflicts cf = {.causes = cJSON_CreateArray()};
	cJSON **per = calloc((size_t)es.n, sizeof *per);
	cJSON **chg = calloc((size_t)es.n, sizeof *chg);
	for (int i = 0; i < es.n; i++) {
		if (&es.e[i] == me)
			continue;
		chg[i] = ssa_changed(es.e[i].set, live, merged);
		if (ssa_set_empty(chg[i]))
			continue;
		per[i] = cJSON_CreateArray();
		const char *pes[JSON_MAX_DEPTH + 28];
		collect_conflicts(&cf, &es.e[i], chg[i], pes, 0, per[i]);
	}
	cJSON *out = NULL;
	if (cf.n > 0 && !w->force) {
		conflict_message(&cf, &es, per);
		*code = 409;
		snprintf(err, errlen, "%s", cf.msg);
		if (causes) {
			*causes = cf.causes;
			cf.causes = NULL;
		}
		cJSON_Delete(merged);
		goto done;
	}
	/* force: the others give the fields up. */
	bool touched = false; /* anything changes but the entry's time */
	for (int i = 0; i < es.n; i++)
		if (chg[i] && !ssa_set_empty(chg[i])) {
			entry_replace_set(&es.e[i], ssa_set_difference(es.e[i].set, chg[i]));
			touched = true;
		}
	/* What the applier owned and no longer applies goes, unless someone
	 * else owns it too. */
	cJSON *dropped = ssa_set_difference(me->set, cset);
	cJSON *others = cJSON_CreateObject();
	for (int i = 0; i < es.n; i++)
		if (&es.e[i] != me) {
			cJSON *u = set_union(others, es.e[i].set, 0);
			cJSON_Delete(others);
			others = u;
		}
	cJSON *gone = ssa_set_difference(dropped, others);
	remove_members(gone, merged, 0);
	cJSON *mine = ssa_changed(cset, live, merged);
	touched = touched || !ssa_set_empty(gone) || !ssa_set_empty(mine) || !set_equal(me->set, cset, 0) ||
		  strcmp(me->api_version, api_version ? api_version : "") != 0;
	cJSON_Delete(mine);
	cJSON_Delete(dropped);
	cJSON_Delete(others);
	cJSON_Delete(gone);
	entry_replace_set(me, cset);
	cset = NULL;
	/* An apply that changes nothing keeps the entry's time, so the object
	 * stays as it was and is not written again (as in Kubernetes). */
	if (touched || !me->time[0])
		entry_stamp(me, api_version, now);
	entries_store(&es, merged);
	out = merged;
done:
	for (int i = 0; i < es.n; i++) {
		cJSON_Delete(per[i]);
		cJSON_Delete(chg[i]);
	}
	free(per);
	free(chg);
	cJSON_Delete(cf.causes);
	cJSON_Delete(cset);
	entries_free(&es);
	return out;
}

void ssa_manager_from_user_agent(const char *ua, char *buf, size_t len)
{
	if (!len)
		return;
	size_t n = ua ? strcspn(ua, "/") : 0;
	if (n > SSA_MAX_MANAGER_LEN)
		n = SSA_MAX_MANAGER_LEN;
	if (n >= len)
		n = len - 1;
	memcpy(buf, ua ? ua : "", n);
	buf[n] = '\0';
}
