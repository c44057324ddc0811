/* Object life cycle (objects.c) and path parsing (apiserver.c), in-process
 * on a temporary store: identity fields, generation, subresources, no-op
 * updates, conflicts, patches, scale, cascade. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "apiserver.h"
#include "jsonutil.h"
#include "objects.h"

static char dir[256];

static int setup(void **state)
{
	tu_mkdtemp(dir, sizeof dir, "objects");
	char err[256];
	struct obj_ctx *c = calloc(1, sizeof *c);
	c->store = store_open_sqlite(dir, err, sizeof err);
	assert_non_null(c->store);
	kinds_init();
	/* The default namespace, as apiserver_new creates it. */
	cJSON *ns = cJSON_Parse("{\"metadata\":{\"name\":\"default\"}}");
	char *out = NULL;
	struct api_error e = {0};
	assert_int_equal(obj_create(c, kinds_find_kind("", "v1", "Namespace"), "", ns, false, &out, &e), 0);
	free(out);
	cJSON_Delete(ns);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct obj_ctx *c = *state;
	store_close(c->store);
	free(c);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	kinds_shutdown();
	return 0;
}

static const char *DEPLOY =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\"},"
    "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"hello\"}},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},\"spec\":{\"containers\":[{\"name\":\"hello\",\"image\":\"podinfo\"}]}}}}";

static const struct kind_info *deploy_kind(void) { return kinds_find_kind("apps", "v1", "Deployment"); }

static cJSON *create_deploy(struct obj_ctx *c)
{
	cJSON *o = cJSON_Parse(DEPLOY);
	char *out = NULL;
	struct api_error e = {0};
	assert_int_equal(obj_create(c, deploy_kind(), "default", o, false, &out, &e), 0);
	cJSON_Delete(o);
	cJSON *stored = cJSON_Parse(out);
	free(out);
	return stored;
}

static void test_create_sets_identity(void **state)
{
	struct obj_ctx *c = *state;
	cJSON *d = create_deploy(c);
	assert_non_null(json_get_str(d, "metadata.uid"));
	assert_non_null(json_get_str(d, "metadata.creationTimestamp"));
	assert_non_null(json_get_str(d, "metadata.resourceVersion"));
	assert_string_equal(json_get_str(d, "metadata.namespace"), "default");
	assert_int_equal((int)json_get_num(d, "metadata.generation", 0), 1);
	cJSON_Delete(d);

	/* Creating it twice is a 409 AlreadyExists. */
	cJSON *o = cJSON_Parse(DEPLOY);
	char *out = NULL;
	struct api_error e = {0};
	assert_int_equal(obj_create(c, deploy_kind(), "default", o, false, &out, &e), -1);
	assert_int_equal(e.code, 409);
	assert_string_equal(e.reason, "AlreadyExists");
	assert_string_equal(e.message, "deployments.apps \"hello\" already exists");
	cJSON_Delete(o);
	api_error_clear(&e);
}

static void test_generate_name_and_missing_namespace(void **state)
{
	struct obj_ctx *c = *state;
	const struct kind_info *cm = kinds_find_kind("", "v1", "ConfigMap");
	cJSON *o = cJSON_Parse("{\"metadata\":{\"generateName\":\"cfg-\"},\"data\":{\"a\":\"b\"}}");
	char *out = NULL;
	struct api_error e = {0};
	assert_int_equal(obj_create(c, cm, "default", o, false, &out, &e), 0);
	cJSON *s = cJSON_Parse(out);
	const char *name = json_get_str(s, "metadata.name");
	assert_int_equal(strlen(name), 9);
	assert_memory_equal(name, "cfg-", 4);
	cJSON_Delete(s);
	free(out);
	cJSON_Delete(o);

	o = cJSON_Parse("{\"metadata\":{\"name\":\"x\"}}");
	assert_int_equal(obj_create(c, cm, "nowhere", o, false, &out, &e), -1);
	assert_int_equal(e.code, 404);
	assert_string_equal(e.message, "namespaces \"nowhere\" not found");
	cJSON_Delete(o);
	api_error_clear(&e);
}

