// The RFC 6455 opening handshake, both roles, without I/O: build and check HTTP heads. wslay does
// no HTTP at all, so the Upgrade request and the Sec-WebSocket-Accept check live here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/random.h"
#include "transports/http/http_message.h"

namespace pvb {

// pveproxy refuses request heads of 64 lines or more, or of 8 KiB or more.
inline constexpr size_t kWsMaxRequestHeadBytes = 8 * 1024;
inline constexpr size_t kWsMaxRequestHeadLines = 64;

struct WsClientHandshake {
  HttpRequestHead request;
  std::string key;  // Sec-WebSocket-Key, needed to check the answer
};

// The Upgrade request: Host, Upgrade, Connection, Sec-WebSocket-Version 13, a fresh
// Sec-WebSocket-Key (16 bytes from rng, base64), Sec-WebSocket-Protocol (unless empty), then
// `extra` (Cookie or Authorization). Fails with Errc::usage for a path that is not origin-form, a
// CR/LF in any value, or an extra header that would replace a handshake header, and with
// Errc::too_large when the head would reach pveproxy's limits (header values are never quoted in
// errors: they carry tickets).
Result<WsClientHandshake> build_client_handshake(std::string_view host_header,
                                                 std::string_view path, const HttpHeaders& extra,
                                                 std::string_view subprotocol, Random& rng);

// base64(SHA-1(key + RFC 6455 GUID)).
std::string ws_accept_for_key(std::string_view key);

// Checks the server's answer to our request. Not 101: Errc::console_refused "websocket upgrade
// refused: 401 authentication failure". A 101 with a missing or wrong Sec-WebSocket-Accept, missing
// Upgrade/Connection tokens, or a subprotocol other than the one asked for: Errc::protocol.
Error validate_server_handshake(const HttpResponseHead& response, std::string_view key,
                                std::string_view subprotocol);

struct WsServerHandshake {
  std::string key;
  std::vector<std::string> subprotocols;  // offered, in the client's order
};

// Checks a client's Upgrade request (GET, HTTP/1.1, version 13, a key of 16 bytes, Upgrade and
// Connection tokens). Errc::protocol naming what is wrong.
Result<WsServerHandshake> validate_client_handshake(const HttpRequestHead& request);

// The 101 answer for `key`; subprotocol empty: no Sec-WebSocket-Protocol header.
HttpResponseHead build_server_response(std::string_view key, std::string_view subprotocol);

}  // namespace pvb
