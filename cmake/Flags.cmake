# Warning and sanitizer flags applied to every project target (not to dependencies).
add_library(pvb_flags INTERFACE)
target_compile_options(pvb_flags INTERFACE -Wall -Wextra -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 at -O3 reports impossible overlaps inside std::string's own inlined code (GCC bug
  # 105329, "-Wrestrict false positive with std::string"); nothing in our code is involved.
  target_compile_options(pvb_flags INTERFACE -Wno-restrict)
endif()
if(PVB_WERROR)
  target_compile_options(pvb_flags INTERFACE -Werror)
endif()
# Every source includes from the project root: #include "engine/core/byte_chain.h".
target_include_directories(pvb_flags INTERFACE ${PROJECT_SOURCE_DIR})

if(PVB_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(PVB_SANITIZED=1)
endif()

if(PVB_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PVB_BUILD_FUZZ needs clang (libFuzzer)")
  endif()
  # Code under test gets coverage instrumentation; fuzz targets link the libFuzzer driver.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(PVB_FUZZING=1)
endif()

# Project libraries: pvb_library(name SOURCES ... DEPS ...)
function(pvb_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC pvb_flags ${ARG_DEPS})
endfunction()
