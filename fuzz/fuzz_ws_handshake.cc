// The RFC 6455 opening handshake (transports/ws/handshake.h), both roles.
//
// Byte 0 picks the mode (value % 3) and, with bit 4, whether we offered the "binary" subprotocol;
// the rest is the data.
// - mode 0: the data is the server's answer. parse_response_head, then validate_server_handshake
//   against the RFC's sample key. Accepted => status 101, Upgrade/Connection tokens, the right
//   Sec-WebSocket-Accept, the subprotocol we asked for. Refused => console_refused for a non-101,
//   protocol for a bad 101; one-line errors.
// - mode 1: the data is a client's Upgrade request. parse_request_head, then
//   validate_client_handshake. Accepted => GET, HTTP/1.1, a 16-byte key; and the 101 we build for
//   it (build_server_response, written and parsed back) passes validate_server_handshake.
// - mode 2: the data gives build_client_handshake its host, path, subprotocol and extra headers.
//   Built => under pveproxy's limits once written; and when every input is plain header text,
//   the written request parses back and passes validate_client_handshake with the same key.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

#include "engine/core/random.h"
#include "fuzz/fuzz_support.h"
#include "transports/http/http_message.h"
#include "transports/ws/handshake.h"

namespace pvb::fuzz {
namespace {

// RFC 6455 section 1.3.
constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void check_error_text(const Error& e) {
  FUZZ_CHECK(is_one_line(e.message()), "multi-line error: " + printable(e.message()));
}

void server_answer(std::string_view data, std::string_view subprotocol) {
  ByteChain in(data);
  auto head = parse_response_head(in, HttpLimits{});
  if (!head.ok() || !head->has_value()) return;
  const HttpResponseHead& h = **head;
  Error e = validate_server_handshake(h, kKey, subprotocol);
  if (e.ok()) {
    FUZZ_CHECK(h.status == 101, "accepted a " + std::to_string(h.status));
    FUZZ_CHECK(h.headers.has_token("Upgrade", "websocket"), "accepted without Upgrade");
    FUZZ_CHECK(h.headers.has_token("Connection", "upgrade"), "accepted without Connection");
    auto accept = h.headers.get("Sec-WebSocket-Accept");
    FUZZ_CHECK(accept && trim_ows(*accept) == kAccept, "accepted a wrong Sec-WebSocket-Accept");
    auto chosen = h.headers.get("Sec-WebSocket-Protocol");
    if (subprotocol.empty()) {
      FUZZ_CHECK(!chosen, "accepted a subprotocol we did not offer");
    } else {
      FUZZ_CHECK(chosen && trim_ows(*chosen) == subprotocol, "accepted the wrong subprotocol");
    }
    return;
  }
  check_error_text(e);
  FUZZ_CHECK(
      e.code() == (h.status == 101 ? Errc::protocol : Errc::console_refused),
      std::string("status ") + std::to_string(h.status) + " refused with " + errc_name(e.code()));
}

void client_request(std::string_view data) {
  ByteChain in(data);
  auto head = parse_request_head(in, HttpLimits{});
  if (!head.ok() || !head->has_value()) return;
  const HttpRequestHead& r = **head;
  auto hs = validate_client_handshake(r);
  if (!hs.ok()) {
    check_error_text(hs.error());
    FUZZ_CHECK(hs.error().code() == Errc::protocol, "client handshake refused with a wrong code");
    return;
  }
  FUZZ_CHECK(r.method == "GET" && r.minor_version >= 1, "accepted a non-GET or HTTP/1.0");
  FUZZ_CHECK(
      r.headers.has_token("Upgrade", "websocket") && r.headers.has_token("Connection", "upgrade"),
      "accepted without Upgrade/Connection tokens");
  for (const std::string& p : hs->subprotocols) {
    FUZZ_CHECK(!p.empty() && trim_ows(p) == p && p.find(',') == std::string::npos,
               "offered subprotocol not split and trimmed: '" + printable(p) + "'");
  }

  // Our own 101 for this request must satisfy our own client.
  const std::string sub = hs->subprotocols.empty() ? std::string() : hs->subprotocols.front();
  ByteChain wire;
  write_response_head(build_server_response(hs->key, sub), wire);
  auto answer = parse_response_head(wire, HttpLimits{});
  FUZZ_CHECK(answer.ok() && answer->has_value(), "our 101 does not parse");
  Error e = validate_server_handshake(**answer, hs->key, sub);
  FUZZ_CHECK(e.ok(), "our 101 fails our own check: " + e.message());
}

// Text an HTTP field value can carry unchanged: no control characters, no surrounding blanks.
bool plain_value(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return trim_ows(s) == s;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool plain_target(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

void build_request(const uint8_t* bytes, size_t size) {
  FuzzedDataProvider p(bytes, size);
  const std::string host = p.ConsumeRandomLengthString(300);
  const std::string path = p.ConsumeRandomLengthString(3000);
  const std::string subprotocol = p.ConsumeRandomLengthString(40);
  HttpHeaders extra;
  const int n = p.ConsumeIntegralInRange<int>(0, 70);
  for (int i = 0; i < n && p.remaining_bytes() > 0; ++i) {
    std::string name = p.ConsumeRandomLengthString(40);
    std::string value = p.ConsumeRandomLengthString(4000);
    extra.add(std::move(name), std::move(value));
  }
  SeededRandom rng(p.ConsumeIntegral<uint64_t>());
  auto hs = build_client_handshake(host, path, extra, subprotocol, rng);
  if (!hs.ok()) {
    check_error_text(hs.error());
    FUZZ_CHECK(hs.error().code() == Errc::usage || hs.error().code() == Errc::too_large,
               std::string("build refused with ") + errc_name(hs.error().code()));
    return;
  }

  ByteChain wire;
  write_request_head(hs->request, wire);
  const size_t lines = hs->request.headers.fields().size() + 2;
  FUZZ_CHECK(wire.size() < kWsMaxRequestHeadBytes && lines < kWsMaxRequestHeadLines,
             "built a head of " + std::to_string(wire.size()) + " bytes, " + std::to_string(lines) +
                 " lines: over pveproxy's limits");

  bool plain = plain_value(host) && plain_target(path) && plain_value(subprotocol) &&
               (subprotocol.empty() || is_token(subprotocol));
  for (const auto& [name, value] : extra.fields())
    plain = plain && is_token(name) && plain_value(value);
  if (!plain) return;

  auto head = parse_request_head(wire, HttpLimits{.max_head_bytes = kWsMaxRequestHeadBytes,
                                                  .max_header_lines = kWsMaxRequestHeadLines});
  FUZZ_CHECK(head.ok() && head->has_value(),
             "built request does not parse: " +
                 (head.ok() ? std::string("incomplete") : head.error().message()));
  auto server = validate_client_handshake(**head);
  FUZZ_CHECK(server.ok(), "built request fails the server check: " + server.error().message());
  FUZZ_CHECK(server->key == hs->key, "key changed on the way");
  FUZZ_CHECK((**head).headers.fields() == hs->request.headers.fields(), "headers changed");
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb::fuzz;
  if (size == 0) return 0;
  const uint8_t control = bytes[0];
  std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  switch (control % 3) {
    case 0:
      server_answer(data, (control & 0x10) ? "binary" : "");
      break;
    case 1:
      client_request(data);
      break;
    default:
      build_request(bytes + 1, size - 1);
      break;
  }
  return 0;
}
