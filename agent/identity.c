/* identity.c — the agent's identity towards the hub: joining with a
 * bootstrap token (docs/protocol.md, "Joining"), the key, certificate and
 * CA kept in the state directory, and renewing the certificate before it
 * expires. The pure parts are common/join.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/x509_crt.h>

#include "agent.h"
#include "hubclient.h"
#include "memberapi.h"
#include "retry.h"
#include "join.h"
#include "jsonutil.h"
#include "timefmt.h"
#include "tlsconf.h"

#define JOIN_PATH "/apis/atoll.io/v1alpha1/join"
#define RENEW_CHECK_MS (3600L * 1000)

/* ---- files in the state directory ---- */

static void state_path(const struct agent *ag, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ag->cfg.state_dir, name);
}

static char *read_state_file(const struct agent *ag, const char *name)
{
	char p[4200], err[256];
	size_t len;
	state_path(ag, name, p, sizeof p);
	return (char *)tls_read_file(p, &len, err, sizeof err);
}

static int write_state_file(const struct agent *ag, const char *name, const char *data, char *err, size_t errlen)
{
	char p[4200];
	state_path(ag, name, p, sizeof p);
	return tls_write_file(p, data, strlen(data), 0600, err, errlen);
}

/* Key, certificate and CA from now on: PEM in memory, so a renewal swaps
 * them between two requests (libcurl copies them per request). */
static void use_identity(struct agent *ag, char *key, char *crt, char *ca)
{
	free(ag->id_key);
	free(ag->id_crt);
	if (ca) {
		free(ag->id_ca);
		ag->id_ca = ca;
	}
	ag->id_key = key;
	ag->id_crt = crt;
	ag->hub.tls.key_pem = (const unsigned char *)key;
	ag->hub.tls.key_pem_len = strlen(key);
	ag->hub.tls.cert_pem = (const unsigned char *)crt;
	ag->hub.tls.cert_pem_len = strlen(crt);
	if (!ag->cfg.hub_tls.ca_file && ag->id_ca) {
		ag->hub.tls.ca_pem = (const unsigned char *)ag->id_ca;
		ag->hub.tls.ca_pem_len = strlen(ag->id_ca);
	}
}

/* ---- synchronous requests before the loop runs ---- */

struct sync_call {
	bool done;
	long status;
	char *body;
	size_t len;
	char error[512];
};

static void sync_done(const struct http_response *r, void *ud)
{
	struct sync_call *s = ud;
	s->done = true;
	s->status = r->status;
	s->body = malloc(r->len + 1);
	memcpy(s->body, r->body, r->len);
	s->body[r->len] = '\0';
	s->len = r->len;
	snprintf(s->error, sizeof s->error, "%s", r->error ? r->error : "");
}

/* Returns false when the agent was asked to stop meanwhile. */
static bool sync_request(struct agent *ag, const struct http_target *t, const char *method, const char *body,
			 struct sync_call *out)
{
	memset(out, 0, sizeof *out);
	struct http_request r = {
		.method = method,
		.path = JOIN_PATH,
		.content_type = body ? "application/json" : NULL,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.timeout_ms = 30000,
		.max_body = 1 << 20,
	};
	struct http_call *c = http_start(ag->hub_http, t, &r, sync_done, out);
	if (!c) {
		snprintf(out->error, sizeof out->error, "cannot create a request");
		out->done = true;
		return true;
	}
	while (!out->done && !ag->stopping)
		event_base_loop(ag->base, EVLOOP_ONCE);
	if (!out->done) {
		http_cancel(c);
		return false;
	}
	return true;
}

static void sync_free(struct sync_call *s)
{
	free(s->body);
	s->body = NULL;
}

static void sleep_ms(struct agent *ag, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_base_loopexit(ag->base, &tv);
	if (!ag->stopping)
		event_base_dispatch(ag->base);
}

/* The message of a Status body, else "HTTP <code>". */
static const char *status_message(const struct sync_call *s, char *buf, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(s->body, s->len);
	const char *m = json_get_str(j, "message");
	snprintf(buf, len, "%s", m ? m : "");
	if (!m)
		snprintf(buf, len, "HTTP %ld", s->status);
	cJSON_Delete(j);
	return buf;
}

/* "sha256:..." of the first certificate of a PEM bundle, or "an unreadable CA". */
static void first_ca_hash(const char *pem, char *out, size_t len)
{
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	if (pem && mbedtls_x509_crt_parse(&crt, (const unsigned char *)pem, strlen(pem) + 1) == 0 && crt.raw.len)
		tls_spki_sha256(&crt, out, len);
	else
		snprintf(out, len, "an unreadable CA");
	mbedtls_x509_crt_free(&crt);
}

