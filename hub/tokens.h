/* tokens — bootstrap (join) tokens and API bearer tokens.
 * Owns: the token format (kubeadm's "[a-z0-9]{6}.[a-z0-9]{16}": a public id
 * and a secret), DIR/tokens.json (0600) where only the SHA-256 of each
 * secret is kept with its expiry, usage, allowed cluster and identity, and
 * the `atoll-hub token` command. Lookups compare hashes in constant time. */
#ifndef ATOLL_TOKENS_H
#define ATOLL_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define TOKEN_ID_LEN 6
#define TOKEN_SECRET_LEN 16
#define TOKEN_LEN (TOKEN_ID_LEN + 1 + TOKEN_SECRET_LEN)
#define TOKEN_MAX_GROUPS 4

enum token_usage { TOKEN_BOOTSTRAP = 0, TOKEN_AUTH };

struct token_rec {
	char id[TOKEN_ID_LEN + 1];
	char hash[65];          /* hex SHA-256 of the secret */
	enum token_usage usage;
	time_t created, expires; /* expires 0 = never */
	char cluster[64];       /* bootstrap: the only cluster it may join ("" = any) */
	char user[128];         /* auth: the user it authenticates as */
	char groups[TOKEN_MAX_GROUPS][128];
	int ngroups;
	char description[128];
};

/* Splits "id.secret"; false when the format is wrong. */
bool token_parse(const char *token, char id[TOKEN_ID_LEN + 1], char secret[TOKEN_SECRET_LEN + 1]);

/* Creates a token from spec (its id, hash and created are filled here) and
 * stores it. Writes the token text into out (TOKEN_LEN + 1 bytes). */
int tokens_create(const char *dir, struct token_rec *spec, char *out, char *err, size_t errlen);

enum token_result { TOKEN_OK = 0, TOKEN_MALFORMED, TOKEN_UNKNOWN, TOKEN_EXPIRED };
/* The same for n tokens in one read and write of the file (thousands of
 * agent tokens: bench_fleet). out[k] receives specs[k]'s token. */
int tokens_create_many(const char *dir, struct token_rec *specs, int n, char (*out)[TOKEN_LEN + 1], char *err,
		       size_t errlen);

/* Looks up a presented token at time now. On TOKEN_OK (and TOKEN_EXPIRED)
 * *rec describes it. */
enum token_result tokens_lookup(const char *dir, const char *token, time_t now, struct token_rec *rec);

/* Removes a token by id. Returns 0, or -1 when absent or on error. */
int tokens_delete(const char *dir, const char *id, char *err, size_t errlen);

/* atoll-hub token create|list|delete */
int tokens_main(int argc, char **argv);

#endif
