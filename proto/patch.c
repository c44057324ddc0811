#include "patch.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonutil.h"
#include "pbschema.h"

/* kubectl prints this text for a 400 on PATCH; keep it as the prefix. */
#define BAD_REQUEST "the server rejected our request due to an error in our request"
/* Kubernetes refuses JSON patches with more operations than this. */
#define JSONPATCH_MAX_OPS 10000
/* copy can double the document with every operation; cap its growth. */
#define JSONPATCH_MAX_NODES (1u << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_collection(const cJSON *j)
{
	return cJSON_IsObject(j) || cJSON_IsArray(j);
}

/* True when j nests no deeper than limit (scalars are 0, {} is 1). Stops
 * descending at the limit, so a hostile tree costs bounded stack. */
static bool depth_within(const cJSON *j, int limit)
{
	if (!is_collection(j))
		return true;
	if (limit <= 0)
		return false;
	for (const cJSON *c = j->child; c; c = c->next)
		if (!depth_within(c, limit - 1))
			return false;
	return true;
}

static bool inputs_bounded(const cJSON *a, const cJSON *b, char *err, size_t errlen)
{
	if ((a && !depth_within(a, JSON_MAX_DEPTH)) || (b && !depth_within(b, JSON_MAX_DEPTH))) {
		set_err(err, errlen, BAD_REQUEST ": nesting deeper than %d", JSON_MAX_DEPTH);
		return false;
	}
	return true;
}

static bool scalar_equal(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble == b->valuedouble;
	if (cJSON_IsString(a) && cJSON_IsString(b))
		return strcmp(a->valuestring, b->valuestring) == 0;
	if (cJSON_IsBool(a) && cJSON_IsBool(b))
		return cJSON_IsTrue(a) == cJSON_IsTrue(b);
	return cJSON_IsNull(a) && cJSON_IsNull(b);
}

static size_t count_nodes(const cJSON *j, int depth)
{
	size_t n = 1;
	if (depth > JSON_MAX_DEPTH)
		return n;
	if (is_collection(j))
		for (const cJSON *c = j->child; c; c = c->next)
			n += count_nodes(c, depth + 1);
	return n;
}

static void clear_children(cJSON *j)
{
	while (j->child)
		cJSON_Delete(cJSON_DetachItemViaPointer(j, j->child));
}

static bool has_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- Content-Type ------------------------------------------------------ */

int patch_type_from_content_type(const char *ct)
{
	static const struct {
		const char *media;
		enum patch_type type;
	} media_types[] = {
		{"application/merge-patch+json", PATCH_MERGE},
		{"application/json-patch+json", PATCH_JSON},
		{"application/strategic-merge-patch+json", PATCH_STRATEGIC},
		{"application/apply-patch+yaml", PATCH_APPLY},
	};
	if (!ct)
		return -1;
	while (isspace((unsigned char)*ct))
		ct++;
	size_t n = strcspn(ct, ";");
	while (n > 0 && isspace((unsigned char)ct[n - 1]))
		n--;
	for (size_t i = 0; i < sizeof media_types / sizeof media_types[0]; i++)
		if (strlen(media_types[i].media) == n && strncasecmp(ct, media_types[i].media, n) == 0)
			return (int)media_types[i].type;
	return -1;
}

/* ---- RFC 7386 merge patch ---------------------------------------------- */

/* Merges the object patch into the object dst in place. */
static int merge_object(cJSON *dst, const cJSON *patch, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return -1;
	for (const cJSON *p = patch->child; p; p = p->next) {
		if (!p->string)
			continue;
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(dst, p->string);
			continue;
		}
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(dst, p->string);
		if (cJSON_IsObject(p)) {
			if (!cJSON_IsObject(cur)) {
				cur = cJSON_CreateObject();
				if (!cur)
					return -1;
				json_set(dst, p->string, cur);
			}
			if (merge_object(cur, p, depth + 1) < 0)
				return -1;
			continue;
		}
		cJSON *v = json_dup(p);
		if (!v)
			return -1;
		json_set(dst, p->string, v);
	}
	return 0;
}

