/* hub/stream.c over a real evhttp listener and a raw client socket: a
 * stream whose client goes away while it is held (or streaming) ends once,
 * with STREAM_END_CLIENT, and frees its request; a deadline ends a chunked
 * stream cleanly and hands a held one to its owner; a client too far behind
 * is cut off; the heartbeat is sent on its interval. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "apiserver.h"
#include "stream.h"

static struct event_base *base;
static struct evhttp *http;
static int port;

/* What the handler does with the next request, and what happened. */
static struct stream_config next_cfg;
static const char *first_write;  /* written right after the open */
static bool check_behind;        /* then stream_behind() */
static struct stream *cur;
static int ends;
static enum stream_end last_why;
static bool behind_result;
static char got[8192];
static size_t ngot;

static void on_end(struct stream *s, enum stream_end why, void *ud)
{
	assert_ptr_equal(s, cur);
	ends++;
	last_why = why;
	cur = NULL;
}

static void answer_410(struct stream *s, void *ud)
{
	struct api_req rq = stream_release(s);
	api_send_status(&rq, 410, "Expired", "gone");
}

static void on_req(struct evhttp_request *req, void *arg)
{
	struct stream_config c = next_cfg;
	c.on_end = on_end;
	struct api_req rq = {NULL, req, NULL}; /* no apiserver: answers are sent at once */
	cur = stream_open(&rq, &c);
	assert_non_null(cur);
	if (first_write)
		stream_write(cur, first_write, strlen(first_write));
	if (check_behind)
		behind_result = stream_behind(cur);
}

static int setup(void **state)
{
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, on_req, NULL);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	assert_non_null(bs);
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	memset(&next_cfg, 0, sizeof next_cfg);
	next_cfg.deadline_s = -1;
	first_write = NULL;
	check_behind = behind_result = false;
	cur = NULL;
	ends = 0;
	ngot = 0;
	got[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	evhttp_free(http);
	event_base_loop(base, EVLOOP_NONBLOCK); /* finalizes closed connections */
	event_base_free(base);
	return 0;
}

