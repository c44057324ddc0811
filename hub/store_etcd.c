/* etcd backend of the store (store.h), through etcd's v3 JSON gateway
 * (/v3/kv/range, /v3/watch, /v3/kv/put; keys and values base64) with
 * libcurl, and Txns through etcd's gRPC server (/etcdserverpb.KV/Txn over
 * HTTP/2, protobuf-c: "Txns over gRPC" below) or, with --etcd-api json,
 * the gateway's /v3/kv/txn. Debian's etcd-server 3.4 serves both on its
 * client port.
 *
 * Layout under the prefix P (default "/atoll/"):
 *   P "r/" <store key>  the object, compact JSON (with resourceVersion when
 *                       written by a batch Txn; else it is mod_revision
 *                       << RV_SHIFT, stamped on read)
 *   P "m/last"          put by every Txn of a hub: "" (a write alone), or
 *                       the revision of a batch Txn's last object write
 *   P "m/compacted"     the compaction point a hub asked etcd for
 *
 * Revisions. etcd gives a Txn one revision; a batch holds many writes,
 * each with its own resourceVersion that later writes of the batch read
 * back before the Txn is sent. So a write alone has M << RV_SHIFT (M its
 * Txn's etcd revision, known when put returns), and a batch's writes have
 * (B << RV_SHIFT) | n: B the newest etcd revision this hub had seen when
 * the batch began, necessarily below the Txn's, n the write's place. A
 * batch Txn compares m/last's mod_revision with the one seen then (no hub
 * wrote in between, so its revisions fall in etcd's order) and puts
 * m/last = its last revision, from which every hub numbers the Txn's
 * events in its watch (the events of one etcd revision are one Txn, in
 * operation order). A write by another etcd client is M << RV_SHIFT.
 *
 * Guarantees, as with SQLite:
 *   - every key a Txn writes is compared with what the hub read (its
 *     mod_revision, or create_revision 0 when absent): optimistic
 *     concurrency against every other writer of the etcd cluster;
 *   - a batch is acknowledged only once etcd answered its Txn(s), i.e.
 *     once committed by the raft quorum and in its WAL;
 *   - changes() replays from the ring of recent history this hub
 *     delivered (filled from etcd's history when the live watch starts);
 *     older than the ring, or compacted, is STORE_COMPACTED (without the
 *     live watch: from etcd's history, a watch from (since >> RV_SHIFT) + 1);
 *   - compaction is scheduled by the API server exactly as for SQLite
 *     (every 1000 writes, keeping --history etcd revisions).
 *
 * Group commit. With batching on, a batch is one Txn, sent at
 * store_commit() (commit_batch): split in order at max_ops, at TXN_BYTES
 * of values and where a key repeats, each part chained to the previous
 * one through m/last, so a batch is atomic per part. A failed compare
 * rolls the rest back (undo_batch) and says what stands (failed_commit:
 * the parts committed, and whether it lost to another writer, in which
 * case the API server runs the batch's requests again). For a while after
 * a lost batch (LOST_MS, doubling while batches keep losing) each write
 * is its own Txn at put/del (txn_now: compares on its key and the fence
 * only, so busy hubs do not collide on m/last), retried after learning
 * what another writer did, and the batch is kept only for delivery
 * (committed subscribers at store_commit(), in revision order).
 *
 * Blocking. The store interface is synchronous (objects.c and the
 * controllers read their own writes at once), so requests are blocking
 * curl_easy calls on the event loop. On loopback or a LAN a round trip is
 * well under a millisecond plus etcd's fsync; a slow or partitioned etcd
 * stalls the hub for up to the request timeout (10 s), after which the
 * next endpoint is tried. */
#include "etcd_grpc.h"
#include "numparse.h"
#include "store.h"
#include "store_etcd.h"

#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <mbedtls/base64.h>

#include "httpclient.h"
#include "jsonutil.h"
#include "log.h"
#include "timefmt.h"

#define ETCD_TIMEOUT_MS 10000L
#define ETCD_CONNECT_TIMEOUT_MS 2000L
#define ETCD_PAGE 500
/* After every endpoint failed, calls fail at once for this long: a hub cut
 * off etcd does not block its loop for 3 x 10 s on every write. */
#define ETCD_DOWN_MS 2000
/* After falling back to the JSON gateway (no gRPC answer at the first Txn), how long before gRPC is tried again. */
#define ETCD_GRPC_RETRY_MS 60000
/* The ring of recent committed events changes() answers from: long enough
 * for an agent or watcher a few rounds behind, small enough to keep. */
#define RING_MAX 16384
#define RING_BYTES (48u << 20)

struct pending {
	long long after; /* the object write before it under the prefix (m/last's previous revision) */
	long long rev;
	enum store_event_type type;
	char *key, *value, *prev;
};

struct etcd_store {
	struct store base;
	CURL *curl;
	char **endpoints;
	int nendpoints, cur;
	char *cafile, *certfile, *keyfile;
	char prefix[256];
	long long rev;       /* newest revision seen */
	long long compacted;
	bool in_batch;
	struct pending *pend;
	int npend, pcap;
	char err[512];
	long long down_until;       /* ms (monotonic): calls fail at once until then */
	/* The live watch (store_etcd_start_watch): every change under P, from
	 * every hub, in revision order, feeds the copy and the committed
	 * subscribers. */
	bool streaming;
	long long drev;             /* newest revision delivered to committed subscribers */
	long long wrev;             /* newest revision the stream has shown */
	struct event_base *loop;
	struct http_client *hc;
	struct http_call *wcall;
	struct event *retry_ev, *drain_ev;
	struct buf *wline;          /* the stream's bytes not yet split into messages */
	char **wmsgs;               /* whole messages, waiting for drain_ev */
	int nwmsgs, wmcap;
	struct own {
		char *key;
		long long rev;
		/* In the open batch, not yet sent: its revision is only a guess
		 * (another hub's Txn may take it first), so no event from the
		 * stream is this write's echo yet (et_commit clears it). */
		bool open;
	} *own;                     /* this hub's writes the stream has not shown yet */
	int nown, owncap;
	/* Fencing (store_etcd_set_fence): every write compares this key's
	 * mod_revision. */
	char *fence_key;
	long long fence_rv;         /* the revision of the key the fence stands for */
	void (*fence_lost)(void *ud);
	void *fence_ud;
	bool lost;
	/* Revisions ("Revisions" above): m/last as this hub last knew it. */
	char *last_val;             /* its value (NULL: absent) */
	long long last_mod;         /* its mod_revision */
	long long lrev;             /* the newest revision this hub made or delivered */
	long long other_at;         /* when another writer's change was last seen (ms, monotonic) */
	long long wlast;            /* the newest revision this hub wrote (committed or in the open batch) */
	long long solo_until;       /* after a batch lost to another writer: a Txn per write until then (ms) */
	long long lost_ms;          /* how long that is: doubles while batches keep losing */
	long long fail_kept;        /* after a failed commit: its last committed write (0: none) */
	bool fail_retry;            /* and it lost to another writer (store.h failed_commit) */
	long long list_mod;         /* remote_list: the item's mod_revision */
	int max_ops;
	long long quiet_ms;
	/* The open batch when it is one Txn ("Group commit" above). */
	bool bmode, bfenced;
	long long b_base, b_after, b_lrev0, b_wlast0, b_fence_mod, b_guard_mod;
	int bk;
	bool b_lost; /* a Txn of the batch failed its compares (not etcd unreachable) */
	bool b_guard; /* m/last existed when the batch began (at b_guard_mod) */
	struct bop {
		char *key, *value;  /* value: the stored form; NULL: a delete */
		long long rv;
		int cmp;            /* 0: none (written before in this batch), 1: mod_revision cmp_mod, 2: absent */
		long long cmp_mod;
		bool had;           /* the copy's entry before this write, to undo it */
		char *old_value;
		long long old_rv, old_mod;
	} *bops;
	int nbops, bcap;
	/* The objects under P, as clients see them, sorted by key: kept by
	 * this hub's writes at once and by the stream for everyone's. */
	struct centry {
		char *key, *value;
		size_t len;
		long long rev;  /* the revision clients see */
		long long mod;  /* etcd's mod_revision; 0: written in the open batch */
	} *cv;
	size_t cn, ccap;
	bool cached;
	/* The recent history this hub delivered (with the live watch), for
	 * changes(): every committed event with a revision above ring_from,
	 * oldest first, bounded by RING_MAX events and RING_BYTES bytes. */
	struct revent {
		long long rev;
		enum store_event_type type;
		char *key, *value, *prev;
	} *ring;
	size_t rhead, rn;           /* oldest at ring[rhead], rn entries, RING_MAX slots */
	size_t rbytes;
	long long ring_from;
	unsigned long ring_hits, ring_misses;
	CURL *hcurl;                /* history(): its own handle, so ending a watch early does not close
				     * the connection the Txns reuse */
	struct etcd_stats stats;
	/* Txns over gRPC ("Txns over gRPC" below) */
	CURL *gcurl;                /* their handle: one kept HTTP/2 connection */
	bool json_txn;              /* Txns through the gateway (--etcd-api json, or no gRPC there) */
	bool grpc_ok;               /* a gRPC Txn was answered */
	long long grpc_retry_at;    /* fell back to the gateway: gRPC tried again from then (now_ms) */
	int grpc_retry_ms;          /* ETCD_GRPC_RETRY_MS (ATOLL_ETCD_GRPC_RETRY_MS in tests) */
	bool fell_back;             /* it did once: later fallbacks logged at info */
	bool h2c_kept;              /* over http://: a kept h2c connection to reuse (libcurl 7.88) */
	int gcur;                   /* the endpoint h2c_kept is about */
};

static struct etcd_store *E(struct store *s) { return (struct etcd_store *)s; }

/* ---- base64 and JSON helpers ---------------------------------------------------------- */

/* Decoded bytes, NUL-terminated; *len their count. "" for NULL. */
static char *unb64(const char *text, size_t *len)
{
	size_t tl = text ? strlen(text) : 0, olen = 0;
	char *out = malloc(tl * 3 / 4 + 4);
	if (tl && mbedtls_base64_decode((unsigned char *)out, tl * 3 / 4 + 3, &olen, (const unsigned char *)text, tl) != 0) {
		free(out);
		return NULL;
	}
	out[olen] = '\0';
	if (len)
		*len = olen;
	return out;
}


/* The key one past every key with this prefix. */
static char *range_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *e = strdup(prefix);
	while (n > 0) {
		if ((unsigned char)e[n - 1] < 0xff) {
			e[n - 1]++;
			e[n] = '\0';
			return e;
		}
		n--;
	}
	e[0] = '\0';
	return e;
}

static void set_rv(cJSON *obj, long long rev)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", rev);
	json_set_str(json_ensure_obj(obj, "metadata"), "resourceVersion", buf);
}

/* Revisions: (B << RV_SHIFT) | k, see "Revisions" above. */
#define RV_SHIFT 20
#define RV_MAXK ((1 << RV_SHIFT) - 1)
/* A Txn's values stay under this many bytes (etcd refuses requests over
 * --max-request-bytes, 1.5 MiB by default); a larger value goes alone. */
#define TXN_BYTES (1u << 20)

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A stored value as clients see it, with its revision in *rv_out: rv, or
 * (rv 0) the one it carries, or main_rev << RV_SHIFT if it carries none
 * (written by another etcd client). */
static char *restamp(const char *value, size_t len, long long main_rev, long long rv, long long *rv_out)
{
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (!rv) {
		long long r = 0;
		const char *t = cJSON_IsObject(o) ? json_get_str(o, "metadata.resourceVersion") : NULL;
		rv = t && num_parse_ll(t, 1, LLONG_MAX, &r) == 0 && (r >> RV_SHIFT) < main_rev ? r : main_rev << RV_SHIFT;
	}
	if (rv_out)
		*rv_out = rv;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return strndup(value, len);
	}
	set_rv(o, rv);
	char *out = json_print(o);
	cJSON_Delete(o);
	return out;
}

