// RfbServerStream (engine/rfb/server_stream.h): what a Proxmox node's VNC server sends after
// ServerInit, delimited update by update and rectangle by rectangle.
//
// Input: byte 0 picks the pixel format (fuzz_pixel_format), byte 1's bits the announced
// extensions (0: continuous updates, 1: fence, 2: XVP, 3: QEMU audio), then the chunked layout of
// fuzz_support.h (flags unused, cut sizes, data: the server's bytes).
// Invariants: the delimiter's contract (rfb_fuzz.h); the same boundaries and outcome whole, byte
// by byte and cut as the input says; every rectangle's exposed header is the bytes at its start;
// body = length - 12; rectangles come only inside an update and an update ends where it says.
#include <cstddef>
#include <cstdint>

#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_stream.h"
#include "fuzz/rfb_fuzz.h"

namespace pvb::fuzz {
namespace {

using rfb::RfbServerStream;
using rfb::ServerUnit;
using rfb::ServerUnitKind;

RfbServerStream make_stream(const PixelFormat& pf, uint8_t extensions) {
  RfbServerStream s(pf, 1024, 768);
  std::vector<int32_t> encodings = {rfb::kEncodingTight, rfb::kEncodingRaw};
  if (extensions & 1) encodings.push_back(rfb::kPseudoContinuousUpdates);
  if (extensions & 2) encodings.push_back(rfb::kPseudoFence);
  if (extensions & 4) encodings.push_back(rfb::kPseudoXvp);
  if (extensions & 8) encodings.push_back(rfb::kPseudoQemuAudio);
  s.set_client_encodings(encodings);
  return s;
}

uint8_t byte_at(std::string_view data, uint64_t i) {
  return static_cast<uint8_t>(data[i]);
}
uint16_t u16_at(std::string_view d, uint64_t i) {
  return static_cast<uint16_t>(byte_at(d, i) << 8 | byte_at(d, i + 1));
}

uint8_t message_type(ServerUnitKind kind) {
  switch (kind) {
    case ServerUnitKind::update_header:
      return rfb::kFramebufferUpdate;
    case ServerUnitKind::set_colour_map_entries:
      return rfb::kSetColourMapEntries;
    case ServerUnitKind::bell:
      return rfb::kBell;
    case ServerUnitKind::cut_text:
      return rfb::kServerCutText;
    case ServerUnitKind::end_of_continuous_updates:
      return rfb::kEndOfContinuousUpdates;
    case ServerUnitKind::fence:
      return rfb::kServerFence;
    case ServerUnitKind::xvp:
      return rfb::kServerXvp;
    case ServerUnitKind::qemu_audio:
      return rfb::kServerQemu;
    case ServerUnitKind::rect:
      break;
  }
  return 0xFF;
}

void check_units(const Boundaries<ServerUnit>& b, std::string_view data) {
  uint32_t rects_left = 0;
  for (size_t i = 0; i < b.units.size(); ++i) {
    const ServerUnit& u = b.units[i];
    const uint64_t at = b.starts[i];
    if (u.kind == ServerUnitKind::rect) {
      FUZZ_CHECK(rects_left > 0, "a rectangle outside an update");
      FUZZ_CHECK(u.body_length + rfb::kRectHeaderLength == u.length, "body + header != length");
      FUZZ_CHECK(u.body_length <= rfb::kMaxRectBodyLength, "a body over the limit");
      FUZZ_CHECK(u.rect.x == u16_at(data, at) && u.rect.w == u16_at(data, at + 4),
                 "rect header differs from the bytes");
      --rects_left;
      if (u.rect.encoding == rfb::kPseudoLastRect) rects_left = 0;
      FUZZ_CHECK(u.ends_update == (rects_left == 0), "ends_update wrong");
      continue;
    }
    FUZZ_CHECK(rects_left == 0, "a message inside an update");
    FUZZ_CHECK(byte_at(data, at) == message_type(u.kind),
               "unit kind does not match the type byte " + std::to_string(byte_at(data, at)));
    if (u.kind == ServerUnitKind::update_header) {
      FUZZ_CHECK(u.length == 4 && u.rect_count == u16_at(data, at + 2), "update header wrong");
      rects_left = u.rect_count;
      FUZZ_CHECK(u.ends_update == (rects_left == 0), "empty update not ended");
    }
  }
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb::fuzz;
  if (size < 2) return 0;
  const pvb::PixelFormat pf = fuzz_pixel_format(bytes[0]);
  const uint8_t extensions = bytes[1];
  ChunkedInput in = parse_chunked_input(bytes + 2, size - 2);
  if (in.data.size() > 64 * 1024) return 0;

  auto whole_stream = make_stream(pf, extensions);
  auto whole = delimit<ServerUnit>(whole_stream, in.data, {});
  check_units(whole, in.data);
  auto byte_stream = make_stream(pf, extensions);
  check_same_boundaries(whole, delimit<ServerUnit>(byte_stream, in.data, {1}), "byte by byte");
  if (!in.chunk_sizes.empty()) {
    auto cut_stream = make_stream(pf, extensions);
    check_same_boundaries(whole, delimit<ServerUnit>(cut_stream, in.data, in.chunk_sizes),
                          "in pieces");
  }
  return 0;
}
