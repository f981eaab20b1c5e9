/*
 * test_request.c - unit tests for ws/request.c, the validation of each
 * WebSocket message type's payload (SPEC section 5, doc/protocol.md).
 *
 * Every type: a valid payload gives the typed request it describes;
 * every refusal gives its code and the message the client sees; the
 * bounds are inclusive at both ends; the first failing field decides the
 * message (the order clients relied on before the split); type names map
 * both ways.
 */
#include "config.h"

#include "core/json.h"
#include "ws/request.h"

#include <check.h>
#include <string.h>

static const struct request_limits lim = { .max_custom_event = 16 };

/* Parse text as a payload of type t; 0 or -1 as request_parse.  The
 * payload is kept until the next call (requests borrow from it). */
static json_object *held;

static int
parse(enum req_type t, const char *text, struct request *rq, struct refusal *why)
{
	const char *err;

	json_object_put(held);
	held = yq_json_parse(text, strlen(text), &err);
	ck_assert_msg(held != NULL, "test payload %s does not parse", text);
	memset(why, 0, sizeof(*why));
	return request_parse(t, held, &lim, rq, why);
}

static void
refused(enum req_type t, const char *text, const char *code, const char *message)
{
	struct request rq;
	struct refusal why;

	ck_assert_msg(parse(t, text, &rq, &why) == -1, "%s accepted", text);
	ck_assert_str_eq(why.code, code);
	ck_assert_str_eq(why.message, message);
}

START_TEST(test_names)
{
	for (int i = 0; i < REQ_COUNT; i++)
		ck_assert_int_eq(request_type(request_type_name((enum req_type)i)), i);
	ck_assert_int_eq(request_type("chat_message"), REQ_CHAT);
	ck_assert_int_eq(request_type("chat"), -1);
	ck_assert_int_eq(request_type(""), -1);
	ck_assert_str_eq(request_type_name(REQ_COUNT), "unknown");
}
END_TEST

START_TEST(test_heart_beat)
{
	struct request rq;
	struct refusal why;

	ck_assert_int_eq(parse(REQ_HEART_BEAT, "{}", &rq, &why), 0);
	ck_assert_ptr_null(rq.u.beat.client_ts);
	ck_assert(!rq.u.beat.health.has_position && !rq.u.beat.health.has_buffering);
	ck_assert_int_eq(parse(REQ_HEART_BEAT,
	                       "{\"client_ts\": 17, \"position_ms\": 604800000, \"drift_ms\": "
	                       "-86400000, \"rtt_ms\": 12.6, \"buffering\": true}",
	                       &rq, &why),
	                 0);
	ck_assert_int_eq(json_object_get_int64(rq.u.beat.client_ts), 17);
	ck_assert(rq.u.beat.health.has_position && rq.u.beat.health.has_drift &&
	          rq.u.beat.health.has_rtt && rq.u.beat.health.has_buffering);
	ck_assert_int_eq(rq.u.beat.health.position_ms, 604800000);
	ck_assert_int_eq(rq.u.beat.health.drift_ms, -86400000);
	ck_assert_int_eq(rq.u.beat.health.rtt_ms, 13); /* rounded */
	ck_assert(rq.u.beat.health.buffering);
	/* client_ts null is no client_ts */
	ck_assert_int_eq(parse(REQ_HEART_BEAT, "{\"client_ts\": null}", &rq, &why), 0);
	ck_assert_ptr_null(rq.u.beat.client_ts);

	refused(REQ_HEART_BEAT, "{\"client_ts\": \"now\"}", "bad_request",
	        "client_ts must be an integer (epoch ms)");
	refused(REQ_HEART_BEAT, "{\"position_ms\": 604800001}", "bad_request",
	        "position_ms must be a number of milliseconds, 0 to 604800000 (7 days)");
	refused(REQ_HEART_BEAT, "{\"drift_ms\": 86400001}", "bad_request",
	        "drift_ms must be a number of milliseconds, -86400000 to 86400000");
	refused(REQ_HEART_BEAT, "{\"rtt_ms\": -1}", "bad_request",
	        "rtt_ms must be a number of milliseconds, 0 to 60000");
	refused(REQ_HEART_BEAT, "{\"rtt_ms\": null}", "bad_request",
	        "rtt_ms must be a number of milliseconds, 0 to 60000");
	refused(REQ_HEART_BEAT, "{\"buffering\": 1}", "bad_request",
	        "buffering must be true or false");
	/* the first bad field decides: client_ts before the health */
	refused(REQ_HEART_BEAT, "{\"client_ts\": [], \"rtt_ms\": -1}", "bad_request",
	        "client_ts must be an integer (epoch ms)");
}
END_TEST

