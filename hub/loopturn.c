#include "loopturn.h"

#include <stdlib.h>

struct turn_cb {
	loopturn_fn fn;
	void *ud;
};

struct pending {
	loopturn_after_fn fn;
	void *ud;
	struct pending *next;
};

struct pending_list {
	struct pending *head, **tail;
};

struct loopturn {
	struct event_base *base;
	struct store *st;
	struct event *ev;
	bool started;
	bool in_stages;              /* writes now join this turn's commit */
	struct turn_cb stages[4];
	int nstages;
	int cursor;                  /* the stage running */
	int max_yields, yields;      /* loopturn_set_yield */
	bool open_in_pass;           /* a batch opened while the turn was already due */
	struct turn_cb precommit[4];
	int nprecommit;
	struct pending_list held, deferred;
	bool fanout;                 /* loopturn_set_fanout */
	struct turn_cb fanout_done[4];
	int nfanout_done;
	struct event *fanout_ev;     /* runs the listeners */
};

static void on_batch_open(struct store *s, void *ud);

static void list_init(struct pending_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void list_add(struct pending_list *l, loopturn_after_fn fn, void *ud)
{
	struct pending *p = calloc(1, sizeof *p);
	if (!p) {
		fn(ud, false); /* out of memory: answered now, as if the store failed */
		return;
	}
	p->fn = fn;
	p->ud = ud;
	*l->tail = p;
	l->tail = &p->next;
}

/* Runs and empties the list; entries added meanwhile wait for the next turn. */
static void list_run(struct pending_list *l, bool ok)
{
	struct pending *p = l->head;
	list_init(l);
	while (p) {
		struct pending *next = p->next;
		p->fn(p->ud, ok);
		free(p);
		p = next;
	}
}

static void commit_and_release(struct loopturn *t, bool shutdown)
{
	if (store_in_batch(t->st))
		for (int i = 0; i < t->nprecommit; i++)
			t->precommit[i].fn(t->precommit[i].ud);
	int rc = store_commit(t->st); /* committed subscribers are told inside */
	list_run(&t->held, rc == STORE_OK);
	list_run(&t->deferred, !shutdown);
}

static void on_turn(evutil_socket_t fd, short what, void *arg)
{
	struct loopturn *t = arg;
	static const struct timeval zero = {0, 0};
	if (t->open_in_pass) {
		/* The batch opened in this loop pass, after the turn was already
		 * due (a stage, a held answer or a deferred stream had asked for
		 * it): commit in the next pass, so that the requests its poll reads
		 * share this commit, as for a batch that arms the turn itself. */
		t->open_in_pass = false;
		event_add(t->ev, &zero);
		return;
	}
	if (t->yields < t->max_yields && event_base_get_num_events(t->base, EVENT_BASE_COUNT_ACTIVE) > 0) {
		t->yields++;
		event_active(t->ev, EV_TIMEOUT, 0); /* behind what is active in this pass */
		return;
	}
	t->yields = 0;
	/* A stage may remove itself or another one meanwhile (loopturn_remove
	 * moves the cursor). */
	t->in_stages = true;
	for (t->cursor = 0; t->cursor < t->nstages; t->cursor++)
		t->stages[t->cursor].fn(t->stages[t->cursor].ud);
	t->in_stages = false;
	commit_and_release(t, false);
}

static void list_cancel(struct pending_list *l, loopturn_after_fn fn, void *ud)
{
	for (struct pending **pp = &l->head; *pp;) {
		struct pending *p = *pp;
		if (p->fn == fn && p->ud == ud) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
	l->tail = &l->head;
	while (*l->tail)
		l->tail = &(*l->tail)->next;
}

void loopturn_cancel(struct loopturn *t, loopturn_after_fn fn, void *ud)
{
	list_cancel(&t->held, fn, ud);
	list_cancel(&t->deferred, fn, ud);
}

static void on_fanout_done(evutil_socket_t fd, short what, void *arg)
{
	struct loopturn *t = arg;
	if (t->fanout)
		return; /* began again meanwhile */
	for (int i = 0; i < t->nfanout_done; i++)
		t->fanout_done[i].fn(t->fanout_done[i].ud);
}

void loopturn_set_fanout(struct loopturn *t, bool on)
{
	if (t->fanout == on)
		return;
	t->fanout = on;
	if (!on && t->nfanout_done > 0)
		event_active(t->fanout_ev, EV_TIMEOUT, 0);
}

bool loopturn_fanout(const struct loopturn *t) { return t->fanout; }

void loopturn_add_fanout_listener(struct loopturn *t, loopturn_fn fn, void *ud)
{
	if (t->nfanout_done < (int)(sizeof t->fanout_done / sizeof t->fanout_done[0]))
		t->fanout_done[t->nfanout_done++] = (struct turn_cb){fn, ud};
}

struct loopturn *loopturn_new(struct event_base *base, struct store *st)
{
	struct loopturn *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->base = base;
	t->st = st;
	t->ev = event_new(base, -1, 0, on_turn, t);
	t->fanout_ev = event_new(base, -1, 0, on_fanout_done, t);
	list_init(&t->held);
	list_init(&t->deferred);
	return t;
}

void loopturn_start(struct loopturn *t)
{
	if (t->started)
		return;
	t->started = true;
	store_set_batching(t->st, on_batch_open, t);
}

struct loopturn *loopturn_of(struct store *st)
{
	return st->on_open == on_batch_open ? st->on_open_ud : NULL;
}

void loopturn_set_yield(struct loopturn *t, int n) { t->max_yields = n; }

void loopturn_add_stage(struct loopturn *t, loopturn_fn fn, void *ud)
{
	if (t->nstages < (int)(sizeof t->stages / sizeof t->stages[0]))
		t->stages[t->nstages++] = (struct turn_cb){fn, ud};
}

/* Returns the index removed, or -1. */
static int remove_cb(struct turn_cb *v, int *n, loopturn_fn fn, void *ud)
{
	for (int i = 0; i < *n; i++)
		if (v[i].fn == fn && v[i].ud == ud) {
			for (int j = i + 1; j < *n; j++)
				v[j - 1] = v[j];
			(*n)--;
			return i;
		}
	return -1;
}

void loopturn_remove(struct loopturn *t, loopturn_fn fn, void *ud)
{
	int i = remove_cb(t->stages, &t->nstages, fn, ud);
	if (t->in_stages && i >= 0 && i <= t->cursor)
		t->cursor--; /* the next stage moved to this index */
	remove_cb(t->precommit, &t->nprecommit, fn, ud);
	remove_cb(t->fanout_done, &t->nfanout_done, fn, ud);
}

void loopturn_add_precommit(struct loopturn *t, loopturn_fn fn, void *ud)
{
	if (t->nprecommit < (int)(sizeof t->precommit / sizeof t->precommit[0]))
		t->precommit[t->nprecommit++] = (struct turn_cb){fn, ud};
}

void loopturn_request(struct loopturn *t)
{
	static const struct timeval zero = {0, 0};
	if (!event_pending(t->ev, EV_TIMEOUT, NULL))
		event_add(t->ev, &zero);
}

static void on_batch_open(struct store *s, void *ud)
{
	struct loopturn *t = ud;
	if (t->in_stages) /* this turn commits it */
		return;
	if (event_pending(t->ev, EV_TIMEOUT, NULL))
		t->open_in_pass = true;
	loopturn_request(t);
}

bool loopturn_uncommitted(const struct loopturn *t) { return store_in_batch(t->st); }

void loopturn_hold(struct loopturn *t, loopturn_after_fn fn, void *ud)
{
	list_add(&t->held, fn, ud);
	loopturn_request(t);
}

void loopturn_defer(struct loopturn *t, loopturn_after_fn fn, void *ud)
{
	list_add(&t->deferred, fn, ud);
	loopturn_request(t);
}

void loopturn_finish(struct loopturn *t)
{
	commit_and_release(t, true);
}

void loopturn_free(struct loopturn *t)
{
	if (!t)
		return;
	loopturn_finish(t);
	if (t->started && loopturn_of(t->st) == t)
		store_set_batching(t->st, NULL, NULL);
	event_free(t->ev);
	event_free(t->fanout_ev);
	free(t);
}
