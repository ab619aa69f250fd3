// The body of fuzz_ws_client_decode and fuzz_ws_server_decode: both WsCodec implementations (the
// zero-copy one WsTransport uses, and the wslay reference) decoding arbitrary bytes in one role,
// fed in fuzzer-chosen chunks. fuzz_ws_differential compares the two with the same pieces.
//
// Flags (byte 0): bit 0 a small max_message (so the too_large path is reachable), bit 1 call
// decode() once more with nothing new after every chunk, bit 2 (fuzz_ws_differential only) the
// server role.
//
// Invariants, for each implementation:
// - every frame the sink hears of passed RFC 6455 admission (RSV clear, known opcode, masking as
//   the role requires, control frames whole and <= 125 bytes, no frame over max_message);
// - message data arrives for text/binary messages only, a message is text or binary throughout,
//   and no message exceeds max_message;
// - nothing at all is reported after a Close; a Close code is 1005 or a valid code;
// - an error is Errc::protocol or Errc::too_large, one line, and final (repeated by decode());
// - the same events (messages, pings, pongs, close) and error come out however the input is cut.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "fuzz/fuzz_support.h"
#include "transports/ws/ws_codec.h"

namespace pvb::fuzz {

class RecordingWsSink : public WsCodecSink {
 public:
  RecordingWsSink(WsRole decoder_role, uint64_t max_message)
      : peer_role_(decoder_role == WsRole::client ? WsRole::server : WsRole::client),
        max_message_(max_message) {}

  // Complete events in order: "text:<bytes>", "binary:<bytes>", "ping:<bytes>", "pong:<bytes>",
  // "close:<code>:<reason>".
  std::vector<std::string> events;
  std::string partial;  // data of a message still in progress
  bool closed = false;

  void on_frame_start(const WsFrameInfo& f) override {
    FUZZ_CHECK(!closed, "frame after Close");
    FUZZ_CHECK(f.rsv == 0, "frame with RSV bits admitted");
    FUZZ_CHECK(f.opcode <= 2 || (f.opcode >= 8 && f.opcode <= 10), "reserved opcode admitted");
    FUZZ_CHECK(f.masked == (peer_role_ == WsRole::client), "frame with the wrong masking admitted");
    if (f.opcode >= 8) {
      FUZZ_CHECK(f.fin && f.payload_length <= 125, "oversized or fragmented control frame");
    }
    FUZZ_CHECK(f.payload_length <= max_message_, "frame over max_message admitted");
  }

  void on_message_data(ByteChain& payload, bool text, bool message_end) override {
    FUZZ_CHECK(!closed, "message data after Close");
    if (in_message_) {
      FUZZ_CHECK(text == message_text_, "a message changed between text and binary");
    }
    in_message_ = true;
    message_text_ = text;
    partial += chain_string(payload);
    payload.clear();
    FUZZ_CHECK(partial.size() <= max_message_,
               "message of " + std::to_string(partial.size()) + " bytes over max_message");
    if (message_end) {
      events.push_back((text ? "text:" : "binary:") + partial);
      partial.clear();
      in_message_ = false;
    }
  }

  void on_ping(ByteChain& payload) override { control("ping:", payload); }
  void on_pong(ByteChain& payload) override { control("pong:", payload); }

  void on_close(uint16_t code, std::string_view reason) override {
    FUZZ_CHECK(!closed, "second Close reported");
    FUZZ_CHECK(code == kWsCloseNoStatus || (code >= 1000 && code <= 4999 && code != 1004 &&
                                            code != 1005 && code != 1006 && code != 1015),
               "invalid close code " + std::to_string(code) + " reported");
    FUZZ_CHECK(reason.size() <= 123, "close reason over 123 bytes");
    closed = true;
    events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
  }

 private:
  void control(const char* what, ByteChain& payload) {
    FUZZ_CHECK(!closed, std::string(what) + " after Close");
    FUZZ_CHECK(payload.size() <= 125, "control payload over 125 bytes");
    events.push_back(what + chain_string(payload));
    payload.clear();
  }

  WsRole peer_role_;
  uint64_t max_message_;
  bool in_message_ = false;
  bool message_text_ = false;
};

struct WsDecodeRun {
  std::vector<std::string> events;
  std::string partial;
  Errc error = Errc::ok;
  std::string error_detail;
};

inline WsDecodeRun run_ws_decode(WsRole role, WsCodecImpl impl, const ChunkedInput& input,
                                 const std::vector<size_t>& cuts) {
  const uint64_t max_message = (input.flags & 1) ? 200 : WsCodecOptions{}.max_message;
  const bool extra_empty_decode = (input.flags & 2) != 0;
  RecordingWsSink sink(role, max_message);
  SeededRandom rng(1);  // the decoder never masks, but the codec wants a generator
  auto codec = make_ws_codec(WsCodecOptions{.role = role,
                                            .max_frame_payload = 16 * 1024,
                                            .max_message = max_message,
                                            .implementation = impl},
                             sink, rng);

  WsDecodeRun out;
  ByteChain in;
  auto decode = [&]() {
    Error e = codec->decode(in);
    if (e.ok()) return true;
    FUZZ_CHECK(e.code() == Errc::protocol || e.code() == Errc::too_large,
               std::string("unexpected error code ") + errc_name(e.code()));
    FUZZ_CHECK(is_one_line(e.message()), "multi-line error: " + printable(e.message()));
    ByteChain more(std::string_view("\x82\x00", 2));  // any further frame
    Error again = codec->decode(more);
    FUZZ_CHECK(again.code() == e.code() && again.detail() == e.detail(),
               "a failed codec recovered");
    out.error = e.code();
    out.error_detail = e.detail();
    return false;
  };
  for_each_chunk(input.data, cuts, [&](std::string_view chunk) {
    append_chunk(in, chunk);
    if (!decode()) return false;
    if (extra_empty_decode && !decode()) return false;
    if (sink.closed) FUZZ_CHECK(in.empty(), "input after a Close was not consumed");
    return true;
  });
  out.events = std::move(sink.events);
  // Data of an unfinished message is dropped when the codec dies; compare it only otherwise.
  if (out.error == Errc::ok) out.partial = sink.partial;
  return out;
}

inline std::string describe(const WsDecodeRun& run) {
  std::string s = std::to_string(run.events.size()) + " events, error " + errc_name(run.error) +
                  " '" + run.error_detail + "', partial '" + printable(run.partial) + "'";
  for (const std::string& e : run.events) s += "\n    " + printable(e);
  return s;
}

inline const char* impl_name(WsCodecImpl impl) {
  return impl == WsCodecImpl::wslay ? "wslay" : "zero-copy";
}

inline int fuzz_ws_decode(WsRole role, const uint8_t* bytes, size_t size) {
  ChunkedInput input = parse_chunked_input(bytes, size);
  for (WsCodecImpl impl : {WsCodecImpl::zero_copy, WsCodecImpl::wslay}) {
    WsDecodeRun whole = run_ws_decode(role, impl, input, {});
    if (input.chunk_sizes.empty()) continue;
    WsDecodeRun cut = run_ws_decode(role, impl, input, input.chunk_sizes);
    FUZZ_CHECK(cut.events == whole.events && cut.error == whole.error &&
                   cut.error_detail == whole.error_detail && cut.partial == whole.partial,
               std::string(impl_name(impl)) + " codec fed in one piece: " + describe(whole) +
                   "\n  fed in chunks: " + describe(cut));
  }
  return 0;
}

}  // namespace pvb::fuzz
