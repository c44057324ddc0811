#include "table.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "timefmt.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* ---- small helpers -------------------------------------------------- */

/* Growable string; on allocation failure it keeps what it has and stops
 * growing, so a cell is at worst truncated, never a crash. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_sep(struct sbuf *b, const char *sep)
{
	if (b->len)
		sb_puts(b, sep);
}

static const char *sb_str(const struct sbuf *b) { return b->p ? b->p : ""; }

/* Turns the buffer into a string cell (dflt when empty) and frees it. */
static cJSON *sb_cell(struct sbuf *b, const char *dflt)
{
	cJSON *c = cJSON_CreateString(b->len || !dflt ? sb_str(b) : dflt);
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	return c;
}

/* Integer from a JSON number, clamped: converting an out-of-range double
 * to an integer type is undefined behaviour. */
static long long as_ll(const cJSON *j, long long def)
{
	if (!cJSON_IsNumber(j))
		return def;
	double d = j->valuedouble;
	if (!(d == d))
		return def;
	if (d >= 9.0e18)
		return 9000000000000000000LL;
	if (d <= -9.0e18)
		return -9000000000000000000LL;
	return (long long)d;
}

static long long num(const cJSON *o, const char *path, long long def)
{
	return as_ll(json_get(o, path), def);
}

static const char *str(const cJSON *o, const char *path)
{
	return json_get_str(o, path);
}

/* Non-empty string or NULL. */
static const char *nestr(const cJSON *o, const char *path)
{
	const char *s = json_get_str(o, path);
	return s && s[0] ? s : NULL;
}

static const cJSON *arr(const cJSON *o, const char *path)
{
	const cJSON *a = json_get(o, path);
	return cJSON_IsArray(a) ? a : NULL;
}

static int arr_len(const cJSON *o, const char *path)
{
	const cJSON *a = arr(o, path);
	return a ? cJSON_GetArraySize(a) : 0;
}

static bool ts_parse(const char *s, time_t *t)
{
	return s && s[0] && time_parse_rfc3339(s, t) == 0;
}

static cJSON *human_since(time_t then, time_t now)
{
	char buf[32];
	return cJSON_CreateString(time_human_duration((long long)now - (long long)then, buf, sizeof buf));
}

/* translateTimestampSince: "<unknown>" when the timestamp is absent. */
static cJSON *since_path(const cJSON *o, const char *path, time_t now, const char *dflt)
{
	time_t t;
	if (!ts_parse(str(o, path), &t))
		return cJSON_CreateString(dflt ? dflt : "<unknown>");
	return human_since(t, now);
}

static void sort_strs(const char **v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		const char *x = v[i];
		size_t j = i;
		while (j > 0 && strcmp(v[j - 1], x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Status of the condition of type type in status.conditions, or NULL. */
static const char *condition_status(const cJSON *o, const char *type)
{
	const cJSON *c;
	const cJSON *conds = arr(o, "status.conditions");
	cJSON_ArrayForEach(c, conds) {
		const char *t = str(c, "type");
		if (t && strcmp(t, type) == 0)
			return str(c, "status");
	}
	return NULL;
}

static bool condition_true(const cJSON *o, const char *type)
{
	const char *s = condition_status(o, type);
	return s && strcmp(s, "True") == 0;
}

/* labels.FormatLabels: "k=v,k2=v2" sorted by key, "<none>" when empty. */
static cJSON *format_labels(const cJSON *m)
{
	struct sbuf b = {0};
	if (cJSON_IsObject(m)) {
		int n = cJSON_GetArraySize(m), i = 0;
		const char **keys = calloc((size_t)n + 1, sizeof *keys);
		const cJSON *e;
		if (keys) {
			cJSON_ArrayForEach(e, m) if (e->string && i < n) keys[i++] = e->string;
			sort_strs(keys, (size_t)i);
			for (int j = 0; j < i; j++) {
				/* keys hold dots: no dotted-path lookup here */
				const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, keys[j]));
				sb_sep(&b, ",");
				sb_puts(&b, keys[j]);
				sb_puts(&b, "=");
				sb_puts(&b, v ? v : "");
			}
			free(keys);
		}
	}
	return sb_cell(&b, "<none>");
}

/* metav1.LabelSelector as labels.Selector.String(): requirements sorted by
 * key, "k=v", "k in (a,b)", "k notin (a,b)", "k", "!k". */
struct req {
	const char *key;
	char *text;
};

static char *req_text(const char *key, const char *op, const cJSON *values)
{
	struct sbuf b = {0};
	if (strcmp(op, "Exists") == 0) {
		sb_puts(&b, key);
	} else if (strcmp(op, "DoesNotExist") == 0) {
		sb_puts(&b, "!");
		sb_puts(&b, key);
	} else {
		int n = cJSON_IsArray(values) ? cJSON_GetArraySize(values) : 0, i = 0;
		const char **v = calloc((size_t)n + 1, sizeof *v);
		const cJSON *e;
		if (v && n)
			cJSON_ArrayForEach(e, values) if (cJSON_IsString(e) && i < n) v[i++] = e->valuestring;
		sort_strs(v, v ? (size_t)i : 0);
		sb_puts(&b, key);
		sb_puts(&b, strcmp(op, "NotIn") == 0 ? " notin (" : " in (");
		for (int j = 0; v && j < i; j++) {
			if (j)
				sb_puts(&b, ",");
			sb_puts(&b, v[j]);
		}
		sb_puts(&b, ")");
		free(v);
	}
	return b.p ? b.p : strdup("");
}

static cJSON *format_selector(const cJSON *sel)
{
	const cJSON *ml = json_get(sel, "matchLabels");
	const cJSON *me = json_get(sel, "matchExpressions");
	int n = (cJSON_IsObject(ml) ? cJSON_GetArraySize(ml) : 0) +
		(cJSON_IsArray(me) ? cJSON_GetArraySize(me) : 0);
	struct req *r = calloc((size_t)n + 1, sizeof *r);
	struct sbuf b = {0};
	int i = 0;
	const cJSON *e;
	if (!r)
		return cJSON_CreateString("");
	if (cJSON_IsObject(ml)) {
		cJSON_ArrayForEach(e, ml) {
			if (!e->string || !cJSON_IsString(e) || i >= n)
				continue;
			struct sbuf t = {0};
			sb_puts(&t, e->string);
			sb_puts(&t, "=");
			sb_puts(&t, e->valuestring);
			r[i].key = e->string;
			r[i++].text = t.p;
		}
	}
	if (cJSON_IsArray(me)) {
		cJSON_ArrayForEach(e, me) {
			const char *key = str(e, "key"), *op = str(e, "operator");
			if (!key || !op || i >= n)
				continue;
			r[i].key = key;
			r[i++].text = req_text(key, op, json_get(e, "values"));
		}
	}
	/* stable insertion sort by key */
	for (int x = 1; x < i; x++) {
		struct req t = r[x];
		int y = x;
		while (y > 0 && strcmp(r[y - 1].key, t.key) > 0) {
			r[y] = r[y - 1];
			y--;
		}
		r[y] = t;
	}
	for (int x = 0; x < i; x++) {
		sb_sep(&b, ",");
		if (r[x].text)
			sb_puts(&b, r[x].text);
		free(r[x].text);
	}
	free(r);
	return sb_cell(&b, "");
}

/* status.loadBalancer.ingress as a sorted, de-duplicated "ip,host" list. */
static void lb_ingress(const cJSON *o, struct sbuf *b)
{
	const cJSON *ing = arr(o, "status.loadBalancer.ingress");
	int n = ing ? cJSON_GetArraySize(ing) : 0, i = 0;
	const char **v = calloc((size_t)n + 1, sizeof *v);
	const cJSON *e;
	if (!v)
		return;
	cJSON_ArrayForEach(e, ing) {
		const char *s = nestr(e, "ip");
		if (!s)
			s = nestr(e, "hostname");
		if (s && i < n)
			v[i++] = s;
	}
	sort_strs(v, (size_t)i);
	for (int j = 0; j < i; j++) {
		if (j && strcmp(v[j], v[j - 1]) == 0)
			continue;
		sb_sep(b, ",");
		sb_puts(b, v[j]);
	}
	free(v);
}

static void join_strings(const cJSON *a, struct sbuf *b, const char *sep)
{
	const cJSON *e;
	if (!cJSON_IsArray(a))
		return;
	cJSON_ArrayForEach(e, a) {
		if (cJSON_IsString(e)) {
			sb_sep(b, sep);
			sb_puts(b, e->valuestring);
		}
	}
}

/* ---- column model --------------------------------------------------- */

struct col;
typedef cJSON *(*cell_fn)(const struct col *c, const cJSON *obj, time_t now);

/* One column: its definition plus how to compute its cell. path and arg
 * parameterise the generic cell functions (arg is usually a default). */
struct col {
	const char *name;
	const char *type;
	int priority;
	cell_fn cell;
	const char *path;
	const char *arg;
	const char *desc;
};

/* generic cells */

static cJSON *c_name(const struct col *c, const cJSON *o, time_t now)
{
	const char *n = str(o, "metadata.name");
	return cJSON_CreateString(n ? n : "");
}

static cJSON *c_age(const struct col *c, const cJSON *o, time_t now)
{
	return since_path(o, "metadata.creationTimestamp", now, NULL);
}

/* String at path; arg (or "") when missing or empty. */
static cJSON *c_str(const struct col *c, const cJSON *o, time_t now)
{
	const char *s = nestr(o, c->path);
	return cJSON_CreateString(s ? s : c->arg ? c->arg : "");
}

static cJSON *c_int(const struct col *c, const cJSON *o, time_t now)
{
	return cJSON_CreateNumber((double)num(o, c->path, 0));
}

/* Sum of the sizes of the objects/arrays at the comma-separated paths. */
static cJSON *c_count(const struct col *c, const cJSON *o, time_t now)
{
	char path[128];
	long long n = 0;
	const char *p = c->path;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len < sizeof path) {
			memcpy(path, p, len);
			path[len] = '\0';
			const cJSON *j = json_get(o, path);
			if (cJSON_IsObject(j) || cJSON_IsArray(j))
				n += cJSON_GetArraySize(j);
		}
		p = comma ? comma + 1 : NULL;
	}
	return cJSON_CreateNumber((double)n);
}

