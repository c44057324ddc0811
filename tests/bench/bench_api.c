/* bench_api — a small HTTP load generator for the hub's API (libevent's
 * evhttp client, one thread, 127.0.0.1 only). Prints one JSON object of
 * figures on stdout. Driven by tests/bench/bench_api.py.
 *
 *   bench_api req --port P --path PATH [--method M] [--body TEMPLATE]
 *                 [--ctype CT] [--accept A] [--conns C] [--requests N]
 *                 [--seconds S]
 *       closed loop: C keep-alive connections, one request in flight on
 *       each, until N requests (or S seconds). "{N}" in the path or body is
 *       replaced by a counter unique to each request. Latency per request
 *       from send to complete response.
 *
 *   bench_api watch --port P --watch-path PATH --rv RV --watchers W
 *                   --path WRITE_PATH --body TEMPLATE [--ctype CT]
 *                   [--requests N]
 *       opens W watch streams (PATH?watch=true&resourceVersion=RV), then
 *       makes N writes one after another; after each, waits until every
 *       watcher has the event. Latency per (write, watcher): from the
 *       write's acknowledgement (and from its send) to the watcher's
 *       receipt of the event with that resourceVersion. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define MAX_CONNS 1024
#define MAX_REQUESTS 1000000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

struct opts {
	const char *mode, *path, *method, *body, *ctype, *accept, *watch_path;
	int port, conns, watchers;
	long requests;
	double seconds;
	long long rv;
};

static struct opts O = {.method = "GET", .ctype = "application/json", .conns = 1, .watchers = 100,
			.requests = 1000, .seconds = 30};
static struct event_base *base;
static const char *HOST = "127.0.0.1";

/* Replaces every "{N}" in tmpl by n. Caller frees. */
static char *expand(const char *tmpl, long n)
{
	size_t cap = strlen(tmpl) + 64, len = 0;
	char *out = malloc(cap);
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "{N}", 3) == 0) {
			char num[32];
			int k = snprintf(num, sizeof num, "%ld", n);
			if (len + (size_t)k + 1 > cap)
				out = realloc(out, cap = cap * 2 + (size_t)k);
			memcpy(out + len, num, (size_t)k);
			len += (size_t)k;
			p += 3;
		} else {
			if (len + 2 > cap)
				out = realloc(out, cap *= 2);
			out[len++] = *p++;
		}
	}
	out[len] = '\0';
	return out;
}

static enum evhttp_cmd_type method_of(const char *m)
{
	if (!strcmp(m, "POST"))
		return EVHTTP_REQ_POST;
	if (!strcmp(m, "PUT"))
		return EVHTTP_REQ_PUT;
	if (!strcmp(m, "PATCH"))
		return EVHTTP_REQ_PATCH;
	if (!strcmp(m, "DELETE"))
		return EVHTTP_REQ_DELETE;
	return EVHTTP_REQ_GET;
}

/* Finds "resourceVersion":"N" in a JSON text; 0 if absent. */
static long long find_rv(const char *s, size_t len)
{
	static const char key[] = "\"resourceVersion\":\"";
	const size_t kl = sizeof key - 1;
	for (size_t i = 0; i + kl < len; i++) {
		if (s[i] == '"' && memcmp(s + i, key, kl) == 0)
			return strtoll(s + i + kl, NULL, 10);
	}
	return 0;
}

/* ---- closed-loop requests --------------------------------------------------- */

struct client {
	struct evhttp_connection *conn;
	double t0;
};

static struct client clients[MAX_CONNS];
static double *lat;
static long sent, done, errors, bytes_in;
static double t_start, t_end;
static int first_error_code;

static void issue(struct client *c);

static void on_response(struct evhttp_request *req, void *arg)
{
	struct client *c = arg;
	double t = now_s();
	int code = req ? evhttp_request_get_response_code(req) : 0;
	if (code < 200 || code > 299) {
		errors++;
		if (!first_error_code)
			first_error_code = code ? code : -1;
	} else {
		bytes_in += (long)evbuffer_get_length(evhttp_request_get_input_buffer(req));
	}
	lat[done++] = t - c->t0;
	if (sent >= O.requests || t - t_start >= O.seconds || (errors > 100 && errors * 2 > done)) {
		/* Stop sending; finish when the last one in flight is in. */
		if (sent == done) {
			t_end = t;
			event_base_loopbreak(base);
		}
		return;
	}
	issue(c);
}

