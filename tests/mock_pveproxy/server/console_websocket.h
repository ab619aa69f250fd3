// One console websocket after its 101: the WebSocket server over the connection that carried the
// upgrade, the VM side the grant asks for, and the relay between them with pveproxy's rules — or,
// under the raw_after_upgrade fault, the misbehaving bytes instead. Faults decide the shape:
//   (none)                         WsTransport <-> ConsoleRelay <-> fake VM / bench console
//   stall_ws                       the VM side is a sink that never answers
//   drop_ws_after=N                the relay closes the connection after N bytes
//   raw_after_upgrade=never_close  a CloseFrameFilter under the WsTransport hides the client's
//   Close raw_after_upgrade=OTHER        a RawFrameSession, no websocket at all
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/clock.h"
#include "engine/core/random.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/server/console_relay.h"
#include "tests/mock_pveproxy/server/raw_frame_session.h"
#include "tests/mock_pveproxy/server/vm_console.h"
#include "transports/ws/ws_transport.h"

namespace pvb::mock {

struct ConsoleSummary {
  uint16_t port = 0;
  uint32_t vmid = 0;
  ConsoleKind console = ConsoleKind::rfb;
  std::string mode;   // "relay", "stall", "never_close", "raw:<kind>"
  RelayResult relay;  // bytes and how it ended (raw sessions: ended_by client, no bytes)
  Error error;        // why it ended, when not orderly
  // The status code of the client's Close frame, when one arrived (not for raw sessions).
  std::optional<uint16_t> client_close_code;
};

class ConsoleWebsocket {
 public:
  using DoneFn = std::function<void(ConsoleWebsocket&, const ConsoleSummary&)>;

  // `lower`: the connection that carried the 101 (TLS, or a MemPipe in tests), reading enabled;
  // `leftover`: client bytes that followed the upgrade request. `options` and `clock` must
  // outlive the session. `log` hears why the fake VM refused a client (wrong or expired password).
  ConsoleWebsocket(std::unique_ptr<Transport> lower, ByteChain leftover, ConsoleGrant grant,
                   const MockOptions& options, Clock& clock, Random& random,
                   std::function<void(const std::string&)> log, DoneFn done, uint64_t ordinal = 1);
  ~ConsoleWebsocket();
  ConsoleWebsocket(const ConsoleWebsocket&) = delete;
  ConsoleWebsocket& operator=(const ConsoleWebsocket&) = delete;

  void start();
  // Hears each cut_ws cut as it strikes (MockServer applies its resize and stop there).
  void set_on_cut(std::function<void(const ConsoleGrant&, const CutSpec&)> fn) {
    on_cut_ = std::move(fn);
  }

  // cut_ws=...,armed: arms this console's cut (from now on, as the CutSpec says) and says how
  // ("down +1234 bytes, rst"). Nothing when it is not one the fault strikes, or is armed already
  // (a cut not reached yet keeps its offset).
  std::optional<std::string> arm_cut();

  // Ends the client's connection with a TCP reset (restart_api=...,rst); the session then ends
  // as for any lost client (`done`). Raw sessions just end.
  void abort();

  const ConsoleGrant& grant() const { return grant_; }
  const ConsoleSummary& summary() const { return summary_; }
  // For tests: the fake VM (rfb consoles), the relay (not for raw sessions).
  RfbServer* rfb() { return vm_.rfb.get(); }
  ConsoleRelay* relay() { return relay_.get(); }

 private:
  void finish(const RelayResult& result);

  ConsoleGrant grant_;
  DoneFn done_;
  ConsoleSummary summary_;
  std::unique_ptr<RawFrameSession> raw_;
  std::unique_ptr<WsTransport> ws_;
  Transport* ws_lower_ = nullptr;  // owned by ws_: the filter or the TLS connection
  VmConsole vm_;
  std::unique_ptr<ConsoleRelay> relay_;
  bool started_ = false;
  bool finished_ = false;
  void start_cut_timer(uint64_t ms);

  uint64_t cut_after_ms_ = 0;  // cut_ws=time:MS
  std::unique_ptr<Timer> cut_timer_;
  std::optional<CutSpec> armable_cut_;  // cut_ws=...,armed, until arm_cut()
  uint64_t ordinal_ = 1;
  Random& random_;
  bool client_close_seen_ = false;  // a Close frame came from the client
  std::function<void(const ConsoleGrant&, const CutSpec&)> on_cut_;
};

}  // namespace pvb::mock
