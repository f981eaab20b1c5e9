/*
 * fuzz_request.c - libFuzzer target: the validation of each WebSocket
 * message handler's payload (request_parse in ws/request.c, linked
 * read-only, after envelope_parse in ws/flow.c), with no connection.
 *
 * Input: a whole client message, {"type": ..., "payload": ..., "id": ...}.
 * Oracles beyond the sanitizers:
 *   - a refusal names a known code and a message;
 *   - an accepted request holds what its type promises (text 1 to 2000
 *     characters, positions and rates within the bounds, an http(s) URL
 *     of at most 2048 bytes, a custom name of 1 to 64 bytes and data
 *     within the limit);
 *   - valid requests round-trip: the payload rebuilt from the request
 *     (every field it holds, in canonical form) parses to the same request.
 */
#include "config.h"

#include "core/json.h"
#include "core/util.h"
#include "ws/request.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

/* small, so the too_large path is reached too */
static const struct request_limits lim = { .max_custom_event = 256 };

static void
add_health(json_object *p, const struct health *h)
{
	if (h->has_position)
		yq_json_add_int(p, "position_ms", h->position_ms);
	if (h->has_drift)
		yq_json_add_int(p, "drift_ms", h->drift_ms);
	if (h->has_rtt)
		yq_json_add_int(p, "rtt_ms", h->rtt_ms);
	if (h->has_buffering)
		yq_json_add_bool(p, "buffering", h->buffering);
}

/* The canonical payload of an accepted request. */
static json_object *
rebuild(const struct request *rq)
{
	static const char *const actions[] = { "play", "pause", "seek", "load", "rate" };
	json_object *p = json_object_new_object();
	const struct pb_change *c = &rq->u.change;

	switch (rq->type) {
	case REQ_HEART_BEAT:
		if (rq->u.beat.client_ts)
			json_object_object_add(p, "client_ts",
			                       json_object_get(rq->u.beat.client_ts));
		add_health(p, &rq->u.beat.health);
		break;
	case REQ_CHAT:
		json_object_object_add(
		        p, "text",
		        json_object_new_string_len(rq->u.chat.text, (int)rq->u.chat.len));
		break;
	case REQ_PLAY_CONTROL:
		yq_json_add_str(p, "action", actions[c->action]);
		if (c->has_position)
			yq_json_add_int(p, "position_ms", c->position_ms);
		if (c->action == PB_LOAD)
			yq_json_add_str(p, "media_url", c->media_url);
		if (c->action == PB_RATE)
			json_object_object_add(p, "rate", json_object_new_double(c->rate));
		break;
	case REQ_PROGRESS_SYNC:
		yq_json_add_int(p, "position_ms", c->position_ms);
		yq_json_add_str(p, "state", c->playing ? "playing" : "paused");
		break;
	case REQ_CUSTOM_EVENT:
		json_object_object_add(p, "name", json_object_get(rq->u.custom.name));
		json_object_object_add(p, "data", json_object_get(rq->u.custom.data));
		break;
	case REQ_COUNT: abort();
	}
	return p;
}

static void
check_valid(const struct request *rq)
{
	const struct pb_change *c = &rq->u.change;
	const struct health *h = &rq->u.beat.health;
	size_t chars;

	switch (rq->type) {
	case REQ_HEART_BEAT:
		CHECK(!rq->u.beat.client_ts ||
		      json_object_is_type(rq->u.beat.client_ts, json_type_int));
		CHECK(!h->has_position ||
		      (h->position_ms >= 0 && h->position_ms <= PB_POSITION_MAX_MS));
		CHECK(!h->has_drift || (h->drift_ms >= -86400000 && h->drift_ms <= 86400000));
		CHECK(!h->has_rtt || (h->rtt_ms >= 0 && h->rtt_ms <= 60000));
		break;
	case REQ_CHAT:
		chars = yq_utf8_chars(rq->u.chat.text, rq->u.chat.len);
		CHECK(chars >= 1 && chars <= 2000);
		break;
	case REQ_PLAY_CONTROL:
		CHECK(c->action >= PB_PLAY && c->action <= PB_RATE);
		CHECK(c->has_position || c->action > PB_SEEK);
		/* fall through */
	case REQ_PROGRESS_SYNC:
		CHECK(!c->has_position ||
		      (c->position_ms >= 0 && c->position_ms <= PB_POSITION_MAX_MS));
		CHECK(rq->type == REQ_PLAY_CONTROL || (c->action == PB_SYNC && c->has_position));
		CHECK(c->action != PB_RATE || (c->rate >= PB_RATE_MIN && c->rate <= PB_RATE_MAX));
		if (c->action == PB_LOAD) {
			size_t n = strlen(c->media_url);
			CHECK(n > 7 && n <= 2048);
			CHECK(strncasecmp(c->media_url, "http://", 7) == 0 ||
			      strncasecmp(c->media_url, "https://", 8) == 0);
			for (size_t i = 0; i < n; i++)
				CHECK((unsigned char)c->media_url[i] > ' ' &&
				      c->media_url[i] != 0x7f);
		}
		break;
	case REQ_CUSTOM_EVENT:
		CHECK(json_object_get_string_len(rq->u.custom.name) >= 1 &&
		      json_object_get_string_len(rq->u.custom.name) <= 64);
		CHECK(rq->u.custom.cost <= lim.max_custom_event);
		break;
	case REQ_COUNT: abort();
	}
}