static void test_generation_tracks_spec_only(void **state)
{
	struct obj_ctx *c = *state;
	cJSON *d = create_deploy(c);
	char *out = NULL;
	struct api_error e = {0};
	bool created;
	/* A label change: no new generation. */
	cJSON *p = cJSON_Parse("{\"metadata\":{\"labels\":{\"x\":\"y\"}}}");
	assert_int_equal(obj_patch(c, deploy_kind(), "default", "hello", "application/merge-patch+json", p, SUBRES_NONE,
				   false, &created, &out, &e), 0);
	cJSON *s = cJSON_Parse(out);
	assert_int_equal((int)json_get_num(s, "metadata.generation", 0), 1);
	assert_string_equal(json_get_str(s, "metadata.uid"), json_get_str(d, "metadata.uid"));
	cJSON_Delete(s);
	cJSON_Delete(p);
	free(out);
	/* A spec change: generation 2. */
	p = cJSON_Parse("{\"spec\":{\"replicas\":10}}");
	assert_int_equal(obj_patch(c, deploy_kind(), "default", "hello", "application/merge-patch+json", p, SUBRES_NONE,
				   false, &created, &out, &e), 0);
	s = cJSON_Parse(out);
	assert_int_equal((int)json_get_num(s, "metadata.generation", 0), 2);
	assert_int_equal((int)json_get_num(s, "spec.replicas", 0), 10);
	cJSON_Delete(s);
	cJSON_Delete(p);
	free(out);
	cJSON_Delete(d);
}

static void test_status_subresource_separation(void **state)
{
	struct obj_ctx *c = *state;
	cJSON *d = create_deploy(c);
	char *out = NULL;
	struct api_error e = {0};
	bool created;
	/* The main resource cannot write status... */
	cJSON *p = cJSON_Parse("{\"status\":{\"readyReplicas\":3}}");
	assert_int_equal(obj_patch(c, deploy_kind(), "default", "hello", "application/merge-patch+json", p, SUBRES_NONE,
				   false, &created, &out, &e), 0);
	cJSON *s = cJSON_Parse(out);
	assert_null(json_get(s, "status.readyReplicas"));
	cJSON_Delete(s);
	free(out);
	/* ...the status subresource can, and cannot change spec. */
	cJSON_Delete(p);
	p = cJSON_Parse("{\"status\":{\"readyReplicas\":3},\"spec\":{\"replicas\":7}}");
	assert_int_equal(obj_patch(c, deploy_kind(), "default", "hello", "application/merge-patch+json", p, SUBRES_STATUS,
				   false, &created, &out, &e), 0);
	s = cJSON_Parse(out);
	assert_int_equal((int)json_get_num(s, "status.readyReplicas", 0), 3);
	assert_int_equal((int)json_get_num(s, "spec.replicas", 0), 3);
	assert_int_equal((int)json_get_num(s, "metadata.generation", 0), 1);
	cJSON_Delete(s);
	free(out);
	cJSON_Delete(p);
	cJSON_Delete(d);
}

static void test_noop_update_keeps_revision_and_stale_update_conflicts(void **state)
{
	struct obj_ctx *c = *state;
	cJSON *d = create_deploy(c);
	long long rev = store_revision(c->store);
	char *out = NULL;
	struct api_error e = {0};
	cJSON *same = json_dup(d);
	assert_int_equal(obj_update(c, deploy_kind(), "default", "hello", same, SUBRES_NONE, false, &out, &e), 0);
	assert_int_equal(store_revision(c->store), rev);
	free(out);
	cJSON_Delete(same);

	cJSON *changed = json_dup(d);
	json_set_num(json_ensure_obj(changed, "spec"), "replicas", 4);
	assert_int_equal(obj_update(c, deploy_kind(), "default", "hello", changed, SUBRES_NONE, false, &out, &e), 0);
	free(out);
	cJSON_Delete(changed);
	/* d still carries the old resourceVersion. */
	cJSON *stale = json_dup(d);
	json_set_num(json_ensure_obj(stale, "spec"), "replicas", 5);
	assert_int_equal(obj_update(c, deploy_kind(), "default", "hello", stale, SUBRES_NONE, false, &out, &e), -1);
	assert_int_equal(e.code, 409);
	assert_string_equal(e.reason, "Conflict");
	api_error_clear(&e);
	cJSON_Delete(stale);
	cJSON_Delete(d);
}

