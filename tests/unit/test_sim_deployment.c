/* test_sim_deployment — the simulator's Deployment and ReplicaSet
 * controllers as pure functions: creating the new ReplicaSet, scaling,
 * RollingUpdate steps under maxSurge/maxUnavailable, Recreate, rollback,
 * revision history cleanup, Deployment status and conditions, and which
 * pods a ReplicaSet creates or deletes. The sim sources are compiled into
 * this test (they are not in the libraries the Makefile links). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_deployment.c"
#include "sim_kubelet.c"
#include "sim_podtemplate.c"
#include "sim_replicaset.c"

#define NOW 1800000000

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	assert_non_null(j);
	return j;
}

/* A Deployment "hello" (uid d1) with replicas and image. */
static cJSON *deployment(int replicas, const char *image, const char *strategy)
{
	char buf[2048];
	snprintf(buf, sizeof buf,
		 "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"hello\","
		 "\"namespace\":\"default\",\"uid\":\"d1\",\"generation\":1},\"spec\":{\"replicas\":%d,"
		 "\"selector\":{\"matchLabels\":{\"app\":\"hello\"}},%s\"revisionHistoryLimit\":10,"
		 "\"progressDeadlineSeconds\":600,\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}},"
		 "\"spec\":{\"containers\":[{\"name\":\"hello\",\"image\":\"%s\"}]}}}}",
		 replicas, strategy ? strategy : "", image);
	return parse(buf);
}

/* The ReplicaSet the controller would have made for d, as stored. */
static cJSON *stored_rs(const cJSON *d, const char *uid, int spec, int status, int available, long revision,
			const char *created)
{
	struct sim_deploy_plan p;
	cJSON *d2 = json_dup(d);
	cJSON_DeleteItemFromObject(d2, "status");
	sim_deploy_plan(d2, NULL, NOW, &p);
	cJSON *rs = p.create_rs;
	p.create_rs = NULL;
	sim_deploy_plan_free(&p);
	cJSON_Delete(d2);
	cJSON *meta = json_get(rs, "metadata");
	json_set_str(meta, "uid", uid);
	json_set_str(meta, "creationTimestamp", created);
	json_set_num(meta, "generation", 1);
	char buf[32];
	snprintf(buf, sizeof buf, "%ld", revision);
	json_set_str(json_get(rs, "metadata.annotations"), DEPLOY_REVISION_ANNOTATION, buf);
	json_set_num(json_get(rs, "spec"), "replicas", spec);
	cJSON *st = json_ensure_obj(rs, "status");
	json_set_num(st, "replicas", status);
	json_set_num(st, "readyReplicas", available);
	json_set_num(st, "availableReplicas", available);
	return rs;
}

static const cJSON *cond(const cJSON *status, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, json_get(status, "conditions"))
	{
		if (strcmp(json_get_str(c, "type"), type) == 0)
			return c;
	}
	return NULL;
}

static int patched_replicas(const struct sim_deploy_plan *p, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, p->rs_patches)
	{
		const cJSON *r = json_get(json_get(it, "patch"), "spec.replicas");
		if (strcmp(json_get_str(it, "name"), name) == 0 && r)
			return (int)r->valuedouble;
	}
	return -1;
}

