/*
 * test_token.c - unit tests for src/core/token.c.
 *
 * Access tokens: an issued token verifies and carries sub, ver, iat, exp
 * (now + access_ttl) and a fresh jti; verification rejects an expired
 * token, another key, a tampered payload, "alg":"none", HS384/HS512 signed
 * with the same key, a string exp, the wrong typ/iss/aud, missing claims,
 * a non-numeric sub, a token past YQ_TOKEN_MAX_LEN, garbage and "".
 * Hostile tokens are built with libjwt itself (jwt_add_grants_json), and
 * each family has a control built the same way that does verify, so a
 * rejection is known to come from the one thing changed.
 *
 * Opaque secrets: yq_secret_new gives distinct 43-char base64url strings
 * whose yq_secret_hash is the returned hash (the SHA-256 hex of the
 * string); yq_secret_hash refuses the wrong length or alphabet.
 */
#include "config.h"

#include "core/token.h"
#include "core/util.h"

#include <check.h>
#include <json-c/json.h>
#include <jwt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000LL
#define KEY "0123456789abcdef0123456789abcdef-test-key-48-bytes!!"

static struct yq_config cfg;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	yq_strlcpy(cfg.jwt_key, KEY, sizeof(cfg.jwt_key));
	yq_strlcpy(cfg.jwt_issuer, "yiqikan", sizeof(cfg.jwt_issuer));
	yq_strlcpy(cfg.jwt_audience, "yiqikan", sizeof(cfg.jwt_audience));
	cfg.access_ttl = 900;
}

static int
verify(const char *token, long long now, struct yq_claims *c)
{
	const char *why = "unset";
	int rc = yq_token_verify(&cfg, token, now, c, &why);

	if (rc == 0)
		ck_assert_ptr_null(why);
	else
		ck_assert_msg(why != NULL && *why, "no reason for a rejection");
	return rc;
}

static char *
issue(long long uid, long long ver, long long now, long long *exp)
{
	char *tok = NULL;

	ck_assert_int_eq(yq_token_issue(&cfg, uid, ver, now, &tok, exp), 0);
	ck_assert_ptr_nonnull(tok);
	return tok;
}

/* Claims as yq_token_issue writes them, as a json-c object to modify. */
static json_object *
good_claims(void)
{
	json_object *g = json_object_new_object();

	json_object_object_add(g, "iss", json_object_new_string("yiqikan"));
	json_object_object_add(g, "aud", json_object_new_string("yiqikan"));
	json_object_object_add(g, "sub", json_object_new_string("42"));
	json_object_object_add(g, "iat", json_object_new_int64(NOW));
	json_object_object_add(g, "exp", json_object_new_int64(NOW + 900));
	json_object_object_add(g, "jti", json_object_new_string("abcdefghijklmnopqrstuv"));
	json_object_object_add(g, "typ", json_object_new_string("access"));
	json_object_object_add(g, "ver", json_object_new_int64(1));
	return g;
}

/* Sign the claims g (consumed) with alg and key using libjwt. */
static char *
sign(json_object *g, jwt_alg_t alg, const char *key)
{
	jwt_t *jwt = NULL;

	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, json_object_to_json_string(g)), 0);
	json_object_put(g);
	ck_assert_int_eq(
	        jwt_set_alg(jwt, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0), 0);
	char *tok = jwt_encode_str(jwt);
	jwt_free(jwt);
	ck_assert_ptr_nonnull(tok);
	return tok;
}

/* good_claims() with one member replaced (v != NULL) or removed. */
static char *
sign_with(const char *key_name, json_object *v)
{
	json_object *g = good_claims();

	if (v)
		json_object_object_add(g, key_name, v);
	else
		json_object_object_del(g, key_name);
	return sign(g, JWT_ALG_HS256, KEY);
}

static void
assert_rejected(char *tok, const char *what)
{
	struct yq_claims c;

	ck_assert_msg(verify(tok, NOW, &c) == -1, "accepted a token with %s", what);
	free(tok);
}

