// make_guest_ready against the mock pveproxy's API brain behind the Dialer seam: what each guest
// state leads to with and without --start, which calls it makes, and that a caller who no longer
// wants the answer gets none.
#include "engine/proxmox/guest_readiness.h"

#include <gtest/gtest.h>

#include "engine/core/clock.h"
#include "engine/core/random.h"
#include "tests/engine/proxmox/mock_api_dialer.h"

namespace pvb {
namespace {

using testing::MockApiDialer;

constexpr const char* kRootToken = "root@pam!pvebridge=5f0c6e2a-8d3b-4c71-9e2f-1a4b7c9d0e36";

// A mock whose guests start at once, polled every 10 ms.
mock::MockOptions quick_start() {
  mock::MockOptions o;
  o.start_delay_ms = 0;
  return o;
}

class GuestReadinessTest : public ::testing::Test {
 protected:
  GuestReadinessTest()
      : api_(mock::Inventory::builtin_default(), quick_start(), system_clock(), system_random()),
        dialer_(loop_, api_) {
    Credentials c;
    c.token = *parse_api_token(kRootToken);
    client_ = std::make_unique<ProxmoxClient>(loop_, std::vector<ApiHost>{{"pve1", 8006}}, dialer_,
                                              std::move(c), client_options());
    std::optional<Error> connected;
    client_->connect([&](Error e) { connected = std::move(e); });
    EXPECT_TRUE(loop_.run_until([&] { return connected.has_value(); }));
    EXPECT_TRUE(connected && connected->ok());
  }

  static ProxmoxClientOptions client_options() {
    ProxmoxClientOptions o;
    o.task_poll_ms = 10;
    return o;
  }

  static Guest guest(uint32_t vmid, std::string status) {
    Guest g;
    g.node = "pve1";
    g.vmid = vmid;
    g.type = GuestType::qemu;
    g.status = std::move(status);
    return g;
  }

  // Runs make_guest_ready to its answer; `starting` records the hook's calls.
  Result<GuestReadiness> ready(const Guest& g, bool start, std::vector<bool>* starting = nullptr) {
    std::optional<Result<GuestReadiness>> result;
    GuestReadyHooks hooks;
    hooks.starting = [starting](bool resume) {
      if (starting) starting->push_back(resume);
    };
    make_guest_ready(*client_, g, start, alive_.weak(), std::move(hooks),
                     [&](Result<GuestReadiness> r) { result.emplace(std::move(r)); });
    EXPECT_TRUE(loop_.run_until([&] { return result.has_value(); }));
    if (!result) return Error(Errc::internal, "no answer");
    return std::move(*result);
  }

  Loop loop_;
  AliveToken alive_;
  mock::MockApi api_;
  MockApiDialer dialer_;
  std::unique_ptr<ProxmoxClient> client_;
};

TEST_F(GuestReadinessTest, AGuestKnownToRunNeedsNoCall) {
  Result<GuestReadiness> r = ready(guest(100, "running"), false);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, GuestReadiness::running);
  EXPECT_TRUE(dialer_.sent_to("/status/current").empty());
}

TEST_F(GuestReadinessTest, AStoppedGuestWithoutStartIsRefusedWithTheHint) {
  Result<GuestReadiness> r = ready(guest(101, "stopped"), false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_running);
  EXPECT_NE(r.error().message().find("add --start"), std::string::npos) << r.error().message();
  EXPECT_TRUE(dialer_.sent_to("/status/start").empty());
}

TEST_F(GuestReadinessTest, AStoppedGuestWithStartIsStartedAndSaidSoFirst) {
  std::vector<bool> starting;
  Result<GuestReadiness> r = ready(guest(101, "stopped"), true, &starting);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, GuestReadiness::started);
  EXPECT_EQ(starting, std::vector<bool>{false});
  EXPECT_EQ(dialer_.sent_to("/status/start").size(), 1u);
}

TEST_F(GuestReadinessTest, APausedGuestIsLeftPausedWithoutStartAndResumedWithIt) {
  Result<GuestReadiness> left = ready(guest(105, "running"), false);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, GuestReadiness::running) << "the list said running: no status call";

  // With --start the status is asked, and the paused guest resumed.
  std::vector<bool> starting;
  Result<GuestReadiness> resumed = ready(guest(105, "running"), true, &starting);
  ASSERT_TRUE(resumed.ok()) << resumed.error().message();
  EXPECT_EQ(*resumed, GuestReadiness::resumed);
  EXPECT_EQ(starting, std::vector<bool>{true});
  EXPECT_EQ(dialer_.sent_to("/status/resume").size(), 1u);
}

TEST_F(GuestReadinessTest, APausedGuestTheListDidNotCallRunningIsFoundPaused) {
  Result<GuestReadiness> r = ready(guest(105, "unknown"), false);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, GuestReadiness::paused);
}

TEST_F(GuestReadinessTest, ACallerThatNoLongerWantsTheAnswerGetsNone) {
  bool answered = false;
  int asked = 0;  // wanted() is asked when the status arrives
  GuestReadyHooks hooks;
  hooks.wanted = [&] {
    ++asked;
    return false;
  };
  make_guest_ready(*client_, guest(101, "stopped"), true, alive_.weak(), std::move(hooks),
                   [&](Result<GuestReadiness>) { answered = true; });
  ASSERT_TRUE(loop_.run_until([&] { return asked > 0; }));
  EXPECT_FALSE(answered);
  EXPECT_TRUE(dialer_.sent_to("/status/start").empty());
}

}  // namespace
}  // namespace pvb
