#include "engine/proxmox/guest.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

Guest g(std::string node, uint32_t vmid, GuestType t, std::string name, std::string status,
        bool tmpl = false) {
  Guest x;
  x.node = node;
  x.vmid = vmid;
  x.type = t;
  x.name = name;
  x.status = status;
  x.is_template = tmpl;
  return x;
}

std::vector<Guest> inventory() {
  return {g("pve1", 100, GuestType::qemu, "web01", "running"),
          g("pve2", 101, GuestType::qemu, "db01", "stopped"),
          g("pve1", 102, GuestType::qemu, "app", "running"),
          g("pve3", 103, GuestType::lxc, "app", "running"),
          g("pve2", 200, GuestType::lxc, "ct-dns", "running"),
          g("pve1", 9000, GuestType::qemu, "debian-tmpl", "stopped", true),
          g("pve1", 104, GuestType::qemu, "", "running")};
}

Result<Guest> find(std::string_view spec) {
  auto s = parse_guest_spec(spec);
  if (!s.ok()) return s.error();
  return resolve_guest(*s, spec, inventory());
}

TEST(GuestSpec, ParsesForms) {
  auto a = parse_guest_spec("100");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->vmid, 100u);
  EXPECT_FALSE(a->name.has_value());
  auto b = parse_guest_spec("pve1/100");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->node, "pve1");
  EXPECT_EQ(b->vmid, 100u);
  auto c = parse_guest_spec("web01");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name, "web01");
  auto d = parse_guest_spec("0100");  // leading zero: a name, not a vmid
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->name, "0100");
}

TEST(GuestSpec, RejectsMalformed) {
  for (std::string_view bad : {"", "pve1/", "/100", "pve1/abc", "a/b/c", "x\ny", "pve1/0"}) {
    auto r = parse_guest_spec(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::usage);
  }
}

TEST(ResolveGuest, ByIdNameAndNode) {
  EXPECT_EQ(find("100")->name, "web01");
  EXPECT_EQ(find("db01")->vmid, 101u);
  EXPECT_EQ(find("pve3/103")->type, GuestType::lxc);
  EXPECT_EQ(find("104")->display_name(), "104");
}

TEST(ResolveGuest, NodeMismatchIsNotFound) {
  auto r = find("pve2/100");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_found);
}

TEST(ResolveGuest, AmbiguousListsCandidates) {
  auto r = find("app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::ambiguous);
  const std::string& m = r.error().detail();
  EXPECT_NE(m.find("pve1/102 qemu running"), std::string::npos) << m;
  EXPECT_NE(m.find("pve3/103 lxc running"), std::string::npos) << m;
}

TEST(ResolveGuest, TemplateIsNeverChosen) {
  auto r = find("9000");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::template_guest);
  auto n = find("debian-tmpl");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code(), Errc::template_guest);
}

TEST(ResolveGuest, UnknownIsNotFound) {
  auto r = find("nosuch");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::not_found);
  EXPECT_NE(r.error().detail().find("nosuch"), std::string::npos);
}

TEST(Guest, ApiPath) {
  EXPECT_EQ(find("200")->api_path(), "/nodes/pve2/lxc/200");
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

// Regression found by fuzz_guest_spec: the spec is echoed in one line.
TEST(GuestSpec, ErrorsQuoteTheSpecOnOneLine) {
  auto r = parse_guest_spec("a\nb/c");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail().find('\n'), std::string::npos);
  std::vector<Guest> none;
  auto n = resolve_guest(GuestSpec{std::nullopt, std::nullopt, std::string("x\ny")}, "x\ny", none);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().detail().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace pvb
