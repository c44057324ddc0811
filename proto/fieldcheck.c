/* fieldcheck — unknown and duplicate fields by the schema table or a CRD's
 * structural schema (see fieldcheck.h). */
#include "fieldcheck.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbschema.h"

#define PATH_LEN 512

int fieldcheck_mode(const char *param, enum fc_mode *out)
{
	if (!param || !param[0] || strcmp(param, "Warn") == 0)
		*out = FC_WARN;
	else if (strcmp(param, "Strict") == 0)
		*out = FC_STRICT;
	else if (strcmp(param, "Ignore") == 0)
		*out = FC_IGNORE;
	else
		return -1;
	return 0;
}

void fc_result_free(struct fc_result *r)
{
	int kept = r->n < FC_MAX_ISSUES ? r->n : FC_MAX_ISSUES;
	for (int i = 0; i < kept; i++)
		free(r->issue[i]);
	r->n = 0;
}

static void add_issue(struct fc_result *r, const char *what, const char *path)
{
	if (r->n < FC_MAX_ISSUES) {
		size_t len = strlen(what) + strlen(path) + 4;
		char *s = malloc(len);
		if (!s)
			abort();
		snprintf(s, len, "%s \"%s\"", what, path);
		r->issue[r->n] = s;
	}
	r->n++;
}

/* A field path into out (PATH_LEN bytes); long paths are cut. */
__attribute__((format(printf, 2, 3))) static void fmt_path(char *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, PATH_LEN, fmt, ap);
	va_end(ap);
}

static void child_path(char *out, const char *parent, const char *name)
{
	if (parent[0])
		fmt_path(out, "%s.%s", parent, name);
	else
		fmt_path(out, "%s", name);
}

/* ---- duplicate keys ------------------------------------------------------------- */

struct keyed {
	const char *name;
	int idx;
	cJSON *item;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Reports every key that appears more than once in obj and keeps only its
 * last occurrence. */
static void dedupe(cJSON *obj, const char *path, struct fc_result *r)
{
	int n = cJSON_GetArraySize(obj);
	if (n < 2)
		return;
	if (n <= 16) { /* the usual object: no allocation when nothing repeats */
		bool any = false;
		for (const cJSON *a = obj->child; a && !any; a = a->next)
			for (const cJSON *b = a->next; b && !any; b = b->next)
				any = strcmp(a->string ? a->string : "", b->string ? b->string : "") == 0;
		if (!any)
			return;
	}
	struct keyed *v = malloc((size_t)n * sizeof *v);
	if (!v)
		abort();
	int i = 0;
	cJSON *c;
	cJSON_ArrayForEach(c, obj) v[i] = (struct keyed){c->string ? c->string : "", i, c}, i++;
	qsort(v, (size_t)n, sizeof *v, cmp_keyed);
	/* Names are compared before anything is freed; then every entry that
	 * has a later one of the same name goes. */
	bool *drop = calloc((size_t)n, sizeof *drop);
	if (!drop)
		abort();
	for (i = 0; i + 1 < n; i++) {
		if (strcmp(v[i].name, v[i + 1].name) != 0)
			continue;
		if (i == 0 || strcmp(v[i - 1].name, v[i].name) != 0) {
			char p[PATH_LEN];
			child_path(p, path, v[i].name);
			add_issue(r, "duplicate field", p);
		}
		drop[i] = true;
	}
	for (i = 0; i < n; i++)
		if (drop[i])
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, v[i].item));
	free(drop);
	free(v);
}

/* ---- the schema table ---------------------------------------------------------- */

static const struct pbs_field *table_field(const struct pbs_message *m, const char *name)
{
	for (int j = 0; j < m->nfields; j++) {
		const struct pbs_field *f = &m->fields[j];
		if (f->flags & PBS_INLINE) {
			const struct pbs_message *im = &pbs_messages[f->msg];
			for (int i = 0; i < im->nfields; i++)
				if (strcmp(im->fields[i].json, name) == 0)
					return &im->fields[i];
		} else if (strcmp(f->json, name) == 0) {
			return f;
		}
	}
	return NULL;
}

struct walk {
	enum fc_body how;
	bool prune;
	struct fc_result *r;
	int depth;
};