cJSON *patch_merge(const cJSON *target, const cJSON *patch)
{
	if (!patch || !inputs_bounded(target, patch, NULL, 0))
		return NULL;
	if (!cJSON_IsObject(patch))
		return json_dup(patch);
	cJSON *out = cJSON_IsObject(target) ? json_dup(target) : cJSON_CreateObject();
	if (!out)
		return NULL;
	if (merge_object(out, patch, 1) < 0) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

/* ---- RFC 6902 JSON patch ----------------------------------------------- */

/* A parsed RFC 6901 pointer: n unescaped reference tokens. */
struct pointer {
	char *buf;
	char **tok;
	int n;
};

static void pointer_free(struct pointer *p)
{
	free(p->buf);
	free(p->tok);
	memset(p, 0, sizeof *p);
}

static int pointer_parse(const char *path, struct pointer *p)
{
	memset(p, 0, sizeof *p);
	if (*path == '\0')
		return 0; /* the whole document */
	if (*path != '/')
		return -1;
	size_t count = 0;
	for (const char *s = path; *s; s++)
		count += *s == '/';
	if (count > INT_MAX)
		return -1;
	p->buf = malloc(strlen(path) + 1);
	p->tok = calloc(count, sizeof *p->tok);
	if (!p->buf || !p->tok) {
		pointer_free(p);
		return -1;
	}
	char *w = p->buf;
	for (const char *s = path; *s; s++) {
		if (*s == '/') {
			if (p->n > 0)
				*w++ = '\0';
			p->tok[p->n++] = w;
		} else if (*s == '~') {
			if (s[1] != '0' && s[1] != '1') {
				pointer_free(p);
				return -1;
			}
			*w++ = s[1] == '0' ? '~' : '/';
			s++;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return 0;
}

/* RFC 6901 array index: "0" or digits without a leading zero. */
static bool parse_index(const char *tok, int *out)
{
	if (!*tok || (tok[0] == '0' && tok[1]))
		return false;
	long v = 0;
	for (const char *s = tok; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return false;
	}
	*out = (int)v;
	return true;
}

static cJSON *resolve(cJSON *doc, char **tok, int n)
{
	cJSON *cur = doc;
	for (int i = 0; i < n && cur; i++) {
		int idx;
		if (cJSON_IsObject(cur))
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok[i]);
		else if (cJSON_IsArray(cur) && parse_index(tok[i], &idx))
			cur = cJSON_GetArrayItem(cur, idx);
		else
			cur = NULL;
	}
	return cur;
}

cJSON *patch_pointer_get(const cJSON *doc, const char *pointer)
{
	struct pointer p;
	if (!pointer || pointer_parse(pointer, &p) < 0)
		return NULL;
	cJSON *v = resolve((cJSON *)doc, p.tok, p.n);
	pointer_free(&p);
	return v;
}

/* cJSON_InsertItemInArray fails on some patched 1.7.15 builds (Debian
 * 1.7.15-1+deb12u4 returns false for every index), so link by hand,
 * keeping cJSON's invariant that child->prev is the last item. */
static void array_insert(cJSON *array, int idx, cJSON *item)
{
	cJSON *after = cJSON_GetArrayItem(array, idx);
	if (!after) {
		cJSON_AddItemToArray(array, item);
		return;
	}
	item->next = after;
	item->prev = after->prev;
	after->prev = item;
	if (after == array->child)
		array->child = item;
	else
		item->prev->next = item;
}

struct jsonpatch {
	cJSON *doc;
	size_t nodes; /* upper bound of the document's size */
	const char *op;
	const char *path;
	char *err;
	size_t errlen;
};

static int op_fail(struct jsonpatch *jp, const char *why, const char *path)
{
	set_err(jp->err, jp->errlen, "jsonpatch %s operation does not apply: %s: %s", jp->op, why, path);
	return -1;
}

/* Checks that value (owned, freed on refusal) may be stored at ptr: the
 * document must stay within JSON_MAX_DEPTH and the node budget. */
static int jp_admit(struct jsonpatch *jp, const struct pointer *ptr, cJSON *value)
{
	if (!depth_within(value, JSON_MAX_DEPTH - ptr->n)) {
		cJSON_Delete(value);
		return op_fail(jp, "result nests too deeply at", jp->path);
	}
	jp->nodes += count_nodes(value, 0);
	if (jp->nodes > JSONPATCH_MAX_NODES) {
		cJSON_Delete(value);
		return op_fail(jp, "result too large at", jp->path);
	}
	return 0;
}

/* Adds value (owned, freed on failure) at ptr. */
static int jp_add(struct jsonpatch *jp, const struct pointer *ptr, cJSON *value)
{
	if (jp_admit(jp, ptr, value) < 0)
		return -1;
	if (ptr->n == 0) {
		cJSON_Delete(jp->doc);
		jp->doc = value;
		return 0;
	}
	cJSON *parent = resolve(jp->doc, ptr->tok, ptr->n - 1);
	const char *last = ptr->tok[ptr->n - 1];
	if (cJSON_IsObject(parent)) {
		json_set(parent, last, value);
		return 0;
	}
	if (cJSON_IsArray(parent)) {
		int size = cJSON_GetArraySize(parent), idx = size;
		if (strcmp(last, "-") != 0 && (!parse_index(last, &idx) || idx > size)) {
			cJSON_Delete(value);
			return op_fail(jp, "index out of bounds", jp->path);
		}
		array_insert(parent, idx, value);
		return 0;
	}
	cJSON_Delete(value);
	return op_fail(jp, "doc is missing path", jp->path);
}

/* Detaches and returns the value at ptr (never the root), NULL if absent. */
static cJSON *jp_detach(struct jsonpatch *jp, const struct pointer *ptr, const char *path)
{
	if (ptr->n == 0) {
		op_fail(jp, "cannot remove the whole document", path);
		return NULL;
	}
	cJSON *parent = resolve(jp->doc, ptr->tok, ptr->n - 1);
	cJSON *item = NULL;
	if (parent)
		item = resolve(parent, ptr->tok + ptr->n - 1, 1);
	if (!item) {
		op_fail(jp, "doc is missing path", path);
		return NULL;
	}
	return cJSON_DetachItemViaPointer(parent, item);
}

static int jp_replace(struct jsonpatch *jp, const struct pointer *ptr, cJSON *value)
{
	if (ptr->n == 0)
		return jp_add(jp, ptr, value);
	cJSON *parent = resolve(jp->doc, ptr->tok, ptr->n - 1);
	cJSON *item = parent ? resolve(parent, ptr->tok + ptr->n - 1, 1) : NULL;
	if (!item) {
		cJSON_Delete(value);
		return op_fail(jp, "doc is missing path", jp->path);
	}
	/* Replacing in place keeps the member's position in the object. */
	if (cJSON_IsObject(parent)) {
		if (jp_admit(jp, ptr, value) < 0)
			return -1;
		cJSON_ReplaceItemInObjectCaseSensitive(parent, ptr->tok[ptr->n - 1], value);
		return 0;
	}
	cJSON_Delete(cJSON_DetachItemViaPointer(parent, item));
	return jp_add(jp, ptr, value);
}

/* True when a is a proper prefix of b: moving a value into itself. */
static bool pointer_is_proper_prefix(const struct pointer *a, const struct pointer *b)
{
	if (a->n >= b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->tok[i], b->tok[i]) != 0)
			return false;
	return true;
}

static bool pointer_equal(const struct pointer *a, const struct pointer *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->tok[i], b->tok[i]) != 0)
			return false;
	return true;
}

