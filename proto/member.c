#include "member.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

static void copy(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

int member_ident_of(const cJSON *obj, struct member_ident *id)
{
	memset(id, 0, sizeof *id);
	const char *av = json_get_str(obj, "apiVersion");
	const char *kind = json_get_str(obj, "kind");
	const char *name = json_get_str(obj, "metadata.name");
	if (!av || !*av || !kind || !*kind || !name || !*name)
		return -1;
	const char *slash = strchr(av, '/');
	if (slash) {
		snprintf(id->group, sizeof id->group, "%.*s", (int)(slash - av), av);
		copy(id->version, sizeof id->version, slash + 1);
	} else {
		copy(id->version, sizeof id->version, av);
	}
	copy(id->kind, sizeof id->kind, kind);
	copy(id->ns, sizeof id->ns, json_get_str(obj, "metadata.namespace"));
	copy(id->name, sizeof id->name, name);
	return 0;
}

bool member_ident_eq(const struct member_ident *a, const struct member_ident *b)
{
	/* The version is not part of an object's identity. */
	return strcmp(a->group, b->group) == 0 && strcmp(a->kind, b->kind) == 0 && strcmp(a->ns, b->ns) == 0 &&
	       strcmp(a->name, b->name) == 0;
}

static const char *label(const cJSON *obj, const char *key)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.labels"), key);
	return cJSON_IsString(l) ? l->valuestring : NULL;
}

static const char *annotation(const cJSON *obj, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(json_get(obj, "metadata.annotations"), key);
	return cJSON_IsString(a) ? a->valuestring : NULL;
}

bool member_owned(const cJSON *obj)
{
	const char *v = label(obj, MANAGED_LABEL);
	return v && strcmp(v, "true") == 0;
}

enum member_takeover member_may_take_over(const cJSON *live, const cJSON *desired)
{
	if (!live)
		return TAKEOVER_CREATE;
	if (member_owned(live))
		return TAKEOVER_APPLY;
	const char *cr = annotation(desired, CONFLICT_ANN);
	if (cr && strcmp(cr, "overwrite") == 0)
		return TAKEOVER_FORCE;
	return TAKEOVER_REFUSE;
}

void member_conflict_message(const struct member_ident *id, const char *cluster, char *buf, size_t len)
{
	snprintf(buf, len,
		 "resource(kind=%s, %s/%s) already exists in the cluster %s and the %s strategy value is empty, Karmada will not manage this resource",
		 id->kind, id->ns, id->name, cluster, CONFLICT_ANN);
}

cJSON *member_desired(const cJSON *manifest, const cJSON *work, bool namespaced)
{
	cJSON *d = json_dup(manifest);
	if (!cJSON_IsObject(d)) {
		cJSON_Delete(d);
		return NULL;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(d, "status");
	cJSON *md = json_ensure_obj(d, "metadata");
	static const char *const server_owned[] = {"resourceVersion", "uid", "creationTimestamp", "managedFields",
						   "generation", "selfLink", "deletionTimestamp",
						   "deletionGracePeriodSeconds", "ownerReferences", NULL};
	for (int i = 0; server_owned[i]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(md, server_owned[i]);
	if (namespaced) {
		const char *ns = json_get_str(md, "namespace");
		if (!ns || !*ns)
			json_set_str(md, "namespace", "default");
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(md, "namespace");
	}
	cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
	if (!cJSON_IsObject(labels)) {
		labels = cJSON_CreateObject();
		json_set(md, "labels", labels);
	}
	cJSON *anns = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	if (!cJSON_IsObject(anns)) {
		anns = cJSON_CreateObject();
		json_set(md, "annotations", anns);
	}
	json_set_str(labels, MANAGED_LABEL, "true");
	const char *wname = json_get_str(work, "metadata.name");
	const char *wns = json_get_str(work, "metadata.namespace");
	if (wname)
		json_set_str(anns, WORK_NAME_ANN, wname);
	if (wns)
		json_set_str(anns, WORK_NAMESPACE_ANN, wns);
	const char *pid = label(work, WORK_PERMANENT_ID);
	if (pid)
		json_set_str(labels, WORK_PERMANENT_ID, pid);
	return d;
}

/* want ⊆ have */
static bool subset(const cJSON *want, const cJSON *have)
{
	if (!have)
		return cJSON_IsNull(want);
	if (cJSON_IsObject(want)) {
		if (!cJSON_IsObject(have))
			return false;
		const cJSON *it;
		cJSON_ArrayForEach(it, want) {
			const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, it->string);
			if (cJSON_IsNull(it) && !h)
				continue;
			if (!subset(it, h))
				return false;
		}
		return true;
	}
	if (cJSON_IsArray(want)) {
		if (!cJSON_IsArray(have) || cJSON_GetArraySize(want) != cJSON_GetArraySize(have))
			return false;
		const cJSON *a = want->child, *b = have->child;
		for (; a && b; a = a->next, b = b->next)
			if (!subset(a, b))
				return false;
		return true;
	}
	if (cJSON_IsNumber(want) && cJSON_IsNumber(have))
		return want->valuedouble == have->valuedouble;
	return json_equal(want, have);
}

bool member_drifted(const cJSON *desired, const cJSON *live)
{
	if (!live)
		return true;
	const cJSON *it;
	cJSON_ArrayForEach(it, desired) {
		if (strcmp(it->string, "status") == 0 || strcmp(it->string, "apiVersion") == 0 ||
		    strcmp(it->string, "kind") == 0)
			continue;
		if (strcmp(it->string, "metadata") == 0) {
			const cJSON *l = cJSON_GetObjectItemCaseSensitive(it, "labels");
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "annotations");
			if (l && !subset(l, json_get(live, "metadata.labels")) && cJSON_GetArraySize(l) > 0)
				return true;
			if (a && !subset(a, json_get(live, "metadata.annotations")) && cJSON_GetArraySize(a) > 0)
				return true;
			continue;
		}
		if (!subset(it, cJSON_GetObjectItemCaseSensitive(live, it->string)))
			return true;
	}
	return false;
}

