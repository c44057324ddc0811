/* test_scheduler — table-driven scheduler cases from
 * $ATOLL_TEST_DATA/scheduler/<name>.json plus property tests over random input.
 * A data file holds one case object or an array of them:
 *   {"name", "clusters", "placement", "workload", "previous", "has_replicas",
 *    "expect": {"clusters": [{name, replicas}]} | {"error": "<substring>",
 *               "reason": "<reason>"}}
 * or a Webster case: {"name", "webster": {"seats", "votes": {name: n},
 *    "initial": {name: n}, "uid"}, "expect": {"seats": {name: n}}}. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "scheduler.h"
#include "testutil.h"

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Independent FNV-1a so the test does not trust the code under test. */
static unsigned int fnv1a(const char *s)
{
	unsigned int h = 2166136261u;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static int run_webster_case(const char *file, const char *name, const cJSON *w, const cJSON *expect)
{
	const cJSON *votes = cJSON_GetObjectItem(w, "votes");
	const cJSON *initial = cJSON_GetObjectItem(w, "initial");
	const cJSON *uidj = cJSON_GetObjectItem(w, "uid");
	const char *names[64];
	long v[64], init[64], out[64];
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, votes) {
		names[n] = it->string;
		v[n] = (long)it->valuedouble;
		init[n++] = 0;
	}
	cJSON_ArrayForEach(it, initial) {
		int i;
		for (i = 0; i < n; i++)
			if (strcmp(names[i], it->string) == 0)
				break;
		if (i == n) {
			names[n] = it->string;
			v[n++] = 0;
		}
		init[i] = (long)it->valuedouble;
	}
	long seats = (long)cJSON_GetObjectItem(w, "seats")->valuedouble;
	if (sched_webster_allocate(seats, n, names, v, init, cJSON_IsString(uidj) ? uidj->valuestring : NULL, out) != 0) {
		print_error("%s: %s: sched_webster_allocate failed\n", file, name);
		return 1;
	}
	const cJSON *es = cJSON_GetObjectItem(expect, "seats");
	int bad = cJSON_GetArraySize(es) != n;
	for (int i = 0; i < n; i++) {
		const cJSON *e = cJSON_GetObjectItem(es, names[i]);
		if (!cJSON_IsNumber(e) || (long)e->valuedouble != out[i])
			bad = 1;
	}
	if (bad) {
		print_error("%s: %s: got", file, name);
		for (int i = 0; i < n; i++)
			print_error(" %s:%ld", names[i], out[i]);
		print_error("\n");
	}
	return bad;
}

static int run_case(const char *file, const cJSON *c)
{
	const cJSON *namej = cJSON_GetObjectItem(c, "name");
	const char *name = cJSON_IsString(namej) ? namej->valuestring : "?";
	const cJSON *expect = cJSON_GetObjectItem(c, "expect");
	if (!expect) {
		print_error("%s: %s: no expect\n", file, name);
		return 1;
	}
	const cJSON *w = cJSON_GetObjectItem(c, "webster");
	if (w)
		return run_webster_case(file, name, w, expect);
	const cJSON *hr = cJSON_GetObjectItem(c, "has_replicas");
	bool has_replicas = hr ? cJSON_IsTrue(hr) : true;
	const cJSON *placement = cJSON_GetObjectItem(c, "placement");
	if (cJSON_IsNull(placement))
		placement = NULL;
	struct sched_result r;
	int rc = schedule_full(cJSON_GetObjectItem(c, "clusters"), placement,
			       cJSON_GetObjectItem(c, "workload"), has_replicas,
			       cJSON_GetObjectItem(c, "previous"), NULL, cJSON_IsTrue(cJSON_GetObjectItem(c, "fresh")), &r);
	int bad = 0;
	char got[2048];
	sched_result_format(&r, got, sizeof got);
	const cJSON *eerr = cJSON_GetObjectItem(expect, "error");
	if (cJSON_IsString(eerr)) {
		const cJSON *ereason = cJSON_GetObjectItem(expect, "reason");
		if (rc == 0) {
			print_error("%s: %s: expected error '%s', got %s\n", file, name, eerr->valuestring, got);
			bad = 1;
		} else if (!strstr(r.message, eerr->valuestring) ||
			   (cJSON_IsString(ereason) && strcmp(r.reason, ereason->valuestring) != 0)) {
			print_error("%s: %s: expected error '%s', got [%s] '%s'\n", file, name,
				    eerr->valuestring, r.reason, r.message);
			bad = 1;
		}
	} else {
		const cJSON *ec = cJSON_GetObjectItem(expect, "clusters");
		char want[2048];
		size_t off = 0;
		const cJSON *t;
		off += (size_t)snprintf(want, sizeof want, "{");
		cJSON_ArrayForEach(t, ec)
			off += (size_t)snprintf(want + off, sizeof want - off, "%s%s:%ld", off > 1 ? ", " : "",
						cJSON_GetObjectItem(t, "name")->valuestring,
						(long)cJSON_GetObjectItem(t, "replicas")->valuedouble);
		snprintf(want + off, sizeof want - off, "}");
		if (rc != 0) {
			print_error("%s: %s: unexpected error [%s] %s\n", file, name, r.reason, r.message);
			bad = 1;
		} else if (strcmp(got, want) != 0) {
			print_error("%s: %s: want %s got %s\n", file, name, want, got);
			bad = 1;
		} else if (r.has_replicas != has_replicas) {
			print_error("%s: %s: has_replicas mismatch\n", file, name);
			bad = 1;
		}
	}
	sched_result_free(&r);
	return bad;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_data_cases(void **state)
{
	(void)state;
	const char *base = getenv("ATOLL_TEST_DATA");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/scheduler", base ? base : "tests/data");
	DIR *d = opendir(dir);
	assert_non_null(d);
	char *names[512];
	int nf = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nf < 512) {
		size_t l = strlen(e->d_name);
		if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
			names[nf++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)nf, sizeof *names, cmp_str);
	int failures = 0, total = 0;
	for (int i = 0; i < nf; i++) {
		char path[2048];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		char *text = read_file(path);
		cJSON *doc = text ? cJSON_Parse(text) : NULL;
		if (!doc) {
			print_error("%s: cannot read or parse\n", path);
			failures++;
		} else if (cJSON_IsArray(doc)) {
			const cJSON *c;
			cJSON_ArrayForEach(c, doc) {
				failures += run_case(names[i], c);
				total++;
			}
		} else {
			failures += run_case(names[i], doc);
			total++;
		}
		cJSON_Delete(doc);
		free(text);
		free(names[i]);
	}
	print_message("%d scheduler data cases, %d failed\n", total, failures);
	assert_true(total >= 40);
	assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------ seed cases */

static cJSON *seed_clusters(void)
{
	return cJSON_Parse("["
		"{\"metadata\":{\"name\":\"eu\"},\"spec\":{\"region\":\"eu-west\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
		"{\"metadata\":{\"name\":\"ap\"},\"spec\":{\"region\":\"ap-south\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
		"{\"metadata\":{\"name\":\"us\"},\"spec\":{\"region\":\"us-west\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}]");
}

static cJSON *static_placement(long us, long ap, long eu)
{
	char buf[1024];
	snprintf(buf, sizeof buf,
		 "{\"clusterAffinity\":{\"clusterNames\":[\"eu\",\"ap\",\"us\"]},"
		 "\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Weighted\","
		 "\"weightPreference\":{\"staticWeightList\":["
		 "{\"targetCluster\":{\"clusterNames\":[\"us\"]},\"weight\":%ld},"
		 "{\"targetCluster\":{\"clusterNames\":[\"ap\"]},\"weight\":%ld},"
		 "{\"targetCluster\":{\"clusterNames\":[\"eu\"]},\"weight\":%ld}]}}}", us, ap, eu);
	return cJSON_Parse(buf);
}

static cJSON *deployment(long replicas, const char *uid)
{
	cJSON *d = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(d, "metadata");
	cJSON_AddStringToObject(md, "name", "hello");
	if (uid)
		cJSON_AddStringToObject(md, "uid", uid);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(d, "spec"), "replicas", (double)replicas);
	return d;
}

