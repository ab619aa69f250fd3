// VNC Authentication (RFB security type 2): the client DES-encrypts the server's 16-byte challenge
// with a key made from the password's first 8 bytes (zero-padded), each key byte's bits reversed —
// the quirk of the original VNC code, whose DES took key bits in the opposite order. QEMU,
// vncterm, TigerVNC and every viewer do the same, so any password longer than 8 bytes is
// effectively truncated.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace pvb {

// The 16-byte response to a challenge (two DES-ECB blocks).
std::array<uint8_t, 16> vnc_auth_response(std::string_view password,
                                          std::span<const uint8_t, 16> challenge);

// The 8-byte password file written by vncpasswd(1) and read by `vncsnapshot -passwd`: the
// password (first 8 bytes, zero-padded) DES-encrypted with the fixed VNC key
// {23,82,107,6,35,78,88,7} (key bits reversed the same way). An obfuscation, not a protection.
std::array<uint8_t, 8> vnc_password_file_bytes(std::string_view password);

}  // namespace pvb
