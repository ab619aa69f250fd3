// The server role of the RFB handshake, toward the local viewer (remote-viewer, TigerVNC...).
//
// We offer RFB 3.8 and accept a viewer answering 3.3, 3.7 or 3.8. Security is VNC Authentication
// (type 2) with a local one-time password when one is configured, else None (type 1). Then the
// viewer's ClientInit (its shared flag). The ServerInit is not sent here: the bridge sends the
// one the Proxmox node sent it.
//
// No I/O: feed() consumes the viewer's bytes from `in` and appends what to send to `out`.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/rfb/handshake_status.h"
#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {

struct ServerHandshakeConfig {
  // Set: VNC Authentication with this password (only its first 8 bytes count, as in every VNC
  // implementation). Unset: security type None.
  std::optional<std::string> password;
  // The VNC Authentication challenge; the caller fills it from a cryptographic random source.
  std::array<uint8_t, kChallengeLength> challenge{};
};

class RfbServerHandshake {
 public:
  explicit RfbServerHandshake(ServerHandshakeConfig config);

  // Appends our ProtocolVersion to out. Call once, before the first feed().
  void start(ByteChain& out);

  // Consumes what it can of `in`, appends replies to `out`. After `done`, bytes left in `in` are
  // the viewer's first normal messages, untouched. After `failed`, `out` may hold a last message
  // for the viewer (a SecurityResult with its reason) worth sending before closing; error() says
  // why (Errc::auth for a wrong password, Errc::protocol for anything malformed).
  HandshakeStatus feed(ByteChain& in, ByteChain& out);

  HandshakeStatus status() const { return status_; }
  const Error& error() const { return error_; }
  // Valid once the viewer's version was read.
  Version version() const { return version_; }
  // The security type the viewer went through (valid once chosen).
  uint8_t security_type() const { return security_type_; }
  // ClientInit's shared flag (valid when done).
  bool shared() const { return shared_; }

 private:
  enum class State {
    version,        // waiting for the viewer's 12-byte ProtocolVersion
    security_type,  // 3.7+: waiting for the viewer's choice
    auth_response,  // waiting for the 16-byte DES response
    client_init,    // waiting for the shared flag
    done,
    failed,
  };

  HandshakeStatus fail(Errc code, std::string detail);
  // Sends a failed SecurityResult (3.8: with the reason string), then fails with `detail`.
  HandshakeStatus refuse(ByteChain& out, Errc code, std::string_view reason, std::string detail);
  void begin_security(ByteChain& out);
  void send_security_ok(ByteChain& out);

  ServerHandshakeConfig config_;
  State state_ = State::version;
  HandshakeStatus status_ = HandshakeStatus::need_more;
  Error error_;
  Version version_ = Version::v3_8;
  uint8_t security_type_ = kSecurityInvalid;
  bool shared_ = false;
};

}  // namespace pvb::rfb
