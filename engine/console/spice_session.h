// SpiceSession: one SPICE console (pvebridge connect --protocol spice), as a state machine on the
// loop, reporting to the same ConsoleObserver as a VNC console (so --json has the same events):
//
//   check guest ─▶ (start/resume) ─▶ its display must be a SPICE one (qemu vga qxl*/virtio*)
//     ─▶ TCP test of the node's SPICE proxy (3128, through the user's HTTP proxy when one applies)
//     ─▶ spiceproxy (proxy = the host the API was reached on, or --spice-proxy)
//     ─▶ (--spice-relay: listen on loopback, engine/console/spice_relay.h)
//     ─▶ .vv (private file or the viewer's stdin) ─▶ viewer at once (the password lives 30 s)
//     ─▶ teardown (viewer exit; with the relay and no viewer, the last channel closing; the
//        relay's client wait; a signal; an error)
//
// Without the relay remote-viewer talks to spiceproxy itself, so pvebridge cannot see it connect:
// the viewer's exit is all it learns. With the relay it sees every channel: a viewer that opens
// none within client_wait_ms is an error (its password has expired by then).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/console/console_session.h"
#include "engine/console/spice_relay.h"
#include "engine/console/viewer_process.h"
#include "engine/core/platform.h"
#include "engine/io/listener.h"
#include "engine/proxmox/proxmox_client.h"

namespace pvb {

// What `pvebridge connect --protocol` asks for.
enum class ConsoleProtocol { vnc, spice, auto_select };

// Proxmox's SPICE password is set in QEMU with a 30 s life, counted from the spiceproxy call.
constexpr uint64_t kSpicePasswordLifeMs = 30000;

struct SpiceSessionOptions {
  bool start_guest = false;
  bool display_checked = false;  // --protocol auto checked the guest's display already
  uint64_t timeout_ms = 15000;   // the TCP test of the SPICE proxy
  // The host the viewer reaches the node's SPICE proxy on: sent to spiceproxy as `proxy` and
  // written into the .vv (empty: the API host). Its port is 3128 unless --spice-proxy says.
  std::string proxy_host;
  uint16_t proxy_port = kSpiceProxyPort;
  bool relay = false;  // --spice-relay (or a user HTTP proxy, or --no-viewer)
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  VvMode vv_mode = VvMode::private_dir;
  std::string vv_path;
  std::string title;
  bool fullscreen = false;
  bool launch_viewer = true;
  ViewerOptions viewer;
  uint64_t viewer_grace_ms = 2000;
  uint64_t client_wait_ms = kSpicePasswordLifeMs;
  // With the relay and no viewer: the console ends when no channel has been open for this long.
  uint64_t idle_end_ms = 2000;
  bool require_same_uid = true;
  Pump::Options pump;
};

// Whether a guest's console should be SPICE: `spice` and `vnc` as asked; `auto_select` asks the
// config of a qemu guest (qxl*/virtio* → SPICE), containers are always VNC. A container asked for
// SPICE is Errc::no_spice.
void choose_console_protocol(ProxmoxClient& api, const Guest& guest, ConsoleProtocol asked,
                             std::function<void(Result<ConsoleProtocol>)> done);

class SpiceSession {
 public:
  SpiceSession(Loop& loop, int id, ProxmoxClient& api, ListenerFactory& listeners, Guest guest,
               SpiceSessionOptions options, ConsoleObserver& observer);
  ~SpiceSession();
  SpiceSession(const SpiceSession&) = delete;
  SpiceSession& operator=(const SpiceSession&) = delete;

  void start();
  void interrupt(int signum);

  int id() const { return id_; }
  bool finished() const { return finished_; }
  const SessionEnd& end() const { return end_; }
  // For tests: the relay's port once listening (0 without the relay).
  uint16_t relay_port() const { return relay_ ? relay_->port() : 0; }

 private:
  void check_display();
  void probe_proxy();
  void ask_spiceproxy();
  void open_console(SpiceTicket ticket);
  Error write_vv_file(const std::string& text, std::string& path_out);
  void launch_viewer(std::string vv_text);
  void tunnel_closed();
  void viewer_exited(int64_t status, int signal);
  void end_with(CloseReason reason, Error error = Error());
  void maybe_finish();
  void log(const std::string& line);
  ApiHost proxy_target() const;

  Loop& loop_;
  int id_;
  ProxmoxClient& api_;
  ListenerFactory& listeners_;
  Guest guest_;
  SpiceSessionOptions options_;
  ConsoleObserver& observer_;

  std::unique_ptr<Transport> probe_;
  struct ProbeSink;
  std::unique_ptr<ProbeSink> probe_sink_;
  Timer probe_timer_;
  std::unique_ptr<SpiceRelay> relay_;
  std::optional<PrivateDir> vv_dir_;
  std::string vv_file_;
  std::unique_ptr<ViewerProcess> viewer_;
  Timer client_wait_timer_;
  Timer idle_timer_;
  bool client_seen_ = false;

  bool ending_ = false;
  bool finished_ = false;
  SessionEnd end_;
  AliveToken alive_;
};

}  // namespace pvb