static double num(const cJSON *o, const char *path, double def)
{
	return json_get_num(o, path, def);
}

static bool kind_is(const cJSON *o, const char *group, const char *kind)
{
	const char *av = json_get_str(o, "apiVersion"), *k = json_get_str(o, "kind");
	if (!av || !k || strcmp(k, kind) != 0)
		return false;
	const char *slash = strchr(av, '/');
	size_t gl = slash ? (size_t)(slash - av) : 0;
	return strlen(group) == gl && strncmp(av, group, gl) == 0;
}

static void add_generations(cJSON *st, const cJSON *live)
{
	cJSON_AddNumberToObject(st, "generation", num(live, "metadata.generation", 0));
	const char *tg = annotation(live, TEMPLATE_GENERATION_ANN);
	if (tg && *tg)
		cJSON_AddNumberToObject(st, "resourceTemplateGeneration", strtod(tg, NULL));
}

/* Length of a decimal resource version, 0 when it is not one. */
static size_t decimal_len(const char *s)
{
	size_t n = 0;
	while (s && s[n] >= '0' && s[n] <= '9')
		n++;
	return s && s[n] == '\0' ? n : 0;
}

bool member_state_newer(const char *have_rv, enum member_source have_src, const char *rv, enum member_source src)
{
	size_t hl = decimal_len(have_rv), l = decimal_len(rv);
	if (hl && l) {
		while (hl > 1 && *have_rv == '0')
			have_rv++, hl--;
		while (l > 1 && *rv == '0')
			rv++, l--;
		return l != hl ? l > hl : strcmp(rv, have_rv) >= 0;
	}
	return src == MEMBER_FROM_WATCH || have_src == MEMBER_FROM_ANSWER;
}

cJSON *member_reflect_status(const cJSON *live)
{
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(live, "status");
	if (kind_is(live, "apps", "Deployment")) {
		cJSON *st = cJSON_CreateObject();
		static const char *const f[] = {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
						"unavailableReplicas", NULL};
		for (int i = 0; f[i]; i++)
			cJSON_AddNumberToObject(st, f[i], num(status, f[i], 0));
		cJSON_AddNumberToObject(st, "observedGeneration", num(status, "observedGeneration", 0));
		add_generations(st, live);
		return st;
	}
	if (kind_is(live, "apps", "StatefulSet") || kind_is(live, "apps", "DaemonSet")) {
		cJSON *st = cJSON_IsObject(status) ? json_dup(status) : cJSON_CreateObject();
		cJSON_DeleteItemFromObjectCaseSensitive(st, "conditions");
		add_generations(st, live);
		return st;
	}
	if (kind_is(live, "", "Service")) {
		const char *type = json_get_str(live, "spec.type");
		if (!type || strcmp(type, "LoadBalancer") != 0)
			return NULL;
		cJSON *lb = json_get(status, "loadBalancer");
		cJSON *st = cJSON_CreateObject();
		cJSON_AddItemToObject(st, "loadBalancer", lb ? json_dup(lb) : cJSON_CreateObject());
		return st;
	}
	if (!cJSON_IsObject(status) || cJSON_GetArraySize(status) == 0)
		return NULL;
	return json_dup(status);
}

