#include "defaults.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------- */

static bool unset(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return !v || cJSON_IsNull(v);
}

/* Object at a dotted path ("" = o itself); NULL if any step is missing or
 * not an object. Never creates anything. */
static cJSON *obj_at(cJSON *o, const char *path)
{
	char key[128];
	const char *p = path;
	while (cJSON_IsObject(o) && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		p = dot ? dot + 1 : p + n;
	}
	return cJSON_IsObject(o) ? o : NULL;
}

/* Sets (replacing) key in o; takes ownership of v. */
static void put(cJSON *o, const char *key, cJSON *v)
{
	if (!v)
		return;
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
	else
		cJSON_AddItemToObject(o, key, v);
}

/* Sets key to v when the user left it unset; takes ownership of v. */
static void put_default(cJSON *o, const char *key, cJSON *v)
{
	if (cJSON_IsObject(o) && unset(o, key))
		put(o, key, v);
	else
		cJSON_Delete(v);
}

/* Same, from a JSON literal. */
static void set_default(cJSON *o, const char *key, const char *json)
{
	if (cJSON_IsObject(o) && unset(o, key))
		put(o, key, cJSON_Parse(json));
}

/* "key=value": key holds that string; "!key": key is unset. */
static bool holds(const cJSON *o, const char *when)
{
	char key[64];
	if (!when)
		return true;
	if (when[0] == '!')
		return unset(o, when + 1);
	const char *eq = strchr(when, '=');
	size_t n = eq ? (size_t)(eq - when) : 0;
	if (!eq || n >= sizeof key)
		return false;
	memcpy(key, when, n);
	key[n] = '\0';
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
	return v && strcmp(v, eq + 1) == 0;
}

/* ---- data: object defaults ------------------------------------------ */

/* In order: set key (a JSON literal) in the object at path when unset and
 * the optional condition holds. Earlier rules create the objects later
 * ones fill; a missing or wrongly typed parent skips the rule. */
struct rule {
	const char *group, *kind, *path, *key, *value, *when;
};

