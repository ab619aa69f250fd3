#include <gtest/gtest.h>

#include <span>
#include <string>

#include "engine/rfb/client_handshake.h"
#include "engine/rfb/server_handshake.h"
#include "engine/rfb/vnc_auth.h"
#include "tests/engine/rfb/rfb_test_util.h"

namespace pvb::rfb {
namespace {

using testing::Bytes;

std::array<uint8_t, 16> test_challenge() {
  std::array<uint8_t, 16> c;
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(i * 17 + 3);
  return c;
}
std::string challenge_bytes() {
  auto c = test_challenge();
  return std::string(reinterpret_cast<const char*>(c.data()), c.size());
}
std::string response_bytes(std::string_view password) {
  auto c = test_challenge();
  auto r = vnc_auth_response(password, std::span<const uint8_t, 16>(c));
  return std::string(reinterpret_cast<const char*>(r.data()), r.size());
}
std::string server_init_bytes(std::string_view name = "QEMU (vm 100)") {
  return Bytes()
      .u16(1024)
      .u16(768)
      .pixel_format(PixelFormat::rgb888())
      .u32(name.size())
      .raw(name)
      .str();
}

// What a handshake did with a script of peer bytes fed in pieces.
struct Outcome {
  HandshakeStatus status = HandshakeStatus::need_more;
  std::string out;  // everything it sent
  Error error;
  std::string leftover;  // the input after it finished (the rest of the script appended)
  bool operator==(const Outcome& o) const {
    return status == o.status && out == o.out && error.code() == o.error.code() &&
           error.detail() == o.error.detail() && leftover == o.leftover;
  }
};

template <class Handshake>
Outcome run(Handshake& hs, std::string_view script, size_t piece, bool server_role) {
  Outcome o;
  ByteChain in, out;
  if constexpr (std::is_same_v<Handshake, RfbServerHandshake>) hs.start(out);
  size_t fed = 0;
  do {
    size_t n = piece == 0 ? script.size() - fed : std::min(piece, script.size() - fed);
    testing::append_piece(in, script.substr(fed, n));
    fed += n;
    o.status = hs.feed(in, out);
  } while (o.status == HandshakeStatus::need_more && fed < script.size());
  testing::append_piece(in, script.substr(fed));
  o.out = out.to_string();
  o.error = hs.error();
  o.leftover = in.to_string();
  (void)server_role;
  return o;
}

// Runs the script whole, byte by byte and in 5-byte pieces; all must give the same outcome.
Outcome run_server(const ServerHandshakeConfig& config, std::string_view script,
                   bool* shared = nullptr) {
  RfbServerHandshake whole(config);
  Outcome o = run(whole, script, 0, true);
  for (size_t piece : {size_t{1}, size_t{5}}) {
    RfbServerHandshake split(config);
    EXPECT_EQ(run(split, script, piece, true), o) << "piece " << piece;
  }
  if (shared) *shared = whole.shared();
  return o;
}

Outcome run_client(const ClientHandshakeConfig& config, std::string_view script,
                   ServerInit* init = nullptr, uint8_t* security = nullptr) {
  RfbClientHandshake whole(config);
  Outcome o = run(whole, script, 0, false);
  for (size_t piece : {size_t{1}, size_t{5}}) {
    RfbClientHandshake split(config);
    EXPECT_EQ(run(split, script, piece, false), o) << "piece " << piece;
  }
  if (init) *init = whole.server_init();
  if (security) *security = whole.security_type();
  return o;
}

std::string u32(uint32_t v) {
  return Bytes().u32(v).str();
}
std::string bytes(std::initializer_list<uint8_t> b) {
  return std::string(b.begin(), b.end());
}

ServerHandshakeConfig vnc_server() {
  ServerHandshakeConfig c;
  c.password = "secret";
  c.challenge = test_challenge();
  return c;
}

// ---- Server role (toward the viewer) ----------------------------------------------------------

TEST(RfbServerHandshake, VncAuthEveryVersion) {
  struct Case {
    const char* version;
    bool v33;
  };
  for (Case c :
       {Case{"RFB 003.008\n", false}, Case{"RFB 003.007\n", false}, Case{"RFB 003.003\n", true}}) {
    std::string script = std::string(c.version) + (c.v33 ? "" : bytes({2})) +
                         response_bytes("secret") + bytes({1}) + std::string("\x02\x00", 2);
    bool shared = false;
    Outcome o = run_server(vnc_server(), script, &shared);
    ASSERT_EQ(o.status, HandshakeStatus::done) << c.version << o.error.message();
    std::string expected =
        "RFB 003.008\n" + (c.v33 ? u32(2) : bytes({1, 2})) + challenge_bytes() + u32(0);
    EXPECT_EQ(o.out, expected) << c.version;
    EXPECT_TRUE(shared);
    EXPECT_EQ(o.leftover, std::string("\x02\x00", 2)) << "the first messages stay in the input";
  }
}

TEST(RfbServerHandshake, NoneEveryVersion) {
  ServerHandshakeConfig none;
  bool shared = true;
  Outcome o38 = run_server(none, "RFB 003.008\n" + bytes({1, 0}), &shared);
  ASSERT_EQ(o38.status, HandshakeStatus::done);
  EXPECT_EQ(o38.out, "RFB 003.008\n" + bytes({1, 1}) + u32(0));
  EXPECT_FALSE(shared);
  // 3.7: no SecurityResult after None.
  Outcome o37 = run_server(none, "RFB 003.007\n" + bytes({1, 1}));
  ASSERT_EQ(o37.status, HandshakeStatus::done);
  EXPECT_EQ(o37.out, "RFB 003.008\n" + bytes({1, 1}));
  Outcome o33 = run_server(none, "RFB 003.003\n" + bytes({1}));
  ASSERT_EQ(o33.status, HandshakeStatus::done);
  EXPECT_EQ(o33.out, "RFB 003.008\n" + u32(1));
  // 3.5 is 3.3 (RFC 6143).
  EXPECT_EQ(run_server(none, "RFB 003.005\n" + bytes({1})).out, "RFB 003.008\n" + u32(1));
}

TEST(RfbServerHandshake, WrongPassword) {
  Outcome o38 = run_server(vnc_server(), "RFB 003.008\n" + bytes({2}) + response_bytes("wrong"));
  ASSERT_EQ(o38.status, HandshakeStatus::failed);
  EXPECT_EQ(o38.error.code(), Errc::auth);
  EXPECT_EQ(o38.out, "RFB 003.008\n" + bytes({1, 2}) + challenge_bytes() + u32(1) + u32(21) +
                         "Authentication failed");
  // 3.7 and 3.3: no reason string.
  Outcome o37 = run_server(vnc_server(), "RFB 003.007\n" + bytes({2}) + response_bytes("nope"));
  EXPECT_EQ(o37.error.code(), Errc::auth);
  EXPECT_EQ(o37.out, "RFB 003.008\n" + bytes({1, 2}) + challenge_bytes() + u32(1));
  Outcome o33 = run_server(vnc_server(), "RFB 003.003\n" + response_bytes("secreT"));
  EXPECT_EQ(o33.error.code(), Errc::auth);
  EXPECT_EQ(o33.out, "RFB 003.008\n" + u32(2) + challenge_bytes() + u32(1));
}

TEST(RfbServerHandshake, OnlyTheFirstEightPasswordBytesCount) {
  ServerHandshakeConfig c = vnc_server();
  c.password = "12345678-and-more";
  Outcome o = run_server(c, "RFB 003.008\n" + bytes({2}) + response_bytes("12345678") + bytes({0}));
  EXPECT_EQ(o.status, HandshakeStatus::done);
}

TEST(RfbServerHandshake, SecurityTypeNotOffered) {
  Outcome o = run_server(vnc_server(), "RFB 003.008\n" + bytes({1}));
  ASSERT_EQ(o.status, HandshakeStatus::failed);
  EXPECT_EQ(o.error.code(), Errc::protocol);
  EXPECT_EQ(o.out,
            "RFB 003.008\n" + bytes({1, 2}) + u32(1) + u32(25) + "Security type not offered");
}

TEST(RfbServerHandshake, BadVersions) {
  for (const char* v :
       {"GET / HTTP/1", "RFB 004.000\n", "RFB 003.006\n", "RFB 03.008\n\n", "RFB 003.008\r"}) {
    Outcome o = run_server(vnc_server(), v);
    EXPECT_EQ(o.status, HandshakeStatus::failed) << v;
    EXPECT_EQ(o.error.code(), Errc::protocol) << v;
    EXPECT_EQ(o.out, "RFB 003.008\n") << "nothing more is sent";
  }
}

TEST(RfbServerHandshake, NeedsMoreUntilClientInit) {
  RfbServerHandshake hs(vnc_server());
  ByteChain in, out;
  hs.start(out);
  testing::append_piece(in, "RFB 003.008\n" + bytes({2}) + response_bytes("secret"));
  EXPECT_EQ(hs.feed(in, out), HandshakeStatus::need_more);
  EXPECT_TRUE(in.empty());
  testing::append_piece(in, bytes({0}));
  EXPECT_EQ(hs.feed(in, out), HandshakeStatus::done);
  EXPECT_FALSE(hs.shared());
  EXPECT_EQ(hs.version(), Version::v3_8);
  EXPECT_EQ(hs.security_type(), kSecurityVncAuth);
}

// ---- Client role (toward the node) ------------------------------------------------------------

TEST(RfbClientHandshake, VncAuthEveryVersion) {
  struct Case {
    std::string server_version, our_version;
    bool v33;
  };
  for (const Case& c :
       {Case{"RFB 003.008\n", "RFB 003.008\n", false},
        Case{"RFB 003.007\n", "RFB 003.007\n", false}, Case{"RFB 003.003\n", "RFB 003.003\n", true},
        Case{"RFB 003.889\n", "RFB 003.008\n", false},
        Case{"RFB 004.001\n", "RFB 003.008\n", false},
        Case{"RFB 003.005\n", "RFB 003.003\n", true}}) {
    std::string script = c.server_version + (c.v33 ? u32(2) : bytes({1, 2})) + challenge_bytes() +
                         u32(0) + server_init_bytes() + std::string(3, '\0');
    ClientHandshakeConfig config{"secret", false};
    ServerInit init;
    Outcome o = run_client(config, script, &init);
    ASSERT_EQ(o.status, HandshakeStatus::done) << c.server_version << o.error.message();
    EXPECT_EQ(o.out,
              c.our_version + (c.v33 ? "" : bytes({2})) + response_bytes("secret") + bytes({0}));
    EXPECT_EQ(init.width, 1024);
    EXPECT_EQ(init.height, 768);
    EXPECT_EQ(init.pixel_format, PixelFormat::rgb888());
    EXPECT_EQ(init.name, "QEMU (vm 100)");
    EXPECT_EQ(o.leftover, std::string(3, '\0'));
  }
}

TEST(RfbClientHandshake, NoneEveryVersion) {
  ClientHandshakeConfig config{"", true};
  Outcome o38 = run_client(config, "RFB 003.008\n" + bytes({1, 1}) + u32(0) + server_init_bytes());
  ASSERT_EQ(o38.status, HandshakeStatus::done) << o38.error.message();
  EXPECT_EQ(o38.out, "RFB 003.008\n" + bytes({1, 1}));
  Outcome o37 = run_client(config, "RFB 003.007\n" + bytes({1, 1}) + server_init_bytes());
  ASSERT_EQ(o37.status, HandshakeStatus::done) << o37.error.message();
  EXPECT_EQ(o37.out, "RFB 003.007\n" + bytes({1, 1}));
  Outcome o33 = run_client(config, "RFB 003.003\n" + u32(1) + server_init_bytes());
  ASSERT_EQ(o33.status, HandshakeStatus::done) << o33.error.message();
  EXPECT_EQ(o33.out, "RFB 003.003\n" + bytes({1}));
}

TEST(RfbClientHandshake, ChoosesVncAuthWithAPasswordElseNone) {
  uint8_t chosen = 0;
  run_client({"ticket", true}, "RFB 003.008\n" + bytes({2, 1, 2}), nullptr, &chosen);
  EXPECT_EQ(chosen, kSecurityVncAuth);
  run_client({"", true}, "RFB 003.008\n" + bytes({2, 2, 1}), nullptr, &chosen);
  EXPECT_EQ(chosen, kSecurityNone);
  // Only VNC auth offered and no password: try it (an empty password is a password).
  run_client({"", true}, "RFB 003.008\n" + bytes({1, 2}), nullptr, &chosen);
  EXPECT_EQ(chosen, kSecurityVncAuth);
}

TEST(RfbClientHandshake, NoCommonSecurityType) {
  Outcome o = run_client({"pw", true}, "RFB 003.008\n" + bytes({3, 16, 19, 30}));
  ASSERT_EQ(o.status, HandshakeStatus::failed);
  EXPECT_EQ(o.error.code(), Errc::protocol);
  EXPECT_NE(o.error.detail().find("16 (Tight), 19 (VeNCrypt), 30"), std::string::npos)
      << o.error.detail();
  Outcome o33 = run_client({"pw", true}, "RFB 003.003\n" + u32(19));
  EXPECT_EQ(o33.error.code(), Errc::protocol);
  EXPECT_NE(o33.error.detail().find("19"), std::string::npos);
}

TEST(RfbClientHandshake, ServerRefusesWithAReason) {
  Outcome o = run_client({"pw", true},
                         "RFB 003.008\n" + bytes({0}) + u32(26) + "Too many security failures");
  ASSERT_EQ(o.status, HandshakeStatus::failed);
  EXPECT_EQ(o.error.code(), Errc::console_refused);
  EXPECT_NE(o.error.detail().find("Too many security failures"), std::string::npos);
  Outcome o33 = run_client({"pw", true}, "RFB 003.003\n" + u32(0) + u32(4) + "busy");
  EXPECT_EQ(o33.error.code(), Errc::console_refused);
  EXPECT_NE(o33.error.detail().find("busy"), std::string::npos);
}

TEST(RfbClientHandshake, FailedAuthentication) {
  // 3.8: the reason string is surfaced (made printable).
  Outcome o = run_client({"wrong", true}, "RFB 003.008\n" + bytes({1, 2}) + challenge_bytes() +
                                              u32(1) + u32(22) + "Authentication failed\n");
  ASSERT_EQ(o.status, HandshakeStatus::failed);
  EXPECT_EQ(o.error.code(), Errc::auth);
  EXPECT_NE(o.error.detail().find("Authentication failed?"), std::string::npos) << o.error.detail();
  EXPECT_EQ(o.error.detail().find('\n'), std::string::npos);
  // 3.7 and 3.3: no reason follows.
  Outcome o37 = run_client({"wrong", true},
                           "RFB 003.007\n" + bytes({1, 2}) + challenge_bytes() + u32(1) + "junk");
  EXPECT_EQ(o37.error.code(), Errc::auth);
  EXPECT_EQ(o37.leftover, "junk");
  Outcome o33 = run_client({"wrong", true}, "RFB 003.003\n" + u32(2) + challenge_bytes() + u32(1));
  EXPECT_EQ(o33.error.code(), Errc::auth);
  // 3.8 refusing None.
  Outcome none = run_client({"", true}, "RFB 003.008\n" + bytes({1, 1}) + u32(1) + u32(2) + "no");
  EXPECT_EQ(none.error.code(), Errc::auth);
}

TEST(RfbClientHandshake, MalformedServers) {
  EXPECT_EQ(run_client({"", true}, "SSH-2.0-Open").error.code(), Errc::protocol);
  EXPECT_EQ(run_client({"", true}, "RFB 002.000\n").error.code(), Errc::protocol);
  EXPECT_EQ(run_client({"", true}, "RFB 003.008\n" + bytes({0}) + u32(1u << 20)).error.code(),
            Errc::too_large);
  std::string bad_bpp = Bytes().u16(1).u16(1).u8(24).fill(15, 0).u32(0).str();
  EXPECT_EQ(run_client({"", true}, "RFB 003.003\n" + u32(1) + bad_bpp).error.code(),
            Errc::protocol);
  std::string huge_name =
      Bytes().u16(1).u16(1).pixel_format(PixelFormat::rgb888()).u32(1u << 30).str();
  EXPECT_EQ(run_client({"", true}, "RFB 003.003\n" + u32(1) + huge_name).error.code(),
            Errc::too_large);
}

// ---- Both roles together ----------------------------------------------------------------------

struct Pair {
  HandshakeStatus server = HandshakeStatus::need_more, client = HandshakeStatus::need_more;
};

Pair talk(RfbServerHandshake& server, RfbClientHandshake& client) {
  ByteChain s2c, c2s;
  server.start(s2c);
  Pair p;
  for (int i = 0; i < 20; ++i) {
    if (p.client == HandshakeStatus::need_more) p.client = client.feed(s2c, c2s);
    if (p.server == HandshakeStatus::need_more) p.server = server.feed(c2s, s2c);
    if (p.server == HandshakeStatus::done && s2c.empty()) {
      // The bridge sends the node's ServerInit itself.
      testing::append_piece(s2c, server_init_bytes("pair"));
    }
  }
  return p;
}

TEST(RfbHandshakePair, RolesTalkToEachOther) {
  RfbServerHandshake server(vnc_server());
  RfbClientHandshake client({"secret", true});
  Pair p = talk(server, client);
  EXPECT_EQ(p.server, HandshakeStatus::done) << server.error().message();
  EXPECT_EQ(p.client, HandshakeStatus::done) << client.error().message();
  EXPECT_TRUE(server.shared());
  EXPECT_EQ(client.version(), Version::v3_8);
  EXPECT_EQ(client.security_type(), kSecurityVncAuth);
  EXPECT_EQ(client.server_init().name, "pair");

  RfbServerHandshake none_server(ServerHandshakeConfig{});
  RfbClientHandshake none_client({"", false});
  Pair q = talk(none_server, none_client);
  EXPECT_EQ(q.client, HandshakeStatus::done);
  EXPECT_FALSE(none_server.shared());
}

TEST(RfbHandshakePair, WrongPasswordFailsBothWithTheReason) {
  RfbServerHandshake server(vnc_server());
  RfbClientHandshake client({"guess", true});
  Pair p = talk(server, client);
  EXPECT_EQ(p.server, HandshakeStatus::failed);
  EXPECT_EQ(server.error().code(), Errc::auth);
  EXPECT_EQ(p.client, HandshakeStatus::failed);
  EXPECT_EQ(client.error().code(), Errc::auth);
  EXPECT_NE(client.error().detail().find("Authentication failed"), std::string::npos);
}

// Pipelined (what Upstream does toward a Proxmox node): version and security type go out before
// the server speaks, the response and ClientInit together: two flights instead of four.
TEST(RfbClientHandshake, PipelinedSaysVersionAndTypeFirstThenResponseWithClientInit) {
  ClientHandshakeConfig config{"secret", true, true};
  RfbClientHandshake early(config);
  ByteChain first;
  early.start(first);
  EXPECT_EQ(first.to_string(), "RFB 003.008\n" + bytes({kSecurityVncAuth}));

  const std::string script =
      "RFB 003.008\n" + bytes({1, kSecurityVncAuth}) +
      std::string(reinterpret_cast<const char*>(test_challenge().data()), kChallengeLength) +
      u32(kSecurityResultOk) + server_init_bytes("node");
  ServerInit init;
  Outcome o = run_client(config, script, &init);
  ASSERT_EQ(o.status, HandshakeStatus::done) << o.error.message();
  auto response = vnc_auth_response("secret", test_challenge());
  EXPECT_EQ(o.out, std::string(response.begin(), response.end()) + bytes({1}))
      << "the response and ClientInit, and nothing the server did not need";
  EXPECT_EQ(init.name, "node");

  // A non-pipelined client with the same server says four things.
  Outcome plain = run_client({"secret", true}, script);
  ASSERT_EQ(plain.status, HandshakeStatus::done);
  EXPECT_EQ(plain.out, "RFB 003.008\n" + bytes({kSecurityVncAuth}) +
                           std::string(response.begin(), response.end()) + bytes({1}));
}

TEST(RfbClientHandshake, PipelinedRefusesWhatItDidNotAnnounce) {
  ClientHandshakeConfig config{"secret", true, true};
  Outcome v33 = run_client(config, "RFB 003.003\n" + u32(kSecurityVncAuth));
  EXPECT_EQ(v33.status, HandshakeStatus::failed);
  EXPECT_EQ(v33.error.code(), Errc::protocol);
  EXPECT_NE(v33.error.detail().find("RFB 3.3"), std::string::npos) << v33.error.detail();

  Outcome none_only = run_client(config, "RFB 003.008\n" + bytes({1, kSecurityNone}));
  EXPECT_EQ(none_only.status, HandshakeStatus::failed);
  EXPECT_EQ(none_only.error.code(), Errc::protocol);
  EXPECT_NE(none_only.error.detail().find("1 (None)"), std::string::npos)
      << none_only.error.detail();
}

}  // namespace
}  // namespace pvb::rfb
