/*
 * protocol.c - the client messages of SPEC section 5, as a table.
 *
 * Each row: the type, its handler, whether it needs a room connection,
 * the permission it needs (src/core/perm.c) and its rate-limit class.
 * protocol_handle() parses strictly (src/core/json.c), checks the
 * envelope, the room, the rate and the permission in that order, and
 * answers every refusal with an "error" message carrying the client's id
 * as "ref"; the connection stays open.  Adding a message type is one row
 * and one function.
 */
#include "config.h"

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef void (*msg_handler)(struct conn *c, json_object *payload, json_object *ref);

struct handler {
	const char *type;
	msg_handler fn;
	bool needs_room;
	enum yq_action perm; /* YQ_ACT_COUNT: anyone */
	enum rl_class rl;
};

static json_object *
by(const struct conn *c)
{
	json_object *o = json_object_new_object();

	yq_json_add_int(o, "id", c->user_id);
	yq_json_add_str(o, "username", c->username);
	return o;
}

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
parse_health(json_object *p, struct health *h, const char **why)
{
	json_object *b;
	int n;

	memset(h, 0, sizeof(*h));
	if ((n = health_ms(p, "position_ms", 0, PB_POSITION_MAX_MS, &h->position_ms)) < 0) {
		*why = "position_ms must be a number of milliseconds, 0 to 604800000 (7 days)";
		return -1;
	}
	h->has_position = n;
	if ((n = health_ms(p, "drift_ms", -86400000, 86400000, &h->drift_ms)) < 0) {
		*why = "drift_ms must be a number of milliseconds, -86400000 to 86400000";
		return -1;
	}
	h->has_drift = n;
	if ((n = health_ms(p, "rtt_ms", 0, 60000, &h->rtt_ms)) < 0) {
		*why = "rtt_ms must be a number of milliseconds, 0 to 60000";
		return -1;
	}
	h->has_rtt = n;
	enum yq_jfield f = yq_json_field(p, "buffering", json_type_boolean, &b);
	if (f == YQ_JF_TYPE || f == YQ_JF_NULL) {
		*why = "buffering must be true or false";
		return -1;
	}
	if (f == YQ_JF_OK) {
		h->has_buffering = true;
		h->buffering = json_object_get_boolean(b);
	}
	return 0;
}

/* heart_beat: answer with the server's clock for offset estimation; keep
 * the sync health it carries (room connections). */
static void
h_heart_beat(struct conn *c, json_object *p, json_object *ref)
{
	json_object *ts;
	struct health h;
	const char *why = NULL;

	if (yq_json_field(p, "client_ts", json_type_int, &ts) == YQ_JF_TYPE) {
		conn_error(c, "bad_request", "client_ts must be an integer (epoch ms)", ref);
		return;
	}
	if (parse_health(p, &h, &why) < 0) {
		conn_error(c, "bad_request", why, ref);
		return;
	}
	if (c->room && (h.has_position || h.has_drift || h.has_rtt || h.has_buffering))
		room_health(c->room, c->user_id, &h);
	json_object *o = json_object_new_object(), *r = json_object_new_object();
	yq_json_add_str(o, "type", "heart_beat");
	json_object_object_add(r, "client_ts", ts ? json_object_get(ts) : NULL);
	yq_json_add_int(r, "server_ts", yq_now_ms());
	json_object_object_add(o, "payload", r);
	if (ref)
		json_object_object_add(o, "ref", json_object_get(ref));
	conn_send_json(c, o);
}

static void
h_chat(struct conn *c, json_object *p, json_object *ref)
{
	json_object *t;

	if (yq_json_field(p, "text", json_type_string, &t) != YQ_JF_OK) {
		conn_error(c, "bad_request", "text must be a string", ref);
		return;
	}
	const char *text = json_object_get_string(t);
	size_t len = (size_t)json_object_get_string_len(t);
	size_t chars = yq_utf8_chars(text, len);
	if (chars < 1 || chars > 2000) {
		conn_error(c, "bad_request", "text must be 1 to 2000 characters", ref);
		return;
	}
	if (c->room->keep_chat_history) {
		/* stored first, so the broadcast carries the stored id */
		struct job *j = calloc(1, sizeof(*j));
		if (!j || !(j->text = strndup(text, len))) {
			free(j);
			conn_error(c, "internal", "out of memory", ref);
			return;
		}
		j->kind = JOB_CHAT;
		j->uid = c->uid;
		j->room_id = c->room->id;
		j->user_id = c->user_id;
		j->text_len = len;
		yq_strlcpy(j->chat.username, c->username, sizeof(j->chat.username));
		if (ref)
			yq_strlcpy(j->chat.ref, json_object_to_json_string(ref),
			           sizeof(j->chat.ref));
		dbworker_submit(j);
		return;
	}
	/* not stored: an id from this node's block, above any stored id and
	 * unique across nodes */
	uint64_t id = hub_volatile_id();
	if (!id) {
		conn_error(c, "internal", "chat is not ready yet, try again", ref);
		return;
	}
	json_object *o = yq_chat_json((long long)id, c->room->id, c->user_id, c->username, text,
	                              yq_now_ms());
	room_publish(c->room, "chat_message", o, c, ref);
	json_object_put(o);
}