static bool skip_key(const struct walk *w, const cJSON *item, const char *name, bool root)
{
	if (w->how == FC_PATCH && (name[0] == '$' || cJSON_IsNull(item)))
		return true; /* strategic merge patch directives; null deletes (an unknown field too) */
	return root && (strcmp(name, "apiVersion") == 0 || strcmp(name, "kind") == 0);
}

static void check_table(int msg, cJSON *obj, const char *path, struct walk *w, bool root);

static void check_table_value(const struct pbs_field *f, cJSON *v, const char *path, struct walk *w)
{
	if (f->type != PBS_MESSAGE && f->card != PBS_MAP)
		return;
	bool plain = f->type == PBS_MESSAGE && pbs_messages[f->msg].special == PBS_SPECIAL_NONE;
	char p[PATH_LEN];
	cJSON *e;
	int i = 0;
	switch (f->card) {
	case PBS_ONE:
		if (plain)
			check_table(f->msg, v, path, w, false);
		break;
	case PBS_REPEATED:
		if (!plain || !cJSON_IsArray(v))
			break;
		cJSON_ArrayForEach(e, v) {
			fmt_path(p, "%s[%d]", path, i++);
			check_table(f->msg, e, p, w, false);
		}
		break;
	case PBS_MAP:
		if (!cJSON_IsObject(v))
			break;
		dedupe(v, path, w->r);
		if (!plain)
			break;
		cJSON_ArrayForEach(e, v) {
			fmt_path(p, "%s[%s]", path, e->string ? e->string : "");
			check_table(f->msg, e, p, w, false);
		}
		break;
	}
}

static void check_table(int msg, cJSON *obj, const char *path, struct walk *w, bool root)
{
	if (!cJSON_IsObject(obj) || w->depth > 100)
		return;
	w->depth++;
	dedupe(obj, path, w->r);
	const struct pbs_message *m = &pbs_messages[msg];
	cJSON *c = obj->child;
	while (c) {
		cJSON *next = c->next;
		const char *name = c->string ? c->string : "";
		char p[PATH_LEN];
		child_path(p, path, name);
		if (!skip_key(w, c, name, root)) {
			const struct pbs_field *f = table_field(m, name);
			if (!f) {
				add_issue(w->r, "unknown field", p);
				if (w->prune)
					cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
			} else {
				check_table_value(f, c, p, w);
			}
		}
		c = next;
	}
	w->depth--;
}

static int table_message(const char *name)
{
	for (int m = 0; m < pbs_all_messages_count; m++)
		if (strcmp(pbs_messages[m].name, name) == 0)
			return m;
	return -1;
}

static const struct pbs_kind *table_kind(const char *api_version, const char *kind)
{
	for (int i = 0; i < pbs_kinds_count; i++)
		if (strcmp(pbs_kinds[i].api_version, api_version) == 0 && strcmp(pbs_kinds[i].kind, kind) == 0)
			return &pbs_kinds[i];
	for (int i = 0; i < pbs_json_kinds_count; i++)
		if (strcmp(pbs_json_kinds[i].api_version, api_version) == 0 &&
		    strcmp(pbs_json_kinds[i].kind, kind) == 0)
			return &pbs_json_kinds[i];
	return NULL;
}

/* ---- CRD schemas ------------------------------------------------------------------ */

struct crd_schema {
	char *crd_name;
	char *api_version; /* group/version */
	char *kind;
	cJSON *schema; /* openAPIV3Schema */
	struct crd_schema *next;
};

static pthread_mutex_t crd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct crd_schema *crds;

static void unregister_locked(const char *crd_name)
{
	struct crd_schema **pp = &crds;
	while (*pp) {
		struct crd_schema *c = *pp;
		if (strcmp(c->crd_name, crd_name) == 0) {
			*pp = c->next;
			free(c->crd_name);
			free(c->api_version);
			free(c->kind);
			cJSON_Delete(c->schema);
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

void fieldcheck_register_crd(const cJSON *crd)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(crd, "spec");
	const char *name = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(crd, "metadata"), "name"));
	const char *group = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "group"));
	const char *kind = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "names"), "kind"));
	if (!name || !group || !kind)
		return;
	pthread_mutex_lock(&crd_mu);
	unregister_locked(name);
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "versions")) {
		const char *vname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "name"));
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "schema"),
								  "openAPIV3Schema");
		if (!vname || !cJSON_IsObject(s))
			continue;
		struct crd_schema *c = calloc(1, sizeof *c);
		if (!c)
			abort();
		size_t avlen = strlen(group) + strlen(vname) + 2;
		c->api_version = malloc(avlen);
		if (!c->api_version)
			abort();
		snprintf(c->api_version, avlen, "%s/%s", group, vname);
		c->crd_name = xstrdup(name);
		c->kind = xstrdup(kind);
		c->schema = cJSON_Duplicate(s, 1);
		if (!c->schema)
			abort();
		c->next = crds;
		crds = c;
	}
	pthread_mutex_unlock(&crd_mu);
}