START_TEST(test_chat)
{
	struct request rq;
	struct refusal why;
	char text[3 * 2000 + 16];

	ck_assert_int_eq(parse(REQ_CHAT, "{\"text\": \"你好\"}", &rq, &why), 0);
	ck_assert_uint_eq(rq.u.chat.len, 6);
	ck_assert(memcmp(rq.u.chat.text, "你好", 6) == 0);
	/* 2000 characters of 3 bytes each are fine, 2001 are not */
	size_t o = 0;
	memcpy(text + o, "{\"text\": \"", 10);
	o += 10;
	for (int i = 0; i < 2000; i++, o += 3)
		memcpy(text + o, "\xe5\xa5\xbd", 3);
	memcpy(text + o, "\"}", 3);
	ck_assert_int_eq(parse(REQ_CHAT, text, &rq, &why), 0);
	ck_assert_uint_eq(rq.u.chat.len, 6000);
	refused(REQ_CHAT, "{\"text\": \"\"}", "bad_request", "text must be 1 to 2000 characters");
	refused(REQ_CHAT, "{\"text\": 5}", "bad_request", "text must be a string");
	refused(REQ_CHAT, "{}", "bad_request", "text must be a string");
}
END_TEST

START_TEST(test_play_control)
{
	struct request rq;
	struct refusal why;

	ck_assert_int_eq(
	        parse(REQ_PLAY_CONTROL, "{\"action\": \"seek\", \"position_ms\": 0}", &rq, &why),
	        0);
	ck_assert_int_eq(rq.u.change.action, PB_SEEK);
	ck_assert(rq.u.change.has_position);
	ck_assert_int_eq(rq.u.change.position_ms, 0);
	ck_assert_int_eq(parse(REQ_PLAY_CONTROL,
	                       "{\"action\": \"load\", \"media_url\": \"HTTPS://x.test/a.m3u8\"}",
	                       &rq, &why),
	                 0);
	ck_assert_int_eq(rq.u.change.action, PB_LOAD);
	ck_assert(!rq.u.change.has_position);
	ck_assert_str_eq(rq.u.change.media_url, "HTTPS://x.test/a.m3u8");
	ck_assert_int_eq(parse(REQ_PLAY_CONTROL, "{\"action\": \"rate\", \"rate\": 4}", &rq, &why),
	                 0);
	ck_assert(rq.u.change.rate == 4.0);
	ck_assert_int_eq(
	        parse(REQ_PLAY_CONTROL, "{\"action\": \"rate\", \"rate\": 0.25}", &rq, &why), 0);
	ck_assert(rq.u.change.rate == 0.25);

	refused(REQ_PLAY_CONTROL, "{\"action\": \"stop\"}", "bad_request",
	        "action must be play, pause, seek, load or rate");
	refused(REQ_PLAY_CONTROL, "{\"action\": \"play\"}", "bad_request",
	        "position_ms must be an integer from 0 to 604800000 (7 days in ms)");
	refused(REQ_PLAY_CONTROL, "{\"action\": \"pause\", \"position_ms\": 604800001}",
	        "bad_request", "position_ms must be an integer from 0 to 604800000 (7 days in ms)");
	refused(REQ_PLAY_CONTROL, "{\"action\": \"seek\", \"position_ms\": 1.5}", "bad_request",
	        "position_ms must be an integer from 0 to 604800000 (7 days in ms)");
	refused(REQ_PLAY_CONTROL, "{\"action\": \"load\", \"media_url\": \"ftp://x\"}",
	        "bad_request", "load needs media_url, an http(s) URL");
	refused(REQ_PLAY_CONTROL, "{\"action\": \"load\", \"media_url\": \"http://\"}",
	        "bad_request", "load needs media_url, an http(s) URL");
	refused(REQ_PLAY_CONTROL, "{\"action\": \"load\", \"media_url\": \"http://a b\"}",
	        "bad_request", "load needs media_url, an http(s) URL");
	refused(REQ_PLAY_CONTROL, "{\"action\": \"rate\", \"rate\": \"2\"}", "bad_request",
	        "rate must be a number");
	refused(REQ_PLAY_CONTROL, "{\"action\": \"rate\", \"rate\": 4.01}", "bad_request",
	        "rate must be between 0.25 and 4");
}
END_TEST