/* "<path>/<arg>", two integers, missing = 0. */
static cJSON *c_ratio(const struct col *c, const cJSON *o, time_t now)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%lld/%lld", num(o, c->path, 0), num(o, c->arg, 0));
	return cJSON_CreateString(buf);
}

/* Status of the condition whose type is path; arg when absent. */
static cJSON *c_cond(const struct col *c, const cJSON *o, time_t now)
{
	const char *s = condition_status(o, c->path);
	return cJSON_CreateString(s ? s : c->arg ? c->arg : "");
}

static cJSON *c_labels(const struct col *c, const cJSON *o, time_t now)
{
	return format_labels(json_get(o, c->path));
}

static cJSON *c_selector(const struct col *c, const cJSON *o, time_t now)
{
	return format_selector(json_get(o, c->path));
}

/* Names (arg "name") or images (arg "image") of the pod spec at path. */
static cJSON *c_containers(const struct col *c, const cJSON *o, time_t now)
{
	struct sbuf b = {0};
	const cJSON *ct;
	const cJSON *list = arr(json_get(o, c->path), "containers");
	cJSON_ArrayForEach(ct, list) {
		const char *s = str(ct, c->arg);
		sb_sep(&b, ",");
		sb_puts(&b, s ? s : "");
	}
	return sb_cell(&b, "");
}

/* Human age of the timestamp at path; arg when absent. */
static cJSON *c_since(const struct col *c, const cJSON *o, time_t now)
{
	return since_path(o, c->path, now, c->arg);
}

/* CRD style "Created At": RFC 3339 of creationTimestamp. */
static cJSON *c_created(const struct col *c, const cJSON *o, time_t now)
{
	char buf[40];
	time_t t;
	if (!ts_parse(str(o, "metadata.creationTimestamp"), &t))
		return cJSON_CreateString("");
	return cJSON_CreateString(time_rfc3339(t, buf, sizeof buf));
}

/* ---- Pod ------------------------------------------------------------ */

static bool is_sidecar(const cJSON *o, const char *name)
{
	const cJSON *ic;
	cJSON_ArrayForEach(ic, arr(o, "spec.initContainers")) {
		const char *n = str(ic, "name"), *rp = str(ic, "restartPolicy");
		if (n && name && strcmp(n, name) == 0)
			return rp && strcmp(rp, "Always") == 0;
	}
	return false;
}

struct pod_summary {
	long long ready, total, restarts;
	time_t last_restart;
	char reason[128];
};

static void note_restart(struct pod_summary *s, const cJSON *cs)
{
	time_t t;
	s->restarts += as_ll(json_get(cs, "restartCount"), 0);
	if (ts_parse(str(cs, "lastState.terminated.finishedAt"), &t) && t > s->last_restart)
		s->last_restart = t;
}

