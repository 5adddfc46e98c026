# End-to-end tests over a whole local stack (deploy/local/stack: nats-server, redis-server and
# the engine binaries built here, in a temporary run directory on free loopback ports):
#   ctl_e2e      rfqctl against the real engine: every subcommand, tokens, errors, exit codes
#   stack_smoke  deploy/local/smoke: stack up, demo, status, down, nothing left running
# Both bring their own stack up and take it down by PID, so they may run beside the others.
if(TARGET rfqctl AND TARGET rfq-requester AND TARGET rfq-responder AND TARGET rfq-aggregator)
  find_program(RFQ_BASH bash)
  find_program(RFQ_PYTHON3 python3)
  find_program(RFQ_CURL curl)
  find_program(RFQ_OPENSSL openssl)
  if(NOT RFQ_BASH OR NOT RFQ_CURL OR NOT RFQ_OPENSSL)
    message(WARNING "end-to-end tests skipped: bash, curl or openssl not found")
  else()
    # The stack starts $RFQ_BUILD_DIR/{requester,responder,aggregator}/rfq-*, and its
    # stack.env puts $RFQ_BUILD_DIR/requester/ctl (rfqctl) on PATH for the demo: this build
    # tree. ctl_e2e checks that those are the targets' files.
    if(RFQ_PYTHON3)
      add_test(NAME ctl_e2e
               COMMAND ${RFQ_BASH} ${PROJECT_SOURCE_DIR}/requester/ctl/tests/ctl_e2e.sh
                       $<TARGET_FILE:rfqctl> ${CMAKE_BINARY_DIR}
                       $<TARGET_FILE:rfq-requester> $<TARGET_FILE:rfq-responder>
                       $<TARGET_FILE:rfq-aggregator> ${RFQ_PYTHON3})
      # The script stops starting commands after 150 s, so its cleanup (stack down) runs
      # well before CTest would kill it.
      set_tests_properties(ctl_e2e PROPERTIES LABELS integration TIMEOUT 240)
    else()
      message(WARNING "python3 not found: the rfqctl end-to-end test ctl_e2e is not registered")
    endif()

    add_test(NAME stack_smoke COMMAND ${RFQ_BASH} ${PROJECT_SOURCE_DIR}/deploy/local/smoke)
    set_tests_properties(stack_smoke PROPERTIES LABELS integration TIMEOUT 300
                         ENVIRONMENT "RFQ_BUILD_DIR=${CMAKE_BINARY_DIR}")
  endif()
endif()
