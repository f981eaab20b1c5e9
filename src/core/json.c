/*
 * json.c - see json.h.
 */
#include "config.h"

#include "core/json.h"
#include "core/util.h"

#include <stdint.h>
#include <string.h>

/* json-c's strict mode still lets through NaN and Infinity, single-quoted
 * keys, raw control characters in strings, "1." and overlong or surrogate
 * UTF-8; its strings are C strings, so an escaped NUL ("\u0000") would be
 * cut short silently; a lone surrogate escape ("\ud800") becomes U+FFFD
 * silently; an integer above INT64_MAX becomes a uint64 that
 * json_object_get_int64() clamps to INT64_MAX; and its depth limit counts
 * the innermost scalar.  This one lexical pass over the raw text closes
 * those gaps before json-c builds anything; json-c then does the grammar. */

const char yq_json_err_int_range[] = "Integer outside the signed 64-bit range";
const char yq_json_err_surrogate[] = "Unpaired UTF-16 surrogate escape in string";

static int
hex4(const unsigned char *p, const unsigned char *end)
{
	int v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d = c >= '0' && c <= '9'   ? c - '0'
		                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
		                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                                         : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The escape at p ('\\', p + 1 < end); returns its length or 0 with *why. */
static size_t
lex_escape(const unsigned char *p, const unsigned char *end, const char **why)
{
	if (p[1] != 'u')
		return 2; /* json-c checks the letter */
	int u = hex4(p + 2, end);
	if (u < 0) {
		*why = "Malformed JSON";
		return 0;
	}
	if (u == 0) {
		*why = "NUL character in string";
		return 0;
	}
	if (u >= 0xdc00 && u <= 0xdfff) {
		*why = yq_json_err_surrogate;
		return 0;
	}
	if (u < 0xd800 || u > 0xdbff)
		return 6;
	/* a high surrogate: only with its low half */
	int lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8, end) : -1;
	if (lo < 0xdc00 || lo > 0xdfff) {
		*why = yq_json_err_surrogate;
		return 0;
	}
	return 12;
}

/* The string whose opening quote is at p; returns the byte after its
 * closing quote, or NULL with *why. */
static const unsigned char *
lex_string(const unsigned char *p, const unsigned char *end, const char **why)
{
	for (p++; p < end;) {
		size_t n;
		if (*p == '"')
			return p + 1;
		if (*p < 0x20) {
			*why = "Control character in string";
			return NULL;
		}
		if (*p == '\\') {
			if (p + 1 >= end)
				break;
			if ((n = lex_escape(p, end, why)) == 0)
				return NULL;
		} else if ((n = yq_utf8_seq(p, end)) == 0) {
			*why = "Invalid UTF-8 in string";
			return NULL;
		}
		p += n;
	}
	*why = "Malformed JSON";
	return NULL;
}

/* Does the integer literal at p (an optional '-', then digits up to a
 * non-digit) fit int64?  Literals with a fraction or exponent are doubles
 * and not checked here. */
static bool
int_fits(const unsigned char *p, const unsigned char *end)
{
	bool neg = *p == '-';
	const unsigned char *d = p + neg;
	size_t n = 0; /* significant digits */

	while (d < end && *d == '0')
		d++;
	while (d + n < end && d[n] >= '0' && d[n] <= '9')
		n++;
	if (d + n < end && (d[n] == '.' || d[n] == 'e' || d[n] == 'E'))
		return true;
	if (n != 19)
		return n < 19;
	return memcmp(d, neg ? "9223372036854775808" : "9223372036854775807", 19) <= 0;
}

static const char *
lex_check(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	const char *why = NULL;
	int depth = 0;

	while (p < end) {
		unsigned char c = *p;
		if (c == '"') {
			if (!(p = lex_string(p, end, &why)))
				return why;
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
		/* a number starts after a delimiter, never inside another token */
		if ((c == '-' || (c >= '0' && c <= '9')) &&
		    (p == (const unsigned char *)buf || !strchr("0123456789.eE+-", p[-1])) &&
		    !int_fits(p, end))
			return yq_json_err_int_range;
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
	/* a uint64 above INT64_MAX (only from a json-c object not made by
	 * yq_json_parse) is no int64: get_int64 would clamp it */
	if (want == json_type_int && json_object_get_int64(v) == INT64_MAX &&
	    json_object_get_uint64(v) != (uint64_t)INT64_MAX)
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
