#include "kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldcheck.h"

#define NS true
#define CL false
#define S(...) {__VA_ARGS__, NULL}

const struct kind_info builtin_kinds[] = {
	/* group, version, kind, plural, singular, namespaced, shortNames, categories, subresources, table, builtin, has_spec */
	{"", "v1", "Namespace", "namespaces", "namespace", CL, S("ns"), {NULL}, SUB_STATUS, TL_NAMESPACE, true, true, false},
	{"", "v1", "Service", "services", "service", NS, S("svc"), S("all"), SUB_STATUS, TL_SERVICE, true, true, false},
	{"", "v1", "ConfigMap", "configmaps", "configmap", NS, S("cm"), {NULL}, 0, TL_CONFIGMAP, true, false, false},
	{"", "v1", "Secret", "secrets", "secret", NS, {NULL}, {NULL}, 0, TL_SECRET, true, false, false},
	{"", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", NS, S("sa"), {NULL}, 0, TL_SERVICEACCOUNT, true, false, false},
	{"", "v1", "Event", "events", "event", NS, S("ev"), {NULL}, 0, TL_EVENT, true, false, false},
	{"", "v1", "Pod", "pods", "pod", NS, S("po"), S("all"), SUB_STATUS, TL_POD, true, true, false},
	{"", "v1", "Endpoints", "endpoints", "endpoints", NS, S("ep"), {NULL}, 0, TL_ENDPOINTS, true, false, false},
	{"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", NS, {NULL}, {NULL}, 0, TL_ENDPOINTSLICE, true, false, false},
	{"", "v1", "Node", "nodes", "node", CL, S("no"), {NULL}, SUB_STATUS, TL_NODE, true, true, false},
	{"", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", NS, S("pvc"), {NULL}, SUB_STATUS, TL_DEFAULT, true, true, false},
	{"apps", "v1", "Deployment", "deployments", "deployment", NS, S("deploy"), S("all"), SUB_STATUS | SUB_SCALE, TL_DEPLOYMENT, true, true, false},
	{"apps", "v1", "StatefulSet", "statefulsets", "statefulset", NS, S("sts"), S("all"), SUB_STATUS | SUB_SCALE, TL_STATEFULSET, true, true, false},
	{"apps", "v1", "DaemonSet", "daemonsets", "daemonset", NS, S("ds"), S("all"), SUB_STATUS, TL_DAEMONSET, true, true, false},
	{"apps", "v1", "ReplicaSet", "replicasets", "replicaset", NS, S("rs"), S("all"), SUB_STATUS | SUB_SCALE, TL_REPLICASET, true, true, false},
	{"batch", "v1", "Job", "jobs", "job", NS, {NULL}, S("all"), SUB_STATUS, TL_JOB, true, true, false},
	{"batch", "v1", "CronJob", "cronjobs", "cronjob", NS, S("cj"), S("all"), SUB_STATUS, TL_CRONJOB, true, true, false},
	{"networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", NS, S("ing"), {NULL}, SUB_STATUS, TL_INGRESS, true, true, false},
	{"rbac.authorization.k8s.io", "v1", "Role", "roles", "role", NS, {NULL}, {NULL}, 0, TL_DEFAULT, true, false, false},
	{"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", CL, {NULL}, {NULL}, 0, TL_DEFAULT, true, false, false},
	{"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", NS, {NULL}, {NULL}, 0, TL_DEFAULT, true, false, false},
	{"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", CL, {NULL}, {NULL}, 0, TL_DEFAULT, true, false, false},
	{"coordination.k8s.io", "v1", "Lease", "leases", "lease", NS, {NULL}, {NULL}, 0, TL_LEASE, true, true, false},
	{"apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", CL, S("crd", "crds"), S("api-extensions"), SUB_STATUS, TL_CRD, true, true, false},
	{"cluster.karmada.io", "v1alpha1", "Cluster", "clusters", "cluster", CL, {NULL}, {NULL}, SUB_STATUS, TL_CLUSTER, false, true, false},
	{"policy.karmada.io", "v1alpha1", "PropagationPolicy", "propagationpolicies", "propagationpolicy", NS, S("pp"), S("karmada-io"), 0, TL_PROPAGATIONPOLICY, false, true, false},
	{"policy.karmada.io", "v1alpha1", "ClusterPropagationPolicy", "clusterpropagationpolicies", "clusterpropagationpolicy", CL, S("cpp"), S("karmada-io"), 0, TL_PROPAGATIONPOLICY, false, true, false},
	{"policy.karmada.io", "v1alpha1", "OverridePolicy", "overridepolicies", "overridepolicy", NS, S("op"), S("karmada-io"), 0, TL_OVERRIDEPOLICY, false, true, false},
	{"policy.karmada.io", "v1alpha1", "ClusterOverridePolicy", "clusteroverridepolicies", "clusteroverridepolicy", CL, S("cop"), S("karmada-io"), 0, TL_OVERRIDEPOLICY, false, true, false},
	{"policy.karmada.io", "v1alpha1", "ClusterTaintPolicy", "clustertaintpolicies", "clustertaintpolicy", CL, {NULL}, S("karmada-io"), 0, TL_DEFAULT, false, true, false},
	{"work.karmada.io", "v1alpha1", "Work", "works", "work", NS, S("wk"), S("karmada-io"), SUB_STATUS, TL_WORK, false, true, false},
	{"work.karmada.io", "v1alpha2", "ResourceBinding", "resourcebindings", "resourcebinding", NS, S("rb"), S("karmada-io"), SUB_STATUS, TL_BINDING, false, true, false},
	{"work.karmada.io", "v1alpha2", "ClusterResourceBinding", "clusterresourcebindings", "clusterresourcebinding", CL, S("crb"), S("karmada-io"), SUB_STATUS, TL_BINDING, false, true, false},
	/* Karmada still serves the bindings at v1alpha1 beside v1alpha2 (the
	 * preferred, stored version): the same objects, one representation. */
	{"work.karmada.io", "v1alpha1", "ResourceBinding", "resourcebindings", "resourcebinding", NS, S("rb"), S("karmada-io"), SUB_STATUS, TL_BINDING, false, true, false},
	{"work.karmada.io", "v1alpha1", "ClusterResourceBinding", "clusterresourcebindings", "clusterresourcebinding", CL, S("crb"), S("karmada-io"), SUB_STATUS, TL_BINDING, false, true, false},
	/* Karmada's WorkloadRebalancer (a CRD there: no short names, NAME AGE). */
	{"apps.karmada.io", "v1alpha1", "WorkloadRebalancer", "workloadrebalancers", "workloadrebalancer", CL, {NULL}, {NULL}, SUB_STATUS, TL_DEFAULT, false, true, false},
	/* Atoll's own: an Istio multi-primary, multi-network mesh over member clusters (hub/mesh.c). */
	{"mesh.atoll.io", "v1alpha1", "Mesh", "meshes", "mesh", CL, {NULL}, S("atoll-io"), SUB_STATUS, TL_MESH, false, true, false},
	/* Multi-cluster services (the MCS API, CRDs in Karmada and its members). */
	{"multicluster.x-k8s.io", "v1alpha1", "ServiceExport", "serviceexports", "serviceexport", NS, S("svcex"), {NULL}, SUB_STATUS, TL_DEFAULT, false, true, false},
	{"multicluster.x-k8s.io", "v1alpha1", "ServiceImport", "serviceimports", "serviceimport", NS, S("svcim"), {NULL}, SUB_STATUS, TL_SERVICEIMPORT, false, true, false},
	{"scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", CL, S("pc"), {NULL}, 0, TL_PRIORITYCLASS, true, false, false},
	{"policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", NS, S("pdb"), {NULL}, SUB_STATUS, TL_PDB, true, true, false},
	{"", "v1", "ResourceQuota", "resourcequotas", "resourcequota", NS, S("quota"), {NULL}, SUB_STATUS, TL_RESOURCEQUOTA, true, true, false},
};
const int builtin_kinds_count = (int)(sizeof builtin_kinds / sizeof builtin_kinds[0]);

/* Dynamic registry: pointers into builtin_kinds plus heap CRD kinds. */
struct crd_kind {
	struct kind_info info; /* first: a dynamic kind_info is a crd_kind */
	struct kind_column *columns;
	int ncolumns;
	char *crd_name;
	struct crd_kind *next_retired;
};

/* Kinds a CRD change replaced or removed are kept a while, not freed: a
 * watch on them holds the pointer until the change is committed and the
 * API server ends it (one loop turn). The oldest go past RETIRED_MAX. */
#define RETIRED_MAX 1024
static struct crd_kind *retired, **retired_tail = &retired;
static int retired_len;

static const struct kind_info **registry;
static struct crd_kind **crd_kinds;
static int registry_len, crd_len;
static unsigned long generation = 1;

static void rebuild(void)
{
	free(registry);
	registry = calloc((size_t)(builtin_kinds_count + crd_len) + 1, sizeof *registry);
	registry_len = 0;
	for (int i = 0; i < builtin_kinds_count; i++)
		registry[registry_len++] = &builtin_kinds[i];
	for (int i = 0; i < crd_len; i++)
		registry[registry_len++] = &crd_kinds[i]->info;
	generation++;
}

void kinds_init(void)
{
	if (!registry)
		rebuild();
}

static void free_crd_kind(struct crd_kind *c)
{
	free((char *)c->info.group);
	free((char *)c->info.version);
	free((char *)c->info.kind);
	free((char *)c->info.plural);
	free((char *)c->info.singular);
	for (int i = 0; c->info.short_names[i]; i++)
		free((char *)c->info.short_names[i]);
	for (int i = 0; c->info.categories[i]; i++)
		free((char *)c->info.categories[i]);
	for (int i = 0; i < c->ncolumns; i++) {
		struct kind_column *col = &c->columns[i];
		free(col->name);
		free(col->type);
		free(col->format);
		free(col->json_path);
		free(col->description);
	}
	free(c->columns);
	free(c->crd_name);
	free(c);
}

/* A version's additionalPrinterColumns; ones without name, type or
 * jsonPath are left out (validation refuses them before they get here). */
static void crd_columns(struct crd_kind *k, const cJSON *version)
{
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(version, "additionalPrinterColumns");
	int n = cJSON_GetArraySize(cols);
	if (!cJSON_IsArray(cols) || n == 0)
		return;
	struct kind_column *out = calloc((size_t)n, sizeof *out);
	if (!out)
		return;
	const cJSON *c;
	int i = 0;
	cJSON_ArrayForEach(c, cols) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "jsonPath"));
		const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "format"));
		const char *desc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "description"));
		const cJSON *prio = cJSON_GetObjectItemCaseSensitive(c, "priority");
		if (!name || !type || !path)
			continue;
		out[i] = (struct kind_column){.name = strdup(name), .type = strdup(type),
					      .format = strdup(format ? format : ""), .json_path = strdup(path),
					      .description = strdup(desc ? desc : ""),
					      .priority = cJSON_IsNumber(prio) ? prio->valueint : 0};
		i++;
	}
	k->columns = out;
	k->ncolumns = i;
}

