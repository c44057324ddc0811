/* bench_sched — placement figures (issue 3); figures, not a pass/fail test.
 *
 *   bench_sched [--clusters 10,100,1000] [--seconds S] [--replicas R]
 *               [--bindings N] [--members M] [--policy duplicated|weighted|groups]
 *               [--dir DIR] [--budget S] [--skip-sched] [--skip-pipeline] [--updates R]
 *
 * Defaults: clusters 10,100,1000; 1 s per scheduler case; 100 replicas;
 * 10,000 bindings on 3 clusters, Duplicated; the store under /tmp; at most
 * 60 s for each pipeline phase (a phase that overruns is reported as such).
 *
 * (a) schedule() on generated Cluster objects (labels, provider/region/zone,
 *     Ready condition, status.resourceSummary) for three placements, each
 *     with a clusterAffinity labelSelector that keeps 3 clusters in 4:
 *       static    Divided/Weighted, staticWeightList (labelSelector and
 *                 region fieldSelector rules)
 *       dynamic   Divided/Weighted, dynamicWeight AvailableReplicas (the pod
 *                 template requests cpu and memory)
 *       dup       Duplicated
 *     One placement is one schedule() call (first placement: no previous
 *     result; the workload's uid changes on every call, so do the ties).
 *     Also timed: parsing the N Cluster objects from JSON (the hub's
 *     binding stage lists them once per slice of its queue).
 * (b) The whole hub pipeline in-process (SQLite store in a fresh temporary
 *     directory under DIR, objects, controller on a libevent loop, as
 *     atoll-hub runs it minus HTTP): M Ready clusters, a
 *     ClusterPropagationPolicy for every Deployment, N Deployments; settle;
 *     then one more Ready Cluster is created and the clock runs until every
 *     ResourceBinding's spec.clusters names it, until every Work for it
 *     exists, and until the controller's queue is empty. Store writes during
 *     that phase are counted by kind from a store subscription. With
 *     --policy weighted (Divided, equal weights) nothing is re-placed:
 *     Karmada re-divides a Divided binding only when its placement, its
 *     replicas or its clusters' existence change, not when a cluster joins.
 *     With --policy groups (issue 15: 10,000 bindings across 1,000
 *     clusters) the M clusters are in M/10 groups (label fleet-group=gK)
 *     and there is one ClusterPropagationPolicy per group, Duplicated to
 *     the clusters of fleet-group In [gK, edge], selecting the Deployments
 *     labelled with that group: each binding spans 10 clusters, and the
 *     joining cluster (fleet-group=edge) is added to every binding.
 *
 * (c) With --updates R, after (b): R times, one Deployment's image changes
 *     and the clock runs until all its Works (one per cluster) are rewritten
 *     and durable — the hub's share of "a write reaches every member"
 *     (issue 4), without HTTP and agents.
 *
 * Targets (issue 3): p99 <= 1 ms per placement at 100 clusters; 10,000
 * bindings re-placed in <= 2 s. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "controller.h"
#include "kinds.h"
#include "log.h"
#include "loopturn.h"
#include "objects.h"
#include "render.h"
#include "scheduler.h"
#include "store.h"
#include "xalloc.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double thread_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* What the process has used and written so far (the checkpointer thread
 * included): user and system CPU, write_bytes from /proc/self/io (bytes sent
 * to the block layer: 0 on tmpfs) and wchar (bytes passed to write calls). */
struct iostat {
	double user, sys;
	long long write_bytes, wchar;
	double thread; /* the event loop's thread alone (CPU) */
	long vcsw, ivcsw; /* its voluntary (waits: fsync, busy) and involuntary context switches */
};

static struct iostat iostat_now(void)
{
	struct iostat s = {0};
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	s.user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	s.sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	s.thread = thread_cpu();
	getrusage(RUSAGE_THREAD, &ru);
	s.vcsw = ru.ru_nvcsw;
	s.ivcsw = ru.ru_nivcsw;
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "write_bytes:", 12) == 0)
			s.write_bytes = atoll(line + 12);
		else if (strncmp(line, "wchar:", 6) == 0)
			s.wchar = atoll(line + 6);
	}
	if (f)
		fclose(f);
	return s;
}

