/* libFuzzer: label and field selectors: parse, then match against a
 * fixed object. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cJSON *obj;
	if (!obj)
		obj = cJSON_Parse("{\"metadata\":{\"name\":\"hello\",\"namespace\":\"default\","
				  "\"labels\":{\"app\":\"hello\",\"tier\":\"web\",\"x.io/y\":\"1\"}},"
				  "\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\"}}");
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	char err[256];
	struct label_selector *ls = label_selector_parse(s, err, sizeof err);
	if (ls) {
		label_selector_matches(ls, cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "metadata"), "labels"));
		label_selector_free(ls);
	}
	struct field_selector *fs = field_selector_parse(s, err, sizeof err);
	if (fs) {
		field_selector_matches(fs, obj);
		field_selector_free(fs);
	}
	free(s);
	return 0;
}