/* The revision of the last object write of the Txn that left m/last with
 * value v at mod (0 when absent; mod << RV_SHIFT for an older hub's ""). */
static long long last_rv(const char *v, long long mod)
{
	long long r = 0;
	if (!v)
		return 0;
	return num_parse_ll(v, 1, LLONG_MAX, &r) == 0 ? r : mod << RV_SHIFT;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

struct buf {
	char *data;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	buf_add(ud, p, size * n);
	return size * n;
}

/* What every transfer to etcd sets, gateway or gRPC: its time limits, no
 * signals, no Nagle, the TLS client files. */
static void set_transfer_opts(struct etcd_store *e, CURL *c, long timeout_ms)
{
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ETCD_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	if (e->cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cafile);
	if (e->certfile)
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->certfile);
	if (e->keyfile)
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->keyfile);
}

/* Every request: keep-alive (curl_easy_reset keeps the handle's connection
 * cache, so consecutive calls reuse one connection: counted in stats), no
 * Nagle, and no "Expect: 100-continue", which libcurl adds to POST bodies
 * over 1 MiB (a batch Txn near TXN_BYTES of values is larger once base64):
 * it costs a round trip, or up to a second with a server or proxy that
 * does not answer it. */
static void setup_request(struct etcd_store *e, CURL *c, const char *path, const char *body, curl_write_callback fn,
			  void *ud, long timeout_ms)
{
	char url[1024];
	snprintf(url, sizeof url, "%s%s", e->endpoints[e->cur], path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fn);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ud);
	set_transfer_opts(e, c, timeout_ms);
	static struct curl_slist *hdrs;
	if (!hdrs)
		hdrs = curl_slist_append(curl_slist_append(NULL, "Content-Type: application/json"), "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
}

/* After a request on c: the counters of store_etcd_stats, and a line per
 * call at debug level (a slow one at warn). */
static void count_call(struct etcd_store *e, CURL *c, const char *path, size_t sent, long long t0)
{
	long conns = 0;
	curl_off_t got = 0;
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &got);
	long long us = time_mono_us() - t0;
	e->stats.calls++;
	e->stats.connects += (unsigned long)conns;
	e->stats.bytes_sent += sent;
	e->stats.us_total += (unsigned long long)us;
	if ((unsigned long long)us > e->stats.us_max)
		e->stats.us_max = (unsigned long long)us;
	if (strcmp(path, "/v3/kv/txn") == 0) {
		e->stats.txns++;
		e->stats.txn_us_total += (unsigned long long)us;
	}
	if (us >= 1000000)
		log_warn("store: etcd %s took %.0f ms (%zu bytes sent, %lld received%s)", path, us / 1000.0, sent,
			 (long long)got,
			 conns ? ", a new connection" : "");
	else if (log_get_level() <= LOG_DEBUG)
		log_debug("store: etcd %s: %.2f ms, %zu bytes sent, %lld received%s", path, us / 1000.0, sent,
			  (long long)got,
			  conns ? ", a new connection" : "");
}

/* A failure worth trying the next endpoint for: no answer at all, or an
 * answer from a member that cannot serve (no leader, stopping). */
static bool try_next(CURLcode rc, long status)
{
	if (rc == CURLE_OK)
		return status == 503 || status == 502;
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_SSL_CONNECT_ERROR;
}

/* POSTs body to path; the parsed answer, or NULL with e->err set. An
 * endpoint that does not answer is left for the next one. */
static cJSON *call(struct etcd_store *e, const char *path, cJSON *body)
{
	if (e->down_until && now_ms() < e->down_until) {
		snprintf(e->err, sizeof e->err, "etcd unreachable (every endpoint failed just now)");
		return NULL;
	}
	char *text = json_print(body);
	cJSON *out = NULL;
	int attempt = 0;
	for (; attempt < e->nendpoints; attempt++) {
		struct buf b = {0};
		setup_request(e, e->curl, path, text, on_body, &b, ETCD_TIMEOUT_MS);
		long long t0 = time_mono_us();
		CURLcode rc = curl_easy_perform(e->curl);
		count_call(e, e->curl, path, strlen(text), t0);
		long status = 0;
		curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
		if (rc == CURLE_OK && status == 200) {
			out = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
			if (!out)
				snprintf(e->err, sizeof e->err, "etcd %s: unreadable answer", e->endpoints[e->cur]);
			free(b.data);
			break;
		}
		if (rc != CURLE_OK)
			snprintf(e->err, sizeof e->err, "etcd %s%s: %s", e->endpoints[e->cur], path, curl_easy_strerror(rc));
		else
			snprintf(e->err, sizeof e->err, "etcd %s%s: HTTP %ld: %.300s", e->endpoints[e->cur], path, status,
				 b.data ? b.data : "");
		free(b.data);
		if (!try_next(rc, status))
			break;
		log_warn("store: %s; trying the next etcd endpoint", e->err);
		e->cur = (e->cur + 1) % e->nendpoints;
	}
	free(text);
	e->down_until = !out && attempt == e->nendpoints ? now_ms() + ETCD_DOWN_MS : 0;
	return out;
}

static void seen_rev(struct etcd_store *e, const cJSON *resp)
{
	long long r = etcd_json_num(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision");
	if (r > e->rev)
		e->rev = r;
}

static void seen_txn_rev(struct etcd_store *e, const etcd_txn_resp *r)
{
	long long rev = etcd_txn_resp_revision(r);
	if (rev > e->rev)
		e->rev = rev;
}

/* ---- Txns over gRPC --------------------------------------------------------------------
 * etcd's JSON gateway decodes a Txn's JSON and relays it to etcd's gRPC
 * server over a second loopback connection: most of a Txn's time, and
 * base64 costs the hub CPU (docs/benchmarks.md). So every Txn is built as
 * etcd's own TxnRequest (etcd_grpc.c, protobuf-c) and sent to the gRPC
 * server on the same client URL: POST /etcdserverpb.KV/Txn over HTTP/2
 * (h2c with prior knowledge for http://, h2 by ALPN for https://), one
 * message each way, grpc-status in the trailers. The answer is read as a
 * TxnResponse on both paths, so the code above is the same for both.
 *
 * One kept connection: libcurl 7.88 (Debian 12) fails every request after
 * the first on a kept h2c connection asked for with prior knowledge
 * (CURLE_HTTP2, "Error in the HTTP2 framing layer": on reuse it stacks a
 * second HTTP/2 layer on the connection, curl/curl#10634, fixed in 8.0 by
 * curl/curl#10643). So only a request that needs a new connection asks for
 * prior knowledge; one that should reuse the kept connection asks for
 * plain HTTP/2 (CURL_HTTP_VERSION_2_0), which reuses it as it is. If that
 * connection had gone (etcd restarted, a proxy closed it), libcurl opens a
 * new one with an HTTP/1.1 request (Upgrade: h2c): etcd serves that with
 * its HTTP/1 handler, which runs no Txn at this path, and the Txn is sent
 * again at once with prior knowledge.
 *
 * An endpoint that answers but not in gRPC (HTTP/1 only: a proxy that does
 * not pass HTTP/2) before any gRPC Txn succeeded turns gRPC off: Txns then
 * go through the gateway, with a warning (docs/operations.md). */

static CURL *grpc_handle(struct etcd_store *e)
{
	if (e->gcurl)
		return e->gcurl;
	CURL *c = e->gcurl = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, etcd_grpc_on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, etcd_grpc_on_header);
	set_transfer_opts(e, c, ETCD_TIMEOUT_MS);
	static struct curl_slist *hdrs;
	if (!hdrs)
		hdrs = curl_slist_append(
		    curl_slist_append(curl_slist_append(NULL, "Content-Type: application/grpc"), "TE: trailers"), "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	return c;
}

/* The handle goes, with every connection in its cache: a request asked
 * for with prior knowledge must never land on a cached connection (see
 * above), so before one that is not a reuse of the kept h2c connection,
 * whatever else the handle holds (another endpoint's, a broken or HTTP/1.1
 * one) is closed. */
static void grpc_drop(struct etcd_store *e)
{
	if (e->gcurl)
		curl_easy_cleanup(e->gcurl);
	e->gcurl = NULL;
	e->h2c_kept = false;
}

/* One Txn on the current endpoint. */
static enum etcd_grpc_result grpc_once(struct etcd_store *e, const unsigned char *msg, size_t len, etcd_txn_resp **out,
				       bool *transport)
{
	char url[1024], why[400];
	snprintf(url, sizeof url, "%s/etcdserverpb.KV/Txn", e->endpoints[e->cur]);
	bool tls = strncmp(url, "https:", 6) == 0;
	if (e->gcur != e->cur)
		grpc_drop(e);
	e->gcur = e->cur;
	enum etcd_grpc_result res = ETCD_GRPC_MALFORMED;
	*transport = false;
	for (int pass = 0; pass < 2; pass++) {
		bool reuse = !tls && e->h2c_kept;
		if (!tls && !reuse)
			grpc_drop(e);
		CURL *c = grpc_handle(e);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, msg);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
				 tls ? (long)CURL_HTTP_VERSION_2TLS
				     : reuse ? (long)CURL_HTTP_VERSION_2_0 : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
		struct etcd_grpc_answer a = {.status = -1};
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
		long long t0 = time_mono_us();
		CURLcode rc = curl_easy_perform(c);
		unsigned long conns0 = e->stats.connects;
		count_call(e, c, "/v3/kv/txn", len, t0);
		unsigned long opened = e->stats.connects - conns0;
		e->stats.grpc_connects += opened; /* counted apart from the gateway's */
		e->stats.connects = conns0;
		e->stats.grpc_txns++;
		long status = 0, ver = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &ver);
		if (rc != CURLE_OK) {
			etcd_grpc_answer_free(&a);
			if (rc == CURLE_HTTP2_STREAM && !tls)
				e->h2c_kept = true; /* this stream reset (a message over gRPC's limit): the connection is fine */
			else
				grpc_drop(e);
			snprintf(e->err, sizeof e->err, "etcd %s (gRPC Txn): %s", e->endpoints[e->cur], curl_easy_strerror(rc));
			if (pass == 0 && !opened && status == 0 &&
			    (rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
			     rc == CURLE_SEND_ERROR || rc == CURLE_HTTP2)) {
				/* a kept connection that had died unseen (etcd restarted, a
				 * proxy's idle timeout), nothing answered: once more on a
				 * new one, as libcurl itself does for HTTP/1 requests on a
				 * reused connection. Had etcd run the first one after all,
				 * its compares fail now: never applied twice. */
				log_info("store: %s on a kept connection; the Txn again on a new one", e->err);
				continue;
			}
			*transport = true;
			/* HTTP/2 refused at the first try (a server that speaks only HTTP/1.1): the gateway */
			if (!e->grpc_ok && opened &&
			    (rc == CURLE_HTTP2 || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_WEIRD_SERVER_REPLY ||
			     rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE))
				res = ETCD_GRPC_NOT_GRPC;
			else
				res = try_next(rc, 0) ? ETCD_GRPC_UNAVAILABLE : ETCD_GRPC_REFUSED;
			break;
		}
		bool h2 = ver == CURL_HTTP_VERSION_2_0;
		if (reuse && opened && !h2) {
			/* the kept h2c connection had gone: see above; not run by etcd */
			etcd_grpc_answer_free(&a);
			grpc_drop(e);
			log_debug("store: etcd %s: the kept HTTP/2 connection had closed; the Txn again on a new one", url);
			continue;
		}
		res = etcd_grpc_read(&a, h2, status, out, why, sizeof why);
		etcd_grpc_answer_free(&a);
		e->h2c_kept = !tls && h2;
		if (res == ETCD_GRPC_OK)
			e->grpc_ok = true;
		else
			snprintf(e->err, sizeof e->err, "etcd %s (gRPC Txn): %s", e->endpoints[e->cur], why);
		break;
	}
	return res;
}

