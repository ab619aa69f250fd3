// Reading protocol fields out of a ByteChain without copying payload.
//
// The delimiters look at a few header bytes at a time, often deep inside a long chain (a Hextile
// rectangle's tiles, spread over hundreds of 16 KiB blocks). ByteChain::at() walks the slices
// from the front on every call; ChainView remembers the slice it found last, so a forward scan
// costs O(1) per field instead of O(slices). Reads are of header bytes, not payload, so they are
// not counted in copy_stats() (the same convention as ByteChain::append_header).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/byte_chain.h"
#include "engine/rfb/big_endian.h"

namespace pvb::rfb {

class ChainView {
 public:
  // Bytes of chain from offset `begin` on. The chain must outlive the view and not change.
  ChainView(const ByteChain& chain, size_t begin) : chain_(&chain), begin_(begin) {}

  size_t size() const { return chain_->size() > begin_ ? chain_->size() - begin_ : 0; }
  // The bytes from i on (i may exceed size(): the sub-view is then empty).
  ChainView sub(size_t i) const { return ChainView(*chain_, begin_ + i); }
  // True when the bytes [0, n) of the view are present (n may be any 64-bit length).
  bool has(uint64_t n) const { return n <= size(); }

  // i < size().
  uint8_t u8(size_t i) const;
  uint16_t u16(size_t i) const {
    uint8_t b[2];
    copy(i, b, 2);
    return get_u16(b);
  }
  uint32_t u32(size_t i) const {
    uint8_t b[4];
    copy(i, b, 4);
    return get_u32(b);
  }
  int32_t s32(size_t i) const { return static_cast<int32_t>(u32(i)); }
  // Copies n header bytes at i (i + n <= size()) into dst; not counted as a payload copy.
  void copy(size_t i, uint8_t* dst, size_t n) const;

 private:
  // Finds the slice holding absolute offset `abs`; returns its index and its start offset.
  void locate(size_t abs) const;

  const ByteChain* chain_;
  size_t begin_;
  // Cache of the last slice found: index into chain_->slices() and its absolute start.
  mutable size_t slice_ = 0;
  mutable size_t slice_start_ = 0;
};

}  // namespace pvb::rfb
