// ConsoleSession: one VNC console, from vncproxy to teardown, as a state machine on the loop.
//
//   check guest ─▶ (start/resume) ─▶ vncproxy ─▶ WebSocket (same host, within the 10 s window)
//     ─▶ listen on loopback ─▶ report + .vv + viewer ─▶ exactly one local client ─▶ Pump
//     ─▶ teardown (viewer exit, client gone, server gone, keepalive timeout, signal, error)
//
// Teardown happens once, on every path: the listener is closed, timers stopped, the .vv file
// removed, the viewer given a grace period then SIGTERM if the bridge ended first, and the
// observer told why (with byte counts).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/console/viewer_process.h"
#include "engine/console/vv_file.h"
#include "engine/core/platform.h"
#include "engine/io/listener.h"
#include "engine/io/websocket.h"
#include "engine/proxmox/proxmox_client.h"
#include "engine/pump/pump.h"

namespace pvb {

enum class CloseReason {
  client_closed,
  viewer_exited,
  server_closed,
  keepalive_timeout,
  interrupted,
  error,
};
const char* close_reason_name(CloseReason r);

enum class VvMode {
  private_dir,  // a 0600 file in a fresh 0700 directory (default)
  path,         // a 0600 file at a path the user chose (created new)
  stdin_pipe,   // handed to the viewer on standard input ("remote-viewer -"): never on disk
};

struct ConsoleOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  bool start_guest = false;
  uint64_t keepalive_ms = 30000;  // ping interval, 0 = off; a pong must come before the next ping
  uint64_t timeout_ms = 15000;    // WebSocket handshake
  VvMode vv_mode = VvMode::private_dir;
  std::string vv_path;        // VvMode::path
  VvFileSpec vv;              // title, fullscreen, hotkeys (host/port/password are filled in)
  bool launch_viewer = true;  // false: --no-viewer
  ViewerOptions viewer;
  uint64_t viewer_grace_ms = 2000;  // bridge ended first: SIGTERM the viewer after this
  uint64_t client_wait_ms = 30000;  // the VNC password's life (kVncPasswordLifeMs)
  // 16 KiB minus the 8-byte header of a masked frame of that size: each frame we send fills one
  // 16 KiB block and one TLS record exactly, so records are encrypted straight from the frames
  // instead of being gathered (copied) across blocks.
  size_t ws_frame_payload = 16 * 1024 - 8;
  Pump::Options pump;
  bool require_same_uid = true;  // refuse local clients of other users (Linux)
  // Called once the console's WebSocket is open, before listening and the viewer, with the host,
  // the cluster CA that vncproxy named (its `cert`, PEM; may be empty) and the transport the
  // connector made for the WebSocket (so the caller can see what verified it). pvebridge offers
  // to trust that CA here (engine/trust/host_trust.h). It may block on a terminal question: the
  // node no longer waits then, but the VNC password's life (client_wait_ms) runs meanwhile.
  std::function<void(const ApiHost& host, const std::string& cluster_ca_pem,
                     const Transport& server)>
      on_console_open;
};

// Proxmox expires the VNC password this long after the console's WebSocket connected.
constexpr uint64_t kVncPasswordLifeMs = 30000;
// How many of a failed viewer's last standard error lines are reported.
constexpr size_t kViewerFailureLines = 10;

struct ListeningInfo {
  std::string address;  // without brackets
  uint16_t port = 0;
  std::optional<std::string> vv_file;
  Guest guest;
};

struct SessionEnd {
  CloseReason reason = CloseReason::error;
  Error error;
  uint64_t bytes_to_guest = 0;
  uint64_t bytes_from_guest = 0;
  std::optional<int> viewer_exit_code;  // when the viewer ran and exited
  int signal = 0;                       // CloseReason::interrupted
};

class ConsoleObserver {
 public:
  virtual ~ConsoleObserver() = default;
  virtual void on_log(int session, std::string_view line) {}
  // --start: the guest is being started (`resume`: resumed from pause) before its console opens;
  // that may take a while.
  virtual void on_starting(int session, const Guest& guest, bool resume) {}
  // The guest is paused and --start was not given: its console shows a frozen screen.
  virtual void on_guest_paused(int session, const Guest& guest) {}
  virtual void on_listening(int session, const ListeningInfo& info) = 0;
  virtual void on_client_connected(int session) = 0;
  virtual void on_client_refused(int session, std::string_view why) {}
  // `output`: when the viewer failed (code != 0), the last lines it wrote to standard error
  // (engine/console/viewer.h); else empty. Every line also went to on_log as it came.
  virtual void on_viewer_exited(int session, int code, std::string_view output) = 0;
  virtual void on_closed(int session, const SessionEnd& end) = 0;
};

class ConsoleSession : private TransportSink {
 public:
  // The WebSocket goes through api.dialer(); `listeners` makes the local listener. Both, like
  // api and observer, must outlive the session.
  ConsoleSession(Loop& loop, int id, ProxmoxClient& api, ListenerFactory& listeners, Guest guest,
                 ConsoleOptions options, ConsoleObserver& observer);
  ~ConsoleSession() override;

  void start();
  // SIGINT/SIGTERM/SIGHUP: tear down now.
  void interrupt(int signum);

  int id() const { return id_; }
  bool finished() const { return finished_; }
  const SessionEnd& end() const { return end_; }
  // For tests: the listening port once listening.
  uint16_t port() const { return port_; }

 private:
  // Early WebSocket sink (before the pump takes over).
  void on_connected() override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_closed(const Error& error) override;

  void check_guest();
  void open_console();
  void open_websocket(VncTicket ticket);
  void start_listening();
  Error write_vv_file(std::string& path_out);
  void launch_viewer();
  Error client_wait_over() const;
  void accept_client(AcceptedClient client);
  void start_keepalive();
  void keepalive_tick();
  void pump_done(const Pump::Result& r);
  // The node's side ended the console (error: why, ok for an orderly end).
  void server_ended(const Error& error);
  void viewer_exited(int64_t status, int signal);
  // Starts teardown with this reason (first caller wins).
  void end_with(CloseReason reason, Error error = Error());
  void maybe_finish();
  void log(const std::string& line);

  Loop& loop_;
  int id_;
  ProxmoxClient& api_;
  ListenerFactory& listeners_;
  Guest guest_;
  ConsoleOptions options_;
  ConsoleObserver& observer_;

  VncTicket ticket_;
  std::unique_ptr<WebSocketStream> ws_;
  ByteChain early_from_guest_;  // server bytes that arrived before the viewer did
  std::unique_ptr<Listener> listener_;
  uint16_t port_ = 0;
  std::optional<PrivateDir> vv_dir_;
  std::string vv_file_;
  std::unique_ptr<ViewerProcess> viewer_;
  std::unique_ptr<Transport> client_;
  std::unique_ptr<Pump> pump_;
  Timer client_wait_timer_;
  Timer keepalive_timer_;
  // The viewer's socket closing usually arrives just before its exit status: this window lets the
  // exit be the reason (and its code count) rather than "client closed".
  Timer viewer_exit_wait_;
  bool awaiting_pong_ = false;
  uint64_t server_read_pauses_ = 0;  // Pump::read_pauses(b) at the latest keepalive tick

  bool ending_ = false;
  bool finished_ = false;
  SessionEnd end_;
  AliveToken alive_;
};

}  // namespace pvb
