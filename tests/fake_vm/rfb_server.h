// RfbServer: the fake VM's console, a real RFB 3.8/3.7/3.3 server on one Transport, the way QEMU
// serves a Proxmox guest: VNC Authentication (or None), ServerInit with a 32-bpp true-colour
// screen and the guest's name, then framebuffer updates on request in the client's pixel format
// (SetPixelFormat: any true-colour 8/16/32 bpp format) and in the first encoding of its
// SetEncodings list that we implement (Tight incl. JPEG, ZRLE, Hextile, Zlib, Raw: see
// rect_encoder.h), like QEMU. The screen (fake_screen.h) changes every tick; when its size
// changes, the next update is preceded by a WMVi update (if announced: the pixel format goes
// back to the server's own, as QEMU does on a display mode switch) and an ExtendedDesktopSize or
// DesktopSize update if the client announced one (else updates stay clipped to the size the
// client knows). A
// SetDesktopSize from the client is answered "prohibited". Input events are counted (and key
// events reported) so tests can see what a viewer sent through the bridge.
//
// Malformed input (bad version string, unknown message type, oversized clipboard text, bad pixel
// format) closes the connection; every length read from the wire is bounded.
//
// Lifetime: on_closed is the last callback. To destroy the server from inside one of its own
// callbacks, use Loop::defer_delete.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "engine/io/transport.h"
#include "tests/fake_vm/fake_screen.h"
#include "tests/fake_vm/framebuffer.h"
#include "tests/fake_vm/rect_encoder.h"
#include "tests/fake_vm/rfb_protocol.h"

namespace pvb {

// The current VNC password, or nullopt when it has expired (QEMU's set_password ... expire).
// Asked once per authentication attempt, when the client's response arrives, like QEMU.
using VncPasswordProvider = std::function<std::optional<std::string>()>;

struct RfbServerOptions {
  // The highest version we offer; a client may pick a lower one.
  RfbVersion version = RfbVersion::v3_8;
  // true: security type 2 (VNC Authentication) with `password`; false: type 1 (None).
  bool vnc_auth = true;
  VncPasswordProvider password;
  std::string desktop_name = "fake-vm";
  uint16_t width = 640;
  uint16_t height = 480;
  // Largest ClientCutText we accept; longer ones close the connection.
  uint32_t max_cut_text = 1 << 20;
  // Incremental update requests are answered after this delay (0: at once). A real viewer polls
  // with incremental requests; a delay keeps an idle viewer from spinning on a screen that never
  // changes. Non-incremental requests are always answered at once.
  uint32_t incremental_delay_ms = 0;
  // The screen, shared by every connection of one VM (the fake-vm program's sessions; a test
  // that wants to look at or resize it). Null: the server makes its own from width, height,
  // desktop_name, tick_ms and freeze_at.
  std::shared_ptr<FakeScreen> screen;
  uint32_t tick_ms = 1000;
  std::optional<uint64_t> freeze_at;  // a frozen screen showing this tick
  // Every KeyEvent, as it arrives (keysym, down).
  std::function<void(uint32_t, bool)> on_key;
};

// What the client has sent since it connected.
struct RfbInputCounters {
  uint64_t key_events = 0;
  uint64_t pointer_events = 0;
  uint64_t update_requests = 0;
  uint64_t updates_sent = 0;
  uint64_t cut_text_bytes = 0;
  uint64_t desktop_size_rects = 0;  // DesktopSize / ExtendedDesktopSize we sent
  uint64_t wmvi_rects = 0;          // WMVi (VMware display mode change) we sent
  uint64_t set_desktop_size_requests = 0;
  uint32_t last_key = 0;  // keysym
  bool last_key_down = false;
  uint16_t last_pointer_x = 0, last_pointer_y = 0;
  uint8_t last_buttons = 0;
};

class RfbServer : public TransportSink {
 public:
  enum class State { version, security_choice, auth_response, client_init, running, closed };

  // Owns the transport; start() starts it.
  RfbServer(std::unique_ptr<Transport> transport, RfbServerOptions options, Random& random);
  // Attaches to a transport owned elsewhere (which must outlive this server); start() does not
  // start it: the owner has or will.
  RfbServer(Transport& transport, RfbServerOptions options, Random& random);
  ~RfbServer() override;
  RfbServer(const RfbServer&) = delete;
  RfbServer& operator=(const RfbServer&) = delete;

  // Becomes the transport's sink and sends our ProtocolVersion.
  void start();
  // Ends the session: what is queued is still sent, then the transport closes.
  void close();

