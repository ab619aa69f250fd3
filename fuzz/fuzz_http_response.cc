// HttpResponseParser fed a byte stream cut at fuzzer-chosen points, then end of stream.
//
// Flags (byte 0): bit 0 small limits, bit 1 the request was a HEAD (no body may follow).
//
// Invariants:
// - the body never exceeds max_body_bytes; body_bytes() is never below the bytes delivered
//   (chunk sizes count when announced) and equals them once the message is complete;
// - the parser only drains its input from the front; after `complete` what is left is exactly the
//   unconsumed suffix, and a body framed by Content-Length or by the close is exactly the input
//   bytes right before it (zero-copy moves must not reorder or lose bytes);
// - errors are final, carry a parse error code and one line of text;
// - cutting the input differently changes nothing: the same messages, error and leftover as when
//   it is fed in one piece;
// - a parsed head survives write_response_head + parse_response_head unchanged.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "fuzz/http_fuzz_util.h"
#include "transports/http/http_parser.h"

namespace pvb::fuzz {
namespace {

// Keep-alive responses on one input are parsed one after the other; more is no new coverage.
constexpr size_t kMaxMessages = 16;

std::string start_line(const HttpResponseHead& h) {
  return std::to_string(h.status) + " " + std::to_string(h.minor_version) + " " + h.reason;
}

void check_head_round_trip(const HttpResponseHead& head) {
  ByteChain wire;
  write_response_head(head, wire);
  auto again = parse_response_head(wire, roomy_limits());
  FUZZ_CHECK(again.ok() && again->has_value(),
             "written head does not parse back: " + printable(chain_string(wire)));
  const HttpResponseHead& h = **again;
  FUZZ_CHECK(wire.empty(), "written head parsed with bytes left over");
  FUZZ_CHECK(h.status == head.status,
             "status changed: " + std::to_string(head.status) + " -> " + std::to_string(h.status));
  // The writer speaks HTTP/1.0 or HTTP/1.1 only.
  FUZZ_CHECK(h.minor_version == (head.minor_version == 0 ? 0 : 1), "version changed");
  // An empty reason is replaced by the standard one.
  if (!head.reason.empty()) {
    FUZZ_CHECK(h.reason == head.reason,
               "reason changed: '" + printable(head.reason) + "' -> '" + printable(h.reason) + "'");
  }
  FUZZ_CHECK(h.headers.fields() == head.headers.fields(), "header fields changed");
}

bool is_chunked_message(const HttpResponseHead& head) {
  return !head.headers.get_all("Transfer-Encoding").empty();
}

ParseRun run(std::string_view data, const std::vector<size_t>& cuts, const HttpLimits& limits,
             std::string_view method) {
  ParseRun out;
  HttpResponseParser parser(limits);
  parser.reset(method);
  ByteChain in;
  ByteChain body;
  std::string fed;
  bool stopped = false;  // an error, a 101, or a connection that cannot carry another response

  auto on_complete = [&] {
    const HttpResponseHead& head = parser.head();
    check_leftover_is_suffix(fed, in);
    std::string body_text = chain_string(body);
    if (!is_chunked_message(head)) {
      size_t end = fed.size() - in.size();
      FUZZ_CHECK(
          body_text.size() <= end &&
              std::string_view(fed).substr(end - body_text.size(), body_text.size()) == body_text,
          "body is not the input bytes before the leftover");
    }
    check_head_round_trip(head);
    out.messages.push_back(
        {start_line(head), head.headers.fields(), std::move(body_text), parser.keep_alive()});
    body.clear();
    if (head.status == 101 || !parser.keep_alive() || out.messages.size() >= kMaxMessages) {
      stopped = true;
      return;
    }
    parser.reset(method);
  };

  // Feeds until the parser wants more bytes; false once parsing is over.
  auto pump = [&]() {
    while (!stopped) {
      auto state = parser.feed(in, body);
      check_leftover_is_suffix(fed, in);
      if (!state.ok()) {
        check_parse_error(state.error());
        auto again = parser.feed(in, body);
        FUZZ_CHECK(!again.ok() && again.error().code() == state.error().code(),
                   "a failed parser recovered");
        out.error = state.error().code();
        out.error_detail = state.error().detail();
        stopped = true;
        break;
      }
      // A chunk's size counts against the limit as soon as its size line is read.
      FUZZ_CHECK(body.size() <= parser.body_bytes(),
                 "body_bytes() " + std::to_string(parser.body_bytes()) + " but " +
                     std::to_string(body.size()) + " delivered");
      if (*state == HttpParseState::complete) {
        FUZZ_CHECK(body.size() == parser.body_bytes(),
                   "complete with body_bytes() " + std::to_string(parser.body_bytes()) + " but " +
                       std::to_string(body.size()) + " delivered");
      }
      FUZZ_CHECK(parser.body_bytes() <= limits.max_body_bytes, "body over the limit");
      FUZZ_CHECK(*state == parser.state(), "feed() result differs from state()");
      if (*state != HttpParseState::complete) break;
      on_complete();
      if (in.empty()) break;
    }
    return !stopped;
  };

  for_each_chunk(data, cuts, [&](std::string_view chunk) {
    append_chunk(in, chunk);
    fed.append(chunk);
    return pump();
  });
  if (!stopped) {
    // End of stream. Between two keep-alive responses it is an orderly close.
    bool between_messages =
        parser.state() == HttpParseState::head && in.empty() && !out.messages.empty();
    if (!between_messages) {
      auto state = parser.finish();
      if (!state.ok()) {
        check_parse_error(state.error());
        out.error = state.error().code();
        out.error_detail = state.error().detail();
      } else {
        FUZZ_CHECK(*state == HttpParseState::complete, "finish() left the message open");
        on_complete();
      }
    }
  }
  out.leftover = chain_string(in) + std::string(data.substr(fed.size()));
  return out;
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  ChunkedInput input = parse_chunked_input(bytes, size);
  HttpLimits limits = limits_for(input.flags);
  std::string_view method = (input.flags & 2) ? "HEAD" : "GET";

  ParseRun whole = run(input.data, {}, limits, method);
  if (!input.chunk_sizes.empty()) {
    ParseRun cut = run(input.data, input.chunk_sizes, limits, method);
    FUZZ_CHECK(cut.messages == whole.messages && cut.error == whole.error &&
                   cut.error_detail == whole.error_detail && cut.leftover == whole.leftover,
               "fed in one piece: " + describe(whole) + "\n  fed in chunks: " + describe(cut));
  }
  return 0;
}
