#include "protocol.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

void proto_exec_namespace(const char *cluster, char *buf, size_t len)
{
	snprintf(buf, len, PROTO_EXEC_NS_PREFIX "%s", cluster);
}

void proto_works_prefix(const char *cluster, char *buf, size_t len)
{
	snprintf(buf, len, "work.karmada.io/works/" PROTO_EXEC_NS_PREFIX "%s/", cluster);
}

bool proto_valid_cluster_name(const char *name, char *err, size_t errlen)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0) {
		snprintf(err, errlen, "cluster name must not be empty");
		return false;
	}
	if (n > 48) {
		snprintf(err, errlen, "cluster name \"%.60s\" must be no more than 48 characters", name);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0 && i < n - 1);
		if (!ok) {
			snprintf(err, errlen,
				 "cluster name \"%s\" must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
				 name);
			return false;
		}
	}
	return true;
}

int proto_check_type(const cJSON *body, const char *kind, char *err, size_t errlen)
{
	if (!cJSON_IsObject(body)) {
		snprintf(err, errlen, "the request body must be a JSON object");
		return -1;
	}
	const char *av = json_get_str(body, "apiVersion");
	if (!av || strcmp(av, PROTO_API_VERSION) != 0) {
		snprintf(err, errlen, "unsupported protocol version \"%s\": this hub speaks %s", av ? av : "",
			 PROTO_API_VERSION);
		return -1;
	}
	const char *k = json_get_str(body, "kind");
	if (!k || strcmp(k, kind) != 0) {
		snprintf(err, errlen, "expected kind %s, got \"%s\"", kind, k ? k : "");
		return -1;
	}
	return 0;
}

static int seg(const char **p, char *out, size_t len)
{
	const char *s = *p, *e = strchr(s, '/');
	size_t n = e ? (size_t)(e - s) : strlen(s);
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = e ? e + 1 : s + n;
	return 0;
}

int proto_parse_path(const char *path, char *ver, size_t verlen, char *cluster, size_t clen, char *op, size_t oplen)
{
	size_t pl = strlen(PROTO_GROUP_PREFIX);
	if (strncmp(path, PROTO_GROUP_PREFIX, pl) != 0)
		return -1;
	const char *p = path + pl;
	char what[32];
	ver[0] = cluster[0] = op[0] = '\0';
	if (seg(&p, ver, verlen) < 0)
		return -1;
	if (!*p)
		return 0;
	if (seg(&p, what, sizeof what) < 0 || strcmp(what, "clusters") != 0)
		return -1;
	if (seg(&p, cluster, clen) < 0)
		return -1;
	if (seg(&p, op, oplen) < 0 || *p)
		return -1;
	return 0;
}

/* ---- registration ---- */

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static int get_opt_str(const cJSON *j, const char *key, char *dst, size_t len, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!v || cJSON_IsNull(v)) {
		dst[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(v)) {
		snprintf(err, errlen, "%s: expected a string", key);
		return -1;
	}
	if (strlen(v->valuestring) >= len) {
		snprintf(err, errlen, "%s: must be no more than %zu characters", key, len - 1);
		return -1;
	}
	copy_str(dst, len, v->valuestring);
	return 0;
}

cJSON *proto_registration_to_json(const struct proto_registration *r)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "apiVersion", PROTO_API_VERSION);
	cJSON_AddStringToObject(j, "kind", "Registration");
	cJSON_AddStringToObject(j, "cluster", r->cluster);
	if (r->agent_version[0])
		cJSON_AddStringToObject(j, "agentVersion", r->agent_version);
	if (r->kubernetes_version[0])
		cJSON_AddStringToObject(j, "kubernetesVersion", r->kubernetes_version);
	if (r->provider[0])
		cJSON_AddStringToObject(j, "provider", r->provider);
	if (r->region[0])
		cJSON_AddStringToObject(j, "region", r->region);
	if (r->nzones > 0) {
		cJSON *z = cJSON_AddArrayToObject(j, "zones");
		for (int i = 0; i < r->nzones; i++)
			cJSON_AddItemToArray(z, cJSON_CreateString(r->zones[i]));
	}
	if (r->api_endpoint[0])
		cJSON_AddStringToObject(j, "apiEndpoint", r->api_endpoint);
	if (r->id[0])
		cJSON_AddStringToObject(j, "id", r->id);
	if (r->labels)
		cJSON_AddItemToObject(j, "labels", json_dup(r->labels));
	return j;
}