static etcd_txn_resp *txn_json(struct etcd_store *e, const struct etcd_txn *t)
{
	cJSON *req = etcd_txn_json(t);
	cJSON *resp = call(e, "/v3/kv/txn", req);
	cJSON_Delete(req);
	if (!resp)
		return NULL;
	etcd_txn_resp *r = etcd_txn_resp_from_json(resp);
	cJSON_Delete(resp);
	if (!r)
		snprintf(e->err, sizeof e->err, "etcd %s/v3/kv/txn: unreadable answer", e->endpoints[e->cur]);
	return r;
}

/* Sends a Txn; its answer (succeeded or not), or NULL with e->err set (not
 * applied, or not known to be: etcd unreachable). An endpoint that does
 * not answer is left for the next one, as call() does. */
static etcd_txn_resp *call_txn(struct etcd_store *e, const struct etcd_txn *t)
{
	if (e->json_txn) {
		if (!e->grpc_retry_at || now_ms() < e->grpc_retry_at)
			return txn_json(e, t);
		e->json_txn = false; /* the fallback may have followed a moment's failure (etcd restarting): gRPC again */
		e->grpc_retry_at = 0;
	}
	if (e->down_until && now_ms() < e->down_until) {
		snprintf(e->err, sizeof e->err, "etcd unreachable (every endpoint failed just now)");
		return NULL;
	}
	size_t len = 0;
	unsigned char *msg = etcd_txn_grpc(t, &len);
	if (!msg) {
		snprintf(e->err, sizeof e->err, "a Txn too large to encode");
		return NULL;
	}
	etcd_txn_resp *out = NULL;
	int attempt = 0;
	enum etcd_grpc_result r = ETCD_GRPC_UNAVAILABLE;
	for (; attempt < e->nendpoints; attempt++) {
		bool transport = false;
		r = grpc_once(e, msg, len, &out, &transport);
		if (r != ETCD_GRPC_UNAVAILABLE)
			break;
		log_warn("store: %s; trying the next etcd endpoint", e->err);
		e->cur = (e->cur + 1) % e->nendpoints;
	}
	free(msg);
	if (r == ETCD_GRPC_NOT_GRPC && !e->grpc_ok) {
		/* the gateway for a while, if it answers (else etcd itself is
		 * unreachable now: gRPC again next time) */
		char why[sizeof e->err];
		snprintf(why, sizeof why, "%s", e->err);
		out = txn_json(e, t);
		if (out) {
			if (e->fell_back)
				log_info("store: %s: Txns through etcd's JSON gateway again", why);
			else
				log_warn("store: %s: Txns go through etcd's JSON gateway (a proxy that does not pass HTTP/2? "
					 "--etcd-api json says so at start); gRPC is tried again every %d s",
					 why, e->grpc_retry_ms / 1000);
			e->json_txn = e->fell_back = true;
			e->grpc_retry_at = now_ms() + e->grpc_retry_ms;
		}
		return out;
	}
	e->down_until = !out && attempt == e->nendpoints ? now_ms() + ETCD_DOWN_MS : 0;
	return out;
}

static char *ekey(struct etcd_store *e, const char *kind, const char *key)
{
	size_t n = strlen(e->prefix) + strlen(kind) + strlen(key) + 1;
	char *k = malloc(n);
	snprintf(k, n, "%s%s%s", e->prefix, kind, key);
	return k;
}

/* ---- reads ----------------------------------------------------------------------------- */

/* The raw value and mod_revision of an etcd key. */
static int raw_get(struct etcd_store *e, const char *k, char **value, size_t *len, long long *mod_rev)
{
	cJSON *req = cJSON_CreateObject();
	etcd_json_add_b64(req, "key", k, strlen(k));
	cJSON *resp = call(e, "/v3/kv/range", req);
	cJSON_Delete(req);
	if (!resp)
		return STORE_ERROR;
	seen_rev(e, resp);
	const cJSON *kv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp, "kvs"), 0);
	int rc = STORE_NOT_FOUND;
	if (kv) {
		rc = STORE_OK;
		if (mod_rev)
			*mod_rev = etcd_json_num(kv, "mod_revision");
		if (value) {
			*value = unb64(json_get_str(kv, "value"), len);
			if (!*value)
				rc = STORE_ERROR;
		}
	}
	cJSON_Delete(resp);
	return rc;
}

/* The value and mod_revision of an etcd key as of revision at. */
static int raw_get_at(struct etcd_store *e, const char *k, long long at, long long *mod_rev, char **value)
{
	cJSON *req = cJSON_CreateObject();
	etcd_json_add_b64(req, "key", k, strlen(k));
	etcd_json_add_num(req, "revision", at);
	cJSON *resp = call(e, "/v3/kv/range", req);
	cJSON_Delete(req);
	if (!resp)
		return STORE_ERROR;
	const cJSON *kv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp, "kvs"), 0);
	*mod_rev = kv ? etcd_json_num(kv, "mod_revision") : 0;
	if (kv && value)
		*value = unb64(json_get_str(kv, "value"), NULL);
	cJSON_Delete(resp);
	return kv ? STORE_OK : STORE_NOT_FOUND;
}

/* An object from etcd: its value as clients see it, revision and mod_revision. */
static int remote_get(struct etcd_store *e, const char *key, char **value, long long *rev, long long *mod)
{
	char *k = ekey(e, "r/", key), *raw = NULL;
	size_t len = 0;
	long long r = 0, rv = 0;
	int rc = raw_get(e, k, &raw, &len, &r);
	free(k);
	if (rc != STORE_OK) {
		free(raw);
		return rc;
	}
	char *v = restamp(raw, len, r, 0, &rv);
	if (value)
		*value = v;
	else
		free(v);
	if (rev)
		*rev = rv;
	if (mod)
		*mod = r;
	free(raw);
	return STORE_OK;
}

/* All keys under prefix at one revision, a page at a time. */
static int remote_list(struct store *s, const char *prefix, store_item_fn fn, void *ud, long long *rev)
{
	struct etcd_store *e = E(s);
	char *start = ekey(e, "r/", prefix);
	char *end = range_end(start);
	size_t strip = strlen(e->prefix) + 2;
	long long at = 0;
	int rc = STORE_OK;
	bool more = true, stop = false;
	while (more && !stop) {
		cJSON *req = cJSON_CreateObject();
		etcd_json_add_b64(req, "key", start, strlen(start));
		etcd_json_add_b64(req, "range_end", end, strlen(end));
		etcd_json_add_num(req, "limit", ETCD_PAGE);
		if (at)
			etcd_json_add_num(req, "revision", at);
		cJSON *resp = call(e, "/v3/kv/range", req);
		cJSON_Delete(req);
		if (!resp) {
			rc = STORE_ERROR;
			break;
		}
		if (!at) {
			at = etcd_json_num(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision");
			seen_rev(e, resp);
			if (rev)
				*rev = at;
		}
		more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "more"));
		const cJSON *kv;
		char *last = NULL;
		cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(resp, "kvs"))
		{
			size_t kl = 0, vl = 0;
			char *k = unb64(json_get_str(kv, "key"), &kl);
			char *v = unb64(json_get_str(kv, "value"), &vl);
			if (!k || !v || kl < strip) {
				free(k);
				free(v);
				continue;
			}
			long long mr = etcd_json_num(kv, "mod_revision"), rv = 0;
			char *val = restamp(v, vl, mr, 0, &rv);
			e->list_mod = mr;
			stop = fn(k + strip, val, strlen(val), rv, ud) != 0;
			free(val);
			free(v);
			free(last);
			last = k;
			if (stop)
				break;
		}
		if (more && last) {
			/* the next page starts just after the last key */
			size_t n = strlen(last);
			free(start);
			start = malloc(n + 2);
			memcpy(start, last, n);
			start[n] = '\0';
			start[n + 1] = '\0';
			/* "\0" cannot be sent in a C string: append the lowest byte
			 * that sorts after the key instead, \x01 (keys never hold it). */
			start[n] = '\x01';
		} else {
			more = false;
		}
		free(last);
		cJSON_Delete(resp);
	}
	free(start);
	free(end);
	return rc;
}

/* ---- the object cache ------------------------------------------------------------------ */

