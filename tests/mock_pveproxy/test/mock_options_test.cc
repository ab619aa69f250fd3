#include "tests/mock_pveproxy/mock_options.h"

#include <gtest/gtest.h>

namespace pvb::mock {
namespace {

TEST(ParseFault, ParsesEveryKnownFault) {
  Result<Fault> drop = parse_fault("drop_ws_after=4096");
  ASSERT_TRUE(drop.ok());
  EXPECT_EQ(drop->kind, FaultKind::drop_ws_after);
  EXPECT_EQ(drop->number, 4096u);

  Result<Fault> slow = parse_fault("slow=250");
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(slow->kind, FaultKind::slow);
  EXPECT_EQ(slow->number, 250u);

  Result<Fault> json = parse_fault("malformed_json=/cluster/resources");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->kind, FaultKind::malformed_json);
  EXPECT_EQ(json->text, "/cluster/resources");

  for (auto [spec, kind] : {std::pair{"stall_ws", FaultKind::stall_ws},
                            std::pair{"reject_ticket", FaultKind::reject_ticket},
                            std::pair{"oversized_header", FaultKind::oversized_header}}) {
    Result<Fault> f = parse_fault(spec);
    ASSERT_TRUE(f.ok()) << spec;
    EXPECT_EQ(f->kind, kind);
  }
}

TEST(ParseFault, ParsesEveryRawAfterUpgradeKind) {
  for (RawFrameKind kind :
       {RawFrameKind::masked_frame, RawFrameKind::rsv_bits, RawFrameKind::huge_length,
        RawFrameKind::reserved_opcode, RawFrameKind::ping_flood, RawFrameKind::never_close}) {
    std::string spec = "raw_after_upgrade=" + std::string(raw_frame_kind_name(kind));
    Result<Fault> f = parse_fault(spec);
    ASSERT_TRUE(f.ok()) << spec;
    EXPECT_EQ(f->kind, FaultKind::raw_after_upgrade);
    EXPECT_EQ(f->raw, kind);
  }
}

TEST(ParseFault, UnknownNameNamesTheKnownOnes) {
  Result<Fault> f = parse_fault("explode=1");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code(), Errc::usage);
  EXPECT_NE(f.error().detail().find("unknown fault 'explode'"), std::string::npos);
  EXPECT_NE(f.error().detail().find("drop_ws_after=BYTES"), std::string::npos);
  EXPECT_NE(f.error().detail().find("raw_after_upgrade=KIND"), std::string::npos);
}

TEST(ParseFault, ArgumentsAreChecked) {
  EXPECT_FALSE(parse_fault("slow").ok());
  EXPECT_FALSE(parse_fault("slow=fast").ok());
  EXPECT_FALSE(parse_fault("slow=-5").ok());
  EXPECT_FALSE(parse_fault("drop_ws_after=").ok());
  EXPECT_FALSE(parse_fault("malformed_json").ok());
  EXPECT_FALSE(parse_fault("malformed_json=").ok());
  EXPECT_FALSE(parse_fault("stall_ws=1").ok());
  Result<Fault> raw = parse_fault("raw_after_upgrade=gibberish");
  ASSERT_FALSE(raw.ok());
  EXPECT_NE(raw.error().detail().find("masked_frame"), std::string::npos);
}

