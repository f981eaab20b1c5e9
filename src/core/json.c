/*
 * json.c - see json.h.
 */
#include "config.h"

#include "core/json.h"

#include <string.h>

/* An escaped NUL ("\u0000") would be cut short by json-c's C strings, in
 * keys and values alike; backslashes only occur inside strings in valid
 * JSON, so a scan of the raw text finds every one. */
static bool
has_escaped_nul(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (buf[i + 1] == 'u' && i + 5 < len && memcmp(buf + i + 2, "0000", 4) == 0)
			return true;
		i++; /* skip the escaped character */
	}
	return false;
}

json_object *
yq_json_parse(const char *buf, size_t len, const char **why)
{
	if (len == 0) {
		*why = "Empty body";
		return NULL;
	}
	if (memchr(buf, '\0', len)) {
		*why = "NUL byte in body";
		return NULL;
	}
	if (has_escaped_nul(buf, len)) {
		*why = "NUL character in string";
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(YQ_JSON_MAX_DEPTH);
	if (!tok) {
		*why = "Out of memory";
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error err = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	if (!obj && err == json_tokener_continue) {
		/* a bare scalar ("42", "true") only ends at a delimiter */
		obj = json_tokener_parse_ex(tok, " ", 1);
		err = json_tokener_get_error(tok);
		used = len;
	}
	json_tokener_free(tok);
	if (!obj && err == json_tokener_success) {
		*why = NULL; /* a valid top-level null */
		return NULL;
	}
	if (err != json_tokener_success) {
		if (obj)
			json_object_put(obj);
		*why = err == json_tokener_error_depth ? "JSON nested too deeply"
		       : err == json_tokener_continue  ? "Truncated JSON"
							: "Malformed JSON";
		return NULL;
	}
	while (used < len && strchr(" \t\r\n", buf[used]))
		used++;
	if (used != len) {
		json_object_put(obj);
		*why = "Trailing data after JSON";
		return NULL;
	}
	return obj;
}

enum yq_jfield
yq_json_field(json_object *obj, const char *key, json_type want, json_object **out)
{
	json_object *v = NULL;

	*out = NULL;
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return YQ_JF_MISSING;
	if (!v)
		return YQ_JF_NULL;
	if (!json_object_is_type(v, want))
		return YQ_JF_TYPE;
	*out = v;
	return YQ_JF_OK;
}

void
yq_json_add_str(json_object *obj, const char *key, const char *s)
{
	json_object_object_add(obj, key, s ? json_object_new_string(s) : NULL);
}

void
yq_json_add_int(json_object *obj, const char *key, long long v)
{
	json_object_object_add(obj, key, json_object_new_int64(v));
}

void
yq_json_add_bool(json_object *obj, const char *key, bool v)
{
	json_object_object_add(obj, key, json_object_new_boolean(v));
}

const char *
yq_json_str(json_object *obj, size_t *len)
{
	return json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}
