// WsTransport: a WebSocket overlay over any Transport (TLS in production, MemPipe in tests),
// exposing the message payloads as one plain byte stream, which is what a VNC relay needs.
//
// - client(): starts the lower transport, sends the Upgrade request once it is connected, checks
//   the 101 answer, then reports on_connected. A non-101 answer ends it with
//   Errc::console_refused carrying the status and reason phrase. The lower transport may also be
//   a kept-alive connection that already carried REST calls (started and connected): the upgrade
//   then goes out at once. With WsClientOptions::redial set, such a reused connection that the
//   server ends before a single byte of its answer (pveproxy's idle timeout firing just as we
//   reuse it: a close or a reset) is replaced, once, by a fresh one, and the upgrade sent again.
// - server(): for the mock pveproxy, over a lower transport whose HTTP layer already did the
//   handshake; `leftover` holds the bytes that came after the request head.
// Writes become binary frames (FIN set, never fragmented, at most WsCodecOptions::max_frame_payload
// bytes each). Received text and binary data is emitted as a stream; Pings are answered with
// Pongs, at most one waiting at a time (the latest Ping's: a peer that floods Pings without
// reading our Pongs cannot fill our memory), and none once we are closing. Ending: end_stream or
// close(Flush) sends Close (1000) after the pending data and closes the lower transport (Flush)
// without waiting for the peer's Close, aborting it if it has not finished within close_timeout_ms.
// A received Close, or the lower transport's EOF without one (pveproxy just closes TCP when the VM
// side ends), is emitted as end_stream, then the lower side is closed; on_closed(ok) follows once
// it has. Protocol errors end it with the error and abort the lower transport.
//
// Watermarks: pending_write_bytes() = what waits for the handshake (write_queue()) + the lower
// transport's pending bytes (TransportOverlay). Set the marks before start(): start() gives the
// lower transport a high mark of kPongBudget (or ours, if lower) and a low mark of 0, so that
// every drain below our marks is reported, and so is the moment an owed Pong may go out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "engine/io/transport_overlay.h"
#include "engine/io/websocket.h"
#include "transports/http/http_message.h"
#include "transports/ws/ws_codec.h"

namespace pvb {

struct WsClientOptions {
  std::string host_header;  // Host: value, e.g. "pve1.example.com:8006"
  std::string path;         // origin-form target, e.g. "/api2/json/nodes/.../vncwebsocket?..."
  HttpHeaders headers;      // Cookie or Authorization
  std::string subprotocol = "binary";  // empty: none offered
  WsCodecOptions codec{WsRole::client};
  uint64_t handshake_timeout_ms = 15000;
  uint64_t close_timeout_ms = 2000;
  // Set when the lower transport is a reused kept-alive connection: makes a fresh, unstarted one
  // to the same host (null when none can be made). Used at most once, see above.
  std::function<std::unique_ptr<Transport>()> redial;
};

struct WsServerOptions {
  WsCodecOptions codec{WsRole::server};
  bool reply_to_close = false;  // pveproxy never answers a Close
  // Sees every frame header the client sends; a failed Error kills the connection with it (the
  // mock uses this to enforce pveproxy's frame rules).
  std::function<Error(const WsFrameInfo&)> frame_hook;
  uint64_t close_timeout_ms = 2000;
};

class WsTransport final : public TransportOverlayOf<WebSocketStream>, private WsCodecSink {
 public:
  // A Pong is sent only while at most this much waits below us (a few Pongs' worth, far under
  // any write mark): Pongs to a peer that does not read must not hold back our own traffic.
  static constexpr size_t kPongBudget = 4 * 1024;

  static std::unique_ptr<WsTransport> client(std::unique_ptr<Transport> lower,
                                             WsClientOptions options, Random& rng);
  static std::unique_ptr<WsTransport> server(std::unique_ptr<Transport> lower, ByteChain leftover,
                                             WsServerOptions options, Random& rng);

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

  // Sends a Ping (payload up to 125 bytes) for keepalive; false when not open or already closing.
  bool send_ping(std::span<const uint8_t> payload) override;
  // Called with the payload of every Pong received.
  void set_pong_handler(std::function<void(ByteChain&)> handler) override {
    pong_handler_ = std::move(handler);
  }
  const Transport& lower() const override { return *lower_; }

  // The peer's Close frame: code 1005 and an empty reason when none arrived (yet).
  uint16_t peer_close_code() const { return peer_close_code_; }
  const std::string& peer_close_reason() const { return peer_close_reason_; }

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  enum class Phase { created, connecting, handshaking, open, closing, done };

  WsTransport(std::unique_ptr<Transport> lower, WsRole role, const WsCodecOptions& codec,
              uint64_t close_timeout_ms, Random& rng);

  // TransportSink (the lower transport)
  void on_connected() override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_write_low() override {
    send_owed_pong();
    TransportOverlayOf::on_write_low();
  }
  void on_closed(const Error& error) override;

  // WsCodecSink
  void on_frame_start(const WsFrameInfo& info) override;
  void on_message_data(ByteChain& payload, bool text, bool message_end) override;
  void on_ping(ByteChain& payload) override;
  void on_pong(ByteChain& payload) override;
  void on_close(uint16_t code, std::string_view reason) override;

  void send_upgrade_request();
  // Replaces a reused lower transport the server ended before answering; false when that is not
  // the case (or was done already), and the failure stands.
  bool redial_once();
  void process_input();
  bool take_handshake_answer();
  void deliver();
  void become_open();
  void send_data(ByteChain& data);
  void send_close_frame(uint16_t code);
  void send_owed_pong();
  void begin_lower_close();
  void fail(Error error);

  WsRole role_;
  Random& rng_;
  std::unique_ptr<WsCodec> codec_;
  Phase phase_ = Phase::created;
  uint64_t close_timeout_ms_;
  Timer handshake_timer_;
  Timer close_timer_;

  // client handshake
  WsClientOptions client_options_;
  std::string key_;
  HttpHeadProgress head_progress_;  // resumes the head scan: answers may arrive a byte at a time
  bool answer_started_ = false;     // a byte came from the lower transport before we were open

  // server
  bool reply_to_close_ = false;
  std::function<Error(const WsFrameInfo&)> frame_hook_;
  Error killed_;  // what frame_hook_ refused

  // receiving
  ByteChain in_;  // from the lower transport, not decoded yet
  ByteChain rx_;  // decoded payload not yet consumed by our sink (offered again)
  bool lower_eof_ = false;
  bool peer_ended_ = false;  // Close frame received, or lower EOF
  bool close_received_ = false;
  bool end_told_ = false;
  uint16_t peer_close_code_ = kWsCloseNoStatus;
  std::string peer_close_reason_;
  std::function<void(ByteChain&)> pong_handler_;
  std::string owed_pong_;  // the payload of the latest Ping not answered yet
  bool pong_owed_ = false;

  // sending
  // write_queue(): written before the handshake finished.
  bool pre_open_end_ = false;
  bool close_frame_sent_ = false;
  bool user_closed_ = false;  // close(Flush) called: emit nothing more
};

}  // namespace pvb
