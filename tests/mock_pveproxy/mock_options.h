// How the mock pveproxy behaves: every timer of the real one (settable so tests need not wait),
// the pveproxy generation, and the faults to inject.
//
// Faults come from `--fault NAME[=ARG]` strings. The REST-level ones act inside the mock API
// library (reject_ticket, malformed_json, slow, oversized_header as a flag on each reply); the
// others are parsed and exposed here for the I/O layer (server/): the console relay, the hostile
// HTTP replies (server/hostile_reply.h) and the faults below HTTP (server/connection_faults.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb::mock {

enum class FaultKind {
  drop_ws_after,      // =BYTES: close the console websocket after relaying this many bytes
  stall_ws,           // accept the upgrade, then never relay anything
  reject_ticket,      // vncwebsocket refuses every vncticket
  oversized_header,   // every REST reply carries a header line larger than 64 KiB
  malformed_json,     // =PATH_SUBSTRING: replies to matching paths have a broken JSON body
  slow,               // =MS: every reply is delayed by this much
  raw_after_upgrade,  // =KIND: after the 101, the server misbehaves at the frame level
  // Hostile HTTP replies to requests whose path contains =PATH_SUBSTRING (server/hostile_reply.h):
  endless_headers,  // a head that never ends: header lines until the client leaves
  huge_body,        // Content-Length of 1 GiB, then body bytes as fast as the client reads
  endless_chunked,  // a chunked body whose last chunk never comes
  wrong_types,      // the JSON reply with every scalar inside "data" wrapped in an array
  no_reply,         // no answer at all; the connection stays open and silent
  close_reused,     // a request on a connection that already served one is answered by closing
                    // it, as when pveproxy's idle timeout fires just as the request arrives
  // The websocket upgrade:
  bad_ws_accept,  // the 101 carries a Sec-WebSocket-Accept that does not match the key
  reset_upgrade,  // the upgrade request is answered with a TCP reset
  // Below HTTP, per connection (server/connection_faults.h):
  reset_after,        // =BYTES: TCP reset once the server has sent BYTES on a connection
  chunk_writes,       // =BYTES: the server's bytes leave in writes of at most BYTES
  tls_alert,          // =handshake|request: a fatal TLS alert answers the ClientHello / a request
  tls_renegotiate,    // a TLS HelloRequest answers the first request; then handshake_failure
  cert_change_after,  // =N: connections after the Nth get another certificate (and CA)
  not_proxmox,        // every request gets "404 File not found", as another web server would
  // Reconnects (issue 14), per console in the order consoles open:
  cut_ws,           // =WHERE[,rst][,times=K]: cut the console (see CutSpec)
  stall_ws_after,   // =BYTES: the first console goes silent after relaying BYTES toward the client
  refuse_vncproxy,  // =N: the N vncproxy calls after the first answer 503
  restart_api,      // =after:MS,down:MS[,times=K][,rst]: pveproxy restarts (see RestartSpec)
  expire_auth,      // at each cut_ws cut and restart_api: login tickets expire, tokens revoked
  // Terminal consoles (termproxy, server/terminal_console.h):
  term,  // =no_ok|garbage|close_mid_output|burst|refuse_token
};

// What the term fault makes a terminal console do.
enum class TermFault {
  no_ok,             // check the login, then never answer OK
  garbage,           // answer something else before OK
  close_mid_output,  // close the connection after the first output bytes
  burst,             // after OK, 64 MiB of output as fast as the client takes it
  refuse_token,      // refuse API tokens (servers before the April 2026 updates / 9.0.13)
};

// What raw_after_upgrade sends once the websocket is up.
enum class RawFrameKind {
  masked_frame,     // a masked server frame (servers must not mask)
  rsv_bits,         // a frame with RSV1-3 set
  huge_length,      // a header announcing a 2^63-1 byte payload
  reserved_opcode,  // opcode 0x3
  ping_flood,       // pings, endlessly
  never_close,      // ignore the client's Close and keep the TCP connection open
  silent,           // nothing at all after the 101: no data, pings unanswered
  deaf_ping_flood,  // the RFB banner, then pings without end; never reads a byte
  deaf,             // the RFB banner, then nothing; never reads a byte
};

// When the tls_alert fault strikes.
enum class TlsAlertPoint {
  handshake,  // a plaintext fatal handshake_failure alert in answer to the ClientHello
  request,    // after the handshake, a fatal internal_error alert in answer to the first request
};

