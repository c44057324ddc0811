#include "render.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "jsonutil.h"
#include "patch.h"
#include "xalloc.h"
#include "yamljson.h"

/* ---- names -------------------------------------------------------------- */

void render_safe_encode(const char *s, char *out)
{
	static const char alphanums[] = "bcdfghjklmnpqrstvwxz2456789";
	size_t i = 0;
	for (; s[i]; i++)
		out[i] = alphanums[(unsigned char)s[i] % (sizeof alphanums - 1)];
	out[i] = '\0';
}

static void lower_into(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static void colon_to_dot(char *s)
{
	for (; *s; s++)
		if (*s == ':')
			*s = '.';
}

void render_binding_name(const char *kind, const char *name, char *buf, size_t len)
{
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s-%s", name ? name : "", kind ? kind : "");
	colon_to_dot(tmp);
	lower_into(buf, len, tmp);
}

void render_work_name(const char *kind, const char *name, const char *ns, char *buf, size_t len)
{
	char lname[300], hashed[900], dec[16], enc[16];
	snprintf(hashed, sizeof hashed, "%s", name ? name : "");
	colon_to_dot(hashed);
	lower_into(lname, sizeof lname, hashed);
	if (ns && *ns)
		snprintf(hashed, sizeof hashed, "%s-%s-%s", ns, lname, kind ? kind : "");
	else
		snprintf(hashed, sizeof hashed, "%s-%s", lname, kind ? kind : "");
	char lhashed[900];
	lower_into(lhashed, sizeof lhashed, hashed);
	snprintf(dec, sizeof dec, "%u", sched_fnv1a32(lhashed));
	render_safe_encode(dec, enc);
	snprintf(buf, len, "%s-%s", lname, enc);
}

void render_exec_namespace(const char *cluster, char *buf, size_t len) { snprintf(buf, len, "karmada-es-%s", cluster); }

/* ---- replicas ----------------------------------------------------------- */

static const char *kind_of(const cJSON *o) { return json_get_str(o, "kind"); }

static bool api_group_is(const cJSON *o, const char *group)
{
	const char *av = json_get_str(o, "apiVersion");
	if (!av)
		return false;
	size_t gl = strlen(group);
	return strncmp(av, group, gl) == 0 && av[gl] == '/';
}

static const char *replicas_field(const cJSON *tmpl)
{
	const char *k = kind_of(tmpl);
	if (!k)
		return NULL;
	if (api_group_is(tmpl, "apps") &&
	    (strcmp(k, "Deployment") == 0 || strcmp(k, "StatefulSet") == 0 || strcmp(k, "ReplicaSet") == 0))
		return "replicas";
	if (api_group_is(tmpl, "batch") && strcmp(k, "Job") == 0)
		return "parallelism";
	return NULL;
}

bool render_has_replicas(const cJSON *tmpl) { return replicas_field(tmpl) != NULL; }

long render_replicas(const cJSON *tmpl)
{
	const char *f = replicas_field(tmpl);
	if (!f)
		return 0;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(tmpl, "spec"), f);
	if (!cJSON_IsNumber(v))
		return 1; /* Kubernetes defaults both to 1 */
	return v->valuedouble < 0 ? 0 : (long)v->valuedouble;
}

void render_set_replicas(cJSON *manifest, long replicas)
{
	const char *f = replicas_field(manifest);
	if (f)
		json_set_num(json_ensure_obj(manifest, "spec"), f, (double)replicas);
}

/* ---- bindings ----------------------------------------------------------- */

static const char *meta(const cJSON *o, const char *f)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata"), f));
}

static const char *map_str(const cJSON *map, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(map, key));
}

static void copy_field(cJSON *dst, const char *key, const cJSON *src_obj)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src_obj, key);
	if (v)
		json_set(dst, key, json_dup(v));
}

