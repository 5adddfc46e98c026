/* rfq_integration: runs one named integration scenario in this process (CTest runs one entry
 * per scenario, so each gets its own servers and temp dir). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "scenarios.h"

struct scenario {
    const char *name;
    void (*run)(void);
    int bound_s; /* internal bound; the CTest TIMEOUT is set a little above it */
};

static const struct scenario scenarios[] = {
    {"full_flow", sc_full_flow, 60},
    {"deadline_partial", sc_deadline_partial, 60},
    {"duplicate_quote", sc_duplicate_quote, 60},
    {"late_quote", sc_late_quote, 60},
    {"wrong_tenant_quote", sc_wrong_tenant_quote, 60},
    {"malformed_quote", sc_malformed_quote, 60},
    {"quote_batch", sc_quote_batch, 60},
    {"aggregator_restart", sc_aggregator_restart, 100},
    {"aggregator_crash_inflight", sc_aggregator_crash_inflight, 100},
    {"two_aggregators", sc_two_aggregators, 100},
    {"sse_events", sc_sse_events, 60},
    {"http_api_errors", sc_http_api_errors, 60},
    {"dependency_outage", sc_dependency_outage, 60},
    {"listing", sc_listing, 60},
    {"nats_submit", sc_nats_submit, 60},
    {"nats_submit_backlog", sc_nats_submit_backlog, 60},
    {"dashboard", sc_dashboard, 60},
    {"reply_subject_guard", sc_reply_subject_guard, 60},
    {"answers_cap", sc_answers_cap, 60},
    {"swept_quote_kept", sc_swept_quote_kept, 60},
    {"huge_deadline_rfq", sc_huge_deadline_rfq, 60},
    {"forged_tokens", sc_forged_tokens, 60},
    {"key_rotation", sc_key_rotation, 60},
    {"secrets_not_logged", sc_secrets_not_logged, 60},
    {"quota_rate", sc_quota_rate, 60},
    {"quota_open", sc_quota_open, 60},
    {"quota_nats_submit", sc_quota_nats_submit, 60},
    {"usage_metering", sc_usage_metering, 60},
    {"metrics", sc_metrics, 60},
    {"tenant_registry", sc_tenant_registry, 60},
    {"tenant_live_change", sc_tenant_live_change, 60},
    {"tenant_watch_lost", sc_tenant_watch_lost, 60},
    {"fetch_overflow_guard", sc_fetch_overflow_guard, 40},
    {"tenant_suspend_cuts_stream", sc_tenant_suspend_cuts_stream, 60},
    {"redis_isolation", sc_redis_isolation, 60},
    {"nats_permissions", sc_nats_permissions, 60},
    {"dlq_reasons", sc_dlq_reasons, 60},
    {"faults_aggregator_kill", sc_faults_aggregator_kill, 100},
    {"faults_nats_restart", sc_faults_nats_restart, 100},
    {"faults_redis_restart", sc_faults_redis_restart, 100},
    {"faults_aggregator_stop", sc_faults_aggregator_stop, 100},
    {"faults_bad_responders", sc_faults_bad_responders, 100},
    {"poison_counts_failures", sc_poison_counts_failures, 60},
    {"shed_backlog", sc_shed_backlog, 60},
    {"shed_drain_time", sc_shed_drain_time, 60},
    {"bad_input_flood", sc_bad_input_flood, 580},
};

int main(int argc, char **argv)
{
    size_t n = sizeof(scenarios) / sizeof(scenarios[0]);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s %d\n", scenarios[i].name, scenarios[i].bound_s);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s <scenario> | --list\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], scenarios[i].name) == 0) {
            h_init(scenarios[i].name, scenarios[i].bound_s);
            scenarios[i].run();
            h_finish();
            return 0;
        }
    }
    fprintf(stderr, "unknown scenario %s (try --list)\n", argv[1]);
    return 2;
}
