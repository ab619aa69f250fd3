// RFB pieces of the fake VM's server and the test client: protocol versions and byte helpers.
// The wire constants, PixelFormat and big-endian helpers live in engine/rfb.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/byte_chain.h"
#include "engine/rfb/big_endian.h"
#include "engine/rfb/pixel_format.h"
#include "engine/rfb/rfb_wire.h"

namespace pvb {

enum class RfbVersion { v3_3 = 3, v3_7 = 7, v3_8 = 8 };

// "RFB 003.008\n" and friends: always 12 bytes.
inline constexpr size_t kRfbVersionLength = 12;
std::string_view rfb_version_string(RfbVersion version);
// Parses a 12-byte ProtocolVersion. nullopt when it is not "RFB xxx.yyy\n". Versions other than
// 3.7 and 3.8 (3.5, 3.889, 4.x...) mean 3.3 as RFC 6143 7.1.1 says; anything newer than 3.8 in
// the 3.x series is treated as 3.8 so newer peers can still talk to us.
std::optional<RfbVersion> parse_rfb_version(std::string_view text);

// Copies the first n bytes of chain (n <= size) into dst. Protocol fields, not payload, so the
// copy is not counted in copy_stats() (same convention as ByteChain::append_header).
void peek_bytes(const ByteChain& chain, uint8_t* dst, size_t n);
// Moves the first n bytes of chain (n <= size) into dst and drains them; not counted either: the
// test client's decoding is not part of any data path the benchmarks measure.
void take_bytes(ByteChain& chain, uint8_t* dst, size_t n);

}  // namespace pvb
