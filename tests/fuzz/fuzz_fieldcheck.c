/* libFuzzer: field validation (proto/fieldcheck) of an untrusted body.
 * Input: one byte choosing the kind (a built-in or Karmada kind from the
 * schema tables, or a custom kind with a structural schema) and whether
 * the body is an object or a patch, then the body's JSON. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fieldcheck.h"
#include "jsonutil.h"
#include "pbschema.h"

static const char CRD[] =
	"{\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\",\"names\":{\"kind\":\"Widget\"},"
	"\"versions\":[{\"name\":\"v1\",\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
	"\"spec\":{\"type\":\"object\",\"properties\":{\"size\":{\"type\":\"integer\"},"
	"\"free\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true},"
	"\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"string\"}}}},"
	"\"tpl\":{\"type\":\"object\",\"x-kubernetes-embedded-resource\":true,\"properties\":{\"spec\":{\"type\":\"object\"}}},"
	"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"string\"}}}}}}}}}}]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		cJSON *crd = cJSON_Parse(CRD);
		fieldcheck_register_crd(crd);
		cJSON_Delete(crd);
		inited = 1;
	}
	if (size < 1)
		return 0;
	int nkinds = pbs_kinds_count + pbs_json_kinds_count + 1;
	int which = (data[0] >> 1) % nkinds;
	enum fc_body how = (data[0] & 1) ? FC_PATCH : FC_OBJECT;
	const char *av = "example.com/v1", *kind = "Widget";
	if (which < pbs_kinds_count) {
		av = pbs_kinds[which].api_version;
		kind = pbs_kinds[which].kind;
	} else if (which < pbs_kinds_count + pbs_json_kinds_count) {
		av = pbs_json_kinds[which - pbs_kinds_count].api_version;
		kind = pbs_json_kinds[which - pbs_kinds_count].kind;
	}
	char err[256];
	cJSON *body = json_parse_limited((const char *)data + 1, size - 1, JSON_MAX_DEPTH, err, sizeof err);
	if (!body)
		return 0;
	struct fc_result r = {0};
	fieldcheck_body(av, kind, body, how, &r);
	char msg[4096];
	fieldcheck_strict_message(kind, "v1", &r, msg, sizeof msg);
	fc_result_free(&r);
	/* What remains has nothing left to report. */
	if (fieldcheck_body(av, kind, body, how, &r) != 0)
		__builtin_trap();
	fc_result_free(&r);
	cJSON_Delete(body);
	return 0;
}
