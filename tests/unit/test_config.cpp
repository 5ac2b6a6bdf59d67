// The config loader through its real path: YAML files written to a temp dir, presets,
// includes and overrides, and the exact message (file:line, key path) of each mistake.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "sim/config/config.h"

namespace fs = std::filesystem;
using Catch::Contains;
using namespace xpusim::sim;
using namespace xpusim::sim::config;

namespace {

Schema make_test_schema() {
    Schema s("test_cfg", "a small target for the config tests");
    s.add_int("mxu.rows", "PEs", "rows of the systolic array", 8, 1, 4096)
        .add_int("mxu.cols", "PEs", "columns of the systolic array", 8, 1, 4096)
        .add_string("mxu.dataflow", "which operand stays in the array", "ws", {"ws", "os", "is"})
        .add_float("clock_mhz", "MHz", "core clock", 700.0, 1, 10000)
        .add_int("memory.hbm.channels", "", "HBM channels", std::nullopt, 1, 64)
        .add_float("memory.hbm.bandwidth_gbps", "GB/s", "peak HBM bandwidth", 600.0, 0)
        .add_bool("trace", "record a trace", false)
        .add_int_list("sram.bank_kib", "KiB", "size of each SRAM bank",
                      std::vector<int64_t>{64, 64}, 1)
        .add_float_list("energy.mac_pj", "pJ", "energy of one MAC per dtype",
                        std::vector<double>{0.25, 0.9}, 0);
    return s;
}

// Registered once for the whole test binary (sections re-run test bodies).
void register_test_schema() {
    static const bool registered = [] {
        SchemaRegistration{make_test_schema()};
        return true;
    }();
    (void)registered;
}

// A fresh folder under the system temp dir, removed afterwards.
class TempDir {
  public:
    TempDir() {
        static std::atomic<int> counter{0};
        m_root = fs::temp_directory_path() / ("xpusim_test_config_" + std::to_string(::getpid()) +
                                              "_" + std::to_string(counter++));
        fs::remove_all(m_root);
        fs::create_directories(m_root);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_root, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        const fs::path file = m_root / name;
        fs::create_directories(file.parent_path());
        std::ofstream(file) << text;
        return file.string();
    }
    std::string path(const std::string& name) const { return (m_root / name).string(); }
    std::string root() const { return m_root.string(); }

  private:
    fs::path m_root;
};

const char* const kMinimal = "target: test_cfg\nmemory: {hbm: {channels: 4}}\n";

}  // namespace

TEST_CASE("config: defaults fill every parameter not given", "[config]") {
    register_test_schema();
    const ConfigLoader loader({});
    const Config c = loader.load_string(kMinimal, "inline.yaml");

    CHECK(c.target() == "test_cfg");
    CHECK(c.name() == "inline");
    CHECK(c.source() == "inline.yaml");
    CHECK(c.schema().target() == "test_cfg");
    CHECK(c.get_int("mxu.rows") == 8);
    CHECK(c.get_string("mxu.dataflow") == "ws");
    CHECK(c.get_double("clock_mhz") == 700.0);
    CHECK(c.get_double("mxu.rows") == 8.0);  // ints read as doubles
    CHECK_FALSE(c.get_bool("trace"));
    CHECK(c.get_int_list("sram.bank_kib") == std::vector<int64_t>{64, 64});
    CHECK(c.get_double_list("energy.mac_pj") == std::vector<double>{0.25, 0.9});
    CHECK(c.get_double_list("sram.bank_kib") == std::vector<double>{64, 64});
    CHECK(c.get_int("memory.hbm.channels") == 4);
    CHECK(c.origin("mxu.rows").str() == "(default)");
    CHECK(c.origin("memory.hbm.channels").str() == "inline.yaml:2");
    CHECK(c.has("memory.hbm.bandwidth_gbps"));
    CHECK_FALSE(c.has("memory.hbm"));

    const auto flat = c.flat();
    CHECK(flat.at("mxu.rows") == "8");
    CHECK(flat.at("sram.bank_kib") == "[64, 64]");
    CHECK(flat.at("energy.mac_pj") == "[0.25, 0.9]");
    CHECK(flat.at("trace") == "false");
    CHECK(flat.at("name") == "inline");

    REQUIRE_THROWS_AS(c.get_int("clock_mhz"), ConfigError);
    REQUIRE_THROWS_WITH(c.get_int("mxu.rowz"), Contains("did you mean 'mxu.rows'?"));
}

