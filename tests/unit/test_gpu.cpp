// GPU target: hand-written one-CTA programs against costs derived by hand, occupancy, the text
// form, and the L2's hit/miss plan. The timing tests run a tiny GPU built from inline YAML
// through the real config path: 1 GHz (1 cycle = 1 ns), tensor cores at the SM clock, no launch
// gap, barriers or L2 latency unless a test sets them, so each expected cycle count is the
// formula of models/gpu/gpu_sm.h evaluated by hand.
#include <catch2/catch.hpp>

#include "frontends/lower/lowering.h"
#include "frontends/onnx/passes.h"
#include "isa/gpu/gpu_program.h"
#include "models/gpu/gpu_sm.h"
#include "sim/config/fields.h"
#include "sim/runtime/target_model.h"

using namespace xpusim;
using namespace xpusim::isa::gpu;

namespace {

sim::config::Config tiny_gpu(const std::vector<std::string>& overrides = {}) {
    const std::string yaml = R"(
target: gpu
clock_mhz: 1000
arch: hopper
precision: fp16
sm: {count: 4, max_threads: 2048, max_warps: 64, max_ctas: 1, registers: 65536, register_granule: 256,
     smem_kib: 228, smem_per_cta_reserved: 1024, fp32_lanes: 128, int_lanes: 64, sfu_per_cycle: 16,
     issue_per_cycle: 4, smem_bytes_per_cycle: 128, bytes_in_flight: 65536, barrier_cycles: 0,
     cta_launch_cycles: 0}
tensor: {fma_per_cycle: {fp16: 2048, bf16: 2048, tf32: 1024, int8: 4096, fp8: 4096}, clock_mhz: 1000,
         mma_latency_cycles: 0}
l2: {mib: 4, slices: 8, partitions: 1, bytes_per_cycle_per_slice: 4096, latency_near_cycles: 0,
     latency_far_cycles: 0, segment_kib: 64, initial: warm}
hbm: {impl: simple, channels: 1, bandwidth_gbps: 1000, latency_ns: 0, capacity_mib: 1024}
launch: {gap_us: 0, host_overhead_us: 0}
)";
    return sim::config::ConfigLoader({}).load_string(yaml, "tiny_gpu.yaml", overrides);
}

GpuSpec tiny_spec(const std::vector<std::string>& overrides = {}) {
    return sim::config::parse_spec<GpuSpec>(tiny_gpu(overrides));
}

// One m64n256k16 fp16 wgmma per iteration: a Hopper K-loop with no memory traffic.
Kernel wgmma_kernel(int64_t grid, int64_t iterations) {
    Kernel k;
    k.name = "wgmma_loop";
    k.nodes = {"gemm"};
    k.grid = grid;
    k.threads = 128;
    k.registers = 64;
    k.dtype = Precision::Fp16;
    k.cta.iterations = iterations;
    k.cta.body = {{Op::Wgmma, 1, 0, 64, 256, 16, -1}};
    return k;
}

GpuProgram program_of(const GpuSpec& spec, std::vector<Kernel> kernels) {
    GpuProgram p;
    p.spec = spec;
    p.buffers.push_back({0, "x", {1 << 20}, sim::DType::Float16, 2u << 20, 0, "input", -1});
    p.buffers.push_back({1, "y", {1 << 20}, sim::DType::Float16, 2u << 20, 2u << 20, "output", -1});
    p.graph_inputs = {"x"};
    p.graph_outputs = {"y"};
    for (std::size_t i = 0; i < kernels.size(); ++i) kernels[i].id = static_cast<int>(i);
    p.kernels = std::move(kernels);
    return p;
}

sim::Results simulate(const GpuProgram& p) {
    sim::RunOptions opts;
    opts.timing_only = true;
    return sim::target_models().get("gpu").create()->simulate(p, {}, opts);
}

