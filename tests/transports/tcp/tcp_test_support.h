// Helpers for the TCP tests: sinks that record or verify what arrives, deterministic random data,
// and a connected loopback pair.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "transports/tcp/tcp_listener.h"
#include "transports/tcp/tcp_transport.h"

namespace pvb::testing {

// Records everything a transport reports.
struct Collector : TransportSink {
  std::string data;
  bool connected = false;
  bool ended = false;
  bool closed = false;
  int data_calls = 0;
  int highs = 0, lows = 0;
  Error error;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& c, bool end) override {
    ++data_calls;
    data += c.to_string();
    c.clear();
    ended |= end;
  }
  void on_write_high() override { ++highs; }
  void on_write_low() override { ++lows; }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

// A byte stream from SeededRandom(seed) that does not depend on how it is cut into pieces
// (SeededRandom::fill drops the rest of a 64-bit word when asked for a length not a multiple of 8).
class RandomStream {
 public:
  explicit RandomStream(uint64_t seed) : rng_(seed) {}
  void next(uint8_t* out, size_t n) {
    while (n > 0) {
      if (used_ == sizeof buf_) {
        rng_.fill(buf_, sizeof buf_);
        used_ = 0;
      }
      size_t k = std::min(n, sizeof buf_ - used_);
      std::memcpy(out, buf_ + used_, k);
      used_ += k;
      out += k;
      n -= k;
    }
  }

 private:
  SeededRandom rng_;
  uint8_t buf_[4096];
  size_t used_ = sizeof buf_;
};

// `n` bytes of RandomStream(seed), written straight into pooled blocks.
inline ByteChain random_chain(uint64_t seed, size_t n) {
  RandomStream stream(seed);
  ByteChain c;
  while (c.size() < n) {
    std::span<uint8_t> room = c.reserve(1);
    size_t k = std::min(room.size(), n - c.size());
    stream.next(room.data(), k);
    c.commit(k);
  }
  return c;
}

// Checks arriving bytes against RandomStream(seed) without keeping them.
struct RandomVerifier : Collector {
  explicit RandomVerifier(uint64_t seed) : stream(seed) {}
  RandomStream stream;
  size_t received = 0;
  bool mismatch = false;
  size_t largest = 0;  // the most bytes offered in one on_data
  std::vector<uint8_t> expected;
  void on_data(ByteChain& c, bool end) override {
    ++data_calls;
    largest = std::max(largest, c.size());
    c.for_each_slice([&](const Slice& s) {
      expected.resize(s.size());
      stream.next(expected.data(), s.size());
      if (std::memcmp(expected.data(), s.data(), s.size()) != 0) mismatch = true;
      received += s.size();
    });
    c.clear();
    ended |= end;
  }
};

// Whether this machine can listen on ::1 (some containers have no IPv6 loopback).
inline bool have_ipv6_loopback(Loop& loop) {
  auto l = TcpListener::listen(loop, "::1", 0, [](std::unique_ptr<TcpTransport>) {});
  return l.ok();
}

// A client connected to an accepted server transport over loopback. Both are started with the
// given sinks; returns once the server side is accepted (no data has moved yet).
struct TcpPair {
  std::unique_ptr<TcpListener> listener;
  std::unique_ptr<TcpTransport> client;
  std::unique_ptr<TcpTransport> server;
};

inline TcpPair connect_pair(Loop& loop, const std::string& host, TransportSink& client_sink,
                            TransportSink& server_sink) {
  TcpPair p;
  auto l = TcpListener::listen(loop, host, 0, [&p](std::unique_ptr<TcpTransport> t) {
    if (!p.server) p.server = std::move(t);
  });
  EXPECT_TRUE(l.ok()) << l.error().message();
  if (!l.ok()) return p;
  p.listener = std::move(l.value());
  p.client = TcpTransport::connect(loop, {host, p.listener->port()});
  p.client->set_sink(&client_sink);
  p.client->start();
  EXPECT_TRUE(loop.run_until([&] { return p.server != nullptr; }));
  if (!p.server) return p;
  p.server->set_sink(&server_sink);
  p.server->start();
  return p;
}

}  // namespace pvb::testing