cJSON *render_binding(const cJSON *tmpl, const cJSON *policy, bool cluster_policy, const cJSON *existing,
		      const char *binding_id)
{
	const char *ns = meta(tmpl, "namespace");
	bool namespaced = ns && *ns;
	const char *kind = kind_of(tmpl), *name = meta(tmpl, "name");
	char bname[600];
	render_binding_name(kind, name, bname, sizeof bname);

	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "apiVersion", "work.karmada.io/v1alpha2");
	cJSON_AddStringToObject(b, "kind", namespaced ? "ResourceBinding" : "ClusterResourceBinding");
	cJSON *m = cJSON_AddObjectToObject(b, "metadata");
	cJSON_AddStringToObject(m, "name", bname);
	if (namespaced)
		cJSON_AddStringToObject(m, "namespace", ns);

	/* Labels and annotations: keep what other stages or users put there,
	 * then (re)write the claim. */
	cJSON *labels = json_dup(json_get(existing, "metadata.labels"));
	cJSON *ann = json_dup(json_get(existing, "metadata.annotations"));
	if (!cJSON_IsObject(labels)) {
		cJSON_Delete(labels);
		labels = cJSON_CreateObject();
	}
	if (!cJSON_IsObject(ann)) {
		cJSON_Delete(ann);
		ann = cJSON_CreateObject();
	}
	const char *idkey = namespaced ? RB_PERMANENT_ID_LABEL : CRB_PERMANENT_ID_LABEL;
	if (!map_str(labels, idkey) && binding_id && *binding_id)
		json_set_str(labels, idkey, binding_id);
	static const char *const claim_labels[] = {PP_PERMANENT_ID_LABEL, CPP_PERMANENT_ID_LABEL, NULL};
	static const char *const claim_ann[] = {PP_NAME_ANNOTATION, PP_NAMESPACE_ANNOTATION, CPP_NAME_ANNOTATION, NULL};
	for (int i = 0; claim_labels[i]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(labels, claim_labels[i]);
	for (int i = 0; claim_ann[i]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(ann, claim_ann[i]);
	if (policy) {
		const char *pid = detector_policy_permanent_id(policy, cluster_policy);
		if (cluster_policy) {
			json_set_str(labels, CPP_PERMANENT_ID_LABEL, pid);
			json_set_str(ann, CPP_NAME_ANNOTATION, meta(policy, "name") ? meta(policy, "name") : "");
		} else {
			json_set_str(labels, PP_PERMANENT_ID_LABEL, pid);
			json_set_str(ann, PP_NAME_ANNOTATION, meta(policy, "name") ? meta(policy, "name") : "");
			json_set_str(ann, PP_NAMESPACE_ANNOTATION, meta(policy, "namespace") ? meta(policy, "namespace") : "");
		}
	}
	cJSON_AddItemToObject(m, "labels", labels);
	if (cJSON_GetArraySize(ann) > 0)
		cJSON_AddItemToObject(m, "annotations", ann);
	else
		cJSON_Delete(ann);
	detector_add_finalizer(b, namespaced ? BINDING_FINALIZER : CLUSTER_RESOURCE_BINDING_FINALIZER);

	/* The template owns its binding (Karmada sets a controller reference). */
	if (meta(tmpl, "uid")) {
		cJSON *refs = cJSON_AddArrayToObject(m, "ownerReferences");
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "apiVersion", json_get_str(tmpl, "apiVersion") ? json_get_str(tmpl, "apiVersion") : "");
		cJSON_AddStringToObject(r, "kind", kind ? kind : "");
		cJSON_AddStringToObject(r, "name", name ? name : "");
		cJSON_AddStringToObject(r, "uid", meta(tmpl, "uid"));
		cJSON_AddTrueToObject(r, "controller");
		cJSON_AddTrueToObject(r, "blockOwnerDeletion");
		cJSON_AddItemToArray(refs, r);
	}

	cJSON *spec = cJSON_AddObjectToObject(b, "spec");
	cJSON *res = cJSON_AddObjectToObject(spec, "resource");
	cJSON_AddStringToObject(res, "apiVersion", json_get_str(tmpl, "apiVersion") ? json_get_str(tmpl, "apiVersion") : "");
	cJSON_AddStringToObject(res, "kind", kind ? kind : "");
	if (namespaced)
		cJSON_AddStringToObject(res, "namespace", ns);
	cJSON_AddStringToObject(res, "name", name ? name : "");
	if (meta(tmpl, "uid"))
		cJSON_AddStringToObject(res, "uid", meta(tmpl, "uid"));
	if (meta(tmpl, "resourceVersion"))
		cJSON_AddStringToObject(res, "resourceVersion", meta(tmpl, "resourceVersion"));
	if (render_has_replicas(tmpl) && render_replicas(tmpl) > 0)
		cJSON_AddNumberToObject(spec, "replicas", (double)render_replicas(tmpl));

	const cJSON *ps = json_get(policy, "spec");
	if (policy) {
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(ps, "placement");
		cJSON_AddItemToObject(spec, "placement", pl ? json_dup(pl) : cJSON_CreateObject());
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ps, "propagateDeps")))
			cJSON_AddTrueToObject(spec, "propagateDeps");
		const char *sn = json_get_str(ps, "schedulerName");
		cJSON_AddStringToObject(spec, "schedulerName", sn && *sn ? sn : "default-scheduler");
		copy_field(spec, "failover", ps);
		const char *cr = json_get_str(ps, "conflictResolution");
		cJSON_AddStringToObject(spec, "conflictResolution", cr && strcmp(cr, "Overwrite") == 0 ? "Overwrite" : "Abort");
		copy_field(spec, "suspension", ps);
		copy_field(spec, "preserveResourcesOnDeletion", ps);
	} else {
		/* An attached (dependency-only) binding keeps what it had. */
		const cJSON *es = json_get(existing, "spec");
		copy_field(spec, "conflictResolution", es);
	}
	const cJSON *es = json_get(existing, "spec");
	copy_field(spec, "clusters", es);
	copy_field(spec, "requiredBy", es);
	copy_field(spec, "rescheduleTriggeredAt", es);
	copy_field(spec, "gracefulEvictionTasks", es); /* failover.h owns them */
	return b;
}

void render_binding_set_clusters(cJSON *binding, const struct sched_result *r)
{
	cJSON *spec = json_ensure_obj(binding, "spec");
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < r->n; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", r->targets[i].name);
		if (r->has_replicas && r->targets[i].replicas > 0)
			cJSON_AddNumberToObject(c, "replicas", (double)r->targets[i].replicas);
		cJSON_AddItemToArray(arr, c);
	}
	json_set(spec, "clusters", arr);
}

struct target {
	const char *name;
	long replicas;
};

static int cmp_target(const void *a, const void *b)
{
	return strcmp(((const struct target *)a)->name, ((const struct target *)b)->name);
}

static void collect_targets(const cJSON *clusters, struct target **t, int *n, int *cap)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, clusters)
	{
		const char *name = json_get_str(c, "name");
		if (!name || !*name)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*t = realloc(*t, sizeof **t * (size_t)*cap);
		}
		(*t)[(*n)++] = (struct target){name, (long)json_get_num(c, "replicas", 0)};
	}
}

/* Sorted by name, one entry per cluster: O(N log N), as it runs for every
 * Work pass and aggregation of a binding with N clusters. */
