#include "engine/core/byte_chain.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>

namespace pvb {

CopyStats& copy_stats() {
  static thread_local CopyStats stats;
  return stats;
}

// Free blocks of the default capacity are kept per thread for reuse (up to a cap, so a burst does
// not pin memory forever); odd-sized blocks go straight back to the allocator.
class BlockPool {
 public:
  static constexpr size_t kMaxFree = 512;  // 8 MiB of default blocks

  ~BlockPool() {
    while (free_) {
      Block* b = free_;
      free_ = b->next_free_;
      ::operator delete(b);
    }
  }

  Block* take(size_t min_capacity) {
    Block* b;
    if (min_capacity <= Block::kDefaultCapacity && free_) {
      b = free_;
      free_ = b->next_free_;
      --free_count_;
      b->next_free_ = nullptr;
      b->used_ = 0;
    } else {
      size_t cap = std::max(min_capacity, Block::kDefaultCapacity);
      void* mem = ::operator new(sizeof(Block) + cap);
      b = new (mem) Block(static_cast<uint32_t>(cap));
      bytes_allocated_ += cap;
    }
    ++live_;
    return b;
  }

  void give(Block* b) {
    --live_;
    if (b->capacity_ == Block::kDefaultCapacity && free_count_ < kMaxFree) {
      b->next_free_ = free_;
      free_ = b;
      ++free_count_;
      return;
    }
    bytes_allocated_ -= b->capacity_;
    ::operator delete(b);
  }

  BlockPoolStats stats() const { return {live_, free_count_, bytes_allocated_}; }

 private:
  Block* free_ = nullptr;
  size_t free_count_ = 0;
  size_t live_ = 0;
  size_t bytes_allocated_ = 0;
};

static BlockPool& pool() {
  static thread_local BlockPool p;
  return p;
}

BlockPoolStats block_pool_stats() {
  return pool().stats();
}

BlockRef BlockRef::allocate(size_t min_capacity) {
  return BlockRef(pool().take(min_capacity));
}

void BlockRef::release() {
  if (b_ && --b_->refs_ == 0) pool().give(b_);
  b_ = nullptr;
}

std::span<uint8_t> ByteChain::reserve(size_t min_bytes) {
  if (min_bytes == 0) min_bytes = 1;
  if (!slices_.empty()) {
    Slice& last = slices_.back();
    Block* b = last.block.get();
    // Appending in place is safe only when nobody wrote past this slice's end.
    if (b->used_ == last.end && b->capacity_ - last.end >= min_bytes) {
      reserved_ = BlockRef();
      reserved_ptr_ = b->data() + last.end;
      return {reserved_ptr_, b->capacity_ - last.end};
    }
  }
  if (!reserved_ || reserved_->used_ != 0 || reserved_->capacity_ < min_bytes) {
    reserved_ = BlockRef::allocate(min_bytes);
  }
  reserved_ptr_ = reserved_->data();
  return {reserved_ptr_, reserved_->capacity_};
}

void ByteChain::commit(size_t n) {
  assert(reserved_ptr_ != nullptr);
  if (n == 0) return;  // keep the reservation; the fresh block (if any) may be reused
  if (reserved_) {
    assert(reserved_ptr_ == reserved_->data() && n <= reserved_->capacity_);
    reserved_->used_ = static_cast<uint32_t>(n);
    slices_.push_back(Slice{std::move(reserved_), 0, static_cast<uint32_t>(n)});
    reserved_ = BlockRef();
  } else {
    Slice& last = slices_.back();
    assert(reserved_ptr_ == last.block->data() + last.end);
    assert(last.end + n <= last.block->capacity_);
    last.end += static_cast<uint32_t>(n);
    last.block->used_ = last.end;
  }
  reserved_ptr_ = nullptr;
  size_ += n;
}

void ByteChain::append_header(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    std::span<uint8_t> room = reserve(1);
    size_t k = std::min(n, room.size());
    std::memcpy(room.data(), p, k);
    commit(k);
    p += k;
    n -= k;
  }
}

void ByteChain::append(const void* data, size_t n) {
  if (n > 0) count_copy(n);
  append_header(data, n);
}