/* Index of the first entry >= key. */
static size_t cache_lower(struct etcd_store *e, const char *key)
{
	size_t lo = 0, hi = e->cn;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(e->cv[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct centry *cache_find(struct etcd_store *e, const char *key)
{
	size_t i = cache_lower(e, key);
	return i < e->cn && strcmp(e->cv[i].key, key) == 0 ? &e->cv[i] : NULL;
}

/* value as clients see it (stamped); taken over. */
static void cache_set(struct etcd_store *e, const char *key, char *value, long long rev, long long mod)
{
	size_t i = cache_lower(e, key);
	if (i < e->cn && strcmp(e->cv[i].key, key) == 0) {
		free(e->cv[i].value);
	} else {
		if (e->cn == e->ccap) {
			e->ccap = e->ccap ? e->ccap * 2 : 256;
			e->cv = realloc(e->cv, e->ccap * sizeof *e->cv);
		}
		memmove(&e->cv[i + 1], &e->cv[i], (e->cn - i) * sizeof *e->cv);
		e->cn++;
		e->cv[i].key = strdup(key);
	}
	e->cv[i].value = value;
	e->cv[i].len = strlen(value);
	e->cv[i].rev = rev;
	e->cv[i].mod = mod;
}

static void cache_del(struct etcd_store *e, const char *key)
{
	size_t i = cache_lower(e, key);
	if (i >= e->cn || strcmp(e->cv[i].key, key) != 0)
		return;
	free(e->cv[i].key);
	free(e->cv[i].value);
	memmove(&e->cv[i], &e->cv[i + 1], (e->cn - i - 1) * sizeof *e->cv);
	e->cn--;
}

static void cache_free(struct etcd_store *e)
{
	for (size_t i = 0; i < e->cn; i++) {
		free(e->cv[i].key);
		free(e->cv[i].value);
	}
	free(e->cv);
	e->cv = NULL;
	e->cn = e->ccap = 0;
	e->cached = false;
}

/* Re-reads one key from etcd into the cache (after a failed compare:
 * someone else wrote it, e.g. etcdctl, so the next attempt sees it). */
static void cache_refresh(struct etcd_store *e, const char *key)
{
	char *v = NULL;
	long long r = 0, m = 0;
	int rc = remote_get(e, key, &v, &r, &m);
	if (rc == STORE_OK)
		cache_set(e, key, v, r, m);
	else if (rc == STORE_NOT_FOUND)
		cache_del(e, key);
	else
		free(v);
}

static int cache_load_item(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	struct etcd_store *e = ud;
	/* remote_list gives keys in order: append */
	if (e->cn == e->ccap) {
		e->ccap = e->ccap ? e->ccap * 2 : 256;
		e->cv = realloc(e->cv, e->ccap * sizeof *e->cv);
	}
	e->cv[e->cn++] = (struct centry){strdup(key), strdup(value), len, rev, e->list_mod};
	return 0;
}

static int et_get(struct store *s, const char *key, char **value, long long *mod_rev)
{
	struct etcd_store *e = E(s);
	if (!e->cached)
		return remote_get(e, key, value, mod_rev, NULL);
	struct centry *c = cache_find(e, key);
	if (!c)
		return STORE_NOT_FOUND;
	if (mod_rev)
		*mod_rev = c->rev;
	if (value)
		*value = strdup(c->value);
	return STORE_OK;
}

/* A copy of the matching entries first: a callback may write. */
static int et_list(struct store *s, const char *prefix, store_item_fn fn, void *ud, long long *rev)
{
	struct etcd_store *e = E(s);
	if (!e->cached)
		return remote_list(s, prefix, fn, ud, rev);
	if (rev)
		*rev = e->lrev;
	size_t plen = strlen(prefix), lo = cache_lower(e, prefix), hi = lo;
	while (hi < e->cn && strncmp(e->cv[hi].key, prefix, plen) == 0)
		hi++;
	size_t n = hi - lo;
	struct centry *copy = malloc((n ? n : 1) * sizeof *copy);
	for (size_t i = 0; i < n; i++) {
		const struct centry *c = &e->cv[lo + i];
		copy[i] = (struct centry){strdup(c->key), malloc(c->len + 1), c->len, c->rev, c->mod};
		memcpy(copy[i].value, c->value, c->len + 1);
	}
	bool stop = false;
	for (size_t i = 0; i < n; i++) {
		if (!stop)
			stop = fn(copy[i].key, copy[i].value, copy[i].len, copy[i].rev, ud) != 0;
		free(copy[i].key);
		free(copy[i].value);
	}
	free(copy);
	return STORE_OK;
}

/* ---- the ring of recent history ------------------------------------------------------- */

static size_t ev_bytes(const struct revent *r)
{
	return strlen(r->key) + strlen(r->value) + (r->prev ? strlen(r->prev) : 0) + sizeof *r;
}

static void ring_drop_oldest(struct etcd_store *e)
{
	struct revent *r = &e->ring[e->rhead];
	e->rbytes -= ev_bytes(r);
	e->ring_from = r->rev;
	free(r->key);
	free(r->value);
	free(r->prev);
	e->rhead = (e->rhead + 1) % RING_MAX;
	e->rn--;
}

/* A committed event, in revision order (called where drev moves). */
static void ring_add(struct etcd_store *e, const struct store_event *ev)
{
	if (!e->ring)
		return;
	if (ev->rev <= e->ring_from || (e->rn && e->ring[(e->rhead + e->rn - 1) % RING_MAX].rev >= ev->rev))
		return; /* never out of order */
	if (e->rn == RING_MAX)
		ring_drop_oldest(e);
	struct revent *r = &e->ring[(e->rhead + e->rn) % RING_MAX];
	*r = (struct revent){ev->rev, ev->type, strdup(ev->key), strdup(ev->value ? ev->value : ""),
			     ev->prev_value ? strdup(ev->prev_value) : NULL};
	e->rn++;
	e->rbytes += ev_bytes(r);
	while (e->rn > 1 && e->rbytes > RING_BYTES)
		ring_drop_oldest(e);
}

/* Index (0 = oldest) of the first entry with rev > since. */
static size_t ring_after(struct etcd_store *e, long long since)
{
	size_t lo = 0, hi = e->rn;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e->ring[(e->rhead + mid) % RING_MAX].rev <= since)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* changes() from the ring, when it reaches back to since: every event
 * with since < rev <= upto under prefix. The callback may not write (a
 * delivery could move the ring), as for every changes() callback. */
static bool ring_replay(struct etcd_store *e, long long since, long long upto, const char *prefix, store_event_fn fn,
			void *ud)
{
	if (!e->ring || since < e->ring_from)
		return false;
	size_t plen = strlen(prefix);
	long long at = since;
	for (;;) {
		size_t i = ring_after(e, at);
		if (i >= e->rn)
			break;
		const struct revent *r = &e->ring[(e->rhead + i) % RING_MAX];
		if (r->rev > upto)
			break;
		at = r->rev;
		if (strncmp(r->key, prefix, plen) != 0)
			continue;
		struct store_event_cache cache = {0};
		struct store_event ev = {r->rev, r->type, r->key, r->value, r->prev, &cache, NULL};
		fn(&ev, ud);
		store_event_cache_clear(&cache);
	}
	return true;
}

static void ring_free(struct etcd_store *e)
{
	while (e->rn)
		ring_drop_oldest(e);
	free(e->ring);
	e->ring = NULL;
}

/* ---- writes ---------------------------------------------------------------------------- */

static void add_pending(struct etcd_store *e, const struct store_event *ev, long long after)
{
	if (e->npend == e->pcap) {
		e->pcap = e->pcap ? e->pcap * 2 : 16;
		e->pend = realloc(e->pend, (size_t)e->pcap * sizeof *e->pend);
	}
	e->pend[e->npend++] = (struct pending){after, ev->rev, ev->type, strdup(ev->key), strdup(ev->value ? ev->value : ""),
					      ev->prev_value ? strdup(ev->prev_value) : NULL};
}

static int et_commit(struct store *s);

static void own_add(struct etcd_store *e, const char *key, long long rev)
{
	if (e->nown == e->owncap) {
		e->owncap = e->owncap ? e->owncap * 2 : 16;
		e->own = realloc(e->own, (size_t)e->owncap * sizeof *e->own);
	}
	e->own[e->nown++] = (struct own){strdup(key), rev, true};
}

/* A write is made (or in the open batch): committed subscribers hear of it
 * at store_commit() (right away without batching), in-transaction ones now.
 * after: the revision it directly follows. */
static void written(struct etcd_store *e, const struct store_event *ev, long long after)
{
	/* With the live watch, committed subscribers hear of this write at
	 * store_commit() if nothing came in between, else when the stream
	 * shows it, in order with every other hub's writes. */
	if (e->streaming)
		own_add(e, ev->key, ev->rev);
	add_pending(e, ev, after);
	if (!e->base.on_open) {
		e->in_batch = true;
		et_commit(&e->base);
	}
	struct store_event_cache cache = {0};
	struct store_event x = *ev;
	x.cache = &cache;
	x.origin = e->base.writing_for;
	store_notify(&e->base, &x);
	store_event_cache_clear(&cache);
}

/* Another writer was seen this recently: the copy may be behind on a key
 * (a write the copy refuses is checked against etcd first). */
#define OTHERS_MS 60000
#define START_MS 2000 /* at start, others may be writing */
/* After a batch lost to another writer (its requests are run again, see
 * store.h failed_commit), writes go one Txn each for this long, doubled
 * while batches keep losing, up to OTHERS_MS, halved by each batch that
 * commits. */
#define LOST_MS 1000

/* Opens a batch (batching on, none open) and decides how its writes go:
 * one Txn for the batch, unless a batch lost to another writer just now
 * (or, with quiet_ms > 0, another writer was seen within quiet_ms): then
 * a Txn per write as it is made. */
static void begin_write(struct etcd_store *e)
{
	if (e->in_batch || !e->base.on_open)
		return;
	e->in_batch = true;
	long long now = now_ms();
	e->bmode = e->quiet_ms < 0 || (e->quiet_ms > 0 ? now - e->other_at > e->quiet_ms : now >= e->solo_until);
	e->b_wlast0 = e->wlast;
	e->b_lost = false;
	if (e->bmode) {
		e->b_base = e->rev;
		e->bk = 0;
		e->b_guard = e->last_val != NULL;
		e->b_guard_mod = e->last_mod;
		e->b_after = last_rv(e->last_val, e->last_mod);
		e->b_lrev0 = e->lrev;
		e->bfenced = false;
		e->b_fence_mod = 0;
		if (e->fence_key) {
			struct centry *c = cache_find(e, e->fence_key);
			e->b_fence_mod = c ? c->mod : 0;
		}
	}
	e->base.on_open(&e->base, e->base.on_open_ud);
}

static bool fence_ok(struct etcd_store *e)
{
	if (!e->fence_key)
		return true;
	struct centry *c = cache_find(e, e->fence_key);
	return e->fence_rv ? c && c->rev == e->fence_rv : !c;
}

static int fenced_now(struct etcd_store *e, const char *key)
{
	snprintf(e->err, sizeof e->err, "fenced: %s changed (this hub no longer leads)", e->fence_key);
	log_error("store: write of %s failed: %s", key, e->err);
	if (e->fence_lost)
		e->fence_lost(e->fence_ud);
	return STORE_ERROR;
}

/* What the caller's expectation says of the object as the copy has it. */
static int check(const struct centry *c, long long expect, bool del)
{
	if (expect == -1)
		return c ? STORE_EXISTS : STORE_OK;
	if (!c)
		return del || expect > 0 ? STORE_NOT_FOUND : STORE_OK;
	return expect > 0 && c->rev != expect ? STORE_CONFLICT : STORE_OK;
}

/* m/last as a failed Txn found it. */
static void learn_last(struct etcd_store *e, const etcd_kv *kv)
{
	long long m = kv ? kv->mod_revision : 0;
	if (kv && m <= e->last_mod)
		return;
	free(e->last_val);
	e->last_val = kv ? etcd_kv_value(kv, NULL) : NULL;
	e->last_mod = m;
}

/* An object as a failed Txn found it, into the copy. */
static void learn_obj(struct etcd_store *e, const char *key, const etcd_kv *kv)
{
	if (!kv) {
		cache_del(e, key);
		return;
	}
	size_t vl = 0;
	char *v = etcd_kv_value(kv, &vl);
	long long m = kv->mod_revision, rv = 0;
	char *val = restamp(v, vl, m, 0, &rv);
	cache_set(e, key, val, rv, m);
	free(v);
}

enum { TXN_OK, TXN_RETRY, TXN_FENCED, TXN_ERROR };

/* One write as its own Txn, one round trip:
 *   If    the fence key's mod_revision is the copy's, and the key's
 *         mod_revision is the copy's (or the key is absent, if the copy
 *         has none)
 *   Then  the put (value, stored without resourceVersion: it is the Txn's
 *         revision << RV_SHIFT) or delete (value NULL), and m/last = ""
 *         (with its previous value: the write before this one)
 *   Else  ranges of the key and the fence key: the copy learns them and
 *         the caller checks again (TXN_RETRY) or stops (TXN_FENCED).
 * No compare on m/last: hubs writing at once only collide on the keys
 * they share. *main: the Txn's etcd revision; *after: the revision of
 * the hub write before it. */
static int txn_now(struct etcd_store *e, const char *key, const char *value, const struct centry *c, long long *main_rev,
		   long long *after)
{
	char *k = ekey(e, "r/", key), *lastk = ekey(e, "m/", "last");
	char *fk = e->fence_key ? ekey(e, "r/", e->fence_key) : NULL;
	long long fmod = 0;
	if (fk) {
		struct centry *f = cache_find(e, e->fence_key);
		fmod = f ? f->mod : 0;
	}
	struct etcd_txn t;
	etcd_txn_init(&t);
	if (fk)
		etcd_txn_cmp_mod(&t, fk, fmod);
	if (c)
		etcd_txn_cmp_mod(&t, k, c->mod);
	else
		etcd_txn_cmp_absent(&t, k);
	etcd_txn_write(&t, false, k, value, false);
	etcd_txn_write(&t, false, lastk, "", true);
	etcd_txn_range(&t, true, k);
	if (fk)
		etcd_txn_range(&t, true, fk);
	etcd_txn_resp *resp = call_txn(e, &t);
	etcd_txn_free(&t);
	free(k);
	free(lastk);
	free(fk);
	if (!resp)
		return TXN_ERROR;
	seen_txn_rev(e, resp);
	int out = TXN_OK;
	if (resp->succeeded) {
		long long m = etcd_txn_resp_revision(resp);
		const etcd_kv *pkv = etcd_txn_resp_prev_kv(resp, 1);
		char *pv = pkv ? etcd_kv_value(pkv, NULL) : NULL;
		*after = pkv ? last_rv(pv, pkv->mod_revision) : 0;
		free(pv);
		*main_rev = m;
		if (m > e->last_mod) {
			free(e->last_val);
			e->last_val = strdup("");
			e->last_mod = m;
		}
	} else {
		learn_obj(e, key, etcd_txn_resp_range_kv(resp, 0));
		out = TXN_RETRY;
		if (e->fence_key) {
			const etcd_kv *f = etcd_txn_resp_range_kv(resp, 1);
			if ((f ? f->mod_revision : 0) != fmod) {
				learn_obj(e, e->fence_key, f);
				out = TXN_FENCED;
			}
		}
	}
	etcd_txn_resp_free(resp);
	return out;
}

static void bop_add(struct etcd_store *e, const char *key, const char *value, long long rv, const struct centry *c)
{
	if (e->nbops == e->bcap) {
		e->bcap = e->bcap ? e->bcap * 2 : 64;
		e->bops = realloc(e->bops, (size_t)e->bcap * sizeof *e->bops);
	}
	struct bop *b = &e->bops[e->nbops++];
	*b = (struct bop){strdup(key), value ? strdup(value) : NULL, rv, !c ? 2 : c->mod ? 1 : 0, c ? c->mod : 0, c != NULL,
			  c ? strdup(c->value) : NULL, c ? c->rev : 0, c ? c->mod : 0};
}

static void bops_free(struct etcd_store *e)
{
	for (int i = 0; i < e->nbops; i++) {
		free(e->bops[i].key);
		free(e->bops[i].value);
		free(e->bops[i].old_value);
	}
	e->nbops = 0;
	e->bk = 0;
}

/* One object write (obj NULL: a delete). Checked against the copy (asking
 * etcd when the copy says no: it may be behind), then either made now as
 * its own Txn or kept for the batch's Txn. */
static int do_write(struct etcd_store *e, const char *key, cJSON *obj, long long expect, long long *rev_out, char **out)
{
	bool del = !obj;
	struct centry *c = cache_find(e, key);
	int rc = check(c, expect, del);
	/* The copy may be behind only while other writers are about. */
	if (rc != STORE_OK && (!c || c->mod) && now_ms() - e->other_at <= OTHERS_MS) {
		cache_refresh(e, key);
		c = cache_find(e, key);
		rc = check(c, expect, del);
	}
	if (rc != STORE_OK)
		return rc;
	if (!fence_ok(e))
		return fenced_now(e, key);
	begin_write(e);
	char *prev = c ? strdup(c->value) : NULL, *value = NULL;
	long long rv = 0, after = 0;
	if (e->in_batch && e->bmode) {
		if (e->bk >= RV_MAXK) {
			snprintf(e->err, sizeof e->err, "more than %d writes in one batch", RV_MAXK);
			log_error("store: write of %s failed: %s", key, e->err);
			free(prev);
			return STORE_ERROR;
		}
		rv = (e->b_base << RV_SHIFT) | ++e->bk;
		after = e->nbops ? e->bops[e->nbops - 1].rv : e->b_after;
		if (obj) {
			set_rv(obj, rv);
			value = json_print(obj);
		}
		bop_add(e, key, value, rv, c);
		if (obj)
			cache_set(e, key, strdup(value), rv, 0);
		else
			cache_del(e, key);
	} else {
		char *stored = NULL;
		if (obj) { /* stored without resourceVersion: it is the Txn's revision */
			cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
								"resourceVersion");
			stored = json_print(obj);
		}
		long long m = 0;
		for (int attempt = 0;; attempt++) {
			if (c && !c->mod) { /* cannot happen outside a batch Txn; ask etcd */
				cache_refresh(e, key);
				c = cache_find(e, key);
			}
			int t = txn_now(e, key, stored, c, &m, &after);
			if (t == TXN_OK)
				break;
			if (t == TXN_RETRY && attempt < 8) {
				/* another writer was first: check again against what it wrote */
				e->other_at = now_ms();
				c = cache_find(e, key);
				rc = check(c, expect, del);
				if (rc == STORE_OK && !fence_ok(e))
					t = TXN_FENCED;
				else if (rc == STORE_OK) {
					free(prev);
					prev = c ? strdup(c->value) : NULL;
					continue;
				}
			}
			free(stored);
			free(prev);
			if (t == TXN_FENCED)
				return fenced_now(e, key);
			if (rc != STORE_OK)
				return rc;
			if (t == TXN_RETRY)
				snprintf(e->err, sizeof e->err, "other writers changed it %d times in a row", attempt + 1);
			log_error("store: write of %s failed: %s", key, e->err);
			return STORE_ERROR;
		}
		free(stored);
		rv = m << RV_SHIFT;
		if (obj) {
			set_rv(obj, rv);
			value = json_print(obj);
			cache_set(e, key, strdup(value), rv, m);
		} else {
			cache_del(e, key);
		}
	}
	if (e->fence_key && strcmp(key, e->fence_key) == 0)
		e->fence_rv = del ? 0 : rv; /* our own renewal moves the fence */
	if (rv > e->lrev)
		e->lrev = rv;
	e->wlast = rv;
	/* The DELETED event carries the last state stamped with the delete's
	 * revision, as kube-apiserver does. */
	if (del)
		value = restamp(prev, strlen(prev), 0, rv, NULL);
	struct store_event ev = {rv, del ? STORE_DELETED : prev ? STORE_MODIFIED : STORE_ADDED, key, value, prev, NULL, NULL};
	written(e, &ev, after);
	if (rev_out)
		*rev_out = rv;
	if (out)
		*out = value;
	else
		free(value);
	free(prev);
	return STORE_OK;
}

static int et_put(struct store *s, const char *key, cJSON *obj, long long expect_rev, long long *rev_out, char **stored)
{
	return do_write(E(s), key, obj, expect_rev, rev_out, stored);
}

static int et_del(struct store *s, const char *key, long long expect_rev, long long *rev_out, char **last)
{
	return do_write(E(s), key, NULL, expect_rev, rev_out, last);
}

/* The open batch as Txns, in order, each at most max_ops operations and
 * each key at most once (etcd's rules for a Txn):
 *   If    m/last is as the batch found it (the first Txn; the next ones:
 *         as the previous one left it), the fence key's mod_revision is
 *         as the batch found it (first Txn), and the mod_revision of every
 *         key the batch had not written before is as the batch read it
 *         (or the key absent)
 *   Then  the writes, and m/last = the revision of the Txn's last write.
 * Each is acknowledged by etcd only once committed. Returns how many of
 * the batch's writes are committed (all, or up to a failed Txn). */
static int commit_batch(struct etcd_store *e)
{
	int n = e->nbops, i = 0, t = 0;
	int limit = e->max_ops - 2 > 1 ? e->max_ops - 2 : 1; /* + m/last, + the guard and fence compares */
	char *lastk = ekey(e, "m/", "last");
	char *fk = e->fence_key && e->b_fence_mod ? ekey(e, "r/", e->fence_key) : NULL;
	long long prev_m = 0;
	while (i < n) {
		struct etcd_txn req;
		etcd_txn_init(&req);
		if (t)
			etcd_txn_cmp_mod(&req, lastk, prev_m);
		else if (e->b_guard)
			etcd_txn_cmp_mod(&req, lastk, e->b_guard_mod);
		else
			etcd_txn_cmp_absent(&req, lastk);
		etcd_txn_range(&req, true, lastk);
		if (fk && !t) {
			etcd_txn_cmp_mod(&req, fk, e->b_fence_mod);
			etcd_txn_range(&req, true, fk);
		}
		int j = i;
		size_t bytes = 0;
		while (j < n && j - i < limit) {
			size_t sz = strlen(e->bops[j].key) + (e->bops[j].value ? strlen(e->bops[j].value) : 0);
			if (j > i && bytes + sz > TXN_BYTES)
				break;
			bytes += sz;
			bool dup = false;
			for (int q = i; q < j && !dup; q++)
				dup = strcmp(e->bops[q].key, e->bops[j].key) == 0;
			if (dup) {
				log_debug("store: a batch of %d writes split at its write %d: %s is written again in it", n,
					  j + 1, e->bops[j].key);
				break;
			}
			char *k = ekey(e, "r/", e->bops[j].key);
			if (e->bops[j].cmp == 1)
				etcd_txn_cmp_mod(&req, k, e->bops[j].cmp_mod);
			else if (e->bops[j].cmp == 2)
				etcd_txn_cmp_absent(&req, k);
			etcd_txn_write(&req, false, k, e->bops[j].value, false);
			free(k);
			j++;
		}
		char l[32];
		snprintf(l, sizeof l, "%lld", e->bops[j - 1].rv);
		etcd_txn_write(&req, false, lastk, l, false);
		etcd_txn_resp *resp = call_txn(e, &req);
		etcd_txn_free(&req);
		if (!resp)
			break;
		seen_txn_rev(e, resp);
		if (!resp->succeeded) {
			e->b_lost = true;
			learn_last(e, etcd_txn_resp_range_kv(resp, 0));
			if (fk && !t) {
				const etcd_kv *f = etcd_txn_resp_range_kv(resp, 1);
				if ((f ? f->mod_revision : 0) != e->b_fence_mod)
					e->bfenced = true;
			}
			snprintf(e->err, sizeof e->err, "%s: another writer changed what the batch read",
				 e->bfenced ? "fenced (this hub no longer leads)" : "compare failed");
			etcd_txn_resp_free(resp);
			break;
		}
		long long m = etcd_txn_resp_revision(resp);
		etcd_txn_resp_free(resp);
		for (int q = i; q < j; q++) {
			struct centry *c = cache_find(e, e->bops[q].key);
			if (c && c->rev == e->bops[q].rv)
				c->mod = m;
		}
		/* A key this Txn wrote and a later part writes again: if that part
		 * fails, the copy returns to this write, which is now in etcd at m
		 * (not "in the open batch": later writes must compare it). */
		for (int q2 = j; q2 < n; q2++) {
			struct bop *b2 = &e->bops[q2];
			if (b2->cmp || !b2->had || b2->old_mod)
				continue;
			for (int q = i; q < j; q++)
				if (e->bops[q].rv == b2->old_rv && strcmp(e->bops[q].key, b2->key) == 0) {
					b2->old_mod = m;
					break;
				}
		}
		free(e->last_val);
		e->last_val = strdup(l);
		e->last_mod = m;
		prev_m = m;
		i = j;
		t++;
	}
	free(lastk);
	free(fk);
	return i;
}

/* The batch's writes from the f-th on were not made: the copy, the fence
 * and the revision return to what they were, their events are dropped. */
static void undo_batch(struct etcd_store *e, int f)
{
	for (int q = e->nbops - 1; q >= f; q--) {
		struct bop *b = &e->bops[q];
		if (b->had) {
			cache_set(e, b->key, b->old_value, b->old_rv, b->old_mod);
			b->old_value = NULL;
		} else {
			cache_del(e, b->key);
		}
		if (e->fence_key && strcmp(b->key, e->fence_key) == 0 && e->fence_rv == b->rv) {
			/* The Lease write (a take-over or renewal) did not happen: the
			 * fence no longer stands for this hub. Step down (fence_lost
			 * at the end of et_commit); the next election tick decides
			 * again from what etcd has. */
			e->fence_rv = b->had ? b->old_rv : 0;
			e->bfenced = true;
		}
		for (int i = 0; i < e->nown; i++)
			if (e->own[i].rev == b->rv) {
				free(e->own[i].key);
				e->own[i] = e->own[--e->nown];
				break;
			}
	}
	long long first = e->bops[f].rv;
	int keep = 0;
	while (keep < e->npend && e->pend[keep].rev < first)
		keep++;
	for (int i = keep; i < e->npend; i++) {
		free(e->pend[i].key);
		free(e->pend[i].value);
		free(e->pend[i].prev);
	}
	e->npend = keep;
	e->lrev = f ? e->bops[f - 1].rv : e->b_lrev0;
	if (e->drev > e->lrev)
		e->lrev = e->drev;
	e->wlast = f ? e->bops[f - 1].rv : e->b_wlast0;
}

static bool own_take(struct etcd_store *e, long long rev, const char *key);

static int et_commit(struct store *s)
{
	struct etcd_store *e = E(s);
	if (!e->in_batch)
		return STORE_OK;
	int rc = STORE_OK;
	e->fail_kept = 0;
	e->fail_retry = false;
	if (e->bmode && e->nbops) {
		int n = e->nbops, f = commit_batch(e);
		if (f < n) {
			log_error("store: commit of a batch of %d writes failed at its write %d (%s): %s%s", n, f + 1,
				  e->bops[f].key, e->err, f ? " (the writes before it are committed)" : "");
			e->fail_kept = f ? e->bops[f - 1].rv : 0;
			e->fail_retry = e->b_lost && !e->bfenced;
			undo_batch(e, f);
			long long now = now_ms();
			e->other_at = now;
			if (e->b_lost) {
				e->lost_ms = e->lost_ms ? e->lost_ms * 2 : LOST_MS;
				if (e->lost_ms > OTHERS_MS)
					e->lost_ms = OTHERS_MS;
				e->solo_until = now + e->lost_ms;
			}
			rc = STORE_ERROR;
		} else {
			e->lost_ms /= 2;
			if (e->lost_ms < LOST_MS)
				e->lost_ms = 0;
		}
		bops_free(e);
	}
	e->in_batch = false;
	e->bmode = false;
	for (int i = 0; i < e->nown; i++) /* the rolled-back ones are gone (undo_batch): the rest are sent */
		e->own[i].open = false;
	struct pending *p = e->pend;
	int n = e->npend;
	e->pend = NULL;
	e->npend = e->pcap = 0;
	/* With the live watch: this hub's writes that directly follow what
	 * was delivered (no other hub's write in between; always so with one
	 * hub) are delivered now, so this hub's own watches and long-polls
	 * see them before its answers leave (read-your-writes); from the
	 * first gap on, the stream delivers them in order with the other
	 * hubs' writes. */
	bool gap = false;
	for (int i = 0; i < n; i++) {
		bool now = true;
		if (e->streaming) {
			if (p[i].rev <= e->drev) /* the stream was faster */
				now = false;
			else if (gap || p[i].after != e->drev)
				now = false, gap = true;
			else {
				own_take(e, p[i].rev, p[i].key);
				e->drev = p[i].rev;
			}
		}
		if (now) {
			if (!e->streaming) /* what the live watch starts from, if started later */
				e->drev = p[i].rev;
			struct store_event_cache cache = {0};
			struct store_event ev = {p[i].rev, p[i].type, p[i].key, p[i].value, p[i].prev, &cache, NULL};
			if (e->streaming)
				ring_add(e, &ev);
			store_notify_committed(s, &ev);
			store_event_cache_clear(&cache);
		}
		free(p[i].key);
		free(p[i].value);
		free(p[i].prev);
	}
	free(p);
	if (rc != STORE_OK) {
		if (e->bfenced && e->fence_lost)
			e->fence_lost(e->fence_ud);
		store_notify_rollback(s);
	}
	e->bfenced = false;
	return rc;
}

static bool et_in_batch(struct store *s) { return E(s)->in_batch; }

static long long et_written(struct store *s) { return E(s)->wlast; }

static bool et_failed_commit(struct store *s, long long *kept)
{
	*kept = E(s)->fail_kept;
	return E(s)->fail_retry;
}

/* ---- watch messages -------------------------------------------------------------------- */

/* One object change of a watch message, with its revision. */
struct wev {
	long long main, rv;
	enum store_event_type type;
	char *key;          /* store key */
	char *value, *prev; /* as clients see them */
};

static bool is_meta(const struct etcd_store *e, const char *k, const char *name)
{
	size_t pl = strlen(e->prefix);
	return k && strncmp(k, e->prefix, pl) == 0 && strncmp(k + pl, "m/", 2) == 0 && strcmp(k + pl + 2, name) == 0;
}

static bool is_obj(const struct etcd_store *e, const char *k)
{
	size_t pl = strlen(e->prefix);
	return k && strncmp(k, e->prefix, pl) == 0 && strncmp(k + pl, "r/", 2) == 0;
}

/* The object changes of a watch message's events, numbered ("Revisions"):
 * the events of one etcd revision are one Txn; if it wrote m/last (a
 * hub's), its value is the revision of the Txn's last object write and
 * the Txn's writes are numbered up to it, in order; else (another etcd
 * client) from main << RV_SHIFT. Also: the newest m/last into
 * lval and lmod (when given), another hub's compaction, the newest etcd
 * revision into *maxmain. */
static int parse_watch(struct etcd_store *e, const cJSON *events, struct wev **out, char **lval, long long *lmod,
		       long long *maxmain, long long skip_upto)
{
	int n = cJSON_GetArraySize(events), cnt = 0;
	size_t strip = strlen(e->prefix) + 2;
	struct wev *w = calloc(n ? (size_t)n : 1, sizeof *w);
	const cJSON **ev = calloc(n ? (size_t)n : 1, sizeof *ev);
	char **keys = calloc(n ? (size_t)n : 1, sizeof *keys);
	long long *mains = calloc(n ? (size_t)n : 1, sizeof *mains);
	int i = 0;
	const cJSON *x;
	cJSON_ArrayForEach(x, events)
	{
		const cJSON *kv = cJSON_GetObjectItemCaseSensitive(x, "kv");
		ev[i] = x;
		keys[i] = unb64(json_get_str(kv, "key"), NULL);
		mains[i] = etcd_json_num(kv, "mod_revision");
		i++;
	}
	for (i = 0; i < n;) {
		long long m = mains[i], hub_last = 0;
		int j = i, nobj = 0;
		for (; j < n && mains[j] == m; j++) {
			const cJSON *kv = cJSON_GetObjectItemCaseSensitive(ev[j], "kv");
			if (is_obj(e, keys[j])) {
				nobj++;
			} else if (is_meta(e, keys[j], "last")) {
				char *v = unb64(json_get_str(kv, "value"), NULL);
				long long l = 0;
				if (v && num_parse_ll(v, 1, LLONG_MAX, &l) == 0)
					hub_last = l;
				if (lval && m > *lmod) {
					free(*lval);
					*lval = v ? v : strdup("");
					*lmod = m;
					v = NULL;
				}
				free(v);
			} else if (is_meta(e, keys[j], "compacted")) {
				/* another hub compacted: its history is gone for this one too */
				char *v = unb64(json_get_str(kv, "value"), NULL);
				long long c = 0;
				if (v && num_parse_ll(v, 0, LLONG_MAX / 2, &c) == 0 && (c << RV_SHIFT) > e->compacted)
					e->compacted = c << RV_SHIFT;
				free(v);
			}
		}
		if (maxmain && m > *maxmain)
			*maxmain = m;
		long long next = hub_last ? hub_last - nobj + 1 : m << RV_SHIFT;
		for (int k = i; k < j; k++) {
			if (!is_obj(e, keys[k]))
				continue;
			if (next <= skip_upto) { /* already delivered (this hub's own, mostly): not decoded */
				next++;
				continue;
			}
			const cJSON *kv = cJSON_GetObjectItemCaseSensitive(ev[k], "kv");
			const cJSON *pkv = cJSON_GetObjectItemCaseSensitive(ev[k], "prev_kv");
			const char *type = json_get_str(ev[k], "type");
			bool del = type && strcmp(type, "DELETE") == 0;
			size_t vl = 0, pl = 0;
			char *v = del ? NULL : unb64(json_get_str(kv, "value"), &vl);
			char *p = pkv ? unb64(json_get_str(pkv, "value"), &pl) : NULL;
			long long rv = next++;
			struct wev *o = &w[cnt++];
			o->main = m;
			o->rv = rv;
			o->type = del ? STORE_DELETED : etcd_json_num(kv, "create_revision") == m ? STORE_ADDED : STORE_MODIFIED;
			o->key = strdup(keys[k] + strip);
			o->value = del ? restamp(p ? p : "{}", p ? pl : 2, m, rv, NULL) : restamp(v ? v : "{}", v ? vl : 2, m, rv, NULL);
			o->prev = p ? restamp(p, pl, etcd_json_num(pkv, "mod_revision"), 0, NULL) : NULL;
			free(v);
			free(p);
		}
		i = j;
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(ev);
	free(mains);
	*out = w;
	return cnt;
}

/* ---- history --------------------------------------------------------------------------- */

struct replay {
	struct etcd_store *e;
	const char *want;   /* store key prefix */
	long long since, target;
	struct buf line;
	struct pending *ev;
	int n, cap;
	bool done, compacted, failed;
	long long compact_rev;
};

static void replay_add(struct replay *r, long long rev, enum store_event_type t, const char *key, char *value, char *prev)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->ev = realloc(r->ev, (size_t)r->cap * sizeof *r->ev);
	}
	r->ev[r->n++] = (struct pending){0, rev, t, strdup(key), value, prev};
}

static void replay_message(struct replay *r, const char *text, size_t len)
{
	cJSON *msg = cJSON_ParseWithLength(text, len);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(msg, "result");
	if (!res) {
		if (msg && cJSON_GetObjectItemCaseSensitive(msg, "error")) {
			snprintf(r->e->err, sizeof r->e->err, "etcd watch: %.300s", text);
			r->failed = true;
		}
		cJSON_Delete(msg);
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "canceled"))) {
		r->compact_rev = etcd_json_num(res, "compact_revision");
		r->compacted = r->compact_rev > 0;
		if (!r->compacted) {
			snprintf(r->e->err, sizeof r->e->err, "etcd watch canceled: %.300s", text);
			r->failed = true;
		}
		r->done = true;
		cJSON_Delete(msg);
		return;
	}
	struct wev *w = NULL;
	int n = parse_watch(r->e, cJSON_GetObjectItemCaseSensitive(res, "events"), &w, NULL, NULL, NULL, 0);
	for (int i = 0; i < n; i++) {
		if (w[i].rv >= r->target)
			r->done = true;
		if (w[i].rv > r->since && w[i].rv <= r->target && strncmp(w[i].key, r->want, strlen(r->want)) == 0) {
			replay_add(r, w[i].rv, w[i].type, w[i].key, w[i].value, w[i].prev);
		} else {
			free(w[i].value);
			free(w[i].prev);
		}
		free(w[i].key);
	}
	free(w);
	cJSON_Delete(msg);
}

