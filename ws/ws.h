/*
 * ws.h - yiqikan-ws, the WebSocket daemon: shared types.
 *
 * Threads:
 *   - the lws service thread (main.c, conn.c, hub.c, protocol.c,
 *     metrics.c) owns every connection, every room's live state and all
 *     of lws.  It never calls MariaDB.
 *   - database job queues (dbworker.c), each with its own thread(s) and
 *     connection(s): authentication (ws.auth_workers threads; connects are
 *     independent and answered in batches), room traffic (one thread, in
 *     order: store a chat message, persist playback, relay room traffic to
 *     the queue) and presence rows (one thread, in order), so a burst of
 *     connects never delays a play command.
 *   - the queue tail (dbworker.c) polls the event queue with the reader of
 *     src/core/queue.c on its own connection, backing off when idle.
 *   Results come back through a locked list and lws_cancel_service() (one
 *   wake-up per batch); the service thread picks them up in
 *   LWS_CALLBACK_EVENT_WAIT_CANCELLED.  Connections are named by a 64-bit
 *   id in results, never by pointer, so a result for a connection that has
 *   gone meanwhile is dropped.
 *
 * Writes to a client go through a bounded per-connection queue of shared,
 * reference-counted messages in three lanes (control, room, presence:
 * highest first), as many lws_write()s per WRITEABLE callback as the
 * socket takes; a client whose queue overflows is dropped (slow
 * consumer).  Each room keeps its member list live (members.c) so a
 * connect needs no member query; a large room's presence goes out in
 * batches (hub.c).
 */
#ifndef YQ_WS_H
#define YQ_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <signal.h>
#include <libwebsockets.h>

#include "core/config.h"
#include "core/perm.h"
#include "core/queue.h"
#include "core/roomview.h"
#include "core/util.h"

/* ---- close codes: RFC 6455's that we send, then SPEC section 5's ---- */
enum {
	WS_CLOSE_GOING_AWAY = 1001, /* the node is shutting down: reconnect elsewhere */
	WS_CLOSE_TOO_BIG = 1009,    /* a message beyond ws.max_message */
	WS_CLOSE_INTERNAL = 1011,   /* the server failed (database, memory) */
	WS_CLOSE_TRY_AGAIN = 1013,  /* busy or changing: try again later */
	WS_CLOSE_BAD_TOKEN = 4401,
	WS_CLOSE_FORBIDDEN = 4403,
	WS_CLOSE_NOT_FOUND = 4404,
	WS_CLOSE_TIMEOUT = 4408,
	WS_CLOSE_ABUSE = 4429,
	WS_CLOSE_SLOW = 1, /* metrics only: dropped as a slow consumer, no close frame */
};

/* The send queue grows from a few slots to at most this many messages;
 * past SENDQ_SOFT_COUNT it counts as overfilled like past its byte limit.
 * Both count the control and room lanes only; the presence lane has its
 * own cap (a client that has not read for minutes). */
#define SENDQ_MAX          16384
#define SENDQ_SOFT_COUNT   1024
#define SENDQ_PRESENCE_MAX 1024

/* ---- shared, reference-counted outgoing messages ---- */
/* Lanes: a connection's queue is drained highest lane first, so playback
 * commands never wait behind chat, and nothing waits behind presence.
 * Within a lane the order is kept. */
enum lane {
	LANE_CONTROL,  /* the snapshot (and notifications replayed before it), playback */
	LANE_ROOM,     /* chat, custom events, room events, notifications, replies, errors */
	LANE_PRESENCE, /* user_status, presence batches, sync_health */
	LANE_COUNT,
};

/* A rendering of a room's member list (a JSON array), shared by every
 * snapshot made from it while the list keeps its members, names and roles
 * (members.c): at[i] is where member i's online value ("true}" or
 * "false}") begins, online[i] what it says.  One allocation; freed with
 * the last reference. */
struct members_render {
	int refs;
	uint64_t gen; /* struct members.gen it was made from */
	size_t n;
	size_t *at;
	bool *online;
	size_t len;
	char *text;
};
void members_render_unref(struct members_render *r);

/* A message of pieces (a snapshot): its head, the shared member list with
 * the online values of the listed members flipped, its tail. */
