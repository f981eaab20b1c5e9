/*
 * password.h - argon2id password hashes (libsodium crypto_pwhash_str).
 *
 * Parameters come from the config (OWASP's: 19 MiB, 2 passes, 1 lane by
 * default).  A hash made with other parameters still verifies, and
 * yq_password_needs_rehash() tells the login path to upgrade it.
 * yq_password_burn() spends the same time as a verify, for logins of
 * unknown users, so timing does not reveal which names exist; it verifies
 * against a dummy hash that yq_password_prepare() makes at startup, so the
 * first unknown-user login pays no more than the others.
 */
#ifndef YQ_PASSWORD_H
#define YQ_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

#define YQ_PWHASH_MAX 128 /* >= crypto_pwhash_STRBYTES */

int yq_password_init(void);
int yq_password_hash(const struct yq_config *cfg, const char *pw, size_t len,
                     char out[YQ_PWHASH_MAX]);
/* 0 when pw matches hash, -1 otherwise. */
int yq_password_verify(const char *hash, const char *pw, size_t len);
bool yq_password_needs_rehash(const struct yq_config *cfg, const char *hash);
/* Make the dummy hash with cfg's parameters (again only when they
 * changed); 0, or -1 when hashing failed. */
int yq_password_prepare(const struct yq_config *cfg);
/* The dummy hash ("" before the first prepare). */
const char *yq_password_dummy(void);
void yq_password_burn(const struct yq_config *cfg, const char *pw, size_t len);

#endif
