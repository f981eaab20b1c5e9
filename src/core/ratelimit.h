/*
 * ratelimit.h - fixed-window counters shared by every process.
 *
 * The counters live in the rate_limits table so that all FastCGI workers
 * on all hosts see the same numbers.  A bucket is SHA-256(scope ":" key),
 * so an attacker-chosen key has a fixed size; a window is the rate's
 * window aligned to the epoch.  One statement counts and reads back
 * (LAST_INSERT_ID(expr)), so a hit costs one round trip.
 */
#ifndef YQ_RATELIMIT_H
#define YQ_RATELIMIT_H

#include "core/config.h"
#include "core/db.h"

/* Count one event.  Returns 0 when still within the rate, the seconds
 * until the window ends (> 0) when over it, or an enum yq_err. */
long yq_ratelimit_hit(struct yq_db *db, const char *scope, const char *key,
                      const struct yq_rate *rate, long long now);

/* Like yq_ratelimit_hit without counting: is the bucket already full? */
long yq_ratelimit_peek(struct yq_db *db, const char *scope, const char *key,
                       const struct yq_rate *rate, long long now);

#endif
