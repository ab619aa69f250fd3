// The mock pveproxy's brain: given a parsed request, the reply Proxmox VE would give. No I/O:
// time comes from the injected Clock, randomness from the injected Random, and delays (the 3 s
// after a 401, the slow fault) are returned in the reply for the I/O layer to honour.
//
// Endpoints (paths after /api2/json):
//   POST /access/ticket                               login, renewal, TOTP / recovery second step
//   GET  /version
//   GET  /cluster/resources[?type=vm|node|storage|sdn]  only what the caller may audit
//   GET  /nodes/{node}/{qemu|lxc}/{vmid}/status/current
//   POST /nodes/{node}/{qemu|lxc}/{vmid}/status/start   a task; running after start_delay_ms
//   POST /nodes/{node}/{qemu|lxc}/{vmid}/status/resume  paused -> running
//   GET  /nodes/{node}/tasks/{upid}/status
//   POST /nodes/{node}/{qemu|lxc}/{vmid}/vncproxy       a console listener, port and ticket
//   GET  /nodes/{node}/{qemu|lxc}/{vmid}/vncwebsocket    see accept_vncwebsocket
//   GET  /nodes/{node}/{qemu|lxc}/{vmid}/config          (qemu: serialN keys)
//   POST /nodes/{node}/{qemu|lxc}/{vmid}/termproxy      a terminal (qemu: serial=serialN)
//   POST /nodes/{node}/termproxy                        the node's shell (Sys.Console)
//   GET  /nodes/{node}/vncwebsocket                      the node shell's websocket
// ("localhost" names the node that answers, as in Proxmox.)
// Requests pass the stages pveproxy puts them through, in its order: authentication (401,
// delayed), routing (501 "Method 'GET /x' not implemented"), permissions (403 "Permission check
// failed (/vms/100, VM.Console)"), the node (500 for unknown ones), parameters (400 with an
// `errors` object), then the handler (e.g. 500 "VM 101 not running").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "engine/core/clock.h"
#include "engine/core/random.h"
#include "tests/mock_pveproxy/auth.h"
#include "tests/mock_pveproxy/cluster_state.h"
#include "tests/mock_pveproxy/inventory.h"
#include "tests/mock_pveproxy/login.h"
#include "tests/mock_pveproxy/mock_message.h"
#include "tests/mock_pveproxy/mock_options.h"

namespace pvb::mock {

struct RouteMatch;

// An accepted console websocket: what the I/O layer needs to answer the upgrade and relay.
struct ConsoleGrant {
  // The guest.
  std::string node;
  uint32_t vmid = 0;
  GuestKind type = GuestKind::qemu;
  std::string name;
  ConsoleKind console = ConsoleKind::rfb;
  // The console.
  uint16_t port = 0;
  // The VNC password the RFB side must require: the generated password, or else the whole
  // vncticket (VNC authentication then uses its first 8 bytes).
  std::string vnc_password;
  // Unix time after which the RFB side refuses that password (connect + vnc_password_life_s).
  int64_t vnc_password_expires = 0;
  std::string authid;  // who asked: root@pam or root@pam!pvebridge
  // The upgrade reply: Sec-WebSocket-Protocol ("binary", or "base64" for old noVNC clients, which
  // then wants base64 text frames) and Sec-WebSocket-Accept.
  std::string ws_protocol;
  std::string ws_accept;
  // Wait this long before sending the 101 (the slow fault).
  uint64_t delay_ms = 0;
  // A termproxy console (server/terminal_console.h) instead of VNC: what runs and how the
  // terminal checks the client's first message ("<user>:<ticket>\n").
  struct Terminal {
    std::string kind;  // "lxc", "serial0".."serial3", "shell"
    std::string node;
    std::function<bool(std::string_view user, std::string_view ticket)> verify_login;
    std::optional<TermFault> fault;
  };
  std::optional<Terminal> terminal;
};

// A CONNECT the mock spiceproxy let through: what QEMU must be told and where to connect.
struct SpiceGrant {
  uint32_t vmid = 0;
  std::string node;
  std::string name;
  uint16_t tls_port = 0;
  std::string password;          // set in QEMU (set_password protocol=spice) before relaying
  int64_t password_expires = 0;  // unix time
};

struct MockCounters {
  uint64_t requests = 0;       // parse errors, handle and accept_vncwebsocket calls
  uint64_t auth_failures = 0;  // 401 replies
  LoginCounters logins;
  uint64_t starts = 0;  // start calls that began a start
  uint64_t resumes = 0;
  uint64_t vncproxy = 0;  // consoles opened
  uint64_t ws_accepted = 0;
  uint64_t ws_refused = 0;  // accept_vncwebsocket calls that returned a reply, not a grant
  // Calls per endpoint: "POST vncproxy", "GET status/current", "GET unknown", ...
  std::map<std::string, uint64_t> by_endpoint;
};

// A guest's state as status/current would report it now.
struct GuestStatus {
  std::string status;     // running | stopped
  std::string qmpstatus;  // running | paused | stopped (qemu)
  bool starting = false;  // a start is under way
};

class MockApi {
 public:
  MockApi(Inventory inventory, MockOptions options, Clock& clock, Random& random);
  MockApi(const MockApi&) = delete;
  MockApi& operator=(const MockApi&) = delete;