struct msg_parts {
	struct members_render *render; /* a reference */
	size_t head_len, tail_len;     /* buf holds the head, then the tail */
	unsigned nflip;
	uint32_t flip[]; /* member indexes, ascending */
};

struct msg {
	int refs;
	unsigned char lane; /* enum lane; LANE_ROOM from msg_new */
	int64_t timed_room; /* fan-out measured for this room (msg_done), 0 none */
	int64_t timed_at_ms;
	size_t len;              /* of the whole text */
	struct msg_parts *parts; /* NULL: buf holds the whole text */
	unsigned char buf[];     /* LWS_PRE bytes, then the text (or head and tail) */
};

struct msg *msg_new(const char *json, size_t len);
/* head + render's list (the members in flip[] flipped) + tail; takes a
 * reference to render. */
struct msg *msg_new_parts(const char *head, size_t head_len, const char *tail, size_t tail_len,
                          struct members_render *render, const uint32_t *flip, unsigned nflip);
/* Copy bytes [off, off + max) of m's text to dst: how many there were. */
size_t msg_copy(const struct msg *m, size_t off, unsigned char *dst, size_t max);
struct msg *msg_from_json(json_object *o); /* adds "ts" when absent; lane from "type" */
enum lane msg_lane_of(const char *type);
void msg_unref(struct msg *m);
/* Called when the last reference to a timed message goes (hub.c). */
extern void (*msg_done)(const struct msg *m);

/* ---- a connection's send queue: a growable ring of shared messages per lane (flow.c) ---- */
struct ring {
	struct msg **q;
	unsigned head, count, cap; /* cap is 0 or a power of two */
};
struct sendq {
	struct ring lane[LANE_COUNT];
	/* a message of parts being written in fragments: nothing else may go
	 * out before its last one (a reference, not counted below) */
	struct msg *partial;
	size_t partial_off;
	unsigned count; /* every lane */
	size_t bytes, presence_bytes;
	int64_t over_since_ms; /* above the soft limit since, 0 if not */
};
/* Queue m in its lane (taking a reference).  A burst may pass the soft
 * byte limit for SENDQ_SLOW_GRACE_MS; a queue that stays above it, reaches
 * four times it or SENDQ_MAX messages belongs to a slow consumer: -1,
 * nothing queued. */
#define SENDQ_SLOW_GRACE_MS 2000
int sendq_push(struct sendq *q, struct msg *m, size_t soft_limit, int64_t now_ms);
struct msg *sendq_pop(struct sendq *q); /* highest lane first; the caller owns the reference */
struct msg *sendq_peek(const struct sendq *q); /* what sendq_pop would give; still queued */
void sendq_clear(struct sendq *q);

/* ---- a client message's envelope (flow.c) ---- */
struct envelope {
	json_object *msg; /* owns the parse; free with envelope_free */
	const char *type;
	json_object *payload; /* an object, never NULL after a successful parse */
	json_object *ref;     /* the client's "id" when usable, else NULL */
	const char *error;    /* on failure: a message for the "error" reply */
};
/* Parse and check {"type": string, "payload"?: object, "id"?: string <= 64
 * or integer}; 0, or -1 with e->error (and e->ref when it could be read). */
int envelope_parse(struct envelope *e, const char *text, size_t len);
void envelope_free(struct envelope *e);

/* ---- a chained hash map of 64-bit keys (flow.c) ---- */
struct map_node;
struct map {
	struct map_node **b;
	size_t nb, n;
};
void *map_get(const struct map *m, int64_t key);
int map_put(struct map *m, int64_t key, void *val);
void *map_del(struct map *m, int64_t key);
void map_free(struct map *m);
#define MAP_EACH(m, k, v, body)                                                                    \
	for (size_t _i = 0; _i < (m)->nb; _i++)                                                    \
		for (struct map_node *_n = (m)->b[_i], *_nx; _n && ((_nx = map_node_next(_n)), 1); \
		     _n = _nx) {                                                                   \
			int64_t k = map_node_key(_n);                                              \
			void *v = map_node_val(_n);                                                \
			body                                                                       \
		}
struct map_node *map_node_next(struct map_node *n);
int64_t map_node_key(struct map_node *n);
void *map_node_val(struct map_node *n);