static long long file_size(const char *dir, const char *name)
{
	char path[600];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double p)
{
	if (n == 0)
		return 0;
	int i = (int)(p * (double)n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return sorted[i];
}

/* JSON from a literal with ' for " (test style). */
static cJSON *jq(const char *s)
{
	char *t = strdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *j = cJSON_Parse(t);
	if (!j) {
		fprintf(stderr, "bench_sched: bad JSON: %s\n", t);
		exit(2);
	}
	free(t);
	return j;
}

/* ---- generated inputs ------------------------------------------------------------------ */

#define NREGIONS 10

static cJSON *gen_cluster(int i, const char *name)
{
	char buf[2048];
	int cpu = 8 + (i * 7) % 57;               /* 8..64 cores */
	int mem = 32 + (i * 13) % 225;            /* 32..256 Gi */
	int used_cpu = (cpu * 1000 * (i % 9)) / 10; /* 0..80 % used, in millicores */
	int used_mem = (mem * 1024 * (i % 7)) / 10; /* Mi */
	snprintf(buf, sizeof buf,
		 "{'apiVersion':'cluster.karmada.io/v1alpha1','kind':'Cluster',"
		 "'metadata':{'name':'%s','labels':{'env':'%s','tier':'t%d','team':'team-%d'}},"
		 "'spec':{'syncMode':'Pull','provider':'%s','region':'region-%02d','zone':'region-%02d-%c'},"
		 "'status':{'kubernetesVersion':'v1.29.2','conditions':[{'type':'Ready','status':'True',"
		 "'reason':'ClusterReady','message':'cluster is healthy and ready to accept workloads',"
		 "'lastTransitionTime':'2026-01-01T00:00:00Z'}],"
		 "'resourceSummary':{'allocatable':{'cpu':'%d','memory':'%dGi','pods':'%d'},"
		 "'allocated':{'cpu':'%dm','memory':'%dMi','pods':'%d'}}}}",
		 name, i % 4 == 3 ? "staging" : "prod", i % 3, i % 20, i % 2 ? "gcp" : "aws", i % NREGIONS,
		 i % NREGIONS, 'a' + i % 3, cpu, mem, 110 + 10 * (i % 5), used_cpu, used_mem, 10 + i % 50);
	return jq(buf);
}

static cJSON *gen_clusters(int n)
{
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "member-%04d", i);
		cJSON_AddItemToArray(arr, gen_cluster(i, name));
	}
	return arr;
}

static const char *AFFINITY = "'clusterAffinity':{'labelSelector':{'matchExpressions':[{'key':'env','operator':'In',"
			      "'values':['prod']}]}}";

static cJSON *gen_placement(const char *which)
{
	char buf[2048];
	if (strcmp(which, "static") == 0)
		snprintf(buf, sizeof buf,
			 "{%s,'replicaScheduling':{'replicaSchedulingType':'Divided','replicaDivisionPreference':'Weighted',"
			 "'weightPreference':{'staticWeightList':["
			 "{'targetCluster':{'labelSelector':{'matchLabels':{'tier':'t0'}}},'weight':3},"
			 "{'targetCluster':{'fieldSelector':{'matchExpressions':[{'key':'region','operator':'In',"
			 "'values':['region-00','region-01','region-02']}]}},'weight':2},"
			 "{'targetCluster':{'labelSelector':{'matchLabels':{'env':'prod'}}},'weight':1}]}}}",
			 AFFINITY);
	else if (strcmp(which, "dynamic") == 0)
		snprintf(buf, sizeof buf,
			 "{%s,'replicaScheduling':{'replicaSchedulingType':'Divided','replicaDivisionPreference':'Weighted',"
			 "'weightPreference':{'dynamicWeight':'AvailableReplicas'}}}",
			 AFFINITY);
	else
		snprintf(buf, sizeof buf, "{%s,'replicaScheduling':{'replicaSchedulingType':'Duplicated'}}", AFFINITY);
	return jq(buf);
}

static cJSON *gen_workload(long replicas)
{
	char buf[1024];
	snprintf(buf, sizeof buf,
		 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'default',"
		 "'uid':'00000000-0000-4000-8000-000000000000'},'spec':{'replicas':%ld,'selector':{'matchLabels':"
		 "{'app':'web'}},'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'web',"
		 "'image':'podinfo','resources':{'requests':{'cpu':'250m','memory':'256Mi'}}}]}}}}",
		 replicas);
	return jq(buf);
}

/* ---- (a) the scheduler alone --------------------------------------------------------------- */

struct sched_fig {
	int clusters;
	const char *policy;
	int iters, targets;
	double per_s, p50, p99, max, cpu_p50, cpu_p99;
};

