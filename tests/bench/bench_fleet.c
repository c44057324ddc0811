/* bench_fleet — one hub, N stand-in agents (issue 15). Figures, and a
 * correctness check for the smoke in `make test`.
 *
 *   bench_fleet --clusters N [--hub https://127.0.0.1:PORT --data-dir DIR [--hub-pid PID]]
 *               [--bearer-every K] [--heartbeat-interval S] [--idle S] [--rounds R]
 *               [--restart] [--budget S] [--bin DIR] [--keep] [--quiet]
 *
 * Each stand-in agent is what atoll-agent is to the hub, minus a member
 * cluster: its own identity — a client certificate obtained through the
 * real join (POST /apis/atoll.io/v1alpha1/join with a bootstrap token and a
 * CSR made by common/join.c), or, for every K-th cluster, an API bearer
 * token of user system:atoll:agent:<cluster> — over TLS (mbedTLS, the
 * hub's CA verified), one connection as the real agent holds it
 * (agent/hubclient.c, docs/protocol.md): registration, then the long-poll,
 * which carries the heartbeat (POST works with the Heartbeat as its body,
 * timeoutSeconds at most --heartbeat-interval, default 10 s, drawn up to a
 * quarter lower each time), and the status reports between polls. It lists
 * its Works once, then long-polls from the revision it holds, and answers
 * every Work it receives with a WorkStatusReport 40 ms later (Applied=True,
 * the manifest's status), one report in flight, before polling again (the
 * real agent's settle window). Transport errors: reconnect with capped
 * exponential backoff and jitter (resuming the TLS session), resume from
 * the same revision.
 *
 * Sequence: start a hub (atoll-hub init, serve --listen 127.0.0.1:0 in a
 * temporary directory; or use --hub/--data-dir, where the tokens are
 * created), start the agents (at most 64 setting up at once), wait until
 * all are connected (registered, long-poll with heartbeat waiting), measure
 * the hub's CPU while idle for --idle seconds and its open connections
 * (atoll_hub_connections: at most one per agent, checked), then
 *   round 0: create a ConfigMap and a Duplicated PropagationPolicy over the
 *            clusters' label → one Work per cluster;
 *   round k: change the ConfigMap → every Work rewritten;
 * per round: the admin write's latency, each agent's time from the write's
 * send to its long-poll answer carrying that round, and the time until the
 * ResourceBinding has every cluster's status folded in (FullyApplied).
 * With --restart (only for a hub it started): SIGTERM, start it again on the
 * same port and directory, time until every agent has sent its long-poll
 * (with its heartbeat) from its revision over a new session (counting full
 * re-lists, which must be 0), then one more round must reach everyone. Per
 * round also the hub's CPU from the write's send to the last answer
 * (steadier than wall time on a shared machine).
 *
 * Last line of output: one JSON object (clusters_connected, fanout_p99_ms,
 * hub_rss_mib, hub_cpu_cores, policy_fanout_hub_cpu_ms, policy_round_hub_cpu_ms
 * (to every status folded), hub_reports_held,
 * change_fanout_p99_median_ms, change_fanout_hub_cpu_median_ms (medians
 * over the change rounds), ...; "ok": false with "error" when a check
 * failed). Exit status 0 only when everything was checked and held. The
 * hub is on 127.0.0.1; the agents' sockets are bound to 127.0.10.1-100 so
 * no client address holds more than the hub's per-client limit. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "join.h"
#include "render.h"
#include "tokens.h"

#define NS "default"
#define CM_NAME "fleet-cfg"
#define POLICY "fleet-policy"
#define LABEL_KEY "bench.atoll.io/fleet"
#define MAX_ROUNDS 64
#define SETUP_PARALLEL 64
#define SRC_ADDRS 100

/* ---- options and shared state ---------------------------------------------------- */

static struct {
	int clusters;
	const char *hub_url;
	const char *data_dir;
	int hub_pid;
	int bearer_every;
	int hb_interval;
	double idle_s;
	int rounds;
	bool restart;
	double budget;
	const char *bin;
	bool keep;
	bool quiet;
	const char *prefix;
	int report_delay_ms; /* a Work's status report this long after its answer */
} opt = {.bearer_every = 10, .hb_interval = 10, .idle_s = -1, .rounds = 2, .budget = 600, .prefix = "fleet",
	 .report_delay_ms = 40};

static char hub_host[64] = "127.0.0.1";
static int hub_port;
static char data_dir[4096];
static char tmp_dir[3900];
static pid_t hub_child;
static char admin_token[TOKEN_LEN + 1];
static char boot_token[TOKEN_LEN + 1];
static char ca_path[4200];

static struct event_base *base;
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_x509_crt cacert;
static mbedtls_ssl_config conf_anon;