// y = x (M x K) . w (K x N), both graph inputs, lowered timing-only for the GPU `cfg`.
GpuProgram lower_matmul(const sim::config::Config& cfg, int64_t M, int64_t N, int64_t K) {
    frontend::Graph g;
    g.name = "matmul";
    g.opset = 17;
    g.ir_version = 8;
    g.inputs = {"x", "w"};
    g.outputs = {"y"};
    auto& x = g.values["x"];
    x.name = "x", x.shape = {M, K}, x.shape_known = true;
    auto& w = g.values["w"];
    w.name = "w", w.shape = {K, N}, w.shape_known = true;
    frontend::Node n;
    n.name = "mm", n.op_type = "MatMul", n.inputs = {"x", "w"}, n.outputs = {"y"};
    g.values["y"].name = "y";
    g.nodes.push_back(n);
    frontend::infer_and_fold(g);
    lower::LowerOptions opts;
    opts.timing_only = true;
    auto lowered = lower::lowerings().get("gpu")()->lower(g, cfg, opts);
    return dynamic_cast<GpuProgram&>(*lowered.program);
}

// The tiny GPU with H100's 132 SMs and an L2 that holds both operands (warm), so the GEMMs
// below are bound by their tensor cores: 2048 fp16 FMAs per SM per cycle, one CTA per SM.
sim::config::Config tiny_132() { return tiny_gpu({"sm.count=132", "l2.mib=512"}); }

}  // namespace

TEST_CASE("gpu: one m64n256k16 fp16 wgmma is 128 cycles of an SM's tensor cores at peak", "[gpu]") {
    // H100: 2048 dense fp16 FMAs per SM per tensor cycle; the wgmma has 64 x 256 x 16 FMAs.
    //   64 * 256 * 16 / 2048 = 128 tensor cycles.
    const auto cfg = sim::config::ConfigLoader({std::string(XPUSIM_TEST_SOURCE_DIR) + "/configs"}).load("h100");
    const GpuSpec h100 = sim::config::parse_spec<GpuSpec>(cfg);
    const models::gpu::KernelCost c = models::gpu::kernel_cost(h100, wgmma_kernel(1, 1));
    // BlockCost::tensor is in SM cycles: tensor cycles x clock_mhz / tensor.clock_mhz.
    CHECK(c.body.tensor / (h100.clock_mhz / h100.tensor.clock_mhz) == Approx(128.0));
    CHECK(c.tensor_fmas == Approx(64.0 * 256 * 16));

    // On the tiny GPU (tensor clock = SM clock) a CTA of 10 such iterations runs 1280 cycles.
    const GpuProgram p = program_of(tiny_spec(), {wgmma_kernel(1, 10)});
    CHECK(simulate(p).cycles == 1280);
}

TEST_CASE("gpu: co-resident CTAs share the tensor cores, and one CTA more than the SMs is two waves", "[gpu]") {
    // Two CTAs resident on one SM (max_ctas 2, sm.count 1): 2 x 10 x 128 = 2560 cycles.
    {
        const GpuProgram p = program_of(tiny_spec({"sm.count=1", "sm.max_ctas=2"}), {wgmma_kernel(2, 10)});
        CHECK(simulate(p).cycles == 2560);
    }
    // Five CTAs of occupancy 1 on four SMs: SM 0 runs two batches, 2 x 1280 cycles.
    {
        const GpuProgram p = program_of(tiny_spec(), {wgmma_kernel(5, 10)});
        const sim::Results r = simulate(p);
        CHECK(r.cycles == 2560);
        const auto& row = r.sections.at("kernels").at(0);
        CHECK(row.at("waves") == 2);
        CHECK(row.at("ctas_per_sm") == 1);
    }
}