static void bench_one(const cJSON *clusters, int n, const char *policy, long replicas, double seconds,
		      struct sched_fig *f)
{
	cJSON *placement = gen_placement(policy);
	cJSON *wl = gen_workload(replicas);
	cJSON *uid = cJSON_GetObjectItem(cJSON_GetObjectItem(wl, "metadata"), "uid");
	int cap = 200000;
	double *lat = malloc(sizeof *lat * (size_t)cap), *cpu = malloc(sizeof *cpu * (size_t)cap);
	int it = 0, targets = -1;
	double start = now(), end = start + seconds;
	double busy = 0;
	/* warm-up */
	for (int w = 0; w < 3; w++) {
		struct sched_result r;
		schedule(clusters, placement, wl, true, NULL, &r);
		sched_result_free(&r);
	}
	while (it < cap && (it < 30 || now() < end)) {
		char u[64];
		snprintf(u, sizeof u, "%08x-0000-4000-8000-%012d", (unsigned)it * 2654435761u, it);
		cJSON_SetValuestring(uid, u);
		struct sched_result r;
		double c0 = thread_cpu(), t0 = now();
		int rc = schedule(clusters, placement, wl, true, NULL, &r);
		double t1 = now(), c1 = thread_cpu();
		if (rc != 0) {
			fprintf(stderr, "bench_sched: %s at %d clusters failed: %s %s\n", policy, n, r.reason, r.message);
			exit(1);
		}
		if (targets < 0)
			targets = r.n;
		sched_result_free(&r);
		cpu[it] = c1 - c0;
		lat[it++] = t1 - t0;
		busy += t1 - t0;
	}
	qsort(lat, (size_t)it, sizeof *lat, cmp_double);
	qsort(cpu, (size_t)it, sizeof *cpu, cmp_double);
	f->cpu_p50 = pct(cpu, it, 0.50);
	f->cpu_p99 = pct(cpu, it, 0.99);
	free(cpu);
	f->clusters = n;
	f->policy = policy;
	f->iters = it;
	f->targets = targets;
	f->per_s = (double)it / busy;
	f->p50 = pct(lat, it, 0.50);
	f->p99 = pct(lat, it, 0.99);
	f->max = lat[it - 1];
	free(lat);
	cJSON_Delete(placement);
	cJSON_Delete(wl);
}

/* What the binding stage adds per binding: the clusters parsed from JSON. */
static void bench_parse(const cJSON *clusters, double seconds, double *p50, double *p99)
{
	int n = cJSON_GetArraySize(clusters);
	char **raw = calloc((size_t)n, sizeof *raw);
	for (int i = 0; i < n; i++)
		raw[i] = cJSON_PrintUnformatted(cJSON_GetArrayItem(clusters, i));
	int cap = 100000, it = 0;
	double *lat = malloc(sizeof *lat * (size_t)cap);
	double end = now() + seconds;
	while (it < cap && (it < 20 || now() < end)) {
		double t0 = now();
		cJSON *arr = cJSON_CreateArray();
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, cJSON_Parse(raw[i]));
		cJSON_Delete(arr);
		lat[it++] = now() - t0;
	}
	qsort(lat, (size_t)it, sizeof *lat, cmp_double);
	*p50 = pct(lat, it, 0.5);
	*p99 = pct(lat, it, 0.99);
	free(lat);
	for (int i = 0; i < n; i++)
		free(raw[i]);
	free(raw);
}

static void run_sched(const int *sizes, int nsizes, long replicas, double seconds)
{
	static const char *const policies[] = {"static", "dynamic", "dup"};
	printf("(a) schedule() alone: first placement of a Deployment (%ld replicas, requests 250m/256Mi),\n"
	       "    clusterAffinity env=prod (3 clusters in 4), up to %.1f s per case\n\n",
	       replicas, seconds);
	printf("%-8s %-7s %7s %7s %12s %8s %8s %8s %8s %8s   %s\n", "clusters", "policy", "placed", "targets",
	       "placements/s", "p50 ms", "p99 ms", "max ms", "cpu p50", "cpu p99", "target (100 clusters: p99 <= 1 ms)");
	for (int s = 0; s < nsizes; s++) {
		cJSON *clusters = gen_clusters(sizes[s]);
		for (int p = 0; p < 3; p++) {
			struct sched_fig f;
			bench_one(clusters, sizes[s], policies[p], replicas, seconds, &f);
			const char *tgt = "";
			if (sizes[s] == 100)
				tgt = f.p99 <= 0.001       ? "met"
				      : f.cpu_p99 <= 0.001 ? "met on CPU time (wall p99 has preemption)"
							   : "MISSED";
			printf("%-8d %-7s %7d %7d %12.0f %8.3f %8.3f %8.3f %8.3f %8.3f   %s\n", f.clusters, f.policy, f.iters,
			       f.targets, f.per_s, f.p50 * 1e3, f.p99 * 1e3, f.max * 1e3, f.cpu_p50 * 1e3, f.cpu_p99 * 1e3, tgt);
			fflush(stdout);
		}
		double p50, p99;
		bench_parse(clusters, seconds / 2, &p50, &p99);
		printf("%-8d %-7s %7s %7s %12s %8.3f %8.3f   (cJSON_Parse of the %d Cluster objects)\n",
		       sizes[s], "parse", "", "", "", p50 * 1e3, p99 * 1e3, sizes[s]);
		cJSON_Delete(clusters);
	}
	printf("\n");
}