static int jp_apply_op(struct jsonpatch *jp, const cJSON *op)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(op, "op");
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(op, "path");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(op, "from");
	if (!cJSON_IsString(kind)) {
		set_err(jp->err, jp->errlen, BAD_REQUEST ": jsonpatch operation has no \"op\"");
		return -1;
	}
	jp->op = kind->valuestring;
	const char *k = kind->valuestring;
	bool needs_value = !strcmp(k, "add") || !strcmp(k, "replace") || !strcmp(k, "test");
	bool needs_from = !strcmp(k, "move") || !strcmp(k, "copy");
	if (!needs_value && !needs_from && strcmp(k, "remove") != 0) {
		set_err(jp->err, jp->errlen, BAD_REQUEST ": unexpected jsonpatch operation \"%s\"", k);
		return -1;
	}
	if (!cJSON_IsString(path)) {
		set_err(jp->err, jp->errlen, BAD_REQUEST ": jsonpatch %s operation has no \"path\"", k);
		return -1;
	}
	jp->path = path->valuestring;
	if (needs_value && !value) {
		set_err(jp->err, jp->errlen, BAD_REQUEST ": jsonpatch %s operation has no \"value\"", k);
		return -1;
	}
	if (needs_from && !cJSON_IsString(from)) {
		set_err(jp->err, jp->errlen, BAD_REQUEST ": jsonpatch %s operation has no \"from\"", k);
		return -1;
	}
	struct pointer ptr, src = {0};
	if (pointer_parse(path->valuestring, &ptr) < 0)
		return op_fail(jp, "invalid JSON pointer", path->valuestring);
	if (needs_from && pointer_parse(from->valuestring, &src) < 0) {
		pointer_free(&ptr);
		return op_fail(jp, "invalid JSON pointer", from->valuestring);
	}

	int rc = 0;
	if (!strcmp(k, "add")) {
		cJSON *v = json_dup(value);
		rc = v ? jp_add(jp, &ptr, v) : -1;
	} else if (!strcmp(k, "replace")) {
		cJSON *v = json_dup(value);
		rc = v ? jp_replace(jp, &ptr, v) : -1;
	} else if (!strcmp(k, "remove")) {
		cJSON *gone = jp_detach(jp, &ptr, path->valuestring);
		rc = gone ? 0 : -1;
		cJSON_Delete(gone);
	} else if (!strcmp(k, "test")) {
		const cJSON *cur = resolve(jp->doc, ptr.tok, ptr.n);
		if (!cur) {
			rc = op_fail(jp, "doc is missing path", path->valuestring);
		} else if (!json_equal(cur, value)) {
			char *want = json_print(value);
			set_err(jp->err, jp->errlen, "jsonpatch test operation does not apply: value at %s is not %.200s",
				path->valuestring, want ? want : "the expected value");
			free(want);
			rc = -1;
		}
	} else if (!strcmp(k, "copy")) {
		const cJSON *cur = resolve(jp->doc, src.tok, src.n);
		cJSON *v = cur ? json_dup(cur) : NULL;
		rc = v ? jp_add(jp, &ptr, v) : op_fail(jp, "doc is missing from path", from->valuestring);
	} else { /* move */
		if (pointer_is_proper_prefix(&src, &ptr)) {
			rc = op_fail(jp, "cannot move a value into itself", path->valuestring);
		} else if (pointer_equal(&src, &ptr)) {
			if (!resolve(jp->doc, src.tok, src.n))
				rc = op_fail(jp, "doc is missing from path", from->valuestring);
		} else {
			cJSON *v = jp_detach(jp, &src, from->valuestring);
			rc = v ? jp_add(jp, &ptr, v) : -1;
		}
	}
	pointer_free(&ptr);
	pointer_free(&src);
	return rc;
}

