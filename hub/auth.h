/* auth — who is asking, and may they.
 * Owns: authentication (a client certificate verified by tls.h: CN is the
 * user, each O a group; or an "Authorization: Bearer" token from
 * tokens.h; the insecure listener is the local admin), the roles, and the
 * authorizer: one pure function of (identity, request attributes) that
 * every request on the TLS listener passes before routing, and that the
 * agent protocol asks through auth_agent_may_access_cluster.
 *
 * Roles (by group):
 *   system:masters        admin: everything
 *   system:atoll:agents   with user system:atoll:agent:<cluster>: its own
 *                         cluster only — read Works in karmada-es-<cluster>,
 *                         write their status, its Cluster's status, its Lease
 *                         (karmada-cluster/<cluster>), the agent protocol for
 *                         <cluster>, certificate renewal
 *   system:atoll:viewers  dashboards: get/list/watch everything except
 *                         Secrets and Works (Works embed Secret manifests),
 *                         plus /status, /dashboard and /metrics
 *   system:bootstrappers  bootstrap tokens: the join endpoint only
 * Any authenticated user may read discovery, /version and OpenAPI. Anyone
 * may read /healthz, /livez, /readyz. */
#ifndef ATOLL_AUTH_H
#define ATOLL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/http.h>

#include "apiserver.h"

#define AUTH_MAX_GROUPS 10
#define AUTH_GROUP_ADMIN "system:masters"
#define AUTH_GROUP_AGENTS "system:atoll:agents"
#define AUTH_GROUP_VIEWERS "system:atoll:viewers"
#define AUTH_GROUP_BOOTSTRAP "system:bootstrappers"
#define AUTH_AGENT_PREFIX "system:atoll:agent:"
#define AUTH_JOIN_PATH "/apis/atoll.io/v1alpha1/join"

enum auth_via { AUTH_ANONYMOUS = 0, AUTH_INSECURE, AUTH_CERT, AUTH_TOKEN, AUTH_BOOTSTRAP_TOKEN };

struct auth_identity {
	enum auth_via via;
	char user[256];
	char groups[AUTH_MAX_GROUPS][128];
	int ngroups;
	char token_id[8];       /* bootstrap and API tokens */
	char token_cluster[64]; /* bootstrap: the only cluster it may join ("" = any) */
};

/* A request as the authorizer sees it. */
struct auth_attrs {
	const char *verb;     /* get list watch create update patch delete deletecollection; or
			       * the lower-case HTTP method for non-resource paths */
	bool resource;        /* a resource path (then group..sub below) */
	const char *group;    /* "" = core */
	const char *resource_name; /* plural, e.g. "works" */
	const char *ns;
	const char *name;
	const char *sub;      /* subresource, e.g. "status" */
	const char *path;     /* non-resource paths */
};

enum auth_decision { AUTH_ALLOW = 0, AUTH_UNAUTHENTICATED, AUTH_FORBIDDEN };

/* The authorizer: pure. On a denial, reason gets Kubernetes' message, e.g.
 * works.work.karmada.io is forbidden: User "system:atoll:agent:eu" cannot
 * list resource "works" in API group "work.karmada.io" in the namespace
 * "karmada-es-ap". */
enum auth_decision auth_authorize(const struct auth_identity *id, const struct auth_attrs *a, char *reason,
				  size_t reason_len);

bool auth_in_group(const struct auth_identity *id, const char *group);
/* The cluster an agent identity belongs to, or NULL when id is no agent. */
const char *auth_agent_cluster(const struct auth_identity *id);
/* May id use the agent protocol (and agent-scoped objects) of cluster?
 * True for admins and for the agent of that cluster; false otherwise. */
bool auth_agent_may_access_cluster(const struct auth_identity *id, const char *cluster);

/* ---- requests ---------------------------------------------------------------- */

struct auth;
/* Tokens are looked up in data_dir/tokens.json. */
struct auth *auth_new(const char *data_dir);
void auth_free(struct auth *au);

/* Identifies the request's sender. Returns 0, or 401 with msg filled when
 * a presented bearer token is malformed, unknown or expired. */
int auth_identify(struct auth *au, struct evhttp_request *req, struct auth_identity *id, char *msg, size_t msglen);

/* For apiserver_set_authorizer(api, auth_apiserver_hook, au). */
bool auth_apiserver_hook(const struct api_req *rq, const struct api_request_attrs *at, void *au);
/* For agentapi_set_authorizer(agents, auth_agentapi_hook, au). */
int auth_agentapi_hook(struct evhttp_request *req, const char *cluster, char *msg, size_t msglen, void *au);

/* Sends the Kubernetes 401 Status. */
void auth_send_unauthorized(const struct api_req *rq, const char *msg);

#endif
