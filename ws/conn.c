/*
 * conn.c - the lws protocol callback: a connection's life.
 *
 *   ESTABLISHED                 check the path (/ws or /ws/rooms/{id}) and
 *                               the Origin allow-list (refuse otherwise),
 *                               read the credentials (?ticket=, ?token=,
 *                               Authorization: Bearer) and hand them to the
 *                               database worker; the connection waits in
 *                               CONN_AUTH
 *   (worker result)             auth_done(): refuse with an error and a
 *                               close code, or attach it to its user and
 *                               room, replay missed notifications, send the
 *                               room snapshot
 *   RECEIVE                     assemble fragments up to ws.max_message
 *                               (1009 beyond), then protocol_handle()
 *   SERVER_WRITEABLE            one queued message per callback
 *   CLOSED                      detach; presence goes offline after grace
 *
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE is deliberately not handled
 * (CVE-2025-11677 in lws 4.1.6).
 */
#include "config.h"

#include "core/json.h"
#include "core/log.h"
#include "core/token.h"
#include "core/util.h"
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EARLY_MAX 16

struct pss {
	struct conn *c;
};

void
conn_send(struct conn *c, struct msg *m)
{
	if (c->state == CONN_CLOSING)
		return;
	if (sendq_push(&c->q, m, hub.wc.sendq_bytes, yq_mono_ms()) < 0) {
		/* a slow consumer: drop it rather than grow without bound */
		hub.dropped_slow++;
		hub.m.drops[DROP_SLOW_CONSUMER] += c->q.count + 1;
		metrics_count_close(WS_CLOSE_SLOW);
		yq_warn("dropping slow consumer (user %lld, %u messages queued)",
		        (long long)c->user_id, c->q.count);
		c->state = CONN_CLOSING;
		c->killed = true;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return;
	}
	lws_callback_on_writable(c->wsi);
}

void
conn_send_json(struct conn *c, json_object *o)
{
	struct msg *m = msg_from_json(o);

	json_object_put(o);
	if (m) {
		conn_send(c, m);
		msg_unref(m);
	}
}

void
conn_error(struct conn *c, const char *code, const char *message, json_object *ref)
{
	json_object *o = json_object_new_object();
	json_object *p = json_object_new_object();

	yq_json_add_str(o, "type", "error");
	yq_json_add_str(p, "code", code);
	yq_json_add_str(p, "message", message);
	json_object_object_add(o, "payload", p);
	if (ref)
		json_object_object_add(o, "ref", json_object_get(ref));
	conn_send_json(c, o);
}

/* Close after what is queued has been sent. */
void
conn_close(struct conn *c, int code, const char *reason)
{
	if (c->close_code)
		return;
	c->close_code = code;
	metrics_count_close(code);
	yq_strlcpy(c->close_reason, reason, sizeof(c->close_reason));
	lws_callback_on_writable(c->wsi);
}

static void
refuse(struct conn *c, int code, const char *errcode, const char *message)
{
	conn_error(c, errcode, message, NULL);
	conn_close(c, code, message);
}

/* ---- establishing ---- */

static int64_t
room_of_path(const char *path, bool *ok)
{
	*ok = true;
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 3 && strncmp(path, "/ws", 3) == 0)
		return 0;
	if (n > 10 && strncmp(path, "/ws/rooms/", 10) == 0) {
		int64_t id = 0;
		for (size_t i = 10; i < n; i++) {
			if (path[i] < '0' || path[i] > '9' || i - 10 > 17)
				goto bad;
			id = id * 10 + (path[i] - '0');
		}
		if (id > 0 && path[10] != '0')
			return id;
	}
bad:
	*ok = false;
	return 0;
}

/* The Origin allow-list.  No Origin header is a client that is not a
 * browser (allowed); an Origin that cannot be read whole (longer than any
 * listed origin could be, or a copy that fails) is refused, never taken
 * for "no header". */
#define ORIGIN_MAX 1024

static bool
origin_allowed(struct lws *wsi)
{
	char origin[ORIGIN_MAX + 1];
	int total = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);

	if (!hub.wc.allowed_origins[0])
		return true; /* no list configured */
	if (total == 0)
		return true; /* no Origin (not a browser) */
	if (total < 0 || total > ORIGIN_MAX)
		return false;
	int n = lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
	if (n != total)
		return false; /* unreadable: refused */
	const char *p = hub.wc.allowed_origins;
	size_t ol = (size_t)n;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t l = strcspn(p, ", ");
		if (l && l == ol && strncasecmp(p, origin, l) == 0)
			return true;
		p += l;
	}
	return false;
}