cJSON *patch_json(const cJSON *target, const cJSON *ops, char *err, size_t errlen)
{
	if (!target) {
		set_err(err, errlen, BAD_REQUEST ": no document to patch");
		return NULL;
	}
	if (!cJSON_IsArray(ops)) {
		set_err(err, errlen, BAD_REQUEST ": a JSON patch must be an array of operations");
		return NULL;
	}
	if (!inputs_bounded(target, ops, err, errlen))
		return NULL;
	if (cJSON_GetArraySize(ops) > JSONPATCH_MAX_OPS) {
		set_err(err, errlen, BAD_REQUEST ": more than %d jsonpatch operations", JSONPATCH_MAX_OPS);
		return NULL;
	}
	struct jsonpatch jp = {.doc = json_dup(target), .err = err, .errlen = errlen};
	if (!jp.doc)
		return NULL;
	jp.nodes = count_nodes(jp.doc, 0);
	for (const cJSON *op = ops->child; op; op = op->next) {
		if (!cJSON_IsObject(op)) {
			set_err(err, errlen, BAD_REQUEST ": a jsonpatch operation must be an object");
			cJSON_Delete(jp.doc);
			return NULL;
		}
		if (jp_apply_op(&jp, op) < 0) {
			cJSON_Delete(jp.doc);
			return NULL;
		}
	}
	return jp.doc;
}

/* ---- Strategic merge patch --------------------------------------------- */

/* Where a map sits. For kinds in the schema table a context >= 0 is the
 * map's message there, and merge keys come from the table
 * (proto/schema/k8s.schema: keys=, set). Negative contexts are for kinds
 * and maps the table does not describe: the name-based rules below. */
enum smp_ctx { CTX_ANY = -5, CTX_ROOT = -4, CTX_SERVICE_SPEC = -3, CTX_CONTAINER = -2, CTX_OTHER = -1 };

enum list_strategy {
	LIST_REPLACE, /* the patch list replaces the live one */
	LIST_KEYED,   /* object items merge by a merge key */
	LIST_SET,     /* scalars merge as a set (patchStrategy merge on a []string) */
};

/* Kubernetes' patchMergeKey/patchStrategy tags for maps the schema table
 * does not describe (Karmada kinds, fields the table lacks), by field name
 * and, where a name means different things, by the map holding the list.
 * Lists not named here replace. */
static const struct list_rule {
	const char *field;
	enum smp_ctx where;
	enum list_strategy strategy;
	const char *key;
} list_rules[] = {
	{"containers", CTX_ANY, LIST_KEYED, "name"},
	{"initContainers", CTX_ANY, LIST_KEYED, "name"},
	{"ephemeralContainers", CTX_ANY, LIST_KEYED, "name"},
	{"volumes", CTX_ANY, LIST_KEYED, "name"},
	{"env", CTX_ANY, LIST_KEYED, "name"},
	{"imagePullSecrets", CTX_ANY, LIST_KEYED, "name"},
	{"volumeMounts", CTX_ANY, LIST_KEYED, "mountPath"},
	{"volumeDevices", CTX_ANY, LIST_KEYED, "devicePath"},
	{"ports", CTX_CONTAINER, LIST_KEYED, "containerPort"},
	{"ports", CTX_SERVICE_SPEC, LIST_KEYED, "port"},
	{"conditions", CTX_ANY, LIST_KEYED, "type"},
	{"hostAliases", CTX_ANY, LIST_KEYED, "ip"},
	{"topologySpreadConstraints", CTX_ANY, LIST_KEYED, "topologyKey"},
	{"ownerReferences", CTX_ANY, LIST_KEYED, "uid"},
	{"finalizers", CTX_ANY, LIST_SET, NULL},
	/* Kubernetes declares no merge key for these: listed for the record. */
	{"tolerations", CTX_ANY, LIST_REPLACE, NULL},
	{"envFrom", CTX_ANY, LIST_REPLACE, NULL},
	{"args", CTX_ANY, LIST_REPLACE, NULL},
	{"command", CTX_ANY, LIST_REPLACE, NULL},
};

