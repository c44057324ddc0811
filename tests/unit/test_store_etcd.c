/* The etcd backend (store_etcd.c) through the store interface, against a
 * real single-member etcd (/usr/bin/etcd, Debian's etcd-server) started on
 * free loopback ports in a temporary directory and stopped at the end:
 * revisions and conditional writes, prefix lists over several pages, the
 * replay of history (types, previous values, prefix filter), committed
 * subscribers at store_commit(), compaction and STORE_COMPACTED. Skipped
 * (not failed) when etcd is not installed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <mbedtls/base64.h>

#include "testutil.h"
#include "jsonutil.h"
#include "store.h"
#include "store_etcd.h"

#define ETCD_BIN "/usr/bin/etcd"

static char dir[256];
static pid_t etcd_pid;
static char url[64];
static int prefix_seq;
static char cur_prefix[64];

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

static int start_etcd(void **state)
{
	if (access(ETCD_BIN, X_OK) != 0)
		return 0;
	tu_mkdtemp(dir, sizeof dir, "etcd");
	int cp = free_port(), pp = free_port(), mp = free_port();
	char data[300], listen_c[64], listen_p[64], cluster[96], metrics[64], log[300];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", cp);
	snprintf(listen_c, sizeof listen_c, "http://127.0.0.1:%d", cp);
	snprintf(listen_p, sizeof listen_p, "http://127.0.0.1:%d", pp);
	snprintf(cluster, sizeof cluster, "u0=http://127.0.0.1:%d", pp);
	snprintf(metrics, sizeof metrics, "http://127.0.0.1:%d", mp);
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(log, sizeof log, "%s/etcd.log", dir);
	etcd_pid = fork();
	if (etcd_pid == 0) {
		freopen(log, "w", stdout);
		freopen(log, "a", stderr);
		execl(ETCD_BIN, "etcd", "--name", "u0", "--data-dir", data, "--listen-client-urls", listen_c,
		      "--advertise-client-urls", listen_c, "--listen-peer-urls", listen_p,
		      "--initial-advertise-peer-urls", listen_p, "--initial-cluster", cluster,
		      "--listen-metrics-urls", metrics, (char *)NULL);
		_exit(127);
	}
	/* ready when the store opens */
	struct etcd_options o = {.servers = url};
	for (int i = 0; i < 300; i++) {
		char err[256];
		struct store *s = store_open_etcd(&o, err, sizeof err);
		if (s) {
			store_close(s);
			return 0;
		}
		usleep(50000);
	}
	fail_msg("etcd did not start (see %s)", log);
	return -1;
}

static int stop_etcd(void **state)
{
	if (etcd_pid > 0) {
		kill(etcd_pid, SIGTERM);
		waitpid(etcd_pid, NULL, 0);
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
	return 0;
}

/* Each test: a store on its own prefix. */
static int setup(void **state)
{
	if (etcd_pid <= 0)
		return 0;
	char err[256];
	snprintf(cur_prefix, sizeof cur_prefix, "/unit-%d-%d/", (int)getpid(), ++prefix_seq);
	struct etcd_options o = {.servers = url, .prefix = cur_prefix};
	struct store *s = store_open_etcd(&o, err, sizeof err);
	if (!s)
		fail_msg("open: %s", err);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	if (*state)
		store_close(*state);
	return 0;
}

#define NEED_ETCD()                                         \
	do {                                                    \
		if (etcd_pid <= 0)                                  \
			skip();                                         \
	} while (0)

/* A write by another etcd client (not a hub: m/last untouched), straight
 * through the gateway: key under prefix's "r/", value {"v":v}. */
static void foreign_put(const char *prefix, const char *key, int v)
{
	char k[256], val[64], kb[512], vb[256], body[1024], u[128];
	size_t n = 0;
	snprintf(k, sizeof k, "%sr/%s", prefix, key);
	snprintf(val, sizeof val, "{\"metadata\":{\"name\":\"%s\"},\"v\":%d}", key, v);
	assert_int_equal(mbedtls_base64_encode((unsigned char *)kb, sizeof kb, &n, (const unsigned char *)k, strlen(k)), 0);
	assert_int_equal(mbedtls_base64_encode((unsigned char *)vb, sizeof vb, &n, (const unsigned char *)val, strlen(val)), 0);
	snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", kb, vb);
	snprintf(u, sizeof u, "%s/v3/kv/put", url);
	CURL *c = curl_easy_init();
	FILE *devnull = fopen("/dev/null", "w");
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	fclose(devnull);
	curl_easy_cleanup(c);
}

/* etcd's current revision (a revision is a Txn), asked directly. */
static long long etcd_revision(void)
{
	char u[128];
	snprintf(u, sizeof u, "%s/v3/kv/range", url);
	FILE *f = tmpfile();
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"key\":\"eA==\"}");
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	rewind(f);
	char buf[4096] = "";
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	cJSON *o = cJSON_Parse(buf);
	const char *r = json_get_str(o, "header.revision");
	long long rev = r ? atoll(r) : -1;
	cJSON_Delete(o);
	assert_true(rev > 0);
	return rev;
}

static int put(struct store *s, const char *key, int v, long long expect, long long *rev)
{
	cJSON *o = cJSON_CreateObject();
	json_set_str(json_ensure_obj(o, "metadata"), "name", key);
	json_set_num(o, "v", v);
	int rc = store_put(s, key, o, expect, rev, NULL);
	cJSON_Delete(o);
	return rc;
}

