/* test_objclient — the one object client of the hub's writers: keys built
 * and split in one place, get/list/apply/apply status/delete/ensure
 * namespace with their 1/0/-1 answers, and a failed write handed back to
 * the caller with its code (the object taken, nothing stored). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "objclient.h"
#include "objtest.h"

static const struct kind_info *K(const char *g, const char *v, const char *k) { return kinds_find_kind(g, v, k); }

static void test_keys(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "objclient-keys", &objs);
	const struct kind_info *dk = K("apps", "v1", "Deployment"), *ck = K("cluster.karmada.io", "v1alpha1", "Cluster");
	char key[512], prefix[512];
	assert_string_equal(objc_key(key, sizeof key, dk, "default", "web"), "apps/deployments/default/web");
	assert_string_equal(objc_key(key, sizeof key, ck, "ignored", "eu"), "cluster.karmada.io/clusters//eu");
	assert_string_equal(objc_prefix(prefix, sizeof prefix, dk, "default"), "apps/deployments/default/");
	assert_string_equal(objc_prefix(prefix, sizeof prefix, dk, NULL), "apps/deployments/");
	assert_string_equal(objc_prefix(prefix, sizeof prefix, ck, ""), "cluster.karmada.io/clusters/");
	assert_string_equal(objc_prefix(prefix, sizeof prefix, K("", "v1", "ConfigMap"), ""), "core/configmaps/");
	struct objc_key_parts p;
	assert_int_equal(objc_split_key("apps/deployments/default/web", &p), 0);
	assert_string_equal(p.group, "apps");
	assert_string_equal(p.plural, "deployments");
	assert_string_equal(p.ns, "default");
	assert_string_equal(p.name, "web");
	assert_ptr_equal(objc_kind_of(&p), dk);
	assert_int_equal(objc_split_key("core/namespaces//karmada-es-eu", &p), 0);
	assert_string_equal(p.ns, "");
	assert_ptr_equal(objc_kind_of(&p), K("", "v1", "Namespace"));
	assert_string_equal(objc_key_name("core/namespaces//karmada-es-eu"), "karmada-es-eu");
	assert_int_equal(objc_split_key("apps/deployments", &p), -1);
	assert_int_equal(objc_split_key("", &p), -1);
	obj_test_close(dir, &objs);
}

static int fail_all(const struct kind_info *k, const char *ns, const char *name, void *ud)
{
	(*(int *)ud)++;
	return 503;
}

static void test_reads_and_writes(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "objclient", &objs);
	struct objclient oc;
	objc_init(&oc, objs.store, &objs);
	const struct kind_info *cmk = K("", "v1", "ConfigMap");
	struct api_error e = {0};

	/* ensure namespace: created once, then known */
	assert_int_equal(objc_ensure_namespace(&oc, "team", &e), 0);
	cJSON *ns = objc_get(&oc, K("", "v1", "Namespace"), "", "team");
	assert_non_null(ns);
	cJSON_Delete(ns);
	assert_int_equal(objc_ensure_namespace(&oc, "team", &e), 0);

	/* create: 1 and the stored object */
	cJSON *stored = NULL;
	assert_int_equal(objc_apply(&oc, cmk, "team", jq("{'metadata':{'name':'c'},'data':{'a':'1'}}"), NULL, &stored, &e),
			 1);
	assert_non_null(json_get_str(stored, "metadata.uid"));
	/* the same content again: 0, no new revision */
	long long rev = store_revision(objs.store);
	cJSON *again = json_dup(stored);
	cJSON *s2 = NULL;
	assert_int_equal(objc_apply(&oc, cmk, "team", again, stored, &s2, &e), 0);
	assert_int_equal(store_revision(objs.store), rev);
	cJSON_Delete(s2);
	/* a change: 1 */
	cJSON *next = json_dup(stored);
	json_set_str(json_get(next, "data"), "a", "2");
	assert_int_equal(objc_apply(&oc, cmk, "team", next, stored, NULL, &e), 1);
	cJSON *got = objc_get(&oc, cmk, "team", "c");
	assert_string_equal(json_get_str(got, "data.a"), "2");
	/* a stale current object: -1 with 409, handed back, nothing changed */
	next = json_dup(stored);
	json_set_str(json_get(next, "data"), "a", "3");
	assert_int_equal(objc_apply(&oc, cmk, "team", next, stored, NULL, &e), -1);
	assert_int_equal(e.code, 409);
	api_error_clear(&e);
	cJSON_Delete(got);
	got = objc_get(&oc, cmk, "team", "c");
	assert_string_equal(json_get_str(got, "data.a"), "2");

	/* list */
	char prefix[256];
	cJSON *all = objc_list(&oc, objc_prefix(prefix, sizeof prefix, cmk, "team"));
	assert_int_equal(cJSON_GetArraySize(all), 1);
	cJSON_Delete(all);

	/* merge patch */
	cJSON *patch = jq("{'data':{'b':'x'}}");
	cJSON *patched = NULL;
	assert_int_equal(objc_merge_patch(&oc, cmk, "team", "c", patch, SUBRES_NONE, &patched, &e), 1);
	assert_string_equal(json_get_str(patched, "data.b"), "x");
	cJSON_Delete(patch);
	cJSON_Delete(patched);

	/* an injected fault: -1 with its code, the object taken, nothing stored */
	int calls = 0;
	objc_set_fault(&oc, fail_all, &calls);
	rev = store_revision(objs.store);
	assert_int_equal(objc_apply(&oc, cmk, "team", jq("{'metadata':{'name':'d'}}"), NULL, NULL, &e), -1);
	assert_int_equal(e.code, 503);
	api_error_clear(&e);
	assert_int_equal(objc_delete(&oc, cmk, "team", "c", NULL, &e), -1);
	assert_int_equal(e.code, 503);
	api_error_clear(&e);
	assert_int_equal(calls, 2);
	assert_int_equal(store_revision(objs.store), rev);
	objc_set_fault(&oc, NULL, NULL);

	/* invalid: -1 with 422 (nothing stored) */
	assert_int_equal(objc_apply(&oc, cmk, "team", jq("{'metadata':{'name':'Not_Valid'}}"), NULL, NULL, &e), -1);
	assert_int_equal(e.code, 422);
	api_error_clear(&e);

	/* delete: 1, then 0 once gone */
	cJSON *gone = NULL;
	assert_int_equal(objc_delete(&oc, cmk, "team", "c", &gone, &e), 1);
	assert_string_equal(json_get_str(gone, "metadata.name"), "c");
	cJSON_Delete(gone);
	assert_int_equal(objc_delete(&oc, cmk, "team", "c", NULL, &e), 0);
	assert_null(objc_get(&oc, cmk, "team", "c"));

	cJSON_Delete(got);
	cJSON_Delete(stored);
	objc_free(&oc);
	obj_test_close(dir, &objs);
}

