#include "openapi.h"
#include "fieldcheck.h"
#include "openschema.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GVK_EXT "x-kubernetes-group-version-kind"

/* ---- protobuf encoding ---------------------------------------------- */

/* Growable byte buffer; a failed allocation sets oom and the result is
 * discarded by the caller rather than served truncated. */
struct bbuf {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void bb_put(struct bbuf *b, const void *data, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void bb_varint(struct bbuf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	bb_put(b, tmp, n);
}

/* A length-delimited field (wire type 2): tag, length, bytes. */
static void bb_field(struct bbuf *b, unsigned field, const void *data, size_t n)
{
	bb_varint(b, ((uint64_t)field << 3) | 2u);
	bb_varint(b, n);
	bb_put(b, data, n);
}

static void bb_str(struct bbuf *b, unsigned field, const char *s)
{
	bb_field(b, field, s, strlen(s));
}

/* Appends msg as an embedded message field and frees it. */
static void bb_msg(struct bbuf *b, unsigned field, struct bbuf *msg)
{
	if (msg->oom)
		b->oom = true;
	bb_field(b, field, msg->p, msg->len);
	free(msg->p);
	memset(msg, 0, sizeof *msg);
}

/* ---- per-kind text -------------------------------------------------- */

/* "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" */
static char *kind_path(const struct kind_info *k)
{
	char *s = NULL;
	int r;
	if (k->group[0])
		r = asprintf(&s, "/apis/%s/%s/%s%s/{name}", k->group, k->version,
			     k->namespaced ? "namespaces/{namespace}/" : "", k->plural);
	else
		r = asprintf(&s, "/api/%s/%s%s/{name}", k->version,
			     k->namespaced ? "namespaces/{namespace}/" : "", k->plural);
	return r < 0 ? NULL : s;
}

/* "group: apps\nkind: Deployment\nversion: v1\n" (group: "" for core). */
static char *kind_gvk_yaml(const struct kind_info *k)
{
	char *s = NULL;
	int r = asprintf(&s, "group: %s\nkind: %s\nversion: %s\n",
			 k->group[0] ? k->group : "\"\"", k->kind, k->version);
	return r < 0 ? NULL : s;
}

/* NamedPathItem{name, PathItem{patch: Operation{parameters, vendor_extension}}}. */
static void encode_kind(struct bbuf *paths, const struct kind_info *k)
{
	char *path = kind_path(k), *yaml = kind_gvk_yaml(k);
	struct bbuf qp = {0}, nbp = {0}, param = {0}, pitem = {0};
	struct bbuf any = {0}, named_any = {0}, op = {0}, path_item = {0}, npi = {0};
	if (!path || !yaml) {
		paths->oom = true;
		goto out;
	}
	/* QueryParameterSubSchema{in=2, name=4, type=6} */
	bb_str(&qp, 2, "query");
	bb_str(&qp, 4, "fieldValidation");
	bb_str(&qp, 6, "string");
	bb_msg(&nbp, 3, &qp);      /* NonBodyParameter.query_parameter_sub_schema */
	bb_msg(&param, 2, &nbp);   /* Parameter.non_body_parameter */
	bb_msg(&pitem, 1, &param); /* ParametersItem.parameter */
	/* dryRun: kubectl 1.20's dry-run verifier (diff, apply --dry-run=server)
	 * looks for it on the PATCH operation of the kind's GVK. */
	struct bbuf dqp = {0}, dnbp = {0}, dparam = {0}, dpitem = {0};
	bb_str(&dqp, 2, "query");
	bb_str(&dqp, 4, "dryRun");
	bb_str(&dqp, 6, "string");
	bb_msg(&dnbp, 3, &dqp);
	bb_msg(&dparam, 2, &dnbp);
	bb_msg(&dpitem, 1, &dparam);

	bb_str(&any, 2, yaml);     /* Any.yaml */
	bb_str(&named_any, 1, GVK_EXT);
	bb_msg(&named_any, 2, &any);

	bb_msg(&op, 8, &pitem);       /* Operation.parameters */
	bb_msg(&op, 8, &dpitem);
	bb_msg(&op, 13, &named_any);  /* Operation.vendor_extension */
	bb_msg(&path_item, 8, &op);   /* PathItem.patch */

	bb_str(&npi, 1, path);
	bb_msg(&npi, 2, &path_item);
	bb_msg(paths, 2, &npi);       /* Paths.path */
out:
	free(path);
	free(yaml);
}

unsigned char *openapi_v2_protobuf_for(const struct kind_info *const *kinds, int n,
				       bool with_info, size_t *len)
{
	struct bbuf doc = {0}, info = {0}, paths = {0};
	*len = 0;
	if (with_info) {
		bb_str(&doc, 1, "2.0"); /* Document.swagger */
		bb_str(&info, 1, "Kubernetes");
		bb_str(&info, 2, OPENAPI_INFO_VERSION);
		bb_msg(&doc, 2, &info); /* Document.info */
	}
	for (int i = 0; i < n; i++)
		if (kinds[i])
			encode_kind(&paths, kinds[i]);
	bb_msg(&doc, 8, &paths); /* Document.paths */
	if (doc.oom) {
		free(doc.p);
		return NULL;
	}
	*len = doc.len;
	return doc.p;
}

/* ---- v2 definitions as gnostic protobuf ------------------------------- */

/* A JSON value as the YAML text gnostic's Any carries (scalars and the
 * small lists and maps of vendor extensions). */
static void yaml_of(const cJSON *v, int indent, struct bbuf *out)
{
	char pad[64];
	snprintf(pad, sizeof pad, "%*s", indent, "");
	if (cJSON_IsString(v)) {
		bb_put(out, v->valuestring, strlen(v->valuestring));
		bb_put(out, "\n", 1);
	} else if (cJSON_IsBool(v)) {
		bb_put(out, cJSON_IsTrue(v) ? "true\n" : "false\n", cJSON_IsTrue(v) ? 5 : 6);
	} else if (cJSON_IsNumber(v)) {
		char n[64];
		int k = snprintf(n, sizeof n, "%.17g\n", v->valuedouble);
		bb_put(out, n, (size_t)k);
	} else if (cJSON_IsArray(v)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, v) {
			bb_put(out, pad, strlen(pad));
			bb_put(out, "- ", 2);
			if (cJSON_IsObject(e)) {
				/* first key on the dash line, the rest indented */
				const cJSON *f;
				bool first = true;
				cJSON_ArrayForEach(f, e) {
					if (!first) {
						bb_put(out, pad, strlen(pad));
						bb_put(out, "  ", 2);
					}
					first = false;
					bb_put(out, f->string, strlen(f->string));
					bb_put(out, ": ", 2);
					if (cJSON_IsString(f) && !f->valuestring[0])
						bb_put(out, "\"\"\n", 3);
					else
						yaml_of(f, indent + 4, out);
				}
			} else {
				yaml_of(e, indent + 2, out);
			}
		}
	} else {
		bb_put(out, "null\n", 5);
	}
}

static void bb_named_any(struct bbuf *b, unsigned field, const char *name, const cJSON *v)
{
	struct bbuf y = {0}, any = {0}, na = {0};
	yaml_of(v, 0, &y);
	bb_field(&any, 2, y.p ? (const char *)y.p : "", y.len); /* Any.yaml */
	if (y.oom)
		any.oom = true;
	free(y.p);
	bb_str(&na, 1, name);
	bb_msg(&na, 2, &any);
	bb_msg(b, field, &na);
}

/* A (v2) JSON schema as openapi.v2.Schema. */
static void encode_schema(struct bbuf *b, const cJSON *s, int depth)
{
	const cJSON *f;
	if (depth > 64)
		return;
	cJSON_ArrayForEach(f, s) {
		const char *k = f->string;
		if (strcmp(k, "$ref") == 0 && cJSON_IsString(f))
			bb_str(b, 1, f->valuestring);
		else if (strcmp(k, "format") == 0 && cJSON_IsString(f))
			bb_str(b, 2, f->valuestring);
		else if (strcmp(k, "description") == 0 && cJSON_IsString(f))
			bb_str(b, 4, f->valuestring);
		else if (strcmp(k, "required") == 0) {
			const cJSON *r;
			cJSON_ArrayForEach(r, f)
				if (cJSON_IsString(r))
					bb_str(b, 19, r->valuestring);
		} else if (strcmp(k, "enum") == 0) {
			const cJSON *e;
			cJSON_ArrayForEach(e, f) {
				struct bbuf y = {0}, any = {0};
				yaml_of(e, 0, &y);
				bb_field(&any, 2, y.p ? (const char *)y.p : "", y.len);
				free(y.p);
				bb_msg(b, 20, &any);
			}
		} else if (strcmp(k, "additionalProperties") == 0 && cJSON_IsObject(f)) {
			struct bbuf sch = {0}, item = {0};
			encode_schema(&sch, f, depth + 1);
			bb_msg(&item, 1, &sch);
			bb_msg(b, 21, &item);
		} else if (strcmp(k, "type") == 0 && cJSON_IsString(f)) {
			struct bbuf t = {0};
			bb_str(&t, 1, f->valuestring);
			bb_msg(b, 22, &t);
		} else if (strcmp(k, "items") == 0 && cJSON_IsObject(f)) {
			struct bbuf sch = {0}, item = {0};
			encode_schema(&sch, f, depth + 1);
			bb_msg(&item, 1, &sch);
			bb_msg(b, 23, &item);
		} else if (strcmp(k, "properties") == 0 && cJSON_IsObject(f)) {
			struct bbuf props = {0};
			const cJSON *p;
			cJSON_ArrayForEach(p, f) {
				struct bbuf sch = {0}, ns = {0};
				encode_schema(&sch, p, depth + 1);
				bb_str(&ns, 1, p->string);
				bb_msg(&ns, 2, &sch);
				bb_msg(&props, 1, &ns);
			}
			bb_msg(b, 25, &props);
		} else if (strncmp(k, "x-", 2) == 0) {
			bb_named_any(b, 31, k, f);
		}
	}
}

/* Document.definitions (9) for the kinds: their schemas from the table. */
static void encode_definitions(struct bbuf *doc, const struct kind_info *const *kinds, int n)
{
	cJSON *defs = cJSON_CreateObject();
	for (int i = 0; defs && i < n; i++)
		openschema_add_kind(defs, kinds[i]->group, kinds[i]->version, kinds[i]->kind, 0, false);
	struct bbuf d = {0};
	const cJSON *s;
	cJSON_ArrayForEach(s, defs) {
		struct bbuf sch = {0}, ns = {0};
		encode_schema(&sch, s, 0);
		bb_str(&ns, 1, s->string);
		bb_msg(&ns, 2, &sch);
		bb_msg(&d, 1, &ns);
	}
	bb_msg(doc, 9, &d);
	cJSON_Delete(defs);
}

unsigned char *openapi_v2_protobuf(openapi_kind_filter keep, void *ud, size_t *len)
{
	int all = kinds_count(), n = 0;
	const struct kind_info **kinds = calloc((size_t)all + 1, sizeof *kinds);
	if (!kinds) {
		*len = 0;
		return NULL;
	}
	for (int i = 0; i < all; i++)
		if (!keep || keep(kinds_at(i), ud))
			kinds[n++] = kinds_at(i);
	unsigned char *out = openapi_v2_protobuf_for(kinds, n, true, len);
	if (out) {
		/* Fields of one message may come in any order and split: the
		 * definitions are appended to the document as a field 9. */
		struct bbuf doc = {out, *len, *len, false};
		encode_definitions(&doc, kinds, n);
		if (doc.oom) {
			free(doc.p);
			out = NULL;
			*len = 0;
		} else {
			out = doc.p;
			*len = doc.len;
		}
	}
	free(kinds);
	return out;
}

/* ---- OpenAPI v3 ----------------------------------------------------- */

/* "api/v1" or "apis/apps/v1" */
static void gv_key(const struct kind_info *k, char *buf, size_t len)
{
	if (k->group[0])
		snprintf(buf, len, "apis/%s/%s", k->group, k->version);
	else
		snprintf(buf, len, "api/%s", k->version);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h ^ 0xff; /* separator, so "ab"+"c" differs from "a"+"bc" */
}

/* Hash of everything the group-version document is made from. */
static uint64_t gv_hash(const char *key, openapi_kind_filter keep, void *ud)
{
	uint64_t h = fnv1a(14695981039346656037ULL, OPENAPI_INFO_VERSION);
	h = fnv1a(h, "schemas-1"); /* the documents carry the schema table's schemas */
	char k2[512];
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		gv_key(k, k2, sizeof k2);
		if (strcmp(k2, key) != 0 || (keep && !keep(k, ud)))
			continue;
		h = fnv1a(h, k->kind);
		h = fnv1a(h, k->plural);
		h = fnv1a(h, k->namespaced ? "N" : "C");
		/* A custom kind's schema is its CRD's: a changed CRD, a new hash. */
		char av[300];
		snprintf(av, sizeof av, "%s%s%s", k->group, k->group[0] ? "/" : "", k->version);
		cJSON *cs = !k->dynamic ? NULL : fieldcheck_crd_schema(av, k->kind);
		char *txt = cs ? cJSON_PrintUnformatted(cs) : NULL;
		if (txt)
			h = fnv1a(h, txt);
		free(txt);
		cJSON_Delete(cs);
	}
	return h;
}