/* A copy of the n-th (0-based) dot-separated segment of tok. */
static char *
segment(const char *tok, int n)
{
	const char *p = tok;

	for (int i = 0; i < n; i++) {
		p = strchr(p, '.');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	const char *e = strchr(p, '.');
	return strndup(p, e ? (size_t)(e - p) : strlen(p));
}

static char *
b64url(const char *s)
{
	size_t n = yq_b64url_len(strlen(s)) + 1;
	char *out = malloc(n);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(yq_b64url_encode(out, n, (const unsigned char *)s, strlen(s)), 0);
	return out;
}

START_TEST(test_issue_verify_round_trip)
{
	long long exp = 0;
	char *tok = issue(42, 3, NOW, &exp);
	struct yq_claims c;

	ck_assert_int_eq(exp, NOW + 900);
	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	ck_assert_int_eq(c.sub, 42);
	ck_assert_int_eq(c.ver, 3);
	ck_assert_int_eq(c.iat, NOW);
	ck_assert_int_eq(c.exp, NOW + 900);
	ck_assert_uint_ge(strlen(c.jti), 16);
	/* still good one second before it expires */
	ck_assert_int_eq(verify(tok, NOW + 899, &c), 0);
	free(tok);

	tok = issue(999999999999LL, 0, NOW, &exp);
	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	ck_assert_int_eq(c.sub, 999999999999LL);
	ck_assert_int_eq(c.ver, 0);
	free(tok);
}
END_TEST

START_TEST(test_issue_uses_config)
{
	long long exp = 0;
	struct yq_claims c;

	cfg.access_ttl = 60;
	char *tok = issue(7, 1, NOW, &exp);
	ck_assert_int_eq(exp, NOW + 60);
	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	ck_assert_int_eq(c.exp, NOW + 60);
	free(tok);

	/* a token is only good for the issuer and audience it names */
	tok = issue(7, 1, NOW, &exp);
	yq_strlcpy(cfg.jwt_issuer, "other", sizeof(cfg.jwt_issuer));
	ck_assert_int_eq(verify(tok, NOW, &c), -1);
	setup();
	yq_strlcpy(cfg.jwt_audience, "other", sizeof(cfg.jwt_audience));
	ck_assert_int_eq(verify(tok, NOW, &c), -1);
	free(tok);
}
END_TEST

START_TEST(test_jti_unique)
{
	long long exp;
	struct yq_claims a, b;
	char *t1 = issue(1, 1, NOW, &exp);
	char *t2 = issue(1, 1, NOW, &exp);

	ck_assert_str_ne(t1, t2);
	ck_assert_int_eq(verify(t1, NOW, &a), 0);
	ck_assert_int_eq(verify(t2, NOW, &b), 0);
	ck_assert_str_ne(a.jti, b.jti);
	free(t1);
	free(t2);
}
END_TEST

START_TEST(test_rejects_expired)
{
	long long exp;
	struct yq_claims c;
	char *tok = issue(42, 1, NOW, &exp);

	ck_assert_int_eq(verify(tok, NOW + 900, &c), -1);
	ck_assert_int_eq(verify(tok, NOW + 901, &c), -1);
	ck_assert_int_eq(verify(tok, NOW + 86400, &c), -1);
	free(tok);
}
END_TEST

START_TEST(test_rejects_issued_in_future)
{
	long long exp;
	struct yq_claims c;
	char *tok = issue(42, 1, NOW + 3600, &exp);

	/* a clock an hour behind the issuer's: iat is too far ahead */
	ck_assert_int_eq(verify(tok, NOW, &c), -1);
	free(tok);
}
END_TEST

START_TEST(test_rejects_wrong_key)
{
	long long exp;
	struct yq_claims c;
	char *tok = issue(42, 1, NOW, &exp);

	yq_strlcpy(cfg.jwt_key, KEY "x", sizeof(cfg.jwt_key));
	ck_assert_int_eq(verify(tok, NOW, &c), -1);
	yq_strlcpy(cfg.jwt_key, "another-key-of-at-least-32-bytes-length!", sizeof(cfg.jwt_key));
	ck_assert_int_eq(verify(tok, NOW, &c), -1);
	free(tok);

	tok = sign(good_claims(), JWT_ALG_HS256, "another-key-of-at-least-32-bytes-length!");
	setup();
	assert_rejected(tok, "another key");
}
END_TEST

START_TEST(test_rejects_tampered_payload)
{
	long long exp;
	struct yq_claims c;
	char *tok = issue(42, 1, NOW, &exp);
	char *dot = strchr(tok, '.');

	ck_assert_ptr_nonnull(dot);
	/* change one character in the middle of the payload segment */
	char *mid = dot + 1 + (strchr(dot + 1, '.') - (dot + 1)) / 2;
	*mid = *mid == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(tok, NOW, &c), -1);
	free(tok);

	/* and a cleanly re-encoded payload with another sub, old signature */
	tok = issue(42, 1, NOW, &exp);
	char *hdr = segment(tok, 0), *sig = segment(tok, 2);
	json_object *g = good_claims();
	json_object_object_add(g, "sub", json_object_new_string("1"));
	char *pl = b64url(json_object_to_json_string(g));
	json_object_put(g);
	struct yq_buf b = { 0 };
	yq_buf_printf(&b, "%s.%s.%s", hdr, pl, sig);
	ck_assert_int_eq(verify(b.data, NOW, &c), -1);
	yq_buf_free(&b);
	free(hdr);
	free(sig);
	free(pl);
	free(tok);
}
END_TEST

