#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/time.h>

static const char *log_program = "atoll";
static enum log_level log_min = LOG_INFO;
static enum log_format log_fmt = LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(const char *program, enum log_level level, enum log_format fmt)
{
	log_program = program;
	log_min = level;
	log_fmt = fmt;
}

enum log_level log_get_level(void) { return log_min; }

int log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

int log_parse_format(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_JSON;
	else
		return -1;
	return 0;
}

static void json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

static void timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

/* One line per record, written with a single fprintf so concurrent
 * threads (rare) never interleave within a line. */
static void emit(enum log_level level, const char *msg, va_list kv)
{
	char ts[40], line[8192];
	size_t n = 0;
	timestamp(ts, sizeof ts);
	FILE *mem = fmemopen(line, sizeof line - 2, "w");
	if (!mem)
		return;
	if (log_fmt == LOG_JSON) {
		fprintf(mem, "{\"ts\":\"%s\",\"level\":\"%s\",\"program\":\"", ts, level_names[level]);
		json_escape(mem, log_program);
		fputs("\",\"msg\":\"", mem);
		json_escape(mem, msg);
		fputc('"', mem);
		const char *k;
		while ((k = va_arg(kv, const char *)) != NULL) {
			const char *v = va_arg(kv, const char *);
			fputs(",\"", mem);
			json_escape(mem, k);
			fputs("\":\"", mem);
			json_escape(mem, v ? v : "");
			fputc('"', mem);
		}
		fputc('}', mem);
	} else {
		fprintf(mem, "%s %-5s %s: %s", ts, level_names[level], log_program, msg);
		const char *k;
		while ((k = va_arg(kv, const char *)) != NULL) {
			const char *v = va_arg(kv, const char *);
			fprintf(mem, " %s=%s", k, v ? v : "");
		}
	}
	fflush(mem);
	n = (size_t)ftell(mem);
	fclose(mem);
	if (n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

void log_kv(enum log_level level, const char *msg, ...)
{
	if (level < log_min)
		return;
	va_list ap;
	va_start(ap, msg);
	emit(level, msg, ap);
	va_end(ap);
}

static void emit_plain(enum log_level level, const char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	emit(level, msg, ap);
	va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level < log_min)
		return;
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	emit_plain(level, buf, (const char *)NULL);
}