/* ---- rate limiting: a token bucket per class and connection ---- */
enum rl_class { RL_NONE = -1, RL_CHAT, RL_CONTROL, RL_CUSTOM, RL_COUNT };
struct bucket {
	double tokens;
	int64_t at_ms;
};
/* Every message a client sends, of any type (heart_beat, unknown,
 * invalid ones too), also draws on one budget per connection: this many
 * times the class rate and burst. */
#define MSG_BUDGET 2
/* true when an event may pass now */
bool bucket_take(struct bucket *b, double rate_per_s, double burst, int64_t now_ms);

/* ---- playback: the state is struct yq_playback (src/core/roomview.h) ---- */
/* A requested change (play_control or progress_sync), validated. */
enum pb_action { PB_PLAY, PB_PAUSE, PB_SEEK, PB_LOAD, PB_RATE, PB_SYNC };
struct pb_change {
	enum pb_action action;
	bool has_position;
	int64_t position_ms;
	char media_url[2049];
	double rate;
	bool playing; /* PB_SYNC */
};

/* Bounds of every playback number a client sends (doc/protocol.md):
 * positions 0 to 7 days in ms, rates 0.25 to 4. */
#define PB_POSITION_MAX_MS (7LL * 24 * 3600 * 1000)
#define PB_RATE_MIN        0.25
#define PB_RATE_MAX        4.0
/* A command is never scheduled further ahead than this (and a stored
 * updated_at_ms further ahead of now is taken as now). */
#define PB_AHEAD_MAX_MS 60000

/* playback.c: pure functions, unit-tested */
/* Bring a state read from anywhere (a stored row may hold anything) within
 * the bounds: position and rate clamped, updated_at_ms in [0, now + PB_AHEAD_MAX_MS]. */
void playback_sanitize(struct yq_playback *p, int64_t now_ms);
/* The position at now_ms, in [0, PB_POSITION_MAX_MS] whatever p holds:
 * the arithmetic saturates, it never overflows. */
int64_t playback_position(const struct yq_playback *p, int64_t now_ms);
/* Apply a change decided at now_ms: the new state with version + 1.  Play,
 * pause, seek and rate take effect at at_ms (>= now_ms, and not before the
 * state's own updated_at_ms), which becomes updated_at_ms; load and
 * progress_sync at now_ms. */
void playback_apply(struct yq_playback *p, const struct pb_change *c, int64_t now_ms,
                    int64_t at_ms);
bool playback_scheduled(enum pb_action a); /* broadcast with execute_at_ms */
const char *playback_action_name(enum pb_action a);
/* The broadcast payload of a change (play_control or progress_sync). */
json_object *playback_event(const struct yq_playback *p, const struct pb_change *c, int64_t by_id,
                            const char *by_name);

/* ---- a room's member list, kept live (members.c) ---- */
struct member {
	int64_t user_id;
	char username[33];
	char *avatar_url; /* malloc'd, NULL for "" */
	enum yq_role role;
	bool online;
	uint64_t order; /* join order within the list */
	char *head;     /* malloc'd: the member's JSON up to its "online" value */
	size_t head_len;
};
struct members {
	struct member *v;
	size_t n, cap;
	/* user_id -> position: open addressing, slot = position + 1 (0:
	 * empty), at most half full; made anew when positions shift */
	uint32_t *ix;
	size_t ixcap;
	size_t online_n; /* members whose online is true */
	uint64_t next_order;
	uint64_t gen;                  /* bumped when a member, name or role changes */
	struct members_render *render; /* the latest shared rendering, or NULL */
};
struct member *members_find(struct members *ms, int64_t user_id);
/* Add (or refresh) a member; avatar_url NULL keeps a known one; online is
 * for a new member (a known one keeps its presence: presence changes set
 * it). */
int members_add(struct members *ms, int64_t user_id, const char *username, const char *avatar_url,
                enum yq_role role, bool online);
void members_remove(struct members *ms, int64_t user_id);
void members_set_role(struct members *ms, int64_t user_id, enum yq_role role);
void members_set_online(struct members *ms, int64_t user_id, bool online);
/* m is in ms: its presence (ms counts who is online). */
void members_mark_online(struct members *ms, struct member *m, bool online);
/* Append the list as a JSON array; self is always online. */
int members_render(const struct members *ms, struct yq_buf *b, int64_t self);
/* A snapshot message: head + the list as members_render(self) writes it +
 * tail, built on the list's shared rendering (made anew when members,
 * names or roles changed, or more than MEMBERS_FLIPS_MAX online values
 * differ), so a join storm does not hold a copy of the list per joiner. */
