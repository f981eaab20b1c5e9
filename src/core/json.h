/*
 * json.h - strict JSON in, typed fields out, on top of json-c.
 *
 * json-c is lenient by default: it accepts trailing garbage, silently
 * truncates strings at an escaped NUL, nests without bound and coerces
 * types in its getters.  yq_json_parse() closes each of those doors, and
 * yq_json_field() looks a member up with its type checked, so no handler
 * ever calls a coercing getter on client data.
 */
#ifndef YQ_JSON_H
#define YQ_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define YQ_JSON_MAX_DEPTH 32

/* Parse len bytes as exactly one JSON value.  On failure returns NULL and
 * points *why at a static reason; a valid top-level null also returns NULL,
 * with *why NULL. */
json_object *yq_json_parse(const char *buf, size_t len, const char **why);

/* Two reasons *why can point at for well-formed JSON that we refuse to
 * interpret rather than guess at (REST answers them 422, not 400): an
 * integer literal outside int64 (json-c would clamp it), and a \uD800-
 * \uDFFF escape that is not a high-low pair (json-c would replace it with
 * U+FFFD).  Compare the pointers. */
extern const char yq_json_err_int_range[];
extern const char yq_json_err_surrogate[];

enum yq_jfield {
	YQ_JF_OK,
	YQ_JF_MISSING, /* no such member */
	YQ_JF_NULL,    /* present, JSON null */
	YQ_JF_TYPE,    /* present with another type */
};

/* Look up key in obj and check its type (json_type_int accepts only
 * integers, not 1.0 nor "1"). */
enum yq_jfield yq_json_field(json_object *obj, const char *key, json_type want, json_object **out);

/* Add a string member, or null when s is NULL. */
void yq_json_add_str(json_object *obj, const char *key, const char *s);
void yq_json_add_int(json_object *obj, const char *key, long long v);
void yq_json_add_bool(json_object *obj, const char *key, bool v);

/* Serialize compactly without escaping '/'; owned by obj. */
const char *yq_json_str(json_object *obj, size_t *len);

#endif
