/* test_fanout_slices — the controller's fan-out on a libevent loop with the
 * loop turn's group commit (issue 15): a client's write is committed (and
 * so answered) with at most the first slice of what it causes; a
 * Duplicated binding over many clusters writes its Works in slices, each in
 * its own commit, with the loop turn's fan-out flag up while slices remain;
 * a template changed between two slices makes the pass start over (no Work
 * is written from what it read before) and every Work carries the new
 * manifest, and one changed after every slice still reaches every
 * cluster (after two restarts the pass is written in one piece); a
 * template deleted between two slices ends the pass (the
 * flag comes down, no Work is left). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "controller.h"
#include "jsonutil.h"
#include "loopturn.h"
#include "objects.h"
#include "objtest.h"
#include "render.h"
#include "testutil.h"

#define NCLUSTERS 200
#define SLICE 25

struct trace {
	struct loopturn *turn;
	int commits;          /* turns that committed a batch */
	int policy_commit;    /* the commit that held the policy */
	int first_ctl_commit; /* the commit of the first write after the policy (the controller's) */
	int nworks;           /* Work writes committed */
	int first_work_commit, last_work_commit;
	int work_commits;     /* commits with Works in them */
	int last_counted;     /* the commit last counted in work_commits */
	int per_commit_max;   /* most Works in one commit */
	int in_commit;        /* Works in the current commit */
	int fanout_commits;   /* commits of Works with the fan-out flag up */
	int agg_commit;       /* the last commit of the binding with an aggregated status */
	int agg_writes;       /* commits of the binding with an aggregated status */
	int other_agg_writes; /* the same for the binding of ConfigMap "other" */
	long long changed_rev; /* the template's change to round 1 */
	int stale_writes;      /* Works written with round 0 after it */
};

struct fx {
	char dir[256];
	struct obj_ctx objs;
	struct event_base *base;
	struct loopturn *turn;
	struct controller *ctl;
	struct trace tr;
};

static const struct kind_info *K(const char *g, const char *v, const char *k) { return kinds_find_kind(g, v, k); }

static void on_precommit(void *ud)
{
	struct trace *t = ud;
	t->commits++;
	t->in_commit = 0;
}

static void on_committed(const struct store_event *ev, void *ud)
{
	struct trace *t = ud;
	if (strncmp(ev->key, "policy.karmada.io/propagationpolicies/", 38) == 0 && t->policy_commit < 0)
		t->policy_commit = t->commits;
	else if (t->policy_commit >= 0 && t->first_ctl_commit < 0)
		t->first_ctl_commit = t->commits;
	if (strncmp(ev->key, "work.karmada.io/resourcebindings/", 33) == 0 && ev->value &&
	    strstr(ev->value, "\"aggregatedStatus\"")) {
		if (strstr(ev->key, "/other-configmap")) {
			t->other_agg_writes++;
			return;
		}
		t->agg_commit = t->commits;
		t->agg_writes++;
	}
	if (strcmp(ev->key, "core/configmaps/default/cfg") == 0 && ev->value && strstr(ev->value, "\"round\":\"1\""))
		t->changed_rev = ev->rev; /* committed in revision order: what follows is after it */
	if (strncmp(ev->key, "work.karmada.io/works/", 22) != 0 || ev->type == STORE_DELETED)
		return;
	/* Only the controller's Work writes (spec): status writes do not
	 * happen here (no agents). */
	t->nworks++;
	if (t->changed_rev && ev->value && strstr(ev->value, "\"round\":\"0\""))
		t->stale_writes++;
	if (t->first_work_commit < 0)
		t->first_work_commit = t->commits;
	t->last_work_commit = t->commits;
	if (t->last_counted != t->commits) {
		t->last_counted = t->commits;
		t->work_commits++;
		if (loopturn_fanout(t->turn))
			t->fanout_commits++;
	}
	if (++t->in_commit > t->per_commit_max)
		t->per_commit_max = t->in_commit;
}

