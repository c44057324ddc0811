/* timefmt — timestamps as Kubernetes writes and prints them.
 * Owns: RFC 3339 formatting/parsing (second precision, UTC) and
 * Kubernetes' HumanDuration ("5m", "2m3s", "3d4h") used in AGE cells. */
#ifndef ATOLL_TIMEFMT_H
#define ATOLL_TIMEFMT_H

#include <stddef.h>
#include <time.h>

/* "2026-11-25T05:30:01Z" */
const char *time_rfc3339(time_t t, char *buf, size_t len);
/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; returns -1 on error. */
int time_parse_rfc3339(const char *s, time_t *out);
/* Kubernetes duration.HumanDuration of d seconds. */
const char *time_human_duration(long long d, char *buf, size_t len);
/* Parses a Go-style duration ("10s", "1m30s", "24h", "500ms") into ms;
 * returns -1 on error. */
int time_parse_duration_ms(const char *s, long long *out_ms);
/* CLOCK_MONOTONIC in seconds. */
double time_mono_seconds(void);
/* CLOCK_MONOTONIC in microseconds (durations of calls and locks). */
long long time_mono_us(void);
/* Now as a Kubernetes MicroTime: "2006-01-02T15:04:05.000000Z". */
const char *time_now_micro(char *buf, size_t len);

#endif
