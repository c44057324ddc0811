/* libFuzzer: raw bytes sent to a running API server, in-process: to the
 * plain listener (evhttp's request parser, routing, authorization, body
 * decoding, handlers, the store) when the first byte is even, else to the
 * TLS listener (the mbedTLS glue: sniffing, handshake, records). The loop
 * runs until the server closes the connection or 200 ms pass. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "apiserver.h"
#include "log.h"
#include "pki.h"
#include "tlsauth.h"
#include "store.h"

static struct event_base *base;
static int plain_port, tls_port;
static char dir[] = "/tmp/atoll-fuzz-http-XXXXXX";

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_setup("fuzz", LOG_ERROR, LOG_TEXT);
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	char err[512] = "";
	struct pki_init_opts o = {.dir = dir, .nhosts = 1, .hosts = {"127.0.0.1"}};
	if (pki_init(&o, err, sizeof err) < 0)
		abort();
	struct store *st = store_open_sqlite(dir, err, sizeof err);
	if (!st)
		abort();
	base = event_base_new();
	struct apiserver_config cfg = {.minor = "31", .git_version = "v1.31.0", .component = "fuzz", .request_timeout_s = 2};
	struct apiserver *api = apiserver_new(base, st, &cfg);
	struct tlsauth_opts so = {.data_dir = dir, .listen = "127.0.0.1:0", .handshake_timeout_ms = 500,
				 .header_timeout_ms = 500};
	struct tlsauth *sec = tlsauth_start(base, api, &so, &tls_port, err, sizeof err);
	if (!sec)
		abort();
	plain_port = tlsauth_listen_insecure(sec, api, "127.0.0.1:0", err, sizeof err); /* as atoll-hub serve */
	if (plain_port < 0)
		abort();
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	/* Close with a reset: hundreds of thousands of inputs would otherwise
	 * use up the ephemeral ports in TIME_WAIT. */
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	for (int tries = 0; connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0; tries++) {
		if (tries == 100) {
			perror("fuzz_http: connect"); /* the harness, not the server */
			abort();
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base)
		setup();
	if (size < 1 || size > 65536)
		return 0;
	int fd = connect_to(data[0] % 2 ? tls_port : plain_port);
	size_t off = 1;
	double t0 = now();
	bool eof = false, shut = false;
	char buf[65536];
	while (now() - t0 < 0.2 && !eof) {
		if (off < size) {
			ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN)
				break;
		} else if (!shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		for (;;) {
			ssize_t r = recv(fd, buf, sizeof buf, 0);
			if (r == 0 || (r < 0 && errno != EAGAIN))
				eof = true;
			if (r <= 0)
				break;
		}
	}
	close(fd);
	/* Let the server notice the close before the next input. */
	for (int i = 0; i < 3; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
