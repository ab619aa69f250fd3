#include "transports/http/rest_client.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "transports/http/http_parser.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

// A small HTTP server on the far ends of MemPipes: every connection the client's connector opens
// gets one, parsed with HttpRequestParser; `handler` decides what to answer.
class FakeServer {
 public:
  struct Request {
    size_t connection = 0;  // index in conns
    HttpRequestHead head;
    std::string body;
  };

  class Conn : public TransportSink {
   public:
    Conn(FakeServer& server, std::unique_ptr<MemPipeEnd> end, size_t index)
        : server_(server), end_(std::move(end)), index_(index) {
      end_->set_sink(this);
      end_->start();
    }

    void respond(int status, std::string_view body, HttpHeaders headers = {},
                 std::string reason = "") {
      HttpResponseHead head;
      head.status = status;
      head.reason = std::move(reason);
      head.headers = std::move(headers);
      head.headers.add("Content-Length", std::to_string(body.size()));
      ByteChain out;
      write_response_head(head, out);
      out.append(body);
      end_->write(out);
    }
    void write_raw(std::string_view bytes) {
      ByteChain out(bytes);
      end_->write(out);
    }
    void close(CloseMode mode) { end_->close(mode); }
    bool closed() const { return closed_; }

    void on_data(ByteChain& data, bool end_stream) override {
      while (!closed_ && !end_->closed()) {
        auto state = parser_.feed(data, body_);
        if (!state.ok()) {
          end_->close(CloseMode::Abort);
          return;
        }
        if (*state != HttpParseState::complete) break;
        server_.received.push_back(Request{index_, parser_.head(), body_.to_string()});
        body_.clear();
        parser_.reset();
        server_.handler(*this, server_.received.back());
      }
    }
    void on_closed(const Error&) override { closed_ = true; }

   private:
    FakeServer& server_;
    std::unique_ptr<MemPipeEnd> end_;
    size_t index_;
    HttpRequestParser parser_;
    ByteChain body_;
    bool closed_ = false;
  };

  explicit FakeServer(Loop& loop, MemPipeOptions options = {}) : loop_(loop), options_(options) {
    handler = [](Conn& c, const Request&) { c.respond(200, R"({"data":"ok"})"); };
  }

  RestClient::Connector connector() {
    return [this]() -> std::unique_ptr<Transport> {
      auto [client_end, server_end] = make_mem_pipe(loop_, options_);
      conns.push_back(std::make_unique<Conn>(*this, std::move(server_end), conns.size()));
      return std::move(client_end);
    };
  }

  std::function<void(Conn&, const Request&)> handler;
  std::vector<Request> received;
  std::vector<std::unique_ptr<Conn>> conns;

 private:
  Loop& loop_;
  MemPipeOptions options_;
};

// Collects one request's outcome.
struct Outcome {
  bool done = false;
  std::optional<Result<RestResponse>> result;
  RestClient::Done callback() {
    return [this](Result<RestResponse> r) {
      EXPECT_FALSE(done) << "callback made twice";
      done = true;
      result.emplace(std::move(r));
    };
  }
  const RestResponse& response() const { return result->value(); }
  const Error& error() const { return result->error(); }
};

RestRequest get(std::string path) {
  RestRequest r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}

RestRequest post(std::string path, FormFields form) {
  RestRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.form = std::move(form);
  return r;
}

class RestClientTest : public ::testing::Test {
 protected:
  void run(Outcome& o) {
    ASSERT_TRUE(loop.run_until([&] { return o.done; }));
  }

  Loop loop;
  FakeServer server{loop};
  std::vector<std::string> log;
  std::unique_ptr<RestClient> client = make_client({});

  std::unique_ptr<RestClient> make_client(HttpLimits limits) {
    auto c =
        std::make_unique<RestClient>(loop, server.connector(), "pve1.example.com:8006", limits);
    c->set_logger([this](std::string_view line) { log.emplace_back(line); });
    return c;
  }
};

