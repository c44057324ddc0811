#include "sim_auth.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <mbedtls/md.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <cjson/cJSON.h>

#include "apiserver.h"
#include "auth.h"
#include "jsonutil.h"
#include "kinds.h"
#include "log.h"
#include "objclient.h"
#include "objects.h"
#include "store.h"
#include "timefmt.h"
#include "tlsconf.h"

#define SA_TOKEN_TYPE "kubernetes.io/service-account-token"
#define ANN_SA_NAME "kubernetes.io/service-account.name"
#define ANN_SA_UID "kubernetes.io/service-account.uid"
#define TOKEN_PREFIX "atoll-sa."
#define BOUND_PREFIX "atoll-sat." /* TokenRequest: atoll-sat.<hex ns/sa>.<uid>.<expiry>.<hmac> */
#define MIN_EXPIRATION_S 600
#define DEFAULT_EXPIRATION_S 3600
#define RBAC "rbac.authorization.k8s.io"

struct pending {
	char ns[254], name[254];
	struct pending *next;
};

struct sim_auth {
	struct store *store;
	struct apiserver *api;
	struct objclient oc; /* every write of objects */
	struct event *kick;
	struct pending *todo;
	const struct kind_info *k_secret, *k_sa;
	unsigned char key[32]; /* signs TokenRequest tokens (this process only) */
};

/* ---- store reads ------------------------------------------------------------ */

static cJSON *get_obj(struct store *st, const char *group, const char *plural, const char *ns, const char *name)
{
	char key[1200], *val = NULL;
	store_key(key, sizeof key, group, plural, ns, name);
	if (store_get(st, key, &val, NULL) != STORE_OK)
		return NULL;
	cJSON *o = cJSON_Parse(val);
	free(val);
	return o;
}

static int collect(const char *key, const char *value, size_t len, long long rev, void *ud)
{
	cJSON *o = cJSON_ParseWithLength(value, len);
	if (o)
		cJSON_AddItemToArray(ud, o);
	return 0;
}

static cJSON *list_objs(struct store *st, const char *group, const char *plural, const char *ns)
{
	char prefix[600];
	store_key(prefix, sizeof prefix, group, plural, ns, "");
	cJSON *arr = cJSON_CreateArray();
	store_list(st, prefix, collect, arr, NULL);
	return arr;
}

