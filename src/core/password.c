/*
 * password.c - see password.h.
 */
#include "config.h"

#include "core/password.h"
#include "core/util.h"

#include <string.h>

#include <sodium.h>

_Static_assert(YQ_PWHASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer too small");

int
yq_password_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
yq_password_hash(const struct yq_config *cfg, const char *pw, size_t len, char out[YQ_PWHASH_MAX])
{
	return crypto_pwhash_str_alg(out, pw, len, cfg->argon2_opslimit,
	                             (size_t)cfg->argon2_memlimit_kib * 1024,
	                             crypto_pwhash_ALG_ARGON2ID13) == 0
	               ? 0
	               : -1;
}

int
yq_password_verify(const char *hash, const char *pw, size_t len)
{
	return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : -1;
}

bool
yq_password_needs_rehash(const struct yq_config *cfg, const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, cfg->argon2_opslimit,
	                                      (size_t)cfg->argon2_memlimit_kib * 1024) != 0;
}

void
yq_password_burn(const struct yq_config *cfg, const char *pw, size_t len)
{
	static char dummy[YQ_PWHASH_MAX];

	if (!dummy[0] || yq_password_needs_rehash(cfg, dummy)) {
		char seed[33];
		yq_random_b64url(seed, 24);
		if (yq_password_hash(cfg, seed, strlen(seed), dummy) < 0)
			return;
	}
	(void)yq_password_verify(dummy, pw, len);
}