cJSON *render_target_clusters(const cJSON *binding)
{
	struct target *t = NULL;
	int n = 0, cap = 0;
	collect_targets(json_get(binding, "spec.clusters"), &t, &n, &cap);
	const cJSON *rb;
	cJSON_ArrayForEach(rb, json_get(binding, "spec.requiredBy"))
		collect_targets(cJSON_GetObjectItemCaseSensitive(rb, "clusters"), &t, &n, &cap);
	if (n > 1)
		qsort(t, (size_t)n, sizeof *t, cmp_target);
	cJSON *out = cJSON_CreateArray();
	for (int i = 0; i < n;) {
		/* Karmada keeps the larger replica count of the duplicates. */
		long replicas = t[i].replicas;
		int j = i + 1;
		for (; j < n && strcmp(t[j].name, t[i].name) == 0; j++)
			if (t[j].replicas > replicas)
				replicas = t[j].replicas;
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", t[i].name);
		cJSON_AddNumberToObject(c, "replicas", (double)replicas);
		cJSON_AddItemToArray(out, c);
		i = j;
	}
	free(t);
	return out;
}

/* ---- manifests ------------------------------------------------------------ */

cJSON *render_clean_manifest(const cJSON *tmpl)
{
	/* A copy without status (often the larger half of a template). */
	cJSON *m = cJSON_CreateObject();
	for (const cJSON *f = cJSON_IsObject(tmpl) ? tmpl->child : NULL; f; f = f->next)
		if (f->string && strcmp(f->string, "status") != 0)
			cJSON_AddItemToObject(m, f->string, json_dup(f));
	cJSON *md = cJSON_GetObjectItemCaseSensitive(m, "metadata");
	static const char *const drop[] = {"uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
					   "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink", NULL};
	for (int i = 0; drop[i]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(md, drop[i]);
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(ann, LAST_APPLIED_ANNOTATION);
	if (ann && cJSON_GetArraySize(ann) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(md, "annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(m, "status");
	const char *k = kind_of(m);
	const char *av = json_get_str(m, "apiVersion");
	if (k && av && strcmp(k, "Service") == 0 && strcmp(av, "v1") == 0) {
		/* The hub's allocated IP means nothing in a member cluster. */
		cJSON *spec = cJSON_GetObjectItemCaseSensitive(m, "spec");
		const char *ip = json_get_str(spec, "clusterIP");
		if (ip && strcmp(ip, "None") != 0) {
			cJSON_DeleteItemFromObjectCaseSensitive(spec, "clusterIP");
			cJSON_DeleteItemFromObjectCaseSensitive(spec, "clusterIPs");
		}
	}
	if (k && strcmp(k, "Job") == 0 && api_group_is(m, "batch") && !cJSON_IsTrue(json_get(m, "spec.manualSelector"))) {
		/* The selector and controller-uid labels are generated per cluster. */
		cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "spec"), "selector");
		cJSON *tl = json_get(m, "spec.template.metadata.labels");
		static const char *const jl[] = {"controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
						 "batch.kubernetes.io/job-name", NULL};
		for (int i = 0; jl[i]; i++)
			cJSON_DeleteItemFromObjectCaseSensitive(tl, jl[i]);
	}
	return m;
}

/* ---- overriders ------------------------------------------------------------ */

static bool str_in(const cJSON *arr, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	}
	return false;
}

/* Pod spec paths (JSON pointers) of a workload kind, as Karmada's
 * overridemanager knows them. */
static const char *pod_spec_pointer(const cJSON *m)
{
	const char *k = kind_of(m);
	if (!k)
		return NULL;
	if (strcmp(k, "Pod") == 0)
		return "/spec";
	if (strcmp(k, "Deployment") == 0 || strcmp(k, "StatefulSet") == 0 || strcmp(k, "DaemonSet") == 0 ||
	    strcmp(k, "ReplicaSet") == 0 || strcmp(k, "Job") == 0)
		return "/spec/template/spec";
	if (strcmp(k, "CronJob") == 0)
		return "/spec/jobTemplate/spec/template/spec";
	return NULL;
}

/* Resolves a JSON pointer ("/a/b/0", ~0 ~1 escapes). */
static cJSON *pointer_get(cJSON *doc, const char *ptr)
{
	if (!ptr)
		return NULL;
	if (!*ptr)
		return doc;
	if (*ptr != '/')
		return NULL;
	cJSON *cur = doc;
	const char *p = ptr + 1;
	char tok[512];
	for (;;) {
		size_t n = 0;
		while (*p && *p != '/') {
			char c = *p++;
			if (c == '~' && (*p == '0' || *p == '1')) {
				c = *p == '0' ? '~' : '/';
				p++;
			}
			if (n + 1 < sizeof tok)
				tok[n++] = c;
		}
		tok[n] = '\0';
		if (cJSON_IsArray(cur)) {
			char *end;
			long i = strtol(tok, &end, 10);
			if (*end || end == tok || i < 0)
				return NULL;
			cur = cJSON_GetArrayItem(cur, (int)i);
		} else if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		} else {
			return NULL;
		}
		if (!cur)
			return NULL;
		if (!*p)
			return cur;
		p++;
	}
}

struct image_ref {
	char host[256], repo[512], tag[256], digest[256];
};