START_TEST(test_rejects_alg_none)
{
	long long exp;
	struct yq_claims c;
	char *tok = issue(42, 1, NOW, &exp);
	char *hdr = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
	char *pl = segment(tok, 1), *sig = segment(tok, 2);
	struct yq_buf b = { 0 };

	/* header "none" + the real payload, with no signature ... */
	yq_buf_printf(&b, "%s.%s.", hdr, pl);
	ck_assert_int_eq(verify(b.data, NOW, &c), -1);
	/* ... and with the real signature left on */
	b.len = 0;
	yq_buf_printf(&b, "%s.%s.%s", hdr, pl, sig);
	ck_assert_int_eq(verify(b.data, NOW, &c), -1);
	/* ... and without the trailing dot */
	b.len = 0;
	yq_buf_printf(&b, "%s.%s", hdr, pl);
	ck_assert_int_eq(verify(b.data, NOW, &c), -1);
	yq_buf_free(&b);
	free(hdr);
	free(pl);
	free(sig);
	free(tok);

	/* libjwt's own "none" encoding of good claims */
	assert_rejected(sign(good_claims(), JWT_ALG_NONE, NULL), "alg none (libjwt)");
}
END_TEST

START_TEST(test_control_token_verifies)
{
	/* the builder used by the tests below makes tokens that do verify */
	char *tok = sign(good_claims(), JWT_ALG_HS256, KEY);
	struct yq_claims c;

	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	ck_assert_int_eq(c.sub, 42);
	ck_assert_int_eq(c.ver, 1);
	ck_assert_str_eq(c.jti, "abcdefghijklmnopqrstuv");
	free(tok);
}
END_TEST

START_TEST(test_rejects_other_hmac_algs)
{
	assert_rejected(sign(good_claims(), JWT_ALG_HS512, KEY), "HS512 and the same key");
	assert_rejected(sign(good_claims(), JWT_ALG_HS384, KEY), "HS384 and the same key");
}
END_TEST

START_TEST(test_rejects_bad_exp)
{
	assert_rejected(sign_with("exp", json_object_new_string("9999999999")), "string exp");
	assert_rejected(sign_with("exp", json_object_new_double(9999999999.0)), "double exp");
	assert_rejected(sign_with("exp", json_object_new_boolean(1)), "boolean exp");
	assert_rejected(sign_with("exp", NULL), "no exp");
	assert_rejected(sign_with("exp", json_object_new_int64(NOW)), "exp == now");
}
END_TEST

START_TEST(test_rejects_wrong_typ_iss_aud)
{
	assert_rejected(sign_with("typ", json_object_new_string("refresh")), "typ refresh");
	assert_rejected(sign_with("typ", NULL), "no typ");
	assert_rejected(sign_with("iss", json_object_new_string("evil")), "iss evil");
	assert_rejected(sign_with("iss", NULL), "no iss");
	assert_rejected(sign_with("aud", json_object_new_string("yiqikan-ws")), "aud other");
	assert_rejected(sign_with("aud", NULL), "no aud");
}
END_TEST