static void schedule_to_string(const cJSON *clusters, const cJSON *placement, const cJSON *w,
			       const cJSON *prev, char *buf, size_t len)
{
	struct sched_result r;
	assert_int_equal(schedule(clusters, placement, w, true, prev, &r), 0);
	sched_result_format(&r, buf, len);
	sched_result_free(&r);
}

static void find_uid(unsigned parity, char *buf, size_t len)
{
	for (int i = 0;; i++) {
		snprintf(buf, len, "6c1f0b7e-uid-%d", i);
		if ((fnv1a(buf) & 1u) == parity)
			return;
	}
}

static void test_seed_walkthrough(void **state)
{
	(void)state;
	char even[64], odd[64], got[256];
	find_uid(0, even, sizeof even);
	find_uid(1, odd, sizeof odd);
	assert_int_equal(sched_fnv1a32(even), fnv1a(even));
	assert_int_equal(sched_fnv1a32(odd) & 1u, 1);
	cJSON *cl = seed_clusters(), *p111 = static_placement(1, 1, 1), *p212 = static_placement(2, 1, 2);
	cJSON *d3 = deployment(3, even), *d10e = deployment(10, even), *d10o = deployment(10, odd);
	schedule_to_string(cl, p111, d3, NULL, got, sizeof got);
	assert_string_equal(got, "{ap:1, eu:1, us:1}");
	schedule_to_string(cl, p111, d10e, NULL, got, sizeof got);
	assert_string_equal(got, "{ap:4, eu:3, us:3}");
	schedule_to_string(cl, p111, d10o, NULL, got, sizeof got);
	assert_string_equal(got, "{ap:3, eu:3, us:4}");
	schedule_to_string(cl, p212, d10e, NULL, got, sizeof got);
	assert_string_equal(got, "{ap:2, eu:4, us:4}");
	schedule_to_string(cl, p212, d10o, NULL, got, sizeof got);
	assert_string_equal(got, "{ap:2, eu:4, us:4}");
	cJSON_Delete(cl);
	cJSON_Delete(p111);
	cJSON_Delete(p212);
	cJSON_Delete(d3);
	cJSON_Delete(d10e);
	cJSON_Delete(d10o);
}

static void test_webster_direct(void **state)
{
	(void)state;
	/* Karmada's ExampleAllocateWebsterSeats. */
	const char *names[] = {"Alpha", "Beta", "Gamma"};
	long votes[] = {1200, 900, 400}, out[3];
	assert_int_equal(sched_webster_allocate(4, 3, names, votes, NULL, NULL, out), 0);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 1);
	assert_int_equal(sched_webster_allocate(-1, 3, names, votes, NULL, NULL, out), -1);
	/* Weights 2:1 give the small cluster its first replica early. */
	const char *ab[] = {"a", "b"};
	long w21[] = {2, 1};
	assert_int_equal(sched_webster_allocate(2, 2, ab, w21, NULL, "", out), 0);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 1);
	assert_int_equal(sched_webster_allocate(3, 2, ab, w21, NULL, "", out), 0);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 1);
}

/* A large house must equal the seat-by-seat allocation (the fast path
 * pre-assigns a safe lower bound). */
static void test_webster_large(void **state)
{
	(void)state;
	const char *names[] = {"a", "b", "c", "d", "e"};
	long votes[] = {7, 3, 3, 1, 11};
	long big[5], step[5] = {0}, tmp[5];
	long seats = 5000;
	assert_int_equal(sched_webster_allocate(seats, 5, names, votes, NULL, "x", big), 0);
	/* Incrementally with initial seats: never takes the fast path. */
	for (long s = 0; s < seats; s++) {
		assert_int_equal(sched_webster_allocate(1, 5, names, votes, step, "x", tmp), 0);
		memcpy(step, tmp, sizeof step);
	}
	for (int i = 0; i < 5; i++)
		assert_int_equal(big[i], step[i]);
	/* Random houses: the bulk path agrees with seat-by-seat allocation. */
	for (int iter = 0; iter < 60; iter++) {
		long v[5], inc[5] = {0};
		long house = 100 + (iter * 7919) % 3000;
		for (int i = 0; i < 5; i++)
			v[i] = (iter * 31 + i * 17) % 13; /* zeros included */
		assert_int_equal(sched_webster_allocate(house, 5, names, v, NULL, iter % 2 ? "odd?" : "", big), 0);
		for (long s = 0; s < house; s++) {
			assert_int_equal(sched_webster_allocate(1, 5, names, v, inc, iter % 2 ? "odd?" : "", tmp), 0);
			memcpy(inc, tmp, sizeof inc);
		}
		for (int i = 0; i < 5; i++)
			assert_int_equal(big[i], inc[i]);
	}
	/* Huge houses finish quickly. */
	assert_int_equal(sched_webster_allocate(2000000000L, 5, names, votes, NULL, "x", big), 0);
	long sum = 0;
	for (int i = 0; i < 5; i++)
		sum += big[i];
	assert_int_equal(sum, 2000000000L);
}

