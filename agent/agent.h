/* agent — atoll-agent's state, shared by its modules.
 * Owns: the configuration, struct agent and the structs of Works, slots,
 * discovered kinds and owned objects, and the report interface
 * (struct agent_reports) by which the hub client and the watches tell the
 * Works what happened. The modules have their own headers: hubclient.h
 * (the hub connection), works.h (the Works and their manifests), watch.h
 * (discovery and watches of owned objects), memberapi.h (calls to the
 * member's API), retry.h (the retry policy). Layers, top to bottom:
 * main.c; works.c; hubclient.c, watch.c; memberapi.c, retry.c. Decisions
 * are pure functions in proto/member.h; the I/O runs on one libevent loop.
 * The module headers include agent.h and no other agent header; this
 * header includes none of them (checksrc: include-cycle). */
#ifndef ATOLL_AGENT_H
#define ATOLL_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>
#include <cjson/cJSON.h>

#include "backoff.h"
#include "httpclient.h"
#include "kubeconfig.h"
#include "log.h"
#include "member.h"
#include "protocol.h"

#define AGENT_VERSION "0.1.0"

/* TLS towards the hub, kept in one place. With --token and
 * --ca-cert-hash the agent joins (identity.c) and keeps the hub-signed
 * key, certificate and CA in the state directory. */
struct hub_tls_options {
	char *ca_file;
	char *cert_file;
	char *key_file;
	bool insecure_skip_verify;
	char *pinned_pubkey; /* "sha256//..." */
	char *bearer_token;
	char *proxy_url; /* --proxy-url: every request to the hub goes through it */
	char *token;              /* --token: bootstrap token for the first join */
	char *ca_cert_hash;       /* --ca-cert-hash sha256:<hex> */
	long long renew_before_s; /* --cert-renew-before; 0: a third of the lifetime */
};

#define MAX_HUBS 8

struct agent_config {
	char *hub_url;          /* as given: one URL or several, comma-separated */
	char *hub_urls[MAX_HUBS]; /* split, without trailing '/' */
	int nhubs;
	char *cluster;
	char *kubeconfig;
	char *context;
	char *region, *provider, *api_endpoint;
	char *advertise_api_server; /* --advertise-api-server: the member's API as other clusters reach it */
	char *zones[8];
	int nzones;
	cJSON *labels; /* object */
	char *state_dir;
	int lease_s, renew_s, poll_timeout_s;
	int max_inflight;
	struct hub_tls_options hub_tls;
	enum log_level level;
	enum log_format fmt;
};

/* An owned object in the member, as the watch last saw it. The strings
 * share one allocation with the struct. */
struct owned {
	char *ns, *name, *uid, *work_name;
	bool deleting;
	struct backoff bo; /* its deletion's retries (gc_run skips it until due) */
	struct owned *next;
};

struct agent;

/* A served resource of the member (from discovery), with the watch of the
 * objects of it that the agent owns. */
struct gvr {
	struct agent *ag;
	char group[128], version[64], kind[128], resource[128];
	bool namespaced;
	bool synced;           /* the owned index reflects a complete list */
	bool watching;
	char rev[32];
	struct http_call *call;
	struct event *retry_ev;
	struct backoff bo;
	uint64_t watch_started_ms;
	char *line;
	size_t line_len, line_cap;
	struct owned *owned;
	struct gvr *next;
};

/* One group/version's discovery document (kind -> resource). */
struct gv {
	char group[128], version[64];
	cJSON *resources; /* APIResourceList.resources */
	struct gv *next;
};

enum slot_step { ST_DISCOVER, ST_NS_GET, ST_NS_CREATE, ST_GET, ST_APPLY, ST_SCHEMA };
enum slot_state { S_IDLE, S_QUEUED, S_BUSY };

struct work;

/* One manifest of a Work and its life in the member. */
struct slot {
	struct agent *ag;
	struct work *w; /* NULL once the Work is gone or replaced */
	int ordinal;
	cJSON *manifest; /* until desired is made */
	char *desired;   /* stamped manifest as compact JSON, after discovery */
	struct member_ident id;
	struct gvr *gvr;
	enum slot_state st;
	enum slot_step step;
	bool again;
	bool done, ok, force;
	char *err; /* the last failure, NULL after a success */
	cJSON *status; /* reflected */
	const char *health;
	bool live_seen;
	/* Where the reflected state was read and at which resourceVersion:
	 * an apply's answer may arrive after the watch delivered later states
	 * and must not replace them (member_state_newer). */
	char live_rv[64];
	enum member_source live_src;
	struct http_call *call;
	struct event *retry_ev;
	struct backoff bo;
	struct slot *qnext;
	/* The member's schema (mschema.c): desired pruned of what the member
	 * does not declare; dropped names those fields (in the Work status). */
	bool pruned;
	int schema_reqs;
	cJSON *dropped;
	char schema_path[512];
	cJSON *collected; /* ServiceExport: the member's EndpointSlices (epcollect.c) */
	struct slot *wnext; /* in agent.schema_waiters */
};

struct work {
	char name[254];
	char uid[64];
	long long generation;
	cJSON *obj; /* metadata and manifest identities only (see work_trim) */
	struct slot **slots;
	int nslots;
	unsigned long status_seq, reported_seq;
	bool seen;     /* in the latest full list */
	bool preserve; /* spec.preserveResourcesOnDeletion */
	bool suspended; /* spec.suspendDispatching: the latest version is not applied */
	struct work *next;
};

struct agent {
	struct event_base *base;
	struct agent_config cfg;
	struct http_client *http;
	/* The hub's requests: one connection (http_client_one_connection);
	 * the long-poll carries the heartbeat (docs/protocol.md). */
	struct http_client *hub_http;
	struct kubeconfig kc;
	struct http_target member;
	struct http_target hub;
	char exec_ns[128];
	char kube_version[64];

