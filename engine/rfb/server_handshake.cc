#include "engine/rfb/server_handshake.h"

#include <utility>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/vnc_auth.h"

namespace pvb::rfb {
namespace {

void append_u32(ByteChain& out, uint32_t v) {
  uint8_t b[4];
  put_u32(b, v);
  out.append_header(b, sizeof b);
}

// The first n bytes of in, copied out (handshake fields are a few bytes; not payload).
template <size_t N>
std::array<uint8_t, N> take(ByteChain& in) {
  std::array<uint8_t, N> a{};
  size_t i = 0;
  for (const Slice& s : in.slices()) {
    for (size_t k = 0; k < s.size() && i < N; ++k) a[i++] = s.data()[k];
    if (i == N) break;
  }
  in.drain(N);
  return a;
}

}  // namespace

RfbServerHandshake::RfbServerHandshake(ServerHandshakeConfig config)
    : config_(std::move(config)),
      security_type_(config_.password ? kSecurityVncAuth : kSecurityNone) {}

void RfbServerHandshake::start(ByteChain& out) {
  std::string_view v = version_string(Version::v3_8);
  out.append_header(v.data(), v.size());
}

HandshakeStatus RfbServerHandshake::fail(Errc code, std::string detail) {
  state_ = State::failed;
  error_ = Error(code, "RFB viewer handshake: " + detail);
  return status_ = HandshakeStatus::failed;
}

HandshakeStatus RfbServerHandshake::refuse(ByteChain& out, Errc code, std::string_view reason,
                                           std::string detail) {
  append_u32(out, kSecurityResultFailed);
  // Only 3.8 carries a reason after a failed SecurityResult.
  if (version_ == Version::v3_8) {
    append_u32(out, static_cast<uint32_t>(reason.size()));
    out.append_header(reason.data(), reason.size());
  }
  return fail(code, std::move(detail));
}

void RfbServerHandshake::send_security_ok(ByteChain& out) {
  append_u32(out, kSecurityResultOk);
}

void RfbServerHandshake::begin_security(ByteChain& out) {
  if (security_type_ == kSecurityVncAuth) {
    out.append_header(config_.challenge.data(), config_.challenge.size());
    state_ = State::auth_response;
    return;
  }
  // None: 3.8 confirms with a SecurityResult; 3.3 and 3.7 go straight to ClientInit.
  if (version_ == Version::v3_8) send_security_ok(out);
  state_ = State::client_init;
}

HandshakeStatus RfbServerHandshake::feed(ByteChain& in, ByteChain& out) {
  for (;;) {
    switch (state_) {
      case State::version: {
        if (in.size() < kVersionLength) return status_ = HandshakeStatus::need_more;
        auto raw = take<kVersionLength>(in);
        std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
        auto v = parse_version(text);
        if (!v) return fail(Errc::protocol, "not an RFB version: \"" + printable_text(text) + "\"");
        if (v->major == 3 && v->minor == 8) {
          version_ = Version::v3_8;
        } else if (v->major == 3 && v->minor == 7) {
          version_ = Version::v3_7;
        } else if (v->major == 3 && v->minor >= 3 && v->minor <= 5) {
          // RFC 6143 7.1.1: 3.4 and 3.5 (broken clients) mean 3.3.
          version_ = Version::v3_3;
        } else {
          return fail(Errc::protocol, "unsupported RFB version " + std::to_string(v->major) + "." +
                                          std::to_string(v->minor) +
                                          " (we speak 3.3, 3.7 and 3.8)");
        }
        if (version_ == Version::v3_3) {
          // 3.3: the server decides, and says so with a U32.
          append_u32(out, security_type_);
          begin_security(out);
        } else {
          const uint8_t offer[2] = {1, security_type_};
          out.append_header(offer, sizeof offer);
          state_ = State::security_type;
        }
        break;
      }
      case State::security_type: {
        if (in.empty()) return status_ = HandshakeStatus::need_more;
        uint8_t chosen = take<1>(in)[0];
        if (chosen != security_type_) {
          return refuse(out, Errc::protocol, "Security type not offered",
                        "the viewer chose security type " + std::to_string(chosen) +
                            ", we offered only " + std::to_string(security_type_));
        }
        begin_security(out);
        break;
      }
      case State::auth_response: {
        if (in.size() < kChallengeLength) return status_ = HandshakeStatus::need_more;
        auto response = take<kChallengeLength>(in);
        auto expected =
            vnc_auth_response(*config_.password, std::span<const uint8_t, 16>(config_.challenge));
        // Constant time: the comparison must not tell an attacker how many bytes matched.
        uint8_t diff = 0;
        for (size_t i = 0; i < kChallengeLength; ++i) diff |= response[i] ^ expected[i];
        if (diff != 0) {
          return refuse(out, Errc::auth, "Authentication failed",
                        "the viewer's VNC password is wrong");
        }
        send_security_ok(out);
        state_ = State::client_init;
        break;
      }
      case State::client_init: {
        if (in.empty()) return status_ = HandshakeStatus::need_more;
        shared_ = take<1>(in)[0] != 0;
        state_ = State::done;
        return status_ = HandshakeStatus::done;
      }
      case State::done:
      case State::failed:
        return status_;
    }
  }
}

}  // namespace pvb::rfb