const struct kind_column *kinds_printer_columns(const struct kind_info *k, int *n)
{
	if (!k || !k->dynamic) {
		*n = 0;
		return NULL;
	}
	const struct crd_kind *c = (const struct crd_kind *)k;
	*n = c->ncolumns;
	return c->columns;
}

static void retire_crd_kind(struct crd_kind *c)
{
	c->next_retired = NULL;
	*retired_tail = c;
	retired_tail = &c->next_retired;
	if (++retired_len > RETIRED_MAX) {
		struct crd_kind *old = retired;
		retired = old->next_retired;
		if (!retired)
			retired_tail = &retired;
		retired_len--;
		free_crd_kind(old);
	}
}

void kinds_shutdown(void)
{
	fieldcheck_shutdown();
	while (retired) {
		struct crd_kind *next = retired->next_retired;
		free_crd_kind(retired);
		retired = next;
	}
	retired_tail = &retired;
	retired_len = 0;
	for (int i = 0; i < crd_len; i++)
		free_crd_kind(crd_kinds[i]);
	free(crd_kinds);
	crd_kinds = NULL;
	crd_len = 0;
	free(registry);
	registry = NULL;
	registry_len = 0;
}

int kinds_count(void)
{
	kinds_init();
	return registry_len;
}

const struct kind_info *kinds_at(int i)
{
	kinds_init();
	return (i >= 0 && i < registry_len) ? registry[i] : NULL;
}

