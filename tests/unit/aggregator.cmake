# Aggregator unit tests (cmocka, no servers): quote validation, Redis reply parsing, events.
foreach(t test_agg_quote_check test_agg_store test_agg_events)
  rfq_unit_test(${t} ${CMAKE_CURRENT_LIST_DIR}/${t}.c LIBS rfq_aggregator)
endforeach()
