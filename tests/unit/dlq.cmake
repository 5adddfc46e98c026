# Dead letters without servers: header keeping and replay (common), the aggregator's context,
# the responder's checks and rate limit, rfqctl dlq's entry summary.
if(TARGET rfq_aggregator AND TARGET rfq_responder AND TARGET rfqctl_lib)
  rfq_unit_test(test_dlq ${CMAKE_CURRENT_LIST_DIR}/test_dlq.c
    LIBS rfq_aggregator rfq_responder rfqctl_lib)
endif()
