#include "engine/terminal/termproxy_codec.h"

#include <algorithm>

namespace pvb {

std::string termproxy_login_message(std::string_view user, std::string_view ticket) {
  std::string m;
  m.reserve(user.size() + ticket.size() + 2);
  m.append(user).append(":").append(ticket).append("\n");
  return m;
}

static void append_header(ByteChain& out, size_t n) {
  std::string header = "0:" + std::to_string(n) + ":";
  out.append(header);
}

void termproxy_append_input(ByteChain& out, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kTermproxyMaxInputChunk);
    append_header(out, n);
    out.append(bytes.first(n));
    bytes = bytes.subspan(n);
  }
}

void termproxy_append_input(ByteChain& out, ByteChain& bytes) {
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kTermproxyMaxInputChunk);
    append_header(out, n);
    out.move_from(bytes, n);  // slices move: no copy of the input itself
  }
}

std::string termproxy_resize_message(unsigned cols, unsigned rows) {
  return "1:" + std::to_string(cols) + ":" + std::to_string(rows) + ":";
}

TermproxyOkWaiter::State TermproxyOkWaiter::feed(ByteChain& in) {
  if (state_ != State::waiting) return state_;
  if (in.empty()) return state_;
  if (in.at(0) != 'O') return state_ = State::refused;
  if (in.size() < 2) return state_;
  if (in.at(1) != 'K') return state_ = State::refused;
  in.drain(2);
  return state_ = State::ok;
}

}  // namespace pvb