/* Mirrors printPod in kubernetes/pkg/printers/internalversion/printers.go. */
static void pod_summarize(const cJSON *o, struct pod_summary *s)
{
	const cJSON *cs;
	const char *phase = nestr(o, "status.phase");
	memset(s, 0, sizeof *s);
	snprintf(s->reason, sizeof s->reason, "%s", phase ? phase : "Pending");
	if (nestr(o, "status.reason"))
		snprintf(s->reason, sizeof s->reason, "%s", str(o, "status.reason"));

	s->total = arr_len(o, "spec.containers");
	if (!arr(o, "spec.containers"))
		s->total = arr_len(o, "status.containerStatuses");
	const cJSON *ic;
	cJSON_ArrayForEach(ic, arr(o, "spec.initContainers")) {
		const char *rp = str(ic, "restartPolicy");
		if (rp && strcmp(rp, "Always") == 0)
			s->total++;
	}

	bool initializing = false;
	int n_init = arr_len(o, "spec.initContainers"), i = 0;
	long long sidecar_restarts = 0;
	cJSON_ArrayForEach(cs, arr(o, "status.initContainerStatuses")) {
		int idx = i++;
		long long before = s->restarts;
		note_restart(s, cs);
		if (is_sidecar(o, str(cs, "name"))) {
			sidecar_restarts += s->restarts - before;
			if (cJSON_IsTrue(json_get(cs, "started"))) {
				if (cJSON_IsTrue(json_get(cs, "ready")))
					s->ready++;
				continue;
			}
		}
		const cJSON *term = json_get(cs, "state.terminated");
		const char *wreason = nestr(cs, "state.waiting.reason");
		if (cJSON_IsObject(term) && num(term, "exitCode", 0) == 0)
			continue;
		if (cJSON_IsObject(term)) {
			if (nestr(term, "reason"))
				snprintf(s->reason, sizeof s->reason, "Init:%s", str(term, "reason"));
			else if (num(term, "signal", 0) != 0)
				snprintf(s->reason, sizeof s->reason, "Init:Signal:%lld", num(term, "signal", 0));
			else
				snprintf(s->reason, sizeof s->reason, "Init:ExitCode:%lld", num(term, "exitCode", 0));
		} else if (wreason && strcmp(wreason, "PodInitializing") != 0) {
			snprintf(s->reason, sizeof s->reason, "Init:%s", wreason);
		} else {
			snprintf(s->reason, sizeof s->reason, "Init:%d/%d", idx, n_init);
		}
		initializing = true;
		break;
	}

	if (!initializing || condition_true(o, "Initialized")) {
		s->restarts = sidecar_restarts;
		bool running = false;
		const cJSON *list = arr(o, "status.containerStatuses");
		for (int j = list ? cJSON_GetArraySize(list) - 1 : -1; j >= 0; j--) {
			cs = cJSON_GetArrayItem(list, j);
			note_restart(s, cs);
			const cJSON *term = json_get(cs, "state.terminated");
			if (nestr(cs, "state.waiting.reason")) {
				snprintf(s->reason, sizeof s->reason, "%s", str(cs, "state.waiting.reason"));
			} else if (cJSON_IsObject(term) && nestr(term, "reason")) {
				snprintf(s->reason, sizeof s->reason, "%s", str(term, "reason"));
			} else if (cJSON_IsObject(term)) {
				if (num(term, "signal", 0) != 0)
					snprintf(s->reason, sizeof s->reason, "Signal:%lld", num(term, "signal", 0));
				else
					snprintf(s->reason, sizeof s->reason, "ExitCode:%lld", num(term, "exitCode", 0));
			} else if (cJSON_IsTrue(json_get(cs, "ready")) &&
				   cJSON_IsObject(json_get(cs, "state.running"))) {
				running = true;
				s->ready++;
			}
		}
		if (strcmp(s->reason, "Completed") == 0 && running)
			snprintf(s->reason, sizeof s->reason, "%s",
				 condition_true(o, "Ready") ? "Running" : "NotReady");
	}

	if (json_get(o, "metadata.deletionTimestamp") &&
	    !cJSON_IsNull(json_get(o, "metadata.deletionTimestamp"))) {
		const char *r = str(o, "status.reason");
		snprintf(s->reason, sizeof s->reason, "%s",
			 r && strcmp(r, "NodeLost") == 0 ? "Unknown" : "Terminating");
	}
}

static cJSON *c_pod_ready(const struct col *c, const cJSON *o, time_t now)
{
	struct pod_summary s;
	char buf[64];
	pod_summarize(o, &s);
	snprintf(buf, sizeof buf, "%lld/%lld", s.ready, s.total);
	return cJSON_CreateString(buf);
}

static cJSON *c_pod_status(const struct col *c, const cJSON *o, time_t now)
{
	struct pod_summary s;
	pod_summarize(o, &s);
	return cJSON_CreateString(s.reason);
}

/* "3" or "3 (5m ago)" as upstream prints since 1.22 (a string column). */
static cJSON *c_pod_restarts(const struct col *c, const cJSON *o, time_t now)
{
	struct pod_summary s;
	char buf[96], age[32];
	pod_summarize(o, &s);
	if (s.restarts != 0 && s.last_restart)
		snprintf(buf, sizeof buf, "%lld (%s ago)", s.restarts,
			 time_human_duration((long long)now - (long long)s.last_restart, age, sizeof age));
	else
		snprintf(buf, sizeof buf, "%lld", s.restarts);
	return cJSON_CreateString(buf);
}

static cJSON *c_pod_ip(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *ips = arr(o, "status.podIPs");
	const char *ip = ips ? nestr(cJSON_GetArrayItem(ips, 0), "ip") : NULL;
	if (!ip)
		ip = nestr(o, "status.podIP");
	return cJSON_CreateString(ip ? ip : "<none>");
}

static cJSON *c_pod_gates(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *g;
	int n = 0, ok = 0;
	char buf[64];
	cJSON_ArrayForEach(g, arr(o, "spec.readinessGates")) {
		const char *t = str(g, "conditionType");
		n++;
		if (t && condition_true(o, t))
			ok++;
	}
	if (!n)
		return cJSON_CreateString("<none>");
	snprintf(buf, sizeof buf, "%d/%d", ok, n);
	return cJSON_CreateString(buf);
}

/* ---- Service -------------------------------------------------------- */

static const char *svc_type(const cJSON *o)
{
	const char *t = nestr(o, "spec.type");
	return t ? t : "ClusterIP";
}

static cJSON *c_svc_cluster_ip(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *ips = arr(o, "spec.clusterIPs");
	const cJSON *first = ips ? cJSON_GetArrayItem(ips, 0) : NULL;
	const char *ip = cJSON_IsString(first) && first->valuestring[0] ? first->valuestring : NULL;
	if (!ip)
		ip = nestr(o, "spec.clusterIP");
	return cJSON_CreateString(ip ? ip : "<none>");
}

static cJSON *c_svc_external_ip(const struct col *c, const cJSON *o, time_t now)
{
	const char *t = svc_type(o);
	struct sbuf b = {0};
	if (strcmp(t, "ClusterIP") == 0 || strcmp(t, "NodePort") == 0) {
		join_strings(arr(o, "spec.externalIPs"), &b, ",");
		return sb_cell(&b, "<none>");
	}
	if (strcmp(t, "LoadBalancer") == 0) {
		lb_ingress(o, &b);
		join_strings(arr(o, "spec.externalIPs"), &b, ",");
		return sb_cell(&b, "<pending>");
	}
	if (strcmp(t, "ExternalName") == 0) {
		const char *en = str(o, "spec.externalName");
		return cJSON_CreateString(en ? en : "");
	}
	return cJSON_CreateString("<unknown>");
}

static cJSON *c_svc_ports(const struct col *c, const cJSON *o, time_t now)
{
	struct sbuf b = {0};
	const cJSON *p;
	cJSON_ArrayForEach(p, arr(o, "spec.ports")) {
		char buf[96];
		const char *proto = nestr(p, "protocol");
		long long node = num(p, "nodePort", 0);
		if (node > 0)
			snprintf(buf, sizeof buf, "%lld:%lld/%s", num(p, "port", 0), node, proto ? proto : "TCP");
		else
			snprintf(buf, sizeof buf, "%lld/%s", num(p, "port", 0), proto ? proto : "TCP");
		sb_sep(&b, ",");
		sb_puts(&b, buf);
	}
	return sb_cell(&b, "<none>");
}

/* ---- Endpoints ------------------------------------------------------ */