static void image_parse(const char *image, struct image_ref *r)
{
	memset(r, 0, sizeof *r);
	char rest[512];
	snprintf(rest, sizeof rest, "%s", image);
	char *at = strchr(rest, '@');
	if (at) {
		snprintf(r->digest, sizeof r->digest, "%s", at + 1);
		*at = '\0';
	}
	char *slash = strrchr(rest, '/');
	char *colon = strrchr(rest, ':');
	if (colon && (!slash || colon > slash)) {
		snprintf(r->tag, sizeof r->tag, "%s", colon + 1);
		*colon = '\0';
	}
	char *first = strchr(rest, '/');
	if (first) {
		size_t hl = (size_t)(first - rest);
		char host[256];
		snprintf(host, sizeof host, "%.*s", (int)hl, rest);
		if (strchr(host, '.') || strchr(host, ':') || strcmp(host, "localhost") == 0) {
			snprintf(r->host, sizeof r->host, "%s", host);
			snprintf(r->repo, sizeof r->repo, "%s", first + 1);
			return;
		}
	}
	snprintf(r->repo, sizeof r->repo, "%s", rest);
}

static void image_string(const struct image_ref *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s%s", r->host, r->host[0] ? "/" : "", r->repo, r->tag[0] ? ":" : "", r->tag,
		 r->digest[0] ? "@" : "", r->digest);
}

static void concat(char *dst, size_t len, const char *add)
{
	size_t n = strlen(dst);
	if (n < len)
		snprintf(dst + n, len - n, "%s", add);
}

static void override_image(cJSON *img, const cJSON *ov)
{
	if (!cJSON_IsString(img))
		return;
	const char *comp = json_get_str(ov, "component"), *op = json_get_str(ov, "operator");
	const char *val = json_get_str(ov, "value");
	if (!comp || !op)
		return;
	if (!val)
		val = "";
	struct image_ref r;
	image_parse(img->valuestring, &r);
	bool add = strcmp(op, "add") == 0, rep = strcmp(op, "replace") == 0, rem = strcmp(op, "remove") == 0;
	if (strcmp(comp, "Registry") == 0) {
		if (add)
			concat(r.host, sizeof r.host, val);
		else if (rep)
			snprintf(r.host, sizeof r.host, "%s", val);
		else if (rem)
			r.host[0] = '\0';
	} else if (strcmp(comp, "Repository") == 0) {
		if (add)
			concat(r.repo, sizeof r.repo, val);
		else if (rep)
			snprintf(r.repo, sizeof r.repo, "%s", val);
		else if (rem)
			r.repo[0] = '\0';
	} else if (strcmp(comp, "Tag") == 0) {
		if (add || rep) {
			r.tag[0] = r.digest[0] = '\0';
			if (strchr(val, ':'))
				snprintf(r.digest, sizeof r.digest, "%s", val);
			else
				snprintf(r.tag, sizeof r.tag, "%s", val);
		} else if (rem) {
			r.tag[0] = r.digest[0] = '\0';
		}
	}
	char out[1400];
	image_string(&r, out, sizeof out);
	cJSON_SetValuestring(img, out);
}

static void apply_image_overriders(cJSON *m, const cJSON *list)
{
	const cJSON *ov;
	cJSON_ArrayForEach(ov, list)
	{
		const char *path = json_get_str(ov, "predicate.path");
		if (path) {
			override_image(pointer_get(m, path), ov);
			continue;
		}
		const char *ps = pod_spec_pointer(m);
		cJSON *spec = ps ? pointer_get(m, ps) : NULL;
		static const char *const lists[] = {"containers", "initContainers", NULL};
		for (int i = 0; spec && lists[i]; i++) {
			cJSON *c;
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, lists[i]))
				override_image(cJSON_GetObjectItemCaseSensitive(c, "image"), ov);
		}
	}
}

/* commandOverrider / argsOverrider: add appends, remove drops values. */
static void apply_list_overriders(cJSON *m, const cJSON *list, const char *field)
{
	const char *ps = pod_spec_pointer(m);
	cJSON *spec = ps ? pointer_get(m, ps) : NULL;
	if (!spec)
		return;
	const cJSON *ov;
	cJSON_ArrayForEach(ov, list)
	{
		const char *cname = json_get_str(ov, "containerName"), *op = json_get_str(ov, "operator");
		if (!cname || !op)
			continue;
		cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
		{
			const char *n = json_get_str(c, "name");
			if (!n || strcmp(n, cname) != 0)
				continue;
			cJSON *arr = cJSON_GetObjectItemCaseSensitive(c, field);
			const cJSON *v;
			if (strcmp(op, "add") == 0) {
				if (!cJSON_IsArray(arr)) {
					arr = cJSON_CreateArray();
					json_set(c, field, arr);
				}
				cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(ov, "value"))
					cJSON_AddItemToArray(arr, json_dup(v));
			} else if (strcmp(op, "remove") == 0 && cJSON_IsArray(arr)) {
				const cJSON *vals = cJSON_GetObjectItemCaseSensitive(ov, "value");
				for (int i = cJSON_GetArraySize(arr) - 1; i >= 0; i--) {
					cJSON *item = cJSON_GetArrayItem(arr, i);
					if (cJSON_IsString(item) && str_in(vals, item->valuestring))
						cJSON_DeleteItemFromArray(arr, i);
				}
			}
		}
	}
}

/* labelsOverrider / annotationsOverrider: add sets, replace changes only
 * existing keys, remove deletes existing keys. */