static double t_start;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...)
{
	if (opt.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[%7.2f] ", now_s() - t_start);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- agents ---------------------------------------------------------------------- */

enum req_kind { R_NONE, R_JOIN, R_REGISTER, R_LIST, R_POLL, R_STATUS };

struct agent;

struct conn {
	struct agent *ag;
	int fd;
	bool have_ssl, handshaken;
	mbedtls_ssl_context ssl;
	mbedtls_net_context net;
	struct event *ev;
	enum req_kind req;
	char *out;
	size_t outlen, outoff;
	char *in;
	size_t inlen, incap;
	double sent;
	double connected_at; /* when its handshake finished */
};

struct pending {
	char name[128];
	long long generation;
	int round;
	struct pending *next;
};

struct agent {
	int idx;
	char name[64];
	bool bearer;
	char token[TOKEN_LEN + 1];
	char *key_pem, *crt_pem;
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	mbedtls_ssl_config conf;
	bool have_conf;
	mbedtls_ssl_session session;
	bool have_session;
	struct sockaddr_in src;
	struct conn ctl; /* the one connection to the hub */
	/* life cycle */
	bool joined, registered, listed, connected;
	bool status_due;
	bool settling; /* a poll answer delivered Works: their report goes before the next poll */
	long long revision;
	struct event *status_ev, *retry_ctl_ev;
	double backoff_ctl;
	struct pending *pend;
	int npend;
	/* figures */
	double round_t[MAX_ROUNDS];
	int full_lists;
	double last_hb_ok;
	long long hb_ok;
	bool counted_resumed;
};

static struct agent *agents;
static atomic_int n_connected, n_setup_started, n_setup_failed, n_resumed, n_relist_after;
static atomic_int n_tls_resumed_after, n_tls_full_after; /* handshakes after the restart */
static atomic_long n_requests, n_errors, n_status_items, n_hb;
static atomic_int phase_restart; /* 1 while agents should count resumption */
static double restart_t;
static atomic_int round_seen[MAX_ROUNDS];
static double round_sent[MAX_ROUNDS];
static int setup_next, setup_inflight;
static struct event *setup_ev;
static char fatal_err[512];

static void conn_start(struct conn *c);
static void ctl_next(struct agent *ag);
static void agent_setup_done(struct agent *ag, bool ok);

static void set_fatal(const char *fmt, ...)
{
	if (fatal_err[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fatal_err, sizeof fatal_err, fmt, ap);
	va_end(ap);
}

static void conn_close(struct conn *c)
{
	if (c->ev) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->have_ssl) {
		mbedtls_ssl_free(&c->ssl);
		c->have_ssl = false;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->handshaken = false;
	c->inlen = 0;
}

static void conn_on_event(evutil_socket_t fd, short what, void *arg);

static void conn_want(struct conn *c, short what)
{
	event_del(c->ev);
	event_assign(c->ev, base, c->fd, what, conn_on_event, c);
	event_add(c->ev, NULL);
}

static double jitter(double d)
{
	return d / 2 + d / 2 * ((double)rand() / RAND_MAX);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg);

/* A transport error: close and retry later (what was in flight is sent again). */
static void conn_fail(struct conn *c, const char *why)
{
	struct agent *ag = c->ag;
	atomic_fetch_add(&n_errors, 1);
	if (!ag->connected && !opt.quiet && atomic_load(&n_errors) < 20)
		say("%s: %s", ag->name, why);
	conn_close(c);
	double *b = &ag->backoff_ctl;
	*b = *b <= 0 ? 0.5 : *b * 2 > 30 ? 30 : *b * 2;
	double d = jitter(*b);
	struct timeval tv = {(long)d, (long)((d - (long)d) * 1e6)};
	event_add(ag->retry_ctl_ev, &tv);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (c->req == R_NONE) {
		ctl_next(c->ag);
		return;
	}
	conn_start(c);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct conn *c = ctx;
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE
										 : MBEDTLS_ERR_NET_SEND_FAILED;
	return (int)n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct conn *c = ctx;
	ssize_t n = recv(c->fd, buf, len, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
										 : MBEDTLS_ERR_NET_RECV_FAILED;
	if (n == 0)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return (int)n;
}

/* Opens the TCP connection and starts the handshake; the request in c->out is sent after it. */
static void conn_start(struct conn *c)
{
	struct agent *ag = c->ag;
	conn_close(c);
	c->outoff = 0; /* what was in flight goes out again */
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		set_fatal("socket: %s (raise RLIMIT_NOFILE)", strerror(errno));
		return;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(c->fd, (struct sockaddr *)&ag->src, sizeof ag->src) < 0) {
		conn_fail(c, strerror(errno));
		return;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hub_port)};
	inet_pton(AF_INET, hub_host, &sa.sin_addr);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		conn_fail(c, strerror(errno));
		return;
	}
	mbedtls_ssl_init(&c->ssl);
	c->have_ssl = true;
	mbedtls_ssl_config *cf = ag->have_conf && c->req != R_JOIN ? &ag->conf : &conf_anon;
	if (mbedtls_ssl_setup(&c->ssl, cf) != 0 || mbedtls_ssl_set_hostname(&c->ssl, "localhost") != 0) {
		set_fatal("mbedtls_ssl_setup failed");
		return;
	}
	if (ag->have_session && c->req != R_JOIN)
		mbedtls_ssl_set_session(&c->ssl, &ag->session);
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	c->ev = event_new(base, c->fd, EV_WRITE, conn_on_event, c);
	event_add(c->ev, NULL);
}

/* Queues a request on c (which must be idle) and sends it when connected. */
static void conn_request(struct conn *c, enum req_kind k, const char *method, const char *path, const char *body)
{
	struct agent *ag = c->ag;
	char auth[128] = "";
	const char *tok = k == R_JOIN ? boot_token : ag->bearer ? ag->token : NULL;
	if (tok)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", tok);
	size_t blen = body ? strlen(body) : 0;
	free(c->out);
	size_t cap = strlen(path) + blen + 512;
	c->out = malloc(cap);
	c->outlen = (size_t)snprintf(c->out, cap,
				     "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench_fleet\r\n%s%s"
				     "Content-Length: %zu\r\n\r\n",
				     method, path, auth, body ? "Content-Type: application/json\r\n" : "", blen);
	if (body) {
		memcpy(c->out + c->outlen, body, blen);
		c->outlen += blen;
	}
	c->outoff = 0;
	c->req = k;
	c->inlen = 0;
	atomic_fetch_add(&n_requests, 1);
	if (c->fd < 0 || !c->handshaken) {
		if (c->fd < 0)
			conn_start(c);
		return;
	}
	c->sent = now_s();
	conn_want(c, EV_WRITE);
}

static void on_response(struct conn *c, int status, char *body, size_t len);
static void check_resumed(struct agent *ag);

/* A complete response in c->in? Returns 1 (and calls on_response), 0 (need more), -1 (bad). */
static int try_parse(struct conn *c)
{
	char *hend = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (!hend)
		return 0;
	*hend = '\0';
	int status = 0;
	if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1) {
		*hend = '\r';
		return -1;
	}
	long long clen = -1;
	bool chunked = false, close_after = false;
	for (char *line = strstr(c->in, "\r\n"); line && line < hend; line = strstr(line + 2, "\r\n")) {
		char *l = line + 2;
		if (strncasecmp(l, "Content-Length:", 15) == 0)
			clen = atoll(l + 15);
		else if (strncasecmp(l, "Transfer-Encoding:", 18) == 0 && strcasestr(l, "chunked"))
			chunked = true;
		else if (strncasecmp(l, "Connection:", 11) == 0 && strcasestr(l, "close"))
			close_after = true;
	}
	*hend = '\r';
	size_t hlen = (size_t)(hend - c->in) + 4;
	char *body;
	size_t blen, used;
	if (chunked) {
		/* Decode in place into a new buffer. */
		char *p = c->in + hlen, *e = c->in + c->inlen;
		char *out = malloc(c->inlen + 1);
		size_t olen = 0;
		for (;;) {
			char *crlf = memmem(p, (size_t)(e - p), "\r\n", 2);
			if (!crlf) {
				free(out);
				return 0;
			}
			long sz = strtol(p, NULL, 16);
			if (crlf + 2 + sz + 2 > e) {
				free(out);
				return 0;
			}
			if (sz == 0) {
				used = (size_t)(crlf + 4 - c->in);
				break;
			}
			memcpy(out + olen, crlf + 2, (size_t)sz);
			olen += (size_t)sz;
			p = crlf + 2 + sz + 2;
		}
		out[olen] = '\0';
		body = out;
		blen = olen;
	} else {
		if (clen < 0)
			clen = 0;
		if (c->inlen < hlen + (size_t)clen)
			return 0;
		body = malloc((size_t)clen + 1);
		memcpy(body, c->in + hlen, (size_t)clen);
		body[clen] = '\0';
		blen = (size_t)clen;
		used = hlen + (size_t)clen;
	}
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	if (close_after)
		conn_close(c);
	on_response(c, status, body, blen);
	free(body);
	return 1;
}

static void conn_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct agent *ag = c->ag;
	if (!c->handshaken) {
		int rc = mbedtls_ssl_handshake(&c->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
			conn_want(c, EV_READ);
			return;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			conn_want(c, EV_WRITE);
			return;
		}
		if (rc != 0) {
			char e[200];
			mbedtls_strerror(rc, e, sizeof e);
			conn_fail(c, e);
			return;
		}
		c->handshaken = true;
		c->connected_at = now_s();
		/* Resumed: the hub echoed the session id we sent with our ticket
		 * (it sends none in a full handshake that issues a ticket). */
		if (atomic_load(&phase_restart) && c->req != R_JOIN)
			atomic_fetch_add(c->ssl.session && c->ssl.session->id_len > 0 ? &n_tls_resumed_after : &n_tls_full_after, 1);
		if (c->req != R_JOIN && !ag->have_session) {
			if (mbedtls_ssl_get_session(&c->ssl, &ag->session) == 0)
				ag->have_session = true;
		}
		if (c->req == R_NONE) {
			conn_want(c, EV_READ);
			return;
		}
		c->sent = now_s();
	}
	if (c->outoff < c->outlen) {
		while (c->outoff < c->outlen) {
			int rc = mbedtls_ssl_write(&c->ssl, (unsigned char *)c->out + c->outoff, c->outlen - c->outoff);
			if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
				conn_want(c, EV_WRITE);
				return;
			}
			if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
				conn_want(c, EV_READ);
				return;
			}
			if (rc < 0) {
				conn_fail(c, "write failed");
				return;
			}
			c->outoff += (size_t)rc;
		}
		if (c->req == R_POLL)
			check_resumed(ag);
		conn_want(c, EV_READ);
		return;
	}
	for (;;) {
		if (c->incap - c->inlen < 16384) {
			c->incap = c->incap ? c->incap * 2 : 32768;
			c->in = realloc(c->in, c->incap + 1);
		}
		int rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)c->in + c->inlen, c->incap - c->inlen);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
		if (rc <= 0) {
			if (c->req == R_NONE) { /* idle keep-alive connection closed by the hub */
				conn_close(c);
				return;
			}
			conn_fail(c, rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ? "closed by the hub" : "read failed");
			return;
		}
		c->inlen += (size_t)rc;
		if (mbedtls_ssl_get_bytes_avail(&c->ssl) == 0)
			break;
	}
	if (c->req == R_NONE) {
		c->inlen = 0;
		return;
	}
	int p = try_parse(c);
	if (p < 0)
		conn_fail(c, "bad HTTP response");
	else if (p > 0 && c->fd >= 0 && c->req == R_NONE)
		conn_want(c, EV_READ); /* idle: notice the hub closing it */
}

/* ---- the protocol ---------------------------------------------------------------- */

static void path_of(struct agent *ag, const char *op, char *buf, size_t len)
{
	snprintf(buf, len, "/apis/atoll.io/v1alpha1/clusters/%s/%s", ag->name, op);
}