static const struct rule rules[] = {
	{"apps", "Deployment", "", "spec", "{}", NULL},
	{"apps", "Deployment", "spec", "replicas", "1", NULL},
	{"apps", "Deployment", "spec", "strategy", "{}", NULL},
	{"apps", "Deployment", "spec.strategy", "type", "\"RollingUpdate\"", NULL},
	{"apps", "Deployment", "spec.strategy", "rollingUpdate", "{}", "type=RollingUpdate"},
	{"apps", "Deployment", "spec.strategy.rollingUpdate", "maxUnavailable", "\"25%\"", NULL},
	{"apps", "Deployment", "spec.strategy.rollingUpdate", "maxSurge", "\"25%\"", NULL},
	{"apps", "Deployment", "spec", "revisionHistoryLimit", "10", NULL},
	{"apps", "Deployment", "spec", "progressDeadlineSeconds", "600", NULL},

	{"apps", "StatefulSet", "", "spec", "{}", NULL},
	{"apps", "StatefulSet", "spec", "replicas", "1", NULL},
	{"apps", "StatefulSet", "spec", "podManagementPolicy", "\"OrderedReady\"", NULL},
	{"apps", "StatefulSet", "spec", "updateStrategy", "{}", NULL},
	{"apps", "StatefulSet", "spec.updateStrategy", "type", "\"RollingUpdate\"", NULL},
	{"apps", "StatefulSet", "spec.updateStrategy", "rollingUpdate", "{}", "type=RollingUpdate"},
	{"apps", "StatefulSet", "spec.updateStrategy.rollingUpdate", "partition", "0", NULL},
	{"apps", "StatefulSet", "spec", "revisionHistoryLimit", "10", NULL},
	{"apps", "StatefulSet", "spec", "persistentVolumeClaimRetentionPolicy",
	 "{\"whenDeleted\":\"Retain\",\"whenScaled\":\"Retain\"}", NULL},

	{"apps", "DaemonSet", "", "spec", "{}", NULL},
	{"apps", "DaemonSet", "spec", "updateStrategy", "{}", NULL},
	{"apps", "DaemonSet", "spec.updateStrategy", "type", "\"RollingUpdate\"", NULL},
	{"apps", "DaemonSet", "spec.updateStrategy", "rollingUpdate", "{}", "type=RollingUpdate"},
	{"apps", "DaemonSet", "spec.updateStrategy.rollingUpdate", "maxUnavailable", "1", NULL},
	{"apps", "DaemonSet", "spec.updateStrategy.rollingUpdate", "maxSurge", "0", NULL},
	{"apps", "DaemonSet", "spec", "revisionHistoryLimit", "10", NULL},

	{"apps", "ReplicaSet", "", "spec", "{}", NULL},
	{"apps", "ReplicaSet", "spec", "replicas", "1", NULL},

	{"batch", "Job", "", "spec", "{}", NULL},
	/* completions defaults to 1 only when parallelism is unset too */
	{"batch", "Job", "spec", "completions", "1", "!parallelism"},
	{"batch", "Job", "spec", "parallelism", "1", NULL},
	{"batch", "Job", "spec", "backoffLimit", "6", NULL},
	{"batch", "Job", "spec", "completionMode", "\"NonIndexed\"", NULL},
	{"batch", "Job", "spec", "suspend", "false", NULL},

	{"batch", "CronJob", "", "spec", "{}", NULL},
	{"batch", "CronJob", "spec", "concurrencyPolicy", "\"Allow\"", NULL},
	{"batch", "CronJob", "spec", "suspend", "false", NULL},
	{"batch", "CronJob", "spec", "successfulJobsHistoryLimit", "3", NULL},
	{"batch", "CronJob", "spec", "failedJobsHistoryLimit", "1", NULL},

	{"", "Service", "", "spec", "{}", NULL},
	{"", "Service", "spec", "type", "\"ClusterIP\"", NULL},
	{"", "Service", "spec", "sessionAffinity", "\"None\"", NULL},

	{"", "Namespace", "", "spec", "{}", NULL},
	{"", "Namespace", "spec", "finalizers", "[\"kubernetes\"]", NULL},
	{"", "Namespace", "", "status", "{}", NULL},
	{"", "Namespace", "status", "phase", "\"Active\"", NULL},

	{"", "Secret", "", "type", "\"Opaque\"", NULL},

	{"scheduling.k8s.io", "PriorityClass", "", "preemptionPolicy", "\"PreemptLowerPriority\"", NULL},

	/* Karmada's propagation policy mutating webhook (and CRD defaults). */
	{"policy.karmada.io", "PropagationPolicy", "spec", "priority", "0", NULL},
	{"policy.karmada.io", "PropagationPolicy", "spec", "preemption", "\"Never\"", NULL},
	{"policy.karmada.io", "PropagationPolicy", "spec", "conflictResolution", "\"Abort\"", NULL},
	{"policy.karmada.io", "PropagationPolicy", "spec", "schedulerName", "\"default-scheduler\"", NULL},
	{"policy.karmada.io", "PropagationPolicy", "spec.schedulePriority", "priorityClassSource", "\"KubePriorityClass\"", NULL},
	{"policy.karmada.io", "ClusterPropagationPolicy", "spec", "priority", "0", NULL},
	{"policy.karmada.io", "ClusterPropagationPolicy", "spec", "preemption", "\"Never\"", NULL},
	{"policy.karmada.io", "ClusterPropagationPolicy", "spec", "conflictResolution", "\"Abort\"", NULL},
	{"policy.karmada.io", "ClusterPropagationPolicy", "spec", "schedulerName", "\"default-scheduler\"", NULL},
	{"policy.karmada.io", "ClusterPropagationPolicy", "spec.schedulePriority", "priorityClassSource", "\"KubePriorityClass\"", NULL},
};

/* Where a kind keeps its pod spec, and whether restartPolicy defaults to
 * Always there (Jobs must choose OnFailure or Never themselves). */
struct pod_site {
	const char *group, *kind, *path;
	bool restart_always;
};

static const struct pod_site pod_sites[] = {
	{"", "Pod", "spec", true},
	{"apps", "Deployment", "spec.template.spec", true},
	{"apps", "StatefulSet", "spec.template.spec", true},
	{"apps", "DaemonSet", "spec.template.spec", true},
	{"apps", "ReplicaSet", "spec.template.spec", true},
	{"batch", "Job", "spec.template.spec", false},
	{"batch", "CronJob", "spec.jobTemplate.spec.template.spec", false},
};

