#include "tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "jsonutil.h"
#include "pki.h"
#include "timefmt.h"
#include "tlsconf.h"

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static bool token_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

bool token_parse(const char *token, char id[TOKEN_ID_LEN + 1], char secret[TOKEN_SECRET_LEN + 1])
{
	if (!token || strlen(token) != TOKEN_LEN || token[TOKEN_ID_LEN] != '.' || !token_chars(token, TOKEN_ID_LEN) ||
	    !token_chars(token + TOKEN_ID_LEN + 1, TOKEN_SECRET_LEN))
		return false;
	memcpy(id, token, TOKEN_ID_LEN);
	id[TOKEN_ID_LEN] = '\0';
	memcpy(secret, token + TOKEN_ID_LEN + 1, TOKEN_SECRET_LEN);
	secret[TOKEN_SECRET_LEN] = '\0';
	return true;
}

static void hash_hex(const char *secret, char out[65])
{
	unsigned char h[32];
	mbedtls_sha256_ret((const unsigned char *)secret, strlen(secret), h, 0);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int random_chars(char *out, size_t n)
{
	unsigned char b[64];
	size_t i = 0;
	while (i < n) {
		if (tls_rng_fn(NULL, b, sizeof b) != 0)
			return -1;
		for (size_t j = 0; j < sizeof b && i < n; j++)
			if (b[j] < 252) /* 252 = 7 * 36: no modulo bias */
				out[i++] = alphabet[b[j] % 36];
	}
	out[n] = '\0';
	return 0;
}

/* ---- the file --------------------------------------------------------------- */

static const char *file_path(char *buf, size_t len, const char *dir)
{
	snprintf(buf, len, "%s/tokens.json", dir);
	return buf;
}

static cJSON *load(const char *dir)
{
	char p[4096], err[256];
	size_t len;
	unsigned char *data = tls_read_file(file_path(p, sizeof p, dir), &len, err, sizeof err);
	cJSON *j = data ? json_parse_limited((char *)data, len, 10, err, sizeof err) : NULL;
	free(data);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = cJSON_CreateObject();
	}
	if (!cJSON_IsArray(cJSON_GetObjectItem(j, "tokens")))
		json_set(j, "tokens", cJSON_CreateArray());
	return j;
}

static int save(const char *dir, cJSON *j, char *err, size_t errlen)
{
	char p[4096];
	char *s = cJSON_Print(j);
	int rc = tls_write_file(file_path(p, sizeof p, dir), s, strlen(s), 0600, err, errlen);
	free(s);
	return rc;
}

static int lock_dir(const char *dir)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/tokens.lock", dir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

static void unlock_dir(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void rec_from_json(const cJSON *t, struct token_rec *r)
{
	memset(r, 0, sizeof *r);
	const char *s;
	if ((s = json_get_str(t, "id")))
		snprintf(r->id, sizeof r->id, "%s", s);
	if ((s = json_get_str(t, "secretSHA256")))
		snprintf(r->hash, sizeof r->hash, "%s", s);
	s = json_get_str(t, "usage");
	r->usage = s && strcmp(s, "authentication") == 0 ? TOKEN_AUTH : TOKEN_BOOTSTRAP;
	time_t tt;
	if ((s = json_get_str(t, "created")) && time_parse_rfc3339(s, &tt) == 0)
		r->created = tt;
	if ((s = json_get_str(t, "expires")) && time_parse_rfc3339(s, &tt) == 0)
		r->expires = tt;
	if ((s = json_get_str(t, "cluster")))
		snprintf(r->cluster, sizeof r->cluster, "%s", s);
	if ((s = json_get_str(t, "user")))
		snprintf(r->user, sizeof r->user, "%s", s);
	if ((s = json_get_str(t, "description")))
		snprintf(r->description, sizeof r->description, "%s", s);
	const cJSON *g;
	cJSON_ArrayForEach(g, cJSON_GetObjectItem(t, "groups"))
	{
		if (cJSON_IsString(g) && r->ngroups < TOKEN_MAX_GROUPS)
			snprintf(r->groups[r->ngroups++], sizeof r->groups[0], "%s", g->valuestring);
	}
}

static cJSON *rec_to_json(const struct token_rec *r)
{
	char ts[32];
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "id", r->id);
	cJSON_AddStringToObject(t, "secretSHA256", r->hash);
	cJSON_AddStringToObject(t, "usage", r->usage == TOKEN_AUTH ? "authentication" : "bootstrap");
	cJSON_AddStringToObject(t, "created", time_rfc3339(r->created, ts, sizeof ts));
	if (r->expires)
		cJSON_AddStringToObject(t, "expires", time_rfc3339(r->expires, ts, sizeof ts));
	if (r->cluster[0])
		cJSON_AddStringToObject(t, "cluster", r->cluster);
	if (r->user[0])
		cJSON_AddStringToObject(t, "user", r->user);
	if (r->ngroups) {
		cJSON *g = cJSON_AddArrayToObject(t, "groups");
		for (int i = 0; i < r->ngroups; i++)
			cJSON_AddItemToArray(g, cJSON_CreateString(r->groups[i]));
	}
	if (r->description[0])
		cJSON_AddStringToObject(t, "description", r->description);
	return t;
}

