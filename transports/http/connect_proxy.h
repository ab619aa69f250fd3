// ConnectProxyTransport: a tunnel through an HTTP proxy (the CONNECT method, RFC 9110 9.3.6) as a
// Transport, the step between TCP and TLS when https_proxy or --proxy says so. It owns the
// transport to the proxy and is its sink.
//
// - start() starts the lower transport; once it is connected we send
//     CONNECT pve1.example.com:8006 HTTP/1.1
//     Host: pve1.example.com:8006
//     Proxy-Authorization: Basic ...        (only with credentials)
//   and read the proxy's answer head, at most kMaxAnswerHead bytes. A 2xx opens the tunnel:
//   on_connected, and from then on bytes pass through both ways untouched (any Content-Length of
//   the answer is ignored, as RFC 9110 says). Anything else fails the transport with Errc::connect
//   (so the API client tries the next host, and the CLI exits 7) naming the proxy, the target and
//   the proxy's status line; the body (an HTML page, typically) is never read.
// - Writes before the tunnel is open are queued; afterwards they move straight down.
// - read_disable() is passed down once the tunnel is open (the answer is read whatever the sink
//   wants, as TLS reads its handshake).
// - pending_write_bytes() = queued (write_queue()) + the lower's pending (TransportOverlay).
// - Failures before the tunnel is open carry "HTTP proxy: " in front of the lower's error; no
//   answer within answer_timeout_ms is Errc::timeout; a malformed answer is Errc::protocol, an
//   oversized one Errc::too_large. After that, the lower's errors pass unchanged.
// - The credentials never appear in an error or a log line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/core/loop.h"
#include "engine/io/transport_overlay.h"
#include "transports/http/http_message.h"

namespace pvb {

// Default member initializers everywhere, so designated initializers may leave any field out.
struct ConnectProxyOptions {
  std::string target{};                // authority form: "pve1.example.com:8006", "[fd00::1]:8006"
  std::string proxy_name{};            // "proxy.example.com:3128", for messages
  std::string proxy_authorization{};   // the Proxy-Authorization value, or empty
  uint64_t answer_timeout_ms = 15000;  // from the proxy's TCP connect to its answer; 0 = no limit
};

class ConnectProxyTransport : public TransportOverlay {
 public:
  static constexpr size_t kMaxAnswerHead = 8 * 1024;

  ConnectProxyTransport(std::unique_ptr<Transport> lower, ConnectProxyOptions options);

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

  bool tunnel_open() const { return tunnel_open_; }

 protected:
  void on_read_enable_changed(bool enabled) override;
  // The lower transport's sink.
  void on_connected() override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_closed(const Error& error) override;

 private:
  void send_connect();
  void read_answer(ByteChain& data, bool end_stream);
  void open_tunnel(ByteChain& rest, bool end_stream);
  void sync_lower_reading();
  void fail(Error error);

  ConnectProxyOptions options_;
  Timer answer_timer_;
  HttpHeadProgress head_progress_;
  // write_queue(): written before the tunnel opened.
  bool started_ = false;
  bool tunnel_open_ = false;
  bool queued_end_ = false;   // write(..., end_stream) before the tunnel opened
  bool end_pending_ = false;  // the peer's end arrived while our sink had reading disabled
  bool lower_read_disabled_ = false;
  bool closing_ = false;  // close(Flush): waiting for the lower to finish sending
};

}  // namespace pvb
