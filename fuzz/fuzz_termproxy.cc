// The termproxy client's pure parts: the escape filter (keyboard bytes), the input framing and the
// wait for "OK" (server bytes), with the input cut into chunks at fuzzer-chosen points.
//
// Input: byte 0 picks the escape character (0: none, else that byte), byte 1 a chunk size (1..64);
// the rest is both the keyboard input and the server's first bytes.
//
// Invariants:
// - feeding the keyboard bytes in chunks gives exactly what a one-byte-at-a-time reference
//   implementation of ssh's rules gives (bytes sent, help count, disconnect point);
// - the framed input parses back, message by message as termproxy reads it, into exactly the
//   bytes sent, each message at most kTermproxyMaxInputChunk bytes;
// - the OK waiter says ok exactly when the server bytes start with "OK" (and leaves the rest),
//   refused exactly when a byte that cannot begin "OK" came, whatever the chunking.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/terminal/escape_filter.h"
#include "engine/terminal/termproxy_codec.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

struct Reference {
  std::string sent;
  int help = 0;
  bool disconnect = false;
};

// ssh's rules, written differently: look back at the previous byte instead of keeping state.
Reference reference_escape(std::string_view in, std::optional<uint8_t> esc) {
  Reference r;
  if (!esc) {
    r.sent = std::string(in);
    return r;
  }
  bool line_start = true;
  for (size_t i = 0; i < in.size(); ++i) {
    uint8_t b = static_cast<uint8_t>(in[i]);
    if (line_start && b == *esc) {
      if (i + 1 == in.size()) return r;  // held at the end
      uint8_t next = static_cast<uint8_t>(in[i + 1]);
      ++i;
      if (next == '.') {
        r.disconnect = true;
        return r;
      }
      if (next == '?') {
        ++r.help;
        line_start = true;
        continue;
      }
      if (next == *esc) {
        r.sent.push_back(static_cast<char>(next));
        line_start = false;
        continue;
      }
      r.sent.push_back(static_cast<char>(*esc));
      b = next;
    }
    r.sent.push_back(static_cast<char>(b));
    line_start = b == '\r' || b == '\n';
  }
  return r;
}

// termproxy's reading of "0:<n>:<bytes>" messages (only input messages are produced here).
std::string unframe(const std::string& framed) {
  std::string out;
  size_t i = 0;
  while (i < framed.size()) {
    FUZZ_CHECK(framed.compare(i, 2, "0:") == 0, "message does not start with 0:");
    size_t colon = framed.find(':', i + 2);
    FUZZ_CHECK(colon != std::string::npos, "no length terminator");
    std::string digits = framed.substr(i + 2, colon - i - 2);
    FUZZ_CHECK(
        !digits.empty() && digits.size() <= 5 &&
            std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }),
        "bad length '" + printable(digits) + "'");
    size_t n = std::stoul(digits);
    FUZZ_CHECK(n >= 1 && n <= kTermproxyMaxInputChunk, "message of " + digits + " bytes");
    FUZZ_CHECK(colon + 1 + n <= framed.size(), "message longer than the framing");
    out += framed.substr(colon + 1, n);
    i = colon + 1 + n;
  }
  return out;
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  if (size < 2) return 0;
  std::optional<uint8_t> esc;
  if (bytes[0] != 0) esc = bytes[0];
  size_t chunk = 1 + bytes[1] % 64;
  std::string_view in(reinterpret_cast<const char*>(bytes + 2), size - 2);

  // Escape filter, chunked, against the reference.
  EscapeFilter filter(esc);
  std::string sent;
  int help = 0;
  bool disconnect = false;
  for (size_t i = 0; i < in.size() && !disconnect; i += chunk) {
    std::string_view part = in.substr(i, chunk);
    EscapeResult r =
        filter.feed({reinterpret_cast<const uint8_t*>(part.data()), part.size()}, sent);
    help += r.help;
    disconnect = r.disconnect;
  }
  Reference want = reference_escape(in, esc);
  FUZZ_CHECK(sent == want.sent, "escape filter sent '" + printable(sent) + "', reference '" +
                                    printable(want.sent) + "'");
  FUZZ_CHECK(help == want.help, "help count differs");
  FUZZ_CHECK(disconnect == want.disconnect, "disconnect differs");

  // Framing round trip (both entry points).
  ByteChain framed;
  termproxy_append_input(framed, {reinterpret_cast<const uint8_t*>(sent.data()), sent.size()});
  FUZZ_CHECK(unframe(framed.to_string()) == sent, "framing does not round trip");
  ByteChain src(in);
  ByteChain framed2;
  termproxy_append_input(framed2, src);
  FUZZ_CHECK(src.empty(), "input chain not drained");
  FUZZ_CHECK(unframe(framed2.to_string()) == std::string(in), "chain framing does not round trip");

  // The OK waiter over the same bytes as server output.
  TermproxyOkWaiter waiter;
  ByteChain server;
  std::string rest;
  for (size_t i = 0; i < in.size(); i += chunk) {
    server.append(in.substr(i, chunk));
    if (waiter.feed(server) != TermproxyOkWaiter::State::waiting) break;
  }
  bool starts_ok = in.size() >= 2 && in.substr(0, 2) == "OK";
  bool impossible = (!in.empty() && in[0] != 'O') || (in.size() >= 2 && in.substr(0, 2) != "OK");
  if (starts_ok) {
    FUZZ_CHECK(waiter.state() == TermproxyOkWaiter::State::ok, "OK not recognised");
    FUZZ_CHECK(server.to_string() == std::string(in.substr(2, server.size())),
               "bytes after OK changed");
  } else if (impossible) {
    FUZZ_CHECK(waiter.state() == TermproxyOkWaiter::State::refused, "garbage not refused");
  } else {
    FUZZ_CHECK(waiter.state() == TermproxyOkWaiter::State::waiting, "decided too early");
  }
  return 0;
}