static const char *annotation(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_get(o, "metadata.annotations"), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- token controller ------------------------------------------------------- */

static void hexenc(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void add_data(cJSON *data, const char *key, const char *plain)
{
	char *b = tls_base64(plain, strlen(plain));
	cJSON_DeleteItemFromObjectCaseSensitive(data, key);
	cJSON_AddStringToObject(data, key, b ? b : "");
	free(b);
}

static void populate(struct sim_auth *a, const char *ns, const char *name)
{
	cJSON *sec = get_obj(a->store, "", "secrets", ns, name);
	if (!sec)
		return;
	const char *type = json_get_str(sec, "type"), *sa_name = annotation(sec, ANN_SA_NAME);
	if (!type || strcmp(type, SA_TOKEN_TYPE) != 0 || !sa_name || json_get_str(sec, "data.token")) {
		cJSON_Delete(sec);
		return;
	}
	cJSON *sa = get_obj(a->store, "", "serviceaccounts", ns, sa_name);
	const char *uid = sa ? json_get_str(sa, "metadata.uid") : NULL;
	if (!uid) { /* Kubernetes waits for the ServiceAccount; so do we (its creation re-queues) */
		cJSON_Delete(sa);
		cJSON_Delete(sec);
		return;
	}
	/* atoll-sa.<hex of "ns/name">.<256 random bits in hex> */
	char ref[520], refhex[1100], rndhex[65], token[1200];
	unsigned char rnd[32];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		log_error("sim: no randomness for a token");
		cJSON_Delete(sa);
		cJSON_Delete(sec);
		return;
	}
	snprintf(ref, sizeof ref, "%s/%s", ns, name);
	hexenc((const unsigned char *)ref, strlen(ref), refhex);
	hexenc(rnd, sizeof rnd, rndhex);
	snprintf(token, sizeof token, TOKEN_PREFIX "%s.%s", refhex, rndhex);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(sec, "metadata");
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(ann, ANN_SA_UID);
	cJSON_AddStringToObject(ann, ANN_SA_UID, uid);
	cJSON *data = cJSON_GetObjectItemCaseSensitive(sec, "data");
	if (!cJSON_IsObject(data)) {
		cJSON_DeleteItemFromObjectCaseSensitive(sec, "data");
		data = cJSON_AddObjectToObject(sec, "data");
	}
	add_data(data, "token", token);
	add_data(data, "namespace", ns);
	add_data(data, "ca.crt", ""); /* the simulated API is plain HTTP: no CA */
	struct api_error e = {0};
	if (objc_replace(&a->oc, a->k_secret, ns, name, sec, SUBRES_NONE, NULL, &e) < 0) {
		log_warn("sim: cannot populate the token Secret %s/%s: %s", ns, name, e.message);
		api_error_clear(&e);
	}
	explicit_bzero(token, sizeof token);
	cJSON_Delete(sa);
}

static void delete_tokens_of(struct sim_auth *a, const char *ns, const char *sa_name)
{
	cJSON *secs = list_objs(a->store, "", "secrets", ns);
	const cJSON *s;
	cJSON_ArrayForEach(s, secs)
	{
		const char *type = json_get_str(s, "type"), *sn = annotation(s, ANN_SA_NAME);
		const char *name = json_get_str(s, "metadata.name");
		if (type && strcmp(type, SA_TOKEN_TYPE) == 0 && sn && name && strcmp(sn, sa_name) == 0) {
			struct api_error e = {0};
			if (objc_delete(&a->oc, a->k_secret, ns, name, NULL, &e) < 0)
				log_warn("sim: cannot delete the token Secret %s/%s: %s", ns, name, e.message);
			api_error_clear(&e);
		}
	}
	cJSON_Delete(secs);
}

static void queue(struct sim_auth *a, const char *ns, const char *name)
{
	struct pending *p = calloc(1, sizeof *p);
	if (!p)
		return;
	snprintf(p->ns, sizeof p->ns, "%s", ns);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->next = a->todo;
	a->todo = p;
	event_active(a->kick, EV_TIMEOUT, 0);
}

#define SA_DELETED_MARK "\x01"

static void on_event(const struct store_event *ev, void *ud)
{
	struct sim_auth *a = ud;
	struct objc_key_parts kp;
	if (objc_split_key(ev->key, &kp) < 0 || strcmp(kp.group, "core") != 0)
		return;
	const char *ns = kp.ns, *name = kp.name;
	if (strcmp(kp.plural, "secrets") == 0) {
		if (ev->type == STORE_DELETED)
			return;
		const cJSON *v = store_event_value(ev);
		const char *type = json_get_str(v, "type");
		if (type && strcmp(type, SA_TOKEN_TYPE) == 0 && !json_get_str(v, "data.token"))
			queue(a, ns, name);
	} else if (strcmp(kp.plural, "serviceaccounts") == 0) {
		/* deleted: drop its token Secrets; created: fill Secrets that waited for it */
		char mark[260];
		snprintf(mark, sizeof mark, "%s%s", ev->type == STORE_DELETED ? SA_DELETED_MARK : "", name);
		queue(a, ns, mark);
	}
}

static void on_kick(evutil_socket_t fd, short what, void *ud)
{
	struct sim_auth *a = ud;
	while (a->todo) {
		struct pending *p = a->todo;
		a->todo = p->next;
		if (p->name[0] == SA_DELETED_MARK[0]) {
			delete_tokens_of(a, p->ns, p->name + 1);
		} else if (strchr(p->name, '/') == NULL) {
			/* a Secret, or a ServiceAccount whose Secrets may wait */
			populate(a, p->ns, p->name);
			cJSON *secs = list_objs(a->store, "", "secrets", p->ns);
			const cJSON *s;
			cJSON_ArrayForEach(s, secs)
			{
				const char *sn = annotation(s, ANN_SA_NAME), *n = json_get_str(s, "metadata.name");
				if (sn && n && strcmp(sn, p->name) == 0 && !json_get_str(s, "data.token"))
					populate(a, p->ns, n);
			}
			cJSON_Delete(secs);
		}
		free(p);
	}
}

/* ---- authentication ----------------------------------------------------------- */

struct sa_identity {
	char ns[600], name[600];
	char user[1300];
};

static int unhex(const char *s, size_t n, char *out, size_t outlen)
{
	if (n % 2 || n / 2 >= outlen)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + j];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
				return -1;
			v = v * 16 + d;
		}
		if (v == 0)
			return -1;
		out[i] = (char)v;
	}
	out[n / 2] = '\0';
	return 0;
}

