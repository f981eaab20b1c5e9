/*
 * fuzz_jwt.c - libFuzzer target: access token verification
 * (yq_token_verify: the segments, the HMAC, the header, the claim checks).
 *
 * Two modes by the first byte.  Even: the rest is a token as a client
 * would send it; nothing the fuzzer makes may verify (it does not know
 * the key), so success is a forgery.  Odd: the rest is a claims object
 * that the harness signs with the key, to reach the claim checks behind
 * the signature; whatever verifies must have the claims the issuer gives
 * (sub >= 1, exp in the future, iat not ahead by more than 300 s).
 */
#include "config.h"

#include "core/config.h"
#include "core/token.h"

#include <jwt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000LL

static struct yq_config cfg;

static void
setup(void)
{
	char err[256];

	if (cfg.jwt_key[0])
		return;
	if (yq_config_load(&cfg, NULL, err, sizeof(err)) < 0)
		abort();
	memcpy(cfg.jwt_key, "fuzz-key-fuzz-key-fuzz-key-fuzz-key-0123", 41);
}

static char *
sign(const char *claims)
{
	jwt_t *jwt = NULL;
	char *out = NULL;

	if (jwt_new(&jwt) == 0 && jwt_add_grants_json(jwt, claims) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)cfg.jwt_key,
	                (int)strlen(cfg.jwt_key)) == 0)
		out = jwt_encode_str(jwt);
	jwt_free(jwt);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yq_claims c;
	const char *why;

	setup();
	if (size == 0)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] % 2 == 0) {
		if (yq_token_verify(&cfg, text, NOW, &c, &why) == 0)
			abort(); /* forged */
	} else {
		char *tok = sign(text);
		if (tok && yq_token_verify(&cfg, tok, NOW, &c, &why) == 0 &&
		    (c.sub < 1 || c.exp <= NOW || c.iat > NOW + 300))
			abort();
		free(tok);
	}
	free(text);
	return 0;
}