/* --------------------------------------------------------- properties */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (unsigned)(rng_state % n) : 0;
}

static cJSON *random_clusters(int n)
{
	cJSON *arr = cJSON_CreateArray();
	static const char *regions[] = {"eu", "ap", "us"};
	for (int i = 0; i < n; i++) {
		char name[16], pods[16];
		snprintf(name, sizeof name, "m%02d", i);
		snprintf(pods, sizeof pods, "%u", 1 + rnd(60));
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "metadata"), "name", name);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "spec"), "region", regions[rnd(3)]);
		cJSON *rs = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "status"), "resourceSummary");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(rs, "allocatable"), "pods", pods);
		cJSON_AddItemToArray(arr, c);
	}
	return arr;
}

static cJSON *random_static_placement(int n)
{
	cJSON *p = cJSON_CreateObject();
	cJSON *rs = cJSON_AddObjectToObject(p, "replicaScheduling");
	cJSON_AddStringToObject(rs, "replicaSchedulingType", "Divided");
	cJSON_AddStringToObject(rs, "replicaDivisionPreference", "Weighted");
	cJSON *list = cJSON_AddArrayToObject(cJSON_AddObjectToObject(rs, "weightPreference"), "staticWeightList");
	for (int i = 0; i < n; i++) {
		if (rnd(5) == 0)
			continue; /* unmatched clusters are dropped */
		char name[16];
		snprintf(name, sizeof name, "m%02d", i);
		cJSON *rule = cJSON_CreateObject();
		cJSON *names = cJSON_AddArrayToObject(cJSON_AddObjectToObject(rule, "targetCluster"), "clusterNames");
		cJSON_AddItemToArray(names, cJSON_CreateString(name));
		cJSON_AddNumberToObject(rule, "weight", 1 + rnd(6));
		cJSON_AddItemToArray(list, rule);
	}
	return p;
}

static long replicas_of(const struct sched_result *r, const char *name)
{
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->targets[i].name, name) == 0)
			return r->targets[i].replicas;
	return 0;
}

static long total_of(const struct sched_result *r)
{
	long s = 0;
	for (int i = 0; i < r->n; i++)
		s += r->targets[i].replicas;
	return s;
}

static void test_property_static(void **state)
{
	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		int n = 1 + (int)rnd(8);
		cJSON *cl = random_clusters(n), *p = random_static_placement(n);
		char uid[32];
		snprintf(uid, sizeof uid, "uid-%d", iter);
		long replicas = rnd(40);
		cJSON *w1 = deployment(replicas, uid), *w2 = deployment(replicas + 1, uid);
		struct sched_result a, b, again;
		assert_int_equal(schedule(cl, p, w1, true, NULL, &a), 0);
		assert_int_equal(schedule(cl, p, w2, true, NULL, &b), 0);
		assert_int_equal(schedule(cl, p, w1, true, NULL, &again), 0);
		if (replicas > 0)
			assert_int_equal(total_of(&a), replicas);
		assert_int_equal(total_of(&b), replicas + 1);
		/* House monotone: growing by one never takes a replica away. */
		for (int i = 0; i < a.n; i++)
			assert_true(replicas_of(&b, a.targets[i].name) >= a.targets[i].replicas);
		/* Deterministic for a UID. */
		assert_int_equal(a.n, again.n);
		for (int i = 0; i < a.n; i++) {
			assert_string_equal(a.targets[i].name, again.targets[i].name);
			assert_int_equal(a.targets[i].replicas, again.targets[i].replicas);
		}
		for (int i = 1; i < b.n; i++)
			assert_true(strcmp(b.targets[i - 1].name, b.targets[i].name) < 0);
		sched_result_free(&a);
		sched_result_free(&b);
		sched_result_free(&again);
		cJSON_Delete(cl);
		cJSON_Delete(p);
		cJSON_Delete(w1);
		cJSON_Delete(w2);
	}
}

static void test_property_dynamic(void **state)
{
	(void)state;
	static const char *placements[] = {
		"{\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Weighted\",\"weightPreference\":{\"dynamicWeight\":\"AvailableReplicas\"}}}",
		"{\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Aggregated\"}}",
	};
	for (int iter = 0; iter < 2000; iter++) {
		int n = 1 + (int)rnd(6);
		cJSON *cl = random_clusters(n);
		cJSON *p = cJSON_Parse(placements[iter % 2]);
		char uid[32];
		snprintf(uid, sizeof uid, "dyn-%d", iter);
		long r1 = 1 + rnd(60), r2 = 1 + rnd(60);
		cJSON *w1 = deployment(r1, uid), *w2 = deployment(r2, uid);
		struct sched_result a, b;
		if (schedule(cl, p, w1, true, NULL, &a) == 0) {
			assert_int_equal(total_of(&a), r1);
			/* Rescheduling with the previous result: scale to r2. */
			cJSON *prev = cJSON_CreateArray();
			for (int i = 0; i < a.n; i++) {
				cJSON *t = cJSON_CreateObject();
				cJSON_AddStringToObject(t, "name", a.targets[i].name);
				cJSON_AddNumberToObject(t, "replicas", (double)a.targets[i].replicas);
				cJSON_AddItemToArray(prev, t);
			}
			if (schedule(cl, p, w2, true, prev, &b) == 0) {
				assert_int_equal(total_of(&b), r2);
				/* Steady scale-up only adds. */
				if (r2 >= r1)
					for (int i = 0; i < a.n; i++)
						assert_true(replicas_of(&b, a.targets[i].name) >= a.targets[i].replicas);
				else
					for (int i = 0; i < b.n; i++)
						assert_true(replicas_of(&a, b.targets[i].name) >= b.targets[i].replicas);
			} else {
				assert_string_equal(b.reason, "Unschedulable");
			}
			sched_result_free(&b);
			cJSON_Delete(prev);
		} else {
			assert_string_equal(a.reason, "Unschedulable");
			assert_non_null(strstr(a.message, "are not enough to schedule."));
		}
		sched_result_free(&a);
		cJSON_Delete(cl);
		cJSON_Delete(p);
		cJSON_Delete(w1);
		cJSON_Delete(w2);
	}
}

/* ------------------------------------------------------- many clusters */