TEST_F(RestClientTest, GetSendsDefaultHeadersAndEncodedQuery) {
  client->set_default_header("CSRFPreventionToken", "tok");
  RestRequest r = get("/api2/json/nodes/pve1/qemu/100/vncwebsocket");
  r.query = {{"port", "5900"}, {"vncticket", "PVE:root@pam:6745ABCD::a+b/c=="}};
  r.headers.add("Accept", "text/plain");  // overrides the default
  Outcome o;
  client->request(std::move(r), o.callback());
  EXPECT_FALSE(o.done);
  run(o);
  ASSERT_TRUE(o.result->ok()) << o.error().message();
  EXPECT_EQ(o.response().status, 200);
  EXPECT_TRUE(o.response().ok());
  EXPECT_EQ(o.response().body, R"({"data":"ok"})");
  EXPECT_EQ(o.response().headers.get("content-length").value(), "13");

  ASSERT_EQ(server.received.size(), 1u);
  const HttpRequestHead& h = server.received[0].head;
  EXPECT_EQ(h.method, "GET");
  SplitTarget t = split_target(h.target);
  EXPECT_EQ(t.path, "/api2/json/nodes/pve1/qemu/100/vncwebsocket");
  auto q = parse_form(t.query);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ((*q)[1].second, "PVE:root@pam:6745ABCD::a+b/c==");
  EXPECT_EQ(h.headers.get("Host").value(), "pve1.example.com:8006");
  EXPECT_EQ(h.headers.get("User-Agent").value().substr(0, 10), "pvebridge/");
  EXPECT_EQ(h.headers.get_all("Accept").size(), 1u);
  EXPECT_EQ(h.headers.get("Accept").value(), "text/plain");
  EXPECT_EQ(h.headers.get("CSRFPreventionToken").value(), "tok");
  EXPECT_FALSE(h.headers.get("Content-Length").has_value());
}

TEST_F(RestClientTest, PostFormBody) {
  const std::string ticket = "PVE:root@pam:6745ABCD::a+b/c==";
  Outcome o;
  client->request(
      post("/api2/json/access/ticket", {{"username", "root@pam"}, {"password", ticket}}),
      o.callback());
  run(o);
  ASSERT_TRUE(o.result->ok());
  ASSERT_EQ(server.received.size(), 1u);
  const auto& req = server.received[0];
  EXPECT_EQ(req.head.method, "POST");
  EXPECT_EQ(req.head.headers.get("Content-Type").value(), "application/x-www-form-urlencoded");
  EXPECT_EQ(req.head.headers.get("Content-Length").value(), std::to_string(req.body.size()));
  auto form = parse_form(req.body);
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ((*form)[1].second, ticket);
}

TEST_F(RestClientTest, PostJsonAndEmptyPost) {
  RestRequest r;
  r.method = "POST";
  r.path = "/api2/json/nodes/pve1/qemu/100/status/start";
  Outcome empty;
  client->request(r, empty.callback());
  r.json_body = R"({"timeout":5})";
  Outcome json;
  client->request(r, json.callback());
  run(json);
  ASSERT_TRUE(empty.done && empty.result->ok() && json.result->ok());
  ASSERT_EQ(server.received.size(), 2u);
  EXPECT_EQ(server.received[0].head.headers.get("Content-Length").value(), "0");
  EXPECT_EQ(server.received[1].head.headers.get("Content-Type").value(), "application/json");
  EXPECT_EQ(server.received[1].body, R"({"timeout":5})");
}

TEST_F(RestClientTest, HttpErrorStatusIsAResponse) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    c.respond(500, R"({"data":null})", {}, "VM 101 not running");
  };
  Outcome o;
  client->request(get("/x"), o.callback());
  run(o);
  ASSERT_TRUE(o.result->ok());
  EXPECT_EQ(o.response().status, 500);
  EXPECT_EQ(o.response().reason, "VM 101 not running");
  EXPECT_FALSE(o.response().ok());
}

