// ConsoleSession: one VNC console of one guest, as an explicit state machine over parts it owns:
//
//   LocalEndpoint   the loopback listener and own-user admission
//   ViewerRfbLink   per local client: the local RFB handshake (one-time password), then the splice
//   Upstream        per client: vncproxy, the WebSocket, the node's RFB handshake, keepalive
//   ViewerLaunch    the .vv and the viewer process (connect only)
//
//   resolving ─▶ opening ─▶ waiting ─▶ active ─▶ ending ─▶ finished
//   (guest       (connect: upstream, listener and viewer start together; the viewer's handshake is
//    status,      answered locally and it gets the node's ServerInit as soon as the upstream has
//    it)
//    --start)
//
// connect: one client at a time; when the viewer reconnects (or the .vv is opened again) it is
// served again with a fresh upstream, until the viewer process exits. serve: the endpoint stays,
// every client gets its own upstream, several at once. passthrough: the old byte pipe (the
// viewer authenticates to the node with the ticket's password in the .vv; one client).
//
// Reconnect (issue 14, ConsoleOptions::reconnect_ms): a spliced client's node side is an
// UpstreamSlot. When its WebSocket is lost while the viewer stays, the ViewerRfbLink completes
// what the viewer was receiving and keeps its input, and the session opens new upstreams (a new
// ticket; after a failure it logs in again first, which also fails over to the next host) with
// backoff 0.25 s doubling to 4 s within the budget, then resumes the link on the new one.
// Authentication and permission failures, and a guest that stopped, end it at once; an exhausted
// budget ends it as the loss would have without a reconnect.
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

#include <list>

#include "engine/console/local_endpoint.h"
#include "engine/console/upstream.h"
#include "engine/console/upstream_slot.h"
#include "engine/console/viewer_launch.h"
#include "engine/console/viewer_process.h"
#include "engine/console/viewer_rfb_link.h"
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

enum class SessionMode {
  connect,  // one viewer (launched, or the one --no-viewer client), reconnects served again
  serve,    // a persistent endpoint: any number of clients, each with its own upstream
};

// How local clients authenticate to the bridge.
enum class LocalAuth {
  one_time_password,  // VNC authentication with 8 random characters made per listener
  none,               // security type None (--local-auth none: a trusted single-user machine)
};
const char* local_auth_name(LocalAuth a);

// Characters of the local one-time password.
inline constexpr size_t kLocalPasswordLength = 8;

struct ConsoleOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  // When above listen_port: the ports listen_port..listen_port_last are tried in order (serve's
  // default endpoints, from 5900 up).
  uint16_t listen_port_last = 0;
  bool start_guest = false;
  uint64_t keepalive_ms = 30000;  // ping interval, 0 = off; a pong must come before the next ping
  uint64_t timeout_ms = 15000;    // WebSocket handshake
  VvMode vv_mode = VvMode::private_dir;
  std::string vv_path;        // VvMode::path
  VvFileSpec vv;              // title, fullscreen, hotkeys (host/port/password are filled in)
  bool launch_viewer = true;  // false: --no-viewer
  ViewerOptions viewer;
  uint64_t viewer_grace_ms = 2000;  // bridge ended first: SIGTERM the viewer after this
  // connect: how long the first client may take to arrive. In passthrough mode the node's
  // password dies kVncPasswordLifeMs after the WebSocket opened, whatever this says.
  uint64_t client_wait_ms = 60000;
  SessionMode mode = SessionMode::connect;
  bool passthrough = false;  // the old byte pipe: no RFB termination
  bool exclusive = false;    // ClientInit shared=0 toward the node (other viewers are dropped)
  LocalAuth local_auth = LocalAuth::one_time_password;
  bool report_password = false;  // ListeningInfo carries the local password (--show-password)
  // 16 KiB minus the 8-byte header of a masked frame of that size: each frame we send fills one
  // 16 KiB block and one TLS record exactly, so records are encrypted straight from the frames
  // instead of being gathered (copied) across blocks.
  size_t ws_frame_payload = 16 * 1024 - 8;
  // How long a lost console connection is retried while the viewer stays connected (0 = off).
  uint64_t reconnect_ms = 60000;
  uint64_t reconnect_first_backoff_ms = 250;
  uint64_t reconnect_max_backoff_ms = 4000;
  Pump::Options pump;
  bool require_same_uid = true;  // refuse local clients of other users (Linux)
  // Called once the session's first console WebSocket is open, with the host, the cluster CA
  // that vncproxy named (its `cert`, PEM; may be empty) and the transport the connector made for
  // the WebSocket (so the caller can see what verified it). pvebridge offers to trust that CA
  // here (engine/trust/host_trust.h). It may block on a terminal question.
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
  LocalAuth local_auth = LocalAuth::one_time_password;
  bool passthrough = false;
  std::optional<std::string> password;  // the local password, with report_password only
};

// One local client's connection, when it ends.
struct ClientEnd {
  std::string peer;
  Error error;  // ok: the client left in order
  uint64_t bytes_to_guest = 0;
  uint64_t bytes_from_guest = 0;
};

