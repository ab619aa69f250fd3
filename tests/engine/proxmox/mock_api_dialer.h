// The mock pveproxy's API brain behind the engine's Dialer seam, in memory: ProxmoxClient runs
// against it in-process, with no socket, no TLS and no waiting (the mock's reply delays, such as
// the 3 s after a 401, are ignored). A test may answer a request itself (a server that is no
// Proxmox, a transport failure) and reads every request the client sent.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/core/loop.h"
#include "engine/core/url.h"
#include "engine/io/dialer.h"
#include "tests/mock_pveproxy/mock_api.h"

namespace pvb::testing {

class MockApiDialer : public Dialer {
 public:
  // Answers a request instead of the mock (nullopt: let the mock answer).
  using Override = std::function<std::optional<Result<RestResponse>>(const RestRequest&)>;

  MockApiDialer(Loop& loop, mock::MockApi& api) : loop_(loop), api_(api) {}

  std::unique_ptr<HttpExchange> open_http(const ApiHost&) override {
    return std::make_unique<Exchange>(*this);
  }
  std::unique_ptr<WebSocketStream> open_websocket(const ApiHost&, WebSocketRequest) override {
    return nullptr;
  }
  // Plain streams (the SPICE proxy): what `stream` makes, else none.
  std::unique_ptr<Transport> open_stream(const ApiHost& host) override {
    streams_opened.push_back(host.authority());
    return stream ? stream(host) : nullptr;
  }

  Override override_reply;
  std::function<std::unique_ptr<Transport>(const ApiHost&)> stream;
  std::vector<std::string> streams_opened;  // authorities, in order
  std::vector<RestRequest> requests;        // as the client sent them

  // The requests to paths ending in `suffix` (e.g. "/vncproxy").
  std::vector<const RestRequest*> sent_to(std::string_view suffix) const {
    std::vector<const RestRequest*> out;
    for (const RestRequest& r : requests) {
      if (r.path.ends_with(suffix)) out.push_back(&r);
    }
    return out;
  }

 private:
  class Exchange : public HttpExchange {
   public:
    explicit Exchange(MockApiDialer& d) : d_(d) {}
    void request(RestRequest request, Done done) override {
      if (closed_) return;
      d_.requests.push_back(request);
      Result<RestResponse> reply = answer(request);
      // Never from inside request(), as the seam promises.
      d_.loop_.post([alive = std::weak_ptr<bool>(alive_), done = std::move(done),
                     reply = std::move(reply)]() mutable {
        if (!alive.expired()) done(std::move(reply));
      });
    }
    void close() override { closed_ = true; }
    void set_logger(Logger) override {}

   private:
    Result<RestResponse> answer(const RestRequest& request) {
      if (d_.override_reply) {
        if (auto r = d_.override_reply(request)) return std::move(*r);
      }
      std::string target = request.path;
      if (!request.query.empty()) target += "?" + form_encode(request.query);
      HttpHeaders headers = request.headers;
      std::string body;
      if (request.form) {
        body = form_encode(*request.form);
        headers.add("Content-Type", "application/x-www-form-urlencoded");
      }
      auto parsed = d_.api_.parse(request.method, target, headers, body);
      mock::MockResponse m = std::holds_alternative<mock::MockResponse>(parsed)
                                 ? std::get<mock::MockResponse>(parsed)
                                 : d_.api_.handle(std::get<mock::MockRequest>(parsed));
      RestResponse r;
      r.status = m.status;
      r.reason = m.reason;
      r.body = m.body;
      return r;
    }

    MockApiDialer& d_;
    bool closed_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  };

  Loop& loop_;
  mock::MockApi& api_;
};

}  // namespace pvb::testing
