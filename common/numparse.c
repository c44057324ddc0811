/* numparse — strict decimal integers (see numparse.h). */
#include "numparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int num_parse_ll(const char *s, long long min, long long max, long long *out)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int num_parse_int(const char *s, int min, int max, int *out)
{
	long long v;
	if (num_parse_ll(s, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}