static bool const_eq(const char *x, const char *y)
{
	size_t lx = strlen(x), ly = strlen(y);
	unsigned char d = lx != ly;
	for (size_t i = 0; i < lx && i < ly; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

static void sign(const struct sim_auth *a, const char *msg, size_t len, char out[65])
{
	unsigned char mac[32];
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), a->key, sizeof a->key, (const unsigned char *)msg,
			len, mac);
	hexenc(mac, sizeof mac, out);
}

/* A TokenRequest token: signed by this process, not expired, and its
 * ServiceAccount still there with the same uid. */
static int authenticate_bound(struct sim_auth *a, const char *token, struct sa_identity *id)
{
	const char *mac = strrchr(token, '.');
	if (!mac || strlen(mac + 1) != 64)
		return -1;
	char want[65];
	sign(a, token, (size_t)(mac - token), want);
	if (!const_eq(want, mac + 1))
		return -1;
	char buf[1200], ref[600];
	snprintf(buf, sizeof buf, "%.*s", (int)(mac - token - strlen(BOUND_PREFIX)), token + strlen(BOUND_PREFIX));
	char *d1 = strchr(buf, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2)
		return -1;
	*d1 = *d2 = '\0';
	const char *uid = d1 + 1;
	long long exp = strtoll(d2 + 1, NULL, 10);
	if (exp < (long long)time(NULL) || unhex(buf, strlen(buf), ref, sizeof ref) < 0)
		return -1;
	char *slash = strchr(ref, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	cJSON *sa = get_obj(a->store, "", "serviceaccounts", ref, slash + 1);
	const char *cur = sa ? json_get_str(sa, "metadata.uid") : NULL;
	int rc = -1;
	if (cur && strcmp(cur, uid) == 0 && !json_get_str(sa, "metadata.deletionTimestamp")) {
		snprintf(id->ns, sizeof id->ns, "%s", ref);
		snprintf(id->name, sizeof id->name, "%s", slash + 1);
		snprintf(id->user, sizeof id->user, "system:serviceaccount:%s:%s", ref, slash + 1);
		rc = 0;
	}
	cJSON_Delete(sa);
	return rc;
}

/* 0 with id filled, or -1: the token is not (or no longer) valid. */
static int authenticate(struct sim_auth *a, const char *token, struct sa_identity *id)
{
	if (strncmp(token, BOUND_PREFIX, strlen(BOUND_PREFIX)) == 0)
		return authenticate_bound(a, token, id);
	size_t pl = strlen(TOKEN_PREFIX);
	if (strncmp(token, TOKEN_PREFIX, pl) != 0)
		return -1;
	const char *refhex = token + pl, *dot = strchr(refhex, '.');
	char ref[600];
	if (!dot || unhex(refhex, (size_t)(dot - refhex), ref, sizeof ref) < 0)
		return -1;
	char *slash = strchr(ref, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	const char *ns = ref, *secname = slash + 1;
	cJSON *sec = get_obj(a->store, "", "secrets", ns, secname);
	if (!sec)
		return -1;
	int rc = -1;
	const char *type = json_get_str(sec, "type"), *stored = json_get_str(sec, "data.token");
	const char *sa_name = annotation(sec, ANN_SA_NAME), *sa_uid = annotation(sec, ANN_SA_UID);
	char *b = tls_base64(token, strlen(token));
	if (type && strcmp(type, SA_TOKEN_TYPE) == 0 && stored && b && const_eq(b, stored) && sa_name && sa_uid) {
		cJSON *sa = get_obj(a->store, "", "serviceaccounts", ns, sa_name);
		const char *uid = sa ? json_get_str(sa, "metadata.uid") : NULL;
		if (uid && strcmp(uid, sa_uid) == 0 && !json_get_str(sa, "metadata.deletionTimestamp")) {
			snprintf(id->ns, sizeof id->ns, "%s", ns);
			snprintf(id->name, sizeof id->name, "%s", sa_name);
			snprintf(id->user, sizeof id->user, "system:serviceaccount:%s:%s", ns, sa_name);
			rc = 0;
		}
		cJSON_Delete(sa);
	}
	free(b);
	cJSON_Delete(sec);
	return rc;
}

/* ---- RBAC --------------------------------------------------------------------- */

static bool str_in(const cJSON *arr, const char *s)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, arr)
	{
		if (cJSON_IsString(v) && (strcmp(v->valuestring, "*") == 0 || strcmp(v->valuestring, s) == 0))
			return true;
	}
	return false;
}