static void test_scale_subresource(void **state)
{
	struct obj_ctx *c = *state;
	cJSON *d = create_deploy(c);
	char *out = NULL;
	struct api_error e = {0};
	bool created;
	cJSON *p = cJSON_Parse("{\"spec\":{\"replicas\":10}}");
	assert_int_equal(obj_patch(c, deploy_kind(), "default", "hello", "application/merge-patch+json", p, SUBRES_SCALE,
				   false, &created, &out, &e), 0);
	cJSON *s = cJSON_Parse(out);
	assert_string_equal(json_get_str(s, "kind"), "Scale");
	assert_string_equal(json_get_str(s, "apiVersion"), "autoscaling/v1");
	assert_int_equal((int)json_get_num(s, "spec.replicas", 0), 10);
	assert_string_equal(json_get_str(s, "status.selector"), "app=hello");
	cJSON_Delete(s);
	free(out);
	cJSON_Delete(p);
	p = cJSON_Parse("{\"spec\":{\"replicas\":-1}}");
	assert_int_equal(obj_patch(c, deploy_kind(), "default", "hello", "application/merge-patch+json", p, SUBRES_SCALE,
				   false, &created, &out, &e), -1);
	assert_int_equal(e.code, 422);
	api_error_clear(&e);
	cJSON_Delete(p);
	cJSON_Delete(d);
}

static void test_apply_creates_then_merges(void **state)
{
	struct obj_ctx *c = *state;
	char *out = NULL;
	struct api_error e = {0};
	bool created = false;
	cJSON *body = cJSON_Parse(DEPLOY);
	assert_int_equal(obj_patch(c, deploy_kind(), "default", "hello", "application/apply-patch+yaml", body, SUBRES_NONE,
				   false, &created, &out, &e), 0);
	assert_true(created);
	free(out);
	/* kubectl's second, annotation-only apply keeps the spec. */
	cJSON *ann = cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","
				 "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\\n\"}}}");
	assert_int_equal(obj_patch(c, deploy_kind(), "default", "hello", "application/apply-patch+yaml", ann, SUBRES_NONE,
				   false, &created, &out, &e), 0);
	assert_false(created);
	cJSON *s = cJSON_Parse(out);
	assert_int_equal((int)json_get_num(s, "spec.replicas", 0), 3);
	assert_non_null(json_get(s, "metadata.annotations"));
	cJSON_Delete(s);
	free(out);
	cJSON_Delete(ann);
	cJSON_Delete(body);
}

static void test_delete_namespace_cascades(void **state)
{
	struct obj_ctx *c = *state;
	const struct kind_info *nsk = kinds_find_kind("", "v1", "Namespace");
	const struct kind_info *cm = kinds_find_kind("", "v1", "ConfigMap");
	char *out = NULL;
	struct api_error e = {0};
	cJSON *ns = cJSON_Parse("{\"metadata\":{\"name\":\"team\"}}");
	assert_int_equal(obj_create(c, nsk, "", ns, false, &out, &e), 0);
	free(out);
	cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"a\"}}");
	assert_int_equal(obj_create(c, cm, "team", o, false, &out, &e), 0);
	free(out);
	assert_int_equal(obj_delete(c, nsk, "", "team", &out, &e), 0);
	free(out);
	assert_int_equal(obj_get(c, cm, "team", "a", &out, &e), -1);
	assert_int_equal(e.code, 404);
	api_error_clear(&e);
	cJSON_Delete(o);
	cJSON_Delete(ns);
}

/* Finalizers: DELETE marks (deletionTimestamp, once); updates may remove
 * finalizers, never add one; the last one gone completes the deletion. */
