#include "engine/proxmox/credentials.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

TEST(ApiToken, Parses) {
  auto t = parse_api_token("root@pam!pvebridge=0b6c3b7e-1d2f-4a5b-9c8d-7e6f5a4b3c2d");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->user, "root@pam");
  EXPECT_EQ(t->token_id, "pvebridge");
  EXPECT_EQ(t->secret, "0b6c3b7e-1d2f-4a5b-9c8d-7e6f5a4b3c2d");
  EXPECT_EQ(t->header_value(),
            "PVEAPIToken=root@pam!pvebridge=0b6c3b7e-1d2f-4a5b-9c8d-7e6f5a4b3c2d");
}

TEST(ApiToken, RejectsMalformedWithoutEchoingSecret) {
  for (std::string_view bad :
       {"root@pam=secretXYZ", "root!id=secretXYZ", "root@pam!id=", "@pam!id=secretXYZ",
        "root@pam!=secretXYZ", "root@pam!id secretXYZ", "root@pam!id=sec retXYZ"}) {
    auto t = parse_api_token(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.error().code(), Errc::usage);
    EXPECT_EQ(t.error().detail().find("secretXYZ"), std::string::npos);
  }
}

TEST(User, DefaultsToPamRealm) {
  EXPECT_EQ(*normalize_user("root"), "root@pam");
  EXPECT_EQ(*normalize_user("alice@pve"), "alice@pve");
  EXPECT_FALSE(normalize_user("").ok());
  EXPECT_FALSE(normalize_user("al ice").ok());
  EXPECT_FALSE(normalize_user("alice@").ok());
}

}  // namespace
}  // namespace pvb