#define MEMBERS_FLIPS_MAX 64
/* A list of more than whole members (whole > 0) is cut to cut (at least
 * one): the owner and moderators, then self, then the other online
 * members, then the others, each in list order (doc/protocol.md, "Large
 * rooms"). */
struct msg *members_snapshot(struct members *ms, int64_t self, size_t whole, size_t cut,
                             const char *head, size_t head_len, const char *tail, size_t tail_len);
/* How many members are online, self always. */
size_t members_online(const struct members *ms, int64_t self);
void members_free(struct members *ms);

/* ---- rooms and users this node serves ---- */
/* A member's latest sync health (heart_beat), see doc/protocol.md. */
struct health {
	bool has_position, has_drift, has_rtt, has_buffering;
	int64_t position_ms, drift_ms, rtt_ms;
	bool buffering;
	bool dirty; /* not relayed yet */
};

struct room_user {
	int64_t user_id;
	char username[33];
	struct health health;
	int conns;             /* connections on this node */
	int64_t offline_at_ms; /* pending offline after the grace period, 0 none */
	uint64_t remote;       /* other nodes (bits of hub.nodes) that have them here */
};

/* A presence change waiting for the room's next batch (large rooms). */
struct presence_change {
	int64_t user_id;
	char username[33];
	bool online;    /* the latest state */
	bool was;       /* what the room's members knew before the first change */
	uint64_t first; /* room presence sequence of the first and the latest change */
	uint64_t latest;
};

struct room {
	int64_t id;
	bool sync_playback, guest_control, keep_chat_history;
	struct yq_playback pb;
	lws_dll2_owner_t conns;
	struct room_user *users;
	size_t nusers, capusers;
	struct members members; /* the live member list (snapshots) */
	bool members_loaded;
	unsigned pending_auth; /* authentications under way that rely on members */
	/* bumped by every room event that changes who may be in and as what
	 * (left, kicked, roles, owner, config, dissolved): an authentication
	 * read before such an event is checked again (conn.c) */
	uint64_t epoch;
	/* presence batching: changes since the last batch, in order */
	struct presence_change *pending;
	size_t npending, cappending;
	uint64_t presence_seq;
	int64_t presence_next_ms; /* mono ms: the next batch, not before */
	/* the lead of playback commands: measured, smoothed */
	int64_t db_ms;     /* a playback change's round trip through the database */
	int64_t spread_ms; /* from queueing a broadcast to its last write here */
	/* sync health: changed since the last relay */
	bool health_dirty;
	int64_t health_sent_ms;
};

struct user_entry {
	int64_t user_id;
	int conns;
	int64_t offline_at_ms;
	lws_dll2_owner_t list; /* struct conn.in_user */
};

/* ---- connections ---- */
enum conn_state { CONN_AUTH, CONN_READY, CONN_CLOSING };

struct conn {
	struct lws *wsi;
	uint64_t uid;
	enum conn_state state;
	int64_t user_id;
	char username[33];
	int64_t room_id; /* 0 on /ws */
	struct room *room;
	enum yq_role role;
	int64_t last_rx_ms;
	int64_t since_ms; /* established */
	/* incoming message assembly (grown on demand, released when big) */
	char *rx;
	size_t rx_len, rx_cap;
	bool rx_overflow;
	/* messages that arrived while authenticating, handled once ready */
	struct yq_buf early;
	unsigned nearly;
	/* the room's epoch when the membership read was asked for, rounds so
	 * far, and last_notification_id (-1 absent) for a re-check */
	uint64_t auth_epoch;
	unsigned auth_rounds;
	int64_t last_id;
	struct sendq q;
	uint64_t presence_seq; /* the room's presence sequence its snapshot reflects */
	int close_code;
	const char *close_reason; /* static text (conn_close) */
	bool killed;              /* dropped as a slow consumer */
	bool hold_writes;         /* queued now, written at once (write_now) */
	/* flood control */
	struct bucket rl[RL_COUNT];
	struct bucket all;     /* every message, whatever its type (MSG_BUDGET) */
	unsigned limited;      /* rate_limited errors in the current window */
	int64_t limited_since; /* window start */
	lws_dll2_t in_user;
	lws_dll2_t in_room;
};

