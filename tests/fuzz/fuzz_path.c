/* libFuzzer: the HTTP request path: api_parse_path, then the authorizer on
 * what it parsed, for an agent, a viewer and an anonymous client. Checks
 * that every parsed field is terminated and that nothing an agent of eu
 * is allowed touches another cluster's namespace. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver.h"
#include "auth.h"

static void check_field(const char *f, size_t cap)
{
	if (strnlen(f, cap) >= cap)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *path = malloc(size + 1);
	memcpy(path, data, size);
	path[size] = '\0';
	struct api_path p;
	bool res = api_parse_path(path, &p) == 0;
	if (res) {
		check_field(p.group, sizeof p.group);
		check_field(p.version, sizeof p.version);
		check_field(p.ns, sizeof p.ns);
		check_field(p.resource, sizeof p.resource);
		check_field(p.name, sizeof p.name);
		check_field(p.sub, sizeof p.sub);
	}
	static const char *const verbs[] = {"get", "list", "watch", "create", "update", "patch", "delete"};
	struct auth_identity agent = {.via = AUTH_CERT, .user = "system:atoll:agent:eu", .ngroups = 1,
				      .groups = {"system:atoll:agents"}};
	struct auth_identity viewer = {.via = AUTH_TOKEN, .user = "d", .ngroups = 1, .groups = {"system:atoll:viewers"}};
	struct auth_identity anon = {.via = AUTH_ANONYMOUS};
	for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
		struct auth_attrs a = {.verb = verbs[v], .resource = res, .path = path};
		if (res) {
			a.group = p.group, a.resource_name = p.resource, a.ns = p.ns, a.name = p.name, a.sub = p.sub;
		}
		char reason[1024];
		if (auth_authorize(&agent, &a, reason, sizeof reason) == AUTH_ALLOW && res && p.ns[0] &&
		    strcmp(p.ns, "karmada-es-eu") != 0 && strcmp(p.ns, "karmada-cluster") != 0)
			abort(); /* an agent reached another namespace */
		auth_authorize(&viewer, &a, reason, sizeof reason);
		if (auth_authorize(&anon, &a, reason, sizeof reason) == AUTH_ALLOW && res &&
		    !(strcmp(p.group, "atoll.io") == 0 && strcmp(p.resource, "join") == 0))
			abort(); /* anonymous reached a resource */
	}
	free(path);
	return 0;
}
