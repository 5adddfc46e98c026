/* rfq-aggregator: the gather side of the RFQ engine (see agg_app.h). */
#include <stdbool.h>
#include <stdio.h>

#include "agg_app.h"
#include "agg_cfg.h"
#include "rfq_cfg.h"
#include "rfq_crash.h"
#include "rfq_log.h"
#include "rfq_mem.h"

int main(int argc, char **argv)
{
    rfq_mem_tune();
    rfq_log_set_level(rfq_env_str("RFQ_LOG_LEVEL", "info"));
    struct agg_cfg cfg;
    bool help = false;
    if (agg_cfg_load(&cfg, argc, argv, &help) != RFQ_OK)
        return 2;
    if (help) {
        agg_cfg_usage(stdout, argv[0]);
        return 0;
    }
    volatile int *stop = rfq_signals_install();
    rfq_crash_report_install("aggregator");
    return agg_app_run(&cfg, stop) == RFQ_OK ? 0 : 1;
}
