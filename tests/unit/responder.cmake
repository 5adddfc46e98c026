# Unit tests of the responder library: pricing, fleet, scheduler, agent callback API, config,
# quote-stream messages.
if(TARGET rfq_responder)
  rfq_unit_test(test_rsp_pricing ${CMAKE_CURRENT_LIST_DIR}/test_rsp_pricing.c LIBS rfq_responder)
  rfq_unit_test(test_rsp_fleet ${CMAKE_CURRENT_LIST_DIR}/test_rsp_fleet.c LIBS rfq_responder)
  rfq_unit_test(test_rsp_sched ${CMAKE_CURRENT_LIST_DIR}/test_rsp_sched.c LIBS rfq_responder)
  rfq_unit_test(test_rsp_agent ${CMAKE_CURRENT_LIST_DIR}/test_rsp_agent.c LIBS rfq_responder)
  rfq_unit_test(test_rsp_cfg ${CMAKE_CURRENT_LIST_DIR}/test_rsp_cfg.c LIBS rfq_responder)
  rfq_unit_test(test_rsp_quote_msg ${CMAKE_CURRENT_LIST_DIR}/test_rsp_quote_msg.c
    LIBS rfq_responder)
endif()