int tokens_create(const char *dir, struct token_rec *spec, char *out, char *err, size_t errlen)
{
	char id[TOKEN_ID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
	if (random_chars(id, TOKEN_ID_LEN) < 0 || random_chars(secret, TOKEN_SECRET_LEN) < 0) {
		snprintf(err, errlen, "no entropy for a token");
		return -1;
	}
	int lk = lock_dir(dir);
	cJSON *j = load(dir);
	cJSON *arr = cJSON_GetObjectItem(j, "tokens");
	/* Forget tokens that expired more than a day ago; never reuse an id. */
	time_t now = time(NULL);
	for (int i = cJSON_GetArraySize(arr) - 1; i >= 0; i--) {
		struct token_rec r;
		rec_from_json(cJSON_GetArrayItem(arr, i), &r);
		if (strcmp(r.id, id) == 0) {
			cJSON_Delete(j);
			unlock_dir(lk);
			return tokens_create(dir, spec, out, err, errlen);
		}
		if (r.expires && r.expires + 86400 < now)
			cJSON_DeleteItemFromArray(arr, i);
	}
	snprintf(spec->id, sizeof spec->id, "%s", id);
	hash_hex(secret, spec->hash);
	spec->created = now;
	cJSON_AddItemToArray(arr, rec_to_json(spec));
	int rc = save(dir, j, err, errlen);
	cJSON_Delete(j);
	unlock_dir(lk);
	if (rc == 0)
		snprintf(out, TOKEN_LEN + 1, "%s.%s", id, secret);
	return rc;
}

int tokens_create_many(const char *dir, struct token_rec *specs, int n, char (*out)[TOKEN_LEN + 1], char *err,
		       size_t errlen)
{
	int lk = lock_dir(dir);
	cJSON *j = load(dir);
	cJSON *arr = cJSON_GetObjectItem(j, "tokens");
	int rc = 0;
	time_t now = time(NULL);
	for (int k = 0; k < n && rc == 0; k++) {
		char id[TOKEN_ID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
		bool clash;
		do {
			if (random_chars(id, TOKEN_ID_LEN) < 0 || random_chars(secret, TOKEN_SECRET_LEN) < 0) {
				snprintf(err, errlen, "no entropy for a token");
				rc = -1;
				break;
			}
			clash = false;
			const cJSON *t;
			cJSON_ArrayForEach(t, arr)
			{
				const char *tid = json_get_str(t, "id");
				if (tid && strcmp(tid, id) == 0)
					clash = true;
			}
		} while (clash);
		if (rc < 0)
			break;
		snprintf(specs[k].id, sizeof specs[k].id, "%s", id);
		hash_hex(secret, specs[k].hash);
		specs[k].created = now;
		cJSON_AddItemToArray(arr, rec_to_json(&specs[k]));
		snprintf(out[k], TOKEN_LEN + 1, "%s.%s", id, secret);
	}
	if (rc == 0)
		rc = save(dir, j, err, errlen);
	cJSON_Delete(j);
	unlock_dir(lk);
	return rc;
}

/* The file as lookups see it: its records sorted by id, reloaded only when
 * the file changed (inode, size or modification time), so a hub with
 * thousands of agent tokens does not parse tokens.json on every request. */
static struct {
	pthread_mutex_t mu;
	char path[4096];
	struct stat st;
	bool valid;
	struct token_rec *recs;
	size_t n;
} lookup_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct token_rec *)a)->id, ((const struct token_rec *)b)->id);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Called with the lock held. */
static void cache_refresh(const char *dir)
{
	char p[4096];
	file_path(p, sizeof p, dir);
	struct stat st;
	bool have = stat(p, &st) == 0;
	if (lookup_cache.valid && strcmp(lookup_cache.path, p) == 0 && have && same_file(&st, &lookup_cache.st))
		return;
	free(lookup_cache.recs);
	lookup_cache.recs = NULL;
	lookup_cache.n = 0;
	lookup_cache.valid = false;
	cJSON *j = load(dir);
	const cJSON *arr = cJSON_GetObjectItem(j, "tokens"), *t;
	size_t cap = (size_t)cJSON_GetArraySize(arr);
	lookup_cache.recs = calloc(cap ? cap : 1, sizeof *lookup_cache.recs);
	cJSON_ArrayForEach(t, arr)
	{
		if (lookup_cache.n < cap)
			rec_from_json(t, &lookup_cache.recs[lookup_cache.n++]);
	}
	cJSON_Delete(j);
	/* A duplicated id (a hand-edited file) keeps the first record, as the scan did. */
	qsort(lookup_cache.recs, lookup_cache.n, sizeof *lookup_cache.recs, rec_cmp);
	snprintf(lookup_cache.path, sizeof lookup_cache.path, "%s", p);
	/* Only a file that was there and unchanged across the read is trusted next time. */
	struct stat st2;
	if (have && stat(p, &st2) == 0 && same_file(&st, &st2)) {
		lookup_cache.st = st;
		lookup_cache.valid = true;
	}
}