static void test_revisions_and_conditions(void **state)
{
	NEED_ETCD();
	struct store *s = *state;
	long long r1, r2, r3, rd;
	assert_int_equal(put(s, "core/configmaps/default/a", 1, -1, &r1), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/b", 1, -1, &r2), STORE_OK);
	assert_true(r2 > r1);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, -1, NULL), STORE_EXISTS);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, r2, NULL), STORE_CONFLICT);
	assert_int_equal(put(s, "core/configmaps/default/zz", 2, r2, NULL), STORE_NOT_FOUND);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, r1, &r3), STORE_OK);
	assert_true(store_revision(s) >= r3);
	char *v = NULL;
	long long mod = 0;
	assert_int_equal(store_get(s, "core/configmaps/default/a", &v, &mod), STORE_OK);
	assert_int_equal(mod, r3);
	cJSON *o = cJSON_Parse(v);
	char want[32];
	snprintf(want, sizeof want, "%lld", r3);
	assert_string_equal(json_get_str(o, "metadata.resourceVersion"), want);
	assert_int_equal((int)json_get_num(o, "v", 0), 2);
	cJSON_Delete(o);
	free(v);
	assert_int_equal(store_delete(s, "core/configmaps/default/a", r1, NULL, NULL), STORE_CONFLICT);
	char *last = NULL;
	assert_int_equal(store_delete(s, "core/configmaps/default/a", 0, &rd, &last), STORE_OK);
	o = cJSON_Parse(last);
	snprintf(want, sizeof want, "%lld", rd);
	assert_string_equal(json_get_str(o, "metadata.resourceVersion"), want);
	cJSON_Delete(o);
	free(last);
	assert_int_equal(store_get(s, "core/configmaps/default/a", NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_delete(s, "core/configmaps/default/a", 0, NULL, NULL), STORE_NOT_FOUND);
}

struct collect {
	int n;
	char keys[1300][64];
	long long revs[1300];
};

static int collect_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct collect *c = ud;
	snprintf(c->keys[c->n], sizeof c->keys[0], "%s", key);
	c->revs[c->n++] = rev;
	return 0;
}

/* More keys than one page (500): all of them, once, in key order, and
 * nothing from a neighbouring prefix. */
