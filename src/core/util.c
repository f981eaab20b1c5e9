/*
 * util.c - see util.h.  Encodings use libsodium (sodium_bin2hex,
 * sodium_bin2base64) rather than hand-written tables.
 */
#include "config.h"

#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

size_t
yq_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

static int
buf_reserve(struct yq_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
yq_buf_append(struct yq_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) < 0)
		return -1;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
yq_buf_puts(struct yq_buf *b, const char *s)
{
	return yq_buf_append(b, s, strlen(s));
}

int
yq_buf_printf(struct yq_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
yq_buf_free(struct yq_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
yq_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
yq_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

void
yq_hex(char *out, const unsigned char *in, size_t len)
{
	sodium_bin2hex(out, len * 2 + 1, in, len);
}

size_t
yq_b64url_len(size_t n)
{
	return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
}

int
yq_b64url_encode(char *out, size_t outsz, const unsigned char *in, size_t len)
{
	if (outsz < yq_b64url_len(len) + 1)
		return -1;
	sodium_bin2base64(out, outsz, in, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

long
yq_b64url_decode(unsigned char *out, size_t outsz, const char *in, size_t len)
{
	size_t outlen;

	if (sodium_base642bin(out, outsz, in, len, NULL, &outlen, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	return (long)outlen;
}

void
yq_random_b64url(char *out, size_t nbytes)
{
	unsigned char raw[64];

	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	randombytes_buf(raw, nbytes);
	sodium_bin2base64(out, yq_b64url_len(nbytes) + 1, raw, nbytes,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
yq_sha256_hex(char out[65], const char *s, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, len);
	yq_hex(out, h, sizeof(h));
}

int
yq_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void
yq_ascii_lower(char *dst, size_t sz, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < sz; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

size_t
yq_utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

size_t
yq_utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool
yq_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t n = yq_utf8_seq(p, end);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}
