// In-process rig for the mock server tests: a MockServer on a Loop with a ManualClock and a
// seeded Random, clients on MemPipes (plain HTTP, or TLS with the generated identity), and small
// helpers to speak HTTP and raw WebSocket frames by hand.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/clock.h"
#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/server/mock_server.h"
#include "transports/http/http_message.h"
#include "transports/testing/mem_pipe.h"
#include "transports/testing/server_identity.h"

namespace pvb::mock::test {

// root@pam's API token in the built-in inventory.
inline constexpr std::string_view kRootToken =
    "root@pam!pvebridge=5f0c6e2a-8d3b-4c71-9e2f-1a4b7c9d0e36";
std::string token_auth();  // the Authorization value: "PVEAPIToken=..."

// Collects what a transport delivers.
struct Collector : TransportSink {
  std::string data;
  bool connected = false;
  bool ended = false;
  bool closed = false;
  Error error;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& chain, bool end_stream) override;
  void on_closed(const Error& e) override;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

std::string http_request(std::string_view method, std::string_view target,
                         const HeaderList& headers = {}, std::string_view body = "");

struct HttpReply {
  int status = 0;
  std::string reason;
  HttpHeaders headers;
  std::string body;
};
// Every complete response at the front of `bytes`, in order; `rest` gets what follows them.
std::vector<HttpReply> parse_replies(const std::string& bytes, std::string* rest = nullptr);

// A client frame: `first` is the first header byte (FIN | RSV | opcode), masked with a fixed key
// unless `masked` is false.
std::string client_frame(uint8_t first, std::string_view payload, bool masked = true);
inline constexpr uint8_t kFin = 0x80;

struct ServerFrame {
  uint8_t first = 0;
  bool masked = false;
  std::string payload;
  uint8_t opcode() const { return first & 0x0F; }
};
// Complete frames at the front of `bytes`; *consumed = their wire bytes.
std::vector<ServerFrame> parse_frames(const std::string& bytes, size_t* consumed = nullptr);
// The payloads of every binary/text frame, concatenated.
std::string frame_payloads(const std::string& bytes);

struct ConsoleTicket {
  uint16_t port = 0;
  std::string ticket;
  std::string password;
};

class Harness {
 public:
  explicit Harness(MockOptions options = {}, bool tls = false);
  ~Harness();

  // A client connection whose server end the MockServer serves; the client end is started with
  // `sink`. With TLS, the client end is the TLS client (verifying the mock's CA for "localhost").
  std::unique_ptr<Transport> connect(TransportSink& sink);
  // The same, but neither started nor given a sink (for overlays that start their lower).
  std::unique_ptr<Transport> open_connection();
  // One request on a fresh connection, run until its reply is complete.
  HttpReply call(std::string_view method, std::string_view target, const HeaderList& headers = {},
                 std::string_view body = "");
  // POST vncproxy for a guest (qemu: with generate-password) with root's token.
  std::optional<ConsoleTicket> vncproxy(uint32_t vmid);
  // The vncwebsocket target for that console.
  std::string websocket_target(uint32_t vmid, const ConsoleTicket& console) const;
  // The upgrade request for that console (token auth, protocol binary).
  std::string upgrade_request(uint32_t vmid, const ConsoleTicket& console) const;

  // Runs until pred() or the loop has nothing left; returns pred().
  bool run_until(const std::function<bool()>& pred) { return loop.run_until(pred); }
  bool log_contains(std::string_view text) const;

  Loop loop;
  ManualClock clock{1795000000};
  SeededRandom random{7};
  std::unique_ptr<MockApi> api;
  std::unique_ptr<MockServer> server;
  std::optional<ServerIdentity> identity;  // TLS only
  std::vector<std::string> logs;

 private:
  std::shared_ptr<TlsContext> client_tls_;
};

// A client that upgrades by hand and then speaks raw frames: for the frame rules and the faults.
struct RawWsClient {
  // Connects, sends the upgrade for `vmid` (after vncproxy) and runs until the 101 head arrived.
  // `ok` is false (with a test failure) when something else came back.
  RawWsClient(Harness& h, uint32_t vmid);
  void send(const std::string& bytes);
  // What arrived after the 101 head.
  std::string after_head() const { return collector.data.substr(head_bytes); }

  Harness& harness;
  Collector collector;
  std::unique_ptr<Transport> transport;
  ConsoleTicket console;
  size_t head_bytes = 0;
  bool ok = false;
};

}  // namespace pvb::mock::test