  // After a successful security handshake (before ClientInit).
  void set_on_authenticated(std::function<void()> cb) { on_authenticated_ = std::move(cb); }
  // Exactly once, last. ok() when the client ended an established session or close() was called;
  // otherwise why: Errc::auth (wrong or expired password), Errc::protocol, Errc::too_large,
  // Errc::connection_lost, or the transport's own error.
  void set_on_closed(std::function<void(const Error&)> cb) { on_closed_ = std::move(cb); }

  State state() const { return state_; }
  bool authenticated() const { return authenticated_; }
  // The version both sides speak; meaningful once the client's ProtocolVersion arrived.
  RfbVersion negotiated_version() const { return version_; }
  bool shared() const { return shared_; }
  const PixelFormat& pixel_format() const { return format_; }
  const std::vector<int32_t>& encodings() const { return encodings_; }
  const RfbInputCounters& counters() const { return counters_; }
  const Framebuffer& framebuffer() const { return screen_->framebuffer(); }
  FakeScreen& screen() { return *screen_; }
  const EncoderStats& encoder_stats() const { return encoder_.stats(); }
  // The encoding our updates use now (from the client's SetEncodings).
  int32_t encoding() const { return encoder_.encoding(); }
  // The next Tight rectangle on each zlib stream resets it (and tells the client so).
  void reset_tight_streams() { encoder_.reset_tight_streams(); }
  Transport& transport() { return *transport_; }

  // TransportSink
  void on_data(ByteChain& data, bool end_stream) override;
  void on_write_low() override;
  void on_closed(const Error& error) override;

 private:
  struct Rect {
    uint16_t x, y, w, h;
  };

  // Handles what the inbox holds, as far as the output backlog allows.
  void process_input();
  bool output_blocked() const;
  // Stops reading until the transport's backlog drains (on_write_low, or the posted re-check).
  void wait_for_output();
  void resume_input();
  void end_of_input();

  // Each handler consumes one whole unit from `in` and returns true, or returns false (consuming
  // nothing) when more bytes are needed.
  bool handle_version(ByteChain& in);
  bool handle_security_choice(ByteChain& in);
  bool handle_auth_response(ByteChain& in);
  bool handle_client_init(ByteChain& in);
  bool handle_message(ByteChain& in);
  bool handle_set_pixel_format(ByteChain& in);
  bool handle_set_encodings(ByteChain& in);
  bool handle_update_request(ByteChain& in);
  bool handle_key_event(ByteChain& in);
  bool handle_pointer_event(ByteChain& in);
  bool handle_cut_text(ByteChain& in);
  bool handle_set_desktop_size(ByteChain& in);
  // An ExtendedDesktopSize rectangle for the current size (reason x, status y).
  void append_extended_desktop_size(ByteChain& out, uint16_t reason, uint16_t status);

  void send_challenge();
  void send_security_result_ok();
  // SecurityResult "failed" (with the reason in 3.8), then close with `why`.
  void reject(std::string_view reason, Error why);
  void enter_authenticated();
  void send_server_init();
  void send_update(Rect requested);
  void send(ByteChain& out);
  // Closes the connection (flushing what is queued) and remembers why for on_closed.
  void fail(Error error);

  std::unique_ptr<Transport> owned_;
  Transport* transport_;
  RfbServerOptions options_;
  Random& random_;
  std::shared_ptr<FakeScreen> screen_;
  RectEncoder encoder_;
  // The screen size the client knows (ServerInit or the last size rectangle we sent it).
  uint16_t client_width_ = 0, client_height_ = 0;
  uint64_t client_size_generation_ = 0;
  // Announced by the client.
  bool desktop_size_ = false, extended_desktop_size_ = false, wmvi_ = false;

  State state_ = State::version;
  RfbVersion version_;
  uint8_t security_type_;
  bool authenticated_ = false;
  bool shared_ = false;
  bool closing_ = false;
  bool peer_ended_ = false;
  bool input_paused_ = false;  // we called read_disable(true) because output is backed up
  bool recheck_posted_ = false;
  ByteChain inbox_;  // received, not yet handled (moved in, no copy)
  Error close_reason_;
  uint8_t challenge_[rfb::kChallengeLength] = {};
  PixelFormat format_;
  std::vector<int32_t> encodings_;
  uint32_t cut_text_left_ = 0;  // bytes of the current ClientCutText still to skip
  RfbInputCounters counters_;

  std::unique_ptr<Timer> incremental_timer_;
  std::optional<Rect> pending_incremental_;

  std::function<void()> on_authenticated_;
  std::function<void(const Error&)> on_closed_;
  AliveToken alive_;
};

}  // namespace pvb