void fieldcheck_unregister_crd(const char *crd_name)
{
	pthread_mutex_lock(&crd_mu);
	unregister_locked(crd_name);
	pthread_mutex_unlock(&crd_mu);
}

void fieldcheck_shutdown(void)
{
	pthread_mutex_lock(&crd_mu);
	while (crds)
		unregister_locked(crds->crd_name);
	pthread_mutex_unlock(&crd_mu);
}

static struct crd_schema *crd_find_locked(const char *api_version, const char *kind)
{
	for (struct crd_schema *c = crds; c; c = c->next)
		if (strcmp(c->api_version, api_version) == 0 && strcmp(c->kind, kind) == 0)
			return c;
	return NULL;
}

cJSON *fieldcheck_crd_schema(const char *api_version, const char *kind)
{
	cJSON *out = NULL;
	pthread_mutex_lock(&crd_mu);
	struct crd_schema *c = crd_find_locked(api_version, kind);
	if (c)
		out = cJSON_Duplicate(c->schema, 1);
	pthread_mutex_unlock(&crd_mu);
	return out;
}

/* ---- the CustomResourceDefinition kind itself ------------------------------------- */

/* apiextensions.k8s.io/v1 CustomResourceDefinition as a structural schema,
 * so a CRD's own typos ("jsonpath", "additionalPrinterColums", "propertis")
 * are found as kube-apiserver's strict decoding of its Go types finds them.
 * Fields are those of k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1
 * up to Kubernetes 1.33. A node {"x-atoll-schema-props": true} stands for
 * JSONSchemaProps, which nests itself (resolved by resolve_ref). status is
 * written by the hub, not checked. */