/* objc_write: create, then replace by name; objc_ensure_namespace_logged
 * recreates a namespace deleted behind the client's cache. */
static void test_write_and_namespace_logged(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "objclient-write", &objs);
	struct objclient oc;
	objc_init(&oc, objs.store, &objs);
	const struct kind_info *cmk = K("", "v1", "ConfigMap");
	const struct kind_info *nsk = K("", "v1", "Namespace");
	struct api_error e = {0};

	objc_ensure_namespace_logged(&oc, "team", "test");
	cJSON *ns = objc_get(&oc, nsk, "", "team");
	assert_non_null(ns);
	cJSON_Delete(ns);
	/* deleted behind the cache: looked up afresh and created again */
	char *out = NULL;
	assert_int_equal(obj_delete(&objs, nsk, "", "team", &out, &e), 0);
	free(out);
	assert_null(objc_get(&oc, nsk, "", "team"));
	objc_ensure_namespace_logged(&oc, "team", "test");
	ns = objc_get(&oc, nsk, "", "team");
	assert_non_null(ns);
	cJSON_Delete(ns);

	assert_int_equal(objc_write(&oc, cmk, "team", "w", jq("{'metadata':{'name':'w'},'data':{'a':'1'}}"), SUBRES_NONE,
				    true, &e),
			 1);
	cJSON *cur = objc_get(&oc, cmk, "team", "w");
	json_set_str(json_get(cur, "data"), "a", "2");
	assert_int_equal(objc_write(&oc, cmk, "team", "w", cur, SUBRES_NONE, false, &e), 1);
	cJSON *got = objc_get(&oc, cmk, "team", "w");
	assert_string_equal(json_get_str(got, "data.a"), "2");
	cJSON_Delete(got);
	/* create of an existing name: -1 with 409 */
	assert_int_equal(objc_write(&oc, cmk, "team", "w", jq("{'metadata':{'name':'w'}}"), SUBRES_NONE, true, &e), -1);
	assert_int_equal(e.code, 409);
	api_error_clear(&e);

	objc_free(&oc);
	obj_test_close(dir, &objs);
}

