#include "tests/mock_pveproxy/mock_message.h"

#include <algorithm>

#include "engine/core/json_writer.h"

namespace pvb::mock {

namespace {

constexpr std::string_view kJsonType = "application/json;charset=UTF-8";

// A reason phrase is one line: pveproxy keeps only the first line of a message.
std::string reason_line(std::string_view message) {
  size_t nl = message.find_first_of("\r\n");
  return std::string(message.substr(0, nl));
}

}  // namespace

MockResponse data_reply(std::string_view data_json) {
  MockResponse r;
  JsonWriter w;
  w.begin_object().key("data").raw(data_json).end_object();
  r.body = w.take();
  r.content_type = kJsonType;
  return r;
}

MockResponse error_reply(int status, std::string_view message) {
  MockResponse r = bare_reply(status, message);
  r.body = R"({"data":null})";
  r.content_type = kJsonType;
  return r;
}

MockResponse bare_reply(int status, std::string_view message) {
  MockResponse r;
  r.status = status;
  r.reason = reason_line(message);
  return r;
}

MockResponse param_error_reply(const ParamErrors& errors) {
  MockResponse r = bare_reply(400, "Parameter verification failed.");
  JsonWriter w;
  w.begin_object().key("data").null().key("errors").begin_object();
  for (const auto& [name, message] : errors) w.key(name).value(message);
  w.end_object().end_object();
  r.body = w.take();
  r.content_type = kJsonType;
  return r;
}

const std::string* find_field(const FormFields& fields, std::string_view name) {
  for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
    if (it->first == name) return &it->second;
  }
  return nullptr;
}

void set_field(FormFields& fields, std::string_view name, std::string value) {
  std::erase_if(fields, [&](const auto& f) { return f.first == name; });
  fields.emplace_back(std::string(name), std::move(value));
}

}  // namespace pvb::mock
