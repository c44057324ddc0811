#include "openschema.h"

#include <stdio.h>
#include <string.h>

#include "fieldcheck.h"
#include "pbschema.h"
#include "schemameta.h"

static const struct {
	const char *prefix, *pkg;
} pkgs[] = {
	{"apps", "io.k8s.api.apps.v1"},
	{"autoscaling", "io.k8s.api.autoscaling.v1"},
	{"batch", "io.k8s.api.batch.v1"},
	{"coord", "io.k8s.api.coordination.v1"},
	{"core", "io.k8s.api.core.v1"},
	{"net", "io.k8s.api.networking.v1"},
	{"policy", "io.k8s.api.policy.v1"},
	{"rbac", "io.k8s.api.rbac.v1"},
	{"sched", "io.k8s.api.scheduling.v1"},
	{"meta", "io.k8s.apimachinery.pkg.apis.meta.v1"},
	{"intstr", "io.k8s.apimachinery.pkg.util.intstr"},
	{"res", "io.k8s.apimachinery.pkg.api.resource"},
	{"rt", "io.k8s.apimachinery.pkg.runtime"},
	{"karmada", "io.karmada.policy.v1alpha1"},
};

void openschema_def_name(int msg, char *buf, size_t len)
{
	const char *name = pbs_messages[msg].name, *dot = strchr(name, '.');
	const char *pkg = NULL;
	for (size_t i = 0; dot && i < sizeof pkgs / sizeof pkgs[0]; i++)
		if (strlen(pkgs[i].prefix) == (size_t)(dot - name) && strncmp(pkgs[i].prefix, name, (size_t)(dot - name)) == 0)
			pkg = pkgs[i].pkg;
	if (pkg)
		snprintf(buf, len, "%s.%s", pkg, dot + 1);
	else
		snprintf(buf, len, "%s", name);
}

int openschema_kind_msg(const char *api_version, const char *kind, bool *crd)
{
	*crd = false;
	for (int i = 0; i < pbs_kinds_count; i++)
		if (strcmp(pbs_kinds[i].api_version, api_version) == 0 && strcmp(pbs_kinds[i].kind, kind) == 0)
			return pbs_kinds[i].msg;
	for (int i = 0; i < sch_crd_kinds_count; i++)
		if (strcmp(sch_crd_kinds[i].api_version, api_version) == 0 && strcmp(sch_crd_kinds[i].kind, kind) == 0) {
			*crd = true;
			return sch_crd_kinds[i].msg;
		}
	return -1;
}

/* Karmada's messages are the JSON-only ones (karmada.schema): published
 * inline, as a CRD's schema is. */
static bool is_karmada(int msg)
{
	return msg >= pbs_messages_count;
}

struct ctx {
	cJSON *defs;
	int max_minor;
	bool v3;
};

static cJSON *message_schema(struct ctx *c, int msg);

/* A named definition for msg in defs (once), returning its $ref text. */
static void ensure_def(struct ctx *c, int msg, char *ref, size_t len)
{
	char name[256];
	openschema_def_name(msg, name, sizeof name);
	snprintf(ref, len, "%s%s", c->v3 ? "#/components/schemas/" : "#/definitions/", name);
	if (cJSON_GetObjectItemCaseSensitive(c->defs, name))
		return;
	/* A placeholder first: recursive messages (JSONSchemaProps-like) end. */
	cJSON *ph = cJSON_AddObjectToObject(c->defs, name);
	cJSON *s = message_schema(c, msg);
	if (ph && s)
		cJSON_ReplaceItemInObjectCaseSensitive(c->defs, name, s);
	else
		cJSON_Delete(s);
}

/* The schema of one value of a field's type (not the array or map). */
static cJSON *value_schema(struct ctx *c, const struct pbs_field *f, const char *desc, bool *described)
{
	cJSON *s = cJSON_CreateObject();
	*described = false;
	switch (f->type) {
	case PBS_STRING: cJSON_AddStringToObject(s, "type", "string"); break;
	case PBS_INT32:
		cJSON_AddStringToObject(s, "type", "integer");
		cJSON_AddStringToObject(s, "format", "int32");
		break;
	case PBS_INT64:
		cJSON_AddStringToObject(s, "type", "integer");
		cJSON_AddStringToObject(s, "format", "int64");
		break;
	case PBS_BOOL: cJSON_AddStringToObject(s, "type", "boolean"); break;
	case PBS_BYTES:
		cJSON_AddStringToObject(s, "type", "string");
		cJSON_AddStringToObject(s, "format", "byte");
		break;
	case PBS_MESSAGE:
		if (is_karmada(f->msg)) {
			cJSON_Delete(s);
			return message_schema(c, f->msg);
		} else {
			char ref[320];
			ensure_def(c, f->msg, ref, sizeof ref);
			if (c->v3) {
				/* As Kubernetes publishes v3: the $ref in allOf, so that
				 * the description may sit beside it. */
				cJSON *all = cJSON_AddArrayToObject(s, "allOf");
				cJSON *r = cJSON_CreateObject();
				cJSON_AddStringToObject(r, "$ref", ref);
				cJSON_AddItemToArray(all, r);
			} else {
				cJSON_AddStringToObject(s, "$ref", ref);
			}
			if (desc && f->card == PBS_ONE) {
				cJSON_AddStringToObject(s, "description", desc);
				*described = true;
			}
		}
		break;
	}
	return s;
}

