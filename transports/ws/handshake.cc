#include "transports/ws/handshake.h"
#include "engine/core/text.h"

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <optional>

namespace pvb {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kKeyBytes = 16;

std::string base64_encode(const uint8_t* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  size_t olen = 0;
  mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &olen, data, n);
  out.resize(olen);
  return out;
}

std::optional<std::string> base64_decode(std::string_view s) {
  std::string out(s.size() / 4 * 3 + 3, '\0');
  size_t olen = 0;
  if (mbedtls_base64_decode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &olen,
                            reinterpret_cast<const unsigned char*>(s.data()), s.size()) != 0) {
    return std::nullopt;
  }
  out.resize(olen);
  return out;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// Headers the handshake sets itself; an extra header must not replace them.
bool is_handshake_header(std::string_view name) {
  static constexpr std::string_view kOwn[] = {"Host",
                                              "Upgrade",
                                              "Connection",
                                              "Sec-WebSocket-Key",
                                              "Sec-WebSocket-Version",
                                              "Sec-WebSocket-Protocol",
                                              "Sec-WebSocket-Extensions"};
  return std::any_of(std::begin(kOwn), std::end(kOwn),
                     [&](std::string_view own) { return ascii_iequals(own, name); });
}

// Bytes write_request_head() produces for `head`: request line, fields, blank line.
size_t request_head_bytes(const HttpRequestHead& head) {
  size_t n = head.method.size() + 1 + head.target.size() + std::string_view(" HTTP/1.1\r\n").size();
  for (const auto& [name, value] : head.headers.fields()) n += name.size() + 2 + value.size() + 2;
  return n + 2;
}

Error protocol(std::string detail) {
  return Error(Errc::protocol, "WebSocket: " + detail);
}

}  // namespace

std::string ws_accept_for_key(std::string_view key) {
  std::string input(key);
  input += kGuid;
  std::array<uint8_t, 20> digest{};
  mbedtls_sha1_ret(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                   digest.data());
  return base64_encode(digest.data(), digest.size());
}

Result<WsClientHandshake> build_client_handshake(std::string_view host_header,
                                                 std::string_view path, const HttpHeaders& extra,
                                                 std::string_view subprotocol, Random& rng) {
  if (path.empty() || path.front() != '/' ||
      path.find_first_of(" \t\r\n") != std::string_view::npos) {
    return Error(Errc::usage, "WebSocket: request path must be origin-form (\"/...\")");
  }
  if (host_header.empty() || has_line_break(host_header) || has_line_break(subprotocol)) {
    return Error(Errc::usage, "WebSocket: invalid Host or subprotocol");
  }
  for (const auto& [name, value] : extra.fields()) {
    if (name.empty() || has_line_break(name) || name.find(':') != std::string::npos ||
        has_line_break(value)) {
      return Error(Errc::usage, "WebSocket: invalid extra header field \"" +
                                    (has_line_break(name) ? std::string("?") : name) + "\"");
    }
    if (is_handshake_header(name)) {
      return Error(Errc::usage,
                   "WebSocket: extra header \"" + name + "\" would replace a handshake header");
    }
  }

  WsClientHandshake hs;
  std::array<uint8_t, kKeyBytes> nonce{};
  rng.fill(nonce.data(), nonce.size());
  hs.key = base64_encode(nonce.data(), nonce.size());

  HttpRequestHead& req = hs.request;
  req.minor_version = 1;
  req.method = "GET";
  req.target = std::string(path);
  req.headers.add("Host", std::string(host_header));
  req.headers.add("Upgrade", "websocket");
  req.headers.add("Connection", "Upgrade");
  req.headers.add("Sec-WebSocket-Version", "13");
  req.headers.add("Sec-WebSocket-Key", hs.key);
  if (!subprotocol.empty()) req.headers.add("Sec-WebSocket-Protocol", std::string(subprotocol));
  for (const auto& [name, value] : extra.fields()) req.headers.add(name, value);

  const size_t lines = 1 + req.headers.fields().size() + 1;  // request line, fields, blank line
  const size_t bytes = request_head_bytes(req);
  if (lines >= kWsMaxRequestHeadLines || bytes >= kWsMaxRequestHeadBytes) {
    return Error(Errc::too_large, "WebSocket: upgrade request head of " + std::to_string(bytes) +
                                      " bytes in " + std::to_string(lines) +
                                      " lines reaches pveproxy's limit (under 8 KiB and 64 "
                                      "lines); the extra headers are too big");
  }
  return hs;
}