START_TEST(test_rejects_missing_claims)
{
	assert_rejected(sign_with("jti", NULL), "no jti");
	assert_rejected(sign_with("jti", json_object_new_int(5)), "integer jti");
	assert_rejected(sign_with("ver", NULL), "no ver");
	assert_rejected(sign_with("ver", json_object_new_string("1")), "string ver");
	assert_rejected(sign_with("iat", NULL), "no iat");
	assert_rejected(sign_with("sub", NULL), "no sub");
}
END_TEST

START_TEST(test_rejects_bad_sub)
{
	assert_rejected(sign_with("sub", json_object_new_string("abc")), "sub abc");
	assert_rejected(sign_with("sub", json_object_new_string("")), "empty sub");
	assert_rejected(sign_with("sub", json_object_new_string("0")), "sub 0");
	assert_rejected(sign_with("sub", json_object_new_string("-1")), "sub -1");
	assert_rejected(sign_with("sub", json_object_new_string("12abc")), "sub 12abc");
	assert_rejected(sign_with("sub", json_object_new_string("99999999999999999999")),
	                "sub past int64");
	assert_rejected(sign_with("sub", json_object_new_int(42)), "integer sub");
}
END_TEST

/* A good token with a "pad" claim of n bytes. */
static char *
padded(size_t n)
{
	json_object *g = good_claims();
	char *pad = malloc(n + 1);

	ck_assert_ptr_nonnull(pad);
	memset(pad, 'p', n);
	pad[n] = '\0';
	json_object_object_add(g, "pad", json_object_new_string(pad));
	free(pad);
	return sign(g, JWT_ALG_HS256, KEY);
}

START_TEST(test_rejects_overlong_token)
{
	struct yq_claims c;
	char *tok = padded(2500);

	/* under the limit, extra claims do no harm ... */
	ck_assert_uint_le(strlen(tok), YQ_TOKEN_MAX_LEN);
	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	free(tok);

	/* ... over it, the same valid token is refused unread */
	tok = padded(3200);
	ck_assert_uint_gt(strlen(tok), YQ_TOKEN_MAX_LEN);
	assert_rejected(tok, "more than YQ_TOKEN_MAX_LEN bytes");
}
END_TEST

START_TEST(test_rejects_garbage)
{
	static const char *const bad[] = {
		"",
		"abc",
		".",
		"..",
		"a.b.c",
		"eyJ.eyJ.sig",
		"Bearer x.y.z",
		"eyJhbGciOiJIUzI1NiJ9",
		"eyJhbGciOiJIUzI1NiJ9..",
		"!!!.###.$$$",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.bm90IGpzb24.c2ln",
	};
	struct yq_claims c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(verify(bad[i], NOW, &c) == -1, "accepted [%s]", bad[i]);
	ck_assert_int_eq(verify(NULL, NOW, &c), -1);
}
END_TEST

START_TEST(test_rejects_with_whitespace)
{
	long long exp;
	struct yq_claims c;
	char *tok = issue(42, 1, NOW, &exp);
	struct yq_buf b = { 0 };

	yq_buf_printf(&b, "%s ", tok);
	ck_assert_int_eq(verify(b.data, NOW, &c), -1);
	b.len = 0;
	yq_buf_printf(&b, " %s", tok);
	ck_assert_int_eq(verify(b.data, NOW, &c), -1);
	yq_buf_free(&b);
	free(tok);
}
END_TEST

/* header.payload (JSON texts) signed with HMAC-SHA-256 and key, as any
 * JWT library would: what yq_token_verify checks by hand. */
static char *
sign_raw(const char *header, const char *payload, const char *key)
{
	char *h = b64url(header), *p = b64url(payload);
	struct yq_buf b = { 0 };
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char sig[64];

	yq_buf_printf(&b, "%s.%s", h, p);
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)b.data, b.len);
	crypto_auth_hmacsha256_final(&st, mac);
	ck_assert_int_eq(yq_b64url_encode(sig, sizeof(sig), mac, sizeof(mac)), 0);
	yq_buf_printf(&b, ".%s", sig);
	free(h);
	free(p);
	return b.data;
}