static void test_new_deployment_creates_replicaset(void **state)
{
	cJSON *d = deployment(3, "nginx", NULL);
	cJSON *rss = cJSON_CreateArray();
	struct sim_deploy_plan p;
	sim_deploy_plan(d, rss, NOW, &p);
	assert_non_null(p.create_rs);
	char hash[16];
	sim_pod_template_hash(json_get(d, "spec.template"), 0, hash, sizeof hash);
	char name[64];
	snprintf(name, sizeof name, "hello-%s", hash);
	const cJSON *rs = p.create_rs;
	assert_string_equal(json_get_str(rs, "kind"), "ReplicaSet");
	assert_string_equal(json_get_str(rs, "metadata.name"), name);
	assert_string_equal(p.new_rs, name);
	assert_int_equal((int)json_get_num(rs, "spec.replicas", -1), 3);
	assert_string_equal(json_get_str(rs, "spec.selector.matchLabels.pod-template-hash"), hash);
	assert_string_equal(json_get_str(rs, "spec.selector.matchLabels.app"), "hello");
	assert_string_equal(json_get_str(rs, "spec.template.metadata.labels.pod-template-hash"), hash);
	assert_string_equal(json_get_str(rs, "metadata.labels.pod-template-hash"), hash);
	const cJSON *ann = json_get(rs, "metadata.annotations");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ann, DEPLOY_REVISION_ANNOTATION)), "1");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ann, DEPLOY_DESIRED_ANNOTATION)), "3");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ann, DEPLOY_MAX_ANNOTATION)), "4");
	assert_true(sim_is_controlled_by(rs, d));
	assert_string_equal(
	    cJSON_GetStringValue(cJSON_GetObjectItem(json_get(p.deploy_patch, "metadata.annotations"),
						     DEPLOY_REVISION_ANNOTATION)), "1");

	const cJSON *st = p.status;
	assert_int_equal((int)json_get_num(st, "observedGeneration", 0), 1);
	assert_int_equal((int)json_get_num(st, "unavailableReplicas", 0), 3);
	assert_null(json_get(st, "replicas")); /* zero fields are left out */
	assert_null(json_get(st, "readyReplicas"));
	assert_string_equal(json_get_str(cond(st, "Progressing"), "reason"), "NewReplicaSetCreated");
	char msg[128];
	snprintf(msg, sizeof msg, "Created new replica set \"%s\"", name);
	assert_string_equal(json_get_str(cond(st, "Progressing"), "message"), msg);
	assert_string_equal(json_get_str(cond(st, "Available"), "status"), "False");
	assert_string_equal(json_get_str(cond(st, "Available"), "reason"), "MinimumReplicasUnavailable");
	/* Progressing first, then Available (Kubernetes appends conditions). */
	assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(st, "conditions"), 0), "type"), "Progressing");
	sim_deploy_plan_free(&p);
	cJSON_Delete(rss);
	cJSON_Delete(d);
}

/* Runs the plan with d's status set to the previous plan's, as the store would. */
static void replan(cJSON *d, cJSON *rss, struct sim_deploy_plan *p)
{
	sim_deploy_plan(d, rss, NOW, p);
	json_set(d, "status", json_dup(p->status));
}