TEST_CASE("gpu: the K-loop is fill + iterations x max(MMA, shared memory, issue) + epilogue", "[gpu]") {
    // Body: one wgmma (128 cycles), 32 KiB through ldmatrix (32768 / 128 B/cycle = 256 cycles),
    // so shared memory bounds it at 256 cycles per iteration. Fill: the first load's L2 latency,
    // l2.latency_near_cycles = latency_far_cycles = 100. Epilogue: a barrier of 30 cycles.
    //   T = 100 + 8 x 256 + 30 = 2178 cycles.
    Kernel k = wgmma_kernel(1, 8);
    k.cta.body.push_back({Op::Ldmatrix, 1, 32768, 0, 0, 0, -1});
    k.cta.epilogue = {{Op::BarSync, 1, 0, 0, 0, 0, -1}};
    const GpuSpec spec = tiny_spec({"l2.latency_near_cycles=100", "l2.latency_far_cycles=100", "sm.barrier_cycles=30"});
    CHECK(simulate(program_of(spec, {k})).cycles == 2178);

    // Issue bound: 4096 FFMAs (thread ops) over 128 lanes = 32 cycles, but 4096 / 32 = 128 warp
    // instructions plus 32 shared loads = 160 instructions; 4 warps issue 4 per cycle: 40 cycles.
    Kernel s;
    s.name = "simt";
    s.grid = 1;
    s.threads = 128;
    s.cta.iterations = 1;
    s.cta.body = {{Op::Ffma, 4096, 0, 0, 0, 0, -1}, {Op::LdShared, 32, 128, 0, 0, 0, -1}};
    const models::gpu::KernelCost c = models::gpu::kernel_cost(tiny_spec(), s);
    CHECK(c.body.fp32 == Approx(32.0));
    CHECK(c.body.issue == Approx(160.0));  // warp instructions
    CHECK(c.body.throughput(1) == Approx(40.0));
    // One warp issues at most one instruction per cycle: a 32-thread CTA takes 160 cycles, two
    // co-resident ones 2 x 160 / 2 = 160 as well (two warps issue in parallel), eight 8 x 160 / 4.
    s.threads = 32;
    const models::gpu::KernelCost w = models::gpu::kernel_cost(tiny_spec(), s);
    CHECK(w.body.throughput(1) == Approx(160.0));
    CHECK(w.body.throughput(2) == Approx(160.0));
    CHECK(w.body.throughput(8) == Approx(320.0));
    // FFMAs at sm.fp32_clock_mhz = 500 on the 1000 MHz SM: each takes two SM cycles of its lane
    // and its issue slot, so 64 lane cycles and 2 x 128 + 32 = 288 warp-instruction slots; the
    // 128-thread CTA issues them 4 a cycle: 72 cycles.
    s.threads = 128;
    const models::gpu::KernelCost slow = models::gpu::kernel_cost(tiny_spec({"sm.fp32_clock_mhz=500"}), s);
    CHECK(slow.body.fp32 == Approx(64.0));
    CHECK(slow.body.issue == Approx(288.0));
    CHECK(slow.body.throughput(1) == Approx(72.0));
}

TEST_CASE("gpu: a CTA keeps no more than its bytes in flight over the load latency (Little's law)", "[gpu]") {
    // One CTA reads 100 x 4096 B with 4096 B outstanding at an L2 latency of 100 cycles:
    //   T >= 409600 / 4096 x 100 = 10000 cycles; its compute is a few cycles, the L2 serves
    //   32 KiB per cycle, so Little's law sets the time.
    Kernel k;
    k.name = "stream";
    k.grid = 1;
    k.threads = 128;
    k.bytes_in_flight = 4096;
    k.cta.iterations = 100;
    k.cta.body = {{Op::LdGlobal, 1, 4096, 0, 0, 0, 0}};
    k.args = {{0, 409600, 409600, false}};
    const GpuSpec spec = tiny_spec({"l2.latency_near_cycles=100", "l2.latency_far_cycles=100"});
    CHECK(simulate(program_of(spec, {k})).cycles == 10000);
}

