#include "transports/ws/wslay_codec.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace pvb {

namespace {

bool is_control(uint8_t opcode) {
  return (opcode & 0x8) != 0;
}

// Copies the first n bytes of `in` into dst, without counting them: the caller counts what is
// payload.
void copy_front(const ByteChain& in, uint8_t* dst, size_t n) {
  for (const Slice& s : in.slices()) {
    if (n == 0) break;
    size_t k = std::min(n, s.size());
    std::copy_n(s.data(), k, dst);
    dst += k;
    n -= k;
  }
}

}  // namespace

WslayCodec::WslayCodec(const WsCodecOptions& options, WsCodecSink& sink, Random& rng)
    : sink_(sink),
      rng_(rng),
      frame_payload_(std::clamp<size_t>(options.max_frame_payload, 1, kWsMaxFramePayload)),
      guard_(options.role == WsRole::client ? WsRole::server : WsRole::client,
             options.max_message) {
  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &WslayCodec::recv_cb;
  callbacks.send_callback = &WslayCodec::send_cb;
  callbacks.genmask_callback = &WslayCodec::genmask_cb;
  callbacks.on_frame_recv_start_callback = &WslayCodec::frame_start_cb;
  callbacks.on_frame_recv_chunk_callback = &WslayCodec::frame_chunk_cb;
  callbacks.on_frame_recv_end_callback = &WslayCodec::frame_end_cb;
  callbacks.on_msg_recv_callback = &WslayCodec::msg_cb;

  const bool client = options.role == WsRole::client;
  int r1 = client ? wslay_event_context_client_init(&decoder_, &callbacks, this)
                  : wslay_event_context_server_init(&decoder_, &callbacks, this);
  int r2 = client ? wslay_event_context_client_init(&encoder_, &callbacks, this)
                  : wslay_event_context_server_init(&encoder_, &callbacks, this);
  if (r1 != 0 || r2 != 0) std::abort();  // only WSLAY_ERR_NOMEM: nothing sensible to do

  // Stream data frames through the chunk callback instead of buffering whole messages.
  wslay_event_config_set_no_buffering(decoder_, 1);
  wslay_event_config_set_max_recv_msg_length(decoder_, options.max_message);
  wslay_event_shutdown_write(decoder_);
  wslay_event_shutdown_read(encoder_);
}

WslayCodec::~WslayCodec() {
  wslay_event_context_free(decoder_);
  wslay_event_context_free(encoder_);
}

// --- decoding -------------------------------------------------------------------------------

Error WslayCodec::decode(ByteChain& in) {
  if (dead_.failed()) return dead_;
  if (close_received_) {
    in.clear();  // nothing follows a Close frame
    return Error();
  }
  in_ = &in;
  wslay_event_set_error(decoder_, 0);
  int rv = wslay_event_recv(decoder_);
  in_ = nullptr;

  if (rejected_.failed()) return die(rejected_);
  if (rv != 0) {
    return die(Error(Errc::protocol,
                     "WebSocket: wslay failed to decode (error " + std::to_string(rv) + ")", rv));
  }
  if (!wslay_event_get_read_enabled(decoder_) && !close_received_) {
    return die(describe_wslay_rejection());
  }
  if (!data_.empty()) flush_data(false);
  if (close_received_) in.clear();
  return Error();
}

Error WslayCodec::die(Error error) {
  data_.clear();
  dead_ = std::move(error);
  return dead_;
}

Error WslayCodec::describe_wslay_rejection() const {
  // Every header passed WsFrameGuard, so what wslay refused is in a payload.
  if (last_opcode_ == ws_opcode::kClose) {
    return Error(Errc::protocol,
                 "WebSocket: Close frame with an invalid status code or a reason that is not "
                 "UTF-8");
  }
  if (message_text_ && !is_control(last_opcode_)) {
    return Error(Errc::protocol, "WebSocket: text message that is not valid UTF-8");
  }
  return Error(Errc::protocol,
               "WebSocket: frame rejected by wslay (opcode " + std::to_string(last_opcode_) + ")");
}

