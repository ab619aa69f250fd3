// Helpers for the RFB core tests (and the RFB fuzz targets): building wire bytes, and running a
// delimiter over bytes fed in pieces while checking its contract.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/rfb/pixel_format.h"
#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb::testing {

// remote-viewer's SetEncodings list, in its order, as measured (shared/RFB.md).
inline const std::vector<int32_t>& remote_viewer_encoding_list() {
  static const std::vector<int32_t> list = {kEncodingTight,
                                            kPseudoXvp,
                                            kPseudoQemuExtendedKeyEvent,
                                            kPseudoLedState,
                                            kPseudoExtendedDesktopSize,
                                            kPseudoDesktopSize,
                                            kPseudoDesktopName,
                                            kPseudoLastRect,
                                            kPseudoVmwareDisplayModeChange,
                                            kPseudoQemuAudio,
                                            kPseudoAlphaCursor,
                                            kPseudoRichCursor,
                                            kPseudoXCursor,
                                            kPseudoQemuPointerTypeChange,
                                            kEncodingZrle,
                                            kEncodingHextile,
                                            kEncodingRre,
                                            kEncodingCopyRect,
                                            kEncodingRaw};
  return list;
}

// Big-endian wire bytes, built fluently: Bytes().u8(0).u8(0).u16(1).str().
class Bytes {
 public:
  Bytes& u8(uint8_t v) {
    s_ += static_cast<char>(v);
    return *this;
  }
  Bytes& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
  Bytes& u32(uint32_t v) {
    return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v));
  }
  Bytes& s32(int32_t v) { return u32(static_cast<uint32_t>(v)); }
  Bytes& fill(size_t n, uint8_t v = 0xAB) {
    s_.append(n, static_cast<char>(v));
    return *this;
  }
  Bytes& raw(std::string_view b) {
    s_ += b;
    return *this;
  }
  Bytes& pixel_format(const PixelFormat& pf) {
    uint8_t b[PixelFormat::kWireLength];
    pf.write(b);
    s_.append(reinterpret_cast<const char*>(b), sizeof b);
    return *this;
  }
  // A rectangle header.
  Bytes& rect(uint16_t x, uint16_t y, uint16_t w, uint16_t h, int32_t encoding) {
    return u16(x).u16(y).u16(w).u16(h).s32(encoding);
  }
  // Tight's compact length.
  Bytes& compact(uint32_t n) {
    u8(static_cast<uint8_t>((n & 0x7F) | (n > 0x7F ? 0x80 : 0)));
    if (n > 0x7F) {
      u8(static_cast<uint8_t>(((n >> 7) & 0x7F) | (n > 0x3FFF ? 0x80 : 0)));
      if (n > 0x3FFF) u8(static_cast<uint8_t>(n >> 14));
    }
    return *this;
  }
  const std::string& str() const { return s_; }
  size_t size() const { return s_.size(); }

 private:
  std::string s_;
};

// Appends bytes as a slice of their own (as they would arrive from the network).
inline void append_piece(ByteChain& chain, std::string_view piece) {
  if (piece.empty()) return;
  auto span = chain.reserve(piece.size(), piece.size());
  for (size_t i = 0; i < piece.size(); ++i) span[i] = static_cast<uint8_t>(piece[i]);
  chain.commit(piece.size());
}

template <class Unit>
struct DelimitRun {
  std::vector<Unit> units;
  std::vector<uint64_t> offsets;   // where each unit started
  Error error;                     // the delimiter's error, if any
  std::string contract_violation;  // empty when the delimiter kept its contract
  uint64_t end = 0;                // where the next unit would start
};

// Feeds `data` to `stream` in pieces of `piece` bytes (0: all at once), calling next() after
// every piece and after every unit found, the way the bridge will. Checks the contract: a "need"
// is always more than the bytes available (else the caller would wait forever); a found unit's
// length is positive.
template <class Unit, class Stream>
DelimitRun<Unit> delimit(Stream& stream, std::string_view data, size_t piece = 0) {
  DelimitRun<Unit> run;
  ByteChain in;
  size_t fed = 0;
  auto feed_more = [&]() {
    if (fed == data.size()) return false;
    size_t n = piece == 0 ? data.size() - fed : std::min(piece, data.size() - fed);
    append_piece(in, data.substr(fed, n));
    fed += n;
    return true;
  };
  feed_more();
  uint64_t start = 0;
  for (;;) {
    // A unit's body may be longer than what arrived: skip to its end first.
    while (in.size() < start && feed_more()) {
    }
    if (in.size() < start) break;
    auto r = stream.next(in, start);
    if (!r.ok()) {
      run.error = r.error();
      break;
    }
    if (r->found()) {
      if (r->unit->length == 0) {
        run.contract_violation = "a unit of length 0";
        break;
      }
      run.units.push_back(*r->unit);
      run.offsets.push_back(start);
      start += r->unit->length;
      continue;
    }
    if (r->need <= in.size() - start) {
      run.contract_violation = "asked for " + std::to_string(r->need) + " bytes with " +
                               std::to_string(in.size() - start) + " available";
      break;
    }
    if (!feed_more()) break;
  }
  run.end = start;
  return run;
}

}  // namespace pvb::rfb::testing
