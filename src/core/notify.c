/*
 * notify.c - see notify.h.
 *
 * The queue row of a notification is built by the database from the row
 * just inserted (INSERT ... SELECT with JSON_OBJECT), so the payload the ws
 * daemon pushes is exactly what GET /notifications/ would show, down to
 * created_at, and costs no extra round trip.
 */
#include "config.h"

#include "core/json.h"
#include "core/notify.h"

#include <string.h>

static const char *const types[] = {
	"room_invite",          "room_application",
	"application_approved", "application_rejected",
	"invitation_accepted",  "invitation_declined",
	"member_kicked",        "room_dissolved",
	"role_changed",         "system",
};

bool
yq_notify_type_valid(const char *type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i], type) == 0)
			return true;
	return false;
}

int
yq_notify_in_tx(struct yq_db *db, long long user_id, const char *type, json_object *content,
                long long *id)
{
	static const char ins[] =
	        "INSERT INTO notifications (user_id, type, content) VALUES (?, ?, ?)";
	static const char queue[] =
	        "INSERT INTO event_queue (target_kind, target_id, type, payload) "
	        "SELECT 'user', user_id, 'notification', JSON_OBJECT('id', id, 'type', type, "
	        "'content', JSON_QUERY(content, '$'), 'status', status, "
	        "'created_at', DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), 'read_at', NULL) "
	        "FROM notifications WHERE id = ?";
	size_t len;
	const char *text = yq_json_str(content, &len);

	if (!yq_notify_type_valid(type) || !json_object_is_type(content, json_type_object))
		return YQ_EINVAL;
	long long n =
	        YQ_DB_EXEC(db, ins, NULL, YQ_PINT(user_id), YQ_PSTR(type), YQ_PSTRN(text, len));
	if (n < 0)
		return (int)n;
	long long nid = (long long)yq_db_insert_id(db);
	n = YQ_DB_EXEC(db, queue, NULL, YQ_PINT(nid));
	if (n < 0)
		return (int)n;
	yq_db_mark_queued(db);
	if (n != 1)
		return YQ_EINTERNAL;
	if (id)
		*id = nid;
	return 0;
}

struct notify_args {
	long long user_id;
	const char *type;
	json_object *content;
	long long id;
};

static int
notify_tx(struct yq_db *db, void *arg)
{
	struct notify_args *a = arg;

	return yq_notify_in_tx(db, a->user_id, a->type, a->content, &a->id);
}

int
yq_notify(struct yq_db *db, long long user_id, const char *type, json_object *content,
          long long *id)
{
	struct notify_args a = { user_id, type, content, 0 };
	int rc = yq_db_tx(db, notify_tx, &a);

	if (rc >= 0 && id)
		*id = a.id;
	return rc;
}

int
yq_queue_room_text(struct yq_db *db, long long room_id, const char *type, const char *payload,
                   size_t len, const char *origin)
{
	static const char ins[] =
	        "INSERT INTO event_queue (target_kind, target_id, type, payload, origin) "
	        "VALUES ('room', ?, ?, ?, ?)";
	long long n = YQ_DB_EXEC(db, ins, NULL, YQ_PINT(room_id), YQ_PSTR(type),
	                         YQ_PSTRN(payload, len), YQ_PSTR(origin ? origin : ""));

	if (n < 0)
		return (int)n;
	yq_db_mark_queued(db);
	return 0;
}

int
yq_queue_room_event(struct yq_db *db, long long room_id, const char *type, json_object *payload,
                    const char *origin)
{
	size_t len;
	const char *text = yq_json_str(payload, &len);

	return yq_queue_room_text(db, room_id, type, text, len, origin);
}

json_object *
yq_notification_json(const struct yq_rows *rows, unsigned i)
{
	json_object *o = json_object_new_object();
	const char *content = yq_rows_str(rows, i, 2);
	json_object *c = content ? json_tokener_parse(content) : NULL;

	yq_json_add_int(o, "id", yq_rows_int(rows, i, 0));
	yq_json_add_str(o, "type", yq_rows_str(rows, i, 1));
	json_object_object_add(o, "content", c ? c : json_object_new_object());
	yq_json_add_str(o, "status", yq_rows_str(rows, i, 3));
	yq_json_add_str(o, "created_at", yq_rows_str(rows, i, 4));
	yq_json_add_str(o, "read_at", yq_rows_str(rows, i, 5));
	return o;
}
