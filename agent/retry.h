/* retry — the agent's one retry policy (common/backoff.h), used by the
 * hub client, the Works and the watches alike.
 * Owns: arming a timer after a backoff's next delay, or after a fixed one. */
#ifndef ATOLL_AGENT_RETRY_H
#define ATOLL_AGENT_RETRY_H

#include <event2/event.h>

#include "backoff.h"

/* Arms ev after ms milliseconds. */
void retry_after_ms(struct event *ev, long ms);
/* Arms ev after b's next delay (one more failure counted); returns the
 * delay in ms. */
long retry_later(struct event *ev, struct backoff *b);

#endif
