#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <event2/event.h>

#include "log.h"

/* A fake clock and a captured sink. */
static unsigned long long fake_now = 1000000;
static unsigned long long fake_clock(void) { return fake_now; }

static char *buf;
static size_t buflen;
static FILE *sink;

static int setup(void **state)
{
	sink = open_memstream(&buf, &buflen);
	log_setup("atoll-test", LOG_INFO, LOG_TEXT);
	log_set_output(sink);
	log_set_clock(fake_clock);
	log_set_repeat_window_ms(10000);
	return 0;
}

static int teardown(void **state)
{
	log_flush_repeats();
	log_set_output(NULL);
	log_set_clock(NULL);
	log_set_repeat_window_ms(LOG_REPEAT_WINDOW_MS);
	fclose(sink);
	free(buf);
	buf = NULL;
	buflen = 0;
	return 0;
}

/* The captured lines so far (the timestamps cut off in text mode). */
static int lines(char out[][512], int max, bool strip_ts)
{
	fflush(sink);
	int n = 0;
	const char *p = buf;
	while (p && *p && n < max) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		const char *s = p;
		if (strip_ts) {
			const char *sp = memchr(p, ' ', (size_t)(nl - p));
			assert_non_null(sp);
			s = sp + 1;
		}
		snprintf(out[n++], 512, "%.*s", (int)(nl - s), s);
		p = nl + 1;
	}
	return n;
}

static void test_identical_lines_collapse(void **state)
{
	for (int i = 0; i < 5; i++) {
		log_kv(LOG_WARN, "cannot delete", "name", "c1", "error", "refused", NULL);
		fake_now += 100;
	}
	char l[16][512];
	/* Only the first is printed while the window runs. */
	assert_int_equal(lines(l, 16, true), 1);
	assert_string_equal(l[0], "warn  atoll-test: cannot delete name=c1 error=refused");
	/* Another line: printed; the count of the first waits for its window. */
	log_kv(LOG_INFO, "something else", NULL);
	assert_int_equal(lines(l, 16, true), 2);
	assert_string_equal(l[1], "info  atoll-test: something else");
	/* The window ends: the next line brings the count first. */
	fake_now += 10000;
	log_kv(LOG_INFO, "later", NULL);
	assert_int_equal(lines(l, 16, true), 4);
	assert_string_equal(l[2], "warn  atoll-test: cannot delete name=c1 error=refused (repeated 4 times)");
	assert_string_equal(l[3], "info  atoll-test: later");
	/* After the window the line is printed in full again. */
	log_kv(LOG_WARN, "cannot delete", "name", "c1", "error", "refused", NULL);
	assert_int_equal(lines(l, 16, true), 5);
	assert_string_equal(l[4], "warn  atoll-test: cannot delete name=c1 error=refused");
	/* Nothing suppressed: no summary. */
	log_flush_repeats();
	assert_int_equal(lines(l, 16, true), 5);
}

/* Any difference (a value, the level, printf arguments) is another line;
 * interleaved repeats collapse each on its own. */
static void test_differences_and_interleaving(void **state)
{
	for (int i = 0; i < 3; i++) {
		log_kv(LOG_WARN, "cannot delete", "name", "a", NULL);
		log_kv(LOG_WARN, "cannot delete", "name", "b", NULL);
		log_kv(LOG_ERROR, "cannot delete", "name", "b", NULL);
		log_warn("attempt %d", i < 2 ? 1 : 2);
	}
	char l[16][512];
	assert_int_equal(lines(l, 16, true), 5);
	assert_string_equal(l[0], "warn  atoll-test: cannot delete name=a");
	assert_string_equal(l[1], "warn  atoll-test: cannot delete name=b");
	assert_string_equal(l[2], "error atoll-test: cannot delete name=b");
	assert_string_equal(l[3], "warn  atoll-test: attempt 1");
	assert_string_equal(l[4], "warn  atoll-test: attempt 2");
	log_flush_repeats();
	assert_int_equal(lines(l, 16, true), 9);
	/* Flushed in slot order: each with its own count. */
	assert_string_equal(l[5], "warn  atoll-test: cannot delete name=a (repeated 2 times)");
	assert_string_equal(l[6], "warn  atoll-test: cannot delete name=b (repeated 2 times)");
	assert_string_equal(l[7], "error atoll-test: cannot delete name=b (repeated 2 times)");
	assert_string_equal(l[8], "warn  atoll-test: attempt 1 (repeated 1 time)");
}