static void test_steady_state_and_scale(void **state)
{
	cJSON *d = deployment(3, "nginx", NULL);
	cJSON *rss = cJSON_CreateArray();
	cJSON *rs = stored_rs(d, "r1", 3, 3, 3, 1, "2026-01-01T00:00:00Z");
	const char *rsname = json_get_str(rs, "metadata.name");
	cJSON_AddItemToArray(rss, rs);
	struct sim_deploy_plan p;
	replan(d, rss, &p);
	assert_null(p.create_rs);
	assert_int_equal(cJSON_GetArraySize(p.rs_patches), 0);
	assert_int_equal(cJSON_GetArraySize(p.rs_deletes), 0);
	const cJSON *st = p.status;
	for (int i = 0; i < 4; i++) {
		static const char *const f[] = {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"};
		assert_int_equal((int)json_get_num(st, f[i], 0), 3);
	}
	assert_null(json_get(st, "unavailableReplicas"));
	assert_string_equal(json_get_str(cond(st, "Available"), "reason"), "MinimumReplicasAvailable");
	assert_string_equal(json_get_str(cond(st, "Progressing"), "reason"), "NewReplicaSetAvailable");
	char msg[128];
	snprintf(msg, sizeof msg, "ReplicaSet \"%s\" has successfully progressed.", rsname);
	assert_string_equal(json_get_str(cond(st, "Progressing"), "message"), msg);
	assert_true(sim_deploy_complete(d, st));
	sim_deploy_plan_free(&p);

	/* The same inputs again: nothing to do, same status. */
	cJSON *before = json_dup(json_get(d, "status"));
	replan(d, rss, &p);
	assert_true(cJSON_Compare(before, p.status, 1));
	cJSON_Delete(before);
	sim_deploy_plan_free(&p);

	/* Scale to 5: the new ReplicaSet goes straight to 5. */
	json_set_num(json_get(d, "spec"), "replicas", 5);
	json_set_num(json_get(d, "metadata"), "generation", 2);
	replan(d, rss, &p);
	assert_int_equal(patched_replicas(&p, rsname), 5);
	assert_int_equal((int)json_get_num(p.status, "observedGeneration", 0), 2);
	assert_int_equal((int)json_get_num(p.status, "unavailableReplicas", 0), 2);
	/* 3 available >= 5 - 1 max unavailable? no: 5 - floor(1.25) = 4 */
	assert_string_equal(json_get_str(cond(p.status, "Available"), "status"), "False");
	sim_deploy_plan_free(&p);
	cJSON_Delete(rss);
	cJSON_Delete(d);
}

static void test_rolling_update_steps(void **state)
{
	cJSON *old_d = deployment(4, "nginx:1", "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
					    "{\"maxSurge\":1,\"maxUnavailable\":1}},");
	cJSON *rss = cJSON_CreateArray();
	cJSON *old = stored_rs(old_d, "r1", 4, 4, 4, 1, "2026-01-01T00:00:00Z");
	const char *oldname = json_get_str(old, "metadata.name");
	cJSON_AddItemToArray(rss, old);
	cJSON *d = deployment(4, "nginx:2", "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
					  "{\"maxSurge\":1,\"maxUnavailable\":1}},");
	json_set_num(json_get(d, "metadata"), "generation", 2);
	assert_int_equal(sim_deploy_max_surge(d), 1);
	assert_int_equal(sim_deploy_max_unavailable(d), 1);

	/* Step 1: the new ReplicaSet starts with the surge: 4 + 1 - 4 = 1. */
	struct sim_deploy_plan p;
	sim_deploy_plan(d, rss, NOW, &p);
	assert_non_null(p.create_rs);
	assert_int_equal((int)json_get_num(p.create_rs, "spec.replicas", -1), 1);
	const cJSON *ann = json_get(p.create_rs, "metadata.annotations");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ann, DEPLOY_REVISION_ANNOTATION)), "2");
	assert_int_equal(patched_replicas(&p, oldname), -1);
	assert_int_equal((int)json_get_num(p.status, "updatedReplicas", 0), 0);
	sim_deploy_plan_free(&p);

	/* Step 2: new RS exists (1 wanted, none available): the old one may
	 * lose 5 - 3 - 1 = 1 pod. */
	cJSON *nrs = stored_rs(d, "r2", 1, 1, 0, 2, "2026-01-01T00:01:00Z");
	const char *newname = json_get_str(nrs, "metadata.name");
	cJSON_AddItemToArray(rss, nrs);
	sim_deploy_plan(d, rss, NOW, &p);
	assert_null(p.create_rs);
	assert_int_equal(patched_replicas(&p, newname), -1);
	assert_int_equal(patched_replicas(&p, oldname), 3);
	assert_string_equal(p.new_rs, newname);
	assert_int_equal((int)json_get_num(p.status, "updatedReplicas", 0), 1);
	assert_int_equal((int)json_get_num(p.status, "replicas", 0), 5);
	sim_deploy_plan_free(&p);

	/* Step 3: old at 3, new at 1 (available): the new one may grow to 2. */
	json_set_num(json_get(old, "spec"), "replicas", 3);
	json_set_num(json_get(old, "status"), "replicas", 3);
	json_set_num(json_get(old, "status"), "availableReplicas", 3);
	json_set_num(json_get(nrs, "status"), "availableReplicas", 1);
	sim_deploy_plan(d, rss, NOW, &p);
	assert_int_equal(patched_replicas(&p, newname), 2);
	sim_deploy_plan_free(&p);

	/* Finally: new at 4 and available, old still at 1: old goes to 0. */
	json_set_num(json_get(old, "spec"), "replicas", 1);
	json_set_num(json_get(old, "status"), "replicas", 1);
	json_set_num(json_get(old, "status"), "availableReplicas", 1);
	json_set_num(json_get(nrs, "spec"), "replicas", 4);
	json_set_num(json_get(nrs, "status"), "replicas", 4);
	json_set_num(json_get(nrs, "status"), "availableReplicas", 4);
	sim_deploy_plan(d, rss, NOW, &p);
	assert_int_equal(patched_replicas(&p, oldname), 0);
	sim_deploy_plan_free(&p);

	/* Done: old at 0, no pods. */
	json_set_num(json_get(old, "spec"), "replicas", 0);
	json_set_num(json_get(old, "status"), "replicas", 0);
	json_set_num(json_get(old, "status"), "availableReplicas", 0);
	json_set_num(json_get(old, "status"), "readyReplicas", 0);
	json_set_num(json_get(nrs, "status"), "readyReplicas", 4);
	sim_deploy_plan(d, rss, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.rs_patches), 0);
	assert_true(sim_deploy_complete(d, p.status));
	assert_string_equal(json_get_str(cond(p.status, "Progressing"), "reason"), "NewReplicaSetAvailable");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(json_get(p.deploy_patch, "metadata.annotations"),
								     DEPLOY_REVISION_ANNOTATION)), "2");
	sim_deploy_plan_free(&p);
	cJSON_Delete(rss);
	cJSON_Delete(d);
	cJSON_Delete(old_d);
}