static void endpoint_add(struct sbuf *b, int *listed, bool *more, const char *ip, long long port, bool with_port)
{
	char buf[128];
	if (*listed == 3) {
		*more = true;
		return;
	}
	if (!with_port)
		snprintf(buf, sizeof buf, "%s", ip);
	else if (strchr(ip, ':'))
		snprintf(buf, sizeof buf, "[%s]:%lld", ip, port);
	else
		snprintf(buf, sizeof buf, "%s:%lld", ip, port);
	sb_sep(b, ",");
	sb_puts(b, buf);
	(*listed)++;
}

static cJSON *c_endpoints(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *subsets = arr(o, "subsets");
	const cJSON *ss, *a, *p;
	struct sbuf b = {0};
	int listed = 0, count = 0;
	bool more = false;
	if (!subsets || cJSON_GetArraySize(subsets) == 0)
		return cJSON_CreateString("<none>");
	cJSON_ArrayForEach(ss, subsets) {
		const cJSON *addrs = arr(ss, "addresses");
		const cJSON *ports = arr(ss, "ports");
		if (!ports || cJSON_GetArraySize(ports) == 0) {
			cJSON_ArrayForEach(a, addrs) {
				const char *ip = str(a, "ip");
				count++;
				endpoint_add(&b, &listed, &more, ip ? ip : "", 0, false);
			}
			continue;
		}
		cJSON_ArrayForEach(p, ports) {
			cJSON_ArrayForEach(a, addrs) {
				const char *ip = str(a, "ip");
				count++;
				endpoint_add(&b, &listed, &more, ip ? ip : "", num(p, "port", 0), true);
			}
		}
	}
	if (more) {
		char tail[48];
		snprintf(tail, sizeof tail, " + %d more...", count - 3);
		sb_puts(&b, tail);
	}
	return sb_cell(&b, "");
}

/* EndpointSlice (kubectl's printer): the port numbers, "<unset>" for a
 * port without a number, "<unset>" for none. */
static cJSON *c_slice_ports(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *ports = arr(o, "ports"), *p;
	struct sbuf b = {0};
	if (!ports || cJSON_GetArraySize(ports) == 0)
		return cJSON_CreateString("<unset>");
	cJSON_ArrayForEach(p, ports) {
		char buf[32];
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "port");
		if (cJSON_IsNumber(n))
			snprintf(buf, sizeof buf, "%d", n->valueint);
		else
			snprintf(buf, sizeof buf, "<unset>");
		sb_sep(&b, ",");
		sb_puts(&b, buf);
	}
	return sb_cell(&b, "<unset>");
}

/* EndpointSlice: the first three addresses, then " + N more...". */
static cJSON *c_slice_endpoints(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *e, *a;
	struct sbuf b = {0};
	int listed = 0, count = 0;
	bool more = false;
	cJSON_ArrayForEach(e, arr(o, "endpoints")) {
		cJSON_ArrayForEach(a, arr(e, "addresses")) {
			count++;
			if (cJSON_IsString(a))
				endpoint_add(&b, &listed, &more, a->valuestring, 0, false);
		}
	}
	if (more) {
		char tail[48];
		snprintf(tail, sizeof tail, " + %d more...", count - 3);
		sb_puts(&b, tail);
	}
	return sb_cell(&b, "<unset>");
}

/* A string array at path joined with ",". */
static cJSON *c_strs(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *a;
	struct sbuf b = {0};
	cJSON_ArrayForEach(a, json_get(o, c->path)) {
		if (!cJSON_IsString(a))
			continue;
		sb_sep(&b, ",");
		sb_puts(&b, a->valuestring);
	}
	return sb_cell(&b, c->arg ? c->arg : "");
}

/* ---- Event ---------------------------------------------------------- */

/* First Seen: firstTimestamp, else eventTime, else creation. */
static cJSON *event_first(const cJSON *o, time_t now)
{
	time_t t;
	if (ts_parse(str(o, "firstTimestamp"), &t) || ts_parse(str(o, "eventTime"), &t) ||
	    ts_parse(str(o, "metadata.creationTimestamp"), &t))
		return human_since(t, now);
	return cJSON_CreateString("<unknown>");
}

static cJSON *c_ev_last(const struct col *c, const cJSON *o, time_t now)
{
	time_t t;
	if (cJSON_IsObject(json_get(o, "series")) && ts_parse(str(o, "series.lastObservedTime"), &t))
		return human_since(t, now);
	if (ts_parse(str(o, "lastTimestamp"), &t))
		return human_since(t, now);
	return event_first(o, now);
}

static cJSON *c_ev_first(const struct col *c, const cJSON *o, time_t now)
{
	return event_first(o, now);
}

static cJSON *c_ev_object(const struct col *c, const cJSON *o, time_t now)
{
	const char *kind = str(o, "involvedObject.kind"), *name = nestr(o, "involvedObject.name");
	struct sbuf b = {0};
	for (const char *p = kind ? kind : ""; *p; p++) {
		char ch = (char)tolower((unsigned char)*p);
		sb_putn(&b, &ch, 1);
	}
	if (name) {
		sb_puts(&b, "/");
		sb_puts(&b, name);
	}
	return sb_cell(&b, NULL);
}

static cJSON *c_ev_source(const struct col *c, const cJSON *o, time_t now)
{
	const char *comp = nestr(o, "source.component"), *host = nestr(o, "source.host");
	struct sbuf b = {0};
	if (!comp)
		comp = nestr(o, "reportingComponent");
	if (!host)
		host = nestr(o, "reportingInstance");
	sb_puts(&b, comp ? comp : "");
	if (host) {
		sb_puts(&b, ", ");
		sb_puts(&b, host);
	}
	return sb_cell(&b, NULL);
}

static cJSON *c_ev_message(const struct col *c, const cJSON *o, time_t now)
{
	const char *m = str(o, "message");
	if (!m)
		return cJSON_CreateString("");
	while (isspace((unsigned char)*m))
		m++;
	size_t n = strlen(m);
	while (n && isspace((unsigned char)m[n - 1]))
		n--;
	struct sbuf b = {0};
	sb_putn(&b, m, n);
	return sb_cell(&b, NULL);
}

static cJSON *c_ev_count(const struct col *c, const cJSON *o, time_t now)
{
	long long n = num(o, "count", 0);
	if (cJSON_IsObject(json_get(o, "series")))
		n = num(o, "series.count", 0);
	else if (n == 0)
		n = 1; /* singleton events carry no count */
	return cJSON_CreateNumber((double)n);
}

/* ---- Node ----------------------------------------------------------- */

static cJSON *c_node_status(const struct col *c, const cJSON *o, time_t now)
{
	const char *ready = condition_status(o, "Ready");
	struct sbuf b = {0};
	if (ready)
		sb_puts(&b, strcmp(ready, "True") == 0 ? "Ready" : "NotReady");
	else
		sb_puts(&b, "Unknown");
	if (cJSON_IsTrue(json_get(o, "spec.unschedulable")))
		sb_puts(&b, ",SchedulingDisabled");
	return sb_cell(&b, NULL);
}

