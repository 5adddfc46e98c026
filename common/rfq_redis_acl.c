/* rfq_redis_acl: tenant Redis users and their derived passwords. */
#include "rfq_redis_acl.h"