TEST_F(RestClientTest, KeepAliveReusesOneConnectionForThreeRequests) {
  Outcome a, b, c;
  client->request(get("/a"), a.callback());
  client->request(get("/b"), b.callback());
  client->request(post("/c", {{"k", "v"}}), c.callback());
  EXPECT_EQ(client->queued_requests(), 3u);
  run(c);
  ASSERT_TRUE(a.done && b.done);
  EXPECT_TRUE(a.result->ok() && b.result->ok() && c.result->ok());
  EXPECT_EQ(client->connections_opened(), 1u);
  ASSERT_EQ(server.received.size(), 3u);
  EXPECT_EQ(server.received[0].head.target, "/a");
  EXPECT_EQ(server.received[1].head.target, "/b");
  EXPECT_EQ(server.received[2].head.target, "/c");
  for (const auto& r : server.received) EXPECT_EQ(r.connection, 0u);
  EXPECT_EQ(client->queued_requests(), 0u);
}

TEST_F(RestClientTest, ConnectionCloseHeaderMeansANewConnection) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    HttpHeaders h;
    h.add("Connection", "close");
    c.respond(200, "{}", h);
  };
  Outcome a, b;
  client->request(get("/a"), a.callback());
  client->request(get("/b"), b.callback());
  run(b);
  ASSERT_TRUE(a.result->ok() && b.result->ok());
  EXPECT_EQ(client->connections_opened(), 2u);
  EXPECT_EQ(server.received[1].connection, 1u);
}

TEST_F(RestClientTest, ServerClosingAfterResponseLeadsToReconnect) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    c.respond(200, "{}");
    c.close(CloseMode::Flush);
  };
  Outcome a;
  client->request(get("/a"), a.callback());
  run(a);
  ASSERT_TRUE(a.result->ok());
  // Let the close reach the idle client connection.
  ASSERT_TRUE(loop.run_until([&] { return server.conns[0]->closed(); }));
  Outcome b;
  client->request(get("/b"), b.callback());
  run(b);
  ASSERT_TRUE(b.result->ok()) << b.error().message();
  EXPECT_EQ(client->connections_opened(), 2u);
  EXPECT_EQ(server.received.size(), 2u);
}

TEST_F(RestClientTest, IdleCloseIsNoticedBeforeTheNextRequest) {
  Outcome a;
  client->request(get("/a"), a.callback());
  run(a);
  server.conns[0]->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] {
    return std::any_of(log.begin(), log.end(), [](const std::string& l) {
      return l.find("closed by the server while idle") != std::string::npos;
    });
  }));
  Outcome b;
  client->request(get("/b"), b.callback());
  run(b);
  ASSERT_TRUE(b.result->ok());
  EXPECT_EQ(client->connections_opened(), 2u);
  // No retry was needed: the second request went straight to the new connection.
  ASSERT_EQ(server.received.size(), 2u);
  EXPECT_EQ(server.received[1].connection, 1u);
}

// The keep-alive race: the server drops a reused connection as the next request arrives.
void drop_second_request_on_first_connection(FakeServer& server, CloseMode mode) {
  server.handler = [mode](FakeServer::Conn& c, const FakeServer::Request& r) {
    bool second_on_first = r.connection == 0 && r.head.target == "/second";
    if (second_on_first) {
      c.close(mode);
      return;
    }
    c.respond(200, "{}");
  };
}

TEST_F(RestClientTest, IdempotentRequestIsRetriedOnceAfterKeepAliveRace) {
  for (CloseMode mode : {CloseMode::Abort, CloseMode::Flush}) {
    server.received.clear();
    server.conns.clear();
    client = make_client({});
    drop_second_request_on_first_connection(server, mode);
    Outcome a, b;
    client->request(get("/first"), a.callback());
    client->request(get("/second"), b.callback());
    run(b);
    ASSERT_TRUE(a.result->ok());
    ASSERT_TRUE(b.result->ok()) << b.error().message();
    EXPECT_EQ(client->connections_opened(), 2u);
    ASSERT_EQ(server.received.size(), 3u);  // /second seen twice: dropped, then answered
    EXPECT_EQ(server.received[2].connection, 1u);
  }
}