static void send_register(struct agent *ag)
{
	char path[256], body[1024];
	path_of(ag, "registration", path, sizeof path);
	static const char *regions[] = {"eu", "us", "ap"};
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Registration\",\"cluster\":\"%s\","
		 "\"agentVersion\":\"bench_fleet\",\"kubernetesVersion\":\"v1.31.0\",\"provider\":\"bench\","
		 "\"region\":\"%s\",\"labels\":{\"" LABEL_KEY "\":\"%s\"}}",
		 ag->name, regions[ag->idx % 3], opt.prefix);
	conn_request(&ag->ctl, R_REGISTER, "PUT", path, body);
}

/* The Heartbeat every long-poll carries (its body). */
static void heartbeat_body(struct agent *ag, char *body, size_t len)
{
	snprintf(body, len,
		 "{\"apiVersion\":\"atoll.io/v1alpha1\",\"kind\":\"Heartbeat\",\"cluster\":\"%s\","
		 "\"leaseDurationSeconds\":%d,\"health\":\"Healthy\",\"kubernetesVersion\":\"v1.31.0\","
		 "\"nodeSummary\":{\"totalNum\":3,\"readyNum\":3},"
		 "\"resourceSummary\":{\"allocatable\":{\"cpu\":\"12\",\"memory\":\"48Gi\",\"pods\":\"330\"},"
		 "\"allocating\":{\"cpu\":\"0\",\"memory\":\"0\",\"pods\":\"0\"},"
		 "\"allocated\":{\"cpu\":\"250m\",\"memory\":\"64Mi\",\"pods\":\"1\"}}}",
		 ag->name, opt.hb_interval * 4);
}

static void send_status(struct agent *ag)
{
	char path[256];
	path_of(ag, "workstatuses", path, sizeof path);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "apiVersion", "atoll.io/v1alpha1");
	cJSON_AddStringToObject(r, "kind", "WorkStatusReport");
	cJSON *items = cJSON_AddArrayToObject(r, "items");
	int n = 0;
	while (ag->pend && n < 500) {
		struct pending *p = ag->pend;
		ag->pend = p->next;
		ag->npend--;
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "name", p->name);
		cJSON_AddNumberToObject(it, "generation", (double)p->generation);
		cJSON *ap = cJSON_AddObjectToObject(it, "applied");
		cJSON_AddStringToObject(ap, "status", "True");
		cJSON_AddStringToObject(ap, "reason", "AppliedSuccessful");
		cJSON_AddStringToObject(ap, "message", "Manifest has been successfully applied");
		cJSON *ms = cJSON_AddArrayToObject(it, "manifestStatuses");
		cJSON *m = cJSON_CreateObject();
		cJSON *id = cJSON_AddObjectToObject(m, "identifier");
		cJSON_AddNumberToObject(id, "ordinal", 0);
		cJSON_AddStringToObject(id, "group", "");
		cJSON_AddStringToObject(id, "version", "v1");
		cJSON_AddStringToObject(id, "kind", "ConfigMap");
		cJSON_AddStringToObject(id, "resource", "configmaps");
		cJSON_AddStringToObject(id, "namespace", NS);
		cJSON_AddStringToObject(id, "name", CM_NAME);
		/* the round travels back through the status, so the binding shows whose report it folded */
		cJSON *mst = cJSON_AddObjectToObject(m, "status");
		cJSON_AddNumberToObject(mst, "round", p->round);
		cJSON_AddStringToObject(m, "health", "Healthy");
		cJSON_AddItemToArray(ms, m);
		cJSON_AddItemToArray(items, it);
		free(p);
		n++;
	}
	char *body = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	atomic_fetch_add(&n_status_items, n);
	conn_request(&ag->ctl, R_STATUS, "POST", path, body);
	free(body);
}

/* The long-poll, which is also the heartbeat: POST works (the full list
 * while no revision is held) with the Heartbeat as body, held by the hub
 * at most the heartbeat interval; drawn up to a quarter shorter each time,
 * as atoll-agent does, so that polls answered together do not stay in step. */
static void poll_issue(struct agent *ag)
{
	char path[320], body[1024];
	heartbeat_body(ag, body, sizeof body);
	if (ag->revision == 0) {
		path_of(ag, "works", path, sizeof path);
		conn_request(&ag->ctl, R_LIST, "POST", path, body);
	} else {
		int t = opt.hb_interval;
		if (t >= 4)
			t -= rand() % (t / 4 + 1);
		char op[128];
		snprintf(op, sizeof op, "works?revision=%lld&timeoutSeconds=%d", ag->revision, t);
		path_of(ag, op, path, sizeof path);
		conn_request(&ag->ctl, R_POLL, "POST", path, body);
	}
}

/* The one connection does one thing at a time: registration, then the
 * long-poll, with the status reports between polls. */
static void ctl_next(struct agent *ag)
{
	if (ag->ctl.req != R_NONE)
		return;
	if (!ag->registered) {
		send_register(ag);
	} else if (ag->status_due && ag->pend) {
		ag->status_due = false;
		send_status(ag);
	} else if (!ag->settling || !ag->pend) {
		ag->settling = false;
		poll_issue(ag);
	}
}

static void status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	ag->status_due = true;
	ctl_next(ag);
}

/* After a hub restart: resumed once the long-poll, with its heartbeat,
 * went out again from the revision held, over a new session. */
static void check_resumed(struct agent *ag)
{
	if (atomic_load(&phase_restart) && !ag->counted_resumed && ag->ctl.req == R_POLL && ag->ctl.handshaken &&
	    ag->ctl.connected_at > restart_t && ag->revision > 0) {
		ag->counted_resumed = true;
		atomic_fetch_add(&n_resumed, 1);
	}
}

static int round_of(const cJSON *work)
{
	const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(work, "spec"), "workload"),
								 "manifests"),
					    0);
	const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "data"), "round"));
	return r ? atoi(r) : -1;
}

static void on_works(struct agent *ag, const char *body, size_t len, bool full)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	if (!j) {
		atomic_fetch_add(&n_errors, 1);
		return;
	}
	const char *rv = cJSON_GetStringValue(cJSON_GetObjectItem(j, "revision"));
	if (rv)
		ag->revision = atoll(rv);
	if (full)
		ag->full_lists++;
	double t = now_s();
	const cJSON *ev;
	int added = 0;
	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(j, "events"))
	{
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type"));
		const cJSON *o = cJSON_GetObjectItem(ev, "object");
		const cJSON *md = cJSON_GetObjectItem(o, "metadata");
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(md, "name"));
		if (!type || !name || strcmp(type, "DELETED") == 0)
			continue;
		int r = round_of(o);
		if (r >= 0 && r < MAX_ROUNDS && ag->round_t[r] == 0) {
			ag->round_t[r] = t;
			atomic_fetch_add(&round_seen[r], 1);
		}
		struct pending *p = calloc(1, sizeof *p);
		snprintf(p->name, sizeof p->name, "%s", name);
		p->generation = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(md, "generation"));
		p->round = r;
		p->next = ag->pend;
		ag->pend = p;
		ag->npend++;
		added++;
	}
	cJSON_Delete(j);
	if (added)
		ag->settling = true;
	if (added && !evtimer_pending(ag->status_ev, NULL)) {
		struct timeval tv = {opt.report_delay_ms / 1000, (opt.report_delay_ms % 1000) * 1000};
		evtimer_add(ag->status_ev, &tv);
	}
}

