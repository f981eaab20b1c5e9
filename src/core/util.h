/*
 * util.h - small helpers every module needs: bounded string copies, a
 * growable byte buffer, clocks, and encodings (hex, base64url) built on
 * libsodium's constant-time codecs.
 */
#ifndef YQ_UTIL_H
#define YQ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YQ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Copy at most size-1 bytes and always terminate; returns strlen(src) so a
 * caller can detect truncation (>= size). */
size_t yq_strlcpy(char *dst, const char *src, size_t size);

/* A growable, always NUL-terminated byte buffer. */
struct yq_buf {
	char *data;
	size_t len;
	size_t cap;
};

int yq_buf_append(struct yq_buf *b, const void *data, size_t len);
int yq_buf_puts(struct yq_buf *b, const char *s);
int yq_buf_printf(struct yq_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void yq_buf_free(struct yq_buf *b);

int64_t yq_now_ms(void);  /* wall clock, epoch milliseconds */
int64_t yq_mono_ms(void); /* monotonic clock, milliseconds */

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void yq_hex(char *out, const unsigned char *in, size_t len);

/* n random bytes encoded as unpadded base64url into out; out must hold
 * yq_b64url_len(n) + 1 bytes. */
size_t yq_b64url_len(size_t n);
void yq_random_b64url(char *out, size_t nbytes);
int yq_b64url_encode(char *out, size_t outsz, const unsigned char *in, size_t len);
/* Decode unpadded base64url; returns the decoded length or -1. */
long yq_b64url_decode(unsigned char *out, size_t outsz, const char *in, size_t len);

/* SHA-256 of s as 64 hex chars + NUL: how opaque secrets are stored. */
void yq_sha256_hex(char out[65], const char *s, size_t len);

/* Parse a decimal integer in [min, max] that fills the whole string. */
int yq_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* ASCII lower-case copy of src, truncated to sz-1 bytes. */
void yq_ascii_lower(char *dst, size_t sz, const char *src);

/* Characters (code points) in len bytes of valid UTF-8. */
size_t yq_utf8_chars(const char *s, size_t len);

/* Length of the well-formed UTF-8 sequence at p (p < end), or 0: no
 * overlong forms, no surrogates, nothing above U+10FFFF (what MariaDB's
 * utf8mb4 stores and JSON may carry). */
size_t yq_utf8_seq(const unsigned char *p, const unsigned char *end);
/* Are len bytes at s well-formed UTF-8 throughout? */
bool yq_utf8_valid(const char *s, size_t len);

#endif
