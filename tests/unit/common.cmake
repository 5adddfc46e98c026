# Unit tests of the common library: wire schema (data-driven from tests/data), ids and keys,
# JWT, ranking. Also rfqctl's helpers, and rfqctl end to end against a mock API (no engine,
# no servers: a small Python stand-in on a free loopback port).
rfq_unit_test(test_msg ${CMAKE_CURRENT_LIST_DIR}/test_msg.c)
rfq_unit_test(test_jwt ${CMAKE_CURRENT_LIST_DIR}/test_jwt.c)
rfq_unit_test(test_ids ${CMAKE_CURRENT_LIST_DIR}/test_ids.c)
rfq_unit_test(test_rank ${CMAKE_CURRENT_LIST_DIR}/test_rank.c)

if(TARGET rfqctl_lib)
  set(ctl_tests ${PROJECT_SOURCE_DIR}/requester/ctl/tests)
  rfq_unit_test(test_ctl ${ctl_tests}/test_ctl.c LIBS rfqctl_lib)
  find_program(RFQ_PYTHON3 python3)
  find_program(RFQ_BASH bash)
  if(RFQ_PYTHON3 AND RFQ_BASH)
    add_test(NAME ctl_smoke
             COMMAND ${RFQ_BASH} ${ctl_tests}/ctl_smoke.sh $<TARGET_FILE:rfqctl>
                     ${ctl_tests}/mock_api.py ${RFQ_PYTHON3})
    set_tests_properties(ctl_smoke PROPERTIES LABELS unit TIMEOUT 120)
  else()
    message(STATUS "python3 or bash not found: the rfqctl smoke test is not registered")
  endif()
endif()