static bool subject_matches(const cJSON *subjects, const struct sa_identity *id)
{
	char g2[700];
	snprintf(g2, sizeof g2, "system:serviceaccounts:%s", id->ns);
	const cJSON *s;
	cJSON_ArrayForEach(s, subjects)
	{
		const char *kind = json_get_str(s, "kind"), *name = json_get_str(s, "name");
		const char *ns = json_get_str(s, "namespace");
		if (!kind || !name)
			continue;
		if (strcmp(kind, "ServiceAccount") == 0 && strcmp(name, id->name) == 0 && ns && strcmp(ns, id->ns) == 0)
			return true;
		if (strcmp(kind, "User") == 0 && strcmp(name, id->user) == 0)
			return true;
		if (strcmp(kind, "Group") == 0 &&
		    (strcmp(name, "system:serviceaccounts") == 0 || strcmp(name, g2) == 0 ||
		     strcmp(name, "system:authenticated") == 0))
			return true;
	}
	return false;
}

static bool rule_allows(const cJSON *rule, const struct api_request_attrs *at)
{
	const struct api_path *r = at->res;
	if (!str_in(json_get(rule, "verbs"), at->verb) || !str_in(json_get(rule, "apiGroups"), r->group))
		return false;
	char withsub[200];
	snprintf(withsub, sizeof withsub, "%s/%s", r->sub[0] ? r->resource : "", r->sub);
	if (r->sub[0]) {
		bool any = false;
		const cJSON *v;
		cJSON_ArrayForEach(v, json_get(rule, "resources"))
		{
			if (cJSON_IsString(v) && (strcmp(v->valuestring, "*") == 0 || strcmp(v->valuestring, withsub) == 0 ||
						  (strncmp(v->valuestring, "*/", 2) == 0 && strcmp(v->valuestring + 2, r->sub) == 0)))
				any = true;
		}
		if (!any)
			return false;
	} else if (!str_in(json_get(rule, "resources"), r->resource)) {
		return false;
	}
	const cJSON *names = json_get(rule, "resourceNames");
	if (cJSON_GetArraySize(names) > 0 && (!r->name[0] || !str_in(names, r->name)))
		return false;
	return true;
}

static bool role_allows(struct sim_auth *a, const cJSON *binding, const char *binding_ns,
			const struct api_request_attrs *at)
{
	const char *kind = json_get_str(binding, "roleRef.kind"), *name = json_get_str(binding, "roleRef.name");
	if (!kind || !name)
		return false;
	cJSON *role = NULL;
	if (strcmp(kind, "ClusterRole") == 0)
		role = get_obj(a->store, RBAC, "clusterroles", "", name);
	else if (strcmp(kind, "Role") == 0 && binding_ns)
		role = get_obj(a->store, RBAC, "roles", binding_ns, name);
	bool ok = false;
	const cJSON *rule;
	cJSON_ArrayForEach(rule, json_get(role, "rules"))
	{
		if (rule_allows(rule, at)) {
			ok = true;
			break;
		}
	}
	cJSON_Delete(role);
	return ok;
}

