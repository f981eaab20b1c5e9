/*
 * test_flow.c - unit tests for ws/flow.c: the send queue (order,
 * growth, references, the slow-consumer rules, lanes: control before room
 * before presence, a presence burst never makes a member slow), the envelope check of
 * client messages, the 64-bit key map and the token bucket.
 *
 * Map: put/get/del, many keys across growth, negative and huge keys,
 * deleting while iterating with MAP_EACH.  Bucket: a full burst passes,
 * the next event is refused, tokens come back at the rate, never beyond
 * the burst.
 */
#include "config.h"

#include "ws/ws.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

static struct msg *
mk(size_t len)
{
	char buf[4096];

	memset(buf, 'x', len < sizeof(buf) ? len : sizeof(buf));
	return msg_new(buf, len < sizeof(buf) ? len : sizeof(buf));
}

START_TEST(test_sendq_order_growth_refs)
{
	struct sendq q = { 0 };
	struct msg *m[100];

	for (int i = 0; i < 100; i++) {
		m[i] = mk(10);
		ck_assert_int_eq(sendq_push(&q, m[i], 1 << 20, 0), 0);
		ck_assert_int_eq(m[i]->refs, 2);
	}
	ck_assert_uint_eq(q.count, 100);
	ck_assert_uint_eq(q.bytes, 1000);
	/* pop half, push more: the ring wraps and grows and keeps the order */
	for (int i = 0; i < 50; i++) {
		struct msg *p = sendq_pop(&q);
		ck_assert_ptr_eq(p, m[i]);
		msg_unref(p);
	}
	struct msg *more[200];
	for (int i = 0; i < 200; i++) {
		more[i] = mk(1);
		ck_assert_int_eq(sendq_push(&q, more[i], 1 << 20, 0), 0);
	}
	for (int i = 50; i < 100; i++) {
		struct msg *p = sendq_pop(&q);
		ck_assert_ptr_eq(p, m[i]);
		msg_unref(p);
	}
	for (int i = 0; i < 200; i++) {
		struct msg *p = sendq_pop(&q);
		ck_assert_ptr_eq(p, more[i]);
		msg_unref(p);
	}
	ck_assert_ptr_null(sendq_pop(&q));
	ck_assert_uint_eq(q.bytes, 0);
	for (int i = 0; i < 100; i++)
		msg_unref(m[i]);
	for (int i = 0; i < 200; i++)
		msg_unref(more[i]);
	sendq_clear(&q);
}
END_TEST

START_TEST(test_sendq_slow_consumer_rules)
{
	struct sendq q = { 0 };
	struct msg *m = mk(1000);

	/* soft limit 2500: the 3rd message passes it, which is fine for now */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sendq_push(&q, m, 2500, 1000), 0);
	ck_assert_int_eq(q.over_since_ms, 1000);
	/* still above after the grace: slow */
	ck_assert_int_eq(sendq_push(&q, m, 2500, 1000 + SENDQ_SLOW_GRACE_MS - 1), 0);
	ck_assert_int_eq(sendq_push(&q, m, 2500, 1000 + SENDQ_SLOW_GRACE_MS + 1), -1);
	ck_assert_uint_eq(q.count, 4);
	/* drained below the limit: the clock restarts */
	for (int i = 0; i < 3; i++)
		msg_unref(sendq_pop(&q));
	ck_assert_int_eq(sendq_push(&q, m, 2500, 9000), 0);
	ck_assert_int_eq(q.over_since_ms, 0);
	sendq_clear(&q);
	/* four times the soft limit at once: slow at any age */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(sendq_push(&q, m, 1000, 0), 0);
	ck_assert_int_eq(sendq_push(&q, m, 1000, 0), -1);
	sendq_clear(&q);
	/* SENDQ_MAX messages, however small */
	struct msg *tiny = mk(1);
	for (int i = 0; i < SENDQ_MAX; i++)
		ck_assert_int_eq(sendq_push(&q, tiny, 1 << 30, 0), 0);
	ck_assert_int_eq(sendq_push(&q, tiny, 1 << 30, 0), -1);
	ck_assert_int_eq(tiny->refs, SENDQ_MAX + 1);
	sendq_clear(&q);
	ck_assert_int_eq(tiny->refs, 1);
	ck_assert_int_eq(m->refs, 1);
	msg_unref(tiny);
	msg_unref(m);
}
END_TEST

