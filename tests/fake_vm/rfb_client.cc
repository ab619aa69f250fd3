#include "tests/fake_vm/rfb_client.h"

#include <algorithm>
#include <string>

#include "engine/rfb/vnc_auth.h"

namespace pvb {

RfbTestClient::RfbTestClient(std::unique_ptr<Transport> transport, RfbClientOptions options,
                             DoneCallback done)
    : RfbTestClient(*transport, std::move(options), std::move(done)) {
  owned_ = std::move(transport);
}

RfbTestClient::RfbTestClient(Transport& transport, RfbClientOptions options, DoneCallback done)
    : transport_(&transport), options_(std::move(options)), done_(std::move(done)) {}

RfbTestClient::~RfbTestClient() {
  if (transport_->sink() == this) transport_->set_sink(nullptr);
}

void RfbTestClient::start() {
  transport_->set_sink(this);
  if (owned_) owned_->start();
}

void RfbTestClient::close() {
  if (closing_) return;
  closing_ = true;
  transport_->close(CloseMode::Flush);
  if (!done_called_) complete(Error(Errc::connection_lost, "RFB: closed before the first update"));
}

// --- input
// ----------------------------------------------------------------------------------------

bool RfbTestClient::send_key(uint32_t keysym, bool down) {
  if (!ready()) return false;
  uint8_t msg[8] = {rfb::kKeyEvent, static_cast<uint8_t>(down ? 1 : 0), 0, 0};
  put_u32(msg + 4, keysym);
  ByteChain out;
  out.append_header(msg, sizeof msg);
  send(out);
  return true;
}

bool RfbTestClient::send_pointer(uint16_t x, uint16_t y, uint8_t buttons) {
  if (!ready()) return false;
  uint8_t msg[6] = {rfb::kPointerEvent, buttons};
  put_u16(msg + 2, x);
  put_u16(msg + 4, y);
  ByteChain out;
  out.append_header(msg, sizeof msg);
  send(out);
  return true;
}

bool RfbTestClient::request_update(bool incremental) {
  if (!ready()) return false;
  uint8_t msg[10] = {rfb::kFramebufferUpdateRequest, static_cast<uint8_t>(incremental ? 1 : 0)};
  put_u16(msg + 2, 0);
  put_u16(msg + 4, 0);
  put_u16(msg + 6, screen_.width);
  put_u16(msg + 8, screen_.height);
  ByteChain out;
  out.append_header(msg, sizeof msg);
  send(out);
  return true;
}

void RfbTestClient::send(ByteChain& out) {
  if (closing_) return;
  transport_->write(out);
}

// --- transport events
// -----------------------------------------------------------------------------

void RfbTestClient::on_data(ByteChain& data, bool end_stream) {
  if (closing_ || state_ == State::closed) {
    data.clear();
    return;
  }
  inbox_.move_from(data);
  while (!closing_ && !inbox_.empty() && step(inbox_)) {
  }
  if (end_stream && !closing_) {
    fail(Error(Errc::connection_lost, done_called_
                                          ? "RFB: the server closed the connection"
                                          : "RFB: the server closed the connection before the "
                                            "first screen update"));
  }
}

void RfbTestClient::on_closed(const Error& error) {
  state_ = State::closed;
  closing_ = true;
  inbox_.clear();
  Error why = close_reason_.failed() ? close_reason_ : error;
  if (!done_called_) {
    complete(why.failed() ? why
                          : Error(Errc::connection_lost, "RFB: closed before the first update"));
  }
  if (auto cb = on_closed_) cb(why);
}

void RfbTestClient::fail(Error error) {
  if (closing_) return;
  closing_ = true;
  close_reason_ = error;
  inbox_.clear();
  transport_->close(CloseMode::Flush);
  if (!done_called_) complete(std::move(error));
}

void RfbTestClient::complete(Result<RfbSnapshot> result) {
  if (done_called_) return;
  done_called_ = true;
  if (done_) done_(std::move(result));
}

// --- handshake
// ------------------------------------------------------------------------------------

bool RfbTestClient::step(ByteChain& in) {
  switch (state_) {
    case State::version:
      return handle_version(in);
    case State::security_types:
      return handle_security_types(in);
    case State::security_33:
      return handle_security_33(in);
    case State::failure_reason:
      return handle_failure_reason(in);
    case State::challenge:
      return handle_challenge(in);
    case State::security_result:
      return handle_security_result(in);
    case State::server_init:
      return handle_server_init(in);
    case State::running:
      return handle_message(in);
    case State::closed:
      return false;
  }
  return false;
}

bool RfbTestClient::handle_version(ByteChain& in) {
  if (in.size() < kRfbVersionLength) return false;
  char text[kRfbVersionLength];
  take_bytes(in, reinterpret_cast<uint8_t*>(text), sizeof text);
  std::optional<RfbVersion> offered = parse_rfb_version(std::string_view(text, sizeof text));
  if (!offered) {
    fail(Error(Errc::protocol, "RFB: the server did not send a ProtocolVersion (is it VNC?)"));
    return true;
  }
  version_ = std::min(*offered, options_.max_version);
  std::string_view answer = rfb_version_string(version_);
  ByteChain out;
  out.append_header(answer.data(), answer.size());
  send(out);
  state_ = version_ == RfbVersion::v3_3 ? State::security_33 : State::security_types;
  return true;
}

bool RfbTestClient::handle_security_types(ByteChain& in) {
  const size_t count = in.at(0);
  if (count == 0) {
    in.drain(1);
    failure_code_ = Errc::protocol;
    failure_what_ = "the server refused the connection";
    state_ = State::failure_reason;
    return true;
  }
  if (in.size() < 1 + count) return false;
  uint8_t types[256];
  take_bytes(in, types, 1 + count);
  const uint8_t* offered = types + 1;
  auto has = [&](uint8_t t) { return std::find(offered, offered + count, t) != offered + count; };
  uint8_t choice = rfb::kSecurityInvalid;
  if (has(rfb::kSecurityVncAuth) && !options_.password.empty()) {
    choice = rfb::kSecurityVncAuth;
  } else if (has(rfb::kSecurityNone)) {
    choice = rfb::kSecurityNone;
  } else if (has(rfb::kSecurityVncAuth)) {
    choice = rfb::kSecurityVncAuth;  // an empty password: let the server judge it
  }
  if (choice == rfb::kSecurityInvalid) {
    std::string list;
    for (size_t i = 0; i < count; ++i) list += (i ? "," : "") + std::to_string(offered[i]);
    fail(Error(Errc::protocol, "RFB: no supported security type offered (" + list + ")"));
    return true;
  }
  ByteChain out;
  out.append_header(&choice, 1);
  send(out);
  choose_security(choice);
  return true;
}

bool RfbTestClient::handle_security_33(ByteChain& in) {
  if (in.size() < 4) return false;
  uint8_t type[4];
  take_bytes(in, type, sizeof type);
  const uint32_t chosen = get_u32(type);
  if (chosen == rfb::kSecurityInvalid) {
    failure_code_ = Errc::protocol;
    failure_what_ = "the server refused the connection";
    state_ = State::failure_reason;
  } else if (chosen == rfb::kSecurityNone || chosen == rfb::kSecurityVncAuth) {
    choose_security(static_cast<uint8_t>(chosen));
  } else {
    fail(Error(Errc::protocol, "RFB: unsupported security type " + std::to_string(chosen)));
  }
  return true;
}

void RfbTestClient::choose_security(uint8_t type) {
  security_type_ = type;
  if (type == rfb::kSecurityVncAuth) {
    state_ = State::challenge;
  } else if (version_ == RfbVersion::v3_8) {
    state_ = State::security_result;  // only 3.8 confirms None with a SecurityResult
  } else {
    after_security();
  }
}

bool RfbTestClient::handle_failure_reason(ByteChain& in) {
  if (in.size() < 4) return false;
  uint8_t head[4];
  peek_bytes(in, head, sizeof head);
  const uint32_t length = get_u32(head);
  if (length > options_.max_text) {
    fail(Error(Errc::too_large, "RFB: failure reason of " + std::to_string(length) + " bytes"));
    return true;
  }
  if (in.size() < 4 + size_t{length}) return false;
  in.drain(4);
  std::string reason(length, '\0');
  take_bytes(in, reinterpret_cast<uint8_t*>(reason.data()), length);
  // QEMU counts the C string's terminating NUL in the length.
  while (!reason.empty() && reason.back() == '\0') reason.pop_back();
  fail(Error(failure_code_, "RFB: " + failure_what_ + (reason.empty() ? "" : ": " + reason)));
  return true;
}

bool RfbTestClient::handle_challenge(ByteChain& in) {
  if (in.size() < rfb::kChallengeLength) return false;
  uint8_t challenge[rfb::kChallengeLength];
  take_bytes(in, challenge, sizeof challenge);
  std::array<uint8_t, 16> response =
      vnc_auth_response(options_.password, std::span<const uint8_t, 16>(challenge));
  ByteChain out;
  out.append_header(response.data(), response.size());
  send(out);
  state_ = State::security_result;
  return true;
}

bool RfbTestClient::handle_security_result(ByteChain& in) {
  if (in.size() < 4) return false;
  uint8_t result[4];
  take_bytes(in, result, sizeof result);
  if (get_u32(result) == 0) {
    after_security();
    return true;
  }
  if (version_ == RfbVersion::v3_8) {
    failure_code_ = Errc::auth;
    failure_what_ = "authentication failed";
    state_ = State::failure_reason;
  } else {
    fail(Error(Errc::auth, "RFB: authentication failed"));
  }
  return true;
}

void RfbTestClient::after_security() {
  const uint8_t shared = options_.shared ? 1 : 0;
  ByteChain out;
  out.append_header(&shared, 1);
  send(out);
  state_ = State::server_init;
}

bool RfbTestClient::handle_server_init(ByteChain& in) {
  uint8_t head[4 + PixelFormat::kWireLength + 4];
  if (in.size() < sizeof head) return false;
  peek_bytes(in, head, sizeof head);
  const uint32_t name_length = get_u32(head + 4 + PixelFormat::kWireLength);
  if (name_length > options_.max_text) {
    fail(Error(Errc::too_large, "RFB: desktop name of " + std::to_string(name_length) + " bytes"));
    return true;
  }
  if (in.size() < sizeof head + name_length) return false;
  in.drain(sizeof head);
  const uint16_t width = get_u16(head), height = get_u16(head + 2);
  if (uint64_t{width} * height > options_.max_pixels) {
    fail(Error(Errc::too_large, "RFB: screen of " + std::to_string(width) + "x" +
                                    std::to_string(height) + " is larger than the limit"));
    return true;
  }
  screen_.width = width;
  screen_.height = height;
  screen_.name.assign(name_length, '\0');
  take_bytes(in, reinterpret_cast<uint8_t*>(screen_.name.data()), name_length);
  screen_.pixels.assign(size_t{width} * height * 4, 0);
  state_ = State::running;
  send_initial_requests();
  return true;
}

void RfbTestClient::send_initial_requests() {
  // The server's own format may differ (16 bpp, big-endian): ask for the one RfbSnapshot holds.
  uint8_t set_format[4 + PixelFormat::kWireLength] = {rfb::kSetPixelFormat};
  PixelFormat::rgb888().write(set_format + 4);
  uint8_t set_encodings[8] = {rfb::kSetEncodings, 0};
  put_u16(set_encodings + 2, 1);
  put_u32(set_encodings + 4, static_cast<uint32_t>(rfb::kEncodingRaw));
  uint8_t request[10] = {rfb::kFramebufferUpdateRequest, 0};
  put_u16(request + 6, screen_.width);
  put_u16(request + 8, screen_.height);
  ByteChain out;
  out.append_header(set_format, sizeof set_format);
  out.append_header(set_encodings, sizeof set_encodings);
  out.append_header(request, sizeof request);
  send(out);
}

// --- server messages
// ------------------------------------------------------------------------------

bool RfbTestClient::handle_message(ByteChain& in) {
  if (in_update_) return in_rect_pixels_ ? handle_rect_pixels(in) : handle_rect_header(in);
  if (skip_left_ > 0) {
    size_t n = std::min<size_t>(in.size(), skip_left_);
    in.drain(n);
    skip_left_ -= static_cast<uint32_t>(n);
    return n > 0;
  }
  switch (in.at(0)) {
    case rfb::kFramebufferUpdate:
      return handle_update_header(in);
    case rfb::kSetColourMapEntries:
      return handle_colour_map(in);
    case rfb::kBell:
      in.drain(1);
      ++bells_;
      return true;
    case rfb::kServerCutText:
      return handle_server_cut_text(in);
    default:
      fail(Error(Errc::protocol,
                 "RFB: unknown server message type " + std::to_string(int{in.at(0)})));
      return true;
  }
}

bool RfbTestClient::handle_update_header(ByteChain& in) {
  uint8_t head[4];
  if (in.size() < sizeof head) return false;
  take_bytes(in, head, sizeof head);
  rects_left_ = get_u16(head + 2);
  in_update_ = true;
  in_rect_pixels_ = false;
  if (rects_left_ == 0) update_finished();
  return true;
}

bool RfbTestClient::handle_rect_header(ByteChain& in) {
  uint8_t rect[12];
  if (in.size() < sizeof rect) return false;
  take_bytes(in, rect, sizeof rect);
  rect_x_ = get_u16(rect);
  rect_y_ = get_u16(rect + 2);
  rect_w_ = get_u16(rect + 4);
  rect_h_ = get_u16(rect + 6);
  const auto encoding = static_cast<int32_t>(get_u32(rect + 8));
  if (encoding != rfb::kEncodingRaw) {
    fail(Error(Errc::protocol, "RFB: rectangle in encoding " + std::to_string(encoding) +
                                   ", but only Raw was asked for"));
    return true;
  }
  if (rect_x_ + rect_w_ > screen_.width || rect_y_ + rect_h_ > screen_.height) {
    fail(Error(Errc::protocol, "RFB: rectangle outside the screen"));
    return true;
  }
  rect_bytes_done_ = 0;
  in_rect_pixels_ = true;
  if (rect_w_ == 0 || rect_h_ == 0) return handle_rect_pixels(in);
  return true;
}

bool RfbTestClient::handle_rect_pixels(ByteChain& in) {
  const size_t row_bytes = size_t{rect_w_} * 4;
  const size_t total = row_bytes * rect_h_;
  // Straight into the screen, row piece by row piece, as the bytes arrive.
  while (rect_bytes_done_ < total && !in.empty()) {
    const size_t row = rect_bytes_done_ / row_bytes, offset = rect_bytes_done_ % row_bytes;
    const size_t n = std::min(row_bytes - offset, in.size());
    uint8_t* dst = screen_.pixels.data() + ((rect_y_ + row) * screen_.width + rect_x_) * 4 + offset;
    take_bytes(in, dst, n);
    rect_bytes_done_ += n;
  }
  if (rect_bytes_done_ == total) {
    in_rect_pixels_ = false;
    if (--rects_left_ == 0) update_finished();
  }
  return true;
}

void RfbTestClient::update_finished() {
  in_update_ = false;
  ++updates_received_;
  if (!done_called_) {
    complete(RfbSnapshot(screen_));
  } else if (on_update_) {
    on_update_();
  }
}

bool RfbTestClient::handle_colour_map(ByteChain& in) {
  uint8_t head[6];
  if (in.size() < sizeof head) return false;
  peek_bytes(in, head, sizeof head);
  const size_t entries = get_u16(head + 4);
  if (in.size() < sizeof head + 6 * entries) return false;
  in.drain(sizeof head + 6 * entries);  // we use true colour: nothing to keep
  return true;
}

bool RfbTestClient::handle_server_cut_text(ByteChain& in) {
  uint8_t head[8];
  if (in.size() < sizeof head) return false;
  peek_bytes(in, head, sizeof head);
  const uint32_t length = get_u32(head + 4);
  if (length > options_.max_text) {
    fail(Error(Errc::too_large, "RFB: ServerCutText of " + std::to_string(length) + " bytes"));
    return true;
  }
  in.drain(sizeof head);
  skip_left_ = length;
  return true;
}

}  // namespace pvb
