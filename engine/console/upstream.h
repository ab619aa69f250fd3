// Upstream: one console connection to the Proxmox node, from ticket to a spliceable stream.
//
//   vncproxy ─▶ WebSocket to the same host (within the node's 10 s window)
//     ─▶ RFB client handshake, answering the node's challenge with the ticket's password at once
//        (no viewer involved, so the password's 30 s life never matters)
//     ─▶ ready: the node's ServerInit is known; bytes it sent after it wait for the pump
//
// In passthrough mode there is no RFB handshake: ready = the WebSocket is open, and the viewer
// must authenticate with the ticket's password itself (the old byte pipe).
//
// It also keeps the WebSocket alive: a ping every keepalive interval, whose own echo must come
// back before the next one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "engine/core/loop.h"
#include "engine/io/websocket.h"
#include "engine/proxmox/proxmox_client.h"
#include "engine/rfb/client_handshake.h"

namespace pvb {

struct UpstreamOptions {
  bool rfb = true;                // false: passthrough (no handshake here)
  bool shared = true;             // ClientInit's shared flag (false: --exclusive)
  uint64_t timeout_ms = 15000;    // WebSocket handshake, and then the node's RFB handshake
  uint64_t keepalive_ms = 30000;  // 0 = off
  size_t ws_frame_payload = 16 * 1024 - 8;
  size_t high_mark = 128 * 1024;  // early bytes kept before reading pauses
  size_t low_mark = 32 * 1024;
  // Called once the WebSocket is open (before the RFB handshake), with the cluster CA that
  // vncproxy named: pvebridge may offer to trust it here (it may ask on a terminal).
  std::function<void(const ApiHost&, const std::string& cluster_ca_pem, const Transport&)>
      on_websocket_open;
};

class Upstream : private TransportSink {
 public:
  struct Events {
    std::function<void()> on_ready;
    // Failed before ready, or lost while ready and not yet handed to a pump; `ended_cleanly`:
    // the node closed it in order (no error of ours or the network's).
    std::function<void(const Error&, bool ended_cleanly)> on_failed;
    // The node stopped answering keepalive pings.
    std::function<void(const Error&)> on_keepalive_timeout;
    std::function<void(const std::string&)> on_log;
  };

  Upstream(Loop& loop, ProxmoxClient& api, Guest guest, UpstreamOptions options, Events events);
  ~Upstream() override;
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  void open();
  bool ready() const { return ready_; }
  bool failed() const { return failed_; }

  // Valid when ready.
  WebSocketStream& websocket() { return *ws_; }
  const rfb::ServerInit& server_init() const { return handshake_.server_init(); }
  // Passthrough: what the viewer must answer the node's challenge with.
  const VncTicket& ticket() const { return ticket_; }
  // The node's bytes that came after the handshake (passthrough: its greeting), for the pump.
  // Reading resumes if it had paused.
  ByteChain take_early_bytes();

  // A pump takes the WebSocket over: from now on its sink is the pump's, and this only pings.
  // `reads_blind`: true while the pump holds the WebSocket's reading paused (now, or at any time
  // since the last call): a pong may then sit unread behind data, so one more interval is given.
  void hand_over(std::function<bool()> reads_blind);

 private:
  void open_websocket(VncTicket ticket);
  void on_connected() override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_closed(const Error& error) override;
  void become_ready();
  void fail(const Error& e, bool clean = false);
  void start_keepalive();
  void keepalive_tick();

  [[maybe_unused]] Loop& loop_;
  ProxmoxClient& api_;
  Guest guest_;
  UpstreamOptions options_;
  Events events_;
  VncTicket ticket_;
  std::unique_ptr<WebSocketStream> ws_;
  rfb::RfbClientHandshake handshake_;
  ByteChain early_;
  bool ready_ = false;
  bool failed_ = false;
  bool handed_over_ = false;
  std::function<bool()> reads_blind_;
  Timer keepalive_timer_;
  Timer handshake_timer_;  // the node's RFB handshake must end within timeout_ms
  bool awaiting_pong_ = false;
  AliveToken alive_;
};

}  // namespace pvb
