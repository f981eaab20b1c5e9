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
 *   SERVER_WRITEABLE            queued messages while the socket takes them
 *                               (writeable()); then the close frame, if one
 *                               was asked for, and a lingering close
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

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

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
	if (!c->hold_writes) /* else write_now() follows */
		lws_callback_on_writable(c->wsi);
}

static void write_now(struct conn *c);

void
conn_send_now(struct conn *c, struct msg *m)
{
	c->hold_writes = true;
	conn_send(c, m);
	write_now(c);
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
	c->close_reason = reason;
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
		j->auth.hold_room = true;
		j->auth.skip_members = rm->members_loaded;
		rm->pending_auth++;
		c->auth_epoch = rm->epoch; /* before the worker reads membership */
		j->auth.epoch = rm->epoch;
	}
	dbworker_submit(j);
}

/* A room event that changes membership, roles or config reached this node
 * while the connection's membership was being read: the read may predate
 * it (and the event found no connection to act on), so read again, as the
 * user the credentials named.  The same when the room still has no member
 * list (the one read with it was left because the epoch had moved).
 * Rounds are bounded: a room whose members change faster than a read is
 * answered 1013 (try again). */
#define AUTH_ROUNDS_MAX 8

static bool
recheck_auth(struct conn *c, const struct result *r, const struct room *held)
{
	if (!c || c->state != CONN_AUTH || c->close_code || r->auth.status || !held ||
	    (held->epoch == c->auth_epoch && held->members_loaded))
		return false;
	struct job *j = c->auth_rounds < AUTH_ROUNDS_MAX ? calloc(1, sizeof(*j)) : NULL;
	if (!j) {
		refuse(c, WS_CLOSE_TRY_AGAIN, "internal",
		       "the room is changing: try again shortly");
		return true;
	}
	c->auth_rounds++;
	j->kind = JOB_AUTH;
	j->auth.recheck = true;
	j->uid = c->uid;
	j->room_id = held->id;
	j->user_id = r->user_id;
	j->auth.last_id = c->last_id;
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
		refuse(c, WS_CLOSE_INTERNAL, "internal", "out of memory");
		return;
	}
	if (dbworker_busy(JOBQ_AUTH)) {
		free(j);
		refuse(c, WS_CLOSE_TRY_AGAIN, "internal", "the server is busy: try again shortly");
		return;
	}
	j->kind = JOB_AUTH;
	j->uid = c->uid;
	j->room_id = room_id;
	j->auth.last_id = -1;
	if ((v = lws_get_urlarg_by_name(wsi, "last_notification_id=", arg, sizeof(arg)))) {
		int64_t n;
		if (yq_parse_i64(v, 0, INT64_MAX, &n) == 0)
			j->auth.last_id = n;
	}
	c->last_id = j->auth.last_id;
	if ((v = lws_get_urlarg_by_name(wsi, "ticket=", arg, sizeof(arg)))) {
		if (yq_secret_hash(v, j->auth.ticket_hash) < 0) {
			free(j);
			refuse(c, WS_CLOSE_BAD_TOKEN, "forbidden", "invalid or expired ticket");
			return;
		}
		j->auth.by_ticket = true;
		submit_auth(c, j);
		return;
	}
	if ((v = lws_get_urlarg_by_name(wsi, "token=", token, sizeof(token))))
		tok = v;
	else if (lws_hdr_copy(wsi, token, sizeof(token), WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
	         strncasecmp(token, "Bearer ", 7) == 0)
		tok = token + 7;
	/* the token is checked on the auth thread (a storm's thousand
	 * signatures and claim parses are not this thread's work); a password
	 * change meanwhile is caught there (its token version) or at the
	 * attach (hub_send_missed) */
	if (!tok || strlen(tok) > YQ_TOKEN_MAX_LEN || !(j->text = strdup(tok))) {
		free(j);
		refuse(c, WS_CLOSE_BAD_TOKEN, "forbidden", "invalid or expired token");
		return;
	}
	submit_auth(c, j);
}

static void
send_replay(struct conn *c, const struct result *r, enum lane lane)
{
	for (size_t i = 0; i < r->auth.nreplay; i++) {
		struct msg *m = msg_new(r->auth.replay[i], strlen(r->auth.replay[i]));
		if (m) {
			m->lane = (unsigned char)lane;
			conn_send(c, m);
			msg_unref(m);
		}
	}
}

