# Unit tests of the quota verdict (429 / RateLimit headers) and the usage answer (pure parts).
if(TARGET rfq_requester)
  rfq_unit_test(test_req_quota ${CMAKE_CURRENT_LIST_DIR}/test_req_quota.c LIBS rfq_requester)
endif()
