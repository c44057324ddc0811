#include "httpclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "kubeconfig.h"
#include "log.h"

struct http_call {
	struct http_client *c;
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *connect_to;
	http_done_fn done;
	http_data_fn on_data;
	http_cleanup_fn cleanup;
	void *ud;
	char *buf;
	size_t len, cap, max;
	char errbuf[CURL_ERROR_SIZE];
	char *body_copy;
	bool cancelled;
	bool completed;
	bool too_big;
	bool aborted;
	bool streaming_decided, streaming;
	struct http_call *next, *prev;     /* all calls */
	struct http_call *next_cancel;     /* pending removal */
};

struct sockinfo {
	struct http_client *c;
	curl_socket_t fd;
	struct event *ev;
};

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct http_call *calls;
	struct http_call *cancelled;
	int inflight;
	int depth; /* >0 while inside curl_multi_socket_action */
	/* Finished easy handles kept for the next request (curl_easy_reset):
	 * setting one up from scratch is most of libcurl's cost per request.
	 * Two, as each keeps its buffers and the agent counts its KiB. */
	CURL *spare[2];
	int nspare;
	CURLSH *share; /* TLS sessions shared by this client's requests (http_client_one_connection) */
};

static int global_refs;

static void call_unlink(struct http_call *call)
{
	struct http_client *c = call->c;
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	c->inflight--;
}

static void call_free(struct http_call *call)
{
	if (!call->completed && call->cleanup)
		call->cleanup(call->ud);
	struct http_client *c = call->c;
	curl_multi_remove_handle(c->multi, call->easy);
	if (c->nspare < (int)(sizeof c->spare / sizeof c->spare[0])) {
		curl_easy_reset(call->easy);
		c->spare[c->nspare++] = call->easy;
	} else {
		curl_easy_cleanup(call->easy);
	}
	curl_slist_free_all(call->headers);
	curl_slist_free_all(call->connect_to);
	free(call->buf);
	free(call->body_copy);
	call_unlink(call);
	free(call);
}

static void drain_cancelled(struct http_client *c)
{
	while (c->cancelled) {
		struct http_call *call = c->cancelled;
		c->cancelled = call->next_cancel;
		call_free(call);
	}
}

static void check_done(struct http_client *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct http_call *call = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		if (!call || call->cancelled)
			continue;
		CURLcode res = m->data.result;
		struct http_response r = {0};
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &r.status);
		curl_easy_getinfo(call->easy, CURLINFO_TOTAL_TIME, &r.seconds);
		if (res != CURLE_OK) {
			r.status = 0;
			if (call->too_big)
				r.error = "response body too large";
			else if (call->aborted)
				r.error = "aborted";
			else
				r.error = call->errbuf[0] ? call->errbuf : curl_easy_strerror(res);
		}
		r.body = call->buf ? call->buf : "";
		r.len = call->len;
		/* Unlink before the callback so it may start or cancel calls freely. */
		curl_multi_remove_handle(c->multi, call->easy);
		call->cancelled = true; /* a cancel from the callback is a no-op */
		call->completed = true;
		c->depth++;             /* other cancels wait until the queue is read */
		if (call->done)
			call->done(&r, call->ud);
		c->depth--;
		call_free(call);
	}
}

static void socket_action(struct http_client *c, curl_socket_t fd, int flags)
{
	int running;
	c->depth++;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	c->depth--;
	drain_cancelled(c);
	check_done(c);
	drain_cancelled(c);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int flags = 0;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	socket_action(c, fd, flags);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *cbp, void *sockp)
{
	struct http_client *c = cbp;
	struct sockinfo *si = sockp;
	if (what == CURL_POLL_REMOVE) {
		if (si) {
			event_free(si->ev);
			free(si);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (!si) {
		si = calloc(1, sizeof *si);
		si->c = c;
		si->fd = s;
		curl_multi_assign(c->multi, s, si);
	} else {
		event_free(si->ev);
	}
	si->ev = event_new(c->base, s, kind, on_socket_event, c);
	event_add(si->ev, NULL);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	evtimer_add(c->timer, &tv);
	return 0;
}

struct http_client *http_client_new(struct event_base *base)
{
	if (global_refs++ == 0)
		curl_global_init(CURL_GLOBAL_DEFAULT);
	struct http_client *c = calloc(1, sizeof *c);
	c->base = base;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 16L);
	return c;
}

void http_client_one_connection(struct http_client *c)
{
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 1L);
	if (!c->share) {
		c->share = curl_share_init();
		if (c->share)
			curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	drain_cancelled(c);
	while (c->calls)
		call_free(c->calls);
	while (c->nspare > 0)
		curl_easy_cleanup(c->spare[--c->nspare]);
	curl_multi_cleanup(c->multi);
	if (c->share)
		curl_share_cleanup(c->share);
	event_free(c->timer);
	free(c);
	if (--global_refs == 0)
		curl_global_cleanup();
}

int http_inflight(const struct http_client *c) { return c->inflight; }

static bool append(struct http_call *call, const char *data, size_t n)
{
	if (call->len + n > call->max) {
		call->too_big = true;
		return false;
	}
	if (call->len + n + 1 > call->cap) {
		size_t nc = call->cap ? call->cap : 4096;
		while (nc < call->len + n + 1)
			nc *= 2;
		char *nb = realloc(call->buf, nc);
		if (!nb)
			return false;
		call->buf = nb;
		call->cap = nc;
	}
	memcpy(call->buf + call->len, data, n);
	call->len += n;
	call->buf[call->len] = '\0';
	return true;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_call *call = ud;
	size_t n = size * nmemb;
	if (call->cancelled)
		return 0;
	if (call->on_data && !call->streaming_decided) {
		long code = 0;
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
		call->streaming = code >= 200 && code < 300;
		call->streaming_decided = true;
	}
	if (call->streaming) {
		if (!call->on_data(data, n, call->ud)) {
			call->aborted = true;
			return 0;
		}
		return n;
	}
	return append(call, data, n) ? n : 0;
}

static char *read_token_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char buf[8192];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n ? strdup(buf) : NULL;
}

