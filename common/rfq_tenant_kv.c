/* rfq_tenant_kv: tenant records in NATS KV and their watched view. */
#include "rfq_tenant_kv.h"
