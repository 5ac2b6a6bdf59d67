// The `xpusim` command line: a thin layer over app/driver. Exit codes (docs/DESIGN.md): 0 success,
// 1 a check failed, 2 bad input or usage, with one line on stderr saying what and where.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "app/driver/conformance.h"
#include "app/driver/driver.h"
#include "app/driver/report.h"
#include "sim/json.h"
#include "sim/runtime/program.h"
#include "sim/runtime/target_model.h"

namespace xpusim::app {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitBadInput = 2;

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

const char* kMainHelp = R"(xpusim: what happens if I run this model on that processor?

usage: xpusim COMMAND [ARGS]

commands:
  run MODEL -c CONFIG          simulate one model on one target; write outputs, stats, trace
  check MODEL -c CONFIG        can the model be deployed there? (exit 0 yes, 1 no)
  compare MODEL -c CONFIG...   one table across targets
  lower MODEL -c CONFIG        print the target program as assembly
  simulate PROGRAM -c CONFIG   time a program read back from its text form
  conformance DIR... -c CONFIG run ONNX backend-test folders
  config list|show|describe    presets and their parameters
  sweep FILE                   run a sweep file (configs/sweeps/) on a process pool or Dask

CONFIG is a preset name (`xpusim config list`) or a YAML file.
`xpusim COMMAND --help` gives each command's options.
)";

const char* kRunHelp = R"(usage: xpusim run MODEL.onnx -c CONFIG [options]

  -c, --config CONFIG     preset name or YAML file
  --input NAME=FILE.npy   an input tensor (repeatable); inputs not given are drawn from --seed
  --shape NAME=1x3x224x224  the shape of an input with dynamic dimensions (repeatable)
  --seed N                seed for drawn inputs (default 0)
  --calibration DIR       int8 calibration samples: .npy files named after the inputs (one
                          sample), or one sub-folder of them per sample (default: quant.samples
                          samples drawn from seed N + 1000, never the run's inputs)
  --set PATH=VALUE        override a config value (repeatable)
  -o, --out DIR           write outputs/, inputs/, stats.json, trace.json there (default: out)
  --timing-only           skip the numeric work; timing is unchanged
  --max-tensor-gib X      the most one tensor may take (default 2): sizes a model's data implies
                          are checked against it before anything is allocated

A design that cannot hold the model (a buffer or memory too small) is not timed: stats.json
says `feasible: false` with the problems and `latency_s: null`, and the exit code is 1.
)";

const char* kCheckHelp = R"(usage: xpusim check MODEL.onnx -c CONFIG [options]

Lists each op as native, lowered or host and why; compares the target's numerics with the
fp32 reference. Exit 0 deployable, 1 not (a capacity limit exceeded, an output missing or a
deviation over --max-rel-err), 2 bad input.

  -c, --config CONFIG     preset name or YAML file
  --max-rel-err X         largest rel-L2 deviation of any output accepted (default: the
                          preset's numerics.max_rel_l2)
  --json FILE             also write the report as JSON
  --input/--shape/--seed/--calibration/--set as for `run`
)";

const char* kCompareHelp = R"(usage: xpusim compare MODEL.onnx -c CONFIG -c CONFIG ... [options]

Runs the model on each config and prints one table: cycles, latency, energy, deviation.

  --timing-only           skip numerics
  --json FILE             also write the table as JSON
  --input/--shape/--seed/--calibration/--set as for `run` (--set applies to every config)
)";

const char* kSimulateHelp =
    R"(usage: xpusim simulate PROGRAM -c CONFIG

Reads a target program from its text form (what `xpusim lower -o FILE` writes, or a hand-written
one) and simulates it timing-only on the chip its own .spec lines describe; CONFIG names the
target. A program that breaks its own static schedule (the LPU) is a ScheduleError: exit 2.
)";

const char* kLowerHelp =
    R"(usage: xpusim lower MODEL.onnx -c CONFIG [--asm] [-o FILE] [--shape/--set ...]

Prints the target program as text assembly (the form the target's assembler reads back).
)";

