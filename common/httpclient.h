/* httpclient — an event-driven HTTP(S) client: one libcurl multi handle
 * driven by a libevent loop (curl_multi_socket_action with socket and
 * timer callbacks), no thread per request.
 * Owns: the request life cycle (buffered or streamed bodies, timeouts,
 * cancellation), connection reuse, and how a target's TLS material and
 * credentials (CA, client certificate/key as files or PEM, pinned public
 * key, bearer token or token file, basic auth) become libcurl options.
 * Callers never touch libcurl. */
#ifndef ATOLL_HTTPCLIENT_H
#define ATOLL_HTTPCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>

/* Everything TLS, in one place (issue 5's join and client certificates
 * add to this struct only). Strings and buffers are copied per request. */
struct http_tls {
	const char *ca_file;
	const unsigned char *ca_pem; /* PEM bytes, or NULL */
	size_t ca_pem_len;
	const char *cert_file;
	const unsigned char *cert_pem;
	size_t cert_pem_len;
	const char *key_file;
	const unsigned char *key_pem;
	size_t key_pem_len;
	bool insecure_skip_verify;
	/* "sha256//<base64>" of the server's public key (CURLOPT_PINNEDPUBLICKEY),
	 * e.g. when bootstrapping trust from a CA hash; NULL: none. */
	const char *pinned_pubkey;
	/* The name to send as SNI and to verify the server's certificate
	 * against instead of the URL's host (kubeconfig tls-server-name);
	 * NULL: the URL's host. */
	const char *server_name;
};

/* Where requests go and with which credentials. */
struct http_target {
	const char *base_url; /* "https://host:port" (no trailing '/') */
	struct http_tls tls;
	const char *bearer_token;
	const char *token_file; /* re-read for every request (bound tokens rotate) */
	const char *username, *password;
	const char *user_agent;
	/* Forward proxy (CURLOPT_PROXY, e.g. "http://proxy:3128"); NULL: libcurl's
	 * default, the HTTPS_PROXY/HTTP_PROXY/NO_PROXY variables. */
	const char *proxy;
};

struct http_response {
	long status;         /* 0 when the transfer failed */
	const char *body;    /* NUL-terminated, may be "" */
	size_t len;
	const char *error;   /* transport error text, or NULL */
	double seconds;      /* total time */
};

struct http_client;
struct http_call;

typedef void (*http_done_fn)(const struct http_response *r, void *ud);
/* Called instead of done when a call ends without completing (cancelled,
 * or the client freed), so the owner can free ud. */
typedef void (*http_cleanup_fn)(void *ud);
/* Streaming: called with each piece of a 2xx body as it arrives. Return
 * false to abort the transfer (done then reports an error "aborted"). */
typedef bool (*http_data_fn)(const char *data, size_t len, void *ud);

struct http_client *http_client_new(struct event_base *base);
/* At most one connection per host:port: a request started while another
 * to the same place is in flight waits for it (libcurl keeps it pending),
 * and TLS sessions are shared between this client's requests, so a new
 * connection resumes the last one's session. For the agent's one
 * connection to the hub (docs/protocol.md). Call before any request. */
void http_client_one_connection(struct http_client *c);
/* Cancels every call (no callbacks) and frees the client. */
void http_client_free(struct http_client *c);

struct http_request {
	const char *method;      /* "GET", "PUT", ... */
	const char *path;        /* appended to base_url, with the query */
	const char *content_type;
	const char *accept;      /* default application/json */
	const char *body;
	size_t body_len;
	long timeout_ms;         /* whole transfer; 0 = none */
	long connect_timeout_ms; /* default 5000 */
	size_t max_body;         /* buffered bodies larger than this fail; default 64 MiB */
	http_data_fn on_data;    /* streamed (2xx only) when set */
	http_cleanup_fn cleanup; /* optional, see http_cleanup_fn */
};

/* Starts a request; done is called exactly once unless the call is
 * cancelled. Returns NULL (and calls nothing) only if libcurl cannot
 * create a handle. */
struct http_call *http_start(struct http_client *c, const struct http_target *t, const struct http_request *r,
			     http_done_fn done, void *ud);
/* Cancels a call that has not completed; done will not run (cleanup
 * will). Safe from inside any callback. */
void http_cancel(struct http_call *call);
int http_inflight(const struct http_client *c);

struct kubeconfig;
/* The target a kubeconfig (or the in-cluster service account) describes,
 * verified as kubectl verifies it: the server's certificate against the
 * kubeconfig's CA only when one is given (system roots otherwise), the
 * host name (or tls-server-name) checked, never skipped unless
 * insecure-skip-tls-verify is true. t points into kc (keep kc alive). */
void http_target_from_kubeconfig(struct http_target *t, const struct kubeconfig *kc, const char *user_agent);

/* The libcurl TLS settings http_start derives from a target (for tests). */
struct http_tls_plan {
	long verify_peer, verify_host; /* CURLOPT_SSL_VERIFYPEER / VERIFYHOST */
	bool ca_blob, ca_file;         /* the CA comes from PEM bytes / a file */
	bool system_roots;             /* the default CA store (and path) stay in use */
	bool client_cert;              /* a client certificate is presented */
	char connect_to[300];          /* CURLOPT_CONNECT_TO entry ("" none) */
	char url_host[256];            /* the host name put in the URL ("" unchanged) */
};
/* Fills plan for t; returns 0, or -1 when base_url cannot be parsed. */
int http_tls_plan(const struct http_target *t, struct http_tls_plan *plan);

/* Percent-encodes s for a query value into buf. */
const char *http_escape(const char *s, char *buf, size_t len);

#endif