static void test_progress_condition(void **state)
{
	cJSON *d = deployment(2, "nginx", NULL);
	cJSON *rss = cJSON_CreateArray();
	cJSON *rs = stored_rs(d, "r1", 2, 0, 0, 1, "2026-01-01T00:00:00Z");
	cJSON_AddItemToArray(rss, rs);
	struct sim_deploy_plan p;
	/* The status after creation. */
	json_set(d, "status", parse("{\"conditions\":[{\"type\":\"Progressing\",\"status\":\"True\","
				    "\"reason\":\"NewReplicaSetCreated\",\"lastUpdateTime\":\"2026-01-01T00:00:00Z\","
				    "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"message\":\"x\"}]}"));
	json_set_num(json_get(rs, "status"), "replicas", 2);
	json_set_num(json_get(rs, "status"), "readyReplicas", 1);
	json_set_num(json_get(rs, "status"), "availableReplicas", 1);
	replan(d, rss, &p);
	const cJSON *pc = cond(p.status, "Progressing");
	assert_string_equal(json_get_str(pc, "reason"), "ReplicaSetUpdated");
	assert_string_equal(json_get_str(pc, "lastTransitionTime"), "2026-01-01T00:00:00Z"); /* still True */
	assert_string_not_equal(json_get_str(pc, "lastUpdateTime"), "2026-01-01T00:00:00Z");
	sim_deploy_plan_free(&p);
	/* No further progress: no change. */
	cJSON *before = json_dup(json_get(d, "status"));
	replan(d, rss, &p);
	assert_true(cJSON_Compare(before, p.status, 1));
	cJSON_Delete(before);
	sim_deploy_plan_free(&p);
	cJSON_Delete(rss);
	cJSON_Delete(d);
}