// Hands wslay the bytes of one frame at a time, admitting each header first, so wslay never sees
// a header we have not checked.
ssize_t WslayCodec::feed_wslay(uint8_t* buf, size_t len) {
  if (in_ == nullptr || in_->empty()) {
    wslay_event_set_error(decoder_, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (frame_left_ == 0) {
    std::optional<WsFrameHeader> header = peek_ws_frame_header(*in_);
    if (!header) {
      wslay_event_set_error(decoder_, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    Error e = guard_.admit(*header);
    if (e.failed()) {
      rejected_ = std::move(e);
      wslay_event_set_error(decoder_, WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    }
    last_opcode_ = header->info.opcode;
    frame_left_ = header->header_length + header->info.payload_length;
    header_left_ = header->header_length;
    // wslay 1.1.1 checks a Close reason's UTF-8 per received chunk, skipping two bytes of every
    // chunk: hand it control frames (at most 139 bytes) whole, never split.
    control_waiting_ = (header->info.opcode & 0x8) != 0;
    sink_.on_frame_start(header->info);
  }
  if (control_waiting_) {
    if (in_->size() < frame_left_) {
      wslay_event_set_error(decoder_, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    control_waiting_ = false;
  }
  size_t n = std::min<uint64_t>({len, in_->size(), frame_left_});
  copy_front(*in_, buf, n);
  size_t header_part = std::min(n, header_left_);
  header_left_ -= header_part;
  if (n > header_part) count_copy(n - header_part);  // into wslay's receive buffer
  in_->drain(n);
  frame_left_ -= n;
  return static_cast<ssize_t>(n);
}

void WslayCodec::flush_data(bool message_end) {
  sink_.on_message_data(data_, message_text_, message_end);
  data_.clear();
}

void WslayCodec::on_control_message(const wslay_event_on_msg_recv_arg& arg) {
  // Data that came before this control frame goes first.
  if (!data_.empty()) flush_data(false);
  switch (arg.opcode) {
    case ws_opcode::kPing:
    case ws_opcode::kPong: {
      ByteChain payload;
      if (arg.msg_length > 0) payload.append(arg.msg, arg.msg_length);
      if (arg.opcode == ws_opcode::kPing) {
        sink_.on_ping(payload);
      } else {
        sink_.on_pong(payload);
      }
      break;
    }
    case ws_opcode::kClose: {
      close_received_ = true;
      std::string_view reason;
      if (arg.msg_length > 2) {
        reason = std::string_view(reinterpret_cast<const char*>(arg.msg) + 2, arg.msg_length - 2);
      }
      sink_.on_close(arg.status_code == 0 ? kWsCloseNoStatus : arg.status_code, reason);
      break;
    }
    default:
      break;
  }
}

ssize_t WslayCodec::recv_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, int, void* user) {
  return static_cast<WslayCodec*>(user)->feed_wslay(buf, len);
}

void WslayCodec::frame_start_cb(wslay_event_context_ptr,
                                const wslay_event_on_frame_recv_start_arg* arg, void* user) {
  auto* self = static_cast<WslayCodec*>(user);
  self->frame_is_data_ = !is_control(arg->opcode);
  self->frame_fin_ = arg->fin != 0;
  if (arg->opcode == ws_opcode::kText || arg->opcode == ws_opcode::kBinary) {
    self->message_text_ = arg->opcode == ws_opcode::kText;
  }
}

void WslayCodec::frame_chunk_cb(wslay_event_context_ptr,
                                const wslay_event_on_frame_recv_chunk_arg* arg, void* user) {
  auto* self = static_cast<WslayCodec*>(user);
  // Control payloads arrive whole in msg_cb (wslay always buffers those).
  if (self->frame_is_data_ && arg->data_length > 0) {
    self->data_.append(arg->data, arg->data_length);  // out of wslay's buffer (counted)
  }
}

void WslayCodec::frame_end_cb(wslay_event_context_ptr, void* user) {
  auto* self = static_cast<WslayCodec*>(user);
  if (self->frame_is_data_ && self->frame_fin_) self->flush_data(true);
}

void WslayCodec::msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                        void* user) {
  // Data messages were already streamed through the chunk callback.
  if (is_control(arg->opcode)) static_cast<WslayCodec*>(user)->on_control_message(*arg);
}

// --- encoding -------------------------------------------------------------------------------

void WslayCodec::encode_data(ByteChain& payload, ByteChain& out) {
  if (close_encoded_) {
    payload.clear();
    return;
  }
  if (payload.empty()) {
    send_message(ws_opcode::kBinary, nullptr, 0, out);
    return;
  }
  while (!payload.empty()) {
    const size_t n = std::min(frame_payload_, payload.size());
    const uint8_t* p;
    if (payload.front().size() >= n) {
      p = payload.front().data();
    } else {
      // wslay wants the frame's payload contiguous.
      scratch_.resize(n);
      payload.copy_out(scratch_.data(), n);  // counted
      p = scratch_.data();
    }
    send_message(ws_opcode::kBinary, p, n, out);
    payload.drain(n);
  }
}

void WslayCodec::encode_ping(std::span<const uint8_t> payload, ByteChain& out) {
  send_message(ws_opcode::kPing, payload.data(), std::min<size_t>(payload.size(), 125), out);
}

void WslayCodec::encode_pong(std::span<const uint8_t> payload, ByteChain& out) {
  send_message(ws_opcode::kPong, payload.data(), std::min<size_t>(payload.size(), 125), out);
}

void WslayCodec::encode_close(uint16_t code, std::string_view reason, ByteChain& out) {
  if (close_encoded_) return;
  close_encoded_ = true;
  // wslay_event_queue_close, not queue_msg: wslay mishandles a Close payload given to queue_msg.
  if (code == 0 || code == kWsCloseNoStatus) {
    wslay_event_queue_close(encoder_, 0, nullptr, 0);
  } else {
    if (reason.size() > 123) {
      // Cut at 123 bytes, but never inside a UTF-8 character (the peer would reject the Close):
      // while the first byte left out continues a character, cut before that character.
      size_t n = 123;
      while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
      reason = reason.substr(0, n);
    }
    wslay_event_queue_close(encoder_, code, reinterpret_cast<const uint8_t*>(reason.data()),
                            reason.size());
  }
  run_send(out);
}

void WslayCodec::send_message(uint8_t opcode, const uint8_t* data, size_t n, ByteChain& out) {
  if (close_encoded_) return;
  wslay_event_msg msg{opcode, data, n};
  if (wslay_event_queue_msg(encoder_, &msg) != 0) return;
  if (n > 0) count_copy(n);  // queue_msg copies the payload into its own message
  run_send(out);
}

void WslayCodec::run_send(ByteChain& out) {
  out_ = &out;
  expect_header_ = true;
  // The send callback takes everything, so this writes every queued frame into `out`.
  wslay_event_send(encoder_);
  out_ = nullptr;
}

ssize_t WslayCodec::send_cb(wslay_event_context_ptr ctx, const uint8_t* data, size_t len, int,
                            void* user) {
  auto* self = static_cast<WslayCodec*>(user);
  if (self->out_ == nullptr) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  // wslay hands each frame header over in a call of its own, before the payload.
  if (self->expect_header_) {
    self->out_->append_header(data, len);
    self->expect_header_ = false;
  } else {
    self->out_->append(data, len);  // payload (already masked in the client role): counted
  }
  return static_cast<ssize_t>(len);
}

int WslayCodec::genmask_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, void* user) {
  static_cast<WslayCodec*>(user)->rng_.fill(buf, len);
  return 0;
}

std::unique_ptr<WsCodec> make_wslay_codec(const WsCodecOptions& options, WsCodecSink& sink,
                                          Random& rng) {
  return std::make_unique<WslayCodec>(options, sink, rng);
}

}  // namespace pvb
