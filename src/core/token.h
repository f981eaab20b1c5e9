/*
 * token.h - access tokens (JWT HS256) and opaque secrets (refresh tokens,
 * ws tickets).
 *
 * Access token claims: iss, aud, sub (user id as a string), iat, exp, jti,
 * typ "access", ver (the user's token version).  libjwt issues them.
 * Verification is written here with libsodium and json-c (token.c says
 * why): exactly three base64url segments, the signature exactly 43
 * canonical characters and equal, in constant time, to the HMAC-SHA-256 of
 * the first two under the key, checked before anything is parsed; then a
 * header that says alg HS256 (typ, if any, JWT; no crit), and every
 * claim's type and value: exp an integer in the future, iss/aud/typ equal.
 *
 * Opaque secrets are 256 random bits in base64url; only their SHA-256 is
 * stored, so a database dump yields no usable token.
 */
#ifndef YQ_TOKEN_H
#define YQ_TOKEN_H

#include <stddef.h>

#include "core/config.h"

#define YQ_TOKEN_MAX_LEN 4096
#define YQ_SECRET_BYTES  32
#define YQ_SECRET_LEN    43 /* base64url of 32 bytes, unpadded */

struct yq_claims {
	long long sub;
	long long ver;
	long long iat;
	long long exp;
	char jti[64];
};

/* Issue an access token for (uid, ver); *out is malloc'd. */
int yq_token_issue(const struct yq_config *cfg, long long uid, long long ver, long long now,
                   char **out, long long *exp);

/* 0 and *claims when token is a valid, unexpired access token; -1 otherwise
 * (why names the reason, for debug logs only). */
int yq_token_verify(const struct yq_config *cfg, const char *token, long long now,
                    struct yq_claims *claims, const char **why);

/* A fresh opaque secret (YQ_SECRET_LEN chars + NUL) and its storage hash. */
void yq_secret_new(char out[YQ_SECRET_LEN + 1], char hash[65]);
/* The storage hash of a secret presented by a client; -1 when its shape is
 * wrong (so it cannot match anything and need not be looked up). */
int yq_secret_hash(const char *secret, char hash[65]);

#endif