/* A rule read from the schema table: the patchMergeKey is the first of the
 * list's keys. One per message field, built on first use. */
struct schema_rule {
	struct list_rule rule;
	char key[64];
};

static const struct list_rule *schema_rule_for(const struct pbs_field *f)
{
	static struct schema_rule *rules;
	static int nrules;
	if (!f || f->card != PBS_REPEATED || (!f->keys && !(f->flags & PBS_LIST_SET)))
		return NULL;
	for (int i = 0; i < nrules; i++)
		if (rules[i].rule.field == f->json && !strcmp(rules[i].key, f->keys ? f->keys : ""))
			return &rules[i].rule;
	/* Few distinct fields carry list semantics: the cache stays small. */
	struct schema_rule *grown = realloc(rules, (size_t)(nrules + 1) * sizeof *rules);
	if (!grown)
		return NULL;
	rules = grown;
	/* The array moved: fix the key pointers. */
	for (int i = 0; i < nrules; i++)
		if (rules[i].rule.key)
			rules[i].rule.key = rules[i].key;
	struct schema_rule *r = &rules[nrules++];
	memset(r, 0, sizeof *r);
	r->rule.field = f->json;
	r->rule.where = CTX_ANY;
	if (f->keys) {
		snprintf(r->key, sizeof r->key, "%.*s", (int)strcspn(f->keys, ","), f->keys);
		r->rule.strategy = LIST_KEYED;
		r->rule.key = r->key;
	} else {
		r->rule.strategy = LIST_SET;
	}
	return &r->rule;
}

static const struct list_rule *list_rule_for(const char *field, int where)
{
	if (where >= 0)
		return schema_rule_for(pbs_find_field(where, field));
	for (size_t i = 0; i < sizeof list_rules / sizeof list_rules[0]; i++)
		if (strcmp(list_rules[i].field, field) == 0 &&
		    (list_rules[i].where == CTX_ANY || list_rules[i].where == where))
			return &list_rules[i];
	return NULL;
}

/* The context of a map that is the value of field in a map at ctx: its
 * message when the table knows it; without a schema, items of these lists
 * are containers, whose "ports" key by containerPort. */
static int child_ctx(const char *field, int ctx)
{
	if (ctx >= 0) {
		const struct pbs_field *f = pbs_find_field(ctx, field);
		if (f && f->type == PBS_MESSAGE && f->card != PBS_MAP && f->msg >= 0 &&
		    pbs_messages[f->msg].special == PBS_SPECIAL_NONE)
			return f->msg;
		return CTX_OTHER;
	}
	if (!strcmp(field, "containers") || !strcmp(field, "initContainers") ||
	    !strcmp(field, "ephemeralContainers"))
		return CTX_CONTAINER;
	return CTX_OTHER;
}

#define DIRECTIVE_PATCH "$patch"
#define DIRECTIVE_RETAIN_KEYS "$retainKeys"
#define PREFIX_SET_ORDER "$setElementOrder/"
#define PREFIX_DELETE_PRIMITIVE "$deleteFromPrimitiveList/"

enum { SMP_ERR = -1, SMP_OK = 0, SMP_DELETE = 1 };

struct smp {
	const struct kind_info *kind;
	char *err;
	size_t errlen;
};

static int smp_fail(struct smp *s, const char *why, const char *field)
{
	set_err(s->err, s->errlen, BAD_REQUEST ": %s%s%s", why, field ? ": " : "", field ? field : "");
	return SMP_ERR;
}

/* The item's "$patch" value, or NULL. */
static const char *patch_directive(const cJSON *obj)
{
	const cJSON *d = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, DIRECTIVE_PATCH) : NULL;
	return cJSON_IsString(d) ? d->valuestring : NULL;
}

static bool is_merge_key_value(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v);
}

static bool item_has_key(const cJSON *item, const char *key, const cJSON *want)
{
	const cJSON *v = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, key) : NULL;
	return v && scalar_equal(v, want);
}

static int smp_map(struct smp *s, cJSON *dst, const cJSON *patch, int ctx, int depth);
static cJSON *smp_list(struct smp *s, const cJSON *live, const cJSON *patch, const char *field,
		       int ctx, int depth);

/* A list item merged against nothing: directives applied and stripped.
 * Returns NULL with *rc SMP_DELETE when the item deletes itself. */
