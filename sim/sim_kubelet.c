#include "sim_kubelet.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_podtemplate.h"
#include "timefmt.h"

static bool has_resource(const cJSON *res, const char *which, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(res, which);
	return cJSON_IsObject(m) && cJSON_GetObjectItemCaseSensitive(m, name);
}

const char *sim_pod_qos_class(const cJSON *pod)
{
	bool any = false, guaranteed = true;
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (int l = 0; l < 2; l++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, json_get(pod, lists[l]))
		{
			const cJSON *res = cJSON_GetObjectItemCaseSensitive(c, "resources");
			static const char *const names[] = {"cpu", "memory"};
			for (int i = 0; i < 2; i++) {
				bool req = has_resource(res, "requests", names[i]);
				bool lim = has_resource(res, "limits", names[i]);
				any = any || req || lim;
				if (!lim)
					guaranteed = false;
				else if (req) {
					const cJSON *a = json_get(cJSON_GetObjectItemCaseSensitive(res, "requests"), names[i]);
					const cJSON *b = json_get(cJSON_GetObjectItemCaseSensitive(res, "limits"), names[i]);
					if (!json_equal(a, b))
						guaranteed = false;
				}
			}
		}
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

static cJSON *condition(const char *type, const char *status, const char *reason, const char *message, const char *ts)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status);
	cJSON_AddNullToObject(c, "lastProbeTime");
	cJSON_AddStringToObject(c, "lastTransitionTime", ts);
	if (reason)
		cJSON_AddStringToObject(c, "reason", reason);
	if (message)
		cJSON_AddStringToObject(c, "message", message);
	return c;
}

/* "nginx" -> "docker.io/library/nginx:latest", as containerd reports it. */
static void normalize_image(const char *image, char *out, size_t len)
{
	const char *slash = strchr(image, '/');
	char repo[512];
	if (!slash)
		snprintf(repo, sizeof repo, "docker.io/library/%s", image);
	else {
		size_t first = (size_t)(slash - image);
		bool registry = memchr(image, '.', first) || memchr(image, ':', first) ||
				(first == 9 && strncmp(image, "localhost", 9) == 0);
		snprintf(repo, sizeof repo, "%s%s", registry ? "" : "docker.io/", image);
	}
	const char *last = strrchr(repo, '/');
	bool tagged = strchr(repo, '@') || (last && strchr(last, ':'));
	snprintf(out, len, "%s%s", repo, tagged ? "" : ":latest");
}

/* 64 hex characters derived from a seed string (container and image ids). */
static void hex64(const char *seed, const char *salt, char out[65])
{
	uint32_t h = sim_fnv32a(seed, strlen(seed), SIM_FNV32_OFFSET);
	h = sim_fnv32a(salt, strlen(salt), h);
	for (int i = 0; i < 8; i++) {
		h = sim_fnv32a(&i, sizeof i, h);
		snprintf(out + i * 8, 9, "%08x", (unsigned)h);
	}
	out[64] = '\0';
}

static cJSON *container_statuses(const cJSON *pod, bool running, const char *ts)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *c;
	const char *uid = json_get_str(pod, "metadata.uid");
	cJSON_ArrayForEach(c, json_get(pod, "spec.containers"))
	{
		const char *name = json_get_str(c, "name"), *image = json_get_str(c, "image");
		char img[600];
		normalize_image(image ? image : "", img, sizeof img);
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "name", name ? name : "");
		cJSON_AddStringToObject(s, "image", img);
		cJSON *state = cJSON_AddObjectToObject(s, "state");
		cJSON_AddItemToObject(s, "lastState", cJSON_CreateObject());
		if (running) {
			char id[65], digest[65], buf[800];
			hex64(uid ? uid : "", name ? name : "", id);
			hex64(img, "image", digest);
			cJSON_AddStringToObject(cJSON_AddObjectToObject(state, "running"), "startedAt", ts);
			char repo[600];
			snprintf(repo, sizeof repo, "%s", img);
			char *at = strchr(repo, '@');
			char *last = strrchr(repo, '/');
			char *colon = last ? strchr(last, ':') : NULL;
			if (at)
				*at = '\0';
			else if (colon)
				*colon = '\0';
			snprintf(buf, sizeof buf, "%s@sha256:%s", repo, digest);
			cJSON_AddStringToObject(s, "imageID", buf);
			snprintf(buf, sizeof buf, "containerd://%s", id);
			cJSON_AddStringToObject(s, "containerID", buf);
		} else {
			cJSON_AddStringToObject(cJSON_AddObjectToObject(state, "waiting"), "reason", "ContainerCreating");
			cJSON_AddStringToObject(s, "imageID", "");
		}
		cJSON_AddBoolToObject(s, "ready", running);
		cJSON_AddNumberToObject(s, "restartCount", 0);
		cJSON_AddBoolToObject(s, "started", running);
		cJSON_AddItemToArray(arr, s);
	}
	return arr;
}

