#include "render.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "jsonutil.h"
#include "xalloc.h"

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

bool render_work_stampable(const cJSON *binding, const cJSON *tmpl, const cJSON *cops, const cJSON *ops)
{
	if (cJSON_GetArraySize(cops) > 0 || cJSON_GetArraySize(ops) > 0)
		return false; /* an override may target some clusters only */
	return !(render_has_replicas(tmpl) && divided(binding) && render_replicas(tmpl) > 0);
}

cJSON *render_work_stamp(const cJSON *proto, const struct render_work_in *in)
{
	cJSON *w = json_dup(proto);
	render_work_stamp_into(w, in);
	return w;
}

void render_work_stamp_into(cJSON *w, const struct render_work_in *in)
{
	char wns[300];
	render_exec_namespace(in->cluster, wns, sizeof wns);
	cJSON *wm = cJSON_GetObjectItemCaseSensitive(w, "metadata");
	json_set_str(wm, "namespace", wns);
	cJSON *md = json_ensure_obj(cJSON_GetArrayItem(json_get(w, "spec.workload.manifests"), 0), "metadata");
	if (in->work_id) {
		json_set_str(ensure_map(wm, "labels"), WORK_PERMANENT_ID_LABEL, in->work_id);
		json_set_str(ensure_map(md, "labels"), WORK_PERMANENT_ID_LABEL, in->work_id);
	}
	json_set_str(ensure_map(md, "annotations"), WORK_NAMESPACE_ANNOTATION, wns);
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(w, "spec");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "suspendDispatching");
	if (detector_dispatch_suspended(in->binding, in->cluster))
		cJSON_AddTrueToObject(spec, "suspendDispatching");
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
	const cJSON *spec = render_pod_spec(tmpl);
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