cJSON *openapi_v3_index(openapi_kind_filter keep, void *ud)
{
	cJSON *out = cJSON_CreateObject();
	cJSON *paths = cJSON_AddObjectToObject(out, "paths");
	char key[512], url[640];
	for (int i = 0; paths && i < kinds_count(); i++) {
		if (keep && !keep(kinds_at(i), ud))
			continue;
		gv_key(kinds_at(i), key, sizeof key);
		if (cJSON_GetObjectItemCaseSensitive(paths, key))
			continue;
		snprintf(url, sizeof url, "/openapi/v3/%s?hash=%016llX", key,
			 (unsigned long long)gv_hash(key, keep, ud));
		cJSON *e = cJSON_AddObjectToObject(paths, key);
		cJSON_AddStringToObject(e, "serverRelativeURL", url);
	}
	return out;
}

static cJSON *v3_patch_op(const struct kind_info *k)
{
	cJSON *op = cJSON_CreateObject();
	cJSON *gvk = cJSON_AddObjectToObject(op, GVK_EXT);
	cJSON_AddStringToObject(gvk, "group", k->group);
	cJSON_AddStringToObject(gvk, "version", k->version);
	cJSON_AddStringToObject(gvk, "kind", k->kind);
	cJSON *params = cJSON_AddArrayToObject(op, "parameters");
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "name", "fieldValidation");
	cJSON_AddStringToObject(p, "in", "query");
	cJSON *schema = cJSON_AddObjectToObject(p, "schema");
	cJSON_AddStringToObject(schema, "type", "string");
	cJSON_AddItemToArray(params, p);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "name", "dryRun");
	cJSON_AddStringToObject(p, "in", "query");
	schema = cJSON_AddObjectToObject(p, "schema");
	cJSON_AddStringToObject(schema, "type", "string");
	cJSON_AddItemToArray(params, p);
	cJSON *resp = cJSON_AddObjectToObject(op, "responses");
	cJSON *ok = cJSON_AddObjectToObject(resp, "200");
	cJSON_AddStringToObject(ok, "description", "OK");
	return op;
}

