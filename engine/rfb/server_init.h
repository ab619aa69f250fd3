// Writing the ServerInit message toward the viewer: the bridge relays the node's own (size, pixel
// format, desktop name), read by the client handshake (client_handshake.h), after answering the
// viewer's handshake itself.
#pragma once

#include "engine/core/byte_chain.h"
#include "engine/rfb/client_handshake.h"

namespace pvb::rfb {

// Appends ServerInit: width, height, PIXEL_FORMAT, the name's length and the name.
void write_server_init(const ServerInit& init, ByteChain& out);

}  // namespace pvb::rfb