/* At 1,000 clusters the scheduler uses hash maps for names, a heap for
 * Webster and skips the estimator when the strategy does not read it. These
 * cases pin the results those shortcuts must keep. */

static cJSON *many_clusters(int n, const char *env, int pods_mod)
{
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		char name[16], pods[16], region[16];
		snprintf(name, sizeof name, "m%04d", i);
		snprintf(pods, sizeof pods, "%d", pods_mod ? 1 + (i * 7919) % pods_mod : 50);
		snprintf(region, sizeof region, "r%d", i % 7);
		cJSON *c = cJSON_CreateObject();
		cJSON *md = cJSON_AddObjectToObject(c, "metadata");
		cJSON_AddStringToObject(md, "name", name);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "labels"), "env", env);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "spec"), "region", region);
		cJSON *st = cJSON_AddObjectToObject(c, "status");
		cJSON *cond = cJSON_CreateObject();
		cJSON_AddStringToObject(cond, "type", "Ready");
		cJSON_AddStringToObject(cond, "status", "True");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(st, "conditions"), cond);
		cJSON *rs = cJSON_AddObjectToObject(st, "resourceSummary");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(rs, "allocatable"), "pods", pods);
		cJSON_AddItemToArray(arr, c);
	}
	return arr;
}

/* Straightforward seat-by-seat Webster, written apart from the code under
 * test: every seat scans every party. */
static void ref_webster(long seats, int n, const char *const names[], const long votes[],
			const long initial[], const char *uid, long out[])
{
	int desc = uid && *uid && (fnv1a(uid) & 1u);
	for (int i = 0; i < n; i++)
		out[i] = initial ? initial[i] : 0;
	for (long s = 0; s < seats; s++) {
		int best = 0;
		for (int i = 1; i < n; i++) {
			double pi = (double)votes[i] / (double)(2 * out[i] + 1);
			double pb = (double)votes[best] / (double)(2 * out[best] + 1);
			int c = strcmp(names[i], names[best]);
			if (pi > pb || (pi == pb && (out[i] < out[best] ||
			    (out[i] == out[best] && (desc ? c > 0 : c < 0)))))
				best = i;
		}
		out[best]++;
	}
}

static void test_webster_many_reference(void **state)
{
	(void)state;
	enum { N = 1200 };
	static char namebuf[N][16];
	static const char *names[N];
	static long votes[N], initial[N], got[N], want[N];
	for (int iter = 0; iter < 120; iter++) {
		int n = 1 + (int)rnd(iter % 4 == 0 ? N : 40);
		for (int i = 0; i < n; i++) {
			/* Names in shuffled order, not sorted. */
			snprintf(namebuf[i], sizeof namebuf[i], "c%05u-%d", rnd(100000), i);
			names[i] = namebuf[i];
			/* Mostly equal or small weights: many exact ties. */
			votes[i] = iter % 3 == 0 ? 1 : iter % 3 == 1 ? (long)rnd(4) : (long)rnd(1000);
			initial[i] = (long)rnd(3);
		}
		long seats = (long)rnd(iter % 5 == 0 ? 3000 : 300);
		const char *uid = iter % 3 == 0 ? NULL : iter % 3 == 1 ? "uid-even" : "uid-odd";
		char u[64];
		if (uid) {
			find_uid(iter % 2, u, sizeof u);
			uid = u;
		}
		const long *init = iter % 2 ? initial : NULL;
		assert_int_equal(sched_webster_allocate(seats, n, names, votes, init, uid, got), 0);
		ref_webster(seats, n, names, votes, init, uid, want);
		for (int i = 0; i < n; i++)
			assert_int_equal(got[i], want[i]);
	}
}

/* 1,000 clusters with equal weights and fewer replicas than clusters: the
 * UID's parity alone picks which names get one. */
static void test_many_equal_weights(void **state)
{
	(void)state;
	cJSON *cl = many_clusters(1000, "prod", 0);
	cJSON *p = cJSON_Parse("{\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\","
			       "\"replicaDivisionPreference\":\"Weighted\"}}");
	char even[64], odd[64];
	find_uid(0, even, sizeof even);
	find_uid(1, odd, sizeof odd);
	for (int parity = 0; parity < 2; parity++) {
		for (int k = 0; k < 2; k++) {
			long replicas = k ? 2100 : 100;
			cJSON *w = deployment(replicas, parity ? odd : even);
			struct sched_result r;
			assert_int_equal(schedule(cl, p, w, true, NULL, &r), 0);
			long base = replicas / 1000, extra = replicas % 1000;
			assert_int_equal(r.n, base ? 1000 : extra);
			assert_int_equal(total_of(&r), replicas);
			for (int i = 0; i < 1000; i++) {
				char name[16];
				snprintf(name, sizeof name, "m%04d", i);
				/* Even: ascending names win the ties; odd: descending. */
				bool lucky = parity ? i >= 1000 - extra : i < extra;
				assert_int_equal(replicas_of(&r, name), base + (lucky ? 1 : 0));
			}
			sched_result_free(&r);
			cJSON_Delete(w);
		}
	}
	cJSON_Delete(cl);
	cJSON_Delete(p);
}

/* Duplicate names among 1,000 clusters: the first object wins, and the
 * copies count nowhere. */
static void test_many_duplicates(void **state)
{
	(void)state;
	cJSON *prod = many_clusters(1000, "prod", 0), *staging = many_clusters(1000, "staging", 0);
	cJSON *p = cJSON_Parse("{\"clusterAffinity\":{\"labelSelector\":{\"matchLabels\":{\"env\":\"prod\"}}},"
			       "\"replicaScheduling\":{\"replicaSchedulingType\":\"Duplicated\"}}");
	cJSON *w = deployment(3, "dup");
	/* prod copies first, then staging copies of every other name. */
	cJSON *a = cJSON_Duplicate(prod, 1), *b = cJSON_Duplicate(staging, 1);
	for (int i = 0; i < 1000; i += 2) {
		cJSON_AddItemToArray(a, cJSON_Duplicate(cJSON_GetArrayItem(staging, i), 1));
		cJSON_AddItemToArray(b, cJSON_Duplicate(cJSON_GetArrayItem(prod, i), 1));
	}
	struct sched_result r;
	assert_int_equal(schedule(a, p, w, true, NULL, &r), 0);
	assert_int_equal(r.n, 1000);
	for (int i = 0; i < r.n; i++)
		assert_int_equal(r.targets[i].replicas, 3);
	sched_result_free(&r);
	/* staging first: no cluster fits, and the total counts names. */
	assert_int_equal(schedule(b, p, w, true, NULL, &r), -1);
	assert_string_equal(r.reason, "NoClusterFit");
	assert_string_equal(r.message, "0/1000 clusters are available: 1000 cluster(s) did not match the "
				       "placement cluster affinity constraint.");
	sched_result_free(&r);
	cJSON_Delete(prod);
	cJSON_Delete(staging);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(p);
	cJSON_Delete(w);
}

