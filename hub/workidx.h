/* workidx — where the Works of each name are: Work name -> the namespaces
 * holding a Work of that name. A binding's Works all carry one name
 * (render_work_name of its resource), one per execution namespace, so
 * this answers "where are this binding's Works" without a read per
 * cluster (as Karmada's informer cache answers by label).
 * Owns: a strmap of name -> struct workidx_set (copies of the namespaces).
 * Kept from the store's keys only (no value is parsed): built by one list
 * of the Work keys on first use, then told of every Work write by the
 * owner's in-transaction store subscriber (workidx_event), and dropped
 * when a batch is rolled back (workidx_reset: built again on next use). */
#ifndef ATOLL_WORKIDX_H
#define ATOLL_WORKIDX_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"
#include "strmap.h"

#define WORKIDX_PREFIX "work.karmada.io/works/"

struct workidx_set {
	struct strmap ns; /* the namespaces (keys; no values) */
};

struct workidx {
	struct strmap by_name; /* Work name -> struct workidx_set */
	bool ready;            /* built from the store; events keep it current */
};

/* A store event (any key; those not of Works are ignored). */
void workidx_event(struct workidx *ix, const struct store_event *ev);
/* Forgets everything: the next workidx_namespaces lists the store again. */
void workidx_reset(struct workidx *ix);
void workidx_free(struct workidx *ix);
/* Copies of the namespaces holding a Work named name (a NULL-terminated
 * array the caller frees with workidx_free_list; never NULL). A copy, so
 * the caller may delete those Works while walking it. */
char **workidx_namespaces(struct workidx *ix, struct store *st, const char *name);
void workidx_free_list(char **list);
/* How many Works the index holds (tests). */
size_t workidx_count(const struct workidx *ix);

#endif
