/*
 * test_playback.c - unit tests for ws/playback.c: the authoritative
 * playback arithmetic.
 *
 * Extrapolation while playing (rate 1, 1.5, 0.5), none while paused or
 * never updated; each action's effect on state, position and version;
 * load starts paused at 0 unless told otherwise; a change without a
 * position continues from the extrapolated one; the broadcast payloads of
 * play_control and progress_sync; a state out of every bound (a stored
 * row may hold anything) saturates instead of overflowing; the stored row
 * read from a wider statement's columns (yq_playback_from_cols).
 */
#include "config.h"

#include <math.h>

#include "ws/ws.h"

#include <check.h>
#include <string.h>

static struct yq_playback
playing_at(int64_t pos, int64_t at, double rate)
{
	struct yq_playback p = {
		.playing = true, .position_ms = pos, .rate = rate, .version = 7, .updated_at_ms = at
	};
	return p;
}

START_TEST(test_position_extrapolates_while_playing)
{
	struct yq_playback p = playing_at(1000, 50000, 1.0);

	ck_assert_int_eq(playback_position(&p, 50000), 1000);
	ck_assert_int_eq(playback_position(&p, 52500), 3500);
	p.rate = 1.5;
	ck_assert_int_eq(playback_position(&p, 52000), 4000);
	p.rate = 0.5;
	ck_assert_int_eq(playback_position(&p, 54000), 3000);
}
END_TEST

START_TEST(test_position_stands_still_when_paused)
{
	struct yq_playback p = playing_at(1000, 50000, 1.0);

	p.playing = false;
	ck_assert_int_eq(playback_position(&p, 90000), 1000);
	struct yq_playback never = { .playing = true, .position_ms = 5, .rate = 1.0 };
	ck_assert_int_eq(playback_position(&never, 90000), 5);
}
END_TEST

START_TEST(test_position_never_negative)
{
	/* a clock that went backwards (or a state scheduled ahead) stands at
	 * its position until updated_at_ms */
	struct yq_playback p = playing_at(100, 50000, 1.0);

	ck_assert_int_eq(playback_position(&p, 40000), 100);
	ck_assert_int_eq(playback_position(&p, 50000), 100);
	ck_assert_int_eq(playback_position(&p, 50010), 110);
}
END_TEST

START_TEST(test_actions)
{
	struct yq_playback p = { .rate = 1.0 };
	struct pb_change c = { .action = PB_PLAY, .has_position = true, .position_ms = 2000 };

	playback_apply(&p, &c, 10000, 10000);
	ck_assert(p.playing);
	ck_assert_int_eq(p.position_ms, 2000);
	ck_assert_int_eq(p.version, 1);
	ck_assert_int_eq(p.updated_at_ms, 10000);

	c = (struct pb_change){ .action = PB_PAUSE, .has_position = true, .position_ms = 2500 };
	playback_apply(&p, &c, 10500, 10500);
	ck_assert(!p.playing);
	ck_assert_int_eq(p.position_ms, 2500);
	ck_assert_int_eq(p.version, 2);

	c = (struct pb_change){ .action = PB_SEEK, .has_position = true, .position_ms = 90000 };
	playback_apply(&p, &c, 11000, 11000);
	ck_assert(!p.playing);
	ck_assert_int_eq(p.position_ms, 90000);
	ck_assert_int_eq(p.version, 3);

	c = (struct pb_change){ .action = PB_LOAD };
	strcpy(c.media_url, "https://example.com/b.mp4");
	playback_apply(&p, &c, 12000, 12000);
	ck_assert_str_eq(p.media_url, "https://example.com/b.mp4");
	ck_assert(!p.playing);
	ck_assert_int_eq(p.position_ms, 0);
	ck_assert_int_eq(p.version, 4);

	c = (struct pb_change){
		.action = PB_SYNC, .has_position = true, .position_ms = 700, .playing = true
	};
	playback_apply(&p, &c, 13000, 13000);
	ck_assert(p.playing);
	ck_assert_int_eq(p.position_ms, 700);
	ck_assert_int_eq(p.version, 5);
}
END_TEST

START_TEST(test_change_without_position_continues)
{
	struct yq_playback p = playing_at(1000, 50000, 2.0);
	struct pb_change c = { .action = PB_RATE, .rate = 0.5 };

	/* 1 s at rate 2 before the change */
	playback_apply(&p, &c, 51000, 51000);
	ck_assert_int_eq(p.position_ms, 3000);
	ck_assert(p.playing);
	ck_assert(p.rate == 0.5);
	ck_assert_int_eq(p.version, 8);
	/* and from there at the new rate */
	ck_assert_int_eq(playback_position(&p, 53000), 4000);

	c = (struct pb_change){ .action = PB_PAUSE };
	playback_apply(&p, &c, 55000, 55000);
	ck_assert_int_eq(p.position_ms, 5000);
	ck_assert(!p.playing);
}
END_TEST

