/* rfq_fetch: a pull fetch that stays inside its batch (see the header). */
#include "rfq_fetch.h"

natsStatus rfq_fetch(natsMsgList *list, natsSubscription *sub, int batch, int64_t wait_ms,
                     jsErrCode *jerr)
{
    int queued = 0;
    if (natsSubscription_GetPending(sub, &queued, NULL) == NATS_OK && queued > 0)
        batch = 1;
    return natsSubscription_Fetch(list, sub, batch, wait_ms, jerr);
}