/* Status: written through /status only when it differs. */
static void test_apply_status(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "objclient-status", &objs);
	struct objclient oc;
	objc_init(&oc, objs.store, &objs);
	const struct kind_info *ck = K("cluster.karmada.io", "v1alpha1", "Cluster");
	struct api_error e = {0};
	cJSON *cl = NULL;
	assert_int_equal(objc_apply(&oc, ck, "", jq("{'metadata':{'name':'eu'},'spec':{'syncMode':'Pull'}}"), NULL, &cl, &e), 1);
	cJSON *st = NULL;
	assert_int_equal(objc_apply_status(&oc, ck, cl, jq("{'kubernetesVersion':'v1.30.0'}"), &st, &e), 1);
	assert_string_equal(json_get_str(st, "status.kubernetesVersion"), "v1.30.0");
	assert_string_equal(json_get_str(st, "spec.syncMode"), "Pull");
	long long rev = store_revision(objs.store);
	cJSON *st2 = NULL;
	assert_int_equal(objc_apply_status(&oc, ck, st, jq("{'kubernetesVersion':'v1.30.0'}"), &st2, &e), 0);
	assert_int_equal(store_revision(objs.store), rev);
	assert_non_null(st2);
	cJSON_Delete(st2);
	cJSON_Delete(st);
	cJSON_Delete(cl);
	objc_free(&oc);
	obj_test_close(dir, &objs);
}

struct seen {
	int n;
	const void *origin[4];
};

static void record_origin(const struct store_event *ev, void *ud)
{
	struct seen *s = ud;
	if (s->n < 4)
		s->origin[s->n] = ev->origin;
	s->n++;
}

/* The origin a client sets is carried by the store events of its writes,
 * and only of its writes. */
static void test_origin_on_events(void **state)
{
	struct obj_ctx objs = {0};
	char dir[256];
	obj_test_open(dir, sizeof dir, "objclient-origin", &objs);
	struct objclient oc;
	objc_init(&oc, objs.store, &objs);
	struct seen seen = {0};
	store_subscribe(objs.store, record_origin, &seen);
	const struct kind_info *cm = K("", "v1", "ConfigMap");
	static const int mine = 1;
	oc.origin = &mine;
	assert_int_equal(objc_ensure_namespace(&oc, "default", NULL), 0);
	assert_int_equal(objc_apply(&oc, cm, "default", jq("{'metadata':{'name':'a'}}"), NULL, NULL, NULL), 1);
	assert_null(objs.store->writing_for); /* only for the duration of a write */
	obj_create_ok(&objs, cm, "default", "{'metadata':{'name':'b'}}"); /* another writer */
	oc.origin = NULL;
	assert_int_equal(objc_delete(&oc, cm, "default", "a", NULL, NULL), 1);
	assert_int_equal(seen.n, 4);
	assert_ptr_equal(seen.origin[0], &mine); /* the namespace */
	assert_ptr_equal(seen.origin[1], &mine);
	assert_null(seen.origin[2]);
	assert_null(seen.origin[3]);
	store_unsubscribe(objs.store, record_origin, &seen);
	objc_free(&oc);
	obj_test_close(dir, &objs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_reads_and_writes),
		cmocka_unit_test(test_apply_status),
		cmocka_unit_test(test_write_and_namespace_logged),
		cmocka_unit_test(test_origin_on_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