static void test_recreate(void **state)
{
	const char *strat = "\"strategy\":{\"type\":\"Recreate\"},";
	cJSON *old_d = deployment(3, "nginx:1", strat);
	cJSON *rss = cJSON_CreateArray();
	cJSON *old = stored_rs(old_d, "r1", 3, 3, 3, 1, "2026-01-01T00:00:00Z");
	const char *oldname = json_get_str(old, "metadata.name");
	cJSON_AddItemToArray(rss, old);
	cJSON *d = deployment(3, "nginx:2", strat);
	assert_int_equal(sim_deploy_max_surge(d), 0);
	assert_int_equal(sim_deploy_max_unavailable(d), 0);
	struct sim_deploy_plan p;
	sim_deploy_plan(d, rss, NOW, &p);
	assert_null(p.create_rs); /* not while old pods run */
	assert_int_equal(patched_replicas(&p, oldname), 0);
	sim_deploy_plan_free(&p);

	json_set_num(json_get(old, "spec"), "replicas", 0);
	sim_deploy_plan(d, rss, NOW, &p); /* pods still terminating */
	assert_null(p.create_rs);
	sim_deploy_plan_free(&p);

	json_set_num(json_get(old, "status"), "replicas", 0);
	json_set_num(json_get(old, "status"), "availableReplicas", 0);
	json_set_num(json_get(old, "status"), "readyReplicas", 0);
	sim_deploy_plan(d, rss, NOW, &p);
	assert_non_null(p.create_rs);
	assert_int_equal((int)json_get_num(p.create_rs, "spec.replicas", -1), 3);
	sim_deploy_plan_free(&p);
	cJSON_Delete(rss);
	cJSON_Delete(d);
	cJSON_Delete(old_d);
}

static void test_rollback_and_history_limit(void **state)
{
	cJSON *rss = cJSON_CreateArray();
	const char *images[] = {"nginx:1", "nginx:2", "nginx:3", "nginx:4"};
	char created[32];
	for (int i = 0; i < 4; i++) {
		cJSON *di = deployment(2, images[i], NULL);
		char uid[8];
		snprintf(uid, sizeof uid, "r%d", i);
		snprintf(created, sizeof created, "2026-01-01T00:0%d:00Z", i);
		cJSON_AddItemToArray(rss, stored_rs(di, uid, i == 3 ? 2 : 0, i == 3 ? 2 : 0, i == 3 ? 2 : 0, i + 1, created));
		cJSON_Delete(di);
	}
	/* Back to nginx:1: its ReplicaSet becomes the new one, revision 5. */
	cJSON *d = deployment(2, "nginx:1", NULL);
	json_set_num(json_get(d, "spec"), "revisionHistoryLimit", 1);
	struct sim_deploy_plan p;
	sim_deploy_plan(d, rss, NOW, &p);
	assert_null(p.create_rs);
	const char *first = json_get_str(cJSON_GetArrayItem(rss, 0), "metadata.name");
	assert_string_equal(p.new_rs, first);
	const cJSON *it;
	bool saw_revision = false;
	cJSON_ArrayForEach(it, p.rs_patches)
	{
		const char *rev = cJSON_GetStringValue(
		    cJSON_GetObjectItem(json_get(json_get(it, "patch"), "metadata.annotations"), DEPLOY_REVISION_ANNOTATION));
		if (rev && strcmp(json_get_str(it, "name"), first) == 0) {
			assert_string_equal(rev, "5");
			saw_revision = true;
		}
	}
	assert_true(saw_revision);
	assert_int_equal(patched_replicas(&p, first), 1); /* 2 + 1 surge - 2 running */
	/* Old ReplicaSets with no pods beyond the limit of 1 go, oldest first. */
	assert_int_equal(cJSON_GetArraySize(p.rs_deletes), 1);
	assert_string_equal(cJSON_GetArrayItem(p.rs_deletes, 0)->valuestring,
			    json_get_str(cJSON_GetArrayItem(rss, 1), "metadata.name"));
	sim_deploy_plan_free(&p);
	cJSON_Delete(d);
	cJSON_Delete(rss);
}