enum join_result { JOIN_OK, JOIN_REFUSED, JOIN_RETRY, JOIN_STOPPED };

/* One attempt against one hub address. */
static enum join_result join_once(struct agent *ag, const char *url, char *msg, size_t msglen)
{
	const struct agent_config *c = &ag->cfg;
	/* 1. The CA, anonymously and unverified (nothing secret is sent). */
	struct http_target anon = {.base_url = url, .user_agent = "atoll-agent/" AGENT_VERSION,
				   .proxy = c->hub_tls.proxy_url};
	anon.tls.insecure_skip_verify = true;
	struct sync_call s;
	if (!sync_request(ag, &anon, "GET", NULL, &s))
		return JOIN_STOPPED;
	char m[600];
	if (s.status == 0 || s.status >= 500) {
		snprintf(msg, msglen, "cannot get the hub's CA from %s: %s", url,
			 s.status ? status_message(&s, m, sizeof m) : s.error);
		sync_free(&s);
		return JOIN_RETRY;
	}
	if (s.status != 200) {
		snprintf(msg, msglen, "the hub at %s does not offer its CA for joining (%s) — is it an atoll-hub?", url,
			 status_message(&s, m, sizeof m));
		sync_free(&s);
		return JOIN_REFUSED;
	}
	cJSON *info = cJSON_ParseWithLength(s.body, s.len);
	const char *bundle = json_get_str(info, "caBundle");
	char *pinned = bundle ? join_pinned_ca_pem(bundle, c->hub_tls.ca_cert_hash) : NULL;
	if (!pinned) {
		char got[80];
		first_ca_hash(bundle, got, sizeof got);
		snprintf(msg, msglen,
			 "the hub's CA does not match --ca-cert-hash: %s presents %s, expected %s; the token was not sent",
			 url, got, c->hub_tls.ca_cert_hash);
		cJSON_Delete(info);
		sync_free(&s);
		return JOIN_REFUSED;
	}
	cJSON_Delete(info);
	sync_free(&s);

	/* 2. A key and a CSR; 3. the CSR with the token, the hub verified
	 * against the pinned CA only. */
	char *key = NULL, *csr = NULL;
	if (join_make_key_and_csr(c->cluster, &key, &csr) < 0) {
		snprintf(msg, msglen, "cannot create a key and a certificate request");
		free(pinned);
		return JOIN_REFUSED;
	}
	char *body = join_request_body(c->cluster, csr);
	free(csr);
	struct http_target t = {.base_url = url, .user_agent = "atoll-agent/" AGENT_VERSION,
				.bearer_token = c->hub_tls.token, .proxy = c->hub_tls.proxy_url};
	t.tls.ca_pem = (const unsigned char *)pinned;
	t.tls.ca_pem_len = strlen(pinned);
	bool ran = sync_request(ag, &t, "POST", body, &s);
	free(body);
	if (!ran) {
		free(key);
		free(pinned);
		return JOIN_STOPPED;
	}
	enum join_result res = JOIN_REFUSED;
	char *crt = NULL, *ca = NULL;
	char err[512];
	if (s.status == 0 || s.status >= 500) {
		snprintf(msg, msglen, "cannot send the join request to %s: %s", url,
			 s.status ? status_message(&s, m, sizeof m) : s.error);
		res = JOIN_RETRY;
	} else if (s.status != 201) {
		snprintf(msg, msglen, "the hub refused the join (HTTP %ld): %s", s.status, status_message(&s, m, sizeof m));
	} else if (join_parse_response(s.body, s.len, &crt, &ca, err, sizeof err) < 0 ||
		   join_check_cert(crt, key, pinned, c->cluster, err, sizeof err) < 0) {
		snprintf(msg, msglen, "the hub's answer to the join cannot be used: %s", err);
	} else {
		/* 4. Stored 0600, the certificate last: its presence means joined. */
		if (mkdir(c->state_dir, 0700) < 0 && errno != EEXIST) {
			snprintf(msg, msglen, "cannot create --state-dir %s: %s", c->state_dir, strerror(errno));
		} else if (write_state_file(ag, "ca.crt", pinned, err, sizeof err) < 0 ||
			   write_state_file(ag, "agent.key", key, err, sizeof err) < 0 ||
			   write_state_file(ag, "agent.crt", crt, err, sizeof err) < 0) {
			snprintf(msg, msglen, "%s", err);
		} else {
			time_t na = 0;
			join_renewal_due(crt, time(NULL), 0, &na);
			char ts[32], user[128];
			snprintf(user, sizeof user, "system:atoll:agent:%s", c->cluster);
			log_kv(LOG_INFO, "joined the hub", "hub", url, "user", user, "notAfter",
			       time_rfc3339(na, ts, sizeof ts), "stateDir", c->state_dir, NULL);
			use_identity(ag, key, crt, pinned);
			key = crt = pinned = NULL;
			res = JOIN_OK;
		}
	}
	free(ca);
	free(crt);
	free(key);
	free(pinned);
	sync_free(&s);
	return res;
}

