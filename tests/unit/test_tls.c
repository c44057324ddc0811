/* The libevent <-> mbedTLS glue (hub/tls.c) against a real mbedTLS client
 * over loopback: keep-alive, large responses delivered whole before a
 * close, client certificates (ours accepted with CN/O visible, another
 * CA's refused in the handshake), session resumption, plain HTTP refused
 * with a 400, and the hostile-client limits (handshake deadline, request
 * head deadline, connections per client address: separate quotas for
 * connections still in their handshake, whose oldest silent one makes room
 * for a new one, and established ones). The same limits in plain mode (the
 * hub's --insecure-listen): first-byte and head deadlines, quotas, and
 * requests and large responses passing through unchanged. Idle
 * connections release their record buffers and keep working; session
 * tickets survive a restart (keys kept in a file); a burst of handshakes
 * waits for turns (max_handshakes) instead of all running at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#include "testutil.h"
#include "pki.h"
#include "tls.h"
#include "tlsconf.h"

static char dir[256];
static struct event_base *base;
static struct evhttp *http, *phttp, *http2;
static struct tls_server *srv, *psrv, *srv2;
static pthread_t loop_thread;
static int port, pport, port2, target_port;

static void on_req(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *b = evbuffer_new();
	if (strncmp(uri, "/big/", 5) == 0) {
		size_t n = (size_t)atol(uri + 5);
		char *data = malloc(n);
		for (size_t i = 0; i < n; i++)
			data[i] = (char)('a' + i % 26);
		evbuffer_add(b, data, n);
		free(data);
	} else if (strcmp(uri, "/whoami") == 0) {
		const struct tls_peer *p = tls_peer_of(evhttp_connection_get_bufferevent(evhttp_request_get_connection(req)));
		evbuffer_add_printf(b, "tls=%d cert=%d cn=%s o=%s", p != NULL, p && p->has_cert, p ? p->cn : "",
				    p && p->norgs ? p->orgs[0] : "");
	} else if (strcmp(uri, "/stats") == 0 || strcmp(uri, "/pstats") == 0 || strcmp(uri, "/stats2") == 0) {
		struct tls_stats st;
		tls_server_stats(uri[1] == 'p' ? psrv : uri[6] == '2' ? srv2 : srv, &st);
		evbuffer_add_printf(b, "handshakes=%lu resumed=%lu plain=%lu timeouts=%lu over=%lu failed=%lu evicted=%lu "
				       "silent=%lu header=%lu pending=%d established=%d parked=%lu queued=%lu handshaking=%d ",
				    st.handshakes, st.resumed, st.plain_http, st.timed_out, st.over_limit, st.failed, st.evicted,
				    st.silent_timeouts, st.header_timeouts, st.pending, st.established, st.parked, st.queued,
				    st.handshaking);
	} else {
		evbuffer_add_printf(b, "ok %s", uri);
	}
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void *run_loop(void *arg)
{
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static char *path(const char *name)
{
	static char p[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static int setup(void **state)
{
	tu_mkdtemp(dir, sizeof dir, "tls");
	struct pki_init_opts o = {.dir = dir, .nhosts = 1, .hosts = {"127.0.0.1"}};
	char err[512] = "";
	assert_int_equal(pki_init(&o, err, sizeof err), 0);
	/* A client certificate from another CA. */
	struct pki_ca other;
	assert_int_equal(pki_ca_create(&other, "other-ca", 3600, err, sizeof err), 0);
	mbedtls_pk_context k;
	mbedtls_pk_init(&k);
	assert_int_equal(tls_gen_ec_key(&k), 0);
	char *crt = pki_issue(&other, &k, "admin", "system:masters", NULL, 0, PKI_CLIENT, 3600, err, sizeof err);
	char *key = tls_key_pem(&k);
	assert_non_null(crt);
	assert_int_equal(tls_write_file(path("other.crt"), crt, strlen(crt), 0600, err, sizeof err), 0);
	assert_int_equal(tls_write_file(path("other.key"), key, strlen(key), 0600, err, sizeof err), 0);
	free(crt), free(key);
	mbedtls_pk_free(&k);
	pki_ca_free(&other);

	evthread_use_pthreads(); /* teardown stops the loop from this thread */
	base = event_base_new();
	struct tls_server_opts to = {.cert_file = path("hub.crt"), .key_file = path("hub.key"),
				     .client_ca_file = path("ca.crt"), .handshake_timeout_ms = 3000,
				     .header_timeout_ms = 1500, /* generous: make valgrind runs these */ .max_conns_per_client = 8,
				     .max_handshakes = 2, .ticket_key_file = path("tickets.keys")};
	srv = tls_server_new(base, &to, err, sizeof err);
	if (!srv)
		print_error("%s\n", err);
	assert_non_null(srv);
	http = evhttp_new(base);
	evhttp_set_bevcb(http, tls_server_bevcb, srv);
	evhttp_set_gencb(http, on_req, NULL);
	evhttp_set_timeout(http, 30);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	assert_non_null(bs);
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	/* The same defences on a plain listener. */
	struct tls_server_opts po = {.plain = true, .first_byte_timeout_ms = 1000, .header_timeout_ms = 1000,
				     .max_conns_per_client = 6, .max_pending_per_client = 4};
	psrv = tls_server_new(base, &po, err, sizeof err);
	assert_non_null(psrv);
	phttp = evhttp_new(base);
	evhttp_set_bevcb(phttp, tls_server_bevcb, psrv);
	evhttp_set_gencb(phttp, on_req, NULL);
	evhttp_set_timeout(phttp, 30);
	bs = evhttp_bind_socket_with_handle(phttp, "127.0.0.1", 0);
	assert_non_null(bs);
	sl = sizeof sin;
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
	pport = ntohs(sin.sin_port);
	pthread_create(&loop_thread, NULL, run_loop, NULL);
	return 0;
}