/* Long clusterNames / exclude lists (hashed) select exactly the names
 * listed; non-string items and unknown names are ignored. */
static void test_many_name_lists(void **state)
{
	(void)state;
	cJSON *cl = many_clusters(1000, "prod", 0);
	cJSON *p = cJSON_CreateObject();
	cJSON *aff = cJSON_AddObjectToObject(p, "clusterAffinity");
	cJSON *names = cJSON_AddArrayToObject(aff, "clusterNames");
	cJSON *excl = cJSON_AddArrayToObject(aff, "exclude");
	for (int i = 0; i < 1000; i += 3) {
		char name[16];
		snprintf(name, sizeof name, "m%04d", i);
		cJSON_AddItemToArray(names, cJSON_CreateString(name));
		if (i % 2 == 0)
			cJSON_AddItemToArray(names, cJSON_CreateString(name)); /* listed twice */
		if (i % 5 == 0)
			cJSON_AddItemToArray(excl, cJSON_CreateString(name));
	}
	cJSON_AddItemToArray(names, cJSON_CreateNumber(7));
	cJSON_AddItemToArray(names, cJSON_CreateString("m9999"));
	cJSON_AddItemToArray(excl, cJSON_CreateNull());
	cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "replicaScheduling"), "replicaSchedulingType", "Duplicated");
	cJSON *w = deployment(2, "names");
	struct sched_result r;
	assert_int_equal(schedule(cl, p, w, true, NULL, &r), 0);
	int want = 0;
	for (int i = 0; i < 1000; i++) {
		char name[16];
		snprintf(name, sizeof name, "m%04d", i);
		bool in = i % 3 == 0 && i % 5 != 0;
		want += in;
		assert_int_equal(replicas_of(&r, name), in ? 2 : 0);
	}
	assert_int_equal(r.n, want);
	sched_result_free(&r);
	cJSON_Delete(cl);
	cJSON_Delete(p);
	cJSON_Delete(w);
}

static bool same_result(int ra, const struct sched_result *a, int rb, const struct sched_result *b)
{
	if (ra != rb || a->n != b->n || a->has_replicas != b->has_replicas ||
	    strcmp(a->reason, b->reason) != 0 || strcmp(a->message, b->message) != 0)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->targets[i].name, b->targets[i].name) != 0 ||
		    a->targets[i].replicas != b->targets[i].replicas)
			return false;
	return true;
}

/* ------------------------------------------------- shared filter results */

static const char *const FC_AFFINITIES[] = {
	NULL,
	"{'clusterAffinity':{'labelSelector':{'matchLabels':{'env':'prod'}}}}",
	"{'clusterAffinity':{'labelSelector':{'matchExpressions':[{'key':'env','operator':'In','values':['prod','staging']},"
	"{'key':'tier','operator':'NotIn','values':['b']}]}}}",
	"{'clusterAffinity':{'fieldSelector':{'matchExpressions':[{'key':'region','operator':'In','values':['r0','r1']}]}}}",
	"{'clusterAffinity':{'clusterNames':['c000','c003','c005','c007','c011','c013','c017','c019','c023'],"
	"'exclude':['c005']}}",
	"{'clusterAffinity':{'exclude':['c001','c002'],'labelSelector':{'matchLabels':{'tier':'a'}}}}",
	"{'clusterAffinities':[{'affinityName':'dev','labelSelector':{'matchLabels':{'env':'dev','tier':'b'}}},"
	"{'affinityName':'rest','labelSelector':{'matchExpressions':[{'key':'env','operator':'Exists'}]}}]}",
	"{'clusterAffinity':{'labelSelector':{'matchExpressions':[{'key':'env','operator':'Bogus'}]}}}",
};
static const char *const FC_TOLERATIONS[] = {
	NULL,
	"[{'key':'dedicated','operator':'Exists'}]",
	"[{'key':'gpu','operator':'Equal','value':'yes','effect':'NoSchedule'}]",
	"[{'operator':'Exists'}]",
	"[{'key':'cluster.karmada.io/not-ready','operator':'Exists','effect':'NoSchedule'},"
	"{'key':'dedicated','operator':'Exists','effect':'NoExecute','tolerationSeconds':30}]",
};
static const char *const FC_SPREAD[] = {
	NULL,
	"[{'spreadByField':'cluster','maxGroups':3,'minGroups':1}]",
	"[{'spreadByField':'region','maxGroups':2},{'spreadByField':'cluster','maxGroups':5}]",
	"[{'spreadByField':'provider','maxGroups':2,'minGroups':1},{'spreadByField':'cluster','maxGroups':4}]",
};
static const char *const FC_REPLICAS[] = {
	"{'replicaSchedulingType':'Duplicated'}",
	"{'replicaSchedulingType':'Divided','replicaDivisionPreference':'Weighted'}",
	("{'replicaSchedulingType':'Divided','replicaDivisionPreference':'Weighted','weightPreference':{'dynamicWeight':"
	 "'AvailableReplicas'}}"),
	"{'replicaSchedulingType':'Divided','replicaDivisionPreference':'Aggregated'}",
};

/* JSON with single quotes (the tables above); NULL stays NULL. */
static cJSON *fc_json(const char *q)
{
	return q ? jq(q) : NULL;
}

#define FC_N 24

