// Shared pieces of the RFB fuzz targets: the pixel formats a fuzz input picks from, and a driver
// that runs a delimiter (RfbServerStream, RfbClientStream) over bytes cut into pieces the way the
// network would, recording every boundary and checking the delimiter's contract as it goes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/rfb/pixel_format.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {

// The pixel formats worth covering, picked by a byte of the input: the usual ones, one where
// Tight's pixel size is ambiguous (32 bpp, depth 32), a big-endian one, a colour-map one, and
// 16 bpp with depth 24 (nonsense a hostile viewer could still ask for).
inline PixelFormat fuzz_pixel_format(uint8_t pick) {
  PixelFormat pf = PixelFormat::rgb888();
  switch (pick % 6) {
    case 0:
      break;
    case 1:
      pf = PixelFormat::rgb565();
      break;
    case 2:
      pf.bits_per_pixel = 8;
      pf.depth = 8;
      pf.red_max = pf.green_max = 7;
      pf.blue_max = 3;
      pf.red_shift = 0;
      pf.green_shift = 3;
      pf.blue_shift = 6;
      break;
    case 3:
      pf.depth = 32;
      break;
    case 4:
      pf.big_endian = true;
      break;
    case 5:
      pf.bits_per_pixel = 16;
      pf.true_colour = false;
      pf.depth = 24;
      break;
  }
  return pf;
}

template <class Unit>
struct Boundaries {
  std::vector<uint64_t> starts;
  std::vector<Unit> units;
  Errc error = Errc::ok;
  std::string error_detail;
  uint64_t end = 0;  // where the next unit would start
};

// Runs `stream` over `data` cut by `sizes` (empty: one piece), calling next() after every piece
// and every unit, as the bridge will. Aborts on a broken contract: a "need" that the available
// bytes already satisfy (the caller would wait forever), a zero-length unit, a multi-line error.
template <class Unit, class Stream>
Boundaries<Unit> delimit(Stream& stream, std::string_view data, const std::vector<size_t>& sizes) {
  Boundaries<Unit> b;
  ByteChain in;
  size_t fed = 0, cut = 0;
  auto feed = [&]() {
    if (fed == data.size()) return false;
    size_t n = sizes.empty() ? data.size() - fed
                             : std::min(sizes[cut++ % sizes.size()], data.size() - fed);
    append_chunk(in, data.substr(fed, n));
    fed += n;
    return true;
  };
  feed();
  uint64_t start = 0;
  for (;;) {
    while (in.size() < start && feed()) {
    }
    if (in.size() < start) break;
    auto r = stream.next(in, start);
    if (!r.ok()) {
      b.error = r.error().code();
      b.error_detail = r.error().detail();
      FUZZ_CHECK(is_one_line(r.error().message()),
                 "multi-line error: " + printable(b.error_detail));
      FUZZ_CHECK(b.error == Errc::protocol || b.error == Errc::too_large,
                 std::string("unexpected error code ") + errc_name(b.error));
      // Errors are sticky.
      auto again = stream.next(in, start);
      FUZZ_CHECK(!again.ok() && again.error().detail() == r.error().detail(), "error not sticky");
      break;
    }
    if (r->found()) {
      FUZZ_CHECK(r->unit->length > 0, "a unit of length 0");
      b.starts.push_back(start);
      b.units.push_back(*r->unit);
      start += r->unit->length;
      continue;
    }
    FUZZ_CHECK(r->need > in.size() - start, "asked for " + std::to_string(r->need) +
                                                " bytes with " + std::to_string(in.size() - start) +
                                                " available");
    if (!feed()) break;
  }
  b.end = start;
  return b;
}

// The same boundaries and the same outcome, however the bytes were cut.
template <class Unit>
void check_same_boundaries(const Boundaries<Unit>& a, const Boundaries<Unit>& b, const char* how) {
  FUZZ_CHECK(a.starts == b.starts, std::string("boundaries differ when fed ") + how);
  FUZZ_CHECK(a.error == b.error && a.error_detail == b.error_detail,
             std::string("outcome differs when fed ") + how + ": " + printable(a.error_detail) +
                 " vs " + printable(b.error_detail));
  FUZZ_CHECK(a.end == b.end, std::string("end differs when fed ") + how);
}

}  // namespace pvb::fuzz
