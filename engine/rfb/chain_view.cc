#include "engine/rfb/chain_view.h"

#include <cassert>
#include <cstring>

namespace pvb::rfb {

void ChainView::locate(size_t abs) const {
  const auto& slices = chain_->slices();
  if (abs < slice_start_ || slice_ >= slices.size()) {
    slice_ = 0;
    slice_start_ = 0;
  }
  while (slice_ < slices.size() && abs >= slice_start_ + slices[slice_].size()) {
    slice_start_ += slices[slice_].size();
    ++slice_;
  }
}

uint8_t ChainView::u8(size_t i) const {
  assert(i < size());
  size_t abs = begin_ + i;
  locate(abs);
  return chain_->slices()[slice_].data()[abs - slice_start_];
}

void ChainView::copy(size_t i, uint8_t* dst, size_t n) const {
  assert(i + n <= size());
  if (n == 0) return;
  size_t abs = begin_ + i;
  locate(abs);
  const auto& slices = chain_->slices();
  size_t s = slice_;
  size_t off = abs - slice_start_;
  while (n > 0) {
    const Slice& sl = slices[s];
    size_t k = sl.size() - off < n ? sl.size() - off : n;
    std::memcpy(dst, sl.data() + off, k);
    dst += k;
    n -= k;
    ++s;
    off = 0;
  }
}

}  // namespace pvb::rfb
