// Shared pieces of the libFuzzer targets: the input layout of the chunked targets, an invariant
// check that fails loudly (libFuzzer saves the input of any abort), and small string helpers.
//
// Chunked input layout (fuzz_http_*, fuzz_ws_*_decode, fuzz_tls_*):
//   byte 0      flags, meaning defined by each target
//   byte 1      low 3 bits: n, the number of chunk-size bytes that follow (0 = feed all at once)
//   n bytes     chunk sizes, used in turn: value v feeds v + 1 bytes (1..256)
//   the rest    the data
// So the fuzzer mutates where the data is cut as freely as the data itself, and a seed is just
// "\0\0" followed by a real message.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/byte_chain.h"

namespace pvb::fuzz {

struct ChunkedInput {
  uint8_t flags = 0;
  std::vector<size_t> chunk_sizes;  // empty: one chunk
  std::string_view data;
};

inline ChunkedInput parse_chunked_input(const uint8_t* bytes, size_t size) {
  ChunkedInput in;
  size_t pos = 0;
  if (pos < size) in.flags = bytes[pos++];
  size_t n = pos < size ? (bytes[pos++] & 0x7) : 0;
  for (; n > 0 && pos < size; --n) in.chunk_sizes.push_back(size_t{bytes[pos++]} + 1);
  in.data = std::string_view(reinterpret_cast<const char*>(bytes) + pos, size - pos);
  return in;
}

// Calls f(std::string_view chunk) for consecutive pieces of data cut by the sizes (cycled);
// stops early when f returns false. An empty data still makes one (empty) call.
template <class F>
void for_each_chunk(std::string_view data, const std::vector<size_t>& sizes, F&& f) {
  if (sizes.empty() || data.empty()) {
    f(data);
    return;
  }
  size_t i = 0;
  while (!data.empty()) {
    size_t n = std::min(sizes[i++ % sizes.size()], data.size());
    if (!f(data.substr(0, n))) return;
    data.remove_prefix(n);
  }
}

// Appends a chunk as its own slice (a fresh block when the tail block is shared), so the code
// under test sees data spread over several slices exactly as it would from the network.
inline void append_chunk(ByteChain& chain, std::string_view chunk) {
  if (chunk.empty()) return;
  auto space = chain.reserve(chunk.size());
  std::copy(chunk.begin(), chunk.end(), space.begin());
  chain.commit(chunk.size());
}

inline std::string chain_string(const ByteChain& chain) {
  std::string out;
  out.reserve(chain.size());
  chain.for_each_slice(
      [&](const Slice& s) { out.append(reinterpret_cast<const char*>(s.data()), s.size()); });
  return out;
}

inline bool is_one_line(std::string_view s) {
  return s.find('\n') == std::string_view::npos && s.find('\r') == std::string_view::npos;
}

// Printable rendering for failure reports: control and non-ASCII bytes as \xNN.
inline std::string printable(std::string_view s, size_t max = 200) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

[[noreturn]] inline void invariant_failed(const char* file, int line, const char* condition,
                                          const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: invariant failed: %s\n  %s\n", file, line, condition,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace pvb::fuzz

// FUZZ_CHECK(condition, detail): detail is a std::string expression, built only on failure.
#define FUZZ_CHECK(cond, detail)                                                     \
  do {                                                                               \
    if (!(cond)) ::pvb::fuzz::invariant_failed(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)
