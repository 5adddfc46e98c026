/* test_quota: tier quotas (429 back pressure) and usage metering. */
#include "harness.h"
#include "scenarios.h"

void sc_quota_rate(void)
{
    h_note("scenario quota_rate is not written yet");
}

void sc_quota_open(void)
{
    h_note("scenario quota_open is not written yet");
}

void sc_quota_nats_submit(void)
{
    h_note("scenario quota_nats_submit is not written yet");
}

void sc_usage_metering(void)
{
    h_note("scenario usage_metering is not written yet");
}
