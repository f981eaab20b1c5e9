/*
 * notify.h - the only writers of the event queue.
 *
 * yq_notify_in_tx() creates a notification and its queue row in the
 * caller's transaction, so both exist or neither does; the ws nodes tail
 * the queue and push the notification to the user's connections.
 * yq_queue_room_event() appends a room event (member joined, kicked, ...)
 * or relayed room traffic.  Every feature that tells someone something
 * goes through these two.
 */
#ifndef YQ_NOTIFY_H
#define YQ_NOTIFY_H

#include <stdbool.h>

#include <json-c/json.h>

#include "core/db.h"

/* The columns yq_notification_json() expects, in order. */
#define YQ_NOTIFICATION_COLUMNS                                                      \
	"id, type, content, status, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), " \
	"DATE_FORMAT(read_at, '%Y-%m-%dT%H:%i:%sZ')"

/* SPEC section 4's types. */
bool yq_notify_type_valid(const char *type);

/* Must run inside yq_db_tx().  content is an object; *id gets the new
 * notification's id (may be NULL). */
int yq_notify_in_tx(struct yq_db *db, long long user_id, const char *type, json_object *content,
                    long long *id);
/* The same in a transaction of its own. */
int yq_notify(struct yq_db *db, long long user_id, const char *type, json_object *content,
              long long *id);

/* Append an event for the members of a room.  origin is the ws node id
 * that already delivered it locally, or "" (REST). */
int yq_queue_room_event(struct yq_db *db, long long room_id, const char *type, json_object *payload,
                        const char *origin);

/* The same with the payload already serialized (trusted JSON text). */
int yq_queue_room_text(struct yq_db *db, long long room_id, const char *type, const char *payload,
                       size_t len, const char *origin);

/* {id, type, content, status, created_at, read_at} from row i of rows
 * selected with YQ_NOTIFICATION_COLUMNS. */
json_object *yq_notification_json(const struct yq_rows *rows, unsigned i);

#endif
