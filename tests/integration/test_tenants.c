/* test_tenants: tenant records in NATS KV: registration, suspension, live changes. */
#include "harness.h"
#include "scenarios.h"

void sc_tenant_registry(void)
{
    h_note("scenario tenant_registry is not written yet");
}

void sc_tenant_live_change(void)
{
    h_note("scenario tenant_live_change is not written yet");
}
