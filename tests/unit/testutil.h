/* testutil — small helpers shared by the cmocka unit tests.
 * Owns: nothing (header only, so the Makefile's one-source-per-test rule
 * stays as it is); jq() returns a new cJSON the caller deletes. */
#ifndef ATOLL_TESTUTIL_H
#define ATOLL_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

/* JSON with ' for " so the cases stay readable; fails the test on bad JSON. */
static inline cJSON *jq(const char *s)
{
	char *t = strdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *j = cJSON_Parse(t);
	if (!j)
		print_error("bad test JSON: %s\n", t);
	free(t);
	assert_non_null(j);
	return j;
}

/* This process's CPU time in seconds (the cost benchmarks inside unit
 * tests print). */
static inline double tu_cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* dir becomes a new directory $TMPDIR/atoll-test-<name>-XXXXXX (/tmp
 * without TMPDIR); fails the test if it cannot be made. */
static inline void tu_mkdtemp(char *dir, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, len, "%s/atoll-test-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	assert_non_null(mkdtemp(dir));
}

/* A full disk for the SQLite store in dir: its WAL may grow by at most
 * slack bytes until tu_disk_full_end, so the next commit that needs more
 * fails (SIGXFSZ ignored, so it is an I/O error, not a signal). Prints the
 * line that tells a reader of the test output the failure is deliberate. */
struct tu_disk_full {
	struct rlimit old;
	void (*prev)(int);
};

static inline void tu_disk_full_begin(struct tu_disk_full *d, const char *dir, off_t slack)
{
	char wal[4200];
	snprintf(wal, sizeof wal, "%s/atoll.db-wal", dir);
	struct stat st;
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &d->old), 0);
	struct rlimit lim = d->old;
	lim.rlim_cur = (rlim_t)(st.st_size + slack);
	d->prev = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	fprintf(stderr, "expected: the next commit fails on purpose (disk I/O error) and rolls back\n");
}

static inline void tu_disk_full_end(struct tu_disk_full *d)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &d->old), 0);
	signal(SIGXFSZ, d->prev);
}

#endif
