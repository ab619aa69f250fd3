// ProxmoxClient in process, against the mock pveproxy on MemPipes through the engine's Dialer seam:
// no socket, no TLS, no child process.
#include <gtest/gtest.h>

#include <optional>

#include "tests/engine/seams/in_process_rig.h"

namespace pvb::seams {
namespace {

TEST(ProxmoxClientInProcess, ConnectsListsAndGetsAConsoleTicket) {
  InProcessCluster cluster;
  auto client = cluster.client();
  std::optional<Error> connected;
  client->connect([&](Error e) { connected = e; });
  ASSERT_TRUE(cluster.loop().run_until([&] { return connected.has_value(); }));
  ASSERT_TRUE(connected->ok()) << connected->message();

  std::optional<Result<std::vector<Guest>>> guests;
  client->list_guests([&](Result<std::vector<Guest>> r) { guests = std::move(r); });
  ASSERT_TRUE(cluster.loop().run_until([&] { return guests.has_value(); }));
  ASSERT_TRUE(guests->ok()) << guests->error().message();
  std::optional<Guest> web01;
  for (const Guest& g : guests->value()) {
    if (g.name == "web01") web01 = g;
  }
  ASSERT_TRUE(web01.has_value());
  EXPECT_EQ(web01->vmid, 100u);
  EXPECT_EQ(web01->node, "pve1");

  std::optional<Result<VncTicket>> ticket;
  client->vncproxy(*web01, [&](Result<VncTicket> t) { ticket = std::move(t); });
  ASSERT_TRUE(cluster.loop().run_until([&] { return ticket.has_value(); }));
  ASSERT_TRUE(ticket->ok()) << ticket->error().message();
  EXPECT_GE(ticket->value().port, 5900);
  EXPECT_FALSE(ticket->value().ticket.empty());
  // One kept-alive exchange served every call.
  EXPECT_EQ(cluster.connections, 1u);
}

TEST(ProxmoxClientInProcess, FailsOverToTheNextHostWhenOneIsUnreachable) {
  InProcessCluster cluster;
  cluster.unreachable = {"pve1"};
  auto client = cluster.client({{"pve1", 8006}, {"pve2", 8006}});
  std::optional<Error> connected;
  client->connect([&](Error e) { connected = e; });
  ASSERT_TRUE(cluster.loop().run_until([&] { return connected.has_value(); }));
  ASSERT_TRUE(connected->ok()) << connected->message();
  EXPECT_EQ(client->host().host, "pve2");
}

TEST(ProxmoxClientInProcess, EveryHostUnreachableIsANetworkErrorNamingThem) {
  InProcessCluster cluster;
  cluster.unreachable = {"pve1", "pve2"};
  auto client = cluster.client({{"pve1", 8006}, {"pve2", 8006}});
  std::optional<Error> connected;
  client->connect([&](Error e) { connected = e; });
  ASSERT_TRUE(cluster.loop().run_until([&] { return connected.has_value(); }));
  ASSERT_TRUE(connected->failed());
  EXPECT_EQ(connected->code(), Errc::connection_lost) << connected->message();
  EXPECT_NE(connected->message().find("pve1"), std::string::npos) << connected->message();
  EXPECT_NE(connected->message().find("pve2"), std::string::npos) << connected->message();
}

TEST(ProxmoxClientInProcess, AStoppedGuestsStatusSaysSo) {
  InProcessCluster cluster;
  auto client = cluster.client();
  std::optional<Error> connected;
  client->connect([&](Error e) { connected = e; });
  ASSERT_TRUE(cluster.loop().run_until([&] { return connected.has_value(); }));
  ASSERT_TRUE(connected->ok());
  Guest db01;
  db01.node = "pve1";
  db01.vmid = 101;
  db01.name = "db01";
  std::optional<Result<GuestStatus>> status;
  client->guest_status(db01, [&](Result<GuestStatus> s) { status = std::move(s); });
  ASSERT_TRUE(cluster.loop().run_until([&] { return status.has_value(); }));
  ASSERT_TRUE(status->ok()) << status->error().message();
  EXPECT_EQ(status->value().status, "stopped");
}

}  // namespace
}  // namespace pvb::seams
