#include "listenguard.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#define MAX_LISTENERS 16
#define PAUSE_MIN_MS 100
#define PAUSE_MAX_MS 1000
#define QUIET_MS 1000     /* accepting this long without an error ends an episode */
#define SUMMARY_EVERY_S 10
#define LISTEN_BACKLOG 65535

enum state { ACCEPTING, PAUSED, PROBING };

static struct {
	struct evconnlistener *lev[MAX_LISTENERS];
	const void *owner[MAX_LISTENERS];
	char name[MAX_LISTENERS][64];
	int n;
	int reserve; /* -1: none (yet) */
	struct event_base *base;
	struct event *timer;
	enum state state;
	int pause_ms;
	int last_err;
	struct timespec episode_start;
	time_t last_shed;
	time_t last_summary;
	unsigned long ep_pauses, ep_shed;
	struct listenguard_stats st;
} G = {.reserve = -1};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void reserve_open(void)
{
	if (G.reserve < 0)
		G.reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static bool exhausted(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Closes fd, first answering 503 if it already sent a plain HTTP request
 * (client-go retries a 503 with Retry-After by itself). */
static void shed(int fd)
{
	static const char body[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
				   "\"message\":\"the server is out of file descriptors, try again later\","
				   "\"reason\":\"ServiceUnavailable\",\"code\":503}\n";
	unsigned char first;
	if (recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT) == 1 && isupper(first)) {
		char msg[512];
		int n = snprintf(msg, sizeof msg,
				 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
				 "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
				 sizeof body - 1, body);
		if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("listenguard: cannot answer a shed connection: %s", strerror(errno));
	}
	close(fd);
}

static void set_all(bool enable)
{
	for (int i = 0; i < G.n; i++)
		if (enable)
			evconnlistener_enable(G.lev[i]);
		else
			evconnlistener_disable(G.lev[i]);
	G.st.paused = !enable;
}

static void arm(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(G.timer, &tv);
}

static void summary_if_due(void)
{
	time_t now = time(NULL);
	if (now - G.last_summary < SUMMARY_EVERY_S)
		return;
	G.last_summary = now;
	log_warn("still not accepting connections most of the time, %.0f s into it (%s; descriptor limit %lld): %lu pauses, "
		 "%lu pending connections shed",
		 since(&G.episode_start), strerror(G.last_err), G.st.fd_limit, G.ep_pauses, G.ep_shed);
}

/* Stops accepting everywhere for a moment. */
static void pause_all(int err, const char *name, bool shed_one)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		G.st.fd_limit = rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
	G.st.pauses++;
	G.ep_pauses++;
	G.last_err = err;
	set_all(false);
	if (G.state == ACCEPTING) {
		G.st.episodes++;
		G.pause_ms = PAUSE_MIN_MS;
		G.ep_pauses = 1;
		G.ep_shed = shed_one;
		clock_gettime(CLOCK_MONOTONIC, &G.episode_start);
		G.last_summary = time(NULL);
		log_warn("%s: accept failed (%s; descriptor limit %lld): not accepting connections for %d ms%s%s", name,
			 strerror(err), G.st.fd_limit, G.pause_ms, shed_one ? "; the oldest pending connection was closed" : "",
			 exhausted(err) ? " (more pauses, up to 1 s each, are summarised every 10 s)" : "");
	} else {
		G.pause_ms = G.pause_ms * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : G.pause_ms * 2;
		summary_if_due();
	}
	G.state = PAUSED;
	arm(G.pause_ms);
}

static void on_accept_error(struct evconnlistener *lev, void *ud)
{
	int err = EVUTIL_SOCKET_ERROR();
	int i = 0;
	while (i < G.n && G.lev[i] != lev)
		i++;
	if (i == G.n) { /* not ours (forgotten): stop it spinning all the same */
		evconnlistener_disable(lev);
		return;
	}
	bool shed_one = false;
	time_t now = time(NULL);
	if (exhausted(err) && G.reserve >= 0 && now != G.last_shed) {
		G.last_shed = now; /* at most one a second: waiting may be the better deal for the others */
		/* The reserve descriptor lets the oldest waiting client know now. */
		close(G.reserve);
		G.reserve = -1;
		int fd = accept4(evconnlistener_get_fd(lev), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			shed(fd);
			shed_one = true;
			G.st.shed++;
			G.ep_shed++;
		}
		reserve_open();
	}
	pause_all(err, G.name[i], shed_one);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	if (G.state == PAUSED) {
		reserve_open();
		if (G.reserve < 0 && exhausted(G.last_err)) {
			/* Not even one descriptor free: no point in trying accept(). */
			G.st.pauses++;
			G.ep_pauses++;
			G.pause_ms = G.pause_ms * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : G.pause_ms * 2;
			summary_if_due();
			arm(G.pause_ms);
			return;
		}
		set_all(true);
		G.state = PROBING;
		arm(QUIET_MS);
		return;
	}
	if (G.state == PROBING) {
		log_info("accepting connections again after %.1f s (%s): %lu pauses, %lu pending connections shed",
			 since(&G.episode_start) - QUIET_MS / 1000.0, strerror(G.last_err), G.ep_pauses, G.ep_shed);
		G.state = ACCEPTING;
	}
}

void listenguard_fd_freed(void)
{
	if (G.state != PAUSED)
		return;
	reserve_open();
	if (G.reserve < 0)
		return;
	set_all(true);
	G.state = PROBING;
	event_del(G.timer);
	arm(QUIET_MS);
}

void listenguard_attach(struct evconnlistener *lev, const void *owner, const char *name)
{
	if (!lev || G.n == MAX_LISTENERS)
		return;
	struct event_base *base = evconnlistener_get_base(lev);
	if (!G.timer) {
		G.base = base;
		G.timer = event_new(base, -1, 0, on_timer, NULL);
	} else if (base != G.base) {
		return; /* one event loop per process in the programs */
	}
	G.lev[G.n] = lev;
	G.owner[G.n] = owner;
	snprintf(G.name[G.n], sizeof G.name[G.n], "%s", name ? name : "listener");
	G.n++;
	evconnlistener_set_error_cb(lev, on_accept_error);
	/* evhttp listens with a backlog of 128: a fleet reconnecting after a
	 * restart (thousands of agents at once) overflows it and its SYNs are
	 * dropped, costing each a 1-3 s retransmission. Ask for the kernel's
	 * maximum (listen() caps it at net.core.somaxconn). */
	evutil_socket_t lfd = evconnlistener_get_fd(lev);
	if (lfd >= 0 && listen(lfd, LISTEN_BACKLOG) != 0)
		log_debug("listenguard: cannot raise the listen backlog of %s: %s", G.name[G.n - 1], strerror(errno));
	reserve_open();
	if (!G.st.fd_limit) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
			G.st.fd_limit = rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
	}
	if (G.state != ACCEPTING)
		evconnlistener_disable(lev);
}

