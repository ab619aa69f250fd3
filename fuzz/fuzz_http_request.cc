// HttpRequestParser (the mock pveproxy's server side) fed a byte stream cut at fuzzer-chosen
// points, then end of stream.
//
// Flags (byte 0): bit 0 small limits.
//
// Invariants: as fuzz_http_response (body limit, body_bytes(), front-only draining, leftover is
// the unconsumed suffix, Content-Length bodies are the bytes right before it, final one-line
// errors, same result however the input is cut, heads survive write + parse), plus: after an
// upgrade request the parser stops and leaves the rest of the input alone.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "fuzz/http_fuzz_util.h"
#include "transports/http/http_parser.h"

namespace pvb::fuzz {
namespace {

constexpr size_t kMaxMessages = 16;

std::string start_line(const HttpRequestHead& h) {
  return h.method + " " + h.target + " " + std::to_string(h.minor_version);
}

void check_head_round_trip(const HttpRequestHead& head) {
  ByteChain wire;
  write_request_head(head, wire);
  auto again = parse_request_head(wire, roomy_limits());
  FUZZ_CHECK(again.ok() && again->has_value(),
             "written head does not parse back: " + printable(chain_string(wire)));
  const HttpRequestHead& h = **again;
  FUZZ_CHECK(wire.empty(), "written head parsed with bytes left over");
  FUZZ_CHECK(h.method == head.method, "method changed");
  FUZZ_CHECK(h.target == head.target, "target changed");
  FUZZ_CHECK(h.minor_version == (head.minor_version == 0 ? 0 : 1), "version changed");
  FUZZ_CHECK(h.headers.fields() == head.headers.fields(), "header fields changed");
}

ParseRun run(std::string_view data, const std::vector<size_t>& cuts, const HttpLimits& limits) {
  ParseRun out;
  HttpRequestParser parser(limits);
  ByteChain in;
  ByteChain body;
  std::string fed;
  bool stopped = false;

  auto fail = [&](const Error& e) {
    check_parse_error(e);
    out.error = e.code();
    out.error_detail = e.detail();
    stopped = true;
  };

  auto on_complete = [&] {
    const HttpRequestHead& head = parser.head();
    check_leftover_is_suffix(fed, in);
    std::string body_text = chain_string(body);
    if (head.headers.get_all("Transfer-Encoding").empty()) {
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
    // After an upgrade request the bytes belong to the new protocol.
    if (parser.upgrade_requested() || !parser.keep_alive() || out.messages.size() >= kMaxMessages) {
      stopped = true;
      return;
    }
    parser.reset();
  };

  auto pump = [&]() {
    while (!stopped) {
      auto state = parser.feed(in, body);
      check_leftover_is_suffix(fed, in);
      if (!state.ok()) {
        auto again = parser.feed(in, body);
        FUZZ_CHECK(!again.ok() && again.error().code() == state.error().code(),
                   "a failed parser recovered");
        fail(state.error());
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
    Error end = parser.finish(in);
    if (end.failed()) {
      fail(end);
    } else {
      // Ending cleanly is only possible between requests.
      FUZZ_CHECK(in.empty() && parser.state() != HttpParseState::body,
                 "finish() accepted an unfinished request");
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

  ParseRun whole = run(input.data, {}, limits);
  if (!input.chunk_sizes.empty()) {
    ParseRun cut = run(input.data, input.chunk_sizes, limits);
    FUZZ_CHECK(cut.messages == whole.messages && cut.error == whole.error &&
                   cut.error_detail == whole.error_detail && cut.leftover == whole.leftover,
               "fed in one piece: " + describe(whole) + "\n  fed in chunks: " + describe(cut));
  }
  return 0;
}
