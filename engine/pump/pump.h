// Pump: joins two transports in both directions with backpressure and an orderly end.
//
// - Whatever one side reads is moved (never copied) into the other side's write queue.
// - When a side's pending write bytes pass the high mark, reading on the opposite side is disabled;
//   it resumes once they fall to the low mark. Memory per pump is bounded by the marks plus what
//   one read can deliver, whatever the speeds of the two ends.
// - When one side ends (end of stream, or failure), what it already delivered still reaches the
//   other side: that side is closed with Flush. Neither side is half-closed: a WebSocket Close
//   through pveproxy ends both directions, so the pump ends the whole session.
// The pump does not own the transports; it becomes their sink for as long as it runs.
#pragma once

#include <cstdint>
#include <functional>

#include "engine/io/transport.h"

namespace pvb {

class Pump {
 public:
  enum class Side { a, b };
  // The marks bound what a stalled side costs: at most high_mark plus one read per direction.
  // 128/32 KiB sustain the same loopback throughput as 256/64 (bench-relay --marks,
  // bench/README.md) at half the memory of a session whose viewer stops reading.
  struct Options {
    size_t high_mark = 128 * 1024;
    size_t low_mark = 32 * 1024;
  };
  struct Result {
    Side ended_first = Side::a;  // the side whose end (or failure) ended the pump
    Error error;                 // ok for an orderly end of stream
    uint64_t bytes_a_to_b = 0;
    uint64_t bytes_b_to_a = 0;
  };
  using DoneFn = std::function<void(const Result&)>;

  Pump(Transport& a, Transport& b, Options options, DoneFn done);
  ~Pump();
  Pump(const Pump&) = delete;
  Pump& operator=(const Pump&) = delete;

  // Takes over both sinks and starts moving bytes. `initial_to_b` / `initial_to_a` are bytes read
  // before the pump existed (e.g. the VNC server greeting that arrived before the viewer did).
  void start(ByteChain initial_to_a = {}, ByteChain initial_to_b = {});
  // Ends both sides now (Flush: pending bytes still go out). done() is called once both closed.
  void stop();

  uint64_t bytes_a_to_b() const { return result_.bytes_a_to_b; }
  uint64_t bytes_b_to_a() const { return result_.bytes_b_to_a; }
  // True while backpressure holds reading disabled on that side.
  bool read_paused(Side s) const { return end(s).paused; }
  // How often backpressure has disabled reading on that side so far.
  uint64_t read_pauses(Side s) const { return end(s).pauses; }
  bool finished() const { return done_called_; }
  // Once a side has ended (before done() runs, while both sides still close): which one, and why
  // (the Result that done() will report). Null while both are running.
  const Result* ending() const { return ending_ ? &result_ : nullptr; }

 private:
  struct End : TransportSink {
    Pump* pump = nullptr;
    Side side = Side::a;
    Transport* t = nullptr;
    bool paused = false;  // we disabled its reading for backpressure
    uint64_t pauses = 0;  // how often
    bool ended = false;   // it delivered end of stream or failed
    bool closed = false;  // on_closed arrived
    void on_data(ByteChain& data, bool end_stream) override;
    void on_write_high() override;
    void on_write_low() override;
    void on_closed(const Error& error) override;
  };
  End& end(Side s) { return s == Side::a ? a_ : b_; }
  const End& end(Side s) const { return s == Side::a ? a_ : b_; }
  End& other(End& e) { return e.side == Side::a ? b_ : a_; }

  void forward(End& from, ByteChain& data);
  void side_ended(End& e, const Error& error);
  void check_pressure(End& writer);
  void maybe_done();

  Options options_;
  DoneFn done_;
  End a_;
  End b_;
  Result result_;
  bool ending_ = false;
  bool done_called_ = false;
  AliveToken alive_;
};

}  // namespace pvb
