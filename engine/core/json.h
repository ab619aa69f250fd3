// Thin helpers over simdjson's DOM API, error-code style (no exceptions), for reading replies of
// servers that are loose with types: the accessors accept integers written as strings
// ("port":"5900") and booleans as 0/1, as Perl's JSON encoder produces them. Every error is
// Errc::protocol and names the reply and the field: "vncproxy reply: field 'port' is not a
// number". (The Proxmox reply envelope, {"data": ...}, is engine/proxmox's knowledge:
// proxmox_reply_data() in replies.h.)
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/error.h"

namespace pvb {

using JsonElement = simdjson::dom::element;

// A parsed JSON text that owns its memory: the padded input copy and the parser holding the DOM.
// Elements taken from it stay valid as long as the document lives (it may be moved).
class JsonDocument {
 public:
  // `what` names the reply in error messages ("vncproxy reply").
  static Result<JsonDocument> parse(std::string_view json, std::string_view what);

  JsonElement root() const { return root_; }
  const std::string& what() const { return what_; }

 private:
  JsonDocument() = default;
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::padded_string text_;
  JsonElement root_;
  std::string what_;
};

bool json_is_null(JsonElement value);

// A member of an object. Errors when `object` is not an object or the member is missing.
Result<JsonElement> json_field(JsonElement object, std::string_view field, std::string_view what);

// Lenient typed members (missing, null and wrong types are errors):
// - json_int: an integral number, or a string holding a decimal integer ("5900", "-1").
// - json_bool: true/false, the numbers 0/1, or the strings "0"/"1".
// - json_string: a string, or an integer number written in decimal (Perl's JSON encoder turns
//   a numeric-looking string into a number once it has been used as one).
Result<int64_t> json_int(JsonElement object, std::string_view field, std::string_view what);
Result<bool> json_bool(JsonElement object, std::string_view field, std::string_view what);
Result<std::string> json_string(JsonElement object, std::string_view field, std::string_view what);

// The same for optional members: nullopt when the member is missing or null.
Result<std::optional<int64_t>> json_optional_int(JsonElement object, std::string_view field,
                                                 std::string_view what);
Result<std::optional<bool>> json_optional_bool(JsonElement object, std::string_view field,
                                               std::string_view what);
Result<std::optional<std::string>> json_optional_string(JsonElement object, std::string_view field,
                                                        std::string_view what);

// Converting a value itself (an array item, "data" when it is a bare string such as a UPID).
// `name` is used in the message like a field name.
Result<int64_t> json_as_int(JsonElement value, std::string_view name, std::string_view what);
Result<bool> json_as_bool(JsonElement value, std::string_view name, std::string_view what);
Result<std::string> json_as_string(JsonElement value, std::string_view name, std::string_view what);

}  // namespace pvb
