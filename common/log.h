/* log — leveled, one-line logging for every Atoll program.
 * Owns: the log level, the output format (text or JSON) and the sink.
 * Secrets never go through here: callers log names, never key material,
 * request bodies or headers. As a safety net the sink cuts any message or
 * value at "-----BEGIN", "PRIVATE KEY", "Bearer " or "Authorization:".
 * Every line is one line: values are escaped (JSON strings in JSON mode,
 * control characters as \n / \xNN in text mode), invalid UTF-8 replaced,
 * and each value bounded to 2 KiB, so `--log-format json` lines always
 * parse.
 *
 * Repeated lines are collapsed: a line identical to one printed less than
 * the repeat window ago (LOG_REPEAT_WINDOW_MS; same level, message and
 * values — the timestamp aside) is not printed but counted; when the
 * window has passed, one line says how many were left out: the original
 * line with " (repeated N times)" appended in text, or a "repeated": N
 * member in JSON. The last 16 distinct lines are tracked, so interleaved
 * repeats collapse too. Counts still pending are written at exit, and by
 * a timer when log_attach gave the module an event loop. Single-threaded
 * (every Atoll program logs from its one loop thread). */
#ifndef ATOLL_LOG_H
#define ATOLL_LOG_H

#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT = 0, LOG_JSON };

void log_setup(const char *program, enum log_level level, enum log_format fmt);
/* Parses "debug|info|warn|error" / "text|json"; returns -1 on unknown. */
int log_parse_level(const char *s, enum log_level *out);
int log_parse_format(const char *s, enum log_format *out);
enum log_level log_get_level(void);

/* msg is a short human sentence; kv are optional "key=value" style pairs
 * given as alternating key, value strings, terminated by NULL. */
void log_kv(enum log_level level, const char *msg, ...);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_REPEAT_WINDOW_MS 10000

/* Summaries of suppressed repeats are written when their window ends (a
 * timer on base) instead of with the next line. log_detach before the
 * base is freed. */
struct event_base;
void log_attach(struct event_base *base);
void log_detach(void);
/* Writes every pending "(repeated N times)" line now. */
void log_flush_repeats(void);

/* For tests: where lines go (NULL: stderr), the window (0: no
 * collapsing) and the clock in ms (NULL: CLOCK_MONOTONIC). */
void log_set_output(FILE *f);
void log_set_repeat_window_ms(unsigned ms);
void log_set_clock(unsigned long long (*now_ms)(void));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
