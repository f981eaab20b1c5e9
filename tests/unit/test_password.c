/*
 * test_password.c - unit tests for src/core/password.c.
 *
 * With small argon2id parameters (1 pass, 8 MiB) so the suite stays fast:
 * hash/verify round trip, wrong passwords (including ones differing only
 * after an embedded NUL or in the last byte of 1 KiB) fail, the stored
 * string is "$argon2id$" with the configured m= and t=, needs_rehash
 * follows opslimit and memlimit, an old-parameter hash still verifies,
 * non-ASCII bytes and 1024-byte passwords work, and yq_password_burn runs
 * (also after the parameters change).
 */
#include "config.h"

#include "core/password.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static struct yq_config cfg;

static void
setup(void)
{
	ck_assert_int_eq(yq_password_init(), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.argon2_opslimit = 1;
	cfg.argon2_memlimit_kib = 8192;
}

static void
hash(const char *pw, size_t len, char out[YQ_PWHASH_MAX])
{
	memset(out, 0, YQ_PWHASH_MAX);
	ck_assert_int_eq(yq_password_hash(&cfg, pw, len, out), 0);
	ck_assert_ptr_nonnull(memchr(out, '\0', YQ_PWHASH_MAX));
}

START_TEST(test_round_trip)
{
	char h[YQ_PWHASH_MAX];
	const char *pw = "correct horse battery staple";

	hash(pw, strlen(pw), h);
	ck_assert_int_eq(yq_password_verify(h, pw, strlen(pw)), 0);
}
END_TEST

START_TEST(test_wrong_password_fails)
{
	char h[YQ_PWHASH_MAX];
	const char *pw = "correct horse battery staple";

	hash(pw, strlen(pw), h);
	ck_assert_int_eq(yq_password_verify(h, "correct horse battery stapl", 27), -1);
	ck_assert_int_eq(yq_password_verify(h, "correct horse battery staple!", 29), -1);
	ck_assert_int_eq(yq_password_verify(h, "Correct horse battery staple", 28), -1);
	ck_assert_int_eq(yq_password_verify(h, "", 0), -1);
	/* length counts: the same bytes, one fewer */
	ck_assert_int_eq(yq_password_verify(h, pw, strlen(pw) - 1), -1);
}
END_TEST

START_TEST(test_hash_format)
{
	char h[YQ_PWHASH_MAX], h2[YQ_PWHASH_MAX];

	hash("password1", 9, h);
	ck_assert_msg(strncmp(h, "$argon2id$", 10) == 0, "hash is %s", h);
	ck_assert_ptr_nonnull(strstr(h, "$m=8192,t=1,"));
	/* salted: the same password hashes differently each time */
	hash("password1", 9, h2);
	ck_assert_str_ne(h, h2);
	ck_assert_int_eq(yq_password_verify(h2, "password1", 9), 0);

	cfg.argon2_opslimit = 2;
	cfg.argon2_memlimit_kib = 9000;
	hash("password1", 9, h);
	ck_assert_ptr_nonnull(strstr(h, "$m=9000,t=2,"));
}
END_TEST

START_TEST(test_needs_rehash)
{
	char h[YQ_PWHASH_MAX];

	hash("password1", 9, h);
	ck_assert(!yq_password_needs_rehash(&cfg, h));

	cfg.argon2_opslimit = 2;
	ck_assert(yq_password_needs_rehash(&cfg, h));
	cfg.argon2_opslimit = 1;
	ck_assert(!yq_password_needs_rehash(&cfg, h));

	cfg.argon2_memlimit_kib = 16384;
	ck_assert(yq_password_needs_rehash(&cfg, h));
	cfg.argon2_memlimit_kib = 8192;
	ck_assert(!yq_password_needs_rehash(&cfg, h));
}
END_TEST

START_TEST(test_old_params_still_verify)
{
	char old[YQ_PWHASH_MAX], upgraded[YQ_PWHASH_MAX];

	hash("hunter2hunter2", 14, old);
	cfg.argon2_opslimit = 2;
	cfg.argon2_memlimit_kib = 12288;
	ck_assert(yq_password_needs_rehash(&cfg, old));
	ck_assert_int_eq(yq_password_verify(old, "hunter2hunter2", 14), 0);
	ck_assert_int_eq(yq_password_verify(old, "hunter2hunter3", 14), -1);

	/* the upgrade a login does: rehash with the new parameters */
	hash("hunter2hunter2", 14, upgraded);
	ck_assert(!yq_password_needs_rehash(&cfg, upgraded));
	ck_assert_int_eq(yq_password_verify(upgraded, "hunter2hunter2", 14), 0);
}
END_TEST

START_TEST(test_high_bytes_and_embedded_nul)
{
	char h[YQ_PWHASH_MAX];
	static const char utf8[] = "p\xc3\xa4ssw\xc3\xb6rd \xe4\xb8\x80\xf0\x9f\x94\x91";
	static const char raw[] = "\x80\x81\xfe\xff\xc0\xaf-not-utf8";
	static const char nul_a[] = "abc\0def1";
	static const char nul_b[] = "abc\0def2";

	hash(utf8, sizeof(utf8) - 1, h);
	ck_assert_int_eq(yq_password_verify(h, utf8, sizeof(utf8) - 1), 0);
	ck_assert_int_eq(yq_password_verify(h, "p\xc3\xa4ssw\xc3\xb6rd", 10), -1);

	hash(raw, sizeof(raw) - 1, h);
	ck_assert_int_eq(yq_password_verify(h, raw, sizeof(raw) - 1), 0);
	char flipped[sizeof(raw)];
	memcpy(flipped, raw, sizeof(raw));
	flipped[0] = (char)0x7f;
	ck_assert_int_eq(yq_password_verify(h, flipped, sizeof(raw) - 1), -1);

	/* lengths, not C strings: bytes after a NUL count */
	hash(nul_a, sizeof(nul_a) - 1, h);
	ck_assert_int_eq(yq_password_verify(h, nul_a, sizeof(nul_a) - 1), 0);
	ck_assert_int_eq(yq_password_verify(h, nul_b, sizeof(nul_b) - 1), -1);
	ck_assert_int_eq(yq_password_verify(h, "abc", 3), -1);
}
END_TEST

START_TEST(test_long_password)
{
	char h[YQ_PWHASH_MAX];
	char pw[1024];

	for (size_t i = 0; i < sizeof(pw); i++)
		pw[i] = (char)(' ' + i % 95);
	hash(pw, sizeof(pw), h);
	ck_assert_int_eq(yq_password_verify(h, pw, sizeof(pw)), 0);
	ck_assert_int_eq(yq_password_verify(h, pw, sizeof(pw) - 1), -1);
	pw[sizeof(pw) - 1] ^= 1;
	ck_assert_int_eq(yq_password_verify(h, pw, sizeof(pw)), -1);
}
END_TEST

START_TEST(test_verify_garbage_hash)
{
	ck_assert_int_eq(yq_password_verify("", "x", 1), -1);
	ck_assert_int_eq(yq_password_verify("not a hash", "x", 1), -1);
	ck_assert_int_eq(yq_password_verify("$argon2id$v=19$m=8192,t=1,p=1$AAAA$AAAA", "x", 1), -1);
}
END_TEST

START_TEST(test_burn)
{
	yq_password_burn(&cfg, "whatever", 8);
	yq_password_burn(&cfg, "", 0);
	/* new parameters: the dummy hash is remade, still no crash */
	cfg.argon2_opslimit = 2;
	yq_password_burn(&cfg, "whatever", 8);
	/* burning leaves real hashing and verification intact */
	char h[YQ_PWHASH_MAX];
	hash("password1", 9, h);
	ck_assert_int_eq(yq_password_verify(h, "password1", 9), 0);
}
END_TEST

/* The dummy hash is made once by prepare (at startup in yiqikan-api), and a
 * burn after it spends one verification, not a hash too. */
START_TEST(test_prepare_makes_the_dummy_once)
{
	char first[YQ_PWHASH_MAX];

	ck_assert_int_eq(yq_password_prepare(&cfg), 0);
	const char *d = yq_password_dummy();
	ck_assert_msg(strncmp(d, "$argon2id$", 10) == 0, "dummy is [%s]", d);
	ck_assert(!yq_password_needs_rehash(&cfg, d));
	snprintf(first, sizeof(first), "%s", d);
	ck_assert_int_eq(yq_password_prepare(&cfg), 0);
	yq_password_burn(&cfg, "whatever", 8);
	ck_assert_str_eq(yq_password_dummy(), first);
	/* new parameters: prepare remakes it with them */
	cfg.argon2_opslimit = 2;
	ck_assert_int_eq(yq_password_prepare(&cfg), 0);
	ck_assert_str_ne(yq_password_dummy(), first);
	ck_assert(!yq_password_needs_rehash(&cfg, yq_password_dummy()));
}
END_TEST

static Suite *
password_suite(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("argon2id");

	/* argon2 under the sanitizers is slow; the default 4 s is tight */
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_wrong_password_fails);
	tcase_add_test(tc, test_hash_format);
	tcase_add_test(tc, test_needs_rehash);
	tcase_add_test(tc, test_old_params_still_verify);
	tcase_add_test(tc, test_high_bytes_and_embedded_nul);
	tcase_add_test(tc, test_long_password);
	tcase_add_test(tc, test_verify_garbage_hash);
	tcase_add_test(tc, test_burn);
	tcase_add_test(tc, test_prepare_makes_the_dummy_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(password_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
