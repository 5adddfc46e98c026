/* rfq_mem: glibc malloc settings (see rfq_mem.h for why). */
#include "rfq_mem.h"

#include <stdlib.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

void rfq_mem_tune(void)
{
#ifdef __GLIBC__
    const char *t = getenv("MALLOC_MMAP_THRESHOLD_");
    if (!t || !*t)
        mallopt(M_MMAP_THRESHOLD, RFQ_MEM_MMAP_THRESHOLD);
    const char *a = getenv("MALLOC_ARENA_MAX");
    if (!a || !*a)
        mallopt(M_ARENA_MAX, RFQ_MEM_ARENAS);
#endif
}