START_TEST(test_progress_sync)
{
	struct request rq;
	struct refusal why;

	ck_assert_int_eq(
	        parse(REQ_PROGRESS_SYNC, "{\"position_ms\": 9, \"state\": \"playing\"}", &rq, &why),
	        0);
	ck_assert_int_eq(rq.u.change.action, PB_SYNC);
	ck_assert(rq.u.change.has_position && rq.u.change.playing);
	ck_assert_int_eq(rq.u.change.position_ms, 9);
	ck_assert_int_eq(
	        parse(REQ_PROGRESS_SYNC, "{\"position_ms\": 0, \"state\": \"paused\"}", &rq, &why),
	        0);
	ck_assert(!rq.u.change.playing);
	refused(REQ_PROGRESS_SYNC, "{\"state\": \"paused\"}", "bad_request",
	        "position_ms must be an integer from 0 to 604800000 (7 days in ms)");
	refused(REQ_PROGRESS_SYNC, "{\"position_ms\": 1, \"state\": \"stopped\"}", "bad_request",
	        "state must be playing or paused");
}
END_TEST

START_TEST(test_custom_event)
{
	struct request rq;
	struct refusal why;

	ck_assert_int_eq(
	        parse(REQ_CUSTOM_EVENT, "{\"name\": \"wave\", \"data\": [1, 2]}", &rq, &why), 0);
	ck_assert_str_eq(json_object_get_string(rq.u.custom.name), "wave");
	ck_assert_uint_eq(rq.u.custom.cost, 5); /* [1,2] */
	ck_assert_int_eq(parse(REQ_CUSTOM_EVENT, "{\"name\": \"n\"}", &rq, &why), 0);
	ck_assert_ptr_null(rq.u.custom.data);
	ck_assert_uint_eq(rq.u.custom.cost, 0);
	/* data of exactly the limit (16 bytes) passes, one more is too large */
	ck_assert_int_eq(parse(REQ_CUSTOM_EVENT, "{\"name\": \"n\", \"data\": \"abcdefghijklmn\"}",
	                       &rq, &why),
	                 0);
	refused(REQ_CUSTOM_EVENT, "{\"name\": \"n\", \"data\": \"abcdefghijklmno\"}", "too_large",
	        "data is larger than ws.max_custom_event bytes");
	refused(REQ_CUSTOM_EVENT, "{\"name\": \"\"}", "bad_request",
	        "name must be a string of 1 to 64 characters");
	refused(REQ_CUSTOM_EVENT,
	        "{\"name\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
	        "bad_request", "name must be a string of 1 to 64 characters");
}
END_TEST

static Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_heart_beat);
	tcase_add_test(tc, test_chat);
	tcase_add_test(tc, test_play_control);
	tcase_add_test(tc, test_progress_sync);
	tcase_add_test(tc, test_custom_event);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(request_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_object_put(held);
	return failed ? 1 : 0;
}
