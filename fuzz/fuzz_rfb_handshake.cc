// Both RFB handshakes (engine/rfb/server_handshake.h, client_handshake.h) fed arbitrary bytes
// from their peer.
//
// Input: byte 0 picks the role and configuration (bit 0: server role toward a viewer, else client
// role toward a node; bit 1: with a password (VNC auth) else None / no password; bit 2: the
// client's shared flag), then the chunked layout of fuzz_support.h (flags unused, cut sizes,
// data: the peer's bytes).
// Invariants: the same status, bytes sent, error and leftover whole, byte by byte and cut as the
// input says; errors are one line with an expected code (auth only for authentication); the
// server role never finishes VNC auth without the right response in the input; the client role's
// done means a ServerInit with 8, 16 or 32 bpp, and the leftover is a suffix of the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/rfb/client_handshake.h"
#include "engine/rfb/server_handshake.h"
#include "engine/rfb/vnc_auth.h"
#include "fuzz/rfb_fuzz.h"

namespace pvb::fuzz {
namespace {

using rfb::HandshakeStatus;

constexpr std::string_view kPassword = "fuzzpass";

std::array<uint8_t, 16> challenge() {
  std::array<uint8_t, 16> c;
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(0xC0 + i);
  return c;
}

struct Outcome {
  HandshakeStatus status = HandshakeStatus::need_more;
  std::string out, leftover;
  Errc code = Errc::ok;
  std::string detail;
  bool operator==(const Outcome&) const = default;
};

template <class Handshake>
Outcome run(Handshake& hs, std::string_view data, const std::vector<size_t>& sizes) {
  Outcome o;
  ByteChain in, out;
  if constexpr (std::is_same_v<Handshake, rfb::RfbServerHandshake>) hs.start(out);
  size_t fed = 0, cut = 0;
  do {
    size_t n = sizes.empty() ? data.size() - fed
                             : std::min(sizes[cut++ % sizes.size()], data.size() - fed);
    append_chunk(in, data.substr(fed, n));
    fed += n;
    o.status = hs.feed(in, out);
  } while (o.status == HandshakeStatus::need_more && fed < data.size());
  append_chunk(in, data.substr(fed));
  o.out = chain_string(out);
  o.leftover = chain_string(in);
  o.code = hs.error().code();
  o.detail = hs.error().detail();
  FUZZ_CHECK((o.status == HandshakeStatus::failed) == (o.code != Errc::ok), "status vs error");
  FUZZ_CHECK(is_one_line(hs.error().message()), "multi-line error: " + printable(o.detail));
  FUZZ_CHECK(o.code == Errc::ok || o.code == Errc::protocol || o.code == Errc::auth ||
                 o.code == Errc::console_refused || o.code == Errc::too_large,
             std::string("unexpected error code ") + errc_name(o.code));
  FUZZ_CHECK(data.substr(data.size() - o.leftover.size()) == o.leftover,
             "the leftover is not the input's tail");
  return o;
}

void server_role(bool with_password, const ChunkedInput& in) {
  rfb::ServerHandshakeConfig config;
  if (with_password) config.password = std::string(kPassword);
  config.challenge = challenge();
  rfb::RfbServerHandshake whole(config);
  Outcome o = run(whole, in.data, {});
  rfb::RfbServerHandshake bytewise(config);
  FUZZ_CHECK(run(bytewise, in.data, {1}) == o, "server outcome differs byte by byte");
  if (!in.chunk_sizes.empty()) {
    rfb::RfbServerHandshake cut(config);
    FUZZ_CHECK(run(cut, in.data, in.chunk_sizes) == o, "server outcome differs in pieces");
  }
  if (o.status == HandshakeStatus::done && with_password) {
    auto c = challenge();
    auto r = vnc_auth_response(kPassword, std::span<const uint8_t, 16>(c));
    std::string_view response(reinterpret_cast<const char*>(r.data()), r.size());
    FUZZ_CHECK(in.data.find(response) != std::string_view::npos,
               "authenticated without the right response");
  }
  FUZZ_CHECK(o.code != Errc::auth || with_password, "an auth failure without a password");
  FUZZ_CHECK(o.code != Errc::console_refused && o.code != Errc::too_large,
             "server role error code");
}

void client_role(bool with_password, bool shared, const ChunkedInput& in) {
  rfb::ClientHandshakeConfig config{with_password ? std::string(kPassword) : "", shared};
  rfb::RfbClientHandshake whole(config);
  Outcome o = run(whole, in.data, {});
  rfb::RfbClientHandshake bytewise(config);
  FUZZ_CHECK(run(bytewise, in.data, {1}) == o, "client outcome differs byte by byte");
  if (!in.chunk_sizes.empty()) {
    rfb::RfbClientHandshake cut(config);
    FUZZ_CHECK(run(cut, in.data, in.chunk_sizes) == o, "client outcome differs in pieces");
  }
  if (o.status == HandshakeStatus::done) {
    const uint8_t bpp = whole.server_init().pixel_format.bits_per_pixel;
    FUZZ_CHECK(bpp == 8 || bpp == 16 || bpp == 32, "ServerInit accepted with odd bpp");
    FUZZ_CHECK(!o.out.empty() && static_cast<uint8_t>(o.out.back()) == (shared ? 1 : 0),
               "ClientInit is not the last byte sent");
    const uint8_t t = whole.security_type();
    FUZZ_CHECK(t == rfb::kSecurityNone || t == rfb::kSecurityVncAuth, "odd security type");
  }
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb::fuzz;
  if (size < 1) return 0;
  const uint8_t mode = bytes[0];
  ChunkedInput in = parse_chunked_input(bytes + 1, size - 1);
  if (in.data.size() > 16 * 1024) return 0;
  if (mode & 1) {
    server_role(mode & 2, in);
  } else {
    client_role(mode & 2, mode & 4, in);
  }
  return 0;
}