int proto_registration_from_json(const cJSON *j, struct proto_registration *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	if (proto_check_type(j, "Registration", err, errlen) < 0)
		return -1;
	if (get_opt_str(j, "cluster", r->cluster, sizeof r->cluster, err, errlen) < 0 ||
	    get_opt_str(j, "agentVersion", r->agent_version, sizeof r->agent_version, err, errlen) < 0 ||
	    get_opt_str(j, "kubernetesVersion", r->kubernetes_version, sizeof r->kubernetes_version, err, errlen) < 0 ||
	    get_opt_str(j, "provider", r->provider, sizeof r->provider, err, errlen) < 0 ||
	    get_opt_str(j, "region", r->region, sizeof r->region, err, errlen) < 0 ||
	    get_opt_str(j, "apiEndpoint", r->api_endpoint, sizeof r->api_endpoint, err, errlen) < 0 ||
	    get_opt_str(j, "id", r->id, sizeof r->id, err, errlen) < 0)
		return -1;
	if (!proto_valid_cluster_name(r->cluster, err, errlen))
		return -1;
	const cJSON *z = cJSON_GetObjectItemCaseSensitive(j, "zones");
	if (z && !cJSON_IsNull(z)) {
		if (!cJSON_IsArray(z) || cJSON_GetArraySize(z) > 8) {
			snprintf(err, errlen, "zones: expected an array of at most 8 strings");
			return -1;
		}
		const cJSON *it;
		cJSON_ArrayForEach(it, z) {
			if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof r->zones[0] || !it->valuestring[0]) {
				snprintf(err, errlen, "zones[%d]: expected a non-empty string of at most 63 characters", r->nzones);
				return -1;
			}
			copy_str(r->zones[r->nzones++], sizeof r->zones[0], it->valuestring);
		}
	}
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "labels");
	if (l && !cJSON_IsNull(l)) {
		if (!cJSON_IsObject(l) || cJSON_GetArraySize(l) > 64) {
			snprintf(err, errlen, "labels: expected an object of at most 64 string values");
			return -1;
		}
		const cJSON *it;
		cJSON_ArrayForEach(it, l) {
			if (!cJSON_IsString(it) || strlen(it->string) > 253 || strlen(it->valuestring) > 63) {
				snprintf(err, errlen, "labels.%.100s: expected a label value (a string of at most 63 characters)",
					 it->string);
				return -1;
			}
		}
		r->labels = json_dup(l);
	}
	return 0;
}

void proto_registration_free(struct proto_registration *r)
{
	cJSON_Delete(r->labels);
	r->labels = NULL;
}

/* ---- heartbeat ---- */

static const char *const health_names[] = {"Healthy", "Unhealthy", "Unreachable"};

cJSON *proto_heartbeat_to_json(const struct proto_heartbeat *h)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "apiVersion", PROTO_API_VERSION);
	cJSON_AddStringToObject(j, "kind", "Heartbeat");
	cJSON_AddStringToObject(j, "cluster", h->cluster);
	cJSON_AddNumberToObject(j, "leaseDurationSeconds", h->lease_duration_s);
	cJSON_AddStringToObject(j, "health", health_names[h->health]);
	if (h->kubernetes_version[0])
		cJSON_AddStringToObject(j, "kubernetesVersion", h->kubernetes_version);
	if (h->have_summary) {
		cJSON *ns = cJSON_AddObjectToObject(j, "nodeSummary");
		cJSON_AddNumberToObject(ns, "totalNum", h->nodes_total);
		cJSON_AddNumberToObject(ns, "readyNum", h->nodes_ready);
		cJSON *rs = cJSON_AddObjectToObject(j, "resourceSummary");
		cJSON_AddItemToObject(rs, "allocatable", proto_resources_to_json(&h->allocatable));
		cJSON_AddItemToObject(rs, "allocating", proto_resources_to_json(&h->allocating));
		cJSON_AddItemToObject(rs, "allocated", proto_resources_to_json(&h->allocated));
	}
	return j;
}

