#include "sim_endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_kubelet.h"
#include "sim_podtemplate.h"

int sim_pod_cidr_octet(const char *cluster)
{
	const char *s = cluster ? cluster : "";
	return 100 + (int)(sim_fnv32a(s, strlen(s), SIM_FNV32_OFFSET) % 128);
}

const char *sim_pod_ip_at(const char *cluster, int node, int host, char *buf, size_t len)
{
	snprintf(buf, len, "10.%d.%d.%d", sim_pod_cidr_octet(cluster), (node < 0 ? 0 : node) % 256, host);
	return buf;
}

int sim_pod_ip_host(const char *cluster, int node, const char *ip)
{
	int a, b, n, h;
	char tail;
	if (!ip || sscanf(ip, "%d.%d.%d.%d%c", &a, &b, &n, &h, &tail) != 4)
		return -1;
	if (a != 10 || b != sim_pod_cidr_octet(cluster) || n != (node < 0 ? 0 : node) % 256 || h < 2 || h > 254)
		return -1;
	return h;
}

bool sim_selector_matches(const cJSON *selector, const cJSON *labels)
{
	if (!cJSON_IsObject(selector) || !selector->child)
		return false;
	const cJSON *kv;
	cJSON_ArrayForEach(kv, selector)
	{
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, kv->string);
		if (!cJSON_IsString(l) || !cJSON_IsString(kv) || strcmp(l->valuestring, kv->valuestring) != 0)
			return false;
	}
	return true;
}

/* The pods that count, sorted by name for a stable output. */
static int by_name(const void *a, const void *b)
{
	const char *x = json_get_str(*(const cJSON *const *)a, "metadata.name");
	const char *y = json_get_str(*(const cJSON *const *)b, "metadata.name");
	return strcmp(x ? x : "", y ? y : "");
}

static const cJSON **members(const cJSON *svc, const cJSON *pods, int *n)
{
	*n = 0;
	const cJSON *sel = json_get(svc, "spec.selector");
	int cap = cJSON_GetArraySize(pods);
	const cJSON **v = calloc((size_t)cap + 1, sizeof *v);
	if (!v)
		return NULL;
	const cJSON *p;
	cJSON_ArrayForEach(p, pods)
	{
		const char *ip = json_get_str(p, "status.podIP");
		if (!ip || !*ip || !sim_pod_active(p) || json_get(p, "metadata.deletionTimestamp"))
			continue;
		if (!sim_selector_matches(sel, json_get(p, "metadata.labels")))
			continue;
		v[(*n)++] = p;
	}
	qsort(v, (size_t)*n, sizeof *v, by_name);
	return v;
}

/* targetPort of sp resolved against pod's container ports (a name), else
 * the number, else port. */
static int target_port(const cJSON *sp, const cJSON *pod)
{
	const cJSON *tp = cJSON_GetObjectItemCaseSensitive(sp, "targetPort");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(sp, "port");
	if (cJSON_IsNumber(tp))
		return tp->valueint;
	if (cJSON_IsString(tp)) {
		char *end;
		long v = strtol(tp->valuestring, &end, 10);
		if (*tp->valuestring && !*end)
			return (int)v;
		const cJSON *ct, *cp;
		cJSON_ArrayForEach(ct, json_get(pod, "spec.containers"))
		cJSON_ArrayForEach(cp, cJSON_GetObjectItemCaseSensitive(ct, "ports"))
		{
			const char *nm = json_get_str(cp, "name");
			const cJSON *num = cJSON_GetObjectItemCaseSensitive(cp, "containerPort");
			if (nm && strcmp(nm, tp->valuestring) == 0 && cJSON_IsNumber(num))
				return num->valueint;
		}
		return -1; /* a named port the pod does not have */
	}
	return cJSON_IsNumber(port) ? port->valueint : -1;
}

static cJSON *ports_for(const cJSON *svc, const cJSON *pod)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *sp;
	cJSON_ArrayForEach(sp, json_get(svc, "spec.ports"))
	{
		int n = target_port(sp, pod);
		if (n <= 0)
			continue;
		cJSON *p = cJSON_CreateObject();
		const char *name = json_get_str(sp, "name"), *proto = json_get_str(sp, "protocol");
		cJSON_AddStringToObject(p, "name", name ? name : "");
		cJSON_AddNumberToObject(p, "port", n);
		cJSON_AddStringToObject(p, "protocol", proto ? proto : "TCP");
		const char *ap = json_get_str(sp, "appProtocol");
		if (ap)
			cJSON_AddStringToObject(p, "appProtocol", ap);
		cJSON_AddItemToArray(out, p);
	}
	return out;
}

static cJSON *target_ref(const cJSON *pod)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "kind", "Pod");
	const char *ns = json_get_str(pod, "metadata.namespace"), *name = json_get_str(pod, "metadata.name");
	const char *uid = json_get_str(pod, "metadata.uid");
	cJSON_AddStringToObject(r, "namespace", ns ? ns : "");
	cJSON_AddStringToObject(r, "name", name ? name : "");
	if (uid)
		cJSON_AddStringToObject(r, "uid", uid);
	return r;
}

static cJSON *meta_for(const cJSON *svc, const char *name)
{
	cJSON *m = cJSON_CreateObject();
	const char *ns = json_get_str(svc, "metadata.namespace");
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", ns ? ns : "");
	return m;
}

