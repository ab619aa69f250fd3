// The WebSocket codec decoding arbitrary bytes in the server role, i.e. frames as a
// client sends them: masked. See ws_decode_fuzz.h for the input layout and the invariants.
#include <cstdint>

#include "fuzz/ws_decode_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  return pvb::fuzz::fuzz_ws_decode(pvb::WsRole::server, bytes, size);
}
