/*
 * fuzz_envelope.c - libFuzzer target: the envelope check of every client
 * WebSocket message (envelope_parse in ws/flow.c, linked read-only).
 *
 * Oracles: a refusal names an error and holds no message parts; an
 * accepted envelope has a string type and an object payload, and its
 * reference (when kept) is an integer or a string of at most 64 bytes.
 */
#include "config.h"

#include "ws/ws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e;

	if (envelope_parse(&e, (const char *)data, size) < 0) {
		if (!e.error || !*e.error)
			abort();
	} else {
		if (!e.type || !json_object_is_type(e.payload, json_type_object))
			abort();
		if (e.ref && !json_object_is_type(e.ref, json_type_int) &&
		    !(json_object_is_type(e.ref, json_type_string) &&
		      json_object_get_string_len(e.ref) <= 64))
			abort();
	}
	envelope_free(&e);
	return 0;
}