cJSON *sim_endpoints_for(const cJSON *svc, const cJSON *pods)
{
	const char *name = json_get_str(svc, "metadata.name");
	const cJSON *sel = json_get(svc, "spec.selector");
	if (!name || !cJSON_IsObject(sel) || !sel->child)
		return NULL;
	int n = 0;
	const cJSON **v = members(svc, pods, &n);
	cJSON *ep = cJSON_CreateObject();
	cJSON_AddStringToObject(ep, "apiVersion", "v1");
	cJSON_AddStringToObject(ep, "kind", "Endpoints");
	cJSON_AddItemToObject(ep, "metadata", meta_for(svc, name));
	cJSON *subsets = cJSON_AddArrayToObject(ep, "subsets");
	if (n > 0) {
		/* One subset (the simulated pods of a Service share their ports). */
		cJSON *ss = cJSON_CreateObject();
		cJSON *ready = cJSON_CreateArray(), *notready = cJSON_CreateArray();
		for (int i = 0; i < n; i++) {
			cJSON *a = cJSON_CreateObject();
			cJSON_AddStringToObject(a, "ip", json_get_str(v[i], "status.podIP"));
			const char *node = json_get_str(v[i], "spec.nodeName");
			if (node)
				cJSON_AddStringToObject(a, "nodeName", node);
			cJSON_AddItemToObject(a, "targetRef", target_ref(v[i]));
			cJSON_AddItemToArray(sim_pod_ready(v[i]) ? ready : notready, a);
		}
		if (cJSON_GetArraySize(ready))
			cJSON_AddItemToObject(ss, "addresses", ready);
		else
			cJSON_Delete(ready);
		if (cJSON_GetArraySize(notready))
			cJSON_AddItemToObject(ss, "notReadyAddresses", notready);
		else
			cJSON_Delete(notready);
		cJSON_AddItemToObject(ss, "ports", ports_for(svc, v[0]));
		cJSON_AddItemToArray(subsets, ss);
	}
	free(v);
	return ep;
}

static const char *zone_of(const cJSON *nodes, const char *node)
{
	const cJSON *nd;
	cJSON_ArrayForEach(nd, nodes)
	{
		const char *nm = json_get_str(nd, "metadata.name");
		if (nm && node && strcmp(nm, node) == 0) {
			const cJSON *l = json_get(nd, "metadata.labels");
			const cJSON *z = cJSON_GetObjectItemCaseSensitive(l, "topology.kubernetes.io/zone");
			return cJSON_IsString(z) ? z->valuestring : NULL;
		}
	}
	return NULL;
}

cJSON *sim_endpointslice_for(const cJSON *svc, const cJSON *pods, const cJSON *nodes)
{
	const char *name = json_get_str(svc, "metadata.name");
	const cJSON *sel = json_get(svc, "spec.selector");
	if (!name || !cJSON_IsObject(sel) || !sel->child)
		return NULL;
	int n = 0;
	const cJSON **v = members(svc, pods, &n);
	char sname[300];
	snprintf(sname, sizeof sname, "%.250s-sim", name);
	cJSON *es = cJSON_CreateObject();
	cJSON_AddStringToObject(es, "apiVersion", "discovery.k8s.io/v1");
	cJSON_AddStringToObject(es, "kind", "EndpointSlice");
	cJSON *meta = meta_for(svc, sname);
	cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, "kubernetes.io/service-name", name);
	cJSON_AddStringToObject(labels, "endpointslice.kubernetes.io/managed-by", SIM_SLICE_MANAGER);
	const char *uid = json_get_str(svc, "metadata.uid");
	if (uid) {
		cJSON *owners = cJSON_AddArrayToObject(meta, "ownerReferences");
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "apiVersion", "v1");
		cJSON_AddStringToObject(o, "kind", "Service");
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "uid", uid);
		cJSON_AddBoolToObject(o, "controller", true);
		cJSON_AddBoolToObject(o, "blockOwnerDeletion", true);
		cJSON_AddItemToArray(owners, o);
	}
	cJSON_AddItemToObject(es, "metadata", meta);
	cJSON_AddStringToObject(es, "addressType", "IPv4");
	cJSON *eps = cJSON_AddArrayToObject(es, "endpoints");
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON *addrs = cJSON_AddArrayToObject(e, "addresses");
		cJSON_AddItemToArray(addrs, cJSON_CreateString(json_get_str(v[i], "status.podIP")));
		cJSON *cond = cJSON_AddObjectToObject(e, "conditions");
		bool ready = sim_pod_ready(v[i]);
		cJSON_AddBoolToObject(cond, "ready", ready);
		cJSON_AddBoolToObject(cond, "serving", ready);
		cJSON_AddBoolToObject(cond, "terminating", false);
		const char *node = json_get_str(v[i], "spec.nodeName");
		if (node)
			cJSON_AddStringToObject(e, "nodeName", node);
		const char *zone = zone_of(nodes, node);
		if (zone)
			cJSON_AddStringToObject(e, "zone", zone);
		cJSON_AddItemToObject(e, "targetRef", target_ref(v[i]));
		cJSON_AddItemToArray(eps, e);
	}
	cJSON_AddItemToObject(es, "ports", n > 0 ? ports_for(svc, v[0]) : cJSON_CreateArray());
	free(v);
	return es;
}