/* ---- the daemon's state (one per process, service thread only) ---- */
struct ws_config {
	unsigned port;
	char node_id[65];
	char allowed_origins[1024];
	unsigned heartbeat_timeout_s;
	unsigned presence_grace_ms;
	double rate;
	double burst;
	unsigned abuse_limit;
	size_t max_message;
	size_t sendq_bytes;
	unsigned recent_messages;
	unsigned presence_batch_above; /* members; larger rooms batch presence */
	unsigned snapshot_members;     /* rooms up to this are listed whole; 0: all */
	unsigned snapshot_partial;     /* how many a larger room's snapshot lists */
	unsigned auth_workers;         /* threads (and connections) authenticating */
	unsigned queue_poll_idle_ms;   /* the queue tail's longest idle wait */
	char metrics_listen[128];
	unsigned lead_min_ms, lead_max_ms; /* execute_at_ms of playback commands */
	unsigned health_interval_ms;       /* sync_health relay, per room */
	unsigned max_conns_per_user;       /* on this node; 0: no cap */
	size_t max_custom_event;           /* bytes of a custom_event's data */
	unsigned shutdown_timeout_ms;      /* SIGTERM: the longest drain */
	unsigned linger_ms;                /* a closed socket is drained this long at most */
};

/* ---- counters for GET /metrics (metrics.c) ---- */
enum drop_reason {
	DROP_SLOW_CONSUMER, /* messages queued for a connection dropped as slow */
	DROP_RATE_LIMITED,
	DROP_BUSY,
	DROP_BAD_REQUEST, /* not a valid envelope */
	DROP_UNKNOWN_TYPE,
	DROP_FORBIDDEN,
	DROP_COUNT,
};
struct ws_metrics {
	uint64_t drops[DROP_COUNT];
	struct {
		int code; /* 0: closed by the client or the network */
		uint64_t n;
	} closes[24];
	unsigned ncloses;
};
void metrics_count_close(int code);
/* Listen for GET /metrics on host:port: 0, or -1 logged. */
int metrics_listen(struct lws_context *ctx, const char *listen);

struct hub {
	struct lws_context *ctx;
	const struct yq_config *cfg;
	struct ws_config wc;
	uint64_t next_uid;
	struct map conns; /* uid -> struct conn */
	struct map users; /* user id -> struct user_entry */
	struct map rooms; /* room id -> struct room */
	lws_sorted_usec_list_t tick;
	int64_t last_presence_refresh_ms, last_heartbeat_sweep_ms;
	/* counters for logs and benchmarks */
	uint64_t sent, dropped_slow, writeables, presence_batches;
	uint64_t coalesced; /* of sent: written with others in one write */
	struct ws_metrics m;
	unsigned live_conns;          /* atomic: connections, read by the queue tail */
	volatile sig_atomic_t stop;   /* SIGTERM/SIGINT */
	volatile sig_atomic_t reload; /* SIGHUP */
	bool draining;                /* stopping: clients told 1001, database work flushing */
	bool done;                    /* drained: the service loop ends */
	bool evloop;                  /* lws runs on libev (else its poll loop) */
	/* ids of the other nodes seen in presence events */
	char nodes[64][65];
	unsigned nnodes;
	/* ids of unstored chat messages: [vol_next, vol_end) of the current
	 * block, a spare block (0: none) and whether one has been asked for */
	uint64_t vol_next, vol_end, vol_spare;
	bool vol_asked;
};

extern struct hub hub;

/* conn.c */
void conn_send(struct conn *c, struct msg *m);
/* The same, and write what is queued at once (playback commands). */
void conn_send_now(struct conn *c, struct msg *m);
void conn_send_json(struct conn *c, json_object *o); /* consumes o */
void conn_error(struct conn *c, const char *code, const char *message, json_object *ref);
/* Close after what is queued; reason is kept, not copied: static text. */
void conn_close(struct conn *c, int code, const char *reason);
/* Lingering closes (conn.c): read what closed clients still send, close
 * their sockets at EOF or after ws.linger_ms (all: now); how many remain. */
void conn_linger_sweep(int64_t now_ms, bool all);
unsigned conn_lingering(void);
extern const struct lws_protocols ws_protocols[];