void listenguard_forget(const void *owner)
{
	for (int i = 0; i < G.n;) {
		if (G.owner[i] != owner) {
			i++;
			continue;
		}
		evconnlistener_set_error_cb(G.lev[i], NULL);
		G.n--;
		G.lev[i] = G.lev[G.n];
		G.owner[i] = G.owner[G.n];
		memcpy(G.name[i], G.name[G.n], sizeof G.name[i]);
	}
	if (G.n == 0 && G.timer) {
		event_free(G.timer);
		G.timer = NULL;
		G.base = NULL;
		G.state = ACCEPTING;
		G.st.paused = false;
		if (G.reserve >= 0)
			close(G.reserve);
		G.reserve = -1;
	}
}

void listenguard_stats(struct listenguard_stats *out)
{
	*out = G.st;
}

int listenguard_default_max_conns(void)
{
	long long lim = G.st.fd_limit;
	if (lim == 0) { /* setup not run: the limit as it is */
		struct rlimit rl;
		lim = getrlimit(RLIMIT_NOFILE, &rl) != 0 ? 1024 : rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
	}
	if (lim < 0 || lim > 1000000 + LISTENGUARD_FD_RESERVE)
		return 1000000;
	long long n = lim - LISTENGUARD_FD_RESERVE;
	if (n < lim / 2)
		n = lim / 2;
	return n > 0 ? (int)n : 1;
}

int listenguard_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

/* ---- process set-up ------------------------------------------------------------------ */

void listenguard_setup_process(void)
{
	/* libevent's own messages go through the logger (log_attach), which
	 * collapses repeats such as a flood of accept() errors. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("cannot read the file descriptor limit: %s", strerror(errno));
		return;
	}
	rlim_t was = rl.rlim_cur, want = rl.rlim_max;
	if (want == RLIM_INFINITY) {
		/* The kernel's ceiling for RLIMIT_NOFILE. */
		want = 1048576;
		FILE *f = fopen("/proc/sys/fs/nr_open", "r");
		unsigned long long v;
		if (f) {
			if (fscanf(f, "%llu", &v) == 1 && v > 0)
				want = (rlim_t)v;
			fclose(f);
		}
	}
	if (was != RLIM_INFINITY && was < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the file descriptor limit from %llu to %llu: %s", (unsigned long long)was,
				 (unsigned long long)want, strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	G.st.fd_limit = rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
	char hard[32] = "unlimited";
	if (rl.rlim_max != RLIM_INFINITY)
		snprintf(hard, sizeof hard, "%llu", (unsigned long long)rl.rlim_max);
	if (rl.rlim_cur != was)
		log_info("file descriptor limit %lld (raised from %llu; hard limit %s)", G.st.fd_limit, (unsigned long long)was,
			 hard);
	else
		log_info("file descriptor limit %lld (hard limit %s)", G.st.fd_limit, hard);
}
