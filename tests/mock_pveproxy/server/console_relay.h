// ConsoleRelay: moves console bytes between the client's websocket and the VM side by pveproxy's
// rules, which are not a symmetric pump's:
// - client -> VM: no backpressure. pveproxy reads the websocket whatever the VM does and buffers
//   for it; once more than 640 KiB wait to be written to the VM side it drops the connection.
//   (Checked once the loop had a chance to deliver, so a burst the VM takes at once is fine.)
// - VM -> client: with backpressure (the VM side stops being read from the websocket's
//   on_write_high until its on_write_low), in binary frames.
// - The client's Close or end: the VM side is closed; the websocket closes its own connection
//   without answering the Close (WsServerOptions::reply_to_close = false).
// - The VM side ends: what it sent is flushed, then the connection under the websocket is closed
//   directly: no Close frame, pveproxy "just closes TCP".
// - drop_after (the drop_ws_after fault): after exactly that many bytes relayed in both
//   directions together, the connection under the websocket is closed the same way.
// Slices are moved, never copied. The relay owns nothing; it is the sink of both transports
// while it runs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "engine/core/loop.h"
#include "engine/io/transport.h"

namespace pvb::mock {

struct RelayRules {
  size_t max_vm_backlog = 640 * 1024;
  std::optional<uint64_t> drop_after;
  // cut_ws / stall_ws_after (issue 14): a cut after this many bytes toward the client (down) or
  // the VM (up); by TCP reset, or by a WebSocket Close. A stall: silence after `stall_after`
  // bytes toward the client (nothing more is read or written, so pings go unanswered).
  std::optional<uint64_t> cut_down;
  std::optional<uint64_t> cut_up;
  bool cut_rst = false;
  std::optional<uint64_t> stall_after;
  // Called as a cut strikes, before either side is closed (cut_ws's resize and stop).
  std::function<void()> on_cut;
  size_t client_high_mark = 256 * 1024;
  size_t client_low_mark = 64 * 1024;
};

struct RelayResult {
  enum class End { client, vm, vm_backlog, drop_after, cut };
  End ended_by = End::client;
  Error error;  // ok for an orderly end; else why (the backlog drop is Errc::too_large)
  uint64_t to_vm = 0;
  uint64_t to_client = 0;
};

// "client", "vm", "vm_backlog", "drop_after", "cut"
const char* relay_end_name(RelayResult::End end);

class ConsoleRelay {
 public:
  using DoneFn = std::function<void(const RelayResult&)>;

  // `client`: the websocket's payload stream; `client_lower`: the transport under it (TLS),
  // closed directly to end the connection without a Close frame; `vm`: the VM side. None of them
  // started yet: start() sets the websocket's watermarks first, then starts them.
  ConsoleRelay(Transport& client, Transport& client_lower, Transport& vm, RelayRules rules,
               DoneFn done);
  ~ConsoleRelay();
  ConsoleRelay(const ConsoleRelay&) = delete;
  ConsoleRelay& operator=(const ConsoleRelay&) = delete;

  void start();

  const RelayResult& result() const { return result_; }
  // Cuts the console now, as RelayRules say (rst or a Close).
  void cut();
  // Sets a cut `down` more bytes toward the client or `up` more toward the VM from now (an armed
  // cut_ws), by RST or by a Close.
  void arm_cut(std::optional<uint64_t> down, std::optional<uint64_t> up, bool rst);
  bool vm_paused() const { return vm_paused_; }

 private:
  struct Side : TransportSink {
    ConsoleRelay* relay = nullptr;
    bool is_client = false;
    bool closed = false;
    void on_data(ByteChain& data, bool end_stream) override;
    void on_write_high() override;
    void on_write_low() override;
    void on_closed(const Error& error) override;
  };

  void to_vm(ByteChain& data);
  void to_client(ByteChain& data);
  // Cuts `data` to what drop_after still allows; true when that budget is now used up.
  bool spend_budget(ByteChain& data);
  // Trims data to what `limit` allows after `sent` bytes; true when the limit is reached.
  static bool trim_to(ByteChain& data, uint64_t sent, std::optional<uint64_t> limit);
  void stall();
  bool stalled_ = false;
  void schedule_backlog_check();

  void end(RelayResult::End how, Error error);
  void maybe_done();

  Transport& client_;
  Transport& client_lower_;
  Transport& vm_;
  RelayRules rules_;
  DoneFn done_;
  Side client_side_;
  Side vm_side_;
  RelayResult result_;
  bool started_ = false;
  bool ending_ = false;
  bool vm_paused_ = false;
  bool backlog_check_posted_ = false;
  bool done_called_ = false;
  AliveToken alive_;
};

}  // namespace pvb::mock
