/* testutil — small helpers shared by the cmocka unit tests.
 * Owns: nothing (header only, so the Makefile's one-source-per-test rule
 * stays as it is); jq() returns a new cJSON the caller deletes. */
#ifndef ATOLL_TESTUTIL_H
#define ATOLL_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* JSON with ' for " so the cases stay readable; fails the test on bad JSON. */
static inline cJSON *jq(const char *s)
{
	char *t = strdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *j = cJSON_Parse(t);
	if (!j)
		print_error("bad test JSON: %s\n", t);
	free(t);
	assert_non_null(j);
	return j;
}

#endif
