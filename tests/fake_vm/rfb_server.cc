#include "tests/fake_vm/rfb_server.h"

#include <algorithm>
#include <string>

#include "engine/rfb/vnc_auth.h"

namespace pvb {
namespace {

// QEMU sends this for a wrong and for an expired password alike.
constexpr std::string_view kAuthFailed = "Authentication failed";

std::shared_ptr<FakeScreen> make_screen(const RfbServerOptions& o) {
  if (o.screen) return o.screen;
  auto screen = std::make_shared<FakeScreen>(o.width, o.height, o.desktop_name, o.tick_ms);
  if (o.freeze_at) screen->freeze(*o.freeze_at);
  return screen;
}

bool same_bytes(const uint8_t* a, const uint8_t* b, size_t n) {
  // Constant time, as a real server should compare authentication responses.
  uint8_t diff = 0;
  for (size_t i = 0; i < n; ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

RfbServer::RfbServer(std::unique_ptr<Transport> transport, RfbServerOptions options, Random& random)
    : RfbServer(*transport, std::move(options), random) {
  owned_ = std::move(transport);
}

RfbServer::RfbServer(Transport& transport, RfbServerOptions options, Random& random)
    : transport_(&transport),
      options_(std::move(options)),
      random_(random),
      screen_(make_screen(options_)),
      client_width_(screen_->width()),
      client_height_(screen_->height()),
      client_size_generation_(screen_->size_generation()),
      version_(options_.version),
      security_type_(options_.vnc_auth ? rfb::kSecurityVncAuth : rfb::kSecurityNone) {}

RfbServer::~RfbServer() {
  if (transport_->sink() == this) transport_->set_sink(nullptr);
}

void RfbServer::start() {
  transport_->set_sink(this);
  if (owned_) owned_->start();
  // The server speaks first; writes made before the transport connects are queued.
  std::string_view v = rfb_version_string(options_.version);
  ByteChain out;
  out.append_header(v.data(), v.size());
  send(out);
}

void RfbServer::close() {
  fail(Error());
}

void RfbServer::on_data(ByteChain& data, bool end_stream) {
  if (closing_ || state_ == State::closed) {
    data.clear();
    return;
  }
  inbox_.move_from(data);
  if (end_stream) peer_ended_ = true;
  process_input();
}

void RfbServer::on_write_low() {
  resume_input();
}

void RfbServer::on_closed(const Error& error) {
  state_ = State::closed;
  closing_ = true;
  incremental_timer_.reset();
  inbox_.clear();
  Error why = close_reason_.failed() ? close_reason_ : error;
  // Last thing we do: the callback may arrange for our deletion.
  if (auto cb = on_closed_) cb(why);
}

// --- input loop ---------------------------------------------------------------------------------

void RfbServer::process_input() {
  while (!closing_ && !inbox_.empty()) {
    if (output_blocked()) {
      wait_for_output();
      return;
    }
    bool progressed = false;
    switch (state_) {
      case State::version:
        progressed = handle_version(inbox_);
        break;
      case State::security_choice:
        progressed = handle_security_choice(inbox_);
        break;
      case State::auth_response:
        progressed = handle_auth_response(inbox_);
        break;
      case State::client_init:
        progressed = handle_client_init(inbox_);
        break;
      case State::running:
        progressed = handle_message(inbox_);
        break;
      case State::closed:
        break;
    }
    if (!progressed) break;
  }
  if (peer_ended_ && !closing_) end_of_input();
}

bool RfbServer::output_blocked() const {
  return transport_->pending_write_bytes() > transport_->write_high_mark();
}

void RfbServer::wait_for_output() {
  if (!input_paused_) {
    input_paused_ = true;
    transport_->read_disable(true);
  }
  // on_write_high is posted by the transport and on_write_low only follows a fired high, so if
  // the backlog drains before the transport's own check runs, no event would wake us. Our check
  // is posted after the transport's (same loop, FIFO), so it sees the outcome of that check.
  if (recheck_posted_) return;
  recheck_posted_ = true;
  transport_->loop().post([this, weak = alive_.weak()] {
    if (weak.expired()) return;
    recheck_posted_ = false;
    if (!closing_ && !transport_->above_write_high()) resume_input();
  });
}

void RfbServer::resume_input() {
  if (input_paused_) {
    input_paused_ = false;
    transport_->read_disable(false);
  }
  process_input();
}

void RfbServer::end_of_input() {
  if (state_ == State::running) {
    fail(Error());  // the viewer went away: a normal end
  } else {
    fail(Error(Errc::connection_lost, "RFB: client closed the connection during the handshake"));
  }
}

void RfbServer::fail(Error error) {
  if (closing_) return;
  closing_ = true;
  close_reason_ = std::move(error);
  incremental_timer_.reset();
  pending_incremental_.reset();
  inbox_.clear();
  if (input_paused_) {
    input_paused_ = false;
    transport_->read_disable(false);
  }
  transport_->close(CloseMode::Flush);
}

void RfbServer::send(ByteChain& out) {
  if (closing_) return;
  transport_->write(out);
}

// --- handshake ----------------------------------------------------------------------------------

bool RfbServer::handle_version(ByteChain& in) {
  if (in.size() < kRfbVersionLength) return false;
  char text[kRfbVersionLength];
  take_bytes(in, reinterpret_cast<uint8_t*>(text), sizeof text);
  std::optional<RfbVersion> client = parse_rfb_version(std::string_view(text, sizeof text));
  if (!client) {
    fail(Error(Errc::protocol, "RFB: bad ProtocolVersion from the client"));
    return true;
  }
  version_ = std::min(*client, options_.version);
  ByteChain out;
  if (version_ == RfbVersion::v3_3) {
    // 3.3: the server decides and sends the type as a u32; there is no choice message.
    uint8_t type[4];
    put_u32(type, security_type_);
    out.append_header(type, sizeof type);
    send(out);
    if (security_type_ == rfb::kSecurityVncAuth) {
      send_challenge();
      state_ = State::auth_response;
    } else {
      enter_authenticated();  // no SecurityResult for None before 3.8
    }
    return true;
  }
  const uint8_t types[2] = {1, security_type_};
  out.append_header(types, sizeof types);
  send(out);
  state_ = State::security_choice;
  return true;
}

bool RfbServer::handle_security_choice(ByteChain& in) {
  uint8_t chosen;
  take_bytes(in, &chosen, 1);
  if (chosen != security_type_) {
    reject("Unsupported security type",
           Error(Errc::protocol,
                 "RFB: client chose security type " + std::to_string(chosen) + ", not offered"));
    return true;
  }
  if (security_type_ == rfb::kSecurityVncAuth) {
    send_challenge();
    state_ = State::auth_response;
    return true;
  }
  if (version_ == RfbVersion::v3_8) send_security_result_ok();  // 3.7 sends none for None
  enter_authenticated();
  return true;
}

void RfbServer::send_challenge() {
  random_.fill(challenge_, sizeof challenge_);
  ByteChain out;
  out.append_header(challenge_, sizeof challenge_);
  send(out);
}

bool RfbServer::handle_auth_response(ByteChain& in) {
  if (in.size() < rfb::kChallengeLength) return false;
  uint8_t response[rfb::kChallengeLength];
  take_bytes(in, response, sizeof response);
  // Asked now, not at connect time: a password may expire while the client thinks.
  std::optional<std::string> password = options_.password ? options_.password() : std::nullopt;
  if (!password) {
    reject(kAuthFailed, Error(Errc::auth, "RFB: the VNC password has expired (or none is set)"));
    return true;
  }
  std::array<uint8_t, 16> expected =
      vnc_auth_response(*password, std::span<const uint8_t, 16>(challenge_));
  if (!same_bytes(expected.data(), response, expected.size())) {
    reject(kAuthFailed, Error(Errc::auth, "RFB: wrong VNC password"));
    return true;
  }
  send_security_result_ok();
  enter_authenticated();
  return true;
}

void RfbServer::send_security_result_ok() {
  uint8_t ok[4];
  put_u32(ok, 0);
  ByteChain out;
  out.append_header(ok, sizeof ok);
  send(out);
}

void RfbServer::reject(std::string_view reason, Error why) {
  ByteChain out;
  uint8_t failed[4];
  put_u32(failed, 1);
  out.append_header(failed, sizeof failed);
  if (version_ == RfbVersion::v3_8) {
    uint8_t length[4];
    put_u32(length, static_cast<uint32_t>(reason.size()));
    out.append_header(length, sizeof length);
    out.append_header(reason.data(), reason.size());
  }
  send(out);
  fail(std::move(why));  // a flushed close: the result reaches the client first
}

void RfbServer::enter_authenticated() {
  authenticated_ = true;
  state_ = State::client_init;
  if (on_authenticated_) on_authenticated_();
}

bool RfbServer::handle_client_init(ByteChain& in) {
  uint8_t shared;
  take_bytes(in, &shared, 1);
  shared_ = shared != 0;
  send_server_init();
  state_ = State::running;
  return true;
}

void RfbServer::send_server_init() {
  const std::string& name = options_.desktop_name;
  uint8_t head[4 + PixelFormat::kWireLength + 4];
  client_width_ = screen_->width();
  client_height_ = screen_->height();
  client_size_generation_ = screen_->size_generation();
  put_u16(head, client_width_);
  put_u16(head + 2, client_height_);
  PixelFormat::rgb888().write(head + 4);
  put_u32(head + 4 + PixelFormat::kWireLength, static_cast<uint32_t>(name.size()));
  ByteChain out;
  out.append_header(head, sizeof head);
  out.append_header(name.data(), name.size());
  send(out);
}

// --- client messages ----------------------------------------------------------------------------

bool RfbServer::handle_message(ByteChain& in) {
  if (cut_text_left_ > 0) {
    size_t n = std::min<size_t>(in.size(), cut_text_left_);
    in.drain(n);
    cut_text_left_ -= static_cast<uint32_t>(n);
    return n > 0;
  }
  switch (in.at(0)) {
    case rfb::kSetPixelFormat:
      return handle_set_pixel_format(in);
    case rfb::kSetEncodings:
      return handle_set_encodings(in);
    case rfb::kFramebufferUpdateRequest:
      return handle_update_request(in);
    case rfb::kKeyEvent:
      return handle_key_event(in);
    case rfb::kPointerEvent:
      return handle_pointer_event(in);
    case rfb::kClientCutText:
      return handle_cut_text(in);
    case rfb::kSetDesktopSize:
      if (extended_desktop_size_) return handle_set_desktop_size(in);
      [[fallthrough]];
    default:
      fail(Error(Errc::protocol,
                 "RFB: unknown client message type " + std::to_string(int{in.at(0)})));
      return true;
  }
}

bool RfbServer::handle_set_pixel_format(ByteChain& in) {
  uint8_t msg[4 + PixelFormat::kWireLength];
  if (in.size() < sizeof msg) return false;
  take_bytes(in, msg, sizeof msg);
  PixelFormat format = PixelFormat::read(msg + 4);
  if (std::optional<std::string> why = format.unsupported_reason()) {
    fail(Error(Errc::protocol, "RFB: unsupported pixel format: " + *why));
    return true;
  }
  format_ = format;
  encoder_.set_pixel_format(format);
  return true;
}

bool RfbServer::handle_set_encodings(ByteChain& in) {
  uint8_t head[4];
  if (in.size() < sizeof head) return false;
  peek_bytes(in, head, sizeof head);
  const size_t count = get_u16(head + 2);  // a u16: at most 256 KiB of message
  if (in.size() < sizeof head + 4 * count) return false;
  in.drain(sizeof head);
  encodings_.clear();
  for (size_t i = 0; i < count; ++i) {
    uint8_t e[4];
    take_bytes(in, e, sizeof e);
    encodings_.push_back(static_cast<int32_t>(get_u32(e)));
  }
  encoder_.set_client_encodings(encodings_);
  desktop_size_ =
      std::find(encodings_.begin(), encodings_.end(), rfb::kPseudoDesktopSize) != encodings_.end();
  wmvi_ = std::find(encodings_.begin(), encodings_.end(), rfb::kPseudoVmwareDisplayModeChange) !=
          encodings_.end();
  extended_desktop_size_ = std::find(encodings_.begin(), encodings_.end(),
                                     rfb::kPseudoExtendedDesktopSize) != encodings_.end();
  return true;
}

bool RfbServer::handle_update_request(ByteChain& in) {
  uint8_t msg[10];
  if (in.size() < sizeof msg) return false;
  take_bytes(in, msg, sizeof msg);
  ++counters_.update_requests;
  const bool incremental = msg[1] != 0;
  // Clip to the screen: viewers may ask for more than there is. (send_update clips again to
  // what the screen is when the update goes out.)
  const uint16_t fw = std::min(client_width_, screen_->width());
  const uint16_t fh = std::min(client_height_, screen_->height());
  Rect r;
  r.x = std::min(get_u16(msg + 2), fw);
  r.y = std::min(get_u16(msg + 4), fh);
  r.w = std::min<uint16_t>(get_u16(msg + 6), fw - r.x);
  r.h = std::min<uint16_t>(get_u16(msg + 8), fh - r.y);
  if (!incremental || options_.incremental_delay_ms == 0) {
    send_update(r);
    return true;
  }
  // Nothing ever changes on this screen: answer a poll later, merging polls that pile up.
  if (pending_incremental_) {
    Rect& p = *pending_incremental_;
    const uint16_t x1 = std::max(p.x + p.w, r.x + r.w), y1 = std::max(p.y + p.h, r.y + r.h);
    p.x = std::min(p.x, r.x);
    p.y = std::min(p.y, r.y);
    p.w = static_cast<uint16_t>(x1 - p.x);
    p.h = static_cast<uint16_t>(y1 - p.y);
  } else {
    pending_incremental_ = r;
  }
  if (!incremental_timer_) incremental_timer_ = std::make_unique<Timer>(transport_->loop());
  if (!incremental_timer_->active()) {
    incremental_timer_->start(options_.incremental_delay_ms, [this] {
      if (closing_ || !pending_incremental_) return;
      Rect due = *pending_incremental_;
      pending_incremental_.reset();
      send_update(due);
    });
  }
  return true;
}

void RfbServer::send_update(Rect r) {
  screen_->refresh(transport_->loop().now_ms());
  if (screen_->size_generation() != client_size_generation_ &&
      (extended_desktop_size_ || desktop_size_)) {
    // The screen changed size (a guest's display mode switch). As QEMU's vnc_dpy_switch does:
    // WMVi with the server's own pixel format (when announced; the client's SetPixelFormat no
    // longer holds), then the new size, each in an update of its own, then all of the screen.
    client_size_generation_ = screen_->size_generation();
    client_width_ = screen_->width();
    client_height_ = screen_->height();
    const ScreenRect whole{0, 0, client_width_, client_height_};
    if (wmvi_) {
      ByteChain wmvi;
      uint8_t head[4] = {rfb::kFramebufferUpdate, 0, 0, 1};
      wmvi.append_header(head, sizeof head);
      append_rect_header(wmvi, whole, rfb::kPseudoVmwareDisplayModeChange);
      uint8_t pf[PixelFormat::kWireLength];
      PixelFormat::rgb888().write(pf);
      wmvi.append_header(pf, sizeof pf);
      send(wmvi);
      format_ = PixelFormat::rgb888();
      encoder_.set_pixel_format(format_);
      ++counters_.wmvi_rects;
    }
    ByteChain size;
    uint8_t head[4] = {rfb::kFramebufferUpdate, 0, 0, 1};
    size.append_header(head, sizeof head);
    if (extended_desktop_size_) {
      append_extended_desktop_size(size, 0, 0);  // reason: the server changed it
    } else {
      append_rect_header(size, whole, rfb::kPseudoDesktopSize);
    }
    send(size);
    ++counters_.desktop_size_rects;
    r = Rect{0, 0, client_width_, client_height_};
  }
  ByteChain rects;
  size_t count = 0;
  // Clip to the screen as it is and as the client knows it.
  const uint16_t fw = std::min(client_width_, screen_->width());
  const uint16_t fh = std::min(client_height_, screen_->height());
  r.x = std::min(r.x, fw);
  r.y = std::min(r.y, fh);
  r.w = std::min<uint16_t>(r.w, static_cast<uint16_t>(fw - r.x));
  r.h = std::min<uint16_t>(r.h, static_cast<uint16_t>(fh - r.y));
  count += encoder_.encode(screen_->framebuffer(), ScreenRect{r.x, r.y, r.w, r.h}, rects);
  uint8_t head[4] = {rfb::kFramebufferUpdate, 0, 0, 0};
  put_u16(head + 2, static_cast<uint16_t>(count));
  ByteChain out;
  out.append_header(head, sizeof head);
  out.move_from(rects);
  ++counters_.updates_sent;
  send(out);
}

void RfbServer::append_extended_desktop_size(ByteChain& out, uint16_t reason, uint16_t status) {
  append_rect_header(out, ScreenRect{reason, status, screen_->width(), screen_->height()},
                     rfb::kPseudoExtendedDesktopSize);
  uint8_t body[4 + 16] = {1, 0, 0, 0};  // one screen
  // Its id: 1, not 0 (QEMU's), because libvncclient 0.9.14 ignores a layout whose screen id is
  // 0 and then fails on the first rectangle outside the old size.
  put_u32(body + 4, 1);
  put_u16(body + 8, 0);
  put_u16(body + 10, 0);
  put_u16(body + 12, screen_->width());
  put_u16(body + 14, screen_->height());
  put_u32(body + 16, 0);  // flags
  out.append_header(body, sizeof body);
}

bool RfbServer::handle_set_desktop_size(ByteChain& in) {
  uint8_t head[8];
  if (in.size() < sizeof head) return false;
  peek_bytes(in, head, sizeof head);
  const size_t length = sizeof head + size_t{head[6]} * 16;
  if (in.size() < length) return false;
  in.drain(length);
  ++counters_.set_desktop_size_requests;
  // A guest decides its own resolution: refuse (status 1, "prohibited"), as QEMU does for a
  // display that cannot follow. The reply reports the size as it stays.
  ByteChain out;
  uint8_t update[4] = {rfb::kFramebufferUpdate, 0, 0, 1};
  out.append_header(update, sizeof update);
  append_extended_desktop_size(out, 1, 1);
  send(out);
  return true;
}

bool RfbServer::handle_key_event(ByteChain& in) {
  uint8_t msg[8];
  if (in.size() < sizeof msg) return false;
  take_bytes(in, msg, sizeof msg);
  ++counters_.key_events;
  counters_.last_key_down = msg[1] != 0;
  counters_.last_key = get_u32(msg + 4);
  if (options_.on_key) options_.on_key(counters_.last_key, counters_.last_key_down);
  return true;
}

bool RfbServer::handle_pointer_event(ByteChain& in) {
  uint8_t msg[6];
  if (in.size() < sizeof msg) return false;
  take_bytes(in, msg, sizeof msg);
  ++counters_.pointer_events;
  counters_.last_buttons = msg[1];
  counters_.last_pointer_x = get_u16(msg + 2);
  counters_.last_pointer_y = get_u16(msg + 4);
  return true;
}

bool RfbServer::handle_cut_text(ByteChain& in) {
  uint8_t msg[8];
  if (in.size() < sizeof msg) return false;
  peek_bytes(in, msg, sizeof msg);
  const uint32_t length = get_u32(msg + 4);
  if (length > options_.max_cut_text) {
    fail(Error(Errc::too_large, "RFB: ClientCutText of " + std::to_string(length) +
                                    " bytes exceeds the limit of " +
                                    std::to_string(options_.max_cut_text)));
    return true;
  }
  in.drain(sizeof msg);
  // The text itself is skipped as it arrives (handle_message), never buffered whole.
  cut_text_left_ = length;
  counters_.cut_text_bytes += length;
  return true;
}

}  // namespace pvb
