// WebSocket masking shapes (transports/ws/zero_copy_codec.h), in place as the decoder does it:
// a byte loop (how wslay masks), one 8-byte word per step, and 32-byte blocks of words the
// compiler turns into SIMD (what the zero-copy codec uses).
#include "bench/micro/bench_util.h"
#include "transports/ws/zero_copy_codec.h"

namespace pvb::bench {
namespace {

using MaskFn = void (*)(const uint8_t*, uint8_t*, size_t, const uint8_t*, size_t);

void BM_Mask(benchmark::State& state, MaskFn mask) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::string buf = pattern(n);
  auto* p = reinterpret_cast<uint8_t*>(buf.data());
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (auto _ : state) {
    mask(p, p, n, key, 1);
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {64, 1 << 10, 16 << 10, 1 << 20}) b->Arg(n);
}

BENCHMARK_CAPTURE(BM_Mask, bytewise, ws_mask_bytewise)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Mask, words8, ws_mask_words)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Mask, vectorized, ws_mask_vectorizable)->Apply(Sizes);

}  // namespace
}  // namespace pvb::bench