static int join_hub(struct agent *ag)
{
	struct backoff bo;
	backoff_init_policy(&bo, 0);
	char msg[1200];
	for (int attempt = 0;; attempt++) {
		const char *url = ag->cfg.hub_urls[attempt % ag->cfg.nhubs];
		switch (join_once(ag, url, msg, sizeof msg)) {
		case JOIN_OK:
			return 0;
		case JOIN_REFUSED:
			log_kv(LOG_ERROR, "join failed", "error", msg, NULL);
			return 1;
		case JOIN_STOPPED:
			return 0; /* SIGTERM while waiting: main sees ag->stopping */
		case JOIN_RETRY:
			log_kv(LOG_WARN, "cannot join yet; retrying", "error", msg, NULL);
			sleep_ms(ag, (long)backoff_next_ms(&bo));
			if (ag->stopping)
				return 0;
			break;
		}
	}
}

static bool all_https(const struct agent_config *c)
{
	for (int i = 0; i < c->nhubs; i++)
		if (strncmp(c->hub_urls[i], "https://", 8) != 0)
			return false;
	return true;
}

/* The certificate in the state directory: 1 usable (then in use), 0 none,
 * -1 unusable (why in msg). */
static int load_stored(struct agent *ag, char *msg, size_t msglen)
{
	const struct agent_config *c = &ag->cfg;
	char *crt = read_state_file(ag, "agent.crt");
	if (!crt)
		return 0;
	char *key = read_state_file(ag, "agent.key"), *ca = read_state_file(ag, "ca.crt");
	char err[512], ts[32];
	time_t na = 0;
	int rc = -1;
	if (!key || !ca) {
		snprintf(msg, msglen, "%s/agent.crt exists but %s is missing", c->state_dir, key ? "ca.crt" : "agent.key");
	} else if (join_check_cert(crt, key, ca, c->cluster, err, sizeof err) < 0) {
		snprintf(msg, msglen, "%s/agent.crt: %s", c->state_dir, err);
	} else if (c->hub_tls.ca_cert_hash && join_ca_hash_matches_pem(ca, c->hub_tls.ca_cert_hash) != 1) {
		snprintf(msg, msglen, "%s/ca.crt does not match --ca-cert-hash %s", c->state_dir, c->hub_tls.ca_cert_hash);
	} else if (join_renewal_due(crt, time(NULL), 0, &na) < 0 || na <= time(NULL)) {
		snprintf(msg, msglen, "%s/agent.crt expired at %s", c->state_dir, time_rfc3339(na, ts, sizeof ts));
	} else {
		log_kv(LOG_INFO, "using the agent certificate from the state directory", "stateDir", c->state_dir,
		       "notAfter", time_rfc3339(na, ts, sizeof ts), NULL);
		use_identity(ag, key, crt, ca);
		return 1;
	}
	free(crt);
	free(key);
	free(ca);
	return rc;
}

int agent_identity_setup(struct agent *ag)
{
	struct agent_config *c = &ag->cfg;
	const char *token = c->hub_tls.token;
	if (token && !all_https(c)) {
		fprintf(stderr, "atoll-agent: --token needs https:// hub addresses (the join pins the hub's CA)\n");
		return 2;
	}
	if (token && !c->hub_tls.ca_cert_hash) {
		fprintf(stderr, "atoll-agent: --token needs --ca-cert-hash sha256:<hex> (printed by atoll-hub token "
				"create) to pin the hub's CA before the token is sent\n");
		return 2;
	}
	if (token && !c->state_dir) {
		fprintf(stderr, "atoll-agent: --token needs --state-dir (where the agent keeps its key and certificate)\n");
		return 2;
	}
	if (c->hub_tls.cert_file || c->hub_tls.key_file || !all_https(c))
		return 0; /* a certificate given by hand, or plain HTTP */
	if (!c->state_dir && !token) {
		fprintf(stderr, "atoll-agent: no identity towards %s: join with --token ID.SECRET and --ca-cert-hash "
				"sha256:HEX (atoll-hub token create prints both) and --state-dir DIR, or give the "
				"--state-dir of an earlier join\n", c->hub_urls[0]);
		return 2;
	}
	char msg[1200];
	int st = load_stored(ag, msg, sizeof msg);
	if (st == 1)
		return 0;
	if (st < 0 && !token) {
		fprintf(stderr, "atoll-agent: %s; join again with --token and --ca-cert-hash\n", msg);
		return 1;
	}
	if (st < 0)
		log_kv(LOG_WARN, "joining again", "reason", msg, NULL);
	if (!token) {
		fprintf(stderr, "atoll-agent: no certificate in --state-dir %s and no --token: join first with --token "
				"ID.SECRET and --ca-cert-hash sha256:HEX (atoll-hub token create prints both), or give "
				"the --state-dir of an earlier join\n", c->state_dir);
		return 2;
	}
	return join_hub(ag);
}