	/* hub */
	int hub_index; /* which of cfg.hub_urls is in use */
	bool registered, hub_synced, hub_ok;
	long long revision;
	struct backoff hub_bo;
	struct http_call *reg_call, *poll_call, *status_call, *hb_call;
	struct event *reg_ev, *poll_ev, *hb_ev, *status_ev;
	struct backoff status_bo;
	int hb_step;
	struct proto_heartbeat hb;
	cJSON *hb_nodes;
	bool hb_busy;
	/* One connection to the hub (hubclient.c): the last probe's heartbeat
	 * rides every long-poll; lane_busy counts the other hub requests in
	 * flight (the poll waits for them); poll_settle: after an answer with
	 * events, the next poll waits (briefly) for their status report;
	 * legacy_hb: the hub refused POST works (an older hub), so heartbeats
	 * are PUT on their own and the poll has its own connection. */
	struct proto_heartbeat hb_last;
	bool hb_have;
	int lane_busy;
	bool poll_settle;
	bool legacy_hb;

	/* works */
	struct work *works;
	int nworks;
	struct slot *q_head, *q_tail;
	int busy;
	struct event *dispatch_ev, *gc_ev;

	/* member */
	struct gv *gvs;
	struct gvr *gvrs;
	char **known_ns;
	int nknown_ns, cap_known_ns;
	int deletes_inflight;
	/* The member's API refused connections at the last health probe
	 * (heartbeat): applies and deletions wait for it to answer again. */
	bool member_down;
	struct event *gc_timer_ev; /* the next deletion retry that is due */
	/* Works deleted with preserveResourcesOnDeletion: their objects are
	 * released (Karmada's labels and annotations removed), not deleted. */
	char **released;
	int nreleased;
	bool stopping;

	/* identity towards the hub (identity.c): PEM, from the state
	 * directory or a join; ag->hub.tls points at them */
	char *id_key, *id_crt, *id_ca;
	struct event *renew_ev;
	struct http_call *renew_call;
	struct backoff renew_bo;

	struct mschema *mschema; /* the member's OpenAPI (mschema.c) */
	struct meshreader *meshreader; /* remote-secret reader (meshreader.c) */
	struct epcollect *epcollect;   /* EndpointSlices of exported Services (epcollect.c) */
	/* One schema document is fetched at a time; slots that need one
	 * meanwhile wait here (busy, no call) for its answer. */
	bool schema_fetching;
	struct slot *schema_waiters;

	const struct agent_reports *reports; /* works.c's, set by main.c */
};

/* mschema.c: the member's published schema. mschema_next gives the next
 * document to fetch for group/version (NULL: settled); mschema_answer
 * takes its answer; mschema_prune removes from obj what the member does
 * not declare, appending the paths to dropped (-1: no schema known). */
struct mschema;
const char *mschema_next(struct agent *ag, const char *group, const char *version, char *path, size_t len);
void mschema_answer(struct agent *ag, const char *group, const char *version, const char *path, int status,
		    const char *body, size_t len);
int mschema_prune(struct agent *ag, const char *group, const char *version, const char *kind, cJSON *obj,
		  cJSON *dropped);
void mschema_free(struct agent *ag);

/* meshreader.c: reports the member's remote-secret kubeconfig while the
 * cluster is in a Mesh (proto/meshreader.h). Free after http_client_free. */
struct meshreader;
void meshreader_start(struct agent *ag);
void meshreader_free(struct agent *ag);

/* epcollect.c: reports the EndpointSlices of exported Services in the
 * ServiceExport's manifest status (collectedEndpoints). Free after
 * http_client_free. */
struct epcollect;
void epcollect_start(struct agent *ag);
void epcollect_free(struct agent *ag);

/* main.c */
void agent_free_config(struct agent_config *c);

/* identity.c */
/* Before the loop runs: the certificate from the state directory, or a
 * join with --token (pinning the CA by --ca-cert-hash). Returns 0, or the
 * exit code after printing why (the hub's refusal, a CA mismatch, ...). */
int agent_identity_setup(struct agent *ag);
/* Renews the certificate before it expires (when there is one). */
void agent_identity_start(struct agent *ag);
void agent_identity_free(struct agent *ag);

/* How hubclient.c and watch.c report to works.c: works.c sets it up
 * (works_reports), main.c hands it to ag->reports once, and the two call
 * only these, never works.c's functions. Each entry is called on the loop. */
struct agent_reports {
	/* hubclient.c: the events of a long-poll answer (full: a whole list). */
	void (*work_events)(struct agent *ag, const cJSON *events, bool full);
	/* hubclient.c: the hub answers (again), or a poll answer was applied:
	 * dispatch what is queued and schedule the deletions. */
	void (*hub_answered)(struct agent *ag);
	/* hubclient.c: the member's API answers again after refusing connections. */
	void (*member_back)(struct agent *ag);
	/* hubclient.c: the Work of that name (NULL: none), and its status
	 * report entry (false: not all manifests attempted yet). */
	struct work *(*work_find)(struct agent *ag, const char *name);
	bool (*work_status)(struct work *w, struct proto_work_status *out);
	/* watch.c: an owned object changed, or vanished (work_name its Work). */
	void (*member_event)(struct agent *ag, struct gvr *g, const char *type, const cJSON *obj);
	void (*member_deleted)(struct agent *ag, struct gvr *g, const char *ns, const char *name,
			       const char *work_name);
	/* watch.c: a kind's owned objects were listed: deletions may be due. */
	void (*owned_listed)(struct agent *ag);
};

#endif
