// The client role of the RFB handshake, toward the Proxmox node (QEMU's VNC server or vncterm,
// through vncproxy's websocket).
//
// We answer min(server's version, 3.8); a 3.3 server picks the security type itself. We do VNC
// Authentication with the configured password (Proxmox: the vncproxy ticket or password, of which
// only the first 8 bytes count) or None when that is all the server offers; anything else is a
// clear error listing what was offered. Then ClientInit (shared flag) and the ServerInit, which
// is exposed for the bridge (size, pixel format, name).
//
// No I/O: feed() consumes the server's bytes from `in` and appends what to send to `out`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/rfb/handshake_status.h"
#include "engine/rfb/pixel_format.h"
#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {

struct ClientHandshakeConfig {
  std::string password;  // for VNC Authentication; may be empty when the server offers None
  bool shared = true;    // ClientInit's shared flag
  // Two flights instead of four: start() sends "RFB 003.008" and security type 2 before the
  // server asks, and the VNC Authentication response goes with ClientInit. Every Proxmox node
  // (QEMU, vncterm) speaks RFB 3.8 with VNC Authentication; a server that does not is a clear
  // Errc::protocol error naming what it offered, never a guess.
  bool pipelined = false;
};

// The ServerInit message: the framebuffer, its native pixel format and the desktop's name.
struct ServerInit {
  uint16_t width = 0;
  uint16_t height = 0;
  PixelFormat pixel_format;
  std::string name;
};

class RfbClientHandshake {
 public:
  explicit RfbClientHandshake(ClientHandshakeConfig config);

  // Pipelined: appends what we say before the server speaks (call once, first). Else nothing.
  void start(ByteChain& out);

  // Consumes what it can of `in`, appends our messages to `out`. After `done`, bytes left in `in`
  // are the server's first normal messages, untouched. error() after `failed`: Errc::auth for a
  // failed authentication (with the server's reason when it gave one), Errc::console_refused when
  // the server refused the connection before security, Errc::protocol for anything malformed or
  // unsupported, Errc::too_large for absurd lengths.
  HandshakeStatus feed(ByteChain& in, ByteChain& out);

  HandshakeStatus status() const { return status_; }
  const Error& error() const { return error_; }
  Version version() const { return version_; }  // valid once the server's version was read
  uint8_t security_type() const { return security_type_; }  // valid once chosen
  const std::vector<uint8_t>& offered_security_types() const { return offered_; }
  const ServerInit& server_init() const { return server_init_; }  // valid when done

 private:
  enum class State {
    version,          // the server's 12-byte ProtocolVersion
    security_33,      // 3.3: a U32 security type chosen by the server
    security_count,   // 3.7+: the number of types offered
    security_list,    // 3.7+: the types
    reason,           // a U32 length and that much text, then fail with reason_code_
    challenge,        // 16 bytes of VNC Authentication
    security_result,  // U32: 0 ok, else failed
    server_init,      // 24 bytes + the name
    done,
    failed,
  };

  HandshakeStatus fail(Errc code, std::string detail);
  // Reads a reason string next, then fails with code and "prefix: <reason>".
  void expect_reason(Errc code, std::string prefix);
  // Security chosen: start it (send the response to a challenge comes later).
  void begin_security(ByteChain& out);
  void send_client_init(ByteChain& out);

  ClientHandshakeConfig config_;
  State state_ = State::version;
  HandshakeStatus status_ = HandshakeStatus::need_more;
  Error error_;
  Version version_ = Version::v3_8;
  uint8_t security_type_ = kSecurityInvalid;
  std::vector<uint8_t> offered_;
  uint8_t offered_count_ = 0;
  Errc reason_code_ = Errc::protocol;
  std::string reason_prefix_;
  ServerInit server_init_;
};

}  // namespace pvb::rfb