static cJSON *smp_fresh_item(struct smp *s, const cJSON *item, const char *field, int ctx,
			     int depth, int *rc)
{
	*rc = SMP_OK;
	if (cJSON_IsObject(item)) {
		cJSON *out = cJSON_CreateObject();
		if (!out) {
			*rc = SMP_ERR;
			return NULL;
		}
		*rc = smp_map(s, out, item, child_ctx(field, ctx), depth + 1);
		if (*rc != SMP_OK) {
			cJSON_Delete(out);
			return NULL;
		}
		return out;
	}
	if (cJSON_IsArray(item)) {
		/* A list directly inside a list has no field name of its own. */
		cJSON *out = smp_list(s, NULL, item, "", ctx, depth + 1);
		if (!out)
			*rc = SMP_ERR;
		return out;
	}
	cJSON *out = json_dup(item);
	if (!out)
		*rc = SMP_ERR;
	return out;
}

/* The patch list as the new value, minus directive items. */
static cJSON *smp_list_replace(struct smp *s, const cJSON *patch, const char *field, int ctx, int depth)
{
	cJSON *out = cJSON_CreateArray();
	if (!out)
		return NULL;
	for (const cJSON *it = patch->child; it; it = it->next) {
		int rc;
		const char *d = patch_directive(it);
		if (d && !strcmp(d, "replace") && cJSON_GetArraySize(it) == 1)
			continue;
		cJSON *v = smp_fresh_item(s, it, field, ctx, depth, &rc);
		if (rc == SMP_ERR) {
			cJSON_Delete(out);
			return NULL;
		}
		if (v)
			cJSON_AddItemToArray(out, v);
	}
	return out;
}

static cJSON *smp_list_set(const cJSON *live, const cJSON *patch)
{
	cJSON *out = cJSON_IsArray(live) ? json_dup(live) : cJSON_CreateArray();
	if (!out)
		return NULL;
	for (const cJSON *it = patch->child; it; it = it->next) {
		bool present = false;
		for (const cJSON *o = out->child; o && !present; o = o->next)
			present = scalar_equal(o, it);
		if (!present)
			cJSON_AddItemToArray(out, json_dup(it));
	}
	return out;
}

