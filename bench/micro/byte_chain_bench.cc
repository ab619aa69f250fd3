// ByteChain: what moving data costs next to copying it. A std::vector copy of the same size is
// the baseline (memcpy speed); append copies too; reserve/commit is the bookkeeping a read adds;
// move_from and drain touch slices, never bytes, so their cost does not grow with the bytes.
#include <vector>

#include "bench/micro/bench_util.h"

namespace pvb::bench {
namespace {

void BM_VectorCopy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string src = pattern(n);
  std::vector<uint8_t> dst(n);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_ByteChainAppend(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string src = pattern(n);
  ByteChain chain;
  const CopyStats before = copy_stats();
  for (auto _ : state) {
    chain.append(src);
    benchmark::DoNotOptimize(chain.size());
    chain.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  report_copies(state, before, n);
}

// The chain's share of a read: reserve room, the kernel writes (not here), commit, then hand the
// bytes on (clear). 16 KiB per read, like a TLS record.
void BM_ByteChainReserveCommit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  ByteChain chain;
  for (auto _ : state) {
    for (size_t left = n; left > 0;) {
      std::span<uint8_t> room = chain.reserve(std::min<size_t>(left, Block::kDefaultCapacity));
      const size_t k = std::min(left, room.size());
      benchmark::DoNotOptimize(room.data());
      chain.commit(k);
      left -= k;
    }
    chain.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Moves n bytes out of a chain of 16 KiB slices in pieces that do not line up with the slices
// (so every move splits one), as the WebSocket decoder does with frame payloads, then back.
void BM_ByteChainMoveFrom(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  ByteChain a, b;
  fill_chain(a, pattern(n));
  const size_t piece = Block::kDefaultCapacity - 8;
  const CopyStats before = copy_stats();
  for (auto _ : state) {
    while (!a.empty()) b.move_from(a, piece);
    a.move_from(b);
    benchmark::DoNotOptimize(a.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  report_copies(state, before, n);
}

// Consumes n bytes 4 KiB at a time (the chain is rebuilt by sharing slices each time).
void BM_ByteChainDrain(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  ByteChain source, chain;
  fill_chain(source, pattern(n));
  for (auto _ : state) {
    alias_chain(source, chain);
    while (!chain.empty()) chain.drain(std::min<size_t>(4096, chain.size()));
    benchmark::DoNotOptimize(chain.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {4 << 10, 64 << 10, 1 << 20}) b->Arg(n);
}

BENCHMARK(BM_VectorCopy)->Apply(Sizes);
BENCHMARK(BM_ByteChainAppend)->Apply(Sizes);
BENCHMARK(BM_ByteChainReserveCommit)->Apply(Sizes);
BENCHMARK(BM_ByteChainMoveFrom)->Apply(Sizes);
BENCHMARK(BM_ByteChainDrain)->Apply(Sizes);

}  // namespace
}  // namespace pvb::bench