#define P "{\"x-atoll-schema-props\":true}"
#define PMAP "{\"type\":\"object\",\"additionalProperties\":" P "}"
#define PLIST "{\"type\":\"array\",\"items\":" P "}"
#define STR "{\"type\":\"string\"}"
#define ANY "{\"x-kubernetes-preserve-unknown-fields\":true}"
static const char crd_kind_schema_text[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"status\":" ANY ","
	"\"spec\":{\"type\":\"object\",\"properties\":{"
	"\"group\":" STR ",\"scope\":" STR ",\"preserveUnknownFields\":" ANY ","
	"\"names\":{\"type\":\"object\",\"properties\":{\"plural\":" ANY ",\"singular\":" ANY ",\"kind\":" ANY
	",\"listKind\":" ANY ",\"shortNames\":" ANY ",\"categories\":" ANY "}},"
	"\"conversion\":{\"type\":\"object\",\"properties\":{\"strategy\":" STR ",\"webhook\":{\"type\":\"object\","
	"\"properties\":{\"conversionReviewVersions\":" ANY ",\"clientConfig\":{\"type\":\"object\",\"properties\":{"
	"\"url\":" STR ",\"caBundle\":" STR ",\"service\":{\"type\":\"object\",\"properties\":{\"namespace\":" STR
	",\"name\":" STR ",\"path\":" STR ",\"port\":" ANY "}}}}}}}},"
	"\"versions\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
	"\"name\":" STR ",\"served\":" ANY ",\"storage\":" ANY ",\"deprecated\":" ANY ",\"deprecationWarning\":" STR ","
	"\"schema\":{\"type\":\"object\",\"properties\":{\"openAPIV3Schema\":" P "}},"
	"\"subresources\":{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"object\"},"
	"\"scale\":{\"type\":\"object\",\"properties\":{\"specReplicasPath\":" STR ",\"statusReplicasPath\":" STR
	",\"labelSelectorPath\":" STR "}}}},"
	"\"additionalPrinterColumns\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
	"\"name\":" STR ",\"type\":" STR ",\"format\":" STR ",\"description\":" STR ",\"priority\":" ANY
	",\"jsonPath\":" STR "}}},"
	"\"selectableFields\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"jsonPath\":" STR
	"}}}}}}}}}}";
/* JSONSchemaProps: its own fields; the ones holding schemas nest P. */
static const char schema_props_text[] =
	"{\"type\":\"object\",\"properties\":{"
	"\"id\":" ANY ",\"$schema\":" ANY ",\"$ref\":" ANY ",\"description\":" ANY ",\"type\":" ANY ",\"format\":" ANY
	",\"title\":" ANY ",\"default\":" ANY ",\"maximum\":" ANY ",\"exclusiveMaximum\":" ANY ",\"minimum\":" ANY
	",\"exclusiveMinimum\":" ANY ",\"maxLength\":" ANY ",\"minLength\":" ANY ",\"pattern\":" ANY
	",\"maxItems\":" ANY ",\"minItems\":" ANY ",\"uniqueItems\":" ANY ",\"multipleOf\":" ANY ",\"enum\":" ANY
	",\"maxProperties\":" ANY ",\"minProperties\":" ANY ",\"required\":" ANY ",\"example\":" ANY
	",\"nullable\":" ANY ","
	"\"items\":" P ",\"additionalItems\":" P ",\"additionalProperties\":" P ",\"not\":" P ","
	"\"allOf\":" PLIST ",\"oneOf\":" PLIST ",\"anyOf\":" PLIST ","
	"\"properties\":" PMAP ",\"patternProperties\":" PMAP ",\"definitions\":" PMAP ","
	"\"dependencies\":{\"type\":\"object\",\"additionalProperties\":" P "},"
	"\"externalDocs\":{\"type\":\"object\",\"properties\":{\"description\":" STR ",\"url\":" STR "}},"
	"\"x-kubernetes-preserve-unknown-fields\":" ANY ",\"x-kubernetes-embedded-resource\":" ANY
	",\"x-kubernetes-int-or-string\":" ANY ",\"x-kubernetes-list-map-keys\":" ANY ",\"x-kubernetes-list-type\":" ANY
	",\"x-kubernetes-map-type\":" ANY ","
	"\"x-kubernetes-validations\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
	"\"rule\":" STR ",\"message\":" STR ",\"messageExpression\":" STR ",\"reason\":" STR ",\"fieldPath\":" STR
	",\"optionalOldSelf\":" ANY "}}}}}";
#undef P
#undef PMAP
#undef PLIST
#undef STR
#undef ANY

static cJSON *crd_kind_schema, *schema_props;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_parse(void)
{
	crd_kind_schema = cJSON_Parse(crd_kind_schema_text);
	schema_props = cJSON_Parse(schema_props_text);
	if (!crd_kind_schema || !schema_props)
		abort(); /* a typo in the two texts above */
}

static const cJSON *crd_kind_builtin(const char *api_version, const char *kind)
{
	if (strcmp(api_version, "apiextensions.k8s.io/v1") != 0 || strcmp(kind, "CustomResourceDefinition") != 0)
		return NULL;
	pthread_once(&builtin_once, builtin_parse);
	return crd_kind_schema;
}

/* The node that stands for JSONSchemaProps becomes its definition. A value
 * that is a bool (additionalProperties: true) or a list (items: [..]) is
 * not an object and passes unchecked, as JSONSchemaPropsOrBool/OrArray. */
static const cJSON *resolve_ref(const cJSON *s)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "x-atoll-schema-props"))) {
		pthread_once(&builtin_once, builtin_parse);
		return schema_props;
	}
	return s;
}

static bool is_true(const cJSON *s, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, k));
}

static void check_schema(const cJSON *s, cJSON *v, const char *path, struct walk *w, bool root);

/* metadata of an embedded resource or of the root: ObjectMeta from the table. */
static void check_metadata(cJSON *v, const char *path, struct walk *w)
{
	static int meta = -2;
	if (meta == -2)
		meta = table_message("meta.ObjectMeta");
	if (meta >= 0)
		check_table(meta, v, path, w, false);
}

