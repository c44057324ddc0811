/* bench_tls — TLS figures for a running hub (figures, not a pass/fail test).
 *
 *   bench_tls --port TLS_PORT --plain-port PORT --dir DATA_DIR [--seconds N] [--requests N] [--path P]
 *
 * Prints, one per line:
 *   full handshakes/s      new TLS 1.2 sessions (ECDHE-ECDSA P-256, client certificate), sequential
 *   resumed handshakes/s   the same with a saved session (ticket), sequential
 *   p50/p99 of GET PATH    over one established keep-alive connection, TLS and plain HTTP
 * The client is mbedTLS on the same machine, so the figures include its
 * own cost. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

static int port, plain_port, hub_pid;
static const char *dir = ".", *path = "/api/v1/namespaces/default";
static mbedtls_ssl_config conf;
static mbedtls_x509_crt ca, crt;
static mbedtls_pk_context key;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_entropy_context entropy;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds the hub has used (utime + stime), or -1. */
static double hub_cpu(void)
{
	if (!hub_pid)
		return -1;
	char p[64], buf[1024];
	snprintf(p, sizeof p, "/proc/%d/stat", hub_pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int tcp(int p)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
		perror("connect");
		exit(1);
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int handshake(mbedtls_ssl_context *ssl, mbedtls_net_context *net, mbedtls_ssl_session *resume)
{
	mbedtls_ssl_init(ssl);
	if (mbedtls_ssl_setup(ssl, &conf) != 0)
		return -1;
	mbedtls_ssl_set_hostname(ssl, "localhost");
	if (resume)
		mbedtls_ssl_set_session(ssl, resume);
	net->fd = tcp(port);
	mbedtls_ssl_set_bio(ssl, net, mbedtls_net_send, mbedtls_net_recv, NULL);
	int rc;
	while ((rc = mbedtls_ssl_handshake(ssl)) == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		;
	return rc;
}

static void hs_bench(double seconds, bool resume)
{
	mbedtls_ssl_session sess;
	mbedtls_ssl_session_init(&sess);
	if (resume) {
		mbedtls_ssl_context ssl;
		mbedtls_net_context net;
		if (handshake(&ssl, &net, NULL) != 0 || mbedtls_ssl_get_session(&ssl, &sess) != 0) {
			fprintf(stderr, "first handshake failed\n");
			exit(1);
		}
		mbedtls_ssl_close_notify(&ssl);
		mbedtls_net_free(&net);
		mbedtls_ssl_free(&ssl);
	}
	int n = 0;
	double t0 = now(), c0 = hub_cpu();
	while (now() - t0 < seconds) {
		mbedtls_ssl_context ssl;
		mbedtls_net_context net;
		if (handshake(&ssl, &net, resume ? &sess : NULL) != 0) {
			fprintf(stderr, "handshake failed\n");
			exit(1);
		}
		mbedtls_ssl_close_notify(&ssl);
		mbedtls_net_free(&net);
		mbedtls_ssl_free(&ssl);
		n++;
	}
	double c1 = hub_cpu();
	printf("%-26s %8.0f /s  (%d in %.1fs, client and hub on one machine)", resume ? "resumed handshakes" : "full handshakes",
	       n / (now() - t0), n, seconds);
	if (c0 >= 0 && c1 > c0)
		printf("; hub CPU %.2f ms each, i.e. %.0f/s per core", (c1 - c0) * 1000 / n, n / (c1 - c0));
	printf("\n");
	mbedtls_ssl_session_free(&sess);
}

/* One request/response; returns 0 when a complete response arrived. */
static int roundtrip(int (*wr)(void *, const unsigned char *, size_t), int (*rd)(void *, unsigned char *, size_t),
		     void *ctx)
{
	char req[512];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n", path);
	for (int off = 0; off < n;) {
		int w = wr(ctx, (const unsigned char *)req + off, (size_t)(n - off));
		if (w <= 0)
			return -1;
		off += w;
	}
	static char buf[1 << 16];
	size_t got = 0;
	long want = -1;
	char *body = NULL;
	for (;;) {
		int r = rd(ctx, (unsigned char *)buf + got, sizeof buf - 1 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = '\0';
		if (!body && (body = strstr(buf, "\r\n\r\n"))) {
			body += 4;
			char *cl = strcasestr(buf, "Content-Length:");
			want = cl ? atol(cl + 15) : 0;
		}
		if (body && (long)(got - (size_t)(body - buf)) >= want)
			return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
	}
}

static int tls_wr(void *c, const unsigned char *b, size_t n) { return mbedtls_ssl_write(c, b, n); }
static int tls_rd(void *c, unsigned char *b, size_t n) { return mbedtls_ssl_read(c, b, n); }
static int fd_wr(void *c, const unsigned char *b, size_t n) { return (int)send(*(int *)c, b, n, 0); }
static int fd_rd(void *c, unsigned char *b, size_t n) { return (int)recv(*(int *)c, b, n, 0); }

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void latency(const char *name, int requests, int (*wr)(void *, const unsigned char *, size_t),
		    int (*rd)(void *, unsigned char *, size_t), void *ctx, double *p99_out)
{
	double *lat = malloc(sizeof *lat * (size_t)requests);
	for (int i = 0; i < 200; i++) /* warm up */
		roundtrip(wr, rd, ctx);
	double t0 = now();
	for (int i = 0; i < requests; i++) {
		double a = now();
		if (roundtrip(wr, rd, ctx) != 0) {
			fprintf(stderr, "%s: request failed\n", name);
			exit(1);
		}
		lat[i] = (now() - a) * 1e6;
	}
	double total = now() - t0;
	qsort(lat, (size_t)requests, sizeof *lat, cmp);
	printf("%-26s p50 %6.0f us  p99 %6.0f us  (%d requests, %.0f/s, one connection)\n", name,
	       lat[requests / 2], lat[requests * 99 / 100], requests, requests / total);
	*p99_out = lat[requests * 99 / 100];
	free(lat);
}

int main(int argc, char **argv)
{
	double seconds = 5;
	int requests = 5000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--plain-port"))
			plain_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--requests"))
			requests = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--hub-pid"))
			hub_pid = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--path"))
			path = argv[i + 1];
	}
	if (!port) {
		fprintf(stderr, "usage: bench_tls --port TLS_PORT [--plain-port PORT] --dir DATA_DIR [--seconds N] [--requests N] [--path P]\n");
		return 2;
	}
	char p[4096];
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	snprintf(p, sizeof p, "%s/ca.crt", dir);
	if (mbedtls_x509_crt_parse_file(&ca, p) != 0) {
		fprintf(stderr, "cannot read %s\n", p);
		return 1;
	}
	snprintf(p, sizeof p, "%s/admin.crt", dir);
	mbedtls_x509_crt_parse_file(&crt, p);
	snprintf(p, sizeof p, "%s/admin.key", dir);
	mbedtls_pk_parse_keyfile(&key, p, NULL);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_own_cert(&conf, &crt, &key);
	mbedtls_ssl_conf_session_tickets(&conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);

	hs_bench(seconds, false);
	hs_bench(seconds, true);

	mbedtls_ssl_context ssl;
	mbedtls_net_context net;
	if (handshake(&ssl, &net, NULL) != 0) {
		fprintf(stderr, "handshake failed\n");
		return 1;
	}
	printf("%-26s %s, %s\n", "negotiated", mbedtls_ssl_get_version(&ssl), mbedtls_ssl_get_ciphersuite(&ssl));
	double p99_tls = 0, p99_plain = 0;
	latency("small GET over TLS", requests, tls_wr, tls_rd, &ssl, &p99_tls);
	mbedtls_ssl_close_notify(&ssl);
	mbedtls_net_free(&net);
	mbedtls_ssl_free(&ssl);
	if (plain_port) {
		int fd = tcp(plain_port);
		latency("small GET over plain HTTP", requests, fd_wr, fd_rd, &fd, &p99_plain);
		close(fd);
		printf("%-26s %.2fx (target <= 1.5x)\n", "p99 TLS / plain", p99_tls / p99_plain);
	}
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return 0;
}