static void test_paused(void **state)
{
	cJSON *old_d = deployment(3, "nginx:1", NULL);
	cJSON *rss = cJSON_CreateArray();
	cJSON *old = stored_rs(old_d, "r1", 3, 3, 3, 1, "2026-01-01T00:00:00Z");
	const char *oldname = json_get_str(old, "metadata.name");
	cJSON_AddItemToArray(rss, old);
	/* Paused with a new image and 5 replicas: no new ReplicaSet, the
	 * active one scales. */
	cJSON *d = deployment(5, "nginx:2", NULL);
	json_set(json_get(d, "spec"), "paused", cJSON_CreateTrue());
	struct sim_deploy_plan p;
	replan(d, rss, &p);
	assert_null(p.create_rs);
	assert_int_equal(patched_replicas(&p, oldname), 5);
	const cJSON *pc = cond(p.status, "Progressing");
	assert_string_equal(json_get_str(pc, "status"), "Unknown");
	assert_string_equal(json_get_str(pc, "reason"), "DeploymentPaused");
	assert_string_equal(json_get_str(pc, "message"), "Deployment is paused");
	sim_deploy_plan_free(&p);
	/* Resumed: the condition says so and the rollout starts. */
	json_set_num(json_get(old, "spec"), "replicas", 5);
	json_set(json_get(d, "spec"), "paused", cJSON_CreateFalse());
	replan(d, rss, &p);
	assert_non_null(p.create_rs);
	pc = cond(p.status, "Progressing");
	assert_string_equal(json_get_str(pc, "reason"), "NewReplicaSetCreated");
	sim_deploy_plan_free(&p);
	cJSON_Delete(rss);
	cJSON_Delete(d);
	cJSON_Delete(old_d);
}

static void test_scaled_values(void **state)
{
	cJSON *v = parse("[\"25%\",\"10%\",3,\"x%\",\"50\"]");
	assert_int_equal(sim_scaled_value(cJSON_GetArrayItem(v, 0), 10, true, -1), 3);
	assert_int_equal(sim_scaled_value(cJSON_GetArrayItem(v, 0), 10, false, -1), 2);
	assert_int_equal(sim_scaled_value(cJSON_GetArrayItem(v, 1), 5, true, -1), 1);
	assert_int_equal(sim_scaled_value(cJSON_GetArrayItem(v, 1), 5, false, -1), 0);
	assert_int_equal(sim_scaled_value(cJSON_GetArrayItem(v, 2), 10, true, -1), 3);
	assert_int_equal(sim_scaled_value(cJSON_GetArrayItem(v, 3), 10, true, -1), -1);
	assert_int_equal(sim_scaled_value(cJSON_GetArrayItem(v, 4), 10, true, -1), -1);
	cJSON_Delete(v);
	/* Both zero: maxUnavailable becomes 1. */
	cJSON *d = deployment(4, "nginx", "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
					  "{\"maxSurge\":0,\"maxUnavailable\":\"10%\"}},");
	assert_int_equal(sim_deploy_max_surge(d), 0);
	assert_int_equal(sim_deploy_max_unavailable(d), 1);
	cJSON_Delete(d);
}

/* ---- ReplicaSet ------------------------------------------------------- */

static cJSON *pod(const char *name, const char *owner_uid, const char *node, const char *phase, bool ready,
		  const char *created)
{
	char buf[1024];
	snprintf(buf, sizeof buf,
		 "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"creationTimestamp\":\"%s\",\"labels\":{\"app\":\"hello\"},"
		 "\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"uid\":\"%s\",\"controller\":true}]},"
		 "\"spec\":{%s%s%s},\"status\":{%s%s%s\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
		 "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}",
		 name, created, owner_uid, node ? "\"nodeName\":\"" : "", node ? node : "", node ? "\"" : "",
		 phase ? "\"phase\":\"" : "", phase ? phase : "", phase ? "\"," : "", ready ? "True" : "False");
	return parse(buf);
}

