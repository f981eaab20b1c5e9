/*
 * roomview.c - the room read model of roomview.h.
 */
#include "config.h"

#include "core/json.h"
#include "core/roomview.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

void
yq_room_from_row(const struct yq_rows *rows, unsigned i, struct yq_room *rm)
{
	memset(rm, 0, sizeof(*rm));
	rm->id = yq_rows_int(rows, i, 0);
	rm->owner_id = yq_rows_int(rows, i, 1);
	yq_strlcpy(rm->owner_name, yq_rows_str(rows, i, 2), sizeof(rm->owner_name));
	yq_strlcpy(rm->name, yq_rows_str(rows, i, 3), sizeof(rm->name));
	yq_strlcpy(rm->description, yq_rows_str(rows, i, 4), sizeof(rm->description));
	rm->is_public = yq_rows_int(rows, i, 5);
	rm->require_approval = yq_rows_int(rows, i, 6);
	rm->keep_chat_history = yq_rows_int(rows, i, 7);
	rm->sync_playback = yq_rows_int(rows, i, 8);
	rm->guest_control = yq_rows_int(rows, i, 9);
	rm->max_members = yq_rows_int(rows, i, 10);
	rm->member_count = yq_rows_int(rows, i, 11);
	yq_strlcpy(rm->created_at, yq_rows_str(rows, i, 12), sizeof(rm->created_at));
	rm->dissolved = yq_rows_int(rows, i, 13);
	rm->role = yq_role_parse(yq_rows_str(rows, i, 14));
	rm->invitation_id = yq_rows_int(rows, i, 15);
	rm->applied = yq_rows_int(rows, i, 16);
}

bool
yq_room_visible(const struct yq_room *rm)
{
	return !rm->dissolved &&
	       (rm->is_public || rm->role != YQ_ROLE_NONE || rm->invitation_id || rm->applied);
}

json_object *
yq_user_ref(long long id, const char *username)
{
	json_object *o = json_object_new_object();

	yq_json_add_int(o, "id", id);
	yq_json_add_str(o, "username", username);
	return o;
}

json_object *
yq_room_config_json(const struct yq_room *rm)
{
	json_object *c = json_object_new_object();

	yq_json_add_bool(c, "is_public", rm->is_public);
	yq_json_add_bool(c, "require_approval", rm->require_approval);
	yq_json_add_bool(c, "keep_chat_history", rm->keep_chat_history);
	yq_json_add_bool(c, "sync_playback", rm->sync_playback);
	yq_json_add_bool(c, "guest_control", rm->guest_control);
	yq_json_add_int(c, "max_members", rm->max_members);
	return c;
}

json_object *
yq_room_summary_json(const struct yq_room *rm)
{
	json_object *o = json_object_new_object();

	yq_json_add_int(o, "id", rm->id);
	yq_json_add_str(o, "name", rm->name);
	yq_json_add_str(o, "description", rm->description);
	json_object_object_add(o, "owner", yq_user_ref(rm->owner_id, rm->owner_name));
	yq_json_add_int(o, "member_count", rm->member_count);
	json_object_object_add(o, "config", yq_room_config_json(rm));
	yq_json_add_str(o, "created_at", rm->created_at);
	return o;
}

json_object *
yq_member_json(long long id, const char *username, const char *avatar_url, enum yq_role role)
{
	json_object *m = json_object_new_object();

	yq_json_add_int(m, "id", id);
	yq_json_add_str(m, "username", username);
	yq_json_add_str(m, "avatar_url", avatar_url ? avatar_url : "");
	yq_json_add_str(m, "role", yq_role_name(role));
	return m;
}

void
yq_playback_from_row(const struct yq_rows *rows, unsigned i, struct yq_playback *pb)
{
	yq_playback_from_cols(rows, i, 0, pb);
}

void
yq_playback_from_cols(const struct yq_rows *rows, unsigned i, unsigned col, struct yq_playback *pb)
{
	memset(pb, 0, sizeof(*pb));
	pb->rate = 1.0;
	if (!rows || i >= rows->nrows || col + 6 > rows->ncols || !yq_rows_str(rows, i, col + 4))
		return;
	yq_strlcpy(pb->media_url, yq_rows_str(rows, i, col), sizeof(pb->media_url));
	pb->playing = strcmp(yq_rows_str(rows, i, col + 1), "playing") == 0;
	pb->position_ms = yq_rows_int(rows, i, col + 2);
	pb->rate = strtod(yq_rows_str(rows, i, col + 3), NULL);
	pb->version = (uint64_t)yq_rows_int(rows, i, col + 4);
	pb->updated_at_ms = yq_rows_int(rows, i, col + 5);
}

json_object *
yq_playback_json(const struct yq_playback *pb)
{
	json_object *o = json_object_new_object();

	yq_json_add_str(o, "media_url", pb->media_url);
	yq_json_add_str(o, "state", pb->playing ? "playing" : "paused");
	yq_json_add_int(o, "position_ms", pb->position_ms);
	json_object_object_add(o, "rate", json_object_new_double(pb->rate));
	yq_json_add_int(o, "version", (long long)pb->version);
	yq_json_add_int(o, "updated_at_ms", pb->updated_at_ms);
	return o;
}

json_object *
yq_chat_json(long long id, long long room_id, long long user_id, const char *username,
             const char *text, long long created_at_ms)
{
	json_object *m = json_object_new_object();

	yq_json_add_int(m, "id", id);
	yq_json_add_int(m, "room_id", room_id);
	yq_json_add_int(m, "user_id", user_id);
	yq_json_add_str(m, "username", username);
	yq_json_add_str(m, "text", text);
	yq_json_add_int(m, "created_at_ms", created_at_ms);
	return m;
}

json_object *
yq_chat_json_row(const struct yq_rows *rows, unsigned i, unsigned f)
{
	return yq_chat_json(yq_rows_int(rows, i, f), yq_rows_int(rows, i, f + 1),
	                    yq_rows_int(rows, i, f + 2), yq_rows_str(rows, i, f + 3),
	                    yq_rows_str(rows, i, f + 4), yq_rows_int(rows, i, f + 5));
}
