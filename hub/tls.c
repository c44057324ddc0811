/* The libevent <-> mbedTLS glue.
 *
 * evhttp asks tls_server_bevcb for each accepted connection's bufferevent.
 * We return a filter bufferevent over a socket bufferevent:
 *
 *   socket bev (ciphertext) --input filter: mbedtls_ssl_handshake/read--> filter input (plaintext) --> evhttp
 *   evhttp --> filter output (plaintext) --output filter: mbedtls_ssl_write--> socket bev output (ciphertext)
 *
 * mbedTLS's BIO callbacks read from the socket bev's input buffer (only
 * while the input filter runs) and append to its output buffer, so mbedTLS
 * never sees a socket and never blocks.
 *
 * Three details of libevent 2.1's filter bufferevents matter:
 *  - evhttp adds a response to the output buffer before it enables EV_WRITE,
 *    and enabling does not run the filter. A per-connection "kick" event,
 *    activated whenever plaintext is added, runs it on the next loop pass.
 *  - evhttp treats a response as written when the filter's output buffer is
 *    empty and may then close the socket. The output filter therefore keeps
 *    the plaintext of the last record it encrypted in its source buffer
 *    ("sent_ahead") until the socket bev has handed all ciphertext to the
 *    kernel, so a close never truncates a response.
 *  - A filter cannot report errors upward; a dead connection is ended by
 *    triggering a (deferred) error event, which evhttp handles like a
 *    client disconnect. */
#include "tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_struct.h>
#include <mbedtls/cipher.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_internal.h> /* MBEDTLS_SSL_IN/OUT_BUFFER_LEN, for parking idle buffers */
#include <mbedtls/version.h>

#include "listenguard.h"
#include "log.h"
#include "strmap.h"
#include "tlsconf.h"
#include "xalloc.h"

#define BUCKETS 4096
#define OUT_HIGH (256u << 10) /* ciphertext queued before we stop encrypting */
#define REC 16384
#define QUEUE_WAIT_MS 60000            /* a ClientHello waiting for a handshake turn this long is closed */
#define TICKET_ROTATE_S (24 * 3600)     /* a new ticket key this often; the previous one is still accepted */
#define TICKET_LIFETIME_S (48 * 3600)   /* a session resumes by ticket this long after its full handshake */

/* One session ticket key (AES-256-GCM), named by 4 random bytes. */
struct ticket_key {
	bool set;
	unsigned char name[4];
	unsigned char key[32];
	long long created; /* unix seconds */
	mbedtls_cipher_context_t ctx;
};

/* A TLS configuration: shared by every connection that started under it. */
struct tls_cfg {
	int refs;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt own;
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
};

/* What one client address holds: connections still in their TLS handshake
 * (plain listener: that have not sent a byte) and established ones, each
 * under its own quota, so idle handshakes never starve established clients. */
struct ip_count {
	char ip[INET6_ADDRSTRLEN];
	int pending, est;
};

/* Rate-limited log lines (at most one per kind and second, with a count of
 * the ones left out): a flood of hostile connections must not flood the log. */
enum { RL_LIMIT, RL_EVICT, RL_SILENT, RL_HANDSHAKE, RL_HEADER, RL_TLSERR, RL_PLAIN, RL_KINDS };

struct tls_server {
	struct event_base *base;
	struct tls_server_opts o;
	char cert_file[4096], key_file[4096], ca_file[4096];
	struct tls_cfg *cur;
	mbedtls_ssl_cache_context cache;
	struct ticket_key tk[2]; /* current, previous */
	/* Handshakes waiting for a turn (max_handshakes), oldest first. */
	struct tls_conn *hsq_head, *hsq_tail;
	struct tls_conn *conns[BUCKETS];
	struct strmap ips; /* client address -> struct ip_count (owned) */
	struct tls_stats st;
	/* Connections not yet established, oldest first (eviction order). */
	struct tls_conn *pend_head, *pend_tail;
	time_t rl_last[RL_KINDS];
	unsigned long rl_skipped[RL_KINDS];
	struct tls_server *next_srv;
};

static struct tls_server *all_servers;

enum head_state { HEAD_IDLE = 0, HEAD_READING, HEAD_DONE };

struct tls_conn {
	struct tls_server *srv;
	struct tls_cfg *cfg;
	mbedtls_ssl_context ssl;
	struct bufferevent *bev;   /* the filter evhttp uses */
	struct bufferevent *under; /* the socket */
	struct evbuffer *rx;       /* ciphertext source while the input filter runs */
	struct event *kick;
	struct event *timer;
	bool handshake_done, dead, close_sent, checked, sniffed, plain, established;
	bool probation; /* admitted over the pending quota: must send something within SILENT_MS */
	bool hs_turn;   /* counted in st.handshaking (its handshake may run) */
	bool hs_queued; /* in srv's handshake queue */
	bool parked;    /* record buffers released while idle (park/unpark) */
	struct tls_conn *hsq_prev, *hsq_next;
	/* While parked: where the record pointers pointed, and the buffers' heads. */
	ptrdiff_t pk_in[6], pk_out[5];
	unsigned char pk_in_head[32], pk_out_head[32];
	struct ip_count *ipe;            /* counted against this address (NULL: not, or no longer) */
	struct tls_conn *pprev, *pnext;  /* in srv's pending list while ipe && !established */
	long long t0;                    /* accepted, monotonic ms */
	size_t sent_ahead;
	enum head_state head;
	int eol; /* progress towards the empty line ending a request head */
	char ip[INET6_ADDRSTRLEN];
	struct tls_peer peer;
	struct tls_conn *next; /* hash chain */
};

/* ---- tables --------------------------------------------------------------- */

static size_t ptr_hash(const void *p)
{
	uintptr_t v = (uintptr_t)p;
	v ^= v >> 17;
	v *= 0x9E3779B97F4A7C15ull;
	return (size_t)(v >> 40) % BUCKETS;
}

/* All servers' connections, so tls_peer_of needs no server argument. */
static struct tls_conn *all_conns[BUCKETS];

static void conn_register(struct tls_conn *c)
{
	size_t h = ptr_hash(c->bev);
	c->next = all_conns[h];
	all_conns[h] = c;
}