/* One cluster's labels, taints, Ready condition and capacity, at random. */
static void fc_randomize_cluster(cJSON *c)
{
	static const char *const envs[] = {"prod", "staging", "dev"}, *const tiers[] = {"a", "b"};
	static const char *const tkeys[] = {"dedicated", "gpu", "cluster.karmada.io/not-ready", "other"};
	static const char *const effects[] = {"NoSchedule", "NoExecute", "PreferNoSchedule"};
	static const char *const ready[] = {"True", "True", "True", "False", "Unknown", NULL};
	cJSON *md = cJSON_GetObjectItem(c, "metadata");
	cJSON_DeleteItemFromObject(md, "labels");
	cJSON *labels = cJSON_AddObjectToObject(md, "labels");
	if (rnd(6))
		cJSON_AddStringToObject(labels, "env", envs[rnd(3)]);
	cJSON_AddStringToObject(labels, "tier", tiers[rnd(2)]);
	cJSON *spec = cJSON_GetObjectItem(c, "spec");
	cJSON_DeleteItemFromObject(spec, "taints");
	cJSON_DeleteItemFromObject(spec, "region");
	cJSON_DeleteItemFromObject(spec, "provider");
	if (rnd(5)) {
		char region[8];
		snprintf(region, sizeof region, "r%u", rnd(4));
		cJSON_AddStringToObject(spec, "region", region);
	}
	if (rnd(3))
		cJSON_AddStringToObject(spec, "provider", rnd(2) ? "aws" : "gcp");
	if (rnd(3) == 0) {
		cJSON *taints = cJSON_AddArrayToObject(spec, "taints");
		for (int k = 1 + (int)rnd(2); k > 0; k--) {
			cJSON *t = cJSON_CreateObject();
			cJSON_AddStringToObject(t, "key", tkeys[rnd(4)]);
			if (rnd(2))
				cJSON_AddStringToObject(t, "value", "yes");
			cJSON_AddStringToObject(t, "effect", effects[rnd(3)]);
			cJSON_AddItemToArray(taints, t);
		}
	}
	cJSON_DeleteItemFromObject(c, "status");
	cJSON *st = cJSON_AddObjectToObject(c, "status");
	const char *rs = ready[rnd(6)];
	if (rs) {
		cJSON *cond = cJSON_CreateObject();
		cJSON_AddStringToObject(cond, "type", "Ready");
		cJSON_AddStringToObject(cond, "status", rs);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(st, "conditions"), cond);
	}
	char pods[16], used[16];
	snprintf(pods, sizeof pods, "%u", 1 + rnd(60));
	snprintf(used, sizeof used, "%u", rnd(20));
	cJSON *sum = cJSON_AddObjectToObject(st, "resourceSummary");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(sum, "allocatable"), "pods", pods);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(sum, "allocated"), "pods", used);
}

static cJSON *fc_fleet(void)
{
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < FC_N; i++) {
		char name[16];
		snprintf(name, sizeof name, "c%03d", i);
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "metadata"), "name", name);
		cJSON_AddObjectToObject(c, "spec");
		fc_randomize_cluster(c);
		cJSON_AddItemToArray(arr, c);
	}
	return arr;
}

static cJSON *fc_placement(void)
{
	cJSON *p = fc_json(FC_AFFINITIES[rnd(sizeof FC_AFFINITIES / sizeof *FC_AFFINITIES)]);
	if (!p)
		p = cJSON_CreateObject();
	cJSON *t = fc_json(FC_TOLERATIONS[rnd(sizeof FC_TOLERATIONS / sizeof *FC_TOLERATIONS)]);
	if (t)
		cJSON_AddItemToObject(p, "clusterTolerations", t);
	cJSON *sc = fc_json(FC_SPREAD[rnd(sizeof FC_SPREAD / sizeof *FC_SPREAD)]);
	if (sc)
		cJSON_AddItemToObject(p, "spreadConstraints", sc);
	cJSON_AddItemToObject(p, "replicaScheduling", fc_json(FC_REPLICAS[rnd(4)]));
	return p;
}

/* One binding's own inputs: workload, previous result, eviction tasks. */
struct fc_input {
	int placement;
	cJSON *w, *prev, *evict;
	bool fresh, has_replicas;
};

static void fc_input_init(struct fc_input *in, int nplacements)
{
	char uid[32], name[16];
	snprintf(uid, sizeof uid, "uid-%u", rnd(5));
	in->placement = (int)rnd((unsigned)nplacements);
	in->w = deployment(rnd(30), uid);
	in->has_replicas = rnd(8) != 0;
	in->fresh = rnd(6) == 0;
	in->prev = NULL;
	if (rnd(3)) {
		in->prev = cJSON_CreateArray();
		for (int k = (int)rnd(5); k > 0; k--) {
			cJSON *t = cJSON_CreateObject();
			snprintf(name, sizeof name, "c%03u", rnd(FC_N));
			cJSON_AddStringToObject(t, "name", name);
			cJSON_AddNumberToObject(t, "replicas", rnd(8));
			cJSON_AddItemToArray(in->prev, t);
		}
	}
	in->evict = NULL;
	if (rnd(4) == 0) {
		in->evict = cJSON_CreateArray();
		cJSON *t = cJSON_CreateObject();
		snprintf(name, sizeof name, "c%03u", rnd(FC_N));
		cJSON_AddStringToObject(t, "fromCluster", name);
		cJSON_AddItemToArray(in->evict, t);
	}
}

static void fc_input_free(struct fc_input *in)
{
	cJSON_Delete(in->w);
	cJSON_Delete(in->prev);
	cJSON_Delete(in->evict);
}

static bool fc_same(const struct sched_facts *fs, const cJSON *clusters, cJSON *const *pl, const struct fc_input *in,
		    bool *err)
{
	struct sched_result a, b;
	int ra = schedule_full_facts(fs, pl[in->placement], in->w, in->has_replicas, in->prev, in->evict, in->fresh, &a);
	int rb = schedule_full(clusters, pl[in->placement], in->w, in->has_replicas, in->prev, in->evict, in->fresh, &b);
	bool same = same_result(ra, &a, rb, &b);
	*err = rb != 0;
	sched_result_free(&a);
	sched_result_free(&b);
	return same;
}

/* The facts' shared filter results never change a placement: many
 * bindings over a few placements (random affinities, tolerations, spread
 * constraints, replica strategies) with their own previous results,
 * eviction tasks and workloads give, over one set of facts, what a
 * scheduling with its own facts gives. After the clusters' labels, taints,
 * Ready conditions and capacity change, facts built again agree with the
 * new clusters, while the old facts' answers differ for some bindings: a
 * cache outliving its facts would return those stale results. */
