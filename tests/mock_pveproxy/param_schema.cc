#include "tests/mock_pveproxy/param_schema.h"
#include "engine/core/text.h"

#include <charconv>

namespace pvb::mock {

namespace {

bool in_enumeration(std::string_view values, std::string_view v) {
  while (!values.empty()) {
    size_t comma = values.find(',');
    std::string_view item = values.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item == v) return true;
    if (comma == std::string_view::npos) break;
    values.remove_prefix(comma + 1);
  }
  return false;
}

// The JSONSchema message for one value, or nullopt when it passes.
std::optional<std::string> check_value(const ParamSpec& spec, const std::string& v) {
  switch (spec.type) {
    case ParamType::string:
      if (spec.max_length != 0 && v.size() > spec.max_length) {
        return "value may only be " + std::to_string(spec.max_length) + " characters long";
      }
      return std::nullopt;
    case ParamType::boolean:
      if (!parse_pve_boolean(v)) return "type check ('boolean') failed - got '" + v + "'";
      return std::nullopt;
    case ParamType::integer: {
      std::optional<int64_t> n = parse_pve_integer(v);
      if (!n) return "type check ('integer') failed - got '" + v + "'";
      if (*n < spec.minimum) {
        return "value must have a minimum value of " + std::to_string(spec.minimum);
      }
      if (*n > spec.maximum) {
        return "value must have a maximum value of " + std::to_string(spec.maximum);
      }
      return std::nullopt;
    }
    case ParamType::enumeration:
      if (!in_enumeration(spec.values, v)) {
        return "value '" + v + "' does not have a value in the enumeration '" +
               std::string(spec.values) + "'";
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<bool> parse_pve_boolean(std::string_view t) {
  if (t == "1" || ascii_iequals(t, "on") || ascii_iequals(t, "yes") || ascii_iequals(t, "true"))
    return true;
  if (t == "0" || ascii_iequals(t, "off") || ascii_iequals(t, "no") || ascii_iequals(t, "false"))
    return false;
  return std::nullopt;
}

std::optional<int64_t> parse_pve_integer(std::string_view t) {
  std::string_view digits = t;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (t.front() == '+') t.remove_prefix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;  // out of range
  return v;
}

ParamErrors check_params(const FormFields& params, std::span<const ParamSpec> specs) {
  ParamErrors errors;
  auto add = [&](std::string_view name, std::string message) {
    for (const auto& e : errors) {
      if (e.first == name) return;  // one message per parameter, the first found
    }
    errors.emplace_back(std::string(name), std::move(message));
  };
  for (const ParamSpec& spec : specs) {
    const std::string* v = find_field(params, spec.name);
    if (v == nullptr) {
      if (spec.required) add(spec.name, "property is missing and it is not optional");
      continue;
    }
    if (std::optional<std::string> msg = check_value(spec, *v)) add(spec.name, std::move(*msg));
  }
  for (const auto& [name, value] : params) {
    bool known = false;
    for (const ParamSpec& spec : specs) known |= spec.name == name;
    if (!known) {
      add(name,
          "property is not defined in schema and the schema does not allow additional "
          "properties");
    }
  }
  return errors;
}

bool boolean_param(const FormFields& params, std::string_view name) {
  const std::string* v = find_field(params, name);
  return v != nullptr && parse_pve_boolean(*v).value_or(false);
}

}  // namespace pvb::mock