static void conn_unregister(struct tls_conn *c)
{
	struct tls_conn **pp = &all_conns[ptr_hash(c->bev)];
	for (; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static struct tls_conn *conn_of(struct bufferevent *bev)
{
	if (!bev)
		return NULL;
	for (struct tls_conn *c = all_conns[ptr_hash(bev)]; c; c = c->next)
		if (c->bev == bev)
			return c;
	return NULL;
}

const struct tls_peer *tls_peer_of(struct bufferevent *bev)
{
	struct tls_conn *c = conn_of(bev);
	return c && !c->plain ? &c->peer : NULL;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct ip_count *ip_get(struct tls_server *s, const char *ip)
{
	struct ip_count *e = strmap_get(&s->ips, ip);
	if (!e) {
		e = xcalloc(1, sizeof *e);
		snprintf(e->ip, sizeof e->ip, "%s", ip);
		strmap_put(&s->ips, ip, e);
	}
	return e;
}

static void ip_put(struct tls_server *s, struct ip_count *e)
{
	if (e->pending + e->est > 0)
		return;
	if (strmap_get(&s->ips, e->ip) == e)
		strmap_del(&s->ips, e->ip);
}

static void pend_link(struct tls_server *s, struct tls_conn *c)
{
	c->pnext = NULL;
	c->pprev = s->pend_tail;
	if (s->pend_tail)
		s->pend_tail->pnext = c;
	else
		s->pend_head = c;
	s->pend_tail = c;
}

static void pend_unlink(struct tls_server *s, struct tls_conn *c)
{
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		s->pend_head = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	else
		s->pend_tail = c->pprev;
	c->pprev = c->pnext = NULL;
}

/* Gives back what c counts against its address and the listener's caps;
 * done as soon as it is being closed, so a replacement may take its place. */
static void conn_uncount(struct tls_conn *c)
{
	struct tls_server *s = c->srv;
	if (!s || !c->ipe)
		return;
	if (c->established) {
		c->ipe->est--;
		s->st.established--;
	} else {
		c->ipe->pending--;
		s->st.pending--;
		pend_unlink(s, c);
	}
	ip_put(s, c->ipe);
	c->ipe = NULL;
}

static void ratelog(struct tls_server *s, int kind, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void ratelog(struct tls_server *s, int kind, enum log_level level, const char *fmt, ...)
{
	time_t now = time(NULL);
	if (now == s->rl_last[kind]) {
		s->rl_skipped[kind]++;
		return;
	}
	s->rl_last[kind] = now;
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	if (s->rl_skipped[kind])
		log_msg(level, "%s: %s (and %lu more like it since the last such line)", s->o.name, m, s->rl_skipped[kind]);
	else
		log_msg(level, "%s: %s", s->o.name, m);
	s->rl_skipped[kind] = 0;
}

/* ---- idle record buffers ------------------------------------------------------ */

/* Debian's mbedTLS 2.28 is built without MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH:
 * every context holds two 16.7 KB record buffers for its whole life, 33 KB
 * per connection, 67 KB per agent (two connections) — most of the hub's
 * memory with thousands of agents, all for connections that are idle
 * nearly all the time (a long-poll waiting, a heartbeat every 10 s). An
 * idle context holds nothing in them but its record pointers and the
 * 8-byte sequence counters in their first bytes, so we release both while
 * a connection is idle and give it fresh ones before mbedTLS runs again:
 * the same thing mbedTLS's own buffer resizing (and ESP-IDF's dynamic
 * buffers) do. It relies on mbedTLS 2.x's public context fields; on other
 * versions it is off. */
#if MBEDTLS_VERSION_MAJOR == 2 && !defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH) && \
	!defined(MBEDTLS_SSL_DTLS_CONNECTION_ID) && !defined(MBEDTLS_ZLIB_SUPPORT)
#define CAN_PARK 1
#define IN_PTRS(x) {&(x)->in_ctr, &(x)->in_hdr, &(x)->in_len, &(x)->in_iv, &(x)->in_msg, &(x)->in_offt}
#define OUT_PTRS(x) {&(x)->out_ctr, &(x)->out_hdr, &(x)->out_len, &(x)->out_iv, &(x)->out_msg}

/* Released buffers (zeroed) kept for the next connection that needs them:
 * a fan-out wakes thousands of idle connections one after the other, and
 * a 16.7 KB malloc/free pair each was glibc consolidating its free lists
 * every time. At most POOL of each size (4 MB in all). */
#define POOL 128
static struct {
	unsigned char *in[POOL], *out[POOL];
	int nin, nout;
} pool;

static unsigned char *buf_get(bool in)
{
	if (in ? pool.nin : pool.nout)
		return in ? pool.in[--pool.nin] : pool.out[--pool.nout];
	return calloc(1, in ? MBEDTLS_SSL_IN_BUFFER_LEN : MBEDTLS_SSL_OUT_BUFFER_LEN);
}

static void buf_put(bool in, unsigned char *b)
{
	mbedtls_platform_zeroize(b, in ? MBEDTLS_SSL_IN_BUFFER_LEN : MBEDTLS_SSL_OUT_BUFFER_LEN);
	if (in && pool.nin < POOL)
		pool.in[pool.nin++] = b;
	else if (!in && pool.nout < POOL)
		pool.out[pool.nout++] = b;
	else
		free(b);
}

static bool ptrs_save(unsigned char **pp[], int n, const unsigned char *base, size_t len, ptrdiff_t *off)
{
	for (int i = 0; i < n; i++) {
		if (!*pp[i]) {
			off[i] = -1;
			continue;
		}
		if (*pp[i] < base || *pp[i] > base + len)
			return false;
		off[i] = *pp[i] - base;
	}
	return true;
}

static void ptrs_restore(unsigned char **pp[], int n, unsigned char *base, const ptrdiff_t *off)
{
	for (int i = 0; i < n; i++)
		*pp[i] = off[i] < 0 ? NULL : base + off[i];
}
#endif

/* Releases c's record buffers if its context holds nothing in them. */
static void park(struct tls_conn *c)
{
#ifdef CAN_PARK
	mbedtls_ssl_context *x = &c->ssl;
	if (c->parked || c->plain || c->dead || !x->in_buf || !x->out_buf)
		return;
	if (!(c->handshake_done || x->state == MBEDTLS_SSL_HELLO_REQUEST))
		return; /* in the middle of a handshake */
	if (x->in_left || x->in_msglen || x->in_offt || x->in_hslen || x->keep_current_message || x->out_left)
		return; /* a record (part) in or out */
	unsigned char **in[] = IN_PTRS(x), **out[] = OUT_PTRS(x);
	if (!ptrs_save(in, 6, x->in_buf, MBEDTLS_SSL_IN_BUFFER_LEN, c->pk_in) ||
	    !ptrs_save(out, 5, x->out_buf, MBEDTLS_SSL_OUT_BUFFER_LEN, c->pk_out))
		return;
	memcpy(c->pk_in_head, x->in_buf, sizeof c->pk_in_head);
	memcpy(c->pk_out_head, x->out_buf, sizeof c->pk_out_head);
	buf_put(true, x->in_buf);
	buf_put(false, x->out_buf);
	x->in_buf = x->out_buf = NULL;
	for (int i = 0; i < 6; i++)
		*in[i] = NULL;
	for (int i = 0; i < 5; i++)
		*out[i] = NULL;
	c->parked = true;
	if (c->srv)
		c->srv->st.parked++;
#else
	(void)c;
#endif
}

/* Gives c's context its record buffers back; false when out of memory. */
static bool unpark(struct tls_conn *c)
{
#ifdef CAN_PARK
	if (!c->parked)
		return true;
	mbedtls_ssl_context *x = &c->ssl;
	unsigned char *ib = buf_get(true), *ob = buf_get(false);
	if (!ib || !ob) {
		if (ib)
			buf_put(true, ib);
		if (ob)
			buf_put(false, ob);
		return false;
	}
	memcpy(ib, c->pk_in_head, sizeof c->pk_in_head);
	memcpy(ob, c->pk_out_head, sizeof c->pk_out_head);
	mbedtls_platform_zeroize(c->pk_in_head, sizeof c->pk_in_head);
	x->in_buf = ib;
	x->out_buf = ob;
	unsigned char **in[] = IN_PTRS(x), **out[] = OUT_PTRS(x);
	ptrs_restore(in, 6, ib, c->pk_in);
	ptrs_restore(out, 5, ob, c->pk_out);
	c->parked = false;
#else
	(void)c;
#endif
	return true;
}

/* ---- handshake turns ------------------------------------------------------------- */

static void hsq_remove(struct tls_server *s, struct tls_conn *c)
{
	if (!c->hs_queued)
		return;
	if (c->hsq_prev)
		c->hsq_prev->hsq_next = c->hsq_next;
	else
		s->hsq_head = c->hsq_next;
	if (c->hsq_next)
		c->hsq_next->hsq_prev = c->hsq_prev;
	else
		s->hsq_tail = c->hsq_prev;
	c->hs_queued = false;
	c->hsq_prev = c->hsq_next = NULL;
}

static void arm_timer(struct tls_conn *c, int ms);

/* Gives waiting connections the turns that are free; each continues on its kick. */
static void hs_next(struct tls_server *s)
{
	while (s->st.handshaking < s->o.max_handshakes && s->hsq_head) {
		struct tls_conn *c = s->hsq_head;
		hsq_remove(s, c);
		if (c->dead)
			continue;
		c->hs_turn = true;
		s->st.handshaking++;
		arm_timer(c, s->o.handshake_timeout_ms); /* its deadline runs from its turn */
		event_active(c->kick, EV_TIMEOUT, 0);
	}
}

/* c's handshake ended (done, failed or the connection closed): its turn is free. */
static void hs_end(struct tls_conn *c)
{
	struct tls_server *s = c->srv;
	if (!s)
		return;
	hsq_remove(s, c);
	if (c->hs_turn) {
		c->hs_turn = false;
		s->st.handshaking--;
	}
	hs_next(s);
}

/* True when c may run its handshake now; otherwise it waits in the queue. */
static bool hs_take_turn(struct tls_conn *c)
{
	struct tls_server *s = c->srv;
	if (c->hs_turn || !s)
		return true;
	if (c->hs_queued)
		return false;
	if (s->st.handshaking < s->o.max_handshakes && !s->hsq_head) {
		c->hs_turn = true;
		s->st.handshaking++;
		return true;
	}
	c->hs_queued = true;
	c->hsq_next = NULL;
	c->hsq_prev = s->hsq_tail;
	if (s->hsq_tail)
		s->hsq_tail->hsq_next = c;
	else
		s->hsq_head = c;
	s->hsq_tail = c;
	s->st.queued++;
	arm_timer(c, QUEUE_WAIT_MS);
	return false;
}

/* ---- session tickets ------------------------------------------------------------- */

/* Tickets are ours (not mbedtls_ssl_ticket_*, whose keys cannot be set in
 * 2.28) so that their keys can live in the data directory: after a restart
 * every agent resumes its session (no public-key work on either side)
 * instead of all of them doing full handshakes at once. Format, as
 * mbedTLS's own: key name (4) | IV (12) | length (2) | AES-256-GCM of the
 * serialised session | tag (16); name, IV and length are authenticated. */
static int ticket_key_use(struct ticket_key *k)
{
	mbedtls_cipher_init(&k->ctx);
	if (mbedtls_cipher_setup(&k->ctx, mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_256_GCM)) != 0 ||
	    mbedtls_cipher_setkey(&k->ctx, k->key, 256, MBEDTLS_ENCRYPT) != 0) {
		mbedtls_cipher_free(&k->ctx);
		return -1;
	}
	k->set = true;
	return 0;
}

static void ticket_key_drop(struct ticket_key *k)
{
	if (k->set)
		mbedtls_cipher_free(&k->ctx);
	mbedtls_platform_zeroize(k, sizeof *k);
}

static int ticket_key_new(struct ticket_key *k)
{
	ticket_key_drop(k);
	if (tls_rng_fn(NULL, k->name, sizeof k->name) != 0 || tls_rng_fn(NULL, k->key, sizeof k->key) != 0)
		return -1;
	k->created = (long long)time(NULL);
	return ticket_key_use(k);
}

#define TKFILE_MAGIC "ATOLL-TICKET-KEYS-1\n"
#define TKREC (4 + 32 + 8)

static void ticket_keys_save(struct tls_server *s)
{
	const char *path = s->o.ticket_key_file;
	if (!path)
		return;
	unsigned char buf[sizeof TKFILE_MAGIC - 1 + 2 * TKREC] = {0};
	memcpy(buf, TKFILE_MAGIC, sizeof TKFILE_MAGIC - 1);
	unsigned char *p = buf + sizeof TKFILE_MAGIC - 1;
	for (int i = 0; i < 2; i++, p += TKREC) {
		if (!s->tk[i].set)
			continue;
		memcpy(p, s->tk[i].name, 4);
		memcpy(p + 4, s->tk[i].key, 32);
		for (int b = 0; b < 8; b++)
			p[36 + b] = (unsigned char)((unsigned long long)s->tk[i].created >> (56 - 8 * b));
	}
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && write(fd, buf, sizeof buf) == (ssize_t)sizeof buf && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	mbedtls_platform_zeroize(buf, sizeof buf);
	if (!ok || rename(tmp, path) != 0) {
		log_warn("%s: cannot keep the TLS session ticket keys in %s: %s (tickets will not survive a restart)",
			 s->o.name, path, strerror(errno));
		unlink(tmp);
	}
}

/* A new current key; the current one becomes the previous one. */
static int ticket_keys_rotate(struct tls_server *s)
{
	ticket_key_drop(&s->tk[1]);
	s->tk[1] = s->tk[0]; /* the cipher context moves with it */
	memset(&s->tk[0], 0, sizeof s->tk[0]);
	if (ticket_key_new(&s->tk[0]) != 0)
		return -1;
	ticket_keys_save(s);
	return 0;
}

/* Loads the keys kept in the file (if any), rotating when the current one is due. */
static int ticket_keys_init(struct tls_server *s)
{
	const char *path = s->o.ticket_key_file;
	long long now = (long long)time(NULL);
	if (path) {
		unsigned char buf[sizeof TKFILE_MAGIC - 1 + 2 * TKREC];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
		if (fd >= 0)
			close(fd);
		if (n == (ssize_t)sizeof buf && memcmp(buf, TKFILE_MAGIC, sizeof TKFILE_MAGIC - 1) == 0) {
			const unsigned char *p = buf + sizeof TKFILE_MAGIC - 1;
			for (int i = 0; i < 2; i++, p += TKREC) {
				unsigned long long t = 0;
				for (int b = 0; b < 8; b++)
					t = t << 8 | p[36 + b];
				if (t == 0)
					continue;
				memcpy(s->tk[i].name, p, 4);
				memcpy(s->tk[i].key, p + 4, 32);
				s->tk[i].created = (long long)t;
				if (ticket_key_use(&s->tk[i]) != 0)
					return -1;
			}
		} else if (fd >= 0 || errno != ENOENT) {
			log_warn("%s: ignoring the TLS session ticket keys in %s (unreadable or not ours); making new ones",
				 s->o.name, path);
		}
		mbedtls_platform_zeroize(buf, sizeof buf);
	}
	if (!s->tk[0].set || now - s->tk[0].created >= TICKET_ROTATE_S || s->tk[0].created > now + 60)
		return ticket_keys_rotate(s);
	return 0;
}

static int ticket_write(void *ud, const mbedtls_ssl_session *session, unsigned char *start, const unsigned char *end,
			size_t *tlen, uint32_t *lifetime)
{
	struct tls_server *s = ud;
	if (s->tk[0].set && (long long)time(NULL) - s->tk[0].created >= TICKET_ROTATE_S)
		ticket_keys_rotate(s);
	struct ticket_key *k = &s->tk[0];
	*tlen = 0;
	if (!k->set)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	if (end - start < 4 + 12 + 2 + 16)
		return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
	unsigned char *iv = start + 4, *lenp = start + 16, *state = start + 18;
	memcpy(start, k->name, 4);
	if (tls_rng_fn(NULL, iv, 12) != 0)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	size_t clear_len, ciph_len;
	int rc = mbedtls_ssl_session_save(session, state, (size_t)(end - state) - 16, &clear_len);
	if (rc != 0)
		return rc;
	if (clear_len > 0xffff)
		return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
	lenp[0] = (unsigned char)(clear_len >> 8);
	lenp[1] = (unsigned char)clear_len;
	rc = mbedtls_cipher_auth_encrypt_ext(&k->ctx, iv, 12, start, 18, state, clear_len, state, (size_t)(end - state),
					     &ciph_len, 16);
	if (rc != 0)
		return rc;
	*tlen = 18 + ciph_len;
	*lifetime = TICKET_LIFETIME_S;
	return 0;
}

static int ticket_parse(void *ud, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
	struct tls_server *s = ud;
	if (len < 4 + 12 + 2 + 16)
		return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
	struct ticket_key *k = NULL;
	for (int i = 0; i < 2; i++)
		if (s->tk[i].set && memcmp(buf, s->tk[i].name, 4) == 0)
			k = &s->tk[i];
	if (!k)
		return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED; /* a key we no longer have: a full handshake */
	size_t enc_len = (size_t)buf[16] << 8 | buf[17], clear_len;
	if (len != 18 + enc_len + 16)
		return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
	unsigned char *state = buf + 18;
	int rc = mbedtls_cipher_auth_decrypt_ext(&k->ctx, buf + 4, 12, buf, 18, state, enc_len + 16, state, enc_len,
						 &clear_len, 16);
	if (rc == MBEDTLS_ERR_CIPHER_AUTH_FAILED)
		return MBEDTLS_ERR_SSL_INVALID_MAC;
	if (rc != 0)
		return rc;
	if ((rc = mbedtls_ssl_session_load(session, state, clear_len)) != 0)
		return rc;
	long long now = (long long)time(NULL);
	if (now < (long long)session->start || now - (long long)session->start > TICKET_LIFETIME_S)
		return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
	s->st.resumed++;
	return 0;
}

/* ---- configuration ---------------------------------------------------------- */

static void cfg_unref(struct tls_cfg *c)
{
	if (!c || --c->refs > 0)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->own);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_pk_free(&c->key);
	free(c);
}

/* With client certificates optional, a presented certificate that does
 * not verify must still end the handshake: any error from this callback
 * is fatal even in optional mode. */
static int verify_cb(void *ud, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	if (*flags == 0)
		return 0;
	char info[256];
	mbedtls_x509_crt_verify_info(info, sizeof info, "", *flags);
	for (char *p = info; *p; p++)
		if (*p == '\n')
			*p = ';';
	char dn[256] = "";
	mbedtls_x509_dn_gets(dn, sizeof dn, &crt->subject);
	log_info("tls: refusing client certificate \"%s\" (depth %d): %s", dn, depth, info);
	return MBEDTLS_ERR_X509_FATAL_ERROR;
}

static const char *alpn[] = {"http/1.1", NULL};

/* Key exchange groups, ours first: mbedTLS's default puts the slowest curves
 * first, and the server picks by its own order. */
static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
					      MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};

/* Session cache wrappers count resumptions. */
static int cache_get(void *ud, mbedtls_ssl_session *session)
{
	struct tls_server *s = ud;
	int rc = mbedtls_ssl_cache_get(&s->cache, session);
	if (rc == 0)
		s->st.resumed++;
	return rc;
}

static int cache_set(void *ud, const mbedtls_ssl_session *session)
{
	struct tls_server *s = ud;
	return mbedtls_ssl_cache_set(&s->cache, session);
}

static struct tls_cfg *cfg_load(struct tls_server *s, char *err, size_t errlen)
{
	struct tls_cfg *c = calloc(1, sizeof *c);
	c->refs = 1;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->own);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_pk_init(&c->key);
	char m[160];
	int rc;
	if ((rc = mbedtls_x509_crt_parse_file(&c->own, s->cert_file)) != 0) {
		snprintf(err, errlen, "%s: %s", s->cert_file, tls_strerror(rc, m, sizeof m));
		goto fail;
	}
	if ((rc = mbedtls_pk_parse_keyfile(&c->key, s->key_file, NULL)) != 0) {
		snprintf(err, errlen, "%s: %s", s->key_file, tls_strerror(rc, m, sizeof m));
		goto fail;
	}
	if (mbedtls_pk_check_pair(&c->own.pk, &c->key) != 0) {
		snprintf(err, errlen, "%s does not belong to %s", s->key_file, s->cert_file);
		goto fail;
	}
	if (s->ca_file[0] && (rc = mbedtls_x509_crt_parse_file(&c->ca, s->ca_file)) != 0) {
		snprintf(err, errlen, "%s: %s", s->ca_file, tls_strerror(rc, m, sizeof m));
		goto fail;
	}
	if (!tls_rng()) {
		snprintf(err, errlen, "no entropy source for the TLS random generator");
		goto fail;
	}
	if ((rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
					      MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		snprintf(err, errlen, "TLS defaults: %s", tls_strerror(rc, m, sizeof m));
		goto fail;
	}
	mbedtls_ssl_conf_rng(&c->conf, tls_rng_fn, NULL);
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&c->conf, tls_ciphersuites());
	mbedtls_ssl_conf_alpn_protocols(&c->conf, alpn);
	mbedtls_ssl_conf_curves(&c->conf, curves);
	mbedtls_ssl_conf_renegotiation(&c->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	if ((rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->own, &c->key)) != 0) {
		snprintf(err, errlen, "TLS certificate: %s", tls_strerror(rc, m, sizeof m));
		goto fail;
	}
	if (s->ca_file[0]) {
		mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
		mbedtls_ssl_conf_verify(&c->conf, verify_cb, s);
	} else {
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	}
	mbedtls_ssl_conf_session_cache(&c->conf, s, cache_get, cache_set);
	mbedtls_ssl_conf_session_tickets_cb(&c->conf, ticket_write, ticket_parse, s);
	return c;
fail:
	cfg_unref(c);
	return NULL;
}