static cJSON *smp_list_keyed(struct smp *s, const cJSON *live, const cJSON *patch, const char *field,
			     const char *key, int ctx, int depth)
{
	cJSON *out = cJSON_IsArray(live) ? json_dup(live) : cJSON_CreateArray();
	if (!out)
		return NULL;
	for (const cJSON *it = patch->child; it; it = it->next) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(it, key);
		const char *d = patch_directive(it);
		if (d && !strcmp(d, "delete")) {
			cJSON *o = out->child;
			while (o) {
				cJSON *next = o->next;
				if (item_has_key(o, key, want))
					cJSON_Delete(cJSON_DetachItemViaPointer(out, o));
				o = next;
			}
			continue;
		}
		cJSON *match = NULL;
		for (cJSON *o = out->child; o && !match; o = o->next)
			if (item_has_key(o, key, want))
				match = o;
		int rc;
		if (match) {
			rc = smp_map(s, match, it, child_ctx(field, ctx), depth + 1);
			if (rc == SMP_DELETE)
				cJSON_Delete(cJSON_DetachItemViaPointer(out, match));
		} else {
			cJSON *v = smp_fresh_item(s, it, field, ctx, depth, &rc);
			if (v)
				cJSON_AddItemToArray(out, v);
		}
		if (rc == SMP_ERR) {
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

/* Merges the patch list into (a copy of) the live list. Returns the new
 * list, or NULL with the error set. */
static cJSON *smp_list(struct smp *s, const cJSON *live, const cJSON *patch, const char *field,
		       int ctx, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		smp_fail(s, "patch nests too deeply", NULL);
		return NULL;
	}
	const struct list_rule *rule = list_rule_for(field, ctx);
	enum list_strategy strategy = rule ? rule->strategy : LIST_REPLACE;
	bool all_keyed = true, all_scalar = true;
	for (const cJSON *it = patch->child; it; it = it->next) {
		const char *d = patch_directive(it);
		const cJSON *k = rule && rule->key && cJSON_IsObject(it) ?
					 cJSON_GetObjectItemCaseSensitive(it, rule->key) : NULL;
		/* {"$patch":"replace"} without a key stands for the whole list. */
		if (d && !strcmp(d, "replace") && !k)
			strategy = LIST_REPLACE;
		if (!is_merge_key_value(k))
			all_keyed = false;
		if (is_collection(it))
			all_scalar = false;
	}
	/* Items the rule cannot match fall back to replacing the list. */
	if ((strategy == LIST_KEYED && !all_keyed) || (strategy == LIST_SET && !all_scalar))
		strategy = LIST_REPLACE;
	switch (strategy) {
	case LIST_KEYED:
		return smp_list_keyed(s, live, patch, field, rule->key, ctx, depth);
	case LIST_SET:
		return smp_list_set(live, patch);
	case LIST_REPLACE:
		break;
	}
	return smp_list_replace(s, patch, field, ctx, depth);
}

static bool order_matches(const cJSON *item, const cJSON *wanted, const struct list_rule *rule)
{
	if (rule && rule->strategy == LIST_KEYED) {
		const cJSON *k = cJSON_IsObject(wanted) ? cJSON_GetObjectItemCaseSensitive(wanted, rule->key) : NULL;
		return k && item_has_key(item, rule->key, k);
	}
	return !is_collection(item) && scalar_equal(item, wanted);
}

/* $setElementOrder: the named items first, in that order; the rest keep
 * their relative order after them. */
static int smp_reorder(cJSON *list, const cJSON *order, const struct list_rule *rule)
{
	int n = cJSON_GetArraySize(list);
	if (n < 2)
		return 0;
	cJSON **items = calloc((size_t)n, sizeof *items);
	if (!items)
		return -1;
	for (int i = 0; i < n; i++)
		items[i] = cJSON_DetachItemFromArray(list, 0);
	for (const cJSON *w = order->child; w; w = w->next)
		for (int i = 0; i < n; i++)
			if (items[i] && order_matches(items[i], w, rule)) {
				cJSON_AddItemToArray(list, items[i]);
				items[i] = NULL;
				break;
			}
	for (int i = 0; i < n; i++)
		if (items[i])
			cJSON_AddItemToArray(list, items[i]);
	free(items);
	return 0;
}

static bool in_string_list(const cJSON *list, const char *s)
{
	for (const cJSON *it = list->child; it; it = it->next)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

/* Map-level directives that act before the merge: $patch, $retainKeys and
 * $deleteFromPrimitiveList/<field>. */
static int smp_map_directives(struct smp *s, cJSON *dst, const cJSON *patch)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(patch, DIRECTIVE_PATCH);
	if (d) {
		if (!cJSON_IsString(d))
			return smp_fail(s, "$patch must be a string", NULL);
		if (!strcmp(d->valuestring, "delete"))
			return SMP_DELETE;
		if (!strcmp(d->valuestring, "replace"))
			clear_children(dst); /* then the rest of the patch is the map */
		else if (strcmp(d->valuestring, "merge") != 0)
			return smp_fail(s, "invalid $patch directive", d->valuestring);
	}
	const cJSON *retain = cJSON_GetObjectItemCaseSensitive(patch, DIRECTIVE_RETAIN_KEYS);
	if (retain) {
		if (!cJSON_IsArray(retain))
			return smp_fail(s, "$retainKeys must be a list of strings", NULL);
		for (const cJSON *it = retain->child; it; it = it->next)
			if (!cJSON_IsString(it))
				return smp_fail(s, "$retainKeys must be a list of strings", NULL);
		cJSON *c = dst->child;
		while (c) {
			cJSON *next = c->next;
			if (!c->string || !in_string_list(retain, c->string))
				cJSON_Delete(cJSON_DetachItemViaPointer(dst, c));
			c = next;
		}
	}
	for (const cJSON *p = patch->child; p; p = p->next) {
		if (!has_prefix(p->string, PREFIX_DELETE_PRIMITIVE))
			continue;
		if (!cJSON_IsArray(p))
			return smp_fail(s, "$deleteFromPrimitiveList needs a list", p->string);
		cJSON *list = cJSON_GetObjectItemCaseSensitive(dst, p->string + strlen(PREFIX_DELETE_PRIMITIVE));
		if (!cJSON_IsArray(list))
			continue;
		cJSON *it = list->child;
		while (it) {
			cJSON *next = it->next;
			bool doomed = false;
			for (const cJSON *gone = p->child; gone && !doomed; gone = gone->next)
				doomed = !is_collection(it) && scalar_equal(it, gone);
			if (doomed)
				cJSON_Delete(cJSON_DetachItemViaPointer(list, it));
			it = next;
		}
	}
	return SMP_OK;
}

/* Merges the object patch into the object dst in place. Returns SMP_DELETE
 * when the patch says the whole map goes. */
static int smp_map(struct smp *s, cJSON *dst, const cJSON *patch, int ctx, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return smp_fail(s, "patch nests too deeply", NULL);
	int rc = smp_map_directives(s, dst, patch);
	if (rc != SMP_OK)
		return rc;
	for (const cJSON *p = patch->child; p; p = p->next) {
		/* Directives are instructions, never data: none is stored. */
		if (!p->string || p->string[0] == '$')
			continue;
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(dst, p->string);
			continue;
		}
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(dst, p->string);
		if (cJSON_IsObject(p)) {
			bool service_spec = ctx == CTX_ROOT && !strcmp(p->string, "spec") && s->kind &&
					    s->kind->kind && !strcmp(s->kind->kind, "Service");
			bool fresh = !cJSON_IsObject(cur);
			cJSON *child = fresh ? cJSON_CreateObject() : cur;
			if (!child)
				return SMP_ERR;
			int cctx = ctx >= 0 ? child_ctx(p->string, ctx) : service_spec ? CTX_SERVICE_SPEC : CTX_OTHER;
			rc = smp_map(s, child, p, cctx, depth + 1);
			if (rc != SMP_OK && fresh)
				cJSON_Delete(child);
			if (rc == SMP_ERR)
				return SMP_ERR;
			if (rc == SMP_DELETE)
				cJSON_DeleteItemFromObjectCaseSensitive(dst, p->string);
			else if (fresh)
				json_set(dst, p->string, child);
			continue;
		}
		cJSON *v = cJSON_IsArray(p) ? smp_list(s, cur, p, p->string, ctx, depth + 1) : json_dup(p);
		if (!v)
			return SMP_ERR;
		json_set(dst, p->string, v);
	}
	for (const cJSON *p = patch->child; p; p = p->next) {
		if (!has_prefix(p->string, PREFIX_SET_ORDER))
			continue;
		const char *field = p->string + strlen(PREFIX_SET_ORDER);
		if (!cJSON_IsArray(p))
			return smp_fail(s, "$setElementOrder needs a list", p->string);
		cJSON *list = cJSON_GetObjectItemCaseSensitive(dst, field);
		if (cJSON_IsArray(list) && smp_reorder(list, p, list_rule_for(field, ctx)) < 0)
			return SMP_ERR;
	}
	return SMP_OK;
}