/* The room comes to life here as soon as someone asks for it (so the
 * presence and room events that arrive meanwhile are not lost) and stays
 * until the answer is back; once it has its member list, the worker skips
 * the member query. */
static void
submit_auth(struct conn *c, struct job *j)
{
	struct room *rm = j->room_id ? hub_room(j->room_id, true) : NULL;

	if (rm) {
		j->hold_room = true;
		j->skip_members = rm->members_loaded;
		rm->pending_auth++;
		c->auth_epoch = rm->epoch; /* before the worker reads membership */
	}
	dbworker_submit(j);
}

/* A room event that changes membership, roles or config reached this node
 * while the connection's membership was being read: the read may predate
 * it (and the event found no connection to act on), so read again, as the
 * user the credentials named.  Rounds are bounded: a room whose members
 * change faster than a read is answered 1013 (try again). */
#define AUTH_ROUNDS_MAX 8

static bool
recheck_auth(struct conn *c, const struct result *r, const struct room *held)
{
	if (!c || c->state != CONN_AUTH || c->close_code || r->status || !held ||
	    held->epoch == c->auth_epoch)
		return false;
	struct job *j = c->auth_rounds < AUTH_ROUNDS_MAX ? calloc(1, sizeof(*j)) : NULL;
	if (!j) {
		refuse(c, 1013, "internal", "the room is changing: try again shortly");
		return true;
	}
	c->auth_rounds++;
	j->kind = JOB_AUTH;
	j->recheck = true;
	j->uid = c->uid;
	j->room_id = held->id;
	j->user_id = r->user_id;
	j->last_id = c->last_id;
	submit_auth(c, j);
	return true;
}

