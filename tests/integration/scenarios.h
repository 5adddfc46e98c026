/* scenarios: the integration scenarios, one function each, run one per process by main.c. */
#ifndef RFQ_IT_SCENARIOS_H
#define RFQ_IT_SCENARIOS_H

/* test_flow.c */
void sc_full_flow(void);
void sc_deadline_partial(void);
/* test_quotes.c */
void sc_duplicate_quote(void);
void sc_late_quote(void);
void sc_wrong_tenant_quote(void);
void sc_malformed_quote(void);
void sc_quote_batch(void);
/* test_resilience.c */
void sc_aggregator_restart(void);
void sc_aggregator_crash_inflight(void);
void sc_two_aggregators(void);
/* test_sse.c */
void sc_sse_events(void);
/* test_api.c */
void sc_http_api_errors(void);
void sc_dependency_outage(void);
void sc_listing(void);
/* test_nats_submit.c */
void sc_nats_submit(void);
void sc_nats_submit_backlog(void);
/* test_dashboard.c */
void sc_dashboard(void);
/* test_hardening.c */
void sc_reply_subject_guard(void);
void sc_answers_cap(void);
void sc_swept_quote_kept(void);
void sc_huge_deadline_rfq(void);
/* test_tokens.c */
void sc_forged_tokens(void);
void sc_key_rotation(void);
void sc_secrets_not_logged(void);
/* test_quota.c */
void sc_quota_rate(void);
void sc_quota_open(void);
void sc_quota_nats_submit(void);
void sc_usage_metering(void);
void sc_metrics(void);
/* test_tenants.c */
void sc_tenant_registry(void);
void sc_tenant_live_change(void);
void sc_tenant_watch_lost(void);
void sc_fetch_overflow_guard(void);
void sc_tenant_suspend_cuts_stream(void);
/* test_isolation.c */
void sc_redis_isolation(void);
void sc_nats_permissions(void);
/* test_faults.c */
void sc_faults_aggregator_kill(void);
void sc_faults_nats_restart(void);
void sc_faults_redis_restart(void);
void sc_faults_aggregator_stop(void);
void sc_faults_bad_responders(void);
void sc_poison_counts_failures(void);
/* test_shedding.c */
void sc_shed_backlog(void);
void sc_shed_drain_time(void);
/* test_badinput.c */
void sc_bad_input_flood(void);
/* test_dlq.c */
void sc_dlq_reasons(void);

#endif