static bool
same_change(const struct pb_change *a, const struct pb_change *b)
{
	return a->action == b->action && a->has_position == b->has_position &&
	       (!a->has_position || a->position_ms == b->position_ms) &&
	       strcmp(a->media_url, b->media_url) == 0 && a->playing == b->playing &&
	       (a->rate == b->rate || (isnan(a->rate) && isnan(b->rate)));
}

static bool
same_health(const struct health *a, const struct health *b)
{
	return a->has_position == b->has_position && a->has_drift == b->has_drift &&
	       a->has_rtt == b->has_rtt && a->has_buffering == b->has_buffering &&
	       (!a->has_position || a->position_ms == b->position_ms) &&
	       (!a->has_drift || a->drift_ms == b->drift_ms) &&
	       (!a->has_rtt || a->rtt_ms == b->rtt_ms) &&
	       (!a->has_buffering || a->buffering == b->buffering);
}

static bool
same(const struct request *a, const struct request *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case REQ_HEART_BEAT:
		return !a->u.beat.client_ts == !b->u.beat.client_ts &&
		       (!a->u.beat.client_ts ||
		        json_object_get_int64(a->u.beat.client_ts) ==
		                json_object_get_int64(b->u.beat.client_ts)) &&
		       same_health(&a->u.beat.health, &b->u.beat.health);
	case REQ_CHAT:
		return a->u.chat.len == b->u.chat.len &&
		       memcmp(a->u.chat.text, b->u.chat.text, a->u.chat.len) == 0;
	case REQ_PLAY_CONTROL:
	case REQ_PROGRESS_SYNC: return same_change(&a->u.change, &b->u.change);
	case REQ_CUSTOM_EVENT:
		return strcmp(json_object_get_string(a->u.custom.name),
		              json_object_get_string(b->u.custom.name)) == 0 &&
		       a->u.custom.cost == b->u.custom.cost;
	case REQ_COUNT: break;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e;
	struct request rq, again;
	struct refusal why;

	if (envelope_parse(&e, (const char *)data, size) < 0) {
		envelope_free(&e);
		return 0;
	}
	int t = request_type(e.type);
	if (t < 0) {
		CHECK(strcmp(request_type_name(REQ_COUNT), "unknown") == 0);
		envelope_free(&e);
		return 0;
	}
	CHECK(strcmp(request_type_name((enum req_type)t), e.type) == 0);
	if (request_parse((enum req_type)t, e.payload, &lim, &rq, &why) < 0) {
		CHECK(why.message && *why.message);
		CHECK(strcmp(why.code, "bad_request") == 0 ||
		      (t == REQ_CUSTOM_EVENT && strcmp(why.code, "too_large") == 0));
	} else {
		check_valid(&rq);
		json_object *p = rebuild(&rq);
		/* through text, as a client would send it */
		size_t len;
		const char *text = yq_json_str(p, &len), *err;
		json_object *q = yq_json_parse(text, len, &err);
		CHECK(q);
		CHECK(request_parse((enum req_type)t, q, &lim, &again, &why) == 0);
		CHECK(same(&rq, &again));
		json_object_put(q);
		json_object_put(p);
	}
	envelope_free(&e);
	return 0;
}