static struct msg *
mk_lane(size_t len, enum lane lane)
{
	struct msg *m = mk(len);

	m->lane = (unsigned char)lane;
	return m;
}

START_TEST(test_sendq_lanes_priority_and_order)
{
	struct sendq q = { 0 };
	struct msg *pres[3], *room[3], *ctl[3];

	/* interleaved pushes: presence, room, control, ... */
	for (int i = 0; i < 3; i++) {
		pres[i] = mk_lane(5, LANE_PRESENCE);
		room[i] = mk_lane(7, LANE_ROOM);
		ctl[i] = mk_lane(11, LANE_CONTROL);
		ck_assert_int_eq(sendq_push(&q, pres[i], 1 << 20, 0), 0);
		ck_assert_int_eq(sendq_push(&q, room[i], 1 << 20, 0), 0);
		ck_assert_int_eq(sendq_push(&q, ctl[i], 1 << 20, 0), 0);
	}
	ck_assert_uint_eq(q.count, 9);
	ck_assert_uint_eq(q.bytes, 3 * (5 + 7 + 11));
	ck_assert_uint_eq(q.presence_bytes, 15);
	/* control first, then room, then presence; each lane in order */
	struct msg *want[9] = { ctl[0],  ctl[1],  ctl[2],  room[0], room[1],
		                room[2], pres[0], pres[1], pres[2] };
	for (int i = 0; i < 9; i++) {
		struct msg *p = sendq_pop(&q);
		ck_assert_ptr_eq(p, want[i]);
		msg_unref(p);
		if (i == 3) {
			/* a control message that comes later still goes next */
			struct msg *late = mk_lane(3, LANE_CONTROL);
			ck_assert_int_eq(sendq_push(&q, late, 1 << 20, 0), 0);
			struct msg *p2 = sendq_pop(&q);
			ck_assert_ptr_eq(p2, late);
			msg_unref(p2);
			msg_unref(late);
		}
	}
	ck_assert_ptr_null(sendq_pop(&q));
	ck_assert_uint_eq(q.bytes, 0);
	ck_assert_uint_eq(q.presence_bytes, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(pres[i]->refs, 1);
		msg_unref(pres[i]);
		msg_unref(room[i]);
		msg_unref(ctl[i]);
	}
	sendq_clear(&q);
}
END_TEST

START_TEST(test_sendq_presence_burst_is_not_slow)
{
	struct sendq q = { 0 };
	struct msg *p = mk_lane(100, LANE_PRESENCE), *r = mk_lane(100, LANE_ROOM);

	/* a burst of presence the server caused: more than the soft count,
	 * well past the grace, and room traffic still queues */
	for (int i = 0; i < SENDQ_SOFT_COUNT; i++)
		ck_assert_int_eq(sendq_push(&q, p, 1 << 20, i), 0);
	ck_assert_int_eq(q.over_since_ms, 0);
	ck_assert_int_eq(sendq_push(&q, r, 1 << 20, 10 * SENDQ_SLOW_GRACE_MS), 0);
	ck_assert_int_eq(q.over_since_ms, 0);
	/* the presence lane has its own cap */
	ck_assert_int_eq(sendq_push(&q, p, 1 << 20, 0), -1);
	ck_assert_uint_eq(q.lane[LANE_PRESENCE].count, SENDQ_PRESENCE_MAX);
	sendq_clear(&q);
	/* room traffic alone keeps the old rule: past the soft count for
	 * longer than the grace is slow */
	for (int i = 0; i < SENDQ_SOFT_COUNT; i++)
		ck_assert_int_eq(sendq_push(&q, r, 1 << 20, 1000), 0);
	ck_assert_int_eq(sendq_push(&q, r, 1 << 20, 1000), 0);
	ck_assert_int_eq(q.over_since_ms, 1000);
	ck_assert_int_eq(sendq_push(&q, r, 1 << 20, 1001 + SENDQ_SLOW_GRACE_MS), -1);
	sendq_clear(&q);
	ck_assert_int_eq(p->refs, 1);
	ck_assert_int_eq(r->refs, 1);
	msg_unref(p);
	msg_unref(r);
}
END_TEST