static void set_blob(CURL *e, CURLoption opt, const unsigned char *data, size_t len)
{
	struct curl_blob b = {(void *)data, len, CURL_BLOB_COPY};
	curl_easy_setopt(e, opt, &b);
}

void http_target_from_kubeconfig(struct http_target *t, const struct kubeconfig *kc, const char *user_agent)
{
	memset(t, 0, sizeof *t);
	t->base_url = kc->server;
	t->tls.ca_file = kc->ca_file;
	t->tls.ca_pem = kc->ca_data;
	t->tls.ca_pem_len = kc->ca_len;
	t->tls.cert_file = kc->cert_file;
	t->tls.cert_pem = kc->cert_data;
	t->tls.cert_pem_len = kc->cert_len;
	t->tls.key_file = kc->key_file;
	t->tls.key_pem = kc->key_data;
	t->tls.key_pem_len = kc->key_len;
	t->tls.insecure_skip_verify = kc->insecure_skip_tls_verify;
	t->tls.server_name = kc->tls_server_name && *kc->tls_server_name ? kc->tls_server_name : NULL;
	t->bearer_token = kc->token;
	t->token_file = kc->token ? NULL : kc->token_file;
	t->username = kc->username;
	t->password = kc->password;
	t->user_agent = user_agent;
}

/* host and port of a URL ("[::1]" style for IPv6); port defaulted. */
static int url_host_port(const char *url, char *host, size_t hlen, char *port, size_t plen, bool *port_given)
{
	CURLU *u = curl_url();
	char *h = NULL, *pt = NULL, *given = NULL;
	int rc = -1;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &pt, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		*port_given = curl_url_get(u, CURLUPART_PORT, &given, 0) == CURLUE_OK;
		snprintf(host, hlen, "%s", h);
		snprintf(port, plen, "%s", pt);
		rc = 0;
	}
	curl_free(h);
	curl_free(pt);
	curl_free(given);
	curl_url_cleanup(u);
	return rc;
}

int http_tls_plan(const struct http_target *t, struct http_tls_plan *p)
{
	memset(p, 0, sizeof *p);
	const struct http_tls *tls = &t->tls;
	p->verify_peer = tls->insecure_skip_verify ? 0L : 1L;
	p->verify_host = tls->insecure_skip_verify ? 0L : 2L;
	p->ca_blob = tls->ca_pem != NULL;
	p->ca_file = !p->ca_blob && tls->ca_file != NULL;
	/* As kubectl: a given CA is the only trust anchor. */
	p->system_roots = !p->ca_blob && !p->ca_file;
	p->client_cert = tls->cert_pem != NULL || tls->cert_file != NULL;
	if (tls->server_name) {
		char host[256], port[16];
		bool given;
		if (url_host_port(t->base_url, host, sizeof host, port, sizeof port, &given) < 0)
			return -1;
		snprintf(p->url_host, sizeof p->url_host, "%s", tls->server_name);
		snprintf(p->connect_to, sizeof p->connect_to, "%s:%s:%s:%s", tls->server_name, port, host, port);
	}
	return 0;
}

/* The request URL; with a server name, its host replaced by that name
 * (curl then sends it as SNI and verifies the certificate against it,
 * while CONNECT_TO keeps the real address). host_hdr gets the original
 * authority for the Host header then. */