/* The watch stream: one JSON message per line. Returning 0 ends it. */
static size_t on_watch(char *p, size_t size, size_t n, void *ud)
{
	struct replay *r = ud;
	size_t total = size * n;
	buf_add(&r->line, p, total);
	char *start = r->line.data;
	char *nl;
	while (!r->done && !r->failed && (nl = memchr(start, '\n', r->line.len - (size_t)(start - r->line.data)))) {
		replay_message(r, start, (size_t)(nl - start));
		start = nl + 1;
	}
	size_t rest = r->line.len - (size_t)(start - r->line.data);
	memmove(r->line.data, start, rest);
	r->line.len = rest;
	r->line.data[rest] = '\0';
	return r->done || r->failed ? 0 : total;
}

/* etcd's history from etcd revision start, with a blocking watch, into
 * r: every object change with r->since < rev <= r->target under r->want.
 * STORE_OK, STORE_COMPACTED (then e->compacted has moved) or STORE_ERROR. */
static int history(struct etcd_store *e, long long start, struct replay *r)
{
	cJSON *req = cJSON_CreateObject();
	cJSON *cr = cJSON_AddObjectToObject(req, "create_request");
	char *end = range_end(e->prefix);
	etcd_json_add_b64(cr, "key", e->prefix, strlen(e->prefix));
	etcd_json_add_b64(cr, "range_end", end, strlen(end));
	etcd_json_add_num(cr, "start_revision", start);
	cJSON_AddTrueToObject(cr, "prev_kv");
	char *body = json_print(req);
	cJSON_Delete(req);
	free(end);
	for (int attempt = 0; attempt < e->nendpoints && !r->done; attempt++) {
		if (!e->hcurl)
			e->hcurl = curl_easy_init();
		setup_request(e, e->hcurl, "/v3/watch", body, on_watch, r, ETCD_TIMEOUT_MS);
		long long t0 = time_mono_us();
		CURLcode crc = curl_easy_perform(e->hcurl);
		count_call(e, e->hcurl, "/v3/watch", strlen(body), t0);
		if (r->done || r->failed)
			break;
		snprintf(e->err, sizeof e->err, "etcd %s/v3/watch: %s", e->endpoints[e->cur], curl_easy_strerror(crc));
		if (!try_next(crc, 200))
			break;
		e->cur = (e->cur + 1) % e->nendpoints;
	}
	free(body);
	free(r->line.data);
	r->line = (struct buf){0};
	if (r->compacted) {
		if ((r->compact_rev << RV_SHIFT) > e->compacted)
			e->compacted = r->compact_rev << RV_SHIFT;
		return STORE_COMPACTED;
	}
	return !r->done || r->failed ? STORE_ERROR : STORE_OK;
}