cJSON *patch_strategic(const cJSON *target, const cJSON *patch, const struct kind_info *kind,
		       char *err, size_t errlen)
{
	if (!cJSON_IsObject(patch)) {
		set_err(err, errlen, BAD_REQUEST ": a strategic merge patch must be an object");
		return NULL;
	}
	if (!inputs_bounded(target, patch, err, errlen))
		return NULL;
	cJSON *out = cJSON_IsObject(target) ? json_dup(target) : cJSON_CreateObject();
	if (!out) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	struct smp s = {.kind = kind, .err = err, .errlen = errlen};
	int root = pbs_kind_message(kind);
	int rc = smp_map(&s, out, patch, root >= 0 ? root : CTX_ROOT, 1);
	if (rc == SMP_ERR) {
		cJSON_Delete(out);
		return NULL;
	}
	if (rc == SMP_DELETE)
		clear_children(out);
	return out;
}

/* ---- Server-side apply ------------------------------------------------- */

cJSON *patch_server_side_apply(const cJSON *live, const cJSON *applied, const struct kind_info *kind,
			       char *err, size_t errlen)
{
	if (!cJSON_IsObject(applied)) {
		set_err(err, errlen, BAD_REQUEST ": an apply patch must be an object");
		return NULL;
	}
	if (!inputs_bounded(live, applied, err, errlen))
		return NULL;
	/* Without field managers, apply is a merge that never drops what the
	 * applied config leaves out: keyed lists merge for built-in kinds, and
	 * custom kinds (no schema here) merge maps and replace lists. */
	if (kind && kind->builtin)
		return patch_strategic(live, applied, kind, err, errlen);
	cJSON *out = patch_merge(cJSON_IsObject(live) ? live : NULL, applied);
	if (!out)
		set_err(err, errlen, "out of memory");
	return out;
}

/* ---- Dispatch ---------------------------------------------------------- */

cJSON *patch_apply(enum patch_type t, const cJSON *target, const cJSON *patch,
		   const struct kind_info *kind, char *err, size_t errlen)
{
	set_err(err, errlen, "%s", "");
	if (!patch) {
		set_err(err, errlen, BAD_REQUEST ": empty patch");
		return NULL;
	}
	if (!target && t != PATCH_APPLY) {
		set_err(err, errlen, BAD_REQUEST ": no object to patch");
		return NULL;
	}
	if (t != PATCH_JSON && !cJSON_IsObject(patch)) {
		set_err(err, errlen, BAD_REQUEST ": the patch must be a JSON object");
		return NULL;
	}
	if (!inputs_bounded(target, patch, err, errlen))
		return NULL;
	cJSON *out = NULL;
	switch (t) {
	case PATCH_MERGE:
		out = patch_merge(target, patch);
		if (!out)
			set_err(err, errlen, "out of memory");
		break;
	case PATCH_JSON:
		out = patch_json(target, patch, err, errlen);
		break;
	case PATCH_STRATEGIC:
		out = patch_strategic(target, patch, kind, err, errlen);
		break;
	case PATCH_APPLY:
		out = patch_server_side_apply(target, patch, kind, err, errlen);
		break;
	default:
		set_err(err, errlen, BAD_REQUEST ": unsupported patch type");
		return NULL;
	}
	/* A stored object must stay an object whatever the patch did. */
	if (out && !cJSON_IsObject(out)) {
		cJSON_Delete(out);
		set_err(err, errlen, BAD_REQUEST ": the patched document is not an object");
		return NULL;
	}
	return out;
}