TEST_F(RestClientTest, PostIsNotRetriedAfterKeepAliveRace) {
  drop_second_request_on_first_connection(server, CloseMode::Abort);
  Outcome a, b, c;
  client->request(get("/first"), a.callback());
  client->request(post("/second", {{"vmid", "100"}}), b.callback());
  client->request(get("/third"), c.callback());
  run(c);
  ASSERT_TRUE(a.result->ok());
  ASSERT_FALSE(b.result->ok());
  EXPECT_EQ(b.error().code(), Errc::connection_lost);
  EXPECT_NE(b.error().detail().find("POST /second: "), std::string::npos);
  EXPECT_NE(b.error().detail().find("not retried"), std::string::npos);
  // The POST reached the server once; the next request still works on a new connection.
  ASSERT_TRUE(c.result->ok());
  EXPECT_EQ(std::count_if(server.received.begin(), server.received.end(),
                          [](const auto& r) { return r.head.target == "/second"; }),
            1);
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(RestClientTest, ConnectionKnownDeadIsNotWrittenTo) {
  Outcome a;
  client->request(get("/a"), a.callback());
  run(a);
  ASSERT_TRUE(a.result->ok());
  // The server resets the idle connection. The client transport learns it first (closed()) and
  // its sink is told a loop iteration later; a POST issued in between must not be written to it.
  server.conns[0]->close(CloseMode::Abort);
  Outcome b;
  loop.post([&] { client->request(post("/start", {{"x", "1"}}), b.callback()); });
  run(b);
  ASSERT_TRUE(b.result->ok()) << b.error().message();
  EXPECT_EQ(client->connections_opened(), 2u);
  ASSERT_EQ(server.received.size(), 2u);
  EXPECT_EQ(server.received[1].connection, 1u);
}

TEST_F(RestClientTest, BytesAfterAResponseRetireTheConnection) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request& r) {
    c.respond(200, "{}");
    if (r.head.target == "/a") c.write_raw("HTTP/1.1 200 OK\r\n");  // unasked for
  };
  Outcome a, b;
  client->request(get("/a"), a.callback());
  client->request(get("/b"), b.callback());
  run(b);
  ASSERT_TRUE(a.result->ok() && b.result->ok());
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(RestClientTest, InvalidDefaultHeaderIsRejected) {
  client->set_default_header("Cookie", "PVEAuthCookie=a\nb");
  Outcome o;
  client->request(get("/a"), o.callback());
  run(o);
  ASSERT_FALSE(o.result->ok());
  EXPECT_EQ(o.error().code(), Errc::usage);
  EXPECT_EQ(o.error().detail(), "GET /a: invalid value for request header 'Cookie'");
}

TEST_F(RestClientTest, FreshConnectionFailureIsNotRetried) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    c.close(CloseMode::Abort);
  };
  Outcome o;
  client->request(get("/a"), o.callback());
  run(o);
  ASSERT_FALSE(o.result->ok());
  EXPECT_EQ(o.error().code(), Errc::connection_lost);
  EXPECT_EQ(o.error().detail().rfind("GET /a: ", 0), 0u);
  EXPECT_EQ(client->connections_opened(), 1u);
}

TEST_F(RestClientTest, ResponseCutShortIsConnectionLost) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    c.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    c.close(CloseMode::Flush);
  };
  Outcome o;
  client->request(get("/a"), o.callback());
  run(o);
  ASSERT_FALSE(o.result->ok());
  EXPECT_EQ(o.error().code(), Errc::connection_lost);
  EXPECT_EQ(client->connections_opened(), 1u);
}

TEST_F(RestClientTest, TimeoutThenTheClientStillWorks) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request& r) {
    if (r.head.target != "/api2/json/nodes/pve1/qemu/100/vncproxy") c.respond(200, "{}");
  };
  RestRequest slow = post("/api2/json/nodes/pve1/qemu/100/vncproxy", {{"websocket", "1"}});
  slow.timeout_ms = 20;
  Outcome a, b;
  client->request(std::move(slow), a.callback());
  client->request(get("/next"), b.callback());
  run(b);
  ASSERT_FALSE(a.result->ok());
  EXPECT_EQ(a.error().code(), Errc::timeout);
  EXPECT_EQ(a.error().detail(),
            "POST /api2/json/nodes/pve1/qemu/100/vncproxy: no response within 20 ms");
  ASSERT_TRUE(b.result->ok());
  EXPECT_EQ(client->connections_opened(), 2u);  // the timed-out connection is not reused
}