TEST_CASE("gpu: occupancy is the minimum over threads, warps, registers, shared memory and CTAs", "[gpu]") {
    const GpuSpec s = tiny_spec({"sm.max_ctas=32"});
    Kernel k;
    k.threads = 256;
    k.registers = 128;  // 128 x 32 = 4096 per warp, x 8 warps = 32768 of 65536: 2
    CHECK(models::gpu::occupancy(s, k) == 2);
    k.registers = 32;  // 8192 per CTA: 8; threads 2048 / 256 = 8
    CHECK(models::gpu::occupancy(s, k) == 8);
    k.smem_bytes = 100 * 1024;  // (100 + 1 reserved) KiB of 228: 2
    CHECK(models::gpu::occupancy(s, k) == 2);
    k.smem_bytes = 0;
    k.threads = 1024;  // 2048 / 1024 = 2
    CHECK(models::gpu::occupancy(s, k) == 2);
    k.threads = 32;  // 32 CTAs of one warp: the CTA limit
    CHECK(models::gpu::occupancy(s, k) == 32);
    k.registers = 255;  // 255 x 32 = 8160 rounded up to 8192 per warp: 8 CTAs
    CHECK(models::gpu::occupancy(s, k) == 8);
}

TEST_CASE("gpu: the launcher adds the replay gap before every kernel", "[gpu]") {
    // Two 1280-cycle kernels with launch.gap_us = 2 (2000 cycles at 1 GHz):
    //   2000 + 1280 + 2000 + 1280 = 6560.
    const GpuProgram p = program_of(tiny_spec({"launch.gap_us=2"}), {wgmma_kernel(1, 10), wgmma_kernel(1, 10)});
    const sim::Results r = simulate(p);
    CHECK(r.cycles == 6560);
    CHECK(r.sections.at("kernels").at(1).at("start_cycle") == 2000 + 1280 + 2000);
}

TEST_CASE("gpu: the L2 serves a warm kernel's reads from its residency and a cold one's from HBM", "[gpu]") {
    // A kernel that reads x (2 MiB) once: warm, x is resident (4 MiB L2), so the hit rate is 1;
    // cold, every byte misses.
    Kernel k;
    k.name = "read_x";
    k.grid = 4;
    k.threads = 128;
    k.cta.iterations = 1;
    k.cta.body = {{Op::LdGlobal, 1, 512 * 1024, 0, 0, 0, 0}};
    k.args = {{0, 2u << 20, 2u << 20, false}};
    const sim::Results warm = simulate(program_of(tiny_spec(), {k}));
    CHECK(warm.sections.at("kernels").at(0).at("l2_hit_rate").get<double>() == Approx(1.0));
    const sim::Results cold = simulate(program_of(tiny_spec({"l2.initial=cold"}), {k}));
    CHECK(cold.sections.at("kernels").at(0).at("l2_hit_rate").get<double>() == Approx(0.0));
    CHECK(cold.cycles > warm.cycles);
}

// A kernel that reads x (x_mib) once and writes y (y_mib), on the tiny GPU (4 MiB L2, one
// partition, 64 KiB segments).
GpuProgram stream_program(const GpuSpec& spec, uint64_t x_mib, uint64_t y_mib) {
    Kernel k;
    k.name = "stream";
    k.grid = 4;
    k.threads = 128;
    k.cta.iterations = 1;
    k.cta.body = {{Op::LdGlobal, 1, static_cast<int64_t>(x_mib << 20) / 4, 0, 0, 0, 0},
                  {Op::StGlobal, 1, static_cast<int64_t>(y_mib << 20) / 4, 0, 0, 0, 1}};
    k.args = {{0, x_mib << 20, x_mib << 20, false}, {1, y_mib << 20, y_mib << 20, true}};
    GpuProgram p = program_of(spec, {k});
    p.buffers[0].bytes = x_mib << 20;
    p.buffers[1].bytes = y_mib << 20;
    p.buffers[1].address = x_mib << 20;
    return p;
}

