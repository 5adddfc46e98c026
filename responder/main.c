/* rfq-responder: runs a fleet of simulated unicorn agents until SIGINT or SIGTERM. */
#include <stdio.h>
#include <time.h>

#include "rfq_cfg.h"
#include "rfq_crash.h"
#include "rfq_log.h"
#include "rfq_mem.h"
#include "rsp_agent.h"
#include "rsp_cfg.h"
#include "rsp_fleet.h"
#include "rsp_metrics.h"

int main(int argc, char **argv)
{
    rfq_mem_tune();
    struct rfq_log_ctx ctx = {.component = "responder"};
    struct rsp_cfg cfg;
    char err[256];
    if (rsp_cfg_load(&cfg, argc, argv, err, sizeof(err)) != RFQ_OK) {
        fprintf(stderr, "configuration error: %s\n", err);
        return 2;
    }
    if (cfg.help) {
        rsp_cfg_usage(stdout, argv[0]);
        return 0;
    }
    rfq_log_set_level(cfg.log_level);
    if (cfg.fleet.pricing.seed == 0)
        cfg.fleet.pricing.seed = rsp_seed_random();

    volatile int *stop = rfq_signals_install();
    rfq_crash_report_install("responder");
    int rc = 1;
    rsp_fleet *fleet = NULL;
    rsp_agent *agent = NULL;
    rfq_metrics_http *metrics = NULL;
    struct rsp_agent_cfg acfg;
    rsp_agent_cfg_init(&acfg);
    acfg.nats_url = cfg.common.nats_url;
    acfg.inbox_prefix = cfg.nats_inbox_prefix;
    acfg.batch_max = cfg.quote_batch;

    rfq_status st = rsp_fleet_create(&fleet, &cfg.fleet);
    if (st == RFQ_OK)
        st = rsp_agent_create(&agent, &acfg, rsp_fleet_quote);
    if (st == RFQ_OK)
        st = rsp_fleet_attach(fleet, agent);
    if (st != RFQ_OK) {
        RFQ_LOG(&ctx, RFQ_ERROR, "cannot build the fleet: %s", rfq_status_str(st));
        goto out;
    }
    if (rsp_agent_start(agent) != RFQ_OK)
        goto out;
    if (rsp_metrics_start(&metrics, cfg.common.metrics_addr, agent, cfg.fleet.size) != RFQ_OK)
        goto out;
    if (rfq_ready_file_write(cfg.common.ready_file) != RFQ_OK) {
        RFQ_LOG(&ctx, RFQ_ERROR, "cannot write the ready file %s", cfg.common.ready_file);
        goto out;
    }
    RFQ_LOG(&ctx, RFQ_INFO,
            "serving: %d unicorns over %d regions, seed %llu, think %d..%d ms, decline %d%%, "
            "batches of up to %d answers",
            cfg.fleet.size, cfg.fleet.n_regions, (unsigned long long)cfg.fleet.pricing.seed,
            cfg.fleet.pricing.think_ms_min, cfg.fleet.pricing.think_ms_max,
            cfg.fleet.pricing.decline_pct, cfg.quote_batch);

    struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    while (!*stop)
        nanosleep(&tick, NULL);
    RFQ_LOG(&ctx, RFQ_INFO, "stop requested, draining");
    rc = 0;
out:
    rfq_metrics_http_stop(metrics);
    rsp_agent_destroy(agent);
    rsp_fleet_destroy(fleet);
    return rc;
}
