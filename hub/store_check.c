/* store_check — data-dir lock and consistency check of the SQLite store
 * (see store_check.h). */
#include "store_check.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int store_lock_dir(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/atoll.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the lock file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\r\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			snprintf(err, errlen,
				 "data directory %s is in use by another process (pid %s, holding %s): stop it first, "
				 "or give this hub its own --data-dir",
				 dir, pid[0] ? pid : "unknown", path);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		return -1;
	}
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct checker {
	sqlite3 *db;
	enum store_check_mode mode;
	store_check_fn fn;
	void *ud;
	int left;
	bool failed;
	char *err;
	size_t errlen;
};

static void fail(struct checker *c, const char *what)
{
	if (!c->failed)
		snprintf(c->err, c->errlen, "%s: %s", what, sqlite3_errmsg(c->db));
	c->failed = true;
}

/* One integer from sql (0 when NULL or no row). */
static long long one(struct checker *c, const char *sql)
{
	sqlite3_stmt *st;
	long long v = 0;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail(c, sql);
		return 0;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		fail(c, sql);
	sqlite3_finalize(st);
	return v;
}

static bool run(struct checker *c, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (!c->failed)
			snprintf(c->err, c->errlen, "%s: %s", sql, msg ? msg : "?");
		c->failed = true;
		sqlite3_free(msg);
		return false;
	}
	return true;
}

static void found(struct checker *c, bool repaired, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!repaired)
		c->left++;
	if (c->fn)
		c->fn(msg, repaired, c->ud);
}

static bool integrity_ok(struct checker *c)
{
	sqlite3_stmt *st;
	bool ok = false;
	if (sqlite3_prepare_v2(c->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK)
		return false;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		ok = t && strcmp(t, "ok") == 0;
	}
	sqlite3_finalize(st);
	return ok;
}

/* Values that are not JSON objects with a metadata object. */
#define BAD_VALUE "(json_valid(value) = 0 OR json_type(value) != 'object' OR " \
		  "ifnull(json_type(value, '$.metadata'), '') != 'object')"

static void check_values(struct checker *c)
{
	long long n = one(c, "SELECT count(*) FROM objects WHERE " BAD_VALUE);
	if (c->failed || n == 0)
		return;
	if (c->mode != STORE_CHECK_REPAIR_ALL) {
		found(c, false, "%lld object(s) stored as something other than a JSON object with metadata", n);
		return;
	}
	bool ok = run(c, "CREATE TABLE IF NOT EXISTS quarantine(key TEXT, rev INTEGER, value TEXT)") &&
		  run(c, "INSERT INTO quarantine SELECT key, rev, value FROM objects WHERE " BAD_VALUE) &&
		  run(c, "DELETE FROM objects WHERE " BAD_VALUE);
	found(c, ok, "%lld object(s) stored as something other than a JSON object with metadata%s", n,
	      ok ? ": moved to the table quarantine" : "");
}

static void check_stamps(struct checker *c)
{
	static const char *where = "NOT " BAD_VALUE
				   " AND ifnull(json_extract(value, '$.metadata.resourceVersion'), '') != CAST(rev AS TEXT)";
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM objects WHERE %s", where);
	long long n = one(c, sql);
	if (c->failed || n == 0)
		return;
	bool ok = c->mode != STORE_CHECK_ONLY &&
		  run(c, "UPDATE objects SET value = json_set(value, '$.metadata.resourceVersion', CAST(rev AS TEXT)) WHERE %s",
		      where);
	found(c, ok, "%lld object(s) whose metadata.resourceVersion is not their stored revision%s", n,
	      ok ? ": rewritten" : "");
}

static bool set_meta(struct checker *c, const char *name, long long v)
{
	return run(c, "INSERT OR REPLACE INTO meta(name, value) VALUES('%s', %lld)", name, v);
}

