/* libFuzzer: strict request parameters (params.h): Go-style integer
 * parsing, resourceVersion, the boolean conversion and quoting. Checks that
 * what parses prints back to the same value, that nothing with a blank, a
 * dot or an exponent parses, and that every message is terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	char err[512], buf[64];
	long long v;
	if (param_int64(s, &v, err, sizeof err) == 0) {
		if (strpbrk(s, " .eEx_\t"))
			abort();
		long long w;
		snprintf(buf, sizeof buf, "%lld", v);
		if (param_int64(buf, &w, err, sizeof err) != 0 || w != v)
			abort();
	} else if (strnlen(err, sizeof err) == sizeof err || strncmp(err, "strconv.ParseInt: parsing \"", 27) != 0) {
		abort();
	}
	unsigned long long u;
	if (param_uint64(s, &u, err, sizeof err) == 0 && (s[0] == '-' || s[0] == '+'))
		abort();
	long long rv;
	if (param_resource_version(s, &rv, err, sizeof err) == 0 && rv < 0)
		abort();
	(void)param_kube_bool(s);
	char q[32];
	param_quote(s, q, sizeof q);
	if (strnlen(q, sizeof q) == sizeof q)
		abort();
	(void)params_has_nul_escape(s);
	free(s);
	return 0;
}