static void apply_map_overriders(cJSON *m, const cJSON *list, const char *field)
{
	const cJSON *ov;
	cJSON_ArrayForEach(ov, list)
	{
		const char *op = json_get_str(ov, "operator");
		if (!op)
			continue;
		cJSON *md = json_ensure_obj(m, "metadata");
		cJSON *map = cJSON_GetObjectItemCaseSensitive(md, field);
		const cJSON *kv;
		cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(ov, "value"))
		{
			bool exists = cJSON_GetObjectItemCaseSensitive(map, kv->string) != NULL;
			if (strcmp(op, "add") == 0) {
				if (!cJSON_IsObject(map)) {
					map = cJSON_CreateObject();
					json_set(md, field, map);
				}
				json_set(map, kv->string, json_dup(kv));
			} else if (strcmp(op, "replace") == 0 && exists) {
				json_set(map, kv->string, json_dup(kv));
			} else if (strcmp(op, "remove") == 0 && exists) {
				cJSON_DeleteItemFromObjectCaseSensitive(map, kv->string);
			}
		}
	}
}

static void replace_contents(cJSON *dst, cJSON *src)
{
	cJSON *child = dst->child;
	dst->child = src->child;
	src->child = child;
	cJSON_Delete(src);
}

/* JSON patch operations from overrider entries: {subPath|path, operator,
 * value} -> {path, op, value}. */
static cJSON *patch_ops(const cJSON *list, const char *path_field)
{
	cJSON *ops = cJSON_CreateArray();
	const cJSON *pt;
	cJSON_ArrayForEach(pt, list)
	{
		cJSON *o = cJSON_CreateObject();
		const char *op = json_get_str(pt, "operator"), *path = json_get_str(pt, path_field);
		cJSON_AddStringToObject(o, "op", op ? op : "");
		cJSON_AddStringToObject(o, "path", path ? path : "");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(pt, "value");
		if (v && !(op && strcmp(op, "remove") == 0))
			cJSON_AddItemToObject(o, "value", json_dup(v));
		cJSON_AddItemToArray(ops, o);
	}
	return ops;
}

static int apply_plaintext(cJSON *m, const cJSON *list, char *err, size_t errlen)
{
	if (cJSON_GetArraySize(list) == 0)
		return 0;
	cJSON *ops = patch_ops(list, "path");
	cJSON *res = patch_json(m, ops, err, errlen);
	cJSON_Delete(ops);
	if (!res)
		return -1;
	replace_contents(m, res);
	return 0;
}

/* Go's encoding/json (through evanphx/json-patch) writes maps with sorted
 * keys; so does the JSON a fieldOverrider leaves behind. */
static void sort_keys(cJSON *j)
{
	if (cJSON_IsArray(j) || cJSON_IsObject(j))
		for (cJSON *c = j->child; c; c = c->next)
			sort_keys(c);
	if (!cJSON_IsObject(j) || !j->child)
		return;
	/* insertion sort on the sibling list (objects are small) */
	cJSON *sorted = NULL;
	for (cJSON *c = j->child, *next; c; c = next) {
		next = c->next;
		cJSON **at = &sorted;
		while (*at && strcmp((*at)->string, c->string) <= 0)
			at = &(*at)->next;
		c->next = *at;
		*at = c;
	}
	cJSON *prev = NULL, *last = NULL;
	for (cJSON *c = sorted; c; c = c->next) {
		c->prev = prev;
		prev = c;
		last = c;
	}
	j->child = sorted;
	sorted->prev = last; /* cJSON: the first item's prev is the last item */
}

/* fieldOverrider: JSON patch operations inside a string field that holds
 * JSON or YAML (a ConfigMap's config file), as Karmada's
 * applyFieldOverriders: the field must be a string; YAML goes to JSON, is
 * patched, and is written back as YAML. */
static int apply_field_overriders(cJSON *m, const cJSON *list, char *err, size_t errlen)
{
	const cJSON *fo;
	cJSON_ArrayForEach(fo, list)
	{
		const char *fp = json_get_str(fo, "fieldPath");
		cJSON *field = fp ? patch_pointer_get(m, fp) : NULL;
		if (!cJSON_IsString(field)) {
			snprintf(err, errlen, "Get object's value by overrider's path(%s) is not string", fp ? fp : "");
			return -1;
		}
		const cJSON *yops = cJSON_GetObjectItemCaseSensitive(fo, "yaml");
		bool yaml = cJSON_GetArraySize(yops) > 0;
		const cJSON *list_ops = yaml ? yops : cJSON_GetObjectItemCaseSensitive(fo, "json");
		if (cJSON_GetArraySize(list_ops) == 0)
			continue;
		char perr[512] = "";
		const char *text = field->valuestring;
		cJSON *data = yaml ? yaml_parse_one(text, strlen(text), perr, sizeof perr)
				   : json_parse_limited(text, strlen(text), JSON_MAX_DEPTH, perr, sizeof perr);
		if (!data) {
			snprintf(err, errlen, "fieldOverrider at %s: the field is not %s%s%s", fp, yaml ? "YAML" : "JSON",
				 perr[0] ? ": " : "", perr);
			return -1;
		}
		cJSON *ops = patch_ops(list_ops, "subPath");
		cJSON *res = patch_json(data, ops, perr, sizeof perr);
		cJSON_Delete(ops);
		cJSON_Delete(data);
		if (!res) {
			snprintf(err, errlen, "fieldOverrider at %s: %s", fp, perr);
			return -1;
		}
		sort_keys(res);
		char *out = yaml ? yaml_emit(res, perr, sizeof perr) : json_print(res);
		cJSON_Delete(res);
		if (!out) {
			snprintf(err, errlen, "fieldOverrider at %s: %s", fp, perr);
			return -1;
		}
		cJSON_SetValuestring(field, out);
		free(out);
	}
	return 0;
}