static cJSON *base_status(const cJSON *pod, const char *phase, const char *host_ip, const char *ts)
{
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "phase", phase);
	cJSON_AddItemToObject(st, "conditions", cJSON_CreateArray());
	if (host_ip) {
		cJSON_AddStringToObject(st, "hostIP", host_ip);
		cJSON *ips = cJSON_AddArrayToObject(st, "hostIPs");
		cJSON *ip = cJSON_CreateObject();
		cJSON_AddStringToObject(ip, "ip", host_ip);
		cJSON_AddItemToArray(ips, ip);
	}
	const char *start = json_get_str(pod, "status.startTime");
	cJSON_AddStringToObject(st, "startTime", start ? start : ts);
	cJSON_AddStringToObject(st, "qosClass", sim_pod_qos_class(pod));
	return st;
}

/* The transition time of an existing condition with that status, else ts. */
static const char *kept_time(const cJSON *pod, const char *type, const char *status, const char *ts)
{
	const cJSON *c = json_condition(pod, type);
	const char *s = json_get_str(c, "status"), *t = json_get_str(c, "lastTransitionTime");
	return (s && t && strcmp(s, status) == 0) ? t : ts;
}

cJSON *sim_pod_status_pending(const cJSON *pod, const char *host_ip, time_t now)
{
	char ts[40];
	time_rfc3339(now, ts, sizeof ts);
	cJSON *st = base_status(pod, "Pending", host_ip, ts);
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
	static const char msg[] = "containers with unready status: [%s]";
	char names[512] = "", m[600];
	size_t n = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(pod, "spec.containers"))
	{
		const char *name = json_get_str(c, "name");
		if (name && n < sizeof names)
			n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? " " : "", name);
	}
	snprintf(m, sizeof m, msg, names);
	cJSON_AddItemToArray(conds, condition("Initialized", "True", NULL, NULL, kept_time(pod, "Initialized", "True", ts)));
	cJSON_AddItemToArray(conds, condition("Ready", "False", "ContainersNotReady", m, kept_time(pod, "Ready", "False", ts)));
	cJSON_AddItemToArray(conds, condition("ContainersReady", "False", "ContainersNotReady", m,
					      kept_time(pod, "ContainersReady", "False", ts)));
	cJSON_AddItemToArray(conds, condition("PodScheduled", "True", NULL, NULL, kept_time(pod, "PodScheduled", "True", ts)));
	cJSON_AddItemToObject(st, "containerStatuses", container_statuses(pod, false, ts));
	return st;
}

cJSON *sim_pod_status_running(const cJSON *pod, const char *host_ip, const char *pod_ip, time_t now)
{
	char ts[40];
	time_rfc3339(now, ts, sizeof ts);
	cJSON *st = base_status(pod, "Running", host_ip, ts);
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
	cJSON_AddItemToArray(conds, condition("Initialized", "True", NULL, NULL, kept_time(pod, "Initialized", "True", ts)));
	cJSON_AddItemToArray(conds, condition("Ready", "True", NULL, NULL, ts));
	cJSON_AddItemToArray(conds, condition("ContainersReady", "True", NULL, NULL, ts));
	cJSON_AddItemToArray(conds, condition("PodScheduled", "True", NULL, NULL, kept_time(pod, "PodScheduled", "True", ts)));
	if (pod_ip) {
		cJSON_AddStringToObject(st, "podIP", pod_ip);
		cJSON *ips = cJSON_AddArrayToObject(st, "podIPs");
		cJSON *ip = cJSON_CreateObject();
		cJSON_AddStringToObject(ip, "ip", pod_ip);
		cJSON_AddItemToArray(ips, ip);
	}
	cJSON_AddItemToObject(st, "containerStatuses", container_statuses(pod, true, ts));
	return st;
}

bool sim_pod_active(const cJSON *pod)
{
	const char *phase = json_get_str(pod, "status.phase");
	const cJSON *del = json_get(pod, "metadata.deletionTimestamp");
	if (del && !cJSON_IsNull(del))
		return false;
	return !phase || (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0);
}

bool sim_pod_ready(const cJSON *pod)
{
	const char *s = json_get_str(json_condition(pod, "Ready"), "status");
	return s && strcmp(s, "True") == 0;
}

bool sim_pod_available(const cJSON *pod, long min_ready_seconds, time_t now)
{
	if (!sim_pod_ready(pod))
		return false;
	if (min_ready_seconds <= 0)
		return true;
	time_t t;
	const char *ts = json_get_str(json_condition(pod, "Ready"), "lastTransitionTime");
	if (!ts || time_parse_rfc3339(ts, &t) < 0)
		return false;
	return t + min_ready_seconds <= now;
}

bool sim_pod_starting(const cJSON *pod)
{
	const char *phase = json_get_str(pod, "status.phase");
	const char *node = json_get_str(pod, "spec.nodeName");
	return sim_pod_active(pod) && node && *node && (!phase || strcmp(phase, "Pending") == 0);
}