const char* kConformanceHelp =
    R"(usage: xpusim conformance DIR... -c CONFIG [--filter TEXT] [--json FILE]

Runs ONNX backend-test folders (model.onnx + test_data_set_N/) and compares each output with
the expected one (rtol 1e-3, atol 1e-7, as ONNX's runner). DIR is a test folder or a folder of
them, e.g. /usr/share/libonnx-testdata/data/node. Prints one line per test and ends with
"N passed, M failed, K skipped". Exit 1 if any failed.
)";

const char* kConfigHelp = R"(usage: xpusim config list
       xpusim config show CONFIG [--set PATH=VALUE]...
       xpusim config describe TARGET

list: every preset with its target. show: the fully resolved config as YAML.
describe: every parameter of a target with its unit, default, range and description.
)";

// A small argv walker: options may come before or after positionals.
class Args {
  public:
    Args(int argc, char** argv, int first) {
        for (int i = first; i < argc; ++i) m_args.emplace_back(argv[i]);
    }
    bool help() const {
        for (const auto& a : m_args)
            if (a == "-h" || a == "--help") return true;
        return false;
    }
    // Parses every option in `with_value` (takes the next word) and `flags`; the rest are
    // positionals. An unknown option is a usage error.
    void parse(const std::vector<std::string>& with_value, const std::vector<std::string>& flags) {
        for (std::size_t i = 0; i < m_args.size(); ++i) {
            const std::string& a = m_args[i];
            if (a.size() > 1 && a[0] == '-') {
                std::string key = a, value;
                const auto eq = a.find('=');
                if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
                    key = a.substr(0, eq);
                    value = a.substr(eq + 1);
                }
                if (std::find(flags.begin(), flags.end(), key) != flags.end()) {
                    m_options[key].push_back("1");
                } else if (std::find(with_value.begin(), with_value.end(), key) !=
                           with_value.end()) {
                    if (eq == std::string::npos || a.rfind("--", 0) != 0) {
                        if (i + 1 >= m_args.size())
                            throw UsageError("option " + key + " needs a value");
                        value = m_args[++i];
                    }
                    m_options[key].push_back(value);
                } else {
                    throw UsageError("unknown option '" + a + "' (see --help)");
                }
            } else {
                m_positional.push_back(a);
            }
        }
    }
    const std::vector<std::string>& positional() const { return m_positional; }
    std::vector<std::string> all(const std::string& a, const std::string& b = "") const {
        std::vector<std::string> out;
        for (const auto& k : {a, b}) {
            auto it = m_options.find(k);
            if (it != m_options.end()) out.insert(out.end(), it->second.begin(), it->second.end());
        }
        return out;
    }
    std::string one(const std::string& a, const std::string& b, const std::string& def) const {
        auto v = all(a, b);
        if (v.size() > 1) throw UsageError("option " + a + " given more than once");
        return v.empty() ? def : v[0];
    }
    bool flag(const std::string& a) const { return m_options.count(a) != 0; }

  private:
    std::vector<std::string> m_args;
    std::vector<std::string> m_positional;
    std::map<std::string, std::vector<std::string>> m_options;
};

std::pair<std::string, std::string> split_assignment(const std::string& s, const std::string& opt) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
        throw UsageError(opt + " expects NAME=VALUE, got '" + s + "'");
    return {s.substr(0, eq), s.substr(eq + 1)};
}

uint64_t parse_seed(const std::string& s) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19)
        throw UsageError("--seed expects a non-negative integer, got '" + s + "'");
    return std::stoull(s);
}

double parse_double(const std::string& s, const std::string& opt) {
    try {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        throw UsageError(opt + " expects a number, got '" + s + "'");
    }
}

const std::vector<std::string> kRunValueOptions = {
    "-c", "--config", "--input", "--shape",       "--seed",       "--set",
    "-o", "--out",    "--json",  "--max-rel-err", "--calibration"};