/* The snapshot, assembled as text: the room summary and recent messages
 * as the worker rendered them, the member list from the room's live list
 * (shared with every other snapshot of the same list: members_snapshot),
 * the playback state of this node. */
static void
send_snapshot(struct conn *c, const struct result *r)
{
	struct room *rm = c->room;
	struct yq_buf head = { 0 }, tail = { 0 };
	json_object *pb = yq_playback_json(&rm->pb);
	int64_t now = yq_now_ms();
	size_t pblen;

	yq_json_add_int(pb, "position_now_ms", playback_position(&rm->pb, now));
	const char *pbs = yq_json_str(pb, &pblen);
	yq_buf_puts(&head,
	            "{\"type\":\"room_event\",\"payload\":{\"event\":\"snapshot\",\"room\":");
	yq_buf_puts(&head, r->auth.room_json ? r->auth.room_json : "null");
	yq_buf_printf(&head, ",\"my_role\":\"%s\",\"members\":", yq_role_name(c->role));
	struct members *ms = &rm->members;
	size_t cap = hub.wc.snapshot_members;
	yq_buf_printf(&tail, ",\"members_total\":%zu,\"members_online\":%zu,\"members_partial\":%s",
	              ms->n, members_online(ms, c->user_id), cap && ms->n > cap ? "true" : "false");
	yq_buf_puts(&tail, ",\"playback\":");
	yq_buf_append(&tail, pbs, pblen);
	yq_buf_puts(&tail, ",\"recent_messages\":");
	yq_buf_puts(&tail, r->auth.recent_json ? r->auth.recent_json : "[]");
	if (yq_buf_printf(&tail, "},\"ts\":%lld}", (long long)now) == 0 && head.data) {
		struct msg *m = members_snapshot(ms, c->user_id, cap, hub.wc.snapshot_partial,
		                                 head.data, head.len, tail.data, tail.len);
		if (m) {
			m->lane = LANE_CONTROL;
			conn_send(c, m);
			msg_unref(m);
		}
	}
	json_object_put(pb);
	yq_buf_free(&head);
	yq_buf_free(&tail);
}

static int writeable(struct conn *c, struct lws *wsi);

/* Write what is queued now rather than at the next WRITEABLE: a
 * connection's first messages (the snapshot, the notifications: its
 * socket is new and empty) and playback commands (conn_send_now).  In a
 * join storm that turn of the loop took the service thread 80 ms
 * (doc/benchmarks.md, session 12).  Other messages wait for WRITEABLE,
 * so that what piles up leaves in as few segments as the socket allows
 * (writing every message at once cost a third of the deliveries at
 * saturation, session 11). */
