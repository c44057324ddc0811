#include "table.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "jsonutil.h"
#include "schemacols.h"
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

/* ---- columns from the schema table ----------------------------------- */

#define D_NAME "Name must be unique within a namespace."
#define D_AGE "CreationTimestamp is a timestamp representing the server time when this object was created."

/* The value at a JSONPath: dotted steps from the object, a step may filter
 * a list by one field, as in ".status.conditions[?(@.type==\"Ready\")].status"
 * (the first item that matches). NULL when absent or unparseable. */
static const cJSON *jsonpath_get(const cJSON *o, const char *path)
{
	const char *p = path[0] == '.' ? path + 1 : path;
	while (o && *p) {
		char key[128], field[64], want[128];
		size_t n = strcspn(p, ".[");
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
		p += n;
		if (*p == '[') {
			const char *eq = strstr(p, "==\""), *end = strstr(p, "\")]");
			size_t fl = eq ? (size_t)(eq - (p + 5)) : 0, wl = end && eq ? (size_t)(end - (eq + 3)) : 0;
			if (strncmp(p, "[?(@.", 5) != 0 || !eq || !end || end < eq || fl >= sizeof field || wl >= sizeof want)
				return NULL;
			memcpy(field, p + 5, fl);
			field[fl] = '\0';
			memcpy(want, eq + 3, wl);
			want[wl] = '\0';
			const cJSON *it, *hit = NULL, *list = cJSON_IsArray(o) ? o : NULL;
			cJSON_ArrayForEach(it, list) {
				const char *v = str(it, field);
				if (v && strcmp(v, want) == 0) {
					hit = it;
					break;
				}
			}
			o = hit;
			p = end + 3;
		}
		if (*p == '.')
			p++;
	}
	return o;
}

/* The one generic renderer, for JSONPath columns, by the column's type:
 * integer (0 when absent), number, boolean, date (a human age) or string:
 * a string, or the default when absent, not a string or empty (an empty
 * string that a list filter found stays: a condition's status); a path
 * ending in "[*]" joins the list's strings with ",". */
static cJSON *c_jsonpath(const struct col *c, const cJSON *o, time_t now)
{
	char path[256];
	size_t n = strlen(c->path);
	bool all = n >= 3 && strcmp(c->path + n - 3, "[*]") == 0;
	snprintf(path, sizeof path, "%.*s", (int)(all ? n - 3 : n), c->path);
	const cJSON *v = jsonpath_get(o, path);
	const char *dflt = c->arg ? c->arg : "";
	if (strcmp(c->type, "integer") == 0)
		return cJSON_CreateNumber((double)as_ll(v, 0));
	if (strcmp(c->type, "number") == 0)
		return cJSON_CreateNumber(cJSON_IsNumber(v) ? v->valuedouble : 0);
	if (strcmp(c->type, "boolean") == 0)
		return cJSON_CreateBool(cJSON_IsTrue(v));
	if (strcmp(c->type, "date") == 0) {
		time_t t;
		if (!cJSON_IsString(v) || !ts_parse(v->valuestring, &t))
			return cJSON_CreateString(c->arg ? c->arg : "<unknown>");
		return human_since(t, now);
	}
	if (all) {
		struct sbuf b = {0};
		const cJSON *e, *list = cJSON_IsArray(v) || cJSON_IsObject(v) ? v : NULL;
		cJSON_ArrayForEach(e, list) {
			if (cJSON_IsString(e)) {
				sb_sep(&b, ",");
				sb_puts(&b, e->valuestring);
			}
		}
		return sb_cell(&b, dflt);
	}
	bool keep_empty = strchr(path, '[') != NULL;
	return cJSON_CreateString(cJSON_IsString(v) && (v->valuestring[0] || keep_empty) ? v->valuestring : dflt);
}

/* The cell formatters a column's source may name. */
static const struct {
	const char *name;
	cell_fn fn;
} formatters[] = {
	{"name", c_name}, {"age", c_age}, {"ratio", c_ratio}, {"count", c_count}, {"labels", c_labels},
	{"selector", c_selector}, {"containers", c_containers}, {"since", c_since}, {"created", c_created},
	{"boolptr", c_bool}, {"intstr", c_intstr}, {"quota", c_quota},
	{"pod_ready", c_pod_ready}, {"pod_status", c_pod_status}, {"pod_restarts", c_pod_restarts},
	{"pod_ip", c_pod_ip}, {"pod_gates", c_pod_gates},
	{"svc_cluster_ip", c_svc_cluster_ip}, {"svc_external_ip", c_svc_external_ip}, {"svc_ports", c_svc_ports},
	{"endpoints", c_endpoints}, {"slice_ports", c_slice_ports}, {"slice_endpoints", c_slice_endpoints},
	{"ev_last", c_ev_last}, {"ev_first", c_ev_first}, {"ev_object", c_ev_object}, {"ev_source", c_ev_source},
	{"ev_message", c_ev_message}, {"ev_count", c_ev_count},
	{"node_status", c_node_status}, {"node_roles", c_node_roles}, {"node_addr", c_node_addr},
	{"job_status", c_job_status}, {"job_completions", c_job_completions}, {"job_duration", c_job_duration},
	{"ing_hosts", c_ing_hosts}, {"ing_address", c_ing_address}, {"ing_ports", c_ing_ports},
	{"cluster_zones", c_cluster_zones}, {"work_kind", c_work_kind},
	{"mesh_clusters", c_mesh_clusters}, {"mesh_reason", c_mesh_reason},
};

