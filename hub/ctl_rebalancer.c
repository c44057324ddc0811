#include "ctl_rebalancer.h"

#include "jsonutil.h"
#include "rebalancer.h"
#include "render.h"

static void rebalancer_wake_in(struct controller *c, long long secs);

void ctl_on_rebalancer_timer(evutil_socket_t fd, short what, void *arg)
{
	struct controller *c = arg;
	c->rb_due = 0;
	ctl_enqueue_prefix(c, 'X', REBALANCER_PREFIX);
}

/* Look at every rebalancer again in secs seconds (the earliest asked wins). */
static void rebalancer_wake_in(struct controller *c, long long secs)
{
	if (!c->rb_ev)
		return;
	if (secs < 1)
		secs = 1;
	time_t due = time(NULL) + (time_t)secs;
	if (c->rb_due && c->rb_due <= due)
		return;
	c->rb_due = due;
	struct timeval tv = {(time_t)secs, 0};
	evtimer_add(c->rb_ev, &tv);
}

/* Sets spec.rescheduleTriggeredAt of each listed workload's binding to the
 * rebalancer's creationTimestamp (the scheduler then places it afresh),
 * records each result in status.observedWorkloads, stamps finishTime when
 * the status changes with nothing left to retry, and deletes the rebalancer
 * ttlSecondsAfterFinished after it finished. */
void ctl_reconcile_rebalancer(struct controller *c, const char *key)
{
	const struct kind_info *rk = ctl_kind("apps.karmada.io", "v1alpha1", "WorkloadRebalancer");
	cJSON *rb = rk ? ctl_get_key(c, key) : NULL;
	if (!rb || ctl_mstr(rb, "deletionTimestamp")) {
		cJSON_Delete(rb);
		return;
	}
	const char *created = ctl_mstr(rb, "creationTimestamp");
	cJSON *obs = rebalancer_observed(rb);
	int retry = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, obs) {
		if (json_get_str(it, "result"))
			continue; /* Successful or Failed already: done */
		const cJSON *w = json_get(it, "workload");
		const char *ns = json_get_str(w, "namespace");
		bool cluster = !ns || !*ns;
		char bname[600];
		render_binding_name(json_get_str(w, "kind"), json_get_str(w, "name"), bname, sizeof bname);
		const struct kind_info *bk = ctl_binding_kind(cluster);
		cJSON *b = ctl_get_obj(c, bk, cluster ? "" : ns, bname);
		if (!b) {
			json_set_str(it, "result", REBALANCE_FAILED);
			json_set_str(it, "reason", REBALANCE_BINDING_NOT_FOUND);
			continue;
		}
		if (rebalancer_needs_trigger(created, json_get_str(b, "spec.rescheduleTriggeredAt"))) {
			cJSON *next = json_dup(b);
			json_set_str(json_ensure_obj(next, "spec"), "rescheduleTriggeredAt", created ? created : "");
			if (ctl_upsert(c, bk, cluster ? "" : ns, bname, next, b, NULL) < 0) {
				retry++;
				cJSON_Delete(b);
				continue;
			}
		}
		json_set_str(it, "result", REBALANCE_SUCCESSFUL);
		cJSON_Delete(b);
	}
	cJSON *st = cJSON_CreateObject();
	cJSON_AddItemToObject(st, "observedWorkloads", obs);
	cJSON_AddNumberToObject(st, "observedGeneration", json_get_num(rb, "metadata.generation", 1));
	const char *fin = json_get_str(rb, "status.finishTime");
	if (fin)
		cJSON_AddStringToObject(st, "finishTime", fin);
	if (!json_equal(st, json_get(rb, "status")) && retry == 0) {
		char now[40];
		json_set_str(st, "finishTime", ctl_now_str(now, sizeof now));
	}
	cJSON *stored = NULL;
	if (ctl_write_status(c, rk, rb, st, &stored) < 0 || retry > 0) {
		rebalancer_wake_in(c, 1);
	} else if (stored) {
		long long left;
		if (rebalancer_ttl_left(stored, time(NULL), &left)) {
			if (left <= 0)
				ctl_delete_obj(c, rk, "", ctl_mstr(stored, "name") ? ctl_mstr(stored, "name") : "");
			else
				rebalancer_wake_in(c, left);
		}
	}
	cJSON_Delete(stored);
	cJSON_Delete(rb);
}