bool member_deployment_healthy(const cJSON *d)
{
	double replicas = num(d, "spec.replicas", 1);
	return num(d, "status.observedGeneration", -1) == num(d, "metadata.generation", 0) &&
	       num(d, "status.updatedReplicas", 0) >= replicas &&
	       num(d, "status.availableReplicas", 0) >= num(d, "status.updatedReplicas", 0);
}

const char *member_health(const cJSON *live)
{
	if (!live)
		return "Unknown";
	bool ok = true;
	if (kind_is(live, "apps", "Deployment")) {
		ok = member_deployment_healthy(live);
	} else if (kind_is(live, "apps", "StatefulSet")) {
		ok = num(live, "status.observedGeneration", -1) == num(live, "metadata.generation", 0) &&
		     num(live, "status.updatedReplicas", 0) >= num(live, "spec.replicas", 1);
	} else if (kind_is(live, "apps", "ReplicaSet")) {
		ok = num(live, "status.observedGeneration", -1) == num(live, "metadata.generation", 0) &&
		     num(live, "status.availableReplicas", 0) >= num(live, "spec.replicas", 1);
	} else if (kind_is(live, "apps", "DaemonSet")) {
		ok = num(live, "status.observedGeneration", -1) == num(live, "metadata.generation", 0) &&
		     num(live, "status.updatedNumberScheduled", 0) >= num(live, "status.desiredNumberScheduled", 0) &&
		     num(live, "status.numberAvailable", 0) >= num(live, "status.updatedNumberScheduled", 0);
	} else if (kind_is(live, "", "Service")) {
		const char *type = json_get_str(live, "spec.type");
		if (type && strcmp(type, "LoadBalancer") == 0)
			ok = cJSON_GetArraySize(json_get(live, "status.loadBalancer.ingress")) > 0;
	} else if (kind_is(live, "networking.k8s.io", "Ingress")) {
		ok = cJSON_GetArraySize(json_get(live, "status.loadBalancer.ingress")) > 0;
	} else if (kind_is(live, "", "PersistentVolumeClaim")) {
		const char *ph = json_get_str(live, "status.phase");
		ok = ph && strcmp(ph, "Bound") == 0;
	} else if (kind_is(live, "", "Pod")) {
		const char *ph = json_get_str(live, "status.phase");
		ok = false;
		if (ph && strcmp(ph, "Succeeded") == 0)
			ok = true;
		else if (ph && strcmp(ph, "Running") == 0) {
			const cJSON *c;
			cJSON_ArrayForEach(c, json_get(live, "status.conditions")) {
				const char *t = json_get_str(c, "type"), *s = json_get_str(c, "status");
				if (t && s && strcmp(t, "Ready") == 0 && strcmp(s, "True") == 0)
					ok = true;
			}
		}
	} else if (kind_is(live, "policy", "PodDisruptionBudget")) {
		ok = num(live, "status.currentHealthy", 0) >= num(live, "status.desiredHealthy", 0);
	}
	/* Kinds without a health interpreter count as healthy, as in Karmada. */
	return ok ? "Healthy" : "Unhealthy";
}

void member_applied_condition(int n, int nok, const char *const *errors, bool *ok, char *reason, size_t rlen,
			      char *msg, size_t mlen)
{
	int nerr = 0;
	while (errors && errors[nerr])
		nerr++;
	if (nerr == 0) {
		*ok = true;
		copy(reason, rlen, REASON_APPLIED_OK);
		copy(msg, mlen, MSG_APPLIED_OK);
		return;
	}
	*ok = false;
	copy(reason, rlen, REASON_APPLIED_FAILED);
	/* errors.NewAggregate: one error prints as itself, several as [a, b]. */
	size_t o = (size_t)snprintf(msg, mlen, "Failed to apply all manifests (%d/%d): %s", nok, n, nerr > 1 ? "[" : "");
	for (int i = 0; i < nerr && o < mlen; i++)
		o += (size_t)snprintf(msg + o, mlen - o, "%s%s", i ? ", " : "", errors[i]);
	if (nerr > 1 && o < mlen)
		snprintf(msg + o, mlen - o, "]");
}

bool member_should_delete(const cJSON *obj, const cJSON *work, const char *exec_ns)
{
	if (!member_owned(obj))
		return false;
	const char *wns = annotation(obj, WORK_NAMESPACE_ANN);
	const char *wname = annotation(obj, WORK_NAME_ANN);
	if (!wns || !wname || !*wname || strcmp(wns, exec_ns) != 0)
		return false;
	if (!work)
		return true;
	struct member_ident have;
	if (member_ident_of(obj, &have) < 0)
		return false;
	const cJSON *m;
	cJSON_ArrayForEach(m, json_get(work, "spec.workload.manifests")) {
		struct member_ident want;
		if (member_ident_of(m, &want) < 0)
			continue;
		if (!want.ns[0] && strcmp(have.ns, "default") == 0)
			copy(want.ns, sizeof want.ns, "default");
		if (member_ident_eq(&want, &have))
			return false;
	}
	return true;
}