TEST(ParseFault, CutWsTakesAResizeAndAStop) {
  Result<Fault> f = parse_fault("cut_ws=random:5000,rst,times=2,resize=800x600,stop");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->cut.where, CutSpec::Where::random);
  EXPECT_EQ(f->cut.at, 5000u);
  EXPECT_TRUE(f->cut.rst);
  EXPECT_EQ(f->cut.times, 2u);
  EXPECT_EQ(f->cut.resize_width, 800);
  EXPECT_EQ(f->cut.resize_height, 600);
  EXPECT_TRUE(f->cut.stop_guest);
  Result<Fault> plain = parse_fault("cut_ws=down:10");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->cut.resize_width, 0);
  EXPECT_FALSE(plain->cut.stop_guest);
  // Unarmed, random draws past the RFB handshake (from kRandomCutFirst), so BYTES must reach it;
  // armed, it counts from the arming.
  EXPECT_TRUE(parse_fault("cut_ws=random:257").ok());
  EXPECT_FALSE(parse_fault("cut_ws=random:256").ok());
  EXPECT_TRUE(parse_fault("cut_ws=random:120,armed").ok());
  for (const char* bad :
       {"cut_ws=down:10,resize=800", "cut_ws=down:10,resize=0x600",
        "cut_ws=down:10,resize=9000x600", "cut_ws=down:10,resize=axb", "cut_ws=down:10,stopped"}) {
    EXPECT_FALSE(parse_fault(bad).ok()) << bad;
  }
}

TEST(ParseFault, CutWsCanWaitToBeArmedAndMixItsKinds) {
  Result<Fault> f = parse_fault("cut_ws=random:3000,armed,mixed,times=20");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->cut.armed);
  EXPECT_TRUE(f->cut.mixed);
  EXPECT_EQ(f->cut.times, 20u);
  Result<Fault> armed = parse_fault("cut_ws=up:90,armed");
  ASSERT_TRUE(armed.ok());
  EXPECT_TRUE(armed->cut.armed);
  EXPECT_FALSE(armed->cut.mixed);
  // mixed draws its down offsets from random:BYTES and counts its up bytes from the arming.
  for (const char* bad :
       {"cut_ws=random:3000,mixed", "cut_ws=down:10,armed,mixed", "cut_ws=random:3000,armedx"}) {
    EXPECT_FALSE(parse_fault(bad).ok()) << bad;
  }
}

TEST(ParseFault, RestartApiTakesWhenHowLongAndHowOften) {
  Result<Fault> f = parse_fault("restart_api=after:500,down:1500");
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(f->kind, FaultKind::restart_api);
  EXPECT_EQ(f->restart, (RestartSpec{500, 1500, 1}));
  // In any order; times=K.
  Result<Fault> g = parse_fault("restart_api=down:86400000,times=3,after:1");
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->restart, (RestartSpec{1, 86400000, 3}));
  // rst: the connections end by a TCP reset.
  Result<Fault> h = parse_fault("restart_api=after:5,rst,down:6");
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->restart, (RestartSpec{5, 6, 1, true}));
  for (const char* bad :
       {"restart_api", "restart_api=", "restart_api=after:500", "restart_api=down:500",
        "restart_api=after:0,down:5", "restart_api=after:5,down:0", "restart_api=after:5,down:x",
        "restart_api=after:5,down:86400001", "restart_api=after:5,down:5,times=0",
        "restart_api=after:5,down:5,times:2", "restart_api=after=5,down:5",
        "restart_api=after:5,after:6,down:5", "restart_api=after:5,down:5,rst,rst",
        "restart_api=after:5,down:5,rst=1", "restart_api=after:5,down:5,reset"}) {
    Result<Fault> r = parse_fault(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::usage) << bad;
  }
  EXPECT_NE(parse_fault("restart_api=x").error().message().find("after:MS,down:MS"),
            std::string::npos);
}

TEST(ParseFault, ExpireAuthTakesNoArgument) {
  Result<Fault> f = parse_fault("expire_auth");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, FaultKind::expire_auth);
  EXPECT_FALSE(parse_fault("expire_auth=1").ok());
}