TEST(RestClientTimeout, Describe) {
  EXPECT_EQ(describe_timeout(15000), "15 s");
  EXPECT_EQ(describe_timeout(1500), "1.5 s");
  EXPECT_EQ(describe_timeout(20), "20 ms");
  EXPECT_EQ(describe_timeout(1234), "1234 ms");
}

TEST_F(RestClientTest, OversizedBodyIsTooLarge) {
  HttpLimits limits;
  limits.max_body_bytes = 100;
  client = make_client(limits);
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request& r) {
    if (r.head.target == "/length") {
      c.respond(200, std::string(1000, 'x'));
    } else {
      c.write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; i < 20; ++i) c.write_raw("a\r\n0123456789\r\n");
      c.write_raw("0\r\n\r\n");
    }
  };
  Outcome a, b;
  client->request(get("/length"), a.callback());
  client->request(get("/chunked"), b.callback());
  run(b);
  ASSERT_FALSE(a.result->ok());
  EXPECT_EQ(a.error().code(), Errc::too_large);
  EXPECT_EQ(a.error().detail().rfind("GET /length: ", 0), 0u);
  ASSERT_FALSE(b.result->ok());
  EXPECT_EQ(b.error().code(), Errc::too_large);
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(RestClientTest, ChunkedResponse) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    c.write_raw(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        "9;x=y\r\n{\"data\":[\r\n5\r\n1,2,3\r\n2\r\n]}\r\n0\r\nX-T: 1\r\n\r\n");
  };
  Outcome a, b;
  client->request(get("/a"), a.callback());
  client->request(get("/b"), b.callback());
  run(b);
  ASSERT_TRUE(a.result->ok() && b.result->ok());
  EXPECT_EQ(a.response().body, R"({"data":[1,2,3]})");
  EXPECT_EQ(client->connections_opened(), 1u);  // chunked framing keeps the connection
}

TEST_F(RestClientTest, MalformedResponseIsProtocolError) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    c.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nBad Header\r\n\r\nx");
  };
  Outcome o;
  client->request(get("/a"), o.callback());
  run(o);
  ASSERT_FALSE(o.result->ok());
  EXPECT_EQ(o.error().code(), Errc::protocol);
}

TEST(RestClientChopped, OneByteDeliveriesBothWays) {
  Loop loop;
  FakeServer server(loop, MemPipeOptions{1});
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request& r) {
    if (r.head.method == "POST") {
      c.respond(200, r.body);  // echo the form
    } else {
      c.write_raw(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
          "chunked\r\n\r\n4\r\nabcd\r\n3;e=1\r\nefg\r\n0\r\n\r\n");
    }
  };
  RestClient client(loop, server.connector(), "h:8006");
  Outcome a, b, c;
  client.request(post("/access/ticket", {{"password", "PVE:root@pam:6745ABCD::a+b/c=="}}),
                 a.callback());
  client.request(get("/chunked"), b.callback());
  client.request(get("/chunked"), c.callback());
  ASSERT_TRUE(loop.run_until([&] { return c.done; }));
  ASSERT_TRUE(a.result->ok() && b.result->ok() && c.result->ok());
  EXPECT_EQ(parse_form(a.response().body).value()[0].second, "PVE:root@pam:6745ABCD::a+b/c==");
  EXPECT_EQ(b.response().body, "abcdefg");
  EXPECT_EQ(c.response().body, "abcdefg");
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST_F(RestClientTest, SecretsNeverReachTheLog) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    HttpHeaders h;
    h.add("Set-Cookie", "SECRET-RESPONSE-HEADER");
    c.respond(200, R"({"data":{"ticket":"SECRET-RESPONSE-BODY"}})", h);
  };
  RestRequest r = post("/api2/json/access/ticket", {{"password", "SECRET-FORM"}});
  r.headers.add("Cookie", "PVEAuthCookie=SECRET-COOKIE");
  r.query = {{"vncticket", "SECRET-QUERY"}};
  client->set_default_header("Authorization", "PVEAPIToken=root@pam!t=SECRET-TOKEN");
  Outcome o;
  client->request(std::move(r), o.callback());
  run(o);
  ASSERT_TRUE(o.result->ok());
  ASSERT_FALSE(log.empty());
  std::string all;
  for (const auto& line : log) all += line + "\n";
  EXPECT_EQ(all.find("SECRET"), std::string::npos) << all;
  EXPECT_NE(all.find("POST /api2/json/access/ticket"), std::string::npos) << all;
  EXPECT_NE(all.find(": 200"), std::string::npos) << all;
  // The secrets did go over the wire.
  EXPECT_NE(server.received[0].body.find("SECRET-FORM"), std::string::npos);
}