TEST_CASE("gpu: a warm L2 holds what the previous replay left, dirty data included", "[gpu]") {
    // x = 2 MiB (32 segments) read, y = 4 MiB (64 segments) written, a 64-segment L2. The
    // untimed replay ends with y0..y63 resident and dirty (y evicted x). The timed one:
    //   x0..x31 all miss (hit rate 0) and evict y0..y31: 2 MiB written back;
    //   y0..y31 miss again and evict y32..y63: 2 MiB more; y32..y63 then evict x (clean).
    // So every replay writes back one whole y, 4 MiB, as back-to-back launches do.
    const sim::Results r = simulate(stream_program(tiny_spec(), 2, 4));
    CHECK(r.sections.at("kernels").at(0).at("l2_hit_rate").get<double>() == Approx(0.0));
    CHECK(r.memory.at("l2").extra.at("writeback_bytes").get<uint64_t>() == uint64_t{4} << 20);
    CHECK(r.memory.at("hbm").bytes_written == uint64_t{4} << 20);
    // 1 MiB in, 1 MiB out: the replay's whole footprint stays resident; nothing is written back.
    const sim::Results fits = simulate(stream_program(tiny_spec(), 1, 1));
    CHECK(fits.sections.at("kernels").at(0).at("l2_hit_rate").get<double>() == Approx(1.0));
    CHECK(fits.memory.at("l2").extra.at("writeback_bytes").get<uint64_t>() == 0);
}

TEST_CASE("gpu: a stream larger than the L2 finds none of its resident tail", "[gpu]") {
    // x = 8 MiB (128 segments) through a 64-segment LRU: the previous replay leaves x64..x127
    // resident, but x0..x63 evict them before the stream gets there, so nothing hits (counting
    // the resident share at the kernel's start would say half).
    const sim::Results r = simulate(stream_program(tiny_spec(), 8, 1));
    CHECK(r.sections.at("kernels").at(0).at("l2_hit_rate").get<double>() == Approx(0.0));
}

TEST_CASE("gpu: only the re-reads a later wave makes can spill out of the L2", "[gpu]") {
    // x: 2 MiB read 16 times (32 MiB requested), warm, so its first touch hits. A wave's working
    // set of 8 MiB over the 4 MiB L2 spills (8 - 4) / 8 = half of the exposed re-reads:
    //   every re-read exposed (far = -1): 30 MiB x 0.5 = 15 MiB miss, hit rate 1 - 15/32;
    //   6 MiB of them from later waves:    6 MiB x 0.5 =  3 MiB miss, hit rate 1 - 3/32;
    //   none (one wave):                                 nothing misses.
    Kernel k;
    k.name = "reread_x";
    k.grid = 4;
    k.threads = 128;
    k.working_set = 8u << 20;
    k.cta.iterations = 1;
    k.cta.body = {{Op::LdGlobal, 1, 8u << 20, 0, 0, 0, 0}};
    k.args = {{0, 2u << 20, 32u << 20, false}};
    auto hit_rate = [&](int64_t far) {
        Kernel kk = k;
        kk.args[0].far_bytes = far;
        return simulate(program_of(tiny_spec(), {kk})).sections.at("kernels").at(0).at("l2_hit_rate").get<double>();
    };
    CHECK(hit_rate(-1) == Approx(1.0 - 15.0 / 32.0));
    CHECK(hit_rate(int64_t{6} << 20) == Approx(1.0 - 3.0 / 32.0));
    CHECK(hit_rate(0) == Approx(1.0));
}

TEST_CASE("gpu: a GEMM that fits in one wave re-reads nothing a later wave would", "[gpu]") {
    // 512 x 512 x 4096 on 132 SMs: a few dozen output tiles (Hopper's smallest is 64 x 128), so
    // one wave covers every band of A and B and each re-read comes from the wave that fetched it.
    const GpuProgram p = lower_matmul(tiny_132(), 512, 512, 4096);
    const Kernel& k = p.kernels.front();
    REQUIRE(k.args.size() >= 2);
    CHECK(k.args[0].far_bytes == 0);
    CHECK(k.args[1].far_bytes == 0);
}

