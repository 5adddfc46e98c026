/* fuzz_util: property assertions and input splitting shared by the libFuzzer targets. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken property is a bug even when nothing crashed: abort so libFuzzer keeps the input. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A new NUL-terminated copy of data (the decoders take a length, the parsers a C string).
 * Aborts on allocation failure: the harness has no use for a half-run input. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_ASSERT(s != NULL);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Cut s at each sep into at most max parts (the last part keeps the rest, separators and all).
 * s is modified in place; parts[i] are borrowed. Returns the number of parts (>= 1). */
static inline size_t fuzz_split(char *s, char sep, char **parts, size_t max)
{
    size_t n = 0;
    parts[n++] = s;
    while (n < max) {
        char *p = strchr(parts[n - 1], sep);
        if (!p)
            break;
        *p = '\0';
        parts[n++] = p + 1;
    }
    return n;
}

#endif
