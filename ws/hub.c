/*
 * hub.c - who is connected to what on this node, and how events reach
 * them.
 *
 * Three maps, all touched only by the service thread: connections by id
 * (results from the database threads name connections by id), users by id
 * (the connections of each user, for notifications and presence) and rooms
 * by id (the live state of each room: settings, authoritative playback,
 * who is in it).  A room lives while someone here is connected to it.
 *
 * Presence: a user is online on this node while they hold a connection
 * here, and "in a room" while they hold a connection to that room.  Going
 * offline waits presence_grace_ms, so a reload or a quick reconnect does
 * not flap; user_status goes to the room when the room presence changes,
 * and the node's presence rows (table presence, refreshed every
 * presence.ttl/3) tell the REST side and the other nodes.
 *
 * Events from the queue, dispatched by type through two tables
 * (user_events, room_queue_events): notifications go to the user's
 * connections, room events and relayed room traffic to the room's
 * connections here (rows this node wrote itself are skipped: they were
 * fanned out when they happened).  A room event written by REST then acts
 * through a third table (room_events): kicks, departures and dissolutions
 * close the affected connections after the event is delivered, role and
 * config changes update the live state.  Every message is built with
 * json-c.
 */
#include "config.h"

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

struct hub hub;

/* ---- close codes ---- */

const struct ws_close_text *
ws_close_text(int code)
{
	static const struct ws_close_text texts[] = {
		{ WS_CLOSE_BAD_TOKEN, "forbidden", "invalid or expired credentials" },
		{ WS_CLOSE_FORBIDDEN, "forbidden", "not a member of this room" },
		{ WS_CLOSE_NOT_FOUND, "not_found", "no such room" },
		{ WS_CLOSE_INTERNAL, "internal", "internal error" },
	};
	static const struct ws_close_text other = { 0, "forbidden", "internal error" };

	for (size_t i = 0; i < YQ_ARRAY_LEN(texts); i++)
		if (texts[i].code == code)
			return &texts[i];
	return &other;
}

/* ---- rooms ---- */

struct room *
hub_room(int64_t id, bool create)
{
	struct room *rm = map_get(&hub.rooms, id);

	if (rm || !create)
		return rm;
	rm = calloc(1, sizeof(*rm));
	if (!rm)
		return NULL;
	rm->id = id;
	rm->pb.rate = 1.0;
	if (map_put(&hub.rooms, id, rm) < 0) {
		free(rm);
		return NULL;
	}
	return rm;
}

/* Free a room nobody here is in or about to leave. */
void
hub_room_maybe_free(struct room *rm)
{
	if (rm->conns.count || rm->pending_auth)
		return;
	for (size_t i = 0; i < rm->nusers; i++)
		if (rm->users[i].offline_at_ms)
			return;
	map_del(&hub.rooms, rm->id);
	free(rm->users);
	free(rm->pending);
	members_free(&rm->members);
	free(rm);
}

static struct room_user *
room_user(struct room *rm, int64_t user_id, bool create)
{
	for (size_t i = 0; i < rm->nusers; i++)
		if (rm->users[i].user_id == user_id)
			return &rm->users[i];
	if (!create)
		return NULL;
	if (rm->nusers == rm->capusers) {
		size_t cap = rm->capusers ? rm->capusers * 2 : 8;
		struct room_user *u = realloc(rm->users, cap * sizeof(*u));
		if (!u)
			return NULL;
		rm->users = u;
		rm->capusers = cap;
	}
	struct room_user *u = &rm->users[rm->nusers++];
	memset(u, 0, sizeof(*u));
	u->user_id = user_id;
	return u;
}

static void
room_user_remove(struct room *rm, struct room_user *u)
{
	*u = rm->users[--rm->nusers];
}

static void
send_to_room(struct room *rm, struct msg *m, const struct conn *except,
             void (*send)(struct conn *, struct msg *))
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&rm->conns))
	{
		struct conn *c = lws_container_of(d, struct conn, in_room);
		if (c != except)
			send(c, m);
	}
	lws_end_foreach_dll(d);
}

void
// cppcheck-suppress constParameter ; compared only, the callers hold it mutable
room_broadcast(struct room *rm, struct msg *m, struct conn *except)
{
	send_to_room(rm, m, except, conn_send);
}

/* A connection that came with last_notification_id has that one: when
 * its queue event reaches this node only after the reconnect (the client
 * had it from another node), it is not sent again.  Only that id: on
 * Galera a notification committed later may have a smaller id than one the
 * client has seen (doc/queue.md), and must still go out. */
static bool
has_notification(const struct conn *c, int64_t id)
{
	return id && id == c->last_id;
}

/* A notification (id, 0 if unknown) to every connection of its user. */
static void
notify_user(int64_t user_id, struct msg *m, int64_t id)
{
	struct user_entry *u = map_get(&hub.users, user_id);

	if (!u)
		return;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&u->list))
	{
		struct conn *c = lws_container_of(d, struct conn, in_user);
		if (!has_notification(c, id))
			conn_send(c, m);
	}
	lws_end_foreach_dll(d);
}

static void
relay_as(enum job_kind kind, struct room *rm, const char *type, const char *text, size_t len)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !(j->text = strndup(text, len))) {
		free(j);
		return;
	}
	j->kind = kind;
	j->room_id = rm->id;
	j->text_len = len;
	yq_strlcpy(j->relay.type, type, sizeof(j->relay.type));
	dbworker_submit(j);
}

