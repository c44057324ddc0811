/* store_check — the SQLite store's data-dir lock and its consistency check.
 * Owns: the lock file DIR/atoll.lock and the check/repair of atoll.db.
 *
 * Lock. A hub (or `atoll-hub store repair`) holds an exclusive flock(2) on
 * DIR/atoll.lock, which holds its pid, for as long as it has DIR/atoll.db
 * open. A second opener fails at once with a message naming that pid. The
 * lock goes with the process (even on kill -9), so there is no stale lock.
 *
 * Check. What can disagree inside atoll.db, and what is done about it:
 *   integrity   PRAGMA quick_check fails: REINDEX (repair), else restore
 *               from a backup;
 *   counter     meta.rev behind the newest revision in objects or log
 *               (what a second hub on the same file left): raised;
 *   compaction  meta.compacted beyond the counter or negative, or log
 *               entries at or below it: clamped / dropped;
 *   history     an object whose revision has no change-log entry, or a
 *               key whose newest log entry disagrees with the object (a
 *               watcher resuming there would miss or invent a change):
 *               the compaction point is raised past them, so such watchers
 *               get 410 Gone and relist — no object is touched;
 *   stamp       an object whose metadata.resourceVersion is not its
 *               stored revision: the stamp is rewritten;
 *   value       an object that is not a JSON object: needs the repair
 *               command, which moves it to the table quarantine(key, rev,
 *               value) and raises the compaction point.
 * All but integrity and value are repaired at start-up (logged as warnings);
 * those two make the hub refuse to start and name the repair command. */
#ifndef ATOLL_STORE_CHECK_H
#define ATOLL_STORE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sqlite3.h>

/* Takes the lock of data directory dir (which must exist). Returns the fd
 * to keep open (closing it releases the lock) or -1 with err set. */
int store_lock_dir(const char *dir, char *err, size_t errlen);

enum store_check_mode {
	STORE_CHECK_ONLY,        /* report, change nothing */
	STORE_CHECK_REPAIR_SAFE, /* start-up: repair all but integrity/value */
	STORE_CHECK_REPAIR_ALL,  /* `atoll-hub store repair` */
};

/* Called once per finding; repaired tells whether it was fixed. */
typedef void (*store_check_fn)(const char *finding, bool repaired, void *ud);

/* Checks (and repairs, per mode) an open atoll.db whose tables exist.
 * Returns the number of problems left unrepaired, or -1 if the check
 * itself failed (err set). */
int store_sqlite_check(sqlite3 *db, enum store_check_mode mode, store_check_fn fn, void *ud, char *err,
		       size_t errlen);

/* `atoll-hub store check|repair --data-dir DIR`. */
int store_main(int argc, char **argv);

#endif
