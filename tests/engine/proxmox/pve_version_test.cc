#include "engine/proxmox/pve_version.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

TEST(PveVersion, ReadsBothSpellings) {
  EXPECT_EQ(parse_pve_version("8.4.1"), (PveVersion{8, 4, 1}));
  EXPECT_EQ(parse_pve_version("6.2-4"), (PveVersion{6, 2, 4}));  // before 8.0
  EXPECT_EQ(parse_pve_version("9.1.7~rc1"), (PveVersion{9, 1, 7}));
  EXPECT_EQ(parse_pve_version("10.0"), (PveVersion{10, 0, 0}));
  EXPECT_FALSE(parse_pve_version(""));
  EXPECT_FALSE(parse_pve_version("unknown"));
  EXPECT_FALSE(parse_pve_version("8"));
  EXPECT_FALSE(parse_pve_version("8."));
  EXPECT_FALSE(parse_pve_version("8.4.x"));
  EXPECT_FALSE(parse_pve_version("123456.1"));
}

TEST(PveVersion, GeneratePasswordOnlyWhereNeeded) {
  auto wants = [](const char* v) { return vncproxy_wants_generate_password(parse_pve_version(v)); };
  EXPECT_FALSE(wants("5.4-13"));
  EXPECT_FALSE(wants("6.1-11"));
  EXPECT_TRUE(wants("6.2-4"));
  EXPECT_TRUE(wants("7.4-3"));
  EXPECT_TRUE(wants("8.3.5"));
  EXPECT_TRUE(wants("8.4.6"));
  EXPECT_FALSE(wants("8.4.7"));
  EXPECT_FALSE(wants("8.4.20"));
  EXPECT_TRUE(wants("9.0.0"));
  EXPECT_TRUE(wants("9.1.6"));
  EXPECT_FALSE(wants("9.1.7"));
  EXPECT_FALSE(wants("9.2.0"));
  EXPECT_FALSE(wants("10.0.1"));
  EXPECT_TRUE(vncproxy_wants_generate_password(std::nullopt));  // a 400 is retried without
}

}  // namespace
}  // namespace pvb