/* ---- (b) the hub pipeline ------------------------------------------------------------------ */

#define JOINER "member-join"

struct counts {
	long binding_added, binding_spec, binding_status, work_added, work_modified, work_deleted, events, templates,
	    namespaces, other;
};

struct pipe {
	struct obj_ctx objs;
	struct loopturn *turn; /* group commit, as in atoll-hub (loopturn.h) */
	long commits;
	struct controller *ctl;
	struct event_base *base;
	bool measuring;
	int nbindings;
	unsigned char *has_joiner; /* per binding index */
	int with_joiner, joiner_works;
	double t_bindings, t_works, cpu_bindings; /* durable: seen by a committed subscriber */
	struct counts c;
	/* The join until every binding names the joiner: user and system CPU,
	 * bytes written (/proc/self/io), commits, the WAL's size, checkpoints. */
	struct iostat io_join, io_bind;
	long commits_join, commits_bind;
	char dir[512];
	/* (c) updates: Works of app-00000 rewritten since the write */
	char upd_prefix[128], upd_image[64];
	int upd_seen, upd_want;
	double upd_done;
};

/* BENCH_SCHED_PERF_CTL=FIFO: "enable" is written to FIFO when the cluster
 * joins and "disable" once every binding names it, for
 * `perf record --control=fifo:FIFO -D -1 -- bench_sched ...` (a profile of
 * the join's scheduling stage without the setup). */
static void perf_ctl(const char *cmd)
{
	const char *path = getenv("BENCH_SCHED_PERF_CTL");
	FILE *f = path && *path ? fopen(path, "w") : NULL;
	if (!f)
		return;
	fprintf(f, "%s\n", cmd);
	fclose(f);
}

static long meta_generation(const char *v)
{
	const char *p = v ? strstr(v, "\"generation\":") : NULL;
	return p ? strtol(p + 13, NULL, 10) : -1;
}

/* Whether spec.clusters of a stored binding names JOINER (bindings are
 * compact JSON: {"name":"member-join"...} appears only there). */
static bool names_joiner(const char *v)
{
	const char *s = strstr(v, "\"clusters\":[");
	if (!s)
		return false;
	const char *e = strchr(s, ']');
	const char *j = strstr(s, "{\"name\":\"" JOINER "\"");
	return j && e && j < e;
}

static void on_change(const struct store_event *ev, void *ud)
{
	struct pipe *p = ud;
	if (p->upd_prefix[0] && ev->type == STORE_MODIFIED && strncmp(ev->key, "work.karmada.io/works/", 22) == 0 &&
	    strcmp(strrchr(ev->key, '/') + 1, p->upd_prefix) == 0 && strstr(ev->value, p->upd_image) &&
	    ++p->upd_seen == p->upd_want)
		p->upd_done = now();
	if (!p->measuring)
		return;
	const char *k = ev->key;
	if (strncmp(k, "work.karmada.io/resourcebindings/", 33) == 0) {
		if (ev->type == STORE_ADDED)
			p->c.binding_added++;
		else if (ev->type == STORE_MODIFIED && meta_generation(ev->value) != meta_generation(ev->prev_value))
			p->c.binding_spec++;
		else
			p->c.binding_status++;
		const char *name = strrchr(k, '/') + 1;
		int idx = -1;
		if (sscanf(name, "app-%d-deployment", &idx) == 1 && idx >= 0 && idx < p->nbindings && ev->type != STORE_DELETED &&
		    !p->has_joiner[idx] && names_joiner(ev->value)) {
			p->has_joiner[idx] = 1;
			if (++p->with_joiner == p->nbindings) {
				p->t_bindings = now();
				p->cpu_bindings = cpu_now();
				p->io_bind = iostat_now();
				p->commits_bind = p->commits;
				perf_ctl("disable");
			}
		}
	} else if (strncmp(k, "work.karmada.io/works/", 22) == 0) {
		if (ev->type == STORE_ADDED) {
			p->c.work_added++;
			if (strncmp(k + 22, "karmada-es-" JOINER "/", 11 + strlen(JOINER) + 1) == 0 &&
			    ++p->joiner_works == p->nbindings)
				p->t_works = now();
		} else if (ev->type == STORE_MODIFIED) {
			p->c.work_modified++;
		} else {
			p->c.work_deleted++;
		}
	} else if (strncmp(k, "core/events/", 12) == 0) {
		p->c.events++;
	} else if (strncmp(k, "apps/deployments/", 17) == 0) {
		p->c.templates++;
	} else if (strncmp(k, "core/namespaces/", 16) == 0) {
		p->c.namespaces++;
	} else {
		p->c.other++;
	}
}

