// RfbTestClient: a small RFB client for tests, over any Transport. It does what a viewer does
// first — handshake (3.8, or what the server offers below that), VNC Authentication, ClientInit,
// ServerInit, SetPixelFormat 32 bpp, SetEncodings Raw, one full-screen update — and reports the
// screen it received. It can then send key and pointer events and ask for more updates, so a
// test can check what travels through the bridge in both directions.
//
// Lifetime: on_closed is the last callback. To destroy the client from inside one of its own
// callbacks, use Loop::defer_delete.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/transport.h"
#include "tests/fake_vm/rfb_protocol.h"

namespace pvb {

struct RfbSnapshot {
  uint16_t width = 0;
  uint16_t height = 0;
  std::string name;
  // width * height pixels of 4 bytes in PixelFormat::rgb888() (little-endian 0x00RRGGBB, i.e.
  // bytes B, G, R, 0), rows top to bottom.
  std::vector<uint8_t> pixels;
};

struct RfbClientOptions {
  std::string password;  // for VNC Authentication; only the first 8 bytes matter
  // The highest version we answer with; the server's offer may lower it.
  RfbVersion max_version = RfbVersion::v3_8;
  bool shared = true;  // ClientInit's shared-flag
  // Limits on what the server may make us hold.
  uint32_t max_pixels = 4096 * 4096;
  uint32_t max_text = 1 << 20;  // desktop name, failure reasons, ServerCutText
};

class RfbTestClient : public TransportSink {
 public:
  // Called once: with the first complete full-screen update, or with why there was none —
  // Errc::auth (with the server's reason in 3.8), Errc::protocol, Errc::too_large,
  // Errc::connection_lost, or the transport's error.
  using DoneCallback = std::function<void(Result<RfbSnapshot>)>;

  // Owns the transport; start() starts it.
  RfbTestClient(std::unique_ptr<Transport> transport, RfbClientOptions options, DoneCallback done);
  // Attaches to a transport owned elsewhere (which must outlive this client); start() does not
  // start it.
  RfbTestClient(Transport& transport, RfbClientOptions options, DoneCallback done);
  ~RfbTestClient() override;
  RfbTestClient(const RfbTestClient&) = delete;
  RfbTestClient& operator=(const RfbTestClient&) = delete;

  void start();
  // Flushes what is queued, then closes.
  void close();

  // Input, once the first update has arrived (false before that, or after the end).
  bool send_key(uint32_t keysym, bool down);
  bool send_pointer(uint16_t x, uint16_t y, uint8_t buttons);
  // Asks for the whole screen again; on_update fires when it has arrived.
  bool request_update(bool incremental);

  // Each completed FramebufferUpdate after the first.
  void set_on_update(std::function<void()> cb) { on_update_ = std::move(cb); }
  // Exactly once, last: ok() when we closed, otherwise why the connection ended.
  void set_on_closed(std::function<void(const Error&)> cb) { on_closed_ = std::move(cb); }

  bool ready() const { return state_ == State::running && done_called_ && !closing_; }
  RfbVersion negotiated_version() const { return version_; }
  uint8_t security_type() const { return security_type_; }
  // The screen as received so far (complete after the done callback).
  const RfbSnapshot& screen() const { return screen_; }
  uint64_t updates_received() const { return updates_received_; }
  uint64_t bells() const { return bells_; }

  // TransportSink
  void on_data(ByteChain& data, bool end_stream) override;
  void on_closed(const Error& error) override;

 private:
  enum class State {
    version,
    security_types,  // 3.7+: the list (or a failure reason)
    security_33,     // 3.3: the server's u32 choice
    failure_reason,  // a refusal or a failed 3.8 SecurityResult: the reason string follows
    challenge,
    security_result,
    server_init,
    running,
    closed,
  };

  bool step(ByteChain& in);
  bool handle_version(ByteChain& in);
  bool handle_security_types(ByteChain& in);
  bool handle_security_33(ByteChain& in);
  bool handle_failure_reason(ByteChain& in);
  bool handle_challenge(ByteChain& in);
  bool handle_security_result(ByteChain& in);
  bool handle_server_init(ByteChain& in);
  bool handle_message(ByteChain& in);
  bool handle_update_header(ByteChain& in);
  bool handle_rect_header(ByteChain& in);
  bool handle_rect_pixels(ByteChain& in);
  bool handle_colour_map(ByteChain& in);
  bool handle_server_cut_text(ByteChain& in);

  void choose_security(uint8_t type);
  void after_security();
  void send_initial_requests();
  void update_finished();
  void send(ByteChain& out);
  void fail(Error error);
  void complete(Result<RfbSnapshot> result);

  std::unique_ptr<Transport> owned_;
  Transport* transport_;
  RfbClientOptions options_;
  DoneCallback done_;

  State state_ = State::version;
  RfbVersion version_ = RfbVersion::v3_8;
  uint8_t security_type_ = rfb::kSecurityInvalid;
  bool done_called_ = false;
  bool closing_ = false;
  Error close_reason_;
  ByteChain inbox_;
  // What a failure_reason state reports once the reason string has arrived.
  Errc failure_code_ = Errc::protocol;
  std::string failure_what_;

  RfbSnapshot screen_;
  // The FramebufferUpdate being read.
  bool in_update_ = false;
  uint16_t rects_left_ = 0;
  uint16_t rect_x_ = 0, rect_y_ = 0, rect_w_ = 0, rect_h_ = 0;
  size_t rect_bytes_done_ = 0;
  bool in_rect_pixels_ = false;
  uint32_t skip_left_ = 0;  // ServerCutText bytes still to skip
  uint64_t updates_received_ = 0;
  uint64_t bells_ = 0;

  std::function<void()> on_update_;
  std::function<void(const Error&)> on_closed_;
};

}  // namespace pvb