static void
write_now(struct conn *c)
{
	c->hold_writes = false;
	if (!c->q.count && !c->q.partial)
		return;
	if (c->state != CONN_READY || c->close_code || lws_partial_buffered(c->wsi)) {
		if (c->state != CONN_CLOSING)
			lws_callback_on_writable(c->wsi); /* what conn_send did not ask */
		return;
	}
	/* writeable() asks for WRITEABLE itself when something is left */
	if (writeable(c, c->wsi) < 0) {
		c->state = CONN_CLOSING;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
}

static void
auth_apply(struct conn *c, struct result *r)
{
	if (!c || c->state != CONN_AUTH || c->close_code)
		return; /* gone, or closed meanwhile (its sessions ended) */
	if (r->auth.status) {
		const struct ws_close_text *t = ws_close_text(r->auth.status);
		refuse(c, r->auth.status, t->error, t->message);
		return;
	}
	struct user_entry *ue = map_get(&hub.users, r->user_id);
	if (hub.wc.max_conns_per_user && ue && ue->conns >= (int)hub.wc.max_conns_per_user) {
		/* exact: every attach happens here, on this thread */
		refuse(c, WS_CLOSE_ABUSE, "rate_limited", "too many connections for this user");
		return;
	}
	if (!hub_recent_covers(r->auth.events_seen)) {
		/* too much happened while it authenticated to know what it missed */
		refuse(c, WS_CLOSE_TRY_AGAIN, "internal", "the server is busy: try again shortly");
		return;
	}
	c->user_id = r->user_id;
	yq_strlcpy(c->username, r->auth.username, sizeof(c->username));
	c->role = r->auth.role;
	if (r->room_id) {
		/* the room came to life at submit_auth and has its list
		 * (room_loaded, or recheck_auth reads again) */
		c->room = hub_room(r->room_id, true);
		if (!c->room) {
			refuse(c, WS_CLOSE_INTERNAL, "internal", "out of memory");
			return;
		}
		/* the stored state may be newer than what this node has seen */
		if (r->auth.pb.version > c->room->pb.version)
			c->room->pb = r->auth.pb;
		/* what the database says of the joiner now is the freshest (its
		 * presence changes in hub_attach) */
		members_add(&c->room->members, r->user_id, r->auth.username, r->auth.avatar_url,
		            r->auth.role, false);
	}
	c->state = CONN_READY;
	c->last_rx_ms = yq_mono_ms(); /* the heartbeat clock starts when ready */
	c->hold_writes = true;        /* all of it is written at once below */
	/* A reconnect with last_notification_id gets what it missed first,
	 * then the snapshot; otherwise the snapshot is the first message and
	 * the unread notifications follow. */
	bool replay_first = r->auth.replay_after;
	if (replay_first)
		send_replay(c, r, LANE_CONTROL);
	if (c->room)
		send_snapshot(c, r);
	if (!replay_first)
		send_replay(c, r, LANE_ROOM);
	hub_send_missed(c, r->auth.events_seen); /* handled before it was attached */
	if (c->state == CONN_READY) {            /* else its sessions ended meanwhile */
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
	write_now(c);
}

/* A room's member list and state, read by a batch of connects to it (their
 * answers follow): taken when the room has no list yet and no event that
 * changes who may be in moved its epoch since the newest of those
 * connects asked (else their answers are read again, and so is the list). */
static void
room_loaded(struct result *r)
{
	struct room *rm = hub_room(r->room_id, false);

	if (!rm || rm->members_loaded || rm->epoch != r->room.epoch)
		return;
	members_free(&rm->members);    /* events seen before it had a list */
	rm->members = r->room.members; /* adopted */
	memset(&r->room.members, 0, sizeof(r->room.members));
	rm->members_loaded = true;
	/* presence seen here since the list was read is newer */
	for (size_t i = 0; i < rm->nusers; i++)
		if (rm->users[i].conns || rm->users[i].remote)
			members_set_online(&rm->members, rm->users[i].user_id, true);
	/* the stored state may be newer than what this node has seen */
	if (r->room.pb.version > rm->pb.version)
		rm->pb = r->room.pb;
	rm->sync_playback = r->room.sync_playback;
	rm->guest_control = r->room.guest_control;
	rm->keep_chat_history = r->room.keep_chat_history;
}

/* The worker's verdict on a connection (which may have gone meanwhile). */
static void
auth_done(struct result *r)
{
	struct conn *c = map_get(&hub.conns, (int64_t)r->uid);
	struct room *held = r->auth.held_room ? hub_room(r->auth.held_room, false) : NULL;

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
	json_object *p = yq_chat_json(r->chat.msg_id, r->room_id, r->user_id, r->chat.username,
	                              r->chat.text, r->chat.created_at_ms);
	json_object *ref = r->chat.ref[0] ? json_tokener_parse(r->chat.ref) : NULL;
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

	if (r->playback.status) {
		/* the change was not made (the database failed or conflicted
		 * past its retries): a reply to its sender all the same */
		struct conn *sender = map_get(&hub.conns, (int64_t)r->uid);
		json_object *ref = r->playback.ref[0] ? json_tokener_parse(r->playback.ref) : NULL;
		if (sender)
			conn_error(sender, "internal", "the database is unavailable: try again",
			           ref);
		json_object_put(ref);
		return;
	}
	if (!rm)
		return;
	if (r->playback.pb.version > rm->pb.version)
		rm->pb = r->playback.pb;
	if (r->playback.submitted_ms) {
		int64_t ms = yq_mono_ms() - r->playback.submitted_ms;
		rm->db_ms = rm->db_ms ? (3 * rm->db_ms + ms) / 4 : ms;
	}
	json_object *p = json_tokener_parse(r->playback.payload);
	json_object *o = json_object_new_object();
	yq_json_add_str(o, "type", r->playback.type);
	json_object_object_add(o, "payload", p);
	struct msg *m = msg_from_json(o);
	struct conn *sender = map_get(&hub.conns, (int64_t)r->uid);
	json_object *ref = r->playback.ref[0] ? json_tokener_parse(r->playback.ref) : NULL;
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
		case RES_ROOM: room_loaded(r); break;
		case RES_CHAT_SAVED: chat_saved(r); break;
		case RES_PLAYBACK: playback_done(r); break;
		case RES_LIVE_NODES: hub_live_nodes(r->live_nodes); break;
		case RES_ID_BLOCK: hub_id_block(r->id_block); break;
		case RES_EVENTS:
			for (unsigned i = 0; i < r->events.n; i++)
				hub_queue_event(&r->events.v[i]);
			break;
		}
		result_free(r);
		r = nx;
	}
}