/* Room traffic for the other nodes, in order with the room's playback
 * changes and chat. */
static void
relay(struct room *rm, const char *type, const char *text, size_t len)
{
	relay_as(JOB_RELAY, rm, type, text, len);
}

void
room_publish(struct room *rm, const char *type, json_object *payload, struct conn *sender,
             json_object *ref)
{
	size_t len;
	const char *text = yq_json_str(payload, &len);

	relay(rm, type, text, len);
	json_object *o = json_object_new_object();
	yq_json_add_str(o, "type", type);
	json_object_object_add(o, "payload", json_object_get(payload));
	struct msg *m = msg_from_json(o);
	if (m) {
		room_broadcast(rm, m, ref ? sender : NULL);
		msg_unref(m);
	}
	if (ref && sender) {
		/* the sender's copy carries the ref of its request */
		json_object_object_add(o, "ref", json_object_get(ref));
		conn_send_json(sender, json_object_get(o));
	}
	json_object_put(o);
}

/* ---- playback commands executed at a server time ----
 *
 * play, pause, seek and rate carry execute_at_ms: every client applies
 * them when its estimate of the server clock reaches it, so the members
 * who get the broadcast first do not run ahead of the ones who get it
 * last.  The lead covers what this node measures: the change's round trip
 * through the database (decided there, broadcast here), the time the last
 * broadcast took to reach the room's last socket here, and half the
 * largest round trip a member reported in heart_beat, plus a margin;
 * bounded by ws.command_lead_min_ms and ws.command_lead_max_ms. */
#define LEAD_MARGIN_MS 10

int64_t
room_command_lead(struct room *rm)
{
	int64_t rtt = 0;

	for (size_t i = 0; i < rm->nusers; i++)
		if (rm->users[i].health.has_rtt && rm->users[i].health.rtt_ms > rtt)
			rtt = rm->users[i].health.rtt_ms;
	int64_t lead = rm->db_ms + rm->spread_ms + rtt / 2 + LEAD_MARGIN_MS;
	if (lead < hub.wc.lead_min_ms)
		lead = hub.wc.lead_min_ms;
	if (lead > hub.wc.lead_max_ms)
		lead = hub.wc.lead_max_ms;
	return lead;
}

static void
fanout_done(const struct msg *m)
{
	struct room *rm = hub_room(m->timed_room, false);

	if (rm) {
		int64_t ms = yq_mono_ms() - m->timed_at_ms;
		rm->spread_ms = rm->spread_ms ? (3 * rm->spread_ms + ms) / 4 : ms;
	}
}

void
room_broadcast_timed(struct room *rm, struct msg *m, const struct conn *except)
{
	msg_done = fanout_done;
	m->timed_room = rm->id;
	m->timed_at_ms = yq_mono_ms();
	send_to_room(rm, m, except, conn_send_now); /* a playback command goes out now */
}

/* ---- sync health: each member's latest, relayed at most once per
 * ws.health_interval_ms per room (this node's members; the other nodes
 * relay theirs through the queue) ---- */

void
room_health(struct room *rm, int64_t user_id, const struct health *h)
{
	struct room_user *ru = room_user(rm, user_id, false);

	if (!ru)
		return;
	struct health *k = &ru->health;
	bool changed = false;
#define TAKE(has, field)                                   \
	if (h->has && (!k->has || k->field != h->field)) { \
		k->has = true;                             \
		k->field = h->field;                       \
		changed = true;                            \
	}
	TAKE(has_position, position_ms)
	TAKE(has_drift, drift_ms)
	TAKE(has_rtt, rtt_ms)
	TAKE(has_buffering, buffering)
#undef TAKE
	if (changed) {
		k->dirty = true;
		rm->health_dirty = true;
	}
}

static void
health_flush(struct room *rm, int64_t now)
{
	if (!rm->health_dirty || now - rm->health_sent_ms < (int64_t)hub.wc.health_interval_ms)
		return;
	json_object *p = json_object_new_object(), *a = json_object_new_array();
	for (size_t i = 0; i < rm->nusers; i++) {
		struct room_user *ru = &rm->users[i];
		struct health *h = &ru->health;
		if (!h->dirty)
			continue;
		h->dirty = false;
		json_object *e = json_object_new_object();
		yq_json_add_int(e, "user_id", ru->user_id);
		json_object_object_add(e, "position_ms",
		                       h->has_position ? json_object_new_int64(h->position_ms)
		                                       : NULL);
		json_object_object_add(e, "drift_ms",
		                       h->has_drift ? json_object_new_int64(h->drift_ms) : NULL);
		json_object_object_add(e, "rtt_ms",
		                       h->has_rtt ? json_object_new_int64(h->rtt_ms) : NULL);
		json_object_object_add(e, "buffering",
		                       h->has_buffering ? json_object_new_boolean(h->buffering)
		                                        : NULL);
		json_object_array_add(a, e);
	}
	json_object_object_add(p, "members", a);
	rm->health_dirty = false;
	rm->health_sent_ms = now;
	if (json_object_array_length(a))
		room_publish(rm, "sync_health", p, NULL, NULL);
	json_object_put(p);
}

