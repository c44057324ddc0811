/* log — leveled, one-line logging for every Atoll program.
 * Owns: the log level, the output format (text or JSON) and the sink.
 * Secrets never go through here: callers log names, never key material,
 * request bodies or headers. As a safety net the sink cuts any message or
 * value at "-----BEGIN", "PRIVATE KEY", "Bearer " or "Authorization:".
 * Every line is one line: values are escaped (JSON strings in JSON mode,
 * control characters as \n / \xNN in text mode), invalid UTF-8 replaced,
 * and each value bounded to 2 KiB, so `--log-format json` lines always
 * parse. */
#ifndef ATOLL_LOG_H
#define ATOLL_LOG_H

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

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