TEST_CASE("gpu: a program prints as text and reads back to the same text", "[gpu]") {
    Kernel a = wgmma_kernel(132, 64);
    a.name = "gemm_tma_wgmma";
    a.cta.warp_specialized = true;
    a.cta.stages = 4;
    a.persistent = true;
    a.tile_m = 128, a.tile_n = 256, a.tile_k = 64;
    a.cta.prologue = {{Op::Mbarrier, 1, 0, 0, 0, 0, -1}};
    a.cta.body.insert(a.cta.body.begin(), {Op::TmaLoad, 1, 16384, 0, 0, 0, 0});
    a.cta.epilogue = {{Op::TmaStore, 1, 65536, 0, 0, 0, 1}};
    a.args = {{0, 2u << 20, 8u << 20, false, 3u << 20}, {1, 2u << 20, 2u << 20, true}};
    Kernel b;
    b.name = "elementwise";
    b.nodes = {"relu"};
    b.grid = 512;
    b.threads = 256;
    b.cta.iterations = 1;
    b.cta.body = {{Op::LdGlobal, 1, 4096, 0, 0, 0, 1}, {Op::Alu, 1024, 0, 0, 0, 0, -1},
                  {Op::StGlobal, 1, 4096, 0, 0, 0, 1}};
    const GpuProgram p = program_of(tiny_spec(), {a, b});
    const std::string text = p.to_asm();
    const GpuProgram back = GpuProgram::from_asm(text);
    CHECK(back.to_asm() == text);
    REQUIRE(back.kernels.size() == 2);
    CHECK(back.kernels[0].cta.body.size() == 2);
    CHECK(back.kernels[0].cta.warp_specialized);
    CHECK(back.kernels[0].args[0].far_bytes == 3 << 20);
    CHECK(back.kernels[0].args[1].far_bytes == -1);
    CHECK(back.kernels[1].grid == 512);
    // Read back, it times as the original does.
    GpuProgram timed = back;
    timed.spec = p.spec;
    CHECK(simulate(timed).cycles == simulate(p).cycles);
}

// Stream-K against data-parallel and split-K in the GEMM lowering's wave estimate, on the tiny GPU
// of 132 SMs (tiny_132: one CTA per SM, the L2 feeds 32 KiB per cycle, no latencies, so each
// candidate's estimate is its waves x iterations x cycles per iteration, plus its partials'
// traffic). Per MAC-loop iteration (K tile 64) a CTA tile of m x n costs m n 64 / 2048 cycles:
// 64 x 128 256, 64 x 256 and 128 x 128 512, 128 x 256 1024. M = 64, so a 128-row tile wastes
// half its work and the 64-row tiles lead.
TEST_CASE("gpu: stream-K beats two waves for 133 tiles on 132 SMs", "[gpu]") {
    // 64 x 17024 x 1024: 64 x 128 tiles: 1 x 133 = 133 tiles, 16 k-tiles each.
    //   data-parallel: 2 waves x 16 x 256                       = 8192 cycles
    //   split-K 4 (the best split): 532 CTAs = 5 waves x 4 x 256 = 5120
    //     + partials out and back: 2 x 64 x 17024 x 4 splits x 4 B / 32768 B per cycle = 532  -> 5652
    //   stream-K: 133 x 16 = 2128 iterations over 132 CTAs: ceil(16.12) = 17 x 256 = 4352;
    //     units 1..16 do 17, the rest 16; boundaries 17u (u <= 16) and 16(u + 1) (u > 16) fall
    //     inside a tile for u = 1..15: 15 partial tiles of 64 x 128 x 4 B = 32 KiB, written and
    //     read back: 2 x 15 x 32768 / 32768 = 30                                             -> 4382
    //   64 x 256 and 128 x 256: 67 tiles fill more than half a wave: data-parallel by CUTLASS's
    //     rule (their stream-K would be 9 x 512 or 9 x 1024 anyway, more).
    //   64 x 128 in 1 x 2 clusters: 134 tiles, 17 iterations, 30 partials: 4352 + 60 = 4412, more.
    const auto cfg = tiny_132();
    const GpuProgram p = lower_matmul(cfg, 64, 128 * 133, 1024);
    REQUIRE(p.kernels.size() == 1);
    const Kernel& k = p.kernels[0];
    CHECK(k.name == "bmm_gemm_tma_wgmma_stream_k");
    CHECK(k.tile_m == 64);
    CHECK(k.tile_n == 128);
    CHECK(k.split_k == 1);
    CHECK(k.cluster == 1);
    CHECK(k.grid == 132);
    CHECK(k.cta.iterations == 17);
    // The fixup in the epilogue: 15 x 32768 B of partials over 132 CTAs = 3724 B each way
    // ((491520 + 66) / 132), and every CTA stores 133 / 132 of an output tile (16384 x 133 / 132).
    bool partial_out = false, partial_in = false;
    for (const Instr& i : k.cta.epilogue) {
        if (i.op == Op::StGlobal) partial_out = i.bytes == 3724;
        if (i.op == Op::LdGlobal) partial_in = i.bytes == 3724;
        if (i.op == Op::TmaStore) CHECK(i.bytes == 16508);
    }
    CHECK(partial_out);
    CHECK(partial_in);
    // The text form names it and reads it back.
    const GpuProgram back = GpuProgram::from_asm(p.to_asm());
    CHECK(back.kernels[0].name == "bmm_gemm_tma_wgmma_stream_k");
    CHECK(back.kernels[0].cta.iterations == 17);

    // Simulated: one CTA per SM, 17 iterations bound by the tensor cores (256 cycles each; the
    // wave's 132 x 17 x 24 KiB of operands take 1683 cycles of the L2), an epilogue of four
    // instructions issued at 4 per cycle (1 cycle) and the prologue's barrier (1 of 12 warps'
    // issue slots / 4 = 0.25): 17 x 256 + 1 + 0.25 = 4353.25. The partials are read back from the
    // L2 their peers wrote them to, so nothing waits on HBM. Data-parallel would run SM 0 twice:
    // 2 x 16 x 256 = 8192.
    const sim::Results r = simulate(p);
    CHECK(static_cast<double>(r.cycles.value()) == Approx(4353.25).margin(1.0));
    CHECK(r.sections.at("kernels").at(0).at("waves") == 1);
}