static struct evhttp_request *new_request(void (*cb)(struct evhttp_request *, void *), void *arg, const char *body,
					  const char *ctype, const char *accept)
{
	struct evhttp_request *r = evhttp_request_new(cb, arg);
	struct evkeyvalq *h = evhttp_request_get_output_headers(r);
	evhttp_add_header(h, "Host", HOST);
	if (accept)
		evhttp_add_header(h, "Accept", accept);
	if (body) {
		/* libevent adds Content-Length by itself only to POST and PUT. */
		char cl[32];
		snprintf(cl, sizeof cl, "%zu", strlen(body));
		evhttp_add_header(h, "Content-Length", cl);
		evhttp_add_header(h, "Content-Type", ctype);
		evbuffer_add(evhttp_request_get_output_buffer(r), body, strlen(body));
	}
	return r;
}

static void issue(struct client *c)
{
	long n = sent++;
	char *path = expand(O.path, n);
	char *body = O.body ? expand(O.body, n) : NULL;
	struct evhttp_request *r = new_request(on_response, c, body, O.ctype, O.accept);
	c->t0 = now_s();
	if (evhttp_make_request(c->conn, r, method_of(O.method), path) < 0) {
		fprintf(stderr, "bench_api: cannot send a request\n");
		exit(1);
	}
	free(path);
	free(body);
}

static void print_latency(const char *name, double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	printf("\"%s\":{\"n\":%zu,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}", name, n,
	       n ? sum / (double)n * 1e3 : 0, pct(v, n, 50) * 1e3, pct(v, n, 90) * 1e3, pct(v, n, 99) * 1e3,
	       n ? v[n - 1] * 1e3 : 0);
}

static int run_req(void)
{
	lat = calloc((size_t)O.requests, sizeof *lat);
	for (int i = 0; i < O.conns; i++) {
		clients[i].conn = evhttp_connection_base_new(base, NULL, HOST, (unsigned short)O.port);
		evhttp_connection_set_timeout(clients[i].conn, 30);
	}
	t_start = now_s();
	for (int i = 0; i < O.conns && sent < O.requests; i++)
		issue(&clients[i]);
	struct timeval guard = {(long)O.seconds + 30, 0};
	event_base_loopexit(base, &guard);
	event_base_dispatch(base);
	if (!t_end)
		t_end = now_s();
	double secs = t_end - t_start;
	printf("{\"mode\":\"req\",\"method\":\"%s\",\"conns\":%d,\"requests\":%ld,\"errors\":%ld,\"first_error\":%d,"
	       "\"seconds\":%.3f,\"rps\":%.1f,\"bytes_per_response\":%ld,",
	       O.method, O.conns, done, errors, first_error_code, secs, secs > 0 ? (double)done / secs : 0,
	       done ? bytes_in / done : 0);
	print_latency("latency", lat, (size_t)done);
	printf("}\n");
	for (int i = 0; i < O.conns; i++)
		evhttp_connection_free(clients[i].conn);
	free(lat);
	return errors ? 1 : 0;
}

/* ---- watch fan-out ---------------------------------------------------------- */

struct watcher {
	struct evhttp_connection *conn;
	struct evbuffer *line;
	bool connected;
	long long *rv;  /* resourceVersion of each event received */
	double *t;      /* when it was received */
	long n, cap;
};

static struct watcher *W;
static int connected;
static long writes_done, write_rv_n;
static long long *write_rv;
static double *write_sent, *write_acked;
static long long waiting_rv; /* rv of the write whose delivery we wait for */
static int waiting_left;
static double wait_deadline;
static struct evhttp_connection *writer;
static bool watch_failed;
static void next_write(void);

static int on_watch_header(struct evhttp_request *req, void *arg)
{
	struct watcher *w = arg;
	if (evhttp_request_get_response_code(req) != 200) {
		fprintf(stderr, "bench_api: watch answered %d\n", evhttp_request_get_response_code(req));
		watch_failed = true;
		event_base_loopbreak(base);
		return 0;
	}
	if (!w->connected) {
		w->connected = true;
		if (++connected == O.watchers)
			next_write();
	}
	return 0;
}