static bool
playback_allowed(struct conn *c, json_object *ref)
{
	if (c->room->sync_playback)
		return true;
	conn_error(c, "forbidden", "sync_playback is off in this room: playback is not shared",
	           ref);
	return false;
}

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

/* Hand a validated change to the database worker: it applies it under the
 * room's playback row lock (one version sequence for every node), stores
 * it, queues it for the other nodes and sends the result back for the
 * broadcast here (playback_done in conn.c). */
static void
submit_change(struct conn *c, const struct pb_change *chg, json_object *ref)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j && !(j->playback.change = malloc(sizeof(*j->playback.change)))) {
		free(j);
		j = NULL;
	}
	if (!j) {
		conn_error(c, "internal", "out of memory", ref);
		return;
	}
	j->kind = JOB_PLAYBACK;
	j->uid = c->uid;
	j->playback.lead_ms = playback_scheduled(chg->action) ? room_command_lead(c->room) : 0;
	j->playback.submitted_ms = yq_mono_ms();
	j->room_id = c->room->id;
	j->user_id = c->user_id;
	yq_strlcpy(j->playback.username, c->username, sizeof(j->playback.username));
	*j->playback.change = *chg;
	if (ref)
		yq_strlcpy(j->playback.ref, json_object_to_json_string(ref),
		           sizeof(j->playback.ref));
	dbworker_submit(j);
}

static void
h_play_control(struct conn *c, json_object *p, json_object *ref)
{
	static const char *const names[] = { "play", "pause", "seek", "load", "rate" };
	struct pb_change chg = { .rate = 1.0 };
	json_object *a, *pos, *url, *rate;
	int act = -1;

	if (yq_json_field(p, "action", json_type_string, &a) == YQ_JF_OK)
		for (int i = 0; i < 5; i++)
			if (strcmp(json_object_get_string(a), names[i]) == 0)
				act = i;
	if (act < 0) {
		conn_error(c, "bad_request", "action must be play, pause, seek, load or rate", ref);
		return;
	}
	chg.action = (enum pb_action)act;
	enum yq_jfield fp = yq_json_field(p, "position_ms", json_type_int, &pos);
	if (fp == YQ_JF_TYPE || fp == YQ_JF_NULL || (fp == YQ_JF_MISSING && act <= PB_SEEK) ||
	    (pos && !position_ok(pos))) {
		conn_error(c, "bad_request", POSITION_WHY, ref);
		return;
	}
	if (pos) {
		chg.has_position = true;
		chg.position_ms = json_object_get_int64(pos);
	}
	if (act == PB_LOAD) {
		if (yq_json_field(p, "media_url", json_type_string, &url) != YQ_JF_OK ||
		    !http_url(json_object_get_string(url),
		              (size_t)json_object_get_string_len(url))) {
			conn_error(c, "bad_request", "load needs media_url, an http(s) URL", ref);
			return;
		}
		yq_strlcpy(chg.media_url, json_object_get_string(url), sizeof(chg.media_url));
	}
	if (act == PB_RATE) {
		if (yq_json_field(p, "rate", json_type_double, &rate) != YQ_JF_OK &&
		    yq_json_field(p, "rate", json_type_int, &rate) != YQ_JF_OK) {
			conn_error(c, "bad_request", "rate must be a number", ref);
			return;
		}
		chg.rate = json_object_get_double(rate);
		if (!(chg.rate >= PB_RATE_MIN && chg.rate <= PB_RATE_MAX)) {
			conn_error(c, "bad_request", "rate must be between 0.25 and 4", ref);
			return;
		}
	}
	if (playback_allowed(c, ref))
		submit_change(c, &chg, ref);
}

static void
h_progress_sync(struct conn *c, json_object *p, json_object *ref)
{
	struct pb_change chg = { .action = PB_SYNC, .has_position = true };
	json_object *pos, *st;

	if (yq_json_field(p, "position_ms", json_type_int, &pos) != YQ_JF_OK || !position_ok(pos)) {
		conn_error(c, "bad_request", POSITION_WHY, ref);
		return;
	}
	if (yq_json_field(p, "state", json_type_string, &st) != YQ_JF_OK ||
	    (strcmp(json_object_get_string(st), "playing") != 0 &&
	     strcmp(json_object_get_string(st), "paused") != 0)) {
		conn_error(c, "bad_request", "state must be playing or paused", ref);
		return;
	}
	chg.position_ms = json_object_get_int64(pos);
	chg.playing = strcmp(json_object_get_string(st), "playing") == 0;
	if (playback_allowed(c, ref))
		submit_change(c, &chg, ref);
}

