/*
 * roomview.h - one read model of a room, shared by the REST app
 * (src/api/rooms*.c) and the ws daemon (ws/dbworker.c, ws/members.c,
 * ws/playback.c), as notify.h is for notifications: the room row with the
 * viewer's relation to it, the visibility rule, the summary JSON, the
 * member list, the playback row and the chat-message JSON.  A field added
 * here reaches both processes at once.
 */
#ifndef YQ_ROOMVIEW_H
#define YQ_ROOMVIEW_H

#include "core/db.h"
#include "core/perm.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- the room row, as a viewer sees it ---- */
struct yq_room {
	long long id;
	long long owner_id;
	char owner_name[33];
	char name[257];
	char description[2001];
	bool is_public, require_approval, keep_chat_history, sync_playback, guest_control;
	long long max_members;
	long long member_count;
	char created_at[24];
	bool dissolved;
	/* the viewer's relation */
	enum yq_role role;
	long long invitation_id; /* pending invitation, 0 if none */
	bool applied;            /* pending application */
	long long online_count;  /* REST's extra column (members online), else 0 */
};

/* The room row and the viewer's relation, columns 0..YQ_ROOM_COLUMNS-1
 * (yq_room_from_row); extra: more columns (SQL text with a leading comma,
 * or "") before FROM.  Parameters: viewer id, viewer id, those of extra,
 * viewer id, then the caller's WHERE clause. */
#define YQ_ROOM_COLUMNS 17
/* The same columns for the viewer named by the SQL expression u (a
 * column of a joined list of viewers: several viewers in one statement). */
#define YQ_ROOM_COLUMNS_FOR(u) \
	YQ_ROOM_OWN_COLUMNS YQ_ROOM_INVITATION_OF(u) ", " YQ_ROOM_APPLIED_OF(u) " "
/* The same, the pending invitation and application asked only of viewers
 * who are not members (for whom they decide whether a private room is
 * visible); a member's are NULL and false.  The ws auth batch: a join
 * storm's viewers are members, two index probes each saved. */
#define YQ_ROOM_COLUMNS_FOR_NONMEMBER(u)                                 \
	YQ_ROOM_OWN_COLUMNS "IF(m.role IS NULL, " YQ_ROOM_INVITATION_OF( \
	        u) ", NULL), "                                           \
	           "m.role IS NULL AND " YQ_ROOM_APPLIED_OF(u) " "
/* the parts of the above */
#define YQ_ROOM_OWN_COLUMNS                                                                \
	"r.id, r.owner_id, o.username, r.name, r.description, r.is_public, "               \
	"r.require_approval, r.keep_chat_history, r.sync_playback, r.guest_control, "      \
	"r.max_members, r.member_count, DATE_FORMAT(r.created_at, '%Y-%m-%dT%H:%i:%sZ'), " \
	"r.dissolved_at IS NOT NULL, m.role, "
#define YQ_ROOM_INVITATION_OF(u)                                                            \
	"(SELECT i.id FROM room_invitations i WHERE i.room_id = r.id AND i.invitee_id = " u \
	" AND i.status = 'pending')"
#define YQ_ROOM_APPLIED_OF(u)                                                                 \
	"EXISTS (SELECT 1 FROM room_applications a WHERE a.room_id = r.id AND a.user_id = " u \
	" AND a.status = 'pending')"
#define YQ_ROOM_SELECT(extra)                                     \
	"SELECT " YQ_ROOM_COLUMNS_FOR("?") extra                  \
	        " "                                               \
	        "FROM rooms r JOIN users o ON o.id = r.owner_id " \
	        "LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = ? "

void yq_room_from_row(const struct yq_rows *rows, unsigned i, struct yq_room *rm);
/* A dissolved room is gone for everyone; a private one exists only for
 * its members and the people invited to or applying for it. */
bool yq_room_visible(const struct yq_room *rm);
json_object *yq_user_ref(long long id, const char *username);
json_object *yq_room_config_json(const struct yq_room *rm);
/* {id, name, description, owner, member_count, config, created_at} */
json_object *yq_room_summary_json(const struct yq_room *rm);

/* ---- the member list ---- */
/* id, username, avatar_url, role, joined_at (ISO 8601), online (a
 * presence row younger than ? seconds); parameters: presence.ttl, room id.
 * Owner, moderators, members, each by when they joined. */
#define YQ_ROOM_MEMBERS_SELECT                                                      \
	"SELECT u.id, u.username, u.avatar_url, m.role, "                           \
	"DATE_FORMAT(m.joined_at, '%Y-%m-%dT%H:%i:%sZ'), "                          \
	"EXISTS (SELECT 1 FROM presence p WHERE p.user_id = u.id "                  \
	"AND p.seen_at > NOW() - INTERVAL ? SECOND) "                               \
	"FROM room_members m JOIN users u ON u.id = m.user_id WHERE m.room_id = ? " \
	"ORDER BY FIELD(m.role, 'owner', 'moderator', 'member'), m.joined_at, u.id"
/* {id, username, avatar_url, role}: what every member listing starts with */
json_object *yq_member_json(long long id, const char *username, const char *avatar_url,
                            enum yq_role role);

/* ---- the playback row ---- */
struct yq_playback {
	char media_url[2049];
	bool playing;
	int64_t position_ms;
	double rate;
	uint64_t version;
	int64_t updated_at_ms;
};
/* the columns of room_playback p, for a statement that joins it */
#define YQ_PLAYBACK_COLUMNS \
	"p.media_url, p.state, p.position_ms, p.rate, p.version, p.updated_at_ms"
/* parameter: room id; no row is the initial state */
#define YQ_PLAYBACK_SELECT "SELECT " YQ_PLAYBACK_COLUMNS " FROM room_playback p WHERE p.room_id = ?"
/* Row i of YQ_PLAYBACK_SELECT (or the initial state when rows has none). */
void yq_playback_from_row(const struct yq_rows *rows, unsigned i, struct yq_playback *pb);
/* The same from YQ_PLAYBACK_COLUMNS at column col of row i; a LEFT JOIN
 * that found no row (NULL version) is the initial state. */
void yq_playback_from_cols(const struct yq_rows *rows, unsigned i, unsigned col,
                           struct yq_playback *pb);
/* {media_url, state, position_ms, rate, version, updated_at_ms} */
json_object *yq_playback_json(const struct yq_playback *pb);

/* ---- chat messages ---- */
/* id, room_id, user_id, username, text, created_at_ms of chat_messages c
 * joined with users u */
#define YQ_CHAT_COLUMNS                                    \
	"c.id, c.room_id, c.user_id, u.username, c.text, " \
	"CAST(UNIX_TIMESTAMP(c.created_at) * 1000 AS INTEGER)"
/* {id, room_id, user_id, username, text, created_at_ms} */
json_object *yq_chat_json(long long id, long long room_id, long long user_id, const char *username,
                          const char *text, long long created_at_ms);
/* Row i, columns from `first` on in YQ_CHAT_COLUMNS order. */
json_object *yq_chat_json_row(const struct yq_rows *rows, unsigned i, unsigned first);

#endif