static void check_schema(const cJSON *s, cJSON *v, const char *path, struct walk *w, bool root)
{
	if (!cJSON_IsObject(s) || w->depth > 100)
		return;
	s = resolve_ref(s);
	w->depth++;
	bool preserve = is_true(s, "x-kubernetes-preserve-unknown-fields");
	bool embedded = root || is_true(s, "x-kubernetes-embedded-resource");
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
	char p[PATH_LEN];
	if (cJSON_IsArray(v) && cJSON_IsObject(items)) {
		int i = 0;
		cJSON *e;
		cJSON_ArrayForEach(e, v) {
			fmt_path(p, "%s[%d]", path, i++);
			check_schema(items, e, p, w, false);
		}
	} else if (cJSON_IsObject(v)) {
		dedupe(v, path, w->r);
		cJSON *c = v->child;
		while (c) {
			cJSON *next = c->next;
			const char *name = c->string ? c->string : "";
			child_path(p, path, name);
			const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, name);
			if (w->how == FC_PATCH && (name[0] == '$' || cJSON_IsNull(c))) {
				/* a patch directive, or a deletion */
			} else if (embedded && (strcmp(name, "apiVersion") == 0 || strcmp(name, "kind") == 0)) {
				/* TypeMeta */
			} else if (embedded && strcmp(name, "metadata") == 0) {
				check_metadata(c, p, w);
			} else if (ps) {
				check_schema(ps, c, p, w, false);
			} else if (cJSON_IsObject(addl)) {
				fmt_path(p, "%s[%s]", path, name);
				check_schema(addl, c, p, w, false);
			} else if (!preserve && !cJSON_IsTrue(addl)) {
				add_issue(w->r, "unknown field", p);
				if (w->prune)
					cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
			}
			c = next;
		}
	}
	w->depth--;
}

/* ---- JSON patch (RFC 6902) ---------------------------------------------------------- */

/* Where a JSON pointer has led in the schema. */
enum cur_kind { CUR_ANY, CUR_MSG, CUR_COLL, CUR_SCHEMA };
struct cursor {
	enum cur_kind kind;
	int msg;                   /* CUR_MSG */
	const struct pbs_field *f; /* CUR_COLL: a list or map field, before its index or key */
	const cJSON *schema;       /* CUR_SCHEMA */
	bool root;
};

static void to_element(struct cursor *c, const struct pbs_field *f)
{
	if (f->type == PBS_MESSAGE && pbs_messages[f->msg].special == PBS_SPECIAL_NONE)
		*c = (struct cursor){CUR_MSG, f->msg, NULL, NULL, false};
	else
		c->kind = CUR_ANY;
}

/* One pointer segment; extends path. Returns false for an unknown field. */
static bool step(struct cursor *c, const char *seg, char *path)
{
	char parent[PATH_LEN];
	snprintf(parent, sizeof parent, "%s", path);
	switch (c->kind) {
	case CUR_ANY:
		return true;
	case CUR_MSG: {
		child_path(path, parent, seg);
		if (c->root && (strcmp(seg, "apiVersion") == 0 || strcmp(seg, "kind") == 0)) {
			c->kind = CUR_ANY;
			return true;
		}
		const struct pbs_field *f = table_field(&pbs_messages[c->msg], seg);
		if (!f)
			return false;
		if (f->card != PBS_ONE)
			*c = (struct cursor){CUR_COLL, -1, f, NULL, false};
		else
			to_element(c, f);
		return true;
	}
	case CUR_COLL:
		fmt_path(path, "%s[%s]", parent, seg);
		to_element(c, c->f);
		return true;
	case CUR_SCHEMA: {
		const cJSON *s = resolve_ref(c->schema);
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
		const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
		bool embedded = c->root || is_true(s, "x-kubernetes-embedded-resource");
		if (cJSON_IsObject(items)) {
			fmt_path(path, "%s[%s]", parent, seg);
			*c = (struct cursor){CUR_SCHEMA, -1, NULL, items, false};
			return true;
		}
		const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, seg);
		child_path(path, parent, seg);
		if (ps) {
			*c = (struct cursor){CUR_SCHEMA, -1, NULL, ps, false};
		} else if (embedded && (strcmp(seg, "apiVersion") == 0 || strcmp(seg, "kind") == 0)) {
			c->kind = CUR_ANY;
		} else if (embedded && strcmp(seg, "metadata") == 0) {
			int meta = table_message("meta.ObjectMeta");
			*c = (struct cursor){meta >= 0 ? CUR_MSG : CUR_ANY, meta, NULL, NULL, false};
		} else if (cJSON_IsObject(addl)) {
			fmt_path(path, "%s[%s]", parent, seg);
			*c = (struct cursor){CUR_SCHEMA, -1, NULL, addl, false};
		} else if (is_true(s, "x-kubernetes-preserve-unknown-fields") || cJSON_IsTrue(addl)) {
			c->kind = CUR_ANY;
		} else {
			return false;
		}
		return true;
	}
	}
	return true;
}

