/*
 * rooms.h - SPEC section 3 inside the REST app: what the rooms-*.c files
 * share.  One file per concern, as tmux keeps one cmd-*.c per command:
 *
 *   rooms.c               room CRUD: create, list, get, config, dissolve
 *   rooms-members.c       membership: join, leave, the member list, kick
 *   rooms-invitations.c   invite, my invitations, decline
 *   rooms-applications.c  apply, the pending list, approve, reject
 *   rooms-roles.c         set a member's role, transfer the room
 *   rooms-chat.c          chat history
 *   rooms-tx.c            loading a room as the caller sees it, the one
 *                         visibility/permission rule, the transaction
 *                         framework and the views (room, invitation,
 *                         application)
 *
 * Every handler starts from a room loaded with the caller's relation to
 * it (role, pending invitation, pending application).  What the caller may
 * see and do is decided in one place, room_refusal(): 404 unless
 * yq_room_visible() (so private rooms never leak), then 403 unless
 * yq_perm_allowed() (src/core/perm.c).  room_for() answers that refusal
 * at once, tx_room() makes it the transaction's refusal.
 *
 * Changes run in transactions (tx_run) that first lock the room row, so
 * capacity checks and state transitions are serialized per room: 20 users
 * joining a room with 10 places at once fill exactly the free places.
 * Each change creates, in the same transaction, the notifications of SPEC
 * section 4 and the room event the ws daemons broadcast.
 */
#ifndef YQ_API_ROOMS_H
#define YQ_API_ROOMS_H

#include "api/handlers.h"
#include "core/json.h"
#include "core/notify.h"
#include "core/perm.h"
#include "core/roomview.h"

/* A transaction function's refusal (t->status, t->detail say which). */
#define TX_DENY (-100)

/* Which settings of SPEC section 3 a body sets (create, config). */
struct room_settings {
	bool has_is_public, has_require_approval, has_keep_chat_history, has_sync_playback,
	        has_guest_control, has_max_members;
	bool is_public, require_approval, keep_chat_history, sync_playback, guest_control;
	int max_members;
};

/* A room body's fields, validated once, before any transaction: name and
 * description may come at the top level or inside "config" (top level
 * first), settings at either (those in "config" last). */
struct room_fields {
	const char *name, *desc; /* NULL when absent; point into the body */
	struct room_settings set;
};

/* One room change, run by tx_run() (retried as a whole on a deadlock).
 * The union holds the inputs of the one kind of change fn makes: the
 * member named after it. */
struct tx {
	struct yq_req *r;
	int (*fn)(struct tx *t);
	long long room_id; /* the room acted on (create: set by create_fn) */
	struct yq_room rm; /* the locked room, once tx_room() loaded it */
	json_object *out;  /* the answer's body (NULL: none); owned by the tx */
	int status;        /* with TX_DENY: the refusal */
	const char *detail;
	union {
		struct room_fields create, config;
		struct {
			long long user_id;
		} target; /* invite, kick, transfer */
		struct {
			long long user_id;
			enum yq_role role; /* member or moderator */
		} set_role;
		struct {
			const char *message; /* NULL when absent */
		} apply;
		struct {
			long long app_id;
			bool approve; /* else reject */
		} decide;
		struct {
			long long inv_id;
		} decline;
	} u;
};

/* ---- loading and the rule (rooms-tx.c) ---- */

/* Load room id as the caller sees it; YQ_ENOTFOUND when there is none.
 * With lock, the room row is locked first (inside a transaction). */
int room_load(struct yq_req *r, long long id, bool lock, struct yq_room *rm);
/* Load a room for a handler, answering 404 (not visible) or 403 (act not
 * allowed; YQ_ACT_NONE: visibility only) itself: 0, or -1 answered. */
int room_for(struct yq_req *r, long long id, enum yq_action act, struct yq_room *rm);

/* ---- transactions ---- */

/* Refuse the transaction: returns TX_DENY for fn to return. */
int tx_deny(struct tx *t, int status, const char *detail);
/* Run t->fn in a transaction: 0, or -1 with the refusal or the database
 * error answered (t->out freed). */
int tx_run(struct tx *t);
/* Lock and load t->room_id into t->rm under room_for()'s rule. */
int tx_room(struct tx *t, enum yq_action act);
/* t->out = row_json(the first row of sql run with id): the "fetch the row,
 * to JSON, free" tail of every change that answers with what it wrote. */
int tx_out_row(struct tx *t, const char *sql, long long id,
               json_object *(*row_json)(const struct yq_rows *rows, unsigned i));

