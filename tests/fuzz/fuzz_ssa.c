/* libFuzzer: server-side apply (ssa.h) — field sets, the apply merge,
 * conflicts, removal and Update ownership. Input: one byte of flags (bit 0:
 * a Deployment, else a kind without schema; bit 1: force; bit 2: strip
 * status; bit 3: a PropagationPolicy, Karmada's JSON-only schema), then the live object (its managedFields included) and the
 * applied configuration as JSON, separated by a NUL byte. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonutil.h"
#include "kinds.h"
#include "ssa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		kinds_init();
		inited = 1;
	}
	if (size < 2)
		return 0;
	unsigned flags = data[0];
	const char *rest = (const char *)data + 1;
	size_t n = size - 1;
	const char *sep = memchr(rest, '\0', n);
	if (!sep)
		return 0;
	char err[1024];
	cJSON *live = json_parse_limited(rest, (size_t)(sep - rest), JSON_MAX_DEPTH, err, sizeof err);
	cJSON *cfg = json_parse_limited(sep + 1, n - (size_t)(sep - rest) - 1, JSON_MAX_DEPTH, err, sizeof err);
	const struct kind_info *k = (flags & 8) ? kinds_find_kind("policy.karmada.io", "v1alpha1", "PropagationPolicy")
				    : (flags & 1) ? kinds_find_kind("apps", "v1", "Deployment") : NULL;
	bool strip = (flags & 4) != 0;
	if (cfg) {
		struct ssa_writer w = {.manager = "fuzz", .apply = true, .force = (flags & 2) != 0};
		int code = 0;
		cJSON *causes = NULL;
		cJSON *out = ssa_apply(k, cJSON_IsObject(live) ? live : NULL, cfg, &w, "apps/v1", "t", strip, &code, err,
				       sizeof err, &causes);
		cJSON_Delete(causes);
		if (out) {
			/* A second manager applies the old object back. */
			struct ssa_writer w2 = {.manager = "other", .apply = true, .force = false};
			cJSON *again = ssa_apply(k, out, cJSON_IsObject(live) ? live : cfg, &w2, "apps/v1", "t", strip,
						 &code, err, sizeof err, &causes);
			cJSON_Delete(causes);
			cJSON_Delete(again);
		}
		cJSON_Delete(out);
		if (cJSON_IsObject(cfg)) {
			cJSON *next = json_dup(cfg);
			ssa_record_update(k, cJSON_IsObject(live) ? live : NULL, next, "u", "", "apps/v1", "t", strip);
			cJSON_Delete(next);
		}
	}
	cJSON_Delete(live);
	cJSON_Delete(cfg);
	return 0;
}