static bool bindings_allow(struct sim_auth *a, const char *plural, const char *ns, const struct sa_identity *id,
			   const struct api_request_attrs *at)
{
	cJSON *bs = list_objs(a->store, RBAC, plural, ns);
	bool ok = false;
	const cJSON *b;
	cJSON_ArrayForEach(b, bs)
	{
		if (subject_matches(json_get(b, "subjects"), id) && role_allows(a, b, ns[0] ? ns : NULL, at)) {
			ok = true;
			break;
		}
	}
	cJSON_Delete(bs);
	return ok;
}

static bool open_path(const char *p)
{
	static const char *const open[] = {"/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz"};
	for (size_t i = 0; i < sizeof open / sizeof *open; i++) {
		size_t n = strlen(open[i]);
		if (strncmp(p, open[i], n) == 0 && (p[n] == '\0' || p[n] == '/'))
			return true;
	}
	return false;
}

static void send_forbidden(const struct api_req *rq, const struct sa_identity *id,
			   const struct api_request_attrs *at)
{
	struct api_error e = {0};
	const struct api_path *r = at->res;
	if (!r) {
		api_error_set(&e, 403, "Forbidden", "forbidden: User \"%s\" cannot %s path \"%s\"", id->user, at->verb,
			      at->path);
	} else {
		char what[400];
		snprintf(what, sizeof what, "%s%s%s", r->resource, r->group[0] ? "." : "", r->group);
		char where[300] = "";
		if (r->ns[0])
			snprintf(where, sizeof where, " in the namespace \"%s\"", r->ns);
		char named[300] = "";
		if (r->name[0])
			snprintf(named, sizeof named, " \"%s\"", r->name);
		api_error_set(&e, 403, "Forbidden",
			      "%s%s is forbidden: User \"%s\" cannot %s resource \"%s%s%s\" in API group \"%s\"%s%s", what,
			      named, id->user, at->verb, r->resource, r->sub[0] ? "/" : "", r->sub, r->group,
			      r->ns[0] ? "" : " at the cluster scope", where);
	}
	api_send_error(rq, &e, NULL);
	api_error_clear(&e);
}

static bool hook(const struct api_req *rq, const struct api_request_attrs *at, void *ud)
{
	struct evhttp_request *req = rq->req;
	struct sim_auth *a = ud;
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!h)
		return true; /* the local admin of the plain-HTTP listener */
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		auth_send_unauthorized(rq, NULL);
		return false;
	}
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	struct sa_identity id;
	if (authenticate(a, tok, &id) < 0) {
		if (!at->res && open_path(at->path) && strncmp(at->path, "/api", 4) != 0 &&
		    strncmp(at->path, "/openapi", 8) != 0 && strncmp(at->path, "/version", 8) != 0)
			return true; /* health */
		auth_send_unauthorized(rq, NULL);
		return false;
	}
	if (!at->res) {
		if (strcmp(at->verb, "get") == 0 && open_path(at->path))
			return true;
		send_forbidden(rq, &id, at);
		return false;
	}
	if (bindings_allow(a, "clusterrolebindings", "", &id, at) ||
	    (at->res->ns[0] && bindings_allow(a, "rolebindings", at->res->ns, &id, at)))
		return true;
	log_debug("sim: forbidden %s %s for %s", at->verb, at->path, id.user);
	send_forbidden(rq, &id, at);
	return false;
}