// Where and how cut_ws cuts a console WebSocket. WHERE is down:BYTES (after relaying BYTES toward
// the client), up:BYTES (toward the VM), random:BYTES (down, at an offset drawn for each console
// from kRandomCutFirst..BYTES: past the RFB handshake, so the cut falls in the update stream, as
// "inside a FramebufferUpdate" asks; armed, from 1..BYTES counted from the arming) or time:MS (MS
// after the console opened). A cut is a clean end (a WebSocket Close
// frame, then the connection closes) unless `rst` (a TCP reset). It strikes the first `times`
// consoles (default 1; times=0: every console), so the reconnect that follows finds a healthy one.
// What else happens to the guest at the moment of the cut: `resize=WxH` switches its fake VM screen
// to that size (the next console's ServerInit has it: a size change across a reconnect); `stop`
// stops the guest (status/current says `stopped`, vncproxy refuses it), as when it powers off.
// `armed`: a console is cut only once armed (SIGUSR2 to mock-pveproxy arms every console open
// then, and steps the frozen fake VM screens), and WHERE counts from that moment, so a test can
// check the viewer's picture between cuts and say when the next one comes. `mixed` (with `armed`)
// varies the cut with the console's ordinal k: k = 1, 2, 3, 4, 5, ... is cut down at a random
// offset (1..BYTES) by RST, the same by a Close, up within the next 10 bytes by RST, the same by
// a Close, and again.
// The RFB handshake toward the client (version, security types, challenge, result, ServerInit
// with the guest's name) is under 200 bytes from the fake VM and from QEMU: an unarmed random cut
// is drawn from here on. A cut inside the handshake is another test (down:BYTES).
constexpr uint64_t kRandomCutFirst = 257;

struct CutSpec {
  enum class Where : uint8_t { down, up, random, time };
  Where where = Where::down;
  uint64_t at = 0;
  bool rst = false;
  uint64_t times = 1;
  uint16_t resize_width = 0;  // 0: no resize
  uint16_t resize_height = 0;
  bool stop_guest = false;
  bool armed = false;
  bool mixed = false;
  bool operator==(const CutSpec&) const = default;
};

// How restart_api restarts the node's pveproxy, as after an update: `after` MS after a console
// WebSocket opened, every connection that came through the --listen address (API connections and
// console WebSockets alike) drops and the listening socket closes, so new connections are refused;
// `down` MS later it listens again on the same port. Login tickets issued before stay valid (the
// node keeps its keys). Connections through --also-listen addresses (other nodes' pveproxy) are
// not touched. It strikes `times` times (default 1; each after a console opened since the last
// one came back). The connections end as a killed process's do (the kernel closes them: a FIN,
// without TLS close_notify or WebSocket Close), or with `rst` by a TCP reset, as a node that
// reboots or a firewall that forgets the connections leaves them.
struct RestartSpec {
  uint64_t after_ms = 0;
  uint64_t down_ms = 0;
  uint64_t times = 1;
  bool rst = false;
  bool operator==(const RestartSpec&) const = default;
};

struct Fault {
  FaultKind kind = FaultKind::slow;
  uint64_t number = 0;  // drop_ws_after / reset_after / chunk_writes bytes, slow milliseconds,
                        // cert_change_after connections
  std::string text;     // path substring (malformed_json and the hostile replies)
  TlsAlertPoint alert = TlsAlertPoint::handshake;
  RawFrameKind raw = RawFrameKind::masked_frame;
  CutSpec cut;
  RestartSpec restart;

  bool operator==(const Fault&) const = default;
};

std::string_view fault_name(FaultKind kind);
std::string_view raw_frame_kind_name(RawFrameKind kind);

// Parses "NAME" or "NAME=ARG". Errc::usage with a message naming the known faults when the name
// is unknown, or saying what argument the fault needs.
Result<Fault> parse_fault(std::string_view spec);

// How vncproxy treats `generate-password` (qemu-server's three generations, PROTOCOL.md section 3).
enum class VncproxyGeneration {
  old,     // before 6.2 (Proxmox VE 6.1): the schema refuses it (400); the password is the ticket
  middle,  // 6.2 to 8.4.6 / 9.1.6: a random password only when asked for
  next,    // the next major: refused as unknown (400), and a password is always generated
};
std::string_view vncproxy_generation_name(VncproxyGeneration g);
std::optional<VncproxyGeneration> parse_vncproxy_generation(std::string_view text);

