/* pbschema — look-ups in the schema table shared by its readers (server-side
 * apply's field sets, strategic merge patch's merge keys). */
#include "pbschema.h"

#include <string.h>

#include "kinds.h"

int pbs_kind_message(const struct kind_info *k)
{
	if (!k)
		return -1;
	char av[256];
	kind_api_version(k, av, sizeof av);
	for (int i = 0; i < pbs_kinds_count; i++)
		if (strcmp(pbs_kinds[i].api_version, av) == 0 && strcmp(pbs_kinds[i].kind, k->kind) == 0)
			return pbs_kinds[i].msg;
	return -1;
}

int pbs_kind_schema_message(const struct kind_info *k)
{
	int m = pbs_kind_message(k);
	if (m >= 0 || !k || k->dynamic)
		return m;
	char av[256];
	kind_api_version(k, av, sizeof av);
	for (int i = 0; i < pbs_json_kinds_count; i++)
		if (strcmp(pbs_json_kinds[i].api_version, av) == 0 && strcmp(pbs_json_kinds[i].kind, k->kind) == 0)
			return pbs_json_kinds[i].msg;
	return -1;
}

const struct pbs_field *pbs_find_field(int msg, const char *name)
{
	if (msg < 0 || msg >= pbs_all_messages_count || !name)
		return NULL;
	const struct pbs_message *m = &pbs_messages[msg];
	for (int i = 0; i < m->nfields; i++) {
		const struct pbs_field *f = &m->fields[i];
		if (f->flags & PBS_INLINE) {
			const struct pbs_message *im = &pbs_messages[f->msg];
			for (int j = 0; j < im->nfields; j++)
				if (strcmp(im->fields[j].json, name) == 0)
					return &im->fields[j];
		} else if (strcmp(f->json, name) == 0) {
			return f;
		}
	}
	return NULL;
}
