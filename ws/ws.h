/*
 * ws.h - yiqikan-ws, the WebSocket daemon: shared types.
 *
 * Threads:
 *   - the lws service thread (main.c, conn.c, hub.c, protocol.c) owns every
 *     connection, every room's live state and all of lws.  It never calls
 *     MariaDB.
 *   - the database worker (dbworker.c) runs jobs the service thread hands
 *     it (authenticate a connection, store a chat message, persist
 *     playback, presence rows, relay room traffic to the queue) on its own
 *     connection, in order.
 *   - the queue tail (dbworker.c) polls the event queue with the reader of
 *     src/core/queue.c on a second connection.
 *   Results come back through a locked list and lws_cancel_service(); the
 *   service thread picks them up in LWS_CALLBACK_EVENT_WAIT_CANCELLED.
 *   Connections are named by a 64-bit id in results, never by pointer, so
 *   a result for a connection that has gone meanwhile is dropped.
 *
 * Writes to a client go through a bounded per-connection queue of shared,
 * reference-counted messages, one lws_write() per WRITEABLE callback; a
 * client whose queue overflows is dropped (slow consumer).
 */
#ifndef YQ_WS_H
#define YQ_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <libwebsockets.h>

#include "core/config.h"
#include "core/perm.h"
#include "core/queue.h"
#include "core/util.h"

/* ---- close codes (SPEC section 5) ---- */
enum {
	WS_CLOSE_BAD_TOKEN = 4401,
	WS_CLOSE_FORBIDDEN = 4403,
	WS_CLOSE_NOT_FOUND = 4404,
	WS_CLOSE_TIMEOUT = 4408,
	WS_CLOSE_ABUSE = 4429,
};

/* The send queue grows from a few slots to at most this many messages;
 * past SENDQ_SOFT_COUNT it counts as overfilled like past its byte limit. */
#define SENDQ_MAX        16384
#define SENDQ_SOFT_COUNT 1024

/* ---- shared, reference-counted outgoing messages ---- */
struct msg {
	int refs;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes, then len bytes of JSON */
};

struct msg *msg_new(const char *json, size_t len);
struct msg *msg_from_json(json_object *o); /* adds "ts" when absent */
void msg_unref(struct msg *m);

/* ---- a connection's send queue: a growable ring of shared messages (flow.c) ---- */
struct sendq {
	struct msg **q;
	unsigned head, count, cap; /* cap is 0 or a power of two */
	size_t bytes;
	int64_t over_since_ms; /* above the soft limit since, 0 if not */
};
/* Queue m (taking a reference).  A burst may pass the soft byte limit for
 * SENDQ_SLOW_GRACE_MS; a queue that stays above it, reaches four times it
 * or SENDQ_MAX messages belongs to a slow consumer: -1, nothing queued. */
#define SENDQ_SLOW_GRACE_MS 2000
int sendq_push(struct sendq *q, struct msg *m, size_t soft_limit, int64_t now_ms);
struct msg *sendq_pop(struct sendq *q); /* the caller owns the reference */
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

/* ---- a bounded map of 64-bit keys (hub.c) ---- */
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
/* true when an event may pass now */
bool bucket_take(struct bucket *b, double rate_per_s, double burst, int64_t now_ms);

/* ---- playback ---- */
struct playback {
	char media_url[2049];
	bool playing;
	int64_t position_ms;
	double rate;
	uint64_t version;
	int64_t updated_at_ms;
};
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

/* playback.c: pure functions, unit-tested */
int64_t playback_position(const struct playback *p, int64_t now_ms);
json_object *playback_json(const struct playback *p);
/* Apply a change at now_ms: the new state with version + 1. */
void playback_apply(struct playback *p, const struct pb_change *c, int64_t now_ms);
const char *playback_action_name(enum pb_action a);
/* The broadcast payload of a change (play_control or progress_sync). */
json_object *playback_event(const struct playback *p, const struct pb_change *c, int64_t by_id,
                            const char *by_name);

/* ---- rooms and users this node serves ---- */
struct room_user {
	int64_t user_id;
	char username[33];
	int conns;             /* connections on this node */
	int64_t offline_at_ms; /* pending offline after the grace period, 0 none */
	uint64_t remote;       /* other nodes (bits of hub.nodes) that have them here */
};