/* hub.c */
/* What a connection refused with close code is told: the "error"
 * message's code and text (a table; unknown codes get a generic one). */
struct ws_close_text {
	int code;
	const char *error;
	const char *message;
};
const struct ws_close_text *ws_close_text(int code);
struct room *hub_room(int64_t id, bool create);
void hub_room_maybe_free(struct room *rm);
void hub_attach(struct conn *c); /* READY: into the user's and room's lists */
void hub_detach(struct conn *c); /* closing */
/* The user's password changed: close each of their connections here with
 * 4401 (a "sessions_ended" user event from the queue). */
void hub_end_sessions(int64_t user_id);
/* The user events handled since an auth batch's mark (res_auth.events_seen)
 * still known here?  Then send c its user's (hub.c). */
bool hub_recent_covers(uint64_t seen);
void hub_send_missed(struct conn *c, uint64_t seen);
void room_broadcast(struct room *rm, struct msg *m, struct conn *except);
void hub_tick(lws_sorted_usec_list_t *sul);
void hub_queue_event(const struct yq_event *ev);
/* Reserve a block of ids for unstored chat (unless one is asked for or
 * spare); done at start and whenever the current block is taken. */
void hub_ask_id_block(void);
/* A block of ids for unstored chat messages arrived. */
void hub_id_block(uint64_t block);
/* The next id for a chat message that is not stored, unique across nodes
 * (2^52 + block * 2^16 + k); 0 while this node holds no block yet. */
uint64_t hub_volatile_id(void);
/* The nodes with fresh presence rows (text: one id per line). */
void hub_live_nodes(const char *ids);
/* Fan a room message out here and relay it to the other nodes; with ref,
 * the sender's copy carries it. */
void room_publish(struct room *rm, const char *type, json_object *payload, struct conn *sender,
                  json_object *ref);
/* How far ahead the room's next play/pause/seek/rate executes (ms). */
int64_t room_command_lead(struct room *rm);
/* Broadcast a playback message, written to every socket at once, and
 * measure how long its fan-out takes. */
void room_broadcast_timed(struct room *rm, struct msg *m, const struct conn *except);
/* A member's heart_beat health; relayed by hub_tick. */
void room_health(struct room *rm, int64_t user_id, const struct health *h);

/* protocol.c */
void protocol_handle(struct conn *c, const char *text, size_t len);
void protocol_metrics(struct yq_buf *b); /* yiqikan_ws_messages_in_total lines */

/* dbworker.c */
enum job_kind {
	JOB_AUTH,
	JOB_CHAT,
	JOB_RELAY,
	JOB_PRESENCE_RELAY, /* a presence row for the other nodes (presence queue) */
	JOB_PLAYBACK,       /* apply a change under the room's playback row lock */
	JOB_PRESENCE_UP,
	JOB_PRESENCE_DOWN,
	JOB_PRESENCE_REFRESH,
	JOB_LIVE_NODES, /* which nodes still refresh presence rows */
	JOB_ID_BLOCK,   /* reserve a block of ids for unstored chat messages */
};

/* One struct per kind of job, behind the fields every job has. */
struct job_auth {
	bool by_ticket;        /* ticket_hash names the user, else the token (text) or a recheck */
	char ticket_hash[65];  /* by_ticket */
	int64_t token_version; /* a token's "ver": checked against the user's */
	bool recheck;          /* credentials were accepted: read membership again */
	bool skip_members;     /* the room's member list is loaded here already */
	bool hold_room;        /* the room is kept for this job (pending_auth) */
	uint64_t epoch;        /* the room's epoch when the job was submitted */
	int64_t last_id;       /* last_notification_id, -1 when absent */
};
struct job_chat { /* store a chat message; text is the message */
	char username[33];
	char ref[96]; /* the client's "id" as JSON text, for the reply */
};
struct job_relay { /* text is the payload of a room message of this type */
	char type[33];
};
struct job_playback {             /* apply a change under the room's playback row lock */
	struct pb_change *change; /* malloc'd */
	int64_t lead_ms;          /* execute this far ahead */
	int64_t submitted_ms;     /* mono ms, to measure the round trip */
	char username[33];
	char ref[96];
};
struct job_presence {    /* JOB_PRESENCE_UP */
	int connections; /* the user's on this node */
};

