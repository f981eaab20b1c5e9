/*
 * json.c - see json.h.
 */
#include "config.h"

#include "core/json.h"
#include "core/util.h"

#include <string.h>

/* json-c's strict mode still lets through NaN and Infinity, single-quoted
 * keys, raw control characters in strings, "1." and overlong or surrogate
 * UTF-8; its strings are C strings, so an escaped NUL ("\u0000") would be
 * cut short silently; and its depth limit counts the innermost scalar.
 * This one lexical pass over the raw text closes those gaps before json-c
 * builds anything; json-c then does the grammar. */

static const char *
lex_check(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	int depth = 0;

	while (p < end) {
		unsigned char c = *p;
		if (c == '"') {
			for (p++;; p++) {
				if (p >= end)
					return "Malformed JSON";
				if (*p == '"')
					break;
				if (*p < 0x20)
					return "Control character in string";
				if (*p == '\\') {
					if (p + 1 >= end)
						return "Malformed JSON";
					if (p[1] == 'u' && end - p >= 6 &&
					    memcmp(p + 2, "0000", 4) == 0)
						return "NUL character in string";
					p++;
					continue;
				}
				size_t n = yq_utf8_seq(p, end);
				if (n == 0)
					return "Invalid UTF-8 in string";
				p += n - 1;
			}
			p++;
			continue;
		}
		if (c == '{' || c == '[') {
			if (++depth > YQ_JSON_MAX_DEPTH)
				return "JSON nested too deeply";
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == 't' || c == 'f' || c == 'n') {
			const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
			size_t wl = strlen(word);
			if ((size_t)(end - p) < wl || memcmp(p, word, wl) != 0)
				return "Malformed JSON";
			p += wl;
			continue;
		} else if (c == '.') {
			if (p + 1 >= end || p[1] < '0' || p[1] > '9')
				return "Malformed JSON";
		} else if (c == 'e' || c == 'E') {
			if (p == (const unsigned char *)buf || !((p[-1] >= '0' && p[-1] <= '9')))
				return "Malformed JSON";
		} else if (!strchr(" \t\r\n,:-+0123456789", c) || c == '\0') {
			return "Malformed JSON";
		}
		p++;
	}
	return NULL;
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
	if ((*why = lex_check(buf, len)) != NULL)
		return NULL;
	/* json-c counts the innermost value as a level too */
	struct json_tokener *tok = json_tokener_new_ex(YQ_JSON_MAX_DEPTH + 1);
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
