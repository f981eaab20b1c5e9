/*
 * token.c - see token.h.
 */
#include "config.h"

#include "core/json.h"
#include "core/token.h"
#include "core/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <sodium.h>

int
yq_token_issue(const struct yq_config *cfg, long long uid, long long ver, long long now, char **out,
               long long *exp)
{
	jwt_t *jwt = NULL;
	char sub[24], jti[YQ_SECRET_LEN + 1];
	int rc = -1;

	*out = NULL;
	snprintf(sub, sizeof(sub), "%lld", uid);
	yq_random_b64url(jti, 16);
	*exp = now + cfg->access_ttl;
	if (jwt_new(&jwt) != 0)
		return -1;
	if (jwt_add_grant(jwt, "iss", cfg->jwt_issuer) ||
	    jwt_add_grant(jwt, "aud", cfg->jwt_audience) || jwt_add_grant(jwt, "sub", sub) ||
	    jwt_add_grant_int(jwt, "iat", (long)now) || jwt_add_grant_int(jwt, "exp", (long)*exp) ||
	    jwt_add_grant(jwt, "jti", jti) || jwt_add_grant(jwt, "typ", "access") ||
	    jwt_add_grant_int(jwt, "ver", (long)ver))
		goto out;
	if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)cfg->jwt_key,
	                (int)strlen(cfg->jwt_key)) != 0)
		goto out;
	*out = jwt_encode_str(jwt);
	rc = *out ? 0 : -1;
out:
	jwt_free(jwt);
	return rc;
}

static int
claim_str(json_object *g, const char *key, const char *want)
{
	json_object *v;

	if (yq_json_field(g, key, json_type_string, &v) != YQ_JF_OK)
		return -1;
	return want && strcmp(json_object_get_string(v), want) != 0 ? -1 : 0;
}

static int
claim_int(json_object *g, const char *key, long long *out)
{
	json_object *v;

	if (yq_json_field(g, key, json_type_int, &v) != YQ_JF_OK)
		return -1;
	errno = 0;
	*out = json_object_get_int64(v);
	return errno ? -1 : 0;
}

/* A base64url segment that holds a JSON object: the object, else NULL. */
static json_object *
segment_object(const char *s, size_t n)
{
	unsigned char buf[YQ_TOKEN_MAX_LEN];
	const char *perr;

	long len = yq_b64url_decode(buf, sizeof(buf), s, n);
	if (len <= 0)
		return NULL;
	json_object *o = yq_json_parse((const char *)buf, (size_t)len, &perr);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* The header says HS256 (and, if it says, a JWT) and asks for nothing
 * else that must be understood ("crit"). */
static bool
header_is_hs256(const char *s, size_t n)
{
	json_object *h = segment_object(s, n);
	bool ok = h && claim_str(h, "alg", "HS256") == 0 &&
	          (!json_object_object_get_ex(h, "typ", NULL) || claim_str(h, "typ", "JWT") == 0) &&
	          !json_object_object_get_ex(h, "crit", NULL);

	json_object_put(h);
	return ok;
}

/* By hand, with libsodium's HMAC-SHA-256 and json-c: libjwt's decode parsed
 * the claims twice (jansson, then json-c from jansson's dump) and was 15% of
 * the ws daemon's CPU in a join storm (doc/benchmarks.md, session 14).  The
 * signature is checked, in constant time, before anything is parsed. */
int
yq_token_verify(const struct yq_config *cfg, const char *token, long long now, struct yq_claims *c,
                const char **why)
{
	json_object *g = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	*why = "malformed";
	size_t len = token ? strnlen(token, YQ_TOKEN_MAX_LEN + 1) : 0;
	if (!token || len > YQ_TOKEN_MAX_LEN)
		return -1;
	const char *d1 = memchr(token, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return -1;

	*why = "bad signature or encoding";
	unsigned char sig[crypto_auth_hmacsha256_BYTES + 1], mac[crypto_auth_hmacsha256_BYTES];
	size_t sig_chars = len - (size_t)(d2 + 1 - token);
	if (sig_chars != yq_b64url_len(sizeof(mac)) ||
	    yq_b64url_decode(sig, sizeof(sig), d2 + 1, sig_chars) != (long)sizeof(mac))
		return -1;
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)cfg->jwt_key, strlen(cfg->jwt_key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, (size_t)(d2 - token));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	if (crypto_verify_32(mac, sig) != 0)
		return -1;

	if (!header_is_hs256(token, (size_t)(d1 - token))) {
		*why = "algorithm not HS256";
		return -1;
	}
	if (!(g = segment_object(d1 + 1, (size_t)(d2 - d1 - 1)))) {
		*why = "claims not an object";
		return -1;
	}
	json_object *jsub;
	int64_t sub;
	*why = "bad claims";
	if (claim_str(g, "iss", cfg->jwt_issuer) || claim_str(g, "aud", cfg->jwt_audience) ||
	    claim_str(g, "typ", "access") || claim_int(g, "exp", &c->exp) ||
	    claim_int(g, "iat", &c->iat) || claim_int(g, "ver", &c->ver) ||
	    yq_json_field(g, "sub", json_type_string, &jsub) != YQ_JF_OK ||
	    yq_parse_i64(json_object_get_string(jsub), 1, INT64_MAX, &sub) < 0 ||
	    claim_str(g, "jti", NULL))
		goto out;
	c->sub = sub;
	json_object *jjti;
	yq_json_field(g, "jti", json_type_string, &jjti);
	yq_strlcpy(c->jti, json_object_get_string(jjti), sizeof(c->jti));
	if (c->exp <= now) {
		*why = "expired";
		goto out;
	}
	if (c->iat > now + 300) {
		*why = "issued in the future";
		goto out;
	}
	rc = 0;
	*why = NULL;
out:
	json_object_put(g);
	return rc;
}

void
yq_secret_new(char out[YQ_SECRET_LEN + 1], char hash[65])
{
	yq_random_b64url(out, YQ_SECRET_BYTES);
	yq_sha256_hex(hash, out, YQ_SECRET_LEN);
}

int
yq_secret_hash(const char *secret, char hash[65])
{
	size_t n = strlen(secret);

	if (n != YQ_SECRET_LEN)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = secret[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return -1;
	}
	yq_sha256_hex(hash, secret, n);
	return 0;
}