/* Notify a user in the transaction; content is consumed. */
int tx_tell(struct tx *t, long long user_id, const char *type, json_object *content);
/* Queue a room event {event, room_id, ...payload} of t->rm; payload is consumed. */
int tx_announce(struct tx *t, const char *event, json_object *payload);
/* A notification's content about t->rm, with "by" when by is given. */
json_object *room_content(const struct yq_room *rm, const struct yq_user *by);
/* {user, role?} of a room event (role omitted for YQ_ROLE_NONE). */
json_object *member_payload(long long uid, const char *username, enum yq_role role);
/* {room_id, user_id, role}: the answer of join and set_role. */
json_object *membership_json(const struct yq_room *rm, long long uid, enum yq_role role);
/* A user's role in t->rm (row locked), with their username when asked. */
int member_role(struct tx *t, long long uid, enum yq_role *role, char *username, size_t usz);
/* tx_room(t, act), then the role and username (33 bytes) of the member uid
 * acts on: 404 when uid is no member. */
int tx_room_member(struct tx *t, enum yq_action act, long long uid, enum yq_role *role,
                   char *username);
/* Lock the one row sql selects with ids a and b into *rows (free it):
 * 0, a database error, or a 404 refusal with detail when there is none. */
int tx_lock_row(struct tx *t, const char *sql, long long a, long long b, const char *detail,
                struct yq_rows **rows);
/* Add a user to t->rm: capacity (409 full), row, count, event. */
int add_member(struct tx *t, long long uid, const char *username);
/* Remove a user from t->rm (404 when not a member), count. */
int remove_member(struct tx *t, long long uid);

/* ---- handlers' shapes ---- */

/* Reads a handler's body fields into t, recording 422 entries. */
typedef void (*tx_fields)(struct yq_req *r, json_object *body, struct tx *t);
/* What a handler with a body answers after its tx. */
enum tx_answer {
	TX_ANSWER_OUT,  /* t->out with the status, or the status alone */
	TX_ANSWER_ROOM, /* the room (room_show) with the status */
};
/* The shape of every handler with a JSON body whose work is one tx: read
 * the fields into t (fields may be NULL), answer their 422, run t, answer.
 * t is the handler's, with r, fn and the path's ids set. */
int tx_body(struct yq_req *r, struct tx *t, tx_fields fields, int status, enum tx_answer answer);
/* Read {room_id} (join, leave, invite, apply) into t->room_id. */
void room_id_field(struct yq_req *r, json_object *body, struct tx *t);
/* Read {user_id} (invite, transfer) into t->u.target. */
void target_field(struct yq_req *r, json_object *body, struct tx *t);

/* ---- views ---- */

/* The room as this caller may see it (SPEC: "by identity"), answered. */
int room_view(struct yq_req *r, const struct yq_room *rm, int status);
/* Load room id again and answer room_view(): the tail of the changes
 * that answer with the room. */
int room_show(struct yq_req *r, long long id, int status);
/* A list item: the summary of a row of ROOM_SELECT. */
json_object *room_item(const struct yq_rows *rows, unsigned i);
/* A row of ROOM_MEMBERS_PAGE_COLUMNS / YQ_ROOM_MEMBERS_SELECT. */
json_object *member_json(const struct yq_rows *rows, unsigned i);
json_object *application_json(const struct yq_rows *rows, unsigned i);
json_object *invitation_json(const struct yq_rows *rows, unsigned i);

/* the room row with the caller's relation (src/core/roomview.h), and the
 * members online (REST's one extra column) */
#define ROOM_SELECT                                                                      \
	YQ_ROOM_SELECT(", (SELECT COUNT(DISTINCT mm.user_id) FROM room_members mm JOIN " \
	               "presence p ON p.user_id = mm.user_id AND p.seen_at > NOW() - "   \
	               "INTERVAL ? SECOND WHERE mm.room_id = r.id)")

#define ROOM_SELECT_PARAMS(r)                                                            \
	YQ_PINT((r)->user->id), YQ_PINT((r)->user->id), YQ_PINT((r)->cfg->presence_ttl), \
	        YQ_PINT((r)->user->id)

/* id, room_id, user id, username, message, status, created_at */
#define APPLICATION_SELECT                                                \
	"SELECT a.id, a.room_id, u.id, u.username, a.message, a.status, " \
	"DATE_FORMAT(a.created_at, '%Y-%m-%dT%H:%i:%sZ') "                \
	"FROM room_applications a JOIN users u ON u.id = a.user_id "

/* id, room_id, room name, inviter id, inviter name, invitee id, invitee
 * name, status, created_at */
#define INVITATION_SELECT                                                                \
	"SELECT i.id, i.room_id, r.name, a.id, a.username, b.id, b.username, i.status, " \
	"DATE_FORMAT(i.created_at, '%Y-%m-%dT%H:%i:%sZ') "                               \
	"FROM room_invitations i JOIN rooms r ON r.id = i.room_id "                      \
	"JOIN users a ON a.id = i.inviter_id JOIN users b ON b.id = i.invitee_id "

#endif
