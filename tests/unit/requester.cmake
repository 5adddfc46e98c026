# Unit tests of the requester library (pure parts: routing, replies, bearer parsing, ranking, SSE).
if(TARGET rfq_requester)
  rfq_unit_test(test_req_route ${CMAKE_CURRENT_LIST_DIR}/test_req_route.c LIBS rfq_requester)
  rfq_unit_test(test_req_reply ${CMAKE_CURRENT_LIST_DIR}/test_req_reply.c LIBS rfq_requester)
  rfq_unit_test(test_req_auth ${CMAKE_CURRENT_LIST_DIR}/test_req_auth.c LIBS rfq_requester)
  rfq_unit_test(test_req_read ${CMAKE_CURRENT_LIST_DIR}/test_req_read.c LIBS rfq_requester)
  rfq_unit_test(test_req_sse_buf ${CMAKE_CURRENT_LIST_DIR}/test_req_sse_buf.c LIBS rfq_requester)
endif()
