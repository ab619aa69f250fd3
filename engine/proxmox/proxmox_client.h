// ProxmoxClient: the Proxmox VE API as C++. One authenticated REST connection (keep-alive, TLS)
// shared by every console session of the process.
//
// connect() tries the configured hosts in order until one answers (a network failure — DNS,
// refused, timeout, reset — moves on to the next; an authentication or TLS verification failure
// does not: those are answers). Every later call goes to the host that answered, and so must the
// console's WebSocket (pveproxy does not forward it between nodes).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/loop.h"
#include "engine/io/api_host.h"
#include "engine/io/dialer.h"
#include "engine/io/http_exchange.h"
#include "engine/proxmox/credentials.h"
#include "engine/proxmox/guest.h"
#include "engine/proxmox/pve_version.h"
#include "engine/proxmox/replies.h"
#include "engine/proxmox/spice_reply.h"

namespace pvb {

struct ProxmoxClientOptions {
  uint64_t timeout_ms = 15000;      // each request
  uint64_t task_poll_ms = 1000;     // polling a start task
  uint64_t start_wait_ms = 120000;  // a start task must finish within this
  // --verbose: protocol steps, never secrets.
  std::function<void(std::string_view)> log;
  // Asked for a TOTP code when the server wants one and none was given (a terminal prompt), and
  // again after a rejected code: up to kTotpAttempts codes in all. `attempt` counts from 1; a
  // later one follows a rejected code.
  std::function<Result<std::string>(int attempt)> otp_prompt;
};

// What a terminal console opens: a guest's (an lxc console, a qemu serial port) or a node's shell.
struct TerminalTarget {
  std::optional<Guest> guest;  // none: the shell of `node`
  std::string node;            // the guest's node, or the node whose shell
  int serial = 0;              // qemu: serialN
  std::string display_name() const;
};

class ProxmoxClient {
 public:
  static constexpr int kTotpAttempts = 3;

  // `dialer` opens the REST exchange to each host (and must outlive the client).
  ProxmoxClient(Loop& loop, std::vector<ApiHost> hosts, Dialer& dialer, Credentials credentials,
                ProxmoxClientOptions options);
  ~ProxmoxClient();

  void connect(std::function<void(Error)> done);

  void list_guests(std::function<void(Result<std::vector<Guest>>)> done);
  // With an API token, connect() proves the host and the token with GET /cluster/resources
  // instead of GET /version, and the next list_guests() is answered from that reply: a console
  // needs the list anyway, so the viewer starts one round trip sooner. (The version is asked
  // later, before vncproxy needs it, while the viewer starts.)
  void set_probe_with_guest_list(bool on) { probe_with_guest_list_ = on; }
  void guest_status(const Guest& g, std::function<void(Result<GuestStatus>)> done);
  // Starts a stopped guest (or resumes a paused one), waits for the task, then for "running".
  void start_guest(const Guest& g, bool resume, std::function<void(Error)> done);
  // A console ticket. For qemu guests `generate-password` is sent only to servers that need it
  // (pve_version.h, from GET /version), and the call is repeated once the other way when the
  // guess was wrong: without it after a 400 naming it, with it when a server that knows it sent
  // no password.
  void vncproxy(const Guest& g, std::function<void(Result<VncTicket>)> done);
  // The server's version once known (after connect() with a token, or the first qemu console).
  const std::optional<PveVersion>& version() const { return version_; }

  // POST .../termproxy for a guest (qemu: serial=serialN) or a node's shell.
  void termproxy(const TerminalTarget& target, std::function<void(Result<TermTicket>)> done);
  // The serialN ports in a qemu guest's config.
  void qemu_serial_ports(const Guest& g, std::function<void(Result<std::vector<int>>)> done);
  // SPICE (spice_api.cc): POST .../qemu/{vmid}/spiceproxy with `proxy` (the host the viewer
  // should reach the node's SPICE proxy on), and the `vga` of a qemu guest's config.
  void spiceproxy(const Guest& g, const std::string& proxy,
                  std::function<void(Result<SpiceTicket>)> done);
  void qemu_vga(const Guest& g, std::function<void(Result<std::string>)> done);
  // "/api2/json/nodes/pve1/lxc/200/vncwebsocket?port=...&vncticket=..." (node shells:
  // "/api2/json/nodes/pve1/vncwebsocket?...").
  static std::string terminal_websocket_path(const TerminalTarget& target, const TermTicket& t);
  // True when authenticated by an API token (no ticket login).
  bool uses_token() const { return credentials_.token.has_value(); }
  // Who we are to the server: "root@pam", or "root@pam!pvebridge" for a token.
  std::string authid() const;

  // What the client reaches its hosts through; consoles open their WebSockets with it.
  Dialer& dialer() const { return dialer_; }
  // The host that answered connect().
  const ApiHost& host() const { return hosts_[active_]; }
  // Headers that authenticate a request (Cookie, or Authorization for a token); for the WebSocket.
  HttpHeaders auth_headers() const;
  // "/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=..." (ticket URL-encoded).
  static std::string websocket_path(const Guest& g, const VncTicket& t);

 private:
  struct Call;
  void try_host(size_t index, std::function<void(Error)> done, std::string failures);
  void login(std::function<void(Error)> done);
  void answer_tfa(std::string challenge, int attempt, std::function<void(Error)> done);
  // The first reply of a host that is not 2xx: a 404 means it is no Proxmox VE API at all.
  Error first_reply_error(const RestResponse& r, std::string_view call, Error otherwise) const;
  // Calls `then` once the version is known (or known to be unknown).
  void with_version(std::function<void()> then);
  void remember_version(std::string_view text);
  void probe_token_with_guest_list(std::function<void(Error)> answered);
  void request_vncproxy(Guest g, bool generate, bool retried,
                        std::function<void(Result<VncTicket>)> done);
  void request(std::string method, std::string path, std::optional<FormFields> form,
               std::function<void(Result<RestResponse>)> done, FormFields query = {});
  void poll_task(Guest g, std::string upid, uint64_t deadline, std::function<void(Error)> done);
  void wait_running(Guest g, uint64_t deadline, std::function<void(Error)> done);
  void log(const std::string& line) const;
  std::unique_ptr<HttpExchange> make_rest(size_t host_index);

  Loop& loop_;
  std::vector<ApiHost> hosts_;
  Dialer& dialer_;
  Credentials credentials_;
  ProxmoxClientOptions options_;
  size_t active_ = 0;
  std::unique_ptr<HttpExchange> rest_;
  std::string ticket_;
  std::string csrf_;
  std::optional<PveVersion> version_;
  bool version_asked_ = false;
  bool probe_with_guest_list_ = false;
  std::optional<std::vector<Guest>> probed_guests_;  // the probe's reply, for list_guests
  std::unique_ptr<Timer> poll_timer_;
  AliveToken alive_;
};

// Maps a non-2xx reply to an Error: 401 → auth, 403 → `forbidden` (auth for API calls,
// console_refused for consoles), a reason phrase saying "not running" → not_running, else
// Errc::http; the message carries the method, path and the reason phrase (Proxmox puts its error
// text there).
Error error_from_status(const RestResponse& r, std::string_view what, Errc forbidden);
// Proxmox says a guest is stopped only in the reason phrase of its error ("500 VM 101 not
// running", PROTOCOL.md): no status code or field carries it, so this one protocol fact is decided
// on the text, here and nowhere else.
bool reason_says_not_running(std::string_view reason);

}  // namespace pvb