Error validate_server_handshake(const HttpResponseHead& response, std::string_view key,
                                std::string_view subprotocol) {
  if (response.status != 101) {
    std::string detail = "websocket upgrade refused: " + std::to_string(response.status);
    if (!response.reason.empty()) detail += " " + response.reason;
    return Error(Errc::console_refused, std::move(detail));
  }
  const HttpHeaders& h = response.headers;
  if (!h.has_token("Upgrade", "websocket"))
    return protocol("101 answer without Upgrade: websocket");
  if (!h.has_token("Connection", "upgrade"))
    return protocol("101 answer without Connection: Upgrade");

  const std::string expected = ws_accept_for_key(key);
  std::optional<std::string_view> accept = h.get("Sec-WebSocket-Accept");
  if (!accept)
    return protocol("101 answer without Sec-WebSocket-Accept (expected " + expected + ")");
  if (trim_blanks(*accept) != expected) {
    return protocol("wrong Sec-WebSocket-Accept: expected " + expected + ", got " +
                    std::string(trim_blanks(*accept)));
  }

  std::optional<std::string_view> chosen = h.get("Sec-WebSocket-Protocol");
  if (!subprotocol.empty()) {
    if (!chosen) {
      return protocol("server did not accept subprotocol \"" + std::string(subprotocol) +
                      "\" (no Sec-WebSocket-Protocol in its answer)");
    }
    if (trim_blanks(*chosen) != subprotocol) {
      return protocol("server chose subprotocol \"" + std::string(trim_blanks(*chosen)) +
                      "\", expected \"" + std::string(subprotocol) + "\"");
    }
  } else if (chosen) {
    return protocol("server chose subprotocol \"" + std::string(trim_blanks(*chosen)) +
                    "\" though none was offered");
  }
  return Error();
}

Result<WsServerHandshake> validate_client_handshake(const HttpRequestHead& request) {
  if (request.method != "GET")
    return protocol("upgrade request must be a GET, got " + request.method);
  if (request.minor_version < 1) return protocol("upgrade request must be HTTP/1.1");
  const HttpHeaders& h = request.headers;
  if (!h.has_token("Upgrade", "websocket")) return protocol("request without Upgrade: websocket");
  if (!h.has_token("Connection", "upgrade")) return protocol("request without Connection: Upgrade");

  std::optional<std::string_view> version = h.get("Sec-WebSocket-Version");
  if (!version) return protocol("request without Sec-WebSocket-Version");
  if (trim_blanks(*version) != "13") {
    return protocol("unsupported Sec-WebSocket-Version " + std::string(trim_blanks(*version)) +
                    " (only 13)");
  }

  std::optional<std::string_view> key = h.get("Sec-WebSocket-Key");
  if (!key) return protocol("request without Sec-WebSocket-Key");
  std::string_view k = trim_blanks(*key);
  std::optional<std::string> raw = base64_decode(k);
  if (!raw || raw->size() != kKeyBytes) {
    return protocol("Sec-WebSocket-Key is not 16 bytes in base64");
  }

  WsServerHandshake hs;
  hs.key = std::string(k);
  for (std::string_view field : h.get_all("Sec-WebSocket-Protocol")) {
    while (!field.empty()) {
      size_t comma = field.find(',');
      std::string_view item = trim_blanks(field.substr(0, comma));
      if (!item.empty()) hs.subprotocols.emplace_back(item);
      if (comma == std::string_view::npos) break;
      field.remove_prefix(comma + 1);
    }
  }
  return hs;
}

HttpResponseHead build_server_response(std::string_view key, std::string_view subprotocol) {
  HttpResponseHead r;
  r.minor_version = 1;
  r.status = 101;
  r.reason = "Switching Protocols";
  r.headers.add("Upgrade", "websocket");
  r.headers.add("Connection", "Upgrade");
  r.headers.add("Sec-WebSocket-Accept", ws_accept_for_key(key));
  if (!subprotocol.empty()) r.headers.add("Sec-WebSocket-Protocol", std::string(subprotocol));
  return r;
}

}  // namespace pvb
