/* objtest — helpers for unit tests that drive an obj_ctx (hub/objects.h) on
 * a temporary store. Owns: nothing (header only, like testutil.h);
 * obj_create_ok() fails the test when the create fails, obj_get_json()
 * returns a new cJSON the caller deletes; obj_test_open() makes a temporary
 * directory with an SQLite store in it, obj_test_close() removes both. */
#ifndef ATOLL_OBJTEST_H
#define ATOLL_OBJTEST_H

#include <stdio.h>

#include "objects.h"
#include "testutil.h"

/* dir becomes a new directory (tu_mkdtemp) holding objs->store; the kinds
 * are loaded. */
static inline void obj_test_open(char *dir, size_t len, const char *name, struct obj_ctx *objs)
{
	tu_mkdtemp(dir, len, name);
	char err[256];
	objs->store = store_open_sqlite(dir, err, sizeof err);
	assert_non_null(objs->store);
	kinds_init();
}

/* Closes objs->store, removes dir and unloads the kinds. */
static inline void obj_test_close(const char *dir, struct obj_ctx *objs)
{
	store_close(objs->store);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	kinds_shutdown();
}

/* Creates k from JSON written with ' for " (see jq) in namespace ns. */
static inline void obj_create_ok(struct obj_ctx *objs, const struct kind_info *k, const char *ns, const char *json)
{
	cJSON *o = jq(json);
	char *out = NULL;
	struct api_error e = {0};
	if (obj_create(objs, k, ns, o, false, &out, &e) != 0)
		print_error("create %s: %s\n", k->kind, e.message);
	assert_null(e.reason[0] ? e.reason : NULL);
	free(out);
	cJSON_Delete(o);
}

/* The object k ns/name as the API serves it; NULL when obj_get fails. */
static inline cJSON *obj_get_json(struct obj_ctx *objs, const struct kind_info *k, const char *ns, const char *name)
{
	char *out = NULL;
	struct api_error e = {0};
	if (obj_get(objs, k, ns, name, &out, &e) != 0) {
		api_error_clear(&e);
		return NULL;
	}
	cJSON *o = cJSON_Parse(out);
	free(out);
	return o;
}

#endif