/* ---- presence in a room: O(changes) ----
 *
 * A small room (members <= ws.presence_batch_above) gets one user_status
 * per change at once, as it always did.  A large room collects the
 * changes (latest state per user) and sends one "presence" message per
 * tick (hub_tick, 200 ms) carrying every change since the last one.
 * Nobody is told what their snapshot already says: a connection's
 * presence_seq is the room's presence sequence its snapshot reflects, and
 * a batch leaves out, per connection, the changes its snapshot includes.
 * Every node decides for its own clients from what it knows (its
 * connections and the presence events of the other nodes), so a user with
 * tabs on two nodes is online once and offline once. */

static bool
presence_batched(const struct room *rm)
{
	return rm->members.n > hub.wc.presence_batch_above;
}

/* How often a room's batch goes out: every tick (200 ms) up to 200
 * members, then a millisecond a member, at most a second.  A join storm's
 * batches are one write to every member each: a 1,000-member storm of
 * ~400 ms was two or three of them per member, now one. */
static int64_t
presence_interval_ms(const struct room *rm)
{
	size_t n = rm->members.n;

	return n <= 200 ? 200 : n >= 1000 ? 1000 : (int64_t)n;
}

static void
user_status_now(struct room *rm, int64_t user_id, const char *username, bool online,
                struct conn *except)
{
	json_object *o = json_object_new_object(), *p = json_object_new_object();

	yq_json_add_str(o, "type", "user_status");
	yq_json_add_int(p, "user_id", user_id);
	yq_json_add_str(p, "username", username);
	yq_json_add_bool(p, "online", online);
	json_object_object_add(o, "payload", p);
	struct msg *m = msg_from_json(o);
	json_object_put(o);
	if (m) {
		room_broadcast(rm, m, except);
		msg_unref(m);
	}
}

/* A member's presence in the room changed as this node sees it.  except:
 * the joining connection, whose snapshot already says so. */
static void
presence_changed(struct room *rm, int64_t user_id, const char *username, bool online,
                 struct conn *except)
{
	struct member *mb = members_find(&rm->members, user_id);
	bool known = mb ? mb->online : !online; /* what the room's clients believe */

	if (mb)
		members_mark_online(&rm->members, mb, online);
	rm->presence_seq++;
	if (!presence_batched(rm) && !rm->npending) {
		user_status_now(rm, user_id, username, online, except);
		return;
	}
	struct presence_change *pc = NULL;
	for (size_t i = 0; i < rm->npending && !pc; i++)
		if (rm->pending[i].user_id == user_id)
			pc = &rm->pending[i];
	if (!pc) {
		if (rm->npending == rm->cappending) {
			size_t cap = rm->cappending ? rm->cappending * 2 : 16;
			struct presence_change *v = realloc(rm->pending, cap * sizeof(*v));
			if (!v)
				return;
			rm->pending = v;
			rm->cappending = cap;
		}
		if (!rm->npending) {
			/* the batch's window opens with its first change: a
			 * join storm shorter than the interval is one batch
			 * after it, not a flush to every member at a random
			 * moment inside it and another one later */
			int64_t at = yq_mono_ms() + presence_interval_ms(rm) - 100;
			if (rm->presence_next_ms < at)
				rm->presence_next_ms = at;
		}
		pc = &rm->pending[rm->npending++];
		pc->user_id = user_id;
		pc->was = known;
		pc->first = rm->presence_seq;
	}
	yq_strlcpy(pc->username, username, sizeof(pc->username));
	pc->online = online;
	pc->latest = rm->presence_seq;
}

/* Does a connection whose snapshot reflects sequence seen need pc? */
static bool
presence_news(const struct presence_change *pc, uint64_t seen)
{
	return seen < pc->first ? pc->online != pc->was : pc->latest > seen;
}

/* A tick's changes, each rendered once as the member's id (names are in
 * the member list the client has, and a join storm sends every later
 * joiner's arrival to every earlier one, so each byte here counts a
 * million times).  A batch is then the fragments its connection needs,
 * copied, not rebuilt per connection (a join storm has hundreds of
 * joiners per tick, each needing the changes after its own snapshot). */
struct presence_frags {
	struct yq_buf text;
	size_t *off; /* fragment i is text.data[off[i] .. off[i + 1]) */
	int64_t ts;
};

static int
presence_frags_render(struct presence_frags *f, const struct room *rm)
{
	memset(f, 0, sizeof(*f));
	f->ts = yq_now_ms();
	if (!(f->off = malloc((rm->npending + 1) * sizeof(*f->off))))
		return -1;
	for (size_t i = 0; i < rm->npending; i++) {
		const struct presence_change *pc = &rm->pending[i];
		f->off[i] = f->text.len;
		if (yq_buf_printf(&f->text, "%lld", (long long)pc->user_id) < 0)
			return -1;
	}
	f->off[rm->npending] = f->text.len;
	return 0;
}

static void
presence_frags_free(struct presence_frags *f)
{
	yq_buf_free(&f->text);
	free(f->off);
}

/* The fragments of one list ("online" or "offline") a connection that
 * saw sequence seen needs, comma-separated. */
static int
presence_list(struct yq_buf *b, const struct room *rm, const struct presence_frags *f,
              uint64_t seen, bool online, bool *any)
{
	bool first = true;

	for (size_t i = 0; i < rm->npending; i++) {
		const struct presence_change *pc = &rm->pending[i];
		if (pc->online != online || !presence_news(pc, seen))
			continue;
		if ((!first && yq_buf_append(b, ",", 1) < 0) ||
		    yq_buf_append(b, f->text.data + f->off[i], f->off[i + 1] - f->off[i]) < 0)
			return -1;
		first = false;
		*any = true;
	}
	return 0;
}