static void test_list_pages_and_prefix(void **state)
{
	NEED_ETCD();
	struct store *s = *state;
	char k[64];
	for (int i = 0; i < 1203; i++) {
		snprintf(k, sizeof k, "core/configmaps/big/c%04d", i);
		assert_int_equal(put(s, k, i, -1, NULL), STORE_OK);
	}
	assert_int_equal(put(s, "core/configmaps/bigger/x", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/bi/y", 1, -1, NULL), STORE_OK);
	assert_int_equal(store_delete(s, "core/configmaps/big/c0007", 0, NULL, NULL), STORE_OK);
	/* from the hub's cache, then from etcd (pages of 500) after a reopen */
	for (int round = 0; round < 2; round++) {
		struct collect *c = calloc(1, sizeof *c);
		long long rev = 0;
		assert_int_equal(store_list(s, "core/configmaps/big/", collect_item, c, &rev), STORE_OK);
		assert_int_equal(c->n, 1202);
		for (int i = 0, j = 0; i < c->n; i++, j++) {
			if (j == 7)
				j++;
			snprintf(k, sizeof k, "core/configmaps/big/c%04d", j);
			assert_string_equal(c->keys[i], k);
			assert_true(c->revs[i] <= rev);
		}
		free(c);
		store_close(s);
		char err[256];
		struct etcd_options o = {.servers = url, .prefix = cur_prefix};
		s = *state = store_open_etcd(&o, err, sizeof err);
		assert_non_null(s);
	}
}

struct evs {
	int n;
	enum store_event_type type[16];
	char key[16][64];
	long long rev[16];
	bool had_prev[16];
	int v[16];
};

static void record(const struct store_event *ev, void *ud)
{
	struct evs *e = ud;
	if (e->n >= 16)
		return;
	e->type[e->n] = ev->type;
	snprintf(e->key[e->n], sizeof e->key[0], "%s", ev->key);
	e->rev[e->n] = ev->rev;
	e->had_prev[e->n] = ev->prev_value != NULL;
	const cJSON *v = store_event_value(ev);
	e->v[e->n] = (int)json_get_num(v, "v", -1);
	char want[32];
	snprintf(want, sizeof want, "%lld", ev->rev);
	assert_string_equal(json_get_str(v, "metadata.resourceVersion"), want);
	e->n++;
}

static void open_batch(struct store *s, void *ud) { (*(int *)ud)++; }

/* Replay from a revision: every change under the prefix, in order, with
 * types and previous values; committed subscribers hear of writes only at
 * store_commit(); after compaction the old revision is STORE_COMPACTED. */
static void test_history_commit_and_compaction(void **state)
{
	NEED_ETCD();
	struct store *s = *state;
	long long r0, r1, r2, r3;
	assert_int_equal(put(s, "core/configmaps/default/seed", 0, -1, &r0), STORE_OK);
	int opened = 0;
	store_set_batching(s, open_batch, &opened);
	struct evs *live = calloc(1, sizeof *live);
	store_subscribe_committed(s, record, live);
	assert_int_equal(put(s, "core/configmaps/default/a", 1, -1, &r1), STORE_OK);
	assert_int_equal(put(s, "core/secrets/default/hidden", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, r1, &r2), STORE_OK);
	assert_int_equal(store_delete(s, "core/configmaps/default/a", 0, &r3, NULL), STORE_OK);
	assert_int_equal(opened, 1);
	assert_true(store_in_batch(s));
	assert_int_equal(live->n, 0);
	assert_int_equal(store_commit(s), STORE_OK);
	assert_false(store_in_batch(s));
	assert_int_equal(live->n, 4);
	assert_true(live->rev[0] == r1 && live->rev[2] == r2 && live->rev[3] == r3);
	store_unsubscribe(s, record, live);
	store_set_batching(s, NULL, NULL);

	struct evs *e = calloc(1, sizeof *e);
	assert_int_equal(store_changes(s, r0, "core/configmaps/", record, e), STORE_OK);
	assert_int_equal(e->n, 3);
	assert_int_equal(e->type[0], STORE_ADDED);
	assert_false(e->had_prev[0]);
	assert_int_equal(e->type[1], STORE_MODIFIED);
	assert_true(e->had_prev[1]);
	assert_int_equal(e->v[1], 2);
	assert_int_equal(e->type[2], STORE_DELETED);
	assert_int_equal(e->v[2], 2); /* the last state, stamped with the delete's revision */
	assert_int_equal(e->rev[2], r3);
	memset(e, 0, sizeof *e);
	assert_int_equal(store_changes(s, r3, "core/", record, e), STORE_OK);
	assert_int_equal(e->n, 0);

	long long r4;
	assert_int_equal(put(s, "core/configmaps/default/after", 1, -1, &r4), STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	/* a batch's revisions are (B << 20) | n, B the etcd revision before its
	 * Txn: keep the etcd revisions from r4's Txn on, one after r3's */
	assert_int_equal(store_compact(s, etcd_revision() - ((r3 >> 20) + 1)), STORE_OK);
	assert_true(store_compacted(s) > r3 && store_compacted(s) < r4);
	memset(e, 0, sizeof *e);
	assert_int_equal(store_changes(s, r0, "core/", record, e), STORE_COMPACTED);
	assert_int_equal(store_changes(s, r3, "core/", record, e), STORE_COMPACTED);
	assert_int_equal(e->n, 0);
	assert_int_equal(store_changes(s, store_compacted(s), "core/", record, e), STORE_OK);
	assert_int_equal(e->n, 1);
	free(e);
	free(live);
}

/* With the live watch, changes() is answered from the hub's ring of recent
 * history, without asking etcd (here: while etcd is stopped), including
 * the history from before the watch started (read into the ring then). */
static void test_changes_from_memory(void **state)
{
	NEED_ETCD();
	struct store *s = *state;
	long long r0, r1, r2;
	assert_int_equal(put(s, "core/configmaps/default/old", 0, -1, &r0), STORE_OK);
	struct event_base *base = event_base_new();
	assert_int_equal(store_etcd_start_watch(s, base), 0);
	assert_int_equal(put(s, "core/configmaps/default/a", 1, -1, &r1), STORE_OK);
	assert_int_equal(put(s, "core/secrets/default/hidden", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/a", 2, r1, &r2), STORE_OK);
	assert_int_equal(store_revision(s), r2);

	kill(etcd_pid, SIGSTOP);
	struct evs *e = calloc(1, sizeof *e);
	int rc = store_changes(s, r0, "core/configmaps/", record, e);
	struct evs *e2 = calloc(1, sizeof *e2);
	int rc2 = store_changes(s, r1, "core/configmaps/", record, e2);
	kill(etcd_pid, SIGCONT);
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(e->n, 2);
	assert_true(e->type[0] == STORE_ADDED && e->rev[0] == r1 && e->v[0] == 1 && !e->had_prev[0]);
	assert_true(e->type[1] == STORE_MODIFIED && e->rev[1] == r2 && e->v[1] == 2 && e->had_prev[1]);
	assert_int_equal(rc2, STORE_OK);
	assert_true(e2->n == 1 && e2->rev[0] == r2);

	/* written before the live watch started: the ring was filled from
	 * etcd's history then, so this comes from memory too */
	memset(e, 0, sizeof *e);
	kill(etcd_pid, SIGSTOP);
	rc = store_changes(s, r0 - 1, "core/configmaps/", record, e);
	kill(etcd_pid, SIGCONT);
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(e->n, 3);
	assert_true(e->rev[0] == r0 && e->rev[1] == r1 && e->rev[2] == r2);
	free(e);
	free(e2);
	store_close(s);
	*state = NULL;
	event_base_free(base);
}

static void on_rolled_back(struct store *s, void *ud) { (*(int *)ud)++; }

/* A batch is one etcd Txn with a compare per key, split in order into
 * Txns of at most --max-txn-ops operations (here 6: 4 writes, m/last and
 * the guard compare) and where a key repeats; a compare that fails (another
 * writer changed a key the batch read) fails the Txn and rolls the rest of
 * the batch back. */
static void test_batch_is_one_txn(void **state)
{
	NEED_ETCD();
	char err[512] = "", prefix[64];
	snprintf(prefix, sizeof prefix, "/unit-batch-%d/", (int)getpid());
	struct etcd_options o = {.servers = url, .prefix = prefix, .max_txn_ops = 6, .quiet_ms = -1};
	struct store *s = store_open_etcd(&o, err, sizeof err);
	assert_non_null(s);
	int opened = 0, rolled = 0;
	store_set_batching(s, open_batch, &opened);
	store_subscribe_rollback(s, on_rolled_back, &rolled);
	struct evs *live = calloc(1, sizeof *live);
	store_subscribe_committed(s, record, live);

	long long h0 = etcd_revision(), rv[10];
	char key[64];
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof key, "core/configmaps/default/c%d", i);
		assert_int_equal(put(s, key, i, -1, &rv[i]), STORE_OK);
		if (i)
			assert_true(rv[i] == rv[i - 1] + 1);
	}
	assert_int_equal(opened, 1);
	assert_int_equal(etcd_revision(), h0); /* nothing sent yet */
	char *v = NULL;
	assert_int_equal(store_get(s, "core/configmaps/default/c3", &v, NULL), STORE_OK); /* read-your-writes */
	free(v);
	assert_int_equal(store_commit(s), STORE_OK);
	assert_int_equal(etcd_revision() - h0, 3); /* ceil(10 / 4) Txns */
	assert_true(s->head(s) == rv[9]); /* the newest revision made: none above it */
	assert_int_equal(live->n, 10);
	for (int i = 0; i < 10; i++)
		assert_true(live->rev[i] == rv[i] && live->type[i] == STORE_ADDED);

	/* a key twice in a batch: two Txns */
	memset(live, 0, sizeof *live);
	h0 = etcd_revision();
	long long a1, a2;
	assert_int_equal(put(s, "core/configmaps/default/c0", 10, rv[0], &a1), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/c0", 11, a1, &a2), STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	assert_int_equal(etcd_revision() - h0, 2);
	assert_true(live->n == 2 && live->rev[1] == a2 && live->v[1] == 11);

	/* another hub changes c5 behind this one's back: the batch that read
	 * it fails as a whole, and nothing of it is in etcd */
	struct etcd_options ob = {.servers = url, .prefix = prefix};
	struct store *b = store_open_etcd(&ob, err, sizeof err);
	assert_non_null(b);
	assert_int_equal(put(b, "core/configmaps/default/c5", 50, rv[5], NULL), STORE_OK);
	memset(live, 0, sizeof *live);
	h0 = etcd_revision();
	assert_int_equal(put(s, "core/configmaps/default/new", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/c5", 51, rv[5], NULL), STORE_OK); /* its copy is behind */
	assert_int_equal(store_commit(s), STORE_ERROR);
	assert_int_equal(rolled, 1);
	assert_int_equal(live->n, 0);
	assert_int_equal(etcd_revision() - h0, 0);
	assert_int_equal(store_get(s, "core/configmaps/default/new", NULL, NULL), STORE_NOT_FOUND);
	store_close(b);
	b = store_open_etcd(&ob, err, sizeof err);
	assert_int_equal(store_get(b, "core/configmaps/default/new", NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_get(b, "core/configmaps/default/c5", &v, NULL), STORE_OK);
	assert_non_null(strstr(v, "\"v\":50"));
	free(v);
	store_close(b);
	store_unsubscribe(s, record, live);
	store_unsubscribe_rollback(s, on_rolled_back, &rolled);
	free(live);
	store_close(s);
}

/* Two stores on one prefix, as two hubs: s batches (counting the batches
 * it opens and rolls back) and follows etcd's watch on base; b writes on
 * its own. quiet_ms as in struct etcd_options. */
struct two_hubs {
	struct etcd_options o;
	struct store *s, *b;
	struct event_base *base;
	int opened, rolled;
};

static void two_hubs_open(struct two_hubs *t, const char *prefix, int quiet_ms)
{
	char err[512] = "";
	*t = (struct two_hubs){.o = {.servers = url, .prefix = prefix, .quiet_ms = quiet_ms}};
	t->s = store_open_etcd(&t->o, err, sizeof err);
	t->b = store_open_etcd(&t->o, err, sizeof err);
	assert_non_null(t->s);
	assert_non_null(t->b);
	t->base = event_base_new();
	assert_int_equal(store_etcd_start_watch(t->s, t->base), 0);
	store_set_batching(t->s, open_batch, &t->opened);
	store_subscribe_rollback(t->s, on_rolled_back, &t->rolled);
}

/* Another hub writes a key this hub's open batch wrote too, and the live
 * watch shows it before the batch commits: the batch fails on that key,
 * and the copy then has the other hub's write (not the state before the
 * batch). */
static void test_batch_rollback_keeps_other_writes(void **state)
{
	NEED_ETCD();
	char prefix[64];
	snprintf(prefix, sizeof prefix, "/unit-batch2-%d/", (int)getpid());
	struct two_hubs t;
	two_hubs_open(&t, prefix, -1);
	struct store *s = t.s, *b = t.b;
	struct event_base *base = t.base;
	long long rb = 0;
	assert_int_equal(put(s, "core/configmaps/default/k", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(b, "core/configmaps/default/k", 2, -1, &rb), STORE_OK);
	for (int i = 0; i < 500 && store_revision(s) < rb; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	assert_true(store_revision(s) >= rb);
	assert_int_equal(store_commit(s), STORE_ERROR);
	assert_int_equal(t.rolled, 1);
	char *v = NULL;
	long long r = 0;
	assert_int_equal(store_get(s, "core/configmaps/default/k", &v, &r), STORE_OK);
	assert_non_null(strstr(v, "\"v\":2"));
	assert_true(r == rb);
	free(v);
	store_unsubscribe_rollback(s, on_rolled_back, &t.rolled);
	store_close(s);
	store_close(b);
	event_base_free(base);
}

static void pump_until_v(struct event_base *base, struct store *s, const char *key, int want);

/* Another hub's Txn commits first and takes the revision this hub's open
 * batch guessed for its own write (both hubs guess the next etcd revision):
 * the live watch shows the other hub's write at that revision before the
 * batch is sent. It is not this hub's echo (another key, and the batch was
 * not sent): the copy has it, and keeps it when the batch, having lost its
 * revision, is rolled back. (An echo taken by revision alone lost it: the
 * copy never had the other hub's object; e2e test_two_hubs_writing_at_once
 * found it.) */
static void test_other_write_at_a_guessed_revision(void **state)
{
	NEED_ETCD();
	char prefix[64];
	snprintf(prefix, sizeof prefix, "/unit-guess-%d/", (int)getpid());
	struct two_hubs t;
	two_hubs_open(&t, prefix, -1);
	struct store *s = t.s, *b = t.b;
	struct event_base *base = t.base;
	/* s has seen etcd's newest revision; b batches too (a batch's writes
	 * are numbered from 1 within its revision) */
	assert_int_equal(put(b, "core/configmaps/default/warm", 1, -1, NULL), STORE_OK);
	pump_until_v(base, s, "core/configmaps/default/warm", 1);
	int b_opened = 0;
	store_set_batching(b, open_batch, &b_opened);
	long long rs = 0, rb = 0;
	assert_int_equal(put(s, "core/configmaps/default/mine", 1, -1, &rs), STORE_OK);
	assert_int_equal(put(b, "core/configmaps/default/theirs", 2, -1, &rb), STORE_OK);
	assert_int_equal(store_commit(b), STORE_OK);
	assert_true(rs == rb); /* the guess: the revision b's Txn got */
	for (int i = 0; i < 500 && store_revision(s) < rb; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	assert_true(store_revision(s) >= rb);
	char *v = NULL;
	assert_int_equal(store_get(s, "core/configmaps/default/theirs", &v, NULL), STORE_OK);
	assert_non_null(strstr(v, "\"v\":2"));
	free(v);
	/* the batch lost its revision: rolled back (its writes run again, each
	 * its own Txn, as the API server does); the other hub's write stays */
	assert_int_equal(store_commit(s), STORE_ERROR);
	assert_int_equal(t.rolled, 1);
	assert_int_equal(store_get(s, "core/configmaps/default/theirs", NULL, NULL), STORE_OK);
	assert_int_equal(store_get(s, "core/configmaps/default/mine", NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(put(s, "core/configmaps/default/mine", 1, -1, NULL), STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	pump_until_v(base, s, "core/configmaps/default/mine", 1);
	assert_int_equal(store_get(s, "core/configmaps/default/theirs", NULL, NULL), STORE_OK);
	store_unsubscribe_rollback(s, on_rolled_back, &t.rolled);
	store_close(s);
	store_close(b);
	event_base_free(base);
}

static void pump_until_v(struct event_base *base, struct store *s, const char *key, int want)
{
	for (int i = 0; i < 500; i++) {
		char *v = NULL;
		bool ok = store_get(s, key, &v, NULL) == STORE_OK;
		cJSON *o = ok ? cJSON_Parse(v) : NULL;
		int got = (int)json_get_num(o, "v", -1);
		cJSON_Delete(o);
		free(v);
		if (got == want)
			return;
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	fail_msg("%s never showed v=%d", key, want);
}

/* A batch longer than --max-txn-ops goes as several Txns (here 6
 * operations: 4 writes each). When a later one fails (another etcd client
 * changed a key it compares), what the earlier ones made stays and is the
 * same everywhere: reported as kept (the API server acknowledges what
 * depends only on it), told to committed subscribers, in the copy as in
 * etcd (with the etcd revision later writes compare), in the history; the
 * rest is nowhere. */
static void test_split_batch_later_txn_fails(void **state)
{
	NEED_ETCD();
	char err[512] = "", prefix[64], key[64];
	snprintf(prefix, sizeof prefix, "/unit-split-%d/", (int)getpid());
	struct etcd_options o = {.servers = url, .prefix = prefix, .max_txn_ops = 6, .quiet_ms = -1};
	struct store *s = store_open_etcd(&o, err, sizeof err);
	assert_non_null(s);
	struct event_base *base = event_base_new();
	assert_int_equal(store_etcd_start_watch(s, base), 0);
	int opened = 0, rolled = 0;
	store_set_batching(s, open_batch, &opened);
	store_subscribe_rollback(s, on_rolled_back, &rolled);
	long long rv0[8], rv[9];
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof key, "core/configmaps/default/c%d", i);
		assert_int_equal(put(s, key, i, -1, &rv0[i]), STORE_OK);
	}
	assert_int_equal(store_commit(s), STORE_OK);
	long long before = store_revision(s);
	struct evs *live = calloc(1, sizeof *live);
	store_subscribe_committed(s, record, live);

	/* Txn 1: c0..c3; Txn 2: c0 again (a key repeats), c4, c5, c6; Txn 3: c7 */
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof key, "core/configmaps/default/c%d", i);
		assert_int_equal(put(s, key, 10 + i, rv0[i], &rv[i]), STORE_OK);
	}
	assert_int_equal(put(s, "core/configmaps/default/c0", 20, rv[0], &rv[4]), STORE_OK);
	for (int i = 4; i < 8; i++) {
		snprintf(key, sizeof key, "core/configmaps/default/c%d", i);
		assert_int_equal(put(s, key, 10 + i, rv0[i], &rv[i + 1]), STORE_OK);
	}
	foreign_put(prefix, "core/configmaps/default/c5", 55); /* Txn 2 compares c5: it fails */
	assert_int_equal(store_commit(s), STORE_ERROR);
	assert_int_equal(rolled, 1);
	long long kept = -1;
	assert_true(s->failed_commit(s, &kept)); /* lost to another writer */
	assert_true(kept == rv[3]);
	assert_true(s->written(s) == rv[3]);
	assert_int_equal(live->n, 4); /* Txn 1, told at once */
	for (int i = 0; i < 4; i++)
		assert_true(live->rev[i] == rv[i] && live->v[i] == 10 + i);

	/* once the live watch shows the other client's write, the copy is
	 * what etcd has, as another hub (or a restarted one) reads it */
	pump_until_v(base, s, "core/configmaps/default/c5", 55);
	int want[8] = {10, 11, 12, 13, 4, 55, 6, 7};
	struct etcd_options ob = {.servers = url, .prefix = prefix};
	struct store *b = store_open_etcd(&ob, err, sizeof err);
	assert_non_null(b);
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof key, "core/configmaps/default/c%d", i);
		char *v1 = NULL, *v2 = NULL;
		long long r1 = 0, r2 = 0;
		assert_int_equal(store_get(s, key, &v1, &r1), STORE_OK);
		assert_int_equal(store_get(b, key, &v2, &r2), STORE_OK);
		assert_string_equal(v1, v2);
		assert_true(r1 == r2);
		cJSON *j = cJSON_Parse(v1);
		assert_int_equal((int)json_get_num(j, "v", -1), want[i]);
		cJSON_Delete(j);
		free(v1);
		free(v2);
	}
	store_close(b);

	/* the history: Txn 1's writes, then the other client's; nothing of the rest */
	struct evs *h = calloc(1, sizeof *h);
	assert_int_equal(store_changes(s, before, "core/configmaps/", record, h), STORE_OK);
	assert_int_equal(h->n, 5);
	for (int i = 0; i < 4; i++)
		assert_true(h->rev[i] == rv[i] && h->v[i] == 10 + i);
	assert_true(h->v[4] == 55 && h->rev[4] > rv[3]);
	assert_int_equal(live->n, 5);

	/* c0 was written by Txn 1 and by the failed Txn 2: the copy went back
	 * to Txn 1's write with its etcd revision, so a later batch compares
	 * it and does not overwrite another client's write blindly */
	foreign_put(prefix, "core/configmaps/default/c0", 99);
	assert_int_equal(put(s, "core/configmaps/default/c0", 30, rv[0], NULL), STORE_OK); /* the copy is behind */
	assert_int_equal(store_commit(s), STORE_ERROR);
	b = store_open_etcd(&ob, err, sizeof err);
	char *v = NULL;
	assert_int_equal(store_get(b, "core/configmaps/default/c0", &v, NULL), STORE_OK);
	assert_non_null(strstr(v, "\"v\":99"));
	free(v);
	store_close(b);
	free(h);
	store_unsubscribe(s, record, live);
	store_unsubscribe_rollback(s, on_rolled_back, &rolled);
	free(live);
	store_close(s);
	event_base_free(base);
}

/* Several hubs write: a batch is still one Txn. One that loses to another
 * hub's write is rolled back whole and says so (failed_commit: lost to
 * another writer, nothing kept); the writes after it (the API server runs
 * the batch's requests again) are each their own Txn, and only a write
 * that really conflicts fails. */
static void test_batch_with_several_writers(void **state)
{
	NEED_ETCD();
	char err[512] = "", prefix[64], key[64];
	snprintf(prefix, sizeof prefix, "/unit-multi-%d/", (int)getpid());
	struct two_hubs t;
	two_hubs_open(&t, prefix, 0);
	struct store *s = t.s, *b = t.b;
	struct event_base *base = t.base;
	assert_int_equal(put(b, "core/configmaps/default/other", 1, -1, NULL), STORE_OK);
	pump_until_v(base, s, "core/configmaps/default/other", 1); /* s has seen another writer */

	long long h0 = etcd_revision(), rv[10];
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof key, "core/configmaps/default/k%d", i);
		assert_int_equal(put(s, key, i, -1, &rv[i]), STORE_OK);
	}
	assert_int_equal(etcd_revision(), h0); /* nothing sent before the commit */
	assert_int_equal(store_commit(s), STORE_OK);
	assert_int_equal(etcd_revision() - h0, 1); /* one Txn */

	/* b writes k1 while s's batch is open: s's batch loses */
	assert_int_equal(put(s, "core/configmaps/default/k0", 100, rv[0], NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/new", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(b, "core/configmaps/default/k1", 50, 0, NULL), STORE_OK);
	assert_int_equal(store_commit(s), STORE_ERROR);
	assert_int_equal(t.rolled, 1);
	long long kept = -1;
	assert_true(s->failed_commit(s, &kept));
	assert_true(kept == 0);
	assert_int_equal(store_get(s, "core/configmaps/default/new", NULL, NULL), STORE_NOT_FOUND);

	/* run again: a Txn per write as it is made; k1's stale revision is the
	 * one conflict, k0 and the create go through */
	h0 = etcd_revision();
	assert_int_equal(put(s, "core/configmaps/default/new", 1, -1, NULL), STORE_OK);
	assert_int_equal(etcd_revision() - h0, 1); /* made already */
	assert_int_equal(put(s, "core/configmaps/default/k1", 7, rv[1], NULL), STORE_CONFLICT);
	assert_int_equal(put(s, "core/configmaps/default/k0", 100, rv[0], NULL), STORE_OK);
	assert_int_equal(store_commit(s), STORE_OK);
	store_close(b);
	b = store_open_etcd(&t.o, err, sizeof err); /* what etcd has */
	char *v = NULL;
	assert_int_equal(store_get(b, "core/configmaps/default/k0", &v, NULL), STORE_OK);
	assert_non_null(strstr(v, "\"v\":100"));
	free(v);
	assert_int_equal(store_get(b, "core/configmaps/default/k1", &v, NULL), STORE_OK);
	assert_non_null(strstr(v, "\"v\":50"));
	free(v);
	assert_int_equal(store_get(b, "core/configmaps/default/new", NULL, NULL), STORE_OK);
	store_unsubscribe_rollback(s, on_rolled_back, &t.rolled);
	store_close(s);
	store_close(b);
	event_base_free(base);
}

static void on_fenced(void *ud) { (*(int *)ud)++; }

/* Two stores share a prefix (two hubs); a fence on one key stops a's
 * writes once b changed that key, and a's own write of the key moves it. */
static void test_shared_prefix_and_fencing(void **state)
{
	NEED_ETCD();
	char err[512] = "", prefix[64];
	snprintf(prefix, sizeof prefix, "/unit-fence-%d/", (int)getpid());
	struct etcd_options o = {.servers = url, .prefix = prefix};
	struct store *a = store_open_etcd(&o, err, sizeof err);
	assert_non_null(a);
	struct store *b = store_open_etcd(&o, err, sizeof err);
	if (!b)
		fail_msg("%s", err);
	long long lr, lr2;
	assert_int_equal(put(a, "coordination.k8s.io/leases/kube-system/l", 1, -1, &lr), STORE_OK);
	int fenced = 0;
	store_etcd_set_fence(a, "coordination.k8s.io/leases/kube-system/l", lr, on_fenced, &fenced);
	assert_int_equal(put(a, "core/configmaps/default/x", 1, -1, NULL), STORE_OK);
	/* a renews its own lease: the fence follows */
	assert_int_equal(put(a, "coordination.k8s.io/leases/kube-system/l", 2, lr, &lr2), STORE_OK);
	assert_int_equal(put(a, "core/configmaps/default/y", 1, -1, NULL), STORE_OK);
	assert_int_equal(fenced, 0);
	/* b takes the lease over: a can no longer write */
	assert_int_equal(put(b, "coordination.k8s.io/leases/kube-system/l", 3, lr2, NULL), STORE_OK);
	assert_int_equal(put(a, "core/configmaps/default/z", 1, -1, NULL), STORE_ERROR);
	assert_int_equal(fenced, 1);
	assert_int_equal(put(b, "core/configmaps/default/z", 1, -1, NULL), STORE_OK);
	store_etcd_set_fence(a, NULL, 0, NULL, NULL);
	assert_int_equal(put(a, "core/configmaps/default/w", 1, -1, NULL), STORE_OK);
	store_close(a);
	store_close(b);
}

/* Every blocking call reuses one kept-alive connection: writes, reads and
 * batch Txns open none after the first, and a replay of history from etcd
 * (a watch ended early) does not close the connection the Txns use. */
static void test_calls_reuse_one_connection(void **state)
{
	NEED_ETCD();
	struct store *s = *state;
	struct etcd_stats a, b;
	long long r0;
	assert_int_equal(put(s, "core/configmaps/default/k0", 0, -1, &r0), STORE_OK);
	store_etcd_stats(s, &a);
	assert_true(a.calls > 0 && a.connects >= 1);
	char key[64];
	for (int i = 1; i <= 20; i++) {
		snprintf(key, sizeof key, "core/configmaps/default/k%d", i);
		assert_int_equal(put(s, key, i, -1, NULL), STORE_OK);
	}
	int opened = 0;
	store_set_batching(s, open_batch, &opened);
	for (int i = 21; i <= 30; i++) {
		snprintf(key, sizeof key, "core/configmaps/default/k%d", i);
		assert_int_equal(put(s, key, i, -1, NULL), STORE_OK);
	}
	assert_int_equal(store_commit(s), STORE_OK);
	store_set_batching(s, NULL, NULL);
	store_etcd_stats(s, &b);
	assert_true(b.txns - a.txns == 21);
	assert_true(b.connects == a.connects);
	/* every Txn over gRPC, on one kept HTTP/2 (h2c) connection */
	assert_int_equal(b.grpc_txns, b.txns);
	assert_int_equal(b.grpc_connects, 1);
	assert_true(b.bytes_sent > a.bytes_sent && b.us_total >= a.us_total);

	/* history from etcd (no live watch here): its own connection, once */
	struct evs *e = calloc(1, sizeof *e);
	assert_int_equal(store_changes(s, r0, "core/configmaps/default/k3", record, e), STORE_OK);
	assert_int_equal(e->n, 2); /* k3 and k30 */
	free(e);
	store_etcd_stats(s, &a);
	assert_true(a.connects <= b.connects + 1);
	assert_int_equal(put(s, "core/configmaps/default/k31", 31, -1, NULL), STORE_OK);
	assert_int_equal(put(s, "core/configmaps/default/k32", 32, -1, NULL), STORE_OK);
	store_etcd_stats(s, &b);
	assert_true(b.connects == a.connects);
}

/* Txns over gRPC and through the JSON gateway (--etcd-api json) are the
 * same Txns: two stores on one prefix, one each way, see each other's
 * writes and lose a compare to each other (CAS per key, the failure
 * branch's ranges read back on both paths). */
static void test_grpc_and_gateway_share_a_prefix(void **state)
{
	NEED_ETCD();
	char err[512] = "", prefix[64];
	snprintf(prefix, sizeof prefix, "/unit-api-%d/", (int)getpid());
	struct etcd_options og = {.servers = url, .prefix = prefix};
	struct etcd_options oj = {.servers = url, .prefix = prefix, .json_txn = true};
	struct store *g = store_open_etcd(&og, err, sizeof err);
	assert_non_null(g);
	long long r1, r2, r3;
	assert_int_equal(put(g, "core/configmaps/default/x", 1, -1, &r1), STORE_OK);
	struct store *j = store_open_etcd(&oj, err, sizeof err);
	if (!j)
		fail_msg("%s", err);
	char *v = NULL;
	assert_int_equal(store_get(j, "core/configmaps/default/x", &v, NULL), STORE_OK);
	assert_non_null(strstr(v, "\"v\":1"));
	free(v);
	assert_int_equal(put(j, "core/configmaps/default/x", 2, r1, &r2), STORE_OK);
	/* g's copy is behind (no live watch here): its compare fails in etcd, it
	 * learns the new object from the failure branch's range: a conflict */
	assert_int_equal(put(g, "core/configmaps/default/x", 3, r1, NULL), STORE_CONFLICT);
	assert_int_equal(store_get(g, "core/configmaps/default/x", &v, &r3), STORE_OK);
	assert_non_null(strstr(v, "\"v\":2"));
	assert_int_equal(r3, r2);
	free(v);
	assert_int_equal(put(g, "core/configmaps/default/x", 3, r2, &r3), STORE_OK);
	/* and the other way round */
	assert_int_equal(put(j, "core/configmaps/default/x", 4, r2, NULL), STORE_CONFLICT);
	assert_int_equal(put(j, "core/configmaps/default/x", 4, r3, NULL), STORE_OK);
	/* a create on both sides: the second one finds it */
	assert_int_equal(put(g, "core/configmaps/default/y", 1, -1, NULL), STORE_OK);
	assert_int_equal(put(j, "core/configmaps/default/y", 1, -1, NULL), STORE_EXISTS);
	assert_int_equal(store_delete(j, "core/configmaps/default/y", 0, NULL, NULL), STORE_OK);
	assert_int_equal(store_delete(g, "core/configmaps/default/y", 0, NULL, NULL), STORE_NOT_FOUND);
	struct etcd_stats sg, sj;
	store_etcd_stats(g, &sg);
	store_etcd_stats(j, &sj);
	assert_true(sg.grpc_txns >= 4 && sg.grpc_txns == sg.txns);
	assert_int_equal(sg.grpc_connects, 1);
	assert_true(sj.txns >= 3);
	assert_int_equal(sj.grpc_txns, 0);
	store_close(g);
	store_close(j);
}

/* etcd refuses a Txn over its request limit (--max-request-bytes, 1.5 MiB:
 * gRPC status 3; over gRPC's own message limit, 2 MiB: status 8): the write
 * fails, nothing is stored, and the next Txns go on the same connection. */
static void test_grpc_refused_txn(void **state)
{
	NEED_ETCD();
	struct store *s = *state;
	assert_int_equal(put(s, "core/configmaps/default/a", 1, -1, NULL), STORE_OK);
	static const size_t sizes[] = {1700u << 10, 3u << 20};
	for (size_t i = 0; i < 2; i++) {
		char *big = malloc(sizes[i] + 1);
		memset(big, 'x', sizes[i]);
		big[sizes[i]] = '\0';
		cJSON *o = cJSON_CreateObject();
		json_set_str(json_ensure_obj(o, "metadata"), "name", "big");
		json_set_str(o, "v", big);
		free(big);
		assert_int_equal(store_put(s, "core/configmaps/default/big", o, -1, NULL, NULL), STORE_ERROR);
		cJSON_Delete(o);
		char *v = NULL;
		assert_int_equal(store_get(s, "core/configmaps/default/big", &v, NULL), STORE_NOT_FOUND);
		assert_int_equal(put(s, "core/configmaps/default/a", 2 + (int)i, 0, NULL), STORE_OK);
	}
	struct etcd_stats st;
	store_etcd_stats(s, &st);
	assert_int_equal(st.grpc_txns, st.txns);
	assert_int_equal(st.grpc_connects, 1);
}

static void test_unreachable_is_reported(void **state)
{
	char err[512] = "";
	struct etcd_options o = {.servers = "http://127.0.0.1:1"};
	assert_null(store_open_etcd(&o, err, sizeof err));
	assert_non_null(strstr(err, "cannot reach etcd"));
	o.servers = "127.0.0.1:2379";
	assert_null(store_open_etcd(&o, err, sizeof err));
	assert_non_null(strstr(err, "http://"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revisions_and_conditions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_pages_and_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_commit_and_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_from_memory, setup, teardown),
		cmocka_unit_test(test_batch_is_one_txn),
		cmocka_unit_test(test_batch_rollback_keeps_other_writes),
		cmocka_unit_test(test_other_write_at_a_guessed_revision),
		cmocka_unit_test(test_split_batch_later_txn_fails),
		cmocka_unit_test(test_batch_with_several_writers),
		cmocka_unit_test(test_shared_prefix_and_fencing),
		cmocka_unit_test_setup_teardown(test_calls_reuse_one_connection, setup, teardown),
		cmocka_unit_test(test_grpc_and_gateway_share_a_prefix),
		cmocka_unit_test_setup_teardown(test_grpc_refused_txn, setup, teardown),
		cmocka_unit_test(test_unreachable_is_reported),
	};
	return cmocka_run_group_tests(tests, start_etcd, stop_etcd);
}
