// Turning the mock API's replies into the bytes pveproxy would send: its status line (the error
// message as reason phrase), its headers, and the body.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/byte_chain.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/mock_message.h"

namespace pvb::mock {

// Size of the header line the oversized_header fault adds: larger than any client should accept.
inline constexpr size_t kOversizedHeaderBytes = 64 * 1024 + 1;

// Status line, pveproxy's headers (Cache-Control, Connection, Date, Expires, Pragma, Server,
// Content-Type, Content-Length), the oversized header when the reply asks for it, then the body.
// `now` is the Date (unix seconds). A reason holding control characters has them replaced by
// spaces: error messages must not split the head.
void write_mock_reply(const MockResponse& reply, bool keep_alive, int64_t now, ByteChain& out);

// The 101 answer to an accepted console websocket.
void write_upgrade_reply(const ConsoleGrant& grant, ByteChain& out);

// The reply pveproxy gives to a request it could not read: 400 for a malformed head, 431 for too
// many or too long header lines, 413 for a body over its 64 KiB limit. `had_head` = the head was
// parsed (so the error came from the body).
MockResponse request_error_reply(const Error& parse_error, bool had_head);

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string http_date(int64_t unix_seconds);

}  // namespace pvb::mock