static void replay_free(struct replay *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->ev[i].key);
		free(r->ev[i].value);
		free(r->ev[i].prev);
	}
	free(r->ev);
	r->ev = NULL;
	r->n = r->cap = 0;
}

/* The ring starts with the history before the live watch, back to
 * RING_MAX etcd revisions (or the compaction point), read once when the
 * watch starts: after a restart, agents and watchers resuming from where
 * they were are answered from memory too. */
static void ring_fill(struct etcd_store *e)
{
	long long target = e->drev, target_main = e->last_mod, cm = e->compacted >> RV_SHIFT;
	for (size_t i = 0; i < e->cn; i++)
		if (e->cv[i].rev == target)
			target_main = e->cv[i].mod;
	if (target <= 0 || target_main <= cm) {
		e->ring_from = e->compacted; /* no history after the compaction point */
		return;
	}
	long long start = e->wrev - RING_MAX + 1;
	if (start > target_main)
		start = target_main; /* the newest object write is in the window */
	bool all = start <= cm + 1;
	if (all)
		start = cm + 1;
	struct replay r = {.e = e, .want = "", .since = 0, .target = target};
	int rc = history(e, start, &r);
	if (rc == STORE_COMPACTED && (e->compacted >> RV_SHIFT) < target_main) {
		/* etcd compacted further than m/compacted says (another client,
		 * its own auto-compaction): from there */
		replay_free(&r);
		r = (struct replay){.e = e, .want = "", .since = 0, .target = target};
		start = e->compacted >> RV_SHIFT;
		all = true;
		rc = history(e, start, &r);
	}
	if (rc == STORE_OK && r.n) {
		/* Everything before etcd revision start is below the first
		 * change read; with all of etcd's history, everything after the
		 * compaction point is here. */
		e->ring_from = all ? e->compacted : r.ev[0].rev - 1;
		for (int i = 0; i < r.n; i++) {
			struct store_event ev = {r.ev[i].rev, r.ev[i].type, r.ev[i].key, r.ev[i].value, r.ev[i].prev, NULL, NULL};
			ring_add(e, &ev);
		}
		log_info("store: %d changes of recent history from etcd revision %lld (revisions %lld to %lld)", r.n,
			 start, e->ring_from + 1, target);
	} else if (rc != STORE_OK) {
		log_warn("store: could not read the recent history from etcd revision %lld (%s): older revisions "
			 "get 410 Expired",
			 start, rc == STORE_COMPACTED ? "compacted" : e->err);
	}
	replay_free(&r);
}

