#include "tests/mock_pveproxy/mock_options.h"

#include <charconv>

namespace pvb::mock {

namespace {

constexpr std::string_view kKnownFaults =
    "drop_ws_after=BYTES, stall_ws, reject_ticket, oversized_header, "
    "malformed_json=PATH_SUBSTRING, slow=MS, raw_after_upgrade=KIND";

constexpr RawFrameKind kRawKinds[] = {RawFrameKind::masked_frame, RawFrameKind::rsv_bits,
                                      RawFrameKind::huge_length,  RawFrameKind::reserved_opcode,
                                      RawFrameKind::ping_flood,   RawFrameKind::never_close};

constexpr FaultKind kFaultKinds[] = {FaultKind::drop_ws_after,    FaultKind::stall_ws,
                                     FaultKind::reject_ticket,    FaultKind::oversized_header,
                                     FaultKind::malformed_json,   FaultKind::slow,
                                     FaultKind::raw_after_upgrade};

std::optional<uint64_t> parse_number(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Error usage(std::string message) {
  return Error(Errc::usage, std::move(message));
}

}  // namespace

std::string_view fault_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::drop_ws_after:
      return "drop_ws_after";
    case FaultKind::stall_ws:
      return "stall_ws";
    case FaultKind::reject_ticket:
      return "reject_ticket";
    case FaultKind::oversized_header:
      return "oversized_header";
    case FaultKind::malformed_json:
      return "malformed_json";
    case FaultKind::slow:
      return "slow";
    case FaultKind::raw_after_upgrade:
      return "raw_after_upgrade";
  }
  return "?";
}

std::string_view raw_frame_kind_name(RawFrameKind kind) {
  switch (kind) {
    case RawFrameKind::masked_frame:
      return "masked_frame";
    case RawFrameKind::rsv_bits:
      return "rsv_bits";
    case RawFrameKind::huge_length:
      return "huge_length";
    case RawFrameKind::reserved_opcode:
      return "reserved_opcode";
    case RawFrameKind::ping_flood:
      return "ping_flood";
    case RawFrameKind::never_close:
      return "never_close";
  }
  return "?";
}

Result<Fault> parse_fault(std::string_view spec) {
  size_t eq = spec.find('=');
  std::string_view name = spec.substr(0, eq);
  std::optional<std::string_view> arg;
  if (eq != std::string_view::npos) arg = spec.substr(eq + 1);

  const FaultKind* kind = nullptr;
  for (const FaultKind& k : kFaultKinds) {
    if (fault_name(k) == name) kind = &k;
  }
  if (kind == nullptr) {
    return usage("unknown fault '" + std::string(name) + "' (known: " + std::string(kKnownFaults) +
                 ")");
  }
  Fault fault;
  fault.kind = *kind;
  std::string prefix = "fault " + std::string(name) + ": ";
  switch (fault.kind) {
    case FaultKind::stall_ws:
    case FaultKind::reject_ticket:
    case FaultKind::oversized_header:
      if (arg) return usage(prefix + "takes no argument");
      return fault;
    case FaultKind::drop_ws_after:
    case FaultKind::slow: {
      const char* what = fault.kind == FaultKind::slow ? "milliseconds" : "a byte count";
      std::optional<uint64_t> n = arg ? parse_number(*arg) : std::nullopt;
      if (!n) return usage(prefix + "needs " + what + " (" + std::string(name) + "=N)");
      fault.number = *n;
      return fault;
    }
    case FaultKind::malformed_json:
      if (!arg || arg->empty()) {
        return usage(prefix + "needs a path substring (malformed_json=/cluster/resources)");
      }
      fault.text = std::string(*arg);
      return fault;
    case FaultKind::raw_after_upgrade:
      for (RawFrameKind k : kRawKinds) {
        if (arg && raw_frame_kind_name(k) == *arg) {
          fault.raw = k;
          return fault;
        }
      }
      return usage(prefix +
                   "needs one of masked_frame, rsv_bits, huge_length, reserved_opcode, "
                   "ping_flood, never_close");
  }
  return usage(prefix + "not handled");
}

Error MockOptions::add_fault(std::string_view spec) {
  Result<Fault> fault = parse_fault(spec);
  if (!fault.ok()) return fault.error();
  if (fault->kind != FaultKind::malformed_json && find(fault->kind) != nullptr) {
    return usage("fault " + std::string(fault_name(fault->kind)) + " given twice");
  }
  faults.push_back(std::move(*fault));
  return {};
}

const Fault* MockOptions::find(FaultKind kind) const {
  for (const Fault& f : faults) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

std::optional<uint64_t> MockOptions::drop_ws_after() const {
  const Fault* f = find(FaultKind::drop_ws_after);
  return f ? std::optional<uint64_t>(f->number) : std::nullopt;
}

bool MockOptions::stall_ws() const {
  return find(FaultKind::stall_ws) != nullptr;
}
bool MockOptions::reject_ticket() const {
  return find(FaultKind::reject_ticket) != nullptr;
}
bool MockOptions::oversized_header() const {
  return find(FaultKind::oversized_header) != nullptr;
}

std::optional<uint64_t> MockOptions::slow_ms() const {
  const Fault* f = find(FaultKind::slow);
  return f ? std::optional<uint64_t>(f->number) : std::nullopt;
}

std::optional<RawFrameKind> MockOptions::raw_after_upgrade() const {
  const Fault* f = find(FaultKind::raw_after_upgrade);
  return f ? std::optional<RawFrameKind>(f->raw) : std::nullopt;
}

bool MockOptions::malformed_json_for(std::string_view path) const {
  for (const Fault& f : faults) {
    if (f.kind == FaultKind::malformed_json && path.find(f.text) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace pvb::mock
