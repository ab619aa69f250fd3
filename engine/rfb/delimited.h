// The answer of a delimiter about the unit (message or rectangle) at the front of the bytes it
// was shown.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

namespace pvb::rfb {

template <class Unit>
struct Delimited {
  // Found: the unit and its total length in unit->length. The length may exceed the bytes
  // available: it is known as soon as the fields deciding it arrived (a Raw rectangle's header),
  // so the caller can forward a long body as it streams in. The delimiter's state has moved past
  // this unit: the next call must start `length` bytes further on.
  std::optional<Unit> unit;
  // Not found: the delimiter needs at least this many bytes, counted from the unit's start,
  // before it can say more. Its state has not moved; call again with the same start.
  uint64_t need = 0;

  bool found() const { return unit.has_value(); }
  static Delimited need_bytes(uint64_t n) {
    Delimited d;
    d.need = n;
    return d;
  }
  static Delimited of(Unit u) {
    Delimited d;
    d.unit = std::move(u);
    return d;
  }
};

}  // namespace pvb::rfb
