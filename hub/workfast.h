/* workfast — the binding pass's Works written without the generic write
 * path (issue 15, fifth pass: a fan-out to 10,000 clusters spent most of
 * its CPU per Work building, merging, validating and freeing trees).
 * Owns: the check of one pass (struct workfast): nothing between passes.
 *
 * A Work stamped from the pass's rendered prototype (render_work_stamp:
 * alike but for its cluster's namespace and permanent id) is written as
 * the stored object the generic path (objects.c: obj_create, obj_update_cur
 * through ctl_upsert) would store, byte for byte, built from
 *   - the prototype, stamped in place (no copy of the manifest per cluster);
 *   - the stored Work's text (no parse of it but of its metadata and
 *     status, and of its spec only when the new spec's text differs from
 *     it, to tell a new generation from a reordering);
 *   - its spec and status written as raw text into the stored value.
 * What the pass keeps of such a Work for its last step (aggregation,
 * events: metadata and status) is that much, not the whole Work.
 * Where the stored Work is not one the generic path's rules reduce to that
 * (being deleted, managedFields, other members, a suspended dispatch, a
 * Dispatching condition), the caller takes the generic path.
 *
 * Checked, not assumed: the first fast-path Work of each pass is written
 * by the generic path, and the fast path's object for it must print the
 * same (same decision, same bytes); only then are the pass's other Works
 * written the fast way. A difference turns the fast path off for the pass
 * (and is logged once). */
#ifndef ATOLL_WORKFAST_H
#define ATOLL_WORKFAST_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "kinds.h"
#include "render.h"

struct controller;

struct workfast {
	int state;        /* 0: not checked yet in this pass; 1: checked, on; -1: off */
	cJSON *expect;    /* state 0: what the fast path would have stored (NULL: a no-op) */
	bool expecting;   /* expect holds an answer for the generic write that follows */
	bool create;      /* that answer is for a create (uid and time are the store's) */
	long fast_writes; /* Works written (or found unchanged) the fast way (tests) */
};

/* Not taken: the caller writes the Work through the generic path. */
#define WORKFAST_NO (-2)

/* The stored Work as workfast_read found it. */
struct workfast_old {
	char *text;   /* the stored value */
	long long rev; /* its resourceVersion: the write's precondition */
	const char *meta, *spec, *status; /* its members' text (status NULL: none) */
	size_t mlen, slen, tlen;
	cJSON *m;     /* its metadata, parsed */
	char id[64]; /* its permanent id label ("" when none) */
};

/* Reads the stored Work ns/name: 1 found and in the layout this path
 * writes over (o filled), 2 found but not (o->text only: the caller parses
 * it), 0 absent, -1 not readable (the caller reads it its own way). */
int workfast_read(struct controller *c, const struct kind_info *wk, const char *ns, const char *name,
		  struct workfast_old *o);
void workfast_old_free(struct workfast_old *o);

/* Writes the Work of in->cluster (proto stamped for it, in place) over
 * the stored Work o (NULL: a new Work). Returns 1 (written), 0 (unchanged),
 * -1 (the write failed: ctl_write_failed has it) or WORKFAST_NO. On 1 and
 * 0 *entry is the Work for the pass's works (metadata and status), on -1
 * the stored one as such (NULL for a new Work). While unchecked (state 0)
 * it returns WORKFAST_NO and keeps its answer for workfast_check. */
int workfast_write(struct workfast *wf, struct controller *c, const struct kind_info *wk, const char *ns,
		   const char *name, cJSON *proto, const struct render_work_in *in, const struct workfast_old *o,
		   cJSON **entry);

/* After the generic path wrote the Work workfast_write answered for:
 * rc its result (1, 0, -1), stored what it stored (NULL on 0 and -1). */
void workfast_check(struct workfast *wf, int rc, const cJSON *stored);

/* Frees what a pass's check holds. */
void workfast_end(struct workfast *wf);

#endif
