# Install rules for the man page and the shell completions, and the CPack .deb.
# (`install(TARGETS pvebridge)` is in frontends/cli; the mock and the test programs are never
# installed: tests/packaging checks the exact list of installed files.)
#
#   cmake --install build/release --prefix ~/.local
#   cd build/release && cpack -G DEB      (ci/package.sh builds, checks and installs the .deb)
include(GNUInstallDirs)

# Man pages are installed gzipped (Debian policy 12.1); -n keeps the .gz reproducible (no name,
# no time stamp).
find_program(PVB_GZIP gzip REQUIRED)
set(PVB_MAN_SOURCE ${PROJECT_SOURCE_DIR}/docs/pvebridge.1)
set(PVB_MAN_COPY ${PROJECT_BINARY_DIR}/docs/pvebridge.1)
set(PVB_MAN_GZ ${PVB_MAN_COPY}.gz)
add_custom_command(
  OUTPUT ${PVB_MAN_GZ}
  COMMAND ${CMAKE_COMMAND} -E copy ${PVB_MAN_SOURCE} ${PVB_MAN_COPY}
  COMMAND ${PVB_GZIP} -9 -n -f ${PVB_MAN_COPY}
  DEPENDS ${PVB_MAN_SOURCE}
  COMMENT "Compressing the pvebridge(1) man page"
  VERBATIM)
add_custom_target(pvebridge_man_page ALL DEPENDS ${PVB_MAN_GZ})
if(TARGET pvebridge)
  # Building just the program is enough for `cmake --install` to find everything it installs.
  add_dependencies(pvebridge pvebridge_man_page)
endif()

install(FILES ${PVB_MAN_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(
  FILES ${PROJECT_SOURCE_DIR}/completions/pvebridge.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME pvebridge)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_pvebridge
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)

# --- the .deb -----------------------------------------------------------------------------------
set(PVB_PACKAGE_MAINTAINER
    "pvebridge maintainers <maintainers@pvebridge.invalid>"
    CACHE STRING "Maintainer field of the .deb (Name <address>)")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pvebridge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${PVB_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "open the console of a Proxmox VE guest through the API port")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)

set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${PVB_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # pvebridge_<version>_<arch>.deb
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# The extended description; CPack puts the summary above it as the synopsis line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pvebridge opens the graphical console of a Proxmox VE virtual machine or
container with one command. It asks the Proxmox API (HTTPS, port 8006) for a
one-shot VNC ticket, opens a WebSocket to pveproxy on that same port, listens
on 127.0.0.1 and pumps the VNC bytes between the two, then starts
remote-viewer on a private .vv file. No port is opened on the Proxmox nodes.
Includes the pvebridge(1) man page and bash and zsh completions.")

# Depends: dpkg-shlibdeps derives the runtime packages (with their minimum versions) from the
# shared libraries the stripped binary really links: libuv1, libmbedtls14, libmbedx509-1,
# libmbedcrypto7, libsimdjson14, libwslay1, libstdc++6, libc6 ... and libssl3 whenever an OpenSSL
# backend is linked. ci/package.sh checks the result against `dpkg -S` of every DT_NEEDED library.
find_program(PVB_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(NOT PVB_DPKG_SHLIBDEPS)
  message(WARNING "dpkg-shlibdeps (package dpkg-dev) not found: `cpack -G DEB` would build a .deb "
                  "without Depends")
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The console is shown by remote-viewer; --viewer or --no-viewer work without it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS virt-viewer)

include(CPack)
