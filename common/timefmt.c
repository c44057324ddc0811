#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

const char *time_rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int time_parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}

/* Mirrors k8s.io/apimachinery/pkg/util/duration.HumanDuration. */
const char *time_human_duration(long long d, char *buf, size_t len)
{
	if (d < 0)
		d = 0;
	if (d < 120) {
		snprintf(buf, len, "%llds", d);
	} else if (d < 600) {
		long long m = d / 60, s = d % 60;
		if (s == 0)
			snprintf(buf, len, "%lldm", m);
		else
			snprintf(buf, len, "%lldm%llds", m, s);
	} else if (d < 3 * 3600) {
		snprintf(buf, len, "%lldm", d / 60);
	} else if (d < 8 * 3600) {
		long long h = d / 3600, m = (d % 3600) / 60;
		if (m == 0)
			snprintf(buf, len, "%lldh", h);
		else
			snprintf(buf, len, "%lldh%lldm", h, m);
	} else if (d < 48 * 3600) {
		snprintf(buf, len, "%lldh", d / 3600);
	} else if (d < 8 * 86400) {
		long long dd = d / 86400, h = (d % 86400) / 3600;
		if (h == 0)
			snprintf(buf, len, "%lldd", dd);
		else
			snprintf(buf, len, "%lldd%lldh", dd, h);
	} else if (d < 2 * 365 * 86400LL) {
		snprintf(buf, len, "%lldd", d / 86400);
	} else if (d < 8 * 365 * 86400LL) {
		long long y = d / (365 * 86400LL), dd = (d % (365 * 86400LL)) / 86400;
		if (dd == 0)
			snprintf(buf, len, "%lldy", y);
		else
			snprintf(buf, len, "%lldy%lldd", y, dd);
	} else {
		snprintf(buf, len, "%lldy", d / (365 * 86400LL));
	}
	return buf;
}

int time_parse_duration_ms(const char *s, long long *out_ms)
{
	if (!s || !*s)
		return -1;
	long long total = 0;
	const char *p = s;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p || v < 0)
			return -1;
		p = end;
		double mult;
		if (strncmp(p, "ms", 2) == 0) {
			mult = 1;
			p += 2;
		} else if (*p == 's') {
			mult = 1000;
			p++;
		} else if (*p == 'm') {
			mult = 60000;
			p++;
		} else if (*p == 'h') {
			mult = 3600000;
			p++;
		} else {
			return -1;
		}
		total += (long long)(v * mult);
	}
	*out_ms = total;
	return 0;
}

double time_mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

long long time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *time_now_micro(char *buf, size_t len)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	time_t t = tv.tv_sec;
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
	return buf;
}