struct job {
	enum job_kind kind;
	uint64_t uid;    /* the connection that asked, 0 none */
	int64_t room_id; /* 0 none */
	int64_t user_id; /* 0 none (auth by ticket: not known yet) */
	char *text; /* JOB_CHAT, JOB_RELAY, JOB_PRESENCE_RELAY: malloc'd; JOB_AUTH: the token */
	size_t text_len;
	union {
		struct job_auth auth;
		struct job_chat chat;
		struct job_relay relay;
		struct job_playback playback;
		struct job_presence presence;
	};
	struct job *next;
};

enum result_kind {
	RES_AUTH,
	RES_CHAT_SAVED,
	RES_EVENTS,
	RES_PLAYBACK,
	RES_LIVE_NODES,
	RES_ID_BLOCK,
	RES_ROOM, /* a room's member list and state, read for connects to it */
};

struct res_auth {
	int status; /* 0 ok, else a close code */
	char username[33];
	char *avatar_url; /* the user's */
	enum yq_role role;
	bool sync_playback, guest_control, keep_chat_history;
	struct yq_playback pb;
	char *room_json;      /* summary for the snapshot */
	int64_t held_room;    /* the room kept for it (pending_auth), 0 none */
	uint64_t epoch;       /* the job's */
	uint64_t events_seen; /* queue events the tail had handed over when the batch began */
	char *recent_json;
	char **replay; /* notification messages, ready to send */
	size_t nreplay;
	bool replay_after; /* the client gave last_notification_id */
};
struct res_chat {
	char username[33];
	char *text; /* the message */
	char ref[96];
	int64_t msg_id; /* 0: not stored */
	int64_t created_at_ms;
};
struct res_playback {
	int status; /* 0 made, else the yq_err it failed with (pb and payload unset) */
	struct yq_playback pb;
	char type[33]; /* play_control or progress_sync */
	char *payload; /* the broadcast payload (JSON) */
	char ref[96];
	int64_t submitted_ms; /* the job's */
};
struct res_room { /* posted before the answers of the batch that read it */
	struct members members;
	struct yq_playback pb;
	bool sync_playback, guest_control, keep_chat_history;
	uint64_t epoch; /* the room's epoch when the newest job of the batch was submitted */
};
struct res_events {
	struct yq_event *v;
	unsigned n;
};

struct result {
	enum result_kind kind;
	uint64_t uid;    /* the connection it answers, 0 none */
	int64_t room_id; /* 0 none */
	int64_t user_id; /* 0 none */
	union {
		struct res_auth auth;
		struct res_chat chat;
		struct res_playback playback;
		struct res_events events;
		struct res_room room;
		char *live_nodes;  /* RES_LIVE_NODES: one node id per line */
		uint64_t id_block; /* RES_ID_BLOCK: the block number, 0 none */
	};
	struct result *next;
};

/* Job queues, each with its own thread(s) and database connection(s), so
 * a burst of connects never holds up room traffic. */
enum jobq {
	JOBQ_AUTH,     /* connects, in batches */
	JOBQ_ROOM,     /* chat, playback, relay, id blocks: in order */
	JOBQ_PRESENCE, /* presence rows, in order (consecutive upserts in one statement) */
	JOBQ_COUNT,
};
unsigned dbworker_queued(int q);
const char *dbworker_queue_name(int q);
int64_t dbworker_tail_lag_ms(void); /* since the queue tail last reached the head */
int dbworker_start(struct hub *h);
void dbworker_stop(void);
void dbworker_unwake(void);          /* before lws_context_destroy: results no longer wake it */
void dbworker_submit(struct job *j); /* takes ownership */
/* More jobs waiting than the worker should hold (DBWORKER_BUSY): room
 * traffic is refused ("busy") rather than queued without bound. */
#define DBWORKER_BUSY 20000
bool dbworker_busy(int q);
/* Datagrams (ws.wake_listen) that ended an idle wait of the queue tail. */
uint64_t dbworker_tail_wakeups(void);
/* No job queued or running and no result waiting for the service thread
 * (a clean shutdown waits for this, conn.c's results may queue more). */
bool dbworker_idle(void);
void dbworker_tail_kick(void);         /* end the queue tail's idle wait now */
struct result *dbworker_results(void); /* the list of finished results */
void result_free(struct result *r);

#endif