static void check_counters(struct checker *c)
{
	long long rev = one(c, "SELECT value FROM meta WHERE name = 'rev'");
	long long comp = one(c, "SELECT value FROM meta WHERE name = 'compacted'");
	long long max_obj = one(c, "SELECT max(rev) FROM objects");
	long long max_log = one(c, "SELECT max(rev) FROM log");
	if (c->failed)
		return;
	long long want = rev;
	if (max_obj > want)
		want = max_obj;
	if (max_log > want)
		want = max_log;
	if (want != rev) {
		bool ok = c->mode != STORE_CHECK_ONLY && set_meta(c, "rev", want);
		found(c, ok,
		      "revision counter %lld is behind the store (newest object revision %lld, newest change-log "
		      "revision %lld)%s",
		      rev, max_obj, max_log, ok ? "; raised" : "");
	}
	if (comp < 0 || comp > want) {
		long long to = comp < 0 ? 0 : want;
		bool ok = c->mode != STORE_CHECK_ONLY && set_meta(c, "compacted", to);
		found(c, ok, "compaction point %lld outside 0..%lld%s", comp, want, ok ? "; clamped" : "");
		if (ok)
			comp = to;
	}
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM log WHERE rev <= %lld", comp);
	long long stale = one(c, sql);
	if (!c->failed && stale > 0) {
		bool ok = c->mode != STORE_CHECK_ONLY && run(c, "DELETE FROM log WHERE rev <= %lld", comp);
		found(c, ok, "%lld change-log entries at or below the compaction point %lld%s", stale, comp,
		      ok ? "; dropped" : "");
	}
}

/* The change log must explain the objects: every object's revision is a
 * logged ADDED/MODIFIED of its key, and every key's newest logged change
 * agrees with the object (present at that revision, or absent after a
 * DELETED). Disagreements older than the compaction point do not matter,
 * so raising the point past them is the repair. */
static void check_history(struct checker *c)
{
	long long comp = one(c, "SELECT value FROM meta WHERE name = 'compacted'");
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "SELECT count(*), max(rev) FROM objects o WHERE rev > %lld AND NOT EXISTS "
		 "(SELECT 1 FROM log l WHERE l.rev = o.rev AND l.key = o.key AND l.type != 2)",
		 comp);
	long long unlogged = one(c, sql);
	snprintf(sql, sizeof sql,
		 "SELECT max(rev) FROM objects o WHERE rev > %lld AND NOT EXISTS "
		 "(SELECT 1 FROM log l WHERE l.rev = o.rev AND l.key = o.key AND l.type != 2)",
		 comp);
	long long max1 = one(c, sql);
	static const char *disagree =
		"FROM log l WHERE l.rev > %lld AND l.rev = (SELECT max(rev) FROM log WHERE key = l.key) AND "
		"((l.type != 2 AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.key = l.key AND o.rev >= l.rev)) OR "
		"(l.type = 2 AND EXISTS (SELECT 1 FROM objects o WHERE o.key = l.key AND o.rev <= l.rev)))";
	char q[1024];
	snprintf(q, sizeof q, "SELECT count(*) %s", disagree);
	snprintf(sql, sizeof sql, q, comp);
	long long wrong = one(c, sql);
	snprintf(q, sizeof q, "SELECT max(l.rev) %s", disagree);
	snprintf(sql, sizeof sql, q, comp);
	long long max2 = one(c, sql);
	if (c->failed || (unlogged == 0 && wrong == 0))
		return;
	long long to = max1 > max2 ? max1 : max2;
	bool ok = c->mode != STORE_CHECK_ONLY && run(c, "DELETE FROM log WHERE rev <= %lld", to) &&
		  set_meta(c, "compacted", to);
	found(c, ok,
	      "change log disagrees with the objects (%lld object(s) without their change, %lld key(s) whose newest "
	      "change is not the object)%s%lld",
	      unlogged, wrong, ok ? "; history compacted up to revision " : ", up to revision ", to);
}