int proto_heartbeat_from_json(const cJSON *j, struct proto_heartbeat *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	if (proto_check_type(j, "Heartbeat", err, errlen) < 0)
		return -1;
	if (get_opt_str(j, "cluster", h->cluster, sizeof h->cluster, err, errlen) < 0 ||
	    get_opt_str(j, "kubernetesVersion", h->kubernetes_version, sizeof h->kubernetes_version, err, errlen) < 0)
		return -1;
	if (!proto_valid_cluster_name(h->cluster, err, errlen))
		return -1;
	const cJSON *ld = cJSON_GetObjectItemCaseSensitive(j, "leaseDurationSeconds");
	if (!ld)
		h->lease_duration_s = PROTO_DEFAULT_LEASE_S;
	else if (!cJSON_IsNumber(ld) || ld->valuedouble < 1 || ld->valuedouble > 3600) {
		snprintf(err, errlen, "leaseDurationSeconds: expected an integer from 1 to 3600");
		return -1;
	} else
		h->lease_duration_s = (int)ld->valuedouble;
	const char *hs = json_get_str(j, "health");
	h->health = PH_UNREACHABLE;
	bool found = false;
	for (int i = 0; hs && i < 3; i++)
		if (strcmp(hs, health_names[i]) == 0) {
			h->health = (enum proto_health)i;
			found = true;
		}
	if (!found) {
		snprintf(err, errlen, "health: expected Healthy, Unhealthy or Unreachable, got \"%s\"", hs ? hs : "");
		return -1;
	}
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(j, "nodeSummary");
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "resourceSummary");
	if (cJSON_IsObject(ns) && cJSON_IsObject(rs)) {
		h->have_summary = true;
		h->nodes_total = (int)json_get_num(ns, "totalNum", 0);
		h->nodes_ready = (int)json_get_num(ns, "readyNum", 0);
		if (h->nodes_total < 0 || h->nodes_ready < 0 || h->nodes_ready > h->nodes_total) {
			snprintf(err, errlen, "nodeSummary: readyNum must be between 0 and totalNum");
			return -1;
		}
		proto_resources_from_json(cJSON_GetObjectItemCaseSensitive(rs, "allocatable"), &h->allocatable);
		proto_resources_from_json(cJSON_GetObjectItemCaseSensitive(rs, "allocated"), &h->allocated);
		proto_resources_from_json(cJSON_GetObjectItemCaseSensitive(rs, "allocating"), &h->allocating);
	}
	return 0;
}

/* ---- work events ---- */

cJSON *proto_work_events_new(long long revision, bool full, bool more)
{
	cJSON *j = cJSON_CreateObject();
	char rv[32];
	snprintf(rv, sizeof rv, "%lld", revision);
	cJSON_AddStringToObject(j, "apiVersion", PROTO_API_VERSION);
	cJSON_AddStringToObject(j, "kind", "WorkEvents");
	cJSON_AddStringToObject(j, "revision", rv);
	cJSON_AddBoolToObject(j, "full", full);
	cJSON_AddBoolToObject(j, "more", more);
	cJSON_AddArrayToObject(j, "events");
	return j;
}

void proto_work_events_add(cJSON *events, const char *type, cJSON *object)
{
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddItemToObject(ev, "object", object);
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(events, "events"), ev);
}

static int parse_rev(const char *s, long long *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*end || v < 0)
		return -1;
	*out = v;
	return 0;
}