enum token_result tokens_lookup(const char *dir, const char *token, time_t now, struct token_rec *rec)
{
	char id[TOKEN_ID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
	if (!token_parse(token, id, secret))
		return TOKEN_MALFORMED;
	char want[65];
	hash_hex(secret, want);
	enum token_result res = TOKEN_UNKNOWN;
	pthread_mutex_lock(&lookup_cache.mu);
	cache_refresh(dir);
	struct token_rec key;
	memset(&key, 0, sizeof key);
	snprintf(key.id, sizeof key.id, "%s", id);
	const struct token_rec *r = bsearch(&key, lookup_cache.recs, lookup_cache.n, sizeof key, rec_cmp);
	/* bsearch may land on any of equal ids: go to the first */
	while (r && r > lookup_cache.recs && strcmp((r - 1)->id, id) == 0)
		r--;
	if (r && strlen(r->hash) == 64) {
		unsigned char diff = 0;
		for (int i = 0; i < 64; i++)
			diff |= (unsigned char)(r->hash[i] ^ want[i]);
		if (!diff) { /* right id, wrong secret: unknown */
			*rec = *r;
			res = r->expires && now >= r->expires ? TOKEN_EXPIRED : TOKEN_OK;
		}
	}
	pthread_mutex_unlock(&lookup_cache.mu);
	return res;
}

int tokens_delete(const char *dir, const char *id, char *err, size_t errlen)
{
	int lk = lock_dir(dir);
	cJSON *j = load(dir);
	cJSON *arr = cJSON_GetObjectItem(j, "tokens");
	int rc = -1;
	for (int i = 0; i < cJSON_GetArraySize(arr); i++) {
		const char *tid = json_get_str(cJSON_GetArrayItem(arr, i), "id");
		if (tid && strcmp(tid, id) == 0) {
			cJSON_DeleteItemFromArray(arr, i);
			rc = save(dir, j, err, errlen);
			break;
		}
	}
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "no token with id \"%s\"", id);
	cJSON_Delete(j);
	unlock_dir(lk);
	return rc;
}

