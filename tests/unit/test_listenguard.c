/* hub/listenguard.c in one process: an evhttp listener whose process runs
 * out of descriptors pauses instead of spinning on accept() (little CPU, a
 * pause counted, one waiting connection shed with the reserve descriptor),
 * and serves again once descriptors are free; forgetting the listener
 * leaves nothing behind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "listenguard.h"

static struct event_base *base;
static struct evhttp *http;
static pthread_t loop_thread;
static int port;

static void on_req(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "ok");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void *run_loop(void *arg)
{
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int connect_nb(int fd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0 || errno == EINPROGRESS ? 0 : -1;
}

/* One GET on a fresh connection; true when answered 200. */
static bool served(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	bool ok = false;
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0) {
		const char *req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
		send(fd, req, strlen(req), MSG_NOSIGNAL);
		char buf[512];
		ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
		ok = n > 0 && (buf[n] = '\0', strstr(buf, " 200 ") != NULL);
	}
	close(fd);
	return ok;
}

static void test_pause_and_resume(void **state)
{
	evthread_use_pthreads();
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, on_req, NULL);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	assert_non_null(bs);
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);

	/* Client sockets first (they need descriptors too), then a limit that
	 * leaves the server a handful (the guard's reserve descriptor is taken
	 * under it, as in a server whose limit does not shrink), then the
	 * connections. */
	enum { N = 40 };
	int fds[N];
	for (int i = 0; i < N; i++)
		assert_true((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	struct rlimit old;
	getrlimit(RLIMIT_NOFILE, &old);
	int open_now = listenguard_open_fds();
	assert_true(open_now > 0);
	int top = 0; /* the highest open descriptor must stay under the limit */
	for (int fd = 0; fd < 65536; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			top = fd;
	/* Room for 6 more above the highest open descriptor: a process may
	 * inherit descriptors 0..top without a hole (CI does). */
	struct rlimit low = {.rlim_cur = (rlim_t)top + 1 + 6, .rlim_max = old.rlim_max};
	if (setrlimit(RLIMIT_NOFILE, &low) != 0) {
		/* valgrind keeps the descriptor limit to itself */
		print_message("cannot lower RLIMIT_NOFILE here (%s); skipping\n", strerror(errno));
		for (int i = 0; i < N; i++)
			close(fds[i]);
		event_base_loopbreak(base);
		evhttp_free(http);
		event_base_free(base);
		skip();
	}
	/* Fill the holes under it, then give 6 back. */
	static int filler[65536];
	int nfill = 0, f;
	while (nfill < 65536 && (f = open("/dev/null", O_RDONLY)) >= 0)
		filler[nfill++] = f;
	assert_true(nfill >= 6);
	for (int i = 0; i < 6; i++)
		close(filler[i]);
	listenguard_attach(evhttp_bound_socket_get_listener(bs), http, "test");
	pthread_create(&loop_thread, NULL, run_loop, NULL);
	for (int i = 0; i < N; i++)
		assert_int_equal(connect_nb(fds[i]), 0);
	struct listenguard_stats st;
	/* Both, however slow the machine: a pause, and a connection shed
	 * through the reserve descriptor (at most one a second). */
	for (int i = 0; i < 500; i++) {
		listenguard_stats(&st);
		if (st.pauses > 0 && st.shed >= 1)
			break;
		usleep(10 * 1000);
	}
	assert_true(st.pauses > 0);
	assert_true(st.shed >= 1);
	double c0 = cpu_seconds();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	usleep(1000 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double cpu = (cpu_seconds() - c0) / wall;
	print_message("out of descriptors: %.1f%% of a core, %lu pauses, %lu shed\n", cpu * 100, st.pauses, st.shed);
	assert_true(cpu < 0.15);

	/* Descriptors back: served again within the longest pause. */
	for (int i = 0; i < N; i++)
		close(fds[i]);
	for (int i = 6; i < nfill; i++)
		close(filler[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	bool ok = false;
	for (int i = 0; i < 30 && !ok; i++) {
		ok = served();
		if (!ok)
			usleep(100 * 1000);
	}
	assert_true(ok);

	event_base_loopbreak(base);
	pthread_join(loop_thread, NULL);
	listenguard_forget(http);
	evhttp_free(http);
	event_base_free(base);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_and_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