static char *
good_payload(void)
{
	json_object *g = good_claims();
	char *s = strdup(json_object_to_json_string(g));

	json_object_put(g);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(test_header_checked_after_signature)
{
	char *pl = good_payload();
	struct yq_claims c;

	/* controls: signed by hand, with and without typ, they verify */
	char *tok = sign_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl, KEY);
	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	ck_assert_int_eq(c.sub, 42);
	free(tok);
	tok = sign_raw("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", pl, KEY);
	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	free(tok);
	tok = sign_raw("{\"alg\":\"HS256\"}", pl, KEY);
	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	free(tok);

	/* a valid HMAC-SHA-256 under a header that says something else */
	assert_rejected(sign_raw("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", pl, KEY), "alg HS512");
	assert_rejected(sign_raw("{\"alg\":\"none\"}", pl, KEY), "alg none, signed");
	assert_rejected(sign_raw("{\"alg\":\"hs256\"}", pl, KEY), "alg hs256");
	assert_rejected(sign_raw("{\"typ\":\"JWT\"}", pl, KEY), "no alg");
	assert_rejected(sign_raw("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", pl, KEY), "typ JWE");
	assert_rejected(sign_raw("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", pl, KEY), "crit");
	assert_rejected(sign_raw("[\"HS256\"]", pl, KEY), "an array header");
	assert_rejected(sign_raw("{\"alg\":\"HS256\"", pl, KEY), "a cut header");
	/* and claims that are no object */
	assert_rejected(sign_raw("{\"alg\":\"HS256\"}", "[1,2]", KEY), "array claims");
	assert_rejected(sign_raw("{\"alg\":\"HS256\"}", "42", KEY), "number claims");
	assert_rejected(sign_raw("{\"alg\":\"HS256\"}", "{\"sub\":\"42\"", KEY), "cut claims");
	free(pl);
}
END_TEST

/* The token fmt makes (printf) is refused. */
static void
refused(const char *what, const char *fmt, ...)
{
	char buf[YQ_TOKEN_MAX_LEN + 64];
	struct yq_claims c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert_msg(verify(buf, NOW, &c) == -1, "accepted a token with %s", what);
}

START_TEST(test_signature_encoding_strict)
{
	long long exp;
	struct yq_claims c;
	char *tok = issue(42, 1, NOW, &exp);
	int n = (int)strlen(tok);

	ck_assert_int_eq(verify(tok, NOW, &c), 0);
	/* 43 characters hold 258 bits: the last one's two low bits are
	 * unused, and another value there is another encoding of the same
	 * MAC, which is refused */
	const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int last = (int)(strchr(alpha, tok[n - 1]) - alpha);
	refused("unused bits set", "%.*s%c", n - 1, tok, alpha[last ^ 1]);
	refused("padding", "%s=", tok);
	refused("a fourth, empty segment", "%s.", tok);
	refused("a fourth segment", "%s.%s", tok, strrchr(tok, '.') + 1);
	refused("a character short", "%.*s", n - 1, tok);
	refused("a character over", "%sA", tok);
	/* a segment with a character outside base64url */
	int at = (int)(strchr(tok, '.') - tok) + 3;
	refused("a '+'", "%.*s+%s", at, tok, tok + at + 1);
	free(tok);
}
END_TEST

/* ---- opaque secrets ---- */

