/* leader — see leader.h. */
#include "leader.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "log.h"
#include "store_etcd.h"

struct leader {
	struct event_base *base;
	struct store *st;
	int duration_s;
	char identity[160];
	char ns[64], name[64];
	char key[256];
	leader_fn fn;
	void *ud;
	struct event *tick_ev, *lost_ev;
	bool leading;
	double last_renew;   /* when a renewal of the leader was last committed (monotonic s) */
	long long obs_rev;   /* the Lease record last observed */
	double obs_at;       /* when it was first seen */
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Kubernetes' MicroTime: "2006-01-02T15:04:05.000000Z". */
static const char *micro_now(char *buf, size_t len, double minus_s)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	time_t t = tv.tv_sec - (time_t)minus_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	char d[32];
	strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ldZ", d, (long)tv.tv_usec);
	return buf;
}

static void fenced(void *ud)
{
	struct leader *l = ud;
	/* From inside a store write: step down from the loop. */
	event_active(l->lost_ev, 0, 0);
}

static void set_leading(struct leader *l, bool on, long long rev)
{
	if (on) {
		store_etcd_set_fence(l->st, l->key, rev, fenced, l);
		l->last_renew = mono();
	} else {
		store_etcd_set_fence(l->st, NULL, 0, NULL, NULL);
	}
	if (on == l->leading)
		return;
	l->leading = on;
	log_kv(on ? LOG_INFO : LOG_WARN, on ? "leading: controllers start" : "no longer leading: controllers stop",
	       "lease", l->key, "identity", l->identity, NULL);
	if (l->fn)
		l->fn(on, l->ud);
}

static cJSON *new_lease(struct leader *l)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "Lease");
	cJSON *m = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(m, "name", l->name);
	cJSON_AddStringToObject(m, "namespace", l->ns);
	unsigned char r[16];
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(r, 1, sizeof r, f) != sizeof r)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)(rand() & 0xff);
	if (f)
		fclose(f);
	char uid[40];
	snprintf(uid, sizeof uid, "%02x%02x%02x%02x-%02x%02x-4%01x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6] & 0xf, r[7], (r[8] & 0x3f) | 0x80, r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	cJSON_AddStringToObject(m, "uid", uid);
	char now[48];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	time_t t = tv.tv_sec;
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(m, "creationTimestamp", now);
	cJSON_AddObjectToObject(o, "spec");
	return o;
}

/* Writes the Lease as held by us; expect_rev as store_put. */
static int write_lease(struct leader *l, cJSON *o, long long expect_rev, bool acquire, long long *rev)
{
	cJSON *spec = json_ensure_obj(o, "spec");
	char now[48];
	micro_now(now, sizeof now, 0);
	json_set_str(spec, "holderIdentity", l->identity);
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "leaseDurationSeconds");
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", l->duration_s);
	json_set_str(spec, "renewTime", now);
	if (acquire) {
		json_set_str(spec, "acquireTime", now);
		double tr = json_get_num(spec, "leaseTransitions", -1);
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "leaseTransitions");
		cJSON_AddNumberToObject(spec, "leaseTransitions", tr < 0 ? 0 : tr + (expect_rev > 0 ? 1 : 0));
	}
	char *stored = NULL;
	int rc = store_put(l->st, l->key, o, expect_rev, rev, &stored);
	free(stored);
	return rc;
}

/* A holder "HOST_PID" on this host whose process is gone (kill -9): no
 * need to wait for its Lease to run out. */
