#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/time.h>
#include <event2/event.h>

static const char *log_program = "atoll";
static enum log_level log_min = LOG_INFO;
static enum log_format log_fmt = LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static FILE *log_out; /* NULL: stderr */

void log_setup(const char *program, enum log_level level, enum log_format fmt)
{
	static bool at_exit;
	if (!at_exit) {
		atexit(log_flush_repeats);
		at_exit = true;
	}
	log_flush_repeats(); /* summaries in the format of their lines */
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

/* ---- collapsing of repeated lines ---- */

#define REPEAT_SLOTS 16

/* A line printed recently: its text without the timestamp, when it was
 * printed, and how many identical lines were left out since. */
struct repeat {
	char *body;
	size_t len;
	uint64_t hash;
	unsigned long long since;
	unsigned long count;
};

static struct repeat repeats[REPEAT_SLOTS];
static unsigned repeat_window = LOG_REPEAT_WINDOW_MS;
static unsigned long long (*log_clock)(void);
static struct event *repeat_ev;
static unsigned long long repeat_ev_due; /* when repeat_ev fires (0: not armed) */
static bool in_libevent; /* inside libevent's log callback: no libevent calls */

static unsigned long long now_ms(void)
{
	if (log_clock)
		return log_clock();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

void log_set_output(FILE *f) { log_out = f; }
void log_set_repeat_window_ms(unsigned ms)
{
	log_flush_repeats();
	repeat_window = ms;
}
void log_set_clock(unsigned long long (*fn)(void)) { log_clock = fn; }

/* One line, written with a single fwrite so concurrent writers (rare)
 * never interleave within a line: the timestamp, then body (everything
 * else; JSON without its braces), then the count of left-out repeats
 * when there is one. */
static void write_line(const char *body, size_t len, unsigned long repeated)
{
	char ts[40];
	char *line = NULL;
	size_t n = 0;
	timestamp(ts, sizeof ts);
	FILE *mem = open_memstream(&line, &n);
	if (!mem)
		return;
	if (log_fmt == LOG_JSON)
		fprintf(mem, "{\"ts\":\"%s\",", ts);
	else
		fprintf(mem, "%s ", ts);
	fwrite(body, 1, len, mem);
	if (repeated && log_fmt == LOG_JSON)
		fprintf(mem, ",\"repeated\":%lu", repeated);
	else if (repeated)
		fprintf(mem, " (repeated %lu time%s)", repeated, repeated == 1 ? "" : "s");
	if (log_fmt == LOG_JSON)
		fputc('}', mem);
	fputc('\n', mem);
	if (fclose(mem) == 0 && line)
		fwrite(line, 1, n, log_out ? log_out : stderr);
	free(line);
}

static void repeat_clear(struct repeat *r)
{
	if (r->count)
		write_line(r->body, r->len, r->count);
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* Ends the windows that are over: their counts are written. */
static void repeats_expire(unsigned long long now)
{
	for (int i = 0; i < REPEAT_SLOTS; i++)
		if (repeats[i].body && now - repeats[i].since >= repeat_window)
			repeat_clear(&repeats[i]);
}

void log_flush_repeats(void)
{
	for (int i = 0; i < REPEAT_SLOTS; i++)
		if (repeats[i].body)
			repeat_clear(&repeats[i]);
}

static void repeat_timer_arm(unsigned long long now);

static void repeat_fire(evutil_socket_t fd, short what, void *arg)
{
	repeat_ev_due = 0;
	unsigned long long now = now_ms();
	repeats_expire(now);
	repeat_timer_arm(now);
}

/* The timer, if any, fires when the first window with a count ends. */
static void repeat_timer_arm(unsigned long long now)
{
	if (!repeat_ev || in_libevent)
		return;
	unsigned long long due = 0;
	for (int i = 0; i < REPEAT_SLOTS; i++)
		if (repeats[i].count && (!due || repeats[i].since + repeat_window < due))
			due = repeats[i].since + repeat_window;
	if (!due || (repeat_ev_due && repeat_ev_due <= due))
		return;
	unsigned long long ms = due > now ? due - now : 0;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	event_add(repeat_ev, &tv);
	repeat_ev_due = due;
}

/* libevent's own messages ("Error from accept() call: Too many open
 * files", ...) in the program's format, collapsed like any line. */
static void libevent_log(int severity, const char *msg)
{
	enum log_level l = severity == EVENT_LOG_DEBUG ? LOG_DEBUG
			   : severity == EVENT_LOG_MSG ? LOG_INFO
			   : severity == EVENT_LOG_WARN ? LOG_WARN
							: LOG_ERROR;
	/* No libevent call from its log callback: the count of a repeat
	 * that starts here is written by the next line or timer. */
	in_libevent = true;
	log_kv(l, msg, "source", "libevent", NULL);
	in_libevent = false;
}

void log_attach(struct event_base *base)
{
	log_detach();
	repeat_ev = evtimer_new(base, repeat_fire, NULL);
	event_set_log_callback(libevent_log);
}

void log_detach(void)
{
	if (repeat_ev)
		event_free(repeat_ev);
	repeat_ev = NULL;
	repeat_ev_due = 0;
}

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Prints body (taking it), or counts it when an identical line was
 * printed less than the window ago. */
static void emit_collapsed(char *body, size_t len)
{
	if (!repeat_window) {
		write_line(body, len, 0);
		free(body);
		return;
	}
	unsigned long long now = now_ms();
	repeats_expire(now);
	uint64_t h = fnv1a(body, len);
	struct repeat *slot = NULL;
	for (int i = 0; i < REPEAT_SLOTS; i++) {
		struct repeat *r = &repeats[i];
		if (r->body && r->hash == h && r->len == len && memcmp(r->body, body, len) == 0) {
			r->count++;
			free(body);
			if (r->count == 1)
				repeat_timer_arm(now);
			return;
		}
		if (!slot || (slot->body && (!r->body || r->since < slot->since)))
			slot = r;
	}
	/* A free slot, else the oldest line's (its count, if any, written first). */
	if (slot->body)
		repeat_clear(slot);
	write_line(body, len, 0);
	slot->body = body;
	slot->len = len;
	slot->hash = h;
	slot->since = now;
	slot->count = 0;
}

/* Every value is escaped and bounded, so a JSON line always parses and a
 * text line never breaks. */
static void emit(enum log_level level, const char *msg, va_list kv)
{
	char *body = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&body, &n);
	if (!mem)
		return;
	if (log_fmt == LOG_JSON) {
		fprintf(mem, "\"level\":\"%s\",\"program\":\"", level_names[level]);
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
	} else {
		fprintf(mem, "%-5s %s: ", level_names[level], log_program);
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
	if (fclose(mem) != 0 || !body) {
		free(body);
		return;
	}
	emit_collapsed(body, n);
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
