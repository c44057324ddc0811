/* test_fanout_cpu — what the fan-out's CPU savings (issue 15, fifth pass)
 * must not change: the controller's Cluster cache, now kept from the
 * Clusters' store events instead of listed again after each change, is
 * exactly what a new list gives (changed, deleted, new Clusters, key
 * order) and is not listed again for a change; the binding pass's fast
 * Work writes (workfast.h) store byte for byte what the generic write path
 * stores (the same scenario on two stores, fast path on and off: new
 * Works, a template change over Works with an agent's status, a
 * reordered spec, an unchanged pass), keep each Work's status, uid and
 * permanent id, bump its generation once, and rewrite nothing unchanged. */
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

/* ---- fast Work writes ------------------------------------------------------ */

#define NFLEET 12

static const struct kind_info *WORK(void) { return K("work.karmada.io", "v1alpha1", "Work"); }

static void fleet(struct fx *f, bool fast)
{
	controller_set_work_fast(f->ctl, fast);
	for (int i = 0; i < NFLEET; i++) {
		char name[16];
		snprintf(name, sizeof name, "f%02d", i);
		create_cluster(f, name, "eu");
	}
	obj_create_ok(&f->objs, K("", "v1", "ConfigMap"), "default",
		      "{'metadata':{'name':'cfg'},'data':{'round':'0','a':'1','b':'2'}}");
	obj_create_ok(&f->objs, K("policy.karmada.io", "v1alpha1", "PropagationPolicy"), "default",
		      "{'metadata':{'name':'all'},'spec':{'resourceSelectors':[{'apiVersion':'v1','kind':'ConfigMap',"
		      "'name':'cfg'}],'placement':{'clusterAffinity':{'labelSelector':{'matchLabels':{'fleet':'yes'}}},"
		      "'replicaScheduling':{'replicaSchedulingType':'Duplicated'}}}}");
	settle(f);
}

static void wname(char *buf, size_t len) { render_work_name("ConfigMap", "cfg", "default", buf, len); }

/* An agent's report on cluster fNN's Work. */
static void report(struct fx *f, int i)
{
	char ns[64], wn[128];
	snprintf(ns, sizeof ns, "karmada-es-f%02d", i);
	wname(wn, sizeof wn);
	cJSON *w = obj_get_json(&f->objs, WORK(), ns, wn);
	assert_non_null(w);
	json_set(w, "status",
		 jq("{'conditions':[{'type':'Applied','status':'True','reason':'AppliedSuccessful','message':'ok',"
		    "'lastTransitionTime':'2026-01-01T00:00:00Z'}],'manifestStatuses':[{'identifier':{'ordinal':0,"
		    "'version':'v1','kind':'ConfigMap','name':'cfg','namespace':'default'},'health':'Healthy'}]}"));
	struct api_error e = {0};
	assert_int_equal(obj_update(&f->objs, WORK(), ns, wn, w, SUBRES_STATUS, false, NULL, &e), 0);
	cJSON_Delete(w);
}

/* The ConfigMap's data, and with applied its last-applied annotation
 * (which the Works do not carry: a change of it alone and of the data's
 * key order re-renders the Works with the same values in another order). */
static void set_config_as(struct fx *f, const char *data, const char *applied)
{
	cJSON *cur = obj_get_json(&f->objs, K("", "v1", "ConfigMap"), "default", "cfg");
	assert_non_null(cur);
	json_set(cur, "data", jq(data));
	if (applied)
		json_set_str(json_ensure_obj(json_ensure_obj(cur, "metadata"), "annotations"),
			     "kubectl.kubernetes.io/last-applied-configuration", applied);
	struct api_error e = {0};
	assert_int_equal(obj_update(&f->objs, K("", "v1", "ConfigMap"), "default", "cfg", cur, SUBRES_NONE, false,
				    NULL, &e),
			 0);
	cJSON_Delete(cur);
	settle(f);
}

static void set_config(struct fx *f, const char *data) { set_config_as(f, data, NULL); }

struct texts {
	char *all;
	size_t len;
};

static int collect(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct texts *t = ud;
	t->all = realloc(t->all, t->len + strlen(key) + len + 3);
	t->len += (size_t)sprintf(t->all + t->len, "%s\n%.*s\n", key, (int)len, value);
	return 0;
}

/* The Works' keys and stored texts, with what is random in them (UIDs,
 * times) masked; revisions are kept: both stores see the same writes. */
static char *works_text(struct fx *f)
{
	struct texts t = {calloc(1, 1), 0};
	store_list(f->objs.store, "work.karmada.io/works/", collect, &t, NULL);
	for (char *p = t.all; *p; p++) {
		bool uuid = strlen(p) >= 36;
		for (int i = 0; uuid && i < 36; i++)
			uuid = (i == 8 || i == 13 || i == 18 || i == 23) ? p[i] == '-' : strchr("0123456789abcdef", p[i]) != NULL;
		if (uuid) {
			memset(p, 'U', 36);
			p += 35;
			continue;
		}
		/* 2026-12-08T00:41:11Z */
		bool ts = strlen(p) >= 20 && p[4] == '-' && p[7] == '-' && p[10] == 'T' && p[13] == ':' && p[16] == ':' &&
			  p[19] == 'Z';
		if (ts) {
			memset(p, 'T', 20);
			p += 19;
		}
	}
	return t.all;
}

