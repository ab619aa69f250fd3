#include "tests/mock_pveproxy/server/test/harness.h"

#include <gtest/gtest.h>

#include "engine/core/json.h"
#include "engine/core/url.h"
#include "engine/proxmox/replies.h"
#include "transports/http/http_parser.h"
#include "transports/tls/tls_transport.h"

namespace pvb::mock::test {

std::string token_auth() {
  return "PVEAPIToken=" + std::string(kRootToken);
}

void Collector::on_data(ByteChain& chain, bool end_stream) {
  data += chain.to_string();
  chain.clear();
  if (end_stream) ended = true;
}

void Collector::on_closed(const Error& e) {
  closed = true;
  error = e;
}

std::string http_request(std::string_view method, std::string_view target,
                         const HeaderList& headers, std::string_view body) {
  std::string r =
      std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& [name, value] : headers) r += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST")
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r += body;
  return r;
}

std::vector<HttpReply> parse_replies(const std::string& bytes, std::string* rest) {
  std::vector<HttpReply> out;
  ByteChain in(bytes);
  HttpResponseParser parser(HttpLimits{.max_head_bytes = 256 * 1024});
  while (!in.empty()) {
    ByteChain body;
    Result<HttpParseState> state = parser.feed(in, body);
    if (!state.ok() || *state != HttpParseState::complete) break;
    HttpReply r;
    r.status = parser.head().status;
    r.reason = parser.head().reason;
    r.headers = parser.head().headers;
    r.body = body.to_string();
    out.push_back(std::move(r));
    parser.reset();
  }
  if (rest) *rest = in.to_string();
  return out;
}

std::string client_frame(uint8_t first, std::string_view payload, bool masked) {
  std::string f;
  f.push_back(static_cast<char>(first));
  const uint8_t mask_bit = masked ? 0x80 : 0;
  const uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      f.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  const uint8_t key[4] = {0xA1, 0xB2, 0xC3, 0xD4};
  if (masked) f.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < n; ++i) {
    f.push_back(static_cast<char>(masked ? payload[i] ^ key[i % 4] : payload[i]));
  }
  return f;
}

std::vector<ServerFrame> parse_frames(const std::string& bytes, size_t* consumed) {
  std::vector<ServerFrame> out;
  size_t pos = 0;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  while (bytes.size() - pos >= 2) {
    size_t h = 2;
    uint64_t n = byte(pos + 1) & 0x7F;
    const bool masked = (byte(pos + 1) & 0x80) != 0;
    if (n == 126) {
      if (bytes.size() - pos < 4) break;
      n = (uint64_t{byte(pos + 2)} << 8) | byte(pos + 3);
      h = 4;
    } else if (n == 127) {
      if (bytes.size() - pos < 10) break;
      n = 0;
      for (size_t i = 0; i < 8; ++i) n = (n << 8) | byte(pos + 2 + i);
      h = 10;
    }
    if (masked) h += 4;
    if (bytes.size() - pos < h || bytes.size() - pos - h < n) break;
    ServerFrame f;
    f.first = byte(pos);
    f.masked = masked;
    f.payload = bytes.substr(pos + h, static_cast<size_t>(n));
    if (masked) {
      for (size_t i = 0; i < f.payload.size(); ++i) {
        f.payload[i] = static_cast<char>(f.payload[i] ^ bytes[pos + h - 4 + i % 4]);
      }
    }
    out.push_back(std::move(f));
    pos += h + static_cast<size_t>(n);
  }
  if (consumed) *consumed = pos;
  return out;
}

std::string frame_payloads(const std::string& bytes) {
  std::string out;
  for (const ServerFrame& f : parse_frames(bytes)) {
    if (f.opcode() == 1 || f.opcode() == 2) out += f.payload;
  }
  return out;
}

Harness::Harness(MockOptions options, bool tls) {
  std::shared_ptr<TlsContext> server_tls;
  if (tls) {
    Result<ServerIdentity> id = generate_server_identity();
    EXPECT_TRUE(id.ok()) << id.error().message();
    identity = std::move(*id);
    options.cert_pem = identity->ca_pem;
    TlsServerConfig sc;
    sc.cert_chain_pem = identity->chain_pem;
    sc.key_pem = identity->key_pem;
    server_tls = *TlsContext::create_server(sc);
    TlsClientConfig cc;
    cc.verify = TlsVerify::ca_file;
    cc.ca_pem = identity->ca_pem;
    // ChaCha20 first: the server must still pick its own preference, AES-128-GCM.
    cc.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
    client_tls_ = *TlsContext::create_client(cc);
  }
  api = std::make_unique<MockApi>(Inventory::builtin_default(), std::move(options), clock, random);
  server = std::make_unique<MockServer>(loop, *api, server_tls, clock, random,
                                        [this](const std::string& line) { logs.push_back(line); });
}

