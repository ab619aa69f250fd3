// The echo guest (mock-pveproxy --qemu-echo-guest): a 512-byte boot disk for a real QEMU whose
// screen changes when, and only when, a key is typed. SeaBIOS boots it from the IDE disk; it
// hides the text cursor (so nothing blinks), prints one line, then echoes every key the BIOS
// reads to the 80x25 text screen. Tests type into it over QMP (send-key) to step QEMU's screen
// the way SIGUSR2 steps the fake VM's, so a cut can be followed by a picture that must be new.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace pvb::mock {

// The boot sector: code, its banner line, zeros, and the 0x55 0xAA signature.
std::vector<uint8_t> echo_guest_boot_sector();

// Writes it to `path` (mode 0600), for QEMU's -drive file=PATH,format=raw,if=ide.
Error write_echo_guest(const std::string& path);

// The QMP qcode typed by the n-th step: "a".."z", then again.
std::string echo_guest_key(uint64_t n);

}  // namespace pvb::mock