static struct msg *
presence_batch(const struct room *rm, const struct presence_frags *f, uint64_t seen)
{
	struct yq_buf b = { 0 };
	bool any = false;
	struct msg *m = NULL;

	if (yq_buf_puts(&b, "{\"type\":\"presence\",\"payload\":{\"online\":[") == 0 &&
	    presence_list(&b, rm, f, seen, true, &any) == 0 &&
	    yq_buf_puts(&b, "],\"offline\":[") == 0 &&
	    presence_list(&b, rm, f, seen, false, &any) == 0 &&
	    yq_buf_printf(&b, "]},\"ts\":%lld}", (long long)f->ts) == 0 && any &&
	    (m = msg_new(b.data, b.len)))
		m->lane = LANE_PRESENCE;
	yq_buf_free(&b);
	return m;
}

/* Send a large room's collected presence changes: one shared message for
 * the connections that were there before all of them, one of its own for
 * each that joined since. */
static void
presence_flush(struct room *rm)
{
	if (!rm->npending)
		return;
	uint64_t first = rm->pending[0].first; /* appended in order */
	struct msg *shared = NULL;
	bool built = false;
	struct presence_frags f;

	if (presence_frags_render(&f, rm) < 0) {
		presence_frags_free(&f);
		return; /* kept for the next tick */
	}
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&rm->conns))
	{
		struct conn *c = lws_container_of(d, struct conn, in_room);
		if (c->presence_seq < first) {
			if (!built) {
				shared = presence_batch(rm, &f, 0);
				built = true;
			}
			if (shared)
				conn_send(c, shared);
		} else {
			struct msg *m = presence_batch(rm, &f, c->presence_seq);
			if (m) {
				conn_send(c, m);
				msg_unref(m);
			}
		}
	}
	lws_end_foreach_dll(d);
	msg_unref(shared);
	presence_frags_free(&f);
	hub.presence_batches++;
	rm->npending = 0;
}

/* Tell the other nodes this node's presence of a user in a room changed. */
static void
announce_presence(struct room *rm, const struct room_user *ru, bool online)
{
	json_object *p = json_object_new_object();
	size_t len;

	yq_json_add_int(p, "user_id", ru->user_id);
	yq_json_add_str(p, "username", ru->username);
	yq_json_add_bool(p, "online", online);
	const char *text = yq_json_str(p, &len);
	/* on the presence queue, written in runs: a join storm's thousand
	 * rows must not wait in front of a play command */
	relay_as(JOB_PRESENCE_RELAY, rm, "presence", text, len);
	json_object_put(p);
}

static bool
present(const struct room_user *ru)
{
	return ru->conns > 0 || ru->offline_at_ms || ru->remote;
}

/* The index of a node id in the (small) table of nodes seen, 0..63. */
static int
node_index(const char *node)
{
	for (unsigned i = 0; i < hub.nnodes; i++)
		if (strcmp(hub.nodes[i], node) == 0)
			return (int)i;
	if (hub.nnodes == 64)
		return 63; /* more nodes than bits: share the last one */
	yq_strlcpy(hub.nodes[hub.nnodes], node, sizeof(hub.nodes[0]));
	return (int)hub.nnodes++;
}

/* A presence event from another node. */
static void
remote_presence(struct room *rm, const char *origin, json_object *p)
{
	json_object *uid, *name, *on;

	if (yq_json_field(p, "user_id", json_type_int, &uid) != YQ_JF_OK ||
	    yq_json_field(p, "username", json_type_string, &name) != YQ_JF_OK ||
	    yq_json_field(p, "online", json_type_boolean, &on) != YQ_JF_OK)
		return;
	bool online = json_object_get_boolean(on);
	struct room_user *ru = room_user(rm, json_object_get_int64(uid), online);
	if (!ru) {
		/* unknown here: our clients may have seen them online in a snapshot */
		presence_changed(rm, json_object_get_int64(uid), json_object_get_string(name),
		                 false, NULL);
		return;
	}
	yq_strlcpy(ru->username, json_object_get_string(name), sizeof(ru->username));
	bool before = present(ru);
	uint64_t bit = 1ULL << node_index(origin);
	ru->remote = online ? ru->remote | bit : ru->remote & ~bit;
	bool after = present(ru);
	if (before != after)
		presence_changed(rm, ru->user_id, ru->username, after, NULL);
	if (!after)
		room_user_remove(rm, ru);
}

static void
presence_job(enum job_kind kind, int64_t user_id, int conns)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return;
	j->kind = kind;
	j->user_id = user_id;
	j->presence.connections = conns;
	dbworker_submit(j);
}

/* ---- ids of unstored chat messages ---- */

#define VOL_BASE  (1ULL << 52)
#define VOL_BLOCK (1ULL << 16)

void
hub_ask_id_block(void)
{
	struct job *j;

	if (hub.vol_asked || hub.vol_spare || !(j = calloc(1, sizeof(*j))))
		return;
	j->kind = JOB_ID_BLOCK;
	hub.vol_asked = true;
	dbworker_submit(j);
}