/* A flood: millions of identical lines become a handful. */
static void test_flood_stays_short(void **state)
{
	for (int i = 0; i < 200000; i++) {
		log_kv(LOG_ERROR, "Error from accept() call", "error", "Too many open files", NULL);
		if (i % 1000 == 0)
			fake_now += 1; /* 200 ms in all */
	}
	fake_now += 10000;
	for (int i = 0; i < 1000; i++)
		log_kv(LOG_ERROR, "Error from accept() call", "error", "Too many open files", NULL);
	log_flush_repeats();
	char l[16][512];
	assert_int_equal(lines(l, 16, true), 4);
	assert_string_equal(l[1], "error atoll-test: Error from accept() call error=Too many open files (repeated 199999 times)");
	assert_string_equal(l[2], "error atoll-test: Error from accept() call error=Too many open files");
	assert_string_equal(l[3], "error atoll-test: Error from accept() call error=Too many open files (repeated 999 times)");
}

/* More distinct lines than tracked: the oldest is dropped, its count
 * written first, and nothing is lost. */
static void test_eviction_keeps_counts(void **state)
{
	log_kv(LOG_WARN, "first", NULL);
	log_kv(LOG_WARN, "first", NULL);
	char name[16];
	for (int i = 0; i < 16; i++) {
		fake_now += 1;
		snprintf(name, sizeof name, "n%d", i);
		log_kv(LOG_INFO, "distinct", "name", name, NULL);
	}
	char l[32][512];
	int n = lines(l, 32, true);
	assert_int_equal(n, 18);
	assert_string_equal(l[0], "warn  atoll-test: first");
	assert_string_equal(l[1], "info  atoll-test: distinct name=n0");
	/* n15 needed a slot: the oldest ("first") made room, count written. */
	assert_string_equal(l[16], "warn  atoll-test: first (repeated 1 time)");
	assert_string_equal(l[17], "info  atoll-test: distinct name=n15");
}

static void test_json_mode(void **state)
{
	log_setup("atoll-test", LOG_INFO, LOG_JSON);
	for (int i = 0; i < 4; i++)
		log_kv(LOG_WARN, "cannot \"delete\"", "name", "c1", NULL);
	log_flush_repeats();
	char l[8][512];
	assert_int_equal(lines(l, 8, false), 2);
	cJSON *a = cJSON_Parse(l[0]), *b = cJSON_Parse(l[1]);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(cJSON_GetObjectItem(a, "msg")->valuestring, "cannot \"delete\"");
	assert_null(cJSON_GetObjectItem(a, "repeated"));
	assert_string_equal(cJSON_GetObjectItem(b, "msg")->valuestring, "cannot \"delete\"");
	assert_string_equal(cJSON_GetObjectItem(b, "name")->valuestring, "c1");
	assert_string_equal(cJSON_GetObjectItem(b, "level")->valuestring, "warn");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(b, "repeated")));
	assert_int_equal(cJSON_GetObjectItem(b, "repeated")->valueint, 3);
	assert_non_null(cJSON_GetObjectItem(b, "ts"));
	cJSON_Delete(a);
	cJSON_Delete(b);
	log_setup("atoll-test", LOG_INFO, LOG_TEXT);
}

static void test_window_zero_disables(void **state)
{
	log_set_repeat_window_ms(0);
	for (int i = 0; i < 3; i++)
		log_kv(LOG_INFO, "same", NULL);
	char l[8][512];
	assert_int_equal(lines(l, 8, true), 3);
}

/* With an event loop the count is written when the window ends, without
 * waiting for another line. */
static void test_timer_writes_counts(void **state)
{
	log_set_clock(NULL); /* the loop's timer runs on real time */
	log_set_repeat_window_ms(50);
	struct event_base *base = event_base_new();
	log_attach(base);
	for (int i = 0; i < 3; i++)
		log_kv(LOG_WARN, "member unreachable", NULL);
	char l[8][512];
	assert_int_equal(lines(l, 8, true), 1);
	struct timeval tv = {0, 300000};
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(lines(l, 8, true), 2);
	assert_string_equal(l[1], "warn  atoll-test: member unreachable (repeated 2 times)");
	log_detach();
	event_base_free(base);
}

/* libevent's own messages go through the module: format and collapsing. */
static void test_libevent_messages(void **state)
{
	struct event_base *base = event_base_new();
	log_attach(base);
	for (int i = 0; i < 3; i++) {
		struct event_config *cfg = event_config_new();
		const char **m = event_get_supported_methods();
		for (int k = 0; m[k]; k++)
			event_config_avoid_method(cfg, m[k]);
		assert_null(event_base_new_with_config(cfg)); /* libevent warns: no event mechanism */
		event_config_free(cfg);
	}
	char l[8][512];
	int n = lines(l, 8, true);
	assert_true(n >= 1);
	assert_non_null(strstr(l[0], "atoll-test: "));
	assert_non_null(strstr(l[0], "source=libevent"));
	log_flush_repeats();
	int n2 = lines(l, 8, true);
	assert_int_equal(n2, n + 1);
	assert_non_null(strstr(l[n2 - 1], "(repeated 2 times)"));
	log_detach();
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identical_lines_collapse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_differences_and_interleaving, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_stays_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction_keeps_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_zero_disables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_writes_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libevent_messages, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
