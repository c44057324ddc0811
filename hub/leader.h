/* leader — leader election for the controllers when several hubs share
 * one etcd, as Kubernetes' client-go leaderelection does it: a
 * coordination.k8s.io/v1 Lease (default kube-system/atoll-controller) with
 * holderIdentity, leaseDurationSeconds, acquireTime, renewTime and
 * leaseTransitions, written through the store with compare-and-swap.
 * Owns: the election timer, the Lease object, and the fence
 * (store_etcd_set_fence) that makes every write of the leading hub carry a
 * compare on the Lease's mod_revision, so a hub that lost the Lease cannot
 * write for it.
 *
 * Timing (d = lease duration): every d/5 the leader renews; another hub
 * takes over once it has seen the same Lease record for d (observed time,
 * not the holder's clock), so a dead leader is replaced within d + d/5.
 * A holder on this host whose process is gone (kill -9, then a restart)
 * is taken over at once. A leader that cannot renew for d, or whose write
 * is fenced, stops leading at once. */
#ifndef ATOLL_LEADER_H
#define ATOLL_LEADER_H

#include <stdbool.h>
#include <event2/event.h>

#include "store.h"

struct leader;

/* Called when this hub starts (true) or stops (false) leading; from the
 * loop, never from inside a store call. */
typedef void (*leader_fn)(bool leading, void *ud);

struct leader_config {
	int duration_s;       /* default 15 */
	const char *identity; /* default "<host>_<pid>" */
	const char *ns, *name; /* default kube-system / atoll-controller */
};

/* st must be an etcd store (fencing). Tries at once, then on a timer. */
struct leader *leader_start(struct event_base *base, struct store *st, const struct leader_config *cfg, leader_fn fn,
			    void *ud);
bool leader_leading(const struct leader *l);
/* Stops the timer; a leading hub gives the Lease up (renewTime in the
 * past, as client-go's ReleaseOnCancel) so the next one takes over at
 * once. */
void leader_stop(struct leader *l);

#endif