TEST_CASE("config: dotted keys are nested keys", "[config]") {
    register_test_schema();
    const Config c = ConfigLoader({}).load_string(
        "target: test_cfg\nmxu.rows: 16\nmxu: {cols: 32}\nmemory.hbm.channels: 2\n", "dots.yaml");
    CHECK(c.get_int("mxu.rows") == 16);
    CHECK(c.get_int("mxu.cols") == 32);
    CHECK(c.get_int("memory.hbm.channels") == 2);
}

TEST_CASE("config: preset chains, nested presets, includes and overrides", "[config]") {
    register_test_schema();
    TempDir dir;
    const std::string base = dir.write("presets/base.yaml",
                                       "target: test_cfg\n"
                                       "name: Base Chip\n"
                                       "description: the base of the chain\n"
                                       "mxu:\n"
                                       "  rows: 128\n"
                                       "  cols: 128\n"
                                       "memory.hbm.channels: 8\n");
    const std::string big = dir.write("presets/sub/big.yaml",
                                      "preset: base\n"
                                      "mxu:\n"
                                      "  rows: 256\n");
    const std::string wide = dir.write("presets/wide_mxu.yaml", "rows: 16\ncols: 512\n");
    dir.write("presets/sweeps/rows_sweep.yaml", "base: big\nsweep: {mxu.rows: [1, 2]}\n");
    const ConfigLoader loader({dir.path("presets")});

    SECTION("a chain of presets, then the file's own keys") {
        const std::string mine = dir.write("my.yaml", "preset: big\nclock_mhz: 940\n");
        const Config c = loader.load(mine);
        CHECK(c.get_int("mxu.rows") == 256);
        CHECK(c.get_int("mxu.cols") == 128);
        CHECK(c.get_int("memory.hbm.channels") == 8);
        CHECK(c.get_double("clock_mhz") == 940.0);
        CHECK(c.origin("mxu.rows").str() == big + ":3");
        CHECK(c.origin("mxu.cols").str() == base + ":6");
        CHECK(c.origin("clock_mhz").str() == mine + ":2");
        // The name is not inherited; the description is.
        CHECK(c.name() == "my");
        CHECK(c.get_string("description") == "the base of the chain");
        CHECK(c.source() == mine);
    }
    SECTION("a preset by name") {
        const Config c = loader.load("big");
        CHECK(c.name() == "big");
        CHECK(c.source() == big);
        CHECK(loader.load("base").name() == "Base Chip");
    }
    SECTION("a preset inside a nested map is the base of that map") {
        const std::string mine =
            dir.write("nested.yaml",
                      "target: test_cfg\nmxu:\n  preset: wide_mxu\n  rows: 32\n"
                      "memory: {hbm: {channels: 2}}\n");
        const Config c = loader.load(mine);
        CHECK(c.get_int("mxu.rows") == 32);
        CHECK(c.get_int("mxu.cols") == 512);
        CHECK(c.origin("mxu.cols").str() == wide + ":2");
    }
    SECTION("!include replaces a value by a file's tree, relative to the including file") {
        const std::string mem =
            dir.write("parts/mem.yaml", "hbm:\n  channels: 16\n  bandwidth_gbps: 1200\n");
        dir.write("parts/banks.yaml", "[32, 32, 64]\n");
        const std::string mine = dir.write("parts/chip.yaml",
                                           "target: test_cfg\nmemory: !include mem.yaml\n"
                                           "sram:\n  bank_kib: !include banks.yaml\n");
        const Config c = loader.load(mine);
        CHECK(c.get_int("memory.hbm.channels") == 16);
        CHECK(c.get_double("memory.hbm.bandwidth_gbps") == 1200.0);
        CHECK(c.get_int_list("sram.bank_kib") == std::vector<int64_t>{32, 32, 64});
        CHECK(c.origin("memory.hbm.channels").str() == mem + ":2");
    }
    SECTION("--set overrides apply last, in order, lists included") {
        const Config c =
            loader.load("big", {"mxu.rows=64", "sram.bank_kib=[1, 2, 3]", "energy.mac_pj=[0.5]",
                                "trace=true", "name=swept", "clock_mhz=1", "clock_mhz=1.5e3"});
        CHECK(c.get_int("mxu.rows") == 64);
        CHECK(c.get_int("mxu.cols") == 128);
        CHECK(c.get_int_list("sram.bank_kib") == std::vector<int64_t>{1, 2, 3});
        CHECK(c.get_double_list("energy.mac_pj") == std::vector<double>{0.5});
        CHECK(c.get_bool("trace"));
        CHECK(c.name() == "swept");
        CHECK(c.get_double("clock_mhz") == 1500.0);
        CHECK(c.origin("mxu.rows").str() == "--set mxu.rows=64");
    }
    SECTION("list_presets finds presets through their chain and skips the rest") {
        const auto presets = loader.list_presets();
        REQUIRE(presets.size() == 2);
        CHECK(presets[0].name == "base");
        CHECK(presets[0].target == "test_cfg");
        CHECK(presets[0].description == "the base of the chain");
        CHECK(presets[1].name == "big");
        CHECK(presets[1].target == "test_cfg");
        CHECK(presets[1].path == big);
    }
    SECTION("the same inputs give the same text") {
        CHECK(loader.load("big", {"mxu.rows=2"}).to_yaml() ==
              loader.load("big", {"mxu.rows=2"}).to_yaml());
    }
}