/* ---- renewal ---- */

struct renewal {
	struct agent *ag;
	char *key;
};

static void renew_after(struct agent *ag, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(ag->renew_ev, &tv);
}

static void renew_cleanup(void *ud)
{
	struct renewal *r = ud;
	free(r->key);
	free(r);
}

static void renew_done(const struct http_response *resp, void *ud)
{
	struct renewal *r = ud;
	struct agent *ag = r->ag;
	ag->renew_call = NULL;
	char err[512], m[512];
	char *crt = NULL, *ca = NULL;
	if (resp->status != 201) {
		log_kv(LOG_WARN, "certificate renewal failed; retrying", "error", member_response_message(resp, m, sizeof m), NULL);
		retry_later(ag->renew_ev, &ag->renew_bo);
	} else if (join_parse_response(resp->body, resp->len, &crt, &ca, err, sizeof err) < 0 ||
		   join_check_cert(crt, r->key, ag->id_ca, ag->cfg.cluster, err, sizeof err) < 0) {
		log_kv(LOG_WARN, "the renewed certificate cannot be used; retrying", "error", err, NULL);
		retry_later(ag->renew_ev, &ag->renew_bo);
	} else if (write_state_file(ag, "agent.key", r->key, err, sizeof err) < 0 ||
		   write_state_file(ag, "agent.crt", crt, err, sizeof err) < 0) {
		log_kv(LOG_WARN, "cannot store the renewed certificate; retrying", "error", err, NULL);
		retry_later(ag->renew_ev, &ag->renew_bo);
	} else {
		time_t na = 0;
		join_renewal_due(crt, time(NULL), 0, &na);
		char ts[32];
		log_kv(LOG_INFO, "renewed the agent certificate", "notAfter", time_rfc3339(na, ts, sizeof ts), NULL);
		use_identity(ag, r->key, crt, NULL);
		r->key = NULL;
		crt = NULL;
		backoff_reset(&ag->renew_bo);
		renew_after(ag, RENEW_CHECK_MS);
	}
	free(crt);
	free(ca);
	renew_cleanup(r);
}

static void renew_check(evutil_socket_t fd, short what, void *arg)
{
	struct agent *ag = arg;
	if (ag->renew_call || ag->stopping)
		return;
	time_t na;
	int due = join_renewal_due(ag->id_crt, time(NULL), ag->cfg.hub_tls.renew_before_s, &na);
	if (due != 1) {
		renew_after(ag, RENEW_CHECK_MS);
		return;
	}
	char ts[32];
	log_kv(LOG_INFO, "renewing the agent certificate", "notAfter", time_rfc3339(na, ts, sizeof ts), NULL);
	struct renewal *r = calloc(1, sizeof *r);
	r->ag = ag;
	char *csr = NULL;
	if (join_make_key_and_csr(ag->cfg.cluster, &r->key, &csr) < 0) {
		log_kv(LOG_WARN, "cannot create a key for the renewal; retrying", NULL);
		renew_cleanup(r);
		retry_later(ag->renew_ev, &ag->renew_bo);
		return;
	}
	char *body = join_request_body(ag->cfg.cluster, csr);
	free(csr);
	/* Authenticated by the current certificate, not a token; on the
	 * agent's one connection to the hub (hubclient.h). */
	ag->renew_call = hub_call_text(ag, "POST", JOIN_PATH, body, 30000, renew_done, renew_cleanup, r);
	free(body);
	if (!ag->renew_call) {
		renew_cleanup(r);
		retry_later(ag->renew_ev, &ag->renew_bo);
	}
}

void agent_identity_start(struct agent *ag)
{
	if (!ag->id_crt)
		return;
	ag->renew_ev = evtimer_new(ag->base, renew_check, ag);
	backoff_init_policy(&ag->renew_bo, 0);
	event_active(ag->renew_ev, EV_TIMEOUT, 0);
}

void agent_identity_free(struct agent *ag)
{
	if (ag->renew_ev)
		event_free(ag->renew_ev);
	ag->renew_ev = NULL;
	free(ag->id_key);
	free(ag->id_crt);
	free(ag->id_ca);
	ag->id_key = ag->id_crt = ag->id_ca = NULL;
}