static void on_response(struct conn *c, int status, char *body, size_t len)
{
	struct agent *ag = c->ag;
	enum req_kind k = c->req;
	c->req = R_NONE;
	bool ok = status >= 200 && status < 300;
	if (getenv("FLEET_DEBUG"))
		say("%s %s %d rev %lld: %.300s", ag->name, k == R_POLL ? "poll" : "req", status,
		    ag->revision, body);
	if (!ok && status != 410 && status != 404) {
		atomic_fetch_add(&n_errors, 1);
		if (!opt.quiet && atomic_load(&n_errors) < 20)
			say("%s: request %d answered %d: %.200s", ag->name, (int)k, status, body);
	}
	switch (k) {
	case R_JOIN: {
		char *crt = NULL, *ca = NULL, err[256];
		conn_close(c);
		if (!ok || join_parse_response(body, len, &crt, &ca, err, sizeof err) < 0 ||
		    join_check_cert(crt, ag->key_pem, ca, ag->name, err, sizeof err) < 0) {
			set_fatal("join of %s failed (%d): %.200s", ag->name, status, ok ? err : body);
			free(crt);
			free(ca);
			agent_setup_done(ag, false);
			return;
		}
		free(ca);
		ag->crt_pem = crt;
		mbedtls_x509_crt_init(&ag->crt);
		mbedtls_pk_init(&ag->key);
		mbedtls_ssl_config_init(&ag->conf);
		if (mbedtls_x509_crt_parse(&ag->crt, (unsigned char *)crt, strlen(crt) + 1) != 0 ||
		    mbedtls_pk_parse_key(&ag->key, (unsigned char *)ag->key_pem, strlen(ag->key_pem) + 1, NULL, 0) != 0) {
			set_fatal("cannot load the joined identity of %s", ag->name);
			agent_setup_done(ag, false);
			return;
		}
		mbedtls_ssl_config_defaults(&ag->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					    MBEDTLS_SSL_PRESET_DEFAULT);
		mbedtls_ssl_conf_authmode(&ag->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_ca_chain(&ag->conf, &cacert, NULL);
		mbedtls_ssl_conf_rng(&ag->conf, mbedtls_ctr_drbg_random, &drbg);
		mbedtls_ssl_conf_own_cert(&ag->conf, &ag->crt, &ag->key);
		ag->have_conf = true;
		ag->joined = true;
		ctl_next(ag);
		return;
	}
	case R_REGISTER:
		if (!ok) {
			set_fatal("registration of %s answered %d: %.200s", ag->name, status, body);
			agent_setup_done(ag, false);
			return;
		}
		ag->registered = true;
		break;
	case R_STATUS:
		if (ok)
			ag->backoff_ctl = 0;
		if (ag->pend)
			ag->status_due = true;
		break;
	case R_LIST:
	case R_POLL:
		if (status == 404) { /* the hub forgot the cluster */
			ag->registered = false;
			break;
		}
		if (status == 410) {
			ag->revision = 0;
			if (atomic_load(&phase_restart))
				atomic_fetch_add(&n_relist_after, 1);
		} else if (ok) {
			/* the heartbeat it carried was taken */
			ag->backoff_ctl = 0;
			ag->last_hb_ok = now_s();
			ag->hb_ok++;
			atomic_fetch_add(&n_hb, 1);
			on_works(ag, body, len, k == R_LIST);
			if (k == R_LIST && !ag->listed) {
				ag->listed = true;
				ctl_next(ag);
				/* connected once the first long-poll is on its way */
				ag->connected = true;
				atomic_fetch_add(&n_connected, 1);
				agent_setup_done(ag, true);
				return;
			}
		} else if (ag->counted_resumed && ag->ctl.connected_at > restart_t) {
			/* its heartbeat was refused: not resumed after all */
			ag->counted_resumed = false;
			atomic_fetch_sub(&n_resumed, 1);
		}
		break;
	default:
		break;
	}
	ctl_next(ag);
}

/* ---- setup ---------------------------------------------------------------------- */

static void agent_begin(struct agent *ag)
{
	ag->ctl.ag = ag;
	ag->ctl.fd = -1;
	ag->status_ev = evtimer_new(base, status_cb, ag);
	ag->retry_ctl_ev = evtimer_new(base, retry_cb, &ag->ctl);
	if (ag->bearer) {
		ctl_next(ag);
		return;
	}
	char *csr = NULL;
	if (join_make_key_and_csr(ag->name, &ag->key_pem, &csr) < 0) {
		set_fatal("cannot make a key and CSR for %s", ag->name);
		agent_setup_done(ag, false);
		return;
	}
	char *body = join_request_body(ag->name, csr);
	free(csr);
	conn_request(&ag->ctl, R_JOIN, "POST", "/apis/atoll.io/v1alpha1/join", body);
	free(body);
}

static void setup_tick(evutil_socket_t fd, short what, void *arg)
{
	while (setup_inflight < SETUP_PARALLEL && setup_next < opt.clusters && !fatal_err[0]) {
		setup_inflight++;
		atomic_fetch_add(&n_setup_started, 1);
		agent_begin(&agents[setup_next++]);
	}
}

static void agent_setup_done(struct agent *ag, bool ok)
{
	setup_inflight--;
	if (!ok)
		atomic_fetch_add(&n_setup_failed, 1);
	event_active(setup_ev, EV_TIMEOUT, 0);
}

/* ---- the hub process ----------------------------------------------------------- */

static int run_cmd(char *const argv[], char *out, size_t outlen)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	size_t n = 0;
	ssize_t r;
	while (out && n + 1 < outlen && (r = read(pfd[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	if (out)
		out[n] = '\0';
	char sink[256];
	while (read(pfd[0], sink, sizeof sink) > 0)
		;
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char hub_bin[4200];

static int start_hub(int port)
{
	char listen[64], portfile[4300], logf[4300], maxc[32], hist[32];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	snprintf(portfile, sizeof portfile, "%s/tls.port", tmp_dir);
	snprintf(logf, sizeof logf, "%s/hub.log", tmp_dir);
	snprintf(maxc, sizeof maxc, "%d", opt.clusters + 256); /* one connection per agent */
	snprintf(hist, sizeof hist, "%d", opt.clusters * 10 > 20000 ? opt.clusters * 10 : 20000);
	unlink(portfile);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* FLEET_HUB_LOG_LEVEL=debug: the hub's log (kept with --keep) says what each controller step cost */
		const char *lvl = getenv("FLEET_HUB_LOG_LEVEL") ? getenv("FLEET_HUB_LOG_LEVEL") : "warn";
		execl(hub_bin, hub_bin, "serve", "--data-dir", data_dir, "--listen", listen, "--tls-port-file", portfile,
		      "--max-connections", maxc, "--history", hist, "--log-level", lvl, (char *)NULL);
		_exit(127);
	}
	hub_child = pid;
	double dl = now_s() + 30;
	while (now_s() < dl) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int p = 0;
			if (fscanf(f, "%d", &p) == 1 && p > 0) {
				fclose(f);
				hub_port = p;
				opt.hub_pid = pid;
				return 0;
			}
			fclose(f);
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			hub_child = 0;
			return -1;
		}
		usleep(20000);
	}
	return -1;
}

static void stop_hub(void)
{
	if (hub_child <= 0)
		return;
	kill(hub_child, SIGTERM);
	for (int i = 0; i < 200; i++) {
		int st;
		if (waitpid(hub_child, &st, WNOHANG) == hub_child) {
			hub_child = 0;
			return;
		}
		usleep(50000);
	}
	kill(hub_child, SIGKILL);
	waitpid(hub_child, NULL, 0);
	hub_child = 0;
}

static void rm_rf(const char *dir)
{
	if (!dir[0])
		return;
	char *argv[] = {"/bin/rm", "-rf", (char *)dir, NULL};
	run_cmd(argv, NULL, 0);
}

/* ---- hub process figures ---------------------------------------------------------- */

static double proc_cpu_s(int pid)
{
	char p[64], buf[2048];
	snprintf(p, sizeof p, "/proc/%d/stat", pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	if (!s)
		return -1;
	unsigned long long ut = 0, st = 0;
	/* fields after ")": state(3) ... utime(14) stime(15) */
	if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_mem_mib(int pid, const char *field)
{
	char p[64], line[256];
	snprintf(p, sizeof p, "/proc/%d/status", pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	double v = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = atof(line + fl + 1) / 1024.0;
	fclose(f);
	return v;
}

/* ---- admin requests (orchestrator thread, libcurl) ------------------------------- */

struct buf {
	char *p;
	size_t n;
};

static size_t buf_write(char *d, size_t sz, size_t nm, void *ud)
{
	struct buf *b = ud;
	b->p = realloc(b->p, b->n + sz * nm + 1);
	memcpy(b->p + b->n, d, sz * nm);
	b->n += sz * nm;
	b->p[b->n] = '\0';
	return sz * nm;
}

static int admin(const char *method, const char *path, const char *body, const char *ctype, char **out)
{
	CURL *e = curl_easy_init();
	char url[1024], auth[128];
	snprintf(url, sizeof url, "https://localhost:%d%s", hub_port, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", admin_token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	char ct[128];
	if (ctype) {
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	char resolve[128];
	snprintf(resolve, sizeof resolve, "localhost:%d:%s", hub_port, hub_host);
	struct curl_slist *rs = curl_slist_append(NULL, resolve);
	struct buf b = {0};
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_RESOLVE, rs);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CAINFO, ca_path);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	if (body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	long code = 0;
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
	double t0 = now_s();
	CURLcode rc = curl_easy_perform(e);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	} else if (!b.p) {
		/* no answer: say why, in place of the body */
		char m[CURL_ERROR_SIZE + 128];
		snprintf(m, sizeof m, "(%s %s: %s after %.1f s)", method, path, cerr[0] ? cerr : curl_easy_strerror(rc),
			 now_s() - t0);
		b.p = strdup(m);
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	curl_slist_free_all(rs);
	if (out)
		*out = b.p ? b.p : strdup("");
	else
		free(b.p);
	return (int)code;
}

/* ---- orchestration ---------------------------------------------------------------- */

static double pct(double *v, int n, double p)
{
	if (n == 0)
		return -1;
	int i = (int)ceil(p / 100.0 * n) - 1;
	if (i < 0)
		i = 0;
	return v[i];
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static bool wait_until(bool (*pred)(void *), void *ud, double timeout, double step)
{
	double dl = now_s() + timeout;
	while (now_s() < dl && !fatal_err[0]) {
		if (pred(ud))
			return true;
		usleep((useconds_t)(step * 1e6));
	}
	return pred(ud);
}

static bool all_connected(void *ud)
{
	return atomic_load(&n_connected) + atomic_load(&n_setup_failed) >= opt.clusters;
}

static bool round_done(void *ud)
{
	return atomic_load(&round_seen[*(int *)ud]) >= opt.clusters;
}

static bool all_resumed(void *ud)
{
	return atomic_load(&n_resumed) >= opt.clusters;
}

static char binding_path[1024];

/* The binding has every cluster's status of round r folded in. */
struct fold {
	int round, n;
};

static bool binding_folded(void *ud)
{
	struct fold *fo = ud;
	char *out = NULL;
	int code = admin("GET", binding_path, NULL, NULL, &out);
	bool ok = false;
	if (code == 200) {
		cJSON *b = cJSON_Parse(out);
		const cJSON *items = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "status"), "aggregatedStatus");
		int n = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, items)
		{
			const cJSON *rd = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "status"), "round");
			n += cJSON_IsTrue(cJSON_GetObjectItem(it, "applied")) && cJSON_IsNumber(rd) &&
			     (int)rd->valuedouble == fo->round;
		}
		bool full = false;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(cJSON_GetObjectItem(b, "status"), "conditions"))
		{
			const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(it, "type"));
			const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(it, "status"));
			if (t && s && strcmp(t, "FullyApplied") == 0)
				full = strcmp(s, "True") == 0;
		}
		ok = n == opt.clusters && full;
		fo->n = n;
		cJSON_Delete(b);
	}
	free(out);
	return ok;
}

