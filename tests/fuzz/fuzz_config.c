/*
 * fuzz_config.c - libFuzzer target: the configuration file parser
 * (yq_config_load on a file holding the input, then validate and dump).
 *
 * The file is a memfd, so no disk is touched.  Oracles: a refusal writes
 * a terminated message; an accepted config's strings are terminated
 * within their buffers (the dump reads every one).
 */
#include "config.h"

#include "core/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct yq_config cfg;
	static FILE *devnull;
	char path[64], err[512];

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	int fd = memfd_create("yqconf", 0);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(err, 'x', sizeof(err));
	if (yq_config_load(&cfg, path, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)))
			abort();
	} else {
		if (yq_config_validate(&cfg, err, sizeof(err)) < 0 &&
		    !memchr(err, '\0', sizeof(err)))
			abort();
		yq_config_dump(&cfg, devnull);
	}
	close(fd);
	return 0;
}