TEST_CASE("config: each mistake names file, line and key path", "[config]") {
    register_test_schema();
    TempDir dir;
    dir.write("presets/base.yaml", "target: test_cfg\nmemory.hbm.channels: 8\n");
    dir.write("presets/bad_mxu.yaml", "rows: 4\nrowz: 3\n");
    const ConfigLoader loader({dir.path("presets")});
    auto load_text = [&](const std::string& text, const std::vector<std::string>& sets = {}) {
        return loader.load(dir.write("my.yaml", text), sets);
    };
    const std::string my = dir.path("my.yaml");
    const std::string head = "target: test_cfg\nmemory.hbm.channels: 1\n";

    SECTION("unknown key, with the nearest valid key") {
        REQUIRE_THROWS_AS(load_text(head + "mxu:\n  rowz: 4\n"), ConfigError);
        REQUIRE_THROWS_WITH(load_text(head + "mxu:\n  rowz: 4\n"),
                            my + ":4: mxu.rowz: unknown key (did you mean 'mxu.rows'?)");
        REQUIRE_THROWS_WITH(load_text(head + "rows: 4\n"),
                            Contains(":3: rows: unknown key (did you mean 'mxu.rows'?)"));
        REQUIRE_THROWS_WITH(load_text(head + "mxx: {rows: 4}\n"),
                            Contains(":3: mxx: unknown key (did you mean 'mxu'?)"));
        REQUIRE_THROWS_WITH(load_text(head + "zzzzzz: 1\n"),
                            Contains(":3: zzzzzz: unknown key (valid keys here: clock_mhz, "));
    }
    SECTION("unknown key inside a nested preset points into the preset file") {
        REQUIRE_THROWS_WITH(load_text(head + "mxu: {preset: bad_mxu}\n"),
                            dir.path("presets/bad_mxu.yaml") +
                                ":2: mxu.rowz: unknown key (did you mean 'mxu.rows'?)");
    }
    SECTION("wrong types") {
        REQUIRE_THROWS_WITH(load_text(head + "mxu: {rows: abc}\n"),
                            my + ":3: mxu.rows: expected an integer, got 'abc'");
        REQUIRE_THROWS_WITH(load_text(head + "mxu: {rows: 3.5}\n"),
                            Contains(":3: mxu.rows: expected an integer, got '3.5'"));
        REQUIRE_THROWS_WITH(load_text(head + "mxu: {rows: \"12\"}\n"),
                            Contains(":3: mxu.rows: expected an integer, got the quoted string"));
        REQUIRE_THROWS_WITH(load_text(head + "trace: yes\n"),
                            Contains(":3: trace: expected true or false, got 'yes'"));
        REQUIRE_THROWS_WITH(load_text(head + "clock_mhz: fast\n"),
                            Contains(":3: clock_mhz: expected a number, got 'fast'"));
        REQUIRE_THROWS_WITH(load_text(head + "sram: {bank_kib: 64}\n"),
                            Contains(":3: sram.bank_kib: expected a list like [1, 2], got '64'"));
        REQUIRE_THROWS_WITH(load_text(head + "sram:\n  bank_kib: [1,\n    x]\n"),
                            Contains(":5: sram.bank_kib[1]: expected an integer, got 'x'"));
        REQUIRE_THROWS_WITH(load_text(head + "mxu:\n  rows:\n    a: 1\n"),
                            Contains(":5: mxu.rows: expected an integer, got a map"));
        REQUIRE_THROWS_WITH(load_text(head + "mxu: 4\n"),
                            Contains(":3: mxu: expected a map of keys (cols, dataflow, rows), "
                                     "got '4'"));
        REQUIRE_THROWS_WITH(load_text(head + "mxu:\n  rows:\n"),
                            Contains(":4: mxu.rows: expected an integer, got an empty value"));
    }
    SECTION("out of range, and not one of the choices") {
        REQUIRE_THROWS_WITH(load_text(head + "mxu:\n  rows: -4\n"),
                            my + ":4: mxu.rows: -4 is out of range (minimum 1)");
        REQUIRE_THROWS_WITH(load_text(head + "mxu:\n  rows: 5000\n"),
                            Contains(":4: mxu.rows: 5000 is out of range (maximum 4096)"));
        REQUIRE_THROWS_WITH(load_text(head + "mxu: {rows: 99999999999999999999}\n"),
                            Contains(":3: mxu.rows: 99999999999999999999 is out of range"));
        REQUIRE_THROWS_WITH(load_text(head + "sram: {bank_kib: [4, 0]}\n"),
                            Contains(":3: sram.bank_kib[1]: 0 is out of range (minimum 1)"));
        REQUIRE_THROWS_WITH(
            load_text(head + "mxu: {dataflow: wss}\n"),
            Contains(":3: mxu.dataflow: 'wss' is not one of: ws, os, is (did you mean 'ws'?)"));
        REQUIRE_THROWS_WITH(load_text(head, {"mxu.rows=0"}),
                            "--set mxu.rows=0: mxu.rows: 0 is out of range (minimum 1)");
    }
    SECTION("missing keys and targets") {
        REQUIRE_THROWS_WITH(load_text("target: test_cfg\n"),
                            my + ": memory.hbm.channels: missing required key");
        REQUIRE_THROWS_WITH(load_text("mxu: {rows: 4}\n"),
                            Contains(my + ": target: missing required key (known targets: "));
        REQUIRE_THROWS_WITH(load_text("target: test_cgf\n"),
                            Contains(my + ":1: target: unknown target 'test_cgf' (known: ") &&
                                Contains("did you mean 'test_cfg'?"));
    }
    SECTION("bad overrides") {
        REQUIRE_THROWS_WITH(load_text(head, {"mxu.rowz=3"}),
                            "--set mxu.rowz=3: mxu.rowz: unknown key (did you mean 'mxu.rows'?)");
        REQUIRE_THROWS_WITH(load_text(head, {"mxu.rows"}),
                            Contains("--set mxu.rows: expected PATH=VALUE"));
        REQUIRE_THROWS_WITH(load_text(head, {"sram.bank_kib=[1,"}),
                            Contains("--set sram.bank_kib=[1,: YAML syntax error"));
        REQUIRE_THROWS_WITH(load_text(head, {"trace=1"}),
                            "--set trace=1: trace: expected true or false, got '1'");
    }
    SECTION("files that cannot be read or parsed") {
        REQUIRE_THROWS_WITH(loader.load(dir.path("nope.yaml")),
                            "cannot open config '" + dir.path("nope.yaml") + "'");
        REQUIRE_THROWS_WITH(load_text("# nothing here\n"), my + ": empty config");
        REQUIRE_THROWS_WITH(load_text(head + "mxu: rows: 4\n"),
                            Contains(my + ":3:10: YAML syntax error: illegal map value"));
        REQUIRE_THROWS_WITH(load_text(head + "mxu: {rows: 4}\nmxu.rows: 5\n"),
                            Contains(":4: mxu.rows: duplicate key (also at " + my + ":3)"));
        REQUIRE_THROWS_WITH(
            load_text(head + "mxu: !include missing.yaml\n"),
            Contains(my + ":3: mxu: cannot open included file '" + dir.path("missing.yaml") + "'"));
        REQUIRE_THROWS_WITH(load_text(head + "mxu: !inc x.yaml\n"),
                            Contains(":3: mxu: unknown tag '!inc'"));
        REQUIRE_THROWS_WITH(load_text("- 1\n- 2\n"),
                            Contains(my + ":1: expected a map of keys at the top level"));
    }
    SECTION("unknown presets, with the nearest name") {
        REQUIRE_THROWS_WITH(loader.load("bsae"),
                            "unknown preset 'bsae' (known: bad_mxu, base; did you mean 'base'?)");
        REQUIRE_THROWS_WITH(load_text("preset: bsae\n"),
                            my + ":1: preset: unknown preset 'bsae' (known: bad_mxu, base; "
                                 "did you mean 'base'?)");
        REQUIRE_THROWS_WITH(ConfigLoader({}).load("base"),
                            Contains("unknown preset 'base' (no presets found"));
    }
    SECTION("include and preset cycles") {
        const std::string a = dir.write("a.yaml", "target: test_cfg\nmemory: !include b.yaml\n");
        const std::string b = dir.write("b.yaml", "hbm: !include a.yaml\n");
        REQUIRE_THROWS_WITH(loader.load(a),
                            b + ":1: memory.hbm: include cycle: " + a + " -> " + b + " -> " + a);
        const std::string p1 = dir.write("presets/p1.yaml", "preset: p2\n");
        const std::string p2 = dir.write("presets/p2.yaml", "preset: p1\n");
        REQUIRE_THROWS_WITH(loader.load("p1"),
                            p2 + ":1: preset: preset cycle: " + p1 + " -> " + p2 + " -> " + p1);
    }
}