static void test_finalizers_and_graceful_deletion(void **state)
{
	struct obj_ctx *c = *state;
	const struct kind_info *cm = kinds_find_kind("", "v1", "ConfigMap");
	char *out = NULL;
	struct api_error e = {0};
	cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"f\",\"finalizers\":[\"a.io/x\",\"b.io/y\"],"
			       "\"deletionTimestamp\":\"2020-01-01T00:00:00Z\"}}");
	assert_int_equal(obj_create(c, cm, "default", o, false, &out, &e), 0);
	free(out);
	cJSON_Delete(o);
	/* A client cannot create an object already being deleted. */
	assert_int_equal(obj_get(c, cm, "default", "f", &out, &e), 0);
	cJSON *got = cJSON_Parse(out);
	free(out);
	assert_null(json_get_str(got, "metadata.deletionTimestamp"));
	cJSON_Delete(got);

	assert_int_equal(obj_delete(c, cm, "default", "f", &out, &e), 0);
	got = cJSON_Parse(out);
	free(out);
	const char *ts = json_get_str(got, "metadata.deletionTimestamp");
	assert_non_null(ts);
	char first[64];
	snprintf(first, sizeof first, "%s", ts);
	cJSON_Delete(got);
	/* Still there; a second DELETE changes nothing. */
	assert_int_equal(obj_delete(c, cm, "default", "f", &out, &e), 0);
	got = cJSON_Parse(out);
	free(out);
	assert_string_equal(json_get_str(got, "metadata.deletionTimestamp"), first);
	/* An update adding a finalizer and clearing the timestamp keeps neither
	 * change; removing one finalizer leaves the object. */
	cJSON *upd = json_dup(got);
	cJSON_Delete(got);
	cJSON *meta = json_get(upd, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "deletionTimestamp");
	cJSON_ReplaceItemInObjectCaseSensitive(meta, "finalizers", cJSON_Parse("[\"b.io/y\",\"c.io/new\"]"));
	assert_int_equal(obj_update(c, cm, "default", "f", upd, SUBRES_NONE, false, &out, &e), 0);
	cJSON_Delete(upd);
	got = cJSON_Parse(out);
	free(out);
	assert_string_equal(json_get_str(got, "metadata.deletionTimestamp"), first);
	char *fs = cJSON_PrintUnformatted(json_get(got, "metadata.finalizers"));
	assert_string_equal(fs, "[\"b.io/y\"]");
	free(fs);
	/* The last finalizer removed: gone. */
	upd = json_dup(got);
	cJSON_Delete(got);
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(upd, "metadata"), "finalizers");
	assert_int_equal(obj_update(c, cm, "default", "f", upd, SUBRES_NONE, false, &out, &e), 0);
	free(out);
	cJSON_Delete(upd);
	assert_int_equal(obj_get(c, cm, "default", "f", &out, &e), -1);
	assert_int_equal(e.code, 404);
	api_error_clear(&e);
	/* Without finalizers a DELETE is immediate, as before. */
	o = cJSON_Parse("{\"metadata\":{\"name\":\"g\"}}");
	assert_int_equal(obj_create(c, cm, "default", o, false, &out, &e), 0);
	free(out);
	cJSON_Delete(o);
	assert_int_equal(obj_delete(c, cm, "default", "g", &out, &e), 0);
	free(out);
	assert_int_equal(obj_get(c, cm, "default", "g", &out, &e), -1);
	api_error_clear(&e);
}

static void test_parse_path(void **state)
{
	struct api_path p;
	assert_int_equal(api_parse_path("/apis/apps/v1/namespaces/default/deployments/hello/scale", &p), 0);
	assert_string_equal(p.group, "apps");
	assert_string_equal(p.version, "v1");
	assert_string_equal(p.ns, "default");
	assert_string_equal(p.resource, "deployments");
	assert_string_equal(p.name, "hello");
	assert_string_equal(p.sub, "scale");
	assert_int_equal(api_parse_path("/api/v1/namespaces/default", &p), 0);
	assert_string_equal(p.resource, "namespaces");
	assert_string_equal(p.name, "default");
	assert_string_equal(p.ns, "");
	assert_int_equal(api_parse_path("/api/v1/namespaces/kube-system/status", &p), 0);
	assert_string_equal(p.resource, "namespaces");
	assert_string_equal(p.name, "kube-system");
	assert_string_equal(p.sub, "status");
	assert_int_equal(api_parse_path("/api/v1/pods", &p), 0);
	assert_string_equal(p.resource, "pods");
	assert_int_equal(api_parse_path("/apis/cluster.karmada.io/v1alpha1/clusters/eu/status", &p), 0);
	assert_string_equal(p.name, "eu");
	assert_string_equal(p.sub, "status");
	assert_int_equal(api_parse_path("/apis/apps/v1/namespaces/a/deployments/b/c/d", &p), -1);
	assert_int_equal(api_parse_path("/nope", &p), -1);
	assert_int_equal(api_parse_path("/apis/apps", &p), -1);
	char longname[600];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	char path[800];
	snprintf(path, sizeof path, "/api/v1/namespaces/default/configmaps/%s", longname);
	assert_int_equal(api_parse_path(path, &p), -1);
}

/* The controllers' write path: obj_update_cur with the object they hold,
 * the stored object handed back in place, one write for spec and status,
 * and the cheap no-op test that lets them skip re-rendered objects. */
