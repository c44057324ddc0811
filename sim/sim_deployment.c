#include "sim_deployment.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "sim_podtemplate.h"
#include "timefmt.h"

/* One ReplicaSet of the Deployment, with the replicas this pass wants. */
struct rs_view {
	const cJSON *obj;
	const char *name;
	int spec, orig_spec;
	int status_replicas, ready, available;
	long revision;
	bool is_new;
};

int sim_scaled_value(const cJSON *v, int total, bool round_up, int def)
{
	if (cJSON_IsNumber(v))
		return (int)v->valuedouble;
	if (!cJSON_IsString(v))
		return def;
	const char *s = v->valuestring;
	size_t n = strlen(s);
	if (n < 2 || s[n - 1] != '%')
		return def;
	char *end;
	long pct = strtol(s, &end, 10);
	if (end != s + n - 1 || pct < 0)
		return def;
	double x = (double)pct * total / 100.0;
	return (int)(round_up ? ceil(x) : floor(x));
}

static bool rolling(const cJSON *d)
{
	const char *t = json_get_str(d, "spec.strategy.type");
	return !t || strcmp(t, "RollingUpdate") == 0;
}

static int replicas_of(const cJSON *d) { return (int)json_get_num(d, "spec.replicas", 1); }

static void fenceposts(const cJSON *d, int desired, int *surge, int *unavail)
{
	*surge = sim_scaled_value(json_get(d, "spec.strategy.rollingUpdate.maxSurge"), desired, true, 0);
	if (!json_get(d, "spec.strategy.rollingUpdate.maxSurge"))
		*surge = (int)ceil(desired * 0.25);
	*unavail = sim_scaled_value(json_get(d, "spec.strategy.rollingUpdate.maxUnavailable"), desired, false, 0);
	if (!json_get(d, "spec.strategy.rollingUpdate.maxUnavailable"))
		*unavail = (int)floor(desired * 0.25);
	if (*surge == 0 && *unavail == 0)
		*unavail = 1;
}

int sim_deploy_max_surge(const cJSON *d)
{
	if (!rolling(d))
		return 0;
	int s, u;
	fenceposts(d, replicas_of(d), &s, &u);
	return s;
}

int sim_deploy_max_unavailable(const cJSON *d)
{
	int r = replicas_of(d);
	if (!rolling(d) || r == 0)
		return 0;
	int s, u;
	fenceposts(d, r, &s, &u);
	return u > r ? r : u;
}

static int num(const cJSON *o, const char *path) { return (int)json_get_num(o, path, 0); }

bool sim_deploy_complete(const cJSON *d, const cJSON *st)
{
	int r = replicas_of(d);
	return num(st, "updatedReplicas") == r && num(st, "replicas") == r && num(st, "availableReplicas") == r &&
	       json_get_num(st, "observedGeneration", 0) >= json_get_num(d, "metadata.generation", 0);
}

static long revision_of(const cJSON *o)
{
	const cJSON *a = json_get(o, "metadata.annotations");
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, DEPLOY_REVISION_ANNOTATION));
	return s ? strtol(s, NULL, 10) : 0;
}

static int cmp_oldest_first(const void *a, const void *b)
{
	const struct rs_view *x = a, *y = b;
	const char *tx = json_get_str(x->obj, "metadata.creationTimestamp");
	const char *ty = json_get_str(y->obj, "metadata.creationTimestamp");
	int c = strcmp(tx ? tx : "", ty ? ty : "");
	return c ? c : strcmp(x->name, y->name);
}

static int cmp_revision(const void *a, const void *b)
{
	const struct rs_view *x = *(const struct rs_view *const *)a, *y = *(const struct rs_view *const *)b;
	if (x->revision != y->revision)
		return x->revision < y->revision ? -1 : 1;
	return cmp_oldest_first(x, y);
}

/* SetDeploymentCondition: no change when status and reason are the same;
 * lastTransitionTime kept when only the reason changes; the condition
 * moves to the end of the list. */
