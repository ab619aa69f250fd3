// Differential: the zero-copy WsCodec (what WsTransport uses) against the wslay reference, fed the
// same bytes in the same pieces. Flags and input layout as ws_decode_fuzz.h (bit 2: the decoders
// are in the server role, i.e. the input is masked client frames).
//
// Invariants: both see the same messages, pings, pongs and close, in the same order, leave the
// same unfinished message, and fail (or not) with the same error code. Error texts may differ:
// the zero-copy codec names payload problems more precisely than wslay lets the reference do.
// Each run also checks every invariant of ws_decode_fuzz.h.
#include <cstdint>

#include "fuzz/ws_decode_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  ChunkedInput input = parse_chunked_input(bytes, size);
  const WsRole role = (input.flags & 4) ? WsRole::server : WsRole::client;
  WsDecodeRun reference = run_ws_decode(role, WsCodecImpl::wslay, input, input.chunk_sizes);
  WsDecodeRun zero_copy = run_ws_decode(role, WsCodecImpl::zero_copy, input, input.chunk_sizes);
  FUZZ_CHECK(zero_copy.events == reference.events && zero_copy.error == reference.error &&
                 zero_copy.partial == reference.partial,
             "wslay: " + describe(reference) + "\n  zero-copy: " + describe(zero_copy));
  return 0;
}