START_TEST(test_event_payloads)
{
	struct yq_playback p = playing_at(1234, 99, 1.0);
	struct pb_change c = { .action = PB_SEEK };
	json_object *o = playback_event(&p, &c, 5, "alice"), *v, *by;

	ck_assert(json_object_object_get_ex(o, "action", &v));
	ck_assert_str_eq(json_object_get_string(v), "seek");
	ck_assert(json_object_object_get_ex(o, "state", &v));
	ck_assert_str_eq(json_object_get_string(v), "playing");
	ck_assert(json_object_object_get_ex(o, "version", &v));
	ck_assert_int_eq(json_object_get_int64(v), 7);
	ck_assert(json_object_object_get_ex(o, "server_ts", &v));
	ck_assert_int_eq(json_object_get_int64(v), 99);
	ck_assert(json_object_object_get_ex(o, "by", &by));
	ck_assert(json_object_object_get_ex(by, "username", &v));
	ck_assert_str_eq(json_object_get_string(v), "alice");
	json_object_put(o);

	c.action = PB_SYNC;
	o = playback_event(&p, &c, 5, "alice");
	ck_assert(!json_object_object_get_ex(o, "action", NULL));
	ck_assert(!json_object_object_get_ex(o, "by", NULL));
	ck_assert(json_object_object_get_ex(o, "position_ms", &v));
	ck_assert_int_eq(json_object_get_int64(v), 1234);
	json_object_put(o);
}
END_TEST

START_TEST(test_scheduled_ahead)
{
	struct yq_playback p = { .rate = 1.0 };
	struct pb_change c = { .action = PB_PLAY, .has_position = true, .position_ms = 5000 };
	json_object *o, *v;

	/* play at 5000, decided at 10000, executed at 10080 */
	playback_apply(&p, &c, 10000, 10080);
	ck_assert(p.playing);
	ck_assert_int_eq(p.position_ms, 5000);
	ck_assert_int_eq(p.updated_at_ms, 10080);
	ck_assert_int_eq(playback_position(&p, 10050), 5000); /* not yet */
	ck_assert_int_eq(playback_position(&p, 11080), 6000);
	o = playback_event(&p, &c, 1, "a");
	ck_assert(json_object_object_get_ex(o, "execute_at_ms", &v));
	ck_assert_int_eq(json_object_get_int64(v), 10080);
	ck_assert(json_object_object_get_ex(o, "server_ts", &v));
	ck_assert_int_eq(json_object_get_int64(v), 10080);
	json_object_put(o);

	/* a rate change without a position: where the media is at its
	 * execution time, under the old rate */
	c = (struct pb_change){ .action = PB_RATE, .rate = 2.0 };
	playback_apply(&p, &c, 12000, 12100);
	ck_assert_int_eq(p.position_ms, 7020);
	ck_assert_int_eq(p.updated_at_ms, 12100);
	ck_assert_int_eq(playback_position(&p, 13100), 9020);

	/* a command with a shorter lead never executes before the one
	 * scheduled before it */
	c = (struct pb_change){ .action = PB_PAUSE };
	playback_apply(&p, &c, 12050, 12060);
	ck_assert_int_eq(p.updated_at_ms, 12100);
	ck_assert_int_eq(p.position_ms, 7020);
	ck_assert(!p.playing);

	/* at_ms in the past is now; load and progress_sync are never
	 * scheduled */
	c = (struct pb_change){ .action = PB_SEEK, .has_position = true, .position_ms = 1 };
	playback_apply(&p, &c, 20000, 19000);
	ck_assert_int_eq(p.updated_at_ms, 20000);
	c = (struct pb_change){ .action = PB_LOAD, .media_url = "https://x/a.mp4" };
	playback_apply(&p, &c, 21000, 21500);
	ck_assert_int_eq(p.updated_at_ms, 21000);
	o = playback_event(&p, &c, 1, "a");
	ck_assert(!json_object_object_get_ex(o, "execute_at_ms", NULL));
	json_object_put(o);
	c = (struct pb_change){
		.action = PB_SYNC, .has_position = true, .position_ms = 9, .playing = true
	};
	playback_apply(&p, &c, 22000, 22500);
	ck_assert_int_eq(p.updated_at_ms, 22000);
}
END_TEST

/* A stored row may hold anything (issue 11, defect 6: play at 2^63-1 and
 * any later change overflowed): the arithmetic saturates, the position
 * stays within 0..PB_POSITION_MAX_MS, nothing overflows (UBSan aborts on
 * signed overflow in the sanitizer build). */