static int apply_overriders(cJSON *m, const cJSON *ov, char *err, size_t errlen)
{
	apply_image_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "imageOverrider"));
	apply_list_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "commandOverrider"), "command");
	apply_list_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "argsOverrider"), "args");
	apply_map_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "labelsOverrider"), "labels");
	apply_map_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "annotationsOverrider"), "annotations");
	if (apply_field_overriders(m, cJSON_GetObjectItemCaseSensitive(ov, "fieldOverrider"), err, errlen) < 0)
		return -1;
	return apply_plaintext(m, cJSON_GetObjectItemCaseSensitive(ov, "plaintext"), err, errlen);
}

struct matched_rule {
	const cJSON *policy;
	const cJSON *overriders;
	int priority;
	const char *name;
};

/* Override policies whose selectors pick m, with the rules that target the
 * cluster, sorted by implicit priority then name (stable). */
static int collect_rules(const cJSON *m, const cJSON *cluster, const cJSON *policies, bool cluster_scoped,
			 struct matched_rule **out)
{
	int n = 0, cap = 0;
	*out = NULL;
	const char *mns = meta(m, "namespace");
	const cJSON *p;
	cJSON_ArrayForEach(p, policies)
	{
		if (meta(p, "deletionTimestamp"))
			continue;
		const char *pns = cluster_scoped ? NULL : meta(p, "namespace");
		if (!cluster_scoped && (!pns || !mns || strcmp(pns, mns) != 0))
			continue;
		const cJSON *sels = json_get(p, "spec.resourceSelectors");
		int prio = MATCH_NONE;
		if (cJSON_GetArraySize(sels) == 0) {
			prio = MATCH_ALL;
		} else {
			const cJSON *s;
			cJSON_ArrayForEach(s, sels)
			{
				int pr = (int)detector_selector_match(s, m, pns);
				if (pr > prio)
					prio = pr;
			}
		}
		if (prio == MATCH_NONE)
			continue;
		const cJSON *rules = json_get(p, "spec.overrideRules");
		int nr = cJSON_GetArraySize(rules);
		bool legacy = nr == 0;
		for (int ri = 0; ri < (legacy ? 1 : nr); ri++) {
			const cJSON *rule = legacy ? NULL : cJSON_GetArrayItem(rules, ri);
			const cJSON *tc = legacy ? json_get(p, "spec.targetCluster")
						 : cJSON_GetObjectItemCaseSensitive(rule, "targetCluster");
			const cJSON *ovs = legacy ? json_get(p, "spec.overriders")
						  : cJSON_GetObjectItemCaseSensitive(rule, "overriders");
			if (tc && !cJSON_IsNull(tc) && !(cluster && cluster_affinity_matches(cluster, tc)))
				continue;
			if (!ovs)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				*out = realloc(*out, (size_t)cap * sizeof **out);
			}
			(*out)[n++] = (struct matched_rule){p, ovs, prio, meta(p, "name") ? meta(p, "name") : ""};
		}
	}
	/* insertion sort: stable */
	for (int i = 1; i < n; i++) {
		struct matched_rule x = (*out)[i];
		int j = i - 1;
		while (j >= 0 && ((*out)[j].priority > x.priority ||
				  ((*out)[j].priority == x.priority && strcmp((*out)[j].name, x.name) > 0))) {
			(*out)[j + 1] = (*out)[j];
			j--;
		}
		(*out)[j + 1] = x;
	}
	return n;
}

static void record_applied(cJSON **list, const struct matched_rule *r)
{
	if (!list)
		return;
	if (!*list)
		*list = cJSON_CreateArray();
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "policyName", r->name);
	cJSON_AddItemToObject(e, "overriders", json_dup(r->overriders));
	cJSON_AddItemToArray(*list, e);
}

int render_apply_overrides(cJSON *manifest, const cJSON *cluster, const cJSON *cops, const cJSON *ops,
			   cJSON **applied_cops, cJSON **applied_ops, char *err, size_t errlen)
{
	if (applied_cops)
		*applied_cops = NULL;
	if (applied_ops)
		*applied_ops = NULL;
	struct matched_rule *cr = NULL, *orr = NULL;
	/* Collect both lists from the unmodified manifest, as Karmada does. */
	int nc = collect_rules(manifest, cluster, cops, true, &cr);
	int no = meta(manifest, "namespace") ? collect_rules(manifest, cluster, ops, false, &orr) : 0;
	int rc = 0;
	for (int i = 0; i < nc && rc == 0; i++) {
		rc = apply_overriders(manifest, cr[i].overriders, err, errlen);
		if (rc == 0)
			record_applied(applied_cops, &cr[i]);
	}
	for (int i = 0; i < no && rc == 0; i++) {
		rc = apply_overriders(manifest, orr[i].overriders, err, errlen);
		if (rc == 0)
			record_applied(applied_ops, &orr[i]);
	}
	free(cr);
	free(orr);
	return rc;
}

/* ---- works -------------------------------------------------------------- */

static bool divided(const cJSON *binding)
{
	const cJSON *rs = json_get(binding, "spec.placement.replicaScheduling");
	if (!rs || cJSON_IsNull(rs))
		return false;
	const char *t = json_get_str(rs, "replicaSchedulingType");
	return !t || !*t || strcmp(t, "Divided") == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Karmada's RecordManagedAnnotations / RecordManagedLabels: the sorted key
 * list, the record key itself included. */
static void record_keys(cJSON *ann, const cJSON *map, const char *record_key, bool include_self)
{
	int n = cJSON_GetArraySize(map);
	const char **keys = calloc((size_t)n + 1, sizeof *keys);
	int k = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, map)
	{
		if (strcmp(it->string, record_key) != 0)
			keys[k++] = it->string;
	}
	if (include_self)
		keys[k++] = record_key;
	qsort(keys, (size_t)k, sizeof *keys, cmp_str);
	size_t len = 1;
	for (int i = 0; i < k; i++)
		len += strlen(keys[i]) + 1;
	char *buf = xcalloc(len, 1), *p = buf;
	for (int i = 0; i < k; i++)
		p += snprintf(p, len - (size_t)(p - buf), "%s%s", i ? "," : "", keys[i]);
	json_set_str(ann, record_key, buf);
	free(buf);
	free(keys);
}

