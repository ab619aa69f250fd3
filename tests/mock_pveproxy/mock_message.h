// The mock API's request and reply, and the reply shapes pveproxy uses:
//   success         200 OK, {"data": …}
//   handler error   status + the message as reason phrase, {"data":null}
//   bad parameters  400 "Parameter verification failed.", {"data":null,"errors":{name: message}}
//   server error    status + reason, empty body (auth failures, upgrade errors: pveproxy answers
//                   these itself, before or after the API handler, without a JSON body)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/url.h"
#include "transports/http/http_message.h"

namespace pvb::mock {

struct MockRequest {
  std::string method;
  std::string path;   // after /api2/json, percent-decoded: "/nodes/pve1/qemu/100/status/current"
  FormFields query;   // the query string's fields
  FormFields params;  // body fields (form or JSON) with the query's merged in, query winning
  HttpHeaders headers;
};

struct MockResponse {
  int status = 200;
  std::string reason = "OK";
  std::string body;          // JSON, or empty
  std::string content_type;  // "application/json;charset=UTF-8" when there is a body
  // The I/O layer waits this long before sending the reply (401 delay, slow fault).
  uint64_t delay_ms = 0;
  // The oversized_header fault: the I/O layer adds a header line larger than 64 KiB.
  bool oversized_header = false;
};

using ParamErrors = std::vector<std::pair<std::string, std::string>>;

// 200 with {"data": <data_json>}.
MockResponse data_reply(std::string_view data_json);
// status with reason `message` and {"data":null}.
MockResponse error_reply(int status, std::string_view message);
// status with reason `message` and no body.
MockResponse bare_reply(int status, std::string_view message);
// 400 Parameter verification failed. with the errors object.
MockResponse param_error_reply(const ParamErrors& errors);

// The last value of a field (later ones override earlier ones, as in pveproxy), or nullptr.
const std::string* find_field(const FormFields& fields, std::string_view name);
// Replaces every value of `name` with one `value`, or appends it.
void set_field(FormFields& fields, std::string_view name, std::string value);

}  // namespace pvb::mock
