#include "engine/rfb/server_init.h"

#include "engine/rfb/big_endian.h"

namespace pvb::rfb {

void write_server_init(const ServerInit& init, ByteChain& out) {
  uint8_t head[4 + PixelFormat::kWireLength + 4];
  put_u16(head, init.width);
  put_u16(head + 2, init.height);
  init.pixel_format.write(head + 4);
  put_u32(head + 4 + PixelFormat::kWireLength, static_cast<uint32_t>(init.name.size()));
  out.append_header(head, sizeof head);
  out.append_header(init.name.data(), init.name.size());
}

}  // namespace pvb::rfb