static cJSON *ensure_map(cJSON *md, const char *field)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(md, field);
	if (!cJSON_IsObject(m)) {
		m = cJSON_CreateObject();
		json_set(md, field, m);
	}
	return m;
}

static void applied_names(cJSON **applied, const cJSON *list, const char *ns)
{
	if (!applied)
		return;
	const cJSON *e;
	cJSON_ArrayForEach(e, list)
	{
		char buf[600];
		const char *pn = json_get_str(e, "policyName");
		if (ns)
			snprintf(buf, sizeof buf, "%s/%s", ns, pn ? pn : "");
		else
			snprintf(buf, sizeof buf, "%s", pn ? pn : "");
		bool dup = false;
		const cJSON *x;
		cJSON_ArrayForEach(x, *applied) dup |= strcmp(x->valuestring, buf) == 0;
		if (!dup)
			cJSON_AddItemToArray(*applied, cJSON_CreateString(buf));
	}
}

cJSON *render_work(const struct render_work_in *in, cJSON **applied, char *err, size_t errlen)
{
	if (applied)
		*applied = cJSON_CreateArray();
	const cJSON *b = in->binding, *t = in->tmpl;
	const char *bns = meta(b, "namespace");
	bool namespaced = bns && *bns;
	const char *bname = meta(b, "name") ? meta(b, "name") : "";
	const char *kind = kind_of(t) ? kind_of(t) : "", *name = meta(t, "name") ? meta(t, "name") : "";
	const char *tns = meta(t, "namespace");
	char wname[600], wns[300];
	render_work_name(kind, name, tns, wname, sizeof wname);
	render_exec_namespace(in->cluster, wns, sizeof wns);

	cJSON *m = render_clean_manifest(t);
	if (render_has_replicas(t) && divided(b) && render_replicas(t) > 0)
		render_set_replicas(m, in->replicas);
	cJSON *acops = NULL, *aops = NULL;
	if (render_apply_overrides(m, in->cluster_obj, in->cops, in->ops, &acops, &aops, err, errlen) < 0) {
		cJSON_Delete(m);
		if (applied) {
			cJSON_Delete(*applied);
			*applied = NULL;
		}
		return NULL;
	}
	applied_names(applied, acops, NULL);
	applied_names(applied, aops, tns);

	const char *bid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    json_get(b, "metadata.labels"), namespaced ? RB_PERMANENT_ID_LABEL : CRB_PERMANENT_ID_LABEL));
	const char *cr = json_get_str(b, "spec.conflictResolution");
	const char *crv = cr && strcmp(cr, "Overwrite") == 0 ? "overwrite" : "abort";
	char gen[32];
	snprintf(gen, sizeof gen, "%lld", (long long)json_get_num(t, "metadata.generation", 0));

	/* Ownership metadata on the manifest, after the overrides. */
	cJSON *md = json_ensure_obj(m, "metadata");
	cJSON *ml = ensure_map(md, "labels");
	cJSON *ma = ensure_map(md, "annotations");
	json_set_str(ml, MANAGED_BY_KARMADA_LABEL, "true");
	if (bid)
		json_set_str(ml, namespaced ? RB_PERMANENT_ID_LABEL : CRB_PERMANENT_ID_LABEL, bid);
	if (in->work_id)
		json_set_str(ml, WORK_PERMANENT_ID_LABEL, in->work_id);
	if (namespaced) {
		json_set_str(ma, RB_NAME_ANNOTATION, bname);
		json_set_str(ma, RB_NAMESPACE_ANNOTATION, bns);
	} else {
		json_set_str(ma, CRB_NAME_ANNOTATION, bname);
	}
	if (meta(t, "uid"))
		json_set_str(ma, TEMPLATE_UID_ANNOTATION, meta(t, "uid"));
	json_set_str(ma, TEMPLATE_GENERATION_ANNOTATION, gen);
	json_set_str(ma, WORK_NAME_ANNOTATION, wname);
	json_set_str(ma, WORK_NAMESPACE_ANNOTATION, wns);
	json_set_str(ma, CONFLICT_RESOLUTION_ANNOTATION, crv);
	record_keys(ma, ml, MANAGED_LABELS_ANNOTATION, false);
	record_keys(ma, ma, MANAGED_ANNOTATIONS_ANNOTATION, true);

	cJSON *w = cJSON_CreateObject();
	cJSON_AddStringToObject(w, "apiVersion", "work.karmada.io/v1alpha1");
	cJSON_AddStringToObject(w, "kind", "Work");
	cJSON *wm = cJSON_AddObjectToObject(w, "metadata");
	cJSON_AddStringToObject(wm, "name", wname);
	cJSON_AddStringToObject(wm, "namespace", wns);
	detector_add_finalizer(w, EXECUTION_FINALIZER);
	cJSON *wl = cJSON_AddObjectToObject(wm, "labels");
	if (bid)
		cJSON_AddStringToObject(wl, namespaced ? RB_PERMANENT_ID_LABEL : CRB_PERMANENT_ID_LABEL, bid);
	if (in->work_id)
		cJSON_AddStringToObject(wl, WORK_PERMANENT_ID_LABEL, in->work_id);
	cJSON *wa = cJSON_AddObjectToObject(wm, "annotations");
	if (namespaced) {
		cJSON_AddStringToObject(wa, RB_NAME_ANNOTATION, bname);
		cJSON_AddStringToObject(wa, RB_NAMESPACE_ANNOTATION, bns);
	} else {
		cJSON_AddStringToObject(wa, CRB_NAME_ANNOTATION, bname);
	}
	cJSON_AddStringToObject(wa, CONFLICT_RESOLUTION_ANNOTATION, crv);
	if (acops) {
		char *s = json_print(acops);
		cJSON_AddStringToObject(wa, APPLIED_CLUSTER_OVERRIDES_ANNOTATION, s);
		free(s);
	}
	if (aops) {
		char *s = json_print(aops);
		cJSON_AddStringToObject(wa, APPLIED_OVERRIDES_ANNOTATION, s);
		free(s);
	}
	cJSON_Delete(acops);
	cJSON_Delete(aops);
	cJSON *spec = cJSON_AddObjectToObject(w, "spec");
	cJSON *wl2 = cJSON_AddObjectToObject(spec, "workload");
	cJSON *mans = cJSON_AddArrayToObject(wl2, "manifests");
	cJSON_AddItemToArray(mans, m);
	if (cJSON_IsTrue(json_get(b, "spec.preserveResourcesOnDeletion")))
		cJSON_AddTrueToObject(spec, "preserveResourcesOnDeletion");
	if (detector_dispatch_suspended(b, in->cluster))
		cJSON_AddTrueToObject(spec, "suspendDispatching");
	return w;
}

