# Every dependency comes from a Debian 12 package (see ci/install-deps.sh); nothing is downloaded.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)

# libwslay-dev ships a CMake config without a version file: no version argument here.
find_package(wslay CONFIG REQUIRED)

# libmbedtls-dev has neither pkg-config nor a CMake config.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/ssl.h REQUIRED)
find_library(MBEDTLS_LIB mbedtls REQUIRED)
find_library(MBEDX509_LIB mbedx509 REQUIRED)
find_library(MBEDCRYPTO_LIB mbedcrypto REQUIRED)
add_library(pvb_mbedtls INTERFACE)
target_include_directories(pvb_mbedtls SYSTEM INTERFACE ${MBEDTLS_INCLUDE_DIR})
target_link_libraries(pvb_mbedtls INTERFACE ${MBEDTLS_LIB} ${MBEDX509_LIB} ${MBEDCRYPTO_LIB})

find_package(simdjson CONFIG REQUIRED)
find_package(Threads REQUIRED)

if(PVB_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(PVB_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
