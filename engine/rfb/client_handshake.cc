#include "engine/rfb/client_handshake.h"

#include <span>
#include <utility>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/chain_view.h"
#include "engine/rfb/vnc_auth.h"

namespace pvb::rfb {
namespace {

std::string read_text(ByteChain& in, size_t offset, size_t n) {
  std::string s(n, '\0');
  ChainView(in, offset).copy(0, reinterpret_cast<uint8_t*>(s.data()), n);
  return s;
}

std::string security_type_name(uint8_t t) {
  switch (t) {
    case kSecurityNone:
      return "1 (None)";
    case kSecurityVncAuth:
      return "2 (VNC Authentication)";
    case 16:
      return "16 (Tight)";
    case 18:
      return "18 (TLS)";
    case 19:
      return "19 (VeNCrypt)";
    case 20:
      return "20 (SASL)";
    default:
      return std::to_string(t);
  }
}

}  // namespace

RfbClientHandshake::RfbClientHandshake(ClientHandshakeConfig config) : config_(std::move(config)) {}

HandshakeStatus RfbClientHandshake::fail(Errc code, std::string detail) {
  state_ = State::failed;
  error_ = Error(code, "RFB server handshake: " + detail);
  return status_ = HandshakeStatus::failed;
}

void RfbClientHandshake::expect_reason(Errc code, std::string prefix) {
  reason_code_ = code;
  reason_prefix_ = std::move(prefix);
  state_ = State::reason;
}

void RfbClientHandshake::begin_security(ByteChain& out) {
  if (security_type_ == kSecurityVncAuth) {
    state_ = State::challenge;
  } else if (version_ == Version::v3_8) {
    state_ = State::security_result;  // 3.8 confirms None too
  } else {
    send_client_init(out);
  }
}

void RfbClientHandshake::send_client_init(ByteChain& out) {
  const uint8_t shared = config_.shared ? 1 : 0;
  out.append_header(&shared, 1);
  state_ = State::server_init;
}

void RfbClientHandshake::start(ByteChain& out) {
  if (!config_.pipelined) return;
  std::string_view ours = version_string(Version::v3_8);
  out.append_header(ours.data(), ours.size());
  const uint8_t type = kSecurityVncAuth;
  out.append_header(&type, 1);
}

HandshakeStatus RfbClientHandshake::feed(ByteChain& in, ByteChain& out) {
  for (;;) {
    ChainView view(in, 0);
    switch (state_) {
      case State::version: {
        if (in.size() < kVersionLength) return status_ = HandshakeStatus::need_more;
        std::string text = read_text(in, 0, kVersionLength);
        in.drain(kVersionLength);
        auto v = parse_version(text);
        if (!v || v->major < 3) {
          return fail(Errc::protocol, "not an RFB 3.x server: \"" + printable_text(text) + "\"");
        }
        // The highest version we speak that is not above the server's (RFC 6143 7.1.1).
        if (v->major > 3 || v->minor >= 8) {
          version_ = Version::v3_8;
        } else if (v->minor == 7) {
          version_ = Version::v3_7;
        } else {
          version_ = Version::v3_3;
        }
        if (config_.pipelined) {
          if (version_ != Version::v3_8) {
            return fail(Errc::protocol, "the server speaks RFB " + std::to_string(v->major) + "." +
                                            std::to_string(v->minor) +
                                            ", but our early handshake announced 3.8");
          }
        } else {
          std::string_view ours = version_string(version_);
          out.append_header(ours.data(), ours.size());
        }
        state_ = version_ == Version::v3_3 ? State::security_33 : State::security_count;
        break;
      }
      case State::security_33: {
        if (in.size() < 4) return status_ = HandshakeStatus::need_more;
        uint32_t type = view.u32(0);
        in.drain(4);
        if (type == kSecurityInvalid) {
          expect_reason(Errc::console_refused, "the server refused the connection");
          break;
        }
        if (type != kSecurityNone && type != kSecurityVncAuth) {
          return fail(Errc::protocol, "the RFB 3.3 server requires security type " +
                                          std::to_string(type) +
                                          "; we support 1 (None) and 2 (VNC Authentication)");
        }
        security_type_ = static_cast<uint8_t>(type);
        offered_.assign(1, security_type_);
        begin_security(out);
        break;
      }
      case State::security_count: {
        if (in.empty()) return status_ = HandshakeStatus::need_more;
        offered_count_ = view.u8(0);
        in.drain(1);
        if (offered_count_ == 0) {
          expect_reason(Errc::console_refused, "the server refused the connection");
          break;
        }
        state_ = State::security_list;
        break;
      }
      case State::security_list: {
        if (in.size() < offered_count_) return status_ = HandshakeStatus::need_more;
        offered_.resize(offered_count_);
        view.copy(0, offered_.data(), offered_count_);
        in.drain(offered_count_);
        bool has_none = false, has_vnc = false;
        for (uint8_t t : offered_) {
          has_none |= t == kSecurityNone;
          has_vnc |= t == kSecurityVncAuth;
        }
        if (config_.pipelined) {
          if (!has_vnc) {
            std::string list;
            for (uint8_t t : offered_) list += (list.empty() ? "" : ", ") + security_type_name(t);
            return fail(Errc::protocol, "the server offers " + list +
                                            ", but our early handshake chose 2 (VNC "
                                            "Authentication)");
          }
          security_type_ = kSecurityVncAuth;  // sent by start()
          begin_security(out);
          break;
        }
        // With a password, VNC Authentication; None only when it is offered and we have nothing
        // better (or it is all there is).
        if (has_vnc && (!config_.password.empty() || !has_none)) {
          security_type_ = kSecurityVncAuth;
        } else if (has_none) {
          security_type_ = kSecurityNone;
        } else {
          std::string list;
          for (uint8_t t : offered_) list += (list.empty() ? "" : ", ") + security_type_name(t);
          return fail(Errc::protocol, "no common security type: the server offers " + list +
                                          "; we support 1 (None) and 2 (VNC Authentication)");
        }
        out.append_header(&security_type_, 1);
        begin_security(out);
        break;
      }
      case State::reason: {
        if (in.size() < 4) return status_ = HandshakeStatus::need_more;
        uint32_t n = view.u32(0);
        if (n > kMaxReasonLength) {
          return fail(Errc::too_large,
                      reason_prefix_ + " (with a reason of " + std::to_string(n) + " bytes)");
        }
        if (in.size() < 4 + size_t{n}) return status_ = HandshakeStatus::need_more;
        std::string reason = read_text(in, 4, n);
        in.drain(4 + size_t{n});
        return fail(reason_code_, reason_prefix_ + ": " + printable_text(reason));
      }
      case State::challenge: {
        if (in.size() < kChallengeLength) return status_ = HandshakeStatus::need_more;
        std::array<uint8_t, kChallengeLength> challenge;
        view.copy(0, challenge.data(), challenge.size());
        in.drain(kChallengeLength);
        auto response =
            vnc_auth_response(config_.password, std::span<const uint8_t, 16>(challenge));
        out.append_header(response.data(), response.size());
        if (config_.pipelined) {
          // ClientInit goes with the response: the server reads it after its SecurityResult.
          const uint8_t shared = config_.shared ? 1 : 0;
          out.append_header(&shared, 1);
        }
        state_ = State::security_result;
        break;
      }
      case State::security_result: {
        if (in.size() < 4) return status_ = HandshakeStatus::need_more;
        uint32_t result = view.u32(0);
        in.drain(4);
        if (result == kSecurityResultOk) {
          if (config_.pipelined) {
            state_ = State::server_init;  // ClientInit went with the response
          } else {
            send_client_init(out);
          }
          break;
        }
        std::string what = security_type_ == kSecurityVncAuth
                               ? "VNC authentication failed (wrong password or expired ticket)"
                               : "the server refused security type None";
        if (version_ == Version::v3_8) {
          expect_reason(Errc::auth, what);
          break;
        }
        return fail(Errc::auth, what);
      }
      case State::server_init: {
        constexpr size_t kFixed = 24;  // width, height, PIXEL_FORMAT, name length
        if (in.size() < kFixed) return status_ = HandshakeStatus::need_more;
        uint32_t name_length = view.u32(20);
        if (name_length > kMaxDesktopNameLength) {
          return fail(Errc::too_large,
                      "ServerInit desktop name of " + std::to_string(name_length) + " bytes");
        }
        if (in.size() < kFixed + name_length) return status_ = HandshakeStatus::need_more;
        uint8_t pf[PixelFormat::kWireLength];
        view.copy(4, pf, sizeof pf);
        ServerInit init;
        init.width = view.u16(0);
        init.height = view.u16(2);
        init.pixel_format = PixelFormat::read(pf);
        const uint8_t bpp = init.pixel_format.bits_per_pixel;
        if (bpp != 8 && bpp != 16 && bpp != 32) {
          return fail(Errc::protocol, "ServerInit pixel format has " + std::to_string(bpp) +
                                          " bits per pixel (RFB allows 8, 16, 32)");
        }
        init.name = read_text(in, kFixed, name_length);
        in.drain(kFixed + name_length);
        server_init_ = std::move(init);
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
