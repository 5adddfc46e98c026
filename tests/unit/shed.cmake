# Unit tests of the requester's load-shedding decision (hysteresis, Retry-After; pure parts).
if(TARGET rfq_requester)
  rfq_unit_test(test_req_shed ${CMAKE_CURRENT_LIST_DIR}/test_req_shed.c LIBS rfq_requester)
endif()
