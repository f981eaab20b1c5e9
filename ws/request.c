/*
 * request.c - validation of each client message type's payload
 * (request.h): pure functions of the payload and the limits.
 */
#include "config.h"

#include "core/json.h"
#include "core/util.h"
#include "ws/request.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

static const char *const names[REQ_COUNT] = {
	[REQ_HEART_BEAT] = "heart_beat",     [REQ_CHAT] = "chat_message",
	[REQ_PLAY_CONTROL] = "play_control", [REQ_PROGRESS_SYNC] = "progress_sync",
	[REQ_CUSTOM_EVENT] = "custom_event",
};

int
request_type(const char *name)
{
	for (int i = 0; i < REQ_COUNT; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *
request_type_name(enum req_type t)
{
	return t >= 0 && t < REQ_COUNT ? names[t] : "unknown";
}

static int
refuse(struct refusal *why, const char *code, const char *message)
{
	why->code = code;
	why->message = message;
	return -1;
}

#define BAD(why, msg) refuse((why), "bad_request", (msg))

/* ---- heart_beat ---- */

/* An optional whole number of milliseconds in [lo, hi] (a JSON number:
 * a fraction is rounded); 0 absent, 1 taken, -1 bad. */
static int
health_ms(json_object *p, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(p, key, &v))
		return 0;
	if (!v ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return -1;
	double d = json_object_get_double(v);
	if (!(d >= (double)lo - 0.5 && d <= (double)hi + 0.5))
		return -1;
	*out = json_object_is_type(v, json_type_int) ? json_object_get_int64(v)
	                                             : (int64_t)(d < 0 ? d - 0.5 : d + 0.5);
	return *out >= lo && *out <= hi ? 1 : -1;
}

/* The sync health a heart_beat may carry (doc/protocol.md has the ranges). */
static int
parse_health(json_object *p, struct health *h, struct refusal *why)
{
	static const struct {
		const char *key;
		int64_t lo, hi;
		size_t has, val;
		const char *why;
	} ms[] = {
#define MS(f, lo, hi, why) \
	{ #f "_ms", lo, hi, offsetof(struct health, has_##f), offsetof(struct health, f##_ms), why }
		MS(position, 0, PB_POSITION_MAX_MS,
		   "position_ms must be a number of milliseconds, 0 to 604800000 (7 days)"),
		MS(drift, -86400000, 86400000,
		   "drift_ms must be a number of milliseconds, -86400000 to 86400000"),
		MS(rtt, 0, 60000, "rtt_ms must be a number of milliseconds, 0 to 60000"),
#undef MS
	};
	json_object *b;

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < YQ_ARRAY_LEN(ms); i++) {
		int n = health_ms(p, ms[i].key, ms[i].lo, ms[i].hi,
		                  (int64_t *)(void *)((char *)h + ms[i].val));
		if (n < 0)
			return BAD(why, ms[i].why);
		*(bool *)((char *)h + ms[i].has) = n;
	}
	enum yq_jfield f = yq_json_field(p, "buffering", json_type_boolean, &b);
	if (f == YQ_JF_TYPE || f == YQ_JF_NULL)
		return BAD(why, "buffering must be true or false");
	if (f == YQ_JF_OK) {
		h->has_buffering = true;
		h->buffering = json_object_get_boolean(b);
	}
	return 0;
}

static int
parse_heart_beat(json_object *p, const struct request_limits *lim, struct request *rq,
                 struct refusal *why)
{
	if (yq_json_field(p, "client_ts", json_type_int, &rq->u.beat.client_ts) == YQ_JF_TYPE)
		return BAD(why, "client_ts must be an integer (epoch ms)");
	return parse_health(p, &rq->u.beat.health, why);
}

/* ---- chat_message ---- */

static int
parse_chat(json_object *p, const struct request_limits *lim, struct request *rq,
           struct refusal *why)
{
	json_object *t;

	if (yq_json_field(p, "text", json_type_string, &t) != YQ_JF_OK)
		return BAD(why, "text must be a string");
	rq->u.chat.text = json_object_get_string(t);
	rq->u.chat.len = (size_t)json_object_get_string_len(t);
	size_t chars = yq_utf8_chars(rq->u.chat.text, rq->u.chat.len);
	if (chars < 1 || chars > 2000)
		return BAD(why, "text must be 1 to 2000 characters");
	return 0;
}

/* ---- play_control, progress_sync ---- */

/* A position a client sends: an integer, 0 to PB_POSITION_MAX_MS. */
#define POSITION_WHY "position_ms must be an integer from 0 to 604800000 (7 days in ms)"

static bool
position_ok(json_object *pos)
{
	int64_t v = json_object_get_int64(pos);

	return v >= 0 && v <= PB_POSITION_MAX_MS;
}

static bool
http_url(const char *s, size_t len)
{
	if (len > 2048)
		return false;
	size_t skip = strncasecmp(s, "https://", 8) == 0  ? 8
	              : strncasecmp(s, "http://", 7) == 0 ? 7
	                                                  : 0;
	if (!skip || len <= skip)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static int
parse_play_control(json_object *p, const struct request_limits *lim, struct request *rq,
                   struct refusal *why)
{
	/* in enum pb_action order */
	static const char *const actions[] = { "play", "pause", "seek", "load", "rate" };
	struct pb_change *chg = &rq->u.change;
	json_object *a, *pos, *url, *rate;
	int act = -1;

	memset(chg, 0, sizeof(*chg));
	chg->rate = 1.0;
	if (yq_json_field(p, "action", json_type_string, &a) == YQ_JF_OK)
		for (int i = 0; i < (int)YQ_ARRAY_LEN(actions); i++)
			if (strcmp(json_object_get_string(a), actions[i]) == 0)
				act = i;
	if (act < 0)
		return BAD(why, "action must be play, pause, seek, load or rate");
	chg->action = (enum pb_action)act;
	enum yq_jfield fp = yq_json_field(p, "position_ms", json_type_int, &pos);
	if (fp == YQ_JF_TYPE || fp == YQ_JF_NULL || (fp == YQ_JF_MISSING && act <= PB_SEEK) ||
	    (pos && !position_ok(pos)))
		return BAD(why, POSITION_WHY);
	if (pos) {
		chg->has_position = true;
		chg->position_ms = json_object_get_int64(pos);
	}
	if (act == PB_LOAD) {
		if (yq_json_field(p, "media_url", json_type_string, &url) != YQ_JF_OK ||
		    !http_url(json_object_get_string(url), (size_t)json_object_get_string_len(url)))
			return BAD(why, "load needs media_url, an http(s) URL");
		yq_strlcpy(chg->media_url, json_object_get_string(url), sizeof(chg->media_url));
	}
	if (act == PB_RATE) {
		if (yq_json_field(p, "rate", json_type_double, &rate) != YQ_JF_OK &&
		    yq_json_field(p, "rate", json_type_int, &rate) != YQ_JF_OK)
			return BAD(why, "rate must be a number");
		chg->rate = json_object_get_double(rate);
		if (!(chg->rate >= PB_RATE_MIN && chg->rate <= PB_RATE_MAX))
			return BAD(why, "rate must be between 0.25 and 4");
	}
	return 0;
}

static int
parse_progress_sync(json_object *p, const struct request_limits *lim, struct request *rq,
                    struct refusal *why)
{
	struct pb_change *chg = &rq->u.change;
	json_object *pos, *st;

	memset(chg, 0, sizeof(*chg));
	chg->action = PB_SYNC;
	chg->has_position = true;
	chg->rate = 1.0;
	if (yq_json_field(p, "position_ms", json_type_int, &pos) != YQ_JF_OK || !position_ok(pos))
		return BAD(why, POSITION_WHY);
	if (yq_json_field(p, "state", json_type_string, &st) != YQ_JF_OK ||
	    (strcmp(json_object_get_string(st), "playing") != 0 &&
	     strcmp(json_object_get_string(st), "paused") != 0))
		return BAD(why, "state must be playing or paused");
	chg->position_ms = json_object_get_int64(pos);
	chg->playing = strcmp(json_object_get_string(st), "playing") == 0;
	return 0;
}

/* ---- custom_event ---- */

static int
parse_custom(json_object *p, const struct request_limits *lim, struct request *rq,
             struct refusal *why)
{
	json_object *name, *data = NULL;
	size_t cost = 0;

	if (yq_json_field(p, "name", json_type_string, &name) != YQ_JF_OK ||
	    json_object_get_string_len(name) < 1 || json_object_get_string_len(name) > 64)
		return BAD(why, "name must be a string of 1 to 64 characters");
	json_object_object_get_ex(p, "data", &data);
	if (data)
		json_object_to_json_string_length(data, JSON_C_TO_STRING_PLAIN, &cost);
	if (cost > lim->max_custom_event)
		return refuse(why, "too_large", "data is larger than ws.max_custom_event bytes");
	rq->u.custom.name = name;
	rq->u.custom.data = data;
	rq->u.custom.cost = cost;
	return 0;
}

static int (*const parsers[REQ_COUNT])(json_object *p, const struct request_limits *lim,
                                       struct request *rq, struct refusal *why) = {
	[REQ_HEART_BEAT] = parse_heart_beat,     [REQ_CHAT] = parse_chat,
	[REQ_PLAY_CONTROL] = parse_play_control, [REQ_PROGRESS_SYNC] = parse_progress_sync,
	[REQ_CUSTOM_EVENT] = parse_custom,
};

int
request_parse(enum req_type t, json_object *payload, const struct request_limits *lim,
              struct request *out, struct refusal *why)
{
	memset(out, 0, sizeof(*out));
	out->type = t;
	if (t < 0 || t >= REQ_COUNT)
		return BAD(why, "unknown message type");
	return parsers[t](payload, lim, out, why);
}
