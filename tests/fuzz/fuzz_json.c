/*
 * fuzz_json.c - libFuzzer target: the strict JSON pass (yq_json_parse),
 * which every REST body and every WebSocket message goes through.
 *
 * Oracles beyond the sanitizers: a refusal always names a reason; what is
 * accepted serialises (yq_json_str) to text the parser accepts again, to an
 * equal value (json_object_equal), so nothing we accept is something we
 * cannot say back.
 */
#include "config.h"

#include "core/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = "unset";
	json_object *o = yq_json_parse((const char *)data, size, &why);

	if (!o) {
		/* NULL with no reason is only a top-level null */
		if (!why && !(size >= 4 && memmem(data, size, "null", 4)))
			abort();
		return 0;
	}
	size_t len;
	const char *s = yq_json_str(o, &len);
	const char *why2 = NULL;
	json_object *back = yq_json_parse(s, len, &why2);
	if (!back || !json_object_equal(o, back))
		abort(); /* we accepted something we cannot say back */
	json_object_put(back);
	json_object_put(o);
	return 0;
}