static const struct {
	const char *key, *value;
} podspec_defaults[] = {
	{"dnsPolicy", "\"ClusterFirst\""},
	{"schedulerName", "\"default-scheduler\""},
	{"securityContext", "{}"},
	{"terminationGracePeriodSeconds", "30"},
}, container_defaults[] = {
	{"terminationMessagePath", "\"/dev/termination-log\""},
	{"terminationMessagePolicy", "\"File\""},
	{"resources", "{}"},
};

static bool is_kind(const struct kind_info *k, const char *group, const char *kind)
{
	return strcmp(k->group, group) == 0 && strcmp(k->kind, kind) == 0;
}

/* ---- pod specs ------------------------------------------------------ */

/* Always for ":latest" or no tag, otherwise IfNotPresent (a digest alone
 * counts as pinned), as SetDefaults_Container does. */
static const char *pull_policy(const char *image)
{
	const char *at = strchr(image, '@');
	size_t n = at ? (size_t)(at - image) : strlen(image);
	const char *slash = NULL, *colon = NULL;
	for (size_t i = 0; i < n; i++) {
		if (image[i] == '/')
			slash = image + i;
		else if (image[i] == ':')
			colon = image + i;
	}
	if (colon && slash && colon < slash)
		colon = NULL; /* "host:5000/name" is a registry port */
	if (!colon)
		return at ? "IfNotPresent" : "Always";
	size_t tl = n - (size_t)(colon + 1 - image);
	return (tl == 6 && strncmp(colon + 1, "latest", 6) == 0) ? "Always" : "IfNotPresent";
}

static void default_containers(cJSON *list)
{
	cJSON *c, *p;
	if (!cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach(c, list) {
		if (!cJSON_IsObject(c))
			continue;
		for (size_t i = 0; i < sizeof container_defaults / sizeof container_defaults[0]; i++)
			set_default(c, container_defaults[i].key, container_defaults[i].value);
		const char *image = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "image"));
		if (image)
			put_default(c, "imagePullPolicy", cJSON_CreateString(pull_policy(image)));
		cJSON *ports = cJSON_GetObjectItemCaseSensitive(c, "ports");
		if (cJSON_IsArray(ports))
			cJSON_ArrayForEach(p, ports) set_default(p, "protocol", "\"TCP\"");
	}
}

static void default_podspec(cJSON *spec, bool restart_always)
{
	if (!spec)
		return;
	if (restart_always)
		set_default(spec, "restartPolicy", "\"Always\"");
	for (size_t i = 0; i < sizeof podspec_defaults / sizeof podspec_defaults[0]; i++)
		set_default(spec, podspec_defaults[i].key, podspec_defaults[i].value);
	default_containers(cJSON_GetObjectItemCaseSensitive(spec, "containers"));
	default_containers(cJSON_GetObjectItemCaseSensitive(spec, "initContainers"));
}

/* ---- Service -------------------------------------------------------- */

const char *defaults_cluster_ip(unsigned long ip_seq, char *buf, size_t len)
{
	unsigned long h = 1 + ip_seq % 65534;
	snprintf(buf, len, "10.96.%lu.%lu", h >> 8, h & 255);
	return buf;
}