  // Parses a raw HTTP request into a MockRequest, or the reply pveproxy gives to an unparsable
  // one: 404 outside /api2/json, 501 for another API format, 400 for a bad %-escape in the query
  // or form body, 501 for a JSON body that is not a JSON object. `target` is the request target
  // with its query; the body is read as JSON when Content-Type is application/json, else as a
  // form (only for POST, PUT and DELETE, like pveproxy).
  std::variant<MockRequest, MockResponse> parse(std::string method, std::string target,
                                                const HttpHeaders& headers, std::string body);
  MockResponse handle(const MockRequest& request);

  // GET /nodes/{node}/{qemu|lxc}/{vmid}/vncwebsocket?port=..&vncticket=.. with Upgrade headers.
  // Authenticated like any API call; then the vncticket is checked (valid -20 s..+40 s, bound to
  // the user or token, the guest's path and the port), the listener must still wait for it (one
  // websocket per vncproxy call, within ws_window_ms of it), and the upgrade headers must be what
  // pveproxy wants (Upgrade: websocket, version 13, protocol binary or base64, a key). Returns the
  // grant, or the reply to send instead. Without an Upgrade header this is handle().
  std::variant<ConsoleGrant, MockResponse> accept_vncwebsocket(const MockRequest& request);

  // A terminal's check of the client's first message: the user the ticket of the termproxy call
  // on `port` was issued to, and that ticket (its path and port).
  bool verify_terminal_login(uint16_t port, std::string_view user, std::string_view ticket);

  // The mock spiceproxy's check of a CONNECT (server/spice_proxy.h), as PVE::Ticket's
  // verify_spice_connect_url does it on the Host header: "<ticket>:<port>" with the ticket's
  // signature, its age (-20 < age < spice_ticket_max_age_s) and the port it signed; the port in
  // 61000..61999. The grant names the guest and its SPICE password (with its expiry, unix time).
  std::optional<SpiceGrant> verify_spice_connect(std::string_view host_header);

  // The I/O layer reports that a console session ended: the port is free again and the vncproxy
  // task ends with OK.
  void release_console(uint16_t port);
  // The guest powers off at once (a test hook: cut_ws=...,stop).
  void stop_guest(uint32_t vmid);
  // Authentication goes stale at once (a test hook: the expire_auth fault): every login ticket
  // issued so far stops verifying (a client must log in again) and every API token is revoked
  // (its expiry is set to the past: 401 "token '…' access expired").
  void expire_auth();

  const Inventory& inventory() const { return inventory_; }
  // In-process tests change the cluster while a client uses it (a token that expires).
  Inventory& mutable_inventory() { return inventory_; }
  const MockOptions& options() const { return options_; }
  int64_t unix_now() const { return clock_.unix_seconds(); }
  std::optional<GuestStatus> guest_status(uint32_t vmid);
  size_t open_consoles();
  MockCounters counters() const;

 private:
  struct UpgradeContext;

  MockResponse dispatch(const MockRequest& request, UpgradeContext* upgrade);
  MockResponse route_request(const MockRequest& request, const RouteMatch& route, const AuthId& who,
                             UpgradeContext* upgrade);
  // The reply's last touches: 401 delay, slow fault, malformed_json, oversized_header.
  MockResponse finish(MockResponse reply, std::string_view path);

  MockResponse version();
  MockResponse resources(const MockRequest& request, const AuthId& who);
  MockResponse status_current(const GuestEntry& guest);
  MockResponse start(const MockRequest& request, const GuestEntry& guest, const AuthId& who);
  MockResponse resume(const GuestEntry& guest, const AuthId& who);
  MockResponse task_status(const RouteMatch& route, const AuthId& who);
  MockResponse vncproxy(const MockRequest& request, const GuestEntry& guest, const AuthId& who);
  MockResponse vncwebsocket(const MockRequest& request, const GuestEntry& guest, const AuthId& who,
                            UpgradeContext* upgrade);
  // Terminals (mock_api_terminal.cc).
  MockResponse guest_config(const GuestEntry& guest);
  MockResponse termproxy(const MockRequest& request, const GuestEntry& guest, const AuthId& who);
  // SPICE (mock_api_spice.cc).
  MockResponse spiceproxy(const MockRequest& request, const GuestEntry& guest, const AuthId& who);
  MockResponse node_termproxy(const RouteMatch& route, const AuthId& who);
  MockResponse node_vncwebsocket(const MockRequest& request, const RouteMatch& route,
                                 const AuthId& who, UpgradeContext* upgrade);
  MockResponse open_terminal(const std::string& node, uint32_t vmid, const std::string& acl_path,
                             const std::string& kind, const AuthId& who);
  void attach_terminal(ConsoleGrant& grant, const ConsoleRecord& console);

  Inventory inventory_;
  MockOptions options_;
  uint64_t vncproxy_calls_ = 0;
  Clock& clock_;
  Random& random_;
  TicketAuthority authority_;
  LoginService login_;
  ClusterState state_;
  MockCounters counters_;
  std::string spice_secret_;  // signs the proxy tickets (Proxmox: the cluster's CSRF secret)
  struct SpicePassword {
    std::string password;
    int64_t expires = 0;
  };
  std::map<uint32_t, SpicePassword> spice_passwords_;  // by vmid: the latest spiceproxy call's
};

}  // namespace pvb::mock