static void
start_auth(struct conn *c, struct lws *wsi, int64_t room_id)
{
	char arg[600], token[YQ_TOKEN_MAX_LEN + 16];
	const char *v, *tok = NULL;
	struct job *j = calloc(1, sizeof(*j));

	if (!j) {
		refuse(c, 1011, "internal", "out of memory");
		return;
	}
	if (dbworker_busy(JOBQ_AUTH)) {
		free(j);
		refuse(c, 1013, "internal", "the server is busy: try again shortly");
		return;
	}
	j->kind = JOB_AUTH;
	j->uid = c->uid;
	j->room_id = room_id;
	j->last_id = -1;
	if ((v = lws_get_urlarg_by_name(wsi, "last_notification_id=", arg, sizeof(arg)))) {
		int64_t n;
		if (yq_parse_i64(v, 0, INT64_MAX, &n) == 0)
			j->last_id = n;
	}
	c->last_id = j->last_id;
	if ((v = lws_get_urlarg_by_name(wsi, "ticket=", arg, sizeof(arg)))) {
		if (yq_secret_hash(v, j->secret) < 0) {
			free(j);
			refuse(c, WS_CLOSE_BAD_TOKEN, "forbidden", "invalid or expired ticket");
			return;
		}
		j->flag = true;
		submit_auth(c, j);
		return;
	}
	if ((v = lws_get_urlarg_by_name(wsi, "token=", token, sizeof(token))))
		tok = v;
	else if (lws_hdr_copy(wsi, token, sizeof(token), WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
	         strncasecmp(token, "Bearer ", 7) == 0)
		tok = token + 7;
	struct yq_claims cl;
	const char *why = "missing";
	if (!tok || yq_token_verify(hub.cfg, tok, yq_now_ms() / 1000, &cl, &why) < 0) {
		free(j);
		refuse(c, WS_CLOSE_BAD_TOKEN, "forbidden", "invalid or expired token");
		return;
	}
	j->user_id = cl.sub;
	c->user_id = cl.sub; /* so a password change closes it while it authenticates */
	j->num = cl.ver;     /* checked against the user's token version */
	submit_auth(c, j);
}

static void
send_replay(struct conn *c, const struct result *r, enum lane lane)
{
	for (size_t i = 0; i < r->nreplay; i++) {
		struct msg *m = msg_new(r->replay[i], strlen(r->replay[i]));
		if (m) {
			m->lane = (unsigned char)lane;
			conn_send(c, m);
			msg_unref(m);
		}
	}
}

/* The snapshot, assembled as text: the room summary and recent messages
 * as the worker rendered them, the member list from the room's live list,
 * the playback state of this node. */
static void
send_snapshot(struct conn *c, const struct result *r)
{
	struct room *rm = c->room;
	struct yq_buf b = { 0 };
	json_object *pb = yq_playback_json(&rm->pb);
	int64_t now = yq_now_ms();
	size_t pblen;

	yq_json_add_int(pb, "position_now_ms", playback_position(&rm->pb, now));
	const char *pbs = yq_json_str(pb, &pblen);
	yq_buf_puts(&b, "{\"type\":\"room_event\",\"payload\":{\"event\":\"snapshot\",\"room\":");
	yq_buf_puts(&b, r->room_json ? r->room_json : "null");
	yq_buf_printf(&b, ",\"my_role\":\"%s\",\"members\":", yq_role_name(c->role));
	members_render(&rm->members, &b, c->user_id);
	yq_buf_puts(&b, ",\"playback\":");
	yq_buf_append(&b, pbs, pblen);
	yq_buf_puts(&b, ",\"recent_messages\":");
	yq_buf_puts(&b, r->recent_json ? r->recent_json : "[]");
	if (yq_buf_printf(&b, "},\"ts\":%lld}", (long long)now) == 0) {
		struct msg *m = msg_new(b.data, b.len);
		if (m) {
			m->lane = LANE_CONTROL;
			conn_send(c, m);
			msg_unref(m);
		}
	}
	json_object_put(pb);
	yq_buf_free(&b);
}

static void
auth_apply(struct conn *c, struct result *r)
{
	if (!c || c->state != CONN_AUTH || c->close_code)
		return; /* gone, or closed meanwhile (its sessions ended) */
	if (r->status) {
		const char *msg = r->status == WS_CLOSE_BAD_TOKEN ? "invalid or expired credentials"
		                  : r->status == WS_CLOSE_FORBIDDEN ? "not a member of this room"
		                  : r->status == WS_CLOSE_NOT_FOUND ? "no such room"
		                                                    : "internal error";
		refuse(c, r->status,
		       r->status == WS_CLOSE_NOT_FOUND ? "not_found"
		       : r->status == 1011             ? "internal"
		                                       : "forbidden",
		       msg);
		return;
	}
	struct user_entry *ue = map_get(&hub.users, r->user_id);
	if (hub.wc.max_conns_per_user && ue && ue->conns >= (int)hub.wc.max_conns_per_user) {
		/* exact: every attach happens here, on this thread */
		refuse(c, WS_CLOSE_ABUSE, "rate_limited", "too many connections for this user");
		return;
	}
	c->user_id = r->user_id;
	yq_strlcpy(c->username, r->username, sizeof(c->username));
	c->role = r->role;
	if (r->room_id) {
		struct room *known = hub_room(r->room_id, false);
		bool fresh = !known || !known->members_loaded;
		c->room = known ? known : hub_room(r->room_id, true);
		if (!c->room) {
			refuse(c, 1011, "internal", "out of memory");
			return;
		}
		/* the stored state may be newer than what this node has seen */
		if (fresh || r->pb.version > c->room->pb.version)
			c->room->pb = r->pb;
		if (fresh) {
			c->room->sync_playback = r->sync_playback;
			c->room->guest_control = r->guest_control;
			c->room->keep_chat_history = r->keep_chat_history;
		}
		if (!c->room->members_loaded && r->has_members) {
			struct room *rm = c->room;
			members_free(&rm->members); /* events seen before it had a list */
			rm->members = r->members;   /* adopted */
			memset(&r->members, 0, sizeof(r->members));
			rm->members_loaded = true;
			/* presence seen here since the list was read is newer */
			for (size_t i = 0; i < rm->nusers; i++)
				if (rm->users[i].conns || rm->users[i].remote)
					members_set_online(&rm->members, rm->users[i].user_id,
					                   true);
		}
		/* what the database says of the joiner now is the freshest (its
		 * presence changes in hub_attach) */
		members_add(&c->room->members, r->user_id, r->username, r->avatar_url, r->role,
		            false);
	}
	c->state = CONN_READY;
	c->last_rx_ms = yq_mono_ms(); /* the heartbeat clock starts when ready */
	/* A reconnect with last_notification_id gets what it missed first,
	 * then the snapshot; otherwise the snapshot is the first message and
	 * the unread notifications follow. */
	bool replay_first = r->replay_after;
	if (replay_first)
		send_replay(c, r, LANE_CONTROL);
	if (c->room)
		send_snapshot(c, r);
	if (!replay_first)
		send_replay(c, r, LANE_ROOM);
	hub_attach(c); /* presence: user_status goes out after the snapshot */
	if (c->room)
		c->presence_seq = c->room->presence_seq;
	/* then what the client sent while we were checking its credentials */
	for (size_t off = 0; off < c->early.len && c->state == CONN_READY;) {
		size_t n = strlen(c->early.data + off);
		protocol_handle(c, c->early.data + off, n);
		off += n + 1;
	}
	yq_buf_free(&c->early);
	c->nearly = 0;
}

/* The worker's verdict on a connection (which may have gone meanwhile). */
static void
auth_done(struct result *r)
{
	struct conn *c = map_get(&hub.conns, (int64_t)r->uid);
	struct room *held = r->held_room ? hub_room(r->held_room, false) : NULL;

	if (held)
		held->pending_auth--;
	if (!recheck_auth(c, r, held))
		auth_apply(c, r);
	if (held)
		hub_room_maybe_free(held);
}

static void
chat_saved(struct result *r)
{
	struct room *rm = hub_room(r->room_id, false);
	json_object *p = yq_chat_json(r->msg_id, r->room_id, r->user_id, r->username, r->text,
	                              r->created_at_ms);
	json_object *ref = r->ref[0] ? json_tokener_parse(r->ref) : NULL;
	struct conn *sender = map_get(&hub.conns, (int64_t)r->uid);
	if (rm)
		room_publish(rm, "chat_message", p, sender, ref);
	json_object_put(ref);
	json_object_put(p);
}

/* A playback change the worker applied and stored: adopt and broadcast. */
static void
playback_done(struct result *r)
{
	struct room *rm = hub_room(r->room_id, false);

	if (r->status) {
		/* the change was not made (the database failed or conflicted
		 * past its retries): a reply to its sender all the same */
		struct conn *sender = map_get(&hub.conns, (int64_t)r->uid);
		json_object *ref = r->ref[0] ? json_tokener_parse(r->ref) : NULL;
		if (sender)
			conn_error(sender, "internal", "the database is unavailable: try again",
			           ref);
		json_object_put(ref);
		return;
	}
	if (!rm)
		return;
	if (r->pb.version > rm->pb.version)
		rm->pb = r->pb;
	if (r->submitted_ms) {
		int64_t ms = yq_mono_ms() - r->submitted_ms;
		rm->db_ms = rm->db_ms ? (3 * rm->db_ms + ms) / 4 : ms;
	}
	json_object *p = json_tokener_parse(r->text);
	json_object *o = json_object_new_object();
	yq_json_add_str(o, "type", r->type);
	json_object_object_add(o, "payload", p);
	struct msg *m = msg_from_json(o);
	struct conn *sender = map_get(&hub.conns, (int64_t)r->uid);
	json_object *ref = r->ref[0] ? json_tokener_parse(r->ref) : NULL;
	if (m) {
		room_broadcast_timed(rm, m, ref ? sender : NULL);
		msg_unref(m);
	}
	if (ref && sender && sender->room == rm) {
		json_object_object_add(o, "ref", ref);
		conn_send_json(sender, json_object_get(o));
	} else {
		json_object_put(ref);
	}
	json_object_put(o);
}

static void
drain_results(void)
{
	struct result *r = dbworker_results();

	while (r) {
		struct result *nx = r->next;
		switch (r->kind) {
		case RES_AUTH: auth_done(r); break;
		case RES_CHAT_SAVED: chat_saved(r); break;
		case RES_PLAYBACK: playback_done(r); break;
		case RES_LIVE_NODES: hub_live_nodes(r->text); break;
		case RES_ID_BLOCK: hub_id_block((uint64_t)r->msg_id); break;
		case RES_EVENTS:
			for (unsigned i = 0; i < r->nevents; i++)
				hub_queue_event(&r->events[i]);
			break;
		}
		result_free(r);
		r = nx;
	}
}

/* ---- receiving ---- */

static int
receive(struct conn *c, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		c->rx_len = 0;
		c->rx_overflow = false;
	}
	if (c->rx_overflow || c->rx_len + len > hub.wc.max_message) {
		c->rx_overflow = true;
		metrics_count_close(LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		                 (unsigned char *)"message too large", 17);
		return -1;
	}
	if (c->rx_len + len + 1 > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : 512;
		while (cap < c->rx_len + len + 1)
			cap *= 2;
		char *p = realloc(c->rx, cap);
		if (!p)
			return -1;
		c->rx = p;
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	c->rx[c->rx_len] = '\0';
	c->last_rx_ms = yq_mono_ms();
	if (c->state == CONN_READY) {
		protocol_handle(c, c->rx, c->rx_len);
	} else if (c->state == CONN_AUTH) {
		/* keep a few (NUL-separated) until authentication is done */
		if (memchr(c->rx, '\0', c->rx_len))
			conn_error(c, "bad_request", "NUL byte in message", NULL);
		else if (c->nearly >= EARLY_MAX ||
		         c->early.len + c->rx_len + 1 > hub.wc.max_message ||
		         yq_buf_append(&c->early, c->rx, c->rx_len + 1) < 0)
			conn_error(c, "rate_limited", "too many messages before authentication",
			           NULL);
		else
			c->nearly++;
	}
	c->rx_len = 0;
	if (c->rx_cap > 8192) { /* a big message: do not keep its buffer */
		free(c->rx);
		c->rx = NULL;
		c->rx_cap = 0;
	}
	return 0;
}

/* Drain at socket speed: as many queued messages as the socket takes
 * without lws having to buffer, up to WRITE_BUDGET bytes per callback (so
 * one connection's backlog does not hold up the others). */
#define WRITE_BUDGET (256 * 1024)

static int
writeable(struct conn *c, struct lws *wsi)
{
	size_t budget = 0;
	struct msg *m;

	hub.writeables++;
	while (budget < WRITE_BUDGET && (m = sendq_pop(&c->q))) {
		int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
		budget += m->len;
		msg_unref(m);
		hub.sent++;
		if (n < 0)
			return -1;
		if (lws_partial_buffered(wsi))
			break;
	}
	if (c->q.count || (c->close_code && budget)) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->close_code) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
		                 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	return 0;
}

