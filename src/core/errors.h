/*
 * errors.h - the error codes that src/core functions return.
 *
 * Every core function returns 0 (or a count, or a pointer) on success and
 * one of these negative codes on failure.  The REST app maps them to HTTP
 * statuses in exactly one place (http.c: yq_http_fail); the ws daemon maps
 * them to protocol errors.
 */
#ifndef YQ_ERRORS_H
#define YQ_ERRORS_H

enum yq_err {
	YQ_OK = 0,
	YQ_EINTERNAL = -1, /* a bug or an unexpected library failure: 500 */
	YQ_ENOMEM = -2,    /* allocation failed: 500 */
	YQ_EDBDOWN = -3,   /* database unreachable right now: 503 + Retry-After */
	YQ_EDUP = -4,      /* unique key violated: 409 */
	YQ_ENOTFOUND = -5, /* no such row: 404 */
	YQ_EINVAL = -6,    /* bad input that a caller should have validated */
	YQ_ECONFLICT = -7, /* deadlock or lock wait timeout: retryable */
};

#endif
