/* loopturn — the durability order, once per event-loop turn that has work.
 * Owns: group commit for one store (store.h): the store's batching hook,
 * and the order in which one turn's work becomes visible:
 *
 *   1. stages      in-hub writers that act on what the turn's requests wrote
 *                  and must share its commit; their writes join the batch
 *                  (the controller runs on its own event: controller.c);
 *   2. pre-commit  bookkeeping of the batch itself (the change log's compaction);
 *   3. commit      one durable commit for every write of the turn; committed
 *                  subscribers (watches, agent polls, the status feed, metrics)
 *                  are told inside it, in revision order;
 *   4. held        whole answers given while the batch was open, in order
 *                  (each becomes a 500 if the commit failed: api_send_reply);
 *   5. deferred    streams that must start on committed data (watch, SSE).
 *
 * Like Redis's beforeSleep, without a prepare hook (libevent 2.1 has none;
 * evwatch_prepare is 2.2): the turn is a zero-timeout timer armed when a
 * batch opens or a stage asks for one, so it runs in the next loop
 * iteration after the I/O callbacks of that iteration's poll — requests read
 * together share one commit — and before the loop sleeps again. A batch
 * opened in an iteration whose turn was already due (a stage, a held answer
 * or a deferred stream asked for it) is committed one iteration later, for
 * the same reason. Writes made
 * after the commit (by callbacks that follow it) open the next batch and
 * arm the next turn. Nothing here knows HTTP: the hub, the simulator and
 * the unit tests get the same transaction rules, and a storage backend
 * (SQLite, etcd) plugs in through store_set_batching alone. */
#ifndef ATOLL_LOOPTURN_H
#define ATOLL_LOOPTURN_H

#include <stdbool.h>
#include <event2/event.h>

#include "store.h"

struct loopturn;

typedef void (*loopturn_fn)(void *ud);
/* ok: held answers — the commit succeeded; deferred work — false at shutdown. */
typedef void (*loopturn_after_fn)(void *ud, bool ok);

struct loopturn *loopturn_new(struct event_base *base, struct store *st);
/* Turns on group commit for the store (idempotent). Writes before it are
 * each their own transaction. */
void loopturn_start(struct loopturn *t);
/* The store's turn, if loopturn_start ran for it; else NULL. */
struct loopturn *loopturn_of(struct store *st);
/* Before its stages, a turn lets the callbacks already active in its loop
 * pass go first, up to n times (default 0): requests whose handlers libevent
 * runs in the same pass but after the turn's timer (deferred bufferevent
 * callbacks; up to 16 a pass run at once) then join this turn's commit. Not
 * for several turns on one loop (the simulator's clusters): they would wait
 * for each other. */
void loopturn_set_yield(struct loopturn *t, int n);
/* Stage fn(ud) runs first in every turn, in order of addition; a stage that
 * has work left calls loopturn_request. */
void loopturn_add_stage(struct loopturn *t, loopturn_fn fn, void *ud);
/* Runs fn(ud) right before the commit of a turn whose batch is open. */
void loopturn_add_precommit(struct loopturn *t, loopturn_fn fn, void *ud);
/* Removes a stage or pre-commit fn/ud. */
void loopturn_remove(struct loopturn *t, loopturn_fn fn, void *ud);
/* A turn in the next loop iteration. */
void loopturn_request(struct loopturn *t);
/* True while the store holds writes that are not durable yet. */
bool loopturn_uncommitted(const struct loopturn *t);
/* After this turn's commit: fn(ud, committed), in order of the calls. */
void loopturn_hold(struct loopturn *t, loopturn_after_fn fn, void *ud);
/* After the held answers: fn(ud, true); at shutdown fn(ud, false). */
void loopturn_defer(struct loopturn *t, loopturn_after_fn fn, void *ud);
/* Takes back what loopturn_hold or loopturn_defer queued with fn/ud and that
 * has not run yet (an owner going away before the turn). */
void loopturn_cancel(struct loopturn *t, loopturn_after_fn fn, void *ud);
/* A fan-out in progress: an in-hub writer (the controller) is writing, in
 * slices each committed on its own, what many waiting clients are answered
 * with (every cluster's Work). Work that can wait (status reports) asks
 * loopturn_fanout and waits behind it; when the last writer clears its
 * flag, the listeners run (from the loop: never inside a write). */
void loopturn_set_fanout(struct loopturn *t, bool on);
bool loopturn_fanout(const struct loopturn *t);
/* fn(ud) each time the fan-out ends (up to 4 listeners; loopturn_remove). */
void loopturn_add_fanout_listener(struct loopturn *t, loopturn_fn fn, void *ud);
/* One turn now, without stages (shutdown): commit, held, deferred (told
 * it is shutdown). */
void loopturn_finish(struct loopturn *t);
/* Finishes what is pending, turns batching off and frees. */
void loopturn_free(struct loopturn *t);

#endif
