#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

#define LOG_MAX_VALUE 2048 /* bytes of one message or value; longer ones are cut */

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (!n)
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	unsigned cp = n == 2 ? (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu)
		      : n == 3 ? (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu)
			       : (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3fu);
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Safety net for callers' mistakes: key material and bearer tokens never
 * reach the sink, whatever a message carries. Returns the length of s to
 * print (text after a marker is replaced by a notice). */
static size_t redact_len(const char *s, const char **notice)
{
	static const char *const markers[] = {"-----BEGIN", "PRIVATE KEY", "Bearer ", "bearer ", "Authorization:", NULL};
	size_t cut = strlen(s);
	*notice = NULL;
	for (int i = 0; markers[i]; i++) {
		const char *m = strstr(s, markers[i]);
		if (m && (size_t)(m - s) < cut) {
			cut = (size_t)(m - s);
			*notice = "[redacted]";
		}
	}
	return cut;
}

/* Writes s escaped for a JSON string (json) or for one text line: control
 * characters escaped, invalid UTF-8 replaced, at most LOG_MAX_VALUE bytes. */
static void put_escaped(FILE *f, const char *s, int json)
{
	const char *notice;
	size_t len = redact_len(s, &notice), done = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (done < len) {
		if (done >= LOG_MAX_VALUE) {
			fputs("...[truncated]", f);
			break;
		}
		unsigned char c = p[done];
		int n = utf8_seq(p + done);
		if (n == 0 || done + (size_t)n > len) {
			fputs(json ? "\\ufffd" : "?", f);
			done++;
		} else if (n > 1) {
			fwrite(p + done, 1, (size_t)n, f);
			done += (size_t)n;
		} else {
			if (c == '"' && json)
				fputs("\\\"", f);
			else if (c == '\\' && json)
				fputs("\\\\", f);
			else if (c == '\n')
				fputs("\\n", f);
			else if (c == '\r')
				fputs("\\r", f);
			else if (c == '\t')
				fputs(json ? "\\t" : " ", f);
			else if (c < 0x20 || c == 0x7f)
				fprintf(f, json ? "\\u%04x" : "\\x%02x", c);
			else
				fputc(c, f);
			done++;
		}
	}
	if (notice)
		fputs(notice, f);
}

static void json_escape(FILE *f, const char *s)
{
	put_escaped(f, s, 1);
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

/* One line per record, written with a single fwrite so concurrent
 * threads (rare) never interleave within a line. Every value is escaped
 * and bounded, so a JSON line always parses and a text line never breaks. */
static void emit(enum log_level level, const char *msg, va_list kv)
{
	char ts[40];
	char *line = NULL;
	size_t n = 0;
	timestamp(ts, sizeof ts);
	FILE *mem = open_memstream(&line, &n);
	if (!mem)
		return;
	if (log_fmt == LOG_JSON) {
		fprintf(mem, "{\"ts\":\"%s\",\"level\":\"%s\",\"program\":\"", ts, level_names[level]);
		json_escape(mem, log_program);
		fputs("\",\"msg\":\"", mem);
		json_escape(mem, msg);
		fputc('"', mem);
		const char *k;
		int nkv = 0;
		while ((k = va_arg(kv, const char *)) != NULL && nkv++ < 32) {
			const char *v = va_arg(kv, const char *);
			fputs(",\"", mem);
			json_escape(mem, k);
			fputs("\":\"", mem);
			json_escape(mem, v ? v : "");
			fputc('"', mem);
		}
		fputc('}', mem);
	} else {
		fprintf(mem, "%s %-5s %s: ", ts, level_names[level], log_program);
		put_escaped(mem, msg, 0);
		const char *k;
		int nkv = 0;
		while ((k = va_arg(kv, const char *)) != NULL && nkv++ < 32) {
			const char *v = va_arg(kv, const char *);
			fputc(' ', mem);
			put_escaped(mem, k, 0);
			fputc('=', mem);
			put_escaped(mem, v ? v : "", 0);
		}
	}
	fputc('\n', mem);
	if (fclose(mem) == 0 && line)
		fwrite(line, 1, n, stderr);
	free(line);
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