static void test_facts_cache_matches_uncached(void **state)
{
	(void)state;
	long total_hits = 0, stale_differs = 0, errors = 0, successes = 0;
	for (int round = 0; round < 12; round++) {
		cJSON *cl = fc_fleet();
		int np = 3 + (int)rnd(4);
		cJSON *pl[8];
		for (int i = 0; i < np; i++)
			pl[i] = fc_placement();
		struct fc_input in[150];
		int nin = 150;
		for (int i = 0; i < nin; i++)
			fc_input_init(&in[i], np);
		struct sched_facts *fs = sched_facts_build(cl);
		assert_non_null(fs);
		for (int pass = 0; pass < 2; pass++) { /* the second pass answers from a warm cache */
			for (int i = 0; i < nin; i++) {
				bool err;
				if (!fc_same(fs, cl, pl, &in[i], &err)) {
					print_error("round %d binding %d: cached and uncached placements differ\n", round, i);
					fail();
				}
				errors += err;
				successes += !err;
			}
		}
		long hits, misses;
		sched_facts_cache_stats(fs, &hits, &misses);
		assert_true(misses > 0 && misses <= 2 * np); /* at most two affinity terms per placement */
		total_hits += hits;
		/* The clusters change (a copy: the old facts borrow cl). */
		cJSON *cl2 = cJSON_Duplicate(cl, 1);
		for (int i = 0; i < FC_N; i++)
			if (rnd(3) == 0)
				fc_randomize_cluster(cJSON_GetArrayItem(cl2, i));
		struct sched_facts *fs2 = sched_facts_build(cl2);
		for (int i = 0; i < nin; i++) {
			bool err;
			if (!fc_same(fs2, cl2, pl, &in[i], &err)) {
				print_error("round %d binding %d: after the change, cached and uncached differ\n", round, i);
				fail();
			}
			struct sched_result o, n;
			int ro = schedule_full_facts(fs, pl[in[i].placement], in[i].w, in[i].has_replicas, in[i].prev,
						     in[i].evict, in[i].fresh, &o);
			int rn = schedule_full(cl2, pl[in[i].placement], in[i].w, in[i].has_replicas, in[i].prev,
					       in[i].evict, in[i].fresh, &n);
			stale_differs += !same_result(ro, &o, rn, &n);
			sched_result_free(&o);
			sched_result_free(&n);
		}
		sched_facts_free(fs);
		sched_facts_free(fs2);
		for (int i = 0; i < nin; i++)
			fc_input_free(&in[i]);
		for (int i = 0; i < np; i++)
			cJSON_Delete(pl[i]);
		cJSON_Delete(cl);
		cJSON_Delete(cl2);
	}
	/* The inputs exercise both outcomes, the cache and the change. */
	assert_true(total_hits > 1000);
	assert_true(errors > 50 && successes > 500);
	assert_true(stale_differs > 50);
}

/* Every strategy at up to 400 clusters, with previous results: the order
 * of the Cluster list never changes the result (candidates are ordered by
 * score, available replicas and name; the rest is set-based). */
static void test_many_order_independent(void **state)
{
	(void)state;
	static const char *placements[] = {
		"{\"replicaScheduling\":{\"replicaSchedulingType\":\"Duplicated\"}}",
		"{\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Weighted\"}}",
		"{\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Weighted\","
		"\"weightPreference\":{\"staticWeightList\":[{\"targetCluster\":{\"fieldSelector\":{\"matchExpressions\":"
		"[{\"key\":\"region\",\"operator\":\"In\",\"values\":[\"r1\",\"r2\"]}]}},\"weight\":3},"
		"{\"targetCluster\":{\"labelSelector\":{\"matchLabels\":{\"env\":\"prod\"}}},\"weight\":1}]}}}",
		"{\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Weighted\","
		"\"weightPreference\":{\"dynamicWeight\":\"AvailableReplicas\"}}}",
		"{\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Aggregated\"}}",
		"{\"spreadConstraints\":[{\"spreadByField\":\"cluster\",\"maxGroups\":5,\"minGroups\":2}],"
		"\"replicaScheduling\":{\"replicaSchedulingType\":\"Duplicated\"}}",
		"{\"spreadConstraints\":[{\"spreadByField\":\"cluster\",\"maxGroups\":4}],"
		"\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Aggregated\"}}",
		"{\"spreadConstraints\":[{\"spreadByField\":\"region\",\"maxGroups\":2},{\"spreadByField\":\"cluster\",\"maxGroups\":6}],"
		"\"replicaScheduling\":{\"replicaSchedulingType\":\"Divided\",\"replicaDivisionPreference\":\"Weighted\","
		"\"weightPreference\":{\"dynamicWeight\":\"AvailableReplicas\"}}}",
	};
	int np = (int)(sizeof placements / sizeof placements[0]);
	for (int iter = 0; iter < 48; iter++) {
		int n = 2 + (int)rnd(iter % 6 == 0 ? 400 : 60);
		cJSON *cl = many_clusters(n, "prod", 1 + (int)rnd(30));
		cJSON *p = cJSON_Parse(placements[iter % np]);
		cJSON *w = deployment(1 + rnd(iter % 2 ? 400 : 40), iter % 3 ? "order-1" : "order-2");
		/* A previous result on some clusters (score 100 for them). */
		cJSON *prev = NULL;
		if (iter % 4) {
			prev = cJSON_CreateArray();
			for (int k = (int)rnd(6); k > 0; k--) {
				cJSON *t = cJSON_CreateObject();
				char name[16];
				snprintf(name, sizeof name, "m%04u", rnd((unsigned)n));
				cJSON_AddStringToObject(t, "name", name);
				cJSON_AddNumberToObject(t, "replicas", rnd(10));
				cJSON_AddItemToArray(prev, t);
			}
		}
		/* The same clusters, shuffled. */
		cJSON *shuf = cJSON_CreateArray();
		cJSON **items = calloc((size_t)n, sizeof *items);
		assert_non_null(items);
		for (int i = 0; i < n; i++)
			items[i] = cJSON_Duplicate(cJSON_GetArrayItem(cl, i), 1);
		for (int i = n - 1; i > 0; i--) {
			int j = (int)rnd((unsigned)i + 1);
			cJSON *t = items[i];
			items[i] = items[j];
			items[j] = t;
		}
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(shuf, items[i]);
		free(items);
		struct sched_result a, b;
		int ra = schedule(cl, p, w, true, prev, &a);
		int rb = schedule(shuf, p, w, true, prev, &b);
		assert_true(same_result(ra, &a, rb, &b));
		sched_result_free(&a);
		sched_result_free(&b);
		cJSON_Delete(cl);
		cJSON_Delete(shuf);
		cJSON_Delete(p);
		cJSON_Delete(w);
		cJSON_Delete(prev);
	}
}

/* A cluster spread constraint picks the clusters with the most available
 * replicas even for Duplicated: the estimator must run there. */