/* Roles from node-role.kubernetes.io/<role> and kubernetes.io/role labels. */
static cJSON *c_node_roles(const struct col *c, const cJSON *o, time_t now)
{
	static const char prefix[] = "node-role.kubernetes.io/";
	const cJSON *labels = json_get(o, "metadata.labels");
	const cJSON *l;
	int n = cJSON_IsObject(labels) ? cJSON_GetArraySize(labels) : 0, i = 0;
	const char **roles = calloc((size_t)n + 1, sizeof *roles);
	struct sbuf b = {0};
	if (!roles)
		return cJSON_CreateString("<none>");
	if (n) {
		cJSON_ArrayForEach(l, labels) {
			if (!l->string || i >= n)
				continue;
			if (strncmp(l->string, prefix, sizeof prefix - 1) == 0 && l->string[sizeof prefix - 1])
				roles[i++] = l->string + sizeof prefix - 1;
			else if (strcmp(l->string, "kubernetes.io/role") == 0 && cJSON_IsString(l) && l->valuestring[0])
				roles[i++] = l->valuestring;
		}
	}
	sort_strs(roles, (size_t)i);
	for (int j = 0; j < i; j++) {
		if (j && strcmp(roles[j], roles[j - 1]) == 0)
			continue;
		sb_sep(&b, ",");
		sb_puts(&b, roles[j]);
	}
	free(roles);
	return sb_cell(&b, "<none>");
}

/* First status.addresses entry of type arg. */
static cJSON *c_node_addr(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, arr(o, "status.addresses")) {
		const char *t = str(a, "type"), *v = nestr(a, "address");
		if (t && v && strcmp(t, c->arg) == 0)
			return cJSON_CreateString(v);
	}
	return cJSON_CreateString("<none>");
}

/* ---- Job / CronJob -------------------------------------------------- */

static cJSON *c_job_status(const struct col *c, const cJSON *o, time_t now)
{
	const char *s = "Running";
	const cJSON *del = json_get(o, "metadata.deletionTimestamp");
	if (condition_true(o, "Complete"))
		s = "Complete";
	else if (condition_true(o, "Failed"))
		s = "Failed";
	else if (del && !cJSON_IsNull(del))
		s = "Terminating";
	else if (condition_true(o, "Suspended"))
		s = "Suspended";
	else if (condition_true(o, "FailureTarget"))
		s = "FailureTarget";
	else if (condition_true(o, "SuccessCriteriaMet"))
		s = "SuccessCriteriaMet";
	return cJSON_CreateString(s);
}

static cJSON *c_job_completions(const struct col *c, const cJSON *o, time_t now)
{
	char buf[96];
	long long ok = num(o, "status.succeeded", 0);
	long long par = num(o, "spec.parallelism", 0);
	if (cJSON_IsNumber(json_get(o, "spec.completions")))
		snprintf(buf, sizeof buf, "%lld/%lld", ok, num(o, "spec.completions", 0));
	else if (par > 1)
		snprintf(buf, sizeof buf, "%lld/1 of %lld", ok, par);
	else
		snprintf(buf, sizeof buf, "%lld/1", ok);
	return cJSON_CreateString(buf);
}

static cJSON *c_job_duration(const struct col *c, const cJSON *o, time_t now)
{
	time_t start, end;
	char buf[32];
	if (!ts_parse(str(o, "status.startTime"), &start))
		return cJSON_CreateString("");
	if (!ts_parse(str(o, "status.completionTime"), &end))
		end = now;
	return cJSON_CreateString(time_human_duration((long long)end - (long long)start, buf, sizeof buf));
}

/* printBoolPtr: "True"/"False", "<unset>" when absent. */
static cJSON *c_bool(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *b = json_get(o, c->path);
	if (!cJSON_IsBool(b))
		return cJSON_CreateString("<unset>");
	return cJSON_CreateString(cJSON_IsTrue(b) ? "True" : "False");
}

/* ---- Ingress -------------------------------------------------------- */

static cJSON *c_ing_hosts(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *r;
	const cJSON *rules = arr(o, "spec.rules");
	struct sbuf b = {0};
	int listed = 0, total = 0;
	bool more = false;
	cJSON_ArrayForEach(r, rules) {
		const char *h = nestr(r, "host");
		total++;
		if (listed == 3)
			more = true;
		if (!more && h) {
			sb_sep(&b, ",");
			sb_puts(&b, h);
			listed++;
		}
	}
	if (!listed)
		return sb_cell(&b, "*");
	if (more) {
		char tail[48];
		snprintf(tail, sizeof tail, " + %d more...", total - 3);
		sb_puts(&b, tail);
	}
	return sb_cell(&b, NULL);
}

static cJSON *c_ing_address(const struct col *c, const cJSON *o, time_t now)
{
	struct sbuf b = {0};
	lb_ingress(o, &b);
	return sb_cell(&b, NULL);
}

static cJSON *c_ing_ports(const struct col *c, const cJSON *o, time_t now)
{
	return cJSON_CreateString(arr_len(o, "spec.tls") ? "80, 443" : "80");
}

/* ---- Karmada -------------------------------------------------------- */

static cJSON *c_cluster_zones(const struct col *c, const cJSON *o, time_t now)
{
	struct sbuf b = {0};
	join_strings(arr(o, "spec.zones"), &b, ",");
	if (!b.len && nestr(o, "spec.zone"))
		sb_puts(&b, str(o, "spec.zone"));
	return sb_cell(&b, "<none>");
}

static cJSON *c_work_kind(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *m = arr(o, "spec.workload.manifests");
	const char *k = m ? str(cJSON_GetArrayItem(m, 0), "kind") : NULL;
	return cJSON_CreateString(k ? k : "");
}

/* ---- Atoll's Mesh ---------------------------------------------------- */

static cJSON *c_mesh_clusters(const struct col *c, const cJSON *o, time_t now)
{
	return cJSON_CreateNumber((double)arr_len(o, "status.clusters"));
}

static cJSON *c_mesh_reason(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *cd;
	cJSON_ArrayForEach(cd, arr(o, "status.conditions")) {
		const char *t = str(cd, "type"), *st = str(cd, "status");
		if (t && strcmp(t, "Ready") == 0 && st && strcmp(st, "True") != 0 && nestr(cd, "reason"))
			return cJSON_CreateString(str(cd, "reason"));
	}
	return cJSON_CreateString("<none>");
}

/* ---- layouts -------------------------------------------------------- */

#define D_NAME "Name must be unique within a namespace."
#define D_AGE "CreationTimestamp is a timestamp representing the server time when this object was created."
#define COL_NAME {"Name", "string", 0, c_name, NULL, NULL, D_NAME}
#define COL_AGE {"Age", "string", 0, c_age, NULL, NULL, D_AGE}
#define COL_END {NULL, NULL, 0, NULL, NULL, NULL, NULL}
#define WIDE_POD(spec, sel) \
	{"Containers", "string", 1, c_containers, spec, "name", "Names of each container in the template."}, \
	{"Images", "string", 1, c_containers, spec, "image", "Images referenced by each container in the template."}, \
	{"Selector", "string", 1, c_selector, sel, NULL, "Label selector for pods."}

static const struct col cols_default[] = {COL_NAME, COL_AGE, COL_END};

static const struct col cols_namespace[] = {
	COL_NAME,
	{"Status", "string", 0, c_str, "status.phase", "Active", "The status of the namespace"},
	COL_AGE, COL_END};

