/*
 * rooms-chat.c - a room's chat history (SPEC section 3): the messages
 * stored while keep_chat_history is on, for members, newest first.  New
 * messages arrive over the WebSocket (ws/protocol.c).
 */
#include "config.h"

#include "api/rooms.h"

/* YQ_CHAT_COLUMNS, then created_at */
static json_object *
message_json(const struct yq_rows *rows, unsigned i)
{
	json_object *m = yq_chat_json_row(rows, i, 0);

	yq_json_add_str(m, "created_at", yq_rows_str(rows, i, 6));
	return m;
}

/* GET /rooms/{id}/messages?before_id=: members only, newest first. */
int
h_rooms_messages(struct yq_req *r)
{
	static const char sql[] = "SELECT " YQ_CHAT_COLUMNS ", "
	                          "DATE_FORMAT(c.created_at, '%Y-%m-%dT%H:%i:%sZ') "
	                          "FROM chat_messages c STRAIGHT_JOIN users u ON u.id = c.user_id "
	                          "WHERE c.room_id = ? AND c.id < ? ORDER BY c.id DESC LIMIT ?";
	struct yq_room rm;
	long long limit, before;
	const struct yq_kv *b = yq_form_get(&r->query, "before_id");

	if (room_for(r, r->ids[0], YQ_ACT_CHAT, &rm) < 0)
		return -1;
	yq_query_page(r, true, &limit, &before);
	if (b) {
		int64_t v;
		if (yq_parse_i64(b->value, 1, INT64_MAX, &v) < 0)
			yq_http_invalid(r, "query", "before_id", "int_parsing",
			                "Input should be a positive integer");
		else if (v < before)
			before = v;
	}
	if (yq_http_invalid_done(r) < 0)
		return -1;
	if (!rm.keep_chat_history) { /* nothing is stored: an empty page */
		struct yq_rows none = { 0 };
		return yq_http_json(r, 200, yq_page_json(&none, limit, message_json));
	}
	return YQ_HTTP_PAGE(r, sql, limit, message_json, YQ_PINT(rm.id), YQ_PINT(before),
	                    YQ_PINT(limit + 1));
}
