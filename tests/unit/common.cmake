# Unit tests of the common library: wire schema (data-driven from tests/data), ids and keys,
# JWT, ranking. Also rfqctl's helpers (rfqctl end to end against the real engine is the
# integration test ctl_e2e, in tests/integration/e2e.cmake).
rfq_unit_test(test_msg ${CMAKE_CURRENT_LIST_DIR}/test_msg.c)
rfq_unit_test(test_jwt ${CMAKE_CURRENT_LIST_DIR}/test_jwt.c)
rfq_unit_test(test_ids ${CMAKE_CURRENT_LIST_DIR}/test_ids.c)
rfq_unit_test(test_rank ${CMAKE_CURRENT_LIST_DIR}/test_rank.c)
rfq_unit_test(test_crash ${CMAKE_CURRENT_LIST_DIR}/test_crash.c)
rfq_unit_test(test_quote_batch ${CMAKE_CURRENT_LIST_DIR}/test_quote_batch.c)

if(TARGET rfqctl_lib)
  rfq_unit_test(test_ctl ${PROJECT_SOURCE_DIR}/requester/ctl/tests/test_ctl.c LIBS rfqctl_lib)
endif()
# The Prometheus text of all three processes (their libraries render it).
rfq_unit_test(test_metrics ${CMAKE_CURRENT_LIST_DIR}/test_metrics.c
  LIBS rfq_requester rfq_aggregator rfq_responder)
