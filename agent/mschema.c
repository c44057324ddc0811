/* mschema — the member's published schema, learnt once and cached.
 * Owns: which OpenAPI the member serves (/openapi/v3, else /openapi/v2 as
 * JSON, as Kubernetes before 1.24 does), the documents fetched once per
 * group-version (v3) or once in all (v2), and pruning a manifest of the
 * fields the member does not declare (schemafilter.h), so that one field
 * an older member does not know never blocks the rest of a manifest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "jsonutil.h"
#include "schemafilter.h"

enum { MODE_UNKNOWN, MODE_V3, MODE_V2, MODE_NONE };

struct mschema_gv {
	char key[256]; /* "api/v1", "apis/apps/v1" */
	cJSON *doc;    /* NULL: the member publishes none for it */
	struct mschema_gv *next;
};

struct mschema {
	int mode;
	cJSON *index; /* v3: paths -> serverRelativeURL */
	cJSON *v2;    /* v2: the whole document */
	bool v2_done;
	struct mschema_gv *gvs;
};

static struct mschema *ms_of(struct agent *ag)
{
	if (!ag->mschema)
		ag->mschema = calloc(1, sizeof *ag->mschema);
	return ag->mschema;
}

static void gv_key(const char *group, const char *version, char *buf, size_t len)
{
	if (group[0])
		snprintf(buf, len, "apis/%s/%s", group, version);
	else
		snprintf(buf, len, "api/%s", version);
}

static struct mschema_gv *ms_gv(struct mschema *m, const char *key)
{
	for (struct mschema_gv *g = m->gvs; g; g = g->next)
		if (strcmp(g->key, key) == 0)
			return g;
	return NULL;
}

static void ms_gv_set(struct mschema *m, const char *key, cJSON *doc)
{
	struct mschema_gv *g = ms_gv(m, key);
	if (!g) {
		g = calloc(1, sizeof *g);
		if (!g) {
			cJSON_Delete(doc);
			return;
		}
		snprintf(g->key, sizeof g->key, "%s", key);
		g->next = m->gvs;
		m->gvs = g;
	}
	cJSON_Delete(g->doc);
	g->doc = doc;
}

const char *mschema_next(struct agent *ag, const char *group, const char *version, char *path, size_t len)
{
	struct mschema *m = ms_of(ag);
	char key[256];
	if (!m)
		return NULL;
	switch (m->mode) {
	case MODE_UNKNOWN:
		snprintf(path, len, "/openapi/v3");
		return path;
	case MODE_V2:
		if (m->v2_done)
			return NULL;
		snprintf(path, len, "/openapi/v2");
		return path;
	case MODE_V3: {
		gv_key(group, version, key, sizeof key);
		if (ms_gv(m, key))
			return NULL;
		const char *url = json_get_str(cJSON_GetObjectItemCaseSensitive(json_get(m->index, "paths"), key),
					       "serverRelativeURL");
		if (!url) {
			ms_gv_set(m, key, NULL);
			return NULL;
		}
		snprintf(path, len, "%s", url);
		return path;
	}
	default:
		return NULL;
	}
}

void mschema_answer(struct agent *ag, const char *group, const char *version, const char *path, int status,
		    const char *body, size_t len)
{
	struct mschema *m = ms_of(ag);
	if (!m)
		return;
	cJSON *doc = status == 200 ? cJSON_ParseWithLength(body, len) : NULL;
	if (strcmp(path, "/openapi/v3") == 0) {
		if (doc && cJSON_IsObject(json_get(doc, "paths"))) {
			m->mode = MODE_V3;
			cJSON_Delete(m->index);
			m->index = doc;
			log_kv(LOG_INFO, "the member publishes OpenAPI v3", NULL);
			return;
		}
		if (status == 404) {
			m->mode = MODE_V2;
			log_kv(LOG_INFO, "the member has no OpenAPI v3; reading its OpenAPI v2", NULL);
		}
		cJSON_Delete(doc);
		return;
	}
	if (strcmp(path, "/openapi/v2") == 0) {
		if (doc && cJSON_IsObject(json_get(doc, "definitions"))) {
			cJSON_Delete(m->v2);
			m->v2 = doc;
			m->v2_done = true;
			return;
		}
		cJSON_Delete(doc);
		if (status == 404) {
			m->mode = MODE_NONE;
			log_kv(LOG_WARN, "the member publishes no OpenAPI: manifests are applied unfiltered", NULL);
		}
		return;
	}
	char key[256];
	gv_key(group, version, key, sizeof key);
	if (doc && cJSON_IsObject(doc))
		ms_gv_set(m, key, doc);
	else {
		cJSON_Delete(doc);
		if (status == 404)
			ms_gv_set(m, key, NULL);
	}
}

int mschema_prune(struct agent *ag, const char *group, const char *version, const char *kind, cJSON *obj,
		  cJSON *dropped)
{
	struct mschema *m = ag->mschema;
	const cJSON *doc = NULL;
	char key[256];
	if (!m)
		return -1;
	if (m->mode == MODE_V2)
		doc = m->v2;
	else if (m->mode == MODE_V3) {
		gv_key(group, version, key, sizeof key);
		struct mschema_gv *g = ms_gv(m, key);
		doc = g ? g->doc : NULL;
	}
	const cJSON *sch = doc ? schemafilter_find_kind(doc, group, version, kind) : NULL;
	if (!sch)
		return -1;
	return schemafilter_prune(doc, sch, obj, dropped, true);
}

void mschema_free(struct agent *ag)
{
	struct mschema *m = ag->mschema;
	if (!m)
		return;
	cJSON_Delete(m->index);
	cJSON_Delete(m->v2);
	for (struct mschema_gv *g = m->gvs, *n; g; g = n) {
		n = g->next;
		cJSON_Delete(g->doc);
		free(g);
	}
	free(m);
	ag->mschema = NULL;
}