static void
h_custom(struct conn *c, json_object *p, json_object *ref)
{
	json_object *name, *data = NULL;

	if (yq_json_field(p, "name", json_type_string, &name) != YQ_JF_OK ||
	    json_object_get_string_len(name) < 1 || json_object_get_string_len(name) > 64) {
		conn_error(c, "bad_request", "name must be a string of 1 to 64 characters", ref);
		return;
	}
	json_object_object_get_ex(p, "data", &data);
	size_t cost = 0;
	if (data)
		json_object_to_json_string_length(data, JSON_C_TO_STRING_PLAIN, &cost);
	if (cost > hub.wc.max_custom_event) {
		conn_error(c, "too_large", "data is larger than ws.max_custom_event bytes", ref);
		return;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_get(name));
	json_object_object_add(o, "data", json_object_get(data));
	json_object_object_add(o, "by", by(c));
	room_publish(c->room, "custom_event", o, c, ref);
	json_object_put(o);
}

static const struct handler handlers[] = {
	{ "heart_beat", h_heart_beat, false, YQ_ACT_COUNT, RL_NONE },
	{ "chat_message", h_chat, true, YQ_ACT_CHAT, RL_CHAT },
	{ "play_control", h_play_control, true, YQ_ACT_CONTROL, RL_CONTROL },
	{ "progress_sync", h_progress_sync, true, YQ_ACT_CONTROL, RL_CONTROL },
	{ "custom_event", h_custom, true, YQ_ACT_CUSTOM_EVENT, RL_CUSTOM },
};

/* Flood control: a refusal per excess message, and a close when a client
 * keeps at it (abuse_limit refusals within ten seconds). */
static bool
take(struct conn *c, struct bucket *b, double scale, json_object *ref)
{
	int64_t now = yq_mono_ms();

	if (bucket_take(b, hub.wc.rate * scale, hub.wc.burst * scale, now))
		return true;
	if (now - c->limited_since > 10000) {
		c->limited_since = now;
		c->limited = 0;
	}
	if (++c->limited >= hub.wc.abuse_limit) {
		conn_error(c, "rate_limited", "too many messages: closing", ref);
		conn_close(c, WS_CLOSE_ABUSE, "flooding");
	} else {
		conn_error(c, "rate_limited", "too many messages: slow down", ref);
	}
	return false;
}

static bool
rate_ok(struct conn *c, enum rl_class cls, json_object *ref)
{
	return cls == RL_NONE || take(c, &c->rl[cls], 1.0, ref);
}

/* Client messages by type (the handlers' order), then unknown, invalid. */
static uint64_t counts_in[YQ_ARRAY_LEN(handlers) + 2];

void
protocol_metrics(struct yq_buf *b)
{
	for (size_t i = 0; i < YQ_ARRAY_LEN(counts_in); i++)
		yq_buf_printf(b, "yiqikan_ws_messages_in_total{type=\"%s\"} %llu\n",
		              i < YQ_ARRAY_LEN(handlers)    ? handlers[i].type
		              : i == YQ_ARRAY_LEN(handlers) ? "unknown"
		                                            : "invalid",
		              (unsigned long long)counts_in[i]);
}

void
protocol_handle(struct conn *c, const char *text, size_t len)
{
	struct envelope e;
	const struct handler *h = NULL;
	bool parsed = envelope_parse(&e, text, len) == 0;

	for (size_t i = 0; parsed && i < YQ_ARRAY_LEN(handlers); i++)
		if (strcmp(handlers[i].type, e.type) == 0)
			h = &handlers[i];
	counts_in[!parsed ? YQ_ARRAY_LEN(handlers) + 1
	          : h     ? (size_t)(h - handlers)
	                  : YQ_ARRAY_LEN(handlers)]++;
	if (!take(c, &c->all, MSG_BUDGET, e.ref)) {
		/* every message counts, whatever it is (heart_beat, unknown,
		 * invalid): refused (and perhaps closing) */
		hub.m.drops[DROP_RATE_LIMITED]++;
	} else if (!parsed) {
		hub.m.drops[DROP_BAD_REQUEST]++;
		conn_error(c, "bad_request", e.error, e.ref);
	} else if (!h) {
		hub.m.drops[DROP_UNKNOWN_TYPE]++;
		conn_error(c, "unknown_type", "unknown message type", e.ref);
	} else if (h->needs_room && !c->room) {
		hub.m.drops[DROP_BAD_REQUEST]++;
		conn_error(c, "bad_request", "connect to /ws/rooms/{id} for room messages", e.ref);
	} else if (!rate_ok(c, h->rl, e.ref)) {
		hub.m.drops[DROP_RATE_LIMITED]++; /* refused (and perhaps closing) */
	} else if (h->rl != RL_NONE && dbworker_busy(JOBQ_ROOM)) {
		hub.m.drops[DROP_BUSY]++;
		conn_error(c, "rate_limited", "the server is busy: try again shortly", e.ref);
	} else if (h->perm != YQ_ACT_COUNT &&
	           !yq_perm_allowed(c->role, h->perm, c->room ? c->room->guest_control : false)) {
		hub.m.drops[DROP_FORBIDDEN]++;
		conn_error(c, "forbidden", "your role in this room does not allow that", e.ref);
	} else {
		h->fn(c, e.payload, e.ref);
	}
	envelope_free(&e);
}
