/* libFuzzer: kubeconfig parsing (common/kubeconfig.h): YAML, contexts,
 * base64 certificate data, relative paths. */
#include <stddef.h>
#include <stdint.h>

#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubeconfig kc;
	char err[512];
	if (kubeconfig_parse((const char *)data, size, "/nonexistent", NULL, &kc, err, sizeof err) == 0)
		kubeconfig_free(&kc);
	if (kubeconfig_parse((const char *)data, size, NULL, "atoll", &kc, err, sizeof err) == 0)
		kubeconfig_free(&kc);
	return 0;
}