struct MockOptions {
  // Every 401 reply is delayed by this much, as pveproxy does to slow down password guessing.
  uint64_t auth_fail_delay_ms = 3000;
  // pveproxy closes a kept-alive connection idle this long (AnyEvent::Handle's timeout, 5 s by
  // default: PVE::APIServer::AnyEvent). 0: never.
  uint64_t keepalive_timeout_ms = 5000;
  // It answers at most this many requests per connection (pveproxy's keep_alive => 100), then
  // says Connection: close.
  static constexpr uint64_t keepalive_max_requests = 100;
  // A started guest becomes running this long after the start call.
  uint64_t start_delay_ms = 2000;
  // After vncproxy, the node-side listener waits this long for the websocket.
  uint64_t ws_window_ms = 10000;
  // A vncticket is valid while min < age < max (strictly, like PVE::Ticket).
  int64_t vncticket_min_age_s = -20;
  int64_t vncticket_max_age_s = 40;
  // The VNC password expires this long after the websocket connects (enforced by the RFB side).
  int64_t vnc_password_life_s = 30;
  // SPICE (spiceproxy, PROTOCOL.md section 7): the password set in QEMU lives this long from the
  // spiceproxy call; the proxy ticket is valid while -20 < age < max; tls-ports are handed out
  // from 61000 up; `ca` and `host-subject` are what the guest's SPICE TLS certificate is checked
  // against (the server sets them: the mock's CA, or the CA of QEMU's SPICE certificates).
  int64_t spice_password_life_s = 30;
  int64_t spice_ticket_max_age_s = 40;
  uint16_t spice_port_first = 61000;
  std::string spice_ca_pem;
  std::string spice_host_subject = "CN=localhost";
  // Login tickets and CSRF tokens: valid while min < age < max.
  int64_t ticket_min_age_s = -300;  // clock skew between nodes
  int64_t ticket_life_s = 7200;
  // The two-factor challenge ticket from the first login step.
  int64_t tfa_challenge_life_s = 120;
  // pveproxy before libpve-http-server-perl 5.2.1 (Proxmox VE 8.3 and earlier): 64 KiB whole-frame
  // limit on client websocket frames instead of the 128 KiB payload limit; also its version.
  bool old_pveproxy = false;
  // vncproxy hands out console ports from this range, as a node does from 5900..5999 (100 at
  // once); the benchmark widens it to run 1000 consoles through one mock.
  uint16_t console_port_first = 5900;
  uint16_t console_port_last = 5999;
  // The cluster CA handed out as `cert` by vncproxy.
  std::string cert_pem;
  // The server's generation for vncproxy's generate-password; what /version reports follows it
  // unless `version` is set (a server whose version says one thing and does another).
  VncproxyGeneration generation = VncproxyGeneration::middle;
  std::string version;
  // Tests: every generated VNC password is this one (8 characters of '!'..'`').
  std::string fixed_vnc_password;
  std::vector<Fault> faults;

  // Adds a fault from a `--fault` argument. Faults taking a path substring may be given several
  // times; any other fault twice is a usage error.
  Error add_fault(std::string_view spec);

  std::optional<uint64_t> drop_ws_after() const;
  bool stall_ws() const;
  bool reject_ticket() const;
  bool oversized_header() const;
  std::optional<uint64_t> slow_ms() const;
  std::optional<RawFrameKind> raw_after_upgrade() const;
  // True when a malformed_json fault's substring occurs in `path`.
  bool malformed_json_for(std::string_view path) const;
  // True when a fault of this kind (one that takes a path substring) matches `path`.
  bool path_fault(FaultKind kind, std::string_view path) const;
  // The hostile reply (endless_headers, huge_body, endless_chunked, no_reply) for `path`, if any.
  std::optional<FaultKind> hostile_reply_for(std::string_view path) const;
  bool bad_ws_accept() const;
  bool reset_upgrade() const;
  std::optional<uint64_t> reset_after() const;
  std::optional<uint64_t> chunk_writes() const;
  std::optional<TlsAlertPoint> tls_alert() const;
  bool tls_renegotiate() const;
  std::optional<uint64_t> cert_change_after() const;
  std::optional<TermFault> term_fault() const;
  std::optional<CutSpec> cut_ws() const;
  std::optional<uint64_t> stall_ws_after() const;
  std::optional<uint64_t> refuse_vncproxy() const;
  std::optional<RestartSpec> restart_api() const;
  bool expire_auth() const;
  bool not_proxmox() const;
  // Whether any fault below HTTP (server/connection_faults.h) is set.
  bool has_connection_faults() const;

  // Client frame limits of pveproxy's relay: current ones reject payloads over 128 KiB; old ones
  // die on any whole frame (header included) over 64 KiB. 0 means "no such limit".
  size_t ws_max_payload_bytes() const { return old_pveproxy ? 0 : 128 * 1024; }
  size_t ws_max_frame_bytes() const { return old_pveproxy ? 64 * 1024 : 0; }
  // pveproxy buffers at most this much toward the VM and drops the connection beyond it.
  static constexpr size_t ws_max_buffered_bytes = 640 * 1024;

  // What GET /version reports: `version`, else by generation (6.1-11, 8.4.1 or 8.3.5 with
  // old_pveproxy, 10.0.1), and its major.minor as the release.
  std::string pve_version() const;
  std::string pve_release() const;

 private:
  const Fault* find(FaultKind kind) const;
  bool has(FaultKind kind) const { return find(kind) != nullptr; }
  // The numeric argument of a fault that takes one (drop_ws_after=BYTES, slow=MS, ...).
  std::optional<uint64_t> number_of(FaultKind kind) const;
};

}  // namespace pvb::mock
