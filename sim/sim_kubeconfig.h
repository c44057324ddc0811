/* kubeconfig — the kubeconfig file a simulated cluster hands to clients.
 * Owns: the text of a kubeconfig for a plain-HTTP server (cluster, context
 * and user all named after the cluster, current-context set), and writing
 * it atomically (temporary file, then rename) with mode 0600. */
#ifndef ATOLL_SIM_KUBECONFIG_H
#define ATOLL_SIM_KUBECONFIG_H

#include <stddef.h>

/* The kubeconfig text for server (e.g. "http://127.0.0.1:7001") and a
 * context named name. Caller frees. */
char *sim_kubeconfig_render(const char *name, const char *server);
/* Writes the kubeconfig to path. Returns 0, or -1 with err filled. */
int sim_kubeconfig_write(const char *path, const char *name, const char *server, char *err, size_t errlen);

#endif