/* ---- command ---------------------------------------------------------------------- */

static void token_usage(FILE *f)
{
	fputs("Usage: atoll-hub token create --data-dir DIR [--ttl 24h] [--cluster NAME] [-o json]\n"
	      "       atoll-hub token create --data-dir DIR --user NAME [--group GROUP]... [--ttl DURATION]\n"
	      "       atoll-hub token list --data-dir DIR\n"
	      "       atoll-hub token delete --data-dir DIR ID\n"
	      "\n"
	      "Bootstrap tokens let an agent join: it presents the token with a CSR and gets a client\n"
	      "certificate for its cluster, signed by the hub's CA. The CA hash lets the agent check it\n"
	      "talks to this hub. With --user, the token is an API bearer token for that user and groups\n"
	      "(e.g. --user dashboard --group system:atoll:viewers for a read-only dashboard).\n"
	      "Only the SHA-256 of each secret is stored, in DIR/tokens.json.\n"
	      "\n"
	      "Options:\n"
	      "  --data-dir DIR      the hub's data directory (after atoll-hub init)\n"
	      "  --ttl DURATION      lifetime, e.g. 30m, 24h (default 24h; 0 = never expires)\n"
	      "  --cluster NAME      the only cluster this bootstrap token may join\n"
	      "  --user NAME         make an API bearer token for this user instead\n"
	      "  --group GROUP       a group of that user (repeatable, at most 4)\n"
	      "  --description TEXT  a note kept with the token\n"
	      "  -o, --output FORMAT text (default) or json: {\"token\":...,\"caCertHash\":\"sha256:...\"}\n",
	      f);
}

static int ca_hash(const char *dir, char *out, size_t len, char *err, size_t errlen)
{
	char p[4096];
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int rc = mbedtls_x509_crt_parse_file(&crt, pki_path(p, sizeof p, dir, "ca.crt"));
	if (rc != 0) {
		snprintf(err, errlen, "cannot read the CA certificate in %.300s (run atoll-hub init first)", dir);
		mbedtls_x509_crt_free(&crt);
		return -1;
	}
	tls_spki_sha256(&crt, out, len);
	mbedtls_x509_crt_free(&crt);
	return 0;
}

