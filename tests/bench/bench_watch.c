/* bench_watch — watches one object on many member API servers (and,
 * optionally, every Work on the hub) and prints when each data version was
 * seen everywhere. One thread, libevent's evhttp client, 127.0.0.1 only.
 * Driven by tests/bench/bench_agents.py, which only writes and correlates:
 * one Python watch thread per member cannot keep up at 100 members.
 *
 *   bench_watch --members FILE --path PATH [--key K]
 *               [--hub-port P --hub-path PATH --object NAME] [--per-member]
 *
 *   FILE: "NAME PORT" lines (atoll-sim's --port-file with --cluster).
 *   PATH: the watch path on every member (without watch=true), e.g.
 *         /api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dbench
 *   K:    the key under .data whose value is the version (default "v").
 *   --hub-port/--hub-path: also watch the hub's Works (e.g.
 *         /apis/work.karmada.io/v1alpha1/works); a Work counts for version V
 *         when one of its manifests is named NAME (--object, default "bench")
 *         and carries data.K = V; "all Works written" = one per member
 *         (distinct Work namespaces = number of members).
 *
 * Output, one line per fact, flushed, times in seconds of CLOCK_MONOTONIC
 * (Python's time.perf_counter() on Linux):
 *   ready T                       every stream answered 200
 *   all V T_FIRST T_LAST          every member's watch has shown data.K = V
 *                                 (first and last member)
 *   works V T_FIRST T_LAST        the hub's watch has shown V in one Work per
 *                                 member (first and last)
 *   m NAME V T                    (--per-member) a member showed V first at T
 *   error TEXT                    a stream failed (it is reopened after 0.2 s)
 * Ends on EOF or "q" on stdin, or SIGTERM. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define MAX_MEMBERS 4096
#define BITS_WORDS (MAX_MEMBERS / 64)

static const char *HOST = "127.0.0.1";
static struct event_base *base;
static const char *key = "v", *object = "bench", *member_path, *hub_path;
static bool per_member;
static int n_members;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- versions ------------------------------------------------------------ */

/* What has been seen of one data version: which members' watches showed it
 * and which members' Works carried it. */
struct version {
	char *v;
	uint64_t member_seen[BITS_WORDS], work_seen[BITS_WORDS];
	int members, works;
	double m_first, w_first;
};

static struct version *versions;
static size_t n_versions, cap_versions;

/* Most recent first: each round adds one version and looks it up ~2N times. */
static struct version *version_of(const char *v)
{
	for (size_t i = n_versions; i-- > 0;)
		if (!strcmp(versions[i].v, v))
			return &versions[i];
	if (n_versions == cap_versions) {
		cap_versions = cap_versions ? cap_versions * 2 : 256;
		versions = realloc(versions, cap_versions * sizeof *versions);
		if (!versions)
			abort();
	}
	struct version *x = &versions[n_versions++];
	memset(x, 0, sizeof *x);
	x->v = strdup(v);
	return x;
}

static bool test_and_set(uint64_t *bits, int i)
{
	uint64_t m = (uint64_t)1 << (i % 64);
	bool was = bits[i / 64] & m;
	bits[i / 64] |= m;
	return was;
}

/* Work namespaces, numbered as first seen (one per member). */
static char **work_ns;
static int n_work_ns;

static int work_ns_index(const char *ns)
{
	for (int i = 0; i < n_work_ns; i++)
		if (!strcmp(work_ns[i], ns))
			return i;
	if (n_work_ns == MAX_MEMBERS)
		return -1;
	work_ns = realloc(work_ns, (size_t)(n_work_ns + 1) * sizeof *work_ns);
	if (!work_ns)
		abort();
	work_ns[n_work_ns] = strdup(ns);
	return n_work_ns++;
}

/* ---- streams --------------------------------------------------------------- */