TEST_CASE("config: to_yaml is complete and loads back to the same values", "[config]") {
    register_test_schema();
    const ConfigLoader loader({});
    const Config c = loader.load_string(
        "target: test_cfg\nname: \"chip: v2\"\ndescription: 'yes'\nmxu: {rows: 256}\n"
        "clock_mhz: 937.5\nmemory.hbm.channels: 4\nenergy: {mac_pj: [0.1, 3]}\n",
        "inline.yaml", {"sram.bank_kib=[8, 16]"});
    const std::string yaml = c.to_yaml();
    CHECK_THAT(yaml, Contains("target: test_cfg\nname: \"chip: v2\"\ndescription: \"yes\"\n"));
    CHECK_THAT(yaml, Contains("mxu:\n  rows: 256\n  cols: 8\n  dataflow: ws\n"));
    CHECK_THAT(yaml, Contains("memory:\n  hbm:\n    channels: 4\n    bandwidth_gbps: 600\n"));
    CHECK_THAT(yaml, Contains("sram:\n  bank_kib: [8, 16]\n"));
    const Config again = loader.load_string(yaml, "again.yaml");
    CHECK(again.flat() == c.flat());
    CHECK(again.to_yaml() == yaml);
}

TEST_CASE("config: describe lists every parameter with unit and description", "[config]") {
    register_test_schema();
    const ConfigLoader loader({});
    const std::string table = loader.describe("test_cfg");
    CHECK_THAT(table, Contains("test_cfg: a small target for the config tests"));
    CHECK_THAT(table, Contains("mxu.rows"));
    CHECK_THAT(table, Contains("PEs"));
    CHECK_THAT(table, Contains("rows of the systolic array"));
    CHECK_THAT(table, Contains("MHz"));
    CHECK_THAT(table, Contains("[1, 4096]"));
    CHECK_THAT(table, Contains("ws|os|is"));
    CHECK_THAT(table, Contains("(required)"));
    CHECK_THAT(table, Contains("[64, 64]"));
    REQUIRE_THROWS_WITH(loader.describe("test_cgf"),
                        Contains("unknown target 'test_cgf'") && Contains("'test_cfg'"));
}

