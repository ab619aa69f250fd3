// URL and form encoding (transports/http/url.h) on arbitrary bytes.
//
// Invariants:
// - url_encode emits only unreserved characters and %XX, and url_decode undoes it exactly;
// - whatever url_decode accepts re-encodes and decodes back to the same bytes;
// - a form parse_form accepts survives form_encode + parse_form unchanged, and so do fields
//   derived from the input (any bytes, empty names and values included);
// - split_target cuts at the first '?' and loses nothing.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

#include "engine/core/url.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool is_upper_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

void check_encoding(std::string_view raw) {
  std::string enc = url_encode(raw);
  for (size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] == '%') {
      FUZZ_CHECK(i + 2 < enc.size() && is_upper_hex(enc[i + 1]) && is_upper_hex(enc[i + 2]),
                 "bad escape in url_encode output: " + printable(enc));
      i += 2;
    } else {
      FUZZ_CHECK(is_unreserved(enc[i]), "reserved character left unencoded: " + printable(enc));
    }
  }
  for (bool plus : {false, true}) {
    auto dec = url_decode(enc, plus);
    FUZZ_CHECK(dec && *dec == raw, "url_decode(url_encode(x)) != x for x = " + printable(raw));
  }
}

void check_decoding(std::string_view text) {
  for (bool plus : {false, true}) {
    auto dec = url_decode(text, plus);
    if (!dec) continue;
    FUZZ_CHECK(dec->size() <= text.size(), "decoding made the text longer");
    auto again = url_decode(url_encode(*dec), plus);
    FUZZ_CHECK(again && *again == *dec, "decoded text does not survive re-encoding");
  }
}

void check_form_round_trip(const FormFields& fields) {
  std::string wire = form_encode(fields);
  auto back = parse_form(wire);
  FUZZ_CHECK(back.has_value(), "form_encode output does not parse: " + printable(wire));
  FUZZ_CHECK(*back == fields, "parse_form(form_encode(f)) != f, wire: " + printable(wire));
}

void check_split_target(std::string_view target) {
  SplitTarget t = split_target(target);
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    FUZZ_CHECK(t.path == target && t.query.empty(), "target without '?' was changed");
  } else {
    FUZZ_CHECK(t.path.find('?') == std::string::npos, "path holds a '?'");
    FUZZ_CHECK(t.path + "?" + t.query == target, "split_target lost bytes");
  }
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  std::string_view text(reinterpret_cast<const char*>(bytes), size);

  check_encoding(text);
  check_decoding(text);
  check_split_target(text);
  if (auto form = parse_form(text)) check_form_round_trip(*form);

  // Fields made from the input: any bytes in names and values, empty ones included.
  FuzzedDataProvider provider(bytes, size);
  FormFields fields;
  while (provider.remaining_bytes() > 0 && fields.size() < 32) {
    std::string name = provider.ConsumeRandomLengthString(64);
    std::string value = provider.ConsumeRandomLengthString(256);
    fields.emplace_back(std::move(name), std::move(value));
  }
  check_form_round_trip(fields);
  return 0;
}