struct tls_server *tls_server_new(struct event_base *base, const struct tls_server_opts *o, char *err, size_t errlen)
{
	struct tls_server *s = calloc(1, sizeof *s);
	strmap_init(&s->ips, free);
	s->base = base;
	s->o = *o;
	if (!s->o.name)
		s->o.name = o->plain ? "http" : "https";
	if (!s->o.handshake_timeout_ms)
		s->o.handshake_timeout_ms = 10000;
	if (!s->o.first_byte_timeout_ms)
		s->o.first_byte_timeout_ms = 3000;
	if (!s->o.header_timeout_ms)
		s->o.header_timeout_ms = 10000;
	if (!s->o.max_conns)
		s->o.max_conns = 10000;
	if (!s->o.max_conns_per_client)
		s->o.max_conns_per_client = 256;
	if (!s->o.max_pending_per_client)
		s->o.max_pending_per_client = s->o.max_conns_per_client < 32 ? s->o.max_conns_per_client : 32;
	if (s->o.max_handshakes <= 0)
		s->o.max_handshakes = 128;
	s->next_srv = all_servers;
	all_servers = s;
	mbedtls_ssl_cache_init(&s->cache);
	if (o->plain)
		return s;
	snprintf(s->cert_file, sizeof s->cert_file, "%s", o->cert_file);
	snprintf(s->key_file, sizeof s->key_file, "%s", o->key_file);
	snprintf(s->ca_file, sizeof s->ca_file, "%s", o->client_ca_file ? o->client_ca_file : "");
	mbedtls_ssl_cache_set_max_entries(&s->cache, 10000);
	mbedtls_ssl_cache_set_timeout(&s->cache, 3600);
	if (!tls_rng() || ticket_keys_init(s) != 0) {
		snprintf(err, errlen, "cannot set up TLS session tickets");
		tls_server_free(s);
		return NULL;
	}
	s->cur = cfg_load(s, err, errlen);
	if (!s->cur) {
		tls_server_free(s);
		return NULL;
	}
	return s;
}