int proto_work_events_parse(const cJSON *j, long long *revision, bool *full, bool *more, const cJSON **events,
			    char *err, size_t errlen)
{
	if (proto_check_type(j, "WorkEvents", err, errlen) < 0)
		return -1;
	if (parse_rev(json_get_str(j, "revision"), revision) < 0) {
		snprintf(err, errlen, "revision: expected a decimal string");
		return -1;
	}
	*full = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "full"));
	*more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "more"));
	const cJSON *evs = cJSON_GetObjectItemCaseSensitive(j, "events");
	if (!cJSON_IsArray(evs)) {
		snprintf(err, errlen, "events: expected an array");
		return -1;
	}
	int i = 0;
	const cJSON *ev;
	cJSON_ArrayForEach(ev, evs) {
		const char *t = json_get_str(ev, "type");
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(ev, "object");
		if (!t || (strcmp(t, "ADDED") != 0 && strcmp(t, "MODIFIED") != 0 && strcmp(t, "DELETED") != 0)) {
			snprintf(err, errlen, "events[%d].type: expected ADDED, MODIFIED or DELETED", i);
			return -1;
		}
		if (!cJSON_IsObject(o) || !json_get_str(o, "metadata.name")) {
			snprintf(err, errlen, "events[%d].object: expected a Work with metadata.name", i);
			return -1;
		}
		if (*full && strcmp(t, "ADDED") != 0) {
			snprintf(err, errlen, "events[%d].type: a full list has only ADDED events", i);
			return -1;
		}
		i++;
	}
	*events = evs;
	return 0;
}

/* ---- status report ---- */

cJSON *proto_status_report_to_json(const struct proto_work_status *items, int n)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "apiVersion", PROTO_API_VERSION);
	cJSON_AddStringToObject(j, "kind", "WorkStatusReport");
	cJSON *arr = cJSON_AddArrayToObject(j, "items");
	for (int i = 0; i < n; i++) {
		const struct proto_work_status *s = &items[i];
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "name", s->name);
		cJSON_AddNumberToObject(it, "generation", (double)s->generation);
		cJSON *ap = cJSON_AddObjectToObject(it, "applied");
		cJSON_AddStringToObject(ap, "status", s->applied ? "True" : "False");
		cJSON_AddStringToObject(ap, "reason", s->reason);
		cJSON_AddStringToObject(ap, "message", s->message);
		cJSON_AddItemToObject(it, "manifestStatuses",
				      s->manifest_statuses ? json_dup(s->manifest_statuses) : cJSON_CreateArray());
		cJSON_AddItemToArray(arr, it);
	}
	return j;
}

int proto_status_report_from_json(const cJSON *j, struct proto_work_status **items, int *n, char *err, size_t errlen)
{
	*items = NULL;
	*n = 0;
	if (proto_check_type(j, "WorkStatusReport", err, errlen) < 0)
		return -1;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "items");
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "items: expected an array");
		return -1;
	}
	int cnt = cJSON_GetArraySize(arr);
	if (cnt > PROTO_MAX_STATUS_ITEMS) {
		snprintf(err, errlen, "items: at most %d per report", PROTO_MAX_STATUS_ITEMS);
		return -1;
	}
	struct proto_work_status *out = calloc((size_t)(cnt ? cnt : 1), sizeof *out);
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		struct proto_work_status *s = &out[i];
		const char *name = json_get_str(it, "name");
		if (!name || !*name || strlen(name) >= sizeof s->name) {
			snprintf(err, errlen, "items[%d].name: expected a Work name", i);
			goto fail;
		}
		copy_str(s->name, sizeof s->name, name);
		s->generation = (long long)json_get_num(it, "generation", 0);
		const char *st = json_get_str(it, "applied.status");
		if (!st || (strcmp(st, "True") != 0 && strcmp(st, "False") != 0)) {
			snprintf(err, errlen, "items[%d].applied.status: expected True or False", i);
			goto fail;
		}
		s->applied = strcmp(st, "True") == 0;
		copy_str(s->reason, sizeof s->reason, json_get_str(it, "applied.reason"));
		copy_str(s->message, sizeof s->message, json_get_str(it, "applied.message"));
		if (!s->reason[0]) {
			snprintf(err, errlen, "items[%d].applied.reason: required", i);
			goto fail;
		}
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(it, "manifestStatuses");
		if (ms && !cJSON_IsNull(ms) && !cJSON_IsArray(ms)) {
			snprintf(err, errlen, "items[%d].manifestStatuses: expected an array", i);
			goto fail;
		}
		s->manifest_statuses = cJSON_IsArray(ms) ? json_dup(ms) : cJSON_CreateArray();
		i++;
	}
	*items = out;
	*n = i;
	return 0;