cJSON *member_plan_deletions(const cJSON *works, const cJSON *owned, const char *exec_ns)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *o;
	cJSON_ArrayForEach(o, owned) {
		const char *wname = annotation(o, WORK_NAME_ANN);
		const cJSON *work = NULL, *w;
		cJSON_ArrayForEach(w, works) {
			const char *n = json_get_str(w, "metadata.name");
			if (wname && n && strcmp(n, wname) == 0)
				work = w;
		}
		if (member_should_delete(o, work, exec_ns))
			cJSON_AddItemToArray(out, json_dup(o));
	}
	return out;
}

static void pod_requests(const cJSON *pod, struct proto_resources *r)
{
	struct proto_resources sum = {0}, init = {0};
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(pod, "spec.containers"))
		proto_resources_add_list(&sum, json_get(c, "resources.requests"));
	cJSON_ArrayForEach(c, json_get(pod, "spec.initContainers")) {
		struct proto_resources one = {0};
		proto_resources_add_list(&one, json_get(c, "resources.requests"));
		if (one.cpu_milli > init.cpu_milli)
			init.cpu_milli = one.cpu_milli;
		if (one.memory > init.memory)
			init.memory = one.memory;
		if (one.ephemeral_storage > init.ephemeral_storage)
			init.ephemeral_storage = one.ephemeral_storage;
	}
	if (init.cpu_milli > sum.cpu_milli)
		sum.cpu_milli = init.cpu_milli;
	if (init.memory > sum.memory)
		sum.memory = init.memory;
	if (init.ephemeral_storage > sum.ephemeral_storage)
		sum.ephemeral_storage = init.ephemeral_storage;
	proto_resources_add_list(&sum, json_get(pod, "spec.overhead"));
	r->cpu_milli += sum.cpu_milli;
	r->memory += sum.memory;
	r->ephemeral_storage += sum.ephemeral_storage;
	r->pods += 1;
}

void member_cluster_summary(const cJSON *nodes, const cJSON *pods, struct proto_heartbeat *hb)
{
	memset(&hb->allocatable, 0, sizeof hb->allocatable);
	memset(&hb->allocated, 0, sizeof hb->allocated);
	memset(&hb->allocating, 0, sizeof hb->allocating);
	hb->nodes_total = hb->nodes_ready = 0;
	const cJSON *n;
	cJSON_ArrayForEach(n, nodes) {
		hb->nodes_total++;
		const cJSON *c;
		cJSON_ArrayForEach(c, json_get(n, "status.conditions")) {
			const char *t = json_get_str(c, "type"), *s = json_get_str(c, "status");
			if (t && s && strcmp(t, "Ready") == 0 && strcmp(s, "True") == 0)
				hb->nodes_ready++;
		}
		proto_resources_add_list(&hb->allocatable, json_get(n, "status.allocatable"));
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, pods) {
		const char *node = json_get_str(p, "spec.nodeName");
		const char *phase = json_get_str(p, "status.phase");
		if (!node || !*node)
			pod_requests(p, &hb->allocating);
		else if (!phase || (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0))
			pod_requests(p, &hb->allocated);
	}
	hb->have_summary = true;
}

cJSON *member_release_patch(void)
{
	static const char *const labels[] = {MANAGED_LABEL, WORK_PERMANENT_ID, "resourcebinding.karmada.io/permanent-id",
					     "clusterresourcebinding.karmada.io/permanent-id", NULL};
	static const char *const anns[] = {WORK_NAME_ANN, WORK_NAMESPACE_ANN, "resourcebinding.karmada.io/name",
					   "resourcebinding.karmada.io/namespace", "clusterresourcebinding.karmada.io/name",
					   "resourcetemplate.karmada.io/uid", TEMPLATE_GENERATION_ANN,
					   "resourcetemplate.karmada.io/managed-labels",
					   "resourcetemplate.karmada.io/managed-annotations", CONFLICT_ANN, NULL};
	cJSON *p = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(p, "metadata");
	cJSON *l = cJSON_AddObjectToObject(md, "labels");
	for (int i = 0; labels[i]; i++)
		cJSON_AddNullToObject(l, labels[i]);
	cJSON *a = cJSON_AddObjectToObject(md, "annotations");
	for (int i = 0; anns[i]; i++)
		cJSON_AddNullToObject(a, anns[i]);
	return p;
}
