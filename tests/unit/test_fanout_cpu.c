/* test_fanout_cpu — what the fan-out's CPU savings (issue 15, fifth pass)
 * must not change: the controller's Cluster cache, now kept from the
 * Clusters' store events instead of listed again after each change, is
 * exactly what a new list gives (changed, deleted, new Clusters, key
 * order) and is not listed again for a change. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller.h"
#include "ctl_core.h"
#include "jsonutil.h"
#include "objects.h"
#include "objtest.h"
#include "render.h"
#include "testutil.h"

struct fx {
	char dir[256];
	struct obj_ctx objs;
	struct controller *ctl;
};

static const struct kind_info *K(const char *g, const char *v, const char *k) { return kinds_find_kind(g, v, k); }
static const struct kind_info *CLUSTER(void) { return K("cluster.karmada.io", "v1alpha1", "Cluster"); }

static void settle(struct fx *f)
{
	alarm(20);
	controller_run_pending(f->ctl);
	alarm(0);
}

static void create_cluster(struct fx *f, const char *name, const char *region)
{
	char buf[512];
	snprintf(buf, sizeof buf,
		 "{'metadata':{'name':'%s','labels':{'fleet':'yes'}},'spec':{'syncMode':'Pull','region':'%s'},'status':{"
		 "'kubernetesVersion':'v1.31.0','conditions':[{'type':'Ready','status':'True','reason':'ClusterReady',"
		 "'message':'ok','lastTransitionTime':'2026-01-01T00:00:00Z'}]}}",
		 name, region);
	obj_create_ok(&f->objs, CLUSTER(), "", buf);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	obj_test_open(f->dir, sizeof f->dir, "fanoutcpu", &f->objs);
	obj_create_ok(&f->objs, K("", "v1", "Namespace"), "", "{'metadata':{'name':'default'}}");
	f->ctl = controller_start(NULL, f->objs.store, &f->objs);
	static const char *const names[] = {"c1", "c3", "c5", "c7"};
	for (int i = 0; i < 4; i++)
		create_cluster(f, names[i], "eu");
	settle(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	controller_stop(f->ctl);
	obj_test_close(f->dir, &f->objs);
	free(f);
	return 0;
}

/* The cache equals a fresh list of the Clusters, item by item, printed. */
static void assert_cache_is_list(struct fx *f)
{
	struct controller *c = f->ctl;
	const cJSON *have = ctl_current_clusters(c);
	cJSON *fresh = ctl_list_prefix(c, "cluster.karmada.io/clusters/");
	assert_int_equal(cJSON_GetArraySize(have), cJSON_GetArraySize(fresh));
	const cJSON *h = have->child, *w = fresh->child;
	for (; h && w; h = h->next, w = w->next) {
		char *hs = json_print(h), *ws = json_print(w);
		assert_string_equal(hs, ws);
		free(hs);
		free(ws);
		/* and the index finds it */
		assert_ptr_equal(ctl_find_cluster(c, have, ctl_mstr(h, "name")), h);
	}
	cJSON_Delete(fresh);
}

static void update_cluster(struct fx *f, const char *name, const char *region)
{
	cJSON *cur = obj_get_json(&f->objs, CLUSTER(), "", name);
	assert_non_null(cur);
	json_set_str(json_get(cur, "spec"), "region", region);
	struct api_error e = {0};
	assert_int_equal(obj_update(&f->objs, CLUSTER(), "", name, cur, SUBRES_NONE, false, NULL, &e), 0);
	cJSON_Delete(cur);
}

static void test_cluster_cache_follows_events(void **state)
{
	struct fx *f = *state;
	struct controller *c = f->ctl;
	assert_cache_is_list(f);
	const cJSON *c1 = ctl_find_cluster(c, ctl_current_clusters(c), "c1");
	assert_non_null(c1);
	/* one changed, one deleted, two new (one sorts first, one between) */
	update_cluster(f, "c5", "ap");
	struct api_error e = {0};
	char *out = NULL;
	assert_int_equal(obj_delete(&f->objs, CLUSTER(), "", "c3", &out, &e), 0);
	free(out);
	create_cluster(f, "c0", "us");
	create_cluster(f, "c4", "us");
	update_cluster(f, "c4", "ap"); /* twice changed before the next use: the last value */
	assert_cache_is_list(f);
	assert_string_equal(json_get_str(ctl_find_cluster(c, ctl_current_clusters(c), "c5"), "spec.region"), "ap");
	assert_string_equal(json_get_str(ctl_find_cluster(c, ctl_current_clusters(c), "c4"), "spec.region"), "ap");
	assert_null(ctl_find_cluster(c, ctl_current_clusters(c), "c3"));
	/* Not listed again: the unchanged Cluster is the same object. */
	assert_ptr_equal(ctl_find_cluster(c, ctl_current_clusters(c), "c1"), c1);
	/* The controller's own reconciling of those changes leaves it right. */
	settle(f);
	assert_cache_is_list(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cluster_cache_follows_events, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