static void add_fields(struct ctx *c, int msg, cJSON *props, cJSON *req)
{
	const struct pbs_message *m = &pbs_messages[msg];
	const struct sch_message_meta *mm = &sch_messages[msg];
	for (int i = 0; i < m->nfields; i++) {
		const struct pbs_field *f = &m->fields[i];
		const struct sch_field_meta *fm = &mm->fields[i];
		if (c->max_minor > 0 && fm->since > c->max_minor)
			continue;
		if (f->flags & PBS_INLINE) {
			add_fields(c, f->msg, props, req);
			continue;
		}
		if (fm->preserve) {
			/* Any JSON value, as apiextensions' JSON type publishes. */
			cJSON *p = cJSON_CreateObject();
			if (fm->desc)
				cJSON_AddStringToObject(p, "description", fm->desc);
			cJSON_AddBoolToObject(p, "x-kubernetes-preserve-unknown-fields", 1);
			cJSON_DeleteItemFromObjectCaseSensitive(props, f->json);
			cJSON_AddItemToObject(props, f->json, p);
			if (fm->required)
				cJSON_AddItemToArray(req, cJSON_CreateString(f->json));
			continue;
		}
		bool described;
		cJSON *v = value_schema(c, f, fm->desc, &described), *s = v;
		if (f->card == PBS_REPEATED) {
			s = cJSON_CreateObject();
			cJSON_AddStringToObject(s, "type", "array");
			cJSON_AddItemToObject(s, "items", v);
		} else if (f->card == PBS_MAP) {
			s = cJSON_CreateObject();
			cJSON_AddStringToObject(s, "type", "object");
			cJSON_AddItemToObject(s, "additionalProperties", v);
		}
		if (fm->desc && !described) {
			cJSON_DeleteItemFromObjectCaseSensitive(s, "description");
			cJSON_AddStringToObject(s, "description", fm->desc);
		}
		if (fm->enums) {
			cJSON *en = cJSON_AddArrayToObject(s, "enum");
			const char *p = fm->enums;
			while (*p) {
				size_t n = strcspn(p, "|");
				char val[128];
				snprintf(val, sizeof val, "%.*s", (int)n, p);
				cJSON_AddItemToArray(en, cJSON_CreateString(val));
				p += n;
				if (*p == '|')
					p++;
			}
		}
		if (fm->required)
			cJSON_AddItemToArray(req, cJSON_CreateString(f->json));
		cJSON_DeleteItemFromObjectCaseSensitive(props, f->json);
		cJSON_AddItemToObject(props, f->json, s);
	}
}

static cJSON *message_schema(struct ctx *c, int msg)
{
	const struct pbs_message *m = &pbs_messages[msg];
	cJSON *s = cJSON_CreateObject();
	if (sch_messages[msg].desc)
		cJSON_AddStringToObject(s, "description", sch_messages[msg].desc);
	switch (m->special) {
	case PBS_SPECIAL_TIME:
	case PBS_SPECIAL_MICROTIME:
		cJSON_AddStringToObject(s, "type", "string");
		cJSON_AddStringToObject(s, "format", "date-time");
		return s;
	case PBS_SPECIAL_QUANTITY:
		cJSON_AddStringToObject(s, "type", "string");
		return s;
	case PBS_SPECIAL_INTSTR:
		cJSON_AddStringToObject(s, "type", "string");
		cJSON_AddStringToObject(s, "format", "int-or-string");
		return s;
	case PBS_SPECIAL_RAW:
	case PBS_SPECIAL_FIELDSV1:
		cJSON_AddStringToObject(s, "type", "object");
		return s;
	case PBS_SPECIAL_NONE:
		break;
	}
	cJSON_AddStringToObject(s, "type", "object");
	cJSON *props = cJSON_CreateObject(), *req = cJSON_CreateArray();
	add_fields(c, msg, props, req);
	cJSON_AddItemToObject(s, "properties", props);
	if (cJSON_GetArraySize(req) > 0)
		cJSON_AddItemToObject(s, "required", req);
	else
		cJSON_Delete(req);
	return s;
}