static void set_condition(cJSON *status, const char *type, const char *st, const char *reason, const char *msg,
			  const char *ts)
{
	cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
	if (!cJSON_IsArray(conds)) {
		cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
		conds = cJSON_AddArrayToObject(status, "conditions");
	}
	cJSON *cur = NULL;
	int idx = 0, i = 0;
	cJSON *c;
	cJSON_ArrayForEach(c, conds)
	{
		const char *t = json_get_str(c, "type");
		if (t && strcmp(t, type) == 0) {
			cur = c;
			idx = i;
		}
		i++;
	}
	const char *cs = json_get_str(cur, "status"), *cr = json_get_str(cur, "reason");
	if (cur && cs && cr && strcmp(cs, st) == 0 && strcmp(cr, reason) == 0)
		return;
	char ltt[40];
	snprintf(ltt, sizeof ltt, "%s", ts);
	if (cur && cs && strcmp(cs, st) == 0 && json_get_str(cur, "lastTransitionTime"))
		snprintf(ltt, sizeof ltt, "%s", json_get_str(cur, "lastTransitionTime"));
	if (cur)
		cJSON_DeleteItemFromArray(conds, idx);
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "type", type);
	cJSON_AddStringToObject(n, "status", st);
	cJSON_AddStringToObject(n, "lastUpdateTime", ts);
	cJSON_AddStringToObject(n, "lastTransitionTime", ltt);
	cJSON_AddStringToObject(n, "reason", reason);
	cJSON_AddStringToObject(n, "message", msg);
	cJSON_AddItemToArray(conds, n);
}

static const cJSON *find_condition(const cJSON *status, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
	{
		const char *t = json_get_str(c, "type");
		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static cJSON *build_new_rs(const cJSON *d, const char *hash, int replicas, long revision)
{
	const char *dname = json_get_str(d, "metadata.name");
	char name[300], buf[32];
	snprintf(name, sizeof name, "%s-%s", dname ? dname : "", hash);
	cJSON *rs = cJSON_CreateObject();
	cJSON_AddStringToObject(rs, "apiVersion", "apps/v1");
	cJSON_AddStringToObject(rs, "kind", "ReplicaSet");
	cJSON *meta = cJSON_AddObjectToObject(rs, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	const char *ns = json_get_str(d, "metadata.namespace");
	if (ns)
		cJSON_AddStringToObject(meta, "namespace", ns);
	cJSON *tmpl = json_dup(json_get(d, "spec.template"));
	if (!cJSON_IsObject(tmpl)) {
		cJSON_Delete(tmpl);
		tmpl = cJSON_CreateObject();
	}
	json_set_str(json_ensure_obj(tmpl, "metadata.labels"), POD_TEMPLATE_HASH_LABEL, hash);
	cJSON_AddItemToObject(meta, "labels", json_dup(json_get(tmpl, "metadata.labels")));
	cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");
	snprintf(buf, sizeof buf, "%d", replicas_of(d));
	cJSON_AddStringToObject(ann, DEPLOY_DESIRED_ANNOTATION, buf);
	snprintf(buf, sizeof buf, "%d", replicas_of(d) + sim_deploy_max_surge(d));
	cJSON_AddStringToObject(ann, DEPLOY_MAX_ANNOTATION, buf);
	snprintf(buf, sizeof buf, "%ld", revision);
	cJSON_AddStringToObject(ann, DEPLOY_REVISION_ANNOTATION, buf);
	cJSON *ref = sim_owner_ref(d);
	if (ref)
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), ref);
	cJSON *spec = cJSON_AddObjectToObject(rs, "spec");
	cJSON_AddNumberToObject(spec, "replicas", replicas);
	const cJSON *mrs = json_get(d, "spec.minReadySeconds");
	if (cJSON_IsNumber(mrs) && mrs->valuedouble > 0)
		cJSON_AddNumberToObject(spec, "minReadySeconds", mrs->valuedouble);
	cJSON *sel = json_dup(json_get(d, "spec.selector"));
	if (!cJSON_IsObject(sel)) {
		cJSON_Delete(sel);
		sel = cJSON_CreateObject();
	}
	json_set_str(json_ensure_obj(sel, "matchLabels"), POD_TEMPLATE_HASH_LABEL, hash);
	cJSON_AddItemToObject(spec, "selector", sel);
	cJSON_AddItemToObject(spec, "template", tmpl);
	return rs;
}

/* NewRSNewReplicas for RollingUpdate; the whole count for Recreate. */
static int new_rs_target(const cJSON *d, const struct rs_view *v, int n, const struct rs_view *nrs)
{
	int want = replicas_of(d);
	int cur = nrs ? nrs->spec : 0;
	if (!rolling(d))
		return want;
	if (cur >= want)
		return want;
	int total = 0;
	for (int i = 0; i < n; i++)
		total += v[i].spec;
	int max_total = want + sim_deploy_max_surge(d);
	if (total >= max_total)
		return cur;
	int up = max_total - total;
	if (up > want - cur)
		up = want - cur;
	return cur + up;
}

/* reconcileOldReplicaSets: scale old ReplicaSets down as far as the
 * availability budget allows, unhealthy pods first. */
static void scale_down_old(const cJSON *d, struct rs_view *v, int n, const struct rs_view *nrs)
{
	int old = 0, all = 0;
	for (int i = 0; i < n; i++) {
		all += v[i].spec;
		if (!v[i].is_new)
			old += v[i].spec;
	}
	if (old == 0)
		return;
	int min_avail = replicas_of(d) - sim_deploy_max_unavailable(d);
	int new_unavail = nrs ? nrs->spec - nrs->available : 0;
	int max_down = all - min_avail - new_unavail;
	if (max_down <= 0)
		return;
	int done = 0;
	for (int i = 0; i < n && done < max_down; i++) {
		if (v[i].is_new || v[i].spec == 0)
			continue;
		int unhealthy = v[i].spec - v[i].available;
		if (unhealthy <= 0)
			continue;
		int k = max_down - done < unhealthy ? max_down - done : unhealthy;
		v[i].spec -= k;
		done += k;
	}
	int avail = 0;
	for (int i = 0; i < n; i++)
		avail += v[i].available;
	if (avail <= min_avail)
		return;
	int budget = avail - min_avail;
	done = 0;
	for (int i = 0; i < n && done < budget; i++) {
		if (v[i].is_new || v[i].spec == 0)
			continue;
		int k = v[i].spec < budget - done ? v[i].spec : budget - done;
		v[i].spec -= k;
		done += k;
	}
}

static void patch_rs(struct sim_deploy_plan *out, const char *name, cJSON *patch)
{
	cJSON *item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "name", name);
	cJSON_AddItemToObject(item, "patch", patch);
	cJSON_AddItemToArray(out->rs_patches, item);
}

