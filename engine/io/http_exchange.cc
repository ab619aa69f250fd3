#include "engine/io/http_exchange.h"

#include <algorithm>

#include "engine/core/text.h"

namespace pvb {

std::string describe_timeout(uint64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  if (ms > 1000 && ms % 100 == 0) {
    return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
  }
  return std::to_string(ms) + " ms";
}

void HttpHeaders::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> HttpHeaders::get(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (ascii_iequals(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> HttpHeaders::get_all(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [n, v] : fields_) {
    if (ascii_iequals(n, name)) values.emplace_back(v);
  }
  return values;
}

bool HttpHeaders::has_token(std::string_view name, std::string_view token) const {
  for (std::string_view value : get_all(name)) {
    while (!value.empty()) {
      size_t comma = value.find(',');
      if (ascii_iequals(trim_blanks(value.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return false;
}

void HttpHeaders::remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return ascii_iequals(f.first, name); });
}

}  // namespace pvb
