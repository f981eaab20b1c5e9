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

/* The dummy hash unknown-user logins verify against: made by
 * yq_password_prepare() at startup (before the workers fork, so they share
 * it) rather than on the first unknown-user login, which would pay for a
 * hash and a verification. */
static char dummy[YQ_PWHASH_MAX];

int
yq_password_prepare(const struct yq_config *cfg)
{
	char seed[33];

	if (dummy[0] && !yq_password_needs_rehash(cfg, dummy))
		return 0;
	yq_random_b64url(seed, 24);
	if (yq_password_hash(cfg, seed, strlen(seed), dummy) < 0) {
		dummy[0] = '\0';
		return -1;
	}
	return 0;
}

const char *
yq_password_dummy(void)
{
	return dummy;
}

void
yq_password_burn(const struct yq_config *cfg, const char *pw, size_t len)
{
	/* prepared at startup; remade here only if the parameters changed
	 * without a prepare (never in yiqikan-api) */
	if (yq_password_prepare(cfg) < 0)
		return;
	(void)yq_password_verify(dummy, pw, len);
}
