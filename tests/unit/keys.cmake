# Unit tests of token keys: key-set files, kid selection and reloads, and the forged-token
# battery (its generator, tests/integration/forge.c, also drives the forged_tokens scenario).
set(rfq_jwt_test_util ${CMAKE_CURRENT_LIST_DIR}/test_jwt_util.c)
rfq_unit_test(test_jwt_keyset ${CMAKE_CURRENT_LIST_DIR}/test_jwt_keyset.c ${rfq_jwt_test_util})
if(TARGET rfq_requester)
  rfq_unit_test(test_jwt_forged ${CMAKE_CURRENT_LIST_DIR}/test_jwt_forged.c ${rfq_jwt_test_util}
    ${PROJECT_SOURCE_DIR}/tests/integration/forge.c LIBS rfq_requester)
  target_include_directories(test_jwt_forged PRIVATE ${PROJECT_SOURCE_DIR}/tests/integration)
endif()
