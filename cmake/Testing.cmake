include(GoogleTest)
# One GoogleTest executable per module: pvb_test(name SOURCES ... DEPS ... [LABELS ...])
# Tests labelled "long" (1 GiB transfers) are skipped under sanitizers by ci/test.sh.
function(pvb_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE pvb_flags ${ARG_DEPS} GTest::gtest GTest::gmock
                                        GTest::gtest_main)
  set(props TIMEOUT 300)
  if(ARG_LABELS)
    # Escaped: PROPERTIES is itself a list, so "a;b" unescaped would keep only "a" as the label.
    string(REPLACE ";" "\\;" labels "${ARG_LABELS}")
    list(APPEND props LABELS "${labels}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${props})
endfunction()
