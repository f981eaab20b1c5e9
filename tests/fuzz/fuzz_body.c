/*
 * fuzz_body.c - libFuzzer target: a JSON request body as a handler sees
 * it: yq_http_body_object, then the typed readers (yq_body_str with
 * character bounds, yq_body_int with a range, yq_body_bool) and the 422
 * they build.
 *
 * Oracles: the body reader either gives an object or sets a 400/415/422
 * response; a string it hands out is well-formed UTF-8 within its
 * character bounds; an int is within its range; the response body (the
 * FastAPI error shape included) serialises to JSON we parse again.
 */
#include "config.h"

#include "api/http.h"
#include "core/json.h"
#include "core/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_resp(const struct yq_req *r)
{
	size_t len;
	const char *why;

	if (!r->resp)
		return;
	const char *s = yq_json_str(r->resp, &len);
	json_object *back = yq_json_parse(s, len, &why);
	if (!back)
		abort();
	json_object_put(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yq_config cfg = { .api_retry_after = 1 };
	struct yq_req r = { .cfg = &cfg, .content_type = "application/json" };
	json_object *body;

	r.body = malloc(size + 1);
	memcpy(r.body, data, size);
	r.body[size] = '\0';
	r.body_len = size;
	if (yq_http_body_object(&r, &body) == 0) {
		size_t len = 0;
		long long n;
		bool b;
		const char *s = yq_body_str(&r, body, "name", false, 1, 8, &len);
		if (s && (!yq_utf8_valid(s, len) || yq_utf8_chars(s, len) < 1 ||
		          yq_utf8_chars(s, len) > 8))
			abort();
		if (yq_body_int(&r, body, "n", false, -5, 1000, &n) && (n < -5 || n > 1000))
			abort();
		(void)yq_body_bool(&r, body, "b", false, &b);
		(void)yq_body_str(&r, body, "username", true, 3, 32, NULL);
		yq_http_invalid_done(&r);
		json_object_put(body);
	} else if (r.status != 400 && r.status != 415 && r.status != 422) {
		abort();
	}
	check_resp(&r);
	json_object_put(r.resp);
	json_object_put(r.errors);
	yq_buf_free(&r.headers);
	free(r.body);
	return 0;
}
