#include "tests/mock_pveproxy/inventory.h"

#include <gtest/gtest.h>

#include <set>

namespace pvb::mock {
namespace {

TEST(Inventory, DefaultFileEqualsTheBuiltinDefault) {
  Result<Inventory> loaded = load_inventory_file(PVB_MOCK_DEFAULT_INVENTORY);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_TRUE(*loaded == Inventory::builtin_default());
}

TEST(Inventory, BuiltinDefaultHasEveryCaseTheBriefNeeds) {
  Inventory inv = Inventory::builtin_default();
  EXPECT_EQ(inv.nodes.size(), 3u);
  bool qemu = false, lxc = false, running = false, stopped = false, paused = false, templ = false,
       unnamed = false, tagged = false, pooled = false, non_ascii = false;
  std::set<std::pair<std::string, std::string>> name_nodes;
  std::set<std::string> consoles;
  for (const GuestEntry& g : inv.guests) {
    qemu |= g.type == GuestKind::qemu;
    lxc |= g.type == GuestKind::lxc;
    running |= g.status == "running";
    stopped |= g.status == "stopped";
    paused |= g.qmpstatus == "paused";
    templ |= g.is_template;
    unnamed |= g.name.empty();
    tagged |= g.tags.find(';') != std::string::npos;
    pooled |= !g.pool.empty();
    for (char c : g.name) non_ascii |= static_cast<unsigned char>(c) >= 0x80;
    name_nodes.insert({g.name, g.node});
    consoles.insert(std::string(console_kind_name(g.console)) + ":" + g.name);
  }
  EXPECT_TRUE(qemu && lxc && running && stopped && paused && templ && unnamed && tagged && pooled &&
              non_ascii);
  EXPECT_TRUE(name_nodes.count({"twin", "pve2"}) && name_nodes.count({"twin", "pve3"}));
  EXPECT_TRUE(name_nodes.count({"überwachung", "pve2"}));
  EXPECT_TRUE(name_nodes.count({"数据库", "pve2"}));
  EXPECT_TRUE(consoles.count("source:source") && consoles.count("sink:sink") &&
              consoles.count("echo:echo"));

  const UserEntry* root = inv.find_user("root@pam");
  ASSERT_NE(root, nullptr);
  ASSERT_NE(root->find_token("pvebridge"), nullptr);
  const UserEntry* totp = inv.find_user("totp@pve");
  ASSERT_NE(totp, nullptr);
  EXPECT_TRUE(totp->needs_second_factor());
  EXPECT_NE(inv.find_user("alice@pve"), nullptr);
}

constexpr std::string_view kMinimal = R"({
  "nodes": [{"node": "n1"}],
  "guests": [
    {"vmid": 100, "type": "qemu", "node": "n1", "status": "running", "name": "a",
     "qmpstatus": "paused", "tags": "x;y", "console": "echo", "maxcpu": 4},
    {"vmid": 200, "type": "lxc", "node": "n1", "status": "stopped", "template": true}
  ],
  "users": [
    {"userid": "u@pve", "password": "p", "totp": "GEZDGNBV",
     "acl": [{"path": "/vms", "privs": ["VM.Audit"]}],
     "tokens": [{"tokenid": "t", "secret": "s", "privsep": 1, "expire": 5,
                 "acl": [{"path": "/", "privs": ["*"]}]}]}
  ]
})";

TEST(Inventory, ParsesEveryField) {
  Result<Inventory> inv = parse_inventory_json(kMinimal);
  ASSERT_TRUE(inv.ok()) << inv.error().message();
  EXPECT_EQ(inv->cluster_name, "mockcluster");
  ASSERT_EQ(inv->guests.size(), 2u);
  const GuestEntry& a = inv->guests[0];
  EXPECT_EQ(a.qmpstatus, "paused");
  EXPECT_EQ(a.tags, "x;y");
  EXPECT_EQ(a.console, ConsoleKind::echo);
  EXPECT_EQ(a.maxcpu, 4u);
  EXPECT_EQ(inv->guests[1].type, GuestKind::lxc);
  EXPECT_TRUE(inv->guests[1].is_template);
  const UserEntry& u = inv->users[0];
  EXPECT_EQ(u.totp_secret, "GEZDGNBV");
  ASSERT_EQ(u.acl.size(), 1u);
  EXPECT_EQ(u.acl[0].privs, std::vector<std::string>{"VM.Audit"});
  ASSERT_EQ(u.tokens.size(), 1u);
  EXPECT_TRUE(u.tokens[0].privsep);
  EXPECT_EQ(u.tokens[0].expire, 5);
}

// Replaces the first occurrence of `from` in the minimal inventory and parses it.
std::string parse_error_of(std::string_view from, std::string_view to) {
  std::string json(kMinimal);
  size_t at = json.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  json.replace(at, from.size(), to);
  Result<Inventory> inv = parse_inventory_json(json);
  if (inv.ok()) return "(parsed)";
  EXPECT_EQ(inv.error().code(), Errc::usage);
  return inv.error().detail();
}

TEST(Inventory, ErrorsSayWhereAndWhat) {
  EXPECT_EQ(parse_error_of(R"("name": "a")", R"("nmae": "a")"),
            "inventory: guests[0]: unknown key 'nmae'");
  EXPECT_EQ(parse_error_of(R"("node": "n1", "status": "running")",
                           R"("node": "n9", "status": "running")"),
            "inventory: guests[0]: unknown node 'n9'");
  EXPECT_EQ(parse_error_of(R"("vmid": 200)", R"("vmid": 100)"),
            "inventory: guests[1]: duplicate vmid 100");
  EXPECT_EQ(parse_error_of(R"("type": "lxc")", R"("type": "vm")"),
            "inventory: guests[1]: type must be qemu|lxc");
  EXPECT_EQ(parse_error_of(R"("status": "stopped")", R"("status": "running")"),
            "inventory: guests[1]: a template must be stopped");
  EXPECT_EQ(parse_error_of(R"("console": "echo")", R"("console": "tty")"),
            "inventory: guests[0]: console must be rfb|source|sink|echo|rfb_source|rfb_echo");
  EXPECT_EQ(parse_error_of(R"("totp": "GEZDGNBV")", R"("totp": "not-base32!")"),
            "inventory: users[0]: totp is not a base32 secret");
  EXPECT_EQ(parse_error_of(R"("userid": "u@pve")", R"("userid": "u")"),
            "inventory: users[0]: userid must look like USER@REALM");
  EXPECT_EQ(parse_error_of(R"("vmid": 100)", R"("vmid": "100")"),
            "inventory: guests[0]: 'vmid' must be a non-negative integer");
  EXPECT_EQ(parse_error_of(R"("tokenid": "t")", R"("tokenid": "a!b")"),
            "inventory: users[0].tokens[0]: bad tokenid");
  EXPECT_EQ(parse_error_of(R"("nodes")", R"("nodez")"), "inventory: missing key 'nodes'");
}

TEST(Inventory, RejectsInvalidJsonAndMissingFiles) {
  Result<Inventory> bad = parse_inventory_json("{\"nodes\": [");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail().find("invalid JSON"), std::string::npos);
  EXPECT_FALSE(parse_inventory_json("[]").ok());
  Result<Inventory> missing = load_inventory_file("/nonexistent/inventory.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::io);
}

}  // namespace
}  // namespace pvb::mock