START_TEST(test_msg_lanes_by_type)
{
	ck_assert_int_eq(msg_lane_of("play_control"), LANE_CONTROL);
	ck_assert_int_eq(msg_lane_of("progress_sync"), LANE_CONTROL);
	ck_assert_int_eq(msg_lane_of("user_status"), LANE_PRESENCE);
	ck_assert_int_eq(msg_lane_of("presence"), LANE_PRESENCE);
	ck_assert_int_eq(msg_lane_of("sync_health"), LANE_PRESENCE);
	ck_assert_int_eq(msg_lane_of("chat_message"), LANE_ROOM);
	ck_assert_int_eq(msg_lane_of("room_event"), LANE_ROOM);
	ck_assert_int_eq(msg_lane_of("error"), LANE_ROOM);
	ck_assert_int_eq(msg_lane_of(NULL), LANE_ROOM);
	json_object *o = json_tokener_parse("{\"type\":\"play_control\",\"payload\":{}}");
	struct msg *m = msg_from_json(o);
	ck_assert_int_eq(m->lane, LANE_CONTROL);
	msg_unref(m);
	json_object_put(o);
}
END_TEST

static int
parse(const char *text, struct envelope *e)
{
	return envelope_parse(e, text, strlen(text));
}

START_TEST(test_envelope_good)
{
	struct envelope e;

	ck_assert_int_eq(
	        parse("{\"type\":\"chat_message\",\"id\":\"c1\",\"payload\":{\"text\":\"hi\"}}",
	              &e),
	        0);
	ck_assert_str_eq(e.type, "chat_message");
	ck_assert_str_eq(json_object_get_string(e.ref), "c1");
	ck_assert(json_object_is_type(e.payload, json_type_object));
	envelope_free(&e);
	/* no payload: an empty object; integer ids */
	ck_assert_int_eq(parse("{\"type\":\"heart_beat\",\"id\":7}", &e), 0);
	ck_assert(json_object_is_type(e.payload, json_type_object));
	ck_assert_int_eq(json_object_object_length(e.payload), 0);
	ck_assert_int_eq(json_object_get_int(e.ref), 7);
	envelope_free(&e);
}
END_TEST

START_TEST(test_envelope_bad)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"\"x\"",
		"null",
		"{\"type\":1}",
		"{\"payload\":{}}",
		"{\"type\":\"a\",\"payload\":[]}",
		"{\"type\":\"a\",\"payload\":null}",
		"{\"type\":\"a\",\"payload\":\"x\"}",
		"{\"type\":\"a\"} trailing",
		"{\"type\":\"a\\u0000b\"}",
	};
	struct envelope e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &e) == -1, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(e.error);
		envelope_free(&e);
	}
	/* the id is still echoed when the rest is wrong */
	ck_assert_int_eq(parse("{\"type\":5,\"id\":\"r9\"}", &e), -1);
	ck_assert_str_eq(json_object_get_string(e.ref), "r9");
	envelope_free(&e);
}
END_TEST

START_TEST(test_envelope_ids_that_are_not_echoed)
{
	static const char *const odd[] = {
		"{\"type\":\"a\",\"id\":true}",
		"{\"type\":\"a\",\"id\":{}}",
		"{\"type\":\"a\",\"id\":1.5}",
		"{\"type\":\"a\",\"id\":null}",
		"{\"type\":\"a\",\"id\":"
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
	};
	struct envelope e;

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		ck_assert_int_eq(parse(odd[i], &e), 0);
		ck_assert_ptr_null(e.ref);
		envelope_free(&e);
	}
}
END_TEST

