// RFC 4648 base64 (the standard alphabet, with padding), no I/O: Proxy-Authorization credentials
// and the CA certificates kept in known_hosts.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pvb {

std::string base64_encode(std::span<const uint8_t> data);
std::string base64_encode(std::string_view text);
// Strict: the standard alphabet, padded to a multiple of 4, no whitespace, no bits left over in
// the last character; nullopt otherwise.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace pvb
