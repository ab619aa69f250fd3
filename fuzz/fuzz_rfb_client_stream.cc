// RfbClientStream (engine/rfb/client_stream.h): what a viewer sends after ClientInit.
//
// Input: byte 0 picks ServerInit's pixel format (fuzz_pixel_format), then the chunked layout of
// fuzz_support.h (flags unused, cut sizes, data: the viewer's bytes).
// Invariants: the delimiter's contract (rfb_fuzz.h); the same boundaries and outcome whole, byte
// by byte and cut as the input says; every message's type is the byte at its start; extension
// messages only after the SetEncodings that enables them; the pixel format only ever set by a
// SetPixelFormat with 8, 16 or 32 bpp.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "engine/rfb/client_stream.h"
#include "engine/rfb/rfb_wire.h"
#include "fuzz/rfb_fuzz.h"

namespace pvb::fuzz {
namespace {

using rfb::ClientMessage;
using rfb::RfbClientStream;

void check_messages(const Boundaries<ClientMessage>& b, std::string_view data,
                    const RfbClientStream& stream, const PixelFormat& initial) {
  bool saw_set_pixel_format = false;
  std::vector<int32_t> announced;
  auto has = [&](int32_t e) {
    return std::find(announced.begin(), announced.end(), e) != announced.end();
  };
  auto byte = [&](uint64_t i) { return static_cast<uint8_t>(data[i]); };
  for (size_t i = 0; i < b.units.size(); ++i) {
    const ClientMessage& m = b.units[i];
    const uint64_t at = b.starts[i];
    FUZZ_CHECK(m.type == byte(at), "type is not the first byte");
    switch (m.type) {
      case rfb::kSetEncodings: {
        const size_t n = size_t{byte(at + 2)} << 8 | byte(at + 3);
        FUZZ_CHECK(m.length == 4 + 4 * n, "SetEncodings length");
        announced.clear();
        for (size_t k = 0; k < n; ++k) {
          const uint64_t p = at + 4 + 4 * k;
          announced.push_back(static_cast<int32_t>(uint32_t{byte(p)} << 24 |
                                                   uint32_t{byte(p + 1)} << 16 |
                                                   uint32_t{byte(p + 2)} << 8 | byte(p + 3)));
        }
        break;
      }
      case rfb::kEnableContinuousUpdates:
        FUZZ_CHECK(has(rfb::kPseudoContinuousUpdates), "EnableContinuousUpdates not enabled");
        break;
      case rfb::kClientFence:
        FUZZ_CHECK(has(rfb::kPseudoFence), "ClientFence not enabled");
        break;
      case rfb::kClientXvp:
        FUZZ_CHECK(has(rfb::kPseudoXvp), "XVP not enabled");
        break;
      case rfb::kSetDesktopSize:
        FUZZ_CHECK(has(rfb::kPseudoExtendedDesktopSize), "SetDesktopSize not enabled");
        break;
      case rfb::kClientQemu:
        FUZZ_CHECK(has(m.subtype == rfb::kQemuAudio ? rfb::kPseudoQemuAudio
                                                    : rfb::kPseudoQemuExtendedKeyEvent),
                   "QEMU message not enabled");
        break;
      default:
        break;
    }
    saw_set_pixel_format |= m.type == rfb::kSetPixelFormat;
    if (m.type == rfb::kClientCutText) {
      FUZZ_CHECK(m.length <= 8 + rfb::kMaxCutTextLength, "cut text over the limit");
    }
  }
  const uint8_t bpp = stream.pixel_format().bits_per_pixel;
  FUZZ_CHECK(announced == stream.encodings() || b.units.empty(), "encodings not recorded");
  FUZZ_CHECK(bpp == 8 || bpp == 16 || bpp == 32 || !saw_set_pixel_format,
             "accepted a pixel format of " + std::to_string(bpp) + " bpp");
  if (!saw_set_pixel_format) {
    FUZZ_CHECK(stream.pixel_format() == initial, "pixel format changed without SetPixelFormat");
  }
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb::fuzz;
  if (size < 1) return 0;
  const pvb::PixelFormat pf = fuzz_pixel_format(bytes[0]);
  ChunkedInput in = parse_chunked_input(bytes + 1, size - 1);
  if (in.data.size() > 64 * 1024) return 0;

  RfbClientStream whole_stream(pf);
  auto whole = delimit<ClientMessage>(whole_stream, in.data, {});
  check_messages(whole, in.data, whole_stream, pf);
  RfbClientStream byte_stream(pf);
  check_same_boundaries(whole, delimit<ClientMessage>(byte_stream, in.data, {1}), "byte by byte");
  FUZZ_CHECK(byte_stream.encodings() == whole_stream.encodings(), "encodings differ when split");
  FUZZ_CHECK(byte_stream.pixel_format() == whole_stream.pixel_format(),
             "pixel format differs when split");
  if (!in.chunk_sizes.empty()) {
    RfbClientStream cut_stream(pf);
    check_same_boundaries(whole, delimit<ClientMessage>(cut_stream, in.data, in.chunk_sizes),
                          "in pieces");
  }
  return 0;
}