// `compare` takes -c several times; every other command exactly once.
RunRequest make_request(const Args& args, const std::string& model, bool several_configs = false) {
    RunRequest r;
    r.model_path = model;
    const auto configs = args.all("-c", "--config");
    if (configs.empty()) throw UsageError("missing -c CONFIG (a preset name or a YAML file)");
    if (configs.size() > 1 && !several_configs) throw UsageError("option -c given more than once");
    r.config = configs[0];
    r.overrides = args.all("--set");
    for (const auto& s : args.all("--input")) {
        auto [name, file] = split_assignment(s, "--input");
        r.input_files[name] = file;
    }
    for (const auto& s : args.all("--shape")) {
        auto [name, shape] = split_assignment(s, "--shape");
        r.shapes[name] = parse_shape(shape);
    }
    r.seed = parse_seed(args.one("--seed", "", "0"));
    r.timing_only = args.flag("--timing-only");
    r.calibration_dir = args.one("--calibration", "", "");
    const std::string gib = args.one("--max-tensor-gib", "", "");
    if (!gib.empty()) {
        const double v = parse_double(gib, "--max-tensor-gib");
        if (!std::isfinite(v) || v <= 0 || v > 1e6)
            throw UsageError("--max-tensor-gib expects a number of GiB in (0, 1e6], got '" + gib +
                             "'");
        r.max_tensor_bytes = static_cast<uint64_t>(v * static_cast<double>(uint64_t{1} << 30));
    }
    return r;
}

std::string one_model(const Args& args, const char* cmd) {
    if (args.positional().size() != 1)
        throw UsageError(std::string(cmd) + " takes exactly one MODEL.onnx (see --help)");
    return args.positional()[0];
}

// An output folder given as an option: never empty (that would write into the current folder).
std::string out_dir(const Args& args, const std::string& fallback) {
    const std::string dir = args.one("-o", "--out", fallback);
    if (dir.empty()) throw UsageError("-o/--out expects a folder, got an empty name");
    return dir;
}

int cmd_run(const Args& args) {
    const std::string dir = out_dir(args, "out");
    const RunOutcome out = run(make_request(args, one_model(args, "run")));
    write_outcome(out, dir);
    std::cout << format_run_summary(out) << "wrote " << dir
              << "/{outputs,inputs,stats.json,trace.json}\n";
    if (!out.feasible()) {
        std::cerr << "xpusim: " << out.infeasible_message() << '\n';
        return kExitCheckFailed;
    }
    return kExitOk;
}

int cmd_check(const Args& args) {
    std::optional<double> max_rel_err;
    const std::string given = args.one("--max-rel-err", "", "");
    if (!given.empty()) {
        max_rel_err = parse_double(given, "--max-rel-err");
        if (!std::isfinite(*max_rel_err) || *max_rel_err < 0)
            throw UsageError("--max-rel-err expects a finite number >= 0, got '" + given + "'");
    }
    const RunOutcome out = run(make_request(args, one_model(args, "check")));
    const CheckReport report = make_check_report(out, max_rel_err);
    std::cout << report.text;
    const std::string json_path = args.one("--json", "", "");
    if (!json_path.empty()) {
        std::ofstream f(json_path);
        if (!f) throw sim::IoError("cannot write '" + json_path + "'");
        f << sim::json_text(report.json, 2) << '\n';
    }
    return report.deployable ? kExitOk : kExitCheckFailed;
}

int cmd_compare(const Args& args) {
    RunRequest base = make_request(args, one_model(args, "compare"), /*several_configs=*/true);
    std::vector<RunOutcome> outcomes;
    for (const auto& config : args.all("-c", "--config")) {
        RunRequest r = base;
        r.config = config;
        outcomes.push_back(run(r));
    }
    const auto table = format_compare_table(outcomes);
    std::cout << table.first;
    const std::string json_path = args.one("--json", "", "");
    if (!json_path.empty()) {
        std::ofstream f(json_path);
        if (!f) throw sim::IoError("cannot write '" + json_path + "'");
        f << sim::json_text(table.second, 2) << '\n';
    }
    return kExitOk;
}