int store_sqlite_check(sqlite3 *db, enum store_check_mode mode, store_check_fn fn, void *ud, char *err,
		       size_t errlen)
{
	struct checker c = {db, mode, fn, ud, 0, false, err, errlen};
	if (!integrity_ok(&c)) {
		bool ok = mode == STORE_CHECK_REPAIR_ALL && run(&c, "REINDEX") && integrity_ok(&c);
		found(&c, ok, "SQLite integrity check failed%s", ok ? "; indexes rebuilt"
			      : mode == STORE_CHECK_REPAIR_ALL ? " even after rebuilding the indexes: restore the "
								 "data directory from a backup"
								: "");
		if (!ok)
			return c.failed ? -1 : c.left;
	}
	bool tx = mode != STORE_CHECK_ONLY;
	if (tx && !run(&c, "BEGIN IMMEDIATE"))
		return -1;
	check_values(&c);
	if (!c.failed)
		check_stamps(&c);
	if (!c.failed)
		check_counters(&c);
	if (!c.failed)
		check_history(&c);
	if (tx) {
		if (c.failed) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (!run(&c, "COMMIT")) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return c.failed ? -1 : c.left;
}

static void store_usage(FILE *f)
{
	fputs("Usage: atoll-hub store (check | repair) --data-dir DIR\n"
	      "\n"
	      "Checks the SQLite store DIR/atoll.db for inconsistencies (revision counter behind the\n"
	      "change log, history that disagrees with the objects, undecodable objects, damaged\n"
	      "indexes). 'check' reports and changes nothing (exit 1 if something is wrong); 'repair'\n"
	      "fixes what it can (exit 1 if something is left). The hub must be stopped: both take\n"
	      "the data directory's lock. Back the directory up before a repair.\n"
	      "\n"
	      "Options:\n"
	      "  --data-dir DIR   the hub's data directory\n"
	      "  -h, --help       show this help\n",
	      f);
}

static void print_finding(const char *finding, bool repaired, void *ud)
{
	printf("%s: %s\n", repaired ? "repaired" : *(bool *)ud ? "problem" : "cannot repair", finding);
}

int store_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data-dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		store_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	bool check = strcmp(sub, "check") == 0;
	if (!check && strcmp(sub, "repair") != 0) {
		fprintf(stderr, "atoll-hub store: unknown command \"%s\" (want check or repair)\n", sub);
		return 2;
	}
	int c;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h': store_usage(stdout); return 0;
		default: store_usage(stderr); return 2;
		}
	}
	if (!dir) {
		fprintf(stderr, "atoll-hub store %s: --data-dir is required\n", sub);
		return 2;
	}
	char path[4096], err[1024];
	snprintf(path, sizeof path, "%s/atoll.db", dir);
	struct stat sb;
	if (stat(path, &sb) < 0) {
		fprintf(stderr, "atoll-hub store %s: no store at %s: %s\n", sub, path, strerror(errno));
		return 1;
	}
	int lock = store_lock_dir(dir, err, sizeof err);
	if (lock < 0) {
		fprintf(stderr, "atoll-hub store %s: %s\n", sub, err);
		return 1;
	}
	sqlite3 *db = NULL;
	int rc = 1;
	if (sqlite3_open_v2(path, &db, check ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "atoll-hub store %s: cannot open %s: %s\n", sub, path, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	int left = store_sqlite_check(db, check ? STORE_CHECK_ONLY : STORE_CHECK_REPAIR_ALL, print_finding, &check,
				      err, sizeof err);
	if (left < 0) {
		fprintf(stderr, "atoll-hub store %s: %s: %s\n", sub, path, err);
		goto out;
	}
	if (left == 0)
		printf("%s: consistent\n", path);
	rc = left == 0 ? 0 : 1;
out:
	sqlite3_close(db);
	close(lock);
	return rc;
}