static void test_many_spread_uses_estimates(void **state)
{
	(void)state;
	cJSON *cl = many_clusters(1000, "prod", 0);
	/* Every cluster has 50 pods; give three of them more. */
	static const int rich[] = {17, 503, 998};
	for (int k = 0; k < 3; k++) {
		cJSON *c = cJSON_GetArrayItem(cl, rich[k]);
		cJSON *alloc = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "status"),
					"resourceSummary"), "allocatable");
		cJSON_ReplaceItemInObject(alloc, "pods", cJSON_CreateString(k == 0 ? "90" : "80"));
	}
	cJSON *p = cJSON_Parse("{\"spreadConstraints\":[{\"spreadByField\":\"cluster\",\"maxGroups\":3}],"
			       "\"replicaScheduling\":{\"replicaSchedulingType\":\"Duplicated\"}}");
	cJSON *w = deployment(4, "spread");
	char got[256];
	schedule_to_string(cl, p, w, NULL, got, sizeof got);
	assert_string_equal(got, "{m0017:4, m0503:4, m0998:4}");
	cJSON_Delete(cl);
	cJSON_Delete(p);
	cJSON_Delete(w);
}

static void test_format_and_null(void **state)
{
	(void)state;
	struct sched_result r;
	assert_int_equal(schedule(NULL, NULL, NULL, false, NULL, &r), -1);
	assert_string_equal(r.reason, "SchedulerError");
	sched_result_free(&r);
	char buf[8];
	struct sched_target t[2] = {{"alpha", 10}, {"beta", 2}};
	struct sched_result fr = {.n = 2, .targets = t};
	sched_result_format(&fr, buf, sizeof buf);
	assert_int_equal(strlen(buf), 7); /* truncated, NUL-terminated */
}

/* ------------------------------------------------------------------ plan */

static void slurp(FILE *f, char *buf, size_t len)
{
	rewind(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs plan_main with -f for each file (relative to the data directory),
 * capturing stdout and stderr. */
static int run_plan(char *out, char *err, size_t len, const char *const *files)
{
	const char *base = getenv("ATOLL_TEST_DATA");
	char paths[8][1024];
	char *argv[20];
	int argc = 0;
	argv[argc++] = "plan";
	for (int i = 0; files[i] && i < 8; i++) {
		if (files[i][0] == '-') {
			argv[argc++] = (char *)files[i];
			continue;
		}
		snprintf(paths[i], sizeof paths[i], "%s/scheduler/%s", base ? base : "tests/data", files[i]);
		argv[argc++] = "-f";
		argv[argc++] = paths[i];
	}
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	FILE *fo = tmpfile(), *fe = tmpfile();
	assert_non_null(fo);
	assert_non_null(fe);
	int so = dup(1), se = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	int rc = plan_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(fo, out, len);
	slurp(fe, err, len);
	return rc;
}

static void test_plan(void **state)
{
	(void)state;
	char out[4096], err[4096];
	const char *step6_even[] = {"plan-clusters.yaml", "plan-policy-equal.yaml", "plan-deployment-even.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, step6_even), 0);
	assert_string_equal(out, "{\"clusters\":[{\"name\":\"ap\",\"replicas\":4},{\"name\":\"eu\",\"replicas\":3},{\"name\":\"us\",\"replicas\":3}]}\n");
	const char *step6_odd[] = {"plan-clusters.yaml", "plan-policy-equal.yaml", "plan-deployment-odd.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, step6_odd), 0);
	assert_string_equal(out, "{\"clusters\":[{\"name\":\"ap\",\"replicas\":3},{\"name\":\"eu\",\"replicas\":3},{\"name\":\"us\",\"replicas\":4}]}\n");
	const char *step7[] = {"plan-clusters.yaml", "plan-policy-weighted.yaml", "plan-deployment-odd.yaml", "plan-binding.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, step7), 0);
	assert_string_equal(out, "{\"clusters\":[{\"name\":\"ap\",\"replicas\":2},{\"name\":\"eu\",\"replicas\":4},{\"name\":\"us\",\"replicas\":4}]}\n");
	const char *service[] = {"plan-clusters.yaml", "plan-policy-weighted.yaml", "plan-service.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, service), 0);
	assert_string_equal(out, "{\"clusters\":[{\"name\":\"ap\",\"replicas\":0},{\"name\":\"eu\",\"replicas\":0},{\"name\":\"us\",\"replicas\":0}]}\n");
	const char *nowhere[] = {"plan-clusters.yaml", "plan-policy-nowhere.yaml", "plan-deployment-even.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, nowhere), 1);
	assert_string_equal(out, "");
	assert_string_equal(err, "atoll-hub plan: 0/3 clusters are available: 3 cluster(s) did not match the placement cluster affinity constraint.\n");
	const char *bad[] = {"plan-clusters.yaml", "plan-bad.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, bad), 2);
	assert_non_null(strstr(err, "plan-bad.yaml: yaml: "));
	const char *missing[] = {"plan-clusters.yaml", "no-such-file.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, missing), 2);
	assert_non_null(strstr(err, "no-such-file.yaml"));
	const char *two_workloads[] = {"plan-clusters.yaml", "plan-policy-equal.yaml", "plan-service.yaml", "plan-deployment-even.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, two_workloads), 2);
	assert_non_null(strstr(err, "more than one workload"));
	const char *no_policy[] = {"plan-clusters.yaml", "plan-service.yaml", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, no_policy), 2);
	assert_non_null(strstr(err, "no PropagationPolicy"));
	const char *none[] = {NULL};
	assert_int_equal(run_plan(out, err, sizeof out, none), 2);
	const char *help[] = {"--help", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, help), 0);
	assert_non_null(strstr(out, "Usage: atoll-hub plan -f FILE"));
	const char *unknown[] = {"--bogus", NULL};
	assert_int_equal(run_plan(out, err, sizeof out, unknown), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_walkthrough),
		cmocka_unit_test(test_webster_direct),
		cmocka_unit_test(test_webster_large),
		cmocka_unit_test(test_data_cases),
		cmocka_unit_test(test_property_static),
		cmocka_unit_test(test_property_dynamic),
		cmocka_unit_test(test_webster_many_reference),
		cmocka_unit_test(test_many_equal_weights),
		cmocka_unit_test(test_many_duplicates),
		cmocka_unit_test(test_many_name_lists),
		cmocka_unit_test(test_many_order_independent),
		cmocka_unit_test(test_facts_cache_matches_uncached),
		cmocka_unit_test(test_many_spread_uses_estimates),
		cmocka_unit_test(test_format_and_null),
		cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
