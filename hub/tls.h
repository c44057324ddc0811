/* tls — HTTPS for evhttp with mbedTLS (libevent 2.1 only knows OpenSSL).
 * Owns: the glue between libevent and mbedTLS (a bufferevent filter per
 * connection, handed to evhttp through evhttp_set_bevcb), the server's TLS
 * configuration (TLS 1.2+, ECDHE + AEAD suites, optional client
 * certificates verified against the cluster CA, session cache and
 * tickets), reloading the certificate for new sessions, and the
 * connection-level defences of the TLS listener: connection limits (total
 * and per client address, with separate quotas for connections still in
 * their handshake and established ones), the first-byte and handshake
 * deadlines, the request-head deadline (slowloris) and refusing plain HTTP
 * cleanly. With opts.plain the same defences guard a plain-HTTP listener
 * (a pass-through filter; "pending" then means "has sent nothing yet").
 * It knows nothing about users or roles: auth.h turns a peer's verified
 * certificate (tls_peer_of) into an identity. */
#ifndef ATOLL_TLS_H
#define ATOLL_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

struct tls_server_opts {
	const char *cert_file;      /* serving certificate (PEM; chain allowed) */
	const char *key_file;       /* its private key */
	const char *client_ca_file; /* CA for client certificates; NULL = none requested */
	bool plain;                 /* no TLS: only the limits and deadlines (certificate options ignored) */
	const char *name;           /* in logs and metrics; default "https", or "http" when plain */
	int handshake_timeout_ms;   /* from connecting to a finished handshake; default 10000 */
	int first_byte_timeout_ms;  /* a connection that has sent nothing is closed after this; default 3000 */
	int header_timeout_ms;      /* a request head must be complete this long after its first byte; default 10000 */
	int max_conns;              /* open connections on the listener; default 10000 */
	int max_conns_per_client;   /* established connections per client IP address; default 256 */
	int max_pending_per_client; /* per address, not yet through the handshake; default min(32, the above).
				     * A new connection past it (or past max_conns) closes the oldest pending
				     * one silent for 200 ms (else one stalled for 1 s that is neither in nor waiting for a
				     * handshake turn); failing that, past
				     * max_conns it is refused, past this quota it must send something
				     * within 200 ms or is closed then. */
	int max_handshakes;         /* TLS handshakes in progress at once; default 128. Connections past it wait
				     * (up to 60 s, oldest first) with their ClientHello unread, so a reconnect
				     * storm is served in order instead of every handshake missing its deadline */
	const char *ticket_key_file; /* session ticket keys kept here (0600), so tickets survive a restart;
				      * NULL: keys live in memory only */
};

struct tls_server;

struct tls_server *tls_server_new(struct event_base *base, const struct tls_server_opts *o, char *err, size_t errlen);
/* Re-reads certificate, key and client CA. New handshakes use them; open
 * connections keep what they negotiated. On error the old ones stay. */
int tls_server_reload(struct tls_server *s, char *err, size_t errlen);
/* For evhttp_set_bevcb(http, tls_server_bevcb, server). */
struct bufferevent *tls_server_bevcb(struct event_base *base, void *server);
/* Ends open connections' TLS state; call after evhttp_free. */
void tls_server_free(struct tls_server *s);

/* What a connection's verified client certificate says. */
#define TLS_PEER_MAX_ORGS 8
struct tls_peer {
	bool has_cert; /* a client certificate was presented and verified */
	char cn[256];
	char orgs[TLS_PEER_MAX_ORGS][128];
	int norgs;
};

/* The TLS state of an evhttp connection's bufferevent, or NULL when the
 * connection is not one of ours (plain HTTP). */
const struct tls_peer *tls_peer_of(struct bufferevent *bev);

struct tls_stats {
	unsigned long handshakes;  /* completed */
	unsigned long resumed;     /* of which by session cache or ticket */
	unsigned long failed;      /* handshake errors, incl. refused certificates */
	unsigned long plain_http;  /* plain HTTP sent to the TLS port */
	unsigned long over_limit;  /* refused by the connection limits */
	unsigned long evicted;     /* pending connections closed to admit a new one */
	unsigned long timed_out;   /* any deadline; split below: */
	unsigned long silent_timeouts, handshake_timeouts, header_timeouts;
	unsigned long queued;      /* handshakes that waited for a turn (max_handshakes) */
	unsigned long parked;      /* idle connections whose record buffers were released */
	int handshaking;           /* handshakes in progress now */
	int open;                  /* open connections (including ones being closed) */
	int pending;               /* counted: not yet through the handshake (plain: nothing received) */
	int established;           /* counted: handshake done (plain: something received) */
};
void tls_server_stats(const struct tls_server *s, struct tls_stats *out);
/* Every live server (for metrics), with its opts.name. */
void tls_servers_foreach(void (*fn)(const char *name, const struct tls_stats *st, void *ud), void *ud);

#endif