static void default_service(cJSON *obj, unsigned long ip_seq)
{
	cJSON *spec = obj_at(obj, "spec");
	cJSON *p;
	int i = 0;
	if (!spec)
		return;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "type"));
	if (!type)
		return; /* wrongly typed: leave the object as the user sent it */
	bool external_name = strcmp(type, "ExternalName") == 0;
	bool node_ports = strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0;

	cJSON *ports = cJSON_GetObjectItemCaseSensitive(spec, "ports");
	if (cJSON_IsArray(ports)) {
		cJSON_ArrayForEach(p, ports) {
			int idx = i++;
			if (!cJSON_IsObject(p))
				continue;
			set_default(p, "protocol", "\"TCP\"");
			cJSON *port = cJSON_GetObjectItemCaseSensitive(p, "port");
			if (cJSON_IsNumber(port) && unset(p, "targetPort"))
				put(p, "targetPort", cJSON_CreateNumber(port->valuedouble));
			if (node_ports && unset(p, "nodePort"))
				put(p, "nodePort", cJSON_CreateNumber(
					30000 + (double)((ip_seq * 16 + (unsigned long)idx) % 2768)));
		}
	}
	if (external_name)
		return;

	/* An empty clusterIP means "allocate one", as on a real apiserver. */
	const cJSON *cip = cJSON_GetObjectItemCaseSensitive(spec, "clusterIP");
	if (!cip || cJSON_IsNull(cip) || (cJSON_IsString(cip) && cip->valuestring[0] == '\0')) {
		char ip[32];
		defaults_cluster_ip(ip_seq, ip, sizeof ip);
		put(spec, "clusterIP", cJSON_CreateString(ip));
		cip = cJSON_GetObjectItemCaseSensitive(spec, "clusterIP");
	}
	if (cJSON_IsString(cip) && unset(spec, "clusterIPs")) {
		cJSON *ips = cJSON_CreateArray();
		cJSON_AddItemToArray(ips, cJSON_CreateString(cip->valuestring));
		put(spec, "clusterIPs", ips);
	}
	set_default(spec, "ipFamilies", "[\"IPv4\"]");
	set_default(spec, "ipFamilyPolicy", "\"SingleStack\"");
	set_default(spec, "internalTrafficPolicy", "\"Cluster\"");
	if (node_ports)
		set_default(spec, "externalTrafficPolicy", "\"Cluster\"");
	if (strcmp(type, "LoadBalancer") == 0)
		set_default(spec, "allocateLoadBalancerNodePorts", "true");
}

/* ---- Karmada ---------------------------------------------------------- */

/* A PropagationPolicy's resource selectors without a namespace select in
 * the policy's own namespace (Karmada's mutating webhook). */
static void default_pp_selectors(cJSON *obj)
{
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj_at(obj, "metadata"), "namespace"));
	cJSON *sels = cJSON_GetObjectItemCaseSensitive(obj_at(obj, "spec"), "resourceSelectors"), *sel;
	if (!ns || !*ns || !cJSON_IsArray(sels))
		return;
	cJSON_ArrayForEach(sel, sels) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(sel, "namespace");
		if (cJSON_IsObject(sel) && (unset(sel, "namespace") || (cJSON_IsString(v) && !v->valuestring[0])))
			put(sel, "namespace", cJSON_CreateString(ns));
	}
}

static bool ready_taint(const cJSON *t, const char *key)
{
	const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "key"));
	const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "effect"));
	return k && e && strcmp(e, "NoSchedule") == 0 && (key ? strcmp(k, key) == 0 :
		(strcmp(k, DEFAULTS_TAINT_NOT_READY) == 0 || strcmp(k, DEFAULTS_TAINT_UNREACHABLE) == 0));
}

/* Karmada's cluster controller (taintClusterByCondition): a Cluster with no
 * Ready condition (created by hand, never reported) carries the not-ready
 * NoSchedule taint; Ready=True removes the not-ready and unreachable
 * NoSchedule taints. False and Unknown are the cluster life cycle's. */
static void default_cluster_taints(cJSON *obj)
{
	const char *ready = NULL;
	bool has_ready = false;
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(obj_at(obj, "status"), "conditions")) {
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
		if (type && strcmp(type, "Ready") == 0) {
			has_ready = true;
			ready = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status"));
		}
	}
	cJSON *spec = obj_at(obj, "spec");
	if (!cJSON_IsObject(spec))
		return;
	cJSON *taints = cJSON_GetObjectItemCaseSensitive(spec, "taints");
	if (!has_ready) {
		cJSON *t;
		cJSON_ArrayForEach(t, taints) if (ready_taint(t, DEFAULTS_TAINT_NOT_READY)) return;
		if (!unset(spec, "taints") && !cJSON_IsArray(taints))
			return; /* wrongly typed: validation says so */
		if (!cJSON_IsArray(taints)) {
			taints = cJSON_CreateArray();
			put(spec, "taints", taints);
		}
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "key", DEFAULTS_TAINT_NOT_READY);
		cJSON_AddStringToObject(t, "effect", "NoSchedule");
		cJSON_AddItemToArray(taints, t);
	} else if (ready && strcmp(ready, "True") == 0 && cJSON_IsArray(taints)) {
		cJSON *t = taints->child, *next;
		for (; t; t = next) {
			next = t->next;
			if (ready_taint(t, NULL))
				cJSON_Delete(cJSON_DetachItemViaPointer(taints, t));
		}
		if (cJSON_GetArraySize(taints) == 0)
			cJSON_DeleteItemFromObjectCaseSensitive(spec, "taints");
	}
}