struct round_fig {
	double write_ms, p50, p99, max, folded_s;
	double cpu_ms; /* hub CPU from the write's send to the last long-poll answer (-1: unknown) */
	double cpu_fold_ms; /* ... to every status folded into the binding (the round's whole cost) */
	int reached;
};

static struct round_fig rounds[MAX_ROUNDS];
static int nrounds;

static int do_round(int r)
{
	char body[2048], path[512];
	int code;
	char *out = NULL;
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" CM_NAME "\",\"namespace\":\"" NS
		 "\"},\"data\":{\"round\":\"%d\"}}",
		 r);
	double t0 = now_s();
	round_sent[r] = t0;
	double cpu0 = opt.hub_pid > 0 ? proc_cpu_s(opt.hub_pid) : -1;
	if (r == 0) {
		snprintf(path, sizeof path, "/api/v1/namespaces/" NS "/configmaps");
		code = admin("POST", path, body, "application/json", &out);
		if (code != 201) {
			set_fatal("creating the ConfigMap answered %d: %.200s", code, out);
			free(out);
			return -1;
		}
		free(out);
		char pol[2048];
		snprintf(pol, sizeof pol,
			 "{\"apiVersion\":\"policy.karmada.io/v1alpha1\",\"kind\":\"PropagationPolicy\","
			 "\"metadata\":{\"name\":\"" POLICY "\",\"namespace\":\"" NS "\"},"
			 "\"spec\":{\"resourceSelectors\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"" CM_NAME "\"}],"
			 "\"placement\":{\"clusterAffinity\":{\"labelSelector\":{\"matchLabels\":{\"" LABEL_KEY "\":\"%s\"}}},"
			 "\"replicaScheduling\":{\"replicaSchedulingType\":\"Duplicated\"}}}}",
			 opt.prefix);
		t0 = now_s();
		round_sent[r] = t0;
		cpu0 = opt.hub_pid > 0 ? proc_cpu_s(opt.hub_pid) : -1;
		code = admin("POST", "/apis/policy.karmada.io/v1alpha1/namespaces/" NS "/propagationpolicies", pol,
			     "application/json", &out);
		if (code != 201) {
			set_fatal("creating the PropagationPolicy answered %d: %.200s", code, out);
			free(out);
			return -1;
		}
	} else {
		snprintf(path, sizeof path, "/api/v1/namespaces/" NS "/configmaps/" CM_NAME);
		snprintf(body, sizeof body, "{\"data\":{\"round\":\"%d\"}}", r);
		code = admin("PATCH", path, body, "application/merge-patch+json", &out);
		if (code != 200) {
			set_fatal("changing the ConfigMap answered %d: %.200s", code, out);
			free(out);
			return -1;
		}
	}
	free(out);
	double t1 = now_s();
	struct round_fig *f = &rounds[r];
	f->write_ms = (t1 - t0) * 1e3;
	double tmo = 30 + opt.clusters / 100.0;
	bool all = wait_until(round_done, &r, tmo, 0.01);
	double cpu1 = cpu0 >= 0 ? proc_cpu_s(opt.hub_pid) : -1;
	f->cpu_ms = cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) * 1e3 : -1;
	/* per-agent latencies, read after the main loop set them (a late one reads 0: counted missing) */
	double *v = calloc((size_t)opt.clusters, sizeof *v);
	int n = 0;
	for (int i = 0; i < opt.clusters; i++)
		if (agents[i].round_t[r] > 0)
			v[n++] = (agents[i].round_t[r] - t0) * 1e3;
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	f->reached = n;
	f->p50 = pct(v, n, 50);
	f->p99 = pct(v, n, 99);
	f->max = n ? v[n - 1] : -1;
	if (getenv("FLEET_LATENCIES")) { /* FLEET_LATENCIES=FILE: "round cluster ms" per agent (profiling aid) */
		FILE *lf = fopen(getenv("FLEET_LATENCIES"), "a");
		for (int i = 0; lf && i < opt.clusters; i++)
			fprintf(lf, "%d %s %.1f\n", r, agents[i].name,
				agents[i].round_t[r] > 0 ? (agents[i].round_t[r] - t0) * 1e3 : -1.0);
		if (lf)
			fclose(lf);
	}
	free(v);
	struct fold fo = {r, 0};
	bool fold_ok = all && wait_until(binding_folded, &fo, tmo, 0.1);
	int folded = fo.n;
	f->folded_s = now_s() - t0;
	double cpu2 = cpu0 >= 0 ? proc_cpu_s(opt.hub_pid) : -1;
	f->cpu_fold_ms = cpu0 >= 0 && cpu2 >= 0 ? (cpu2 - cpu0) * 1e3 : -1;
	say("round %d: write %.0f ms; long-polls answered %d/%d, p50 %.0f ms, p99 %.0f ms, max %.0f ms "
	    "(hub CPU %.0f ms); status folded %d/%d after %.2f s (hub CPU %.0f ms)",
	    r, f->write_ms, n, opt.clusters, f->p50, f->p99, f->max, f->cpu_ms, folded, opt.clusters, f->folded_s,
	    f->cpu_fold_ms);
	nrounds = r + 1;
	if (!all) {
		set_fatal("round %d reached %d of %d long-polls within %.0f s", r, n, opt.clusters, tmo);
		return -1;
	}
	if (!fold_ok) {
		set_fatal("round %d: the binding folded %d of %d statuses within %.0f s", r, folded, opt.clusters, tmo);
		return -1;
	}
	return 0;
}

static struct {
	double connect_s, idle_cpu, rss_idle, rss_peak, restart_s;
	int restarted, relists;
	long long hb;
	long conns, fds; /* the hub's open HTTPS connections and descriptors while idle (-1: not read) */
	long reports_held; /* status reports the hub held behind a fan-out, after the rounds (-1: not read) */
} fig = {.idle_cpu = -1, .rss_idle = -1, .rss_peak = -1, .restart_s = -1, .conns = -1, .fds = -1, .reports_held = -1};