static const char *ann_of(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata.annotations"), key));
}

/* Adds key=val to the patch's metadata.annotations when o lacks it. */
static void want_ann(cJSON **patch, const cJSON *o, const char *key, const char *val)
{
	const char *cur = ann_of(o, key);
	if (cur && strcmp(cur, val) == 0)
		return;
	if (!*patch)
		*patch = cJSON_CreateObject();
	json_set_str(json_ensure_obj(*patch, "metadata.annotations"), key, val);
}

void sim_deploy_plan(const cJSON *d, const cJSON *rss, time_t now, struct sim_deploy_plan *out)
{
	memset(out, 0, sizeof *out);
	out->rs_patches = cJSON_CreateArray();
	out->rs_deletes = cJSON_CreateArray();
	char ts[40], msg[512], buf[32];
	time_rfc3339(now, ts, sizeof ts);
	const cJSON *tmpl = json_get(d, "spec.template");
	long collisions = (long)json_get_num(d, "status.collisionCount", 0);
	char hash[16];
	sim_pod_template_hash(tmpl, collisions, hash, sizeof hash);

	int n = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, rss) n += sim_is_controlled_by(r, d);
	struct rs_view *v = calloc((size_t)n + 2, sizeof *v);
	int i = 0;
	cJSON_ArrayForEach(r, rss)
	{
		if (!sim_is_controlled_by(r, d) || i >= n)
			continue;
		struct rs_view *x = &v[i++];
		x->obj = r;
		x->name = json_get_str(r, "metadata.name");
		if (!x->name)
			x->name = "";
		x->spec = x->orig_spec = num(r, "spec.replicas");
		x->status_replicas = num(r, "status.replicas");
		x->ready = num(r, "status.readyReplicas");
		x->available = num(r, "status.availableReplicas");
		x->revision = revision_of(r);
	}
	n = i;
	qsort(v, (size_t)n, sizeof *v, cmp_oldest_first);

	/* The new ReplicaSet: same template (ignoring the hash), else the hash. */
	struct rs_view *nrs = NULL;
	for (i = 0; i < n && !nrs; i++)
		if (sim_template_equal_ignore_hash(json_get(v[i].obj, "spec.template"), tmpl))
			nrs = &v[i];
	for (i = 0; i < n && !nrs; i++) {
		const char *h = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(json_get(v[i].obj, "metadata.labels"), POD_TEMPLATE_HASH_LABEL));
		if (h && strcmp(h, hash) == 0)
			nrs = &v[i];
	}
	long max_old = 0;
	int old_running = 0;
	bool old_scaled = false;
	for (i = 0; i < n; i++) {
		v[i].is_new = &v[i] == nrs;
		if (!v[i].is_new) {
			if (v[i].revision > max_old)
				max_old = v[i].revision;
			old_running += v[i].status_replicas;
		}
	}

	/* Status starts from the stored one (conditions carry over). */
	cJSON *st = json_dup(json_get(d, "status"));
	if (!cJSON_IsObject(st)) {
		cJSON_Delete(st);
		st = cJSON_CreateObject();
	}
	bool has_deadline = json_get_num(d, "spec.progressDeadlineSeconds", 600) < INT_MAX;
	const char *new_name = NULL;
	bool scaled = false;

	/* checkPausedConditions */
	bool paused = cJSON_IsTrue(json_get(d, "spec.paused"));
	const char *preason = json_get_str(find_condition(st, "Progressing"), "reason");
	bool paused_cond = preason && strcmp(preason, "DeploymentPaused") == 0;
	if (!preason || strcmp(preason, "ProgressDeadlineExceeded") != 0) {
		if (paused && !paused_cond)
			set_condition(st, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", ts);
		else if (!paused && paused_cond)
			set_condition(st, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", ts);
	}

	if (!rolling(d) && !paused) {
		/* Recreate: every old pod goes before a new one starts. */
		for (i = 0; i < n; i++) {
			if (!v[i].is_new && v[i].spec > 0) {
				v[i].spec = 0;
				old_scaled = true;
			}
		}
	}
	bool wait_old = paused || (!rolling(d) && (old_scaled || old_running > 0));

	if (nrs) {
		new_name = nrs->name;
		long rev = nrs->revision > max_old ? nrs->revision : max_old + 1;
		cJSON *patch = NULL;
		snprintf(buf, sizeof buf, "%ld", rev);
		want_ann(&patch, nrs->obj, DEPLOY_REVISION_ANNOTATION, buf);
		snprintf(buf, sizeof buf, "%d", replicas_of(d));
		want_ann(&patch, nrs->obj, DEPLOY_DESIRED_ANNOTATION, buf);
		snprintf(buf, sizeof buf, "%d", replicas_of(d) + sim_deploy_max_surge(d));
		want_ann(&patch, nrs->obj, DEPLOY_MAX_ANNOTATION, buf);
		if (patch)
			patch_rs(out, nrs->name, patch);
		nrs->revision = rev;
		if (has_deadline && !find_condition(st, "Progressing")) {
			snprintf(msg, sizeof msg, "Found new replica set \"%s\"", nrs->name);
			set_condition(st, "Progressing", "True", "FoundNewReplicaSet", msg, ts);
		}
		if (!wait_old) {
			int target = new_rs_target(d, v, n, nrs);
			if (target != nrs->spec) {
				nrs->spec = target;
				scaled = true;
			}
		}
	} else if (!wait_old) {
		int target = new_rs_target(d, v, n, NULL);
		out->create_rs = build_new_rs(d, hash, target, max_old + 1);
		new_name = json_get_str(out->create_rs, "metadata.name");
		scaled = true;
		if (has_deadline) {
			snprintf(msg, sizeof msg, "Created new replica set \"%s\"", new_name);
			set_condition(st, "Progressing", "True", "NewReplicaSetCreated", msg, ts);
		}
	}
	if (paused) {
		/* sync(): a paused Deployment only scales its one active
		 * ReplicaSet (the new one when none is active). */
		struct rs_view *only = NULL;
		int active = 0;
		for (i = 0; i < n; i++)
			if (v[i].spec > 0) {
				active++;
				only = &v[i];
			}
		if (active == 0)
			only = nrs;
		if (only && active <= 1)
			only->spec = replicas_of(d);
	} else if (rolling(d) && !scaled) {
		scale_down_old(d, v, n, nrs);
	}

	/* Spec changes of existing ReplicaSets. */
	for (i = 0; i < n; i++) {
		if (v[i].spec == v[i].orig_spec)
			continue;
		cJSON *patch = cJSON_CreateObject();
		json_set_num(json_ensure_obj(patch, "spec"), "replicas", v[i].spec);
		if (v[i].is_new) {
			snprintf(buf, sizeof buf, "%d", replicas_of(d));
			json_set_str(json_ensure_obj(patch, "metadata.annotations"), DEPLOY_DESIRED_ANNOTATION, buf);
		}
		patch_rs(out, v[i].name, patch);
	}

	/* Old ReplicaSets beyond revisionHistoryLimit, lowest revision first. */
	long limit = (long)json_get_num(d, "spec.revisionHistoryLimit", 10);
	struct rs_view **dead = calloc((size_t)n + 1, sizeof *dead);
	int ndead = 0;
	for (i = 0; i < n; i++)
		if (!v[i].is_new && v[i].spec == 0 && v[i].status_replicas == 0)
			dead[ndead++] = &v[i];
	qsort(dead, (size_t)ndead, sizeof *dead, cmp_revision);
	for (i = 0; i < ndead - limit; i++)
		cJSON_AddItemToArray(out->rs_deletes, cJSON_CreateString(dead[i]->name));
	free(dead);

	/* The Deployment's revision annotation follows its new ReplicaSet. */
	long rev = nrs ? nrs->revision : (out->create_rs ? max_old + 1 : 0);
	if (rev > 0) {
		snprintf(buf, sizeof buf, "%ld", rev);
		want_ann(&out->deploy_patch, d, DEPLOY_REVISION_ANNOTATION, buf);
	}

	/* calculateStatus */
	int total_spec = 0, replicas = 0, ready = 0, available = 0;
	for (i = 0; i < n; i++) {
		total_spec += v[i].spec;
		replicas += v[i].status_replicas;
		ready += v[i].ready;
		available += v[i].available;
	}
	if (out->create_rs)
		total_spec += num(out->create_rs, "spec.replicas");
	int updated = nrs ? nrs->status_replicas : 0;
	int unavailable = total_spec - available;
	if (unavailable < 0)
		unavailable = 0;
	static const char *const fields[] = {"observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
					     "availableReplicas", "unavailableReplicas"};
	double values[] = {json_get_num(d, "metadata.generation", 0), replicas, updated, ready, available, unavailable};
	for (size_t f = 0; f < sizeof values / sizeof values[0]; f++) {
		cJSON_DeleteItemFromObjectCaseSensitive(st, fields[f]);
		if (values[f] != 0)
			cJSON_AddNumberToObject(st, fields[f], values[f]);
	}
	if (available >= replicas_of(d) - sim_deploy_max_unavailable(d))
		set_condition(st, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
			      ts);
	else
		set_condition(st, "Available", "False", "MinimumReplicasUnavailable",
			      "Deployment does not have minimum availability.", ts);

	/* syncRolloutStatus */
	const cJSON *old = json_get(d, "status");
	const cJSON *pc = find_condition(st, "Progressing");
	const char *pr = json_get_str(pc, "reason");
	bool complete_already = replicas == updated && pr && strcmp(pr, "NewReplicaSetAvailable") == 0;
	if (has_deadline && new_name && !complete_already && !paused) {
		int old_old = num(old, "replicas") - num(old, "updatedReplicas");
		if (sim_deploy_complete(d, st)) {
			snprintf(msg, sizeof msg, "ReplicaSet \"%s\" has successfully progressed.", new_name);
			set_condition(st, "Progressing", "True", "NewReplicaSetAvailable", msg, ts);
		} else if (updated > num(old, "updatedReplicas") || replicas - updated < old_old ||
			   ready > num(old, "readyReplicas") || available > num(old, "availableReplicas")) {
			/* Progress refreshes lastUpdateTime even with the same reason. */
			const char *ps = json_get_str(pc, "status");
			char ltt[40];
			snprintf(ltt, sizeof ltt, "%s", ps && strcmp(ps, "True") == 0 && json_get_str(pc, "lastTransitionTime")
						     ? json_get_str(pc, "lastTransitionTime") : ts);
			snprintf(msg, sizeof msg, "ReplicaSet \"%s\" is progressing.", new_name);
			cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
			int idx = 0;
			cJSON *c;
			cJSON_ArrayForEach(c, conds)
			{
				if (c == pc) {
					cJSON_DeleteItemFromArray(conds, idx);
					break;
				}
				idx++;
			}
			set_condition(st, "Progressing", "True", "ReplicaSetUpdated", msg, ts);
			cJSON *nc = (cJSON *)find_condition(st, "Progressing");
			json_set_str(nc, "lastTransitionTime", ltt);
		}
	}
	out->status = st;
	if (new_name)
		snprintf(out->new_rs, sizeof out->new_rs, "%s", new_name);
	free(v);
}

void sim_deploy_plan_free(struct sim_deploy_plan *p)
{
	cJSON_Delete(p->create_rs);
	cJSON_Delete(p->rs_patches);
	cJSON_Delete(p->rs_deletes);
	cJSON_Delete(p->deploy_patch);
	cJSON_Delete(p->status);
	memset(p, 0, sizeof *p);
}
