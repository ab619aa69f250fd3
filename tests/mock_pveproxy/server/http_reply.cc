#include "tests/mock_pveproxy/server/http_reply.h"

#include <ctime>

#include "transports/http/http_message.h"

namespace pvb::mock {

std::string http_date(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

namespace {

std::string safe_reason(std::string_view reason) {
  std::string out(reason);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

}  // namespace

void write_mock_reply(const MockResponse& reply, bool keep_alive, int64_t now, ByteChain& out) {
  HttpResponseHead head;
  head.status = reply.status;
  head.reason = safe_reason(reply.reason);
  std::string date = http_date(now);
  head.headers.add("Cache-Control", "max-age=0");
  head.headers.add("Connection", keep_alive ? "Keep-Alive" : "close");
  head.headers.add("Date", date);
  head.headers.add("Pragma", "no-cache");
  head.headers.add("Server", "pve-api-daemon/3.0");
  if (!reply.content_type.empty()) head.headers.add("Content-Type", reply.content_type);
  head.headers.add("Content-Length", std::to_string(reply.body.size()));
  head.headers.add("Expires", date);
  if (reply.oversized_header) {
    head.headers.add("X-Mock-Oversized", std::string(kOversizedHeaderBytes, 'x'));
  }
  write_response_head(head, out);
  if (!reply.body.empty()) out.append(reply.body);
}

void write_upgrade_reply(const ConsoleGrant& grant, ByteChain& out) {
  HttpResponseHead head;
  head.status = 101;
  head.reason = "Switching Protocols";
  head.headers.add("Upgrade", "websocket");
  head.headers.add("Connection", "upgrade");
  head.headers.add("Sec-WebSocket-Accept", grant.ws_accept);
  head.headers.add("Sec-WebSocket-Protocol", grant.ws_protocol);
  write_response_head(head, out);
}

MockResponse request_error_reply(const Error& parse_error, bool had_head) {
  if (parse_error.code() == Errc::too_large) {
    if (had_head) return bare_reply(413, "request too large");
    if (parse_error.detail().find("too many") != std::string::npos) {
      return bare_reply(431, "too many http header lines");
    }
    return bare_reply(431, "http header too large");
  }
  return bare_reply(400, "bad request");
}

}  // namespace pvb::mock
