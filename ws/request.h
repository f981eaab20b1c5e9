/*
 * request.h - a client message's payload, validated (SPEC section 5).
 *
 * protocol.c handles a message in two steps: request_parse() turns the
 * payload of a known type into a typed, checked struct request (or a
 * refusal: the error code and message for the client), then the type's
 * handler acts on it (store, broadcast, hand to the database worker).
 * Validation needs no connection, no room and no lws, so it is unit- and
 * fuzz-tested on its own (tests/fuzz/fuzz_request.c).
 */
#ifndef YQ_WS_REQUEST_H
#define YQ_WS_REQUEST_H

#include "ws/ws.h"

/* The client message types, in protocol.c's table order. */
enum req_type {
	REQ_HEART_BEAT,
	REQ_CHAT,
	REQ_PLAY_CONTROL,
	REQ_PROGRESS_SYNC,
	REQ_CUSTOM_EVENT,
	REQ_COUNT,
};

/* A checked request.  Every pointer borrows from the payload it was parsed
 * from: valid while that payload lives. */
struct request {
	enum req_type type;
	union {
		struct {
			json_object *client_ts; /* an integer, or NULL (absent or null) */
			struct health health;   /* has_* say which were sent */
		} beat;
		struct {
			const char *text; /* 1 to 2000 characters of UTF-8 */
			size_t len;       /* bytes */
		} chat;
		struct pb_change change; /* play_control, progress_sync */
		struct {
			json_object *name; /* a string of 1 to 64 bytes */
			json_object *data; /* any JSON, NULL for null or absent */
			size_t cost;       /* bytes of data as plain JSON text */
		} custom;
	} u;
};

/* What a refused payload is answered with: an "error" message of code. */
struct refusal {
	const char *code; /* "bad_request" or "too_large" */
	const char *message;
};

/* The bounds a request is checked against that come from the config. */
struct request_limits {
	size_t max_custom_event; /* bytes of a custom_event's data */
};

/* The type named name, or -1 for none. */
int request_type(const char *name);
const char *request_type_name(enum req_type t);
/* Check payload (an object) as a request of type t: 0 and *out, or -1 and
 * *why. */
int request_parse(enum req_type t, json_object *payload, const struct request_limits *lim,
                  struct request *out, struct refusal *why);

#endif