struct SessionEnd {
  CloseReason reason = CloseReason::error;
  Error error;
  uint64_t bytes_to_guest = 0;
  uint64_t bytes_from_guest = 0;
  std::optional<int> viewer_exit_code;  // when the viewer ran and exited
  int signal = 0;                       // CloseReason::interrupted
  uint32_t clients = 0;                 // local clients spliced to the node
  uint32_t reconnects = 0;              // lost console connections replaced while a viewer stayed
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
  // A local client (numbered from 1 per session) is connected to the guest's screen.
  virtual void on_client_connected(int session, int client) = 0;
  virtual void on_client_closed(int session, int client, const ClientEnd& end) {}
  virtual void on_client_refused(int session, std::string_view why) {}
  // A local client gave a wrong local password; it was refused, the endpoint keeps serving.
  virtual void on_local_auth_failed(int session, int client, std::string_view peer) {}
  // `output`: when the viewer failed (code != 0), the last lines it wrote to standard error
  // (engine/console/viewer.h); else empty. Every line also went to on_log as it came.
  virtual void on_viewer_exited(int session, int code, std::string_view output) = 0;
  // The console connection of a client was lost while its viewer stays connected: attempt N
  // (from 1) to replace it begins. `host`: the API host it was on.
  virtual void on_reconnecting(int session, int client, int attempt, const Error& reason,
                               std::string_view host) {}
  // A new console connection took over after `attempts` attempts, `downtime_ms` after the loss.
  virtual void on_reconnected(int session, int client, int attempts, uint64_t downtime_ms) {}
  virtual void on_closed(int session, const SessionEnd& end) = 0;
};

class ConsoleSession {
 public:
  enum class State { resolving, opening, waiting, active, ending, finished };

  // The WebSockets go through api.dialer(); `listeners` makes the local listener. Both, like
  // api and observer, must outlive the session.
  ConsoleSession(Loop& loop, int id, ProxmoxClient& api, ListenerFactory& listeners, Guest guest,
                 ConsoleOptions options, ConsoleObserver& observer);
  ~ConsoleSession();

  void start();
  // SIGINT/SIGTERM/SIGHUP: tear down now.
  void interrupt(int signum);

  int id() const { return id_; }
  State state() const { return state_; }
  bool finished() const { return state_ == State::finished; }
  const SessionEnd& end() const { return end_; }
  // For tests: the listening port once listening, and the local password.
  uint16_t port() const { return endpoint_.port(); }
  const std::string& local_password() const { return local_password_; }

 private:
  struct Client;
  struct ClientSink;

  void open();
  // `reconnecting`: a replacement for a lost one (its events go to the reconnect handlers).
  std::unique_ptr<Upstream> make_upstream(int client_id, bool reconnecting = false);
  Client* owner_of(const Upstream* up);
  void hand_over(Client& c);
  void upstream_lost(int client_id, const Error& e, bool clean);
  void reconnect_attempt(int client_id);
  void reconnect_open(int client_id);
  void reconnect_failed(int client_id, const Error& e);
  void reconnect_later(Client& c, const Error& e);
  void reconnect_ready(int client_id);
  void give_up(Client& c, const Error& e);
  void upstream_ready(int client_id);
  void upstream_failed(int client_id, const Error& e, bool clean);
  void start_listening();
  VvFileSpec vv_spec() const;
  void launch_viewer();
  Error client_wait_over() const;
  void admit(AcceptedClient accepted);
  void viewer_handshake_done(int client_id);
  void viewer_handshake_failed(int client_id, const Error& e);
  void splice(Client& c);
  void pump_done(int client_id, const Pump::Result& r);
  void client_gone(int client_id, const Error& e);
  void drop_client(int client_id);
  Client* find_client(int client_id);
  bool launched_viewer_running() const;
  // connect's one client: one whose handshake is done and that was not refused.
  bool has_ready_client() const;
  // The node's side ended the console (error: why, ok for an orderly end).
  void server_ended(const Error& error);
  void viewer_exited(int64_t status, int signal);
  // Starts teardown with this reason (first caller wins).
  void end_with(CloseReason reason, Error error = Error());
  void maybe_finish();
  void log(const std::string& line);
  // A line about one client's console: in serve, which has several, prefixed "client N: ".
  void client_log(int client_id, const std::string& line);

  Loop& loop_;
  int id_;
  ProxmoxClient& api_;
  Guest guest_;
  ConsoleOptions options_;
  ConsoleObserver& observer_;
  State state_ = State::resolving;

  LocalEndpoint endpoint_;
  std::string local_password_;
  std::unique_ptr<ViewerLaunch> viewer_;
  // connect: the upstream opened together with the viewer, for the first client (id 0 = none).
  std::unique_ptr<Upstream> spare_;
  bool first_upstream_opened_ = false;
  std::list<std::unique_ptr<Client>> clients_;
  int next_client_id_ = 0;
  Timer client_wait_timer_;
  // passthrough: the viewer's socket closing usually arrives just before its exit status: this
  // window lets the exit be the reason (and its code count) rather than "client closed".
  Timer viewer_exit_wait_;
  SessionEnd end_;
  bool prepared_reopened_ = false;  // the prepared upstream was lost opening and reopened
  AliveToken alive_;
};

}  // namespace pvb