static int et_changes(struct store *s, long long since, const char *prefix, store_event_fn fn, void *ud)
{
	struct etcd_store *e = E(s);
	if (since < e->compacted)
		return STORE_COMPACTED;
	/* Where history ends now: the newest write's revision (with the live
	 * watch, the newest one delivered: later ones come from the stream). */
	char *last = ekey(e, "m/", "last"), *lv = NULL;
	long long target = e->drev, lm = 0;
	int rc = e->streaming ? (target ? STORE_OK : STORE_NOT_FOUND) : raw_get(e, last, &lv, NULL, &lm);
	if (!e->streaming && rc == STORE_OK)
		target = last_rv(lv, lm);
	free(lv);
	free(last);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && since >= target))
		return STORE_OK;
	if (rc != STORE_OK)
		return STORE_ERROR;
	/* With the live watch, history comes from memory only (the ring,
	 * filled at start with what came before): an older revision gets
	 * 410 Expired, as from kube-apiserver's watch cache, and the client
	 * lists again. A blocking watch on etcd here would stall the hub for
	 * seconds (etcd hands old history to a watch 1,000 revisions per
	 * 100 ms). Without it (tools), from etcd's history. */
	if (e->streaming) {
		if (ring_replay(e, since, target, prefix, fn, ud)) {
			e->ring_hits++;
			return STORE_OK;
		}
		e->ring_misses++;
		log_info("store: replay from revision %lld is older than the hub's recent history (from %lld): 410",
			 since, e->ring_from);
		return STORE_COMPACTED;
	}
	struct replay r = {.e = e, .want = prefix, .since = since, .target = target};
	rc = history(e, (since >> RV_SHIFT) + 1, &r);
	if (rc == STORE_ERROR)
		log_error("store: replay from revision %lld failed: %s", since, e->err);
	for (int i = 0; rc == STORE_OK && i < r.n; i++) {
		struct store_event_cache cache = {0};
		struct store_event ev = {r.ev[i].rev, r.ev[i].type, r.ev[i].key, r.ev[i].value, r.ev[i].prev, &cache, NULL};
		fn(&ev, ud);
		store_event_cache_clear(&cache);
	}
	replay_free(&r);
	return rc;
}

/* Keeps the newest keep_last revisions of etcd's history. */
static int et_compact(struct store *s, long long keep_last)
{
	struct etcd_store *e = E(s);
	long long upto = e->rev - keep_last; /* in etcd revisions (Txns) */
	if (upto <= 0 || (upto << RV_SHIFT) <= e->compacted)
		return STORE_OK;
	cJSON *req = cJSON_CreateObject();
	etcd_json_add_num(req, "revision", upto);
	cJSON *resp = call(e, "/v3/kv/compaction", req);
	cJSON_Delete(req);
	if (!resp) {
		/* Someone (another hub, etcd's own auto-compaction) got further. */
		if (strstr(e->err, "compacted")) {
			e->compacted = upto << RV_SHIFT;
			return STORE_OK;
		}
		log_error("store: compaction up to %lld failed: %s", upto, e->err);
		return STORE_ERROR;
	}
	cJSON_Delete(resp);
	e->compacted = upto << RV_SHIFT;
	char *k = ekey(e, "m/", "compacted"), v[32];
	snprintf(v, sizeof v, "%lld", upto);
	req = cJSON_CreateObject();
	etcd_json_add_b64(req, "key", k, strlen(k));
	etcd_json_add_b64(req, "value", v, strlen(v));
	resp = call(e, "/v3/kv/put", req);
	cJSON_Delete(req);
	free(k);
	if (resp)
		seen_rev(e, resp);
	cJSON_Delete(resp);
	return STORE_OK;
}

static long long et_revision(struct store *s) { return E(s)->streaming ? E(s)->drev : E(s)->lrev; }
static long long et_compacted(struct store *s) { return E(s)->compacted; }

/* The newest revision made, asked (rare: a client ahead of this hub):
 * when etcd's newest revision is a hub's Txn (m/last's mod_revision),
 * its last write; else etcd's revision << RV_SHIFT (every revision made
 * so far is below). A batch's revisions sit below its Txn's etcd
 * revision << RV_SHIFT, so the first answer is the tight one. */
static long long et_head(struct store *s)
{
	struct etcd_store *e = E(s);
	char *k = ekey(e, "m/", "last"), *v = NULL;
	long long mod = 0;
	int rc = raw_get(e, k, &v, NULL, &mod);
	free(k);
	long long head = e->rev << RV_SHIFT;
	if (rc == STORE_OK && mod == e->rev)
		head = last_rv(v, mod);
	free(v);
	return head;
}

static long long et_size(struct store *s)
{
	struct etcd_store *e = E(s);
	cJSON *req = cJSON_CreateObject();
	cJSON *resp = call(e, "/v3/maintenance/status", req);
	cJSON_Delete(req);
	long long n = resp ? etcd_json_num(resp, "dbSize") : 0;
	cJSON_Delete(resp);
	return n;
}

/* ---- the live watch -------------------------------------------------------------------- */

static void stream_connect(struct etcd_store *e);

/* Whether the stream's change at rev is this hub's own write (then
 * forgotten): only a sent one, on the same key. A write of the open batch
 * has a revision only guessed: another hub's Txn committed first has that
 * revision (issue 12: the other hub's create was taken for this hub's
 * echo, and its copy never had it). */
static bool own_take(struct etcd_store *e, long long rev, const char *key)
{
	if (!e->nown)
		return false;
	for (int i = 0; i < e->nown; i++)
		if (e->own[i].rev == rev && !e->own[i].open && strcmp(e->own[i].key, key) == 0) {
			free(e->own[i].key);
			e->own[i] = e->own[--e->nown];
			return true;
		}
	return false;
}

/* A write of ours newer than rev on key: the copy already has it. */
static bool own_newer(struct etcd_store *e, const char *key, long long rev)
{
	for (int i = 0; i < e->nown; i++)
		if (e->own[i].rev > rev && strcmp(e->own[i].key, key) == 0)
			return true;
	return false;
}

/* One change from the stream, in revision order: the copy, then the
 * in-transaction subscribers (unless this hub made it: they heard of it
 * then), then the committed ones. */
static void stream_event(struct etcd_store *e, long long rev, long long main_rev, enum store_event_type t,
			 const char *key, char *value, char *prev)
{
	if (rev <= e->drev) { /* already delivered (a reconnect replays from wrev) */
		free(value);
		free(prev);
		return;
	}
	bool mine = own_take(e, rev, key);
	if (!mine)
		e->other_at = now_ms();
	struct bop *b = NULL;
	for (int i = 0; !mine && e->in_batch && e->bmode && i < e->nbops && !b; i++)
		if (strcmp(e->bops[i].key, key) == 0)
			b = &e->bops[i];
	if (b && e->cached) {
		/* The open batch wrote this key first: the copy keeps the batch's
		 * write (its Txn will fail on this key's compare), and this is
		 * what the copy returns to when the batch is rolled back. */
		free(b->old_value);
		b->had = t != STORE_DELETED;
		b->old_value = b->had ? strdup(value) : NULL;
		b->old_rv = rev;
		b->old_mod = main_rev;
	} else if (e->cached && !mine && !own_newer(e, key, rev)) {
		struct centry *c = cache_find(e, key);
		if (t == STORE_DELETED) {
			if (c && c->rev < rev)
				cache_del(e, key);
		} else if (!c || c->rev < rev) {
			cache_set(e, key, strdup(value), rev, main_rev);
		}
	}
	if (main_rev > e->rev)
		e->rev = main_rev;
	if (rev > e->lrev)
		e->lrev = rev;
	e->drev = rev;
	struct store_event_cache cache = {0};
	struct store_event ev = {rev, t, key, value, prev, &cache, NULL};
	if (!mine)
		store_notify(&e->base, &ev);
	store_event_cache_clear(&cache);
	ring_add(e, &ev);
	store_notify_committed(&e->base, &ev);
	store_event_cache_clear(&cache);
	free(value);
	free(prev);
}