int tokens_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		token_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	const char *dir = NULL, *output = "text";
	long long ttl_ms = 24LL * 3600 * 1000;
	struct token_rec spec;
	memset(&spec, 0, sizeof spec);
	static const struct option opts[] = {
		{"data-dir", required_argument, NULL, 'd'}, {"ttl", required_argument, NULL, 't'},
		{"cluster", required_argument, NULL, 'c'},  {"user", required_argument, NULL, 'u'},
		{"group", required_argument, NULL, 'g'},    {"description", required_argument, NULL, 'D'},
		{"output", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't':
			if (strcmp(optarg, "0") == 0)
				ttl_ms = 0;
			else if (time_parse_duration_ms(optarg, &ttl_ms) < 0 || ttl_ms < 1000) {
				fprintf(stderr, "atoll-hub token: invalid --ttl %s (want e.g. 30m or 24h, or 0)\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (!pki_valid_cluster_name(optarg)) {
				fprintf(stderr, "atoll-hub token: invalid cluster name \"%s\" (lower-case letters, digits and '-')\n", optarg);
				return 2;
			}
			snprintf(spec.cluster, sizeof spec.cluster, "%s", optarg);
			break;
		case 'u': snprintf(spec.user, sizeof spec.user, "%s", optarg); break;
		case 'g':
			if (spec.ngroups == TOKEN_MAX_GROUPS) {
				fprintf(stderr, "atoll-hub token: at most %d groups\n", TOKEN_MAX_GROUPS);
				return 2;
			}
			snprintf(spec.groups[spec.ngroups++], sizeof spec.groups[0], "%s", optarg);
			break;
		case 'D': snprintf(spec.description, sizeof spec.description, "%s", optarg); break;
		case 'o': output = optarg; break;
		case 'h': token_usage(stdout); return 0;
		default: token_usage(stderr); return 2;
		}
	}
	if (!dir) {
		fprintf(stderr, "atoll-hub token: --data-dir is required\n");
		return 2;
	}
	if (strcmp(output, "json") != 0 && strcmp(output, "text") != 0) {
		fprintf(stderr, "atoll-hub token: unknown output format %s (want text or json)\n", output);
		return 2;
	}
	char err[512] = "";
	if (strcmp(sub, "create") == 0) {
		if (optind < argc) {
			fprintf(stderr, "atoll-hub token create: unexpected argument %s\n", argv[optind]);
			return 2;
		}
		if (spec.user[0] && spec.cluster[0]) {
			fprintf(stderr, "atoll-hub token create: --cluster is for bootstrap tokens, --user for API tokens; not both\n");
			return 2;
		}
		if (!spec.user[0] && spec.ngroups) {
			fprintf(stderr, "atoll-hub token create: --group needs --user\n");
			return 2;
		}
		spec.usage = spec.user[0] ? TOKEN_AUTH : TOKEN_BOOTSTRAP;
		char hash[80];
		if (ca_hash(dir, hash, sizeof hash, err, sizeof err) < 0) {
			fprintf(stderr, "atoll-hub token: %s\n", err);
			return 1;
		}
		spec.expires = ttl_ms ? time(NULL) + (time_t)(ttl_ms / 1000) : 0;
		char tok[TOKEN_LEN + 1];
		if (tokens_create(dir, &spec, tok, err, sizeof err) < 0) {
			fprintf(stderr, "atoll-hub token: %s\n", err);
			return 1;
		}
		char ts[32];
		if (strcmp(output, "json") == 0) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "token", tok);
			cJSON_AddStringToObject(o, "caCertHash", hash);
			if (spec.expires)
				cJSON_AddStringToObject(o, "expires", time_rfc3339(spec.expires, ts, sizeof ts));
			if (spec.cluster[0])
				cJSON_AddStringToObject(o, "cluster", spec.cluster);
			char *s = cJSON_PrintUnformatted(o);
			printf("%s\n", s);
			free(s);
			cJSON_Delete(o);
		} else {
			printf("token: %s\ncaCertHash: %s\nexpires: %s\n", tok, hash,
			       spec.expires ? time_rfc3339(spec.expires, ts, sizeof ts) : "never");
			if (spec.cluster[0])
				printf("cluster: %s\n", spec.cluster);
		}
		return 0;
	}
	if (strcmp(sub, "list") == 0) {
		cJSON *j = load(dir);
		printf("%-8s %-15s %-28s %-21s %s\n", "ID", "USAGE", "CLUSTER/USER", "EXPIRES", "DESCRIPTION");
		const cJSON *t;
		time_t now = time(NULL);
		cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "tokens"))
		{
			struct token_rec r;
			rec_from_json(t, &r);
			char ts[32];
			printf("%-8s %-15s %-28s %-21s %s\n", r.id, r.usage == TOKEN_AUTH ? "authentication" : "bootstrap",
			       r.usage == TOKEN_AUTH ? r.user : (r.cluster[0] ? r.cluster : "<any>"),
			       !r.expires ? "never" : r.expires <= now ? "expired" : time_rfc3339(r.expires, ts, sizeof ts),
			       r.description);
		}
		cJSON_Delete(j);
		return 0;
	}
	if (strcmp(sub, "delete") == 0) {
		if (optind >= argc) {
			fprintf(stderr, "atoll-hub token delete: which token id?\n");
			return 2;
		}
		for (int i = optind; i < argc; i++) {
			err[0] = '\0';
			if (tokens_delete(dir, argv[i], err, sizeof err) < 0) {
				fprintf(stderr, "atoll-hub token delete: %s\n", err);
				return 1;
			}
			printf("token \"%s\" deleted\n", argv[i]);
		}
		return 0;
	}
	fprintf(stderr, "atoll-hub token: unknown subcommand \"%s\" (want create, list or delete)\n\n", sub);
	token_usage(stderr);
	return 2;
}