static void on_watch_chunk(struct evhttp_request *req, void *arg)
{
	struct watcher *w = arg;
	double t = now_s();
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	evbuffer_add_buffer(w->line, in);
	size_t n;
	char *l;
	while ((l = evbuffer_readln(w->line, &n, EVBUFFER_EOL_LF))) {
		long long rv = n ? find_rv(l, n) : 0;
		free(l);
		if (!rv)
			continue;
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 64;
			w->rv = realloc(w->rv, (size_t)w->cap * sizeof *w->rv);
			w->t = realloc(w->t, (size_t)w->cap * sizeof *w->t);
		}
		w->rv[w->n] = rv;
		w->t[w->n] = t;
		w->n++;
		if (waiting_rv && rv == waiting_rv && --waiting_left == 0) {
			waiting_rv = 0;
			next_write();
		}
	}
}

static void on_watch_done(struct evhttp_request *req, void *arg)
{
	/* A stream ended before we closed it. */
	if (writes_done < O.requests) {
		fprintf(stderr, "bench_api: a watch stream ended early\n");
		watch_failed = true;
		event_base_loopbreak(base);
	}
}

/* Counts the watchers that already have the event with this rv (an event
 * may arrive before the write's acknowledgement). */
static int watchers_missing(long long rv)
{
	int missing = 0;
	for (int i = 0; i < O.watchers; i++) {
		bool have = false;
		for (long j = W[i].n - 1; j >= 0 && !have; j--)
			have = W[i].rv[j] == rv;
		missing += !have;
	}
	return missing;
}

