// URL and form encoding (RFC 3986 / application/x-www-form-urlencoded). No I/O.
// Proxmox tickets hold '+', '/', '=' and ':', and pveproxy's query parser splits at '=' and turns
// '+' into a space, so everything but the unreserved set is percent-encoded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvb {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Percent-encodes everything except ALPHA / DIGIT / "-" / "." / "_" / "~".
std::string url_encode(std::string_view s);
// name=value&name=value with both sides url_encode()d.
std::string form_encode(const FormFields& fields);
// Decodes %XX (and '+' as space when plus_is_space); nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view s, bool plus_is_space);
// Parses a query string or form body; nullopt on a malformed escape.
std::optional<FormFields> parse_form(std::string_view s);

// "/a/b?x=1" -> {"/a/b", "x=1"}
struct SplitTarget {
  std::string path;
  std::string query;
};
SplitTarget split_target(std::string_view target);

}  // namespace pvb