int cmd_lower(const Args& args) {
    RunRequest request = make_request(args, one_model(args, "lower"));
    const sim::TensorLimit limit(request.max_tensor_bytes);
    const auto config = config_loader().load(request.config, request.overrides);
    TensorMap given;
    const frontend::Graph graph = load_graph(request, given);
    auto lowering = lower::lowerings().get(config.target())();
    const lower::CalibrationSet calibration = calibration_set(request);
    lower::LowerOptions opts;
    opts.seed = request.seed;
    opts.calibration = &calibration;
    const auto lowered = lowering->lower(graph, config, opts);
    const std::string text = lowered.program->to_asm();
    const std::string path = args.one("-o", "--out", "");
    if (path.empty()) {
        std::cout << text;
    } else {
        std::ofstream f(path);
        if (!f) throw sim::IoError("cannot write '" + path + "'");
        f << text;
    }
    return kExitOk;
}

// A target's program read back from its text form (`xpusim lower -o FILE`, or written by hand),
// simulated timing-only on the chip its own .spec lines describe; -c names the target.
int cmd_simulate(const Args& args) {
    if (args.positional().size() != 1) throw UsageError("simulate takes one PROGRAM file");
    const std::string path = args.positional().front();
    std::ifstream in(path);
    if (!in) throw sim::IoError("cannot open program '" + path + "'");
    std::stringstream text;
    text << in.rdbuf();
    const auto config = config_loader().load(args.one("-c", "--config", ""), args.all("--set"));
    const std::string target = config.target();
    if (!sim::program_readers().contains(target))
        throw UsageError("target '" + target + "' has no program reader");
    const std::unique_ptr<sim::Program> program = sim::program_readers().get(target)(text.str());
    sim::RunOptions opts;
    opts.timing_only = true;
    const sim::Results r = sim::target_models().get(target).create()->simulate(*program, {}, opts);
    std::cout << "target " << target << ": " << (r.cycles ? std::to_string(*r.cycles) : std::string("-"))
              << " cycles, latency " << (r.latency_s() ? std::to_string(*r.latency_s() * 1e3) + " ms" : "-") << '\n';
    for (const auto& u : r.units) std::cout << "  " << u.name << " utilization " << u.utilization << '\n';
    return kExitOk;
}

int cmd_conformance(const Args& args) {
    if (args.positional().empty()) throw UsageError("conformance needs at least one DIR");
    ConformanceOptions opts;
    opts.config = args.one("-c", "--config", "reference");
    opts.overrides = args.all("--set");
    opts.filter = args.one("--filter", "", "");
    config_loader().load(opts.config, opts.overrides);  // a bad config is bad input, not N failures
    int passed = 0, failed = 0, skipped = 0;
    nlohmann::json rows = nlohmann::json::array();
    const auto cases = run_conformance(args.positional(), opts, [&](const ConformanceCase& c) {
        const char* verdict = c.verdict == ConformanceCase::Verdict::Pass   ? "PASS"
                              : c.verdict == ConformanceCase::Verdict::Fail ? "FAIL"
                                                                            : "SKIP";
        (c.verdict == ConformanceCase::Verdict::Pass   ? passed
         : c.verdict == ConformanceCase::Verdict::Fail ? failed
                                                       : skipped)++;
        std::cout << verdict << ' ' << c.name << (c.detail.empty() ? "" : ": " + c.detail) << '\n'
                  << std::flush;
        rows.push_back({{"name", c.name}, {"verdict", verdict}, {"detail", c.detail}});
    });
    std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
    const std::string json_path = args.one("--json", "", "");
    if (!json_path.empty()) {
        std::ofstream f(json_path);
        if (!f) throw sim::IoError("cannot write '" + json_path + "'");
        f << sim::json_text(
                 {{"passed", passed}, {"failed", failed}, {"skipped", skipped}, {"tests", rows}}, 2)
          << '\n';
    }
    return failed ? kExitCheckFailed : kExitOk;
}