struct stream {
	const char *name; /* member name, or "hub" */
	int port, index;  /* index: the member's number; -1 for the hub */
	const char *path;
	struct evhttp_connection *conn;
	struct evbuffer *line;
	struct event *retry;
	bool ok; /* answered 200 at least once */
};

static struct stream *S;
static int n_streams, n_ok;
static bool ready_printed;

static void open_stream(struct stream *s);

static const char *data_value(const cJSON *obj)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(obj, "data");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void member_event(struct stream *s, const cJSON *obj, double t)
{
	const char *v = data_value(obj);
	if (!v)
		return;
	struct version *x = version_of(v);
	if (test_and_set(x->member_seen, s->index))
		return;
	if (per_member)
		printf("m %s %s %.6f\n", s->name, v, t);
	if (x->members++ == 0)
		x->m_first = t;
	if (x->members == n_members) {
		printf("all %s %.6f %.6f\n", v, x->m_first, t);
		fflush(stdout);
	} else if (per_member) {
		fflush(stdout);
	}
}

static void work_event(const cJSON *obj, double t)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const cJSON *wl = cJSON_GetObjectItemCaseSensitive(spec, "workload");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(wl, "manifests");
	const cJSON *m;
	if (!cJSON_IsString(ns))
		return;
	cJSON_ArrayForEach(m, ms)
	{
		const cJSON *mmd = cJSON_GetObjectItemCaseSensitive(m, "metadata");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(mmd, "name");
		const char *v = data_value(m);
		if (!v || !cJSON_IsString(name) || strcmp(name->valuestring, object))
			continue;
		int i = work_ns_index(ns->valuestring);
		if (i < 0)
			continue;
		struct version *x = version_of(v);
		if (test_and_set(x->work_seen, i))
			continue;
		if (x->works++ == 0)
			x->w_first = t;
		if (x->works == n_members) {
			printf("works %s %.6f %.6f\n", v, x->w_first, t);
			fflush(stdout);
		}
	}
}

static int on_header(struct evhttp_request *req, void *arg)
{
	struct stream *s = arg;
	int code = evhttp_request_get_response_code(req);
	if (code != 200) {
		printf("error %s: watch answered %d\n", s->name, code);
		fflush(stdout);
		return 0;
	}
	if (!s->ok) {
		s->ok = true;
		if (++n_ok == n_streams && !ready_printed) {
			ready_printed = true;
			printf("ready %.6f\n", now_s());
			fflush(stdout);
		}
	}
	return 0;
}

static void on_chunk(struct evhttp_request *req, void *arg)
{
	struct stream *s = arg;
	double t = now_s();
	evbuffer_add_buffer(s->line, evhttp_request_get_input_buffer(req));
	size_t n;
	char *l;
	while ((l = evbuffer_readln(s->line, &n, EVBUFFER_EOL_LF))) {
		cJSON *ev = n ? cJSON_ParseWithLength(l, n) : NULL;
		free(l);
		if (!ev)
			continue;
		const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
		if (cJSON_IsObject(obj)) {
			if (s->index >= 0)
				member_event(s, obj, t);
			else
				work_event(obj, t);
		}
		cJSON_Delete(ev);
	}
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	open_stream(arg);
}

static void on_done(struct evhttp_request *req, void *arg)
{
	/* The stream ended (or never opened): reopen it shortly. Versions seen
	 * again in the initial ADDED events count once. */
	struct stream *s = arg;
	printf("error %s: watch stream ended (%d)\n", s->name, req ? evhttp_request_get_response_code(req) : 0);
	fflush(stdout);
	struct timeval tv = {0, 200000};
	evtimer_add(s->retry, &tv);
}