/* The same scenario with the fast path on or off; the Works' texts after
 * each step. */
static void scenario(bool fast, char *out[4], long *fast_writes, long *fast_off)
{
	struct fx *f = NULL;
	setup((void **)&f);
	fleet(f, fast);
	out[0] = works_text(f); /* new Works */
	for (int i = 0; i < NFLEET; i += 2)
		report(f, i);
	settle(f);
	/* a change over Works with status (escapes: decoded, and one left to cJSON) */
	set_config(f, "{'round':'1','a':'x\\ny \\\"q\\\"','b':'2','c':'\\u0001','n':'1.50'}");
	out[1] = works_text(f);
	/* the same data, in another key order: no new generation */
	set_config_as(f, "{'n':'1.50','b':'2','c':'\\u0001','round':'1','a':'x\\ny \\\"q\\\"'}", "1");
	set_config(f, "{'n':'1.50','b':'2','round':'1','a':'x\\ny \\\"q\\\"'}"); /* one member less */
	set_config_as(f, "{'a':'x\\ny \\\"q\\\"','round':'1','b':'2','n':'1.50'}", "2"); /* reordered again */
	out[2] = works_text(f);
	long long rev = store_revision(f->objs.store);
	/* a pass with nothing to change rewrites no Work */
	char bk[512];
	render_binding_name("ConfigMap", "cfg", bk, sizeof bk);
	char key[600];
	obj_key(key, sizeof key, K("work.karmada.io", "v1alpha1", "ResourceBinding"), "default", bk);
	ctl_enqueue(f->ctl, 'B', key);
	settle(f);
	out[3] = works_text(f);
	/* no Work written since rev */
	cJSON *all = ctl_list_prefix(f->ctl, "work.karmada.io/works/");
	const cJSON *w;
	cJSON_ArrayForEach(w, all) assert_true(atoll(ctl_mstr(w, "resourceVersion")) <= rev);
	cJSON_Delete(all);
	*fast_writes = f->ctl->work_fast_writes;
	*fast_off = f->ctl->work_fast_off;
	teardown((void **)&f);
}

static void test_fast_work_writes_store_what_the_generic_path_stores(void **state)
{
	(void)state;
	char *fast[4], *slow[4];
	long fw, foff, sw, soff;
	scenario(true, fast, &fw, &foff);
	scenario(false, slow, &sw, &soff);
	/* the fast path was taken, and never found to differ */
	assert_true(fw >= NFLEET);
	assert_int_equal(foff, 0);
	assert_int_equal(sw, 0);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(fast[i], slow[i]);
		free(fast[i]);
		free(slow[i]);
	}
}

/* After a change, each Work keeps its uid, permanent id and status and
 * has generation 2 and the new data. */
static void test_fast_work_update_keeps_status_and_identity(void **state)
{
	struct fx *f = *state;
	fleet(f, true);
	report(f, 3);
	settle(f);
	char ns[64], wn[128];
	snprintf(ns, sizeof ns, "karmada-es-f%02d", 3);
	wname(wn, sizeof wn);
	cJSON *before = obj_get_json(&f->objs, WORK(), ns, wn);
	long writes = f->ctl->work_fast_writes;
	set_config(f, "{'round':'2','a':'1','b':'2'}");
	assert_true(f->ctl->work_fast_writes >= writes + NFLEET - 2); /* all but the first and the checked one */
	cJSON *after = obj_get_json(&f->objs, WORK(), ns, wn);
	assert_string_equal(ctl_mstr(after, "uid"), ctl_mstr(before, "uid"));
	const char *id_b = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(json_get(before, "metadata.labels"), WORK_PERMANENT_ID_LABEL));
	const char *id_a = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(json_get(after, "metadata.labels"), WORK_PERMANENT_ID_LABEL));
	assert_non_null(id_b);
	assert_string_equal(id_a, id_b);
	assert_true(json_equal(json_get(after, "status"), json_get(before, "status")));
	assert_non_null(json_get(after, "status.manifestStatuses"));
	assert_int_equal((int)json_get_num(after, "metadata.generation", 0), 2);
	const cJSON *m = cJSON_GetArrayItem(json_get(after, "spec.workload.manifests"), 0);
	assert_string_equal(json_get_str(m, "data.round"), "2");
	cJSON_Delete(before);
	cJSON_Delete(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cluster_cache_follows_events, setup, teardown),
		cmocka_unit_test(test_fast_work_writes_store_what_the_generic_path_stores),
		cmocka_unit_test_setup_teardown(test_fast_work_update_keeps_status_and_identity, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
