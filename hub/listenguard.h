/* listenguard — keeps the process's listeners calm when it runs out of file
 * descriptors, and its descriptor limit as high as it is allowed.
 * Owns: the accept-error handling of every evhttp listener attached here
 * (libevent's own handling logs "Error from accept() call" and retries at
 * once, forever: a busy loop and a log flood while descriptors are out),
 * the reserve descriptor, the pause/resume timer and the process's
 * RLIMIT_NOFILE at start. (libevent's own log messages go through log.h,
 * which collapses repeats: log_attach.)
 *
 * When accept() fails for lack of descriptors (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM), every attached listener stops accepting for a moment: 100 ms,
 * doubling while it keeps failing, up to 1 s, or until a connection closes
 * (listenguard_fd_freed). At most once a second, before pausing, the
 * reserve descriptor (an open /dev/null) is closed so that the oldest
 * pending connection can be accepted and closed at once (answered 503 with
 * Retry-After when it already sent a plain HTTP request), then reopened:
 * a client waiting in the backlog learns the hub is overloaded instead of
 * hanging. One warning starts such an episode, one line every 10 s
 * summarises it while it lasts, and one line ends it. Other accept errors
 * pause the same way. */
#ifndef ATOLL_LISTENGUARD_H
#define ATOLL_LISTENGUARD_H

#include <stdbool.h>
#include <event2/listener.h>

/* Guards lev (e.g. evhttp_bound_socket_get_listener). owner identifies the
 * evhttp it belongs to, for listenguard_forget; name is for logs. */
void listenguard_attach(struct evconnlistener *lev, const void *owner, const char *name);
/* Forgets owner's listeners; call before freeing them (evhttp_free). */
void listenguard_forget(const void *owner);
/* A connection was closed: while paused, accepting resumes at once. */
void listenguard_fd_freed(void);

/* At a server's start: raises the soft RLIMIT_NOFILE to the hard limit,
 * and logs the resulting limit. */
void listenguard_setup_process(void);

struct listenguard_stats {
	unsigned long pauses;   /* pauses for lack of descriptors (or other accept errors) */
	unsigned long shed;     /* pending connections accepted with the reserve and closed */
	unsigned long episodes; /* runs of pauses without a quiet second between them */
	bool paused;            /* not accepting right now */
	long long fd_limit;     /* the soft RLIMIT_NOFILE */
};
void listenguard_stats(struct listenguard_stats *out);
/* The default of --max-connections: the soft RLIMIT_NOFILE (after
 * listenguard_setup_process raised it) less LISTENGUARD_FD_RESERVE for the
 * store's files, etcd connections, logs and listeners (at least half the
 * limit when the limit is small; 1,000,000 when unlimited). */
#define LISTENGUARD_FD_RESERVE 256
int listenguard_default_max_conns(void);
/* Open descriptors of this process (from /proc/self/fd), -1 if unknown. */
int listenguard_open_fds(void);

#endif
