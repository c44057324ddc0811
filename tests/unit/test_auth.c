/* The authorizer as a table: (identity, verb, group, resource, namespace,
 * name, subresource | path) -> allow / 401 / 403, and Kubernetes' 403
 * message. CVE-2024-56513 is the failure these rows guard against: an
 * agent must reach nothing outside its own cluster. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "auth.h"

enum who { ANON, ADMIN, AGENT_EU, AGENT_AP, VIEWER, BOOT, BOOT_EU, PLAIN_USER, FAKE_AGENT, INSECURE };

static struct auth_identity ident(enum who w)
{
	struct auth_identity id;
	memset(&id, 0, sizeof id);
	switch (w) {
	case ANON: break;
	case INSECURE:
		id.via = AUTH_INSECURE;
		strcpy(id.user, "system:admin");
		break;
	case ADMIN:
		id.via = AUTH_CERT;
		strcpy(id.user, "admin");
		strcpy(id.groups[id.ngroups++], "system:masters");
		break;
	case AGENT_EU:
	case AGENT_AP:
		id.via = AUTH_CERT;
		strcpy(id.user, w == AGENT_EU ? "system:atoll:agent:eu" : "system:atoll:agent:ap");
		strcpy(id.groups[id.ngroups++], "system:atoll:agents");
		break;
	case FAKE_AGENT: /* the right user name without the agents group */
		id.via = AUTH_TOKEN;
		strcpy(id.user, "system:atoll:agent:eu");
		break;
	case VIEWER:
		id.via = AUTH_TOKEN;
		strcpy(id.user, "dashboard");
		strcpy(id.groups[id.ngroups++], "system:atoll:viewers");
		break;
	case BOOT:
	case BOOT_EU:
		id.via = AUTH_BOOTSTRAP_TOKEN;
		strcpy(id.user, "system:bootstrap:abcdef");
		strcpy(id.groups[id.ngroups++], "system:bootstrappers");
		if (w == BOOT_EU)
			strcpy(id.token_cluster, "eu");
		break;
	case PLAIN_USER:
		id.via = AUTH_CERT;
		strcpy(id.user, "alice");
		strcpy(id.groups[id.ngroups++], "developers");
		break;
	}
	if (w != ANON)
		strcpy(id.groups[id.ngroups++], "system:authenticated");
	return id;
}

#define A AUTH_ALLOW
#define U AUTH_UNAUTHENTICATED
#define F AUTH_FORBIDDEN