unsigned long kinds_generation(void) { return generation; }

const struct kind_info *kinds_find_resource(const char *group, const char *version, const char *plural)
{
	kinds_init();
	for (int i = 0; i < registry_len; i++) {
		const struct kind_info *k = registry[i];
		if (strcmp(k->group, group) == 0 && strcmp(k->version, version) == 0 &&
		    strcmp(k->plural, plural) == 0)
			return k;
	}
	return NULL;
}

const struct kind_info *kinds_find_kind(const char *group, const char *version, const char *kind)
{
	kinds_init();
	for (int i = 0; i < registry_len; i++) {
		const struct kind_info *k = registry[i];
		if (strcmp(k->group, group) == 0 && strcmp(k->version, version) == 0 &&
		    strcmp(k->kind, kind) == 0)
			return k;
	}
	return NULL;
}

const struct kind_info *kinds_find_apiversion_kind(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	const char *slash = strchr(api_version, '/');
	if (!slash)
		return kinds_find_kind("", api_version, kind);
	char group[256];
	size_t n = (size_t)(slash - api_version);
	if (n >= sizeof group)
		return NULL;
	memcpy(group, api_version, n);
	group[n] = '\0';
	return kinds_find_kind(group, slash + 1, kind);
}

/* Appends s at *off, cut at len - 1 as snprintf would. */
static void put_cut(char *buf, size_t len, size_t *off, const char *s)
{
	size_t n = strlen(s);
	if (n > len - 1 - *off)
		n = len - 1 - *off;
	memcpy(buf + *off, s, n);
	*off += n;
	buf[*off] = '\0';
}