static int client(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	const char *rq = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";
	assert_int_equal(write(fd, rq, strlen(rq)), (ssize_t)strlen(rq));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the loop and reads what the client got until cond() holds or
 * seconds pass; returns cond(). */
static bool pump(int fd, bool (*cond)(void), double seconds)
{
	double end = now_s() + seconds;
	while (!cond() && now_s() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (fd >= 0) {
			ssize_t n;
			while (ngot < sizeof got - 1 && (n = read(fd, got + ngot, sizeof got - 1 - ngot)) > 0)
				ngot += (size_t)n;
			got[ngot] = '\0';
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return cond();
}

static bool opened(void) { return cur != NULL; }
static bool ended(void) { return ends > 0; }
static bool got_status(void) { return strstr(got, "\r\n\r\n") != NULL; }
static bool got_last_chunk(void) { return strstr(got, "\r\n0\r\n\r\n") != NULL; }
static bool got_heartbeat(void) { return strstr(got, "\r\n1\r\n\n\r\n") != NULL; }
static bool got_410_body(void) { return strstr(got, "\"code\":410") != NULL; }

/* libevent 2.1 does not read a connection whose request waits for its
 * answer, so a client that went away while held is noticed when the answer
 * is written: the stream still ends once, at its deadline. */
static void test_close_while_held(void **state)
{
	next_cfg.mode = STREAM_HELD;
	next_cfg.deadline_s = 1;
	next_cfg.conn_timeout_s = 60;
	int fd = client();
	assert_true(pump(fd, opened, 5));
	assert_int_equal(ngot, 0); /* nothing is sent while held */
	close(fd);
	assert_true(pump(-1, ended, 5));
	assert_int_equal(ends, 1);
	assert_int_equal(last_why, STREAM_END_DEADLINE);
	assert_null(cur);
}

static void test_close_while_streaming(void **state)
{
	next_cfg.mode = STREAM_CHUNKED;
	next_cfg.heartbeat_s = 10;
	next_cfg.heartbeat = "\n";
	int fd = client();
	assert_true(pump(fd, got_status, 5));
	assert_non_null(strstr(got, "HTTP/1.1 200 OK\r\n"));
	assert_int_equal(ends, 0);
	close(fd);
	assert_true(pump(-1, ended, 5));
	assert_int_equal(ends, 1);
	assert_int_equal(last_why, STREAM_END_CLIENT);
}

static void test_deadline_ends_chunked_stream(void **state)
{
	next_cfg.mode = STREAM_CHUNKED;
	next_cfg.deadline_s = 0; /* passed already: ends from the loop */
	first_write = "hello";
	int fd = client();
	assert_true(pump(fd, got_last_chunk, 5));
	assert_non_null(strstr(got, "\r\n5\r\nhello\r\n"));
	assert_int_equal(ends, 1);
	assert_int_equal(last_why, STREAM_END_DEADLINE);
	close(fd);
}

static void test_deadline_hands_held_stream_to_owner(void **state)
{
	next_cfg.mode = STREAM_HELD;
	next_cfg.deadline_s = 1;
	next_cfg.on_deadline = answer_410;
	int fd = client();
	assert_true(pump(fd, opened, 5));
	double t0 = now_s();
	assert_true(pump(fd, got_410_body, 5));
	assert_true(now_s() - t0 > 0.5); /* not before its deadline */
	assert_non_null(strstr(got, "HTTP/1.1 410 "));
	assert_int_equal(ends, 1);
	assert_int_equal(last_why, STREAM_END_RELEASED);
	close(fd);
}

static void test_client_behind_is_cut_off(void **state)
{
	next_cfg.mode = STREAM_CHUNKED;
	next_cfg.name = "test";
	next_cfg.max_buffered = 16;
	/* The answer's head and this chunk wait in the output buffer until the
	 * loop writes them: more than 16 bytes behind. */
	first_write = "a chunk longer than sixteen bytes";
	check_behind = true;
	fprintf(stderr, "(expected: the next line reports a client cut off)\n");
	int fd = client();
	assert_true(pump(fd, ended, 5));
	assert_true(behind_result);
	assert_int_equal(last_why, STREAM_END_BEHIND);
	/* It still ends cleanly for the client. */
	assert_true(pump(fd, got_last_chunk, 5));
	close(fd);
}

static void test_client_keeping_up_is_not_cut_off(void **state)
{
	next_cfg.mode = STREAM_CHUNKED;
	next_cfg.max_buffered = 1 << 20;
	first_write = "a chunk longer than sixteen bytes";
	check_behind = true;
	int fd = client();
	assert_true(pump(fd, opened, 5));
	assert_false(behind_result);
	assert_int_equal(ends, 0);
	stream_end(cur);
	assert_int_equal(last_why, STREAM_END_SERVER);
	assert_true(pump(fd, got_last_chunk, 5));
	close(fd);
}

static void test_heartbeat(void **state)
{
	next_cfg.mode = STREAM_CHUNKED;
	next_cfg.heartbeat_s = 1;
	next_cfg.heartbeat = "\n";
	int fd = client();
	assert_true(pump(fd, got_status, 5));
	assert_false(got_heartbeat());
	assert_true(pump(fd, got_heartbeat, 5));
	assert_int_equal(ends, 0);
	stream_end(cur);
	assert_true(pump(fd, got_last_chunk, 5));
	close(fd);
}

static void test_end_held_answers_503(void **state)
{
	next_cfg.mode = STREAM_HELD;
	int fd = client();
	assert_true(pump(fd, opened, 5));
	stream_end(cur);
	assert_int_equal(last_why, STREAM_END_SERVER);
	assert_true(pump(fd, got_status, 5));
	assert_non_null(strstr(got, "HTTP/1.1 503 "));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_close_while_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_streaming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_ends_chunked_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_hands_held_stream_to_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_behind_is_cut_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_keeping_up_is_not_cut_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_held_answers_503, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
