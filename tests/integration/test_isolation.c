/* test_isolation: storage and bus isolation: Redis ACL users and NATS permissions. */
#include "harness.h"
#include "scenarios.h"

void sc_redis_isolation(void)
{
    h_note("scenario redis_isolation is not written yet");
}

void sc_nats_permissions(void)
{
    h_note("scenario nats_permissions is not written yet");
}