void
hub_id_block(uint64_t block)
{
	hub.vol_asked = false;
	if (block == 0) /* the reservation failed; the tick asks again */
		return;
	if (block >= (VOL_BASE / VOL_BLOCK)) {
		yq_error("ws_id_blocks id %llu is out of range: unstored chat stops",
		         (unsigned long long)block);
		return;
	}
	hub.vol_spare = block;
	if (hub.vol_next == hub.vol_end) { /* nothing left: take it at once */
		hub.vol_next = VOL_BASE + block * VOL_BLOCK;
		hub.vol_end = hub.vol_next + VOL_BLOCK;
		hub.vol_spare = 0;
		hub_ask_id_block(); /* and keep one in reserve */
	}
}

uint64_t
hub_volatile_id(void)
{
	if (hub.vol_next == hub.vol_end) {
		if (!hub.vol_spare) {
			hub_ask_id_block();
			return 0;
		}
		hub.vol_next = VOL_BASE + hub.vol_spare * VOL_BLOCK;
		hub.vol_end = hub.vol_next + VOL_BLOCK;
		hub.vol_spare = 0;
		hub_ask_id_block();
	}
	return hub.vol_next++;
}

/* The user's password changed: this session is over (SPEC section 5). */
static void
end_session(struct conn *c)
{
	conn_error(c, "forbidden", "the password was changed: sign in again", NULL);
	conn_close(c, WS_CLOSE_BAD_TOKEN, "session ended");
}

void
hub_end_sessions(int64_t user_id)
{
	/* every connection of the user here, attached or still authenticating
	 * (its credentials may have been read before the change) */
	MAP_EACH(&hub.conns, k, v, {
		(void)k;
		struct conn *c = v;
		if (c->user_id == user_id && c->state != CONN_CLOSING)
			end_session(c);
	});
}

void
hub_attach(struct conn *c)
{
	struct user_entry *u = map_get(&hub.users, c->user_id);

	if (!u && (u = calloc(1, sizeof(*u)))) {
		u->user_id = c->user_id;
		if (map_put(&hub.users, c->user_id, u) < 0) {
			free(u);
			u = NULL;
		}
	}
	if (u) {
		lws_dll2_add_tail(&c->in_user, &u->list);
		u->conns++;
		/* first connection here, or back within the grace period */
		if (u->conns == 1 && !u->offline_at_ms)
			presence_job(JOB_PRESENCE_UP, u->user_id, u->conns);
		u->offline_at_ms = 0;
	}
	if (c->room) {
		lws_dll2_add_tail(&c->in_room, &c->room->conns);
		struct room_user *ru = room_user(c->room, c->user_id, true);
		if (ru) {
			yq_strlcpy(ru->username, c->username, sizeof(ru->username));
			bool before = present(ru);
			ru->conns++;
			if (ru->conns == 1 && !ru->offline_at_ms)
				announce_presence(c->room, ru, true);
			ru->offline_at_ms = 0;
			if (!before)
				presence_changed(c->room, ru->user_id, ru->username, true, c);
		}
	}
}

void
hub_detach(struct conn *c)
{
	int64_t now = yq_mono_ms();
	struct user_entry *u = map_get(&hub.users, c->user_id);

	if (u && lws_dll2_is_detached(&c->in_user) == 0) {
		lws_dll2_remove(&c->in_user);
		if (--u->conns == 0)
			u->offline_at_ms = now + hub.wc.presence_grace_ms;
	}
	if (c->room && !lws_dll2_is_detached(&c->in_room)) {
		lws_dll2_remove(&c->in_room);
		struct room_user *ru = room_user(c->room, c->user_id, false);
		if (ru && --ru->conns == 0)
			ru->offline_at_ms = now + hub.wc.presence_grace_ms;
	}
}

/* ---- the periodic tick: grace periods, heartbeats, persistence ---- */

static void
sweep_presence(int64_t now)
{
	MAP_EACH(&hub.users, id, v, {
		struct user_entry *u = v;
		if (u->offline_at_ms && u->offline_at_ms <= now) {
			presence_job(JOB_PRESENCE_DOWN, id, 0);
			map_del(&hub.users, id);
			free(u);
		}
	});
	MAP_EACH(&hub.rooms, id, v, {
		struct room *rm = v;
		(void)id;
		for (size_t i = 0; i < rm->nusers;) {
			struct room_user *ru = &rm->users[i];
			if (ru->offline_at_ms && ru->offline_at_ms <= now) {
				ru->offline_at_ms = 0;
				announce_presence(rm, ru, false);
				if (!present(ru)) {
					presence_changed(rm, ru->user_id, ru->username, false,
					                 NULL);
					room_user_remove(rm, ru);
					continue;
				}
			}
			i++;
		}
		if (rm->npending && now >= rm->presence_next_ms) {
			presence_flush(rm);
			/* the first tick (200 ms) at or after the interval */
			rm->presence_next_ms = now + presence_interval_ms(rm) - 100;
		}
		health_flush(rm, now);
		hub_room_maybe_free(rm);
	});
}

static void
sweep_heartbeats(int64_t now)
{
	int64_t limit = (int64_t)hub.wc.heartbeat_timeout_s * 1000;

	MAP_EACH(&hub.conns, id, v, {
		struct conn *c = v;
		(void)id;
		/* a connection still being authenticated is waiting for us,
		 * not silent: it gets its own, longer limit */
		if (c->state == CONN_READY && now - c->last_rx_ms > limit)
			conn_close(c, WS_CLOSE_TIMEOUT, "heartbeat timeout");
		else if (c->state == CONN_AUTH && now - c->since_ms > 2 * limit)
			conn_close(c, WS_CLOSE_TRY_AGAIN, "authentication timed out: try again");
	});
}