TEST_CASE("config: nearest_name and schema checks", "[config]") {
    CHECK(nearest_name("tpu_v9", {"nvdla_full", "reference", "tpu_v1"}) == "tpu_v1");
    CHECK(nearest_name("TPU_V1", {"nvdla_full", "tpu_v1"}) == "tpu_v1");
    CHECK(nearest_name("xyz", {"nvdla_full", "reference", "tpu_v1"}).empty());
    CHECK(nearest_name("a", {"b"}).empty());

    Schema s("schema_check", "checks");
    s.add_int("a.b", "", "x", 1);
    CHECK_THROWS_AS(s.add_int("a.b", "", "twice", 1), std::logic_error);
    CHECK_THROWS_AS(s.add_int("a", "", "a group already", 1), std::logic_error);
    CHECK_THROWS_AS(s.add_int("a.b.c", "", "below a parameter", 1), std::logic_error);
    CHECK_THROWS_AS(s.add_int("c", "", "default out of range", 0, 1), std::logic_error);
    CHECK_THROWS_AS(s.add_string("d", "bad choice", "x", {"y", "z"}), std::logic_error);
    CHECK_THROWS_AS(s.add_int("x.preset", "", "reserved", 1), std::logic_error);
    register_test_schema();
    CHECK_THROWS_AS(SchemaRegistration{make_test_schema()}, std::logic_error);
    CHECK(schemas().find("test_cfg") != nullptr);
    CHECK(schemas().find("nope") == nullptr);
}
