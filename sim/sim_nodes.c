#include "sim_nodes.h"

#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_podtemplate.h"
#include "timefmt.h"

const char *sim_node_name(const struct sim_node_spec *s, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s-node-%d", s->cluster, i);
	return buf;
}

const char *sim_node_ip(int i, char *buf, size_t len)
{
	snprintf(buf, len, "172.18.%d.%d", (i / 250) % 256, i % 250 + 2);
	return buf;
}

const char *sim_pod_ip(int i, unsigned long seq, char *buf, size_t len)
{
	snprintf(buf, len, "10.244.%d.%lu", i % 256, seq % 253 + 2);
	return buf;
}

/* The i-th entry of a comma-separated list, cycling; "" when empty. */
static const char *nth_zone(const char *zones, int i, char *buf, size_t len)
{
	int n = 1;
	for (const char *p = zones; *p; p++)
		n += *p == ',';
	int want = i % n;
	const char *s = zones;
	for (int k = 0; k < want; k++)
		s = strchr(s, ',') + 1;
	const char *e = strchr(s, ',');
	size_t l = e ? (size_t)(e - s) : strlen(s);
	snprintf(buf, len, "%.*s", (int)(l < len ? l : len - 1), s);
	return buf;
}

static cJSON *cond(const char *type, const char *status, const char *reason, const char *msg, const char *ts)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status);
	cJSON_AddStringToObject(c, "lastHeartbeatTime", ts);
	cJSON_AddStringToObject(c, "lastTransitionTime", ts);
	cJSON_AddStringToObject(c, "reason", reason);
	cJSON_AddStringToObject(c, "message", msg);
	return c;
}

static cJSON *resources(const struct sim_node_spec *s)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "cpu", s->cpu);
	cJSON_AddStringToObject(r, "ephemeral-storage", "100Gi");
	cJSON_AddStringToObject(r, "hugepages-1Gi", "0");
	cJSON_AddStringToObject(r, "hugepages-2Mi", "0");
	cJSON_AddStringToObject(r, "memory", s->memory);
	cJSON_AddStringToObject(r, "pods", s->pods);
	return r;
}

cJSON *sim_node_object(const struct sim_node_spec *s, int i, time_t now)
{
	char name[300], ts[40], ip[32], buf[300];
	sim_node_name(s, i, name, sizeof name);
	time_rfc3339(now, ts, sizeof ts);
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "apiVersion", "v1");
	cJSON_AddStringToObject(n, "kind", "Node");
	cJSON *meta = cJSON_AddObjectToObject(n, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, "beta.kubernetes.io/arch", "amd64");
	cJSON_AddStringToObject(labels, "beta.kubernetes.io/os", "linux");
	cJSON_AddStringToObject(labels, "kubernetes.io/arch", "amd64");
	cJSON_AddStringToObject(labels, "kubernetes.io/hostname", name);
	cJSON_AddStringToObject(labels, "kubernetes.io/os", "linux");
	if (s->region && *s->region)
		cJSON_AddStringToObject(labels, "topology.kubernetes.io/region", s->region);
	if (s->zones && *s->zones)
		cJSON_AddStringToObject(labels, "topology.kubernetes.io/zone", nth_zone(s->zones, i, buf, sizeof buf));
	cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(ann, "node.alpha.kubernetes.io/ttl", "0");
	cJSON_AddStringToObject(ann, "volumes.kubernetes.io/controller-managed-attach-detach", "true");

	cJSON *spec = cJSON_AddObjectToObject(n, "spec");
	snprintf(buf, sizeof buf, "10.244.%d.0/24", i % 256);
	cJSON_AddStringToObject(spec, "podCIDR", buf);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "podCIDRs"), cJSON_CreateString(buf));
	snprintf(buf, sizeof buf, "atoll-sim://%.250s", name);
	cJSON_AddStringToObject(spec, "providerID", buf);

	cJSON *st = cJSON_AddObjectToObject(n, "status");
	cJSON *addrs = cJSON_AddArrayToObject(st, "addresses");
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "type", "InternalIP");
	cJSON_AddStringToObject(a, "address", sim_node_ip(i, ip, sizeof ip));
	cJSON_AddItemToArray(addrs, a);
	a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "type", "Hostname");
	cJSON_AddStringToObject(a, "address", name);
	cJSON_AddItemToArray(addrs, a);
	cJSON_AddItemToObject(st, "allocatable", resources(s));
	cJSON_AddItemToObject(st, "capacity", resources(s));
	cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
	cJSON_AddItemToArray(conds, cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
					 "kubelet has sufficient memory available", ts));
	cJSON_AddItemToArray(conds, cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
					 "kubelet has no disk pressure", ts));
	cJSON_AddItemToArray(conds, cond("PIDPressure", "False", "KubeletHasSufficientPID",
					 "kubelet has sufficient PID available", ts));
	cJSON_AddItemToArray(conds, cond("Ready", "True", "KubeletReady", "kubelet is posting ready status", ts));
	cJSON *de = cJSON_AddObjectToObject(st, "daemonEndpoints");
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(de, "kubeletEndpoint"), "Port", 10250);
	cJSON *info = cJSON_AddObjectToObject(st, "nodeInfo");
	cJSON_AddStringToObject(info, "architecture", "amd64");
	uint32_t h = sim_fnv32a(name, strlen(name), SIM_FNV32_OFFSET);
	snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", (unsigned)h, (unsigned)i);
	cJSON_AddStringToObject(info, "bootID", buf);
	cJSON_AddStringToObject(info, "containerRuntimeVersion", "containerd://1.6.9");
	cJSON_AddStringToObject(info, "kernelVersion", "6.1.0-atoll-sim");
	cJSON_AddStringToObject(info, "kubeProxyVersion", s->git_version);
	cJSON_AddStringToObject(info, "kubeletVersion", s->git_version);
	snprintf(buf, sizeof buf, "%08x%024x", (unsigned)h, (unsigned)i);
	cJSON_AddStringToObject(info, "machineID", buf);
	cJSON_AddStringToObject(info, "operatingSystem", "linux");
	cJSON_AddStringToObject(info, "osImage", "Atoll simulated node");
	snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", (unsigned)(h ^ 0x5a5a5a5au), (unsigned)i);
	cJSON_AddStringToObject(info, "systemUUID", buf);
	return n;
}