START_TEST(test_map_basics)
{
	struct map m = { 0 };
	int a = 1, b = 2;

	ck_assert_ptr_null(map_get(&m, 5));
	ck_assert_int_eq(map_put(&m, 5, &a), 0);
	ck_assert_int_eq(map_put(&m, -7, &b), 0);
	ck_assert_int_eq(map_put(&m, INT64_MAX, &b), 0);
	ck_assert_ptr_eq(map_get(&m, 5), &a);
	ck_assert_ptr_eq(map_get(&m, -7), &b);
	ck_assert_ptr_eq(map_get(&m, INT64_MAX), &b);
	ck_assert_ptr_null(map_get(&m, 6));
	ck_assert_ptr_eq(map_del(&m, 5), &a);
	ck_assert_ptr_null(map_get(&m, 5));
	ck_assert_ptr_null(map_del(&m, 5));
	ck_assert_uint_eq(m.n, 2);
	map_free(&m);
	ck_assert_uint_eq(m.n, 0);
}
END_TEST

START_TEST(test_map_growth)
{
	struct map m = { 0 };
	static int vals[5000];

	for (int i = 0; i < 5000; i++)
		ck_assert_int_eq(map_put(&m, (int64_t)i * 1000003, &vals[i]), 0);
	ck_assert_uint_eq(m.n, 5000);
	for (int i = 0; i < 5000; i++)
		ck_assert_ptr_eq(map_get(&m, (int64_t)i * 1000003), &vals[i]);
	map_free(&m);
}
END_TEST

START_TEST(test_map_delete_while_iterating)
{
	struct map m = { 0 };
	static int vals[300];
	size_t seen = 0;

	for (int i = 0; i < 300; i++)
		map_put(&m, i, &vals[i]);
	MAP_EACH(&m, k, v, {
		ck_assert_ptr_eq(v, &vals[k]);
		seen++;
		if (k % 2 == 0)
			map_del(&m, k);
	});
	ck_assert_uint_eq(seen, 300);
	ck_assert_uint_eq(m.n, 150);
	for (int i = 0; i < 300; i++)
		ck_assert(map_get(&m, i) == (i % 2 ? &vals[i] : NULL));
	map_free(&m);
}
END_TEST

START_TEST(test_bucket_burst_then_rate)
{
	struct bucket b = { 0 };
	int64_t t = 1000000;

	for (int i = 0; i < 20; i++)
		ck_assert(bucket_take(&b, 10.0, 20.0, t));
	ck_assert(!bucket_take(&b, 10.0, 20.0, t));
	/* 10/s: one token per 100 ms */
	ck_assert(!bucket_take(&b, 10.0, 20.0, t + 50));
	ck_assert(bucket_take(&b, 10.0, 20.0, t + 100));
	ck_assert(!bucket_take(&b, 10.0, 20.0, t + 150));
	/* a long pause refills to the burst, not beyond */
	t += 100000;
	for (int i = 0; i < 20; i++)
		ck_assert(bucket_take(&b, 10.0, 20.0, t));
	ck_assert(!bucket_take(&b, 10.0, 20.0, t));
}
END_TEST

START_TEST(test_bucket_steady_rate)
{
	struct bucket b = { 0 };
	int passed = 0;

	/* 100 events/s offered for 10 s against 10/s with burst 20 */
	for (int i = 0; i < 1000; i++)
		passed += bucket_take(&b, 10.0, 20.0, 5000 + (int64_t)i * 10);
	ck_assert_int_ge(passed, 20 + 99 - 1);
	ck_assert_int_le(passed, 20 + 100 + 1);
}
END_TEST

static Suite *
flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sendq_order_growth_refs);
	tcase_add_test(tc, test_sendq_slow_consumer_rules);
	tcase_add_test(tc, test_sendq_lanes_priority_and_order);
	tcase_add_test(tc, test_sendq_presence_burst_is_not_slow);
	tcase_add_test(tc, test_msg_lanes_by_type);
	tcase_add_test(tc, test_envelope_good);
	tcase_add_test(tc, test_envelope_bad);
	tcase_add_test(tc, test_envelope_ids_that_are_not_echoed);
	tcase_add_test(tc, test_map_basics);
	tcase_add_test(tc, test_map_growth);
	tcase_add_test(tc, test_map_delete_while_iterating);
	tcase_add_test(tc, test_bucket_burst_then_rate);
	tcase_add_test(tc, test_bucket_steady_rate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flow_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
