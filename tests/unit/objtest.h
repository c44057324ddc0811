/* objtest — helpers for unit tests that drive an obj_ctx (hub/objects.h) on
 * a temporary store. Owns: nothing (header only, like testutil.h);
 * obj_create_ok() fails the test when the create fails, obj_get_json()
 * returns a new cJSON the caller deletes. */
#ifndef ATOLL_OBJTEST_H
#define ATOLL_OBJTEST_H

#include "objects.h"
#include "testutil.h"

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
