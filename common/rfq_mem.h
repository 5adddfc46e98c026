/* rfq_mem: process-wide allocator settings of the engine binaries. */
#ifndef RFQ_MEM_H
#define RFQ_MEM_H

/* Tune glibc malloc for a long-running process that receives messages of any size from
 * untrusted peers; call first thing in main. Two settings, each skipped when the operator set
 * its environment variable (MALLOC_MMAP_THRESHOLD_, MALLOC_ARENA_MAX):
 *  - mmap threshold pinned at RFQ_MEM_MMAP_THRESHOLD: by default glibc raises the threshold to
 *    the size of every large block freed, so after a burst of 1 MiB messages such blocks come
 *    from the heap and stay resident; pinned, they are mapped and unmapped, and memory returns
 *    to the system after a flood. Normal traffic (bodies <= 16 KiB) never reaches it.
 *  - at most RFQ_MEM_ARENAS arenas: with a thread per connection, each thread may otherwise get
 *    an arena of its own, and the free memory scattered over them is never given back.
 * Elsewhere than glibc it does nothing. */
#define RFQ_MEM_MMAP_THRESHOLD (128 * 1024)
#define RFQ_MEM_ARENAS 2
void rfq_mem_tune(void);

#endif