int tls_server_reload(struct tls_server *s, char *err, size_t errlen)
{
	if (s->o.plain) {
		snprintf(err, errlen, "a plain listener has no certificate");
		return -1;
	}
	struct tls_cfg *c = cfg_load(s, err, errlen);
	if (!c)
		return -1;
	cfg_unref(s->cur);
	s->cur = c;
	return 0;
}

void tls_server_stats(const struct tls_server *s, struct tls_stats *out)
{
	*out = s->st;
}

void tls_servers_foreach(void (*fn)(const char *name, const struct tls_stats *st, void *ud), void *ud)
{
	for (struct tls_server *s = all_servers; s; s = s->next_srv)
		fn(s->o.name, &s->st, ud);
}

/* ---- connections ----------------------------------------------------------------- */

/* False once evhttp has freed the bufferevent: bufferevent_free clears the
 * callbacks at once, while the memory (and c) go later, by finalizer. From
 * then on nothing may touch c->bev: a flush would re-arm its timeouts in
 * memory about to be freed. */
static bool owned(struct tls_conn *c)
{
	bufferevent_event_cb ecb = NULL;
	bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
	return ecb != NULL;
}

static void conn_kill(struct tls_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	conn_uncount(c);
	hs_end(c);
	if (why)
		log_debug("%s: closing connection from %s: %s", c->srv ? c->srv->o.name : "tls", c->ip[0] ? c->ip : "?", why);
	if (c->timer)
		event_del(c->timer);
	bufferevent_disable(c->under, EV_READ);
	/* A pending alert (tiny) reaches the peer before the close. */
	evutil_socket_t fd = bufferevent_getfd(c->under);
	struct evbuffer *out = bufferevent_get_output(c->under);
	if (fd >= 0 && evbuffer_get_length(out) > 0 && evbuffer_get_length(out) < 4096)
		evbuffer_write(out, fd);
	/* The kick tells evhttp, from a clean stack: we may be running inside
	 * the filter or inside evhttp now. (BEV_TRIG_DEFER_CALLBACKS is no
	 * option: a bufferevent made without BEV_OPT_DEFER_CALLBACKS has no
	 * deferred callback set up, and scheduling it corrupts the loop.) */
	event_active(c->kick, EV_TIMEOUT, 0);
}

