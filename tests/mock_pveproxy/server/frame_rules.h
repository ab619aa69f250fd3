// pveproxy's rules for the frames a client sends on a console websocket (its websocket_proxy in
// PVE::APIServer::AnyEvent): masked, FIN set, RSV bits clear, and a size limit that depends on
// the generation: payloads over 128 KiB since libpve-http-server-perl 5.2.1, and before that any
// whole frame over its 64 KiB read buffer. A frame breaking a rule kills the connection.
#pragma once

#include "engine/core/error.h"
#include "tests/mock_pveproxy/mock_options.h"
#include "transports/ws/ws_codec.h"

namespace pvb::mock {

// Wire size of a frame header for this payload length (RFC 6455 minimal length encoding).
size_t ws_header_bytes(const WsFrameInfo& frame);

// ok, or why pveproxy would drop the connection: Errc::protocol for a rule, Errc::too_large for a
// size.
Error check_client_frame(const WsFrameInfo& frame, const MockOptions& options);

}  // namespace pvb::mock