/* One durable commit per event-loop turn with writes: the hub's loop turn
 * (loopturn.h) without the HTTP side; the controller's slice is its stage,
 * so the writes of a slice share one transaction. Counted right before. */
static void count_commit(void *ud)
{
	((struct pipe *)ud)->commits++;
}

static void on_rollback(struct store *s, void *ud)
{
	fprintf(stderr, "bench_sched: commit failed\n");
	exit(1);
}

static void create_obj(struct pipe *p, const char *group, const char *version, const char *kind, const char *ns,
		       cJSON *o)
{
	const struct kind_info *k = kinds_find_kind(group, version, kind);
	char *out = NULL;
	struct api_error e = {0};
	if (!k || obj_create(&p->objs, k, ns, o, false, &out, &e) != 0) {
		fprintf(stderr, "bench_sched: create %s: %s\n", kind, e.message);
		exit(1);
	}
	free(out);
	cJSON_Delete(o);
}

/* Runs the controller's slices on the loop until its queue is empty (true)
 * or for about budget seconds at most (false). */
static bool settle(struct pipe *p, double budget)
{
	double end = now() + budget;
	for (;;) {
		if (event_base_loop(p->base, EVLOOP_ONCE) != 0)
			return true; /* nothing pending: the queue is empty */
		if (now() > end)
			return false;
	}
}

static cJSON *pipe_cluster(int i, const char *name)
{
	cJSON *c = gen_cluster(i, name);
	cJSON_DeleteItemFromObject(c, "apiVersion");
	cJSON_DeleteItemFromObject(c, "kind");
	return c;
}

static void print_counts(const struct counts *c)
{
	printf("    store writes: bindings %ld spec + %ld status (+%ld created), Works %ld created + %ld rewritten "
	       "(+%ld deleted), Events %ld, templates %ld, namespaces %ld, other %ld\n",
	       c->binding_spec, c->binding_status, c->binding_added, c->work_added, c->work_modified, c->work_deleted,
	       c->events, c->templates, c->namespaces, c->other);
}

