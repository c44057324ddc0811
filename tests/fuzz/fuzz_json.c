/* libFuzzer: bounded JSON parsing (json_parse_limited), printing and
 * re-parsing what was printed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	cJSON *j = json_parse_limited((const char *)data, size, JSON_MAX_DEPTH, err, sizeof err);
	if (!j)
		return 0;
	char *s = json_print(j);
	if (s) {
		/* What we print we must read back (depth is unchanged). */
		cJSON *k = json_parse_limited(s, strlen(s), JSON_MAX_DEPTH, err, sizeof err);
		if (!k)
			abort();
		cJSON_Delete(k);
		free(s);
	}
	cJSON *d = json_dup(j);
	json_get(j, "metadata.name");
	json_depth(j);
	cJSON_Delete(d);
	cJSON_Delete(j);
	return 0;
}