TEST_CASE("gpu: stream-K loses when the tiles are a whole number of waves", "[gpu]") {
    // 64 x 16896 x 1024: 64 x 128 tiles: 132 tiles, exactly one wave, so no stream-K (nothing
    // to balance, as CUTLASS's get_num_sk_tiles):
    //   data-parallel 64 x 128: 1 wave x 16 x 256 = 4096 cycles
    //   64 x 256: 66 tiles, half a wave: data-parallel by CUTLASS's rule; its stream-K would lose
    //     anyway: 66 x 16 = 1056 iterations over 132 CTAs = 8 x 512 = 4096, and its boundaries 8u
    //     fall inside a tile for every odd u: 66 partials of 64 KiB, out and back:
    //     2 x 66 x 65536 / 32768 = 264                                            -> 4360, more
    //   split-K 2: 264 CTAs = 2 waves x 8 x 256 = 4096, + 2 x 64 x 16896 x 2 x 4 / 32768 = 528
    const GpuProgram p = lower_matmul(tiny_132(), 64, 128 * 132, 1024);
    REQUIRE(p.kernels.size() == 1);
    const Kernel& k = p.kernels[0];
    CHECK(k.name == "bmm_gemm_tma_wgmma");
    CHECK(k.tile_m == 64);
    CHECK(k.tile_n == 128);
    CHECK(k.split_k == 1);
    CHECK(k.grid == 132);
    CHECK(k.cta.iterations == 16);
    CHECK(static_cast<double>(simulate(p).cycles.value()) == Approx(4096.0).epsilon(0.01));
}

TEST_CASE("gpu: Ampere has no stream-K candidate", "[gpu]") {
    // The 133-tile GEMM on the tiny GPU declared Ampere: its cp.async + mma.sync candidates
    // never include stream-K (cuBLAS's sm80 kernels have no segment-K mode).
    const GpuProgram p = lower_matmul(tiny_gpu({"sm.count=132", "l2.mib=512", "arch=ampere"}), 64, 128 * 133, 1024);
    REQUIRE(!p.kernels.empty());
    CHECK(p.kernels[0].name == "bmm_gemm_cpasync_mma");
    for (const Kernel& k : p.kernels) CHECK(k.name.find("stream_k") == std::string::npos);
}