static struct col **built;
static int nbuilt;
static pthread_once_t built_once = PTHREAD_ONCE_INIT;

/* The table's columns with their cell functions, once. A source naming
 * no formatter is a mistake in columns.schema: stop loudly. */
static void build_layouts(void)
{
	nbuilt = sch_table_layouts_count;
	built = calloc((size_t)nbuilt, sizeof *built);
	if (!built)
		abort();
	for (int t = 0; t < nbuilt; t++) {
		const struct sch_column *sc = sch_table_layouts[t];
		int n = 0;
		while (sc && sc[n].name)
			n++;
		if (!sc)
			continue;
		struct col *cols = calloc((size_t)n + 1, sizeof *cols);
		if (!cols)
			abort();
		for (int i = 0; i < n; i++) {
			struct col *c = &cols[i];
			*c = (struct col){.name = sc[i].name, .type = sc[i].type, .priority = sc[i].priority,
					  .path = sc[i].path, .arg = sc[i].arg, .desc = sc[i].desc};
			if (sc[i].source[0] == '.') {
				c->cell = c_jsonpath;
				c->path = sc[i].source;
			}
			for (size_t f = 0; !c->cell && f < sizeof formatters / sizeof formatters[0]; f++)
				if (strcmp(formatters[f].name, sc[i].source) == 0)
					c->cell = formatters[f].fn;
			if (!c->cell) {
				fprintf(stderr, "columns.schema: column %s: no cell formatter %s\n", c->name, sc[i].source);
				abort();
			}
			if (!c->desc)
				c->desc = c->cell == c_name ? D_NAME : c->cell == c_age ? D_AGE : (const char *)NULL;
		}
		built[t] = cols;
	}
}

static const struct col *layout_of(const struct kind_info *k)
{
	pthread_once(&built_once, build_layouts);
	unsigned t = k ? (unsigned)k->table : 0;
	if (t >= (unsigned)nbuilt || !built[t])
		return built[TL_DEFAULT];
	return built[t];
}

/* A custom kind's column: an absent value is a null cell (kubectl prints
 * <none>), a string column of a non-string value its JSON. */
static cJSON *c_crd(const struct col *c, const cJSON *o, time_t now)
{
	char path[256];
	size_t n = strlen(c->path);
	bool all = n >= 3 && strcmp(c->path + n - 3, "[*]") == 0;
	snprintf(path, sizeof path, "%.*s", (int)(all ? n - 3 : n), c->path);
	const cJSON *v = jsonpath_get(o, path);
	if (!v || cJSON_IsNull(v))
		return cJSON_CreateNull();
	if (!all && strcmp(c->type, "string") == 0 && !cJSON_IsString(v)) {
		char *text = cJSON_PrintUnformatted(v);
		cJSON *cell = cJSON_CreateString(text ? text : "");
		free(text);
		return cell;
	}
	return c_jsonpath(c, o, now);
}

/* A custom kind with additionalPrinterColumns: NAME, then its columns
 * (no AGE unless it lists one), as the apiextensions server's table
 * convertor prints them. The columns point into the kind (it outlives the
 * request). Without columns, the default layout (NAME AGE). */
#define CRD_COLUMNS_MAX 32
static const struct col *crd_layout(const struct kind_info *k, struct col out[CRD_COLUMNS_MAX + 2])
{
	int n = 0, ncols;
	const struct kind_column *kcols = kinds_printer_columns(k, &ncols);
	if (!ncols)
		return layout_of(k);
	out[n++] = (struct col){.name = "Name", .type = "string", .cell = c_name, .desc = D_NAME};
	for (int i = 0; i < ncols && n <= CRD_COLUMNS_MAX; i++) {
		const struct kind_column *kc = &kcols[i];
		out[n++] = (struct col){.name = kc->name, .type = kc->type, .priority = kc->priority,
					.cell = c_crd, .path = kc->json_path, .arg = "<none>", .desc = kc->description};
	}
	out[n] = (struct col){0};
	return out;
}

/* ---- public API ----------------------------------------------------- */

cJSON *table_columns(const struct kind_info *k)
{
	cJSON *out = cJSON_CreateArray();
	struct col crd[CRD_COLUMNS_MAX + 2];
	const struct col *cols = k && k->dynamic ? crd_layout(k, crd) : layout_of(k);
	for (const struct col *c = cols; out && c->name; c++) {
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
	struct col crd[CRD_COLUMNS_MAX + 2];
	const struct col *cols = k && k->dynamic ? crd_layout(k, crd) : layout_of(k);
	for (const struct col *c = cols; cells && c->name; c++) {
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