fail:
	proto_work_status_free(out, i);
	return -1;
}

void proto_work_status_free(struct proto_work_status *items, int n)
{
	for (int i = 0; items && i < n; i++)
		cJSON_Delete(items[i].manifest_statuses);
	free(items);
}

/* ---- quantities ---- */

static int mul_ovf(int64_t a, int64_t b, int64_t *out) { return __builtin_mul_overflow(a, b, out); }
static int add_ovf(int64_t a, int64_t b, int64_t *out) { return __builtin_add_overflow(a, b, out); }

int proto_quantity_milli(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -1;
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	int64_t whole = 0, frac = 0; /* frac in units of 10^-9 */
	int fd = 0, digits = 0;
	while (isdigit((unsigned char)*p)) {
		if (mul_ovf(whole, 10, &whole) || add_ovf(whole, *p - '0', &whole))
			return -1;
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (fd < 9) {
				frac = frac * 10 + (*p - '0');
				fd++;
			}
			p++;
			digits++;
		}
	}
	if (digits == 0)
		return -1;
	for (; fd < 9; fd++)
		frac *= 10;
	/* suffix: binary (Ki..Ei), decimal (n u m "" k M G T P E) or exponent e/E<n> */
	int64_t mul_num = 1, mul_den = 1; /* value = (whole + frac/1e9) * mul_num / mul_den */
	static const struct { const char *s; int64_t num, den; } suf[] = {
		{"Ki", 1024LL, 1}, {"Mi", 1024LL * 1024, 1}, {"Gi", 1024LL * 1024 * 1024, 1},
		{"Ti", 1024LL * 1024 * 1024 * 1024, 1}, {"Pi", 1024LL * 1024 * 1024 * 1024 * 1024, 1},
		{"Ei", 1024LL * 1024 * 1024 * 1024 * 1024 * 1024, 1},
		{"n", 1, 1000000000}, {"u", 1, 1000000}, {"m", 1, 1000}, {"k", 1000, 1}, {"M", 1000000, 1},
		{"G", 1000000000LL, 1}, {"T", 1000000000000LL, 1}, {"P", 1000000000000000LL, 1},
		{"E", 1000000000000000000LL, 1},
	};
	bool matched = *p == '\0';
	for (size_t i = 0; !matched && i < sizeof suf / sizeof suf[0]; i++)
		if (strcmp(p, suf[i].s) == 0) {
			mul_num = suf[i].num;
			mul_den = suf[i].den;
			matched = true;
		}
	if (!matched && (*p == 'e' || *p == 'E') && p[1]) {
		char *end;
		long e = strtol(p + 1, &end, 10);
		if (*end || e < -9 || e > 18)
			return -1;
		for (long k = 0; k < (e < 0 ? -e : e); k++)
			if (e > 0)
				mul_num *= 10;
			else
				mul_den *= 10;
		matched = true;
	}
	if (!matched)
		return -1;
	/* milli = (whole*1e9 + frac) * mul_num * 1000 / (mul_den * 1e9), rounded up as Kubernetes does. */
	int64_t a, b, r;
	if (mul_ovf(whole, mul_num, &a) || mul_ovf(a, 1000, &a))
		return -1;
	/* fraction part: frac (1e-9) * mul_num * 1000 / 1e9 = frac * mul_num / 1e6 */
	__int128 fr = (__int128)frac * mul_num;
	int64_t fpart = (int64_t)((fr + 999999) / 1000000);
	if (add_ovf(a, fpart, &b))
		return -1;
	r = b / mul_den + (b % mul_den ? 1 : 0);
	*out = neg ? -r : r;
	return 0;
}

static void add_quantity_str(cJSON *o, const char *name, int64_t v, bool cpu)
{
	char buf[48];
	if (cpu) {
		if (v % 1000 == 0)
			snprintf(buf, sizeof buf, "%lld", (long long)(v / 1000));
		else
			snprintf(buf, sizeof buf, "%lldm", (long long)v);
	} else {
		static const char *const bs[] = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
		int64_t unit = 1LL << 60;
		const char *s = NULL;
		for (int i = 0; i < 6; i++, unit >>= 10)
			if (v != 0 && v % unit == 0) {
				s = bs[i];
				break;
			}
		if (s)
			snprintf(buf, sizeof buf, "%lld%s", (long long)(v / unit), s);
		else
			snprintf(buf, sizeof buf, "%lld", (long long)v);
	}
	cJSON_AddStringToObject(o, name, buf);
}

