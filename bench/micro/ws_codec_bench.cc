// WebSocket frame encode and decode per write size, for both codecs and both roles, with the
// payload bytes each copies per payload byte (copies_per_byte). Frames are at most 16 KiB of
// payload (the default), so writes above that become several frames.
#include <memory>

#include "bench/micro/bench_util.h"
#include "engine/core/random.h"
#include "transports/ws/ws_codec.h"

namespace pvb::bench {
namespace {

// Takes every payload and drops it (its blocks go back to the pool), or keeps it until told,
// like WsTransport keeps what its reader has not taken yet.
struct CountingSink : WsCodecSink {
  uint64_t bytes = 0;
  bool retain = false;
  ByteChain retained;
  void on_message_data(ByteChain& p, bool, bool) override {
    bytes += p.size();
    if (retain) retained.move_from(p);
    p.clear();
  }
  void on_ping(ByteChain&) override {}
  void on_pong(ByteChain&) override {}
  void on_close(uint16_t, std::string_view) override {}
};

std::unique_ptr<WsCodec> make_codec(WsCodecImpl impl, WsRole role, WsCodecSink& sink, Random& rng) {
  WsCodecOptions options;
  options.role = role;
  options.implementation = impl;
  return make_ws_codec(options, sink, rng);
}

void BM_WsEncode(benchmark::State& state, WsCodecImpl impl, WsRole role) {
  const size_t n = static_cast<size_t>(state.range(0));
  ByteChain source;
  fill_chain(source, pattern(n));
  SeededRandom rng(1);
  CountingSink sink;
  std::unique_ptr<WsCodec> codec = make_codec(impl, role, sink, rng);
  ByteChain payload, out;
  const CopyStats before = copy_stats();
  for (auto _ : state) {
    alias_chain(source, payload);  // a fresh write of the same bytes, without copying them
    codec->encode_data(payload, out);
    benchmark::DoNotOptimize(out.size());
    out.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  report_copies(state, before, n);
}

// Decodes about 1 MiB of the peer's frames (writes of n bytes) per iteration, in 16 KiB blocks as
// TLS records land. The server role unmasks in place, so its input is rebuilt in fresh blocks
// outside the timed part; the client role only reads the input, so it shares the same blocks
// every time (the sharing is timed: a few slices per iteration).
void BM_WsDecode(benchmark::State& state, WsCodecImpl impl, WsRole role, bool retain) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t writes = std::max<size_t>(1, (size_t{1} << 20) / n);
  const WsRole peer = role == WsRole::client ? WsRole::server : WsRole::client;
  SeededRandom peer_rng(2);
  CountingSink unused;
  std::unique_ptr<WsCodec> encoder = make_codec(WsCodecImpl::zero_copy, peer, unused, peer_rng);
  ByteChain wire_chain;
  const std::string payload = pattern(n);
  for (size_t i = 0; i < writes; ++i) {
    ByteChain p(payload);
    encoder->encode_data(p, wire_chain);
  }
  const std::string wire = wire_chain.to_string();
  ByteChain shared_wire;
  fill_chain(shared_wire, wire);

  SeededRandom rng(1);
  CountingSink sink;
  sink.retain = retain;
  std::unique_ptr<WsCodec> codec = make_codec(impl, role, sink, rng);
  const uint64_t bytes_per_iteration = writes * n;
  const CopyStats before = copy_stats();
  ByteChain in;
  for (auto _ : state) {
    if (role == WsRole::server) {
      state.PauseTiming();
      sink.retained.clear();
      fill_chain(in, wire);
      state.ResumeTiming();
    } else {
      sink.retained.clear();
      alias_chain(shared_wire, in);
    }
    Error e = codec->decode(in);
    if (e.failed() || !in.empty()) {
      state.SkipWithError("decode failed");
      break;
    }
  }
  if (sink.bytes != state.iterations() * bytes_per_iteration) {
    state.SkipWithError("decoded byte count is wrong");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iteration));
  report_copies(state, before, bytes_per_iteration);
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {64, 1 << 10, 16 << 10, 64 << 10, 128 << 10}) b->Arg(n);
}

constexpr auto kZeroCopy = WsCodecImpl::zero_copy;
constexpr auto kWslay = WsCodecImpl::wslay;
constexpr auto kClient = WsRole::client;
constexpr auto kServer = WsRole::server;

BENCHMARK_CAPTURE(BM_WsEncode, zero_copy_client, kZeroCopy, kClient)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_WsEncode, wslay_client, kWslay, kClient)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_WsEncode, zero_copy_server, kZeroCopy, kServer)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_WsEncode, wslay_server, kWslay, kServer)->Apply(Sizes);

BENCHMARK_CAPTURE(BM_WsDecode, zero_copy_client, kZeroCopy, kClient, false)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_WsDecode, wslay_client, kWslay, kClient, false)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_WsDecode, zero_copy_server, kZeroCopy, kServer, false)->Apply(Sizes);
BENCHMARK_CAPTURE(BM_WsDecode, wslay_server, kWslay, kServer, false)->Apply(Sizes);
// The server role's in-place unmasking when the reader holds on to what it was given: small
// frames share blocks with payload already handed over, which then has to be copied.
BENCHMARK_CAPTURE(BM_WsDecode, zero_copy_server_retained, kZeroCopy, kServer, true)->Apply(Sizes);

}  // namespace
}  // namespace pvb::bench