static bool
is_b64url(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

START_TEST(test_secret_new_shape)
{
	char s1[YQ_SECRET_LEN + 1], s2[YQ_SECRET_LEN + 1], h1[65], h2[65], again[65];

	yq_secret_new(s1, h1);
	yq_secret_new(s2, h2);
	ck_assert_uint_eq(strlen(s1), 43);
	ck_assert_uint_eq(strlen(s2), 43);
	ck_assert(is_b64url(s1));
	ck_assert(is_b64url(s2));
	ck_assert_str_ne(s1, s2);
	ck_assert_str_ne(h1, h2);

	/* 43 chars decode to the promised 32 random bytes */
	unsigned char raw[64];
	ck_assert_int_eq(yq_b64url_decode(raw, sizeof(raw), s1, strlen(s1)), YQ_SECRET_BYTES);

	ck_assert_int_eq(yq_secret_hash(s1, again), 0);
	ck_assert_str_eq(again, h1);
	ck_assert_int_eq(yq_secret_hash(s2, again), 0);
	ck_assert_str_eq(again, h2);
}
END_TEST

START_TEST(test_secret_hash_is_sha256_hex)
{
	char s[YQ_SECRET_LEN + 1], h[65], want[65];
	unsigned char d[crypto_hash_sha256_BYTES];

	yq_secret_new(s, h);
	ck_assert_uint_eq(strlen(h), 64);
	crypto_hash_sha256(d, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(want, sizeof(want), d, sizeof(d));
	ck_assert_str_eq(h, want);
}
END_TEST

START_TEST(test_secrets_distinct)
{
	enum { N = 64 };
	static char s[N][YQ_SECRET_LEN + 1];
	char h[65];

	for (int i = 0; i < N; i++) {
		yq_secret_new(s[i], h);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(s[i], s[j]);
	}
}
END_TEST

START_TEST(test_secret_hash_rejects_bad_shape)
{
	char s[YQ_SECRET_LEN + 1], h[65];
	char buf[64];

	yq_secret_new(s, h);
	/* one short, one long, empty */
	memcpy(buf, s, YQ_SECRET_LEN - 1);
	buf[YQ_SECRET_LEN - 1] = '\0';
	ck_assert_int_eq(yq_secret_hash(buf, h), -1);
	snprintf(buf, sizeof(buf), "%sA", s);
	ck_assert_int_eq(yq_secret_hash(buf, h), -1);
	ck_assert_int_eq(yq_secret_hash("", h), -1);
	/* right length, characters outside base64url */
	static const char bad[] = { '+', '/', '=', ' ', '.', '\n', '%', (char)0xc3 };
	for (size_t i = 0; i < sizeof(bad); i++) {
		memcpy(buf, s, sizeof(s));
		buf[10] = bad[i];
		ck_assert_msg(yq_secret_hash(buf, h) == -1, "accepted char 0x%02x",
		              (unsigned char)bad[i]);
	}
	/* a 43-character base64url string that yq_secret_new did not make is
	 * still well formed (it just will not match anything) */
	ck_assert_int_eq(yq_secret_hash("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", h), 0);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("access");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_issue_verify_round_trip);
	tcase_add_test(tc, test_issue_uses_config);
	tcase_add_test(tc, test_jti_unique);
	tcase_add_test(tc, test_rejects_expired);
	tcase_add_test(tc, test_rejects_issued_in_future);
	tcase_add_test(tc, test_rejects_wrong_key);
	tcase_add_test(tc, test_rejects_tampered_payload);
	tcase_add_test(tc, test_rejects_alg_none);
	tcase_add_test(tc, test_control_token_verifies);
	tcase_add_test(tc, test_rejects_other_hmac_algs);
	tcase_add_test(tc, test_rejects_bad_exp);
	tcase_add_test(tc, test_rejects_wrong_typ_iss_aud);
	tcase_add_test(tc, test_rejects_missing_claims);
	tcase_add_test(tc, test_rejects_bad_sub);
	tcase_add_test(tc, test_rejects_overlong_token);
	tcase_add_test(tc, test_rejects_garbage);
	tcase_add_test(tc, test_rejects_with_whitespace);
	tcase_add_test(tc, test_header_checked_after_signature);
	tcase_add_test(tc, test_signature_encoding_strict);
	suite_add_tcase(s, tc);

	tc = tcase_create("secret");
	tcase_add_test(tc, test_secret_new_shape);
	tcase_add_test(tc, test_secret_hash_is_sha256_hex);
	tcase_add_test(tc, test_secrets_distinct);
	tcase_add_test(tc, test_secret_hash_rejects_bad_shape);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	SRunner *sr = srunner_create(token_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
