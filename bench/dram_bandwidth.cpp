// Sustained bandwidth of the DRAM/HBM model on each interface preset of configs/memory, next to
// the published peak: a long sequential read, random 64-byte reads, and a copy (half the
// engines read, half write; read + write bytes counted, as a device-to-device copy reports).
// Each device is a preset's channel repeated as a product has it (a DIMM, an LPDDR package, an
// HBM stack, the H200's six HBM3e stacks). Requests come from DMA engines of the shared
// sim/memory kind, one per four channels, each with the requests in flight Little's law asks
// for (twice its share of bandwidth x latency / request, plus two), sweeping the region
// together as a GPU's thread blocks do.
//
//   build/bench/xpusim_dram_bench [--benchmark_filter=hbm3e]
//
// Counters: sim_GBps (simulated sustained), peak_GBps, of_peak; the wall time is the
// simulator's own speed. The H200 row is the one to read against the measured device-to-device
// copy of gpu_h200_calibration.json (3.94 TB/s of 4.8 TB/s, bytes read plus written).
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <systemc>

#include "sim/config/config.h"
#include "sim/config/fields.h"
#include "sim/memory/dma.h"
#include "sim/memory/dram.h"
#include "sim/runtime/simulation_context.h"

using namespace xpusim;

namespace {

// The memory block alone, so a preset file parses through the same field table as a target's.
struct MemoryOnly {
    sim::DramSpec dram;
    template <class V>
    void visit(V& v) {
        v.group("dram", dram);
    }
};
const sim::config::SchemaRegistration s_schema{
    sim::config::spec_schema<MemoryOnly>("dram_bench", "a memory interface alone")};

struct Device {
    const char* name;
    const char* preset;
    int64_t channels;  // of the preset's one channel
};

// Products built from each preset (the channel counts are the products' organisation).
const Device kDevices[] = {
    {"ddr3_2133 (1 x64 DIMM)", "ddr3_2133", 1},
    {"ddr4_3200 (1 x64 DIMM)", "ddr4_3200", 1},
    {"lpddr4_3200 (x64 = 4 x16)", "lpddr4_3200", 4},
    {"lpddr5_6400 (x64 = 4 x16)", "lpddr5_6400", 4},
    {"hbm2_2400 (1 stack, 16 pch)", "hbm2_2400", 16},
    {"hbm2e_3200 (1 stack, 16 pch)", "hbm2e_3200", 16},
    {"hbm3_6400 (1 stack, 32 pch)", "hbm3_6400", 32},
    {"hbm3e_6250 (H200: 6 stacks)", "hbm3e_6250", 192},
};

sim::DramSpec device_spec(const Device& d) {
    sim::config::ConfigLoader loader({XPUSIM_MEMORY_PRESET_DIR});
    const std::string yaml = std::string("target: dram_bench\ndram: {preset: ") + d.preset + "}\n";
    sim::DramSpec s =
        sim::config::parse_spec<MemoryOnly>(loader.load_string(yaml, "bench.yaml")).dram;
    s.bandwidth_gbps *= static_cast<double>(d.channels);
    s.channels *= d.channels;
    return s;
}

enum class Pattern { Sequential, Random64, Copy };

// Engines that each move `bytes` and record when the last finished.
struct Streams : sc_core::sc_module {
    SC_HAS_PROCESS(Streams);
    std::vector<std::unique_ptr<sim::DmaEngine>> engines;
    Pattern pattern;
    uint64_t bytes_each, span;
    double end_ns = 0;
    Streams(sc_core::sc_module_name n, const sim::DramSpec& mem, Pattern p, uint64_t bytes)
        : sc_module(n), pattern(p), span(static_cast<uint64_t>(mem.capacity_mib) << 20) {
        const int64_t count = std::max<int64_t>(2, mem.channels / 4);
        bytes_each = bytes / static_cast<uint64_t>(count);
        sim::DmaConfig c;
        c.request_bytes = p == Pattern::Random64 ? 64 : 256;
        c.cycle_ns = 1;
        c.bytes_per_cycle = 256;
        const double share = mem.bandwidth_gbps / static_cast<double>(count);
        c.outstanding = 2 + static_cast<int64_t>(2 * share * mem.access_latency_ns() /
                                                 static_cast<double>(c.request_bytes));
        for (int64_t e = 0; e < count; ++e)
            engines.push_back(
                std::make_unique<sim::DmaEngine>(sc_core::sc_gen_unique_name("dma"), c));
        for (std::size_t e = 0; e < engines.size(); ++e)
            sc_core::sc_spawn(sc_bind(&Streams::run, this, e));
    }
    // A sequential read is one sweep over the region that the engines share out request by
    // request (engine e takes requests e, e + E, ...), as a GPU's thread blocks sweep an
    // array; a copy is two such sweeps, the even engines reading one region and the odd ones
    // writing another; random reads go anywhere in the capacity.
    void run(std::size_t e) {
        sim::DmaEngine& dma = *engines[e];
        const uint64_t req = dma.config().request_bytes;
        const bool copy = pattern == Pattern::Copy;
        const bool write = copy && e % 2 == 1;
        const uint64_t stride = copy ? engines.size() / 2 : engines.size();
        const uint64_t lane = copy ? e / 2 : e;
        const uint64_t total = bytes_each * engines.size() / (copy ? 2 : 1);
        const uint64_t base = write ? total : 0;
        std::mt19937_64 rng(e);
        std::vector<sim::DmaHandle> tickets;
        for (uint64_t k = lane; k * req < total; k += stride) {
            const uint64_t addr =
                pattern == Pattern::Random64 ? (rng() % (span / req)) * req : base + k * req;
            tickets.push_back(dma.issue(addr, req, write));
        }
        sim::wait_all(tickets);
        end_ns = std::max(end_ns, sc_core::sc_time_stamp().to_seconds() * 1e9);
    }
};

void sustained(benchmark::State& state) {
    const Device& d = kDevices[state.range(0)];
    const auto pattern = static_cast<Pattern>(state.range(1));
    const sim::DramSpec mem = device_spec(d);
    // Long enough that start-up and the first refreshes are a small part: 8 us at the peak
    // for the streams (several tREFI), a quarter of that for random accesses.
    const double ns = pattern == Pattern::Random64 ? 2000 : 8000;
    const uint64_t bytes = static_cast<uint64_t>(mem.bandwidth_gbps * ns) / 4096 * 4096;
    double gbps = 0;
    for (auto _ : state) {
        sim::SimulationContext context;
        auto* dram = sim::make_owned<sim::Dram>("dram", mem);
        auto* s = sim::make_owned<Streams>("streams", mem, pattern, bytes);
        for (auto& e : s->engines) e->socket.bind(dram->socket);
        context.run();
        gbps =
            static_cast<double>(s->bytes_each * s->engines.size()) / s->end_ns;  // read + written
    }
    state.SetLabel(d.name);
    state.counters["sim_GBps"] = gbps;
    state.counters["peak_GBps"] = mem.bandwidth_gbps;
    state.counters["of_peak"] = gbps / mem.bandwidth_gbps;
}

void register_all() {
    const char* names[] = {"sequential", "random64", "copy"};
    for (int64_t d = 0; d < static_cast<int64_t>(std::size(kDevices)); ++d)
        for (int64_t p = 0; p < 3; ++p)
            benchmark::RegisterBenchmark((std::string(kDevices[d].preset) + "/" + names[p]).c_str(),
                                         sustained)
                ->Args({d, p})
                ->Iterations(1)
                ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