/* POST /api/v1/namespaces/NS/serviceaccounts/NAME/token (kubectl create token). */
static bool token_route(const struct api_req *rq, const char *path, void *ud)
{
	struct evhttp_request *req = rq->req;
	struct sim_auth *a = ud;
	struct api_path p;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST || api_parse_path(path, &p) < 0 || !p.is_core ||
	    strcmp(p.resource, "serviceaccounts") != 0 || strcmp(p.sub, "token") != 0 || !p.ns[0] || !p.name[0])
		return false;
	cJSON *sa = get_obj(a->store, "", "serviceaccounts", p.ns, p.name);
	const char *uid = sa ? json_get_str(sa, "metadata.uid") : NULL;
	if (!uid) {
		api_send_status(rq, 404, "NotFound", "serviceaccounts \"%s\" not found", p.name);
		cJSON_Delete(sa);
		return true;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	/* kubectl sends protobuf: its defaults are taken (one hour, no audiences) */
	bool pb = ct && strncmp(ct, "application/vnd.kubernetes.protobuf", 35) == 0;
	cJSON *body = len && !pb ? cJSON_ParseWithLength((const char *)evbuffer_pullup(in, -1), len) : NULL;
	if (len && !pb && !body) {
		api_send_status(rq, 400, "BadRequest", "the request body could not be decoded");
		cJSON_Delete(sa);
		return true;
	}
	const cJSON *es = json_get(body, "spec.expirationSeconds");
	double secs = cJSON_IsNumber(es) ? es->valuedouble : DEFAULT_EXPIRATION_S;
	if (es && (!cJSON_IsNumber(es) || secs < MIN_EXPIRATION_S || secs > 86400.0 * 365 * 10)) {
		api_send_status(rq, 422, "Invalid",
				"TokenRequest.authentication.k8s.io \"%s\" is invalid: spec.expirationSeconds: Invalid value: "
				"may not specify a duration less than 10 minutes",
				p.name);
		cJSON_Delete(body);
		cJSON_Delete(sa);
		return true;
	}
	time_t exp = time(NULL) + (time_t)secs;
	char ref[600], refhex[1300], tok[2000], mac[65];
	snprintf(ref, sizeof ref, "%s/%s", p.ns, p.name);
	hexenc((const unsigned char *)ref, strlen(ref), refhex);
	int n = snprintf(tok, sizeof tok, BOUND_PREFIX "%s.%s.%lld", refhex, uid, (long long)exp);
	sign(a, tok, (size_t)n, mac);
	snprintf(tok + n, sizeof tok - (size_t)n, ".%s", mac);
	cJSON *tr = cJSON_CreateObject();
	cJSON_AddStringToObject(tr, "kind", "TokenRequest");
	cJSON_AddStringToObject(tr, "apiVersion", "authentication.k8s.io/v1");
	cJSON *md = cJSON_AddObjectToObject(tr, "metadata");
	cJSON_AddStringToObject(md, "name", p.name);
	cJSON_AddStringToObject(md, "namespace", p.ns);
	char now[64], until[64];
	cJSON_AddStringToObject(md, "creationTimestamp", time_rfc3339(time(NULL), now, sizeof now));
	cJSON *spec = cJSON_AddObjectToObject(tr, "spec");
	const cJSON *aud = json_get(body, "spec.audiences");
	cJSON_AddItemToObject(spec, "audiences", cJSON_IsArray(aud) ? cJSON_Duplicate(aud, 1) : cJSON_CreateArray());
	cJSON_AddNumberToObject(spec, "expirationSeconds", secs);
	cJSON_AddNullToObject(spec, "boundObjectRef");
	cJSON *st = cJSON_AddObjectToObject(tr, "status");
	cJSON_AddStringToObject(st, "token", tok);
	cJSON_AddStringToObject(st, "expirationTimestamp", time_rfc3339(exp, until, sizeof until));
	api_send_json(rq, 201, tr);
	explicit_bzero(tok, sizeof tok);
	cJSON_Delete(tr);
	cJSON_Delete(body);
	cJSON_Delete(sa);
	return true;
}

struct sim_auth *sim_auth_new(struct event_base *base, struct store *st, struct apiserver *api)
{
	struct sim_auth *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->store = st;
	a->api = api;
	objc_init(&a->oc, st, apiserver_objects(api));
	a->k_secret = kinds_find_kind("", "v1", "Secret");
	a->k_sa = kinds_find_kind("", "v1", "ServiceAccount");
	a->kick = event_new(base, -1, 0, on_kick, a);
	if (getrandom(a->key, sizeof a->key, 0) != (ssize_t)sizeof a->key) {
		log_error("sim: no randomness for the token signing key");
		event_free(a->kick);
		free(a);
		return NULL;
	}
	store_subscribe_committed(st, on_event, a);
	apiserver_set_authorizer(api, hook, a);
	apiserver_add_route(api, "/api/v1/namespaces/", token_route, a);
	return a;
}

void sim_auth_free(struct sim_auth *a)
{
	if (!a)
		return;
	while (a->todo) {
		struct pending *p = a->todo;
		a->todo = p->next;
		free(p);
	}
	event_free(a->kick);
	objc_free(&a->oc);
	free(a);
}