/* The hub's open HTTPS connections (atoll_hub_connections, established
 * and pending) and descriptors (process_open_fds), from its /metrics. */
static void read_hub_connections(void)
{
	char *out = NULL;
	if (admin("GET", "/metrics", NULL, NULL, &out) == 200) {
		long conns = 0, fds = -1;
		bool seen = false;
		for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
			char *sp = strrchr(l, ' ');
			if (!sp)
				continue;
			if (strncmp(l, "atoll_hub_connections{", 22) == 0 && strstr(l, "listener=\"https\"")) {
				conns += atol(sp + 1);
				seen = true;
			} else if (strncmp(l, "process_open_fds ", 17) == 0) {
				fds = atol(sp + 1);
			} else if (strncmp(l, "atoll_hub_status_reports_held_total ", 36) == 0) {
				fig.reports_held = atol(sp + 1);
			}
		}
		if (seen)
			fig.conns = conns;
		fig.fds = fds;
	}
	free(out);
}

static void *orchestrate(void *arg)
{
	double t0 = now_s();
	event_active(setup_ev, EV_TIMEOUT, 0);
	double dl = 120 + opt.clusters * 0.3; /* joins are TLS handshakes and signatures: slow on a loaded machine */
	int last = -1;
	while (!all_connected(NULL) && now_s() - t0 < dl && !fatal_err[0]) {
		usleep(200000);
		int c = atomic_load(&n_connected);
		if (c / 1000 != last / 1000 || (opt.clusters <= 1000 && c != last && c == opt.clusters)) {
			say("%d/%d clusters connected", c, opt.clusters);
			last = c;
		}
	}
	fig.connect_s = now_s() - t0;
	int c = atomic_load(&n_connected);
	say("%d/%d clusters connected after %.1f s (%d setups failed, %ld transport/HTTP errors)", c, opt.clusters,
	    fig.connect_s, atomic_load(&n_setup_failed), atomic_load(&n_errors));
	if (c < opt.clusters) {
		set_fatal("only %d of %d clusters connected within %.0f s", c, opt.clusters, dl);
		goto out;
	}
	/* Idle: every cluster heartbeating, long-polls waiting. */
	double idle = opt.idle_s >= 0 ? opt.idle_s : 3.0 * opt.hb_interval;
	if (idle > 0 && opt.hub_pid > 0) {
		/* let the first heartbeats' offsets spread out */
		usleep((useconds_t)(opt.hb_interval * 1e6 * (idle >= opt.hb_interval ? 1 : 0.1)));
		long long hb0 = atomic_load(&n_hb);
		double c0 = proc_cpu_s(opt.hub_pid), w0 = now_s();
		usleep((useconds_t)(idle * 1e6));
		double c1 = proc_cpu_s(opt.hub_pid), w1 = now_s();
		fig.idle_cpu = (c1 - c0) / (w1 - w0);
		fig.hb = atomic_load(&n_hb) - hb0;
		fig.rss_idle = proc_mem_mib(opt.hub_pid, "VmRSS");
		say("idle %.0f s: hub CPU %.3f cores, %lld heartbeats (%.0f/s), RSS %.1f MiB", w1 - w0, fig.idle_cpu,
		    fig.hb, fig.hb / (w1 - w0), fig.rss_idle);
	}
	/* One connection per agent: at most N (and this admin request's own)
	 * open at the hub, every agent's long-poll held on it. */
	read_hub_connections();
	say("hub: %ld open HTTPS connections, %ld descriptors, for %d agents", fig.conns, fig.fds, opt.clusters);
	if (fig.conns > opt.clusters + 2) {
		set_fatal("the hub holds %ld connections for %d agents (one each expected)", fig.conns, opt.clusters);
		goto out;
	}
	char bname[256];
	render_binding_name("ConfigMap", CM_NAME, bname, sizeof bname);
	snprintf(binding_path, sizeof binding_path, "/apis/work.karmada.io/v1alpha2/namespaces/" NS "/resourcebindings/%s",
		 bname);
	/* FLEET_PERF=FILE: perf record -g the hub during the rounds (profiling aid). */
	pid_t perf = 0;
	if (getenv("FLEET_PERF") && opt.hub_pid > 0 && (perf = fork()) == 0) {
		char pid[32];
		snprintf(pid, sizeof pid, "%d", opt.hub_pid);
		/* FLEET_PERF_DWARF=1: DWARF call graphs (libc and libevent have no frame pointers) */
		if (getenv("FLEET_PERF_DWARF"))
			execlp("perf", "perf", "record", "-q", "--call-graph", "dwarf,16384", "-p", pid, "-o",
			       getenv("FLEET_PERF"), (char *)NULL);
		else
			execlp("perf", "perf", "record", "-q", "-g", "-p", pid, "-o", getenv("FLEET_PERF"), (char *)NULL);
		_exit(127);
	}
	if (perf > 0)
		usleep(500000);
	for (int r = 0; r < opt.rounds && r < MAX_ROUNDS - 1; r++)
		if (do_round(r) < 0)
			break;
	if (perf > 0) {
		kill(perf, SIGINT);
		waitpid(perf, NULL, 0);
	}
	if (fatal_err[0])
		goto out;
	{
		long conns = fig.conns, fds = fig.fds; /* kept: read while idle */
		read_hub_connections();             /* for the reports held during the rounds */
		fig.conns = conns;
		fig.fds = fds;
	}
	if (opt.hub_pid > 0)
		fig.rss_peak = proc_mem_mib(opt.hub_pid, "VmHWM");
	if (opt.restart && hub_child > 0) {
		say("restarting the hub (SIGTERM, same port and data directory)");
		int port = hub_port;
		stop_hub();
		restart_t = now_s();
		atomic_store(&n_resumed, 0);
		atomic_store(&phase_restart, 1);
		if (start_hub(port) < 0) {
			set_fatal("the hub did not start again");
			goto out;
		}
		double served = now_s() - restart_t;
		bool ok = wait_until(all_resumed, NULL, 30 + opt.clusters * 0.01 + opt.hb_interval, 0.05);
		fig.restart_s = now_s() - restart_t;
		fig.restarted = atomic_load(&n_resumed);
		fig.relists = atomic_load(&n_relist_after);
		say("hub serving again after %.2f s; %d/%d agents heartbeated and resumed their long-poll after %.2f s; "
		    "%d full re-lists",
		    served, fig.restarted, opt.clusters, fig.restart_s, fig.relists);
		if (!ok) {
			set_fatal("%d of %d agents resumed after the restart", fig.restarted, opt.clusters);
			goto out;
		}
		if (fig.relists) {
			set_fatal("%d agents listed their Works again after the restart", fig.relists);
			goto out;
		}
		if (do_round(opt.rounds < MAX_ROUNDS - 1 ? opt.rounds : MAX_ROUNDS - 1) < 0)
			goto out;
		if (opt.hub_pid > 0) {
			double p = proc_mem_mib(opt.hub_pid, "VmHWM");
			if (p > fig.rss_peak)
				fig.rss_peak = p;
		}
	}
out:
	event_base_loopbreak(base);
	return NULL;
}

