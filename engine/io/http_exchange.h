// The HTTP seam the engine makes its REST calls through: a request in, a response (any status) or
// an Error out. The Proxmox client is written against it; transports/http's RestClient implements
// it over a Transport (HTTP/1.1, keep-alive), and tests implement it in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/url.h"

namespace pvb {

// Header fields in arrival order; names compare case-insensitively.
class HttpHeaders {
 public:
  void add(std::string name, std::string value);
  // First value of the field, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  std::vector<std::string_view> get_all(std::string_view name) const;
  // True when a comma-separated field (Connection, Upgrade) lists token, case-insensitively.
  bool has_token(std::string_view name, std::string_view token) const;
  void remove(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct RestRequest {
  std::string method;                    // "GET", "POST", ...
  std::string path;                      // origin-form path without query: "/api2/json/version"
  FormFields query;                      // appended as ?a=b&c=d, every name and value url-encoded
  std::optional<FormFields> form;        // application/x-www-form-urlencoded body
  std::optional<std::string> json_body;  // application/json body (not together with form)
  HttpHeaders headers;                   // added to (and overriding) the exchange's own headers
  uint64_t timeout_ms = 15000;           // from sending until the whole response is in
};

struct RestResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;
  std::string body;
  bool ok() const { return status >= 200 && status < 300; }
};

// "15 s", "1.5 s", "50 ms": how a timeout reads in error messages.
std::string describe_timeout(uint64_t ms);

class HttpExchange {
 public:
  using Done = std::function<void(Result<RestResponse>)>;
  using Logger = std::function<void(std::string_view)>;

  virtual ~HttpExchange() = default;

  // Queues a request; `done` is called exactly once (unless the exchange is closed or destroyed
  // first), from a loop callback, never from inside request(). Transport failures, timeouts and
  // malformed responses are Errors; every HTTP status is a response.
  virtual void request(RestRequest request, Done done) = 0;
  // Drops queued and in-flight requests without calling their callbacks. Later requests are
  // ignored.
  virtual void close() = 0;
  // For --verbose: one line per event; never header values, query values or bodies (secrets).
  virtual void set_logger(Logger logger) = 0;
};

}  // namespace pvb
