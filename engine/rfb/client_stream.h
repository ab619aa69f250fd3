// Delimits what the viewer sends after ClientInit, one message at a time, and keeps the state
// that decides lengths on both sides: the pixel format (SetPixelFormat) and the announced
// encodings (SetEncodings), which enable the extension messages. Looks at bytes in a ByteChain
// without copying or consuming them.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/rfb/delimited.h"
#include "engine/rfb/pixel_format.h"

namespace pvb::rfb {

struct ClientMessage {
  uint8_t type = 0;     // kSetPixelFormat, kSetEncodings, ...
  uint8_t subtype = 0;  // kClientQemu: kQemuExtendedKeyEvent or kQemuAudio
  uint64_t length = 0;  // of the whole message
};

class RfbClientStream {
 public:
  // The pixel format from ServerInit, in force until the viewer sets one.
  explicit RfbClientStream(const PixelFormat& server_format) : format_(server_format) {}

  // Looks at the message starting at `offset` in `in`. SetPixelFormat and SetEncodings are found
  // only once whole (their content is state); other messages as soon as their length is known.
  // On a protocol error the stream is dead: every later call returns the same error.
  Result<Delimited<ClientMessage>> next(const ByteChain& in, size_t offset = 0);

  // The pixel format the viewer asked for last (else ServerInit's).
  const PixelFormat& pixel_format() const { return format_; }
  // The viewer's last SetEncodings list, as sent.
  const std::vector<int32_t>& encodings() const { return encodings_; }
  // True when the last SetEncodings announced this (pseudo-)encoding.
  bool announced(int32_t encoding) const;

 private:
  Result<Delimited<ClientMessage>> fail(Error e);

  PixelFormat format_;
  std::vector<int32_t> encodings_;
  Error error_;
};

}  // namespace pvb::rfb