static int run_pipeline(const char *basedir, int nbind, int members, const char *policy, double budget, int updates)
{
	struct pipe p = {0};
	char *dir = p.dir;
	snprintf(p.dir, sizeof p.dir, "%s/atoll-bench-sched-XXXXXX", basedir);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_sched: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char err[256];
	p.objs.store = store_open_sqlite(dir, err, sizeof err);
	if (!p.objs.store) {
		fprintf(stderr, "bench_sched: store: %s\n", err);
		return 1;
	}
	p.base = event_base_new();
	p.turn = loopturn_new(p.base, p.objs.store);
	loopturn_start(p.turn);
	loopturn_add_precommit(p.turn, count_commit, &p);
	store_subscribe_rollback(p.objs.store, on_rollback, &p);
	p.nbindings = nbind;
	p.has_joiner = calloc((size_t)nbind, 1);
	store_subscribe_committed(p.objs.store, on_change, &p); /* durable changes only */
	create_obj(&p, "", "v1", "Namespace", "", jq("{'metadata':{'name':'default'}}"));
	p.ctl = controller_start(p.base, p.objs.store, &p.objs);
	bool groups = strcmp(policy, "groups") == 0;
	int ngroups = groups ? (members + 9) / 10 : 0;
	for (int i = 0; i < members; i++) {
		char name[32], g[16];
		snprintf(name, sizeof name, "member-%04d", i);
		cJSON *c = pipe_cluster(i, name);
		if (groups) {
			snprintf(g, sizeof g, "g%d", i % ngroups);
			cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "metadata"), "labels"), "fleet-group", g);
		}
		create_obj(&p, "cluster.karmada.io", "v1alpha1", "Cluster", "", c);
	}
	const char *sched = strcmp(policy, "weighted") == 0
				? "'replicaScheduling':{'replicaSchedulingType':'Divided','replicaDivisionPreference':'Weighted'}"
				: "'replicaScheduling':{'replicaSchedulingType':'Duplicated'}";
	char buf[1024];
	if (groups) {
		for (int g = 0; g < ngroups; g++) {
			snprintf(buf, sizeof buf,
				 "{'metadata':{'name':'group-g%d'},'spec':{'resourceSelectors':[{'apiVersion':'apps/v1',"
				 "'kind':'Deployment','labelSelector':{'matchLabels':{'fleet-group':'g%d'}}}],'placement':{%s,"
				 "'clusterAffinity':{'labelSelector':{'matchExpressions':[{'key':'fleet-group','operator':'In',"
				 "'values':['g%d','edge']}]}}}}}",
				 g, g, sched, g);
			create_obj(&p, "policy.karmada.io", "v1alpha1", "ClusterPropagationPolicy", "", jq(buf));
		}
	} else {
		snprintf(buf, sizeof buf,
			 "{'metadata':{'name':'all-deployments'},'spec':{'resourceSelectors':[{'apiVersion':'apps/v1',"
			 "'kind':'Deployment'}],'placement':{%s}}}",
			 sched);
		create_obj(&p, "policy.karmada.io", "v1alpha1", "ClusterPropagationPolicy", "", jq(buf));
	}
	settle(&p, budget);

	/* N Deployments, placed on the M members. */
	double c0 = cpu_now(), t0 = now();
	for (int i = 0; i < nbind; i++) {
		snprintf(buf, sizeof buf,
			 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'app-%05d','labels':{'app':'app-%05d',"
			 "'fleet-group':'g%d'}},"
			 "'spec':{'replicas':%d,'selector':{'matchLabels':{'app':'app-%05d'}},'template':{'metadata':"
			 "{'labels':{'app':'app-%05d'}},'spec':{'containers':[{'name':'app','image':'podinfo:6.5',"
			 "'resources':{'requests':{'cpu':'100m','memory':'128Mi'}}}]}}}}",
			 i, i, ngroups ? i % ngroups : 0, 12, i, i);
		create_obj(&p, "apps", "v1", "Deployment", "default", jq(buf));
	}
	double t1 = now();
	bool settled = settle(&p, budget);
	double t2 = now(), c2 = cpu_now();
	printf("    setup: %d Deployments created in %.2f s; bindings, Works and events for %d clusters %s %.2f s "
	       "(%.0f Deployments/s, CPU %.2f s)\n",
	       nbind, t1 - t0, members, settled ? "settled in" : "NOT SETTLED after", t2 - t1, nbind / (t2 - t0), c2 - c0);
	fflush(stdout);
	if (!settled) {
		printf("    join: not measured (setup exceeded --budget %.0f s; try fewer --bindings)\n", budget);
		goto out;
	}

	/* A cluster joins. */
	p.measuring = true;
	perf_ctl("enable");
	long long wal0 = file_size(dir, "atoll.db-wal"), db0 = file_size(dir, "atoll.db");
	struct store_ckpt_stats ck0, ck1;
	store_sqlite_ckpt_stats(p.objs.store, &ck0);
	p.io_join = iostat_now();
	p.commits_join = p.commits;
	double cj = cpu_now(), tj = now();
	cJSON *joiner = pipe_cluster(members, JOINER);
	if (groups)
		cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(joiner, "metadata"), "labels"), "fleet-group",
					"edge");
	create_obj(&p, "cluster.karmada.io", "v1alpha1", "Cluster", "", joiner);
	settled = settle(&p, budget);
	double te = now(), ce = cpu_now();
	p.measuring = false;
	bool all = p.with_joiner == nbind && p.joiner_works == nbind;
	double tb = p.t_bindings ? p.t_bindings - tj : te - tj;
	printf("    join: %d/%d bindings name the new cluster after %.2f s; %d/%d of its Works exist after %.2f s; "
	       "queue %s %.2f s; CPU %.2f s (%.2f ms per binding)\n",
	       p.with_joiner, nbind, tb, p.joiner_works, nbind, p.t_works ? p.t_works - tj : te - tj,
	       settled ? "empty after" : "NOT EMPTY after", te - tj, ce - cj, (ce - cj) * 1e3 / nbind);
	if (p.cpu_bindings) {
		printf("    CPU until every binding named it: %.2f s (%.3f ms per binding); then the Work pass and the "
		       "queued Events\n",
		       p.cpu_bindings - cj, (p.cpu_bindings - cj) * 1e3 / nbind);
		printf("    until then: user %.2f s, sys %.2f s; %ld commits; written to files %.1f MB (wchar), to the "
		       "block layer %.1f MB (write_bytes)\n",
		       p.io_bind.user - p.io_join.user, p.io_bind.sys - p.io_join.sys, p.commits_bind - p.commits_join,
		       (double)(p.io_bind.wchar - p.io_join.wchar) / 1e6,
		       (double)(p.io_bind.write_bytes - p.io_join.write_bytes) / 1e6);
		printf("    until then, the loop's thread: CPU %.2f s of %.2f s (off CPU %.2f s: waits and preemption); "
		       "%ld voluntary and %ld involuntary context switches\n",
		       p.io_bind.thread - p.io_join.thread, p.t_bindings - tj,
		       p.t_bindings - tj - (p.io_bind.thread - p.io_join.thread), p.io_bind.vcsw - p.io_join.vcsw,
		       p.io_bind.ivcsw - p.io_join.ivcsw);
	}
	struct iostat ioe = iostat_now();
	store_sqlite_ckpt_stats(p.objs.store, &ck1);
	printf("    whole join: user %.2f s, sys %.2f s; written %.1f MB (wchar), %.1f MB (write_bytes); WAL %.1f -> %.1f MB, "
	       "database %.1f -> %.1f MB; checkpoint passes %lu (restarts %lu holding the writer up to %.1f ms, inline %lu), %lu frames copied back\n",
	       ioe.user - p.io_join.user, ioe.sys - p.io_join.sys, (double)(ioe.wchar - p.io_join.wchar) / 1e6,
	       (double)(ioe.write_bytes - p.io_join.write_bytes) / 1e6, (double)wal0 / 1e6,
	       (double)file_size(dir, "atoll.db-wal") / 1e6, (double)db0 / 1e6, (double)file_size(dir, "atoll.db") / 1e6,
	       ck1.passes - ck0.passes, ck1.restarts - ck0.restarts, ck1.restart_us_max / 1e3,
	       ck1.inline_passes - ck0.inline_passes,
	       ck1.frames_copied - ck0.frames_copied);
	print_counts(&p.c);
	printf("    commits (one per event-loop turn with writes): %ld\n", p.commits);
	long writes = p.c.binding_added + p.c.binding_spec + p.c.binding_status + p.c.work_added + p.c.work_modified +
		      p.c.work_deleted + p.c.events + p.c.templates + p.c.namespaces + p.c.other;
	printf("    => %ld store writes (%.1f per binding, %.0f/s)\n", writes, (double)writes / nbind,
	       (double)writes / (te - tj));
	if (all)
		printf("    => %d bindings re-placed in %.2f s (target <= 2 s: %s); every Work for the new cluster "
		       "written after %.2f s\n",
		       nbind, tb, tb <= 2.0 ? "met" : "MISSED", p.t_works - tj);
	else if (settled && p.with_joiner == 0)
		printf("    => no binding was re-placed: as in Karmada, a Divided placement is not re-divided when a\n"
		       "       cluster joins (only Duplicated ones follow every cluster change); the figure is the cost\n"
		       "       of checking %d bindings\n",
		       nbind);
	else
		printf("    => %d of %d bindings re-placed within the %.0f s budget (%.0f/s; all %d would take ~%.0f s; "
		       "target <= 2 s: MISSED)\n",
		       p.with_joiner, nbind, budget, p.with_joiner / (te - tj), nbind,
		       p.with_joiner ? nbind * (te - tj) / p.with_joiner : 0.0);
	if (updates > 0) {
		/* (c) One template changes (a new image): time until all its Works
		 * are rewritten and durable. */
		int nclusters = members + 1;
		render_work_name("Deployment", "app-00000", "default", p.upd_prefix, sizeof p.upd_prefix);
		double *lat = calloc((size_t)updates, sizeof *lat);
		double cu = cpu_now();
		int done = 0;
		for (int r = 0; r < updates; r++) {
			snprintf(p.upd_image, sizeof p.upd_image, "\"image\":\"podinfo:upd-%d\"", r);
			snprintf(buf, sizeof buf,
				 "{'spec':{'template':{'spec':{'containers':[{'name':'app','image':'podinfo:upd-%d'}]}}}}", r);
			cJSON *patch = jq(buf);
			p.upd_seen = 0;
			p.upd_want = nclusters;
			p.upd_done = 0;
			bool created;
			char *out = NULL;
			struct api_error e = {0};
			double tw = now();
			if (obj_patch(&p.objs, kinds_find_kind("apps", "v1", "Deployment"), "default", "app-00000",
				      "application/strategic-merge-patch+json", patch, SUBRES_NONE, false, &created, &out, &e) != 0) {
				fprintf(stderr, "bench_sched: patch: %s\n", e.message);
				exit(1);
			}
			free(out);
			cJSON_Delete(patch);
			settle(&p, budget);
			if (p.upd_done)
				lat[done++] = p.upd_done - tw;
		}
		double cu2 = cpu_now();
		qsort(lat, (size_t)done, sizeof *lat, cmp_double);
		printf("(c) one Deployment's image changes (%d times): its %d Works rewritten and durable after p50 %.2f ms, "
		       "p99 %.2f ms, max %.2f ms (%d/%d complete); CPU %.2f ms per change (%.3f ms per Work) incl. events\n",
		       updates, nclusters, pct(lat, done, 0.5) * 1e3, pct(lat, done, 0.99) * 1e3,
		       done ? lat[done - 1] * 1e3 : 0.0, done, updates, (cu2 - cu) * 1e3 / updates,
		       (cu2 - cu) * 1e3 / updates / nclusters);
		free(lat);
		p.upd_prefix[0] = '\0';
	}