static void open_stream(struct stream *s)
{
	if (s->conn)
		evhttp_connection_free(s->conn);
	evbuffer_drain(s->line, evbuffer_get_length(s->line));
	s->conn = evhttp_connection_base_new(base, NULL, HOST, (unsigned short)s->port);
	evhttp_connection_set_timeout(s->conn, 24 * 3600);
	struct evhttp_request *r = evhttp_request_new(on_done, s);
	evhttp_add_header(evhttp_request_get_output_headers(r), "Host", HOST);
	evhttp_request_set_header_cb(r, on_header);
	evhttp_request_set_chunked_cb(r, on_chunk);
	char path[4096];
	snprintf(path, sizeof path, "%s%swatch=true", s->path, strchr(s->path, '?') ? "&" : "?");
	if (evhttp_make_request(s->conn, r, EVHTTP_REQ_GET, path) < 0) {
		printf("error %s: cannot send the watch request\n", s->name);
		fflush(stdout);
		struct timeval tv = {0, 200000};
		evtimer_add(s->retry, &tv);
	}
}

/* ---- main ------------------------------------------------------------------ */

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n <= 0 || memchr(buf, 'q', (size_t)n))
		event_base_loopbreak(base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(base);
}

static void usage(void)
{
	fputs("usage: bench_watch --members FILE --path PATH [--key K] [--hub-port P --hub-path PATH]\n"
	      "                   [--object NAME] [--per-member]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *members = NULL;
	int hub_port = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--per-member")) {
			per_member = true;
			continue;
		}
		const char *v = i + 1 < argc ? argv[++i] : NULL;
		if (!v)
			usage();
		if (!strcmp(a, "--members"))
			members = v;
		else if (!strcmp(a, "--path"))
			member_path = v;
		else if (!strcmp(a, "--key"))
			key = v;
		else if (!strcmp(a, "--hub-port"))
			hub_port = atoi(v);
		else if (!strcmp(a, "--hub-path"))
			hub_path = v;
		else if (!strcmp(a, "--object"))
			object = v;
		else
			usage();
	}
	if (!members || !member_path || (hub_port && !hub_path) || hub_port < 0 || hub_port > 65535)
		usage();
	FILE *f = fopen(members, "r");
	if (!f) {
		perror(members);
		return 2;
	}
	S = calloc(MAX_MEMBERS + 1, sizeof *S);
	char name[256];
	int port;
	while (n_members < MAX_MEMBERS && fscanf(f, "%255s %d", name, &port) == 2) {
		if (port <= 0 || port > 65535) {
			fprintf(stderr, "bench_watch: bad port %d for %s\n", port, name);
			return 2;
		}
		S[n_members] = (struct stream){.name = strdup(name), .port = port, .index = n_members, .path = member_path};
		n_members++;
	}
	fclose(f);
	if (!n_members) {
		fprintf(stderr, "bench_watch: no members in %s\n", members);
		return 2;
	}
	n_streams = n_members;
	if (hub_port)
		S[n_streams++] = (struct stream){.name = "hub", .port = hub_port, .index = -1, .path = hub_path};
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	for (int i = 0; i < n_streams; i++) {
		S[i].line = evbuffer_new();
		S[i].retry = evtimer_new(base, on_retry, &S[i]);
		open_stream(&S[i]);
	}
	struct event *in = event_new(base, 0, EV_READ | EV_PERSIST, on_stdin, NULL);
	struct event *term = evsignal_new(base, SIGTERM, on_signal, NULL);
	struct event *intr = evsignal_new(base, SIGINT, on_signal, NULL);
	event_add(in, NULL);
	event_add(term, NULL);
	event_add(intr, NULL);
	event_base_dispatch(base);
	event_free(in);
	event_free(term);
	event_free(intr);
	for (int i = 0; i < n_streams; i++) {
		if (S[i].conn)
			evhttp_connection_free(S[i].conn);
		evbuffer_free(S[i].line);
		event_free(S[i].retry);
		if (S[i].index >= 0)
			free((char *)S[i].name);
	}
	for (size_t i = 0; i < n_versions; i++)
		free(versions[i].v);
	for (int i = 0; i < n_work_ns; i++)
		free(work_ns[i]);
	free(work_ns);
	free(versions);
	free(S);
	event_base_free(base);
	return 0;
}