static void arm_timer(struct tls_conn *c, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(c->timer, &tv);
}

/* How long a TLS connection may stay silent after connecting. */
static int first_wait_ms(const struct tls_server *s)
{
	return s->o.first_byte_timeout_ms < s->o.handshake_timeout_ms ? s->o.first_byte_timeout_ms
								       : s->o.handshake_timeout_ms;
}

#define SILENT_MS 200   /* connected this long with nothing sent: may make room for a new connection */
#define STALLED_MS 1000 /* in the handshake this long: may make room too, when no silent one can */

static bool silent(struct tls_conn *c);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;
	if (!owned(c))
		return;
	struct tls_server *s = c->srv;
	if (c->probation) {
		c->probation = false;
		if (c->ipe && !c->established && c->ipe->pending > s->o.max_pending_per_client && silent(c)) {
			s->st.over_limit++;
			ratelog(s, RL_LIMIT, LOG_WARN,
				"refusing a connection from %s: silent, and %d from this address not yet through the "
				"handshake (limit %d)",
				c->ip, c->ipe->pending, s->o.max_pending_per_client);
			conn_kill(c, NULL);
			return;
		}
		if (!c->sniffed) { /* the rest of the first-byte deadline */
			long long left = (c->plain ? s->o.first_byte_timeout_ms : first_wait_ms(s)) - (now_ms() - c->t0);
			arm_timer(c, left > 1 ? (int)left : 1);
			return;
		}
	}
	s->st.timed_out++;
	if (!c->sniffed) {
		s->st.silent_timeouts++;
		ratelog(s, RL_SILENT, LOG_INFO, "closing connection from %s: nothing received within %d ms", c->ip,
			c->plain ? s->o.first_byte_timeout_ms : first_wait_ms(s));
	} else if (!c->handshake_done && c->hs_queued) {
		s->st.handshake_timeouts++;
		ratelog(s, RL_HANDSHAKE, LOG_INFO, "closing connection from %s: no handshake turn within %d ms (%d in progress)",
			c->ip, QUEUE_WAIT_MS, s->st.handshaking);
	} else if (!c->handshake_done) {
		s->st.handshake_timeouts++;
		ratelog(s, RL_HANDSHAKE, LOG_INFO, "closing connection from %s: no TLS handshake within %d ms", c->ip,
			s->o.handshake_timeout_ms);
	} else {
		s->st.header_timeouts++;
		ratelog(s, RL_HEADER, LOG_INFO, "closing connection from %s: request head not complete within %d ms", c->ip,
			s->o.header_timeout_ms);
	}
	conn_kill(c, NULL);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_conn *c = ctx;
	if (!c->dead)
		evbuffer_add(bufferevent_get_output(c->under), buf, len);
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_conn *c = ctx;
	if (!c->rx || evbuffer_get_length(c->rx) == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return evbuffer_remove(c->rx, buf, len);
}