/* OpenAPI v2 of a custom kind: where unknown fields are preserved, no
 * properties (kubectl's v2 client-side validation would refuse any field
 * not listed), as Kubernetes' ToStructuralOpenAPIV2 publishes it. */
static void v2_preserve_prune(cJSON *s, int depth)
{
	if (!cJSON_IsObject(s) || depth > 64)
		return;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "x-kubernetes-preserve-unknown-fields"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(s, "properties");
		cJSON_DeleteItemFromObjectCaseSensitive(s, "required");
	}
	cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "properties"))
		v2_preserve_prune(c, depth + 1);
	v2_preserve_prune(cJSON_GetObjectItemCaseSensitive(s, "items"), depth + 1);
	v2_preserve_prune(cJSON_GetObjectItemCaseSensitive(s, "additionalProperties"), depth + 1);
}

/* What Kubernetes publishes for a CRD's metadata: ObjectMeta by reference
 * (the CRD's own metadata schema may only restrict name and is dropped). */
static void crd_metadata(struct ctx *c, cJSON *s)
{
	int om = -1;
	for (int i = 0; i < pbs_messages_count && om < 0; i++)
		if (strcmp(pbs_messages[i].name, "meta.ObjectMeta") == 0)
			om = i;
	cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	if (om < 0 || !cJSON_IsObject(s))
		return;
	if (!props)
		props = cJSON_AddObjectToObject(s, "properties");
	if (!cJSON_IsObject(props))
		return;
	char ref[320];
	ensure_def(c, om, ref, sizeof ref);
	cJSON *m = cJSON_CreateObject();
	const char *d = "Standard object's metadata. More info: "
			"https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
	if (c->v3) {
		cJSON *all = cJSON_AddArrayToObject(m, "allOf");
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "$ref", ref);
		cJSON_AddItemToArray(all, r);
	} else {
		cJSON_AddStringToObject(m, "$ref", ref);
	}
	cJSON_AddStringToObject(m, "description", d);
	cJSON_DeleteItemFromObjectCaseSensitive(props, "metadata");
	cJSON_AddItemToObject(props, "metadata", m);
}

bool openschema_add_kind(cJSON *defs, const char *group, const char *version, const char *kind, int max_minor,
			 bool v3)
{
	char av[300], name[256];
	if (group[0])
		snprintf(av, sizeof av, "%s/%s", group, version);
	else
		snprintf(av, sizeof av, "%s", version);
	bool crd;
	int msg = openschema_kind_msg(av, kind, &crd);
	struct ctx c = {defs, max_minor, v3};
	cJSON *s;
	if (msg < 0) {
		/* A custom kind registered at run time: its CRD's openAPIV3Schema. */
		s = fieldcheck_crd_schema(av, kind);
		if (!s)
			return false;
		crd = true;
		crd_metadata(&c, s);
	} else {
		s = message_schema(&c, msg);
	}
	if (!s)
		return false;
	/* Every kind carries apiVersion and kind, whatever its message lists. */
	cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	const char *tm[2][2] = {{"apiVersion", "APIVersion defines the versioned schema of this representation of an object."},
				{"kind", "Kind is a string value representing the REST resource this object represents."}};
	for (int i = 1; props && i >= 0; i--)
		if (!cJSON_GetObjectItemCaseSensitive(props, tm[i][0])) {
			cJSON *p = cJSON_CreateObject();
			cJSON_AddStringToObject(p, "description", tm[i][1]);
			cJSON_AddStringToObject(p, "type", "string");
			cJSON_AddItemToObject(props, tm[i][0], p);
		}
	cJSON *gvks = cJSON_AddArrayToObject(s, "x-kubernetes-group-version-kind");
	cJSON *gvk = cJSON_CreateObject();
	cJSON_AddStringToObject(gvk, "group", group);
	cJSON_AddStringToObject(gvk, "kind", kind);
	cJSON_AddStringToObject(gvk, "version", version);
	cJSON_AddItemToArray(gvks, gvk);
	if (crd) {
		/* As a CRD's published name: <reversed group>.<version>.<Kind>. */
		char rg[256] = "";
		const char *g = group + strlen(group);
		while (g > group) {
			const char *d = g;
			while (d > group && d[-1] != '.')
				d--;
			size_t n = strlen(rg);
			snprintf(rg + n, sizeof rg - n, "%s%.*s", n ? "." : "", (int)(g - d), d);
			g = d > group ? d - 1 : d;
		}
		snprintf(name, sizeof name, "%s.%s.%s", rg, version, kind);
	} else {
		openschema_def_name(msg, name, sizeof name);
	}
	if (msg < 0 && !v3)
		v2_preserve_prune(s, 0);
	cJSON_DeleteItemFromObjectCaseSensitive(defs, name);
	cJSON_AddItemToObject(defs, name, s);
	return true;
}