static void on_write_done(struct evhttp_request *req, void *arg)
{
	double t = now_s();
	long i = writes_done;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	if (code < 200 || code > 299) {
		fprintf(stderr, "bench_api: write answered %d\n", code);
		watch_failed = true;
		event_base_loopbreak(base);
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	long long rv = find_rv((const char *)evbuffer_pullup(in, -1), len);
	write_rv[i] = rv;
	write_acked[i] = t;
	write_rv_n = i + 1;
	writes_done++;
	waiting_left = watchers_missing(rv);
	wait_deadline = t + 5;
	if (waiting_left == 0)
		next_write();
	else
		waiting_rv = rv;
}

static void next_write(void)
{
	if (writes_done >= O.requests) {
		event_base_loopbreak(base);
		return;
	}
	char *path = expand(O.path, writes_done);
	char *body = expand(O.body, writes_done);
	struct evhttp_request *r = new_request(on_write_done, NULL, body, O.ctype, NULL);
	write_sent[writes_done] = now_s();
	evhttp_make_request(writer, r, method_of(O.method), path);
	free(path);
	free(body);
}

static void on_watch_timeout(evutil_socket_t fd, short what, void *arg)
{
	if (waiting_rv && now_s() > wait_deadline) {
		fprintf(stderr, "bench_api: %d watchers did not get rv %lld within 5 s\n", waiting_left, waiting_rv);
		watch_failed = true;
		event_base_loopbreak(base);
	}
}

static int run_watch(void)
{
	W = calloc((size_t)O.watchers, sizeof *W);
	write_rv = calloc((size_t)O.requests, sizeof *write_rv);
	write_sent = calloc((size_t)O.requests, sizeof *write_sent);
	write_acked = calloc((size_t)O.requests, sizeof *write_acked);
	char path[2048];
	snprintf(path, sizeof path, "%s%swatch=true&resourceVersion=%lld", O.watch_path, strchr(O.watch_path, '?') ? "&" : "?",
		 O.rv);
	for (int i = 0; i < O.watchers; i++) {
		W[i].conn = evhttp_connection_base_new(base, NULL, HOST, (unsigned short)O.port);
		W[i].line = evbuffer_new();
		struct evhttp_request *r = new_request(on_watch_done, &W[i], NULL, NULL, NULL);
		evhttp_request_set_header_cb(r, on_watch_header);
		evhttp_request_set_chunked_cb(r, on_watch_chunk);
		evhttp_make_request(W[i].conn, r, EVHTTP_REQ_GET, path);
	}
	writer = evhttp_connection_base_new(base, NULL, HOST, (unsigned short)O.port);
	evhttp_connection_set_timeout(writer, 30);
	struct event *tick = event_new(base, -1, EV_PERSIST, on_watch_timeout, NULL);
	struct timeval tv = {0, 100000};
	event_add(tick, &tv);
	struct timeval guard = {(long)O.seconds + 30, 0};
	event_base_loopexit(base, &guard);
	double t0 = now_s();
	event_base_dispatch(base);
	double secs = now_s() - t0;
	event_free(tick);
	if (watch_failed || writes_done < O.requests) {
		fprintf(stderr, "bench_api: watch run incomplete (%ld of %ld writes, %d of %d watchers connected)\n",
			writes_done, O.requests, connected, O.watchers);
		return 1;
	}
	size_t cap = (size_t)O.requests * (size_t)O.watchers, n = 0, missing = 0, before_ack = 0;
	double *from_ack = calloc(cap, sizeof *from_ack), *from_send = calloc(cap, sizeof *from_send);
	double *write_lat = calloc((size_t)O.requests, sizeof *write_lat);
	for (long i = 0; i < O.requests; i++) {
		write_lat[i] = write_acked[i] - write_sent[i];
		for (int j = 0; j < O.watchers; j++) {
			bool found = false;
			for (long k = 0; k < W[j].n && !found; k++) {
				if (W[j].rv[k] == write_rv[i]) {
					double d = W[j].t[k] - write_acked[i];
					from_ack[n] = d < 0 ? 0 : d; /* got it before the ack reached us */
					before_ack += d < 0;
					from_send[n] = W[j].t[k] - write_sent[i];
					n++;
					found = true;
				}
			}
			missing += !found;
		}
	}
	printf("{\"mode\":\"watch\",\"watchers\":%d,\"writes\":%ld,\"deliveries\":%zu,\"missing\":%zu,\"before_ack\":%zu,"
	       "\"seconds\":%.3f,", O.watchers, O.requests, n, missing, before_ack, secs);
	print_latency("from_ack", from_ack, n);
	printf(",");
	print_latency("from_send", from_send, n);
	printf(",");
	print_latency("write", write_lat, (size_t)O.requests);
	printf("}\n");
	for (int i = 0; i < O.watchers; i++) {
		evhttp_connection_free(W[i].conn);
		evbuffer_free(W[i].line);
		free(W[i].rv);
		free(W[i].t);
	}
	evhttp_connection_free(writer);
	free(W);
	free(from_ack);
	free(from_send);
	free(write_lat);
	free(write_rv);
	free(write_sent);
	free(write_acked);
	return missing ? 1 : 0;
}

static void usage(void)
{
	fputs("usage: bench_api req|watch --port P --path PATH [--method M] [--body TEMPLATE] [--ctype CT]\n"
	      "                 [--accept A] [--conns C] [--requests N] [--seconds S]\n"
	      "                 [--watch-path PATH --rv RV --watchers W]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	O.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--port"))
			O.port = atoi(v);
		else if (!strcmp(a, "--path"))
			O.path = v;
		else if (!strcmp(a, "--method"))
			O.method = v;
		else if (!strcmp(a, "--body"))
			O.body = v;
		else if (!strcmp(a, "--ctype"))
			O.ctype = v;
		else if (!strcmp(a, "--accept"))
			O.accept = v;
		else if (!strcmp(a, "--conns"))
			O.conns = atoi(v);
		else if (!strcmp(a, "--requests"))
			O.requests = atol(v);
		else if (!strcmp(a, "--seconds"))
			O.seconds = atof(v);
		else if (!strcmp(a, "--watch-path"))
			O.watch_path = v;
		else if (!strcmp(a, "--rv"))
			O.rv = atoll(v);
		else if (!strcmp(a, "--watchers"))
			O.watchers = atoi(v);
		else
			usage();
	}
	if (O.port <= 0 || O.port > 65535 || !O.path || O.conns < 1 || O.conns > MAX_CONNS || O.requests < 1 ||
	    O.requests > MAX_REQUESTS || O.seconds <= 0 || O.watchers < 1 || O.watchers > MAX_CONNS)
		usage();
	base = event_base_new();
	int rc;
	if (!strcmp(O.mode, "req")) {
		rc = run_req();
	} else if (!strcmp(O.mode, "watch")) {
		if (!O.watch_path || !O.body)
			usage();
		rc = run_watch();
	} else {
		usage();
		rc = 2;
	}
	event_base_free(base);
	return rc;
}
