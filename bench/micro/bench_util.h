// Helpers shared by the micro benchmarks: deterministic test bytes and ByteChains built without
// touching copy_stats(), so each benchmark's copies-per-byte counter shows only the code measured.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "engine/core/byte_chain.h"

namespace pvb::bench {

// Bytes that are not all equal, so a misplaced byte would show in the checks.
inline std::string pattern(size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// Appends `bytes` to `chain` in fresh blocks, as reads land (reserve/commit; not counted: the
// kernel or the TLS library would have written them).
inline void fill_chain(ByteChain& chain, std::string_view bytes) {
  while (!bytes.empty()) {
    std::span<uint8_t> room = chain.reserve(1);
    const size_t k = std::min(room.size(), bytes.size());
    std::memcpy(room.data(), bytes.data(), k);
    chain.commit(k);
    bytes.remove_prefix(k);
  }
}

// Makes `to` show the same bytes as `from` by sharing its slices (no copy).
inline void alias_chain(const ByteChain& from, ByteChain& to) {
  from.for_each_slice([&](const Slice& s) { to.append_slice(s); });
}

// Payload bytes copied per payload byte processed since `before`.
inline void report_copies(benchmark::State& state, const CopyStats& before,
                          uint64_t bytes_per_iteration) {
  const double bytes = static_cast<double>(state.iterations()) * bytes_per_iteration;
  state.counters["copies_per_byte"] =
      bytes > 0 ? static_cast<double>(copy_stats().bytes - before.bytes) / bytes : 0.0;
}

}  // namespace pvb::bench