void
hub_tick(lws_sorted_usec_list_t *sul)
{
	int64_t now = yq_mono_ms();

	sweep_presence(now);
	if (hub.vol_next == hub.vol_end)
		hub_ask_id_block(); /* at start, or after a failed reservation */
	if (now - hub.last_heartbeat_sweep_ms >= 1000) {
		hub.last_heartbeat_sweep_ms = now;
		sweep_heartbeats(now);
	}
	unsigned refresh_ms = hub.cfg->presence_ttl * 1000 / 3;
	if (now - hub.last_presence_refresh_ms >= refresh_ms) {
		hub.last_presence_refresh_ms = now;
		presence_job(JOB_PRESENCE_REFRESH, 0, 0);
		if (hub.nnodes)
			presence_job(JOB_LIVE_NODES, 0, 0);
	}
	lws_sul_schedule(hub.ctx, 0, sul, hub_tick, 200 * LWS_US_PER_MS);
}

/* ---- events from the queue ---- */

static void
close_room_user(struct room *rm, int64_t user_id, int code, const char *why)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&rm->conns))
	{
		struct conn *c = lws_container_of(d, struct conn, in_room);
		if (user_id == 0 || c->user_id == user_id)
			conn_close(c, code, why);
	}
	lws_end_foreach_dll_safe(d, d1);
}

static void
set_role(struct room *rm, int64_t user_id, enum yq_role role)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&rm->conns))
	{
		struct conn *c = lws_container_of(d, struct conn, in_room);
		if (c->user_id == user_id)
			c->role = role;
	}
	lws_end_foreach_dll(d);
}

static int64_t
user_id_of(json_object *p, const char *key)
{
	json_object *u, *id;

	if (yq_json_field(p, key, json_type_object, &u) != YQ_JF_OK ||
	    yq_json_field(u, "id", json_type_int, &id) != YQ_JF_OK)
		return 0;
	return json_object_get_int64(id);
}

static const char *
username_of(json_object *p, const char *key)
{
	json_object *u, *n;

	if (yq_json_field(p, key, json_type_object, &u) != YQ_JF_OK ||
	    yq_json_field(u, "username", json_type_string, &n) != YQ_JF_OK)
		return "";
	return json_object_get_string(n);
}

/* ---- room events written by REST: keep the live state in step ---- */

static void
ev_joined(struct room *rm, json_object *p)
{
	int64_t uid = user_id_of(p, "user");

	if (uid && !members_find(&rm->members, uid))
		members_add(&rm->members, uid, username_of(p, "user"), NULL, YQ_ROLE_MEMBER, false);
}

/* A member left or was kicked: out of the list, and their connections
 * here closed with why. */
static void
member_gone(struct room *rm, json_object *p, const char *why)
{
	int64_t uid = user_id_of(p, "user");

	members_remove(&rm->members, uid);
	close_room_user(rm, uid, WS_CLOSE_FORBIDDEN, why);
}

static void
ev_left(struct room *rm, json_object *p)
{
	member_gone(rm, p, "left the room");
}

static void
ev_kicked(struct room *rm, json_object *p)
{
	member_gone(rm, p, "kicked");
}

static void
ev_dissolved(struct room *rm, json_object *p)
{
	(void)p;
	close_room_user(rm, 0, WS_CLOSE_NOT_FOUND, "room dissolved");
}

static void
ev_role(struct room *rm, json_object *p)
{
	json_object *v;

	if (yq_json_field(p, "role", json_type_string, &v) != YQ_JF_OK)
		return;
	enum yq_role role = yq_role_parse(json_object_get_string(v));
	set_role(rm, user_id_of(p, "user"), role);
	members_set_role(&rm->members, user_id_of(p, "user"), role);
}

static void
ev_owner(struct room *rm, json_object *p)
{
	set_role(rm, user_id_of(p, "old_owner"), YQ_ROLE_MODERATOR);
	set_role(rm, user_id_of(p, "new_owner"), YQ_ROLE_OWNER);
	members_set_role(&rm->members, user_id_of(p, "old_owner"), YQ_ROLE_MODERATOR);
	members_set_role(&rm->members, user_id_of(p, "new_owner"), YQ_ROLE_OWNER);
}

static void
ev_config(struct room *rm, json_object *p)
{
	json_object *v, *b;

	if (yq_json_field(p, "config", json_type_object, &v) != YQ_JF_OK)
		return;
	if (yq_json_field(v, "sync_playback", json_type_boolean, &b) == YQ_JF_OK)
		rm->sync_playback = json_object_get_boolean(b);
	if (yq_json_field(v, "guest_control", json_type_boolean, &b) == YQ_JF_OK)
		rm->guest_control = json_object_get_boolean(b);
	if (yq_json_field(v, "keep_chat_history", json_type_boolean, &b) == YQ_JF_OK)
		rm->keep_chat_history = json_object_get_boolean(b);
}

static const struct {
	const char *event;
	void (*fn)(struct room *rm, json_object *p);
	bool recheck; /* authentications under way read membership again */
} room_events[] = {
	{ "member_joined", ev_joined, false }, { "member_left", ev_left, true },
	{ "member_kicked", ev_kicked, true },  { "dissolved", ev_dissolved, true },
	{ "role_changed", ev_role, true },     { "owner_changed", ev_owner, true },
	{ "config_updated", ev_config, true },
};