static const struct col cols_deployment[] = {
	COL_NAME,
	{"Ready", "string", 0, c_ratio, "status.readyReplicas", "spec.replicas", "Number of the pod with ready state"},
	{"Up-to-date", "integer", 0, c_int, "status.updatedReplicas", NULL, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."},
	{"Available", "integer", 0, c_int, "status.availableReplicas", NULL, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."},
	COL_AGE,
	WIDE_POD("spec.template.spec", "spec.selector"),
	COL_END};

static const struct col cols_statefulset[] = {
	COL_NAME,
	{"Ready", "string", 0, c_ratio, "status.readyReplicas", "spec.replicas", "Number of the pod with ready state"},
	COL_AGE,
	{"Containers", "string", 1, c_containers, "spec.template.spec", "name", "Names of each container in the template."},
	{"Images", "string", 1, c_containers, "spec.template.spec", "image", "Images referenced by each container in the template."},
	COL_END};

static const struct col cols_daemonset[] = {
	COL_NAME,
	{"Desired", "integer", 0, c_int, "status.desiredNumberScheduled", NULL, "The total number of nodes that should be running the daemon pod."},
	{"Current", "integer", 0, c_int, "status.currentNumberScheduled", NULL, "The number of nodes that are running at least 1 daemon pod."},
	{"Ready", "integer", 0, c_int, "status.numberReady", NULL, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."},
	{"Up-to-date", "integer", 0, c_int, "status.updatedNumberScheduled", NULL, "The total number of nodes that are running updated daemon pod."},
	{"Available", "integer", 0, c_int, "status.numberAvailable", NULL, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available."},
	{"Node Selector", "string", 0, c_labels, "spec.template.spec.nodeSelector", NULL, "NodeSelector is a selector which must be true for the pod to fit on a node."},
	COL_AGE,
	WIDE_POD("spec.template.spec", "spec.selector"),
	COL_END};

static const struct col cols_replicaset[] = {
	COL_NAME,
	{"Desired", "integer", 0, c_int, "spec.replicas", NULL, "Replicas is the number of desired replicas."},
	{"Current", "integer", 0, c_int, "status.replicas", NULL, "Replicas is the most recently observed number of replicas."},
	{"Ready", "integer", 0, c_int, "status.readyReplicas", NULL, "The number of ready replicas for this replica set."},
	COL_AGE,
	WIDE_POD("spec.template.spec", "spec.selector"),
	COL_END};

static const struct col cols_service[] = {
	COL_NAME,
	{"Type", "string", 0, c_str, "spec.type", "ClusterIP", "The type of service."},
	{"Cluster-IP", "string", 0, c_svc_cluster_ip, NULL, NULL, "The IP address of the service."},
	{"External-IP", "string", 0, c_svc_external_ip, NULL, NULL, "The external IP address of the service."},
	{"Port(s)", "string", 0, c_svc_ports, NULL, NULL, "The ports exposed by the service."},
	COL_AGE,
	{"Selector", "string", 1, c_labels, "spec.selector", NULL, "Route service traffic to pods with label keys and values matching this selector."},
	COL_END};

static const struct col cols_configmap[] = {
	COL_NAME,
	{"Data", "integer", 0, c_count, "data,binaryData", NULL, "Number of keys in the config map."},
	COL_AGE, COL_END};

static const struct col cols_secret[] = {
	COL_NAME,
	{"Type", "string", 0, c_str, "type", "Opaque", "The type of the secret."},
	{"Data", "integer", 0, c_count, "data", NULL, "Number of keys in the secret."},
	COL_AGE, COL_END};

static const struct col cols_serviceaccount[] = {
	COL_NAME,
	{"Secrets", "integer", 0, c_count, "secrets", NULL, "The number of secrets in the service account."},
	COL_AGE, COL_END};

/* Upstream interleaves wide columns here; kubectl prints in this order. */
static const struct col cols_event[] = {
	{"Last Seen", "string", 0, c_ev_last, NULL, NULL, "The time at which the most recent occurrence of this event was recorded."},
	{"Type", "string", 0, c_str, "type", NULL, "Type of this event (Normal, Warning)."},
	{"Reason", "string", 0, c_str, "reason", NULL, "A short, machine understandable string that gives the reason for the transition into the object's current status."},
	{"Object", "string", 0, c_ev_object, NULL, NULL, "The object that this event is about."},
	{"Subobject", "string", 1, c_str, "involvedObject.fieldPath", NULL, "The field of the object that this event is about."},
	{"Source", "string", 1, c_ev_source, NULL, NULL, "The component reporting this event."},
	{"Message", "string", 0, c_ev_message, NULL, NULL, "A human-readable description of the status of this operation."},
	{"First Seen", "string", 1, c_ev_first, NULL, NULL, "The time at which the event was first recorded."},
	{"Count", "string", 1, c_ev_count, NULL, NULL, "The number of times this event has occurred."},
	{"Name", "string", 1, c_name, NULL, NULL, D_NAME},
	COL_END};

static const struct col cols_pod[] = {
	COL_NAME,
	{"Ready", "string", 0, c_pod_ready, NULL, NULL, "The aggregate readiness state of this pod for accepting traffic."},
	{"Status", "string", 0, c_pod_status, NULL, NULL, "The aggregate status of the containers in this pod."},
	{"Restarts", "string", 0, c_pod_restarts, NULL, NULL, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
	COL_AGE,
	{"IP", "string", 1, c_pod_ip, NULL, NULL, "IP address allocated to the pod."},
	{"Node", "string", 1, c_str, "spec.nodeName", "<none>", "Name of the node where the pod runs."},
	{"Nominated Node", "string", 1, c_str, "status.nominatedNodeName", "<none>", "Name of the node nominated by the scheduler."},
	{"Readiness Gates", "string", 1, c_pod_gates, NULL, NULL, "Pod readiness gates."},
	COL_END};

static const struct col cols_endpoints[] = {
	COL_NAME,
	{"Endpoints", "string", 0, c_endpoints, NULL, NULL, "Endpoints of the service."},
	COL_AGE, COL_END};

static const struct col cols_job[] = {
	COL_NAME,
	{"Status", "string", 0, c_job_status, NULL, NULL, "Status of the job."},
	{"Completions", "string", 0, c_job_completions, NULL, NULL, "The completed job pods and the desired number of completions."},
	{"Duration", "string", 0, c_job_duration, NULL, NULL, "Time required to complete the job."},
	COL_AGE,
	WIDE_POD("spec.template.spec", "spec.selector"),
	COL_END};

static const struct col cols_cronjob[] = {
	COL_NAME,
	{"Schedule", "string", 0, c_str, "spec.schedule", NULL, "The schedule in Cron format."},
	{"Timezone", "string", 0, c_str, "spec.timeZone", "<none>", "The time zone for the schedule."},
	{"Suspend", "boolean", 0, c_bool, "spec.suspend", NULL, "Whether subsequent executions are suspended."},
	{"Active", "integer", 0, c_count, "status.active", NULL, "The number of currently running jobs."},
	{"Last Schedule", "string", 0, c_since, "status.lastScheduleTime", "<none>", "When the job was last successfully scheduled."},
	COL_AGE,
	WIDE_POD("spec.jobTemplate.spec.template.spec", "spec.jobTemplate.spec.selector"),
	COL_END};

static const struct col cols_ingress[] = {
	COL_NAME,
	{"Class", "string", 0, c_str, "spec.ingressClassName", "<none>", "The name of the IngressClass resource."},
	{"Hosts", "string", 0, c_ing_hosts, NULL, NULL, "Hosts that incoming requests are matched against."},
	{"Address", "string", 0, c_ing_address, NULL, NULL, "Address is a list containing ingress points for the load-balancer."},
	{"Ports", "string", 0, c_ing_ports, NULL, NULL, "Ports of TLS configurations that open."},
	COL_AGE, COL_END};

static const struct col cols_lease[] = {
	COL_NAME,
	{"Holder", "string", 0, c_str, "spec.holderIdentity", NULL, "The holder of the lease."},
	COL_AGE, COL_END};

static const struct col cols_node[] = {
	COL_NAME,
	{"Status", "string", 0, c_node_status, NULL, NULL, "The status of the node."},
	{"Roles", "string", 0, c_node_roles, NULL, NULL, "The roles of the node."},
	COL_AGE,
	{"Version", "string", 0, c_str, "status.nodeInfo.kubeletVersion", NULL, "Kubelet Version reported by the node."},
	{"Internal-IP", "string", 1, c_node_addr, NULL, "InternalIP", "List of addresses reachable to the node."},
	{"External-IP", "string", 1, c_node_addr, NULL, "ExternalIP", "List of addresses reachable to the node."},
	{"OS-Image", "string", 1, c_str, "status.nodeInfo.osImage", "<unknown>", "OS Image reported by the node."},
	{"Kernel-Version", "string", 1, c_str, "status.nodeInfo.kernelVersion", "<unknown>", "Kernel Version reported by the node."},
	{"Container-Runtime", "string", 1, c_str, "status.nodeInfo.containerRuntimeVersion", "<unknown>", "Container Runtime Version reported by the node."},
	COL_END};

static const struct col cols_crd[] = {
	COL_NAME,
	{"Created At", "date", 0, c_created, NULL, NULL, D_AGE},
	COL_END};

/* karmada-aggregated-apiserver's printer: wide columns after Age. */
static const struct col cols_cluster[] = {
	COL_NAME,
	{"Version", "string", 0, c_str, "status.kubernetesVersion", NULL, "KubernetesVersion represents version of the member cluster."},
	{"Mode", "string", 0, c_str, "spec.syncMode", NULL, "SyncMode describes how a cluster syncs resources from karmada control plane."},
	{"Ready", "string", 0, c_cond, "Ready", "Unknown", "The aggregate readiness state of this cluster for accepting workloads."},
	COL_AGE,
	{"Zones", "string", 1, c_cluster_zones, NULL, NULL, "Zones represents the failure zones of the member cluster."},
	{"Region", "string", 1, c_str, "spec.region", NULL, "Region represents the region of the member cluster locate in."},
	{"Provider", "string", 1, c_str, "spec.provider", NULL, "Provider represents the cloud provider name of the member cluster."},
	{"API-Endpoint", "string", 1, c_str, "spec.apiEndpoint", NULL, "The API endpoint of the member cluster."},
	{"Proxy-URL", "string", 1, c_str, "spec.proxyURL", "<none>", "ProxyURL is the proxy URL for the cluster."},
	COL_END};

static const struct col cols_mesh[] = {
	COL_NAME,
	{"Mesh-ID", "string", 0, c_str, "spec.meshID", NULL, "The Istio mesh ID (global.meshID)."},
	{"Clusters", "integer", 0, c_mesh_clusters, NULL, NULL, "Clusters of the mesh."},
	{"Ready", "string", 0, c_cond, "Ready", "Unknown", "Whether every cluster holds its certificates and mesh wiring."},
	{"Reason", "string", 0, c_mesh_reason, NULL, NULL, "Why the mesh is not ready."},
	COL_AGE,
	{"Trust-Domain", "string", 1, c_str, "spec.trustDomain", "cluster.local", "The mesh's trust domain."},
	{"Istio", "string", 1, c_str, "spec.istioVersion", NULL, "The Istio version the values are for."},
	COL_END};

/* Karmada CRD printer columns (kubebuilder printcolumn markers). */
static const struct col cols_propagationpolicy[] = {
	COL_NAME,
	{"Conflict-Resolution", "string", 0, c_str, "spec.conflictResolution", "Abort", "ConflictResolution declares how potential conflict should be handled."},
	{"Priority", "integer", 0, c_int, "spec.priority", NULL, "Priority indicates the importance of a policy."},
	COL_AGE, COL_END};

static const struct col cols_work[] = {
	COL_NAME,
	{"Workload-Kind", "string", 0, c_work_kind, NULL, NULL, "Kind of the first manifest in the workload."},
	{"Applied", "string", 0, c_cond, "Applied", NULL, "Status of the Applied condition."},
	COL_AGE, COL_END};

static const struct col cols_binding[] = {
	COL_NAME,
	{"Scheduled", "string", 0, c_cond, "Scheduled", NULL, "Status of the Scheduled condition."},
	{"FullyApplied", "string", 0, c_cond, "FullyApplied", NULL, "Status of the FullyApplied condition."},
	COL_AGE, COL_END};

/* kube's printers.go: priorityClassColumnDefinitions. */
static cJSON *c_bool_value(const struct col *c, const cJSON *o, time_t now)
{
	return cJSON_CreateBool(cJSON_IsTrue(json_get(o, c->path)));
}

static const struct col cols_priorityclass[] = {
	COL_NAME,
	{"Value", "integer", 0, c_int, "value", NULL, "The value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec."},
	{"Global-Default", "boolean", 0, c_bool_value, "globalDefault", NULL, "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class."},
	COL_AGE,
	{"PreemptionPolicy", "string", 0, c_str, "preemptionPolicy", NULL, "preemptionPolicy is the Policy for preempting pods with lower priority."},
	COL_END};

static const struct col cols_endpointslice[] = {
	COL_NAME,
	{"AddressType", "string", 0, c_str, "addressType", NULL, "The address type of the endpoint slice."},
	{"Ports", "string", 0, c_slice_ports, NULL, NULL, "The ports of the endpoint slice."},
	{"Endpoints", "string", 0, c_slice_endpoints, NULL, NULL, "The addresses of the endpoints."},
	COL_AGE, COL_END};

/* The MCS API's ServiceImport CRD's printer columns. */
static const struct col cols_serviceimport[] = {
	COL_NAME,
	{"Type", "string", 0, c_str, "spec.type", NULL, "The type of this service import (ClusterSetIP or Headless)."},
	{"IP", "string", 0, c_strs, "spec.ips", NULL, "The VIP(s) of the imported service."},
	COL_AGE, COL_END};

/* kube's printers.go: printPodDisruptionBudget (an IntOrString or "N/A"). */
static cJSON *c_intstr(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *v = json_get(o, c->path);
	char buf[32];
	if (cJSON_IsString(v))
		return cJSON_CreateString(v->valuestring);
	if (cJSON_IsNumber(v)) {
		snprintf(buf, sizeof buf, "%lld", as_ll(v, 0));
		return cJSON_CreateString(buf);
	}
	return cJSON_CreateString(c->arg ? c->arg : "");
}

static const struct col cols_pdb[] = {
	COL_NAME,
	{"Min Available", "string", 0, c_intstr, "spec.minAvailable", "N/A", "The minimum number of pods that must be available."},
	{"Max Unavailable", "string", 0, c_intstr, "spec.maxUnavailable", "N/A", "The maximum number of pods that may be unavailable."},
	{"Allowed Disruptions", "integer", 0, c_int, "status.disruptionsAllowed", NULL, "Calculated number of pods that may be disrupted at this time."},
	COL_AGE, COL_END};

/* printResourceQuota: "resource: used/hard, " for spec.hard's resources in
 * name order; those named limits.* go to the Limit column (arg "limits"),
 * the rest to Request. A quantity not in the status prints as 0. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static cJSON *c_quota(const struct col *c, const cJSON *o, time_t now)
{
	const cJSON *hard = json_get(o, "spec.hard"), *r;
	const cJSON *shard = json_get(o, "status.hard"), *sused = json_get(o, "status.used");
	int n = cJSON_IsObject(hard) ? cJSON_GetArraySize(hard) : 0, k = 0;
	const char **names = n > 0 ? calloc((size_t)n, sizeof *names) : NULL;
	struct sbuf b = {0};
	if (!names)
		return sb_cell(&b, NULL);
	cJSON_ArrayForEach(r, hard)
		if (r->string && k < n)
			names[k++] = r->string;
	qsort(names, (size_t)k, sizeof *names, cmp_str);
	for (int i = 0; i < k; i++) {
		bool lim = strncmp(names[i], "limits.", 7) == 0;
		if (lim != (c->arg != NULL))
			continue;
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(sused, names[i]);
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(shard, names[i]);
		sb_sep(&b, ", ");
		sb_puts(&b, names[i]);
		sb_puts(&b, ": ");
		sb_puts(&b, cJSON_IsString(u) ? u->valuestring : "0");
		sb_puts(&b, "/");
		sb_puts(&b, cJSON_IsString(h) ? h->valuestring : "0");
	}
	free(names);
	return sb_cell(&b, NULL);
}

static const struct col cols_resourcequota[] = {
	COL_NAME, COL_AGE,
	{"Request", "string", 0, c_quota, NULL, NULL, "Request represents a minimum amount of cpu/memory that a container may consume."},
	{"Limit", "string", 0, c_quota, NULL, "limits", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."},
	COL_END};

static const struct col *const layouts[] = {
	[TL_DEFAULT] = cols_default,
	[TL_NAMESPACE] = cols_namespace,
	[TL_DEPLOYMENT] = cols_deployment,
	[TL_STATEFULSET] = cols_statefulset,
	[TL_DAEMONSET] = cols_daemonset,
	[TL_SERVICE] = cols_service,
	[TL_CONFIGMAP] = cols_configmap,
	[TL_SECRET] = cols_secret,
	[TL_SERVICEACCOUNT] = cols_serviceaccount,
	[TL_EVENT] = cols_event,
	[TL_POD] = cols_pod,
	[TL_ENDPOINTS] = cols_endpoints,
	[TL_JOB] = cols_job,
	[TL_CRONJOB] = cols_cronjob,
	[TL_INGRESS] = cols_ingress,
	[TL_LEASE] = cols_lease,
	[TL_NODE] = cols_node,
	[TL_CLUSTER] = cols_cluster,
	[TL_PROPAGATIONPOLICY] = cols_propagationpolicy,
	[TL_OVERRIDEPOLICY] = cols_default,
	[TL_WORK] = cols_work,
	[TL_BINDING] = cols_binding,
	[TL_CRD] = cols_crd,
	[TL_REPLICASET] = cols_replicaset,
	[TL_PRIORITYCLASS] = cols_priorityclass,
	[TL_MESH] = cols_mesh,
	[TL_ENDPOINTSLICE] = cols_endpointslice,
	[TL_SERVICEIMPORT] = cols_serviceimport,
	[TL_PDB] = cols_pdb,
	[TL_RESOURCEQUOTA] = cols_resourcequota,
};

static const struct col *layout_of(const struct kind_info *k)
{
	unsigned t = k ? (unsigned)k->table : 0;
	if (t >= sizeof layouts / sizeof layouts[0] || !layouts[t])
		return cols_default;
	return layouts[t];
}

/* ---- public API ----------------------------------------------------- */

cJSON *table_columns(const struct kind_info *k)
{
	cJSON *out = cJSON_CreateArray();
	for (const struct col *c = layout_of(k); out && c->name; c++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "name", c->name);
		cJSON_AddStringToObject(d, "type", c->type);
		cJSON_AddStringToObject(d, "format", c->cell == c_name ? "name" : "");
		cJSON_AddStringToObject(d, "description", c->desc ? c->desc : "");
		cJSON_AddNumberToObject(d, "priority", c->priority);
		cJSON_AddItemToArray(out, d);
	}
	return out;
}

static void copy_key(cJSON *dst, const cJSON *src, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
	if (v && !cJSON_IsNull(v))
		cJSON_AddItemToObject(dst, key, json_dup(v));
}

static cJSON *partial_metadata(const cJSON *obj)
{
	static const char *const keys[] = {
		"name", "namespace", "uid", "resourceVersion", "generation",
		"creationTimestamp", "deletionTimestamp", "labels",
	};
	const cJSON *meta = json_get(obj, "metadata");
	cJSON *pom = cJSON_CreateObject();
	cJSON_AddStringToObject(pom, "kind", "PartialObjectMetadata");
	cJSON_AddStringToObject(pom, "apiVersion", "meta.k8s.io/v1");
	cJSON *m = cJSON_AddObjectToObject(pom, "metadata");
	if (!cJSON_IsObject(meta) || !m)
		return pom;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		copy_key(m, meta, keys[i]);
	/* The last-applied annotation is large and only noise in a listing. */
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	if (cJSON_IsObject(ann)) {
		cJSON *a = cJSON_CreateObject();
		const cJSON *e;
		cJSON_ArrayForEach(e, ann) {
			if (e->string && strcmp(e->string, LAST_APPLIED) != 0)
				cJSON_AddItemToObject(a, e->string, json_dup(e));
		}
		if (a && a->child)
			cJSON_AddItemToObject(m, "annotations", a);
		else
			cJSON_Delete(a);
	}
	copy_key(m, meta, "finalizers");
	copy_key(m, meta, "ownerReferences");
	return pom;
}

cJSON *table_row(const struct kind_info *k, const cJSON *obj, time_t now)
{
	cJSON *row = cJSON_CreateObject();
	cJSON *cells = cJSON_AddArrayToObject(row, "cells");
	for (const struct col *c = layout_of(k); cells && c->name; c++) {
		cJSON *v = c->cell(c, obj, now);
		cJSON_AddItemToArray(cells, v ? v : cJSON_CreateNull());
	}
	cJSON_AddItemToObject(row, "object", partial_metadata(obj));
	return row;
}

cJSON *table_build(const struct kind_info *k, const cJSON *items,
		   const char *resource_version, time_t now)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "kind", "Table");
	cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
	cJSON *meta = cJSON_AddObjectToObject(t, "metadata");
	if (resource_version)
		cJSON_AddStringToObject(meta, "resourceVersion", resource_version);
	cJSON_AddItemToObject(t, "columnDefinitions", table_columns(k));
	cJSON *rows = cJSON_AddArrayToObject(t, "rows");
	const cJSON *it;
	if (cJSON_IsArray(items) && rows) {
		cJSON_ArrayForEach(it, items)
			cJSON_AddItemToArray(rows, table_row(k, it, now));
	}
	return t;
}