cJSON *openapi_v3_group_version(const char *gv_path, openapi_kind_filter keep, void *ud)
{
	return openapi_v3_group_version_at(gv_path, keep, ud, 0);
}

cJSON *openapi_v3_group_version_at(const char *gv_path, openapi_kind_filter keep, void *ud, int max_minor)
{
	char want[512], key[512];
	size_t n;
	if (!gv_path)
		return NULL;
	while (*gv_path == '/')
		gv_path++;
	n = strcspn(gv_path, "?");
	if (n >= sizeof want)
		return NULL;
	memcpy(want, gv_path, n);
	want[n] = '\0';

	cJSON *doc = NULL, *paths = NULL, *schemas = NULL;
	for (int i = 0; i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		gv_key(k, key, sizeof key);
		if (strcmp(key, want) != 0 || (keep && !keep(k, ud)))
			continue;
		if (!doc) {
			doc = cJSON_CreateObject();
			cJSON_AddStringToObject(doc, "openapi", "3.0.0");
			cJSON *info = cJSON_AddObjectToObject(doc, "info");
			cJSON_AddStringToObject(info, "title", "Kubernetes");
			cJSON_AddStringToObject(info, "version", OPENAPI_INFO_VERSION);
			paths = cJSON_AddObjectToObject(doc, "paths");
			cJSON *comp = cJSON_AddObjectToObject(doc, "components");
			schemas = comp ? cJSON_AddObjectToObject(comp, "schemas") : NULL;
		}
		if (schemas)
			openschema_add_kind(schemas, k->group, k->version, k->kind, max_minor, true);
		char *path = kind_path(k);
		if (path && paths && !cJSON_GetObjectItemCaseSensitive(paths, path)) {
			cJSON *item = cJSON_AddObjectToObject(paths, path);
			cJSON_AddItemToObject(item, "patch", v3_patch_op(k));
		}
		free(path);
	}
	return doc;
}