/* path != NULL: a non-resource request. */
static const struct row {
	enum who who;
	const char *verb, *group, *resource, *ns, *name, *sub, *path;
	enum auth_decision want;
} rows[] = {
	/* health is public, everything else needs a user */
	{ANON, "get", 0, 0, 0, 0, 0, "/healthz", A},
	{ANON, "get", 0, 0, 0, 0, 0, "/readyz", A},
	{ANON, "get", 0, 0, 0, 0, 0, "/livez", A},
	{ANON, "get", 0, 0, 0, 0, 0, "/version", U},
	{ANON, "get", 0, 0, 0, 0, 0, "/api", U},
	{ANON, "list", "", "namespaces", "", "", "", 0, U},
	{ANON, "get", "", "secrets", "default", "s", "", 0, U},
	{ANON, "get", 0, 0, 0, 0, 0, "/healthzfoo", U},
	/* the join endpoint: JoinInfo (the CA bundle) is public; the handler
	 * authenticates JoinRequests itself (test_tls.py checks its refusals) */
	{ANON, "list", "atoll.io", "join", "", "", "", 0, A},
	{ANON, "create", "atoll.io", "join", "", "", "", 0, A},
	{BOOT, "create", "atoll.io", "join", "", "", "", 0, A},
	{AGENT_EU, "create", "atoll.io", "join", "", "", "", 0, A},
	{ANON, "get", "atoll.io", "join", "", "x", "", 0, U},
	{ANON, "create", "atoll.io", "join", "", "", "status", 0, U},
	/* bootstrap tokens do nothing else */
	{BOOT, "get", 0, 0, 0, 0, 0, "/api", F},
	{BOOT, "list", "work.karmada.io", "works", "karmada-es-eu", "", "", 0, F},
	{BOOT_EU, "put", "atoll.io", "clusters", "", "eu", "registration", 0, F},
	{BOOT, "get", "", "secrets", "default", "x", "", 0, F},
	/* admin and the insecure listener: everything */
	{ADMIN, "delete", "", "secrets", "kube-system", "x", "", 0, A},
	{ADMIN, "get", 0, 0, 0, 0, 0, "/metrics", A},
	{ADMIN, "update", "cluster.karmada.io", "clusters", "", "ap", "status", 0, A},
	{INSECURE, "deletecollection", "work.karmada.io", "works", "karmada-es-ap", "", "", 0, A},
	/* the eu agent: its own Works, read-only, and their status */
	{AGENT_EU, "get", "work.karmada.io", "works", "karmada-es-eu", "w1", "", 0, A},
	{AGENT_EU, "list", "work.karmada.io", "works", "karmada-es-eu", "", "", 0, A},
	{AGENT_EU, "watch", "work.karmada.io", "works", "karmada-es-eu", "", "", 0, A},
	{AGENT_EU, "update", "work.karmada.io", "works", "karmada-es-eu", "w1", "status", 0, A},
	{AGENT_EU, "patch", "work.karmada.io", "works", "karmada-es-eu", "w1", "status", 0, A},
	{AGENT_EU, "get", "work.karmada.io", "works", "karmada-es-eu", "w1", "status", 0, A},
	{AGENT_EU, "update", "work.karmada.io", "works", "karmada-es-eu", "w1", "", 0, F},
	{AGENT_EU, "create", "work.karmada.io", "works", "karmada-es-eu", "", "", 0, F},
	{AGENT_EU, "delete", "work.karmada.io", "works", "karmada-es-eu", "w1", "", 0, F},
	{AGENT_EU, "deletecollection", "work.karmada.io", "works", "karmada-es-eu", "", "", 0, F},
	/* ... and nobody else's */
	{AGENT_EU, "get", "work.karmada.io", "works", "karmada-es-ap", "w1", "", 0, F},
	{AGENT_EU, "list", "work.karmada.io", "works", "karmada-es-ap", "", "", 0, F},
	{AGENT_EU, "list", "work.karmada.io", "works", "", "", "", 0, F},
	{AGENT_EU, "watch", "work.karmada.io", "works", "", "", "", 0, F},
	{AGENT_EU, "update", "work.karmada.io", "works", "karmada-es-ap", "w1", "status", 0, F},
	{AGENT_EU, "list", "work.karmada.io", "works", "karmada-es-eu2", "", "", 0, F},
	{AGENT_AP, "list", "work.karmada.io", "works", "karmada-es-ap", "", "", 0, A},
	{AGENT_AP, "list", "work.karmada.io", "works", "karmada-es-eu", "", "", 0, F},
	/* its own Cluster: read, write status; not others', not the spec */
	{AGENT_EU, "get", "cluster.karmada.io", "clusters", "", "eu", "", 0, A},
	{AGENT_EU, "update", "cluster.karmada.io", "clusters", "", "eu", "status", 0, A},
	{AGENT_EU, "patch", "cluster.karmada.io", "clusters", "", "eu", "status", 0, A},
	{AGENT_EU, "update", "cluster.karmada.io", "clusters", "", "eu", "", 0, F},
	{AGENT_EU, "delete", "cluster.karmada.io", "clusters", "", "eu", "", 0, F},
	{AGENT_EU, "update", "cluster.karmada.io", "clusters", "", "ap", "status", 0, F},
	{AGENT_EU, "get", "cluster.karmada.io", "clusters", "", "ap", "", 0, F},
	{AGENT_EU, "list", "cluster.karmada.io", "clusters", "", "", "", 0, F},
	/* its own Lease in karmada-cluster */
	{AGENT_EU, "get", "coordination.k8s.io", "leases", "karmada-cluster", "eu", "", 0, A},
	{AGENT_EU, "update", "coordination.k8s.io", "leases", "karmada-cluster", "eu", "", 0, A},
	{AGENT_EU, "patch", "coordination.k8s.io", "leases", "karmada-cluster", "eu", "", 0, A},
	{AGENT_EU, "update", "coordination.k8s.io", "leases", "karmada-cluster", "ap", "", 0, F},
	{AGENT_EU, "update", "coordination.k8s.io", "leases", "kube-node-lease", "eu", "", 0, F},
	{AGENT_EU, "delete", "coordination.k8s.io", "leases", "karmada-cluster", "eu", "", 0, F},
	/* the agent protocol of its own cluster only */
	{AGENT_EU, "update", "atoll.io", "clusters", "", "eu", "heartbeat", 0, A},
	{AGENT_EU, "list", "atoll.io", "clusters", "", "eu", "works", 0, A},
	{AGENT_EU, "update", "atoll.io", "clusters", "", "ap", "heartbeat", 0, F},
	{AGENT_EU, "get", "atoll.io", "clusters", "", "ap", "works", 0, F},
	{AGENT_EU, "get", "atoll.io", "clusters", "karmada-es-ap", "eu", "works", 0, F},
	{AGENT_EU, "get", "cluster.karmada.io", "clusters", "default", "eu", "", 0, F},
	{ANON, "create", "atoll.io", "join", "default", "", "", 0, U},
	/* nothing else: no Secrets, no templates, no policies */
	{AGENT_EU, "get", "", "secrets", "karmada-es-eu", "s", "", 0, F},
	{AGENT_EU, "list", "", "secrets", "", "", "", 0, F},
	{AGENT_EU, "get", "", "secrets", "karmada-cluster", "eu", "", 0, F},
	{AGENT_EU, "list", "apps", "deployments", "default", "", "", 0, F},
	{AGENT_EU, "create", "policy.karmada.io", "propagationpolicies", "default", "", "", 0, F},
	{AGENT_EU, "get", 0, 0, 0, 0, 0, "/metrics", F},
	{AGENT_EU, "get", 0, 0, 0, 0, 0, "/status", F},
	/* a user that only calls itself an agent is none */
	{FAKE_AGENT, "list", "work.karmada.io", "works", "karmada-es-eu", "", "", 0, F},
	{FAKE_AGENT, "update", "atoll.io", "clusters", "", "eu", "heartbeat", 0, F},
	/* discovery for every signed-in user */
	{AGENT_EU, "get", 0, 0, 0, 0, 0, "/api", A},
	{AGENT_EU, "get", 0, 0, 0, 0, 0, "/apis/work.karmada.io/v1alpha1", A},
	{PLAIN_USER, "get", 0, 0, 0, 0, 0, "/version", A},
	{PLAIN_USER, "get", 0, 0, 0, 0, 0, "/openapi/v3", A},
	{PLAIN_USER, "post", 0, 0, 0, 0, 0, "/api", F},
	{PLAIN_USER, "list", "", "pods", "default", "", "", 0, F},
	/* the dashboard role: read everything but Secrets (and Works, which embed them) */
	{VIEWER, "list", "apps", "deployments", "", "", "", 0, A},
	{VIEWER, "watch", "apps", "deployments", "default", "", "", 0, A},
	{VIEWER, "get", "cluster.karmada.io", "clusters", "", "eu", "", 0, A},
	{VIEWER, "get", "cluster.karmada.io", "clusters", "", "eu", "status", 0, A},
	{VIEWER, "list", "", "configmaps", "default", "", "", 0, A},
	{VIEWER, "get", 0, 0, 0, 0, 0, "/status", A},
	{VIEWER, "get", 0, 0, 0, 0, 0, "/status/stream", A},
	{VIEWER, "get", 0, 0, 0, 0, 0, "/dashboard", A},
	{VIEWER, "get", 0, 0, 0, 0, 0, "/metrics", A},
	{VIEWER, "get", "", "secrets", "default", "s", "", 0, F},
	{VIEWER, "list", "", "secrets", "", "", "", 0, F},
	{VIEWER, "watch", "", "secrets", "default", "", "", 0, F},
	{VIEWER, "list", "work.karmada.io", "works", "karmada-es-eu", "", "", 0, F},
	{VIEWER, "create", "apps", "deployments", "default", "", "", 0, F},
	{VIEWER, "patch", "apps", "deployments", "default", "d", "scale", 0, F},
	{VIEWER, "delete", "", "configmaps", "default", "c", "", 0, F},
	{VIEWER, "update", "cluster.karmada.io", "clusters", "", "eu", "status", 0, F},
	{VIEWER, "get", "atoll.io", "clusters", "", "eu", "works", 0, F},
	{VIEWER, "post", 0, 0, 0, 0, 0, "/status", F},
};

