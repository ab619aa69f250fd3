#include "engine/core/json.h"

#include <charconv>
#include <cmath>

namespace pvb {

namespace {

Error field_error(std::string_view what, std::string_view name, std::string_view problem) {
  std::string detail(what);
  detail += ": field '";
  detail += name;
  detail += "' ";
  detail += problem;
  return Error(Errc::protocol, std::move(detail));
}

std::optional<int64_t> parse_decimal(std::string_view s) {
  int64_t n = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') return std::nullopt;  // from_chars rejects it too; be explicit
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return n;
}

// Optional member lookup: nullopt for a missing or null member.
Result<std::optional<JsonElement>> optional_field(JsonElement object, std::string_view field,
                                                  std::string_view what) {
  simdjson::dom::object obj;
  if (object.get(obj) != simdjson::SUCCESS) {
    return field_error(what, field, "cannot be read: the value holding it is not an object");
  }
  JsonElement value;
  if (obj.at_key(field).get(value) != simdjson::SUCCESS || json_is_null(value)) {
    return std::optional<JsonElement>();
  }
  return std::optional<JsonElement>(value);
}

template <class T, class Convert>
Result<std::optional<T>> optional_member(JsonElement object, std::string_view field,
                                         std::string_view what, Convert convert) {
  auto value = optional_field(object, field, what);
  if (!value.ok()) return value.error();
  if (!value->has_value()) return std::optional<T>();
  auto converted = convert(**value, field, what);
  if (!converted.ok()) return converted.error();
  return std::optional<T>(std::move(*converted));
}

template <class T, class Convert>
Result<T> required_member(JsonElement object, std::string_view field, std::string_view what,
                          Convert convert) {
  auto value = json_field(object, field, what);
  if (!value.ok()) return value.error();
  return convert(*value, field, what);
}

}  // namespace

Result<JsonDocument> JsonDocument::parse(std::string_view json, std::string_view what) {
  JsonDocument doc;
  doc.what_ = std::string(what);
  doc.text_ = simdjson::padded_string(json);
  doc.parser_ = std::make_unique<simdjson::dom::parser>();
  simdjson::error_code ec = doc.parser_->parse(doc.text_).get(doc.root_);
  if (ec != simdjson::SUCCESS) {
    return Error(Errc::protocol,
                 doc.what_ + ": invalid JSON (" + simdjson::error_message(ec) + ")");
  }
  return doc;
}

bool json_is_null(JsonElement value) {
  return value.type() == simdjson::dom::element_type::NULL_VALUE;
}

Result<JsonElement> json_field(JsonElement object, std::string_view field, std::string_view what) {
  auto value = optional_field(object, field, what);
  if (!value.ok()) return value.error();
  if (!value->has_value()) {
    // Distinguish "absent" from "null" for the reader of the message.
    simdjson::dom::object obj;
    JsonElement present;
    if (object.get(obj) == simdjson::SUCCESS &&
        obj.at_key(field).get(present) == simdjson::SUCCESS) {
      return field_error(what, field, "is null");
    }
    return field_error(what, field, "is missing");
  }
  return **value;
}

Result<int64_t> json_as_int(JsonElement value, std::string_view name, std::string_view what) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::INT64:
      return value.get_int64().value_unsafe();
    case element_type::UINT64:
      break;  // above INT64_MAX: not a value Proxmox sends
    case element_type::DOUBLE: {
      double d = value.get_double().value_unsafe();
      // 5900.0 is 5900; 59.5 or 1e300 are not integers.
      if (std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18) return static_cast<int64_t>(d);
      break;
    }
    case element_type::STRING: {
      if (auto n = parse_decimal(value.get_string().value_unsafe())) return *n;
      break;
    }
    default:
      break;
  }
  return field_error(what, name, "is not a number");
}

Result<bool> json_as_bool(JsonElement value, std::string_view name, std::string_view what) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::BOOL:
      return value.get_bool().value_unsafe();
    case element_type::INT64: {
      int64_t n = value.get_int64().value_unsafe();
      if (n == 0 || n == 1) return n == 1;
      break;
    }
    case element_type::STRING: {
      std::string_view s = value.get_string().value_unsafe();
      if (s == "0" || s == "1") return s == "1";
      break;
    }
    default:
      break;
  }
  return field_error(what, name, "is not a boolean");
}

Result<std::string> json_as_string(JsonElement value, std::string_view name,
                                   std::string_view what) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::STRING:
      return std::string(value.get_string().value_unsafe());
    case element_type::INT64:
      return std::to_string(value.get_int64().value_unsafe());
    case element_type::UINT64:
      return std::to_string(value.get_uint64().value_unsafe());
    default:
      return field_error(what, name, "is not a string");
  }
}

Result<int64_t> json_int(JsonElement object, std::string_view field, std::string_view what) {
  return required_member<int64_t>(object, field, what, json_as_int);
}

Result<bool> json_bool(JsonElement object, std::string_view field, std::string_view what) {
  return required_member<bool>(object, field, what, json_as_bool);
}

Result<std::string> json_string(JsonElement object, std::string_view field, std::string_view what) {
  return required_member<std::string>(object, field, what, json_as_string);
}

Result<std::optional<int64_t>> json_optional_int(JsonElement object, std::string_view field,
                                                 std::string_view what) {
  return optional_member<int64_t>(object, field, what, json_as_int);
}

Result<std::optional<bool>> json_optional_bool(JsonElement object, std::string_view field,
                                               std::string_view what) {
  return optional_member<bool>(object, field, what, json_as_bool);
}

Result<std::optional<std::string>> json_optional_string(JsonElement object, std::string_view field,
                                                        std::string_view what) {
  return optional_member<std::string>(object, field, what, json_as_string);
}

}  // namespace pvb