static void test_update_cur_and_noop_check(void **state)
{
	struct obj_ctx *c = *state;
	const struct kind_info *k = deploy_kind();
	cJSON *d = create_deploy(c);
	struct api_error e = {0};

	/* The client's body lacks the defaulted fields: "take the full path". */
	cJSON *raw_body = cJSON_Parse(DEPLOY);
	json_set_str(json_ensure_obj(raw_body, "metadata"), "namespace", "default");
	assert_false(obj_update_is_noop(k, d, raw_body));
	cJSON_Delete(raw_body);
	/* The stored object without server-kept fields is a no-op; any real
	 * change is not. */
	cJSON *same = json_dup(d);
	static const char *const server[] = {"uid", "creationTimestamp", "generation", "resourceVersion"};
	for (size_t i = 0; i < 4; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(json_get(same, "metadata"), server[i]);
	assert_true(obj_update_is_noop(k, d, same));
	cJSON *more = json_dup(same);
	json_set_str(json_ensure_obj(more, "metadata.labels"), "x", "y");
	assert_false(obj_update_is_noop(k, d, more));
	cJSON *fewer = json_dup(same);
	cJSON_DeleteItemFromObjectCaseSensitive(fewer, "spec");
	assert_false(obj_update_is_noop(k, d, fewer)); /* the update would drop spec */
	cJSON *stale_rv = json_dup(same);
	json_set_str(json_ensure_obj(stale_rv, "metadata"), "resourceVersion", "1");
	assert_false(obj_update_is_noop(k, d, stale_rv)); /* a failing precondition is no no-op */
	cJSON_Delete(more);
	cJSON_Delete(fewer);
	cJSON_Delete(stale_rv);
	cJSON_Delete(same);

	/* Spec and status in one write: one revision, generation bumped once,
	 * and obj is the stored object afterwards (no output string needed). */
	long long rev = store_revision(c->store);
	cJSON *next = json_dup(d);
	json_set_num(json_ensure_obj(next, "spec"), "replicas", 7);
	json_set_num(json_ensure_obj(next, "status"), "replicas", 7);
	assert_int_equal(obj_update_cur(c, k, d, next, SUBRES_MAIN_AND_STATUS, NULL, &e), 0);
	assert_int_equal(store_revision(c->store), rev + 1);
	assert_int_equal((int)json_get_num(next, "metadata.generation", 0), 2);
	assert_int_equal((int)json_get_num(next, "status.replicas", 0), 7);
	char *raw = NULL;
	char key[256];
	assert_int_equal(store_get(c->store, obj_key(key, sizeof key, k, "default", "hello"), &raw, NULL), STORE_OK);
	cJSON *stored = cJSON_Parse(raw);
	free(raw);
	assert_true(json_equal(stored, next));
	cJSON_Delete(stored);

	/* The main resource alone keeps the stored status. */
	cJSON *main_only = json_dup(next);
	cJSON_DeleteItemFromObjectCaseSensitive(main_only, "status");
	json_set_num(json_ensure_obj(main_only, "spec"), "replicas", 8);
	assert_int_equal(obj_update_cur(c, k, next, main_only, SUBRES_NONE, NULL, &e), 0);
	assert_int_equal((int)json_get_num(main_only, "status.replicas", 0), 7);

	/* d is stale now: 409 and nothing written. */
	rev = store_revision(c->store);
	cJSON *late = json_dup(d);
	json_set_num(json_ensure_obj(late, "spec"), "replicas", 9);
	assert_int_equal(obj_update_cur(c, k, d, late, SUBRES_NONE, NULL, &e), -1);
	assert_int_equal(e.code, 409);
	assert_int_equal(store_revision(c->store), rev);
	api_error_clear(&e);
	cJSON_Delete(late);
	cJSON_Delete(main_only);
	cJSON_Delete(next);
	cJSON_Delete(d);
}

/* UIDs: version-4 UUIDs as Kubernetes prints them, all different. */
static void test_new_uid_format(void **state)
{
	char prev[64] = "", u[64];
	for (int i = 0; i < 100; i++) {
		obj_new_uid(u, sizeof u);
		assert_int_equal(strlen(u), 36);
		for (int j = 0; j < 36; j++) {
			if (j == 8 || j == 13 || j == 18 || j == 23)
				assert_int_equal(u[j], '-');
			else
				assert_non_null(strchr("0123456789abcdef", u[j]));
		}
		assert_int_equal(u[14], '4');
		assert_non_null(strchr("89ab", u[19]));
		assert_string_not_equal(u, prev);
		snprintf(prev, sizeof prev, "%s", u);
	}
	char small[9];
	obj_new_uid(small, sizeof small); /* cut, terminated */
	assert_int_equal(strlen(small), 8);
}

/* kind_api_version: group/version, or the version alone for the core
 * group, cut to the buffer as snprintf would cut it. */
static void test_kind_api_version(void **state)
{
	(void)state;
	char buf[64];
	const struct kind_info *d = kinds_find_kind("apps", "v1", "Deployment");
	const struct kind_info *p = kinds_find_kind("", "v1", "Pod");
	assert_non_null(d);
	assert_non_null(p);
	assert_string_equal(kind_api_version(d, buf, sizeof buf), "apps/v1");
	assert_string_equal(kind_api_version(p, buf, sizeof buf), "v1");
	char small[6];
	assert_string_equal(kind_api_version(d, small, sizeof small), "apps/");
	char tiny[3];
	assert_string_equal(kind_api_version(d, tiny, sizeof tiny), "ap");
	char one[1];
	assert_string_equal(kind_api_version(p, one, sizeof one), "");
	const struct kind_info *b = kinds_find_kind("work.karmada.io", "v1alpha2", "ResourceBinding");
	assert_non_null(b);
	assert_string_equal(kind_api_version(b, buf, sizeof buf), "work.karmada.io/v1alpha2");
}

/* ---- obj_update_own against obj_update_cur -------------------------------- */

struct last_ev {
	char value[8192], prev[8192];
	int type, n;
	long long rev;
};

static void record_last(const struct store_event *ev, void *ud)
{
	struct last_ev *l = ud;
	snprintf(l->value, sizeof l->value, "%s", ev->value ? ev->value : "(none)");
	snprintf(l->prev, sizeof l->prev, "%s", ev->prev_value ? ev->prev_value : "(none)");
	l->type = ev->type;
	l->rev = ev->rev;
	l->n++;
}

/* What the scheduling stage does to a binding it re-places: a new
 * spec.clusters, the applied placement, Scheduled bookkeeping. */
static void mutate_binding(cJSON *b, int variant)
{
	cJSON *cl = cJSON_Parse(variant == 1 ? "[]" : "[{\"name\":\"m1\",\"replicas\":2},{\"name\":\"m9\",\"replicas\":2}]");
	json_set(json_ensure_obj(b, "spec"), "clusters", cl);
	json_set_str(json_ensure_obj(b, "metadata.annotations"), "policy.karmada.io/applied-placement",
		     variant == 2 ? "{\"x\":2}" : "{}");
	cJSON *st = cJSON_GetObjectItemCaseSensitive(b, "status");
	if (!st) {
		st = cJSON_CreateObject();
		cJSON_AddItemToObject(b, "status", st);
	}
	json_set_str(st, "lastScheduledTime", "2026-12-08T01:00:00Z");
	json_set_num(st, "schedulerObservedGeneration", json_get_num(b, "metadata.generation", 1) + 1);
}

/* The binding's stored bytes, its events and the errors are the same
 * whether the controller writes through a copy (obj_update_cur) or in
 * place (obj_update_own), for the shapes a stored binding comes in:
 * managedFields before other metadata, no generation, no status, a
 * placement the defaults complete, cluster scope; a stale revision is 409
 * both ways; an object being deleted is refused in place. */
static void test_update_own_matches_update_cur(void **state)
{
	struct obj_ctx *c = *state;
	char dir2[256], err[256];
	tu_mkdtemp(dir2, sizeof dir2, "objects-own");
	struct obj_ctx c2 = {0};
	c2.store = store_open_sqlite(dir2, err, sizeof err);
	assert_non_null(c2.store);
	c2.ip_seq = c->ip_seq;
	struct last_ev la = {0}, lb = {0};
	store_subscribe_committed(c->store, record_last, &la);
	store_subscribe_committed(c2.store, record_last, &lb);
	const struct kind_info *rbk = kinds_find_kind("work.karmada.io", "v1alpha2", "ResourceBinding");
	const struct kind_info *crbk = kinds_find_kind("work.karmada.io", "v1alpha2", "ClusterResourceBinding");
	assert_non_null(rbk);
	assert_non_null(crbk);
	static const char *const stored[] = {
	    /* managedFields in the middle of metadata, a status */
	    "{\"apiVersion\":\"work.karmada.io/v1alpha2\",\"kind\":\"ResourceBinding\",\"metadata\":{\"name\":\"b1\","
	    "\"namespace\":\"default\",\"managedFields\":[{\"manager\":\"m\",\"operation\":\"Update\"}],"
	    "\"annotations\":{\"policy.karmada.io/applied-placement\":\"{}\"},\"uid\":\"u1\",\"creationTimestamp\":"
	    "\"2026-01-01T00:00:00Z\",\"generation\":3,\"resourceVersion\":\"%lld\"},\"spec\":{\"resource\":{\"apiVersion\":"
	    "\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":\"default\",\"name\":\"a\"},\"replicas\":2,\"placement\":"
	    "{\"clusterTolerations\":[{\"key\":\"cluster.karmada.io/not-ready\",\"operator\":\"Exists\",\"effect\":"
	    "\"NoExecute\",\"tolerationSeconds\":300},{\"key\":\"cluster.karmada.io/unreachable\",\"operator\":\"Exists\","
	    "\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]},\"clusters\":[{\"name\":\"m1\",\"replicas\":2}]},"
	    "\"status\":{\"conditions\":[{\"type\":\"Scheduled\",\"status\":\"True\",\"reason\":\"Success\",\"message\":"
	    "\"ok\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}],\"schedulerObservedGeneration\":3}}",
	    /* no generation, no status, no annotations, a placement without tolerations */
	    "{\"apiVersion\":\"work.karmada.io/v1alpha2\",\"kind\":\"ResourceBinding\",\"metadata\":{\"name\":\"b2\","
	    "\"namespace\":\"default\",\"uid\":\"u2\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"resourceVersion\":"
	    "\"%lld\"},\"spec\":{\"resource\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":"
	    "\"default\",\"name\":\"b\"},\"placement\":{}}}",
	    /* cluster scope */
	    "{\"apiVersion\":\"work.karmada.io/v1alpha2\",\"kind\":\"ClusterResourceBinding\",\"metadata\":{\"name\":"
	    "\"b3\",\"uid\":\"u3\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"generation\":1,\"resourceVersion\":"
	    "\"%lld\"},\"spec\":{\"resource\":{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"name\":\"n\"},"
	    "\"placement\":{},\"clusters\":[{\"name\":\"m1\"}]},\"status\":{}}",
	};
	for (int i = 0; i < 3; i++) {
		const struct kind_info *k = i == 2 ? crbk : rbk;
		const char *ns = i == 2 ? "" : "default";
		char name[8], key[512], text[4096];
		snprintf(name, sizeof name, "b%d", i + 1);
		obj_key(key, sizeof key, k, ns, name);
		struct obj_ctx *both[2] = {c, &c2};
		/* the same revisions in both stores */
		while (store_revision(c2.store) < store_revision(c->store)) {
			cJSON *filler = cJSON_Parse("{\"metadata\":{\"name\":\"filler\"}}");
			assert_int_equal(store_put(c2.store, "core/configmaps/default/filler", filler, 0, NULL, NULL), STORE_OK);
			cJSON_Delete(filler);
		}
		assert_int_equal(store_revision(c->store), store_revision(c2.store));
		for (int s = 0; s < 2; s++) {
			long long next = store_revision(both[s]->store) + 1;
			snprintf(text, sizeof text, stored[i], next);
			cJSON *o = cJSON_Parse(text);
			assert_non_null(o);
			assert_int_equal(store_put(both[s]->store, key, o, -1, NULL, NULL), STORE_OK);
			cJSON_Delete(o);
		}
		for (int variant = 0; variant < 3; variant++) {
			char *va = NULL, *vb = NULL;
			long long rev_a = 0, rev_b = 0;
			assert_int_equal(store_get(c->store, key, &va, &rev_a), STORE_OK);
			assert_int_equal(store_get(c2.store, key, &vb, &rev_b), STORE_OK);
			assert_string_equal(va, vb);
			assert_int_equal(rev_a, rev_b);
			cJSON *cur = cJSON_Parse(va), *next = json_dup(cur), *own = cJSON_Parse(vb);
			free(va);
			free(vb);
			mutate_binding(next, variant);
			double gen = json_get_num(own, "metadata.generation", 1);
			mutate_binding(own, variant);
			struct api_error ea = {0}, eb = {0};
			la.n = lb.n = 0;
			assert_int_equal(obj_update_cur(c, k, cur, next, SUBRES_MAIN_AND_STATUS, NULL, &ea), 0);
			assert_int_equal(obj_update_own(&c2, k, own, rev_b, gen, &eb), 0);
			va = json_print(next);
			vb = json_print(own);
			assert_string_equal(va, vb); /* both trees are the stored object */
			free(va);
			free(vb);
			assert_int_equal(la.n, 1);
			assert_int_equal(lb.n, 1);
			assert_int_equal(la.type, lb.type);
			assert_int_equal(la.rev, lb.rev);
			assert_string_equal(la.value, lb.value);
			assert_string_equal(la.prev, lb.prev);
			assert_true(variant == 1 || strstr(la.value, "\"m9\"") != NULL);
			cJSON_Delete(cur);
			cJSON_Delete(next);
			cJSON_Delete(own);
		}
		/* a stale revision: 409 both ways, nothing written */
		char *va = NULL;
		long long rev = 0;
		assert_int_equal(store_get(c->store, key, &va, &rev), STORE_OK);
		cJSON *cur = cJSON_Parse(va), *next = json_dup(cur), *own = json_dup(cur);
		free(va);
		json_set_str(json_ensure_obj(cur, "metadata"), "resourceVersion", "2");
		json_set_str(json_ensure_obj(next, "metadata"), "resourceVersion", "2");
		json_set_str(json_ensure_obj(own, "metadata"), "resourceVersion", "2");
		mutate_binding(next, 1);
		mutate_binding(own, 1);
		struct api_error ea = {0}, eb = {0};
		long long before = store_revision(c2.store);
		assert_int_equal(obj_update_cur(c, k, cur, next, SUBRES_MAIN_AND_STATUS, NULL, &ea), -1);
		assert_int_equal(obj_update_own(&c2, k, own, 2, 1, &eb), -1);
		assert_int_equal(ea.code, 409);
		assert_int_equal(eb.code, 409);
		assert_int_equal(store_revision(c2.store), before);
		api_error_clear(&ea);
		api_error_clear(&eb);
		cJSON_Delete(cur);
		cJSON_Delete(next);
		cJSON_Delete(own);
	}
	/* refused both ways, nothing written: annotations past their limit
	 * (422), an object past the size bound (413) */
	{
		char key[512], *va = NULL;
		long long rev = 0;
		obj_key(key, sizeof key, rbk, "default", "b1");
		assert_int_equal(store_get(c->store, key, &va, &rev), STORE_OK);
		cJSON *cur = cJSON_Parse(va), *next = json_dup(cur), *own = json_dup(cur);
		free(va);
		char *big = malloc(OBJ_MAX_STORED_BYTES + 2);
		memset(big, 'x', OBJ_MAX_STORED_BYTES + 1);
		big[OBJ_MAX_STORED_BYTES + 1] = '\0';
		for (int t = 0; t < 2; t++) {
			cJSON *nt = json_dup(next), *ot = json_dup(own);
			mutate_binding(nt, 0);
			mutate_binding(ot, 0);
			/* 300 KB of annotations; 1.5 MiB in status */
			if (t == 0)
				big[300 * 1024] = '\0';
			json_set_str(json_ensure_obj(nt, t == 0 ? "metadata.annotations" : "status"), "big", big);
			json_set_str(json_ensure_obj(ot, t == 0 ? "metadata.annotations" : "status"), "big", big);
			if (t == 0)
				big[300 * 1024] = 'x';
			struct api_error ea = {0}, eb = {0};
			long long before = store_revision(c2.store);
			assert_int_equal(obj_update_cur(c, rbk, cur, nt, SUBRES_MAIN_AND_STATUS, NULL, &ea), -1);
			assert_int_equal(obj_update_own(&c2, rbk, ot, rev, json_get_num(cur, "metadata.generation", 1), &eb), -1);
			assert_int_equal(ea.code, t == 0 ? 422 : 413);
			assert_int_equal(eb.code, ea.code);
			assert_int_equal(store_revision(c2.store), before);
			api_error_clear(&ea);
			api_error_clear(&eb);
			cJSON_Delete(nt);
			cJSON_Delete(ot);
		}
		free(big);
		cJSON_Delete(cur);
		cJSON_Delete(next);
		cJSON_Delete(own);
	}
	/* being deleted: refused in place (the controller takes the copy path) */
	char *v = NULL;
	long long rev = 0, before = store_revision(c2.store);
	char key[512];
	obj_key(key, sizeof key, rbk, "default", "b1");
	assert_int_equal(store_get(c2.store, key, &v, &rev), STORE_OK);
	cJSON *own = cJSON_Parse(v);
	free(v);
	json_set_str(json_ensure_obj(own, "metadata"), "deletionTimestamp", "2026-12-08T01:00:00Z");
	mutate_binding(own, 0);
	struct api_error e = {0};
	assert_int_equal(obj_update_own(&c2, rbk, own, rev, 1, &e), -1);
	assert_int_equal(e.code, 500);
	assert_int_equal(store_revision(c2.store), before);
	api_error_clear(&e);
	cJSON_Delete(own);
	store_unsubscribe(c->store, record_last, &la);
	store_close(c2.store);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir2);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_uid_format),
		cmocka_unit_test_setup_teardown(test_create_sets_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_name_and_missing_namespace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_tracks_spec_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_subresource_separation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noop_update_keeps_revision_and_stale_update_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scale_subresource, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_cur_and_noop_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_own_matches_update_cur, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_creates_then_merges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_namespace_cascades, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finalizers_and_graceful_deletion, setup, teardown),
		cmocka_unit_test(test_parse_path),
		cmocka_unit_test(test_kind_api_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