/* Tracks the request head: from its first byte until the empty line that
 * ends it, a deadline runs (slowloris defence). */
static void track_head(struct tls_conn *c, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && c->head != HEAD_DONE; i++) {
		if (c->head == HEAD_IDLE) {
			c->head = HEAD_READING;
			c->eol = 0;
			arm_timer(c, c->srv->o.header_timeout_ms);
		}
		unsigned char ch = p[i];
		switch (c->eol) {
		case 0: c->eol = ch == '\n' ? 1 : 0; break;
		case 1: c->eol = ch == '\r' ? 2 : ch == '\n' ? 3 : 0; break;
		case 2: c->eol = ch == '\n' ? 3 : 0; break;
		}
		if (c->eol == 3) {
			c->head = HEAD_DONE; /* body and response: other limits apply */
			event_del(c->timer);
		}
	}
}

/* c finished its TLS handshake (plain listener: sent its first byte): it
 * moves from its address's pending quota to the established one. */
static void conn_established(struct tls_conn *c)
{
	struct tls_server *s = c->srv;
	if (!s || !c->ipe || c->established)
		return;
	pend_unlink(s, c);
	c->ipe->pending--;
	s->st.pending--;
	c->established = true;
	c->ipe->est++;
	s->st.established++;
	if (c->ipe->est > s->o.max_conns_per_client) {
		s->st.over_limit++;
		ratelog(s, RL_LIMIT, LOG_WARN, "refusing a connection from %s: %d established from this address (limit %d)",
			c->ip, c->ipe->est, s->o.max_conns_per_client);
		conn_kill(c, NULL);
	}
}

/* Sent nothing, not even bytes we have not read yet. */
static bool silent(struct tls_conn *c)
{
	if (c->sniffed || evbuffer_get_length(bufferevent_get_input(c->under)) > 0)
		return false;
	unsigned char b;
	evutil_socket_t fd = bufferevent_getfd(c->under);
	return fd < 0 || recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 1;
}

/* The oldest pending connection other than self (of address e, or of any
 * when e is NULL) that has sent nothing for SILENT_MS; with stalled, one
 * that has sent something but is still not through its handshake after
 * STALLED_MS. A burst of new connections does not push out its own
 * members: they are all too young. */
static struct tls_conn *pend_victim(struct tls_server *s, struct ip_count *e, struct tls_conn *self, bool stalled)
{
	long long t = now_ms();
	for (struct tls_conn *p = s->pend_head; p; p = p->pnext) {
		if (t - p->t0 < SILENT_MS)
			break; /* oldest first: the rest are younger */
		if (p == self || p->dead || (e && p->ipe != e) || p->hs_queued || p->hs_turn)
			continue; /* one waiting for, or in, its handshake turn is slow because of us, not the client */
		if (stalled ? t - p->t0 >= STALLED_MS : silent(p))
			return p;
	}
	return NULL;
}

/* Makes room for self by closing the oldest silent (else stalled) pending
 * connection; false when there is none. */
static bool evict_for(struct tls_server *s, struct ip_count *e, struct tls_conn *self, const char *quota)
{
	struct tls_conn *v = pend_victim(s, e, self, false);
	if (!v)
		v = pend_victim(s, e, self, true);
	if (!v)
		return false;
	s->st.evicted++;
	ratelog(s, RL_EVICT, LOG_INFO, "closing the oldest unfinished connection from %s (%lld ms old, %s) to admit a new one: %s full",
		v->ip, now_ms() - v->t0, v->sniffed ? "handshake stalled" : "nothing received", quota);
	conn_kill(v, NULL);
	return true;
}

/* First look at a connection once evhttp gave it its socket: its address,
 * and the caps. A connection over a cap takes the place of the oldest
 * pending one that has sent nothing (else stalled), or is refused. */
