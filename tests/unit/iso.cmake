# Unit tests of storage and bus isolation helpers: credentials in RFQ_REDIS_URL and the
# redaction that keeps passwords out of logs.
rfq_unit_test(test_cfg_url ${CMAKE_CURRENT_LIST_DIR}/test_cfg_url.c)