cJSON *proto_resources_to_json(const struct proto_resources *r)
{
	cJSON *o = cJSON_CreateObject();
	add_quantity_str(o, "cpu", r->cpu_milli, true);
	add_quantity_str(o, "memory", r->memory, false);
	if (r->ephemeral_storage)
		add_quantity_str(o, "ephemeral-storage", r->ephemeral_storage, false);
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)r->pods);
	cJSON_AddStringToObject(o, "pods", buf);
	return o;
}

static int64_t qty_of(const cJSON *v, bool milli)
{
	int64_t m = 0;
	if (cJSON_IsString(v)) {
		if (proto_quantity_milli(v->valuestring, &m) < 0)
			return 0;
	} else if (cJSON_IsNumber(v)) {
		m = (int64_t)(v->valuedouble * 1000);
	} else {
		return 0;
	}
	return milli ? m : (m + 999) / 1000;
}

void proto_resources_add_list(struct proto_resources *r, const cJSON *list)
{
	if (!cJSON_IsObject(list))
		return;
	r->cpu_milli += qty_of(cJSON_GetObjectItemCaseSensitive(list, "cpu"), true);
	r->memory += qty_of(cJSON_GetObjectItemCaseSensitive(list, "memory"), false);
	r->ephemeral_storage += qty_of(cJSON_GetObjectItemCaseSensitive(list, "ephemeral-storage"), false);
	r->pods += qty_of(cJSON_GetObjectItemCaseSensitive(list, "pods"), false);
}

void proto_resources_from_json(const cJSON *j, struct proto_resources *r)
{
	memset(r, 0, sizeof *r);
	proto_resources_add_list(r, j);
}

/* ---- conditions ---- */

void proto_ready_condition(enum proto_health h, const char **status, const char **reason, const char **message)
{
	switch (h) {
	case PH_HEALTHY:
		*status = "True", *reason = REASON_CLUSTER_READY, *message = MSG_CLUSTER_READY;
		break;
	case PH_UNHEALTHY:
		*status = "False", *reason = REASON_CLUSTER_NOT_READY, *message = MSG_CLUSTER_NOT_READY;
		break;
	default:
		*status = "False", *reason = REASON_CLUSTER_NOT_REACHABLE, *message = MSG_CLUSTER_NOT_REACHABLE;
		break;
	}
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

bool proto_set_condition(cJSON *conds, const char *type, const char *status, const char *reason, const char *message,
			 long long observed_generation, const char *now)
{
	cJSON *c, *found = NULL;
	cJSON_ArrayForEach(c, conds)
		if (str_eq(json_get_str(c, "type"), type))
			found = c;
	if (found && str_eq(json_get_str(found, "status"), status) && str_eq(json_get_str(found, "reason"), reason) &&
	    str_eq(json_get_str(found, "message"), message) &&
	    (observed_generation <= 0 || (long long)json_get_num(found, "observedGeneration", 0) == observed_generation))
		return false;
	const char *ltt = now;
	char keep[64] = "";
	if (found && str_eq(json_get_str(found, "status"), status) && json_get_str(found, "lastTransitionTime")) {
		copy_str(keep, sizeof keep, json_get_str(found, "lastTransitionTime"));
		ltt = keep;
	}
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "type", type);
	cJSON_AddStringToObject(n, "status", status);
	if (observed_generation > 0)
		cJSON_AddNumberToObject(n, "observedGeneration", (double)observed_generation);
	cJSON_AddStringToObject(n, "lastTransitionTime", ltt);
	cJSON_AddStringToObject(n, "reason", reason);
	cJSON_AddStringToObject(n, "message", message);
	if (found)
		cJSON_ReplaceItemViaPointer(conds, found, n);
	else
		cJSON_AddItemToArray(conds, n);
	return true;
}
