# Unit tests of the tenant records (codec, tiers, effective settings) and the Redis ACL user
# names and derived passwords. The KV bucket and its watched view need a nats-server: they are
# covered by the integration scenarios tenant_registry and tenant_live_change.
rfq_unit_test(test_tenant ${CMAKE_CURRENT_LIST_DIR}/test_tenant.c)
if(TARGET rfq_requester)
  # Admission rule of the requester (403/503) and settings without a record.
  rfq_unit_test(test_req_tenant ${CMAKE_CURRENT_LIST_DIR}/test_req_tenant.c LIBS rfq_requester)
endif()