static void stream_message(struct etcd_store *e, const char *text)
{
	cJSON *msg = cJSON_Parse(text);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(msg, "result");
	if (!res) {
		log_warn("store: etcd watch: %.300s", text);
		cJSON_Delete(msg);
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "canceled"))) {
		long long cr = etcd_json_num(res, "compact_revision");
		/* This hub fell further behind than etcd keeps history: it
		 * cannot tell its watchers what they missed. Start over. */
		log_error("store: the etcd watch was canceled (compacted at %lld, this hub was at %lld); restarting to "
			  "reload the objects",
			  cr, e->wrev);
		e->lost = true;
		event_base_loopexit(e->loop, NULL);
		cJSON_Delete(msg);
		return;
	}
	long long hr = etcd_json_num(cJSON_GetObjectItemCaseSensitive(res, "header"), "revision");
	struct wev *w = NULL;
	long long mx = 0;
	int n = parse_watch(e, cJSON_GetObjectItemCaseSensitive(res, "events"), &w, &e->last_val, &e->last_mod, &mx,
			    e->drev);
	if (mx > e->wrev)
		e->wrev = mx;
	for (int i = 0; i < n; i++) {
		stream_event(e, w[i].rv, w[i].main, w[i].type, w[i].key, w[i].value, w[i].prev);
		free(w[i].key);
	}
	free(w);
	if (hr > e->rev)
		e->rev = hr;
	cJSON_Delete(msg);
}

/* Messages are handled from the loop, not from inside libcurl: their
 * subscribers may write (blocking calls on another handle). */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct etcd_store *e = arg;
	char **m = e->wmsgs;
	int n = e->nwmsgs;
	e->wmsgs = NULL;
	e->nwmsgs = e->wmcap = 0;
	for (int i = 0; i < n; i++) {
		if (!e->lost)
			stream_message(e, m[i]);
		free(m[i]);
	}
	free(m);
}

static bool on_stream_data(const char *data, size_t len, void *ud)
{
	struct etcd_store *e = ud;
	e->down_until = 0; /* etcd answers again */
	buf_add(e->wline, data, len);
	char *start = e->wline->data, *nl;
	while ((nl = memchr(start, '\n', e->wline->len - (size_t)(start - e->wline->data)))) {
		if (nl > start) {
			if (e->nwmsgs == e->wmcap) {
				e->wmcap = e->wmcap ? e->wmcap * 2 : 16;
				e->wmsgs = realloc(e->wmsgs, (size_t)e->wmcap * sizeof *e->wmsgs);
			}
			e->wmsgs[e->nwmsgs++] = strndup(start, (size_t)(nl - start));
		}
		start = nl + 1;
	}
	size_t rest = e->wline->len - (size_t)(start - e->wline->data);
	memmove(e->wline->data, start, rest);
	e->wline->len = rest;
	e->wline->data[rest] = '\0';
	if (e->nwmsgs)
		event_active(e->drain_ev, 0, 0);
	return true;
}

static void on_stream_done(const struct http_response *r, void *ud)
{
	struct etcd_store *e = ud;
	e->wcall = NULL;
	log_warn("store: the etcd watch on %s ended (%s%ld); resuming from revision %lld on the next endpoint",
		 e->endpoints[e->cur], r->error ? r->error : "HTTP ", r->error ? 0L : r->status, e->wrev + 1);
	e->cur = (e->cur + 1) % e->nendpoints;
	if (e->wline)
		e->wline->len = 0;
	struct timeval tv = {0, 200000};
	event_add(e->retry_ev, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stream_connect(arg);
}

static void stream_connect(struct etcd_store *e)
{
	cJSON *req = cJSON_CreateObject();
	cJSON *cr = cJSON_AddObjectToObject(req, "create_request");
	char *end = range_end(e->prefix);
	etcd_json_add_b64(cr, "key", e->prefix, strlen(e->prefix));
	etcd_json_add_b64(cr, "range_end", end, strlen(end));
	etcd_json_add_num(cr, "start_revision", e->wrev + 1);
	cJSON_AddTrueToObject(cr, "prev_kv");
	char *body = json_print(req);
	cJSON_Delete(req);
	free(end);
	struct http_target t = {.base_url = e->endpoints[e->cur], .user_agent = "atoll-hub"};
	t.tls.ca_file = e->cafile;
	t.tls.cert_file = e->certfile;
	t.tls.key_file = e->keyfile;
	struct http_request r = {.method = "POST", .path = "/v3/watch", .content_type = "application/json",
				 .body = body, .body_len = strlen(body), .connect_timeout_ms = ETCD_CONNECT_TIMEOUT_MS,
				 .on_data = on_stream_data};
	e->wcall = http_start(e->hc, &t, &r, on_stream_done, e);
	free(body);
	if (!e->wcall) {
		struct timeval tv = {1, 0};
		event_add(e->retry_ev, &tv);
	}
}

void store_etcd_stats(struct store *s, struct etcd_stats *out) { *out = E(s)->stats; }

int store_etcd_start_watch(struct store *s, struct event_base *base)
{
	struct etcd_store *e = E(s);
	if (e->streaming)
		return 0;
	e->loop = base;
	e->hc = http_client_new(base);
	e->wline = calloc(1, sizeof *e->wline);
	e->retry_ev = evtimer_new(base, on_retry, e);
	e->drain_ev = event_new(base, -1, 0, on_drain, e);
	e->streaming = true;
	e->ring = calloc(RING_MAX, sizeof *e->ring);
	e->ring_from = e->drev;
	ring_fill(e);
	stream_connect(e);
	return 0;
}

static void stream_free(struct etcd_store *e)
{
	if (e->hc)
		http_client_free(e->hc);
	if (e->retry_ev)
		event_free(e->retry_ev);
	if (e->drain_ev)
		event_free(e->drain_ev);
	if (e->wline)
		free(e->wline->data);
	free(e->wline);
	for (int i = 0; i < e->nwmsgs; i++)
		free(e->wmsgs[i]);
	free(e->wmsgs);
	for (int i = 0; i < e->nown; i++)
		free(e->own[i].key);
	free(e->own);
}

bool store_etcd_lost(struct store *s) { return E(s)->lost; }

void store_etcd_set_fence(struct store *s, const char *key, long long mod_rev, void (*lost)(void *ud), void *ud)
{
	struct etcd_store *e = E(s);
	free(e->fence_key);
	e->fence_key = key ? strdup(key) : NULL;
	e->fence_rv = mod_rev;
	e->fence_lost = lost;
	e->fence_ud = ud;
}

static void et_close(struct store *s)
{
	struct etcd_store *e = E(s);
	cache_free(e);
	ring_free(e);
	stream_free(e);
	free(e->fence_key);
	free(e->last_val);
	bops_free(e);
	free(e->bops);
	for (int i = 0; i < e->npend; i++) {
		free(e->pend[i].key);
		free(e->pend[i].value);
		free(e->pend[i].prev);
	}
	free(e->pend);
	if (e->stats.calls)
		log_info("store: etcd: %lu calls (%lu Txns, mean %.2f ms; %lu of them over gRPC on %lu connections), "
			 "%lu other connections opened, slowest call %.1f ms",
			 e->stats.calls, e->stats.txns,
			 e->stats.txns ? e->stats.txn_us_total / 1000.0 / (double)e->stats.txns : 0.0, e->stats.grpc_txns,
			 e->stats.grpc_connects, e->stats.connects, e->stats.us_max / 1000.0);
	if (e->gcurl)
		curl_easy_cleanup(e->gcurl);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	if (e->hcurl)
		curl_easy_cleanup(e->hcurl);
	for (int i = 0; i < e->nendpoints; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->cafile);
	free(e->certfile);
	free(e->keyfile);
	free(e);
}

static const struct store_ops etcd_ops = {
	et_close, et_revision, et_compacted, et_get, et_list, et_put, et_del, et_changes, et_compact, et_size,
	et_commit, et_in_batch,
};

struct store *store_open_etcd(const struct etcd_options *o, char *err, size_t errlen)
{
	if (!o->servers || !o->servers[0]) {
		snprintf(err, errlen, "no etcd servers given (--etcd-servers URL[,URL...])");
		return NULL;
	}
	struct etcd_store *e = calloc(1, sizeof *e);
	e->base.ops = &etcd_ops;
	e->base.head = et_head;
	e->base.written = et_written;
	e->base.failed_commit = et_failed_commit;
	snprintf(e->prefix, sizeof e->prefix, "%s", o->prefix && o->prefix[0] ? o->prefix : "/atoll/");
	size_t pl = strlen(e->prefix);
	if (e->prefix[pl - 1] != '/' && pl + 1 < sizeof e->prefix)
		snprintf(e->prefix + pl, sizeof e->prefix - pl, "/");
	char *list = strdup(o->servers), *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		size_t n = strlen(t);
		while (n > 0 && (t[n - 1] == '/' || t[n - 1] == ' '))
			t[--n] = '\0';
		if (!n)
			continue;
		if (strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0) {
			snprintf(err, errlen, "etcd server %s: want http://HOST:PORT or https://HOST:PORT", t);
			free(list);
			et_close(&e->base);
			return NULL;
		}
		e->endpoints = realloc(e->endpoints, (size_t)(e->nendpoints + 1) * sizeof *e->endpoints);
		e->endpoints[e->nendpoints++] = strdup(t);
	}
	free(list);
	if (!e->nendpoints) {
		snprintf(err, errlen, "no etcd servers given (--etcd-servers URL[,URL...])");
		et_close(&e->base);
		return NULL;
	}
	e->cafile = o->cafile ? strdup(o->cafile) : NULL;
	e->certfile = o->certfile ? strdup(o->certfile) : NULL;
	e->keyfile = o->keyfile ? strdup(o->keyfile) : NULL;
	e->curl = curl_easy_init();
	/* Where we are: the newest revision, and the compaction point. */
	char *k = ekey(e, "m/", "compacted"), *v = NULL;
	int rc = raw_get(e, k, &v, NULL, NULL);
	free(k);
	if (rc == STORE_ERROR) {
		snprintf(err, errlen, "cannot reach etcd: %s", e->err);
		free(v);
		et_close(&e->base);
		return NULL;
	}
	if (rc == STORE_OK && num_parse_ll(v, 0, LLONG_MAX >> RV_SHIFT, &e->compacted) < 0)
		e->compacted = 0;
	e->compacted <<= RV_SHIFT;
	e->max_ops = o->max_txn_ops > 0 ? o->max_txn_ops : 128;
	e->quiet_ms = o->quiet_ms;
	e->json_txn = o->json_txn;
	const char *retry = getenv("ATOLL_ETCD_GRPC_RETRY_MS");
	if (!retry || num_parse_int(retry, 1, 3600000, &e->grpc_retry_ms) < 0)
		e->grpc_retry_ms = ETCD_GRPC_RETRY_MS;
	free(v);
	/* One list fills the copy: a consistent snapshot at its revision H
	 * (every page is read at H). The live watch starts right after H;
	 * the newest object write at H (m/last read at H) is the revision
	 * delivered so far. */
	long long h = 0, l = 0;
	char *lk = ekey(e, "m/", "last");
	int rl = remote_list(&e->base, "", cache_load_item, e, &h);
	char *lv = NULL;
	int r2 = rl == STORE_OK ? raw_get_at(e, lk, h, &l, &lv) : STORE_ERROR;
	free(lk);
	if (rl != STORE_OK || r2 == STORE_ERROR) {
		free(lv);
		snprintf(err, errlen, "cannot read the objects from etcd: %s", e->err);
		et_close(&e->base);
		return NULL;
	}
	e->last_val = r2 == STORE_OK ? (lv ? lv : strdup("")) : NULL;
	if (r2 != STORE_OK)
		free(lv);
	e->last_mod = r2 == STORE_OK ? l : 0;
	e->drev = last_rv(e->last_val, e->last_mod);
	for (size_t i = 0; i < e->cn; i++)
		if (e->cv[i].rev > e->drev)
			e->drev = e->cv[i].rev;
	e->lrev = e->drev;
	e->wrev = h;
	e->other_at = now_ms() - (e->quiet_ms > 0 ? e->quiet_ms : OTHERS_MS) + START_MS; /* the watch will tell */
	log_info("store: loaded %zu objects from etcd at revision %lld (newest object write %lld)", e->cn, h, l);
	e->cached = true;
	log_kv(LOG_INFO, "store: etcd", "servers", o->servers, "prefix", e->prefix, "txns",
	       e->json_txn ? "JSON gateway" : "gRPC", NULL);
	return &e->base;
}