/* ---- main ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("Usage: bench_fleet --clusters N [options]\n\n"
	      "Stands in for N atoll-agents (TLS, each its own identity: a joined client certificate, or a\n"
	      "bearer token for every K-th cluster), each over one connection registering, long-polling\n"
	      "(the poll carries the heartbeat) and reporting Work status; measures the hub. The last\n"
	      "line of output is one JSON object.\n\n"
	      "Options:\n"
	      "  --clusters N            stand-in agents (required)\n"
	      "  --hub URL               use this hub (https://127.0.0.1:PORT) instead of starting one;\n"
	      "                          needs --data-dir (tokens are created there)\n"
	      "  --data-dir DIR          that hub's data directory\n"
	      "  --hub-pid PID           that hub's process, for its CPU and memory\n"
	      "  --bearer-every K        every K-th cluster uses a bearer token (default 10; 1 = all)\n"
	      "  --heartbeat-interval S  seconds between heartbeats: the long-poll's timeout (default 10)\n"
	      "  --idle S                seconds of idle CPU measurement (default 3 heartbeat intervals)\n"
	      "  --rounds R              policy rounds: creation, then R-1 template changes (default 2)\n"
	      "  --restart               restart the hub (one it started) and time the agents' resumption\n"
	      "  --prefix P              cluster name prefix (default fleet)\n"
	      "  --report-delay MS       each agent reports a Work's status MS after its answer (default 40,\n"
	      "                          the real agent's settle window; more puts the reports after a round)\n"
	      "  --budget S              give up after S seconds (default 600)\n"
	      "  --bin DIR               where atoll-hub is (default: beside bench_fleet)\n"
	      "  --keep                  keep the temporary directory (hub log)\n"
	      "  --quiet                 only the JSON line\n"
	      "  -h, --help              this help\n",
	      f);
}

static void raise_nofile(int need)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur >= (rlim_t)need)
		return;
	if (rl.rlim_max < (rlim_t)need) {
		struct rlimit r2 = {(rlim_t)need, (rlim_t)need};
		if (setrlimit(RLIMIT_NOFILE, &r2) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < (rlim_t)need ? rl.rlim_max : (rlim_t)need;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void on_budget(evutil_socket_t fd, short what, void *arg)
{
	set_fatal("budget of %.0f s exceeded", opt.budget);
	event_base_loopbreak(base);
}

static volatile sig_atomic_t got_signal;
static void on_signal(int sig)
{
	got_signal = sig;
}

static void check_signal(evutil_socket_t fd, short what, void *arg)
{
	if (got_signal) {
		set_fatal("interrupted by signal %d", (int)got_signal);
		event_base_loopbreak(base);
	}
}

int main(int argc, char **argv)
{
	t_start = now_s();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (ARG("--clusters"))
			opt.clusters = atoi(v);
		else if (ARG("--hub"))
			opt.hub_url = v;
		else if (ARG("--data-dir"))
			opt.data_dir = v;
		else if (ARG("--hub-pid"))
			opt.hub_pid = atoi(v);
		else if (ARG("--bearer-every"))
			opt.bearer_every = atoi(v);
		else if (ARG("--heartbeat-interval"))
			opt.hb_interval = atoi(v);
		else if (ARG("--idle"))
			opt.idle_s = atof(v);
		else if (ARG("--rounds"))
			opt.rounds = atoi(v);
		else if (ARG("--prefix"))
			opt.prefix = v;
		else if (ARG("--report-delay"))
			opt.report_delay_ms = atoi(v);
		else if (ARG("--budget"))
			opt.budget = atof(v);
		else if (ARG("--bin"))
			opt.bin = v;
		else if (strcmp(a, "--restart") == 0)
			opt.restart = true;
		else if (strcmp(a, "--keep") == 0)
			opt.keep = true;
		else if (strcmp(a, "--quiet") == 0)
			opt.quiet = true;
		else {
			fprintf(stderr, "bench_fleet: unknown or incomplete option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (opt.clusters <= 0 || opt.hb_interval <= 0 || opt.bearer_every < 0 || opt.rounds < 1 ||
	    opt.report_delay_ms < 0) {
		fprintf(stderr, "bench_fleet: --clusters N (N > 0) is required; --heartbeat-interval and --rounds > 0\n");
		return 2;
	}
	if (opt.hub_url && !opt.data_dir) {
		fprintf(stderr, "bench_fleet: --hub needs --data-dir (the hub's, for the tokens)\n");
		return 2;
	}
	raise_nofile(opt.clusters * 4 + 1024);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	srand((unsigned)getpid());
	curl_global_init(CURL_GLOBAL_DEFAULT);
	evthread_use_pthreads();

	char err[512] = "";
	snprintf(tmp_dir, sizeof tmp_dir, "%s/bench_fleet.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		fprintf(stderr, "bench_fleet: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (opt.bin)
		snprintf(hub_bin, sizeof hub_bin, "%s/atoll-hub", opt.bin);
	else {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		self[n > 0 ? n : 0] = '\0';
		char *sl = strrchr(self, '/');
		if (sl)
			*sl = '\0';
		snprintf(hub_bin, sizeof hub_bin, "%s/atoll-hub", self);
	}
	if (opt.hub_url) {
		snprintf(data_dir, sizeof data_dir, "%s", opt.data_dir);
		if (sscanf(opt.hub_url, "https://%63[^:]:%d", hub_host, &hub_port) != 2 ||
		    strncmp(hub_host, "127.", 4) != 0) {
			fprintf(stderr, "bench_fleet: --hub must be https://127.x.y.z:PORT (loopback only)\n");
			return 2;
		}
	} else {
		snprintf(data_dir, sizeof data_dir, "%s/hub", tmp_dir);
		char *iargv[] = {hub_bin, "init", "--data-dir", data_dir, "--hosts", "localhost,127.0.0.1", NULL};
		char out[4096];
		if (run_cmd(iargv, out, sizeof out) != 0) {
			fprintf(stderr, "bench_fleet: %s init failed\n", hub_bin);
			return 1;
		}
	}
	snprintf(ca_path, sizeof ca_path, "%s/ca.crt", data_dir);
	/* Tokens: one bootstrap token (any cluster) for the joins, one admin
	 * token, one bearer token per bearer cluster (created in one pass). */
	struct token_rec spec = {.usage = TOKEN_BOOTSTRAP, .expires = time(NULL) + 3600};
	snprintf(spec.description, sizeof spec.description, "bench_fleet joins");
	if (tokens_create(data_dir, &spec, boot_token, err, sizeof err) < 0) {
		fprintf(stderr, "bench_fleet: cannot create a token in %s: %s\n", data_dir, err);
		return 1;
	}
	struct token_rec adm = {.usage = TOKEN_AUTH, .expires = time(NULL) + 3600, .ngroups = 1};
	snprintf(adm.user, sizeof adm.user, "bench-fleet-admin");
	snprintf(adm.groups[0], sizeof adm.groups[0], "system:masters");
	if (tokens_create(data_dir, &adm, admin_token, err, sizeof err) < 0) {
		fprintf(stderr, "bench_fleet: cannot create a token: %s\n", err);
		return 1;
	}
	agents = calloc((size_t)opt.clusters, sizeof *agents);
	int nbearer = 0;
	for (int i = 0; i < opt.clusters; i++) {
		struct agent *ag = &agents[i];
		ag->idx = i;
		snprintf(ag->name, sizeof ag->name, "%s-%05d", opt.prefix, i);
		ag->bearer = opt.bearer_every > 0 && i % opt.bearer_every == 0;
		ag->src.sin_family = AF_INET;
		ag->src.sin_addr.s_addr = htonl((127u << 24) | (10u << 8) | (unsigned)(1 + i % SRC_ADDRS));
		if (ag->bearer)
			nbearer++;
	}
	/* The agents' bearer tokens, in one write of tokens.json. */
	struct token_rec *specs = calloc((size_t)(nbearer ? nbearer : 1), sizeof *specs);
	char (*toks)[TOKEN_LEN + 1] = calloc((size_t)(nbearer ? nbearer : 1), sizeof *toks);
	for (int i = 0, k = 0; i < opt.clusters; i++) {
		if (!agents[i].bearer)
			continue;
		struct token_rec *t = &specs[k++];
		*t = (struct token_rec){.usage = TOKEN_AUTH, .expires = time(NULL) + 3600, .ngroups = 1};
		snprintf(t->user, sizeof t->user, "system:atoll:agent:%s", agents[i].name);
		snprintf(t->groups[0], sizeof t->groups[0], "system:atoll:agents");
	}
	if (nbearer && tokens_create_many(data_dir, specs, nbearer, toks, err, sizeof err) < 0) {
		fprintf(stderr, "bench_fleet: cannot create tokens: %s\n", err);
		return 1;
	}
	for (int i = 0, k = 0; i < opt.clusters; i++)
		if (agents[i].bearer)
			snprintf(agents[i].token, sizeof agents[i].token, "%s", toks[k++]);
	free(specs);
	free(toks);
	say("%d clusters: %d join for a client certificate, %d use a bearer token", opt.clusters,
	    opt.clusters - nbearer, nbearer);

	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, (const unsigned char *)"fleet", 5);
	mbedtls_x509_crt_init(&cacert);
	if (mbedtls_x509_crt_parse_file(&cacert, ca_path) != 0) {
		fprintf(stderr, "bench_fleet: cannot read %s\n", ca_path);
		return 1;
	}
	mbedtls_ssl_config_init(&conf_anon);
	mbedtls_ssl_config_defaults(&conf_anon, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
				    MBEDTLS_SSL_PRESET_DEFAULT);
	mbedtls_ssl_conf_authmode(&conf_anon, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&conf_anon, &cacert, NULL);
	mbedtls_ssl_conf_rng(&conf_anon, mbedtls_ctr_drbg_random, &drbg);

	if (!opt.hub_url && start_hub(0) < 0) {
		fprintf(stderr, "bench_fleet: the hub did not start (log: %s/hub.log)\n", tmp_dir);
		opt.keep = true;
		return 1;
	}
	say("hub %s at https://%s:%d (pid %d)", opt.hub_url ? "given" : "started", hub_host, hub_port, opt.hub_pid);

	base = event_base_new();
	setup_ev = event_new(base, -1, 0, setup_tick, NULL);
	struct event *budget_ev = evtimer_new(base, on_budget, NULL);
	struct timeval btv = {(long)opt.budget, 0};
	evtimer_add(budget_ev, &btv);
	struct event *sig_ev = event_new(base, -1, EV_PERSIST, check_signal, NULL);
	struct timeval stv = {0, 200000};
	event_add(sig_ev, &stv);
	pthread_t th;
	pthread_create(&th, NULL, orchestrate, NULL);
	event_base_dispatch(base);
	bool orchestrator_done = !fatal_err[0] || strncmp(fatal_err, "budget", 6) != 0;
	if (orchestrator_done)
		pthread_join(th, NULL);
	else
		pthread_detach(th);

	double rss_now = opt.hub_pid > 0 ? proc_mem_mib(opt.hub_pid, "VmRSS") : -1;
	double hwm = opt.hub_pid > 0 ? proc_mem_mib(opt.hub_pid, "VmHWM") : -1;
	if (hwm > fig.rss_peak)
		fig.rss_peak = hwm;
	stop_hub();

	/* Figures. */
	const struct round_fig *f0 = nrounds > 0 ? &rounds[0] : NULL;
	double worst_p99 = -1, worst_write = -1;
	for (int r = 0; r < nrounds; r++) {
		if (rounds[r].p99 > worst_p99)
			worst_p99 = rounds[r].p99;
		if (rounds[r].write_ms > worst_write)
			worst_write = rounds[r].write_ms;
	}
	bool ok = !fatal_err[0];
	if (!opt.quiet) {
		printf("targets (issue 15):\n");
		printf("  idle hub CPU <= 1 core:           %.3f cores %s\n", fig.idle_cpu,
		       fig.idle_cpu < 0 ? "(not measured)" : fig.idle_cpu <= 1 ? "met" : "MISSED");
		double rss = fig.rss_idle > rss_now ? fig.rss_idle : rss_now;
		printf("  hub RSS <= 512 MiB:               %.1f MiB (peak %.1f) %s\n", rss, fig.rss_peak,
		       rss < 0 ? "(not measured)" : fig.rss_peak <= 512 ? "met" : "MISSED (peak)");
		printf("  policy change -> every long-poll <= 1 s p99: %.0f ms %s\n", worst_p99,
		       worst_p99 < 0 ? "(not measured)" : worst_p99 <= 1000 ? "met" : "MISSED");
		if (opt.restart)
			printf("  restart -> all agents resumed <= 30 s: %.2f s %s\n", fig.restart_s,
			       fig.restart_s < 0 ? "(not measured)" : fig.restart_s <= 30 ? "met" : "MISSED");
		if (opt.clusters < 10000)
			printf("  (targets are for 10,000 clusters; this run has %d)\n", opt.clusters);
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", ok);
	if (!ok)
		cJSON_AddStringToObject(j, "error", fatal_err);
	cJSON_AddNumberToObject(j, "clusters", opt.clusters);
	cJSON_AddNumberToObject(j, "clusters_connected", atomic_load(&n_connected));
	cJSON_AddNumberToObject(j, "bearer_clusters", nbearer);
	cJSON_AddNumberToObject(j, "connect_s", round(fig.connect_s * 100) / 100);
	cJSON_AddNumberToObject(j, "heartbeat_interval_s", opt.hb_interval);
	cJSON_AddNumberToObject(j, "fanout_p99_ms", round(worst_p99));
	if (f0) {
		cJSON_AddNumberToObject(j, "policy_write_ms", round(f0->write_ms));
		cJSON_AddNumberToObject(j, "policy_fanout_p50_ms", round(f0->p50));
		cJSON_AddNumberToObject(j, "policy_fanout_p99_ms", round(f0->p99));
		cJSON_AddNumberToObject(j, "policy_fanout_max_ms", round(f0->max));
		cJSON_AddNumberToObject(j, "policy_status_folded_s", round(f0->folded_s * 100) / 100);
		cJSON_AddNumberToObject(j, "policy_fanout_hub_cpu_ms", round(f0->cpu_ms));
		cJSON_AddNumberToObject(j, "policy_round_hub_cpu_ms", round(f0->cpu_fold_ms));
	}
	if (nrounds > 1) {
		const struct round_fig *f1 = &rounds[1];
		cJSON_AddNumberToObject(j, "change_write_ms", round(f1->write_ms));
		cJSON_AddNumberToObject(j, "change_fanout_p50_ms", round(f1->p50));
		cJSON_AddNumberToObject(j, "change_fanout_p99_ms", round(f1->p99));
		cJSON_AddNumberToObject(j, "change_status_folded_s", round(f1->folded_s * 100) / 100);
		/* Medians over the change rounds (1..R-1): steadier on a shared machine than one round. */
		double p99s[MAX_ROUNDS], cpus[MAX_ROUNDS], folds[MAX_ROUNDS];
		int m = 0;
		for (int i = 1; i < nrounds; i++, m++) {
			p99s[m] = rounds[i].p99;
			cpus[m] = rounds[i].cpu_ms;
			folds[m] = rounds[i].cpu_fold_ms;
		}
		qsort(p99s, (size_t)m, sizeof *p99s, cmp_d);
		qsort(cpus, (size_t)m, sizeof *cpus, cmp_d);
		qsort(folds, (size_t)m, sizeof *folds, cmp_d);
		cJSON_AddNumberToObject(j, "change_round_hub_cpu_median_ms", round(folds[m / 2]));
		cJSON_AddNumberToObject(j, "change_fanout_p99_median_ms", round(p99s[m / 2]));
		cJSON_AddNumberToObject(j, "change_fanout_hub_cpu_median_ms", round(cpus[m / 2]));
	}
	cJSON_AddNumberToObject(j, "write_max_ms", round(worst_write));
	cJSON_AddNumberToObject(j, "rounds", nrounds);
	cJSON_AddNumberToObject(j, "hub_rss_mib", round((fig.rss_idle > 0 ? fig.rss_idle : rss_now) * 10) / 10);
	cJSON_AddNumberToObject(j, "hub_rss_peak_mib", round(fig.rss_peak * 10) / 10);
	cJSON_AddNumberToObject(j, "hub_cpu_cores", round(fig.idle_cpu * 1000) / 1000);
	cJSON_AddNumberToObject(j, "heartbeats_per_s",
				fig.hb > 0 ? round(fig.hb / (opt.idle_s >= 0 ? opt.idle_s : 3.0 * opt.hb_interval)) : 0);
	cJSON_AddNumberToObject(j, "hub_connections", (double)fig.conns);
	cJSON_AddNumberToObject(j, "hub_reports_held", (double)fig.reports_held);
	cJSON_AddNumberToObject(j, "hub_open_fds", (double)fig.fds);
	cJSON_AddNumberToObject(j, "status_items_reported", (double)atomic_load(&n_status_items));
	cJSON_AddNumberToObject(j, "errors", (double)atomic_load(&n_errors));
	if (opt.restart) {
		cJSON_AddNumberToObject(j, "restart_resumed", fig.restarted);
		cJSON_AddNumberToObject(j, "restart_resume_s", round(fig.restart_s * 100) / 100);
		cJSON_AddNumberToObject(j, "restart_relists", fig.relists);
		cJSON_AddNumberToObject(j, "restart_tls_resumed", atomic_load(&n_tls_resumed_after));
		cJSON_AddNumberToObject(j, "restart_tls_full", atomic_load(&n_tls_full_after));
	}
	char *s = cJSON_PrintUnformatted(j);
	fflush(stderr);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	cJSON_Delete(j);
	if (!opt.keep)
		rm_rf(tmp_dir);
	else
		fprintf(stderr, "kept %s\n", tmp_dir);
	_exit(ok ? 0 : 1); /* thousands of connections: let the kernel close them */
}
