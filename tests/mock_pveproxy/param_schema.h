// Parameter checking the way Proxmox's JSONSchema does it, with its error texts, so the mock
// rejects what the real API rejects (e.g. `generate-password` on an lxc vncproxy).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "tests/mock_pveproxy/mock_message.h"

namespace pvb::mock {

enum class ParamType { string, boolean, integer, enumeration };

struct ParamSpec {
  std::string_view name;
  ParamType type = ParamType::string;
  bool required = false;
  int64_t minimum = std::numeric_limits<int64_t>::min();
  int64_t maximum = std::numeric_limits<int64_t>::max();
  std::string_view values;  // enumeration: "vm, storage, node, sdn"
  size_t max_length = 0;    // string: 0 = unlimited
};

// Every problem, by parameter name, in spec order then field order: names not in the schema
// ("property is not defined in schema and the schema does not allow additional properties"),
// missing required ones, and type/range/length/enumeration failures. Empty when all is well.
ParamErrors check_params(const FormFields& params, std::span<const ParamSpec> specs);

// Proxmox booleans: 1/on/yes/true and 0/off/no/false, any case.
std::optional<bool> parse_pve_boolean(std::string_view text);
// Optional sign and decimal digits only.
std::optional<int64_t> parse_pve_integer(std::string_view text);

// A boolean parameter's value (false when absent); call after check_params passed.
bool boolean_param(const FormFields& params, std::string_view name);

}  // namespace pvb::mock
