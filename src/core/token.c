/*
 * token.c - see token.h.
 */
#include "config.h"

#include "core/json.h"
#include "core/token.h"
#include "core/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

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

int
yq_token_verify(const struct yq_config *cfg, const char *token, long long now, struct yq_claims *c,
                const char **why)
{
	jwt_t *jwt = NULL;
	char *grants = NULL;
	json_object *g = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	*why = "malformed";
	if (!token || strlen(token) > YQ_TOKEN_MAX_LEN)
		return -1;
	if (jwt_decode(&jwt, token, (const unsigned char *)cfg->jwt_key,
	               (int)strlen(cfg->jwt_key)) != 0) {
		*why = "bad signature or encoding";
		return -1;
	}
	if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
		*why = "algorithm not HS256";
		goto out;
	}
	grants = jwt_get_grants_json(jwt, NULL);
	const char *perr;
	if (!grants || !(g = yq_json_parse(grants, strlen(grants), &perr)) ||
	    !json_object_is_type(g, json_type_object)) {
		*why = "claims not an object";
		goto out;
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
	free(grants);
	jwt_free(jwt);
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