static void conn_admit(struct tls_conn *c)
{
	struct tls_server *s = c->srv;
	c->checked = true;
	evutil_socket_t fd = bufferevent_getfd(c->under);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->ip, sizeof c->ip);
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->ip, sizeof c->ip);
	}
	if (!c->ip[0])
		snprintf(c->ip, sizeof c->ip, "unknown");
	if (c->dead)
		return;
	struct ip_count *e = ip_get(s, c->ip);
	c->ipe = e;
	e->pending++;
	s->st.pending++;
	pend_link(s, c);
	if (s->st.pending + s->st.established > s->o.max_conns && !evict_for(s, NULL, c, "the listener")) {
		s->st.over_limit++;
		ratelog(s, RL_LIMIT, LOG_WARN, "refusing a connection from %s: %d open (limit %d), %d from this address",
			c->ip, s->st.pending + s->st.established, s->o.max_conns, e->pending + e->est);
		conn_kill(c, NULL);
		return;
	}
	if (e->pending > s->o.max_pending_per_client && !evict_for(s, e, c, "its address's pending quota")) {
		/* Part of a burst: kept if it sends something soon (a burst of
		 * real clients), closed if it stays silent (a burst of idle ones). */
		c->probation = true;
		arm_timer(c, SILENT_MS);
	}
}

static const char plain_reply[] =
	"HTTP/1.1 400 Bad Request\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Connection: close\r\n"
	"Content-Length: 48\r\n\r\n"
	"Client sent an HTTP request to an HTTPS server.\n";

static void handshake_done(struct tls_conn *c)
{
	struct tls_server *s = c->srv;
	c->handshake_done = true;
	event_del(c->timer);
	s->st.handshakes++;
	hs_end(c);
	conn_established(c);
	if (c->dead)
		return;
	const mbedtls_x509_crt *pc = mbedtls_ssl_get_peer_cert(&c->ssl);
	if (pc) {
		if (mbedtls_ssl_get_verify_result(&c->ssl) != 0) {
			s->st.failed++;
			conn_kill(c, "client certificate did not verify");
			return;
		}
		c->peer.has_cert = true;
		tls_name_attr(&pc->subject, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), c->peer.cn,
			      sizeof c->peer.cn);
		for (const mbedtls_x509_name *n = &pc->subject; n && c->peer.norgs < TLS_PEER_MAX_ORGS; n = n->next) {
			if (n->oid.len == MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORGANIZATION) &&
			    memcmp(n->oid.p, MBEDTLS_OID_AT_ORGANIZATION, n->oid.len) == 0 &&
			    n->val.len < sizeof c->peer.orgs[0]) {
				memcpy(c->peer.orgs[c->peer.norgs], n->val.p, n->val.len);
				c->peer.orgs[c->peer.norgs][n->val.len] = '\0';
				c->peer.norgs++;
			}
		}
	}
}

static enum bufferevent_filter_result in_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
						enum bufferevent_flush_mode mode, void *ctx)
{
	struct tls_conn *c = ctx;
	if (!c->checked && !c->dead && c->srv)
		conn_admit(c);
	if (c->dead) {
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_NEED_MORE;
	}
	if (c->plain) {
		if (evbuffer_get_length(src) == 0)
			return BEV_NEED_MORE;
		if (!c->sniffed) {
			c->sniffed = true;
			c->probation = false;
			event_del(c->timer);
			conn_established(c);
			if (c->dead) {
				evbuffer_drain(src, evbuffer_get_length(src));
				return BEV_NEED_MORE;
			}
		}
		unsigned char buf[REC];
		int n;
		while ((n = evbuffer_remove(src, buf, sizeof buf)) > 0) {
			if (c->head != HEAD_DONE)
				track_head(c, buf, (size_t)n);
			evbuffer_add(dst, buf, (size_t)n);
		}
		return BEV_OK;
	}
	if (!c->sniffed) {
		unsigned char first;
		if (evbuffer_copyout(src, &first, 1) != 1)
			return BEV_NEED_MORE;
		c->sniffed = true;
		c->probation = false;
		if (first == 0x16) {
			/* The rest of the handshake deadline, from the connect. */
			long long left = c->srv->o.handshake_timeout_ms - (now_ms() - c->t0);
			arm_timer(c, left > 1 ? (int)left : 1);
		} else { /* not a TLS handshake record */
			if (isupper(first)) {
				c->srv->st.plain_http++;
				ratelog(c->srv, RL_PLAIN, LOG_INFO, "plain HTTP from %s on the TLS port; answering 400 and closing", c->ip);
				/* Tiny, so the kernel takes it at once; then close. */
				evutil_socket_t fd = bufferevent_getfd(c->under);
				if (fd >= 0 && send(fd, plain_reply, sizeof plain_reply - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
					log_debug("tls: cannot answer %s: %s", c->ip, strerror(errno));
				evbuffer_drain(src, evbuffer_get_length(src));
				conn_kill(c, NULL);
				return BEV_NEED_MORE;
			}
			c->srv->st.failed++;
			evbuffer_drain(src, evbuffer_get_length(src));
			conn_kill(c, "not a TLS handshake");
			return BEV_NEED_MORE;
		}
	}
	if (!c->handshake_done && !hs_take_turn(c))
		return BEV_NEED_MORE; /* its ClientHello waits in src for a turn (hs_next kicks it) */
	if (!unpark(c)) {
		conn_kill(c, "out of memory for TLS record buffers");
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_NEED_MORE;
	}
	c->rx = src;
	if (!c->handshake_done) {
		int rc = mbedtls_ssl_handshake(&c->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			c->rx = NULL;
			return BEV_NEED_MORE;
		}
		if (rc != 0) {
			char m[160];
			c->rx = NULL;
			c->srv->st.failed++;
			ratelog(c->srv, RL_TLSERR, LOG_INFO, "handshake with %s failed: %s", c->ip, tls_strerror(rc, m, sizeof m));
			conn_kill(c, NULL);
			return BEV_NEED_MORE;
		}
		handshake_done(c);
		if (c->dead) {
			c->rx = NULL;
			return BEV_NEED_MORE;
		}
	}
	bool produced = false;
	unsigned char buf[REC];
	for (;;) {
		int n = mbedtls_ssl_read(&c->ssl, buf, sizeof buf);
		if (n > 0) {
			if (c->head != HEAD_DONE)
				track_head(c, buf, (size_t)n);
			evbuffer_add(dst, buf, (size_t)n);
			produced = true;
			continue;
		}
		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
		if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
			conn_kill(c, "peer closed the TLS session");
		} else {
			char m[160];
			log_info("tls: connection from %s: %s", c->ip, tls_strerror(n, m, sizeof m));
			conn_kill(c, NULL);
		}
		break;
	}
	c->rx = NULL;
	park(c);
	return produced ? BEV_OK : BEV_NEED_MORE;
}

static enum bufferevent_filter_result out_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
						 enum bufferevent_flush_mode mode, void *ctx)
{
	struct tls_conn *c = ctx;
	bool progress = false;
	if (c->dead) {
		/* Nothing more goes out; let evhttp see its output drained. */
		if (evbuffer_get_length(src)) {
			evbuffer_drain(src, evbuffer_get_length(src));
			return BEV_OK;
		}
		return BEV_NEED_MORE;
	}
	if (c->sent_ahead) {
		if (evbuffer_get_length(dst) > 0)
			return BEV_NEED_MORE;
		evbuffer_drain(src, c->sent_ahead);
		c->sent_ahead = 0;
		progress = true;
	}
	if (!c->handshake_done)
		return progress ? BEV_OK : BEV_NEED_MORE;
	if (evbuffer_get_length(src) > 0 && evbuffer_get_length(dst) < OUT_HIGH && !unpark(c)) {
		conn_kill(c, "out of memory for TLS record buffers");
		return BEV_NEED_MORE;
	}
	while (evbuffer_get_length(src) > 0 && evbuffer_get_length(dst) < OUT_HIGH) {
		size_t left = evbuffer_get_length(src);
		size_t n = left < REC ? left : REC;
		unsigned char *p = evbuffer_pullup(src, (ev_ssize_t)n);
		int w = (int)n;
		if (c->plain)
			evbuffer_add(dst, p, n);
		else
			w = mbedtls_ssl_write(&c->ssl, p, n);
		if (w < 0) {
			char m[160];
			log_info("tls: writing to %s: %s", c->ip, tls_strerror(w, m, sizeof m));
			conn_kill(c, NULL);
			return BEV_NEED_MORE;
		}
		progress = true;
		if (c->head == HEAD_DONE)
			c->head = HEAD_IDLE; /* the next bytes in start a new request */
		if ((size_t)w == left && evbuffer_get_length(dst) > 0) {
			/* The last record is queued, not yet sent: keep its
			 * plaintext until the socket drains. */
			c->sent_ahead = (size_t)w;
			break;
		}
		evbuffer_drain(src, (size_t)w);
	}
	park(c);
	return progress ? BEV_OK : BEV_NEED_MORE;
}