static bool holder_gone(const char *holder)
{
	char host[128] = "";
	gethostname(host, sizeof host - 1);
	size_t n = strlen(host);
	if (!n || strncmp(holder, host, n) != 0 || holder[n] != '_')
		return false;
	char *end = NULL;
	long pid = strtol(holder + n + 1, &end, 10);
	return end && !*end && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Committed changes: this hub's renewals, once durable. */
static void on_committed(const struct store_event *ev, void *ud)
{
	struct leader *l = ud;
	if (!l->leading || ev->type == STORE_DELETED || strcmp(ev->key, l->key) != 0)
		return;
	const char *holder = json_get_str(store_event_value(ev), "spec.holderIdentity");
	if (holder && strcmp(holder, l->identity) == 0)
		l->last_renew = mono();
}

static void tick(struct leader *l)
{
	char *value = NULL;
	long long rev = 0, nrev = 0;
	double now = mono();
	int rc = store_get(l->st, l->key, &value, &rev);
	if (rc == STORE_NOT_FOUND) {
		cJSON *o = new_lease(l);
		if (write_lease(l, o, -1, true, &nrev) == STORE_OK)
			set_leading(l, true, nrev);
		cJSON_Delete(o);
		return;
	}
	if (rc != STORE_OK)
		return;
	cJSON *o = cJSON_Parse(value);
	free(value);
	if (!o)
		return;
	const char *holder = json_get_str(o, "spec.holderIdentity");
	bool mine = holder && strcmp(holder, l->identity) == 0;
	if (rev != l->obs_rev) {
		l->obs_rev = rev;
		l->obs_at = now;
	}
	if (mine) {
		if (l->leading && rev != 0) {
			/* A renewal counts once committed (on_committed): with etcd a
			 * batch may still fail after the write returned. Expired
			 * first: cut off etcd, a write blocks for the timeouts. */
			if (now - l->last_renew > l->duration_s) {
				set_leading(l, false, 0);
				cJSON_Delete(o);
				return;
			}
			rc = write_lease(l, o, rev, false, &nrev);
			if (rc == STORE_CONFLICT || mono() - l->last_renew > l->duration_s)
				set_leading(l, false, 0);
		} else if (write_lease(l, o, rev, true, &nrev) == STORE_OK) {
			set_leading(l, true, nrev);
		}
		cJSON_Delete(o);
		return;
	}
	if (l->leading)
		set_leading(l, false, 0); /* someone else holds it */
	/* Free (released, or empty holder) or not renewed for a whole duration
	 * as this hub observes it: take it over. */
	double d = json_get_num(o, "spec.leaseDurationSeconds", l->duration_s);
	if (!holder || !holder[0] || now - l->obs_at >= d || holder_gone(holder)) {
		char prev[160]; /* write_lease replaces the holder in o */
		snprintf(prev, sizeof prev, "%s", holder ? holder : "");
		if (write_lease(l, o, rev, true, &nrev) == STORE_OK) {
			log_kv(LOG_INFO, "took the lease over", "previous holder", prev, NULL);
			set_leading(l, true, nrev);
		}
	}
	cJSON_Delete(o);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tick(arg);
}

static void on_lost(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct leader *l = arg;
	if (l->leading)
		set_leading(l, false, 0);
}

struct leader *leader_start(struct event_base *base, struct store *st, const struct leader_config *cfg, leader_fn fn,
			    void *ud)
{
	struct leader *l = calloc(1, sizeof *l);
	l->base = base;
	l->st = st;
	l->fn = fn;
	l->ud = ud;
	l->duration_s = cfg && cfg->duration_s > 0 ? cfg->duration_s : 15;
	if (cfg && cfg->identity && cfg->identity[0]) {
		snprintf(l->identity, sizeof l->identity, "%s", cfg->identity);
	} else {
		char host[128] = "";
		gethostname(host, sizeof host - 1);
		snprintf(l->identity, sizeof l->identity, "%s_%ld", host, (long)getpid());
	}
	snprintf(l->ns, sizeof l->ns, "%s", cfg && cfg->ns ? cfg->ns : "kube-system");
	snprintf(l->name, sizeof l->name, "%s", cfg && cfg->name ? cfg->name : "atoll-controller");
	store_key(l->key, sizeof l->key, "coordination.k8s.io", "leases", l->ns, l->name);
	l->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, l);
	l->lost_ev = event_new(base, -1, 0, on_lost, l);
	long ms = l->duration_s * 1000L / 5;
	if (ms < 200)
		ms = 200;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(l->tick_ev, &tv);
	l->obs_at = mono();
	store_subscribe_committed(st, on_committed, l);
	tick(l);
	return l;
}

bool leader_leading(const struct leader *l) { return l && l->leading; }

void leader_stop(struct leader *l)
{
	if (!l)
		return;
	if (l->leading) {
		char *value = NULL;
		long long rev = 0;
		if (store_get(l->st, l->key, &value, &rev) == STORE_OK) {
			cJSON *o = cJSON_Parse(value);
			if (o) {
				/* Released: an empty holder lets the next hub take it at once. */
				json_set_str(json_ensure_obj(o, "spec"), "holderIdentity", "");
				char *stored = NULL;
				store_put(l->st, l->key, o, rev, NULL, &stored);
				free(stored);
				cJSON_Delete(o);
			}
		}
		free(value);
		store_etcd_set_fence(l->st, NULL, 0, NULL, NULL);
	}
	store_unsubscribe(l->st, on_committed, l);
	event_free(l->tick_ev);
	event_free(l->lost_ev);
	free(l);
}