static cJSON *rs_with(int replicas)
{
	char buf[512];
	snprintf(buf, sizeof buf,
		 "{\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"hello-x\",\"uid\":\"rs1\",\"generation\":3},"
		 "\"spec\":{\"replicas\":%d,\"template\":{\"metadata\":{\"labels\":{\"app\":\"hello\"}}}}}",
		 replicas);
	return parse(buf);
}

static void test_replicaset_plan(void **state)
{
	cJSON *pods = cJSON_CreateArray();
	cJSON_AddItemToArray(pods, pod("a", "rs1", "n0", "Running", true, "2026-01-01T00:00:01Z"));
	cJSON_AddItemToArray(pods, pod("b", "rs1", "n1", "Running", true, "2026-01-01T00:00:02Z"));
	cJSON_AddItemToArray(pods, pod("c", "rs1", "n2", "Pending", false, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(pods, pod("d", "rs1", NULL, NULL, false, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(pods, pod("e", "rs1", "n0", "Running", false, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(pods, pod("f", "rs1", "n0", "Failed", false, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(pods, pod("other", "rs2", "n0", "Running", true, "2026-01-01T00:00:00Z"));

	cJSON *rs = rs_with(7);
	struct sim_rs_plan p;
	sim_rs_plan(rs, pods, NOW, &p);
	assert_int_equal(p.create, 2); /* 5 active of 7 */
	assert_int_equal(cJSON_GetArraySize(p.deletes), 0);
	assert_int_equal((int)json_get_num(p.status, "replicas", -1), 5);
	assert_int_equal((int)json_get_num(p.status, "fullyLabeledReplicas", -1), 5);
	assert_int_equal((int)json_get_num(p.status, "readyReplicas", -1), 2);
	assert_int_equal((int)json_get_num(p.status, "availableReplicas", -1), 2);
	assert_int_equal((int)json_get_num(p.status, "observedGeneration", -1), 3);
	sim_rs_plan_free(&p);
	cJSON_Delete(rs);

	/* Down to 2: unscheduled, then pending, then not ready go first. */
	rs = rs_with(2);
	sim_rs_plan(rs, pods, NOW, &p);
	assert_int_equal(p.create, 0);
	assert_int_equal(cJSON_GetArraySize(p.deletes), 3);
	assert_string_equal(cJSON_GetArrayItem(p.deletes, 0)->valuestring, "d");
	assert_string_equal(cJSON_GetArrayItem(p.deletes, 1)->valuestring, "c");
	assert_string_equal(cJSON_GetArrayItem(p.deletes, 2)->valuestring, "e");
	sim_rs_plan_free(&p);
	cJSON_Delete(rs);

	/* Down to 1: of two ready pods the newer goes. */
	rs = rs_with(1);
	sim_rs_plan(rs, pods, NOW, &p);
	assert_int_equal(cJSON_GetArraySize(p.deletes), 4);
	assert_string_equal(cJSON_GetArrayItem(p.deletes, 3)->valuestring, "b");
	sim_rs_plan_free(&p);
	cJSON_Delete(rs);

	/* Zero pods: zero fields are left out but replicas stays. */
	cJSON *none = cJSON_CreateArray();
	rs = rs_with(0);
	sim_rs_plan(rs, none, NOW, &p);
	assert_int_equal((int)json_get_num(p.status, "replicas", -1), 0);
	assert_null(json_get(p.status, "readyReplicas"));
	sim_rs_plan_free(&p);
	cJSON_Delete(rs);
	cJSON_Delete(none);
	cJSON_Delete(pods);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_deployment_creates_replicaset),
		cmocka_unit_test(test_steady_state_and_scale),
		cmocka_unit_test(test_rolling_update_steps),
		cmocka_unit_test(test_progress_condition),
		cmocka_unit_test(test_recreate),
		cmocka_unit_test(test_rollback_and_history_limit),
		cmocka_unit_test(test_paused),
		cmocka_unit_test(test_scaled_values),
		cmocka_unit_test(test_replicaset_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