static void run_loop(struct event_base *base)
{
	alarm(60);
	while (event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	alarm(0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	obj_test_open(f->dir, sizeof f->dir, "fanout", &f->objs);
	obj_create_ok(&f->objs, K("", "v1", "Namespace"), "", "{'metadata':{'name':'default'}}");
	for (int i = 0; i < NCLUSTERS; i++) {
		char buf[512];
		snprintf(buf, sizeof buf,
			 "{'metadata':{'name':'c%03d','labels':{'fleet':'yes'}},'spec':{'syncMode':'Pull'},'status':{"
			 "'kubernetesVersion':'v1.31.0','conditions':[{'type':'Ready','status':'True','reason':"
			 "'ClusterReady','message':'ok','lastTransitionTime':'2026-01-01T00:00:00Z'}]}}",
			 i);
		obj_create_ok(&f->objs, K("cluster.karmada.io", "v1alpha1", "Cluster"), "", buf);
	}
	f->base = event_base_new();
	f->turn = loopturn_new(f->base, f->objs.store);
	loopturn_set_yield(f->turn, 4); /* as the hub's API server sets it */
	loopturn_start(f->turn);
	f->ctl = controller_start(f->base, f->objs.store, &f->objs);
	controller_set_bind_slice(f->ctl, 0, SLICE); /* slices of exactly SLICE Works */
	run_loop(f->base);
	f->tr = (struct trace){.turn = f->turn, .policy_commit = -1, .first_ctl_commit = -1, .first_work_commit = -1, .last_work_commit = -1,
			       .last_counted = -1, .agg_commit = -1};
	loopturn_add_precommit(f->turn, on_precommit, &f->tr);
	store_subscribe_committed(f->objs.store, on_committed, &f->tr);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_unsubscribe(f->objs.store, on_committed, &f->tr);
	controller_stop(f->ctl);
	loopturn_free(f->turn);
	event_base_free(f->base);
	obj_test_close(f->dir, &f->objs);
	free(f);
	return 0;
}

static void create_config_and_policy(struct fx *f, const char *round)
{
	char buf[512];
	snprintf(buf, sizeof buf, "{'metadata':{'name':'cfg'},'data':{'round':'%s'}}", round);
	obj_create_ok(&f->objs, K("", "v1", "ConfigMap"), "default", buf);
	run_loop(f->base);
	obj_create_ok(&f->objs, K("policy.karmada.io", "v1alpha1", "PropagationPolicy"), "default",
		      "{'metadata':{'name':'all'},'spec':{'resourceSelectors':[{'apiVersion':'v1','kind':'ConfigMap',"
		      "'name':'cfg'}],'placement':{'clusterAffinity':{'labelSelector':{'matchLabels':{'fleet':'yes'}}},"
		      "'replicaScheduling':{'replicaSchedulingType':'Duplicated'}}}}");
}

/* Every cluster's Work carries data.round == want. */
static void assert_works_round(struct fx *f, const char *want)
{
	char wn[128];
	render_work_name("ConfigMap", "cfg", "default", wn, sizeof wn);
	for (int i = 0; i < NCLUSTERS; i++) {
		char ns[64];
		snprintf(ns, sizeof ns, "karmada-es-c%03d", i);
		cJSON *w = obj_get_json(&f->objs, K("work.karmada.io", "v1alpha1", "Work"), ns, wn);
		assert_non_null(w);
		const cJSON *m = cJSON_GetArrayItem(json_get(w, "spec.workload.manifests"), 0);
		const char *r = json_get_str(m, "data.round");
		assert_non_null(r);
		assert_string_equal(r, want);
		cJSON_Delete(w);
	}
}

static void test_policy_commits_with_first_slice_then_works_in_slices(void **state)
{
	struct fx *f = *state;
	create_config_and_policy(f, "0");
	run_loop(f->base);
	struct trace *t = &f->tr;
	assert_int_equal(t->nworks, NCLUSTERS);
	/* The policy shares its commit with the controller's first slice (one
	 * commit, on etcd one Txn, for a write and what it causes at once; how
	 * far that slice gets in its 20 ms depends on the machine), and with
	 * at most the first slice of Works: its writer is answered after that
	 * commit, not after the fan-out. */
	assert_true(t->policy_commit >= 1);
	assert_int_equal(t->first_ctl_commit, t->policy_commit);
	assert_true(t->first_work_commit >= t->policy_commit);
	assert_true(t->last_work_commit > t->policy_commit);
	/* NCLUSTERS / SLICE slices, each its own commit. */
	assert_int_equal(t->work_commits, NCLUSTERS / SLICE);
	assert_int_equal(t->per_commit_max, SLICE);
	/* While the pass was not done, the fan-out flag was up (status reports
	 * wait behind it: agentapi.c); after its last step it is down. The
	 * last step (the aggregation) came after the last slice's commit, so
	 * the last Works were answered without waiting for it. */
	assert_int_equal(t->fanout_commits, NCLUSTERS / SLICE);
	assert_false(loopturn_fanout(f->turn));
	assert_true(t->agg_commit > t->last_work_commit);
	assert_works_round(f, "0");
	/* The binding names every cluster and has the Works' status folded
	 * (the aggregation at the end of the pass saw every slice's Work). */
	cJSON *rb = obj_get_json(&f->objs, K("work.karmada.io", "v1alpha2", "ResourceBinding"), "default",
				 "cfg-configmap");
	assert_non_null(rb);
	assert_int_equal(cJSON_GetArraySize(json_get(rb, "spec.clusters")), NCLUSTERS);
	assert_int_equal(cJSON_GetArraySize(json_get(rb, "status.aggregatedStatus")), NCLUSTERS);
	cJSON_Delete(rb);
}

/* The template changes after the first slice was committed: the next
 * slice finds the pass out of date and starts over, so no Work keeps the
 * old manifest (and none is missing). */
static void test_change_between_slices_starts_over(void **state)
{
	struct fx *f = *state;
	create_config_and_policy(f, "0");
	alarm(60);
	while (f->tr.work_commits < 1 && event_base_loop(f->base, EVLOOP_ONCE) == 0)
		;
	alarm(0);
	assert_int_equal(f->tr.work_commits, 1);
	assert_true(loopturn_fanout(f->turn));
	cJSON *p = jq("{'data':{'round':'1'}}");
	char *out = NULL;
	struct api_error e = {0};
	bool created;
	assert_int_equal(obj_patch(&f->objs, K("", "v1", "ConfigMap"), "default", "cfg", "application/merge-patch+json",
				   p, SUBRES_NONE, false, &created, &out, &e),
			 0);
	free(out);
	cJSON_Delete(p);
	run_loop(f->base);
	assert_works_round(f, "1");
	assert_false(loopturn_fanout(f->turn));
	/* the pass did not go on with what it had read before the change */
	assert_int_equal(f->tr.stale_writes, 0);
	/* The first slice's Works written again with round 1 */
	assert_true(f->tr.nworks >= NCLUSTERS + SLICE);
}

/* The template is deleted after the first slice: the pass does not go on
 * (its binding is gone), the fan-out flag comes down and no Work is left. */
static void test_delete_between_slices(void **state)
{
	struct fx *f = *state;
	create_config_and_policy(f, "0");
	alarm(60);
	while (f->tr.work_commits < 1 && event_base_loop(f->base, EVLOOP_ONCE) == 0)
		;
	alarm(0);
	assert_true(loopturn_fanout(f->turn));
	struct api_error e = {0};
	char *out = NULL;
	assert_int_equal(obj_delete(&f->objs, K("", "v1", "ConfigMap"), "default", "cfg", &out, &e), 0);
	free(out);
	run_loop(f->base);
	assert_false(loopturn_fanout(f->turn));
	char wn[128];
	render_work_name("ConfigMap", "cfg", "default", wn, sizeof wn);
	int left = 0;
	for (int i = 0; i < NCLUSTERS; i++) {
		char ns[64];
		snprintf(ns, sizeof ns, "karmada-es-c%03d", i);
		cJSON *w = obj_get_json(&f->objs, K("work.karmada.io", "v1alpha1", "Work"), ns, wn);
		left += w != NULL && !json_get(w, "metadata.deletionTimestamp");
		cJSON_Delete(w);
	}
	assert_int_equal(left, 0);
	assert_true(f->tr.nworks < NCLUSTERS); /* the rest of the pass was never written */
}

/* The template changes after every slice: each change makes the pass
 * start over, and a pass restarted twice is written in one piece, so the
 * binding's Works all get the last change (a pass restarted by every
 * slice would never reach its last clusters). */
static void test_changed_after_every_slice(void **state)
{
	struct fx *f = *state;
	create_config_and_policy(f, "0");
	int patched = 0, seen = 0;
	alarm(60);
	while (patched < 6 && event_base_loop(f->base, EVLOOP_ONCE) == 0) {
		if (f->tr.work_commits == seen)
			continue;
		seen = f->tr.work_commits;
		char body[64];
		snprintf(body, sizeof body, "{'data':{'round':'%d'}}", ++patched);
		cJSON *p = jq(body);
		char *out = NULL;
		struct api_error e = {0};
		bool created;
		assert_int_equal(obj_patch(&f->objs, K("", "v1", "ConfigMap"), "default", "cfg",
					   "application/merge-patch+json", p, SUBRES_NONE, false, &created, &out, &e),
				 0);
		free(out);
		cJSON_Delete(p);
	}
	alarm(0);
	run_loop(f->base);
	assert_works_round(f, "6");
	assert_false(loopturn_fanout(f->turn));
	/* after two restarts: one pass, one commit, for the clusters left */
	assert_true(f->tr.per_commit_max >= NCLUSTERS - SLICE);
}

/* Work i of ConfigMap cm reports itself applied (as its agent's status report does). */
static void report_applied_of(struct fx *f, const char *cm, int i)
{
	char wn[128], ns[64];
	render_work_name("ConfigMap", cm, "default", wn, sizeof wn);
	snprintf(ns, sizeof ns, "karmada-es-c%03d", i);
	cJSON *p = jq("{'status':{'conditions':[{'type':'Applied','status':'True','reason':'AppliedSuccessful',"
		      "'message':'ok','lastTransitionTime':'2026-01-01T00:00:00Z'}]}}");
	char *out = NULL;
	struct api_error e = {0};
	bool created;
	assert_int_equal(obj_patch(&f->objs, K("work.karmada.io", "v1alpha1", "Work"), ns, wn,
				   "application/merge-patch+json", p, SUBRES_STATUS, false, &created, &out, &e),
			 0);
	free(out);
	cJSON_Delete(p);
}

static void report_applied(struct fx *f, int i) { report_applied_of(f, "cfg", i); }

static void run_for_ms(struct fx *f, int ms)
{
	struct timeval tv = {0, ms * 1000};
	alarm(60);
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
	alarm(0);
}

/* Runs the loop until the binding's aggregated-status writes reach n. */
static void run_until_agg_writes(struct fx *f, int n)
{
	alarm(60);
	while (f->tr.agg_writes < n && event_base_loop(f->base, EVLOOP_ONCE) == 0)
		;
	alarm(0);
	assert_int_equal(f->tr.agg_writes, n);
}

/* Clusters that the binding's aggregated status says applied. */
static int applied_in_binding(struct fx *f)
{
	cJSON *rb = obj_get_json(&f->objs, K("work.karmada.io", "v1alpha2", "ResourceBinding"), "default",
				 "cfg-configmap");
	assert_non_null(rb);
	int n = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, json_get(rb, "status.aggregatedStatus")) n += cJSON_IsTrue(cJSON_GetObjectItem(a, "applied"));
	cJSON_Delete(rb);
	return n;
}

/* Status reports fold into their binding one aggregation per report when
 * aggregations are cheap; a binding whose aggregation is paced (here: any
 * cost, waiting up to 1 s after it) folds the reports that come during its
 * wait in one aggregation after it, and none is lost. */
static void test_status_aggregation_paced(void **state)
{
	struct fx *f = *state;
	create_config_and_policy(f, "0");
	run_loop(f->base);
	assert_int_equal(f->tr.nworks, NCLUSTERS);
	assert_int_equal(applied_in_binding(f), 0);
	/* Not paced: every report its own aggregation. */
	controller_set_agg_pacing(f->ctl, 0, 0, 0);
	int base = f->tr.agg_writes;
	for (int i = 0; i < 3; i++) {
		report_applied(f, i);
		run_until_agg_writes(f, base + i + 1);
	}
	assert_int_equal(applied_in_binding(f), 3);
	/* Paced: the first report's aggregation sets the wait; three more
	 * reports 100 ms apart inside it are folded once, after it. */
	controller_set_agg_pacing(f->ctl, 0, 1000000, 1000);
	base = f->tr.agg_writes;
	report_applied(f, 3);
	run_until_agg_writes(f, base + 1);
	for (int i = 4; i < 7; i++) {
		report_applied(f, i);
		run_for_ms(f, 100);
	}
	assert_int_equal(f->tr.agg_writes, base + 1);
	assert_int_equal(applied_in_binding(f), 4);
	run_until_agg_writes(f, base + 2);
	assert_int_equal(applied_in_binding(f), 7);
	run_for_ms(f, 200);
	assert_int_equal(f->tr.agg_writes, base + 2);
}

/* A binding waiting for its paced turn does not hold back another
 * binding's report: that one folds within the usual 50 ms. */
static void test_paced_binding_does_not_delay_others(void **state)
{
	struct fx *f = *state;
	create_config_and_policy(f, "0");
	run_loop(f->base);
	obj_create_ok(&f->objs, K("", "v1", "ConfigMap"), "default", "{'metadata':{'name':'other'},'data':{'a':'b'}}");
	obj_create_ok(&f->objs, K("policy.karmada.io", "v1alpha1", "PropagationPolicy"), "default",
		      "{'metadata':{'name':'one'},'spec':{'resourceSelectors':[{'apiVersion':'v1','kind':'ConfigMap',"
		      "'name':'other'}],'placement':{'clusterAffinity':{'clusterNames':['c000']}}}}");
	run_loop(f->base);
	int other = f->tr.other_agg_writes;
	assert_true(other >= 1);
	controller_set_agg_pacing(f->ctl, 0, 1000000, 2000);
	int base = f->tr.agg_writes;
	report_applied(f, 0);
	run_until_agg_writes(f, base + 1); /* its cost now paces the big binding */
	report_applied(f, 1);              /* waits up to 2 s */
	run_for_ms(f, 150);                /* the timer now waits for the big binding's turn */
	report_applied_of(f, "other", 0);
	run_for_ms(f, 400);
	assert_int_equal(f->tr.other_agg_writes, other + 1);
	assert_int_equal(f->tr.agg_writes, base + 1);
	run_until_agg_writes(f, base + 2);
	assert_int_equal(applied_in_binding(f), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_policy_commits_with_first_slice_then_works_in_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_between_slices_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_between_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_after_every_slice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_aggregation_paced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paced_binding_does_not_delay_others, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