/* ---- closing: the close frame, then a lingering close ----
 *
 * Closing a socket that still holds unread input makes the kernel answer
 * with a reset, and a client that is still writing (a flood, an oversized
 * message) then loses the close frame it was sent.  So, as nginx's
 * lingering close does, the close frame is written here, the sending side
 * shut down (a FIN right behind the frame), and a duplicate of the socket
 * kept and read to nothing until the client closes its side or
 * ws.linger_ms pass; lws closes its own descriptor as usual (the
 * duplicate keeps the socket open).  lws has no lingering close of its own:
 * it closes at once, or waits for the close acknowledgement while a
 * flooding client's data piles up unread. */
#define LINGER_MAX 1024

static struct {
	int fd;
	int64_t until_ms;
} lingering[LINGER_MAX];
static unsigned nlingering;

/* The close frame, then lingering; when that cannot be done (output still
 * buffered by lws, no room in the socket, too many lingering) lws sends
 * the frame and closes as before. */
static void
close_lingering(struct lws *wsi, int code, const char *reason)
{
	unsigned char f[4 + 123];
	size_t rl = strnlen(reason, sizeof(f) - 4);
	int fd = lws_get_socket_fd(wsi);
	ssize_t n = -1;

	if (fd >= 0 && !lws_partial_buffered(wsi) && nlingering < LINGER_MAX && hub.wc.linger_ms) {
		f[0] = 0x88; /* FIN, opcode close; a server's frames are not masked */
		f[1] = (unsigned char)(2 + rl);
		f[2] = (unsigned char)(code >> 8);
		f[3] = (unsigned char)(code & 0xff);
		memcpy(f + 4, reason, rl);
		n = send(fd, f, 4 + rl, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (n <= 0) {
		lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, rl);
		return;
	}
	int keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	shutdown(fd, SHUT_WR);
	if (keep >= 0) {
		lingering[nlingering].fd = keep;
		lingering[nlingering].until_ms = yq_mono_ms() + hub.wc.linger_ms;
		nlingering++;
	}
}

/* Up to LINGER_READ bytes per socket and sweep: a flooding client is held
 * back by TCP flow control meanwhile, not by a reset. */
#define LINGER_READ (1024 * 1024)

void
conn_linger_sweep(int64_t now_ms, bool all)
{
	char buf[16384];

	for (unsigned i = 0; i < nlingering;) {
		bool done = all || now_ms >= lingering[i].until_ms;
		for (size_t got = 0; !done && got < LINGER_READ;) {
			ssize_t n = recv(lingering[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				got += (size_t)n;
			else if (n == 0 ||
			         (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
				done = true; /* the client closed its side (or the socket failed) */
			else
				break;
		}
		if (!done) {
			i++;
			continue;
		}
		close(lingering[i].fd);
		lingering[i] = lingering[--nlingering];
	}
}

unsigned
conn_lingering(void)
{
	return nlingering;
}

/* ---- receiving ---- */

static int
receive(struct conn *c, struct lws *wsi, const void *in, size_t len)
{
	/* a connection being closed is not served any more (a flood would
	 * otherwise keep its queue, and the close behind it, from draining);
	 * one told 1001 still is: it may still send what it had to say */
	if (c->close_code && c->close_code != LWS_CLOSE_STATUS_GOINGAWAY)
		return 0;
	if (lws_is_first_fragment(wsi)) {
		c->rx_len = 0;
		c->rx_overflow = false;
	}
	if (c->rx_overflow || c->rx_len + len > hub.wc.max_message) {
		c->rx_overflow = true;
		metrics_count_close(LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
		close_lingering(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
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

/* A message of parts (a snapshot) goes out in fragments of at most
 * WRITE_CHUNK bytes copied from its pieces, one more whenever the socket
 * takes it: neither it nor lws holds a copy of the whole text per
 * connection. */
#define WRITE_CHUNK (16 * 1024)

static int
write_parts(struct conn *c, struct lws *wsi, struct msg *m, size_t *budget)
{
	// cppcheck-suppress unassignedVariable ; msg_copy fills it
	static unsigned char chunk[LWS_PRE + WRITE_CHUNK]; /* the service thread's */
	size_t off = c->q.partial_off;
	size_t n = msg_copy(m, off, chunk + LWS_PRE, WRITE_CHUNK);
	bool last = off + n >= m->len;
	int flags = (off ? LWS_WRITE_CONTINUATION : LWS_WRITE_TEXT) | (last ? 0 : LWS_WRITE_NO_FIN);
	int rc = lws_write(wsi, chunk + LWS_PRE, n, (enum lws_write_protocol)flags);

	*budget += n;
	if (last) {
		c->q.partial = NULL;
		c->q.partial_off = 0;
		msg_unref(m);
		hub.sent++;
	} else {
		c->q.partial = m;
		c->q.partial_off = off + n;
	}
	return rc;
}

/* Whole messages queued one behind the other go out in one write of at
 * most COALESCE_MAX bytes: their frames side by side (FIN, text, unmasked;
 * this server negotiates no extension), written raw (lws_write with
 * LWS_WRITE_HTTP on a WebSocket connection is lws_issue_raw, which
 * buffers what the socket does not take, as for any write).  At
 * saturation each message was a send() of its own and the kernel's TCP
 * path per send about half of the CPU a delivery cost. */
#define COALESCE_MAX  (16 * 1024)
#define COALESCE_MSGS 64
/* so a coalesced frame's length fits the 16-bit form */
_Static_assert(COALESCE_MAX <= 0xffff, "COALESCE_MAX above the 16-bit frame length");

static size_t
header_len(size_t len)
{
	return len < 126 ? 2 : 4;
}

static size_t
framed_len(const struct msg *m)
{
	return header_len(m->len) + m->len;
}

/* The header of a frame of len (< 65,536) bytes at h: its length. */
static size_t
frame_header(unsigned char *h, size_t len)
{
	h[0] = 0x81; /* FIN, text */
	if (header_len(len) == 2) {
		h[1] = (unsigned char)len;
	} else {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
	}
	return header_len(len);
}

/* m and the whole messages after it (sendq_peek), if it has any that fit;
 * 1 when it wrote, 0 when m is to go alone, -1 on a write error. */
static int
write_coalesced(struct conn *c, struct lws *wsi, struct msg *m, size_t *budget)
{
	// cppcheck-suppress unassignedVariable ; filled below
	static unsigned char out[LWS_PRE + COALESCE_MAX]; /* the service thread's */
	struct msg *taken[COALESCE_MSGS];
	struct msg *nx = sendq_peek(&c->q);
	size_t len = 0;
	unsigned k = 0;

	if (!nx || nx->parts || framed_len(m) + framed_len(nx) > COALESCE_MAX)
		return 0;
	for (struct msg *cur = m;;) {
		unsigned char *p = out + LWS_PRE + len;
		size_t h = frame_header(p, cur->len);
		memcpy(p + h, cur->buf + LWS_PRE, cur->len);
		len += h + cur->len;
		*budget += cur->len;
		taken[k++] = cur;
		nx = sendq_peek(&c->q);
		if (k == COALESCE_MSGS || *budget >= WRITE_BUDGET || !nx || nx->parts ||
		    len + framed_len(nx) > COALESCE_MAX)
			break;
		cur = sendq_pop(&c->q);
	}
	int n = lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP);
	for (unsigned i = 0; i < k; i++)
		msg_unref(taken[i]);
	hub.sent += k;
	hub.coalesced += k;
	return n < 0 ? -1 : 1;
}

static int
writeable(struct conn *c, struct lws *wsi)
{
	size_t budget = 0;
	struct msg *m;

	hub.writeables++;
	while (budget < WRITE_BUDGET && (m = c->q.partial ? c->q.partial : sendq_pop(&c->q))) {
		int n;
		if (m->parts) {
			n = write_parts(c, wsi, m, &budget);
		} else if ((n = write_coalesced(c, wsi, m, &budget)) != 0) {
			n = n < 0 ? -1 : 0;
		} else {
			n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
			budget += m->len;
			msg_unref(m);
			hub.sent++;
		}
		if (n < 0)
			return -1;
		if (lws_partial_buffered(wsi))
			break;
	}
	if (c->q.count || c->q.partial || (c->close_code && budget)) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->close_code) {
		close_lingering(wsi, c->close_code, c->close_reason);
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
		else if (hub.draining) /* accepted before the listener closed */
			conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
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