/* Joined by hand: snprintf was 60,000 calls in a 500-binding re-place. */
const char *kind_api_version(const struct kind_info *k, char *buf, size_t len)
{
	size_t off = 0;
	if (!len)
		return buf;
	buf[0] = '\0';
	if (k->group[0]) {
		put_cut(buf, len, &off, k->group);
		put_cut(buf, len, &off, "/");
	}
	put_cut(buf, len, &off, k->version);
	return buf;
}

const char *kind_qualified_resource(const struct kind_info *k, char *buf, size_t len)
{
	if (k->group[0])
		snprintf(buf, len, "%s.%s", k->plural, k->group);
	else
		snprintf(buf, len, "%s", k->plural);
	return buf;
}

const char *kind_qualified_kind(const struct kind_info *k, char *buf, size_t len)
{
	if (k->group[0])
		snprintf(buf, len, "%s.%s", k->kind, k->group);
	else
		snprintf(buf, len, "%s", k->kind);
	return buf;
}

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

static void remove_crd_kinds(const char *crd_name)
{
	int j = 0;
	for (int i = 0; i < crd_len; i++) {
		if (strcmp(crd_kinds[i]->crd_name, crd_name) == 0)
			retire_crd_kind(crd_kinds[i]);
		else
			crd_kinds[j++] = crd_kinds[i];
	}
	crd_len = j;
}

void kinds_unregister_crd(const char *crd_name)
{
	remove_crd_kinds(crd_name);
	fieldcheck_unregister_crd(crd_name);
	rebuild();
}

int kinds_register_crd(const cJSON *crd, char *err, size_t errlen)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(crd, "spec");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(crd, "metadata");
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(spec, "names");
	const char *group = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "group"));
	const char *scope = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "scope"));
	const char *plural = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(names, "plural"));
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(names, "kind"));
	const char *singular = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(names, "singular"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
	const cJSON *versions = cJSON_GetObjectItemCaseSensitive(spec, "versions");
	if (!group || !plural || !kind || !name || !cJSON_IsArray(versions) ||
	    cJSON_GetArraySize(versions) == 0) {
		snprintf(err, errlen, "spec.group, spec.names.plural, spec.names.kind and spec.versions are required");
		return -1;
	}
	if (!scope || (strcmp(scope, "Namespaced") != 0 && strcmp(scope, "Cluster") != 0)) {
		snprintf(err, errlen, "spec.scope: Unsupported value: must be Namespaced or Cluster");
		return -1;
	}
	remove_crd_kinds(name);
	const cJSON *v;
	cJSON_ArrayForEach(v, versions) {
		const char *vname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "name"));
		const cJSON *served = cJSON_GetObjectItemCaseSensitive(v, "served");
		if (!vname || (served && cJSON_IsFalse(served)))
			continue;
		if (kinds_find_resource(group, vname, plural) &&
		    !kinds_find_resource(group, vname, plural)->dynamic)
			continue; /* never shadow a built-in kind */
		struct crd_kind *c = calloc(1, sizeof *c);
		c->crd_name = strdup(name);
		c->info.group = strdup(group);
		c->info.version = strdup(vname);
		c->info.kind = strdup(kind);
		c->info.plural = strdup(plural);
		c->info.singular = dupstr(singular ? singular : "");
		if (!c->info.singular)
			c->info.singular = strdup("");
		c->info.namespaced = strcmp(scope, "Namespaced") == 0;
		const cJSON *sn = cJSON_GetObjectItemCaseSensitive(names, "shortNames");
		int n = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, sn) if (cJSON_IsString(it) && n < 3) c->info.short_names[n++] = strdup(it->valuestring);
		const cJSON *cats = cJSON_GetObjectItemCaseSensitive(names, "categories");
		n = 0;
		cJSON_ArrayForEach(it, cats) if (cJSON_IsString(it) && n < 2) c->info.categories[n++] = strdup(it->valuestring);
		const cJSON *sub = cJSON_GetObjectItemCaseSensitive(v, "subresources");
		if (cJSON_GetObjectItemCaseSensitive(sub, "status"))
			c->info.subresources |= SUB_STATUS;
		c->info.table = TL_DEFAULT;
		crd_columns(c, v);
		c->info.builtin = false;
		c->info.has_spec = true;
		c->info.dynamic = true;
		crd_kinds = realloc(crd_kinds, (size_t)(crd_len + 1) * sizeof *crd_kinds);
		crd_kinds[crd_len++] = c;
	}
	fieldcheck_register_crd(crd); /* its structural schemas, for pruning */
	rebuild();
	return 0;
}