/* A room event written by REST, after it was delivered: act on it. */
static void
room_event_effects(struct room *rm, json_object *p)
{
	json_object *ev;

	if (yq_json_field(p, "event", json_type_string, &ev) != YQ_JF_OK)
		return;
	for (size_t i = 0; i < YQ_ARRAY_LEN(room_events); i++)
		if (strcmp(room_events[i].event, json_object_get_string(ev)) == 0) {
			rm->epoch += room_events[i].recheck;
			room_events[i].fn(rm, p);
		}
}

/* Playback changed on another node: adopt it when it is newer.  False
 * when it is not: a late queue row (doc/queue.md) or a repeat, whose state
 * the room has already moved past. */
static bool
adopt_playback(struct room *rm, json_object *p)
{
	json_object *v;
	struct yq_playback pb = rm->pb;

	if (yq_json_field(p, "version", json_type_int, &v) != YQ_JF_OK)
		return true;
	uint64_t version = (uint64_t)json_object_get_int64(v);
	if (version <= rm->pb.version)
		return false;
	pb.version = version;
	if (yq_json_field(p, "position_ms", json_type_int, &v) == YQ_JF_OK)
		pb.position_ms = json_object_get_int64(v);
	if (yq_json_field(p, "state", json_type_string, &v) == YQ_JF_OK)
		pb.playing = strcmp(json_object_get_string(v), "playing") == 0;
	if (yq_json_field(p, "rate", json_type_double, &v) == YQ_JF_OK ||
	    yq_json_field(p, "rate", json_type_int, &v) == YQ_JF_OK)
		pb.rate = json_object_get_double(v);
	if (yq_json_field(p, "media_url", json_type_string, &v) == YQ_JF_OK)
		yq_strlcpy(pb.media_url, json_object_get_string(v), sizeof(pb.media_url));
	if (yq_json_field(p, "server_ts", json_type_int, &v) == YQ_JF_OK)
		pb.updated_at_ms = json_object_get_int64(v);
	rm->pb = pb; /* the writing node stored it */
	return true;
}

/* ---- events from the queue, by type ----
 *
 * For a user: a notification (the default) or the end of their sessions.
 * For a room: broadcast to its connections here (the default), with a
 * step before (playback: the newer state is adopted) or after (room
 * events act once delivered); presence is between nodes only, never
 * broadcast. */

/* A notification: {"type": "notification" or "invite_notification",
 * "payload": the notification, "ts"}, and its id in *id (0 if it has
 * none). */
static struct msg *
notification_msg(const struct yq_event *ev, int64_t *id)
{
	json_object *n, *t;

	*id = 0;
	if (!(n = json_tokener_parse(ev->payload))) {
		yq_error("queue event %llu: the notification is not JSON", ev->id);
		return NULL;
	}
	if (yq_json_field(n, "id", json_type_int, &t) == YQ_JF_OK)
		*id = json_object_get_int64(t);
	bool invite = yq_json_field(n, "type", json_type_string, &t) == YQ_JF_OK &&
	              strcmp(json_object_get_string(t), "room_invite") == 0;
	json_object *o = json_object_new_object();
	yq_json_add_str(o, "type", invite ? "invite_notification" : "notification");
	json_object_object_add(o, "payload", n);
	struct msg *m = msg_from_json(o);
	json_object_put(o);
	return m;
}

/* ---- user events a connection may have missed while authenticating ----
 *
 * An auth batch notes how many queue events the tail had handed over when
 * it began (res_auth.events_seen), before it reads the notifications to
 * replay.  An event the tail handed over later may still reach this thread
 * before the answer does, when the connection is not attached yet: its
 * notification may be newer than the replay read, and nobody would send it.
 * The user events of the last RECENT_MAX queue events' window are kept
 * here, and an attaching connection gets its user's that came after its
 * mark (clients drop a notification they already have by id; a password
 * change ends the connection).  If the window no longer reaches back to
 * the mark, the connection is refused 1013 and reconnects with its
 * last_notification_id. */
#define RECENT_MAX 4096

struct recent_event {
	uint64_t seq; /* of the queue events this node has handled, from 1 */
	int64_t user_id;
	bool sessions_ended;
	struct msg *m;           /* the notification */
	int64_t notification_id; /* its id, 0 if it has none */
};
static struct recent_event recent[RECENT_MAX];
static unsigned recent_next;    /* the slot written next */
static uint64_t recent_lost;    /* the newest seq overwritten */
static uint64_t events_handled; /* queue events through hub_queue_event */

static void
recent_keep(const struct yq_event *ev, bool sessions_ended, struct msg *m, int64_t notification_id)
{
	struct recent_event *e = &recent[recent_next];

	if (e->seq)
		recent_lost = e->seq;
	msg_unref(e->m);
	*e = (struct recent_event){ events_handled, ev->target_id, sessions_ended, m,
		                    notification_id };
	if (m)
		m->refs++;
	recent_next = (recent_next + 1) % RECENT_MAX;
}

bool
hub_recent_covers(uint64_t seen)
{
	return recent_lost <= seen;
}

