/* tlsauth — wires the hub's security together for `atoll-hub serve` and
 * implements `atoll-hub init`.
 * Owns: the TLS listener's setup (tls.h over apiserver_listen_bev), the
 * plain listener's connection limits (tls.h in plain mode), the
 * authorizer hook (auth.h), the join endpoint (joinapi.h) and the timer
 * that renews the serving certificate and reloads it into new TLS
 * sessions without downtime. */
#ifndef ATOLL_TLSAUTH_H
#define ATOLL_TLSAUTH_H

#include <event2/event.h>

#include "apiserver.h"
#include "auth.h"

struct tlsauth_opts {
	const char *data_dir;
	const char *listen;         /* HTTPS "HOST:PORT"; NULL = no TLS listener */
	const char *cert_file;      /* default DIR/hub.crt */
	const char *key_file;       /* default DIR/hub.key */
	const char *client_ca_file; /* default DIR/ca.crt */
	long long handshake_timeout_ms, header_timeout_ms, check_interval_ms;
	long long first_byte_timeout_ms; /* both listeners; default 3000 */
	int max_conns, max_conns_per_client; /* per listener; per client: established connections */
	int max_pending_per_client;          /* per listener and address, not through the handshake yet */
};

struct tlsauth;

/* Call after apiserver_new and before agentapi_new. *tls_port gets the
 * bound HTTPS port (or 0 without a TLS listener). NULL with err on failure. */
struct tlsauth *tlsauth_start(struct event_base *base, struct apiserver *api, const struct tlsauth_opts *o, int *tls_port,
			    char *err, size_t errlen);
struct auth *tlsauth_auth(struct tlsauth *s);
/* The plain-HTTP listener (--insecure-listen) with the same connection
 * limits and deadlines as the TLS one. Returns the bound port or -1. */
int tlsauth_listen_insecure(struct tlsauth *s, struct apiserver *api, const char *hostport, char *err, size_t errlen);
/* Call after apiserver_free. */
void tlsauth_free(struct tlsauth *s);

/* atoll-hub init */
int tlsauth_init_main(int argc, char **argv);

#endif
