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

// Free blocks of the two pooled capacities (16 KiB, and 64 KiB for bulk reads) are kept per
// thread for reuse, each list up to a cap so a burst does not pin memory forever; blocks of other
// sizes go straight back to the allocator.
class BlockPool {
 public:
  ~BlockPool() {
    small_.release_all();
    large_.release_all();
  }

  Block* take(size_t min_capacity) {
    FreeList* list = list_for(min_capacity);
    Block* b = list ? list->pop() : nullptr;
    if (b) {
      b->used_ = 0;
    } else {
      size_t cap = list ? list->capacity : min_capacity;
      void* mem = ::operator new(sizeof(Block) + cap);
      b = new (mem) Block(static_cast<uint32_t>(cap));
      bytes_allocated_ += cap;
    }
    ++live_;
    return b;
  }

  void give(Block* b) {
    --live_;
    FreeList* list = list_for(b->capacity_);
    if (list && list->capacity == b->capacity_ && list->push(b)) return;
    bytes_allocated_ -= b->capacity_;
    ::operator delete(b);
  }

  BlockPoolStats stats() const { return {live_, small_.count + large_.count, bytes_allocated_}; }

 private:
  struct FreeList {
    size_t capacity;
    size_t max_count;
    Block* head = nullptr;
    size_t count = 0;
    Block* pop() {
      Block* b = head;
      if (!b) return nullptr;
      head = b->next_free_;
      b->next_free_ = nullptr;
      --count;
      return b;
    }
    bool push(Block* b) {
      if (count >= max_count) return false;
      b->next_free_ = head;
      head = b;
      ++count;
      return true;
    }
    void release_all() {
      while (Block* b = pop()) ::operator delete(b);
    }
  };

  FreeList* list_for(size_t capacity) {
    if (capacity <= small_.capacity) return &small_;
    if (capacity <= large_.capacity) return &large_;
    return nullptr;
  }

  FreeList small_{Block::kDefaultCapacity, 512};  // 8 MiB at most
  FreeList large_{Block::kLargeCapacity, 64};     // 4 MiB at most
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

std::span<uint8_t> ByteChain::reserve(size_t min_bytes, size_t fresh_capacity) {
  if (min_bytes == 0) min_bytes = 1;
  fresh_capacity = std::max(min_bytes, fresh_capacity);
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
  if (!reserved_ || reserved_->used_ != 0 || reserved_->capacity_ < fresh_capacity) {
    reserved_ = BlockRef::allocate(fresh_capacity);
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

// Moving a small slice behind ours pins its whole block for a few bytes: a queue of many small
// messages (a ping flood's pongs, one TLS record each; keystrokes while the guest is stalled)
// would hold a block per message however few bytes the queue's watermarks count. Copying such a
// slice into the room after our last one instead frees its block and costs next to nothing.
bool ByteChain::coalesce(const Slice& s) {
  if (s.size() > kCoalesceMax || slices_.empty()) return false;
  Slice& last = slices_.back();
  Block* b = last.block.get();
  if (b->used_ != last.end || b->capacity_ - last.end < s.size() || reserved_ptr_ != nullptr)
    return false;
  std::memcpy(b->data() + last.end, s.data(), s.size());
  count_copy(s.size());
  last.end += static_cast<uint32_t>(s.size());
  b->used_ = last.end;
  size_ += s.size();
  return true;
}

void ByteChain::move_from(ByteChain& other) {
  if (&other == this) return;
  if (slices_.empty()) {
    slices_.swap(other.slices_);
    size_ += other.size_;
  } else {
    for (Slice& s : other.slices_) {
      if (coalesce(s)) continue;
      size_ += s.size();
      slices_.push_back(std::move(s));
    }
    other.slices_.clear();
  }
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
      other.size_ -= s.size();
      if (!coalesce(s)) {
        size_ += s.size();
        slices_.push_back(std::move(s));
      }
      other.slices_.pop_front();
    } else {
      // Split: both chains reference the same block, no bytes move (unless small: coalesced).
      Slice head{s.block, s.begin, static_cast<uint32_t>(s.begin + want)};
      s.begin = head.end;
      moved += want;
      other.size_ -= want;
      if (!coalesce(head)) {
        size_ += want;
        slices_.push_back(std::move(head));
      }
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

size_t ByteChain::take_into(void* dst, size_t n, CopyCounter counter) {
  auto* out = static_cast<uint8_t*>(dst);
  n = std::min(n, size_);
  size_t done = 0;
  while (done < n) {
    const Slice& s = slices_.front();
    const size_t k = std::min(s.size(), n - done);
    std::memcpy(out + done, s.data(), k);
    drain(k);
    done += k;
  }
  if (done > 0 && counter == CopyCounter::chain) count_copy(done);
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