void
hub_send_missed(struct conn *c, uint64_t seen)
{
	/* oldest first: walk back to the mark, then forward */
	unsigned i = recent_next, k = 0;
	while (k < RECENT_MAX) {
		unsigned prev = (i + RECENT_MAX - 1) % RECENT_MAX;
		if (recent[prev].seq <= seen)
			break;
		i = prev;
		k++;
	}
	for (; k > 0; k--, i = (i + 1) % RECENT_MAX) {
		const struct recent_event *e = &recent[i];
		if (e->user_id != c->user_id)
			continue;
		if (has_notification(c, e->notification_id))
			continue;
		if (e->sessions_ended) {
			end_session(c);
			return;
		}
		if (e->m)
			conn_send(c, e->m);
	}
}

static void
qe_sessions_ended(const struct yq_event *ev)
{
	recent_keep(ev, true, NULL, 0);
	hub_end_sessions(ev->target_id);
}

static void
qe_notification(const struct yq_event *ev)
{
	int64_t id;
	struct msg *m = notification_msg(ev, &id);

	if (!m)
		return;
	recent_keep(ev, false, m, id);
	notify_user(ev->target_id, m, id);
	msg_unref(m);
}

static bool
qe_presence(struct room *rm, const struct yq_event *ev, json_object *p)
{
	json_object *list;

	/* a node's changes of one batch, in order (an older node sends one
	 * change a row) */
	if (yq_json_field(p, "changes", json_type_array, &list) != YQ_JF_OK) {
		remote_presence(rm, ev->origin, p);
		return true;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *c = json_object_array_get_idx(list, i);
		if (json_object_is_type(c, json_type_object))
			remote_presence(rm, ev->origin, c);
	}
	return true;
}

/* superseded: sending it would set the clients back */
static bool
qe_playback(struct room *rm, const struct yq_event *ev, json_object *p)
{
	return adopt_playback(rm, p);
}

static bool
qe_room_event(struct room *rm, const struct yq_event *ev, json_object *p)
{
	room_event_effects(rm, p);
	return true;
}

static const struct {
	const char *type;
	void (*fn)(const struct yq_event *ev);
} user_events[] = {
	{ "sessions_ended", qe_sessions_ended },
};

/* false: the event ends here (not broadcast, no step after) */
typedef bool (*room_step)(struct room *rm, const struct yq_event *ev, json_object *p);
static const struct {
	const char *type;
	room_step before; /* NULL: nothing */
	bool broadcast;
	room_step after; /* NULL: nothing */
} room_queue_events[] = {
	{ "presence", qe_presence, false, NULL },
	{ "play_control", qe_playback, true, NULL },
	{ "progress_sync", qe_playback, true, NULL },
	{ "room_event", NULL, true, qe_room_event },
};

static void
room_queue_event(struct room *rm, const struct yq_event *ev, json_object *p)
{
	room_step before = NULL, after = NULL;
	bool broadcast = true; /* chat, custom events, sync health relayed */

	for (size_t i = 0; i < YQ_ARRAY_LEN(room_queue_events); i++)
		if (strcmp(room_queue_events[i].type, ev->type) == 0) {
			before = room_queue_events[i].before;
			broadcast = room_queue_events[i].broadcast;
			after = room_queue_events[i].after;
		}
	if (before && !before(rm, ev, p))
		return;
	if (broadcast) {
		json_object *o = json_object_new_object();
		yq_json_add_str(o, "type", ev->type);
		json_object_object_add(o, "payload", json_object_get(p));
		struct msg *m = msg_from_json(o);
		json_object_put(o);
		if (m) {
			room_broadcast(rm, m, NULL);
			msg_unref(m);
		}
	}
	if (after)
		after(rm, ev, p);
}

void
hub_queue_event(const struct yq_event *ev)
{
	events_handled++; /* every one, in the order the tail handed them over */
	if (!ev->to_room) {
		void (*fn)(const struct yq_event *ev) = qe_notification;
		for (size_t i = 0; i < YQ_ARRAY_LEN(user_events); i++)
			if (strcmp(user_events[i].type, ev->type) == 0)
				fn = user_events[i].fn;
		fn(ev);
		return;
	}
	if (strcmp(ev->origin, hub.wc.node_id) == 0)
		return; /* fanned out here when it happened */
	struct room *rm = hub_room(ev->target_id, false);
	json_object *p;
	if (!rm || !(p = json_tokener_parse(ev->payload)))
		return;
	room_queue_event(rm, ev, p);
	json_object_put(p);
}

/* A node that stopped refreshing its presence rows is gone: what it said
 * about its users is void, and they go offline here unless present
 * elsewhere. */
void
hub_live_nodes(const char *ids)
{
	uint64_t dead = 0;

	for (unsigned i = 0; i < hub.nnodes; i++) {
		const char *p = ids;
		size_t l = strlen(hub.nodes[i]);
		bool live = false;
		while (*p && !live) {
			size_t n = strcspn(p, "\n");
			live = n == l && strncmp(p, hub.nodes[i], l) == 0;
			p += n + (p[n] == '\n');
		}
		if (!live)
			dead |= 1ULL << i;
	}
	if (!dead)
		return;
	MAP_EACH(&hub.rooms, id, v, {
		struct room *rm = v;
		(void)id;
		for (size_t i = 0; i < rm->nusers;) {
			struct room_user *ru = &rm->users[i];
			if (!(ru->remote & dead)) {
				i++;
				continue;
			}
			ru->remote &= ~dead;
			if (!present(ru)) {
				presence_changed(rm, ru->user_id, ru->username, false, NULL);
				room_user_remove(rm, ru);
				continue;
			}
			i++;
		}
	});
}
