/* joinapi — the hub's join endpoint: certificates for agents.
 * Owns: /apis/atoll.io/v1alpha1/join (docs/protocol.md, "Joining"): GET
 * (anonymous) answers JoinInfo with the CA bundle, which the agent pins by
 * the hash it was given; POST signs a CSR.
 * The caller presents a bootstrap token (Authorization: Bearer) — or, to
 * renew, its current agent certificate, or an admin identity — and a PEM
 * CSR whose CN is system:atoll:agent:<cluster>. The answer is a client
 * certificate for that cluster (O=system:atoll:agents) signed by the hub's
 * CA, and the CA bundle. A bootstrap token bound to a cluster signs only
 * for that cluster; an agent renews only its own certificate. */
#ifndef ATOLL_JOINAPI_H
#define ATOLL_JOINAPI_H

#include "apiserver.h"
#include "auth.h"

struct joinapi;

/* Loads DIR/ca.crt and DIR/ca.key; NULL with err when they are missing.
 * Register before agentapi (both live under /apis/atoll.io). */
struct joinapi *joinapi_new(struct apiserver *api, struct auth *au, const char *data_dir, char *err, size_t errlen);
void joinapi_free(struct joinapi *j);

#endif
