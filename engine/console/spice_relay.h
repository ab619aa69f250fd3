// SpiceRelay (--spice-relay): pvebridge carries remote-viewer's SPICE proxy connections itself.
//
// remote-viewer cannot chain proxies and often cannot reach the node's spiceproxy the way the
// .vv names it. So the .vv says proxy=http://127.0.0.1:PORT, and for each channel remote-viewer
// opens (main, display, inputs, cursor, ...) we:
//   - admit only a loopback client of our own user (the ListenerFactory's peer uid, as the VNC
//     listener does);
//   - read its HTTP CONNECT head (at most kMaxHead bytes, within head_timeout_ms) and refuse
//     (403, then close) any target other than the one the API's spiceproxy answer named,
//     "<signed host ticket>:<tls-port>", in the request line and in Host (spiceproxy
//     authenticates by the Host header, so both must be it);
//   - open a plain stream to the node's spiceproxy (port 3128) through the Dialer (TCP, or the
//     user's HTTP proxy's tunnel), send it a CONNECT of our own making for that same target (no
//     header of the client's passes), and pump both ways: spiceproxy's "200 OK" and then the
//     SPICE channel's TLS, which stays end to end between remote-viewer and QEMU (verified by
//     the .vv's ca and host-subject). We never see its plaintext.
// A spiceproxy that cannot be reached is answered 502 to the client. Tunnels end on their own;
// close() ends them all.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/error.h"
#include "engine/core/loop.h"
#include "engine/io/dialer.h"
#include "engine/io/listener.h"
#include "engine/pump/pump.h"

namespace pvb {

// One HTTP CONNECT request head, as far as the relay cares.
struct ConnectHead {
  std::string target;               // the authority of the request line
  std::string version;              // "HTTP/1.1" or "HTTP/1.0"
  std::optional<std::string> host;  // the Host header, when given
  size_t length = 0;                // bytes of the head, through the blank line
};

// Parses the head at the start of `bytes` (what the client sent so far). nullopt: incomplete.
// Errc::protocol for anything that is not "CONNECT <authority> HTTP/1.x" with well-formed header
// lines; Errc::too_large when no blank line comes within kMaxHead bytes.
Result<std::optional<ConnectHead>> parse_connect_head(std::string_view bytes);

struct SpiceRelayOptions {
  static constexpr size_t kMaxHead = 8 * 1024;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  ApiHost upstream;            // the node's spiceproxy, host:3128
  std::string allowed_target;  // "<host ticket>:<tls-port>": the only CONNECT target let through
  bool require_same_uid = true;
  uint64_t head_timeout_ms = 10000;
  Pump::Options pump;
  std::function<void(std::string_view)> log;
  // A tunnel to spiceproxy is open (the CONNECT head went out); and one ended.
  std::function<void()> on_tunnel_open;
  std::function<void()> on_tunnel_closed;
  // A local connection was refused (another user, another target, a malformed request).
  std::function<void(std::string_view why)> on_refused;
};

class SpiceRelay {
 public:
  // `listeners` and `dialer` must outlive the relay.
  SpiceRelay(Loop& loop, ListenerFactory& listeners, Dialer& dialer, SpiceRelayOptions options);
  ~SpiceRelay();
  SpiceRelay(const SpiceRelay&) = delete;
  SpiceRelay& operator=(const SpiceRelay&) = delete;

  Error listen();
  uint16_t port() const { return port_; }
  // Stops accepting and ends every tunnel (Flush). on_tunnel_closed follows for each open one.
  void close();

  size_t tunnels_open() const { return open_; }
  size_t tunnels_made() const { return made_; }
  uint64_t bytes_to_guest() const { return bytes_to_guest_; }
  uint64_t bytes_from_guest() const { return bytes_from_guest_; }
  // No connection of any kind is left (after close(): everything has closed).
  bool idle() const { return connections_.empty(); }

 private:
  class Connection;
  friend class Connection;
  void accept(AcceptedClient client);
  void refused(const std::string& why);
  void connection_done(Connection* c);
  void log(const std::string& line) const;

  Loop& loop_;
  ListenerFactory& listeners_;
  Dialer& dialer_;
  SpiceRelayOptions options_;
  std::unique_ptr<Listener> listener_;
  uint16_t port_ = 0;
  std::list<std::unique_ptr<Connection>> connections_;
  size_t open_ = 0;
  size_t made_ = 0;
  uint64_t bytes_to_guest_ = 0;
  uint64_t bytes_from_guest_ = 0;
  bool closing_ = false;
  AliveToken alive_;
};

}  // namespace pvb