static char *request_url(const struct http_target *t, const struct http_request *r, const struct http_tls_plan *p,
			 char *host_hdr, size_t hlen)
{
	size_t ul = strlen(t->base_url) + strlen(r->path) + 1;
	char *url = malloc(ul);
	snprintf(url, ul, "%s%s", t->base_url, r->path);
	host_hdr[0] = '\0';
	if (!p->url_host[0])
		return url;
	CURLU *u = curl_url();
	char *out = NULL, *h = NULL, *port = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_HOST, &h, 0);
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		if (h)
			snprintf(host_hdr, hlen, "Host: %s%s%s", h, port ? ":" : "", port ? port : "");
		if (curl_url_set(u, CURLUPART_HOST, p->url_host, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
			out = NULL;
	}
	curl_free(h);
	curl_free(port);
	curl_url_cleanup(u);
	if (out) {
		free(url);
		url = strdup(out);
		curl_free(out);
	} else {
		host_hdr[0] = '\0';
	}
	return url;
}

struct http_call *http_start(struct http_client *c, const struct http_target *t, const struct http_request *r,
			     http_done_fn done, void *ud)
{
	CURL *e = c->nspare > 0 ? c->spare[--c->nspare] : curl_easy_init();
	if (!e)
		return NULL;
	struct http_call *call = calloc(1, sizeof *call);
	call->c = c;
	call->easy = e;
	call->done = done;
	call->on_data = r->on_data;
	call->cleanup = r->cleanup;
	call->ud = ud;
	call->max = r->max_body ? r->max_body : (64u << 20);
	struct http_tls_plan plan;
	if (http_tls_plan(t, &plan) < 0) {
		/* An unparsable URL: curl reports it; verification stays on. */
		memset(&plan, 0, sizeof plan);
		plan.verify_peer = 1;
		plan.verify_host = 2;
		plan.system_roots = !t->tls.ca_pem && !t->tls.ca_file;
		plan.ca_blob = t->tls.ca_pem != NULL;
		plan.ca_file = !plan.ca_blob && t->tls.ca_file;
	}
	char host_hdr[300];
	char *url = request_url(t, r, &plan, host_hdr, sizeof host_hdr);
	curl_easy_setopt(e, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, call);
	if (c->share)
		curl_easy_setopt(e, CURLOPT_SHARE, c->share);
	if (t->proxy)
		curl_easy_setopt(e, CURLOPT_PROXY, t->proxy);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms > 0 ? r->connect_timeout_ms : 5000L);
	if (r->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, t->user_agent ? t->user_agent : "atoll");
	const char *m = r->method ? r->method : "GET";
	if (strcmp(m, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
	if (r->body || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
		call->body_copy = malloc(r->body_len + 1);
		if (r->body_len)
			memcpy(call->body_copy, r->body, r->body_len);
		call->body_copy[r->body_len] = '\0';
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body_copy);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	}
	char h[8300];
	snprintf(h, sizeof h, "Accept: %s", r->accept ? r->accept : "application/json");
	call->headers = curl_slist_append(call->headers, h);
	if (r->content_type) {
		snprintf(h, sizeof h, "Content-Type: %s", r->content_type);
		call->headers = curl_slist_append(call->headers, h);
	}
	call->headers = curl_slist_append(call->headers, "Expect:");
	if (host_hdr[0])
		call->headers = curl_slist_append(call->headers, host_hdr);
	char *tok = t->bearer_token ? strdup(t->bearer_token) : t->token_file ? read_token_file(t->token_file) : NULL;
	if (tok) {
		snprintf(h, sizeof h, "Authorization: Bearer %s", tok);
		call->headers = curl_slist_append(call->headers, h);
		memset(h, 0, sizeof h);
		memset(tok, 0, strlen(tok));
		free(tok);
	} else if (t->username) {
		curl_easy_setopt(e, CURLOPT_USERNAME, t->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, t->password ? t->password : "");
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
	const struct http_tls *tls = &t->tls;
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, plan.verify_peer);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, plan.verify_host);
	if (plan.ca_blob)
		set_blob(e, CURLOPT_CAINFO_BLOB, tls->ca_pem, tls->ca_pem_len);
	else if (plan.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, tls->ca_file);
	if (!plan.system_roots)
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL); /* not /etc/ssl/certs besides the given CA */
	if (plan.connect_to[0]) {
		call->connect_to = curl_slist_append(NULL, plan.connect_to);
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, call->connect_to);
	}
	if (tls->cert_pem)
		set_blob(e, CURLOPT_SSLCERT_BLOB, tls->cert_pem, tls->cert_pem_len);
	else if (tls->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, tls->cert_file);
	if (tls->key_pem)
		set_blob(e, CURLOPT_SSLKEY_BLOB, tls->key_pem, tls->key_pem_len);
	else if (tls->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, tls->key_file);
	if (tls->pinned_pubkey)
		curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, tls->pinned_pubkey);
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->inflight++;
	curl_multi_add_handle(c->multi, e);
	return call;
}

void http_cancel(struct http_call *call)
{
	if (!call || call->cancelled)
		return;
	call->cancelled = true;
	struct http_client *c = call->c;
	if (c->depth > 0) {
		call->next_cancel = c->cancelled;
		c->cancelled = call;
		return;
	}
	call_free(call);
}

const char *http_escape(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s && o + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '_' || ch == '.' || ch == '~') {
			buf[o++] = (char)ch;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}