/* Checks one add/replace operation's path and value. Returns false when
 * the path names an unknown field (the operation is then dropped). */
static bool check_op(struct cursor c, const char *pointer, cJSON *value, struct walk *w)
{
	char path[PATH_LEN] = "";
	const char *p = pointer;
	while (*p == '/') {
		p++;
		char seg[PATH_LEN];
		size_t n = 0;
		for (; *p && *p != '/' && n + 1 < sizeof seg; p++) {
			if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
				seg[n++] = p[1] == '0' ? '~' : '/';
				p++;
			} else {
				seg[n++] = *p;
			}
		}
		seg[n] = '\0';
		if (!step(&c, seg, path)) {
			add_issue(w->r, "unknown field", path);
			return false;
		}
	}
	switch (c.kind) {
	case CUR_MSG: check_table(c.msg, value, path, w, c.root); break;
	case CUR_COLL: check_table_value(c.f, value, path, w); break;
	case CUR_SCHEMA: check_schema(c.schema, value, path, w, c.root); break;
	case CUR_ANY: break;
	}
	return true;
}

static void check_json_patch(struct cursor root, cJSON *ops, struct walk *w)
{
	cJSON *op = ops->child;
	while (op) {
		cJSON *next = op->next;
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "op"));
		const char *pointer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "path"));
		cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
		if (kind && pointer && value && (strcmp(kind, "add") == 0 || strcmp(kind, "replace") == 0) &&
		    !check_op(root, pointer, value, w))
			cJSON_Delete(cJSON_DetachItemViaPointer(ops, op));
		op = next;
	}
}

/* ---- entry points ------------------------------------------------------------------ */

bool fieldcheck_knows(const char *api_version, const char *kind)
{
	if (table_kind(api_version, kind) || crd_kind_builtin(api_version, kind))
		return true;
	pthread_mutex_lock(&crd_mu);
	bool found = crd_find_locked(api_version, kind) != NULL;
	pthread_mutex_unlock(&crd_mu);
	return found;
}

int fieldcheck_body(const char *api_version, const char *kind, cJSON *body, enum fc_body how,
		    struct fc_result *r)
{
	r->n = 0;
	bool json_patch = how == FC_PATCH && cJSON_IsArray(body);
	if (!api_version || !kind || (!cJSON_IsObject(body) && !json_patch))
		return 0;
	struct walk w = {how, true, r, 0};
	const struct pbs_kind *tk = table_kind(api_version, kind);
	if (tk) {
		if (json_patch)
			check_json_patch((struct cursor){CUR_MSG, tk->msg, NULL, NULL, true}, body, &w);
		else
			check_table(tk->msg, body, "", &w, true);
		return r->n;
	}
	const cJSON *builtin = crd_kind_builtin(api_version, kind);
	if (builtin) {
		if (json_patch)
			check_json_patch((struct cursor){CUR_SCHEMA, -1, NULL, builtin, true}, body, &w);
		else
			check_schema(builtin, body, "", &w, true);
		return r->n;
	}
	pthread_mutex_lock(&crd_mu);
	struct crd_schema *c = crd_find_locked(api_version, kind);
	if (c && json_patch)
		check_json_patch((struct cursor){CUR_SCHEMA, -1, NULL, c->schema, true}, body, &w);
	else if (c)
		check_schema(c->schema, body, "", &w, true);
	pthread_mutex_unlock(&crd_mu);
	return r->n;
}

void fieldcheck_strict_message(const char *kind, const char *version, const struct fc_result *r, char *buf,
			       size_t len)
{
	int o = snprintf(buf, len, "%s in version \"%s\" cannot be handled as a %s: strict decoding error: ", kind,
			 version, kind);
	int kept = r->n < FC_MAX_ISSUES ? r->n : FC_MAX_ISSUES;
	for (int i = 0; i < kept && o >= 0 && (size_t)o < len; i++)
		o += snprintf(buf + o, len - (size_t)o, "%s%s", i ? ", " : "", r->issue[i]);
	if (r->n > kept && o >= 0 && (size_t)o < len)
		snprintf(buf + o, len - (size_t)o, ", and %d more", r->n - kept);
}