struct room {
	int64_t id;
	bool sync_playback, guest_control, keep_chat_history;
	struct playback pb;
	uint64_t seq; /* ids for messages that are not stored */
	lws_dll2_owner_t conns;
	struct room_user *users;
	size_t nusers, capusers;
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
	struct sendq q;
	int close_code;
	char close_reason[64];
	/* flood control */
	struct bucket rl[RL_COUNT];
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
};

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
	uint64_t sent, dropped_slow;
	/* ids of the other nodes seen in presence events */
	char nodes[64][65];
	unsigned nnodes;
};

extern struct hub hub;

/* conn.c */
void conn_send(struct conn *c, struct msg *m);
void conn_send_json(struct conn *c, json_object *o); /* consumes o */
void conn_error(struct conn *c, const char *code, const char *message, json_object *ref);
void conn_close(struct conn *c, int code, const char *reason);
extern const struct lws_protocols ws_protocols[];

/* hub.c */
struct room *hub_room(int64_t id, bool create);
void hub_room_maybe_free(struct room *rm);
void hub_attach(struct conn *c); /* READY: into the user's and room's lists */
void hub_detach(struct conn *c); /* closing */
void room_broadcast(struct room *rm, struct msg *m, struct conn *except);
void user_send(int64_t user_id, struct msg *m);
void hub_tick(lws_sorted_usec_list_t *sul);
void hub_queue_event(const struct yq_event *ev);
/* The nodes with fresh presence rows (text: one id per line). */
void hub_live_nodes(const char *ids);
/* Fan a room message out here and relay it to the other nodes; with ref,
 * the sender's copy carries it. */
void room_publish(struct room *rm, const char *type, json_object *payload, struct conn *sender,
                  json_object *ref);

/* protocol.c */
void protocol_handle(struct conn *c, const char *text, size_t len);

/* dbworker.c */
enum job_kind {
	JOB_AUTH,
	JOB_CHAT,
	JOB_RELAY,
	JOB_PLAYBACK, /* apply a change under the room's playback row lock */
	JOB_PRESENCE_UP,
	JOB_PRESENCE_DOWN,
	JOB_PRESENCE_REFRESH,
	JOB_LIVE_NODES, /* which nodes still refresh presence rows */
};

struct job {
	enum job_kind kind;
	uint64_t uid;
	int64_t room_id;
	int64_t user_id;
	int64_t num;     /* token version (auth), connections (presence) */
	int64_t last_id; /* last_notification_id, -1 when absent */
	bool flag;       /* auth by ticket (secret) rather than token */
	char secret[65]; /* ticket hash */
	char type[33];
	char *text; /* JSON payload or chat text, malloc'd */
	size_t text_len;
	char username[33];
	char ref[96];             /* the client's "id" as JSON text, for the reply */
	struct pb_change *change; /* JOB_PLAYBACK only (malloc'd) */
	struct job *next;
};

enum result_kind { RES_AUTH, RES_CHAT_SAVED, RES_EVENTS, RES_PLAYBACK, RES_LIVE_NODES };

struct result {
	enum result_kind kind;
	uint64_t uid;
	int status; /* RES_AUTH: 0 ok, else a close code */
	int64_t user_id;
	char username[33];
	enum yq_role role;
	int64_t room_id;
	bool sync_playback, guest_control, keep_chat_history;
	struct playback pb;
	char *room_json; /* summary for the snapshot */
	char *members_json;
	char *recent_json;
	char **replay;     /* notification messages, ready to send */
	bool replay_after; /* the client gave last_notification_id */
	size_t nreplay;
	/* RES_CHAT_SAVED; RES_PLAYBACK: the broadcast payload in text, type */
	char type[33];
	char *text;
	char ref[96];
	int64_t msg_id;
	int64_t created_at_ms;
	/* RES_EVENTS */
	struct yq_event *events;
	unsigned nevents;
	struct result *next;
};

int dbworker_start(struct hub *h);
void dbworker_stop(void);
void dbworker_submit(struct job *j); /* takes ownership */
/* More jobs waiting than the worker should hold (DBWORKER_BUSY): room
 * traffic is refused ("busy") rather than queued without bound. */
#define DBWORKER_BUSY 20000
bool dbworker_busy(void);
struct result *dbworker_results(void); /* the list of finished results */
void result_free(struct result *r);

#endif