TEST_F(RestClientTest, InvalidRequestsFailAsynchronouslyWithUsage) {
  RestRequest bad_header = get("/a");
  bad_header.headers.add("Cookie", "x\r\nInjected: 1");
  RestRequest bad_path = get("relative");
  RestRequest both = post("/a", {{"a", "b"}});
  both.json_body = "{}";
  std::vector<Outcome> outcomes(3);
  client->request(std::move(bad_header), outcomes[0].callback());
  client->request(std::move(bad_path), outcomes[1].callback());
  client->request(std::move(both), outcomes[2].callback());
  EXPECT_FALSE(outcomes[0].done || outcomes[1].done || outcomes[2].done);
  ASSERT_TRUE(loop.run_until([&] { return outcomes[2].done; }));
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.done);
    ASSERT_FALSE(o.result->ok());
    EXPECT_EQ(o.error().code(), Errc::usage);
  }
  EXPECT_EQ(outcomes[0].error().detail().find("Injected"), std::string::npos);
  EXPECT_TRUE(server.received.empty());
}

TEST_F(RestClientTest, ConnectorWithoutTransportFailsAsynchronously) {
  RestClient c(
      loop, [] { return std::unique_ptr<Transport>(); }, "h");
  Outcome o;
  c.request(get("/a"), o.callback());
  EXPECT_FALSE(o.done);
  run(o);
  ASSERT_FALSE(o.result->ok());
  EXPECT_EQ(o.error().code(), Errc::connect);
}

TEST_F(RestClientTest, CloseDropsCallbacks) {
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) { c.respond(200, "{}"); };
  Outcome a, b, after;
  client->request(get("/a"), a.callback());
  client->request(get("/b"), b.callback());
  client->close();
  client->request(get("/c"), after.callback());
  EXPECT_EQ(client->queued_requests(), 0u);
  // Give any stray callback every chance to run.
  ASSERT_TRUE(loop.run_until([&] { return !server.conns.empty() && server.conns[0]->closed(); }));
  for (int i = 0; i < 5; ++i) loop.post([] {});
  loop.run_until([] { return false; });
  EXPECT_FALSE(a.done || b.done || after.done);
}

TEST_F(RestClientTest, DestroyingInsideACallbackIsSafe) {
  Outcome b;
  bool a_done = false;
  client->request(get("/a"), [&](Result<RestResponse> r) {
    EXPECT_TRUE(r.ok());
    a_done = true;
    client.reset();  // from inside the transport's data callback
  });
  client->request(get("/b"), b.callback());
  ASSERT_TRUE(loop.run_until([&] { return a_done; }));
  loop.run_until([] { return false; });
  EXPECT_FALSE(b.done);
  EXPECT_EQ(client, nullptr);
}

TEST_F(RestClientTest, DestroyingWithRequestsInFlightIsSafe) {
  server.handler = [](FakeServer::Conn&, const FakeServer::Request&) {};  // never answers
  Outcome a;
  client->request(get("/a"), a.callback());
  ASSERT_TRUE(loop.run_until([&] { return !server.received.empty(); }));
  client.reset();
  ASSERT_TRUE(loop.run_until([&] { return server.conns[0]->closed(); }));
  EXPECT_FALSE(a.done);
}

