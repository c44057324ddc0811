/* secure — wires the hub's security together for `atoll-hub serve` and
 * implements `atoll-hub init`.
 * Owns: the TLS listener's setup (tls.h over apiserver_listen_bev), the
 * authorizer hook (auth.h), the join endpoint (joinapi.h) and the timer
 * that renews the serving certificate and reloads it into new TLS
 * sessions without downtime. */
#ifndef ATOLL_SECURE_H
#define ATOLL_SECURE_H

#include <event2/event.h>

#include "apiserver.h"
#include "auth.h"

struct secure_opts {
	const char *data_dir;
	const char *listen;         /* HTTPS "HOST:PORT"; NULL = no TLS listener */
	const char *cert_file;      /* default DIR/hub.crt */
	const char *key_file;       /* default DIR/hub.key */
	const char *client_ca_file; /* default DIR/ca.crt */
	long long handshake_timeout_ms, header_timeout_ms, check_interval_ms;
	int max_conns, max_conns_per_client;
};

struct secure;

/* Call after apiserver_new and before agentapi_new. *tls_port gets the
 * bound HTTPS port (or 0 without a TLS listener). NULL with err on failure. */
struct secure *secure_start(struct event_base *base, struct apiserver *api, const struct secure_opts *o, int *tls_port,
			    char *err, size_t errlen);
struct auth *secure_auth(struct secure *s);
/* Call after apiserver_free. */
void secure_free(struct secure *s);

/* atoll-hub init */
int secure_init_main(int argc, char **argv);

#endif