static void test_table(void **state)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct auth_identity id = ident(r->who);
		struct auth_attrs a = {.verb = r->verb, .resource = r->path == NULL, .group = r->group,
				       .resource_name = r->resource, .ns = r->ns, .name = r->name, .sub = r->sub,
				       .path = r->path};
		char reason[1024] = "";
		enum auth_decision got = auth_authorize(&id, &a, reason, sizeof reason);
		if (got != r->want) {
			print_error("row %zu: %s %s %s/%s ns=%s name=%s sub=%s path=%s: got %d, want %d (%s)\n", i, id.user,
				    r->verb, r->group ? r->group : "", r->resource ? r->resource : "", r->ns ? r->ns : "",
				    r->name ? r->name : "", r->sub ? r->sub : "", r->path ? r->path : "", got, r->want, reason);
			failures++;
		}
		if (got != AUTH_ALLOW && !reason[0]) {
			print_error("row %zu: a denial without a reason\n", i);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_messages(void **state)
{
	struct auth_identity eu = ident(AGENT_EU);
	char reason[1024];
	struct auth_attrs a = {.verb = "list", .resource = true, .group = "work.karmada.io", .resource_name = "works",
			       .ns = "karmada-es-ap", .name = "", .sub = ""};
	assert_int_equal(auth_authorize(&eu, &a, reason, sizeof reason), AUTH_FORBIDDEN);
	assert_string_equal(reason, "works.work.karmada.io is forbidden: User \"system:atoll:agent:eu\" cannot list resource "
				    "\"works\" in API group \"work.karmada.io\" in the namespace \"karmada-es-ap\"");
	a.verb = "get";
	a.name = "w1";
	assert_int_equal(auth_authorize(&eu, &a, reason, sizeof reason), AUTH_FORBIDDEN);
	assert_string_equal(reason, "works.work.karmada.io \"w1\" is forbidden: User \"system:atoll:agent:eu\" cannot get "
				    "resource \"works\" in API group \"work.karmada.io\" in the namespace \"karmada-es-ap\"");
	struct auth_attrs c = {.verb = "update", .resource = true, .group = "cluster.karmada.io", .resource_name = "clusters",
			       .ns = "", .name = "ap", .sub = "status"};
	assert_int_equal(auth_authorize(&eu, &c, reason, sizeof reason), AUTH_FORBIDDEN);
	assert_string_equal(reason, "clusters.cluster.karmada.io \"ap\" is forbidden: User \"system:atoll:agent:eu\" cannot "
				    "update resource \"clusters/status\" in API group \"cluster.karmada.io\" at the cluster scope");
	struct auth_attrs s = {.verb = "list", .resource = true, .group = "", .resource_name = "secrets", .ns = "default",
			       .name = "", .sub = ""};
	assert_int_equal(auth_authorize(&eu, &s, reason, sizeof reason), AUTH_FORBIDDEN);
	assert_string_equal(reason, "secrets is forbidden: User \"system:atoll:agent:eu\" cannot list resource \"secrets\" in "
				    "API group \"\" in the namespace \"default\"");
	struct auth_attrs p = {.verb = "get", .path = "/metrics"};
	assert_int_equal(auth_authorize(&eu, &p, reason, sizeof reason), AUTH_FORBIDDEN);
	assert_string_equal(reason, "forbidden: User \"system:atoll:agent:eu\" cannot get path \"/metrics\"");
}

static void test_agent_clusters(void **state)
{
	struct auth_identity eu = ident(AGENT_EU), ap = ident(AGENT_AP), admin = ident(ADMIN), anon = ident(ANON),
			     fake = ident(FAKE_AGENT), viewer = ident(VIEWER), boot = ident(BOOT_EU), ins = ident(INSECURE);
	assert_string_equal(auth_agent_cluster(&eu), "eu");
	assert_null(auth_agent_cluster(&fake));
	assert_null(auth_agent_cluster(&admin));
	assert_true(auth_agent_may_access_cluster(&eu, "eu"));
	assert_false(auth_agent_may_access_cluster(&eu, "ap"));
	assert_false(auth_agent_may_access_cluster(&eu, "e"));
	assert_false(auth_agent_may_access_cluster(&eu, "eu2"));
	assert_false(auth_agent_may_access_cluster(&eu, ""));
	assert_false(auth_agent_may_access_cluster(&eu, NULL));
	assert_true(auth_agent_may_access_cluster(&ap, "ap"));
	assert_true(auth_agent_may_access_cluster(&admin, "ap"));
	assert_true(auth_agent_may_access_cluster(&ins, "ap"));
	assert_false(auth_agent_may_access_cluster(&anon, "eu"));
	assert_false(auth_agent_may_access_cluster(&fake, "eu"));
	assert_false(auth_agent_may_access_cluster(&viewer, "eu"));
	assert_false(auth_agent_may_access_cluster(&boot, "eu"));
	assert_false(auth_agent_may_access_cluster(NULL, "eu"));
	/* Anonymous with a forged group list is still anonymous. */
	strcpy(anon.user, "system:atoll:agent:eu");
	strcpy(anon.groups[anon.ngroups++], "system:atoll:agents");
	strcpy(anon.groups[anon.ngroups++], "system:masters");
	assert_false(auth_agent_may_access_cluster(&anon, "eu"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_agent_clusters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