static void add_finalizer(cJSON *meta, const char *f)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(meta, "finalizers");
	if (!unset(meta, "finalizers") && !cJSON_IsArray(list))
		return; /* wrongly typed: validation says so */
	if (!cJSON_IsArray(list)) {
		list = cJSON_CreateArray();
		put(meta, "finalizers", list);
	}
	const cJSON *g;
	cJSON_ArrayForEach(g, list) if (cJSON_IsString(g) && strcmp(g->valuestring, f) == 0) return;
	cJSON_AddItemToArray(list, cJSON_CreateString(f));
}

void defaults_karmada_identity(const struct kind_info *k, const cJSON *old, cJSON *obj, const char *new_id)
{
	if (!k || !cJSON_IsObject(obj) || strcmp(k->group, "policy.karmada.io") != 0)
		return;
	const char *label = strcmp(k->kind, "PropagationPolicy") == 0 ? DEFAULTS_PP_PERMANENT_ID
			    : strcmp(k->kind, "ClusterPropagationPolicy") == 0 ? DEFAULTS_CPP_PERMANENT_ID : NULL;
	if (!label)
		return;
	cJSON *meta = obj_at(obj, "metadata");
	if (!cJSON_IsObject(meta))
		return;
	cJSON *labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
	if (!unset(meta, "labels") && !cJSON_IsObject(labels))
		return;
	/* Karmada's policy finalizer, except while the policy is being deleted
	 * (the hub removes it then: the deletion completes). */
	if (!cJSON_GetObjectItemCaseSensitive(obj_at((cJSON *)old, "metadata"), "deletionTimestamp") &&
	    !cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp"))
		add_finalizer(meta, strcmp(k->kind, "PropagationPolicy") == 0 ? DEFAULTS_PP_FINALIZER : DEFAULTS_CPP_FINALIZER);
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(labels, label);
	if (cJSON_IsString(cur) && cur->valuestring[0])
		return;
	/* Kept across updates that do not carry it; new otherwise. */
	const char *was = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(obj_at((cJSON *)old, "metadata.labels"), label));
	const char *id = was && *was ? was : new_id;
	if (!id || !*id)
		return;
	if (!cJSON_IsObject(labels)) {
		labels = cJSON_CreateObject();
		put(meta, "labels", labels);
	}
	put(labels, label, cJSON_CreateString(id));
}

/* ---- entry point ---------------------------------------------------- */

void defaults_apply(const struct kind_info *k, cJSON *obj, unsigned long ip_seq)
{
	/* CRD kinds are the user's schema, never ours to default. */
	if (!k || k->dynamic || !cJSON_IsObject(obj))
		return;
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const struct rule *r = &rules[i];
		if (!is_kind(k, r->group, r->kind))
			continue;
		cJSON *o = obj_at(obj, r->path);
		if (o && holds(o, r->when))
			set_default(o, r->key, r->value);
	}
	for (size_t i = 0; i < sizeof pod_sites / sizeof pod_sites[0]; i++) {
		if (is_kind(k, pod_sites[i].group, pod_sites[i].kind))
			default_podspec(obj_at(obj, pod_sites[i].path), pod_sites[i].restart_always);
	}
	if (is_kind(k, "", "Service"))
		default_service(obj, ip_seq);
	if (is_kind(k, "policy.karmada.io", "PropagationPolicy"))
		default_pp_selectors(obj);
	if (is_kind(k, "cluster.karmada.io", "Cluster"))
		default_cluster_taints(obj);
}
