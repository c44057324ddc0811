/* retry.c — the agent's one retry policy (retry.h). */
#include "retry.h"

void retry_after_ms(struct event *ev, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(ev, &tv);
}

long retry_later(struct event *ev, struct backoff *b)
{
	long d = (long)backoff_next_ms(b);
	retry_after_ms(ev, d);
	return d;
}
