/* libFuzzer: patches (merge, JSON, strategic, server-side apply) of a
 * target by a patch. Input: one byte for the patch type, then the target
 * JSON and the patch JSON separated by a NUL byte. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonutil.h"
#include "kinds.h"
#include "patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		kinds_init();
		inited = 1;
	}
	if (size < 2)
		return 0;
	int type = data[0] % 4;
	const char *rest = (const char *)data + 1;
	size_t n = size - 1;
	const char *sep = memchr(rest, '\0', n);
	if (!sep)
		return 0;
	char err[256];
	cJSON *target = json_parse_limited(rest, (size_t)(sep - rest), JSON_MAX_DEPTH, err, sizeof err);
	cJSON *patch = json_parse_limited(sep + 1, n - (size_t)(sep - rest) - 1, JSON_MAX_DEPTH, err, sizeof err);
	if (patch) {
		static const enum patch_type types[] = {PATCH_MERGE, PATCH_JSON, PATCH_STRATEGIC, PATCH_APPLY};
		const struct kind_info *k = kinds_find_kind("apps", "v1", "Deployment");
		cJSON *out = patch_apply(types[type], target, patch, k, err, sizeof err);
		cJSON_Delete(out);
		out = patch_apply(types[type], target, patch, NULL, err, sizeof err);
		cJSON_Delete(out);
	}
	cJSON_Delete(target);
	cJSON_Delete(patch);
	return 0;
}