out:
	controller_stop(p.ctl);
	loopturn_free(p.turn); /* the last commit */
	store_close(p.objs.store);
	event_base_free(p.base);
	free(p.has_joiner);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (getenv("BENCH_SCHED_KEEP"))
		printf("    store kept in %s (BENCH_SCHED_KEEP)\n", dir);
	else if (system(cmd) != 0)
		fprintf(stderr, "bench_sched: could not remove %s\n", dir);
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: bench_sched [--clusters 10,100,1000] [--seconds S] [--replicas R] [--bindings N]\n"
			"                   [--members M] [--policy duplicated|weighted|groups] [--dir DIR] [--budget S]\n"
			"                   [--skip-sched] [--skip-pipeline] [--updates R]\n"
			"environment: BENCH_SCHED_PERF_CTL=FIFO (perf enable/disable around the join's scheduling\n"
			"             stage), BENCH_SCHED_KEEP=1 (keep the store directory for a look with sqlite3)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	xalloc_tune(); /* as atoll-hub runs */
	int sizes[16] = {10, 100, 1000}, nsizes = 3;
	double seconds = 1.0, budget = 60;
	long replicas = 100;
	int nbind = 10000, members = 3, updates = 0;
	const char *policy = "duplicated", *dir = "/tmp";
	bool skip_sched = false, skip_pipe = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--skip-sched") == 0) {
			skip_sched = true;
			continue;
		}
		if (strcmp(a, "--skip-pipeline") == 0) {
			skip_pipe = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--clusters") == 0) {
			nsizes = 0;
			for (char *s = argv[i], *e; *s && nsizes < 16; s = *e ? e + 1 : e) {
				sizes[nsizes++] = (int)strtol(s, &e, 10);
				if (e == s)
					usage();
			}
		} else if (strcmp(a, "--seconds") == 0) {
			seconds = atof(v);
		} else if (strcmp(a, "--replicas") == 0) {
			replicas = atol(v);
		} else if (strcmp(a, "--bindings") == 0) {
			nbind = atoi(v);
		} else if (strcmp(a, "--members") == 0) {
			members = atoi(v);
		} else if (strcmp(a, "--updates") == 0) {
			updates = atoi(v);
		} else if (strcmp(a, "--policy") == 0) {
			policy = v;
			if (strcmp(policy, "duplicated") != 0 && strcmp(policy, "weighted") != 0 && strcmp(policy, "groups") != 0)
				usage();
		} else if (strcmp(a, "--budget") == 0) {
			budget = atof(v);
		} else if (strcmp(a, "--dir") == 0) {
			dir = v;
		} else {
			usage();
		}
	}
	if (nbind < 1 || members < 1 || replicas < 1 || seconds <= 0 || budget <= 0)
		usage();
	log_setup("bench_sched", LOG_ERROR, LOG_TEXT);
	kinds_init();
	if (!skip_sched)
		run_sched(sizes, nsizes, replicas, seconds);
	int rc = 0;
	if (!skip_pipe) {
		printf("(b) hub pipeline in-process (SQLite store in %s, controller on a libevent loop): %d Deployments,\n"
		       "    one ClusterPropagationPolicy (%s over all clusters), %d Ready clusters; then one more joins\n",
		       dir, nbind, policy, members);
		fflush(stdout);
		rc = run_pipeline(dir, nbind, members, policy, budget, updates);
	}
	kinds_shutdown();
	return rc;
}