static void
conn_destroy(struct conn *c)
{
	if (c->state != CONN_AUTH)
		hub_detach(c);
	if (!c->close_code && !c->rx_overflow && !c->killed)
		metrics_count_close(0); /* the client or the network closed it */
	__atomic_sub_fetch(&hub.live_conns, 1, __ATOMIC_RELAXED);
	struct room *rm = c->room;
	map_del(&hub.conns, (int64_t)c->uid);
	sendq_clear(&c->q);
	free(c->rx);
	yq_buf_free(&c->early);
	free(c);
	if (rm)
		hub_room_maybe_free(rm);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss *pss = user;
	// cppcheck-suppress variableScope ; one buffer for several cases
	char path[256];
	bool ok;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* Refusals (path, Origin) are answered after the handshake with
		 * an error and a close code: dropping the TCP connection here
		 * would make a proxy in front count this node as failed and
		 * turn everybody away for a while. */
		return 0;
	case LWS_CALLBACK_ESTABLISHED: {
		struct conn *c = calloc(1, sizeof(*c));
		if (!c)
			return -1;
		c->wsi = wsi;
		c->uid = ++hub.next_uid;
		c->state = CONN_AUTH;
		c->last_rx_ms = c->since_ms = yq_mono_ms();
		pss->c = c;
		if (map_put(&hub.conns, (int64_t)c->uid, c) < 0) {
			free(c);
			pss->c = NULL;
			return -1;
		}
		if (__atomic_add_fetch(&hub.live_conns, 1, __ATOMIC_RELAXED) == 1)
			dbworker_tail_kick(); /* the tail may be in its long idle wait */
		path[0] = '\0';
		lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI);
		int64_t room_id = room_of_path(path, &ok);
		if (!ok)
			refuse(c, WS_CLOSE_NOT_FOUND, "not_found",
			       "no such endpoint: use /ws or /ws/rooms/{id}");
		else if (!origin_allowed(wsi))
			refuse(c, WS_CLOSE_FORBIDDEN, "forbidden", "origin not allowed");
		else
			start_auth(c, wsi, room_id);
		return 0;
	}
	case LWS_CALLBACK_RECEIVE: return pss->c ? receive(pss->c, wsi, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE: return pss->c ? writeable(pss->c, wsi) : -1;
	case LWS_CALLBACK_CLOSED:
		if (pss->c) {
			conn_destroy(pss->c);
			pss->c = NULL;
		}
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: drain_results(); return 0;
	default: return 0;
	}
}

const struct lws_protocols ws_protocols[] = {
	/* a small rx buffer keeps idle connections cheap; big messages
	 * simply arrive in more pieces */
	{ "yiqikan", callback, sizeof(struct pss), 1024, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};
