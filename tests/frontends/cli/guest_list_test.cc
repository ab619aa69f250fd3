#include "frontends/cli/guest_list.h"

#include <gtest/gtest.h>

#include <clocale>

#include "frontends/cli/options.h"

namespace pvb {
namespace {

Guest guest(uint32_t vmid, std::string node, GuestType type, std::string name, std::string status,
            std::string tags = "", std::string pool = "", bool is_template = false) {
  Guest g;
  g.vmid = vmid;
  g.node = std::move(node);
  g.type = type;
  g.name = std::move(name);
  g.status = std::move(status);
  g.tags = std::move(tags);
  g.pool = std::move(pool);
  g.is_template = is_template;
  return g;
}

// Like the mock's default inventory.
std::vector<Guest> inventory() {
  return {
      guest(100, "pve1", GuestType::qemu, "web01", "running", "prod;web", "production"),
      guest(101, "pve1", GuestType::qemu, "db01", "stopped", "", "production"),
      guest(102, "pve2", GuestType::qemu, "überwachung", "running", "monitoring"),
      guest(105, "pve1", GuestType::qemu, "paused-vm", "paused"),
      guest(110, "pve3", GuestType::qemu, "", "running"),
      guest(200, "pve1", GuestType::lxc, "ct-web", "running", "Web", "production"),
      guest(201, "pve2", GuestType::lxc, "ct-stopped", "stopped"),
      guest(9000, "pve1", GuestType::qemu, "debian12-template", "stopped", "", "", true),
  };
}

std::vector<uint32_t> vmids(const std::vector<Guest>& guests) {
  std::vector<uint32_t> out;
  for (const Guest& g : guests) out.push_back(g.vmid);
  return out;
}

// The vmids of the inventory that a filter, set up by `set`, lets through.
template <class Set>
std::vector<uint32_t> listed(Set set) {
  ListFilter f;
  set(f);
  return vmids(filter_guests(inventory(), f));
}

TEST(Glob, StarsQuestionMarksClassesAndEscapes) {
  EXPECT_TRUE(glob_match("web*", "web01"));
  EXPECT_TRUE(glob_match("web*", "web"));
  EXPECT_FALSE(glob_match("web*", "ct-web"));
  EXPECT_TRUE(glob_match("*web*", "ct-web"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("?", ""));
  EXPECT_TRUE(glob_match("db0?", "db01"));
  EXPECT_FALSE(glob_match("db0?", "db012"));
  EXPECT_TRUE(glob_match("*-*-vm", "a-b-c-vm"));
  EXPECT_FALSE(glob_match("*-*-vm", "a-vm"));
  EXPECT_TRUE(glob_match("web0[1-3]", "web02"));
  EXPECT_FALSE(glob_match("web0[1-3]", "web04"));
  EXPECT_TRUE(glob_match("web0[!1-3]", "web04"));
  EXPECT_TRUE(glob_match("web0[^1-3]", "web05"));
  EXPECT_FALSE(glob_match("web0[!1-3]", "web01"));
  EXPECT_TRUE(glob_match("[]x]", "]"));
  EXPECT_TRUE(glob_match("a[b", "a[b")) << "an unclosed '[' is an ordinary character";
  EXPECT_TRUE(glob_match("\\*", "*"));
  EXPECT_FALSE(glob_match("\\*", "x"));
  EXPECT_TRUE(glob_match("web", "web"));
  EXPECT_FALSE(glob_match("Web", "web")) << "case matters, as in the shell";
}

TEST(Glob, QuestionMarkIsOneCharacterNotOneByte) {
  EXPECT_TRUE(glob_match("?berwachung", "überwachung"));
  EXPECT_TRUE(glob_match("数?库", "数据库"));
  EXPECT_TRUE(glob_match("[ü]*", "überwachung"));
  EXPECT_FALSE(glob_match("??berwachung", "überwachung"));
}

TEST(Glob, ManyStarsStayFast) {
  // Backtracking on the last star only: linear-ish even for hostile patterns.
  std::string text(10000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", text));
}

TEST(ListFilter, EachCriterion) {
  using V = std::vector<uint32_t>;
  EXPECT_EQ(listed([](ListFilter&) {}), vmids(inventory()));
  EXPECT_EQ(listed([](ListFilter& f) { f.patterns = {"web*"}; }), (V{100}));
  EXPECT_EQ(listed([](ListFilter& f) {
              f.patterns = {"*web*", "db*"};
            }),
            (V{100, 101, 200}))
      << "any pattern";
  EXPECT_EQ(listed([](ListFilter& f) { f.patterns = {"10?"}; }), (V{100, 101, 102, 105}))
      << "patterns match vmids too";
  EXPECT_EQ(listed([](ListFilter& f) { f.node = "pve2"; }), (V{102, 201}));
  EXPECT_EQ(listed([](ListFilter& f) { f.type = GuestType::lxc; }), (V{200, 201}));
  EXPECT_EQ(listed([](ListFilter& f) { f.status = "stopped"; }), (V{101, 201}))
      << "a template's status is 'template'";
  EXPECT_EQ(listed([](ListFilter& f) { f.status = "template"; }), (V{9000}));
  EXPECT_EQ(listed([](ListFilter& f) { f.status = "paused"; }), (V{105}));
  EXPECT_EQ(listed([](ListFilter& f) { f.tags = {"web"}; }), (V{100, 200})) << "ASCII case ignored";
  EXPECT_EQ(listed([](ListFilter& f) { f.tags = {"prod", "WEB"}; }), (V{100})) << "every tag";
  EXPECT_EQ(listed([](ListFilter& f) { f.pool = "production"; }), (V{100, 101, 200}));
  EXPECT_EQ(listed([](ListFilter& f) { f.pool = "prod"; }), (V{})) << "pools match exactly";
}

TEST(ListFilter, CriteriaCombineWithAnd) {
  using V = std::vector<uint32_t>;
  EXPECT_EQ(listed([](ListFilter& f) {
              f.patterns = {"*web*"};
              f.type = GuestType::qemu;
            }),
            (V{100}));
  EXPECT_EQ(listed([](ListFilter& f) {
              f.node = "pve1";
              f.status = "running";
              f.pool = "production";
            }),
            (V{100, 200}));
  EXPECT_EQ(listed([](ListFilter& f) {
              f.node = "pve1";
              f.type = GuestType::lxc;
              f.tags = {"prod"};
            }),
            (V{}));
  ListFilter f;
  EXPECT_FALSE(f.active());
  f.pool = "x";
  EXPECT_TRUE(f.active());
}

TEST(ListFilter, StatusWordsAndTypes) {
  for (const char* ok : {"running", "stopped", "paused", "suspended", "template", "io-error"}) {
    EXPECT_TRUE(check_status_word(ok).ok()) << ok;
  }
  Error bad = check_status_word("runing");
  EXPECT_EQ(bad.code(), Errc::usage);
  EXPECT_NE(bad.message().find("'runing'"), std::string::npos);
  EXPECT_EQ(parse_guest_type("qemu"), GuestType::qemu);
  EXPECT_EQ(parse_guest_type("lxc"), GuestType::lxc);
  EXPECT_EQ(parse_guest_type("vm"), std::nullopt);
  EXPECT_EQ(split_tags("a;b, c;;"), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ListFormat, FieldsTabSeparatedNoHeader) {
  auto f = parse_guest_format("vmid,name,node,status,tags,pool,type,template,lock");
  ASSERT_TRUE(f.ok()) << f.error().message();
  std::vector<Guest> g = {inventory()[0], inventory()[4], inventory()[7]};
  g[1].lock = "backup";
  EXPECT_EQ(guests_formatted(g, *f),
            "100\tweb01\tpve1\trunning\tprod,web\tproduction\tqemu\t0\t\n"
            "110\t\tpve3\trunning\t\t\tqemu\t0\tbackup\n"
            "9000\tdebian12-template\tpve1\ttemplate\t\t\tqemu\t1\t\n");
  auto spaced = parse_guest_format(" vmid , name");
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(*spaced, (std::vector<std::string>{"vmid", "name"}));
  EXPECT_EQ(guests_formatted({}, *spaced), "");
}

TEST(ListFormat, ValuesNeverBreakTheLine) {
  Guest g = guest(1, "n", GuestType::qemu, "evil\tname\nsecond", "running");
  EXPECT_EQ(guests_formatted({g}, {"name", "vmid"}), "evil name second\t1\n");
}

TEST(ListFormat, UnknownOrEmptyFieldIsAnError) {
  for (std::string_view bad : {"vmid,bogus", "", "vmid,", ",name"}) {
    auto f = parse_guest_format(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code(), Errc::usage);
    EXPECT_NE(f.error().message().find("fields: vmid, name, node"), std::string::npos);
  }
  EXPECT_NE(parse_guest_format("vmid,bogus").error().message().find("'bogus'"), std::string::npos);
}

// The list options through the command line parser.
Result<CliOptions> parse(std::vector<std::string> args) {
  args.insert(args.end(), {"--host", "h", "--api-token", "root@pam!t=s"});
  return parse_command_line(args, [](const std::string&) { return std::nullopt; });
}

TEST(ListOptions, FiltersFormatAndPatterns) {
  auto o =
      parse({"list", "web*", "--node", "pve1", "--type=lxc", "--status", "running", "--tag", "prod",
             "--tag=web;Blue", "--pool", "production", "db*", "--format", "vmid,name"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  const ListFilter& f = o->list_filter;
  EXPECT_EQ(f.patterns, (std::vector<std::string>{"web*", "db*"}));
  EXPECT_EQ(f.node, "pve1");
  EXPECT_EQ(f.type, GuestType::lxc);
  EXPECT_EQ(f.status, "running");
  EXPECT_EQ(f.tags, (std::vector<std::string>{"prod", "web", "Blue"}));
  EXPECT_EQ(f.pool, "production");
  EXPECT_EQ(o->list_format, (std::vector<std::string>{"vmid", "name"}));
  // "--" lets a pattern start with a dash.
  auto dash =
      parse_command_line({"list", "--host", "h", "--api-token", "root@pam!t=s", "--", "-odd*"},
                         [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(dash.ok()) << dash.error().message();
  EXPECT_EQ(dash->list_filter.patterns, std::vector<std::string>{"-odd*"});
}

TEST(ListOptions, Mistakes) {
  auto msg = [](std::vector<std::string> a) {
    auto o = parse(std::move(a));
    EXPECT_FALSE(o.ok());
    return o.ok() ? std::string("accepted") : o.error().message();
  };
  EXPECT_EQ(msg({"list", "--type", "vm"}), "--type: expected qemu or lxc, got 'vm'");
  EXPECT_NE(msg({"list", "--status", "up"}).find("--status: unknown status 'up'"),
            std::string::npos);
  EXPECT_EQ(msg({"list", "--tag", ";"}), "--tag: needs a tag");
  EXPECT_NE(msg({"list", "--format", "vmid,ip"}).find("--format: unknown field 'ip'"),
            std::string::npos);
  EXPECT_EQ(msg({"list", "--format", "vmid", "--json"}),
            "--format and --json are mutually exclusive");
  EXPECT_EQ(msg({"connect", "web01", "--node", "pve1"}),
            "--node is an option of 'list' (see: pvebridge help list)");
  EXPECT_EQ(msg({"connect", "web01", "--format", "vmid"}),
            "--format is an option of 'list' (see: pvebridge help list)");
  EXPECT_EQ(msg({"list", "--start"}),
            "--start is an option of 'connect', 'serve', 'term' and 'shell' (see: pvebridge help "
            "connect)");
  EXPECT_EQ(msg({"connect", "web01", "--escape", "none"}),
            "--escape is an option of 'term' and 'shell' (see: pvebridge help term)");
  EXPECT_EQ(msg({"term", "web01", "--listen", "127.0.0.1:0"}),
            "--listen is an option of 'connect' (see: pvebridge help connect)");
  EXPECT_EQ(msg({"shell", "--format", "vmid"}),
            "--format is an option of 'list' (see: pvebridge help list)");
}

// `list --json` says what the table says: the lock, and "template" as the status of a template.
TEST(ListOutput, JsonCarriesLockAndTemplateStatus) {
  Guest locked = guest(100, "pve1", GuestType::qemu, "web01", "running");
  locked.lock = "backup";
  Guest tmpl = guest(9000, "pve1", GuestType::qemu, "debian12", "stopped", "", "", true);
  std::string json = guests_json({locked, tmpl});
  EXPECT_NE(json.find("\"lock\":\"backup\""), std::string::npos) << json;
  EXPECT_NE(
      json.find("\"vmid\":9000,\"type\":\"qemu\",\"name\":\"debian12\",\"status\":\"template\""),
      std::string::npos)
      << json;
  EXPECT_NE(guests_table({tmpl}).find("template"), std::string::npos);
}

// Wide (CJK) names take two columns each: the columns after them still line up.
TEST(ListOutput, TablePadsByDisplayWidth) {
  const char* old = std::setlocale(LC_CTYPE, nullptr);
  std::string saved = old ? old : "C";
  if (!std::setlocale(LC_CTYPE, "C.UTF-8")) GTEST_SKIP() << "no C.UTF-8 locale";
  EXPECT_EQ(display_width("\xe6\x95\xb0\xe6\x8d\xae\xe5\xba\x93"), 6u);  // 数据库
  EXPECT_EQ(display_width("web01"), 5u);
  std::string table = guests_table({guest(100, "pve1", GuestType::qemu, "数据库", "running"),
                                    guest(101, "pve1", GuestType::qemu, "web01", "running")});
  std::setlocale(LC_CTYPE, saved.c_str());
  // The STATUS column starts at the same display column on every line.
  std::vector<size_t> columns;
  size_t start = 0;
  while (start < table.size()) {
    size_t end = table.find('\n', start);
    std::string line = table.substr(start, end - start);
    std::setlocale(LC_CTYPE, "C.UTF-8");
    size_t at =
        line.find("STATUS") != std::string::npos ? line.find("STATUS") : line.find("running");
    columns.push_back(display_width(line.substr(0, at)));
    std::setlocale(LC_CTYPE, saved.c_str());
    start = end + 1;
  }
  ASSERT_EQ(columns.size(), 3u) << table;
  EXPECT_EQ(columns[0], columns[1]) << table;
  EXPECT_EQ(columns[1], columns[2]) << table;
}

TEST(ListOutput, EmptyTableIsTheHeader) {
  EXPECT_EQ(guests_table({}), "NODE  VMID  TYPE  NAME  STATUS  TAGS\n");
  EXPECT_EQ(guests_json({}), "[]");
}

}  // namespace
}  // namespace pvb