int cmd_config(const Args& args) {
    const auto& pos = args.positional();
    if (pos.empty()) throw UsageError("config needs list, show CONFIG or describe TARGET");
    const auto loader = config_loader();
    if (pos[0] == "list" && pos.size() == 1) {
        std::cout << std::left << std::setw(20) << "preset" << std::setw(12) << "target"
                  << "description\n";
        for (const auto& p : loader.list_presets())
            std::cout << std::setw(20) << p.name << std::setw(12) << p.target << p.description
                      << '\n';
        return kExitOk;
    }
    if (pos[0] == "show" && pos.size() == 2) {
        std::cout << loader.load(pos[1], args.all("--set")).to_yaml();
        return kExitOk;
    }
    if (pos[0] == "describe" && pos.size() == 2) {
        std::cout << loader.describe(pos[1]);
        return kExitOk;
    }
    throw UsageError("config needs list, show CONFIG or describe TARGET");
}

// `xpusim sweep` is Python (process pools, Dask): hand the arguments to `python3 -m xpusim`
// with this build's python/ folder on PYTHONPATH. The C++ binary itself never needs Python.
int exec_python_sweep(int argc, char** argv) {
    const auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "python";
    const char* old = std::getenv("PYTHONPATH");
    const std::string path = dir.string() + (old && *old ? ":" + std::string(old) : "");
    setenv("PYTHONPATH", path.c_str(), 1);
    std::vector<char*> args = {const_cast<char*>("/usr/bin/python3"), const_cast<char*>("-m"),
                               const_cast<char*>("xpusim")};
    args.insert(args.end(), argv + 1, argv + argc);
    args.push_back(nullptr);
    execv(args[0], args.data());
    throw sim::IoError("cannot run /usr/bin/python3 for `xpusim sweep`: " +
                       std::string(std::strerror(errno)));
}

int dispatch(int argc, char** argv) {
    if (argc < 2) {
        std::cout << kMainHelp;
        throw UsageError("usage: xpusim COMMAND [ARGS]: no command given (see xpusim --help)");
    }
    if (!std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
        std::cout << kMainHelp;
        return kExitOk;
    }
    const std::string cmd = argv[1];
    if (cmd == "sweep") return exec_python_sweep(argc, argv);
    Args args(argc, argv, 2);
    struct Command {
        const char* help;
        std::vector<std::string> values, flags;
        int (*fn)(const Args&);
    };
    const std::map<std::string, Command> commands = {
        {"run", {kRunHelp, kRunValueOptions, {"--timing-only"}, cmd_run}},
        {"check", {kCheckHelp, kRunValueOptions, {"--timing-only"}, cmd_check}},
        {"compare", {kCompareHelp, kRunValueOptions, {"--timing-only"}, cmd_compare}},
        {"lower", {kLowerHelp, kRunValueOptions, {"--asm"}, cmd_lower}},
        {"simulate", {kSimulateHelp, {"-c", "--config", "--set"}, {}, cmd_simulate}},
        {"conformance",
         {kConformanceHelp,
          {"-c", "--config", "--set", "--filter", "--json"},
          {},
          cmd_conformance}},
        {"config", {kConfigHelp, {"--set"}, {}, cmd_config}},
    };
    auto it = commands.find(cmd);
    if (it == commands.end()) throw UsageError("unknown command '" + cmd + "' (see xpusim --help)");
    if (args.help()) {
        std::cout << it->second.help;
        return kExitOk;
    }
    args.parse(it->second.values, it->second.flags);
    return it->second.fn(args);
}

}  // namespace
}  // namespace xpusim::app

int main(int argc, char** argv) {
    using namespace xpusim;
    try {
        app::check_target_registrations();
        return app::dispatch(argc, argv);
    } catch (const app::UsageError& e) {
        std::cerr << "xpusim: " << e.what() << '\n';
    } catch (const sim::Error& e) {
        std::cerr << "xpusim: " << e.what() << '\n';
    } catch (const std::bad_alloc&) {
        std::cerr << "xpusim: out of memory\n";
    } catch (const std::exception& e) {
        std::cerr << "xpusim: internal error: " << e.what() << '\n';
    }
    return app::kExitBadInput;
}
