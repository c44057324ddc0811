/* sim_auth — ServiceAccount tokens and RBAC in a simulated cluster.
 * Owns: the token controller (a Secret of type
 * kubernetes.io/service-account-token annotated
 * kubernetes.io/service-account.name gets data.token, data.namespace,
 * data.ca.crt and the ServiceAccount's uid, as Kubernetes' token controller
 * does; deleting the ServiceAccount deletes its token Secrets), the
 * TokenRequest subresource (POST .../serviceaccounts/NAME/token: a signed
 * token valid until it expires and while the ServiceAccount lives), and the
 * authorizer of the cluster's listener:
 *   - no Authorization header: the local admin, as before (plain HTTP);
 *   - "Authorization: Bearer TOKEN": TOKEN must be the data.token of an
 *     existing token Secret whose ServiceAccount still exists with the same
 *     uid, or a TokenRequest token still valid, else 401; the user is system:serviceaccount:NS:NAME with groups
 *     system:serviceaccounts, system:serviceaccounts:NS and
 *     system:authenticated, and RBAC (ClusterRoleBindings, RoleBindings in
 *     the request's namespace, their ClusterRoles/Roles) decides: no
 *     matching rule is a 403 in Kubernetes' words. Discovery, /version,
 *     /openapi and the health paths are open to every authenticated user. */
#ifndef ATOLL_SIM_AUTH_H
#define ATOLL_SIM_AUTH_H

#include <event2/event.h>

struct store;
struct apiserver;
struct sim_auth;

struct sim_auth *sim_auth_new(struct event_base *base, struct store *st, struct apiserver *api);
void sim_auth_free(struct sim_auth *a);

#endif