cJSON *openapi_v2_json(openapi_kind_filter keep, void *ud, int max_minor)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "swagger", "2.0");
	cJSON *info = cJSON_AddObjectToObject(doc, "info");
	cJSON_AddStringToObject(info, "title", "Kubernetes");
	cJSON_AddStringToObject(info, "version", OPENAPI_INFO_VERSION);
	cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
	cJSON *defs = cJSON_AddObjectToObject(doc, "definitions");
	for (int i = 0; paths && defs && i < kinds_count(); i++) {
		const struct kind_info *k = kinds_at(i);
		if (keep && !keep(k, ud))
			continue;
		openschema_add_kind(defs, k->group, k->version, k->kind, max_minor, false);
		char *path = kind_path(k);
		if (path && !cJSON_GetObjectItemCaseSensitive(paths, path)) {
			cJSON *item = cJSON_AddObjectToObject(paths, path);
			cJSON *op = v3_patch_op(k);
			/* v2 parameters carry their type directly. */
			cJSON *p;
			cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(op, "parameters")) {
				cJSON_DeleteItemFromObjectCaseSensitive(p, "schema");
				cJSON_AddStringToObject(p, "type", "string");
			}
			cJSON_AddItemToObject(item, "patch", op);
		}
		free(path);
	}
	return doc;
}

bool openapi_v2_wants_json(const char *accept)
{
	return accept && strstr(accept, "application/json") && !strstr(accept, "protobuf");
}
