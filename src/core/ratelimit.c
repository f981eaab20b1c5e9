/*
 * ratelimit.c - see ratelimit.h.
 */
#include "config.h"

#include "core/ratelimit.h"
#include "core/util.h"

#include <stdio.h>

static void
bucket_of(char out[65], const char *scope, const char *key)
{
	struct yq_buf b = { 0 };

	if (yq_buf_printf(&b, "%s:%s", scope, key) < 0) {
		yq_sha256_hex(out, scope, strlen(scope));
		return;
	}
	yq_sha256_hex(out, b.data, b.len);
	yq_buf_free(&b);
}

static long
verdict(unsigned long long hits, const struct yq_rate *r, long long start, long long now)
{
	if (hits <= r->count)
		return 0;
	long wait = (long)(start + r->window - now);
	return wait > 0 ? wait : 1;
}

long
yq_ratelimit_hit(struct yq_db *db, const char *scope, const char *key, const struct yq_rate *r,
                 long long now)
{
	static const char sql[] =
	        "INSERT INTO rate_limits (bucket, window_start, hits, expires_at) "
	        "VALUES (?, ?, 1, FROM_UNIXTIME(?)) "
	        "ON DUPLICATE KEY UPDATE hits = LAST_INSERT_ID(hits + 1)";
	char bucket[65];

	if (r->count == 0)
		return 0;
	long long start = now - now % r->window;
	bucket_of(bucket, scope, key);
	long long rc = YQ_DB_EXEC(db, sql, NULL, YQ_PSTR(bucket), YQ_PINT(start),
	                          YQ_PINT(start + r->window));
	if (rc < 0)
		return (long)rc;
	/* affected rows: 1 for a fresh insert, 2 for an update */
	unsigned long long hits = rc == 1 ? 1 : yq_db_insert_id(db);
	return verdict(hits, r, start, now);
}

long
yq_ratelimit_peek(struct yq_db *db, const char *scope, const char *key, const struct yq_rate *r,
                  long long now)
{
	static const char sql[] =
	        "SELECT hits FROM rate_limits WHERE bucket = ? AND window_start = ?";
	char bucket[65];
	struct yq_rows *rows;

	if (r->count == 0)
		return 0;
	long long start = now - now % r->window;
	bucket_of(bucket, scope, key);
	long long rc = YQ_DB_EXEC(db, sql, &rows, YQ_PSTR(bucket), YQ_PINT(start));
	if (rc < 0)
		return (long)rc;
	unsigned long long hits = rows->nrows ? (unsigned long long)yq_rows_int(rows, 0, 0) : 0;
	yq_rows_free(rows);
	/* full when the next hit would exceed the rate */
	return verdict(hits + 1, r, start, now);
}
