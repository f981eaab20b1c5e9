/*
 * protocol.c - the client messages of SPEC section 5, as a table.
 *
 * Each row, by type (ws/request.h): its handler, whether it needs a room
 * connection, the permission it needs (src/core/perm.c) and its
 * rate-limit class.  protocol_handle() parses strictly (src/core/json.c),
 * checks the envelope, the room, the rate and the permission in that
 * order, then the payload (request_parse in request.c: a typed, checked
 * struct request, or a refusal), and only then acts; every refusal is an
 * "error" message carrying the client's id as "ref", and the connection
 * stays open.  Adding a message type is a name and a parser in request.c,
 * one row and one handler here.
 */
#include "config.h"

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "ws/request.h"
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

/* A handler acts on a request its type's parser accepted (request.c). */
typedef void (*msg_handler)(struct conn *c, const struct request *rq, json_object *ref);

struct handler {
	msg_handler fn;
	bool needs_room;
	enum yq_action perm; /* YQ_ACT_NONE: anyone */
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

/* heart_beat: answer with the server's clock for offset estimation; keep
 * the sync health it carries (room connections). */
static void
h_heart_beat(struct conn *c, const struct request *rq, json_object *ref)
{
	const struct health *h = &rq->u.beat.health;

	if (c->room && (h->has_position || h->has_drift || h->has_rtt || h->has_buffering))
		room_health(c->room, c->user_id, h);
	json_object *o = json_object_new_object(), *r = json_object_new_object();
	yq_json_add_str(o, "type", "heart_beat");
	json_object_object_add(r, "client_ts", json_object_get(rq->u.beat.client_ts));
	yq_json_add_int(r, "server_ts", yq_now_ms());
	json_object_object_add(o, "payload", r);
	if (ref)
		json_object_object_add(o, "ref", json_object_get(ref));
	conn_send_json(c, o);
}

static void
h_chat(struct conn *c, const struct request *rq, json_object *ref)
{
	const char *text = rq->u.chat.text;
	size_t len = rq->u.chat.len;

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

/* Hand a validated change to the database worker: it applies it under the
 * room's playback row lock (one version sequence for every node), stores
 * it, queues it for the other nodes and sends the result back for the
 * broadcast here (playback_done in conn.c).  Refused while the room does
 * not share playback. */
static void
h_playback(struct conn *c, const struct request *rq, json_object *ref)
{
	const struct pb_change *chg = &rq->u.change;

	if (!c->room->sync_playback) {
		conn_error(c, "forbidden",
		           "sync_playback is off in this room: playback is not shared", ref);
		return;
	}
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
h_custom(struct conn *c, const struct request *rq, json_object *ref)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_get(rq->u.custom.name));
	json_object_object_add(o, "data", json_object_get(rq->u.custom.data));
	json_object_object_add(o, "by", by(c));
	room_publish(c->room, "custom_event", o, c, ref);
	json_object_put(o);
}

/* by enum req_type (request.h names them) */
static const struct handler handlers[REQ_COUNT] = {
	[REQ_HEART_BEAT] = { h_heart_beat, false, YQ_ACT_NONE, RL_NONE },
	[REQ_CHAT] = { h_chat, true, YQ_ACT_CHAT, RL_CHAT },
	[REQ_PLAY_CONTROL] = { h_playback, true, YQ_ACT_CONTROL, RL_CONTROL },
	[REQ_PROGRESS_SYNC] = { h_playback, true, YQ_ACT_CONTROL, RL_CONTROL },
	[REQ_CUSTOM_EVENT] = { h_custom, true, YQ_ACT_CUSTOM_EVENT, RL_CUSTOM },
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

/* Client messages by type (enum req_type), then unknown, invalid. */
static uint64_t counts_in[REQ_COUNT + 2];

void
protocol_metrics(struct yq_buf *b)
{
	for (size_t i = 0; i < YQ_ARRAY_LEN(counts_in); i++)
		yq_buf_printf(b, "yiqikan_ws_messages_in_total{type=\"%s\"} %llu\n",
		              i < REQ_COUNT    ? request_type_name((enum req_type)i)
		              : i == REQ_COUNT ? "unknown"
		                               : "invalid",
		              (unsigned long long)counts_in[i]);
}

void
protocol_handle(struct conn *c, const char *text, size_t len)
{
	struct envelope e;
	bool parsed = envelope_parse(&e, text, len) == 0;
	int t = parsed ? request_type(e.type) : -1;
	const struct handler *h = t >= 0 ? &handlers[t] : NULL;
	const struct request_limits lim = { .max_custom_event = hub.wc.max_custom_event };
	struct request rq;
	struct refusal why;

	counts_in[!parsed ? REQ_COUNT + 1 : h ? (size_t)t : REQ_COUNT]++;
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
	} else if (h->perm != YQ_ACT_NONE &&
	           !yq_perm_allowed(c->role, h->perm, c->room ? c->room->guest_control : false)) {
		hub.m.drops[DROP_FORBIDDEN]++;
		conn_error(c, "forbidden", "your role in this room does not allow that", e.ref);
	} else if (request_parse((enum req_type)t, e.payload, &lim, &rq, &why) < 0) {
		conn_error(c, why.code, why.message, e.ref);
	} else {
		h->fn(c, &rq, e.ref);
	}
	envelope_free(&e);
}