static int teardown(void **state)
{
	event_base_loopbreak(base);
	pthread_join(loop_thread, NULL);
	evhttp_free(http);
	evhttp_free(phttp);
	if (http2)
		evhttp_free(http2);
	http2 = NULL;
	target_port = 0;
	/* Closed connections are finalized by the loop; run it before their
	 * servers go. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	tls_server_free(srv);
	tls_server_free(psrv);
	tls_server_free(srv2);
	srv2 = NULL;
	event_base_free(base);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* ---- a blocking mbedTLS client -------------------------------------------------- */

struct cli {
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, crt;
	mbedtls_pk_context key;
};

static int tcp_connect_to(int p)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

static int tcp_connect(void) { return tcp_connect_to(target_port ? target_port : port); }

/* Returns the handshake result. */
static int cli_open(struct cli *c, const char *crt, const char *key, mbedtls_ssl_session *resume)
{
	memset(c, 0, sizeof *c);
	mbedtls_net_init(&c->net);
	mbedtls_ssl_init(&c->ssl);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_x509_crt_init(&c->crt);
	mbedtls_pk_init(&c->key);
	assert_int_equal(mbedtls_x509_crt_parse_file(&c->ca, path("ca.crt")), 0);
	mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	mbedtls_ssl_conf_rng(&c->conf, tls_rng_fn, NULL);
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	if (crt) {
		assert_int_equal(mbedtls_x509_crt_parse_file(&c->crt, crt), 0);
		assert_int_equal(mbedtls_pk_parse_keyfile(&c->key, key, NULL), 0);
		mbedtls_ssl_conf_own_cert(&c->conf, &c->crt, &c->key);
	}
	assert_int_equal(mbedtls_ssl_setup(&c->ssl, &c->conf), 0);
	mbedtls_ssl_set_hostname(&c->ssl, "localhost"); /* mbedTLS 2.28 matches DNS SANs only */
	if (resume)
		mbedtls_ssl_set_session(&c->ssl, resume);
	c->net.fd = tcp_connect();
	mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send, mbedtls_net_recv, NULL);
	int rc;
	while ((rc = mbedtls_ssl_handshake(&c->ssl)) == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		;
	return rc;
}

static void cli_close(struct cli *c)
{
	mbedtls_net_free(&c->net);
	mbedtls_ssl_free(&c->ssl);
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_x509_crt_free(&c->crt);
	mbedtls_pk_free(&c->key);
}

static void cli_write(struct cli *c, const char *s)
{
	size_t n = strlen(s), off = 0;
	while (off < n) {
		int w = mbedtls_ssl_write(&c->ssl, (const unsigned char *)s + off, n - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
}

/* Reads one HTTP response with Content-Length; returns the body (malloc'd)
 * or NULL when the connection ended first. */
static char *cli_response(struct cli *c, size_t *blen)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t want = (size_t)-1;
	char *body = NULL;
	for (;;) {
		if (body && n - (size_t)(body - buf) >= want)
			break;
		if (n + 16384 + 1 > cap) {
			size_t off = body ? (size_t)(body - buf) : 0;
			cap *= 2;
			buf = realloc(buf, cap);
			if (body)
				body = buf + off;
		}
		int r = mbedtls_ssl_read(&c->ssl, (unsigned char *)buf + n, 16384);
		if (r == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		n += (size_t)r;
		buf[n] = '\0';
		if (!body) {
			char *e = strstr(buf, "\r\n\r\n");
			if (e) {
				body = e + 4;
				char *cl = strcasestr(buf, "Content-Length:");
				assert_non_null(cl);
				want = (size_t)atol(cl + 15);
			}
		}
	}
	size_t off = (size_t)(body - buf);
	memmove(buf, body, want);
	buf[want] = '\0';
	(void)off;
	*blen = want;
	return buf;
}

static char *get(struct cli *c, const char *uri, bool close)
{
	char req[512];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", uri, close ? "Connection: close\r\n" : "");
	cli_write(c, req);
	size_t n;
	return cli_response(c, &n);
}

/* True when the server closed the connection (EOF or reset) within ms. */
static bool closed_within(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char b[4096];
	for (;;) {
		ssize_t r = recv(fd, b, sizeof b, 0);
		if (r == 0)
			return true;
		if (r < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK;
	}
}

/* GET uri over a new TLS connection to port p. */
static char *stats_of(int p, const char *uri)
{
	int saved = target_port;
	target_port = p;
	struct cli c;
	assert_int_equal(cli_open(&c, NULL, NULL, NULL), 0);
	char *b = get(&c, uri, true);
	cli_close(&c);
	target_port = saved;
	assert_non_null(b);
	return b;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_keepalive_and_big(void **state)
{
	struct cli c;
	assert_int_equal(cli_open(&c, NULL, NULL, NULL), 0);
	assert_string_equal(mbedtls_ssl_get_version(&c.ssl), "TLSv1.2");
	const char *suite = mbedtls_ssl_get_ciphersuite(&c.ssl);
	assert_true(strstr(suite, "GCM") || strstr(suite, "CHACHA20"));
	for (int i = 0; i < 3; i++) {
		char *b = get(&c, "/one", false);
		assert_non_null(b);
		assert_string_equal(b, "ok /one");
		free(b);
	}
	/* Several MiB, then the server closes: every byte arrives first. */
	char req[128];
	snprintf(req, sizeof req, "GET /big/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5 << 20);
	cli_write(&c, req);
	size_t n = 0;
	char *b = cli_response(&c, &n);
	assert_non_null(b);
	assert_int_equal(n, 5 << 20);
	for (size_t i = 0; i < n; i += 4099)
		assert_int_equal(b[i], 'a' + i % 26);
	free(b);
	cli_close(&c);
	/* Between those requests the connection was idle with its record
	 * buffers released (and the sequence numbers carried over, or the
	 * next record would not have decrypted). */
	unsigned long parked = 0;
	char *st = stats_of(port, "/stats");
	assert_non_null(strstr(st, "parked="));
	parked = strtoul(strstr(st, "parked=") + 7, NULL, 10);
	assert_true(parked >= 3);
	free(st);
}

static void test_client_certs(void **state)
{
	struct cli c;
	assert_int_equal(cli_open(&c, path("admin.crt"), path("admin.key"), NULL), 0);
	char *b = get(&c, "/whoami", false);
	assert_string_equal(b, "tls=1 cert=1 cn=admin o=system:masters");
	free(b);
	cli_close(&c);
	assert_int_equal(cli_open(&c, NULL, NULL, NULL), 0);
	b = get(&c, "/whoami", false);
	assert_string_equal(b, "tls=1 cert=0 cn= o=");
	free(b);
	cli_close(&c);
	/* Another CA's certificate: the handshake fails (an alert, or the
	 * reset when the client was still writing as the server closed). */
	int rc = cli_open(&c, path("other.crt"), path("other.key"), NULL);
	assert_true(rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE || rc == MBEDTLS_ERR_NET_CONN_RESET ||
		    rc == MBEDTLS_ERR_SSL_CONN_EOF || rc == MBEDTLS_ERR_NET_SEND_FAILED || rc == MBEDTLS_ERR_NET_RECV_FAILED);
	cli_close(&c);
}

static void test_resumption(void **state)
{
	struct cli c;
	mbedtls_ssl_session sess;
	mbedtls_ssl_session_init(&sess);
	assert_int_equal(cli_open(&c, path("admin.crt"), path("admin.key"), NULL), 0);
	assert_int_equal(mbedtls_ssl_get_session(&c.ssl, &sess), 0);
	free(get(&c, "/one", true));
	cli_close(&c);
	assert_int_equal(cli_open(&c, NULL, NULL, &sess), 0);
	char *b = get(&c, "/whoami", false);
	/* The resumed session keeps the verified client identity. */
	assert_string_equal(b, "tls=1 cert=1 cn=admin o=system:masters");
	free(b);
	b = get(&c, "/stats", false);
	assert_non_null(strstr(b, "resumed=1 "));
	free(b);
	cli_close(&c);
	mbedtls_ssl_session_free(&sess);
}

static void test_plain_http_refused(void **state)
{
	int fd = tcp_connect();
	const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	char buf[1024];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof buf - 1 && (r = recv(fd, buf + n, sizeof buf - 1 - n, 0)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request"));
	assert_non_null(strstr(buf, "Client sent an HTTP request to an HTTPS server."));
	/* Garbage that is neither: closed. */
	fd = tcp_connect();
	assert_int_equal(send(fd, "\x01\x02\x03", 3, 0), 3);
	assert_true(closed_within(fd, 2000));
	close(fd);
}

static void test_deadlines(void **state)
{
	/* Silent after connecting: closed at the handshake deadline. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd = tcp_connect();
	assert_true(closed_within(fd, 10000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(s >= 2.9 && s < 8);

	/* A request head that never ends: closed at the head deadline, while
	 * another client is served meanwhile. */
	struct cli slow, ok;
	assert_int_equal(cli_open(&slow, NULL, NULL, NULL), 0);
	cli_write(&slow, "GET /one HTTP/1.1\r\nHost: x\r\n");
	assert_int_equal(cli_open(&ok, NULL, NULL, NULL), 0);
	char *b = get(&ok, "/one", false);
	assert_string_equal(b, "ok /one");
	free(b);
	usleep(100 * 1000);
	cli_write(&slow, "X-A: 1\r\n"); /* trickling does not extend it */
	assert_true(closed_within(slow.net.fd, 8000));
	cli_close(&slow);
	/* A complete request after idling is fine: the deadline covers a head. */
	usleep(2000 * 1000);
	b = get(&ok, "/two", false);
	assert_string_equal(b, "ok /two");
	free(b);
	cli_close(&ok);
}

/* The stats line of a server, over a fresh TLS connection. */
static char *stats(const char *which)
{
	struct cli c;
	assert_int_equal(cli_open(&c, NULL, NULL, NULL), 0);
	char *b = get(&c, which, true);
	cli_close(&c);
	assert_non_null(b);
	return b;
}

static void test_pending_quota_evicts_oldest_silent(void **state)
{
	/* 8 per address may be in their handshake (min(32, the per-client
	 * quota of 8)). A burst does not push out its own members: the 9th of
	 * 9 at once is refused. */
	int fds[12], burst;
	for (int i = 0; i < 8; i++)
		fds[i] = tcp_connect();
	burst = tcp_connect();
	assert_true(closed_within(burst, 1000));
	close(burst);
	/* Silent for over 200 ms, the 4 oldest make room for 4 new ones. */
	usleep(300 * 1000);
	for (int i = 8; i < 12; i++) {
		fds[i] = tcp_connect();
		usleep(20 * 1000);
	}
	for (int i = 0; i < 4; i++)
		assert_true(closed_within(fds[i], 1000));
	for (int i = 4; i < 12; i++)
		assert_false(closed_within(fds[i], 50));
	usleep(250 * 1000);
	/* A real client from the same address is served at once (not after the
	 * 3 s first-byte deadline): the oldest silent one goes instead. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct cli c;
	assert_int_equal(cli_open(&c, NULL, NULL, NULL), 0);
	char *b = get(&c, "/one", false);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(b, "ok /one");
	free(b);
	double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(sec < 1.5);
	assert_true(closed_within(fds[4], 1000));
	/* The established one does not count against the pending quota. */
	b = get(&c, "/stats", false);
	assert_non_null(strstr(b, "evicted=5 "));
	assert_non_null(strstr(b, "over=1 "));
	assert_non_null(strstr(b, "pending=7 "));
	assert_non_null(strstr(b, "established=1 "));
	free(b);
	cli_close(&c);
	for (int i = 0; i < 12; i++)
		close(fds[i]);
}

static void test_established_quota(void **state)
{
	/* 8 established connections per address; the 9th is closed once its
	 * handshake is through. */
	struct cli c[9];
	for (int i = 0; i < 8; i++) {
		assert_int_equal(cli_open(&c[i], NULL, NULL, NULL), 0);
		char *b = get(&c[i], "/one", false);
		assert_string_equal(b, "ok /one");
		free(b);
	}
	cli_open(&c[8], NULL, NULL, NULL);
	char req[] = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n";
	mbedtls_ssl_write(&c[8].ssl, (const unsigned char *)req, sizeof req - 1);
	size_t n;
	assert_null(cli_response(&c[8], &n));
	cli_close(&c[8]);
	char *b = get(&c[0], "/stats", false);
	assert_non_null(strstr(b, "over=1 "));
	free(b);
	for (int i = 0; i < 8; i++)
		cli_close(&c[i]);
}

/* ---- plain mode ----------------------------------------------------------------- */

static void send_all(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Reads one response (Content-Length); returns its body or NULL. */
static char *plain_response(int fd, size_t *blen)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	char *body = NULL;
	size_t want = 0;
	for (;;) {
		if (body && n - (size_t)(body - buf) >= want)
			break;
		if (n == cap) {
			size_t off = body ? (size_t)(body - buf) : 0;
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (body)
				body = buf + off;
		}
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		n += (size_t)r;
		buf[n] = '\0';
		if (!body && (body = strstr(buf, "\r\n\r\n"))) {
			body += 4;
			char *cl = strcasestr(buf, "Content-Length:");
			assert_non_null(cl);
			want = (size_t)atol(cl + 15);
		}
	}
	memmove(buf, body, want);
	buf[want] = '\0';
	*blen = want;
	return buf;
}

static char *plain_get(int fd, const char *uri)
{
	char req[256];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", uri);
	send_all(fd, req);
	size_t n;
	return plain_response(fd, &n);
}

static void test_plain_passes_through(void **state)
{
	int fd = tcp_connect_to(pport);
	/* Not a TLS connection: no peer (the hub gives it full access). */
	char *b = plain_get(fd, "/whoami");
	assert_string_equal(b, "tls=0 cert=0 cn= o=");
	free(b);
	for (int i = 0; i < 3; i++) {
		b = plain_get(fd, "/one");
		assert_string_equal(b, "ok /one");
		free(b);
	}
	/* A large response arrives whole before the close. */
	char req[128];
	snprintf(req, sizeof req, "GET /big/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3 << 20);
	send_all(fd, req);
	size_t n = 0;
	b = plain_response(fd, &n);
	assert_non_null(b);
	assert_int_equal(n, 3 << 20);
	for (size_t i = 0; i < n; i += 4099)
		assert_int_equal(b[i], 'a' + i % 26);
	free(b);
	close(fd);
}

static void test_plain_burst_of_real_clients(void **state)
{
	/* 6 connect at once (pending quota 4), then all send a request: the 2
	 * over the quota were on probation and stay, because they spoke. */
	int fds[6];
	for (int i = 0; i < 6; i++)
		fds[i] = tcp_connect_to(pport);
	usleep(50 * 1000);
	for (int i = 0; i < 6; i++)
		send_all(fds[i], "GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
	for (int i = 0; i < 6; i++) {
		size_t n;
		char *b = plain_response(fds[i], &n);
		assert_non_null(b);
		assert_string_equal(b, "ok /one");
		free(b);
	}
	char *b = plain_get(fds[0], "/pstats");
	assert_non_null(strstr(b, "over=0 "));
	assert_non_null(strstr(b, "established=6 "));
	free(b);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
}

static void test_plain_deadlines_and_quotas(void **state)
{
	struct timespec t0, t1;
	/* Silent: closed at the first-byte deadline (1 s). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int silent = tcp_connect_to(pport);
	assert_true(closed_within(silent, 5000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(silent);
	double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(sec >= 0.9 && sec < 3);
	/* Slowloris: a head trickling in is cut at the head deadline (1 s). */
	int slow = tcp_connect_to(pport);
	send_all(slow, "GET /one HTTP/1.1\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool cut = false;
	for (int i = 0; i < 40 && !cut; i++) {
		if (send(slow, "X", 1, MSG_NOSIGNAL) != 1)
			cut = true;
		else
			cut = closed_within(slow, 100);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(slow);
	sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(cut);
	assert_true(sec >= 0.9 && sec < 3);
	/* 4 silent per address: the oldest makes room; a request is served. */
	int fds[6];
	for (int i = 0; i < 6; i++) {
		fds[i] = tcp_connect_to(pport);
		usleep(i == 3 ? 300 * 1000 : 20 * 1000);
	}
	assert_true(closed_within(fds[0], 500));
	assert_true(closed_within(fds[1], 500));
	assert_false(closed_within(fds[2], 50));
	int ok = tcp_connect_to(pport);
	char *b = plain_get(ok, "/one");
	assert_string_equal(b, "ok /one");
	free(b);
	/* 6 established per address: a 7th is closed at its first byte. */
	int est[6];
	for (int i = 0; i < 5; i++) {
		est[i] = tcp_connect_to(pport);
		b = plain_get(est[i], "/one");
		assert_string_equal(b, "ok /one");
		free(b);
	}
	est[5] = tcp_connect_to(pport);
	send_all(est[5], "GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(closed_within(est[5], 1000));
	b = plain_get(ok, "/pstats");
	assert_non_null(strstr(b, "over=1 "));
	assert_null(strstr(b, "silent=0 ")); /* the others may have timed out too on a slow machine */
	assert_non_null(strstr(b, "header=1 "));
	assert_non_null(strstr(b, "established=6 "));
	free(b);
	close(ok);
	for (int i = 0; i < 6; i++)
		close(fds[i]), close(est[i]);
	free(stats("/stats"));
}


/* A server started again with the same ticket key file (a hub restart)
 * resumes the sessions the first one issued, client identity included;
 * one with other keys does a full handshake instead. */
static struct tls_server *start_second(const char *keys)
{
	char err[512] = "";
	struct tls_server_opts to = {.cert_file = path("hub.crt"), .key_file = path("hub.key"),
				     .client_ca_file = path("ca.crt"), .ticket_key_file = keys};
	struct tls_server *s = tls_server_new(base, &to, err, sizeof err);
	if (!s)
		print_error("%s\n", err);
	assert_non_null(s);
	struct evhttp *h = evhttp_new(base);
	evhttp_set_bevcb(h, tls_server_bevcb, s);
	evhttp_set_gencb(h, on_req, NULL);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(h, "127.0.0.1", 0);
	assert_non_null(bs);
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
	port2 = ntohs(sin.sin_port);
	http2 = h;
	srv2 = s;
	return s;
}

static void test_tickets_survive_restart(void **state)
{
	struct stat sb;
	assert_int_equal(stat(path("tickets.keys"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	struct cli c;
	mbedtls_ssl_session sess;
	mbedtls_ssl_session_init(&sess);
	assert_int_equal(cli_open(&c, path("admin.crt"), path("admin.key"), NULL), 0);
	assert_int_equal(mbedtls_ssl_get_session(&c.ssl, &sess), 0);
	assert_true(sess.ticket_len > 0);
	free(get(&c, "/one", true));
	cli_close(&c);

	start_second(path("tickets.keys"));
	target_port = port2;
	assert_int_equal(cli_open(&c, NULL, NULL, &sess), 0);
	char *b = get(&c, "/whoami", false);
	assert_string_equal(b, "tls=1 cert=1 cn=admin o=system:masters");
	free(b);
	b = get(&c, "/stats2", false);
	assert_non_null(strstr(b, "resumed=1 "));
	free(b);
	cli_close(&c);
	target_port = 0;
	mbedtls_ssl_session_free(&sess);
}

static void test_tickets_of_other_keys_not_resumed(void **state)
{
	struct cli c;
	mbedtls_ssl_session sess;
	mbedtls_ssl_session_init(&sess);
	assert_int_equal(cli_open(&c, path("admin.crt"), path("admin.key"), NULL), 0);
	assert_int_equal(mbedtls_ssl_get_session(&c.ssl, &sess), 0);
	free(get(&c, "/one", true));
	cli_close(&c);
	start_second(path("other.keys"));
	target_port = port2;
	assert_int_equal(cli_open(&c, NULL, NULL, &sess), 0);
	char *b = get(&c, "/whoami", false);
	assert_string_equal(b, "tls=1 cert=0 cn= o="); /* a full handshake, without a certificate */
	free(b);
	b = get(&c, "/stats2", false);
	assert_non_null(strstr(b, "resumed=0 "));
	free(b);
	cli_close(&c);
	target_port = 0;
	mbedtls_ssl_session_free(&sess);
}

struct bg {
	int rc;
	char *body;
};

static void *bg_get(void *arg)
{
	struct bg *g = arg;
	struct cli c;
	g->rc = cli_open(&c, NULL, NULL, NULL);
	if (g->rc == 0)
		g->body = get(&c, "/one", true);
	cli_close(&c);
	return NULL;
}

static char *plain_get(int fd, const char *uri);

static char *pstat(const char *uri)
{
	int fd = tcp_connect_to(pport);
	char *b = plain_get(fd, uri);
	close(fd);
	assert_non_null(b);
	return b;
}

static bool wait_stat(const char *uri, const char *want, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		char *b = pstat(uri);
		bool ok = strstr(b, want) != NULL;
		free(b);
		if (ok)
			return true;
		usleep(20 * 1000);
	}
	return false;
}

/* max_handshakes = 2: two handshakes that stall hold both turns; a third
 * client waits (its ClientHello unread) and completes once one ends. */
static void test_handshake_turns(void **state)
{
	int st[2];
	for (int i = 0; i < 2; i++) {
		st[i] = tcp_connect();
		assert_int_equal(send(st[i], "\x16\x03\x01\x00\x80", 5, 0), 5); /* a record header; the rest never comes */
	}
	assert_true(wait_stat("/stats", "handshaking=2 ", 3000));
	struct bg g = {.rc = 1};
	pthread_t t;
	pthread_create(&t, NULL, bg_get, &g);
	assert_true(wait_stat("/stats", "queued=1 ", 3000));
	usleep(300 * 1000);
	char *b = pstat("/stats");
	assert_non_null(strstr(b, "handshakes=0 ")); /* still waiting */
	free(b);
	assert_int_equal(g.rc, 1);
	close(st[0]);
	pthread_join(t, NULL);
	assert_int_equal(g.rc, 0);
	assert_non_null(g.body);
	assert_string_equal(g.body, "ok /one");
	free(g.body);
	close(st[1]);
	assert_true(wait_stat("/stats", "handshaking=0 ", 3000));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keepalive_and_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_certs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_http_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_quota_evicts_oldest_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_established_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_passes_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_burst_of_real_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_deadlines_and_quotas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tickets_survive_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tickets_of_other_keys_not_resumed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_turns, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
