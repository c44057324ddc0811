#include "defaults.h"

#include "pbschema.h"
#include "schemameta.h"

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

/* ---- data: defaults from the schema table ------------------------------ */

/* Sets the default= values of message msg's fields in o, wherever o
 * leaves them unset, and walks into the field values that are messages
 * (objects, list items, map values). level is o's depth below the kind's
 * root object (0: the root), for kdefault= (the kind's own SetDefaults,
 * level 1 only). Wrongly typed values are left alone. */
static void walk_defaults(int msg, cJSON *o, int level)
{
	if (msg < 0 || msg >= pbs_all_messages_count || !cJSON_IsObject(o) || level > 64)
		return;
	const struct pbs_message *m = &pbs_messages[msg];
	const struct sch_field_meta *fm = sch_messages[msg].fields;
	if (m->special != PBS_SPECIAL_NONE)
		return; /* raw, time, quantity...: not objects of fields */
	for (int i = 0; i < m->nfields; i++) {
		const struct pbs_field *f = &m->fields[i];
		if (f->flags & PBS_INLINE) {
			walk_defaults(f->msg, o, level);
			continue;
		}
		if (fm[i].default_json && (!fm[i].default_root || level == 1) && unset(o, f->json))
			put(o, f->json, cJSON_Parse(fm[i].default_json));
		if (f->type != PBS_MESSAGE)
			continue;
		cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f->json), *it;
		if (f->card == PBS_ONE) {
			walk_defaults(f->msg, v, level + 1);
		} else if (cJSON_IsArray(v) || (f->card == PBS_MAP && cJSON_IsObject(v))) {
			cJSON_ArrayForEach(it, v) walk_defaults(f->msg, it, level + 1);
		}
	}
}

void defaults_from_schema(int msg, cJSON *obj)
{
	walk_defaults(msg, obj, 0);
}

/* ---- code: defaults that depend on other fields or on the kind ---------- */

/* A strategy's rollingUpdate exists when its type is RollingUpdate
 * (Deployment, StatefulSet and DaemonSet's SetDefaults); the second walk
 * of the table fills it. */
static const struct {
	const char *group, *kind, *path;
} rolling_sites[] = {
	{"apps", "Deployment", "spec.strategy"},
	{"apps", "StatefulSet", "spec.updateStrategy"},
	{"apps", "DaemonSet", "spec.updateStrategy"},
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
	cJSON *c;
	if (!cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach(c, list) {
		if (!cJSON_IsObject(c))
			continue;
		const char *image = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "image"));
		if (image)
			put_default(c, "imagePullPolicy", cJSON_CreateString(pull_policy(image)));
	}
}

static void default_podspec(cJSON *spec, bool restart_always)
{
	if (!spec)
		return;
	if (restart_always)
		set_default(spec, "restartPolicy", "\"Always\"");
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
	int msg = pbs_kind_schema_message(k);
	/* A Job's completions default to 1 only when parallelism is unset too
	 * (before the table sets parallelism). */
	if (is_kind(k, "batch", "Job")) {
		cJSON *spec = obj_at(obj, "spec");
		if (spec && unset(spec, "parallelism"))
			set_default(spec, "completions", "1");
	}
	walk_defaults(msg, obj, 0);
	bool again = false;
	for (size_t i = 0; i < sizeof rolling_sites / sizeof rolling_sites[0]; i++) {
		cJSON *st = obj_at(obj, rolling_sites[i].path);
		const char *type = st ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "type")) : NULL;
		if (is_kind(k, rolling_sites[i].group, rolling_sites[i].kind) && type &&
		    strcmp(type, "RollingUpdate") == 0 && unset(st, "rollingUpdate")) {
			put(st, "rollingUpdate", cJSON_CreateObject());
			again = true;
		}
	}
	if (again)
		walk_defaults(msg, obj, 0);
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