static void on_kick(evutil_socket_t fd_unused, short what, void *arg)
{
	struct tls_conn *c = arg;
	struct tls_server *s = c->srv;
	if (!owned(c))
		return;
	if (!c->checked && s)
		conn_admit(c); /* first pass after evhttp gave the socket its fd */
	if (c->dead) {
		if (!c->close_sent) {
			c->close_sent = true;
			/* evhttp handles this like a client that went away; it may
			 * free the connection (and c, later, by finalizer). */
			bufferevent_trigger_event(c->bev, BEV_EVENT_ERROR | BEV_EVENT_READING, 0);
		}
		return;
	}
	if (c->hs_turn && !c->handshake_done && evbuffer_get_length(bufferevent_get_input(c->under)) > 0) {
		/* Its turn came while its ClientHello waited: run the input filter. */
		bufferevent_flush(c->bev, EV_READ, BEV_NORMAL); /* may free c */
		return;
	}
	if ((bufferevent_get_enabled(c->bev) & EV_WRITE) && evbuffer_get_length(bufferevent_get_output(c->bev)))
		bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL); /* may free c */
}

static void on_plain_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct tls_conn *c = arg;
	if (info->n_added)
		event_active(c->kick, EV_TIMEOUT, 0);
}

static void conn_free(void *arg)
{
	struct tls_conn *c = arg;
	struct tls_server *s = c->srv;
	/* Called by the finalizer, just before libevent frees the filter. With
	 * evhttp's timeouts set, the filter's generic write timeout is still
	 * armed here every time a connection closes after a response (it is
	 * re-armed after bufferevent_free as the last bytes are processed; only
	 * one of the callbacks is marked finalizing). Left in the timer heap,
	 * freed memory corrupts the loop (seen under valgrind as reads of a
	 * freed filter from event_del/event_add). */
	event_del(&c->bev->ev_read);
	event_del(&c->bev->ev_write);
	conn_unregister(c);
	conn_uncount(c);
	hs_end(c);
	if (s)
		s->st.open--;
	event_free(c->kick);
	event_free(c->timer);
	mbedtls_ssl_free(&c->ssl);
	cfg_unref(c->cfg);
	free(c);
	listenguard_fd_freed(); /* the socket is closed by now (or right after) */
}

struct bufferevent *tls_server_bevcb(struct event_base *base, void *server)
{
	struct tls_server *s = server;
	struct tls_conn *c = calloc(1, sizeof *c);
	c->srv = s;
	c->plain = s->o.plain;
	c->t0 = now_ms();
	mbedtls_ssl_init(&c->ssl);
	if (c->plain) {
		c->handshake_done = true;
	} else {
		c->cfg = s->cur;
		c->cfg->refs++;
		if (mbedtls_ssl_setup(&c->ssl, &c->cfg->conf) != 0)
			c->dead = true; /* out of memory: the kick closes it */
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	park(c); /* no buffers until its handshake runs */
	c->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->bev = bufferevent_filter_new(c->under, in_filter, out_filter, BEV_OPT_CLOSE_ON_FREE, conn_free, c);
	c->kick = event_new(base, -1, 0, on_kick, c);
	c->timer = event_new(base, -1, 0, on_timer, c);
	evbuffer_add_cb(bufferevent_get_output(c->bev), on_plain_added, c);
	s->st.open++;
	conn_register(c);
	arm_timer(c, c->plain ? s->o.first_byte_timeout_ms : first_wait_ms(s));
	event_active(c->kick, EV_TIMEOUT, 0);
	if (c->dead)
		conn_kill(c, "cannot set up TLS");
	return c->bev;
}

void tls_server_free(struct tls_server *s)
{
	if (!s)
		return;
	for (struct tls_server **pp = &all_servers; *pp; pp = &(*pp)->next_srv)
		if (*pp == s) {
			*pp = s->next_srv;
			break;
		}
	for (int i = 0; i < BUCKETS; i++)
		for (struct tls_conn *c = all_conns[i]; c; c = c->next)
			if (c->srv == s) {
				c->ipe = NULL;
				c->srv = NULL; /* should not happen after evhttp_free */
			}
	strmap_clear(&s->ips);
	cfg_unref(s->cur);
	mbedtls_ssl_cache_free(&s->cache);
	ticket_key_drop(&s->tk[0]);
	ticket_key_drop(&s->tk[1]);
	free(s);
}