/* ---- dependencies ------------------------------------------------------------ */

static void add_dep(cJSON *deps, const char *kind, const char *ns, const char *name)
{
	if (!name || !*name)
		return;
	const cJSON *d;
	cJSON_ArrayForEach(d, deps)
	{
		if (strcmp(json_get_str(d, "kind"), kind) == 0 && strcmp(json_get_str(d, "name"), name) == 0)
			return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "namespace", ns ? ns : "");
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddItemToArray(deps, o);
}

static void containers_refs(cJSON *deps, const cJSON *list, const char *ns, const char *kind)
{
	bool cm = strcmp(kind, "ConfigMap") == 0;
	const cJSON *c, *e;
	cJSON_ArrayForEach(c, list)
	{
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "env"))
			add_dep(deps, kind, ns,
				json_get_str(e, cm ? "valueFrom.configMapKeyRef.name" : "valueFrom.secretKeyRef.name"));
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "envFrom"))
			add_dep(deps, kind, ns, json_get_str(e, cm ? "configMapRef.name" : "secretRef.name"));
	}
}

cJSON *render_dependencies(const cJSON *tmpl)
{
	cJSON *deps = cJSON_CreateArray();
	const char *ps = pod_spec_pointer(tmpl);
	const cJSON *spec = ps ? pointer_get((cJSON *)tmpl, ps) : NULL;
	if (!spec)
		return deps;
	const char *ns = meta(tmpl, "namespace");
	static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers", NULL};
	const cJSON *v, *src;
	/* ConfigMaps */
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "volumes"))
	{
		add_dep(deps, "ConfigMap", ns, json_get_str(v, "configMap.name"));
		cJSON_ArrayForEach(src, json_get(v, "projected.sources"))
			add_dep(deps, "ConfigMap", ns, json_get_str(src, "configMap.name"));
	}
	for (int i = 0; lists[i]; i++)
		containers_refs(deps, cJSON_GetObjectItemCaseSensitive(spec, lists[i]), ns, "ConfigMap");
	/* Secrets */
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "imagePullSecrets"))
		add_dep(deps, "Secret", ns, json_get_str(v, "name"));
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "volumes"))
	{
		add_dep(deps, "Secret", ns, json_get_str(v, "secret.secretName"));
		cJSON_ArrayForEach(src, json_get(v, "projected.sources"))
			add_dep(deps, "Secret", ns, json_get_str(src, "secret.name"));
		add_dep(deps, "Secret", ns, json_get_str(v, "azureFile.secretName"));
		add_dep(deps, "Secret", ns, json_get_str(v, "cephfs.secretRef.name"));
		add_dep(deps, "Secret", ns, json_get_str(v, "cinder.secretRef.name"));
		add_dep(deps, "Secret", ns, json_get_str(v, "flexVolume.secretRef.name"));
		add_dep(deps, "Secret", ns, json_get_str(v, "rbd.secretRef.name"));
		add_dep(deps, "Secret", ns, json_get_str(v, "iscsi.secretRef.name"));
		add_dep(deps, "Secret", ns, json_get_str(v, "scaleIO.secretRef.name"));
		add_dep(deps, "Secret", ns, json_get_str(v, "storageos.secretRef.name"));
		add_dep(deps, "Secret", ns, json_get_str(v, "csi.nodePublishSecretRef.name"));
	}
	for (int i = 0; lists[i]; i++)
		containers_refs(deps, cJSON_GetObjectItemCaseSensitive(spec, lists[i]), ns, "Secret");
	/* ServiceAccount */
	const char *sa = json_get_str(spec, "serviceAccountName");
	if (sa && strcmp(sa, "default") != 0)
		add_dep(deps, "ServiceAccount", ns, sa);
	/* PersistentVolumeClaims */
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "volumes"))
		add_dep(deps, "PersistentVolumeClaim", ns, json_get_str(v, "persistentVolumeClaim.claimName"));
	return deps;
}
