// ByteChain: a zero-copy byte queue made of slices over reference-counted pooled blocks.
//
// Reads land directly in a chain (reserve() hands out the tail of a block, commit() keeps what was
// written); slices move from chain to chain without copying (a partial move shares the block);
// writers export the slices as iovecs. Every byte ByteChain itself copies is counted in
// copy_stats(), so the benchmarks can report copies per byte pumped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pvb {

// Bytes copied by ByteChain and the codecs on this thread (memcpy of payload, not headers).
struct CopyStats {
  uint64_t bytes = 0;  // payload bytes copied
  uint64_t calls = 0;  // copy operations
};
CopyStats& copy_stats();
inline void count_copy(size_t n) {
  copy_stats().bytes += n;
  copy_stats().calls += 1;
}

// A fixed-capacity buffer shared by the slices that point into it. Bytes past used() belong to no
// slice yet, so whoever holds the chain tail may append there.
class Block {
 public:
  static constexpr size_t kDefaultCapacity = 16 * 1024;
  // For bulk reads: one 64 KiB read costs a quarter of the system calls of four 16 KiB ones.
  static constexpr size_t kLargeCapacity = 64 * 1024;

  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }
  // Slices and reservations holding this block (in any chain): 1 = only the one you look through.
  uint32_t references() const { return refs_; }

 private:
  friend class BlockRef;
  friend class BlockPool;
  friend class ByteChain;
  explicit Block(uint32_t capacity) : capacity_(capacity) {}
  uint32_t refs_ = 0;
  uint32_t capacity_;
  uint32_t used_ = 0;
  Block* next_free_ = nullptr;
};

// Intrusive reference to a Block; returns the block to its pool when the last reference goes.
class BlockRef {
 public:
  BlockRef() = default;
  static BlockRef allocate(size_t min_capacity);
  BlockRef(const BlockRef& o) : b_(o.b_) { retain(); }
  BlockRef(BlockRef&& o) noexcept : b_(o.b_) { o.b_ = nullptr; }
  BlockRef& operator=(BlockRef o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~BlockRef() { release(); }
  Block* get() const { return b_; }
  Block* operator->() const { return b_; }
  explicit operator bool() const { return b_ != nullptr; }

 private:
  explicit BlockRef(Block* b) : b_(b) { retain(); }
  void retain() {
    if (b_) ++b_->refs_;
  }
  void release();
  Block* b_ = nullptr;
};

struct Slice {
  BlockRef block;
  uint32_t begin = 0;
  uint32_t end = 0;
  const uint8_t* data() const { return block->data() + begin; }
  size_t size() const { return end - begin; }
  std::span<const uint8_t> span() const { return {data(), size()}; }
};

// Pool statistics, for tests and the memory benchmarks.
struct BlockPoolStats {
  size_t live_blocks = 0;      // blocks referenced by some slice or reservation
  size_t free_blocks = 0;      // blocks kept for reuse
  size_t bytes_allocated = 0;  // capacity of live + free blocks
};
BlockPoolStats block_pool_stats();

class ByteChain {
 public:
  ByteChain() = default;
  ByteChain(ByteChain&&) noexcept = default;
  ByteChain& operator=(ByteChain&&) noexcept = default;
  ByteChain(const ByteChain&) = delete;
  ByteChain& operator=(const ByteChain&) = delete;
  explicit ByteChain(std::string_view s) { append(s); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t slice_count() const { return slices_.size(); }

  // --- producing -------------------------------------------------------------------------------
  // Contiguous writable space at the tail, at least min_bytes long (a fresh block of at least
  // fresh_capacity bytes when the tail block is full or shared past its end). Only the latest
  // reservation is valid; commit() keeps the first n bytes of it. Reserving does not change size().
  std::span<uint8_t> reserve(size_t min_bytes = 1, size_t fresh_capacity = 0);
  void commit(size_t n);
  // Gives back a fresh block reserved and not written (to the pool, where the next reserve()
  // finds it again): an idle reader then pins no block of its own.
  void drop_reservation() {
    reserved_ = BlockRef();
    reserved_ptr_ = nullptr;
  }
  // Copies bytes in (counted).
  void append(const void* data, size_t n);
  void append(std::string_view s) { append(s.data(), s.size()); }
  void append(std::span<const uint8_t> s) { append(s.data(), s.size()); }
  // Copies bytes in without counting them as payload copies: protocol headers we generate.
  void append_header(const void* data, size_t n);
  void append_slice(Slice s);

  // --- moving (no copy) ------------------------------------------------------------------------
  void move_from(ByteChain& other);
  // Moves the first n bytes of other (or all of it, if shorter). Returns the bytes moved.
  size_t move_from(ByteChain& other, size_t n);

  // --- consuming -------------------------------------------------------------------------------
  const Slice& front() const { return slices_.front(); }
  // References to the front slice's block (see Block::references): a codec may write into those
  // bytes in place only if it can account for every one of them. The chain must not be empty.
  uint32_t front_block_references() const { return slices_.front().block->references(); }
  void drain(size_t n);
  void clear();
  uint8_t at(size_t offset) const;
  // Copies up to n bytes starting at offset into dst (counted). Returns the bytes copied.
  size_t copy_out(void* dst, size_t n, size_t offset = 0) const;
  // Copies up to n bytes from the front into dst and drains them (a library's read callback).
  // Counted in copy_stats(), unless the caller counts the copy as its own (CopyCounter::caller:
  // the TLS backends count theirs in tls_copy_stats()). Returns the bytes taken.
  enum class CopyCounter { chain, caller };
  size_t take_into(void* dst, size_t n, CopyCounter counter = CopyCounter::chain);
  // Makes the first n bytes (n <= size()) contiguous, copying only if they span slices (counted).
  const uint8_t* linearize(size_t n);
  // The whole content as a string (a counted copy); for headers, tests and small messages.
  std::string to_string(size_t max = SIZE_MAX) const;
  // Offset of needle at or after from, looking at no more than limit bytes; nullopt if absent.
  std::optional<size_t> find(std::string_view needle, size_t from = 0,
                             size_t limit = SIZE_MAX) const;

  template <class F>
  void for_each_slice(F&& f) const {
    for (const Slice& s : slices_) f(s);
  }
  const std::deque<Slice>& slices() const { return slices_; }

  // Slices up to this size are copied (counted) rather than linked when moved behind a slice whose
  // block has room for them (see coalesce in byte_chain.cc).
  static constexpr size_t kCoalesceMax = 1024;

 private:
  bool coalesce(const Slice& s);

  std::deque<Slice> slices_;
  size_t size_ = 0;
  BlockRef reserved_;                // a fresh block handed out by reserve() and not yet committed
  uint8_t* reserved_ptr_ = nullptr;  // where the latest reservation starts
};

}  // namespace pvb