Harness::~Harness() {
  server.reset();
}

std::unique_ptr<Transport> Harness::open_connection() {
  auto [client_end, server_end] = make_mem_pipe(loop);
  server->accept(std::move(server_end), "test-client");
  std::unique_ptr<Transport> client = std::move(client_end);
  if (client_tls_) {
    client = std::make_unique<TlsTransport>(std::move(client), client_tls_, "localhost");
  }
  return client;
}

std::unique_ptr<Transport> Harness::connect(TransportSink& sink) {
  std::unique_ptr<Transport> client = open_connection();
  client->set_sink(&sink);
  client->start();
  return client;
}

HttpReply Harness::call(std::string_view method, std::string_view target, const HeaderList& headers,
                        std::string_view body) {
  Collector c;
  std::unique_ptr<Transport> t = connect(c);
  ByteChain req(http_request(method, target, headers, body));
  t->write(req);
  std::vector<HttpReply> replies;
  run_until([&] {
    replies = parse_replies(c.data);
    return !replies.empty() || c.closed;
  });
  EXPECT_EQ(replies.size(), 1u) << "no complete reply to " << method << " " << target;
  t->close(CloseMode::Abort);
  return replies.empty() ? HttpReply{} : replies.front();
}

std::optional<ConsoleTicket> Harness::vncproxy(uint32_t vmid) {
  const GuestEntry* g = api->inventory().find_guest(vmid);
  if (g == nullptr) return std::nullopt;
  std::string body = "websocket=1";
  if (g->type == GuestKind::qemu) body += "&generate-password=1";
  HttpReply r =
      call("POST",
           "/api2/json/nodes/" + g->node + "/" + std::string(guest_kind_name(g->type)) + "/" +
               std::to_string(vmid) + "/vncproxy",
           {{"Authorization", token_auth()}, {"Content-Type", "application/x-www-form-urlencoded"}},
           body);
  EXPECT_EQ(r.status, 200) << r.reason;
  if (r.status != 200) return std::nullopt;
  Result<JsonDocument> doc = JsonDocument::parse(r.body, "vncproxy");
  if (!doc.ok()) return std::nullopt;
  JsonElement data = *proxmox_reply_data(*doc);
  ConsoleTicket t;
  t.port = static_cast<uint16_t>(*json_int(data, "port", "vncproxy"));
  t.ticket = *json_string(data, "ticket", "vncproxy");
  Result<std::optional<std::string>> password = json_optional_string(data, "password", "vncproxy");
  if (password.ok() && *password) t.password = **password;
  return t;
}

std::string Harness::websocket_target(uint32_t vmid, const ConsoleTicket& console) const {
  const GuestEntry* g = api->inventory().find_guest(vmid);
  return "/api2/json/nodes/" + g->node + "/" + std::string(guest_kind_name(g->type)) + "/" +
         std::to_string(vmid) + "/vncwebsocket?port=" + std::to_string(console.port) +
         "&vncticket=" + url_encode(console.ticket);
}

std::string Harness::upgrade_request(uint32_t vmid, const ConsoleTicket& console) const {
  return http_request("GET", websocket_target(vmid, console),
                      {{"Authorization", token_auth()},
                       {"Upgrade", "websocket"},
                       {"Connection", "Upgrade"},
                       {"Sec-WebSocket-Version", "13"},
                       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                       {"Sec-WebSocket-Protocol", "binary"}});
}

bool Harness::log_contains(std::string_view text) const {
  for (const std::string& line : logs) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

RawWsClient::RawWsClient(Harness& h, uint32_t vmid) : harness(h) {
  std::optional<ConsoleTicket> c = h.vncproxy(vmid);
  if (!c) {
    ADD_FAILURE() << "vncproxy failed for " << vmid;
    return;
  }
  console = *c;
  transport = h.connect(collector);
  send(h.upgrade_request(vmid, console));
  h.run_until(
      [&] { return collector.data.find("\r\n\r\n") != std::string::npos || collector.closed; });
  size_t end = collector.data.find("\r\n\r\n");
  if (end == std::string::npos || !collector.data.starts_with("HTTP/1.1 101 ")) {
    ADD_FAILURE() << "no 101: " << collector.data.substr(0, 200);
    return;
  }
  head_bytes = end + 4;
  ok = true;
}

void RawWsClient::send(const std::string& bytes) {
  ByteChain chain(bytes);
  transport->write(chain);
}

}  // namespace pvb::mock::test