START_TEST(test_out_of_range_state_saturates)
{
	const int64_t now = 1795500958000LL;
	struct yq_playback p = playing_at(INT64_MAX, now - 1000, 1.0);

	ck_assert_int_eq(playback_position(&p, now), PB_POSITION_MAX_MS);
	p = playing_at(INT64_MAX - 5, 1, 4.0);
	ck_assert_int_eq(playback_position(&p, INT64_MAX), PB_POSITION_MAX_MS);
	p = playing_at(INT64_MIN, INT64_MIN, 1e308);
	ck_assert_int_eq(playback_position(&p, INT64_MAX), PB_POSITION_MAX_MS);
	p = playing_at(100, INT64_MIN + 1, -1e308);
	int64_t pos = playback_position(&p, now);
	ck_assert(pos >= 0 && pos <= PB_POSITION_MAX_MS);
	p = playing_at(-5, now - 10, 1.0);
	ck_assert_int_eq(playback_position(&p, now), 10);

	/* every later change on such a state is sane */
	static const enum pb_action acts[] = { PB_PLAY, PB_PAUSE, PB_SEEK, PB_RATE, PB_SYNC };
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		p = playing_at(INT64_MAX, INT64_MIN, 1e308);
		struct pb_change c = { .action = acts[i], .rate = 2.0 };
		playback_apply(&p, &c, now, now + 250);
		ck_assert(p.position_ms >= 0 && p.position_ms <= PB_POSITION_MAX_MS);
		ck_assert(p.rate >= PB_RATE_MIN && p.rate <= PB_RATE_MAX);
		ck_assert(p.updated_at_ms >= now && p.updated_at_ms <= now + 250);
		pos = playback_position(&p, INT64_MAX);
		ck_assert(pos >= 0 && pos <= PB_POSITION_MAX_MS);
	}
	/* updated_at_ms far in the future is taken as now; a change asks to
	 * be scheduled absurdly far ahead: it happens now */
	p = playing_at(1000, INT64_MAX, 1.0);
	struct pb_change c = { .action = PB_PLAY, .has_position = true, .position_ms = INT64_MAX };
	playback_apply(&p, &c, now, INT64_MAX);
	ck_assert_int_eq(p.updated_at_ms, now);
	ck_assert_int_eq(p.position_ms, PB_POSITION_MAX_MS);
	ck_assert_int_eq(playback_position(&p, now + 1000), PB_POSITION_MAX_MS);
	/* NaN and infinite rates */
	p = playing_at(0, now - 1000, NAN);
	playback_sanitize(&p, now);
	ck_assert(p.rate == 1.0);
	p.rate = 1.0 / 0.0;
	playback_sanitize(&p, now);
	ck_assert(p.rate == PB_RATE_MAX);
	ck_assert_int_eq(playback_position(&p, now), 4000);
}
END_TEST

/* The playback row read from a wider statement's columns (the ws auth
 * batch joins room_playback to the room row): its columns at an offset,
 * or the initial state when the LEFT JOIN found none or the row is short. */
START_TEST(test_playback_from_cols)
{
	char *cells[2 * 8] = { "7",       "x",    "https://e.test/v.mp4",
		               "playing", "1500", "1.5",
		               "9",       "1234", "7",
		               "x",       NULL,   NULL,
		               NULL,      NULL,   NULL,
		               NULL };
	size_t lens[2 * 8] = { 0 };
	struct yq_rows rows = { .nrows = 2, .ncols = 8, .cell = cells, .len = lens };
	struct yq_playback pb;

	yq_playback_from_cols(&rows, 0, 2, &pb);
	ck_assert_str_eq(pb.media_url, "https://e.test/v.mp4");
	ck_assert(pb.playing);
	ck_assert_int_eq(pb.position_ms, 1500);
	ck_assert(fabs(pb.rate - 1.5) < 1e-9);
	ck_assert_uint_eq(pb.version, 9);
	ck_assert_int_eq(pb.updated_at_ms, 1234);

	pb.version = 99;
	yq_playback_from_cols(&rows, 1, 2, &pb); /* no playback row joined */
	ck_assert_str_eq(pb.media_url, "");
	ck_assert(!pb.playing);
	ck_assert_uint_eq(pb.version, 0);
	ck_assert(fabs(pb.rate - 1.0) < 1e-9);

	pb.version = 99;
	yq_playback_from_cols(&rows, 0, 3, &pb); /* past the row's end */
	ck_assert_uint_eq(pb.version, 0);
	yq_playback_from_cols(&rows, 2, 2, &pb); /* past the last row */
	ck_assert_uint_eq(pb.version, 0);
}
END_TEST

static Suite *
playback_suite(void)
{
	Suite *s = suite_create("playback");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_position_extrapolates_while_playing);
	tcase_add_test(tc, test_position_stands_still_when_paused);
	tcase_add_test(tc, test_position_never_negative);
	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_change_without_position_continues);
	tcase_add_test(tc, test_event_payloads);
	tcase_add_test(tc, test_scheduled_ahead);
	tcase_add_test(tc, test_out_of_range_state_saturates);
	tcase_add_test(tc, test_playback_from_cols);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(playback_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