TEST(MockOptions, RestartApiAndExpireAuthAreReportedOnce) {
  MockOptions o;
  EXPECT_FALSE(o.restart_api());
  EXPECT_FALSE(o.expire_auth());
  ASSERT_TRUE(o.add_fault("restart_api=after:10,down:20,times=2").ok());
  ASSERT_TRUE(o.add_fault("expire_auth").ok());
  ASSERT_TRUE(o.restart_api());
  EXPECT_EQ(*o.restart_api(), (RestartSpec{10, 20, 2}));
  EXPECT_TRUE(o.expire_auth());
  // Neither is a fault below HTTP.
  EXPECT_FALSE(o.has_connection_faults());
  EXPECT_EQ(o.add_fault("restart_api=after:1,down:1").code(), Errc::usage);
  EXPECT_EQ(o.add_fault("expire_auth").code(), Errc::usage);
}

TEST(MockOptions, AccessorsReflectAddedFaults) {
  MockOptions o;
  EXPECT_FALSE(o.drop_ws_after());
  EXPECT_FALSE(o.stall_ws());
  EXPECT_FALSE(o.reject_ticket());
  EXPECT_FALSE(o.oversized_header());
  EXPECT_FALSE(o.slow_ms());
  EXPECT_FALSE(o.raw_after_upgrade());
  EXPECT_FALSE(o.malformed_json_for("/version"));

  ASSERT_TRUE(o.add_fault("drop_ws_after=100").ok());
  ASSERT_TRUE(o.add_fault("stall_ws").ok());
  ASSERT_TRUE(o.add_fault("reject_ticket").ok());
  ASSERT_TRUE(o.add_fault("oversized_header").ok());
  ASSERT_TRUE(o.add_fault("slow=20").ok());
  ASSERT_TRUE(o.add_fault("raw_after_upgrade=ping_flood").ok());
  ASSERT_TRUE(o.add_fault("malformed_json=/version").ok());
  ASSERT_TRUE(o.add_fault("malformed_json=/status/").ok());

  EXPECT_EQ(o.drop_ws_after(), 100u);
  EXPECT_TRUE(o.stall_ws());
  EXPECT_TRUE(o.reject_ticket());
  EXPECT_TRUE(o.oversized_header());
  EXPECT_EQ(o.slow_ms(), 20u);
  EXPECT_EQ(o.raw_after_upgrade(), RawFrameKind::ping_flood);
  EXPECT_TRUE(o.malformed_json_for("/version"));
  EXPECT_TRUE(o.malformed_json_for("/nodes/pve1/qemu/100/status/current"));
  EXPECT_FALSE(o.malformed_json_for("/cluster/resources"));
}

TEST(MockOptions, SameFaultTwiceIsAnError) {
  MockOptions o;
  ASSERT_TRUE(o.add_fault("slow=1").ok());
  Error e = o.add_fault("slow=2");
  EXPECT_EQ(e.code(), Errc::usage);
  EXPECT_NE(e.detail().find("twice"), std::string::npos);
  EXPECT_EQ(o.slow_ms(), 1u);
  EXPECT_EQ(o.add_fault("nope").code(), Errc::usage);
}

TEST(MockOptions, DefaultsMatchProxmox) {
  MockOptions o;
  EXPECT_EQ(o.auth_fail_delay_ms, 3000u);
  EXPECT_EQ(o.ws_window_ms, 10000u);
  EXPECT_EQ(o.vncticket_min_age_s, -20);
  EXPECT_EQ(o.vncticket_max_age_s, 40);
  EXPECT_EQ(o.vnc_password_life_s, 30);
  EXPECT_EQ(o.ticket_life_s, 7200);
}

TEST(MockOptions, OldPveproxyLimitsWholeFramesTo64KiB) {
  MockOptions current;
  EXPECT_EQ(current.ws_max_payload_bytes(), 128u * 1024);
  EXPECT_EQ(current.ws_max_frame_bytes(), 0u);
  MockOptions old;
  old.old_pveproxy = true;
  EXPECT_EQ(old.ws_max_frame_bytes(), 64u * 1024);
  EXPECT_EQ(old.ws_max_payload_bytes(), 0u);
  EXPECT_EQ(old.pve_release(), "8.3");
  EXPECT_EQ(current.pve_release(), "8.4");
}

}  // namespace
}  // namespace pvb::mock