void ByteChain::append_slice(Slice s) {
  if (s.size() == 0) return;
  size_ += s.size();
  slices_.push_back(std::move(s));
}

void ByteChain::move_from(ByteChain& other) {
  if (&other == this) return;
  if (slices_.empty()) {
    slices_.swap(other.slices_);
  } else {
    for (Slice& s : other.slices_) slices_.push_back(std::move(s));
    other.slices_.clear();
  }
  size_ += other.size_;
  other.size_ = 0;
}

size_t ByteChain::move_from(ByteChain& other, size_t n) {
  if (n >= other.size_) {
    size_t all = other.size_;
    move_from(other);
    return all;
  }
  size_t moved = 0;
  while (moved < n) {
    Slice& s = other.slices_.front();
    size_t want = n - moved;
    if (s.size() <= want) {
      moved += s.size();
      size_ += s.size();
      other.size_ -= s.size();
      slices_.push_back(std::move(s));
      other.slices_.pop_front();
    } else {
      // Split: both chains reference the same block, no bytes move.
      Slice head{s.block, s.begin, static_cast<uint32_t>(s.begin + want)};
      s.begin = head.end;
      moved += want;
      size_ += want;
      other.size_ -= want;
      slices_.push_back(std::move(head));
    }
  }
  return moved;
}

void ByteChain::drain(size_t n) {
  assert(n <= size_);
  n = std::min(n, size_);
  size_ -= n;
  while (n > 0) {
    Slice& s = slices_.front();
    if (s.size() <= n) {
      n -= s.size();
      slices_.pop_front();
    } else {
      s.begin += static_cast<uint32_t>(n);
      n = 0;
    }
  }
}

void ByteChain::clear() {
  slices_.clear();
  size_ = 0;
}

uint8_t ByteChain::at(size_t offset) const {
  assert(offset < size_);
  for (const Slice& s : slices_) {
    if (offset < s.size()) return s.data()[offset];
    offset -= s.size();
  }
  return 0;
}

size_t ByteChain::copy_out(void* dst, size_t n, size_t offset) const {
  auto* out = static_cast<uint8_t*>(dst);
  size_t done = 0;
  for (const Slice& s : slices_) {
    if (done == n) break;
    if (offset >= s.size()) {
      offset -= s.size();
      continue;
    }
    size_t k = std::min(s.size() - offset, n - done);
    std::memcpy(out + done, s.data() + offset, k);
    done += k;
    offset = 0;
  }
  if (done > 0) count_copy(done);
  return done;
}

const uint8_t* ByteChain::linearize(size_t n) {
  assert(n <= size_);
  if (n == 0) return nullptr;
  if (slices_.front().size() >= n) return slices_.front().data();
  BlockRef b = BlockRef::allocate(n);
  copy_out(b->data(), n);
  b->used_ = static_cast<uint32_t>(n);
  drain(n);
  slices_.push_front(Slice{std::move(b), 0, static_cast<uint32_t>(n)});
  size_ += n;
  return slices_.front().data();
}

std::string ByteChain::to_string(size_t max) const {
  std::string s(std::min(max, size_), '\0');
  copy_out(s.data(), s.size());
  return s;
}

std::optional<size_t> ByteChain::find(std::string_view needle, size_t from, size_t limit) const {
  const size_t m = needle.size();
  if (from > size_) return std::nullopt;
  if (m == 0) return from;
  const size_t end = (limit >= size_ - from) ? size_ : from + limit;
  // Rolling window of the last m bytes: needles are short (CRLF, CRLFCRLF), slices are many.
  std::string window;
  window.reserve(m);
  size_t pos = 0;
  for (const Slice& s : slices_) {
    const uint8_t* d = s.data();
    size_t n = s.size();
    size_t i = 0;
    if (pos + n <= from) {
      pos += n;
      continue;
    }
    if (pos < from) i = from - pos;
    for (; i < n; ++i) {
      size_t p = pos + i;
      if (p >= end) return std::nullopt;
      if (window.size() == m) window.erase(0, 1);
      window.push_back(static_cast<char>(d[i]));
      if (window.size() == m && window == needle) return p + 1 - m;
    }
    pos += n;
  }
  return std::nullopt;
}

}  // namespace pvb