TEST_F(RestClientTest, CallbackMayQueueTheNextRequest) {
  Outcome second;
  bool first_done = false;
  client->request(get("/a"), [&](Result<RestResponse> r) {
    ASSERT_TRUE(r.ok());
    first_done = true;
    client->request(get("/b"), second.callback());
  });
  run(second);
  EXPECT_TRUE(first_done);
  ASSERT_TRUE(second.result->ok());
  EXPECT_EQ(client->connections_opened(), 1u);
}

// --- handing the idle connection over (a console's WebSocket takes it) ---

// Reads what arrives on a connection that was handed over.
struct Taker : TransportSink {
  std::string data;
  bool closed = false;
  void on_data(ByteChain& d, bool) override {
    data += d.to_string();
    d.clear();
  }
  void on_closed(const Error&) override { closed = true; }
};

TEST_F(RestClientTest, IdleConnectionIsHandedOverAndTheNextRequestDialsAnew) {
  // Nothing to hand over before a connection has served a response.
  EXPECT_EQ(client->take_idle_transport(), nullptr);
  Outcome a;
  client->request(get("/a"), a.callback());
  run(a);
  std::unique_ptr<Transport> taken = client->take_idle_transport();
  ASSERT_NE(taken, nullptr);
  EXPECT_TRUE(taken->connected());
  EXPECT_EQ(taken->sink(), nullptr);
  EXPECT_EQ(client->take_idle_transport(), nullptr);  // given once
  // The taker owns the connection: what it writes reaches the same server connection.
  Taker taker;
  taken->set_sink(&taker);
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request& r) {
    c.respond(200, "{\"on\":\"" + r.head.target + "\"}");
  };
  ByteChain raw(std::string("GET /raw HTTP/1.1\r\nHost: x\r\n\r\n"));
  taken->write(raw);
  ASSERT_TRUE(loop.run_until([&] { return taker.data.find("/raw") != std::string::npos; }));
  ASSERT_EQ(server.received.size(), 2u);
  EXPECT_EQ(server.received[1].connection, 0u);
  // The client goes on over a new connection.
  Outcome b;
  client->request(get("/b"), b.callback());
  run(b);
  ASSERT_TRUE(b.result->ok());
  EXPECT_EQ(client->connections_opened(), 2u);
  EXPECT_EQ(server.received[2].connection, 1u);
}

// Taken from inside the response's callback (as a console opens its WebSocket from vncproxy's).
TEST_F(RestClientTest, IdleConnectionCanBeTakenFromInsideTheCallback) {
  std::unique_ptr<Transport> taken;
  bool done = false;
  client->request(get("/a"), [&](Result<RestResponse> r) {
    ASSERT_TRUE(r.ok());
    taken = client->take_idle_transport();
    done = true;
  });
  ASSERT_TRUE(loop.run_until([&] { return done; }));
  ASSERT_NE(taken, nullptr);
  Taker taker;
  taken->set_sink(&taker);
  server.conns[0]->write_raw("late");
  ASSERT_TRUE(loop.run_until([&] { return taker.data == "late"; }));
}

TEST_F(RestClientTest, BusyOrDeadConnectionIsNotHandedOver) {
  Outcome a;
  client->request(get("/a"), a.callback());
  run(a);
  // A request in flight: not idle.
  Outcome b;
  client->request(get("/b"), b.callback());
  EXPECT_EQ(client->take_idle_transport(), nullptr);
  run(b);
  // Closed by the server while idle: not healthy.
  server.conns[0]->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] {
    return std::any_of(log.begin(), log.end(), [](const std::string& l) {
      return l.find("closed by the server while idle") != std::string::npos;
    });
  }));
  EXPECT_EQ(client->take_idle_transport(), nullptr);
  // After "Connection: close": nothing kept.
  server.handler = [](FakeServer::Conn& c, const FakeServer::Request&) {
    HttpHeaders h;
    h.add("Connection", "close");
    c.respond(200, "{}", h);
  };
  Outcome c;
  client->request(get("/c"), c.callback());
  run(c);
  EXPECT_EQ(client->take_idle_transport(), nullptr);
}

}  // namespace
}  // namespace pvb
